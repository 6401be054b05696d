/*
 * fuzz_crop.c - libFuzzer harness for cropbox's parsers and box rules:
 * the labels file reader (feat_labels_parse), the --class list parser
 * (feat_class_list) and the choice and cutting of boxes from arbitrary
 * `dets` values (feat_crop_boxes, feat_crop_rect, feat_crop_apply).
 *
 * The input is split at its first NUL byte: before it, a labels file
 * (without NULs, so that it parses); after it, the first line is a class
 * list, the rest floats: an image size, options and detections.  Every
 * rectangle must lie inside the image, and cutting it must give a crop of
 * that size.
 *
 *   make fuzz
 *   build-fuzz/fuzz_crop t/fuzz/corpus/crop   (by hand)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "base/internal.h"

static float take(const uint8_t **p, size_t *n)
{
	float v = 0;

	if (*n >= 4) {
		memcpy(&v, *p, 4);
		*p += 4;
		*n -= 4;
	}
	return v;
}

static void boxes(const uint8_t *p, size_t n, const int *cls, int ncls)
{
	struct feat_crop_opts o = { 0 };
	struct feat_rec r;
	struct feat_box *b;
	uint32_t d[3];
	int w, h, iw, ih, m, scaled, nd, nb, rect[4];
	float *dets;
	char why[256];

	if (n < 8)
		return;
	w = 1 + p[0] % 40;
	h = 1 + p[1] % 40;
	o.square = p[2] & 1;
	o.classes = p[2] & 2 ? cls : NULL;
	o.nclasses = ncls;
	o.margin_frac = p[3] / 64.0;
	o.margin_px = p[4] / 16.0;
	o.min_size = p[5] / 32.0;
	o.min_score = (p[6] - 128) / 64.0f;
	/* p[7] odd: the image shows the w x h photo at m/8 of its size
	 * (imgdecode's DCT scaling), with `origsize` */
	scaled = p[7] & 1;
	m = scaled ? 1 + (p[7] >> 1) % 8 : 8;
	iw = (w * m + 7) / 8;
	ih = (h * m + 7) / 8;
	p += 8;
	n -= 8;
	nd = (int)(n / 24);
	if (!(dets = malloc((size_t)(nd ? nd : 1) * 24)) || !(b = malloc((size_t)(nd ? nd : 1) * sizeof *b))) {
		free(dets);
		return;
	}
	for (int i = 0; i < nd * 6; i++)
		dets[i] = take(&p, &n);
	nb = feat_crop_boxes(dets, nd, w, h, &o, b);
	FEAT_ASSERT(nb >= 0 && nb <= nd);
	feat_rec_init(&r);
	d[0] = (uint32_t)ih;
	d[1] = (uint32_t)iw;
	d[2] = 3;
	if (feat_rec_add(&r, "image", FEAT_DT_U8, 3, d, NULL)) {
		memset(r.t[0].data, 7, r.t[0].nbytes);
		if (scaled) {
			uint32_t two = 2;
			struct feat_tensor *os = feat_rec_add(&r, "origsize", FEAT_DT_I32, 1, &two, NULL);

			if (!os)
				goto out;
			((int32_t *)os->data)[0] = w;
			((int32_t *)os->data)[1] = h;
		}
		for (int i = 0; i < nb; i++) {
			FEAT_ASSERT(b[i].x0 >= 0 && b[i].x0 < b[i].x1 && b[i].x1 <= w);
			FEAT_ASSERT(b[i].y0 >= 0 && b[i].y0 < b[i].y1 && b[i].y1 <= h);
			FEAT_ASSERT(i == 0 || b[i].index > b[i - 1].index);  /* row order */
			feat_crop_rect(&b[i], w, h, &o, rect);
			FEAT_ASSERT(rect[0] >= 0 && rect[0] < rect[2] && rect[2] <= w);
			FEAT_ASSERT(rect[1] >= 0 && rect[1] < rect[3] && rect[3] <= h);
		}
		if (nb) {
			struct feat_tensor *t;

			feat_crop_rect(&b[0], w, h, &o, rect);
			FEAT_ASSERT(feat_crop_apply(&r, rect, b[0].score, b[0].label, 0, why, sizeof why) == 0);
			t = feat_rec_find(&r, "image");
			if (!scaled) {
				FEAT_ASSERT(t && t->dims[0] == (uint32_t)(rect[3] - rect[1]) &&
					    t->dims[1] == (uint32_t)(rect[2] - rect[0]));
			} else {
				const int32_t *os;

				FEAT_ASSERT(t && t->dims[0] >= 1 && t->dims[0] <= (uint32_t)ih &&
					    t->dims[1] >= 1 && t->dims[1] <= (uint32_t)iw);
				t = feat_rec_find(&r, "origsize");
				FEAT_ASSERT(t);
				os = t->data;
				FEAT_ASSERT(os[0] == rect[2] - rect[0] && os[1] == rect[3] - rect[1]);
			}
		}
	}
out:
	feat_rec_free(&r);
	free(dets);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size), *rest, *nl;
	struct feat_labels l = { 0 };
	char *text, *list, why[256];
	size_t tlen = nul ? (size_t)(nul - data) : size, rlen;
	int *cls = NULL, ncls = 0;

	/* an exact-size copy, so that a read past the end is caught */
	if (!(text = malloc(tlen ? tlen : 1)))
		return 0;
	memcpy(text, data, tlen);
	if (feat_labels_parse(&l, text, tlen, why, sizeof why) == 0)
		for (int i = 0; i < l.n; i++)
			FEAT_ASSERT(feat_labels_find(&l, l.names[i]) <= i);
	free(text);
	if (!nul)
		goto out;
	rest = nul + 1;
	rlen = size - tlen - 1;
	nl = memchr(rest, '\n', rlen);
	if (!(list = malloc((nl ? (size_t)(nl - rest) : rlen) + 1)))
		goto out;
	memcpy(list, rest, nl ? (size_t)(nl - rest) : rlen);
	list[nl ? (size_t)(nl - rest) : rlen] = 0;
	ncls = feat_class_list(list, l.n ? &l : NULL, &cls, why, sizeof why);
	free(list);
	if (ncls < 0)
		ncls = 0;
	for (int i = 0; i < ncls; i++)
		FEAT_ASSERT(cls[i] >= 0 && cls[i] <= 65535);
	if (nl)
		boxes(nl + 1, rlen - (size_t)(nl + 1 - rest), cls, ncls);
out:
	free(cls);
	feat_labels_free(&l);
	return 0;
}
