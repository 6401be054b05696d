/*
 * coder.c - a photo to its code in one call: the pipeline of the README
 * (imgdecode | imgprep --for ssd | ssd-detect | cropbox | imgprep --for
 * deepbit | deepbit-extract) on one record, with the same stages, so the
 * code is the pipeline's bit for bit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"

struct feat_coder {
	feat_detector *det;            /* NULL: the whole photo */
	feat_describer *desc;
	struct feat_prep_opts det_prep, desc_prep;
	struct feat_decode_opts decode;
	float min_score;
	int bits;
	struct feat_rec rec;
};

void feat_coder_opts_init(struct feat_coder_opts *o)
{
	memset(o, 0, sizeof *o);
	o->detector = "ssd";
	o->descriptor = "deepbit";
	o->threads = 1;
	o->mirror = -1;
	o->decode.min_side = FEAT_DEFAULT_MIN_SIDE;
}

int feat_crop_best(struct feat_rec *r, float min_score, struct feat_coder_box *box,
	char *why, size_t whylen)
{
	struct feat_crop_opts o;
	struct feat_box one, *boxes;
	const float *dets;
	int w, h, n, nb, rect[4], e;
	float score = FEAT_CROP_FALLBACK, label = FEAT_CROP_FALLBACK;

	if ((e = feat_crop_inputs(r, &w, &h, &dets, &n, why, whylen)))
		return e;
	memset(&o, 0, sizeof o);
	o.min_score = min_score;
	o.margin_frac = FEAT_CROP_DEFAULT_MARGIN;
	rect[0] = rect[1] = 0;
	rect[2] = w, rect[3] = h;
	if (n > 0) {
		if (!(boxes = malloc((size_t)n * sizeof *boxes))) {
			snprintf(why, whylen, "out of memory");
			return FEAT_E_NOMEM;
		}
		nb = feat_crop_boxes(dets, n, w, h, &o, boxes);
		if (nb > 0)
			one = boxes[0];
		free(boxes);
		if (nb > 0) {
			feat_crop_rect(&one, w, h, &o, rect);
			score = one.score;
			label = one.label;
		}
	}
	if ((e = feat_crop_apply(r, rect, score, label, 0, why, whylen)))
		return e;
	if (box) {
		box->x0 = (float)rect[0], box->y0 = (float)rect[1];
		box->x1 = (float)rect[2], box->y1 = (float)rect[3];
		box->score = score;
		box->label = (int)label;
		box->whole = score == FEAT_CROP_FALLBACK;
	}
	return 0;
}

int feat_coder_open(feat_coder **out, const struct feat_coder_opts *opts,
	char *why, size_t whylen)
{
	struct feat_detector_opts dop;
	struct feat_describer_opts sop;
	struct feat_coder_opts def;
	struct feat_describer_info info;
	struct feat_coder *c;
	char path[4096], reason[400];
	int e;

	*out = NULL;
	if (!opts) {
		feat_coder_opts_init(&def);
		opts = &def;
	}
	if (!(c = calloc(1, sizeof *c))) {
		snprintf(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	feat_rec_init(&c->rec);
	if (!(fabsf(opts->min_score) <= 1e30f)) {
		snprintf(why, whylen, "least score to crop: a number from -1e30 to 1e30, not %g",
			 (double)opts->min_score);
		free(c);
		return FEAT_E_RANGE;
	}
	c->decode = opts->decode;
	c->min_score = opts->min_score;
	if (opts->detector && *opts->detector) {
		feat_detector_opts_init(&dop);
		dop.batch = 1;
		dop.threads = opts->threads > 0 ? opts->threads : 1;
		if ((e = feat_model_find(opts->detector, path, sizeof path, why, whylen)) ||
		    (e = feat_detector_open(&c->det, path, &dop, why, whylen)))
			goto fail;
		if ((e = feat_detector_prep(c->det, &c->det_prep, reason, sizeof reason))) {
			snprintf(why, whylen, "%s: %s", path, reason);
			goto fail;
		}
	}
	feat_describer_opts_init(&sop);
	sop.batch = 1;
	sop.threads = opts->threads > 0 ? opts->threads : 1;
	sop.mirror = opts->mirror;
	if ((e = feat_model_find(opts->descriptor ? opts->descriptor : "deepbit", path,
				 sizeof path, why, whylen)) ||
	    (e = feat_describer_open(&c->desc, path, &sop, why, whylen)))
		goto fail;
	if ((e = feat_describer_prep(c->desc, &c->desc_prep, reason, sizeof reason))) {
		snprintf(why, whylen, "%s: %s", path, reason);
		goto fail;
	}
	feat_describer_info(c->desc, &info);
	c->bits = info.bits;
	*out = c;
	return 0;
fail:
	feat_coder_free(c);
	return e;
}

void feat_coder_free(feat_coder *c)
{
	if (!c)
		return;
	feat_detector_free(c->det);
	feat_describer_free(c->desc);
	feat_rec_free(&c->rec);
	free(c);
}

uint32_t feat_coder_bits(const feat_coder *c)
{
	return (uint32_t)c->bits;
}

/* The record's error as the call's: its message in why. */
static int rec_failed(const struct feat_rec *r, char *why, size_t whylen)
{
	snprintf(why, whylen, "%s", r->msg && *r->msg ? r->msg : "failed");
	return FEAT_E_INVAL;
}

int feat_coder_image(feat_coder *c, struct feat_rec *r, uint8_t *code,
	struct feat_coder_box *box, char *why, size_t whylen)
{
	const struct feat_tensor *t;
	int e;

	if (r->status != FEAT_ST_OK)
		return rec_failed(r, why, whylen);
	if (c->det) {
		if ((e = feat_prep(r, &c->det_prep, why, whylen)))
			return e;
		if ((e = feat_detector_run(c->det, &r, 1, why, whylen)))
			return e;
		if (r->status != FEAT_ST_OK)
			return rec_failed(r, why, whylen);
	} else {
		feat_rec_remove(r, "dets");
	}
	if ((e = feat_crop_best(r, c->min_score, box, why, whylen)))
		return e;
	if ((e = feat_prep(r, &c->desc_prep, why, whylen)))
		return e;
	if ((e = feat_describer_run(c->desc, &r, 1, why, whylen)))
		return e;
	if (r->status != FEAT_ST_OK)
		return rec_failed(r, why, whylen);
	if (!(t = feat_rec_find(r, "code")) || t->dtype != FEAT_DT_BIT) {
		snprintf(why, whylen, "no code");
		return FEAT_E_NOTFOUND;
	}
	memcpy(code, t->data, ((size_t)c->bits + 7) / 8);
	return 0;
}

int feat_coder_photo(feat_coder *c, const unsigned char *data, size_t len,
	uint8_t *code, struct feat_coder_box *box, char *why, size_t whylen)
{
	int e;

	feat_rec_clear(&c->rec);
	if ((e = feat_image_decode(data, len, &c->decode, &c->rec, NULL, why, whylen)))
		return e;
	return feat_coder_image(c, &c->rec, code, box, why, whylen);
}
