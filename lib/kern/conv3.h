/*
 * conv3.h - a direct kernel for the first layer of most CNNs: a 3x3
 * convolution of an image with few channels (RGB) into many, stride 1 or
 * 2, padding 1 at the top and left (the output size fixes the bottom and
 * right), group 1, no dilation.  As a GEMM its K is 27: im2col copies the
 * input nine times over and every tile of the product is short, so the
 * GEMM runs well under the core's peak.  The direct kernel makes each
 * input row's three taps for 16 outputs in registers and spends them on
 * 16 output channels at a time.  A portable twin (conv3.c) is the oracle
 * of the tests.
 */
#ifndef FEAT_CONV3_H
#define FEAT_CONV3_H

/* One image.  y[co][oy][ox] = act(bias[co] + sum over ci, ky, kx of
 * w[co][ci][ky][kx] * x[ci][oy*s - 1 + ky][ox*s - 1 + kx]), x zero
 * outside the image; act as in kern/act.h.  wp: the weights packed by
 * feat_conv3_pack (AVX-512 path only). */
struct feat_conv3_args {
	const float *x;
	int cin, hin, win;
	const float *w, *wp, *bias;
	int cout, s;
	float *y;
	int hout, wout;
	int act;
	float alpha;
};

/* The shapes the kernel takes. */
static inline int feat_conv3_fits(int cin, int kh, int kw, int sh, int sw, int dh, int dw,
	int pt, int pl, int group)
{
	return cin >= 1 && cin <= 4 && kh == 3 && kw == 3 && sh == sw && (sh == 1 || sh == 2) &&
	       dh == 1 && dw == 1 && pt == 1 && pl == 1 && group == 1;
}

void feat_conv3_ref(const struct feat_conv3_args *a);
/* Floats of packed weights for cout x cin: 16-channel blocks, each
 * [cin][3][3][16], the channels past cout zero. */
static inline unsigned long feat_conv3_pack_floats(int cout, int cin)
{
	return (unsigned long)(cout + 15) / 16 * 16 * cin * 9;
}
void feat_conv3_pack(float *wp, const float *w, int cout, int cin);

#endif
