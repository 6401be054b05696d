/*
 * model.h - the featmodel file: one self-describing, mmap-able file per
 * network (man/man5/featmodel.5).  Internal to libfeat for now: the graph
 * executor, the importers and the featmodel program use it; the public
 * interface (feat.h) will expose the loaded network, not the file.
 *
 * A file holds key/value metadata (input size, channel order, mean, scale,
 * labels, prior-box settings, code length...), a layer graph in
 * topological order (each layer: a type, a name, input and output blob
 * names, typed parameters, weight tensors) and a tensor directory whose
 * payloads are 64-byte aligned in the file, so that the mapped file is
 * used in place.
 */
#ifndef FEAT_MODEL_H
#define FEAT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "feat.h"
#include "base/internal.h"

#define FEAT_MODEL_MAGIC "\x89" "FMD\r\n\x1a\n"
#define FEAT_MODEL_MAJOR 1
#define FEAT_MODEL_MINOR 0
#define FEAT_MODEL_HDR 64
#define FEAT_MODEL_STR_MAX 4096        /* bytes in one string */
#define FEAT_MODEL_ARRAY_MAX (1 << 24) /* items in one array value */

enum feat_vtype {
	FEAT_V_INT = 1,        /* i64 */
	FEAT_V_FLOAT = 2,      /* f64 */
	FEAT_V_STR = 3,
	FEAT_V_INTS = 4,       /* u32 count, i64 items */
	FEAT_V_FLOATS = 5,     /* u32 count, f64 items */
	FEAT_V_STRS = 6,       /* u32 count, strings */
};

/* A typed value; strings point into the mapped file (not NUL-terminated
 * there, so they are copied into the model's string pool on load). */
struct feat_value {
	int type;
	uint32_t n;            /* items of an array; 1 for scalars */
	union {
		int64_t i;
		double f;
		const char *s;
		const int64_t *ints;
		const double *floats;
		const char *const *strs;
	} u;
};

struct feat_kv {
	const char *key;
	struct feat_value v;
};

struct feat_mtensor {
	const char *name;
	int dtype;
	int ndim;
	uint32_t dims[FEAT_MAX_DIMS];
	size_t nbytes;
	const void *data;      /* in the mapped file, 64-byte aligned */
};

struct feat_mlayer {
	const char *type;      /* "conv", "relu", "pool", ... */
	const char *name;
	uint32_t nin, nout, nparam, nweight;
	const char **in, **out;
	struct feat_kv *param;
	uint32_t *weight;      /* indices into the tensor directory */
};

struct feat_model {
	uint16_t major, minor;
	uint32_t nmeta, nlayer, ntensor;
	struct feat_kv *meta;
	struct feat_mlayer *layer;
	struct feat_mtensor *tensor;
	/* private */
	struct feat_mapped file;   /* the file loaded, or none (base/file.c) */
	void *arena;           /* all parsed tables and strings, one block */
};

/*
 * Load a featmodel file (mapped read-only).  Every count, offset, length
 * and shape is checked against the file before use; on failure why
 * names the section, the entry and the field.  Returns 0 or FEAT_E_*.
 */
int feat_model_load(struct feat_model *m, const char *path, char *why,
	size_t whylen);
/* The same from memory (the buffer must stay alive and be 64-aligned). */
int feat_model_parse(struct feat_model *m, const void *buf, size_t len,
	char *why, size_t whylen);
void feat_model_free(struct feat_model *m);

const struct feat_value *feat_kv_find(const struct feat_kv *kv, uint32_t n,
	const char *key);
const struct feat_value *feat_model_meta(const struct feat_model *m,
	const char *key);
int feat_model_tensor_find(const struct feat_model *m, const char *name);

/* Writing, for importers, recipes and tests. */
typedef struct feat_model_builder feat_model_builder;
feat_model_builder *feat_model_builder_new(void);
void feat_model_builder_free(feat_model_builder *b);
/* "KEY=VALUE" as featmodel --set takes it (pipe/import.c): 0,
 * FEAT_E_INVAL (not KEY=VALUE) or the builder's error, with why. */
int feat_mb_meta_kv(feat_model_builder *b, const char *kv, char *why, size_t whylen);
int feat_mb_meta(feat_model_builder *b, const char *key,
	const struct feat_value *v);
/* Add a tensor (data copied); returns its index or a negative error. */
int feat_mb_tensor(feat_model_builder *b, const char *name, int dtype,
	int ndim, const uint32_t *dims, const void *data);
/* Add a layer; params and weights are copied. */
int feat_mb_layer(feat_model_builder *b, const char *type, const char *name,
	uint32_t nin, const char *const *in, uint32_t nout,
	const char *const *out, uint32_t nparam, const struct feat_kv *param,
	uint32_t nweight, const uint32_t *weight);
/* Serialise to a file (written to PATH.tmp, then renamed). */
int feat_mb_write(feat_model_builder *b, const char *path, char *why,
	size_t whylen);
/* Serialise to memory (malloc'd, 64-aligned). */
int feat_mb_encode(feat_model_builder *b, unsigned char **out, size_t *len);

/* Importers: add the layers, weights and graph metadata of a model held
 * in memory to b.  0 or FEAT_E_*, with a one-line reason naming the node,
 * operator or field in why. */
int feat_import_onnx(feat_model_builder *b, const void *data, size_t len,
	char *why, size_t whylen);
/* Caffe: the text of a deploy.prototxt and the bytes of its .caffemodel. */
int feat_import_caffe(feat_model_builder *b, const char *prototxt, size_t plen,
	const void *caffemodel, size_t mlen, char *why, size_t whylen);

#endif
