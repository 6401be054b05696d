/*
 * dwconv.h - depthwise convolution kernels: one k x k filter per channel
 * (MobileNet's 3x3 layers).  As a GEMM it would be a string of one-row
 * products, so it has direct kernels of its own: a portable one, the
 * reference twin (dwconv.c), and an AVX-512 one (avx512/dwconv.c) that
 * tests hold to it.
 */
#ifndef FEAT_DWCONV_H
#define FEAT_DWCONV_H

/* One image, all channels.  y[c][oy][ox] = act(bias[c] + sum over ky, kx
 * of w[c][ky][kx] * x[c][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw]), with x
 * zero outside the image.  act: 0 none, 1 ReLU, 2 ReLU6, 3 leaky (alpha).
 * work: at least feat_dwconv_work() floats, 64-byte aligned (AVX-512 path
 * only; the portable path ignores it). */
struct feat_dw_args {
	const float *x;
	int c, hin, win;
	const float *w, *bias;
	int kh, kw, sh, sw, pt, pl, dh, dw;
	float *y;
	int hout, wout;
	int act;
	float alpha;
	float *work;
};

void feat_dwconv_ref(const struct feat_dw_args *a);
void feat_dwconv_avx512(const struct feat_dw_args *a);
/* Floats of workspace the AVX-512 path needs for these arguments. */
unsigned long feat_dwconv_work(const struct feat_dw_args *a);

#endif
