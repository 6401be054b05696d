/*
 * feat/base.h - libfeat: the export macro, the version, the error codes
 * that every part of the interface uses, and output files written whole.  Part of <feat.h>, which
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

/* ------------------------------------------------------------------ files */

/*
 * A named output file that appears whole or not at all (feat_outfile(3)):
 * the bytes go to a temporary file in the target's directory, which is
 * flushed to disk and renamed over the target only at
 * feat_outfile_commit().  A run that fails or is killed leaves the old
 * target as it was (and, if killed by SIGKILL, a stray PATH.tmp-PID-N
 * beside it).  Every program and library call that writes a file the user
 * named goes through these calls.
 *
 * A target that exists and is not a regular file (/dev/null, a FIFO, a
 * terminal), also when reached through symbolic links, cannot be replaced
 * by a rename: it is opened and written in place, as is a name that leads
 * through /proc (/dev/stdout, /dev/fd/N).  A symbolic link to a regular
 * file (or to none yet) is written through: the temporary file goes
 * beside the file it leads to, which is replaced, and the link stays.  A
 * regular file that is replaced keeps its permission bits; a new one gets
 * 0666 less the umask, as open(2) would give it.
 */
struct feat_outfile {
	int fd;         /* write the output here; -1 when not open */
	char *path;     /* the target, as named */
	char *tmp;      /* the temporary file; NULL when written in place */
	int mode;       /* permission bits to give the result, or -1 */
	char *target;   /* the file renamed over when a symbolic link leads
	                   to it; NULL when that is path itself */
	FILE *fp;       /* set by the caller when it wrote through fdopen(fd):
	                   commit flushes and fcloses it instead of close(fd) */
};

/* Create the temporary file for path (or open path itself, see above).
 * 0, or FEAT_E_IO / FEAT_E_NOMEM with "path: reason" in why. */
FEAT_API int feat_outfile_open(struct feat_outfile *o, const char *path, char *why,
	size_t whylen);
/* The output is complete: fsync, close, rename over the target.  0, or
 * FEAT_E_IO with the reason in why; the temporary file is then removed
 * and the target left as it was.  Either way o is closed. */
FEAT_API int feat_outfile_commit(struct feat_outfile *o, char *why, size_t whylen);
/* The output is not to be kept: close and remove the temporary file.
 * Safe on a closed or never opened (zeroed, fd -1) outfile. */
FEAT_API void feat_outfile_abort(struct feat_outfile *o);
/* write(2) all of buf, retrying on EINTR and short writes.  0, or the
 * errno of the failure (not a FEAT_E_*). */
FEAT_API int feat_write_full(int fd, const void *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H_BASE */
