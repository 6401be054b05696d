/*
 * quant.h - int8 convolutions in the graph executor (issue 16), and the
 * calibration featmodel quantize runs.
 *
 * A convolution layer of a featmodel file may carry (featmodel(5)):
 *
 *   quant        "u8s8": run int8 (absent: fp32)
 *   quant.scale  sx > 0, the step of its input's u8 values
 *   quant.zero   zp, 0 (an input >= 0, after a ReLU) or 128 (one that can be
 *                negative): x ~ sx (xq - zp)
 *
 * The weights stay fp32 in the file; at the first forward pass, after
 * batch norm is folded in, they are quantised to s8 with one symmetric
 * scale per output channel (max |w| / 127) and packed (kern/int8.h).  A
 * quantised layer runs int8 where the active kernel table has an int8
 * product (the plain C twin under FEAT_KERNEL=ref, VNNI on the avx512
 * path); elsewhere (OpenBLAS, AVX-512 without VNNI) it runs fp32 on the
 * same weights.
 */
#ifndef FEAT_NN_QUANT_H
#define FEAT_NN_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "kern/int8.h"
#include "nn/model.h"
#include "nn/net.h"

/* The kinds of quant a layer may carry (0: none). */
enum { FEAT_QUANT_U8S8 = 1, FEAT_QUANT_BF16 = 2 };

struct feat_qconv {
	float sx;                /* input step */
	int zp;                  /* input zero point */
	int cin, cout, M, K;     /* K = kh kw cp */
	int pt, pl, pb, pr, hin, win;
	struct feat_qconv_geom g;
	size_t xq_bytes;         /* the padded input (the table's quant_c4) */
	int nb;                  /* B panels packed at a time */
	size_t panel_bytes;      /* nb packed B panels */
	int8_t *ap;              /* packed weights (first forward) */
	float *scale;            /* [cout] sx * sw */
	int32_t *comp;           /* [cout] zp * sum wq */
	int bf16;                /* quant bf16: g.cp is twice the even channel
				  * count (the pairs as 4-byte words), K = kh
				  * kw cp bf16, xq the bf16 pairs (bf16_c2) */
	uint16_t *ab;            /* bf16: packed weights (first forward) */
};

/* The geometry of a convolution, as layers.c has it. */
struct feat_qconv_shape {
	int cin, cout, group, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
	int hin, win, hout, wout;
};

/* Read layer l's quant parameters.  *out NULL when it has none or the
 * active kernel table has no int8 product; else *scratch the floats of
 * workspace thread 0 needs (the others need panel_bytes).  0 or
 * FEAT_E_FORMAT (a bad value, or quant on a grouped convolution), with
 * the reason in why. */
int feat_qconv_setup(struct feat_net *n, struct feat_layer *l, const struct feat_qconv_shape *s,
	struct feat_qconv **out, size_t *scratch, char *why, size_t whylen);
/* Forward over batch images: x NCHW fp32 in, y NCHW fp32 out with bias
 * and (relu) ReLU fused; w, bias the layer's final fp32 weights.  0, or
 * FEAT_E_NOMEM when the weights could not be packed (the caller then runs
 * fp32). */
int feat_qconv_forward(struct feat_net *n, struct feat_qconv *q, const float *w,
	const float *bias, const float *X, size_t xs, float *Y, size_t ys, int batch, int relu,
	int threads);
void feat_qconv_free(struct feat_qconv *q);

/* An int8 inner product (fc): the same parameters; run one vector at a
 * time (an fc at batch 1 is bound by its weights' bandwidth, which int8
 * cuts by 4). */
struct feat_qfc {
	float sx;
	int zp, k, nout;
	size_t ldw;              /* k rounded up to 64 */
	int8_t *w;               /* [nout][ldw] (first forward) */
	float *scale;
	int32_t *comp;
	uint8_t *xq;             /* ldw bytes */
	int bf16;                /* quant bf16: ldw k rounded up to 32 */
	uint16_t *wb, *xb;       /* bf16: [nout][ldw] weights, ldw inputs */
	/* many rows at once (a transformer's tokens, a batch): the weights
	 * as the GEMM's packed A (first such forward) */
	int8_t *ap;
	uint16_t *ab;
	/* and its buffers, kept between forwards: the B panels of a block
	 * of rows and the block's output before its transposition */
	unsigned char *gbp;
	float *gc;
	long gpanels;            /* the panels they hold */
};
/* From this many rows a call runs as one GEMM (weights read once per
 * block of columns) instead of a GEMV per row (weights read per row). */
#ifndef FEAT_QFC_GEMM_ROWS
#define FEAT_QFC_GEMM_ROWS 4
#endif
/* As feat_qconv_setup, for an fc of nout outputs over k inputs. */
int feat_qfc_setup(struct feat_net *n, struct feat_layer *l, int k, int nout,
	struct feat_qfc **out, char *why, size_t whylen);
/* rows vectors of k floats at X to rows vectors of nout at Y. */
int feat_qfc_forward(struct feat_net *n, struct feat_qfc *q, const float *w, const float *bias,
	const float *X, float *Y, int rows, int relu, int threads);
void feat_qfc_free(struct feat_qfc *q);
/* The smallest fc (nout x k weights) featmodel quantize makes int8: smaller
 * ones gain nothing. */
#define FEAT_QFC_MIN_WEIGHTS (1 << 20)

/* ------------------------------------------------------- calibration */

/* The statistics of the inputs of a net's convolutions over calibration
 * images.  The net must run fp32 (built from a model without quant). */
struct feat_qcalib {
	struct feat_net *n;
	int nlayer;
	int *cand;               /* [nlayer] 1: a group-1 convolution not on a
				  * graph input, or an fc of at least
				  * FEAT_QFC_MIN_WEIGHTS weights: a candidate */
	double *amax, *vmin;     /* [nlayer] max |x| and min x of the input */
	uint64_t *hist;          /* [nlayer][FEAT_QHIST] of |x| / amax, pass 2 */
	uint64_t images;
};
#define FEAT_QHIST 4096

int feat_qcalib_init(struct feat_qcalib *c, struct feat_net *n);
void feat_qcalib_free(struct feat_qcalib *c);
/* One forward pass over the image in the net's input blob (batch 1),
 * collecting pass 1 (max, min) or pass 2 (histogram) statistics. */
void feat_qcalib_image(struct feat_qcalib *c, int pass);
/* The step of layer i's input for a percentile pct of the non-zero |x|
 * (100: the max; values that are not finite left out), and its zero
 * point; FEAT_E_RANGE when that step is not one params() takes (1e-30 to
 * 1e30, exclusive: inputs all under about 2.6e-28 or beyond 2.5e32), and
 * the layer must stay fp32. */
int feat_qcalib_scale(const struct feat_qcalib *c, int i, double pct, double *sx, int *zp);

/* Copy model m into b, layers carrying the quant parameters in q (q[i].on
 * for layer i; q NULL: none, every existing quant parameter dropped). */
struct feat_qlayer {
	int on;                  /* 0, FEAT_QUANT_U8S8 or FEAT_QUANT_BF16 */
	double sx;
	int zp;
};
int feat_quant_copy(feat_model_builder *b, const struct feat_model *m,
	const struct feat_qlayer *q);

#endif
