/*
 * mih.c - exact search over binary codes by multi-index hashing
 * (Norouzi, Punjani and Fleet, "Fast Exact Search in Hamming Space with
 * Multi-Index Hashing"), and the featindex file (man/man5/featindex.5)
 * that stores it.
 *
 * The code is cut into m substrings of nearly equal width (the first
 * code_bits % m one bit wider), each at most 32 bits.  Table j holds, for
 * every record, the value of substring j: the values sorted ascending
 * (ids ascending within a value, since radix sort is stable and records
 * arrive in id order), the ids in the same order, and a directory of
 * 2^t + 1 offsets by the top t bits of the value.  A lookup of value u is
 * dir[u >> (w - t)] .. dir[... + 1], narrowed by binary search on the
 * values when t < w.  Sorted arrays rather than hash buckets: no pointers
 * to chase, the file is used in place when mapped, and two tables merge
 * in a single linear pass, so shards built apart merge without
 * recomputing a substring.
 *
 * Search within r uses the sharper pigeonhole form: with r = s*m + a
 * (0 <= a < m), a code within r of the query has one of the substrings
 * 0 .. a within s of the query's, or one of a+1 .. m-1 within s - 1
 * (otherwise the distance would be at least (a+1)(s+1) + (m-a-1)s =
 * r + 1).  Every value within that radius of the query's substring is
 * looked up; the ids found are checked by full distance (kern/popcount).
 * A candidate found through table j is dropped if some table t < j would
 * have found it too (its substring t within table t's radius): each
 * result is then reported once without a set of seen ids, and the
 * self-join reports each pair once, from its lower id.
 *
 * When the probes would cost more than reading every code (large r, few
 * records), the search scans instead; both give the same answer.
 *
 * The file is little-endian like every featkit format, and the sections
 * are used in place, so this code assumes a little-endian host.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"
#include "codes/index.h"
#include "kern/popcount.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "featindex sections are used in place: a little-endian host is needed"
#endif

_Static_assert(sizeof(FEAT_INDEX_MAGIC) - 1 == 8, "featindex magic is 8 bytes");
_Static_assert(FEAT_INDEX_HDR % FEAT_INDEX_ALIGN == 0 &&
	       FEAT_INDEX_TABENT % 8 == 0, "sections stay aligned");

/* The header as stored (man 5 featindex).  Read and written field by
 * field with feat_rd/feat_wr; the struct documents and checks the layout. */
struct ix_hdr {
	char magic[8];
	uint16_t major, minor;
	uint32_t header_size;
	uint32_t code_bits, code_stride;
	uint32_t m, table_entry_size;
	uint64_t count, file_size;
	uint64_t tables_off, codes_off, keyoff_off, keys_off, keys_size;
	uint8_t reserved[40];
};
_Static_assert(sizeof(struct ix_hdr) == FEAT_INDEX_HDR, "featindex header is 128 bytes");

struct ix_tabent {
	uint32_t lo, width, dir_bits, reserved0;
	uint64_t dir_off, vals_off, ids_off;
	uint8_t reserved[24];
};
_Static_assert(sizeof(struct ix_tabent) == FEAT_INDEX_TABENT, "table entry is 64 bytes");

struct mih_table {
	uint32_t lo, w, t;           /* first bit, width, directory bits */
	uint32_t wlo, whi;           /* 64-bit words of the code it covers */
	const uint32_t *dir, *vals, *ids;
	uint32_t *own;               /* one allocation for all three, or NULL */
};

struct feat_index {
	struct feat_index_info info;
	unsigned words;
	uint64_t n;
	const uint8_t *codes;        /* n * code_stride */
	const uint64_t *koff;        /* n + 1 */
	const char *keys;
	uint8_t *own_codes;
	uint64_t *own_koff;
	char *own_keys;
	size_t codes_cap, koff_cap, keys_cap;
	uint32_t m;
	int guessed;                 /* code_bits guessed from text (index.h) */
	uint64_t built;              /* records in the tables */
	struct mih_table *tab;
	uint64_t *masks;             /* m * words: the bits of each substring */
	struct feat_mapped file;     /* the file opened, or none (base/file.c) */
	size_t mapsize;              /* bytes of the index, mapped or in memory */
	char name[128];
};

/* ------------------------------------------------------------ layout */

uint32_t feat_index_default_m(uint32_t code_bits, uint64_t count)
{
	uint32_t lo = (code_bits + FEAT_INDEX_MAX_SUB - 1) / FEAT_INDEX_MAX_SUB, m;
	double l = 1;

	while (l < 64 && (double)((uint64_t)1 << (int)l) < (double)count)
		l++;
	m = (uint32_t)((double)code_bits / (l < 2 ? 2 : l) + 0.5);
	if (m < lo)
		m = lo;
	if (m > code_bits)
		m = code_bits;
	return m ? m : 1;
}

static int layout_ok(uint32_t bits, uint32_t m)
{
	return bits >= 1 && bits <= FEAT_INDEX_MAX_BITS && m >= 1 && m <= bits &&
	       (bits + m - 1) / m <= FEAT_INDEX_MAX_SUB;
}

/* Substring j of m over bits: first bit and width. */
static void sub_span(uint32_t bits, uint32_t m, uint32_t j, uint32_t *lo,
	uint32_t *w)
{
	uint32_t q = bits / m, extra = bits % m;

	*w = q + (j < extra);
	*lo = j * q + (j < extra ? j : extra);
}

static unsigned dir_bits(uint32_t w, uint64_t n)
{
	unsigned t = 0;

	while (t < w && t < 24 && ((uint64_t)1 << t) < n)
		t++;
	return t;
}

/* Bits [lo, lo + w) of a code, MSB first, as an integer. */
static inline uint32_t sub_get(const uint8_t *code, uint32_t lo, uint32_t w)
{
	uint32_t b0 = lo / 8, b1 = (lo + w - 1) / 8;
	uint64_t acc = 0;

	for (uint32_t b = b0; b <= b1; b++)
		acc = acc << 8 | code[b];
	acc >>= (b1 + 1) * 8 - (lo + w);
	return (uint32_t)(acc & (((uint64_t)1 << w) - 1));
}

static int setup_tables(feat_index *ix, uint32_t m)
{
	uint32_t stride = ix->info.code_stride;
	uint8_t *bytes;

	ix->tab = calloc(m, sizeof *ix->tab);
	ix->masks = calloc((size_t)m * ix->words, 8);
	bytes = calloc(stride, 1);
	if (!ix->tab || !ix->masks || !bytes) {
		free(bytes);
		return FEAT_E_NOMEM;
	}
	for (uint32_t j = 0; j < m; j++) {
		struct mih_table *T = &ix->tab[j];

		sub_span(ix->info.code_bits, m, j, &T->lo, &T->w);
		memset(bytes, 0, stride);
		for (uint32_t b = T->lo; b < T->lo + T->w; b++)
			bytes[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		memcpy(ix->masks + (size_t)j * ix->words, bytes, stride);
		T->wlo = T->lo / 64;
		T->whi = (T->lo + T->w - 1) / 64;
	}
	free(bytes);
	ix->m = ix->info.m = m;
	return 0;
}

/* --------------------------------------------------------- in memory */

static void free_tables(feat_index *ix)
{
	if (ix->tab)
		for (uint32_t j = 0; j < ix->m; j++)
			free(ix->tab[j].own);
	free(ix->tab);
	free(ix->masks);
	ix->tab = NULL;
	ix->masks = NULL;
}

void feat_index_free(feat_index *ix)
{
	if (!ix)
		return;
	free_tables(ix);
	free(ix->own_codes);
	free(ix->own_koff);
	free(ix->own_keys);
	feat_unmap(&ix->file);
	free(ix);
}

int feat_index_new(feat_index **out, uint32_t code_bits, uint32_t m)
{
	feat_index *ix;

	*out = NULL;
	if (code_bits < 1 || code_bits > FEAT_INDEX_MAX_BITS ||
	    (m && !layout_ok(code_bits, m)))
		return FEAT_E_RANGE;
	ix = calloc(1, sizeof *ix);
	if (!ix)
		return FEAT_E_NOMEM;
	ix->info.major = FEAT_INDEX_MAJOR;
	ix->info.minor = FEAT_INDEX_MINOR;
	ix->info.code_bits = code_bits;
	ix->info.code_stride = (code_bits + 63) / 64 * 8;
	ix->words = ix->info.code_stride / 8;
	ix->info.m = m;
	feat_fmt(ix->name, sizeof ix->name, "index");
	*out = ix;
	return 0;
}

void feat_index_guessed(feat_index *ix, int on)
{
	ix->guessed = on;
}

int feat_index_narrow(feat_index *ix, uint32_t bits)
{
	uint32_t b = ix->info.code_bits;

	if (!ix->guessed || ix->built || bits >= b || (bits + 7) / 8 != (b + 7) / 8 ||
	    (ix->info.m && !layout_ok(bits, ix->info.m)))
		return FEAT_E_RANGE;
	for (uint64_t i = 0; i < ix->n; i++)   /* the padding of the last byte: 0 */
		if (ix->codes[i * ix->info.code_stride + (bits - 1) / 8] & (uint8_t)(0xff >> (bits % 8)))
			return FEAT_E_RANGE;
	ix->info.code_bits = bits;
	return 0;
}

/* Make codes and keys owned and growable (after an open, they point into
 * the mapping). */
static int own_records(feat_index *ix)
{
	size_t cs = ix->info.code_stride;

	if (!ix->own_koff) {
		if (feat_grow(&ix->own_koff, &ix->koff_cap, ix->n + 1, 8, 1024))
			return FEAT_E_NOMEM;
		if (ix->koff)
			memcpy(ix->own_koff, ix->koff, (ix->n + 1) * 8);
		else
			ix->own_koff[0] = 0;
		ix->koff = ix->own_koff;
	}
	if (!ix->own_codes && ix->n) {
		if (feat_grow(&ix->own_codes, &ix->codes_cap, ix->n, cs, 1024))
			return FEAT_E_NOMEM;
		memcpy(ix->own_codes, ix->codes, ix->n * cs);
		ix->codes = ix->own_codes;
	}
	if (!ix->own_keys && ix->info.key_bytes) {
		if (feat_grow(&ix->own_keys, &ix->keys_cap, ix->info.key_bytes, 1, 1024))
			return FEAT_E_NOMEM;
		memcpy(ix->own_keys, ix->keys, ix->info.key_bytes);
		ix->keys = ix->own_keys;
	}
	return 0;
}

/* Room for more records and key bytes. */
static int reserve(feat_index *ix, uint64_t more, uint64_t keybytes)
{
	if (ix->n + more > FEAT_INDEX_MAX_COUNT)
		return FEAT_E_TOOBIG;
	if (own_records(ix) ||
	    feat_grow(&ix->own_codes, &ix->codes_cap, ix->n + more,
		      ix->info.code_stride, 1024) ||
	    feat_grow(&ix->own_koff, &ix->koff_cap, ix->n + more + 1, 8, 1024) ||
	    feat_grow(&ix->own_keys, &ix->keys_cap,
		      ix->info.key_bytes + keybytes + 1, 1, 1024))
		return FEAT_E_NOMEM;
	ix->codes = ix->own_codes;
	ix->koff = ix->own_koff;
	ix->keys = ix->own_keys;
	return 0;
}

/* Append without checks (room reserved); code has at least
 * (code_bits + 7) / 8 bytes. */
static void put_record(feat_index *ix, const uint8_t *code, const char *key,
	size_t keylen)
{
	size_t cs = ix->info.code_stride, cb = (ix->info.code_bits + 7) / 8;
	uint8_t *dst = ix->own_codes + ix->n * cs;

	memset(dst, 0, cs);
	memcpy(dst, code, cb);
	if (ix->info.code_bits % 8)
		dst[cb - 1] &= (uint8_t)(0xff << (8 - ix->info.code_bits % 8));
	if (keylen)
		memcpy(ix->own_keys + ix->info.key_bytes, key, keylen);
	ix->info.key_bytes += keylen;
	ix->n++;
	ix->own_koff[ix->n] = ix->info.key_bytes;
	ix->info.count = ix->n;
}

int feat_index_add(feat_index *ix, const uint8_t *code, const char *key,
	size_t keylen)
{
	int e;

	if (keylen > FEAT_KEY_MAX)
		return FEAT_E_TOOBIG;
	if ((e = reserve(ix, 1, keylen)))
		return e;
	put_record(ix, code, key, keylen);
	return 0;
}

int feat_index_add_codes(feat_index *ix, const feat_codes *c)
{
	uint64_t n = feat_codes_count(c), kb = 0;
	int e;

	if (feat_codes_info(c)->code_bits != ix->info.code_bits)
		return n ? FEAT_E_RANGE : 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t kl;

		feat_codes_key(c, i, &kl, NULL);
		kb += kl;
	}
	if ((e = reserve(ix, n, kb)))
		return e;
	for (uint64_t i = 0; i < n; i++) {
		size_t kl;
		const char *k = feat_codes_key(c, i, &kl, NULL);

		put_record(ix, feat_codes_code(c, i), k, kl);
	}
	return 0;
}

/* ------------------------------------------------------------ tables */

/* Stable LSD radix sort of (val, id) pairs by val (w bits), 11 bits a
 * pass.  v, id are sorted in place; tv, tid are scratch of n. */
static int radix_sort(uint32_t *v, uint32_t *id, uint32_t *tv, uint32_t *tid,
	size_t n, uint32_t w)
{
	enum { D = 11 };
	size_t *cnt = malloc(((size_t)1 << D) * sizeof *cnt);

	if (!cnt)
		return FEAT_E_NOMEM;
	for (uint32_t sh = 0; sh < w; sh += D) {
		uint32_t mask = (1u << D) - 1;
		size_t sum = 0;

		memset(cnt, 0, ((size_t)1 << D) * sizeof *cnt);
		for (size_t i = 0; i < n; i++)
			cnt[v[i] >> sh & mask]++;
		for (size_t d = 0; d <= mask; d++) {
			size_t c = cnt[d];

			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			size_t p = cnt[v[i] >> sh & mask]++;

			tv[p] = v[i];
			tid[p] = id[i];
		}
		memcpy(v, tv, n * 4);
		memcpy(id, tid, n * 4);
	}
	free(cnt);
	return 0;
}

/* The directory bucket of value v: its top t of w bits.  In 64 bits, as
 * w - t is 32 when a table of 32-bit substrings has t = 0 (an index of
 * one record), and a 32-bit shift by 32 is undefined (x86 shifts by 0). */
static inline uint32_t dir_of(const struct mih_table *T, uint32_t v)
{
	return (uint32_t)((uint64_t)v >> (T->w - T->t));
}

/* Fill a table's own arrays: vals/ids of n records (given), directory
 * for t bits.  own = [dir (2^t + 1)][vals n][ids n]. */
static int table_set(struct mih_table *T, const uint32_t *vals,
	const uint32_t *ids, uint64_t n)
{
	size_t nd = ((size_t)1 << T->t) + 1;
	uint32_t *own = malloc((nd + 2 * (size_t)n) * 4 + 4), *dir, *vv, *ii;
	size_t p = 0;

	if (!own)
		return FEAT_E_NOMEM;
	dir = own;
	vv = own + nd;
	ii = vv + n;
	memcpy(vv, vals, n * 4);
	memcpy(ii, ids, n * 4);
	for (size_t b = 0; b + 1 < nd; b++) {
		dir[b] = (uint32_t)p;
		while (p < n && dir_of(T, vv[p]) == b)
			p++;
	}
	dir[nd - 1] = (uint32_t)p;
	free(T->own);
	T->own = own;
	T->dir = dir;
	T->vals = vv;
	T->ids = ii;
	return 0;
}

/* Merge sorted (av, ai)[na] and (bv, bi + off)[nb] into (ov, oi): ties
 * take a first, whose ids are all lower. */
static void merge_runs(const uint32_t *av, const uint32_t *ai, uint64_t na,
	const uint32_t *bv, const uint32_t *bi, uint64_t nb, uint32_t off,
	uint32_t *ov, uint32_t *oi)
{
	uint64_t i = 0, j = 0, k = 0;

	while (i < na && j < nb) {
		if (bv[j] < av[i]) {
			ov[k] = bv[j];
			oi[k++] = bi[j++] + off;
		} else {
			ov[k] = av[i];
			oi[k++] = ai[i++];
		}
	}
	for (; i < na; i++, k++) {
		ov[k] = av[i];
		oi[k] = ai[i];
	}
	for (; j < nb; j++, k++) {
		ov[k] = bv[j];
		oi[k] = bi[j] + off;
	}
}

int feat_index_build(feat_index *ix)
{
	uint64_t n = ix->n, old = ix->built, add = n - old;
	uint32_t *v, *id, *tv, *tid;
	int e = 0;

	if (!ix->tab) {
		uint32_t m = ix->info.m ? ix->info.m
					: feat_index_default_m(ix->info.code_bits, n);

		if ((e = setup_tables(ix, m)))
			return e;
		old = 0;
		add = n;
	}
	if (add == 0 && ix->built == n && ix->tab[0].dir)
		return 0;
	v = malloc((size_t)(n ? n : 1) * 4);
	id = malloc((size_t)(n ? n : 1) * 4);
	tv = malloc((size_t)(n ? n : 1) * 4);
	tid = malloc((size_t)(n ? n : 1) * 4);
	if (!v || !id || !tv || !tid) {
		e = FEAT_E_NOMEM;
		goto out;
	}
	for (uint32_t j = 0; j < ix->m && !e; j++) {
		struct mih_table *T = &ix->tab[j];
		size_t cs = ix->info.code_stride;

		for (uint64_t i = 0; i < add; i++) {
			v[i] = sub_get(ix->codes + (old + i) * cs, T->lo, T->w);
			id[i] = (uint32_t)(old + i);
		}
		if ((e = radix_sort(v, id, tv, tid, add, T->w)))
			break;
		if (old) {
			merge_runs(T->vals, T->ids, old, v, id, add, 0, tv, tid);
			T->t = dir_bits(T->w, n);
			e = table_set(T, tv, tid, n);
		} else {
			T->t = dir_bits(T->w, n);
			e = table_set(T, v, id, n);
		}
	}
	if (!e)
		ix->built = ix->info.built = n;
out:
	free(v);
	free(id);
	free(tv);
	free(tid);
	return e;
}

int feat_index_retable(feat_index *ix, uint32_t m)
{
	if (!layout_ok(ix->info.code_bits, m))
		return FEAT_E_RANGE;
	if (ix->tab && ix->m == m)
		return 0;
	free_tables(ix);
	ix->m = 0;
	ix->info.m = m;
	ix->built = ix->info.built = 0;
	return 0;
}

int feat_index_add_index(feat_index *ix, const feat_index *o)
{
	uint64_t n0 = ix->n, kb0 = ix->info.key_bytes;
	int merge;
	int e;

	if (o->info.code_bits != ix->info.code_bits)
		return o->n ? FEAT_E_RANGE : 0;
	merge = o->tab && o->built == o->n && o->n &&
		((ix->tab && ix->built == n0 && ix->m == o->m) ||
		 (!ix->tab && n0 == 0 && (!ix->info.m || ix->info.m == o->m)));
	if ((e = reserve(ix, o->n, o->info.key_bytes)))
		return e;
	if (o->n)
		memcpy(ix->own_codes + n0 * ix->info.code_stride, o->codes,
	       o->n * ix->info.code_stride);
	if (o->info.key_bytes)
		memcpy(ix->own_keys + kb0, o->keys, o->info.key_bytes);
	for (uint64_t i = 1; i <= o->n; i++)
		ix->own_koff[n0 + i] = kb0 + o->koff[i];
	ix->n += o->n;
	ix->info.count = ix->n;
	ix->info.key_bytes += o->info.key_bytes;
	if (!merge)
		return 0;
	if (!ix->tab && (e = setup_tables(ix, o->m)))
		return e;
	{
		uint64_t n = ix->n;
		uint32_t *tv = malloc((size_t)n * 4), *tid = malloc((size_t)n * 4);

		if (!tv || !tid) {
			free(tv);
			free(tid);
			return FEAT_E_NOMEM;
		}
		for (uint32_t j = 0; j < ix->m && !e; j++) {
			struct mih_table *T = &ix->tab[j];
			const struct mih_table *U = &o->tab[j];

			merge_runs(T->vals, T->ids, n0, U->vals, U->ids, o->n,
				   (uint32_t)n0, tv, tid);
			T->t = dir_bits(T->w, n);
			e = table_set(T, tv, tid, n);
		}
		free(tv);
		free(tid);
		if (!e)
			ix->built = ix->info.built = n;
	}
	return e;
}

/* ------------------------------------------------------------ access */

const struct feat_index_info *feat_index_info(const feat_index *ix)
{
	return &ix->info;
}

uint64_t feat_index_count(const feat_index *ix)
{
	return ix->n;
}

const uint8_t *feat_index_code(const feat_index *ix, uint64_t i)
{
	return i < ix->n ? ix->codes + i * ix->info.code_stride : NULL;
}

const char *feat_index_key(const feat_index *ix, uint64_t i, size_t *len)
{
	if (i >= ix->n)
		return NULL;
	*len = (size_t)(ix->koff[i + 1] - ix->koff[i]);
	return ix->keys ? ix->keys + ix->koff[i] : "";
}

const char *feat_popcount_name(void)
{
	return feat_pc_active()->name;
}

int feat_popcount_select(const char *name)
{
	return feat_pc_select(name);
}

/* -------------------------------------------------------------- write */

struct wbuf {
	int fd;
	uint64_t pos;
	int err;
};

static void wput(struct wbuf *w, const void *p, size_t n)
{
	if (w->err || !n)
		return;
	if ((w->err = feat_write_full(w->fd, p, n)) == 0)
		w->pos += n;
}

static void wpad(struct wbuf *w)
{
	static const unsigned char z[FEAT_INDEX_ALIGN];

	wput(w, z, (size_t)(feat_align_up(w->pos, FEAT_INDEX_ALIGN) - w->pos));
}

int feat_index_write(feat_index *ix, int fd)
{
	unsigned char h[FEAT_INDEX_HDR], *te;
	uint64_t off, codes_off, koff_off, keys_off, tab_off, n = ix->n;
	struct wbuf w = { fd, 0, 0 };
	uint64_t zero = 0;
	int e;

	if ((e = feat_index_build(ix)))
		return e;
	te = calloc(ix->m, FEAT_INDEX_TABENT);
	if (!te)
		return FEAT_E_NOMEM;
	/* offsets first, then everything in one sequential pass */
	tab_off = FEAT_INDEX_HDR;
	off = feat_align_up(tab_off + (uint64_t)ix->m * FEAT_INDEX_TABENT, FEAT_INDEX_ALIGN);
	codes_off = off;
	off = feat_align_up(off + n * ix->info.code_stride, FEAT_INDEX_ALIGN);
	koff_off = off;
	off = feat_align_up(off + (n + 1) * 8, FEAT_INDEX_ALIGN);
	keys_off = off;
	off = feat_align_up(off + ix->info.key_bytes, FEAT_INDEX_ALIGN);
	for (uint32_t j = 0; j < ix->m; j++) {
		struct mih_table *T = &ix->tab[j];
		unsigned char *p = te + (size_t)j * FEAT_INDEX_TABENT;

		feat_wr32(p, T->lo);
		feat_wr32(p + 4, T->w);
		feat_wr32(p + 8, T->t);
		feat_wr64(p + 16, off);
		off = feat_align_up(off + (((uint64_t)1 << T->t) + 1) * 4, FEAT_INDEX_ALIGN);
		feat_wr64(p + 24, off);
		off = feat_align_up(off + n * 4, FEAT_INDEX_ALIGN);
		feat_wr64(p + 32, off);
		off = feat_align_up(off + n * 4, FEAT_INDEX_ALIGN);
	}
	memset(h, 0, sizeof h);
	memcpy(h, FEAT_INDEX_MAGIC, 8);
	feat_wr16(h + 8, FEAT_INDEX_MAJOR);
	feat_wr16(h + 10, FEAT_INDEX_MINOR);
	feat_wr32(h + 12, FEAT_INDEX_HDR);
	feat_wr32(h + 16, ix->info.code_bits);
	feat_wr32(h + 20, ix->info.code_stride);
	feat_wr32(h + 24, ix->m);
	feat_wr32(h + 28, FEAT_INDEX_TABENT);
	feat_wr64(h + 32, n);
	feat_wr64(h + 40, off);
	feat_wr64(h + 48, tab_off);
	feat_wr64(h + 56, codes_off);
	feat_wr64(h + 64, koff_off);
	feat_wr64(h + 72, keys_off);
	feat_wr64(h + 80, ix->info.key_bytes);
	wput(&w, h, sizeof h);
	wput(&w, te, (size_t)ix->m * FEAT_INDEX_TABENT);
	wpad(&w);
	wput(&w, ix->codes, n * ix->info.code_stride);
	wpad(&w);
	if (ix->koff)
		wput(&w, ix->koff, (n + 1) * 8);
	else
		wput(&w, &zero, 8);
	wpad(&w);
	wput(&w, ix->keys, ix->info.key_bytes);
	wpad(&w);
	for (uint32_t j = 0; j < ix->m; j++) {
		struct mih_table *T = &ix->tab[j];

		wput(&w, T->dir, (((size_t)1 << T->t) + 1) * 4);
		wpad(&w);
		wput(&w, T->vals, n * 4);
		wpad(&w);
		wput(&w, T->ids, n * 4);
		wpad(&w);
	}
	free(te);
	FEAT_ASSERT(w.err || w.pos == off);
	if (w.err) {
		errno = w.err;
		return FEAT_E_IO;
	}
	return 0;
}

/* --------------------------------------------------------------- open */

#define ofail feat_fail_named

/* A section [off, off + len) of the file: aligned and inside. */
static int section(const feat_index *ix, const char *what, uint64_t off,
	uint64_t len, char *why, size_t whylen)
{
	if (off % FEAT_INDEX_ALIGN)
		return ofail(why, whylen, ix->name, FEAT_E_CORRUPT,
			     "%s is %llu; expected a multiple of %d", what,
			     (unsigned long long)off, FEAT_INDEX_ALIGN);
	if (off > ix->mapsize || len > ix->mapsize - off)
		return ofail(why, whylen, ix->name, FEAT_E_CORRUPT,
			     "%s is %llu: its %llu bytes end past the end of the "
			     "file (%zu bytes)", what, (unsigned long long)off,
			     (unsigned long long)len, ix->mapsize);
	return 0;
}

/* Check a table's arrays: directory monotone and complete, values in
 * range, sorted, in their directory bucket, ids in range. */
static int check_table(const feat_index *ix, uint32_t j, char *why,
	size_t whylen)
{
	const struct mih_table *T = &ix->tab[j];
	size_t nd = ((size_t)1 << T->t) + 1;
	uint64_t n = ix->n;

	if (T->dir[0] != 0 || T->dir[nd - 1] != n)
		return ofail(why, whylen, ix->name, FEAT_E_CORRUPT,
			     "table %u directory: entry %zu is %u; expected %llu",
			     j, T->dir[0] ? (size_t)0 : nd - 1,
			     T->dir[0] ? T->dir[0] : T->dir[nd - 1],
			     T->dir[0] ? 0ULL : (unsigned long long)n);
	for (size_t b = 0; b + 1 < nd; b++) {
		if (T->dir[b + 1] < T->dir[b])
			return ofail(why, whylen, ix->name, FEAT_E_CORRUPT,
				     "table %u directory: entry %zu is %u, less "
				     "than entry %zu (%u)", j, b + 1, T->dir[b + 1],
				     b, T->dir[b]);
		for (uint64_t p = T->dir[b]; p < T->dir[b + 1]; p++) {
			uint32_t v = T->vals[p];

			if ((T->w < 32 && v >> T->w) || dir_of(T, v) != b ||
			    (p > T->dir[b] && v < T->vals[p - 1]))
				return ofail(why, whylen, ix->name, FEAT_E_CORRUPT,
					     "table %u value %llu is %u: %s", j,
					     (unsigned long long)p, v,
					     T->w < 32 && v >> T->w
						     ? "wider than the substring"
						     : dir_of(T, v) != b
							     ? "not in its directory bucket"
							     : "values not sorted");
			if (T->ids[p] >= n)
				return ofail(why, whylen, ix->name, FEAT_E_CORRUPT,
					     "table %u id %llu is %u; the index has %llu "
					     "records", j, (unsigned long long)p,
					     T->ids[p], (unsigned long long)n);
			if (p > T->dir[b] && v == T->vals[p - 1] &&
			    T->ids[p] <= T->ids[p - 1])
				return ofail(why, whylen, ix->name, FEAT_E_CORRUPT,
					     "table %u id %llu is %u: ids of one value "
					     "not ascending", j, (unsigned long long)p,
					     T->ids[p]);
		}
	}
	return 0;
}

/* A 64-bit mix of one (record, substring value) pair (splitmix64's
 * finaliser). */
static inline uint64_t pair_mix(uint64_t id, uint32_t v)
{
	uint64_t x = id << 32 ^ v ^ 0x9e3779b97f4a7c15ULL;

	x = (x ^ x >> 30) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ x >> 27) * 0x94d049bb133111ebULL;
	return x ^ x >> 31;
}

/* Does each table list every record once, under its code's substring?
 * check_table() has checked the arrays' shape; here the multiset of
 * (id, value) pairs of table j is compared with {(r, substring j of
 * code r)} through a sum (mod 2^64) of mixed pairs, computed by two
 * sequential passes (the codes once, each table's arrays once),
 * so that a mapped index is checked at about the cost of reading it,
 * not at the cost of a random read of a code per table entry
 * (feat_index_verify, which names the entry).  Corruption (a flipped
 * bit in a code or a table, stale tables) changes the sums; then the
 * slow check is run to name the entry. */
static int tables_match(const feat_index *ix, char *why, size_t whylen)
{
	uint32_t stride = ix->info.code_stride;
	uint64_t *s1 = calloc(ix->m ? ix->m : 1, sizeof *s1);

	if (!s1)
		return FEAT_E_NOMEM;
	for (uint64_t r = 0; r < ix->n; r++) {
		const uint8_t *c = ix->codes + (size_t)r * stride;

		for (uint32_t j = 0; j < ix->m; j++) {
			s1[j] += pair_mix(r, sub_get(c, ix->tab[j].lo, ix->tab[j].w));
		}
	}
	for (uint32_t j = 0; j < ix->m; j++) {
		const struct mih_table *T = &ix->tab[j];
		uint64_t t1 = 0;

		for (uint64_t p = 0; p < ix->n; p++)
			t1 += pair_mix(T->ids[p], T->vals[p]);
		if (t1 != s1[j]) {
			int e;

			free(s1);
			if ((e = feat_index_verify(ix, why, whylen)))
				return e;
			return ofail(why, whylen, ix->name, FEAT_E_CORRUPT,
				     "table %u does not list every record once under "
				     "its code's substring", j);
		}
	}
	free(s1);
	return 0;
}

static int parse(feat_index *ix, char *why, size_t whylen)
{
	const unsigned char *h = ix->file.map ? ix->file.map : (const void *)ix->codes;
	const unsigned char *base = h;
	const char *nm = ix->name;
	size_t size = ix->mapsize;
	uint32_t hsz, bits, stride, m, tes;
	uint64_t n, fsz, toff, coff, kooff, kyoff, kysz;
	int e;

	ix->codes = NULL;
	if (size == 0)
		return ofail(why, whylen, nm, FEAT_E_EMPTY, "empty file: no featindex header");
	if (memcmp(h, FEAT_INDEX_MAGIC, size < 8 ? size : 8)) {
		if (size >= 8 && !memcmp(h, FEAT_CODES_MAGIC, 8))
			return ofail(why, whylen, nm, FEAT_E_FORMAT,
				     "not a featindex file: it is a featcodes file "
				     "(featindex build makes an index from it)");
		if (size >= 8 && !memcmp(h, FEAT_STREAM_MAGIC, 8))
			return ofail(why, whylen, nm, FEAT_E_FORMAT,
				     "not a featindex file: it is a featstream");
		return ofail(why, whylen, nm, FEAT_E_FORMAT, "not a featindex file (bad magic)");
	}
	if (size < FEAT_INDEX_HDR)
		return ofail(why, whylen, nm, FEAT_E_TRUNCATED,
			     "header cut short: %zu of %d bytes", size, FEAT_INDEX_HDR);
	ix->info.major = feat_rd16(h + 8);
	ix->info.minor = feat_rd16(h + 10);
	hsz = feat_rd32(h + 12);
	bits = feat_rd32(h + 16);
	stride = feat_rd32(h + 20);
	m = feat_rd32(h + 24);
	tes = feat_rd32(h + 28);
	n = feat_rd64(h + 32);
	fsz = feat_rd64(h + 40);
	toff = feat_rd64(h + 48);
	coff = feat_rd64(h + 56);
	kooff = feat_rd64(h + 64);
	kyoff = feat_rd64(h + 72);
	kysz = feat_rd64(h + 80);
	if (ix->info.major != FEAT_INDEX_MAJOR)
		return ofail(why, whylen, nm, FEAT_E_VERSION,
			     "header field major is %u: featindex version %u.%u; this "
			     "build reads version %d.x", ix->info.major, ix->info.major,
			     ix->info.minor, FEAT_INDEX_MAJOR);
	if (hsz < FEAT_INDEX_HDR || hsz % 8 || hsz > size)
		return ofail(why, whylen, nm, FEAT_E_CORRUPT,
			     "header field header_size is %u; expected %d or more, a "
			     "multiple of 8, within the file", hsz, FEAT_INDEX_HDR);
	if (fsz != size)
		return ofail(why, whylen, nm,
			     fsz > size ? FEAT_E_TRUNCATED : FEAT_E_CORRUPT,
			     "header field file_size is %llu but the file has %zu bytes%s",
			     (unsigned long long)fsz, size,
			     fsz > size ? " (cut short)" : "");
	if (bits < 1 || bits > FEAT_INDEX_MAX_BITS)
		return ofail(why, whylen, nm, FEAT_E_CORRUPT,
			     "header field code_bits is %u; expected 1 to %d", bits,
			     FEAT_INDEX_MAX_BITS);
	if (stride != (bits + 63) / 64 * 8)
		return ofail(why, whylen, nm, FEAT_E_CORRUPT,
			     "header field code_stride is %u; %u-bit codes need %u",
			     stride, bits, (bits + 63) / 64 * 8);
	if (!layout_ok(bits, m))
		return ofail(why, whylen, nm, FEAT_E_CORRUPT,
			     "header field m is %u; %u-bit codes need 1 to %u "
			     "substrings of at most %d bits", m, bits, bits,
			     FEAT_INDEX_MAX_SUB);
	if (tes != FEAT_INDEX_TABENT)
		return ofail(why, whylen, nm, FEAT_E_CORRUPT,
			     "header field table_entry_size is %u; expected %d", tes,
			     FEAT_INDEX_TABENT);
	if (n > FEAT_INDEX_MAX_COUNT)
		return ofail(why, whylen, nm, FEAT_E_CORRUPT,
			     "header field count is %llu; at most %u",
			     (unsigned long long)n, FEAT_INDEX_MAX_COUNT);
	for (size_t i = 88; i < FEAT_INDEX_HDR; i++)
		if (h[i])
			return ofail(why, whylen, nm, FEAT_E_CORRUPT,
				     "header byte %zu is not zero (reserved)", i);
	ix->info.code_bits = bits;
	ix->info.code_stride = stride;
	ix->words = stride / 8;
	ix->n = ix->info.count = n;
	ix->info.key_bytes = kysz;
	ix->info.file_size = fsz;
	if ((e = section(ix, "header field tables_off", toff,
			 (uint64_t)m * FEAT_INDEX_TABENT, why, whylen)) ||
	    (e = section(ix, "header field codes_off", coff, n * stride, why, whylen)) ||
	    (e = section(ix, "header field keyoff_off", kooff, (n + 1) * 8, why, whylen)) ||
	    (e = section(ix, "header field keys_off", kyoff, kysz, why, whylen)))
		return e;
	ix->codes = base + coff;
	ix->koff = (const uint64_t *)(const void *)(base + kooff);
	ix->keys = (const char *)base + kyoff;
	if (ix->koff[0] != 0 || ix->koff[n] != kysz)
		return ofail(why, whylen, nm, FEAT_E_CORRUPT,
			     "key offset %llu is %llu; expected %llu (%s)",
			     ix->koff[0] ? 0ULL : (unsigned long long)n,
			     (unsigned long long)(ix->koff[0] ? ix->koff[0] : ix->koff[n]),
			     ix->koff[0] ? 0ULL : (unsigned long long)kysz,
			     ix->koff[0] ? "the first key starts at 0"
					 : "header field keys_size");
	for (uint64_t i = 0; i < n; i++)
		if (ix->koff[i + 1] < ix->koff[i] ||
		    ix->koff[i + 1] - ix->koff[i] > FEAT_KEY_MAX)
			return ofail(why, whylen, nm, FEAT_E_CORRUPT,
				     "key offset %llu is %llu: %s",
				     (unsigned long long)(i + 1),
				     (unsigned long long)ix->koff[i + 1],
				     ix->koff[i + 1] < ix->koff[i]
					     ? "less than the one before"
					     : "key longer than 65535 bytes");
	/* padding bits after the code would count in every distance */
	if (bits % 64) {
		/* the bits past code_bits (MSB first) of the last word */
		uint8_t pb[8] = { 0 };
		uint64_t pad;

		for (uint32_t b = bits % 64; b < 64; b++)
			pb[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		memcpy(&pad, pb, 8);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t last;

			memcpy(&last, ix->codes + i * stride + stride - 8, 8);
			if (last & pad)
				return ofail(why, whylen, nm, FEAT_E_CORRUPT,
					     "record %llu: padding bits after the "
					     "code are not zero",
					     (unsigned long long)i);
		}
	}
	if ((e = setup_tables(ix, m)))
		return ofail(why, whylen, nm, e, "out of memory");
	for (uint32_t j = 0; j < m; j++) {
		const unsigned char *p = base + toff + (size_t)j * FEAT_INDEX_TABENT;
		struct mih_table *T = &ix->tab[j];
		uint32_t lo = feat_rd32(p), w = feat_rd32(p + 4), t = feat_rd32(p + 8);
		uint64_t doff = feat_rd64(p + 16), voff = feat_rd64(p + 24),
			 ioff = feat_rd64(p + 32);
		char what[64];

		if (lo != T->lo || w != T->w)
			return ofail(why, whylen, nm, FEAT_E_CORRUPT,
				     "table %u field %s is %u; %u substrings of %u "
				     "bits make it %u", j, lo != T->lo ? "lo" : "width",
				     lo != T->lo ? lo : w, m, bits,
				     lo != T->lo ? T->lo : T->w);
		if (t > w || t > 24)
			return ofail(why, whylen, nm, FEAT_E_CORRUPT,
				     "table %u field dir_bits is %u; at most %u", j, t,
				     w < 24 ? w : 24);
		if (feat_rd32(p + 12))
			return ofail(why, whylen, nm, FEAT_E_CORRUPT,
				     "table %u reserved field is not zero", j);
		for (int i = 40; i < FEAT_INDEX_TABENT; i++)
			if (p[i])
				return ofail(why, whylen, nm, FEAT_E_CORRUPT,
					     "table %u reserved byte %d is not zero", j, i);
		T->t = t;
		feat_fmt(what, sizeof what, "table %u field dir_off", j);
		if ((e = section(ix, what, doff, (((uint64_t)1 << t) + 1) * 4, why, whylen)))
			return e;
		feat_fmt(what, sizeof what, "table %u field vals_off", j);
		if ((e = section(ix, what, voff, n * 4, why, whylen)))
			return e;
		feat_fmt(what, sizeof what, "table %u field ids_off", j);
		if ((e = section(ix, what, ioff, n * 4, why, whylen)))
			return e;
		T->dir = (const uint32_t *)(const void *)(base + doff);
		T->vals = (const uint32_t *)(const void *)(base + voff);
		T->ids = (const uint32_t *)(const void *)(base + ioff);
		if ((e = check_table(ix, j, why, whylen)))
			return e;
	}
	ix->built = ix->info.built = n;
	return tables_match(ix, why, whylen);
}

static int open_common(feat_index **out, feat_index *ix, char *why,
	size_t whylen)
{
	int e = parse(ix, why, whylen);

	if (e) {
		ix->codes = NULL;
		feat_index_free(ix);
		return e;
	}
	*out = ix;
	return 0;
}

int feat_index_open_mem(feat_index **out, const void *data, size_t len,
	const char *name, char *why, size_t whylen)
{
	feat_index *ix;

	*out = NULL;
	if ((!data && len) || ((uintptr_t)data % 8))
		return ofail(why, whylen, name ? name : "index", FEAT_E_INVAL,
			     "data in memory must be 8-byte aligned");
	ix = calloc(1, sizeof *ix);
	if (!ix)
		return FEAT_E_NOMEM;
	feat_fmt(ix->name, sizeof ix->name, "%s", name ? name : "index");
	ix->codes = data;   /* parse() takes the base from here */
	ix->mapsize = len;
	return open_common(out, ix, why, whylen);
}

/* Map a regular file open on fd (not closed) as an index named name
 * (codes/index.h). */
int feat_index_open_fd(feat_index **out, int fd, const char *name, char *why,
	size_t whylen)
{
	struct feat_mapped f;
	feat_index *ix;
	char cause[256];
	int e;

	*out = NULL;
	if ((e = feat_map_fd(&f, fd, FEAT_MAP_REGULAR, cause, sizeof cause)))
		return ofail(why, whylen, name, e, "%s", cause);
	ix = calloc(1, sizeof *ix);
	if (!ix) {
		feat_unmap(&f);
		return FEAT_E_NOMEM;
	}
	feat_fmt(ix->name, sizeof ix->name, "%s", name);
	ix->file = f;      /* feat_index_free unmaps it */
	ix->mapsize = f.len;
	return open_common(out, ix, why, whylen);
}

int feat_index_open(feat_index **out, const char *path, char *why,
	size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	*out = NULL;
	if (fd < 0)
		return ofail(why, whylen, path, FEAT_E_IO, "cannot open: %s",
			     strerror(errno));
	e = feat_index_open_fd(out, fd, path, why, whylen);
	close(fd);   /* a mapping outlives its descriptor */
	return e;
}

int feat_index_verify(const feat_index *ix, char *why, size_t whylen)
{
	uint8_t *seen;

	if (!ix->tab || ix->built != ix->n)
		return 0;
	seen = calloc(ix->n ? ix->n : 1, 1);
	if (!seen)
		return FEAT_E_NOMEM;
	for (uint32_t j = 0; j < ix->m; j++) {
		const struct mih_table *T = &ix->tab[j];

		memset(seen, 0, ix->n);
		for (uint64_t p = 0; p < ix->n; p++) {
			uint32_t id = T->ids[p];
			const char *reason = NULL;

			if (id >= ix->n)
				reason = "id out of range";
			else if (seen[id])
				reason = "record listed twice";
			else if (sub_get(ix->codes + (size_t)id * ix->info.code_stride,
					 T->lo, T->w) != T->vals[p])
				reason = "value is not the substring of the record's code";
			if (reason) {
				free(seen);
				return ofail(why, whylen, ix->name, FEAT_E_CORRUPT,
					     "table %u entry %llu (record %u): %s", j,
					     (unsigned long long)p, id, reason);
			}
			seen[id] = 1;
		}
	}
	free(seen);
	return 0;
}

/* ------------------------------------------------------------- search */

/* The run of value u in table T: [*a, *b). */
static inline void lookup(const struct mih_table *T, uint32_t u, uint32_t *a,
	uint32_t *b)
{
	uint32_t p = dir_of(T, u), lo = T->dir[p], hi = T->dir[p + 1];

	if (T->t < T->w) {
		uint32_t l = lo, h = hi;

		while (l < h) {   /* first >= u */
			uint32_t mid = l + (h - l) / 2;

			if (T->vals[mid] < u)
				l = mid + 1;
			else
				h = mid;
		}
		lo = l;
		h = hi;
		while (l < h) {   /* first > u */
			uint32_t mid = l + (h - l) / 2;

			if (T->vals[mid] <= u)
				l = mid + 1;
			else
				h = mid;
		}
		hi = l;
	}
	*a = lo;
	*b = hi;
}

/* Radius of table j for a search within r (-1: not probed). */
static inline int tab_radius(uint32_t m, unsigned r, uint32_t j)
{
	int s = (int)(r / m), a = (int)(r % m);

	return (int)j <= a ? s : s - 1;
}

static double binom(unsigned n, unsigned k)
{
	double c = 1;

	for (unsigned i = 1; i <= k; i++)
		c = c * (n - k + i) / i;
	return c;
}

/* Values within s of one w-bit value (0 when s < 0). */
static double flips(uint32_t w, int s)
{
	double p = 0;

	for (int i = 0; i <= s && i <= (int)w; i++)
		p += binom(w, (unsigned)i);
	return p;
}

/* Lookups one query costs at radius r. */
static double probes(const feat_index *ix, unsigned r)
{
	double p = 0;

	for (uint32_t j = 0; j < ix->m; j++)
		p += flips(ix->tab[j].w, tab_radius(ix->m, r, j));
	return p;
}

/*
 * Probing beats a scan while a query's lookups cost less than reading
 * every code.  Measured on 1 M 64-bit codes (AVX-512): a lookup (directory
 * load, binary search, candidates) costs about 25 ns, the scan about
 * 0.8 ns a code, so a lookup is worth about 32 codes.  probes_done counts
 * lookups already spent by this query (k nearest grows its radius).
 */
static int use_scan_after(const feat_index *ix, unsigned r, int mode,
	double probes_done)
{
	if (mode == FEAT_SEARCH_SCAN || !ix->tab || ix->built != ix->n)
		return 1;
	if (mode == FEAT_SEARCH_MIH)
		return 0;
	return (probes_done + probes(ix, r)) * 32 > (double)ix->n;
}

static int use_scan(const feat_index *ix, unsigned r, int mode)
{
	return use_scan_after(ix, r, mode, 0);
}

/* Would table t < j (radius s_t) have found a code whose XOR with the
 * query is x?  Then table j drops it. */
static inline int found_before(const feat_index *ix, const uint64_t *x,
	uint32_t j, unsigned r)
{
	for (uint32_t t = 0; t < j; t++) {
		const struct mih_table *T = &ix->tab[t];
		const uint64_t *mk = ix->masks + (size_t)t * ix->words;
		int s = tab_radius(ix->m, r, t), d = 0;

		if (s < 0)
			continue;
		for (uint32_t w = T->wlo; w <= T->whi; w++)
			d += __builtin_popcountll(x[w] & mk[w]);
		if (d <= s)
			return 1;
	}
	return 0;
}

struct scratch {
	uint32_t *ids, *dist;
	size_t cap;
	uint64_t q[FEAT_INDEX_MAX_BITS / 64];
};

static int scratch_get(struct feat_hits *h, size_t need, struct scratch **out)
{
	struct scratch *s = h->scratch;

	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s)
			return FEAT_E_NOMEM;
		h->scratch = s;
	}
	if (need > s->cap) {
		size_t ca = s->cap, cb = s->cap;

		if (feat_grow(&s->ids, &ca, need, 4, 4096) ||
		    feat_grow(&s->dist, &cb, need, 4, 4096))
			return FEAT_E_NOMEM;
		s->cap = ca;
	}
	*out = s;
	return 0;
}

void feat_hits_free(struct feat_hits *h)
{
	struct scratch *s = h->scratch;

	if (s) {
		free(s->ids);
		free(s->dist);
		free(s);
	}
	free(h->v);
	memset(h, 0, sizeof *h);
}

static int hit_push(struct feat_hits *h, uint32_t id, uint32_t d)
{
	if (feat_grow(&h->v, &h->cap, h->n + 1, sizeof *h->v, 64))
		return FEAT_E_NOMEM;
	h->v[h->n].id = id;
	h->v[h->n++].dist = d;
	return 0;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct feat_hit *x = a, *y = b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

#define SCAN_CHUNK 4096

/* All records within r by reading every code. */
static int radius_scan(const feat_index *ix, const uint64_t *q, unsigned r,
	struct feat_hits *h)
{
	const struct feat_pc_path *pc = feat_pc_active();
	struct scratch *s;
	int e;

	if ((e = scratch_get(h, SCAN_CHUNK, &s)))
		return e;
	for (uint64_t i = 0; i < ix->n; i += SCAN_CHUNK) {
		size_t len = ix->n - i < SCAN_CHUNK ? (size_t)(ix->n - i) : SCAN_CHUNK;
		size_t k = pc->scan(ix->codes, ix->info.code_stride, ix->words, q,
				    (uint32_t)i, len, r, s->ids, s->dist);

		for (size_t x = 0; x < k; x++)
			if ((e = hit_push(h, s->ids[x], s->dist[x])))
				return e;
	}
	return 0;
}

/* Enumerate values within s of v (flipping bits >= from), looking each
 * up in T and passing the run to fn. */
struct probe {
	const feat_index *ix;
	const struct mih_table *T;
	uint32_t j;
	unsigned r;
	const uint64_t *q;
	struct feat_hits *h;
	int err;
};

static void probe_run(struct probe *P, uint32_t u)
{
	const feat_index *ix = P->ix;
	const struct feat_pc_path *pc = feat_pc_active();
	struct scratch *s;
	uint32_t a, b;
	size_t k;

	lookup(P->T, u, &a, &b);
	if (a == b || P->err)
		return;
	if ((P->err = scratch_get(P->h, b - a, &s)))
		return;
	k = pc->filter(ix->codes, ix->info.code_stride, ix->words, P->q,
		       P->T->ids + a, b - a, P->r, s->ids, s->dist);
	for (size_t x = 0; x < k && !P->err; x++) {
		uint64_t xr[FEAT_INDEX_MAX_BITS / 64];
		const uint8_t *c = ix->codes + (size_t)s->ids[x] * ix->info.code_stride;

		if (P->j) {
			for (unsigned w = 0; w < ix->words; w++) {
				uint64_t cw;

				memcpy(&cw, c + 8 * w, 8);
				xr[w] = cw ^ P->q[w];
			}
			if (found_before(ix, xr, P->j, P->r))
				continue;
		}
		P->err = hit_push(P->h, s->ids[x], s->dist[x]);
	}
}

static void probe_flips(struct probe *P, uint32_t v, int s, uint32_t from)
{
	probe_run(P, v);
	if (s == 0)
		return;
	for (uint32_t b = from; b < P->T->w; b++)
		probe_flips(P, v ^ (1u << b), s - 1, b + 1);
}

static int radius_mih(const feat_index *ix, const uint8_t *qb,
	const uint64_t *q, unsigned r, struct feat_hits *h)
{
	struct probe P = { ix, NULL, 0, r, q, h, 0 };

	for (uint32_t j = 0; j < ix->m && !P.err; j++) {
		int s = tab_radius(ix->m, r, j);

		if (s < 0)
			continue;
		P.T = &ix->tab[j];
		P.j = j;
		probe_flips(&P, sub_get(qb, P.T->lo, P.T->w), s, 0);
	}
	return P.err;
}

static void load_query(const feat_index *ix, const uint8_t *qb, uint64_t *q)
{
	memcpy(q, qb, ix->info.code_stride);
}

int feat_index_radius(const feat_index *ix, const uint8_t *qb, unsigned r,
	int mode, struct feat_hits *h)
{
	uint64_t q[FEAT_INDEX_MAX_BITS / 64];
	int e;

	h->n = 0;
	if (r > ix->info.code_bits)
		r = ix->info.code_bits;
	load_query(ix, qb, q);
	if (use_scan(ix, r, mode))
		e = radius_scan(ix, q, r, h);
	else
		e = radius_mih(ix, qb, q, r, h);
	if (!e)
		if (h->n > 1)
			qsort(h->v, h->n, sizeof *h->v, hit_cmp);
	return e;
}

/* k nearest by a scan: a bounded max-heap on (dist, id), the kernel
 * keeping only what could enter it. */
static void heap_down(struct feat_hit *v, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, big = i;

		if (l < n && hit_cmp(&v[l], &v[big]) > 0)
			big = l;
		if (l + 1 < n && hit_cmp(&v[l + 1], &v[big]) > 0)
			big = l + 1;
		if (big == i)
			return;
		struct feat_hit t = v[i];

		v[i] = v[big];
		v[big] = t;
		i = big;
	}
}

static int knn_scan(const feat_index *ix, const uint64_t *q, unsigned k,
	struct feat_hits *h)
{
	const struct feat_pc_path *pc = feat_pc_active();
	unsigned thr = ix->info.code_bits;
	struct scratch *s;
	int e;

	if ((e = scratch_get(h, SCAN_CHUNK, &s)))
		return e;
	for (uint64_t i = 0; i < ix->n; i += SCAN_CHUNK) {
		size_t len = ix->n - i < SCAN_CHUNK ? (size_t)(ix->n - i) : SCAN_CHUNK;
		size_t got = pc->scan(ix->codes, ix->info.code_stride, ix->words, q,
				      (uint32_t)i, len, thr, s->ids, s->dist);

		for (size_t x = 0; x < got; x++) {
			struct feat_hit c = { s->ids[x], s->dist[x] };

			if (h->n < k) {
				if ((e = hit_push(h, c.id, c.dist)))
					return e;
				/* sift up */
				for (size_t p = h->n - 1; p > 0;) {
					size_t u = (p - 1) / 2;

					if (hit_cmp(&h->v[p], &h->v[u]) <= 0)
						break;
					struct feat_hit t = h->v[p];

					h->v[p] = h->v[u];
					h->v[u] = t;
					p = u;
				}
			} else if (hit_cmp(&c, &h->v[0]) < 0) {
				h->v[0] = c;
				heap_down(h->v, h->n, 0);
			}
			if (h->n == k)
				thr = h->v[0].dist;
		}
	}
	return 0;
}

int feat_index_knn(const feat_index *ix, const uint8_t *qb, unsigned k,
	int mode, struct feat_hits *h)
{
	uint64_t q[FEAT_INDEX_MAX_BITS / 64];
	double spent = 0;
	int e = 0;

	h->n = 0;
	if (k == 0 || ix->n == 0)
		return 0;
	load_query(ix, qb, q);
	/*
	 * Grow the radius until k records lie within it: then every record
	 * within the k-th distance has been seen, so the k smallest
	 * (dist, id) are exact.  Each step costs more than all before it
	 * together, so repeating them costs little; once the probes would
	 * cost more than a scan, scan.
	 */
	for (unsigned r = 0; r <= ix->info.code_bits; r++) {
		if (use_scan_after(ix, r, mode, spent)) {
			h->n = 0;
			e = knn_scan(ix, q, k, h);
			break;
		}
		h->n = 0;
		spent += probes(ix, r);
		if ((e = radius_mih(ix, qb, q, r, h)))
			break;
		if (h->n >= k)
			break;
	}
	if (!e) {
		if (h->n > 1)
			qsort(h->v, h->n, sizeof *h->v, hit_cmp);
		if (h->n > k)
			h->n = k;
	}
	return e;
}

/* ---------------------------------------------------------- self-join */

struct pairvec {
	struct feat_pair *v;
	size_t n, cap;
	int err;
};

static void pair_push(struct pairvec *p, uint32_t a, uint32_t b, uint32_t d)
{
	if (p->err)
		return;
	if ((p->err = feat_grow(&p->v, &p->cap, p->n + 1, sizeof *p->v, 1024)))
		return;
	p->v[p->n].a = a < b ? a : b;
	p->v[p->n].b = a < b ? b : a;
	p->v[p->n++].dist = d;
}

struct btab;

struct join {
	const feat_index *ix;
	unsigned r;
	int scan;
	uint32_t j;                  /* the table of this phase */
	const struct btab *bt;       /* its block join, or NULL */
	uint64_t chunks, chunk;      /* work items and their size */
	uint64_t next;               /* shared counter (atomic) */
	struct pairvec *out;         /* per thread */
};

struct jworker {
	struct join *J;
	int id;
	uint32_t *ids, *dist;
	size_t cap;
};

static int jw_room(struct jworker *W, size_t need)
{
	size_t ca = W->cap, cb = W->cap;

	if (feat_grow(&W->ids, &ca, need, 4, 4096) || feat_grow(&W->dist, &cb, need, 4, 4096))
		return FEAT_E_NOMEM;
	W->cap = ca;
	return 0;
}

/* Candidates ids[0..n) of record i (all > i) through table j. */
static void join_check(struct jworker *W, uint32_t i, const uint64_t *q,
	uint32_t j, const uint32_t *ids, size_t n)
{
	const feat_index *ix = W->J->ix;
	struct pairvec *out = &W->J->out[W->id];
	size_t k;

	if (!n || out->err)
		return;
	if (jw_room(W, n)) {
		out->err = FEAT_E_NOMEM;
		return;
	}
	k = feat_pc_active()->filter(ix->codes, ix->info.code_stride, ix->words, q,
				     ids, n, W->J->r, W->ids, W->dist);
	for (size_t x = 0; x < k; x++) {
		if (j) {
			uint64_t xr[FEAT_INDEX_MAX_BITS / 64];
			const uint8_t *c = ix->codes + (size_t)W->ids[x] * ix->info.code_stride;

			for (unsigned w = 0; w < ix->words; w++) {
				uint64_t cw;

				memcpy(&cw, c + 8 * w, 8);
				xr[w] = cw ^ q[w];
			}
			if (found_before(ix, xr, j, W->J->r))
				continue;
		}
		pair_push(out, i, W->ids[x], W->dist[x]);
	}
}

/* First position in [a, b) whose id is > i (ids ascending there). */
static inline uint32_t after(const uint32_t *ids, uint32_t a, uint32_t b,
	uint32_t i)
{
	while (a < b) {
		uint32_t mid = a + (b - a) / 2;

		if (ids[mid] <= i)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

struct jprobe {
	struct jworker *W;
	const struct mih_table *T;
	uint32_t j, i, v;
	const uint64_t *q;
};

static void jprobe_flips(struct jprobe *P, uint32_t u, int s, uint32_t from)
{
	if (u != P->v) {
		uint32_t a, b;

		lookup(P->T, u, &a, &b);
		a = after(P->T->ids, a, b, P->i);
		join_check(P->W, P->i, P->q, P->j, P->T->ids + a, b - a);
	}
	if (s == 0)
		return;
	for (uint32_t b = from; b < P->T->w; b++)
		jprobe_flips(P, u ^ (1u << b), s - 1, b + 1);
}

/* Work item: positions [p0, p1) of table j. */
static void join_tab(struct jworker *W, uint32_t j, uint64_t p0, uint64_t p1)
{
	const feat_index *ix = W->J->ix;
	const struct mih_table *T = &ix->tab[j];
	int s = tab_radius(ix->m, W->J->r, j);
	uint64_t runend = p0;

	if (s < 0)
		return;
	for (uint64_t p = p0; p < p1; p++) {
		uint32_t i = T->ids[p], v = T->vals[p];
		uint64_t q[FEAT_INDEX_MAX_BITS / 64];

		memcpy(q, ix->codes + (size_t)i * ix->info.code_stride,
		       ix->info.code_stride);
		if (runend <= p)
			for (runend = p + 1; runend < ix->n && T->vals[runend] == v;)
				runend++;
		/* the same value: the rest of the run (ids ascending, all > i) */
		join_check(W, i, q, j, T->ids + p + 1, (size_t)(runend - p - 1));
		if (s > 0) {
			struct jprobe P = { W, T, j, i, v, q };

			jprobe_flips(&P, v, s, 0);
		}
	}
}

/* Work item of the brute-force join: records [i0, i1) against all later. */
static void join_scan(struct jworker *W, uint64_t i0, uint64_t i1)
{
	const feat_index *ix = W->J->ix;
	struct pairvec *out = &W->J->out[W->id];

	if (jw_room(W, SCAN_CHUNK)) {
		out->err = FEAT_E_NOMEM;
		return;
	}
	for (uint64_t i = i0; i < i1 && !out->err; i++) {
		uint64_t q[FEAT_INDEX_MAX_BITS / 64];

		memcpy(q, ix->codes + i * ix->info.code_stride, ix->info.code_stride);
		for (uint64_t c = i + 1; c < ix->n; c += SCAN_CHUNK) {
			size_t len = ix->n - c < SCAN_CHUNK ? (size_t)(ix->n - c) : SCAN_CHUNK;
			size_t k = feat_pc_active()->scan(ix->codes, ix->info.code_stride,
							  ix->words, q, (uint32_t)c, len,
							  W->J->r, W->ids, W->dist);

			for (size_t x = 0; x < k; x++)
				pair_push(out, (uint32_t)i, W->ids[x], W->dist[x]);
		}
	}
}

/*
 * The block join.  Table j pairs the records of value v with those of
 * v ^ x for every x of at most s_j bits (x = 0: within the run).  Walked
 * record by record that is n probes per x, each a random access into the
 * directory and another into the codes.  Here instead the codes are
 * copied in the table's order (run v is a contiguous block), the
 * directory is addressed directly (2^w + 1 offsets), and the value space
 * is cut into aligned chunks of 2^c values: for each x, the chunk's runs
 * meet those of chunk ^ (x's high bits), two blocks next to each other in
 * memory, compared row by row with the scan kernel.  A pair across two
 * runs is taken from its lower value only (v < v ^ x: v lacks x's top
 * bit).  Used when the table is dense (2^w within a small factor of n),
 * which the default m gives; else records probe one by one (join_tab).
 */
#define BJ_MAXW 24
#define BJ_CHUNK_BITS 10

struct btab {
	uint32_t j, w;
	int s;
	const uint32_t *dir;         /* 2^w + 1 offsets: T->dir or own */
	uint32_t *own_dir;
	uint64_t *sc;                /* codes in table order, words each */
	uint32_t *x;                 /* the flip masks, popcount 0 .. s */
	size_t nx;
};

/* Is a table of w-bit values over n records dense enough to block-join? */
static int block_dense(uint32_t w, uint64_t n)
{
	return w <= BJ_MAXW && ((uint64_t)1 << w) <= 16 * (n > 1 ? n : 1);
}

static int use_block(const feat_index *ix, uint32_t j, unsigned r)
{
	/* at radius 0 join_tab reads runs only, which is all there is */
	return tab_radius(ix->m, r, j) >= 1 && block_dense(ix->tab[j].w, ix->n);
}

static void btab_free(struct btab *B)
{
	free(B->own_dir);
	free(B->sc);
	free(B->x);
	memset(B, 0, sizeof *B);
}

static void masks_gen(struct btab *B, uint32_t u, int s, uint32_t from)
{
	B->x[B->nx++] = u;
	if (s > 0)
		for (uint32_t b = from; b < B->w; b++)
			masks_gen(B, u | (1u << b), s - 1, b + 1);
}

static int btab_make(const feat_index *ix, uint32_t j, unsigned r,
	struct btab *B)
{
	const struct mih_table *T = &ix->tab[j];
	unsigned words = ix->words;
	size_t nx;

	memset(B, 0, sizeof *B);
	B->j = j;
	B->w = T->w;
	B->s = tab_radius(ix->m, r, j);
	nx = (size_t)flips(T->w, B->s);
	B->sc = malloc((ix->n ? ix->n : 1) * words * 8);
	B->x = malloc(nx * sizeof *B->x);
	if (!B->sc || !B->x)
		goto nomem;
	masks_gen(B, 0, B->s < (int)T->w ? B->s : (int)T->w, 0);
	if (T->t == T->w) {
		B->dir = T->dir;
	} else {
		uint32_t *d = calloc(((size_t)1 << T->w) + 1, 4);

		if (!d)
			goto nomem;
		for (uint64_t p = 0; p < ix->n; p++)
			d[T->vals[p] + 1]++;
		for (size_t v = 0; v < ((size_t)1 << T->w); v++)
			d[v + 1] += d[v];
		B->dir = B->own_dir = d;
	}
	for (uint64_t p = 0; p < ix->n; p++)
		memcpy(B->sc + p * words, ix->codes + (size_t)T->ids[p] * ix->info.code_stride,
		       words * 8);
	return 0;
nomem:
	btab_free(B);
	return FEAT_E_NOMEM;
}

/* Rows a0 .. a1 of the copy against positions b0 .. b1 (all of them, or
 * with tri only those after the row). */
static void block_pairs(struct jworker *W, const struct btab *B, uint32_t a0,
	uint32_t a1, uint32_t b0, uint32_t b1, int tri)
{
	const feat_index *ix = W->J->ix;
	const struct mih_table *T = &ix->tab[B->j];
	struct pairvec *out = &W->J->out[W->id];
	unsigned words = ix->words, r = W->J->r;
	const feat_pc_scan_fn scan = feat_pc_active()->scan;

	if (jw_room(W, b1 - b0)) {
		out->err = FEAT_E_NOMEM;
		return;
	}
	for (uint32_t a = a0; a < a1; a++) {
		const uint64_t *qa = B->sc + (size_t)a * words;
		uint32_t from = tri ? a + 1 : b0;
		size_t k;

		if (from >= b1)
			continue;
		k = scan((const uint8_t *)B->sc, words * 8, words, qa, from, b1 - from, r,
			 W->ids, W->dist);
		for (size_t i = 0; i < k; i++) {
			uint32_t pb = W->ids[i];

			if (B->j) {
				uint64_t xr[FEAT_INDEX_MAX_BITS / 64];
				const uint64_t *qb = B->sc + (size_t)pb * words;

				for (unsigned w = 0; w < words; w++)
					xr[w] = qa[w] ^ qb[w];
				if (found_before(ix, xr, B->j, r))
					continue;
			}
			pair_push(out, T->ids[a], T->ids[pb], W->dist[i]);
		}
	}
}

/* Work item: the values [v0, v0 + 2^c) of a block-joined table. */
static void join_block(struct jworker *W, const struct btab *B, uint32_t v0,
	uint32_t c)
{
	const uint32_t *dir = B->dir;
	uint32_t vs[1u << BJ_CHUNK_BITS], nv = 0;

	/* the values present in the chunk */
	for (uint32_t v = v0; v < v0 + (1u << c); v++)
		if (dir[v] != dir[v + 1])
			vs[nv++] = v;
	for (size_t xi = 0; xi < B->nx && !W->J->out[W->id].err; xi++) {
		uint32_t x = B->x[xi], top = x ? 1u << (31 - __builtin_clz(x)) : 0;

		for (uint32_t i = 0; i < nv; i++) {
			uint32_t v = vs[i], u = v ^ x, a0 = dir[v], a1 = dir[v + 1];

			if (v & top)
				continue;
			if (!x)
				block_pairs(W, B, a0, a1, a0, a1, 1);
			else if (dir[u] != dir[u + 1])
				block_pairs(W, B, a0, a1, dir[u], dir[u + 1], 0);
		}
	}
}

static void *join_worker(void *arg)
{
	struct jworker *W = arg;
	struct join *J = W->J;

	for (;;) {
		uint64_t c = __atomic_fetch_add(&J->next, 1, __ATOMIC_RELAXED);

		if (c >= J->chunks || J->out[W->id].err)
			break;
		if (J->scan) {
			uint64_t i0 = c * J->chunk, i1 = i0 + J->chunk;

			join_scan(W, i0, i1 < J->ix->n ? i1 : J->ix->n);
		} else if (J->bt) {
			join_block(W, J->bt, (uint32_t)(c * J->chunk), (uint32_t)__builtin_ctzll(J->chunk));
		} else {
			uint64_t p0 = c * J->chunk, p1 = p0 + J->chunk;

			join_tab(W, J->j, p0, p1 < J->ix->n ? p1 : J->ix->n);
		}
	}
	return NULL;
}

/* One phase: the workers take J's chunks until none is left. */
static void join_phase(struct join *J, struct jworker *W, pthread_t *th,
	int threads)
{
	int started = 1;

	J->next = 0;
	for (int t = 1; t < threads; t++, started++)
		if (pthread_create(&th[t], NULL, join_worker, &W[t]))
			break;
	join_worker(&W[0]);
	for (int t = 1; t < started; t++)
		pthread_join(th[t], NULL);
}

static int pair_cmp(const void *x, const void *y)
{
	const struct feat_pair *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

/*
 * What the self-join costs with m substrings, in ns, by a model fitted to
 * 1 M and 10 M random 64-bit codes on the development machine (Zen 4,
 * one core): a radius-0 table reads each run once (40 ns a record, 0.5 ns
 * a candidate); a block-joined table copies the codes (30 ns a record),
 * sweeps the values present once per mask (2 ns), and compares a record's
 * row per mask of half of them (5 ns a row, 0.1 ns a code); a table
 * probed record by record costs 25 ns a lookup.  Only the choice of m
 * depends on it, never a result.
 */
static double join_cost(uint32_t bits, uint64_t n, unsigned r, uint32_t m)
{
	double c = 0, dn = (double)n;

	for (uint32_t j = 0; j < m; j++) {
		uint32_t lo, w;
		int s = tab_radius(m, r, j);
		double vals, per, nx;

		if (s < 0)
			continue;
		sub_span(bits, m, j, &lo, &w);
		vals = ldexp(1, (int)w);
		per = dn / vals;                     /* records per value */
		nx = flips(w, s);
		if (s == 0)
			c += dn * (40 + 0.5 * per / 2);
		else if (block_dense(w, n))
			c += dn * 30 + nx * (vals < dn ? vals : dn) * 2 +
			     nx / 2 * dn * (5 + 0.1 * per);
		else
			c += dn * (nx * 25 + nx * per * 1.0);
	}
	return c;
}

uint32_t feat_index_join_m(uint32_t code_bits, uint64_t count, unsigned r)
{
	uint32_t lo = (code_bits + FEAT_INDEX_MAX_SUB - 1) / FEAT_INDEX_MAX_SUB,
		 hi = code_bits < 64 ? code_bits : 64, best;
	double bc;

	if (code_bits < 1)
		return 1;
	best = feat_index_default_m(code_bits, count);
	bc = join_cost(code_bits, count, r, best);
	for (uint32_t m = lo; m <= hi; m++) {
		double c = join_cost(code_bits, count, r, m);

		if (c < bc) {
			bc = c;
			best = m;
		}
	}
	return best;
}

int feat_index_selfjoin(const feat_index *ix, unsigned r, int mode,
	int threads, struct feat_pair **pairs, size_t *npairs)
{
	struct join J = { 0 };
	struct jworker *W;
	pthread_t *th;
	size_t total = 0;
	int e = 0;

	*pairs = NULL;
	*npairs = 0;
	if (r > ix->info.code_bits)
		r = ix->info.code_bits;
	if (threads < 1)
		threads = 1;
	J.ix = ix;
	J.r = r;
	/* the join does n queries: compare a query's probes with n / 2 */
	J.scan = use_scan(ix, r, mode);
	W = calloc((size_t)threads, sizeof *W);
	th = calloc((size_t)threads, sizeof *th);
	J.out = calloc((size_t)threads, sizeof *J.out);
	if (!W || !th || !J.out) {
		free(W);
		free(th);
		free(J.out);
		return FEAT_E_NOMEM;
	}
	(void)feat_pc_active();
	for (int t = 0; t < threads; t++) {
		W[t].J = &J;
		W[t].id = t;
	}
	if (J.scan) {
		/* rows near the end are short: small chunks balance the load */
		J.chunk = 256;
		J.chunks = (ix->n + J.chunk - 1) / J.chunk;
		join_phase(&J, W, th, threads);
	} else {
		/* table by table; each pair is taken by the first table that
		 * finds it (found_before) */
		for (uint32_t j = 0; j < ix->m && !e; j++) {
			struct btab B;

			if (tab_radius(ix->m, r, j) < 0)
				continue;
			J.j = j;
			J.bt = NULL;
			if (use_block(ix, j, r)) {
				uint32_t w = ix->tab[j].w, c = w < BJ_CHUNK_BITS ? w : BJ_CHUNK_BITS;

				if ((e = btab_make(ix, j, r, &B)))
					break;
				J.bt = &B;
				J.chunk = (uint64_t)1 << c;
				J.chunks = (uint64_t)1 << (w - c);
			} else {
				J.chunk = 16384;
				J.chunks = (ix->n + J.chunk - 1) / J.chunk;
			}
			join_phase(&J, W, th, threads);
			if (J.bt)
				btab_free(&B);
		}
	}
	for (int t = 0; t < threads; t++) {
		free(W[t].ids);
		free(W[t].dist);
	}
	for (int t = 0; t < threads; t++) {
		if (J.out[t].err && !e)
			e = J.out[t].err;
		total += J.out[t].n;
	}
	if (!e && total) {
		struct feat_pair *all = malloc(total * sizeof *all);
		size_t k = 0;

		if (!all) {
			e = FEAT_E_NOMEM;
		} else {
			for (int t = 0; t < threads; t++) {
				if (J.out[t].n)
					memcpy(all + k, J.out[t].v, J.out[t].n * sizeof *all);
				k += J.out[t].n;
			}
			qsort(all, total, sizeof *all, pair_cmp);
			*pairs = all;
			*npairs = total;
		}
	}
	for (int t = 0; t < threads; t++)
		free(J.out[t].v);
	free(J.out);
	free(W);
	free(th);
	return e;
}

/* ----------------------------------------------------------- grouping */

static uint32_t uf_find(uint32_t *p, uint32_t x)
{
	while (p[x] != x) {
		p[x] = p[p[x]];
		x = p[x];
	}
	return x;
}

int feat_index_group(uint64_t n, const struct feat_pair *pairs, size_t np,
	int mode, uint32_t *rep)
{
	if (n > FEAT_INDEX_MAX_COUNT)
		return FEAT_E_INVAL;
	for (uint64_t i = 0; i < n; i++)
		rep[i] = (uint32_t)i;
	if (mode == FEAT_GROUP_COMPONENTS) {
		for (size_t k = 0; k < np; k++) {
			uint32_t a, b;

			if (pairs[k].a >= n || pairs[k].b >= n)
				return FEAT_E_INVAL;
			a = uf_find(rep, pairs[k].a);
			b = uf_find(rep, pairs[k].b);
			/* the lower id stays the root: it is the representative */
			if (a < b)
				rep[b] = a;
			else if (b < a)
				rep[a] = b;
		}
		for (uint64_t i = 0; i < n; i++)
			rep[i] = uf_find(rep, (uint32_t)i);
		return 0;
	}
	if (mode != FEAT_GROUP_LEADER)
		return FEAT_E_INVAL;
	{
		/* pairs sorted by a: walk leaders in id order */
		uint8_t *taken = calloc(n ? n : 1, 1);
		size_t k = 0;

		if (!taken)
			return FEAT_E_NOMEM;
		for (uint64_t i = 0; i < n; i++) {
			int lead = !taken[i];

			taken[i] = 1;
			for (; k < np && pairs[k].a == i; k++)
				if (lead && pairs[k].b < n && !taken[pairs[k].b]) {
					taken[pairs[k].b] = 1;
					rep[pairs[k].b] = (uint32_t)i;
				}
			/* pairs out of order or out of range: a caller's bug */
			if (k < np && pairs[k].a < i) {
				free(taken);
				return FEAT_E_INVAL;
			}
		}
		free(taken);
	}
	return 0;
}
