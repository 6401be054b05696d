/*
 * codes.c - binary codes: Hamming distance, and the featcodes file
 * (man/man5/featcodes.5) that featwrite -f bin writes and that search and
 * dedup tools map and scan.
 *
 * The file is a 64-byte header and then fixed-size records:
 *
 *   0  magic "\x89FCD\r\n\x1a\n"   8 u16 major   10 u16 minor
 *   12 u32 header_size             16 u32 code_bits   20 u32 code_stride
 *   24 u32 key_width               28 u32 record_size 32 u64 count
 *   40..63 zero
 *
 *   record: code (code_stride bytes, a multiple of 8, zero padded),
 *           u32 full key length, key (key_width bytes, NUL padded),
 *           zero padding to record_size (a multiple of 8)
 *
 * Records start 8-byte aligned in a mapped file, so a scan loads codes as
 * 64-bit words straight from the page cache.  The reader trusts nothing in
 * the header: each field is checked against the others and against the
 * real file size before any record is touched, and the accessors only ever
 * use the checked layout, so a hostile record can at worst yield a wrong
 * key length (clamped to key_width) but never a read out of bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"

_Static_assert(sizeof(FEAT_CODES_MAGIC) - 1 == 8, "featcodes magic is 8 bytes");
_Static_assert(FEAT_CODES_HDR == 8 + 2 + 2 + 4 * 5 + 8 + 24,
	       "featcodes header layout is 64 bytes");
_Static_assert(FEAT_CODES_HDR % 8 == 0, "records after the header stay 8-aligned");
_Static_assert(8 + 4 + FEAT_CODES_KEY_WIDTH == 128,
	       "default key width makes a 64-bit code record 128 bytes");

#define CODES_IOBUF (256 * 1024)

/* ------------------------------------------------------------ hamming */

/*
 * Baseline x86-64 has no POPCNT instruction, and without it the compiler
 * counts bits with a library call.  The copy built for POPCNT is chosen
 * at run time, so that every CPU of the last fifteen years gets the single
 * instruction while the library still runs on any x86-64.
 */
#define HAMMING_BODY \
	uint64_t d = 0; \
	size_t i = 0; \
	for (; i + 8 <= nbytes; i += 8) { \
		uint64_t x, y; \
		memcpy(&x, a + i, 8); \
		memcpy(&y, b + i, 8); \
		d += (uint64_t)__builtin_popcountll(x ^ y); \
	} \
	for (; i < nbytes; i++) \
		d += (uint64_t)__builtin_popcount((unsigned)(a[i] ^ b[i])); \
	return d;

static uint64_t hamming_plain(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	HAMMING_BODY
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt")))
static uint64_t hamming_popcnt(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	HAMMING_BODY
}
#endif

uint64_t feat_hamming(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
#if defined(__x86_64__) && defined(__GNUC__)
	/* a load of a flag that libgcc's constructor set up */
	if (__builtin_cpu_supports("popcnt"))
		return hamming_popcnt(a, b, nbytes);
#endif
	return hamming_plain(a, b, nbytes);
}

/* ------------------------------------------------------------- layout */

int feat_codes_layout(uint32_t code_bits, uint32_t key_width,
	struct feat_codes_info *info)
{
	memset(info, 0, sizeof *info);
	if (code_bits > FEAT_CODES_MAX_BITS || key_width > FEAT_CODES_MAX_KEY_WIDTH)
		return FEAT_E_RANGE;
	info->major = FEAT_CODES_MAJOR;
	info->minor = FEAT_CODES_MINOR;
	info->header_size = FEAT_CODES_HDR;
	info->code_bits = code_bits;
	info->code_stride = (uint32_t)feat_align_up((code_bits + 7) / 8, 8);
	info->key_width = key_width;
	info->record_size =
		(uint32_t)feat_align_up((uint64_t)info->code_stride + 4 + key_width, 8);
	return 0;
}

static void encode_header(const struct feat_codes_info *in, unsigned char *h)
{
	memset(h, 0, FEAT_CODES_HDR);
	memcpy(h, FEAT_CODES_MAGIC, 8);
	feat_wr16(h + 8, (uint16_t)in->major);
	feat_wr16(h + 10, (uint16_t)in->minor);
	feat_wr32(h + 12, in->header_size);
	feat_wr32(h + 16, in->code_bits);
	feat_wr32(h + 20, in->code_stride);
	feat_wr32(h + 24, in->key_width);
	feat_wr32(h + 28, in->record_size);
	feat_wr64(h + 32, in->count);
}

/* ------------------------------------------------------------- writer */

struct feat_codes_writer {
	int fd;
	char name[128];
	struct feat_codes_info info;
	int seekable;            /* the count can be written back at close */
	off_t start;             /* offset of the header in the file */
	uint8_t lastmask;        /* bits of the code's last byte that are kept */
	unsigned char *buf;
	size_t len, cap;
	uint64_t nrec, ntrunc;
	int err;
	char detail[256];
};

static int cw_write(feat_codes_writer *w, const unsigned char *p, size_t n)
{
	int e = feat_write_named(w->fd, p, n, w->name, w->detail, sizeof w->detail);

	return e ? (w->err = e) : 0;
}

static int cw_flush(feat_codes_writer *w)
{
	int e = 0;

	if (w->err)
		return w->err;
	if (w->len)
		e = cw_write(w, w->buf, w->len);
	w->len = 0;
	return e;
}

int feat_codes_writer_new(feat_codes_writer **out, int fd, const char *name,
	uint32_t code_bits, uint32_t key_width)
{
	feat_codes_writer *w;
	struct stat st;
	int e, fl;

	*out = NULL;
	w = calloc(1, sizeof *w);
	if (!w)
		return FEAT_E_NOMEM;
	if ((e = feat_codes_layout(code_bits, key_width, &w->info))) {
		free(w);
		return e;
	}
	w->fd = fd;
	feat_fmt(w->name, sizeof w->name, "%s", name ? name : "output");
	w->lastmask = code_bits % 8 ? (uint8_t)(0xff << (8 - code_bits % 8)) : 0xff;
	/* Whole records per buffer, at least one. */
	w->cap = CODES_IOBUF / w->info.record_size * w->info.record_size;
	if (w->cap < w->info.record_size)
		w->cap = w->info.record_size;
	if (w->cap < FEAT_CODES_HDR)
		w->cap = FEAT_CODES_HDR;
	w->buf = malloc(w->cap);
	if (!w->buf) {
		free(w);
		return FEAT_E_NOMEM;
	}
	/* pwrite(2) on an O_APPEND file appends on Linux, so such a file
	 * keeps count 0 like a pipe. */
	fl = fcntl(fd, F_GETFL);
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && fl >= 0 && !(fl & O_APPEND) &&
	    (w->start = lseek(fd, 0, SEEK_CUR)) >= 0)
		w->seekable = 1;
	encode_header(&w->info, w->buf);
	w->len = FEAT_CODES_HDR;
	if ((e = cw_flush(w))) {
		free(w->buf);
		free(w);
		return e;
	}
	*out = w;
	return 0;
}

int feat_codes_writer_put(feat_codes_writer *w, const char *key,
	size_t keylen, const uint8_t *code)
{
	const struct feat_codes_info *in = &w->info;
	size_t cb = (in->code_bits + 7) / 8, kept;
	unsigned char *p;
	int e;

	if (w->err)
		return w->err;
	if (keylen > FEAT_KEY_MAX || (cb && !code) || (keylen && !key))
		return FEAT_E_INVAL;
	if (w->cap - w->len < in->record_size && (e = cw_flush(w)))
		return e;
	p = w->buf + w->len;
	memset(p, 0, in->record_size);
	if (cb) {
		memcpy(p, code, cb);
		p[cb - 1] &= w->lastmask;
	}
	kept = keylen < in->key_width ? keylen : in->key_width;
	feat_wr32(p + in->code_stride, (uint32_t)keylen);
	if (kept)
		memcpy(p + in->code_stride + 4, key, kept);
	w->len += in->record_size;
	w->nrec++;
	if (kept < keylen) {
		w->ntrunc++;
		return 1;
	}
	return 0;
}

uint64_t feat_codes_writer_records(const feat_codes_writer *w)
{
	return w->nrec;
}

uint64_t feat_codes_writer_truncated(const feat_codes_writer *w)
{
	return w->ntrunc;
}

const char *feat_codes_writer_detail(const feat_codes_writer *w)
{
	return w->detail;
}

int feat_codes_writer_close(feat_codes_writer *w)
{
	int e;

	if (!w)
		return 0;
	e = cw_flush(w);
	if (!e && w->seekable && w->nrec) {
		unsigned char c[8];
		ssize_t k;

		feat_wr64(c, w->nrec);
		k = pwrite(w->fd, c, 8, w->start + 32);
		if (k != 8) {
			feat_fmt(w->detail, sizeof w->detail,
				 "%s: cannot write the record count into the header: %s",
				 w->name, k < 0 ? strerror(errno) : "short write");
			e = FEAT_E_IO;
		}
	}
	free(w->buf);
	free(w);
	return e;
}

/* ------------------------------------------------------------- reader */

struct feat_codes {
	const unsigned char *base;   /* the whole file */
	size_t size;
	struct feat_mapped file;     /* the file's bytes, released at close */
	struct feat_codes_info info;
	uint64_t count;
	const unsigned char *recs;
	char name[128];
};

#define hdr_fail feat_fail_named

/* Check the header of c->base/c->size and derive the record count. */
static int check_header(struct feat_codes *c, char *why, size_t whylen)
{
	const unsigned char *h = c->base;
	struct feat_codes_info *in = &c->info, want;
	const char *nm = c->name;
	uint64_t body, n;

	if (c->size == 0)
		return hdr_fail(why, whylen, nm, FEAT_E_EMPTY,
				"empty file: no featcodes header");
	if (memcmp(h, FEAT_CODES_MAGIC, c->size < 8 ? c->size : 8)) {
		if (c->size >= 8 && !memcmp(h, FEAT_STREAM_MAGIC, 8))
			return hdr_fail(why, whylen, nm, FEAT_E_FORMAT,
					"not a featcodes file: it is a featstream "
					"(featwrite -f bin makes a featcodes file from it)");
		return hdr_fail(why, whylen, nm, FEAT_E_FORMAT,
				"not a featcodes file (bad magic)");
	}
	if (c->size < FEAT_CODES_HDR)
		return hdr_fail(why, whylen, nm, FEAT_E_TRUNCATED,
				"header cut short: %zu of %d bytes", c->size,
				FEAT_CODES_HDR);
	in->major = feat_rd16(h + 8);
	in->minor = feat_rd16(h + 10);
	in->header_size = feat_rd32(h + 12);
	in->code_bits = feat_rd32(h + 16);
	in->code_stride = feat_rd32(h + 20);
	in->key_width = feat_rd32(h + 24);
	in->record_size = feat_rd32(h + 28);
	in->count = feat_rd64(h + 32);
	if (in->major != FEAT_CODES_MAJOR)
		return hdr_fail(why, whylen, nm, FEAT_E_VERSION,
				"header field major is %u: featcodes version %u.%u; "
				"this build reads version %d.x",
				in->major, in->major, in->minor, FEAT_CODES_MAJOR);
	/* A newer minor version may have a longer header; records follow it. */
	if (in->header_size < FEAT_CODES_HDR || in->header_size % 8)
		return hdr_fail(why, whylen, nm, FEAT_E_CORRUPT,
				"header field header_size is %u; expected %d or "
				"more, a multiple of 8",
				in->header_size, FEAT_CODES_HDR);
	if (in->header_size > c->size)
		return hdr_fail(why, whylen, nm, FEAT_E_TRUNCATED,
				"header field header_size is %u but the file has "
				"only %zu bytes",
				in->header_size, c->size);
	if (in->code_bits > FEAT_CODES_MAX_BITS)
		return hdr_fail(why, whylen, nm, FEAT_E_CORRUPT,
				"header field code_bits is %u (at most %d)",
				in->code_bits, FEAT_CODES_MAX_BITS);
	if (in->key_width > FEAT_CODES_MAX_KEY_WIDTH)
		return hdr_fail(why, whylen, nm, FEAT_E_CORRUPT,
				"header field key_width is %u (at most %d)",
				in->key_width, FEAT_CODES_MAX_KEY_WIDTH);
	if (!in->code_bits && c->size > in->header_size)
		return hdr_fail(why, whylen, nm, FEAT_E_CORRUPT,
				"header field code_bits is 0 in a file with records");
	FEAT_ASSERT(!feat_codes_layout(in->code_bits, in->key_width, &want));
	if (in->code_stride != want.code_stride)
		return hdr_fail(why, whylen, nm, FEAT_E_CORRUPT,
				"header field code_stride is %u; %u-bit codes need %u",
				in->code_stride, in->code_bits, want.code_stride);
	if (in->record_size != want.record_size)
		return hdr_fail(why, whylen, nm, FEAT_E_CORRUPT,
				"header field record_size is %u; code_stride %u and "
				"key_width %u need %u",
				in->record_size, in->code_stride, in->key_width,
				want.record_size);
	body = c->size - in->header_size;
	if (in->count) {
		if (in->count > body / in->record_size ||
		    in->count * in->record_size != body)
			return hdr_fail(why, whylen, nm,
					in->count > body / in->record_size
						? FEAT_E_TRUNCATED : FEAT_E_CORRUPT,
					"header field count is %llu: %.0f bytes of "
					"%u-byte records, but %llu bytes follow the header",
					(unsigned long long)in->count,
					(double)in->count * in->record_size,   /* (may pass 2^64) */
					in->record_size, (unsigned long long)body);
		n = in->count;
	} else {
		if (body % in->record_size)
			return hdr_fail(why, whylen, nm, FEAT_E_TRUNCATED,
					"file size: %llu bytes after the header are not "
					"a whole number of %u-byte records (last record "
					"cut short)",
					(unsigned long long)body, in->record_size);
		n = body / in->record_size;
	}
	c->count = n;
	c->recs = c->base + in->header_size;
	return 0;
}

static int codes_new(feat_codes **out, const char *name)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return FEAT_E_NOMEM;
	feat_fmt((*out)->name, sizeof (*out)->name, "%s", name ? name : "input");
	return 0;
}

static int codes_finish(feat_codes **out, feat_codes *c, char *why,
	size_t whylen)
{
	int e = check_header(c, why, whylen);

	if (e) {
		feat_codes_close(c);
		return e;
	}
	*out = c;
	return 0;
}

int feat_codes_open_mem(feat_codes **out, const void *data, size_t len,
	const char *name, char *why, size_t whylen)
{
	feat_codes *c;
	int e;

	*out = NULL;
	if (!data && len)
		return FEAT_E_INVAL;
	if ((e = codes_new(&c, name)))
		return e;
	c->base = data;
	c->size = len;
	return codes_finish(out, c, why, whylen);
}

/* A featcodes file's bytes from fd or path (one of them). */
static int codes_map(feat_codes **out, int fd, const char *path, const char *name,
	char *why, size_t whylen)
{
	feat_codes *c;
	char cause[256];
	int e;

	*out = NULL;
	if ((e = codes_new(&c, name)))
		return e;
	/* mapped when it is a regular file, read whole when a pipe */
	e = path ? feat_map_file(&c->file, path, 0, cause, sizeof cause)
		 : feat_map_fd(&c->file, fd, 0, cause, sizeof cause);
	if (e) {
		feat_codes_close(c);
		return hdr_fail(why, whylen, name ? name : "input", e, "%s", cause);
	}
	c->base = c->file.data;
	c->size = c->file.len;
	return codes_finish(out, c, why, whylen);
}

int feat_codes_open_fd(feat_codes **out, int fd, const char *name,
	char *why, size_t whylen)
{
	return codes_map(out, fd, NULL, name, why, whylen);
}

int feat_codes_open(feat_codes **out, const char *path, char *why,
	size_t whylen)
{
	return codes_map(out, -1, path, path, why, whylen);
}

void feat_codes_close(feat_codes *c)
{
	if (!c)
		return;
	feat_unmap(&c->file);
	free(c);
}

const struct feat_codes_info *feat_codes_info(const feat_codes *c)
{
	return &c->info;
}

uint64_t feat_codes_count(const feat_codes *c)
{
	return c->count;
}

const uint8_t *feat_codes_code(const feat_codes *c, uint64_t i)
{
	if (i >= c->count)
		return NULL;
	return c->recs + (size_t)i * c->info.record_size;
}

const char *feat_codes_key(const feat_codes *c, uint64_t i, size_t *len,
	uint32_t *full_len)
{
	const unsigned char *r;
	uint32_t n;

	if (i >= c->count)
		return NULL;
	r = c->recs + (size_t)i * c->info.record_size + c->info.code_stride;
	n = feat_rd32(r);
	if (full_len)
		*full_len = n;
	if (len)
		*len = n < c->info.key_width ? n : c->info.key_width;
	return (const char *)r + 4;
}

int feat_codes_verify(const feat_codes *c, uint64_t *bad, char *why,
	size_t whylen)
{
	const struct feat_codes_info *in = &c->info;
	size_t cb = (in->code_bits + 7) / 8;
	uint8_t mask = in->code_bits % 8 ? (uint8_t)(0xff >> (in->code_bits % 8)) : 0;

	for (uint64_t i = 0; i < c->count; i++) {
		const unsigned char *r = c->recs + (size_t)i * in->record_size;
		const unsigned char *k = r + in->code_stride + 4;
		uint32_t full = feat_rd32(r + in->code_stride);
		size_t kept = full < in->key_width ? full : in->key_width;
		const char *reason = NULL;

		if (cb && (r[cb - 1] & mask))
			reason = "padding bits after the code are not zero";
		for (size_t j = cb; !reason && j < in->code_stride; j++)
			if (r[j])
				reason = "padding bytes after the code are not zero";
		if (!reason && full > FEAT_KEY_MAX)
			reason = "key length over 65535";
		if (!reason && memchr(k, 0, kept))
			reason = "NUL byte inside the key";
		for (size_t j = in->code_stride + 4 + kept; !reason && j < in->record_size; j++)
			if (r[j])
				reason = "padding after the key is not zero";
		if (reason) {
			if (bad)
				*bad = i;
			feat_fmt(why, whylen, "%s: record %llu: %s", c->name,
				 (unsigned long long)i, reason);
			return FEAT_E_CORRUPT;
		}
	}
	return 0;
}
