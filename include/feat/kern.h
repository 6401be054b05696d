/*
 * feat/kern.h - libfeat: the compute path (lib/kern) and single-precision
 * GEMM on it. Part of <feat.h>, which includes every one of these headers.
 */
#ifndef FEAT_H_KERN
#define FEAT_H_KERN

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------- kernels: GEMM */

/*
 * The compute path (lib/kern/): "avx512" (hand-tuned, when the CPU has
 * AVX-512), "blas" (OpenBLAS, single-threaded by default) or "ref" (plain
 * C).  It is chosen once from cpuid; the environment variable FEAT_KERNEL
 * forces one.  feat_kernel_init() returns 0, FEAT_E_INVAL when FEAT_KERNEL
 * names no path, or FEAT_E_NOTFOUND when it names one this CPU cannot run;
 * feat_kernel_detail() then says which.  Every other call works anyway,
 * on the cpuid choice.
 */
FEAT_API int feat_kernel_init(void);
/* Choose again: name is a path, "auto" (cpuid), or NULL (read FEAT_KERNEL
 * again).  Not to be called while another thread is computing. */
FEAT_API int feat_kernel_select(const char *name);
/* Name of the active path ("avx512", "blas", "ref"). */
FEAT_API const char *feat_kernel_name(void);
/* One line on the last feat_kernel_init()/select() error, "" if none. */
FEAT_API const char *feat_kernel_detail(void);
/* The fp32 multiply-add rate of the calling core with the active path's
 * instructions, measured by a register-only loop (about 0.1 s), in
 * GFLOP/s: the yardstick of featmodel bench's %peak. */
FEAT_API double feat_kernel_peak(void);
/* 1 when the active path has an int8 product (u8 x s8 -> s32: AVX-512
 * VNNI, or ref's plain C), so int8 layers run int8; 0: they run fp32. */
FEAT_API int feat_kernel_has_int8(void);
/* The int8 multiply-add rate of the calling core with the active path's
 * int8 instructions (vpdpbusd), measured, in Gop/s; 0 when the path has
 * no int8 product or no measure: featmodel bench's int8 %peak. */
FEAT_API double feat_kernel_int8_peak(void);
/* 1 when the active path has a bf16 product (AVX-512 BF16's vdpbf16ps, or
 * ref's plain C), so bf16 layers run bf16; 0: they run fp32. */
FEAT_API int feat_kernel_has_bf16(void);
/* The bf16 multiply-add rate of the calling core (vdpbf16ps), measured,
 * in GFLOP/s; 0 when the path has no bf16 product or no measure:
 * featmodel bench's bf16 %peak. */
FEAT_API double feat_kernel_bf16_peak(void);

/*
 * Row-major single-precision GEMM on the active path:
 *     C = alpha * op(A) * op(B) + beta * C
 * op(A) is M x K (A stored K x M when transA), op(B) K x N, C M x N; lda,
 * ldb, ldc are the row strides of the stored matrices.  beta == 0 does not
 * read C.  Returns 0, or FEAT_E_INVAL (negative size, leading dimension
 * too small, NULL pointer), or FEAT_E_NOMEM.
 */
FEAT_API int feat_sgemm(int transA, int transB, int M, int N, int K, float alpha,
	const float *A, int lda, const float *B, int ldb, float beta,
	float *C, int ldc);

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H_KERN */
