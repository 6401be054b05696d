/*
 * convk.c - the portable twin of the AVX-512 first-layer kernel for k x k
 * windows (see convk.h): direct loops over the unpacked weights, clipped
 * to the image, and the weight packing.
 */
#include "kern/act.h"
#include "kern/convk.h"

void feat_convk_ref(const struct feat_convk_args *a)
{
	int k = a->k;

	for (int co = 0; co < a->cout; co++) {
		float *yc = a->y + (size_t)co * a->hout * a->wout;
		/* NCHW16c: the block's plane, then lane co % 16 of each pixel */
		float *yb = a->y + (size_t)(co / 16) * 16 * a->hout * a->wout + co % 16;

		for (int oy = a->oy0; oy < a->oy1; oy++)
			for (int ox = 0; ox < a->wout; ox++) {
				float s = a->bias[co];

				for (int ci = 0; ci < a->cin; ci++)
					for (int ky = 0; ky < k; ky++) {
						int iy = oy * a->s - a->pt + ky;

						if (iy < 0 || iy >= a->hin)
							continue;
						for (int kx = 0; kx < k; kx++) {
							int ix = ox * a->s - a->pl + kx;

							if (ix >= 0 && ix < a->win)
								s += a->w[(((size_t)co * a->cin + ci) * k + ky) * k + kx] *
								     a->x[((size_t)ci * a->hin + iy) * a->win + ix];
						}
					}
				if (a->nc)
					yb[((size_t)oy * a->wout + ox) * 16] = feat_act1(s, a->act, a->alpha);
				else
					yc[(size_t)oy * a->wout + ox] = feat_act1(s, a->act, a->alpha);
			}
	}
}

void feat_convk_pack(float *wp, const float *w, int cout, int cin, int k)
{
	int nb = (cout + 15) / 16, taps = cin * k * k;

	for (int b = 0; b < nb; b++)
		for (int t = 0; t < taps; t++)
			for (int j = 0; j < 16; j++) {
				int co = b * 16 + j;

				wp[((size_t)b * taps + t) * 16 + j] =
					co < cout ? w[(size_t)co * taps + t] : 0.0f;
			}
}
