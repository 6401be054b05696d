/*
 * dwconv.c - the portable depthwise convolution (see dwconv.h): direct
 * loops, each input row read once per filter tap, clipped to the image so
 * that no padding is ever materialised.  The reference twin of the AVX-512
 * kernel, and the path on CPUs without it.
 */
#include "kern/act.h"
#include "kern/dwconv.h"

void feat_dwconv_ref(const struct feat_dw_args *a)
{
	for (int ch = 0; ch < a->c; ch++) {
		const float *xc = a->x + (unsigned long)ch * a->hin * a->win;
		const float *w = a->w + (unsigned long)ch * a->kh * a->kw;
		float *yc = a->y + (unsigned long)ch * a->hout * a->wout;

		for (int oy = 0; oy < a->hout; oy++) {
			float *r = yc + (unsigned long)oy * a->wout;

			for (int ox = 0; ox < a->wout; ox++)
				r[ox] = a->bias[ch];
			for (int ky = 0; ky < a->kh; ky++) {
				int iy = oy * a->sh - a->pt + ky * a->dh;
				const float *xr;

				if (iy < 0 || iy >= a->hin)
					continue;
				xr = xc + (unsigned long)iy * a->win;
				for (int kx = 0; kx < a->kw; kx++) {
					float wv = w[ky * a->kw + kx];
					int off = kx * a->dw - a->pl;
					/* ox with 0 <= ox*sw + off < win */
					int lo = off < 0 ? (-off + a->sw - 1) / a->sw : 0;
					int hi = a->win - off <= 0 ? 0 : (a->win - off - 1) / a->sw + 1;

					if (hi > a->wout)
						hi = a->wout;
					for (int ox = lo; ox < hi; ox++)
						r[ox] += wv * xr[ox * a->sw + off];
				}
			}
			for (int ox = 0; ox < a->wout; ox++)
				r[ox] = feat_act1(r[ox], a->act, a->alpha);
		}
	}
}

/* Width of the padded row the AVX-512 kernel works on: every tap of every
 * output vector (16 outputs, 32 input floats at stride 2) stays inside. */
static unsigned long padded_width(const struct feat_dw_args *a)
{
	unsigned long wo = ((unsigned long)a->wout + 15) / 16 * 16;

	return (wo * (unsigned long)a->sw + (unsigned long)(a->kw - 1) * a->dw + 32 + 15) / 16 * 16;
}

unsigned long feat_dwconv_work(const struct feat_dw_args *a)
{
	unsigned long hp = (unsigned long)(a->hout - 1) * a->sh + (unsigned long)(a->kh - 1) * a->dh + 1;

	unsigned long old = hp * padded_width(a) + 64;
	unsigned long flat = (unsigned long)a->sh * a->sw * feat_dwconv_plane_floats(a) +
			     feat_dwconv_mask_floats(a) + 64;

	return old > flat ? old : flat;
}
