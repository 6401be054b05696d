/*
 * avx512/gemm_bf16.c - the bf16 family (kern/bf16.h) with AVX-512 BF16: the
 * panel product as a 12 x 32 tile of fp32 sums in 24 registers, each step
 * of a pair of k one vdpbf16ps per register (the bf16 pairs of 16 pixels a
 * vector, two vectors, by the pair of weights of a row broadcast from the
 * packed A), bias and ReLU on the way to the store; the rounding of an
 * image into padded pairs of channels (vcvtneps2bf16: to nearest even,
 * denormals to zero, as feat_bf16_round); the inner product of one vector;
 * and the measured bf16 rate.  BF16 is enabled for these functions alone
 * (target attribute): the table uses them only when feat_kern_cpu_bf16()
 * says the CPU has it.  The plain C twins are in ref/gemm_bf16.c.
 */
#include "kern/avx512/avx512.h"
#include "kern/bf16.h"

#include <string.h>

#define BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* NaN stays NaN: max with the value second */
#define RELU(v) _mm512_max_ps(_mm512_setzero_ps(), v)

BF16 static inline void store_row(const struct feat_bgemm_args *a, int m, int j0, __m512 s0,
	__m512 s1, __mmask16 k0, __mmask16 k1)
{
	float *c = a->C + (size_t)m * a->ldc + j0;
	__m512 b = _mm512_set1_ps(a->bias ? a->bias[m] : 0.0f);

	s0 = _mm512_add_ps(s0, b);
	s1 = _mm512_add_ps(s1, b);
	if (a->relu) {
		s0 = RELU(s0);
		s1 = RELU(s1);
	}
	_mm512_mask_storeu_ps(c, k0, s0);
	_mm512_mask_storeu_ps(c + 16, k1, s1);
}

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* One 12 x 32 tile: rows [i0, i0 + 12) against the panel of columns
 * [j0, j0 + n). */
BF16 static void tile(const struct feat_bgemm_args *a, int i0, int j0, int n)
{
	int K2 = a->K / 2;
	__mmask16 k0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
	__mmask16 k1 = n >= 32 ? 0xffff : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
	const int32_t *w = (const int32_t *)(const void *)(a->ap + (size_t)i0 * a->K);
	const uint16_t *b = a->bp + (size_t)(j0 / FEAT_B_NR) * a->K * FEAT_B_NR;
	int rows = a->M - i0 < FEAT_B_MR ? a->M - i0 : FEAT_B_MR;
#define DECL(r) __m512 s##r##0 = _mm512_setzero_ps(), s##r##1 = _mm512_setzero_ps();
	ROWS(DECL)
#undef DECL

	for (int k = 0; k < K2; k++) {
		__m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 32);
#define STEP(r) { __m512bh wr = (__m512bh)_mm512_set1_epi32(w[r]); \
		s##r##0 = _mm512_dpbf16_ps(s##r##0, b0, wr); \
		s##r##1 = _mm512_dpbf16_ps(s##r##1, b1, wr); }
		ROWS(STEP)
#undef STEP
		b += 2 * FEAT_B_NR;
		w += FEAT_B_MR;
	}
#define STORE(r) if (r < rows) store_row(a, i0 + r, j0, s##r##0, s##r##1, k0, k1);
	ROWS(STORE)
#undef STORE
}

BF16 void feat_bgemm_avx512(const struct feat_bgemm_args *a)
{
	for (int i0 = 0; i0 < a->M; i0 += FEAT_B_MR)
		for (int j0 = 0; j0 < a->n; j0 += FEAT_B_NR)
			tile(a, i0, j0, a->n - j0 < FEAT_B_NR ? a->n - j0 : FEAT_B_NR);
}

/* 16 floats to bf16 in the low halves of 16 32-bit lanes. */
BF16 static inline __m512i half(__m512 f)
{
	return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(f));
}

/* feat_bf16_c2_ref's contract: 16 pixels of a pair of channels a step,
 * each pixel's pair one 32-bit word. */
BF16 void feat_bf16_c2_avx512(const float *x, int c, int h, int w, uint16_t *xb, int cp, int pt,
	int pl, int pb, int pr)
{
	int wp = w + pl + pr, hp = h + pt + pb;
	size_t plane = (size_t)h * w;

	for (int c2 = 0; c2 < cp / 2; c2++) {
		uint32_t *g = (uint32_t *)(void *)(xb + (size_t)c2 * hp * wp * 2);
		const float *x0 = x + (size_t)2 * c2 * plane, *x1 = x0 + plane;
		int two = c - 2 * c2 >= 2, one = c - 2 * c2 >= 1;

		memset(g, 0, (size_t)pt * wp * 4);
		memset(g + (size_t)(pt + h) * wp, 0, (size_t)pb * wp * 4);
		for (int y = 0; y < h; y++) {
			uint32_t *r = g + (size_t)(y + pt) * wp;

			memset(r, 0, (size_t)pl * 4);
			memset(r + pl + w, 0, (size_t)pr * 4);
			r += pl;
			for (int i = 0; i < w; i += 16) {
				__mmask16 m = w - i >= 16 ? 0xffff : (__mmask16)((1u << (w - i)) - 1);
				__m512i v = _mm512_setzero_si512();

				if (one)
					v = half(_mm512_maskz_loadu_ps(m, x0 + (size_t)y * w + i));
				if (two)
					v = _mm512_or_si512(v, _mm512_slli_epi32(
						half(_mm512_maskz_loadu_ps(m, x1 + (size_t)y * w + i)), 16));
				_mm512_mask_storeu_epi32(r + i, m, v);
			}
		}
	}
}

BF16 static inline float brow(const struct feat_bgemv_args *a, int m, __m512 s)
{
	float v = _mm512_reduce_add_ps(s) + (a->bias ? a->bias[m] : 0.0f);

	return a->relu && v < 0.0f ? 0.0f : v;
}

/* feat_bgemv_ref's contract: four rows a step share each 64-byte load of
 * x (32 values). */
BF16 void feat_bgemv_avx512(const struct feat_bgemv_args *a)
{
	int m = a->m0;

	for (; m + 4 <= a->m1; m += 4) {
		const uint16_t *w = a->w + (size_t)m * a->ldw;
		__m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;

		for (size_t k = 0; k < a->ldw; k += 32) {
			__m512bh x = (__m512bh)_mm512_loadu_si512(a->x + k);

			s0 = _mm512_dpbf16_ps(s0, x, (__m512bh)_mm512_loadu_si512(w + k));
			s1 = _mm512_dpbf16_ps(s1, x, (__m512bh)_mm512_loadu_si512(w + a->ldw + k));
			s2 = _mm512_dpbf16_ps(s2, x, (__m512bh)_mm512_loadu_si512(w + 2 * a->ldw + k));
			s3 = _mm512_dpbf16_ps(s3, x, (__m512bh)_mm512_loadu_si512(w + 3 * a->ldw + k));
		}
		a->y[m] = brow(a, m, s0);
		a->y[m + 1] = brow(a, m + 1, s1);
		a->y[m + 2] = brow(a, m + 2, s2);
		a->y[m + 3] = brow(a, m + 3, s3);
	}
	for (; m < a->m1; m++) {
		const uint16_t *w = a->w + (size_t)m * a->ldw;
		__m512 s0 = _mm512_setzero_ps();

		for (size_t k = 0; k < a->ldw; k += 32)
			s0 = _mm512_dpbf16_ps(s0, (__m512bh)_mm512_loadu_si512(a->x + k),
					      (__m512bh)_mm512_loadu_si512(w + k));
		a->y[m] = brow(a, m, s0);
	}
}
