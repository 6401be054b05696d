/*
 * test_prep.c - image preparation: feat_resize_u8_to_f32() and feat_prep()
 * against the expected outputs that contrib/mkprepfixtures.py computes
 * independently in numpy (t/data/prep/), the xform of each fit checked
 * against values worked out by hand and against the pixels themselves
 * (a point of the image must land where xform says), and every kind of
 * bad `image` a record can carry.
 *
 * Tolerance: resized values are in pixel units 0..255; float32 against
 * float64 differs by about 1e-5, so a max abs error of 1e-3 is strict.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "nn/model.h"
#include "img/prep.h"
#include "unit.h"

#define TOL 1e-3

static void *load(const char *name, size_t want)
{
	char path[256];
	size_t len = 0;
	unsigned char *p;

	snprintf(path, sizeof path, "prep/%s", name);
	p = unit_slurp(unit_data(path), &len);
	ck_assert_msg(p != NULL, "cannot read t/data/%s (run contrib/mkprepfixtures.py)", path);
	ck_assert_msg(len == want, "%s: %zu bytes, expected %zu", name, len, want);
	return p;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
	double m = 0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);

		if (!(d <= m))   /* NaN counts as a failure */
			m = isnan(d) ? INFINITY : d;
	}
	return m;
}

/* A record holding an h x w x c u8 image. */
static void rec_with_image(struct feat_rec *r, const uint8_t *px, int w, int h, int c)
{
	uint32_t d[3] = { (uint32_t)h, (uint32_t)w, (uint32_t)c };
	struct feat_tensor *t;

	feat_rec_init(r);
	feat_rec_set_key(r, "test");
	t = feat_rec_add(r, "image", FEAT_DT_U8, 3, d, NULL);
	ck_assert_ptr_nonnull(t);
	if (t->nbytes)
		memcpy(t->data, px, t->nbytes);
}

static struct feat_prep_opts plain(int w, int h, int fit)
{
	struct feat_prep_opts o;

	memset(&o, 0, sizeof o);
	o.width = w;
	o.height = h;
	o.fit = fit;
	o.scale[0] = o.scale[1] = o.scale[2] = 1;
	return o;
}

/* ------------------------------------------------- against the fixtures */

START_TEST(resize_fixtures)
{
	FILE *f = fopen(unit_data("prep/resize.txt"), "r");
	char name[64], line[512];
	int n = 0;

	ck_assert_msg(f != NULL, "no t/data/prep/resize.txt");
	while (fgets(line, sizeof line, f)) {
		int sw, sh, c, dw, dh, m;
		float x0, y0, x1, y1;
		uint8_t *src;
		float *want, *got;
		double err;

		ck_assert_int_eq(sscanf(line, "resize %63s %d %d %d %f %f %f %f %d %d %d",
					name, &sw, &sh, &c, &x0, &y0, &x1, &y1, &dw, &dh, &m), 11);
		snprintf(line, sizeof line, "%s.u8", name);
		src = load(line, (size_t)sw * sh * c);
		snprintf(line, sizeof line, "%s.f32", name);
		want = load(line, (size_t)dw * dh * c * 4);
		got = malloc((size_t)dw * dh * c * 4);
		ck_assert_int_eq(feat_resize_u8_to_f32(src, sw, sh, c, x0, y0, x1, y1,
						       got, dw, dh, m), 0);
		err = max_abs_diff(got, want, (size_t)dw * dh * c);
		ck_assert_msg(err <= TOL, "%s: max abs error %g", name, err);
		free(src);
		free(want);
		free(got);
		n++;
	}
	fclose(f);
	ck_assert_int_ge(n, 15);
}
END_TEST

START_TEST(prep_fixtures)
{
	FILE *f = fopen(unit_data("prep/prep.txt"), "r");
	char name[64], line[512];
	int n = 0;

	ck_assert_msg(f != NULL, "no t/data/prep/prep.txt");
	while (fgets(line, sizeof line, f)) {
		struct feat_prep_opts o;
		struct feat_rec r;
		struct feat_tensor *t;
		int sw, sh, c, nc;
		uint8_t *src;
		float *want, *wantx;
		char why[256];
		double err;

		memset(&o, 0, sizeof o);
		ck_assert_int_eq(sscanf(line, "prep %63s %d %d %d %d %d %d %d %f %f %f %f %f %f %f %f %f %d",
					name, &sw, &sh, &c, &o.width, &o.height, &o.fit, &o.bgr,
					&o.mean[0], &o.mean[1], &o.mean[2],
					&o.scale[0], &o.scale[1], &o.scale[2],
					&o.pad[0], &o.pad[1], &o.pad[2], &o.resize), 18);
		if (o.bgr == 2) {   /* the fixtures' mark of the gray order */
			o.bgr = 0;
			o.gray = 1;
		}
		nc = o.gray ? 1 : 3;
		snprintf(line, sizeof line, "%s.u8", name);
		src = load(line, (size_t)sw * sh * c);
		snprintf(line, sizeof line, "%s.input.f32", name);
		want = load(line, (size_t)nc * o.width * o.height * 4);
		snprintf(line, sizeof line, "%s.xform.f32", name);
		wantx = load(line, 8 * 4);

		rec_with_image(&r, src, sw, sh, c);
		ck_assert_msg(feat_prep(&r, &o, why, sizeof why) == 0, "%s: %s", name, why);
		t = feat_rec_find(&r, "input");
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(t->dtype, FEAT_DT_F32);
		ck_assert_int_eq(t->ndim, 3);
		ck_assert_uint_eq(t->dims[0], (unsigned)nc);
		ck_assert_uint_eq(t->dims[1], (unsigned)o.height);
		ck_assert_uint_eq(t->dims[2], (unsigned)o.width);
		err = max_abs_diff(t->data, want, (size_t)nc * o.width * o.height);
		/* scaled outputs: tolerance in pixel units times the scale */
		ck_assert_msg(err <= TOL * fmax(1, fmax(o.scale[0], fmax(o.scale[1], o.scale[2]))),
			      "%s: input max abs error %g", name, err);
		t = feat_rec_find(&r, "xform");
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(t->dtype, FEAT_DT_F32);
		ck_assert_uint_eq(t->dims[0], 8);
		for (int i = 0; i < 8; i++)
			ck_assert_msg(unit_close(((float *)t->data)[i], wantx[i], 1e-6, 1e-5),
				      "%s: xform[%d] = %g, expected %g", name, i,
				      ((float *)t->data)[i], wantx[i]);
		/* the image travels on untouched */
		t = feat_rec_find(&r, "image");
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(memcmp(t->data, src, (size_t)sw * sh * c), 0);
		feat_rec_free(&r);
		free(src);
		free(want);
		free(wantx);
		n++;
	}
	fclose(f);
	ck_assert_int_ge(n, 16);
}
END_TEST

/* ------------------------------------------------ xform, worked by hand */

static void xform_of(int sw, int sh, int W, int H, int fit, float *out)
{
	uint8_t *px = calloc((size_t)sw * sh, 3);
	struct feat_prep_opts o = plain(W, H, fit);
	struct feat_rec r;
	char why[256];

	rec_with_image(&r, px, sw, sh, 3);
	ck_assert_msg(feat_prep(&r, &o, why, sizeof why) == 0, "%s", why);
	memcpy(out, feat_rec_find(&r, "xform")->data, 8 * sizeof *out);
	feat_rec_free(&r);
	free(px);
}

static void xform_is(const float *got, const double *want)
{
	for (int i = 0; i < 8; i++)
		ck_assert_msg(unit_close(got[i], want[i], 1e-6, 1e-5),
			      "xform[%d] = %.7g, expected %.7g", i, got[i], want[i]);
}

START_TEST(xform_by_hand)
{
	float x[8];

	/* stretch 640x480 -> 300x300: sx = 300/640, sy = 300/480 */
	xform_of(640, 480, 300, 300, FEAT_FIT_STRETCH, x);
	xform_is(x, (double[]){ 640, 480, 300, 300, 0.46875, 0.625, 0, 0 });
	/* letterbox 640x480 -> 300x300: scale 300/640, content 300x225 at y 37 */
	xform_of(640, 480, 300, 300, FEAT_FIT_LETTERBOX, x);
	xform_is(x, (double[]){ 640, 480, 300, 300, 0.46875, 0.46875, 0, 37 });
	/* letterbox tall 100x400 -> 224x224: content 56x224 at x 84 */
	xform_of(100, 400, 224, 224, FEAT_FIT_LETTERBOX, x);
	xform_is(x, (double[]){ 100, 400, 224, 224, 0.56, 0.56, 84, 0 });
	/* crop 640x480 -> 300x300: scale 300/480 = 0.625, keep x 80..560 */
	xform_of(640, 480, 300, 300, FEAT_FIT_CROP, x);
	xform_is(x, (double[]){ 640, 480, 300, 300, 0.625, 0.625, -50, 0 });
	/* crop tall 200x500 -> 100x50: scale 0.5, keep the 100 rows 200..300 */
	xform_of(200, 500, 100, 50, FEAT_FIT_CROP, x);
	xform_is(x, (double[]){ 200, 500, 100, 50, 0.5, 0.5, 0, -100 });
}
END_TEST

/*
 * A point of the image lands where xform says, for every fit: on an image
 * whose red is 2x + 10 and green 3y + 10 at pixel centres, bilinear
 * resizing reproduces the linear ramp, so the input sample at x_in has
 * red 2 * (x_img - 0.5) + 10 with x_img = (x_in - tx) / sx (and so on for
 * y), wherever the sample falls inside the image, away from the edge.
 */
static void check_mapping(int sw, int sh, int W, int H, int fit)
{
	uint8_t *px = malloc((size_t)sw * sh * 3);
	struct feat_prep_opts o = plain(W, H, fit);
	struct feat_rec r;
	const float *in, *xf;
	char why[256];
	int checked = 0;

	for (int y = 0; y < sh; y++)
		for (int x = 0; x < sw; x++) {
			px[((size_t)y * sw + x) * 3] = (uint8_t)(2 * x + 10);
			px[((size_t)y * sw + x) * 3 + 1] = (uint8_t)(3 * y + 10);
			px[((size_t)y * sw + x) * 3 + 2] = 77;
		}
	o.resize = FEAT_RESIZE_BILINEAR;
	rec_with_image(&r, px, sw, sh, 3);
	ck_assert_msg(feat_prep(&r, &o, why, sizeof why) == 0, "%s", why);
	in = feat_rec_find(&r, "input")->data;
	xf = feat_rec_find(&r, "xform")->data;
	for (int j = 0; j < H; j++)
		for (int i = 0; i < W; i++) {
			double xi = (i + 0.5 - xf[6]) / xf[4];
			double yi = (j + 0.5 - xf[7]) / xf[5];

			if (xi < 0.5 || xi > sw - 0.5 || yi < 0.5 || yi > sh - 0.5)
				continue;
			ck_assert_msg(unit_close(in[(size_t)j * W + i], 2 * (xi - 0.5) + 10, 0, 2e-3),
				      "%dx%d->%dx%d fit %d: red at (%d,%d) is %g, expected %g",
				      sw, sh, W, H, fit, i, j, in[(size_t)j * W + i],
				      2 * (xi - 0.5) + 10);
			ck_assert_msg(unit_close(in[(size_t)W * H + (size_t)j * W + i],
						 3 * (yi - 0.5) + 10, 0, 2e-3),
				      "%dx%d->%dx%d fit %d: green at (%d,%d)", sw, sh, W, H,
				      fit, i, j);
			checked++;
		}
	/* the whole image extent maps onto the input region it fills */
	if (fit == FEAT_FIT_STRETCH) {
		ck_assert(unit_close(xf[4] * sw + xf[6], W, 0, 1e-4));
		ck_assert(unit_close(xf[5] * sh + xf[7], H, 0, 1e-4));
	} else if (fit == FEAT_FIT_CROP) {
		/* the kept part is centred: equal overhang on both sides */
		ck_assert(unit_close(xf[6], W - (xf[4] * sw + xf[6]), 0, 1e-3));
		ck_assert(unit_close(xf[7], H - (xf[5] * sh + xf[7]), 0, 1e-3));
		ck_assert(xf[6] <= 1e-4 && xf[7] <= 1e-4);
	} else {
		ck_assert(xf[6] >= 0 && xf[7] >= 0);
		ck_assert(xf[4] * sw + xf[6] <= W + 1e-3);
		ck_assert(xf[5] * sh + xf[7] <= H + 1e-3);
		/* aspect kept: the content is the image scaled by
		 * min(W/sw, H/sh), each side rounded to whole pixels */
		double k = fmin((double)W / sw, (double)H / sh);

		ck_assert(fabs(xf[4] * sw - k * sw) <= 0.5 + 1e-3);
		ck_assert(fabs(xf[5] * sh - k * sh) <= 0.5 + 1e-3);
		ck_assert(fabs(xf[4] * sw - W) < 1e-3 || fabs(xf[5] * sh - H) < 1e-3);
	}
	ck_assert_int_gt(checked, W * H / 4);
	feat_rec_free(&r);
	free(px);
}

START_TEST(xform_maps_points)
{
	static const int sizes[][4] = {
		{ 100, 60, 30, 30 }, { 60, 80, 40, 25 }, { 40, 50, 97, 61 },
		{ 81, 63, 81, 63 }, { 120, 30, 50, 50 },
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		for (int fit = FEAT_FIT_STRETCH; fit <= FEAT_FIT_CROP; fit++)
			check_mapping(sizes[i][0], sizes[i][1], sizes[i][2],
				      sizes[i][3], fit);
}
END_TEST

/* -------------------------------------------------- options and errors */

START_TEST(presets)
{
	struct feat_prep_opts o;

	memset(&o, 0, sizeof o);
	ck_assert_int_eq(feat_prep_preset(&o, "ssd300"), 0);
	ck_assert_int_eq(o.width, 300);
	ck_assert_int_eq(o.height, 300);
	ck_assert_int_eq(o.fit, FEAT_FIT_STRETCH);
	ck_assert_int_eq(o.bgr, 1);
	ck_assert(o.mean[0] == 104 && o.mean[1] == 117 && o.mean[2] == 123);
	ck_assert(o.scale[0] == 1 && o.scale[1] == 1 && o.scale[2] == 1);
	ck_assert_int_eq(feat_prep_preset(&o, "vgg224"), 0);
	ck_assert_int_eq(o.width, 224);
	ck_assert_int_eq(o.height, 224);
	ck_assert_int_eq(o.bgr, 1);
	ck_assert(o.mean[0] == 104 && o.mean[1] == 117 && o.mean[2] == 123);
	ck_assert_int_eq(feat_prep_preset(&o, "yolo"), FEAT_E_NOTFOUND);
	ck_assert_int_eq(o.width, 224);   /* untouched on failure */
	/* the shipped models' names are not built-in presets */
	ck_assert_int_eq(feat_prep_preset(&o, "ssd"), FEAT_E_NOTFOUND);
	ck_assert_int_eq(feat_prep_preset(&o, "deepbit"), FEAT_E_NOTFOUND);
}
END_TEST

/* A model holding only the metadata given (no layers: feat_prep_from_model
 * reads nothing else, and feat_model_parse checks the graph keys). */
struct meta { const char *key; struct feat_value v; };

static void model_with(struct feat_model *m, unsigned char **buf,
	const struct meta *kv, int n)
{
	feat_model_builder *b = feat_model_builder_new();
	static const char *const in[] = { "data" }, *const out[] = { "out" };
	size_t len;
	char why[256];

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(feat_mb_meta(b, "graph.inputs", &(struct feat_value){
		.type = FEAT_V_STRS, .n = 1, .u.strs = in }), 0);
	ck_assert_int_eq(feat_mb_meta(b, "graph.outputs", &(struct feat_value){
		.type = FEAT_V_STRS, .n = 1, .u.strs = out }), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(feat_mb_meta(b, kv[i].key, &kv[i].v), 0);
	ck_assert_int_eq(feat_mb_layer(b, "sigmoid", "out", 1, in, 1, out, 0, NULL, 0, NULL), 0);
	ck_assert_int_eq(feat_mb_encode(b, buf, &len), 0);
	feat_model_builder_free(b);
	ck_assert_msg(feat_model_parse(m, *buf, len, why, sizeof why) == 0, "%s", why);
}

#define MSTR(text) { .type = FEAT_V_STR, .n = 1, .u.s = (text) }
#define MINTS(a, k) { .type = FEAT_V_INTS, .n = (k), .u.ints = (a) }
#define MFLOATS(a, k) { .type = FEAT_V_FLOATS, .n = (k), .u.floats = (a) }
#define MFLOAT(x) { .type = FEAT_V_FLOAT, .n = 1, .u.f = (x) }
#define MINT(x) { .type = FEAT_V_INT, .n = 1, .u.i = (x) }

static int from(const struct meta *kv, int n, unsigned given,
	struct feat_prep_opts *o, char *why, size_t whylen)
{
	struct feat_model m;
	unsigned char *buf = NULL;
	int e;

	model_with(&m, &buf, kv, n);
	e = feat_prep_from_model(o, given, &m, why, whylen);
	feat_model_free(&m);
	free(buf);
	return e;
}

START_TEST(from_model)
{
	static const int64_t shp[] = { 3, 20, 30 }, gshp[] = { 1, 7, 5 }, bad[] = { 3, 0, 4 };
	static const double shpf[] = { 3, 20, 30 }, mean[] = { 1.5, 2.5, 3.5 },
			    sc[] = { 0.25, 0.5, 2 }, two[] = { 1, 2 };
	struct meta all[] = {
		{ "input.shape", MINTS(shp, 3) }, { "input.order", MSTR("bgr") },
		{ "input.mean", MFLOATS(mean, 3) }, { "input.scale", MFLOATS(sc, 3) },
		{ "input.fit", MSTR("letterbox") },
	};
	struct feat_prep_opts o;
	char why[256];

	memset(&o, 0, sizeof o);
	o.resize = FEAT_RESIZE_AREA;
	ck_assert_msg(from(all, 5, 0, &o, why, sizeof why) == 0, "%s", why);
	ck_assert_int_eq(o.width, 30);
	ck_assert_int_eq(o.height, 20);
	ck_assert_int_eq(o.bgr, 1);
	ck_assert_int_eq(o.gray, 0);
	ck_assert_int_eq(o.fit, FEAT_FIT_LETTERBOX);
	ck_assert(o.mean[0] == 1.5f && o.mean[1] == 2.5f && o.mean[2] == 3.5f);
	ck_assert(o.scale[0] == 0.25f && o.scale[1] == 0.5f && o.scale[2] == 2);
	ck_assert_int_eq(o.resize, FEAT_RESIZE_AREA);   /* not the model's business */

	/* numbers as floats (the Caffe importer), one value for all channels */
	{
		struct meta kv[] = {
			{ "input.shape", MFLOATS(shpf, 3) }, { "input.order", MSTR("rgb") },
			{ "input.mean", MINT(7) }, { "input.scale", MFLOAT(0.5) },
			{ "input.fit", MSTR("crop") },
		};

		memset(&o, 0, sizeof o);
		ck_assert_msg(from(kv, 5, 0, &o, why, sizeof why) == 0, "%s", why);
		ck_assert_int_eq(o.width, 30);
		ck_assert_int_eq(o.bgr, 0);
		ck_assert_int_eq(o.fit, FEAT_FIT_CROP);
		ck_assert(o.mean[0] == 7 && o.mean[2] == 7 && o.scale[1] == 0.5f);
	}
	/* gray: one channel */
	{
		struct meta kv[] = {
			{ "input.shape", MINTS(gshp, 3) }, { "input.order", MSTR("gray") },
			{ "input.mean", MFLOATS(mean, 1) }, { "input.scale", MINT(2) },
			{ "input.fit", MSTR("stretch") },
		};

		memset(&o, 0, sizeof o);
		ck_assert_msg(from(kv, 5, 0, &o, why, sizeof why) == 0, "%s", why);
		ck_assert_int_eq(o.gray, 1);
		ck_assert_int_eq(o.width, 5);
		ck_assert_int_eq(o.height, 7);
		ck_assert(o.mean[0] == 1.5f && o.scale[0] == 2);
		/* a gray model with three means is wrong */
		kv[2] = (struct meta){ "input.mean", MFLOATS(mean, 3) };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
		ck_assert_str_eq(why, "model metadata 'input.mean' is not one number");
		/* ...and three channels in the shape too */
		kv[0] = (struct meta){ "input.shape", MINTS(shp, 3) };
		kv[2] = (struct meta){ "input.mean", MINT(0) };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
		ck_assert_str_eq(why, "model metadata 'input.shape' has 3 channels but 'input.order' is gray (1 channel)");
	}
	/* each missing key is named; given fields need no key */
	{
		static const char *const keys[] = { "input.shape", "input.order", "input.mean",
						    "input.scale", "input.fit" };
		static const unsigned masks[] = { FEAT_PREP_SET_SIZE | FEAT_PREP_SET_ORDER,
						  FEAT_PREP_SET_ORDER, FEAT_PREP_SET_MEAN,
						  FEAT_PREP_SET_SCALE, FEAT_PREP_SET_FIT };

		for (int i = 0; i < 5; i++) {
			struct meta kv[4];
			int k = 0;

			for (int j = 0; j < 5; j++)
				if (j != i)
					kv[k++] = all[j];
			memset(&o, 0, sizeof o);
			ck_assert_int_eq(from(kv, 4, 0, &o, why, sizeof why), FEAT_E_NOTFOUND);
			ck_assert_msg(strstr(why, keys[i]) && strstr(why, "model has no metadata"),
				      "%s: %s", keys[i], why);
			memset(&o, 0, sizeof o);
			o.width = o.height = 9;
			ck_assert_msg(from(kv, 4, masks[i], &o, why, sizeof why) == 0,
				      "%s given: %s", keys[i], why);
			ck_assert_int_eq(o.width, i == 0 ? 9 : 30);
		}
	}
	/* wrong types and values */
	{
		struct meta kv[5];

		memcpy(kv, all, sizeof kv);
		kv[1] = (struct meta){ "input.order", MSTR("yuv") };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
		ck_assert_str_eq(why, "model metadata 'input.order' is not rgb, bgr or gray");
		memcpy(kv, all, sizeof kv);
		kv[0] = (struct meta){ "input.shape", MINTS(bad, 3) };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
		kv[0] = (struct meta){ "input.shape", MINTS(shp, 2) };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
		kv[0] = (struct meta){ "input.shape", MSTR("3,20,30") };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
		memcpy(kv, all, sizeof kv);
		kv[2] = (struct meta){ "input.mean", MFLOATS(two, 2) };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
		kv[2] = (struct meta){ "input.mean", MSTR("104") };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
		memcpy(kv, all, sizeof kv);
		kv[4] = (struct meta){ "input.fit", MSTR("pad") };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
		kv[4] = (struct meta){ "input.fit", MINT(1) };
		ck_assert_int_eq(from(kv, 5, 0, &o, why, sizeof why), FEAT_E_FORMAT);
	}
}
END_TEST

START_TEST(bad_options)
{
	struct feat_prep_opts o = plain(0, 10, FEAT_FIT_STRETCH);
	char why[256];

	ck_assert_int_lt(feat_prep_check(&o, why, sizeof why), 0);
	ck_assert_ptr_nonnull(strstr(why, "size"));
	o = plain(10, 10, 7);
	ck_assert_int_lt(feat_prep_check(&o, why, sizeof why), 0);
	o = plain(10, 10, FEAT_FIT_STRETCH);
	o.resize = 9;
	ck_assert_int_lt(feat_prep_check(&o, why, sizeof why), 0);
	o = plain(10, 10, FEAT_FIT_STRETCH);
	o.mean[1] = NAN;
	ck_assert_int_lt(feat_prep_check(&o, why, sizeof why), 0);
	o = plain(10, 10, FEAT_FIT_STRETCH);
	ck_assert_int_eq(feat_prep_check(&o, why, sizeof why), 0);
}
END_TEST

/* Each bad record gives an error naming the problem and keeps its tensors. */
static void expect_bad(struct feat_rec *r, const char *needle)
{
	struct feat_prep_opts o = plain(8, 8, FEAT_FIT_STRETCH);
	int n = r->ntensors;
	char why[256] = "";

	ck_assert_int_lt(feat_prep(r, &o, why, sizeof why), 0);
	ck_assert_int_ne(feat_prep(r, &o, why, sizeof why), FEAT_E_NOMEM);
	ck_assert_msg(strstr(why, needle) != NULL, "reason '%s' lacks '%s'", why, needle);
	ck_assert_ptr_null(strchr(why, '\n'));
	ck_assert_int_eq(r->ntensors, n);
	ck_assert_ptr_null(feat_rec_find(r, "input"));
	feat_rec_free(r);
}

START_TEST(bad_images)
{
	struct feat_rec r;
	uint32_t d[3];
	uint8_t px[64] = { 0 };

	feat_rec_init(&r);
	expect_bad(&r, "no 'image'");

	feat_rec_init(&r);
	d[0] = 2, d[1] = 2, d[2] = 3;
	ck_assert_ptr_nonnull(feat_rec_add(&r, "image", FEAT_DT_F32, 3, d, NULL));
	expect_bad(&r, "f32");

	feat_rec_init(&r);
	d[0] = 4, d[1] = 4;
	ck_assert_ptr_nonnull(feat_rec_add(&r, "image", FEAT_DT_U8, 2, d, NULL));
	expect_bad(&r, "2 dimensions");

	rec_with_image(&r, px, 2, 2, 2);
	expect_bad(&r, "2 channels");
	rec_with_image(&r, px, 2, 2, 5);
	expect_bad(&r, "5 channels");
	rec_with_image(&r, px, 0, 3, 3);
	expect_bad(&r, "empty");
	rec_with_image(&r, px, 3, 0, 3);
	expect_bad(&r, "empty");
}
END_TEST

START_TEST(drop_and_replace)
{
	uint8_t px[4 * 4 * 3];
	struct feat_prep_opts o = plain(2, 2, FEAT_FIT_STRETCH);
	struct feat_rec r;
	struct feat_tensor *t;
	char why[256];

	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 5);
	rec_with_image(&r, px, 4, 4, 3);
	o.resize = FEAT_RESIZE_NEAREST;
	ck_assert_int_eq(feat_prep(&r, &o, why, sizeof why), 0);
	/* a second preparation replaces input and xform, never duplicates */
	o = plain(3, 1, FEAT_FIT_STRETCH);
	o.drop_image = 1;
	ck_assert_int_eq(feat_prep(&r, &o, why, sizeof why), 0);
	ck_assert_int_eq(r.ntensors, 2);
	ck_assert_ptr_null(feat_rec_find(&r, "image"));
	t = feat_rec_find(&r, "input");
	ck_assert_uint_eq(t->dims[1], 1);
	ck_assert_uint_eq(t->dims[2], 3);
	ck_assert_float_eq(((float *)feat_rec_find(&r, "xform")->data)[2], 3);
	feat_rec_free(&r);
}
END_TEST

/* A sample centre on a whole pixel takes that pixel (imgprep(1): P[floor
 * c]): a 2x1 photo (10 | 200) cropped to the aspect of 1 wide, 3 high
 * keeps the centred third of its width, [2/3, 4/3), whose centre is 1.0:
 * pixel 1, 200 (it was 10: the corners rounded to float put the centre
 * just below 1). */
START_TEST(nearest_on_a_whole_pixel)
{
	static const uint8_t px[6] = { 10, 10, 10, 200, 200, 200 };
	struct feat_prep_opts o = plain(1, 3, FEAT_FIT_CROP);
	struct feat_rec r;
	char why[256];
	const float *in;

	o.resize = FEAT_RESIZE_NEAREST;
	rec_with_image(&r, px, 2, 1, 3);
	ck_assert_int_eq(feat_prep(&r, &o, why, sizeof why), 0);
	in = feat_rec_find(&r, "input")->data;
	for (int i = 0; i < 9; i++)   /* 3 channels of 3 rows, mean 0, scale 1 */
		ck_assert_msg(in[i] == 200.0f - o.mean[i / 3], "input[%d] = %g", i, in[i]);
	feat_rec_free(&r);
}
END_TEST

START_TEST(resize_exact_cases)
{
	/* 4x2 gray; 2x1 area output is the mean of each 2x2 block */
	static const uint8_t px[8] = { 0, 10, 20, 30, 40, 50, 60, 70 };
	float out[8];

	ck_assert_int_eq(feat_resize_u8_to_f32(px, 4, 2, 1, 0, 0, 4, 2, out, 2, 1,
					       FEAT_RESIZE_AREA), 0);
	ck_assert_float_eq_tol(out[0], 25, 1e-4);
	ck_assert_float_eq_tol(out[1], 45, 1e-4);
	/* bilinear 4 -> 2: centres at 0.5 + 2j - 0.5 = 1, 3 ... in half-pixel
	 * terms sample x = 1.0 - 0.5 + 0.5 = between pixels 0,1 and 2,3 */
	ck_assert_int_eq(feat_resize_u8_to_f32(px, 4, 2, 1, 0, 0, 4, 2, out, 2, 1,
					       FEAT_RESIZE_BILINEAR), 0);
	ck_assert_float_eq_tol(out[0], 25, 1e-4);
	ck_assert_float_eq_tol(out[1], 45, 1e-4);
	/* same size is the identity for every method */
	for (int m = FEAT_RESIZE_AUTO; m <= FEAT_RESIZE_NEAREST; m++) {
		ck_assert_int_eq(feat_resize_u8_to_f32(px, 4, 2, 1, 0, 0, 4, 2, out, 4, 2, m), 0);
		for (int i = 0; i < 8; i++)
			ck_assert_float_eq_tol(out[i], px[i], 1e-4);
	}
	/* bad arguments */
	ck_assert_int_eq(feat_resize_u8_to_f32(px, 0, 2, 1, 0, 0, 4, 2, out, 2, 1, 0), FEAT_E_INVAL);
	ck_assert_int_eq(feat_resize_u8_to_f32(px, 4, 2, 5, 0, 0, 4, 2, out, 2, 1, 0), FEAT_E_INVAL);
	ck_assert_int_eq(feat_resize_u8_to_f32(px, 4, 2, 1, 3, 0, 3, 2, out, 2, 1, 0), FEAT_E_INVAL);
	ck_assert_int_eq(feat_resize_u8_to_f32(px, 4, 2, 1, 0, 0, 4, 2, out, 0, 1, 0), FEAT_E_INVAL);
	ck_assert_int_eq(feat_resize_u8_to_f32(px, 4, 2, 1, 0, 0, NAN, 2, out, 2, 1, 0), FEAT_E_INVAL);
	ck_assert_int_eq(feat_resize_u8_to_f32(px, 4, 2, 1, 0, 0, 4, 2, out, 2, 1, 4), FEAT_E_INVAL);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("prep");
	TCase *tc = tcase_create("prep");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, resize_fixtures);
	tcase_add_test(tc, prep_fixtures);
	tcase_add_test(tc, xform_by_hand);
	tcase_add_test(tc, xform_maps_points);
	tcase_add_test(tc, presets);
	tcase_add_test(tc, from_model);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, bad_images);
	tcase_add_test(tc, drop_and_replace);
	tcase_add_test(tc, resize_exact_cases);
	tcase_add_test(tc, nearest_on_a_whole_pixel);
	suite_add_tcase(s, tc);
	return s;
}
