/*
 * conv3.c - the AVX-512 first-layer kernel (see kern/conv3.h).
 *
 * For 16 outputs of a row (one vector) and 16 output channels (16
 * accumulators), each of the cin x 3 input rows the window covers gives
 * its three taps: at stride 1 three loads at columns ox - 1, ox, ox + 1; at stride 2 two loads each from columns 2 ox - 1 and 2 ox,
 * whose even lanes are the taps kx = 0 and 1 and odd lanes from 2 ox the
 * tap kx = 2.  Lanes outside the row are masked off: the padding.  Then
 * 3 x 16 FMAs, each weight a broadcast operand from the packed table
 * (16 channels contiguous per tap).  27 x 16 FMAs against about 30 other
 * instructions per vector: the FMA unit is the limit.  Loads are plain
 * inside the row and masked only at its ends (a masked load across a cache
 * line is several times slower on Zen 4).  Measured (one core, Zen 4):
 * MobileNet-SSD's conv1 (3 -> 32, 300x300, stride 2) 0.72 ms inside the
 * network against 0.92 for im2col + GEMM; VGG16's conv1_1 at 224x224 2.0
 * ms, as the GEMM.
 */
#include <immintrin.h>

#include "kern/act.h"
#include "kern/conv3.h"
#include "kern/avx512/avx512.h"

static inline __mmask16 span(long lo, long n)
{
	/* lanes i with 0 <= lo + i < n */
	unsigned m = 0xffffu;

	if (lo < 0)
		m = lo <= -16 ? 0 : m << (unsigned)-lo;
	if (n - lo < 16)
		m &= n - lo <= 0 ? 0 : (1u << (unsigned)(n - lo)) - 1;
	return (__mmask16)m;
}

/* x[lo .. lo + 16) of a row of n, zero outside it: a plain load inside
 * (a masked load across a cache line is several times slower here) */
static inline __attribute__((always_inline)) __m512 row16(const float *r, long lo, long n)
{
	if (lo >= 0 && lo + 16 <= n)
		return _mm512_loadu_ps(r + lo);
	return _mm512_maskz_loadu_ps(span(lo, n), r + lo);
}

void feat_conv3_avx512(const struct feat_conv3_args *a)
{
	const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
					     28, 30);
	const __m512i io = _mm512_add_epi32(ie, _mm512_set1_epi32(1));
	const __m512 alpha = _mm512_set1_ps(a->alpha);
	const int s = a->s, win = a->win, wo = a->wout, nb = (a->cout + 15) / 16;

	/* a block of 16 output channels at a time over the whole map: 16
	 * output streams rather than cout (the input, a few rows, stays in
	 * cache between blocks) */
	for (int b = 0; b < nb; b++)
		for (int oy = 0; oy < a->hout; oy++)
			for (int ox = 0; ox < wo; ox += 16) {
				const __mmask16 mo = span(ox, wo);
				const float *wb = a->wp + (size_t)b * a->cin * 9 * 16;
				__m512 acc[16];

#pragma GCC unroll 16
				for (int j = 0; j < 16; j++)
					acc[j] = _mm512_setzero_ps();
				for (int ci = 0; ci < a->cin; ci++)
					for (int ky = 0; ky < 3; ky++) {
						int iy = oy * s - 1 + ky;
						__m512 t[3];

						if (iy < 0 || iy >= a->hin)
							continue;
						const float *xr = a->x + ((size_t)ci * a->hin + iy) * win;

						if (s == 1) {
							t[0] = row16(xr, ox - 1, win);
							t[1] = row16(xr, ox, win);
							t[2] = row16(xr, ox + 1, win);
						} else {
							long c0 = 2L * ox - 1, c1 = 2L * ox;
							__m512 l0 = row16(xr, c0, win);
							__m512 h0 = row16(xr, c0 + 16, win);
							__m512 l1 = row16(xr, c1, win);
							__m512 h1 = row16(xr, c1 + 16, win);

							t[0] = _mm512_permutex2var_ps(l0, ie, h0);
							t[1] = _mm512_permutex2var_ps(l1, ie, h1);
							t[2] = _mm512_permutex2var_ps(l1, io, h1);
						}
						const float *wt = wb + (size_t)(ci * 3 + ky) * 3 * 16;

#pragma GCC unroll 3
						for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 16
							for (int j = 0; j < 16; j++)
								acc[j] = _mm512_fmadd_ps(
									_mm512_set1_ps(wt[kx * 16 + j]), t[kx], acc[j]);
					}
#pragma GCC unroll 16
				for (int j = 0; j < 16; j++) {
					int co = b * 16 + j;

					if (co >= a->cout)
						break;
					float *yp = a->y + ((size_t)co * a->hout + oy) * wo + ox;
					__m512 r = feat_act16(_mm512_add_ps(acc[j], _mm512_set1_ps(a->bias[co])),
							      a->act, alpha);

					if (mo == 0xffff)
						_mm512_storeu_ps(yp, r);
					else
						_mm512_mask_storeu_ps(yp, mo, r);
				}
			}
}
