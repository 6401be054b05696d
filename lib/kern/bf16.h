/*
 * bf16.h - the bf16 family of the kernel tables (issue 16): a convolution
 * or inner product with its operands rounded to bfloat16 (the top 16 bits
 * of a float: 8 exponent bits, 8 significant bits) and the products summed
 * in fp32 (AVX-512 BF16's vdpbf16ps), the bias and ReLU fused into the
 * store of the fp32 output.  The middle option between fp32 and int8: no
 * calibration (bf16 has fp32's range), the weights and activations at 8
 * significant bits instead of 24, the arithmetic at about twice fp32's rate.
 *
 * Rounding (feat_bf16_round, the contract every table keeps, as
 * vcvtne2ps2bf16 does): to nearest, ties to even; a NaN stays a (quiet)
 * NaN; a denormal float becomes a zero of its sign.  The product of two
 * bf16 values is exact in fp32, so the sums differ between tables only by
 * the order and rounding of fp32 additions: vdpbf16ps adds the products of
 * a pair of k, k + 1 to its accumulator; the plain C twin adds them one at
 * a time (k + 1 first, then k), rounding each sum to fp32, and may differ
 * from the instruction by a few fp32 roundings of the running sum.
 *
 * The GEMM is C (M x N, fp32, row-major: output channel by pixel, NCHW) =
 * A (M x K, bf16) * B (K x N, bf16), K even (a pair of k is one 32-bit
 * word).  Both operands are packed in one layout every table shares (the
 * packing is plain C, in ref/gemm_bf16.c):
 *
 *   A: row panels of FEAT_B_MR rows: [ceil(M/MR)][K/2][MR][2], rows past M
 *      zero;
 *   B: column panels of FEAT_B_NR columns: [K/2][NR][2] for one panel.
 *
 * A convolution's B panel is packed from the input converted once into
 * padded pairs of channels ([cp/2][hp][wp][2] bf16, feat_bf16_c2), whose
 * 4-byte words are laid out as the int8 family's groups of four u8
 * channels: the int8 table entry qpack_b packs them, given a geometry with
 * cp = 2 * (the even channel count).
 */
#ifndef FEAT_KERN_BF16_H
#define FEAT_KERN_BF16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FEAT_B_MR 12
#define FEAT_B_NR 32

/* f rounded to bf16 (the contract above). */
static inline uint16_t feat_bf16_round(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu))
		return (uint16_t)(u >> 16 | 0x0040u);          /* NaN: quiet */
	if (!(u & 0x7f800000u))
		return (uint16_t)(u >> 16 & 0x8000u);          /* zero, denormal */
	u += 0x7fffu + (u >> 16 & 1u);
	return (uint16_t)(u >> 16);
}

static inline float feat_bf16_float(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;

	memcpy(&f, &u, 4);
	return f;
}

/* A product of packed panels: rows [0, M) of the packed A against
 * ceil(n / NR) packed B panels, one after the other (K NR values each), of
 * n columns in all (the rest of the last panel is ignored), as the int8
 * family's (each block of MR rows run against every panel before the
 * next).  C[m * ldc + j] = act(sum_k A[m][k] B[k][j] + bias[m]). */
struct feat_bgemm_args {
	int M, K, n;            /* K even */
	const uint16_t *ap;     /* packed A (all of it) */
	const uint16_t *bp;     /* the packed B panels */
	float *C;
	size_t ldc;
	const float *bias;      /* [M] or NULL */
	int relu;
};

/* The plain C twin (ref/gemm_bf16.c). */
void feat_bgemm_ref(const struct feat_bgemm_args *a);

/* Elements of packed A for M x K (K even). */
size_t feat_bpack_a_elems(int M, int K);
/* Round row-major fp32 A (M x ka, lda) and pack it as M x K, K = ka
 * rounded up to even (the column past ka zero). */
void feat_bpack_a(uint16_t *ap, const float *A, size_t lda, int M, int ka);

/*
 * Round one image x (NCHW fp32, c channels of h x w) into xb, in pairs of
 * channels: [cp/2][hp][wp][2] bf16, cp >= c even, hp = pt + h + pb and
 * wp = pl + w + pr; every value that is not one of x's (border, a channel
 * past c) is zero.
 */
void feat_bf16_c2_ref(const float *x, int c, int h, int w, uint16_t *xb, int cp, int pt, int pl,
	int pb, int pr);

/*
 * The bf16 inner product of one vector (an fc layer at batch 1, bound by
 * the bandwidth of its weights, which bf16 halves): rows [m0, m1) of
 *
 *     y[m] = act(sum_k w[m][k] x[k] + bias[m])
 *
 * w bf16 row-major with row stride ldw (a multiple of 32, zero past K), x
 * bf16 of ldw values (anything past K: the weights there are 0).  The twin
 * sums as feat_bgemm_ref does, pairs of k in order.
 */
struct feat_bgemv_args {
	int m0, m1;
	size_t ldw;
	const uint16_t *w;
	const uint16_t *x;
	float *y;
	const float *bias;      /* or NULL */
	int relu;
};
void feat_bgemv_ref(const struct feat_bgemv_args *a);
/* n floats rounded to bf16. */
void feat_bf16_vec(const float *x, size_t n, uint16_t *xb);

#endif
