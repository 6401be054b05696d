/*
 * ssd.c - Caffe's PriorBox and DetectionOutput over a featkit network's
 * outputs (see ssd.h, and featmodel(5) for the metadata).
 *
 * Semantics follow Caffe SSD (Liu et al.'s fork), which the original
 * models and OpenCV's DNN module share:
 *   priors: per cell, row-major, for each min_size the min box, then the
 *   sqrt(min*max) box, then one box per aspect ratio other than 1 (each
 *   ratio once, and its inverse after it when flip); centres at
 *   ((x + offset) * step_w, (y + offset) * step_h), normalised by the
 *   image size, clipped to [0, 1] when clip;
 *   decoding: CENTER_SIZE (centre offsets scaled by the prior's size and
 *   variance, log-space width and height) or CORNER;
 *   per class: scores > confidence_threshold, the top_k best, then greedy
 *   NMS dropping boxes whose Jaccard overlap with a kept one is above
 *   nms_threshold; over all classes, the keep_top_k best.
 * featkit adds agnostic_nms: after the NMS of each class, the same over
 * all classes (one box per place, whatever its class), before keep_top_k;
 * and box_vote: each box NMS keeps takes the score-weighted mean corners
 * of its class's candidates that overlap it by box_vote or more, and a
 * voted box that overlaps a better voted box of its class by more than
 * nms_threshold goes.
 * Missing DetectionOutput keys take Caffe's defaults (nms_threshold 0.3,
 * top_k and keep_top_k unlimited, no confidence threshold, background 0),
 * except code_type: a file without it decodes CENTER_SIZE, the coding of
 * featkit's own models (Caffe's default is CORNER, which the Caffe
 * importer writes out when a prototxt leaves code_type out).
 */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "img/prep.h"
#include "nn/ssd.h"

#define MAXV 64

/* ------------------------------------------------------------ metadata */

/* A count or label from metadata: -1 (none, or anything below, or NaN)
 * up to 100000000. */
static int count_of(double x)
{
	if (!(x >= -1))
		return -1;
	return x > 1e8 ? 100000000 : (int)x;
}

static const struct feat_value *meta(const struct feat_net *n, const char *a,
	const char *b)
{
	char key[512];

	snprintf(key, sizeof key, "ssd.%s.%s", a, b);
	return feat_model_meta(&n->model, key);
}

static const struct feat_value *meta1(const struct feat_net *n, const char *a)
{
	char key[512];

	snprintf(key, sizeof key, "ssd.%s", a);
	return feat_model_meta(&n->model, key);
}

/* ssd.A, a number from 0 to 1, into *out (0 when absent); -1 with the
 * reason, which says it must be WHAT, when it is not one such number. */
static int unit_meta(const struct feat_net *n, const char *a, const char *what,
	float *out, char *why, size_t whylen)
{
	const struct feat_value *m = meta1(n, a);
	double v;

	*out = 0;
	if (!m)
		return 0;
	if (feat_meta_numbers(m, &v, 1) != 1 || !(v >= 0 && v <= 1)) {
		snprintf(why, whylen, "metadata ssd.%s: expected %s", a, what);
		return -1;
	}
	*out = (float)v;
	return 0;
}

/* Numbers of ssd.A.B into v[]: the count, 0 when absent, -1 when bad. */
static int nums(const struct feat_net *n, const char *a, const char *b,
	double *v, int max, char *why, size_t whylen)
{
	const struct feat_value *m = meta(n, a, b);
	int k;

	if (!m)
		return 0;
	if ((k = feat_meta_numbers(m, v, max)) < 1) {
		snprintf(why, whylen, "metadata ssd.%s.%s: expected %s", a, b,
			 max > 1 ? "numbers" : "a number");
		return -1;
	}
	/* bounded, so that every count converts to int and every size
	 * to float */
	for (int i = 0; i < k; i++)
		if (!(fabs(v[i]) <= 1e9)) {
			snprintf(why, whylen, "metadata ssd.%s.%s: %g is out of range", a, b, v[i]);
			return -1;
		}
	return k;
}

/* A boolean: "true"/"false" (Caffe's text), or a number. */
static int flag(const struct feat_net *n, const char *a, const char *b, int def,
	int *out, char *why, size_t whylen)
{
	const struct feat_value *m = b ? meta(n, a, b) : meta1(n, a);
	double d;

	*out = def;
	if (!m)
		return 0;
	if (m->type == FEAT_V_STR && m->n == 1) {
		if (!strcmp(m->u.s, "true") || !strcmp(m->u.s, "1"))
			return *out = 1, 0;
		if (!strcmp(m->u.s, "false") || !strcmp(m->u.s, "0"))
			return *out = 0, 0;
	} else if (feat_meta_numbers(m, &d, 1) == 1 && (d == 0 || d == 1)) {
		return *out = (int)d, 0;
	}
	if (b)
		snprintf(why, whylen, "metadata ssd.%s.%s: expected true or false", a, b);
	else
		snprintf(why, whylen, "metadata ssd.%s: expected true or false", a);
	return -1;
}

static const char *str(const struct feat_value *v)
{
	return v && v->type == FEAT_V_STR && v->n == 1 ? v->u.s : NULL;
}

/* The i-th name of a list given as strs, or as one comma-separated str,
 * copied into buf (callers use buf).  NULL past the end. */
static const char *nth_name(const struct feat_value *v, int i, char *buf, size_t len)
{
	const char *p;

	if (v->type == FEAT_V_STRS) {
		if (i >= (int)v->n || !*v->u.strs[i] || strlen(v->u.strs[i]) >= len)
			return NULL;
		return strcpy(buf, v->u.strs[i]);
	}
	if (v->type != FEAT_V_STR)
		return NULL;
	p = v->u.s;

	for (int k = 0; k < i; k++) {
		if (!(p = strchr(p, ',')))
			return NULL;
		p++;
	}
	size_t l = strcspn(p, ",");

	while (l && isspace((unsigned char)p[l - 1]))
		l--;
	while (l && isspace((unsigned char)*p))
		p++, l--;
	if (!l || l >= len)
		return NULL;
	memcpy(buf, p, l);
	buf[l] = 0;
	return buf;
}

/* -------------------------------------------------------------- priors */

/* Lay out the priors of generator g; appends to s->prior/var from
 * s->nprior on (room must be there when fill is 1; with fill 0 it only
 * counts).  Returns the count, or -1 with why set. */
static int priors_of(struct feat_ssd *s, const struct feat_net *n, const char *g,
	int fill, char *why, size_t whylen)
{
	double mins[MAXV], maxs[MAXV], ars_in[MAXV], ar[2 * MAXV + 1], var[4], v[2];
	double img_w, img_h, step_w, step_h, offset = 0.5;
	int nmin, nmax, nar_in, nar = 0, nvar, flip, clip, gh, gw, k;
	const struct feat_blob *in = &n->blob[n->input[0]];

	if ((nmin = nums(n, g, "min_size", mins, MAXV, why, whylen)) <= 0) {
		if (!nmin)
			snprintf(why, whylen, "metadata ssd.%s.min_size: missing", g);
		return -1;
	}
	if ((nmax = nums(n, g, "max_size", maxs, MAXV, why, whylen)) < 0 ||
	    (nar_in = nums(n, g, "aspect_ratio", ars_in, MAXV, why, whylen)) < 0 ||
	    (nvar = nums(n, g, "variance", var, 4, why, whylen)) < 0 ||
	    flag(n, g, "flip", 1, &flip, why, whylen) ||
	    flag(n, g, "clip", 0, &clip, why, whylen))
		return -1;
	if (nmax && nmax != nmin) {
		snprintf(why, whylen, "metadata ssd.%s: %d max_size for %d min_size", g, nmax, nmin);
		return -1;
	}
	for (int i = 0; i < nmin; i++)
		if (!(mins[i] > 0) || (nmax && !(maxs[i] > mins[i]))) {
			snprintf(why, whylen, "metadata ssd.%s: sizes must be positive, max_size above min_size", g);
			return -1;
		}
	if (nvar == 0)
		var[0] = var[1] = var[2] = var[3] = 0.1, nvar = 4;
	else if (nvar == 1)
		var[1] = var[2] = var[3] = var[0];
	else if (nvar != 4) {
		snprintf(why, whylen, "metadata ssd.%s.variance: 1 or 4 values, not %d", g, nvar);
		return -1;
	}
	/* aspect ratios: 1, then each new one and (flip) its inverse */
	ar[nar++] = 1.0;
	for (int i = 0; i < nar_in; i++) {
		int seen = 0;

		if (!(ars_in[i] > 0)) {
			snprintf(why, whylen, "metadata ssd.%s.aspect_ratio: must be positive", g);
			return -1;
		}
		for (int j = 0; j < nar; j++)
			seen |= fabs(ars_in[i] - ar[j]) < 1e-6;
		if (seen)
			continue;
		ar[nar++] = ars_in[i];
		if (flip)
			ar[nar++] = 1.0 / ars_in[i];
	}
	/* the grid: explicit, or the shape of the source blob */
	if ((k = nums(n, g, "grid", v, 2, why, whylen)) < 0)
		return -1;
	if (k == 2) {
		if (!(v[0] >= 1 && v[0] <= 4096 && v[1] >= 1 && v[1] <= 4096)) {
			snprintf(why, whylen, "metadata ssd.%s: bad grid %gx%g", g, v[0], v[1]);
			return -1;
		}
		gh = (int)v[0], gw = (int)v[1];
	} else if (k == 0 && str(meta(n, g, "source"))) {
		int b = feat_net_blob_find(n, str(meta(n, g, "source")));

		if (b < 0 || n->blob[b].ndim != 4) {
			snprintf(why, whylen, "metadata ssd.%s.source: '%s' is not a feature map of the network",
				 g, str(meta(n, g, "source")));
			return -1;
		}
		gh = (int)n->blob[b].dims[2], gw = (int)n->blob[b].dims[3];
	} else {
		snprintf(why, whylen, "metadata ssd.%s: needs grid (H,W) or source (a blob)", g);
		return -1;
	}
	if (gh < 1 || gw < 1 || gh > 4096 || gw > 4096) {
		snprintf(why, whylen, "metadata ssd.%s: bad grid %dx%d", g, gh, gw);
		return -1;
	}
	/* the image the sizes refer to, and the step */
	img_h = in->ndim == 4 ? in->dims[2] : 0;
	img_w = in->ndim == 4 ? in->dims[3] : 0;
	if ((k = nums(n, g, "img_size", v, 1, why, whylen)) < 0)
		return -1;
	if (k)
		img_h = img_w = v[0];
	if ((k = nums(n, g, "img_h", v, 1, why, whylen)) < 0)
		return -1;
	if (k)
		img_h = v[0];
	if ((k = nums(n, g, "img_w", v, 1, why, whylen)) < 0)
		return -1;
	if (k)
		img_w = v[0];
	if (!(img_w > 0) || !(img_h > 0)) {
		snprintf(why, whylen, "metadata ssd.%s: no image size (img_size, or an image input)", g);
		return -1;
	}
	step_w = img_w / gw, step_h = img_h / gh;
	if ((k = nums(n, g, "step", v, 1, why, whylen)) < 0)
		return -1;
	if (k)
		step_w = step_h = v[0];
	if ((k = nums(n, g, "step_h", v, 1, why, whylen)) < 0)
		return -1;
	if (k)
		step_h = v[0];
	if ((k = nums(n, g, "step_w", v, 1, why, whylen)) < 0)
		return -1;
	if (k)
		step_w = v[0];
	if ((k = nums(n, g, "offset", v, 1, why, whylen)) < 0)
		return -1;
	if (k)
		offset = v[0];
	if (!(step_w > 0) || !(step_h > 0)) {
		snprintf(why, whylen, "metadata ssd.%s: the step must be positive", g);
		return -1;
	}

	int per_cell = nmin * (1 + (nmax > 0) + (nar - 1));

	if ((long)gh * gw * per_cell > 10000000) {
		snprintf(why, whylen, "metadata ssd.%s: more than 10000000 prior boxes", g);
		return -1;
	}
	if (!fill)
		return gh * gw * per_cell;
	s->img_w = (float)img_w, s->img_h = (float)img_h;
	float *p = s->prior + (size_t)s->nprior * 4, *q = s->var + (size_t)s->nprior * 4;

	for (int y = 0; y < gh; y++) {
		for (int x = 0; x < gw; x++) {
			float cx = (float)((x + offset) * step_w), cy = (float)((y + offset) * step_h);

			for (int i = 0; i < nmin; i++) {
				float bw[2 * MAXV + 2], bh[2 * MAXV + 2];
				int nb = 0;

				bw[nb] = bh[nb] = (float)mins[i], nb++;
				if (nmax)
					bw[nb] = bh[nb] = (float)sqrt(mins[i] * maxs[i]), nb++;
				for (int a = 1; a < nar; a++) {
					bw[nb] = (float)(mins[i] * sqrt(ar[a]));
					bh[nb] = (float)(mins[i] / sqrt(ar[a]));
					nb++;
				}
				for (int b = 0; b < nb; b++) {
					p[0] = (cx - bw[b] / 2.0f) / (float)img_w;
					p[1] = (cy - bh[b] / 2.0f) / (float)img_h;
					p[2] = (cx + bw[b] / 2.0f) / (float)img_w;
					p[3] = (cy + bh[b] / 2.0f) / (float)img_h;
					if (clip)
						for (int c = 0; c < 4; c++)
							p[c] = p[c] < 0 ? 0 : p[c] > 1 ? 1 : p[c];
					for (int c = 0; c < 4; c++)
						q[c] = (float)var[c];
					p += 4, q += 4;
				}
			}
		}
	}
	return gh * gw * per_cell;
}

static int out_blob(const struct feat_net *n, const char *key, int which,
	char *why, size_t whylen)
{
	const char *name = str(feat_model_meta(&n->model, key));
	int b;

	if (!name) {
		if (n->noutput == 2)
			return n->output[which];
		snprintf(why, whylen, "metadata %s: missing (the %s output of the network)", key,
			 which ? "class probabilities" : "box offsets");
		return -1;
	}
	if ((b = feat_net_blob_find(n, name)) < 0) {
		snprintf(why, whylen, "metadata %s: no blob '%s' in the network", key, name);
		return -1;
	}
	for (int i = 0; i < n->noutput; i++)
		if (n->output[i] == b)
			return b;
	snprintf(why, whylen, "metadata %s: '%s' is not an output of the network", key, name);
	return -1;
}

int feat_ssd_setup(struct feat_ssd *s, const struct feat_net *n, char *why,
	size_t whylen)
{
	const struct feat_value *pl = feat_model_meta(&n->model, "ssd.priors");
	const char *d = str(feat_model_meta(&n->model, "ssd.detect"));
	char name[256];
	double v[1];
	int total = 0, k, share;

	memset(s, 0, sizeof *s);
	s->win[2] = s->win[3] = 1;
	if (!pl || !nth_name(pl, 0, name, sizeof name)) {
		snprintf(why, whylen, "not an SSD model: no metadata ssd.priors (the prior-box generators)");
		return FEAT_E_FORMAT;
	}
	if (!d) {
		snprintf(why, whylen, "not an SSD model: no metadata ssd.detect (the detection settings)");
		return FEAT_E_FORMAT;
	}
	if (n->ninput < 1) {
		snprintf(why, whylen, "the network has no input");
		return FEAT_E_FORMAT;
	}
	/* detection settings */
	if ((k = nums(n, d, "num_classes", v, 1, why, whylen)) < 0)
		return FEAT_E_FORMAT;
	if (!k || v[0] < 1 || v[0] > 100000) {
		snprintf(why, whylen, "metadata ssd.%s.num_classes: %s", d, k ? "out of range" : "missing");
		return FEAT_E_FORMAT;
	}
	s->num_classes = (int)v[0];
	s->background = 0;
	if ((k = nums(n, d, "background_label_id", v, 1, why, whylen)) < 0)
		return FEAT_E_FORMAT;
	if (k)
		s->background = count_of(v[0]);
	s->nms_threshold = 0.3f;
	if ((k = nums(n, d, "nms_threshold", v, 1, why, whylen)) < 0)
		return FEAT_E_FORMAT;
	if (k)
		s->nms_threshold = (float)v[0];
	if (!(s->nms_threshold >= 0)) {
		snprintf(why, whylen, "metadata ssd.%s.nms_threshold: must not be negative", d);
		return FEAT_E_FORMAT;
	}
	s->box_vote = 0;
	if ((k = nums(n, d, "box_vote", v, 1, why, whylen)) < 0)
		return FEAT_E_FORMAT;
	if (k)
		s->box_vote = (float)v[0];
	if (!(s->box_vote >= 0 && s->box_vote <= 1)) {
		snprintf(why, whylen, "metadata ssd.%s.box_vote: an overlap from 0 (off) to 1", d);
		return FEAT_E_FORMAT;
	}
	s->confidence_threshold = -FLT_MAX;
	if ((k = nums(n, d, "confidence_threshold", v, 1, why, whylen)) < 0)
		return FEAT_E_FORMAT;
	if (k)
		s->confidence_threshold = (float)v[0];
	s->top_k = -1;
	if ((k = nums(n, d, "top_k", v, 1, why, whylen)) < 0)
		return FEAT_E_FORMAT;
	if (k)
		s->top_k = count_of(v[0]);
	s->keep_top_k = -1;
	if ((k = nums(n, d, "keep_top_k", v, 1, why, whylen)) < 0)
		return FEAT_E_FORMAT;
	if (k)
		s->keep_top_k = count_of(v[0]);
	if (flag(n, d, "variance_encoded_in_target", 0, &s->var_in_target, why, whylen) ||
	    flag(n, d, "agnostic_nms", 0, &s->agnostic, why, whylen) ||
	    flag(n, "mirror", NULL, 0, &s->mirror, why, whylen) ||
	    flag(n, d, "share_location", 1, &share, why, whylen))
		return FEAT_E_FORMAT;
	if (unit_meta(n, "main_share", "a share of the best score, 0 (off) to 1", &s->main_share, why, whylen) ||
	    unit_meta(n, "main_min_score", "a score from 0 to 1", &s->main_min, why, whylen))
		return FEAT_E_FORMAT;
	if (!share) {
		snprintf(why, whylen, "metadata ssd.%s.share_location: false is not supported (one box per prior for all classes)", d);
		return FEAT_E_FORMAT;
	}
	{
		const char *ct = str(meta(n, d, "code_type"));

		if (!ct || !strcmp(ct, "CENTER_SIZE") || !strcmp(ct, "2"))
			s->code_type = FEAT_SSD_CENTER_SIZE;
		else if (!strcmp(ct, "CORNER") || !strcmp(ct, "1"))
			s->code_type = FEAT_SSD_CORNER;
		else {
			snprintf(why, whylen, "metadata ssd.%s.code_type: '%s' is not supported (CENTER_SIZE or CORNER)", d, ct);
			return FEAT_E_FORMAT;
		}
	}
	/* the priors: count, then lay out */
	for (int i = 0; nth_name(pl, i, name, sizeof name); i++) {
		if ((k = priors_of(s, n, name, 0, why, whylen)) < 0)
			return FEAT_E_FORMAT;
		if (total > 10000000 - k) {
			snprintf(why, whylen, "metadata ssd.priors: too many priors");
			return FEAT_E_FORMAT;
		}
		total += k;
	}
	if ((s->loc_blob = out_blob(n, "ssd.loc", 0, why, whylen)) < 0 ||
	    (s->conf_blob = out_blob(n, "ssd.conf", 1, why, whylen)) < 0)
		return FEAT_E_FORMAT;
	if (n->blob[s->loc_blob].count != (size_t)total * 4) {
		snprintf(why, whylen, "the box offsets '%s' hold %zu values, the %d priors need %d",
			 n->blob[s->loc_blob].name, n->blob[s->loc_blob].count, total, total * 4);
		return FEAT_E_FORMAT;
	}
	if (n->blob[s->conf_blob].count != (size_t)total * s->num_classes) {
		snprintf(why, whylen, "the class probabilities '%s' hold %zu values, %d priors of %d classes need %zu",
			 n->blob[s->conf_blob].name, n->blob[s->conf_blob].count, total,
			 s->num_classes, (size_t)total * s->num_classes);
		return FEAT_E_FORMAT;
	}
	s->prior = malloc((size_t)total * 4 * sizeof *s->prior);
	s->var = malloc((size_t)total * 4 * sizeof *s->var);
	if (!s->prior || !s->var) {
		feat_ssd_free(s);
		snprintf(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	for (int i = 0; nth_name(pl, i, name, sizeof name); i++)
		s->nprior += priors_of(s, n, name, 1, why, whylen);
	return 0;
}

void feat_ssd_free(struct feat_ssd *s)
{
	free(s->mir);
	free(s->prior);
	free(s->var);
	free(s->box);
	free(s->cand);
	free(s->keep);
	free(s->all);
	s->prior = s->var = s->box = NULL;
	s->cand = s->all = NULL;
	s->keep = NULL;
	s->allcap = 0;
}

/* ----------------------------------------------------------- detection */

float feat_ssd_iou(const float *a, const float *b)
{
	if (b[0] > a[2] || b[2] < a[0] || b[1] > a[3] || b[3] < a[1])
		return 0.0f;
	float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
	float ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
	/* an inverted box (CORNER decoding can give one) meets nothing:
	 * Caffe sizes such an intersection 0 */
	if (iw < 0 || ih < 0)
		return 0.0f;
	float inter = iw * ih;
	float sa = a[2] < a[0] || a[3] < a[1] ? 0.0f : (a[2] - a[0]) * (a[3] - a[1]);
	float sb = b[2] < b[0] || b[3] < b[1] ? 0.0f : (b[2] - b[0]) * (b[3] - b[1]);
	float u = sa + sb - inter;

	return u > 0 ? inter / u : 0.0f;
}

struct cand {
	float score;
	int idx, label;
	float b[4];          /* its box (voted, when box_vote) */
};

/* score descending; ties: label, then prior, ascending (a stable order) */
static int by_score(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->label != b->label)
		return a->label < b->label ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

static void decode(const struct feat_ssd *s, const float *loc, float *box)
{
	for (int p = 0; p < s->nprior; p++) {
		const float *pr = s->prior + 4 * p, *v = s->var + 4 * p, *l = loc + 4 * p;
		float *o = box + 4 * p;
		float vx = s->var_in_target ? 1.0f : v[0], vy = s->var_in_target ? 1.0f : v[1];
		float vw = s->var_in_target ? 1.0f : v[2], vh = s->var_in_target ? 1.0f : v[3];

		if (s->code_type == FEAT_SSD_CORNER) {
			o[0] = pr[0] + vx * l[0];
			o[1] = pr[1] + vy * l[1];
			o[2] = pr[2] + vw * l[2];
			o[3] = pr[3] + vh * l[3];
		} else {
			float pw = pr[2] - pr[0], ph = pr[3] - pr[1];
			float pcx = (pr[0] + pr[2]) / 2.0f, pcy = (pr[1] + pr[3]) / 2.0f;
			float cx = vx * l[0] * pw + pcx, cy = vy * l[1] * ph + pcy;
			float w = expf(vw * l[2]) * pw, h = expf(vh * l[3]) * ph;

			o[0] = cx - w / 2.0f;
			o[1] = cy - h / 2.0f;
			o[2] = cx + w / 2.0f;
			o[3] = cy + h / 2.0f;
		}
	}
}

/* Whether box b (xmin, ymin, xmax, ymax) has an area in window w: not
 * inverted, and meeting w.  A box with a corner that is not finite is
 * kept, for the caller to refuse (a NaN compares false). */
static int has_area(const float *b, const float *w)
{
	if (!isfinite(b[0]) || !isfinite(b[1]) || !isfinite(b[2]) || !isfinite(b[3]))
		return 1;
	return b[2] > b[0] && b[3] > b[1] && b[2] > w[0] && b[0] < w[2] &&
	       b[3] > w[1] && b[1] < w[3];
}

/* Put the k best of c[0..n) (by_score's order) first, in any order:
 * quickselect, so that a class with thousands of boxes above the threshold
 * (an untrained net) costs O(n), not a sort. */
static void select_best(struct cand *c, int n, int k)
{
	int lo = 0, hi = n - 1;

	while (lo < hi) {
		struct cand piv = c[lo + (hi - lo) / 2], t;
		int i = lo, j = hi;

		while (i <= j) {
			while (by_score(&c[i], &piv) < 0)
				i++;
			while (by_score(&c[j], &piv) > 0)
				j--;
			if (i <= j) {
				t = c[i], c[i] = c[j], c[j] = t;
				i++, j--;
			}
		}
		if (k - 1 <= j)
			hi = j;
		else if (k - 1 >= i)
			lo = i;
		else
			break;
	}
}

/* Box voting: the corners of kept box b become the mean of those of the
 * class's candidates c[0..n) that overlap it by box_vote or more (it
 * among them), weighted by their scores.  NMS keeps the best of a few
 * overlapping boxes of one item whose scores are nearly equal, and which
 * of them is best turns on the last digits; their mean does not. */
static void vote(const struct feat_ssd *s, const struct cand *c, int n, const float *b, float *out)
{
	double w = 0, acc[4] = { 0, 0, 0, 0 };

	for (int j = 0; j < n; j++) {
		const float *o = s->box + 4 * c[j].idx;

		if (feat_ssd_iou(b, o) < s->box_vote)
			continue;
		w += c[j].score;
		for (int q = 0; q < 4; q++)
			acc[q] += (double)c[j].score * o[q];
	}
	if (w > 0)
		for (int q = 0; q < 4; q++)
			out[q] = (float)(acc[q] / w);
}

int feat_ssd_detect(struct feat_ssd *s, const float *loc,
	const float *conf, struct feat_det **out, size_t *cap)
{
	int np = s->nprior, C = s->num_classes, nall = 0;
	struct cand *c, *all;

	/* work buffers, kept between calls (no page faults per image) */
	if (!s->box) {
		s->box = malloc((size_t)np * 4 * sizeof *s->box);
		s->cand = malloc((size_t)np * sizeof(struct cand));
		s->keep = malloc((size_t)np * sizeof *s->keep);
		if (!s->box || !s->cand || !s->keep)
			return FEAT_E_NOMEM;
	}
	/* a NaN score is above no threshold and would be dropped silently;
	 * a NaN offset would give a NaN box, whose overlaps mean nothing:
	 * refuse both, and infinities with them (one pass, as cheap as the
	 * decoding) */
	if (feat_f32_nonfinite(loc, (size_t)np * 4) < (size_t)np * 4 ||
	    feat_f32_nonfinite(conf, (size_t)np * C) < (size_t)np * C)
		return FEAT_E_RANGE;
	c = s->cand;
	decode(s, loc, s->box);
	for (int k = 0; k < C; k++) {
		int nc = 0, nk = 0, first = nall;

		if (k == s->background)
			continue;
		for (int p = 0; p < np; p++) {
			float sc = conf[(size_t)p * C + k];

			/* a box of no area is no detection: it
			 * would suppress nothing and take a place */
			if (sc > s->confidence_threshold && has_area(s->box + 4 * p, s->win))
				c[nc++] = (struct cand){ sc, p, k, { 0, 0, 0, 0 } };
		}
		if (s->top_k >= 0 && nc > s->top_k) {
			select_best(c, nc, s->top_k);
			nc = s->top_k;
		}
		if (nc > 1)
			qsort(c, (size_t)nc, sizeof *c, by_score);
		for (int i = 0; i < nc; i++) {
			const float *b = s->box + 4 * c[i].idx;
			int ok = 1;

			for (int j = 0; j < nk && ok; j++)
				ok = feat_ssd_iou(b, s->box + 4 * s->keep[j]) <= s->nms_threshold;
			if (!ok)
				continue;
			s->keep[nk++] = c[i].idx;
			if (feat_grow(&s->all, &s->allcap, (size_t)nall + 1, sizeof(struct cand), 256))
				return FEAT_E_NOMEM;
			memcpy(c[i].b, b, sizeof c[i].b);
			if (s->box_vote > 0)
				vote(s, c, nc, b, c[i].b);
			((struct cand *)s->all)[nall++] = c[i];
		}
		/* voting draws the kept boxes of one item towards the same
		 * mean: those that now overlap a better one by more than the
		 * threshold go, as NMS would have dropped them */
		if (s->box_vote > 0) {
			struct cand *a = s->all;
			int n = first;

			for (int i = first; i < nall; i++) {
				int ok = 1;

				for (int j = first; j < n && ok; j++)
					ok = feat_ssd_iou(a[i].b, a[j].b) <= s->nms_threshold;
				if (ok)
					a[n++] = a[i];
			}
			nall = n;
		}
	}
	all = s->all;
	if (s->agnostic && nall > 1) {
		int nk = 0;

		qsort(all, (size_t)nall, sizeof *all, by_score);
		for (int i = 0; i < nall; i++) {
			const float *b = all[i].b;
			int ok = 1;

			for (int j = 0; j < nk && ok; j++)
				ok = feat_ssd_iou(b, all[j].b) <= s->nms_threshold;
			if (ok)
				all[nk++] = all[i];
		}
		nall = nk;
	}
	if (s->keep_top_k >= 0 && nall > s->keep_top_k) {
		select_best(all, nall, s->keep_top_k);
		nall = s->keep_top_k;
	}
	if (nall > 1)  /* (all is NULL until a first box is kept) */
		qsort(all, (size_t)nall, sizeof *all, by_score);
	if ((size_t)nall > *cap) {
		struct feat_det *t = realloc(*out, (size_t)nall * sizeof **out);

		if (!t)
			return FEAT_E_NOMEM;
		*out = t, *cap = (size_t)nall;
	}
	for (int i = 0; i < nall; i++) {
		const float *b = all[i].b;

		(*out)[i] = (struct feat_det){ (float)all[i].label, all[i].score, b[0], b[1], b[2], b[3] };
	}
	return nall;
}

void feat_ssd_main(float share, float min, struct feat_det *d, int n)
{
	float best, area = -1;
	int m = 0;

	if (n < 2 || !(share > 0 && share <= 1))
		return;
	best = d[0].score;
	for (int i = 1; i < n; i++)
		if (d[i].score > best)
			best = d[i].score;
	for (int i = 0; i < n; i++) {
		float w = d[i].x1 - d[i].x0, h = d[i].y1 - d[i].y0;
		float a = w > 0 && h > 0 ? w * h : 0;

		if (d[i].score >= share * best && d[i].score >= min && a > area)
			area = a, m = i;
	}
	if (m > 0) {
		struct feat_det t = d[m];

		memmove(d + 1, d, (size_t)m * sizeof *d);
		d[0] = t;
	}
}

/* feat_det by score descending; ties: label, then corners (a total
 * order, so that the merge does not depend on qsort's) */
static int det_by_score(const void *pa, const void *pb)
{
	const struct feat_det *a = pa, *b = pb;
	const float *x = &a->x0, *y = &b->x0;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->label != b->label)
		return a->label < b->label ? -1 : 1;
	for (int i = 0; i < 4; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

int feat_ssd_mirror(struct feat_ssd *s, int agnostic, int keep_top_k, struct feat_det *a, int na,
	const struct feat_det *b, int nb, struct feat_det **out, size_t *cap)
{
	struct feat_det *m, *bb;
	unsigned char *used;
	int nm = 0, nk = 0;
	/* m: the merged boxes (at most na + nb), then bb: b turned back, then
	 * used: b's pairing flags */
	size_t need = (size_t)(na + 2 * nb) * sizeof *m + (size_t)nb;

	if (!na && !nb)
		return 0;
	if (feat_grow(&s->mir, &s->mircap, need, 1, 4096))
		return FEAT_E_NOMEM;
	m = s->mir;
	bb = m + na + nb;
	used = (unsigned char *)(bb + nb);
	for (int j = 0; j < nb; j++) {
		bb[j] = b[j];
		bb[j].x0 = 1.0f - b[j].x1, bb[j].x1 = 1.0f - b[j].x0;
		used[j] = 0;
	}
	if (na > 1)
		qsort(a, (size_t)na, sizeof *a, det_by_score);
	for (int i = 0; i < na; i++) {
		float best = 0;
		int bj = -1;

		for (int j = 0; j < nb; j++) {
			float v;

			if (used[j] || bb[j].label != a[i].label)
				continue;
			v = feat_ssd_iou(&a[i].x0, &bb[j].x0);
			if (v > best)
				best = v, bj = j;
		}
		m[nm] = a[i];
		if (bj >= 0 && best >= FEAT_SSD_MIRROR_IOU) {
			const struct feat_det *p = &bb[bj];
			float sum = a[i].score + p->score;
			float wa = sum > 0 ? a[i].score / sum : 0.5f, wb = 1.0f - wa;

			used[bj] = 1;
			m[nm].score = 0.5f * (a[i].score + p->score);
			m[nm].x0 = wa * a[i].x0 + wb * p->x0, m[nm].y0 = wa * a[i].y0 + wb * p->y0;
			m[nm].x1 = wa * a[i].x1 + wb * p->x1, m[nm].y1 = wa * a[i].y1 + wb * p->y1;
		} else {
			m[nm].score = 0.5f * a[i].score;
		}
		nm++;
	}
	for (int j = 0; j < nb; j++)
		if (!used[j]) {
			m[nm] = bb[j];
			m[nm++].score = 0.5f * bb[j].score;
		}
	if (nm > 1)
		qsort(m, (size_t)nm, sizeof *m, det_by_score);
	/* a box seen in one view may now score under the threshold: it
	 * goes, as it would have in a single view, before it can suppress
	 * another box */
	while (nm > 0 && !(m[nm - 1].score > s->confidence_threshold))
		nm--;
	for (int i = 0; i < nm; i++) {
		int ok = 1;

		for (int j = 0; j < nk && ok; j++)
			if (agnostic || m[j].label == m[i].label)
				ok = feat_ssd_iou(&m[i].x0, &m[j].x0) <= s->nms_threshold;
		if (ok)
			m[nk++] = m[i];
	}
	if (keep_top_k >= 0 && nk > keep_top_k)
		nk = keep_top_k;
	if ((size_t)nk > *cap) {
		struct feat_det *t = realloc(*out, (size_t)nk * sizeof **out);

		if (!t)
			return FEAT_E_NOMEM;
		*out = t, *cap = (size_t)nk;
	}
	if (nk)
		memcpy(*out, m, (size_t)nk * sizeof *m);
	return nk;
}
