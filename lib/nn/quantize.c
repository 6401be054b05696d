/*
 * quantize.c - a model quantised to int8 (feat/nn.h, feat_quantize(3)):
 * the model, without any quant parameter, built fp32 and run over the
 * calibration records, noting for each candidate layer (quant.c's
 * feat_qcalib) the largest |x| and the smallest x of its input (and with a
 * percentile below 100, a second pass over the same inputs, kept in
 * memory, for the histogram of |x|); the result is the model with quant,
 * quant.scale and quant.zero on each candidate not kept fp32, and
 * metadata saying how it was calibrated.  featmodel quantize is its front
 * end.
 */
#include <stdio.h>
#include <string.h>

#include "base/internal.h"
#include "nn/net.h"
#include "nn/quant.h"

struct feat_quantizer {
	char *path;
	char **fp32;                 /* opts.fp32, copied */
	int nfp32;
	double percentile;
	int bf16;                    /* opts.bf16 */
	struct feat_model m;         /* the whole model */
	struct feat_net *net;        /* m fp32 */
	unsigned char *netbuf;       /* net's file, kept while it lives */
	struct feat_qcalib cal;
	int calib;                   /* cal initialised */
	int loaded;                  /* m loaded */
	float *in;                   /* net's input data */
	size_t per;                  /* its floats */
	float *inputs;               /* [records][per]: percentile < 100 */
	struct feat_quantize_layer *layer;  /* [nlayer] after finish */
	int *cand;                   /* [ncand]: the candidates' layer numbers */
	int ncand;
	struct feat_quantize_info info;
	int done;
};

void feat_quantize_opts_init(struct feat_quantize_opts *o)
{
	memset(o, 0, sizeof *o);
	o->percentile = 100;
}

/* 1 when name is one of fp32's (each a name or a comma list). */
static int keep_fp32(const feat_quantizer *q, const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < q->nfp32; i++)
		for (const char *p = q->fp32[i]; *p;) {
			size_t n = strcspn(p, ",");

			if (n == len && !strncmp(p, name, n))
				return 1;
			p += n + (p[n] == ',');
		}
	return 0;
}

int feat_quantize_open(feat_quantizer **out, const char *path,
	const struct feat_quantize_opts *o, char *why, size_t whylen)
{
	struct feat_quantize_opts def;
	feat_model_builder *b = NULL;
	feat_quantizer *q;
	char net_of[1024];
	size_t len;
	int e;

	*out = NULL;
	if (why && whylen)
		why[0] = '\0';
	if (!o) {
		feat_quantize_opts_init(&def);
		o = &def;
	}
	if (!path || (o->nfp32 && !o->fp32) || o->nfp32 < 0) {
		feat_fmt(why, whylen, "no model path, or a bad fp32 list");
		return FEAT_E_INVAL;
	}
	if (!(o->percentile >= 50 && o->percentile <= 100)) {
		feat_fmt(why, whylen, "percentile %g: expected 50 to 100", o->percentile);
		return FEAT_E_RANGE;
	}
	if (!(q = calloc(1, sizeof *q))) {
		feat_fmt(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	if (!(q->path = strdup(path)) ||
	    (o->nfp32 && !(q->fp32 = calloc((size_t)o->nfp32, sizeof *q->fp32)))) {
		e = FEAT_E_NOMEM;
		goto fail;
	}
	q->percentile = o->percentile;
	q->bf16 = o->bf16 != 0;
	for (; q->nfp32 < o->nfp32; q->nfp32++)
		if (!(q->fp32[q->nfp32] = strdup(o->fp32[q->nfp32] ? o->fp32[q->nfp32] : ""))) {
			e = FEAT_E_NOMEM;
			goto fail;
		}
	if ((e = feat_model_load(&q->m, path, why, whylen)))
		goto fail;
	q->loaded = 1;
	/* every name of fp32 is a layer of the model */
	for (int i = 0; i < q->nfp32; i++)
		for (const char *p = q->fp32[i]; *p;) {
			size_t n = strcspn(p, ",");
			uint32_t j;

			for (j = 0; j < q->m.nlayer; j++)
				if (strlen(q->m.layer[j].name) == n && !strncmp(q->m.layer[j].name, p, n))
					break;
			if (j == q->m.nlayer) {
				feat_fmt(why, whylen, "%.*s: %s has no such layer", (int)n, p, path);
				e = FEAT_E_NOTFOUND;
				goto fail;
			}
			p += n + (p[n] == ',');
		}
	/* the fp32 network (a model quantised before loses its quant) */
	if (!(b = feat_model_builder_new()) || (e = feat_quant_copy(b, &q->m, NULL))) {
		feat_fmt(why, whylen, "%s: cannot copy the model: %s", path,
			 b ? feat_strerror(e) : "out of memory");
		e = b ? e : FEAT_E_NOMEM;
		goto fail;
	}
	if ((e = feat_mb_encode(b, &q->netbuf, &len))) {
		feat_fmt(why, whylen, "%s: %s", path, feat_strerror(e));
		goto fail;
	}
	feat_fmt(net_of, sizeof net_of, "%s: the network", path);
	if ((e = feat_net_from_bytes(&q->net, q->netbuf, len, net_of, why, whylen)))
		goto fail;
	feat_model_builder_free(b);
	b = NULL;
	if ((e = feat_net_reserve(q->net, 1)) || (e = feat_qcalib_init(&q->cal, q->net))) {
		feat_fmt(why, whylen, "%s", feat_strerror(e));
		goto fail;
	}
	q->calib = 1;
	q->in = feat_net_data(q->net, q->net->input[0]);
	q->per = q->net->blob[q->net->input[0]].count;
	*out = q;
	return 0;
fail:
	if (e == FEAT_E_NOMEM && why && whylen && !why[0])
		feat_fmt(why, whylen, "out of memory");
	feat_model_builder_free(b);
	feat_quantize_free(q);
	return e;
}

void feat_quantize_info(const feat_quantizer *q, struct feat_quantize_info *i)
{
	*i = q->info;
}

int feat_quantize_add(feat_quantizer *q, struct feat_rec *r, char *why, size_t whylen)
{
	int e;

	if (q->done) {
		feat_fmt(why, whylen, "the calibration is finished");
		return FEAT_E_INVAL;
	}
	if (q->bf16) {
		feat_fmt(why, whylen, "bf16 needs no calibration records");
		return FEAT_E_INVAL;
	}
	if (q->info.records >= FEAT_QUANTIZE_MAX_RECORDS) {
		feat_fmt(why, whylen, "at most %d calibration records", FEAT_QUANTIZE_MAX_RECORDS);
		return FEAT_E_RANGE;
	}
	if ((e = feat_net_take_input(q->net, r, q->in, why, whylen)))
		return e;
	if (q->percentile < 100) {
		float *ni = realloc(q->inputs, sizeof *ni * q->per * (q->info.records + 1));

		if (!ni) {
			feat_fmt(why, whylen, "out of memory for %zu calibration inputs",
				 q->info.records + 1);
			return FEAT_E_NOMEM;
		}
		q->inputs = ni;
		memcpy(q->inputs + q->per * q->info.records, q->in, sizeof *q->in * q->per);
	}
	feat_qcalib_image(&q->cal, 1);
	q->info.records++;
	return 0;
}

#define META(key, ...) \
	(e = e ? e : feat_mb_meta(b, key, &(struct feat_value){ .n = 1, __VA_ARGS__ }))

int feat_quantize_finish(feat_quantizer *q, unsigned char **out, size_t *outlen, char *why,
	size_t whylen)
{
	struct feat_qlayer *ql = NULL;
	feat_model_builder *b = NULL;
	struct feat_net *check = NULL;
	unsigned char *bytes = NULL;
	int e = 0, nlayer;

	*out = NULL;
	*outlen = 0;
	if (why && whylen)
		why[0] = '\0';
	if (q->done) {
		feat_fmt(why, whylen, "the calibration is finished");
		return FEAT_E_INVAL;
	}
	q->done = 1;
	if (!q->info.records && !q->bf16) {
		feat_fmt(why, whylen, "no record to calibrate on");
		return FEAT_E_EMPTY;
	}
	for (size_t i = 0; i < q->info.records && q->inputs; i++) {
		memcpy(q->in, q->inputs + q->per * i, sizeof *q->in * q->per);
		feat_qcalib_image(&q->cal, 2);
	}
	free(q->inputs);
	q->inputs = NULL;
	nlayer = q->net->nlayer;
	if (!(ql = calloc((size_t)nlayer + q->m.nlayer + 1, sizeof *ql)) ||
	    !(q->layer = calloc((size_t)nlayer + 1, sizeof *q->layer)) ||
	    !(q->cand = calloc((size_t)nlayer + 1, sizeof *q->cand))) {
		e = FEAT_E_NOMEM;
		goto done;
	}
	for (int i = 0; i < nlayer; i++) {
		struct feat_quantize_layer *l = &q->layer[q->ncand];

		if (!q->cal.cand[i])
			continue;
		q->cand[q->ncand++] = i;
		l->name = q->net->layer[i].name;
		l->amax = q->cal.amax[i];
		l->vmin = q->cal.vmin[i];
		if (keep_fp32(q, l->name)) {
			q->info.kept++;
			continue;
		}
		if (q->bf16) {
			ql[i].on = FEAT_QUANT_BF16;
			l->bf16 = 1;
			q->info.bf16++;
			continue;
		}
		if (feat_qcalib_scale(&q->cal, i, q->percentile, &ql[i].sx, &ql[i].zp)) {
			l->no_step = 1;
			continue;
		}
		ql[i].on = FEAT_QUANT_U8S8;
		l->int8 = 1;
		l->step = ql[i].sx;
		l->zero = ql[i].zp;
		q->info.int8++;
	}
	/* (the net stays until feat_quantize_free: the names point into it) */
	feat_qcalib_free(&q->cal);
	q->calib = 0;
	if (!(b = feat_model_builder_new())) {
		e = FEAT_E_NOMEM;
		goto done;
	}
	e = feat_quant_copy(b, &q->m, ql);
	META("quant.method", .type = FEAT_V_STR, .u.s = q->bf16 ? "bf16" : "u8s8");
	if (!q->bf16) {
		META("quant.calib.records", .type = FEAT_V_INT, .u.i = (int64_t)q->info.records);
		META("quant.calib.percentile", .type = FEAT_V_FLOAT, .u.f = q->percentile);
	}
	if (e || (e = feat_mb_encode(b, &bytes, outlen))) {
		feat_fmt(why, whylen, "%s", feat_strerror(e));
		goto done;
	}
	/* the result must build */
	if ((e = feat_net_from_bytes(&check, bytes, *outlen, "the quantised network", why,
				     whylen)))
		goto done;
	*out = bytes;
	bytes = NULL;
done:
	if (e == FEAT_E_NOMEM && why && whylen && !why[0])
		feat_fmt(why, whylen, "out of memory");
	if (e)
		*outlen = 0;
	feat_net_free(check);
	free(bytes);
	feat_model_builder_free(b);
	free(ql);
	return e;
}
#undef META

int feat_quantize_layer(const feat_quantizer *q, int i, struct feat_quantize_layer *l)
{
	if (!q->layer || i < 0 || i >= q->ncand)
		return FEAT_E_RANGE;
	*l = q->layer[i];
	return 0;
}

void feat_quantize_free(feat_quantizer *q)
{
	if (!q)
		return;
	if (q->calib)
		feat_qcalib_free(&q->cal);
	feat_net_free(q->net);
	free(q->netbuf);
	if (q->loaded)
		feat_model_free(&q->m);
	free(q->path);
	for (int i = 0; i < q->nfp32; i++)
		free(q->fp32[i]);
	free(q->fp32);
	free(q->inputs);
	free(q->layer);
	free(q->cand);
	free(q);
}
