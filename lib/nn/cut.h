/*
 * cut.h - a network cut after one of its layers: the layers an output
 * depends on, copied with their weights into a model builder, so that a
 * backbone's pooled feature can become the input of something new (the
 * code layer of featmodel fitcodes).  Internal to libfeat.
 */
#ifndef FEAT_CUT_H
#define FEAT_CUT_H

#include <stddef.h>

#include "nn/model.h"

/*
 * Find `name` in m: a layer's name (its first output is then meant) or a
 * blob's name (the output of the last layer writing it).  Returns the
 * layer's index and sets *blob to the output's name (pointing into m), or
 * -1 with a one-line reason in why: nothing of that name, or the name
 * of the graph's input (there is no layer to cut after).
 */
int feat_model_find_output(const struct feat_model *m, const char *name,
	const char **blob, char *why, size_t whylen);

/*
 * Add to b the layers of m that blob (the output of layer `last`, as
 * feat_model_find_output gives) depends on, in m's order, with their
 * weights (each tensor copied once), and m's metadata entries graph.inputs
 * and input.*.  Nothing else is written: the caller adds graph.outputs
 * and whatever follows.  0 or FEAT_E_NOMEM / FEAT_E_INVAL (from the
 * builder).
 */
int feat_model_cut(feat_model_builder *b, const struct feat_model *m, int last,
	const char *blob);

#endif
