/*
 * featdedup - near-duplicate groups among binary codes: every pair within
 * Hamming radius r (exact, by multi-index hashing; lib/codes/mih.c), then groups
 * of records joined by those pairs.
 *
 * Input: featcodes files, featindex files, featstreams or key TAB hex
 * lines, all of one code length, read into one in-memory index.  Output:
 * one line per record of a group (group, key, distance to the group's
 * representative), or with --pairs one line per pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: featdedup [OPTION]... [FILE]...\n"
	"Find near-duplicate codes: every pair within Hamming radius R, then\n"
	"groups of records joined by such pairs.  FILE is a featcodes file\n"
	"(featwrite -f bin), a featindex file, a featstream, or key TAB hex lines\n"
	"(featwrite -f tsv --no-status).  With no FILE, or when FILE is -, read\n"
	"standard input.\n"
	"\n"
	"  -r, --radius R       pairs at distance R or less (default: 11 per 128\n"
	"                       bits of code, rounded down: 2 for 32-bit codes,\n"
	"                       5 for 64, 11 for 128 -- the radius with the best\n"
	"                       F1 on re-uploads, see featdedup(1))\n"
	"  -c, --cluster MODE   components (default): connected components, the\n"
	"                       representative the first record of the group;\n"
	"                       leader: in input order a record not yet taken\n"
	"                       leads a group of the untaken records within R\n"
	"  -a, --all            also list records without a duplicate\n"
	"  -p, --pairs          write the pairs (key, key, distance) instead\n"
	"  -f, --format FMT     tsv (default): group TAB key TAB distance;\n"
	"                       jsonl: {\"group\":..,\"key\":..,\"distance\":..}\n"
	"  -o, --output FILE    write to FILE instead of standard output\n"
	"  -m, --substrings M   substrings of the index (default: the cheapest\n"
	"                       for the count and the radius)\n"
	"  -j, --threads N      threads for the join (default: all CPUs)\n"
	"      --scan           compare every pair (the brute-force baseline)\n"
	FEAT_CLI_HELP
	"\n"
	"Groups are numbered from 1 in the order of their representatives;\n"
	"within a group the representative comes first (distance 0), then the\n"
	"others in input order.  In tsv, TAB, newline, CR and backslash in keys\n"
	"are written as \\t \\n \\r \\\\.\n"
	"\n"
	"Exit status: 0 success, 2 usage, 3 input unreadable or corrupt,\n"
	"4 read or write error or out of memory.\n";

struct opts {
	long radius;
	int cluster, all, pairs, jsonl, scan;
	long m, threads;
	const char *output;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "radius", required_argument, NULL, 'r' },
		{ "cluster", required_argument, NULL, 'c' },
		{ "all", no_argument, NULL, 'a' },
		{ "pairs", no_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "substrings", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 'j' },
		{ "scan", no_argument, NULL, 0x2001 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->radius = -1;  /* from the code width, once it is known */
	o->threads = sysconf(_SC_NPROCESSORS_ONLN);
	if (o->threads < 1)
		o->threads = 1;
	while ((c = feat_getopt(argc, argv, "r:c:apf:o:m:j:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'r': o->radius = feat_cli_long("--radius", optarg, 0, FEAT_INDEX_MAX_BITS); break;
		case 'c':
			if (!strcmp(optarg, "components"))
				o->cluster = FEAT_GROUP_COMPONENTS;
			else if (!strcmp(optarg, "leader"))
				o->cluster = FEAT_GROUP_LEADER;
			else
				feat_die_usage("--cluster: '%s' is not components or leader", optarg);
			break;
		case 'a': o->all = 1; break;
		case 'p': o->pairs = 1; break;
		case 'f':
			if (!strcmp(optarg, "tsv"))
				o->jsonl = 0;
			else if (!strcmp(optarg, "jsonl"))
				o->jsonl = 1;
			else
				feat_die_usage("--format: '%s' is not tsv or jsonl", optarg);
			break;
		case 'o': o->output = optarg; break;
		case 'm': o->m = feat_cli_long("--substrings", optarg, 1, FEAT_INDEX_MAX_BITS); break;
		case 'j': o->threads = feat_cli_long("--threads", optarg, 1, 256); break;
		case 0x2001: o->scan = 1; break;
		}
	}
	if (o->pairs && o->all)
		feat_die_usage("--all applies to groups, not to --pairs");
}

/* ------------------------------------------------------------ output */

static void put_key(FILE *f, const feat_index *ix, uint32_t id, int jsonl)
{
	size_t n;
	const char *k = feat_index_key(ix, id, &n);

	if (jsonl)
		feat_put_json(f, k, n);
	else
		feat_put_tsv(f, k, n);
}

static void write_pairs(FILE *f, const feat_index *ix, const struct feat_pair *p,
	size_t np, int jsonl)
{
	for (size_t i = 0; i < np; i++) {
		fputs(jsonl ? "{\"key1\":" : "", f);
		put_key(f, ix, p[i].a, jsonl);
		fputs(jsonl ? ",\"key2\":" : "\t", f);
		put_key(f, ix, p[i].b, jsonl);
		fprintf(f, jsonl ? ",\"distance\":%" PRIu32 "}\n" : "\t%" PRIu32 "\n",
			p[i].dist);
	}
}

/* Groups in the order of their representatives, members in id order. */
static uint64_t write_groups(FILE *f, const feat_index *ix, const uint32_t *rep,
	int all, int jsonl)
{
	uint64_t n = feat_index_count(ix), g = 0;
	size_t cb = feat_index_info(ix)->code_stride;
	uint32_t *size = calloc(n ? n : 1, 4), *first = malloc((n ? n : 1) * 4),
		 *next = malloc((n ? n : 1) * 4), *last = malloc((n ? n : 1) * 4);

	if (!size || !first || !next || !last)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	/* member lists by representative, in id order */
	for (uint64_t i = 0; i < n; i++) {
		uint32_t r = rep[i];

		next[i] = UINT32_MAX;
		if (size[r]++ == 0)
			first[r] = last[r] = (uint32_t)i;
		else
			last[r] = next[last[r]] = (uint32_t)i;
	}
	for (uint64_t r = 0; r < n; r++) {
		if (rep[r] != r || (size[r] < 2 && !all))
			continue;
		g++;
		for (uint32_t i = first[r]; i != UINT32_MAX; i = next[i]) {
			uint64_t d = feat_hamming(feat_index_code(ix, i),
						  feat_index_code(ix, r), cb);

			fprintf(f, jsonl ? "{\"group\":%" PRIu64 ",\"key\":" : "%" PRIu64 "\t", g);
			put_key(f, ix, i, jsonl);
			fprintf(f, jsonl ? ",\"distance\":%" PRIu64 "}\n" : "\t%" PRIu64 "\n", d);
		}
	}
	free(size);
	free(first);
	free(next);
	free(last);
	return g;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int exit_for(int e)
{
	return e == FEAT_E_IO || e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM : FEAT_EXIT_STREAM;
}

/* The default radius: 11 per 128 bits, rounded down.  On
 * contrib/dupeval.sh's development set (dupset_b seed 1) F1 over pairs
 * peaks at 11 for the 128-bit dedup codes (0.449; 0.460 on held-out seed
 * 2, whose own best is 12: 0.465) and near 5 for 64-bit codes; 32-bit
 * codes keep the 2 that was the default for all. */
static long default_radius(uint32_t bits)
{
	return (long)bits * 11 / 128;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	feat_index *ix = NULL;
	struct feat_pair *pairs;
	size_t np;
	char detail[512];
	FILE *out = stdout;
	struct feat_outfile *file = NULL;
	double t0, t1, t2;
	int e;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	t0 = now();
	for (int i = optind; i < argc || i == optind; i++) {
		const char *path = i < argc ? argv[i] : "-";
		uint64_t skipped = 0;

		if ((e = feat_index_load(&ix, path, &skipped, detail, sizeof detail)))
			feat_die(exit_for(e), "%s", detail);
		if (skipped)
			feat_info("%s: %" PRIu64 " records without a code skipped", path, skipped);
		if (i >= argc)
			break;
	}
	if (!ix && (e = feat_index_new(&ix, 64, 0)))
		feat_die(FEAT_EXIT_SYSTEM, "%s", feat_strerror(e));
	if (o.radius < 0)
		o.radius = default_radius(feat_index_info(ix)->code_bits);
	if (!o.scan) {
		/* the substrings: -m, else what the join at this radius costs
		 * least with (an index file's tables are made again if their
		 * m differs) */
		uint32_t bits = feat_index_info(ix)->code_bits;
		uint32_t m = o.m ? (uint32_t)o.m
				 : feat_index_join_m(bits, feat_index_count(ix), (unsigned)o.radius);

		if (feat_index_retable(ix, m))
			feat_die_usage("--substrings: %ld substrings of %u-bit codes would "
				       "be over %d bits or under 1", o.m, bits, FEAT_INDEX_MAX_SUB);
	}
	if (!o.scan && (e = feat_index_build(ix)))
		feat_die(FEAT_EXIT_SYSTEM, "building the index: %s", feat_strerror(e));
	t1 = now();
	if ((e = feat_index_selfjoin(ix, (unsigned)o.radius,
				     o.scan ? FEAT_SEARCH_SCAN : FEAT_SEARCH_AUTO,
				     (int)o.threads, &pairs, &np)))
		feat_die(FEAT_EXIT_SYSTEM, "self-join: %s", feat_strerror(e));
	t2 = now();
	if (o.output) {
		/* replaced only when complete (feat_cli_create) */
		file = feat_cli_create(o.output);
		if (!(out = file->fp = fdopen(file->fd, "w")))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	}
	if (o.pairs) {
		write_pairs(out, ix, pairs, np, o.jsonl);
		feat_info("%" PRIu64 " records, %zu pairs within %ld; load+index %.3fs, "
			  "join %.3fs (m=%u, %s)", feat_index_count(ix), np, o.radius,
			  t1 - t0, t2 - t1, feat_index_info(ix)->m, feat_popcount_name());
	} else {
		uint64_t n = feat_index_count(ix), g;
		uint32_t *rep = malloc((n ? n : 1) * 4);

		if (!rep || feat_index_group(n, pairs, np, o.cluster, rep))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		g = write_groups(out, ix, rep, o.all, o.jsonl);
		feat_info("%" PRIu64 " records, %zu pairs within %ld, %" PRIu64
			  " groups; load+index %.3fs, join %.3fs (m=%u, %s)", n, np,
			  o.radius, g, t1 - t0, t2 - t1, feat_index_info(ix)->m,
			  feat_popcount_name());
		free(rep);
	}
	if (fflush(out) || ferror(out))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error", o.output ? o.output : "standard output");
	if (file)
		feat_cli_commit(file);
	free(pairs);
	feat_index_free(ix);
	return FEAT_EXIT_OK;
}
