/*
 * dwconv.c - AVX-512 depthwise convolution (see kern/dwconv.h).
 *
 * MobileNet's own shapes, 3x3 with padding 1, have row-by-row kernels of
 * their own (dw3s1 for maps 32 or more wide, dw3s2 for stride 2, below):
 * each input row is loaded once per 16 outputs and its three taps made by
 * lane shifts in registers, which halves the time of the plans that follow
 * on those layers.
 *
 * General plan ("flat"): an output channel is one flat vector of hout * wout
 * floats, computed 16 at a time regardless of where rows end, so a 19x19
 * map is 23 vectors rather than 19 rows of two mostly empty ones.  For
 * stride 1 with win == wout, tap (ky, kx) of output j reads input j + off
 * with one constant off per tap; lanes whose tap falls in the padding (a
 * row above or below, a column left or right, even across a row end) are
 * masked off in the load, so padding is never materialised and the input
 * is not copied.  Other strides first split the channel into sh * sw phase
 * planes (rows iy % sh, columns ix % sw), each stored with row stride
 * wout: in them a strided tap is again a constant flat offset, and the
 * same loop runs.  The masks depend only on the position, not the
 * channel, so they are computed once per call into a table (a uint16 per
 * vector and tap, plus a flag for vectors where every tap is whole, which
 * then use plain loads).  Each channel goes 8 vectors at a time: 8
 * accumulators are 8 independent FMA chains, each tap one broadcast of the
 * weight, 8 loads and 8 FMAs.
 *
 * Fallback ("padded", for shapes the flat plan cannot take: a valid
 * convolution whose input is wider than a phase plane): each channel is
 * copied into a zero-bordered workspace, then each output row is computed
 * 16 columns per vector.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kern/act.h"
#include "kern/dwconv.h"
#include "kern/avx512/avx512.h"

#define MAXTAPS 49  /* up to 7x7 held in registers-ish; more spill, still correct */

static inline __m512 load_tap(const float *p, int sw, __m512i even, __m512i gidx)
{
	if (sw == 1)
		return _mm512_loadu_ps(p);
	if (sw == 2)
		return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
	return _mm512_i32gather_ps(gidx, p, 4);
}

/* The general fallback (see the plan at the top). */
static void dw_padded(const struct feat_dw_args *a)
{
	const int wp = (int)((((a->wout + 15) / 16 * 16) * a->sw + (a->kw - 1) * a->dw + 32 + 15) / 16 * 16);
	const int hp = (a->hout - 1) * a->sh + (a->kh - 1) * a->dh + 1;
	const int taps = a->kh * a->kw;
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,
					       24, 26, 28, 30);
	const __m512i gidx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8,
								 9, 10, 11, 12, 13, 14, 15),
						_mm512_set1_epi32(a->sw));
	const __m512 alpha = _mm512_set1_ps(a->alpha);
	float *P = a->work;

	for (int ch = 0; ch < a->c; ch++) {
		const float *xc = a->x + (size_t)ch * a->hin * a->win;
		const float *wc = a->w + (size_t)ch * taps;
		float *yc = a->y + (size_t)ch * a->hout * a->wout;
		__m512 wv[MAXTAPS];
		const __m512 b = _mm512_set1_ps(a->bias[ch]);
		int nt = taps < MAXTAPS ? taps : MAXTAPS;

		/* the zero-bordered copy: row r of P is input row r - pt, shifted
		 * right by pl; one masked load and one store per 16 floats */
		for (int r = 0; r < hp; r++) {
			float *pr = P + (size_t)r * wp;
			int iy = r - a->pt;

			if (iy < 0 || iy >= a->hin) {
				for (int j = 0; j < wp; j += 16)
					_mm512_storeu_ps(pr + j, _mm512_setzero_ps());
				continue;
			}
			for (int j = 0; j < wp; j += 16) {
				int s0 = j - a->pl;   /* input column of lane 0 */
				__mmask16 m;

				if (s0 >= a->win || s0 + 16 <= 0) {
					m = 0;
				} else {
					int lo = s0 < 0 ? -s0 : 0;
					int hi = a->win - s0 < 16 ? a->win - s0 : 16;

					m = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
				}
				_mm512_storeu_ps(pr + j, _mm512_maskz_loadu_ps(m, xc + (size_t)iy * a->win + s0));
			}
		}
		for (int t = 0; t < nt; t++)
			wv[t] = _mm512_set1_ps(wc[t]);

		for (int oy = 0; oy < a->hout; oy++) {
			const float *base = P + (size_t)oy * a->sh * wp;
			float *yr = yc + (size_t)oy * a->wout;
			int ox = 0;

			for (; ox + 32 <= a->wout; ox += 32) {
				__m512 s0 = b, s1 = b;

				for (int ky = 0; ky < a->kh; ky++) {
					const float *row = base + (size_t)ky * a->dh * wp + (size_t)ox * a->sw;

					for (int kx = 0; kx < a->kw; kx++) {
						int t = ky * a->kw + kx;
						__m512 w = t < MAXTAPS ? wv[t] : _mm512_set1_ps(wc[t]);
						const float *p = row + kx * a->dw;

						s0 = _mm512_fmadd_ps(w, load_tap(p, a->sw, even, gidx), s0);
						s1 = _mm512_fmadd_ps(w, load_tap(p + 16 * a->sw, a->sw, even, gidx), s1);
					}
				}
				_mm512_storeu_ps(yr + ox, feat_act16(s0, a->act, alpha));
				_mm512_storeu_ps(yr + ox + 16, feat_act16(s1, a->act, alpha));
			}
			for (; ox < a->wout; ox += 16) {
				__mmask16 m = a->wout - ox >= 16 ? 0xffff
								 : (__mmask16)((1u << (a->wout - ox)) - 1);
				__m512 s0 = b;

				for (int ky = 0; ky < a->kh; ky++) {
					const float *row = base + (size_t)ky * a->dh * wp + (size_t)ox * a->sw;

					for (int kx = 0; kx < a->kw; kx++) {
						int t = ky * a->kw + kx;
						__m512 w = t < MAXTAPS ? wv[t] : _mm512_set1_ps(wc[t]);

						s0 = _mm512_fmadd_ps(w, load_tap(row + kx * a->dw, a->sw, even, gidx), s0);
					}
				}
				_mm512_mask_storeu_ps(yr + ox, m, feat_act16(s0, a->act, alpha));
			}
		}
	}
}

/* ---------------------------------------------------------------- flat */

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define NB 8          /* vectors per block */

static inline __mmask16 lanes(long n)
{
	return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

static inline int floordiv(int a, int b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* nb vectors from flat position j0: acc = bias + sum of taps, then the
 * activation and the store (masked at the channel's end).  tp[t] points at
 * the input of output 0 for tap t; mk at the masks of the first vector. */
ALWAYS_INLINE void dw_block(const int nb, const int masked, const float *const *tp,
	const float *w, int taps, long j0, const uint16_t *mk, float *y, long hw,
	__m512 b, int act, __m512 alpha)
{
	__m512 acc[NB];

#pragma GCC unroll 8
	for (int i = 0; i < nb; i++)
		acc[i] = b;
	for (int t = 0; t < taps; t++) {
		const __m512 wv = _mm512_set1_ps(w[t]);
		const float *p = tp[t] + j0;

#pragma GCC unroll 8
		for (int i = 0; i < nb; i++) {
			__m512 x = masked ? _mm512_maskz_loadu_ps(mk[t * NB + i], p + 16 * i)
					  : _mm512_loadu_ps(p + 16 * i);

			acc[i] = _mm512_fmadd_ps(wv, x, acc[i]);
		}
	}
#pragma GCC unroll 8
	for (int i = 0; i < nb; i++) {
		__m512 r = feat_act16(acc[i], act, alpha);

		if (masked)
			_mm512_mask_storeu_ps(y + j0 + 16 * i, lanes(hw - j0 - 16 * i), r);
		else
			_mm512_storeu_ps(y + j0 + 16 * i, r);
	}
}

#define BLOCK(n) \
	case n: dw_block(n, 1, tp, wc, taps, j0, mk + (j0 / 16) * taps, yc, hw, b, a->act, \
			 alpha); break;

/* Split rows [0, nrow) of channel xc into the sh * sw phase planes at P,
 * plane (py, px) holding x[sh*r + py][sw*c + px] at [r * wout + c]. */
static void split_planes(const struct feat_dw_args *a, const float *xc, int nrow, float *P,
	unsigned long psz)
{
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,
					       24, 26, 28, 30);
	const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
	const int wo = a->wout;

	for (int iy = 0; iy < nrow; iy++) {
		const float *xr = xc + (size_t)iy * a->win;
		float *d0 = P + (size_t)(iy % a->sh) * a->sw * psz + (size_t)(iy / a->sh) * wo;

		if (a->sw == 1) {
			int n = a->win < wo ? a->win : wo;

			memcpy(d0, xr, (size_t)n * sizeof(float));
		} else if (a->sw == 2) {
			float *d1 = d0 + psz;
			int n0 = (a->win + 1) / 2, n1 = a->win / 2;

			if (n0 > wo)
				n0 = wo;
			if (n1 > wo)
				n1 = wo;
			int c = 0;

			/* whole vectors: plain loads and stores */
			for (; c + 16 <= n1 && 2 * c + 32 <= a->win; c += 16) {
				__m512 lo = _mm512_loadu_ps(xr + 2 * c);
				__m512 hi = _mm512_loadu_ps(xr + 2 * c + 16);

				_mm512_storeu_ps(d0 + c, _mm512_permutex2var_ps(lo, even, hi));
				_mm512_storeu_ps(d1 + c, _mm512_permutex2var_ps(lo, odd, hi));
			}
			for (; c < n0; c += 16) {
				__m512 lo = _mm512_maskz_loadu_ps(lanes(a->win - 2 * c), xr + 2 * c);
				__m512 hi = _mm512_maskz_loadu_ps(lanes(a->win - 2 * c - 16),
								  xr + 2 * c + 16);

				_mm512_mask_storeu_ps(d0 + c, lanes(n0 - c),
						      _mm512_permutex2var_ps(lo, even, hi));
				_mm512_mask_storeu_ps(d1 + c, lanes(n1 - c),
						      _mm512_permutex2var_ps(lo, odd, hi));
			}
		} else {
			for (int px = 0; px < a->sw; px++) {
				float *d = d0 + (size_t)px * psz;

				for (int c = 0; c < wo && c * a->sw + px < a->win; c++)
					d[c] = xr[c * a->sw + px];
			}
		}
	}
}

/* The mask table: for vector v and tap t, the lanes whose output exists and
 * whose tap is inside the image, at [(v / NB * taps + t) * NB + v % NB] so
 * that a block's masks for one tap are adjacent; full[v] when all of them
 * are 0xffff.  Room for a whole last block. */
static void dw_masks(const struct feat_dw_args *a, uint16_t *mk, uint8_t *full)
{
	const int taps = a->kh * a->kw, wo = a->wout;
	const long hw = (long)a->hout * wo, nvec = (hw + 15) / 16;
	int ox0[16], oy0[16];
	__m512i ox, oy;
	const __m512i vwo = _mm512_set1_epi32(wo);
	const __m512i step_x = _mm512_set1_epi32(16 % wo), step_y = _mm512_set1_epi32(16 / wo);

	for (int i = 0; i < 16; i++)
		ox0[i] = i % wo, oy0[i] = i / wo;
	ox = _mm512_loadu_si512(ox0);
	oy = _mm512_loadu_si512(oy0);
	for (long v = 0; v < nvec; v++) {
		__mmask16 valid = lanes(hw - 16 * v), rm[64], cm[64];
		int all = 1;

		for (int ky = 0; ky < a->kh && ky < 64; ky++) {
			__m512i iy = _mm512_add_epi32(_mm512_mullo_epi32(oy, _mm512_set1_epi32(a->sh)),
						      _mm512_set1_epi32(ky * a->dh - a->pt));

			rm[ky] = _mm512_cmpge_epi32_mask(iy, _mm512_setzero_si512()) &
				 _mm512_cmplt_epi32_mask(iy, _mm512_set1_epi32(a->hin));
		}
		for (int kx = 0; kx < a->kw && kx < 64; kx++) {
			__m512i ix = _mm512_add_epi32(_mm512_mullo_epi32(ox, _mm512_set1_epi32(a->sw)),
						      _mm512_set1_epi32(kx * a->dw - a->pl));

			cm[kx] = _mm512_cmpge_epi32_mask(ix, _mm512_setzero_si512()) &
				 _mm512_cmplt_epi32_mask(ix, _mm512_set1_epi32(a->win));
		}
		for (int t = 0; t < taps; t++) {
			__mmask16 m = valid & rm[t / a->kw] & cm[t % a->kw];

			mk[(v / NB * taps + t) * NB + v % NB] = m;
			all &= m == 0xffff;
		}
		full[v] = (uint8_t)all;
		ox = _mm512_add_epi32(ox, step_x);
		oy = _mm512_add_epi32(oy, step_y);
		__mmask16 wrap = _mm512_cmpge_epi32_mask(ox, vwo);

		ox = _mm512_mask_sub_epi32(ox, wrap, ox, vwo);
		oy = _mm512_mask_add_epi32(oy, wrap, oy, _mm512_set1_epi32(1));
	}
}

static void dw_flat(const struct feat_dw_args *a, int split)
{
	const int taps = a->kh * a->kw, wo = a->wout;
	const long hw = (long)a->hout * wo, nvec = (hw + 15) / 16;
	const unsigned long psz = feat_dwconv_plane_floats(a);
	const int nplane = split ? a->sh * a->sw : 0;
	float *P = a->work;
	uint16_t *mk = (uint16_t *)(P + (size_t)nplane * psz);
	uint8_t *full = (uint8_t *)(mk + (nvec + NB - 1) / NB * NB * taps);
	const __m512 alpha = _mm512_set1_ps(a->alpha);
	long toff[64];
	int tpl[64];
	const float *tp[64];
	/* input rows any tap reads */
	int nrow = (a->hout - 1) * a->sh + (a->kh - 1) * a->dh - a->pt + 1;

	if (nrow > a->hin)
		nrow = a->hin;
	dw_masks(a, mk, full);
	for (int ky = 0; ky < a->kh; ky++)
		for (int kx = 0; kx < a->kw; kx++) {
			int t = ky * a->kw + kx, ey = ky * a->dh - a->pt, ex = kx * a->dw - a->pl;
			int dy = floordiv(ey, a->sh), dx = floordiv(ex, a->sw);

			tpl[t] = (ey - dy * a->sh) * a->sw + (ex - dx * a->sw);
			toff[t] = (long)dy * wo + dx;
		}
	for (int ch = 0; ch < a->c; ch++) {
		const float *xc = a->x + (size_t)ch * a->hin * a->win;
		const float *wc = a->w + (size_t)ch * taps;
		float *yc = a->y + (size_t)ch * hw;
		const __m512 b = _mm512_set1_ps(a->bias[ch]);
		long j0 = 0;

		if (split)
			split_planes(a, xc, nrow, P, psz);
		for (int t = 0; t < taps; t++)
			tp[t] = (split ? P + (size_t)tpl[t] * psz : xc) + toff[t];
		/* whole blocks; the rest, up to NB vectors the last one partial, below */
		for (; j0 + 16 * NB < hw; j0 += 16 * NB) {
			uint64_t f;

			memcpy(&f, full + j0 / 16, 8);
			if (f == 0x0101010101010101ull)
				dw_block(NB, 0, tp, wc, taps, j0, NULL, yc, hw, b, a->act, alpha);
			else
				dw_block(NB, 1, tp, wc, taps, j0, mk + (j0 / 16) * taps, yc, hw, b,
					 a->act, alpha);
		}
		switch ((hw - j0 + 15) / 16) {
		BLOCK(1) BLOCK(2) BLOCK(3) BLOCK(4) BLOCK(5) BLOCK(6) BLOCK(7) BLOCK(8)
		}
	}
}

/* ------------------------------------------------------ 3x3, row by row */

/* What the 3x3 row kernels take from channel ch: its input and output
 * planes, its bias and its nine weights, each broadcast. */
struct dw3 {
	const float *x;
	float *y;
	__m512 b, w[9];
};

ALWAYS_INLINE struct dw3 dw3_channel(const struct feat_dw_args *a, int ch)
{
	struct dw3 k = {
		.x = a->x + (size_t)ch * a->hin * a->win,
		.y = a->y + (size_t)ch * a->hout * a->wout,
		.b = _mm512_set1_ps(a->bias[ch]),
	};

	for (int t = 0; t < 9; t++)
		k.w[t] = _mm512_set1_ps(a->w[(size_t)ch * 9 + t]);
	return k;
}

/*
 * MobileNet's downsampling layers (3x3, stride 2, padding 1 at the top and
 * left, no dilation) without phase planes: output row oy reads input rows
 * 2 oy - 1 + ky.  For 16 outputs from ox, two loads of the input row from
 * column 2 ox give, by two permutes, the even columns (tap kx = 1) and the
 * odd ones (kx = 2); the kx = 0 tap is the odd vector moved up one lane
 * with the last odd column of the previous 16 outputs (zero, the padding,
 * at the row's start) in lane 0.  Loads past the row's end are masked off,
 * which is the padding on the right; rows outside the image are skipped.
 * One accumulator per kernel row keeps the FMA chains short.
 */
static void dw3s2(const struct feat_dw_args *a)
{
	const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
					     28, 30);
	const __m512i io = _mm512_add_epi32(ie, _mm512_set1_epi32(1));
	const __m512 alpha = _mm512_set1_ps(a->alpha), zero = _mm512_setzero_ps();
	const int wo = a->wout, win = a->win;

	for (int ch = 0; ch < a->c; ch++) {
		const struct dw3 k = dw3_channel(a, ch);

		for (int oy = 0; oy < a->hout; oy++) {
			float *yr = k.y + (size_t)oy * wo;
			__m512 prev[3] = { zero, zero, zero };

			for (int ox = 0; ox < wo; ox += 16) {
				__m512 acc[3] = { k.b, zero, zero };
				int rem = win - 2 * ox;

#pragma GCC unroll 3
				for (int ky = 0; ky < 3; ky++) {
					int iy = 2 * oy - 1 + ky;

					if (iy < 0 || iy >= a->hin)
						continue;
					const float *xr = k.x + (size_t)iy * win + 2 * ox;
					__m512 lo = _mm512_maskz_loadu_ps(lanes(rem), xr);
					__m512 hi = _mm512_maskz_loadu_ps(lanes(rem - 16), xr + 16);
					__m512 ev = _mm512_permutex2var_ps(lo, ie, hi);
					__m512 od = _mm512_permutex2var_ps(lo, io, hi);
					__m512 lf = _mm512_castsi512_ps(_mm512_alignr_epi32(
						_mm512_castps_si512(od), _mm512_castps_si512(prev[ky]), 15));

					prev[ky] = od;
					acc[ky] = _mm512_fmadd_ps(k.w[3 * ky], lf, acc[ky]);
					acc[ky] = _mm512_fmadd_ps(k.w[3 * ky + 1], ev, acc[ky]);
					acc[ky] = _mm512_fmadd_ps(k.w[3 * ky + 2], od, acc[ky]);
				}
				_mm512_mask_storeu_ps(yr + ox, lanes(wo - ox),
					feat_act16(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), acc[2]),
						   a->act, alpha));
			}
		}
	}
}

/*
 * 3x3, stride 1, padding 1 at the top and left, row by row, for maps 32 or
 * more wide (narrower ones waste too many lanes: the flat plan is faster
 * there; measured 150, 75, 38 wide: 0.21, 0.22, 0.15 ms against 0.32,
 * 0.31, 0.16 for MobileNet-SSD's layers; 19, 10: 0.11, 0.07 against 0.08,
 * 0.05):
 * for 16 outputs from ox, each input row is one load at ox (the kx = 1
 * tap), the kx = 0 tap that vector moved up a lane with the previous
 * vector's last column, the kx = 2 tap moved down a lane with the next
 * vector's first (whose load the next 16 outputs reuse).
 */
static void dw3s1(const struct feat_dw_args *a)
{
	const __m512 alpha = _mm512_set1_ps(a->alpha), zero = _mm512_setzero_ps();
	const int wo = a->wout, win = a->win;

	for (int ch = 0; ch < a->c; ch++) {
		const struct dw3 k = dw3_channel(a, ch);

		/* two output rows at a time: input rows oy - 1 .. oy + 2, the
		 * middle two shared */
		for (int oy = 0; oy < a->hout; oy += 2) {
			const int two = oy + 1 < a->hout;
			const float *xr[4];
			__m512 prev[4], cur[4];
			int ok[4];

#pragma GCC unroll 4
			for (int r = 0; r < 4; r++) {
				int iy = oy - 1 + r;

				ok[r] = iy >= 0 && iy < a->hin && (r < 3 || two);
				xr[r] = k.x + (size_t)(ok[r] ? iy : 0) * win;
				cur[r] = ok[r] ? _mm512_maskz_loadu_ps(lanes(win), xr[r]) : zero;
				prev[r] = zero;
			}
			for (int ox = 0; ox < wo; ox += 16) {
				__m512 s0[3] = { k.b, zero, zero }, s1[3] = { k.b, zero, zero };

#pragma GCC unroll 4
				for (int r = 0; r < 4; r++) {
					if (!ok[r])
						continue;
					__m512 c = cur[r];
					__m512 n = _mm512_maskz_loadu_ps(lanes(win - ox - 16),
									 xr[r] + ox + 16);
					__m512 lf = _mm512_castsi512_ps(_mm512_alignr_epi32(
						_mm512_castps_si512(c), _mm512_castps_si512(prev[r]), 15));
					__m512 rt = _mm512_castsi512_ps(_mm512_alignr_epi32(
						_mm512_castps_si512(n), _mm512_castps_si512(c), 1));

					prev[r] = c;
					cur[r] = n;
					if (r < 3) {
						s0[r] = _mm512_fmadd_ps(k.w[3 * r], lf, s0[r]);
						s0[r] = _mm512_fmadd_ps(k.w[3 * r + 1], c, s0[r]);
						s0[r] = _mm512_fmadd_ps(k.w[3 * r + 2], rt, s0[r]);
					}
					if (r > 0) {
						s1[r - 1] = _mm512_fmadd_ps(k.w[3 * r - 3], lf, s1[r - 1]);
						s1[r - 1] = _mm512_fmadd_ps(k.w[3 * r - 2], c, s1[r - 1]);
						s1[r - 1] = _mm512_fmadd_ps(k.w[3 * r - 1], rt, s1[r - 1]);
					}
				}
				_mm512_mask_storeu_ps(k.y + (size_t)oy * wo + ox, lanes(wo - ox),
					feat_act16(_mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]),
						   a->act, alpha));
				if (two)
					_mm512_mask_storeu_ps(k.y + (size_t)(oy + 1) * wo + ox, lanes(wo - ox),
						feat_act16(_mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]),
							   a->act, alpha));
			}
		}
	}
}

void feat_dwconv_avx512(const struct feat_dw_args *a)
{
	int taps = a->kh * a->kw;
	/* last input column a tap reads, and its phase-plane column */
	int ixmax = (a->wout - 1) * a->sw + (a->kw - 1) * a->dw - a->pl;

	if (ixmax > a->win - 1)
		ixmax = a->win - 1;
	if (a->kh == 3 && a->kw == 3 && a->sh == 2 && a->sw == 2 && a->dh == 1 && a->dw == 1 &&
	    a->pt == 1 && a->pl == 1) {
		dw3s2(a);
	} else if (a->kh == 3 && a->kw == 3 && a->sh == 1 && a->sw == 1 && a->dh == 1 &&
		   a->dw == 1 && a->pt == 1 && a->pl == 1 && a->wout >= 32) {
		dw3s1(a);
	} else if (taps > 64 || a->kh > 64 || a->kw > 64) {
		dw_padded(a);
	} else if (a->sh == 1 && a->sw == 1 && a->win == a->wout) {
		dw_flat(a, 0);
	} else if (ixmax / a->sw < a->wout) {
		dw_flat(a, 1);
	} else {
		dw_padded(a);
	}
}
