/*
 * internal.h - helpers shared inside libfeat, not installed.
 */
#ifndef FEAT_INTERNAL_H
#define FEAT_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>

#include "feat.h"

/* An invariant that no input can break; a failure is a bug in libfeat. */
#define FEAT_ASSERT(x) \
	do { \
		if (!(x)) \
			feat_assert_fail(__FILE__, __LINE__, #x); \
	} while (0)
void feat_assert_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));

static inline uint16_t feat_rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t feat_rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint64_t feat_rd64(const unsigned char *p)
{
	return (uint64_t)feat_rd32(p) | (uint64_t)feat_rd32(p + 4) << 32;
}
static inline void feat_wr16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}
static inline void feat_wr32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}
static inline void feat_wr64(unsigned char *p, uint64_t v)
{
	feat_wr32(p, (uint32_t)v);
	feat_wr32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t feat_align_up(uint64_t n, uint64_t a)
{
	return (n + a - 1) / a * a;
}

/* Payload bytes of a shape: 0, FEAT_E_INVAL (bad dtype or rank) or
 * FEAT_E_TOOBIG (overflow). */
int feat_shape_bytes(int dtype, int ndim, const uint32_t *dims, size_t *nbytes);

/* Room for need elements of elem bytes in the array *pp (a pointer to
 * any pointer; *cap elements now): the capacity doubles from *cap, or from
 * first when *cap is 0, until it holds need.  0, or FEAT_E_NOMEM with *pp
 * and *cap as they were (also when the size would overflow). */
int feat_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t first);

/* feat_write_full for a named output: 0, or FEAT_E_IO with "name: write
 * error: reason" in why. */
int feat_write_named(int fd, const void *buf, size_t n, const char *name, char *why,
	size_t whylen);

/* Aligned allocation (FEAT_ALIGN); free with free(). NULL on failure. */
void *feat_aligned_alloc(size_t n);

/* "name: message" into why; returns err (for `return feat_fail_named(...)`). */
int feat_fail_named(char *why, size_t whylen, const char *name, int err,
	const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* snprintf into a fixed buffer that never fails loudly. */
void feat_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A file's bytes (base/file.c): mapped when it is a regular file, read
 * whole otherwise.  data is NULL when len is 0; feat_unmap releases. */
struct feat_mapped {
	const unsigned char *data;
	size_t len;
	void *map;               /* the mapping, or NULL */
	unsigned char *own;      /* the bytes read, or NULL */
};
#define FEAT_MAP_REGULAR 1u      /* refuse what is not a regular file */
/* Map or read fd (not closed; read from its current offset when not
 * mapped).  0, or FEAT_E_IO / FEAT_E_TOOBIG / FEAT_E_NOMEM with a one-line
 * reason in why ("is a directory", "cannot map: ...", "read error: ..."). */
int feat_map_fd(struct feat_mapped *m, int fd, unsigned flags, char *why, size_t whylen);
/* The same on a path ("cannot open: ..." too). */
int feat_map_file(struct feat_mapped *m, const char *path, unsigned flags, char *why,
	size_t whylen);
void feat_unmap(struct feat_mapped *m);
/* Read fd to its end into *buf (grown with realloc, *cap its size, meant
 * to be reused); *len gets the bytes read, also on error.  hint: the size
 * expected (0: unknown).  0, FEAT_E_IO (errno kept), FEAT_E_NOMEM, or
 * FEAT_E_TOOBIG past max_bytes (0: no limit). */
int feat_read_all(int fd, uint64_t max_bytes, uint64_t hint, unsigned char **buf,
	size_t *cap, size_t *len);

#endif
