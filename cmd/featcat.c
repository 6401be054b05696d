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
#include <sys/resource.h>
#include <unistd.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: featcat [OPTION]... [FILE]...\n"
	"Concatenate featstreams to standard output, optionally keeping only\n"
	"some records or tensors.  With no FILE, or when FILE is -, read\n"
	"standard input (- at most once).\n"
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

/* The records of fd, opened on path (- for standard input); closed here
 * unless it is standard input. */
static void cat_file(int fd, const char *path, const struct opts *o, feat_writer *w,
	long long *written, uint64_t *bytes)
{
	int e;
	feat_reader *rd;
	struct feat_rec r;

	if (feat_reader_new(&rd, fd, strcmp(path, "-") ? path : "standard input", NULL))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
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
	if (strcmp(path, "-"))
		close(fd);
}

/*
 * Open every FILE before a record is written: one that does not open is a
 * fault of the command, not half a stream out.  Each is opened once and
 * read from that descriptor, so that a FIFO is not opened twice and a
 * file replaced meanwhile is not read in place of the one checked.  The
 * soft limit on descriptors is raised as far as needed (and allowed).
 */
static int *open_all(char **paths, int n)
{
	int *fd = malloc((n ? (size_t)n : 1) * sizeof *fd);
	struct rlimit rl;

	if (!fd)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)n + 16) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)n + 16
			? (rlim_t)n + 16 : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (int i = 0; i < n; i++) {
		int err;

		fd[i] = strcmp(paths[i], "-") ? open(paths[i], O_RDONLY | O_CLOEXEC)
					     : STDIN_FILENO;
		if (fd[i] >= 0)
			continue;
		err = errno;
		free(fd);    /* (the sanitizer build's leak check at exit) */
		if (err == EMFILE || err == ENFILE)
			feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s (featcat holds "
				 "every FILE open from the start: %d of them)", paths[i],
				 strerror(err), n);
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", paths[i], strerror(err));
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	feat_writer *w;
	long long written = 0;
	uint64_t bytes = 0;
	int e, *fd;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_cli_stdin_once(argv + optind, argc - optind);
	feat_cli_binary_stdout();
	fd = open_all(argv + optind, argc - optind);
	if (feat_writer_new(&w, STDOUT_FILENO, "standard output"))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	if (optind == argc)
		cat_file(STDIN_FILENO, "-", &o, w, &written, &bytes);
	for (int i = optind; i < argc; i++)
		cat_file(fd[i - optind], argv[i], &o, w, &written, &bytes);
	free(fd);
	if ((e = feat_writer_end(w)) < 0)
		feat_cli_write_fail(w, e);
	feat_writer_free(w);
	feat_progress((uint64_t)written, bytes, 1);
	return FEAT_EXIT_OK;
}
