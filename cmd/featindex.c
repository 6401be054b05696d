/*
 * featindex - build, append to, merge and inspect featindex files (the
 * multi-index-hashing index of featsearch and featdedup; featindex(5)).
 *
 * Shards built on many hosts merge in one linear pass over their sorted
 * tables: no substring is recomputed and nothing is sorted again.  Every
 * write goes to a temporary file beside the target and is renamed over it
 * at the end, so a reader never maps a half-written index.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/groups.h"

static const char usage[] =
	"Usage: featindex build [-m M] -o INDEX FILE...\n"
	"       featindex append INDEX FILE...\n"
	"       featindex merge -o INDEX SHARD...\n"
	"       featindex info INDEX...\n"
	"       featindex check INDEX...\n"
	"Make and maintain a featindex file: the codes and keys of FILEs with one\n"
	"sorted table per substring of the code, for exact search by multi-index\n"
	"hashing (featsearch, featdedup).  FILE is a featcodes file (featwrite\n"
	"-f bin), a featindex file, a featstream or key TAB hex lines; - is\n"
	"standard input (at most once).\n"
	"\n"
	"  build    index FILEs; records are numbered in the order read\n"
	"  append   add the records of FILEs to INDEX (sorted and merged in)\n"
	"  merge    join shards of one code length and m into one index, in the\n"
	"           order given, merging their tables without recomputing them\n"
	"  info     print each INDEX's header: records, bits, substrings, bytes\n"
	"  check    check every table entry against its record's code\n"
	"\n"
	"  -o, --output INDEX   the index to write (build, merge)\n"
	"      --substrings M   substrings (default: about bits / log2(count),\n"
	"                       each at most 32 bits)\n"
	FEAT_CLI_HELP
	"\n"
	"Exit status: 0 success, 1 check found a corrupt index, 2 usage,\n"
	"3 input unreadable or corrupt, 4 read or write error or out of memory.\n";


/* Write ix to path through a temporary file and a rename (feat_cli_create). */
static void save(feat_index *ix, const char *path)
{
	struct feat_outfile *out = feat_cli_create(path);
	int e = feat_index_write(ix, out->fd);

	if (e)
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", path,
			 e != FEAT_E_IO ? feat_strerror(e) : strerror(errno));
	feat_cli_commit(out);
}

static void load(feat_index **ix, const char *path)
{
	char detail[512];
	uint64_t skipped = 0;
	int e;

	e = *ix ? feat_index_add_file(*ix, path, &skipped, detail, sizeof detail)
		: feat_index_load(ix, path, &skipped, detail, sizeof detail);
	if (e) {
		if (e == FEAT_E_RANGE && *ix)
			feat_die(FEAT_EXIT_STREAM, "%s", detail);
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
	}
	if (skipped)
		feat_warn("%s: %" PRIu64 " records skipped (error records, or without a code)",
			  path, skipped);
}

static void build_cmd(int argc, char **argv, const char *out, long m, int merge)
{
	feat_index *ix = NULL;

	if (!out)
		feat_die_usage("%s needs -o INDEX", merge ? "merge" : "build");
	if (optind == argc)
		feat_die_usage("%s: no input files", merge ? "merge" : "build");
	for (int i = optind; i < argc; i++) {
		if (merge) {
			char detail[512];
			feat_index *s;
			int e;

			if ((e = feat_index_open(&s, argv[i], detail, sizeof detail)))
				feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
			if (!ix && (e = feat_index_new(&ix, feat_index_info(s)->code_bits, 0)))
				feat_die(FEAT_EXIT_SYSTEM, "%s", feat_strerror(e));
			if (feat_index_info(s)->code_bits != feat_index_info(ix)->code_bits)
				feat_die(FEAT_EXIT_STREAM, "%s: codes have %u bits; the others "
					 "have %u", argv[i], feat_index_info(s)->code_bits,
					 feat_index_info(ix)->code_bits);
			if (feat_index_info(ix)->count && feat_index_info(s)->count &&
			    feat_index_info(s)->m != feat_index_info(ix)->m)
				feat_warn("%s: %u substrings, not %u: its records are "
					  "indexed again", argv[i], feat_index_info(s)->m,
					  feat_index_info(ix)->m);
			if ((e = feat_index_add_index(ix, s)))
				feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s: %s", argv[i], feat_strerror(e));
			feat_index_free(s);
			continue;
		}
		if (!ix && m) {
			/* m is fixed before the first record; the length comes
			 * from the first file */
			feat_index *first = NULL;

			load(&first, argv[i]);
			if (!first)
				continue;
			if (feat_index_new(&ix, feat_index_info(first)->code_bits, (uint32_t)m))
				feat_die_usage("--substrings: %ld substrings of %u-bit codes "
					       "would be over %d bits or under 1", m,
					       feat_index_info(first)->code_bits,
					       FEAT_INDEX_MAX_SUB);
			if (feat_index_add_index(ix, first))
				feat_die(FEAT_EXIT_SYSTEM, "out of memory");
			feat_index_free(first);
			continue;
		}
		load(&ix, argv[i]);
	}
	if (!ix)
		feat_die(FEAT_EXIT_STREAM, "no records with a code: nothing to index");
	/* without -m, the default for all the records, not the m of an
	 * index given first (merge keeps that: its shards share one) */
	if (!m && !merge && feat_index_retable(ix, feat_index_default_m(feat_index_info(ix)->code_bits,
									  feat_index_count(ix))))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	if (feat_index_build(ix))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	feat_cli_index_repeated_keys(ix);
	save(ix, out);
	feat_info("%s: %" PRIu64 " records of %u bits, %u substrings", out,
		  feat_index_count(ix), feat_index_info(ix)->code_bits,
		  feat_index_info(ix)->m);
	feat_index_free(ix);
}

/*
 * Hold an exclusive lock on the index at path until the process exits, so
 * that two appends to one index take turns instead of one losing the
 * other's records.  The lock is on the file itself; an append that waited
 * may find it replaced by the other's rename, and then locks the new one.
 */
static void lock_index(const char *path)
{
	for (;;) {
		struct stat a, b;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", path, strerror(errno));
		while (flock(fd, LOCK_EX))
			if (errno != EINTR)
				feat_die(FEAT_EXIT_SYSTEM, "%s: cannot lock: %s", path,
					 strerror(errno));
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return;  /* fd stays open: the lock lasts until exit */
		close(fd);
	}
}

static void append_cmd(int argc, char **argv)
{
	feat_index *ix = NULL;
	const char *path;
	uint64_t before;

	if (argc - optind < 2)
		feat_die_usage("append needs INDEX and at least one FILE");
	path = argv[optind];
	lock_index(path);
	{
		char detail[512];
		feat_index *old;
		int e;

		if ((e = feat_index_open(&old, path, detail, sizeof detail)))
			feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
		/* (the m of its first build, even when it is empty) */
		if ((e = feat_index_new(&ix, feat_index_info(old)->code_bits, feat_index_info(old)->m)) ||
		    (e = feat_index_add_index(ix, old)))
			feat_die(FEAT_EXIT_SYSTEM, "%s", feat_strerror(e));
		feat_index_free(old);
	}
	before = feat_index_count(ix);
	for (int i = optind + 1; i < argc; i++)
		load(&ix, argv[i]);
	if (feat_index_build(ix))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	feat_cli_index_repeated_keys(ix);
	save(ix, path);
	feat_info("%s: %" PRIu64 " records added, %" PRIu64 " in all", path,
		  feat_index_count(ix) - before, feat_index_count(ix));
	feat_index_free(ix);
}

static int info_cmd(int argc, char **argv, int check)
{
	int rc = FEAT_EXIT_OK;

	if (optind == argc)
		feat_die_usage("%s: no index given", check ? "check" : "info");
	for (int i = optind; i < argc; i++) {
		char detail[512];
		feat_index *ix;
		int e;

		if ((e = feat_index_open(&ix, argv[i], detail, sizeof detail))) {
			/* tables that disagree with the codes fail the open
			 * already: for check, a corrupt index like any other,
			 * and the next is checked */
			if (!check || e != FEAT_E_CORRUPT)
				feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
			fprintf(stderr, "%s: %s\n", feat_prog, detail);
			rc = 1;
			continue;
		}
		if (check) {
			if ((e = feat_index_verify(ix, detail, sizeof detail))) {
				fprintf(stderr, "%s: %s\n", feat_prog, detail);
				rc = feat_cli_exit_code(e, 1);
			} else if (feat_verbose >= 0) {
				printf("%s: ok\n", argv[i]);
			}
		} else {
			const struct feat_index_info *in = feat_index_info(ix);

			printf("%s: featindex %u.%u, %" PRIu64 " records, %u-bit codes, "
			       "%u substrings, %" PRIu64 " key bytes, %" PRIu64 " bytes\n",
			       argv[i], in->major, in->minor, in->count, in->code_bits,
			       in->m, in->key_bytes, in->file_size);
		}
		feat_index_free(ix);
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "substrings", required_argument, NULL, 'm' },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL, *cmd;
	long m = 0;
	int c;

	feat_cli_init(argv[0]);
	/* the command comes first; options before or after its arguments */
	cmd = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
	if (cmd)
		optind = 2;
	while ((c = feat_getopt(argc, argv, "o:m:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		if (c == 'o')
			out = optarg;
		else if (c == 'm')
			m = feat_cli_long("--substrings", optarg, 1, FEAT_INDEX_MAX_BITS);
	}
	if (!cmd)
		feat_die_usage("no command given (build, append, merge, info or check)");
	feat_cli_stdin_once(argv + optind, argc - optind);
	if (!strcmp(cmd, "build") || !strcmp(cmd, "merge")) {
		if (m && !strcmp(cmd, "merge"))
			feat_die_usage("merge keeps the shards' substrings: -m applies to build");
		build_cmd(argc, argv, out, m, !strcmp(cmd, "merge"));
	} else if (!strcmp(cmd, "append") || !strcmp(cmd, "info") ||
		   !strcmp(cmd, "check")) {
		if (out || m)
			feat_die_usage("%s takes no -o or -m", cmd);
		if (!strcmp(cmd, "append"))
			append_cmd(argc, argv);
		else
			return info_cmd(argc, argv, !strcmp(cmd, "check"));
	} else {
		feat_die_usage("'%s' is not a command (build, append, merge, info or check)", cmd);
	}
	return FEAT_EXIT_OK;
}
