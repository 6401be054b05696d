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
#include <stdint.h>
#include <stdlib.h>

#include "feat.h"

/* 1 when the x86-64 kernels (lib/kern/avx512) are built in: the Makefile
 * passes KERN_X86 (1 on an x86-64 target unless KERN_X86=0 is given). */
#ifndef FEAT_KERN_X86
#if defined(__x86_64__) && defined(__GNUC__)
#define FEAT_KERN_X86 1
#else
#define FEAT_KERN_X86 0
#endif
#endif

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
	/* optional: op(A) already packed by the table's sgemm_pack_a for the path
	 * that runs the call (NULL: pack A on every call).  A and lda stay
	 * valid and required: routes that do not use packed A read them. */
	const struct feat_sgemm_apack *apack;
	/* optional: op(B) already packed by feat_kern_pack_b() (an inner
	 * product's weights), the same struct with M holding N.  B and ldb
	 * stay valid and required.  The path may ignore it (ref, blas, the
	 * GEMV of M == 1). */
	const struct feat_sgemm_apack *bpack;
	/* optional: M and N of the whole product that this call is a piece
	 * of (0: this call's own M or N), when a caller cuts C into blocks of
	 * rows or columns (between threads, or im2col chunks).  A path with
	 * routes that sum in different orders (avx512: GEMV, small N, the
	 * packed kernel) picks its route from the whole, so that every
	 * element of C is computed by the same operations however C is cut:
	 * -t changes no bit of a result. */
	int whole_m, whole_n;
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
	const struct feat_kern *k;   /* the path that packed it (feat_kern_pack_a) */
};

struct feat_kern;

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

/* The argument blocks of the other families (their own headers). */
struct feat_conv3_args;
struct feat_convk_args;
struct feat_conv3c_args;
struct feat_convc_args;
struct feat_dwc_args;
struct feat_dw_args;
struct feat_wino_args;
struct feat_qgemm_args;
struct feat_qconv_geom;
struct feat_qgemv_args;
struct feat_bgemm_args;
struct feat_bgemv_args;

/*
 * Which families the executor (lib/nn/layers.c) sends work to on a path,
 * beyond im2col + GEMM, the depthwise kernel and the general pooling loop:
 * a property of the table, so that the executor never asks which path is
 * active.  The kernels themselves are in every table (the reference one
 * has a plain C twin of each); a route says whether running them there is
 * worth it.
 */
enum feat_kern_route {
	/* every convolution by the plain direct loops, on one thread: the
	 * oracle (nothing else is routed then) */
	FEAT_ROUTE_DIRECT = 1 << 0,
	FEAT_ROUTE_WINO = 1 << 1,    /* Winograd F(4x4, 3x3) where worth it */
	FEAT_ROUTE_CONV3 = 1 << 2,   /* the first layer's direct kernels (conv3,
				      * convk) */
	FEAT_ROUTE_NCHWC = 1 << 3,   /* the channel-blocked layout */
	FEAT_ROUTE_POOL2 = 1 << 4,   /* max pooling 2x2/2 by maxpool2x2 */
};

/*
 * One kernel table per instruction set (the idea of BLIS's context and
 * ggml's per-CPU function tables): every kernel family with its block
 * sizes.  The reference table (ref/table.c) is complete, plain C; the
 * others start as a copy of it and override what they have (blas.c: the
 * GEMM; avx512/table.c: nearly everything).  dispatch.c builds them once
 * and picks the active one from cpuid or FEAT_KERNEL.  The argument
 * blocks and the contracts of each family are in its header (conv3.h,
 * dwconv.h, winograd.h, nchwc.h, popcount.h).
 */
struct feat_kern {
	int id;                      /* enum feat_kern_id */
	const char *name;            /* "ref", "avx512", "blas": FEAT_KERNEL's values */
	const char *desc;            /* for --version style printing */
	int (*supported)(void);      /* 1 when this CPU can run the path */
	unsigned routes;             /* enum feat_kern_route bits */

	/* GEMM (this header) and its cache blocking (NULL: does not block) */
	feat_sgemm_fn sgemm;
	struct feat_kern_blocks *blocks;
	/* Pack A once for this table's sgemm (feat_kern_pack_a calls it);
	 * NULL: the GEMM reads A as it is. */
	int (*sgemm_pack_a)(struct feat_sgemm_apack *ap, const float *A, int lda, int M,
		int K);
	/* Pack op(B) (K x N; transB: B stored N x K) once; NULL: the GEMM
	 * reads B as it is (feat_kern_pack_b calls it). */
	int (*sgemm_pack_b)(struct feat_sgemm_apack *bp, const float *B, int ldb, int transB,
		int K, int N);
	/* free the calling thread's GEMM workspace (kept between calls) */
	void (*workspace_free)(void);

	/* the first layer's direct 3x3 convolution (conv3.h) */
	void (*conv3)(const struct feat_conv3_args *a);
	/* the first layer's direct k x k convolution (convk.h; workspace:
	 * feat_convk_work) */
	void (*convk)(const struct feat_convk_args *a);
	/* depthwise convolution (dwconv.h; workspace: feat_dwconv_work) */
	void (*dwconv)(const struct feat_dw_args *a);

	/* Winograd F(4x4, 3x3) phases (winograd.h): the layout of U this
	 * table's products read (floats; made from feat_wino_weights' plain
	 * U), the input transform, the product of one of the 36 positions,
	 * the output transform. */
	size_t (*wino_u_floats)(int cout, int cin);
	void (*wino_u_pack)(const float *u, int cout, int cin, float *up);
	void (*wino_input)(const struct feat_wino_args *a, int t0, int nt, float *v, int ldv);
	int (*wino_gemm)(const struct feat_wino_args *a, int xi, const float *v, int ldv,
		float *m, int ldm, int nt);
	void (*wino_output)(const struct feat_wino_args *a, int t0, int nt, const float *m,
		int ldm);
	/* the least output map, in pixels, on which Winograd beats im2col +
	 * GEMM on this core (lib/nn/passes.c asks; the measurements are in
	 * ref/table.c and avx512/table.c) */
	int wino_min_px;

	/* NCHW16c (nchwc.h): layout changes, the three convolutions, the
	 * mean of each channel, the product by a value a channel (either side
	 * blocked) and max pooling */
	void (*nchwc_from)(const float *x, int c, size_t plane, float *y);
	void (*nchwc_to)(const float *x, int c, size_t plane, float *y);
	void (*nchwc_mean)(const float *x, int c, size_t plane, float *y);
	void (*nchwc_mul)(const float *x, int xnc, int c, size_t plane, const float *s,
		float *y, int ync);
	void (*maxpoolc)(const float *x, int c, int hin, int win, float *y, int hout, int wout,
		int kh, int kw, int sh, int sw, int pt, int pl);
	void (*convc)(const struct feat_convc_args *a);
	void (*dwc)(const struct feat_dwc_args *a);
	void (*conv3c)(const struct feat_conv3c_args *a);

	/* pooling: max over 2x2 windows at stride 2, no padding, one plane
	 * (hout, wout may be ceil-rounded: the last row or column of half
	 * windows) */
	void (*maxpool2x2)(const float *x, int hin, int win, float *y, int hout, int wout);
	/* max pooling of one plane, kh x kw windows at strides sh, sw, the
	 * padding (top pt, left pl) ignored (PyTorch's -inf), windows clipped
	 * to the input; hout, wout as the layer computed them */
	void (*maxpool)(const float *x, int hin, int win, float *y, int hout, int wout, int kh,
		int kw, int sh, int sw, int pt, int pl);

	/* activations in place over n floats (kind: enum feat_act, act.h) */
	void (*act)(float *x, size_t n, int kind, float alpha);
	/* softmax over each of rows rows of c contiguous floats (y may be x);
	 * layer normalisation of each row: (x - mean) / sqrt(var + eps) *
	 * g + b (g, b NULL: 1, 0; y may be x).  Plain twins in ref/rows.c. */
	void (*softmax)(const float *x, float *y, size_t rows, size_t c);
	void (*layernorm)(const float *x, float *y, size_t rows, size_t c, float eps,
		const float *g, const float *b);
	/* the mean of each of rows rows of c contiguous floats into y[row]
	 * (a global average pooling of rows planes of c pixels) */
	void (*rowmean)(const float *x, float *y, size_t rows, size_t c);

	/* popcount / Hamming distance (popcount.h): this table's kernels and
	 * whether the CPU runs them; the search picks its path on its own
	 * (FEAT_POPCOUNT), from these. */
	size_t (*pc_filter)(const uint8_t *codes, size_t stride, unsigned words,
		const uint64_t *q, const uint32_t *ids, size_t n, unsigned r, uint32_t *out,
		uint32_t *dist);
	size_t (*pc_scan)(const uint8_t *codes, size_t stride, unsigned words,
		const uint64_t *q, uint32_t first, size_t n, unsigned r, uint32_t *out,
		uint32_t *dist);
	int (*pc_supported)(void);

	/* this core's fp32 FMA rate in GFLOP/s with this table's
	 * instructions, measured by a register-only loop (about 0.1 s) */
	double (*peak)(void);

	/* int8 (int8.h): the u8 x s8 -> s32 panel product with its fp32
	 * epilogue, the quantisation of an image into padded bytes (groups of
	 * four channels) and
	 * the packing of a convolution's B panel from them.  qgemm NULL: this
	 * table has no int8 path (or the CPU lacks VNNI) and quantised layers
	 * run in fp32. */
	void (*qgemm)(const struct feat_qgemm_args *a);
	void (*quant_c4)(const float *x, int c, int h, int w, float inv_sx, int zp,
		uint8_t *xq, int cp, int pt, int pl, int pb, int pr);
	void (*qpack_b)(const struct feat_qconv_geom *g, const uint8_t *xq, long j0, int n,
		uint8_t *bp);
	/* and the int8 inner product of one vector (fc layers); NULL with
	 * qgemm */
	void (*qgemv)(const struct feat_qgemv_args *a);
	/* this core's int8 rate in Gop/s with this table's product, measured
	 * (NULL: not measured, as for the plain C twin) */
	double (*qpeak)(void);
	/* bf16 (bf16.h): the panel product with fp32 sums and its epilogue,
	 * the rounding of an image into padded pairs of channels (the B
	 * panel is then packed by qpack_b: see bf16.h), the inner product of
	 * one vector, and this core's bf16 rate in GFLOP/s (NULL: not
	 * measured).  bgemm NULL: no bf16 path (OpenBLAS, or a CPU without
	 * AVX512_BF16) and bf16 layers run in fp32. */
	void (*bgemm)(const struct feat_bgemm_args *a);
	void (*bf16_c2)(const float *x, int c, int h, int w, uint16_t *xb, int cp, int pt,
		int pl, int pb, int pr);
	void (*bgemv)(const struct feat_bgemv_args *a);
	double (*bpeak)(void);
	struct feat_kern_blocks *blocks_int8, *blocks_bf16;
};

/* The table of path id (enum feat_kern_id; NULL past the end).  Every id
 * has a table; one that was not built (avx512 on a non-x86 build) is the
 * reference one under its own name, with supported() 0. */
const struct feat_kern *feat_kern_get(int id);
/* The entry named name, or NULL. */
const struct feat_kern *feat_kern_lookup(const char *name);
/* The active path (chosen on first use; never NULL: when FEAT_KERNEL is
 * invalid the cpuid choice is returned and feat_kernel_init() reports the
 * error). */
const struct feat_kern *feat_kern_active(void);

/* Check g and run it on path k (NULL: the active path).  Handles the
 * degenerate cases (M or N == 0: nothing; K == 0 or alpha == 0: only
 * beta * C and the epilogue) so that paths never see them.  A g->apack
 * packed for another path is ignored.  Returns 0, FEAT_E_INVAL for a bad
 * argument, or the path's error. */
int feat_kern_sgemm(const struct feat_kern *k, const struct feat_sgemm_args *g);
/* Pack A (M x K, row-major, lda) once for path k's GEMM into ap.  0 (ap->p
 * NULL when k reads A as it is) or FEAT_E_NOMEM. */
int feat_kern_pack_a(const struct feat_kern *k, struct feat_sgemm_apack *ap,
	const float *A, int lda, int M, int K);
/* Pack op(B) (K x N; transB: B stored N x K, ldb) once for path k's GEMM
 * into bp (bp->M is N).  0 (bp->p NULL when k reads B as it is) or
 * FEAT_E_NOMEM.  A g->bpack packed for another path is ignored. */
int feat_kern_pack_b(const struct feat_kern *k, struct feat_sgemm_apack *bp,
	const float *B, int ldb, int transB, int K, int N);

/* ------------------------------------------------------------ the paths */

/* ref_gemm.c: the plain C twin (double accumulation, so it is also the
 * most accurate). */
int feat_sgemm_ref(const struct feat_sgemm_args *g);
/* C = act(beta * C + bias) without a product: K == 0 or alpha == 0. */
void feat_sgemm_scale_epilogue(const struct feat_sgemm_args *g);
/* The epilogue alone over C, for paths whose GEMM cannot fuse it. */
void feat_sgemm_epilogue(const struct feat_sgemm_args *g);

/* The AVX-512 path's functions are declared in avx512/avx512.h, which
 * only lib/kern/avx512 includes: the rest of the library reaches them
 * through the table. */

/* Free ap->p (any CPU; NULL is fine). */
static inline void feat_sgemm_apack_free(struct feat_sgemm_apack *ap)
{
	free(ap->p);
	ap->p = NULL;
}

/* blas.c: cblas_sgemm, or cblas_sgemv when N == 1 or M == 1; the epilogue
 * is a second pass over C. */
int feat_sgemm_blas(const struct feat_sgemm_args *g);

/* The reference table (ref/table.c) and the plain C twins it holds that
 * have no header of their own. */
extern const struct feat_kern feat_kern_ref_table;
void feat_maxpool2x2_ref(const float *x, int hin, int win, float *y, int hout, int wout);
void feat_act_ref(float *x, size_t n, int kind, float alpha);
double feat_kern_peak_ref(void);
void feat_softmax_ref(const float *x, float *y, size_t rows, size_t c);
void feat_maxpool_ref(const float *x, int hin, int win, float *y, int hout, int wout, int kh,
	int kw, int sh, int sw, int pt, int pl);
void feat_layernorm_ref(const float *x, float *y, size_t rows, size_t c, float eps,
	const float *g, const float *b);
void feat_rowmean_ref(const float *x, float *y, size_t rows, size_t c);
/* The tables that override it: fill k (a copy of the reference table)
 * with the path's own kernels (blas.c; avx512/table.c, only on x86-64). */
void feat_kern_fill_blas(struct feat_kern *k);
void feat_kern_fill_avx512(struct feat_kern *k);

/* cpuid: 1 when the CPU (and OS) run the AVX-512 path: every feature the
 * compiler flags of lib/kern/avx512 (AVX512_FLAGS in the Makefile) allow.
 * 0 on a build without the x86 path. */
int feat_kern_cpu_avx512(void);
/* 1 when the AVX-512 path runs and the CPU has AVX512_VNNI (the int8
 * kernels, built with a target attribute of their own). */
int feat_kern_cpu_vnni(void);
/* 1 when the AVX-512 path runs and the CPU has AVX512_BF16 (the bf16
 * kernels, built with a target attribute of their own). */
int feat_kern_cpu_bf16(void);
/* 1 when the AVX-512 path runs on a core that executes a 512-bit FMA as
 * two halves on 256-bit units, at the rate of a 256-bit one (from cpuid:
 * AMD family 19h, Zen 4), where a multiply costs twice what it costs on
 * a core with full-width units and trading multiplies for memory
 * traffic (Winograd) pays on smaller maps. */
int feat_kern_cpu_zmm_half(void);

/* Free this thread's packing buffers (they are kept between calls), on
 * every path. */
void feat_kern_workspace_free(void);

#endif
