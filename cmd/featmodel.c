/*
 * featmodel - inspect, check, time and run featmodel networks.
 *
 *   featmodel info MODEL                 metadata and the layer table
 *   featmodel check MODEL                validate; exit 0 when it loads
 *   featmodel bench MODEL [-b N] [-n R] [-t T]  forward passes on synthetic input
 *   featmodel run MODEL IN.f32 OUTPREFIX [-t T]  one pass on raw float32 input
 *   featmodel import -o OUT.fm MODEL.onnx        convert (and check) a model
 *   featmodel fitcodes -o OUT.fm --bits K --from LAYER MODEL STREAM
 *                                        PCA + ITQ codes on a layer's features
 *   featmodel quantize --calib STREAM -o OUT.fm MODEL
 *                                        int8 convolutions, calibrated on STREAM
 *
 * The one program that reaches past feat.h: info, check, bench and run
 * are the engine's developer tools (the layer table, per-layer timing,
 * raw forward passes on a batch, the kernel path), and fitcodes cuts a
 * network and adds a code layer through the engine's graph, builder and
 * blobs (nn/net.h, nn/cut.h, codes/itq.h, kern/kern.h).  Exporting those
 * would freeze the engine's internals as libfeat's interface.  import is
 * feat_model_import(3); every other program uses feat.h and cmd/common
 * alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codes/itq.h"
#include "common/cli.h"
#include "kern/kern.h"
#include "nn/cut.h"
#include "nn/net.h"
#include "nn/quant.h"
#include "base/internal.h"
#include "base/threadpool.h"

static const char usage[] =
	"Usage: featmodel COMMAND [OPTION]... MODEL [ARG]...\n"
	"Inspect, check, time and run featmodel networks (featmodel(5)).\n"
	"\n"
	"  info MODEL              metadata, then one line per layer: type, name,\n"
	"                          output shape, parameters, MACs\n"
	"  check MODEL             load and validate; exit 0 when the network can run\n"
	"  bench MODEL             time forward passes on synthetic input: images/s and\n"
	"                          the time of each layer\n"
	"  run MODEL IN OUTPREFIX  one forward pass on IN (raw little-endian float32, the\n"
	"                          whole input batch, N x C x H x W); writes each graph\n"
	"                          output to OUTPREFIX.NAME.f32\n"
	"  import -o OUT MODEL.onnx\n"
	"  import -o OUT DEPLOY.prototxt WEIGHTS.caffemodel\n"
	"                          convert an ONNX or Caffe model into a featmodel\n"
	"                          file, check that it builds, and write OUT\n"
	"  fitcodes -o OUT --bits K --from LAYER MODEL STREAM\n"
	"                          run MODEL up to LAYER on every record's `input`\n"
	"                          in STREAM (a featstream from imgprep -m MODEL;\n"
	"                          - for standard input), fit K-bit codes to the\n"
	"                          features (PCA, then ITQ), and write OUT: MODEL\n"
	"                          cut after LAYER plus the code layer, for\n"
	"                          deepbit-extract -m OUT\n"
	"  quantize --calib STREAM -o OUT MODEL\n"
	"                          run MODEL (fp32) on every record's `input` in\n"
	"                          STREAM (imgprep -m MODEL; - for standard input),\n"
	"                          and write OUT: MODEL with its convolutions (but\n"
	"                          the first) and large inner products (but those\n"
	"                          of --fp32) marked int8, with their input scales\n"
	"\n"
	"  -b, --batch N     batch size for bench, run (default from IN's size) and\n"
	"                    fitcodes (default 16)\n"
	"  -n, --runs N      timed passes for bench (default 10, after one warm-up)\n"
	"  -t, --threads N   threads of one forward pass, 1 to 64 (default 1)\n"
	"  -o, --output FILE import, fitcodes: the featmodel file to write\n"
	"      --set KEY=VAL import, fitcodes: add metadata (repeatable): VAL is a\n"
	"                    number, a comma-separated list of numbers, or text\n"
	"      --labels FILE import: class names, one per line, as metadata 'labels'\n"
	"      --bits K      fitcodes: code bits, 1 to the features' dimension\n"
	"      --from LAYER  fitcodes: the layer (or blob) whose output is the\n"
	"                    feature, e.g. the pooled one before the classifier\n"
	"      --iters N     fitcodes: ITQ iterations (default 50)\n"
	"      --seed S      fitcodes: seed of ITQ's random start (default 1)\n"
	"      --features FILE  fitcodes: also write the features fitted on (raw\n"
	"                    float32, records x dimension), to check the fit elsewhere\n"
	"      --calib STREAM  quantize: the calibration inputs (at most 4096 records)\n"
	"      --percentile P  quantize: each input's step covers P%% of its non-zero\n"
	"                    |values| (default 100: the largest)\n"
	"      --fp32 LAYER  quantize: keep LAYER fp32 (repeatable, or a comma list)\n"
	FEAT_CLI_HELP
	"\n"
	"The kernel path (ref, avx512 or blas) is chosen from the CPU; the\n"
	"environment variable FEAT_KERNEL forces one.\n"
	"Exit status: 0 success, 2 usage (or a bad FEAT_KERNEL; fitcodes: an\n"
	"unknown LAYER, K over the features' dimension or not under the number\n"
	"of records), 3 the model file is invalid (fitcodes: or STREAM is not a\n"
	"featstream, holds an input the model cannot take, or no ok record),\n"
	"4 a file cannot be read or written.\n";

#define MAXSET 64

struct opts {
	const char *cmd, *model;
	int batch, runs, threads;
	char **args;
	int nargs;
	const char *output, *labels;
	const char *set[MAXSET];
	int nset;
	const char *from, *features;   /* fitcodes */
	int bits, iters;
	uint64_t seed;
	const char *calib;             /* quantize */
	double percentile;
	const char *fp32[MAXSET];
	int nfp32;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "runs", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "set", required_argument, NULL, 0x2001 },
		{ "labels", required_argument, NULL, 0x2002 },
		{ "bits", required_argument, NULL, 0x2003 },
		{ "from", required_argument, NULL, 0x2004 },
		{ "iters", required_argument, NULL, 0x2005 },
		{ "seed", required_argument, NULL, 0x2006 },
		{ "features", required_argument, NULL, 0x2007 },
		{ "calib", required_argument, NULL, 0x2008 },
		{ "percentile", required_argument, NULL, 0x2009 },
		{ "fp32", required_argument, NULL, 0x200a },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c, fit, quant;

	o->runs = 10;
	o->threads = 1;
	o->iters = 50;
	o->seed = 1;
	o->percentile = 100;
	while ((c = feat_getopt(argc, argv, "b:n:t:o:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'b': o->batch = (int)feat_cli_long("--batch", optarg, 1, 4096); break;
		case 'n': o->runs = (int)feat_cli_long("--runs", optarg, 1, 1000000); break;
		case 't': o->threads = (int)feat_cli_long("--threads", optarg, 1, FEAT_POOL_MAX); break;
		case 'o': o->output = optarg; break;
		case 0x2001:
			if (o->nset == MAXSET || !strchr(optarg, '=') || optarg[0] == '=' ||
			    strchr(optarg, '=') - optarg > 255)
				feat_die_usage("--set: expected KEY=VALUE (at most %d), got '%s'", MAXSET,
					       optarg);
			o->set[o->nset++] = optarg;
			break;
		case 0x2002: o->labels = optarg; break;
		case 0x2003: o->bits = (int)feat_cli_long("--bits", optarg, 1, FEAT_CODES_MAX_BITS); break;
		case 0x2004: o->from = optarg; break;
		case 0x2005: o->iters = (int)feat_cli_long("--iters", optarg, 0, 100000); break;
		case 0x2007: o->features = optarg; break;
		case 0x2006: o->seed = (uint64_t)feat_cli_long("--seed", optarg, 0, LONG_MAX); break;
		case 0x2008: o->calib = optarg; break;
		case 0x2009: {
			char *end;

			errno = 0;
			o->percentile = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->percentile >= 50 && o->percentile <= 100))
				feat_die_usage("--percentile: expected a number from 50 to 100, got '%s'", optarg);
			break;
		}
		case 0x200a:
			if (o->nfp32 == MAXSET)
				feat_die_usage("--fp32: at most %d times", MAXSET);
			o->fp32[o->nfp32++] = optarg;
			break;
		}
	}
	if (argc - optind < 2)
		feat_die_usage("expected a command and a model file");
	o->cmd = argv[optind];
	o->model = argv[optind + 1];
	o->args = argv + optind + 2;
	o->nargs = argc - optind - 2;
	if (strcmp(o->cmd, "info") && strcmp(o->cmd, "check") &&
	    strcmp(o->cmd, "bench") && strcmp(o->cmd, "run") && strcmp(o->cmd, "import") &&
	    strcmp(o->cmd, "fitcodes") && strcmp(o->cmd, "quantize"))
		feat_die_usage("unknown command '%s' (info, check, bench, run, import, fitcodes, quantize)",
			       o->cmd);
	fit = !strcmp(o->cmd, "fitcodes");
	quant = !strcmp(o->cmd, "quantize");
	if (!quant && (o->calib || o->nfp32 || o->percentile != 100))
		feat_die_usage("--calib, --percentile and --fp32 belong to quantize");
	if (quant) {
		if (!o->output || !o->calib)
			feat_die_usage("quantize: give the calibration stream with --calib STREAM and the file to write with -o OUT.fm");
		if (o->nset || o->labels || o->bits || o->from || o->features)
			feat_die_usage("quantize takes --calib, -o, --percentile and --fp32");
		if (o->nargs != 0)
			feat_die_usage("%s: wrong number of arguments", o->cmd);
		return;
	}
	if ((!strcmp(o->cmd, "import") || fit) && !o->output)
		feat_die_usage("%s: give the file to write with -o OUT.fm", o->cmd);
	if (strcmp(o->cmd, "import") && !fit && (o->output || o->nset || o->labels))
		feat_die_usage("-o, --set and --labels belong to import (-o and --set also to fitcodes)");
	if (fit && o->labels)
		feat_die_usage("--labels belongs to import");
	if (!fit && (o->bits || o->from || o->features))
		feat_die_usage("--bits, --from and --features belong to fitcodes");
	if (fit && (!o->bits || !o->from))
		feat_die_usage("fitcodes: give the code length with --bits K and the feature layer with --from LAYER");
	if (!strcmp(o->cmd, "run") ? o->nargs != 2 :
	    !strcmp(o->cmd, "import") ? o->nargs > 1 : fit ? o->nargs != 1 : o->nargs != 0)
		feat_die_usage("%s: wrong number of arguments", o->cmd);
}

/* MODEL is a path or a name such as "ssd", resolved as every program
 * resolves -m (feat_cli_model_path). */
static struct feat_net *load(const char *name)
{
	struct feat_net *n;
	char detail[512], path[4096];
	int e;

	if (feat_cli_model_path(name, path, sizeof path, detail, sizeof detail))
		feat_die(FEAT_EXIT_SYSTEM, "%s", detail);
	e = feat_net_load(&n, path, detail, sizeof detail);

	if (e)
		feat_die(feat_cli_model_exit(e), "%s", detail);
	return n;
}

static void print_value(const struct feat_value *v)
{
	uint32_t show = v->n > 16 ? 16 : v->n;

	switch (v->type) {
	case FEAT_V_INT: printf("%" PRId64, v->u.i); break;
	case FEAT_V_FLOAT: printf("%g", v->u.f); break;
	case FEAT_V_STR: printf("%s", v->u.s); break;
	case FEAT_V_INTS:
		for (uint32_t i = 0; i < show; i++)
			printf(i ? ",%" PRId64 : "%" PRId64, v->u.ints[i]);
		break;
	case FEAT_V_FLOATS:
		for (uint32_t i = 0; i < show; i++)
			printf(i ? ",%g" : "%g", v->u.floats[i]);
		break;
	case FEAT_V_STRS:
		for (uint32_t i = 0; i < show; i++)
			printf(i ? ",%s" : "%s", v->u.strs[i]);
		break;
	}
	if (show < v->n)
		printf(",... (%u)", v->n);
}

static void shape_str(const struct feat_blob *b, char *s, size_t len)
{
	size_t at = 0;

	s[0] = 0;
	for (int d = 1; d < b->ndim && at < len; d++)
		at += (size_t)snprintf(s + at, len - at, d > 1 ? "x%u" : "%u", b->dims[d]);
}

static void info(struct feat_net *n)
{
	uint64_t macs = 0, params = 0;
	int blocked = 0, quantised = 0;
	char shape[64];
	static const char *const acts[] = { "", "+relu", "+relu6", "+leaky", "+silu",
		"+hswish", "+sigmoid", "+hsig", "+gelu" };

	printf("model\t%s\n", n->model.nmeta ? "" : "(no metadata)");
	for (uint32_t i = 0; i < n->model.nmeta; i++) {
		printf("  %s\t", n->model.meta[i].key);
		print_value(&n->model.meta[i].v);
		putchar('\n');
	}
	printf("%-4s %-10s %-20s %-16s %12s %14s\n", "#", "type", "name", "output",
	       "params", "MACs");
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i];
		char type[32];

		shape_str(&n->blob[l->out[0]], shape, sizeof shape);
		/* an activation fused into a convolution shows on the convolution */
		snprintf(type, sizeof type, "%s%s", l->ops->type,
			 l->ops->in_place_ok ? "" : acts[l->act]);
		printf("%-4d %-10s %-20s %-16s %12" PRIu64 " %14" PRIu64 "%s", i, type,
		       l->name, shape, l->params, l->macs,
		       l->removed ? "  (folded)" :
		       feat_net_blob_nchwc(n, l->out[0]) ? "  (nchw16c)" : "");
		if (feat_param(l, "quant")) {
			const struct feat_value *sx = feat_param(l, "quant.scale");
			const struct feat_value *zp = feat_param(l, "quant.zero");

			printf("  int8 (input step %.4g, zero %d)", sx ? sx->u.f : 0.0,
			       zp ? (int)zp->u.i : 0);
			quantised++;
		} else if (!strcmp(l->ops->type, "conv") && feat_model_meta(&n->model, "quant.method")) {
			printf("  fp32");
		}
		putchar('\n');
		blocked += !l->removed && feat_net_blob_nchwc(n, l->out[0]);
		if (!l->removed) {
			macs += l->macs;
			params += l->params;
		}
	}
	printf("total: %d layers, %" PRIu64 " parameters, %.3f GMACs per image\n",
	       n->nlayer, params, macs / 1e9);
	if (blocked)
		printf("nchw16c: %d outputs kept channel-blocked (%s path)\n", blocked,
		       feat_kernel_name());
	if (quantised)
		printf("int8: %d layers quantised (u8 x s8); %s\n", quantised,
		       feat_kern_active()->qgemm ? "they run int8 on this path" :
		       "they run fp32 here (this path has no int8 product: no AVX512_VNNI, or OpenBLAS)");
	{
		size_t shared, own;

		if (!feat_net_activations(n, &shared, &own))
			printf("activations: %.3g MB per image in %d buffers (%.3g MB "
			       "with one per blob)\n", shared * 4.0 / 1e6, n->nslab, own * 4.0 / 1e6);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Synthetic input: a fixed pseudo-random pattern, so runs are comparable. */
static void fill_input(struct feat_net *n, int batch)
{
	float *x = feat_net_data(n, n->input[0]);
	size_t cnt = (size_t)batch * n->blob[n->input[0]].count;
	uint32_t s = 12345;

	for (size_t i = 0; i < cnt; i++) {
		s = s * 1664525u + 1013904223u;
		x[i] = (float)(s >> 8) / (float)(1 << 24) * 2 - 1;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The core's name: /proc/cpuinfo's "model name" (Linux on x86) or
 * "Hardware"/"cpu model" elsewhere; "unknown CPU" without them. */
static void cpu_name(char *buf, size_t len)
{
	static const char *const keys[] = { "model name", "Hardware", "cpu model" };
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':'), *v;

		if (!colon)
			continue;
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			if (strncmp(line, keys[k], strlen(keys[k])) != 0)
				continue;
			for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
				;
			v[strcspn(v, "\n")] = '\0';
			if (*v) {
				snprintf(buf, len, "%s", v);
				fclose(f);
				return;
			}
		}
	}
	fclose(f);
}

static void bench(struct feat_net *n, const struct opts *o)
{
	int batch = o->batch ? o->batch : 1, e, nq = 0;
	double t0, t, macs = 0, peak, qpeak = 0, med, *pass;
	const struct feat_kern *k = feat_kern_active();
	char cpu[256];

	/* the peak first, with the active table's instructions, on a quiet
	 * core (before the passes warm it or the caches) */
	cpu_name(cpu, sizeof cpu);
	peak = k->peak();
	for (int i = 0; i < n->nlayer; i++)
		nq += !n->layer[i].removed && feat_param(&n->layer[i], "quant") != NULL;
	if (nq && k->qgemm && k->qpeak)
		qpeak = k->qpeak();
	if ((e = feat_net_reserve(n, batch)))
		feat_die(FEAT_EXIT_SYSTEM, "batch %d: %s", batch, feat_strerror(e));
	fill_input(n, batch);
	feat_net_forward(n, batch);  /* warm-up: page in weights, pack */
	n->profile = 1;
	for (int i = 0; i < n->nlayer; i++)
		n->layer[i].seconds = 0;
	if (!(pass = malloc(sizeof *pass * (size_t)o->runs)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	t = 0;
	for (int r = 0; r < o->runs; r++) {
		t0 = now();
		feat_net_forward(n, batch);
		pass[r] = now() - t0;
		t += pass[r];
	}
	qsort(pass, (size_t)o->runs, sizeof *pass, cmp_double);
	med = o->runs % 2 ? pass[o->runs / 2] : (pass[o->runs / 2 - 1] + pass[o->runs / 2]) / 2;
	for (int i = 0; i < n->nlayer; i++)
		if (!n->layer[i].removed)
			macs += (double)n->layer[i].macs;
	printf("kernel %s, batch %d, %d runs, %d thread%s\n", k->name,
	       batch, o->runs, o->threads, o->threads > 1 ? "s" : "");
	printf("core: %s; its fp32 peak with the %s kernels, measured: %.1f GFLOP/s\n", cpu,
	       k->name, peak);
	if (qpeak > 0)
		printf("its int8 peak (vpdpbusd), measured: %.1f Gop/s: the %%peak of the %d int8 layers\n",
		       qpeak, nq);
	printf("%-4s %-10s %-20s %10s %7s %9s %6s\n", "#", "type", "name", "ms/batch", "time",
	       "GFLOP/s", "%peak");
	for (int i = 0; i < n->nlayer; i++) {
		struct feat_layer *l = &n->layer[i];
		double ms = l->seconds / o->runs * 1e3;
		double gf = l->seconds > 0 ? 2.0 * l->macs * batch * o->runs / l->seconds / 1e9 : 0;

		if (l->removed)
			continue;
		printf("%-4d %-10s %-20s %10.3f %6.1f%% %9.1f", i, l->ops->type, l->name, ms,
		       100 * l->seconds / t, gf);
		if (qpeak > 0 && feat_param(l, "quant"))
			printf(" %5.0f%% int8", 100 * gf / qpeak);
		else if (peak > 0)
			printf(" %5.0f%%", 100 * gf / peak);
		putchar('\n');
	}
	if (peak > 0)
		printf("(GFLOP/s count 2 x the multiply-adds of the direct computation: a "
		       "Winograd layer can show more than the peak)\n");
	printf("per batch: median %.2f ms, best %.2f, mean %.2f, worst %.2f\n", med * 1e3,
	       pass[0] * 1e3, t / o->runs * 1e3, pass[o->runs - 1] * 1e3);
	printf("%.2f images/s, %.2f ms per batch, %.1f GFLOP/s\n",
	       batch / med, med * 1e3, 2 * macs * batch / med / 1e9);
	free(pass);
}

static void run(struct feat_net *n, const struct opts *o)
{
	const char *in = o->args[0], *prefix = o->args[1];
	FILE *f = fopen(in, "rb");
	size_t per = n->blob[n->input[0]].count * sizeof(float), got;
	long size;
	int batch, e;

	if (!f)
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", in, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot read", in);
	if (size == 0 || (size_t)size % per)
		feat_die(FEAT_EXIT_USAGE, "%s: %ld bytes is not a whole number of inputs of %zu bytes",
			 in, size, per);
	batch = (int)((size_t)size / per);
	if (o->batch && o->batch != batch)
		feat_die(FEAT_EXIT_USAGE, "%s holds %d inputs, not %d", in, batch, o->batch);
	if ((e = feat_net_reserve(n, batch)))
		feat_die(FEAT_EXIT_SYSTEM, "batch %d: %s", batch, feat_strerror(e));
	got = fread(feat_net_data(n, n->input[0]), 1, (size_t)size, f);
	fclose(f);
	if (got != (size_t)size)
		feat_die(FEAT_EXIT_SYSTEM, "%s: short read", in);
	feat_net_forward(n, batch);
	for (int i = 0; i < n->noutput; i++) {
		const struct feat_blob *b = &n->blob[n->output[i]];
		char path[4096];
		FILE *w;

		snprintf(path, sizeof path, "%s.%s.f32", prefix, b->name);
		if (!(w = fopen(path, "wb")) ||
		    fwrite(feat_net_data(n, n->output[i]), sizeof(float), b->count * (size_t)batch, w) !=
			    b->count * (size_t)batch ||
		    fclose(w))
			feat_die(FEAT_EXIT_SYSTEM, "%s: cannot write: %s", path, strerror(errno));
		feat_info("wrote %s (%d x %zu floats)", path, batch, b->count);
	}
}

/* import: converted and checked by the library, then written; a model
 * that cannot run is not left behind, and an old OUT stays when the
 * import fails.  One file is ONNX; two are Caffe's deploy.prototxt and
 * .caffemodel. */
static void import(const struct opts *o)
{
	struct feat_outfile *out;
	unsigned char *bytes;
	size_t nbytes;
	char why[512];
	int e, layers;

	if ((e = feat_model_import(o->model, o->nargs == 1 ? o->args[0] : NULL, o->set, o->nset,
				   o->labels, &bytes, &nbytes, &layers, why, sizeof why)))
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", why);
	out = feat_cli_create(o->output);
	if ((e = feat_write_full(out->fd, bytes, nbytes)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", o->output, strerror(e));
	free(bytes);
	feat_cli_commit(out);
	if (feat_verbose >= 0)
		printf("%s: %d layers, written to %s\n", o->model, layers, o->output);
}

/* ------------------------------------------------------------ fitcodes */


/* Build a network from a builder's bytes (kept in *buf until the net is
 * freed). */
static struct feat_net *build_net(feat_model_builder *b, unsigned char **buf, const char *what)
{
	struct feat_model m;
	struct feat_net *n;
	char detail[512];
	size_t len;
	int e;

	if ((e = feat_mb_encode(b, buf, &len)))
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s: %s", what, feat_strerror(e));
	if ((e = feat_model_parse(&m, *buf, len, detail, sizeof detail)) ||
	    (e = feat_net_build(&n, &m, detail, sizeof detail)))
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s: the network does not build: %s", what, detail);
	return n;
}

/* The features of a record: its `input` checked against the model's
 * input shape and copied to dst; a record the model cannot take stops the
 * run (exit 3) with one line naming it. */
static void take_input(feat_reader *rd, struct feat_rec *r, const struct feat_blob *in,
	const char *stream, float *dst)
{
	struct feat_tensor *t = feat_rec_find(r, "input");
	uint64_t at = feat_reader_records(rd);
	int fits = t && t->dtype == FEAT_DT_F32 && t->ndim == in->ndim - 1;
	char got[128] = "", want[128] = "";
	size_t k, cnt;

	for (int d = 1; d < in->ndim; d++) {
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%u", d > 1 ? " " : "",
			 in->dims[d]);
		fits = fits && t->dims[d - 1] == in->dims[d];
	}
	if (!t) {
		feat_reader_drain(rd);
		feat_die(FEAT_EXIT_STREAM, "%s: record %" PRIu64 " '%.200s' has no 'input' tensor; the model needs f32 [%s] (prepare the photos with imgprep -m MODEL)",
			 stream, at, r->key, want);
	}
	if (!fits) {
		for (int d = 0; d < t->ndim; d++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u", d ? " " : "",
				 (unsigned)t->dims[d]);
		feat_reader_drain(rd);
		feat_die(FEAT_EXIT_STREAM, "%s: record %" PRIu64 " '%.200s': 'input' is %s [%s]; the model needs f32 [%s] (prepare the photos with imgprep -m MODEL)",
			 stream, at, r->key,
			 feat_dtype_name(t->dtype) ? feat_dtype_name(t->dtype) : "?", got, want);
	}
	cnt = in->count;
	if ((k = feat_f32_nonfinite(t->data, cnt)) < cnt) {
		feat_reader_drain(rd);
		feat_die(FEAT_EXIT_STREAM, "%s: record %" PRIu64 " '%.200s': 'input' holds %s at element %zu",
			 stream, at, r->key, isnan(((float *)t->data)[k]) ? "NaN" : "an infinity", k);
	}
	memcpy(dst, t->data, cnt * sizeof *dst);
}

/* Run the net over the batch in its input blob and append the features
 * (D floats a record) to *x. */
static void features(feat_reader *rd, struct feat_net *n, int m, float **x, size_t *nx,
	size_t *cap, size_t d, char **keys)
{
	const float *out;
	size_t bad;
	int e;

	if (!m)
		return;
	if ((e = feat_net_forward(n, m)))
		feat_die(FEAT_EXIT_SYSTEM, "forward pass: %s", feat_strerror(e));
	out = feat_net_data(n, n->output[0]);
	for (int i = 0; i < m; i++)
		if ((bad = feat_f32_nonfinite(out + i * d, d)) < d) {
			feat_reader_drain(rd);
			feat_die(FEAT_EXIT_STREAM, "'%.200s': feature %zu is not finite (the network overflows on this input)",
				 keys[i], bad);
		}
	if (*nx + (size_t)m > *cap) {
		float *nb;

		*cap = *cap ? 2 * *cap : 1024;
		if (*cap < *nx + (size_t)m)
			*cap = *nx + (size_t)m;
		if (!(nb = realloc(*x, *cap * d * sizeof *nb)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory for %zu features of %zu values",
				 *cap, d);
		*x = nb;
	}
	memcpy(*x + *nx * d, out, (size_t)m * d * sizeof *out);
	*nx += (size_t)m;
}

/*
 * fitcodes: the network up to LAYER over every ok record, PCA + ITQ on
 * the features, and OUT = that network plus fc (weights (P R)^T, bias
 * -(P R)^T mean) and a sigmoid, so that a bit (activation > 0.5) is the
 * sign of the ITQ projection of the centred feature.
 */
static void fitcodes(const struct opts *o)
{
	char path[4096], detail[512], what[8192], *keys[4096] = { 0 };
	const char *stream = o->args[0], *blob, *sname;
	const struct feat_value *v;
	struct feat_model m;
	struct feat_net *net;
	struct feat_outfile *out;
	struct feat_itq_fit fit = { 0 };
	struct feat_rec r;
	feat_model_builder *b;
	feat_reader *rd;
	unsigned char *buf, *bytes;
	float *x = NULL, *in, *w, *bias;
	size_t d, nx = 0, cap = 0, nbytes;
	uint64_t skipped = 0;
	double t0 = (double)clock() / CLOCKS_PER_SEC, loss0;
	int last, e, fd, batch = o->batch ? o->batch : 16, nb = 0, k = o->bits;

	if (feat_cli_model_path(o->model, path, sizeof path, detail, sizeof detail))
		feat_die(FEAT_EXIT_SYSTEM, "%s", detail);
	if ((e = feat_model_load(&m, path, detail, sizeof detail)))
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
	if ((last = feat_model_find_output(&m, o->from, &blob, detail, sizeof detail)) < 0)
		feat_die(FEAT_EXIT_USAGE, "%s: --from %s: %s", path, o->from, detail);
	/* the network up to LAYER, from which the features come */
	if (!(b = feat_model_builder_new()) || (e = feat_model_cut(b, &m, last, blob)) ||
	    (e = feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1,
								     .u.strs = &blob })))
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot cut the network: %s", path,
			 b ? feat_strerror(e) : "out of memory");
	snprintf(what, sizeof what, "%s up to %.4000s", path, o->from);
	net = build_net(b, &buf, what);
	feat_model_builder_free(b);
	d = net->blob[net->output[0]].count;
	if ((size_t)k > d)
		feat_die(FEAT_EXIT_USAGE, "--bits %d: '%s' gives %zu features, so at most %zu bits",
			 k, o->from, d, d);
	if (d > INT_MAX / 4)
		feat_die(FEAT_EXIT_USAGE, "'%s' gives %zu features: too many to fit codes on",
			 o->from, d);
	if ((e = feat_net_reserve(net, batch)))
		feat_die(FEAT_EXIT_SYSTEM, "batch %d: %s", batch, feat_strerror(e));
	if (o->threads > 1 && (e = feat_net_set_threads(net, o->threads)))
		feat_die(FEAT_EXIT_SYSTEM, "--threads %d: %s", o->threads, feat_strerror(e));
	in = feat_net_data(net, net->input[0]);
	/* every record of STREAM: error records skipped, ok ones batched */
	rd = feat_cli_open_reader(stream, &fd);
	sname = strcmp(stream, "-") ? stream : "standard input";
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) == 1) {
		if (r.status != FEAT_ST_OK) {
			skipped++;
			continue;
		}
		take_input(rd, &r, &net->blob[net->input[0]], sname,
			   in + (size_t)nb * net->blob[net->input[0]].count);
		free(keys[nb]);
		if (!(keys[nb] = strdup(r.key)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		if (++nb == batch) {
			features(rd, net, nb, &x, &nx, &cap, d, keys);
			nb = 0;
		}
		if (feat_show_progress)
			feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 0);
	}
	if (e < 0)
		feat_cli_stream_fail(rd, e);
	features(rd, net, nb, &x, &nx, &cap, d, keys);
	feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 1);
	feat_reader_free(rd);
	if (fd != STDIN_FILENO)
		close(fd);
	feat_rec_free(&r);
	for (int i = 0; i < batch && i < 4096; i++)
		free(keys[i]);
	feat_net_free(net);
	free(buf);
	if (skipped)
		feat_warn("%s: skipped %" PRIu64 " error record%s", sname, skipped,
			  skipped > 1 ? "s" : "");
	if (!nx)
		feat_die(FEAT_EXIT_STREAM, "%s: no ok record to fit codes on", sname);
	if ((size_t)k >= nx)
		feat_die(FEAT_EXIT_USAGE, "--bits %d needs at least %d ok records; %s has %zu",
			 k, k + 1, sname, nx);
	feat_info("%s: %zu records, %zu features each from '%s' (%s); fitting %d bits",
		  sname, nx, d, o->from, blob, k);
	if (o->features) {
		struct feat_outfile *f = feat_cli_create(o->features);

		if ((e = feat_write_full(f->fd, x, nx * d * sizeof *x)))
			feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", o->features, strerror(e));
		feat_cli_commit(f);
	}
	/* PCA + ITQ */
	fit.mean = malloc(sizeof(double) * d);
	fit.eig = malloc(sizeof(double) * (size_t)k);
	fit.proj = malloc(sizeof(double) * d * (size_t)k);
	fit.loss = malloc(sizeof(double) * ((size_t)o->iters + 1));
	w = malloc(sizeof(float) * d * (size_t)k);
	bias = malloc(sizeof(float) * (size_t)k);
	if (!fit.mean || !fit.eig || !fit.proj || !fit.loss || !w || !bias)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	if ((e = feat_itq_fit(x, nx, (int)d, k, o->iters, o->seed, &fit)))
		feat_die(FEAT_EXIT_SYSTEM, "fitting: %s", feat_strerror(e));
	free(x);
	loss0 = fit.loss[0];
	{
		int flat = 0;

		for (int j = 0; j < k; j++)
			flat += !(fit.eig[j] > 1e-9 * fit.eig[0]);
		if (flat)
			feat_warn("the features vary along only %d of the %d directions: %d bits will hardly vary (fewer --bits, or more varied photos)",
				  k - flat, k, flat);
	}
	for (int j = 0; j < k; j++) {
		double s = 0;

		for (size_t i = 0; i < d; i++) {
			w[(size_t)j * d + i] = (float)fit.proj[i * (size_t)k + j];
			s += (double)w[(size_t)j * d + i] * fit.mean[i];
		}
		bias[j] = (float)-s;
	}
	/* OUT: the same cut, the code layer, the metadata */
	{
		uint32_t wd[2] = { (uint32_t)k, (uint32_t)d }, bd[1] = { (uint32_t)k }, widx[2];
		const char *proj = "fitcodes.proj", *code = "fitcodes.code";
		const char *name = (v = feat_model_meta(&m, "name")) && v->type == FEAT_V_STR ? v->u.s
			: o->model;
		char text[1024];
		int ti;

		if (!(b = feat_model_builder_new()) || (e = feat_model_cut(b, &m, last, blob)))
			feat_die(FEAT_EXIT_SYSTEM, "%s: cannot cut the network: %s", path,
				 b ? feat_strerror(e) : "out of memory");
		if ((ti = feat_mb_tensor(b, "fitcodes.weight", FEAT_DT_F32, 2, wd, w)) < 0 ||
		    (widx[0] = (uint32_t)ti,
		     (ti = feat_mb_tensor(b, "fitcodes.bias", FEAT_DT_F32, 1, bd, bias)) < 0) ||
		    (widx[1] = (uint32_t)ti,
		     feat_mb_layer(b, "fc", "fitcodes.proj", 1, &blob, 1, &proj, 0, NULL, 2, widx)) ||
		    feat_mb_layer(b, "sigmoid", "fitcodes.code", 1, &proj, 1, &code, 0, NULL, 0, NULL))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		e = feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1,
									    .u.strs = &code });
		snprintf(text, sizeof text, "%.200s-itq%d", name, k);
		e = e ? e : feat_mb_meta(b, "name", &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = text });
		snprintf(text, sizeof text, "%d-bit codes (PCA + ITQ) of the features of '%.200s' of %.200s, fitted on %zu records by featmodel fitcodes",
			 k, o->from, name, nx);
		e = e ? e : feat_mb_meta(b, "description", &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = text });
#define META_INT(key, val) \
		e = e ? e : feat_mb_meta(b, key, &(struct feat_value){ .type = FEAT_V_INT, .n = 1, .u.i = (val) })
#define META_FLOAT(key, val) \
		e = e ? e : feat_mb_meta(b, key, &(struct feat_value){ .type = FEAT_V_FLOAT, .n = 1, .u.f = (val) })
		META_INT("code.bits", k);
		e = e ? e : feat_mb_meta(b, "fit.layer", &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = o->from });
		META_INT("fit.n", (int64_t)nx);
		META_INT("fit.bits", k);
		META_INT("fit.features", (int64_t)d);
		META_INT("fit.iters", o->iters);
		META_INT("fit.seed", (int64_t)o->seed);
		META_FLOAT("fit.loss", fit.loss[o->iters]);
		META_FLOAT("fit.loss0", loss0);
		META_FLOAT("fit.variance", fit.variance);
#undef META_INT
#undef META_FLOAT
		if (e)
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		for (int i = 0; i < o->nset; i++)
			if (feat_mb_meta_kv(b, o->set[i], detail, sizeof detail))
				feat_die(FEAT_EXIT_USAGE, "--set %s", detail);
		if ((e = feat_mb_encode(b, &bytes, &nbytes)))
			feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s: %s", o->output, feat_strerror(e));
		feat_model_builder_free(b);
	}
	out = feat_cli_create(o->output);
	if ((e = feat_write_full(out->fd, bytes, nbytes)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", o->output, strerror(e));
	free(bytes);
	if ((e = feat_net_load(&net, out->tmp ? out->tmp : o->output, detail, sizeof detail)))
		feat_die(FEAT_EXIT_STREAM, "%s: the network with the code layer does not build: %s",
			 o->output, detail);
	feat_cli_commit(out);
	feat_net_free(net);
	feat_model_free(&m);
	feat_info("fit: covariance %.2f s, eigenvectors %.2f s, ITQ %.2f s (CPU)", fit.seconds[0],
		  fit.seconds[1], fit.seconds[2]);
	if (feat_verbose >= 0)
		printf("%s: %d-bit codes of '%s' (%zu features) from %zu records: the %d principal directions hold %.1f%% of the variance; quantisation loss %.4g per record (%.4g before ITQ); %.1f s CPU\n",
		       o->output, k, o->from, d, nx, k, 100 * fit.variance, fit.loss[o->iters], loss0,
		       (double)clock() / CLOCKS_PER_SEC - t0);
	free(fit.mean);
	free(fit.eig);
	free(fit.proj);
	free(fit.loss);
	free(w);
	free(bias);
}

/* ------------------------------------------------------------ quantize */

/* 1 when layer name is one of --fp32's (each a name or a comma list). */
static int keep_fp32(const struct opts *o, const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < o->nfp32; i++)
		for (const char *p = o->fp32[i]; *p;) {
			size_t n = strcspn(p, ",");

			if (n == len && !strncmp(p, name, n))
				return 1;
			p += n + (p[n] == ',');
		}
	return 0;
}

#define QUANT_MAX_RECORDS 4096

/*
 * quantize: MODEL without any quant parameter is built (fp32) and run
 * over the ok records of STREAM, noting for each candidate convolution
 * (group 1, not on a graph input) the largest |x| and the smallest x of
 * its input (and with --percentile below 100, a second pass over the
 * same inputs, kept in memory, for the histogram of |x|).  OUT is MODEL
 * with quant, quant.scale and quant.zero on each candidate not named by
 * --fp32, and metadata saying how it was calibrated.
 */
static void quantize(const struct opts *o)
{
	char path[4096], detail[512];
	const char *sname;
	struct feat_model m;
	struct feat_net *net;
	struct feat_qcalib cal;
	struct feat_qlayer *q;
	struct feat_outfile *out;
	struct feat_rec r;
	feat_model_builder *b;
	feat_reader *rd;
	unsigned char *buf, *bytes;
	float *inputs = NULL, *in;
	size_t per, nbytes;
	uint64_t skipped = 0;
	int e, fd, nrec = 0, nint8 = 0, nkept = 0;

	if (feat_cli_model_path(o->model, path, sizeof path, detail, sizeof detail))
		feat_die(FEAT_EXIT_SYSTEM, "%s", detail);
	if ((e = feat_model_load(&m, path, detail, sizeof detail)))
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", detail);
	for (int i = 0; i < o->nfp32; i++)
		for (const char *p = o->fp32[i]; *p;) {
			size_t n = strcspn(p, ",");
			uint32_t j;

			for (j = 0; j < m.nlayer; j++)
				if (strlen(m.layer[j].name) == n && !strncmp(m.layer[j].name, p, n))
					break;
			if (j == m.nlayer)
				feat_die(FEAT_EXIT_USAGE, "--fp32 %.*s: %s has no such layer", (int)n, p,
					 path);
			p += n + (p[n] == ',');
		}
	/* the fp32 network (a model quantised before loses its quant) */
	if (!(b = feat_model_builder_new()) || (e = feat_quant_copy(b, &m, NULL)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot copy the model: %s", path,
			 b ? feat_strerror(e) : "out of memory");
	net = build_net(b, &buf, path);
	feat_model_builder_free(b);
	if ((e = feat_net_reserve(net, 1)) || (e = feat_qcalib_init(&cal, net)))
		feat_die(FEAT_EXIT_SYSTEM, "%s", feat_strerror(e));
	in = feat_net_data(net, net->input[0]);
	per = net->blob[net->input[0]].count;
	rd = feat_cli_open_reader(o->calib, &fd);
	sname = strcmp(o->calib, "-") ? o->calib : "standard input";
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) == 1) {
		if (r.status != FEAT_ST_OK) {
			skipped++;
			continue;
		}
		if (nrec == QUANT_MAX_RECORDS) {
			feat_warn("%s: calibrating on the first %d ok records", sname, nrec);
			feat_reader_drain(rd);
			break;
		}
		take_input(rd, &r, &net->blob[net->input[0]], sname, in);
		if (o->percentile < 100) {
			float *ni = realloc(inputs, sizeof *ni * per * (size_t)(nrec + 1));

			if (!ni)
				feat_die(FEAT_EXIT_SYSTEM, "out of memory for %d calibration inputs",
					 nrec + 1);
			inputs = ni;
			memcpy(inputs + per * (size_t)nrec, in, sizeof *in * per);
		}
		feat_qcalib_image(&cal, 1);
		nrec++;
		if (feat_show_progress)
			feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 0);
	}
	if (e < 0)
		feat_cli_stream_fail(rd, e);
	feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 1);
	feat_reader_free(rd);
	if (fd != STDIN_FILENO)
		close(fd);
	feat_rec_free(&r);
	if (skipped)
		feat_warn("%s: skipped %" PRIu64 " error record%s", sname, skipped,
			  skipped > 1 ? "s" : "");
	if (!nrec)
		feat_die(FEAT_EXIT_STREAM, "%s: no ok record to calibrate on", sname);
	for (int i = 0; i < nrec && inputs; i++) {
		memcpy(in, inputs + per * (size_t)i, sizeof *in * per);
		feat_qcalib_image(&cal, 2);
	}
	free(inputs);
	if (!(q = calloc(m.nlayer + 1, sizeof *q)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	for (int i = 0; i < net->nlayer; i++) {
		if (!cal.cand[i])
			continue;
		if (keep_fp32(o, net->layer[i].name)) {
			nkept++;
			continue;
		}
		q[i].on = 1;
		feat_qcalib_scale(&cal, i, o->percentile, &q[i].sx, &q[i].zp);
		nint8++;
		feat_info("%s: input |x| <= %.4g%s: step %.4g, zero point %d", net->layer[i].name,
			  cal.amax[i], cal.vmin[i] < 0 ? " (signed)" : "", q[i].sx, q[i].zp);
	}
	feat_qcalib_free(&cal);
	feat_net_free(net);
	free(buf);
	if (!(b = feat_model_builder_new()) || (e = feat_quant_copy(b, &m, q)) ||
	    (e = feat_mb_meta(b, "quant.method", &(struct feat_value){ .type = FEAT_V_STR, .n = 1,
								      .u.s = "u8s8" })) ||
	    (e = feat_mb_meta(b, "quant.calib.records", &(struct feat_value){ .type = FEAT_V_INT,
									   .n = 1, .u.i = nrec })) ||
	    (e = feat_mb_meta(b, "quant.calib.percentile", &(struct feat_value){
				      .type = FEAT_V_FLOAT, .n = 1, .u.f = o->percentile })) ||
	    (e = feat_mb_encode(b, &bytes, &nbytes)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: %s", o->output, b ? feat_strerror(e) : "out of memory");
	feat_model_builder_free(b);
	free(q);
	out = feat_cli_create(o->output);
	if ((e = feat_write_full(out->fd, bytes, nbytes)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", o->output, strerror(e));
	free(bytes);
	if ((e = feat_net_load(&net, out->tmp ? out->tmp : o->output, detail, sizeof detail)))
		feat_die(FEAT_EXIT_STREAM, "%s: the quantised network does not build: %s", o->output,
			 detail);
	feat_cli_commit(out);
	feat_net_free(net);
	feat_model_free(&m);
	if (feat_verbose >= 0)
		printf("%s: %d layers int8, %d kept fp32 by --fp32, calibrated on %d records (percentile %g)\n",
		       o->output, nint8, nkept, nrec, o->percentile);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct feat_net *n;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	if (!strcmp(o.cmd, "import")) {
		import(&o);
		return FEAT_EXIT_OK;
	}
	if (!strcmp(o.cmd, "quantize")) {
		quantize(&o);
		if (fflush(stdout) || ferror(stdout))
			feat_die(FEAT_EXIT_SYSTEM, "standard output: write error");
		return FEAT_EXIT_OK;
	}
	if (!strcmp(o.cmd, "fitcodes")) {
		fitcodes(&o);
		if (fflush(stdout) || ferror(stdout))
			feat_die(FEAT_EXIT_SYSTEM, "standard output: write error");
		return FEAT_EXIT_OK;
	}
	n = load(o.model);
	if (o.threads > 1) {
		int e = feat_net_set_threads(n, o.threads);

		if (e)
			feat_die(FEAT_EXIT_SYSTEM, "--threads %d: %s", o.threads, feat_strerror(e));
	}
	if (!strcmp(o.cmd, "info"))
		info(n);
	else if (!strcmp(o.cmd, "bench"))
		bench(n, &o);
	else if (!strcmp(o.cmd, "run"))
		run(n, &o);
	else if (feat_verbose >= 0)
		printf("%s: ok: %d layers\n", o.model, n->nlayer);
	feat_net_free(n);
	if (fflush(stdout) || ferror(stdout))
		feat_die(FEAT_EXIT_SYSTEM, "standard output: write error");
	return FEAT_EXIT_OK;
}
