/*
 * file.c - a file's bytes, the one way libfeat gets them: a regular file
 * is mapped read-only, anything else (a pipe, a terminal, a device when
 * asked for) is read to its end into a buffer that grows as data arrives.
 * The model, featcodes and featindex loaders, feat_index_load and
 * feat_file_load all come here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"

int feat_read_all(int fd, uint64_t max_bytes, uint64_t hint, unsigned char **buf,
	size_t *cap, size_t *len)
{
	size_t n = 0;

	*len = 0;
	for (;;) {
		/* the whole size (plus a byte to see the end) when it is known,
		 * else 64 KiB and doubling; never more than the limit and a
		 * byte, so that /dev/zero is refused after max_bytes + 1 */
		size_t want = hint && hint + 1 > n ? (size_t)hint + 1
			      : n < 65536 ? 65536 : 2 * n;
		ssize_t k;

		if (want <= n)
			return FEAT_E_NOMEM;   /* size_t overflow */
		if (max_bytes && (uint64_t)want > max_bytes + 1)
			want = (size_t)(max_bytes + 1);
		if (want > *cap) {
			unsigned char *p = realloc(*buf, want);

			if (!p)
				return FEAT_E_NOMEM;
			*buf = p;
			*cap = want;
		}
		k = read(fd, *buf + n, *cap - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return FEAT_E_IO;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		*len = n;
		if (max_bytes && n > max_bytes)
			return FEAT_E_TOOBIG;
	}
	return 0;
}

int feat_map_fd(struct feat_mapped *m, int fd, unsigned flags, char *why, size_t whylen)
{
	struct stat st;
	size_t cap = 0;
	int e;

	memset(m, 0, sizeof *m);
	if (fstat(fd, &st)) {
		feat_fmt(why, whylen, "cannot stat: %s", strerror(errno));
		return FEAT_E_IO;
	}
	if (S_ISDIR(st.st_mode)) {
		feat_fmt(why, whylen, "is a directory");
		return FEAT_E_IO;
	}
	if (S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > SIZE_MAX) {
			feat_fmt(why, whylen, "file too large to map");
			return FEAT_E_TOOBIG;
		}
		m->len = (size_t)st.st_size;
		if (!m->len)
			return 0;
		m->map = mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd, 0);
		if (m->map == MAP_FAILED) {
			m->map = NULL;
			m->len = 0;
			feat_fmt(why, whylen, "cannot map: %s", strerror(errno));
			return FEAT_E_IO;
		}
		m->data = m->map;
		return 0;
	}
	if (flags & FEAT_MAP_REGULAR) {
		feat_fmt(why, whylen, "not a regular file (it is mapped)");
		return FEAT_E_IO;
	}
	if ((e = feat_read_all(fd, 0, 0, &m->own, &cap, &m->len))) {
		if (e == FEAT_E_IO)
			feat_fmt(why, whylen, "read error: %s", strerror(errno));
		else
			feat_fmt(why, whylen, "out of memory after %zu bytes", m->len);
		feat_unmap(m);
		return e;
	}
	m->data = m->own;
	return 0;
}

int feat_map_file(struct feat_mapped *m, const char *path, unsigned flags, char *why,
	size_t whylen)
{
	int fd, e;

	memset(m, 0, sizeof *m);
	/* a FIFO would block the open itself until a writer came: look first */
	if (flags & FEAT_MAP_REGULAR) {
		struct stat st;

		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			feat_fmt(why, whylen, "not a regular file (it is mapped)");
			return FEAT_E_IO;
		}
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		feat_fmt(why, whylen, "cannot open: %s", strerror(errno));
		return FEAT_E_IO;
	}
	e = feat_map_fd(m, fd, flags, why, whylen);
	close(fd);   /* a mapping outlives its descriptor */
	return e;
}

void feat_unmap(struct feat_mapped *m)
{
	if (m->map)
		munmap(m->map, m->len);
	free(m->own);
	memset(m, 0, sizeof *m);
}
