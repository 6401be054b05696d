/*
 * test_codes.c - the featcodes writer and reader: the layout byte by byte
 * against featcodes(5), round trips through files and pipes, key
 * truncation, and every header field edited to a hostile value, each of
 * which the reader must refuse by name.  Also feat_hamming.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "feat.h"
#include "unit.h"

static void wr32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void wr64(unsigned char *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

static char tmpl[64];

static int tmpfile_fd(void)
{
	int fd;

	strcpy(tmpl, "/tmp/featcodes-XXXXXX");
	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Write n records of 64-bit codes (code i = i * 0x0101010101010101 ^ salt)
 * with keys "key-<i>" to fd. */
static void write_codes(int fd, int n, uint32_t bits, uint32_t kw)
{
	feat_codes_writer *w;
	uint8_t code[16];
	char key[32];

	ck_assert_int_eq(feat_codes_writer_new(&w, fd, "test", bits, kw), 0);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < 16; j++)
			code[j] = (uint8_t)(i * 16 + j);
		snprintf(key, sizeof key, "key-%d", i);
		ck_assert_int_eq(feat_codes_writer_put(w, key, strlen(key), code), 0);
	}
	ck_assert_uint_eq(feat_codes_writer_records(w), (uint64_t)n);
	ck_assert_int_eq(feat_codes_writer_close(w), 0);
}

/* A valid two-record file of 64-bit codes in memory (count filled in). */
static unsigned char *valid_file(size_t *len)
{
	int fd = tmpfile_fd();
	unsigned char *p;

	write_codes(fd, 2, 64, FEAT_CODES_KEY_WIDTH);
	close(fd);
	p = unit_slurp(tmpl, len);
	unlink(tmpl);
	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(test_layout)
{
	struct feat_codes_info in;

	ck_assert_int_eq(feat_codes_layout(64, FEAT_CODES_KEY_WIDTH, &in), 0);
	ck_assert_uint_eq(in.code_stride, 8);
	ck_assert_uint_eq(in.record_size, 128);
	ck_assert_int_eq(feat_codes_layout(12, 116, &in), 0);
	ck_assert_uint_eq(in.code_stride, 8);
	ck_assert_int_eq(feat_codes_layout(65, 116, &in), 0);
	ck_assert_uint_eq(in.code_stride, 16);
	ck_assert_uint_eq(in.record_size, 136);
	ck_assert_int_eq(feat_codes_layout(256, 116, &in), 0);
	ck_assert_uint_eq(in.record_size, 152);
	ck_assert_int_eq(feat_codes_layout(64, 0, &in), 0);
	ck_assert_uint_eq(in.record_size, 16);
	ck_assert_int_eq(feat_codes_layout(64, 1, &in), 0);
	ck_assert_uint_eq(in.record_size, 16);
	ck_assert_int_eq(feat_codes_layout(FEAT_CODES_MAX_BITS + 1, 8, &in), FEAT_E_RANGE);
	ck_assert_int_eq(feat_codes_layout(64, FEAT_KEY_MAX + 1, &in), FEAT_E_RANGE);
}
END_TEST

/* The bytes of a file, spelled out from featcodes(5). */
START_TEST(test_bytes_exact)
{
	static const unsigned char want_hdr[64] = {
		0x89, 'F', 'C', 'D', '\r', '\n', 0x1a, '\n',
		1, 0, 0, 0, 64, 0, 0, 0,            /* major, minor, header size */
		12, 0, 0, 0, 8, 0, 0, 0,            /* code bits, code stride */
		5, 0, 0, 0, 24, 0, 0, 0,            /* key width, record size */
		1, 0, 0, 0, 0, 0, 0, 0,             /* count */
	};
	static const unsigned char want_rec[24] = {
		0xa5, 0xf0, 0, 0, 0, 0, 0, 0,       /* 12 bits, the rest cleared */
		7, 0, 0, 0,                         /* full key length */
		'p', 'h', 'o', 't', 'o',            /* 5 bytes kept */
		0, 0, 0, 0, 0, 0, 0,                /* padding to 24 */
	};
	int fd = tmpfile_fd();
	feat_codes_writer *w;
	const uint8_t code[2] = { 0xa5, 0xff };
	unsigned char *p;
	size_t len;

	ck_assert_int_eq(feat_codes_writer_new(&w, fd, "t", 12, 5), 0);
	ck_assert_int_eq(feat_codes_writer_put(w, "photo/a", 7, code), 1);
	ck_assert_uint_eq(feat_codes_writer_truncated(w), 1);
	ck_assert_int_eq(feat_codes_writer_close(w), 0);
	close(fd);
	p = unit_slurp(tmpl, &len);
	unlink(tmpl);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, 64 + 24);
	ck_assert_mem_eq(p, want_hdr, 64);
	ck_assert_mem_eq(p + 64, want_rec, 24);
	free(p);
}
END_TEST

START_TEST(test_roundtrip_file)
{
	int fd = tmpfile_fd();
	feat_codes *c;
	char detail[256] = "";
	const char *k;
	size_t kl;
	uint32_t full;

	write_codes(fd, 100, 64, FEAT_CODES_KEY_WIDTH);
	close(fd);
	ck_assert_int_eq(feat_codes_open(&c, tmpl, detail, sizeof detail), 0);
	unlink(tmpl);
	ck_assert_uint_eq(feat_codes_count(c), 100);
	ck_assert_uint_eq(feat_codes_info(c)->count, 100);
	ck_assert_uint_eq(feat_codes_info(c)->code_bits, 64);
	for (int i = 0; i < 100; i++) {
		const uint8_t *code = feat_codes_code(c, (uint64_t)i);
		char want[32];

		ck_assert_ptr_nonnull(code);
		ck_assert_uint_eq((uintptr_t)code % 8, 0);  /* mapped: aligned */
		for (int j = 0; j < 8; j++)
			ck_assert_uint_eq(code[j], (uint8_t)(i * 16 + j));
		k = feat_codes_key(c, (uint64_t)i, &kl, &full);
		snprintf(want, sizeof want, "key-%d", i);
		ck_assert_uint_eq(kl, strlen(want));
		ck_assert_uint_eq(full, strlen(want));
		ck_assert(!memcmp(k, want, kl));
	}
	ck_assert_ptr_null(feat_codes_code(c, 100));
	ck_assert_ptr_null(feat_codes_key(c, 100, &kl, NULL));
	ck_assert_int_eq(feat_codes_verify(c, NULL, detail, sizeof detail), 0);
	feat_codes_close(c);
}
END_TEST

/* A writer on a pipe cannot seek back: count stays 0 and the reader
 * derives it; the reader also reads a pipe into memory. */
START_TEST(test_pipe)
{
	int fds[2], st;
	pid_t pid;
	feat_codes *c;
	char detail[256] = "";

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		write_codes(fds[1], 1000, 40, 20);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(feat_codes_open_fd(&c, fds[0], "pipe", detail, sizeof detail), 0);
	close(fds[0]);
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_uint_eq(feat_codes_info(c)->count, 0);
	ck_assert_uint_eq(feat_codes_count(c), 1000);
	ck_assert_uint_eq(feat_codes_info(c)->record_size, 32);
	ck_assert_uint_eq(feat_codes_code(c, 999)[4], (uint8_t)(999 * 16 + 4));
	ck_assert_uint_eq(feat_codes_code(c, 999)[5], 0);  /* past 40 bits */
	ck_assert_int_eq(feat_codes_verify(c, NULL, detail, sizeof detail), 0);
	feat_codes_close(c);
}
END_TEST

/* O_APPEND: pwrite would append on Linux, so the count must stay 0. */
START_TEST(test_append)
{
	int fd = tmpfile_fd();
	feat_codes *c;
	char detail[256];
	unsigned char *p;
	size_t len;

	close(fd);
	fd = open(tmpl, O_WRONLY | O_APPEND);
	write_codes(fd, 3, 64, 8);
	close(fd);
	p = unit_slurp(tmpl, &len);
	unlink(tmpl);
	ck_assert_uint_eq(len, 64 + 3 * 24);
	ck_assert_int_eq(feat_codes_open_mem(&c, p, len, "m", detail, sizeof detail), 0);
	ck_assert_uint_eq(feat_codes_info(c)->count, 0);
	ck_assert_uint_eq(feat_codes_count(c), 3);
	feat_codes_close(c);
	free(p);
}
END_TEST

START_TEST(test_truncated_keys)
{
	int fd = tmpfile_fd();
	feat_codes_writer *w;
	feat_codes *c;
	uint8_t code[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char detail[256], big[FEAT_KEY_MAX + 2];
	const char *k;
	size_t kl;
	uint32_t full;

	ck_assert_int_eq(feat_codes_writer_new(&w, fd, "t", 64, 4), 0);
	ck_assert_int_eq(feat_codes_writer_put(w, "abcd", 4, code), 0);
	ck_assert_int_eq(feat_codes_writer_put(w, "abcdefgh", 8, code), 1);
	ck_assert_int_eq(feat_codes_writer_put(w, "", 0, code), 0);
	memset(big, 'x', sizeof big);
	ck_assert_int_eq(feat_codes_writer_put(w, big, FEAT_KEY_MAX + 1, code),
			 FEAT_E_INVAL);
	ck_assert_int_eq(feat_codes_writer_put(w, big, FEAT_KEY_MAX, code), 1);
	ck_assert_uint_eq(feat_codes_writer_truncated(w), 2);
	ck_assert_uint_eq(feat_codes_writer_records(w), 4);
	ck_assert_int_eq(feat_codes_writer_close(w), 0);
	close(fd);
	ck_assert_int_eq(feat_codes_open(&c, tmpl, detail, sizeof detail), 0);
	unlink(tmpl);
	k = feat_codes_key(c, 0, &kl, &full);
	ck_assert(kl == 4 && full == 4 && !memcmp(k, "abcd", 4));
	k = feat_codes_key(c, 1, &kl, &full);
	ck_assert(kl == 4 && full == 8 && !memcmp(k, "abcd", 4));
	k = feat_codes_key(c, 2, &kl, &full);
	ck_assert(kl == 0 && full == 0);
	k = feat_codes_key(c, 3, &kl, &full);
	ck_assert(kl == 4 && full == FEAT_KEY_MAX);
	feat_codes_close(c);
}
END_TEST

START_TEST(test_empty_file)
{
	int fd = tmpfile_fd();
	feat_codes_writer *w;
	feat_codes *c;
	char detail[256];
	unsigned char *p;
	size_t len;

	/* code_bits 0 is allowed for a file without records */
	ck_assert_int_eq(feat_codes_writer_new(&w, fd, "t", 0, 116), 0);
	ck_assert_int_eq(feat_codes_writer_close(w), 0);
	close(fd);
	p = unit_slurp(tmpl, &len);
	unlink(tmpl);
	ck_assert_uint_eq(len, 64);
	ck_assert_int_eq(feat_codes_open_mem(&c, p, len, "m", detail, sizeof detail), 0);
	ck_assert_uint_eq(feat_codes_count(c), 0);
	ck_assert_ptr_null(feat_codes_code(c, 0));
	feat_codes_close(c);
	free(p);
}
END_TEST

START_TEST(test_write_error)
{
	int fd = open("/dev/full", O_WRONLY);
	feat_codes_writer *w;

	if (fd < 0)
		return;
	ck_assert_int_eq(feat_codes_writer_new(&w, fd, "full", 64, 8), FEAT_E_IO);
	ck_assert_ptr_null(w);
	close(fd);
}
END_TEST

/* Each hostile header edit and the error and field name it must give. */
static const struct edit {
	int off, size;           /* size 0: cut the file to off bytes */
	uint64_t value;
	int err;
	const char *says;
} edits[] = {
	{ 0, 1, 0x88, FEAT_E_FORMAT, "not a featcodes file" },
	{ 3, 1, 'X', FEAT_E_FORMAT, "magic" },
	{ 8, 2, 2, FEAT_E_VERSION, "major" },
	{ 12, 4, 60, FEAT_E_CORRUPT, "header_size" },
	{ 12, 4, 68, FEAT_E_CORRUPT, "header_size" },
	{ 12, 4, 1u << 30, FEAT_E_TRUNCATED, "header_size" },
	{ 16, 4, FEAT_CODES_MAX_BITS + 1, FEAT_E_CORRUPT, "code_bits" },
	{ 16, 4, 0xffffffff, FEAT_E_CORRUPT, "code_bits" },
	{ 16, 4, 0, FEAT_E_CORRUPT, "code_bits" },
	{ 16, 4, 128, FEAT_E_CORRUPT, "code_stride" },
	{ 20, 4, 16, FEAT_E_CORRUPT, "code_stride" },
	{ 20, 4, 0, FEAT_E_CORRUPT, "code_stride" },
	{ 24, 4, 0x10000, FEAT_E_CORRUPT, "key_width" },
	{ 24, 4, 0xffffffff, FEAT_E_CORRUPT, "key_width" },
	{ 24, 4, 124, FEAT_E_CORRUPT, "record_size" },
	{ 28, 4, 0, FEAT_E_CORRUPT, "record_size" },
	{ 28, 4, 64, FEAT_E_CORRUPT, "record_size" },
	{ 28, 4, 0xffffffff, FEAT_E_CORRUPT, "record_size" },
	{ 32, 8, 3, FEAT_E_TRUNCATED, "count" },
	{ 32, 8, 1, FEAT_E_CORRUPT, "count" },
	{ 32, 8, (uint64_t)1 << 63, FEAT_E_TRUNCATED, "count" },
	{ 32, 8, UINT64_MAX, FEAT_E_TRUNCATED, "count" },
	{ 32, 8, (1ull << 57) + 2, FEAT_E_TRUNCATED, "count" },  /* *128 wraps to 256 */
	{ 64 + 256 - 1, 0, 0, FEAT_E_TRUNCATED, "count" },
	{ 40, 0, 0, FEAT_E_TRUNCATED, "header cut short" },
	{ 5, 0, 0, FEAT_E_TRUNCATED, "header cut short" },
	{ 0, 0, 0, FEAT_E_EMPTY, "empty" },
};

START_TEST(test_hostile_header)
{
	const struct edit *ed = &edits[_i];
	size_t len;
	unsigned char *p = valid_file(&len), *q;
	feat_codes *c = (feat_codes *)1;
	char detail[256] = "";
	int e;

	ck_assert_uint_eq(len, 64 + 256);
	if (ed->size == 0) {
		len = (size_t)ed->off;
	} else {
		for (int i = 0; i < ed->size; i++)
			p[ed->off + i] = (unsigned char)(ed->value >> (8 * i));
	}
	/* an exact-size copy, so that ASan sees any read past the end */
	q = malloc(len ? len : 1);
	memcpy(q, p, len);
	e = feat_codes_open_mem(&c, q, len, "x.fcd", detail, sizeof detail);
	ck_assert_msg(e == ed->err, "edit %d: got %d (%s), want %d", _i, e, detail,
		      ed->err);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(detail, ed->says), "edit %d: '%s' does not say '%s'",
		      _i, detail, ed->says);
	ck_assert_msg(!strncmp(detail, "x.fcd: ", 7), "no file name in '%s'", detail);
	free(q);
	free(p);
}
END_TEST

/* count 0 (a pipe) and a last record cut short: the file size is wrong */
START_TEST(test_count0_truncated)
{
	size_t len;
	unsigned char *p = valid_file(&len);
	feat_codes *c;
	char detail[256] = "";

	wr64(p + 32, 0);
	ck_assert_int_eq(feat_codes_open_mem(&c, p, len, "m", detail, sizeof detail), 0);
	ck_assert_uint_eq(feat_codes_count(c), 2);
	feat_codes_close(c);
	ck_assert_int_eq(feat_codes_open_mem(&c, p, len - 8, "m", detail, sizeof detail),
			 FEAT_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(detail, "file size"));
	/* a featstream handed to the reader is named as such */
	memcpy(p, "\x89" "FST\r\n\x1a\n", 8);
	ck_assert_int_eq(feat_codes_open_mem(&c, p, len, "m", detail, sizeof detail),
			 FEAT_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(detail, "featstream"));
	free(p);
}
END_TEST

/* A newer minor version with a longer header: records follow it. */
START_TEST(test_minor_longer_header)
{
	size_t len;
	unsigned char *p = valid_file(&len), *q = calloc(1, len + 64);
	feat_codes *c;
	char detail[256] = "";

	memcpy(q, p, 64);
	memcpy(q + 128, p + 64, len - 64);
	q[10] = 3;
	wr32(q + 12, 128);
	ck_assert_int_eq(feat_codes_open_mem(&c, q, len + 64, "m", detail, sizeof detail), 0);
	ck_assert_uint_eq(feat_codes_count(c), 2);
	ck_assert_uint_eq(feat_codes_code(c, 1)[0], 16);
	feat_codes_close(c);
	free(p);
	free(q);
}
END_TEST

START_TEST(test_verify)
{
	size_t len;
	unsigned char *p;
	feat_codes *c;
	char detail[256] = "";
	uint64_t bad = 99;
	static const struct { int off; unsigned char v; const char *says; } v[] = {
		{ 8 + 4, 'x', NULL },                      /* a key byte: fine */
		{ 8 + 4 + 10, 'x', "padding after the key" },
		{ 8 + 4 + 2, 0, "NUL byte inside the key" },
		{ 8 + 3, 1, "key length over" },
	};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		p = valid_file(&len);
		p[64 + 128 + v[i].off] = v[i].v;
		ck_assert_int_eq(feat_codes_open_mem(&c, p, len, "m", detail, sizeof detail), 0);
		if (!v[i].says) {
			ck_assert_int_eq(feat_codes_verify(c, &bad, detail, sizeof detail), 0);
		} else {
			ck_assert_int_eq(feat_codes_verify(c, &bad, detail, sizeof detail),
					 FEAT_E_CORRUPT);
			ck_assert_uint_eq(bad, 1);
			ck_assert_msg(strstr(detail, v[i].says), "%s", detail);
		}
		feat_codes_close(c);
		free(p);
	}
	/* code padding bits of a 12-bit code */
	{
		uint8_t file[64 + 16] = { 0 };
		const uint8_t code[2] = { 0xff, 0xf0 };
		struct feat_codes_info in;

		feat_codes_layout(12, 0, &in);
		memcpy(file, "\x89" "FCD\r\n\x1a\n", 8);
		file[8] = 1;
		wr32(file + 12, 64);
		wr32(file + 16, 12);
		wr32(file + 20, in.code_stride);
		wr32(file + 24, 0);
		wr32(file + 28, in.record_size);
		memcpy(file + 64, code, 2);
		ck_assert_int_eq(feat_codes_open_mem(&c, file, sizeof file, "m", detail,
						     sizeof detail), 0);
		ck_assert_int_eq(feat_codes_verify(c, &bad, detail, sizeof detail), 0);
		feat_codes_close(c);
		file[65] = 0xf8;
		ck_assert_int_eq(feat_codes_open_mem(&c, file, sizeof file, "m", detail,
						     sizeof detail), 0);
		ck_assert_int_eq(feat_codes_verify(c, &bad, detail, sizeof detail),
				 FEAT_E_CORRUPT);
		ck_assert_ptr_nonnull(strstr(detail, "padding bits"));
		feat_codes_close(c);
	}
}
END_TEST

START_TEST(test_hamming)
{
	uint8_t a[19], b[19];

	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	ck_assert_uint_eq(feat_hamming(a, b, 19), 0);
	memset(b, 0xff, sizeof b);
	ck_assert_uint_eq(feat_hamming(a, b, 19), 152);
	ck_assert_uint_eq(feat_hamming(a, b, 0), 0);
	memset(b, 0, sizeof b);
	b[0] = 0x80;
	b[7] = 0x01;
	b[8] = 0x11;
	b[18] = 0x07;
	ck_assert_uint_eq(feat_hamming(a, b, 19), 1 + 1 + 2 + 3);
	ck_assert_uint_eq(feat_hamming(a + 1, b + 1, 7), 1);  /* unaligned */
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("codes");
	TCase *tc = tcase_create("codes");

	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_bytes_exact);
	tcase_add_test(tc, test_roundtrip_file);
	tcase_add_test(tc, test_pipe);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_truncated_keys);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_write_error);
	tcase_add_loop_test(tc, test_hostile_header, 0,
			    (int)(sizeof edits / sizeof edits[0]));
	tcase_add_test(tc, test_count0_truncated);
	tcase_add_test(tc, test_minor_longer_header);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_hamming);
	suite_add_tcase(s, tc);
	return s;
}
