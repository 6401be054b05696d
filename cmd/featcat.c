/*
 * featcat - concatenate featstreams, keeping or dropping records and
 * tensors on the way.
 *
 * The stream's own cat: merges the shards of a parallel run into one
 * stream, drops the big `image` tensor before a stream is stored, or picks
 * out the error records of a run.  Records are written unchanged apart
 * from the tensors dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: featcat [OPTION]... [FILE]...\n"
	"Concatenate featstreams to standard output, optionally keeping only\n"
	"some records or tensors.  With no FILE, or when FILE is -, read\n"
	"standard input.\n"
	"\n"
	"      --ok              keep only ok records\n"
	"      --errors          keep only error records\n"
	"  -d, --drop NAME      drop tensor NAME (repeatable)\n"
	"  -t, --keep NAME      keep only the tensors named (repeatable)\n"
	"  -n, --head N         stop after N records (the input is still read\n"
	"                       to its end)\n"
	FEAT_CLI_HELP
	"\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream or corrupt,\n"
	"4 read or write error.\n";

#define MAXNAMES 32

struct opts {
	int only_ok, only_errors;
	const char *drop[MAXNAMES], *keep[MAXNAMES];
	int ndrop, nkeep;
	long long head;
};

static void add_name(const char **v, int *n, const char *name)
{
	if (*n == MAXNAMES)
		feat_die_usage("too many tensor names (at most %d)", MAXNAMES);
	v[(*n)++] = name;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "ok", no_argument, NULL, 0x2001 },
		{ "errors", no_argument, NULL, 0x2002 },
		{ "drop", required_argument, NULL, 'd' },
		{ "keep", required_argument, NULL, 't' },
		{ "head", required_argument, NULL, 'n' },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->head = -1;
	while ((c = feat_getopt(argc, argv, "d:t:n:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 0x2001: o->only_ok = 1; break;
		case 0x2002: o->only_errors = 1; break;
		case 'd': add_name(o->drop, &o->ndrop, optarg); break;
		case 't': add_name(o->keep, &o->nkeep, optarg); break;
		case 'n': o->head = feat_cli_long("--head", optarg, 0, 1L << 62); break;
		}
	}
	if (o->only_ok && o->only_errors)
		feat_die_usage("--ok and --errors exclude each other");
	if (o->ndrop && o->nkeep)
		feat_die_usage("--drop and --keep exclude each other");
}

static int listed(const char *const *v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return 1;
	return 0;
}

/* Apply --drop/--keep to one record. */
static void select_tensors(struct feat_rec *r, const struct opts *o)
{
	for (int i = r->ntensors - 1; i >= 0; i--) {
		const char *name = r->t[i].name;

		if ((o->ndrop && listed(o->drop, o->ndrop, name)) ||
		    (o->nkeep && !listed(o->keep, o->nkeep, name)))
			feat_rec_remove(r, name);
	}
}

static void cat_file(const char *path, const struct opts *o, feat_writer *w,
	long long *written, uint64_t *bytes)
{
	int fd, e;
	feat_reader *rd;
	struct feat_rec r;

	rd = feat_cli_open_reader(path, &fd);
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		if ((o->only_ok && r.status != FEAT_ST_OK) ||
		    (o->only_errors && r.status == FEAT_ST_OK) ||
		    (o->head >= 0 && *written >= o->head))
			continue;
		select_tensors(&r, o);
		if ((e = feat_writer_put(w, &r)) < 0)
			feat_cli_write_fail(w, e);
		++*written;
		feat_progress((uint64_t)*written, *bytes + feat_reader_bytes(rd), 0);
	}
	if (e < 0) {
		feat_writer_flush(w);
		feat_cli_stream_fail(rd, e);
	}
	*bytes += feat_reader_bytes(rd);
	feat_rec_free(&r);
	feat_reader_free(rd);
	if (fd != STDIN_FILENO)
		close(fd);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	feat_writer *w;
	long long written = 0;
	uint64_t bytes = 0;
	int e;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_cli_binary_stdout();
	/* every FILE opens before a record is written: one that does not
	 * is a fault of the command, not half a stream out */
	for (int i = optind; i < argc; i++) {
		int fd = strcmp(argv[i], "-") ? open(argv[i], O_RDONLY) : STDIN_FILENO;

		if (fd < 0)
			feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", argv[i], strerror(errno));
		if (fd != STDIN_FILENO)
			close(fd);
	}
	if (feat_writer_new(&w, STDOUT_FILENO, "standard output"))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	if (optind == argc)
		cat_file("-", &o, w, &written, &bytes);
	for (int i = optind; i < argc; i++)
		cat_file(argv[i], &o, w, &written, &bytes);
	if ((e = feat_writer_end(w)) < 0)
		feat_cli_write_fail(w, e);
	feat_writer_free(w);
	feat_progress((uint64_t)written, bytes, 1);
	return FEAT_EXIT_OK;
}
