/*
 * layers.h - the private state of the layer types that both the executor
 * (layers.c: setup and forward of each type) and the graph passes
 * (passes.c: batch-norm folding, activation and residual fusion, the
 * Winograd and NCHW16c plans) read and change.  Internal to lib/nn.
 */
#ifndef FEAT_NN_LAYERS_H
#define FEAT_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "kern/kern.h"
#include "nn/net.h"
#include "nn/quant.h"

struct conv {
	int cin, cout, group, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
	int hin, win, hout, wout;
	const float *w;      /* [cout][cin/group][kh][kw] */
	float *w_own;        /* a private copy once batch norm is folded in */
	float *bias;         /* [cout], zeros when the file has none */
	float *wino_u;       /* Winograd weights (packed for AVX-512), or NULL */
	int wino_block;      /* tiles per Winograd block */
	struct feat_sgemm_apack ap;  /* weights pre-packed for the AVX-512
				      * GEMM (group 1), at the first forward */
	float *w3;           /* packed for the AVX-512 first-layer kernel
			      * (kern/conv3.h), at the first forward */
	float *wk;           /* packed for the k x k first-layer kernel
			      * (kern/convk.h) when it runs the layer
			      * (feat_net_fold), or NULL */
	int accum;           /* C += the product: the output is stored over
			      * a residual Add's other input (fuse_residual) */
	int nc;              /* enum conv_nc: the NCHW16c kernel that fits */
	int hpad, wpad;      /* NC_PW, NC_GEN: the (padded) input's extent */
	float *wnc;          /* its packed weights, when a blob it reads or
			      * writes is in that layout (feat_net_fold) */
	struct feat_qconv *q;  /* int8 (nn/quant.h), or NULL: fp32 */
};

/* The NCHW16c kernels (kern/nchwc.h) a convolution's shape fits. */
enum conv_nc {
	NC_NONE = 0,
	NC_PW,       /* 1x1, stride 1: feat_convc_* on the input as it is */
	NC_DW,       /* depthwise 3x3 or 5x5: feat_dwc_* */
	NC_FIRST,    /* 3x3 over 1-4 plain channels: feat_conv3c_* */
	NC_GEN,      /* group 1 on a small map: feat_convc_* on a padded copy */
};

struct affine {
	int c;
	size_t inner;        /* elements per channel */
	float *a, *b;        /* y = a * x + b per channel */
};

struct fc {
	int k, nout;
	int rows;            /* axis > 1: rows of one image (the axes before
			      * `axis`), each multiplied on its own */
	const float *w;      /* [nout][k] */
	float *w_own;
	float *bias;
	struct feat_qfc *q;  /* int8 (nn/quant.h), or NULL: fp32 */
	struct feat_sgemm_apack bp;  /* W^T pre-packed as the GEMM's B, at
				      * the first forward of more than one
				      * row on one thread (FC_PACK_MAX) */
	int bp_tried;
};

struct act2 {
	float alpha, beta, lo, hi;
	const float *slope;
	size_t c, inner;     /* prelu: channels and positions per channel */
};

struct elt {
	int op, cfirst, nd;
	uint32_t od[FEAT_MAX_DIMS];
	size_t sa[FEAT_MAX_DIMS], sb[FEAT_MAX_DIMS];   /* strides, 0 broadcast */
	const float *w;
	size_t bcount;       /* b's elements per image (0: a weight) */
	/* fast forms (a of the output's shape): 1 b the same shape, 2 b one
	 * value a block of `inner` (an SE block's per-channel scale), 3 b one
	 * row of `inner` repeated; 0 the general loop */
	int fast;
	size_t inner;
	int swap;            /* the fast form with a and b exchanged */
};

/* unary op=sqrt|erf|gelu|pow, exponent=1 (pow) */
struct unary {
	int op;
	float e;
};

/* NCHW16c beyond the convolutions (nchwc_plan in passes.c): whether layer
 * l can read its input k channel-blocked (a global average pooling, a max
 * pooling; the map of an SE block's x * s), and whether it can write its
 * output so (that x * s, a max pooling). */
int feat_layer_nc_reads(const struct feat_layer *l, int k);
int feat_layer_nc_writes(const struct feat_layer *l);
/* The workspace (floats) a layer other than a convolution needs for the
 * layouts nchwc_plan chose (a max pooling between a blocked and a plain
 * blob converts one side). */
size_t feat_layer_nc_scratch(const struct feat_net *n, const struct feat_layer *l);

/* Multiply matmul layer l's products by s (fuse_scale in passes.c). */
void feat_layer_matmul_scale(struct feat_layer *l, float s);

/* What fuse_attention (passes.c) reads of the layers it replaces. */
float feat_layer_matmul_alpha(const struct feat_layer *l);
int feat_layer_permute_order(const struct feat_layer *l, uint32_t order[FEAT_MAX_DIMS]);
void feat_layer_slice_range(const struct feat_layer *l, int *axis, long *start, long *step);
int feat_layer_softmax_axis(const struct feat_layer *l);

/* fuse_pad (passes.c): 1 when pad layer l adds zeros on H and W only (a
 * 4-D blob), p = top, left, bottom, right; and convolution l taking such
 * pads into its own (0: it cannot, being quantised or packed already). */
int feat_layer_pad_hw(const struct feat_layer *l, int p[4]);
int feat_layer_conv_take_pad(struct feat_layer *l, const int p[4]);

/* 1 when the int8 products take layer l's shape: a convolution whose
 * column (kh kw cin/group, the channels rounded up to 4) or an fc whose
 * input is at most FEAT_Q_KMAX long (their int32 sums cannot overflow);
 * 0 otherwise, and for any other layer.  quant.c marks and runs only
 * such layers int8; inspect.c reports only them as int8. */
int feat_layer_int8_fits(const struct feat_layer *l);

/*
 * Attention, fused (fuse_attention in passes.c): for each head (the
 * matmuls' leading axes, hd[0..nh)), S = alpha A B (m x k times k x nn)
 * into the workspace, softmax over each row of S, O = S V (nn x d), each
 * operand a strided view of a blob of one image (base blob, offset, the
 * step of each head axis -- 0 broadcast -- and of its two matrix axes:
 * rows then columns, one of the two 1).  The scores of one head stay in
 * cache between the three steps, and the slices and transposes that fed
 * the matmuls are gone.
 */
struct feat_attn_op {
	int base;                /* blob (a root: its own storage) */
	long off;
	long hs[FEAT_MAX_DIMS];  /* step of each head axis */
	long rs, cs;             /* step of a row, of a column */
};

struct feat_attn {
	float alpha;
	int m, k, nn, d;
	int nh;
	uint32_t hd[FEAT_MAX_DIMS];
	struct feat_attn_op a, b, v, o;
};

/* Make matmul layer l the fused attention `at` (copied), reading the base
 * blobs of a, b and v and writing o's.  0 or FEAT_E_*. */
int feat_layer_attention(struct feat_net *n, struct feat_layer *l, const struct feat_attn *at);

/* Grow the shared workspace to `floats` floats (a no-op when it holds
 * that many already).  0, FEAT_E_TOOBIG over FEAT_NET_MAX_SCRATCH or
 * FEAT_E_NOMEM; n->scratch_want then says how much was asked (net.c names
 * the layer and the size). */
int feat_net_grow_scratch(struct feat_net *n, size_t floats);

#endif
