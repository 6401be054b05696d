/*
 * ref/gemm_bf16.c - the bf16 family in plain C (kern/bf16.h): the packing
 * of A every table shares, the rounding of an image into padded pairs of
 * channels, and the plain C twins of the panel product and of the inner
 * product of one vector, summing in fp32 as the contract says.
 */
#include <string.h>

#include "kern/bf16.h"

size_t feat_bpack_a_elems(int M, int K)
{
	return (size_t)((M + FEAT_B_MR - 1) / FEAT_B_MR) * FEAT_B_MR * (size_t)((K + 1) / 2 * 2);
}

void feat_bpack_a(uint16_t *ap, const float *A, size_t lda, int M, int ka)
{
	int K = (ka + 1) / 2 * 2;

	for (int i0 = 0; i0 < M; i0 += FEAT_B_MR) {
		uint16_t *p = ap + (size_t)i0 * K;

		for (int k2 = 0; k2 < K; k2 += 2)
			for (int r = 0; r < FEAT_B_MR; r++)
				for (int q = 0; q < 2; q++)
					*p++ = i0 + r < M && k2 + q < ka ?
						feat_bf16_round(A[(size_t)(i0 + r) * lda + k2 + q]) : 0;
	}
}

void feat_bf16_c2_ref(const float *x, int c, int h, int w, uint16_t *xb, int cp, int pt, int pl,
	int pb, int pr)
{
	int wp = w + pl + pr, hp = h + pt + pb;

	memset(xb, 0, sizeof *xb * (size_t)hp * wp * cp);
	for (int ch = 0; ch < c; ch++)
		for (int y = 0; y < h; y++) {
			const float *xr = x + ((size_t)ch * h + y) * w;
			uint16_t *q = xb + (((size_t)(ch / 2) * hp + y + pt) * wp + pl) * 2 + ch % 2;

			for (int i = 0; i < w; i++)
				q[(size_t)i * 2] = feat_bf16_round(xr[i]);
		}
}

/* One pair of k into the fp32 sum s: the product of k + 1, then of k
 * (each exact), each sum rounded to fp32. */
static inline float pair(float s, const uint16_t *a, const uint16_t *b)
{
	float t = s + feat_bf16_float(a[1]) * feat_bf16_float(b[1]);

	return t + feat_bf16_float(a[0]) * feat_bf16_float(b[0]);
}

static inline float store(float s, const float *bias, int m, int relu)
{
	float v = s + (bias ? bias[m] : 0.0f);

	return relu && v < 0.0f ? 0.0f : v;   /* NaN stays NaN */
}

void feat_bgemm_ref(const struct feat_bgemm_args *a)
{
	for (int m = 0; m < a->M; m++) {
		const uint16_t *ap = a->ap + (size_t)(m / FEAT_B_MR) * FEAT_B_MR * a->K;
		int r = m % FEAT_B_MR;

		for (int j = 0; j < a->n; j++) {
			const uint16_t *bp = a->bp + (size_t)(j / FEAT_B_NR) * a->K * FEAT_B_NR;
			int jj = j % FEAT_B_NR;
			float s = 0.0f;

			for (int k2 = 0; k2 < a->K / 2; k2++)
				s = pair(s, ap + ((size_t)k2 * FEAT_B_MR + r) * 2,
					 bp + ((size_t)k2 * FEAT_B_NR + jj) * 2);
			a->C[(size_t)m * a->ldc + j] = store(s, a->bias, m, a->relu);
		}
	}
}

void feat_bf16_vec(const float *x, size_t n, uint16_t *xb)
{
	for (size_t i = 0; i < n; i++)
		xb[i] = feat_bf16_round(x[i]);
}

void feat_bgemv_ref(const struct feat_bgemv_args *a)
{
	for (int m = a->m0; m < a->m1; m++) {
		const uint16_t *w = a->w + (size_t)m * a->ldw;
		float s = 0.0f;

		for (size_t k = 0; k < a->ldw; k += 2)
			s = pair(s, w + k, a->x + k);
		a->y[m] = store(s, a->bias, m, a->relu);
	}
}
