/*
 * net.c - the graph executor: builds a network from a featmodel, infers
 * shapes, folds batch norm and scale into convolutions, fuses activations,
 * lays out blob storage, and runs forward passes.
 *
 * Blob storage: a layer that works in place (ReLU after anything, a folded
 * batch norm) or only relabels its input (flatten, reshape of a dense blob)
 * makes its output an alias of its input and costs nothing.  The other
 * blobs share buffers ("slabs") wherever their lifetimes, from the layer
 * that writes them to the last that reads them, do not overlap
 * (plan_storage): a layer then writes its output into memory a layer a
 * few steps before it used, still in cache, rather than into a buffer of
 * its own last touched a whole pass ago, whose every line is first read
 * back from DRAM.  Inputs and outputs keep buffers of their own: the
 * caller fills the one before and reads the other after a pass.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "base/internal.h"
#include "nn/net.h"
#include "base/threadpool.h"

/* ------------------------------------------------------------ helpers */

void *feat_net_alloc(struct feat_net *n, size_t bytes)
{
	struct chunk {
		struct chunk *next;
		max_align_t data[];
	} *c = malloc(sizeof *c + bytes);

	if (!c)
		return NULL;
	c->next = n->arena;
	n->arena = c;
	return c->data;
}

static void arena_release(void *a)
{
	struct chunk {
		struct chunk *next;
	} *c = a, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
}

const struct feat_value *feat_param(const struct feat_layer *l, const char *key)
{
	return feat_kv_find(l->ml->param, l->ml->nparam, key);
}

int feat_param_int(const struct feat_layer *l, const char *key, int64_t def,
	int64_t lo, int64_t hi, int64_t *out, char *why, size_t whylen)
{
	const struct feat_value *v = feat_param(l, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (v->type != FEAT_V_INT || v->u.i < lo || v->u.i > hi) {
		feat_fmt(why, whylen, "layer '%s': parameter '%s' must be an integer from %lld to %lld",
			 l->name, key, (long long)lo, (long long)hi);
		return FEAT_E_CORRUPT;
	}
	*out = v->u.i;
	return 0;
}

int feat_param_float(const struct feat_layer *l, const char *key, double def,
	double *out, char *why, size_t whylen)
{
	const struct feat_value *v = feat_param(l, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (v->type == FEAT_V_INT) {
		*out = (double)v->u.i;
		return 0;
	}
	if (v->type != FEAT_V_FLOAT || v->u.f != v->u.f) {
		feat_fmt(why, whylen, "layer '%s': parameter '%s' must be a number",
			 l->name, key);
		return FEAT_E_CORRUPT;
	}
	*out = v->u.f;
	return 0;
}

int feat_param_pair(const struct feat_layer *l, const char *key, int def,
	int lo, int v[2], char *why, size_t whylen)
{
	const struct feat_value *p = feat_param(l, key);

	v[0] = v[1] = def;
	if (!p)
		return 0;
	if (p->type == FEAT_V_INT && p->u.i >= lo && p->u.i <= 1 << 20) {
		v[0] = v[1] = (int)p->u.i;
		return 0;
	}
	if (p->type == FEAT_V_INTS && (p->n == 1 || p->n == 2)) {
		int ok = 1;

		for (uint32_t i = 0; i < p->n; i++)
			ok &= p->u.ints[i] >= lo && p->u.ints[i] <= 1 << 20;
		if (ok) {
			v[0] = (int)p->u.ints[0];
			v[1] = (int)p->u.ints[p->n - 1];
			return 0;
		}
	}
	feat_fmt(why, whylen, "layer '%s': parameter '%s' must be one or two integers >= %d",
		 l->name, key, lo);
	return FEAT_E_CORRUPT;
}

const struct feat_mtensor *feat_layer_weight(const struct feat_layer *l,
	const struct feat_net *n, uint32_t i)
{
	if (i >= l->ml->nweight)
		return NULL;
	return &n->model.tensor[l->ml->weight[i]];
}

int feat_net_blob_find(const struct feat_net *n, const char *name)
{
	for (int i = n->nblob - 1; i >= 0; i--)
		if (!strcmp(n->blob[i].name, name))
			return i;
	return FEAT_E_NOTFOUND;
}

int feat_net_root(const struct feat_net *n, int b)
{
	while (n->blob[b].alias >= 0)
		b = n->blob[b].alias;
	return b;
}

float *feat_net_data(const struct feat_net *n, int b)
{
	return n->blob[feat_net_root(n, b)].data;
}

int feat_net_blob_nchwc(const struct feat_net *n, int b)
{
	return n->blob[feat_net_root(n, b)].nchwc;
}

size_t feat_f32_nonfinite(const float *x, size_t n)
{
	/* blocks of 256 reduced without a branch (the loop vectorises), then
	 * the element found in the block that has one */
	for (size_t i = 0; i < n; i += 256) {
		size_t m = n - i < 256 ? n - i : 256;
		uint32_t bad = 0;

		for (size_t j = 0; j < m; j++) {
			uint32_t u;

			memcpy(&u, x + i + j, sizeof u);
			bad |= (u & 0x7f800000u) == 0x7f800000u;
		}
		if (bad)
			for (size_t j = 0; j < m; j++)
				if (!isfinite(x[i + j]))
					return i + j;
	}
	return n;
}

/* ------------------------------------------------------------ building */

/*
 * A weight that is NaN or infinite gives no sensible output: the ReLU
 * after it may turn NaN into 0, and the net then answers without a sign
 * of the fault.  Such a model is refused when it is built, naming the
 * layer, the tensor and the first bad element.  One pass over the
 * weights: 0.16 ms for the 1.4 MB models that ship, 0.7 ms for the
 * 5.8 MB one, once the file is in the page cache (a load takes 20 ms).
 */
static int finite_weights(const struct feat_net *n, const struct feat_mlayer *ml,
	uint32_t li, char *why, size_t whylen)
{
	for (uint32_t j = 0; j < ml->nweight; j++) {
		const struct feat_mtensor *t = &n->model.tensor[ml->weight[j]];
		size_t k = 0, count = 0;
		double v = 0;

		if (t->dtype == FEAT_DT_F32) {
			count = t->nbytes / sizeof(float);
			if ((k = feat_f32_nonfinite(t->data, count)) < count)
				v = ((const float *)t->data)[k];
		} else if (t->dtype == FEAT_DT_F64) {
			const double *d = t->data;

			count = t->nbytes / sizeof(double);
			while (k < count && isfinite(d[k]))
				k++;
			if (k < count)
				v = d[k];
		}
		if (k < count) {
			feat_fmt(why, whylen, "layer %u '%s': weight %u '%s' holds %s at element %zu of %zu; a model's weights must be finite",
				 li, ml->name, j, t->name, isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf",
				 k, count);
			return FEAT_E_RANGE;
		}
	}
	return 0;
}

/*
 * Blob names may be reused by in-place layers (Caffe's relu on conv1
 * writes conv1).  Each write makes a new blob entry, so that every blob has
 * exactly one producer; readers see the latest entry of a name.
 */
static int new_blob(struct feat_net *n, const char *name, int producer)
{
	struct feat_blob *b = &n->blob[n->nblob];

	memset(b, 0, sizeof *b);
	b->name = name;
	b->alias = -1;
	b->slab = -1;
	b->producer = producer;
	return n->nblob++;
}

static int setup_inputs(struct feat_net *n, char *why, size_t whylen)
{
	const struct feat_value *in = feat_model_meta(&n->model, "graph.inputs");
	const struct feat_value *shape = feat_model_meta(&n->model, "input.shape");

	n->ninput = (int)in->n;
	n->input = feat_net_alloc(n, sizeof(int) * in->n);
	if (!n->input)
		return FEAT_E_NOMEM;
	if (in->n != 1) {
		feat_fmt(why, whylen, "%u graph inputs; one image input is supported", in->n);
		return FEAT_E_FORMAT;
	}
	if (!shape || shape->type != FEAT_V_INTS || shape->n < 1 ||
	    shape->n > FEAT_MAX_DIMS - 1) {
		feat_fmt(why, whylen, "metadata 'input.shape' (ints: C, H, W) is missing or bad");
		return FEAT_E_FORMAT;
	}
	for (uint32_t i = 0; i < in->n; i++) {
		int b = new_blob(n, in->u.strs[i], -1);
		struct feat_blob *bl = &n->blob[b];

		bl->ndim = (int)shape->n + 1;
		bl->dims[0] = 1;
		bl->count = 1;
		for (uint32_t d = 0; d < shape->n; d++) {
			if (shape->u.ints[d] < 1 || shape->u.ints[d] > 1 << 16) {
				feat_fmt(why, whylen, "metadata 'input.shape' holds %lld",
					 (long long)shape->u.ints[d]);
				return FEAT_E_FORMAT;
			}
			bl->dims[d + 1] = (uint32_t)shape->u.ints[d];
			/* count <= 2^34 and dims <= 2^16: no overflow */
			bl->count *= bl->dims[d + 1];
			if (bl->count > FEAT_NET_MAX_BLOB) {
				feat_fmt(why, whylen, "metadata 'input.shape' asks for an input "
					 "of over %zu floats (%.0f GiB) an image", FEAT_NET_MAX_BLOB,
					 (double)FEAT_NET_MAX_BLOB * sizeof(float) / (1 << 30));
				return FEAT_E_FORMAT;
			}
		}
		n->input[i] = b;
	}
	return 0;
}

/*
 * The reason for a layer's setup that failed on its workspace
 * (n->scratch_want set by feat_net_grow_scratch): over
 * FEAT_NET_MAX_SCRATCH is a bad model (*e becomes FEAT_E_FORMAT), else the
 * machine is out of memory; either way the layer and the size are named.
 * A failure with no reason at all gets the layer's name and the error's
 * text.  Returns 1 when it wrote the reason.
 */
static int scratch_fail(struct feat_net *n, int *e, char *why, size_t whylen)
{
	double gib = (double)n->scratch_want * sizeof(float) / (1 << 30);
	const char *name = n->scratch_layer ? n->scratch_layer : "?";

	if (*e == FEAT_E_TOOBIG && n->scratch_want > FEAT_NET_MAX_SCRATCH) {
		feat_fmt(why, whylen, "layer '%s': needs %.1f GiB of workspace (%zu "
			 "floats), over the limit of %zu (%.0f GiB)", name, gib,
			 n->scratch_want, FEAT_NET_MAX_SCRATCH,
			 (double)FEAT_NET_MAX_SCRATCH * sizeof(float) / (1 << 30));
		*e = FEAT_E_FORMAT;
		return 1;
	}
	if (*e == FEAT_E_NOMEM && n->scratch_want) {
		feat_fmt(why, whylen, "layer '%s': out of memory for %.3g GiB of "
			 "workspace", name, gib);
		return 1;
	}
	return 0;
}

int feat_net_build(struct feat_net **out, struct feat_model *m, char *why,
	size_t whylen)
{
	struct feat_net *n = calloc(1, sizeof *n);
	size_t nb = 0;
	int e;

	*out = NULL;
	if (why && whylen)
		why[0] = '\0';
	if (feat_kernel_init()) {
		feat_fmt(why, whylen, "%s", feat_kernel_detail());
		feat_model_free(m);
		free(n);
		return FEAT_E_INVAL;
	}
	if (!n)
		return FEAT_E_NOMEM;
	n->model = *m;
	memset(m, 0, sizeof *m);
	for (uint32_t i = 0; i < n->model.nlayer; i++)
		nb += n->model.layer[i].nout;
	nb += 8;
	n->blob = calloc(nb, sizeof *n->blob);
	n->layer = calloc(n->model.nlayer + 1, sizeof *n->layer);
	if (!n->blob || !n->layer) {
		e = FEAT_E_NOMEM;
		goto fail;
	}
	if ((e = setup_inputs(n, why, whylen)))
		goto fail;
	for (uint32_t i = 0; i < n->model.nlayer; i++) {
		const struct feat_mlayer *ml = &n->model.layer[i];
		struct feat_layer *l = &n->layer[i];

		l->ml = ml;
		l->name = ml->name;
		l->ops = feat_layer_lookup(ml->type);
		if (!l->ops) {
			feat_fmt(why, whylen, "layer %u '%s': unknown layer type '%s'",
				 i, ml->name, ml->type);
			e = FEAT_E_FORMAT;
			goto fail;
		}
		l->nin = (int)ml->nin;
		l->nout = (int)ml->nout;
		l->in = feat_net_alloc(n, sizeof(int) * (ml->nin + ml->nout + 1));
		if (!l->in) {
			e = FEAT_E_NOMEM;
			goto fail;
		}
		l->out = l->in + ml->nin;
		for (uint32_t j = 0; j < ml->nin; j++) {
			l->in[j] = feat_net_blob_find(n, ml->in[j]);
			FEAT_ASSERT(l->in[j] >= 0);  /* the loader checked the graph */
			n->blob[l->in[j]].consumers++;
		}
		for (uint32_t j = 0; j < ml->nout; j++)
			l->out[j] = new_blob(n, ml->out[j], (int)i);
		n->nlayer++;
		n->scratch_layer = l->name;
		if ((e = finite_weights(n, ml, i, why, whylen)))
			goto fail;
		/* only convolutions and inner products run quantised; the
		 * marks on any other layer would be read by no one */
		if (strcmp(l->ops->type, "conv") && strcmp(l->ops->type, "fc") &&
		    (feat_param(l, "quant") || feat_param(l, "quant.scale") ||
		     feat_param(l, "quant.zero"))) {
			feat_fmt(why, whylen, "layer '%s': 'quant' on a %s layer (only conv and fc are quantised)",
				 l->name, l->ops->type);
			e = FEAT_E_FORMAT;
			goto fail;
		}
		if ((e = l->ops->setup(n, l, why, whylen))) {
			if (!scratch_fail(n, &e, why, whylen) && why && whylen && !why[0])
				feat_fmt(why, whylen, "layer '%s': %s", l->name,
					 feat_strerror(e));
			goto fail;
		}
		for (int j = 0; j < l->nout; j++) {
			struct feat_blob *b = &n->blob[l->out[j]];

			b->count = 1;
			for (int d = 1; d < b->ndim && b->count <= FEAT_NET_MAX_BLOB; d++)
				b->count *= b->dims[d];   /* <= 2^34 * 2^32: no overflow */
			if (b->dims[0] != 1 || !b->count || b->count > FEAT_NET_MAX_BLOB) {
				feat_fmt(why, whylen, "layer '%s': output '%s' has a bad shape",
					 l->name, b->name);
				e = FEAT_E_FORMAT;
				goto fail;
			}
		}
		/* a layer that may work in place and writes the name it reads */
		if (l->ops->in_place_ok && l->nin >= 1 && l->nout == 1 &&
		    n->blob[l->out[0]].count == n->blob[l->in[0]].count &&
		    !strcmp(ml->in[0], ml->out[0]))
			n->blob[l->out[0]].alias = l->in[0];
	}
	{
		const struct feat_value *o = feat_model_meta(&n->model, "graph.outputs");

		n->noutput = (int)o->n;
		n->output = feat_net_alloc(n, sizeof(int) * o->n);
		if (!n->output) {
			e = FEAT_E_NOMEM;
			goto fail;
		}
		for (uint32_t i = 0; i < o->n; i++) {
			n->output[i] = feat_net_blob_find(n, o->u.strs[i]);
			n->blob[n->output[i]].consumers++;  /* the caller reads it */
		}
	}
	if ((e = feat_net_fold(n))) {
		if (!scratch_fail(n, &e, why, whylen))
			feat_fmt(why, whylen, "folding batch norm: %s", feat_strerror(e));
		goto fail;
	}
	*out = n;
	return 0;
fail:
	feat_net_free(n);
	return e;
}

int feat_net_from_bytes(struct feat_net **out, const void *buf, size_t len, const char *what,
	char *why, size_t whylen)
{
	struct feat_model m;
	char reason[512];
	int e;

	*out = NULL;
	if ((e = feat_model_parse(&m, buf, len, reason, sizeof reason)) ||
	    (e = feat_net_build(out, &m, reason, sizeof reason))) {
		feat_fmt(why, whylen, "%s does not build: %s", what, reason);
		return e == FEAT_E_NOMEM ? e : FEAT_E_CORRUPT;
	}
	return 0;
}

int feat_net_load(struct feat_net **out, const char *path, char *why,
	size_t whylen)
{
	struct feat_model m;
	int e = feat_model_load(&m, path, why, whylen);

	*out = NULL;
	if (e)
		return e;
	e = feat_net_build(out, &m, why, whylen);
	if (e) {
		char d[512];

		feat_fmt(d, sizeof d, "%s: %s", path, why);
		feat_fmt(why, whylen, "%s", d);
	}
	return e;
}

void feat_net_free(struct feat_net *n)
{
	if (!n)
		return;
	feat_net_set_threads(n, 1);
	for (int i = 0; i < n->nlayer; i++)
		if (n->layer[i].ops && n->layer[i].ops->release)
			n->layer[i].ops->release(&n->layer[i]);
	for (int s = 0; s < n->nslab; s++)
		free(n->slab[s]);
	free(n->slab);
	free(n->slab_count);
	free(n->scratch);
	free(n->blob);
	free(n->layer);
	feat_model_free(&n->model);
	arena_release(n->arena);
	free(n);
}

/*
 * The stages of a forward pass over a batch (feat_net_forward): each layer
 * that runs over the whole batch (l->whole) is a stage of its own; each
 * run of other layers between them is a stage run image by image.  Stage
 * of layer i from 0 up (removed layers take the stage of the layer
 * before).
 */
static int is_whole(const struct feat_layer *l)
{
	return !l->removed && l->whole;
}

/*
 * The layers that run over the whole batch: inner products, and
 * convolutions whose weights are at least 4 times the activations they
 * read and write per image (ResNet-50's layer3 3x3 and layer4, 1-9 MB of
 * weights against 0.2-1 MB; EfficientNet's and MobileNetV3's last
 * pointwise layers): image by image, each image would stream them from
 * memory again, the rest of the network having passed through the caches
 * since; over the batch, the images after the first find them in cache,
 * while the batch's activations there are small.  FEAT_PER_IMAGE=1 keeps
 * such convolutions image by image (for measuring it).
 */
static void mark_whole(struct feat_net *n)
{
	const char *env = getenv("FEAT_PER_IMAGE");
	int heavy = !(env && !strcmp(env, "1"));

	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i];
		uint64_t act = 0;

		for (int j = 0; j < l->nin; j++)
			act += n->blob[l->in[j]].count;
		for (int j = 0; j < l->nout; j++)
			act += n->blob[l->out[j]].count;
		l->whole = !l->removed && (!strcmp(l->ops->type, "fc") ||
					   (heavy && !strcmp(l->ops->type, "conv") &&
					    l->params >= 4 * act));
	}
}

static void stages(const struct feat_net *n, int *st)
{
	int s = 0, prev_whole = -1;

	for (int i = 0; i < n->nlayer; i++) {
		const struct feat_layer *l = &n->layer[i];

		if (!l->removed) {
			if (prev_whole >= 0 && (is_whole(l) || prev_whole))
				s++;
			prev_whole = is_whole(l);
		}
		st[i] = s;
	}
}

/*
 * Assign each blob that is not an alias a slab: in the order the layers
 * write them, each takes a slab free since before the layer that writes it
 * (the smallest that is big enough, else the biggest free one, grown),
 * else a new one.  A layer's inputs and outputs are live at the same
 * layer, so they never share.  Blobs read after the pass (outputs) or
 * written before it (inputs), and any no layer writes, get slabs that are
 * never handed on.
 */
static int plan_storage(struct feat_net *n)
{
	int nb = n->nblob, ns = 0, e = FEAT_E_NOMEM;
	int *first = malloc(sizeof(int) * (size_t)nb), *last = malloc(sizeof(int) * (size_t)nb);
	int *order = malloc(sizeof(int) * (size_t)nb), *busy = malloc(sizeof(int) * (size_t)nb);
	int *held = malloc(sizeof(int) * (size_t)nb);   /* first[] of busy's blob */
	int *st = malloc(sizeof(int) * (size_t)(n->nlayer + 1));
	size_t *cnt = calloc((size_t)nb, sizeof *cnt);

	if (!first || !last || !order || !busy || !held || !st || !cnt)
		goto out;
	mark_whole(n);
	stages(n, st);
	for (int b = 0; b < nb; b++)
		first[b] = INT_MAX, last[b] = -1;
	for (int i = 0; i < n->nlayer; i++) {
		const struct feat_layer *l = &n->layer[i];

		if (l->removed)
			continue;
		for (int j = 0; j < l->nin; j++) {
			int r = feat_net_root(n, l->in[j]);

			last[r] = last[r] > i ? last[r] : i;
		}
		for (int j = 0; j < l->nout; j++) {
			int r = feat_net_root(n, l->out[j]);

			first[r] = first[r] < i ? first[r] : i;
			last[r] = last[r] > i ? last[r] : i;
		}
	}
	for (int i = 0; i < n->ninput; i++)
		first[feat_net_root(n, n->input[i])] = -1, last[feat_net_root(n, n->input[i])] = INT_MAX;
	for (int i = 0; i < n->noutput; i++)
		last[feat_net_root(n, n->output[i])] = INT_MAX;
	int no = 0;

	for (int b = 0; b < nb; b++) {
		if (n->blob[b].alias >= 0)
			continue;
		n->blob[b].local = first[b] != INT_MAX && first[b] >= 0 && last[b] < n->nlayer &&
				   st[first[b]] == st[last[b]] && !is_whole(&n->layer[first[b]]);
		if (first[b] == INT_MAX && last[b] < 0)
			/* neither written nor read (the output of a layer a pass
			 * removed, a Pad folded into its conv): a slab free
			 * where the removed layer was, for no time */
			first[b] = last[b] = n->blob[b].producer >= 0 && n->blob[b].producer < n->nlayer ?
					     n->blob[b].producer : 0;
		else if (first[b] == INT_MAX)  /* written by no layer: its own */
			first[b] = -1, last[b] = INT_MAX;
		order[no++] = b;
	}
	/* by first write (insertion sort: a few hundred blobs at most) */
	for (int i = 1; i < no; i++)
		for (int j = i; j > 0 && first[order[j - 1]] > first[order[j]]; j--) {
			int t = order[j];

			order[j] = order[j - 1], order[j - 1] = t;
		}
	for (int i = 0; i < no; i++) {
		int b = order[i], best = -1, big = -1;
		size_t need = n->blob[b].count;

		/* an output takes no buffer a blob before it used: a batch that
		 * runs image by image (feat_net_forward) writes the earlier
		 * blob of a later image after the output of an earlier one.
		 * Between other blobs, a buffer is handed on from a blob last
		 * read in an earlier stage (every image is done with it), or
		 * within one stage run image by image when both blobs live
		 * only in it (neither holds an image another one needs). */
		int sf = first[b] < 0 ? -1 : st[first[b]];
		int inner = first[b] >= 0 && last[b] < n->nlayer && st[last[b]] == sf;

		for (int s = 0; s < ns && last[b] != INT_MAX; s++) {
			if (busy[s] >= first[b])
				continue;
			if (busy[s] >= 0 && st[busy[s]] >= sf &&
			    !(inner && held[s] >= 0 && st[held[s]] == sf))
				continue;
			if (cnt[s] >= need && (best < 0 || cnt[s] < cnt[best]))
				best = s;
			if (big < 0 || cnt[s] > cnt[big])
				big = s;
		}
		if (best < 0)
			best = big >= 0 ? big : ns++;
		if (cnt[best] < need)
			cnt[best] = need;
		busy[best] = last[b];
		held[best] = first[b];
		n->blob[b].slab = best;
	}
	n->slab = calloc((size_t)(ns ? ns : 1), sizeof *n->slab);
	n->slab_count = malloc(sizeof *n->slab_count * (size_t)(ns ? ns : 1));
	if (!n->slab || !n->slab_count) {
		free(n->slab), free(n->slab_count);
		n->slab = NULL, n->slab_count = NULL;  /* plan again next time */
		goto out;
	}
	memcpy(n->slab_count, cnt, sizeof *cnt * (size_t)ns);
	n->nslab = ns;
	e = 0;
out:
	free(first), free(last), free(order), free(busy), free(held), free(st), free(cnt);
	return e;
}

int feat_net_activations(struct feat_net *n, size_t *shared, size_t *own)
{
	int e;

	if (!n->slab && (e = plan_storage(n)))
		return e;
	*shared = *own = 0;
	for (int s = 0; s < n->nslab; s++)
		*shared += n->slab_count[s];
	for (int i = 0; i < n->nblob; i++)
		if (n->blob[i].alias < 0)
			*own += n->blob[i].count;
	return 0;
}

int feat_net_reserve(struct feat_net *n, int batch)
{
	int e;

	if (batch < 1)
		return FEAT_E_INVAL;
	if (batch <= n->capacity)
		return 0;
	if (!n->slab && (e = plan_storage(n)))
		return e;
	for (int s = 0; s < n->nslab; s++) {
		float *p;

		if (n->slab_count[s] > SIZE_MAX / sizeof(float) / (size_t)batch)
			return FEAT_E_TOOBIG;
		p = feat_aligned_alloc(n->slab_count[s] * (size_t)batch * sizeof(float));
		if (!p)
			return FEAT_E_NOMEM;
		/* keep what the caller may already have put in an input */
		if (n->slab[s])
			memcpy(p, n->slab[s], n->slab_count[s] * (size_t)n->capacity * sizeof(float));
		free(n->slab[s]);
		n->slab[s] = p;
	}
	for (int i = 0; i < n->nblob; i++)
		if (n->blob[i].alias < 0)
			n->blob[i].data = n->slab[n->blob[i].slab];
	n->capacity = batch;
	return 0;
}

int feat_net_set_threads(struct feat_net *n, int threads)
{
	struct feat_threadpool *p = NULL;
	float **ws;
	int e;

	if (threads < 1 || threads > FEAT_POOL_MAX)
		return FEAT_E_INVAL;
	if (n->pool) {
		int old = feat_threadpool_threads(n->pool);

		feat_threadpool_free(n->pool);
		for (int i = 1; i < old; i++)
			free(n->wscratch[i]);
		free(n->wscratch);
		n->pool = NULL;
		n->wscratch = NULL;
	}
	if (threads == 1)
		return 0;
	{
		/* for tests and measurement: 0 splits every layer */
		const char *env = getenv("FEAT_THREAD_MIN");
		char *end;
		unsigned long long v = env ? strtoull(env, &end, 10) : 0;

		n->par_min = env && *env && !*end ? v : FEAT_PAR_MIN_MACS;
	}
	if (!(ws = calloc((size_t)threads, sizeof *ws)))
		return FEAT_E_NOMEM;
	for (int i = 1; i < threads; i++)
		if (n->scratch_floats &&
		    !(ws[i] = feat_aligned_alloc(n->scratch_floats * sizeof(float)))) {
			e = FEAT_E_NOMEM;
			goto fail;
		}
	if ((e = feat_threadpool_new(&p, threads)))
		goto fail;
	n->pool = p;
	n->wscratch = ws;
	return 0;
fail:
	for (int i = 1; i < threads; i++)
		free(ws[i]);
	free(ws);
	return e;
}

float *feat_net_scratch(const struct feat_net *n, int worker)
{
	return worker ? n->wscratch[worker] : n->scratch;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Run layers [i0, i1) over batch images; count is 1 when these calls are
 * one image of a batch run image by image and not its first. */
static void run_layers(struct feat_net *n, int i0, int i1, int batch, int count)
{
	for (int i = i0; i < i1; i++) {
		struct feat_layer *l = &n->layer[i];
		double t0 = 0;

		if (l->removed)
			continue;
		if (n->profile)
			t0 = now();
		l->ops->forward(n, l, batch);
		if (n->profile) {
			l->seconds += now() - t0;
			l->calls += count;
		}
	}
}

/* Point every blob's storage at image b of the batch (back with -b), but
 * those that live within one image-by-image stage: image 0's storage,
 * still in cache from the image before, serves every image there. */
static void shift_blobs(struct feat_net *n, long b)
{
	for (int i = 0; i < n->nblob; i++)
		if (n->blob[i].alias < 0 && n->blob[i].data && !n->blob[i].local)
			n->blob[i].data += b * (long)n->blob[i].count;
}

/*
 * A batch runs image by image through the layers between inner products
 * (all of them in a network without one), so that one image's
 * activations stay in cache from layer to layer instead of the batch's
 * streaming through memory between them (MobileNet-SSD at batch 8: 8 x 37
 * MB of blobs; ResNet-50's convolutions: 8 x 25 MB; ViT-B/16's attention
 * between its inner products: 8 x 1.8 MB of scores).  Every such layer
 * treats each image on its own, so the results are the same; and blobs
 * that share a buffer (never live at once) never hold two images' data
 * that are needed at once (plan_storage hands a buffer on only between
 * blobs of one such stage, or from an earlier stage).  An inner product
 * reads its weights once for the whole batch, so it runs over the batch,
 * as do convolutions with far more weights than activations
 * (mark_whole).  FEAT_PER_IMAGE=0 runs every layer over the batch (for
 * measuring it).
 */
int feat_net_forward(struct feat_net *n, int batch)
{
	const char *env = getenv("FEAT_PER_IMAGE");
	int e, whole = batch == 1 || (env && !strcmp(env, "0"));

	if (batch < 1)
		return FEAT_E_INVAL;
	if ((e = feat_net_reserve(n, batch)))
		return e;
	if (whole) {
		run_layers(n, 0, n->nlayer, batch, 1);
		return 0;
	}
	for (int i0 = 0, i1; i0 < n->nlayer; i0 = i1) {
		/* a stage: one layer over the batch, or the layers up to the
		 * next */
		if (is_whole(&n->layer[i0])) {
			run_layers(n, i0, i0 + 1, batch, 1);
			i1 = i0 + 1;
			continue;
		}
		for (i1 = i0 + 1; i1 < n->nlayer && !is_whole(&n->layer[i1]); i1++)
			;
		for (int b = 0; b < batch; b++) {
			shift_blobs(n, b);
			run_layers(n, i0, i1, 1, b == 0);
			shift_blobs(n, -(long)b);
		}
	}
	return 0;
}
