/*
 * nchwc.h - convolutions on a channel-blocked layout (NCHW16c), for the
 * depthwise-separable backbones (MobileNet) whose 1x1 and 3x3-depthwise
 * layers are most of the work, and for an SSD's small extra layers and
 * heads.
 *
 * A map of C channels of H x W pixels is stored as [ceil(C/16)][H][W][16]:
 * the 16 channels of a block side by side at each pixel (the executor
 * keeps only blobs of whole blocks in it; a kernel's output may end in a
 * partial block, converted at once).  On that layout
 *
 *   - a 1x1 convolution is a GEMM whose operands need no packing: the
 *     weights (packed once) are the vector operand, 16 output channels
 *     to a vector, each input value a broadcast; the output tile is
 *     [pixels][16 channels], stored as is, with no edge along the
 *     channels (C is whole blocks) and one only along the pixels; other
 *     convolutions are the same with a loop over the taps;
 *   - a depthwise 3x3 or 5x5 convolution reads whole vectors of 16 channels at
 *     each tap, with no lane shuffles;
 *   - the first layer (an image of 1-4 channels in plain NCHW) writes
 *     its output blocks directly (conv3.h's shape and weight packing).
 *
 * The executor (lib/nn/layers.c) keeps a blob in this layout when the layer
 * that writes it and every layer that reads it run here, and converts at
 * the edges of such a chain (feat_nchwc_from/to).  Each kernel has a
 * plain C twin (nchwc.c), the oracle of t/unit/test_nchwc.c.  Activations
 * as in kern/act.h.
 */
#ifndef FEAT_KERN_NCHWC_H
#define FEAT_KERN_NCHWC_H

#include <stddef.h>

#include "kern/conv3.h"

/* Layout conversion of one image of c channels of plane pixels: NCHW ->
 * NCHW16c and back.  The blocked side has ceil(c / 16) blocks; the lanes
 * past c are written as zeros by _from and not read by _to. */
void feat_nchwc_from(const float *x, int c, size_t plane, float *y);
void feat_nchwc_to(const float *x, int c, size_t plane, float *y);
/* y[ch] = the mean of channel ch over the plane, x in NCHW16c (a global
 * average pooling, an SE block's squeeze): the twin of the table's
 * nchwc_mean. */
void feat_nchwc_mean_ref(const float *x, int c, size_t plane, float *y);
/* y[ch][p] = x[ch][p] * s[ch] (an SE block's excitation), x and y each
 * NCHW16c (xnc, ync 1) or plain NCHW; c a multiple of 16: the twin of the
 * table's nchwc_mul. */
void feat_nchwc_mul_ref(const float *x, int xnc, int c, size_t plane, const float *s,
	float *y, int ync);
/* Max pooling of NCHW16c x into NCHW16c y (c a multiple of 16): kh x kw
 * windows at strides sh, sw, clipped to the map (the padding pt, pl
 * ignored, as PyTorch's -inf), NaN wins; the twin of the table's
 * maxpoolc (and of maxpool, on the other layout). */
void feat_maxpoolc_ref(const float *x, int c, int hin, int win, float *y, int hout, int wout,
	int kh, int kw, int sh, int sw, int pt, int pl);

/* ---------------------------------------- convolution of group 1 */

/*
 * y[co][oy][ox] = act(bias[co] + sum over ci, ky, kx of w[co][ci][ky][kx] *
 * x[ci][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw]), direct, any kernel,
 * stride and dilation, group 1, cin a multiple of 16 and any cout: the
 * output has ceil(cout / 16) blocks, the channels past cout computed
 * from zero weights (an SSD head's 12 or 63 outputs).  The tile is 6
 * output pixels x 4 output blocks (64 channels) in registers, the taps
 * and input channels looped over.  A pointwise convolution (1x1, stride
 * 1, no padding) is the case of one tap: a GEMM whose operands need no
 * packing, each input value a broadcast, the packed weights the vector
 * operand, the output tile [pixels][16 channels] stored as is.
 *
 * The input comes padded, xp [cin/16][hp][wp][16] with the map at (pt,
 * pl) and zeros around (feat_convc_pad), so that no tap needs a bounds
 * check; a convolution without padding reads its input as it is (hp, wp
 * = hin, win).  A call computes the output pixels (flattened) [p0, p1)
 * of the groups of four output blocks [g0, g1), so that threads can split
 * either.
 */
struct feat_convc_args {
	const float *xp;
	int cin, hp, wp;
	const float *w;      /* feat_convc_pack's */
	const float *bias;   /* feat_convc_bias */
	int cout, kh, kw, sh, sw, dh, dw;
	float *y;
	int hout, wout;
	int act;
	float alpha;
	int g0, g1;
	long p0, p1;
	int accum;           /* y holds a sum to add the convolution to (a
			      * residual): y = act(y + bias + conv) */
};

/* The shapes the executor runs this way: pointwise ones, and the others
 * on small output maps (<= 400 pixels: the SSD extras and heads,
 * ResNet's layer4, where im2col's GEMM has a short N; <= 1024 at stride
 * 2 or more, which has no Winograd and whose im2col is a scalar gather:
 * ResNet-50's layer2.0.conv2, 3x3/2 128 -> 128 on 28x28, 1.25 ms
 * against 1.6 for im2col and the GEMM alone, 2.7 -> 1.6 ms in the
 * network on a shared core) with cin x kh x kw up to 4608 (512 x 3 x 3).  The AVX-512 kernel sums the input channels
 * in K blocks of about 512 KB of a group's weights (64 x cin x kh x kw
 * floats), so that they stay in L2 while the pixel tiles pass, the
 * partial sums waiting in y. */
static inline int feat_pw_fits(int cin, int kh, int kw, int sh, int sw, int pt, int pl,
	int pb, int pr, int group)
{
	return cin % 16 == 0 && kh == 1 && kw == 1 && sh == 1 && sw == 1 && !pt && !pl &&
	       !pb && !pr && group == 1;
}
static inline int feat_convc_fits(int cin, int group, int kh, int kw, int sh, int sw,
	int hout, int wout)
{
	return group == 1 && cin % 16 == 0 &&
	       ((long)hout * wout <= 400 || (sh >= 2 && sw >= 2 && (long)hout * wout <= 1024)) &&
	       (long)cin * kh * kw <= 4608;
}
static inline int feat_convc_blocks(int cout)
{
	return (cout + 15) / 16;
}
static inline int feat_convc_groups(int cout)
{
	return (feat_convc_blocks(cout) + 3) / 4;
}
/* The padded extent the taps reach (rows or columns). */
static inline int feat_convc_padded(int in, int p0, int out, int s, int k, int d)
{
	int reach = (out - 1) * s + (k - 1) * d + 1;

	return reach > in + p0 ? reach : in + p0;
}
void feat_convc_pad(const float *x, int cin, int hin, int win, int pt, int pl, float *xp,
	int hp, int wp);
static inline size_t feat_convc_pack_floats(int cout, int cin, int kh, int kw)
{
	return (size_t)feat_convc_blocks(cout) * 16 * ((size_t)cin * kh * kw + 1);
}
/* Group g at w + 64 g cin kh kw: [cin/16][kh][kw][16][blocks][16], then
 * the bias; zeros past cout. */
void feat_convc_pack(float *wp, const float *w, const float *bias, int cout, int cin, int kh,
	int kw);
static inline const float *feat_convc_bias(const float *wp, int cout, int cin, int kh, int kw)
{
	return wp + (size_t)feat_convc_blocks(cout) * 16 * cin * kh * kw;
}
void feat_convc_ref(const struct feat_convc_args *a);

/* ------------------------------------------- depthwise 3x3 and 5x5 */

/*
 * y[c][oy][ox] = act(bias[c] + sum over ky, kx < k of w[c][ky][kx] *
 * x[c][oy*s - pt + ky][ox*s - pl + kx]), x zero outside the map; both
 * NCHW16c; channel blocks [b0, b1).  k is 3 (MobileNet) or 5
 * (EfficientNet's and MobileNetV3's larger stages).
 */
struct feat_dwc_args {
	const float *x;
	int c, hin, win;
	const float *wp;     /* feat_dwc_pack's: [c/16][k*k][16] */
	const float *bias;
	int k, s, pt, pl;
	float *y;
	int hout, wout;
	int act;
	float alpha;
	int b0, b1;
};

static inline int feat_dwc_fits(int c, int group, int cout, int kh, int kw, int sh, int sw,
	int dh, int dw, int pt, int pl)
{
	return c % 16 == 0 && group == c && cout == c && kh == kw && (kh == 3 || kh == 5) &&
	       sh == sw && (sh == 1 || sh == 2) && dh == 1 && dw == 1 && pt <= kh / 2 &&
	       pl <= kw / 2;
}
void feat_dwc_pack(float *wp, const float *w, int c, int k);
void feat_dwc_ref(const struct feat_dwc_args *a);

/* ------------------------------------------------------ the first layer */

/*
 * conv3.h's convolution (3x3, 1-4 input channels in NCHW, stride 1 or 2,
 * padding 1) with the output in NCHW16c (cout % 16 == 0), weights packed
 * by feat_conv3_pack, output rows [oy0, oy1).
 */
struct feat_conv3c_args {
	struct feat_conv3_args c;
	int oy0, oy1;
};

static inline int feat_conv3c_fits(int cin, int cout, int kh, int kw, int sh, int sw, int dh,
	int dw, int pt, int pl, int group)
{
	return cout % 16 == 0 && feat_conv3_fits(cin, kh, kw, sh, sw, dh, dw, pt, pl, group);
}
void feat_conv3c_ref(const struct feat_conv3c_args *a);

#endif
