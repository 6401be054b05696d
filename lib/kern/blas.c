/*
 * blas.c - the OpenBLAS path: the fallback on CPUs without AVX-512, and
 * the yardstick of the benchmarks.  cblas_sgemm in general; cblas_sgemv
 * when N == 1 or M == 1 (a batch-1 inner product is a matrix-vector
 * product, and OpenBLAS's GEMM is slow there).  OpenBLAS is kept to one
 * thread unless OPENBLAS_NUM_THREADS says otherwise: featkit scales out by
 * processes, and a thread pool per process would fight them for cores.
 * The epilogue (bias, ReLU) is a second pass over C.
 */
#include <pthread.h>
#include <cblas.h>

#include "base/internal.h"
#include "kern/kern.h"

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_init(void)
{
	if (!getenv("OPENBLAS_NUM_THREADS"))
		openblas_set_num_threads(1);
}

int feat_sgemm_blas(const struct feat_sgemm_args *g)
{
	pthread_once(&blas_once, blas_init);
	/* beta == 0 must not read C; some OpenBLAS versions scale C by 0
	 * (keeping NaN) in the GEMV path, so zero it first. */
	if (g->beta == 0.0f && (g->N == 1 || g->M == 1)) {
		for (int i = 0; i < g->M; i++)
			memset(g->C + (size_t)i * g->ldc, 0, (size_t)g->N * sizeof(float));
	}
	if (g->N == 1) {
		/* y (column of C, stride ldc) = op(A) x, x = op(B)'s column. */
		cblas_sgemv(CblasRowMajor, g->transA ? CblasTrans : CblasNoTrans,
			g->transA ? g->K : g->M, g->transA ? g->M : g->K,
			g->alpha, g->A, g->lda, g->B, g->transB ? 1 : g->ldb,
			g->beta, g->C, g->ldc);
	} else if (g->M == 1) {
		/* y (row of C) = op(B)^T x, x = op(A)'s row. */
		cblas_sgemv(CblasRowMajor, g->transB ? CblasNoTrans : CblasTrans,
			g->transB ? g->N : g->K, g->transB ? g->K : g->N,
			g->alpha, g->B, g->ldb, g->A, g->transA ? g->lda : 1,
			g->beta, g->C, 1);
	} else {
		cblas_sgemm(CblasRowMajor, g->transA ? CblasTrans : CblasNoTrans,
			g->transB ? CblasTrans : CblasNoTrans, g->M, g->N, g->K,
			g->alpha, g->A, g->lda, g->B, g->ldb, g->beta, g->C, g->ldc);
	}
	feat_sgemm_epilogue(g);
	return 0;
}

/* The OpenBLAS table: the reference one with its GEMM, routed through
 * Winograd (whose products are this GEMM) but not the direct loops. */
void feat_kern_fill_blas(struct feat_kern *k)
{
	k->desc = "OpenBLAS";
	k->routes = FEAT_ROUTE_WINO;
	k->sgemm = feat_sgemm_blas;
	k->qgemm = NULL;   /* int8 layers run fp32 through OpenBLAS */
	k->qgemv = NULL;
	k->qpeak = NULL;
	k->bgemm = NULL;   /* bf16 layers too */
	k->bgemv = NULL;
	k->bpeak = NULL;
}
