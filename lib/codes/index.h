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

/* load.c: the width of an index made from text lines is a guess (their
 * bytes times 8: a hex code says no more), kept as such by
 * feat_index_guessed(ix, 1) until a file of codes of known width comes;
 * feat_index_narrow() then takes that width when it has the same bytes
 * and fewer bits, and no code holds a 1 past it (a 70-bit code's two
 * padding bits).  0, or FEAT_E_RANGE when it cannot. */
void feat_index_guessed(feat_index *ix, int on);
int feat_index_narrow(feat_index *ix, uint32_t bits);

#endif
