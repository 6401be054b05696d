/*
 * test_conv3.c - the AVX-512 first-layer kernel (kern/conv3.h) against its
 * plain C twin, and the twin against the definition written out in
 * double, over 1 to 4 input channels, output channel counts around the
 * block of 16, strides 1 and 2, maps from 1x1 up, around the vector
 * length and not square, the output one row and column short of
 * symmetric padding, every activation, and the first layers of
 * MobileNet-SSD (300x300, stride 2) and VGG16 (224x224, stride 1).
 * Tolerance: |fast - ref| <= 1e-5 * (1 + |ref|) (sums of at most 36
 * terms of magnitude below 1).
 */
#include <math.h>
#include <stdlib.h>

#include "base/internal.h"
#include "kern/conv3.h"
#include "kern/kern.h"
#include "unit.h"

static float frand(unsigned *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)(*s >> 8) / (float)(1 << 24) * 2 - 1;
}

static double direct(const struct feat_conv3_args *a, int co, int oy, int ox)
{
	double s = a->bias[co];

	for (int ci = 0; ci < a->cin; ci++)
		for (int ky = 0; ky < 3; ky++)
			for (int kx = 0; kx < 3; kx++) {
				int iy = oy * a->s - 1 + ky, ix = ox * a->s - 1 + kx;

				if (iy >= 0 && iy < a->hin && ix >= 0 && ix < a->win)
					s += (double)a->w[((co * a->cin + ci) * 3 + ky) * 3 + kx] *
					     a->x[((size_t)ci * a->hin + iy) * a->win + ix];
			}
	switch (a->act) {
	case 1: return s > 0 ? s : 0;
	case 2: return s > 0 ? (s < 6 ? s : 6) : 0;
	case 3: return s > 0 ? s : s * a->alpha;
	}
	return s;
}

static void one(int cin, int cout, int hin, int win, int s, int trim, int act, unsigned seed,
	int check_direct)
{
	struct feat_conv3_args a = {
		.cin = cin, .hin = hin, .win = win, .cout = cout, .s = s, .act = act,
		.alpha = 0.1f,
	};
	size_t nx = (size_t)cin * hin * win, ny;
	float *x = malloc(nx * sizeof *x), *w = malloc((size_t)cout * cin * 9 * sizeof *w);
	float *b = malloc((size_t)cout * sizeof *b), *y0, *y1, *wp;

	a.hout = (hin - 1) / s + 1 - trim;
	a.wout = (win - 1) / s + 1 - trim;
	if (a.hout < 1 || a.wout < 1) {
		free(x), free(w), free(b);
		return;
	}
	ny = (size_t)cout * a.hout * a.wout;
	y0 = malloc(ny * sizeof *y0);
	y1 = malloc(ny * sizeof *y1);
	ck_assert(x && w && b && y0 && y1);
	for (size_t i = 0; i < nx; i++)
		x[i] = frand(&seed);
	for (int i = 0; i < cout * cin * 9; i++)
		w[i] = frand(&seed);
	for (int i = 0; i < cout; i++)
		b[i] = frand(&seed);
	a.x = x, a.w = w, a.bias = b, a.y = y0;
	feat_conv3_ref(&a);
	if (check_direct)
		for (int co = 0; co < cout; co++)
			for (int oy = 0; oy < a.hout; oy++)
				for (int ox = 0; ox < a.wout; ox++) {
					double want = direct(&a, co, oy, ox);
					float got = y0[((size_t)co * a.hout + oy) * a.wout + ox];

					ck_assert_msg(fabs(got - want) <= 1e-5 * (1 + fabs(want)),
						      "ref cin%d cout%d %dx%d s%d: %g != %g", cin, cout,
						      hin, win, s, got, want);
				}
	if (feat_kern_cpu_avx512()) {
		wp = feat_aligned_alloc(feat_conv3_pack_floats(cout, cin) * sizeof(float));
		ck_assert_ptr_nonnull(wp);
		feat_conv3_pack(wp, w, cout, cin);
		a.wp = wp;
		a.y = y1;
		feat_kern_get(FEAT_KERN_AVX512)->conv3(&a);
		for (size_t i = 0; i < ny; i++)
			ck_assert_msg(fabsf(y1[i] - y0[i]) <= 1e-5f * (1 + fabsf(y0[i])),
				      "avx512 cin%d cout%d %dx%d s%d trim%d act%d at %zu: %g != %g",
				      cin, cout, hin, win, s, trim, act, i, y1[i], y0[i]);
		free(wp);
	}
	free(x), free(w), free(b), free(y0), free(y1);
}

START_TEST(shapes)
{
	static const int sizes[] = { 1, 2, 3, 5, 16, 17, 31, 32, 33, 40 };
	static const int couts[] = { 1, 7, 16, 17, 32, 40 };
	unsigned seed = 11;

	for (int cin = 1; cin <= 4; cin++)
		for (size_t k = 0; k < sizeof couts / sizeof couts[0]; k++)
			for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
				for (int s = 1; s <= 2; s++, seed++)
					one(cin, couts[k], sizes[i], sizes[(i + 3) % 10], s,
					    (int)(seed % 3 == 0), (int)(seed % 4), seed, 1);
	/* the first layers of MobileNet-SSD and VGG16 */
	one(3, 32, 300, 300, 2, 0, 1, 1, 0);
	one(3, 64, 224, 224, 1, 0, 1, 2, 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("conv3");
	TCase *tc = tcase_create("conv3");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, shapes);
	suite_add_tcase(s, tc);
	return s;
}
