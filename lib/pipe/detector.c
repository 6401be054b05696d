/*
 * detector.c - ssd-detect's library half: an SSD model over records'
 * prepared `input`, adding `dets` in the pixels of the record's image.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "img/prep.h"
#include "nn/ssd.h"
#include "pipe/stage.h"

#define STAGE "ssd-detect"

struct feat_detector {
	struct feat_net *net;
	struct feat_ssd ssd;
	int in;
	uint32_t chw[3];               /* input shape of one image */
	int batch, threads;
	struct feat_rec **ok;          /* records of the current pass */
	float (*xf)[8];                /* their transforms */
	float (*win)[4];               /* where their images lie in the input
					  (normalised: feat_ssd's win) */
	struct feat_det *dets;
	size_t cap;
	int mirror;
	int keep_top_k;                /* in effect; with mirror, applied
					  after the merge, ssd.keep_top_k
					  being -1 so that no box loses its
					  partner in the other view to it */
	int agnostic;                  /* in effect; with mirror, applied by the
					  merge, ssd.agnostic being 0 so that each
					  view keeps the boxes of every class */
	/* with mirror: the first pass's boxes of record i are the
	 * aoff[2i + 1] from adet[aoff[2i]] (-1: the record failed there) */
	struct feat_det *adet, *bdet;
	size_t acap, bcap;
	long *aoff;
};

/* An option of 0 to 1, when set, into *out; else FEAT_E_RANGE with what
 * and the value in why. */
static int unit_opt(int set, double v, float *out, const char *what, char *why, size_t whylen)
{
	if (!set)
		return 0;
	if (!(v >= 0 && v <= 1)) {
		snprintf(why, whylen, "%s, not %g", what, v);
		return FEAT_E_RANGE;
	}
	*out = (float)v;
	return 0;
}

void feat_detector_opts_init(struct feat_detector_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch = 8;
	o->threads = 1;
	o->agnostic = -1;
	o->mirror = -1;
}

int feat_detector_open(feat_detector **out, const char *path,
	const struct feat_detector_opts *opts, char *why, size_t whylen)
{
	struct feat_detector_opts def;
	struct feat_detector *d;
	char reason[400];
	int e;

	*out = NULL;
	if (!opts) {
		feat_detector_opts_init(&def);
		opts = &def;
	}
	if (!(d = calloc(1, sizeof *d)))
		goto oom;
	if ((e = feat_stage_load(&d->net, path, opts->batch, opts->threads, &d->in, d->chw,
				 why, whylen)))
		goto fail;
	if ((e = feat_ssd_setup(&d->ssd, d->net, reason, sizeof reason))) {
		snprintf(why, whylen, "%s: %s", path, reason);
		goto fail;
	}
	/* the bounds of ssd-detect's options: a NaN threshold would keep
	 * no box (or, for NMS, one per class) without a word */
	e = FEAT_E_RANGE;
	if (opts->set_confidence && !(fabs(opts->confidence) <= 1e30)) {
		snprintf(why, whylen, "confidence threshold: a number from -1e30 to 1e30, not %g", opts->confidence);
		goto fail;
	}
	if (opts->set_top_k && opts->top_k < -1) {
		snprintf(why, whylen, "top_k: a count, or -1 for all, not %d", opts->top_k);
		goto fail;
	}
	if (opts->set_keep_top_k && opts->keep_top_k < -1) {
		snprintf(why, whylen, "keep_top_k: a count, or -1 for all, not %d", opts->keep_top_k);
		goto fail;
	}
	if (opts->set_confidence)
		d->ssd.confidence_threshold = (float)opts->confidence;
	if (opts->set_top_k)
		d->ssd.top_k = opts->top_k;
	if (opts->set_keep_top_k)
		d->ssd.keep_top_k = opts->keep_top_k;
	if (opts->agnostic >= 0)
		d->ssd.agnostic = opts->agnostic != 0;
	if ((e = unit_opt(opts->set_nms, opts->nms, &d->ssd.nms_threshold,
			  "NMS threshold: an overlap from 0 to 1", why, whylen)) ||
	    (e = unit_opt(opts->set_box_vote, opts->box_vote, &d->ssd.box_vote,
			  "box voting: an overlap from 0 (off) to 1", why, whylen)) ||
	    (e = unit_opt(opts->set_main_share, opts->main_share, &d->ssd.main_share,
			  "main share: a share of the best score from 0 (off) to 1", why, whylen)) ||
	    (e = unit_opt(opts->set_main_min, opts->main_min, &d->ssd.main_min,
			  "main box's least score: from 0 to 1", why, whylen)))
		goto fail;
	d->mirror = opts->mirror < 0 ? d->ssd.mirror : opts->mirror != 0;
	d->agnostic = d->ssd.agnostic;
	d->keep_top_k = d->ssd.keep_top_k;
	if (d->mirror)
		d->ssd.agnostic = 0, d->ssd.keep_top_k = -1;
	d->batch = opts->batch;
	d->threads = opts->threads;
	if (!(d->ok = calloc((size_t)d->batch, sizeof *d->ok)) ||
	    !(d->xf = calloc((size_t)d->batch, sizeof *d->xf)) ||
	    !(d->win = calloc((size_t)d->batch, sizeof *d->win)) ||
	    !(d->aoff = calloc(2 * (size_t)d->batch, sizeof *d->aoff)))
		goto oom;
	*out = d;
	return 0;
oom:
	snprintf(why, whylen, "out of memory");
	e = FEAT_E_NOMEM;
fail:
	feat_detector_free(d);
	return e;
}

void feat_detector_free(feat_detector *d)
{
	if (!d)
		return;
	free(d->ok);
	free(d->xf);
	free(d->win);
	free(d->dets);
	free(d->adet);
	free(d->bdet);
	free(d->aoff);
	feat_ssd_free(&d->ssd);
	feat_net_free(d->net);
	free(d);
}

void feat_detector_info(const feat_detector *d, struct feat_detector_info *i)
{
	memset(i, 0, sizeof *i);
	i->channels = d->chw[0], i->height = d->chw[1], i->width = d->chw[2];
	i->batch = d->batch;
	i->threads = d->threads;
	i->priors = d->ssd.nprior;
	i->classes = d->ssd.num_classes;
	i->confidence = d->ssd.confidence_threshold;
	i->nms = d->ssd.nms_threshold;
	i->top_k = d->ssd.top_k;
	i->keep_top_k = d->keep_top_k;
	i->agnostic = d->agnostic;
	i->mirror = d->mirror;
	i->box_vote = d->ssd.box_vote;
	i->main_share = d->ssd.main_share;
	i->main_min = d->ssd.main_min;
}

int feat_detector_prep(const feat_detector *d, struct feat_prep_opts *o,
	char *why, size_t whylen)
{
	memset(o, 0, sizeof *o);
	return feat_prep_from_model(o, 0, &d->net->model, why, whylen);
}

/* Boxes from the network input's normalised coordinates to image pixels
 * (x_in = sx * x_img + tx), then to the photo's ow x oh frame (the image
 * is sw x sh), clipped to it.  0, or -1 (b unchanged) when a corner is
 * not finite before clipping, which would turn an infinite corner into
 * the photo's edge. */
static int to_image(float *b, const float *xf, float w_in, float h_in, float ow, float oh)
{
	float sw = xf[0], sh = xf[1], sx = xf[4], sy = xf[5], tx = xf[6], ty = xf[7];
	float c[4];

	for (int i = 0; i < 4; i += 2) {
		float x = (b[i] * w_in - tx) / sx, y = (b[i + 1] * h_in - ty) / sy;

		if (ow != sw)
			x = x / sw * ow;
		if (oh != sh)
			y = y / sh * oh;
		c[i] = x, c[i + 1] = y;
	}
	if (feat_f32_nonfinite(c, 4) < 4)
		return -1;
	for (int i = 0; i < 4; i += 2) {
		b[i] = c[i] < 0 ? 0 : c[i] > ow ? ow : c[i];
		b[i + 1] = c[i + 1] < 0 ? 0 : c[i + 1] > oh ? oh : c[i + 1];
	}
	return 0;
}

/*
 * The detections of one record from its rows of the network's outputs,
 * into d->dets: the count, or -1 with *e 0 (r made an error record) or
 * *e a fault of the run (reason in why).  Outputs that are not finite (an
 * overflow in the net) make r an error record, never boxes.
 */
static int find_dets(struct feat_detector *d, struct feat_rec *r, const float *loc,
	const float *conf, const float *win, int *e, char *why, size_t whylen)
{
	const struct feat_net *net = d->net;
	size_t nl = net->blob[d->ssd.loc_blob].count, nc = net->blob[d->ssd.conf_blob].count, k;
	int n;

	*e = 0;
	memcpy(d->ssd.win, win, sizeof d->ssd.win);
	if ((k = feat_f32_nonfinite(loc, nl)) < nl)
		*e = feat_stage_nonfinite(STAGE, r, "network output is not finite",
					  net->blob[d->ssd.loc_blob].name, loc, k, nl, why, whylen);
	else if ((k = feat_f32_nonfinite(conf, nc)) < nc)
		*e = feat_stage_nonfinite(STAGE, r, "network output is not finite",
					  net->blob[d->ssd.conf_blob].name, conf, k, nc, why, whylen);
	else if ((n = feat_ssd_detect(&d->ssd, loc, conf, &d->dets, &d->cap)) == FEAT_E_NOMEM)
		*e = feat_stage_oom(FEAT_E_NOMEM, why, whylen);
	else if (n < 0)
		*e = feat_stage_oom(feat_rec_set_error(r, STAGE ": network output is not finite"),
				    why, whylen);
	else
		return n;
	return -1;
}

/*
 * r's `dets` from n boxes in the network input's normalised frame; a box
 * that maps to a non-finite corner (offsets so large that the exponential
 * of the box size overflows) makes r an error record instead.  A box of
 * no area once clipped to the photo is no detection and is left out
 * (feat_ssd_detect has dropped those it could see; this catches the
 * rounding at the photo's edge).
 */
static int put_dets(struct feat_detector *d, struct feat_rec *r, struct feat_det *det,
	int n, const float *xf, char *why, size_t whylen)
{
	uint32_t dims[2];
	struct feat_tensor *t;
	float *o, ow, oh;
	int e, m;

	/* the photo's frame: the image may be smaller (imgdecode --min-side) */
	if ((t = feat_rec_find(r, "origsize")) && t->dtype == FEAT_DT_I32 &&
	    feat_tensor_count(t) == 2 && ((const int32_t *)t->data)[0] >= 1 &&
	    ((const int32_t *)t->data)[1] >= 1 && xf[0] >= 1 && xf[1] >= 1) {
		ow = (float)((const int32_t *)t->data)[0];
		oh = (float)((const int32_t *)t->data)[1];
	} else {
		ow = xf[0], oh = xf[1];
	}
	/* to the photo's pixels, clipped, in place (checked before the
	 * clipping, which would make an infinite corner the photo's edge);
	 * then the main box first, by its area in the photo */
	for (int i = 0; i < n; i++)
		if (to_image(&det[i].x0, xf, (float)d->chw[2], (float)d->chw[1], ow, oh))
			return feat_stage_oom(feat_rec_set_error(r, STAGE ": a box of class %d, score %g, decodes to a non-finite corner",
								 (int)det[i].label, det[i].score),
					      why, whylen);
	for (int i = m = 0; i < n; i++)
		if (det[i].x1 > det[i].x0 && det[i].y1 > det[i].y0)
			det[m++] = det[i];
	n = m;
	feat_ssd_main(d->ssd.main_share, d->ssd.main_min, det, n);
	dims[0] = (uint32_t)n, dims[1] = 6;
	if (!(t = feat_rec_add(r, "dets", FEAT_DT_F32, 2, dims, &e))) {
		if (e == FEAT_E_NOMEM)
			return feat_stage_oom(e, why, whylen);
		return feat_stage_oom(feat_rec_set_error(r, STAGE ": record has too many tensors to add 'dets'"),
				      why, whylen);
	}
	o = t->data;
	for (int i = 0; i < n; i++, o += 6) {
		o[0] = det[i].label;
		o[1] = det[i].score;
		o[2] = det[i].x0, o[3] = det[i].y0;
		o[4] = det[i].x1, o[5] = det[i].y1;
	}
	return 0;
}

/* r's `xform` copied into the transform of its slot, or 0 with r marked
 * as failed (*e set only for a fault of the run): feat_stage_batch's
 * accept. */
static int xform_of(struct feat_rec *r, int slot, void *ctx, int *e, char *why, size_t whylen)
{
	feat_detector *d = ctx;
	struct feat_tensor *f = feat_rec_find(r, "xform");
	float w_in = (float)d->chw[2], h_in = (float)d->chw[1], x0, x1, y0, y1;
	const float *v;

	*e = 0;
	if (!f || f->dtype != FEAT_DT_F32 || feat_tensor_count(f) != 8) {
		*e = feat_stage_oom(feat_rec_set_error(r, STAGE ": no 'xform' tensor (f32 [8], written by imgprep) to map boxes back to the image"),
				    why, whylen);
		return 0;
	}
	v = f->data;
	if (feat_f32_nonfinite(v, 8) < 8 || !(v[4] > 0) || !(v[5] > 0) ||
	    !(v[0] >= 0) || !(v[1] >= 0)) {
		*e = feat_stage_oom(feat_rec_set_error(r, STAGE ": 'xform' is not a valid transform"),
				    why, whylen);
		return 0;
	}
	/* the map must be to this input: a stream whose input was changed
	 * after imgprep (or an xform of another model's) would put every
	 * box in the wrong place */
	if (v[2] != w_in || v[3] != h_in) {
		*e = feat_stage_oom(feat_rec_set_error(r, STAGE ": 'xform' maps to a %gx%g input, but 'input' is %ux%u",
						       v[2], v[3], d->chw[2], d->chw[1]),
				    why, whylen);
		return 0;
	}
	/* boxes are mapped back to an image of at least one pixel, which
	 * must meet the input (it may overhang it: imgprep --fit crop) */
	if (!(v[0] >= 1) || !(v[1] >= 1)) {
		*e = feat_stage_oom(feat_rec_set_error(r, STAGE ": 'xform' is not a valid transform: the image is %gx%g",
						       v[0], v[1]),
				    why, whylen);
		return 0;
	}
	x0 = v[6], x1 = v[4] * v[0] + v[6], y0 = v[7], y1 = v[5] * v[1] + v[7];
	if (!(x1 > 0 && x0 < w_in && y1 > 0 && y0 < h_in)) {
		*e = feat_stage_oom(feat_rec_set_error(r, STAGE ": 'xform' is not a valid transform: it maps the %gx%g image to [%g, %g] x [%g, %g], outside the %ux%u input",
						       v[0], v[1], x0, x1, y0, y1, d->chw[2], d->chw[1]),
				    why, whylen);
		return 0;
	}
	memcpy(d->xf[slot], v, 8 * sizeof *d->xf[slot]);
	d->win[slot][0] = x0 / w_in, d->win[slot][1] = y0 / h_in;
	d->win[slot][2] = x1 / w_in, d->win[slot][3] = y1 / h_in;
	return 1;
}

/* The mirror pass: the records' inputs reversed left to right, the
 * detections of each, merged with the first pass's (d->aoff, d->adet). */
static int mirror_pass(feat_detector *d, int m, char *why, size_t whylen)
{
	size_t nl = d->net->blob[d->ssd.loc_blob].count, nc = d->net->blob[d->ssd.conf_blob].count;
	int e, n;

	if ((e = feat_stage_mirror(d->net, d->in, d->chw, d->ok, m, why, whylen)))
		return e;
	for (int i = 0; i < m; i++) {
		const float *loc = feat_net_data(d->net, d->ssd.loc_blob) + (size_t)i * nl;
		const float *conf = feat_net_data(d->net, d->ssd.conf_blob) + (size_t)i * nc;
		long a0 = d->aoff[2 * i], an = d->aoff[2 * i + 1];
		/* the image's place in the input reversed */
		float win[4] = { 1 - d->win[i][2], d->win[i][1], 1 - d->win[i][0], d->win[i][3] };

		if (an < 0)
			continue;  /* failed in the first pass */
		if ((n = find_dets(d, d->ok[i], loc, conf, win, &e, why, whylen)) < 0) {
			if (e)
				return e;
			continue;
		}
		if (feat_grow(&d->bdet, &d->bcap, (size_t)n, sizeof *d->bdet, 64))
			return feat_stage_oom(FEAT_E_NOMEM, why, whylen);
		if (n)
			memcpy(d->bdet, d->dets, (size_t)n * sizeof *d->bdet);
		if ((n = feat_ssd_mirror(&d->ssd, d->agnostic, d->keep_top_k, an ? d->adet + a0 : NULL, (int)an,
					 d->bdet, n, &d->dets, &d->cap)) < 0)
			return feat_stage_oom(FEAT_E_NOMEM, why, whylen);
		if ((e = put_dets(d, d->ok[i], d->dets, n, d->xf[i], why, whylen)))
			return e;
	}
	return 0;
}

int feat_detector_run(feat_detector *d, struct feat_rec **recs, int n,
	char *why, size_t whylen)
{
	size_t nl = d->net->blob[d->ssd.loc_blob].count, nc = d->net->blob[d->ssd.conf_blob].count;
	long na = 0;
	int m, e, k;

	if ((e = feat_stage_batch(STAGE, "detector", d->net, d->in, d->chw, d->batch, recs, n,
				  xform_of, d, d->ok, &m, why, whylen)))
		return e;
	for (int i = 0; i < m; i++) {
		const float *loc = feat_net_data(d->net, d->ssd.loc_blob) + (size_t)i * nl;
		const float *conf = feat_net_data(d->net, d->ssd.conf_blob) + (size_t)i * nc;

		d->aoff[2 * i] = na;
		if ((k = find_dets(d, d->ok[i], loc, conf, d->win[i], &e, why, whylen)) < 0) {
			if (e)
				return e;
			d->aoff[2 * i + 1] = -1;
			continue;
		}
		if (!d->mirror) {
			if ((e = put_dets(d, d->ok[i], d->dets, k, d->xf[i], why, whylen)))
				return e;
			continue;
		}
		if (feat_grow(&d->adet, &d->acap, (size_t)(na + k), sizeof *d->adet, 256))
			return feat_stage_oom(FEAT_E_NOMEM, why, whylen);
		if (k)  /* (adet may still be NULL) */
			memcpy(d->adet + na, d->dets, (size_t)k * sizeof *d->adet);
		na += k;
		d->aoff[2 * i + 1] = k;
	}
	return d->mirror && m ? mirror_pass(d, m, why, whylen) : 0;
}
