/*
 * fuzz_index.c - libFuzzer harness for the featindex reader.
 *
 * Opens arbitrary bytes as an index (an exact-size, 8-aligned copy, so
 * that AddressSanitizer sees any read past the end).  An index the reader
 * accepts is searched (radius by the tables and by a scan, which must
 * agree, and k nearest), self-joined, verified, and, when verify passes,
 * written again and reopened with the same records.
 *
 *   make fuzz             (all harnesses, FUZZTIME seconds each)
 *   build-fuzz/fuzz_index t/fuzz/corpus/index   (by hand)
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "feat.h"

static void roundtrip(feat_index *ix)
{
	int fd = memfd_create("fuzz-index", 0);
	char detail[256];
	feat_index *o;
	off_t size;
	unsigned char *buf;

	if (fd < 0)
		return;
	if (feat_index_write(ix, fd))
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = aligned_alloc(64, (size + 64) / 64 * 64);
	feat_index *ix;
	char detail[256];

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	detail[0] = 0;
	if (feat_index_open_mem(&ix, copy, size, "fuzz", detail, sizeof detail) == 0) {
		const struct feat_index_info *in = feat_index_info(ix);
		uint64_t n = feat_index_count(ix);
		struct feat_hits a = { 0 }, b = { 0 };
		uint8_t q[FEAT_INDEX_MAX_BITS / 8] = { 0 };

		if (n && n < 4096) {
			memcpy(q, feat_index_code(ix, n / 2), in->code_stride);
			for (unsigned r = 0; r < 4; r++) {
				if (feat_index_radius(ix, q, r, FEAT_SEARCH_AUTO, &a) ||
				    feat_index_radius(ix, q, r, FEAT_SEARCH_SCAN, &b))
					abort();
				/* a lying table may hide a record or repeat one,
				 * but every hit is a true one */
				for (size_t i = 0; i < a.n; i++)
					if (a.v[i].id >= n || a.v[i].dist > r ||
					    a.v[i].dist != feat_hamming(q,
						feat_index_code(ix, a.v[i].id), in->code_stride))
						abort();
			}
			if (feat_index_knn(ix, q, 3, FEAT_SEARCH_AUTO, &a))
				abort();
			if (n < 512) {
				struct feat_pair *p;
				size_t np;

				if (feat_index_selfjoin(ix, 2, FEAT_SEARCH_AUTO, 1, &p, &np))
					abort();
				free(p);
			}
			if (feat_index_verify(ix, detail, sizeof detail) == 0) {
				/* a true index finds exactly what the scan finds */
				feat_index_radius(ix, q, 3, FEAT_SEARCH_AUTO, &a);
				feat_index_radius(ix, q, 3, FEAT_SEARCH_SCAN, &b);
				if (a.n != b.n || memcmp(a.v, b.v, a.n * sizeof *a.v))
					abort();
				roundtrip(ix);
			}
		}
		if (feat_index_code(ix, n) || feat_index_key(ix, n, &(size_t){ 0 }))
			abort();
		feat_hits_free(&a);
		feat_hits_free(&b);
		feat_index_free(ix);
	} else if (!detail[0]) {
		abort();  /* every refusal says why */
	}
	free(copy);
	return 0;
}
