/*
 * cropbox - cut the main object out of each record's original `image`:
 * the first of its detections (`dets`, from ssd-detect, which writes the
 * main item's box first) by default, or the first N as records of their
 * own.  A record with no box kept falls back to
 * the whole image (marked so in `crop`), or becomes an error with
 * --strict.  The next imgprep prepares the crop for the descriptor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: cropbox [OPTION]...\n"
	"Read a featstream on standard input; replace each record's `image` by\n"
	"the crop of its main detection in `dets` (the first row kept: ssd-detect\n"
	"writes the main item's box first; the whole image when there is none),\n"
	"record where in `crop`, and write the stream on standard output.\n"
	"\n"
	"      --class LIST     only boxes of these classes: numbers, or names\n"
	"                       with -m or --labels (comma-separated)\n"
	"  -m, --model MODEL    class names from the model's metadata `labels`\n"
	"      --labels FILE    class names from FILE, one a line (line 0: label 0)\n"
	"      --min-score S    ignore boxes scoring under S (default 0)\n"
	"      --min-size PX    ignore boxes narrower or lower than PX pixels\n"
	"      --margin F       add F times the box's width (height) on each side\n"
	"                       (default 0.1, as the descriptor was trained)\n"
	"      --margin Npx     and N pixels (default 0)\n"
	"      --square         grow the short side to the long one\n"
	"      --top N          write the first N boxes as records KEY#1..KEY#N\n"
	"      --strict         no box: an error record instead of the whole image\n"
	"      --keep-dets      keep `dets` (in the pixels of the uncropped image)\n"
	FEAT_CLI_HELP
	"\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream or corrupt,\n"
	"4 read or write error, a model or labels file that cannot be read.\n";

struct opts {
	struct feat_crop_opts crop;
	const char *classes, *model, *labels;
	int top, strict, keep_dets;
};

static void parse_margin(const char *arg, struct opts *o)
{
	size_t n = strlen(arg);
	char buf[64];

	if (n > 2 && n < sizeof buf && !strcmp(arg + n - 2, "px")) {
		memcpy(buf, arg, n - 2);
		buf[n - 2] = 0;
		o->crop.margin_px = feat_cli_double("--margin", buf, 0, 1e6);
	} else {
		o->crop.margin_frac = feat_cli_double("--margin", arg, 0, 100);
	}
}

/* Class names for --class, from -m or --labels; a file that cannot be
 * read stops the run (exit 4), a bad one too (exit 3). */
static void class_list(struct opts *o)
{
	struct feat_labels l = { 0 }, *lp = NULL;
	char path[4096], why[512];
	int *v, n, e = 0;

	if (o->model) {
		if (feat_cli_model_path(o->model, path, sizeof path, why, sizeof why))
			feat_die(FEAT_EXIT_SYSTEM, "%s", why);
		e = feat_labels_model(&l, path, why, sizeof why);
	} else if (o->labels) {
		e = feat_labels_load(&l, o->labels, why, sizeof why);
	}
	if (e)
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", why);
	if (o->model || o->labels)
		lp = &l;
	if (!o->classes) {  /* -m alone, as a pipeline passes it to every stage */
		feat_labels_free(&l);
		return;
	}
	if ((n = feat_class_list(o->classes, lp, &v, why, sizeof why)) < 0) {
		if (n == FEAT_E_NOMEM)
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		feat_die_usage("--class: %s", why);
	}
	o->crop.classes = v;
	o->crop.nclasses = n;
	feat_labels_free(&l);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "class", required_argument, NULL, 0x2001 },
		{ "model", required_argument, NULL, 'm' },
		{ "labels", required_argument, NULL, 0x2002 },
		{ "min-score", required_argument, NULL, 0x2003 },
		{ "min-size", required_argument, NULL, 0x2004 },
		{ "margin", required_argument, NULL, 0x2005 },
		{ "square", no_argument, NULL, 0x2006 },
		{ "top", required_argument, NULL, 0x2007 },
		{ "strict", no_argument, NULL, 0x2008 },
		{ "keep-dets", no_argument, NULL, 0x2009 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = feat_getopt(argc, argv, "m:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 0x2001: o->classes = optarg; break;
		case 'm': o->model = optarg; break;
		case 0x2002: o->labels = optarg; break;
		case 0x2003: o->crop.min_score = (float)feat_cli_double("--min-score", optarg, -1e30, 1e30); break;
		case 0x2004: o->crop.min_size = feat_cli_double("--min-size", optarg, 0, 1e9); break;
		case 0x2005: parse_margin(optarg, o); break;
		case 0x2006: o->crop.square = 1; break;
		case 0x2007: o->top = (int)feat_cli_long("--top", optarg, 1, 100000); break;
		case 0x2008: o->strict = 1; break;
		case 0x2009: o->keep_dets = 1; break;
		}
	}
	if (optind < argc)
		feat_die_usage("unexpected argument '%s' (cropbox reads standard input)",
			       argv[optind]);
	if (o->model && o->labels)
		feat_die_usage("give -m MODEL or --labels FILE, not both");
	if (o->classes || o->model || o->labels)
		class_list(o);
}

/* State of the loop: the writer, and buffers reused from record to record. */
struct run {
	const struct opts *o;
	feat_writer *w;
	struct feat_rec copy;
	struct feat_box *boxes;
	int cap;
	char *key;
	size_t keycap;
};

static void put(struct run *s, struct feat_rec *r)
{
	int e = feat_writer_put(s->w, r);

	if (e < 0)
		feat_cli_write_fail(s->w, e);
}

/* Mark r as failed; only memory stops the run. */
static void fail(struct feat_rec *r, const char *why)
{
	if (feat_rec_set_error(r, "cropbox: %s", why) == FEAT_E_NOMEM)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
}

static void apply(struct feat_rec *r, const int rect[4], float score, float label,
	const struct opts *o)
{
	char why[256];
	int e = feat_crop_apply(r, rect, score, label, o->keep_dets, why, sizeof why);

	if (e == FEAT_E_NOMEM)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	if (e)
		fail(r, why);
}

/* KEY#i as the key of r (an error record when it would be too long). */
static void suffix_key(struct run *s, struct feat_rec *r, const char *key, int i)
{
	size_t n = strlen(key) + 16;

	if (n > s->keycap) {
		free(s->key);
		if (!(s->key = malloc(n)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		s->keycap = n;
	}
	snprintf(s->key, n, "%s#%d", key, i);
	if (feat_rec_set_key(r, s->key) == FEAT_E_NOMEM)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	else if (strcmp(r->key, s->key))
		fail(r, "the key is too long to number the crop");
}

/* One ok record: its crops (or fallback, or error) written in order. */
static void work(struct run *s, struct feat_rec *r)
{
	const struct opts *o = s->o;
	const float *dets;
	int w, h, n, nb, rect[4];
	char why[512];

	if (feat_crop_inputs(r, &w, &h, &dets, &n, why, sizeof why)) {
		fail(r, why);
		put(s, r);
		return;
	}
	if (n > s->cap) {
		free(s->boxes);
		if (!(s->boxes = malloc((size_t)n * sizeof *s->boxes)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		s->cap = n;
	}
	nb = feat_crop_boxes(dets, n, w, h, &o->crop, s->boxes);
	if (!nb) {
		if (o->strict) {
			if (dets)
				snprintf(why, sizeof why, "no box to crop (%d detection%s, none kept)",
					 n, n == 1 ? "" : "s");
			else
				snprintf(why, sizeof why, "no box to crop (no 'dets' tensor: run ssd-detect first)");
			fail(r, why);
		} else {
			rect[0] = rect[1] = 0;
			rect[2] = w;
			rect[3] = h;
			apply(r, rect, FEAT_CROP_FALLBACK, FEAT_CROP_FALLBACK, o);
			if (o->top && r->status == FEAT_ST_OK)
				suffix_key(s, r, r->key, 1);
		}
		put(s, r);
		return;
	}
	if (!o->top) {
		feat_crop_rect(&s->boxes[0], w, h, &o->crop, rect);
		apply(r, rect, s->boxes[0].score, s->boxes[0].label, o);
		put(s, r);
		return;
	}
	for (int i = 0; i < nb && i < o->top; i++) {
		if (feat_rec_copy(&s->copy, r))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		feat_crop_rect(&s->boxes[i], w, h, &o->crop, rect);
		apply(&s->copy, rect, s->boxes[i].score, s->boxes[i].label, o);
		suffix_key(s, &s->copy, r->key, i + 1);
		put(s, &s->copy);
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .crop.margin_frac = FEAT_CROP_DEFAULT_MARGIN };
	struct run s = { &o, NULL, { 0 }, NULL, 0, NULL, 0 };
	struct feat_rec r;
	feat_reader *rd;
	int e;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_cli_binary_stdout();
	feat_reader_new(&rd, STDIN_FILENO, "standard input", NULL);
	feat_writer_new(&s.w, STDOUT_FILENO, "standard output");
	if (!rd || !s.w)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	feat_rec_init(&r);
	feat_rec_init(&s.copy);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		if (r.status == FEAT_ST_OK)
			work(&s, &r);
		else
			put(&s, &r);
		feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 0);
	}
	if (e < 0) {
		feat_writer_flush(s.w);
		feat_cli_stream_fail(rd, e);
	}
	if ((e = feat_writer_end(s.w)) < 0)
		feat_cli_write_fail(s.w, e);
	feat_writer_free(s.w);
	feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 1);
	feat_reader_free(rd);
	feat_rec_free(&r);
	feat_rec_free(&s.copy);
	free(s.boxes);
	free(s.key);
	free((void *)o.crop.classes);
	return FEAT_EXIT_OK;
}
