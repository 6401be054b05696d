/*
 * int8.h - the int8 family of the kernel tables (issue 16): a convolution
 * as a GEMM of unsigned 8-bit activations by signed 8-bit weights with
 * 32-bit integer accumulation (AVX-512 VNNI's vpdpbusd), and the
 * dequantisation, bias and ReLU fused into the store of the fp32 output.
 *
 * Quantisation (symmetric weights, one scale per output channel;
 * activations u8 with one scale and zero point per layer input):
 *
 *     w[m][k] ~ sw[m] * wq[m][k],      wq in [-127, 127]
 *     x       ~ sx * (xq - zp),        xq in [0, 255], zp 0 or 128
 *     y[m][j] = sx sw[m] (sum_k wq[m][k] xq[k][j] - zp sum_k wq[m][k]) + bias[m]
 *
 * The integer sums are exact, so every table's agree bit for bit; the
 * store's scale and bias may not: the AVX-512 GEMM fuses them into one
 * multiply-add where the plain C twin rounds the product first, so an
 * output may differ from the twin's by 1 ulp (the tests allow it).
 *
 * The GEMM is C (M x N, fp32, row-major: output channel by pixel, so NCHW)
 * = A (M x K, s8) * B (K x N, u8), K a multiple of 4 (the groups of four
 * bytes vpdpbusd sums).  Both operands are packed in one layout, which
 * every table shares (the packing is plain C, in ref/gemm_u8s8.c):
 *
 *   A: row panels of FEAT_Q_MR rows: [ceil(M/MR)][K/4][MR][4] s8, rows past
 *      M zero;
 *   B: column panels of FEAT_Q_NR columns: [K/4][NR][4] u8 for one panel
 *      (the caller packs one panel at a time: im2col + quantisation).
 *
 * The sum is exact in 32 bits for K < 2^31 / (255 * 127) = 66311.
 */
#ifndef FEAT_KERN_INT8_H
#define FEAT_KERN_INT8_H

#include <stddef.h>
#include <stdint.h>

#define FEAT_Q_MR 12
#define FEAT_Q_NR 32
/* The largest K the s32 accumulator holds exactly. */
#define FEAT_Q_KMAX 66300

/* A product of packed panels: rows [0, M) of the packed A against
 * ceil(n / NR) packed B panels, one after the other (K NR bytes each), of
 * n columns in all (the rest of the last panel is ignored).  Each block
 * of MR rows of A is run against every panel before the next, so that it
 * is read from cache once per call: give as many panels as fit in the
 * L2 cache with it. */
struct feat_qgemm_args {
	int M, K, n;            /* K a multiple of 4 */
	const int8_t *ap;       /* packed A (all of it) */
	const uint8_t *bp;      /* the packed B panels */
	/* the output: either C (fp32, the epilogue fused) or C32 (raw s32
	 * sums, for the tests) */
	float *C;               /* element (m, j) at C[m * ldc + j] */
	int32_t *C32;
	size_t ldc;
	const float *scale;     /* [M]: sx * sw[m] */
	const int32_t *comp;    /* [M]: zp * sum_k wq[m][k] */
	const float *bias;      /* [M] or NULL */
	int relu;
};

/* The plain C twin (ref/gemm_u8s8.c). */
void feat_qgemm_ref(const struct feat_qgemm_args *a);

/* Bytes of packed A. */
size_t feat_qpack_a_bytes(int M, int K);
/* Pack row-major s8 A (M x K, lda) into ap. */
void feat_qpack_a(int8_t *ap, const int8_t *A, size_t lda, int M, int K);

/*
 * Quantise one image x (NCHW fp32, c channels of h x w) into xq, in
 * groups of four channels: [cp/4][hp][wp][4] u8, cp >= c a multiple of 4,
 * hp = pt + h + pb and wp = pl + w + pr (a border of padding), so that the
 * four bytes of a pixel that one vpdpbusd step sums are adjacent, and a
 * row of pixels is a run of 4-byte words.  Every byte that is not a value
 * of x (border, channels past c) is zp; the others are
 * clamp(round(x / sx) + zp, 0, 255), rounding half to even.
 */
void feat_quant_c4_ref(const float *x, int c, int h, int w, float inv_sx, int zp,
	uint8_t *xq, int cp, int pt, int pl, int pb, int pr);

/*
 * Pack the B panel of output pixels [j0, j0 + n) (n <= NR; the rest of the
 * panel zero) of a convolution over xq (quant_c4's layout, hp x wp
 * padded pixels, cp channels): row k = (ky kw + kx) cp + c.  A run of
 * pixels of one output row at stride 1 is one copy of 4-byte words.
 */
struct feat_qconv_geom {
	int cp, hp, wp;         /* padded input */
	int kh, kw, sh, sw, dh, dw;
	int hout, wout;
};
void feat_qpack_b_conv(const struct feat_qconv_geom *g, const uint8_t *xq, long j0, int n,
	uint8_t *bp);

/*
 * The int8 inner product of one vector (an fc layer at batch 1, bound by
 * the bandwidth of its weights): rows [m0, m1) of
 *
 *     y[m] = scale[m] (sum_k w[m][k] x[k] - comp[m]) + bias[m]   (ReLU)
 *
 * w s8 row-major with row stride ldw (a multiple of 64, zero past K), x u8
 * of ldw bytes (anything past K: the weights there are 0).
 */
struct feat_qgemv_args {
	int m0, m1;
	size_t ldw;
	const int8_t *w;
	const uint8_t *x;
	float *y;
	const float *scale;
	const int32_t *comp;
	const float *bias;      /* or NULL */
	int relu;
};
void feat_qgemv_ref(const struct feat_qgemv_args *a);
/* x (n floats) to u8 as feat_quant_c4_ref does, into xq[0..n). */
void feat_quant_vec(const float *x, size_t n, float inv_sx, int zp, uint8_t *xq);

#endif
