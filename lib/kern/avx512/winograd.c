/*
 * winograd.c - AVX-512 input and output transforms of the Winograd
 * F(4x4, 3x3) convolution (see kern/winograd.h; the driver and the GEMMs
 * are in kern/winograd.c).
 *
 * Plan: one vector holds one value of 16 consecutive tiles, which is the
 * layout of V and M (a row of a GEMM operand is one channel's value over
 * the tiles of the block), so every load of M and store of V is a plain
 * vector access.  The image side is reached with masked gathers (input)
 * and scatters (output): lane k of a 6x6 input position reads x at the
 * tile's corner plus (i, j), masked off where that falls in the padding or
 * past the image; outputs past hout, wout are masked off the same way.
 * The 36 masks and index vectors of a group of 16 tiles are worked out
 * once and reused for every channel.  Each transform is the 1-D one over
 * rows into a 6x6 (6x4) buffer of vectors in L1, then over its columns.
 */
#include <immintrin.h>

#include "kern/act.h"
#include "kern/winograd.h"
#include "kern/avx512/avx512.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE void in6(const __m512 d[6], __m512 t[6])
{
	const __m512 c4 = _mm512_set1_ps(4), c5 = _mm512_set1_ps(5), c2 = _mm512_set1_ps(2);
	__m512 s34 = _mm512_add_ps(d[3], d[4]), s12 = _mm512_add_ps(d[1], d[2]);
	__m512 d43 = _mm512_sub_ps(d[4], d[3]), d12 = _mm512_sub_ps(d[1], d[2]);
	__m512 d42 = _mm512_sub_ps(d[4], d[2]), d31 = _mm512_sub_ps(d[3], d[1]);

	t[0] = _mm512_fmadd_ps(c4, d[0], _mm512_fnmadd_ps(c5, d[2], d[4]));
	t[1] = _mm512_fnmadd_ps(c4, s12, s34);
	t[2] = _mm512_fmadd_ps(c4, d12, d43);
	t[3] = _mm512_fmadd_ps(c2, d31, d42);
	t[4] = _mm512_fnmadd_ps(c2, d31, d42);
	t[5] = _mm512_fmadd_ps(c4, d[1], _mm512_fnmadd_ps(c5, d[3], d[5]));
}

ALWAYS_INLINE void out4(const __m512 m[6], __m512 o[4])
{
	const __m512 c2 = _mm512_set1_ps(2), c4 = _mm512_set1_ps(4), c8 = _mm512_set1_ps(8);
	__m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
	__m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);

	o[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
	o[1] = _mm512_fmadd_ps(c2, d34, d12);
	o[2] = _mm512_fmadd_ps(c4, s34, s12);
	o[3] = _mm512_add_ps(_mm512_fmadd_ps(c8, d34, d12), m[5]);
}

/* Row and column of the top-left corner of tiles t0 .. t0+15, and the mask
 * of those that exist. */
static __mmask16 corners(const struct feat_wino_args *a, int t0, int nt, __m512i *ry,
	__m512i *rx)
{
	int ntx = (a->wout + 3) / 4, ty = t0 / ntx, tx = t0 % ntx;
	int ys[16], xs[16];

	for (int k = 0; k < 16; k++) {
		ys[k] = ty * 4, xs[k] = tx * 4;
		if (++tx == ntx)
			tx = 0, ty++;
	}
	*ry = _mm512_loadu_si512(ys);
	*rx = _mm512_loadu_si512(xs);
	return nt >= 16 ? 0xffff : (__mmask16)((1u << nt) - 1);
}

/* lanes with lo <= v + off < hi */
static inline __mmask16 within(__mmask16 k, __m512i v, int off, int lo, int hi)
{
	__m512i p = _mm512_add_epi32(v, _mm512_set1_epi32(off));

	k = _mm512_mask_cmpge_epi32_mask(k, p, _mm512_set1_epi32(lo));
	return _mm512_mask_cmplt_epi32_mask(k, p, _mm512_set1_epi32(hi));
}

void feat_wino_input_avx512(const struct feat_wino_args *a, int t0, int nt, float *v, int ldv)
{
	size_t plane = feat_wino_plane(a->cin, ldv), cs = (size_t)a->hin * a->win;

	for (int g = 0; g < nt; g += 16) {
		__m512i ry, rx, idx[36];
		__mmask16 live = corners(a, t0 + g, nt - g, &ry, &rx), mk[36];
		__m512i base = _mm512_add_epi32(_mm512_mullo_epi32(ry, _mm512_set1_epi32(a->win)), rx);

		for (int i = 0; i < 6; i++) {
			__mmask16 my = within(live, ry, i - a->pt, 0, a->hin);

			for (int j = 0; j < 6; j++) {
				mk[i * 6 + j] = within(my, rx, j - a->pl, 0, a->win);
				idx[i * 6 + j] = _mm512_add_epi32(base, _mm512_set1_epi32((i - a->pt) * a->win + j - a->pl));
			}
		}
		for (int c = 0; c < a->cin; c++) {
			const float *xc = a->x + c * cs;
			float *vc = v + (size_t)c * ldv + g;
			__m512 r[6][6], d[6], t[6];

			for (int i = 0; i < 6; i++) {
				for (int j = 0; j < 6; j++)
					d[j] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk[i * 6 + j],
									idx[i * 6 + j], xc, 4);
				in6(d, r[i]);
			}
			for (int b = 0; b < 6; b++) {
				for (int i = 0; i < 6; i++)
					d[i] = r[i][b];
				in6(d, t);
				for (int q = 0; q < 6; q++)
					_mm512_storeu_ps(vc + (q * 6 + b) * plane, t[q]);
			}
		}
	}
}

void feat_wino_output_avx512(const struct feat_wino_args *a, int t0, int nt,
	const float *m, int ldm)
{
	size_t plane = feat_wino_plane(a->cout, ldm), cs = (size_t)a->hout * a->wout;
	const __m512 alpha = _mm512_set1_ps(a->alpha);

	for (int g = 0; g < nt; g += 16) {
		__m512i ry, rx, idx[16];
		__mmask16 live = corners(a, t0 + g, nt - g, &ry, &rx), mk[16];
		__m512i base = _mm512_add_epi32(_mm512_mullo_epi32(ry, _mm512_set1_epi32(a->wout)), rx);

		for (int i = 0; i < 4; i++) {
			__mmask16 my = within(live, ry, i, 0, a->hout);

			for (int j = 0; j < 4; j++) {
				mk[i * 4 + j] = within(my, rx, j, 0, a->wout);
				idx[i * 4 + j] = _mm512_add_epi32(base, _mm512_set1_epi32(i * a->wout + j));
			}
		}
		for (int o = 0; o < a->cout; o++) {
			const float *mo = m + (size_t)o * ldm + g;
			float *yo = a->y + o * cs;
			const __m512 b = _mm512_set1_ps(a->bias[o]);
			__m512 r[6][4], s[6], q[4];

			for (int p = 0; p < 6; p++) {
				for (int k = 0; k < 6; k++)
					s[k] = _mm512_loadu_ps(mo + (p * 6 + k) * plane);
				out4(s, r[p]);
			}
			for (int j = 0; j < 4; j++) {
				for (int p = 0; p < 6; p++)
					s[p] = r[p][j];
				out4(s, q);
				for (int i = 0; i < 4; i++)
					_mm512_mask_i32scatter_ps(yo, mk[i * 4 + j], idx[i * 4 + j],
								  feat_act16(_mm512_add_ps(q[i], b), a->act, alpha), 4);
			}
		}
	}
}

/*
 * The products of one xi: M (cout x nt) = U (cout x cin) V (cin x nt).
 * Register plan: 12 output channels (the packed U panel, one broadcast
 * each) by 32 tiles (two vectors of a row of V), 24 accumulators, the same
 * 12x32 shape as the SGEMM microkernel.  Loop order: U panel (12 x cin,
 * 24 KB at cin 512) outermost so that it stays in L1 while the kernel walks
 * the whole block of V (cin x T, in L2); U itself is read once per block,
 * sequentially, from memory.  Rows past cout are computed on zeros and not
 * stored; columns past nt (up to ldv, a multiple of 32) are junk no one
 * reads.
 */
void feat_wino_gemm_avx512(const float *up, int cout, int cin, const float *v, int ldv,
	float *m, int ldm, int nt)
{
	for (int p = 0; p * FEAT_WINO_MR < cout; p++) {
		const float *u = up + (size_t)p * cin * FEAT_WINO_MR;
		int rows = cout - p * FEAT_WINO_MR < FEAT_WINO_MR ? cout - p * FEAT_WINO_MR : FEAT_WINO_MR;

		for (int j = 0; j < nt; j += 32) {
			__m512 c[FEAT_WINO_MR][2];
			const float *b = v + j;

#pragma GCC unroll 12
			for (int r = 0; r < FEAT_WINO_MR; r++)
				c[r][0] = c[r][1] = _mm512_setzero_ps();
			for (int k = 0; k < cin; k++) {
				__m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
				const float *ur = u + (size_t)k * FEAT_WINO_MR;

#pragma GCC unroll 12
				for (int r = 0; r < FEAT_WINO_MR; r++) {
					__m512 av = _mm512_set1_ps(ur[r]);

					c[r][0] = _mm512_fmadd_ps(av, b0, c[r][0]);
					c[r][1] = _mm512_fmadd_ps(av, b1, c[r][1]);
				}
				b += ldv;
			}
#pragma GCC unroll 12
			for (int r = 0; r < rows; r++) {
				float *mr = m + (size_t)(p * FEAT_WINO_MR + r) * ldm + j;

				_mm512_storeu_ps(mr, c[r][0]);
				_mm512_storeu_ps(mr + 16, c[r][1]);
			}
		}
	}
}
