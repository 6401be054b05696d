/*
 * test_stream.c - the featstream reader and writer: round trips, the
 * on-disk layout (checked byte by byte against featstream(5), not against
 * the writer's own output), and every kind of broken input the reader must
 * name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "feat.h"
#include "unit.h"

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* A record with three tensors of different types. */
static void make_rec(struct feat_rec *r, const char *key)
{
	uint32_t d1[3] = { 5, 7, 3 }, d2[1] = { 13 }, d3[1] = { 3 };
	struct feat_tensor *t;

	feat_rec_init(r);
	ck_assert_int_eq(feat_rec_set_key(r, key), 0);
	t = feat_rec_add(r, "image", FEAT_DT_U8, 3, d1, NULL);
	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < t->nbytes; i++)
		((uint8_t *)t->data)[i] = (uint8_t)(i * 31 + 7);
	t = feat_rec_add(r, "code", FEAT_DT_BIT, 1, d2, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->nbytes, 2);
	((uint8_t *)t->data)[0] = 0xa5;
	((uint8_t *)t->data)[1] = 0xf8;
	t = feat_rec_add(r, "feat", FEAT_DT_F32, 1, d3, NULL);
	ck_assert_ptr_nonnull(t);
	((float *)t->data)[0] = 1.5f;
	((float *)t->data)[1] = -2.25f;
	((float *)t->data)[2] = 1e-30f;
}

/* The bytes of a stream of n records, finished with its end mark when
 * end is set (as every program does on success), else only flushed (a
 * program that stopped early). */
static unsigned char *stream_bytes_end(struct feat_rec *recs, int n, size_t *len,
	int end)
{
	char path[] = "/tmp/featstream-XXXXXX";
	int fd = mkstemp(path);
	feat_writer *w;
	unsigned char *p;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(feat_writer_new(&w, fd, "test"), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(feat_writer_put(w, &recs[i]), 0);
	if (end) {
		ck_assert_int_eq(feat_writer_end(w), 0);
		ck_assert_int_eq(feat_writer_put(w, &recs[0]), FEAT_E_INVAL);
	}
	ck_assert_int_eq(feat_writer_free(w), 0);
	close(fd);
	p = unit_slurp(path, len);
	unlink(path);
	ck_assert_ptr_nonnull(p);
	return p;
}

static unsigned char *stream_bytes(struct feat_rec *recs, int n, size_t *len)
{
	return stream_bytes_end(recs, n, len, 1);
}

/* Read all records of buf through a pipe; returns the count or an error. */
static int read_all(const unsigned char *buf, size_t len, struct feat_rec *out,
	int max, char *why, size_t whylen)
{
	int fds[2], n = 0, e;
	pid_t pid;
	feat_reader *rd;
	struct feat_rec r;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		size_t off = 0;

		close(fds[0]);
		while (off < len) {
			ssize_t k = write(fds[1], buf + off, len - off > 4096 ? 4096 : len - off);

			if (k <= 0)
				_exit(1);
			off += (size_t)k;
		}
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(feat_reader_new(&rd, fds[0], "pipe", NULL), 0);
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		if (n < max)
			ck_assert_int_eq(feat_rec_copy(&out[n], &r), 0);
		n++;
	}
	if (why)
		snprintf(why, whylen, "%s", feat_reader_detail(rd));
	feat_reader_drain(rd);
	feat_reader_free(rd);
	feat_rec_free(&r);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return e < 0 ? e : n;
}

START_TEST(roundtrip)
{
	struct feat_rec in[3], out[3];
	unsigned char *buf;
	size_t len;
	int n;

	make_rec(&in[0], "photos/a.jpg");
	feat_rec_init(&in[1]);
	feat_rec_set_key(&in[1], "broken.jpg");
	feat_rec_set_error(&in[1], "corrupt JPEG\ndata");
	make_rec(&in[2], "");
	for (int i = 0; i < 3; i++)
		feat_rec_init(&out[i]);
	buf = stream_bytes(in, 3, &len);
	n = read_all(buf, len, out, 3, NULL, 0);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(out[0].key, "photos/a.jpg");
	ck_assert_int_eq(out[0].status, FEAT_ST_OK);
	ck_assert_int_eq(out[0].ntensors, 3);
	ck_assert_str_eq(out[1].key, "broken.jpg");
	ck_assert_int_eq(out[1].status, FEAT_ST_ERROR);
	ck_assert_str_eq(out[1].msg, "corrupt JPEG data");  /* one line */
	ck_assert_int_eq(out[1].ntensors, 0);
	ck_assert_str_eq(out[2].key, "");
	for (int i = 0; i < 3; i++) {
		struct feat_tensor *a = &in[0].t[i], *b = &out[0].t[i];

		ck_assert_str_eq(a->name, b->name);
		ck_assert_int_eq(a->dtype, b->dtype);
		ck_assert_int_eq(a->ndim, b->ndim);
		ck_assert_mem_eq(a->dims, b->dims, sizeof a->dims);
		ck_assert_uint_eq(a->nbytes, b->nbytes);
		ck_assert_mem_eq(a->data, b->data, a->nbytes);
	}
	free(buf);
	for (int i = 0; i < 3; i++) {
		feat_rec_free(&in[i]);
		feat_rec_free(&out[i]);
	}
}
END_TEST

/* The bytes on disk are what featstream(5) says, independently parsed. */
START_TEST(layout)
{
	struct feat_rec r;
	unsigned char *b, *rec;
	size_t len;
	uint64_t size;

	make_rec(&r, "k");
	b = stream_bytes(&r, 1, &len);
	ck_assert_mem_eq(b, "\x89" "FST\r\n\x1a\n", 8);
	ck_assert_uint_eq(b[8] | b[9] << 8, 1);      /* major */
	ck_assert_uint_eq(b[10] | b[11] << 8, 1);    /* minor: 1.1 has the end mark */
	ck_assert_uint_eq(rd32(b + 12), 64);         /* header size */
	rec = b + 64;
	ck_assert_mem_eq(rec, "FREC", 4);
	size = rd64(rec + 8);
	ck_assert_uint_eq(size % 64, 0);
	ck_assert_uint_eq(64 + size + 64, len);
	/* the end mark: FEND, CRC of bytes 8..63, size 64, 1 record, zeros */
	{
		const unsigned char *m = rec + size;
		static const unsigned char z[40];

		ck_assert_mem_eq(m, "FEND", 4);
		ck_assert_uint_eq(rd32(m + 4), (uint32_t)crc32(0, m + 8, 56));
		ck_assert_uint_eq(rd64(m + 8), 64);
		ck_assert_uint_eq(rd64(m + 16), 1);
		ck_assert_mem_eq(m + 24, z, 40);
	}
	ck_assert_uint_eq(rd32(rec + 4), (uint32_t)crc32(0, rec + 8, (uInt)size - 8));
	ck_assert_uint_eq(rd32(rec + 16), 1);        /* key length */
	ck_assert_uint_eq(rd32(rec + 20), 0);        /* message length */
	ck_assert_uint_eq(rd32(rec + 28), 3);        /* tensors */
	ck_assert_int_eq(rec[64], 'k');
	/* directory at 128: image u8 [5 7 3] */
	ck_assert_str_eq((char *)rec + 128, "image");
	ck_assert_uint_eq(rec[128 + 20], FEAT_DT_U8);
	ck_assert_uint_eq(rec[128 + 22], 3);
	ck_assert_uint_eq(rd32(rec + 128 + 24), 5);
	ck_assert_uint_eq(rd32(rec + 128 + 28), 7);
	ck_assert_uint_eq(rd32(rec + 128 + 32), 3);
	for (int i = 0; i < 3; i++) {
		const unsigned char *d = rec + 128 + 64 * i;
		uint64_t off = rd64(d + 48), nb = rd64(d + 56);

		ck_assert_uint_eq(off % 64, 0);
		ck_assert_uint_le(off + nb, size);
		ck_assert_mem_eq(rec + off, r.t[i].data, nb);
	}
	/* code bits: 13 bits in 2 bytes, MSB first as written */
	ck_assert_uint_eq(rd64(rec + 128 + 64 + 56), 2);
	free(b);
	feat_rec_free(&r);
}
END_TEST

/* Every proper prefix of a stream is named as truncated (or empty). */
START_TEST(truncation)
{
	struct feat_rec r, out[1];
	unsigned char *b;
	size_t len;

	make_rec(&r, "photos/a.jpg");
	feat_rec_init(&out[0]);
	b = stream_bytes(&r, 1, &len);
	for (size_t cut = 0; cut < len; cut++) {
		char detail[512];
		int e = read_all(b, cut, out, 1, detail, sizeof detail);

		if (cut == 0)
			ck_assert_int_eq(e, FEAT_E_EMPTY);
		else  /* a header alone, or every record, still lacks the end mark */
			ck_assert_msg(e == FEAT_E_TRUNCATED,
				      "cut at %zu gave %d (%s)", cut, e, detail);
	}
	ck_assert_int_eq(read_all(b, len, out, 1, NULL, 0), 1);
	free(b);
	feat_rec_free(&r);
	feat_rec_free(&out[0]);
}
END_TEST

/* Any single flipped bit in a record is caught, never read as data. */
START_TEST(bitflips)
{
	struct feat_rec r, out[1];
	unsigned char *b;
	size_t len;

	make_rec(&r, "photos/a.jpg");
	feat_rec_init(&out[0]);
	b = stream_bytes(&r, 1, &len);
	for (size_t bit = 64 * 8; bit < len * 8; bit += 3) {
		int e;

		b[bit / 8] ^= (unsigned char)(1 << (bit % 8));
		e = read_all(b, len, out, 1, NULL, 0);
		ck_assert_msg(e < 0, "flip of bit %zu not detected", bit);
		b[bit / 8] ^= (unsigned char)(1 << (bit % 8));
	}
	free(b);
	feat_rec_free(&r);
	feat_rec_free(&out[0]);
}
END_TEST

/* Fix up a frame's CRC after editing it, to reach the field checks. */
static void recrc(unsigned char *rec)
{
	uint64_t size = rd64(rec + 8);
	uint32_t c = (uint32_t)crc32(0, rec + 8, (uInt)size - 8);

	rec[4] = (unsigned char)c;
	rec[5] = (unsigned char)(c >> 8);
	rec[6] = (unsigned char)(c >> 16);
	rec[7] = (unsigned char)(c >> 24);
}

START_TEST(hostile_fields)
{
	struct feat_rec r, out[1];
	unsigned char *b, *rec;
	size_t len;
	char detail[512];

	make_rec(&r, "k");
	feat_rec_init(&out[0]);
	b = stream_bytes(&r, 1, &len);
	rec = b + 64;

	/* absurd record size: refused before any allocation */
	memcpy(rec + 8, "\xc0\xff\xff\xff\xff\xff\xff\x7f", 8);
	ck_assert_int_eq(read_all(b, len, out, 1, detail, sizeof detail), FEAT_E_TOOBIG);
	ck_assert_ptr_nonnull(strstr(detail, "over the limit"));
	free(b);

	/* a size under the limit but far past the data: truncated, not OOM */
	b = stream_bytes(&r, 1, &len);
	rec = b + 64;
	memcpy(rec + 8, "\x00\x00\x00\xc0\x00\x00\x00\x00", 8);  /* 3 GiB */
	ck_assert_int_eq(read_all(b, len, out, 1, detail, sizeof detail), FEAT_E_TRUNCATED);
	free(b);

	/* too many tensors */
	b = stream_bytes(&r, 1, &len);
	rec = b + 64;
	rec[28] = 200;
	recrc(rec);
	ck_assert_int_eq(read_all(b, len, out, 1, detail, sizeof detail), FEAT_E_CORRUPT);
	free(b);

	/* payload offset outside the record */
	b = stream_bytes(&r, 1, &len);
	rec = b + 64;
	rec[128 + 48 + 5] = 1;
	recrc(rec);
	ck_assert_int_eq(read_all(b, len, out, 1, detail, sizeof detail), FEAT_E_CORRUPT);
	free(b);

	/* shape that does not match the payload size */
	b = stream_bytes(&r, 1, &len);
	rec = b + 64;
	rec[128 + 24] = 6;
	recrc(rec);
	ck_assert_int_eq(read_all(b, len, out, 1, detail, sizeof detail), FEAT_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(detail, "image"));
	free(b);

	/* unknown dtype */
	b = stream_bytes(&r, 1, &len);
	rec = b + 64;
	rec[128 + 20] = 99;
	recrc(rec);
	ck_assert_int_eq(read_all(b, len, out, 1, detail, sizeof detail), FEAT_E_CORRUPT);
	free(b);

	/* key length past the record */
	b = stream_bytes(&r, 1, &len);
	rec = b + 64;
	rec[16] = 0xff;
	rec[17] = 0xff;
	recrc(rec);
	ck_assert_int_eq(read_all(b, len, out, 1, detail, sizeof detail), FEAT_E_CORRUPT);
	free(b);

	/* unknown version */
	b = stream_bytes(&r, 1, &len);
	b[8] = 2;
	b[10] = 0;
	ck_assert_int_eq(read_all(b, len, out, 1, detail, sizeof detail), FEAT_E_VERSION);
	ck_assert_ptr_nonnull(strstr(detail, "version 2.0"));
	free(b);

	feat_rec_free(&r);
	feat_rec_free(&out[0]);
}
END_TEST

START_TEST(not_a_stream)
{
	struct feat_rec out[1];
	char detail[512];
	static const unsigned char jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F' };
	static const char text[] = "photos/a.jpg\nphotos/b.png\n";

	feat_rec_init(&out[0]);
	ck_assert_int_eq(read_all(jpeg, sizeof jpeg, out, 1, detail, sizeof detail),
			 FEAT_E_NOTSTREAM);
	ck_assert_ptr_nonnull(strstr(detail, "JPEG"));
	ck_assert_int_eq(read_all((const unsigned char *)text, strlen(text), out, 1,
				  detail, sizeof detail), FEAT_E_NOTSTREAM);
	ck_assert_ptr_nonnull(strstr(detail, "text"));
	feat_rec_free(&out[0]);
}
END_TEST

/* Streams concatenated with cat are one stream. */
/* The end mark: a stream that stops at a record boundary without it is
 * truncated (the writer died); an empty stream is a header and the mark;
 * a 1.0 stream (before the mark) still ends cleanly; a damaged or lying
 * mark, and data after it, are errors. */
START_TEST(end_mark)
{
	struct feat_rec r[2], out[2];
	unsigned char *b;
	size_t len;
	char detail[512];
	int e;

	make_rec(&r[0], "one");
	make_rec(&r[1], "two");
	feat_rec_init(&out[0]);
	feat_rec_init(&out[1]);

	b = stream_bytes_end(r, 2, &len, 0);
	e = read_all(b, len, out, 2, detail, sizeof detail);
	ck_assert_int_eq(e, FEAT_E_TRUNCATED);
	ck_assert_msg(strstr(detail, "after 2 records without its end mark"), "%s", detail);
	b[10] = 0;  /* the same bytes as version 1.0: no mark expected */
	ck_assert_int_eq(read_all(b, len, out, 2, NULL, 0), 2);
	free(b);

	b = stream_bytes_end(r, 0, &len, 1);
	ck_assert_uint_eq(len, 128);
	ck_assert_int_eq(read_all(b, len, out, 2, NULL, 0), 0);
	free(b);

	b = stream_bytes_end(r, 2, &len, 1);
	ck_assert_int_eq(read_all(b, len, out, 2, NULL, 0), 2);
	/* a count that disagrees (CRC fixed up) */
	b[len - 64 + 16] = 3;
	{
		uint32_t c = (uint32_t)crc32(0, b + len - 56, 56);

		for (int i = 0; i < 4; i++)
			b[len - 60 + i] = (unsigned char)(c >> (8 * i));
	}
	e = read_all(b, len, out, 2, detail, sizeof detail);
	ck_assert_int_eq(e, FEAT_E_CORRUPT);
	ck_assert_msg(strstr(detail, "counts 3 records, the stream had 2"), "%s", detail);
	free(b);

	/* a record after the mark, without a new stream header */
	{
		unsigned char *a, *c;
		size_t la;

		a = stream_bytes_end(r, 1, &la, 1);
		c = malloc(la + la - 128);
		memcpy(c, a, la);
		memcpy(c + la, a + 64, la - 128);  /* the record again */
		e = read_all(c, la + la - 128, out, 2, detail, sizeof detail);
		ck_assert_int_eq(e, FEAT_E_CORRUPT);
		ck_assert_msg(strstr(detail, "after the end mark"), "%s", detail);
		free(a);
		free(c);
	}
	for (int i = 0; i < 2; i++) {
		feat_rec_free(&r[i]);
		feat_rec_free(&out[i]);
	}
}
END_TEST

START_TEST(concatenated)
{
	struct feat_rec r[2], out[4];
	unsigned char *a, *b, *ab;
	size_t la, lb;

	make_rec(&r[0], "one");
	make_rec(&r[1], "two");
	a = stream_bytes(&r[0], 1, &la);
	b = stream_bytes(&r[1], 1, &lb);
	ab = malloc(la + lb);
	memcpy(ab, a, la);
	memcpy(ab + la, b, lb);
	for (int i = 0; i < 4; i++)
		feat_rec_init(&out[i]);
	ck_assert_int_eq(read_all(ab, la + lb, out, 4, NULL, 0), 2);
	ck_assert_str_eq(out[1].key, "two");
	free(a);
	free(b);
	free(ab);
	for (int i = 0; i < 2; i++)
		feat_rec_free(&r[i]);
	for (int i = 0; i < 4; i++)
		feat_rec_free(&out[i]);
}
END_TEST

/* A record larger than every internal buffer crosses the pipe intact and
 * its payloads are aligned in memory. */
START_TEST(large_record)
{
	struct feat_rec r, out[1];
	uint32_t d[3] = { 1000, 1500, 3 };
	struct feat_tensor *t;
	unsigned char *b;
	size_t len;

	feat_rec_init(&r);
	feat_rec_set_key(&r, "big");
	t = feat_rec_add(&r, "image", FEAT_DT_U8, 3, d, NULL);
	for (size_t i = 0; i < t->nbytes; i++)
		((uint8_t *)t->data)[i] = (uint8_t)(i ^ i >> 9);
	feat_rec_init(&out[0]);
	b = stream_bytes(&r, 1, &len);
	ck_assert_int_eq(read_all(b, len, out, 1, NULL, 0), 1);
	ck_assert_mem_eq(out[0].t[0].data, t->data, t->nbytes);
	free(b);
	feat_rec_free(&r);
	feat_rec_free(&out[0]);
}
END_TEST

START_TEST(in_place_alignment)
{
	struct feat_rec r, o;
	unsigned char *frame;
	size_t len;
	char detail[256];

	make_rec(&r, "x");
	feat_rec_init(&o);
	ck_assert_int_eq(feat_rec_encode(&r, &frame, &len), 0);
	ck_assert_int_eq(feat_rec_decode(&o, frame, len, NULL, detail, sizeof detail), 0);
	for (int i = 0; i < o.ntensors; i++)
		ck_assert_uint_eq((uintptr_t)o.t[i].data % FEAT_ALIGN, 0);
	/* a limit under the record size is enforced */
	ck_assert_int_eq(feat_rec_decode(&o, frame, len,
					 &(struct feat_limits){ .max_record = 128 },
					 detail, sizeof detail),
			 FEAT_E_TOOBIG);
	free(frame);
	feat_rec_free(&r);
	feat_rec_free(&o);
}
END_TEST

START_TEST(record_api)
{
	struct feat_rec r;
	uint32_t d[2] = { 2, 2 };
	int e;

	feat_rec_init(&r);
	ck_assert_ptr_null(feat_rec_add(&r, "", FEAT_DT_U8, 1, d, &e));
	ck_assert_int_eq(e, FEAT_E_INVAL);
	ck_assert_ptr_null(feat_rec_add(&r, "a name longer than nineteen", FEAT_DT_U8, 1, d, &e));
	ck_assert_ptr_null(feat_rec_add(&r, "x", 42, 1, d, &e));
	ck_assert_ptr_nonnull(feat_rec_add(&r, "x", FEAT_DT_F32, 2, d, &e));
	ck_assert_ptr_nonnull(feat_rec_add(&r, "x", FEAT_DT_U8, 1, d, &e));  /* replaces */
	ck_assert_int_eq(r.ntensors, 1);
	ck_assert_uint_eq(r.t[0].nbytes, 2);
	ck_assert_int_eq(feat_rec_remove(&r, "x"), 0);
	ck_assert_int_eq(feat_rec_remove(&r, "x"), FEAT_E_NOTFOUND);
	{
		uint32_t huge[4] = { 0xffffffffu, 0xffffffffu, 0xffffffffu, 4 };

		ck_assert_ptr_null(feat_rec_add(&r, "h", FEAT_DT_F32, 4, huge, &e));
		ck_assert_int_eq(e, FEAT_E_TOOBIG);
	}
	ck_assert_str_eq(feat_strerror(FEAT_E_CRC), "CRC mismatch");
	ck_assert_str_eq(feat_dtype_name(FEAT_DT_BIT), "bit");
	ck_assert_int_eq(feat_dtype_parse("f32"), FEAT_DT_F32);
	feat_rec_free(&r);
}
END_TEST

START_TEST(hex)
{
	uint8_t b[4] = { 0x00, 0xa5, 0xff, 0x10 }, c[4];
	char s[9];

	feat_hex_encode(b, 4, s);
	ck_assert_str_eq(s, "00a5ff10");
	ck_assert_int_eq(feat_hex_decode("00A5ff10", 8, c, 4), 4);
	ck_assert_mem_eq(b, c, 4);
	ck_assert_int_eq(feat_hex_decode("00a", 3, c, 4), FEAT_E_INVAL);
	ck_assert_int_eq(feat_hex_decode("zz", 2, c, 4), FEAT_E_INVAL);
	ck_assert_int_eq(feat_hex_decode("0011223344", 10, c, 4), FEAT_E_INVAL);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("stream");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, layout);
	tcase_add_test(tc, truncation);
	tcase_add_test(tc, bitflips);
	tcase_add_test(tc, hostile_fields);
	tcase_add_test(tc, not_a_stream);
	tcase_add_test(tc, concatenated);
	tcase_add_test(tc, end_mark);
	tcase_add_test(tc, large_record);
	tcase_add_test(tc, in_place_alignment);
	tcase_add_test(tc, record_api);
	tcase_add_test(tc, hex);
	suite_add_tcase(s, tc);
	return s;
}
