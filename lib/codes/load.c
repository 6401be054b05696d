/*
 * load.c - an in-memory index from the files featdedup and featsearch
 * read (feat_index_load, feat_index_add_file): key TAB hex lines, a
 * featstream of codes, a featcodes file or a featindex file, told apart
 * by their first bytes; a pipe is read whole first.  The index and its
 * search are mih.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"
#include "codes/index.h"

#define ofail feat_fail_named

struct loader {
	feat_index **ix;
	int text;                    /* reading text lines (load_text) */
	int width_told;              /* known_width done for this file */
	const char *name;
	uint64_t skipped;
	char *why;
	size_t whylen;
};

/* A file of bits-bit codes (not text) is to be added to ix: a width ix
 * guessed from text lines takes it if it can (index.h); either way it is
 * no guess any more when they agree.  Once a file, before its first code:
 * what the file's other codes must then match (a stream's, record by
 * record, in load_put). */
static void known_width(feat_index *ix, uint32_t bits)
{
	if (bits != feat_index_info(ix)->code_bits)
		feat_index_narrow(ix, bits);
	if (bits == feat_index_info(ix)->code_bits)
		feat_index_guessed(ix, 0);
}

/* Add one code of bits bits (bytes hold at least (bits + 7) / 8). */
static int load_put(struct loader *L, const uint8_t *code, uint32_t bits,
	const char *key, size_t keylen, const char *where)
{
	int e;

	if (!*L->ix) {
		if ((e = feat_index_new(L->ix, bits, 0)))
			return ofail(L->why, L->whylen, L->name, e,
				     "%s: %u-bit codes are not supported (1 to %d)", where,
				     bits, FEAT_INDEX_MAX_BITS);
		feat_index_guessed(*L->ix, L->text);
	}
	if (!L->text && !L->width_told) {
		known_width(*L->ix, bits);
		L->width_told = 1;
	}
	if (bits != feat_index_info(*L->ix)->code_bits)
		return ofail(L->why, L->whylen, L->name, FEAT_E_RANGE,
			     "%s: code has %u bits; the others have %u", where, bits,
			     feat_index_info(*L->ix)->code_bits);
	if ((e = feat_index_add(*L->ix, code, key, keylen)))
		return ofail(L->why, L->whylen, L->name, e, "%s: %s", where,
			     e == FEAT_E_TOOBIG ? "too many records (or key too long)"
						: feat_strerror(e));
	return 0;
}

/* key TAB hex, or key TAB status TAB hex, one a line. */
static int load_text(struct loader *L, const char *buf, size_t len)
{
	uint8_t code[FEAT_INDEX_MAX_BITS / 8];
	char *key = malloc(len + 1), where[64];
	uint64_t line = 0;
	int e = 0;

	if (!key)
		return FEAT_E_NOMEM;
	for (size_t pos = 0; pos < len && !e;) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		const char *f[4];
		size_t fl[4], nf = 0, kl = 0;

		pos += n + (nl != NULL);
		line++;
		feat_fmt(where, sizeof where, "line %llu", (unsigned long long)line);
		if (n && s[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		for (size_t i = 0, st = 0; i <= n && nf < 4; i++)
			if (i == n || s[i] == '\t') {
				f[nf] = s + st;
				fl[nf++] = i - st;
				st = i + 1;
			}
		if (nf == 3 && fl[1] == 5 && !memcmp(f[1], "error", 5)) {
			L->skipped++;
			continue;
		}
		if (nf < 2 || nf > 3 || (nf == 3 && (fl[1] != 2 || memcmp(f[1], "ok", 2)))) {
			e = ofail(L->why, L->whylen, L->name, FEAT_E_FORMAT,
				  "%s: expected key TAB hex (or key TAB ok TAB hex)", where);
			break;
		}
		{
			const char *hx = f[nf - 1];
			size_t hl = fl[nf - 1];
			int nb;

			if (hl == 0 || hl % 2 || hl / 2 > sizeof code ||
			    (nb = feat_hex_decode(hx, hl, code, sizeof code)) < 0) {
				e = ofail(L->why, L->whylen, L->name, FEAT_E_FORMAT,
					  "%s: the code is not hex of whole bytes "
					  "(at most %d bits)", where, FEAT_INDEX_MAX_BITS);
				break;
			}
			/* unescape the key as featwrite escaped it */
			for (size_t i = 0; i < fl[0]; i++) {
				char c = f[0][i];

				if (c == '\\' && i + 1 < fl[0]) {
					char d = f[0][++i];

					c = d == 't' ? '\t' : d == 'n' ? '\n' :
					    d == 'r' ? '\r' : d;
				}
				key[kl++] = c;
			}
			uint32_t bits = (uint32_t)nb * 8;

			if (*L->ix && feat_index_info(*L->ix)->code_bits <= bits &&
			    feat_index_info(*L->ix)->code_bits > bits - 8)
				bits = feat_index_info(*L->ix)->code_bits;  /* e.g. 70 bits in 9 bytes */
			e = load_put(L, code, bits, key, kl, where);
		}
	}
	free(key);
	return e;
}

static int load_stream(struct loader *L, int fd)
{
	feat_reader *rd;
	struct feat_rec r;
	char where[64];
	int e;

	if ((e = feat_reader_new(&rd, fd, L->name, NULL)))
		return e;
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		struct feat_tensor *t = feat_rec_find(&r, "code");
		uint64_t bits;

		if (r.status != FEAT_ST_OK || !t ||
		    (t->dtype != FEAT_DT_BIT && t->dtype != FEAT_DT_U8)) {
			L->skipped++;
			continue;
		}
		bits = t->dtype == FEAT_DT_BIT ? feat_tensor_count(t) : (uint64_t)t->nbytes * 8;
		feat_fmt(where, sizeof where, "record %llu",
			 (unsigned long long)feat_reader_records(rd));
		if (bits < 1 || bits > FEAT_INDEX_MAX_BITS || t->nbytes < (bits + 7) / 8) {
			e = ofail(L->why, L->whylen, L->name, FEAT_E_RANGE,
				  "%s: code of %llu bits (1 to %d)", where,
				  (unsigned long long)bits, FEAT_INDEX_MAX_BITS);
			break;
		}
		if ((e = load_put(L, t->data, (uint32_t)bits, r.key, strlen(r.key), where)))
			break;
	}
	if (e < 0 && !L->why[0])
		feat_fmt(L->why, L->whylen, "%s", feat_reader_detail(rd));
	feat_rec_free(&r);
	feat_reader_free(rd);
	return e < 0 ? e : 0;
}

static int load_codes(struct loader *L, feat_codes *c)
{
	unsigned bits = feat_codes_info(c)->code_bits;
	int e;

	/* an empty file may still say how wide its codes are: it makes an
	 * empty index; one that does not (featwrite saw no code: every record
	 * failed) adds nothing, and a load of nothing else fails below */
	if (!feat_codes_count(c) && !bits) {
		feat_codes_close(c);
		return 0;
	}
	if (!*L->ix && (e = feat_index_new(L->ix, bits, 0))) {
		feat_codes_close(c);
		return ofail(L->why, L->whylen, L->name, e,
			     "%u-bit codes are not supported (1 to %d)", bits,
			     FEAT_INDEX_MAX_BITS);
	}
	known_width(*L->ix, bits);
	if (!feat_codes_count(c)) {
		feat_codes_close(c);
		return 0;
	}
	e = feat_index_add_codes(*L->ix, c);
	if (e == FEAT_E_RANGE)
		ofail(L->why, L->whylen, L->name, e, "codes have %u bits; the others have %u",
		      feat_codes_info(c)->code_bits, feat_index_info(*L->ix)->code_bits);
	else if (e)
		ofail(L->why, L->whylen, L->name, e, "%s", feat_strerror(e));
	feat_codes_close(c);
	return e;
}

static int load_index(struct loader *L, feat_index *o)
{
	int e = 0;

	if (!*L->ix) {
		if ((e = feat_index_new(L->ix, feat_index_info(o)->code_bits, 0)))
			goto out;
	}
	known_width(*L->ix, feat_index_info(o)->code_bits);
	e = feat_index_add_index(*L->ix, o);
	if (e == FEAT_E_RANGE)
		ofail(L->why, L->whylen, L->name, e, "codes have %u bits; the others have %u",
		      feat_index_info(o)->code_bits, feat_index_info(*L->ix)->code_bits);
	else if (e)
		ofail(L->why, L->whylen, L->name, e, "%s", feat_strerror(e));
out:
	feat_index_free(o);
	return e;
}

/* The records of path into *ixp, which is made (with the file's code
 * length) when it is NULL. */
static int load_file(feat_index **ixp, const char *path, uint64_t *skipped,
	char *why, size_t whylen)
{
	int std = !strcmp(path, "-");
	const char *name = std ? "standard input" : path;
	struct loader L = { .ix = ixp, .name = name, .why = why, .whylen = whylen };
	unsigned char magic[8] = { 0 }, *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	int e = 0, reg;
	ssize_t k = 0;
	feat_codes *c;
	feat_index *o;

	why[0] = 0;
	if (fd < 0)
		return ofail(why, whylen, name, FEAT_E_IO, "cannot open: %s",
			     strerror(errno));
	reg = !fstat(fd, &st) && S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0;
	if (reg) {
		k = pread(fd, magic, 8, 0);
		if (k < 0) {
			e = ofail(why, whylen, name, FEAT_E_IO, "read error: %s",
				  strerror(errno));
			goto out;
		}
	} else {
		/* a pipe, a terminal: sniff after reading it all */
		if ((e = feat_read_all(fd, 0, 0, &buf, &cap, &len))) {
			ofail(why, whylen, name, e, "read error: %s",
			      e == FEAT_E_IO ? strerror(errno) : "out of memory");
			goto out;
		}
		k = len < 8 ? (ssize_t)len : 8;
		memcpy(magic, buf, (size_t)k);
	}
	if (k == 8 && !memcmp(magic, FEAT_CODES_MAGIC, 8)) {
		e = reg ? feat_codes_open_fd(&c, fd, name, why, whylen)
			: feat_codes_open_mem(&c, buf, len, name, why, whylen);
		if (!e)
			e = load_codes(&L, c);
	} else if (k == 8 && !memcmp(magic, FEAT_INDEX_MAGIC, 8)) {
		e = reg ? feat_index_open_fd(&o, fd, name, why, whylen)
			: feat_index_open_mem(&o, buf, len, name, why, whylen);
		if (!e)
			e = load_index(&L, o);
	} else if (k == 8 && !memcmp(magic, FEAT_STREAM_MAGIC, 8)) {
		if (reg) {
			e = load_stream(&L, fd);
		} else {
			/* the stream reader wants a descriptor: hand it the bytes */
			FILE *tmp = tmpfile();

			if (!tmp || fwrite(buf, 1, len, tmp) != len || fflush(tmp) ||
			    lseek(fileno(tmp), 0, SEEK_SET)) {
				e = ofail(why, whylen, name, FEAT_E_IO,
					  "cannot keep the stream in a temporary file: %s",
					  strerror(errno));
			} else {
				e = load_stream(&L, fileno(tmp));
			}
			if (tmp)
				fclose(tmp);
		}
	} else {
		if (reg && (e = feat_read_all(fd, 0, (uint64_t)st.st_size, &buf, &cap, &len))) {
			ofail(why, whylen, name, e, "read error: %s",
			      e == FEAT_E_IO ? strerror(errno) : "out of memory");
			goto out;
		}
		if (len && memchr(buf, 0, len < 4096 ? len : 4096))
			e = ofail(why, whylen, name, FEAT_E_FORMAT,
				  "not a featcodes, featindex or featstream file, nor "
				  "key TAB hex lines");
		else
			L.text = 1, e = load_text(&L, (const char *)buf, len);
	}
out:
	free(buf);
	if (!std)
		close(fd);
	if (!e && !*ixp)
		/* an empty stream or text file: no code says how wide codes are */
		e = ofail(why, whylen, name, FEAT_E_FORMAT,
			  "holds no codes (did every record fail?)");
	if (skipped)
		*skipped = L.skipped;
	if (e && !why[0])
		feat_fmt(why, whylen, "%s: %s", name, feat_strerror(e));
	return e;
}

int feat_index_load(feat_index **out, const char *path, uint64_t *skipped,
	char *why, size_t whylen)
{
	feat_index *ix = NULL;
	int e = load_file(&ix, path, skipped, why, whylen);

	if (e) {
		feat_index_free(ix);
		ix = NULL;
	}
	*out = ix;
	return e;
}

int feat_index_add_file(feat_index *ix, const char *path, uint64_t *skipped,
	char *why, size_t whylen)
{
	if (!ix) {
		feat_fmt(why, whylen, "%s: no index to add to", path);
		return FEAT_E_INVAL;
	}
	return load_file(&ix, path, skipped, why, whylen);
}
