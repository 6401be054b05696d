/*
 * feat/base.h - libfeat: the export macro, the version and the error
 * codes that every part of the interface uses.  Part of <feat.h>, which
 * includes every one of these headers.
 *
 * Conventions: functions that can fail return an int that is 0 (or a count)
 * on success and a negative FEAT_E_* value on failure; feat_strerror() turns
 * it into text.  The library never prints and never exits.  Where a failure
 * needs more words than the error code (which record, which field, which
 * byte), a call that makes or opens something takes a buffer of the
 * caller's, `char *why, size_t whylen`, that receives them as one line (no
 * newline, cut to fit, always NUL-terminated when whylen > 0); an object
 * that fails later (a reader, a writer) keeps that line, and its *_detail()
 * function returns it.
 */
#ifndef FEAT_H_BASE
#define FEAT_H_BASE

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What libfeat.so exports: the functions <feat.h>'s headers declare
 * FEAT_API, and nothing else (the library is built with
 * -fvisibility=hidden). */
#ifndef FEAT_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define FEAT_API __attribute__((visibility("default")))
#else
#define FEAT_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define FEAT_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

enum feat_error {
	FEAT_OK = 0,
	FEAT_E_NOMEM = -1,      /* out of memory */
	FEAT_E_IO = -2,         /* read or write failed (errno is kept) */
	FEAT_E_NOTSTREAM = -3,  /* input is not a featstream */
	FEAT_E_VERSION = -4,    /* featstream version this build cannot read */
	FEAT_E_TRUNCATED = -5,  /* stream ended inside a record */
	FEAT_E_CRC = -6,        /* record CRC mismatch */
	FEAT_E_CORRUPT = -7,    /* a header field is inconsistent */
	FEAT_E_TOOBIG = -8,     /* a size is over a limit */
	FEAT_E_INVAL = -9,      /* invalid argument */
	FEAT_E_EMPTY = -10,     /* input is empty */
	FEAT_E_FORMAT = -11,    /* unknown or unsupported file format */
	FEAT_E_DECODE = -12,    /* image data is corrupt */
	FEAT_E_NOTFOUND = -13,  /* a named thing is missing */
	FEAT_E_RANGE = -14,     /* a value is out of range */
};

/* A static, one-line description of a FEAT_E_* code. */
FEAT_API const char *feat_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H_BASE */
