/*
 * outfile.h - a named output file that appears whole or not at all.
 *
 * Every program and library function that writes a file the user named
 * (featwrite -o, featmodel import -o, featindex, featdraw's sheet, ...)
 * goes through these three calls: the bytes go to a temporary file in the
 * target's directory, which is flushed to disk and renamed over the target
 * only when the writer says the output is complete.  A run that fails or
 * is killed leaves the old target as it was (and, if killed by SIGKILL, a
 * stray PATH.tmp-PID-N beside it).
 *
 * A target that exists and is not a regular file (/dev/null, a FIFO, a
 * terminal) cannot be replaced by a rename: it is opened and written in
 * place.  A symbolic link at the target is replaced, never written
 * through.  A regular file that is replaced keeps its permission bits; a
 * new one gets 0666 less the umask, as open(2) would give it.
 */
#ifndef FEAT_OUTFILE_H
#define FEAT_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

struct feat_outfile {
	int fd;         /* write the output here; -1 when not open */
	char *path;     /* the target, as named */
	char *tmp;      /* the temporary file; NULL when written in place */
	int mode;       /* permission bits to give the result, or -1 */
	FILE *fp;       /* set by the caller when it wrote through fdopen(fd):
	                   commit flushes and fcloses it instead of close(fd) */
};

/* Create the temporary file for path (or open path itself, see above).
 * 0, or FEAT_E_IO / FEAT_E_NOMEM with "path: reason" in detail. */
int feat_outfile_open(struct feat_outfile *o, const char *path, char *detail,
	size_t dlen);

/* The output is complete: fsync, close, rename over the target.  0, or
 * FEAT_E_IO with the reason in detail; the temporary file is then removed
 * and the target left as it was.  Either way o is closed. */
int feat_outfile_commit(struct feat_outfile *o, char *detail, size_t dlen);

/* The output is not to be kept: close and remove the temporary file.
 * Safe on a closed or never opened (zeroed, fd -1) outfile. */
void feat_outfile_abort(struct feat_outfile *o);

#endif
