/*
 * ssd-detect - run an SSD detector over each record's network `input` and
 * add its detections: `dets` (f32 [N, 6]: label, score, xmin, ymin, xmax,
 * ymax in pixels of the photo: mapped back through the `xform` imgprep
 * recorded, and through `origsize` when imgdecode scaled the photo down),
 * the main item's first (--main-share), then highest score first.
 *
 * Records go through the network in batches (-b); the detections of a
 * record do not depend on the batch it was in.  Prior boxes and the
 * detection settings come from the model (lib/nn/ssd.c); options override
 * the settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: ssd-detect [OPTION]...\n"
	"Read a featstream on standard input; run the SSD model on each record's\n"
	"`input` and add `dets` (f32 [N, 6]: label, score, xmin, ymin, xmax, ymax in\n"
	"pixels of the photo (origsize): the main item's box first, then highest\n"
	"score first); write the stream on standard output.\n"
	"\n"
	"  -m, --model MODEL      the detector: a featmodel file or a model name\n"
	"                         (default: ssd, the shipped one)\n"
	"  -b, --batch N          records per forward pass, 1 to 4096 (default 8)\n"
	"  -t, --threads N        threads of one forward pass, 1 to 64 (default 1)\n"
	"  -c, --confidence-threshold S  keep boxes scoring above S\n"
	"      --nms-threshold T  drop a box overlapping a better one of its class\n"
	"                         by more than T (Jaccard)\n"
	"      --top-k N          boxes per class considered by NMS (-1: all)\n"
	"      --keep-top-k N     boxes kept per image over all classes (-1: all)\n"
	"                         (the four default to the model's settings)\n"
	"      --agnostic-nms     then drop a box overlapping a better one of any\n"
	"                         class by more than T: one box per place\n"
	"      --per-class-nms    not so (Caffe's SSD)\n"
	"      --box-vote V       a box NMS keeps takes the score-weighted mean\n"
	"                         corners of its class's boxes overlapping it by\n"
	"                         V or more (0: off, Caffe's NMS)\n"
	"      --mirror           also detect on the mirror image and merge the two:\n"
	"                         a box found in both gets the mean of the scores,\n"
	"                         one found in one view half its score (twice the\n"
	"                         network's work)\n"
	"      --no-mirror        not so\n"
	"      --main-share F     the main item's box, written first, is the largest\n"
	"                         of those scoring at least F times the best score\n"
	"                         (0: the best box; 1: the largest of those tied\n"
	"                         at the best score; the rest follow by score)\n"
	"      --main-min-score S  and at least S\n"
	"                         (the five default to the model's settings; the\n"
	"                         shipped detector has --agnostic-nms\n"
	"                         --box-vote 0.5 --mirror --main-share 0.5\n"
	"                         --main-min-score 0.3)\n"
	FEAT_CLI_HELP
	"\n"
	"Prepare the input with the same model: imgprep -m MODEL (imgprep --for ssd\n"
	"for the shipped one).\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream or corrupt, or\n"
	"the model is not an SSD model, 4 read or write error, model not found,\n"
	"or out of memory.\n";

struct opts {
	const char *model;
	int batch, threads;
	double conf, nms;
	long top_k, keep_top_k;
	int set_conf, set_nms, set_top_k, set_keep;
	int agnostic, mirror;          /* -1: the model's */
	int set_vote, set_main, set_mmin;
	double vote, mshare, mmin;
};

struct ctx {
	feat_detector *det;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "confidence-threshold", required_argument, NULL, 'c' },
		{ "nms-threshold", required_argument, NULL, 0x2001 },
		{ "top-k", required_argument, NULL, 0x2002 },
		{ "keep-top-k", required_argument, NULL, 0x2003 },
		{ "agnostic-nms", no_argument, NULL, 0x2004 },
		{ "per-class-nms", no_argument, NULL, 0x2005 },
		{ "mirror", no_argument, NULL, 0x2006 },
		{ "no-mirror", no_argument, NULL, 0x2007 },
		{ "box-vote", required_argument, NULL, 0x2008 },
		{ "main-share", required_argument, NULL, 0x2009 },
		{ "main-min-score", required_argument, NULL, 0x200a },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->model = "ssd";
	o->batch = 8;
	o->threads = 1;
	o->agnostic = o->mirror = -1;
	while ((c = feat_getopt(argc, argv, "m:b:t:c:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'b': o->batch = (int)feat_cli_long("--batch", optarg, 1, 4096); break;
		case 't': o->threads = (int)feat_cli_long("--threads", optarg, 1, FEAT_THREADS_MAX); break;
		case 'c':
			o->conf = feat_cli_double("--confidence-threshold", optarg, -1e30, 1e30);
			o->set_conf = 1;
			break;
		case 0x2001:
			o->nms = feat_cli_double("--nms-threshold", optarg, 0, 1);
			o->set_nms = 1;
			break;
		case 0x2002:
			o->top_k = feat_cli_long("--top-k", optarg, -1, 1000000);
			o->set_top_k = 1;
			break;
		case 0x2003:
			o->keep_top_k = feat_cli_long("--keep-top-k", optarg, -1, 1000000);
			o->set_keep = 1;
			break;
		case 0x2004: o->agnostic = 1; break;
		case 0x2005: o->agnostic = 0; break;
		case 0x2006: o->mirror = 1; break;
		case 0x2007: o->mirror = 0; break;
		case 0x2008:
			o->vote = feat_cli_double("--box-vote", optarg, 0, 1);
			o->set_vote = 1;
			break;
		case 0x2009:
			o->mshare = feat_cli_double("--main-share", optarg, 0, 1);
			o->set_main = 1;
			break;
		case 0x200a:
			o->mmin = feat_cli_double("--main-min-score", optarg, 0, 1);
			o->set_mmin = 1;
			break;
		}
	}
	if (optind < argc)
		feat_die_usage("unexpected argument '%s' (ssd-detect reads standard input)",
			       argv[optind]);
}

/* Load the model and its SSD settings; anything wrong stops the run
 * before a record is read. */
static void load(struct ctx *x, const struct opts *o)
{
	struct feat_detector_opts d;
	struct feat_detector_info i;
	char path[4096], why[512];
	int e;

	if (feat_cli_model_path(o->model, path, sizeof path, why, sizeof why))
		feat_die(FEAT_EXIT_SYSTEM, "%s", why);
	feat_detector_opts_init(&d);
	d.batch = o->batch;
	d.threads = o->threads;
	d.set_confidence = o->set_conf, d.confidence = o->conf;
	d.set_nms = o->set_nms, d.nms = o->nms;
	d.set_top_k = o->set_top_k, d.top_k = (int)o->top_k;
	d.set_keep_top_k = o->set_keep, d.keep_top_k = (int)o->keep_top_k;
	d.agnostic = o->agnostic, d.mirror = o->mirror;
	d.set_box_vote = o->set_vote, d.box_vote = o->vote;
	d.set_main_share = o->set_main, d.main_share = o->mshare;
	d.set_main_min = o->set_mmin, d.main_min = o->mmin;
	if ((e = feat_detector_open(&x->det, path, &d, why, sizeof why)))
		feat_die(feat_cli_model_exit(e), "%s", why);
	feat_detector_info(x->det, &i);
	feat_info("%s: input %ux%ux%u, %d priors, %d classes, confidence > %g, NMS %g%s, box vote %g, top_k %d, keep_top_k %d%s, main share %g (score %g or more), batch %d",
		  path, i.channels, i.height, i.width, i.priors, i.classes,
		  i.confidence, i.nms, i.agnostic ? " (also across classes)" : "", i.box_vote,
		  i.top_k, i.keep_top_k, i.mirror ? ", and on the mirror image" : "", i.main_share, i.main_min,
		  i.batch);
}

static int work(struct feat_rec **recs, int n, void *ctx, char *why, size_t whylen)
{
	struct ctx *x = ctx;

	return feat_detector_run(x->det, recs, n, why, whylen);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ctx x = { NULL };
	struct feat_batch_filter f = { work, &x, 0 };
	int rc;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_cli_binary_stdout();
	load(&x, &o);
	f.batch = o.batch;
	rc = feat_batch_filter_run(&f);
	feat_detector_free(x.det);
	return rc;
}
