/*
 * fuzz_prototxt.c - libFuzzer harness for the protobuf text format reader
 * (lib/nn/import/prototxt.c): parse, walk every field and scalar, free.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/import/prototxt.h"

static volatile size_t sink;

static void walk(const struct feat_ptx *m)
{
	char why[160];
	long long v;
	double d;

	for (const struct feat_ptx *f = m->child; f; f = f->next) {
		sink += strlen(f->name);
		if (f->kind == FEAT_PTX_MESSAGE) {
			walk(f);
			continue;
		}
		sink += f->len;
		if (feat_ptx_long(f, &v, why, sizeof why) == 0)
			sink += (size_t)v;
		if (feat_ptx_double(f, &d, why, sizeof why) == 0)
			sink += d > 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);  /* exact size, not terminated */
	struct feat_ptx *root;
	char why[160];

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (feat_ptx_parse(copy, size, &root, why, sizeof why) == 0) {
		walk(root);
		feat_ptx_free(root);
	}
	free(copy);
	return 0;
}
