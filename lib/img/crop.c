/*
 * crop.c - choosing the main object among a record's detections and
 * cutting it out of the original `image` (cropbox), and class names.
 *
 * Coordinates are continuous pixel coordinates of `image`: pixel i covers
 * [i, i+1).  A detection is clipped to [0, w] x [0, h] first, so that a
 * box reaching outside the picture (SSD's are not clipped by default)
 * competes with its visible part; the rectangle finally cut is whole
 * pixels, rounded outwards, so every pixel the box touches is kept.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "nn/model.h"
#include "img/crop.h"

int feat_crop_inputs(struct feat_rec *r, int *w, int *h, const float **dets,
	int *n, char *why, size_t whylen)
{
	struct feat_tensor *t = feat_rec_find(r, "image");

	if (!t) {
		snprintf(why, whylen, "no 'image' tensor to crop from (cropbox reads imgdecode's image, kept through imgprep and ssd-detect)");
		return FEAT_E_NOTFOUND;
	}
	if (t->dtype != FEAT_DT_U8 || t->ndim != 3 || t->dims[2] < 1 || t->dims[2] > 4) {
		snprintf(why, whylen, "'image' is %s with %d dimensions, expected u8 [H, W, C] with 1 to 4 channels",
			 feat_dtype_name(t->dtype) ? feat_dtype_name(t->dtype) : "?", t->ndim);
		return FEAT_E_FORMAT;
	}
	if (!t->dims[0] || !t->dims[1] || t->dims[0] > INT32_MAX || t->dims[1] > INT32_MAX) {
		snprintf(why, whylen, "'image' is empty (%u x %u pixels)",
			 (unsigned)t->dims[1], (unsigned)t->dims[0]);
		return FEAT_E_FORMAT;
	}
	*h = (int)t->dims[0];
	*w = (int)t->dims[1];
	*dets = NULL;
	*n = 0;
	if ((t = feat_rec_find(r, "origsize"))) {
		const int32_t *v = t->data;

		if (t->dtype != FEAT_DT_I32 || feat_tensor_count(t) != 2 || v[0] < 1 || v[1] < 1) {
			snprintf(why, whylen, "'origsize' is not i32 [2] holding a width and a height of at least 1");
			return FEAT_E_FORMAT;
		}
		*w = v[0];
		*h = v[1];
	}
	if (!(t = feat_rec_find(r, "dets")))
		return 0;
	if (t->dtype != FEAT_DT_F32 || t->ndim != 2 || t->dims[1] != 6 ||
	    t->dims[0] > INT32_MAX / 6) {
		char shape[96] = "";

		for (int i = 0; i < t->ndim; i++)
			snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%u",
				 i ? " " : "", (unsigned)t->dims[i]);
		snprintf(why, whylen, "'dets' is %s [%s], expected f32 [N, 6] (label, score, xmin, ymin, xmax, ymax)",
			 feat_dtype_name(t->dtype) ? feat_dtype_name(t->dtype) : "?", shape);
		return FEAT_E_FORMAT;
	}
	*dets = t->data;
	*n = (int)t->dims[0];
	return 0;
}

static int class_ok(const struct feat_crop_opts *o, float label)
{
	if (!o->classes)
		return 1;
	for (int i = 0; i < o->nclasses; i++)
		if ((float)o->classes[i] == label)
			return 1;
	return 0;
}

static float clampf(float v, float lo, float hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int feat_crop_boxes(const float *dets, int n, int w, int h,
	const struct feat_crop_opts *o, struct feat_box *out)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		const float *d = dets + (size_t)i * 6;
		struct feat_box b;

		if (!isfinite(d[0]) || !isfinite(d[1]) || d[1] < o->min_score ||
		    !class_ok(o, d[0]))
			continue;
		/* NaN fails every comparison: such a box is empty; an
		 * infinite corner is no box either (clipped, it would pass
		 * for the whole photo) */
		if (!(d[2] < d[4]) || !(d[3] < d[5]) || !isfinite(d[2]) || !isfinite(d[3]) ||
		    !isfinite(d[4]) || !isfinite(d[5]))
			continue;
		b.label = d[0];
		b.score = d[1];
		b.x0 = clampf(d[2], 0, (float)w);
		b.y0 = clampf(d[3], 0, (float)h);
		b.x1 = clampf(d[4], 0, (float)w);
		b.y1 = clampf(d[5], 0, (float)h);
		b.index = i;
		if (!(b.x0 < b.x1) || !(b.y0 < b.y1))
			continue;
		if ((double)b.x1 - b.x0 < o->min_size || (double)b.y1 - b.y0 < o->min_size)
			continue;
		out[k++] = b;
	}
	return k;
}

/* Grow [*a, *b) to length len about its centre, shifted to stay inside
 * [0, lim] where it fits, clipped where it does not. */
static void grow(double *a, double *b, double len, double lim)
{
	double c = (*a + *b) / 2;

	*a = c - len / 2;
	*b = c + len / 2;
	if (*a < 0) {
		*b -= *a;
		*a = 0;
	}
	if (*b > lim) {
		*a -= *b - lim;
		*b = lim;
	}
	if (*a < 0)
		*a = 0;
}

void feat_crop_rect(const struct feat_box *b, int w, int h,
	const struct feat_crop_opts *o, int rect[4])
{
	double x0 = b->x0, y0 = b->y0, x1 = b->x1, y1 = b->y1;
	double bw = x1 - x0, bh = y1 - y0;
	double mx = bw * o->margin_frac + o->margin_px;
	double my = bh * o->margin_frac + o->margin_px;

	x0 -= mx, x1 += mx, y0 -= my, y1 += my;
	x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > w ? w : x1, y1 = y1 > h ? h : y1;
	if (o->square) {
		double side = fmax(x1 - x0, y1 - y0);

		grow(&x0, &x1, side, w);
		grow(&y0, &y1, side, h);
	}
	rect[0] = (int)floor(x0 + FEAT_CROP_EPS);
	rect[1] = (int)floor(y0 + FEAT_CROP_EPS);
	rect[2] = (int)ceil(x1 - FEAT_CROP_EPS);
	rect[3] = (int)ceil(y1 - FEAT_CROP_EPS);
	/* a box thinner than 2 eps: keep one pixel at least */
	rect[0] = rect[0] < 0 ? 0 : rect[0] >= w ? w - 1 : rect[0];
	rect[1] = rect[1] < 0 ? 0 : rect[1] >= h ? h - 1 : rect[1];
	rect[2] = rect[2] > w ? w : rect[2] <= rect[0] ? rect[0] + 1 : rect[2];
	rect[3] = rect[3] > h ? h : rect[3] <= rect[1] ? rect[1] + 1 : rect[3];
}

/* A rectangle of the photo's ow x oh frame as pixels of the iw x ih image
 * that shows it: edges scaled and rounded outwards (within FEAT_CROP_EPS
 * of a whole number: that number), at least one pixel, inside the image.
 * The same rectangle when the two sizes are equal. */
void feat_crop_frame_to_image(const int fr[4], int ow, int oh, int iw, int ih, int out[4])
{
	double sx = (double)iw / ow, sy = (double)ih / oh;

	if (iw == ow && ih == oh) {
		memcpy(out, fr, 4 * sizeof *out);
		return;
	}
	out[0] = (int)floor(fr[0] * sx + FEAT_CROP_EPS);
	out[1] = (int)floor(fr[1] * sy + FEAT_CROP_EPS);
	out[2] = (int)ceil(fr[2] * sx - FEAT_CROP_EPS);
	out[3] = (int)ceil(fr[3] * sy - FEAT_CROP_EPS);
	out[0] = out[0] < 0 ? 0 : out[0] >= iw ? iw - 1 : out[0];
	out[1] = out[1] < 0 ? 0 : out[1] >= ih ? ih - 1 : out[1];
	out[2] = out[2] > iw ? iw : out[2] <= out[0] ? out[0] + 1 : out[2];
	out[3] = out[3] > ih ? ih : out[3] <= out[1] ? out[1] + 1 : out[3];
}

int feat_crop_apply(struct feat_rec *r, const int frame[4], float score,
	float label, int keep_dets, char *why, size_t whylen)
{
	const int *rect = frame;
	struct feat_tensor *t = feat_rec_find(r, "image");
	uint32_t dims[3], cd[1] = { 6 };
	size_t c, row, stride;
	uint8_t *tmp;
	const struct feat_tensor *o = feat_rec_find(r, "origsize");
	float *cv;
	int e, ow, oh, ir[4];

	FEAT_ASSERT(t && t->ndim == 3);
	/* the photo's frame: rect is in it, the image may be smaller */
	if (o && (o->dtype != FEAT_DT_I32 || feat_tensor_count(o) != 2 ||
		  ((const int32_t *)o->data)[0] < 1 || ((const int32_t *)o->data)[1] < 1))
		o = NULL;   /* feat_crop_inputs refuses it; the image's frame */
	ow = o ? ((const int32_t *)o->data)[0] : (int)t->dims[1];
	oh = o ? ((const int32_t *)o->data)[1] : (int)t->dims[0];
	FEAT_ASSERT(rect[0] >= 0 && rect[0] < rect[2] && rect[2] <= ow);
	FEAT_ASSERT(rect[1] >= 0 && rect[1] < rect[3] && rect[3] <= oh);
	feat_crop_frame_to_image(rect, ow, oh, (int)t->dims[1], (int)t->dims[0], ir);
	rect = ir;
	c = t->dims[2];
	stride = (size_t)t->dims[1] * c;
	row = (size_t)(rect[2] - rect[0]) * c;
	if (!(tmp = malloc(row * (size_t)(rect[3] - rect[1])))) {
		snprintf(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	for (int y = rect[1]; y < rect[3]; y++)
		memcpy(tmp + (size_t)(y - rect[1]) * row,
		       (const uint8_t *)t->data + (size_t)y * stride + (size_t)rect[0] * c, row);
	dims[0] = (uint32_t)(rect[3] - rect[1]);
	dims[1] = (uint32_t)(rect[2] - rect[0]);
	dims[2] = (uint32_t)c;
	/* stale now: made from (or found on) the whole image */
	feat_rec_remove(r, "input");
	feat_rec_remove(r, "xform");
	if (!keep_dets)
		feat_rec_remove(r, "dets");
	if (!(t = feat_rec_add(r, "image", FEAT_DT_U8, 3, dims, &e))) {
		free(tmp);
		snprintf(why, whylen, "%s", feat_strerror(e));
		return e;
	}
	memcpy(t->data, tmp, t->nbytes);
	free(tmp);
	if (!(t = feat_rec_add(r, "crop", FEAT_DT_F32, 1, cd, &e))) {
		snprintf(why, whylen, e == FEAT_E_TOOBIG ? "record has too many tensors to add 'crop'"
							 : "%s", feat_strerror(e));
		return e;
	}
	cv = t->data;
	for (int i = 0; i < 4; i++)
		cv[i] = (float)frame[i];
	cv[4] = score;
	cv[5] = label;
	/* the crop shows frame's part of the photo */
	if (o && (t = feat_rec_find(r, "origsize"))) {
		((int32_t *)t->data)[0] = frame[2] - frame[0];
		((int32_t *)t->data)[1] = frame[3] - frame[1];
	}
	return 0;
}

/* ------------------------------------------------------------- labels */

void feat_labels_free(struct feat_labels *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

static int labels_push(struct feat_labels *l, const char *s, size_t n)
{
	char **v;

	if (l->n >= 1 << 20)
		return FEAT_E_TOOBIG;
	if (!(v = realloc(l->names, (size_t)(l->n + 1) * sizeof *v)))
		return FEAT_E_NOMEM;
	l->names = v;
	if (!(v[l->n] = malloc(n + 1)))
		return FEAT_E_NOMEM;
	memcpy(v[l->n], s, n);
	v[l->n][n] = 0;
	l->n++;
	return 0;
}

int feat_labels_parse(struct feat_labels *l, const char *text, size_t len,
	char *why, size_t whylen)
{
	size_t i = 0;
	int e;

	l->n = 0;
	l->names = NULL;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - i;

		if (n && text[end - 1] == '\r')
			n--;
		if (memchr(text + i, 0, n)) {
			e = FEAT_E_FORMAT;
			snprintf(why, whylen, "line %d: a NUL byte in a name", l->n + 1);
			goto fail;
		}
		if (n > 255) {
			e = FEAT_E_FORMAT;
			snprintf(why, whylen, "line %d: a name of %zu bytes (at most 255)", l->n + 1, n);
			goto fail;
		}
		if ((e = labels_push(l, text + i, n))) {
			snprintf(why, whylen, e == FEAT_E_TOOBIG ? "more than %d names"
								 : "out of memory", 1 << 20);
			goto fail;
		}
		i = end + 1;
	}
	return 0;
fail:
	feat_labels_free(l);
	return e;
}

int feat_labels_from(struct feat_labels *l, const char *const *names, int n)
{
	int e;

	l->n = 0;
	l->names = NULL;
	for (int i = 0; i < n; i++)
		if ((e = labels_push(l, names[i], strlen(names[i])))) {
			feat_labels_free(l);
			return e;
		}
	return 0;
}

int feat_labels_find(const struct feat_labels *l, const char *name)
{
	for (int i = 0; l && i < l->n; i++)
		if (!strcmp(l->names[i], name))
			return i;
	return -1;
}

int feat_class_list(const char *list, const struct feat_labels *l, int **out,
	char *why, size_t whylen)
{
	size_t len = strlen(list);
	int *v = malloc((len / 2 + 1) * sizeof *v), n = 0;
	const char *s = list;

	*out = NULL;
	if (!v) {
		snprintf(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t k = comma ? (size_t)(comma - s) : strlen(s);
		char item[256], *end;
		long x;

		if (!k || k >= sizeof item) {
			free(v);
			if (k)
				snprintf(why, whylen, "a class name of %zu bytes (at most 255)", k);
			else
				snprintf(why, whylen, "an empty class in '%s'", list);
			return FEAT_E_INVAL;
		}
		memcpy(item, s, k);
		item[k] = 0;
		errno = 0;
		x = strtol(item, &end, 10);
		if (*end || end == item || errno || item[0] == ' ' || item[0] == '+') {
			if ((x = feat_labels_find(l, item)) < 0) {
				free(v);
				if (!l)
					snprintf(why, whylen, "'%s' is not a class number (names need -m MODEL or --labels FILE)", item);
				else
					snprintf(why, whylen, "no class named '%s'", item);
				return FEAT_E_NOTFOUND;
			}
		} else if (x < 0 || x > 65535) {
			free(v);
			snprintf(why, whylen, "class %s is out of range (0 to 65535)", item);
			return FEAT_E_INVAL;
		}
		v[n++] = (int)x;
		if (!comma)
			break;
		s = comma + 1;
	}
	*out = v;
	return n;
}

int feat_labels_load(struct feat_labels *l, const char *path, char *why,
	size_t whylen)
{
	unsigned char *buf = NULL;
	size_t cap = 0, len = 0;
	char r[256];
	int e;

	l->n = 0;
	l->names = NULL;
	if ((e = feat_file_load(path, 64 << 20, 0, &buf, &cap, &len, r, sizeof r))) {
		snprintf(why, whylen, "%s: %s", path, r);
		free(buf);
		return e;
	}
	if ((e = feat_labels_parse(l, (const char *)buf, len, r, sizeof r)))
		snprintf(why, whylen, "%s: %s", path, r);
	free(buf);
	return e;
}

int feat_labels_model(struct feat_labels *l, const char *path, char *why,
	size_t whylen)
{
	const struct feat_value *v;
	struct feat_model m;
	int e;

	l->n = 0;
	l->names = NULL;
	if ((e = feat_model_load(&m, path, why, whylen)))
		return e;
	v = feat_model_meta(&m, "labels");
	if (!v || v->type != FEAT_V_STRS) {
		snprintf(why, whylen, "%s: model has no metadata 'labels' (a list of class names)%s",
			 path, v ? " of strings" : "");
		e = v ? FEAT_E_FORMAT : FEAT_E_NOTFOUND;
	} else if ((e = feat_labels_from(l, v->u.strs, (int)v->n))) {
		snprintf(why, whylen, "%s", feat_strerror(e));
	}
	feat_model_free(&m);
	return e;
}
