/*
 * ref_gemm.c - the plain C twin of every GEMM path: no blocking, no
 * intrinsics, a double accumulator per element of C.  It is the oracle the
 * tests hold the fast paths against, and the path of last resort.  Also
 * the epilogue helpers the other paths share.
 */
#include "base/internal.h"
#include "kern/kern.h"

static float bias_at(const struct feat_sgemm_args *g, int i, int j)
{
	switch (g->bias_kind) {
	case FEAT_BIAS_ROW:
		return g->bias[i];
	case FEAT_BIAS_COL:
		return g->bias[j];
	default:
		return 0.0f;
	}
}

static float act(const struct feat_sgemm_args *g, float v)
{
	return g->relu && v < 0.0f ? 0.0f : v;   /* NaN stays NaN */
}

void feat_sgemm_scale_epilogue(const struct feat_sgemm_args *g)
{
	for (int i = 0; i < g->M; i++) {
		float *c = g->C + (size_t)i * g->ldc;

		for (int j = 0; j < g->N; j++) {
			float v = g->beta == 0.0f ? 0.0f : g->beta * c[j];

			c[j] = act(g, v + bias_at(g, i, j));
		}
	}
}

void feat_sgemm_epilogue(const struct feat_sgemm_args *g)
{
	if (g->bias_kind == FEAT_BIAS_NONE && !g->relu)
		return;
	for (int i = 0; i < g->M; i++) {
		float *c = g->C + (size_t)i * g->ldc;

		for (int j = 0; j < g->N; j++)
			c[j] = act(g, c[j] + bias_at(g, i, j));
	}
}

int feat_sgemm_ref(const struct feat_sgemm_args *g)
{
	/* Element strides of op(A) and op(B). */
	size_t rsa = g->transA ? 1 : (size_t)g->lda;
	size_t csa = g->transA ? (size_t)g->lda : 1;
	size_t rsb = g->transB ? 1 : (size_t)g->ldb;
	size_t csb = g->transB ? (size_t)g->ldb : 1;

	for (int i = 0; i < g->M; i++) {
		float *c = g->C + (size_t)i * g->ldc;

		for (int j = 0; j < g->N; j++) {
			const float *a = g->A + i * rsa;
			const float *b = g->B + j * csb;
			double s = 0.0;
			float v;

			for (int k = 0; k < g->K; k++)
				s += (double)a[k * csa] * (double)b[k * rsb];
			v = (float)((double)g->alpha * s);
			if (g->beta != 0.0f)
				v += g->beta * c[j];
			c[j] = act(g, v + bias_at(g, i, j));
		}
	}
	return 0;
}
