/*
 * avx512/gemm_u8s8.c - the int8 panel product (kern/int8.h) with AVX-512
 * VNNI: a 12 x 32 tile of s32 sums in 24 registers, each step of four k
 * one vpdpbusd per register (u8 activations of 32 pixels, two vectors,
 * by four s8 weights of a row, broadcast from the packed A); then
 * (sum - comp) * scale + bias and ReLU on the way to the fp32 store.  VNNI
 * is enabled for these functions alone (target attribute): the table uses
 * them only when feat_kern_cpu_vnni() says the CPU has it.  Its plain C
 * twin is feat_qgemm_ref (ref/gemm_u8s8.c).
 */
#include "kern/avx512/avx512.h"
#include "kern/int8.h"

#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

VNNI static inline void store_row(const struct feat_qgemm_args *a, int m, int j0, __m512i s0,
	__m512i s1, __mmask16 k0, __mmask16 k1)
{
	if (a->C32) {
		int32_t *c = a->C32 + (size_t)m * a->ldc + j0;

		_mm512_mask_storeu_epi32(c, k0, s0);
		_mm512_mask_storeu_epi32(c + 16, k1, s1);
	} else {
		float *c = a->C + (size_t)m * a->ldc + j0;
		__m512i cm = _mm512_set1_epi32(a->comp[m]);
		__m512 sc = _mm512_set1_ps(a->scale[m]);
		__m512 b = _mm512_set1_ps(a->bias ? a->bias[m] : 0.0f);
		__m512 v0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s0, cm)), sc, b);
		__m512 v1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s1, cm)), sc, b);

		if (a->relu) {
			v0 = _mm512_max_ps(v0, _mm512_setzero_ps());
			v1 = _mm512_max_ps(v1, _mm512_setzero_ps());
		}
		_mm512_mask_storeu_ps(c, k0, v0);
		_mm512_mask_storeu_ps(c + 16, k1, v1);
	}
}

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* One 12 x 32 tile: rows [i0, i0 + 12) against the panel of columns
 * [j0, j0 + n). */
VNNI static void tile(const struct feat_qgemm_args *a, int i0, int j0, int n)
{
	int K4 = a->K / 4;
	__mmask16 k0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
	__mmask16 k1 = n >= 32 ? 0xffff : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);

	{
		const int32_t *w = (const int32_t *)(const void *)(a->ap + (size_t)i0 * a->K);
		const uint8_t *b = a->bp + (size_t)(j0 / FEAT_Q_NR) * a->K * FEAT_Q_NR;
		int rows = a->M - i0 < FEAT_Q_MR ? a->M - i0 : FEAT_Q_MR;
#define DECL(r) __m512i s##r##0 = _mm512_setzero_si512(), s##r##1 = _mm512_setzero_si512();
		ROWS(DECL)
#undef DECL

		for (int k = 0; k < K4; k++) {
			__m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 64);
#define STEP(r) { __m512i wr = _mm512_set1_epi32(w[r]); \
		s##r##0 = _mm512_dpbusd_epi32(s##r##0, b0, wr); \
		s##r##1 = _mm512_dpbusd_epi32(s##r##1, b1, wr); }
			ROWS(STEP)
#undef STEP
			b += 4 * FEAT_Q_NR;
			w += FEAT_Q_MR;
		}
#define STORE(r) if (r < rows) store_row(a, i0 + r, j0, s##r##0, s##r##1, k0, k1);
		ROWS(STORE)
#undef STORE
	}
}

VNNI void feat_qgemm_avx512(const struct feat_qgemm_args *a)
{
	for (int i0 = 0; i0 < a->M; i0 += FEAT_Q_MR)
		for (int j0 = 0; j0 < a->n; j0 += FEAT_Q_NR)
			tile(a, i0, j0, a->n - j0 < FEAT_Q_NR ? a->n - j0 : FEAT_Q_NR);
}

/* The quantisation of an image into groups of four channels
 * (feat_quant_c4_ref's contract): 16 pixels of 4 channels a step, each
 * rounded to nearest even (the MXCSR default, as nearbyintf), clamped and
 * packed into the four bytes of a 32-bit lane. */
void feat_quant_c4_avx512(const float *x, int c, int h, int w, float inv_sx, int zp,
	uint8_t *xq, int cp, int pt, int pl, int pb, int pr)
{
	int wp = w + pl + pr, hp = h + pt + pb;
	__m512 is = _mm512_set1_ps(inv_sx);
	__m512i z = _mm512_set1_epi32(zp), lo = _mm512_setzero_si512(), hi = _mm512_set1_epi32(255);
	size_t plane = (size_t)h * w;

	for (int c4 = 0; c4 < cp / 4; c4++) {
		uint8_t *g = xq + (size_t)c4 * hp * wp * 4;
		int nc = c - 4 * c4 < 4 ? c - 4 * c4 : 4;
		const float *xc = x + (size_t)4 * c4 * plane;

		memset(g, zp, (size_t)pt * wp * 4);
		memset(g + (size_t)(pt + h) * wp * 4, zp, (size_t)pb * wp * 4);
		for (int y = 0; y < h; y++) {
			uint8_t *r = g + (size_t)(y + pt) * wp * 4;
			const float *xr = xc + (size_t)y * w;

			memset(r, zp, (size_t)pl * 4);
			memset(r + (size_t)(pl + w) * 4, zp, (size_t)pr * 4);
			r += (size_t)pl * 4;
			for (int i = 0; i < w; i += 16) {
				__mmask16 m = w - i >= 16 ? 0xffff : (__mmask16)((1u << (w - i)) - 1);
				__m512i v = _mm512_setzero_si512();

				for (int q = 0; q < 4; q++) {
					__m512i b = z;

					if (q < nc) {
						__m512 f = _mm512_maskz_loadu_ps(m, xr + (size_t)q * plane + i);

						/* clamped in float first: a value past
						 * 2^31 (or inf) would convert to INT_MIN,
						 * 0 where the twin gives 255; NaN takes
						 * the low bound (max returns its second
						 * operand), 0 as in the twin */
						f = _mm512_max_ps(_mm512_mul_ps(f, is), _mm512_set1_ps(-512.0f));
						f = _mm512_min_ps(f, _mm512_set1_ps(512.0f));
						b = _mm512_add_epi32(_mm512_cvtps_epi32(f), z);
						b = _mm512_min_epi32(_mm512_max_epi32(b, lo), hi);
					}
					v = _mm512_or_si512(v, _mm512_slli_epi32(b, 8 * q));
				}
				_mm512_mask_storeu_epi32(r + (size_t)4 * i, m, v);
			}
		}
	}
}

/* The int8 inner product of one vector (feat_qgemv_ref's contract): four
 * rows a step share each 64-byte load of x. */
VNNI static inline float qrow(const struct feat_qgemv_args *a, int m, int32_t s)
{
	float v = (float)(s - a->comp[m]) * a->scale[m] + (a->bias ? a->bias[m] : 0.0f);

	return a->relu && v < 0.0f ? 0.0f : v;
}

VNNI void feat_qgemv_avx512(const struct feat_qgemv_args *a)
{
	int m = a->m0;

	for (; m + 4 <= a->m1; m += 4) {
		const int8_t *w = a->w + (size_t)m * a->ldw;
		__m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;

		for (size_t k = 0; k < a->ldw; k += 64) {
			__m512i x = _mm512_loadu_si512(a->x + k);

			s0 = _mm512_dpbusd_epi32(s0, x, _mm512_loadu_si512(w + k));
			s1 = _mm512_dpbusd_epi32(s1, x, _mm512_loadu_si512(w + a->ldw + k));
			s2 = _mm512_dpbusd_epi32(s2, x, _mm512_loadu_si512(w + 2 * a->ldw + k));
			s3 = _mm512_dpbusd_epi32(s3, x, _mm512_loadu_si512(w + 3 * a->ldw + k));
		}
		a->y[m] = qrow(a, m, _mm512_reduce_add_epi32(s0));
		a->y[m + 1] = qrow(a, m + 1, _mm512_reduce_add_epi32(s1));
		a->y[m + 2] = qrow(a, m + 2, _mm512_reduce_add_epi32(s2));
		a->y[m + 3] = qrow(a, m + 3, _mm512_reduce_add_epi32(s3));
	}
	for (; m < a->m1; m++) {
		const int8_t *w = a->w + (size_t)m * a->ldw;
		__m512i s0 = _mm512_setzero_si512();

		for (size_t k = 0; k < a->ldw; k += 64)
			s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(a->x + k),
						 _mm512_loadu_si512(w + k));
		a->y[m] = qrow(a, m, _mm512_reduce_add_epi32(s0));
	}
}
