/*
 * caffe.c - import a Caffe model (deploy.prototxt + .caffemodel: the
 * format of the original SSD and DeepBit releases) into a featmodel.
 *
 * The prototxt (text, prototxt.c) gives the layers in order; the
 * caffemodel (binary, pb.c) gives each named layer's blobs: NetParameter
 * layer = 100 (and V1 `layers` = 2, refused), LayerParameter name = 1,
 * blobs = 7; BlobProto shape = 7 (BlobShape dim = 1), data = 5, and the
 * legacy num/channels/height/width = 1..4.
 *
 * Layer types: Input, Convolution, BatchNorm (mean and variance divided by
 * the stored scale factor), Scale, ReLU (negative_slope: leaky), Sigmoid,
 * Pooling (rounding up, or down for round_mode FLOOR), InnerProduct,
 * Normalize, Permute, Flatten, Reshape, Concat, Softmax, Eltwise (SUM),
 * Dropout (passed through).
 * PriorBox and DetectionOutput are not layers of the engine: their
 * parameters become metadata (ssd.LAYER.FIELD) for the pipeline, and they
 * and whatever only they feed are left out of the graph.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>

#include "base/internal.h"
#include "nn/model.h"
#include "nn/import/pb.h"
#include "nn/import/prototxt.h"

#define MAXBLOBS 8
#define MAXIO 64
#define MAXOUT 64   /* graph outputs */

struct blob {
	int ndim;
	int64_t dims[FEAT_MAX_DIMS];
	struct feat_pb_field data;   /* packed floats */
	int has_data;
};

struct clayer {
	const uint8_t *name;
	size_t namelen;
	int nblob;
	struct blob blob[MAXBLOBS];
};

struct bref {
	const char *name;
	int at;                      /* the layer that wrote or read it */
};

struct cimp {
	feat_model_builder *b;
	struct clayer *cl;
	size_t ncl, capcl;
	char *why;
	size_t whylen;
	const char **skipped;        /* blobs produced only for PriorBox/DetectionOutput */
	size_t nskipped, capskipped;
	struct bref *produced;       /* blob names in order of writing */
	size_t nproduced, capproduced;
	struct bref *consumed;       /* and of reading */
	size_t nconsumed, capconsumed;
	int nlayer;
	const char *alias[256][2];   /* Dropout with a new name: top -> bottom */
	int nalias;
	/* the prior boxes behind each skipped blob: a PriorBox's top names
	 * its layer, a Concat of them the layers in order ("p1,p2,...") */
	const char *prior_blob[64];
	char prior_names[64][1024];
	int nprior_blob;
};

static int cfail(struct cimp *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cfail(struct cimp *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return err;
}

/* ----------------------------------------------------------- the blobs */

static int parse_blob(struct cimp *c, const struct feat_pb_field *bf, struct blob *b)
{
	struct feat_pb m = feat_pb_sub(bf);
	struct feat_pb_field f;
	int64_t legacy[4] = { 0, 0, 0, 0 };
	int has_legacy = 0, e;
	char why[160];

	memset(b, 0, sizeof *b);
	while ((e = feat_pb_next(&m, &f, why, sizeof why)) == 1) {
		if (f.num >= 1 && f.num <= 4 && f.wire == FEAT_PB_VARINT) {
			legacy[f.num - 1] = (int64_t)f.v;
			has_legacy = 1;
		} else if (f.num == 5) {
			b->data = f;
			b->has_data = 1;
		} else if (f.num == 7 && f.wire == FEAT_PB_LEN) {
			struct feat_pb s = feat_pb_sub(&f);
			struct feat_pb_field d;

			while ((e = feat_pb_next(&s, &d, why, sizeof why)) == 1) {
				uint64_t v[FEAT_MAX_DIMS + 1];
				long k;

				if (d.num != 1)
					continue;
				k = feat_pb_values(&d, FEAT_PB_VARINT, v, FEAT_MAX_DIMS + 1, 0, why,
						   sizeof why);
				if (k < 0 || b->ndim + k > FEAT_MAX_DIMS)
					return cfail(c, FEAT_E_FORMAT, "blob shape: %s",
						     k < 0 ? why : "too many dimensions");
				for (long i = 0; i < k; i++)
					b->dims[b->ndim++] = (int64_t)v[i];
			}
			if (e < 0)
				return cfail(c, e, "blob shape: %s", why);
		}
	}
	if (e < 0)
		return cfail(c, e, "blob: %s", why);
	if (!b->ndim && has_legacy) {
		for (int i = 0; i < 4; i++)
			b->dims[i] = legacy[i];
		b->ndim = 4;
	}
	return 0;
}

static int parse_caffemodel(struct cimp *c, const void *data, size_t len)
{
	struct feat_pb m = feat_pb_view(data, len);
	struct feat_pb_field f;
	char why[160];
	int e;

	while ((e = feat_pb_next(&m, &f, why, sizeof why)) == 1) {
		struct feat_pb l;
		struct feat_pb_field g;
		struct clayer *cl;

		if (f.num == 2 && f.wire == FEAT_PB_LEN)
			return cfail(c, FEAT_E_FORMAT,
				     "caffemodel uses the old V1 'layers' format; upgrade it with Caffe's upgrade_net_proto_binary");
		if (f.num != 100 || f.wire != FEAT_PB_LEN)
			continue;
		if (feat_grow(&c->cl, &c->capcl, c->ncl + 1, sizeof *c->cl, 64))
			return FEAT_E_NOMEM;
		cl = &c->cl[c->ncl++];
		memset(cl, 0, sizeof *cl);
		l = feat_pb_sub(&f);
		while ((e = feat_pb_next(&l, &g, why, sizeof why)) == 1) {
			if (g.num == 1 && g.wire == FEAT_PB_LEN) {
				cl->name = g.data;
				cl->namelen = g.len;
			} else if (g.num == 7 && g.wire == FEAT_PB_LEN) {
				if (cl->nblob == MAXBLOBS)
					return cfail(c, FEAT_E_FORMAT, "caffemodel: a layer with more than %d blobs",
						     MAXBLOBS);
				if ((e = parse_blob(c, &g, &cl->blob[cl->nblob++])))
					return e;
			}
		}
		if (e < 0)
			return cfail(c, e, "caffemodel layer %zu: %s", c->ncl, why);
	}
	if (e < 0)
		return cfail(c, e, "caffemodel: %s", why);
	return 0;
}

static const struct clayer *find_blobs(const struct cimp *c, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < c->ncl; i++)
		if (c->cl[i].namelen == n && !memcmp(c->cl[i].name, name, n))
			return &c->cl[i];
	return NULL;
}

/* Blob i of layer name as a featkit tensor (scaled by mul), shape checked
 * against want (count only when want is NULL).  rank, when not 0, is the
 * rank the engine wants: leading 1s beyond it are dropped (Caffe's legacy
 * num/channels/height/width stores an InnerProduct's [N, K] weights as
 * [1, 1, N, K]).  Returns its index. */
static int blob_tensor_r(struct cimp *c, const char *layer, int i, uint64_t want, float mul,
	const char *suffix, int rank)
{
	const struct clayer *cl = find_blobs(c, layer);
	const struct blob *b;
	uint64_t n = 1, have;
	float *v;
	uint32_t d[1];
	char nm[300], why[160];
	int e;

	if (!cl || i >= cl->nblob)
		return cfail(c, FEAT_E_FORMAT, "layer '%s': the caffemodel has no blob %d for it", layer, i);
	b = &cl->blob[i];
	for (int k = 0; k < b->ndim; k++) {
		if (b->dims[k] < 0 || b->dims[k] > ((int64_t)1 << 32) ||
		    (b->dims[k] && n > ((uint64_t)1 << 40) / (uint64_t)b->dims[k]))
			return cfail(c, FEAT_E_FORMAT, "layer '%s': blob %d has a bad shape", layer, i);
		n *= (uint64_t)b->dims[k];
	}
	if (want && n != want)
		return cfail(c, FEAT_E_FORMAT, "layer '%s': blob %d holds %llu values, the layer needs %llu",
			     layer, i, (unsigned long long)n, (unsigned long long)want);
	have = b->has_data ? (b->data.wire == FEAT_PB_LEN ? b->data.len / 4 : 1) : 0;
	if (n > have)
		return cfail(c, FEAT_E_FORMAT, "layer '%s': blob %d has %llu values of data for a shape of %llu",
			     layer, i, (unsigned long long)have, (unsigned long long)n);
	v = malloc((size_t)(n ? n : 1) * sizeof *v);
	if (!v)
		return FEAT_E_NOMEM;
	{
		uint64_t *raw = malloc((size_t)(n ? n : 1) * sizeof *raw);
		long k;

		if (!raw) {
			free(v);
			return FEAT_E_NOMEM;
		}
		k = b->has_data ? feat_pb_values(&b->data, FEAT_PB_I32, raw, (size_t)n, 0, why, sizeof why) : 0;
		if (k < 0 || (uint64_t)k != n) {
			free(raw);
			free(v);
			return cfail(c, FEAT_E_FORMAT, "layer '%s': blob %d data: %s", layer, i,
				     k < 0 ? why : "wrong count");
		}
		for (uint64_t j = 0; j < n; j++)
			v[j] = feat_pb_float(raw[j]) * mul;
		free(raw);
	}
	snprintf(nm, sizeof nm, "%s.%s", layer, suffix);
	if (b->ndim >= 1 && b->ndim <= FEAT_MAX_DIMS && strcmp(suffix, "mean") && strcmp(suffix, "var")) {
		uint32_t dd[FEAT_MAX_DIMS];
		int skip = 0;

		while (rank && b->ndim - skip > rank && b->dims[skip] == 1)
			skip++;
		for (int k = skip; k < b->ndim; k++)
			dd[k - skip] = (uint32_t)b->dims[k];
		e = feat_mb_tensor(c->b, nm, FEAT_DT_F32, b->ndim - skip, dd, v);
	} else {
		d[0] = (uint32_t)n;
		e = feat_mb_tensor(c->b, nm, FEAT_DT_F32, 1, d, v);
	}
	free(v);
	return e < 0 ? cfail(c, e, "layer '%s': cannot store blob %d", layer, i) : e;
}

static int blob_tensor(struct cimp *c, const char *layer, int i, uint64_t want, float mul,
	const char *suffix)
{
	return blob_tensor_r(c, layer, i, want, mul, suffix, 0);
}

/* ---------------------------------------------------------- the layers */

static int ptx_int(struct cimp *c, const struct feat_ptx *msg, const char *name, long long def,
	long long *v)
{
	const struct feat_ptx *f = msg ? feat_ptx_get(msg, name, NULL) : NULL;
	char why[160];

	*v = def;
	if (f && feat_ptx_long(f, v, why, sizeof why))
		return cfail(c, FEAT_E_FORMAT, "%s", why);
	return 0;
}

static int ptx_num(struct cimp *c, const struct feat_ptx *msg, const char *name, double def,
	double *v)
{
	const struct feat_ptx *f = msg ? feat_ptx_get(msg, name, NULL) : NULL;
	char why[160];

	*v = def;
	if (f && feat_ptx_double(f, v, why, sizeof why))
		return cfail(c, FEAT_E_FORMAT, "%s", why);
	return 0;
}

/* The field name of msg (NULL msg: none) when it holds a value, a word or
 * a string, in *f; NULL when absent.  A message { } where a value belongs
 * is refused by the field's name and line (protobuf's own parser refuses
 * it too), so that no caller reads the value of a message. */
static int ptx_value(struct cimp *c, const struct feat_ptx *msg, const char *name,
	const struct feat_ptx **f)
{
	*f = msg ? feat_ptx_get(msg, name, NULL) : NULL;
	if (*f && (*f)->kind == FEAT_PTX_MESSAGE)
		return cfail(c, FEAT_E_FORMAT, "line %d: %s: expected a value, not a message { }",
			     (*f)->line, name);
	return 0;
}

/* As ptx_value, for the fields Caffe declares as strings (names of
 * layers, types and blobs): a quoted string. */
static int ptx_string(struct cimp *c, const struct feat_ptx *msg, const char *name,
	const struct feat_ptx **f)
{
	*f = msg ? feat_ptx_get(msg, name, NULL) : NULL;
	if (*f && (*f)->kind != FEAT_PTX_STRING)
		return cfail(c, FEAT_E_FORMAT, "line %d: %s: expected a quoted string",
			     (*f)->line, name);
	return 0;
}

/* 1 or 0 for a word protobuf's text format reads as a bool, else -1. */
static int bool_word(const char *w)
{
	if (!strcmp(w, "true") || !strcmp(w, "True") || !strcmp(w, "t") || !strcmp(w, "1"))
		return 1;
	if (!strcmp(w, "false") || !strcmp(w, "False") || !strcmp(w, "f") || !strcmp(w, "0"))
		return 0;
	return -1;
}

/* A bool field into *v (def when absent); anything protobuf would not
 * read as a bool is refused by name. */
static int ptx_bool(struct cimp *c, const struct feat_ptx *msg, const char *name, int def, int *v)
{
	const struct feat_ptx *f = msg ? feat_ptx_get(msg, name, NULL) : NULL;

	*v = def;
	if (!f)
		return 0;
	if (f->kind != FEAT_PTX_WORD || (*v = bool_word(f->value)) < 0)
		return cfail(c, FEAT_E_FORMAT, "line %d: %s: expected true or false", f->line, name);
	return 0;
}

/* kernel_size / kernel_h, kernel_w style pairs; repeated kernel_size may
 * give h and w. */
static int pair(struct cimp *c, const struct feat_ptx *p, const char *base, const char *h,
	const char *w, long long def, int64_t out[2])
{
	const struct feat_ptx *f = feat_ptx_get(p, base, NULL), *g;
	long long a, b;
	char why[160];

	out[0] = out[1] = def;
	if (f) {
		if (feat_ptx_long(f, &a, why, sizeof why))
			return cfail(c, FEAT_E_FORMAT, "%s", why);
		out[0] = out[1] = a;
		if ((g = feat_ptx_get(p, base, f))) {
			if (feat_ptx_long(g, &b, why, sizeof why))
				return cfail(c, FEAT_E_FORMAT, "%s", why);
			out[1] = b;
		}
	}
	if (ptx_int(c, p, h, out[0], &a) || ptx_int(c, p, w, out[1], &b))
		return FEAT_E_FORMAT;
	out[0] = a, out[1] = b;
	return 0;
}

static int is_skipped(const struct cimp *c, const char *blob)
{
	for (size_t i = 0; i < c->nskipped; i++)
		if (!strcmp(c->skipped[i], blob))
			return 1;
	return 0;
}

static int put_str(struct cimp *c, const char *key, const char *v)
{
	if (feat_mb_meta(c->b, key, &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = v }))
		return cfail(c, FEAT_E_NOMEM, "cannot store metadata %s", key);
	return 0;
}

/* PriorBox / DetectionOutput: every scalar of its *_param as metadata,
 * but the field skip (NULL: none) of p itself. */
static int params_to_meta(struct cimp *c, const char *lname, const struct feat_ptx *p,
	const char *skip)
{
	for (const struct feat_ptx *f = p ? p->child : NULL; f; f = f->next) {
		char key[256];
		double v[64];
		int n = 0, e;

		if (f->kind == FEAT_PTX_MESSAGE) {
			if ((e = params_to_meta(c, lname, f, NULL)))
				return e;
			continue;
		}
		if (skip && !strcmp(f->name, skip))
			continue;
		/* gather a repeated field once, at its first occurrence */
		{
			const struct feat_ptx *first = feat_ptx_get(p, f->name, NULL);

			if (first != f)
				continue;
		}
		snprintf(key, sizeof key, "ssd.%s.%s", lname, f->name);
		if (f->kind == FEAT_PTX_WORD && isalpha((unsigned char)f->value[0]) &&
		    bool_word(f->value) >= 0) {
			/* True, t, False, f: the spelling ssd-detect reads */
			e = put_str(c, key, bool_word(f->value) ? "true" : "false");
		} else if (f->kind == FEAT_PTX_STRING ||
		    (f->kind == FEAT_PTX_WORD && (isalpha((unsigned char)f->value[0]) &&
						  strcmp(f->value, "inf") && strcmp(f->value, "nan")))) {
			e = feat_mb_meta(c->b, key, &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = f->value });
		} else {
			char why[160];

			for (const struct feat_ptx *g = f; g; g = feat_ptx_get(p, f->name, g)) {
				if (n == 64)
					return cfail(c, FEAT_E_FORMAT, "line %d: %s: more than 64 values",
						     g->line, f->name);
				if (feat_ptx_double(g, &v[n++], why, sizeof why))
					return cfail(c, FEAT_E_FORMAT, "%s", why);
			}
			e = n == 1 ? feat_mb_meta(c->b, key, &(struct feat_value){ .type = FEAT_V_FLOAT, .n = 1, .u.f = v[0] })
				   : feat_mb_meta(c->b, key, &(struct feat_value){ .type = FEAT_V_FLOATS, .n = (uint32_t)n, .u.floats = v });
		}
		if (e)
			return cfail(c, e, "layer '%s': cannot store its parameters", lname);
	}
	return 0;
}

/*
 * DetectionOutput's code_type, always written, by name: Caffe's default,
 * CORNER, when the prototxt leaves it out (a featmodel without the key
 * decodes CENTER_SIZE, featmodel(5)), and the name of an enum given by its
 * number (CodeType: 1 CORNER, 2 CENTER_SIZE, 3 CORNER_SIZE).
 */
static int code_type_meta(struct cimp *c, const char *lname, const struct feat_ptx *p)
{
	static const char *const names[] = { NULL, "CORNER", "CENTER_SIZE", "CORNER_SIZE" };
	const struct feat_ptx *f;
	const char *v = names[1];
	char key[300];

	if (ptx_value(c, p, "code_type", &f))
		return FEAT_E_FORMAT;
	if (f) {
		long long k = 0;
		char why[160];
		int i;

		for (i = 1; i < 4 && strcmp(f->value, names[i]); i++)
			;
		if (i == 4 && (f->kind != FEAT_PTX_WORD || feat_ptx_long(f, &k, why, sizeof why) ||
			       k < 1 || k > 3))
			return cfail(c, FEAT_E_FORMAT,
				     "line %d: code_type: '%s' is not CORNER, CENTER_SIZE or CORNER_SIZE (1, 2, 3)",
				     f->line, f->value);
		v = names[i < 4 ? i : k];
	}
	snprintf(key, sizeof key, "ssd.%s.code_type", lname);
	return put_str(c, key, v);
}

#define KV_INTS(k, v, cnt) { k, { .type = FEAT_V_INTS, .n = (uint32_t)(cnt), .u.ints = (v) } }
#define KV_INT(k, v) { k, { .type = FEAT_V_INT, .n = 1, .u.i = (v) } }
#define KV_FLOAT(k, v) { k, { .type = FEAT_V_FLOAT, .n = 1, .u.f = (v) } }
#define KV_STR(k, v) { k, { .type = FEAT_V_STR, .n = 1, .u.s = (v) } }

static int emit(struct cimp *c, const char *type, const char *name, int nin, const char **in,
	int nout, const char **out, uint32_t np, const struct feat_kv *p, uint32_t nw,
	const uint32_t *w)
{
	int e = feat_mb_layer(c->b, type, name, (uint32_t)nin, in, (uint32_t)nout, out, np, p, nw, w);

	if (e)
		return cfail(c, e, "layer '%s': cannot store it", name);
	c->nlayer++;
	if (feat_grow(&c->consumed, &c->capconsumed, c->nconsumed + (size_t)nin, sizeof *c->consumed, 256) ||
	    feat_grow(&c->produced, &c->capproduced, c->nproduced + (size_t)nout, sizeof *c->produced, 256))
		return FEAT_E_NOMEM;
	for (int i = 0; i < nin; i++)
		c->consumed[c->nconsumed++] = (struct bref){ in[i], c->nlayer };
	for (int i = 0; i < nout; i++)
		c->produced[c->nproduced++] = (struct bref){ out[i], c->nlayer };
	return 0;
}

static const char *priors_behind(const struct cimp *c, const char *blob)
{
	for (int i = c->nprior_blob; i-- > 0;)
		if (!strcmp(c->prior_blob[i], blob))
			return c->prior_names[i];
	return NULL;
}

/*
 * What ssd-detect needs beyond the parameters (featmodel(5)): for each
 * PriorBox the feature map whose grid it covers (ssd.NAME.source, its
 * first bottom); for DetectionOutput its name (ssd.detect), the blobs of
 * box offsets and class probabilities (ssd.loc, ssd.conf: its first two
 * bottoms) and the prior boxes in the order its third bottom concatenates
 * them (ssd.priors).
 */
static int ssd_meta(struct cimp *c, const char *type, const char *name,
	const char *const *in, int nin, const char *const *out, int nout)
{
	char key[300];
	int e;

	if (!strcmp(type, "PriorBox")) {
		if (nin < 1 || nout < 1)
			return cfail(c, FEAT_E_FORMAT, "layer '%s' (PriorBox): needs a bottom and a top", name);
		snprintf(key, sizeof key, "ssd.%s.source", name);
		if ((e = put_str(c, key, in[0])))
			return e;
		if (c->nprior_blob == 64 || strlen(name) >= sizeof c->prior_names[0])
			return cfail(c, FEAT_E_FORMAT, "layer '%s': too many PriorBox layers", name);
		c->prior_blob[c->nprior_blob] = out[0];
		strcpy(c->prior_names[c->nprior_blob++], name);
	} else if (!strcmp(type, "DetectionOutput")) {
		const char *pr = nin >= 3 ? priors_behind(c, in[2]) : NULL;

		if (!pr)
			return cfail(c, FEAT_E_FORMAT, "layer '%s' (DetectionOutput): its third bottom must be the prior boxes (PriorBox layers, or a Concat of them)", name);
		if ((e = put_str(c, "ssd.detect", name)) || (e = put_str(c, "ssd.loc", in[0])) ||
		    (e = put_str(c, "ssd.conf", in[1])) || (e = put_str(c, "ssd.priors", pr)))
			return e;
	} else if (!strcmp(type, "Concat") || !strcmp(type, "Flatten") || !strcmp(type, "Reshape")) {
		/* of prior boxes only (the caller checked): the order of its
		 * inputs is the order of the priors */
		char list[1024] = "";

		for (int i = 0; i < nin; i++) {
			const char *pr = priors_behind(c, in[i]);

			if (!pr)
				return 0;
			if (strlen(list) + strlen(pr) + 2 > sizeof list)
				return cfail(c, FEAT_E_FORMAT, "layer '%s': too many prior boxes", name);
			if (i)
				strcat(list, ",");
			strcat(list, pr);
		}
		if (nout < 1 || c->nprior_blob == 64)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': too many prior-box blobs", name);
		c->prior_blob[c->nprior_blob] = out[0];
		strcpy(c->prior_names[c->nprior_blob++], list);
	}
	return 0;
}

static int import_layer(struct cimp *c, const struct feat_ptx *l, const char *dims_of_input_c)
{
	const struct feat_ptx *t, *nm;
	const char *type, *name;
	const char *in[MAXIO], *out[MAXIO];
	int nin = 0, nout = 0, all_skipped = 1, e;
	int64_t p2[2], s2[2], d2[2], pad2[2];
	long long v;
	double f;

	(void)dims_of_input_c;
	if (ptx_string(c, l, "type", &t) || ptx_string(c, l, "name", &nm))
		return FEAT_E_FORMAT;
	if (!t || !nm)
		return cfail(c, FEAT_E_FORMAT, "line %d: a layer needs a name and a type", l->line);
	type = t->value, name = nm->value;
	/* every *_param is a message: a value there would be read as empty */
	for (const struct feat_ptx *g = l->child; g; g = g->next) {
		size_t n = strlen(g->name);

		if (n > 6 && !strcmp(g->name + n - 6, "_param") && g->kind != FEAT_PTX_MESSAGE)
			return cfail(c, FEAT_E_FORMAT, "line %d: %s: expected a message { }", g->line,
				     g->name);
	}
	for (const struct feat_ptx *b = feat_ptx_get(l, "bottom", NULL); b;
	     b = feat_ptx_get(l, "bottom", b)) {
		if (nin == MAXIO || b->kind != FEAT_PTX_STRING)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': bad or too many bottoms", name);
		in[nin] = b->value;
		for (int k = c->nalias; k-- > 0;)
			if (!strcmp(c->alias[k][0], in[nin]))
				in[nin] = c->alias[k][1];
		nin++;
		all_skipped &= is_skipped(c, b->value);
	}
	for (const struct feat_ptx *b = feat_ptx_get(l, "top", NULL); b; b = feat_ptx_get(l, "top", b)) {
		if (nout == MAXIO || b->kind != FEAT_PTX_STRING)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': bad or too many tops", name);
		out[nout++] = b->value;
	}
	if (!strcmp(type, "Input"))
		return 0;  /* handled with the graph's input */
	if (!strcmp(type, "PriorBox") || !strcmp(type, "DetectionOutput") || (nin && all_skipped)) {
		const struct feat_ptx *pp = feat_ptx_get(l, !strcmp(type, "PriorBox") ? "prior_box_param"
							: "detection_output_param", NULL);

		if ((!strcmp(type, "PriorBox") || !strcmp(type, "DetectionOutput")) &&
		    (e = params_to_meta(c, name, pp, !strcmp(type, "DetectionOutput") ? "code_type" : NULL)))
			return e;
		if (!strcmp(type, "DetectionOutput") && (e = code_type_meta(c, name, pp)))
			return e;
		if ((e = ssd_meta(c, type, name, in, nin, out, nout)))
			return e;
		if (feat_grow(&c->skipped, &c->capskipped, c->nskipped + (size_t)nout, sizeof *c->skipped, 64))
			return FEAT_E_NOMEM;
		for (int i = 0; i < nout; i++)
			c->skipped[c->nskipped++] = out[i];
		return 0;
	}
	if (nin < 1 || nout < 1)
		return cfail(c, FEAT_E_FORMAT, "layer '%s': no bottom or no top", name);
	for (int i = 0; i < nin; i++)
		if (is_skipped(c, in[i]))
			return cfail(c, FEAT_E_FORMAT, "layer '%s' (%s) mixes prior boxes with other inputs",
				     name, type);

	if (!strcmp(type, "Convolution")) {
		const struct feat_ptx *p = feat_ptx_get(l, "convolution_param", NULL);
		long long nout_, group;
		int bias;
		uint32_t w[2];
		int nw = 1;
		int64_t pad4[4];

		if (!p || ptx_int(c, p, "num_output", 0, &nout_) || ptx_int(c, p, "group", 1, &group) ||
		    pair(c, p, "kernel_size", "kernel_h", "kernel_w", 0, p2) ||
		    pair(c, p, "stride", "stride_h", "stride_w", 1, s2) ||
		    pair(c, p, "pad", "pad_h", "pad_w", 0, pad2) ||
		    pair(c, p, "dilation", "dilation_h", "dilation_w", 1, d2) ||
		    ptx_bool(c, p, "bias_term", 1, &bias))
			return p ? FEAT_E_FORMAT : cfail(c, FEAT_E_FORMAT, "layer '%s': no convolution_param", name);
		if ((e = blob_tensor(c, name, 0, 0, 1, "weight")) < 0)
			return e;
		w[0] = (uint32_t)e;
		if (bias) {
			if ((e = blob_tensor(c, name, 1, (uint64_t)nout_, 1, "bias")) < 0)
				return e;
			w[nw++] = (uint32_t)e;
		}
		pad4[0] = pad2[0], pad4[1] = pad2[1], pad4[2] = pad2[0], pad4[3] = pad2[1];
		{
			struct feat_kv kv[5] = { KV_INTS("kernel", p2, 2), KV_INTS("stride", s2, 2),
						 KV_INTS("dilation", d2, 2), KV_INTS("pad", pad4, 4),
						 KV_INT("group", group) };

			return emit(c, "conv", name, 1, in, 1, out, 5, kv, (uint32_t)nw, w);
		}
	}
	if (!strcmp(type, "BatchNorm")) {
		const struct feat_ptx *p = feat_ptx_get(l, "batch_norm_param", NULL);
		const struct clayer *cl = find_blobs(c, name);
		float sf = 1;
		uint32_t w[2];

		if (ptx_num(c, p, "eps", 1e-5, &f))
			return FEAT_E_FORMAT;
		if (!cl || cl->nblob < 2)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': BatchNorm needs mean and variance blobs", name);
		if (cl->nblob > 2) {
			/* the scale factor: mean and variance are stored times it */
			int k = blob_tensor(c, name, 2, 1, 1, "scale_factor");
			const struct blob *b = &cl->blob[2];
			uint64_t raw;
			char why[160];

			if (k < 0)
				return k;
			if (feat_pb_values(&b->data, FEAT_PB_I32, &raw, 1, 0, why, sizeof why) >= 1)
				sf = feat_pb_float(raw);
			sf = sf != 0 ? 1 / sf : 0;
		}
		if ((e = blob_tensor(c, name, 0, 0, sf, "mean")) < 0)
			return e;
		w[0] = (uint32_t)e;
		if ((e = blob_tensor(c, name, 1, 0, sf, "var")) < 0)
			return e;
		w[1] = (uint32_t)e;
		{
			struct feat_kv kv[1] = { KV_FLOAT("eps", f) };

			return emit(c, "bn", name, 1, in, 1, out, 1, kv, 2, w);
		}
	}
	if (!strcmp(type, "Scale")) {
		const struct feat_ptx *p = feat_ptx_get(l, "scale_param", NULL);
		uint32_t w[2];
		int nw = 1, bias;
		long long num_axes;

		if (ptx_bool(c, p, "bias_term", 0, &bias) || ptx_int(c, p, "axis", 1, &v) ||
		    ptx_int(c, p, "num_axes", 1, &num_axes))
			return FEAT_E_FORMAT;
		/* the engine scales channels (num_axes 1), or all by one value (0) */
		if (v != 1 || (num_axes != 1 && num_axes != 0) || nin != 1)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': Scale with axis %lld, num_axes %lld or %d bottoms is not supported (axis 1, num_axes 1 or 0, 1 bottom)",
				     name, v, num_axes, nin);
		if ((e = blob_tensor(c, name, 0, 0, 1, "gamma")) < 0)
			return e;
		w[0] = (uint32_t)e;
		if (bias) {
			if ((e = blob_tensor(c, name, 1, 0, 1, "beta")) < 0)
				return e;
			w[nw++] = (uint32_t)e;
		}
		return emit(c, "scale", name, 1, in, 1, out, 0, NULL, (uint32_t)nw, w);
	}
	if (!strcmp(type, "ReLU")) {
		const struct feat_ptx *p = feat_ptx_get(l, "relu_param", NULL);
		struct feat_kv kv[1];

		if (ptx_num(c, p, "negative_slope", 0, &f))
			return FEAT_E_FORMAT;
		kv[0] = (struct feat_kv)KV_FLOAT("slope", f);
		return emit(c, "relu", name, 1, in, 1, out, f != 0, kv, 0, NULL);
	}
	if (!strcmp(type, "Sigmoid"))
		return emit(c, "sigmoid", name, 1, in, 1, out, 0, NULL, 0, NULL);
	if (!strcmp(type, "Dropout")) {
		/* inference: the identity; a new name is an alias of the bottom */
		if (strcmp(in[0], out[0])) {
			if (c->nalias == 256)
				return cfail(c, FEAT_E_FORMAT, "too many Dropout layers");
			c->alias[c->nalias][0] = out[0];
			c->alias[c->nalias][1] = in[0];
			c->nalias++;
		}
		return 0;
	}
	if (!strcmp(type, "Pooling")) {
		const struct feat_ptx *p = feat_ptx_get(l, "pooling_param", NULL), *mode, *round;
		int global, ceil_;
		const char *m;
		int64_t pad4[4];

		if (ptx_value(c, p, "pool", &mode) || ptx_bool(c, p, "global_pooling", 0, &global) ||
		    ptx_value(c, p, "round_mode", &round))
			return FEAT_E_FORMAT;
		m = !mode || !strcmp(mode->value, "MAX") || !strcmp(mode->value, "0") ? "max"
		    : !strcmp(mode->value, "AVE") || !strcmp(mode->value, "1") ? "avg" : NULL;
		if (!m)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': pooling method %s is not supported",
				     name, mode->value);
		/* RoundMode: CEIL = 0 (the default), FLOOR = 1 */
		ceil_ = !round || !strcmp(round->value, "CEIL") || !strcmp(round->value, "0") ? 1
			: !strcmp(round->value, "FLOOR") || !strcmp(round->value, "1") ? 0 : -1;
		if (ceil_ < 0)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': round_mode %s is not supported (CEIL or FLOOR)",
				     name, round->value);
		if (!p || pair(c, p, "kernel_size", "kernel_h", "kernel_w", 0, p2) ||
		    pair(c, p, "stride", "stride_h", "stride_w", 1, s2) ||
		    pair(c, p, "pad", "pad_h", "pad_w", 0, pad2))
			return p ? FEAT_E_FORMAT : cfail(c, FEAT_E_FORMAT, "layer '%s': no pooling_param", name);
		pad4[0] = pad2[0], pad4[1] = pad2[1], pad4[2] = pad2[0], pad4[3] = pad2[1];
		if (global) {
			struct feat_kv kv[2] = { KV_STR("mode", m), KV_INT("global", 1) };

			return emit(c, "pool", name, 1, in, 1, out, 2, kv, 0, NULL);
		} else {
			/* Caffe rounds up unless round_mode says FLOOR, and counts
			 * padding in averages */
			struct feat_kv kv[5] = { KV_STR("mode", m), KV_INTS("kernel", p2, 2),
						 KV_INTS("stride", s2, 2), KV_INTS("pad", pad4, 4),
						 KV_INT("ceil", ceil_) };

			return emit(c, "pool", name, 1, in, 1, out, 5, kv, 0, NULL);
		}
	}
	if (!strcmp(type, "InnerProduct")) {
		const struct feat_ptx *p = feat_ptx_get(l, "inner_product_param", NULL);
		long long n_;
		uint32_t w[2];
		int nw = 1, transpose, bias;

		if (ptx_int(c, p, "num_output", 0, &n_) || ptx_int(c, p, "axis", 1, &v) ||
		    ptx_bool(c, p, "transpose", 0, &transpose) || ptx_bool(c, p, "bias_term", 1, &bias))
			return FEAT_E_FORMAT;
		if (v != 1 || transpose)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': InnerProduct with axis %lld or transpose",
				     name, v);
		if ((e = blob_tensor_r(c, name, 0, 0, 1, "weight", 2)) < 0)
			return e;
		w[0] = (uint32_t)e;
		if (bias) {
			if ((e = blob_tensor(c, name, 1, (uint64_t)n_, 1, "bias")) < 0)
				return e;
			w[nw++] = (uint32_t)e;
		}
		return emit(c, "fc", name, 1, in, 1, out, 0, NULL, (uint32_t)nw, w);
	}
	if (!strcmp(type, "Normalize")) {
		const struct feat_ptx *p = feat_ptx_get(l, "norm_param", NULL);
		uint32_t w[1];
		int across;

		if (ptx_bool(c, p, "across_spatial", 1, &across))
			return FEAT_E_FORMAT;
		if (across)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': Normalize across_spatial is not supported (SSD uses false)",
				     name);
		if (ptx_num(c, p, "eps", 1e-10, &f))
			return FEAT_E_FORMAT;
		if ((e = blob_tensor(c, name, 0, 0, 1, "scale")) < 0)
			return e;
		w[0] = (uint32_t)e;
		{
			struct feat_kv kv[1] = { KV_FLOAT("eps", f) };

			return emit(c, "l2norm", name, 1, in, 1, out, 1, kv, 1, w);
		}
	}
	if (!strcmp(type, "Permute") || !strcmp(type, "Reshape")) {
		int perm = !strcmp(type, "Permute");
		const struct feat_ptx *p = feat_ptx_get(l, perm ? "permute_param" : "reshape_param", NULL);
		const struct feat_ptx *src = p && !perm ? feat_ptx_get(p, "shape", NULL) : p;
		int64_t o[FEAT_MAX_DIMS];
		long long axis = 0, num_axes = -1;
		int n = 0;

		/* Caffe's shape replaces the input's axes from axis on (num_axes
		 * -1: all of them); its 0s copy the input's axis at the same
		 * place, so axis zeros before it say the same to the engine.
		 * Fewer axes than all would need the input's rank: refused. */
		if (!perm && (ptx_int(c, p, "axis", 0, &axis) || ptx_int(c, p, "num_axes", -1, &num_axes)))
			return FEAT_E_FORMAT;
		if (num_axes != -1 || axis < 0 || axis >= FEAT_MAX_DIMS)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': Reshape with axis %lld and num_axes %lld is not supported (axis 0 to %d, num_axes -1)",
				     name, axis, num_axes, FEAT_MAX_DIMS - 1);
		for (; n < axis; n++)
			o[n] = 0;
		for (const struct feat_ptx *g = src ? feat_ptx_get(src, perm ? "order" : "dim", NULL) : NULL;
		     g; g = feat_ptx_get(src, perm ? "order" : "dim", g)) {
			char why[160];

			if (n == FEAT_MAX_DIMS || feat_ptx_long(g, &v, why, sizeof why))
				return cfail(c, FEAT_E_FORMAT, "layer '%s': bad %s", name, perm ? "order" : "shape");
			o[n++] = v;
		}
		if (n == axis)
			return cfail(c, FEAT_E_FORMAT, "layer '%s': %s without %s", name, type,
				     perm ? "order" : "shape");
		{
			struct feat_kv kv[1] = { KV_INTS(perm ? "order" : "shape", o, n) };

			return emit(c, perm ? "permute" : "reshape", name, 1, in, 1, out, 1, kv, 0, NULL);
		}
	}
	if (!strcmp(type, "Flatten") || !strcmp(type, "Concat") || !strcmp(type, "Softmax")) {
		const char *pn = !strcmp(type, "Flatten") ? "flatten_param" :
				 !strcmp(type, "Concat") ? "concat_param" : "softmax_param";
		const struct feat_ptx *p = feat_ptx_get(l, pn, NULL);
		struct feat_kv kv[2];
		long long end = -1;

		if (ptx_int(c, p, "axis", 1, &v))
			return FEAT_E_FORMAT;
		if (p && feat_ptx_get(p, "concat_dim", NULL) && ptx_int(c, p, "concat_dim", 1, &v))
			return FEAT_E_FORMAT;
		if (!strcmp(type, "Flatten") && ptx_int(c, p, "end_axis", -1, &end))
			return FEAT_E_FORMAT;
		kv[0] = (struct feat_kv)KV_INT("axis", v);
		kv[1] = (struct feat_kv)KV_INT("end_axis", end);
		return emit(c, !strcmp(type, "Flatten") ? "flatten" : !strcmp(type, "Concat") ? "concat" : "softmax",
			    name, nin, in, 1, out, end == -1 ? 1 : 2, kv, 0, NULL);
	}
	if (!strcmp(type, "Eltwise")) {
		const struct feat_ptx *p = feat_ptx_get(l, "eltwise_param", NULL), *op;

		if (ptx_value(c, p, "operation", &op))
			return FEAT_E_FORMAT;
		if (op && strcmp(op->value, "SUM") && strcmp(op->value, "1"))
			return cfail(c, FEAT_E_FORMAT, "layer '%s': Eltwise %s is not supported (SUM only)",
				     name, op->value);
		if (p && feat_ptx_get(p, "coeff", NULL))
			return cfail(c, FEAT_E_FORMAT, "layer '%s': Eltwise coefficients are not supported", name);
		return emit(c, "add", name, nin, in, 1, out, 0, NULL, 0, NULL);
	}
	return cfail(c, FEAT_E_FORMAT, "layer '%s': type %s is not supported", name, type);
}

/* The input: `input` + `input_shape { dim }` or `input_dim` x 4, or an
 * Input layer with input_param { shape { dim } }. */
static int find_input(struct cimp *c, const struct feat_ptx *root, const char **name, int64_t *dims,
	int *rank)
{
	const struct feat_ptx *in, *shape = NULL, *d;
	char why[160];
	long long v;

	*rank = 0;
	if (ptx_string(c, root, "input", &in))
		return FEAT_E_FORMAT;
	if (in) {
		*name = in->value;
		shape = feat_ptx_get(root, "input_shape", NULL);
		if (shape && shape->kind != FEAT_PTX_MESSAGE)
			return cfail(c, FEAT_E_FORMAT, "line %d: input_shape: expected a message { }",
				     shape->line);
		d = shape ? feat_ptx_get(shape, "dim", NULL) : feat_ptx_get(root, "input_dim", NULL);
		for (; d; d = shape ? feat_ptx_get(shape, "dim", d) : feat_ptx_get(root, "input_dim", d)) {
			if (*rank == FEAT_MAX_DIMS || feat_ptx_long(d, &v, why, sizeof why))
				return cfail(c, FEAT_E_FORMAT, "input shape: %s", why);
			dims[(*rank)++] = v;
		}
	} else {
		for (const struct feat_ptx *l = feat_ptx_get(root, "layer", NULL); l;
		     l = feat_ptx_get(root, "layer", l)) {
			const struct feat_ptx *t, *top, *p;

			if (ptx_string(c, l, "type", &t))
				return FEAT_E_FORMAT;
			if (!t || strcmp(t->value, "Input"))
				continue;
			if (ptx_string(c, l, "top", &top))
				return FEAT_E_FORMAT;
			p = feat_ptx_get(l, "input_param", NULL);
			shape = p ? feat_ptx_get(p, "shape", NULL) : NULL;
			if (!top || !shape)
				return cfail(c, FEAT_E_FORMAT, "Input layer without a top or a shape");
			*name = top->value;
			for (d = feat_ptx_get(shape, "dim", NULL); d; d = feat_ptx_get(shape, "dim", d)) {
				if (*rank == FEAT_MAX_DIMS || feat_ptx_long(d, &v, why, sizeof why))
					return cfail(c, FEAT_E_FORMAT, "input shape: %s", why);
				dims[(*rank)++] = v;
			}
			break;
		}
	}
	if (*rank < 2)
		return cfail(c, FEAT_E_FORMAT, "no input with a shape of [N, C, H, W] in the prototxt");
	for (int i = 1; i < *rank; i++)
		if (dims[i] < 1 || dims[i] > 65536)
			return cfail(c, FEAT_E_FORMAT, "input dimension %d is %lld", i, (long long)dims[i]);
	return 0;
}

int feat_import_caffe(feat_model_builder *b, const char *prototxt, size_t plen,
	const void *caffemodel, size_t mlen, char *why, size_t whylen)
{
	struct cimp c = { .b = b, .why = why, .whylen = whylen };
	struct feat_ptx *root = NULL;
	const char *input = NULL, *outs[MAXOUT];
	int64_t dims[FEAT_MAX_DIMS], shp[FEAT_MAX_DIMS];
	int rank, nouts = 0, e;
	char cause[200];

	if ((e = feat_ptx_parse(prototxt, plen, &root, cause, sizeof cause))) {
		cfail(&c, e, "prototxt: %s", cause);
		goto out;
	}
	if ((e = parse_caffemodel(&c, caffemodel, mlen)) || (e = find_input(&c, root, &input, dims, &rank)))
		goto out;
	for (int i = 1; i < rank; i++)
		shp[i - 1] = dims[i];
	if ((e = feat_mb_meta(b, "graph.inputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = &input })) ||
	    (e = feat_mb_meta(b, "input.shape", &(struct feat_value){ .type = FEAT_V_INTS, .n = (uint32_t)(rank - 1), .u.ints = shp })) ||
	    (e = feat_mb_meta(b, "input.order", &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = "bgr" })))
		goto out;
	{
		const struct feat_ptx *nm = feat_ptx_get(root, "name", NULL);

		if (nm && nm->kind == FEAT_PTX_STRING &&
		    (e = feat_mb_meta(b, "name", &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = nm->value })))
			goto out;
	}
	if (feat_grow(&c.produced, &c.capproduced, 1, sizeof *c.produced, 256)) {
		e = FEAT_E_NOMEM;
		goto out;
	}
	c.produced[c.nproduced++] = (struct bref){ input, 0 };
	if (feat_ptx_get(root, "layers", NULL)) {
		e = cfail(&c, FEAT_E_FORMAT, "prototxt uses the old V1 'layers' format; upgrade it with Caffe's upgrade_net_proto_text");
		goto out;
	}
	for (const struct feat_ptx *l = feat_ptx_get(root, "layer", NULL); l; l = feat_ptx_get(root, "layer", l))
		if ((e = import_layer(&c, l, NULL)))
			goto out;
	if (!c.nlayer) {
		e = cfail(&c, FEAT_E_FORMAT, "the prototxt has no layers featkit can run");
		goto out;
	}
	/* outputs: blobs that no layer reads after their last writer (an
	 * in-place layer reads and rewrites the same name) */
	for (size_t i = c.nproduced - 1; i >= 1; i--) {
		int used = 0, dup = 0;

		for (size_t j = 0; j < c.nconsumed && !used; j++)
			used = c.consumed[j].at > c.produced[i].at &&
			       !strcmp(c.consumed[j].name, c.produced[i].name);
		for (int j = 0; j < nouts && !dup; j++)
			dup = !strcmp(outs[j], c.produced[i].name);
		if (used || dup)
			continue;
		if (nouts == MAXOUT) {
			e = cfail(&c, FEAT_E_FORMAT, "more than %d blobs that no layer reads (graph outputs)",
				  MAXOUT);
			goto out;
		}
		outs[nouts++] = c.produced[i].name;
	}
	if (!nouts) {
		/* every blob is read again by an in-place layer: the last one is the output */
		outs[nouts++] = c.produced[c.nproduced - 1].name;
	}
	for (int i = 0; i < nouts / 2; i++) {
		const char *t = outs[i];

		outs[i] = outs[nouts - 1 - i];
		outs[nouts - 1 - i] = t;
	}
	e = feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = (uint32_t)nouts, .u.strs = outs });
out:
	feat_ptx_free(root);
	free(c.cl);
	free(c.skipped);
	free(c.produced);
	free(c.consumed);
	return e < 0 ? e : 0;
}
