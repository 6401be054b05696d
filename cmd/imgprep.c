/*
 * imgprep - turn each record's decoded `image` into a network `input`
 * (resized, fitted, channel order, mean and scale) and its `xform`.
 *
 * Options start from a model's metadata (-m MODEL, or --for NAME: the
 * shipped model NAME, or one of the built-in classic presets) and the
 * options given explicitly then override it, whatever their order on the
 * command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: imgprep [OPTION]...\n"
	"Read a featstream on standard input; for each record make the network\n"
	"input `input` (f32 [C, H, W]) and `xform` from its `image`, and write\n"
	"the stream on standard output.\n"
	"\n"
	"  -m, --model MODEL    take size, channel order, mean, scale and fit from\n"
	"                       the metadata of MODEL (a path or a model name)\n"
	"      --for NAME       the same for a model name: ssd and deepbit are the\n"
	"                       shipped detector and descriptor; ssd300 and vgg224\n"
	"                       are built in (300x300 or 224x224, stretch, BGR,\n"
	"                       mean 104,117,123, scale 1: classic Caffe SSD300, VGG16)\n"
	"  -s, --size WxH       input width and height (or -W N, -H N)\n"
	"      --fit HOW        stretch (default), letterbox or crop\n"
	"      --rgb, --bgr, --gray  output channel order (default RGB); gray is one\n"
	"                       channel, 0.299 R + 0.587 G + 0.114 B\n"
	"      --mean A[,B,C]   subtracted per output channel (default 0)\n"
	"      --scale A[,B,C]  multiplied after the mean (default 1)\n"
	"      --pad A[,B,C]    letterbox padding in pixel units 0..255 (default 0)\n"
	"      --resize HOW     auto (default), bilinear, area or nearest\n"
	"      --drop-image     remove `image` from the records\n"
	FEAT_CLI_HELP
	"\n"
	"Explicit options override the model's values.  Triples are in output\n"
	"channel order: out = (pixel - mean) * scale (gray: the first value).\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream or corrupt, or\n"
	"the model lacks a setting, 4 read or write error, model not found, or out\n"
	"of memory.\n";

/* Which fields were given explicitly. */
enum {
	SET_W = 1 << 0, SET_H = 1 << 1, SET_FIT = 1 << 2, SET_BGR = 1 << 3,
	SET_MEAN = 1 << 4, SET_SCALE = 1 << 5, SET_PAD = 1 << 6,
	SET_RESIZE = 1 << 7, SET_DROP = 1 << 8,
};

struct opts {
	const char *preset;            /* --for */
	const char *model;             /* -m */
	struct feat_prep_opts given;   /* explicit values, per the set mask */
	unsigned set;
	struct feat_prep_opts prep;    /* the result */
};

static int word(const char *opt, const char *arg, const char *const *names)
{
	char known[128] = "";

	for (int i = 0; names[i]; i++) {
		if (!strcmp(arg, names[i]))
			return i;
		snprintf(known + strlen(known), sizeof known - strlen(known),
			 "%s%s", i ? ", " : "", names[i]);
	}
	feat_die_usage("%s: unknown value '%s' (known: %s)", opt, arg, known);
}

static void parse_size(const char *arg, struct opts *o)
{
	char *x = strchr(arg, 'x');
	char w[32];

	if (!x || (size_t)(x - arg) >= sizeof w)
		feat_die_usage("--size: expected WxH, e.g. 300x300, got '%s'", arg);
	memcpy(w, arg, (size_t)(x - arg));
	w[x - arg] = 0;
	o->given.width = (int)feat_cli_long("--size", w, 1, 16384);
	o->given.height = (int)feat_cli_long("--size", x + 1, 1, 16384);
	o->set |= SET_W | SET_H;
}

/*
 * The base values from a model's metadata.  A model that cannot be found
 * or read stops the run (exit 4); one that lacks a value imgprep needs and
 * the command line does not give, too (exit 3).
 */
static void from_model(const char *name, unsigned set, struct feat_prep_opts *p)
{
	char path[4096], why[512];
	unsigned given = 0;
	int e;

	if (feat_cli_model_path(name, path, sizeof path, why, sizeof why))
		feat_die(FEAT_EXIT_SYSTEM, "%s", why);
	if ((set & SET_W) && (set & SET_H))
		given |= FEAT_PREP_SET_SIZE;
	if (set & SET_BGR)
		given |= FEAT_PREP_SET_ORDER;
	if (set & SET_MEAN)
		given |= FEAT_PREP_SET_MEAN;
	if (set & SET_SCALE)
		given |= FEAT_PREP_SET_SCALE;
	if (set & SET_FIT)
		given |= FEAT_PREP_SET_FIT;
	if ((e = feat_prep_model(p, given, path, why, sizeof why)))
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", why);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const char *const fits[] = { "stretch", "letterbox", "crop", NULL };
	static const char *const methods[] = { "auto", "bilinear", "area", "nearest", NULL };
	static const struct option lo[] = {
		{ "for", required_argument, NULL, 0x2001 },
		{ "model", required_argument, NULL, 'm' },
		{ "gray", no_argument, NULL, 0x200a },
		{ "grey", no_argument, NULL, 0x200a },
		{ "size", required_argument, NULL, 's' },
		{ "width", required_argument, NULL, 'W' },
		{ "height", required_argument, NULL, 'H' },
		{ "fit", required_argument, NULL, 0x2002 },
		{ "rgb", no_argument, NULL, 0x2003 },
		{ "bgr", no_argument, NULL, 0x2004 },
		{ "mean", required_argument, NULL, 0x2005 },
		{ "scale", required_argument, NULL, 0x2006 },
		{ "pad", required_argument, NULL, 0x2007 },
		{ "resize", required_argument, NULL, 0x2008 },
		{ "drop-image", no_argument, NULL, 0x2009 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct feat_prep_opts *g = &o->given, *p = &o->prep;
	char why[256];
	int c;

	while ((c = feat_getopt(argc, argv, "m:s:W:H:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 0x2001: o->preset = optarg; break;
		case 'm': o->model = optarg; break;
		case 's': parse_size(optarg, o); break;
		case 'W': g->width = (int)feat_cli_long("--width", optarg, 1, 16384); o->set |= SET_W; break;
		case 'H': g->height = (int)feat_cli_long("--height", optarg, 1, 16384); o->set |= SET_H; break;
		case 0x2002: g->fit = word("--fit", optarg, fits); o->set |= SET_FIT; break;
		case 0x2003: g->bgr = 0; g->gray = 0; o->set |= SET_BGR; break;
		case 0x2004: g->bgr = 1; g->gray = 0; o->set |= SET_BGR; break;
		case 0x200a: g->bgr = 0; g->gray = 1; o->set |= SET_BGR; break;
		case 0x2005: feat_cli_triple("--mean", optarg, g->mean); o->set |= SET_MEAN; break;
		case 0x2006: feat_cli_triple("--scale", optarg, g->scale); o->set |= SET_SCALE; break;
		case 0x2007: feat_cli_triple("--pad", optarg, g->pad); o->set |= SET_PAD; break;
		case 0x2008: g->resize = word("--resize", optarg, methods); o->set |= SET_RESIZE; break;
		case 0x2009: g->drop_image = 1; o->set |= SET_DROP; break;
		}
	}
	if (optind < argc)
		feat_die_usage("unexpected argument '%s' (imgprep reads standard input)",
			       argv[optind]);

	/* the base: a model's metadata, a built-in preset, or plain defaults */
	memset(p, 0, sizeof p[0]);
	p->scale[0] = p->scale[1] = p->scale[2] = 1;
	if (o->preset && o->model)
		feat_die_usage("give -m MODEL or --for NAME, not both");
	if (o->preset && (!*o->preset || strchr(o->preset, '/')))
		feat_die_usage("--for: '%s' is not a name (give a path with -m)", o->preset);
	if (!(o->preset && feat_prep_preset(p, o->preset) == 0) &&
	    (o->preset || o->model))
		from_model(o->preset ? o->preset : o->model, o->set, p);
	if (o->set & SET_W) p->width = g->width;
	if (o->set & SET_H) p->height = g->height;
	if (o->set & SET_FIT) p->fit = g->fit;
	if (o->set & SET_BGR) p->bgr = g->bgr, p->gray = g->gray;
	if (o->set & SET_MEAN) memcpy(p->mean, g->mean, sizeof p->mean);
	if (o->set & SET_SCALE) memcpy(p->scale, g->scale, sizeof p->scale);
	if (o->set & SET_PAD) memcpy(p->pad, g->pad, sizeof p->pad);
	if (o->set & SET_RESIZE) p->resize = g->resize;
	if (o->set & SET_DROP) p->drop_image = 1;
	if (!p->width || !p->height)
		feat_die_usage("no input size: give -m MODEL, --for NAME or --size WxH");
	if (feat_prep_check(p, why, sizeof why) < 0)
		feat_die_usage("%s", why);
}

/* One ok record: a problem of the record marks it; only memory stops us. */
static int work(struct feat_rec *r, void *ctx, char *why, size_t whylen)
{
	int e = feat_prep(r, ctx, why, whylen);

	if (e == FEAT_E_NOMEM)
		return e;
	if (e < 0)
		return feat_rec_set_error(r, "imgprep: %s", why) == FEAT_E_NOMEM
			       ? FEAT_E_NOMEM : 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct feat_filter f = { work, &o.prep };

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_info("input %dx%d, fit %d, %s, mean %g,%g,%g, scale %g,%g,%g",
		  o.prep.width, o.prep.height, o.prep.fit,
		  o.prep.gray ? "gray" : o.prep.bgr ? "BGR" : "RGB",
		  o.prep.mean[0], o.prep.mean[1], o.prep.mean[2],
		  o.prep.scale[0], o.prep.scale[1], o.prep.scale[2]);
	return feat_filter_run(&f);
}
