/*
 * avx512/rows.c - softmax, layer normalisation and the mean over
 * contiguous rows (ViT's attention and its LayerNorms; global average
 * pooling), 16 lanes with a masked tail; sums in float lanes.  Twins:
 * ref/rows.c.
 */
#include <math.h>

#include "kern/kern.h"
#include "kern/avx512/avx512.h"

static inline __mmask16 tail(size_t left)
{
	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* R rows at once, each pass over them interleaved: a row of ViT's
 * attention (197 values, 13 vectors) alone is a chain of dependent
 * instructions (the maximum, its reduction, the sum, its reduction and
 * the division) that leaves the core waiting; the next rows are
 * prefetched. */
static inline __attribute__((always_inline)) void softmax_rows(const float *x, float *y,
	size_t c, const int R, int pf)
{
	const __m512 ninf = _mm512_set1_ps(-INFINITY);
	__m512 m[2], s[2];
	__mmask16 nan[2] = { 0, 0 };

#pragma GCC unroll 2
	for (int i = 0; i < R; i++)
		m[i] = ninf, s[i] = _mm512_setzero_ps();
	for (size_t k = 0; k < c; k += 16) {
		__mmask16 t = tail(c - k);

#pragma GCC unroll 2
		for (int i = 0; i < R; i++) {
			__m512 v = _mm512_mask_loadu_ps(ninf, t, x + i * c + k);

			if (pf)
				_mm_prefetch((const char *)(x + (2 * R + i) * c + k), _MM_HINT_T0);
			nan[i] |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
			m[i] = _mm512_max_ps(m[i], v);
		}
	}
#pragma GCC unroll 2
	for (int i = 0; i < R; i++)
		m[i] = _mm512_set1_ps(nan[i] ? NAN : _mm512_reduce_max_ps(m[i]));
	for (size_t k = 0; k < c; k += 16) {
		__mmask16 t = tail(c - k);

#pragma GCC unroll 2
		for (int i = 0; i < R; i++) {
			__m512 e = feat_exp16_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, x + i * c + k),
								   m[i]));

			s[i] = _mm512_add_ps(s[i], _mm512_maskz_mov_ps(t, e));
			_mm512_mask_storeu_ps(y + i * c + k, t, e);
		}
	}
#pragma GCC unroll 2
	for (int i = 0; i < R; i++)
		s[i] = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(s[i]));
	for (size_t k = 0; k < c; k += 16) {
		__mmask16 t = tail(c - k);

#pragma GCC unroll 2
		for (int i = 0; i < R; i++)
			_mm512_mask_storeu_ps(y + i * c + k, t,
					      _mm512_mul_ps(_mm512_maskz_loadu_ps(t, y + i * c + k), s[i]));
	}
}

void feat_softmax_avx512(const float *x, float *y, size_t rows, size_t c)
{
	size_t r = 0;

	for (; r + 2 <= rows; r += 2)
		softmax_rows(x + r * c, y + r * c, c, 2, r + 6 <= rows);
	if (r < rows)
		softmax_rows(x + r * c, y + r * c, c, 1, 0);
}

void feat_layernorm_avx512(const float *x, float *y, size_t rows, size_t c, float eps,
	const float *g, const float *b)
{
	for (size_t r = 0; r < rows; r++, x += c, y += c) {
		__m512 s = _mm512_setzero_ps(), v = _mm512_setzero_ps(), mean, rs;
		float fm;

		for (size_t k = 0; k < c; k += 16)
			s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(tail(c - k), x + k));
		fm = _mm512_reduce_add_ps(s) / (float)c;
		mean = _mm512_set1_ps(fm);
		for (size_t k = 0; k < c; k += 16) {
			__mmask16 t = tail(c - k);
			__m512 d = _mm512_maskz_sub_ps(t, _mm512_maskz_loadu_ps(t, x + k), mean);

			v = _mm512_fmadd_ps(d, d, v);
		}
		rs = _mm512_set1_ps((float)(1.0 / sqrt((double)_mm512_reduce_add_ps(v) / (double)c +
						      eps)));
		for (size_t k = 0; k < c; k += 16) {
			__mmask16 t = tail(c - k);
			__m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, x + k), mean), rs);

			if (g)
				d = _mm512_mul_ps(d, _mm512_maskz_loadu_ps(t, g + k));
			if (b)
				d = _mm512_add_ps(d, _mm512_maskz_loadu_ps(t, b + k));
			_mm512_mask_storeu_ps(y + k, t, d);
		}
	}
}

/* Four float vectors a block of up to 1024 values, added into two double
 * vectors after each block (the twin's order of magnitude of rounding);
 * a short row (SE blocks on 7x7 and 14x14 maps) is a few loads and one
 * reduction, without the twin's per-row set-up. */
void feat_rowmean_avx512(const float *x, float *y, size_t rows, size_t c)
{
	for (size_t r = 0; r < rows; r++, x += c) {
		__m512d d0 = _mm512_setzero_pd(), d1 = _mm512_setzero_pd();
		size_t i = 0;

		while (i < c) {
			size_t e = c - i < 1024 ? c : i + 1024;
			__m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
			__m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();

			for (; i + 64 <= e; i += 64) {
				a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
				a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
				a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
				a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
			}
			for (; i < e; i += 16)
				a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(tail(e - i), x + i));
			a0 = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
			d0 = _mm512_add_pd(d0, _mm512_cvtps_pd(_mm512_castps512_ps256(a0)));
			d1 = _mm512_add_pd(d1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(a0, 1)));
		}
		y[r] = (float)(_mm512_reduce_add_pd(_mm512_add_pd(d0, d1)) / (double)c);
	}
}
