/*
 * prep.h - image preparation settings from a model's metadata.  Internal
 * to libfeat (it takes the internal struct feat_model); feat_prep() and
 * its options are in feat.h.
 */
#ifndef FEAT_PREP_H
#define FEAT_PREP_H

#include <stddef.h>

#include "feat.h"
#include "nn/model.h"

/*
 * Fill o from the metadata of m (featmodel(5), the contract of
 * imgprep(1)): input.shape (C,H,W), input.order (rgb, bgr or gray),
 * input.mean and input.scale (one number per channel, or one for all),
 * input.fit (stretch, letterbox or crop).  Numbers may be stored as ints
 * or floats.  Fields named in `given` are left alone and their keys are
 * not required.  Other fields of o are not touched.  Returns 0, or
 * FEAT_E_NOTFOUND (a key is missing) or FEAT_E_FORMAT (a key has the
 * wrong type or value) with a one-line reason naming the key in why.
 */
int feat_prep_from_model(struct feat_prep_opts *o, unsigned given,
	const struct feat_model *m, char *why, size_t whylen);

/* Read a number list of metadata into v[0..max): ints or floats, one
 * value or a list.  Returns the count, or -1 when the value is not
 * numeric (or longer than max). */
int feat_meta_numbers(const struct feat_value *v, double *out, int max);

#endif
