/*
 * sgemm.c - AVX-512 single-precision GEMM: packing, cache blocking and a
 * register-blocked microkernel (the plan of BLIS's gemm framework, written
 * for row-major C), plus a GEMV for N == 1 or M == 1.  Only this directory
 * is compiled with AVX-512 flags; dispatch.c calls in here only after
 * cpuid said yes.
 *
 * Register plan (the 12x32 microkernel, ukr_12_2 below).  C is row-major,
 * so the vector direction is along a row of C: the tile is MR = 12 rows by
 * NR = 32 columns = 2 zmm per row, 24 zmm accumulators.  Each k step loads
 * the two zmm of the packed B row and, for each of the 12 packed A values,
 * one vbroadcastss from memory feeding two FMAs: 24 FMAs against 2 loads +
 * 12 broadcasts, 27 of 32 registers live, no spills (checked in objdump).  The test machine (2 cores of an EPYC that reports 48 KB L1d
 * and VP2INTERSECT, i.e. Zen 5) retires two zmm FMAs a cycle with 4 cycles
 * of latency: 8 chains would do, 24 leave room, and 14 loads per 12 cycles
 * sit well under its load ports.  Measured on the VGG/SSD shapes
 * (t/perf/bench_gemm, FEAT_SGEMM_MR/NV at build time), 12x32 and 14x32
 * tied at 160-190 GFLOP/s on the big layers, 8x48 and 6x64 were 5-20%
 * slower on M = 512 and on K = 27, 16x16 was 30% slower: 12x32 it is (the
 * same shape as BLIS's skx kernel, transposed).
 * Edge tiles use the same code instantiated for every mr in 1..12 and 1 or 2
 * vectors, with masked loads and stores of C: no FMA is spent on rows that
 * do not exist, and nothing outside C is touched.
 *
 * Blocking (feat_kern_blocks_avx512; sizes in floats):
 *
 *   for i0 over M by MC                 packed A block MC x KC (L2/L3)
 *     for p0 over K by KC               pack A[i0.., p0..] in MR-row panels
 *       for j0 over N by NC             pack B[p0.., j0..]: KC x NC in L2
 *         for ir over MC by MR          A micro-panel MR x KC: 18 KB, in L1
 *           for jr over NC by NR        B micro-panel KC x NR streamed from L2
 *             microkernel
 *
 * The A micro-panel (the broadcast operand) stays in L1 while the
 * microkernel walks the B panels of one block; those (128 bytes per k per
 * 24 FMAs) come from L2.  KC = 384 keeps the A panel at 18 KB of L1;
 * KC x NC = 384 x 320 floats = 480 KB is half the L2.  (Measured: kc 192,
 * 256, 576 and nc 640, 960, 2048 were no better, some worse.)  B is
 * packed row by row with prefetch a few rows ahead: im2col rows are long
 * and each is a new stream (this alone took M = 64 layers from 110 to 150
 * GFLOP/s).  The first K block scales C by beta (not reading C when beta
 * is 0); later blocks accumulate; the last one adds the bias and applies
 * ReLU in the same store.
 *
 * Threads (later): the j0 loop splits with no communication: every
 * thread packs its own B block into its own workspace and writes its own
 * columns of C; the A block is packed once and shared (a barrier after
 * packing).  For small N, split the ir loop instead.  The workspace is
 * already per thread.
 *
 * Other routes: N == 1 or M == 1 is a GEMV (gemv_dot/gemv_axpy: the
 * matrix read once, at DRAM speed); N <= 16 with row-major A streams A
 * against B^T without packing (gemm_smalln: batched inner products, 3x3
 * maps); other small N runs the packed code on C^T = B^T A^T so that the
 * long dimension fills the vectors, C then written through a tile buffer.
 */
#include <immintrin.h>

#include "base/internal.h"
#include "kern/kern.h"
#include "kern/avx512/transpose16.h"
#include "kern/avx512/avx512.h"

#ifndef FEAT_SGEMM_MR
#define FEAT_SGEMM_MR 12
#endif
#ifndef FEAT_SGEMM_NV
#define FEAT_SGEMM_NV 2
#endif
#define MR FEAT_SGEMM_MR
#define NV FEAT_SGEMM_NV
#define NR (16 * NV)

#if MR < 1 || MR > 16 || NV < 1 || NV > 4
#error "microkernel shape out of range"
#endif

struct feat_kern_blocks feat_kern_blocks_avx512 = {
	.mr = MR, .nr = NR, .mc = 480, .kc = 384, .nc = 320,
};

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* A GEMM with explicit element strides: op(A)(i,k) = A[i*rsa + k*csa] and
 * so on.  Swapping roles is a matter of swapping strides. */
struct prob {
	long M, N, K;
	const float *A;
	long rsa, csa;
	const float *B;
	long rsb, csb;
	float *C;
	long rsc, csc;
	float alpha, beta;
	const float *bias;
	int bias_kind, relu;
	const struct feat_sgemm_apack *apack;   /* A pre-packed, or NULL */
	const struct feat_sgemm_apack *bpack;   /* B pre-packed, or NULL */
};

/* What one microkernel call does with its tile at the end. */
struct tile {
	float alpha, beta;     /* beta: the user's on the first K block, else 1 */
	int last, relu;        /* last K block: add bias, apply ReLU */
	const float *brow;     /* bias of the tile's row 0, or NULL */
	const float *bcol;     /* bias of the tile's column 0, or NULL */
};

/* ------------------------------------------------------------ workspace */

static __thread float *ws_a, *ws_b, *ws_x;
static __thread size_t ws_an, ws_bn, ws_xn;

static float *ws_get(float **p, size_t *cap, size_t n)
{
	if (n > *cap) {
		free(*p);
		*p = feat_aligned_alloc(n * sizeof(float));
		*cap = *p ? n : 0;
	}
	return *p;
}

void feat_sgemm_workspace_free_avx512(void)
{
	free(ws_a);
	free(ws_b);
	free(ws_x);
	ws_a = ws_b = ws_x = NULL;
	ws_an = ws_bn = ws_xn = 0;
}

static inline __mmask16 lanes(long n)
{
	return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* ---------------------------------------------------------- microkernel */

/*
 * acc = A panel (mr x kc, k-major, stride mr) * B panel (kc x NR, k-major,
 * zero-padded), then C tile (mr x nr, nv = ceil(nr/16)) = epilogue.  mr and
 * nv are constants after inlining, so acc lives in registers.
 */
ALWAYS_INLINE void ukr(const int mr, const int nv, long kc,
	const float *restrict a, const float *restrict b, float *restrict c,
	long rsc, long csc, long nr, const struct tile *t)
{
	__m512 acc[16][4];

#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int v = 0; v < nv; v++)
			acc[i][v] = _mm512_setzero_ps();

#pragma GCC unroll 4
	for (long p = 0; p < kc; p++) {
		__m512 bv[4];

#pragma GCC unroll 4
		for (int v = 0; v < nv; v++)
			bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
		for (int i = 0; i < mr; i++) {
			__m512 ai = _mm512_set1_ps(a[i]);

#pragma GCC unroll 4
			for (int v = 0; v < nv; v++)
				acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
		}
		a += mr;
		b += NR;
	}

	const __m512 valpha = _mm512_set1_ps(t->alpha);
	const __m512 vbeta = _mm512_set1_ps(t->beta);
	const __m512 zero = _mm512_setzero_ps();

	if (csc == 1) {
		__mmask16 m[4];

#pragma GCC unroll 4
		for (int v = 0; v < nv; v++)
			m[v] = lanes(nr - 16 * v);
#pragma GCC unroll 16
		for (int i = 0; i < mr; i++) {
			float *ci = c + i * rsc;

#pragma GCC unroll 4
			for (int v = 0; v < nv; v++) {
				__m512 r = acc[i][v];

				if (t->alpha != 1.0f)
					r = _mm512_mul_ps(r, valpha);
				if (t->beta == 1.0f)
					r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m[v], ci + 16 * v));
				else if (t->beta != 0.0f)
					r = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v], ci + 16 * v),
						vbeta, r);
				if (t->last) {
					if (t->brow)
						r = _mm512_add_ps(r, _mm512_set1_ps(t->brow[i]));
					if (t->bcol)
						r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m[v],
							t->bcol + 16 * v));
					if (t->relu)   /* NaN stays: r second */
						r = _mm512_max_ps(zero, r);
				}
				_mm512_mask_storeu_ps(ci + 16 * v, m[v], r);
			}
		}
	} else {
		/* C^T of a swapped problem: through a buffer, element by element. */
		float buf[16 * 64] __attribute__((aligned(64)));

#pragma GCC unroll 16
		for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
			for (int v = 0; v < nv; v++)
				_mm512_store_ps(buf + i * NR + 16 * v, acc[i][v]);
		for (int i = 0; i < mr; i++) {
			for (long j = 0; j < nr; j++) {
				float *cij = c + i * rsc + j * csc;
				float r = t->alpha * buf[i * NR + j];

				if (t->beta != 0.0f)
					r += t->beta * *cij;
				if (t->last) {
					if (t->brow)
						r += t->brow[i];
					if (t->bcol)
						r += t->bcol[j];
					if (t->relu && r < 0.0f)
						r = 0.0f;
				}
				*cij = r;
			}
		}
	}
}

typedef void (*ukr_fn)(long kc, const float *a, const float *b, float *c,
	long rsc, long csc, long nr, const struct tile *t);

/* One function per edge shape (rows, vectors); shapes over MR x NV are
 * never called and compile to nothing. */
#define UKR(m, v) \
	static void ukr_##m##_##v(long kc, const float *a, const float *b, \
		float *c, long rsc, long csc, long nr, const struct tile *t) \
	{ \
		if ((m) <= MR && (v) <= NV) \
			ukr((m) <= MR ? (m) : 1, (v) <= NV ? (v) : 1, kc, a, b, c, \
				rsc, csc, nr, t); \
	}
#define UKR4(m) UKR(m, 1) UKR(m, 2) UKR(m, 3) UKR(m, 4)
UKR4(1) UKR4(2) UKR4(3) UKR4(4) UKR4(5) UKR4(6) UKR4(7) UKR4(8)
UKR4(9) UKR4(10) UKR4(11) UKR4(12) UKR4(13) UKR4(14) UKR4(15) UKR4(16)
#define ROW(m) { ukr_##m##_1, ukr_##m##_2, ukr_##m##_3, ukr_##m##_4 }
static const ukr_fn ukrs[16][4] = {
	ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6), ROW(7), ROW(8),
	ROW(9), ROW(10), ROW(11), ROW(12), ROW(13), ROW(14), ROW(15), ROW(16),
};

/* -------------------------------------------------------------- packing */

/* A[i0..i0+mc, p0..p0+kc] into MR-row panels: panel ir at ap + ir*kc,
 * element (i, k) at [k*mr + i] where mr is the panel's row count. */
static void pack_a(const struct prob *p, long i0, long mc, long p0, long kc,
	float *restrict ap)
{
	for (long ir = 0; ir < mc; ir += MR) {
		long mr = mc - ir < MR ? mc - ir : MR;
		const float *src = p->A + (i0 + ir) * p->rsa + p0 * p->csa;
		float *dst = ap + ir * kc;

		if (p->rsa == 1) {
			__mmask16 m = lanes(mr);

			for (long k = 0; k < kc; k++)
				_mm512_mask_storeu_ps(dst + k * mr, m,
					_mm512_maskz_loadu_ps(m, src + k * p->csa));
		} else if (p->csa == 1) {
			/* Rows contiguous along k (weights): 16 k at a time
			 * through a register transpose, the rest one by one. */
			__mmask16 m = lanes(mr);
			long k = 0;

			for (; k + 16 <= kc; k += 16) {
				__m512 r[16];

				/* mr row streams at stride lda are too many for
				 * the hardware prefetcher: ask for each row's
				 * line 256 floats ahead (weights come from L3 or
				 * DRAM, so this was most of pack_a's time). */
				for (int i = 0; i < 16; i++)
					if (i < mr && k + 16 * 16 < kc)
						_mm_prefetch((const char *)(src + i * p->rsa + k + 16 * 16),
							_MM_HINT_T0);
				for (int i = 0; i < 16; i++)
					r[i] = i < mr ? _mm512_loadu_ps(src + i * p->rsa + k) :
						_mm512_setzero_ps();
				feat_transpose16(r);
				for (int kk = 0; kk < 16; kk++)
					_mm512_mask_storeu_ps(dst + (k + kk) * mr, m, r[kk]);
			}
			for (; k < kc; k++)
				for (long i = 0; i < mr; i++)
					dst[k * mr + i] = src[i * p->rsa + k];
		} else {
			for (long i = 0; i < mr; i++) {
				const float *s = src + i * p->rsa;

				for (long k = 0; k < kc; k++)
					dst[k * mr + i] = s[k * p->csa];
			}
		}
	}
}

/* B[p0..p0+kc, j0..j0+nc] into NR-column panels: panel jr at bp + jr*kc,
 * element (k, j) at [k*NR + j], columns past nc zero. */
static void pack_b(const struct prob *p, long p0, long kc, long j0, long nc,
	float *restrict bp)
{
	if (p->csb == 1) {
		/* Rows of B (an im2col matrix, or the input of a 1x1
		 * convolution) are long: read each row's nc floats in one go,
		 * and prefetch a few rows ahead, since every row is a new
		 * stream to the hardware prefetcher. */
		for (long k = 0; k < kc; k++) {
			const float *s = p->B + (p0 + k) * p->rsb + j0;

			if (k + 4 < kc)
				for (long j = 0; j < nc; j += 16)
					_mm_prefetch((const char *)(s + 4 * p->rsb + j),
						_MM_HINT_T0);
			for (long jr = 0; jr < nc; jr += NR) {
				float *d = bp + jr * kc + k * NR;

				for (int v = 0; v < NV; v++)
					_mm512_store_ps(d + 16 * v, _mm512_maskz_loadu_ps(
						lanes(nc - jr - 16 * v), s + jr + 16 * v));
			}
		}
		return;
	}
	for (long jr = 0; jr < nc; jr += NR) {
		long nr = nc - jr < NR ? nc - jr : NR;
		const float *src = p->B + p0 * p->rsb + (j0 + jr) * p->csb;
		float *dst = bp + jr * kc;

		for (int v = 0; v < NV; v++) {
			long nv = nr - 16 * v;       /* valid columns in this vector */
			long k = 0;

			if (nv <= 0) {
				for (k = 0; k < kc; k++)
					_mm512_store_ps(dst + k * NR + 16 * v, _mm512_setzero_ps());
				continue;
			}
			if (p->rsb == 1 && nv >= 16) {
				for (; k + 16 <= kc; k += 16) {
					__m512 r[16];

					for (int jj = 0; jj < 16; jj++)
						r[jj] = _mm512_loadu_ps(src + (16 * v + jj) * p->csb + k);
					feat_transpose16(r);
					for (int kk = 0; kk < 16; kk++)
						_mm512_store_ps(dst + (k + kk) * NR + 16 * v, r[kk]);
				}
			}
			for (; k < kc; k++) {
				float *d = dst + k * NR + 16 * v;

				for (long jj = 0; jj < 16; jj++)
					d[jj] = jj < nv ? src[k * p->rsb + (16 * v + jj) * p->csb] : 0.0f;
			}
		}
	}
}

/* ----------------------------------------------------------- the driver */

static long rdown(long x, long m)
{
	return x / m * m > 0 ? x / m * m : m;
}

static long rup(long x, long m)
{
	return (x + m - 1) / m * m;
}

static void block_sizes(long *MC, long *KC)
{
	const struct feat_kern_blocks *bs = &feat_kern_blocks_avx512;

	*MC = rdown(bs->mc, MR);
	*KC = bs->kc > 0 ? bs->kc : 256;
}

/* With p->apack, block (i0, p0) of A is already packed, pack_a's layout,
 * at apack->p + i0 * K + p0 * mc: the blocks one after the other.  With
 * p->bpack (never with apack), block (p0, j0) of B, pack_b's layout, at
 * bpack->p + p0 * rup(N, NR) + j0 * kc. */
static int gemm_packed(const struct prob *p)
{
	const struct feat_kern_blocks *bs = &feat_kern_blocks_avx512;
	const struct feat_sgemm_apack *pa = p->apack, *pb = p->bpack;
	long MC, KC, NC = rdown(bs->nc, NR);

	if (pa)
		MC = pa->mc, KC = pa->kc;
	else
		block_sizes(&MC, &KC);
	if (pb)
		KC = pb->kc, NC = pb->mc;

	long mcmax = p->M < MC ? rup(p->M, MR) : MC;
	long kcmax = p->K < KC ? p->K : KC;
	long ncmax = p->N < NC ? rup(p->N, NR) : NC;
	float *ap = pa ? NULL : ws_get(&ws_a, &ws_an, (size_t)(mcmax * kcmax));
	float *bp = pb ? NULL : ws_get(&ws_b, &ws_bn, (size_t)(kcmax * ncmax));

	if ((!pa && !ap) || (!pb && !bp))
		return FEAT_E_NOMEM;
	for (long i0 = 0; i0 < p->M; i0 += MC) {
		long mc = p->M - i0 < MC ? p->M - i0 : MC;

		for (long p0 = 0; p0 < p->K; p0 += KC) {
			long kc = p->K - p0 < KC ? p->K - p0 : KC;
			struct tile t = {
				.alpha = p->alpha,
				.beta = p0 == 0 ? p->beta : 1.0f,
				.last = p0 + kc == p->K,
				.relu = p->relu,
			};

			if (pa)
				ap = pa->p + i0 * p->K + p0 * mc;
			else
				pack_a(p, i0, mc, p0, kc, ap);
			for (long j0 = 0; j0 < p->N; j0 += NC) {
				long nc = p->N - j0 < NC ? p->N - j0 : NC;

				if (pb)
					bp = pb->p + p0 * rup(p->N, NR) + j0 * kc;
				else
					pack_b(p, p0, kc, j0, nc, bp);
				for (long ir = 0; ir < mc; ir += MR) {
					long mr = mc - ir < MR ? mc - ir : MR;
					float *crow = p->C + (i0 + ir) * p->rsc;

					t.brow = p->bias_kind == FEAT_BIAS_ROW ?
						p->bias + i0 + ir : NULL;
					for (long jr = 0; jr < nc; jr += NR) {
						long nr = nc - jr < NR ? nc - jr : NR;

						t.bcol = p->bias_kind == FEAT_BIAS_COL ?
							p->bias + j0 + jr : NULL;
						ukrs[mr - 1][(nr + 15) / 16 - 1](kc,
							ap + ir * kc, bp + jr * kc,
							crow + (j0 + jr) * p->csc, p->rsc, p->csc,
							nr, &t);
					}
				}
			}
		}
	}
	return 0;
}

/* ----------------------------------------------------------------- GEMV */

/*
 * y[r*incy] = act(alpha * sum_k M(r,k) x[k] + beta * y + bias[r*binc]) for
 * r < R, with M(r,k) = m[r*rs + k*cs].  Bandwidth-bound: M is read exactly
 * once, in address order, by as few streams as keep the loads busy.
 */
struct gemv {
	long R, K;
	const float *m;
	long rs, cs;
	const float *x;
	long incx;
	float *y;
	long incy;
	float alpha, beta;
	const float *bias;
	long binc;
	int relu;
};

static inline float gemv_out(const struct gemv *g, long r, float dot)
{
	float v = g->alpha * dot;
	float *y = g->y + r * g->incy;

	if (g->beta != 0.0f)
		v += g->beta * *y;
	if (g->bias)
		v += g->bias[r * g->binc];
	if (g->relu && v < 0.0f)
		v = 0.0f;
	return v;
}

/* Rows contiguous (cs == 1), x contiguous: four rows at a time, two
 * accumulators each, one pass over x per four rows (x stays in L1/L2). */
static void gemv_dot(const struct gemv *g)
{
	const float *x = g->x;
	long K = g->K, r = 0;

	for (; r + 4 <= g->R; r += 4) {
		const float *a0 = g->m + r * g->rs, *a1 = a0 + g->rs;
		const float *a2 = a1 + g->rs, *a3 = a2 + g->rs;
		__m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
		__m512 t0 = s0, t1 = s0, t2 = s0, t3 = s0;
		long k = 0;

		for (; k + 32 <= K; k += 32) {
			__m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);

			s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a0 + k), x0, s0);
			s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a1 + k), x0, s1);
			s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a2 + k), x0, s2);
			s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a3 + k), x0, s3);
			t0 = _mm512_fmadd_ps(_mm512_loadu_ps(a0 + k + 16), x1, t0);
			t1 = _mm512_fmadd_ps(_mm512_loadu_ps(a1 + k + 16), x1, t1);
			t2 = _mm512_fmadd_ps(_mm512_loadu_ps(a2 + k + 16), x1, t2);
			t3 = _mm512_fmadd_ps(_mm512_loadu_ps(a3 + k + 16), x1, t3);
		}
		for (; k < K; k += 16) {
			__mmask16 m = lanes(K - k);
			__m512 x0 = _mm512_maskz_loadu_ps(m, x + k);

			s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a0 + k), x0, s0);
			s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a1 + k), x0, s1);
			s2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a2 + k), x0, s2);
			s3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a3 + k), x0, s3);
		}
		float d0 = _mm512_reduce_add_ps(_mm512_add_ps(s0, t0));
		float d1 = _mm512_reduce_add_ps(_mm512_add_ps(s1, t1));
		float d2 = _mm512_reduce_add_ps(_mm512_add_ps(s2, t2));
		float d3 = _mm512_reduce_add_ps(_mm512_add_ps(s3, t3));

		g->y[r * g->incy] = gemv_out(g, r, d0);
		g->y[(r + 1) * g->incy] = gemv_out(g, r + 1, d1);
		g->y[(r + 2) * g->incy] = gemv_out(g, r + 2, d2);
		g->y[(r + 3) * g->incy] = gemv_out(g, r + 3, d3);
	}
	/* the last rows sum as the four-row loop does, so that a row's value
	 * does not depend on where the rows were cut */
	for (; r < g->R; r++) {
		const float *a0 = g->m + r * g->rs;
		__m512 s0 = _mm512_setzero_ps(), t0 = s0;
		long k = 0;

		for (; k + 32 <= K; k += 32) {
			s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a0 + k), _mm512_loadu_ps(x + k), s0);
			t0 = _mm512_fmadd_ps(_mm512_loadu_ps(a0 + k + 16),
				_mm512_loadu_ps(x + k + 16), t0);
		}
		for (; k < K; k += 16) {
			__mmask16 m = lanes(K - k);

			s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a0 + k),
				_mm512_maskz_loadu_ps(m, x + k), s0);
		}
		g->y[r * g->incy] = gemv_out(g, r, _mm512_reduce_add_ps(_mm512_add_ps(s0, t0)));
	}
}

/* Columns contiguous (rs == 1): y += x[k] * column k, 256 rows of y held
 * in 16 registers while k runs over all of K. */
static void gemv_axpy(const struct gemv *g)
{
	float out[256] __attribute__((aligned(64)));

	for (long r0 = 0; r0 < g->R; r0 += 256) {
		long nr = g->R - r0 < 256 ? g->R - r0 : 256;
		__m512 acc[16];

		for (int v = 0; v < 16; v++)
			acc[v] = _mm512_setzero_ps();
		if (nr == 256) {
			for (long k = 0; k < g->K; k++) {
				const float *col = g->m + k * g->cs + r0;
				__m512 xk = _mm512_set1_ps(g->x[k * g->incx]);

#pragma GCC unroll 16
				for (int v = 0; v < 16; v++)
					acc[v] = _mm512_fmadd_ps(_mm512_loadu_ps(col + 16 * v),
						xk, acc[v]);
			}
		} else {
			for (long k = 0; k < g->K; k++) {
				const float *col = g->m + k * g->cs + r0;
				__m512 xk = _mm512_set1_ps(g->x[k * g->incx]);

				for (int v = 0; v < (nr + 15) / 16; v++)
					acc[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(
						lanes(nr - 16 * v), col + 16 * v), xk, acc[v]);
			}
		}
		for (int v = 0; v < 16; v++)
			_mm512_store_ps(out + 16 * v, acc[v]);
		for (long r = 0; r < nr; r++)
			g->y[(r0 + r) * g->incy] = gemv_out(g, r0 + r, out[r]);
	}
}

static int gemv_run(struct gemv *g)
{
	if (g->cs == 1 || (g->K == 1 && g->rs != 1)) {
		if (g->incx != 1) {
			float *xb = ws_get(&ws_x, &ws_xn, (size_t)g->K);

			if (!xb)
				return FEAT_E_NOMEM;
			for (long k = 0; k < g->K; k++)
				xb[k] = g->x[k * g->incx];
			g->x = xb;
			g->incx = 1;
		}
		if (g->cs != 1) {
			/* K == 1: each row has one element. */
			for (long r = 0; r < g->R; r++)
				g->y[r * g->incy] = gemv_out(g, r, g->m[r * g->rs] * g->x[0]);
			return 0;
		}
		gemv_dot(g);
	} else {
		gemv_axpy(g);
	}
	return 0;
}

/* ------------------------------------------------------------ small N */

/*
 * A few columns (an inner product over a small batch, a convolution on a
 * 3x3 map): C = A * B with A row-major and N <= SMALLN.  Packing A would
 * cost as much as the product, so A is streamed once, three rows at a time against
 * up to 8 columns of B^T (rows of K floats, in L2): 24 accumulators, 3 + nj
 * loads per 3*nj FMAs, a horizontal sum per element of C at the end.
 * K goes in chunks of SMALLN_KB so that the chunk of B^T stays in L2
 * (8 x 4096 floats = 128 KB) while the rows of A stream past it.
 */
#define SMALLN 16
#define SMALLN_KB 4096

ALWAYS_INLINE void smalln_rows(const int nj, const struct prob *p, long i,
	int nrow, const float *bt, long ldbt, long j0, long k0, long K,
	float *part)
{
	const float *a0 = p->A + i * p->rsa + k0;
	const float *a1 = nrow > 1 ? a0 + p->rsa : a0;
	const float *a2 = nrow > 2 ? a1 + p->rsa : a1;
	__m512 acc[3][8];
	int first = k0 == 0, last = k0 + K == p->K;

	bt += k0;

#pragma GCC unroll 8
	for (int j = 0; j < nj; j++)
		acc[0][j] = acc[1][j] = acc[2][j] = _mm512_setzero_ps();
	for (long k = 0; k < K; k += 16) {
		__mmask16 m = lanes(K - k);
		__m512 x0 = _mm512_maskz_loadu_ps(m, a0 + k);
		__m512 x1 = _mm512_maskz_loadu_ps(m, a1 + k);
		__m512 x2 = _mm512_maskz_loadu_ps(m, a2 + k);

#pragma GCC unroll 8
		for (int j = 0; j < nj; j++) {
			__m512 b = _mm512_maskz_loadu_ps(m, bt + (j0 + j) * ldbt + k);

			acc[0][j] = _mm512_fmadd_ps(x0, b, acc[0][j]);
			acc[1][j] = _mm512_fmadd_ps(x1, b, acc[1][j]);
			acc[2][j] = _mm512_fmadd_ps(x2, b, acc[2][j]);
		}
	}
#pragma GCC unroll 3
	for (int r = 0; r < 3; r++) {
		if (r >= nrow)
			break;
#pragma GCC unroll 8
		for (int j = 0; j < nj; j++) {
			float *c = p->C + (i + r) * p->rsc + (j0 + j) * p->csc;
			float *pt = part + (i + r) * 8 + j;
			float v = _mm512_reduce_add_ps(acc[r][j]);

			if (!first)
				v += *pt;
			if (!last) {
				*pt = v;
				continue;
			}
			v *= p->alpha;

			if (p->beta != 0.0f)
				v += p->beta * *c;
			if (p->bias_kind == FEAT_BIAS_ROW)
				v += p->bias[i + r];
			else if (p->bias_kind == FEAT_BIAS_COL)
				v += p->bias[j0 + j];
			if (p->relu && v < 0.0f)
				v = 0.0f;
			*c = v;
		}
	}
}

#define SMALLN_CASE(n) \
	case n: smalln_rows(n, p, i, nrow, bt, ldbt, j0, k0, kb, part); break;

static int gemm_smalln(const struct prob *p)
{
	const float *bt = p->B;
	long ldbt = p->csb;

	if (p->rsb != 1) {
		/* B^T's rows are op(B)'s columns: gather them (N*K floats,
		 * against 2*M*N*K flops). */
		float *t = ws_get(&ws_x, &ws_xn, (size_t)(p->N * p->K));

		if (!t)
			return FEAT_E_NOMEM;
		for (long k = 0; k < p->K; k++)
			for (long j = 0; j < p->N; j++)
				t[j * p->K + k] = p->B[k * p->rsb + j * p->csb];
		bt = t;
		ldbt = p->K;
	}
	/* K in chunks (see above); partial sums of
	 * C wait in part[]. */
	float *part = p->K > SMALLN_KB ?
		ws_get(&ws_a, &ws_an, (size_t)p->M * 8) : NULL;

	if (p->K > SMALLN_KB && !part)
		return FEAT_E_NOMEM;
	for (long j0 = 0; j0 < p->N; j0 += 8) {
		long nj = p->N - j0 < 8 ? p->N - j0 : 8;

		for (long k0 = 0; k0 < p->K; k0 += SMALLN_KB) {
			long kb = p->K - k0 < SMALLN_KB ? p->K - k0 : SMALLN_KB;

			for (long i = 0; i < p->M; i += 3) {
				int nrow = p->M - i < 3 ? (int)(p->M - i) : 3;

				switch (nj) {
				SMALLN_CASE(1) SMALLN_CASE(2) SMALLN_CASE(3)
				SMALLN_CASE(4) SMALLN_CASE(5) SMALLN_CASE(6)
				SMALLN_CASE(7) SMALLN_CASE(8)
				}
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------ the entry */

int feat_sgemm_avx512(const struct feat_sgemm_args *a)
{
	struct prob p = {
		.M = a->M, .N = a->N, .K = a->K,
		.A = a->A, .rsa = a->transA ? 1 : a->lda, .csa = a->transA ? a->lda : 1,
		.B = a->B, .rsb = a->transB ? 1 : a->ldb, .csb = a->transB ? a->ldb : 1,
		.C = a->C, .rsc = a->ldc, .csc = 1,
		.alpha = a->alpha, .beta = a->beta,
		.bias = a->bias, .bias_kind = a->bias_kind, .relu = a->relu,
	};

	/* The route is chosen from the whole product when this call is a
	 * piece of one (kern.h): the GEMV and small-N routes sum each element
	 * across lanes, the packed kernel down one lane, so a piece routed
	 * apart from the whole would differ from it in the last bits.  The
	 * packed kernel, swapped or not, takes every shape. */
	long WM = a->whole_m > 0 ? a->whole_m : p.M, WN = a->whole_n > 0 ? a->whole_n : p.N;
	int smalln = WN <= SMALLN && p.csa == 1 && WM >= 4 * WN;

	if (a->apack && !a->transA && a->apack->p && a->apack->M == a->M &&
	    a->apack->K == a->K && WN > SMALLN) {
		/* Pre-packed weights: the blocked path as it is (not the
		 * swap, which would pack B as A). */
		p.apack = a->apack;
		return gemm_packed(&p);
	}
	if (a->bpack && !a->apack && a->bpack->p && a->bpack->M == a->N &&
	    a->bpack->K == a->K && WM > 1 && WN > 1 && !smalln) {
		/* pre-packed weights on the B side (inner products): the
		 * blocked path, whatever M, but where the pieces of a split
		 * call (which are not given bpack) go the small-N way */
		p.bpack = a->bpack;
		return gemm_packed(&p);
	}
	if (WN == 1) {
		struct gemv g = {
			.R = p.M, .K = p.K, .m = p.A, .rs = p.rsa, .cs = p.csa,
			.x = p.B, .incx = p.rsb, .y = p.C, .incy = p.rsc,
			.alpha = p.alpha, .beta = p.beta, .relu = p.relu,
			.bias = p.bias_kind != FEAT_BIAS_NONE ? p.bias : NULL,
			.binc = p.bias_kind == FEAT_BIAS_ROW,
		};
		return gemv_run(&g);
	}
	if (WM == 1) {
		struct gemv g = {
			.R = p.N, .K = p.K, .m = p.B, .rs = p.csb, .cs = p.rsb,
			.x = p.A, .incx = p.csa, .y = p.C, .incy = 1,
			.alpha = p.alpha, .beta = p.beta, .relu = p.relu,
			.bias = p.bias_kind != FEAT_BIAS_NONE ? p.bias : NULL,
			.binc = p.bias_kind == FEAT_BIAS_COL,
		};
		return gemv_run(&g);
	}
	if (smalln)
		return gemm_smalln(&p);
	/* Lanes spent: M rows of ceil16(N) against N rows of ceil16(M).
	 * Swap when that saves a fifth (the swapped store is slower). */
	if (WN < WM && 5 * WN * rup(WM, 16) < 4 * WM * rup(WN, 16)) {
		struct prob q = {
			.M = p.N, .N = p.M, .K = p.K,
			.A = p.B, .rsa = p.csb, .csa = p.rsb,
			.B = p.A, .rsb = p.csa, .csb = p.rsa,
			.C = p.C, .rsc = p.csc, .csc = p.rsc,
			.alpha = p.alpha, .beta = p.beta, .bias = p.bias,
			.bias_kind = p.bias_kind == FEAT_BIAS_ROW ? FEAT_BIAS_COL :
				p.bias_kind == FEAT_BIAS_COL ? FEAT_BIAS_ROW :
				FEAT_BIAS_NONE,
			.relu = p.relu,
		};
		return gemm_packed(&q);
	}
	return gemm_packed(&p);
}

/* ------------------------------------------------------------ packed A */

int feat_sgemm_pack_a_avx512(struct feat_sgemm_apack *ap, const float *A, int lda,
	int M, int K)
{
	long MC, KC;
	struct prob p = { .M = M, .K = K, .A = A, .rsa = lda, .csa = 1 };

	block_sizes(&MC, &KC);
	ap->M = M, ap->K = K, ap->mc = (int)MC, ap->kc = (int)KC;
	ap->p = feat_aligned_alloc((size_t)M * K * sizeof(float));
	if (!ap->p)
		return FEAT_E_NOMEM;
	for (long i0 = 0; i0 < M; i0 += MC) {
		long mc = M - i0 < MC ? M - i0 : MC;

		for (long p0 = 0; p0 < K; p0 += KC) {
			long kc = K - p0 < KC ? K - p0 : KC;

			pack_a(&p, i0, mc, p0, kc, ap->p + i0 * K + p0 * mc);
		}
	}
	return 0;
}

/* ------------------------------------------------------------ packed B */

int feat_sgemm_pack_b_avx512(struct feat_sgemm_apack *bp, const float *B, int ldb,
	int transB, int K, int N)
{
	long MC, KC, NC = rdown(feat_kern_blocks_avx512.nc, NR), np = rup(N, NR);
	struct prob p = {
		.N = N, .K = K, .B = B,
		.rsb = transB ? 1 : ldb, .csb = transB ? ldb : 1,
	};

	block_sizes(&MC, &KC);
	bp->M = N, bp->K = K, bp->mc = (int)NC, bp->kc = (int)KC;
	bp->p = feat_aligned_alloc((size_t)np * K * sizeof(float));
	if (!bp->p)
		return FEAT_E_NOMEM;
	for (long p0 = 0; p0 < K; p0 += KC) {
		long kc = K - p0 < KC ? K - p0 : KC;

		for (long j0 = 0; j0 < N; j0 += NC) {
			long nc = N - j0 < NC ? N - j0 : NC;

			pack_b(&p, p0, kc, j0, nc, bp->p + p0 * np + j0 * kc);
		}
	}
	return 0;
}
