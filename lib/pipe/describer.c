/*
 * describer.c - deepbit-extract's library half: a descriptor model (one
 * image input, K sigmoid outputs) over records' prepared `input`, adding
 * the binary `code` (bit i = activation i > 0.5) and, on request, `feat`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "img/prep.h"
#include "pipe/stage.h"

#define STAGE "deepbit-extract"

struct feat_describer {
	struct feat_net *net;
	int in, out;                   /* blobs */
	uint32_t chw[3];               /* input shape of one image */
	int bits, mirror, feat;
	int batch, threads;
	float *act;                    /* [batch][bits]: the unmirrored pass */
	struct feat_rec **ok;          /* records of the current pass */
};

void feat_describer_opts_init(struct feat_describer_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch = 8;
	o->threads = 1;
	o->mirror = -1;
}

int feat_describer_open(feat_describer **out, const char *path,
	const struct feat_describer_opts *opts, char *why, size_t whylen)
{
	struct feat_describer_opts def;
	struct feat_describer *d;
	const struct feat_value *v;
	const struct feat_blob *b;
	double bits, m;
	int e;

	*out = NULL;
	if (!opts) {
		feat_describer_opts_init(&def);
		opts = &def;
	}
	if (!(d = calloc(1, sizeof *d)))
		goto oom;
	if ((e = feat_stage_load(&d->net, path, opts->batch, opts->threads, &d->in, d->chw,
				 why, whylen)))
		goto fail;
	e = FEAT_E_FORMAT;
	if (d->net->noutput != 1) {
		snprintf(why, whylen, "%s: the model has %d inputs and %d outputs; a DeepBit model has one of each (the image, the K sigmoid activations)",
			 path, d->net->ninput, d->net->noutput);
		goto fail;
	}
	d->out = d->net->output[0];
	b = &d->net->blob[d->out];
	if (b->count < 1 || b->count > FEAT_CODES_MAX_BITS) {
		snprintf(why, whylen, "%s: the model's output has %zu values; a code has 1 to %d bits",
			 path, b->count, FEAT_CODES_MAX_BITS);
		goto fail;
	}
	d->bits = (int)b->count;
	if ((v = feat_model_meta(&d->net->model, "code.bits")) &&
	    (feat_meta_numbers(v, &bits, 1) != 1 || bits != d->bits)) {
		snprintf(why, whylen, "%s: metadata 'code.bits' says %g but the output has %d values",
			 path, feat_meta_numbers(v, &bits, 1) == 1 ? bits : -1.0, d->bits);
		goto fail;
	}
	d->mirror = opts->mirror;
	if (d->mirror < 0 && (v = feat_model_meta(&d->net->model, "code.mirror"))) {
		/* as ssd.mirror reads: "true" must not mean off */
		if (v->type == FEAT_V_STR && v->n == 1 &&
		    (!strcmp(v->u.s, "true") || !strcmp(v->u.s, "1")))
			d->mirror = 1;
		else if (v->type == FEAT_V_STR && v->n == 1 &&
			 (!strcmp(v->u.s, "false") || !strcmp(v->u.s, "0")))
			d->mirror = 0;
		else if (v->type != FEAT_V_STR && feat_meta_numbers(v, &m, 1) == 1 &&
			 (m == 0 || m == 1))
			d->mirror = (int)m;
		else {
			snprintf(why, whylen, "%s: metadata 'code.mirror': expected true or false", path);
			goto fail;
		}
	}
	d->mirror = d->mirror > 0;
	d->feat = opts->feat != 0;
	d->batch = opts->batch;
	d->threads = opts->threads;
	if (d->mirror && !(d->act = malloc((size_t)d->batch * (size_t)d->bits * sizeof *d->act)))
		goto oom;
	if (!(d->ok = calloc((size_t)d->batch, sizeof *d->ok)))
		goto oom;
	*out = d;
	return 0;
oom:
	snprintf(why, whylen, "out of memory");
	e = FEAT_E_NOMEM;
fail:
	feat_describer_free(d);
	return e;
}

void feat_describer_free(feat_describer *d)
{
	if (!d)
		return;
	free(d->act);
	free(d->ok);
	feat_net_free(d->net);
	free(d);
}

void feat_describer_info(const feat_describer *d, struct feat_describer_info *i)
{
	memset(i, 0, sizeof *i);
	i->channels = d->chw[0], i->height = d->chw[1], i->width = d->chw[2];
	i->batch = d->batch;
	i->threads = d->threads;
	i->bits = d->bits;
	i->mirror = d->mirror;
}

int feat_describer_prep(const feat_describer *d, struct feat_prep_opts *o,
	char *why, size_t whylen)
{
	memset(o, 0, sizeof *o);
	return feat_prep_from_model(o, 0, &d->net->model, why, whylen);
}

/* The code (and activations) of one record from its row of the output;
 * an output that is not finite (an overflow in the net) makes r an error
 * record, never a code. */
static int put_code(struct feat_describer *d, struct feat_rec *r, const float *act,
	char *why, size_t whylen)
{
	uint32_t dims[1] = { (uint32_t)d->bits };
	struct feat_tensor *t;
	uint8_t *code;
	size_t bad;
	int e;

	if ((bad = feat_f32_nonfinite(act, (size_t)d->bits)) < (size_t)d->bits)
		return feat_stage_nonfinite(STAGE, r, "network output is not finite",
					    d->net->blob[d->out].name, act, bad, (size_t)d->bits,
					    why, whylen);
	if (!(t = feat_rec_add(r, "code", FEAT_DT_BIT, 1, dims, &e)))
		goto fail;
	code = t->data;
	memset(code, 0, t->nbytes);
	for (int i = 0; i < d->bits; i++)
		if (act[i] > 0.5f)
			code[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	if (d->feat) {
		if (!(t = feat_rec_add(r, "feat", FEAT_DT_F32, 1, dims, &e)))
			goto fail;
		memcpy(t->data, act, (size_t)d->bits * sizeof *act);
	}
	return 0;
fail:
	if (e == FEAT_E_NOMEM)
		return feat_stage_oom(e, why, whylen);
	return feat_stage_oom(feat_rec_set_error(r, STAGE ": record has too many tensors to add 'code'"),
			      why, whylen);
}

int feat_describer_run(feat_describer *d, struct feat_rec **recs, int n,
	char *why, size_t whylen)
{
	float *out;
	int m, e;

	if ((e = feat_stage_batch(STAGE, "describer", d->net, d->in, d->chw, d->batch, recs, n,
				  NULL, NULL, d->ok, &m, why, whylen)) || !m)
		return e;
	out = feat_net_data(d->net, d->out);
	if (d->mirror) {
		/* the same inputs mirrored (each row of each channel reversed),
		 * then the mean of the two activations: a mirrored photo gives
		 * the same values up to rounding */
		memcpy(d->act, out, (size_t)m * (size_t)d->bits * sizeof *out);
		if ((e = feat_stage_mirror(d->net, d->in, d->chw, d->ok, m, why, whylen)))
			return e;
		out = feat_net_data(d->net, d->out);
		for (size_t i = 0; i < (size_t)m * d->bits; i++)
			d->act[i] = 0.5f * (d->act[i] + out[i]);
		out = d->act;
	}
	for (int i = 0; i < m; i++)
		if ((e = put_code(d, d->ok[i], out + (size_t)i * d->bits, why, whylen)))
			return e;
	return 0;
}
