/*
 * featsearch - the nearest codes, or all codes within a radius, for query
 * codes against a database: a featindex file (mapped, used in place) or
 * any file featdedup reads (indexed in memory first).  Exact, by
 * multi-index hashing (lib/codes/mih.c).  A query may also be a photo
 * (--image), coded here by libfeat's photo-to-code API (feat_coder(3)),
 * which gives the pipeline's codes bit for bit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/groups.h"

static const char usage[] =
	"Usage: featsearch [OPTION]... DB [QUERY]...\n"
	"  or:  featsearch [OPTION]... --image PHOTO... DB\n"
	"Search DB for the codes nearest each query code (in Hamming distance).\n"
	"DB is a featindex file (featindex build), a featcodes file (featwrite\n"
	"-f bin), a featstream, or key TAB hex lines.  A QUERY is a code in hex,\n"
	"or a file of any of those kinds (- for standard input); with no QUERY,\n"
	"read standard input.\n"
	"\n"
	"  -i, --image PHOTO    a query photo (JPEG, PNG), coded as the pipeline\n"
	"                       codes it: decode, detect, crop, describe (may be\n"
	"                       repeated; no QUERY then means no other query)\n"
	"  -m, --model M        --image: the descriptor (default: the shipped one\n"
	"                       whose codes have DB's width: deepbit for 64 bits,\n"
	"                       dedup for 128, deepbit32 for 32)\n"
	"      --detector D     --image: the detector whose best box is described\n"
	"                       (default ssd; none: the whole photo, the default\n"
	"                       with dedup)\n"
	"  -k, --nearest K      the K nearest codes (default 10)\n"
	"  -r, --radius R       every code at distance R or less instead\n"
	"  -f, --format FMT     tsv (default): query TAB key TAB distance;\n"
	"                       jsonl: {\"query\":..,\"key\":..,\"distance\":..}\n"
	"  -o, --output FILE    write to FILE instead of standard output\n"
	"      --substrings M   substrings when DB is indexed here (default:\n"
	"                       from the count; -m M, a number, too)\n"
	"      --scan           compare with every code (the brute-force baseline)\n"
	FEAT_CLI_HELP
	"\n"
	"Results of a query are sorted by distance, then by their order in DB.\n"
	"A query given in hex is named by its hex.  In tsv, TAB, newline, CR and\n"
	"backslash in keys are written as \\t \\n \\r \\\\.\n"
	"\n"
	"Exit status: 0 success, 1 a query photo could not be coded (one line\n"
	"each on stderr; the other queries are answered), 2 usage, 3 input\n"
	"unreadable or corrupt, 4 read or write error or out of memory.\n";

struct opts {
	long k, radius, m;
	int use_radius, jsonl, scan;
	const char *output;
	const char **images;
	int nimages;
	const char *model, *detector;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "nearest", required_argument, NULL, 'k' },
		{ "radius", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "substrings", required_argument, NULL, 0x2004 },
		{ "scan", no_argument, NULL, 0x2001 },
		{ "image", required_argument, NULL, 'i' },
		{ "model", required_argument, NULL, 0x2002 },
		{ "detector", required_argument, NULL, 0x2003 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c, kset = 0;

	o->k = 10;
	if (!(o->images = calloc((size_t)argc, sizeof *o->images)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	while ((c = feat_getopt(argc, argv, "k:r:f:o:m:i:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'k': o->k = feat_cli_long("--nearest", optarg, 1, 1L << 30); kset = 1; break;
		case 'r':
			o->radius = feat_cli_long("--radius", optarg, 0, FEAT_INDEX_MAX_BITS);
			o->use_radius = 1;
			break;
		case 'f': o->jsonl = feat_cli_format(optarg); break;
		case 'o': o->output = optarg; break;
		case 'm':
			/* -m is a model in every program; a number is --substrings,
			 * as -m meant here before --image */
			if (optarg[0] && strspn(optarg, "0123456789") == strlen(optarg)) {
				o->m = feat_cli_long("--substrings", optarg, 1, FEAT_INDEX_MAX_BITS);
				break;
			}
			/* fall through */
		case 0x2002: o->model = optarg; break;
		case 0x2004: o->m = feat_cli_long("--substrings", optarg, 1, FEAT_INDEX_MAX_BITS); break;
		case 0x2001: o->scan = 1; break;
		case 'i': o->images[o->nimages++] = optarg; break;
		case 0x2003: o->detector = optarg; break;
		}
	}
	if (kset && o->use_radius)
		feat_die_usage("-k and -r exclude each other");
	if (optind == argc)
		feat_die_usage("no database given");
	/* standard input is read once: as the database or as the queries
	 * (no QUERY and no --image means the queries come from it) */
	if (!strcmp(argv[optind], "-") && optind + 1 == argc && !o->nimages)
		feat_die_usage("the database is standard input (-), which is where the queries "
			       "would come from: give them as QUERY");
	feat_cli_stdin_once(argv + optind, argc - optind);
	if ((o->model || o->detector) && !o->nimages)
		feat_die_usage("--model and --detector apply to --image queries");
}




/* The database: a featindex file mapped as it is, anything else indexed. */
static feat_index *open_db(const char *path, const struct opts *o)
{
	unsigned char magic[8] = { 0 };
	char detail[512];
	feat_index *ix = NULL;
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : NULL;
	int e, isindex;

	if (strcmp(path, "-") && !f)
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", path, strerror(errno));
	isindex = f && fread(magic, 1, 8, f) == 8 && !memcmp(magic, FEAT_INDEX_MAGIC, 8);
	if (f)
		fclose(f);
	if (isindex) {
		if ((e = feat_index_open(&ix, path, detail, sizeof detail)))
			feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
		return ix;
	}
	if (o->m) {
		/* the substrings are fixed before the first record */
		unsigned char *code;
		feat_index *tmp = NULL;

		if ((e = feat_index_load(&tmp, path, NULL, detail, sizeof detail)))
			feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
		if (feat_index_new(&ix, feat_index_info(tmp)->code_bits, (uint32_t)o->m))
			feat_die_usage("--substrings: %ld substrings of %u-bit codes would be "
				       "over %d bits or under 1", o->m,
				       feat_index_info(tmp)->code_bits, FEAT_INDEX_MAX_SUB);
		for (uint64_t i = 0; i < feat_index_count(tmp); i++) {
			size_t kl;
			const char *k = feat_index_key(tmp, i, &kl);

			code = (unsigned char *)feat_index_code(tmp, i);
			if ((e = feat_index_add(ix, code, k, kl)))
				feat_die(FEAT_EXIT_SYSTEM, "%s", feat_strerror(e));
		}
		feat_index_free(tmp);
	} else if ((e = feat_index_load(&ix, path, NULL, detail, sizeof detail))) {
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
	}
	/* (a featindex file is mapped as it is: featindex said when it
	 * made it) */
	feat_cli_index_repeated_keys(ix);
	if (!o->scan && (e = feat_index_build(ix)))
		feat_die(FEAT_EXIT_SYSTEM, "indexing %s: %s", path, feat_strerror(e));
	return ix;
}

static void search_one(FILE *out, const feat_index *db, const uint8_t *q,
	const char *qname, size_t qlen, const struct opts *o, struct feat_hits *h)
{
	int mode = o->scan ? FEAT_SEARCH_SCAN : FEAT_SEARCH_AUTO, e;

	e = o->use_radius ? feat_index_radius(db, q, (unsigned)o->radius, mode, h)
			  : feat_index_knn(db, q, (unsigned)o->k, mode, h);
	if (e)
		feat_die(FEAT_EXIT_SYSTEM, "search: %s", feat_strerror(e));
	for (size_t i = 0; i < h->n; i++) {
		size_t kl;
		const char *k = feat_index_key(db, h->v[i].id, &kl);

		fputs(o->jsonl ? "{\"query\":" : "", out);
		feat_cli_put_key(out, qname, qlen, o->jsonl);
		fputs(o->jsonl ? ",\"key\":" : "\t", out);
		feat_cli_put_key(out, k, kl, o->jsonl);
		fprintf(out, o->jsonl ? ",\"distance\":%" PRIu32 "}\n" : "\t%" PRIu32 "\n",
			h->v[i].dist);
	}
}

/*
 * The shipped pipelines, by code width: what `featsearch --image` runs
 * when --model is not given, so that a photo is coded as the codes of an
 * index of that width were (README: the default pipeline, and the dedup
 * one on whole photos).
 */
static const struct { uint32_t bits; const char *model, *detector; } shipped[] = {
	{ 64, "deepbit", "ssd" },
	{ 128, "dedup", NULL },
	{ 32, "deepbit32", "ssd" },
};

/* Code each --image photo and search for it; returns the count of photos
 * that could not be coded (each named on stderr). */
static int search_images(FILE *out, const feat_index *db, const struct opts *o,
	struct feat_hits *h)
{
	uint32_t bits = feat_index_info(db)->code_bits;
	const char *model = o->model, *det = o->detector;
	struct feat_coder_opts co;
	feat_coder *coder = NULL;
	unsigned char *buf = NULL;
	size_t cap = 0;
	char why[512];
	int bad = 0, e;

	if (!model) {
		for (size_t i = 0; i < sizeof shipped / sizeof *shipped && !model; i++)
			if (shipped[i].bits == bits) {
				model = shipped[i].model;
				if (!det)
					det = shipped[i].detector;
			}
		if (!model)
			feat_die_usage("--image: the database holds %u-bit codes, which no "
				       "shipped descriptor gives: name the one it was built "
				       "with (--model, --detector)", bits);
	} else if (!det) {
		det = "ssd";
	}
	if (det && !strcmp(det, "none"))
		det = NULL;
	feat_coder_opts_init(&co);
	co.detector = det;
	co.descriptor = model;
	if ((e = feat_coder_open(&coder, &co, why, sizeof why)))
		feat_die(feat_cli_model_exit(e), "%s", why);
	if (feat_coder_bits(coder) != bits)
		feat_die_usage("--image: %s gives %u-bit codes; the database holds %u-bit "
			       "ones (give the --model it was built with)", model,
			       feat_coder_bits(coder), bits);
	feat_info("--image: detector %s, descriptor %s", det ? det : "none", model);
	for (int i = 0; i < o->nimages; i++) {
		uint8_t q[FEAT_INDEX_MAX_BITS / 8] = { 0 };
		size_t len;

		e = feat_file_load(o->images[i], 0, 0, &buf, &cap, &len, why, sizeof why);
		if (!e)
			e = feat_coder_photo(coder, buf, len, q, NULL, why, sizeof why);
		if (e == FEAT_E_NOMEM)
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		if (e) {
			feat_error("%s: %s", o->images[i], why);
			bad++;
			continue;
		}
		search_one(out, db, q, o->images[i], strlen(o->images[i]), o, h);
	}
	free(buf);
	feat_coder_free(coder);
	return bad;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct feat_hits h = { 0 };
	feat_index *db;
	FILE *out = stdout;
	struct feat_outfile *file = NULL;
	uint32_t bits;
	int first, bad = 0;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	db = open_db(argv[optind], &o);
	bits = feat_index_info(db)->code_bits;
	first = optind + 1;
	out = feat_cli_text_open(o.output, &file);   /* replaced only when complete */
	if (o.nimages)
		bad = search_images(out, db, &o, &h);
	for (int i = first; i < argc || (i == first && !o.nimages); i++) {
		const char *arg = i < argc ? argv[i] : "-";
		size_t al = strlen(arg);
		uint8_t code[FEAT_INDEX_MAX_BITS / 8];
		char detail[512];
		feat_index *qs = NULL;
		int e;

		if (strcmp(arg, "-") && access(arg, F_OK) && al == (bits + 7) / 8 * 2 &&
		    feat_hex_decode(arg, al, code, sizeof code) >= 0) {
			uint8_t q[FEAT_INDEX_MAX_BITS / 8] = { 0 };

			memcpy(q, code, al / 2);
			if (bits % 8)
				q[al / 2 - 1] &= (uint8_t)(0xff << (8 - bits % 8));
			search_one(out, db, q, arg, al, &o, &h);
		} else {
			if (strcmp(arg, "-") && access(arg, F_OK))
				feat_die_usage("%s: no such file, and not a %u-bit code in hex "
					       "(%u hex digits)", arg, bits, (bits + 7) / 8 * 2);
			/* into a set of the database's width: a tsv line's
			 * width is then the database's (70 bits in 9 bytes),
			 * and a file of no codes (every photo failed) asks
			 * nothing */
			uint64_t skipped = 0;

			if ((e = feat_index_new(&qs, bits, 0)))
				feat_die(FEAT_EXIT_SYSTEM, "%s", feat_strerror(e));
			if ((e = feat_index_add_file(qs, arg, &skipped, detail, sizeof detail))) {
				if (e == FEAT_E_RANGE)
					feat_die(FEAT_EXIT_STREAM, "%s: query codes of another width than "
						 "the database's %u bits (%s)", arg, bits, detail);
				feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
			}
			if (skipped)
				feat_warn("%s: %" PRIu64 " records skipped (error records, or without a "
					  "code): not asked", arg, skipped);
			for (uint64_t j = 0; j < feat_index_count(qs); j++) {
				size_t kl;
				const char *k = feat_index_key(qs, j, &kl);

				search_one(out, db, feat_index_code(qs, j), k, kl, &o, &h);
			}
			feat_index_free(qs);
		}
		if (i >= argc)
			break;
	}
	feat_cli_text_close(out, o.output, file);
	feat_hits_free(&h);
	feat_index_free(db);
	free(o.images);
	return bad ? FEAT_EXIT_RECORDS : FEAT_EXIT_OK;
}
