/*
 * deepbit-extract - run a DeepBit descriptor over each record's network
 * `input` and add its binary code: `code` (bit [K], bit i = sigmoid
 * activation i > 0.5) and, on request, `feat` (the K activations).
 *
 * Records go through the network in batches (-b); the code of a record
 * does not depend on the batch it was in.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "nn/net.h"
#include "base/threadpool.h"
#include "img/prep.h"

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
	const struct opts *o;
	struct feat_net *net;
	int in, out;                   /* blobs */
	uint32_t c, h, w;              /* input shape of one image */
	int k;                         /* code bits */
	int mirror;                    /* average with the mirror image */
	float *act;                    /* [batch][k]: the unmirrored pass */
	struct feat_rec **ok;          /* records of the current pass */
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
		case 't': o->threads = (int)feat_cli_long("--threads", optarg, 1, FEAT_POOL_MAX); break;
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
	char path[4096], why[512];
	const struct feat_value *v;
	const struct feat_blob *b;
	double bits;
	int e;

	if (feat_cli_model_path(o->model, path, sizeof path, why, sizeof why))
		feat_die(FEAT_EXIT_SYSTEM, "%s", why);
	if ((e = feat_net_load(&x->net, path, why, sizeof why)))
		feat_die(e == FEAT_E_IO || e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM
			 : e == FEAT_E_INVAL ? FEAT_EXIT_USAGE : FEAT_EXIT_STREAM, "%s", why);
	if (x->net->ninput != 1 || x->net->noutput != 1)
		feat_die(FEAT_EXIT_STREAM, "%s: the model has %d inputs and %d outputs; a DeepBit model has one of each (the image, the K sigmoid activations)",
			 path, x->net->ninput, x->net->noutput);
	x->in = x->net->input[0];
	x->out = x->net->output[0];
	b = &x->net->blob[x->in];
	if (b->ndim != 4)
		feat_die(FEAT_EXIT_STREAM, "%s: the model's input has %d dimensions; an image input has 4 (N, C, H, W)",
			 path, b->ndim);
	x->c = b->dims[1];
	x->h = b->dims[2];
	x->w = b->dims[3];
	b = &x->net->blob[x->out];
	if (b->count < 1 || b->count > FEAT_CODES_MAX_BITS)
		feat_die(FEAT_EXIT_STREAM, "%s: the model's output has %zu values; a code has 1 to %d bits",
			 path, b->count, FEAT_CODES_MAX_BITS);
	x->k = (int)b->count;
	if ((v = feat_model_meta(&x->net->model, "code.bits")) &&
	    (feat_meta_numbers(v, &bits, 1) != 1 || bits != x->k))
		feat_die(FEAT_EXIT_STREAM, "%s: metadata 'code.bits' says %g but the output has %d values",
			 path, feat_meta_numbers(v, &bits, 1) == 1 ? bits : -1.0, x->k);
	x->mirror = o->mirror;
	if (x->mirror < 0) {
		double m = 0;

		x->mirror = (v = feat_model_meta(&x->net->model, "code.mirror")) &&
			    feat_meta_numbers(v, &m, 1) == 1 && m != 0;
	}
	if (x->mirror && !(x->act = malloc((size_t)o->batch * (size_t)x->k * sizeof *x->act)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	if ((e = feat_net_reserve(x->net, o->batch)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: %s", path, feat_strerror(e));
	if (o->threads > 1 && (e = feat_net_set_threads(x->net, o->threads)))
		feat_die(FEAT_EXIT_SYSTEM, "--threads %d: %s", o->threads, feat_strerror(e));
	feat_info("%s: input %ux%ux%u, %d-bit codes%s, batch %d, %d thread%s", path,
		  x->c, x->h, x->w, x->k, x->mirror ? " (averaged with the mirror image)" : "",
		  o->batch, o->threads, o->threads > 1 ? "s" : "");
}

/* Mark r as failed; 0, or FEAT_E_NOMEM. */
static int fail(struct feat_rec *r, char *why, size_t whylen, const char *fmt,
	uint32_t a, uint32_t b, uint32_t c)
{
	char msg[256];

	snprintf(msg, sizeof msg, fmt, a, b, c);
	if (feat_rec_set_error(r, "deepbit-extract: %s", msg) == FEAT_E_NOMEM) {
		snprintf(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	return 0;
}

/* Mark r as failed for the non-finite value v[k] of n; 0 or FEAT_E_NOMEM. */
static int nonfinite(struct feat_rec *r, const char *what, const char *name,
	const float *v, size_t k, size_t n, char *why, size_t whylen)
{
	if (feat_rec_set_error(r, "deepbit-extract: %s: '%s' holds %s at element %zu of %zu",
			       what, name, isnan(v[k]) ? "NaN" : v[k] > 0 ? "inf" : "-inf",
			       k, n) == FEAT_E_NOMEM) {
		snprintf(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	return 0;
}

/* r's `input` if it fits the model and is finite, else NULL (r marked as
 * failed). */
static const float *input_of(struct ctx *x, struct feat_rec *r, int *e,
	char *why, size_t whylen)
{
	struct feat_tensor *t = feat_rec_find(r, "input");
	size_t k, n;

	*e = 0;
	if (!t) {
		*e = fail(r, why, whylen, "no 'input' tensor (prepare it with imgprep -m MODEL)", 0, 0, 0);
		return NULL;
	}
	if (t->dtype != FEAT_DT_F32 || t->ndim != 3 || t->dims[0] != x->c ||
	    t->dims[1] != x->h || t->dims[2] != x->w) {
		char got[128] = "";

		for (int i = 0; i < t->ndim; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u",
				 i ? " " : "", (unsigned)t->dims[i]);
		if (feat_rec_set_error(r, "deepbit-extract: 'input' is %s [%s]; the model needs f32 [%u %u %u] (prepare it with imgprep -m MODEL)",
				       feat_dtype_name(t->dtype) ? feat_dtype_name(t->dtype) : "?",
				       got, x->c, x->h, x->w) == FEAT_E_NOMEM) {
			snprintf(why, whylen, "out of memory");
			*e = FEAT_E_NOMEM;
		}
		return NULL;
	}
	n = (size_t)feat_tensor_count(t);
	if ((k = feat_f32_nonfinite(t->data, n)) < n) {
		*e = nonfinite(r, "non-finite input", "input", t->data, k, n, why, whylen);
		return NULL;
	}
	return t->data;
}

/* The code (and activations) of one record from its row of the output;
 * an output that is not finite (an overflow in the net) makes r an error
 * record, never a code. */
static int put_code(struct ctx *x, struct feat_rec *r, const float *act,
	char *why, size_t whylen)
{
	uint32_t d[1] = { (uint32_t)x->k };
	struct feat_tensor *t;
	uint8_t *code;
	size_t bad;
	int e;

	if ((bad = feat_f32_nonfinite(act, (size_t)x->k)) < (size_t)x->k)
		return nonfinite(r, "network output is not finite", x->net->blob[x->out].name,
				 act, bad, (size_t)x->k, why, whylen);
	if (!(t = feat_rec_add(r, "code", FEAT_DT_BIT, 1, d, &e)))
		goto fail;
	code = t->data;
	memset(code, 0, t->nbytes);
	for (int i = 0; i < x->k; i++)
		if (act[i] > 0.5f)
			code[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	if (x->o->feat) {
		if (!(t = feat_rec_add(r, "feat", FEAT_DT_F32, 1, d, &e)))
			goto fail;
		memcpy(t->data, act, (size_t)x->k * sizeof *act);
	}
	return 0;
fail:
	if (e == FEAT_E_NOMEM) {
		snprintf(why, whylen, "out of memory");
		return e;
	}
	return fail(r, why, whylen, "record has too many tensors to add 'code'", 0, 0, 0);
}

static int work(struct feat_rec **recs, int n, void *ctx, char *why, size_t whylen)
{
	struct ctx *x = ctx;
	size_t count = (size_t)x->c * x->h * x->w;
	float *in = feat_net_data(x->net, x->in), *out;
	int m = 0, e;

	for (int i = 0; i < n; i++) {
		const float *p = input_of(x, recs[i], &e, why, whylen);

		if (e)
			return e;
		if (!p)
			continue;
		memcpy(in + (size_t)m * count, p, count * sizeof *p);
		x->ok[m++] = recs[i];
	}
	if (!m)
		return 0;
	if ((e = feat_net_forward(x->net, m))) {
		snprintf(why, whylen, "forward pass: %s", feat_strerror(e));
		return e;
	}
	out = feat_net_data(x->net, x->out);
	if (x->mirror) {
		/* the same inputs mirrored (each row of each channel reversed),
		 * then the mean of the two activations: a mirrored photo gives
		 * the same values up to rounding */
		memcpy(x->act, out, (size_t)m * (size_t)x->k * sizeof *out);
		for (int i = 0; i < m; i++) {
			const float *src = feat_rec_find(x->ok[i], "input")->data;
			float *dst = in + (size_t)i * count;

			for (size_t row = 0; row < (size_t)x->c * x->h; row++)
				for (uint32_t a = 0; a < x->w; a++)
					dst[row * x->w + a] = src[row * x->w + x->w - 1 - a];
		}
		if ((e = feat_net_forward(x->net, m))) {
			snprintf(why, whylen, "forward pass: %s", feat_strerror(e));
			return e;
		}
		out = feat_net_data(x->net, x->out);
		for (size_t i = 0; i < (size_t)m * x->k; i++)
			x->act[i] = 0.5f * (x->act[i] + out[i]);
		out = x->act;
	}
	for (int i = 0; i < m; i++)
		if ((e = put_code(x, x->ok[i], out + (size_t)i * x->k, why, whylen)))
			return e;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ctx x = { .o = &o };
	struct feat_batch_filter f = { work, &x, 0 };
	int rc;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_cli_binary_stdout();
	load(&x, &o);
	if (!(x.ok = calloc((size_t)o.batch, sizeof *x.ok)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	f.batch = o.batch;
	rc = feat_batch_filter_run(&f);
	free(x.ok);
	free(x.act);
	feat_net_free(x.net);
	return rc;
}
