/*
 * featinfo - print a featstream as text, for people and for tests.
 *
 * One line per record (key, status, message), then one indented line per
 * tensor (name, dtype, shape, the first few values).  --raw NAME writes the
 * payload of one tensor of every record instead, for comparison with files
 * written by other tools.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: featinfo [OPTION]... [FILE]...\n"
	"Print featstream records as text: key, status, tensors and a few values.\n"
	"With no FILE, or when FILE is -, read standard input.\n"
	"\n"
	"  -n, --values N   values to show per tensor (default 8; -1 for all)\n"
	"  -s, --stats      also show min, max and mean of numeric tensors\n"
	"  -k, --keys       print only key and status, one line per record\n"
	"  -c, --count      print only the totals: records, ok, errors\n"
	"      --raw NAME   write the raw payload of tensor NAME of each record\n"
	"                   to standard output (records without it are skipped)\n"
	FEAT_CLI_HELP
	"\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream or corrupt,\n"
	"4 read or write error.\n";

struct opts {
	long nvalues;
	int stats, keys_only, count_only;
	const char *raw;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "values", required_argument, NULL, 'n' },
		{ "stats", no_argument, NULL, 's' },
		{ "keys", no_argument, NULL, 'k' },
		{ "count", no_argument, NULL, 'c' },
		{ "raw", required_argument, NULL, 0x2001 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->nvalues = 8;
	while ((c = feat_getopt(argc, argv, "n:skc", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'n':
			o->nvalues = feat_cli_long("--values", optarg, -1, 1L << 40);
			break;
		case 's':
			o->stats = 1;
			break;
		case 'k':
			o->keys_only = 1;
			break;
		case 'c':
			o->count_only = 1;
			break;
		case 0x2001:
			o->raw = optarg;
			break;
		}
	}
	if (o->raw && (o->count_only || o->keys_only || o->stats))
		feat_die_usage("--raw writes only the payloads: not with -c, -k or -s");
	if (o->raw && isatty(STDOUT_FILENO))
		feat_die(FEAT_EXIT_USAGE,
			 "refusing to write raw tensor data to a terminal (redirect it)");
}

static double value_at(const struct feat_tensor *t, uint64_t i)
{
	const void *p = t->data;

	switch (t->dtype) {
	case FEAT_DT_U8: return ((const uint8_t *)p)[i];
	case FEAT_DT_I8: return ((const int8_t *)p)[i];
	case FEAT_DT_U16: return ((const uint16_t *)p)[i];
	case FEAT_DT_I32: return ((const int32_t *)p)[i];
	case FEAT_DT_F32: return ((const float *)p)[i];
	case FEAT_DT_F64: return ((const double *)p)[i];
	case FEAT_DT_BIT: return ((const uint8_t *)p)[i / 8] >> (7 - i % 8) & 1;
	}
	return 0;
}

static void show_tensor(const struct feat_tensor *t, const struct opts *o)
{
	uint64_t n = feat_tensor_count(t), show = n;

	printf("\t%s\t%s\t[", t->name, feat_dtype_name(t->dtype));
	for (int d = 0; d < t->ndim; d++)
		printf(d ? " %" PRIu32 : "%" PRIu32, t->dims[d]);
	putchar(']');
	/* codes are shown whole up to 32 bits per value asked for (256 by
	 * default), so a default listing shows every usual code length */
	if (o->nvalues >= 0 &&
	    (uint64_t)o->nvalues * (t->dtype == FEAT_DT_BIT ? 32 : 1) < show)
		show = (uint64_t)o->nvalues * (t->dtype == FEAT_DT_BIT ? 32 : 1);
	if (t->dtype == FEAT_DT_BIT && show) {
		/* bits read best as hex of whole bytes */
		size_t nb = (size_t)((show + 7) / 8);
		char hex[2 * 64 + 1];

		putchar('\t');
		for (size_t b = 0; b < nb; b += 64) {
			size_t k = nb - b < 64 ? nb - b : 64;

			feat_hex_encode((const uint8_t *)t->data + b, k, hex);
			fputs(hex, stdout);
		}
	} else if (show) {
		putchar('\t');
		for (uint64_t i = 0; i < show; i++)
			printf(i ? " %.6g" : "%.6g", value_at(t, i));
	}
	if (show < n)
		fputs(" ...", stdout);
	if (o->stats && n && t->dtype != FEAT_DT_BIT) {
		double mn = INFINITY, mx = -INFINITY, sum = 0;

		for (uint64_t i = 0; i < n; i++) {
			double v = value_at(t, i);

			mn = v < mn ? v : mn;
			mx = v > mx ? v : mx;
			sum += v;
		}
		printf("\tmin=%.6g max=%.6g mean=%.6g", mn, mx, sum / (double)n);
	}
	putchar('\n');
}

static void show_record(const struct feat_rec *r, const struct opts *o)
{
	feat_put_tsv(stdout, r->key, strlen(r->key));
	fputs(r->status == FEAT_ST_OK ? "\tok" : "\terror\t", stdout);
	if (r->status != FEAT_ST_OK)
		feat_put_tsv(stdout, r->msg, strlen(r->msg));
	putchar('\n');
	if (o->keys_only)
		return;
	for (int i = 0; i < r->ntensors; i++)
		show_tensor(&r->t[i], o);
}

static void write_raw(const struct feat_rec *r, const char *name)
{
	const struct feat_tensor *t = feat_rec_find((struct feat_rec *)r, name);

	if (t && t->nbytes && fwrite(t->data, 1, t->nbytes, stdout) != t->nbytes)
		feat_die(FEAT_EXIT_SYSTEM, "standard output: write error: %s", strerror(errno));
}

/* Print one stream; returns the exit code for it. */
static int info_file(const char *path, const struct opts *o, uint64_t tot[3])
{
	int fd, e;
	feat_reader *rd;
	struct feat_rec r;

	rd = feat_cli_open_reader(path, &fd);
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		tot[0]++;
		tot[r.status == FEAT_ST_OK ? 1 : 2]++;
		if (o->raw)
			write_raw(&r, o->raw);
		else if (!o->count_only)
			show_record(&r, o);
		feat_progress(tot[0], feat_reader_bytes(rd), 0);
	}
	if (e < 0) {
		fflush(stdout);
		feat_cli_stream_fail(rd, e);
	}
	feat_rec_free(&r);
	feat_reader_free(rd);
	if (fd != STDIN_FILENO)
		close(fd);
	return FEAT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	uint64_t tot[3] = { 0, 0, 0 };

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	if (optind == argc)
		info_file("-", &o, tot);
	for (int i = optind; i < argc; i++)
		info_file(argv[i], &o, tot);
	if (o.count_only)
		printf("%" PRIu64 " records, %" PRIu64 " ok, %" PRIu64 " errors\n",
		       tot[0], tot[1], tot[2]);
	feat_progress(tot[0], 0, 1);
	if (fflush(stdout) || ferror(stdout))
		feat_die(FEAT_EXIT_SYSTEM, "standard output: write error: %s", strerror(errno));
	return FEAT_EXIT_OK;
}
