/*
 * prep.c - image preparation: the u8 HWC `image` of a record becomes the
 * f32 CHW network `input` (resized, fitted, channel order, mean and
 * scale) and the `xform` that maps image coordinates to input coordinates.
 *
 * The resize is separable.  For each axis a table of taps (source index,
 * weight; the same number for every output sample) is computed once per
 * image in double precision.  Each output row is then made in two passes:
 * a vertical pass that blends the few source rows it needs into one float
 * row (contiguous, so the compiler vectorizes it), and a horizontal pass
 * over that row through the column taps.  Only the source columns that
 * some tap reads are touched, so a centre crop costs what its area costs.
 *
 * Sample positions (continuous coordinates, pixel i covers [i, i+1)):
 * output sample j of an axis mapping the source interval [a0, a1) onto n
 * outputs covers [a0 + j*f, a0 + (j+1)*f) with f = (a1 - a0) / n, and its
 * centre is a0 + (j + 0.5)*f.  See imgprep(1) for each method.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "img/prep.h"

/* Largest side of an input or a source image handled here. */
#define PREP_MAX_SIDE 16384
#define SRC_MAX_SIDE (1 << 24)

int feat_prep_preset(struct feat_prep_opts *o, const char *name)
{
	struct feat_prep_opts p;

	memset(&p, 0, sizeof p);
	p.fit = FEAT_FIT_STRETCH;
	p.resize = FEAT_RESIZE_AUTO;
	p.bgr = 1;
	p.mean[0] = 104, p.mean[1] = 117, p.mean[2] = 123;
	p.scale[0] = p.scale[1] = p.scale[2] = 1;
	if (!strcmp(name, "ssd300"))
		p.width = p.height = 300;
	else if (!strcmp(name, "vgg224"))
		p.width = p.height = 224;
	else
		return FEAT_E_NOTFOUND;
	*o = p;
	return 0;
}

int feat_prep_check(const struct feat_prep_opts *o, char *why, size_t whylen)
{
	const char *bad = NULL;

	if (o->width < 1 || o->height < 1 || o->width > PREP_MAX_SIDE ||
	    o->height > PREP_MAX_SIDE) {
		snprintf(why, whylen, "input size %dx%d is out of range (1 to %d a side)",
			 o->width, o->height, PREP_MAX_SIDE);
		return FEAT_E_RANGE;
	}
	if (o->fit < FEAT_FIT_STRETCH || o->fit > FEAT_FIT_CROP)
		bad = "fit";
	else if (o->resize < FEAT_RESIZE_AUTO || o->resize > FEAT_RESIZE_NEAREST)
		bad = "resize method";
	for (int i = 0; i < 3 && !bad; i++)
		if (!isfinite(o->mean[i]) || !isfinite(o->scale[i]) ||
		    !isfinite(o->pad[i]))
			bad = "mean, scale or pad value";
	if (bad) {
		snprintf(why, whylen, "invalid %s", bad);
		return FEAT_E_INVAL;
	}
	return 0;
}

/* ---------------------------------------------------- model metadata */

int feat_meta_numbers(const struct feat_value *v, double *out, int max)
{
	if (!v || (int64_t)v->n > max)
		return -1;
	switch (v->type) {
	case FEAT_V_INT: out[0] = (double)v->u.i; return 1;
	case FEAT_V_FLOAT: out[0] = v->u.f; return 1;
	case FEAT_V_INTS:
		for (uint32_t i = 0; i < v->n; i++)
			out[i] = (double)v->u.ints[i];
		return (int)v->n;
	case FEAT_V_FLOATS:
		for (uint32_t i = 0; i < v->n; i++)
			out[i] = v->u.floats[i];
		return (int)v->n;
	}
	return -1;
}

static int meta_missing(const char *key, const char *what, char *why,
	size_t whylen)
{
	snprintf(why, whylen, "model has no metadata '%s' (%s)", key, what);
	return FEAT_E_NOTFOUND;
}

static int meta_bad(const char *key, const char *what, char *why,
	size_t whylen)
{
	snprintf(why, whylen, "model metadata '%s' is not %s", key, what);
	return FEAT_E_FORMAT;
}

/* Per-channel values of key into v[3]: c numbers, or one for all. */
static int meta_channels(const struct feat_model *m, const char *key, int c,
	float v[3], char *why, size_t whylen)
{
	const struct feat_value *mv = feat_model_meta(m, key);
	double d[3];
	int n;

	if (!mv)
		return meta_missing(key, c == 1 ? "one number" : "one number per channel",
				    why, whylen);
	n = feat_meta_numbers(mv, d, 3);
	if (n != 1 && n != c)
		return meta_bad(key, c == 1 ? "one number" : "one or three numbers", why, whylen);
	for (int i = 0; i < 3; i++) {
		double x = d[n == 1 ? 0 : i < n ? i : 0];

		if (!isfinite(x) || fabs(x) > 1e30)
			return meta_bad(key, "finite", why, whylen);
		v[i] = (float)x;
	}
	return 0;
}

int feat_prep_model(struct feat_prep_opts *o, unsigned given, const char *path,
	char *why, size_t whylen)
{
	struct feat_model m;
	char reason[400];
	int e;

	if ((e = feat_model_load(&m, path, why, whylen)))
		return e;   /* why names the file */
	if ((e = feat_prep_from_model(o, given, &m, reason, sizeof reason)))
		feat_fmt(why, whylen, "%s: %s", path, reason);
	feat_model_free(&m);
	return e;
}

int feat_prep_from_model(struct feat_prep_opts *o, unsigned given,
	const struct feat_model *m, char *why, size_t whylen)
{
	static const char *const fits[] = { "stretch", "letterbox", "crop" };
	const struct feat_value *v;
	double shp[3];
	int c = 3, e;

	/* the channel count comes from the order (or input.shape) */
	if (!(given & FEAT_PREP_SET_ORDER)) {
		if (!(v = feat_model_meta(m, "input.order")))
			return meta_missing("input.order", "rgb, bgr or gray", why, whylen);
		if (v->type != FEAT_V_STR || (strcmp(v->u.s, "rgb") &&
		    strcmp(v->u.s, "bgr") && strcmp(v->u.s, "gray")))
			return meta_bad("input.order", "rgb, bgr or gray", why, whylen);
		o->gray = !strcmp(v->u.s, "gray");
		o->bgr = !strcmp(v->u.s, "bgr");
	}
	c = o->gray ? 1 : 3;
	if (!(given & FEAT_PREP_SET_SIZE) || !(given & FEAT_PREP_SET_ORDER)) {
		if (!(v = feat_model_meta(m, "input.shape")))
			return meta_missing("input.shape", "C,H,W", why, whylen);
		if (feat_meta_numbers(v, shp, 3) != 3 || v->type == FEAT_V_FLOAT ||
		    v->type == FEAT_V_INT)
			return meta_bad("input.shape", "three numbers C,H,W", why, whylen);
		for (int i = 0; i < 3; i++)
			if (!(shp[i] >= 1 && shp[i] <= 16384) || shp[i] != floor(shp[i]))
				return meta_bad("input.shape", "three whole numbers from 1 to 16384",
						why, whylen);
		if (!(given & FEAT_PREP_SET_ORDER) && (int)shp[0] != c) {
			snprintf(why, whylen, "model metadata 'input.shape' has %d channels but 'input.order' is %s",
				 (int)shp[0], o->gray ? "gray (1 channel)"
				 : o->bgr ? "bgr (3 channels)" : "rgb (3 channels)");
			return FEAT_E_FORMAT;
		}
		if (!(given & FEAT_PREP_SET_SIZE)) {
			o->height = (int)shp[1];
			o->width = (int)shp[2];
		}
	}
	if (!(given & FEAT_PREP_SET_MEAN) &&
	    (e = meta_channels(m, "input.mean", c, o->mean, why, whylen)))
		return e;
	if (!(given & FEAT_PREP_SET_SCALE) &&
	    (e = meta_channels(m, "input.scale", c, o->scale, why, whylen)))
		return e;
	if (!(given & FEAT_PREP_SET_FIT)) {
		if (!(v = feat_model_meta(m, "input.fit")))
			return meta_missing("input.fit", "stretch, letterbox or crop", why, whylen);
		o->fit = -1;
		for (int i = 0; i < 3 && v->type == FEAT_V_STR; i++)
			if (!strcmp(v->u.s, fits[i]))
				o->fit = i;
		if (o->fit < 0)
			return meta_bad("input.fit", "stretch, letterbox or crop", why, whylen);
	}
	return 0;
}

/* ------------------------------------------------------------- resize */

/* The taps of one axis: n outputs, k taps each, idx[j*k + i], w[...]. */
struct taps {
	int n, k;
	int lo, hi;     /* smallest and largest source index read */
	int *idx;
	float *w;
};

static int clampi(long v, int n)
{
	return v < 0 ? 0 : v >= n ? n - 1 : (int)v;
}

/*
 * Taps for mapping the source interval [a0, a1) of an axis of sn pixels
 * onto dn outputs.  Indices outside 0..sn-1 are clamped (the edge pixel
 * is repeated).  Returns 0 or FEAT_E_NOMEM.
 */
static int taps_make(struct taps *t, double a0, double a1, int sn, int dn,
	int method)
{
	double f = (a1 - a0) / dn;
	int k;

	if (method == FEAT_RESIZE_AUTO)
		method = f >= 2 ? FEAT_RESIZE_AREA : FEAT_RESIZE_BILINEAR;
	k = method == FEAT_RESIZE_NEAREST ? 1
	  : method == FEAT_RESIZE_BILINEAR ? 2
	  : (int)ceil(f) + 1;   /* an interval of length f meets at most ceil(f) + 1 pixels */
	t->n = dn;
	t->k = k;
	t->idx = malloc((size_t)dn * k * sizeof *t->idx);
	t->w = malloc((size_t)dn * k * sizeof *t->w);
	if (!t->idx || !t->w)
		return FEAT_E_NOMEM;
	t->lo = sn - 1;
	t->hi = 0;
	for (int j = 0; j < dn; j++) {
		int *ix = t->idx + (size_t)j * k;
		float *w = t->w + (size_t)j * k;
		int m = 0;

		if (method == FEAT_RESIZE_NEAREST) {
			ix[0] = clampi((long)floor(a0 + (j + 0.5) * f), sn);
			w[0] = 1;
			m = 1;
		} else if (method == FEAT_RESIZE_BILINEAR) {
			double u = a0 + (j + 0.5) * f - 0.5, i0 = floor(u);

			ix[0] = clampi((long)i0, sn);
			ix[1] = clampi((long)i0 + 1, sn);
			w[0] = (float)(1 - (u - i0));
			w[1] = (float)(u - i0);
			m = 2;
		} else {
			/* exact box coverage of [a, b) clipped to the image */
			double a = a0 + j * f, b = a + f;

			if (a < 0)
				a = 0;
			if (b > sn)
				b = sn;
			if (b <= a) {
				ix[0] = clampi((long)floor(a0 + (j + 0.5) * f), sn);
				w[0] = 1;
				m = 1;
			} else {
				for (long i = (long)floor(a); i < b && m < k; i++) {
					double lo = a > i ? a : i;
					double hi = b < i + 1 ? b : i + 1;

					if (hi <= lo)
						continue;
					ix[m] = clampi(i, sn);
					w[m++] = (float)((hi - lo) / (b - a));
				}
			}
		}
		FEAT_ASSERT(m >= 1 && m <= k);
		for (int i = m; i < k; i++) {
			ix[i] = ix[m - 1];
			w[i] = 0;
		}
		for (int i = 0; i < k; i++) {
			if (ix[i] < t->lo)
				t->lo = ix[i];
			if (ix[i] > t->hi)
				t->hi = ix[i];
		}
	}
	return 0;
}

static void taps_free(struct taps *t)
{
	free(t->idx);
	free(t->w);
}

/* row[0..len) = sum over taps of w[i] * (source row idx[i])[0..len). */
static void vpass(float *restrict row, const uint8_t *src, size_t stride,
	const int *idx, const float *w, int k, size_t len)
{
	const uint8_t *restrict s0 = src + (size_t)idx[0] * stride;
	float w0 = w[0];

	if (k == 2) {
		const uint8_t *restrict s1 = src + (size_t)idx[1] * stride;
		float w1 = w[1];

		for (size_t x = 0; x < len; x++)
			row[x] = w0 * (float)s0[x] + w1 * (float)s1[x];
		return;
	}
	for (size_t x = 0; x < len; x++)
		row[x] = w0 * (float)s0[x];
	for (int i = 1; i < k; i++) {
		const uint8_t *restrict s = src + (size_t)idx[i] * stride;
		float wi = w[i];

		if (wi == 0)
			continue;
		for (size_t x = 0; x < len; x++)
			row[x] += wi * (float)s[x];
	}
}

/* dst[j*c + ch] = sum over taps of w * row[(idx - lo)*c + ch]. */
static void hpass(float *restrict dst, const float *restrict row,
	const struct taps *t, int c)
{
	int k = t->k;

	if (c == 3 && k == 2) {
		for (int j = 0; j < t->n; j++) {
			const float *p = row + (size_t)(t->idx[2 * j] - t->lo) * 3;
			const float *q = row + (size_t)(t->idx[2 * j + 1] - t->lo) * 3;
			float w0 = t->w[2 * j], w1 = t->w[2 * j + 1];

			dst[3 * j] = w0 * p[0] + w1 * q[0];
			dst[3 * j + 1] = w0 * p[1] + w1 * q[1];
			dst[3 * j + 2] = w0 * p[2] + w1 * q[2];
		}
		return;
	}
	if (c == 3) {
		for (int j = 0; j < t->n; j++) {
			const int *ix = t->idx + (size_t)j * k;
			const float *w = t->w + (size_t)j * k;
			float a0 = 0, a1 = 0, a2 = 0;

			for (int i = 0; i < k; i++) {
				const float *p = row + (size_t)(ix[i] - t->lo) * 3;

				a0 += w[i] * p[0];
				a1 += w[i] * p[1];
				a2 += w[i] * p[2];
			}
			dst[3 * j] = a0;
			dst[3 * j + 1] = a1;
			dst[3 * j + 2] = a2;
		}
		return;
	}
	for (int j = 0; j < t->n; j++) {
		const int *ix = t->idx + (size_t)j * k;
		const float *w = t->w + (size_t)j * k;

		for (int ch = 0; ch < c; ch++) {
			float acc = 0;

			for (int i = 0; i < k; i++)
				acc += w[i] * row[(size_t)(ix[i] - t->lo) * c + ch];
			dst[(size_t)j * c + ch] = acc;
		}
	}
}

/* feat_resize_u8_to_f32 with the source rectangle in double: a crop's
 * centred corners ((sw - cw) / 2) kept exact, so that a sample centre on
 * a whole pixel stays on it (nearest takes that pixel, not the one
 * before). */
static int resize_u8_f32(const uint8_t *src, int sw, int sh, int c,
	double sx0, double sy0, double sx1, double sy1,
	float *dst, int dw, int dh, int method)
{
	struct taps tx = { 0 }, ty = { 0 };
	float *row = NULL;
	size_t stride, len;
	int e;

	if (!src || !dst || sw < 1 || sh < 1 || sw > SRC_MAX_SIDE ||
	    sh > SRC_MAX_SIDE || c < 1 || c > 4 || dw < 1 || dh < 1 ||
	    dw > PREP_MAX_SIDE || dh > PREP_MAX_SIDE ||
	    method < FEAT_RESIZE_AUTO || method > FEAT_RESIZE_NEAREST ||
	    !isfinite(sx0) || !isfinite(sx1) || !isfinite(sy0) ||
	    !isfinite(sy1) || !(sx1 > sx0) || !(sy1 > sy0))
		return FEAT_E_INVAL;
	if ((e = taps_make(&tx, sx0, sx1, sw, dw, method)) ||
	    (e = taps_make(&ty, sy0, sy1, sh, dh, method)))
		goto out;
	stride = (size_t)sw * c;
	len = (size_t)(tx.hi - tx.lo + 1) * c;
	if (!(row = malloc(len * sizeof *row))) {
		e = FEAT_E_NOMEM;
		goto out;
	}
	for (int y = 0; y < dh; y++) {
		vpass(row, src + (size_t)tx.lo * c, stride,
		      ty.idx + (size_t)y * ty.k, ty.w + (size_t)y * ty.k, ty.k, len);
		hpass(dst + (size_t)y * dw * c, row, &tx, c);
	}
out:
	free(row);
	taps_free(&tx);
	taps_free(&ty);
	return e;
}

int feat_resize_u8_to_f32(const uint8_t *src, int sw, int sh, int c,
	float sx0, float sy0, float sx1, float sy1,
	float *dst, int dw, int dh, int method)
{
	return resize_u8_f32(src, sw, sh, c, sx0, sy0, sx1, sy1, dst, dw, dh, method);
}

/* ------------------------------------------------------------ prepare */

/*
 * Where the image goes: the source rectangle [x0, x1) x [y0, y1) is
 * resized onto the rw x rh region at (ox, oy) of the W x H input; the
 * rest of the input is padding.
 */
struct geom {
	double x0, y0, x1, y1;
	int ox, oy, rw, rh;
};

static void fit_geom(struct geom *g, int sw, int sh, int W, int H, int fit)
{
	g->x0 = g->y0 = 0;
	g->x1 = sw;
	g->y1 = sh;
	g->ox = g->oy = 0;
	g->rw = W;
	g->rh = H;
	if (fit == FEAT_FIT_LETTERBOX) {
		/* compare W/sw with H/sh without division */
		if ((double)W * sh <= (double)H * sw) {
			g->rh = (int)lround((double)sh * W / sw);
		} else {
			g->rw = (int)lround((double)sw * H / sh);
		}
		g->rw = g->rw < 1 ? 1 : g->rw > W ? W : g->rw;
		g->rh = g->rh < 1 ? 1 : g->rh > H ? H : g->rh;
		g->ox = (W - g->rw) / 2;
		g->oy = (H - g->rh) / 2;
	} else if (fit == FEAT_FIT_CROP) {
		if ((double)W * sh >= (double)H * sw) {
			double ch = (double)H * sw / W;   /* source rows kept */

			g->y0 = (sh - ch) / 2;
			g->y1 = g->y0 + ch;
		} else {
			double cw = (double)W * sh / H;

			g->x0 = (sw - cw) / 2;
			g->x1 = g->x0 + cw;
		}
	}
}

/*
 * The one plane of a gray input: y = 0.299 R + 0.587 G + 0.114 B of the
 * resized float values (a gray source counts as R = G = B), then
 * (y - mean[0]) * scale[0]; padding is (pad[0] - mean[0]) * scale[0].
 */
static void gray_plane(float *out, const float *tmp, const struct geom *g,
	int c, int W, int H, const struct feat_prep_opts *o)
{
	float padv = (o->pad[0] - o->mean[0]) * o->scale[0];
	int gi = c == 1 ? 0 : 1, bi = c == 1 ? 0 : 2;

	for (int y = 0; y < H; y++) {
		float *row = out + (size_t)y * W;
		int yy = y - g->oy;

		for (int x = 0; x < W; x++) {
			int xx = x - g->ox;
			const float *p;

			if (yy < 0 || yy >= g->rh || xx < 0 || xx >= g->rw) {
				row[x] = padv;
				continue;
			}
			p = tmp + ((size_t)yy * g->rw + xx) * c;
			row[x] = (0.299f * p[0] + 0.587f * p[gi] + 0.114f * p[bi] -
				  o->mean[0]) * o->scale[0];
		}
	}
}

int feat_prep(struct feat_rec *r, const struct feat_prep_opts *o,
	char *why, size_t whylen)
{
	struct feat_tensor *t;
	const uint8_t *src;
	uint32_t dims[3], xd[1] = { 8 };
	int sw, sh, c, W, H, e, map[3];
	float *tmp = NULL, *in, *xf, a[3], b[3];
	struct geom g;

	if ((e = feat_prep_check(o, why, whylen)))
		return e;
	if (!(t = feat_rec_find(r, "image"))) {
		snprintf(why, whylen, "no 'image' tensor to prepare (imgprep reads imgdecode's output)");
		return FEAT_E_NOTFOUND;
	}
	if (t->dtype != FEAT_DT_U8 || t->ndim != 3) {
		snprintf(why, whylen, "'image' is %s with %d dimensions, expected u8 [H, W, C]",
			 feat_dtype_name(t->dtype) ? feat_dtype_name(t->dtype) : "?",
			 t->ndim);
		return FEAT_E_FORMAT;
	}
	if (t->dims[2] != 1 && t->dims[2] != 3 && t->dims[2] != 4) {
		snprintf(why, whylen, "'image' has %u channels, expected 1, 3 or 4",
			 (unsigned)t->dims[2]);
		return FEAT_E_FORMAT;
	}
	if (!t->dims[0] || !t->dims[1]) {
		snprintf(why, whylen, "'image' is empty (%u x %u pixels)",
			 (unsigned)t->dims[1], (unsigned)t->dims[0]);
		return FEAT_E_FORMAT;
	}
	if (t->dims[0] > SRC_MAX_SIDE || t->dims[1] > SRC_MAX_SIDE) {
		snprintf(why, whylen, "'image' is too large (%u x %u pixels)",
			 (unsigned)t->dims[1], (unsigned)t->dims[0]);
		return FEAT_E_TOOBIG;
	}
	sh = (int)t->dims[0];
	sw = (int)t->dims[1];
	c = (int)t->dims[2];
	src = t->data;   /* stays valid: adding tensors never moves payloads */
	W = o->width;
	H = o->height;

	fit_geom(&g, sw, sh, W, H, o->fit);
	if (!(tmp = malloc((size_t)g.rw * g.rh * c * sizeof *tmp))) {
		e = FEAT_E_NOMEM;
		goto fail;
	}
	e = resize_u8_f32(src, sw, sh, c, g.x0, g.y0, g.x1, g.y1, tmp, g.rw, g.rh,
			  o->resize);
	if (e)
		goto fail;

	dims[0] = o->gray ? 1 : 3;
	dims[1] = (uint32_t)H;
	dims[2] = (uint32_t)W;
	if (!(t = feat_rec_add(r, "input", FEAT_DT_F32, 3, dims, &e)))
		goto fail;
	in = t->data;
	if (o->gray) {
		gray_plane(in, tmp, &g, c, W, H, o);
		goto xform;
	}
	for (int ch = 0; ch < 3; ch++) {
		int s = o->bgr ? 2 - ch : ch;

		map[ch] = c == 1 ? 0 : s;
		a[ch] = o->scale[ch];
		b[ch] = -o->mean[ch] * o->scale[ch];
	}
	for (int ch = 0; ch < 3; ch++) {
		float *plane = in + (size_t)ch * W * H;
		float padv = (o->pad[ch] - o->mean[ch]) * o->scale[ch];

		for (int y = 0; y < H; y++) {
			float *out = plane + (size_t)y * W;
			int yy = y - g.oy;

			if (yy < 0 || yy >= g.rh) {
				for (int x = 0; x < W; x++)
					out[x] = padv;
				continue;
			}
			const float *p = tmp + ((size_t)yy * g.rw) * c + map[ch];

			for (int x = 0; x < g.ox; x++)
				out[x] = padv;
			out += g.ox;
			for (int x = 0; x < g.rw; x++)
				out[x] = p[(size_t)x * c] * a[ch] + b[ch];
			for (int x = g.ox + g.rw; x < W; x++)
				plane[(size_t)y * W + x] = padv;
		}
	}
xform:
	free(tmp);
	tmp = NULL;

	if (!(t = feat_rec_add(r, "xform", FEAT_DT_F32, 1, xd, &e)))
		goto fail;
	xf = t->data;
	xf[0] = (float)sw;
	xf[1] = (float)sh;
	xf[2] = (float)W;
	xf[3] = (float)H;
	xf[4] = (float)(g.rw / (g.x1 - g.x0));
	xf[5] = (float)(g.rh / (g.y1 - g.y0));
	xf[6] = (float)(g.ox - g.x0 * g.rw / (g.x1 - g.x0));
	xf[7] = (float)(g.oy - g.y0 * g.rh / (g.y1 - g.y0));
	if (o->drop_image)
		feat_rec_remove(r, "image");
	return 0;
fail:
	free(tmp);
	if (e == FEAT_E_TOOBIG)
		snprintf(why, whylen, "record has too many tensors to add 'input' and 'xform'");
	else
		snprintf(why, whylen, "%s", feat_strerror(e));
	return e;
}
