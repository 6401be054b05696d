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
