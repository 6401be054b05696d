/*
 * passes.c - the graph passes feat_net_fold runs once a net's layers are
 * set up, before the first forward pass: batch norm and scale folded into
 * the convolution or inner product before them, activations fused into
 * their producer's store (ReLU family; SiLU, hard swish, sigmoid, hard
 * sigmoid and GELU of ONNX exports; a constant Add into fc's bias; ReLU
 * into a residual Add), flatten and reshape made views, the Winograd
 * weights of the 3x3 convolutions worth it, the packed weights of the
 * first layers the k x k direct kernel runs, a residual Add taken into the
 * GEMM of the convolution before it, and the NCHW16c plan.  Each pass
 * only marks layers removed, aliases blobs and fills the private state of
 * the layers it keeps (nn/layers.h); layers.c runs what is left.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "kern/conv3.h"
#include "kern/convk.h"
#include "kern/kern.h"
#include "kern/nchwc.h"
#include "kern/winograd.h"
#include "nn/layers.h"
#include "nn/net.h"
#include "nn/quant.h"

static int is_type(const struct feat_layer *l, const char *t)
{
	return !l->removed && !strcmp(l->ops->type, t);
}

/* Remove layer l (which reads blob `from`) by making its output an alias
 * of from. */
static void bypass(struct feat_net *n, struct feat_layer *l)
{
	n->blob[l->out[0]].alias = l->in[0];
	l->removed = 1;
}

/*
 * Winograd F(4x4, 3x3) for 3x3, stride 1, dilation 1, ungrouped
 * convolutions, when a fast GEMM path is active (FEAT_KERNEL=ref keeps the
 * direct oracle).  Run after folding, so U is made from the final weights,
 * once.  FEAT_WINOGRAD=0 turns it off, FEAT_WINOGRAD=1 ignores the size
 * threshold (for measuring it).  The threshold, measured layer by layer on
 * SSD300 (featmodel bench, FEAT_WINOGRAD=1 against 0): im2col + GEMM stays
 * for 3 input channels (conv1_1: 10.7 ms against 2.7) and for maps under
 * 16x16 (10x10, 5x5, 3x3, 1x1 heads and extras: 1.3 to 10x slower, the 4x
 * larger U streamed from memory for a handful of tiles); 19x19 and larger
 * with 16 or more channels gain 1.1 to 2x.  The size bar is the kernel
 * table's (wino_min_px): lower on a core with half-rate 512-bit FMAs.
 */
static int wino_worth(const struct conv *c)
{
	return c->cin >= 16 && c->cout >= 16 &&
	       (long)c->hout * c->wout >= feat_kern_active()->wino_min_px;
}

static int wino_prepare(struct feat_net *n, struct conv *c)
{
	const char *env = getenv("FEAT_WINOGRAD");
	int force = env && strcmp(env, "1") == 0;
	const struct feat_kern *k = feat_kern_active();

	if (c->kh != 3 || c->kw != 3 || c->sh != 1 || c->sw != 1 || c->dh != 1 ||
	    c->dw != 1 || c->group != 1 || !(k->routes & FEAT_ROUTE_WINO) || c->q ||
	    (env && strcmp(env, "0") == 0) || (!force && !wino_worth(c)))
		return 0;
	c->wino_block = feat_wino_block(c->cin, c->cout, c->hout, c->wout);
	c->wino_u = feat_aligned_alloc((size_t)FEAT_WINO_XI * c->cout * c->cin * sizeof(float));
	if (!c->wino_u)
		return FEAT_E_NOMEM;
	feat_wino_weights(c->w, c->cout, c->cin, c->wino_u);
	{
		/* U in the layout of the table's products (the AVX-512 one
		 * reads it packed in panels); the plain layout goes */
		float *up = feat_aligned_alloc(k->wino_u_floats(c->cout, c->cin) * sizeof(float));

		if (!up)
			return FEAT_E_NOMEM;
		k->wino_u_pack(c->wino_u, c->cout, c->cin, up);
		free(c->wino_u);
		c->wino_u = up;
	}
	return feat_net_grow_scratch(n, feat_wino_work(c->cin, c->cout, c->wino_block));
}

/*
 * The first-layer kernel for k x k windows (kern/convk.h) on the paths
 * that route first layers to their direct kernels (not FEAT_KERNEL=ref,
 * whose direct loops are the oracle), for the shapes conv3.h's kernel
 * does not take (a 3x3 window with padding 1 stays there), with at least
 * 16 output channels.  Run after folding, so the weights are packed once
 * from the final ones.  Measured (featmodel bench, one core, Zen 5):
 * ResNet-50's conv1 (3 -> 64, 7x7 stride 2) 1.8 ms inside the network
 * against 2.7 for im2col + GEMM (machine shared).  FEAT_CONVK=0 turns it
 * off (for measuring it).
 */
static int convk_prepare(struct feat_net *n, struct conv *c)
{
	const char *env = getenv("FEAT_CONVK");

	if (!(feat_kern_active()->routes & FEAT_ROUTE_CONV3) || (env && !strcmp(env, "0")) ||
	    c->q || c->wino_u || c->cout < 16 ||
	    !feat_convk_fits(c->cin, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl,
			     c->group) ||
	    feat_conv3_fits(c->cin, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl,
			    c->group))
		return 0;
	c->wk = feat_aligned_alloc(feat_convk_pack_floats(c->cout, c->cin, c->kh) * sizeof(float));
	if (!c->wk)
		return FEAT_E_NOMEM;
	feat_convk_pack(c->wk, c->w, c->cout, c->cin, c->kh);
	return feat_net_grow_scratch(n, feat_convk_work(c->cin, c->kh, c->sh, c->wout));
}

/*
 * The NCHW16c layout (kern/nchwc.h), on the AVX-512 path.  A blob is kept
 * channel-blocked when the convolution that writes it has an NCHW16c
 * kernel and every layer that reads it is a pointwise or depthwise
 * convolution that has one too: MobileNet's chains of depthwise and
 * pointwise layers, from the first layer on.  The squeeze-excitation
 * blocks of EfficientNet and MobileNetV3 stay blocked too: the global
 * average pooling reads a blocked map, and the product x * s of the map
 * by one value a channel reads and writes either layout (its output is
 * blocked when its readers are).  A residual sum (fuse_residual) stays
 * blocked when every convolution that stores over it has the group-1
 * kernel, which then adds the sum in its first K block: ResNet's stream
 * from one downsample to the next.  ResNet's stem too: the first layer's
 * k x k kernel (convk) stores its sums blocked, and a max pooling reads
 * a blocked map (and writes it blocked when its readers take it).  The outputs of the net and
 * blobs any other layer reads stay NCHW.  A convolution that reads or
 * writes a blocked blob packs its weights for its kernel here (after
 * folding) and converts its plain side through the workspace.
 * FEAT_NCHWC=0 turns the layout off (for measuring it).
 */
static int nc_reader(const struct feat_net *n, const struct feat_layer *m, int k)
{
	const struct conv *c = m->priv;

	if (!is_type(m, "conv"))
		return feat_layer_nc_reads(m, k);
	return !c->wino_u && (c->nc == NC_PW || c->nc == NC_DW || c->nc == NC_GEN) &&
	       (!c->accum || n->blob[feat_net_root(n, m->out[0])].nchwc);
}

/* A convolution that stores a residual sum over its output (fuse_residual)
 * and can do so on the blocked layout (the group-1 kernel, feat_convc's
 * accum). */
static int nc_accum_ok(const struct feat_layer *m)
{
	const struct conv *c = m->priv;

	return !c->wino_u && !c->wk && (c->nc == NC_PW || c->nc == NC_GEN);
}

/* Whether blob b, a view of root r (or r itself), has r's shape: the
 * blocked layout's order depends on the channel count (and the rows on
 * H and W), so a reshape view that changes them cannot be read blocked
 * as if it had its own shape. */
static int nc_same_shape(const struct feat_net *n, int b, int r)
{
	const struct feat_blob *x = &n->blob[b], *y = &n->blob[r];

	if (x->ndim != y->ndim)
		return 0;
	for (int d = 0; d < x->ndim; d++)
		if (x->dims[d] != y->dims[d])
			return 0;
	return 1;
}

/* Whether blob root r may be kept blocked: not an output of the net, not
 * the sum a residual convolution stores over, and read, by layers that
 * all read it blocked and through views of its own shape. */
static int nc_blob_ok(const struct feat_net *n, int r)
{
	int readers = 0, ok = 1;

	for (int o = 0; o < n->noutput; o++)
		if (feat_net_root(n, n->output[o]) == r)
			return 0;
	for (int j = 0; ok && j < n->nlayer; j++) {
		const struct feat_layer *m = &n->layer[j];

		/* a residual sum stored over the blob (fuse_residual), by a
		 * convolution that cannot do it blocked, writes it plain */
		if (!m->removed && is_type(m, "conv") && ((struct conv *)m->priv)->accum &&
		    feat_net_root(n, m->out[0]) == r &&
		    (!nc_accum_ok(m) || !nc_same_shape(n, m->out[0], r)))
			ok = 0;
		for (int k = 0; !m->removed && k < m->nin; k++)
			if (feat_net_root(n, m->in[k]) == r) {
				readers++;
				ok &= nc_reader(n, m, k) && nc_same_shape(n, m->in[k], r);
			}
	}
	return ok && readers > 0;
}

static int nchwc_plan(struct feat_net *n)
{
	const char *env = getenv("FEAT_NCHWC");

	if (!(feat_kern_active()->routes & FEAT_ROUTE_NCHWC) || (env && !strcmp(env, "0")))
		return 0;
	/* Whether a reader can take a blob blocked may depend on another
	 * blob's choice (a residual convolution reads blocked when the sum
	 * it stores over is blocked, and that sum's producer may come after
	 * the blob), so the choices are made again until none changes: from
	 * all plain, a blob only ever turns blocked, the least consistent
	 * choice (two or three passes on ResNet-50). */
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < n->nlayer; i++) {
			struct feat_layer *l = &n->layer[i];
			struct conv *c = l->priv;
			int r, nc;

			if (feat_layer_nc_writes(l)) {
				/* an SE block's x * s: either layout on either side;
				 * a max pooling: blocked out of a blocked input */
				r = feat_net_root(n, l->out[0]);
				nc = n->blob[r].producer == i && nc_blob_ok(n, r) &&
				     (!is_type(l, "pool") || feat_net_blob_nchwc(n, l->in[0]));
			} else if (!l->removed && is_type(l, "conv") && c->wk && !c->accum) {
				/* the first layer's k x k kernel writes either */
				r = feat_net_root(n, l->out[0]);
				nc = c->cout % 16 == 0 && nc_blob_ok(n, r);
			} else if (!l->removed && is_type(l, "conv") && c->nc && !c->wk &&
				   !c->wino_u && !c->accum) {
				r = feat_net_root(n, l->out[0]);
				nc = c->cout % 16 == 0 && nc_blob_ok(n, r);
			} else {
				continue;
			}
			changed |= nc != n->blob[r].nchwc;
			n->blob[r].nchwc = nc;
		}
	}
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i];
		struct conv *c = l->priv;
		int in_nc, out_nc, e;
		size_t floats = feat_layer_nc_scratch(n, l);

		if (floats) {
			n->scratch_layer = l->name;
			if ((e = feat_net_grow_scratch(n, floats)))
				return e;
			continue;
		}
		if (l->removed || !is_type(l, "conv") || !c->nc || c->wino_u ||
		    (c->accum && !feat_net_blob_nchwc(n, l->out[0])))
			continue;
		in_nc = c->nc == NC_FIRST || feat_net_blob_nchwc(n, l->in[0]);
		out_nc = feat_net_blob_nchwc(n, l->out[0]);
		/* a pointwise layer, or one on a small map, runs on the blocked
		 * layout even between two plain blobs: converting both sides
		 * costs less than the GEMM's packing and pixel edge (1x1 1024
		 * -> 256 on 10x10: 0.56 ms as a GEMM, 0.47 converted) */
		if (!feat_net_blob_nchwc(n, l->in[0]) && !out_nc && c->nc != NC_PW &&
		    c->nc != NC_GEN)
			continue;
		n->scratch_layer = l->name;
		floats = c->nc == NC_FIRST ? feat_conv3_pack_floats(c->cout, c->cin) :
			 c->nc == NC_PW || c->nc == NC_GEN ?
			 feat_convc_pack_floats(c->cout, c->cin, c->kh, c->kw) :
			 (size_t)c->cout * c->kh * c->kw;
		if (!(c->wnc = feat_aligned_alloc(floats * sizeof(float))))
			return FEAT_E_NOMEM;
		if (c->nc == NC_PW || c->nc == NC_GEN)
			feat_convc_pack(c->wnc, c->w, c->bias, c->cout, c->cin, c->kh, c->kw);
		else if (c->nc == NC_DW)
			feat_dwc_pack(c->wnc, c->w, c->cin, c->kh);
		else
			feat_conv3_pack(c->wnc, c->w, c->cout, c->cin);
		floats = (in_nc ? 0 : (size_t)c->cin * c->hin * c->win) +
			 (out_nc ? 0 : (size_t)feat_convc_blocks(c->cout) * 16 * c->hout * c->wout) +
			 (c->nc == NC_GEN ? (size_t)c->cin * c->hpad * c->wpad : 0);
		if ((e = feat_net_grow_scratch(n, floats)))
			return e;
	}
	return 0;
}

/* Live layers reading root blob r (-1: an output of the net); *one is the
 * last of them. */
static int readers(const struct feat_net *n, int r, const struct feat_layer **one)
{
	int c = 0;

	for (int o = 0; o < n->noutput; o++)
		if (feat_net_root(n, n->output[o]) == r)
			return -1;
	for (int j = 0; j < n->nlayer; j++)
		for (int k = 0; !n->layer[j].removed && k < n->layer[j].nin; k++)
			if (feat_net_root(n, n->layer[j].in[k]) == r) {
				c++;
				if (one)
					*one = &n->layer[j];
			}
	return c;
}

/* The one live layer reading blob (none if it is an output of the net), or -1 */
static int the_reader(struct feat_net *n, int blob)
{
	const struct feat_layer *m;

	return readers(n, feat_net_root(n, blob), &m) == 1 ? (int)(m - n->layer) : -1;
}

/*
 * Graph passes for the activations of ONNX exports (issue 17): each one
 * removes layers whose work the layer before them takes into its store.
 *
 *   fc, then Add of a constant [nout]      the constant joins fc's bias
 *   add, then ReLU                         add applies the ReLU
 *   conv/fc X, Sigmoid S = s(X), Mul X S   act SiLU (EfficientNet)
 *   conv/fc X, HardSigmoid, Mul X S        act hard swish (MobileNetV3)
 *   conv/fc, then Sigmoid, HardSigmoid     act sigmoid, hard sigmoid (the
 *     or GELU                              SE blocks' scale, ViT's MLP)
 *
 * Hard sigmoid and hard swish are fused when beta is 1/2 (alpha is
 * kept).  FEAT_FUSE=0 turns the passes off (t/t4120-fuse.sh compares
 * the two).
 */
static int act_kind(struct feat_layer *l, float *alpha)
{
	const struct act2 *a;

	*alpha = 0;
	if (is_type(l, "sigmoid"))
		return FEAT_ACT_SIGMOID;
	if (is_type(l, "unary") && ((const struct unary *)l->priv)->op == 2)
		return FEAT_ACT_GELU;
	if (!is_type(l, "hardsigmoid") && !is_type(l, "hardswish"))
		return 0;
	a = l->priv;
	if (a->beta != 0.5f)
		return 0;
	*alpha = a->alpha;
	return is_type(l, "hardsigmoid") ? FEAT_ACT_HSIG : FEAT_ACT_HSWISH;
}

static void fuse_acts(struct feat_net *n)
{
	const char *env = getenv("FEAT_FUSE");

	if (env && !strcmp(env, "0"))
		return;
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i], *p, *m;
		struct feat_blob *src;
		int kind, r;
		float alpha;

		if (l->removed || l->nin < 1 || l->nout != 1)
			continue;
		src = &n->blob[l->in[0]];
		if (src->producer < 0)
			continue;
		p = &n->layer[src->producer];
		if (p->removed || p->act || n->blob[l->out[0]].count != src->count)
			continue;
		if (is_type(l, "eltwise") && l->nin == 1 && src->consumers == 1 &&
		    is_type(p, "fc") && ((const struct elt *)l->priv)->op == 1) {
			const struct feat_mtensor *t = feat_layer_weight(l, n, 0);
			struct fc *f = p->priv;

			if (!t || t->ndim < 1 || (int)t->dims[t->ndim - 1] != f->nout ||
			    t->nbytes != sizeof(float) * (size_t)f->nout)
				continue;
			for (int j = 0; j < f->nout; j++)
				f->bias[j] += ((const struct elt *)l->priv)->w[j];
			bypass(n, l);
			n->blob[l->out[0]].producer = src->producer;
			continue;
		}
		if (is_type(l, "relu") && l->act == FEAT_ACT_RELU && is_type(p, "add") &&
		    src->consumers == 1) {
			p->act = FEAT_ACT_RELU;
			bypass(n, l);
			n->blob[l->out[0]].producer = src->producer;
			continue;
		}
		if ((!is_type(p, "conv") && !is_type(p, "fc")) || l->nin != 1 ||
		    !(kind = act_kind(l, &alpha)))
			continue;
		if (src->consumers == 1) {
			p->act = kind;
			p->act_alpha = alpha;
			bypass(n, l);
			n->blob[l->out[0]].producer = src->producer;
			continue;
		}
		/* x * s(x): the Mul reads X and S and nothing else reads either */
		if (src->consumers != 2 || (kind != FEAT_ACT_SIGMOID && kind != FEAT_ACT_HSIG) ||
		    n->blob[l->out[0]].consumers != 1 || (r = the_reader(n, l->out[0])) < 0)
			continue;
		m = &n->layer[r];
		if (!is_type(m, "eltwise") || m->nin != 2 || ((const struct elt *)m->priv)->op != 0 ||
		    n->blob[m->out[0]].count != src->count ||
		    !((m->in[0] == l->in[0] && m->in[1] == l->out[0]) ||
		      (m->in[1] == l->in[0] && m->in[0] == l->out[0])))
			continue;
		p->act = kind == FEAT_ACT_SIGMOID ? FEAT_ACT_SILU : FEAT_ACT_HSWISH;
		p->act_alpha = alpha;
		l->removed = 1;
		m->removed = 1;
		n->blob[l->out[0]].alias = l->in[0];
		n->blob[m->out[0]].alias = l->in[0];
		n->blob[m->out[0]].producer = src->producer;
	}
}

/*
 * A product of matrices whose input is scaled by one constant first
 * (attention's queries divided by the square root of the head's width,
 * an eltwise Div or Mul by a scalar read by the MatMul alone), or whose
 * output is, read by the scaling alone (the scores scaled after the
 * product, as timm's and BERT's exports do; a Mul by a constant may come
 * in as a scale layer of one value on every channel and no shift): the
 * product takes the scale as its alpha and the scaling layer goes (one
 * pass over the queries or the scores less).  FEAT_FUSE=0 turns it off.
 */
/* The constant layer l multiplies its one input by (0: none). */
static float scalar_scale(const struct feat_net *n, const struct feat_layer *l)
{
	const struct feat_mtensor *t;
	float s;

	if (l->removed || l->nin != 1 || l->act)
		return 0;
	if (is_type(l, "eltwise")) {
		const struct elt *e = l->priv;

		if (!(e->op == 0 || (e->op == 3 && !e->cfirst)) || !(t = feat_layer_weight(l, n, 0)) ||
		    t->nbytes != sizeof(float) || e->w[0] == 0)
			return 0;
		s = e->op == 0 ? e->w[0] : 1.0f / e->w[0];
	} else if (is_type(l, "scale")) {
		const struct affine *f = l->priv;

		for (int c = 0; c < f->c; c++)
			if (f->a[c] != f->a[0] || f->b[c] != 0)
				return 0;
		s = f->a[0];
	} else {
		return 0;
	}
	return s != 0 && isfinite(s) ? s : 0;
}

static void fuse_scale(struct feat_net *n)
{
	const char *env = getenv("FEAT_FUSE");

	if (env && !strcmp(env, "0"))
		return;
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i], *p;
		const struct feat_layer *m = NULL;
		float s = scalar_scale(n, l);
		int r;

		if (s == 0)
			continue;
		/* after: the product's output read by l alone */
		r = feat_net_root(n, l->in[0]);
		p = n->blob[r].producer >= 0 ? &n->layer[n->blob[r].producer] : NULL;
		if (p && is_type(p, "matmul") && !p->act && p->out[0] == r &&
		    readers(n, r, NULL) == 1) {
			feat_layer_matmul_scale(p, s);
		} else {
			/* before: l's output read by the product alone */
			if (readers(n, feat_net_root(n, l->out[0]), &m) != 1 || !is_type(m, "matmul") ||
			    m->act)
				continue;
			feat_layer_matmul_scale(&n->layer[m - n->layer], s);
		}
		bypass(n, l);
		n->blob[l->out[0]].producer = n->blob[l->in[0]].producer;
	}
}

/*
 * Attention: matmul (A B) -> softmax over the last axis -> matmul (S V),
 * the scores read by nothing else, becomes one layer (feat_attn in
 * nn/layers.h) that runs head by head, so that a head's scores stay in
 * cache from the first product to the second (ViT-B/16: 12 x 197 x 197
 * floats, 1.9 MB an image, went through memory three times).  Its
 * operands are read where they lie: each is resolved, through the
 * slices, transposes and reshapes that made it, to a strided view of the
 * blob those started from (q, k and v of one [T, 3 D] Linear output),
 * and the transpose after the second product (heads back to [T, H, D])
 * becomes the layout it stores; those layers go when nothing else reads
 * them.  Run after fuse_scale (the product's scale is taken with it).
 * FEAT_FUSE=0 turns it off.
 */
struct sview {
	int base, nd;
	long dims[FEAT_MAX_DIMS], st[FEAT_MAX_DIMS], off;
};

/* v seen with the shape nd, dims (the same values in row-major order):
 * 0 when that needs a copy (numpy's rule: the axes merged into one must
 * be contiguous among themselves). */
static int view_reshape(struct sview *v, int nd, const uint32_t *dims)
{
	long od[FEAT_MAX_DIMS], os[FEAT_MAX_DIMS], ns[FEAT_MAX_DIMS];
	int ax[FEAT_MAX_DIMS], on = 0, nn = 0, oi = 0, ni = 0;

	for (int i = 1; i < v->nd; i++)
		if (v->dims[i] != 1)
			od[on] = v->dims[i], os[on++] = v->st[i];
	for (int i = 0; i < nd; i++) {
		ns[i] = 0;
		if (i && dims[i] != 1)
			ax[nn++] = i;
	}
	while (oi < on && ni < nn) {
		long op = od[oi], np = dims[ax[ni]], s;
		int oj = oi + 1, nj = ni + 1;

		while (op != np) {
			if (op < np) {
				if (oj >= on)
					return 0;
				op *= od[oj++];
			} else {
				if (nj >= nn)
					return 0;
				np *= dims[ax[nj++]];
			}
		}
		for (int k = oi; k < oj - 1; k++)
			if (os[k] != os[k + 1] * od[k + 1])
				return 0;
		s = os[oj - 1];
		for (int k = nj - 1; k >= ni; k--) {
			ns[ax[k]] = s;
			s *= dims[ax[k]];
		}
		oi = oj, ni = nj;
	}
	if (oi != on || ni != nn)
		return 0;
	v->nd = nd;
	for (int i = 0; i < nd; i++)
		v->dims[i] = i ? dims[i] : 1, v->st[i] = ns[i];
	return 1;
}

/* Blob b in its own storage, row-major. */
static void own_view(const struct feat_net *n, int b, struct sview *v)
{
	const struct feat_blob *x = &n->blob[b];
	long s = 1;

	v->base = feat_net_root(n, b), v->nd = x->ndim, v->off = 0;
	for (int i = x->ndim - 1; i >= 0; i--) {
		v->dims[i] = i ? x->dims[i] : 1;
		v->st[i] = i ? s : 0;
		s *= v->dims[i];
	}
}

/* Blob b as a strided view of the blob the permutes, slices and views
 * before it started from (b itself when there are none). */
static void view_of(const struct feat_net *n, int b, struct sview *v, int depth)
{
	const struct feat_blob *x = &n->blob[b];
	const struct feat_layer *p = x->producer >= 0 ? &n->layer[x->producer] : NULL;
	struct sview u;

	if (depth < 32 && x->alias >= 0) {
		view_of(n, x->alias, &u, depth + 1);
		if (view_reshape(&u, x->ndim, x->dims)) {
			*v = u;
			return;
		}
	} else if (depth < 32 && p && p->nout == 1 && p->out[0] == b &&
		   (is_type(p, "permute") || is_type(p, "slice"))) {
		view_of(n, p->in[0], &u, depth + 1);
		if (is_type(p, "permute")) {
			uint32_t order[FEAT_MAX_DIMS];
			long d[FEAT_MAX_DIMS], s[FEAT_MAX_DIMS];
			int nd = feat_layer_permute_order(p, order);

			if (nd == u.nd && nd == x->ndim) {
				for (int i = 0; i < nd; i++)
					d[i] = u.dims[order[i]], s[i] = u.st[order[i]];
				memcpy(u.dims, d, sizeof d);
				memcpy(u.st, s, sizeof s);
				*v = u;
				return;
			}
		} else {
			int axis;
			long start, step;

			feat_layer_slice_range(p, &axis, &start, &step);
			if (axis < u.nd && u.nd == x->ndim) {
				u.off += start * u.st[axis];
				u.dims[axis] = x->dims[axis];
				u.st[axis] *= step;
				*v = u;
				return;
			}
		}
	}
	own_view(n, b, v);
}

/* The matrix axes of view v (rank nd: heads, rows, columns) as an operand:
 * a head axis of size 1 where the product has more is broadcast (step 0);
 * one of the matrix steps must be 1 and the other cover the matrix. */
static int attn_operand(const struct sview *v, int nd, const uint32_t *heads, struct feat_attn_op *o)
{
	long rows = v->dims[nd - 2], cols = v->dims[nd - 1];

	if (v->nd != nd)
		return 0;
	o->base = v->base, o->off = v->off;
	for (int i = 1; i < nd - 2; i++)
		o->hs[i - 1] = v->dims[i] == 1 && heads[i] != 1 ? 0 : v->st[i];
	o->rs = rows == 1 ? cols : v->st[nd - 2];
	o->cs = cols == 1 ? 1 : v->st[nd - 1];
	if (o->cs == 1)
		return o->rs >= cols && o->rs <= INT32_MAX;
	return o->rs == 1 && o->cs >= rows && o->cs <= INT32_MAX;
}

static int fuse_attention(struct feat_net *n)
{
	const char *env = getenv("FEAT_FUSE");

	if (env && !strcmp(env, "0"))
		return 0;
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *m1 = &n->layer[i];
		const struct feat_layer *sm = NULL, *m2 = NULL, *pt = NULL;
		struct feat_blob *s1, *y2;
		struct feat_attn at;
		struct sview va, vb, vv, vo;
		int nd, e, out;

		if (!is_type(m1, "matmul") || m1->act ||
		    readers(n, feat_net_root(n, m1->out[0]), &sm) != 1 || !is_type(sm, "softmax") ||
		    sm->act || readers(n, feat_net_root(n, sm->out[0]), &m2) != 1 ||
		    !is_type(m2, "matmul") || m2->act || feat_layer_matmul_alpha(m2) != 1.0f ||
		    feat_net_root(n, m2->in[0]) != feat_net_root(n, sm->out[0]))
			continue;
		s1 = &n->blob[m1->out[0]];
		nd = s1->ndim;
		if (feat_layer_softmax_axis(sm) != nd - 1 || n->blob[sm->out[0]].ndim != nd ||
		    n->blob[m2->out[0]].ndim != nd)
			continue;
		y2 = &n->blob[m2->out[0]];
		e = 0;
		for (int k = 1; k < nd - 2; k++)
			e |= y2->dims[k] != s1->dims[k];
		if (e)
			continue;
		view_of(n, m1->in[0], &va, 0);
		view_of(n, m1->in[1], &vb, 0);
		view_of(n, m2->in[1], &vv, 0);
		memset(&at, 0, sizeof at);
		at.alpha = feat_layer_matmul_alpha(m1);
		at.m = (int)s1->dims[nd - 2], at.nn = (int)s1->dims[nd - 1];
		at.k = (int)n->blob[m1->in[0]].dims[nd - 1], at.d = (int)y2->dims[nd - 1];
		at.nh = nd - 3;
		for (int k = 1; k < nd - 2; k++)
			at.hd[k - 1] = s1->dims[k];
		/* the output: through the transpose that reads it alone, if so */
		out = feat_net_root(n, m2->out[0]);
		own_view(n, m2->out[0], &vo);
		if (readers(n, out, &pt) == 1 && is_type(pt, "permute") && pt->nout == 1 &&
		    n->blob[pt->out[0]].alias < 0) {
			uint32_t order[FEAT_MAX_DIMS];
			struct sview w;

			own_view(n, pt->out[0], &w);
			if (feat_layer_permute_order(pt, order) == nd) {
				vo.base = w.base, vo.off = 0;
				for (int k = 0; k < nd; k++)
					vo.dims[order[k]] = w.dims[k], vo.st[order[k]] = w.st[k];
			} else {
				pt = NULL;
			}
		} else {
			pt = NULL;
		}
		if (!attn_operand(&va, nd, s1->dims, &at.a) || !attn_operand(&vb, nd, s1->dims, &at.b) ||
		    !attn_operand(&vv, nd, s1->dims, &at.v) || !attn_operand(&vo, nd, s1->dims, &at.o) ||
		    at.o.cs != 1 || at.o.off != 0 || (int)at.o.base != (pt ? pt->out[0] : out))
			continue;
		/* every operand computed before the fused layer runs */
		if (n->blob[at.a.base].producer >= i || n->blob[at.b.base].producer >= i ||
		    n->blob[at.v.base].producer >= i || n->blob[at.a.base].nchwc ||
		    n->blob[at.b.base].nchwc || n->blob[at.v.base].nchwc)
			continue;
		{
			struct feat_layer *s = &n->layer[sm - n->layer], *q = &n->layer[m2 - n->layer];
			int old = m1->out[0];

			m1->macs += q->macs;
			if ((e = feat_layer_attention(n, m1, &at)))
				return e;
			s->removed = q->removed = 1;
			if (old != at.o.base)
				n->blob[old].alias = m1->in[0];
			n->blob[s->out[0]].alias = old;
			if (pt) {
				n->layer[pt - n->layer].removed = 1;
				n->blob[q->out[0]].alias = old;
			}
		}
	}
	/* the slices, transposes and views nothing reads now */
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < n->nlayer; i++) {
			struct feat_layer *l = &n->layer[i];

			if ((is_type(l, "permute") || is_type(l, "slice") || is_type(l, "reshape") ||
			     is_type(l, "flatten")) && l->nout == 1 && n->blob[l->out[0]].alias < 0 &&
			    readers(n, l->out[0], NULL) == 0) {
				bypass(n, l);
				changed = 1;
			}
		}
	}
	return 0;
}

/*
 * A residual Add of a convolution's output X and a blob S computed before
 * that convolution, which nothing reads after it (ResNet's bottlenecks;
 * with a downsample, X is the downsample's output and S conv3's, whichever
 * input of the Add each is): the convolution's GEMM stores X + S over S
 * (beta 1) and takes the Add's activation.  Only convolutions that run as
 * im2col or pointwise GEMMs (ungrouped, not Winograd, not the first
 * layer's kernel), and not on the direct route of FEAT_KERNEL=ref; where
 * the group-1 NCHW16c kernel fits, nchwc_plan may keep S blocked and the
 * kernel then stores X + S over it itself (feat_convc's accum).  Run after wino_prepare.  FEAT_FUSE=0
 * turns it off.
 */
/*
 * A Pad of zeros on H and W only that one convolution reads and nothing
 * else (TensorFlow's "SAME" padding as exporters write it: its own Pad,
 * the odd pixel at the bottom and right, before a strided convolution):
 * the convolution pads instead (its pads may differ side to side), and
 * the padded copy is not made.  FEAT_FUSE=0 turns it off.
 */
static void fuse_pad(struct feat_net *n)
{
	const char *env = getenv("FEAT_FUSE");

	if (env && !strcmp(env, "0"))
		return;
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i];
		const struct feat_layer *r;
		int p[4], ok = 1, x;

		/* the conv reads the Pad's output itself, not a view of it
		 * (a Reshape folded into an alias has other dimensions) */
		if (l->removed || !is_type(l, "pad") || l->nin != 1 || !feat_layer_pad_hw(l, p) ||
		    readers(n, feat_net_root(n, l->out[0]), &r) != 1 || !is_type(r, "conv") ||
		    r->nin != 1 || r->in[0] != l->out[0])
			continue;
		/* and no layer between them writes over the Pad's input in
		 * place (a native model's in-place ReLU), which the conv would
		 * read instead of what the Pad read */
		x = feat_net_root(n, l->in[0]);
		for (int j = i + 1; j < (int)(r - n->layer) && ok; j++)
			for (int k = 0; k < n->layer[j].nout && ok; k++)
				ok = n->layer[j].removed || feat_net_root(n, n->layer[j].out[k]) != x;
		if (!ok || !feat_layer_conv_take_pad(&n->layer[r - n->layer], p))
			continue;
		n->layer[r - n->layer].in[0] = l->in[0];
		l->removed = 1;
	}
}

static void fuse_residual(struct feat_net *n)
{
	const char *env = getenv("FEAT_FUSE");

	if ((env && !strcmp(env, "0")) || (feat_kern_active()->routes & FEAT_ROUTE_DIRECT))
		return;
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *a = &n->layer[i], *p = NULL;
		struct conv *c = NULL;
		int xi, pi = -1, rs = -1, ok = 1;

		if (!is_type(a, "add") || a->nin != 2)
			continue;
		/* either input may be X: a bottleneck with a downsample adds
		 * conv3's output and the downsample's, the later of the two
		 * being the convolution that can store the sum */
		for (xi = 0; xi < 2; xi++) {
			struct feat_blob *x = &n->blob[a->in[xi]];

			ok = 1;
			if (!(x->alias < 0 && x->producer >= 0 && x->consumers == 1 &&
			      is_type(&n->layer[x->producer], "conv") && !n->layer[x->producer].act))
				continue;
			pi = n->blob[a->in[xi]].producer;
			p = &n->layer[pi];
			c = p->priv;
			/* (not an int8 or bf16 convolution: its kernels store,
			 * they do not add to what is there) */
			if (c->group != 1 || c->wino_u || c->wk || c->accum || c->q ||
			    ((feat_kern_active()->routes & FEAT_ROUTE_CONV3) &&
			     feat_conv3_fits(c->cin, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->pt,
					     c->pl, c->group)))
				continue;
			rs = feat_net_root(n, a->in[1 - xi]);
			if (rs == feat_net_root(n, a->in[xi]) || rs == feat_net_root(n, p->in[0]))
				continue;
			for (int j = 0; j < n->ninput; j++)
				ok &= feat_net_root(n, n->input[j]) != rs;
			for (int j = 0; j < n->noutput; j++)
				ok &= feat_net_root(n, n->output[j]) != rs;
			/* S written before the convolution, read by nothing
			 * after it but the Add */
			for (int j = 0; ok && j < n->nlayer; j++) {
				const struct feat_layer *m = &n->layer[j];

				if (m->removed || j == i)
					continue;
				for (int k = 0; k < m->nout; k++)
					if (feat_net_root(n, m->out[k]) == rs && j >= pi)
						ok = 0;
				for (int k = 0; k < m->nin; k++)
					if (feat_net_root(n, m->in[k]) == rs && j >= pi)
						ok = 0;
			}
			if (ok)
				break;
		}
		if (xi == 2)
			continue;
		c->accum = 1;
		p->act = a->act;
		p->act_alpha = a->act_alpha;
		a->removed = 1;
		n->blob[a->in[xi]].alias = rs;
		n->blob[a->out[0]].alias = rs;
		n->blob[a->out[0]].producer = pi;
	}
}

int feat_net_fold(struct feat_net *n)
{
	int e0;

	/* flatten and reshape become views of a blob read by nobody else */
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i];

		if ((is_type(l, "flatten") || is_type(l, "reshape")) &&
		    n->blob[l->in[0]].consumers == 1 && n->blob[l->out[0]].alias < 0)
			bypass(n, l);
	}
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i];
		struct feat_layer *p;
		struct feat_blob *src;

		if (l->removed || l->nin != 1)
			continue;
		src = &n->blob[l->in[0]];
		if (src->producer < 0 || src->consumers != 1)
			continue;
		p = &n->layer[src->producer];
		if (p->removed || (!is_type(p, "conv") && !is_type(p, "fc")))
			continue;
		if ((is_type(l, "bn") || is_type(l, "scale")) && !p->act) {
			const struct affine *f = l->priv;
			int cout;
			size_t per;
			const float *w;
			float **own, *bias;

			if (is_type(p, "conv")) {
				struct conv *c = p->priv;

				cout = c->cout;
				per = (size_t)(c->cin / c->group) * c->kh * c->kw;
				w = c->w, own = &c->w_own, bias = c->bias;
			} else {
				struct fc *c = p->priv;

				cout = c->nout;
				per = (size_t)c->k;
				w = c->w, own = &c->w_own, bias = c->bias;
			}
			if (f->c != cout || f->inner * (size_t)f->c != src->count ||
			    (is_type(p, "fc") && ((struct fc *)p->priv)->rows != 1))
				continue;
			if (!*own) {
				*own = feat_aligned_alloc((size_t)cout * per * sizeof(float));
				if (!*own)
					return FEAT_E_NOMEM;
				memcpy(*own, w, (size_t)cout * per * sizeof(float));
			}
			for (int o = 0; o < cout; o++) {
				for (size_t k = 0; k < per; k++)
					(*own)[o * per + k] *= f->a[o];
				bias[o] = bias[o] * f->a[o] + f->b[o];
			}
			if (is_type(p, "conv"))
				((struct conv *)p->priv)->w = *own;
			else
				((struct fc *)p->priv)->w = *own;
			bypass(n, l);
			/* the folded layer's output now reads as p's output */
			n->blob[l->out[0]].producer = src->producer;
			continue;
		}
		if ((is_type(l, "relu") || is_type(l, "relu6") || is_type(l, "leakyrelu")) &&
		    !p->act) {
			p->act = l->act;
			p->act_alpha = l->act_alpha;
			bypass(n, l);
			n->blob[l->out[0]].producer = src->producer;
		}
	}
	fuse_acts(n);
	fuse_scale(n);
	fuse_pad(n);
	if ((e0 = fuse_attention(n)))
		return e0;
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i];
		int e;

		if (!l->removed && is_type(l, "conv") &&
		    ((e = wino_prepare(n, l->priv)) || (e = convk_prepare(n, l->priv))))
			return e;
	}
	fuse_residual(n);
	return nchwc_plan(n);
}
