/*
 * fuzz_keys.c - libFuzzer harness for imgkeys's record step and the
 * keypoint detector on arbitrary images: feat_keys_rec() over an `image`
 * of any shape and type the input names (bad ones must be refused with a
 * reason, never read out of bounds), then feat_keys_detect() on the
 * pixels with the input's options.  Every keypoint must lie in the image
 * (or its mirror), carry flag 0 or 1 (2 or 3 only with `dets`: the
 * detector's box), and the counts stay within max.
 *
 * Input: byte 0 dtype selector, 1-2 height, 3-4 width (0..255), 5
 * channels (0..5), 6 max, 7 side, 8 levels, mirror (0x80) and `dets`
 * (0x40: up to 3 boxes from the pixel bytes, f32 [n, 6], or a bad
 * f32 [5] when byte 7 is odd); the rest pixels (repeated to fill the
 * image).
 *
 *   make fuzz
 *   build-fuzz/fuzz_keys t/fuzz/corpus/keys   (by hand)
 */
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "base/internal.h"

static void check(const struct feat_keys *k, int w, int h, const struct feat_keys_opt *o)
{
	int n[2] = { 0, 0 }, max = o->max ? o->max : FEAT_KEYS_DEFAULT_MAX;

	for (int i = 0; i < k->n; i++) {
		const float *p = k->pts + (size_t)i * FEAT_KEYS_COLS;

		FEAT_ASSERT(p[4] == 0 || (p[4] == 1 && !o->no_mirror));
		FEAT_ASSERT(p[0] > 0 && p[0] < w && p[1] > 0 && p[1] < h);
		FEAT_ASSERT(p[2] >= 31 && p[3] >= -3.1416f && p[3] <= 3.1416f);
		n[(int)p[4]]++;
	}
	FEAT_ASSERT(n[0] <= max && n[1] <= max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int dtypes[] = { FEAT_DT_U8, FEAT_DT_U8, FEAT_DT_U8, FEAT_DT_F32, FEAT_DT_I8 };
	struct feat_keys_opt o = { 0 };
	struct feat_keys *k = NULL;
	struct feat_rec r;
	struct feat_tensor *t;
	uint32_t d[3];
	char why[256];
	int dt, w, h, c, ndim, dets, bad_dets, nd;

	if (size < 10)
		return 0;
	dt = dtypes[data[0] % 5];
	ndim = data[0] & 0x80 ? 2 : 3;
	h = data[1] | (data[2] & 1) << 8;
	w = data[3] | (data[4] & 1) << 8;
	c = data[5] % 6;
	o.max = data[6] % 4 == 0 ? 0 : data[6];
	o.side = data[7] < FEAT_KEYS_MIN_SIDE ? 0 : data[7];
	o.levels = data[8] % 8;
	o.no_mirror = data[8] >> 7;
	dets = data[8] & 0x40;
	bad_dets = data[7] & 1;
	nd = data[6] % 4;
	data += 9;
	size -= 9;

	feat_rec_init(&r);
	d[0] = (uint32_t)h;
	d[1] = (uint32_t)w;
	d[2] = (uint32_t)c;
	if (dets) {
		uint32_t dd[2] = { bad_dets ? 5 : (uint32_t)nd, 6 };
		struct feat_tensor *td = feat_rec_add(&r, "dets", FEAT_DT_F32, bad_dets ? 1 : 2, dd,
						       NULL);

		if (td)
			for (size_t i = 0; i < feat_tensor_count(td); i++)
				((float *)td->data)[i] = ((float)data[i % size] - 32) * 2;
	}
	t = feat_rec_add(&r, "image", dt, ndim, d, NULL);
	if (t) {
		for (size_t i = 0; i < t->nbytes; i++)
			((uint8_t *)t->data)[i] = data[i % size];
		if (feat_keys_rec(&r, &o, data[0] & 1, why, sizeof why) == 0) {
			FEAT_ASSERT(dt == FEAT_DT_U8 && ndim == 3 && (c == 1 || c == 3 || c == 4));
			t = feat_rec_find(&r, "keys");
			FEAT_ASSERT(t && t->ndim == 2 && t->dims[1] == 5);
			/* (an empty image has no keypoints: its dets are not read) */
			FEAT_ASSERT(!(dets && bad_dets) || !h || !w);
			for (uint32_t i = 0; i < t->dims[0]; i++) {
				const float *p = (const float *)t->data + (size_t)i * 5;

				FEAT_ASSERT(p[4] == 0 || p[4] == 1 || (dets && (p[4] == 2 || p[4] == 3)));
				FEAT_ASSERT(p[0] > 0 && p[0] < w && p[1] > 0 && p[1] < h);
			}
		} else {
			FEAT_ASSERT(why[0]);
		}
	}
	feat_rec_free(&r);

	/* the detector on the bytes as a grey image */
	if (w && h) {
		uint8_t *px = malloc((size_t)w * h);

		if (!px)
			return 0;
		for (size_t i = 0; i < (size_t)w * h; i++)
			px[i] = data[i % size];
		if (feat_keys_detect(px, w, h, (size_t)w, &o, &k, why, sizeof why) == 0) {
			check(k, w, h, &o);
			feat_keys_free(k);
		}
		free(px);
	}
	return 0;
}
