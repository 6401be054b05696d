/*
 * outfile.c - write to a temporary file, rename over the target on
 * success: see feat/base.h and feat_outfile(3).  A target that is not a
 * regular file (after its symbolic links) is written in place; a symbolic
 * link to a regular file is written through, the file it leads to
 * replaced and the link kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"

static void release(struct feat_outfile *o)
{
	free(o->path);
	free(o->tmp);
	free(o->target);
	o->path = o->tmp = o->target = NULL;
	o->fd = -1;
	o->fp = NULL;
}

/* Close fd, or fp when the caller wrote through it; 0 or an errno. */
static int close_out(struct feat_outfile *o)
{
	int err = 0;

	if (o->fp) {
		if (fflush(o->fp) || ferror(o->fp))
			err = errno ? errno : EIO;
		if (fclose(o->fp) && !err)
			err = errno ? errno : EIO;
	} else if (close(o->fd)) {
		err = errno;
	}
	o->fp = NULL;
	o->fd = -1;
	return err;
}

/*
 * Follow the symbolic links from path to the first name that is not one
 * (which need not exist: a dangling link names the file to create).  A
 * relative link is taken from its link's directory.  *magic is set when a
 * link on the way is one of /proc's (/dev/stdout is /proc/self/fd/1): the
 * name it reads as is not a path to write beside.  Returns a new string,
 * or NULL with errno set (ELOOP after 40 links).
 */
static char *follow_links(const char *path, int *magic)
{
	struct stat proc, st;
	int have_proc = !stat("/proc/self", &proc);
	char *cur = strdup(path);

	*magic = 0;
	for (int hops = 0; cur; hops++) {
		char buf[4096], *next, *slash;
		ssize_t k;

		if (lstat(cur, &st) || !S_ISLNK(st.st_mode))
			return cur;
		if (hops == 40) {
			free(cur);
			errno = ELOOP;
			return NULL;
		}
		if (have_proc && st.st_dev == proc.st_dev)
			*magic = 1;
		if ((k = readlink(cur, buf, sizeof buf - 1)) < 0) {
			free(cur);
			return NULL;
		}
		buf[k] = 0;
		slash = strrchr(cur, '/');
		if (buf[0] == '/' || !slash) {
			next = strdup(buf);
		} else if ((next = malloc((size_t)(slash - cur) + 2 + (size_t)k))) {
			memcpy(next, cur, (size_t)(slash - cur) + 1);
			memcpy(next + (slash - cur) + 1, buf, (size_t)k + 1);
		}
		free(cur);
		cur = next;
	}
	errno = ENOMEM;
	return NULL;
}

int feat_outfile_open(struct feat_outfile *o, const char *path, char *why,
	size_t whylen)
{
	static unsigned serial;
	struct stat st, lst;
	const char *target = path;
	size_t n;
	int exists, link, magic = 0;

	o->fd = -1;
	o->tmp = NULL;
	o->target = NULL;
	o->fp = NULL;
	o->mode = -1;
	if (!(o->path = strdup(path)))
		return feat_fail_named(why, whylen, path, FEAT_E_NOMEM, "out of memory");
	exists = !stat(path, &st);
	link = !lstat(path, &lst) && S_ISLNK(lst.st_mode);
	if (link) {
		/* written through: the file the link leads to is replaced */
		if (!(o->target = follow_links(path, &magic))) {
			int err = errno;

			release(o);
			return feat_fail_named(why, whylen, path, err == ENOMEM ? FEAT_E_NOMEM
					       : FEAT_E_IO, "cannot follow the symbolic link: %s",
					       strerror(err));
		}
		target = o->target;
	}
	if (exists && S_ISDIR(st.st_mode)) {
		release(o);
		return feat_fail_named(why, whylen, path, FEAT_E_IO, "is a directory");
	}
	if (exists && (!S_ISREG(st.st_mode) || magic)) {
		/* a device, a FIFO, or a descriptor of /proc (/dev/stdout):
		 * written in place, as a shell's > would */
		o->fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (o->fd < 0) {
			int err = errno;

			release(o);
			return feat_fail_named(why, whylen, path, FEAT_E_IO,
				"cannot open for writing: %s", strerror(err));
		}
		free(o->target);
		o->target = NULL;
		return 0;
	}
	/* a file replaced keeps its mode; a new one gets 0666 less the umask */
	if (exists)
		o->mode = (int)(st.st_mode & 07777);
	n = strlen(target);
	if (!(o->tmp = malloc(n + 40))) {
		release(o);
		return feat_fail_named(why, whylen, path, FEAT_E_NOMEM, "out of memory");
	}
	for (int tries = 0; tries < 100; tries++) {
		snprintf(o->tmp, n + 40, "%s.tmp-%ld-%u", target, (long)getpid(), serial++);
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (o->fd >= 0 || errno != EEXIST)
			break;
	}
	if (o->fd < 0) {
		int err = errno;

		feat_fail_named(why, whylen, path, FEAT_E_IO,
			"cannot open for writing: %s", strerror(err));
		release(o);
		return FEAT_E_IO;
	}
	return 0;
}

/* The directory entry too should reach the disk; a failure here loses
 * nothing already written, so it is not reported. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
	int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

int feat_outfile_commit(struct feat_outfile *o, char *why, size_t whylen)
{
	int err = 0;

	if (o->fd < 0)
		return feat_fail_named(why, whylen, o->path ? o->path : "output",
			FEAT_E_IO, "not open");
	if (!o->tmp) {
		/* in place: only the close can still fail */
		if ((err = close_out(o))) {
			feat_fail_named(why, whylen, o->path, FEAT_E_IO, "write error: %s",
				strerror(err));
			release(o);
			return FEAT_E_IO;
		}
		release(o);
		return 0;
	}
	if (o->fp && (fflush(o->fp) || ferror(o->fp)))
		err = errno ? errno : EIO;
	if (!err && o->mode >= 0 && fchmod(o->fd, (mode_t)o->mode))
		err = errno;
	if (!err && fsync(o->fd))
		err = errno;
	{
		int e = close_out(o);

		err = err ? err : e;
	}
	if (!err && rename(o->tmp, o->target ? o->target : o->path))
		err = errno;
	if (err) {
		feat_fail_named(why, whylen, o->path, FEAT_E_IO, "write error: %s",
			strerror(err));
		unlink(o->tmp);
		release(o);
		return FEAT_E_IO;
	}
	sync_dir(o->target ? o->target : o->path);
	release(o);
	return 0;
}

void feat_outfile_abort(struct feat_outfile *o)
{
	if (o->fp)
		fclose(o->fp);
	else if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	release(o);
}
