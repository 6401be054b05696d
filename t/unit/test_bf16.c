/*
 * test_bf16.c - the bf16 family (kern/bf16.h) held together:
 *
 *  - the rounding to bf16 (feat_bf16_round) against values worked out by
 *    hand: ties to even either way, the carry into the exponent, overflow
 *    to infinity, NaN kept (quiet), denormals to a zero of their sign;
 *  - every table's rounding of an image into padded pairs of channels
 *    against the twin's, bit for bit, over random, tie, denormal, huge and
 *    NaN values (so AVX-512's vcvtneps2bf16 rounds as the contract says),
 *    and the twin's against the definition at every padded position;
 *  - the packing of A (feat_bpack_a) and of a convolution's B panel (the
 *    int8 qpack_b over the pairs, cp doubled) against the definitions;
 *  - the panel product of the plain C twin against a triple loop in
 *    double on the same bf16 values, and of every other table (AVX-512
 *    BF16 where the CPU has it) against the twin, over an edge sweep of M
 *    (1 to 40), n (1 to 260: one panel or several, every tail), K (odd
 *    and even, 1 to 4609) with bias and ReLU; columns past n and rows past
 *    M of C stay as they were.  Tolerance: each fp32 sum of K products
 *    may be off by K roundings of the running sum, |got - want| <=
 *    K 2^-24 (sum_k |a_k b_k| + |bias|), for the twin against double; two
 *    of them for a table against the twin (the instruction adds a pair's
 *    products in its own order);
 *  - the inner product of one vector, every table against a double loop,
 *    with the same bound.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "base/internal.h"
#include "kern/bf16.h"
#include "kern/int8.h"
#include "kern/kern.h"
#include "unit.h"

static unsigned rng = 1616;

static unsigned rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* A float in about [-2, 2], mixed magnitudes. */
static float val(void)
{
	return (float)((int)(rnd() % 20001) - 10000) * 1e-4f * (rnd() % 4 ? 1.0f : 0.01f);
}

static float bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

/* The tables with a bf16 product on this CPU. */
static int tables(const struct feat_kern **t)
{
	int n = 0;

	for (int i = 0; i < FEAT_KERN_COUNT; i++)
		if (feat_kern_get(i)->supported() && feat_kern_get(i)->bgemm)
			t[n++] = feat_kern_get(i);
	return n;
}

START_TEST(tables_present)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];

	/* the plain C twin is always there; AVX-512 BF16 joins it where the
	 * CPU has it (so /proc/cpuinfo says, not the library: a bf16 path the
	 * library stops offering must fail here); OpenBLAS has none (bf16
	 * layers run fp32 there) */
	int want_fast = FEAT_KERN_X86 && unit_cpu_avx512() && unit_cpu_has("avx512_bf16");

	ck_assert_ptr_nonnull(feat_kern_get(FEAT_KERN_REF)->bgemm);
	ck_assert_int_eq(tables(t), 1 + want_fast);
	ck_assert_ptr_null(feat_kern_get(FEAT_KERN_BLAS)->bgemm);
	ck_assert_ptr_null(feat_kern_get(FEAT_KERN_BLAS)->bgemv);
}
END_TEST

START_TEST(rounding)
{
	static const struct {
		uint32_t in;
		uint16_t out;
	} c[] = {
		{ 0x3f800000u, 0x3f80 },   /* 1 */
		{ 0x3f808000u, 0x3f80 },   /* 1 + 2^-8: a tie, down to even */
		{ 0x3f818000u, 0x3f82 },   /* 1 + 3 2^-8: a tie, up to even */
		{ 0x3f808001u, 0x3f81 },   /* just past the tie: up */
		{ 0x3f807fffu, 0x3f80 },   /* just under: down */
		{ 0xbf818000u, 0xbf82 },   /* negative tie, away to even */
		{ 0x3fffc000u, 0x4000 },   /* carry into the exponent: 2 */
		{ 0x7f7fffffu, 0x7f80 },   /* FLT_MAX rounds to infinity */
		{ 0x7f800000u, 0x7f80 },   /* +inf */
		{ 0xff800000u, 0xff80 },   /* -inf */
		{ 0x7f800001u, 0x7fc0 },   /* a signalling NaN becomes quiet */
		{ 0xffc12345u, 0xffc1 },   /* a quiet NaN keeps sign and top bits */
		{ 0x00000001u, 0x0000 },   /* denormals: zero of their sign */
		{ 0x807fffffu, 0x8000 },
		{ 0x00800000u, 0x0080 },   /* the smallest normal stays */
		{ 0x80000000u, 0x8000 },   /* -0 */
	};

	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		uint16_t got = feat_bf16_round(bits(c[i].in));

		if (got != c[i].out)
			ck_abort_msg("bf16(0x%08x) = 0x%04x, want 0x%04x", c[i].in, got, c[i].out);
	}
	ck_assert(feat_bf16_float(0x3f82) == 1.0f + 1.0f / 64);
}
END_TEST

/* The image rounding of every table against the twin, and the twin and
 * the B panel packing (int8's qpack_b, cp doubled) against their
 * definitions: channel ch of padded pixel (y, x) at [ch / 2][y][x][ch % 2]. */
#define IDX(ch, y, x) ((((size_t)(ch) / 2 * hp + (y)) * wp + (x)) * 2 + (ch) % 2)
static int check_pack(int c, int h, int w, int kh, int kw, int s, int d, int pt, int pl, int pb,
	int pr)
{
	int cp = (c + 1) / 2 * 2, hp = h + pt + pb, wp = w + pl + pr;
	int hout = (hp - d * (kh - 1) - 1) / s + 1, wout = (wp - d * (kw - 1) - 1) / s + 1;
	long hw = (long)hout * wout;
	int K = kh * kw * cp, bad = 0;
	size_t nx = (size_t)c * h * w, nb = (size_t)hp * wp * cp;
	float *x = malloc(sizeof(float) * nx);
	uint16_t *xb = malloc(2 * nb), *xb2 = malloc(2 * nb), *bp = malloc(2 * (size_t)K * FEAT_B_NR);
	const struct feat_kern *t[FEAT_KERN_COUNT];
	int nt = tables(t);
	struct feat_qconv_geom g = { .cp = 2 * cp, .hp = hp, .wp = wp, .kh = kh, .kw = kw,
				     .sh = s, .sw = s, .dh = d, .dw = d, .hout = hout,
				     .wout = wout };
	static const uint32_t special[] = { 0x3f808000u, 0x3f818000u, 0x00000001u, 0x807fffffu,
					    0x7f7fffffu, 0x7fc00000u, 0xff800000u, 0x80000000u };

	ck_assert_ptr_nonnull(x && xb && xb2 && bp ? x : NULL);
	for (size_t i = 0; i < nx; i++)
		x[i] = rnd() % 8 ? val() : bits(special[rnd() % 8]);
	feat_bf16_c2_ref(x, c, h, w, xb, cp, pt, pl, pb, pr);
	for (int ti = 0; ti < FEAT_KERN_COUNT; ti++) {
		const struct feat_kern *k = feat_kern_get(ti);

		if (!k->supported())
			continue;
		memset(xb2, 0x33, 2 * nb);
		k->bf16_c2(x, c, h, w, xb2, cp, pt, pl, pb, pr);
		if (memcmp(xb, xb2, 2 * nb) && bad++ < 5)
			fprintf(stderr, "# %s bf16_c2 differs from the twin\n", k->name);
	}
	(void)nt;
	for (int y = 0; y < hp; y++)
		for (int xx = 0; xx < wp; xx++)
			for (int ch = 0; ch < cp; ch++) {
				int iy = y - pt, ix = xx - pl;
				uint16_t want = 0;

				if (iy >= 0 && iy < h && ix >= 0 && ix < w && ch < c)
					want = feat_bf16_round(x[((size_t)ch * h + iy) * w + ix]);
				if (xb[IDX(ch, y, xx)] != want && bad++ < 5)
					fprintf(stderr, "# c2 (%d,%d,%d): %04x, want %04x\n", y, xx, ch,
						xb[IDX(ch, y, xx)], want);
			}
	for (long j0 = 0; j0 < hw; j0 += FEAT_B_NR) {
		int n = hw - j0 < FEAT_B_NR ? (int)(hw - j0) : FEAT_B_NR;

		feat_kern_get(FEAT_KERN_REF)->qpack_b(&g, (const uint8_t *)xb, j0, n, (uint8_t *)bp);
		for (int k = 0; k < K; k++)
			for (int j = 0; j < FEAT_B_NR; j++) {
				int tap = k / cp, ch = k % cp, ky = tap / kw, kx = tap % kw;
				uint16_t want = 0;

				if (j < n) {
					int oy = (int)((j0 + j) / wout), ox = (int)((j0 + j) % wout);

					want = xb[IDX(ch, oy * s + ky * d, ox * s + kx * d)];
				}
				if (bp[((size_t)(k / 2) * FEAT_B_NR + j) * 2 + k % 2] != want &&
				    bad++ < 5)
					fprintf(stderr, "# panel %ld k=%d j=%d: wrong value\n", j0, k, j);
			}
	}
	free(x), free(xb), free(xb2), free(bp);
	return bad;
}

START_TEST(packing)
{
	int bad = 0;

	bad += check_pack(5, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1);
	bad += check_pack(5, 7, 6, 3, 3, 2, 1, 1, 0, 2, 1);
	bad += check_pack(8, 9, 9, 3, 3, 1, 2, 2, 2, 2, 2);
	bad += check_pack(3, 5, 40, 1, 1, 1, 1, 0, 0, 0, 0);
	bad += check_pack(1, 5, 17, 1, 1, 1, 1, 0, 0, 0, 0);
	bad += check_pack(16, 12, 11, 1, 3, 1, 1, 0, 1, 0, 1);
	bad += check_pack(7, 3, 37, 3, 3, 1, 1, 1, 1, 1, 1);
	bad += check_pack(12, 4, 70, 3, 3, 2, 1, 1, 1, 0, 0);
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* One M x n x ka case: the twin against double, the other tables against
 * the twin.  Returns the number of mismatches. */
static int check_case(int M, int n, int ka, int relu)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	int nt = tables(t), bad = 0, K = (ka + 1) / 2 * 2, np = (n + FEAT_B_NR - 1) / FEAT_B_NR;
	int ldc = np * FEAT_B_NR + 3;
	float *A = malloc(sizeof(float) * (size_t)M * ka), *B = malloc(sizeof(float) * (size_t)ka * n);
	uint16_t *ap = feat_aligned_alloc(2 * feat_bpack_a_elems(M, K) + 64);
	uint16_t *bp = feat_aligned_alloc(2 * (size_t)K * FEAT_B_NR * np);
	double *want = malloc(sizeof(double) * (size_t)M * n), *mag = malloc(sizeof(double) * (size_t)M * n);
	float *c = malloc(sizeof(float) * (size_t)(M + 1) * ldc), *c0 = malloc(sizeof(float) * (size_t)(M + 1) * ldc);
	float *bias = malloc(sizeof(float) * M);

	ck_assert_ptr_nonnull(A && B && ap && bp && want && mag && c && c0 && bias ? A : NULL);
	for (size_t i = 0; i < (size_t)M * ka; i++)
		A[i] = val();
	for (size_t i = 0; i < (size_t)ka * n; i++)
		B[i] = val();
	for (int m = 0; m < M; m++)
		bias[m] = val();
	/* the products the kernels make: of the bf16-rounded values */
	for (int m = 0; m < M; m++)
		for (int j = 0; j < n; j++) {
			double s = bias[m], a = fabs(bias[m]);

			for (int k = 0; k < ka; k++) {
				double p = (double)feat_bf16_float(feat_bf16_round(A[(size_t)m * ka + k])) *
					   feat_bf16_float(feat_bf16_round(B[(size_t)k * n + j]));

				s += p;
				a += fabs(p);
			}
			want[(size_t)m * n + j] = relu && s < 0 ? 0 : s;
			mag[(size_t)m * n + j] = a;
		}
	feat_bpack_a(ap, A, (size_t)ka, M, ka);
	/* B's panels by hand: [n/NR][K/2][NR][2], zero past n and ka */
	memset(bp, 0xee, 2 * (size_t)K * FEAT_B_NR * np);
	for (int k = 0; k < K; k++)
		for (int j = 0; j < np * FEAT_B_NR; j++)
			bp[(size_t)(j / FEAT_B_NR) * K * FEAT_B_NR +
			   ((size_t)(k / 2) * FEAT_B_NR + j % FEAT_B_NR) * 2 + k % 2] =
				j < n && k < ka ? feat_bf16_round(B[(size_t)k * n + j]) : 0;
	for (int ti = 0; ti < nt; ti++) {
		struct feat_bgemm_args a = {
			.M = M, .K = K, .n = n, .ap = ap, .bp = bp, .C = c, .ldc = (size_t)ldc,
			.bias = bias, .relu = relu,
		};

		for (size_t i = 0; i < (size_t)(M + 1) * ldc; i++)
			c[i] = 7.25f;
		t[ti]->bgemm(&a);
		if (ti == 0)
			memcpy(c0, c, sizeof(float) * (size_t)(M + 1) * ldc);
		for (int m = 0; m <= M; m++)
			for (int j = 0; j < ldc; j++) {
				float got = c[(size_t)m * ldc + j];
				double w = 7.25, tol = 0;

				if (m < M && j < n) {
					tol = ldexp(mag[(size_t)m * n + j] * K, -24);
					w = want[(size_t)m * n + j];
					if (ti) {   /* against the twin */
						w = c0[(size_t)m * ldc + j];
						tol *= 2;
					}
				}
				if (!(fabs(got - w) <= tol) && bad++ < 5)
					fprintf(stderr, "# %s M=%d n=%d K=%d (%d,%d): %.9g, want %.9g (tol %.3g)\n",
						t[ti]->name, M, n, ka, m, j, got, w, tol);
			}
	}
	free(A), free(B), free(ap), free(bp), free(want), free(mag), free(c), free(c0), free(bias);
	return bad;
}

START_TEST(edges)
{
	int bad = 0;

	ck_assert_int_eq(tables((const struct feat_kern *[FEAT_KERN_COUNT]){ 0 }) > 0 &&
			 !strcmp(feat_kern_get(FEAT_KERN_REF)->name, "ref"), 1);
	for (int M = 1; M <= 40; M++)
		bad += check_case(M, 1 + (M * 7) % 32, 1 + M % 19, M & 1);
	for (int n = 1; n <= 32; n++)
		bad += check_case(13, n, 27 + n % 2, n & 1);
	for (int K = 1; K <= 1030; K += 73)
		bad += check_case(25, 32, K, 0);
	bad += check_case(64, 40, 4609, 1);
	/* several panels a call: every edge of the last one */
	for (int n = 33; n <= 260; n += 19)
		bad += check_case(1 + n % 29, n, 2 * (1 + n % 13) - n % 2, n & 1);
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* The inner product of one vector: every table's against a double loop. */
START_TEST(gemv)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	int nt = tables(t), bad = 0;

	for (int K = 1; K <= 700; K += 53)
		for (int M = 1; M <= 11; M += 3) {
			size_t ldw = ((size_t)K + 31) / 32 * 32;
			uint16_t *w = calloc((size_t)M * ldw, 2), *x = calloc(ldw, 2);
			float xf[700], y[16], bias[16];

			for (int m = 0; m < M; m++) {
				float row[700];

				for (int k = 0; k < K; k++)
					row[k] = val();
				feat_bf16_vec(row, (size_t)K, w + (size_t)m * ldw);
				bias[m] = val();
			}
			for (int k = 0; k < K; k++)
				xf[k] = val();
			feat_bf16_vec(xf, (size_t)K, x);
			for (int ti = 0; ti < nt; ti++)
				for (int relu = 0; relu < 2; relu++) {
					struct feat_bgemv_args a = {
						.m0 = 0, .m1 = M, .ldw = ldw, .w = w, .x = x, .y = y,
						.bias = bias, .relu = relu,
					};

					for (int m = 0; m < 16; m++)
						y[m] = 7.25f;
					t[ti]->bgemv(&a);
					for (int m = 0; m < 16; m++) {
						double want = 7.25, tol = 0;

						if (m < M) {
							double s = bias[m], mg = fabs(bias[m]);

							for (int k = 0; k < K; k++) {
								double p = (double)feat_bf16_float(w[(size_t)m * ldw + k]) *
									   feat_bf16_float(x[k]);

								s += p;
								mg += fabs(p);
							}
							want = relu && s < 0 ? 0 : s;
							tol = ldexp(mg * (K + 1), -24);
						}
						if (!(fabs(y[m] - want) <= tol) && bad++ < 5)
							fprintf(stderr, "# %s gemv K=%d M=%d row %d: %g, want %g\n",
								t[ti]->name, K, M, m, y[m], want);
					}
				}
			free(w);
			free(x);
		}
	ck_assert_int_eq(bad, 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("bf16");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tables_present);
	tcase_add_test(tc, rounding);
	tcase_add_test(tc, edges);
	tcase_add_test(tc, packing);
	tcase_add_test(tc, gemv);
	suite_add_tcase(s, tc);
	return s;
}
