/*
 * ssd-detect - run an SSD detector over each record's network `input` and
 * add its detections: `dets` (f32 [N, 6]: label, score, xmin, ymin, xmax,
 * ymax in pixels of the record's `image`, mapped back through the `xform`
 * imgprep recorded), highest score first.
 *
 * Records go through the network in batches (-b); the detections of a
 * record do not depend on the batch it was in.  Prior boxes and the
 * detection settings come from the model (lib/nn/ssd.c); options override
 * the settings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "nn/net.h"
#include "base/threadpool.h"
#include "nn/ssd.h"

static const char usage[] =
	"Usage: ssd-detect [OPTION]...\n"
	"Read a featstream on standard input; run the SSD model on each record's\n"
	"`input` and add `dets` (f32 [N, 6]: label, score, xmin, ymin, xmax, ymax in\n"
	"pixels of the record's image, highest score first); write the stream on\n"
	"standard output.\n"
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
};

struct ctx {
	const struct opts *o;
	struct feat_net *net;
	struct feat_ssd ssd;
	int in;                        /* input blob */
	uint32_t c, h, w;              /* input shape of one image */
	struct feat_rec **ok;          /* records of the current pass */
	struct feat_det *dets;
	size_t cap;
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
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->model = "ssd";
	o->batch = 8;
	o->threads = 1;
	while ((c = feat_getopt(argc, argv, "m:b:t:c:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'b': o->batch = (int)feat_cli_long("--batch", optarg, 1, 4096); break;
		case 't': o->threads = (int)feat_cli_long("--threads", optarg, 1, FEAT_POOL_MAX); break;
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
	char path[4096], why[512];
	const struct feat_blob *b;
	int e;

	if (feat_cli_model_path(o->model, path, sizeof path, why, sizeof why))
		feat_die(FEAT_EXIT_SYSTEM, "%s", why);
	if ((e = feat_net_load(&x->net, path, why, sizeof why)))
		feat_die(e == FEAT_E_IO || e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM
			 : e == FEAT_E_INVAL ? FEAT_EXIT_USAGE : FEAT_EXIT_STREAM, "%s", why);
	if (x->net->ninput != 1)
		feat_die(FEAT_EXIT_STREAM, "%s: the model has %d inputs; an SSD has one (the image)",
			 path, x->net->ninput);
	x->in = x->net->input[0];
	b = &x->net->blob[x->in];
	if (b->ndim != 4)
		feat_die(FEAT_EXIT_STREAM, "%s: the model's input has %d dimensions; an image input has 4 (N, C, H, W)",
			 path, b->ndim);
	x->c = b->dims[1], x->h = b->dims[2], x->w = b->dims[3];
	if ((e = feat_ssd_setup(&x->ssd, x->net, why, sizeof why)))
		feat_die(e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM : FEAT_EXIT_STREAM, "%s: %s", path, why);
	if (o->set_conf)
		x->ssd.confidence_threshold = (float)o->conf;
	if (o->set_nms)
		x->ssd.nms_threshold = (float)o->nms;
	if (o->set_top_k)
		x->ssd.top_k = (int)o->top_k;
	if (o->set_keep)
		x->ssd.keep_top_k = (int)o->keep_top_k;
	if ((e = feat_net_reserve(x->net, o->batch)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: %s", path, feat_strerror(e));
	if (o->threads > 1 && (e = feat_net_set_threads(x->net, o->threads)))
		feat_die(FEAT_EXIT_SYSTEM, "--threads %d: %s", o->threads, feat_strerror(e));
	feat_info("%s: input %ux%ux%u, %d priors, %d classes, confidence > %g, NMS %g, top_k %d, keep_top_k %d, batch %d",
		  path, x->c, x->h, x->w, x->ssd.nprior, x->ssd.num_classes,
		  x->ssd.confidence_threshold, x->ssd.nms_threshold, x->ssd.top_k,
		  x->ssd.keep_top_k, o->batch);
}

static int oom(char *why, size_t whylen)
{
	snprintf(why, whylen, "out of memory");
	return FEAT_E_NOMEM;
}

/* Mark r as failed for the non-finite value v[k] of n; 0 or FEAT_E_NOMEM. */
static int nonfinite(struct feat_rec *r, const char *what, const char *name,
	const float *v, size_t k, size_t n, char *why, size_t whylen)
{
	if (feat_rec_set_error(r, "ssd-detect: %s: '%s' holds %s at element %zu of %zu",
			       what, name, isnan(v[k]) ? "NaN" : v[k] > 0 ? "inf" : "-inf",
			       k, n) == FEAT_E_NOMEM)
		return oom(why, whylen);
	return 0;
}

/* r's `input` if it fits the model, is finite and r has its `xform`, else
 * NULL (r marked as failed; *e set only for a fault of the run). */
static const float *input_of(struct ctx *x, struct feat_rec *r, const float **xf,
	int *e, char *why, size_t whylen)
{
	struct feat_tensor *t = feat_rec_find(r, "input"), *f = feat_rec_find(r, "xform");
	size_t k, n = t ? (size_t)feat_tensor_count(t) : 0;
	int se = 0;

	*e = 0;
	if (!t) {
		se = feat_rec_set_error(r, "ssd-detect: no 'input' tensor (prepare it with imgprep -m MODEL)");
	} else if (t->dtype != FEAT_DT_F32 || t->ndim != 3 || t->dims[0] != x->c ||
		   t->dims[1] != x->h || t->dims[2] != x->w) {
		char got[128] = "";

		for (int i = 0; i < t->ndim; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u",
				 i ? " " : "", (unsigned)t->dims[i]);
		se = feat_rec_set_error(r, "ssd-detect: 'input' is %s [%s]; the model needs f32 [%u %u %u] (prepare it with imgprep -m MODEL)",
					feat_dtype_name(t->dtype) ? feat_dtype_name(t->dtype) : "?",
					got, x->c, x->h, x->w);
	} else if ((k = feat_f32_nonfinite(t->data, n)) < n) {
		*e = nonfinite(r, "non-finite input", "input", t->data, k, n, why, whylen);
		return NULL;
	} else if (!f || f->dtype != FEAT_DT_F32 || feat_tensor_count(f) != 8) {
		se = feat_rec_set_error(r, "ssd-detect: no 'xform' tensor (f32 [8], written by imgprep) to map boxes back to the image");
	} else {
		const float *v = f->data;

		if (feat_f32_nonfinite(v, 8) < 8 || !(v[4] > 0) || !(v[5] > 0) ||
		    !(v[0] >= 0) || !(v[1] >= 0)) {
			se = feat_rec_set_error(r, "ssd-detect: 'xform' is not a valid transform");
		} else {
			*xf = v;
			return t->data;
		}
	}
	if (se == FEAT_E_NOMEM)
		*e = oom(why, whylen);
	return NULL;
}

/* Boxes from the network input's normalised coordinates to image pixels:
 * x_in = sx * x_img + tx, clipped to the image. */
static void to_image(float *b, const float *xf, float w_in, float h_in)
{
	float sw = xf[0], sh = xf[1], sx = xf[4], sy = xf[5], tx = xf[6], ty = xf[7];

	for (int i = 0; i < 4; i += 2) {
		float x = (b[i] * w_in - tx) / sx, y = (b[i + 1] * h_in - ty) / sy;

		b[i] = x < 0 ? 0 : x > sw ? sw : x;
		b[i + 1] = y < 0 ? 0 : y > sh ? sh : y;
	}
}

/*
 * The detections of one record from its rows of the network's outputs.
 * Outputs that are not finite (an overflow in the net) make r an error
 * record, never boxes; so does a box that decodes to a non-finite corner
 * (offsets so large that the exponential of the box size overflows).
 */
static int put_dets(struct ctx *x, struct feat_rec *r, const float *loc,
	const float *conf, const float *xf, char *why, size_t whylen)
{
	size_t nl = x->net->blob[x->ssd.loc_blob].count, nc = x->net->blob[x->ssd.conf_blob].count, k;
	uint32_t d[2];
	struct feat_tensor *t;
	float *o;
	int n, e;

	if ((k = feat_f32_nonfinite(loc, nl)) < nl)
		return nonfinite(r, "network output is not finite",
				 x->net->blob[x->ssd.loc_blob].name, loc, k, nl, why, whylen);
	if ((k = feat_f32_nonfinite(conf, nc)) < nc)
		return nonfinite(r, "network output is not finite",
				 x->net->blob[x->ssd.conf_blob].name, conf, k, nc, why, whylen);
	if ((n = feat_ssd_detect(&x->ssd, loc, conf, &x->dets, &x->cap)) == FEAT_E_NOMEM)
		return oom(why, whylen);
	if (n < 0) {
		if (feat_rec_set_error(r, "ssd-detect: network output is not finite") == FEAT_E_NOMEM)
			return oom(why, whylen);
		return 0;
	}
	d[0] = (uint32_t)n, d[1] = 6;
	if (!(t = feat_rec_add(r, "dets", FEAT_DT_F32, 2, d, &e))) {
		if (e == FEAT_E_NOMEM)
			return oom(why, whylen);
		if (feat_rec_set_error(r, "ssd-detect: record has too many tensors to add 'dets'") == FEAT_E_NOMEM)
			return oom(why, whylen);
		return 0;
	}
	o = t->data;
	for (int i = 0; i < n; i++, o += 6) {
		o[0] = x->dets[i].label;
		o[1] = x->dets[i].score;
		o[2] = x->dets[i].x0, o[3] = x->dets[i].y0;
		o[4] = x->dets[i].x1, o[5] = x->dets[i].y1;
		to_image(o + 2, xf, (float)x->w, (float)x->h);
		if (feat_f32_nonfinite(o + 2, 4) < 4) {
			feat_rec_remove(r, "dets");
			if (feat_rec_set_error(r, "ssd-detect: a box of class %d, score %g, decodes to a non-finite corner",
					       (int)x->dets[i].label, x->dets[i].score) == FEAT_E_NOMEM)
				return oom(why, whylen);
			return 0;
		}
	}
	return 0;
}

static int work(struct feat_rec **recs, int n, void *ctx, char *why, size_t whylen)
{
	struct ctx *x = ctx;
	size_t count = (size_t)x->c * x->h * x->w;
	size_t nl = x->net->blob[x->ssd.loc_blob].count, nc = x->net->blob[x->ssd.conf_blob].count;
	float *in = feat_net_data(x->net, x->in);
	const float *xfs[4096];
	int m = 0, e;

	for (int i = 0; i < n; i++) {
		const float *xf = NULL, *p = input_of(x, recs[i], &xf, &e, why, whylen);

		if (e)
			return e;
		if (!p)
			continue;
		memcpy(in + (size_t)m * count, p, count * sizeof *p);
		xfs[m] = xf;
		x->ok[m++] = recs[i];
	}
	if (!m)
		return 0;
	if ((e = feat_net_forward(x->net, m))) {
		snprintf(why, whylen, "forward pass: %s", feat_strerror(e));
		return e;
	}
	for (int i = 0; i < m; i++) {
		const float *loc = feat_net_data(x->net, x->ssd.loc_blob) + (size_t)i * nl;
		const float *conf = feat_net_data(x->net, x->ssd.conf_blob) + (size_t)i * nc;

		/* xform points into the record, still intact: copy before
		 * adding a tensor can move the record's tensors */
		float xf[8];

		memcpy(xf, xfs[i], sizeof xf);
		if ((e = put_dets(x, x->ok[i], loc, conf, xf, why, whylen)))
			return e;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ctx x;
	struct feat_batch_filter f = { work, &x, 0 };
	int rc;

	memset(&x, 0, sizeof x);
	x.o = &o;
	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_cli_binary_stdout();
	load(&x, &o);
	if (!(x.ok = calloc((size_t)o.batch, sizeof *x.ok)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	f.batch = o.batch;
	rc = feat_batch_filter_run(&f);
	free(x.ok);
	free(x.dets);
	feat_ssd_free(&x.ssd);
	feat_net_free(x.net);
	return rc;
}
