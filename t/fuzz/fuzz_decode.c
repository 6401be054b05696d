/*
 * fuzz_decode.c - libFuzzer harness for feat_image_decode(): any bytes
 * must give either an image of the size the info reports or an error
 * with a one-line reason, and never a crash, a leak or a hang.  The pixel
 * limit is lowered so that a forged header cannot ask for gigabytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feat_decode_opts o = { .max_pixels = 4000000 };
	struct feat_decode_info info;
	struct feat_rec r;
	struct feat_tensor *t;
	char why[256];
	int e;

	/* The first byte picks the options, so they are fuzzed too. */
	if (size > 0) {
		o.min_side = data[0] & 0x80 ? (data[0] & 0x3f) * 4 : 0;
		o.no_orient = data[0] & 1;
		o.strict = data[0] & 2;
		o.fast = data[0] & 4;
		o.allow_truncated = data[0] & 0x40;
	}
	feat_rec_init(&r);
	e = feat_image_decode(data, size, &o, &r, &info, why, sizeof why);
	t = feat_rec_find(&r, "image");
	if (e == 0) {
		if (!t || t->dims[0] != (uint32_t)info.out_height ||
		    t->dims[1] != (uint32_t)info.out_width || t->dims[2] != 3)
			abort();
	} else if (t || !why[0] || strchr(why, '\n')) {
		abort();
	}
	feat_rec_free(&r);
	return 0;
}
