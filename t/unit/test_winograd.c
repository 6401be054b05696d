/*
 * test_winograd.c - the Winograd F(4x4, 3x3) convolution: the portable
 * transforms (with the reference GEMM) against a direct convolution, and
 * the AVX-512 transforms against the portable ones, transform by transform
 * and end to end (with the AVX-512 GEMM), over map sizes 1x1 to 38x38 and
 * non-square, paddings 0, 1, 2 and asymmetric, channel counts 1 to 64,
 * blocks smaller than the image, and every activation.
 *
 * Tolerance: |got - want| <= 1e-4 * max |want| over the layer (the
 * engine's), with inputs and weights uniform in [-1, 1).  The transforms
 * alone (same arithmetic order in both twins, FMA contraction aside) are
 * held to 1e-5 of the largest value.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "kern/kern.h"
#include "kern/winograd.h"
#include "unit.h"

static float frand(unsigned *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)(*s >> 8) / (float)(1 << 24) * 2 - 1;
}

static float act(double s, int kind, float alpha)
{
	switch (kind) {
	case 1: return s > 0 ? (float)s : 0;
	case 2: return s > 0 ? (s < 6 ? (float)s : 6) : 0;
	case 3: return s > 0 ? (float)s : (float)s * alpha;
	}
	return (float)s;
}

static void direct(const struct feat_wino_args *a, const float *w, float *y)
{
	for (int o = 0; o < a->cout; o++)
		for (int oy = 0; oy < a->hout; oy++)
			for (int ox = 0; ox < a->wout; ox++) {
				double s = a->bias[o];

				for (int i = 0; i < a->cin; i++)
					for (int ky = 0; ky < 3; ky++)
						for (int kx = 0; kx < 3; kx++) {
							int iy = oy - a->pt + ky, ix = ox - a->pl + kx;

							if (iy >= 0 && iy < a->hin && ix >= 0 && ix < a->win)
								s += (double)w[((o * a->cin + i) * 3 + ky) * 3 + kx] *
								     a->x[((size_t)i * a->hin + iy) * a->win + ix];
						}
				y[((size_t)o * a->hout + oy) * a->wout + ox] = act(s, a->act, a->alpha);
			}
}

static float maxabs(const float *v, size_t n)
{
	float m = 0;

	for (size_t i = 0; i < n; i++)
		if (fabsf(v[i]) > m)
			m = fabsf(v[i]);
	return m;
}

static void close_all(const float *got, const float *want, size_t n, double rel,
	const char *what, int cin, int cout, int h, int w, int pt, int pl, int pb, int pr,
	int actk)
{
	double tol = rel * (maxabs(want, n) > 1e-3f ? maxabs(want, n) : 1e-3f);

	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabs((double)got[i] - want[i]) <= tol,
			      "%s cin%d cout%d %dx%d pad %d,%d,%d,%d act%d at %zu: %g != %g", what,
			      cin, cout, h, w, pt, pl, pb, pr, actk, i, got[i], want[i]);
}

static void one(int cin, int cout, int h, int w, int pt, int pl, int pb, int pr, int actk,
	int block, unsigned seed)
{
	struct feat_wino_args a = {
		.cin = cin, .hin = h, .win = w, .pt = pt, .pl = pl, .cout = cout,
		.act = actk, .alpha = 0.1f,
	};
	size_t nx = (size_t)cin * h * w, ny;
	float *x, *wt, *b, *u, *up, *y0, *y1, *y2, *work;
	int tiles;

	a.hout = h + pt + pb - 2;
	a.wout = w + pl + pr - 2;
	if (a.hout < 1 || a.wout < 1)
		return;
	ny = (size_t)cout * a.hout * a.wout;
	tiles = ((a.hout + 3) / 4) * ((a.wout + 3) / 4);
	a.block = block ? block : feat_wino_block(cin, cout, a.hout, a.wout);
	x = malloc(nx * sizeof *x);
	wt = malloc((size_t)cout * cin * 9 * sizeof *wt);
	b = malloc((size_t)cout * sizeof *b);
	u = malloc((size_t)36 * cout * cin * sizeof *u);
	y0 = malloc(ny * sizeof *y0);
	y1 = malloc(ny * sizeof *y1);
	y2 = malloc(ny * sizeof *y2);
	work = feat_aligned_alloc(feat_wino_work(cin, cout, a.block) * sizeof(float));
	for (size_t i = 0; i < nx; i++)
		x[i] = frand(&seed);
	for (int i = 0; i < cout * cin * 9; i++)
		wt[i] = frand(&seed);
	for (int i = 0; i < cout; i++)
		b[i] = frand(&seed);
	feat_wino_weights(wt, cout, cin, u);
	up = malloc(feat_wino_packed(cout, cin) * sizeof *up);
	feat_wino_pack(u, cout, cin, up);
	a.x = x, a.u = u, a.up = up, a.bias = b, a.work = work;

	a.y = y0;
	direct(&a, wt, y0);
	a.y = y1;
	a.k = feat_kern_get(FEAT_KERN_REF);
	ck_assert_int_eq(feat_wino_run(&a, NULL, 1), 0);
	close_all(y1, y0, ny, 1e-4, "ref", cin, cout, h, w, pt, pl, pb, pr, actk);

	if (feat_kern_cpu_avx512()) {
		/* each transform against its twin, over the whole image */
		int ld = (tiles + 31) / 32 * 32;
		size_t nv = 36 * feat_wino_plane(cin, ld), nm = 36 * feat_wino_plane(cout, ld);
		float *v0 = calloc(nv, sizeof *v0), *v1 = calloc(nv, sizeof *v1);
		float *m = malloc(nm * sizeof *m);

		feat_wino_input_ref(&a, 0, tiles, v0, ld);
		feat_kern_get(FEAT_KERN_AVX512)->wino_input(&a, 0, tiles, v1, ld);
		for (int xi = 0; xi < 36; xi++)
			for (int c = 0; c < cin; c++)
				for (int t = 0; t < tiles; t++) {
					size_t i = xi * feat_wino_plane(cin, ld) + (size_t)c * ld + t;

					ck_assert_msg(fabsf(v1[i] - v0[i]) <= 1e-5f * (1 + fabsf(v0[i])),
						      "input transform %dx%d xi%d c%d t%d: %g != %g", h, w,
						      xi, c, t, v1[i], v0[i]);
				}
		for (size_t i = 0; i < nm; i++)
			m[i] = frand(&seed);
		a.y = y1;
		feat_wino_output_ref(&a, 0, tiles, m, ld);
		a.y = y2;
		feat_kern_get(FEAT_KERN_AVX512)->wino_output(&a, 0, tiles, m, ld);
		close_all(y2, y1, ny, 1e-5, "output transform", cin, cout, h, w, pt, pl, pb, pr,
			  actk);
		free(v0), free(v1), free(m);

		/* end to end with the AVX-512 GEMM */
		a.k = feat_kern_get(FEAT_KERN_AVX512);
		memset(y2, 0xff, ny * sizeof *y2);   /* NaN: every output must be written */
		ck_assert_int_eq(feat_wino_run(&a, NULL, 1), 0);
		close_all(y2, y0, ny, 1e-4, "avx512", cin, cout, h, w, pt, pl, pb, pr, actk);
	}
	free(x), free(wt), free(b), free(u), free(up), free(y0), free(y1), free(y2), free(work);
}

START_TEST(sizes)
{
	static const int hw[][2] = {
		{ 1, 1 }, { 2, 2 }, { 3, 3 }, { 5, 5 }, { 7, 3 }, { 4, 9 }, { 19, 19 }, { 17, 23 },
	};
	unsigned seed = 11;

	for (size_t s = 0; s < sizeof hw / sizeof hw[0]; s++)
		for (int p = 0; p <= 2; p++)
			for (int actk = 0; actk < 4; actk++, seed++)
				one(1 + (int)(seed % 5), 1 + (int)(seed * 7 % 6), hw[s][0], hw[s][1],
				    p, p, p, p, actk, 0, seed);
	/* asymmetric padding (ONNX SAME_UPPER/LOWER, TF ports) */
	one(3, 4, 10, 11, 0, 1, 1, 2, 1, 0, 1);
	one(3, 4, 10, 11, 2, 0, 1, 0, 2, 0, 2);
	one(5, 2, 6, 13, 1, 2, 0, 1, 3, 0, 3);
}
END_TEST

START_TEST(channels)
{
	static const int cs[] = { 1, 2, 3, 8, 15, 16, 17, 31, 33, 64 };
	unsigned seed = 101;

	for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++, seed++)
		one(cs[i], cs[(i * 3 + 2) % 10], 9 + (int)i, 12 - (int)i / 2, 1, 1, 1, 1,
		    (int)(seed % 4), 0, seed);
	/* blocks smaller than the image: several blocks, a partial last one,
	 * and groups of 16 tiles that wrap from one tile row to the next */
	one(16, 24, 38, 38, 1, 1, 1, 1, 1, 32, 7);
	one(8, 8, 38, 38, 1, 1, 1, 1, 0, 64, 8);
	one(64, 64, 38, 38, 1, 1, 1, 1, 1, 0, 9);
	one(4, 6, 21, 50, 2, 1, 0, 2, 3, 32, 10);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("winograd");
	TCase *tc = tcase_create("winograd");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, channels);
	suite_add_tcase(s, tc);
	return s;
}
