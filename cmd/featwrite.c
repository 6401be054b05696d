/*
 * featwrite - the end of a pipeline: one output record per input record,
 * as TSV, JSON lines, a featcodes file of fixed-size code records, or a
 * numpy .npy array of the codes with their keys in a second file.
 *
 * The value of a record is its `code` tensor (packed bits, or u8 bytes)
 * as hex, else its `feat` tensor as numbers, else a summary of its
 * tensors; error records carry their message.  The exit status tells a
 * clean run (0) from one with more error records than --max-errors allows
 * (1), so a script notices photos that were lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: featwrite [OPTION]... [FILE]...\n"
	"Write one line (or code record) per featstream record: key, status and\n"
	"the code as hex, the feature vector, or a summary of the tensors; error\n"
	"records with their message.  With no FILE, or when FILE is -, read\n"
	"standard input.\n"
	"\n"
	"  -f, --format FMT     tsv (default): key TAB status TAB value\n"
	"                       jsonl: one JSON object per record\n"
	"                       bin: a featcodes file of fixed-size records\n"
	"                       (see featcodes(5))\n"
	"                       npy: the codes as a numpy uint8 array, one row\n"
	"                       a code, and the keys in a second file\n"
	"  -o, --output FILE    write to FILE instead of standard output; npy:\n"
	"                       NAME or NAME.npy writes NAME.npy and NAME.keys\n"
	"      --keys FILE      npy: write the keys, one a line, to FILE\n"
	"      --no-status      tsv: print key TAB value, ok records only\n"
	"  -e, --max-errors N   exit 0 while at most N records (or N% of them,\n"
	"                       e.g. 0.5%) are errors (default 0)\n"
	"  -b, --bits K         every code must have K bits (else an error record)\n"
	"  -k, --key-width N    bin: key bytes per record (default 116); a longer\n"
	"                       key is an error, its record not written (a cut\n"
	"                       key could equal another)\n"
	FEAT_CLI_HELP
	"\n"
	"In tsv, TAB, newline, CR and backslash in keys and messages are written\n"
	"as \\t \\n \\r \\\\ (and so in npy's keys file).  With -f bin and -f npy,\n"
	"error records and records without a code are not written and count as\n"
	"errors.\n"
	"\n"
	"Exit status: 0 success, 1 more error records than --max-errors allows,\n"
	"2 usage, 3 input not a featstream or corrupt, 4 read or write error.\n";

enum { FMT_TSV, FMT_JSONL, FMT_BIN, FMT_NPY };

struct opts {
	int format;
	const char *output;
	const char *keys;        /* npy: the keys file */
	int no_status;
	double max_errors;       /* a count, or a percentage when pct */
	int pct;
	long bits;               /* 0: any (bin: the first code fixes it) */
	long key_width;
};

struct run {
	const struct opts *o;
	FILE *out;               /* tsv, jsonl */
	int fd;                  /* the output descriptor */
	const char *outname;
	struct feat_outfile *file; /* -o FILE, until committed */
	feat_codes_writer *cw;   /* bin, created with the first code */
	uint32_t bits;           /* bin: code length of the file */
	uint64_t in, ok, errors;
	uint64_t long_keys;      /* bin: keys over --key-width, not written */
	size_t longest;          /* the longest of them */
	uint64_t bytes;          /* input bytes of finished files */
	char *hex;
	size_t hexcap;
	uint8_t *code;           /* the code with padding bits cleared */
	size_t codecap;
	/* npy */
	char *npyname;           /* NAME.npy of -o NAME */
	char *keysbuf;           /* NAME.keys of -o NAME */
	FILE *keys;              /* the keys, one a line */
	const char *keysname;
	struct feat_outfile *keysfile;
	int npy_seek;            /* the header is rewritten at the end */
	off_t npy_at;            /* where the header is */
	int npy_started;         /* the code length is fixed */
	uint64_t rows;
	uint8_t *mem;            /* the codes, when the output cannot seek */
	size_t memlen, memcap;
};

/* ------------------------------------------------------------ options */

static void parse_max_errors(const char *arg, struct opts *o)
{
	size_t n = strlen(arg);

	if (n && arg[n - 1] == '%') {
		char num[64];

		if (n >= sizeof num)
			feat_die_usage("--max-errors: '%s' is not a count or a percentage",
				       arg);
		char *end;

		memcpy(num, arg, n - 1);
		num[n - 1] = 0;
		errno = 0;
		o->max_errors = strtod(num, &end);
		if (errno || end == num || *end || !(o->max_errors >= 0) ||
		    o->max_errors > 100)
			feat_die_usage("--max-errors: '%s' is not a percentage from 0%% to 100%%",
				       arg);
		o->pct = 1;
	} else {
		o->max_errors = (double)feat_cli_long("--max-errors", arg, 0, 1L << 62);
	}
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-status", no_argument, NULL, 0x2001 },
		{ "max-errors", required_argument, NULL, 'e' },
		{ "bits", required_argument, NULL, 'b' },
		{ "key-width", required_argument, NULL, 'k' },
		{ "keys", required_argument, NULL, 0x2002 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c, kw = 0;

	o->key_width = FEAT_CODES_KEY_WIDTH;
	while ((c = feat_getopt(argc, argv, "f:o:e:b:k:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "tsv"))
				o->format = FMT_TSV;
			else if (!strcmp(optarg, "jsonl"))
				o->format = FMT_JSONL;
			else if (!strcmp(optarg, "bin"))
				o->format = FMT_BIN;
			else if (!strcmp(optarg, "npy"))
				o->format = FMT_NPY;
			else
				feat_die_usage("--format: '%s' is not tsv, jsonl, bin or npy",
					       optarg);
			break;
		case 'o': o->output = optarg; break;
		case 0x2001: o->no_status = 1; break;
		case 0x2002: o->keys = optarg; break;
		case 'e': parse_max_errors(optarg, o); break;
		case 'b': o->bits = feat_cli_long("--bits", optarg, 1, FEAT_CODES_MAX_BITS); break;
		case 'k':
			o->key_width = feat_cli_long("--key-width", optarg, 0,
						     FEAT_CODES_MAX_KEY_WIDTH);
			kw = 1;
			break;
		}
	}
	if (o->no_status && o->format != FMT_TSV)
		feat_die_usage("--no-status applies to -f tsv only");
	if (kw && o->format != FMT_BIN)
		feat_die_usage("--key-width applies to -f bin only");
	if (o->keys && o->format != FMT_NPY)
		feat_die_usage("--keys applies to -f npy only");
	if (o->format == FMT_NPY && !o->keys &&
	    (!o->output || !strcmp(o->output, "-")))
		feat_die_usage("-f npy writes two files: give -o NAME (NAME.npy and "
			       "NAME.keys), or --keys FILE");
}

/* ------------------------------------------------------------- values */

/* s escaped as in tsv, for a message on stderr (cut at 1 KiB); two
 * results can be used at once. */
static const char *esc(const char *s)
{
	static char bufs[2][1024];
	static int which;
	char *buf = bufs[which ^= 1];
	size_t n = 0;

	for (; *s && n + 3 < sizeof bufs[0]; s++) {
		const char *e = *s == '\t' ? "\\t" : *s == '\n' ? "\\n" :
				*s == '\r' ? "\\r" : *s == '\\' ? "\\\\" : NULL;

		if (e) {
			buf[n++] = e[0];
			buf[n++] = e[1];
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = 0;
	return buf;
}

/*
 * The record's code: `code` as packed bits, or u8 taken as bytes.
 * Returns 1 with *bytes (padding bits cleared), *nbytes, *bits; 0 when
 * there is none; -1 when `code` is unusable (why says so).
 */
static int get_code(struct run *x, struct feat_rec *r, const uint8_t **bytes,
	size_t *nbytes, uint32_t *bits, char *why, size_t whylen)
{
	struct feat_tensor *t = feat_rec_find(r, "code");
	uint64_t n;

	if (!t)
		return 0;
	if (t->dtype == FEAT_DT_BIT)
		n = feat_tensor_count(t);
	else if (t->dtype == FEAT_DT_U8)
		n = (uint64_t)t->nbytes * 8;
	else {
		snprintf(why, whylen, "tensor 'code' is %s, not bit or u8",
			 feat_dtype_name(t->dtype));
		return -1;
	}
	if (n == 0 || n > FEAT_CODES_MAX_BITS) {
		snprintf(why, whylen, "tensor 'code' has %llu bits (1 to %d allowed)",
			 (unsigned long long)n, FEAT_CODES_MAX_BITS);
		return -1;
	}
	if (x->o->bits && n != (uint64_t)x->o->bits) {
		snprintf(why, whylen, "code has %llu bits, expected %ld (--bits)",
			 (unsigned long long)n, x->o->bits);
		return -1;
	}
	if (t->nbytes > x->codecap) {
		uint8_t *p = realloc(x->code, t->nbytes);

		if (!p)
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		x->code = p;
		x->codecap = t->nbytes;
	}
	memcpy(x->code, t->data, t->nbytes);
	if (n % 8)
		x->code[t->nbytes - 1] &= (uint8_t)(0xff << (8 - n % 8));
	*bytes = x->code;
	*nbytes = t->nbytes;
	*bits = (uint32_t)n;
	return 1;
}

static const char *hex_of(struct run *x, const uint8_t *b, size_t n)
{
	if (2 * n + 1 > x->hexcap) {
		char *p = realloc(x->hex, 2 * n + 1);

		if (!p)
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		x->hex = p;
		x->hexcap = 2 * n + 1;
	}
	feat_hex_encode(b, n, x->hex);
	return x->hex;
}

/* name=dtype[AxBxC] for each tensor, space separated. */
static void put_summary(FILE *f, const struct feat_rec *r)
{
	for (int i = 0; i < r->ntensors; i++) {
		const struct feat_tensor *t = &r->t[i];

		fprintf(f, "%s%s=%s[", i ? " " : "", t->name, feat_dtype_name(t->dtype));
		for (int d = 0; d < t->ndim; d++)
			fprintf(f, d ? "x%u" : "%u", (unsigned)t->dims[d]);
		putc(']', f);
	}
}

/* ---------------------------------------------------------------- tsv */

static void put_tsv(struct run *x, struct feat_rec *r)
{
	FILE *f = x->out;
	const uint8_t *code;
	size_t nb;
	uint32_t bits;
	char why[256];
	int have;

	if (r->status != FEAT_ST_OK) {
		if (x->o->no_status)
			return;
		feat_put_tsv(f, r->key, strlen(r->key));
		fputs("\terror\t", f);
		feat_put_tsv(f, r->msg, strlen(r->msg));
		putc('\n', f);
		return;
	}
	have = get_code(x, r, &code, &nb, &bits, why, sizeof why);
	if (have < 0) {
		/* a code that cannot be one (f32, no bits, too many, or not
		 * --bits long) is this record's error, in every format */
		x->ok--;
		x->errors++;
		feat_info("%s: %s", esc(r->key), why);
		if (x->o->no_status)
			return;
		feat_put_tsv(f, r->key, strlen(r->key));
		fprintf(f, "\terror\t%s\n", why);
		return;
	}
	feat_put_tsv(f, r->key, strlen(r->key));
	fputs(x->o->no_status ? "\t" : "\tok\t", f);
	if (have > 0) {
		fputs(hex_of(x, code, nb), f);
	} else {
		struct feat_tensor *t = feat_rec_find(r, "feat");

		if (t && t->dtype == FEAT_DT_F32) {
			uint64_t n = feat_tensor_count(t);

			for (uint64_t i = 0; i < n; i++)
				fprintf(f, i ? ",%.9g" : "%.9g",
					(double)((const float *)t->data)[i]);
		} else {
			put_summary(f, r);
		}
	}
	putc('\n', f);
}

/* -------------------------------------------------------------- jsonl */

/* A number that reads back to the same float; null for NaN and Inf,
 * which JSON cannot hold. */
static void put_json_num(FILE *f, float v)
{
	if (isfinite(v))
		fprintf(f, "%.9g", (double)v);
	else
		fputs("null", f);
}

static void put_json_dets(FILE *f, const struct feat_tensor *t)
{
	const float *d = t->data;

	fputs(",\"dets\":[", f);
	for (uint32_t i = 0; i < t->dims[0]; i++, d += 6) {
		fputs(i ? ",{\"label\":" : "{\"label\":", f);
		put_json_num(f, d[0]);
		fputs(",\"score\":", f);
		put_json_num(f, d[1]);
		fputs(",\"box\":[", f);
		for (int j = 2; j < 6; j++) {
			if (j > 2)
				putc(',', f);
			put_json_num(f, d[j]);
		}
		fputs("]}", f);
	}
	putc(']', f);
}

static void put_jsonl(struct run *x, struct feat_rec *r)
{
	FILE *f = x->out;
	struct feat_tensor *t;
	const uint8_t *code;
	size_t nb;
	uint32_t bits;
	char why[256];
	int have = 0;

	fputs("{\"key\":", f);
	if (feat_put_json(f, r->key, strlen(r->key))) {
		/* the exact bytes, for a key that is not UTF-8 */
		fputs(",\"key_hex\":\"", f);
		fputs(hex_of(x, (const uint8_t *)r->key, strlen(r->key)), f);
		putc('"', f);
	}
	if (r->status == FEAT_ST_OK) {
		have = get_code(x, r, &code, &nb, &bits, why, sizeof why);
		if (have < 0) {
			x->ok--;
			x->errors++;
			feat_info("%s: %s", esc(r->key), why);
			fputs(",\"status\":\"error\",\"error\":", f);
			feat_put_json(f, why, strlen(why));
		} else {
			fputs(",\"status\":\"ok\"", f);
		}
	} else {
		fputs(",\"status\":\"error\",\"error\":", f);
		feat_put_json(f, r->msg, strlen(r->msg));
	}
	if (have > 0)
		fprintf(f, ",\"bits\":%u,\"code\":\"%s\"", (unsigned)bits,
			hex_of(x, code, nb));
	if ((t = feat_rec_find(r, "feat")) && t->dtype == FEAT_DT_F32) {
		uint64_t n = feat_tensor_count(t);

		fputs(",\"feat\":[", f);
		for (uint64_t i = 0; i < n; i++) {
			if (i)
				putc(',', f);
			put_json_num(f, ((const float *)t->data)[i]);
		}
		putc(']', f);
	}
	if ((t = feat_rec_find(r, "dets")) && t->dtype == FEAT_DT_F32 &&
	    t->ndim == 2 && t->dims[1] == 6)
		put_json_dets(f, t);
	fputs(",\"tensors\":{", f);
	for (int i = 0; i < r->ntensors; i++) {
		t = &r->t[i];
		if (i)
			putc(',', f);
		feat_put_json(f, t->name, strlen(t->name));
		fprintf(f, ":{\"dtype\":\"%s\",\"shape\":[", feat_dtype_name(t->dtype));
		for (int d = 0; d < t->ndim; d++)
			fprintf(f, d ? ",%u" : "%u", (unsigned)t->dims[d]);
		fputs("]}", f);
	}
	fputs("}}\n", f);
}

/* ---------------------------------------------------------------- npy */

/*
 * A .npy file (format version 1.0): the magic, a little-endian header
 * length and a Python dict literal padded with spaces to a multiple of 64
 * bytes, then the rows.  The header is always NPY_HEADER bytes, so that it
 * can be written first with the row count unknown and rewritten at the end
 * in place; on an output that cannot seek (a pipe) the rows are kept in
 * memory and written after the header at the end.
 */
#define NPY_HEADER 128

static void npy_header(const struct run *x, char h[NPY_HEADER])
{
	int n;

	memset(h, ' ', NPY_HEADER);
	memcpy(h, "\x93NUMPY\x01\x00", 8);
	h[8] = NPY_HEADER - 10;
	h[9] = 0;
	n = snprintf(h + 10, NPY_HEADER - 10,
		     "{'descr': '|u1', 'fortran_order': False, 'shape': (%llu, %u), }",
		     (unsigned long long)x->rows, (unsigned)(x->bits + 7) / 8);
	h[10 + n] = ' ';
	h[NPY_HEADER - 1] = '\n';
}

static void npy_write(struct run *x, const void *p, size_t n)
{
	const char *b = p;

	while (n) {
		ssize_t w = write(x->fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", x->outname,
				 strerror(w < 0 ? errno : EIO));
		b += w;
		n -= (size_t)w;
	}
}

static void open_npy(struct run *x, uint32_t bits)
{
	static const char zero[NPY_HEADER];

	x->bits = bits;
	x->npy_started = 1;
	x->npy_at = lseek(x->fd, 0, SEEK_CUR);
	/* the header is written last, in place: not on a descriptor opened
	 * for appending (>>), where pwrite appends (Linux) */
	x->npy_seek = x->npy_at >= 0 && !(fcntl(x->fd, F_GETFL) & O_APPEND);
	if (x->npy_seek)
		npy_write(x, zero, sizeof zero);
}

static void put_npy_row(struct run *x, struct feat_rec *r, const uint8_t *code,
	uint32_t bits)
{
	size_t nb = (bits + 7) / 8;

	if (!x->npy_started)
		open_npy(x, bits);
	if (x->npy_seek) {
		npy_write(x, code, nb);
	} else {
		if (x->memlen + nb > x->memcap) {
			size_t cap = x->memcap ? 2 * x->memcap : 1 << 16;
			uint8_t *p = realloc(x->mem, cap);

			if (!p)
				feat_die(FEAT_EXIT_SYSTEM, "out of memory (%zu bytes of codes "
					 "held for a pipe: use -o FILE)", x->memlen);
			x->mem = p;
			x->memcap = cap;
		}
		memcpy(x->mem + x->memlen, code, nb);
		x->memlen += nb;
	}
	feat_put_tsv(x->keys, r->key, strlen(r->key));
	putc('\n', x->keys);
	if (ferror(x->keys))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", x->keysname,
			 strerror(errno));
	x->rows++;
	x->ok++;
}

static void finish_npy(struct run *x)
{
	char h[NPY_HEADER];

	if (!x->npy_started)
		open_npy(x, (uint32_t)x->o->bits);
	npy_header(x, h);
	if (x->npy_seek) {
		if (pwrite(x->fd, h, sizeof h, x->npy_at) != sizeof h)
			feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", x->outname,
				 strerror(errno));
	} else {
		npy_write(x, h, sizeof h);
		npy_write(x, x->mem, x->memlen);
	}
	if (fflush(x->keys) || ferror(x->keys))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", x->keysname,
			 strerror(errno));
}

/* ---------------------------------------------------------------- bin */

static void open_codes(struct run *x, uint32_t bits)
{
	int e = feat_codes_writer_new(&x->cw, x->fd, x->outname, bits,
				      (uint32_t)x->o->key_width);

	if (e)
		feat_die(FEAT_EXIT_SYSTEM, "%s: %s%s", x->outname,
			 e == FEAT_E_IO ? "write error: " : "",
			 e == FEAT_E_IO ? strerror(errno) : feat_strerror(e));
	x->bits = bits;
}

/* ---------------------------------------------------------------- bin */

static void put_bin(struct run *x, struct feat_rec *r)
{
	const uint8_t *code;
	size_t nb;
	uint32_t bits;
	char why[256];
	int have, e;

	if (r->status != FEAT_ST_OK) {
		feat_info("%s: not written: %s", esc(r->key), esc(r->msg));
		x->errors++;
		return;
	}
	have = get_code(x, r, &code, &nb, &bits, why, sizeof why);
	if (have == 0)
		snprintf(why, sizeof why, "no 'code' tensor");
	else if (have > 0 && (x->cw || x->npy_started) && bits != x->bits) {
		snprintf(why, sizeof why, "code has %u bits, the file's codes have %u",
			 (unsigned)bits, (unsigned)x->bits);
		have = -1;
	}
	if (have > 0 && x->o->format == FMT_BIN &&
	    strlen(r->key) > (size_t)x->o->key_width) {
		/* cut, it could merge with another key of the same prefix */
		snprintf(why, sizeof why, "key of %zu bytes is over --key-width %ld",
			 strlen(r->key), x->o->key_width);
		if (strlen(r->key) > x->longest)
			x->longest = strlen(r->key);
		x->long_keys++;
		have = -1;
	}
	if (have <= 0) {
		feat_info("%s: not written: %s", esc(r->key), why);
		x->errors++;
		return;
	}
	if (x->o->format == FMT_NPY) {
		put_npy_row(x, r, code, bits);
		return;
	}
	if (!x->cw)
		open_codes(x, bits);
	e = feat_codes_writer_put(x->cw, r->key, strlen(r->key), code);
	if (e < 0)
		feat_die(FEAT_EXIT_SYSTEM, "%s", *feat_codes_writer_detail(x->cw)
			 ? feat_codes_writer_detail(x->cw) : feat_strerror(e));
	x->ok++;
}

/* ---------------------------------------------------------------- run */

static void finish_output(struct run *x)
{
	if (x->o->format == FMT_NPY) {
		finish_npy(x);
		return;
	}
	if (x->o->format == FMT_BIN) {
		int e;

		if (!x->cw)
			open_codes(x, (uint32_t)x->o->bits);
		e = feat_codes_writer_close(x->cw);
		x->cw = NULL;
		if (e)
			feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", x->outname,
				 strerror(errno));
		return;
	}
	if (fflush(x->out) || ferror(x->out))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", x->outname,
			 strerror(errno));
}

static void write_file(struct run *x, const char *path)
{
	int fd, e;
	feat_reader *rd;
	struct feat_rec r;

	rd = feat_cli_open_reader(path, &fd);
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		x->in++;
		if (x->o->format == FMT_BIN || x->o->format == FMT_NPY) {
			put_bin(x, &r);
		} else {
			if (r.status == FEAT_ST_OK) {
				x->ok++;
			} else {
				x->errors++;
				feat_info("%s: %s", esc(r.key), esc(r.msg));
			}
			if (x->o->format == FMT_TSV)
				put_tsv(x, &r);
			else
				put_jsonl(x, &r);
			if (ferror(x->out))
				feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s",
					 x->outname, strerror(errno));
		}
		feat_progress(x->in, x->bytes + feat_reader_bytes(rd), 0);
	}
	if (e < 0) {
		/* keep what came before the damage */
		finish_output(x);
		feat_cli_stream_fail(rd, e);
	}
	x->bytes += feat_reader_bytes(rd);
	feat_rec_free(&r);
	feat_reader_free(rd);
	if (fd != STDIN_FILENO)
		close(fd);
}

/*
 * npy: -o NAME or -o NAME.npy writes NAME.npy (as numpy.save names its
 * file) and the keys to NAME.keys, unless --keys names their file.
 */
static void open_npy_outputs(struct run *x)
{
	const char *out = x->o->output && strcmp(x->o->output, "-") ? x->o->output : NULL;
	const char *keys = x->o->keys;
	size_t n;

	if (out) {
		n = strlen(out);
		if (n >= 4 && !strcmp(out + n - 4, ".npy"))
			n -= 4;
		if (!(x->npyname = malloc(n + 6)) || !(x->keysbuf = malloc(n + 6)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		memcpy(x->npyname, out, n);
		strcpy(x->npyname + n, ".npy");
		memcpy(x->keysbuf, out, n);
		strcpy(x->keysbuf + n, ".keys");
		if (!keys)
			keys = x->keysbuf;
		x->file = feat_cli_create(x->npyname);
		x->fd = x->file->fd;
		x->outname = x->npyname;
	}
	if (!strcmp(keys, "-")) {
		if (!out)
			feat_die_usage("--keys -: the codes already go to standard output");
		x->keys = stdout;
		x->keysname = "standard output";
	} else {
		x->keysfile = feat_cli_create(keys);
		if (!(x->keys = x->keysfile->fp = fdopen(x->keysfile->fd, "w")))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		x->keysname = keys;
	}
	if (isatty(x->fd))
		feat_die(FEAT_EXIT_USAGE, "refusing to write a binary .npy file to a "
			 "terminal (redirect it, or use -o NAME)");
	if (x->o->bits)
		open_npy(x, (uint32_t)x->o->bits);
}

static void open_output(struct run *x)
{
	x->fd = STDOUT_FILENO;
	x->outname = "standard output";
	if (x->o->format == FMT_NPY) {
		open_npy_outputs(x);
		return;
	}
	if (x->o->output && strcmp(x->o->output, "-")) {
		/* written whole or not at all: renamed over the target at
		 * the end of a complete run */
		x->file = feat_cli_create(x->o->output);
		x->fd = x->file->fd;
		x->outname = x->o->output;
	}
	if (x->o->format == FMT_BIN) {
		if (isatty(x->fd))
			feat_die(FEAT_EXIT_USAGE,
				 "refusing to write a binary featcodes file to a terminal "
				 "(redirect it, or use -o FILE)");
		if (x->o->bits)
			open_codes(x, (uint32_t)x->o->bits);
		return;
	}
	x->out = x->fd == STDOUT_FILENO ? stdout : fdopen(x->fd, "w");
	if (!x->out)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	if (x->file)
		x->file->fp = x->out;
	setvbuf(x->out, NULL, _IOFBF, 1 << 18);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct run x = { 0 };
	double allowed;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	x.o = &o;
	open_output(&x);
	if (optind >= argc)
		write_file(&x, "-");
	for (int i = optind; i < argc; i++)
		write_file(&x, argv[i]);
	{
		uint64_t trunc = x.cw ? feat_codes_writer_truncated(x.cw) : 0;

		finish_output(&x);
		if (x.keysfile)
			feat_cli_commit(x.keysfile);
		if (x.file)
			feat_cli_commit(x.file);
		feat_progress(x.in, x.bytes, 1);
		/* (a little over: 0.7% of 1000 is 6.999999999999999 in
		 * floating point, and 7 errors are at most 0.7%) */
		allowed = o.pct ? o.max_errors / 100.0 * (double)x.in * (1 + 1e-12) : o.max_errors;
		if (feat_verbose >= 0) {
			fprintf(stderr, "%s: %llu records in, %llu ok, %llu errors",
				feat_prog, (unsigned long long)x.in,
				(unsigned long long)x.ok, (unsigned long long)x.errors);
			if (trunc)
				fprintf(stderr, ", %llu keys truncated to %ld bytes",
					(unsigned long long)trunc, o.key_width);
			if (x.long_keys)
				fprintf(stderr, ", %llu of them keys over --key-width %ld "
					"(the longest %zu bytes: -k %zu keeps them)",
					(unsigned long long)x.long_keys, o.key_width,
					x.longest, x.longest);
			if ((double)x.errors > allowed)
				fprintf(stderr, " (more than --max-errors %g%s allows)",
					o.max_errors, o.pct ? "%" : "");
			fputc('\n', stderr);
		}
		free(x.keysbuf);
		free(x.npyname);
		free(x.mem);
		free(x.hex);
		free(x.code);
		if (fflush(stdout) || ferror(stdout))
			feat_die(FEAT_EXIT_SYSTEM, "standard output: write error: %s",
				 strerror(errno));
		return (double)x.errors > allowed ? FEAT_EXIT_RECORDS : FEAT_EXIT_OK;
	}
}
