/*
 * feat/codes.h - libfeat: binary codes: hex, CRC, Hamming distance,
 * featcodes files and the code index (featcodes(5), featindex(5)). Part of
 * <feat.h>, which includes every one of these headers.
 */
#ifndef FEAT_H_CODES
#define FEAT_H_CODES

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------- codes */

/* Hex of packed bits, lower case, 2 chars a byte; out needs 2*nbytes+1. */
FEAT_API void feat_hex_encode(const uint8_t *bytes, size_t nbytes, char *out);
/* Parse hex into bytes; returns bytes written or FEAT_E_INVAL. */
FEAT_API int feat_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap);

/* CRC-32 (the zlib/ISO-HDLC polynomial) of a buffer, continuing crc. */
FEAT_API uint32_t feat_crc32(uint32_t crc, const void *buf, size_t len);

/* Hamming distance of two packed codes of nbytes bytes each. */
FEAT_API uint64_t feat_hamming(const uint8_t *a, const uint8_t *b, size_t nbytes);

/* ---------------------------------------------------------- code files */

/*
 * The featcodes file (man 5 featcodes): a 64-byte header, then fixed-size
 * records of [code, zero padded to code_stride][u32 full key length]
 * [key bytes, NUL padded to key_width], each record_size bytes (a multiple
 * of 8), so that a file can be mapped and its codes compared in place.
 */
#define FEAT_CODES_MAGIC "\x89" "FCD\r\n\x1a\n"
#define FEAT_CODES_MAJOR 1
#define FEAT_CODES_MINOR 0
#define FEAT_CODES_HDR 64
#define FEAT_CODES_MAX_BITS 65536          /* code bits per record, at most */
#define FEAT_CODES_KEY_WIDTH 116           /* default: 64-bit codes make 128-byte records */
#define FEAT_CODES_MAX_KEY_WIDTH FEAT_KEY_MAX

/* Header fields as read or written. */
struct feat_codes_info {
	unsigned major, minor;
	uint32_t header_size;
	uint32_t code_bits;      /* 0 only in a file without records */
	uint32_t code_stride;    /* bytes: code_bits/8 rounded up to a multiple of 8 */
	uint32_t key_width;      /* key bytes kept per record */
	uint32_t record_size;    /* code_stride + 4 + key_width, rounded up to 8 */
	uint64_t count;          /* header's count field (0: derive from size) */
};

/* Record layout for a code length and key width: fills code_stride and
 * record_size of *info (the other fields are set as for a new file).
 * FEAT_E_RANGE when code_bits or key_width is over its limit. */
FEAT_API int feat_codes_layout(uint32_t code_bits, uint32_t key_width,
	struct feat_codes_info *info);

typedef struct feat_codes_writer feat_codes_writer;

/*
 * A writer on fd (not closed by it); name is used in messages.  The
 * header goes out at once.  code_bits may be 0 only for a file that will
 * get no records.  Returns 0 or FEAT_E_RANGE / FEAT_E_NOMEM / FEAT_E_IO;
 * *out receives the writer (NULL on error).
 */
FEAT_API int feat_codes_writer_new(feat_codes_writer **out, int fd, const char *name,
	uint32_t code_bits, uint32_t key_width);
/* Append a record: code holds code_bits packed bits MSB first (the bits
 * after code_bits in its last byte are cleared in the file).  Returns 0,
 * 1 when the key was longer than key_width and stored truncated, or a
 * negative FEAT_E_* (FEAT_E_INVAL when keylen is over FEAT_KEY_MAX). */
FEAT_API int feat_codes_writer_put(feat_codes_writer *w, const char *key,
	size_t keylen, const uint8_t *code);
FEAT_API uint64_t feat_codes_writer_records(const feat_codes_writer *w);
FEAT_API uint64_t feat_codes_writer_truncated(const feat_codes_writer *w);  /* keys cut */
FEAT_API const char *feat_codes_writer_detail(const feat_codes_writer *w);
/* Flush; on a seekable file (not opened O_APPEND) write the count into
 * the header.  Frees the writer; returns the first error, if any. */
FEAT_API int feat_codes_writer_close(feat_codes_writer *w);

typedef struct feat_codes feat_codes;

/*
 * Open a featcodes file: mapped when it is a regular file, read into
 * memory otherwise (a pipe).  Every header field is checked against the
 * file's real size; on error *out is NULL and why names the field
 * ("x.fcd: header field code_stride is 12; 64-bit codes need 8").
 * Returns 0, FEAT_E_IO, FEAT_E_EMPTY, FEAT_E_FORMAT (not a featcodes
 * file), FEAT_E_VERSION, FEAT_E_TRUNCATED, FEAT_E_CORRUPT or FEAT_E_NOMEM.
 */
FEAT_API int feat_codes_open(feat_codes **out, const char *path, char *why,
	size_t whylen);
/* The same on an open descriptor (not closed by it). */
FEAT_API int feat_codes_open_fd(feat_codes **out, int fd, const char *name,
	char *why, size_t whylen);
/* The same over bytes in memory, which must outlive the result (not
 * copied; codes are 8-byte aligned in place when data is). */
FEAT_API int feat_codes_open_mem(feat_codes **out, const void *data, size_t len,
	const char *name, char *why, size_t whylen);
FEAT_API void feat_codes_close(feat_codes *c);
FEAT_API const struct feat_codes_info *feat_codes_info(const feat_codes *c);
/* Number of records (from the header, or derived from the file size). */
FEAT_API uint64_t feat_codes_count(const feat_codes *c);
/* Record i's code (code_stride bytes, in place) or NULL when i is out of
 * range. */
FEAT_API const uint8_t *feat_codes_code(const feat_codes *c, uint64_t i);
/* Record i's key bytes in place (not NUL-terminated); *len gets the bytes
 * stored, *full_len (may be NULL) the key's length before truncation.
 * NULL when i is out of range. */
FEAT_API const char *feat_codes_key(const feat_codes *c, uint64_t i, size_t *len,
	uint32_t *full_len);
/* Check every record (key length against its padding, NUL bytes, code
 * padding bits).  Returns 0, or FEAT_E_CORRUPT with the record's index in
 * *bad and a reason in why.  Reads the whole file. */
FEAT_API int feat_codes_verify(const feat_codes *c, uint64_t *bad, char *why,
	size_t whylen);

/* --------------------------------------------------------- code search */

/*
 * The code index (lib/codes/mih.c, man 5 featindex): codes and keys of a set of
 * records plus one sorted table per substring of the code, for exact
 * search in Hamming space by multi-index hashing (Norouzi, Punjani and
 * Fleet).  The code is cut into m substrings of at most 32 bits; if two
 * codes are within r, then by the pigeonhole principle (r = s*m + a,
 * 0 <= a < m) one of the first a + 1 substrings is within s, or one of the
 * others within s - 1.  A table holds its substring's values sorted (ids
 * ascending within a value) behind a directory of value prefixes, so a
 * lookup is two loads and a short binary search, and tables merge in one
 * linear pass.  Candidates are checked by their full distance.  Results
 * are exact: nothing within r is missed, nothing over r is returned.
 *
 * An index is built in memory (feat_index_new, _add*, _build), written to
 * a file (feat_index_write) and opened again mapped (feat_index_open).
 * Records are numbered 0 .. count - 1 in the order they were added; ids
 * are 32-bit, so an index holds at most FEAT_INDEX_MAX_COUNT records.
 */
#define FEAT_INDEX_MAGIC "\x89" "FIX\r\n\x1a\n"
#define FEAT_INDEX_MAJOR 1
#define FEAT_INDEX_MINOR 0
#define FEAT_INDEX_HDR 128
#define FEAT_INDEX_TABENT 64             /* one table's directory entry */
#define FEAT_INDEX_ALIGN 64              /* every section starts so aligned */
#define FEAT_INDEX_MAX_BITS 4096
#define FEAT_INDEX_MAX_SUB 32            /* substring bits, at most */
#define FEAT_INDEX_MAX_COUNT 0xfffffffeu

typedef struct feat_index feat_index;

struct feat_index_info {
	unsigned major, minor;
	uint32_t code_bits;
	uint32_t code_stride;    /* bytes per code: code_bits rounded up to 64 */
	uint32_t m;              /* substrings (tables); 0 until the first build */
	uint64_t count;          /* records */
	uint64_t built;          /* records the tables cover (count once built) */
	uint64_t key_bytes;      /* bytes of all keys */
	uint64_t file_size;      /* of the file opened, 0 in memory */
};

/* m for code_bits and count when none is given: about code_bits /
 * log2(count) (the paper's choice), each substring at most 32 bits. */
FEAT_API uint32_t feat_index_default_m(uint32_t code_bits, uint64_t count);

/* Use m substrings from now on: the tables are dropped (the next
 * feat_index_build makes them again); codes and keys stay.  0, or
 * FEAT_E_RANGE as feat_index_new.  Nothing to do when m is already in use. */
FEAT_API int feat_index_retable(feat_index *ix, uint32_t m);

/* m for the self-join within r of count codes: the m whose join the cost
 * model of mih.c (fitted on this machine) finds cheapest. */
FEAT_API uint32_t feat_index_join_m(uint32_t code_bits, uint64_t count, unsigned r);

/*
 * An empty index of code_bits-bit codes (1 .. FEAT_INDEX_MAX_BITS) with m
 * substrings (0: feat_index_default_m at the first build).  Returns 0,
 * FEAT_E_RANGE (bits, or m making a substring over 32 bits or under 1) or
 * FEAT_E_NOMEM.
 */
FEAT_API int feat_index_new(feat_index **out, uint32_t code_bits, uint32_t m);
/* Append a record (code: code_bits packed bits, MSB first; bits past
 * code_bits are ignored).  FEAT_E_TOOBIG past FEAT_INDEX_MAX_COUNT, or a
 * key over FEAT_KEY_MAX; FEAT_E_NOMEM. */
FEAT_API int feat_index_add(feat_index *ix, const uint8_t *code, const char *key,
	size_t keylen);
/* Append every record of a featcodes file (FEAT_E_RANGE when its code
 * length differs). */
FEAT_API int feat_index_add_codes(feat_index *ix, const feat_codes *c);
/* Append every record of another index.  When both are built with the
 * same m, the tables are merged in one linear pass, nothing recomputed. */
FEAT_API int feat_index_add_index(feat_index *ix, const feat_index *other);
/* Bring the tables up to date: records added since the last build are
 * sorted (radix) and merged into the tables.  0 or FEAT_E_NOMEM. */
FEAT_API int feat_index_build(feat_index *ix);
/* Write the (built) index to fd as a featindex file.  0, FEAT_E_INVAL
 * (not built) or FEAT_E_IO with errno kept. */
FEAT_API int feat_index_write(feat_index *ix, int fd);

/*
 * Open a featindex file (mapped) or bytes in memory (8-byte aligned, kept
 * by the caller while the index lives).  Every field, offset and table is
 * checked before use, and every table against the codes (two sequential
 * passes that sum a hash of each (record, substring) pair: a table that
 * does not list each record once under its code's substring would make
 * searches miss neighbours without a word): on error *out is NULL and
 * why names the field or entry
 * ("x.fix: table 2 field vals_off is 96; expected a multiple of 64").
 * Returns 0, FEAT_E_IO, FEAT_E_EMPTY, FEAT_E_FORMAT (not a featindex
 * file), FEAT_E_VERSION, FEAT_E_TRUNCATED, FEAT_E_CORRUPT or FEAT_E_NOMEM.
 */
FEAT_API int feat_index_open(feat_index **out, const char *path, char *why,
	size_t whylen);
FEAT_API int feat_index_open_mem(feat_index **out, const void *data, size_t len,
	const char *name, char *why, size_t whylen);
/* Entry by entry: each table holds each record once, with the substring
 * value of its code (what opening checks through sums; this names the
 * first entry that is wrong).  0, FEAT_E_CORRUPT or FEAT_E_NOMEM. */
FEAT_API int feat_index_verify(const feat_index *ix, char *why, size_t whylen);
FEAT_API void feat_index_free(feat_index *ix);

FEAT_API const struct feat_index_info *feat_index_info(const feat_index *ix);
FEAT_API uint64_t feat_index_count(const feat_index *ix);
/* Record i's code (code_stride bytes) or NULL when out of range. */
FEAT_API const uint8_t *feat_index_code(const feat_index *ix, uint64_t i);
/* Record i's key (not NUL-terminated), *len its bytes; NULL when out of
 * range. */
FEAT_API const char *feat_index_key(const feat_index *ix, uint64_t i, size_t *len);

/*
 * A new index (with the file's code length, m 0) in *out, holding the
 * records of a file: a featcodes file, a featindex file, a featstream
 * (records' `code` tensor; error records are skipped) or text lines
 * "key TAB hex" (featwrite -f tsv --no-status; "key TAB ok TAB hex" is
 * read too and its error lines skipped; \t \n \r \\ in keys are
 * unescaped).  path "-" is standard input.  *out is always written (NULL
 * on error) and never read.  *skipped (may be NULL) counts skipped
 * records.  Errors name the file and line or field; FEAT_E_FORMAT for a
 * file that holds no code (an empty stream, every record failed).
 */
FEAT_API int feat_index_load(feat_index **out, const char *path, uint64_t *skipped,
	char *why, size_t whylen);
/* The same records appended to ix: FEAT_E_RANGE when their code length
 * differs from ix's.  On an error the records read before it stay added. */
FEAT_API int feat_index_add_file(feat_index *ix, const char *path, uint64_t *skipped,
	char *why, size_t whylen);

struct feat_hit {
	uint32_t id;
	uint32_t dist;
};

/* Results of a search; zero-initialise, reuse across queries, free with
 * feat_hits_free. */
struct feat_hits {
	struct feat_hit *v;
	size_t n;
	/* private */
	size_t cap;
	void *scratch;
};
FEAT_API void feat_hits_free(struct feat_hits *h);

/* Search modes: multi-index hashing (falling back to a scan when the
 * probes would cost more), or always the scan (the brute-force oracle). */
enum feat_search_mode {
	FEAT_SEARCH_AUTO = 0,
	FEAT_SEARCH_SCAN = 1,
	FEAT_SEARCH_MIH = 2,     /* never fall back (tests) */
};

/* Every record within r of q (code_stride bytes, padding bits zero),
 * sorted by distance, then id.  0 or FEAT_E_NOMEM. */
FEAT_API int feat_index_radius(const feat_index *ix, const uint8_t *q, unsigned r,
	int mode, struct feat_hits *h);
/* The k nearest records to q (fewer when the index is smaller), sorted
 * by distance, then id: ties at the k-th distance go to the lower ids. */
FEAT_API int feat_index_knn(const feat_index *ix, const uint8_t *q, unsigned k,
	int mode, struct feat_hits *h);

struct feat_pair {
	uint32_t a, b;           /* a < b */
	uint32_t dist;
};

/*
 * The self-join: every pair of records within r, each once (a < b),
 * sorted by a then b, into *pairs (malloc'd; the caller frees) and
 * *npairs.  threads >= 1.  0 or FEAT_E_NOMEM.  The pairs grow with the
 * square of the records that share a code: join the classes' index
 * (feat_index_classes) where codes may repeat.
 */
FEAT_API int feat_index_selfjoin(const feat_index *ix, unsigned r, int mode,
	int threads, struct feat_pair **pairs, size_t *npairs);

/* Grouping of records from the pairs of a self-join (sorted as it
 * returns them).  rep[i] receives the id of record i's representative
 * (rep[i] == i for a representative). */
enum feat_group_mode {
	FEAT_GROUP_COMPONENTS = 0,  /* connected components; rep = lowest id */
	FEAT_GROUP_LEADER = 1,      /* in id order, a record not yet taken
				       leads; it takes its untaken neighbours */
};
FEAT_API int feat_index_group(uint64_t n, const struct feat_pair *pairs, size_t npairs,
	int mode, uint32_t *rep);

/*
 * The records that share one code.  A self-join over N equal codes makes
 * N(N-1)/2 pairs; joining one record of each class instead (the class's
 * first) and expanding the members afterwards keeps the work O(N).
 * Classes are numbered from 0 in the order of their first record, so
 * grouping the classes (feat_index_group over the classes' join) gives
 * the records' groups: a class's representative is the first record of
 * its representative class.
 */
struct feat_classes {
	uint64_t n;              /* records */
	uint64_t nclass;         /* distinct codes */
	uint32_t *cls;           /* [n]: the class of each record */
	uint32_t *off;           /* [nclass + 1]: class k is mem[off[k] .. off[k+1]) */
	uint32_t *mem;           /* [n]: record ids by class, ascending in each */
};
/* 0 or FEAT_E_NOMEM (c then empty). */
FEAT_API int feat_index_classes(const feat_index *ix, struct feat_classes *c);
FEAT_API void feat_classes_free(struct feat_classes *c);

/* The Hamming-distance kernel path in use ("avx512" or "ref"); the
 * environment variable FEAT_POPCOUNT (ref, avx512, auto) forces one.
 * feat_popcount_select returns 0, FEAT_E_INVAL or FEAT_E_NOTFOUND. */
FEAT_API const char *feat_popcount_name(void);
FEAT_API int feat_popcount_select(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H_CODES */
