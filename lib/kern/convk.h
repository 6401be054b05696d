/*
 * convk.h - a direct kernel for the first layer of a CNN with a larger
 * window than conv3.h's: an image of few channels (1-4) into many, a
 * k x k window (k 1 to 11) at stride 1 or 2, any padding, group 1, no
 * dilation (ResNet's conv1: 7x7 stride 2 padding 3, 3 -> 64).  As a GEMM
 * its K is cin k k (147) and its im2col copies the input k k / s^2 times
 * over, with a scalar gather at stride 2.  The direct kernel instead
 * holds 6 output pixels of a row x up to 64 output channels (4 blocks of
 * 16, in the vector lanes) in registers: each tap is one vector of 16
 * weights a block (packed once) and 6 input values, each a broadcast
 * used by every block, so that the taps and channels of any k and stride
 * are the same loop.  A row of outputs goes through a row buffer, then
 * 16 x 16 in-register transposes into the NCHW rows.
 *
 * The input rows a row of outputs reads are first copied, padded, into a
 * workspace (feat_convk_work floats), so that no tap needs a bounds
 * check.  A portable twin (convk.c: direct loops over the unpacked
 * weights) is the oracle of t/unit/test_convk.c.
 */
#ifndef FEAT_CONVK_H
#define FEAT_CONVK_H

#include <stddef.h>

/* One image, output rows [oy0, oy1).  y[co][oy][ox] (or y's NCHW16c place
 * for it: nc) = act(bias[co] + sum
 * over ci, ky, kx of w[co][ci][ky][kx] * x[ci][oy*s - pt + ky][ox*s - pl +
 * kx]), x zero outside the image (hout, wout fix the padding at the
 * bottom and right); act as in kern/act.h.  wp: the weights packed by
 * feat_convk_pack (read by the AVX-512 kernel), w: as they are (read by
 * the twin); work: feat_convk_work floats (AVX-512 kernel only). */
struct feat_convk_args {
	const float *x;
	int cin, hin, win;
	const float *w, *wp, *bias;
	int cout, k, s, pt, pl;
	float *y;
	int hout, wout;
	int act;
	float alpha;
	int oy0, oy1;
	float *work;
	int nc;              /* 1: y in NCHW16c ([cout/16][hout][wout][16];
			      * cout a multiple of 16), as nchwc.h's kernels
			      * read it */
};

/* The shapes the kernel takes. */
static inline int feat_convk_fits(int cin, int kh, int kw, int sh, int sw, int dh, int dw,
	int pt, int pl, int group)
{
	return cin >= 1 && cin <= 4 && kh == kw && kh >= 1 && kh <= 11 && sh == sw &&
	       (sh == 1 || sh == 2) && dh == 1 && dw == 1 && pt >= 0 && pt < kh && pl >= 0 &&
	       pl < kw && group == 1;
}

/* The padded width of the input rows one row of outputs reads: the
 * AVX-512 kernel's tiles of 6 outputs over whole tiles of 16. */
static inline size_t feat_convk_cols(int wout)
{
	return (size_t)(((wout + 15) / 16 * 16 + 5) / 6 * 6);
}
static inline size_t feat_convk_row(int k, int s, int wout)
{
	return (feat_convk_cols(wout) - 1) * s + k;
}
/* Workspace of a call: cin k padded rows, then a row of outputs of 64
 * channels. */
static inline size_t feat_convk_strip(int cin, int k, int s, int wout)
{
	return ((size_t)cin * k * feat_convk_row(k, s, wout) + 15) / 16 * 16;
}
static inline size_t feat_convk_work(int cin, int k, int s, int wout)
{
	return feat_convk_strip(cin, k, s, wout) + feat_convk_cols(wout) * 64;
}
/* Floats of packed weights for cout x cin x k x k: 16-channel blocks, each
 * [cin][k][k][16], the channels past cout zero. */
static inline size_t feat_convk_pack_floats(int cout, int cin, int k)
{
	return (size_t)(cout + 15) / 16 * 16 * cin * k * k;
}
void feat_convk_pack(float *wp, const float *w, int cout, int cin, int k);
void feat_convk_ref(const struct feat_convk_args *a);

#endif
