/*
 * cut.c - copy the part of a network that one output depends on (see
 * cut.h).  Layers are in topological order in a featmodel file, so a walk
 * backwards from the last layer, keeping each layer that writes a blob
 * still needed and then needing its inputs, finds them all in one pass.
 * Layers that write in place (Caffe's ReLU: input and output of one name)
 * keep the name needed, so the layer that first wrote it is kept too.
 */
#include <stdio.h>

#include "base/internal.h"
#include "nn/cut.h"

int feat_model_find_output(const struct feat_model *m, const char *name,
	const char **blob, char *why, size_t whylen)
{
	const struct feat_value *in = feat_model_meta(m, "graph.inputs");

	for (uint32_t i = 0; i < m->nlayer; i++)
		if (!strcmp(m->layer[i].name, name) && m->layer[i].nout >= 1) {
			*blob = m->layer[i].out[0];
			return (int)i;
		}
	for (uint32_t i = m->nlayer; i-- > 0;)
		for (uint32_t o = 0; o < m->layer[i].nout; o++)
			if (!strcmp(m->layer[i].out[o], name)) {
				*blob = m->layer[i].out[o];
				return (int)i;
			}
	if (in && in->type == FEAT_V_STRS)
		for (uint32_t i = 0; i < in->n; i++)
			if (!strcmp(in->u.strs[i], name)) {
				feat_fmt(why, whylen, "'%s' is the model's input, not a layer's output",
					 name);
				return -1;
			}
	feat_fmt(why, whylen, "no layer or blob named '%s' (featmodel info lists them)", name);
	return -1;
}

static int needed(const char **set, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i], name))
			return 1;
	return 0;
}

int feat_model_cut(feat_model_builder *b, const struct feat_model *m, int last,
	const char *blob)
{
	unsigned char *keep = calloc(m->nlayer ? m->nlayer : 1, 1);
	int *tmap = malloc(sizeof(int) * (m->ntensor ? m->ntensor : 1));
	const char **need = NULL;
	size_t nneed = 0, cap = 0;
	uint32_t *widx = NULL;
	int e = FEAT_E_NOMEM;

	if (!keep || !tmap || last < 0 || (uint32_t)last >= m->nlayer)
		goto done;
	for (uint32_t i = 0; i < m->ntensor; i++)
		tmap[i] = -1;
	for (int i = last; i >= 0; i--) {
		const struct feat_mlayer *l = &m->layer[i];
		int want = 0;

		for (uint32_t o = 0; o < l->nout && !want; o++)
			want = i == last ? !strcmp(l->out[o], blob) : needed(need, nneed, l->out[o]);
		if (!want)
			continue;
		keep[i] = 1;
		for (uint32_t k = 0; k < l->nin; k++) {
			if (needed(need, nneed, l->in[k]))
				continue;
			if (feat_grow(&need, &cap, nneed + 1, sizeof *need, 64))
				goto done;
			need[nneed++] = l->in[k];
		}
	}
	for (uint32_t i = 0; i < m->nmeta; i++) {
		const char *k = m->meta[i].key;

		if ((!strcmp(k, "graph.inputs") || !strncmp(k, "input.", 6)) &&
		    (e = feat_mb_meta(b, k, &m->meta[i].v)))
			goto done;
	}
	for (int i = 0; i <= last; i++) {
		const struct feat_mlayer *l = &m->layer[i];

		if (!keep[i])
			continue;
		free(widx);
		e = FEAT_E_NOMEM;
		if (!(widx = malloc(sizeof *widx * (l->nweight + 1))))
			goto done;
		for (uint32_t w = 0; w < l->nweight; w++) {
			uint32_t t = l->weight[w];
			const struct feat_mtensor *mt = &m->tensor[t];

			if (tmap[t] < 0 &&
			    (tmap[t] = feat_mb_tensor(b, mt->name, mt->dtype, mt->ndim, mt->dims,
						      mt->data)) < 0) {
				e = tmap[t];
				goto done;
			}
			widx[w] = (uint32_t)tmap[t];
		}
		if ((e = feat_mb_layer(b, l->type, l->name, l->nin, l->in, l->nout, l->out,
				       l->nparam, l->param, l->nweight, widx)))
			goto done;
	}
	e = 0;
done:
	free(keep);
	free(tmap);
	free(need);
	free(widx);
	return e;
}
