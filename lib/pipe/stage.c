/*
 * stage.c - the checks every network stage makes of its models and of the
 * records it is given.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/threadpool.h"
#include "pipe/stage.h"

_Static_assert(FEAT_THREADS_MAX == FEAT_POOL_MAX, "a forward pass runs on one pool");

int feat_stage_oom(int e, char *why, size_t whylen)
{
	if (e != FEAT_E_NOMEM)
		return 0;
	snprintf(why, whylen, "out of memory");
	return FEAT_E_NOMEM;
}

int feat_stage_load(struct feat_net **net, const char *path, int batch, int threads,
	int *in, uint32_t chw[3], char *why, size_t whylen)
{
	const struct feat_blob *b;
	int e;

	*net = NULL;
	if (batch < 1 || batch > 4096 || threads < 1 || threads > FEAT_THREADS_MAX) {
		snprintf(why, whylen, "batch must be 1 to 4096 and threads 1 to 64");
		return FEAT_E_RANGE;
	}
	if ((e = feat_net_load(net, path, why, whylen)))
		return e;
	if ((*net)->ninput != 1) {
		snprintf(why, whylen, "%s: the model has %d inputs; an image model has one",
			 path, (*net)->ninput);
		goto bad;
	}
	*in = (*net)->input[0];
	b = &(*net)->blob[*in];
	if (b->ndim != 4) {
		snprintf(why, whylen, "%s: the model's input has %d dimensions; an image input has 4 (N, C, H, W)",
			 path, b->ndim);
		goto bad;
	}
	chw[0] = b->dims[1], chw[1] = b->dims[2], chw[2] = b->dims[3];
	if ((e = feat_net_reserve(*net, batch))) {
		snprintf(why, whylen, "%s: %s", path, feat_strerror(e));
		goto fail;
	}
	if (threads > 1 && (e = feat_net_set_threads(*net, threads))) {
		snprintf(why, whylen, "%d threads: %s", threads, feat_strerror(e));
		goto fail;
	}
	return 0;
bad:
	e = FEAT_E_FORMAT;
fail:
	feat_net_free(*net);
	*net = NULL;
	return e;
}

int feat_stage_nonfinite(const char *stage, struct feat_rec *r,
	const char *what, const char *name, const float *v, size_t k, size_t n,
	char *why, size_t whylen)
{
	return feat_stage_oom(feat_rec_set_error(r, "%s: %s: '%s' holds %s at element %zu of %zu",
						 stage, what, name,
						 isnan(v[k]) ? "NaN" : v[k] > 0 ? "inf" : "-inf",
						 k, n), why, whylen);
}

const float *feat_stage_input(const char *stage, struct feat_rec *r,
	const uint32_t chw[3], int *e, char *why, size_t whylen)
{
	struct feat_tensor *t = feat_rec_find(r, "input");
	size_t k, n;

	*e = 0;
	if (!t) {
		*e = feat_stage_oom(feat_rec_set_error(r, "%s: no 'input' tensor (prepare it with imgprep -m MODEL)",
						       stage), why, whylen);
		return NULL;
	}
	if (t->dtype != FEAT_DT_F32 || t->ndim != 3 || t->dims[0] != chw[0] ||
	    t->dims[1] != chw[1] || t->dims[2] != chw[2]) {
		char got[128] = "";

		for (int i = 0; i < t->ndim; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u",
				 i ? " " : "", (unsigned)t->dims[i]);
		*e = feat_stage_oom(feat_rec_set_error(r, "%s: 'input' is %s [%s]; the model needs f32 [%u %u %u] (prepare it with imgprep -m MODEL)",
						       stage,
						       feat_dtype_name(t->dtype) ? feat_dtype_name(t->dtype) : "?",
						       got, chw[0], chw[1], chw[2]), why, whylen);
		return NULL;
	}
	n = (size_t)feat_tensor_count(t);
	if ((k = feat_f32_nonfinite(t->data, n)) < n) {
		*e = feat_stage_nonfinite(stage, r, "non-finite input", "input", t->data, k, n,
					  why, whylen);
		return NULL;
	}
	return t->data;
}

int feat_stage_batch(const char *stage, const char *noun, struct feat_net *net, int in,
	const uint32_t chw[3], int batch, struct feat_rec **recs, int n,
	feat_stage_accept accept, void *ctx, struct feat_rec **ok, int *m,
	char *why, size_t whylen)
{
	size_t count = (size_t)chw[0] * chw[1] * chw[2];
	float *x = feat_net_data(net, in);
	int e;

	*m = 0;
	if (n < 0 || n > batch) {
		snprintf(why, whylen, "%d records for a %s opened for batches of %d", n, noun, batch);
		return FEAT_E_RANGE;
	}
	for (int i = 0; i < n; i++) {
		const float *p;

		if (recs[i]->status != FEAT_ST_OK)
			continue;
		if (!(p = feat_stage_input(stage, recs[i], chw, &e, why, whylen))) {
			if (e)
				return e;
			continue;
		}
		if (accept && !accept(recs[i], *m, ctx, &e, why, whylen)) {
			if (e)
				return e;
			continue;
		}
		memcpy(x + (size_t)*m * count, p, count * sizeof *p);
		ok[(*m)++] = recs[i];
	}
	if (!*m)
		return 0;
	if ((e = feat_net_forward(net, *m))) {
		snprintf(why, whylen, "forward pass: %s", feat_strerror(e));
		return e;
	}
	return 0;
}

int feat_stage_mirror(struct feat_net *net, int in, const uint32_t chw[3],
	struct feat_rec **ok, int m, char *why, size_t whylen)
{
	size_t count = (size_t)chw[0] * chw[1] * chw[2];
	uint32_t w = chw[2];
	float *x = feat_net_data(net, in);
	int e;

	for (int i = 0; i < m; i++) {
		const float *src = feat_rec_find(ok[i], "input")->data;
		float *dst = x + (size_t)i * count;

		for (size_t row = 0; row < count / w; row++)
			for (uint32_t a = 0; a < w; a++)
				dst[row * w + a] = src[row * w + w - 1 - a];
	}
	if ((e = feat_net_forward(net, m))) {
		snprintf(why, whylen, "forward pass: %s", feat_strerror(e));
		return e;
	}
	return 0;
}
