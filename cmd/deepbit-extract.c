/*
 * deepbit-extract - run a DeepBit descriptor over each record's network
 * `input` and add its binary code: `code` (bit [K], bit i = sigmoid
 * activation i > 0.5) and, on request, `feat` (the K activations).
 *
 * Records go through the network in batches (-b); the code of a record
 * does not depend on the batch it was in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: deepbit-extract [OPTION]...\n"
	"Read a featstream on standard input; run the DeepBit model on each\n"
	"record's `input` and add its binary code `code` (bit [K]: bit i is\n"
	"activation i > 0.5); write the stream on standard output.\n"
	"\n"
	"  -m, --model MODEL    the descriptor: a featmodel file or a model name\n"
	"                       (default: deepbit, the shipped one)\n"
	"  -b, --batch N        records per forward pass, 1 to 4096 (default 8)\n"
	"  -t, --threads N      threads of one forward pass, 1 to 64 (default 1)\n"
	"      --feat           also add `feat` (f32 [K], the sigmoid activations)\n"
	"      --mirror         average the activations of the input and of its\n"
	"                       mirror image before the threshold: a mirrored\n"
	"                       re-upload gets the same code (default: the model's\n"
	"                       code.mirror metadata; the shipped dedup model has\n"
	"                       it); twice the work\n"
	"      --no-mirror      the input alone\n"
	FEAT_CLI_HELP
	"\n"
	"Prepare the input with the same model: imgprep -m MODEL.\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream or corrupt, or\n"
	"the model is not a DeepBit model, 4 read or write error, model not found,\n"
	"or out of memory.\n";

struct opts {
	const char *model;
	int batch, threads, feat;
	int mirror;                    /* -1: the model's code.mirror */
};

struct ctx {
	feat_describer *desc;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "feat", no_argument, NULL, 0x2001 },
		{ "mirror", no_argument, NULL, 0x2002 },
		{ "no-mirror", no_argument, NULL, 0x2003 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->model = "deepbit";
	o->batch = 8;
	o->threads = 1;
	o->mirror = -1;
	while ((c = feat_getopt(argc, argv, "m:b:t:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'b': o->batch = (int)feat_cli_long("--batch", optarg, 1, 4096); break;
		case 't': o->threads = (int)feat_cli_long("--threads", optarg, 1, FEAT_THREADS_MAX); break;
		case 0x2001: o->feat = 1; break;
		case 0x2002: o->mirror = 1; break;
		case 0x2003: o->mirror = 0; break;
		}
	}
	if (optind < argc)
		feat_die_usage("unexpected argument '%s' (deepbit-extract reads standard input)",
			       argv[optind]);
}

/*
 * Load the model and check that it is a descriptor: one image input
 * [C, H, W], one output of K values, and code.bits (when the metadata has
 * it) equal to K.  Anything else stops the run before a record is read.
 */
static void load(struct ctx *x, const struct opts *o)
{
	struct feat_describer_opts d;
	struct feat_describer_info i;
	char path[4096], why[512];
	int e;

	if (feat_cli_model_path(o->model, path, sizeof path, why, sizeof why))
		feat_die(FEAT_EXIT_SYSTEM, "%s", why);
	feat_describer_opts_init(&d);
	d.batch = o->batch;
	d.threads = o->threads;
	d.mirror = o->mirror;
	d.feat = o->feat;
	if ((e = feat_describer_open(&x->desc, path, &d, why, sizeof why)))
		feat_die(feat_cli_model_exit(e), "%s", why);
	feat_describer_info(x->desc, &i);
	feat_info("%s: input %ux%ux%u, %d-bit codes%s, batch %d, %d thread%s", path,
		  i.channels, i.height, i.width, i.bits,
		  i.mirror ? " (averaged with the mirror image)" : "",
		  i.batch, i.threads, i.threads > 1 ? "s" : "");
}

static int work(struct feat_rec **recs, int n, void *ctx, char *why, size_t whylen)
{
	struct ctx *x = ctx;

	return feat_describer_run(x->desc, recs, n, why, whylen);
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
	feat_describer_free(x.desc);
	return rc;
}
