/*
 * fuzz_fcd.c - libFuzzer harness for the code-file loader that featdedup,
 * featsearch and featindex share (feat_index_load, lib/codes/load.c): a
 * featcodes file (featwrite -f bin), a featindex file, a featstream's
 * code tensors, or key TAB hex lines.
 *
 * The input is one file, or several separated by FUZZ_SEP: each is loaded
 * in turn into the same index, as featdedup loads its FILE arguments (so
 * that a second file of another code width meets the first's index).  A
 * part of even length is read as a regular file (a memfd, mapped), one
 * of odd length (under 1 MiB) through a pipe (read whole, then
 * sniffed), so both of the loader's paths are fuzzed.  A set the loader accepts is what the
 * programs then use: an index of at least one code width, searched by
 * radius and k nearest (the multi-index tables and the scan must agree
 * exactly on an index built in memory), self-joined and grouped as
 * featdedup does, written as featindex build does and read back with the
 * same records.  A refusal must say why.  Inputs whose length has bit 1
 * set use the plain C popcount, the others the fastest.
 *
 *   make fuzz FUZZ=fcd
 *   build-fuzz/fuzz_fcd t/fuzz/corpus/fcd   (by hand)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "feat.h"

#define FUZZ_SEP "\n\0fuzz:next-file\0\n"
#define FUZZ_SEPLEN (sizeof FUZZ_SEP - 1)
#define FUZZ_MAXN 2048          /* records searched and joined */

/* A descriptor holding bytes [p, p + n): a memfd, or a pipe's read end. */
static int source(const uint8_t *p, size_t n)
{
	int fd[2];

	if (n % 2 && n < 1 << 20) {
		if (pipe(fd) || fcntl(fd[1], F_SETPIPE_SZ, (int)(n + 4096)) < 0 ||
		    write(fd[1], p, n) != (ssize_t)n)
			abort();
		close(fd[1]);
		return fd[0];
	}
	fd[0] = memfd_create("fuzz-fcd", 0);
	if (fd[0] < 0 || (n && write(fd[0], p, n) != (ssize_t)n))
		abort();
	return fd[0];
}

static void same_hits(const struct feat_hits *a, const struct feat_hits *b)
{
	if (a->n != b->n || (a->n && memcmp(a->v, b->v, a->n * sizeof *a->v)))
		abort();
}

static void roundtrip(feat_index *ix)
{
	int fd = memfd_create("fuzz-fix", 0);
	char detail[256];
	feat_index *o;
	off_t size;
	unsigned char *buf;

	if (fd < 0 || feat_index_write(ix, fd))
		abort();
	size = lseek(fd, 0, SEEK_END);
	buf = aligned_alloc(64, ((size_t)size + 63) / 64 * 64);
	if (!buf || pread(fd, buf, (size_t)size, 0) != size)
		abort();
	if (feat_index_open_mem(&o, buf, (size_t)size, "out", detail, sizeof detail) ||
	    feat_index_count(o) != feat_index_count(ix) ||
	    feat_index_verify(o, detail, sizeof detail))
		abort();
	for (uint64_t i = 0; i < feat_index_count(ix); i++) {
		size_t a, b;
		const char *ka = feat_index_key(ix, i, &a), *kb = feat_index_key(o, i, &b);

		if (a != b || memcmp(ka, kb, a) ||
		    memcmp(feat_index_code(ix, i), feat_index_code(o, i),
			   feat_index_info(ix)->code_stride))
			abort();
	}
	feat_index_free(o);
	free(buf);
	close(fd);
}

static void use(feat_index *ix)
{
	const struct feat_index_info *in = feat_index_info(ix);
	uint64_t n = feat_index_count(ix);
	struct feat_hits a = { 0 }, b = { 0 };
	uint8_t q[FEAT_INDEX_MAX_BITS / 8] = { 0 };
	char detail[256];
	int true_before;

	if (in->code_bits < 1 || in->code_bits > FEAT_INDEX_MAX_BITS ||
	    feat_index_code(ix, n) || feat_index_key(ix, n, &(size_t){ 0 }))
		abort();
	for (uint64_t i = 0; i < n; i++) {
		size_t kl;

		if (!feat_index_code(ix, i) || !feat_index_key(ix, i, &kl))
			abort();
	}
	/* an index that opened is true (opening checks every table against
	 * the codes), and stays true through a build */
	if (n > FUZZ_MAXN)
		return;
	true_before = !feat_index_verify(ix, detail, sizeof detail) || !feat_index_count(ix);
	if (!true_before)
		abort();
	if (feat_index_build(ix))
		return;
	if (feat_index_verify(ix, detail, sizeof detail))
		abort();
	if (n)
		memcpy(q, feat_index_code(ix, n / 2), in->code_stride);
	for (unsigned r = 0; r < 5; r += 2) {
		if (feat_index_radius(ix, q, r, FEAT_SEARCH_AUTO, &a) ||
		    feat_index_radius(ix, q, r, FEAT_SEARCH_SCAN, &b))
			abort();
		same_hits(&a, &b);
		if (n && (a.n < 1 || a.v[0].dist != 0))
			abort();  /* the query is a record's own code */
	}
	if (feat_index_knn(ix, q, 3, FEAT_SEARCH_AUTO, &a) ||
	    feat_index_knn(ix, q, 3, FEAT_SEARCH_SCAN, &b))
		abort();
	same_hits(&a, &b);
	if (a.n != (n < 3 ? n : 3))
		abort();
	if (n < 512) {
		struct feat_pair *p = NULL, *s = NULL;
		size_t np = 0, ns = 0;
		uint32_t *rep = malloc(sizeof *rep * (n ? n : 1));

		if (!rep || feat_index_selfjoin(ix, 2, FEAT_SEARCH_AUTO, 1, &p, &np) ||
		    feat_index_selfjoin(ix, 2, FEAT_SEARCH_SCAN, 1, &s, &ns))
			abort();
		if (np != ns || (np && memcmp(p, s, np * sizeof *p)))
			abort();
		for (int mode = FEAT_GROUP_COMPONENTS; mode <= FEAT_GROUP_LEADER; mode++) {
			if (feat_index_group(n, p, np, mode, rep))
				abort();
			for (uint64_t i = 0; i < n; i++)
				if (rep[i] > i || rep[rep[i]] != rep[i])
					abort();
		}
		free(p);
		free(s);
		free(rep);
	}
	feat_hits_free(&a);
	feat_hits_free(&b);
	roundtrip(ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	feat_index *ix = NULL;
	char detail[512], path[64];
	const uint8_t *p = data, *end = data + size;
	int e = 0, parts = 0;

	/* the AVX-512 popcount is built without the sanitizers (Makefile):
	 * inputs with bit 1 of their length set compare on the plain C one */
	feat_popcount_select(size & 2 ? "ref" : "auto");
	while (!e && parts < 4) {
		const uint8_t *s = memmem(p, (size_t)(end - p), FUZZ_SEP, FUZZ_SEPLEN);
		size_t n = s ? (size_t)(s - p) : (size_t)(end - p);
		int fd = source(p, n);

		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		detail[0] = 0;
		e = ix ? feat_index_add_file(ix, path, NULL, detail, sizeof detail)
		       : feat_index_load(&ix, path, NULL, detail, sizeof detail);
		close(fd);
		if (e && !detail[0])
			abort();  /* every refusal says why */
		parts++;
		if (!s)
			break;
		p = s + FUZZ_SEPLEN;
	}
	if (!e) {
		if (!ix)
			abort();  /* success means an index to search */
		use(ix);
	}
	feat_index_free(ix);
	return 0;
}
