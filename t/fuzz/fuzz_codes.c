/*
 * fuzz_codes.c - libFuzzer harness for the featcodes reader.
 *
 * Parses arbitrary bytes from memory (an exact-size copy, so that
 * AddressSanitizer sees any read past the end), and when the header is
 * accepted walks every record through the accessors and
 * feat_codes_verify().  A file the reader
 * accepts must also be rewritable: its records written again by the
 * writer read back with the same codes and keys.
 *
 *   make fuzz             (all harnesses, FUZZTIME seconds each)
 *   build-fuzz/fuzz_codes t/fuzz/corpus/codes   (by hand)
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "feat.h"

static void rewrite(const feat_codes *c)
{
	const struct feat_codes_info *in = feat_codes_info(c);
	uint64_t n = feat_codes_count(c);
	feat_codes_writer *w;
	feat_codes *o;
	int fd = memfd_create("fuzz-out", 0);
	char detail[256];
	unsigned char *buf;
	off_t size;

	if (fd < 0)
		return;
	if (n > 4096 || feat_codes_writer_new(&w, fd, "out", in->code_bits,
					      in->key_width)) {
		close(fd);
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		size_t kl;
		const char *k = feat_codes_key(c, i, &kl, NULL);

		if (feat_codes_writer_put(w, k, kl, feat_codes_code(c, i)) < 0)
			abort();
	}
	if (feat_codes_writer_close(w))
		abort();
	size = lseek(fd, 0, SEEK_END);
	buf = malloc((size_t)size);
	if (!buf || pread(fd, buf, (size_t)size, 0) != size)
		abort();
	if (feat_codes_open_mem(&o, buf, (size_t)size, "out", detail, sizeof detail) ||
	    feat_codes_count(o) != n || feat_codes_info(o)->count != n)
		abort();
	for (uint64_t i = 0; i < n; i++) {
		size_t a, b;
		const char *ka = feat_codes_key(c, i, &a, NULL);
		const char *kb = feat_codes_key(o, i, &b, NULL);
		size_t cb = in->code_bits / 8;  /* whole bytes compare exactly */

		if (a != b || memcmp(ka, kb, a) ||
		    memcmp(feat_codes_code(c, i), feat_codes_code(o, i), cb))
			abort();
	}
	feat_codes_close(o);
	free(buf);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = malloc(size ? size : 1);
	feat_codes *c;
	char detail[256];
	uint64_t bad, d = 0;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (feat_codes_open_mem(&c, copy, size, "fuzz", detail, sizeof detail) == 0) {
		const struct feat_codes_info *in = feat_codes_info(c);
		uint64_t n = feat_codes_count(c);

		for (uint64_t i = 0; i < n; i++) {
			size_t kl;
			uint32_t full;
			const char *k = feat_codes_key(c, i, &kl, &full);

			if (!k || kl > in->key_width || kl > full)
				abort();
			d += feat_hamming(feat_codes_code(c, 0), feat_codes_code(c, i),
					  in->code_stride);
			d += (unsigned char)k[kl ? kl - 1 : 0];
		}
		if (feat_codes_code(c, n) || feat_codes_key(c, n, NULL, NULL))
			abort();
		if (feat_codes_verify(c, &bad, detail, sizeof detail) == 0)
			rewrite(c);
		feat_codes_close(c);
	} else if (!detail[0]) {
		abort();  /* every refusal says why */
	}
	free(copy);
	return (int)(d & 0);
}
