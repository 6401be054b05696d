/*
 * nchwc.c - AVX-512 kernels on the NCHW16c layout (see kern/nchwc.h).
 *
 * Convolution of group 1, pointwise or not.  The tile is 6 pixels x 4
 * output blocks (64 channels): 24 zmm accumulators.  Each input channel
 * and tap costs 4 loads of packed weights, 6 broadcasts of the pixels'
 * values (one cache line per pixel serves 16 channels) and 24 FMAs;
 * nothing is packed per call and no FMA is spent on a channel that does
 * not exist.  Pointwise, pixels go in chunks of PW_CHUNK so that a chunk
 * of the input (cin x 96 floats: 192 KB at 512 channels) stays in L2
 * while every group of weights passes over it.  Other convolutions (small
 * maps) take all the pixels at once, the input channels in K blocks of
 * CC_KBYTES of a group's weights, partial sums stored in y between
 * blocks: ResNet-50's layer4 3x3 (512 x 9 inputs, 1.2 MB a group) went
 * from 2.7 ms as im2col + GEMM to 1.8 (per-layer minima of 10 passes,
 * one Zen 5 core of a shared machine; 2.3 in one K block).  Measured on
 * MobileNet's shapes, isolated and hot (one Zen 4 core, peak 117
 * GFLOP/s): 512x512 on 19x19 116 GFLOP/s against 108 for the packed
 * GEMM on NCHW; 1024x1024 on 10x10 116 against 100; 32->64 on 150x150
 * 112 against 87.
 *
 * Depthwise 3x3 and 5x5.  A row of 8 outputs of one block keeps 8
 * accumulators; each input vector of the k rows is loaded once and spent
 * on every output it touches (3x3 stride 1: 30 loads and 9 weight loads
 * for 72 FMAs; 5x5: 60 and 25 for 200).  The chunks at either end of a row read the
 * columns outside the map as zero (a checked variant of the same code);
 * rows outside the map (at the first and last output rows) are skipped.
 *
 * First layer.  12 outputs x 2 blocks (32 channels) in registers; each
 * tap is 2 weight loads and 12 broadcasts of input pixels.
 */
#include <immintrin.h>

#include "kern/act.h"
#include "kern/nchwc.h"
#include "kern/avx512/transpose16.h"
#include "kern/avx512/avx512.h"

#define AI static inline __attribute__((always_inline))

/* --------------------------------------------------------------- layout */

/* Pixels [p, p + 16) of one block of 16 channels through the register
 * transpose: plain rows of xb (plane floats apart) to blocked yb, or
 * blocked xb to plain rows of yb (the first nj of them), times the
 * block's 16 scales sv when scaled (nchwc_mul), applied on the blocked
 * side where the lanes are the channels. */
AI void tile_from(const float *xb, size_t plane, size_t p, float *yb, __m512 sv,
	const int scaled)
{
	__m512 r[16];

#pragma GCC unroll 16
	for (int j = 0; j < 16; j++)
		r[j] = _mm512_loadu_ps(xb + (size_t)j * plane + p);
	feat_transpose16(r);
#pragma GCC unroll 16
	for (int i = 0; i < 16; i++)
		_mm512_storeu_ps(yb + (p + i) * 16, scaled ? _mm512_mul_ps(r[i], sv) : r[i]);
}

AI void tile_to(const float *xb, size_t plane, size_t p, float *yb, int nj, __m512 sv,
	const int scaled)
{
	__m512 r[16];

#pragma GCC unroll 16
	for (int i = 0; i < 16; i++) {
		r[i] = _mm512_loadu_ps(xb + (p + i) * 16);
		if (scaled)
			r[i] = _mm512_mul_ps(r[i], sv);
	}
	feat_transpose16(r);
#pragma GCC unroll 16
	for (int j = 0; j < 16; j++)
		if (j < nj)
			_mm512_storeu_ps(yb + (size_t)j * plane + p, r[j]);
}

/* 16 channels x 16 pixels at a time through the register transpose; the
 * pixels past the last multiple of 16 one by one. */
void feat_nchwc_from_avx512(const float *x, int c, size_t plane, float *y)
{
	if (c % 16) {
		/* a partial last block: the plain loops for it */
		feat_nchwc_from_avx512(x, c / 16 * 16, plane, y);
		feat_nchwc_from(x + (size_t)c / 16 * 16 * plane, c % 16, plane,
				y + (size_t)c / 16 * 16 * plane);
		return;
	}
	for (int b = 0; b < c / 16; b++) {
		const float *xb = x + (size_t)b * 16 * plane;
		float *yb = y + (size_t)b * 16 * plane;
		size_t p = 0;

		for (; p + 16 <= plane; p += 16)
			tile_from(xb, plane, p, yb, _mm512_setzero_ps(), 0);
		for (; p < plane; p++)
			for (int j = 0; j < 16; j++)
				yb[p * 16 + j] = xb[(size_t)j * plane + p];
	}
}

void feat_nchwc_to_avx512(const float *x, int c, size_t plane, float *y)
{
	for (int b = 0; b < (c + 15) / 16; b++) {
		const float *xb = x + (size_t)b * 16 * plane;
		float *yb = y + (size_t)b * 16 * plane;
		int nj = c - 16 * b < 16 ? c - 16 * b : 16;
		size_t p = 0;

		for (; p + 16 <= plane; p += 16)
			tile_to(xb, plane, p, yb, nj, _mm512_setzero_ps(), 0);
		for (; p < plane; p++)
			for (int j = 0; j < nj; j++)
				yb[(size_t)j * plane + p] = xb[p * 16 + j];
	}
}

/* Four vectors of sums a block of up to 1024 pixels, added into two of
 * doubles (the twin's rounding, ref/nchwc.c). */
void feat_nchwc_mean_avx512(const float *x, int c, size_t plane, float *y)
{
	for (int b = 0; b < (c + 15) / 16; b++) {
		const float *xb = x + (size_t)b * 16 * plane;
		int nj = c - 16 * b < 16 ? c - 16 * b : 16;
		__m512d d0 = _mm512_setzero_pd(), d1 = _mm512_setzero_pd();
		__m512 m;

		for (size_t p0 = 0; p0 < plane; p0 += 1024) {
			size_t p1 = plane - p0 < 1024 ? plane : p0 + 1024, p = p0;
			__m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
			__m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();

			for (; p + 4 <= p1; p += 4) {
				a0 = _mm512_add_ps(a0, _mm512_loadu_ps(xb + p * 16));
				a1 = _mm512_add_ps(a1, _mm512_loadu_ps(xb + p * 16 + 16));
				a2 = _mm512_add_ps(a2, _mm512_loadu_ps(xb + p * 16 + 32));
				a3 = _mm512_add_ps(a3, _mm512_loadu_ps(xb + p * 16 + 48));
			}
			for (; p < p1; p++)
				a0 = _mm512_add_ps(a0, _mm512_loadu_ps(xb + p * 16));
			a0 = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
			d0 = _mm512_add_pd(d0, _mm512_cvtps_pd(_mm512_castps512_ps256(a0)));
			d1 = _mm512_add_pd(d1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(a0, 1)));
		}
		d0 = _mm512_div_pd(d0, _mm512_set1_pd((double)plane));
		d1 = _mm512_div_pd(d1, _mm512_set1_pd((double)plane));
		m = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(d0)), _mm512_cvtpd_ps(d1),
				       1);
		_mm512_mask_storeu_ps(y + 16 * b, (__mmask16)((1u << nj) - 1), m);
	}
}

/* One pass whatever the layouts: a blocked side is read or written a
 * pixel's 16 channels a vector (times the block's 16 scales), a plain
 * side through the 16 x 16 register transpose (each channel's row times
 * its scale); both plain, a channel at a time. */
void feat_nchwc_mul_avx512(const float *x, int xnc, int c, size_t plane, const float *s,
	float *y, int ync)
{
	for (int b = 0; b < c / 16; b++) {
		const float *xb = x + (size_t)b * 16 * plane, *sb = s + 16 * b;
		float *yb = y + (size_t)b * 16 * plane;
		__m512 sv = _mm512_loadu_ps(sb);
		size_t p = 0;

		if (xnc && ync) {
			for (; p + 4 <= plane; p += 4)
#pragma GCC unroll 4
				for (int i = 0; i < 4; i++)
					_mm512_storeu_ps(yb + (p + i) * 16,
							 _mm512_mul_ps(_mm512_loadu_ps(xb + (p + i) * 16), sv));
			for (; p < plane; p++)
				_mm512_storeu_ps(yb + p * 16, _mm512_mul_ps(_mm512_loadu_ps(xb + p * 16), sv));
			continue;
		}
		if (!xnc && !ync) {
			for (int j = 0; j < 16; j++) {
				const float *xr = xb + (size_t)j * plane;
				float *yr = yb + (size_t)j * plane;
				__m512 v = _mm512_set1_ps(sb[j]);

				for (p = 0; p + 16 <= plane; p += 16)
					_mm512_storeu_ps(yr + p, _mm512_mul_ps(_mm512_loadu_ps(xr + p), v));
				if (p < plane) {
					__mmask16 t = (__mmask16)((1u << (plane - p)) - 1);

					_mm512_mask_storeu_ps(yr + p, t,
							      _mm512_mul_ps(_mm512_maskz_loadu_ps(t, xr + p), v));
				}
			}
			continue;
		}
		for (; p + 16 <= plane; p += 16)
			if (xnc)
				tile_to(xb, plane, p, yb, 16, sv, 1);
			else
				tile_from(xb, plane, p, yb, sv, 1);
		for (; p < plane; p++)
			for (int j = 0; j < 16; j++) {
				size_t blk = p * 16 + j, flat = (size_t)j * plane + p;

				yb[ync ? blk : flat] = xb[xnc ? blk : flat] * sb[j];
			}
	}
}

/* A vector of 16 channels a pixel: each output is the maximum of the
 * vectors of its window's pixels, clipped to the map. */
void feat_maxpoolc_avx512(const float *x, int c, int hin, int win, float *y, int hout,
	int wout, int kh, int kw, int sh, int sw, int pt, int pl)
{
	for (int b = 0; b < c / 16; b++) {
		const float *xb = x + (size_t)b * hin * win * 16;
		float *yb = y + (size_t)b * hout * wout * 16;

		for (int oy = 0; oy < hout; oy++) {
			int y0 = oy * sh - pt, iy0 = y0 < 0 ? 0 : y0;
			int iy1 = y0 + kh < hin ? y0 + kh : hin;

			for (int ox = 0; ox < wout; ox++) {
				int x0 = ox * sw - pl, ix0 = x0 < 0 ? 0 : x0;
				int ix1 = x0 + kw < win ? x0 + kw : win;
				__m512 v = _mm512_set1_ps(-INFINITY);

				for (int iy = iy0; iy < iy1; iy++)
					for (int ix = ix0; ix < ix1; ix++)
						v = feat_nanmax16(_mm512_loadu_ps(xb + ((size_t)iy * win + ix) *
										  16), v);
				_mm512_storeu_ps(yb + ((size_t)oy * wout + ox) * 16, v);
			}
		}
	}
}

#define PW_PX 6
#define PW_CHUNK 96
/* Weights of a group (64 output channels) read per K block: about 512
 * KB, half of Zen 5's L2, so that they stay there while the pixel tiles
 * pass (layer4 of ResNet-50: 512 x 3 x 3 inputs, 1.2 MB a group). */
#define CC_KBYTES (512 * 1024)

/* The input-channel blocks [cb0, cb1) of one K block: the first starts
 * from the bias, later ones from the partial sums stored in y; the last
 * applies the activation. */
struct cc_k {
	int cb0, cb1, first, last;
	int pf;              /* prefetch the weights ahead (the first tile) */
};
/* The first pixel tile of a K block is the one that brings the group's
 * weights in from memory (the later tiles find them in L2); on small maps
 * with many weights (ResNet-50's layer4: 7x7 pixels, 4-9 MB a layer, read
 * from DRAM every pass) it waits on them.  It prefetches into L2 what it
 * will read this many floats (32 KB) later: layer4 11.3 -> 9.8 ms a photo
 * on a Zen 5 core, alternated with the build without it (featmodel bench
 * -b 1 -n 7; 4 KB ahead gained half of that). */
#define CC_PF 8192

/* ---------------------------------------- convolution of group 1 */

/* nb output blocks x pt pixels from p: pixel j's input starts at xq[j]
 * (channel block 0, tap (0, 0) of the padded map); 4 weight loads, 6
 * broadcasts and 24 FMAs per input channel and tap. */
AI void cc_tile(const int nb, const int pt, const int contig, const struct feat_convc_args *a,
	const float *wt, const float *bias, long p, float *y, long P, __m512 alpha,
	const struct cc_k *ck)
{
	__m512 acc[4][PW_PX];
	const float *xq[PW_PX];
	size_t plane = (size_t)a->hp * a->wp * 16;

	/* contig (pointwise): the pixels' inputs are 16 floats apart, one
	 * base register for all (the separate pointers otherwise live on the
	 * stack: 2% slower on MobileNet's pointwise layers) */
#pragma GCC unroll 8
	for (int j = 0; j < pt; j++) {
		long oy = (p + j) / a->wout, ox = (p + j) % a->wout;

		xq[j] = contig ? a->xp + (size_t)(p + j) * 16 :
			a->xp + ((size_t)oy * a->sh * a->wp + (size_t)ox * a->sw) * 16;
	}
#pragma GCC unroll 4
	for (int b = 0; b < nb; b++) {
		__m512 bv = _mm512_loadu_ps(bias + 16 * b);

#pragma GCC unroll 8
		for (int j = 0; j < pt; j++)
			acc[b][j] = !ck->first ? _mm512_loadu_ps(y + (b * P + p + j) * 16) :
				    a->accum ? _mm512_add_ps(bv, _mm512_loadu_ps(y + (b * P + p + j) * 16)) :
				    bv;
	}
	wt += (size_t)ck->cb0 * a->kh * a->kw * 16 * nb * 16;
	for (int cb = ck->cb0; cb < ck->cb1; cb++)
		for (int ky = 0; ky < a->kh; ky++)
			for (int kx = 0; kx < a->kw; kx++) {
				size_t toff = cb * plane +
					      ((size_t)ky * a->dh * a->wp + (size_t)kx * a->dw) * 16;

#pragma GCC unroll 16
				for (int kk = 0; kk < 16; kk++) {
					__m512 wv[4];

					if (ck->pf)
#pragma GCC unroll 4
						for (int b = 0; b < nb; b++)
							_mm_prefetch((const char *)(wt + (kk * nb + b) * 16 + CC_PF),
								     _MM_HINT_T1);
#pragma GCC unroll 4
					for (int b = 0; b < nb; b++)
						wv[b] = _mm512_load_ps(wt + (kk * nb + b) * 16);
#pragma GCC unroll 8
					for (int j = 0; j < pt; j++) {
						__m512 xv = _mm512_set1_ps(contig ? xq[0][toff + j * 16 + kk] :
									   xq[j][toff + kk]);

#pragma GCC unroll 4
						for (int b = 0; b < nb; b++)
							acc[b][j] = _mm512_fmadd_ps(xv, wv[b], acc[b][j]);
					}
				}
				wt += 16 * nb * 16;
			}
#pragma GCC unroll 4
	for (int b = 0; b < nb; b++)
#pragma GCC unroll 8
		for (int j = 0; j < pt; j++)
			_mm512_storeu_ps(y + (b * P + p + j) * 16,
					 ck->last ? feat_act16(acc[b][j], a->act, alpha) : acc[b][j]);
}

typedef void (*cc_fn)(const struct feat_convc_args *a, const float *wt, const float *bias,
	long p, float *y, long P, __m512 alpha, const struct cc_k *ck);
#define CC(nb, pt, c) \
	static void cc_##nb##_##pt##_##c(const struct feat_convc_args *a, const float *wt, \
		const float *bias, long p, float *y, long P, __m512 alpha, const struct cc_k *ck) \
	{ \
		cc_tile(nb, pt, c, a, wt, bias, p, y, P, alpha, ck); \
	}
#define CC6(nb, c) CC(nb, 1, c) CC(nb, 2, c) CC(nb, 3, c) CC(nb, 4, c) CC(nb, 5, c) CC(nb, 6, c)
CC6(1, 0) CC6(2, 0) CC6(3, 0) CC6(4, 0) CC6(1, 1) CC6(2, 1) CC6(3, 1) CC6(4, 1)
#define CCROW(nb, c) { cc_##nb##_1_##c, cc_##nb##_2_##c, cc_##nb##_3_##c, cc_##nb##_4_##c, \
		       cc_##nb##_5_##c, cc_##nb##_6_##c }
/* [contiguous pixels][nb - 1][pt - 1] */
static const cc_fn cc_tiles[2][4][PW_PX] = {
	{ CCROW(1, 0), CCROW(2, 0), CCROW(3, 0), CCROW(4, 0) },
	{ CCROW(1, 1), CCROW(2, 1), CCROW(3, 1), CCROW(4, 1) },
};

void feat_convc_avx512(const struct feat_convc_args *a)
{
	const __m512 alpha = _mm512_set1_ps(a->alpha);
	long P = (long)a->hout * a->wout, np = a->p1 - a->p0, chunk = np;
	int nblk = feat_convc_blocks(a->cout);
	size_t per = (size_t)a->cin * a->kh * a->kw;
	int contig = a->kh * a->kw == 1 && a->sh == 1 && a->sw == 1 && a->hp == a->hout &&
		     a->wp == a->wout;
	/* input-channel blocks per K block: a group's weights for them
	 * within CC_KBYTES (all of them but for the largest layers) */
	int kb = (int)(CC_KBYTES / (64 * 16 * sizeof(float) * a->kh * a->kw));

	if (kb < 1)
		kb = 1;

	/* one tap (pointwise): chunks of about PW_CHUNK pixels, as even as
	 * whole tiles allow, so that a chunk of the input stays in L2 while
	 * every group of weights passes over it (a last chunk of a few
	 * pixels would stream all the weights again for them); more taps
	 * (small maps): all the pixels, a group's weights in L2 */
	if (a->kh * a->kw == 1) {
		chunk = (np + PW_CHUNK - 1) / PW_CHUNK;
		chunk = ((np + chunk - 1) / chunk + PW_PX - 1) / PW_PX * PW_PX;
	}
	for (long p0 = a->p0; p0 < a->p1; p0 += chunk) {
		long pe = a->p1 - p0 < chunk ? a->p1 : p0 + chunk;

		for (int g = a->g0; g < a->g1; g++) {
			int nb = nblk - 4 * g < 4 ? nblk - 4 * g : 4;
			const float *wg = a->w + (size_t)g * 64 * per;
			float *yg = a->y + (size_t)4 * g * P * 16;

			for (int cb0 = 0; cb0 < a->cin / 16; cb0 += kb) {
				struct cc_k ck = {
					.cb0 = cb0, .cb1 = cb0 + kb < a->cin / 16 ? cb0 + kb : a->cin / 16,
					.first = cb0 == 0, .last = cb0 + kb >= a->cin / 16,
				};

				for (long p = p0; p < pe; p += PW_PX) {
					int pt = pe - p < PW_PX ? (int)(pe - p) : PW_PX;

					ck.pf = p == p0;
					cc_tiles[contig][nb - 1][pt - 1](a, wg, a->bias + 64 * g, p, yg,
									 P, alpha, &ck);
				}
			}
		}
	}
}

/* ------------------------------------------- depthwise 3x3 and 5x5 */

#define DW_PX 8

/* n outputs of one row, k x k taps, stride s: r[ky] is input row ky (NULL
 * when that row is outside the map), c0 the column of the first output's
 * leftmost tap, wt the block's weights ([k*k][16]).  chk: columns outside
 * [0, win) read as zero (the chunks at either end of a row); otherwise
 * every tap is inside the row.  A row's inputs are loaded once for its k
 * taps: (n - 1) s + k vectors (19 at k 5, stride 2), n sums, one weight. */
AI void dw_row(const int k, const int s, const int n, const int chk, const float *const *r,
	int c0, int win, const float *wt, __m512 bias, float *y, int act, __m512 alpha)
{
	__m512 acc[DW_PX];

#pragma GCC unroll 8
	for (int j = 0; j < n; j++)
		acc[j] = bias;
#pragma GCC unroll 5
	for (int ky = 0; ky < k; ky++) {
		__m512 v[(DW_PX - 1) * 2 + 5];

		if (!r[ky])
			continue;
#pragma GCC unroll 24
		for (int c = 0; c < (n - 1) * s + k; c++)
			v[c] = !chk || (unsigned)(c0 + c) < (unsigned)win ?
			       _mm512_loadu_ps(r[ky] + (ptrdiff_t)(c0 + c) * 16) : _mm512_setzero_ps();
#pragma GCC unroll 5
		for (int kx = 0; kx < k; kx++) {
			__m512 w = _mm512_load_ps(wt + (ky * k + kx) * 16);

#pragma GCC unroll 8
			for (int j = 0; j < n; j++)
				acc[j] = _mm512_fmadd_ps(v[j * s + kx], w, acc[j]);
		}
	}
#pragma GCC unroll 8
	for (int j = 0; j < n; j++)
		_mm512_storeu_ps(y + j * 16, feat_act16(acc[j], act, alpha));
}

typedef void (*dw_fn)(const float *const *r, int c0, int win, const float *wt, __m512 bias,
	float *y, int act, __m512 alpha);
#define DW(k, s, n, c) \
	static void dw_##k##_##s##_##n##_##c(const float *const *r, int c0, int win, \
		const float *wt, __m512 bias, float *y, int act, __m512 alpha) \
	{ \
		dw_row(k, s, n, c, r, c0, win, wt, bias, y, act, alpha); \
	}
#define DW8(k, s, c) DW(k, s, 1, c) DW(k, s, 2, c) DW(k, s, 3, c) DW(k, s, 4, c) \
	DW(k, s, 5, c) DW(k, s, 6, c) DW(k, s, 7, c) DW(k, s, 8, c)
DW8(3, 1, 0) DW8(3, 2, 0) DW8(3, 1, 1) DW8(3, 2, 1)
DW8(5, 1, 0) DW8(5, 2, 0) DW8(5, 1, 1) DW8(5, 2, 1)
#define DWROW(k, s, c) { dw_##k##_##s##_1_##c, dw_##k##_##s##_2_##c, dw_##k##_##s##_3_##c, \
			 dw_##k##_##s##_4_##c, dw_##k##_##s##_5_##c, dw_##k##_##s##_6_##c, \
			 dw_##k##_##s##_7_##c, dw_##k##_##s##_8_##c }
/* [k == 5][checked][s - 1][n - 1] */
static const dw_fn dw_rows[2][2][2][DW_PX] = {
	{ { DWROW(3, 1, 0), DWROW(3, 2, 0) }, { DWROW(3, 1, 1), DWROW(3, 2, 1) } },
	{ { DWROW(5, 1, 0), DWROW(5, 2, 0) }, { DWROW(5, 1, 1), DWROW(5, 2, 1) } },
};

void feat_dwc_avx512(const struct feat_dwc_args *a)
{
	const __m512 alpha = _mm512_set1_ps(a->alpha);
	int s = a->s, win = a->win, k = a->k;

	for (int b = a->b0; b < a->b1; b++) {
		const float *xb = a->x + (size_t)b * a->hin * win * 16;
		const float *wt = a->wp + (size_t)b * k * k * 16;
		float *yb = a->y + (size_t)b * a->hout * a->wout * 16;
		__m512 bias = _mm512_loadu_ps(a->bias + 16 * b);

		for (int oy = 0; oy < a->hout; oy++) {
			int iy0 = oy * s - a->pt;
			const float *r[5];
			float *yr = yb + (size_t)oy * a->wout * 16;

			for (int ky = 0; ky < k; ky++)
				r[ky] = iy0 + ky >= 0 && iy0 + ky < a->hin ?
					xb + (size_t)(iy0 + ky) * win * 16 : NULL;
			for (int ox = 0; ox < a->wout;) {
				int n = a->wout - ox < DW_PX ? a->wout - ox : DW_PX;
				int c0 = ox * s - a->pl, chk = c0 < 0 || c0 + (n - 1) * s + k - 1 >= win;

				dw_rows[k == 5][chk][s - 1][n - 1](r, c0, win, wt, bias, yr + ox * 16,
								   a->act, alpha);
				ox += n;
			}
		}
	}
}

/* ------------------------------------------------------ the first layer */

#define C3_PX 12

/* n outputs x nb blocks of one row, every column tap inside the row,
 * the rows ky0 .. ky1 - 1 inside the map: x0 points at channel 0's input
 * pixel of row ky0 under the first output's kx 0. */
AI void c3_tile(const int nb, const int n, const int s, int cin, size_t plane, int win,
	const float *x0, int ky0, int ky1, const float *wp, const float *bias, float *y,
	size_t ystride, int act, __m512 alpha)
{
	__m512 acc[2][C3_PX];

#pragma GCC unroll 2
	for (int b = 0; b < nb; b++) {
		__m512 bv = _mm512_loadu_ps(bias + 16 * b);

#pragma GCC unroll 12
		for (int j = 0; j < n; j++)
			acc[b][j] = bv;
	}
	for (int ci = 0; ci < cin; ci++)
		for (int ky = ky0; ky < ky1; ky++) {
			const float *xr = x0 + ci * plane + (size_t)(ky - ky0) * win;
			const float *wt = wp + ((size_t)ci * 9 + ky * 3) * 16;

#pragma GCC unroll 3
			for (int kx = 0; kx < 3; kx++) {
				__m512 wv[2];

#pragma GCC unroll 2
				for (int b = 0; b < nb; b++)
					wv[b] = _mm512_load_ps(wt + (size_t)b * cin * 9 * 16 + kx * 16);
#pragma GCC unroll 12
				for (int j = 0; j < n; j++) {
					__m512 xv = _mm512_set1_ps(xr[j * s + kx]);

#pragma GCC unroll 2
					for (int b = 0; b < nb; b++)
						acc[b][j] = _mm512_fmadd_ps(xv, wv[b], acc[b][j]);
				}
			}
		}
#pragma GCC unroll 2
	for (int b = 0; b < nb; b++)
#pragma GCC unroll 12
		for (int j = 0; j < n; j++)
			_mm512_storeu_ps(y + b * ystride + j * 16, feat_act16(acc[b][j], act, alpha));
}

typedef void (*c3_fn)(int cin, size_t plane, int win, const float *x0, int ky0, int ky1,
	const float *wp, const float *bias, float *y, size_t ystride, int act, __m512 alpha);
#define C3(nb, n, s) \
	static void c3_##nb##_##n##_##s(int cin, size_t plane, int win, const float *x0, \
		int ky0, int ky1, const float *wp, const float *bias, float *y, size_t ystride, \
		int act, __m512 alpha) \
	{ \
		c3_tile(nb, n, s, cin, plane, win, x0, ky0, ky1, wp, bias, y, ystride, act, alpha); \
	}
C3(1, 12, 1) C3(1, 12, 2) C3(2, 12, 1) C3(2, 12, 2)
C3(1, 4, 1) C3(1, 4, 2) C3(2, 4, 1) C3(2, 4, 2)
C3(1, 1, 1) C3(1, 1, 2) C3(2, 1, 1) C3(2, 1, 2)
/* [nb - 1][tile: 12, 4, 1][s - 1] */
static const c3_fn c3_tiles[2][3][2] = {
	{ { c3_1_12_1, c3_1_12_2 }, { c3_1_4_1, c3_1_4_2 }, { c3_1_1_1, c3_1_1_2 } },
	{ { c3_2_12_1, c3_2_12_2 }, { c3_2_4_1, c3_2_4_2 }, { c3_2_1_1, c3_2_1_2 } },
};

/* One pixel whose taps may leave the row: per tap, bounds. */
static void c3_pixel(const struct feat_conv3_args *c, int blk, int nb, int oy, int ox,
	size_t ystride, __m512 alpha)
{
	size_t plane = (size_t)c->hin * c->win;
	__m512 acc[2];

	for (int b = 0; b < nb; b++)
		acc[b] = _mm512_loadu_ps(c->bias + 16 * (blk + b));
	for (int ci = 0; ci < c->cin; ci++)
		for (int ky = 0; ky < 3; ky++) {
			int iy = oy * c->s - 1 + ky;

			if (iy < 0 || iy >= c->hin)
				continue;
			for (int kx = 0; kx < 3; kx++) {
				int ix = ox * c->s - 1 + kx;

				if (ix < 0 || ix >= c->win)
					continue;
				__m512 xv = _mm512_set1_ps(c->x[ci * plane + (size_t)iy * c->win + ix]);

				for (int b = 0; b < nb; b++)
					acc[b] = _mm512_fmadd_ps(xv, _mm512_load_ps(c->wp +
						(((size_t)(blk + b) * c->cin + ci) * 9 + ky * 3 + kx) * 16),
						acc[b]);
			}
		}
	for (int b = 0; b < nb; b++)
		_mm512_storeu_ps(c->y + (blk + b) * ystride + ((size_t)oy * c->wout + ox) * 16,
				 feat_act16(acc[b], c->act, alpha));
}

void feat_conv3c_avx512(const struct feat_conv3c_args *a)
{
	const struct feat_conv3_args *c = &a->c;
	const __m512 alpha = _mm512_set1_ps(c->alpha);
	size_t plane = (size_t)c->hin * c->win, ystride = (size_t)c->hout * c->wout * 16;
	int s = c->s, nblk = c->cout / 16;
	/* outputs [1, oxb) have all three column taps inside the row */
	int oxb = (c->win - 2) / s + 1;

	if (oxb > c->wout)
		oxb = c->wout;
	if (oxb < 1)
		oxb = 1;
	for (int blk = 0; blk < nblk; blk += 2) {
		int nb = nblk - blk < 2 ? 1 : 2;
		const float *wp = c->wp + (size_t)blk * c->cin * 9 * 16;

		for (int oy = a->oy0; oy < a->oy1; oy++) {
			int iy0 = oy * s - 1, ky0 = iy0 < 0 ? -iy0 : 0;
			int ky1 = c->hin - iy0 < 3 ? c->hin - iy0 : 3;
			float *yr = c->y + (size_t)blk * ystride + (size_t)oy * c->wout * 16;
			int ox = 1;

			if (c->wout > 0)
				c3_pixel(c, blk, nb, oy, 0, ystride, alpha);
			for (int t = 0; t < 3; t++) {
				int n = t == 0 ? C3_PX : t == 1 ? 4 : 1;

				for (; ox + n <= oxb; ox += n)
					c3_tiles[nb - 1][t][s - 1](c->cin, plane, c->win,
						c->x + (size_t)(iy0 + ky0) * c->win + ox * s - 1, ky0, ky1, wp,
						c->bias + 16 * blk, yr + (size_t)ox * 16, ystride, c->act,
						alpha);
			}
			for (; ox < c->wout; ox++)
				c3_pixel(c, blk, nb, oy, ox, ystride, alpha);
		}
	}
}
