/*
 * avx512/avx512.h - the AVX-512 path's kernels, for lib/kern/avx512 only
 * (every file here is built with AVX512_FLAGS, on x86-64 only).  The rest
 * of libfeat reaches them through the table (avx512/table.c fills it);
 * each has its plain C twin in lib/kern/ref, declared in the family's
 * header, which the tests hold it to.
 */
#ifndef FEAT_KERN_AVX512_H
#define FEAT_KERN_AVX512_H

#include <immintrin.h>

#include "kern/kern.h"
#include "kern/act.h"
#include "kern/conv3.h"
#include "kern/convk.h"
#include "kern/dwconv.h"
#include "kern/nchwc.h"
#include "kern/popcount.h"
#include "kern/winograd.h"

/* sgemm.c.  N == 1 or M == 1 go to a bandwidth-bound GEMV; small N to the
 * same packed GEMM with the roles of A and B swapped (C^T = B^T A^T). */
int feat_sgemm_avx512(const struct feat_sgemm_args *g);
extern struct feat_kern_blocks feat_kern_blocks_avx512;
/* Pack row-major A (M x K, lda) for feat_sgemm_avx512 in the blocking of
 * feat_kern_blocks_avx512 at the time of the call (later calls use the
 * blocking recorded in ap, whatever the table says then).  0 or
 * FEAT_E_NOMEM (ap->p is then NULL); M, K >= 1. */
int feat_sgemm_pack_a_avx512(struct feat_sgemm_apack *ap, const float *A, int lda,
	int M, int K);
/* Pack op(B) (K x N; transB: stored N x K) the same way, in pack_b's
 * layout, block (p0, j0) at bp->p + p0 * rup(N, 32) + j0 * kc; bp->M is
 * N, bp->mc the column block NC. */
int feat_sgemm_pack_b_avx512(struct feat_sgemm_apack *bp, const float *B, int ldb,
	int transB, int K, int N);
/* Free this thread's packing buffers. */
void feat_sgemm_workspace_free_avx512(void);

void feat_conv3_avx512(const struct feat_conv3_args *a);
void feat_convk_avx512(const struct feat_convk_args *a);
void feat_dwconv_avx512(const struct feat_dw_args *a);

void feat_nchwc_from_avx512(const float *x, int c, size_t plane, float *y);
void feat_nchwc_to_avx512(const float *x, int c, size_t plane, float *y);
void feat_nchwc_mean_avx512(const float *x, int c, size_t plane, float *y);
void feat_nchwc_mul_avx512(const float *x, int xnc, int c, size_t plane, const float *s,
	float *y, int ync);
void feat_maxpoolc_avx512(const float *x, int c, int hin, int win, float *y, int hout,
	int wout, int kh, int kw, int sh, int sw, int pt, int pl);
void feat_convc_avx512(const struct feat_convc_args *a);
void feat_dwc_avx512(const struct feat_dwc_args *a);
void feat_conv3c_avx512(const struct feat_conv3c_args *a);

/* winograd.c: the transforms, and M[xi] = U[xi] V[xi] for one xi with U
 * packed by feat_wino_pack: m [cout][ldm] from v [cin][ldv], columns
 * [0, nt) (ldv, ldm multiples of 32 >= nt). */
void feat_wino_gemm_avx512(const float *up, int cout, int cin, const float *v, int ldv,
	float *m, int ldm, int nt);
void feat_wino_input_avx512(const struct feat_wino_args *a, int t0, int nt, float *v,
	int ldv);
void feat_wino_output_avx512(const struct feat_wino_args *a, int t0, int nt,
	const float *m, int ldm);

/* maxpool.c */
void feat_maxpool2x2_avx512(const float *x, int hin, int win, float *y, int hout,
	int wout);

/* popcount.c (VPOPCNTDQ: only when feat_pc_cpu_avx512()) */
size_t feat_pc_filter_avx512(const uint8_t *codes, size_t stride,
	unsigned words, const uint64_t *q, const uint32_t *ids, size_t n,
	unsigned r, uint32_t *out, uint32_t *dist);
size_t feat_pc_scan_avx512(const uint8_t *codes, size_t stride, unsigned words,
	const uint64_t *q, uint32_t first, size_t n, unsigned r,
	uint32_t *out, uint32_t *dist);

/* max(a, b) lane by lane, NaN when either is (VMAXPS alone returns b
 * when a is NaN). */
static inline __attribute__((always_inline)) __m512 feat_nanmax16(__m512 a, __m512 b)
{
	return _mm512_mask_mov_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
}

/* gemm_u8s8.c (AVX512_VNNI: only when feat_kern_cpu_vnni()) */
struct feat_qgemm_args;
void feat_qgemm_avx512(const struct feat_qgemm_args *a);
struct feat_qgemv_args;
void feat_qgemv_avx512(const struct feat_qgemv_args *a);
/* (plain AVX-512: every avx512 table has it) */
void feat_quant_c4_avx512(const float *x, int c, int h, int w, float inv_sx, int zp,
	uint8_t *xq, int cp, int pt, int pl, int pb, int pr);

/* gemm_bf16.c (AVX512_BF16: only when feat_kern_cpu_bf16()) */
struct feat_bgemm_args;
void feat_bgemm_avx512(const struct feat_bgemm_args *a);
struct feat_bgemv_args;
void feat_bgemv_avx512(const struct feat_bgemv_args *a);
void feat_bf16_c2_avx512(const float *x, int c, int h, int w, uint16_t *xb, int cp, int pt,
	int pl, int pb, int pr);

/* peak.c: this core's rates, measured (about 0.1 s each): fp32 zmm FMAs
 * in GFLOP/s; vpdpbusd in Gop/s (only when feat_kern_cpu_vnni());
 * vdpbf16ps in GFLOP/s (only when feat_kern_cpu_bf16()) */
double feat_kern_peak_avx512(void);
double feat_kern_qpeak_avx512(void);
double feat_kern_bpeak_avx512(void);

/* e^x for x <= 0, 16 lanes: Cody-Waite reduction to r in [-ln2/2, ln2/2],
 * Cephes's degree-6 polynomial, 2^n by VSCALEFPS; x under -87 gives
 * e^-87 (about 1.6e-38) rather than a denormal.  The sigmoid made from
 * it is within 1.2e-7 of libm's (t/unit/test_act.c).  NaN stays NaN (it
 * goes second into VMAXPS). */
static inline __attribute__((always_inline)) __m512 feat_exp16_nonpos(__m512 x)
{
	__m512 n, r, p;

	x = _mm512_max_ps(_mm512_set1_ps(-87.0f), x);
	n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
				 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
	p = _mm512_set1_ps(1.9875691500e-4f);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
	p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
	return _mm512_scalef_ps(p, n);
}

/* 1 / (1 + e^-v), from e = e^-|v| (no overflow for either sign). */
static inline __attribute__((always_inline)) __m512 feat_sigmoid16(__m512 v)
{
	__m512 e = feat_exp16_nonpos(_mm512_or_ps(v, _mm512_set1_ps(-0.0f)));
	__m512 r = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
	__mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GE_OQ);

	return _mm512_mask_mov_ps(_mm512_mul_ps(e, r), pos, r);
}

/* Phi(v) = (1 + erf(v / sqrt 2)) / 2 by Abramowitz and Stegun 7.1.26:
 * with z = |v| / sqrt 2, t = 1 / (1 + p z), q = t P(t) e^(-z^2) is
 * 1 - erf(z), so Phi is q / 2 for v < 0 (no cancellation in the tail)
 * and 1 - q / 2 otherwise.  The formula's error is under 1.5e-7 in erf;
 * against libm's erff see t/unit/test_act.c. */
static inline __attribute__((always_inline)) __m512 feat_phi16(__m512 v)
{
	__m512 z = _mm512_mul_ps(_mm512_andnot_ps(_mm512_set1_ps(-0.0f), v),
				 _mm512_set1_ps(0.70710678118654752f));
	__m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
				 _mm512_fmadd_ps(z, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
	__m512 p = _mm512_set1_ps(1.061405429f), q;
	__mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);

	p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
	p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
	p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
	p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
	q = _mm512_mul_ps(_mm512_mul_ps(p, t),
			  feat_exp16_nonpos(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(z, z))));
	q = _mm512_mul_ps(q, _mm512_set1_ps(0.5f));
	return _mm512_mask_mov_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), q), neg, q);
}

/* The activations on a vector of 16 (kind as feat_act1 in kern/act.h),
 * NaN in, NaN out: VMAXPS and VMINPS return their second operand when
 * either is NaN, so v goes second. */
static inline __attribute__((always_inline)) __m512 feat_act16(__m512 v, int kind,
	__m512 alpha)
{
	const __m512 zero = _mm512_setzero_ps();
	__m512 h;

	switch (kind) {
	case 1: return _mm512_max_ps(zero, v);
	case 2: return _mm512_min_ps(_mm512_set1_ps(6), _mm512_max_ps(zero, v));
	case 3: return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, alpha);
	case 4: return _mm512_mul_ps(v, feat_sigmoid16(v));
	case 5:
	case 7:
		h = _mm512_fmadd_ps(v, alpha, _mm512_set1_ps(0.5f));
		h = _mm512_min_ps(_mm512_set1_ps(1.0f), _mm512_max_ps(zero, h));
		return kind == 5 ? _mm512_mul_ps(v, h) : h;
	case 6: return feat_sigmoid16(v);
	case 8: return _mm512_mul_ps(v, feat_phi16(v));
	}
	return v;
}

/* act.c: the activations over an array (the table's act). */
void feat_act_avx512(float *x, size_t n, int kind, float alpha);
/* maxpool.c: general max pooling of a plane (strides 1 and 2; others go
 * to the plain twin) */
void feat_maxpool_avx512(const float *x, int hin, int win, float *y, int hout, int wout, int kh,
	int kw, int sh, int sw, int pt, int pl);
/* rows.c: softmax and layer normalisation of rows (the table's) */
void feat_softmax_avx512(const float *x, float *y, size_t rows, size_t c);
void feat_rowmean_avx512(const float *x, float *y, size_t rows, size_t c);
void feat_layernorm_avx512(const float *x, float *y, size_t rows, size_t c, float eps,
	const float *g, const float *b);

#endif
