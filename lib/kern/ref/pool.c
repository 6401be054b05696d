/*
 * pool.c - plain C twins of the small elementwise families of the kernel
 * table: max pooling over 2x2 windows at stride 2 (the twin of
 * avx512/maxpool.c) and the activations over an array (kern/act.h).
 */
#include "kern/act.h"
#include "kern/kern.h"

void feat_maxpool2x2_ref(const float *x, int hin, int win, float *y, int hout, int wout)
{
	for (int oy = 0; oy < hout; oy++) {
		const float *r0 = x + (size_t)2 * oy * win;
		const float *r1 = 2 * oy + 1 < hin ? r0 + win : r0;
		float *yr = y + (size_t)oy * wout;

		for (int ox = 0; ox < wout; ox++) {
			int c = 2 * ox;
			float v = feat_nanmax(r0[c], r1[c]);

			if (c + 1 < win)
				v = feat_nanmax(v, feat_nanmax(r0[c + 1], r1[c + 1]));
			yr[ox] = v;
		}
	}
}

void feat_act_ref(float *x, size_t n, int kind, float alpha)
{
	if (!kind)
		return;
	for (size_t i = 0; i < n; i++)
		x[i] = feat_act1(x[i], kind, alpha);
}

void feat_maxpool_ref(const float *x, int hin, int win, float *y, int hout, int wout, int kh,
	int kw, int sh, int sw, int pt, int pl)
{
	for (int oy = 0; oy < hout; oy++) {
		int y0 = oy * sh - pt, y1 = y0 + kh;
		int cy0 = y0 < 0 ? 0 : y0, cy1 = y1 < hin ? y1 : hin;

		for (int ox = 0; ox < wout; ox++) {
			int x0 = ox * sw - pl, x1 = x0 + kw;
			int cx0 = x0 < 0 ? 0 : x0, cx1 = x1 < win ? x1 : win;
			float v = -INFINITY;

			for (int iy = cy0; iy < cy1; iy++)
				for (int ix = cx0; ix < cx1; ix++)
					v = feat_nanmax(v, x[(size_t)iy * win + ix]);
			y[(size_t)oy * wout + ox] = v;
		}
	}
}
