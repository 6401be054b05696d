/*
 * stream.c - the featstream: records of named tensors, framed, aligned and
 * checksummed, read from and written to file descriptors.
 *
 * The format is man/man5/featstream.5.  In short: a 64-byte stream header,
 * then records, each a multiple of 64 bytes long:
 *
 *   0  "FREC"            8  u64 size        16 u32 key_len  20 u32 msg_len
 *   4  u32 crc           24 u32 status      28 u32 ntensors 32..63 zero
 *   64 key, message, zero padding to a multiple of 64
 *      tensor directory: ntensors entries of 64 bytes
 *        0 name[20]  20 u16 dtype  22 u16 ndim  24 u32 dims[6]
 *        48 u64 offset (from the record start)  56 u64 nbytes
 *      payloads, each at a 64-aligned offset, zero padding after each
 *
 * crc is the CRC-32 of bytes 8..size-1 of the record.
 *
 * The reader never sizes an allocation from a length it has not checked:
 * a record's buffer grows with the bytes that really arrive, so a forged
 * size costs at most a failed read, not a huge allocation.
 */
#define _GNU_SOURCE  /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "base/internal.h"

_Static_assert(FEAT_STREAM_HDR == 64, "stream header is 64 bytes");
_Static_assert(FEAT_REC_HDR == 64, "record header is 64 bytes");
_Static_assert(FEAT_DIRENT == 20 + 2 + 2 + 4 * FEAT_MAX_DIMS + 8 + 8,
	       "directory entry layout");
_Static_assert(sizeof(FEAT_STREAM_MAGIC) - 1 == 8, "stream magic is 8 bytes");

#define IOBUF (256 * 1024)
#define GROW_STEP ((size_t)1 << 20)

/* ------------------------------------------------------------ records */

void feat_rec_init(struct feat_rec *r)
{
	static char empty[1];

	memset(r, 0, sizeof *r);
	r->key = empty;
	r->msg = empty;
}

static void drop_tensors(struct feat_rec *r)
{
	for (int i = 0; i < r->ntensors; i++)
		free(r->t[i].own);
	r->ntensors = 0;
}

void feat_rec_clear(struct feat_rec *r)
{
	drop_tensors(r);
	if (r->keycap)
		r->key[0] = 0;
	if (r->msgcap)
		r->msg[0] = 0;
	r->status = FEAT_ST_OK;
}

void feat_rec_free(struct feat_rec *r)
{
	drop_tensors(r);
	if (r->keycap)
		free(r->key);
	if (r->msgcap)
		free(r->msg);
	free(r->buf);
	feat_rec_init(r);
}

static int set_str(char **dst, size_t *cap, const char *s, size_t n)
{
	if (n + 1 > *cap) {
		size_t c = n + 1 < 64 ? 64 : n + 1;
		char *p = malloc(c);

		if (!p)
			return FEAT_E_NOMEM;
		if (*cap)
			free(*dst);
		*dst = p;
		*cap = c;
	}
	memcpy(*dst, s, n);
	(*dst)[n] = 0;
	return 0;
}

int feat_rec_set_key(struct feat_rec *r, const char *key)
{
	size_t n = strlen(key);

	if (n > FEAT_KEY_MAX)
		return FEAT_E_TOOBIG;
	return set_str(&r->key, &r->keycap, key, n);
}

int feat_rec_set_error(struct feat_rec *r, const char *fmt, ...)
{
	char buf[FEAT_MSG_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (!buf[0])
		strcpy(buf, "error");
	r->status = FEAT_ST_ERROR;
	return set_str(&r->msg, &r->msgcap, buf, strlen(buf));
}

struct feat_tensor *feat_rec_find(struct feat_rec *r, const char *name)
{
	for (int i = 0; i < r->ntensors; i++)
		if (!strcmp(r->t[i].name, name))
			return &r->t[i];
	return NULL;
}

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= FEAT_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 127)
			return 0;
	return 1;
}

struct feat_tensor *feat_rec_add(struct feat_rec *r, const char *name,
	int dtype, int ndim, const uint32_t *dims, int *err)
{
	struct feat_tensor *t;
	size_t nbytes;
	void *p;
	int e = 0;

	if (!name_ok(name) || ndim < 0 || ndim > FEAT_MAX_DIMS ||
	    !feat_dtype_name(dtype)) {
		e = FEAT_E_INVAL;
		goto fail;
	}
	if ((e = feat_shape_bytes(dtype, ndim, dims, &nbytes)))
		goto fail;
	p = feat_aligned_alloc(nbytes);
	if (!p) {
		e = FEAT_E_NOMEM;
		goto fail;
	}
	t = feat_rec_find(r, name);
	if (t) {
		free(t->own);
	} else {
		if (r->ntensors >= FEAT_MAX_TENSORS) {
			free(p);
			e = FEAT_E_TOOBIG;
			goto fail;
		}
		t = &r->t[r->ntensors++];
	}
	memset(t, 0, sizeof *t);
	strcpy(t->name, name);
	t->dtype = dtype;
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		t->dims[i] = dims[i];
	t->nbytes = nbytes;
	t->data = t->own = p;
	if (err)
		*err = 0;
	return t;
fail:
	if (err)
		*err = e;
	return NULL;
}

int feat_rec_remove(struct feat_rec *r, const char *name)
{
	struct feat_tensor *t = feat_rec_find(r, name);
	int i;

	if (!t)
		return FEAT_E_NOTFOUND;
	free(t->own);
	i = (int)(t - r->t);
	memmove(&r->t[i], &r->t[i + 1], (size_t)(r->ntensors - i - 1) * sizeof *t);
	r->ntensors--;
	return 0;
}

int feat_rec_copy(struct feat_rec *dst, const struct feat_rec *src)
{
	int e;

	if (dst == src)
		return 0;
	feat_rec_clear(dst);
	if ((e = set_str(&dst->key, &dst->keycap, src->key, strlen(src->key))) ||
	    (e = set_str(&dst->msg, &dst->msgcap, src->msg, strlen(src->msg))))
		return e;
	dst->status = src->status;
	for (int i = 0; i < src->ntensors; i++) {
		const struct feat_tensor *s = &src->t[i];
		struct feat_tensor *t =
			feat_rec_add(dst, s->name, s->dtype, s->ndim, s->dims, &e);

		if (!t)
			return e;
		memcpy(t->data, s->data, s->nbytes);
	}
	return 0;
}

/* ------------------------------------------------------------ framing */

/*
 * Lay out r's frame: fill *head (allocated, grown as needed) with the
 * record header, key, message and directory, and return the frame size
 * in *size.  The CRC field is left zero.
 */
static int build_head(const struct feat_rec *r, unsigned char **head,
	size_t *headcap, size_t *headlen, uint64_t *size)
{
	size_t klen = strlen(r->key), mlen = strlen(r->msg);
	size_t dir, need;
	uint64_t off;
	unsigned char *h;

	if (klen > FEAT_KEY_MAX || mlen > FEAT_MSG_MAX ||
	    r->ntensors < 0 || r->ntensors > FEAT_MAX_TENSORS ||
	    (r->status != FEAT_ST_OK && r->status != FEAT_ST_ERROR))
		return FEAT_E_INVAL;
	dir = FEAT_REC_HDR + (size_t)feat_align_up(klen + mlen, FEAT_ALIGN);
	need = dir + (size_t)r->ntensors * FEAT_DIRENT;
	if (need > *headcap) {
		h = realloc(*head, need);
		if (!h)
			return FEAT_E_NOMEM;
		*head = h;
		*headcap = need;
	}
	h = *head;
	memset(h, 0, need);
	memcpy(h, FEAT_REC_MAGIC, 4);
	feat_wr32(h + 16, (uint32_t)klen);
	feat_wr32(h + 20, (uint32_t)mlen);
	feat_wr32(h + 24, (uint32_t)r->status);
	feat_wr32(h + 28, (uint32_t)r->ntensors);
	memcpy(h + FEAT_REC_HDR, r->key, klen);
	memcpy(h + FEAT_REC_HDR + klen, r->msg, mlen);
	off = need;
	for (int i = 0; i < r->ntensors; i++) {
		const struct feat_tensor *t = &r->t[i];
		unsigned char *e = h + dir + (size_t)i * FEAT_DIRENT;

		size_t nb;

		if (!name_ok(t->name) ||
		    feat_shape_bytes(t->dtype, t->ndim, t->dims, &nb) ||
		    t->nbytes != nb || (t->nbytes && !t->data))
			return FEAT_E_INVAL;
		off = feat_align_up(off, FEAT_ALIGN);
		memcpy(e, t->name, strlen(t->name));
		feat_wr16(e + 20, (uint16_t)t->dtype);
		feat_wr16(e + 22, (uint16_t)t->ndim);
		for (int d = 0; d < t->ndim; d++)
			feat_wr32(e + 24 + 4 * d, t->dims[d]);
		feat_wr64(e + 48, off);
		feat_wr64(e + 56, t->nbytes);
		off += t->nbytes;
	}
	*size = feat_align_up(off, FEAT_ALIGN);
	*headlen = need;
	feat_wr64(h + 8, *size);
	return 0;
}

static const unsigned char zeros[FEAT_ALIGN];

/* CRC of the frame that build_head laid out, without materialising it. */
static uint32_t frame_crc(const struct feat_rec *r, const unsigned char *head,
	size_t headlen, uint64_t size)
{
	uint32_t crc = feat_crc32(0, head + 8, headlen - 8);
	uint64_t pos = headlen;

	for (int i = 0; i < r->ntensors; i++) {
		uint64_t off = feat_rd64(head + headlen -
			(size_t)(r->ntensors - i) * FEAT_DIRENT + 48);

		crc = feat_crc32(crc, zeros, (size_t)(off - pos));
		crc = feat_crc32(crc, r->t[i].data, r->t[i].nbytes);
		pos = off + r->t[i].nbytes;
	}
	return feat_crc32(crc, zeros, (size_t)(size - pos));
}

int feat_rec_encode(const struct feat_rec *r, unsigned char **out, size_t *len)
{
	unsigned char *head = NULL, *f;
	size_t cap = 0, hl;
	uint64_t size;
	int e = build_head(r, &head, &cap, &hl, &size);

	if (e) {
		free(head);
		return e;
	}
	if (size > SIZE_MAX / 2 || !(f = feat_aligned_alloc((size_t)size))) {
		free(head);
		return FEAT_E_NOMEM;
	}
	memset(f, 0, (size_t)size);
	memcpy(f, head, hl);
	for (int i = 0; i < r->ntensors; i++) {
		uint64_t off = feat_rd64(head + hl -
			(size_t)(r->ntensors - i) * FEAT_DIRENT + 48);

		if (r->t[i].nbytes)
			memcpy(f + off, r->t[i].data, r->t[i].nbytes);
	}
	feat_wr32(f + 4, feat_crc32(0, f + 8, (size_t)size - 8));
	free(head);
	*out = f;
	*len = (size_t)size;
	return 0;
}

/*
 * Parse a complete frame held in r->buf (size bytes, CRC already checked)
 * in place: the tensors point into the buffer.  Checks every field against
 * the frame before use.
 */
static int parse_frame(struct feat_rec *r, const unsigned char *f,
	uint64_t size, char *why, size_t whylen)
{
	uint32_t klen = feat_rd32(f + 16), mlen = feat_rd32(f + 20);
	uint32_t status = feat_rd32(f + 24), nt = feat_rd32(f + 28);
	uint64_t dir, end, prev;
	int e;

	if (klen > FEAT_KEY_MAX || mlen > FEAT_MSG_MAX) {
		feat_fmt(why, whylen, "key length %u or message length %u over limit",
			 klen, mlen);
		return FEAT_E_CORRUPT;
	}
	if (status > FEAT_ST_ERROR) {
		feat_fmt(why, whylen, "unknown status %u", status);
		return FEAT_E_CORRUPT;
	}
	if (nt > FEAT_MAX_TENSORS) {
		feat_fmt(why, whylen, "%u tensors (at most %d)", nt,
			 FEAT_MAX_TENSORS);
		return FEAT_E_CORRUPT;
	}
	dir = FEAT_REC_HDR + feat_align_up((uint64_t)klen + mlen, FEAT_ALIGN);
	end = dir + (uint64_t)nt * FEAT_DIRENT;
	if (end > size) {
		feat_fmt(why, whylen,
			 "key, message and directory (%llu bytes) overrun the record (%llu bytes)",
			 (unsigned long long)end, (unsigned long long)size);
		return FEAT_E_CORRUPT;
	}
	if (memchr(f + FEAT_REC_HDR, 0, (size_t)klen + mlen)) {
		feat_fmt(why, whylen, "NUL byte inside key or message");
		return FEAT_E_CORRUPT;
	}
	if ((e = set_str(&r->key, &r->keycap, (const char *)f + FEAT_REC_HDR, klen)) ||
	    (e = set_str(&r->msg, &r->msgcap, (const char *)f + FEAT_REC_HDR + klen,
			 mlen)))
		return e;
	r->status = (int)status;
	prev = end;
	for (uint32_t i = 0; i < nt; i++) {
		const unsigned char *d = f + dir + (size_t)i * FEAT_DIRENT;
		struct feat_tensor *t = &r->t[i];
		uint64_t off = feat_rd64(d + 48), nb = feat_rd64(d + 56);
		int dtype = feat_rd16(d + 20), ndim = feat_rd16(d + 22);

		memset(t, 0, sizeof *t);
		if (!memchr(d, 0, FEAT_NAME_MAX)) {
			feat_fmt(why, whylen, "tensor %u: name not terminated", i);
			return FEAT_E_CORRUPT;
		}
		memcpy(t->name, d, FEAT_NAME_MAX);
		if (!name_ok(t->name) || !feat_dtype_name(dtype) ||
		    ndim > FEAT_MAX_DIMS) {
			feat_fmt(why, whylen,
				 "tensor %u: bad name, dtype %d or rank %d", i,
				 dtype, ndim);
			return FEAT_E_CORRUPT;
		}
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(r->t[j].name, t->name)) {
				feat_fmt(why, whylen, "tensor '%s' appears twice",
					 t->name);
				return FEAT_E_CORRUPT;
			}
		t->dtype = dtype;
		t->ndim = ndim;
		for (int k = 0; k < ndim; k++)
			t->dims[k] = feat_rd32(d + 24 + 4 * k);
		if (feat_shape_bytes(dtype, ndim, t->dims, &t->nbytes) ||
		    t->nbytes != nb) {
			feat_fmt(why, whylen,
				 "tensor '%s': %llu payload bytes do not match its %s shape",
				 t->name, (unsigned long long)nb,
				 feat_dtype_name(dtype));
			return FEAT_E_CORRUPT;
		}
		if (off % FEAT_ALIGN || off < prev || off > size ||
		    nb > size - off) {
			feat_fmt(why, whylen,
				 "tensor '%s': payload at %llu+%llu is misaligned, overlaps or lies outside the record (%llu bytes)",
				 t->name, (unsigned long long)off,
				 (unsigned long long)nb, (unsigned long long)size);
			return FEAT_E_CORRUPT;
		}
		t->data = (void *)(f + off);
		prev = off + nb;
		r->ntensors = (int)i + 1;
	}
	return 0;
}

/* Grow r->buf to at least n bytes, keeping the first keep bytes. */
static int grow_buf(struct feat_rec *r, size_t n, size_t keep)
{
	unsigned char *p;

	if (n <= r->bufcap)
		return 0;
	p = feat_aligned_alloc(n);
	if (!p)
		return FEAT_E_NOMEM;
	if (keep)
		memcpy(p, r->buf, keep);
	free(r->buf);
	r->buf = p;
	r->bufcap = n;
	return 0;
}

static uint64_t max_record(const struct feat_limits *lim)
{
	return lim && lim->max_record ? lim->max_record : FEAT_DEFAULT_MAX_RECORD;
}

/* Check the fixed part of a record header; size gets the frame size. */
static int check_head(const unsigned char *h, uint64_t have_limit,
	uint64_t *size, char *why, size_t whylen)
{
	uint64_t s = feat_rd64(h + 8);

	if (memcmp(h, FEAT_REC_MAGIC, 4)) {
		feat_fmt(why, whylen, "no record marker (found %02x %02x %02x %02x)",
			 h[0], h[1], h[2], h[3]);
		return FEAT_E_CORRUPT;
	}
	if (s < FEAT_REC_HDR || s % FEAT_ALIGN) {
		feat_fmt(why, whylen, "record size %llu is not a positive multiple of %d",
			 (unsigned long long)s, FEAT_ALIGN);
		return FEAT_E_CORRUPT;
	}
	if (s > have_limit) {
		feat_fmt(why, whylen, "record size %llu over the limit of %llu bytes",
			 (unsigned long long)s, (unsigned long long)have_limit);
		return FEAT_E_TOOBIG;
	}
	*size = s;
	return 0;
}

static int check_crc(const unsigned char *f, uint64_t size, char *why,
	size_t whylen)
{
	uint32_t want = feat_rd32(f + 4);
	uint32_t got = feat_crc32(0, f + 8, (size_t)size - 8);

	if (want != got) {
		feat_fmt(why, whylen, "CRC mismatch (stored %08x, computed %08x)",
			 want, got);
		return FEAT_E_CRC;
	}
	return 0;
}

int feat_rec_decode(struct feat_rec *r, const unsigned char *frame, size_t len,
	const struct feat_limits *lim, char *why, size_t whylen)
{
	uint64_t size;
	int e;

	feat_rec_clear(r);
	if (len < FEAT_REC_HDR) {
		feat_fmt(why, whylen, "frame of %zu bytes is shorter than a record header",
			 len);
		return FEAT_E_TRUNCATED;
	}
	if ((e = check_head(frame, max_record(lim), &size, why, whylen)))
		return e;
	if (size > len) {
		feat_fmt(why, whylen, "record of %llu bytes, only %zu present",
			 (unsigned long long)size, len);
		return FEAT_E_TRUNCATED;
	}
	if ((e = check_crc(frame, size, why, whylen)) ||
	    (e = grow_buf(r, (size_t)size, 0)))
		return e;
	memcpy(r->buf, frame, (size_t)size);
	e = parse_frame(r, r->buf, size, why, whylen);
	if (e)
		feat_rec_clear(r);
	return e;
}

/* -------------------------------------------------------------- reader */

struct feat_reader {
	int fd;
	char name[128];
	struct feat_limits lim;
	unsigned char *ibuf;
	size_t ipos, ilen;
	int eof;
	int saw_header;
	int seg_minor;          /* minor version of the open segment's header */
	int seg_open;           /* a header was read and no end mark since */
	uint64_t seg_recs;      /* records since that header */
	int err;
	int saved_errno;
	uint64_t nrec, consumed;
	char detail[512];
};

int feat_reader_new(feat_reader **out, int fd, const char *name,
	const struct feat_limits *lim)
{
	feat_reader *rd = calloc(1, sizeof *rd);

	*out = NULL;
	if (!rd)
		return FEAT_E_NOMEM;
	rd->ibuf = malloc(IOBUF);
	if (!rd->ibuf) {
		free(rd);
		return FEAT_E_NOMEM;
	}
	rd->fd = fd;
	feat_fmt(rd->name, sizeof rd->name, "%s", name ? name : "input");
	rd->lim.max_record = max_record(lim);
	*out = rd;
	return 0;
}

void feat_reader_free(feat_reader *rd)
{
	if (!rd)
		return;
	free(rd->ibuf);
	free(rd);
}

const char *feat_reader_detail(const feat_reader *rd)
{
	return rd->detail;
}

uint64_t feat_reader_records(const feat_reader *rd)
{
	return rd->nrec;
}

uint64_t feat_reader_bytes(const feat_reader *rd)
{
	return rd->consumed;
}

/* One read(2) into dst, retrying on EINTR.  Returns bytes, 0 at EOF, -1. */
static ssize_t read_some(feat_reader *rd, void *dst, size_t n)
{
	for (;;) {
		ssize_t k = read(rd->fd, dst, n);

		if (k >= 0 || errno != EINTR) {
			if (k < 0)
				rd->saved_errno = errno;
			if (k == 0)
				rd->eof = 1;
			return k;
		}
	}
}

/* Copy up to n bytes of input into dst.  Large requests bypass the
 * internal buffer.  Returns bytes copied (short only at EOF), or -1. */
static ssize_t rd_read(feat_reader *rd, unsigned char *dst, size_t n)
{
	size_t got = 0;

	while (got < n) {
		size_t avail = rd->ilen - rd->ipos;
		ssize_t k;

		if (avail) {
			size_t c = avail < n - got ? avail : n - got;

			memcpy(dst + got, rd->ibuf + rd->ipos, c);
			rd->ipos += c;
			got += c;
			continue;
		}
		if (rd->eof)
			break;
		if (n - got >= IOBUF) {
			k = read_some(rd, dst + got, n - got);
			if (k < 0)
				return -1;
			got += (size_t)k;
		} else {
			k = read_some(rd, rd->ibuf, IOBUF);
			if (k < 0)
				return -1;
			rd->ipos = 0;
			rd->ilen = (size_t)k;
		}
	}
	rd->consumed += got;
	return (ssize_t)got;
}

static int rd_fail(feat_reader *rd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int rd_fail(feat_reader *rd, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rd->detail, sizeof rd->detail, fmt, ap);
	va_end(ap);
	rd->err = err;
	return err;
}

/* A short guess at what a non-featstream input is, for the message. */
static const char *sniff(const unsigned char *h, size_t n)
{
	int text = 1;

	if (n >= 2 && h[0] == 0xff && h[1] == 0xd8)
		return "it looks like a JPEG image";
	if (n >= 4 && !memcmp(h, "\x89PNG", 4))
		return "it looks like a PNG image";
	if (n >= 8 && !memcmp(h, "\x89" "FCD", 4))
		return "it looks like a featcodes file";
	for (size_t i = 0; i < n; i++)
		if (h[i] < 9 || (h[i] > 13 && h[i] < 32) || h[i] == 127)
			text = 0;
	return text ? "it looks like text" : "unknown data";
}

/* The end mark: "FEND", CRC-32 of bytes 8..63, size 64, the number of
 * records since the stream header, zeros. */
static int check_end(feat_reader *rd, const unsigned char *h, size_t k,
	uint64_t at)
{
	if (k < FEAT_END_SIZE)
		return rd_fail(rd, FEAT_E_TRUNCATED,
			       "%s: end mark at byte %llu cut short (%zu of %d bytes)",
			       rd->name, (unsigned long long)at, k, FEAT_END_SIZE);
	if (feat_rd32(h + 4) != feat_crc32(0, h + 8, FEAT_END_SIZE - 8) ||
	    feat_rd64(h + 8) != FEAT_END_SIZE)
		return rd_fail(rd, FEAT_E_CORRUPT,
			       "%s: end mark at byte %llu is damaged (CRC or size)",
			       rd->name, (unsigned long long)at);
	if (!rd->seg_open)
		return rd_fail(rd, FEAT_E_CORRUPT,
			       "%s: a second end mark at byte %llu", rd->name,
			       (unsigned long long)at);
	if (feat_rd64(h + 16) != rd->seg_recs)
		return rd_fail(rd, FEAT_E_CORRUPT,
			       "%s: the end mark at byte %llu counts %llu records, the stream had %llu",
			       rd->name, (unsigned long long)at,
			       (unsigned long long)feat_rd64(h + 16),
			       (unsigned long long)rd->seg_recs);
	rd->seg_open = 0;
	return 0;
}

int feat_reader_next(feat_reader *rd, struct feat_rec *r)
{
	unsigned char h[FEAT_REC_HDR];
	uint64_t at, size;
	size_t got;
	ssize_t k;
	int e;

	if (rd->err)
		return rd->err;
	feat_rec_clear(r);
	for (;;) {
		at = rd->consumed;
		k = rd_read(rd, h, sizeof h);
		if (k < 0)
			return rd_fail(rd, FEAT_E_IO, "%s: read error at byte %llu: %s",
				       rd->name, (unsigned long long)at,
				       strerror(rd->saved_errno));
		if (k == 0) {
			if (!rd->saw_header)
				return rd_fail(rd, FEAT_E_EMPTY,
					       "%s is empty: no featstream header",
					       rd->name);
			/* A 1.1 writer ends what it finished with an end mark:
			 * without one the writer stopped early. */
			if (rd->seg_open && rd->seg_minor >= 1)
				return rd_fail(rd, FEAT_E_TRUNCATED,
					       "%s: the stream ends after %llu records without its end mark: the program writing it stopped early",
					       rd->name, (unsigned long long)rd->seg_recs);
			return 0;
		}
		if (!memcmp(h, FEAT_STREAM_MAGIC, (size_t)k < 8 ? (size_t)k : 8) &&
		    k < (ssize_t)sizeof h)
			return rd_fail(rd, FEAT_E_TRUNCATED,
				       "%s: stream header cut short at byte %llu (%zd of %d bytes)",
				       rd->name, (unsigned long long)at + (uint64_t)k, k,
				       FEAT_STREAM_HDR);
		if (k >= 8 && !memcmp(h, FEAT_STREAM_MAGIC, 8)) {
			unsigned major = feat_rd16(h + 8), minor = feat_rd16(h + 10);
			uint32_t hsize = feat_rd32(h + 12);

			if (major != FEAT_STREAM_MAJOR)
				return rd_fail(rd, FEAT_E_VERSION,
					       "%s: featstream version %u.%u at byte %llu; this build reads version %d.x",
					       rd->name, major, minor,
					       (unsigned long long)at, FEAT_STREAM_MAJOR);
			if (hsize < FEAT_STREAM_HDR || hsize % FEAT_ALIGN ||
			    hsize > 65536)
				return rd_fail(rd, FEAT_E_CORRUPT,
					       "%s: stream header at byte %llu gives header size %u",
					       rd->name, (unsigned long long)at, hsize);
			/* A later minor version may carry more header: skip it. */
			for (uint32_t skip = hsize - FEAT_STREAM_HDR; skip;) {
				uint32_t c = skip < sizeof h ? skip : (uint32_t)sizeof h;

				if (rd_read(rd, h, c) != (ssize_t)c)
					return rd_fail(rd, FEAT_E_TRUNCATED,
						       "%s: stream header cut short",
						       rd->name);
				skip -= c;
			}
			if (rd->seg_open && rd->seg_minor >= 1)
				return rd_fail(rd, FEAT_E_TRUNCATED,
					       "%s: a stream header at byte %llu follows %llu records without their end mark: the program writing them stopped early",
					       rd->name, (unsigned long long)at,
					       (unsigned long long)rd->seg_recs);
			rd->saw_header = 1;
			rd->seg_open = 1;
			rd->seg_minor = (int)minor;
			rd->seg_recs = 0;
			continue;  /* streams may be concatenated */
		}
		if (rd->saw_header && k >= 4 && !memcmp(h, FEAT_END_MAGIC, 4)) {
			if ((e = check_end(rd, h, (size_t)k, at)))
				return e;
			continue;
		}
		if (rd->saw_header && !rd->seg_open)
			return rd_fail(rd, FEAT_E_CORRUPT,
				       "%s: data at byte %llu after the end mark (a stream header must come first)",
				       rd->name, (unsigned long long)at);
		if (!rd->saw_header)
			return rd_fail(rd, FEAT_E_NOTSTREAM,
				       "%s is not a featstream (%s)", rd->name,
				       sniff(h, (size_t)k));
		break;
	}
	if (k < (ssize_t)sizeof h)
		return rd_fail(rd, FEAT_E_TRUNCATED,
			       "%s: record %llu at byte %llu cut short in its header (%zd of %d bytes)",
			       rd->name, (unsigned long long)rd->nrec + 1,
			       (unsigned long long)at, k, FEAT_REC_HDR);
	e = check_head(h, rd->lim.max_record, &size, rd->detail,
		       sizeof rd->detail);
	if (e) {
		char tmp[sizeof rd->detail];

		memcpy(tmp, rd->detail, sizeof tmp);
		return rd_fail(rd, e, "%s: record %llu at byte %llu: %s", rd->name,
			       (unsigned long long)rd->nrec + 1,
			       (unsigned long long)at, tmp);
	}
	/* Grow with the data that arrives, never to an unchecked size at once. */
	got = FEAT_REC_HDR;
	if ((e = grow_buf(r, size < GROW_STEP ? (size_t)size : GROW_STEP, 0)))
		return rd_fail(rd, e, "%s: out of memory", rd->name);
	memcpy(r->buf, h, sizeof h);
	while (got < size) {
		size_t want = (size_t)size - got;

		if (r->bufcap == got) {
			size_t nc = r->bufcap * 2;

			if (nc > size)
				nc = (size_t)size;
			if ((e = grow_buf(r, nc, got)))
				return rd_fail(rd, e,
					       "%s: out of memory for a record of %llu bytes",
					       rd->name, (unsigned long long)size);
		}
		if (want > r->bufcap - got)
			want = r->bufcap - got;
		k = rd_read(rd, r->buf + got, want);
		if (k < 0)
			return rd_fail(rd, FEAT_E_IO, "%s: read error: %s", rd->name,
				       strerror(rd->saved_errno));
		got += (size_t)k;
		if ((size_t)k < want)
			break;
	}
	if (got < size) {
		/* The key is in the header area; name it if it arrived. */
		uint32_t klen = feat_rd32(h + 16);
		int haskey = klen <= 200 && FEAT_REC_HDR + klen <= got;

		return rd_fail(rd, FEAT_E_TRUNCATED,
			       "%s: record %llu at byte %llu%s%.*s%s truncated: %zu of %llu bytes",
			       rd->name, (unsigned long long)rd->nrec + 1,
			       (unsigned long long)at, haskey ? " ('" : "",
			       haskey ? (int)klen : 0,
			       haskey ? (const char *)r->buf + FEAT_REC_HDR : "",
			       haskey ? "')" : "", got, (unsigned long long)size);
	}
	{
		char tmp[256];

		e = check_crc(r->buf, size, tmp, sizeof tmp);
		if (!e)
			e = parse_frame(r, r->buf, size, tmp, sizeof tmp);
		if (e) {
			feat_rec_clear(r);
			return rd_fail(rd, e, "%s: record %llu at byte %llu: %s",
				       rd->name, (unsigned long long)rd->nrec + 1,
				       (unsigned long long)at, tmp);
		}
	}
	rd->nrec++;
	rd->seg_recs++;
	return 1;
}

uint64_t feat_reader_drain(feat_reader *rd)
{
	uint64_t n = rd->ilen - rd->ipos;

	rd->ipos = rd->ilen;
	while (!rd->eof) {
		ssize_t k = read_some(rd, rd->ibuf, IOBUF);

		if (k <= 0)
			break;
		n += (uint64_t)k;
	}
	return n;
}

/* -------------------------------------------------------------- writer */

struct feat_writer {
	int fd;
	char name[128];
	unsigned char *obuf;
	size_t olen;
	unsigned char *head;
	size_t headcap;
	int wrote_header;
	int ended;
	int err;
	uint64_t nrec, bytes;
	char detail[256];
};

int feat_writer_new(feat_writer **out, int fd, const char *name)
{
	feat_writer *w = calloc(1, sizeof *w);

	*out = NULL;
	if (!w)
		return FEAT_E_NOMEM;
	w->obuf = malloc(IOBUF);
	if (!w->obuf) {
		free(w);
		return FEAT_E_NOMEM;
	}
	w->fd = fd;
	feat_fmt(w->name, sizeof w->name, "%s", name ? name : "output");
	/* Image records are megabytes: a larger pipe buffer means fewer
	 * context switches between the programs of a pipeline.  Best effort:
	 * fails harmlessly on files and over /proc/sys/fs/pipe-max-size. */
	fcntl(fd, F_SETPIPE_SZ, 1 << 20);
	*out = w;
	return 0;
}

const char *feat_writer_detail(const feat_writer *w)
{
	return w->detail;
}

uint64_t feat_writer_records(const feat_writer *w)
{
	return w->nrec;
}

uint64_t feat_writer_bytes(const feat_writer *w)
{
	return w->bytes;
}

static int write_all(feat_writer *w, const unsigned char *p, size_t n)
{
	int e = feat_write_named(w->fd, p, n, w->name, w->detail, sizeof w->detail);

	return e ? (w->err = e) : 0;
}

static int wr_flush(feat_writer *w)
{
	int e = w->olen ? write_all(w, w->obuf, w->olen) : 0;

	w->olen = 0;
	return e;
}

static int wr_put(feat_writer *w, const void *p, size_t n)
{
	int e;

	w->bytes += n;
	if (n <= IOBUF - w->olen) {
		memcpy(w->obuf + w->olen, p, n);
		w->olen += n;
		return 0;
	}
	if ((e = wr_flush(w)))
		return e;
	if (n >= IOBUF / 2)
		return write_all(w, p, n);
	memcpy(w->obuf, p, n);
	w->olen = n;
	return 0;
}

static int wr_header(feat_writer *w)
{
	unsigned char h[FEAT_STREAM_HDR] = { 0 };

	if (w->wrote_header)
		return 0;
	memcpy(h, FEAT_STREAM_MAGIC, 8);
	feat_wr16(h + 8, FEAT_STREAM_MAJOR);
	feat_wr16(h + 10, FEAT_STREAM_MINOR);
	feat_wr32(h + 12, FEAT_STREAM_HDR);
	w->wrote_header = 1;
	return wr_put(w, h, sizeof h);
}

int feat_writer_put(feat_writer *w, const struct feat_rec *r)
{
	size_t hl;
	uint64_t size, pos;
	int e;

	if (w->err)
		return w->err;
	if (w->ended) {
		feat_fmt(w->detail, sizeof w->detail, "%s: a record after the end mark", w->name);
		return FEAT_E_INVAL;
	}
	if ((e = wr_header(w)))
		return e;
	e = build_head(r, &w->head, &w->headcap, &hl, &size);
	if (e) {
		feat_fmt(w->detail, sizeof w->detail, "%s: record '%.200s' cannot be written: %s",
			 w->name, r->key, feat_strerror(e));
		return e;  /* not sticky: the caller may go on */
	}
	feat_wr32(w->head + 4, frame_crc(r, w->head, hl, size));
	if ((e = wr_put(w, w->head, hl)))
		return e;
	pos = hl;
	for (int i = 0; i < r->ntensors; i++) {
		uint64_t off = feat_rd64(w->head + hl -
			(size_t)(r->ntensors - i) * FEAT_DIRENT + 48);

		if ((e = wr_put(w, zeros, (size_t)(off - pos))) ||
		    (e = wr_put(w, r->t[i].data, r->t[i].nbytes)))
			return e;
		pos = off + r->t[i].nbytes;
	}
	if ((e = wr_put(w, zeros, (size_t)(size - pos))))
		return e;
	w->nrec++;
	return 0;
}

int feat_writer_flush(feat_writer *w)
{
	int e;

	if (w->err)
		return w->err;
	if ((e = wr_header(w)))
		return e;
	return wr_flush(w);
}

int feat_writer_end(feat_writer *w)
{
	unsigned char m[FEAT_END_SIZE] = { 0 };
	int e;

	if (w->err)
		return w->err;
	if (w->ended)
		return wr_flush(w);
	if ((e = wr_header(w)))
		return e;
	memcpy(m, FEAT_END_MAGIC, 4);
	feat_wr64(m + 8, FEAT_END_SIZE);
	feat_wr64(m + 16, w->nrec);
	feat_wr32(m + 4, feat_crc32(0, m + 8, FEAT_END_SIZE - 8));
	w->ended = 1;
	if ((e = wr_put(w, m, sizeof m)))
		return e;
	return wr_flush(w);
}

int feat_writer_free(feat_writer *w)
{
	int e;

	if (!w)
		return 0;
	e = feat_writer_flush(w);
	free(w->obuf);
	free(w->head);
	free(w);
	return e;
}
