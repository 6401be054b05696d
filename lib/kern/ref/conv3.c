/*
 * conv3.c - the portable twin of the AVX-512 first-layer kernel (see
 * conv3.h): direct loops, clipped to the image, and the weight packing.
 */
#include "kern/act.h"
#include "kern/conv3.h"

void feat_conv3_ref(const struct feat_conv3_args *a)
{
	for (int co = 0; co < a->cout; co++) {
		float *yc = a->y + (unsigned long)co * a->hout * a->wout;

		for (int oy = 0; oy < a->hout; oy++)
			for (int ox = 0; ox < a->wout; ox++) {
				float s = a->bias[co];

				for (int ci = 0; ci < a->cin; ci++)
					for (int ky = 0; ky < 3; ky++) {
						int iy = oy * a->s - 1 + ky;

						if (iy < 0 || iy >= a->hin)
							continue;
						for (int kx = 0; kx < 3; kx++) {
							int ix = ox * a->s - 1 + kx;

							if (ix >= 0 && ix < a->win)
								s += a->w[((co * a->cin + ci) * 3 + ky) * 3 + kx] *
								     a->x[((unsigned long)ci * a->hin + iy) * a->win + ix];
						}
					}
				yc[(unsigned long)oy * a->wout + ox] = feat_act1(s, a->act, a->alpha);
			}
	}
}

void feat_conv3_pack(float *wp, const float *w, int cout, int cin)
{
	int nb = (cout + 15) / 16;

	for (int b = 0; b < nb; b++)
		for (int t = 0; t < cin * 9; t++)
			for (int j = 0; j < 16; j++) {
				int co = b * 16 + j;

				wp[((unsigned long)b * cin * 9 + t) * 16 + j] =
					co < cout ? w[(unsigned long)co * cin * 9 + t] : 0.0f;
			}
}
