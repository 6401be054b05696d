/*
 * test_gemm.c - the GEMM paths against their plain C twin: every edge size
 * from 1 to 40 in each dimension, shapes that cross every cache block,
 * transposes, padded leading dimensions, alpha and beta (beta == 0 over
 * NaN), the fused bias/ReLU epilogue, the GEMV and small-N routes, a
 * pre-packed A (feat_kern_pack_a) and a pre-packed B (feat_kern_pack_b,
 * transposed or not) on all of these, guard
 * bands around C that must stay untouched, argument errors, and the
 * dispatcher's FEAT_KERNEL.
 *
 * Tolerance: the reference accumulates in double, so the fast path's
 * error is its own float rounding; we allow
 *     |got - want| <= 1e-5 * (K |alpha| max|a| max|b| + |beta| max|c| + max|bias|)
 * per element (the usual K*eps bound with eps ~ 6e-8 has 100x headroom and
 * still catches a single dropped or doubled product, which is off by at
 * least max|a|max|b|/4 on these inputs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "base/internal.h"
#include "kern/kern.h"
#include "unit.h"

#define GUARD 7.25f   /* value of C's padding, which no path may touch */

static unsigned rng = 12345;

static float frand(void)
{
	rng = rng * 1103515245u + 12345u;
	return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* A matrix of rows x cols with leading dimension ld, allocated to its
 * exact extent so that the sanitizer catches a read past its end (64-byte
 * aligned, as the library's own buffers are). */
static float *mat(int rows, int cols, int ld)
{
	size_t n = (size_t)(rows - 1) * ld + cols;
	float *p = feat_aligned_alloc(n * sizeof(float));

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = frand();
	return p;
}

/* 1: check_one hands the AVX-512 path a pre-packed A whenever A is not
 * transposed (the route of a convolution's weights). */
static int use_apack, use_bpack;

static const struct feat_kern *path(int id)
{
	return feat_kern_get(id);
}

/*
 * Run one GEMM on path k and on the reference, from the same C (random,
 * or NaN when beta == 0), and compare.  ldX_pad widens the leading
 * dimensions; C's padding is a guard band.  Returns the number of bad
 * elements (and reports the first).
 */
static int check_one(const struct feat_kern *k, int tA, int tB, int M, int N,
	int K, float alpha, float beta, int pad, int bias_kind, int relu)
{
	int lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad, ldc = N + pad;
	float *A = mat(tA ? K : M, tA ? M : K, lda);
	float *B = mat(tB ? N : K, tB ? K : N, ldb);
	size_t nc = (size_t)M * ldc;
	float *C = malloc(nc * sizeof(float)), *R = malloc(nc * sizeof(float));
	float *bias = NULL;
	double amax = 1, bmax = 1, cmax = beta != 0 ? 1 : 0, tol;
	int bad = 0;

	ck_assert_ptr_nonnull(C);
	ck_assert_ptr_nonnull(R);
	if (bias_kind != FEAT_BIAS_NONE) {
		int n = bias_kind == FEAT_BIAS_ROW ? M : N;

		bias = malloc((size_t)n * sizeof(float));
		ck_assert_ptr_nonnull(bias);
		for (int i = 0; i < n; i++)
			bias[i] = frand();
	}
	for (int i = 0; i < M; i++)
		for (int j = 0; j < ldc; j++)
			C[(size_t)i * ldc + j] = j >= N ? GUARD : beta == 0 ? NAN : frand();
	memcpy(R, C, nc * sizeof(float));

	struct feat_sgemm_args g = {
		.transA = tA, .transB = tB, .M = M, .N = N, .K = K,
		.alpha = alpha, .A = A, .lda = lda, .B = B, .ldb = ldb,
		.beta = beta, .C = C, .ldc = ldc,
		.bias = bias, .bias_kind = bias_kind, .relu = relu,
	};
	struct feat_sgemm_apack ap = { 0 };

	if (use_apack && !tA && k->id == FEAT_KERN_AVX512) {
		ck_assert_int_eq(feat_kern_pack_a(k, &ap, A, lda, M, K), 0);
		g.apack = &ap;
	}
	if (use_bpack && k->id == FEAT_KERN_AVX512) {
		ck_assert_int_eq(feat_kern_pack_b(k, &ap, B, ldb, tB, K, N), 0);
		g.bpack = &ap;
	}
	ck_assert_int_eq(feat_kern_sgemm(k, &g), 0);
	g.apack = NULL;
	g.bpack = NULL;
	feat_sgemm_apack_free(&ap);
	g.C = R;
	ck_assert_int_eq(feat_kern_sgemm(path(FEAT_KERN_REF), &g), 0);

	tol = 1e-5 * (K * fabs(alpha) * amax * bmax + fabs(beta) * cmax +
		(bias ? 1 : 0)) + 1e-7;
	for (int i = 0; i < M && !bad; i++) {
		for (int j = 0; j < ldc; j++) {
			float got = C[(size_t)i * ldc + j], want = R[(size_t)i * ldc + j];
			int ok = j >= N ? got == GUARD : fabs(got - want) <= tol;

			if (!ok && !bad++)
				fprintf(stderr, "# %s: tA=%d tB=%d M=%d N=%d K=%d alpha=%g "
					"beta=%g pad=%d bias=%d relu=%d: C[%d][%d] = %.9g, "
					"want %.9g (tol %.3g)\n", k->name, tA, tB, M, N, K,
					alpha, beta, pad, bias_kind, relu, i, j, got, want, tol);
		}
	}
	free(A);
	free(B);
	free(C);
	free(R);
	free(bias);
	return bad;
}

static int have(int id)
{
	if (path(id)->supported())
		return 1;
	fprintf(stderr, "# skip: this CPU cannot run the %s path\n", path(id)->name);
	return 0;
}

/* Every M and N in 1..40 against a few K, the four transposes in turn. */
static void edges(int id)
{
	static const int ks[] = { 1, 2, 17, 40 };
	int bad = 0, n = 0;

	if (!have(id))
		return;
	for (int M = 1; M <= 40; M++)
		for (int N = 1; N <= 40; N++)
			for (int ki = 0; ki < 4; ki++, n++)
				bad += check_one(path(id), n & 1, n >> 1 & 1, M, N, ks[ki],
					1.0f, n % 5 == 0 ? 1.0f : 0.0f, (n % 3) * 3,
					FEAT_BIAS_NONE, 0) != 0;
	for (int K = 1; K <= 40; K++, n++)
		bad += check_one(path(id), n & 1, n >> 1 & 1, 13, 35, K, 1.0f, 0.0f,
			0, FEAT_BIAS_NONE, 0) != 0;
	ck_assert_int_eq(bad, 0);
}

/* Shapes past every block size (mc 480, kc 384, nc 320), odd ones,
 * alpha/beta, padded leading dimensions. */
static void blocks(int id)
{
	static const struct { int M, N, K; } s[] = {
		{ 500, 333, 401 }, { 97, 651, 769 }, { 481, 45, 385 },
		{ 64, 1000, 27 }, { 13, 321, 1000 }, { 300, 8, 700 },
		{ 256, 9, 1152 }, { 1000, 3, 100 }, { 12, 32, 384 },
		{ 24, 64, 768 }, { 2, 2, 2 }, { 50, 5, 5000 }, { 200, 16, 33 },
		/* K > 1024 over several K blocks, with and without padding */
		{ 40, 96, 1500 }, { 40, 96, 1501 },
	};
	static const float ab[][2] = {
		{ 1, 0 }, { 1, 1 }, { -0.5f, 2 }, { 3, -1 },
	};
	int bad = 0;

	if (!have(id))
		return;
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		for (int t = 0; t < 4; t++)
			bad += check_one(path(id), t & 1, t >> 1, s[i].M, s[i].N, s[i].K,
				ab[(i + t) % 4][0], ab[(i + t) % 4][1], (int)(i % 2) * 5,
				FEAT_BIAS_NONE, 0) != 0;
	ck_assert_int_eq(bad, 0);
}

/* Bias per row and per column, ReLU, with and without beta, on the packed
 * route, the swapped small-N route and the GEMV. */
static void epilogue(int id)
{
	static const struct { int M, N, K; } s[] = {
		{ 37, 45, 29 }, { 500, 333, 401 }, { 300, 7, 70 }, { 129, 1, 77 },
		{ 1, 129, 77 }, { 1, 1, 5 }, { 64, 361, 576 },
	};
	int bad = 0;

	if (!have(id))
		return;
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		for (int v = 0; v < 8; v++)
			bad += check_one(path(id), v & 1, (v >> 1) & 1, s[i].M, s[i].N,
				s[i].K, 1.0f, v & 4 ? 0.5f : 0.0f, v & 1 ? 3 : 0,
				v & 2 ? FEAT_BIAS_COL : FEAT_BIAS_ROW, (v & 1) ^ (v >> 2)) != 0;
	ck_assert_int_eq(bad, 0);
}

/* Matrix-vector products: N == 1 and M == 1, all transposes, strides. */
static void gemv(int id)
{
	static const int rs[] = { 1, 2, 3, 4, 5, 15, 16, 17, 31, 33, 255, 256, 257, 600 };
	static const int ks[] = { 1, 3, 16, 31, 32, 33, 100, 1025 };
	int bad = 0, n = 0;

	if (!have(id))
		return;
	for (size_t r = 0; r < sizeof rs / sizeof rs[0]; r++)
		for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++, n++) {
			bad += check_one(path(id), n & 1, n >> 1 & 1, rs[r], 1, ks[k],
				n % 5 == 0 ? 2.0f : 1.0f, n % 3 == 0 ? -1.0f : 0.0f,
				n % 4, FEAT_BIAS_NONE, 0) != 0;
			bad += check_one(path(id), n >> 1 & 1, n & 1, 1, rs[r], ks[k],
				1.0f, n % 3 == 1 ? 0.25f : 0.0f, n % 3, FEAT_BIAS_NONE,
				0) != 0;
		}
	ck_assert_int_eq(bad, 0);
}

START_TEST(ref_by_hand)
{
	/* [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50] */
	float A[4] = { 1, 2, 3, 4 }, B[4] = { 5, 6, 7, 8 };
	float C[4] = { 1, 1, 1, 1 };
	float bias[2] = { 100, 200 };
	struct feat_sgemm_args g = {
		.M = 2, .N = 2, .K = 2, .alpha = 1, .A = A, .lda = 2, .B = B,
		.ldb = 2, .beta = 2, .C = C, .ldc = 2,
	};

	ck_assert_int_eq(feat_sgemm_ref(&g), 0);
	ck_assert_float_eq(C[0], 21);
	ck_assert_float_eq(C[1], 24);
	ck_assert_float_eq(C[2], 45);
	ck_assert_float_eq(C[3], 52);
	/* transposed A: [1 3; 2 4] * B = [26 30; 38 44], row bias, ReLU */
	g.transA = 1;
	g.beta = 0;
	g.alpha = -1;
	g.bias = bias;
	g.bias_kind = FEAT_BIAS_ROW;
	g.relu = 1;
	ck_assert_int_eq(feat_sgemm_ref(&g), 0);
	ck_assert_float_eq(C[0], 74);
	ck_assert_float_eq(C[1], 70);
	ck_assert_float_eq(C[2], 162);
	ck_assert_float_eq(C[3], 156);
	g.bias_kind = FEAT_BIAS_COL;
	g.alpha = -10;
	ck_assert_int_eq(feat_sgemm_ref(&g), 0);
	ck_assert_float_eq(C[0], 0);    /* 100 - 260 */
	ck_assert_float_eq(C[3], 0);    /* 200 - 440 */
}
END_TEST

START_TEST(avx512_edges) { edges(FEAT_KERN_AVX512); }

/* The same with A pre-packed: every edge, every block crossing, the
 * epilogue; and A packed under one blocking then run under another (the
 * packed A must carry its own). */
START_TEST(avx512_prepacked)
{
	/* NULL where the x86 path is not built (have() is then 0) */
	struct feat_kern_blocks *avx_blocks = path(FEAT_KERN_AVX512)->blocks;
	struct feat_kern_blocks save = avx_blocks ? *avx_blocks : (struct feat_kern_blocks){ 0 };
	int bad = 0;

	use_apack = 1;
	edges(FEAT_KERN_AVX512);
	blocks(FEAT_KERN_AVX512);
	epilogue(FEAT_KERN_AVX512);
	if (have(FEAT_KERN_AVX512)) {
		int M = 500, N = 333, K = 801;
		float *A = mat(M, K, K), *B = mat(K, N, N);
		float *C = malloc(sizeof(float) * M * N), *R = malloc(sizeof(float) * M * N);
		struct feat_sgemm_apack ap;
		struct feat_sgemm_args g = {
			.M = M, .N = N, .K = K, .alpha = 1, .A = A, .lda = K,
			.B = B, .ldb = N, .C = C, .ldc = N, .apack = &ap,
		};

		(*avx_blocks).mc = 96;
		(*avx_blocks).kc = 100;
		ck_assert_int_eq(feat_kern_pack_a(path(FEAT_KERN_AVX512), &ap, A, K, M, K), 0);
		(*avx_blocks) = save;
		ck_assert_int_eq(feat_kern_sgemm(path(FEAT_KERN_AVX512), &g), 0);
		g.C = R;
		g.apack = NULL;
		ck_assert_int_eq(feat_kern_sgemm(path(FEAT_KERN_REF), &g), 0);
		for (int i = 0; i < M * N; i++)
			bad += fabsf(C[i] - R[i]) > 1e-5f * K;
		feat_sgemm_apack_free(&ap);
		ck_assert_ptr_null(ap.p);
		free(A), free(B), free(C), free(R);
	}
	use_apack = 0;
	if (avx_blocks)
		*avx_blocks = save;
	ck_assert_int_eq(bad, 0);
}
END_TEST
END_TEST

/* The same with B pre-packed (an inner product's weights): every edge,
 * every block crossing, both storage orders of B; and B packed under one
 * blocking then run under another. */
START_TEST(avx512_prepacked_b)
{
	struct feat_kern_blocks *avx_blocks = path(FEAT_KERN_AVX512)->blocks;
	struct feat_kern_blocks save = avx_blocks ? *avx_blocks : (struct feat_kern_blocks){ 0 };
	int bad = 0;

	use_bpack = 1;
	edges(FEAT_KERN_AVX512);
	blocks(FEAT_KERN_AVX512);
	epilogue(FEAT_KERN_AVX512);
	if (have(FEAT_KERN_AVX512)) {
		int M = 197, N = 333, K = 801;
		float *A = mat(M, K, K), *B = mat(N, K, K);
		float *C = malloc(sizeof(float) * M * N), *R = malloc(sizeof(float) * M * N);
		struct feat_sgemm_apack bp;
		struct feat_sgemm_args g = {
			.transB = 1, .M = M, .N = N, .K = K, .alpha = 1, .A = A, .lda = K,
			.B = B, .ldb = K, .C = C, .ldc = N, .bpack = &bp,
		};

		(*avx_blocks).nc = 64;
		(*avx_blocks).kc = 100;
		ck_assert_int_eq(feat_kern_pack_b(path(FEAT_KERN_AVX512), &bp, B, K, 1, K, N), 0);
		(*avx_blocks) = save;
		ck_assert_int_eq(feat_kern_sgemm(path(FEAT_KERN_AVX512), &g), 0);
		g.C = R;
		g.bpack = NULL;
		ck_assert_int_eq(feat_kern_sgemm(path(FEAT_KERN_REF), &g), 0);
		for (int i = 0; i < M * N; i++)
			bad += fabsf(C[i] - R[i]) > 1e-5f * K;
		feat_sgemm_apack_free(&bp);
		free(A), free(B), free(C), free(R);
	}
	use_bpack = 0;
	if (avx_blocks)
		*avx_blocks = save;
	ck_assert_int_eq(bad, 0);
}
END_TEST
START_TEST(avx512_blocks) { blocks(FEAT_KERN_AVX512); }
END_TEST
START_TEST(avx512_epilogue) { epilogue(FEAT_KERN_AVX512); }
END_TEST
START_TEST(avx512_gemv) { gemv(FEAT_KERN_AVX512); }
END_TEST
START_TEST(blas_edges) { edges(FEAT_KERN_BLAS); }
END_TEST
START_TEST(blas_blocks) { blocks(FEAT_KERN_BLAS); }
END_TEST
START_TEST(blas_epilogue) { epilogue(FEAT_KERN_BLAS); }
END_TEST
START_TEST(blas_gemv) { gemv(FEAT_KERN_BLAS); }
END_TEST

/*
 * A product cut into pieces (a layer split across threads: columns, or
 * rows, each piece a call given whole_m and whole_n) gives C bit for bit
 * as one call does: on the AVX-512 path a piece must not take another
 * route than the whole (a last piece of <= 16 columns going the small-N
 * way, of 1 the GEMV's; pieces without the whole's packed B).  Shapes of
 * the layers that differed: a 1x1 convolution 88 -> 528 on 12x12 cut
 * into 32-column pieces, and an inner product of 8 outputs over 36 rows.
 */
static int pieces_one(int M, int N, int K, int cols, int rows, int pack)
{
	const struct feat_kern *k = path(FEAT_KERN_AVX512);
	float *A = mat(M, K, K), *B = mat(K, N, N), *bias = mat(1, pack == 2 ? N : M, 1);
	float *C = malloc(sizeof(float) * M * N), *P = malloc(sizeof(float) * M * N);
	struct feat_sgemm_apack ap = { 0 }, bp = { 0 };
	struct feat_sgemm_args g = {
		.M = M, .N = N, .K = K, .alpha = 1, .A = A, .lda = K, .B = B, .ldb = N,
		.C = C, .ldc = N, .bias = bias,
		.bias_kind = pack == 2 ? FEAT_BIAS_COL : FEAT_BIAS_ROW,
	};
	int bad = 0;

	ck_assert_ptr_nonnull(C);
	ck_assert_ptr_nonnull(P);
	if (pack == 1)
		ck_assert_int_eq(feat_kern_pack_a(k, &ap, A, K, M, K), 0);
	if (pack == 2)
		ck_assert_int_eq(feat_kern_pack_b(k, &bp, B, N, 0, K, N), 0);
	g.apack = pack == 1 ? &ap : NULL;
	g.bpack = pack == 2 ? &bp : NULL;
	ck_assert_int_eq(feat_kern_sgemm(k, &g), 0);
	for (int j0 = 0; cols && j0 < N; j0 += cols) {
		struct feat_sgemm_args h = g;

		h.N = N - j0 < cols ? N - j0 : cols;
		h.B = B + j0, h.C = P + j0;
		h.bias = pack == 2 ? bias + j0 : bias;
		h.bpack = NULL;
		h.whole_m = M, h.whole_n = N;
		ck_assert_int_eq(feat_kern_sgemm(k, &h), 0);
	}
	for (int i0 = 0; rows && i0 < M; i0 += rows) {
		struct feat_sgemm_args h = g;

		h.M = M - i0 < rows ? M - i0 : rows;
		h.A = A + (size_t)i0 * K, h.C = P + (size_t)i0 * N;
		h.bias = pack == 2 ? bias : bias + i0;
		h.apack = NULL;
		h.whole_m = M, h.whole_n = N;
		ck_assert_int_eq(feat_kern_sgemm(k, &h), 0);
	}
	if (memcmp(C, P, sizeof(float) * M * N)) {
		fprintf(stderr, "# %dx%dx%d cut by %d columns, %d rows (packed %d): C differs\n",
			M, N, K, cols, rows, pack);
		bad = 1;
	}
	feat_sgemm_apack_free(&ap);
	feat_sgemm_apack_free(&bp);
	free(A), free(B), free(bias), free(C), free(P);
	return bad;
}

START_TEST(avx512_pieces)
{
	static const int shapes[][6] = {
		/* M, N, K, columns a piece, rows a piece, 1: packed A, 2: packed B */
		{ 528, 144, 88, 32, 0, 1 }, { 96, 576, 32, 80, 0, 1 },
		{ 64, 145, 40, 16, 0, 1 }, { 64, 145, 40, 48, 0, 0 },
		{ 36, 8, 24, 16, 0, 2 }, { 200, 40, 64, 16, 0, 2 }, { 36, 8, 24, 3, 0, 2 },
		{ 64, 16, 50, 0, 16, 0 }, { 17, 12, 30, 0, 16, 0 }, { 70, 1, 100, 0, 16, 0 },
		{ 70, 1, 100, 0, 5, 0 }, { 1, 300, 77, 16, 0, 0 }, { 33, 40, 500, 7, 0, 0 },
	};
	int bad = 0;

	if (!have(FEAT_KERN_AVX512))
		return;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		bad += pieces_one(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3],
				  shapes[i][4], shapes[i][5]);
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* Larger random shapes on every path the CPU runs. */
START_TEST(random_shapes)
{
	int bad = 0;

	for (int id = FEAT_KERN_AVX512; id <= FEAT_KERN_BLAS; id++) {
		if (!have(id))
			continue;
		for (int i = 0; i < 40; i++) {
			int M = 1 + (int)((frand() + 1) * 150);
			int N = 1 + (int)((frand() + 1) * 200);
			int K = 1 + (int)((frand() + 1) * 250);

			bad += check_one(path(id), i & 1, i >> 1 & 1, M, N, K,
				frand() * 2, i % 3 ? frand() : 0.0f, i % 4,
				i % 3, i % 5 == 0) != 0;
		}
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* Degenerate sizes and argument errors, through the public entry. */
START_TEST(arguments)
{
	float A[6] = { 1, 2, 3, 4, 5, 6 }, B[6] = { 1, 1, 1, 1, 1, 1 };
	float C[4] = { NAN, NAN, NAN, NAN };

	ck_assert_int_eq(feat_sgemm(0, 0, -1, 2, 2, 1, A, 2, B, 2, 0, C, 2), FEAT_E_INVAL);
	ck_assert_int_eq(feat_sgemm(0, 0, 2, 2, 3, 1, A, 2, B, 2, 0, C, 2), FEAT_E_INVAL);
	ck_assert_int_eq(feat_sgemm(0, 0, 2, 2, 3, 1, A, 3, B, 1, 0, C, 2), FEAT_E_INVAL);
	ck_assert_int_eq(feat_sgemm(0, 0, 2, 2, 3, 1, A, 3, B, 2, 0, C, 1), FEAT_E_INVAL);
	ck_assert_int_eq(feat_sgemm(1, 0, 2, 2, 3, 1, A, 1, B, 2, 0, C, 2), FEAT_E_INVAL);
	ck_assert_int_eq(feat_sgemm(0, 0, 2, 2, 3, 1, NULL, 3, B, 2, 0, C, 2), FEAT_E_INVAL);
	ck_assert_int_eq(feat_sgemm(0, 0, 2, 2, 3, 1, A, 3, B, 2, 0, NULL, 2), FEAT_E_INVAL);
	/* M == 0: nothing happens, C is not touched */
	ck_assert_int_eq(feat_sgemm(0, 0, 0, 2, 3, 1, A, 3, B, 2, 0, NULL, 2), 0);
	/* K == 0: C = beta * C, and beta == 0 overwrites NaN */
	ck_assert_int_eq(feat_sgemm(0, 0, 2, 2, 0, 1, NULL, 1, NULL, 2, 0, C, 2), 0);
	ck_assert_float_eq(C[0], 0);
	ck_assert_float_eq(C[3], 0);
	C[1] = 4;
	ck_assert_int_eq(feat_sgemm(0, 0, 2, 2, 3, 0, A, 3, B, 2, 0.5f, C, 2), 0);
	ck_assert_float_eq(C[1], 2);
	/* the real thing: [1 2 3; 4 5 6] * ones(3,2) */
	ck_assert_int_eq(feat_sgemm(0, 0, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2), 0);
	ck_assert_float_eq(C[0], 6);
	ck_assert_float_eq(C[1], 6);
	ck_assert_float_eq(C[2], 15);
	ck_assert_float_eq(C[3], 15);
}
END_TEST

/* FEAT_KERNEL forces a path; a bad value is an error the caller sees,
 * and the computation still runs on the cpuid choice. */
START_TEST(dispatcher)
{
	const char *old = getenv("FEAT_KERNEL");
	char *saved = old ? strdup(old) : NULL;
	const char *auto_name;
	float A[1] = { 2 }, B[1] = { 3 }, C[1] = { 0 };

	ck_assert_int_eq(feat_kernel_select("auto"), 0);
	auto_name = feat_kernel_name();
	ck_assert_str_eq(auto_name, path(FEAT_KERN_AVX512)->supported() ?
		"avx512" : "blas");
	fprintf(stderr, "# cpuid chooses %s\n", auto_name);

	setenv("FEAT_KERNEL", "ref", 1);
	ck_assert_int_eq(feat_kernel_select(NULL), 0);
	ck_assert_str_eq(feat_kernel_name(), "ref");
	ck_assert_ptr_eq(feat_kern_active(), path(FEAT_KERN_REF));
	ck_assert_str_eq(feat_kernel_detail(), "");

	setenv("FEAT_KERNEL", "blas", 1);
	ck_assert_int_eq(feat_kernel_select(NULL), 0);
	ck_assert_str_eq(feat_kernel_name(), "blas");

	setenv("FEAT_KERNEL", "avx512", 1);
	if (path(FEAT_KERN_AVX512)->supported()) {
		ck_assert_int_eq(feat_kernel_select(NULL), 0);
		ck_assert_str_eq(feat_kernel_name(), "avx512");
	} else {
		ck_assert_int_eq(feat_kernel_select(NULL), FEAT_E_NOTFOUND);
		ck_assert_ptr_nonnull(strstr(feat_kernel_detail(), "avx512"));
		ck_assert_str_eq(feat_kernel_name(), auto_name);
	}

	setenv("FEAT_KERNEL", "cuda", 1);
	ck_assert_int_eq(feat_kernel_select(NULL), FEAT_E_INVAL);
	ck_assert_ptr_nonnull(strstr(feat_kernel_detail(), "FEAT_KERNEL=cuda"));
	ck_assert_str_eq(feat_kernel_name(), auto_name);
	ck_assert_int_eq(feat_kernel_init(), FEAT_E_INVAL);
	ck_assert_int_eq(feat_sgemm(0, 0, 1, 1, 1, 1, A, 1, B, 1, 0, C, 1), 0);
	ck_assert_float_eq(C[0], 6);

	ck_assert_int_eq(feat_kernel_select("ref"), 0);
	ck_assert_str_eq(feat_kernel_name(), "ref");
	ck_assert_int_eq(feat_kernel_select("nonsense"), FEAT_E_INVAL);

	if (saved)
		setenv("FEAT_KERNEL", saved, 1);
	else
		unsetenv("FEAT_KERNEL");
	free(saved);
	ck_assert_int_eq(feat_kernel_select(NULL), old && !feat_kern_lookup(old) &&
		*old && strcmp(old, "auto") ? FEAT_E_INVAL : feat_kernel_init());
	feat_kern_workspace_free();
}
END_TEST

/* Whatever FEAT_KERNEL the run was started with (the t/ scripts run the
 * unit tests under each), the public entry agrees with the reference. */
START_TEST(active_path)
{
	int bad = 0;

	fprintf(stderr, "# active path: %s\n", feat_kernel_name());
	for (int i = 0; i < 12; i++)
		bad += check_one(feat_kern_active(), i & 1, i >> 1 & 1, 3 + 17 * i,
			1 + 23 * i, 2 + 31 * i, 1.0f, i % 2 ? 0.5f : 0.0f, i % 3,
			FEAT_BIAS_NONE, 0) != 0;
	ck_assert_int_eq(bad, 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("gemm");
	TCase *tc = tcase_create("gemm");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, ref_by_hand);
	tcase_add_test(tc, arguments);
	tcase_add_test(tc, active_path);
	tcase_add_test(tc, dispatcher);
	tcase_add_test(tc, avx512_edges);
	tcase_add_test(tc, avx512_prepacked);
	tcase_add_test(tc, avx512_prepacked_b);
	tcase_add_test(tc, avx512_blocks);
	tcase_add_test(tc, avx512_epilogue);
	tcase_add_test(tc, avx512_gemv);
	tcase_add_test(tc, avx512_pieces);
	tcase_add_test(tc, blas_edges);
	tcase_add_test(tc, blas_blocks);
	tcase_add_test(tc, blas_epilogue);
	tcase_add_test(tc, blas_gemv);
	tcase_add_test(tc, random_shapes);
	suite_add_tcase(s, tc);
	return s;
}
