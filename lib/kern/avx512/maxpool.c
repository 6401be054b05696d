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
