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

/*
 * The AVX-512 path's workspace, laid out by these two so that dwconv.c can
 * size it without AVX-512 code: sh * sw phase planes of the input (only
 * when a stride or a width change needs them), each
 * feat_dwconv_plane_floats() long, then a table of per-vector tap masks.
 * Depends only on the kernel, the strides and the output size (what
 * conv_setup knows).
 */
static inline unsigned long feat_dwconv_plane_floats(const struct feat_dw_args *a)
{
	unsigned long rows = (unsigned long)(a->hout - 1) +
			     (unsigned long)(a->kh - 1) * a->dh / a->sh + 1;

	return (rows * (unsigned long)a->wout + 31) / 16 * 16;
}

static inline unsigned long feat_dwconv_mask_floats(const struct feat_dw_args *a)
{
	/* vectors, rounded up to the AVX-512 kernel's blocks of 8 */
	unsigned long nvec = (((unsigned long)a->hout * a->wout + 15) / 16 + 7) / 8 * 8;

	return (nvec * (unsigned long)(a->kh * a->kw) * 2 + nvec + 63) / 4 + 16;
}
/* Floats of workspace the AVX-512 path needs for these arguments. */
unsigned long feat_dwconv_work(const struct feat_dw_args *a);

#endif
