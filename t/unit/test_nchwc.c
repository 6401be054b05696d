/*
 * test_nchwc.c - the NCHW16c kernels (kern/nchwc.h): each plain C twin
 * against the definition written out in double on the plain NCHW layout
 * (so that the layout conversions and the weight packing are checked
 * too), and each AVX-512 kernel against its twin, over channel counts of
 * one to five blocks, maps from 1x1 up, around the kernels' tiles (6
 * pixels, 8 and 12 outputs) and not square, strides 1 and 2, padding 0
 * and 1, outputs one row and column short of symmetric padding, every
 * activation, partial ranges of groups, blocks, pixels and rows (what a
 * thread computes), and MobileNet-SSD's shapes.
 * The convolution of group 1 over kernel sizes 1, 3, 5, dilation 1 and 2,
 * strides 1 and 2, no, symmetric and asymmetric padding, the SSD extras'
 * shapes down to 1x1, and pointwise over channel counts and maps around
 * its tile (6 pixels) and pixel chunk (96).
 * Pointwise output channel counts include partial blocks (an SSD head's
 * 12, 63, 126 outputs).
 * The squeeze-excitation kernels (the global average of a blocked map
 * within 1e-6; x times a scale a channel between any two layouts
 * exactly) over maps of 1 to 112 x 112 pixels.
 * Tolerance: |got - want| <= 1e-5 * (1 + |want|) * sqrt(terms) where the
 * terms (at most 9 x 16 x 5) have magnitude below 1.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "kern/kern.h"
#include "kern/nchwc.h"
#include "unit.h"

static float frand(unsigned *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)(*s >> 8) / (float)(1 << 24) * 2 - 1;
}

static float *rnd(size_t n, unsigned *seed)
{
	float *p = feat_aligned_alloc((n ? n : 1) * sizeof(float));

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = frand(seed);
	return p;
}

static double act(double s, int kind, double alpha)
{
	switch (kind) {
	case 1: return s > 0 ? s : 0;
	case 2: return s > 0 ? (s < 6 ? s : 6) : 0;
	case 3: return s > 0 ? s : s * alpha;
	}
	return s;
}

static void close_all(const float *got, const double *want, size_t n, double terms,
	const char *what)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabs(got[i] - want[i]) <= 1e-5 * (1 + fabs(want[i])) * sqrt(terms),
			      "%s at %zu: %g != %g", what, i, got[i], want[i]);
}

static void close_f(const float *got, const float *want, size_t n, double terms,
	const char *what)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-5 * (1 + fabsf(want[i])) * sqrt(terms),
			      "%s at %zu: %g != %g", what, i, got[i], want[i]);
}

START_TEST(layout)
{
	unsigned seed = 3;

	/* whole blocks, and a partial last block (12 and 63 channels: SSD
	 * heads) */
	for (int c = 12; c <= 63; c += 17) {
		size_t plane = 37, nb = (size_t)(c + 15) / 16;
		float *x = rnd((size_t)c * plane, &seed), *y = rnd(nb * 16 * plane, &seed);
		float *z = rnd((size_t)c * plane, &seed);

		feat_nchwc_from(x, c, plane, y);
		for (size_t b = 0; b < nb; b++)
			for (size_t p = 0; p < plane; p++)
				for (int j = 0; j < 16; j++) {
					size_t ch = b * 16 + (size_t)j;

					ck_assert(y[(b * plane + p) * 16 + j] ==
						  (ch < (size_t)c ? x[ch * plane + p] : 0.0f));
				}
		feat_nchwc_to(y, c, plane, z);
		ck_assert(memcmp(x, z, (size_t)c * plane * sizeof(float)) == 0);
		if (feat_kern_cpu_avx512()) {
			/* the AVX-512 twins: 16 pixels at a time and a tail of 5 */
			float *y2 = rnd(nb * 16 * plane, &seed);

			feat_kern_get(FEAT_KERN_AVX512)->nchwc_from(x, c, plane, y2);
			ck_assert(memcmp(y, y2, nb * 16 * plane * sizeof(float)) == 0);
			memset(z, 0, (size_t)c * plane * sizeof(float));
			feat_kern_get(FEAT_KERN_AVX512)->nchwc_to(y, c, plane, z);
			ck_assert(memcmp(x, z, (size_t)c * plane * sizeof(float)) == 0);
			free(y2);
		}
		free(x), free(y), free(z);
	}
}
END_TEST

/* ---------------------------------------- convolution of group 1 */

/* 1: cc_one stores over a residual sum already in y (feat_convc's accum) */
static int cc_accum;

/* piece: the AVX-512 kernel in pieces of 7 pixels and one group (as
 * threads split it), or over everything in one call */
static void cc_one(int cin, int cout, int hin, int win, int kh, int kw, int s, int d, int pt,
	int pl, int pb, int pr, int kind, unsigned seed, int piece)
{
	int hout = (hin + pt + pb - (kh - 1) * d - 1) / s + 1;
	int wout = (win + pl + pr - (kw - 1) * d - 1) / s + 1;

	if (hin + pt + pb < (kh - 1) * d + 1 || win + pl + pr < (kw - 1) * d + 1)
		return;
	int hp = feat_convc_padded(hin, pt, hout, s, kh, d), wp = feat_convc_padded(win, pl, wout, s, kw, d);
	size_t ni = (size_t)cin * hin * win, nyb = (size_t)feat_convc_blocks(cout) * 16 * hout * wout;
	long P = (long)hout * wout;
	float *x = rnd(ni, &seed), *w = rnd((size_t)cout * cin * kh * kw, &seed);
	float *b = rnd((size_t)cout, &seed), *xc = rnd(ni, &seed);
	float *xpad = rnd((size_t)cin * hp * wp, &seed);
	float *pk = rnd(feat_convc_pack_floats(cout, cin, kh, kw), &seed);
	float *y0 = rnd(nyb, &seed), *y1 = rnd(nyb, &seed), *yn = rnd((size_t)cout * P, &seed);
	double *want = calloc((size_t)cout * P, sizeof *want);
	struct feat_convc_args a = {
		.xp = xpad, .cin = cin, .hp = hp, .wp = wp, .w = pk, .cout = cout, .kh = kh,
		.kw = kw, .sh = s, .sw = s, .dh = d, .dw = d, .y = y0, .hout = hout, .wout = wout,
		.act = kind, .alpha = 0.1f, .g0 = 0, .g1 = feat_convc_groups(cout), .p0 = 0, .p1 = P,
	};
	int G = feat_convc_groups(cout);
	float *res = cc_accum ? rnd((size_t)cout * P, &seed) : NULL;

	ck_assert_ptr_nonnull(want);
	if (res) {
		/* the sum, blocked, in both outputs before the kernels run */
		feat_nchwc_from(res, cout, (size_t)P, y0);
		memcpy(y1, y0, nyb * sizeof *y1);
		a.accum = 1;
	}
	for (int co = 0; co < cout; co++)
		for (int oy = 0; oy < hout; oy++)
			for (int ox = 0; ox < wout; ox++) {
				double sum = b[co] + (res ? res[(size_t)co * P + (size_t)oy * wout + ox] : 0);

				for (int ci = 0; ci < cin; ci++)
					for (int ky = 0; ky < kh; ky++)
						for (int kx = 0; kx < kw; kx++) {
							int iy = oy * s - pt + ky * d, ix = ox * s - pl + kx * d;

							if (iy >= 0 && iy < hin && ix >= 0 && ix < win)
								sum += (double)w[(((size_t)co * cin + ci) * kh + ky) * kw + kx] *
								       x[((size_t)ci * hin + iy) * win + ix];
						}
				want[(size_t)co * P + (size_t)oy * wout + ox] = act(sum, kind, 0.1);
			}
	feat_nchwc_from(x, cin, (size_t)hin * win, xc);
	feat_convc_pad(xc, cin, hin, win, pt, pl, xpad, hp, wp);
	feat_convc_pack(pk, w, b, cout, cin, kh, kw);
	a.bias = feat_convc_bias(pk, cout, cin, kh, kw);
	feat_convc_ref(&a);
	feat_nchwc_to(y0, cout, (size_t)P, yn);
	close_all(yn, want, (size_t)cout * P, (double)cin * kh * kw, "convc ref");
	if (feat_kern_cpu_avx512()) {
		a.y = y1;
		for (int g = 0; g < G; g += piece ? 1 : G)
			for (long p = 0; p < P; p += piece ? 7 : P) {
				a.g0 = g, a.g1 = piece ? g + 1 : G;
				a.p0 = p, a.p1 = piece && p + 7 < P ? p + 7 : P;
				feat_kern_get(FEAT_KERN_AVX512)->convc(&a);
			}
		close_f(y1, y0, nyb, (double)cin * kh * kw, "convc avx512");
	}
	free(x), free(w), free(b), free(xc), free(xpad), free(pk), free(y0), free(y1), free(yn);
	free(want), free(res);
}

START_TEST(general)
{
	unsigned seed = 13;

	/* the SSD extras: 3x3 stride 2 on 10x10 .. 1x1, 1x1 stride 2 */
	cc_one(32, 64, 10, 10, 3, 3, 2, 1, 1, 1, 1, 1, 1, seed++, 1);
	cc_one(16, 24, 5, 5, 3, 3, 2, 1, 1, 1, 1, 1, 1, seed++, 1);
	cc_one(16, 126, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, seed++, 1);
	cc_one(32, 16, 2, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, seed++, 1);
	cc_one(16, 16, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 2, seed++, 1);
	/* ResNet-50's layer4: a group's weights (512 x 3 x 3 inputs) over
	 * the kernel's K block, so summed in parts through the output;
	 * stride 1 and 2, every activation, whole and in pieces */
	cc_one(512, 80, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, seed++, 1);
	cc_one(512, 64, 14, 14, 3, 3, 2, 1, 1, 1, 1, 1, 3, seed++, 0);
	cc_one(1024, 32, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 2, seed++, 1);
	cc_one(16, 32, 9, 7, 1, 1, 2, 1, 0, 0, 0, 0, 3, seed++, 1);
	/* kernel sizes, dilation, asymmetric and no padding, every activation */
	for (int k = 1; k <= 5; k += 2)
		for (int d = 1; d <= 2; d++)
			for (int s = 1; s <= 2; s++)
				for (int p = 0; p <= 2; p++, seed++)
					cc_one(16 * (1 + (int)(seed % 2)), 8 + 20 * (int)(seed % 4), 7 + (int)(seed % 5),
					       6 + (int)(seed % 3), k, k, s, d, p, p / 2, p, 1 - p / 2,
					       (int)(seed % 4), seed, (int)(seed % 2));
}
END_TEST

/* A residual sum stored over (ResNet's and RegNet's last convolution of a
 * block, EfficientNet's projection): pointwise, 1x1 at stride 2 (the
 * downsample), 3x3 with the input channels summed in several K blocks
 * (the sum then added once, at the first), whole and in pieces, every
 * activation. */
START_TEST(residual)
{
	unsigned seed = 31;

	cc_accum = 1;
	cc_one(64, 256, 14, 14, 1, 1, 1, 1, 0, 0, 0, 0, 1, seed++, 0);
	cc_one(64, 256, 9, 11, 1, 1, 1, 1, 0, 0, 0, 0, 0, seed++, 1);
	cc_one(48, 80, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 3, seed++, 1);
	cc_one(256, 128, 14, 14, 1, 1, 2, 1, 0, 0, 0, 0, 1, seed++, 1);
	cc_one(2048, 64, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 2, seed++, 0);
	cc_one(512, 64, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, seed++, 1);
	cc_accum = 0;
}
END_TEST

START_TEST(pointwise)
{
	static const int ch[] = { 16, 32, 48, 64, 80 };
	static const int co[] = { 1, 12, 16, 32, 48, 63, 64, 80, 126 };
	static const int px[][2] = { { 1, 1 }, { 1, 5 }, { 2, 3 }, { 1, 7 }, { 13, 1 }, { 8, 12 },
				     { 1, 97 }, { 10, 10 } };
	unsigned seed = 5;

	/* in pieces of 7 pixels and one group, and whole (chunks of ~96) */
	for (size_t i = 0; i < 5; i++)
		for (size_t j = 0; j < 9; j++)
			for (size_t k = 0; k < 8; k++, seed++)
				cc_one(ch[i], co[j], px[k][0], px[k][1], 1, 1, 1, 1, 0, 0, 0, 0,
				       (int)(seed % 4), seed, (int)(seed % 2));
	/* MobileNet-SSD's channel-heavy ones: 512 on 19x19, 1024 on 10x10 */
	cc_one(512, 512, 19, 19, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0);
	cc_one(1024, 1024, 10, 10, 1, 1, 1, 1, 0, 0, 0, 0, 1, 2, 0);
}
END_TEST

/* ------------------------------------------- depthwise 3x3 and 5x5 */

static void dw_one(int k, int c, int hin, int win, int s, int pt, int pl, int trim, int kind,
	unsigned seed)
{
	int hout = (hin + 2 * pt - k) / s + 1 - trim, wout = (win + 2 * pl - k) / s + 1 - trim;

	if (hout < 1 || wout < 1 || hin + 2 * pt < k || win + 2 * pl < k)
		return;
	size_t ni = (size_t)c * hin * win, no = (size_t)c * hout * wout, kk = (size_t)k * k;
	float *x = rnd(ni, &seed), *w = rnd((size_t)c * kk, &seed), *b = rnd((size_t)c, &seed);
	float *xc = rnd(ni, &seed), *wp = rnd((size_t)c * kk, &seed), *y0 = rnd(no, &seed);
	float *y1 = rnd(no, &seed), *yn = rnd(no, &seed);
	double *want = calloc(no, sizeof *want);
	struct feat_dwc_args a = {
		.x = xc, .c = c, .hin = hin, .win = win, .wp = wp, .bias = b, .k = k, .s = s, .pt = pt,
		.pl = pl, .y = y0, .hout = hout, .wout = wout, .act = kind, .alpha = 0.1f,
		.b0 = 0, .b1 = c / 16,
	};

	ck_assert_ptr_nonnull(want);
	for (int ch = 0; ch < c; ch++)
		for (int oy = 0; oy < hout; oy++)
			for (int ox = 0; ox < wout; ox++) {
				double sum = b[ch];

				for (int ky = 0; ky < k; ky++)
					for (int kx = 0; kx < k; kx++) {
						int iy = oy * s - pt + ky, ix = ox * s - pl + kx;

						if (iy >= 0 && iy < hin && ix >= 0 && ix < win)
							sum += (double)w[ch * kk + ky * k + kx] *
							       x[((size_t)ch * hin + iy) * win + ix];
					}
				want[((size_t)ch * hout + oy) * wout + ox] = act(sum, kind, 0.1);
			}
	feat_nchwc_from(x, c, (size_t)hin * win, xc);
	feat_dwc_pack(wp, w, c, k);
	feat_dwc_ref(&a);
	feat_nchwc_to(y0, c, (size_t)hout * wout, yn);
	close_all(yn, want, no, (double)kk, "dwc ref");
	if (feat_kern_cpu_avx512()) {
		a.y = y1;
		for (int bl = 0; bl < c / 16; bl++) {
			a.b0 = bl, a.b1 = bl + 1;
			feat_kern_get(FEAT_KERN_AVX512)->dwc(&a);
		}
		for (size_t i = 0; i < no; i++)
			ck_assert_msg(fabsf(y1[i] - y0[i]) <= 3e-5f * (1 + fabsf(y0[i])),
				      "dwc avx512 k%d c%d %dx%d s%d p%d,%d trim%d act%d at %zu: %g != %g",
				      k, c, hin, win, s, pt, pl, trim, kind, i, y1[i], y0[i]);
	}
	free(x), free(w), free(b), free(xc), free(wp), free(y0), free(y1), free(yn), free(want);
}

START_TEST(depthwise)
{
	static const int sizes[] = { 1, 2, 3, 4, 8, 9, 10, 17, 19, 26 };
	unsigned seed = 7;

	for (int k = 3; k <= 5; k += 2)
		for (int s = 1; s <= 2; s++)
			for (int p = 0; p <= k / 2; p++)
				for (size_t i = 0; i < 10; i++)
					for (int trim = 0; trim <= 1; trim++, seed++)
						dw_one(k, 16 * (1 + (int)(seed % 3)), sizes[i],
						       sizes[(i + 3) % 10], s, p, p, trim, (int)(seed % 4),
						       seed);
	dw_one(3, 32, 5, 7, 1, 1, 0, 0, 1, 1);
	dw_one(3, 32, 7, 5, 2, 0, 1, 0, 1, 2);
	dw_one(5, 32, 5, 7, 1, 2, 1, 0, 1, 1);
	dw_one(5, 32, 7, 5, 2, 1, 2, 0, 1, 2);
	/* MobileNet-SSD */
	dw_one(3, 32, 150, 150, 1, 1, 1, 0, 1, 3);
	dw_one(3, 64, 150, 150, 2, 1, 1, 1, 1, 4);
	dw_one(3, 512, 19, 19, 1, 1, 1, 0, 1, 5);
	dw_one(3, 512, 19, 19, 2, 1, 1, 0, 1, 6);
	/* EfficientNet-B0's 5x5 layers */
	dw_one(5, 144, 56, 56, 2, 2, 2, 1, 1, 7);
	dw_one(5, 240, 28, 28, 1, 2, 2, 0, 1, 8);
	dw_one(5, 672, 14, 14, 2, 2, 2, 1, 1, 9);
	dw_one(5, 1152, 7, 7, 1, 2, 2, 0, 1, 10);
}
END_TEST

/* ------------------------------------------------------ the first layer */

static void c3_one(int cin, int cout, int hin, int win, int s, int trim, int kind,
	unsigned seed)
{
	int hout = (hin - 1) / s + 1 - trim, wout = (win - 1) / s + 1 - trim;

	if (hout < 1 || wout < 1)
		return;
	size_t no = (size_t)cout * hout * wout;
	float *x = rnd((size_t)cin * hin * win, &seed), *w = rnd((size_t)cout * cin * 9, &seed);
	float *b = rnd((size_t)cout, &seed);
	float *wp = feat_aligned_alloc(feat_conv3_pack_floats(cout, cin) * sizeof(float));
	float *y0 = rnd(no, &seed), *y1 = rnd(no, &seed), *yn = rnd(no, &seed);
	double *want = calloc(no, sizeof *want);
	struct feat_conv3c_args a = {
		.c = { .x = x, .cin = cin, .hin = hin, .win = win, .w = w, .wp = wp, .bias = b,
		       .cout = cout, .s = s, .y = y0, .hout = hout, .wout = wout, .act = kind,
		       .alpha = 0.1f },
		.oy0 = 0, .oy1 = hout,
	};

	ck_assert(wp && want);
	for (int co = 0; co < cout; co++)
		for (int oy = 0; oy < hout; oy++)
			for (int ox = 0; ox < wout; ox++) {
				double sum = b[co];

				for (int ci = 0; ci < cin; ci++)
					for (int ky = 0; ky < 3; ky++)
						for (int kx = 0; kx < 3; kx++) {
							int iy = oy * s - 1 + ky, ix = ox * s - 1 + kx;

							if (iy >= 0 && iy < hin && ix >= 0 && ix < win)
								sum += (double)w[((co * cin + ci) * 3 + ky) * 3 + kx] *
								       x[((size_t)ci * hin + iy) * win + ix];
						}
				want[((size_t)co * hout + oy) * wout + ox] = act(sum, kind, 0.1);
			}
	feat_conv3_pack(wp, w, cout, cin);
	feat_conv3c_ref(&a);
	feat_nchwc_to(y0, cout, (size_t)hout * wout, yn);
	close_all(yn, want, no, 9 * cin, "conv3c ref");
	if (feat_kern_cpu_avx512()) {
		a.c.y = y1;
		for (int oy = 0; oy < hout; oy += 3) {
			a.oy0 = oy, a.oy1 = oy + 3 < hout ? oy + 3 : hout;
			feat_kern_get(FEAT_KERN_AVX512)->conv3c(&a);
		}
		close_f(y1, y0, no, 9 * cin, "conv3c avx512");
	}
	free(x), free(w), free(b), free(wp), free(y0), free(y1), free(yn), free(want);
}

/* ------------------------------------------- squeeze-excitation blocks */

/* nchwc_mean (global average of a blocked map) and nchwc_mul (x * s with
 * either side blocked): the twins against the definition on plain NCHW,
 * the AVX-512 kernels against the twins; maps from 1 pixel to 112 x 112
 * (EfficientNet's first SE block), around the transposes' 16 pixels and
 * the sums' blocks of 1024. */
START_TEST(squeeze_excite)
{
	static const size_t planes[] = { 1, 3, 15, 16, 17, 49, 196, 1023, 1025, 3136, 12544 };
	unsigned seed = 21;

	for (size_t i = 0; i < sizeof planes / sizeof *planes; i++) {
		size_t plane = planes[i];
		int c = 16 * (1 + (int)(i % 3));
		size_t n = (size_t)c * plane;
		float *x = rnd(n, &seed), *xc = rnd(n, &seed), *s = rnd((size_t)c, &seed);
		float *m0 = rnd((size_t)c, &seed), *m1 = rnd((size_t)c, &seed);
		float *y0 = rnd(n, &seed), *y1 = rnd(n, &seed), *yn = rnd(n, &seed);
		const struct feat_kern *k = feat_kern_cpu_avx512() ? feat_kern_get(FEAT_KERN_AVX512) :
								     NULL;

		feat_nchwc_from(x, c, plane, xc);
		feat_nchwc_mean_ref(xc, c, plane, m0);
		for (int ch = 0; ch < c; ch++) {
			double sum = 0;

			for (size_t p = 0; p < plane; p++)
				sum += x[(size_t)ch * plane + p];
			ck_assert_msg(fabs(m0[ch] - sum / plane) <= 1e-6,
				      "nchwc_mean ref plane %zu ch %d: %g %g", plane, ch, m0[ch],
				      sum / plane);
		}
		if (k) {
			k->nchwc_mean(xc, c, plane, m1);
			for (int ch = 0; ch < c; ch++)
				ck_assert_msg(fabsf(m1[ch] - m0[ch]) <= 1e-6f,
					      "nchwc_mean avx512 plane %zu ch %d: %g %g", plane, ch,
					      m1[ch], m0[ch]);
		}
		for (int xnc = 0; xnc <= 1; xnc++)
			for (int ync = 0; ync <= 1; ync++) {
				feat_nchwc_mul_ref(xnc ? xc : x, xnc, c, plane, s, y0, ync);
				if (ync)
					feat_nchwc_to(y0, c, plane, yn);
				else
					memcpy(yn, y0, n * sizeof *yn);
				for (size_t j = 0; j < n; j++)
					ck_assert(yn[j] == x[j] * s[j / plane]);
				if (!k)
					continue;
				k->nchwc_mul(xnc ? xc : x, xnc, c, plane, s, y1, ync);
				ck_assert_msg(!memcmp(y1, y0, n * sizeof *y1),
					      "nchwc_mul avx512 plane %zu, x %s, y %s", plane,
					      xnc ? "blocked" : "plain", ync ? "blocked" : "plain");
			}
		free(x), free(xc), free(s), free(m0), free(m1), free(y0), free(y1), free(yn);
	}
}
END_TEST

/* Max pooling on NCHW16c: the twin against the plain kernel of the
 * reference table (the pooling layers' oracle) on the same values, the
 * AVX-512 kernel against the twin exactly; windows 1-3, strides 1 and 2,
 * padding 0 and 1 (ResNet's 3x3/2 pad 1), ceil-rounded outputs whose
 * last windows are cut by the map, a NaN. */
START_TEST(maxpool_blocked)
{
	unsigned seed = 41;

	for (int k = 1; k <= 3; k++)
		for (int s = 1; s <= 2; s++)
			for (int p = 0; p <= 1 && p < k; p++)
				for (int ceil = 0; ceil <= 1; ceil++, seed++) {
					int c = 16 * (1 + (int)(seed % 2)), h = 5 + (int)(seed % 9);
					int w = 4 + (int)(seed % 13);
					int ho = (h + 2 * p - k + (ceil ? s - 1 : 0)) / s + 1;
					int wo = (w + 2 * p - k + (ceil ? s - 1 : 0)) / s + 1;
					size_t pin = (size_t)h * w, pout = (size_t)ho * wo;
					float *x = rnd((size_t)c * pin, &seed), *xc = rnd((size_t)c * pin, &seed);
					float *y0 = rnd((size_t)c * pout, &seed), *yc = rnd((size_t)c * pout, &seed);
					float *y1 = rnd((size_t)c * pout, &seed), *yn = rnd((size_t)c * pout, &seed);
					const struct feat_kern *r = feat_kern_get(FEAT_KERN_REF);

					/* the last window of a ceil-rounded row must start inside */
					if ((ho - 1) * s >= h + p || (wo - 1) * s >= w + p)
						ho -= (ho - 1) * s >= h + p, wo -= (wo - 1) * s >= w + p;
					pout = (size_t)ho * wo;
					x[seed % pin] = NAN;
					for (int ch = 0; ch < c; ch++)
						r->maxpool(x + ch * pin, h, w, y0 + ch * pout, ho, wo, k, k, s, s,
							   p, p);
					feat_nchwc_from(x, c, pin, xc);
					feat_maxpoolc_ref(xc, c, h, w, yc, ho, wo, k, k, s, s, p, p);
					feat_nchwc_to(yc, c, pout, yn);
					for (size_t i = 0; i < (size_t)c * pout; i++)
						ck_assert_msg(isnan(yn[i]) ? isnan(y0[i]) : yn[i] == y0[i],
							      "maxpoolc ref k%d s%d p%d %dx%d at %zu: %g != %g", k,
							      s, p, h, w, i, yn[i], y0[i]);
					if (feat_kern_cpu_avx512()) {
						feat_kern_get(FEAT_KERN_AVX512)->maxpoolc(xc, c, h, w, y1, ho, wo,
											k, k, s, s, p, p);
						for (size_t i = 0; i < (size_t)c * pout; i++)
							ck_assert(isnan(y1[i]) ? isnan(yc[i]) : y1[i] == yc[i]);
					}
					free(x), free(xc), free(y0), free(yc), free(y1), free(yn);
				}
}
END_TEST

START_TEST(first)
{
	static const int sizes[] = { 1, 2, 3, 5, 12, 13, 16, 25, 26, 31, 40 };
	unsigned seed = 11;

	for (int cin = 1; cin <= 4; cin++)
		for (int cout = 16; cout <= 48; cout += 16)
			for (size_t i = 0; i < 11; i++)
				for (int s = 1; s <= 2; s++, seed++)
					c3_one(cin, cout, sizes[i], sizes[(i + 4) % 11], s,
					       (int)(seed % 3 == 0), (int)(seed % 4), seed);
	c3_one(3, 32, 300, 300, 2, 0, 1, 1);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("nchwc");
	TCase *tc = tcase_create("nchwc");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, layout);
	tcase_add_test(tc, pointwise);
	tcase_add_test(tc, depthwise);
	tcase_add_test(tc, general);
	tcase_add_test(tc, residual);
	tcase_add_test(tc, first);
	tcase_add_test(tc, squeeze_excite);
	tcase_add_test(tc, maxpool_blocked);
	suite_add_tcase(s, tc);
	return s;
}
