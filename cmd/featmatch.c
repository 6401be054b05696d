/*
 * featmatch - near-duplicate photos by their keypoints (imgkeys): the pairs
 * whose local features match under one similarity transform, then groups
 * joined by such pairs.  The matching is lib/codes/match.c's
 * (feat/match.h); this file reads the streams and writes the pairs or
 * groups in featdedup's formats.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/groups.h"

#define DEFAULT_MIN 21

static const char usage[] =
	"Usage: featmatch [OPTION]... [FILE]...\n"
	"Find near-duplicate photos by their keypoints: every pair of photos\n"
	"whose keypoints (imgkeys) match under one similarity transform, then\n"
	"groups of photos joined by such pairs.  FILE is a featstream written by\n"
	"imgkeys; with no FILE, or when FILE is -, read standard input (- at\n"
	"most once).\n"
	"\n"
	"  -n, --min-matches N  pairs with N or more keypoints matched (default 21:\n"
	"                       the best F1 on re-uploads, see featmatch(1))\n"
	"  -k, --candidates K   photos verified for each photo (default 60)\n"
	"      --tolerance F    a keypoint agrees with the transform within F\n"
	"                       times its size (default 0.05)\n"
	"  -c, --cluster MODE   components (default) or leader, as featdedup\n"
	"  -a, --all            also list photos without a duplicate\n"
	"  -p, --pairs          write the pairs (key, key, matches) instead\n"
	"  -f, --format FMT     tsv (default): group TAB key TAB matches;\n"
	"                       jsonl: {\"group\":..,\"key\":..,\"matches\":..}\n"
	"  -o, --output FILE    write to FILE instead of standard output\n"
	"  -t, --threads N      threads for the verification (default: all CPUs)\n"
	FEAT_CLI_HELP
	"\n"
	"In a group, `matches` is the most keypoints the photo matched with\n"
	"another photo of its group (0 with --all for a photo alone).  Error\n"
	"records are skipped and counted on stderr; an ok record without\n"
	"imgkeys' tensors stops the run (exit 3).\n"
	"\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream, corrupt,\n"
	"or without imgkeys' tensors, 4 read or write error or out of memory.\n";

struct opts {
	struct feat_match_opt m;
	struct feat_cli_groups g;   /* -c, -a, -p, -f */
	const char *output;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "min-matches", required_argument, NULL, 'n' },
		{ "candidates", required_argument, NULL, 'k' },
		{ "tolerance", required_argument, NULL, 0x2001 },
		FEAT_CLI_GROUPS_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	int c;

	o->m.min_inliers = DEFAULT_MIN;
	o->m.threads = nproc < 1 ? 1 : nproc > 64 ? 64 : (int)nproc;
	while ((c = feat_getopt(argc, argv, "n:k:" FEAT_CLI_GROUPS_SHORTOPTS "o:t:j:", lo)) != -1) {
		if (feat_cli_common(c, usage) || feat_cli_groups_opt(&o->g, c, optarg))
			continue;
		switch (c) {
		case 'n': o->m.min_inliers = (unsigned)feat_cli_long("--min-matches", optarg, 2, 100000); break;
		case 'k': o->m.candidates = (unsigned)feat_cli_long("--candidates", optarg, 1, 100000); break;
		case 0x2001: o->m.tol = (float)feat_cli_double("--tolerance", optarg, 0.001, 10); break;
		case 'o': o->output = optarg; break;
		case 'j':
		case 't': o->m.threads = (int)feat_cli_long("--threads", optarg, 1, 64); break;
		}
	}
	feat_cli_groups_check(&o->g);
}

/* Every record of one stream into m; *skipped counts the error records. */
static void load(feat_match *m, const char *path, uint64_t *skipped)
{
	int fd, e;
	feat_reader *rd = feat_cli_open_reader(path, &fd);
	struct feat_rec r;
	char why[256];

	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		struct feat_tensor *k = feat_rec_find(&r, "keys"), *d = feat_rec_find(&r, "kdesc");

		if (r.status != FEAT_ST_OK) {
			++*skipped;
			continue;
		}
		if (!k || !d || k->dtype != FEAT_DT_F32 || k->ndim != 2 ||
		    k->dims[1] != FEAT_KEY_FIELDS || d->dtype != FEAT_DT_U8 || d->ndim != 2 ||
		    d->dims[1] != FEAT_KEY_DESC || d->dims[0] != k->dims[0])
			feat_die(FEAT_EXIT_STREAM, "%s: record '%s': expected imgkeys' keys f32 "
				 "[N,%d] and kdesc u8 [N,%d]", path, r.key, FEAT_KEY_FIELDS,
				 FEAT_KEY_DESC);
		if ((e = feat_match_add(m, r.key, strlen(r.key), k->data, d->data, k->dims[0],
					why, sizeof why)))
			feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s: record '%s': %s", path,
				 r.key, *why ? why : feat_strerror(e));
		if (feat_show_progress)
			feat_progress(feat_match_count(m), feat_reader_bytes(rd), 0);
	}
	if (e < 0)
		feat_cli_stream_fail(rd, e);
	feat_rec_free(&r);
	feat_reader_free(rd);
	if (fd != STDIN_FILENO)
		close(fd);
}

/* Keys, and each photo's most keypoints matched with another photo of its
 * group, for feat_cli_write_groups. */
struct grp {
	const feat_match *m;
	const uint32_t *best;
};

static const char *key_of(const void *ctx, uint32_t i, size_t *n)
{
	return feat_match_key(((const struct grp *)ctx)->m, i, n);
}

static uint64_t best_of(const void *ctx, uint32_t i)
{
	return ((const struct grp *)ctx)->best[i];
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	feat_match *m;
	struct feat_pair *p;
	size_t np;
	uint64_t skipped = 0, n, groups = 0;
	struct feat_outfile *file = NULL;
	FILE *out;
	double t0, t1;
	int e;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_cli_stdin_once(argv + optind, argc - optind);
	if ((e = feat_match_new(&m)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	t0 = now();
	for (int i = optind; i < argc || i == optind; i++) {
		load(m, i < argc ? argv[i] : "-", &skipped);
		if (i >= argc)
			break;
	}
	if (feat_show_progress)
		feat_progress(feat_match_count(m), 0, 1);
	if (skipped)
		feat_warn("%" PRIu64 " error records skipped", skipped);
	feat_cli_repeated_keys(feat_match_count(m), key_of, &(struct grp){ m, NULL });
	if ((e = feat_match_run(m, &o.m, &p, &np)))
		feat_die(FEAT_EXIT_SYSTEM, "matching: %s", feat_strerror(e));
	t1 = now();
	n = feat_match_count(m);
	out = feat_cli_text_open(o.output, &file);
	if (o.g.pairs) {
		for (size_t i = 0; i < np; i++) {
			size_t n1, n2;
			const char *k1 = feat_match_key(m, p[i].a, &n1);
			const char *k2 = feat_match_key(m, p[i].b, &n2);

			feat_cli_put_pair(out, k1, n1, k2, n2, "matches", p[i].dist, o.g.jsonl);
		}
	} else {
		uint32_t *rep = malloc((n ? n : 1) * sizeof *rep);
		uint32_t *best = calloc(n ? n : 1, sizeof *best);

		if (!rep || !best || feat_index_group(n, p, np, o.g.cluster, rep))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		for (size_t i = 0; i < np; i++)
			if (rep[p[i].a] == rep[p[i].b]) {
				if (p[i].dist > best[p[i].a])
					best[p[i].a] = p[i].dist;
				if (p[i].dist > best[p[i].b])
					best[p[i].b] = p[i].dist;
			}
		groups = feat_cli_write_groups(out, n, rep, o.g.all, o.g.jsonl, "matches", key_of,
					       best_of, &(struct grp){ m, best });
		free(rep);
		free(best);
	}
	if (o.g.pairs)
		feat_info("%" PRIu64 " photos, %zu pairs with %u or more matches; %.3fs", n, np,
			  o.m.min_inliers, t1 - t0);
	else
		feat_info("%" PRIu64 " photos, %zu pairs with %u or more matches, %" PRIu64
			  " groups; %.3fs", n, np, o.m.min_inliers, groups, t1 - t0);
	feat_cli_text_close(out, o.output, file);
	free(p);
	feat_match_free(m);
	return FEAT_EXIT_OK;
}
