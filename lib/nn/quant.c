/*
 * quant.c - int8 convolutions (nn/quant.h): the layer parameters, the
 * weights quantised and packed once, the forward pass through the kernel
 * table's int8 family (kern/int8.h); and the calibration and model copy
 * featmodel quantize is made of.
 */
#include <math.h>
#include <stdio.h>

#include "base/internal.h"
#include "base/threadpool.h"
#include "kern/kern.h"
#include "kern/bf16.h"
#include "nn/layers.h"
#include "nn/quant.h"

#define FAIL(...) (feat_fmt(why, whylen, __VA_ARGS__), FEAT_E_FORMAT)

/* The quant parameters of l: 0 (*on 0 when it has none, FEAT_QUANT_U8S8
 * or FEAT_QUANT_BF16), or FEAT_E_FORMAT. */
static int params(struct feat_layer *l, int *on, double *sx, int *zp, char *why, size_t whylen)
{
	const struct feat_value *kind = feat_param(l, "quant");
	const struct feat_value *vs = feat_param(l, "quant.scale");
	const struct feat_value *vz = feat_param(l, "quant.zero");

	*on = 0;
	*sx = 1;
	*zp = 0;
	if (!kind) {
		if (vs || vz)
			return FAIL("layer '%s': '%s' without 'quant'", l->name,
				    vs ? "quant.scale" : "quant.zero");
		return 0;
	}
	if (kind->type == FEAT_V_STR && !strcmp(kind->u.s, "bf16")) {
		/* bf16 has fp32's range: no step, no zero point */
		if (vs || vz)
			return FAIL("layer '%s': '%s' belongs to quant u8s8, not bf16", l->name,
				    vs ? "quant.scale" : "quant.zero");
		*on = FEAT_QUANT_BF16;
		return 0;
	}
	if (kind->type != FEAT_V_STR || strcmp(kind->u.s, "u8s8"))
		return FAIL("layer '%s': 'quant' must be the text u8s8 or bf16", l->name);
	if (!vs || (vs->type != FEAT_V_FLOAT && vs->type != FEAT_V_INT))
		return FAIL("layer '%s': 'quant' without a number 'quant.scale'", l->name);
	*sx = vs->type == FEAT_V_FLOAT ? vs->u.f : (double)vs->u.i;
	if (!(*sx > 1e-30 && *sx < 1e30))
		return FAIL("layer '%s': 'quant.scale' %g is not a positive finite step", l->name, *sx);
	if (vz && (vz->type != FEAT_V_INT || (vz->u.i != 0 && vz->u.i != 128)))
		return FAIL("layer '%s': 'quant.zero' must be 0 or 128", l->name);
	*zp = vz ? (int)vz->u.i : 0;
	*on = FEAT_QUANT_U8S8;
	return 0;
}

/*
 * The geometry of a quantised convolution, int8 or bf16 alike: the input
 * is copied, padded, into cp channels of esize bytes a pixel (int8: cin
 * rounded up to 4 u8; bf16: to 2 bf16, so that every 4-byte word holds
 * whole elements), K = kh kw cp elements a column, and the B panels of
 * nr columns are packed by qpack_b as 4-byte words (kern/int8.h,
 * kern/bf16.h).  0 with *out NULL when K is over kmax (the layer stays
 * fp32).
 */
static int qshape(struct feat_net *n, const struct feat_qconv_shape *s, long cp, int esize,
	int nr, long kmax, struct feat_qconv **out, size_t *scratch)
{
	struct feat_qconv *q;
	long K = cp * s->kh * s->kw;

	if (K > kmax)
		return 0;
	if (!(q = feat_net_alloc(n, sizeof *q)))
		return FEAT_E_NOMEM;
	memset(q, 0, sizeof *q);
	q->cin = s->cin;
	q->cout = q->M = s->cout;
	q->K = (int)K;
	q->pt = s->pt, q->pl = s->pl, q->pb = s->pb, q->pr = s->pr;
	q->hin = s->hin, q->win = s->win;
	q->g = (struct feat_qconv_geom){
		.cp = (int)(esize * cp), .hp = s->hin + s->pt + s->pb, .wp = s->win + s->pl + s->pr,
		.kh = s->kh, .kw = s->kw, .sh = s->sh, .sw = s->sw, .dh = s->dh, .dw = s->dw,
		.hout = s->hout, .wout = s->wout,
	};
	q->xq_bytes = (size_t)q->g.hp * q->g.wp * (size_t)cp * esize;
	q->xq_bytes = (q->xq_bytes + 63) / 64 * 64;
	/* B panels packed at a time: about 512 KB of them (in L2 with a
	 * 12-row block of A), 1 to 8 */
	q->nb = (int)(((size_t)1 << 19) / ((size_t)K * nr * esize));
	q->nb = q->nb < 1 ? 1 : q->nb > 8 ? 8 : q->nb;
	q->panel_bytes = (size_t)K * nr * esize * q->nb;
	*scratch = (q->xq_bytes + q->panel_bytes) / sizeof(float) + 16;
	*out = q;
	return 0;
}

int feat_qconv_setup(struct feat_net *n, struct feat_layer *l, const struct feat_qconv_shape *s,
	struct feat_qconv **out, size_t *scratch, char *why, size_t whylen)
{
	const struct feat_kern *k = feat_kern_active();
	double sx;
	int zp, on, e;

	*out = NULL;
	*scratch = 0;
	if ((e = params(l, &on, &sx, &zp, why, whylen)) || !on)
		return e;
	if (s->group != 1)
		return FAIL("layer '%s': 'quant' on a grouped convolution (group %d): only group 1 runs %s",
			    l->name, s->group, on == FEAT_QUANT_BF16 ? "bf16" : "int8");
	if (on == FEAT_QUANT_BF16) {
		if (!k->bgemm || (e = qshape(n, s, (s->cin + 1L) / 2 * 2, 2, FEAT_B_NR,
					     INT32_MAX / FEAT_B_NR / 2, out, scratch)) || !*out)
			return e;
		(*out)->bf16 = 1;
		return 0;
	}
	/* beyond the exact s32 sum, or the panel in the workspace: fp32 */
	if (!k->qgemm || (e = qshape(n, s, (s->cin + 3L) / 4 * 4, 1, FEAT_Q_NR, FEAT_Q_KMAX, out,
				     scratch)) || !*out)
		return e;
	(*out)->sx = (float)sx;
	(*out)->zp = zp;
	return 0;
}

void feat_qconv_free(struct feat_qconv *q)
{
	if (!q)
		return;
	free(q->ap);
	free(q->ab);
	free(q->scale);
	free(q->comp);
	q->ap = NULL;
	q->ab = NULL;
	q->scale = NULL;
	q->comp = NULL;
}

/* bf16: the weights rounded and packed in the K order of the packing,
 * k = (ky kw + kx) cp + c (zero for a channel past cin). */
static int bpack_weights(struct feat_qconv *q, const float *w)
{
	int M = q->M, K = q->K, cp = q->g.cp / 2, taps = q->g.kh * q->g.kw;
	float *a = calloc((size_t)M * K, sizeof *a);

	q->ab = feat_aligned_alloc(2 * feat_bpack_a_elems(M, K));
	if (!a || !q->ab) {
		free(a);
		feat_qconv_free(q);
		return FEAT_E_NOMEM;
	}
	for (int m = 0; m < M; m++)
		for (int c = 0; c < q->cin; c++)
			for (int t = 0; t < taps; t++)
				a[(size_t)m * K + (size_t)t * cp + c] =
					w[((size_t)m * q->cin + c) * taps + t];
	feat_bpack_a(q->ab, a, (size_t)K, M, K);
	free(a);
	return 0;
}

/* Weights to s8, one scale per output channel, in the K order of the
 * packing: k = (ky kw + kx) cp + c. */
static int pack_weights(struct feat_qconv *q, const float *w)
{
	int M = q->M, K = q->K, cp = q->g.cp, taps = q->g.kh * q->g.kw;
	int8_t *a = calloc((size_t)M * K, 1);

	q->ap = feat_aligned_alloc(feat_qpack_a_bytes(M, K));
	q->scale = malloc(sizeof(float) * (size_t)M);
	q->comp = malloc(sizeof(int32_t) * (size_t)M);
	if (!a || !q->ap || !q->scale || !q->comp) {
		free(a);
		feat_qconv_free(q);
		return FEAT_E_NOMEM;
	}
	for (int m = 0; m < M; m++) {
		const float *wm = w + (size_t)m * q->cin * taps;
		float amax = 0;
		double sw;
		int32_t sum = 0;

		for (int i = 0; i < q->cin * taps; i++)
			amax = fabsf(wm[i]) > amax ? fabsf(wm[i]) : amax;
		sw = amax > 0 ? amax / 127.0 : 1.0;
		for (int c = 0; c < q->cin; c++)
			for (int t = 0; t < taps; t++) {
				long v = lrint(wm[c * taps + t] / sw);

				v = v > 127 ? 127 : v < -127 ? -127 : v;
				a[(size_t)m * K + (size_t)t * cp + c] = (int8_t)v;
				sum += (int32_t)v;
			}
		q->scale[m] = (float)(sw * q->sx);
		q->comp[m] = q->zp * sum;
	}
	feat_qpack_a(q->ap, a, (size_t)K, M, K);
	free(a);
	return 0;
}

struct qpar {
	const struct feat_qconv *q;
	const struct feat_kern *k;
	struct feat_net *n;
	const uint8_t *xq;
	float *y;
	const float *bias;
	int relu, per;           /* panels per piece */
	long hw;
};

static void qpiece(void *arg, long i0, long i1, int worker)
{
	const struct qpar *P = arg;
	const struct feat_qconv *q = P->q;
	uint8_t *bp = (uint8_t *)feat_net_scratch(P->n, worker) + (worker ? 0 : q->xq_bytes);
	size_t psz = (size_t)q->K * FEAT_Q_NR * (q->bf16 ? 2 : 1);

	for (long it = i0; it < i1; it++)
		for (long p = it * P->per; p < (it + 1) * P->per; p += q->nb) {
			long j0 = p * FEAT_Q_NR, pend = (it + 1) * P->per;
			long cols = ((pend - p < q->nb ? pend - p : q->nb)) * FEAT_Q_NR;
			int nj = P->hw - j0 < cols ? (int)(P->hw - j0) : (int)cols;
			struct feat_qgemm_args a = {
				.M = q->M, .K = q->K, .n = nj, .ap = q->ap, .bp = bp,
				.C = P->y + j0, .ldc = (size_t)P->hw, .scale = q->scale,
				.comp = q->comp, .bias = P->bias, .relu = P->relu,
			};

			if (nj <= 0)
				break;
			for (int j = 0; j < nj; j += FEAT_Q_NR)
				P->k->qpack_b(&q->g, P->xq, j0 + j,
					      nj - j < FEAT_Q_NR ? nj - j : FEAT_Q_NR,
					      bp + (size_t)(j / FEAT_Q_NR) * psz);
			if (q->bf16) {
				struct feat_bgemm_args b = {
					.M = q->M, .K = q->K, .n = nj, .ap = q->ab,
					.bp = (const uint16_t *)(const void *)bp, .C = a.C,
					.ldc = a.ldc, .bias = P->bias, .relu = P->relu,
				};

				P->k->bgemm(&b);
			} else {
				P->k->qgemm(&a);
			}
		}
}

int feat_qconv_forward(struct feat_net *n, struct feat_qconv *q, const float *w,
	const float *bias, const float *X, size_t xs, float *Y, size_t ys, int batch, int relu,
	int threads)
{
	const struct feat_kern *k = feat_kern_active();
	long hw = (long)q->g.hout * q->g.wout, panels = (hw + FEAT_Q_NR - 1) / FEAT_Q_NR;
	struct qpar P = { .q = q, .k = k, .n = n, .bias = bias, .relu = relu, .hw = hw, .per = 1 };
	uint8_t *xq = (uint8_t *)n->scratch;
	int e;

	if (q->bf16 ? !q->ab && (e = bpack_weights(q, w)) : !q->ap && (e = pack_weights(q, w)))
		return e;
	P.xq = xq;
	for (int b = 0; b < batch; b++) {
		if (q->bf16)
			k->bf16_c2(X + (size_t)b * xs, q->cin, q->hin, q->win,
				   (uint16_t *)(void *)xq, q->g.cp / 2, q->pt, q->pl, q->pb, q->pr);
		else
			k->quant_c4(X + (size_t)b * xs, q->cin, q->hin, q->win, 1.0f / q->sx,
				    q->zp, xq, q->g.cp, q->pt, q->pl, q->pb, q->pr);
		P.y = Y + (size_t)b * ys;
		if (threads > 1 && n->pool) {
			P.per = (int)((panels + 4L * threads - 1) / (4L * threads));
			feat_threadpool_for(n->pool, (panels + P.per - 1) / P.per, 1, qpiece, &P);
		} else {
			P.per = (int)panels;
			qpiece(&P, 0, 1, 0);
		}
	}
	return 0;
}

/* ------------------------------------------------------------- fc */

int feat_qfc_setup(struct feat_net *n, struct feat_layer *l, int k, int nout,
	struct feat_qfc **out, char *why, size_t whylen)
{
	struct feat_qfc *q;
	double sx;
	int zp, on, e;

	*out = NULL;
	if ((e = params(l, &on, &sx, &zp, why, whylen)) || !on)
		return e;
	if (on == FEAT_QUANT_BF16 ? !feat_kern_active()->bgemv :
	    !feat_kern_active()->qgemv || k > FEAT_Q_KMAX)
		return 0;
	if (!(q = feat_net_alloc(n, sizeof *q)))
		return FEAT_E_NOMEM;
	memset(q, 0, sizeof *q);
	if (on == FEAT_QUANT_BF16) {
		q->bf16 = 1;
		q->k = k;
		q->nout = nout;
		q->ldw = ((size_t)k + 31) / 32 * 32;
		*out = q;
		return 0;
	}
	q->sx = (float)sx;
	q->zp = zp;
	q->k = k;
	q->nout = nout;
	q->ldw = ((size_t)k + 63) / 64 * 64;
	*out = q;
	return 0;
}

void feat_qfc_free(struct feat_qfc *q)
{
	if (!q)
		return;
	free(q->w);
	free(q->wb);
	free(q->xb);
	q->wb = NULL;
	q->xb = NULL;
	free(q->scale);
	free(q->comp);
	free(q->xq);
	free(q->ap);
	free(q->ab);
	free(q->gbp);
	free(q->gc);
	q->ap = NULL;
	q->ab = NULL;
	q->gbp = NULL;
	q->gc = NULL;
	q->gpanels = 0;
	q->w = NULL;
	q->scale = NULL;
	q->comp = NULL;
	q->xq = NULL;
}

static int bfc_pack(struct feat_qfc *q, const float *w)
{
	q->wb = feat_aligned_alloc(2 * (size_t)q->nout * q->ldw);
	q->xb = feat_aligned_alloc(2 * q->ldw);
	if (!q->wb || !q->xb) {
		feat_qfc_free(q);
		return FEAT_E_NOMEM;
	}
	memset(q->wb, 0, 2 * (size_t)q->nout * q->ldw);
	memset(q->xb, 0, 2 * q->ldw);
	for (int m = 0; m < q->nout; m++)
		feat_bf16_vec(w + (size_t)m * q->k, (size_t)q->k, q->wb + (size_t)m * q->ldw);
	return 0;
}

static int qfc_pack(struct feat_qfc *q, const float *w)
{
	q->w = feat_aligned_alloc((size_t)q->nout * q->ldw);
	q->scale = malloc(sizeof(float) * (size_t)q->nout);
	q->comp = malloc(sizeof(int32_t) * (size_t)q->nout);
	q->xq = feat_aligned_alloc(q->ldw);
	if (!q->w || !q->scale || !q->comp || !q->xq) {
		feat_qfc_free(q);
		return FEAT_E_NOMEM;
	}
	memset(q->w, 0, (size_t)q->nout * q->ldw);
	memset(q->xq, 0, q->ldw);
	for (int m = 0; m < q->nout; m++) {
		const float *wm = w + (size_t)m * q->k;
		float amax = 0;
		double sw;
		int32_t sum = 0;

		for (int i = 0; i < q->k; i++)
			amax = fabsf(wm[i]) > amax ? fabsf(wm[i]) : amax;
		sw = amax > 0 ? amax / 127.0 : 1.0;
		for (int i = 0; i < q->k; i++) {
			long v = lrint(wm[i] / sw);

			v = v > 127 ? 127 : v < -127 ? -127 : v;
			q->w[(size_t)m * q->ldw + i] = (int8_t)v;
			sum += (int32_t)v;
		}
		q->scale[m] = (float)(sw * q->sx);
		q->comp[m] = q->zp * sum;
	}
	return 0;
}

struct qfcpar {
	const struct feat_kern *k;
	struct feat_qgemv_args a;
	struct feat_bgemv_args b;
	int per;
};

static void qfc_piece(void *arg, long i0, long i1, int worker)
{
	const struct qfcpar *P = arg;
	struct feat_qgemv_args a = P->a;

	(void)worker;
	if (P->b.w) {
		struct feat_bgemv_args b = P->b;

		b.m0 = (int)(i0 * P->per);
		b.m1 = (int)(i1 * P->per < b.m1 ? i1 * P->per : b.m1);
		P->k->bgemv(&b);
		return;
	}
	a.m0 = (int)(i0 * P->per);
	a.m1 = (int)(i1 * P->per < a.m1 ? i1 * P->per : a.m1);
	P->k->qgemv(&a);
}

/*
 * Many rows: Y^T (nout x rows) = W (nout x k) X^T through the int8 or
 * bf16 GEMM, the weights the packed A (packed once), X^T the B panels,
 * packed a block of columns at a time: as many 32-row panels as fit in
 * about half of L2 (at least one), each block run against all of A, so
 * that A streams from L3 once per block and the panels stay in L2.  The
 * result goes through a buffer and is transposed into Y.  Threads take
 * row blocks of A (multiples of MR).
 */
/* one panel width and row block for both families (the packing below) */
_Static_assert(FEAT_Q_NR == FEAT_B_NR && FEAT_Q_MR == FEAT_B_MR, "int8 and bf16 tiles differ");

struct qfcg {
	const struct feat_kern *k;
	const struct feat_qfc *q;
	const void *bp;
	float *C;
	size_t ldc;
	const float *bias;
	int relu, n, K, per;
};

static void qfcg_piece(void *arg, long i0, long i1, int worker)
{
	const struct qfcg *G = arg;
	const struct feat_qfc *q = G->q;
	int m0 = (int)(i0 * G->per), m1 = (int)(i1 * G->per);

	(void)worker;
	m1 = m1 < q->nout ? m1 : q->nout;
	if (m0 >= m1)
		return;
	if (q->bf16) {
		struct feat_bgemm_args b = {
			.M = m1 - m0, .K = G->K, .n = G->n, .ap = q->ab + (size_t)m0 * G->K,
			.bp = G->bp, .C = G->C + (size_t)m0 * G->ldc, .ldc = G->ldc,
			.bias = G->bias ? G->bias + m0 : NULL, .relu = G->relu,
		};

		G->k->bgemm(&b);
	} else {
		struct feat_qgemm_args a = {
			.M = m1 - m0, .K = G->K, .n = G->n, .ap = q->ap + (size_t)m0 * G->K,
			.bp = G->bp, .C = G->C + (size_t)m0 * G->ldc, .ldc = G->ldc,
			.scale = q->scale + m0, .comp = q->comp + m0,
			.bias = G->bias ? G->bias + m0 : NULL, .relu = G->relu,
		};

		G->k->qgemm(&a);
	}
}

static int qfc_gemm(struct feat_net *n, struct feat_qfc *q, const float *w, const float *bias,
	const float *X, float *Y, int rows, int relu, int threads)
{
	const struct feat_kern *k = feat_kern_active();
	int K = q->bf16 ? (q->k + 1) / 2 * 2 : (q->k + 3) / 4 * 4, g = q->bf16 ? 2 : 4;
	size_t esz = q->bf16 ? 2 : 1, panel = (size_t)K * FEAT_Q_NR * esz;
	long np = (long)(512 * 1024 / panel), npan = (rows + FEAT_Q_NR - 1) / FEAT_Q_NR;
	struct qfcg G = { .k = k, .q = q, .K = K, .bias = bias, .relu = relu };
	unsigned char *bp;
	float *C;

	if (q->bf16 && !q->ab) {
		if (!(q->ab = feat_aligned_alloc(2 * feat_bpack_a_elems(q->nout, K))))
			return FEAT_E_NOMEM;
		feat_bpack_a(q->ab, w, (size_t)q->k, q->nout, q->k);
	}
	if (!q->bf16 && !q->ap) {
		if (!(q->ap = feat_aligned_alloc(feat_qpack_a_bytes(q->nout, K))))
			return FEAT_E_NOMEM;
		feat_qpack_a(q->ap, q->w, q->ldw, q->nout, K);   /* zero past k: ldw >= K */
	}
	np = np < 1 ? 1 : np > npan ? npan : np;
	if (np > q->gpanels) {
		free(q->gbp);
		free(q->gc);
		q->gbp = feat_aligned_alloc((size_t)np * panel);
		q->gc = malloc(sizeof *q->gc * (size_t)q->nout * (size_t)np * FEAT_Q_NR);
		q->gpanels = q->gbp && q->gc ? np : 0;
		if (!q->gpanels)
			return FEAT_E_NOMEM;
	}
	G.bp = bp = q->gbp;
	G.C = C = q->gc;
	for (long j0 = 0; j0 < rows; j0 += np * FEAT_Q_NR) {
		int nj = rows - j0 < np * FEAT_Q_NR ? (int)(rows - j0) : (int)(np * FEAT_Q_NR);

		/* X^T's columns j0.. as panels [K/g][NR][g]: each row of X
		 * rounded (or quantised) into the row buffer, then scattered;
		 * columns past nj and k past q->k zero */
		memset(bp, 0, (size_t)((nj + FEAT_Q_NR - 1) / FEAT_Q_NR) * panel);
		for (int j = 0; j < nj; j++) {
			const float *x = X + (size_t)(j0 + j) * q->k;
			uint32_t *d = (uint32_t *)(void *)(bp + (size_t)(j / FEAT_Q_NR) * panel) +
				j % FEAT_Q_NR;
			const uint32_t *r;

			/* a 4-byte word holds a pair of bf16 or four u8 of
			 * consecutive k; the row buffer is zero past k */
			if (q->bf16) {
				feat_bf16_vec(x, (size_t)q->k, q->xb);
				r = (const uint32_t *)(const void *)q->xb;
			} else {
				feat_quant_vec(x, (size_t)q->k, 1.0f / q->sx, q->zp, q->xq);
				r = (const uint32_t *)(const void *)q->xq;
			}
			for (int kw = 0; kw < K / g; kw++)
				d[(size_t)kw * FEAT_Q_NR] = r[kw];
		}
		G.n = nj;
		G.ldc = (size_t)nj;
		if (threads > 1 && n->pool) {
			G.per = (int)((q->nout + 4L * threads - 1) / (4L * threads));
			G.per = (G.per + FEAT_Q_MR - 1) / FEAT_Q_MR * FEAT_Q_MR;
			feat_threadpool_for(n->pool, (q->nout + G.per - 1) / G.per, 1, qfcg_piece, &G);
		} else {
			G.per = q->nout;
			qfcg_piece(&G, 0, 1, 0);
		}
		/* C (nout x nj) into rows j0.. of Y, by 16 x 16 tiles */
		for (int m0 = 0; m0 < q->nout; m0 += 16)
			for (int jt = 0; jt < nj; jt += 16)
				for (int j = jt; j < nj && j < jt + 16; j++)
					for (int m = m0; m < q->nout && m < m0 + 16; m++)
						Y[(size_t)(j0 + j) * q->nout + m] = C[(size_t)m * nj + j];
	}
	return 0;
}

int feat_qfc_forward(struct feat_net *n, struct feat_qfc *q, const float *w, const float *bias,
	const float *X, float *Y, int rows, int relu, int threads)
{
	const struct feat_kern *k = feat_kern_active();
	struct qfcpar P = { .k = k, .per = q->nout };
	int e;

	if (q->bf16 ? !q->wb && (e = bfc_pack(q, w)) : !q->w && (e = qfc_pack(q, w)))
		return e;
	if (rows >= FEAT_QFC_GEMM_ROWS && (q->bf16 ? k->bgemm != NULL : k->qgemm != NULL))
		return qfc_gemm(n, q, w, bias, X, Y, rows, relu, threads);
	for (int r = 0; r < rows && q->bf16; r++) {
		P.b = (struct feat_bgemv_args){
			.m0 = 0, .m1 = q->nout, .ldw = q->ldw, .w = q->wb, .x = q->xb,
			.y = Y + (size_t)r * q->nout, .bias = bias, .relu = relu,
		};
		feat_bf16_vec(X + (size_t)r * q->k, (size_t)q->k, q->xb);
		if (threads > 1 && n->pool) {
			P.per = (int)((q->nout + 4L * threads - 1) / (4L * threads));
			P.per = (P.per + 3) / 4 * 4;
			feat_threadpool_for(n->pool, (q->nout + P.per - 1) / P.per, 1, qfc_piece, &P);
		} else {
			k->bgemv(&P.b);
		}
	}
	for (int r = 0; r < rows && !q->bf16; r++) {
		P.a = (struct feat_qgemv_args){
			.m0 = 0, .m1 = q->nout, .ldw = q->ldw, .w = q->w, .x = q->xq,
			.y = Y + (size_t)r * q->nout, .scale = q->scale, .comp = q->comp,
			.bias = bias, .relu = relu,
		};
		feat_quant_vec(X + (size_t)r * q->k, (size_t)q->k, 1.0f / q->sx, q->zp, q->xq);
		if (threads > 1 && n->pool) {
			P.per = (int)((q->nout + 4L * threads - 1) / (4L * threads));
			P.per = (P.per + 3) / 4 * 4;
			feat_threadpool_for(n->pool, (q->nout + P.per - 1) / P.per, 1, qfc_piece, &P);
		} else {
			k->qgemv(&P.a);
		}
	}
	return 0;
}

/* ------------------------------------------------------- calibration */

int feat_qcalib_init(struct feat_qcalib *c, struct feat_net *n)
{
	memset(c, 0, sizeof *c);
	c->n = n;
	c->nlayer = n->nlayer;
	c->cand = calloc((size_t)n->nlayer + 1, sizeof *c->cand);
	c->amax = calloc((size_t)n->nlayer + 1, sizeof *c->amax);
	c->vmin = calloc((size_t)n->nlayer + 1, sizeof *c->vmin);
	c->hist = calloc(((size_t)n->nlayer + 1) * FEAT_QHIST, sizeof *c->hist);
	if (!c->cand || !c->amax || !c->vmin || !c->hist) {
		feat_qcalib_free(c);
		return FEAT_E_NOMEM;
	}
	for (int i = 0; i < n->nlayer; i++) {
		const struct feat_layer *l = &n->layer[i];
		const struct feat_value *g = feat_param(l, "group");
		int on_input = 0;

		/* (a layer the int8 products cannot take, its column over
		 * FEAT_Q_KMAX, stays fp32 and is not marked) */
		if (!l->removed && !strcmp(l->ops->type, "fc") &&
		    l->params >= (uint64_t)FEAT_QFC_MIN_WEIGHTS) {
			c->cand[i] = feat_layer_int8_fits(l);
			continue;
		}
		if (l->removed || strcmp(l->ops->type, "conv") || l->nin != 1 || !feat_layer_int8_fits(l))
			continue;
		if (g && !(g->type == FEAT_V_INT && g->u.i == 1))
			continue;
		/* the first convolution: it reads the input, or the input
		 * through elementwise layers (an exported mean and scale, a
		 * pad) */
		for (int b = feat_net_root(n, l->in[0]), hops = 0; b >= 0 && hops < 8; hops++) {
			const struct feat_layer *p;

			for (int j = 0; j < n->ninput; j++)
				on_input |= b == feat_net_root(n, n->input[j]);
			if (on_input || n->blob[b].producer < 0)
				break;
			p = &n->layer[n->blob[b].producer];
			if (p->nin != 1 || (strcmp(p->ops->type, "scale") && strcmp(p->ops->type, "pad") &&
					    strcmp(p->ops->type, "bn")))
				break;
			b = feat_net_root(n, p->in[0]);
		}
		c->cand[i] = !on_input;
	}
	return 0;
}

void feat_qcalib_free(struct feat_qcalib *c)
{
	free(c->cand);
	free(c->amax);
	free(c->vmin);
	free(c->hist);
	memset(c, 0, sizeof *c);
}

void feat_qcalib_image(struct feat_qcalib *c, int pass)
{
	struct feat_net *n = c->n;

	feat_net_reserve(n, 1);
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i];

		if (l->removed)
			continue;
		if (c->cand[i]) {
			const float *x = feat_net_data(n, l->in[0]);
			size_t cnt = n->blob[l->in[0]].count;

			if (pass == 1) {
				double am = c->amax[i], mn = c->vmin[i];

				for (size_t j = 0; j < cnt; j++) {
					double v = x[j];

					if (!isfinite(v))  /* no step holds them */
						continue;
					am = fabs(v) > am ? fabs(v) : am;
					mn = v < mn ? v : mn;
				}
				c->amax[i] = am;
				c->vmin[i] = mn;
			} else if (c->amax[i] > 0) {
				uint64_t *h = c->hist + (size_t)i * FEAT_QHIST;
				double f = FEAT_QHIST / c->amax[i];

				for (size_t j = 0; j < cnt; j++) {
					double v = fabs((double)x[j]) * f;
					long b = v < FEAT_QHIST ? (long)v : FEAT_QHIST;   /* (inf, NaN) */

					if (x[j] != 0 && isfinite(x[j]))
						h[b >= FEAT_QHIST ? FEAT_QHIST - 1 : b < 0 ? 0 : b]++;
				}
			}
		}
		l->ops->forward(n, l, 1);
	}
	c->images += pass == 1;
}

int feat_qcalib_scale(const struct feat_qcalib *c, int i, double pct, double *sx, int *zp)
{
	double t = c->amax[i];

	*zp = c->vmin[i] < 0 ? 128 : 0;
	if (pct < 100 && t > 0) {
		const uint64_t *h = c->hist + (size_t)i * FEAT_QHIST;
		uint64_t tot = 0, run = 0;
		int b;

		for (b = 0; b < FEAT_QHIST; b++)
			tot += h[b];
		for (b = 0; b < FEAT_QHIST && tot; b++) {
			run += h[b];
			if ((double)run >= tot * pct / 100)
				break;
		}
		if (tot && b < FEAT_QHIST)
			t = c->amax[i] * (b + 1) / FEAT_QHIST;
	}
	if (!(t > 0))
		t = 1;
	*sx = t / (*zp ? 127.0 : 255.0);
	/* the steps params() takes: beyond them the layer stays fp32 */
	return *sx > 1e-30 && *sx < 1e30 ? 0 : FEAT_E_RANGE;
}

int feat_quant_copy(feat_model_builder *b, const struct feat_model *m,
	const struct feat_qlayer *q)
{
	int e = 0;

	for (uint32_t i = 0; i < m->nmeta && !e; i++)
		if (strncmp(m->meta[i].key, "quant.", 6))
			e = feat_mb_meta(b, m->meta[i].key, &m->meta[i].v);
	for (uint32_t i = 0; i < m->ntensor && !e; i++) {
		const struct feat_mtensor *t = &m->tensor[i];
		int r = feat_mb_tensor(b, t->name, t->dtype, t->ndim, t->dims, t->data);

		e = r < 0 ? r : 0;
	}
	for (uint32_t i = 0; i < m->nlayer && !e; i++) {
		const struct feat_mlayer *l = &m->layer[i];
		struct feat_kv *kv = malloc(sizeof *kv * (l->nparam + 3));
		uint32_t np = 0;

		if (!kv)
			return FEAT_E_NOMEM;
		for (uint32_t j = 0; j < l->nparam; j++)
			if (strcmp(l->param[j].key, "quant") && strncmp(l->param[j].key, "quant.", 6))
				kv[np++] = l->param[j];
		if (q && q[i].on == FEAT_QUANT_BF16) {
			kv[np++] = (struct feat_kv){ "quant", { .type = FEAT_V_STR, .n = 1,
								.u.s = "bf16" } };
		} else if (q && q[i].on) {
			kv[np++] = (struct feat_kv){ "quant", { .type = FEAT_V_STR, .n = 1,
								.u.s = "u8s8" } };
			kv[np++] = (struct feat_kv){ "quant.scale", { .type = FEAT_V_FLOAT, .n = 1,
								      .u.f = q[i].sx } };
			kv[np++] = (struct feat_kv){ "quant.zero", { .type = FEAT_V_INT, .n = 1,
								     .u.i = q[i].zp } };
		}
		e = feat_mb_layer(b, l->type, l->name, l->nin, l->in, l->nout, l->out, np, kv,
				  l->nweight, l->weight);
		free(kv);
	}
	return e;
}
