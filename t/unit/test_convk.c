/*
 * test_convk.c - the first-layer kernel for k x k windows (kern/convk.h):
 * its plain C twin against the definition written out in double, and the
 * AVX-512 kernel against the same, over windows 1, 3, 5, 7 and 11,
 * strides 1 and 2, every padding from none to k - 1 at the top and left
 * (the bottom and right from the output size: symmetric, or one row and
 * column short), 1 to 4 input channels, output channel counts around the
 * block of 16, maps from 1x1 up, widths around the tile of 16 and not
 * square, every activation, output rows computed in two calls, and
 * ResNet-50's conv1 (3 -> 64, 7x7 stride 2 padding 3 at 224x224); the
 * output in plain NCHW and in NCHW16c (16 to 64 channels).
 * Tolerance: |got - want| <= 1e-5 * (1 + L), L the sum of the magnitudes
 * of the bias and the products (float sums of at most 484 terms).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "kern/act.h"
#include "kern/convk.h"
#include "kern/kern.h"
#include "unit.h"

static float frand(unsigned *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)(*s >> 8) / (float)(1 << 24) * 2 - 1;
}

/* The definition, in double; *mag gets L. */
static double direct(const struct feat_convk_args *a, int co, int oy, int ox, double *mag)
{
	double s = a->bias[co], m = fabs(s);

	for (int ci = 0; ci < a->cin; ci++)
		for (int ky = 0; ky < a->k; ky++)
			for (int kx = 0; kx < a->k; kx++) {
				int iy = oy * a->s - a->pt + ky, ix = ox * a->s - a->pl + kx;

				if (iy >= 0 && iy < a->hin && ix >= 0 && ix < a->win) {
					double t = (double)a->w[(((size_t)co * a->cin + ci) * a->k + ky) *
								 a->k + kx] *
						   a->x[((size_t)ci * a->hin + iy) * a->win + ix];

					s += t;
					m += fabs(t);
				}
			}
	*mag = m;
	return s;
}

static void check(const struct feat_convk_args *a, const float *y, const char *what)
{
	for (int co = 0; co < a->cout; co++)
		for (int oy = 0; oy < a->hout; oy++)
			for (int ox = 0; ox < a->wout; ox++) {
				double mag, v = direct(a, co, oy, ox, &mag);
				float want = feat_act1((float)v, a->act, a->alpha);
				float got = a->nc ? y[(((size_t)(co / 16) * a->hout + oy) * a->wout + ox) *
						      16 + co % 16] :
						    y[((size_t)co * a->hout + oy) * a->wout + ox];

				ck_assert_msg(fabsf(got - want) <= 1e-5 * (1 + mag),
					      "%s cin%d cout%d k%d s%d pad %d,%d %dx%d -> %dx%d act%d at [%d][%d][%d]: %g != %g",
					      what, a->cin, a->cout, a->k, a->s, a->pt, a->pl, a->hin,
					      a->win, a->hout, a->wout, a->act, co, oy, ox, got, want);
			}
}

/* 1: one() asks for the output in NCHW16c (cout a multiple of 16) */
static int blocked;

static void one(int cin, int cout, int k, int s, int pt, int pl, int hin, int win, int trim,
	int act, unsigned seed)
{
	struct feat_convk_args a = {
		.cin = cin, .hin = hin, .win = win, .cout = cout, .k = k, .s = s, .pt = pt,
		.pl = pl, .act = act, .alpha = 0.1f, .nc = blocked,
	};
	size_t nx = (size_t)cin * hin * win, nw = (size_t)cout * cin * k * k, ny;
	float *x, *w, *b, *y, *wp, *work;

	/* output extents of symmetric padding, trim rows and columns short */
	a.hout = (hin + 2 * pt - k) / s + 1 - trim;
	a.wout = (win + 2 * pl - k) / s + 1 - trim;
	if (hin + 2 * pt < k || win + 2 * pl < k || a.hout < 1 || a.wout < 1)
		return;
	ny = (size_t)cout * a.hout * a.wout;
	x = malloc(nx * sizeof *x);
	w = malloc(nw * sizeof *w);
	b = malloc((size_t)cout * sizeof *b);
	y = malloc(ny * sizeof *y);
	ck_assert(x && w && b && y);
	for (size_t i = 0; i < nx; i++)
		x[i] = frand(&seed);
	for (size_t i = 0; i < nw; i++)
		w[i] = frand(&seed);
	for (int i = 0; i < cout; i++)
		b[i] = frand(&seed);
	a.x = x, a.w = w, a.bias = b, a.y = y;
	/* the twin, in two calls when there are two rows */
	for (size_t i = 0; i < ny; i++)
		y[i] = NAN;
	a.oy0 = 0, a.oy1 = a.hout / 2;
	feat_convk_ref(&a);
	a.oy0 = a.oy1, a.oy1 = a.hout;
	feat_convk_ref(&a);
	check(&a, y, "ref");
	if (feat_kern_cpu_avx512()) {
		wp = feat_aligned_alloc(feat_convk_pack_floats(cout, cin, k) * sizeof(float));
		work = feat_aligned_alloc(feat_convk_work(cin, k, s, a.wout) * sizeof(float));
		ck_assert(wp && work);
		feat_convk_pack(wp, w, cout, cin, k);
		a.wp = wp, a.work = work;
		for (size_t i = 0; i < ny; i++)
			y[i] = NAN;
		a.oy0 = 0, a.oy1 = (a.hout + 1) / 2;
		feat_kern_get(FEAT_KERN_AVX512)->convk(&a);
		a.oy0 = a.oy1, a.oy1 = a.hout;
		feat_kern_get(FEAT_KERN_AVX512)->convk(&a);
		check(&a, y, "avx512");
		free(wp), free(work);
	}
	free(x), free(w), free(b), free(y);
}

START_TEST(shapes)
{
	static const int ks[] = { 1, 3, 5, 7, 11 };
	static const int sizes[] = { 1, 2, 5, 15, 16, 17, 31, 33, 40 };
	static const int couts[] = { 1, 5, 16, 17, 40 };
	unsigned seed = 7;

	for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
		for (int s = 1; s <= 2; s++)
			for (int pad = 0; pad < ks[ki]; pad++)
				for (int cin = 1; cin <= 4; cin++, seed++) {
					int k = ks[ki], hi = (int)(seed % 9), wi = (int)((seed / 9) % 9);

					one(cin, couts[seed % 5], k, s, pad, (pad + (int)seed) % k,
					    sizes[hi], sizes[wi] + k, (int)(seed % 3 == 0),
					    (int)(seed % 9), seed);
				}
}
END_TEST

/* The output in NCHW16c (what the channel-blocked layers after it read):
 * the same windows, strides, paddings and maps, 16 to 64 channels. */
START_TEST(blocked_output)
{
	static const int ks[] = { 1, 3, 7, 11 };
	static const int sizes[] = { 1, 5, 16, 17, 33 };
	unsigned seed = 17;

	blocked = 1;
	for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
		for (int s = 1; s <= 2; s++)
			for (int pad = 0; pad < ks[ki]; pad += 2)
				for (int cin = 1; cin <= 4; cin += 2, seed++)
					one(cin, 16 * (1 + (int)(seed % 3)), ks[ki], s, pad, pad,
					    sizes[seed % 5], sizes[(seed / 5) % 5] + ks[ki],
					    (int)(seed % 3 == 0), (int)(seed % 9), seed);
	one(3, 64, 7, 2, 3, 3, 224, 224, 0, 1, 4);
	blocked = 0;
}
END_TEST

START_TEST(resnet_conv1)
{
	one(3, 64, 7, 2, 3, 3, 224, 224, 0, 1, 3);
	/* ... and EfficientNet's and MobileNetV3's shape: 3x3 stride 2 pad 1 */
	one(3, 32, 3, 2, 1, 1, 224, 224, 0, 4, 5);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("convk");
	TCase *tc = tcase_create("convk");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, shapes);
	tcase_add_test(tc, resnet_conv1);
	tcase_add_test(tc, blocked_output);
	suite_add_tcase(s, tc);
	return s;
}
