/*
 * test_mih.c - the code index: radius search, k nearest and the self-join
 * by multi-index hashing held against a naive bit-by-bit brute force, on
 * random and on clustered codes of 32, 64, 128 and 256 bits and several
 * m; the file written and mapped again; shards merged and appended; the
 * AVX-512 popcount kernels against the portable ones; and hostile header
 * and table edits, each refused by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feat.h"
#include "kern/kern.h"
#include "kern/popcount.h"
#include "unit.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t xs(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The brute-force oracle: bit by bit, nothing shared with the library. */
static unsigned naive(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned d = 0;

	for (unsigned i = 0; i < bits; i++)
		d += ((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1;
	return d;
}

/* n codes of bits bits: random, or clustered (centres with a few bits
 * flipped, so that many pairs lie within small radii). */
static uint8_t *make_codes(size_t n, unsigned bits, int clustered)
{
	size_t nb = bits / 8;
	uint8_t *c = calloc(n, nb);
	size_t nc = n / 20 + 1;

	for (size_t i = 0; i < n; i++) {
		uint8_t *p = c + i * nb;

		if (clustered && i >= nc) {
			memcpy(p, c + (xs() % nc) * nb, nb);
			for (int f = (int)(xs() % 6); f > 0; f--) {
				unsigned b = (unsigned)(xs() % bits);

				p[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
			}
		} else {
			for (size_t j = 0; j < nb; j++)
				p[j] = (uint8_t)xs();
		}
	}
	return c;
}

static feat_index *build(const uint8_t *c, size_t n, unsigned bits, uint32_t m)
{
	feat_index *ix;
	char key[32];

	ck_assert_int_eq(feat_index_new(&ix, bits, m), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof key, "k%zu", i);
		ck_assert_int_eq(feat_index_add(ix, c + i * (bits / 8), key, strlen(key)), 0);
	}
	ck_assert_int_eq(feat_index_build(ix), 0);
	return ix;
}

/* query bytes padded to the stride */
static void pad_query(const uint8_t *q, unsigned bits, uint8_t *out)
{
	memset(out, 0, 512);
	memcpy(out, q, bits / 8);
}

static void check_radius(const feat_index *ix, const uint8_t *c, size_t n,
	unsigned bits, const uint8_t *q, unsigned r, int mode)
{
	struct feat_hits h = { 0 };
	uint8_t qp[512];
	size_t k = 0, want = 0;

	pad_query(q, bits, qp);
	ck_assert_int_eq(feat_index_radius(ix, qp, r, mode, &h), 0);
	for (size_t i = 0; i < n; i++)
		want += naive(q, c + i * (bits / 8), bits) <= r;
	ck_assert_uint_eq(h.n, want);
	for (k = 0; k < h.n; k++) {
		ck_assert_uint_eq(h.v[k].dist, naive(q, c + h.v[k].id * (bits / 8), bits));
		ck_assert_uint_le(h.v[k].dist, r);
		if (k)
			ck_assert(h.v[k - 1].dist < h.v[k].dist ||
				  (h.v[k - 1].dist == h.v[k].dist && h.v[k - 1].id < h.v[k].id));
	}
	feat_hits_free(&h);
}

static void check_knn(const feat_index *ix, const uint8_t *c, size_t n,
	unsigned bits, const uint8_t *q, unsigned k, int mode)
{
	struct feat_hits h = { 0 };
	uint8_t qp[512];
	unsigned *d = malloc(n * sizeof *d);
	size_t want = k < n ? k : n;

	pad_query(q, bits, qp);
	ck_assert_int_eq(feat_index_knn(ix, qp, k, mode, &h), 0);
	ck_assert_uint_eq(h.n, want);
	for (size_t i = 0; i < n; i++)
		d[i] = naive(q, c + i * (bits / 8), bits);
	for (size_t x = 0; x < h.n; x++) {
		/* exactly the records before it in (dist, id) order are ahead */
		size_t ahead = 0;

		for (size_t i = 0; i < n; i++)
			ahead += d[i] < h.v[x].dist || (d[i] == h.v[x].dist && i < h.v[x].id);
		ck_assert_uint_eq(ahead, x);
		ck_assert_uint_eq(h.v[x].dist, d[h.v[x].id]);
	}
	free(d);
	feat_hits_free(&h);
}

/* pairwise distances of the current set, when the caller computed them */
static uint16_t *dm;

static void check_join(const feat_index *ix, const uint8_t *c, size_t n,
	unsigned bits, unsigned r, int mode, int threads)
{
	struct feat_pair *p;
	size_t np, want = 0, k = 0;

	ck_assert_int_eq(feat_index_selfjoin(ix, r, mode, threads, &p, &np), 0);
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++) {
			unsigned d = dm ? dm[a * n + b]
					: naive(c + a * (bits / 8), c + b * (bits / 8), bits);

			if (d <= r) {
				want++;
				ck_assert_uint_lt(k, np);
				ck_assert_uint_eq(p[k].a, a);
				ck_assert_uint_eq(p[k].b, b);
				ck_assert_uint_eq(p[k].dist, d);
				k++;
			}
		}
	ck_assert_uint_eq(np, want);
	free(p);
}

static const unsigned bitses[] = { 32, 64, 128, 256 };

START_TEST(test_exact)
{
	unsigned bits = bitses[_i % 4];
	int clustered = _i / 4;
	size_t n = 1500;
	uint8_t *c = make_codes(n, bits, clustered);
	/* default; 32-bit substrings (probed record by record); 8-bit and
	 * about 13-bit ones (block join, with the table's directory and with
	 * one of its own: 2^13 values over 1500 records) */
	uint32_t ms[4] = { 0, (bits + 31) / 32, bits / 8, bits / 13 + 1 };

	dm = malloc(n * n * sizeof *dm);
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++)
			dm[a * n + b] = (uint16_t)naive(c + a * (bits / 8), c + b * (bits / 8), bits);

	for (int mi = 0; mi < 4; mi++) {
		feat_index *ix = build(c, n, bits, ms[mi]);
		uint32_t m = feat_index_info(ix)->m;

		for (int qi = 0; qi < 6; qi++) {
			const uint8_t *q = c + (xs() % n) * (bits / 8);
			uint8_t rq[64];

			for (size_t j = 0; j < bits / 8; j++)
				rq[j] = (uint8_t)xs();
			for (unsigned r = 0; r <= bits / 8 + 2; r += 1 + (bits > 64) * 3) {
				check_radius(ix, c, n, bits, q, r,
					     r / m <= 4 ? FEAT_SEARCH_MIH : FEAT_SEARCH_AUTO);
				check_radius(ix, c, n, bits, q, r, FEAT_SEARCH_AUTO);
			}
			check_radius(ix, c, n, bits, rq, bits / 4, FEAT_SEARCH_SCAN);
			check_knn(ix, c, n, bits, q, 1 + qi * 3, FEAT_SEARCH_AUTO);
			check_knn(ix, c, n, bits, q, 5, FEAT_SEARCH_SCAN);
			if (bits <= 64 && m >= bits / 16)
				check_knn(ix, c, n, bits, rq, 3, FEAT_SEARCH_MIH);
		}
		for (unsigned r = 0; r <= 8; r += 2) {
			check_join(ix, c, n, bits, r,
				   r / m <= 3 ? FEAT_SEARCH_MIH : FEAT_SEARCH_AUTO,
				   1 + (r % 4 == 2));
			if (mi == 0)
				check_join(ix, c, n, bits, r, FEAT_SEARCH_SCAN, 2);
		}
		feat_index_free(ix);
	}
	free(dm);
	dm = NULL;
	free(c);
}
END_TEST

static char tmpl[64];

static void write_file(feat_index *ix)
{
	int fd;

	strcpy(tmpl, "/tmp/featindex-XXXXXX");
	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(feat_index_write(ix, fd), 0);
	close(fd);
}

START_TEST(test_file_merge_append)
{
	unsigned bits = 64;
	size_t n = 3000;
	uint8_t *c = make_codes(n, bits, 1);
	feat_index *a = build(c, 1000, bits, 4), *b = build(c + 8000, 2000, bits, 4);
	feat_index *fa, *fb, *all;
	char detail[256];
	size_t kl;
	const char *k;

	/* shards written, mapped again, merged without a rebuild */
	write_file(a);
	ck_assert_int_eq(feat_index_open(&fa, tmpl, detail, sizeof detail), 0);
	unlink(tmpl);
	write_file(b);
	ck_assert_int_eq(feat_index_open(&fb, tmpl, detail, sizeof detail), 0);
	unlink(tmpl);
	ck_assert_int_eq(feat_index_verify(fa, detail, sizeof detail), 0);
	ck_assert_int_eq(feat_index_new(&all, bits, 0), 0);
	ck_assert_int_eq(feat_index_add_index(all, fa), 0);
	ck_assert_int_eq(feat_index_add_index(all, fb), 0);
	ck_assert_uint_eq(feat_index_info(all)->built, n);   /* merged, not rebuilt */
	ck_assert_int_eq(feat_index_verify(all, detail, sizeof detail), 0);
	k = feat_index_key(all, 1500, &kl);
	ck_assert_int_eq((int)kl, 4);
	ck_assert(!memcmp(k, "k500", 4));
	for (unsigned r = 0; r <= 6; r += 3)
		check_join(all, c, n, bits, r, FEAT_SEARCH_MIH, 2);
	check_radius(all, c, n, bits, c + 77 * 8, 5, FEAT_SEARCH_MIH);

	/* append to a mapped index: new records sorted and merged in */
	for (size_t i = 0; i < 500; i++)
		ck_assert_int_eq(feat_index_add(fa, c + (1000 + i) * 8, "x", 1), 0);
	ck_assert_int_eq(feat_index_build(fa), 0);
	ck_assert_int_eq(feat_index_verify(fa, detail, sizeof detail), 0);
	check_join(fa, c, 1500, bits, 4, FEAT_SEARCH_MIH, 1);
	write_file(fa);
	feat_index_free(fa);
	ck_assert_int_eq(feat_index_open(&fa, tmpl, detail, sizeof detail), 0);
	unlink(tmpl);
	ck_assert_uint_eq(feat_index_count(fa), 1500);
	check_radius(fa, c, 1500, bits, c + 1200 * 8, 6, FEAT_SEARCH_MIH);

	feat_index_free(a);
	feat_index_free(b);
	feat_index_free(fa);
	feat_index_free(fb);
	feat_index_free(all);
	free(c);
}
END_TEST

/* feat_index_load writes its out pointer and never reads it: a caller's
 * uninitialised pointer (garbage here) is not taken for an index to add
 * to; feat_index_add_file appends, and refuses another code length. */
START_TEST(test_load_out)
{
	unsigned bits = 64;
	uint8_t *c = make_codes(300, bits, 1);
	feat_index *a = build(c, 100, bits, 4), *b = build(c + 800, 200, bits, 4), *o;
	feat_index *w = build(c, 10, 128, 0);
	char detail[256];
	uint64_t skipped = 7;

	write_file(a);
	memset(&o, 0xa5, sizeof o);
	ck_assert_int_eq(feat_index_load(&o, tmpl, &skipped, detail, sizeof detail), 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(feat_index_count(o), 100);
	ck_assert_uint_eq(skipped, 0);
	unlink(tmpl);
	write_file(b);
	ck_assert_int_eq(feat_index_add_file(o, tmpl, NULL, detail, sizeof detail), 0);
	ck_assert_uint_eq(feat_index_count(o), 300);
	ck_assert(!memcmp(feat_index_code(o, 150), c + 150 * 8, 8));   /* b holds codes 100.. */
	unlink(tmpl);
	write_file(w);
	ck_assert_int_eq(feat_index_add_file(o, tmpl, NULL, detail, sizeof detail), FEAT_E_RANGE);
	ck_assert_uint_eq(feat_index_count(o), 300);
	unlink(tmpl);
	feat_index_free(o);

	memset(&o, 0xa5, sizeof o);
	ck_assert_int_eq(feat_index_load(&o, "/nonexistent/x.fix", NULL, detail, sizeof detail),
			 FEAT_E_IO);
	ck_assert_ptr_null(o);
	ck_assert_ptr_nonnull(strstr(detail, "cannot open"));
	feat_index_free(a);
	feat_index_free(b);
	feat_index_free(w);
	free(c);
}
END_TEST

START_TEST(test_kernels)
{
	uint8_t *c = make_codes(1000, 256, 0);
	uint32_t ids[300], o1[300], o2[300], d1[300], d2[300];
	uint64_t q[4];

	if (!feat_pc_cpu_avx512())
		return;
	for (unsigned words = 1; words <= 4; words++)
		for (size_t n = 0; n < 300; n += 37) {
			size_t stride = words == 3 ? 32 : 8 * words;
			unsigned r = words * 32;

			for (size_t i = 0; i < n; i++)
				ids[i] = (uint32_t)(xs() % (1000 * 32 / stride));
			memcpy(q, c + 5 * 32, 32);
			size_t k1 = feat_pc_filter_ref(c, stride, words, q, ids, n, r, o1, d1);
			size_t k2 = feat_kern_get(FEAT_KERN_AVX512)->pc_filter(c, stride, words, q, ids, n, r, o2, d2);

			ck_assert_uint_eq(k1, k2);
			ck_assert(!memcmp(o1, o2, k1 * 4) && !memcmp(d1, d2, k1 * 4));
			k1 = feat_pc_scan_ref(c, stride, words, q, 3, n, r, o1, d1);
			k2 = feat_kern_get(FEAT_KERN_AVX512)->pc_scan(c, stride, words, q, 3, n, r, o2, d2);
			ck_assert_uint_eq(k1, k2);
			ck_assert(!memcmp(o1, o2, k1 * 4) && !memcmp(d1, d2, k1 * 4));
		}
	ck_assert_int_eq(feat_pc_select("nonesuch"), FEAT_E_INVAL);
	ck_assert_int_eq(feat_pc_select("ref"), 0);
	ck_assert_str_eq(feat_popcount_name(), "ref");
	ck_assert_int_eq(feat_pc_select("auto"), 0);
	free(c);
}
END_TEST

/* A valid file in memory, 8-aligned. */
static unsigned char *valid(size_t *len)
{
	uint8_t *c = make_codes(100, 64, 1);
	feat_index *ix = build(c, 100, 64, 3);
	unsigned char *p;

	write_file(ix);
	p = unit_slurp(tmpl, len);
	unlink(tmpl);
	feat_index_free(ix);
	free(c);
	return p;
}

static void wr32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static const struct {
	size_t off;
	int width;
	uint64_t value;
	int err;
	const char *field;
} edits[] = {
	{ 0, 1, 'X', FEAT_E_FORMAT, "bad magic" },
	{ 8, 2, 2, FEAT_E_VERSION, "field major" },
	{ 12, 4, 100, FEAT_E_CORRUPT, "header_size" },
	{ 16, 4, 5000, FEAT_E_CORRUPT, "code_bits" },
	{ 20, 4, 16, FEAT_E_CORRUPT, "code_stride" },
	{ 24, 4, 1, FEAT_E_CORRUPT, "field m" },
	{ 28, 4, 32, FEAT_E_CORRUPT, "table_entry_size" },
	{ 32, 4, 200, FEAT_E_CORRUPT, "key offset 200" },
	{ 40, 4, 12345, FEAT_E_TRUNCATED, "file_size" },
	{ 48, 4, 100, FEAT_E_CORRUPT, "tables_off" },
	{ 56, 4, 1u << 30, FEAT_E_CORRUPT, "codes_off" },
	{ 80, 4, 5, FEAT_E_CORRUPT, "keys_size" },
	{ 100, 1, 1, FEAT_E_CORRUPT, "reserved" },
	{ 128, 4, 3, FEAT_E_CORRUPT, "table 0 field lo" },
	{ 128 + 64 + 8, 4, 30, FEAT_E_CORRUPT, "table 1 field dir_bits" },
	{ 128 + 128 + 24, 4, 7, FEAT_E_CORRUPT, "table 2 field vals_off" },
};

START_TEST(test_hostile)
{
	size_t len;
	unsigned char *good = valid(&len), *p = malloc(len);
	feat_index *ix;
	char detail[256];

	memcpy(p, good, len);
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		memcpy(p, good, len);
		for (int b = 0; b < edits[i].width; b++)
			p[edits[i].off + b] = (unsigned char)(edits[i].value >> 8 * b);
		detail[0] = 0;
		ck_assert_int_eq(feat_index_open_mem(&ix, p, len, "x.fix", detail,
						     sizeof detail), edits[i].err);
		ck_assert_ptr_null(ix);
		ck_assert_msg(strstr(detail, edits[i].field), "edit %zu: '%s'", i, detail);
		ck_assert(!strncmp(detail, "x.fix: ", 7));
	}
	/* cut short anywhere: refused, never read past the end */
	for (size_t cut = 0; cut < len; cut += 1 + cut / 3) {
		unsigned char *q = malloc(cut ? cut : 1);

		memcpy(q, good, cut);
		ck_assert_int_ne(feat_index_open_mem(&ix, q, cut, "x.fix", detail,
						     sizeof detail), 0);
		free(q);
	}
	/* table contents: an id out of range, values unsorted */
	{
		uint64_t ioff = 0, voff = 0;

		for (int b = 7; b >= 0; b--) {
			ioff = ioff << 8 | good[128 + 32 + b];
			voff = voff << 8 | good[128 + 24 + b];
		}
		memcpy(p, good, len);
		wr32(p + ioff + 4 * 10, 100);
		ck_assert_int_eq(feat_index_open_mem(&ix, p, len, "x.fix", detail,
						     sizeof detail), FEAT_E_CORRUPT);
		ck_assert_ptr_nonnull(strstr(detail, "table 0 id 10 is 100"));
		memcpy(p, good, len);
		wr32(p + voff + 4 * 50, 0);
		ck_assert_int_eq(feat_index_open_mem(&ix, p, len, "x.fix", detail,
						     sizeof detail), FEAT_E_CORRUPT);
		ck_assert_ptr_nonnull(strstr(detail, "table 0 value 50"));
		/* swap two ids: the structure holds, verify() finds it */
		memcpy(p, good, len);
		memcpy(p + ioff, good + ioff + 4 * 60, 4);
		memcpy(p + ioff + 4 * 60, good + ioff, 4);
		if (feat_index_open_mem(&ix, p, len, "x.fix", detail, sizeof detail) == 0) {
			ck_assert_int_eq(feat_index_verify(ix, detail, sizeof detail),
					 FEAT_E_CORRUPT);
			feat_index_free(ix);
		}
	}
	memcpy(p, good, len);
	ck_assert_int_eq(feat_index_open_mem(&ix, p, len, "x.fix", detail, sizeof detail), 0);
	ck_assert_int_eq(feat_index_verify(ix, detail, sizeof detail), 0);
	feat_index_free(ix);
	free(p);
	free(good);
}
END_TEST

START_TEST(test_groups)
{
	/* 0-1, 1-2 chain; 3-4; 5 alone; 2-6 */
	struct feat_pair p[] = { { 0, 1, 1 }, { 1, 2, 1 }, { 2, 6, 1 }, { 3, 4, 0 } };
	uint32_t rep[7];

	ck_assert_int_eq(feat_index_group(7, p, 4, FEAT_GROUP_COMPONENTS, rep), 0);
	ck_assert(rep[0] == 0 && rep[1] == 0 && rep[2] == 0 && rep[6] == 0);
	ck_assert(rep[3] == 3 && rep[4] == 3 && rep[5] == 5);
	ck_assert_int_eq(feat_index_group(7, p, 4, FEAT_GROUP_LEADER, rep), 0);
	ck_assert(rep[0] == 0 && rep[1] == 0 && rep[2] == 2 && rep[6] == 2);
	ck_assert(rep[3] == 3 && rep[4] == 3 && rep[5] == 5);
}
END_TEST

START_TEST(test_default_m)
{
	ck_assert_uint_eq(feat_index_default_m(64, 10000000), 3);
	ck_assert_uint_eq(feat_index_default_m(256, 10000000), 11);
	ck_assert_uint_ge(feat_index_default_m(256, 10), 8);
	ck_assert_uint_eq(feat_index_default_m(32, 1), 16);
	ck_assert_int_eq(feat_index_new(&(feat_index *){ NULL }, 64, 1), FEAT_E_RANGE);
	/* the join's m is always a valid layout, whatever the size */
	for (unsigned b = 0; b < 4; b++)
		for (uint64_t n = 1; n <= 100000000; n *= 10)
			for (unsigned r = 0; r <= 16; r += 4) {
				uint32_t m = feat_index_join_m(bitses[b], n, r);
				feat_index *ix;

				ck_assert_int_eq(feat_index_new(&ix, bitses[b], m), 0);
				feat_index_free(ix);
			}
}
END_TEST

/* New substrings for a built index: the same join. */
START_TEST(test_retable)
{
	size_t n = 1500;
	uint8_t *c = make_codes(n, 64, 1);
	feat_index *ix = build(c, n, 64, 3);

	ck_assert_int_eq(feat_index_retable(ix, 1), FEAT_E_RANGE);   /* 64-bit substring */
	ck_assert_int_eq(feat_index_retable(ix, 5), 0);
	ck_assert_uint_eq(feat_index_info(ix)->built, 0);
	ck_assert_int_eq(feat_index_build(ix), 0);
	ck_assert_uint_eq(feat_index_info(ix)->m, 5);
	ck_assert_uint_eq(feat_index_info(ix)->built, n);
	check_join(ix, c, n, 64, 6, FEAT_SEARCH_MIH, 2);
	ck_assert_int_eq(feat_index_retable(ix, 5), 0);               /* in use: kept */
	ck_assert_uint_eq(feat_index_info(ix)->built, n);
	feat_index_free(ix);
	free(c);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("mih");
	TCase *tc = tcase_create("mih");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_exact, 0, 8);
	tcase_add_test(tc, test_file_merge_append);
	tcase_add_test(tc, test_load_out);
	tcase_add_test(tc, test_kernels);
	tcase_add_test(tc, test_retable);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_default_m);
	suite_add_tcase(s, tc);
	return s;
}
