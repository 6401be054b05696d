/*
 * featdedup - near-duplicate groups among binary codes: every pair within
 * Hamming radius r (exact, by multi-index hashing; lib/codes/mih.c), then groups
 * of records joined by those pairs.
 *
 * Input: featcodes files, featindex files, featstreams or key TAB hex
 * lines, all of one code length, read into one in-memory index.  Output:
 * one line per record of a group (group, key, distance to the group's
 * representative), or with --pairs one line per pair.
 *
 * Records that share a code are taken together first (feat_index_classes):
 * the join sees each code once, so N copies of one photo cost O(N) memory,
 * not the N(N-1)/2 pairs they make.  The pairs of records are written from
 * the pairs of codes and the member lists as they are made, never stored.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/groups.h"

static const char usage[] =
	"Usage: featdedup [OPTION]... [FILE]...\n"
	"Find near-duplicate codes: every pair within Hamming radius R, then\n"
	"groups of records joined by such pairs.  FILE is a featcodes file\n"
	"(featwrite -f bin), a featindex file, a featstream, or key TAB hex lines\n"
	"(featwrite -f tsv --no-status).  With no FILE, or when FILE is -, read\n"
	"standard input (- at most once).\n"
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
	"      --max-pairs N    with --pairs: write nothing and exit 1 when there\n"
	"                       are more than N pairs (N equal codes make\n"
	"                       N(N-1)/2)\n"
	"  -f, --format FMT     tsv (default): group TAB key TAB distance;\n"
	"                       jsonl: {\"group\":..,\"key\":..,\"distance\":..}\n"
	"  -o, --output FILE    write to FILE instead of standard output\n"
	"      --substrings M   substrings of the index (default: the cheapest\n"
	"                       for the count and the radius)\n"
	"  -t, --threads N      threads for the join (default: all CPUs; -j too)\n"
	"      --scan           compare every pair (the brute-force baseline)\n"
	FEAT_CLI_HELP
	"\n"
	"Re-posts that change the frame (a photo on a banner, padded, cropped,\n"
	"its product on a new background) are found far better from the photos'\n"
	"keypoints: imgkeys | featmatch (F1 0.88 against 0.51 for the dedup code\n"
	"on contrib/dupeval.sh's held-out set); featdedup is for codes at scale.\n"
	"\n"
	"Groups are numbered from 1 in the order of their representatives;\n"
	"within a group the representative comes first (distance 0), then the\n"
	"others in input order.  In tsv, TAB, newline, CR and backslash in keys\n"
	"are written as \\t \\n \\r \\\\.\n"
	"\n"
	"Exit status: 0 success, 1 more pairs than --max-pairs, 2 usage,\n"
	"3 input unreadable or corrupt, 4 read or write error or out of memory.\n";

struct opts {
	long radius;
	struct feat_cli_groups g;   /* -c, -a, -p, -f */
	int scan;
	long m, threads, max_pairs;
	const char *output;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "radius", required_argument, NULL, 'r' },
		FEAT_CLI_GROUPS_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "substrings", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 'j' },
		{ "scan", no_argument, NULL, 0x2001 },
		{ "max-pairs", required_argument, NULL, 0x2002 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->radius = -1;  /* from the code width, once it is known */
	o->max_pairs = -1;
	o->threads = sysconf(_SC_NPROCESSORS_ONLN);
	if (o->threads < 1)
		o->threads = 1;
	while ((c = feat_getopt(argc, argv, "r:" FEAT_CLI_GROUPS_SHORTOPTS "o:m:j:t:", lo)) != -1) {
		if (feat_cli_common(c, usage) || feat_cli_groups_opt(&o->g, c, optarg))
			continue;
		switch (c) {
		case 'r': o->radius = feat_cli_long("--radius", optarg, 0, FEAT_INDEX_MAX_BITS); break;
		case 'o': o->output = optarg; break;
		case 'm': o->m = feat_cli_long("--substrings", optarg, 1, FEAT_INDEX_MAX_BITS); break;
		case 'j':
		case 't': o->threads = feat_cli_long("--threads", optarg, 1, 256); break;
		case 0x2001: o->scan = 1; break;
		case 0x2002: o->max_pairs = feat_cli_long("--max-pairs", optarg, 0, LONG_MAX); break;
		}
	}
	feat_cli_groups_check(&o->g);
	if (!o->g.pairs && o->max_pairs >= 0)
		feat_die_usage("--max-pairs applies to --pairs");
}

/* ------------------------------------------------------------ output */


/* The records of class k (with no classes, every record its own). */
static const uint32_t *members(const struct feat_classes *cl, uint32_t k,
	uint32_t *one, uint64_t *len)
{
	if (!cl->mem) {
		*one = k;
		*len = 1;
		return one;
	}
	*len = cl->off[k + 1] - cl->off[k];
	return cl->mem + cl->off[k];
}

/* The record pairs the class pairs stand for: each class's members among
 * themselves, and the product of the members of two joined classes.
 * *largest receives the size of the largest class. */
static uint64_t count_pairs(const struct feat_classes *cl, const struct feat_pair *p,
	size_t np, uint64_t *largest)
{
	uint64_t t = 0, a, b;
	uint32_t x;

	*largest = cl->n ? 1 : 0;
	for (uint64_t k = 0; cl->mem && k < cl->nclass; k++) {
		members(cl, (uint32_t)k, &x, &a);
		t += a * (a - 1) / 2;
		if (a > *largest)
			*largest = a;
	}
	for (size_t i = 0; i < np; i++) {
		members(cl, p[i].a, &x, &a);
		members(cl, p[i].b, &x, &b);
		t += a * b;
	}
	return t;
}

struct nb {
	uint32_t id, dist;
};

static int nb_cmp(const void *x, const void *y)
{
	const struct nb *a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

/* Members of a list (ascending) after record a, appended to v. */
static size_t take_after(struct nb *v, size_t nv, const uint32_t *m, uint64_t len,
	uint32_t a, uint32_t dist)
{
	uint64_t lo = 0, hi = len;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (m[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < len; lo++) {
		v[nv].id = m[lo];
		v[nv++].dist = dist;
	}
	return nv;
}

/*
 * The record pairs, sorted by the first record, then the second, written
 * as they are made: for record a, the later members of its own class
 * (distance 0) and of every class joined to it.  Memory: the classes'
 * adjacency (two entries a pair of classes) and one row of at most n.
 */
static int write_pairs(FILE *f, const feat_index *ix, const struct feat_classes *cl,
	const struct feat_pair *p, size_t np, int jsonl)
{
	uint64_t n = cl->n, nc = cl->mem ? cl->nclass : n;
	uint64_t *aoff = calloc(nc + 1, sizeof *aoff);
	struct nb *adj = malloc((np ? 2 * np : 1) * sizeof *adj);
	struct nb *row = malloc((n ? n : 1) * sizeof *row);

	if (!aoff || !adj || !row) {
		free(aoff);
		free(adj);
		free(row);
		return FEAT_E_NOMEM;
	}
	for (size_t i = 0; i < np; i++) {
		aoff[p[i].a + 1]++;
		aoff[p[i].b + 1]++;
	}
	for (uint64_t k = 0; k < nc; k++)
		aoff[k + 1] += aoff[k];
	for (size_t i = 0; i < np; i++) {
		adj[aoff[p[i].a]++] = (struct nb){ p[i].b, p[i].dist };
		adj[aoff[p[i].b]++] = (struct nb){ p[i].a, p[i].dist };
	}
	/* the fill moved each start to the next one's: shift back */
	for (uint64_t k = nc; k > 0; k--)
		aoff[k] = aoff[k - 1];
	aoff[0] = 0;
	for (uint64_t a = 0; a < n && !ferror(f); a++) {
		uint32_t k = cl->mem ? cl->cls[a] : (uint32_t)a, one;
		uint64_t len;
		const uint32_t *m = members(cl, k, &one, &len);
		size_t nv = take_after(row, 0, m, len, (uint32_t)a, 0);
		int lists = nv > 0;

		for (uint64_t j = aoff[k]; j < aoff[k + 1]; j++) {
			size_t before = nv;

			m = members(cl, adj[j].id, &one, &len);
			nv = take_after(row, nv, m, len, (uint32_t)a, adj[j].dist);
			lists += nv > before;
		}
		if (lists > 1)
			qsort(row, nv, sizeof *row, nb_cmp);
		for (size_t i = 0; i < nv; i++) {
			size_t n1, n2;
			const char *k1 = feat_index_key(ix, (uint32_t)a, &n1);
			const char *k2 = feat_index_key(ix, row[i].id, &n2);

			feat_cli_put_pair(f, k1, n1, k2, n2, "distance", row[i].dist, jsonl);
		}
	}
	free(aoff);
	free(adj);
	free(row);
	return 0;
}

/* Keys and distances to the representative, for feat_cli_write_groups. */
struct grp {
	const feat_index *ix;
	const uint32_t *rep;
	size_t cb;
};

static const char *key_of(const void *ctx, uint32_t i, size_t *n)
{
	return feat_index_key(((const struct grp *)ctx)->ix, i, n);
}

static uint64_t dist_to_rep(const void *ctx, uint32_t i)
{
	const struct grp *g = ctx;

	return feat_hamming(feat_index_code(g->ix, i), feat_index_code(g->ix, g->rep[i]), g->cb);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}


/* The index the join sees: one record a class, or ix itself when every
 * code differs (cl is then emptied: every record its own class). */
static feat_index *join_set(feat_index *ix, struct feat_classes *cl)
{
	feat_index *d;
	int e;

	if ((e = feat_index_classes(ix, cl)))
		feat_die(FEAT_EXIT_SYSTEM, "grouping equal codes: %s", feat_strerror(e));
	if (cl->nclass == cl->n) {
		uint64_t n = cl->n;

		feat_classes_free(cl);
		cl->n = cl->nclass = n;
		return ix;
	}
	if ((e = feat_index_new(&d, feat_index_info(ix)->code_bits, 0)))
		feat_die(FEAT_EXIT_SYSTEM, "%s", feat_strerror(e));
	for (uint64_t k = 0; k < cl->nclass; k++)
		if ((e = feat_index_add(d, feat_index_code(ix, cl->mem[cl->off[k]]), "", 0)))
			feat_die(FEAT_EXIT_SYSTEM, "%s", feat_strerror(e));
	return d;
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
	feat_index *ix = NULL, *jx;
	struct feat_classes cl;
	struct feat_pair *pairs;
	size_t np;
	char detail[512];
	FILE *out = stdout;
	struct feat_outfile *file = NULL;
	double t0, t1, t2;
	int e;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_cli_stdin_once(argv + optind, argc - optind);
	t0 = now();
	for (int i = optind; i < argc || i == optind; i++) {
		const char *path = i < argc ? argv[i] : "-";
		uint64_t skipped = 0;

		e = ix ? feat_index_add_file(ix, path, &skipped, detail, sizeof detail)
		       : feat_index_load(&ix, path, &skipped, detail, sizeof detail);
		if (e)
			feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
		if (skipped)
			feat_warn("%s: %" PRIu64 " records skipped (error records, or without a code)",
				  path, skipped);
		if (i >= argc)
			break;
	}
	/* (ix is set: a load that finds no code at all fails above, so an
	 * input without codes is exit 3, not an empty set of 64-bit codes) */
	feat_cli_index_repeated_keys(ix);
	if (o.radius < 0)
		o.radius = default_radius(feat_index_info(ix)->code_bits);
	jx = join_set(ix, &cl);
	if (!o.scan) {
		/* the substrings: -m, else what the join at this radius costs
		 * least with (an index file's tables are made again if their
		 * m differs) */
		uint32_t bits = feat_index_info(jx)->code_bits;
		uint32_t m = o.m ? (uint32_t)o.m
				 : feat_index_join_m(bits, feat_index_count(jx), (unsigned)o.radius);

		if (feat_index_retable(jx, m))
			feat_die_usage("--substrings: %ld substrings of %u-bit codes would "
				       "be over %d bits or under 1", o.m, bits, FEAT_INDEX_MAX_SUB);
	}
	if (!o.scan && (e = feat_index_build(jx)))
		feat_die(FEAT_EXIT_SYSTEM, "building the index: %s", feat_strerror(e));
	t1 = now();
	if ((e = feat_index_selfjoin(jx, (unsigned)o.radius,
				     o.scan ? FEAT_SEARCH_SCAN : FEAT_SEARCH_AUTO,
				     (int)o.threads, &pairs, &np)))
		feat_die(FEAT_EXIT_SYSTEM, "self-join: %s", feat_strerror(e));
	t2 = now();
	if (o.g.pairs) {
		uint64_t largest, total = count_pairs(&cl, pairs, np, &largest);

		feat_info("%" PRIu64 " records, %" PRIu64 " distinct codes, %" PRIu64
			  " pairs within %ld; load+index %.3fs, join %.3fs (m=%u, %s)",
			  cl.n, cl.nclass, total, o.radius, t1 - t0, t2 - t1,
			  feat_index_info(jx)->m, feat_popcount_name());
		if (o.max_pairs >= 0 && total > (uint64_t)o.max_pairs)
			feat_die(FEAT_EXIT_RECORDS, "%" PRIu64 " pairs within %ld, over "
				 "--max-pairs %ld (the most records sharing one code: %"
				 PRIu64 "); nothing written", total, o.radius, o.max_pairs,
				 largest);
		out = feat_cli_text_open(o.output, &file);
		if ((e = write_pairs(out, ix, &cl, pairs, np, o.g.jsonl)))
			feat_die(FEAT_EXIT_SYSTEM, "%s", feat_strerror(e));
	} else {
		uint64_t n = cl.n, g;
		struct grp ctx;
		uint32_t *rep = malloc((n ? n : 1) * 4);
		uint32_t *repc = cl.mem ? malloc((cl.nclass ? cl.nclass : 1) * 4) : rep;

		if (!rep || !repc || feat_index_group(cl.nclass, pairs, np, o.g.cluster, repc))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		/* a record's representative: the first record of its class's */
		for (uint64_t i = 0; cl.mem && i < n; i++)
			rep[i] = cl.mem[cl.off[repc[cl.cls[i]]]];
		out = feat_cli_text_open(o.output, &file);
		ctx = (struct grp){ ix, rep, feat_index_info(ix)->code_stride };
		g = feat_cli_write_groups(out, n, rep, o.g.all, o.g.jsonl, "distance", key_of,
					  dist_to_rep, &ctx);
		feat_info("%" PRIu64 " records, %" PRIu64 " distinct codes, %zu pairs of "
			  "codes within %ld, %" PRIu64 " groups; load+index %.3fs, join %.3fs "
			  "(m=%u, %s)", n, cl.nclass, np, o.radius, g, t1 - t0, t2 - t1,
			  feat_index_info(jx)->m, feat_popcount_name());
		if (repc != rep)
			free(repc);
		free(rep);
	}
	feat_cli_text_close(out, o.output, file);
	free(pairs);
	feat_classes_free(&cl);
	if (jx != ix)
		feat_index_free(jx);
	feat_index_free(ix);
	return FEAT_EXIT_OK;
}
