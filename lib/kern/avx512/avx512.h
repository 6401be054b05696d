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
/* Free this thread's packing buffers. */
void feat_sgemm_workspace_free_avx512(void);

void feat_conv3_avx512(const struct feat_conv3_args *a);
void feat_dwconv_avx512(const struct feat_dw_args *a);

void feat_nchwc_from_avx512(const float *x, int c, size_t plane, float *y);
void feat_nchwc_to_avx512(const float *x, int c, size_t plane, float *y);
void feat_convc_avx512(const struct feat_convc_args *a);
void feat_dw3c_avx512(const struct feat_dw3c_args *a);
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
/* this core's vpdpbusd rate in Gop/s, measured (about 0.1 s) */
double feat_kern_qpeak_avx512(void);
/* (plain AVX-512: every avx512 table has it) */
void feat_quant_c4_avx512(const float *x, int c, int h, int w, float inv_sx, int zp,
	uint8_t *xq, int cp, int pt, int pl, int pb, int pr);

/* peak.c: this core's fp32 zmm FMA rate in GFLOP/s, measured (about
 * 0.1 s). */
double feat_kern_peak_avx512(void);

/* The activations on a vector of 16 (kind as feat_act1 in kern/act.h),
 * NaN in, NaN out: VMAXPS and VMINPS return their second operand when
 * either is NaN, so v goes second. */
static inline __attribute__((always_inline)) __m512 feat_act16(__m512 v, int kind,
	__m512 alpha)
{
	const __m512 zero = _mm512_setzero_ps();

	switch (kind) {
	case 1: return _mm512_max_ps(zero, v);
	case 2: return _mm512_min_ps(_mm512_set1_ps(6), _mm512_max_ps(zero, v));
	case 3: return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, alpha);
	}
	return v;
}

#endif
