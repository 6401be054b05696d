/*
 * ref/gemm_u8s8.c - the int8 family in plain C (kern/int8.h): the packing
 * every table shares, the quantisation of an image into the padded bytes
 * (groups of four channels) the packing reads, and the plain C twin of the u8 x s8 -> s32
 * panel product with its fp32 epilogue.
 */
#include <math.h>
#include <string.h>

#include "kern/int8.h"

size_t feat_qpack_a_bytes(int M, int K)
{
	return (size_t)((M + FEAT_Q_MR - 1) / FEAT_Q_MR) * FEAT_Q_MR * (size_t)K;
}

void feat_qpack_a(int8_t *ap, const int8_t *A, size_t lda, int M, int K)
{
	for (int i0 = 0; i0 < M; i0 += FEAT_Q_MR) {
		int8_t *p = ap + (size_t)i0 * K;

		for (int k4 = 0; k4 < K; k4 += 4)
			for (int r = 0; r < FEAT_Q_MR; r++)
				for (int q = 0; q < 4; q++)
					*p++ = i0 + r < M ? A[(size_t)(i0 + r) * lda + k4 + q] : 0;
	}
}

void feat_quant_c4_ref(const float *x, int c, int h, int w, float inv_sx, int zp,
	uint8_t *xq, int cp, int pt, int pl, int pb, int pr)
{
	int wp = w + pl + pr, hp = h + pt + pb;

	memset(xq, zp, (size_t)hp * wp * cp);
	for (int ch = 0; ch < c; ch++)
		for (int y = 0; y < h; y++) {
			const float *xr = x + ((size_t)ch * h + y) * w;
			uint8_t *q = xq + (((size_t)(ch / 4) * hp + y + pt) * wp + pl) * 4 + ch % 4;

			for (int i = 0; i < w; i++) {
				float v = nearbyintf(xr[i] * inv_sx) + (float)zp;

				/* NaN becomes 0: never undefined */
				q[(size_t)i * 4] = !(v > 0.0f) ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
			}
		}
}

void feat_qpack_b_conv(const struct feat_qconv_geom *g, const uint8_t *xq, long j0, int n,
	uint8_t *bp)
{
	int C4 = g->cp / 4, K4 = g->kh * g->kw * C4;
	size_t plane = (size_t)g->hp * g->wp;

	if (n < FEAT_Q_NR)
		for (int k4 = 0; k4 < K4; k4++)
			memset(bp + ((size_t)k4 * FEAT_Q_NR + n) * 4, 0, (size_t)(FEAT_Q_NR - n) * 4);
	/* runs of pixels in one output row */
	for (int j = 0; j < n;) {
		long pix = j0 + j;
		int oy = (int)(pix / g->wout), ox = (int)(pix % g->wout);
		int run = g->wout - ox < n - j ? g->wout - ox : n - j;

		for (int ky = 0; ky < g->kh; ky++)
			for (int kx = 0; kx < g->kw; kx++) {
				const uint8_t *s = xq + ((size_t)(oy * g->sh + ky * g->dh) * g->wp +
							 (size_t)(ox * g->sw + kx * g->dw)) * 4;
				uint8_t *d = bp + ((size_t)(ky * g->kw + kx) * C4 * FEAT_Q_NR + j) * 4;

				for (int c4 = 0; c4 < C4; c4++, s += plane * 4, d += FEAT_Q_NR * 4) {
					if (g->sw == 1) {
						memcpy(d, s, (size_t)run * 4);
						continue;
					}
					for (int i = 0; i < run; i++)
						memcpy(d + 4 * i, s + (size_t)4 * i * g->sw, 4);
				}
			}
		j += run;
	}
}

void feat_qgemm_ref(const struct feat_qgemm_args *a)
{
	for (int m = 0; m < a->M; m++) {
		const int8_t *ap = a->ap + (size_t)(m / FEAT_Q_MR) * FEAT_Q_MR * a->K;
		int r = m % FEAT_Q_MR;

		for (int j = 0; j < a->n; j++) {
			const uint8_t *bp = a->bp + (size_t)(j / FEAT_Q_NR) * a->K * FEAT_Q_NR;
			int jj = j % FEAT_Q_NR;
			int32_t s = 0;

			for (int k4 = 0; k4 < a->K / 4; k4++)
				for (int q = 0; q < 4; q++)
					s += (int32_t)ap[((size_t)k4 * FEAT_Q_MR + r) * 4 + q] *
					     (int32_t)bp[((size_t)k4 * FEAT_Q_NR + jj) * 4 + q];
			if (a->C32) {
				a->C32[(size_t)m * a->ldc + j] = s;
			} else {
				float v = (float)(s - a->comp[m]) * a->scale[m] +
					  (a->bias ? a->bias[m] : 0.0f);

				a->C[(size_t)m * a->ldc + j] = a->relu && v < 0.0f ? 0.0f : v;
			}
		}
	}
}

void feat_quant_vec(const float *x, size_t n, float inv_sx, int zp, uint8_t *xq)
{
	for (size_t i = 0; i < n; i++) {
		float v = nearbyintf(x[i] * inv_sx) + (float)zp;

		xq[i] = !(v > 0.0f) ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
	}
}

void feat_qgemv_ref(const struct feat_qgemv_args *a)
{
	for (int m = a->m0; m < a->m1; m++) {
		const int8_t *w = a->w + (size_t)m * a->ldw;
		int32_t s = 0;
		float v;

		for (size_t k = 0; k < a->ldw; k++)
			s += (int32_t)w[k] * (int32_t)a->x[k];
		v = (float)(s - a->comp[m]) * a->scale[m] + (a->bias ? a->bias[m] : 0.0f);
		a->y[m] = a->relu && v < 0.0f ? 0.0f : v;
	}
}
