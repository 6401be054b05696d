/*
 * test_decode.c - feat_image_decode() and its helpers against the files
 * that contrib/mktestimages.py made with PIL and numpy (t/data/decode/):
 * pixels of every JPEG and PNG flavour, EXIF orientation, DCT scaling,
 * the pixel and byte limits, and every kind of broken input with the
 * reason it must give.
 *
 * Tolerance: the expected JPEG pixels are PIL's decode of the same file.
 * Two libjpeg builds may round the IDCT and upsampling differently, so a
 * JPEG passes with every sample within 3 levels and a mean difference
 * under 0.5; PNG and the orientation copy of an identical decode must be
 * exact.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feat.h"
#include "unit.h"

#define JPEG_TOL 3

static unsigned char *load(const char *name, size_t *len)
{
	char p[64];
	unsigned char *d;

	snprintf(p, sizeof p, "decode/%s", name);
	d = unit_slurp(unit_data(p), len);
	ck_assert_msg(d != NULL, "cannot read %s (run contrib/mktestimages.py?)", p);
	return d;
}

/* Decode a test file; returns the error code, fills why. */
static int decode_file(const char *name, const struct feat_decode_opts *o,
	struct feat_rec *r, struct feat_decode_info *info, char *why, size_t whylen)
{
	size_t len;
	unsigned char *d = load(name, &len);
	int e = feat_image_decode(d, len, o, r, info, why, whylen);

	free(d);
	return e;
}

/* Check `image` (H x W x 3) and `origsize` and compare the pixels with a
 * fixture within tol (max) and a mean under 0.5. */
static void check_image(struct feat_rec *r, int w, int h, int ow, int oh,
	const char *fixture, int tol, const char *what)
{
	struct feat_tensor *t = feat_rec_find(r, "image");
	struct feat_tensor *s = feat_rec_find(r, "origsize");
	const uint8_t *px;
	unsigned char *want;
	size_t wl, maxd = 0;
	double sum = 0;

	ck_assert_msg(t != NULL, "%s: no image tensor", what);
	ck_assert_int_eq(t->dtype, FEAT_DT_U8);
	ck_assert_int_eq(t->ndim, 3);
	ck_assert_msg(t->dims[0] == (uint32_t)h && t->dims[1] == (uint32_t)w &&
		      t->dims[2] == 3, "%s: image is [%u %u %u], want [%d %d 3]",
		      what, t->dims[0], t->dims[1], t->dims[2], h, w);
	ck_assert_msg(s != NULL, "%s: no origsize tensor", what);
	ck_assert_int_eq(s->dtype, FEAT_DT_I32);
	ck_assert_int_eq(s->ndim, 1);
	ck_assert_uint_eq(s->dims[0], 2);
	ck_assert_msg(((int32_t *)s->data)[0] == ow && ((int32_t *)s->data)[1] == oh,
		      "%s: origsize %d %d, want %d %d", what, ((int32_t *)s->data)[0],
		      ((int32_t *)s->data)[1], ow, oh);
	if (!fixture)
		return;
	want = load(fixture, &wl);
	ck_assert_msg(wl == t->nbytes, "%s: fixture %s has %zu bytes, image %zu", what,
		      fixture, wl, t->nbytes);
	px = t->data;
	for (size_t i = 0; i < wl; i++) {
		size_t d = px[i] > want[i] ? px[i] - want[i] : want[i] - px[i];

		if (d > maxd)
			maxd = d;
		sum += (double)d;
	}
	free(want);
	ck_assert_msg(maxd <= (size_t)tol && sum / (double)wl < 0.5 + tol * 0.0,
		      "%s: differs from %s: max %zu (tolerance %d), mean %.3f", what, fixture,
		      maxd, tol, sum / (double)wl);
}

/* ------------------------------------------------------------ formats */

static const struct {
	const char *file, *fixture;
	int w, h, tol, format;
} good[] = {
	{ "baseline.jpg", "baseline.rgb", 48, 32, JPEG_TOL, FEAT_IMG_JPEG },
	{ "progressive.jpg", "progressive.rgb", 48, 32, JPEG_TOL, FEAT_IMG_JPEG },
	{ "gray.jpg", "gray.rgb", 48, 32, JPEG_TOL, FEAT_IMG_JPEG },
	{ "cmyk.jpg", "cmyk.rgb", 48, 32, JPEG_TOL, FEAT_IMG_JPEG },
	{ "rgb.png", "rgb.rgb", 48, 32, 0, FEAT_IMG_PNG },
	{ "gray.png", "gray-png.rgb", 48, 32, 0, FEAT_IMG_PNG },
	{ "palette.png", "palette.rgb", 48, 32, 0, FEAT_IMG_PNG },
	{ "palette-trns.png", "palette-trns.rgb", 48, 32, 0, FEAT_IMG_PNG },
	{ "gray16.png", "gray16.rgb", 48, 32, 0, FEAT_IMG_PNG },
	{ "rgb16.png", "rgb16.rgb", 48, 32, 0, FEAT_IMG_PNG },
	{ "rgba.png", "rgba.rgb", 48, 32, 0, FEAT_IMG_PNG },
	{ "graya.png", "graya.rgb", 48, 32, 0, FEAT_IMG_PNG },
	{ "rgb-trns.png", "rgb-trns.rgb", 48, 32, 0, FEAT_IMG_PNG },
	{ "interlaced.png", "interlaced.rgb", 45, 29, 0, FEAT_IMG_PNG },
	{ "interlaced-rgba.png", "interlaced-rgba.rgb", 45, 29, 0, FEAT_IMG_PNG },
};

START_TEST(test_formats)
{
	struct feat_rec r;
	struct feat_decode_info info;
	char why[256];
	int e;

	feat_rec_init(&r);
	feat_rec_set_key(&r, good[_i].file);
	e = decode_file(good[_i].file, NULL, &r, &info, why, sizeof why);
	ck_assert_msg(e == 0, "%s: %s", good[_i].file, why);
	ck_assert_int_eq(r.status, FEAT_ST_OK);
	ck_assert_int_eq(info.format, good[_i].format);
	ck_assert_int_eq(info.width, good[_i].w);
	ck_assert_int_eq(info.height, good[_i].h);
	ck_assert_int_eq(info.out_width, good[_i].w);
	ck_assert_int_eq(info.out_height, good[_i].h);
	ck_assert_int_eq(info.orientation, 1);
	ck_assert_int_eq(info.warnings, 0);
	check_image(&r, good[_i].w, good[_i].h, good[_i].w, good[_i].h, good[_i].fixture,
		    good[_i].tol, good[_i].file);
	feat_rec_free(&r);
}
END_TEST

START_TEST(test_sniff)
{
	ck_assert_int_eq(feat_image_sniff((const unsigned char *)"\xff\xd8\xff\xe0", 4),
			 FEAT_IMG_JPEG);
	ck_assert_int_eq(feat_image_sniff((const unsigned char *)"\x89PNG\r\n\x1a\n", 8),
			 FEAT_IMG_PNG);
	/* a cut-off signature still names the format, so "truncated" follows */
	ck_assert_int_eq(feat_image_sniff((const unsigned char *)"\xff\xd8", 2), FEAT_IMG_JPEG);
	ck_assert_int_eq(feat_image_sniff((const unsigned char *)"\x89PNG", 4), FEAT_IMG_PNG);
	ck_assert_int_eq(feat_image_sniff((const unsigned char *)"\xff", 1), FEAT_IMG_UNKNOWN);
	ck_assert_int_eq(feat_image_sniff((const unsigned char *)"\x89PNX\r\n\x1a\n", 8),
			 FEAT_IMG_UNKNOWN);
	ck_assert_int_eq(feat_image_sniff((const unsigned char *)"GIF89a", 6), FEAT_IMG_UNKNOWN);
	ck_assert_int_eq(feat_image_sniff(NULL, 0), FEAT_IMG_UNKNOWN);
}
END_TEST

START_TEST(test_background)
{
	struct feat_decode_opts o = { .bg_set = 1, .background = { 0, 128, 255 } };
	struct feat_rec r;
	char why[256];

	feat_rec_init(&r);
	ck_assert_int_eq(decode_file("rgba.png", &o, &r, NULL, why, sizeof why), 0);
	check_image(&r, 48, 32, 48, 32, "rgba-bg.rgb", 0, "rgba.png over 0,128,255");
	/* background does not touch opaque images */
	ck_assert_int_eq(decode_file("rgb.png", &o, &r, NULL, why, sizeof why), 0);
	check_image(&r, 48, 32, 48, 32, "rgb.rgb", 0, "rgb.png with a background");
	feat_rec_free(&r);
}
END_TEST

/* --fast: integer IDCT and plain upsampling.  Not exact, but close. */
START_TEST(test_fast)
{
	struct feat_decode_opts o = { .fast = 1 };
	struct feat_rec r;
	char why[256];
	unsigned char *want;
	size_t wl;
	struct feat_tensor *t;
	double sum = 0;

	feat_rec_init(&r);
	ck_assert_int_eq(decode_file("baseline.jpg", &o, &r, NULL, why, sizeof why), 0);
	check_image(&r, 48, 32, 48, 32, NULL, 0, "fast");
	t = feat_rec_find(&r, "image");
	want = load("baseline.rgb", &wl);
	ck_assert_uint_eq(wl, t->nbytes);
	for (size_t i = 0; i < wl; i++)
		sum += abs((int)((uint8_t *)t->data)[i] - (int)want[i]);
	ck_assert_msg(sum / (double)wl < 4.0, "fast decode mean error %.2f", sum / (double)wl);
	free(want);
	feat_rec_free(&r);
}
END_TEST

/* ---------------------------------------------------------- orientation */

START_TEST(test_orientation)
{
	int o = _i + 1, rot = o >= 5;
	struct feat_rec r;
	struct feat_decode_info info;
	char name[32], fix[32], why[256];

	snprintf(name, sizeof name, "orient%d.jpg", o);
	snprintf(fix, sizeof fix, "orient%d.rgb", o);
	feat_rec_init(&r);
	ck_assert_int_eq(decode_file(name, NULL, &r, &info, why, sizeof why), 0);
	ck_assert_int_eq(info.orientation, o);
	ck_assert_int_eq(info.width, rot ? 32 : 48);
	ck_assert_int_eq(info.height, rot ? 48 : 32);
	check_image(&r, rot ? 32 : 48, rot ? 48 : 32, rot ? 32 : 48, rot ? 48 : 32, fix,
		    JPEG_TOL, name);
	/* --no-orient: the stored picture, unrotated */
	{
		struct feat_decode_opts no = { .no_orient = 1 };

		ck_assert_int_eq(decode_file(name, &no, &r, &info, why, sizeof why), 0);
		ck_assert_int_eq(info.orientation, 1);
		check_image(&r, 48, 32, 48, 32, "orient1.rgb", JPEG_TOL, name);
	}
	feat_rec_free(&r);
}
END_TEST

START_TEST(test_orientation_bigendian)
{
	struct feat_rec r;
	struct feat_decode_info info;
	char why[256];

	feat_rec_init(&r);
	ck_assert_int_eq(decode_file("orient6-mm.jpg", NULL, &r, &info, why, sizeof why), 0);
	ck_assert_int_eq(info.orientation, 6);
	check_image(&r, 32, 48, 32, 48, "orient6.rgb", JPEG_TOL, "orient6-mm.jpg");
	ck_assert_int_eq(decode_file("orient8-mm.jpg", NULL, &r, &info, why, sizeof why), 0);
	ck_assert_int_eq(info.orientation, 8);
	check_image(&r, 32, 48, 32, 48, "orient8.rgb", JPEG_TOL, "orient8-mm.jpg");
	/* PNG eXIf chunk */
	ck_assert_int_eq(decode_file("exif6.png", NULL, &r, &info, why, sizeof why), 0);
	ck_assert_int_eq(info.orientation, 6);
	check_image(&r, 32, 48, 32, 48, "exif6.rgb", 0, "exif6.png");
	feat_rec_free(&r);
}
END_TEST

START_TEST(test_exif_bogus_files)
{
	static const char *const f[] = { "exif-bogus-offset.jpg", "exif-bogus-count.jpg" };
	struct feat_rec r;
	struct feat_decode_info info;
	char why[256];

	feat_rec_init(&r);
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(decode_file(f[i], NULL, &r, &info, why, sizeof why) == 0, "%s: %s",
			      f[i], why);
		ck_assert_int_eq(info.orientation, 1);
		check_image(&r, 48, 32, 48, 32, "orient1.rgb", JPEG_TOL, f[i]);
	}
	feat_rec_free(&r);
}
END_TEST

/* A TIFF with IFD0 = { tag 0x0100 (ignored), Orientation }. */
static size_t make_tiff(unsigned char *b, int big, int type, uint32_t val)
{
	size_t n = 0;
#define P16(v) do { unsigned v_ = (v); if (big) { b[n++] = v_ >> 8; b[n++] = v_ & 255; } \
		else { b[n++] = v_ & 255; b[n++] = v_ >> 8; } } while (0)
#define P32(v) do { uint32_t w_ = (v); if (big) { P16(w_ >> 16); P16(w_ & 0xffff); } \
		else { P16(w_ & 0xffff); P16(w_ >> 16); } } while (0)
	b[n++] = big ? 'M' : 'I';
	b[n++] = big ? 'M' : 'I';
	P16(42);
	P32(8);
	P16(2);
	P16(0x0100); P16(3); P32(1); P16(640); P16(0);
	P16(0x0112); P16(type); P32(1);
	if (type == 3) {
		P16(val);
		P16(0);
	} else {
		P32(val);
	}
	P32(0);
#undef P16
#undef P32
	return n;
}

START_TEST(test_exif_parser)
{
	unsigned char b[64];
	size_t n;

	for (int big = 0; big < 2; big++) {
		for (uint32_t v = 0; v <= 9; v++) {
			int want = v >= 1 && v <= 8 ? (int)v : 1;

			n = make_tiff(b, big, 3, v);
			ck_assert_int_eq(feat_exif_orientation(b, n), want);
			n = make_tiff(b, big, 4, v);
			ck_assert_int_eq(feat_exif_orientation(b, n), want);
		}
		/* a LONG far out of range, a wrong type, a count of 2 */
		n = make_tiff(b, big, 4, 0x10006);
		ck_assert_int_eq(feat_exif_orientation(b, n), 1);
		n = make_tiff(b, big, 5, 6);
		ck_assert_int_eq(feat_exif_orientation(b, n), 1);
		n = make_tiff(b, big, 3, 6);
		b[big ? 29 : 26] = 2;
		ck_assert_int_eq(feat_exif_orientation(b, n), 1);
		/* every truncation: the entry is only read when it is all there */
		n = make_tiff(b, big, 3, 6);
		for (size_t k = 0; k < n; k++) {
			unsigned char *cut = malloc(k ? k : 1);

			memcpy(cut, b, k);
			ck_assert_int_eq(feat_exif_orientation(cut, k), k >= 34 ? 6 : 1);
			free(cut);
		}
	}
	/* IFD offsets before the header, at the end, past the end; bad magic */
	n = make_tiff(b, 0, 3, 6);
	b[4] = 4;
	ck_assert_int_eq(feat_exif_orientation(b, n), 1);
	b[4] = (unsigned char)(n - 1);
	ck_assert_int_eq(feat_exif_orientation(b, n), 1);
	b[4] = 0xff; b[5] = 0xff; b[6] = 0xff; b[7] = 0xff;
	ck_assert_int_eq(feat_exif_orientation(b, n), 1);
	n = make_tiff(b, 0, 3, 6);
	b[2] = 43;
	ck_assert_int_eq(feat_exif_orientation(b, n), 1);
	b[0] = 'X';
	ck_assert_int_eq(feat_exif_orientation(b, n), 1);
	/* a huge entry count runs off the end */
	n = make_tiff(b, 0, 3, 6);
	b[8] = 0xff; b[9] = 0xff;
	b[22] = 0; b[23] = 0;    /* no Orientation among the real entries */
	ck_assert_int_eq(feat_exif_orientation(b, n), 1);
	ck_assert_int_eq(feat_exif_orientation(NULL, 100), 1);
}
END_TEST

/* ------------------------------------------------------------- scaling */

/* ceil(n * m / 8): libjpeg's scaled size, computed here independently. */
static int scaled(int n, int m)
{
	return (n * m + 7) / 8;
}

START_TEST(test_min_side)
{
	/* min_side -> expected M (scale M/8) for a 96 x 64 JPEG; 5..7 are
	 * skipped on purpose (slower than 8/8 in libjpeg-turbo) */
	static const int tab[][2] = {
		{ 0, 8 }, { 1, 1 }, { 8, 1 }, { 9, 2 }, { 16, 2 }, { 17, 3 }, { 24, 3 },
		{ 25, 4 }, { 32, 4 }, { 33, 8 }, { 56, 8 }, { 57, 8 }, { 64, 8 }, { 65, 8 },
		{ 1000, 8 },
	};
	struct feat_rec r;
	struct feat_decode_info info;
	char why[256];

	feat_rec_init(&r);
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		struct feat_decode_opts o = { .min_side = tab[i][0] };
		int m = tab[i][1];

		ck_assert_int_eq(decode_file("scale96x64.jpg", &o, &r, &info, why, sizeof why), 0);
		ck_assert_msg(info.scale_num * 8 == m * info.scale_denom,
			      "min_side %d: scale %d/%d, want %d/8", tab[i][0], info.scale_num,
			      info.scale_denom, m);
		check_image(&r, scaled(96, m), scaled(64, m), 96, 64, NULL, 0, "scaled");
		ck_assert_int_eq(info.out_width, scaled(96, m));
		ck_assert_int_eq(info.width, 96);
	}
	/* scale 1/2 against PIL's draft mode (the same DCT scaling) */
	{
		struct feat_decode_opts o = { .min_side = 32 };

		ck_assert_int_eq(decode_file("scale96x64.jpg", &o, &r, &info, why, sizeof why), 0);
		check_image(&r, 48, 32, 96, 64, "scale96x64-half.rgb", JPEG_TOL, "1/2 scale");
	}
	/* scaling with a rotation: short side is the same either way */
	{
		struct feat_decode_opts o = { .min_side = 16 };

		ck_assert_int_eq(decode_file("orient6.jpg", &o, &r, &info, why, sizeof why), 0);
		check_image(&r, 16, 24, 32, 48, NULL, 0, "orient6 at 1/2");
		ck_assert_int_eq(info.out_width, 16);
		ck_assert_int_eq(info.out_height, 24);
	}
	/* PNG is never scaled */
	{
		struct feat_decode_opts o = { .min_side = 8 };

		ck_assert_int_eq(decode_file("rgb.png", &o, &r, &info, why, sizeof why), 0);
		check_image(&r, 48, 32, 48, 32, "rgb.rgb", 0, "png with min_side");
		ck_assert_int_eq(info.scale_num, info.scale_denom);
	}
	feat_rec_free(&r);
}
END_TEST

/* --------------------------------------------------------------- limits */

START_TEST(test_max_pixels)
{
	static const char *const f[] = { "baseline.jpg", "rgb.png" };
	struct feat_rec r;
	char why[256];

	feat_rec_init(&r);
	for (int i = 0; i < 2; i++) {
		struct feat_decode_opts o = { .max_pixels = 48 * 32 };

		ck_assert_int_eq(decode_file(f[i], &o, &r, NULL, why, sizeof why), 0);
		o.max_pixels = 48 * 32 - 1;
		ck_assert_int_eq(decode_file(f[i], &o, &r, NULL, why, sizeof why), FEAT_E_TOOBIG);
		ck_assert_msg(strstr(why, "48x32") && strstr(why, "1535"), "why: %s", why);
		ck_assert_ptr_null(feat_rec_find(&r, "image"));
		ck_assert_ptr_null(feat_rec_find(&r, "origsize"));
	}
	feat_rec_free(&r);
}
END_TEST

/* --------------------------------------------------------- broken input */

static const struct {
	const char *file;
	int err;
	const char *why;
} bad[] = {
	{ "empty.jpg", FEAT_E_EMPTY, "empty file" },
	{ "text.jpg", FEAT_E_FORMAT, "not a JPEG or PNG image (it looks like text)" },
	{ "gif.png", FEAT_E_FORMAT, "not a JPEG or PNG image (it is a GIF)" },
	{ "truncated.jpg", FEAT_E_TRUNCATED, "truncated JPEG data" },
	{ "truncated-header.jpg", FEAT_E_TRUNCATED, "truncated JPEG data" },
	{ "truncated-2bytes.jpg", FEAT_E_TRUNCATED, "truncated JPEG data" },
	{ "badsof.jpg", FEAT_E_DECODE, "corrupt JPEG: Unsupported JPEG data precision 12" },
	{ "huge.jpg", FEAT_E_TOOBIG,
	  "image is 60000x60000 (3600000000 pixels), over the limit of 100000000 pixels" },
	{ "truncated.png", FEAT_E_TRUNCATED, "truncated PNG data" },
	{ "truncated-sig.png", FEAT_E_TRUNCATED, "truncated PNG data" },
	{ "badcrc.png", FEAT_E_DECODE, "corrupt PNG: IDAT: CRC error" },
	{ "baddist.png", FEAT_E_DECODE, "corrupt PNG: IDAT: invalid distance too far back" },
	{ "huge.png", FEAT_E_TOOBIG,
	  "image is 100000x100000 (10000000000 pixels), over the limit of 100000000 pixels" },
	{ "zerowidth.png", FEAT_E_DECODE, "corrupt PNG: Invalid IHDR data" },
};

START_TEST(test_broken)
{
	struct feat_rec r;
	uint32_t d[1] = { 4 };
	char why[256];
	int e;

	feat_rec_init(&r);
	/* a tensor that was there before stays; no half image is left */
	ck_assert_ptr_nonnull(feat_rec_add(&r, "other", FEAT_DT_U8, 1, d, NULL));
	strcpy(why, "stale");
	e = decode_file(bad[_i].file, NULL, &r, NULL, why, sizeof why);
	ck_assert_msg(e == bad[_i].err, "%s: error %d (%s), want %d", bad[_i].file, e, why,
		      bad[_i].err);
	ck_assert_msg(!strcmp(why, bad[_i].why), "%s: reason '%s', want '%s'", bad[_i].file,
		      why, bad[_i].why);
	ck_assert_ptr_null(feat_rec_find(&r, "image"));
	ck_assert_ptr_null(feat_rec_find(&r, "origsize"));
	ck_assert_ptr_nonnull(feat_rec_find(&r, "other"));
	ck_assert_int_eq(r.ntensors, 1);
	feat_rec_free(&r);
}
END_TEST

/* Recovered corruption: counted, and an error with strict. */
START_TEST(test_warnings)
{
	static const char *const f[] = { "extraneous.jpg", "badmarker.jpg" };
	static const char *const w[] = { "3 extraneous bytes before marker 0xdb",
					  "premature end of data segment" };
	struct feat_decode_opts strict = { .strict = 1 }, allow = { .allow_truncated = 1 };
	struct feat_decode_info info;
	struct feat_rec r;
	char why[256], want[128];

	feat_rec_init(&r);
	/* pixels lost (a scan cut short by a marker): an error unless allowed */
	ck_assert_int_eq(decode_file("badmarker.jpg", NULL, &r, &info, why, sizeof why),
			 FEAT_E_DECODE);
	ck_assert_str_eq(why, "corrupt JPEG data: premature end of data segment");
	ck_assert_ptr_null(feat_rec_find(&r, "image"));
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(decode_file(f[i], &allow, &r, &info, why, sizeof why), 0);
		ck_assert_int_ge(info.warnings, 1);
		ck_assert_str_eq(info.warning, w[i]);
		check_image(&r, 48, 32, 48, 32, i == 0 ? "baseline.rgb" : NULL, JPEG_TOL, f[i]);
		ck_assert_int_eq(decode_file(f[i], &strict, &r, &info, why, sizeof why),
				 FEAT_E_DECODE);
		snprintf(want, sizeof want, "corrupt JPEG data: %s", w[i]);
		ck_assert_str_eq(why, want);
		ck_assert_ptr_null(feat_rec_find(&r, "image"));
	}
	/* a clean file has none, strict or not */
	ck_assert_int_eq(decode_file("baseline.jpg", &strict, &r, &info, why, sizeof why), 0);
	ck_assert_int_eq(info.warnings, 0);
	feat_rec_free(&r);
}
END_TEST

/* Every prefix of a good file: never a crash, and an error whenever the
 * image data is incomplete (a PNG needs no IEND to be whole). */
START_TEST(test_every_truncation)
{
	static const char *const f[] = { "baseline.jpg", "progressive.jpg", "rgb.png",
					 "interlaced-rgba.png" };
	struct feat_rec r;
	char why[256];
	size_t len;
	unsigned char *d = load(f[_i], &len);
	int png = strstr(f[_i], ".png") != NULL;

	feat_rec_init(&r);
	for (size_t k = 0; k < len; k++) {
		/* a copy of exactly k bytes, so that ASan sees any overread */
		unsigned char *c = malloc(k ? k : 1);
		int e;

		memcpy(c, d, k);
		e = feat_image_decode(c, k, NULL, &r, NULL, why, sizeof why);
		free(c);
		if (!png || k < len - 12)
			ck_assert_msg(e < 0, "%s cut at %zu of %zu decoded", f[_i], k, len);
		if (e < 0) {
			ck_assert_msg(*why && !strchr(why, '\n'), "%s cut at %zu: reason '%s'",
				      f[_i], k, why);
			ck_assert_ptr_null(feat_rec_find(&r, "image"));
		}
	}
	free(d);
	feat_rec_free(&r);
}
END_TEST

/* The same record reused for many decodes: replaced, not duplicated. */
START_TEST(test_reuse)
{
	struct feat_rec r;
	char why[256];

	feat_rec_init(&r);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(decode_file(i & 1 ? "rgb.png" : "orient6.jpg", NULL, &r, NULL,
					     why, sizeof why), 0);
		ck_assert_int_eq(r.ntensors, 2);
	}
	ck_assert_int_eq(feat_image_decode(NULL, 0, NULL, &r, NULL, why, sizeof why),
			 FEAT_E_EMPTY);
	ck_assert_int_eq(feat_image_decode(NULL, 5, NULL, &r, NULL, why, sizeof why),
			 FEAT_E_INVAL);
	ck_assert_int_eq(feat_image_decode((const unsigned char *)"x", 1, NULL, NULL, NULL,
					   NULL, 0), FEAT_E_INVAL);
	feat_rec_free(&r);
}
END_TEST

/* ------------------------------------------------------------ file load */

START_TEST(test_file_load)
{
	unsigned char *buf = NULL;
	size_t cap = 0, len = 99, cap1;
	char why[256], path[4096];
	int e;

	snprintf(path, sizeof path, "%s", unit_data("decode/baseline.jpg"));
	ck_assert_int_eq(feat_file_load(path, 0, 0, &buf, &cap, &len, why, sizeof why), 0);
	ck_assert_uint_eq(len, 925);
	ck_assert_uint_ge(cap, len);
	ck_assert_int_eq(buf[0], 0xff);
	cap1 = cap;
	/* a smaller file reuses the buffer */
	snprintf(path, sizeof path, "%s", unit_data("decode/text.jpg"));
	ck_assert_int_eq(feat_file_load(path, 0, 0, &buf, &cap, &len, why, sizeof why), 0);
	ck_assert_uint_eq(len, 21);
	ck_assert_uint_eq(cap, cap1);
	ck_assert(!memcmp(buf, "this is not an image\n", 21));
	/* the limit: 21 bytes pass at 21, fail at 20 */
	ck_assert_int_eq(feat_file_load(path, 21, 0, &buf, &cap, &len, why, sizeof why), 0);
	e = feat_file_load(path, 20, 0, &buf, &cap, &len, why, sizeof why);
	ck_assert_int_eq(e, FEAT_E_TOOBIG);
	ck_assert_str_eq(why, "file is 21 bytes, over the limit of 20 bytes");
	snprintf(path, sizeof path, "%s", unit_data("decode/empty.jpg"));
	ck_assert_int_eq(feat_file_load(path, 0, 0, &buf, &cap, &len, why, sizeof why), 0);
	ck_assert_uint_eq(len, 0);
	snprintf(path, sizeof path, "%s", unit_data("decode/no-such-file.jpg"));
	e = feat_file_load(path, 0, 0, &buf, &cap, &len, why, sizeof why);
	ck_assert_int_eq(e, FEAT_E_IO);
	ck_assert_str_eq(why, "cannot open: No such file or directory");
	snprintf(path, sizeof path, "%s", unit_data("decode"));
	e = feat_file_load(path, 0, 0, &buf, &cap, &len, why, sizeof why);
	ck_assert_int_eq(e, FEAT_E_IO);
	ck_assert_str_eq(why, "is a directory");
	/* not a regular file: refused unless asked for, then read until
	 * end, the limit still applying (and bounding what is read) */
	e = feat_file_load("/dev/zero", 0, 0, &buf, &cap, &len, why, sizeof why);
	ck_assert_int_eq(e, FEAT_E_IO);
	ck_assert_str_eq(why, "not a regular file (a device, FIFO or socket)");
	snprintf(path, sizeof path, "/tmp/featkit-fifo-%d", (int)getpid());
	unlink(path);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	e = feat_file_load(path, 0, 0, &buf, &cap, &len, why, sizeof why);  /* no hang */
	unlink(path);
	ck_assert_int_eq(e, FEAT_E_IO);
	ck_assert_str_eq(why, "not a regular file (a device, FIFO or socket)");
	ck_assert_int_eq(feat_file_load("/dev/null", 0, FEAT_FILE_ANY, &buf, &cap, &len, why,
					sizeof why), 0);
	ck_assert_uint_eq(len, 0);
	e = feat_file_load("/dev/zero", 100000, FEAT_FILE_ANY, &buf, &cap, &len, why, sizeof why);
	ck_assert_int_eq(e, FEAT_E_TOOBIG);
	ck_assert_str_eq(why, "file is over the limit of 100000 bytes");
	ck_assert_uint_le(cap, 100001);
	free(buf);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("decode");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sniff);
	tcase_add_loop_test(tc, test_formats, 0, sizeof good / sizeof good[0]);
	tcase_add_test(tc, test_background);
	tcase_add_test(tc, test_fast);
	tcase_add_loop_test(tc, test_orientation, 0, 8);
	tcase_add_test(tc, test_orientation_bigendian);
	tcase_add_test(tc, test_exif_bogus_files);
	tcase_add_test(tc, test_exif_parser);
	tcase_add_test(tc, test_min_side);
	tcase_add_test(tc, test_max_pixels);
	tcase_add_loop_test(tc, test_broken, 0, sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, test_warnings);
	tcase_add_loop_test(tc, test_every_truncation, 0, 4);
	tcase_add_test(tc, test_reuse);
	tcase_add_test(tc, test_file_load);
	suite_add_tcase(s, tc);
	return s;
}
