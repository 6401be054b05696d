/*
 * dwconv.c - AVX-512 depthwise convolution (see kern/dwconv.h).
 *
 * Plan: each channel is first copied into a zero-bordered workspace, so the
 * inner loops need no bounds checks; then each output row is computed 16
 * columns per vector, with the k x k taps of the channel held in registers
 * (broadcast once per channel) and every tap one load and one FMA.  Stride
 * 1 loads are unaligned loads; stride 2 loads two vectors and keeps the
 * even lanes with one two-source permute; other strides gather.  Two output
 * vectors are in flight at a time to cover the FMA latency.  The
 * activation is applied before the (masked, at the row's end) store.
 */
#include <immintrin.h>
#include <string.h>

#include "kern/dwconv.h"

#define MAXTAPS 49  /* up to 7x7 held in registers-ish; more spill, still correct */

static inline __m512 activate(__m512 v, int kind, __m512 alpha)
{
	const __m512 zero = _mm512_setzero_ps();

	switch (kind) {
	case 1: return _mm512_max_ps(v, zero);
	case 2: return _mm512_min_ps(_mm512_max_ps(v, zero), _mm512_set1_ps(6));
	case 3: return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, alpha);
	}
	return v;
}

static inline __m512 load_tap(const float *p, int sw, __m512i even, __m512i gidx)
{
	if (sw == 1)
		return _mm512_loadu_ps(p);
	if (sw == 2)
		return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
	return _mm512_i32gather_ps(gidx, p, 4);
}

void feat_dwconv_avx512(const struct feat_dw_args *a)
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
				_mm512_storeu_ps(yr + ox, activate(s0, a->act, alpha));
				_mm512_storeu_ps(yr + ox + 16, activate(s1, a->act, alpha));
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
				_mm512_mask_storeu_ps(yr + ox, m, activate(s0, a->act, alpha));
			}
		}
	}
}
