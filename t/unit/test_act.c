/*
 * test_act.c - the AVX-512 activations, softmax and layer normalisation
 * (avx512/act.c, avx512/rows.c) against their plain C twins (ref/pool.c:
 * feat_act1 with libm's expf and erff; ref/rows.c: sums in double), and
 * the twins against the definitions.  The largest errors against libm,
 * over a grid of 400001 points in [-20, 20] and special values, relative
 * to max(1, |y|), as this test prints them: sigmoid 1.2e-7, SiLU 2.3e-7
 * (the vectorised exp is Cephes's polynomial), GELU 2.6e-7 (Abramowitz
 * and Stegun 7.1.26 for erf, whose own error is under 1.5e-7), hard
 * sigmoid 6e-8 and hard swish 1.2e-7 (a fused multiply-add), ReLU, ReLU6
 * and leaky exact.  Tolerances: 1e-6 for the activations, 1e-6 relative
 * for softmax, 3e-5 absolute for layer norm (float sums of up to 1000
 * terms against double ones).  At -inf SiLU is NaN by libm (-inf times
 * 0) and -inf on the fast path: both not finite, as the test accepts.
 * NaN in gives NaN out on both paths.  General max pooling (strides 1
 * and 2 on the AVX-512 path) equals its twin exactly; the mean of each
 * row (global average pooling) is within 1e-6 relative.  Max pooling over
 * 2x2 windows at stride 2 of every table equals the general twin exactly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern/act.h"
#include "kern/kern.h"
#include "unit.h"

static float frand(unsigned *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)(*s >> 8) / (float)(1 << 24) * 2 - 1;
}

static const struct feat_kern *fast(void)
{
	const struct feat_kern *k = feat_kern_get(FEAT_KERN_AVX512);

	return k->supported() ? k : NULL;
}

/* the twin against the definition, in double */
START_TEST(twin_definition)
{
	for (int i = -2000; i <= 2000; i++) {
		float v = (float)(i / 100.0);
		double x = v, sg = 1 / (1 + exp(-x));

		ck_assert(unit_close(feat_act1(v, 6, 0), sg, 1e-6, 1e-12));
		ck_assert(unit_close(feat_act1(v, 4, 0), x * sg, 1e-6, 1e-12));
		ck_assert(unit_close(feat_act1(v, 8, 0), 0.5 * x * (1 + erf(x / sqrt(2))), 1e-6,
				     1e-7));
		ck_assert(unit_close(feat_act1(v, 7, 1.0f / 6), fmin(fmax(x / 6 + 0.5, 0), 1), 1e-6,
				     1e-7));
		ck_assert(unit_close(feat_act1(v, 5, 1.0f / 6), x * fmin(fmax(x / 6 + 0.5, 0), 1),
				     1e-6, 1e-7));
	}
}
END_TEST

START_TEST(act_fast)
{
	const struct feat_kern *k = fast();
	size_t n = 400001;
	float *x, *y0, *y1;
	static const float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY, 100.0f, -100.0f,
					 1e-30f, -1e-30f, 87.5f, -87.5f, 3.0f, -3.0f };

	if (!k) {
		printf("# no AVX-512 here: skipped\n");
		return;
	}
	x = malloc((n + 16) * sizeof *x), y0 = malloc((n + 16) * sizeof *y0);
	y1 = malloc((n + 16) * sizeof *y1);
	ck_assert(x && y0 && y1);
	for (size_t i = 0; i < n; i++)
		x[i] = -20.0f + 40.0f * (float)i / (float)(n - 1);
	memcpy(x + n, special, sizeof special);
	x[n + 12] = NAN;
	for (int kind = 1; kind <= 8; kind++) {
		/* the whole grid, then short lengths (the masked tail) over
		 * its special values */
		for (size_t len = n + 13, l0 = 0; len > 0; len = len > 40 ? 33 : len - 1) {
			double worst = 0;

			l0 = len == n + 13 ? 0 : n + 13 - len;
			memcpy(y0 + l0, x + l0, len * sizeof *x);
			memcpy(y1 + l0, x + l0, len * sizeof *x);
			feat_act_ref(y0 + l0, len, kind, kind == 3 ? 0.1f : 1.0f / 6);
			k->act(y1 + l0, len, kind, kind == 3 ? 0.1f : 1.0f / 6);
			for (size_t i = l0; i < l0 + len; i++) {
				double e;

				if (isnan(x[i])) {
					ck_assert_msg(isnan(y0[i]) && isnan(y1[i]),
						      "kind %d x=%g: %g and %g", kind, x[i], y0[i], y1[i]);
					continue;
				}
				if (y0[i] == y1[i])
					continue;
				/* x sigmoid(x) at -inf: NaN (-inf times 0) by libm,
				 * -inf by the clamped exp; both not finite */
				if (!isfinite(y0[i]) || !isfinite(y1[i])) {
					ck_assert_msg(!isfinite(y0[i]) && !isfinite(y1[i]) && isinf(x[i]),
						      "kind %d x=%g: %g and %g", kind, x[i], y0[i], y1[i]);
					continue;
				}
				e = fabs((double)y0[i] - y1[i]) / fmax(1, fabs(y0[i]));
				ck_assert_msg(e <= 1e-6, "kind %d x=%.9g: ref %.9g avx512 %.9g", kind,
					      x[i], y0[i], y1[i]);
				worst = e > worst ? e : worst;
			}
			if (len == n + 13)
				printf("# act %d: max |avx512 - libm| / max(1, |y|) = %.2g\n", kind, worst);
		}
	}
	free(x), free(y0), free(y1);
}
END_TEST

START_TEST(rows_fast)
{
	const struct feat_kern *k = fast(), *r = feat_kern_get(FEAT_KERN_REF);
	static const size_t cs[] = { 1, 5, 15, 16, 17, 33, 197, 768, 1000 };
	unsigned seed = 7;

	for (size_t ci = 0; ci < sizeof cs / sizeof *cs; ci++) {
		size_t c = cs[ci], rows = 3, m = rows * c;
		float *x = malloc(m * sizeof *x), *y0 = malloc(m * sizeof *y0);
		float *y1 = malloc(m * sizeof *y1), *g = malloc(c * sizeof *g), *b = malloc(c * sizeof *b);

		ck_assert(x && y0 && y1 && g && b);
		for (size_t i = 0; i < m; i++)
			x[i] = 10 * frand(&seed) + (i / c == 2 ? 50 : 0);
		for (size_t i = 0; i < c; i++)
			g[i] = 1 + frand(&seed), b[i] = frand(&seed);
		r->softmax(x, y0, rows, c);
		for (size_t i = 0; i < rows; i++) {
			double s = 0;

			for (size_t j = 0; j < c; j++)
				s += y0[i * c + j];
			ck_assert(unit_close(s, 1, 1e-6, 0));
		}
		if (k) {
			k->softmax(x, y1, rows, c);
			for (size_t i = 0; i < m; i++)
				ck_assert_msg(unit_close(y1[i], y0[i], 1e-6, 1e-12), "softmax c=%zu [%zu]: %g %g",
					      c, i, y1[i], y0[i]);
			/* in place */
			memcpy(y1, x, m * sizeof *x);
			k->softmax(y1, y1, rows, c);
			for (size_t i = 0; i < m; i++)
				ck_assert(unit_close(y1[i], y0[i], 1e-6, 1e-12));
		}
		for (int gb = 0; gb < 2; gb++) {
			r->layernorm(x, y0, rows, c, 1e-5f, gb ? g : NULL, gb ? b : NULL);
			if (!gb && c > 1) {
				double s = 0;

				for (size_t j = 0; j < c; j++)
					s += y0[j];
				ck_assert(fabs(s / c) < 1e-5);
			}
			if (!k)
				continue;
			k->layernorm(x, y1, rows, c, 1e-5f, gb ? g : NULL, gb ? b : NULL);
			for (size_t i = 0; i < m; i++)
				ck_assert_msg(fabs(y1[i] - y0[i]) <= 1e-5 * 3, "layernorm c=%zu [%zu]: %g %g",
					      c, i, y1[i], y0[i]);
		}
		/* a NaN spoils its row only */
		x[c + c / 2] = NAN;
		if (k) {
			k->softmax(x, y1, rows, c);
			r->softmax(x, y0, rows, c);
			for (size_t j = 0; j < c; j++)
				ck_assert(isnan(y1[c + j]) && isnan(y0[c + j]) && !isnan(y1[j]));
		}
		free(x), free(y0), free(y1), free(g), free(b);
	}
}
END_TEST

/* general max pooling: the AVX-512 kernel against the plain twin, which
 * is checked against the definition (NaN wins, padding ignored) */
/* The mean of each row (global average pooling): the twin against a plain
 * double sum, the fast kernel against the twin within 1e-6 relative (float
 * sums of up to 1024 terms, added in double), rows from 1 value to 12544
 * (EfficientNet's first SE block, 112 x 112) with offsets so large that
 * float rounding of a single running sum would show. */
START_TEST(rowmean_fast)
{
	const struct feat_kern *k = fast(), *r = feat_kern_get(FEAT_KERN_REF);
	static const size_t cs[] = { 1, 7, 16, 17, 49, 63, 64, 65, 196, 1023, 1024, 1025, 3136,
				     12544 };
	unsigned seed = 11;

	for (size_t ci = 0; ci < sizeof cs / sizeof *cs; ci++) {
		size_t c = cs[ci], rows = 5, m = rows * c;
		float *x = malloc(m * sizeof *x), y0[5], y1[5];

		ck_assert(x);
		for (size_t i = 0; i < m; i++)
			x[i] = frand(&seed) + (i / c == 3 ? 1000 : 0);
		r->rowmean(x, y0, rows, c);
		for (size_t i = 0; i < rows; i++) {
			double s = 0;

			for (size_t j = 0; j < c; j++)
				s += x[i * c + j];
			ck_assert_msg(unit_close(y0[i], s / c, 1e-6, 1e-7), "rowmean ref c=%zu row %zu: %g %g",
				      c, i, y0[i], s / c);
		}
		if (k) {
			k->rowmean(x, y1, rows, c);
			for (size_t i = 0; i < rows; i++)
				ck_assert_msg(unit_close(y1[i], y0[i], 1e-6, 1e-7), "rowmean c=%zu row %zu: %g %g",
					      c, i, y1[i], y0[i]);
			/* a NaN spoils its row only */
			x[c + c / 2] = NAN;
			k->rowmean(x, y1, rows, c);
			ck_assert(isnan(y1[1]) && !isnan(y1[0]) && !isnan(y1[2]));
		}
		free(x);
	}
}
END_TEST

START_TEST(maxpool_fast)
{
	const struct feat_kern *k = fast(), *r = feat_kern_get(FEAT_KERN_REF);
	static const int cases[][6] = {   /* h, w, k, s, pad, ceil */
		{ 112, 112, 3, 2, 1, 0 }, { 7, 9, 3, 2, 1, 1 }, { 20, 37, 3, 1, 1, 0 },
		{ 5, 5, 5, 1, 2, 0 }, { 33, 50, 2, 2, 0, 1 }, { 4, 70, 3, 2, 0, 1 },
		{ 9, 9, 3, 3, 0, 0 }, { 1, 1, 3, 2, 1, 0 }, { 16, 17, 1, 2, 0, 0 },
	};
	unsigned seed = 3;

	for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
		int h = cases[ci][0], w = cases[ci][1], kk = cases[ci][2], s = cases[ci][3];
		int p = cases[ci][4], ce = cases[ci][5];
		int ho = (h + 2 * p - kk + (ce ? s - 1 : 0)) / s + 1;
		int wo = (w + 2 * p - kk + (ce ? s - 1 : 0)) / s + 1;
		float *x = malloc((size_t)h * w * sizeof *x);
		float *y0 = malloc((size_t)ho * wo * sizeof *y0), *y1 = malloc((size_t)ho * wo * sizeof *y1);

		ck_assert(x && y0 && y1);
		for (int i = 0; i < h * w; i++)
			x[i] = frand(&seed);
		if (h * w > 40)
			x[h * w / 2 + 3] = NAN;
		r->maxpool(x, h, w, y0, ho, wo, kk, kk, s, s, p, p);
		for (int oy = 0; oy < ho; oy++)
			for (int ox = 0; ox < wo; ox++) {
				float v = -INFINITY;
				int nan = 0;

				for (int iy = oy * s - p; iy < oy * s - p + kk; iy++)
					for (int ix = ox * s - p; ix < ox * s - p + kk; ix++)
						if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
							float u = x[iy * w + ix];

							nan |= isnan(u);
							v = u > v ? u : v;
						}
				if (nan)
					ck_assert(isnan(y0[oy * wo + ox]));
				else
					ck_assert(y0[oy * wo + ox] == v);
			}
		if (k) {
			k->maxpool(x, h, w, y1, ho, wo, kk, kk, s, s, p, p);
			for (int i = 0; i < ho * wo; i++)
				ck_assert_msg(y1[i] == y0[i] || (isnan(y1[i]) && isnan(y0[i])),
					      "case %zu [%d]: %g %g", ci, i, y1[i], y0[i]);
		}
		free(x), free(y0), free(y1);
	}
}
END_TEST

/*
 * Max pooling over 2x2 windows at stride 2 (maxpool2x2: avx512/maxpool.c
 * and its twin in ref/pool.c) of every table this CPU runs, by value,
 * against the general twin (feat_maxpool_ref, 2x2 at stride 2, no
 * padding): every width 1-70 (the vector loop's 16 outputs, none, one or
 * several times, and its tail), heights 1-9, outputs floor- and
 * ceil-rounded (the last column or row then half a window), three
 * channels one plane after another; outputs past the planes untouched.
 * The AVX-512 table must be among them where /proc/cpuinfo says the CPU
 * has AVX-512, so that the test cannot pass by skipping it.
 */
START_TEST(maxpool2x2_tables)
{
	enum { C = 3, PAD = 16 };
	const float guard = 12345.f;
	unsigned seed = 11;
	int ntab = 0, bad = 0;

	if (FEAT_KERN_X86 && unit_cpu_avx512())
		ck_assert_msg(feat_kern_get(FEAT_KERN_AVX512)->supported(),
			      "the CPU has AVX-512 F/BW/DQ/VL, the library offers no avx512 path");
	for (int ti = 0; ti < FEAT_KERN_COUNT; ti++) {
		const struct feat_kern *k = feat_kern_get(ti);

		if (!k->supported())
			continue;
		ntab++;
		for (int h = 1; h <= 9; h++)
			for (int w = 1; w <= 70; w++)
				for (int ce = 0; ce <= 1; ce++) {
					int ho = ce ? (h + 1) / 2 : h / 2, wo = ce ? (w + 1) / 2 : w / 2;
					size_t pin = (size_t)h * w, pout = (size_t)ho * wo;
					float *x, *y0, *y1;

					if (!ho || !wo)
						continue;
					x = malloc(C * pin * sizeof *x);
					y0 = malloc((C * pout + PAD) * sizeof *y0);
					y1 = malloc((C * pout + PAD) * sizeof *y1);
					ck_assert(x && y0 && y1);
					for (size_t i = 0; i < C * pin; i++)
						x[i] = frand(&seed) * 100;
					for (size_t i = 0; i < C * pout + PAD; i++)
						y0[i] = y1[i] = guard;
					for (int ch = 0; ch < C; ch++) {
						feat_maxpool_ref(x + ch * pin, h, w, y0 + ch * pout, ho, wo,
								 2, 2, 2, 2, 0, 0);
						k->maxpool2x2(x + ch * pin, h, w, y1 + ch * pout, ho, wo);
					}
					for (size_t i = 0; i < C * pout + PAD; i++)
						if (y1[i] != y0[i] && bad++ < 5)
							fprintf(stderr, "# %s maxpool2x2 h=%d w=%d -> %dx%d: "
								"[%zu] %g, want %g\n", k->name, h, w, ho, wo,
								i, y1[i], y0[i]);
					free(x), free(y0), free(y1);
				}
	}
	ck_assert_int_ge(ntab, 2);   /* the twin and OpenBLAS's at least */
	ck_assert_int_eq(bad, 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("act");
	TCase *tc = tcase_create("act");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, twin_definition);
	tcase_add_test(tc, act_fast);
	tcase_add_test(tc, rows_fast);
	tcase_add_test(tc, rowmean_fast);
	tcase_add_test(tc, maxpool_fast);
	tcase_add_test(tc, maxpool2x2_tables);
	suite_add_tcase(s, tc);
	return s;
}
