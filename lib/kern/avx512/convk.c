/*
 * convk.c - the AVX-512 first-layer kernel for k x k windows (see
 * kern/convk.h).
 *
 * For each row of outputs, the cin x k input rows it reads are copied,
 * with their padding, into the workspace.  Then for each group of up to 4
 * blocks of 16 output channels and each tile of 6 outputs along the row,
 * 6 x 4 accumulators (one per output pixel and block, the 16 channels in
 * the lanes) take cin k k taps: 4 vectors of packed weights and 6
 * broadcast input values (at stride 2 every other column of the padded
 * row), one broadcast feeding 4 FMAs.  A block's weights (cin k k x 16
 * floats: 9.4 KB at 3 x 7 x 7) and the padded rows (19 KB at 224 wide)
 * stay in L1 while the tiles pass.  The tiles get their bias and
 * activation into a row buffer [pixel][block][16]; the row is then
 * transposed 16 x 16 in registers (transpose16.h) and stored as rows of
 * 16 pixels, masked at the end of the row and past cout.  For an output
 * kept channel-blocked (NCHW16c: nc) each sum is stored as it is.
 */
#include <immintrin.h>
#include <string.h>

#include "kern/act.h"
#include "kern/convk.h"
#include "kern/avx512/avx512.h"
#include "kern/avx512/transpose16.h"

/* The tile: P outputs x C blocks of 16 channels, acc[p][c] += the sum
 * over the taps of w[tap][c] * x[p S + kx], rows r of the padded input
 * (rw floats apart, from the tile's first column), weights wb
 * [nrow][k][C][16] (a group of C blocks of the packing, wstep floats from
 * one block to the next). */
#define P 6
static inline __attribute__((always_inline)) void tile(const float *x, size_t rw,
	const float *wb, size_t wstep, int nrow, int k, __m512 acc[P][4], const int C,
	const int S)
{
	for (int r = 0; r < nrow; r++) {
		const float *xr = x + (size_t)r * rw, *wr = wb + (size_t)r * k * 16;

		for (int kx = 0; kx < k; kx++) {
			__m512 w[4];

#pragma GCC unroll 4
			for (int c = 0; c < C; c++)
				w[c] = _mm512_loadu_ps(wr + c * wstep + kx * 16);
#pragma GCC unroll 6
			for (int p = 0; p < P; p++) {
				__m512 v;

				/* a broadcast from memory each time: left to itself
				 * GCC keeps the columns that stride 2 reads again
				 * two taps later as scalars in vector registers,
				 * which the 24 sums and 4 weights need, and
				 * spills */
				__asm__ volatile("vbroadcastss %1, %0" : "=v"(v) : "m"(xr[p * S + kx]));

#pragma GCC unroll 4
				for (int c = 0; c < C; c++)
					acc[p][c] = _mm512_fmadd_ps(v, w[c], acc[p][c]);
			}
		}
	}
}

/* One row of outputs for the group of C blocks from block b0: tiles of P
 * pixels into the row buffer rb [pixel][C][16], then 16 x 16 transposes
 * into y. */
static inline __attribute__((always_inline)) void group(const struct feat_convk_args *a,
	int oy, int b0, const float *xs, size_t rw, float *rb, int ncols, const int C,
	const int S)
{
	const __m512 alpha = _mm512_set1_ps(a->alpha);
	const int k = a->k, nrow = a->cin * k, wo = a->wout;
	const size_t wstep = (size_t)nrow * k * 16;
	const float *wb = a->wp + (size_t)b0 * wstep;
	__m512 bias[4];

#pragma GCC unroll 4
	for (int c = 0; c < C; c++) {
		int left = a->cout - (b0 + c) * 16;

		bias[c] = _mm512_maskz_loadu_ps(left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1),
						a->bias + (b0 + c) * 16);
	}
	for (int ox = 0; ox < ncols; ox += P) {
		__m512 acc[P][4];

#pragma GCC unroll 6
		for (int p = 0; p < P; p++)
#pragma GCC unroll 4
			for (int c = 0; c < C; c++)
				acc[p][c] = bias[c];
		tile(xs + (size_t)ox * S, rw, wb, wstep, nrow, k, acc, C, S);
		if (a->nc) {
			/* blocked output: the sums are its vectors */
#pragma GCC unroll 6
			for (int p = 0; p < P; p++)
#pragma GCC unroll 4
				for (int c = 0; c < C; c++)
					if (ox + p < wo)
						_mm512_storeu_ps(a->y + (((size_t)(b0 + c) * a->hout + oy) *
									 wo + ox + p) * 16,
								 feat_act16(acc[p][c], a->act, alpha));
			continue;
		}
#pragma GCC unroll 6
		for (int p = 0; p < P; p++)
#pragma GCC unroll 4
			for (int c = 0; c < C; c++)
				_mm512_storeu_ps(rb + ((size_t)(ox + p) * C + c) * 16,
						 feat_act16(acc[p][c], a->act, alpha));
	}
	if (a->nc)
		return;
	for (int c = 0; c < C; c++) {
		int nc = a->cout - (b0 + c) * 16 < 16 ? a->cout - (b0 + c) * 16 : 16;

		for (int ox = 0; ox < wo; ox += 16) {
			__mmask16 mo = wo - ox >= 16 ? 0xffff : (__mmask16)((1u << (wo - ox)) - 1);
			__m512 t[16];

#pragma GCC unroll 16
			for (int i = 0; i < 16; i++)
				t[i] = _mm512_loadu_ps(rb + ((size_t)(ox + i) * C + c) * 16);
			feat_transpose16(t);
			for (int j = 0; j < nc; j++) {
				float *yp = a->y + ((size_t)((b0 + c) * 16 + j) * a->hout + oy) * wo + ox;

				if (mo == 0xffff)
					_mm512_storeu_ps(yp, t[j]);
				else
					_mm512_mask_storeu_ps(yp, mo, t[j]);
			}
		}
	}
}

static inline __attribute__((always_inline)) void convk(const struct feat_convk_args *a,
	const int S)
{
	const int k = a->k, nb = (a->cout + 15) / 16, wo = a->wout;
	const size_t rw = feat_convk_row(k, S, wo);
	/* the tiles of P cover at least the 16-wide tiles of the transpose */
	const int ncols = ((wo + 15) / 16 * 16 + P - 1) / P * P;
	float *rb = a->work + feat_convk_strip(a->cin, k, S, wo);

	for (int oy = a->oy0; oy < a->oy1; oy++) {
		/* the padded rows */
		for (int ci = 0; ci < a->cin; ci++)
			for (int ky = 0; ky < k; ky++) {
				float *d = a->work + (size_t)(ci * k + ky) * rw;
				int iy = oy * S - a->pt + ky;
				long lo = a->pl, hi = (long)a->pl + a->win;

				if (hi > (long)rw)
					hi = (long)rw;
				if (iy < 0 || iy >= a->hin || lo >= hi) {
					memset(d, 0, rw * sizeof(float));
					continue;
				}
				memset(d, 0, (size_t)lo * sizeof(float));
				memcpy(d + lo, a->x + ((size_t)ci * a->hin + iy) * a->win,
				       (size_t)(hi - lo) * sizeof(float));
				memset(d + hi, 0, (rw - (size_t)hi) * sizeof(float));
			}
		for (int b = 0; b < nb; b += 4)
			switch (nb - b) {
			case 1: group(a, oy, b, a->work, rw, rb, ncols, 1, S); break;
			case 2: group(a, oy, b, a->work, rw, rb, ncols, 2, S); break;
			case 3: group(a, oy, b, a->work, rw, rb, ncols, 3, S); break;
			default: group(a, oy, b, a->work, rw, rb, ncols, 4, S); break;
			}
	}
}

void feat_convk_avx512(const struct feat_convk_args *a)
{
	if (a->s == 1)
		convk(a, 1);
	else
		convk(a, 2);
}
