/*
 * fuzz_stream.c - libFuzzer harness for the featstream reader.
 *
 * Feeds arbitrary bytes to the reader through a file descriptor (the path
 * every program uses) and to feat_rec_decode (the in-memory path).  Any
 * record the reader accepts must encode again and decode to the same
 * tensors: what is accepted is well formed.
 *
 *   make fuzz             (all harnesses, FUZZTIME seconds each)
 *   build-fuzz/fuzz_stream t/fuzz/corpus/stream   (by hand)
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "feat.h"

static void check_roundtrip(const struct feat_rec *r)
{
	unsigned char *frame;
	size_t len;
	struct feat_rec o;
	char detail[256];

	if (feat_rec_encode(r, &frame, &len))
		abort();
	feat_rec_init(&o);
	if (feat_rec_decode(&o, frame, len, NULL, detail, sizeof detail))
		abort();
	if (o.ntensors != r->ntensors || strcmp(o.key, r->key) ||
	    o.status != r->status || strcmp(o.msg, r->msg))
		abort();
	for (int i = 0; i < o.ntensors; i++)
		if (o.t[i].nbytes != r->t[i].nbytes ||
		    memcmp(o.t[i].data, r->t[i].data, o.t[i].nbytes))
			abort();
	feat_rec_free(&o);
	free(frame);
}

/*
 * Random bytes rarely carry a right CRC, which would keep the fuzzer at
 * the CRC check.  So every input is also tried with the CRC of each frame
 * it contains recomputed, to reach the field checks behind it.
 */
static void fix_crcs(unsigned char *b, size_t size)
{
	size_t pos = 0;

	while (pos + 64 <= size) {
		uint64_t s;
		uint32_t c;

		if (!memcmp(b + pos, FEAT_STREAM_MAGIC, 8)) {
			pos += 64;
			continue;
		}
		if (memcmp(b + pos, FEAT_REC_MAGIC, 4))
			return;
		memcpy(&s, b + pos + 8, 8);  /* little-endian host */
		if (s < 64 || s > size - pos)
			return;
		c = feat_crc32(0, b + pos + 8, (size_t)s - 8);
		memcpy(b + pos + 4, &c, 4);
		pos += (size_t)s;
	}
}

static void run(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *fixed = malloc(size ? size : 1);

	run(data, size);
	if (fixed) {
		memcpy(fixed, data, size);
		fix_crcs(fixed, size);
		run(fixed, size);
		free(fixed);
	}
	return 0;
}

static void run(const uint8_t *data, size_t size)
{
	static const struct feat_limits lim = { .max_record = 1 << 20 };
	int fd = memfd_create("fuzz", 0);
	feat_reader *rd;
	struct feat_rec r;
	unsigned char *copy;
	char detail[256];

	if (fd < 0)
		return;
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET)) {
		close(fd);
		return;
	}
	if (feat_reader_new(&rd, fd, "fuzz", &lim)) {
		close(fd);
		return;
	}
	feat_rec_init(&r);
	while (feat_reader_next(rd, &r) > 0)
		check_roundtrip(&r);
	feat_reader_drain(rd);
	feat_reader_free(rd);
	close(fd);

	/* the in-memory path, on an aligned copy of a single frame */
	copy = malloc(size + 64);
	if (copy) {
		unsigned char *a = copy + (64 - (uintptr_t)copy % 64) % 64;

		memcpy(a, data, size);
		if (feat_rec_decode(&r, a, size, &lim, detail, sizeof detail) == 0)
			check_roundtrip(&r);
		free(copy);
	}
	feat_rec_free(&r);
}
