/*
 * fit.c - codes fitted to a layer's features (feat/nn.h,
 * feat_codes_fit(3)): the network cut after the layer, run over the
 * records added, PCA + ITQ (itq.c) on the features, and the featmodel file
 * of the cut plus the code layer.  featmodel fitcodes is its front end.
 */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "base/internal.h"
#include "codes/itq.h"
#include "nn/cut.h"
#include "nn/net.h"

struct feat_codes_fitter {
	struct feat_codes_fit_opts o;
	char *path, *from;
	char **set;
	struct feat_model m;         /* the whole model */
	int last;                    /* the layer cut after */
	const char *blob;            /* its output (points into m) */
	struct feat_net *net;        /* m up to blob */
	unsigned char *netbuf;       /* net's file, kept while it lives */
	size_t d;                    /* the features' dimension */
	float *in;                   /* net's input data */
	size_t incount;
	int nb;                      /* records in the pending batch */
	char **keys;                 /* [batch]: their keys */
	float *x;                    /* [nx * d] features */
	size_t nx, cap;
	struct feat_codes_fit_info info;
	int done;
	char pre[32];                /* the code layer's names: PRE.weight,
				      * .bias, .proj, .code (fitcodes, or
				      * fitcodes2... when the model has those) */
};

/* Whether a layer of m up to last, a blob or a weight of one, is named
 * PRE.something. */
static int prefix_used(const struct feat_model *m, int last, const char *pre)
{
	size_t n = strlen(pre);
#define HAS(s) ((s) && !strncmp((s), pre, n) && (s)[n] == '.')
	for (int i = 0; i <= last && i < (int)m->nlayer; i++) {
		const struct feat_mlayer *l = &m->layer[i];

		if (HAS(l->name))
			return 1;
		for (uint32_t j = 0; j < l->nweight; j++)
			if (l->weight[j] < m->ntensor && HAS(m->tensor[l->weight[j]].name))
				return 1;
		for (uint32_t j = 0; j < l->nin; j++)
			if (HAS(l->in[j]))
				return 1;
		for (uint32_t j = 0; j < l->nout; j++)
			if (HAS(l->out[j]))
				return 1;
	}
#undef HAS
	return 0;
}

void feat_codes_fit_opts_init(struct feat_codes_fit_opts *o)
{
	memset(o, 0, sizeof *o);
	o->iters = 50;
	o->seed = 1;
	o->batch = 16;
	o->threads = 1;
}

/* A model error as the caller sees it: FEAT_E_NOTFOUND and FEAT_E_RANGE
 * are kept for what the options name wrong. */
static int model_err(int e)
{
	return e == FEAT_E_NOTFOUND || e == FEAT_E_RANGE ? FEAT_E_CORRUPT : e;
}

/* A builder holding m cut after the fitter's layer. */
static int cut(feat_codes_fitter *f, feat_model_builder **out, char *why, size_t whylen)
{
	feat_model_builder *b = feat_model_builder_new();
	int e;

	*out = b;
	if (!b || (e = feat_model_cut(b, &f->m, f->last, f->blob))) {
		feat_fmt(why, whylen, "%s: cannot cut the network: %s", f->path,
			 feat_strerror(b ? e : FEAT_E_NOMEM));
		return b ? e : FEAT_E_NOMEM;
	}
	return 0;
}

/* The network of b's bytes (kept in *buf while it lives). */
static int build(feat_model_builder *b, struct feat_net **net, unsigned char **buf,
	const char *what, char *why, size_t whylen)
{
	char net_of[1024];
	size_t len;
	int e;

	*buf = NULL;
	if ((e = feat_mb_encode(b, buf, &len))) {
		feat_fmt(why, whylen, "%s: %s", what, feat_strerror(e));
		return e;
	}
	feat_fmt(net_of, sizeof net_of, "%s: the network", what);
	if ((e = feat_net_from_bytes(net, *buf, len, net_of, why, whylen))) {
		free(*buf);
		*buf = NULL;
	}
	return e;
}

static int set_meta(feat_model_builder *b, const char *const *set, int nset, char *why,
	size_t whylen)
{
	char detail[512];
	int e;

	for (int i = 0; i < nset; i++)
		if ((e = feat_mb_meta_kv(b, set[i], detail, sizeof detail))) {
			feat_fmt(why, whylen, "%s", detail);
			return e;
		}
	return 0;
}

int feat_codes_fit_open(feat_codes_fitter **out, const char *path,
	const struct feat_codes_fit_opts *o, char *why, size_t whylen)
{
	feat_codes_fitter *f;
	feat_model_builder *b = NULL;
	struct feat_codes_fit_opts def;
	char detail[512], *what = NULL;
	int e;

	*out = NULL;
	if (why && whylen)
		why[0] = '\0';
	if (!o) {
		feat_codes_fit_opts_init(&def);
		o = &def;
	}
	if (!path || !o->from || o->bits < 1 || o->bits > FEAT_CODES_MAX_BITS || o->iters < 0 ||
	    o->iters > 100000 || o->batch < 1 || o->batch > 4096 || o->threads < 1 ||
	    o->threads > FEAT_THREADS_MAX || o->nset < 0 || (o->nset && !o->set)) {
		feat_fmt(why, whylen, "%s", !path || !o->from ? "no model or no layer given" :
			 "bits must be 1 to 65536, iters 0 to 100000, batch 1 to 4096, threads 1 to 64");
		return !path || !o->from ? FEAT_E_INVAL : FEAT_E_RANGE;
	}
	if (!(f = calloc(1, sizeof *f)))
		return FEAT_E_NOMEM;
	f->o = *o;
	f->o.set = NULL;
	f->o.name = NULL;
	e = FEAT_E_NOMEM;
	if (!(f->path = strdup(path)) || !(f->from = strdup(o->from)) ||
	    (o->name && !(f->o.name = strdup(o->name))) ||
	    !(f->keys = calloc((size_t)o->batch, sizeof *f->keys)) ||
	    (o->nset && !(f->set = calloc((size_t)o->nset, sizeof *f->set))))
		goto fail;
	for (int i = 0; i < o->nset; i++)
		if (!(f->set[i] = strdup(o->set[i])))
			goto fail;
	f->o.from = f->from;
	/* the KEY=VALUE pairs, checked now rather than after the run; the
	 * graph, the code length and the fit's record are fitcodes' own */
	for (int i = 0; i < o->nset; i++)
		if (!strncmp(o->set[i], "graph.", 6) || !strncmp(o->set[i], "fit.", 4) ||
		    !strncmp(o->set[i], "code.bits=", 10)) {
			feat_fmt(why, whylen, "%s: fitcodes writes %.*s itself", o->set[i],
				 (int)strcspn(o->set[i], "="), o->set[i]);
			e = FEAT_E_INVAL;
			goto fail;
		}
	if (!(b = feat_model_builder_new()))
		goto fail;
	if ((e = set_meta(b, o->set, o->nset, why, whylen)))
		goto fail;
	feat_model_builder_free(b);
	b = NULL;
	if ((e = feat_model_load(&f->m, path, detail, sizeof detail))) {
		feat_fmt(why, whylen, "%s", detail);
		e = model_err(e);
		goto fail;
	}
	if ((f->last = feat_model_find_output(&f->m, o->from, &f->blob, detail,
					      sizeof detail)) < 0) {
		feat_fmt(why, whylen, "%s: %s", path, detail);
		e = FEAT_E_NOTFOUND;
		goto fail;
	}
	/* names of its own for the code layer (a model fitted before holds
	 * fitcodes.*: fitting again from one of those layers must not clash) */
	snprintf(f->pre, sizeof f->pre, "fitcodes");
	for (int i = 2; prefix_used(&f->m, f->last, f->pre); i++)
		snprintf(f->pre, sizeof f->pre, "fitcodes%d", i);
	/* the network up to the layer, from which the features come */
	if ((e = cut(f, &b, why, whylen)))
		goto fail;
	if ((e = feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS,
		.n = 1, .u.strs = &f->blob }))) {
		feat_fmt(why, whylen, "%s: cannot cut the network: %s", path, feat_strerror(e));
		goto fail;
	}
	e = FEAT_E_NOMEM;
	if (!(what = malloc(strlen(path) + strlen(o->from) + 16)))
		goto fail;
	sprintf(what, "%s up to %s", path, o->from);
	if ((e = build(b, &f->net, &f->netbuf, what, why, whylen)))
		goto fail;
	feat_model_builder_free(b);
	b = NULL;
	f->d = f->net->blob[f->net->output[0]].count;
	if ((size_t)o->bits > f->d) {
		feat_fmt(why, whylen, "'%s' gives %zu features, so at most %zu bits", o->from,
			 f->d, f->d);
		e = FEAT_E_RANGE;
		goto fail;
	}
	if (f->d > INT_MAX / 4) {
		feat_fmt(why, whylen, "'%s' gives %zu features: too many to fit codes on",
			 o->from, f->d);
		e = FEAT_E_RANGE;
		goto fail;
	}
	if ((e = feat_net_reserve(f->net, o->batch))) {
		feat_fmt(why, whylen, "batch %d: %s", o->batch, feat_strerror(e));
		goto fail;
	}
	if (o->threads > 1 && (e = feat_net_set_threads(f->net, o->threads))) {
		feat_fmt(why, whylen, "%d threads: %s", o->threads, feat_strerror(e));
		goto fail;
	}
	f->in = feat_net_data(f->net, f->net->input[0]);
	f->incount = f->net->blob[f->net->input[0]].count;
	f->info.blob = f->blob;
	f->info.dim = f->d;
	free(what);
	*out = f;
	return 0;
fail:
	if (e == FEAT_E_NOMEM && why && whylen && !why[0])
		feat_fmt(why, whylen, "%s", feat_strerror(e));
	free(what);
	feat_model_builder_free(b);
	feat_codes_fit_free(f);
	return e;
}

void feat_codes_fit_info(const feat_codes_fitter *f, struct feat_codes_fit_info *i)
{
	*i = f->info;
	i->records = f->nx + (size_t)f->nb;
}

/* The pending batch through the network, its features appended. */
static int pass(feat_codes_fitter *f, char *why, size_t whylen)
{
	const float *out;
	size_t bad, d = f->d;
	int e, m = f->nb;

	if (!m)
		return 0;
	f->nb = 0;
	if ((e = feat_net_forward(f->net, m))) {
		feat_fmt(why, whylen, "forward pass: %s", feat_strerror(e));
		return e;
	}
	out = feat_net_data(f->net, f->net->output[0]);
	for (int i = 0; i < m; i++)
		if ((bad = feat_f32_nonfinite(out + i * d, d)) < d) {
			feat_fmt(why, whylen, "'%.200s': feature %zu is not finite (the network overflows on this input)",
				 f->keys[i], bad);
			return FEAT_E_RANGE;
		}
	if (feat_grow(&f->x, &f->cap, (f->nx + (size_t)m) * d, sizeof *f->x, 1024 * d)) {
		feat_fmt(why, whylen, "out of memory for %zu features of %zu values",
			 f->nx + (size_t)m, d);
		return FEAT_E_NOMEM;
	}
	memcpy(f->x + f->nx * d, out, (size_t)m * d * sizeof *out);
	f->nx += (size_t)m;
	return 0;
}

int feat_codes_fit_add(feat_codes_fitter *f, struct feat_rec *r, char *why, size_t whylen)
{
	int e;

	if (f->done) {
		feat_fmt(why, whylen, "the fit is finished");
		return FEAT_E_INVAL;
	}
	if ((e = feat_net_take_input(f->net, r, f->in + (size_t)f->nb * f->incount, why, whylen)))
		return e;
	free(f->keys[f->nb]);
	if (!(f->keys[f->nb] = strdup(r->key))) {
		feat_fmt(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	if (++f->nb == f->o.batch)
		return pass(f, why, whylen);
	return 0;
}

int feat_codes_fit_features(feat_codes_fitter *f, const float **x, size_t *n, char *why,
	size_t whylen)
{
	int e;

	if (f->done) {
		feat_fmt(why, whylen, "the fit is finished");
		return FEAT_E_INVAL;
	}
	if ((e = pass(f, why, whylen)))
		return e;
	*x = f->x;
	*n = f->nx;
	return 0;
}

#define META(key, ...) \
	(e = e ? e : feat_mb_meta(b, key, &(struct feat_value){ .n = 1, __VA_ARGS__ }))

int feat_codes_fit_finish(feat_codes_fitter *f, unsigned char **out, size_t *outlen,
	char *why, size_t whylen)
{
	struct feat_itq_fit fit = { 0 };
	feat_model_builder *b = NULL;
	const struct feat_value *v;
	struct feat_net *check = NULL;
	unsigned char *bytes = NULL;
	float *w = NULL, *bias = NULL;
	size_t d = f->d, nx;
	int k = f->o.bits, e;

	*out = NULL;
	if (why && whylen)
		why[0] = '\0';
	if (f->done) {
		feat_fmt(why, whylen, "the fit is finished");
		return FEAT_E_INVAL;
	}
	if ((e = pass(f, why, whylen)))
		return e;
	f->done = 1;
	nx = f->nx;
	if (!nx) {
		feat_fmt(why, whylen, "no ok record to fit codes on");
		return FEAT_E_EMPTY;
	}
	if ((size_t)k >= nx) {
		feat_fmt(why, whylen, "needs at least %d ok records; %zu were given", k + 1, nx);
		return FEAT_E_RANGE;
	}
	/* PCA + ITQ */
	e = FEAT_E_NOMEM;
	fit.mean = malloc(sizeof(double) * d);
	fit.eig = malloc(sizeof(double) * (size_t)k);
	fit.proj = malloc(sizeof(double) * d * (size_t)k);
	fit.loss = malloc(sizeof(double) * ((size_t)f->o.iters + 1));
	fit.zstd = malloc(sizeof(double) * (size_t)k);
	w = malloc(sizeof(float) * d * (size_t)k);
	bias = malloc(sizeof(float) * (size_t)k);
	if (!fit.mean || !fit.eig || !fit.proj || !fit.loss || !fit.zstd || !w || !bias)
		goto done;
	{
		/* the covariance is summed in float: features whose squares
		 * pass its range (finite, but about 1e18 and up) cannot be fitted */
		double big = 0;

		for (size_t i = 0; i < nx * d; i++)
			big = fabs(f->x[i]) > big ? fabs(f->x[i]) : big;
		if ((e = feat_itq_fit(f->x, nx, (int)d, k, f->o.iters, f->o.seed, &fit))) {
			if (e == FEAT_E_INVAL)
				feat_fmt(why, whylen, "fitting: the features' covariance is not finite "
					 "(|x| up to %.3g): features this large cannot be fitted", big);
			else
				feat_fmt(why, whylen, "fitting: %s", feat_strerror(e));
			e = e == FEAT_E_INVAL ? FEAT_E_RANGE : e;
			goto done;
		}
	}
	free(f->x);
	f->x = NULL;
	f->info.loss0 = fit.loss[0];
	f->info.loss = fit.loss[f->o.iters];
	f->info.variance = fit.variance;
	memcpy(f->info.seconds, fit.seconds, sizeof fit.seconds);
	/* a direction is flat when its variance is nothing beside the
	 * largest one's (the covariance is summed in float: a direction the
	 * features do not span comes out at 1e-9 to 1e-7 of the largest), or
	 * beside the features' own size (mean square plus variance): features
	 * that do not vary at all still differ by float rounding, about
	 * 1e-15 of their square, in every direction */
	{
		double energy = fit.trace;

		for (size_t i = 0; i < d; i++)
			energy += fit.mean[i] * fit.mean[i];
		for (int j = 0; j < k; j++)
			f->info.flat += !(fit.eig[j] > 1e-6 * fit.eig[0] &&
					  fit.eig[j] > 1e-12 * energy);
	}
	/* the code layer: weights (P R)^T, bias -(P R)^T mean, each row
	 * divided by the standard deviation of its projection: the same
	 * signs, and projections of about 1, where the sigmoid's output is
	 * not 0.5 by rounding (it is, in float, for |z| under about 1e-7:
	 * features of 1e-7 would have lost a third of their bits) */
	for (int j = 0; j < k; j++) {
		double s = 0, sc = fit.zstd[j] > 0 ? 1 / fit.zstd[j] : 1;

		for (size_t i = 0; i < d; i++) {
			w[(size_t)j * d + i] = (float)(fit.proj[i * (size_t)k + j] * sc);
			s += (double)w[(size_t)j * d + i] * fit.mean[i];
		}
		bias[j] = (float)-s;
	}
	/* the same cut, the code layer, the metadata */
	{
		uint32_t wd[2] = { (uint32_t)k, (uint32_t)d }, bd[1] = { (uint32_t)k }, widx[2];
		char pw[48], pb[48], pp[48], pc[48];
		const char *proj = pp, *code = pc;
		const char *name = (v = feat_model_meta(&f->m, "name")) && v->type == FEAT_V_STR ?
			v->u.s : f->o.name ? f->o.name : f->path;
		char text[1024];
		int ti;

		snprintf(pw, sizeof pw, "%s.weight", f->pre);
		snprintf(pb, sizeof pb, "%s.bias", f->pre);
		snprintf(pp, sizeof pp, "%s.proj", f->pre);
		snprintf(pc, sizeof pc, "%s.code", f->pre);
		if ((e = cut(f, &b, why, whylen)))
			goto done;
		e = FEAT_E_NOMEM;
		if ((ti = feat_mb_tensor(b, pw, FEAT_DT_F32, 2, wd, w)) < 0 ||
		    (widx[0] = (uint32_t)ti,
		     (ti = feat_mb_tensor(b, pb, FEAT_DT_F32, 1, bd, bias)) < 0) ||
		    (widx[1] = (uint32_t)ti,
		     feat_mb_layer(b, "fc", proj, 1, &f->blob, 1, &proj, 0, NULL, 2, widx)) ||
		    feat_mb_layer(b, "sigmoid", code, 1, &proj, 1, &code, 0, NULL, 0, NULL))
			goto done;
		e = 0;
		META("graph.outputs", .type = FEAT_V_STRS, .u.strs = &code);
		snprintf(text, sizeof text, "%.200s-itq%d", name, k);
		META("name", .type = FEAT_V_STR, .u.s = text);
		snprintf(text, sizeof text, "%d-bit codes (PCA + ITQ) of the features of '%.200s' of %.200s, fitted on %zu records by featmodel fitcodes",
			 k, f->from, name, nx);
		META("description", .type = FEAT_V_STR, .u.s = text);
		META("code.bits", .type = FEAT_V_INT, .u.i = k);
		META("fit.layer", .type = FEAT_V_STR, .u.s = f->from);
		META("fit.n", .type = FEAT_V_INT, .u.i = (int64_t)nx);
		META("fit.bits", .type = FEAT_V_INT, .u.i = k);
		META("fit.features", .type = FEAT_V_INT, .u.i = (int64_t)d);
		META("fit.iters", .type = FEAT_V_INT, .u.i = f->o.iters);
		META("fit.seed", .type = FEAT_V_INT, .u.i = (int64_t)f->o.seed);
		META("fit.loss", .type = FEAT_V_FLOAT, .u.f = f->info.loss);
		META("fit.loss0", .type = FEAT_V_FLOAT, .u.f = f->info.loss0);
		META("fit.variance", .type = FEAT_V_FLOAT, .u.f = f->info.variance);
		if (e)
			goto done;
		if ((e = set_meta(b, (const char *const *)f->set, f->o.nset, why, whylen)))
			goto done;
		if ((e = feat_mb_encode(b, &bytes, outlen))) {
			feat_fmt(why, whylen, "%s", feat_strerror(e));
			goto done;
		}
	}
	/* the result must build */
	if ((e = feat_net_from_bytes(&check, bytes, *outlen, "the network with the code layer",
				     why, whylen)))
		goto done;
	*out = bytes;
	bytes = NULL;
done:
	if (e == FEAT_E_NOMEM && why && whylen && !why[0])
		feat_fmt(why, whylen, "out of memory");
	feat_net_free(check);
	free(bytes);
	feat_model_builder_free(b);
	free(fit.mean);
	free(fit.eig);
	free(fit.proj);
	free(fit.loss);
	free(fit.zstd);
	free(w);
	free(bias);
	return e;
}
#undef META

void feat_codes_fit_free(feat_codes_fitter *f)
{
	if (!f)
		return;
	feat_net_free(f->net);
	free(f->netbuf);
	if (f->keys)
		for (int i = 0; i < f->o.batch; i++)
			free(f->keys[i]);
	free(f->keys);
	if (f->set)
		for (int i = 0; i < f->o.nset; i++)
			free(f->set[i]);
	free(f->set);
	free((char *)f->o.name);
	free(f->x);
	free(f->path);
	free(f->from);
	feat_model_free(&f->m);
	free(f);
}
