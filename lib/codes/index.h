/*
 * index.h - what lib/codes' files share about the code index beyond
 * feat/codes.h: mih.c maps a featindex file, load.c reads any code file
 * into an index.
 */
#ifndef FEAT_CODES_INDEX_H
#define FEAT_CODES_INDEX_H

#include <stddef.h>

#include "base/internal.h"

/* Map the regular file open on fd (not closed; the mapping outlives it)
 * as an index named name, checked as feat_index_open does.  0 or
 * FEAT_E_*, with the reason in why. */
int feat_index_open_fd(feat_index **out, int fd, const char *name, char *why,
	size_t whylen);

#endif
