/*
 * prototxt.h - a reader of protocol buffers text format, for Caffe's
 * deploy.prototxt files:
 *
 *     name: "VGG_ILSVRC_16_layers"
 *     input: "data"
 *     input_shape { dim: 1 dim: 3 dim: 224 dim: 224 }
 *     layer { name: "conv1_1" type: "Convolution" bottom: "data" top: "conv1_1"
 *             convolution_param { num_output: 64 pad: 1 kernel_size: 3 } }
 *
 * The text is parsed into a tree of fields; each field has a name and
 * either a scalar (string, number or identifier such as MAX or true) or a
 * list of child fields.  No schema: the importer asks for the fields it
 * knows.  Every token is checked; errors give the line and column.
 */
#ifndef FEAT_PROTOTXT_H
#define FEAT_PROTOTXT_H

#include <stddef.h>

enum feat_ptx_kind {
	FEAT_PTX_STRING = 1,   /* "quoted", escapes resolved */
	FEAT_PTX_WORD = 2,     /* a number or an identifier, as written */
	FEAT_PTX_MESSAGE = 3,  /* { children } */
};

struct feat_ptx {
	const char *name;
	int kind;
	const char *value;           /* STRING and WORD: NUL-terminated */
	size_t len;                  /* STRING: bytes (may hold NUL) */
	struct feat_ptx *child;      /* MESSAGE: first child */
	struct feat_ptx *next;       /* next sibling */
	int line;
};

/* Parse text (len bytes).  On success *root is a MESSAGE whose children
 * are the top-level fields; free with feat_ptx_free().  Returns 0 or
 * FEAT_E_FORMAT / FEAT_E_NOMEM / FEAT_E_TOOBIG with "line L, column C:
 * what" in why. */
int feat_ptx_parse(const char *text, size_t len, struct feat_ptx **root,
	char *why, size_t whylen);
void feat_ptx_free(struct feat_ptx *root);

/* The first child named name (after `after`, when not NULL), or NULL. */
const struct feat_ptx *feat_ptx_get(const struct feat_ptx *msg, const char *name,
	const struct feat_ptx *after);
/* Scalar accessors; 0 or FEAT_E_FORMAT when the field is not of that kind
 * or does not parse (why names the field and line). */
int feat_ptx_long(const struct feat_ptx *f, long long *v, char *why, size_t whylen);
int feat_ptx_double(const struct feat_ptx *f, double *v, char *why, size_t whylen);

#endif
