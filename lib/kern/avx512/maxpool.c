/*
 * pool.c - AVX-512 max pooling, 2x2 windows at stride 2 without padding
 * (every pooling layer of VGG16 and SSD but one).  Its plain C twin is the
 * general pooling loop in layers.c, which the conformance tests run under
 * FEAT_KERNEL=ref.
 *
 * Plan: for 16 outputs of a row, the two input rows are loaded as two
 * vectors each (32 columns), maxed row against row, and the even and odd
 * columns separated with one two-source permute each and maxed.  The
 * columns and rows a ceil-rounded output has only half of are done one by
 * one.
 */
#include <immintrin.h>
#include <math.h>

#include "kern/kern.h"
#include "kern/avx512/avx512.h"

void feat_maxpool2x2_avx512(const float *x, int hin, int win, float *y, int hout, int wout)
{
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
					       26, 28, 30);
	const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25,
					      27, 29, 31);
	int full = win / 2 < wout ? win / 2 : wout;  /* outputs with both columns */

	for (int oy = 0; oy < hout; oy++) {
		const float *r0 = x + (size_t)2 * oy * win;
		const float *r1 = 2 * oy + 1 < hin ? r0 + win : r0;
		float *yr = y + (size_t)oy * wout;
		int ox = 0;

		for (; ox + 16 <= full; ox += 16) {
			__m512 a = feat_nanmax16(_mm512_loadu_ps(r0 + 2 * ox),
						 _mm512_loadu_ps(r1 + 2 * ox));
			__m512 b = feat_nanmax16(_mm512_loadu_ps(r0 + 2 * ox + 16),
						 _mm512_loadu_ps(r1 + 2 * ox + 16));

			_mm512_storeu_ps(yr + ox, feat_nanmax16(_mm512_permutex2var_ps(a, even, b),
								_mm512_permutex2var_ps(a, odd, b)));
		}
		for (; ox < wout; ox++) {
			int c = 2 * ox;
			float v = feat_nanmax(r0[c], r1[c]);

			if (c + 1 < win)
				v = feat_nanmax(v, feat_nanmax(r0[c + 1], r1[c + 1]));
			yr[ox] = v;
		}
	}
}

/*
 * General max pooling (ResNet's 3x3 at stride 2 with padding 1): for each
 * output row, the rows of its window maxed column by column into t (-inf
 * where the padding is, so that it is ignored), then for 16 outputs at a
 * time the kw columns of their windows, picked from t by a load (stride
 * 1) or a two-source permute of the even columns (stride 2).  Other
 * strides, and rows longer than t, go to the plain twin.
 */
#define POOL_ROW 4096

void feat_maxpool_avx512(const float *x, int hin, int win, float *y, int hout, int wout, int kh,
	int kw, int sh, int sw, int pt, int pl)
{
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
					       26, 28, 30);
	const __m512 ninf = _mm512_set1_ps(-INFINITY);
	float t[POOL_ROW] __attribute__((aligned(64)));
	/* t's columns the loads below reach: those of wout rounded up to 16
	 * outputs, and one vector more for the stride-2 pairs */
	int reach = sw * (wout + 16) + kw + 16;

	if ((sw != 1 && sw != 2) || reach > POOL_ROW || pl < 0 || pt < 0) {
		feat_maxpool_ref(x, hin, win, y, hout, wout, kh, kw, sh, sw, pt, pl);
		return;
	}
	for (int oy = 0; oy < hout; oy++) {
		int y0 = oy * sh - pt, y1 = y0 + kh;
		int cy0 = y0 < 0 ? 0 : y0, cy1 = y1 < hin ? y1 : hin;
		int cend = pl + win < reach ? pl + win : reach;
		float *yr = y + (size_t)oy * wout;
		int j = 0;

		for (; j < pl; j++)
			t[j] = -INFINITY;
		for (; j + 16 <= cend; j += 16) {
			__m512 v = ninf;

			for (int iy = cy0; iy < cy1; iy++)
				v = feat_nanmax16(_mm512_loadu_ps(x + (size_t)iy * win + j - pl), v);
			_mm512_storeu_ps(t + j, v);
		}
		for (; j < cend; j++) {
			float v = -INFINITY;

			for (int iy = cy0; iy < cy1; iy++)
				v = feat_nanmax(x[(size_t)iy * win + j - pl], v);
			t[j] = v;
		}
		for (; j < reach; j++)
			t[j] = -INFINITY;
		for (int ox = 0; ox < wout; ox += 16) {
			__m512 v = ninf;
			__mmask16 m = wout - ox >= 16 ? (__mmask16)0xffff :
				      (__mmask16)((1u << (wout - ox)) - 1);

			for (int kx = 0; kx < kw; kx++) {
				const float *tp = t + sw * ox + kx;
				__m512 c = sw == 1 ? _mm512_loadu_ps(tp) :
					   _mm512_permutex2var_ps(_mm512_loadu_ps(tp), even,
								  _mm512_loadu_ps(tp + 16));

				v = feat_nanmax16(c, v);
			}
			_mm512_mask_storeu_ps(yr + ox, m, v);
		}
	}
}
