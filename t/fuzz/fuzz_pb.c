/*
 * fuzz_pb.c - libFuzzer harness for the protobuf wire reader (lib/nn/import/pb.c):
 * walks every length-delimited field as a nested message down to depth 8
 * (as the importers will) and decodes every field as packed values of
 * each element type, so that no input makes the reader step outside the
 * buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/import/pb.h"

static volatile uint64_t sink;

static void walk(struct feat_pb m, int depth)
{
	struct feat_pb_field f;
	char why[128];
	uint64_t v[8];

	while (feat_pb_next(&m, &f, why, sizeof why) == 1) {
		sink += f.num + f.v;
		if (f.wire != FEAT_PB_LEN)
			continue;
		if (f.len)
			sink += f.data[f.len - 1];
		for (int e = 0; e <= 5; e += 5) {
			long n = feat_pb_values(&f, e, v, 8, 0, why, sizeof why);

			if (n > 0)
				sink += v[0];
		}
		if (feat_pb_values(&f, FEAT_PB_I64, v, 8, 0, why, sizeof why) > 0)
			sink += v[0];
		if (depth < 8)
			walk(feat_pb_sub(&f), depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);  /* exact size: overreads show */

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	walk(feat_pb_view(copy, size), 0);
	free(copy);
	return 0;
}
