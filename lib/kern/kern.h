/*
 * kern.h - libfeat's internal kernel layer: the GEMM paths, the table that
 * dispatches between them, and the block sizes each instruction set uses.
 *
 * Three paths compute the same thing:
 *
 *   ref     plain C (lib/kern/ref/gemm.c), always built, the oracle of tests;
 *   avx512  packed, blocked SGEMM with a register-blocked AVX-512 microkernel
 *           (lib/kern/avx512/sgemm.c, the only files built with -mavx512*);
 *   blas    OpenBLAS (lib/kern/blas.c): the fallback where AVX-512 is absent.
 *
 * feat_kern_active() picks one once, from cpuid, unless FEAT_KERNEL names
 * one (see dispatch.c).  Everything here is row-major.
 *
 * The operation of every path is
 *
 *     C = act(alpha * op(A) * op(B) + beta * C + bias)
 *
 * with op(A) M x K, op(B) K x N, C M x N; bias is none, one value per row
 * of C (a convolution's output channel when C = W * im2col(x)) or one per
 * column; act is the identity or ReLU.  beta == 0 never reads C (NaN in C
 * is overwritten).  The arguments are checked once, by feat_kern_sgemm();
 * a path may assume them valid, M, N, K >= 1 and alpha != 0.
 */
#ifndef FEAT_KERN_H
#define FEAT_KERN_H

#include <stddef.h>
#include <stdlib.h>

#include "feat.h"

enum feat_bias_kind {
	FEAT_BIAS_NONE = 0,
	FEAT_BIAS_ROW = 1,   /* bias[i] added to row i: length M */
	FEAT_BIAS_COL = 2,   /* bias[j] added to column j: length N */
};

/* One GEMM call.  Leading dimensions are those of the stored (not the
 * transposed) matrices, as in BLAS. */
struct feat_sgemm_args {
	int transA, transB;
	int M, N, K;
	float alpha;
	const float *A;
	int lda;
	const float *B;
	int ldb;
	float beta;
	float *C;
	int ldc;
	/* epilogue, fused into the store of C */
	const float *bias;   /* NULL when bias_kind is FEAT_BIAS_NONE */
	int bias_kind;       /* enum feat_bias_kind */
	int relu;            /* 1: C = max(C, 0) after the bias */
	/* optional: op(A) already packed by feat_sgemm_pack_a() for the path
	 * that runs the call (NULL: pack A on every call).  A and lda stay
	 * valid and required: routes that do not use packed A read them. */
	const struct feat_sgemm_apack *apack;
};

/*
 * A pre-packed A (the weights of a layer, packed once at load rather than
 * on every call, which for small N costs as much as the product).  Opaque
 * but for ownership: p is freed by feat_sgemm_apack_free().
 */
struct feat_sgemm_apack {
	int M, K;            /* A is M x K, row-major, not transposed */
	int mc, kc;          /* the blocking p was packed with */
	float *p;            /* M * K floats, NULL when not packed */
};

/* A path's GEMM.  Returns 0 or FEAT_E_NOMEM (workspace). */
typedef int (*feat_sgemm_fn)(const struct feat_sgemm_args *g);

/*
 * Cache blocking of a packed GEMM path (BLIS names, our row-major roles):
 * the microkernel computes an mr x nr tile of C (nr along a row of C, the
 * vector direction); the driver packs op(A) in mc x kc blocks of mr-row
 * panels and op(B) in kc x nc blocks of nr-column panels.  Sizes in
 * elements.  One table per instruction set; the driver reads it on every
 * call, so a benchmark may retune mc/kc/nc (never mr/nr: they are the
 * microkernel's compiled shape).
 */
struct feat_kern_blocks {
	int mr, nr;          /* register tile */
	int mc, kc, nc;      /* cache blocks: mc multiple of mr, nc of nr */
};

enum feat_kern_id {
	FEAT_KERN_REF = 0,
	FEAT_KERN_AVX512 = 1,
	FEAT_KERN_BLAS = 2,
};
#define FEAT_KERN_COUNT 3

/* One entry of the dispatch table. */
struct feat_kern {
	int id;                      /* enum feat_kern_id */
	const char *name;            /* "ref", "avx512", "blas": FEAT_KERNEL's values */
	const char *desc;            /* for --version style printing */
	feat_sgemm_fn sgemm;
	struct feat_kern_blocks *blocks;   /* NULL for paths that do not block */
	int (*supported)(void);      /* 1 when this CPU can run the path */
};

/* The table, indexed by enum feat_kern_id. */
extern const struct feat_kern feat_kern_table[FEAT_KERN_COUNT];

/* The entry named name, or NULL. */
const struct feat_kern *feat_kern_lookup(const char *name);
/* The active path (chosen on first use; never NULL: when FEAT_KERNEL is
 * invalid the cpuid choice is returned and feat_kernel_init() reports the
 * error). */
const struct feat_kern *feat_kern_active(void);

/* Check g and run it on path k (NULL: the active path).  Handles the
 * degenerate cases (M or N == 0: nothing; K == 0 or alpha == 0: only
 * beta * C and the epilogue) so that paths never see them.  Returns 0,
 * FEAT_E_INVAL for a bad argument, or the path's error. */
int feat_kern_sgemm(const struct feat_kern *k, const struct feat_sgemm_args *g);

/* ------------------------------------------------------------ the paths */

/* ref_gemm.c: the plain C twin (double accumulation, so it is also the
 * most accurate). */
int feat_sgemm_ref(const struct feat_sgemm_args *g);
/* C = act(beta * C + bias) without a product: K == 0 or alpha == 0. */
void feat_sgemm_scale_epilogue(const struct feat_sgemm_args *g);
/* The epilogue alone over C, for paths whose GEMM cannot fuse it. */
void feat_sgemm_epilogue(const struct feat_sgemm_args *g);

/* avx512/sgemm.c.  Valid only when feat_kern_cpu_avx512() is 1.  N == 1 or
 * M == 1 go to a bandwidth-bound GEMV; small N to the same packed GEMM with
 * the roles of A and B swapped (C^T = B^T A^T). */
int feat_sgemm_avx512(const struct feat_sgemm_args *g);
extern struct feat_kern_blocks feat_kern_blocks_avx512;
/* Pack row-major A (M x K, lda) for feat_sgemm_avx512 in the blocking of
 * feat_kern_blocks_avx512 at the time of the call (later calls use the
 * blocking recorded in ap, whatever the table says then).  0 or
 * FEAT_E_NOMEM (ap->p is then NULL); M, K >= 1. */
int feat_sgemm_pack_a_avx512(struct feat_sgemm_apack *ap, const float *A, int lda,
	int M, int K);
/* Free ap->p (any CPU; NULL is fine). */
static inline void feat_sgemm_apack_free(struct feat_sgemm_apack *ap)
{
	free(ap->p);
	ap->p = NULL;
}

/* blas.c: cblas_sgemm, or cblas_sgemv when N == 1 or M == 1; the epilogue
 * is a second pass over C. */
int feat_sgemm_blas(const struct feat_sgemm_args *g);
/* OpenBLAS threads (1 by default, unless OPENBLAS_NUM_THREADS is set). */
void feat_kern_blas_threads(int n);

/* avx512/pool.c: max pooling with 2x2 windows, stride 2, no padding, over
 * one plane; hout and wout may be ceil-rounded (a last row or column of
 * half windows).  The plain twin is the general loop in layers.c. */
void feat_maxpool2x2_avx512(const float *x, int hin, int win, float *y, int hout,
	int wout);

/* avx512/peak.c: this core's fp32 zmm FMA rate in GFLOP/s, measured
 * (about 0.1 s).  Valid only when feat_kern_cpu_avx512() is 1. */
double feat_kern_peak_avx512(void);

/* cpuid: 1 when the CPU (and OS) run the AVX-512 path (F, BW, DQ, VL). */
int feat_kern_cpu_avx512(void);

/* Free this thread's packing buffers (they are kept between calls). */
void feat_kern_workspace_free(void);

#endif
