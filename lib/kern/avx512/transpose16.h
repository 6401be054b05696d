/*
 * transpose16.h - the in-register transpose of 16 rows of 16 floats the
 * AVX-512 kernels share (sgemm.c's packing, nchwc.c's layout changes):
 * swap the off-diagonal blocks of size 8, then 4, 2, 1 inside every block.
 */
#ifndef FEAT_KERN_TRANSPOSE16_H
#define FEAT_KERN_TRANSPOSE16_H

#include <immintrin.h>

static inline __attribute__((always_inline)) void feat_transpose16(__m512 r[16])
{
#pragma GCC unroll 4
	for (int b = 8; b >= 1; b /= 2) {
		int lo[16], hi[16];

#pragma GCC unroll 16
		for (int c = 0; c < 16; c++) {
			lo[c] = (c & b) ? 16 + (c ^ b) : c;
			hi[c] = (c & b) ? 16 + c : (c ^ b);
		}
		__m512i ilo = _mm512_loadu_si512(lo), ihi = _mm512_loadu_si512(hi);

#pragma GCC unroll 16
		for (int i = 0; i < 16; i++) {
			if (i & b)
				continue;
			__m512 x = r[i], y = r[i | b];

			r[i] = _mm512_permutex2var_ps(x, ilo, y);
			r[i | b] = _mm512_permutex2var_ps(x, ihi, y);
		}
	}
}

#endif
