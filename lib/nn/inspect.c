/*
 * inspect.c - a network seen from outside (feat/nn.h): its metadata,
 * layers, inputs and outputs, and per-layer timing, for featmodel info,
 * bench and run and for C callers, without struct feat_net's fields.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/internal.h"
#include "nn/layers.h"
#include "nn/net.h"

void feat_net_info(const struct feat_net *n, struct feat_net_info *i)
{
	memset(i, 0, sizeof *i);
	i->layers = n->nlayer;
	i->inputs = n->ninput;
	i->outputs = n->noutput;
	i->meta = (int)n->model.nmeta;
	i->buffers = n->nslab;
	i->capacity = n->capacity;
}

/* v as text: lists cut after 16 items, with ",... (N)" */
static void value_text(const struct feat_value *v, char *s, size_t len)
{
	uint32_t show = v->n > 16 ? 16 : v->n;
	size_t at = 0;

#define PUT(...) \
	do { \
		if (at < len) \
			at += (size_t)snprintf(s + at, len - at, __VA_ARGS__); \
	} while (0)
	if (len)
		s[0] = '\0';
	switch (v->type) {
	case FEAT_V_INT: PUT("%" PRId64, v->u.i); break;
	case FEAT_V_FLOAT: PUT("%g", v->u.f); break;
	case FEAT_V_STR: PUT("%s", v->u.s); break;
	case FEAT_V_INTS:
		for (uint32_t i = 0; i < show; i++)
			PUT(i ? ",%" PRId64 : "%" PRId64, v->u.ints[i]);
		break;
	case FEAT_V_FLOATS:
		for (uint32_t i = 0; i < show; i++)
			PUT(i ? ",%g" : "%g", v->u.floats[i]);
		break;
	case FEAT_V_STRS:
		for (uint32_t i = 0; i < show; i++)
			PUT(i ? ",%s" : "%s", v->u.strs[i]);
		break;
	}
	if (show < v->n)
		PUT(",... (%u)", v->n);
#undef PUT
}

int feat_net_meta(const struct feat_net *n, int i, const char **key, char *text, size_t len)
{
	if (i < 0 || (uint32_t)i >= n->model.nmeta)
		return FEAT_E_RANGE;
	*key = n->model.meta[i].key;
	value_text(&n->model.meta[i].v, text, len);
	return 0;
}

int feat_net_layer(const struct feat_net *n, int i, struct feat_net_layer *l)
{
	static const char *const acts[] = { "", "relu", "relu6", "leaky", "silu", "hswish",
		"sigmoid", "hsig", "gelu" };
	const struct feat_value *v;
	const struct feat_layer *x;
	const struct feat_blob *b;

	if (i < 0 || i >= n->nlayer)
		return FEAT_E_RANGE;
	x = &n->layer[i];
	b = &n->blob[x->out[0]];
	memset(l, 0, sizeof *l);
	l->type = x->ops->type;
	l->name = x->name;
	/* an activation fused into a convolution shows on the convolution */
	l->fused = x->ops->in_place_ok || x->act < 0 || x->act > FEAT_ACT_GELU ? "" : acts[x->act];
	l->folded = x->removed;
	l->blocked = !x->removed && feat_net_blob_nchwc(n, x->out[0]);
	l->ndim = b->ndim;
	memcpy(l->dims, b->dims, sizeof l->dims);
	l->params = x->params;
	l->macs = x->macs;
	l->seconds = x->seconds;
	if ((v = feat_param(x, "quant")) && v->type == FEAT_V_STR && !strcmp(v->u.s, "bf16")) {
		l->bf16 = 1;
	} else if (v && feat_layer_int8_fits(x)) {
		/* (marked but too long a column for the int8 products: it
		 * runs fp32 on every path, and shows so) */
		l->int8 = 1;
		v = feat_param(x, "quant.scale");
		l->quant_step = !v ? 0.0 : v->type == FEAT_V_INT ? (double)v->u.i : v->u.f;
		l->quant_zero = (v = feat_param(x, "quant.zero")) ? (int)v->u.i : 0;
	}
	return 0;
}

static void tensor(const struct feat_net *n, int blob, struct feat_net_tensor *t)
{
	const struct feat_blob *b = &n->blob[blob];

	memset(t, 0, sizeof *t);
	t->name = b->name;
	t->ndim = b->ndim;
	memcpy(t->dims, b->dims, sizeof t->dims);
	t->count = b->count;
	t->data = n->capacity ? feat_net_data(n, blob) : NULL;
}

int feat_net_input(const struct feat_net *n, int i, struct feat_net_tensor *t)
{
	if (i < 0 || i >= n->ninput)
		return FEAT_E_RANGE;
	tensor(n, n->input[i], t);
	return 0;
}

int feat_net_output(const struct feat_net *n, int i, struct feat_net_tensor *t)
{
	if (i < 0 || i >= n->noutput)
		return FEAT_E_RANGE;
	tensor(n, n->output[i], t);
	return 0;
}

void feat_net_profile(struct feat_net *n, int on)
{
	n->profile = !!on;
	if (on)
		for (int i = 0; i < n->nlayer; i++) {
			n->layer[i].seconds = 0;
			n->layer[i].calls = 0;
		}
}

/* Record r's f32 `input`, checked against n's input shape, copied to dst
 * (one image).  0, or FEAT_E_INVAL with why naming r's key: no `input`,
 * another type or shape, a value that is not finite.  featmodel fitcodes'
 * and quantize's check (codes/fit.c, nn/quantize.c). */
int feat_net_take_input(const struct feat_net *n, struct feat_rec *r, float *dst, char *why,
	size_t whylen)
{
	const struct feat_blob *in = &n->blob[n->input[0]];
	struct feat_tensor *t = feat_rec_find(r, "input");
	int fits = t && t->dtype == FEAT_DT_F32 && t->ndim == in->ndim - 1;
	char got[128] = "", want[128] = "";
	size_t k;

	for (int d = 1; d < in->ndim; d++) {
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%u", d > 1 ? " " : "",
			 in->dims[d]);
		fits = fits && t->dims[d - 1] == in->dims[d];
	}
	if (!t) {
		feat_fmt(why, whylen, "'%.200s' has no 'input' tensor; the model needs f32 [%s] (prepare the photos with imgprep -m MODEL)",
			 r->key, want);
		return FEAT_E_INVAL;
	}
	if (!fits) {
		for (int d = 0; d < t->ndim; d++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u", d ? " " : "",
				 (unsigned)t->dims[d]);
		feat_fmt(why, whylen, "'%.200s': 'input' is %s [%s]; the model needs f32 [%s] (prepare the photos with imgprep -m MODEL)",
			 r->key, feat_dtype_name(t->dtype) ? feat_dtype_name(t->dtype) : "?", got,
			 want);
		return FEAT_E_INVAL;
	}
	if ((k = feat_f32_nonfinite(t->data, in->count)) < in->count) {
		feat_fmt(why, whylen, "'%.200s': 'input' holds %s at element %zu", r->key,
			 isnan(((float *)t->data)[k]) ? "NaN" : "an infinity", k);
		return FEAT_E_INVAL;
	}
	memcpy(dst, t->data, in->count * sizeof *dst);
	return 0;
}
