/*
 * test_nan.c - NaN in, NaN out, through every kernel family of every
 * table this CPU runs (ref, blas, avx512): a NaN planted in an input must
 * reach every output whose computation reads it, through ReLU, ReLU6 and
 * leaky ReLU and through max pooling, so that the engine's check for
 * non-finite outputs turns it into an error record instead of a plausible
 * wrong code (ReLU as max(v, 0) and max pooling as a compare both used to
 * turn NaN into a number).  Outputs that do not read it must stay finite
 * (the inputs and weights are finite and small).
 *
 * Expected values come from the definition of each operation (which
 * outputs read the input element), not from a run of the kernels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "kern/conv3.h"
#include "kern/convk.h"
#include "kern/dwconv.h"
#include "kern/kern.h"
#include "kern/nchwc.h"
#include "kern/winograd.h"
#include "unit.h"

static unsigned seed = 12345;

static float frand(void)
{
	seed = seed * 1103515245u + 12345u;
	return (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;   /* [-0.5, 0.5) */
}

static float *rnd(size_t n)
{
	float *p = feat_aligned_alloc((n ? n : 1) * sizeof(float));

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = frand();
	return p;
}

/* The tables to run: ref and blas always, avx512 where the CPU has it. */
static int ntables(const struct feat_kern *t[FEAT_KERN_COUNT])
{
	int n = 0;

	for (int id = 0; id < FEAT_KERN_COUNT; id++)
		if (feat_kern_get(id)->supported())
			t[n++] = feat_kern_get(id);
	return n;
}

/* Output o of a window of k taps at stride s after padding p reads input i. */
static int reads(int o, int s, int p, int k, int i)
{
	return o * s - p <= i && i <= o * s - p + k - 1;
}

/* ------------------------------------------------------------------ GEMM */

/* C = relu(A B + bias) with NaN at A[r][0]: row r of C all NaN, the other
 * rows finite; with NaN at B[0][c] instead, column c.  Shapes reach the
 * packed GEMM, the swapped one, the small-N one and both GEMVs. */
static void gemm_case(const struct feat_kern *k, int M, int N, int K, int in_b, int pack)
{
	float *A = rnd((size_t)M * K), *B = rnd((size_t)K * N), *bias = rnd(M);
	float *C = rnd((size_t)M * N);
	int r = M / 2, c = N / 2;
	struct feat_sgemm_apack ap = { 0 };
	struct feat_sgemm_args g = {
		.M = M, .N = N, .K = K, .alpha = 1, .beta = 0, .A = A, .lda = K, .B = B,
		.ldb = N, .C = C, .ldc = N, .bias = bias, .bias_kind = FEAT_BIAS_ROW, .relu = 1,
	};

	if (in_b)
		B[c] = NAN;
	else
		A[(size_t)r * K] = NAN;
	if (pack) {
		ck_assert_int_eq(feat_kern_pack_a(k, &ap, A, K, M, K), 0);
		g.apack = ap.p ? &ap : NULL;
	}
	ck_assert_int_eq(feat_kern_sgemm(k, &g), 0);
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			int want = in_b ? j == c : i == r;

			ck_assert_msg((isnan(C[(size_t)i * N + j]) != 0) == want,
				      "%s gemm %dx%dx%d NaN in %s, pack %d: C[%d][%d] = %g",
				      k->name, M, N, K, in_b ? "B" : "A", pack, i, j,
				      C[(size_t)i * N + j]);
		}
	feat_sgemm_apack_free(&ap);
	free(A), free(B), free(bias), free(C);
}

START_TEST(test_gemm)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	static const int shapes[][3] = {
		{ 37, 45, 29 }, { 100, 7, 64 }, { 64, 3, 20 }, { 33, 1, 50 }, { 1, 70, 40 },
		{ 5, 300, 260 },
	};

	for (int n = ntables(t), i = 0; i < n; i++)
		for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
			for (int in_b = 0; in_b < 2; in_b++) {
				gemm_case(t[i], shapes[s][0], shapes[s][1], shapes[s][2], in_b, 0);
				gemm_case(t[i], shapes[s][0], shapes[s][1], shapes[s][2], in_b, 1);
			}
}
END_TEST

/* ----------------------------------------------------------- activations */

START_TEST(test_act)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	float x[37];

	for (int n = ntables(t), i = 0; i < n; i++)
		for (int kind = 1; kind <= 3; kind++) {
			for (int j = 0; j < 37; j++)
				x[j] = j % 5 == 0 ? NAN : j % 2 ? -3.0f + j : 7.0f;
			t[i]->act(x, 37, kind, 0.1f);
			for (int j = 0; j < 37; j++)
				ck_assert_msg((isnan(x[j]) != 0) == (j % 5 == 0), "%s act %d at %d: %g",
					      t[i]->name, kind, j, x[j]);
		}
}
END_TEST

/* --------------------------------------------- the first layer's 3x3 conv */

START_TEST(test_conv3)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	enum { CIN = 3, H = 11, W = 21, COUT = 20 };

	for (int n = ntables(t), i = 0; i < n; i++)
		for (int s = 1; s <= 2; s++)
			for (int act = 1; act <= 3; act++) {
				int hout = (H - 1) / s + 1, wout = (W - 1) / s + 1;
				float *x = rnd(CIN * H * W), *w = rnd(COUT * CIN * 9), *b = rnd(COUT);
				float *wp = feat_aligned_alloc(feat_conv3_pack_floats(COUT, CIN) *
							       sizeof(float));
				float *y = rnd((size_t)COUT * hout * wout);
				int cy = 5, cx = 9;
				struct feat_conv3_args a = {
					.x = x, .cin = CIN, .hin = H, .win = W, .w = w, .wp = wp,
					.bias = b, .cout = COUT, .s = s, .y = y, .hout = hout,
					.wout = wout, .act = act, .alpha = 0.1f,
				};

				ck_assert_ptr_nonnull(wp);
				feat_conv3_pack(wp, w, COUT, CIN);
				x[(size_t)1 * H * W + cy * W + cx] = NAN;
				t[i]->conv3(&a);
				for (int o = 0; o < COUT; o++)
					for (int oy = 0; oy < hout; oy++)
						for (int ox = 0; ox < wout; ox++) {
							float v = y[((size_t)o * hout + oy) * wout + ox];
							int want = reads(oy, s, 1, 3, cy) &&
								   reads(ox, s, 1, 3, cx);

							ck_assert_msg((isnan(v) != 0) == want,
								      "%s conv3 s%d act%d y[%d][%d][%d] = %g",
								      t[i]->name, s, act, o, oy, ox, v);
						}
				free(x), free(w), free(b), free(wp), free(y);
			}
}
END_TEST

/* ------------------------------------- the first layer's k x k conv */

START_TEST(test_convk)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	enum { CIN = 3, H = 13, W = 23, COUT = 20, K = 7, P = 3 };

	for (int n = ntables(t), i = 0; i < n; i++)
		for (int s = 1; s <= 2; s++)
			for (int act = 1; act <= 3; act++) {
				int hout = (H + 2 * P - K) / s + 1, wout = (W + 2 * P - K) / s + 1;
				float *x = rnd(CIN * H * W), *w = rnd(COUT * CIN * K * K), *b = rnd(COUT);
				float *wp = feat_aligned_alloc(feat_convk_pack_floats(COUT, CIN, K) *
							       sizeof(float));
				float *work = feat_aligned_alloc(feat_convk_work(CIN, K, s, wout) *
								 sizeof(float));
				float *y = rnd((size_t)COUT * hout * wout);
				int cy = 6, cx = 17;
				struct feat_convk_args a = {
					.x = x, .cin = CIN, .hin = H, .win = W, .w = w, .wp = wp,
					.bias = b, .cout = COUT, .k = K, .s = s, .pt = P, .pl = P, .y = y,
					.hout = hout, .wout = wout, .act = act, .alpha = 0.1f, .oy0 = 0,
					.oy1 = hout, .work = work,
				};

				ck_assert(wp && work);
				feat_convk_pack(wp, w, COUT, CIN, K);
				x[(size_t)2 * H * W + cy * W + cx] = NAN;
				t[i]->convk(&a);
				for (int o = 0; o < COUT; o++)
					for (int oy = 0; oy < hout; oy++)
						for (int ox = 0; ox < wout; ox++) {
							float v = y[((size_t)o * hout + oy) * wout + ox];
							int want = reads(oy, s, P, K, cy) &&
								   reads(ox, s, P, K, cx);

							ck_assert_msg((isnan(v) != 0) == want,
								      "%s convk s%d act%d y[%d][%d][%d] = %g",
								      t[i]->name, s, act, o, oy, ox, v);
						}
				free(x), free(w), free(b), free(wp), free(work), free(y);
			}
}
END_TEST

/* ------------------------------------------------------------- depthwise */

START_TEST(test_dwconv)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	enum { C = 20, H = 13, W = 19 };

	for (int n = ntables(t), i = 0; i < n; i++)
		for (int s = 1; s <= 2; s++) {
			int hout = (H + 2 - 3) / s + 1, wout = (W + 2 - 3) / s + 1;
			float *x = rnd(C * H * W), *w = rnd(C * 9), *b = rnd(C);
			float *y = rnd((size_t)C * hout * wout), *work;
			int cc = 7, cy = 6, cx = 10;
			struct feat_dw_args a = {
				.x = x, .c = C, .hin = H, .win = W, .w = w, .bias = b, .kh = 3, .kw = 3,
				.sh = s, .sw = s, .pt = 1, .pl = 1, .dh = 1, .dw = 1, .y = y,
				.hout = hout, .wout = wout, .act = 1,
			};

			work = feat_aligned_alloc(feat_dwconv_work(&a) * sizeof(float));
			ck_assert_ptr_nonnull(work);
			a.work = work;
			x[((size_t)cc * H + cy) * W + cx] = NAN;
			t[i]->dwconv(&a);
			for (int c = 0; c < C; c++)
				for (int oy = 0; oy < hout; oy++)
					for (int ox = 0; ox < wout; ox++) {
						float v = y[((size_t)c * hout + oy) * wout + ox];
						int want = c == cc && reads(oy, s, 1, 3, cy) &&
							   reads(ox, s, 1, 3, cx);

						ck_assert_msg((isnan(v) != 0) == want,
							      "%s dwconv s%d y[%d][%d][%d] = %g",
							      t[i]->name, s, c, oy, ox, v);
					}
			free(x), free(w), free(b), free(y), free(work);
		}
}
END_TEST

/* -------------------------------------------------------------- Winograd */

/* A NaN input spreads over the whole 4x4 output tile it is read for (the
 * transforms mix a tile's values), so only the outputs whose window reads
 * it are required to be NaN, and those of tiles that do not read it
 * finite. */
START_TEST(test_winograd)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	enum { CIN = 16, COUT = 24, H = 14, W = 18 };

	for (int n = ntables(t), i = 0; i < n; i++) {
		const struct feat_kern *k = t[i];
		float *x = rnd(CIN * H * W), *w = rnd(COUT * CIN * 9), *b = rnd(COUT);
		float *u = rnd((size_t)36 * COUT * CIN);
		float *up = feat_aligned_alloc(k->wino_u_floats(COUT, CIN) * sizeof(float));
		float *y = rnd((size_t)COUT * H * W), *work;
		int cy = 6, cx = 9;
		struct feat_wino_args a = {
			.x = x, .cin = CIN, .hin = H, .win = W, .pt = 1, .pl = 1, .y = y,
			.cout = COUT, .hout = H, .wout = W, .bias = b, .act = 1, .k = k,
		};

		ck_assert_ptr_nonnull(up);
		feat_wino_weights(w, COUT, CIN, u);
		k->wino_u_pack(u, COUT, CIN, up);
		a.u = a.up = up;
		a.block = feat_wino_block(CIN, COUT, H, W);
		work = feat_aligned_alloc(feat_wino_work(CIN, COUT, a.block) * sizeof(float));
		ck_assert_ptr_nonnull(work);
		a.work = work;
		x[((size_t)3 * H + cy) * W + cx] = NAN;
		ck_assert_int_eq(feat_wino_run(&a, NULL, 1), 0);
		for (int o = 0; o < COUT; o++)
			for (int oy = 0; oy < H; oy++)
				for (int ox = 0; ox < W; ox++) {
					float v = y[((size_t)o * H + oy) * W + ox];
					int tile_reads = reads(oy / 4, 4, 1, 6, cy) &&
							 reads(ox / 4, 4, 1, 6, cx);

					if (reads(oy, 1, 1, 3, cy) && reads(ox, 1, 1, 3, cx))
						ck_assert_msg(isnan(v), "%s winograd y[%d][%d][%d] = %g",
							      k->name, o, oy, ox, v);
					else if (!tile_reads)
						ck_assert_msg(!isnan(v), "%s winograd y[%d][%d][%d] = NaN",
							      k->name, o, oy, ox);
				}
		free(x), free(w), free(b), free(u), free(up), free(y), free(work);
	}
}
END_TEST

/* ---------------------------------------------------------------- NCHW16c */

/* plain [c][hw] -> blocked through the table, NaN kept */
static float *blocked(const struct feat_kern *k, const float *x, int c, size_t hw)
{
	float *y = feat_aligned_alloc((size_t)(c + 15) / 16 * 16 * hw * sizeof(float));

	ck_assert_ptr_nonnull(y);
	k->nchwc_from(x, c, hw, y);
	return y;
}

START_TEST(test_nchwc)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	enum { H = 9, W = 13, C = 32, COUT = 48 };
	const size_t hw = (size_t)H * W;

	for (int n = ntables(t), i = 0; i < n; i++) {
		const struct feat_kern *k = t[i];
		int cc = 19, cy = 4, cx = 7;
		float *x = rnd(C * hw), *xb, *back = rnd(C * hw);

		/* the layout changes */
		x[cc * hw + cy * W + cx] = NAN;
		xb = blocked(k, x, C, hw);
		k->nchwc_to(xb, C, hw, back);
		for (size_t j = 0; j < C * hw; j++)
			ck_assert_msg((isnan(back[j]) != 0) == (j == cc * hw + cy * W + cx),
				      "%s nchwc round trip at %zu", k->name, j);

		/* pointwise: every output channel at the pixel */
		{
			float *w = rnd(COUT * C), *b = rnd(COUT);
			float *wp = feat_aligned_alloc(feat_convc_pack_floats(COUT, C, 1, 1) *
						       sizeof(float));
			float *y = rnd((size_t)COUT * hw);
			struct feat_convc_args a = {
				.xp = xb, .cin = C, .hp = H, .wp = W, .cout = COUT, .kh = 1, .kw = 1,
				.sh = 1, .sw = 1, .dh = 1, .dw = 1, .y = y, .hout = H, .wout = W,
				.act = 2, .g0 = 0, .g1 = feat_convc_groups(COUT), .p0 = 0,
				.p1 = (long)hw,
			};

			ck_assert_ptr_nonnull(wp);
			feat_convc_pack(wp, w, b, COUT, C, 1, 1);
			a.w = wp;
			a.bias = feat_convc_bias(wp, COUT, C, 1, 1);
			k->convc(&a);
			for (int o = 0; o < COUT; o++)
				for (size_t p = 0; p < hw; p++) {
					float v = y[((size_t)(o / 16) * hw + p) * 16 + o % 16];

					ck_assert_msg((isnan(v) != 0) == (p == (size_t)cy * W + cx),
						      "%s convc o%d p%zu = %g", k->name, o, p, v);
				}
			free(w), free(b), free(wp), free(y);
		}
		/* depthwise 3x3 and 5x5: the channel's outputs that read the pixel */
		for (int var = 0; var < 4; var++) {
			int kk = var < 2 ? 3 : 5, st = var % 2 + 1, pp = kk / 2;
			int hout = (H + 2 * pp - kk) / st + 1, wout = (W + 2 * pp - kk) / st + 1;
			float *w = rnd(C * kk * kk), *b = rnd(C);
			float *wp = feat_aligned_alloc(C * kk * kk * sizeof(float));
			float *y = rnd((size_t)C * hout * wout);
			struct feat_dwc_args a = {
				.x = xb, .c = C, .hin = H, .win = W, .wp = wp, .bias = b, .k = kk,
				.s = st, .pt = pp, .pl = pp, .y = y, .hout = hout, .wout = wout, .act = 1,
				.b0 = 0, .b1 = C / 16,
			};

			ck_assert_ptr_nonnull(wp);
			feat_dwc_pack(wp, w, C, kk);
			k->dwc(&a);
			for (int c = 0; c < C; c++)
				for (int oy = 0; oy < hout; oy++)
					for (int ox = 0; ox < wout; ox++) {
						float v = y[(((size_t)(c / 16) * hout + oy) * wout + ox) *
							    16 + c % 16];
						int want = c == cc && reads(oy, st, pp, kk, cy) &&
							   reads(ox, st, pp, kk, cx);

						ck_assert_msg((isnan(v) != 0) == want,
							      "%s dwc k%d s%d y[%d][%d][%d] = %g",
							      k->name, kk, st, c, oy, ox, v);
					}
			free(w), free(b), free(wp), free(y);
		}
		/* the first layer into NCHW16c */
		{
			enum { CIN = 3, CO = 32 };
			float *x3 = rnd(CIN * hw), *w = rnd(CO * CIN * 9), *b = rnd(CO);
			float *wp = feat_aligned_alloc(feat_conv3_pack_floats(CO, CIN) * sizeof(float));
			float *y = rnd((size_t)CO * hw);
			struct feat_conv3c_args a = {
				.c = { .x = x3, .cin = CIN, .hin = H, .win = W, .w = w, .wp = wp,
				       .bias = b, .cout = CO, .s = 1, .y = y, .hout = H, .wout = W,
				       .act = 1 },
				.oy0 = 0, .oy1 = H,
			};

			ck_assert_ptr_nonnull(wp);
			feat_conv3_pack(wp, w, CO, CIN);
			x3[2 * hw + cy * W + cx] = NAN;
			k->conv3c(&a);
			for (int o = 0; o < CO; o++)
				for (int oy = 0; oy < H; oy++)
					for (int ox = 0; ox < W; ox++) {
						float v = y[(((size_t)(o / 16) * H + oy) * W + ox) * 16 +
							    o % 16];
						int want = reads(oy, 1, 1, 3, cy) && reads(ox, 1, 1, 3, cx);

						ck_assert_msg((isnan(v) != 0) == want,
							      "%s conv3c y[%d][%d][%d] = %g", k->name, o,
							      oy, ox, v);
					}
			free(x3), free(w), free(b), free(wp), free(y);
		}
		free(x), free(xb), free(back);
	}
}
END_TEST

/* ----------------------------------------------------------- max pooling */

START_TEST(test_maxpool)
{
	const struct feat_kern *t[FEAT_KERN_COUNT];
	/* 41 columns: 20 whole windows (16 in a vector, 4 one by one) and a
	 * half one; 7 rows: a half window at the bottom */
	enum { H = 7, W = 41, HO = 4, WO = 21 };
	static const int at[][2] = { { 0, 0 }, { 1, 5 }, { 2, 17 }, { 3, 30 }, { 4, 33 },
				     { 5, 38 }, { 6, 40 }, { 6, 3 }, { 0, 31 } };

	for (int n = ntables(t), i = 0; i < n; i++)
		for (size_t z = 0; z < sizeof at / sizeof at[0]; z++) {
			float *x = rnd(H * W), y[HO * WO];

			/* values below zero everywhere, so that a NaN turned into
			 * anything (0, the other operand) shows */
			for (int j = 0; j < H * W; j++)
				x[j] = x[j] - 1.0f;
			x[at[z][0] * W + at[z][1]] = NAN;
			t[i]->maxpool2x2(x, H, W, y, HO, WO);
			for (int oy = 0; oy < HO; oy++)
				for (int ox = 0; ox < WO; ox++) {
					int want = oy == at[z][0] / 2 && ox == at[z][1] / 2;

					ck_assert_msg((isnan(y[oy * WO + ox]) != 0) == want,
						      "%s maxpool NaN at %d,%d: y[%d][%d] = %g",
						      t[i]->name, at[z][0], at[z][1], oy, ox,
						      y[oy * WO + ox]);
				}
			free(x);
		}
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("nan");
	TCase *tc = tcase_create("nan");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_gemm);
	tcase_add_test(tc, test_act);
	tcase_add_test(tc, test_conv3);
	tcase_add_test(tc, test_convk);
	tcase_add_test(tc, test_dwconv);
	tcase_add_test(tc, test_winograd);
	tcase_add_test(tc, test_nchwc);
	tcase_add_test(tc, test_maxpool);
	suite_add_tcase(s, tc);
	return s;
}
