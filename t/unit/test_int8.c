/*
 * test_int8.c - the int8 family (kern/int8.h) held together:
 *
 *  - the s32 sums of every table's panel product (the plain C twin; VNNI
 *    where the CPU has it) equal, exactly, a triple loop over the unpacked
 *    matrices written here, for edge sizes of M (1 to 40), n (1 to 32) and
 *    K (4 to 1028), over one panel of B or several (n up to 260), with the packing of A done by feat_qpack_a and that of
 *    B by hand;
 *  - the fp32 epilogue ((sum - comp) * scale + bias, ReLU) against the
 *    same computed in double: |got - want| <= 2^-20 (|sum - comp| scale +
 *    |bias|), a few float roundings (the VNNI path fuses the multiply-add,
 *    the twin rounds twice); columns past n and rows past M of C stay as
 *    they were;
 *  - the inner product of one vector (fc layers) of every table against a
 *    loop, with the same tolerance;
 *  - the quantisation into padded groups of four channels (every table's
 *    against the twin, byte for byte) and the packing of a convolution's
 *    B panel against the definitions: every byte, for strides 1 and 2,
 *    dilation 1 and 2, asymmetric padding, channels not a multiple of 4,
 *    zero points 0 and 128 (rounding to nearest, clamping at 0 and 255,
 *    and values past 2^31 steps, infinities and NaN: 255, 255 and 0).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "base/internal.h"
#include "kern/int8.h"
#include "kern/kern.h"
#include "unit.h"

static unsigned rng = 4242;

static unsigned rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* The tables with an int8 product on this CPU. */
static int tables(const struct feat_kern **t)
{
	int n = 0;

	for (int i = 0; i < FEAT_KERN_COUNT; i++)
		if (feat_kern_get(i)->supported() && feat_kern_get(i)->qgemm)
			t[n++] = feat_kern_get(i);
	return n;
}

/* One M x n x K case on every table; returns the number of mismatches. */
static int check_case(int M, int n, int K, int relu)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	int nt = tables(t), bad = 0, np = (n + FEAT_Q_NR - 1) / FEAT_Q_NR, ldc = np * FEAT_Q_NR + 3;
	int8_t *A = malloc((size_t)M * K), *ap = feat_aligned_alloc(feat_qpack_a_bytes(M, K) + 64);
	uint8_t *B = malloc((size_t)K * n), *bp = feat_aligned_alloc((size_t)K * FEAT_Q_NR * np);
	int32_t *want = malloc(sizeof(int32_t) * (size_t)M * n), *comp = malloc(sizeof(int32_t) * M);
	int32_t *c32 = malloc(sizeof(int32_t) * (size_t)(M + 1) * ldc);
	float *c = malloc(sizeof(float) * (size_t)(M + 1) * ldc), *scale = malloc(sizeof(float) * M);
	float *bias = malloc(sizeof(float) * M);

	ck_assert_ptr_nonnull(A && ap && B && bp && want && comp && c32 && c && scale && bias ? A : NULL);
	for (size_t i = 0; i < (size_t)M * K; i++)
		A[i] = (int8_t)((int)(rnd() % 255) - 127);
	for (size_t i = 0; i < (size_t)K * n; i++)
		B[i] = (uint8_t)(rnd() % 256);
	/* the extremes somewhere: -127 x 255 */
	A[0] = -127, B[0] = 255;
	for (int m = 0; m < M; m++) {
		comp[m] = (int32_t)(rnd() % 100000) - 50000;
		scale[m] = (float)(rnd() % 1000 + 1) * 1e-5f;
		bias[m] = (float)((int)(rnd() % 2001) - 1000) * 1e-2f;
		for (int j = 0; j < n; j++) {
			int32_t s = 0;

			for (int k = 0; k < K; k++)
				s += (int32_t)A[(size_t)m * K + k] * (int32_t)B[(size_t)k * n + j];
			want[(size_t)m * n + j] = s;
		}
	}
	feat_qpack_a(ap, A, (size_t)K, M, K);
	/* B's panels by hand: [n/NR][K/4][NR][4], zero past n */
	memset(bp, 0xee, (size_t)K * FEAT_Q_NR * np);
	for (int k = 0; k < K; k++)
		for (int j = 0; j < np * FEAT_Q_NR; j++)
			bp[(size_t)(j / FEAT_Q_NR) * K * FEAT_Q_NR +
			   ((size_t)(k / 4) * FEAT_Q_NR + j % FEAT_Q_NR) * 4 + k % 4] =
				j < n ? B[(size_t)k * n + j] : 0;
	for (int ti = 0; ti < nt; ti++) {
		struct feat_qgemm_args a = {
			.M = M, .K = K, .n = n, .ap = ap, .bp = bp, .C32 = c32, .ldc = (size_t)ldc,
			.scale = scale, .comp = comp, .bias = bias, .relu = relu,
		};

		for (size_t i = 0; i < (size_t)(M + 1) * ldc; i++)
			c32[i] = 0x5a5a5a5a, c[i] = 7.25f;
		t[ti]->qgemm(&a);
		for (int m = 0; m <= M; m++)
			for (int j = 0; j < ldc; j++) {
				int32_t got = c32[(size_t)m * ldc + j];
				int32_t w = m < M && j < n ? want[(size_t)m * n + j] : 0x5a5a5a5a;

				if (got != w && bad++ < 5)
					fprintf(stderr, "# %s s32 M=%d n=%d K=%d (%d,%d): %d, want %d\n",
						t[ti]->name, M, n, K, m, j, got, w);
			}
		a.C32 = NULL;
		a.C = c;
		t[ti]->qgemm(&a);
		for (int m = 0; m <= M; m++)
			for (int j = 0; j < ldc; j++) {
				float got = c[(size_t)m * ldc + j];
				double w = 7.25, tol = 0;

				if (m < M && j < n) {
					double d = (double)want[(size_t)m * n + j] - comp[m];

					w = d * scale[m] + bias[m];
					if (relu && w < 0)
						w = 0;
					tol = ldexp(fabs(d) * scale[m] + fabs(bias[m]), -20);
				}
				if (!(fabs(got - w) <= tol) && bad++ < 5)
					fprintf(stderr, "# %s fp32 M=%d n=%d K=%d (%d,%d): %.9g, want %.9g\n",
						t[ti]->name, M, n, K, m, j, got, w);
			}
	}
	free(A), free(ap), free(B), free(bp), free(want), free(comp), free(c32), free(c);
	free(scale), free(bias);
	return bad;
}

START_TEST(tables_present)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];

	/* the plain C twin is always there; VNNI joins it where the CPU has
	 * it (so /proc/cpuinfo says, not the library: a VNNI path the library
	 * stops offering must fail here) */
	int want_fast = FEAT_KERN_X86 && unit_cpu_avx512() && unit_cpu_has("avx512_vnni");

	ck_assert_ptr_nonnull(feat_kern_get(FEAT_KERN_REF)->qgemm);
	ck_assert_int_eq(tables(t), 1 + want_fast);
	ck_assert_ptr_null(feat_kern_get(FEAT_KERN_BLAS)->qgemm);
}
END_TEST

START_TEST(edges)
{
	int bad = 0;

	for (int M = 1; M <= 40; M++)
		bad += check_case(M, 1 + (M * 7) % 32, 4 * (1 + M % 9), M & 1);
	for (int n = 1; n <= 32; n++)
		bad += check_case(13, n, 36, n & 1);
	for (int K = 4; K <= 1028; K += 4 * 37)
		bad += check_case(25, 32, K, 0);
	bad += check_case(64, 32, 4608, 1);
	/* several panels a call: every edge of the last one */
	for (int n = 33; n <= 260; n += 19)
		bad += check_case(1 + n % 29, n, 4 * (1 + n % 13), n & 1);
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* The bytes of feat_quant_c4_ref (and every table's quant_c4) and of
 * feat_qpack_b_conv against their definitions: channel ch of padded pixel
 * (y, x) at [ch / 4][y][x][ch % 4]. */
#define IDX(ch, y, x) ((((size_t)(ch) / 4 * hp + (y)) * wp + (x)) * 4 + (ch) % 4)
static int check_pack(int c, int h, int w, int kh, int kw, int s, int d, int pt, int pl, int pb,
	int pr, int zp)
{
	int cp = (c + 3) / 4 * 4, hp = h + pt + pb, wp = w + pl + pr;
	int hout = (hp - d * (kh - 1) - 1) / s + 1, wout = (wp - d * (kw - 1) - 1) / s + 1;
	long hw = (long)hout * wout;
	int K = kh * kw * cp, bad = 0;
	float sx = 0.05f, *x = malloc(sizeof(float) * (size_t)c * h * w);
	uint8_t *xq = malloc((size_t)hp * wp * cp), *bp = malloc((size_t)K * FEAT_Q_NR);
	uint8_t *xq2 = malloc((size_t)hp * wp * cp);
	const struct feat_kern *t[FEAT_KERN_COUNT];
	int nt = tables(t);
	struct feat_qconv_geom g = { .cp = cp, .hp = hp, .wp = wp, .kh = kh, .kw = kw, .sh = s,
				     .sw = s, .dh = d, .dw = d, .hout = hout, .wout = wout };

	for (int i = 0; i < c * h * w; i++)
		x[i] = (float)((int)(rnd() % 8001) - 4000) * 0.01f;   /* -40 .. 40: clamps */
	x[0] = 0.025f;    /* a tie: 0.5 steps rounds to even, 0 */
	if (c * h * w >= 8) {
		/* past 2^31 steps, infinite, not a number: 255 or 0, never
		 * what a float-to-int conversion gives out of range */
		x[1] = 1e30f, x[2] = INFINITY, x[3] = 1.5e8f, x[4] = -INFINITY;
		x[5] = -1e30f, x[6] = NAN, x[7] = -1.5e8f;
	}
	feat_quant_c4_ref(x, c, h, w, 1 / sx, zp, xq, cp, pt, pl, pb, pr);
	for (int ti = 0; ti < nt; ti++) {
		memset(xq2, 0x33, (size_t)hp * wp * cp);
		t[ti]->quant_c4(x, c, h, w, 1 / sx, zp, xq2, cp, pt, pl, pb, pr);
		if (memcmp(xq, xq2, (size_t)hp * wp * cp) && bad++ < 5)
			fprintf(stderr, "# %s quant_c4 differs from the twin\n", t[ti]->name);
	}
	for (int y = 0; y < hp; y++)
		for (int xx = 0; xx < wp; xx++)
			for (int ch = 0; ch < cp; ch++) {
				int iy = y - pt, ix = xx - pl, want = zp;

				if (iy >= 0 && iy < h && ix >= 0 && ix < w && ch < c) {
					double v = rint(x[((size_t)ch * h + iy) * w + ix] / sx) + zp;

					want = !(v > 0) ? 0 : v > 255 ? 255 : (int)v;   /* NaN: 0 */
				}
				if (xq[IDX(ch, y, xx)] != want && bad++ < 5)
					fprintf(stderr, "# c4 (%d,%d,%d): %d, want %d\n", y, xx, ch,
						xq[IDX(ch, y, xx)], want);
			}
	for (long j0 = 0; j0 < hw; j0 += FEAT_Q_NR) {
		int n = hw - j0 < FEAT_Q_NR ? (int)(hw - j0) : FEAT_Q_NR;

		feat_qpack_b_conv(&g, xq, j0, n, bp);
		for (int k = 0; k < K; k++)
			for (int j = 0; j < FEAT_Q_NR; j++) {
				int tap = k / cp, ch = k % cp, ky = tap / kw, kx = tap % kw, want = 0;

				if (j < n) {
					int oy = (int)((j0 + j) / wout), ox = (int)((j0 + j) % wout);

					want = xq[IDX(ch, oy * s + ky * d, ox * s + kx * d)];
				}
				if (bp[((size_t)(k / 4) * FEAT_Q_NR + j) * 4 + k % 4] != want && bad++ < 5)
					fprintf(stderr, "# panel %ld k=%d j=%d: wrong byte\n", j0, k, j);
			}
	}
	free(x), free(xq), free(xq2), free(bp);
	return bad;
}

START_TEST(packing)
{
	int bad = 0;

	bad += check_pack(5, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 0);
	bad += check_pack(5, 7, 6, 3, 3, 2, 1, 1, 0, 2, 1, 128);
	bad += check_pack(8, 9, 9, 3, 3, 1, 2, 2, 2, 2, 2, 0);
	bad += check_pack(3, 5, 40, 1, 1, 1, 1, 0, 0, 0, 0, 128);
	bad += check_pack(16, 12, 11, 1, 3, 1, 1, 0, 1, 0, 1, 0);
	bad += check_pack(7, 3, 37, 3, 3, 1, 1, 1, 1, 1, 1, 128);
	bad += check_pack(12, 4, 70, 3, 3, 2, 1, 1, 1, 0, 0, 0);
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* The inner product of one vector: every table's against a loop. */
START_TEST(gemv)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	int nt = tables(t), bad = 0;

	for (int K = 1; K <= 300; K += 37)
		for (int M = 1; M <= 11; M += 3) {
			size_t ldw = ((size_t)K + 63) / 64 * 64;
			int8_t *w = calloc((size_t)M * ldw, 1);
			uint8_t *x = calloc(ldw, 1);
			float y[16], scale[16], bias[16];
			int32_t comp[16];

			for (int m = 0; m < M; m++) {
				for (int k = 0; k < K; k++)
					w[(size_t)m * ldw + k] = (int8_t)((int)(rnd() % 255) - 127);
				scale[m] = (float)(rnd() % 100 + 1) * 1e-4f;
				bias[m] = (float)((int)(rnd() % 201) - 100) * 0.01f;
				comp[m] = (int32_t)(rnd() % 2000) - 1000;
			}
			for (int k = 0; k < K; k++)
				x[k] = (uint8_t)(rnd() % 256);
			for (int ti = 0; ti < nt; ti++)
				for (int relu = 0; relu < 2; relu++) {
					struct feat_qgemv_args a = {
						.m0 = 0, .m1 = M, .ldw = ldw, .w = w, .x = x, .y = y,
						.scale = scale, .comp = comp, .bias = bias, .relu = relu,
					};

					for (int m = 0; m < 16; m++)
						y[m] = 7.25f;
					t[ti]->qgemv(&a);
					for (int m = 0; m < 16; m++) {
						double want = 7.25, tol = 0;

						if (m < M) {
							int32_t s = 0;

							for (int k = 0; k < K; k++)
								s += (int32_t)w[(size_t)m * ldw + k] * x[k];
							want = (double)(s - comp[m]) * scale[m] + bias[m];
							want = relu && want < 0 ? 0 : want;
							tol = ldexp(fabs((double)(s - comp[m]) * scale[m]) + fabs(bias[m]), -20);
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
	Suite *s = suite_create("int8");
	TCase *tc = tcase_create("int8");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, tables_present);
	tcase_add_test(tc, edges);
	tcase_add_test(tc, packing);
	tcase_add_test(tc, gemv);
	suite_add_tcase(s, tc);
	return s;
}
