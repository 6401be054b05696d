/*
 * test_dwconv.c - the AVX-512 depthwise kernel against its plain C twin,
 * and the twin against a direct definition, over strides 1, 2 and 3,
 * dilations, paddings (zero to wider than the kernel), kernel sizes 1 to
 * 7, widths around the vector length, every activation and every map
 * size and stride of MobileNet-SSD.  Tolerance:
 * |fast - ref| <= 1e-5 * (1 + |ref|) (the sums are of at most 49 terms).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "kern/dwconv.h"
#include "kern/kern.h"
#include "unit.h"

static float frand(unsigned *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)(*s >> 8) / (float)(1 << 24) * 2 - 1;
}

/* The definition, written the obvious way. */
static float direct(const struct feat_dw_args *a, int ch, int oy, int ox)
{
	double s = a->bias[ch];

	for (int ky = 0; ky < a->kh; ky++)
		for (int kx = 0; kx < a->kw; kx++) {
			int iy = oy * a->sh - a->pt + ky * a->dh, ix = ox * a->sw - a->pl + kx * a->dw;

			if (iy >= 0 && iy < a->hin && ix >= 0 && ix < a->win)
				s += (double)a->w[(ch * a->kh + ky) * a->kw + kx] *
				     a->x[((size_t)ch * a->hin + iy) * a->win + ix];
		}
	switch (a->act) {
	case 1: return s > 0 ? (float)s : 0;
	case 2: return s > 0 ? (s < 6 ? (float)s : 6) : 0;
	case 3: return s > 0 ? (float)s : (float)s * a->alpha;
	}
	return (float)s;
}

/* 1: one output row and column fewer than symmetric padding gives (the
 * padding at the bottom and right one less, as 'SAME' exporters write it) */
static int trim;

static void one(int c, int hin, int win, int k, int s, int p, int d, int act, unsigned seed)
{
	struct feat_dw_args a = {
		.c = c, .hin = hin, .win = win, .kh = k, .kw = k, .sh = s, .sw = s,
		.pt = p, .pl = p, .dh = d, .dw = d, .act = act, .alpha = 0.1f,
	};
	size_t nx = (size_t)c * hin * win, ny;
	float *x = malloc(nx * sizeof *x), *w = malloc((size_t)c * k * k * sizeof *w);
	float *b = malloc((size_t)c * sizeof *b), *y0, *y1, *work;

	a.hout = (hin + 2 * p - d * (k - 1) - 1) / s + 1;
	a.wout = (win + 2 * p - d * (k - 1) - 1) / s + 1;
	if (trim && a.hout > 1 && a.wout > 1)
		a.hout--, a.wout--;
	if (a.hout < 1 || a.wout < 1) {
		free(x), free(w), free(b);
		return;
	}
	ny = (size_t)c * a.hout * a.wout;
	y0 = malloc(ny * sizeof *y0);
	y1 = malloc(ny * sizeof *y1);
	for (size_t i = 0; i < nx; i++)
		x[i] = frand(&seed);
	for (int i = 0; i < c * k * k; i++)
		w[i] = frand(&seed);
	for (int i = 0; i < c; i++)
		b[i] = frand(&seed);
	a.x = x, a.w = w, a.bias = b;
	a.y = y0;
	feat_dwconv_ref(&a);
	for (int ch = 0; ch < c; ch++)
		for (int oy = 0; oy < a.hout; oy++)
			for (int ox = 0; ox < a.wout; ox++) {
				float want = direct(&a, ch, oy, ox);
				float got = y0[((size_t)ch * a.hout + oy) * a.wout + ox];

				ck_assert_msg(fabsf(got - want) <= 1e-5f * (1 + fabsf(want)),
					      "ref c%d %dx%d k%d s%d p%d d%d: %g != %g", c, hin, win, k, s, p, d,
					      got, want);
			}
	if (feat_kern_cpu_avx512()) {
		work = feat_aligned_alloc(feat_dwconv_work(&a) * sizeof(float));
		a.work = work;
		a.y = y1;
		feat_kern_get(FEAT_KERN_AVX512)->dwconv(&a);
		for (size_t i = 0; i < ny; i++)
			ck_assert_msg(fabsf(y1[i] - y0[i]) <= 1e-5f * (1 + fabsf(y0[i])),
				      "avx512 c%d %dx%d k%d s%d p%d d%d act%d at %zu: %g != %g", c, hin,
				      win, k, s, p, d, act, i, y1[i], y0[i]);
		free(work);
	}
	free(x), free(w), free(b), free(y0), free(y1);
}

START_TEST(shapes)
{
	static const int widths[] = { 1, 2, 5, 15, 16, 17, 19, 31, 32, 33, 38, 75 };
	unsigned seed = 7;

	for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
		for (int k = 1; k <= 7; k += 2)
			for (int s = 1; s <= 3; s++)
				for (int p = 0; p <= k / 2 + 1; p++)
					one(3, 1 + (int)wi * 2, widths[wi], k, s, p, 1,
					    (int)(seed % 4), seed), seed++;
	/* dilation, as in SSD's fc6 and DeepLab */
	one(4, 20, 23, 3, 1, 2, 2, 1, 1);
	one(4, 20, 23, 3, 2, 6, 6, 0, 2);
	/* MobileNet's layers */
	one(32, 150, 150, 3, 1, 1, 1, 1, 3);
	one(64, 150, 150, 3, 2, 1, 1, 2, 4);
	one(512, 19, 19, 3, 1, 1, 1, 1, 5);
	/* every map size and stride of MobileNet-SSD: the AVX-512 kernel's
	 * flat route (stride 1, masks across row ends) and its row route for
	 * 3x3 stride 2 (odd widths included) */
	one(128, 75, 75, 3, 1, 1, 1, 1, 6);
	one(128, 75, 75, 3, 2, 1, 1, 1, 7);
	one(256, 38, 38, 3, 1, 1, 1, 2, 8);
	one(256, 38, 38, 3, 2, 1, 1, 1, 9);
	one(64, 19, 19, 3, 2, 1, 1, 1, 10);
	one(64, 10, 10, 3, 1, 1, 1, 1, 11);
	one(64, 10, 10, 3, 2, 1, 1, 3, 12);
	one(64, 5, 5, 3, 1, 1, 1, 1, 13);
	one(64, 5, 5, 3, 2, 1, 1, 0, 14);
	one(64, 3, 3, 3, 1, 1, 1, 1, 15);
	one(64, 2, 2, 3, 1, 1, 1, 1, 16);
	one(64, 1, 1, 3, 1, 1, 1, 1, 17);
	/* less padding at the bottom and right than at the top and left */
	trim = 1;
	for (int w = 2; w <= 40; w += 3)
		one(5, w + 1, w, 3, 2, 1, 1, 1, 18 + (unsigned)w), one(5, w, w + 2, 3, 1, 1, 1, 0, 19);
	trim = 0;
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("dwconv");
	TCase *tc = tcase_create("dwconv");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, shapes);
	suite_add_tcase(s, tc);
	return s;
}
