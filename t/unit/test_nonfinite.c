/*
 * test_nonfinite.c - NaN and infinity in the engine: the scan that finds
 * them (feat_f32_nonfinite), a model whose weights hold one refused when
 * the net is built (naming the layer and the tensor), softmax over rows
 * holding NaN or infinities (NaN out, no undefined conversion to int), NaN
 * through ReLU and max pooling (NaN out), and
 * convolutions with padding on every side through im2col, which must not
 * form an address above the image for the padding rows (make asan runs
 * this file under UBSan's pointer-overflow check).
 *
 * Nets are built in memory: feat_model_builder, encode, parse, build.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kern.h"
#include "nn/net.h"
#include "unit.h"

/* --------------------------------------------------------------- the scan */

START_TEST(test_scan)
{
	enum { N = 1000 };
	float *x = malloc(N * sizeof *x);
	static const size_t at[] = { 0, 1, 255, 256, 257, 511, 512, 999 };
	const float bad[] = { NAN, -NAN, INFINITY, -INFINITY };

	ck_assert_ptr_nonnull(x);
	for (int i = 0; i < N; i++)
		x[i] = i % 3 ? FLT_MAX : i % 2 ? -FLT_MIN / 4 : 0.0f;
	ck_assert_uint_eq(feat_f32_nonfinite(x, N), N);
	ck_assert_uint_eq(feat_f32_nonfinite(x, 0), 0);
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
		for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
			float keep = x[at[i]];

			x[at[i]] = bad[j];
			ck_assert_uint_eq(feat_f32_nonfinite(x, N), at[i]);
			/* the first counts; none in the part before it */
			if (at[i] < N - 1) {
				x[N - 1] = NAN;
				ck_assert_uint_eq(feat_f32_nonfinite(x, N), at[i]);
				x[N - 1] = FLT_MAX;
			}
			ck_assert_uint_eq(feat_f32_nonfinite(x, at[i]), at[i]);
			x[at[i]] = keep;
		}
	ck_assert_uint_eq(feat_f32_nonfinite(x, N), N);
	free(x);
}
END_TEST

/* ------------------------------------------------------- nets in memory */

static const char *const data[] = { "data" }, *const out[] = { "out" };

static feat_model_builder *start(int64_t c, int64_t h, int64_t w)
{
	feat_model_builder *b = feat_model_builder_new();
	const int64_t shape[3] = { c, h, w };

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(feat_mb_meta(b, "graph.inputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = data }), 0);
	ck_assert_int_eq(feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = out }), 0);
	ck_assert_int_eq(feat_mb_meta(b, "input.shape", &(struct feat_value){ .type = FEAT_V_INTS, .n = 3, .u.ints = shape }), 0);
	return b;
}

/* Build the net of b (freed); 0 or the error, detail filled.  *buf is
 * the file, to be freed after the net. */
static int build(feat_model_builder *b, struct feat_net **n, unsigned char **buf,
	char *why, size_t whylen)
{
	struct feat_model m;
	size_t len;
	int e;

	ck_assert_int_eq(feat_mb_encode(b, buf, &len), 0);
	feat_model_builder_free(b);
	ck_assert_int_eq(feat_model_parse(&m, *buf, len, why, whylen), 0);
	e = feat_net_build(n, &m, why, whylen);
	ck_assert(e || *n);
	return e;
}

/* conv data -> out with the given weights and parameters. */
static feat_model_builder *conv_model(int cin, int hin, int win, int cout, int kh, int kw,
	const float *w, const float *bias, int np, const struct feat_kv *p)
{
	feat_model_builder *b = start(cin, hin, win);
	uint32_t wd[4] = { (uint32_t)cout, (uint32_t)cin, (uint32_t)kh, (uint32_t)kw };
	uint32_t bd[1] = { (uint32_t)cout }, widx[2];

	widx[0] = (uint32_t)feat_mb_tensor(b, "c.weight", FEAT_DT_F32, 4, wd, w);
	widx[1] = (uint32_t)feat_mb_tensor(b, "c.bias", FEAT_DT_F32, 1, bd, bias);
	ck_assert_int_eq(feat_mb_layer(b, "conv", "c", 1, data, 1, out, (uint32_t)np, p, 2, widx), 0);
	return b;
}

START_TEST(test_weights_refused)
{
	static const int64_t k[2] = { 1, 1 };
	const struct feat_kv p[1] = { { "kernel", { .type = FEAT_V_INTS, .n = 2, .u.ints = k } } };
	float w[6] = { 1, 2, 3, 4, 5, 6 }, bias[2] = { 0, 0 };
	const float bad[] = { NAN, INFINITY, -INFINITY };
	const char *name[] = { "NaN", "inf", "-inf" };
	struct feat_net *n;
	unsigned char *buf;
	char detail[512], want[256];

	/* finite, even at the ends of the range: built */
	w[0] = FLT_MAX, w[1] = -FLT_MAX, w[2] = FLT_MIN / 8;
	ck_assert_int_eq(build(conv_model(3, 2, 2, 2, 1, 1, w, bias, 1, p), &n, &buf,
			       detail, sizeof detail), 0);
	feat_net_free(n);
	free(buf);
	for (int i = 0; i < 3; i++) {
		w[4] = bad[i];
		ck_assert_int_eq(build(conv_model(3, 2, 2, 2, 1, 1, w, bias, 1, p), &n, &buf,
				       detail, sizeof detail), FEAT_E_RANGE);
		ck_assert_ptr_null(n);
		snprintf(want, sizeof want, "layer 0 'c': weight 0 'c.weight' holds %s at element 4 of 6; a model's weights must be finite",
			 name[i]);
		ck_assert_str_eq(detail, want);
		free(buf);
	}
	w[4] = 5;
	bias[1] = NAN;
	ck_assert_int_eq(build(conv_model(3, 2, 2, 2, 1, 1, w, bias, 1, p), &n, &buf,
			       detail, sizeof detail), FEAT_E_RANGE);
	ck_assert_str_eq(detail, "layer 0 'c': weight 1 'c.bias' holds NaN at element 1 of 2; a model's weights must be finite");
	free(buf);
}
END_TEST

/* ------------------------------------------------------------- softmax */

START_TEST(test_softmax_nan)
{
	feat_model_builder *b = start(4, 1, 3);
	struct feat_net *n;
	unsigned char *buf;
	char detail[512];
	float *x, *y;

	ck_assert_int_eq(feat_mb_layer(b, "softmax", "s", 1, data, 1, out, 0, NULL, 0, NULL), 0);
	ck_assert_int_eq(build(b, &n, &buf, detail, sizeof detail), 0);
	ck_assert_int_eq(feat_net_reserve(n, 2), 0);
	x = feat_net_data(n, n->input[0]);
	/* [c][w] per image: image 0 column 0 holds a NaN, column 1 a -inf
	 * (weight 0 of the row), column 2 a +inf (inf - inf: NaN); image 1
	 * is plain */
	const float in[12] = {
		1, -INFINITY, INFINITY,
		NAN, 0, 0,
		2, 0, 0,
		3, 0, 0,
	};
	memcpy(x, in, sizeof in);
	for (int i = 0; i < 12; i++)
		x[12 + i] = (float)(i % 3);
	ck_assert_int_eq(feat_net_forward(n, 2), 0);
	y = feat_net_data(n, n->output[0]);
	for (int c = 0; c < 4; c++) {
		ck_assert_msg(isnan(y[c * 3]), "column with a NaN: %g", y[c * 3]);
		ck_assert_msg(isnan(y[c * 3 + 2]), "column with +inf: %g", y[c * 3 + 2]);
		ck_assert_msg(unit_close(y[c * 3 + 1], c ? 1 / 3.0 : 0, 1e-6, 1e-6),
			      "column with -inf: %g", y[c * 3 + 1]);
		for (int w = 0; w < 3; w++)
			ck_assert(unit_close(y[12 + c * 3 + w], 0.25, 1e-6, 0));
	}
	feat_net_free(n);
	free(buf);
}
END_TEST

/* -------------------------------------------------- ReLU and max pooling */

/*
 * A NaN in the input of ReLU then max pooling comes out NaN in every
 * pooled output whose window holds it, under each kernel path: 2x2 at
 * stride 2 (the table's maxpool2x2 where routed, with a half window at
 * the edge) and 3x3 at stride 1 (the general loop).  The other inputs are
 * negative, so that a NaN turned into 0 or into a neighbour shows.
 */
static void run_relu_pool(const char *kernel, int k, int s)
{
	static const char *const mid[] = { "mid" };
	enum { C = 3, H = 9, W = 37 };
	int64_t kk[2] = { k, k }, ss[2] = { s, s }, ceil = 1;
	const struct feat_kv p[3] = {
		{ "kernel", { .type = FEAT_V_INTS, .n = 2, .u.ints = kk } },
		{ "stride", { .type = FEAT_V_INTS, .n = 2, .u.ints = ss } },
		{ "ceil", { .type = FEAT_V_INT, .n = 1, .u.i = ceil } },
	};
	feat_model_builder *b = start(C, H, W);
	int hout = (H - k + s - 1) / s + 1, wout = (W - k + s - 1) / s + 1, cy = 8, cx = 36;
	struct feat_net *n;
	unsigned char *buf;
	char detail[512];
	float *x, *y;

	ck_assert_int_eq(feat_kernel_select(kernel), 0);
	ck_assert_int_eq(feat_mb_layer(b, "relu", "r", 1, data, 1, mid, 0, NULL, 0, NULL), 0);
	ck_assert_int_eq(feat_mb_layer(b, "pool", "p", 1, mid, 1, out, 3, p, 0, NULL), 0);
	ck_assert_int_eq(build(b, &n, &buf, detail, sizeof detail), 0);
	ck_assert_int_eq(n->blob[n->output[0]].dims[2], hout);
	ck_assert_int_eq(n->blob[n->output[0]].dims[3], wout);
	ck_assert_int_eq(feat_net_reserve(n, 1), 0);
	x = feat_net_data(n, n->input[0]);
	for (int i = 0; i < C * H * W; i++)
		x[i] = -1.0f - (float)(i % 7);
	x[(1 * H + cy) * W + cx] = NAN;
	x[(2 * H + 3) * W + 5] = NAN;
	ck_assert_int_eq(feat_net_forward(n, 1), 0);
	y = feat_net_data(n, n->output[0]);
	for (int c = 0; c < C; c++)
		for (int oy = 0; oy < hout; oy++)
			for (int ox = 0; ox < wout; ox++) {
				int iy = c == 1 ? cy : 3, ix = c == 1 ? cx : 5;
				int want = c > 0 && oy * s <= iy && iy < oy * s + k && ox * s <= ix &&
					   ix < ox * s + k;
				float v = y[(c * hout + oy) * wout + ox];

				ck_assert_msg((isnan(v) != 0) == want, "%s pool %dx%d/%d: y[%d][%d][%d] = %g",
					      kernel, k, k, s, c, oy, ox, v);
				ck_assert_msg(want || v == 0.0f, "%s: relu output %g", kernel, v);
			}
	feat_net_free(n);
	free(buf);
}

START_TEST(test_relu_pool_nan)
{
	const char *kernels[] = { "ref", "blas", "avx512" };

	for (size_t k = 0; k < 3; k++) {
		if (k == 2 && !feat_kern_cpu_avx512())
			continue;
		run_relu_pool(kernels[k], 2, 2);
		run_relu_pool(kernels[k], 3, 1);
	}
	ck_assert_int_eq(feat_kernel_select(NULL), 0);
}
END_TEST

/* ---------------------------------------------- convolution with padding */

/* The same convolution in double, directly. */
static void conv_direct(const float *x, int cin, int hin, int win, const float *w,
	const float *bias, int cout, int kh, int kw, int sh, int sw, int dh, int dw,
	int pt, int pl, int hout, int wout, float *y)
{
	for (int o = 0; o < cout; o++)
		for (int oy = 0; oy < hout; oy++)
			for (int ox = 0; ox < wout; ox++) {
				double s = bias[o];

				for (int i = 0; i < cin; i++)
					for (int ky = 0; ky < kh; ky++)
						for (int kx = 0; kx < kw; kx++) {
							int iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;

							if (iy >= 0 && iy < hin && ix >= 0 && ix < win)
								s += (double)w[((o * cin + i) * kh + ky) * kw + kx] *
								     x[(i * hin + iy) * win + ix];
						}
				y[(o * hout + oy) * wout + ox] = (float)s;
			}
}

struct convcase {
	int cin, hin, win, cout, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

static void run_conv(const struct convcase *c, const char *kernel, int threads)
{
	int64_t k[2] = { c->kh, c->kw }, s[2] = { c->sh, c->sw }, d[2] = { c->dh, c->dw };
	int64_t pad[4] = { c->pt, c->pl, c->pb, c->pr };
	const struct feat_kv p[4] = {
		{ "kernel", { .type = FEAT_V_INTS, .n = 2, .u.ints = k } },
		{ "stride", { .type = FEAT_V_INTS, .n = 2, .u.ints = s } },
		{ "dilation", { .type = FEAT_V_INTS, .n = 2, .u.ints = d } },
		{ "pad", { .type = FEAT_V_INTS, .n = 4, .u.ints = pad } },
	};
	int hout = (c->hin + c->pt + c->pb - (c->dh * (c->kh - 1) + 1)) / c->sh + 1;
	int wout = (c->win + c->pl + c->pr - (c->dw * (c->kw - 1) + 1)) / c->sw + 1;
	size_t nx = (size_t)c->cin * c->hin * c->win, ny = (size_t)c->cout * hout * wout;
	size_t nw = (size_t)c->cout * c->cin * c->kh * c->kw;
	float *w = malloc(nw * sizeof *w), *bias = malloc((size_t)c->cout * sizeof *bias);
	float *want = malloc(2 * ny * sizeof *want), *x, *y;
	struct feat_net *n;
	unsigned char *buf;
	char detail[512];

	ck_assert(w && bias && want);
	for (size_t i = 0; i < nw; i++)
		w[i] = (float)((int)(i * 7 % 13) - 6) / 8;
	for (int i = 0; i < c->cout; i++)
		bias[i] = (float)i / 4 - 0.5f;
	ck_assert_int_eq(feat_kernel_select(kernel), 0);
	ck_assert_int_eq(build(conv_model(c->cin, c->hin, c->win, c->cout, c->kh, c->kw, w, bias,
					  4, p), &n, &buf, detail, sizeof detail), 0);
	ck_assert_int_eq(n->blob[n->output[0]].dims[2], hout);
	ck_assert_int_eq(n->blob[n->output[0]].dims[3], wout);
	ck_assert_int_eq(feat_net_reserve(n, 2), 0);
	if (threads > 1) {
		ck_assert_int_eq(feat_net_set_threads(n, threads), 0);
		n->par_min = 0;
	}
	x = feat_net_data(n, n->input[0]);
	for (size_t i = 0; i < 2 * nx; i++)
		x[i] = (float)((int)(i * 5 % 11) - 5) / 4;
	for (int b = 0; b < 2; b++)
		conv_direct(x + b * nx, c->cin, c->hin, c->win, w, bias, c->cout, c->kh, c->kw,
			    c->sh, c->sw, c->dh, c->dw, c->pt, c->pl, hout, wout, want + b * ny);
	ck_assert_int_eq(feat_net_forward(n, 2), 0);
	y = feat_net_data(n, n->output[0]);
	for (size_t i = 0; i < 2 * ny; i++)
		ck_assert_msg(unit_close(y[i], want[i], 1e-5, 1e-5),
			      "%s, %d threads: output %zu is %g, want %g", kernel, threads, i,
			      y[i], want[i]);
	feat_net_free(n);
	free(buf);
	free(w);
	free(bias);
	free(want);
}

/*
 * Padding on every side, wider than the kernel's reach on some, with
 * strides and dilations that keep the convolution off the special
 * kernels (first-layer 3x3, depthwise, Winograd, pointwise), so that it
 * goes through im2col under blas and avx512 (and, with threads, through
 * the split im2col); under ref with one thread it is the direct loop.
 */
START_TEST(test_conv_padding)
{
	static const struct convcase cases[] = {
		{ 5, 7, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },
		{ 6, 5, 6, 3, 2, 3, 1, 1, 2, 2, 2, 1, 0, 3 },
		{ 5, 4, 4, 17, 5, 5, 1, 2, 1, 1, 4, 4, 4, 4 },
		{ 7, 3, 20, 5, 1, 3, 3, 1, 1, 1, 2, 0, 3, 5 },
	};
	const char *kernels[] = { "ref", "blas", "avx512" };

	for (size_t k = 0; k < 3; k++) {
		if (k == 2 && !feat_kern_cpu_avx512())
			continue;
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			run_conv(&cases[i], kernels[k], 1);
			run_conv(&cases[i], kernels[k], 2);
		}
	}
	ck_assert_int_eq(feat_kernel_select(NULL), 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("nonfinite");
	TCase *tc = tcase_create("nonfinite");

	tcase_add_test(tc, test_scan);
	tcase_add_test(tc, test_weights_refused);
	tcase_add_test(tc, test_softmax_nan);
	tcase_add_test(tc, test_relu_pool_nan);
	tcase_add_test(tc, test_conv_padding);
	suite_add_tcase(s, tc);
	return s;
}
