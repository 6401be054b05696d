/*
 * onnx.c - import an ONNX model (what PyTorch and most tools export) into a
 * featmodel.
 *
 * The file is read with the wire reader (pb.c); no schema library.  Field
 * numbers are those of onnx.proto (ModelProto.graph = 7, GraphProto.node =
 * 1, initializer = 5, input = 11, output = 12; NodeProto.input = 1,
 * output = 2, name = 3, op_type = 4, attribute = 5; AttributeProto.name =
 * 1, f = 2, i = 3, s = 4, t = 5, floats = 7, ints = 8; TensorProto.dims =
 * 1, data_type = 2, float_data = 4, int32_data = 5, int64_data = 7, name =
 * 8, raw_data = 9, double_data = 10, data_location = 14).
 *
 * Each node becomes a featkit layer, or folds away:
 *  - weights come from initializers and Constant nodes;
 *  - the shape arithmetic exporters emit (Shape, Gather, Unsqueeze,
 *    Squeeze, Concat, Cast on shapes) is evaluated at import, with "the
 *    size of axis i of the input" kept as a symbol, so that
 *    x.view(x.size(0), -1) becomes a reshape to [0, -1];
 *  - Identity and Dropout (inference) only rename;
 *  - Add and Mul by a constant become a scale layer when ONNX's
 *    broadcasting spreads the constant over all but the channel axis; the
 *    rank of each layer's output is followed (imp.rk) to align shapes;
 *  - LayerNorm and GELU written out as chains of operators become one
 *    layer each, and values whose batch attention moved inside their axes
 *    are kept whole for each image ("transformers" below).
 * Anything else is refused with the node, its operator and the attribute
 * or input that cannot be handled.
 */
#include <math.h>
#include <stdio.h>

#include "base/internal.h"
#include "nn/model.h"
#include "nn/import/pb.h"

#define MAXV 64              /* values kept for a folded constant */
#define SYM_BASE (INT64_MIN / 2)  /* symbol "dim i of the input": SYM_BASE + i */

/* A value of the graph known at import: an initializer, a Constant, or a
 * folded shape vector. */
struct cval {
	const char *name;
	int dtype;           /* ONNX TensorProto.DataType: 1 float, 6 int32, 7 int64, 11 double */
	int ndim;
	int64_t dims[FEAT_MAX_DIMS];
	const uint8_t *raw;  /* raw_data, when the tensor has it */
	size_t rawlen;
	struct feat_pb_field list;  /* float_data / int64_data ... (packed) when not raw */
	int has_list;
	int nfolded;         /* > 0: a folded vector in iv (ints, symbols allowed) */
	int64_t iv[MAXV];
	int weight;          /* index in the model's tensor table once written, or -1 */
};

struct attr {
	const char *name;    /* points into the file: not NUL-terminated */
	size_t namelen;
	struct feat_pb_field f, i, t, fs, is, s;
	int has_f, has_i, has_t, has_s, nfs, nis;
	struct feat_pb_field fsl[8], isl[8];   /* repeated fields, as they come */
};

struct node {
	const uint8_t *op;
	size_t oplen;
	const char *name;
	int nin, nout, nattr;
	const char *in[256], *out[8];
	struct attr attr[24];
};

struct imp {
	feat_model_builder *b;
	void **strings;      /* allocations to free */
	size_t nstr, capstr;
	struct cval *cv;
	size_t ncv, capcv;
	const char *input;   /* the image input blob */
	int64_t inshape[FEAT_MAX_DIMS];
	int inrank;
	char *why;
	size_t whylen;
	int opset;
	int nlayer;
	const char *alias[256][2];   /* Identity and Dropout: output -> input */
	int nalias;
	struct nsym {                /* a value on the way to an L2 normalisation */
		const char *name, *src;
		int kind;            /* NS_SHAPE, NS_SQ, NS_SUMSQ, NS_NORM */
		double eps;
		int mode;            /* the l2norm layer's eps_mode: 1 floor, 2 added */
	} ns[64];
	int nns;
	struct vrank {               /* the rank of each layer's output, */
		const char *name;    /* and its shape when it is known */
		int rank, known;
		int64_t d[FEAT_MAX_DIMS];   /* d[0] is the batch: 1 */
		int lift;            /* 1: stored as [batch] + its whole ONNX
				      * shape (see "Where the batch is") */
	} *rk;
	size_t nrk, caprk;
	int64_t wd0;                 /* rows of the weight of the layer being stored */
	int wnd;                     /* an eltwise layer's weight: its shape */
	int64_t wd[FEAT_MAX_DIMS];
	int olift;                   /* the lift of the next layer's output
				      * (-1: its first input's) */
	struct fsym *fs;             /* LayerNorm and GELU on their way */
	size_t nfs, capfs;
	int nofuse;                  /* importing a node of such a chain as
				      * it is */
};

enum { NS_SHAPE = 1, NS_SQ, NS_SUMSQ, NS_NORM };

static char *keep(struct imp *im, const void *p, size_t n)
{
	char *s;

	if (feat_grow(&im->strings, &im->capstr, im->nstr + 1, sizeof *im->strings, 64))
		return NULL;
	s = malloc(n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = 0;
	im->strings[im->nstr++] = s;
	return s;
}

static int fail(struct imp *im, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct imp *im, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(im->why, im->whylen, fmt, ap);
	va_end(ap);
	return err;
}

static struct cval *cfind(struct imp *im, const char *name)
{
	for (size_t i = im->ncv; i-- > 0;)
		if (!strcmp(im->cv[i].name, name))
			return &im->cv[i];
	return NULL;
}

static struct cval *cadd(struct imp *im, const char *name)
{
	if (feat_grow(&im->cv, &im->capcv, im->ncv + 1, sizeof *im->cv, 64))
		return NULL;
	memset(&im->cv[im->ncv], 0, sizeof im->cv[0]);
	im->cv[im->ncv].name = name;
	im->cv[im->ncv].weight = -1;
	return &im->cv[im->ncv++];
}

/* ----------------------------------------------------------- tensors */

static int parse_tensor(struct imp *im, const struct feat_pb_field *tf, struct cval *c,
	int want_name)
{
	struct feat_pb m = feat_pb_sub(tf);
	struct feat_pb_field f;
	char why[160];
	int e;

	c->dtype = 1;
	while ((e = feat_pb_next(&m, &f, why, sizeof why)) == 1) {
		/* name and raw_data are bytes: any other wire type is corrupt */
		if ((f.num == 8 || f.num == 9) && f.wire != FEAT_PB_LEN)
			return fail(im, FEAT_E_FORMAT, "tensor: field %u has wire type %d", f.num, f.wire);
		switch (f.num) {
		case 1: {
			uint64_t v;
			long n = feat_pb_values(&f, FEAT_PB_VARINT, &v, 1, 0, why, sizeof why);

			if (n < 0)
				return fail(im, FEAT_E_CORRUPT, "tensor dims: %s", why);
			/* dims may come packed: re-read all */
			{
				uint64_t d[FEAT_MAX_DIMS + 1];
				long k = feat_pb_values(&f, FEAT_PB_VARINT, d, FEAT_MAX_DIMS + 1, 0,
							why, sizeof why);

				if (k < 0 || c->ndim + k > FEAT_MAX_DIMS)
					return fail(im, FEAT_E_FORMAT, "tensor of more than %d dimensions",
						    FEAT_MAX_DIMS);
				for (long i = 0; i < k; i++)
					c->dims[c->ndim++] = (int64_t)d[i];
			}
			break;
		}
		case 2:
			c->dtype = (int)f.v;
			break;
		case 4: case 5: case 7: case 10:
			c->list = f;
			c->has_list = (int)f.num;
			break;
		case 8:
			if (want_name && !(c->name = keep(im, f.data, f.len)))
				return FEAT_E_NOMEM;
			break;
		case 9:
			c->raw = f.data;
			c->rawlen = f.len;
			break;
		case 14:
			if (f.v == 1)
				return fail(im, FEAT_E_FORMAT,
					    "tensor with external data (save the model with its weights inside)");
			break;
		}
	}
	if (e < 0)
		return fail(im, e, "tensor: %s", why);
	for (int i = 0; i < c->ndim; i++)
		if (c->dims[i] < 0 || c->dims[i] > (int64_t)1 << 32)
			return fail(im, FEAT_E_FORMAT, "tensor '%s': dimension %lld",
				    c->name ? c->name : "?", (long long)c->dims[i]);
	return 0;
}

static uint64_t tcount(const struct cval *c)
{
	uint64_t n = 1;

	for (int i = 0; i < c->ndim; i++) {
		if (c->dims[i] && n > ((uint64_t)1 << 40) / (uint64_t)c->dims[i])
			return UINT64_MAX;
		n *= (uint64_t)c->dims[i];
	}
	return n;
}

/* The float values of a constant (converted), in a malloc'd array. */
static float *tfloats(struct imp *im, const struct cval *c, uint64_t *count)
{
	uint64_t n = tcount(c);
	float *out;
	char why[128];

	if (n == UINT64_MAX || n > ((uint64_t)1 << 31)) {
		fail(im, FEAT_E_TOOBIG, "tensor '%s' too large", c->name);
		return NULL;
	}
	if (c->dtype != 1 && c->dtype != 6 && c->dtype != 7 && c->dtype != 11) {
		static const char *const names[] = {
			"undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
			"string", "bool", "float16", "double", "uint32", "uint64", "complex64",
			"complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2",
			"float8e5m2fnuz", "uint4", "int4",
		};

		if (c->dtype >= 0 && c->dtype < (int)(sizeof names / sizeof names[0]))
			fail(im, FEAT_E_FORMAT,
			     "tensor '%s' is %s: featkit reads float, double, int32 and int64 tensors (convert the model to float32)",
			     c->name, names[c->dtype]);
		else
			fail(im, FEAT_E_FORMAT, "tensor '%s' has the unknown data type %d", c->name,
			     c->dtype);
		return NULL;
	}
	/* the data must be there before anything is sized from the shape */
	{
		size_t es = c->dtype == 1 ? 4 : c->dtype == 11 || c->dtype == 7 ? 8 :
			    c->dtype == 6 ? 4 : 0;
		size_t have = c->raw ? (es ? c->rawlen / es : 0) :
			      c->has_list ? c->list.len / (c->has_list == 4 ? 4 : c->has_list == 10 ? 8 : 1) +
						    (c->list.wire != FEAT_PB_LEN) :
			      0;

		if (n > have) {
			fail(im, FEAT_E_FORMAT, "tensor '%s': shape of %llu values, data for at most %zu",
			     c->name, (unsigned long long)n, have);
			return NULL;
		}
	}
	out = malloc((size_t)(n ? n : 1) * sizeof *out);
	if (!out) {
		fail(im, FEAT_E_NOMEM, "out of memory");
		return NULL;
	}
	if (c->raw) {
		size_t es = c->dtype == 1 ? 4 : c->dtype == 11 || c->dtype == 7 ? 8 :
			    c->dtype == 6 ? 4 : 0;

		if (!es || c->rawlen != n * es) {
			free(out);
			fail(im, FEAT_E_FORMAT, "tensor '%s': %zu bytes of data type %d for %llu values",
			     c->name, c->rawlen, c->dtype, (unsigned long long)n);
			return NULL;
		}
		for (uint64_t i = 0; i < n; i++) {
			const uint8_t *p = c->raw + i * es;

			out[i] = c->dtype == 1 ? feat_pb_float(feat_rd32(p)) :
				 c->dtype == 11 ? (float)feat_pb_double(feat_rd64(p)) :
				 c->dtype == 7 ? (float)(int64_t)feat_rd64(p) :
				 (float)(int32_t)feat_rd32(p);
		}
	} else if (c->has_list) {
		uint64_t *v = malloc((size_t)(n ? n : 1) * sizeof *v);
		int elem = c->has_list == 4 ? FEAT_PB_I32 : c->has_list == 10 ? FEAT_PB_I64 : FEAT_PB_VARINT;
		long k;

		if (!v) {
			free(out);
			fail(im, FEAT_E_NOMEM, "out of memory");
			return NULL;
		}
		k = feat_pb_values(&c->list, elem, v, (size_t)n, 0, why, sizeof why);
		if (k < 0 || (uint64_t)k != n) {
			free(v);
			free(out);
			fail(im, FEAT_E_FORMAT, "tensor '%s': %ld values for shape of %llu", c->name, k,
			     (unsigned long long)n);
			return NULL;
		}
		for (uint64_t i = 0; i < n; i++)
			out[i] = c->has_list == 4 ? feat_pb_float(v[i]) :
				 c->has_list == 10 ? (float)feat_pb_double(v[i]) :
				 (float)(int64_t)v[i];
		free(v);
	} else if (n) {
		free(out);
		fail(im, FEAT_E_FORMAT, "tensor '%s' has no data", c->name);
		return NULL;
	}
	*count = n;
	return out;
}

/* Integer values of a small constant (shapes, axes), symbols kept. */
static int tints(struct imp *im, const struct cval *c, int64_t *v, int cap)
{
	uint64_t n;
	float *f;

	if (c->nfolded) {
		if (c->nfolded > cap)
			return fail(im, FEAT_E_FORMAT, "constant '%s' too long", c->name);
		memcpy(v, c->iv, sizeof(int64_t) * (size_t)c->nfolded);
		return c->nfolded;
	}
	n = tcount(c);
	if (n > (uint64_t)cap)
		return fail(im, FEAT_E_FORMAT, "constant '%s' too long (%llu values)", c->name,
			    (unsigned long long)n);
	if (c->dtype == 7 && c->raw && c->rawlen == n * 8) {
		for (uint64_t i = 0; i < n; i++)
			v[i] = (int64_t)feat_rd64(c->raw + 8 * i);
		return (int)n;
	}
	if (c->dtype == 7 && c->has_list == 7) {
		uint64_t u[MAXV];
		char why[128];
		long k = feat_pb_values(&c->list, FEAT_PB_VARINT, u, MAXV, 0, why, sizeof why);

		if (k < 0 || (uint64_t)k != n)
			return fail(im, FEAT_E_FORMAT, "constant '%s': bad int64 data", c->name);
		for (long i = 0; i < k; i++)
			v[i] = (int64_t)u[i];
		return (int)n;
	}
	f = tfloats(im, c, &n);
	if (!f)
		return FEAT_E_FORMAT;
	for (uint64_t i = 0; i < n; i++) {
		/* a float outside int64's range (or NaN) has no integer value */
		if (!(f[i] > -9.2e18f && f[i] < 9.2e18f)) {
			double bad = f[i];

			free(f);
			return fail(im, FEAT_E_FORMAT, "constant '%s': value %g is not an integer",
				    c->name, bad);
		}
		v[i] = (int64_t)f[i];
	}
	free(f);
	return (int)n;
}

/* Write constant c as a featkit weight tensor (once); returns its index. */
static int weight(struct imp *im, struct cval *c, int transpose2d)
{
	uint64_t n;
	float *f;
	uint32_t d[FEAT_MAX_DIMS];
	int e;

	if (c->weight >= 0 && !transpose2d)
		return c->weight;
	if (!(f = tfloats(im, c, &n)))
		return FEAT_E_FORMAT;
	for (int i = 0; i < c->ndim; i++)
		d[i] = (uint32_t)c->dims[i];
	if (transpose2d) {
		float *t = malloc((size_t)(n ? n : 1) * sizeof *t);
		uint32_t r = d[0], k = d[1];

		if (!t) {
			free(f);
			return fail(im, FEAT_E_NOMEM, "out of memory");
		}
		for (uint32_t i = 0; i < r; i++)
			for (uint32_t j = 0; j < k; j++)
				t[(size_t)j * r + i] = f[(size_t)i * k + j];
		free(f);
		f = t;
		d[0] = k, d[1] = r;
	}
	{
		char nm[300];

		snprintf(nm, sizeof nm, "%s%s", c->name, transpose2d ? ".T" : "");
		e = feat_mb_tensor(im->b, nm, FEAT_DT_F32, c->ndim, d, f);
	}
	free(f);
	if (e < 0)
		return fail(im, e, "cannot store tensor '%s'", c->name);
	if (!transpose2d)
		c->weight = e;
	return e;
}

/* ------------------------------------------------------------- nodes */

static const struct attr *attr(const struct node *n, const char *name)
{
	size_t l = strlen(name);

	for (int i = 0; i < n->nattr; i++)
		if (n->attr[i].namelen == l && !memcmp(n->attr[i].name, name, l))
			return &n->attr[i];
	return NULL;
}

static int64_t attr_i(const struct node *n, const char *name, int64_t def)
{
	const struct attr *a = attr(n, name);

	return a && a->has_i ? (int64_t)a->i.v : def;
}

static double attr_f(const struct node *n, const char *name, double def)
{
	const struct attr *a = attr(n, name);

	return a && a->has_f ? feat_pb_float(a->f.v) : def;
}

/* ints attribute into v; returns the count or a negative error. */
static int attr_ints(struct imp *im, const struct node *n, const char *name, int64_t *v,
	int cap)
{
	const struct attr *a = attr(n, name);
	uint64_t u[MAXV];
	long k = 0;
	char why[128];

	if (!a)
		return 0;
	for (int j = 0; j < a->nis; j++) {
		k = feat_pb_values(&a->isl[j], FEAT_PB_VARINT, u, MAXV, (size_t)k, why, sizeof why);
		if (k < 0)
			return fail(im, FEAT_E_FORMAT, "node '%s': attribute %s: %s", n->name, name, why);
	}
	if (k > cap)
		return fail(im, FEAT_E_FORMAT, "node '%s': attribute %s has %ld values", n->name,
			    name, k);
	for (long i = 0; i < k; i++)
		v[i] = (int64_t)u[i];
	return (int)k;
}

static int is_op(const struct node *n, const char *op)
{
	return n->oplen == strlen(op) && !memcmp(n->op, op, n->oplen);
}

/* The rank and shape of value name, the input's or a layer output's
 * (rank -1: unknown). */
static struct vrank shape_of(const struct imp *im, const char *name)
{
	struct vrank v = { name, -1, 0, { 0 }, 0 };

	if (!strcmp(name, im->input)) {
		v.rank = im->inrank;
		v.known = 1;
		memcpy(v.d, im->inshape, sizeof v.d);
		v.d[0] = 1;
		return v;
	}
	for (size_t i = im->nrk; i-- > 0;)
		if (!strcmp(im->rk[i].name, name))
			return im->rk[i];
	return v;
}

static int rank_of(const struct imp *im, const char *name)
{
	return shape_of(im, name).rank;
}

static const struct feat_value *kvfind(uint32_t np, const struct feat_kv *p, const char *key)
{
	for (uint32_t i = 0; i < np; i++)
		if (!strcmp(p[i].key, key))
			return &p[i].v;
	return NULL;
}

static int64_t kvint(uint32_t np, const struct feat_kv *p, const char *key, int idx,
	int64_t def)
{
	const struct feat_value *v = kvfind(np, p, key);

	if (!v)
		return def;
	if (v->type == FEAT_V_INT)
		return v->u.i;
	if (v->type == FEAT_V_INTS && (uint32_t)idx < v->n)
		return v->u.ints[idx];
	if (v->type == FEAT_V_INTS && v->n == 1)
		return v->u.ints[0];
	return def;
}

/* The window count of a pooling axis, as the engine's pool_out (layers.c). */
static int64_t pool_len(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, int ceil_mode)
{
	int64_t span = in + p0 + p1 - k;
	int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;

	if (ceil_mode && (o - 1) * s >= in + p0)
		o--;
	return o;
}

/*
 * The output shape of a layer the importer stores, from its inputs' and
 * parameters, by the rules of the engine's setup functions (layers.c); the
 * engine checks them again at load.  Unknown (known = 0) when an input's
 * is, or for a type not followed here.
 */
static void infer(const struct imp *im, const char *type, int nin, const char *const *in,
	uint32_t np, const struct feat_kv *p, struct vrank *o)
{
	struct vrank x = nin > 0 ? shape_of(im, in[0]) : (struct vrank){ 0 };
	int64_t *d = o->d;
	int r = x.rank;

	/* every parameter that sizes a shape, sane or the shape is not followed */
	for (uint32_t i = 0; i < np; i++) {
		const struct feat_value *v = &p[i].v;

		for (uint32_t j = 0; j < v->n && (v->type == FEAT_V_INT || v->type == FEAT_V_INTS); j++) {
			int64_t a = v->type == FEAT_V_INT ? v->u.i : v->u.ints[j];

			if (a < -FEAT_MAX_DIMS - 1 || a > (int64_t)1 << 31 ||
			    ((!strcmp(p[i].key, "stride") || !strcmp(p[i].key, "kernel") ||
			      !strcmp(p[i].key, "dilation") || !strcmp(p[i].key, "step")) && a < 1)) {
				o->rank = -1;
				o->known = 0;
				return;
			}
		}
	}

	o->rank = r;
	o->known = x.known;
	memcpy(d, x.d, sizeof x.d);
	if (!strcmp(type, "fc")) {
		int64_t a = kvint(np, p, "axis", 0, 1);

		o->rank = a >= 1 && a < FEAT_MAX_DIMS ? (int)a + 1 : -1;
		if (o->rank > 0)
			d[a] = im->wd0;
	} else if (!strcmp(type, "matmul")) {
		struct vrank y = nin > 1 ? shape_of(im, in[1]) : (struct vrank){ 0 };

		o->known &= y.known && y.rank == r && r >= 3;
		for (int i = 1; o->known && i < r - 2; i++)
			d[i] = d[i] > y.d[i] ? d[i] : y.d[i];
		if (o->known)
			d[r - 1] = y.d[r - 1];
	} else if (!strcmp(type, "const")) {
		o->rank = im->wnd + 1;
		o->known = 1;
		d[0] = 1;
		for (int i = 0; i < im->wnd && i + 1 < FEAT_MAX_DIMS; i++)
			d[i + 1] = im->wd[i];
	} else if (!strcmp(type, "flatten")) {
		int64_t a = kvint(np, p, "axis", 0, 1);

		o->rank = (int)a + 1;
		for (int i = (int)a + 1; i < r && a >= 0 && a < FEAT_MAX_DIMS; i++)
			if (__builtin_mul_overflow(d[a], d[i], &d[a]))
				d[a] = -1;
	} else if (!strcmp(type, "reshape")) {
		const struct feat_value *v = kvfind(np, p, "shape");
		int64_t cnt = 1, known = 1, inf = -1;

		o->rank = v ? (int)v->n : -1;
		for (int i = 1; i < r; i++)
			if (__builtin_mul_overflow(cnt, x.d[i], &cnt))
				cnt = -1;
		d[0] = 1;
		for (int i = 1; v && i < (int)v->n; i++) {
			d[i] = v->u.ints[i] == 0 && i < r ? x.d[i] : v->u.ints[i];
			if (d[i] == -1)
				inf = i;
			else if (__builtin_mul_overflow(known, d[i], &known))
				known = -1;
		}
		if (inf > 0)
			d[inf] = known > 0 ? cnt / known : 0;
	} else if (!strcmp(type, "conv") && r == 4) {
		for (int i = 0; i < 2; i++) {
			int64_t k = kvint(np, p, "kernel", i, 1), s = kvint(np, p, "stride", i, 1),
				dl = kvint(np, p, "dilation", i, 1),
				pad = kvint(np, p, "pad", i, 0) + kvint(np, p, "pad", i + 2, 0);

			d[2 + i] = (x.d[2 + i] + pad - dl * (k - 1) - 1) / s + 1;
		}
		d[1] = im->wd0;
	} else if (!strcmp(type, "pool") && r == 4) {
		for (int i = 0; i < 2; i++)
			d[2 + i] = kvint(np, p, "global", 0, 0) ? 1 :
				   pool_len(x.d[2 + i], kvint(np, p, "kernel", i, 1),
					    kvint(np, p, "stride", i, 1), kvint(np, p, "pad", i, 0),
					    kvint(np, p, "pad", i + 2, 0), (int)kvint(np, p, "ceil", 0, 0));
	} else if (!strcmp(type, "permute")) {
		const struct feat_value *v = kvfind(np, p, "order");

		for (int i = 0; v && i < (int)v->n && i < r; i++)
			d[i] = v->u.ints[i] >= 0 && v->u.ints[i] < r ? x.d[v->u.ints[i]] : 0;
	} else if (!strcmp(type, "concat")) {
		int64_t a = kvint(np, p, "axis", 0, 1);

		a += a < 0 ? r : 0;
		for (int i = 1; i < nin && a > 0 && a < r; i++) {
			struct vrank y = shape_of(im, in[i]);

			o->known &= y.known;
			d[a] += y.d[a];
		}
	} else if (!strcmp(type, "eltwise")) {
		struct vrank y = { 0 };
		int ok = 1;

		if (nin > 1) {
			y = shape_of(im, in[1]);
			ok = y.rank == r;
		} else {
			for (int i = 0; i < r; i++)
				y.d[i] = 1;
			for (int i = 0; i < im->wnd && i < r; i++)
				y.d[r - im->wnd + i] = im->wd[i];
			y.known = 1;
		}
		o->known &= ok && y.known;
		for (int i = 1; i < r; i++)
			d[i] = d[i] > y.d[i] ? d[i] : y.d[i];
	} else if (!strcmp(type, "pad")) {
		const struct feat_value *v = kvfind(np, p, "pads");

		for (int i = 0; v && (int)v->n == 2 * r && i < r; i++)
			d[i] += v->u.ints[i] + v->u.ints[r + i];
	} else if (!strcmp(type, "reduce")) {
		const struct feat_value *v = kvfind(np, p, "axes");
		int keep = (int)kvint(np, p, "keepdims", 0, 1), k = 0;
		int red[FEAT_MAX_DIMS] = { 0 };

		for (uint32_t i = 0; v && i < v->n; i++)
			if (v->u.ints[i] + (v->u.ints[i] < 0 ? r : 0) >= 0 &&
			    v->u.ints[i] + (v->u.ints[i] < 0 ? r : 0) < r)
				red[v->u.ints[i] + (v->u.ints[i] < 0 ? r : 0)] = 1;
		for (int i = 0; i < r; i++)
			if (keep || !red[i])
				d[k++] = red[i] ? 1 : x.d[i];
		o->rank = k;
	} else if (!strcmp(type, "slice")) {
		int64_t a = kvint(np, p, "axis", 0, 1), st = kvint(np, p, "start", 0, 0),
			en = kvint(np, p, "end", 0, INT64_MAX), sp = kvint(np, p, "step", 0, 1);

		a += a < 0 ? r : 0;
		if (a > 0 && a < r) {
			en = en > x.d[a] ? x.d[a] : en;
			d[a] = en > st && sp > 0 ? (en - st + sp - 1) / sp : 0;
		}
	} else if (strcmp(type, "relu") && strcmp(type, "relu6") && strcmp(type, "leakyrelu") &&
		   strcmp(type, "sigmoid") && strcmp(type, "softmax") && strcmp(type, "scale") &&
		   strcmp(type, "bn") && strcmp(type, "l2norm") && strcmp(type, "add") &&
		   strcmp(type, "hardsigmoid") && strcmp(type, "hardswish") && strcmp(type, "clip") &&
		   strcmp(type, "prelu") && strcmp(type, "layernorm") && strcmp(type, "unary")) {
		o->known = 0;
	}
	if (o->rank < 0 || o->rank > FEAT_MAX_DIMS)
		o->rank = -1, o->known = 0;
	/* a shape from a broken file is not followed further (the engine
	 * refuses it at load) */
	for (int i = 0; o->known && i < o->rank; i++)
		if (d[i] < 1 || d[i] > (int64_t)1 << 31)
			o->known = 0;
}

/* "[2, 1, 1]" for constant c, kept until the import ends. */
static const char *shape_str(struct imp *im, const struct cval *c)
{
	char b[16 * FEAT_MAX_DIMS + 4];
	size_t o = 0;

	b[o++] = '[';
	for (int i = 0; i < c->ndim && o < sizeof b - 24; i++)
		o += (size_t)snprintf(b + o, sizeof b - o, "%s%lld", i ? ", " : "", (long long)c->dims[i]);
	b[o++] = ']';
	b[o] = 0;
	{
		const char *s = keep(im, b, o);

		return s ? s : "?";
	}
}

/* Store a layer named lname writing out; its output's shape is followed. */
static int layer_as(struct imp *im, const char *type, const char *lname, const char *out,
	int nin, const char *const *in, uint32_t np, const struct feat_kv *p, uint32_t nw,
	const uint32_t *w)
{
	int e = feat_mb_layer(im->b, type, lname, (uint32_t)nin, in, 1, &out, np, p, nw, w);
	struct vrank o = { out, -1, 0, { 0 }, 0 };

	if (e)
		return fail(im, e, "node '%s': cannot store layer", lname);
	im->nlayer++;
	infer(im, type, nin, in, np, p, &o);
	o.name = out;
	o.lift = im->olift >= 0 ? im->olift : nin > 0 ? shape_of(im, in[0]).lift : 0;
	for (int i = o.rank > 0 ? o.rank : 0; i < FEAT_MAX_DIMS; i++)
		o.d[i] = 0;    /* shapes compare whole */
	im->olift = -1;
	if (feat_grow(&im->rk, &im->caprk, im->nrk + 1, sizeof *im->rk, 64))
		return FEAT_E_NOMEM;
	im->rk[im->nrk++] = o;
	return 0;
}

static int layer(struct imp *im, const char *type, const struct node *n, int nin,
	const char *const *in, uint32_t np, const struct feat_kv *p, uint32_t nw,
	const uint32_t *w)
{
	return layer_as(im, type, n->name, n->out[0], nin, in, np, p, nw, w);
}

#define KV_INTS(k, v, c) { k, { .type = FEAT_V_INTS, .n = (uint32_t)(c), .u.ints = (v) } }
#define KV_INT(k, v) { k, { .type = FEAT_V_INT, .n = 1, .u.i = (v) } }
#define KV_FLOAT(k, v) { k, { .type = FEAT_V_FLOAT, .n = 1, .u.f = (v) } }
#define KV_STR(k, v) { k, { .type = FEAT_V_STR, .n = 1, .u.s = (v) } }

/* A constant input of n, or an error naming it. */
static struct cval *const_in(struct imp *im, const struct node *n, int i, const char *what)
{
	struct cval *c = i < n->nin && n->in[i][0] ? cfind(im, n->in[i]) : NULL;

	if (!c)
		fail(im, FEAT_E_FORMAT, "node '%s' (%.*s): input %d (%s) must be a constant",
		     n->name, (int)n->oplen, (const char *)n->op, i, what);
	return c;
}

/* A folded vector result. */
static int fold(struct imp *im, const struct node *n, const int64_t *v, int cnt)
{
	struct cval *c;

	if (cnt > MAXV || cnt < 0)
		return fail(im, FEAT_E_FORMAT, "node '%s': folded shape too long", n->name);
	if (!(c = cadd(im, n->out[0])))
		return FEAT_E_NOMEM;
	c->dtype = 7;
	c->ndim = 1;
	c->dims[0] = cnt;
	c->nfolded = cnt ? cnt : 0;
	memcpy(c->iv, v, sizeof(int64_t) * (size_t)cnt);
	if (!cnt) {
		c->nfolded = 0;
		c->raw = (const uint8_t *)"";
		c->rawlen = 0;
	}
	return 0;
}

static int pool(struct imp *im, const struct node *n, const char *mode, int global)
{
	int64_t k[2] = { 1, 1 }, s[2] = { 1, 1 }, p[4] = { 0, 0, 0, 0 };
	int nk, ns, np, e;
	struct feat_kv kv[7];
	int nkv = 0;
	const struct attr *ap = attr(n, "auto_pad");

	if (ap && ap->has_s && !(ap->s.len == 6 && !memcmp(ap->s.data, "NOTSET", 6)) &&
	    !(ap->s.len == 5 && !memcmp(ap->s.data, "VALID", 5)))
		return fail(im, FEAT_E_FORMAT, "node '%s': auto_pad %.*s is not supported",
			    n->name, (int)ap->s.len, (const char *)ap->s.data);
	kv[nkv++] = (struct feat_kv)KV_STR("mode", mode);
	if (global) {
		kv[nkv++] = (struct feat_kv)KV_INT("global", 1);
	} else {
		if ((nk = attr_ints(im, n, "kernel_shape", k, 2)) != 2 ||
		    (ns = attr_ints(im, n, "strides", s, 2)) < 0 ||
		    (np = attr_ints(im, n, "pads", p, 4)) < 0)
			return nk < 0 ? nk : fail(im, FEAT_E_FORMAT, "node '%s': 2-D kernel_shape needed",
						  n->name);
		if (attr_i(n, "storage_order", 0))
			return fail(im, FEAT_E_FORMAT, "node '%s': storage_order is not supported",
				    n->name);
		{
			int64_t dl[2] = { 1, 1 };
			int nd = attr_ints(im, n, "dilations", dl, 2);

			if (nd < 0)
				return nd;
			if (dl[0] != 1 || dl[1] != 1)
				return fail(im, FEAT_E_FORMAT,
					    "node '%s': pooling with dilations %lld, %lld is not supported",
					    n->name, (long long)dl[0], (long long)dl[1]);
		}
		kv[nkv++] = (struct feat_kv)KV_INTS("kernel", k, 2);
		kv[nkv++] = (struct feat_kv)KV_INTS("stride", s, 2);
		{
			static int64_t pd[4];

			pd[0] = p[0], pd[1] = p[1], pd[2] = p[2], pd[3] = p[3];
			kv[nkv++] = (struct feat_kv)KV_INTS("pad", pd, 4);
		}
		kv[nkv++] = (struct feat_kv)KV_INT("ceil", attr_i(n, "ceil_mode", 0));
		if (!strcmp(mode, "avg"))
			kv[nkv++] = (struct feat_kv)KV_INT("exclude_pad",
							   !attr_i(n, "count_include_pad", 0));
	}
	e = layer(im, "pool", n, 1, n->in, (uint32_t)nkv, kv, 0, NULL);
	return e;
}

/* ------------------------------------------- L2 normalisation */

/*
 * Exporters write an L2 normalisation over channels (SSD's conv4_3_norm)
 * as a small subgraph, never as one operator: F.normalize(x, dim=1) is
 * ReduceL2 -> Clip(min=eps) -> Expand(.., Shape(x)) -> Div(x, ..), and
 * x / (x.pow(2).sum(1, keepdim=True).sqrt() + eps) is Pow(2) -> ReduceSum
 * -> Sqrt -> Add(eps) -> Div; LpNormalization(p=2, axis=1) is one node.
 * The values along the way are followed symbolically (imp.ns) and the Div
 * becomes the engine's l2norm layer with the form's eps_mode: F.normalize's
 * x / max(norm, eps) (Clip, Max) or x / (norm + eps) (Add).  A following Mul
 * by the learned per-channel weight is the usual scale layer.  A value of
 * the chain used any other way is an error naming the node.
 */
static struct nsym *nsfind(struct imp *im, const char *name)
{
	for (int i = im->nns; i-- > 0;)
		if (!strcmp(im->ns[i].name, name))
			return &im->ns[i];
	return NULL;
}

static int nsadd(struct imp *im, const struct node *n, const char *src, int kind, double eps,
	int mode)
{
	if (im->nns == 64)
		return fail(im, FEAT_E_FORMAT, "node '%s': too many L2 normalisations", n->name);
	im->ns[im->nns++] = (struct nsym){ n->out[0], src, kind, eps, mode };
	return 0;
}

/* A constant scalar input i of n into *v: 0, or 1 when it is not one. */
static int cscalar(struct imp *im, const struct node *n, int i, double *v)
{
	struct cval *c = i < n->nin && n->in[i][0] ? cfind(im, n->in[i]) : NULL;
	uint64_t cnt;
	float *f;

	if (!c || !(f = tfloats(im, c, &cnt)))
		return 1;
	*v = f[0];
	free(f);
	return cnt != 1;
}

/* The reduction axes of n are exactly {1} with keepdims. */
static int over_channels(struct imp *im, const struct node *n)
{
	int64_t ax[8];
	int na = attr_ints(im, n, "axes", ax, 8);

	if (na <= 0 && n->nin > 1 && n->in[1][0]) {
		struct cval *c = cfind(im, n->in[1]);

		na = c ? tints(im, c, ax, 8) : -1;
	}
	return na == 1 && (ax[0] == 1 || ax[0] == -3) && attr_i(n, "keepdims", 1) == 1;
}

static int l2norm_layer(struct imp *im, const struct node *n, const char *x, double eps, int mode)
{
	uint32_t d[1] = { 1 }, w[1];
	float one = 1.0f;
	char nm[300];
	struct feat_kv kv[2] = { KV_FLOAT("eps", eps), KV_INT("eps_mode", mode) };
	int e;

	snprintf(nm, sizeof nm, "%s.scale", n->name);
	if ((e = feat_mb_tensor(im->b, nm, FEAT_DT_F32, 1, d, &one)) < 0)
		return fail(im, e, "node '%s': cannot store its scale", n->name);
	w[0] = (uint32_t)e;
	return layer(im, "l2norm", n, 1, &x, 2, kv, 1, w);
}

static int unary_layer(struct imp *im, const char *lname, const char *out, const char *x,
	const char *op, double ex);

/* 1: not part of an L2 normalisation; else 0 or an error. */
static int norm_node(struct imp *im, const struct node *n)
{
	struct nsym *a = n->nin > 0 && n->in[0][0] ? nsfind(im, n->in[0]) : NULL;
	struct nsym *b = n->nin > 1 && n->in[1][0] ? nsfind(im, n->in[1]) : NULL;
	double v;

	if (is_op(n, "LpNormalization")) {
		if (attr_i(n, "p", 2) != 2 || attr_i(n, "axis", -1) != 1)
			return fail(im, FEAT_E_FORMAT, "node '%s': LpNormalization other than p=2 over axis 1 is not supported",
				    n->name);
		return l2norm_layer(im, n, n->in[0], 0.0, 0);
	}
	if (is_op(n, "Shape") && n->nin == 1 && strcmp(n->in[0], im->input) && !cfind(im, n->in[0]) &&
	    !shape_of(im, n->in[0]).known)
		return nsadd(im, n, n->in[0], NS_SHAPE, 0, 0);
	if (is_op(n, "Pow") && !a && n->nin == 2 && !shape_of(im, n->in[0]).lift &&
	    !cscalar(im, n, 1, &v) && v == 2.0)
		return nsadd(im, n, n->in[0], NS_SQ, 0, 0);
	if (is_op(n, "ReduceSum") && a && a->kind == NS_SQ && over_channels(im, n))
		return nsadd(im, n, a->src, NS_SUMSQ, 0, 0);
	if (is_op(n, "Sqrt") && a && a->kind == NS_SUMSQ)
		return nsadd(im, n, a->src, NS_NORM, 0, 0);
	if (is_op(n, "ReduceL2") && !a && over_channels(im, n))
		return nsadd(im, n, n->in[0], NS_NORM, 0, 0);
	if (is_op(n, "Add") && n->nin == 2 && ((a && a->kind == NS_NORM && !a->mode && !cscalar(im, n, 1, &v)) ||
					      (b && b->kind == NS_NORM && !b->mode && !cscalar(im, n, 0, &v))))
		return nsadd(im, n, (a ? a : b)->src, NS_NORM, v, 2);
	if (is_op(n, "Clip") && a && a->kind == NS_NORM && !a->mode && !cscalar(im, n, 1, &v) &&
	    (n->nin < 3 || !n->in[2][0]))
		return nsadd(im, n, a->src, NS_NORM, v, 1);
	if (is_op(n, "Max") && n->nin == 2 && a && a->kind == NS_NORM && !a->mode && !cscalar(im, n, 1, &v))
		return nsadd(im, n, a->src, NS_NORM, v, 1);
	if (is_op(n, "Expand") && a && a->kind == NS_NORM)
		return nsadd(im, n, a->src, NS_NORM, a->eps, a->mode);
	if (is_op(n, "Div") && n->nin == 2 && !a && b && b->kind == NS_NORM) {
		if (strcmp(b->src, n->in[0]))
			return fail(im, FEAT_E_FORMAT, "node '%s': Div by the norm of another value than its dividend",
				    n->name);
		return l2norm_layer(im, n, n->in[0], b->eps, b->mode);
	}
	for (int i = 0; i < n->nin; i++) {
		struct nsym *y = n->in[i][0] ? nsfind(im, n->in[i]) : NULL;

		if (y && y->kind == NS_SQ) {
			/* a square read by something else: x * x after all */
			const char *nm = y->name;
			int e;

			y->name = "";
			if ((e = unary_layer(im, nm, nm, y->src, "pow", 2)))
				return e;
			continue;
		}
		if (y && y->kind == NS_SHAPE)
			return fail(im, FEAT_E_FORMAT,
				    "node '%s' (%.*s): uses the Shape of '%s' (only the input's shape can be folded)",
				    n->name, (int)n->oplen, (const char *)n->op, y->src);
		if (y)
			return fail(im, FEAT_E_FORMAT,
				    "node '%s' (%.*s): its input '%s' belongs to an L2 normalisation the importer cannot follow",
				    n->name, (int)n->oplen, (const char *)n->op, n->in[i]);
	}
	return 1;
}

static int alias_of(struct imp *im, const struct node *n);

/* ------------------------------------- operators of the newer exporters */

static const char *opname(const struct node *n)
{
	static char b[64];

	snprintf(b, sizeof b, "%.*s", (int)(n->oplen < 60 ? n->oplen : 60), (const char *)n->op);
	return b;
}

/* A name for a value the importer makes between two layers of node n. */
static const char *between(struct imp *im, const struct node *n, const char *what)
{
	char b[400];

	snprintf(b, sizeof b, "%s.%s", n->out[0], what);
	return keep(im, b, strlen(b));
}

/* Softmax before opset 13 from axis a of x (shape known): reshape to
 * [N, d1 .. d(a-1), rest], softmax over the last axis, reshape back. */
static int softmax_from(struct imp *im, const struct node *n, const struct vrank *x, int64_t a)
{
	static int64_t s1[FEAT_MAX_DIMS], s2[FEAT_MAX_DIMS];
	const char *t1 = between(im, n, "flat"), *t2 = between(im, n, "softmax");
	struct feat_kv k1[1] = { KV_INTS("shape", s1, a + 1) }, k2[1] = { KV_INT("axis", -1) },
		       k3[1] = { KV_INTS("shape", s2, x->rank) };
	int e;

	if (!t1 || !t2)
		return FEAT_E_NOMEM;
	for (int i = 0; i < a; i++)
		s1[i] = i ? x->d[i] : 0;
	s1[a] = -1;
	for (int i = 0; i < x->rank; i++)
		s2[i] = i ? x->d[i] : 0;
	if ((e = layer_as(im, "reshape", t1, t1, 1, n->in, 1, k1, 0, NULL)) ||
	    (e = layer_as(im, "softmax", n->name, t2, 1, &t1, 1, k2, 0, NULL)))
		return e;
	return layer_as(im, "reshape", t2, n->out[0], 1, &t2, 1, k3, 0, NULL);
}

/* Mul, Add, Sub, Div of x by the constant k (operand ci of n) with ONNX's
 * broadcasting, as an eltwise layer holding k; off is the axis of x that
 * k's first lines up with. */
static int elt_const(struct imp *im, const struct node *n, struct cval *k, const char *x, int ci,
	int off, const char *op)
{
	struct vrank xs = shape_of(im, x);
	const char *why = NULL;
	uint32_t d[FEAT_MAX_DIMS], w[1];
	uint64_t cnt;
	float *v;
	char nm[300];
	int e, nd = xs.rank - off;

	if (!xs.known)
		why = "the shape of its other input is not known here";
	else if (off < 0 || off + k->ndim > xs.rank)
		why = "the constant has more axes than its input";
	else if (off == 0 && k->ndim && k->dims[0] != 1)
		why = "the constant varies along the batch axis";
	for (int i = 0; !why && i < k->ndim; i++)
		if (k->dims[i] != 1 && xs.d[off + i] != 1 && k->dims[i] != xs.d[off + i])
			why = "the shapes do not broadcast";
	if (why)
		return fail(im, FEAT_E_FORMAT, "node '%s': %s by a constant of shape %s: %s", n->name,
			    opname(n), shape_str(im, k), why);
	for (int i = 0; i < nd; i++)
		d[i] = i < k->ndim ? (uint32_t)k->dims[i] : 1;
	if (!(v = tfloats(im, k, &cnt)))
		return FEAT_E_FORMAT;
	snprintf(nm, sizeof nm, "%s.k", n->name);
	e = feat_mb_tensor(im->b, nm, FEAT_DT_F32, nd, d, v);
	free(v);
	if (e < 0)
		return fail(im, e, "node '%s': cannot store its constant", n->name);
	w[0] = (uint32_t)e;
	im->wnd = nd;
	for (int i = 0; i < nd; i++)
		im->wd[i] = d[i];
	{
		struct feat_kv kv[2] = { KV_STR("op", op), KV_INT("const_first", ci == 0) };

		return layer(im, "eltwise", n, 1, &x, 2, kv, 1, w);
	}
}

static int is_int_const(struct imp *im, const char *name)
{
	struct cval *c = cfind(im, name);

	return c && (c->nfolded || c->dtype == 6 || c->dtype == 7) && tcount(c) <= MAXV;
}

/* 1: not handled here; else 0 or an error. */
static int more_node(struct imp *im, const struct node *n)
{
	int e;

	/* integer arithmetic on shapes, known at import */
	if ((is_op(n, "Add") || is_op(n, "Sub") || is_op(n, "Mul") || is_op(n, "Div")) &&
	    n->nin == 2 && is_int_const(im, n->in[0]) && is_int_const(im, n->in[1])) {
		int64_t a[MAXV], b[MAXV], r[MAXV];
		int na = tints(im, cfind(im, n->in[0]), a, MAXV), nb, nr;

		if (na < 0 || (nb = tints(im, cfind(im, n->in[1]), b, MAXV)) < 0)
			return FEAT_E_FORMAT;
		nr = na > nb ? na : nb;
		if ((na != nb && na > 1 && nb > 1) || !na || !nb)
			return fail(im, FEAT_E_FORMAT, "node '%s': %s of %d and %d values", n->name,
				    opname(n), na, nb);
		for (int i = 0; i < nr; i++) {
			int64_t x = a[na > 1 ? i : 0], y = b[nb > 1 ? i : 0];

			if (x <= SYM_BASE + FEAT_MAX_DIMS || y <= SYM_BASE + FEAT_MAX_DIMS)
				return fail(im, FEAT_E_FORMAT,
					    "node '%s': %s on the batch size (export with a fixed batch or without size arithmetic on it)",
					    n->name, opname(n));
			if (is_op(n, "Div") && !y)
				return fail(im, FEAT_E_FORMAT, "node '%s': division by 0", n->name);
			if (is_op(n, "Add") ? __builtin_add_overflow(x, y, &r[i]) :
			    is_op(n, "Sub") ? __builtin_sub_overflow(x, y, &r[i]) :
			    is_op(n, "Mul") ? __builtin_mul_overflow(x, y, &r[i]) :
			    (x == INT64_MIN && y == -1))
				return fail(im, FEAT_E_FORMAT, "node '%s': %s overflows", n->name, opname(n));
			if (is_op(n, "Div"))
				r[i] = x / y - ((x % y != 0) && ((x < 0) != (y < 0)));  /* floor */
		}
		return fold(im, n, r, nr);
	}
	if (is_op(n, "HardSigmoid")) {
		struct feat_kv kv[2] = { KV_FLOAT("alpha", attr_f(n, "alpha", 0.2)),
					 KV_FLOAT("beta", attr_f(n, "beta", 0.5)) };

		return layer(im, "hardsigmoid", n, 1, n->in, 2, kv, 0, NULL);
	}
	if (is_op(n, "HardSwish"))
		return layer(im, "hardswish", n, 1, n->in, 0, NULL, 0, NULL);
	if (is_op(n, "Slice") || is_op(n, "Split")) {
		int64_t st[FEAT_MAX_DIMS], en[FEAT_MAX_DIMS], ax[FEAT_MAX_DIMS], sp[FEAT_MAX_DIMS];
		int ns, nx = -1, nsp = -1;
		struct cval *c = cfind(im, n->in[0]);
		struct vrank x = shape_of(im, n->in[0]);

		if (is_op(n, "Split")) {
			int64_t a = attr_i(n, "axis", 0), parts[8], at = 0;
			int np = attr_ints(im, n, "split", parts, 8);

			if (np < 0)
				return np;
			if (!np && n->nin > 1 && n->in[1][0]) {
				struct cval *sc = const_in(im, n, 1, "split");

				if (!sc || (np = tints(im, sc, parts, 8)) < 0)
					return FEAT_E_FORMAT;
			}
			if (!x.known || c)
				return fail(im, FEAT_E_FORMAT, "node '%s': Split of '%s', whose shape is not known here",
					    n->name, n->in[0]);
			a += a < 0 ? x.rank : 0;
			if (a < 1 || a >= x.rank)
				return fail(im, FEAT_E_FORMAT, "node '%s': Split along axis %lld (the batch or out of range)",
					    n->name, (long long)attr_i(n, "axis", 0));
			if (!np) {
				if (x.d[a] % n->nout)
					return fail(im, FEAT_E_FORMAT, "node '%s': Split of %lld into %d equal parts",
						    n->name, (long long)x.d[a], n->nout);
				for (np = 0; np < n->nout; np++)
					parts[np] = x.d[a] / n->nout;
			}
			if (np != n->nout)
				return fail(im, FEAT_E_FORMAT, "node '%s': Split into %d sizes for %d outputs",
					    n->name, np, n->nout);
			for (int i = 0; i < np; i++) {
				struct feat_kv kv[3] = { KV_INT("axis", a), KV_INT("start", at),
							 KV_INT("end", at + parts[i]) };
				char nm[300];
				const char *lname;

				if (parts[i] < 1 || at + parts[i] > x.d[a])
					return fail(im, FEAT_E_FORMAT, "node '%s': Split sizes do not add up to %lld",
						    n->name, (long long)x.d[a]);
				snprintf(nm, sizeof nm, "%s.%d", n->name, i);
				if (!(lname = keep(im, nm, strlen(nm))))
					return FEAT_E_NOMEM;
				if ((e = layer_as(im, "slice", lname, n->out[i], 1, n->in, 3, kv, 0, NULL)))
					return e;
				at += parts[i];
			}
			return 0;
		}
		if (im->opset < 10) {
			if ((ns = attr_ints(im, n, "starts", st, FEAT_MAX_DIMS)) < 0 ||
			    attr_ints(im, n, "ends", en, FEAT_MAX_DIMS) != ns ||
			    (nx = attr_ints(im, n, "axes", ax, FEAT_MAX_DIMS)) < 0)
				return fail(im, FEAT_E_FORMAT, "node '%s': Slice needs starts and ends alike",
					    n->name);
		} else {
			struct cval *cs = const_in(im, n, 1, "starts"), *ce = const_in(im, n, 2, "ends");

			if (!cs || !ce || (ns = tints(im, cs, st, FEAT_MAX_DIMS)) < 0 ||
			    tints(im, ce, en, FEAT_MAX_DIMS) != ns)
				return FEAT_E_FORMAT;
			if (n->nin > 3 && n->in[3][0]) {
				struct cval *ca = const_in(im, n, 3, "axes");

				if (!ca || (nx = tints(im, ca, ax, FEAT_MAX_DIMS)) != ns)
					return fail(im, FEAT_E_FORMAT, "node '%s': Slice axes do not match its starts",
						    n->name);
			}
			if (n->nin > 4 && n->in[4][0]) {
				struct cval *cp = const_in(im, n, 4, "steps");

				if (!cp || (nsp = tints(im, cp, sp, FEAT_MAX_DIMS)) != ns)
					return fail(im, FEAT_E_FORMAT, "node '%s': Slice steps do not match its starts",
						    n->name);
			}
		}
		if (nx <= 0)
			for (int i = 0; i < ns; i++)
				ax[i] = i;
		if (nsp <= 0)
			for (int i = 0; i < ns; i++)
				sp[i] = 1;
		for (int i = 0; i < ns && x.lift && !c; i++)
			ax[i] += ax[i] >= 0;   /* ONNX axis a is axis a + 1 */
		if (c && c->nfolded >= 0 && is_int_const(im, n->in[0])) {
			/* a shape vector */
			int64_t v[MAXV], r[MAXV];
			int nv = tints(im, c, v, MAXV), nr = 0;
			int64_t a = st[0], b = en[0];

			if (nv < 0 || ns != 1 || (ax[0] != 0 && ax[0] != -1) || sp[0] != 1)
				return fail(im, FEAT_E_FORMAT, "node '%s': Slice of a constant other than a 1-D run",
					    n->name);
			a += a < 0 ? nv : 0, b += b < 0 ? nv : 0;
			a = a < 0 ? 0 : a > nv ? nv : a, b = b < a ? a : b > nv ? nv : b;
			for (int64_t i = a; i < b; i++)
				r[nr++] = v[i];
			return fold(im, n, r, nr);
		}
		if (c || !x.known)
			return fail(im, FEAT_E_FORMAT, "node '%s': Slice of '%s', whose shape is not known here",
				    n->name, n->in[0]);
		{
			const char *cur = n->in[0];
			int real = 0;

			for (int i = 0; i < ns; i++) {
				int64_t a = ax[i] + (ax[i] < 0 ? x.rank : 0), d, s0 = st[i], e0 = en[i];

				if (a < 0 || a >= x.rank || sp[i] < 1)
					return fail(im, FEAT_E_FORMAT, "node '%s': Slice along axis %lld with step %lld (steps of 1 or more on axes after the batch)",
						    n->name, (long long)ax[i], (long long)sp[i]);
				d = x.d[a];
				s0 += s0 < 0 ? d : 0, e0 += e0 < 0 ? d : 0;
				s0 = s0 < 0 ? 0 : s0 > d ? d : s0, e0 = e0 < 0 ? 0 : e0 > d ? d : e0;
				if (s0 == 0 && e0 == d && sp[i] == 1)
					continue;
				if (a == 0 || e0 <= s0)
					return fail(im, FEAT_E_FORMAT, "node '%s': Slice of the batch or to nothing",
						    n->name);
				st[real] = s0, en[real] = e0, ax[real] = a, sp[real] = sp[i];
				real++;
			}
			if (!real)
				return alias_of(im, n);
			for (int i = 0; i < real; i++) {
				struct feat_kv kv[4] = { KV_INT("axis", ax[i]), KV_INT("start", st[i]),
							 KV_INT("end", en[i]), KV_INT("step", sp[i]) };
				const char *out = i == real - 1 ? n->out[0] : between(im, n, i ? "s2" : "s1");

				if (!out)
					return FEAT_E_NOMEM;
				if ((e = layer_as(im, "slice", i == real - 1 ? n->name : out, out, 1, &cur, 4,
						  kv, 0, NULL)))
					return e;
				cur = out;
			}
			return 0;
		}
	}
	if (is_op(n, "ReduceMean") || is_op(n, "ReduceSum") || is_op(n, "ReduceMax")) {
		static int64_t ax[FEAT_MAX_DIMS];
		int na = attr_ints(im, n, "axes", ax, FEAT_MAX_DIMS), r = rank_of(im, n->in[0]);
		int64_t keep = attr_i(n, "keepdims", 1);

		if (na < 0)
			return na;
		if (!na && n->nin > 1 && n->in[1][0]) {
			struct cval *c = const_in(im, n, 1, "axes");

			if (!c || (na = tints(im, c, ax, FEAT_MAX_DIMS)) < 0)
				return FEAT_E_FORMAT;
		}
		if (!na || r < 0)
			return fail(im, FEAT_E_FORMAT, "node '%s': %s over all axes (the batch too) or of unknown rank",
				    n->name, opname(n));
		for (int i = 0; i < na; i++) {
			ax[i] += ax[i] < 0 ? r : shape_of(im, n->in[0]).lift;
			if (ax[i] < 1 || ax[i] >= r)
				return fail(im, FEAT_E_FORMAT, "node '%s': %s over axis %lld (the batch or out of range)",
					    n->name, opname(n), (long long)ax[i]);
		}
		if (is_op(n, "ReduceMean") && keep && r == 4 && na == 2 &&
		    ((ax[0] == 2 && ax[1] == 3) || (ax[0] == 3 && ax[1] == 2)))
			return pool(im, n, "avg", 1);
		{
			struct feat_kv kv[3] = { KV_STR("mode", is_op(n, "ReduceMean") ? "mean" :
							       is_op(n, "ReduceSum") ? "sum" : "max"),
						 KV_INTS("axes", ax, na), KV_INT("keepdims", keep != 0) };

			return layer(im, "reduce", n, 1, n->in, 3, kv, 0, NULL);
		}
	}
	if (is_op(n, "PRelu")) {
		struct cval *k = const_in(im, n, 1, "slope");
		int r = rank_of(im, n->in[0]), off;
		uint64_t cnt = k ? tcount(k) : 0;

		if (!k)
			return FEAT_E_FORMAT;
		off = r - k->ndim;
		for (int i = 0; i < k->ndim && cnt > 1; i++)
			if (k->dims[i] != 1 && off + i != 1)
				return fail(im, FEAT_E_FORMAT,
					    "node '%s': PRelu slope of shape %s on a value of rank %d (one slope, or one a channel)",
					    n->name, shape_str(im, k), r);
		if ((e = weight(im, k, 0)) < 0)
			return e;
		{
			uint32_t w[1] = { (uint32_t)e };

			return layer(im, "prelu", n, 1, n->in, 0, NULL, 1, w);
		}
	}
	if (is_op(n, "Pad")) {
		static int64_t pads[2 * FEAT_MAX_DIMS];
		const struct attr *m = attr(n, "mode");
		double value = attr_f(n, "value", 0);
		int np, r = rank_of(im, n->in[0]), zero = 1;

		if (m && m->has_s && !(m->s.len == 8 && !memcmp(m->s.data, "constant", 8)))
			return fail(im, FEAT_E_FORMAT, "node '%s': Pad mode %.*s (only constant)", n->name,
				    (int)m->s.len, (const char *)m->s.data);
		if (im->opset < 11) {
			np = attr_ints(im, n, "pads", pads, 2 * FEAT_MAX_DIMS);
		} else {
			struct cval *c = const_in(im, n, 1, "pads");

			np = c ? tints(im, c, pads, 2 * FEAT_MAX_DIMS) : FEAT_E_FORMAT;
			if (np >= 0 && n->nin > 2 && n->in[2][0] && cscalar(im, n, 2, &value))
				return fail(im, FEAT_E_FORMAT, "node '%s': Pad value must be one constant",
					    n->name);
			if (n->nin > 3 && n->in[3][0])
				return fail(im, FEAT_E_FORMAT, "node '%s': Pad with axes is not supported",
					    n->name);
		}
		if (np < 0)
			return np;
		if (r < 0 || np != 2 * r)
			return fail(im, FEAT_E_FORMAT, "node '%s': %d pads for a value of rank %d", n->name,
				    np, r);
		for (int i = 0; i < np; i++)
			zero &= pads[i] == 0;
		if (zero)
			return alias_of(im, n);
		if (pads[0] || pads[r])
			return fail(im, FEAT_E_FORMAT, "node '%s': Pad of the batch axis", n->name);
		for (int i = 0; i < np; i++)
			if (pads[i] < 0)
				return fail(im, FEAT_E_FORMAT, "node '%s': negative pads (cropping) are not supported",
					    n->name);
		{
			struct feat_kv kv[2] = { KV_INTS("pads", pads, np), KV_FLOAT("value", value) };

			return layer(im, "pad", n, 1, n->in, 2, kv, 0, NULL);
		}
	}
	if ((is_op(n, "Sub") || is_op(n, "Div")) && n->nin == 2 &&
	    (cfind(im, n->in[0]) || cfind(im, n->in[1]))) {
		int ci = cfind(im, n->in[1]) ? 1 : 0;
		struct cval *k = cfind(im, n->in[ci]);
		int r = rank_of(im, n->in[1 - ci]);

		return elt_const(im, n, k, n->in[1 - ci], ci, r - k->ndim, is_op(n, "Sub") ? "sub" : "div");
	}
	if ((is_op(n, "Sub") || is_op(n, "Div") || is_op(n, "Mul") || is_op(n, "Add") ||
	     is_op(n, "Max") || is_op(n, "Min")) && n->nin == 2 &&
	    !cfind(im, n->in[0]) && !cfind(im, n->in[1])) {
		struct vrank a = shape_of(im, n->in[0]), b = shape_of(im, n->in[1]);
		const char *op = is_op(n, "Sub") ? "sub" : is_op(n, "Div") ? "div" :
				 is_op(n, "Mul") ? "mul" : is_op(n, "Add") ? "add" :
				 is_op(n, "Max") ? "max" : "min";
		struct feat_kv kv[1] = { KV_STR("op", op) };

		if (is_op(n, "Add") && a.rank == b.rank &&
		    (!a.known || !b.known || !memcmp(a.d, b.d, sizeof a.d)))
			return 1;   /* the plain add */
		if (a.rank < 0 || a.rank != b.rank)
			return fail(im, FEAT_E_FORMAT, "node '%s': %s of values of rank %d and %d", n->name,
				    opname(n), a.rank, b.rank);
		for (int i = 1; a.known && b.known && i < a.rank; i++)
			if (a.d[i] != b.d[i] && a.d[i] != 1 && b.d[i] != 1)
				return fail(im, FEAT_E_FORMAT, "node '%s': %s of shapes that do not broadcast (axis %d: %lld and %lld)",
					    n->name, opname(n), i, (long long)a.d[i], (long long)b.d[i]);
		return layer(im, "eltwise", n, 2, n->in, 1, kv, 0, NULL);
	}
	return 1;
}

/* ------------------------------------------------ transformers */

/*
 * Where the batch is.  The graph was exported for one image, and featkit
 * runs it on each image of a batch, axis 0 of every blob being the batch.
 * A value whose ONNX axis 0 is that image's batch axis (size 1) is stored
 * as it is ("plain": the ONNX shape, axis 0 standing for the batch).
 * Attention moves the batch elsewhere: torchvision's ViT transposes its
 * tokens to [L, N, E] for nn.MultiheadAttention, which folds N into the
 * heads ([L, N * H, E / H]) and the tokens into the rows of a Gemm
 * ([L * N, E]), the batch of one written into the Reshapes' constants.
 * Such a value is "lifted": stored as [batch] + its whole ONNX shape, so
 * that each image's part is the ONNX value itself and every operator keeps
 * its ONNX meaning, ONNX axis a being featkit axis a + 1 (vrank.lift).  A
 * Transpose or Reshape gives a plain value again when its ONNX axis 0 has
 * size 1.  Operators that take only plain values (convolution, pooling,
 * ...) get a lifted input back as plain through a reshape (a view) when
 * its axis 0 has size 1, and refuse it otherwise.
 */

/* The name x.tag, kept. */
static const char *vname(struct imp *im, const char *x, const char *tag)
{
	char b[400];

	snprintf(b, sizeof b, "%s.%s", x, tag);
	return keep(im, b, strlen(b));
}

/* x reshaped to featkit dims [batch] + d[0..nd), as the value x.tag
 * (made once), whose ONNX shape is lifted by lift.  NULL on error. */
static const char *reshape_as(struct imp *im, const char *x, const char *tag, int nd,
	const int64_t *d, int lift)
{
	static int64_t s[FEAT_MAX_DIMS];
	struct feat_kv kv[1] = { KV_INTS("shape", s, nd + 1) };
	const char *nm = vname(im, x, tag);

	if (!nm)
		return NULL;
	if (shape_of(im, nm).rank >= 0)
		return nm;
	if (nd < 0 || nd + 1 > FEAT_MAX_DIMS) {
		fail(im, FEAT_E_FORMAT, "value '%s': more than %d axes with the batch", x,
		     FEAT_MAX_DIMS);
		return NULL;
	}
	s[0] = 0;
	for (int i = 0; i < nd; i++)
		s[i + 1] = d[i];
	im->olift = lift;
	return layer_as(im, "reshape", nm, nm, 1, &x, 1, kv, 0, NULL) ? NULL : nm;
}

/* A lifted value as plain (its ONNX axis 0 has size 1), or NULL and an
 * error naming node n. */
static const char *to_plain(struct imp *im, const struct node *n, const char *x)
{
	struct vrank v = shape_of(im, x);

	if (!v.lift)
		return x;
	if (!v.known || v.rank < 2 || v.d[1] != 1) {
		fail(im, FEAT_E_FORMAT,
		     "node '%s' (%s): its input '%s' holds the batch inside its axes (moved there by a Transpose or Reshape), where this operator cannot take it",
		     n->name, opname(n), x);
		return NULL;
	}
	return reshape_as(im, x, "plain", v.rank - 2, v.d + 2, 0);
}

/* A plain value as lifted. */
static const char *as_lifted(struct imp *im, const char *x)
{
	struct vrank v = shape_of(im, x);

	if (v.lift)
		return x;
	if (!v.known) {
		fail(im, FEAT_E_FORMAT, "value '%s': its shape is not known here", x);
		return NULL;
	}
	return reshape_as(im, x, "lift", v.rank, v.d, 1);
}

/* x with featkit rank r: ones put after the batch (ONNX's broadcasting
 * aligns shapes on the right). */
static const char *to_rank(struct imp *im, const char *x, int r)
{
	struct vrank v = shape_of(im, x);
	int64_t d[FEAT_MAX_DIMS];
	char tag[16];

	if (v.rank == r)
		return x;
	if (!v.known || v.rank < 1 || v.rank > r || r > FEAT_MAX_DIMS) {
		fail(im, FEAT_E_FORMAT, "value '%s': its shape is not known here", x);
		return NULL;
	}
	for (int i = 0; i < r - v.rank; i++)
		d[i] = 1;
	for (int i = 1; i < v.rank; i++)
		d[r - v.rank + i - 1] = v.d[i];
	snprintf(tag, sizeof tag, "r%d", r);
	return reshape_as(im, x, tag, r - 1, d, v.lift);
}

/* Lifting reads the graph as one image's: refused when it was exported
 * for a fixed batch of more. */
static int batch_one(struct imp *im, const struct node *n)
{
	if (im->inshape[0] > 1)
		return fail(im, FEAT_E_FORMAT,
			    "node '%s' (%s): moves the batch inside its axes, in a graph exported for a batch of %lld (export it with a batch of 1)",
			    n->name, opname(n), (long long)im->inshape[0]);
	return 0;
}

/* Operators that take lifted values. */
static int lift_aware(const struct node *n)
{
	static const char *const ops[] = {
		"Transpose", "Reshape", "Shape", "Softmax", "ReduceMean", "ReduceSum", "ReduceMax",
		"Slice", "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Sqrt", "Erf", "MatMul",
		"Gemm", "Concat", "Gather", "LayerNormalization", "Identity", "Dropout", "Expand",
		"Relu", "Sigmoid", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish",
	};

	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (is_op(n, ops[i]))
			return 1;
	return 0;
}

/*
 * LayerNorm and GELU as exporters write them before opset 17 (and GELU
 * always, before opset 20): LayerNorm over the last axis as ReduceMean ->
 * Sub -> Pow(2) -> ReduceMean -> Add(eps) -> Sqrt -> Div, then Mul by its
 * weight and Add of its bias; GELU as Div(sqrt 2) -> Erf -> Add(1) ->
 * Mul(x) -> Mul(0.5).  The values along the way are followed (imp.fs) and
 * the chain becomes one layernorm or one unary gelu layer.  A value of a
 * chain that anything else reads is imported after all as its node says
 * (fs_make), so that a graph that only looks like one still runs as
 * written.
 */
enum { FS_MEAN = 1, FS_CENT, FS_SQ, FS_VAR, FS_VARE, FS_STD, FS_LN, FS_LNG, FS_G1, FS_G2,
       FS_G3, FS_G4 };

struct fsym {
	const char *name, *src;   /* the value it stands for; the chain's input */
	int kind;                 /* FS_*, 0 once imported */
	double eps;
	const char *gamma;        /* FS_LNG: the weight (a constant's name) */
	struct node *node;        /* the node it came from */
};

static struct fsym *fsfind(struct imp *im, const char *name)
{
	for (size_t i = im->nfs; i-- > 0;)
		if (im->fs[i].kind && !strcmp(im->fs[i].name, name))
			return &im->fs[i];
	return NULL;
}

static int fs_add(struct imp *im, const struct node *n, int kind, const char *src, double eps,
	const char *gamma)
{
	struct fsym *s;

	if (feat_grow(&im->fs, &im->capfs, im->nfs + 1, sizeof *im->fs, 32))
		return FEAT_E_NOMEM;
	s = &im->fs[im->nfs];
	memset(s, 0, sizeof *s);
	if (!(s->node = malloc(sizeof *s->node)))
		return FEAT_E_NOMEM;
	*s->node = *n;
	s->gamma = gamma;
	s->name = n->out[0];
	s->src = src;
	s->kind = kind;
	s->eps = eps;
	im->nfs++;
	return 0;
}

/* A layernorm over the last axis of x. */
static int ln_layer(struct imp *im, const char *lname, const char *out, const char *x, double eps,
	struct cval *g, struct cval *b)
{
	struct feat_kv kv[2] = { KV_INT("axis", -1), KV_FLOAT("eps", eps) };
	uint32_t w[2];
	int nw = 0, e;

	if (g) {
		if ((e = weight(im, g, 0)) < 0)
			return e;
		w[nw++] = (uint32_t)e;
	}
	if (b) {
		if ((e = weight(im, b, 0)) < 0)
			return e;
		w[nw++] = (uint32_t)e;
	}
	return layer_as(im, "layernorm", lname, out, 1, &x, 2, kv, (uint32_t)nw, w);
}

static int unary_layer(struct imp *im, const char *lname, const char *out, const char *x,
	const char *op, double ex)
{
	struct feat_kv kv[2] = { KV_STR("op", op), KV_FLOAT("exponent", ex) };

	return layer_as(im, "unary", lname, out, 1, &x, strcmp(op, "pow") ? 1 : 2, kv, 0, NULL);
}

static int import_node(struct imp *im, const struct node *n);

/* Import the node of a followed value after all. */
static int fs_make(struct imp *im, struct fsym *s)
{
	int kind = s->kind, e;

	s->kind = 0;
	if (kind == FS_LN || kind == FS_LNG)
		return ln_layer(im, s->node->name, s->name, s->src, s->eps,
				s->gamma ? cfind(im, s->gamma) : NULL, NULL);
	im->nofuse++;
	e = import_node(im, s->node);
	im->nofuse--;
	return e;
}

/* The last dimension of x, or -1. */
static int64_t last_dim(struct imp *im, const char *x)
{
	struct vrank v = shape_of(im, x);

	return v.known && v.rank - v.lift >= 1 ? v.d[v.rank - 1] : -1;
}

/* ReduceMean over the last axis only, keepdims. */
static int mean_last(struct imp *im, const struct node *n, const char *x)
{
	struct vrank v = shape_of(im, x);
	int64_t ax[2];
	int na = attr_ints(im, n, "axes", ax, 2);

	if (na <= 0 && n->nin > 1 && n->in[1][0]) {
		struct cval *c = cfind(im, n->in[1]);

		na = c ? tints(im, c, ax, 2) : -1;
	}
	return na == 1 && v.known && attr_i(n, "keepdims", 1) == 1 &&
	       (ax[0] == -1 || ax[0] == v.rank - v.lift - 1);
}

/* A constant that runs along the last axis of x alone. */
static struct cval *along_last(struct imp *im, const char *name, const char *x)
{
	struct cval *c = cfind(im, name);
	struct vrank v = shape_of(im, x);

	if (!c || !c->ndim || c->ndim > v.rank - v.lift || c->dims[c->ndim - 1] != last_dim(im, x))
		return NULL;
	for (int i = 0; i < c->ndim - 1; i++)
		if (c->dims[i] != 1)
			return NULL;
	return c;
}

/* 1: not a step of a chain; else 0 or an error. */
static int fuse_node(struct imp *im, const struct node *n)
{
	struct fsym *a = n->nin > 0 && n->in[0][0] ? fsfind(im, n->in[0]) : NULL;
	struct fsym *b = n->nin > 1 && n->in[1][0] ? fsfind(im, n->in[1]) : NULL;
	struct fsym *s = a ? a : b;
	int ci = a ? 1 : 0;      /* the other operand of s */
	struct cval *c;
	double v;

	if (im->nofuse || n->nout != 1)
		return 1;
	if (is_op(n, "ReduceMean") && n->nin >= 1) {
		if (!a && !cfind(im, n->in[0]) && mean_last(im, n, n->in[0]))
			return fs_add(im, n, FS_MEAN, n->in[0], 0, NULL);
		if (a && a->kind == FS_SQ && mean_last(im, n, a->src))
			return fs_add(im, n, FS_VAR, a->src, 0, NULL);
		return 1;
	}
	if (n->nin != 2 && !is_op(n, "Sqrt") && !is_op(n, "Erf"))
		return 1;
	if (is_op(n, "Sub") && !a && b && b->kind == FS_MEAN && !strcmp(b->src, n->in[0]))
		return fs_add(im, n, FS_CENT, n->in[0], 0, NULL);
	if (is_op(n, "Pow") && a && a->kind == FS_CENT && !cscalar(im, n, 1, &v) && v == 2)
		return fs_add(im, n, FS_SQ, a->src, 0, NULL);
	if (is_op(n, "Sqrt") && a && a->kind == FS_VARE)
		return fs_add(im, n, FS_STD, a->src, a->eps, NULL);
	if (is_op(n, "Div") && a && b && a->kind == FS_CENT && b->kind == FS_STD &&
	    !strcmp(a->src, b->src))
		return fs_add(im, n, FS_LN, a->src, b->eps, NULL);
	if (is_op(n, "Div") && !a && !b && !cfind(im, n->in[0]) && shape_of(im, n->in[0]).known &&
	    !cscalar(im, n, 1, &v) && fabs(v - 1.4142135623730951) < 1e-6)
		return fs_add(im, n, FS_G1, n->in[0], 0, NULL);
	if (is_op(n, "Erf") && a && a->kind == FS_G1)
		return fs_add(im, n, FS_G2, a->src, 0, NULL);
	if (!s || (a && b))
		return 1;
	if (is_op(n, "Add") && s->kind == FS_VAR && !cscalar(im, n, ci, &v) && v >= 0)
		return fs_add(im, n, FS_VARE, s->src, v, NULL);
	if (is_op(n, "Add") && s->kind == FS_G2 && !cscalar(im, n, ci, &v) && v == 1)
		return fs_add(im, n, FS_G3, s->src, 0, NULL);
	if (is_op(n, "Add") && s->kind == FS_LNG && (c = along_last(im, n->in[ci], s->src)))
		return ln_layer(im, n->name, n->out[0], s->src, s->eps, cfind(im, s->gamma), c);
	if (is_op(n, "Mul") && s->kind == FS_G3 && !strcmp(s->src, n->in[ci]))
		return fs_add(im, n, FS_G4, s->src, 0, NULL);
	if (is_op(n, "Mul") && s->kind == FS_G4 && !cscalar(im, n, ci, &v) && v == 0.5)
		return unary_layer(im, n->name, n->out[0], s->src, "gelu", 0);
	if (is_op(n, "Mul") && s->kind == FS_LN && (c = along_last(im, n->in[ci], s->src)))
		return fs_add(im, n, FS_LNG, s->src, s->eps, n->in[ci]);
	return 1;
}

/* The value of a one-value attribute tensor (ConstantOfShape's). */
static int attr_scalar(struct imp *im, const struct node *n, const char *name, double *v,
	int *dtype)
{
	const struct attr *a = attr(n, name);
	struct cval t;
	uint64_t k;
	float *f;
	int e;

	if (!a || !a->has_t)
		return 1;
	memset(&t, 0, sizeof t);
	if ((e = parse_tensor(im, &a->t, &t, 0)))
		return e;
	t.name = n->name;
	if (!(f = tfloats(im, &t, &k)))
		return FEAT_E_FORMAT;
	*v = f[0];
	free(f);
	*dtype = t.dtype;
	return k == 1 ? 0 : fail(im, FEAT_E_FORMAT, "node '%s': %s of %llu values", n->name, name,
				 (unsigned long long)k);
}

/* A float constant made at import (cnt values, kept until the import
 * ends), as the value name. */
static int make_const(struct imp *im, const char *name, int nd, const int64_t *d,
	const float *v, uint64_t cnt)
{
	uint8_t *raw = malloc((size_t)(cnt ? cnt : 1) * 4);
	const char *kept;
	struct cval *c;

	if (!raw)
		return FEAT_E_NOMEM;
	for (uint64_t i = 0; i < cnt; i++) {
		uint32_t u;

		memcpy(&u, &v[i], 4);
		feat_wr32(raw + 4 * i, u);
	}
	kept = keep(im, raw, (size_t)cnt * 4);
	free(raw);
	if (!kept || !(c = cadd(im, name)))
		return FEAT_E_NOMEM;
	c->dtype = 1;
	c->ndim = nd;
	for (int i = 0; i < nd; i++)
		c->dims[i] = d[i];
	c->raw = (const uint8_t *)kept;
	c->rawlen = (size_t)cnt * 4;
	return 0;
}

/* The shape of x broadcast with the ints s[0..ns) (Expand): e[], its rank,
 * or -1 when they do not broadcast. */
static int bcast(const int64_t *x, int nx, const int64_t *s, int ns, int64_t *e)
{
	int r = nx > ns ? nx : ns;

	if (r > FEAT_MAX_DIMS)
		return -1;
	for (int i = 0; i < r; i++) {
		int64_t a = i - (r - nx) >= 0 ? x[i - (r - nx)] : 1;
		int64_t b = i - (r - ns) >= 0 ? s[i - (r - ns)] : 1;

		if (b == SYM_BASE)
			b = 1;       /* the batch: one image */
		if (a != b && a != 1 && b != 1)
			return -1;
		if (a < 0 || b < 0)
			return -1;
		e[i] = a > b ? a : b;
	}
	return r;
}

/* A folded int tensor of nd axes (d[0..nd)), values v in row-major order:
 * fold() with its shape kept. */
static int fold_nd(struct imp *im, const struct node *n, const int64_t *v, int nd,
	const int64_t *d)
{
	int64_t cnt = 1;
	struct cval *c;
	int e;

	for (int i = 0; i < nd; i++)
		if (d[i] < 0 || (cnt *= d[i]) > MAXV)
			return fail(im, FEAT_E_FORMAT, "node '%s': folded tensor too large", n->name);
	if ((e = fold(im, n, v, (int)cnt)))
		return e;
	c = cfind(im, n->out[0]);
	c->ndim = nd;
	for (int i = 0; i < nd; i++)
		c->dims[i] = d[i];
	return 0;
}

/* Small int tensors known at import, of up to two axes, through Reshape,
 * Transpose, Slice (any steps) and Cast: how PyTorch's exporter builds a
 * Pad's pads (F.pad, nn.ZeroPad2d: ConstantOfShape and Concat, Reshape to
 * pairs, Slice backwards, Transpose, Reshape, Cast).  1: not such a node. */
static int int_tensor_node(struct imp *im, const struct node *n)
{
	struct cval *c = n->nin >= 1 && n->in[0][0] ? cfind(im, n->in[0]) : NULL;
	int64_t v[MAXV], r[MAXV], d[FEAT_MAX_DIMS], od[FEAT_MAX_DIMS];
	int nv, nd;

	if (!c || !is_int_const(im, n->in[0]) ||
	    !(is_op(n, "Reshape") || is_op(n, "Transpose") || is_op(n, "Slice") || is_op(n, "Cast")))
		return 1;
	if ((nv = tints(im, c, v, MAXV)) < 0)
		return FEAT_E_FORMAT;
	nd = c->ndim < 1 ? 1 : c->ndim;
	if (nd > 2 && !is_op(n, "Reshape") && !is_op(n, "Cast"))
		return fail(im, FEAT_E_FORMAT, "node '%s': %s of a %d-axis constant", n->name,
			    opname(n), nd);
	if (c->ndim < 1)
		d[0] = nv;
	else
		memcpy(d, c->dims, sizeof(int64_t) * (size_t)nd);
	/* the dimensions must hold the values (a file may say [0, 1000]
	 * with none): each at most MAXV, so that their product does not
	 * overflow and the index lists below hold an axis */
	{
		int64_t k = 1;

		for (int i = 0; i < nd; i++) {
			if (d[i] < 0 || d[i] > MAXV)
				return fail(im, FEAT_E_FORMAT, "node '%s': %s of a constant of dimension %lld",
					    n->name, opname(n), (long long)d[i]);
			k *= d[i];
		}
		if (k != nv)
			return fail(im, FEAT_E_FORMAT, "node '%s': %s of a constant whose %d values do not fill its shape",
				    n->name, opname(n), nv);
	}
	if (is_op(n, "Cast"))
		return fold_nd(im, n, v, nd, d);
	if (is_op(n, "Reshape")) {
		struct cval *s = const_in(im, n, 1, "shape");
		int64_t sh[FEAT_MAX_DIMS], k = 1;
		int ns, inf = -1;

		if (!s || (ns = tints(im, s, sh, FEAT_MAX_DIMS)) < 0)
			return FEAT_E_FORMAT;
		for (int i = 0; i < ns; i++) {
			if (sh[i] == 0 && attr_i(n, "allowzero", 0))
				return fail(im, FEAT_E_FORMAT, "node '%s': Reshape to an empty shape", n->name);
			if (sh[i] == 0 && i < nd)
				sh[i] = d[i];
			if (sh[i] == -1 && inf < 0)
				inf = i;
			else if (sh[i] < 1 || sh[i] > MAXV)
				return fail(im, FEAT_E_FORMAT, "node '%s': Reshape of a constant to dimension %lld",
					    n->name, (long long)sh[i]);
			else if ((k *= sh[i]) > MAXV)
				return fail(im, FEAT_E_FORMAT, "node '%s': Reshape of %d values to another count",
					    n->name, nv);
		}
		if (inf >= 0)
			sh[inf] = k ? nv / k : 0;
		if (k * (inf >= 0 ? sh[inf] : 1) != nv)
			return fail(im, FEAT_E_FORMAT, "node '%s': Reshape of %d values to another count",
				    n->name, nv);
		return fold_nd(im, n, v, ns, sh);
	}
	if (nd == 1)
		d[1] = 1;
	if (is_op(n, "Transpose")) {
		int64_t perm[FEAT_MAX_DIMS];
		int np = attr_ints(im, n, "perm", perm, FEAT_MAX_DIMS);

		if (np < 0)
			return np;
		if (np == 0 && nd == 2)
			perm[0] = 1, perm[1] = 0, np = 2;
		if (np != nd || (nd == 2 && !((perm[0] == 1 && perm[1] == 0) || (perm[0] == 0 && perm[1] == 1))) ||
		    (nd == 1 && perm[0] != 0))
			return fail(im, FEAT_E_FORMAT, "node '%s': Transpose of a constant by a bad perm", n->name);
		if (nd == 1 || perm[0] == 0)
			return fold_nd(im, n, v, nd, d);
		for (int64_t i = 0; i < d[0]; i++)
			for (int64_t j = 0; j < d[1]; j++)
				r[j * d[0] + i] = v[i * d[1] + j];
		od[0] = d[1], od[1] = d[0];
		return fold_nd(im, n, r, 2, od);
	}
	{
		/* Slice (opset 10 on): per axis, the indices it keeps */
		struct cval *cs, *ce, *ca = NULL, *cp = NULL;
		int64_t st[2], en[2], ax[2] = { 0, 1 }, sp[2] = { 1, 1 }, idx[2][MAXV], ni[2];
		int ns, nr = 0;

		if (im->opset < 10)
			return 1;
		cs = const_in(im, n, 1, "starts");
		ce = cs ? const_in(im, n, 2, "ends") : NULL;
		if (ce && n->nin > 3 && n->in[3][0] && !(ca = const_in(im, n, 3, "axes")))
			return FEAT_E_FORMAT;
		if (ce && n->nin > 4 && n->in[4][0] && !(cp = const_in(im, n, 4, "steps")))
			return FEAT_E_FORMAT;
		if (!cs || !ce)
			return FEAT_E_FORMAT;
		if ((ns = tints(im, cs, st, 2)) < 0 || tints(im, ce, en, 2) != ns ||
		    (ca && tints(im, ca, ax, 2) != ns) || (cp && tints(im, cp, sp, 2) != ns))
			return fail(im, FEAT_E_FORMAT, "node '%s': Slice of a constant with bad starts, ends, axes or steps",
				    n->name);
		for (int a = 0; a < 2; a++) {
			ni[a] = 0;
			for (int64_t i = 0; i < d[a]; i++)
				idx[a][ni[a]++] = i;
		}
		for (int i = 0; i < ns; i++) {
			int64_t a = ax[i] < 0 ? ax[i] + nd : ax[i], D, s, e, p = sp[i];

			if (a < 0 || a >= nd || !p)
				return fail(im, FEAT_E_FORMAT, "node '%s': Slice of a constant along axis %lld, step %lld",
					    n->name, (long long)ax[i], (long long)p);
			D = d[a];
			/* a step past the axis takes one index at most (and
			 * j += p cannot overflow) */
			if (p > D)
				p = D > 0 ? D : 1;
			else if (p < -D)
				p = D > 0 ? -D : -1;
			s = st[i] < 0 ? st[i] + D : st[i];
			e = en[i] < 0 ? (en[i] < -D - 1 ? -1 : en[i] + D) : en[i];
			ni[a] = 0;
			if (p > 0) {
				s = s < 0 ? 0 : s > D ? D : s;
				e = e < 0 ? 0 : e > D ? D : e;
				for (int64_t j = s; j < e; j += p)
					idx[a][ni[a]++] = j;
			} else {
				s = s < 0 ? -1 : s > D - 1 ? D - 1 : s;
				e = e < -1 ? -1 : e > D - 1 ? D - 1 : e;
				for (int64_t j = s; j > e; j += p)
					idx[a][ni[a]++] = j;
			}
		}
		for (int64_t i = 0; i < ni[0]; i++)
			for (int64_t j = 0; j < ni[1]; j++)
				r[nr++] = v[idx[0][i] * d[1] + idx[1][j]];
		od[0] = ni[0], od[1] = ni[1];
		return fold_nd(im, n, r, nd, od);
	}
}

/* 1: not handled here; else 0 or an error.  n's inputs may be replaced
 * (by the same values reshaped). */
static int tok_node(struct imp *im, struct node *n)
{
	int e;

	if ((e = int_tensor_node(im, n)) != 1)
		return e;

	if (is_op(n, "ConstantOfShape")) {
		struct cval *c = const_in(im, n, 0, "shape");
		int64_t d[FEAT_MAX_DIMS], r[MAXV];
		uint64_t cnt = 1;
		double v = 0;
		int nd, dt = 1;

		if (!c || (nd = tints(im, c, d, FEAT_MAX_DIMS)) < 0)
			return FEAT_E_FORMAT;
		for (int i = 0; i < nd; i++) {
			if (d[i] < 0 || d[i] > (1 << 24) || (cnt *= (uint64_t)d[i]) > (1 << 24))
				return fail(im, FEAT_E_FORMAT, "node '%s': ConstantOfShape of dimension %lld (the batch, or too large)",
					    n->name, (long long)d[i]);
		}
		if ((e = attr_scalar(im, n, "value", &v, &dt)) < 0)
			return e;
		if ((dt == 6 || dt == 7) && nd <= 1 && cnt <= MAXV) {
			for (uint64_t i = 0; i < cnt; i++)
				r[i] = (int64_t)v;
			return fold(im, n, r, (int)cnt);
		}
		{
			float *f = malloc((size_t)(cnt ? cnt : 1) * sizeof *f);

			if (!f)
				return FEAT_E_NOMEM;
			for (uint64_t i = 0; i < cnt; i++)
				f[i] = (float)v;
			e = make_const(im, n->out[0], nd, d, f, cnt);
			free(f);
			return e;
		}
	}
	if ((is_op(n, "Equal") || is_op(n, "Where")) && n->nin == (is_op(n, "Where") ? 3 : 2)) {
		int64_t v[3][MAXV], r[MAXV];
		int nv[3], nr = 1;

		for (int i = 0; i < n->nin; i++) {
			if (!is_int_const(im, n->in[i]))
				return fail(im, FEAT_E_FORMAT, "node '%s': %s of values not known at import",
					    n->name, opname(n));
			if ((nv[i] = tints(im, cfind(im, n->in[i]), v[i], MAXV)) < 0)
				return FEAT_E_FORMAT;
			nr = nv[i] > nr ? nv[i] : nr;
		}
		for (int i = 0; i < n->nin; i++)
			if (nv[i] != nr && nv[i] != 1)
				return fail(im, FEAT_E_FORMAT, "node '%s': %s of %d and %d values",
					    n->name, opname(n), nv[i], nr);
		for (int j = 0; j < nr; j++) {
			int64_t x = v[0][nv[0] > 1 ? j : 0], y = v[1][nv[1] > 1 ? j : 0];

			if (is_op(n, "Equal") && (x <= SYM_BASE + FEAT_MAX_DIMS || y <= SYM_BASE + FEAT_MAX_DIMS))
				return fail(im, FEAT_E_FORMAT, "node '%s': Equal on the batch size", n->name);
			r[j] = is_op(n, "Equal") ? x == y : x ? y : v[2][nv[2] > 1 ? j : 0];
		}
		return fold(im, n, r, nr);
	}
	if (is_op(n, "Expand") && n->nin == 2) {
		struct cval *sc = const_in(im, n, 1, "shape"), *c = cfind(im, n->in[0]);
		int64_t s[FEAT_MAX_DIMS], o[FEAT_MAX_DIMS];
		int ns, r;

		if (!sc || (ns = tints(im, sc, s, FEAT_MAX_DIMS)) < 0)
			return FEAT_E_FORMAT;
		if (c) {
			struct cval k = *c;
			uint64_t cnt, oc = 1;
			float *f, *g;

			if ((r = bcast(k.dims, k.ndim, s, ns, o)) < 0)
				return fail(im, FEAT_E_FORMAT, "node '%s': Expand of %s to a shape it does not broadcast to",
					    n->name, shape_str(im, &k));
			if (r == k.ndim && !memcmp(o, k.dims, sizeof(int64_t) * (size_t)r)) {
				if (!(c = cadd(im, n->out[0])))
					return FEAT_E_NOMEM;
				*c = k;
				c->name = n->out[0];
				return 0;
			}
			for (int i = 0; i < r; i++)
				if ((oc *= (uint64_t)o[i]) > (1 << 24))
					return fail(im, FEAT_E_FORMAT, "node '%s': Expand to over %d values",
						    n->name, 1 << 24);
			if (!(f = tfloats(im, &k, &cnt)))
				return FEAT_E_FORMAT;
			if (!(g = malloc((size_t)(oc ? oc : 1) * sizeof *g))) {
				free(f);
				return FEAT_E_NOMEM;
			}
			for (uint64_t j = 0; j < oc; j++) {
				uint64_t rem = j, at = 0, st = 1;

				for (int i = r - 1; i >= 0; i--) {
					int ki = i - (r - k.ndim);
					uint64_t q = rem % (uint64_t)o[i];

					rem /= (uint64_t)o[i];
					if (ki >= 0) {
						at += (k.dims[ki] == 1 ? 0 : q) * st;
						st *= (uint64_t)k.dims[ki];
					}
				}
				g[j] = f[at];
			}
			free(f);
			e = make_const(im, n->out[0], r, o, g, oc);
			free(g);
			return e;
		} else {
			struct vrank x = shape_of(im, n->in[0]);
			int xr = x.rank - x.lift;

			if (!x.known || (r = bcast(x.d + x.lift, xr, s, ns, o)) != xr ||
			    memcmp(o, x.d + x.lift, sizeof(int64_t) * (size_t)xr))
				return fail(im, FEAT_E_FORMAT, "node '%s': Expand of '%s' to a larger shape (only of constants)",
					    n->name, n->in[0]);
			return alias_of(im, n);
		}
	}
	if (is_op(n, "Shape")) {
		struct vrank x = shape_of(im, n->in[0]);
		int r = x.rank - x.lift;
		int64_t lo = attr_i(n, "start", 0), hi = attr_i(n, "end", r);

		if (!x.lift || !x.known)
			return 1;
		lo += lo < 0 ? r : 0;
		hi += hi < 0 ? r : 0;
		lo = lo < 0 ? 0 : lo > r ? r : lo;
		hi = hi < lo ? lo : hi > r ? r : hi;
		return fold(im, n, x.d + 1 + lo, (int)(hi - lo));
	}
	if (is_op(n, "Transpose")) {
		static int64_t ord[FEAT_MAX_DIMS], sh[FEAT_MAX_DIMS];
		int64_t perm[FEAT_MAX_DIMS], E[FEAT_MAX_DIMS] = { 0 };
		struct vrank x = shape_of(im, n->in[0]);
		const int64_t *D = x.d + x.lift;
		int r = x.rank - x.lift, cnt = attr_ints(im, n, "perm", perm, FEAT_MAX_DIMS);
		int last = -1, only1 = 1, lift;
		unsigned seen = 0;

		if (cnt < 0)
			return cnt;
		if (!x.known || cnt != r || r < 1)
			return x.lift ? fail(im, FEAT_E_FORMAT, "node '%s': Transpose of '%s' with %d axes in perm",
					     n->name, n->in[0], cnt) : 1;
		for (int i = 0; i < r; i++) {
			if (perm[i] < 0 || perm[i] >= r || (seen >> perm[i] & 1))
				return fail(im, FEAT_E_FORMAT, "node '%s': perm is not a permutation",
					    n->name);
			seen |= 1u << perm[i];
			E[i] = D[perm[i]];
			if (E[i] != 1) {
				only1 &= perm[i] > last;
				last = (int)perm[i];
			}
		}
		lift = E[0] != 1;
		if ((lift || x.lift) && (e = batch_one(im, n)))
			return e;
		if (lift && r + 1 > FEAT_MAX_DIMS)
			return fail(im, FEAT_E_FORMAT, "node '%s': Transpose of rank %d moves the batch",
				    n->name, r);
		if (only1) {
			/* only axes of size 1 move: the data stays as it is */
			struct feat_kv kv[1] = { KV_INTS("shape", sh, r + lift) };

			sh[0] = 0;
			for (int i = 1 - lift; i < r; i++)
				sh[i + lift] = E[i];
			im->olift = lift;
			return layer(im, "reshape", n, 1, n->in, 1, kv, 0, NULL);
		}
		if (!x.lift && perm[0] == 0)
			return 1;    /* the batch stays first: a plain permute */
		{
			const char *xl = as_lifted(im, n->in[0]);
			const char *t = lift ? n->out[0] : between(im, n, "perm");
			struct feat_kv kv[1] = { KV_INTS("order", ord, r + 1) };

			if (!xl || !t)
				return FEAT_E_FORMAT;
			ord[0] = 0;
			for (int i = 0; i < r; i++)
				ord[i + 1] = perm[i] + 1;
			im->olift = 1;
			if ((e = layer_as(im, "permute", lift ? n->name : t, t, 1, &xl, 1, kv, 0, NULL)))
				return e;
			if (lift)
				return 0;
			{
				struct feat_kv k2[1] = { KV_INTS("shape", sh, r) };

				sh[0] = 0;
				for (int i = 1; i < r; i++)
					sh[i] = E[i];
				im->olift = 0;
				return layer_as(im, "reshape", n->name, n->out[0], 1, &t, 1, k2, 0, NULL);
			}
		}
	}
	if (is_op(n, "Reshape") && n->nin >= 2) {
		static int64_t sh[FEAT_MAX_DIMS];
		int64_t v[FEAT_MAX_DIMS], E[FEAT_MAX_DIMS] = { 0 }, tot = 1, kn = 1;
		struct cval *s = const_in(im, n, 1, "shape");
		struct vrank x = shape_of(im, n->in[0]);
		const int64_t *D = x.d + x.lift;
		int r = x.rank - x.lift, cnt, inf = -1, lift;

		if (!s || (cnt = tints(im, s, v, FEAT_MAX_DIMS)) < 0)
			return FEAT_E_FORMAT;
		if (!cnt || (!x.lift && (v[0] == SYM_BASE || v[0] == 0 || v[0] == 1)))
			return 1;    /* the batch stays first */
		if (!x.known)
			return fail(im, FEAT_E_FORMAT, "node '%s': Reshape of '%s', whose shape is not known here",
				    n->name, n->in[0]);
		for (int i = 0; i < r; i++)
			tot *= D[i];
		for (int i = 0; i < cnt; i++) {
			if (v[i] <= SYM_BASE + FEAT_MAX_DIMS)
				return fail(im, FEAT_E_FORMAT, "node '%s': reshape moves the batch to axis %d",
					    n->name, i);
			if (v[i] == 0 && attr_i(n, "allowzero", 0))
				return fail(im, FEAT_E_FORMAT, "node '%s': Reshape to an empty shape", n->name);
			E[i] = v[i] == 0 ? (i < r ? D[i] : -2) : v[i];
			if (E[i] == -1 && inf < 0)
				inf = i;
			else if (E[i] < 1 || E[i] > (int64_t)1 << 31 ||
				 __builtin_mul_overflow(kn, E[i], &kn))
				return fail(im, FEAT_E_FORMAT, "node '%s': bad dimension %lld in the shape",
					    n->name, (long long)v[i]);
		}
		if (inf >= 0)
			E[inf] = kn && tot % kn == 0 ? tot / kn : -1;
		if (inf >= 0 ? E[inf] < 1 : kn != tot) {
			char b[16 * FEAT_MAX_DIMS + 4];
			size_t o = 0;

			for (int i = 0; i < cnt; i++)
				o += (size_t)snprintf(b + o, sizeof b - o, "%s%lld", i ? ", " : "",
						      (long long)v[i]);
			return fail(im, FEAT_E_FORMAT, "node '%s': Reshape of %lld values to [%s]",
				    n->name, (long long)tot, b);
		}
		lift = E[0] != 1;
		if ((e = batch_one(im, n)))
			return e;
		if (cnt + lift > FEAT_MAX_DIMS)
			return fail(im, FEAT_E_FORMAT, "node '%s': Reshape to %d axes with the batch",
				    n->name, cnt + 1);
		sh[0] = 0;
		for (int i = 1 - lift; i < cnt; i++)
			sh[i + lift] = E[i];
		{
			struct feat_kv kv[1] = { KV_INTS("shape", sh, cnt + lift) };

			im->olift = lift;
			return layer(im, "reshape", n, 1, n->in, 1, kv, 0, NULL);
		}
	}
	if (is_op(n, "Softmax")) {
		struct vrank x = shape_of(im, n->in[0]);
		int r = x.rank - x.lift;
		int64_t a = attr_i(n, "axis", im->opset >= 13 ? -1 : 1);

		if (!x.lift)
			return 1;
		a += a < 0 ? r : 0;
		if (a < 0 || a >= r || (im->opset < 13 && a != r - 1))
			return fail(im, FEAT_E_FORMAT, "node '%s': Softmax from axis %lld of '%s', which holds the batch inside its axes",
				    n->name, (long long)attr_i(n, "axis", 1), n->in[0]);
		{
			struct feat_kv kv[1] = { KV_INT("axis", a + 1) };

			return layer(im, "softmax", n, 1, n->in, 1, kv, 0, NULL);
		}
	}
	if (is_op(n, "Erf") || is_op(n, "Sqrt"))
		return unary_layer(im, n->name, n->out[0], n->in[0], is_op(n, "Erf") ? "erf" : "sqrt", 0);
	if (is_op(n, "Pow") && n->nin == 2) {
		double v;

		if (cfind(im, n->in[0]) || cscalar(im, n, 1, &v))
			return fail(im, FEAT_E_FORMAT, "node '%s': Pow with an exponent that is not one constant",
				    n->name);
		return unary_layer(im, n->name, n->out[0], n->in[0], "pow", v);
	}
	if (is_op(n, "LayerNormalization")) {
		struct vrank x = shape_of(im, n->in[0]);
		int r = x.rank - x.lift;
		int64_t a = attr_i(n, "axis", -1), inner = 1;
		struct cval *g = const_in(im, n, 1, "scale"), *b = NULL;
		uint32_t w[2];
		int nw = 0;

		if (!g)
			return FEAT_E_FORMAT;
		if (n->nin > 2 && n->in[2][0] && !(b = const_in(im, n, 2, "bias")))
			return FEAT_E_FORMAT;
		a += a < 0 ? r : 0;
		if (!x.known || a < 0 || a >= r || a + x.lift < 1)
			return fail(im, FEAT_E_FORMAT, "node '%s': LayerNormalization from axis %lld of '%s' (the batch, out of range or not known here)",
				    n->name, (long long)attr_i(n, "axis", -1), n->in[0]);
		for (int i = (int)a; i < r; i++)
			inner *= x.d[x.lift + i];
		if (tcount(g) != (uint64_t)inner || (b && tcount(b) != (uint64_t)inner))
			return fail(im, FEAT_E_FORMAT, "node '%s': LayerNormalization scale or bias of other than %lld values",
				    n->name, (long long)inner);
		if ((e = weight(im, g, 0)) < 0)
			return e;
		w[nw++] = (uint32_t)e;
		if (b) {
			if ((e = weight(im, b, 0)) < 0)
				return e;
			w[nw++] = (uint32_t)e;
		}
		{
			struct feat_kv kv[2] = { KV_INT("axis", a + x.lift),
						 KV_FLOAT("eps", attr_f(n, "epsilon", 1e-5)) };

			return layer(im, "layernorm", n, 1, n->in, 2, kv, (uint32_t)nw, w);
		}
	}
	if (is_op(n, "MatMul") && n->nin == 2) {
		struct cval *cb = cfind(im, n->in[1]);
		struct vrank x = shape_of(im, n->in[0]);

		if (cfind(im, n->in[0]))
			return fail(im, FEAT_E_FORMAT, "node '%s': MatMul of a constant by a value is not supported",
				    n->name);
		if (cb) {
			/* a Linear: the weight [K, M] on the last axis */
			uint32_t wi[1];
			struct feat_kv kv[1] = { KV_INT("axis", x.rank - 1) };

			if (cb->ndim != 2 || !x.known || x.rank - x.lift < 1 ||
			    x.d[x.rank - 1] != cb->dims[0])
				return fail(im, FEAT_E_FORMAT, "node '%s': MatMul of '%s' by a constant of shape %s",
					    n->name, n->in[0], shape_str(im, cb));
			if ((e = weight(im, cb, 1)) < 0)
				return e;
			wi[0] = (uint32_t)e;
			im->wd0 = cb->dims[1];
			return layer(im, "fc", n, 1, n->in, x.rank > 2, kv, 1, wi);
		}
		{
			struct vrank y = shape_of(im, n->in[1]);
			int ra = x.rank - x.lift, rb = y.rank - y.lift, R;
			const char *in[2] = { n->in[0], n->in[1] };

			if (!x.known || !y.known || ra < 2 || rb < 2)
				return fail(im, FEAT_E_FORMAT, "node '%s': MatMul of values of rank %d and %d (2 or more, shapes known here)",
					    n->name, ra, rb);
			R = x.rank > y.rank ? x.rank : y.rank;
			if (R < 3) {
				in[0] = as_lifted(im, in[0]);
				in[1] = in[0] ? as_lifted(im, in[1]) : NULL;
				R = 3;
			}
			if (!in[0] || !in[1] || !(in[0] = to_rank(im, in[0], R)) ||
			    !(in[1] = to_rank(im, in[1], R)))
				return FEAT_E_FORMAT;
			im->olift = R - (ra > rb ? ra : rb);
			return layer(im, "matmul", n, 2, in, 0, NULL, 0, NULL);
		}
	}
	if (is_op(n, "Gather") && n->nin == 2 && !cfind(im, n->in[0])) {
		struct cval *ix = const_in(im, n, 1, "indices");
		struct vrank x = shape_of(im, n->in[0]);
		int r = x.rank - x.lift, nb;
		int64_t b[MAXV], a = attr_i(n, "axis", 0), fa, i;

		if (!ix || (nb = tints(im, ix, b, MAXV)) < 0)
			return FEAT_E_FORMAT;
		a += a < 0 ? r : 0;
		if (!x.known || a < 0 || a >= r)
			return fail(im, FEAT_E_FORMAT, "node '%s': Gather along axis %lld of '%s' (out of range or not known here)",
				    n->name, (long long)attr_i(n, "axis", 0), n->in[0]);
		fa = a + x.lift;
		if (fa == 0 || nb != 1 || ix->ndim > 1)
			return fail(im, FEAT_E_FORMAT, "node '%s': Gather of %d indices along axis %lld (one index, along an axis after the batch)",
				    n->name, nb, (long long)a);
		i = b[0] < 0 ? b[0] + x.d[fa] : b[0];
		if (i < 0 || i >= x.d[fa])
			return fail(im, FEAT_E_FORMAT, "node '%s': index %lld out of range", n->name,
				    (long long)b[0]);
		{
			struct feat_kv kv[3] = { KV_INT("axis", fa), KV_INT("start", i),
						 KV_INT("end", i + 1) };
			const char *t = ix->ndim ? n->out[0] : between(im, n, "slice");
			int64_t d[FEAT_MAX_DIMS];
			int k = 0;

			if (!t || (e = layer_as(im, "slice", ix->ndim ? n->name : t, t, 1, n->in, 3, kv,
						0, NULL)))
				return t ? e : FEAT_E_NOMEM;
			if (ix->ndim)
				return 0;
			/* a scalar index drops the axis */
			for (int j = 1; j < x.rank; j++)
				if (j != fa)
					d[k++] = x.d[j];
			{
				static int64_t sh[FEAT_MAX_DIMS];
				struct feat_kv k2[1] = { KV_INTS("shape", sh, k + 1) };

				sh[0] = 0;
				memcpy(sh + 1, d, sizeof(int64_t) * (size_t)k);
				return layer_as(im, "reshape", n->name, n->out[0], 1, &t, 1, k2, 0, NULL);
			}
		}
	}
	if (is_op(n, "Concat")) {
		int nconst = 0, lifted = 0, R = 0, r = -1;
		const char *ref = NULL;
		int64_t a = attr_i(n, "axis", 1);

		for (int i = 0; i < n->nin; i++) {
			struct vrank v = shape_of(im, n->in[i]);

			if (cfind(im, n->in[i])) {
				nconst++;
				continue;
			}
			if (!ref)
				ref = n->in[i];
			lifted |= v.lift;
			R = v.rank > R ? v.rank : R;
			if (r < 0 || v.rank - v.lift > r)
				r = v.rank - v.lift;
		}
		if (!ref || (!nconst && !lifted))
			return 1;    /* constants only (shapes), or plain values */
		a += a < 0 ? r : 0;
		if (r < 1 || a < 0 || a >= r || R - r < 0 || R - r > 1 || (R == r && a == 0))
			return fail(im, FEAT_E_FORMAT, "node '%s': Concat along axis %lld of values of rank %d (along the batch, or ranks that differ)",
				    n->name, (long long)attr_i(n, "axis", 1), r);
		for (int i = 0; i < n->nin; i++) {
			struct cval *c = cfind(im, n->in[i]);

			if (!c) {
				if (!(n->in[i] = to_rank(im, n->in[i], R)))
					return FEAT_E_FORMAT;
				continue;
			}
			/* a constant: one layer that writes it for each image */
			if (c->ndim != r || (R == r && c->dims[0] != 1))
				return fail(im, FEAT_E_FORMAT, "node '%s': Concat of a constant of shape %s",
					    n->name, shape_str(im, c));
			{
				struct cval k = *c;
				int lift = R - r;
				char nm[32];
				const char *t;

				snprintf(nm, sizeof nm, "c%d", i);
				if (!(t = between(im, n, nm)))
					return FEAT_E_NOMEM;
				k.ndim = r - 1 + lift;
				memcpy(k.dims, c->dims + 1 - lift, sizeof(int64_t) * (size_t)k.ndim);
				k.weight = -1;
				if (!(k.name = vname(im, n->out[0], nm)))
					return FEAT_E_NOMEM;
				if ((e = weight(im, &k, 0)) < 0)
					return e;
				im->wnd = k.ndim;
				memcpy(im->wd, k.dims, sizeof(int64_t) * (size_t)k.ndim);
				im->olift = lift;
				{
					uint32_t w[1] = { (uint32_t)e };

					if ((e = layer_as(im, "const", t, t, 1, &ref, 0, NULL, 1, w)))
						return e;
				}
				n->in[i] = t;
			}
		}
		{
			struct feat_kv kv[1] = { KV_INT("axis", a + R - r) };

			im->olift = R - r;
			return layer(im, "concat", n, n->nin, n->in, 1, kv, 0, NULL);
		}
	}
	if ((is_op(n, "Add") || is_op(n, "Sub") || is_op(n, "Mul") || is_op(n, "Div") ||
	     is_op(n, "Max") || is_op(n, "Min")) && n->nin == 2 &&
	    (!cfind(im, n->in[0]) || !cfind(im, n->in[1]))) {
		/* ONNX's broadcasting aligns on the right: the value of fewer
		 * axes gets ones after the batch; the output is lifted when it
		 * has more axes than its ONNX shape */
		struct cval *c0 = cfind(im, n->in[0]), *c1 = cfind(im, n->in[1]);
		struct vrank x = shape_of(im, n->in[0]), y = shape_of(im, n->in[1]);
		int rx = c0 ? c0->ndim : x.rank - x.lift, ry = c1 ? c1->ndim : y.rank - y.lift, R;

		if (!c0 && !c1 && x.rank != y.rank && x.known && y.known) {
			R = x.rank > y.rank ? x.rank : y.rank;
			if (!(n->in[0] = to_rank(im, n->in[0], R)) ||
			    !(n->in[1] = to_rank(im, n->in[1], R)))
				return FEAT_E_FORMAT;
		} else {
			R = c0 ? y.rank : x.rank;
		}
		if (R - (rx > ry ? rx : ry) >= 0 && (x.lift || y.lift))
			im->olift = R - (rx > ry ? rx : ry);
		return 1;
	}
	return 1;
}

static int alias_of(struct imp *im, const struct node *n)
{
	if (im->nalias == 256)
		return fail(im, FEAT_E_FORMAT, "node '%s': cannot pass its input on", n->name);
	im->alias[im->nalias][0] = n->out[0];
	im->alias[im->nalias][1] = n->in[0];
	im->nalias++;
	return 0;
}

static int import_op(struct imp *im, const struct node *n)
{
	struct cval *c;
	int e;

	if (n->nout < 1)
		return fail(im, FEAT_E_FORMAT, "node '%s' has no output", n->name);
	if (n->nin < 1 && !is_op(n, "Constant"))
		return fail(im, FEAT_E_FORMAT, "node '%s' has no input", n->name);
	for (int i = 0; i < n->nin; i++)
		if (!n->in[i][0] && i == 0)
			return fail(im, FEAT_E_FORMAT, "node '%s': empty first input", n->name);

	/* values known at import: fold */
	if (is_op(n, "Constant")) {
		const struct attr *a = attr(n, "value");

		if (!a || !a->has_t)
			return fail(im, FEAT_E_FORMAT, "node '%s': Constant without a tensor value",
				    n->name);
		if (!(c = cadd(im, n->out[0])))
			return FEAT_E_NOMEM;
		e = parse_tensor(im, &a->t, c, 0);
		c->name = n->out[0];
		return e;
	}
	if (is_op(n, "Shape")) {
		/* the batch stays a symbol: a reshape copies it */
		int64_t v[FEAT_MAX_DIMS];
		struct vrank x = shape_of(im, n->in[0]);
		int64_t lo = attr_i(n, "start", 0), hi = attr_i(n, "end", x.rank);

		if (!x.known)
			return fail(im, FEAT_E_FORMAT,
				    "node '%s': Shape of '%s', whose shape is not known at import",
				    n->name, n->in[0]);
		lo += lo < 0 ? x.rank : 0;
		hi += hi < 0 ? x.rank : 0;
		lo = lo < 0 ? 0 : lo > x.rank ? x.rank : lo;
		hi = hi < lo ? lo : hi > x.rank ? x.rank : hi;
		for (int i = 0; i < x.rank; i++)
			v[i] = i ? x.d[i] : SYM_BASE;
		return fold(im, n, v + lo, (int)(hi - lo));
	}
	if ((e = more_node(im, n)) != 1)
		return e;
	if (is_op(n, "Gather") || is_op(n, "Unsqueeze") || is_op(n, "Squeeze") ||
	    is_op(n, "Cast") || (is_op(n, "Concat") && n->nin >= 1 && cfind(im, n->in[0]))) {
		int64_t a[MAXV], b[MAXV], r[MAXV];
		int na, nb, nr = 0;

		if (!(c = const_in(im, n, 0, "data")))
			return FEAT_E_FORMAT;
		if ((na = tints(im, c, a, MAXV)) < 0)
			return na;
		if (is_op(n, "Gather")) {
			struct cval *ix = const_in(im, n, 1, "indices");

			if (!ix || (nb = tints(im, ix, b, MAXV)) < 0)
				return FEAT_E_FORMAT;
			for (int i = 0; i < nb; i++) {
				int64_t j = b[i] < 0 ? b[i] + na : b[i];

				if (j < 0 || j >= na)
					return fail(im, FEAT_E_FORMAT, "node '%s': index out of range",
						    n->name);
				r[nr++] = a[j];
			}
			return fold(im, n, r, nr);
		}
		if (is_op(n, "Concat")) {
			memcpy(r, a, sizeof(int64_t) * (size_t)na);
			nr = na;
			for (int i = 1; i < n->nin; i++) {
				struct cval *ci = const_in(im, n, i, "a value known at import");

				if (!ci || (nb = tints(im, ci, b, MAXV - nr)) < 0)
					return FEAT_E_FORMAT;
				memcpy(r + nr, b, sizeof(int64_t) * (size_t)nb);
				nr += nb;
			}
			return fold(im, n, r, nr);
		}
		return fold(im, n, a, na);  /* Unsqueeze, Squeeze, Cast: same values */
	}
	if (is_op(n, "Identity") || is_op(n, "Dropout")) {
		if (n->nin < 1 || im->nalias == 256)
			return fail(im, FEAT_E_FORMAT, "node '%s': cannot pass its input on", n->name);
		im->alias[im->nalias][0] = n->out[0];
		im->alias[im->nalias][1] = n->in[0];
		im->nalias++;
		return 0;
	}

	if (is_op(n, "Conv")) {
		int64_t k[2], s[2] = { 1, 1 }, d[2] = { 1, 1 }, p[4] = { 0, 0, 0, 0 };
		static int64_t keepk[2], keeps[2], keepd[2], keepp[4];
		struct cval *w = const_in(im, n, 1, "weights"), *b = NULL;
		uint32_t wi[2];
		int nw = 1;

		if (!w)
			return FEAT_E_FORMAT;
		if (attr_ints(im, n, "kernel_shape", k, 2) != 2 && w->ndim == 4)
			k[0] = w->dims[2], k[1] = w->dims[3];
		if (attr_ints(im, n, "strides", s, 2) < 0 || attr_ints(im, n, "dilations", d, 2) < 0 ||
		    attr_ints(im, n, "pads", p, 4) < 0)
			return FEAT_E_FORMAT;
		{
			const struct attr *ap = attr(n, "auto_pad");

			if (ap && ap->has_s && !(ap->s.len == 6 && !memcmp(ap->s.data, "NOTSET", 6)) &&
			    !(ap->s.len == 5 && !memcmp(ap->s.data, "VALID", 5)))
				return fail(im, FEAT_E_FORMAT,
					    "node '%s': auto_pad %.*s is not supported (export with explicit pads)",
					    n->name, (int)ap->s.len, (const char *)ap->s.data);
		}
		if ((e = weight(im, w, 0)) < 0)
			return e;
		wi[0] = (uint32_t)e;
		if (n->nin > 2 && n->in[2][0]) {
			if (!(b = const_in(im, n, 2, "bias")) || (e = weight(im, b, 0)) < 0)
				return FEAT_E_FORMAT;
			if (tcount(b) != (uint64_t)w->dims[0])
				return fail(im, FEAT_E_FORMAT, "node '%s': Conv bias of shape %s for %lld output channels",
					    n->name, shape_str(im, b), (long long)w->dims[0]);
			wi[nw++] = (uint32_t)e;
		}
		im->wd0 = w->dims[0];
		memcpy(keepk, k, sizeof k), memcpy(keeps, s, sizeof s);
		memcpy(keepd, d, sizeof d), memcpy(keepp, p, sizeof p);
		{
			struct feat_kv kv[5] = {
				KV_INTS("kernel", keepk, 2), KV_INTS("stride", keeps, 2),
				KV_INTS("dilation", keepd, 2), KV_INTS("pad", keepp, 4),
				KV_INT("group", attr_i(n, "group", 1)),
			};

			return layer(im, "conv", n, 1, n->in, 5, kv, (uint32_t)nw, wi);
		}
	}
	if (is_op(n, "BatchNormalization")) {
		uint32_t wi[4];
		static const int order[4] = { 3, 4, 1, 2 };  /* mean, var, scale, bias */

		for (int i = 0; i < 4; i++) {
			struct cval *w = const_in(im, n, order[i], "batch norm parameter");

			if (!w || (e = weight(im, w, 0)) < 0)
				return FEAT_E_FORMAT;
			wi[i] = (uint32_t)e;
		}
		{
			struct feat_kv kv[1] = { KV_FLOAT("eps", attr_f(n, "epsilon", 1e-5)) };

			return layer(im, "bn", n, 1, n->in, 1, kv, 4, wi);
		}
	}
	if (is_op(n, "Relu"))
		return layer(im, "relu", n, 1, n->in, 0, NULL, 0, NULL);
	if (is_op(n, "Sigmoid"))
		return layer(im, "sigmoid", n, 1, n->in, 0, NULL, 0, NULL);
	if (is_op(n, "LeakyRelu")) {
		struct feat_kv kv[1] = { KV_FLOAT("alpha", attr_f(n, "alpha", 0.01)) };

		return layer(im, "leakyrelu", n, 1, n->in, 1, kv, 0, NULL);
	}
	if (is_op(n, "Clip")) {
		double lo = attr_f(n, "min", -INFINITY), hi = attr_f(n, "max", INFINITY);

		for (int i = 1; i < 3 && i < n->nin; i++) {
			struct cval *cv;
			float *f;
			uint64_t cnt;

			if (!n->in[i][0])
				continue;
			if (!(cv = const_in(im, n, i, i == 1 ? "min" : "max")) ||
			    !(f = tfloats(im, cv, &cnt)))
				return FEAT_E_FORMAT;
			if (cnt == 1)
				*(i == 1 ? &lo : &hi) = f[0];
			free(f);
			if (cnt != 1)
				return fail(im, FEAT_E_FORMAT, "node '%s': Clip %s of %llu values (one is needed)",
					    n->name, i == 1 ? "min" : "max", (unsigned long long)cnt);
		}
		if (lo == 0 && hi == 6)
			return layer(im, "relu6", n, 1, n->in, 0, NULL, 0, NULL);
		if (lo == 0 && isinf(hi))
			return layer(im, "relu", n, 1, n->in, 0, NULL, 0, NULL);
		if (isnan(lo) || isnan(hi) || lo > hi)
			return fail(im, FEAT_E_FORMAT, "node '%s': Clip to [%g, %g]", n->name, lo, hi);
		{
			struct feat_kv kv[2] = { KV_FLOAT("min", lo), KV_FLOAT("max", hi) };

			return layer(im, "clip", n, 1, n->in, 2, kv, 0, NULL);
		}
	}
	if (is_op(n, "MaxPool"))
		return pool(im, n, "max", 0);
	if (is_op(n, "AveragePool"))
		return pool(im, n, "avg", 0);
	if (is_op(n, "GlobalMaxPool"))
		return pool(im, n, "max", 1);
	if (is_op(n, "GlobalAveragePool"))
		return pool(im, n, "avg", 1);
	if (is_op(n, "Gemm")) {
		struct cval *w = const_in(im, n, 1, "weights"), *b = NULL;
		uint32_t wi[2];
		int nw = 1;

		if (!w || w->ndim != 2)
			return w ? fail(im, FEAT_E_FORMAT, "node '%s': Gemm weights must be 2-D", n->name)
				 : FEAT_E_FORMAT;
		if (attr_i(n, "transA", 0) || attr_f(n, "alpha", 1) != 1 || attr_f(n, "beta", 1) != 1)
			return fail(im, FEAT_E_FORMAT,
				    "node '%s': Gemm with transA or alpha/beta other than 1", n->name);
		if ((e = weight(im, w, !attr_i(n, "transB", 0))) < 0)
			return e;
		im->wd0 = attr_i(n, "transB", 0) ? w->dims[0] : w->dims[1];
		wi[0] = (uint32_t)e;
		if (n->nin > 2 && n->in[2][0]) {
			uint64_t cnt;

			if (!(b = const_in(im, n, 2, "bias")))
				return FEAT_E_FORMAT;
			cnt = tcount(b);
			if (cnt == (uint64_t)im->wd0 && (b->ndim < 2 || b->dims[0] == 1)) {
				if ((e = weight(im, b, 0)) < 0)
					return e;
			} else if (cnt == 1) {
				/* one value broadcast over the outputs */
				float *v = tfloats(im, b, &cnt), *all;
				uint32_t d[1] = { (uint32_t)im->wd0 };
				char nm[300];

				if (!v)
					return FEAT_E_FORMAT;
				all = malloc(sizeof(float) * (size_t)(im->wd0 ? im->wd0 : 1));
				for (int64_t i = 0; all && i < im->wd0; i++)
					all[i] = v[0];
				free(v);
				if (!all)
					return fail(im, FEAT_E_NOMEM, "out of memory");
				snprintf(nm, sizeof nm, "%s.bias", n->name);
				e = feat_mb_tensor(im->b, nm, FEAT_DT_F32, 1, d, all);
				free(all);
				if (e < 0)
					return fail(im, e, "node '%s': cannot store its bias", n->name);
			} else {
				return fail(im, FEAT_E_FORMAT, "node '%s': Gemm bias of shape %s for %lld outputs",
					    n->name, shape_str(im, b), (long long)im->wd0);
			}
			wi[nw++] = (uint32_t)e;
		}
		{
			/* lifted (attention's rows of tokens): on the last axis */
			int r = rank_of(im, n->in[0]);
			struct feat_kv kv[1] = { KV_INT("axis", r - 1) };

			return layer(im, "fc", n, 1, n->in, r > 2, kv, (uint32_t)nw, wi);
		}
	}
	if (is_op(n, "Flatten")) {
		int64_t axis = attr_i(n, "axis", 1);
		int r = rank_of(im, n->in[0]);

		if (axis < 0 && r < 0)
			return fail(im, FEAT_E_FORMAT, "node '%s': Flatten from axis %lld of a value of unknown rank",
				    n->name, (long long)axis);
		axis += axis < 0 ? r : 0;
		if (axis == 0 || (r >= 0 && axis >= r) || axis < 0)
			return fail(im, FEAT_E_FORMAT,
				    "node '%s': Flatten from axis %lld (axis 0 is the batch; featkit flattens from axes 1 to rank-1)",
				    n->name, (long long)attr_i(n, "axis", 1));
		{
			struct feat_kv kv[1] = { KV_INT("axis", axis) };

			return layer(im, "flatten", n, 1, n->in, 1, kv, 0, NULL);
		}
	}
	if (is_op(n, "Reshape")) {
		static int64_t v[MAXV];
		struct cval *s = const_in(im, n, 1, "shape");
		int cnt;

		if (!s || (cnt = tints(im, s, v, FEAT_MAX_DIMS)) < 0)
			return FEAT_E_FORMAT;
		for (int i = 0; i < cnt; i++)
			if (v[i] <= SYM_BASE + FEAT_MAX_DIMS && v[i] >= SYM_BASE) {
				if (v[i] - SYM_BASE != i)
					return fail(im, FEAT_E_FORMAT,
						    "node '%s': reshape moves dimension %lld of the input to %d",
						    n->name, (long long)(v[i] - SYM_BASE), i);
				v[i] = 0;  /* copy the input's dimension */
			}
		if (cnt && v[0] > 1)
			return fail(im, FEAT_E_FORMAT, "node '%s': reshape to a fixed batch of %lld",
				    n->name, (long long)v[0]);
		if (cnt)
			v[0] = 0;
		{
			struct feat_kv kv[1] = { KV_INTS("shape", v, cnt) };

			return layer(im, "reshape", n, 1, n->in, 1, kv, 0, NULL);
		}
	}
	if (is_op(n, "Transpose")) {
		static int64_t perm[FEAT_MAX_DIMS];
		int cnt = attr_ints(im, n, "perm", perm, FEAT_MAX_DIMS);
		struct feat_kv kv[1] = { KV_INTS("order", perm, cnt) };

		if (cnt <= 0)
			return fail(im, FEAT_E_FORMAT, "node '%s': Transpose without perm", n->name);
		return layer(im, "permute", n, 1, n->in, 1, kv, 0, NULL);
	}
	if (is_op(n, "Concat")) {
		struct feat_kv kv[1] = { KV_INT("axis", attr_i(n, "axis", 1)) };

		return layer(im, "concat", n, n->nin, n->in, 1, kv, 0, NULL);
	}
	if (is_op(n, "Softmax")) {
		int64_t axis = attr_i(n, "axis", im->opset >= 13 ? -1 : 1);
		struct feat_kv kv[1] = { KV_INT("axis", axis) };

		if (im->opset < 13) {
			/* softmax over everything from axis on: the same as over
			 * the last axis when axis is the last; else flatten from
			 * axis, softmax, and back */
			struct vrank x = shape_of(im, n->in[0]);

			if (x.rank > 0 && axis < 0)
				axis += x.rank;
			if (x.rank > 0 && axis == x.rank - 1)
				kv[0].v.u.i = -1;
			else if (!x.known || axis < 1 || axis >= x.rank)
				return fail(im, FEAT_E_FORMAT,
					    "node '%s': Softmax before opset 13 from axis %lld of a value whose shape is not known here",
					    n->name, (long long)axis);
			else
				return softmax_from(im, n, &x, axis);
		}
		return layer(im, "softmax", n, 1, n->in, 1, kv, 0, NULL);
	}
	if ((is_op(n, "Mul") || is_op(n, "Add")) && n->nin == 2 &&
	    (cfind(im, n->in[1]) || cfind(im, n->in[0]))) {
		/*
		 * Caffe's Scale: a constant that ONNX's broadcasting (shapes
		 * aligned on the right, or from `axis` before opset 7) spreads
		 * over everything but the channel axis: [C, 1, 1] or
		 * [1, C, 1, 1] on a 4-D value, [C] on a 2-D one, or one value.
		 * Any other constant would be taken per channel wrongly: refused.
		 */
		int ci = cfind(im, n->in[1]) ? 1 : 0;
		struct cval *k = cfind(im, n->in[ci]);
		const char *x = n->in[1 - ci];
		uint64_t cnt;
		float *v;
		uint32_t d[1], wi[2];
		int mul = is_op(n, "Mul"), r = rank_of(im, x), off = r - k->ndim;
		const char *why = NULL;
		char nm[300];
		float *one;

		if (im->opset < 7 && (attr(n, "broadcast") || attr(n, "axis"))) {
			if (!attr_i(n, "broadcast", 0) || ci == 0)
				why = "before opset 7, only broadcast=1 of the second input is supported";
			else if (attr(n, "axis"))
				off = (int)attr_i(n, "axis", 0) + (attr_i(n, "axis", 0) < 0 ? r : 0);
		}
		if (!why && r < 0)
			why = "the rank of its other input is not known here";
		if (!why && (off < 0 || off + k->ndim > r))
			why = "the constant has more axes than its input";
		for (int i = 0; !why && i < k->ndim; i++)
			if (k->dims[i] != 1 && off + i != 1)
				why = "the constant varies along another axis than the channels";
		if (why && r >= 0 && !(im->opset < 7 && (!attr_i(n, "broadcast", 0) || ci == 0)))
			return elt_const(im, n, k, x, ci, off, mul ? "mul" : "add");
		if (why)
			return fail(im, FEAT_E_FORMAT, "node '%s': %s by a constant of shape %s: %s",
				    n->name, mul ? "Mul" : "Add", shape_str(im, k), why);
		if (!(v = tfloats(im, k, &cnt)))
			return FEAT_E_FORMAT;
		d[0] = (uint32_t)cnt;
		one = malloc(sizeof(float) * (size_t)cnt);
		if (!one) {
			free(v);
			return FEAT_E_NOMEM;
		}
		for (uint64_t i = 0; i < cnt; i++)
			one[i] = mul ? 0.0f : 1.0f;
		snprintf(nm, sizeof nm, "%s.scale", n->name);
		e = feat_mb_tensor(im->b, nm, FEAT_DT_F32, 1, d, mul ? v : one);
		if (e >= 0) {
			wi[0] = (uint32_t)e;
			snprintf(nm, sizeof nm, "%s.bias", n->name);
			e = feat_mb_tensor(im->b, nm, FEAT_DT_F32, 1, d, mul ? one : v);
			wi[1] = (uint32_t)e;
		}
		free(v);
		free(one);
		if (e < 0)
			return fail(im, e, "node '%s': cannot store its constant", n->name);
		return layer(im, "scale", n, 1, &x, 0, NULL, 2, wi);
	}
	if (is_op(n, "Add") || is_op(n, "Sum")) {
		for (int i = 0; i < n->nin; i++)
			if (cfind(im, n->in[i]))
				return fail(im, FEAT_E_FORMAT,
					    "node '%s': %.*s with a constant input is not supported",
					    n->name, (int)n->oplen, (const char *)n->op);
		return layer(im, "add", n, n->nin, n->in, 0, NULL, 0, NULL);
	}
	return fail(im, FEAT_E_FORMAT, "node '%s': operator %.*s is not supported", n->name,
		    (int)n->oplen, (const char *)n->op);
}

/*
 * One node: a step of a LayerNorm or GELU, or else (the values of such
 * chains it reads imported first, lifted inputs made plain for operators
 * that need them so) an L2 normalisation's, an operator of the newer
 * exporters or of the first ones.
 */
static int import_node(struct imp *im, const struct node *n0)
{
	struct node *n;
	int e;

	im->olift = -1;
	if (is_op(n0, "Constant") || n0->nout < 1 || n0->nin < 1 || !n0->in[0][0])
		return import_op(im, n0);   /* or its refusal */
	if ((e = fuse_node(im, n0)) != 1)
		return e;
	if (!(n = malloc(sizeof *n)))
		return FEAT_E_NOMEM;
	*n = *n0;
	e = 1;
	for (int i = 0; i < n->nin && e == 1; i++) {
		struct fsym *s = n->in[i][0] ? fsfind(im, n->in[i]) : NULL;

		if (s && !(e = fs_make(im, s)))
			e = 1;
	}
	for (int i = 0; i < n->nin && e == 1 && !lift_aware(n); i++)
		if (n->in[i][0] && !cfind(im, n->in[i]) && shape_of(im, n->in[i]).lift &&
		    !(n->in[i] = to_plain(im, n, n->in[i])))
			e = FEAT_E_FORMAT;
	if (e == 1)
		e = norm_node(im, n);
	if (e == 1)
		e = tok_node(im, n);
	if (e == 1)
		e = import_op(im, n);
	im->olift = -1;
	free(n);
	return e;
}

static const char *resolve(const struct imp *im, const char *name)
{
	for (int i = im->nalias; i-- > 0;)
		if (!strcmp(im->alias[i][0], name))
			name = im->alias[i][1];
	return name;
}

static int parse_node(struct imp *im, const struct feat_pb_field *nf, struct node *n, int idx)
{
	struct feat_pb m = feat_pb_sub(nf);
	struct feat_pb_field f;
	char why[160];
	int e;

	memset(n, 0, sizeof *n);
	while ((e = feat_pb_next(&m, &f, why, sizeof why)) == 1) {
		if (f.wire != FEAT_PB_LEN)
			continue;
		if (f.num == 1 || f.num == 2) {
			const char *s = keep(im, f.data, f.len);

			if (!s)
				return FEAT_E_NOMEM;
			if (f.num == 1 && n->nin < 256)
				n->in[n->nin++] = s;
			else if (f.num == 2 && n->nout < 8)
				n->out[n->nout++] = s;
			else
				return fail(im, FEAT_E_FORMAT, "node %d: too many inputs or outputs", idx);
		} else if (f.num == 3) {
			if (!(n->name = keep(im, f.data, f.len)))
				return FEAT_E_NOMEM;
		} else if (f.num == 4) {
			n->op = f.data;
			n->oplen = f.len;
		} else if (f.num == 5) {
			struct attr *a;
			struct feat_pb am = feat_pb_sub(&f);
			struct feat_pb_field g;

			if (n->nattr == 24)
				return fail(im, FEAT_E_FORMAT, "node %d: too many attributes", idx);
			a = &n->attr[n->nattr++];
			memset(a, 0, sizeof *a);
			while ((e = feat_pb_next(&am, &g, why, sizeof why)) == 1) {
				switch (g.num) {
				case 1: a->name = (const char *)g.data; a->namelen = g.len; break;
				case 2: a->f = g; a->has_f = 1; break;
				case 3: a->i = g; a->has_i = 1; break;
				case 4: a->s = g; a->has_s = 1; break;
				case 5: a->t = g; a->has_t = 1; break;
				case 7: if (a->nfs < 8) a->fsl[a->nfs++] = g; break;
				case 8:
					if (a->nis == 8)
						return fail(im, FEAT_E_FORMAT, "node %d: attribute list too long", idx);
					a->isl[a->nis++] = g;
					break;
				}
			}
			if (e < 0)
				return fail(im, e, "node %d: attribute: %s", idx, why);
			if (!a->name)
				return fail(im, FEAT_E_FORMAT, "node %d: attribute without a name", idx);
		}
	}
	if (e < 0)
		return fail(im, e, "node %d: %s", idx, why);
	if (!n->op)
		return fail(im, FEAT_E_FORMAT, "node %d has no operator", idx);
	for (int i = 0; i < n->nin; i++)
		n->in[i] = resolve(im, n->in[i]);
	if (!n->name || !n->name[0]) {
		char nm[32];

		snprintf(nm, sizeof nm, "node%d", idx);
		if (!(n->name = keep(im, nm, strlen(nm))))
			return FEAT_E_NOMEM;
	}
	return 0;
}

/* ValueInfoProto: name (1), type (2) -> tensor_type (1) -> shape (2) ->
 * dim (1) -> dim_value (1). */
static int parse_value_info(struct imp *im, const struct feat_pb_field *vf, const char **name,
	int64_t *dims, int *rank)
{
	struct feat_pb m = feat_pb_sub(vf), t, tt, sh, d;
	struct feat_pb_field f, g, h, k, l;
	char why[128];

	*rank = 0;
	*name = NULL;
	while (feat_pb_next(&m, &f, why, sizeof why) == 1) {
		if (f.num == 1 && f.wire == FEAT_PB_LEN) {
			if (!(*name = keep(im, f.data, f.len)))
				return FEAT_E_NOMEM;
		} else if (f.num == 2 && f.wire == FEAT_PB_LEN) {
			t = feat_pb_sub(&f);
			while (feat_pb_next(&t, &g, why, sizeof why) == 1) {
				if (g.num != 1 || g.wire != FEAT_PB_LEN)
					continue;
				tt = feat_pb_sub(&g);
				while (feat_pb_next(&tt, &h, why, sizeof why) == 1) {
					if (h.num != 2 || h.wire != FEAT_PB_LEN)
						continue;
					sh = feat_pb_sub(&h);
					while (feat_pb_next(&sh, &k, why, sizeof why) == 1) {
						if (k.num != 1 || k.wire != FEAT_PB_LEN)
							continue;
						if (*rank == FEAT_MAX_DIMS)
							return fail(im, FEAT_E_FORMAT, "input of rank over %d",
								    FEAT_MAX_DIMS);
						dims[*rank] = -1;  /* symbolic */
						d = feat_pb_sub(&k);
						while (feat_pb_next(&d, &l, why, sizeof why) == 1)
							if (l.num == 1 && l.wire == FEAT_PB_VARINT)
								dims[*rank] = (int64_t)l.v;
						++*rank;
					}
				}
			}
		}
	}
	return *name ? 0 : fail(im, FEAT_E_FORMAT, "graph input without a name");
}

int feat_import_onnx(feat_model_builder *b, const void *data, size_t len, char *why,
	size_t whylen)
{
	struct imp im = { .b = b, .why = why, .whylen = whylen, .opset = 13, .olift = -1 };
	struct feat_pb m = feat_pb_view(data, len), g;
	struct feat_pb_field f, graph = { 0 }, h;
	const char *outs[16];
	int nouts = 0, e = 0, have_graph = 0, nnode = 0;
	char cause[160];

	while ((e = feat_pb_next(&m, &f, cause, sizeof cause)) == 1) {
		if (f.num == 7 && f.wire == FEAT_PB_LEN) {
			graph = f;
			have_graph = 1;
		} else if (f.num == 8 && f.wire == FEAT_PB_LEN) {
			struct feat_pb o = feat_pb_sub(&f);
			struct feat_pb_field x;
			int dom_default = 1;
			int64_t ver = 0;

			while (feat_pb_next(&o, &x, cause, sizeof cause) == 1) {
				if (x.num == 1 && x.wire == FEAT_PB_LEN && x.len)
					dom_default = x.len == 7 && !memcmp(x.data, "ai.onnx", 7);
				if (x.num == 2 && x.wire == FEAT_PB_VARINT)
					ver = (int64_t)x.v;
			}
			if (dom_default && ver > 0)
				im.opset = (int)ver;
		}
	}
	if (e < 0) {
		e = fail(&im, FEAT_E_FORMAT, "not an ONNX model: %s", cause);
		goto out;
	}
	if (!have_graph) {
		e = fail(&im, FEAT_E_FORMAT, "not an ONNX model: no graph");
		goto out;
	}
	/* pass 1: initializers and the graph's inputs and outputs */
	g = feat_pb_sub(&graph);
	while ((e = feat_pb_next(&g, &h, cause, sizeof cause)) == 1) {
		if (h.wire != FEAT_PB_LEN)
			continue;
		if (h.num == 5) {
			struct cval *c = cadd(&im, "");

			if (!c) {
				e = FEAT_E_NOMEM;
				goto out;
			}
			if ((e = parse_tensor(&im, &h, c, 1)))
				goto out;
			if (!c->name || !c->name[0]) {
				e = fail(&im, FEAT_E_FORMAT, "initializer without a name");
				goto out;
			}
		} else if (h.num == 12) {
			const char *name;
			int64_t dims[FEAT_MAX_DIMS];
			int rank;

			if ((e = parse_value_info(&im, &h, &name, dims, &rank)))
				goto out;
			if (nouts == 16) {
				e = fail(&im, FEAT_E_FORMAT, "more than 16 graph outputs");
				goto out;
			}
			outs[nouts++] = name;
		} else if (h.num == 1) {
			nnode++;
		}
	}
	if (e < 0) {
		e = fail(&im, FEAT_E_FORMAT, "graph: %s", cause);
		goto out;
	}
	g = feat_pb_sub(&graph);
	while (feat_pb_next(&g, &h, cause, sizeof cause) == 1) {
		const char *name;
		int64_t dims[FEAT_MAX_DIMS];
		int rank;

		if (h.num != 11 || h.wire != FEAT_PB_LEN)
			continue;
		if ((e = parse_value_info(&im, &h, &name, dims, &rank)))
			goto out;
		if (cfind(&im, name))
			continue;  /* an initializer listed as an input (old exporters) */
		if (im.input) {
			e = fail(&im, FEAT_E_FORMAT, "graph inputs '%s' and '%s': one image input is supported",
				 im.input, name);
			goto out;
		}
		im.input = name;
		im.inrank = rank;
		memcpy(im.inshape, dims, sizeof dims);
	}
	if (!im.input || im.inrank < 2) {
		e = fail(&im, FEAT_E_FORMAT, "no image input of shape [N, C, H, W] in the graph");
		goto out;
	}
	for (int i = 1; i < im.inrank; i++)
		if (im.inshape[i] < 1) {
			e = fail(&im, FEAT_E_FORMAT,
				 "input '%s': dimension %d is not fixed (export with a fixed input size)",
				 im.input, i);
			goto out;
		}
	{
		int64_t shp[FEAT_MAX_DIMS];

		for (int i = 1; i < im.inrank; i++)
			shp[i - 1] = im.inshape[i];
		if ((e = feat_mb_meta(b, "graph.inputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = &im.input })) ||
		    (e = feat_mb_meta(b, "input.shape", &(struct feat_value){ .type = FEAT_V_INTS, .n = (uint32_t)(im.inrank - 1), .u.ints = shp })))
			goto out;
	}
	/* pass 2: the nodes, in the file's (topological) order */
	g = feat_pb_sub(&graph);
	nnode = 0;
	while (feat_pb_next(&g, &h, cause, sizeof cause) == 1) {
		struct node n;

		if (h.num != 1 || h.wire != FEAT_PB_LEN)
			continue;
		if ((e = parse_node(&im, &h, &n, nnode++)) || (e = import_node(&im, &n)))
			goto out;
	}
	if (!im.nlayer) {
		e = fail(&im, FEAT_E_FORMAT, "the graph has no layers featkit can run");
		goto out;
	}
	for (int i = 0; i < nouts; i++) {
		struct fsym *s;

		outs[i] = resolve(&im, outs[i]);
		if ((s = fsfind(&im, outs[i])) && (e = fs_make(&im, s)))
			goto out;
		if (!strcmp(outs[i], im.input)) {
			/* featmodel(5): every graph output is written by a layer */
			e = fail(&im, FEAT_E_FORMAT, "graph output %d is the graph input '%s': no layer computes it",
				 i, im.input);
			goto out;
		}
	}
	e = feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = (uint32_t)nouts, .u.strs = outs });
out:
	for (size_t i = 0; i < im.nstr; i++)
		free(im.strings[i]);
	free(im.strings);
	free(im.cv);
	free(im.rk);
	for (size_t i = 0; i < im.nfs; i++) {
		free(im.fs[i].node);
	}
	free(im.fs);
	return e < 0 ? e : 0;
}
