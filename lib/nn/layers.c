/*
 * layers.c - the layer types of the graph executor: for each, a setup that
 * checks parameters and weights against the input shapes and sets output
 * shapes, MACs and parameter counts, and a forward pass over a batch.
 *
 * Convolution and inner product run through the kernel layer (lib/kern):
 * im2col (skipped for 1x1 stride-1 convolutions) then a GEMM with the bias
 * and ReLU fused into its store.  When the reference path is active
 * (FEAT_KERNEL=ref) convolution instead runs as the plain direct loops
 * below: the oracle the fast paths are tested against.  Depthwise
 * convolution has its own direct kernel: as a GEMM it would be a string of
 * 1-row products.  On the AVX-512 path, chains of convolutions with a
 * channel-blocked kernel (kern/nchwc.h: first layer, depthwise 3x3 and 5x5,
 * pointwise, small maps) keep their blobs in NCHW16c (nchwc_plan in
 * passes.c).
 *
 * Parameters (keys of a layer in the file; ints may be one value for both
 * spatial axes or two, h then w):
 *   conv     kernel, stride=1, pad=0 (1, 2 or 4 ints: top, left, bottom,
 *            right), dilation=1, group=1; weights W [Cout, Cin/group, kh,
 *            kw] and optional bias [Cout]
 *   bn       eps=1e-5; weights mean, var [C], optional gamma, beta [C]
 *   scale    weights gamma [C], optional beta [C] (or [1] each: every channel)
 *   relu     slope=0 (leaky ReLU when not 0); relu6; leakyrelu alpha=0.01;
 *   sigmoid
 *   pool     mode=max|avg, kernel, stride=1, pad=0, ceil=0 (1: Caffe's and
 *            PyTorch ceil_mode rounding), global=0, exclude_pad=0
 *   fc       axis=1, weights W [Nout, K], optional bias [Nout]: the input
 *            flattened from axis (K values) and multiplied by W^T; axis > 1
 *            keeps the axes before it as rows (a Linear on the last axis)
 *   l2norm   eps=1e-10, eps_mode=0; weights scale [C] or [1]: y = x /
 *            sqrt(sum_c x^2 + eps) * scale, over channels at each position;
 *            eps_mode=1: x / max(norm, eps), 2: x / (norm + eps)
 *   concat   axis=1;  flatten axis=1, end_axis=-1 (the axes from axis to
 *            end_axis, negative from the end, become one);  reshape shape
 *            (0 copies, -1 infers; shape[0] is the batch: 0 or 1);
 *            permute order (order[0] = 0);
 *   softmax  axis=1;  add (elementwise sum of its inputs)
 *   hardsigmoid alpha=0.2, beta=0.5;  hardswish;  clip min, max;  prelu
 *            weight slope [C] or [1]
 *   eltwise  op=mul|add|sub|div|max|min, const_first=0: two inputs, or one
 *            and a weight, with numpy's broadcasting (after the batch)
 *   pad      pads (2 x rank: begins, then ends), value=0
 *   reduce   mode=mean|sum|max, axes, keepdims=1;  slice axis, start,
 *            end, step=1
 *   matmul   two inputs A [.., M, K] and B [.., K, N] of one rank: a
 *            product of matrices for each index of the axes between the
 *            batch and the last two, which broadcast (1 or equal)
 *   layernorm axis=-1, eps=1e-5, weights gamma and beta (optional, one a
 *            value of the normalised axes): each image normalised over
 *            the axes from axis on
 *   unary    op=sqrt|erf|gelu|pow, exponent (pow): elementwise; gelu is
 *            x (1 + erf(x / sqrt 2)) / 2
 *   const    weight W: the output is W for every image (the input is
 *            read only for the batch size), W's shape after the batch
 */
#include <math.h>
#include <stdio.h>

#include "base/internal.h"
#include "kern/act.h"
#include "kern/conv3.h"
#include "kern/convk.h"
#include "kern/dwconv.h"
#include "kern/kern.h"
#include "kern/nchwc.h"
#include "kern/winograd.h"
#include "nn/layers.h"
#include "nn/net.h"
#include "nn/quant.h"
#include "base/threadpool.h"

#define FAIL(...) (feat_fmt(why, whylen, __VA_ARGS__), FEAT_E_FORMAT)

static struct feat_blob *IN(struct feat_net *n, struct feat_layer *l, int i)
{
	return &n->blob[l->in[i]];
}
static struct feat_blob *OUT(struct feat_net *n, struct feat_layer *l, int i)
{
	return &n->blob[l->out[i]];
}

static void set_shape(struct feat_blob *b, int ndim, const uint32_t *dims)
{
	b->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		b->dims[i] = dims[i];
}

static int want_io(struct feat_layer *l, int nin, int nout, char *why,
	size_t whylen)
{
	if ((nin >= 0 && l->nin != nin) || (nin < 0 && l->nin < -nin) ||
	    l->nout != nout) {
		feat_fmt(why, whylen, "layer '%s' (%s): %d inputs and %d outputs, expected %s%d and %d",
			 l->name, l->ops->type, l->nin, l->nout, nin < 0 ? "at least " : "",
			 nin < 0 ? -nin : nin, nout);
		return FEAT_E_FORMAT;
	}
	return 0;
}

/* A weight tensor: f32 with the given element count. */
static const float *weight(struct feat_net *n, struct feat_layer *l, uint32_t i,
	size_t count, const char *what, char *why, size_t whylen)
{
	const struct feat_mtensor *t = feat_layer_weight(l, n, i);

	if (!t) {
		feat_fmt(why, whylen, "layer '%s': missing weight %u (%s)", l->name, i, what);
		return NULL;
	}
	if (t->dtype != FEAT_DT_F32 || t->nbytes != count * sizeof(float)) {
		feat_fmt(why, whylen, "layer '%s': weight '%s' (%s) holds %zu bytes of %s, expected %zu f32 values (%zu bytes)",
			 l->name, t->name, what, t->nbytes, feat_dtype_name(t->dtype), count,
			 count * sizeof(float));
		return NULL;
	}
	return t->data;
}

static void apply_act(float *x, size_t n, int act, float alpha)
{
	if (act == FEAT_ACT_NONE)
		return;
	feat_kern_active()->act(x, n, act, alpha);
}

/* Threads layer l may use over this batch (1: run serially). */
static int par_threads(const struct feat_net *n, const struct feat_layer *l, int batch)
{
	if (!n->pool || l->macs * (uint64_t)batch < n->par_min)
		return 1;
	return feat_threadpool_threads(n->pool);
}

static long cdiv(long a, long b)
{
	return (a + b - 1) / b;
}

/* FEAT_E_TOOBIG over FEAT_NET_MAX_SCRATCH, FEAT_E_NOMEM; n->scratch_want
 * then says how much was asked (net.c names the layer and the size). */
int feat_net_grow_scratch(struct feat_net *n, size_t floats)
{
	float *p;

	if (floats <= n->scratch_floats)
		return 0;
	n->scratch_want = floats;
	if (floats > FEAT_NET_MAX_SCRATCH)
		return FEAT_E_TOOBIG;
	p = feat_aligned_alloc(floats * sizeof(float));
	if (!p)
		return FEAT_E_NOMEM;
	n->scratch_want = 0;
	free(n->scratch);
	n->scratch = p;
	n->scratch_floats = floats;
	return 0;
}

/* ---------------------------------------------------------- convolution */

static size_t im2col_chunk(const struct conv *c, int cg);

/* The first-layer kernel's weights (once batch norm is folded in, so at
 * the first forward).  1, or 0 when out of memory: the GEMM runs instead. */
static int conv3_pack(struct conv *c)
{
	c->w3 = feat_aligned_alloc(feat_conv3_pack_floats(c->cout, c->cin) * sizeof(float));
	if (c->w3)
		feat_conv3_pack(c->w3, c->w, c->cout, c->cin);
	return c->w3 != NULL;
}

/* The NCHW16c kernel that fits c's shape (enum conv_nc), and the extent
 * of the input it reads. */
static void conv_plan_nc(struct conv *c)
{
	c->nc = NC_NONE;
	if (feat_pw_fits(c->cin, c->kh, c->kw, c->sh, c->sw, c->pt, c->pl, c->pb, c->pr,
			 c->group)) {
		c->nc = NC_PW;
		c->hpad = c->hin;    /* read as it is */
		c->wpad = c->win;
	}
	else if (feat_dwc_fits(c->cin, c->group, c->cout, c->kh, c->kw, c->sh, c->sw, c->dh,
				c->dw, c->pt, c->pl))
		c->nc = NC_DW;
	else if (feat_conv3c_fits(c->cin, c->cout, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw,
				  c->pt, c->pl, c->group))
		c->nc = NC_FIRST;
	else if (feat_convc_fits(c->cin, c->group, c->kh, c->kw, c->sh, c->sw, c->hout,
				 c->wout)) {
		c->nc = NC_GEN;
		c->hpad = feat_convc_padded(c->hin, c->pt, c->hout, c->sh, c->kh, c->dh);
		c->wpad = feat_convc_padded(c->win, c->pl, c->wout, c->sw, c->kw, c->dw);
	}
}

static int conv_setup(struct feat_net *n, struct feat_layer *l, char *why,
	size_t whylen)
{
	struct conv *c = feat_net_alloc(n, sizeof *c);
	struct feat_blob *x;
	int k[2], s[2], d[2], e;
	int64_t g;
	const struct feat_value *pad;
	const float *b;
	uint32_t od[4];

	if (!c)
		return FEAT_E_NOMEM;
	memset(c, 0, sizeof *c);
	if ((e = want_io(l, 1, 1, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if (x->ndim != 4)
		return FAIL("layer '%s': convolution input '%s' is not [N, C, H, W]",
			    l->name, x->name);
	if ((e = feat_param_pair(l, "kernel", 0, 1, k, why, whylen)) ||
	    (e = feat_param_pair(l, "stride", 1, 1, s, why, whylen)) ||
	    (e = feat_param_pair(l, "dilation", 1, 1, d, why, whylen)) ||
	    (e = feat_param_int(l, "group", 1, 1, 1 << 20, &g, why, whylen)))
		return e;
	if (!k[0])
		return FAIL("layer '%s': convolution without 'kernel'", l->name);
	pad = feat_param(l, "pad");
	if (pad && pad->type == FEAT_V_INTS && pad->n == 4) {
		for (int i = 0; i < 4; i++)
			if (pad->u.ints[i] < 0 || pad->u.ints[i] > 1 << 16)
				return FAIL("layer '%s': bad 'pad'", l->name);
		c->pt = (int)pad->u.ints[0];
		c->pl = (int)pad->u.ints[1];
		c->pb = (int)pad->u.ints[2];
		c->pr = (int)pad->u.ints[3];
	} else {
		int p[2];

		if ((e = feat_param_pair(l, "pad", 0, 0, p, why, whylen)))
			return e;
		c->pt = c->pb = p[0];
		c->pl = c->pr = p[1];
	}
	c->kh = k[0], c->kw = k[1], c->sh = s[0], c->sw = s[1];
	c->dh = d[0], c->dw = d[1], c->group = (int)g;
	c->cin = (int)x->dims[1], c->hin = (int)x->dims[2], c->win = (int)x->dims[3];
	{
		const struct feat_mtensor *wt = feat_layer_weight(l, n, 0);

		if (!wt || wt->ndim != 4)
			return FAIL("layer '%s': weight 0 must be [Cout, Cin/group, kh, kw]",
				    l->name);
		c->cout = (int)wt->dims[0];
		if ((int)wt->dims[1] * c->group != c->cin || (int)wt->dims[2] != c->kh ||
		    (int)wt->dims[3] != c->kw || c->cout % c->group)
			return FAIL("layer '%s': weight [%u %u %u %u] does not fit input channels %d, group %d, kernel %dx%d",
				    l->name, wt->dims[0], wt->dims[1], wt->dims[2], wt->dims[3],
				    c->cin, c->group, c->kh, c->kw);
	}
	c->w = weight(n, l, 0, (size_t)c->cout * (c->cin / c->group) * c->kh * c->kw,
		      "weights", why, whylen);
	if (!c->w)
		return FEAT_E_FORMAT;
	c->bias = feat_net_alloc(n, sizeof(float) * (size_t)c->cout);
	if (!c->bias)
		return FEAT_E_NOMEM;
	memset(c->bias, 0, sizeof(float) * (size_t)c->cout);
	if (l->ml->nweight > 1) {
		if (!(b = weight(n, l, 1, (size_t)c->cout, "bias", why, whylen)))
			return FEAT_E_FORMAT;
		memcpy(c->bias, b, sizeof(float) * (size_t)c->cout);
	}
	{
		long eh = (long)c->dh * (c->kh - 1) + 1, ew = (long)c->dw * (c->kw - 1) + 1;
		long hp = (long)c->hin + c->pt + c->pb, wp = (long)c->win + c->pl + c->pr;

		if (hp < eh || wp < ew)
			return FAIL("layer '%s': kernel %ldx%ld larger than padded input %ldx%ld",
				    l->name, eh, ew, hp, wp);
		c->hout = (int)((hp - eh) / c->sh + 1);
		c->wout = (int)((wp - ew) / c->sw + 1);
	}
	od[0] = 1, od[1] = (uint32_t)c->cout, od[2] = (uint32_t)c->hout, od[3] = (uint32_t)c->wout;
	set_shape(OUT(n, l, 0), 4, od);
	l->params = (uint64_t)c->cout * (c->cin / c->group) * c->kh * c->kw + (uint64_t)c->cout;
	l->macs = (uint64_t)c->cout * c->hout * c->wout * (c->cin / c->group) * c->kh * c->kw;
	l->priv = c;
	conv_plan_nc(c);
	{
		struct feat_qconv_shape qs = {
			.cin = c->cin, .cout = c->cout, .group = c->group, .kh = c->kh,
			.kw = c->kw, .sh = c->sh, .sw = c->sw, .dh = c->dh, .dw = c->dw,
			.pt = c->pt, .pl = c->pl, .pb = c->pb, .pr = c->pr, .hin = c->hin,
			.win = c->win, .hout = c->hout, .wout = c->wout,
		};
		size_t qfloats;

		if ((e = feat_qconv_setup(n, l, &qs, &c->q, &qfloats, why, whylen)) ||
		    (c->q && (e = feat_net_grow_scratch(n, qfloats))))
			return e;
		if (c->q)
			c->nc = NC_NONE;   /* int8 reads NCHW, through its own packing */
	}
	/* im2col, unless the depthwise kernel runs it (group == cin == cout:
	 * a depth multiplier above 1 goes through im2col) */
	if (c->group == 1 || c->group != c->cin || c->cout != c->cin)
		return feat_net_grow_scratch(n, (size_t)(c->cin / c->group) * c->kh * c->kw *
						im2col_chunk(c, c->cin / c->group));
	if (c->group > 1) {
		struct feat_dw_args dw = {
			.kh = c->kh, .kw = c->kw, .sh = c->sh, .sw = c->sw,
			.dh = c->dh, .dw = c->dw, .hout = c->hout, .wout = c->wout,
		};

		return feat_net_grow_scratch(n, feat_dwconv_work(&dw));
	}
	return 0;
}

/* The oracle: direct loops, double accumulation. */
static void conv_ref(const struct conv *c, const float *x, float *y)
{
	int cg = c->cin / c->group, og = c->cout / c->group;

	for (int o = 0; o < c->cout; o++) {
		int g = o / og;

		for (int oy = 0; oy < c->hout; oy++)
			for (int ox = 0; ox < c->wout; ox++) {
				double s = c->bias[o];

				for (int i = 0; i < cg; i++)
					for (int ky = 0; ky < c->kh; ky++) {
						int iy = oy * c->sh - c->pt + ky * c->dh;

						if (iy < 0 || iy >= c->hin)
							continue;
						for (int kx = 0; kx < c->kw; kx++) {
							int ix = ox * c->sw - c->pl + kx * c->dw;

							if (ix < 0 || ix >= c->win)
								continue;
							s += (double)c->w[((size_t)(o * cg + i) * c->kh + ky) * c->kw + kx] *
							     x[((size_t)(g * cg + i) * c->hin + iy) * c->win + ix];
						}
					}
				y[((size_t)o * c->hout + oy) * c->wout + ox] = (float)s;
			}
	}
}

/*
 * im2col of channels [c0, c0+nc) for output positions [j0, j0+nj): rows
 * (channel, ky, kx), nj columns.  Done in column chunks sized to stay in
 * cache rather than for the whole image at once: the GEMM reads the chunk
 * right after it is written.
 */
static void im2col(const struct conv *c, const float *x, int c0, int nc, size_t j0,
	size_t nj, float *col)
{
	int oy0 = (int)(j0 / (size_t)c->wout), oy1 = (int)((j0 + nj - 1) / (size_t)c->wout);

	for (int i = 0; i < nc; i++)
		for (int ky = 0; ky < c->kh; ky++)
			for (int kx = 0; kx < c->kw; kx++) {
				float *row = col + ((size_t)(i * c->kh + ky) * c->kw + kx) * nj;
				const float *xc = x + (size_t)(c0 + i) * c->hin * c->win;
				int off = kx * c->dw - c->pl;
				/* ox with 0 <= ox*sw + off < win: [lo, hi) */
				int lo = off < 0 ? (-off + c->sw - 1) / c->sw : 0;
				int hi = c->win - off <= 0 ? 0 : (c->win - off - 1) / c->sw + 1;

				for (int oy = oy0; oy <= oy1; oy++) {
					int iy = oy * c->sh - c->pt + ky * c->dh;
					size_t rs = (size_t)oy * c->wout;
					int a = rs < j0 ? (int)(j0 - rs) : 0;
					int b = rs + c->wout > j0 + nj ? (int)(j0 + nj - rs) : c->wout;
					float *r = row + (rs + (size_t)a - j0);
					const float *xr;
					int va = lo > a ? lo : a, vb = hi < b ? hi : b;

					if (iy < 0 || iy >= c->hin || va >= vb) {
						memset(r, 0, sizeof(float) * (size_t)(b - a));
						continue;
					}
					/* only now: a row of the padding above
					 * (iy < 0) has no address in x */
					xr = xc + (size_t)iy * c->win;
					memset(r, 0, sizeof(float) * (size_t)(va - a));
					if (c->sw == 1)
						memcpy(r + (va - a), xr + (va + off), sizeof(float) * (size_t)(vb - va));
					else
						for (int ox = va; ox < vb; ox++)
							r[ox - a] = xr[ox * c->sw + off];
					memset(r + (vb - a), 0, sizeof(float) * (size_t)(b - vb));
				}
			}
}

/* Output columns per im2col chunk: about 4 MB of column matrix. */
static size_t im2col_chunk(const struct conv *c, int cg)
{
	size_t k = (size_t)cg * c->kh * c->kw, hw = (size_t)c->hout * c->wout;
	size_t n = ((size_t)1 << 20) / k / 64 * 64;

	if (n < 256)
		n = 256;
	return n < hw ? n : hw;
}

/* ------------------------------------------- convolution on many threads */

struct conv_par {
	struct feat_net *n;
	struct feat_layer *l;
	const struct conv *c;
	const struct feat_kern *k;
	const float *X;
	float *Y;
	size_t xs, ys, hw;
	int cg, og, pointwise;
	long per;            /* pieces per image and group */
	size_t cols;         /* columns per piece; 0: split rows instead */
	int rows;            /* output channels per piece when splitting rows */
};

/* A piece of the im2col + GEMM path: one image, one group, a range of
 * output columns (each thread im2cols into its own workspace) or of
 * output channels (tiny maps, where a column split would leave nothing to
 * split).  Non-ReLU activations are applied to the piece it wrote. */
static void conv_gemm_piece(void *arg, long i0, long i1, int worker)
{
	const struct conv_par *P = arg;
	const struct conv *c = P->c;
	struct feat_layer *l = P->l;
	int K = P->cg * c->kh * c->kw;

	for (long it = i0; it < i1; it++) {
		long piece = it % P->per, bg = it / P->per;
		int g = (int)(bg % c->group), b = (int)(bg / c->group);
		const float *x = P->X + (size_t)b * P->xs;
		float *y = P->Y + (size_t)b * P->ys + (size_t)g * P->og * P->hw;
		float *col = feat_net_scratch(P->n, worker);
		struct feat_sgemm_args a = {
			.M = P->og, .N = (int)P->hw, .K = K, .alpha = 1, .beta = (float)c->accum,
			.A = c->w + (size_t)g * P->og * K, .lda = K,
			.C = y, .ldc = (int)P->hw,
			.bias = c->bias + (size_t)g * P->og, .bias_kind = FEAT_BIAS_ROW,
			.relu = l->act == FEAT_ACT_RELU,
			.apack = c->ap.p ? &c->ap : NULL,
			.whole_m = P->og, .whole_n = (int)P->hw,
		};
		size_t j0 = 0, nj = P->hw;
		int m0 = 0, mr = P->og;
		struct feat_sgemm_apack sub;

		if (P->cols) {
			j0 = (size_t)piece * P->cols;
			nj = P->hw - j0 < P->cols ? P->hw - j0 : P->cols;
			a.N = (int)nj;
			a.C = y + j0;
		} else {
			m0 = (int)piece * P->rows;
			mr = P->og - m0 < P->rows ? P->og - m0 : P->rows;
			a.M = mr;
			a.A += (size_t)m0 * K;
			a.C = y + (size_t)m0 * P->hw;
			a.bias += m0;
			/* rows in whole blocks of the packing are packed A of their
			 * own (block (i0, p0) at p + i0 K + p0 mc); other splits
			 * only happen where N <= 16 never reads it */
			if (a.apack && P->rows % c->ap.mc == 0) {
				sub = c->ap;
				sub.M = mr;
				sub.p = c->ap.p + (size_t)m0 * K;
				a.apack = &sub;
			} else {
				a.apack = NULL;
			}
		}
		if (P->pointwise) {
			a.B = x + (size_t)g * P->cg * P->hw + j0;
			a.ldb = (int)P->hw;
		} else {
			im2col(c, x, g * P->cg, P->cg, j0, nj, col);
			a.B = col;
			a.ldb = (int)nj;
		}
		feat_kern_sgemm(P->k, &a);
		if (l->act != FEAT_ACT_RELU && l->act != FEAT_ACT_NONE)
			for (int o = m0; o < m0 + mr; o++)
				apply_act(y + (size_t)o * P->hw + j0, nj, l->act, l->act_alpha);
	}
}

/* Depthwise: one image, a range of channels; each thread its own
 * workspace (the AVX-512 kernel's planes and masks). */
static void conv_dw_piece(void *arg, long i0, long i1, int worker)
{
	const struct conv_par *P = arg;
	const struct conv *c = P->c;
	int cc = P->rows;

	for (long it = i0; it < i1; it++) {
		int b = (int)(it / P->per), c0 = (int)(it % P->per) * cc;
		int nc = c->cin - c0 < cc ? c->cin - c0 : cc;
		size_t plane_in = (size_t)c->hin * c->win;
		struct feat_dw_args d = {
			.x = P->X + (size_t)b * P->xs + (size_t)c0 * plane_in, .c = nc,
			.hin = c->hin, .win = c->win, .w = c->w + (size_t)c0 * c->kh * c->kw,
			.bias = c->bias + c0, .kh = c->kh, .kw = c->kw,
			.sh = c->sh, .sw = c->sw, .pt = c->pt, .pl = c->pl,
			.dh = c->dh, .dw = c->dw,
			.y = P->Y + (size_t)b * P->ys + (size_t)c0 * P->hw,
			.hout = c->hout, .wout = c->wout, .act = P->l->act,
			.alpha = P->l->act_alpha, .work = feat_net_scratch(P->n, worker),
		};

		P->k->dwconv(&d);
	}
}

/* Winograd on the pool: kern/winograd.c's driver, an image at a time. */
static void conv_wino_par(struct conv_par *P, int batch, int T)
{
	const struct conv *c = P->c;

	for (int b = 0; b < batch; b++) {
		struct feat_wino_args wa = {
			.x = P->X + (size_t)b * P->xs, .cin = c->cin, .hin = c->hin,
			.win = c->win, .pt = c->pt, .pl = c->pl,
			.y = P->Y + (size_t)b * P->ys, .cout = c->cout, .hout = c->hout,
			.wout = c->wout, .u = c->wino_u, .up = c->wino_u, .bias = c->bias,
			.act = P->l->act, .alpha = P->l->act_alpha, .block = c->wino_block,
			.work = P->n->scratch, .k = P->k,
		};

		feat_wino_run(&wa, P->n->pool, T);
	}
}

/*
 * Convolution on T > 1 threads (not the ref path: its direct loops are the
 * oracle and stay on one thread).  Pieces: at least 4 per thread over the
 * batch where the layer allows, so that a thread slowed by another process
 * takes fewer; columns in multiples of 16 (the GEMM's vector), never more
 * than one thread's im2col workspace holds.
 */
static void conv_forward_par(struct feat_net *n, struct feat_layer *l, int batch, int T)
{
	struct conv *c = l->priv;
	struct conv_par P = {
		.n = n, .l = l, .c = c, .k = feat_kern_active(),
		.X = feat_net_data(n, l->in[0]), .Y = feat_net_data(n, l->out[0]),
		.xs = IN(n, l, 0)->count, .ys = OUT(n, l, 0)->count,
		.hw = (size_t)c->hout * c->wout,
		.cg = c->cin / c->group, .og = c->cout / c->group,
		.pointwise = c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 &&
			     !c->pt && !c->pl && !c->pb && !c->pr,
	};
	long outer = (long)batch * c->group, want = cdiv(4L * T, outer);

	if (c->wino_u) {
		conv_wino_par(&P, batch, T);
		return;
	}
	if (c->group == c->cin && c->group == c->cout && c->group > 1) {
		/* a few pieces per image: each recomputes the tap masks */
		want = cdiv(2L * T, batch);
		P.rows = (int)cdiv(c->cin, want);
		P.per = cdiv(c->cin, P.rows);
		feat_threadpool_for(n->pool, batch * P.per, 1, conv_dw_piece, &P);
		return;
	}
	if (c->group == 1 && !c->ap.p && P.hw > 16)
		feat_kern_pack_a(P.k, &c->ap, c->w, P.cg * c->kh * c->kw, c->cout,
				 P.cg * c->kh * c->kw);
	if (c->ap.p && P.hw <= 256 && outer < 4L * T && P.og >= 2 * c->ap.mc) {
		/* big weights over a small map (1x1 on 10x10 and the like):
		 * split the rows, in blocks of the packing, so that each thread
		 * streams only its share of the weights, not all of them */
		P.rows = c->ap.mc;
		P.per = cdiv(P.og, P.rows);
	} else if (P.hw > 16) {
		size_t cols = (size_t)cdiv(cdiv((long)P.hw, want), 16) * 16;
		size_t chunk = im2col_chunk(c, P.cg);

		if (cols < 32)
			cols = 32;
		P.cols = P.pointwise || cols < chunk ? cols : chunk;
		P.per = cdiv((long)P.hw, (long)P.cols);
	} else {
		P.rows = (int)cdiv(cdiv(P.og, want), 16) * 16;
		P.per = cdiv(P.og, P.rows);
	}
	feat_threadpool_for(n->pool, outer * P.per, 1, conv_gemm_piece, &P);
}

/* ------------------------------------------- the k x k first-layer kernel */

struct convk_par {
	struct feat_net *n;
	const struct feat_layer *l;
	const float *X;
	float *Y;
	size_t xs, ys;
	int rows, per;       /* output rows per piece, pieces per image */
};

static void convk_piece(void *arg, long i0, long i1, int worker)
{
	const struct convk_par *P = arg;
	const struct conv *c = P->l->priv;

	for (long it = i0; it < i1; it++) {
		long b = it / P->per;
		struct feat_convk_args a = {
			.x = P->X + (size_t)b * P->xs, .cin = c->cin, .hin = c->hin,
			.win = c->win, .w = c->w, .wp = c->wk, .bias = c->bias, .cout = c->cout,
			.k = c->kh, .s = c->sh, .pt = c->pt, .pl = c->pl,
			.y = P->Y + (size_t)b * P->ys, .hout = c->hout, .wout = c->wout,
			.act = P->l->act, .alpha = P->l->act_alpha,
			.oy0 = (int)(it % P->per) * P->rows, .work = feat_net_scratch(P->n, worker),
			.nc = feat_net_blob_nchwc(P->n, P->l->out[0]),
		};

		a.oy1 = a.oy0 + P->rows < c->hout ? a.oy0 + P->rows : c->hout;
		feat_kern_active()->convk(&a);
	}
}

/* A first layer the kernel runs (convk_prepare in passes.c packed c->wk):
 * on T threads, pieces of output rows, at least 4 per thread. */
static void conv_convk(struct feat_net *n, struct feat_layer *l, int batch, int T)
{
	const struct conv *c = l->priv;
	struct convk_par P = {
		.n = n, .l = l, .X = feat_net_data(n, l->in[0]), .Y = feat_net_data(n, l->out[0]),
		.xs = IN(n, l, 0)->count, .ys = OUT(n, l, 0)->count, .rows = c->hout, .per = 1,
	};

	if (T > 1) {
		P.rows = (int)cdiv(c->hout, cdiv(4L * T, batch));
		P.per = (int)cdiv(c->hout, P.rows);
		feat_threadpool_for(n->pool, (long)batch * P.per, 1, convk_piece, &P);
	} else {
		convk_piece(&P, 0, batch, 0);
	}
}

/* ------------------------------------------------- convolution on NCHW16c */

struct nc_par {
	const struct conv *c;
	const struct feat_layer *l;
	const float *x;      /* one image, in the kernel's input layout */
	float *y;            /* its output, NCHW16c */
	int per_piece;       /* groups, blocks or rows per piece */
	long px;             /* pixels per piece (NC_PW, NC_GEN) */
	long pieces_g;       /* NC_PW, NC_GEN: pieces along the groups */
	const struct feat_kern *k;
};

static void nc_piece(void *arg, long i0, long i1, int worker)
{
	const struct nc_par *P = arg;
	const struct conv *c = P->c;
	const struct feat_layer *l = P->l;

	(void)worker;
	for (long it = i0; it < i1; it++) {
		if (c->nc == NC_PW || c->nc == NC_GEN) {
			long hw = (long)c->hout * c->wout, gi = it % P->pieces_g, pi = it / P->pieces_g;
			int G = feat_convc_groups(c->cout);
			struct feat_convc_args a = {
				.xp = P->x, .cin = c->cin, .hp = c->hpad, .wp = c->wpad, .w = c->wnc,
				.bias = feat_convc_bias(c->wnc, c->cout, c->cin, c->kh, c->kw),
				.cout = c->cout, .kh = c->kh, .kw = c->kw, .sh = c->sh, .sw = c->sw,
				.dh = c->dh, .dw = c->dw, .y = P->y, .hout = c->hout, .wout = c->wout,
				.act = l->act, .alpha = l->act_alpha,
				.g0 = (int)gi * P->per_piece, .p0 = pi * P->px, .accum = c->accum,
			};

			a.g1 = a.g0 + P->per_piece < G ? a.g0 + P->per_piece : G;
			a.p1 = a.p0 + P->px < hw ? a.p0 + P->px : hw;
			P->k->convc(&a);
		} else if (c->nc == NC_DW) {
			struct feat_dwc_args a = {
				.x = P->x, .c = c->cin, .hin = c->hin, .win = c->win, .wp = c->wnc,
				.bias = c->bias, .k = c->kh, .s = c->sh, .pt = c->pt, .pl = c->pl,
				.y = P->y,
				.hout = c->hout, .wout = c->wout, .act = l->act, .alpha = l->act_alpha,
				.b0 = (int)it * P->per_piece,
			};

			a.b1 = a.b0 + P->per_piece < c->cin / 16 ? a.b0 + P->per_piece : c->cin / 16;
			P->k->dwc(&a);
		} else {
			struct feat_conv3c_args a = {
				.c = { .x = P->x, .cin = c->cin, .hin = c->hin, .win = c->win,
				       .w = c->w, .wp = c->wnc, .bias = c->bias, .cout = c->cout,
				       .s = c->sh, .y = P->y, .hout = c->hout, .wout = c->wout,
				       .act = l->act, .alpha = l->act_alpha },
				.oy0 = (int)it * P->per_piece,
			};

			a.oy1 = a.oy0 + P->per_piece < c->hout ? a.oy0 + P->per_piece : c->hout;
			P->k->conv3c(&a);
		}
	}
}

/*
 * A convolution that reads or writes a blob kept in NCHW16c (chosen by
 * nchwc_plan in passes.c): the side that is plain NCHW goes through the
 * workspace, converted (the first-layer kernel reads NCHW itself).  On T
 * threads each image is cut into at least 4T pieces where the shape
 * allows: group-1 convolutions by groups of 64 output channels and by
 * pixels (in multiples of the kernel's 6), depthwise by blocks of 16
 * channels, the first layer by output rows.
 */
static void conv_nchwc(struct feat_net *n, struct feat_layer *l, int batch, int T)
{
	const struct conv *c = l->priv;
	const float *X = feat_net_data(n, l->in[0]);
	float *Y = feat_net_data(n, l->out[0]);
	size_t xs = IN(n, l, 0)->count, ys = OUT(n, l, 0)->count;
	size_t plane_in = (size_t)c->hin * c->win, plane_out = (size_t)c->hout * c->wout;
	int in_nc = c->nc == NC_FIRST || feat_net_blob_nchwc(n, l->in[0]);
	int out_nc = feat_net_blob_nchwc(n, l->out[0]);
	struct nc_par P = { .c = c, .l = l, .per_piece = 1, .pieces_g = 1,
			    .k = feat_kern_active() };
	long pieces, want = T > 1 ? 4L * T : 1;

	if (c->nc == NC_PW || c->nc == NC_GEN) {
		long G = feat_convc_groups(c->cout), gs = G < want ? G : want;

		P.per_piece = (int)cdiv(G, gs);
		P.pieces_g = cdiv(G, P.per_piece);
		P.px = cdiv(cdiv((long)plane_out, cdiv(want, P.pieces_g)), 6) * 6;
		pieces = P.pieces_g * cdiv((long)plane_out, P.px);
	} else if (c->nc == NC_DW) {
		P.per_piece = (int)cdiv(c->cin / 16, want);
		pieces = cdiv(c->cin / 16, P.per_piece);
	} else {
		P.per_piece = (int)cdiv(c->hout, want);
		pieces = cdiv(c->hout, P.per_piece);
	}
	for (int b = 0; b < batch; b++) {
		float *work = n->scratch;

		P.x = X + (size_t)b * xs;
		P.y = Y + (size_t)b * ys;
		if (!in_nc) {
			P.k->nchwc_from(P.x, c->cin, plane_in, work);
			P.x = work;
			work += (size_t)c->cin * plane_in;
		}
		if (c->nc == NC_GEN) {
			feat_convc_pad(P.x, c->cin, c->hin, c->win, c->pt, c->pl, work, c->hpad,
				       c->wpad);
			P.x = work;
			work += (size_t)c->cin * c->hpad * c->wpad;
		}
		if (!out_nc)
			P.y = work;
		if (T > 1)
			feat_threadpool_for(n->pool, pieces, 1, nc_piece, &P);
		else
			nc_piece(&P, 0, pieces, 0);
		if (!out_nc)
			P.k->nchwc_to(P.y, c->cout, plane_out, Y + (size_t)b * ys);
	}
}

static void conv_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct conv *c = l->priv;
	const float *X = feat_net_data(n, l->in[0]);
	float *Y = feat_net_data(n, l->out[0]);
	size_t xs = IN(n, l, 0)->count, ys = OUT(n, l, 0)->count;
	size_t hw = (size_t)c->hout * c->wout;
	int cg = c->cin / c->group, og = c->cout / c->group;
	int pointwise = c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 &&
			!c->pt && !c->pl && !c->pb && !c->pr;
	const struct feat_kern *k = feat_kern_active();
	size_t chunk = im2col_chunk(c, cg);
	int fused = 0, T = par_threads(n, l, batch);

	if (c->q && !feat_qconv_forward(n, c->q, c->w, c->bias, X, xs, Y, ys, batch,
					l->act == FEAT_ACT_RELU, T)) {
		if (l->act != FEAT_ACT_RELU && l->act != FEAT_ACT_NONE)
			for (int b = 0; b < batch; b++)
				apply_act(Y + (size_t)b * ys, ys, l->act, l->act_alpha);
		return;
	}
	if (c->wnc) {
		conv_nchwc(n, l, batch, T);
		return;
	}
	if (c->wk) {
		conv_convk(n, l, batch, T);
		return;
	}
	if (T > 1 && !(k->routes & FEAT_ROUTE_DIRECT)) {
		conv_forward_par(n, l, batch, T);
		return;
	}
	for (int b = 0; b < batch; b++) {
		const float *x = X + (size_t)b * xs;
		float *y = Y + (size_t)b * ys;

		if (k->routes & FEAT_ROUTE_DIRECT) {
			conv_ref(c, x, y);
		} else if (c->wino_u) {
			struct feat_wino_args w = {
				.x = x, .cin = c->cin, .hin = c->hin, .win = c->win,
				.pt = c->pt, .pl = c->pl, .y = y, .cout = c->cout,
				.hout = c->hout, .wout = c->wout, .u = c->wino_u,
				.up = c->wino_u,
				.bias = c->bias, .act = l->act, .alpha = l->act_alpha,
				.block = c->wino_block, .work = n->scratch, .k = k,
			};

			feat_wino_run(&w, NULL, 1);
			fused = 1;
		} else if ((k->routes & FEAT_ROUTE_CONV3) &&
			   feat_conv3_fits(c->cin, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->pt,
					   c->pl, c->group) &&
			   (c->w3 || conv3_pack(l->priv))) {
			struct feat_conv3_args d = {
				.x = x, .cin = c->cin, .hin = c->hin, .win = c->win,
				.w = c->w, .wp = c->w3, .bias = c->bias, .cout = c->cout,
				.s = c->sh, .y = y, .hout = c->hout, .wout = c->wout,
				.act = l->act, .alpha = l->act_alpha,
			};

			k->conv3(&d);
			fused = 1;
		} else if (c->group == c->cin && c->group == c->cout && c->group > 1) {
			struct feat_dw_args d = {
				.x = x, .c = c->cin, .hin = c->hin, .win = c->win,
				.w = c->w, .bias = c->bias, .kh = c->kh, .kw = c->kw,
				.sh = c->sh, .sw = c->sw, .pt = c->pt, .pl = c->pl,
				.dh = c->dh, .dw = c->dw, .y = y, .hout = c->hout,
				.wout = c->wout, .act = l->act, .alpha = l->act_alpha,
				.work = n->scratch,
			};

			k->dwconv(&d);
			fused = 1;
		} else {
			struct conv *cw = l->priv;

			if (c->group == 1 && !c->ap.p && hw > 16)
				feat_kern_pack_a(k, &cw->ap, c->w, cg * c->kh * c->kw, c->cout,
						 cg * c->kh * c->kw);
			for (int g = 0; g < c->group; g++) {
				struct feat_sgemm_args a = {
					.M = og, .N = (int)hw, .K = cg * c->kh * c->kw,
					.alpha = 1, .beta = (float)c->accum,
					.A = c->w + (size_t)g * og * cg * c->kh * c->kw,
					.lda = cg * c->kh * c->kw,
					.C = y + (size_t)g * og * hw, .ldc = (int)hw,
					.bias = c->bias + (size_t)g * og,
					.bias_kind = FEAT_BIAS_ROW,
					.relu = l->act == FEAT_ACT_RELU,
					.apack = c->ap.p ? &c->ap : NULL,
					.whole_m = og, .whole_n = (int)hw,
				};

				if (pointwise) {
					a.B = x + (size_t)g * cg * hw;
					a.ldb = (int)hw;
					feat_kern_sgemm(k, &a);
					continue;
				}
				for (size_t j0 = 0; j0 < hw; j0 += chunk) {
					size_t nj = hw - j0 < chunk ? hw - j0 : chunk;

					im2col(c, x, g * cg, cg, j0, nj, n->scratch);
					a.B = n->scratch;
					a.ldb = (int)nj;
					a.N = (int)nj;
					a.C = y + (size_t)g * og * hw + j0;
					feat_kern_sgemm(k, &a);
				}
			}
			fused = l->act == FEAT_ACT_RELU;
		}
		if (!fused)
			apply_act(y, ys, l->act, l->act_alpha);
	}
}

static void conv_release(struct feat_layer *l)
{
	struct conv *c = l->priv;

	if (c) {
		free(c->wnc);
		free(c->w3);
		free(c->wk);
		feat_qconv_free(c->q);
		free(c->w_own);
		free(c->wino_u);
		feat_sgemm_apack_free(&c->ap);
	}
}

/* --------------------------------------------- batch norm, scale: affine */

static int affine_common(struct feat_net *n, struct feat_layer *l, struct affine **out,
	char *why, size_t whylen)
{
	struct affine *f = feat_net_alloc(n, sizeof *f);
	struct feat_blob *x;
	int e;

	if (!f)
		return FEAT_E_NOMEM;
	if ((e = want_io(l, 1, 1, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if (x->ndim < 2)
		return FAIL("layer '%s': input has no channel axis", l->name);
	f->c = (int)x->dims[1];
	f->inner = x->count / x->dims[1];
	f->a = feat_net_alloc(n, sizeof(float) * 2 * (size_t)f->c);
	if (!f->a)
		return FEAT_E_NOMEM;
	f->b = f->a + f->c;
	set_shape(OUT(n, l, 0), x->ndim, x->dims);
	l->priv = f;
	*out = f;
	return 0;
}

static int bn_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct affine *f;
	const float *mean, *var, *gamma = NULL, *beta = NULL;
	double eps;
	int e;

	if ((e = affine_common(n, l, &f, why, whylen)) ||
	    (e = feat_param_float(l, "eps", 1e-5, &eps, why, whylen)))
		return e;
	if (!(mean = weight(n, l, 0, (size_t)f->c, "mean", why, whylen)) ||
	    !(var = weight(n, l, 1, (size_t)f->c, "variance", why, whylen)))
		return FEAT_E_FORMAT;
	if (l->ml->nweight > 2 && !(gamma = weight(n, l, 2, (size_t)f->c, "gamma", why, whylen)))
		return FEAT_E_FORMAT;
	if (l->ml->nweight > 3 && !(beta = weight(n, l, 3, (size_t)f->c, "beta", why, whylen)))
		return FEAT_E_FORMAT;
	for (int i = 0; i < f->c; i++) {
		double a = 1.0 / sqrt((double)var[i] + eps) * (gamma ? gamma[i] : 1);

		if (!(var[i] + eps > 0))
			return FAIL("layer '%s': variance %g of channel %d is not positive",
				    l->name, var[i], i);
		f->a[i] = (float)a;
		f->b[i] = (float)((beta ? beta[i] : 0) - mean[i] * a);
	}
	l->params = (uint64_t)f->c * l->ml->nweight;
	l->macs = OUT(n, l, 0)->count;
	return 0;
}

static int scale_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct affine *f;
	const float *gamma, *beta = NULL;
	const struct feat_mtensor *t;
	int e, one = 0;

	if ((e = affine_common(n, l, &f, why, whylen)))
		return e;
	/* weights of one value apply to every channel (ONNX's scalars) */
	t = feat_layer_weight(l, n, 0);
	if (t && t->nbytes == sizeof(float) && (l->ml->nweight < 2 || ((t = feat_layer_weight(l, n, 1)) &&
								       t->nbytes == sizeof(float))))
		one = 1;
	if (!(gamma = weight(n, l, 0, one ? 1 : (size_t)f->c, "scale", why, whylen)))
		return FEAT_E_FORMAT;
	if (l->ml->nweight > 1 &&
	    !(beta = weight(n, l, 1, one ? 1 : (size_t)f->c, "bias", why, whylen)))
		return FEAT_E_FORMAT;
	for (int i = 0; i < f->c; i++) {
		f->a[i] = gamma[one ? 0 : i];
		f->b[i] = beta ? beta[one ? 0 : i] : 0;
	}
	l->params = (uint64_t)f->c * l->ml->nweight;
	l->macs = OUT(n, l, 0)->count;
	return 0;
}

static void affine_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct affine *f = l->priv;
	const float *x = feat_net_data(n, l->in[0]);
	float *y = feat_net_data(n, l->out[0]);

	for (size_t b = 0; b < (size_t)batch * f->c; b++) {
		float a = f->a[b % f->c], c = f->b[b % f->c];

		for (size_t i = 0; i < f->inner; i++)
			y[b * f->inner + i] = a * x[b * f->inner + i] + c;
	}
	apply_act(y, (size_t)batch * f->c * f->inner, l->act, l->act_alpha);
}

/* ---------------------------------------------------------- elementwise */

static int same_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	int e = want_io(l, 1, 1, why, whylen);

	if (e)
		return e;
	set_shape(OUT(n, l, 0), IN(n, l, 0)->ndim, IN(n, l, 0)->dims);
	l->macs = IN(n, l, 0)->count;
	return 0;
}

static int relu_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	double slope;
	int e = same_setup(n, l, why, whylen);

	if (e || (e = feat_param_float(l, "slope", 0, &slope, why, whylen)))
		return e;
	l->act = slope != 0 ? FEAT_ACT_LEAKY : FEAT_ACT_RELU;
	l->act_alpha = (float)slope;
	return 0;
}

static int relu6_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	int e = same_setup(n, l, why, whylen);

	l->act = FEAT_ACT_RELU6;
	return e;
}

static int leaky_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	double alpha;
	int e = same_setup(n, l, why, whylen);

	if (e || (e = feat_param_float(l, "alpha", 0.01, &alpha, why, whylen)))
		return e;
	l->act = FEAT_ACT_LEAKY;
	l->act_alpha = (float)alpha;
	return 0;
}

/* An activation layer stores its kind in act; run it standalone. */
static void act_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const float *x = feat_net_data(n, l->in[0]);
	float *y = feat_net_data(n, l->out[0]);
	size_t cnt = (size_t)batch * IN(n, l, 0)->count;

	if (x != y)
		memcpy(y, x, cnt * sizeof(float));
	apply_act(y, cnt, l->act, l->act_alpha);
}

static void sigmoid_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const float *x = feat_net_data(n, l->in[0]);
	float *y = feat_net_data(n, l->out[0]);
	size_t cnt = (size_t)batch * IN(n, l, 0)->count;

	if (x != y)
		memcpy(y, x, cnt * sizeof(float));
	apply_act(y, cnt, FEAT_ACT_SIGMOID, 0);
}

static int add_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct feat_blob *a;
	int e = want_io(l, -2, 1, why, whylen);

	if (e)
		return e;
	a = IN(n, l, 0);
	for (int i = 1; i < l->nin; i++) {
		struct feat_blob *b = IN(n, l, i);

		if (b->ndim != a->ndim || memcmp(b->dims, a->dims, sizeof a->dims))
			return FAIL("layer '%s': inputs '%s' and '%s' differ in shape",
				    l->name, a->name, b->name);
	}
	set_shape(OUT(n, l, 0), a->ndim, a->dims);
	l->macs = a->count * (uint64_t)(l->nin - 1);
	return 0;
}

static void add_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	size_t cnt = (size_t)batch * IN(n, l, 0)->count;
	float *y = feat_net_data(n, l->out[0]);
	const float *a = feat_net_data(n, l->in[0]);

	if (y != a)
		memcpy(y, a, cnt * sizeof(float));
	for (int i = 1; i < l->nin; i++) {
		const float *b = feat_net_data(n, l->in[i]);

		for (size_t j = 0; j < cnt; j++)
			y[j] += b[j];
	}
	apply_act(y, cnt, l->act, l->act_alpha);
}

/* -------------------------------------------------------------- pooling */

struct pool {
	int max, kh, kw, sh, sw, pt, pl, pb, pr, exclude_pad;
	int c, hin, win, hout, wout;
};

/* Output size with floor, or ceil with the rule shared by Caffe and
 * PyTorch: the last window must start inside the input or its left pad. */
static int pool_out(int in, int k, int s, int p0, int p1, int ceil_mode)
{
	int span = in + p0 + p1 - k;
	int o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;

	if (ceil_mode && (o - 1) * s >= in + p0)
		o--;
	return o;
}

static int pool_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct pool *p = feat_net_alloc(n, sizeof *p);
	const struct feat_value *mode = feat_param(l, "mode"), *pad;
	struct feat_blob *x;
	int k[2], s[2], e;
	int64_t ceil_mode, global, excl;
	uint32_t od[4];

	if (!p)
		return FEAT_E_NOMEM;
	memset(p, 0, sizeof *p);
	if ((e = want_io(l, 1, 1, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if (x->ndim != 4)
		return FAIL("layer '%s': pooling input is not [N, C, H, W]", l->name);
	if (mode && (mode->type != FEAT_V_STR ||
		     (strcmp(mode->u.s, "max") && strcmp(mode->u.s, "avg"))))
		return FAIL("layer '%s': 'mode' must be max or avg", l->name);
	p->max = !mode || !strcmp(mode->u.s, "max");
	if ((e = feat_param_int(l, "ceil", 0, 0, 1, &ceil_mode, why, whylen)) ||
	    (e = feat_param_int(l, "global", 0, 0, 1, &global, why, whylen)) ||
	    (e = feat_param_int(l, "exclude_pad", 0, 0, 1, &excl, why, whylen)) ||
	    (e = feat_param_pair(l, "kernel", 0, 1, k, why, whylen)) ||
	    (e = feat_param_pair(l, "stride", 1, 1, s, why, whylen)))
		return e;
	p->c = (int)x->dims[1], p->hin = (int)x->dims[2], p->win = (int)x->dims[3];
	pad = feat_param(l, "pad");
	if (pad && pad->type == FEAT_V_INTS && pad->n == 4) {
		p->pt = (int)pad->u.ints[0], p->pl = (int)pad->u.ints[1];
		p->pb = (int)pad->u.ints[2], p->pr = (int)pad->u.ints[3];
		if (p->pt < 0 || p->pl < 0 || p->pb < 0 || p->pr < 0)
			return FAIL("layer '%s': bad 'pad'", l->name);
	} else {
		int pp[2];

		if ((e = feat_param_pair(l, "pad", 0, 0, pp, why, whylen)))
			return e;
		p->pt = p->pb = pp[0];
		p->pl = p->pr = pp[1];
	}
	if (global) {
		k[0] = p->hin, k[1] = p->win, s[0] = s[1] = 1;
		p->pt = p->pl = p->pb = p->pr = 0;
	}
	if (!k[0])
		return FAIL("layer '%s': pooling without 'kernel'", l->name);
	p->kh = k[0], p->kw = k[1], p->sh = s[0], p->sw = s[1];
	p->exclude_pad = (int)excl;
	if (p->hin + p->pt + p->pb < p->kh || p->win + p->pl + p->pr < p->kw ||
	    p->pt >= p->kh || p->pl >= p->kw)
		return FAIL("layer '%s': kernel %dx%d does not fit input %dx%d with its padding",
			    l->name, p->kh, p->kw, p->hin, p->win);
	p->hout = pool_out(p->hin, p->kh, p->sh, p->pt, p->pb, (int)ceil_mode);
	p->wout = pool_out(p->win, p->kw, p->sw, p->pl, p->pr, (int)ceil_mode);
	od[0] = 1, od[1] = (uint32_t)p->c, od[2] = (uint32_t)p->hout, od[3] = (uint32_t)p->wout;
	set_shape(OUT(n, l, 0), 4, od);
	l->macs = (uint64_t)p->c * p->hout * p->wout * p->kh * p->kw;
	l->priv = p;
	return 0;
}

struct pool_par {
	const struct pool *p;
	const struct feat_layer *l;
	const float *X;
	float *Y;
	int fast2x2;  /* max, 2x2, stride 2, no padding, routed to maxpool2x2 */
	const struct feat_kern *k;
};

static int pool_global_avg(const struct pool *p)
{
	return !p->max && p->hout == 1 && p->wout == 1 && p->kh == p->hin && p->kw == p->win &&
	       !p->pt && !p->pl && !p->pb && !p->pr;
}

/* Planes [bc0, bc1) of the batch (image * channels + channel). */
static void pool_planes(void *arg, long bc0, long bc1, int worker)
{
	const struct pool_par *P = arg;
	const struct pool *p = P->p;

	(void)worker;
	if (pool_global_avg(p)) {
		/* a global average (SE blocks, the classifier): the table's
		 * kernel over the planes at once */
		P->k->rowmean(P->X + (size_t)bc0 * p->hin * p->win, P->Y + bc0, (size_t)(bc1 - bc0),
			      (size_t)p->hin * p->win);
		apply_act(P->Y + bc0, (size_t)(bc1 - bc0), P->l->act, P->l->act_alpha);
		return;
	}
	for (long bc = bc0; bc < bc1; bc++) {
		const float *x = P->X + (size_t)bc * p->hin * p->win;
		float *y = P->Y + (size_t)bc * p->hout * p->wout;

		if (P->fast2x2) {
			P->k->maxpool2x2(x, p->hin, p->win, y, p->hout, p->wout);
			apply_act(y, (size_t)p->hout * p->wout, P->l->act, P->l->act_alpha);
			continue;
		}
		if (p->max) {
			/* the table's general kernel (plain twin: ref/pool.c) */
			P->k->maxpool(x, p->hin, p->win, y, p->hout, p->wout, p->kh, p->kw, p->sh,
				      p->sw, p->pt, p->pl);
			apply_act(y, (size_t)p->hout * p->wout, P->l->act, P->l->act_alpha);
			continue;
		}
		for (int oy = 0; oy < p->hout; oy++) {
			int y0 = oy * p->sh - p->pt, y1 = y0 + p->kh;
			/* the window clipped to the padded input (Caffe's and
			 * PyTorch's divisor with padding counted) */
			int py1 = y1 < p->hin + p->pb ? y1 : p->hin + p->pb;
			int cy0 = y0 < 0 ? 0 : y0, cy1 = y1 < p->hin ? y1 : p->hin;

			for (int ox = 0; ox < p->wout; ox++) {
				int x0 = ox * p->sw - p->pl, x1 = x0 + p->kw;
				int px1 = x1 < p->win + p->pr ? x1 : p->win + p->pr;
				int cx0 = x0 < 0 ? 0 : x0, cx1 = x1 < p->win ? x1 : p->win;
				float v;

				if (p->max) {
					v = -INFINITY;
					for (int iy = cy0; iy < cy1; iy++)
						for (int ix = cx0; ix < cx1; ix++)
							v = feat_nanmax(v, x[iy * p->win + ix]);
				} else {
					double s = 0;
					int cnt = p->exclude_pad ? (cy1 - cy0) * (cx1 - cx0)
								 : (py1 - y0) * (px1 - x0);

					for (int iy = cy0; iy < cy1; iy++)
						for (int ix = cx0; ix < cx1; ix++)
							s += x[iy * p->win + ix];
					v = cnt > 0 ? (float)(s / cnt) : 0;
				}
				y[oy * p->wout + ox] = v;
			}
		}
		apply_act(y, (size_t)p->hout * p->wout, P->l->act, P->l->act_alpha);
	}
}

static void pool_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct pool *p = l->priv;
	struct pool_par P = {
		.p = p, .l = l,
		.X = feat_net_data(n, l->in[0]), .Y = feat_net_data(n, l->out[0]),
		.fast2x2 = p->max && p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2 &&
			   !p->pt && !p->pl && !p->pb && !p->pr &&
			   (feat_kern_active()->routes & FEAT_ROUTE_POOL2),
		.k = feat_kern_active(),
	};
	long planes = (long)batch * p->c;
	int T = par_threads(n, l, batch);

	if (p->max && (feat_net_blob_nchwc(n, l->in[0]) || feat_net_blob_nchwc(n, l->out[0]))) {
		/* max pooling with a side channel-blocked (nchwc_plan): the
		 * table's blocked kernel, the plain side converted through the
		 * workspace */
		int in_nc = feat_net_blob_nchwc(n, l->in[0]), out_nc = feat_net_blob_nchwc(n, l->out[0]);
		size_t pin = (size_t)p->hin * p->win, pout = (size_t)p->hout * p->wout;

		for (int b = 0; b < batch; b++) {
			const float *x = P.X + (size_t)b * p->c * pin;
			float *y = P.Y + (size_t)b * p->c * pout, *work = n->scratch;

			if (!in_nc) {
				P.k->nchwc_from(x, p->c, pin, work);
				x = work;
				work += (size_t)p->c * pin;
			}
			P.k->maxpoolc(x, p->c, p->hin, p->win, out_nc ? y : work, p->hout, p->wout,
				      p->kh, p->kw, p->sh, p->sw, p->pt, p->pl);
			if (!out_nc)
				P.k->nchwc_to(work, p->c, pout, y);
			apply_act(y, (size_t)p->c * pout, l->act, l->act_alpha);
		}
		return;
	}
	if (feat_net_blob_nchwc(n, l->in[0])) {
		/* a global average of a channel-blocked map (nchwc_plan) */
		size_t plane = (size_t)p->hin * p->win;

		for (int b = 0; b < batch; b++) {
			P.k->nchwc_mean(P.X + (size_t)b * feat_convc_blocks(p->c) * 16 * plane, p->c,
					plane, P.Y + (size_t)b * p->c);
			apply_act(P.Y + (size_t)b * p->c, (size_t)p->c, l->act, l->act_alpha);
		}
		return;
	}
	feat_threadpool_for(T > 1 ? n->pool : NULL, planes, cdiv(planes, 4L * T), pool_planes, &P);
}

/* ------------------------------------------------------- inner product */

/* Weights (floats) up to which an inner product keeps a packed copy. */
#define FC_PACK_MAX ((size_t)1 << 24)

static int fc_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct fc *f = feat_net_alloc(n, sizeof *f);
	const struct feat_mtensor *wt;
	const float *b;
	struct feat_blob *x;
	uint32_t od[FEAT_MAX_DIMS];
	int64_t axis;
	size_t k = 1;
	int e;

	if (!f)
		return FEAT_E_NOMEM;
	memset(f, 0, sizeof *f);
	if ((e = want_io(l, 1, 1, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if ((e = feat_param_int(l, "axis", 1, 1, x->ndim > 1 ? x->ndim - 1 : 1, &axis, why,
				whylen)))
		return e;
	for (int i = (int)axis; i < x->ndim; i++)
		k *= x->dims[i];
	if (!k || k > INT32_MAX || x->count / k > INT32_MAX)
		return FAIL("layer '%s': %zu inputs a row", l->name, k);
	f->k = (int)k;
	f->rows = (int)(x->count / k);
	wt = feat_layer_weight(l, n, 0);
	if (!wt || wt->ndim != 2 || (int)wt->dims[1] != f->k)
		return FAIL("layer '%s': weight 0 must be [Nout, %d]", l->name, f->k);
	f->nout = (int)wt->dims[0];
	if (!(f->w = weight(n, l, 0, (size_t)f->nout * f->k, "weights", why, whylen)))
		return FEAT_E_FORMAT;
	f->bias = feat_net_alloc(n, sizeof(float) * (size_t)f->nout);
	if (!f->bias)
		return FEAT_E_NOMEM;
	memset(f->bias, 0, sizeof(float) * (size_t)f->nout);
	if (l->ml->nweight > 1) {
		if (!(b = weight(n, l, 1, (size_t)f->nout, "bias", why, whylen)))
			return FEAT_E_FORMAT;
		memcpy(f->bias, b, sizeof(float) * (size_t)f->nout);
	}
	memcpy(od, x->dims, sizeof od);
	od[axis] = (uint32_t)f->nout;
	set_shape(OUT(n, l, 0), (int)axis + 1, od);
	l->params = (uint64_t)f->nout * f->k + (uint64_t)f->nout;
	l->macs = (uint64_t)f->nout * f->k * (uint64_t)f->rows;
	l->priv = f;
	return feat_qfc_setup(n, l, f->k, f->nout, &f->q, why, whylen);
}

struct fc_par {
	const struct fc *f;
	const struct feat_layer *l;
	const float *x;
	float *y;
	int batch, cols;
};

/* Outputs [cols i0, cols i1) of every image: rows of W, columns of C. */
static void fc_piece(void *arg, long i0, long i1, int worker)
{
	const struct fc_par *P = arg;
	const struct fc *f = P->f;
	long j0 = i0 * P->cols, j1 = i1 * P->cols < f->nout ? i1 * P->cols : f->nout;
	struct feat_sgemm_args a = {
		.transB = 1, .M = P->batch, .N = (int)(j1 - j0), .K = f->k, .alpha = 1,
		.A = P->x, .lda = f->k,
		.B = f->w + (size_t)j0 * f->k, .ldb = f->k, .beta = 0,
		.C = P->y + j0, .ldc = f->nout,
		.bias = f->bias + j0, .bias_kind = FEAT_BIAS_COL,
		.relu = P->l->act == FEAT_ACT_RELU,
		.bpack = f->bp.p && j0 == 0 && j1 == f->nout ? &f->bp : NULL,
		.whole_m = P->batch, .whole_n = f->nout,
	};

	(void)worker;
	feat_kern_sgemm(NULL, &a);
	if (P->l->act != FEAT_ACT_RELU)
		for (int b = 0; b < P->batch; b++)
			apply_act(P->y + (size_t)b * f->nout + j0, (size_t)(j1 - j0), P->l->act,
				  P->l->act_alpha);
}

static void fc_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct fc *f = l->priv;
	int T = par_threads(n, l, batch);
	struct fc_par P = {
		.f = f, .l = l, .x = feat_net_data(n, l->in[0]),
		.y = feat_net_data(n, l->out[0]), .batch = batch * f->rows, .cols = f->nout,
	};

	if (f->q && !feat_qfc_forward(n, f->q, f->w, f->bias, P.x, P.y, P.batch,
				      l->act == FEAT_ACT_RELU, T)) {
		if (l->act != FEAT_ACT_RELU && l->act != FEAT_ACT_NONE)
			apply_act(P.y, (size_t)P.batch * f->nout, l->act, l->act_alpha);
		return;
	}
	/* columns in multiples of 16, at least 4 pieces per thread */
	if (T > 1)
		P.cols = (int)(cdiv(cdiv(f->nout, 4L * T), 16) * 16);
	else if (P.batch > 1 && !f->bp_tried && (size_t)f->nout * f->k <= FC_PACK_MAX) {
		/* the weights are the GEMM's B, packed on every call
		 * otherwise: once, here (stays NULL where the path reads B
		 * as it is, or out of memory: the unpacked call runs) */
		struct fc *fw = l->priv;

		fw->bp_tried = 1;
		(void)feat_kern_pack_b(feat_kern_active(), &fw->bp, f->w, f->k, 1, f->k,
				       f->nout);
	}
	feat_threadpool_for(T > 1 ? n->pool : NULL, cdiv(f->nout, P.cols), 1, fc_piece, &P);
}

static void fc_release(struct feat_layer *l)
{
	struct fc *f = l->priv;

	if (f) {
		free(f->w_own);
		feat_sgemm_apack_free(&f->bp);
		feat_qfc_free(f->q);
	}
}

/* -------------------------------------------------------- L2 normalize */

struct l2n {
	int c;
	size_t inner;
	float eps;
	const float *scale;
	int shared;
	int mode;            /* eps_mode: 0 in the root, 1 a floor, 2 added */
};

static int l2norm_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct l2n *p = feat_net_alloc(n, sizeof *p);
	const struct feat_mtensor *t;
	struct feat_blob *x;
	double eps;
	int64_t mode;
	int e;

	if (!p)
		return FEAT_E_NOMEM;
	if ((e = want_io(l, 1, 1, why, whylen)) ||
	    (e = feat_param_float(l, "eps", 1e-10, &eps, why, whylen)) ||
	    (e = feat_param_int(l, "eps_mode", 0, 0, 2, &mode, why, whylen)))
		return e;
	p->mode = (int)mode;
	x = IN(n, l, 0);
	if (x->ndim < 2)
		return FAIL("layer '%s': input has no channel axis", l->name);
	p->c = (int)x->dims[1];
	p->inner = x->count / x->dims[1];
	p->eps = (float)eps;
	t = feat_layer_weight(l, n, 0);
	p->shared = t && t->nbytes == sizeof(float);
	if (!(p->scale = weight(n, l, 0, p->shared ? 1 : (size_t)p->c, "scale", why, whylen)))
		return FEAT_E_FORMAT;
	set_shape(OUT(n, l, 0), x->ndim, x->dims);
	l->params = p->shared ? 1 : (uint64_t)p->c;
	l->macs = 2 * x->count;
	l->priv = p;
	return 0;
}

struct l2n_par {
	const struct l2n *p;
	struct feat_net *n;
	const float *X;
	float *Y;
	long per;            /* pieces per image */
	size_t len;          /* positions per piece */
};

/* Pieces of positions of one image: the sums over channels at each, in
 * the thread's workspace (sized at setup for a whole image), then the
 * scaled output at the same positions. */
static void l2norm_piece(void *arg, long it0, long it1, int worker)
{
	const struct l2n_par *P = arg;
	const struct l2n *p = P->p;
	float *ss = feat_net_scratch(P->n, worker);

	for (long it = it0; it < it1; it++) {
		size_t b = (size_t)(it / P->per), i0 = (size_t)(it % P->per) * P->len;
		size_t i1 = i0 + P->len < p->inner ? i0 + P->len : p->inner;
		const float *x = P->X + b * p->c * p->inner;
		float *y = P->Y + b * p->c * p->inner;

		for (size_t i = i0; i < i1; i++)
			ss[i] = 0;
		for (int c = 0; c < p->c; c++)
			for (size_t i = i0; i < i1; i++)
				ss[i] += x[c * p->inner + i] * x[c * p->inner + i];
		if (p->mode == 1)
			for (size_t i = i0; i < i1; i++)
				ss[i] = 1.0f / fmaxf(sqrtf(ss[i]), p->eps);
		else if (p->mode == 2)
			for (size_t i = i0; i < i1; i++)
				ss[i] = 1.0f / (sqrtf(ss[i]) + p->eps);
		else
			for (size_t i = i0; i < i1; i++)
				ss[i] = 1.0f / sqrtf(ss[i] + p->eps);
		for (int c = 0; c < p->c; c++) {
			float s = p->scale[p->shared ? 0 : c];

			for (size_t i = i0; i < i1; i++)
				y[c * p->inner + i] = x[c * p->inner + i] * ss[i] * s;
		}
	}
}

static void l2norm_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct l2n *p = l->priv;
	int T = par_threads(n, l, batch);
	struct l2n_par P = {
		.p = p, .n = n,
		.X = feat_net_data(n, l->in[0]), .Y = feat_net_data(n, l->out[0]),
		.per = 1, .len = p->inner,
	};

	if (T > 1) {
		/* whole cache lines of positions, a few pieces per thread */
		P.len = (size_t)cdiv(cdiv((long)p->inner, cdiv(4L * T, batch)), 16) * 16;
		P.per = cdiv((long)p->inner, (long)P.len);
	}
	feat_threadpool_for(T > 1 ? n->pool : NULL, batch * P.per, 1, l2norm_piece, &P);
}

static int l2norm_setup_scratch(struct feat_net *n, struct feat_layer *l, char *why,
	size_t whylen)
{
	int e = l2norm_setup(n, l, why, whylen);

	return e ? e : feat_net_grow_scratch(n, ((struct l2n *)l->priv)->inner);
}

/* ---------------------------------------- shape layers: flatten, reshape */

static int flatten_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct feat_blob *x;
	int64_t axis, end;
	uint32_t od[FEAT_MAX_DIMS];
	int e, k;

	if ((e = want_io(l, 1, 1, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if ((e = feat_param_int(l, "axis", 1, 1, x->ndim > 1 ? x->ndim - 1 : 1, &axis,
				why, whylen)) ||
	    (e = feat_param_int(l, "end_axis", -1, -x->ndim, x->ndim - 1, &end, why, whylen)))
		return e;
	if (end < 0)
		end += x->ndim;
	/* Caffe's count(axis, end_axis + 1): end_axis = axis - 1 inserts a 1 */
	if (end < axis - 1)
		return FAIL("layer '%s': end_axis %lld is before axis %lld", l->name,
			    (long long)end, (long long)axis);
	for (int i = 0; i < axis; i++)
		od[i] = x->dims[i];
	od[axis] = 1;
	for (int i = (int)axis; i <= end; i++)
		od[axis] *= x->dims[i];
	k = (int)axis + 1;
	for (int i = (int)(end > axis - 1 ? end : axis - 1) + 1; i < x->ndim; i++)
		od[k++] = x->dims[i];
	set_shape(OUT(n, l, 0), k, od);
	return 0;
}

static int reshape_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	const struct feat_value *s = feat_param(l, "shape");
	struct feat_blob *x;
	uint32_t od[FEAT_MAX_DIMS];
	int infer = -1, e;
	size_t known = 1;

	if ((e = want_io(l, 1, 1, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if (!s || s->type != FEAT_V_INTS || s->n < 1 || s->n > FEAT_MAX_DIMS ||
	    (s->u.ints[0] != 0 && s->u.ints[0] != 1 && s->u.ints[0] != -1))
		return FAIL("layer '%s': 'shape' must be 1 to %d ints, the first 0 or 1 (the batch)",
			    l->name, FEAT_MAX_DIMS);
	od[0] = 1;
	for (uint32_t i = 1; i < s->n; i++) {
		int64_t v = s->u.ints[i];

		if (v == 0 && (int)i < x->ndim)
			od[i] = x->dims[i];
		else if (v == -1 && infer < 0)
			infer = (int)i, od[i] = 1;
		else if (v >= 1 && v <= 1 << 30)
			od[i] = (uint32_t)v;
		else
			return FAIL("layer '%s': bad dimension %lld in 'shape'", l->name, (long long)v);
		if ((int)i != infer)
			known *= od[i];
	}
	if (infer >= 0) {
		if (!known || x->count % known)
			return FAIL("layer '%s': cannot infer a dimension of 'shape' from %zu elements",
				    l->name, x->count);
		od[infer] = (uint32_t)(x->count / known);
		known *= od[infer];
	}
	if (known != x->count)
		return FAIL("layer '%s': 'shape' holds %zu elements, the input %zu",
			    l->name, known, x->count);
	set_shape(OUT(n, l, 0), (int)s->n, od);
	return 0;
}

/* Flatten and reshape of a dense blob only relabel it: the output is a view
 * when nothing else reads the input, else a copy. */
static void copy_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const float *x = feat_net_data(n, l->in[0]);
	float *y = feat_net_data(n, l->out[0]);

	if (x != y)
		memcpy(y, x, (size_t)batch * IN(n, l, 0)->count * sizeof(float));
}

/* -------------------------------------------------------------- permute */

struct perm {
	int ndim;
	uint32_t order[FEAT_MAX_DIMS];
	int rot;             /* k when order is (0, k+1 .. ndim-1, 1 .. k),
			      * a 2-D transpose; else 0 */
};

static int permute_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	const struct feat_value *o = feat_param(l, "order");
	struct perm *p = feat_net_alloc(n, sizeof *p);
	struct feat_blob *x;
	uint32_t od[FEAT_MAX_DIMS], seen = 0;
	int e;

	if (!p)
		return FEAT_E_NOMEM;
	if ((e = want_io(l, 1, 1, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if (!o || o->type != FEAT_V_INTS || (int)o->n != x->ndim || o->u.ints[0] != 0)
		return FAIL("layer '%s': 'order' must list the %d axes, 0 (the batch) first",
			    l->name, x->ndim);
	for (int i = 0; i < x->ndim; i++) {
		int64_t a = o->u.ints[i];

		if (a < 0 || a >= x->ndim || (seen >> a & 1))
			return FAIL("layer '%s': 'order' is not a permutation", l->name);
		seen |= 1u << a;
		p->order[i] = (uint32_t)a;
		od[i] = x->dims[a];
	}
	p->ndim = x->ndim;
	p->rot = 0;
	for (int k = 1; k < x->ndim - 1 && !p->rot; k++) {
		int i = 1;

		while (i < x->ndim && p->order[i] == (uint32_t)((i - 1 + k) % (x->ndim - 1) + 1))
			i++;
		if (i == x->ndim)
			p->rot = k;
	}
	set_shape(OUT(n, l, 0), x->ndim, od);
	l->priv = p;
	return 0;
}

static void permute_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct perm *p = l->priv;
	struct feat_blob *xb = IN(n, l, 0), *yb = OUT(n, l, 0);
	const float *X = feat_net_data(n, l->in[0]);
	float *Y = feat_net_data(n, l->out[0]);
	size_t xstride[FEAT_MAX_DIMS], s = 1;

	for (int i = p->ndim - 1; i >= 0; i--) {
		xstride[i] = s;
		s *= i ? xb->dims[i] : 1;
	}
	if (p->rot) {
		/* a rotation of the axes after the batch (NCHW -> NHWC: an SSD
		 * head's output) is the transpose of a rows x cols matrix:
		 * in tiles of 16 x 16, each read and written along lines */
		size_t rows = 1, cols;

		for (int i = 1; i <= p->rot; i++)
			rows *= xb->dims[i];
		cols = xb->count / rows;
		for (int b = 0; b < batch; b++) {
			const float *x = X + (size_t)b * xb->count;
			float *y = Y + (size_t)b * yb->count;

			for (size_t r0 = 0; r0 < rows; r0 += 16)
				for (size_t c0 = 0; c0 < cols; c0 += 16) {
					size_t r1 = r0 + 16 < rows ? r0 + 16 : rows;
					size_t c1 = c0 + 16 < cols ? c0 + 16 : cols;

					for (size_t c = c0; c < c1; c++)
						for (size_t r = r0; r < r1; r++)
							y[c * rows + r] = x[r * cols + c];
				}
		}
		return;
	}
	if (p->ndim >= 3 && p->order[p->ndim - 1] == p->ndim - 1) {
		/* the last axis stays (attention's [T, H, D] -> [H, T, D]):
		 * whole rows of it at a time */
		int last = p->ndim - 1;
		size_t row = yb->dims[last];

		for (int b = 0; b < batch; b++) {
			const float *x = X + (size_t)b * xb->count;
			float *y = Y + (size_t)b * yb->count;
			uint32_t idx[FEAT_MAX_DIMS] = { 0 };

			for (size_t j = 0; j < yb->count; j += row) {
				size_t off = 0;

				for (int i = 1; i < last; i++)
					off += idx[i] * xstride[p->order[i]];
				memcpy(y + j, x + off, row * sizeof(float));
				for (int i = last - 1; i >= 1; i--) {
					if (++idx[i] < yb->dims[i])
						break;
					idx[i] = 0;
				}
			}
		}
		return;
	}
	for (int b = 0; b < batch; b++) {
		const float *x = X + (size_t)b * xb->count;
		float *y = Y + (size_t)b * yb->count;
		uint32_t idx[FEAT_MAX_DIMS] = { 0 };

		for (size_t j = 0; j < yb->count; j++) {
			size_t off = 0;

			for (int i = 1; i < p->ndim; i++)
				off += idx[i] * xstride[p->order[i]];
			y[j] = x[off];
			for (int i = p->ndim - 1; i >= 1; i--) {
				if (++idx[i] < yb->dims[i])
					break;
				idx[i] = 0;
			}
		}
	}
}

/* ------------------------------------------------------ concat, softmax */

static int axis_setup(struct feat_layer *l, struct feat_blob *x, int64_t *axis,
	char *why, size_t whylen)
{
	int e = feat_param_int(l, "axis", 1, -x->ndim + 1, x->ndim - 1, axis, why, whylen);

	if (!e && *axis < 0)
		*axis += x->ndim;
	if (!e && *axis == 0)
		return FAIL("layer '%s': axis 0 is the batch", l->name);
	return e;
}

static int concat_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct feat_blob *a;
	uint32_t od[FEAT_MAX_DIMS];
	int64_t axis;
	int e;

	if ((e = want_io(l, -1, 1, why, whylen)))
		return e;
	a = IN(n, l, 0);
	if ((e = axis_setup(l, a, &axis, why, whylen)))
		return e;
	memcpy(od, a->dims, sizeof od);
	for (int i = 1; i < l->nin; i++) {
		struct feat_blob *b = IN(n, l, i);

		if (b->ndim != a->ndim)
			return FAIL("layer '%s': inputs of different rank", l->name);
		for (int d = 1; d < a->ndim; d++)
			if (d != axis && b->dims[d] != a->dims[d])
				return FAIL("layer '%s': input '%s' differs from '%s' off the concat axis",
					    l->name, b->name, a->name);
		od[axis] += b->dims[axis];
	}
	set_shape(OUT(n, l, 0), a->ndim, od);
	l->priv = (void *)(intptr_t)axis;
	return 0;
}

static void concat_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	int axis = (int)(intptr_t)l->priv;
	struct feat_blob *yb = OUT(n, l, 0);
	float *Y = feat_net_data(n, l->out[0]);
	size_t inner = 1, yrow;

	for (int d = axis + 1; d < yb->ndim; d++)
		inner *= yb->dims[d];
	yrow = yb->dims[axis] * inner;
	for (int b = 0; b < batch; b++) {
		size_t outer = yb->count / yrow, at = 0;

		for (int i = 0; i < l->nin; i++) {
			struct feat_blob *xb = IN(n, l, i);
			const float *x = feat_net_data(n, l->in[i]) + (size_t)b * xb->count;
			size_t xrow = xb->dims[axis] * inner;

			for (size_t o = 0; o < outer; o++)
				memcpy(Y + (size_t)b * yb->count + o * yrow + at, x + o * xrow,
				       xrow * sizeof(float));
			at += xrow;
		}
	}
}

static int softmax_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	int64_t axis;
	int e = same_setup(n, l, why, whylen);

	if (e || (e = axis_setup(l, IN(n, l, 0), &axis, why, whylen)))
		return e;
	l->priv = (void *)(intptr_t)axis;
	return 0;
}

/* e^x for x <= 0 (softmax subtracts the maximum first): Cody-Waite
 * reduction to r in [-ln2/2, ln2/2] and Cephes's degree-6 polynomial,
 * within 2 ulp of expf; no libm call, so the loop vectorises. */
static inline float exp_nonpos(float x)
{
	union { float f; int32_t i; } u;
	float n, r, p, xn;

	/* a NaN (a row holding NaN or infinities) must not reach the
	 * conversion to int, which it would make undefined: n is taken
	 * from -87 instead, and r, hence the result, stays NaN.  xn comes
	 * from the x given, not the clamped one: clang 14 folds a clamp
	 * of the clamp as if NaN were not there */
	xn = x >= -87.0f ? x : -87.0f;
	x = x < -87.0f ? -87.0f : x;
	n = (float)(int32_t)(xn * 1.44269504088896341f - 0.5f);
	r = x - n * 0.693359375f + n * 2.12194440e-4f;
	p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	u.i = ((int32_t)n + 127) << 23;
	return p * u.f;
}

static void softmax_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	int axis = (int)(intptr_t)l->priv;
	struct feat_blob *xb = IN(n, l, 0);
	const float *X = feat_net_data(n, l->in[0]);
	float *Y = feat_net_data(n, l->out[0]);
	size_t inner = 1, c = xb->dims[axis];

	for (int d = axis + 1; d < xb->ndim; d++)
		inner *= xb->dims[d];
	if (inner == 1) {
		/* rows of c contiguous values: the table's kernel */
		feat_kern_active()->softmax(X, Y, (size_t)batch * xb->count / c, c);
		return;
	}
	for (size_t o = 0; o < (size_t)batch * xb->count / (c * inner); o++)
		for (size_t i = 0; i < inner; i++) {
			const float *x = X + o * c * inner + i;
			float *y = Y + o * c * inner + i;
			float m = -INFINITY, r;
			double s = 0;

			for (size_t k = 0; k < c; k++)
				m = x[k * inner] > m ? x[k * inner] : m;
			for (size_t k = 0; k < c; k++)
				s += y[k * inner] = exp_nonpos(x[k * inner] - m);
			/* one division per row, not per element */
			r = (float)(1.0 / s);
			for (size_t k = 0; k < c; k++)
				y[k * inner] *= r;
		}
}

/* ------------------------------------------ layers for ONNX's operators */

static void *feat_net_zalloc(struct feat_net *n, size_t bytes)
{
	void *p = feat_net_alloc(n, bytes);

	if (p)
		memset(p, 0, bytes);
	return p;
}

/*
 * hardsigmoid alpha=0.2, beta=0.5: y = min(max(alpha x + beta, 0), 1);
 * hardswish: y = x hardsigmoid(x) with alpha 1/6 (MobileNetV3);
 * clip min=-inf, max=inf; prelu: y = x < 0 ? slope x : x, weight slope
 * [C] (per channel, axis 1) or [1].
 */
static int act2_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct act2 *a = feat_net_zalloc(n, sizeof *a);
	int hs = !strcmp(l->ops->type, "hardswish");
	double al, be, lo, hi;
	int e = same_setup(n, l, why, whylen);

	if (!a)
		return FEAT_E_NOMEM;
	if (e || (e = feat_param_float(l, "alpha", hs ? 1.0 / 6 : 0.2, &al, why, whylen)) ||
	    (e = feat_param_float(l, "beta", 0.5, &be, why, whylen)) ||
	    (e = feat_param_float(l, "min", -INFINITY, &lo, why, whylen)) ||
	    (e = feat_param_float(l, "max", INFINITY, &hi, why, whylen)))
		return e;
	if (isnan(al) || isnan(be) || isnan(lo) || isnan(hi) || lo > hi)
		return FAIL("layer '%s': bad alpha, beta, min or max", l->name);
	a->alpha = (float)al, a->beta = (float)be, a->lo = (float)lo, a->hi = (float)hi;
	if (!strcmp(l->ops->type, "prelu")) {
		const struct feat_mtensor *t = feat_layer_weight(l, n, 0);
		struct feat_blob *x = IN(n, l, 0);
		size_t c = t && t->dtype == FEAT_DT_F32 ? t->nbytes / sizeof(float) : 0;

		if (c != 1 && (x->ndim < 2 || c != x->dims[1]))
			return FAIL("layer '%s': slope must be 1 value or one a channel (f32)", l->name);
		if (!(a->slope = weight(n, l, 0, c, "slope", why, whylen)))
			return FEAT_E_FORMAT;
		a->c = c;
		a->inner = c == 1 ? x->count : x->count / c;
		if (c == 1)
			a->c = 1;
	}
	l->priv = a;
	return 0;
}

static void act2_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct act2 *a = l->priv;
	const float *x = feat_net_data(n, l->in[0]);
	float *y = feat_net_data(n, l->out[0]);
	size_t cnt = (size_t)batch * IN(n, l, 0)->count;
	char t = l->ops->type[0];

	if (t == 'p') {          /* prelu */
		for (size_t i = 0; i < cnt; i++) {
			float s = a->slope[(i / a->inner) % a->c];

			y[i] = x[i] < 0 ? s * x[i] : x[i];
		}
	} else if (t == 'c') {   /* clip */
		for (size_t i = 0; i < cnt; i++)
			y[i] = x[i] < a->lo ? a->lo : x[i] > a->hi ? a->hi : x[i];
	} else if (a->beta == 0.5f) {
		/* the table's vectorised form (kern/act.h) */
		if (x != y)
			memcpy(y, x, cnt * sizeof(float));
		apply_act(y, cnt, !strcmp(l->ops->type, "hardswish") ? FEAT_ACT_HSWISH :
			  FEAT_ACT_HSIG, a->alpha);
	} else {
		int sw = !strcmp(l->ops->type, "hardswish");

		for (size_t i = 0; i < cnt; i++) {
			float h = a->alpha * x[i] + a->beta;

			h = h < 0 ? 0 : h > 1 ? 1 : h;
			y[i] = sw ? x[i] * h : h;
		}
	}
}

/*
 * eltwise op=mul|add|sub|div: y = a op b with numpy's (ONNX's) broadcasting
 * over the axes after the batch.  Inputs: a and b of one rank, or a alone
 * and the weight b, whose shape is aligned on the right of a's axes after
 * the batch (const_first=1: the weight is the left operand, for sub and
 * div).  Each axis of the output is the larger of the two; the other must
 * be 1 or equal.
 */
/* The fast form of a op b (struct elt) for these shapes, 0 for none. */
static int elt_form(const uint32_t *ad, const uint32_t *bd, const uint32_t *od, int nd,
	size_t *inner)
{
	int k2 = nd, k3 = 1;

	for (int i = 1; i < nd; i++)
		if (ad[i] != od[i])
			return 0;
	/* b is 1 on the axes [k2, nd) and a's on [1, k2): one value a block */
	while (k2 > 1 && bd[k2 - 1] == 1)
		k2--;
	/* b is 1 on the axes [1, k3) and a's on [k3, nd): one row repeated */
	while (k3 < nd && bd[k3] == 1)
		k3++;
	*inner = 1;
	for (int i = 1; i < k2 && k2 < nd; i++)
		if (bd[i] != ad[i])
			k2 = -1;
	if (k2 == nd) {
		for (int i = 1; i < nd; i++)
			if (bd[i] != ad[i])
				k2 = -1;
		if (k2 == nd)
			return 1;
	}
	if (k2 > 0) {
		for (int i = k2; i < nd; i++)
			*inner *= ad[i];
		return 2;
	}
	for (int i = k3; i < nd; i++)
		if (bd[i] != ad[i])
			return 0;
	if (k3 == 1)
		return 0;
	for (int i = k3; i < nd; i++)
		*inner *= ad[i];
	return 3;
}

static int elt_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct elt *p = feat_net_zalloc(n, sizeof *p);
	const struct feat_value *op = feat_param(l, "op");
	static const char *const names[] = { "mul", "add", "sub", "div", "max", "min" };
	uint32_t ad[FEAT_MAX_DIMS], bd[FEAT_MAX_DIMS];
	int64_t cf;
	int e, nd;
	struct feat_blob *a;

	if (!p)
		return FEAT_E_NOMEM;
	if (l->nin != 1 && l->nin != 2)
		return want_io(l, 2, 1, why, whylen);
	if ((e = want_io(l, l->nin, 1, why, whylen)) ||
	    (e = feat_param_int(l, "const_first", 0, 0, 1, &cf, why, whylen)))
		return e;
	p->op = -1;
	for (int i = 0; op && op->type == FEAT_V_STR && i < 6; i++)
		if (!strcmp(op->u.s, names[i]))
			p->op = i;
	if (p->op < 0)
		return FAIL("layer '%s': 'op' must be mul, add, sub, div, max or min", l->name);
	p->cfirst = (int)cf;
	a = IN(n, l, 0);
	nd = a->ndim;
	memcpy(ad, a->dims, sizeof ad);
	for (int i = 0; i < nd; i++)
		bd[i] = 1;
	if (l->nin == 2) {
		struct feat_blob *b = IN(n, l, 1);

		if (b->ndim != nd)
			return FAIL("layer '%s': inputs '%s' and '%s' differ in rank", l->name, a->name,
				    b->name);
		memcpy(bd, b->dims, sizeof bd);
		p->bcount = b->count;
	} else {
		const struct feat_mtensor *t = feat_layer_weight(l, n, 0);

		if (!t || t->dtype != FEAT_DT_F32 || t->ndim > nd ||
		    (t->ndim == nd && t->dims[0] != 1))
			return FAIL("layer '%s': the weight must be f32 of rank under %d", l->name, nd);
		for (int i = 0; i < t->ndim; i++)
			bd[nd - t->ndim + i] = t->dims[i];
		{
			size_t c = 1;

			for (int i = 1; i < nd; i++)
				c *= bd[i];
			if (!(p->w = weight(n, l, 0, c, "operand", why, whylen)))
				return FEAT_E_FORMAT;
		}
	}
	{
		size_t s1 = 1, s2 = 1;

		for (int i = nd - 1; i >= 1; i--) {
			if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1)
				return FAIL("layer '%s': shapes do not broadcast along axis %d (%u and %u)",
					    l->name, i, ad[i], bd[i]);
			p->od[i] = ad[i] > bd[i] ? ad[i] : bd[i];
			p->sa[i] = ad[i] == 1 ? 0 : s1;
			p->sb[i] = bd[i] == 1 ? 0 : s2;
			s1 *= ad[i], s2 *= bd[i];
		}
	}
	p->od[0] = 1;
	p->nd = nd;
	p->fast = elt_form(ad, bd, p->od, nd, &p->inner);
	if (!p->fast && l->nin == 2 && (p->fast = elt_form(bd, ad, p->od, nd, &p->inner)))
		p->swap = 1;   /* SE blocks' scale * x: b is the full one */
	set_shape(OUT(n, l, 0), nd, p->od);
	l->macs = 1;
	for (int i = 1; i < nd; i++)
		l->macs *= p->od[i];
	l->priv = p;
	return 0;
}

static inline float elt_op(int op, float a, float b)
{
	switch (op) {
	case 0: return a * b;
	case 1: return a + b;
	case 2: return a - b;
	case 3: return a / b;
	case 4: return a > b ? a : b;
	default: return a < b ? a : b;
	}
}

/* y = a op b over m values, b[j * bs] (bs 0: one value); the operation
 * chosen outside the loops, so that each vectorises. */
static void elt_run(int op, int cfirst, float *restrict y, const float *restrict a,
	const float *restrict b, size_t bs, size_t m)
{
/* chunks of 16 with a fixed inner count, which GCC's -O2 vectorises */
#define ELT_LOOP(expr) \
	do { \
		size_t j = 0; \
		if (bs) { \
			for (; j + 16 <= m; j += 16) \
				for (int u = 0; u < 16; u++) { \
					float A = a[j + u], B = b[j + u]; \
					y[j + u] = expr; \
				} \
			for (; j < m; j++) { \
				float A = a[j], B = b[j]; \
				y[j] = expr; \
			} \
		} else { \
			float B = b[0]; \
			for (; j + 16 <= m; j += 16) \
				for (int u = 0; u < 16; u++) { \
					float A = a[j + u]; \
					y[j + u] = expr; \
				} \
			for (; j < m; j++) { \
				float A = a[j]; \
				y[j] = expr; \
			} \
		} \
	} while (0)
	switch (op) {
	case 0: ELT_LOOP(A * B); break;
	case 1: ELT_LOOP(A + B); break;
	case 2: if (cfirst) ELT_LOOP(B - A); else ELT_LOOP(A - B); break;
	case 3: if (cfirst) ELT_LOOP(B / A); else ELT_LOOP(A / B); break;
	default:
		for (size_t j = 0; j < m; j++)
			y[j] = cfirst ? elt_op(op, b[j * bs], a[j]) : elt_op(op, a[j], b[j * bs]);
	}
#undef ELT_LOOP
}

/* The input of l that is a map times one value a channel (an SE block's
 * excitation: x * s, s [C, 1, 1]), or -1: the form that reads and writes
 * NCHW16c as well (nchwc_plan). */
static int elt_nc_input(const struct feat_layer *l)
{
	const struct elt *p = l->priv;

	if (!p || p->op != 0 || p->nd != 4 || p->fast != 2 ||
	    p->inner != (size_t)p->od[2] * p->od[3] || p->od[1] % 16)
		return -1;
	return p->swap ? 1 : 0;
}

/* x * s of elt_nc_input with either side channel-blocked: the table's
 * nchwc_mul, in one pass. */
static void elt_nc_forward(struct feat_net *n, struct feat_layer *l, int batch, int xi)
{
	const struct elt *p = l->priv;
	const struct feat_kern *k = feat_kern_active();
	int in_nc = feat_net_blob_nchwc(n, l->in[xi]), out_nc = feat_net_blob_nchwc(n, l->out[0]);
	size_t plane = p->inner, count = (size_t)p->od[1] * plane;
	int C = (int)p->od[1];

	for (int bt = 0; bt < batch; bt++)
		k->nchwc_mul(feat_net_data(n, l->in[xi]) + (size_t)bt * count, in_nc, C, plane,
			     p->w ? p->w : feat_net_data(n, l->in[1 - xi]) + (size_t)bt * C,
			     feat_net_data(n, l->out[0]) + (size_t)bt * count, out_nc);
}

int feat_layer_nc_reads(const struct feat_layer *l, int k)
{
	if (l->removed)
		return 0;
	if (!strcmp(l->ops->type, "pool"))
		return pool_global_avg(l->priv) || ((const struct pool *)l->priv)->max;
	if (!strcmp(l->ops->type, "eltwise"))
		return elt_nc_input(l) == k;
	return 0;
}

int feat_layer_nc_writes(const struct feat_layer *l)
{
	if (l->removed)
		return 0;
	if (!strcmp(l->ops->type, "pool"))
		return ((const struct pool *)l->priv)->max && ((const struct pool *)l->priv)->c % 16 == 0;
	return !strcmp(l->ops->type, "eltwise") && elt_nc_input(l) >= 0;
}

size_t feat_layer_nc_scratch(const struct feat_net *n, const struct feat_layer *l)
{
	const struct pool *p = l->priv;

	if (l->removed || strcmp(l->ops->type, "pool") || !p->max ||
	    feat_net_blob_nchwc(n, l->in[0]) == feat_net_blob_nchwc(n, l->out[0]))
		return 0;
	return (size_t)p->c * p->hin * p->win + (size_t)p->c * p->hout * p->wout;
}

static void elt_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct elt *p = l->priv;
	struct feat_blob *ab = IN(n, l, 0), *yb = OUT(n, l, 0);
	int nd = p->nd, last = nd - 1;
	size_t inner = nd > 1 ? p->od[last] : 1, outer = yb->count / inner;
	int xi = elt_nc_input(l);

	if (xi >= 0 && (feat_net_blob_nchwc(n, l->in[xi]) || feat_net_blob_nchwc(n, l->out[0]))) {
		elt_nc_forward(n, l, batch, xi);
		return;
	}

	for (int bt = 0; p->fast && bt < batch; bt++) {
		const float *A = feat_net_data(n, l->in[0]) + (size_t)bt * ab->count;
		const float *B = p->w ? p->w : feat_net_data(n, l->in[1]) + (size_t)bt * p->bcount;
		float *Y = feat_net_data(n, l->out[0]) + (size_t)bt * yb->count;
		size_t in = p->inner, out = yb->count / in;
		int cf = p->cfirst;

		if (p->swap) {
			const float *t = A;

			A = B, B = t, cf = !cf;
		}
		if (p->fast == 1)
			elt_run(p->op, cf, Y, A, B, 1, yb->count);
		else
			for (size_t o = 0; o < out; o++)
				elt_run(p->op, cf, Y + o * in, A + o * in,
					p->fast == 2 ? B + o : B, p->fast == 2 ? 0 : 1, in);
	}
	for (int bt = 0; !p->fast && bt < batch; bt++) {
		const float *A = feat_net_data(n, l->in[0]) + (size_t)bt * ab->count;
		const float *B = p->w ? p->w : feat_net_data(n, l->in[1]) + (size_t)bt * p->bcount;
		float *Y = feat_net_data(n, l->out[0]) + (size_t)bt * yb->count;
		uint32_t idx[FEAT_MAX_DIMS] = { 0 };
		size_t ia = nd > 1 ? p->sa[last] : 0, ib = nd > 1 ? p->sb[last] : 0;

		for (size_t o = 0; o < outer; o++) {
			size_t oa = 0, ob = 0;
			float *y = Y + o * inner;

			for (int i = 1; i < last; i++)
				oa += idx[i] * p->sa[i], ob += idx[i] * p->sb[i];
			if (p->cfirst)
				for (size_t j = 0; j < inner; j++)
					y[j] = elt_op(p->op, B[ob + j * ib], A[oa + j * ia]);
			else
				for (size_t j = 0; j < inner; j++)
					y[j] = elt_op(p->op, A[oa + j * ia], B[ob + j * ib]);
			for (int i = last - 1; i >= 1; i--) {
				if (++idx[i] < p->od[i])
					break;
				idx[i] = 0;
			}
		}
	}
}

/*
 * pad pads: 2 x rank ints (the begins of every axis, then the ends, as
 * ONNX lists them; the batch's two must be 0), value=0: constant padding.
 */
struct padp {
	int nd;
	uint32_t od[FEAT_MAX_DIMS];
	int64_t lo[FEAT_MAX_DIMS], hi[FEAT_MAX_DIMS];
	float value;
};

static int pad_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct padp *p = feat_net_zalloc(n, sizeof *p);
	const struct feat_value *v = feat_param(l, "pads");
	struct feat_blob *x;
	double val;
	int e;

	if (!p)
		return FEAT_E_NOMEM;
	if ((e = want_io(l, 1, 1, why, whylen)) ||
	    (e = feat_param_float(l, "value", 0, &val, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if (!v || v->type != FEAT_V_INTS || (int)v->n != 2 * x->ndim || v->u.ints[0] ||
	    v->u.ints[x->ndim])
		return FAIL("layer '%s': 'pads' must hold %d ints, none on the batch", l->name,
			    2 * x->ndim);
	for (int i = 0; i < x->ndim; i++) {
		int64_t a = v->u.ints[i], b = v->u.ints[x->ndim + i];

		if (a < 0 || b < 0 || a > 1 << 20 || b > 1 << 20)
			return FAIL("layer '%s': pads must be from 0 to %d", l->name, 1 << 20);
		p->lo[i] = a;
		p->hi[i] = b;
		p->od[i] = x->dims[i] + (uint32_t)(a + b);
	}
	p->nd = x->ndim;
	p->value = (float)val;
	set_shape(OUT(n, l, 0), x->ndim, p->od);
	l->priv = p;
	return 0;
}

static void pad_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct padp *p = l->priv;
	struct feat_blob *xb = IN(n, l, 0), *yb = OUT(n, l, 0);
	int last = p->nd - 1;
	size_t inner = xb->dims[last], outer = xb->count / inner, ys[FEAT_MAX_DIMS], s = 1;

	for (int i = p->nd - 1; i >= 1; i--)
		ys[i] = s, s *= p->od[i];
	for (int bt = 0; bt < batch; bt++) {
		const float *x = feat_net_data(n, l->in[0]) + (size_t)bt * xb->count;
		float *y = feat_net_data(n, l->out[0]) + (size_t)bt * yb->count;
		uint32_t idx[FEAT_MAX_DIMS] = { 0 };

		for (size_t i = 0; i < yb->count; i++)
			y[i] = p->value;
		for (size_t o = 0; o < outer; o++) {
			size_t off = (size_t)p->lo[last];

			for (int i = 1; i < last; i++)
				off += (idx[i] + (size_t)p->lo[i]) * ys[i];
			memcpy(y + off, x + o * inner, inner * sizeof(float));
			for (int i = last - 1; i >= 1; i--) {
				if (++idx[i] < xb->dims[i])
					break;
				idx[i] = 0;
			}
		}
	}
}

/*
 * reduce mode=mean|sum|max, axes (ints, after the batch), keepdims=1.
 * slice axis, start, end (end clamped), step=1.
 */
struct red {
	int mode, nd;
	uint32_t red[FEAT_MAX_DIMS];     /* 1: the axis is reduced */
	size_t ostride[FEAT_MAX_DIMS];   /* output stride of each input axis, 0 reduced */
	size_t per;                      /* inputs per output */
	int64_t axis, start, end, step;  /* slice */
};

static int reduce_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct red *r = feat_net_zalloc(n, sizeof *r);
	const struct feat_value *m = feat_param(l, "mode"), *ax = feat_param(l, "axes");
	struct feat_blob *x;
	uint32_t od[FEAT_MAX_DIMS], kd[FEAT_MAX_DIMS];
	int64_t keep;
	int e, no = 0;
	size_t s = 1;

	if (!r)
		return FEAT_E_NOMEM;
	if ((e = want_io(l, 1, 1, why, whylen)) ||
	    (e = feat_param_int(l, "keepdims", 1, 0, 1, &keep, why, whylen)))
		return e;
	x = IN(n, l, 0);
	r->mode = !m || m->type != FEAT_V_STR ? -1 : !strcmp(m->u.s, "mean") ? 0 :
		  !strcmp(m->u.s, "sum") ? 1 : !strcmp(m->u.s, "max") ? 2 : -1;
	if (r->mode < 0)
		return FAIL("layer '%s': 'mode' must be mean, sum or max", l->name);
	if (!ax || ax->type != FEAT_V_INTS || ax->n < 1 || (int)ax->n >= x->ndim)
		return FAIL("layer '%s': 'axes' must list axes after the batch", l->name);
	for (uint32_t i = 0; i < ax->n; i++) {
		int64_t a = ax->u.ints[i] < 0 ? ax->u.ints[i] + x->ndim : ax->u.ints[i];

		if (a < 1 || a >= x->ndim || r->red[a])
			return FAIL("layer '%s': bad axis %lld in 'axes'", l->name,
				    (long long)ax->u.ints[i]);
		r->red[a] = 1;
	}
	r->nd = x->ndim;
	r->per = 1;
	for (int i = 0; i < x->ndim; i++) {
		kd[i] = r->red[i] ? 1 : x->dims[i];
		if (r->red[i])
			r->per *= x->dims[i];
		else
			od[no++] = x->dims[i];
	}
	for (int i = x->ndim - 1; i >= 1; i--) {
		r->ostride[i] = r->red[i] ? 0 : s;
		s *= kd[i];
	}
	if (keep)
		set_shape(OUT(n, l, 0), x->ndim, kd);
	else
		set_shape(OUT(n, l, 0), no, od);
	l->macs = x->count;
	l->priv = r;
	return 0;
}

static void reduce_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct red *r = l->priv;
	struct feat_blob *xb = IN(n, l, 0), *yb = OUT(n, l, 0);

	for (int bt = 0; bt < batch; bt++) {
		const float *x = feat_net_data(n, l->in[0]) + (size_t)bt * xb->count;
		float *y = feat_net_data(n, l->out[0]) + (size_t)bt * yb->count;
		uint32_t idx[FEAT_MAX_DIMS] = { 0 };
		size_t off = 0;

		for (size_t i = 0; i < yb->count; i++)
			y[i] = r->mode == 2 ? -INFINITY : 0;
		for (size_t i = 0; i < xb->count; i++) {
			y[off] = r->mode == 2 ? (x[i] > y[off] ? x[i] : y[off]) : y[off] + x[i];
			for (int d = r->nd - 1; d >= 1; d--) {
				off += r->ostride[d];
				if (++idx[d] < xb->dims[d])
					break;
				off -= r->ostride[d] * idx[d];
				idx[d] = 0;
			}
		}
		if (r->mode == 0)
			for (size_t i = 0; i < yb->count; i++)
				y[i] /= (float)r->per;
	}
}

static int slice_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct red *r = feat_net_zalloc(n, sizeof *r);
	struct feat_blob *x;
	uint32_t od[FEAT_MAX_DIMS];
	int e;

	if (!r)
		return FEAT_E_NOMEM;
	if ((e = want_io(l, 1, 1, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if ((e = axis_setup(l, x, &r->axis, why, whylen)) ||
	    (e = feat_param_int(l, "start", 0, 0, x->dims[r->axis] - 1, &r->start, why, whylen)) ||
	    (e = feat_param_int(l, "end", x->dims[r->axis], r->start + 1, INT64_MAX, &r->end,
				why, whylen)) ||
	    (e = feat_param_int(l, "step", 1, 1, 1 << 30, &r->step, why, whylen)))
		return e;
	if (r->end > x->dims[r->axis])
		r->end = x->dims[r->axis];
	memcpy(od, x->dims, sizeof od);
	od[r->axis] = (uint32_t)((r->end - r->start + r->step - 1) / r->step);
	set_shape(OUT(n, l, 0), x->ndim, od);
	l->priv = r;
	return 0;
}

static void slice_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct red *r = l->priv;
	struct feat_blob *xb = IN(n, l, 0), *yb = OUT(n, l, 0);
	size_t inner = 1, c = xb->dims[r->axis], oc = yb->dims[r->axis], outer;
	const float *X = feat_net_data(n, l->in[0]);
	float *Y = feat_net_data(n, l->out[0]);

	for (int d = (int)r->axis + 1; d < xb->ndim; d++)
		inner *= xb->dims[d];
	outer = (size_t)batch * xb->count / (c * inner);
	if (r->step == 1) {
		/* one run of oc * inner values an outer index (ViT's q, k, v
		 * out of one [T, 3 D] row: D values at a time, not one) */
		for (size_t o = 0; o < outer; o++)
			memcpy(Y + o * oc * inner, X + (o * c + (size_t)r->start) * inner,
			       oc * inner * sizeof(float));
		return;
	}
	for (size_t o = 0; o < outer; o++)
		for (size_t k = 0; k < oc; k++)
			memcpy(Y + (o * oc + k) * inner,
			       X + (o * c + (size_t)r->start + k * (size_t)r->step) * inner,
			       inner * sizeof(float));
}

/*
 * matmul: A [.., M, K] times B [.., K, N] (two inputs of one rank, at
 * least 3 with the batch), a GEMM of the active kernel path for each
 * matrix; the axes between the batch and the last two broadcast (numpy's
 * matmul): attention's scores Q K^T and their product with V.
 */
struct mm {
	float alpha;         /* the products' scale (1; a folded scalar Mul or
			      * Div of an input: fuse_scale in passes.c) */
	int nd, m, k, nn;
	uint32_t od[FEAT_MAX_DIMS];
	size_t sa[FEAT_MAX_DIMS], sb[FEAT_MAX_DIMS];   /* floats a step of each
							 * leading axis, 0 broadcast */
	size_t mats;                                    /* products an image */
};

void feat_layer_matmul_scale(struct feat_layer *l, float s)
{
	((struct mm *)l->priv)->alpha *= s;
}

static int matmul_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct mm *p = feat_net_zalloc(n, sizeof *p);
	struct feat_blob *a, *b;
	size_t s1, s2;
	int e, nd;

	if (!p)
		return FEAT_E_NOMEM;
	p->alpha = 1;
	if ((e = want_io(l, 2, 1, why, whylen)))
		return e;
	a = IN(n, l, 0), b = IN(n, l, 1);
	nd = a->ndim;
	if (b->ndim != nd || nd < 3)
		return FAIL("layer '%s': inputs of rank %d and %d (one rank, 3 or more with the batch)",
			    l->name, a->ndim, b->ndim);
	if (a->dims[nd - 1] != b->dims[nd - 2])
		return FAIL("layer '%s': [.., %u, %u] times [.., %u, %u]", l->name, a->dims[nd - 2],
			    a->dims[nd - 1], b->dims[nd - 2], b->dims[nd - 1]);
	if (a->dims[nd - 2] > INT32_MAX || a->dims[nd - 1] > INT32_MAX || b->dims[nd - 1] > INT32_MAX)
		return FAIL("layer '%s': matrices too large", l->name);
	p->nd = nd;
	p->m = (int)a->dims[nd - 2], p->k = (int)a->dims[nd - 1], p->nn = (int)b->dims[nd - 1];
	s1 = (size_t)p->m * p->k, s2 = (size_t)p->k * p->nn;
	p->mats = 1;
	for (int i = nd - 3; i >= 1; i--) {
		if (a->dims[i] != b->dims[i] && a->dims[i] != 1 && b->dims[i] != 1)
			return FAIL("layer '%s': shapes do not broadcast along axis %d (%u and %u)",
				    l->name, i, a->dims[i], b->dims[i]);
		p->od[i] = a->dims[i] > b->dims[i] ? a->dims[i] : b->dims[i];
		p->sa[i] = a->dims[i] == 1 ? 0 : s1;
		p->sb[i] = b->dims[i] == 1 ? 0 : s2;
		s1 *= a->dims[i], s2 *= b->dims[i];
		p->mats *= p->od[i];
	}
	p->od[0] = 1;
	p->od[nd - 2] = (uint32_t)p->m, p->od[nd - 1] = (uint32_t)p->nn;
	set_shape(OUT(n, l, 0), nd, p->od);
	l->macs = (uint64_t)p->mats * p->m * p->k * p->nn;
	l->priv = p;
	return 0;
}

static void matmul_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct mm *p = l->priv;
	struct feat_blob *ab = IN(n, l, 0), *bb = IN(n, l, 1), *yb = OUT(n, l, 0);
	size_t mn = (size_t)p->m * p->nn;

	for (int bt = 0; bt < batch; bt++) {
		const float *A = feat_net_data(n, l->in[0]) + (size_t)bt * ab->count;
		const float *B = feat_net_data(n, l->in[1]) + (size_t)bt * bb->count;
		float *Y = feat_net_data(n, l->out[0]) + (size_t)bt * yb->count;
		uint32_t idx[FEAT_MAX_DIMS] = { 0 };

		for (size_t j = 0; j < p->mats; j++) {
			size_t oa = 0, ob = 0;
			struct feat_sgemm_args g = {
				.M = p->m, .N = p->nn, .K = p->k, .alpha = p->alpha, .lda = p->k,
				.ldb = p->nn, .beta = 0, .C = Y + j * mn, .ldc = p->nn,
			};

			for (int i = 1; i < p->nd - 2; i++)
				oa += idx[i] * p->sa[i], ob += idx[i] * p->sb[i];
			g.A = A + oa, g.B = B + ob;
			feat_kern_sgemm(NULL, &g);
			for (int i = p->nd - 3; i >= 1; i--) {
				if (++idx[i] < p->od[i])
					break;
				idx[i] = 0;
			}
		}
	}
	apply_act(feat_net_data(n, l->out[0]), (size_t)batch * yb->count, l->act, l->act_alpha);
}

float feat_layer_matmul_alpha(const struct feat_layer *l)
{
	return ((const struct mm *)l->priv)->alpha;
}

int feat_layer_permute_order(const struct feat_layer *l, uint32_t order[FEAT_MAX_DIMS])
{
	const struct perm *p = l->priv;

	memcpy(order, p->order, sizeof p->order);
	return p->ndim;
}

void feat_layer_slice_range(const struct feat_layer *l, int *axis, long *start, long *step)
{
	const struct red *r = l->priv;

	*axis = (int)r->axis, *start = (long)r->start, *step = (long)r->step;
}

int feat_layer_int8_fits(const struct feat_layer *l)
{
	if (!strcmp(l->ops->type, "conv")) {
		const struct conv *c = l->priv;

		return c && ((long)c->cin / c->group + 3) / 4 * 4 * c->kh * c->kw <= FEAT_Q_KMAX;
	}
	if (!strcmp(l->ops->type, "fc")) {
		const struct fc *f = l->priv;

		return f && f->k <= FEAT_Q_KMAX;
	}
	return 0;
}

int feat_layer_pad_hw(const struct feat_layer *l, int p[4])
{
	const struct padp *d = l->priv;

	if (d->nd != 4 || d->value != 0 || d->lo[1] || d->hi[1] || d->lo[2] > 1 << 16 ||
	    d->hi[2] > 1 << 16 || d->lo[3] > 1 << 16 || d->hi[3] > 1 << 16)
		return 0;
	p[0] = (int)d->lo[2], p[1] = (int)d->lo[3], p[2] = (int)d->hi[2], p[3] = (int)d->hi[3];
	return 1;
}

int feat_layer_conv_take_pad(struct feat_layer *l, const int p[4])
{
	struct conv *c = l->priv;

	if (c->q || c->wino_u || c->wk)
		return 0;
	c->pt += p[0], c->pl += p[1], c->pb += p[2], c->pr += p[3];
	c->hin -= p[0] + p[2], c->win -= p[1] + p[3];
	conv_plan_nc(c);
	return 1;
}

int feat_layer_softmax_axis(const struct feat_layer *l)
{
	return (int)(intptr_t)l->priv;
}

/* One operand of the fused attention as the GEMM takes it: the matrix at
 * p, row-major (column step 1) or transposed (row step 1). */
static void attn_mat(const struct feat_attn_op *o, int *trans, int *ld)
{
	*trans = o->cs != 1;
	*ld = (int)(o->cs != 1 ? o->cs : o->rs);
}

/* The fused attention of feat_attn (layers.h): head by head, the scores
 * in the workspace (m x nn floats: 155 KB for ViT-B/16's 197 tokens, in
 * L2 from the first product to the second). */
static void attention_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct feat_attn *at = l->priv;
	float *S = n->scratch;

	for (int bt = 0; bt < batch; bt++) {
		const float *A = feat_net_data(n, at->a.base) + (size_t)bt * n->blob[at->a.base].count +
				 at->a.off;
		const float *B = feat_net_data(n, at->b.base) + (size_t)bt * n->blob[at->b.base].count +
				 at->b.off;
		const float *V = feat_net_data(n, at->v.base) + (size_t)bt * n->blob[at->v.base].count +
				 at->v.off;
		float *O = feat_net_data(n, at->o.base) + (size_t)bt * n->blob[at->o.base].count +
			   at->o.off;
		uint32_t idx[FEAT_MAX_DIMS] = { 0 };
		int i;

		do {
			long oa = 0, ob = 0, ov = 0, oo = 0;
			struct feat_sgemm_args g = {
				.M = at->m, .N = at->nn, .K = at->k, .alpha = at->alpha,
				.beta = 0, .C = S, .ldc = at->nn,
			}, h = {
				.M = at->m, .N = at->d, .K = at->nn, .alpha = 1, .A = S,
				.lda = at->nn, .beta = 0, .ldc = (int)at->o.rs,
			};

			for (i = 0; i < at->nh; i++) {
				oa += idx[i] * at->a.hs[i], ob += idx[i] * at->b.hs[i];
				ov += idx[i] * at->v.hs[i], oo += idx[i] * at->o.hs[i];
			}
			attn_mat(&at->a, &g.transA, &g.lda);
			attn_mat(&at->b, &g.transB, &g.ldb);
			attn_mat(&at->v, &h.transB, &h.ldb);
			g.A = A + oa, g.B = B + ob, h.B = V + ov, h.C = O + oo;
			feat_kern_sgemm(NULL, &g);
			feat_kern_active()->softmax(S, S, (size_t)at->m, (size_t)at->nn);
			feat_kern_sgemm(NULL, &h);
			for (i = at->nh - 1; i >= 0; i--) {
				if (++idx[i] < at->hd[i])
					break;
				idx[i] = 0;
			}
		} while (i >= 0);
	}
}

/* Not a type of the model file: made by fuse_attention only. */
static int attention_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	(void)n;
	return FAIL("layer '%s': attention is made by the graph passes, not read", l->name);
}

static const struct feat_layer_ops attention_ops = {
	"attention", attention_setup, attention_forward, NULL, 0
};

int feat_layer_attention(struct feat_net *n, struct feat_layer *l, const struct feat_attn *at)
{
	struct feat_attn *p = feat_net_zalloc(n, sizeof *p);
	int *in = feat_net_zalloc(n, 3 * sizeof(int));
	int e;

	if (!p || !in)
		return FEAT_E_NOMEM;
	if ((e = feat_net_grow_scratch(n, (size_t)at->m * at->nn)))
		return e;
	*p = *at;
	in[0] = at->a.base, in[1] = at->b.base, in[2] = at->v.base;
	l->in = in, l->nin = 3;
	l->out[0] = at->o.base;
	n->blob[at->o.base].producer = (int)(l - n->layer);
	l->ops = &attention_ops;
	l->priv = p;
	return 0;
}

/*
 * layernorm axis=-1, eps=1e-5, weights gamma, beta (optional): each row of
 * the axes from axis on (inner values) becomes (x - mean) / sqrt(var +
 * eps) * gamma + beta, var the mean of the squared deviations (as PyTorch's
 * LayerNorm and ONNX's LayerNormalization); sums in double.
 */
struct lnorm {
	size_t inner;
	float eps;
	const float *g, *b;
};

static int layernorm_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	struct lnorm *p = feat_net_zalloc(n, sizeof *p);
	struct feat_blob *x;
	int64_t axis;
	double eps;
	int e = same_setup(n, l, why, whylen);

	if (!p)
		return FEAT_E_NOMEM;
	if (e || (e = axis_setup(l, IN(n, l, 0), &axis, why, whylen)) ||
	    (e = feat_param_float(l, "eps", 1e-5, &eps, why, whylen)))
		return e;
	x = IN(n, l, 0);
	if (!(eps >= 0 && eps < 1e30))
		return FAIL("layer '%s': eps must be 0 or more", l->name);
	p->eps = (float)eps;
	p->inner = 1;
	for (int i = (int)axis; i < x->ndim; i++)
		p->inner *= x->dims[i];
	if (l->ml->nweight > 2)
		return FAIL("layer '%s': %u weights (gamma and beta at most)", l->name,
			    l->ml->nweight);
	if (l->ml->nweight > 0 && !(p->g = weight(n, l, 0, p->inner, "gamma", why, whylen)))
		return FEAT_E_FORMAT;
	if (l->ml->nweight > 1 && !(p->b = weight(n, l, 1, p->inner, "beta", why, whylen)))
		return FEAT_E_FORMAT;
	l->macs = 4 * x->count;
	l->params = p->inner * l->ml->nweight;
	l->priv = p;
	return 0;
}

static void layernorm_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct lnorm *p = l->priv;
	const float *X = feat_net_data(n, l->in[0]);
	float *Y = feat_net_data(n, l->out[0]);
	size_t rows = (size_t)batch * IN(n, l, 0)->count / p->inner;

	/* the table's kernel (plain twin: kern/ref/rows.c, sums in double) */
	feat_kern_active()->layernorm(X, Y, rows, p->inner, p->eps, p->g, p->b);
}

static int unary_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	static const char *const names[] = { "sqrt", "erf", "gelu", "pow" };
	const struct feat_value *op = feat_param(l, "op");
	struct unary *p = feat_net_zalloc(n, sizeof *p);
	double ex;
	int e = same_setup(n, l, why, whylen);

	if (!p)
		return FEAT_E_NOMEM;
	if (e || (e = feat_param_float(l, "exponent", 1, &ex, why, whylen)))
		return e;
	p->op = -1;
	for (int i = 0; op && op->type == FEAT_V_STR && i < 4; i++)
		if (!strcmp(op->u.s, names[i]))
			p->op = i;
	if (p->op < 0)
		return FAIL("layer '%s': 'op' must be sqrt, erf, gelu or pow", l->name);
	if (isnan(ex))
		return FAIL("layer '%s': exponent is NaN", l->name);
	p->e = (float)ex;
	l->priv = p;
	return 0;
}

static void unary_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	const struct unary *p = l->priv;
	const float *x = feat_net_data(n, l->in[0]);
	float *y = feat_net_data(n, l->out[0]);
	size_t cnt = (size_t)batch * IN(n, l, 0)->count;

	switch (p->op) {
	case 0:
		for (size_t i = 0; i < cnt; i++)
			y[i] = sqrtf(x[i]);
		break;
	case 1:
		for (size_t i = 0; i < cnt; i++)
			y[i] = erff(x[i]);
		break;
	case 2:
		if (x != y)
			memcpy(y, x, cnt * sizeof(float));
		apply_act(y, cnt, FEAT_ACT_GELU, 0);
		break;
	default:
		if (p->e == 2.0f)
			for (size_t i = 0; i < cnt; i++)
				y[i] = x[i] * x[i];
		else
			for (size_t i = 0; i < cnt; i++)
				y[i] = powf(x[i], p->e);
	}
}

/* const: weight W, the same for every image of the batch */
static int const_setup(struct feat_net *n, struct feat_layer *l, char *why, size_t whylen)
{
	const struct feat_mtensor *t;
	uint32_t od[FEAT_MAX_DIMS];
	size_t c = 1;
	int e;

	if ((e = want_io(l, 1, 1, why, whylen)))
		return e;
	t = feat_layer_weight(l, n, 0);
	if (!t || t->ndim < 1 || t->ndim >= FEAT_MAX_DIMS)
		return FAIL("layer '%s': weight 0 must be of rank 1 to %d", l->name,
			    FEAT_MAX_DIMS - 1);
	od[0] = 1;
	for (int i = 0; i < t->ndim; i++)
		od[i + 1] = t->dims[i], c *= t->dims[i];
	if (!c || !weight(n, l, 0, c, "value", why, whylen))
		return c ? FEAT_E_FORMAT : FAIL("layer '%s': empty weight", l->name);
	set_shape(OUT(n, l, 0), t->ndim + 1, od);
	l->priv = (void *)t->data;
	l->params = c;
	return 0;
}

static void const_forward(struct feat_net *n, struct feat_layer *l, int batch)
{
	struct feat_blob *yb = OUT(n, l, 0);
	float *y = feat_net_data(n, l->out[0]);

	for (int b = 0; b < batch; b++)
		memcpy(y + (size_t)b * yb->count, l->priv, yb->count * sizeof(float));
}

/* --------------------------------------------------------------- table */

static const struct feat_layer_ops ops[] = {
	{ "conv", conv_setup, conv_forward, conv_release, 0 },
	{ "bn", bn_setup, affine_forward, NULL, 1 },
	{ "scale", scale_setup, affine_forward, NULL, 1 },
	{ "relu", relu_setup, act_forward, NULL, 1 },
	{ "relu6", relu6_setup, act_forward, NULL, 1 },
	{ "leakyrelu", leaky_setup, act_forward, NULL, 1 },
	{ "sigmoid", same_setup, sigmoid_forward, NULL, 1 },
	{ "pool", pool_setup, pool_forward, NULL, 0 },
	{ "fc", fc_setup, fc_forward, fc_release, 0 },
	{ "l2norm", l2norm_setup_scratch, l2norm_forward, NULL, 0 },
	{ "flatten", flatten_setup, copy_forward, NULL, 1 },
	{ "reshape", reshape_setup, copy_forward, NULL, 1 },
	{ "permute", permute_setup, permute_forward, NULL, 0 },
	{ "concat", concat_setup, concat_forward, NULL, 0 },
	{ "softmax", softmax_setup, softmax_forward, NULL, 1 },
	{ "add", add_setup, add_forward, NULL, 1 },
	{ "hardsigmoid", act2_setup, act2_forward, NULL, 1 },
	{ "hardswish", act2_setup, act2_forward, NULL, 1 },
	{ "clip", act2_setup, act2_forward, NULL, 1 },
	{ "prelu", act2_setup, act2_forward, NULL, 1 },
	{ "eltwise", elt_setup, elt_forward, NULL, 0 },
	{ "pad", pad_setup, pad_forward, NULL, 0 },
	{ "reduce", reduce_setup, reduce_forward, NULL, 0 },
	{ "slice", slice_setup, slice_forward, NULL, 0 },
	{ "matmul", matmul_setup, matmul_forward, NULL, 0 },
	{ "layernorm", layernorm_setup, layernorm_forward, NULL, 1 },
	{ "unary", unary_setup, unary_forward, NULL, 1 },
	{ "const", const_setup, const_forward, NULL, 0 },
};

const struct feat_layer_ops *feat_layer_lookup(const char *type)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(ops[i].type, type))
			return &ops[i];
	return NULL;
}
