/*
 * nchwc.c - the layout conversions and weight packing of the NCHW16c
 * kernels (nchwc.h), and the plain C twins of the kernels: direct loops,
 * the oracle of the tests.
 */
#include <string.h>

#include "kern/act.h"
#include "kern/nchwc.h"

void feat_nchwc_from(const float *x, int c, size_t plane, float *y)
{
	for (int b = 0; b < (c + 15) / 16; b++) {
		const float *xb = x + (size_t)b * 16 * plane;
		float *yb = y + (size_t)b * 16 * plane;
		int nj = c - 16 * b < 16 ? c - 16 * b : 16;

		for (size_t p = 0; p < plane; p++)
			for (int j = 0; j < 16; j++)
				yb[p * 16 + j] = j < nj ? xb[(size_t)j * plane + p] : 0.0f;
	}
}

void feat_nchwc_to(const float *x, int c, size_t plane, float *y)
{
	for (int b = 0; b < (c + 15) / 16; b++) {
		const float *xb = x + (size_t)b * 16 * plane;
		float *yb = y + (size_t)b * 16 * plane;
		int nj = c - 16 * b < 16 ? c - 16 * b : 16;

		for (int j = 0; j < nj; j++)
			for (size_t p = 0; p < plane; p++)
				yb[(size_t)j * plane + p] = xb[p * 16 + j];
	}
}

/* 16 float sums (one a lane) over blocks of up to 1024 pixels, added
 * into double: as ref/rows.c's rowmean. */
void feat_nchwc_mean_ref(const float *x, int c, size_t plane, float *y)
{
	for (int b = 0; b < (c + 15) / 16; b++) {
		const float *xb = x + (size_t)b * 16 * plane;
		int nj = c - 16 * b < 16 ? c - 16 * b : 16;
		double s[16] = { 0 };

		for (size_t p0 = 0; p0 < plane; p0 += 1024) {
			size_t p1 = plane - p0 < 1024 ? plane : p0 + 1024;
			float part[16] = { 0 };

			for (size_t p = p0; p < p1; p++)
				for (int j = 0; j < 16; j++)
					part[j] += xb[p * 16 + j];
			for (int j = 0; j < 16; j++)
				s[j] += part[j];
		}
		for (int j = 0; j < nj; j++)
			y[16 * b + j] = (float)(s[j] / (double)plane);
	}
}

void feat_nchwc_mul_ref(const float *x, int xnc, int c, size_t plane, const float *s,
	float *y, int ync)
{
	for (int ch = 0; ch < c; ch++)
		for (size_t p = 0; p < plane; p++) {
			size_t blk = (size_t)(ch / 16) * 16 * plane + p * 16 + ch % 16;
			size_t flat = (size_t)ch * plane + p;

			y[ync ? blk : flat] = x[xnc ? blk : flat] * s[ch];
		}
}

void feat_maxpoolc_ref(const float *x, int c, int hin, int win, float *y, int hout, int wout,
	int kh, int kw, int sh, int sw, int pt, int pl)
{
	for (int b = 0; b < c / 16; b++)
		for (int oy = 0; oy < hout; oy++)
			for (int ox = 0; ox < wout; ox++)
				for (int j = 0; j < 16; j++) {
					int y0 = oy * sh - pt, x0 = ox * sw - pl;
					float v = -INFINITY;

					for (int iy = y0 < 0 ? 0 : y0; iy < y0 + kh && iy < hin; iy++)
						for (int ix = x0 < 0 ? 0 : x0; ix < x0 + kw && ix < win; ix++)
							v = feat_nanmax(v, x[(((size_t)b * hin + iy) * win + ix) *
									     16 + j]);
					y[(((size_t)b * hout + oy) * wout + ox) * 16 + j] = v;
				}
}

void feat_dwc_pack(float *wp, const float *w, int c, int k)
{
	int kk = k * k;

	for (int ch = 0; ch < c; ch++)
		for (int t = 0; t < kk; t++)
			wp[((size_t)(ch / 16) * kk + t) * 16 + ch % 16] = w[(size_t)ch * kk + t];
}

void feat_dwc_ref(const struct feat_dwc_args *a)
{
	for (int b = a->b0; b < a->b1; b++) {
		const float *xb = a->x + (size_t)b * a->hin * a->win * 16;
		const float *wb = a->wp + (size_t)b * a->k * a->k * 16;
		float *yb = a->y + (size_t)b * a->hout * a->wout * 16;

		for (int oy = 0; oy < a->hout; oy++)
			for (int ox = 0; ox < a->wout; ox++)
				for (int j = 0; j < 16; j++) {
					float s = a->bias[16 * b + j];

					for (int ky = 0; ky < a->k; ky++) {
						int iy = oy * a->s - a->pt + ky;

						if (iy < 0 || iy >= a->hin)
							continue;
						for (int kx = 0; kx < a->k; kx++) {
							int ix = ox * a->s - a->pl + kx;

							if (ix >= 0 && ix < a->win)
								s += wb[(ky * a->k + kx) * 16 + j] *
								     xb[((size_t)iy * a->win + ix) * 16 + j];
						}
					}
					yb[((size_t)oy * a->wout + ox) * 16 + j] =
						feat_act1(s, a->act, a->alpha);
				}
	}
}

void feat_convc_pad(const float *x, int cin, int hin, int win, int pt, int pl, float *xp,
	int hp, int wp)
{
	for (int b = 0; b < cin / 16; b++)
		for (int y = 0; y < hp; y++) {
			float *d = xp + ((size_t)b * hp + y) * wp * 16;
			int iy = y - pt;

			for (int x0 = 0; x0 < wp; x0++) {
				int ix = x0 - pl;

				if (iy >= 0 && iy < hin && ix >= 0 && ix < win)
					memcpy(d + (size_t)x0 * 16,
					       x + (((size_t)b * hin + iy) * win + ix) * 16, 16 * sizeof(float));
				else
					memset(d + (size_t)x0 * 16, 0, 16 * sizeof(float));
			}
		}
}

void feat_convc_pack(float *wp, const float *w, const float *bias, int cout, int cin, int kh,
	int kw)
{
	int nblk = feat_convc_blocks(cout), taps = kh * kw;
	float *bp = wp + (size_t)nblk * 16 * cin * taps;

	for (int g = 0; g < feat_convc_groups(cout); g++) {
		int nb = nblk - 4 * g < 4 ? nblk - 4 * g : 4;
		float *d = wp + (size_t)g * 64 * cin * taps;

		for (int ci = 0; ci < cin; ci++)
			for (int t = 0; t < taps; t++)
				for (int b = 0; b < nb; b++)
					for (int j = 0; j < 16; j++) {
						int co = 64 * g + 16 * b + j;
						size_t at = ((((size_t)(ci / 16) * taps + t) * 16 + ci % 16) * nb + b) * 16 + j;

						d[at] = co < cout ? w[((size_t)co * cin + ci) * taps + t] : 0.0f;
					}
	}
	for (int co = 0; co < 16 * nblk; co++)
		bp[co] = co < cout ? bias[co] : 0.0f;
}

void feat_convc_ref(const struct feat_convc_args *a)
{
	int nblk = feat_convc_blocks(a->cout), taps = a->kh * a->kw;

	for (int g = a->g0; g < a->g1; g++) {
		int nb = nblk - 4 * g < 4 ? nblk - 4 * g : 4;
		const float *wg = a->w + (size_t)g * 64 * a->cin * taps;

		for (int b = 0; b < nb; b++)
			for (long p = a->p0; p < a->p1; p++) {
				int oy = (int)(p / a->wout), ox = (int)(p % a->wout);

				for (int j = 0; j < 16; j++) {
					float *yo = &a->y[((size_t)(4 * g + b) * a->hout * a->wout + p) * 16 + j];
					float s = a->bias[64 * g + 16 * b + j] + (a->accum ? *yo : 0.0f);

					for (int ci = 0; ci < a->cin; ci++)
						for (int ky = 0; ky < a->kh; ky++)
							for (int kx = 0; kx < a->kw; kx++) {
								int t = ky * a->kw + kx;
								int iy = oy * a->sh + ky * a->dh, ix = ox * a->sw + kx * a->dw;

								s += wg[((((size_t)(ci / 16) * taps + t) * 16 + ci % 16) * nb + b) * 16 + j] *
								     a->xp[(((size_t)(ci / 16) * a->hp + iy) * a->wp + ix) * 16 + ci % 16];
							}
					*yo = feat_act1(s, a->act, a->alpha);
				}
			}
	}
}

void feat_conv3c_ref(const struct feat_conv3c_args *a)
{
	const struct feat_conv3_args *c = &a->c;

	for (int co = 0; co < c->cout; co++)
		for (int oy = a->oy0; oy < a->oy1; oy++)
			for (int ox = 0; ox < c->wout; ox++) {
				float s = c->bias[co];

				for (int ci = 0; ci < c->cin; ci++)
					for (int ky = 0; ky < 3; ky++) {
						int iy = oy * c->s - 1 + ky;

						if (iy < 0 || iy >= c->hin)
							continue;
						for (int kx = 0; kx < 3; kx++) {
							int ix = ox * c->s - 1 + kx;

							if (ix >= 0 && ix < c->win)
								s += c->w[((co * c->cin + ci) * 3 + ky) * 3 + kx] *
								     c->x[((size_t)ci * c->hin + iy) * c->win + ix];
						}
					}
				c->y[(((size_t)(co / 16) * c->hout + oy) * c->wout + ox) * 16 + co % 16] =
					feat_act1(s, c->act, c->alpha);
			}
}
