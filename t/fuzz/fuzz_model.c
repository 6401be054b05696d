/*
 * fuzz_model.c - libFuzzer harness for the featmodel loader.
 *
 * Parses arbitrary bytes as a model (from an aligned copy, as a mapping
 * would be) and, when they are accepted, walks every table the way the
 * graph executor will, so that a field the loader let through but a user
 * of the tables would trip on shows up here.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"

static volatile size_t sink;

static void walk(const struct feat_model *m)
{
	for (uint32_t i = 0; i < m->nlayer; i++) {
		const struct feat_mlayer *l = &m->layer[i];

		sink += strlen(l->type) + strlen(l->name);
		for (uint32_t j = 0; j < l->nin; j++)
			sink += strlen(l->in[j]);
		for (uint32_t j = 0; j < l->nout; j++)
			sink += strlen(l->out[j]);
		for (uint32_t j = 0; j < l->nweight; j++) {
			const struct feat_mtensor *t = &m->tensor[l->weight[j]];

			if (t->nbytes)
				sink += ((const unsigned char *)t->data)[t->nbytes - 1];
		}
		for (uint32_t j = 0; j < l->nparam; j++) {
			const struct feat_value *v = &l->param[j].v;

			if (v->type == FEAT_V_INTS && v->n)
				sink += (size_t)v->u.ints[v->n - 1];
			if (v->type == FEAT_V_STRS && v->n)
				sink += strlen(v->u.strs[v->n - 1]);
		}
	}
	for (uint32_t i = 0; i < m->nmeta; i++)
		sink += strlen(m->meta[i].key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf = NULL;
	struct feat_model m;
	char detail[256];

	if (posix_memalign(&buf, 64, size ? size : 1))
		return 0;
	memcpy(buf, data, size);
	if (feat_model_parse(&m, buf, size, detail, sizeof detail) == 0) {
		walk(&m);
		feat_model_free(&m);
	}
	free(buf);
	return 0;
}
