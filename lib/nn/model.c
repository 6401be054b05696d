/*
 * model.c - loading and writing featmodel files (man/man5/featmodel.5).
 *
 * The loader maps the file and parses its three tables (metadata, layers,
 * tensor directory) with a bounded cursor: every integer, string and array
 * is read only after checking that the bytes are there, and every count is
 * checked against the bytes left before anything is allocated for it, so
 * memory stays proportional to the file's real size whatever its fields
 * say.  Weights are not copied: the tensor table points into the mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"
#include "nn/model.h"

_Static_assert(sizeof(FEAT_MODEL_MAGIC) - 1 == 8, "model magic is 8 bytes");

/* ------------------------------------------------------------- arena */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

static void *arena_alloc(void **arena, size_t n)
{
	struct chunk *c = *arena;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		struct chunk *nc = malloc(sizeof *nc + cap);

		if (!nc)
			return NULL;
		nc->next = c;
		nc->used = 0;
		nc->cap = cap;
		*arena = c = nc;
	}
	c->used += n;
	return (char *)c->data + c->used - n;
}

static void arena_free(void *arena)
{
	for (struct chunk *c = arena, *n; c; c = n) {
		n = c->next;
		free(c);
	}
}

/* ------------------------------------------------------------ cursor */

struct cur {
	const unsigned char *p, *end;
	void **arena;
	const char *where;     /* "metadata", "layer 12 'conv1'" ... */
	char *why;
	size_t whylen;
};

static int cur_fail(struct cur *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cur_fail(struct cur *c, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	feat_fmt(c->why, c->whylen, "%s: %s", c->where, msg);
	return err;
}

static size_t left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

static int get_u32(struct cur *c, uint32_t *v, const char *field)
{
	if (left(c) < 4)
		return cur_fail(c, FEAT_E_TRUNCATED, "%s cut short", field);
	*v = feat_rd32(c->p);
	c->p += 4;
	return 0;
}

static int get_u64(struct cur *c, uint64_t *v, const char *field)
{
	if (left(c) < 8)
		return cur_fail(c, FEAT_E_TRUNCATED, "%s cut short", field);
	*v = feat_rd64(c->p);
	c->p += 8;
	return 0;
}

/* A count of items each at least min bytes long must fit in what is left. */
static int get_count(struct cur *c, uint32_t *n, size_t min, const char *field)
{
	int e = get_u32(c, n, field);

	if (!e && (uint64_t)*n * min > left(c))
		return cur_fail(c, FEAT_E_CORRUPT,
				"%s of %u needs at least %llu bytes, %zu left", field,
				*n, (unsigned long long)*n * min, left(c));
	return e;
}

static int get_str(struct cur *c, const char **s, const char *field)
{
	uint32_t n;
	char *d;
	int e = get_u32(c, &n, field);

	if (e)
		return e;
	if (n > FEAT_MODEL_STR_MAX || n > left(c))
		return cur_fail(c, FEAT_E_CORRUPT, "%s: string of %u bytes (%zu left, at most %d)",
				field, n, left(c), FEAT_MODEL_STR_MAX);
	if (memchr(c->p, 0, n))
		return cur_fail(c, FEAT_E_CORRUPT, "%s: NUL inside a string", field);
	if (!(d = arena_alloc(c->arena, n + 1)))
		return FEAT_E_NOMEM;
	memcpy(d, c->p, n);
	d[n] = 0;
	c->p += n;
	*s = d;
	return 0;
}

static int get_value(struct cur *c, struct feat_value *v, const char *key)
{
	uint32_t t, n;
	int e;

	if ((e = get_u32(c, &t, key)))
		return e;
	v->type = (int)t;
	v->n = 1;
	switch (t) {
	case FEAT_V_INT:
	case FEAT_V_FLOAT: {
		uint64_t x;

		if ((e = get_u64(c, &x, key)))
			return e;
		if (t == FEAT_V_INT)
			v->u.i = (int64_t)x;
		else
			memcpy(&v->u.f, &x, 8);
		return 0;
	}
	case FEAT_V_STR:
		return get_str(c, &v->u.s, key);
	case FEAT_V_INTS:
	case FEAT_V_FLOATS: {
		uint64_t *a;

		if ((e = get_count(c, &n, 8, key)))
			return e;
		if (n > FEAT_MODEL_ARRAY_MAX)
			return cur_fail(c, FEAT_E_CORRUPT, "%s: array of %u items", key, n);
		if (!(a = arena_alloc(c->arena, (size_t)n * 8 + 8)))
			return FEAT_E_NOMEM;
		for (uint32_t i = 0; i < n; i++, c->p += 8)
			a[i] = feat_rd64(c->p);
		v->n = n;
		if (t == FEAT_V_INTS)
			v->u.ints = (const int64_t *)a;
		else
			v->u.floats = (const double *)a;
		return 0;
	}
	case FEAT_V_STRS: {
		const char **a;

		if ((e = get_count(c, &n, 4, key)))
			return e;
		if (n > FEAT_MODEL_ARRAY_MAX)
			return cur_fail(c, FEAT_E_CORRUPT, "%s: array of %u items", key, n);
		if (!(a = arena_alloc(c->arena, (size_t)n * sizeof *a + 8)))
			return FEAT_E_NOMEM;
		for (uint32_t i = 0; i < n; i++)
			if ((e = get_str(c, &a[i], key)))
				return e;
		v->n = n;
		v->u.strs = a;
		return 0;
	}
	}
	return cur_fail(c, FEAT_E_CORRUPT, "%s: unknown value type %u", key, t);
}

static int get_kvs(struct cur *c, uint32_t *n, struct feat_kv **kv,
	const char *field)
{
	int e = get_count(c, n, 12, field);  /* key length, type, >= 4 bytes */

	if (e)
		return e;
	if (!(*kv = arena_alloc(c->arena, (size_t)*n * sizeof **kv + 8)))
		return FEAT_E_NOMEM;
	for (uint32_t i = 0; i < *n; i++) {
		if ((e = get_str(c, &(*kv)[i].key, field)))
			return e;
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp((*kv)[j].key, (*kv)[i].key))
				return cur_fail(c, FEAT_E_CORRUPT, "key '%s' appears twice",
						(*kv)[i].key);
		if ((e = get_value(c, &(*kv)[i].v, (*kv)[i].key)))
			return e;
	}
	return 0;
}

static int get_strs(struct cur *c, uint32_t *n, const char ***s,
	const char *field)
{
	int e = get_count(c, n, 4, field);

	if (e)
		return e;
	if (!(*s = arena_alloc(c->arena, (size_t)*n * sizeof **s + 8)))
		return FEAT_E_NOMEM;
	for (uint32_t i = 0; i < *n; i++)
		if ((e = get_str(c, &(*s)[i], field)))
			return e;
	return 0;
}

/* ------------------------------------------------------------ loading */

const struct feat_value *feat_kv_find(const struct feat_kv *kv, uint32_t n,
	const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return &kv[i].v;
	return NULL;
}

const struct feat_value *feat_model_meta(const struct feat_model *m,
	const char *key)
{
	return feat_kv_find(m->meta, m->nmeta, key);
}

int feat_model_tensor_find(const struct feat_model *m, const char *name)
{
	for (uint32_t i = 0; i < m->ntensor; i++)
		if (!strcmp(m->tensor[i].name, name))
			return (int)i;
	return FEAT_E_NOTFOUND;
}

/* A string set for the graph checks: open addressing, sized from counts
 * that were already checked against the file. */
struct sset {
	const char **slot;
	size_t mask;
};

static uint64_t strhash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int sset_init(struct sset *s, size_t n, void **arena)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	s->mask = cap - 1;
	s->slot = arena_alloc(arena, cap * sizeof *s->slot);
	if (!s->slot)
		return FEAT_E_NOMEM;
	memset(s->slot, 0, cap * sizeof *s->slot);
	return 0;
}

/* Returns 1 if present; inserts when add. */
static int sset_has(struct sset *s, const char *k, int add)
{
	size_t i = (size_t)strhash(k) & s->mask;

	while (s->slot[i]) {
		if (!strcmp(s->slot[i], k))
			return 1;
		i = (i + 1) & s->mask;
	}
	if (add)
		s->slot[i] = k;
	return 0;
}

static int check_graph(struct feat_model *m, struct cur *c)
{
	const struct feat_value *in = feat_model_meta(m, "graph.inputs");
	const struct feat_value *out = feat_model_meta(m, "graph.outputs");
	size_t nblob = 0;
	struct sset blobs, written;
	int e;

	c->where = "graph";
	if (!in || in->type != FEAT_V_STRS || !in->n)
		return cur_fail(c, FEAT_E_CORRUPT,
				"metadata 'graph.inputs' (a list of blob names) is missing");
	if (!out || out->type != FEAT_V_STRS || !out->n)
		return cur_fail(c, FEAT_E_CORRUPT,
				"metadata 'graph.outputs' (a list of blob names) is missing");
	nblob = in->n;
	for (uint32_t i = 0; i < m->nlayer; i++)
		nblob += m->layer[i].nout;
	if ((e = sset_init(&blobs, nblob, c->arena)) || (e = sset_init(&written, nblob, c->arena)))
		return e;
	for (uint32_t i = 0; i < in->n; i++)
		if (sset_has(&blobs, in->u.strs[i], 1))
			return cur_fail(c, FEAT_E_CORRUPT, "input '%s' listed twice",
					in->u.strs[i]);
	for (uint32_t i = 0; i < m->nlayer; i++) {
		const struct feat_mlayer *l = &m->layer[i];

		for (uint32_t j = 0; j < l->nin; j++)
			if (!sset_has(&blobs, l->in[j], 0))
				return cur_fail(c, FEAT_E_CORRUPT,
						"layer %u '%s' reads blob '%s' that no earlier layer writes",
						i, l->name, l->in[j]);
		for (uint32_t j = 0; j < l->nout; j++) {
			if (sset_has(&blobs, l->out[j], 1) &&
			    !(l->nin && !strcmp(l->in[0], l->out[j])))
				return cur_fail(c, FEAT_E_CORRUPT,
						"layer %u '%s' writes blob '%s' a second time",
						i, l->name, l->out[j]);
			sset_has(&written, l->out[j], 1);
		}
	}
	/* by a layer: a graph input passed through as an output is not */
	for (uint32_t i = 0; i < out->n; i++)
		if (!sset_has(&written, out->u.strs[i], 0))
			return cur_fail(c, FEAT_E_CORRUPT, "output '%s' is not written by any layer%s",
					out->u.strs[i],
					sset_has(&blobs, out->u.strs[i], 0) ? " (it is a graph input)" : "");
	return 0;
}

int feat_model_parse(struct feat_model *m, const void *buf, size_t len,
	char *why, size_t whylen)
{
	const unsigned char *b = buf;
	uint64_t off[4];
	uint32_t hsize;
	struct cur c = { .why = why, .whylen = whylen, .where = "header" };
	int e;

	memset(m, 0, sizeof *m);
	c.arena = &m->arena;
	if (len < FEAT_MODEL_HDR || memcmp(b, FEAT_MODEL_MAGIC, 8)) {
		feat_fmt(why, whylen, len < 8 ? "file too short to be a featmodel"
					       : "not a featmodel file (bad magic)");
		return len < FEAT_MODEL_HDR && len >= 8 && !memcmp(b, FEAT_MODEL_MAGIC, 8)
			       ? FEAT_E_TRUNCATED
			       : FEAT_E_FORMAT;
	}
	m->major = feat_rd16(b + 8);
	m->minor = feat_rd16(b + 10);
	hsize = feat_rd32(b + 12);
	if (m->major != FEAT_MODEL_MAJOR) {
		feat_fmt(why, whylen, "featmodel version %u.%u; this build reads %d.x",
			 m->major, m->minor, FEAT_MODEL_MAJOR);
		return FEAT_E_VERSION;
	}
	m->nmeta = feat_rd32(b + 16);
	m->nlayer = feat_rd32(b + 20);
	m->ntensor = feat_rd32(b + 24);
	for (int i = 0; i < 4; i++)
		off[i] = feat_rd64(b + 32 + 8 * i);
	if (hsize < FEAT_MODEL_HDR || off[0] < hsize || off[0] > off[1] ||
	    off[1] > off[2] || off[2] > off[3] || off[3] > len ||
	    off[3] % FEAT_ALIGN) {
		feat_fmt(why, whylen,
			 "header: section offsets %llu, %llu, %llu, %llu are out of order, "
			 "misaligned or past the end of the file (%zu bytes)",
			 (unsigned long long)off[0], (unsigned long long)off[1],
			 (unsigned long long)off[2], (unsigned long long)off[3], len);
		return FEAT_E_CORRUPT;
	}

	/* tensor directory first: layers refer to it */
	c.p = b + off[2];
	c.end = b + off[3];
	c.where = "tensor directory";
	/* the smallest entry: an empty name (4), dtype, rank 0, offset, size */
	if ((uint64_t)m->ntensor * 28 > (uint64_t)(off[3] - off[2])) {
		e = cur_fail(&c, FEAT_E_CORRUPT, "%u tensors cannot fit in %llu bytes",
			     m->ntensor, (unsigned long long)(off[3] - off[2]));
		goto fail;
	}
	m->tensor = arena_alloc(&m->arena, (size_t)m->ntensor * sizeof *m->tensor + 8);
	if (!m->tensor) {
		e = FEAT_E_NOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < m->ntensor; i++) {
		struct feat_mtensor *t = &m->tensor[i];
		uint32_t dtype, ndim;
		uint64_t o, nb;
		size_t want;

		if ((e = get_str(&c, &t->name, "name")) ||
		    (e = get_u32(&c, &dtype, "dtype")) ||
		    (e = get_u32(&c, &ndim, "rank")))
			goto fail;
		if (!feat_dtype_name((int)dtype) || ndim > FEAT_MAX_DIMS) {
			e = cur_fail(&c, FEAT_E_CORRUPT, "tensor %u '%s': dtype %u or rank %u",
				     i, t->name, dtype, ndim);
			goto fail;
		}
		t->dtype = (int)dtype;
		t->ndim = (int)ndim;
		for (uint32_t d = 0; d < ndim; d++)
			if ((e = get_u32(&c, &t->dims[d], "dims")))
				goto fail;
		if ((e = get_u64(&c, &o, "offset")) || (e = get_u64(&c, &nb, "size")))
			goto fail;
		if (feat_shape_bytes(t->dtype, t->ndim, t->dims, &want) || want != nb) {
			e = cur_fail(&c, FEAT_E_CORRUPT,
				     "tensor %u '%s': %llu bytes do not match its shape",
				     i, t->name, (unsigned long long)nb);
			goto fail;
		}
		if (o % FEAT_ALIGN || o > len - off[3] || nb > len - off[3] - o) {
			e = cur_fail(&c, FEAT_E_CORRUPT,
				     "tensor %u '%s': data at %llu+%llu is misaligned or past the end of the file",
				     i, t->name, (unsigned long long)o,
				     (unsigned long long)nb);
			goto fail;
		}
		t->nbytes = (size_t)nb;
		t->data = b + off[3] + o;
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(m->tensor[j].name, t->name)) {
				e = cur_fail(&c, FEAT_E_CORRUPT, "tensor name '%s' appears twice",
					     t->name);
				goto fail;
			}
	}

	c.p = b + off[0];
	c.end = b + off[1];
	c.where = "metadata";
	if ((uint64_t)m->nmeta * 12 > (uint64_t)(off[1] - off[0])) {
		e = cur_fail(&c, FEAT_E_CORRUPT, "%u entries cannot fit in %llu bytes",
			     m->nmeta, (unsigned long long)(off[1] - off[0]));
		goto fail;
	}
	m->meta = arena_alloc(&m->arena, (size_t)m->nmeta * sizeof *m->meta + 8);
	if (!m->meta) {
		e = FEAT_E_NOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < m->nmeta; i++) {
		if ((e = get_str(&c, &m->meta[i].key, "key")))
			goto fail;
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(m->meta[j].key, m->meta[i].key)) {
				e = cur_fail(&c, FEAT_E_CORRUPT, "key '%s' appears twice",
					     m->meta[i].key);
				goto fail;
			}
		if ((e = get_value(&c, &m->meta[i].v, m->meta[i].key)))
			goto fail;
	}

	c.p = b + off[1];
	c.end = b + off[2];
	c.where = "layers";
	if ((uint64_t)m->nlayer * 24 > (uint64_t)(off[2] - off[1])) {
		e = cur_fail(&c, FEAT_E_CORRUPT, "%u layers cannot fit in %llu bytes",
			     m->nlayer, (unsigned long long)(off[2] - off[1]));
		goto fail;
	}
	m->layer = arena_alloc(&m->arena, (size_t)m->nlayer * sizeof *m->layer + 8);
	if (!m->layer) {
		e = FEAT_E_NOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < m->nlayer; i++) {
		struct feat_mlayer *l = &m->layer[i];
		char where[96];

		memset(l, 0, sizeof *l);
		feat_fmt(where, sizeof where, "layer %u", i);
		c.where = where;
		if ((e = get_str(&c, &l->type, "type")) ||
		    (e = get_str(&c, &l->name, "name")))
			goto fail;
		feat_fmt(where, sizeof where, "layer %u '%.60s'", i, l->name);
		if ((e = get_strs(&c, &l->nin, &l->in, "inputs")) ||
		    (e = get_strs(&c, &l->nout, &l->out, "outputs")) ||
		    (e = get_kvs(&c, &l->nparam, &l->param, "parameters")) ||
		    (e = get_count(&c, &l->nweight, 4, "weights")))
			goto fail;
		l->weight = arena_alloc(&m->arena, (size_t)l->nweight * 4 + 8);
		if (!l->weight) {
			e = FEAT_E_NOMEM;
			goto fail;
		}
		for (uint32_t j = 0; j < l->nweight; j++) {
			if ((e = get_u32(&c, &l->weight[j], "weight")))
				goto fail;
			if (l->weight[j] >= m->ntensor) {
				e = cur_fail(&c, FEAT_E_CORRUPT,
					     "weight %u refers to tensor %u of %u", j,
					     l->weight[j], m->ntensor);
				goto fail;
			}
		}
		if (!l->nout) {
			e = cur_fail(&c, FEAT_E_CORRUPT, "no outputs");
			goto fail;
		}
	}
	if ((e = check_graph(m, &c)))
		goto fail;
	return 0;
fail:
	arena_free(m->arena);
	memset(m, 0, sizeof *m);
	return e;
}

int feat_model_load(struct feat_model *m, const char *path, char *why,
	size_t whylen)
{
	struct feat_mapped f;
	char d[384];
	int e;

	memset(m, 0, sizeof *m);
	if ((e = feat_map_file(&f, path, FEAT_MAP_REGULAR, d, sizeof d))) {
		feat_fmt(why, whylen, "%s: %s", path, d);
		return e;
	}
	if (f.len < FEAT_MODEL_HDR) {
		feat_fmt(why, whylen, "%s: %zu bytes is too short to be a featmodel",
			 path, f.len);
		feat_unmap(&f);
		return FEAT_E_FORMAT;
	}
	if ((e = feat_model_parse(m, f.data, f.len, d, sizeof d))) {
		feat_fmt(why, whylen, "%s: %s", path, d);
		feat_unmap(&f);
		return e;
	}
	m->file = f;             /* feat_model_free unmaps it */
	return 0;
}

void feat_model_free(struct feat_model *m)
{
	feat_unmap(&m->file);
	arena_free(m->arena);
	memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ writing */

/* A growing byte buffer. */
struct bytes {
	unsigned char *p;
	size_t n, cap;
	int err;
};

static void put(struct bytes *b, const void *p, size_t n)
{
	if (b->err || !n)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *q;

		while (cap < b->n + n)
			cap *= 2;
		if (!(q = realloc(b->p, cap))) {
			b->err = FEAT_E_NOMEM;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put32(struct bytes *b, uint32_t v)
{
	unsigned char x[4];

	feat_wr32(x, v);
	put(b, x, 4);
}

static void put64(struct bytes *b, uint64_t v)
{
	unsigned char x[8];

	feat_wr64(x, v);
	put(b, x, 8);
}

static void putstr(struct bytes *b, const char *s)
{
	size_t n;

	if (!s) {
		b->err = FEAT_E_INVAL;
		return;
	}
	n = strlen(s);
	if (n > FEAT_MODEL_STR_MAX) {
		b->err = FEAT_E_TOOBIG;
		return;
	}
	put32(b, (uint32_t)n);
	put(b, s, n);
}

static void putvalue(struct bytes *b, const struct feat_value *v)
{
	put32(b, (uint32_t)v->type);
	switch (v->type) {
	case FEAT_V_INT:
		put64(b, (uint64_t)v->u.i);
		break;
	case FEAT_V_FLOAT: {
		uint64_t x;

		memcpy(&x, &v->u.f, 8);
		put64(b, x);
		break;
	}
	case FEAT_V_STR:
		putstr(b, v->u.s);
		break;
	case FEAT_V_INTS:
		put32(b, v->n);
		for (uint32_t i = 0; i < v->n; i++)
			put64(b, (uint64_t)v->u.ints[i]);
		break;
	case FEAT_V_FLOATS:
		put32(b, v->n);
		for (uint32_t i = 0; i < v->n; i++) {
			uint64_t x;

			memcpy(&x, &v->u.floats[i], 8);
			put64(b, x);
		}
		break;
	case FEAT_V_STRS:
		put32(b, v->n);
		for (uint32_t i = 0; i < v->n; i++)
			putstr(b, v->u.strs[i]);
		break;
	default:
		b->err = FEAT_E_INVAL;
	}
}

struct feat_model_builder {
	struct bytes meta, layers, dir, data;
	uint32_t nmeta, nlayer, ntensor;
	int err;
};

feat_model_builder *feat_model_builder_new(void)
{
	return calloc(1, sizeof(feat_model_builder));
}

void feat_model_builder_free(feat_model_builder *b)
{
	if (!b)
		return;
	free(b->meta.p);
	free(b->layers.p);
	free(b->dir.p);
	free(b->data.p);
	free(b);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Bytes of the metadata entry at p (written by putstr and putvalue, so
 * well formed). */
static size_t entry_size(const unsigned char *p)
{
	size_t n = 4 + rd32(p), k;
	uint32_t type = rd32(p + n), cnt;

	n += 4;
	switch (type) {
	case FEAT_V_INT:
	case FEAT_V_FLOAT:
		return n + 8;
	case FEAT_V_STR:
		return n + 4 + rd32(p + n);
	case FEAT_V_INTS:
	case FEAT_V_FLOATS:
		return n + 4 + 8 * (size_t)rd32(p + n);
	default:  /* FEAT_V_STRS */
		cnt = rd32(p + n);
		n += 4;
		for (k = 0; k < cnt; k++)
			n += 4 + rd32(p + n);
		return n;
	}
}

/* A key set twice keeps its last value (an importer's input.shape, then
 * the user's --set). */
int feat_mb_meta(feat_model_builder *b, const char *key,
	const struct feat_value *v)
{
	size_t kl = strlen(key), off = 0;

	for (uint32_t i = 0; i < b->nmeta && !b->meta.err; i++) {
		size_t sz = entry_size(b->meta.p + off);

		if (rd32(b->meta.p + off) == kl && !memcmp(b->meta.p + off + 4, key, kl)) {
			memmove(b->meta.p + off, b->meta.p + off + sz, b->meta.n - off - sz);
			b->meta.n -= sz;
			b->nmeta--;
			break;
		}
		off += sz;
	}
	putstr(&b->meta, key);
	putvalue(&b->meta, v);
	b->nmeta++;
	return b->meta.err;
}

int feat_mb_tensor(feat_model_builder *b, const char *name, int dtype,
	int ndim, const uint32_t *dims, const void *data)
{
	size_t nb;
	static const unsigned char zeros[FEAT_ALIGN];

	if (feat_shape_bytes(dtype, ndim, dims, &nb))
		return FEAT_E_INVAL;
	put(&b->data, zeros, (size_t)feat_align_up(b->data.n, FEAT_ALIGN) - b->data.n);
	putstr(&b->dir, name);
	put32(&b->dir, (uint32_t)dtype);
	put32(&b->dir, (uint32_t)ndim);
	for (int d = 0; d < ndim; d++)
		put32(&b->dir, dims[d]);
	put64(&b->dir, b->data.n);
	put64(&b->dir, nb);
	put(&b->data, data, nb);
	if (b->dir.err || b->data.err)
		return b->dir.err ? b->dir.err : b->data.err;
	return (int)b->ntensor++;
}

int feat_mb_layer(feat_model_builder *b, const char *type, const char *name,
	uint32_t nin, const char *const *in, uint32_t nout,
	const char *const *out, uint32_t nparam, const struct feat_kv *param,
	uint32_t nweight, const uint32_t *weight)
{
	struct bytes *l = &b->layers;

	putstr(l, type);
	putstr(l, name);
	put32(l, nin);
	for (uint32_t i = 0; i < nin; i++)
		putstr(l, in[i]);
	put32(l, nout);
	for (uint32_t i = 0; i < nout; i++)
		putstr(l, out[i]);
	put32(l, nparam);
	for (uint32_t i = 0; i < nparam; i++) {
		putstr(l, param[i].key);
		putvalue(l, &param[i].v);
	}
	put32(l, nweight);
	for (uint32_t i = 0; i < nweight; i++)
		put32(l, weight[i]);
	b->nlayer++;
	return l->err;
}

int feat_mb_encode(feat_model_builder *b, unsigned char **out, size_t *len)
{
	uint64_t o0 = FEAT_MODEL_HDR, o1, o2, o3, total;
	unsigned char *f;

	if (b->meta.err || b->layers.err || b->dir.err || b->data.err)
		return FEAT_E_NOMEM;
	o1 = o0 + b->meta.n;
	o2 = o1 + b->layers.n;
	o3 = feat_align_up(o2 + b->dir.n, FEAT_ALIGN);
	total = o3 + b->data.n;
	if (total > SIZE_MAX / 2 || !(f = feat_aligned_alloc((size_t)total)))
		return FEAT_E_NOMEM;
	memset(f, 0, (size_t)total);
	memcpy(f, FEAT_MODEL_MAGIC, 8);
	feat_wr16(f + 8, FEAT_MODEL_MAJOR);
	feat_wr16(f + 10, FEAT_MODEL_MINOR);
	feat_wr32(f + 12, FEAT_MODEL_HDR);
	feat_wr32(f + 16, b->nmeta);
	feat_wr32(f + 20, b->nlayer);
	feat_wr32(f + 24, b->ntensor);
	feat_wr64(f + 32, o0);
	feat_wr64(f + 40, o1);
	feat_wr64(f + 48, o2);
	feat_wr64(f + 56, o3);
	if (b->meta.n)
		memcpy(f + o0, b->meta.p, b->meta.n);
	if (b->layers.n)
		memcpy(f + o1, b->layers.p, b->layers.n);
	if (b->dir.n)
		memcpy(f + o2, b->dir.p, b->dir.n);
	if (b->data.n)
		memcpy(f + o3, b->data.p, b->data.n);
	*out = f;
	*len = (size_t)total;
	return 0;
}

int feat_mb_write(feat_model_builder *b, const char *path, char *why,
	size_t whylen)
{
	struct feat_outfile o;
	unsigned char *f;
	size_t len;
	int e = feat_mb_encode(b, &f, &len);

	if (e) {
		feat_fmt(why, whylen, "%s: %s", path, feat_strerror(e));
		return e;
	}
	/* whole or not at all: a failed write leaves an old model in place */
	if ((e = feat_outfile_open(&o, path, why, whylen))) {
		free(f);
		return e;
	}
	e = feat_write_full(o.fd, f, len);
	free(f);
	if (e) {
		feat_fmt(why, whylen, "%s: write failed: %s", path, strerror(e));
		feat_outfile_abort(&o);
		return FEAT_E_IO;
	}
	return feat_outfile_commit(&o, why, whylen);
}
