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
 *   featmodel quantize --bf16 -o OUT.fm MODEL    the same layers bf16 (no calibration)
 *
 * Like every program, it uses <feat.h> and cmd/common alone: info, bench
 * and run go through feat_net(3) (the layer table, per-layer timing, raw
 * forward passes), fitcodes through feat_codes_fit(3), quantize through
 * feat_quantize(3), import through feat_model_import(3).
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

#include "common/cli.h"

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
	"  quantize --bf16 -o OUT MODEL\n"
	"                          the same layers marked bf16 instead (bfloat16\n"
	"                          weights and inputs, fp32 sums): no calibration\n"
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
	"      --bf16        quantize: mark the layers bf16, not int8 (no --calib)\n"
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
	int bf16;                      /* quantize --bf16 */
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
		{ "bf16", no_argument, NULL, 0x200b },
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
		case 't': o->threads = (int)feat_cli_long("--threads", optarg, 1, FEAT_THREADS_MAX); break;
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
		case 0x200b: o->bf16 = 1; break;
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
	if (!quant && (o->calib || o->nfp32 || o->percentile != 100 || o->bf16))
		feat_die_usage("--calib, --percentile, --fp32 and --bf16 belong to quantize");
	if (quant && o->bf16) {
		if (!o->output)
			feat_die_usage("quantize --bf16: give the file to write with -o OUT.fm");
		if (o->calib || o->percentile != 100)
			feat_die_usage("quantize --bf16 needs no calibration: no --calib or --percentile");
	}
	if (quant) {
		if (!o->output || (!o->calib && !o->bf16))
			feat_die_usage("quantize: give the calibration stream with --calib STREAM and the file to write with -o OUT.fm");
		if (o->nset || o->labels || o->bits || o->from || o->features)
			feat_die_usage("quantize takes --calib, -o, --percentile, --fp32 and --bf16");
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
static feat_net *load(const char *name)
{
	feat_net *n;
	char detail[512], path[4096];
	int e;

	if (feat_cli_model_path(name, path, sizeof path, detail, sizeof detail))
		feat_die(FEAT_EXIT_SYSTEM, "%s", detail);
	e = feat_net_load(&n, path, detail, sizeof detail);

	if (e)
		feat_die(feat_cli_model_exit(e), "%s", detail);
	return n;
}

static void info(feat_net *n)
{
	struct feat_net_info ni;
	struct feat_net_layer l;
	uint64_t macs = 0, params = 0;
	int blocked = 0, quantised = 0, qmodel = 0, halves = 0;
	char shape[64], text[4096];
	const char *key;

	feat_net_info(n, &ni);
	printf("model\t%s\n", ni.meta ? "" : "(no metadata)");
	for (int i = 0; feat_net_meta(n, i, &key, text, sizeof text) == 0; i++) {
		printf("  %s\t%s\n", key, text);
		qmodel |= !strcmp(key, "quant.method");
	}
	printf("%-4s %-10s %-20s %-16s %12s %14s\n", "#", "type", "name", "output",
	       "params", "MACs");
	for (int i = 0; feat_net_layer(n, i, &l) == 0; i++) {
		char type[32];
		size_t at = 0;

		shape[0] = '\0';
		for (int d = 1; d < l.ndim && at < sizeof shape; d++)
			at += (size_t)snprintf(shape + at, sizeof shape - at, d > 1 ? "x%u" : "%u",
					       l.dims[d]);
		/* an activation fused into a convolution shows on the convolution */
		snprintf(type, sizeof type, "%s%s%s", l.type, *l.fused ? "+" : "", l.fused);
		printf("%-4d %-10s %-20s %-16s %12" PRIu64 " %14" PRIu64 "%s", i, type,
		       l.name, shape, l.params, l.macs,
		       l.folded ? "  (folded)" : l.blocked ? "  (nchw16c)" : "");
		if (l.int8) {
			printf("  int8 (input step %.4g, zero %d)", l.quant_step, l.quant_zero);
			quantised++;
		} else if (l.bf16) {
			printf("  bf16");
			halves++;
		} else if (!strcmp(l.type, "conv") && qmodel) {
			printf("  fp32");
		}
		putchar('\n');
		blocked += l.blocked;
		if (!l.folded) {
			macs += l.macs;
			params += l.params;
		}
	}
	printf("total: %d layers, %" PRIu64 " parameters, %.3f GMACs per image\n",
	       ni.layers, params, macs / 1e9);
	if (blocked)
		printf("nchw16c: %d outputs kept channel-blocked (%s path)\n", blocked,
		       feat_kernel_name());
	if (quantised)
		printf("int8: %d layers quantised (u8 x s8); %s\n", quantised,
		       feat_kernel_has_int8() ? "they run int8 on this path" :
		       "they run fp32 here (this path has no int8 product: no AVX512_VNNI, or OpenBLAS)");
	if (halves)
		printf("bf16: %d layers in bf16 (fp32 sums); %s\n", halves,
		       feat_kernel_has_bf16() ? "they run bf16 on this path" :
		       "they run fp32 here (this path has no bf16 product: no AVX512_BF16, or OpenBLAS)");
	{
		size_t shared, own;

		/* (the buffers are counted when the activations are planned) */
		if (!feat_net_activations(n, &shared, &own) && (feat_net_info(n, &ni), 1))
			printf("activations: %.3g MB per image in %d buffers (%.3g MB "
			       "with one per blob)\n", shared * 4.0 / 1e6, ni.buffers, own * 4.0 / 1e6);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Synthetic input: a fixed pseudo-random pattern, so runs are comparable. */
static void fill_input(feat_net *n, int batch)
{
	struct feat_net_tensor in;
	float *x;
	size_t cnt;
	uint32_t s = 12345;

	feat_net_input(n, 0, &in);
	x = in.data;
	cnt = (size_t)batch * in.count;
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

static void bench(feat_net *n, const struct opts *o)
{
	int batch = o->batch ? o->batch : 1, e, nq = 0, nb = 0;
	double t0, t, macs = 0, peak, qpeak = 0, bpeak = 0, med, *pass;
	const char *kname = feat_kernel_name();
	struct feat_net_layer l;
	char cpu[256];

	/* the peak first, with the active table's instructions, on a quiet
	 * core (before the passes warm it or the caches) */
	cpu_name(cpu, sizeof cpu);
	peak = feat_kernel_peak();
	for (int i = 0; feat_net_layer(n, i, &l) == 0; i++)
	{
		nq += !l.folded && l.int8;
		nb += !l.folded && l.bf16;
	}
	if (nq && feat_kernel_has_int8())
		qpeak = feat_kernel_int8_peak();
	if (nb && feat_kernel_has_bf16())
		bpeak = feat_kernel_bf16_peak();
	if ((e = feat_net_reserve(n, batch)))
		feat_die(FEAT_EXIT_SYSTEM, "batch %d: %s", batch, feat_strerror(e));
	fill_input(n, batch);
	feat_net_forward(n, batch);  /* warm-up: page in weights, pack */
	feat_net_profile(n, 1);
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
	for (int i = 0; feat_net_layer(n, i, &l) == 0; i++)
		if (!l.folded)
			macs += (double)l.macs;
	printf("kernel %s, batch %d, %d runs, %d thread%s\n", kname,
	       batch, o->runs, o->threads, o->threads > 1 ? "s" : "");
	printf("core: %s; its fp32 peak with the %s kernels, measured: %.1f GFLOP/s\n", cpu,
	       kname, peak);
	if (qpeak > 0)
		printf("its int8 peak (vpdpbusd), measured: %.1f Gop/s: the %%peak of the %d int8 layers\n",
		       qpeak, nq);
	if (bpeak > 0)
		printf("its bf16 peak (vdpbf16ps), measured: %.1f GFLOP/s: the %%peak of the %d bf16 layers\n",
		       bpeak, nb);
	else if (nb)
		printf("the %d bf16 layers run fp32 here (this path has no bf16 product)\n", nb);
	printf("%-4s %-10s %-20s %10s %7s %9s %6s\n", "#", "type", "name", "ms/batch", "time",
	       "GFLOP/s", "%peak");
	for (int i = 0; feat_net_layer(n, i, &l) == 0; i++) {
		double ms = l.seconds / o->runs * 1e3;
		double gf = l.seconds > 0 ? 2.0 * l.macs * batch * o->runs / l.seconds / 1e9 : 0;

		if (l.folded)
			continue;
		printf("%-4d %-10s %-20s %10.3f %6.1f%% %9.1f", i, l.type, l.name, ms,
		       100 * l.seconds / t, gf);
		if (qpeak > 0 && l.int8)
			printf(" %5.0f%% int8", 100 * gf / qpeak);
		else if (bpeak > 0 && l.bf16)
			printf(" %5.0f%% bf16", 100 * gf / bpeak);
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

static void run(feat_net *n, const struct opts *o)
{
	const char *in = o->args[0], *prefix = o->args[1];
	FILE *f = fopen(in, "rb");
	struct feat_net_tensor t;
	size_t per, got;
	long size;
	int batch, e;

	if (!f)
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", in, strerror(errno));
	feat_net_input(n, 0, &t);
	per = t.count * sizeof(float);
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
	feat_net_input(n, 0, &t);
	got = fread(t.data, 1, (size_t)size, f);
	fclose(f);
	if (got != (size_t)size)
		feat_die(FEAT_EXIT_SYSTEM, "%s: short read", in);
	feat_net_forward(n, batch);
	for (int i = 0; feat_net_output(n, i, &t) == 0; i++) {
		char path[4096];
		FILE *w;

		snprintf(path, sizeof path, "%s.%s.f32", prefix, t.name);
		if (!(w = fopen(path, "wb")) ||
		    fwrite(t.data, sizeof(float), t.count * (size_t)batch, w) !=
			    t.count * (size_t)batch ||
		    fclose(w))
			feat_die(FEAT_EXIT_SYSTEM, "%s: cannot write: %s", path, strerror(errno));
		feat_info("wrote %s (%d x %zu floats)", path, batch, t.count);
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

/*
 * Every ok record of STREAM ("-": standard input) to add(); error records
 * are skipped and counted on stderr.  add() returns 0, 1 to stop reading
 * (the rest is drained), or a FEAT_E_* that ends the run: exit 3 naming
 * the record for FEAT_E_INVAL (a record that does not fit the network),
 * else by feat_cli_exit_code.  Returns STREAM's name for messages.
 */
static const char *feed(const char *stream,
	int (*add)(void *ctx, struct feat_rec *r, char *why, size_t whylen), void *ctx)
{
	const char *sname = strcmp(stream, "-") ? stream : "standard input";
	char why[1024];
	uint64_t skipped = 0;
	struct feat_rec r;
	feat_reader *rd;
	int e, fd;

	rd = feat_cli_open_reader(stream, &fd);
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) == 1) {
		if (r.status != FEAT_ST_OK) {
			skipped++;
			continue;
		}
		if ((e = add(ctx, &r, why, sizeof why)) == 1) {
			feat_reader_drain(rd);
			break;
		}
		if (e) {
			feat_reader_drain(rd);
			if (e == FEAT_E_INVAL)
				feat_die(FEAT_EXIT_STREAM, "%s: record %" PRIu64 " %s", sname,
					 feat_reader_records(rd), why);
			feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s: %s", sname, why);
		}
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
	return sname;
}

static int fit_add(void *f, struct feat_rec *r, char *why, size_t whylen)
{
	return feat_codes_fit_add(f, r, why, whylen);
}

/*
 * fitcodes: feat_codes_fit(3) over every ok record of STREAM (error
 * records are skipped and counted), OUT written whole or not at all.
 */
static void fitcodes(const struct opts *o)
{
	char path[4096], why[1024];
	const char *stream = o->args[0], *sname;
	struct feat_codes_fit_opts fo;
	struct feat_codes_fit_info fi;
	struct feat_outfile *out, *fout = NULL;
	feat_codes_fitter *f;
	unsigned char *bytes;
	size_t nbytes;
	double t0 = (double)clock() / CLOCKS_PER_SEC;
	int e;

	if (feat_cli_model_path(o->model, path, sizeof path, why, sizeof why))
		feat_die(FEAT_EXIT_SYSTEM, "%s", why);
	feat_codes_fit_opts_init(&fo);
	fo.from = o->from;
	fo.bits = o->bits;
	fo.iters = o->iters;
	fo.seed = o->seed;
	if (o->batch)
		fo.batch = o->batch;
	fo.threads = o->threads;
	fo.name = o->model;
	fo.set = o->set;
	fo.nset = o->nset;
	if ((e = feat_codes_fit_open(&f, path, &fo, why, sizeof why))) {
		if (e == FEAT_E_NOTFOUND)
			feat_die(FEAT_EXIT_USAGE, "--from %s: %s", o->from, why);
		if (e == FEAT_E_RANGE)
			feat_die(FEAT_EXIT_USAGE, "--bits %d: %s", o->bits, why);
		if (e == FEAT_E_INVAL)
			feat_die(FEAT_EXIT_USAGE, "--set %s", why);
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", why);
	}
	/* every record of STREAM: error records skipped, ok ones fitted on */
	sname = feed(stream, fit_add, f);
	feat_codes_fit_info(f, &fi);
	if (!fi.records)
		feat_die(FEAT_EXIT_STREAM, "%s: no ok record to fit codes on", sname);
	if (fi.records <= (size_t)o->bits)
		feat_die(FEAT_EXIT_USAGE, "--bits %d needs at least %d ok records; %s has %zu",
			 o->bits, o->bits + 1, sname, fi.records);
	feat_info("%s: %zu records, %zu features each from '%s' (%s); fitting %d bits",
		  sname, fi.records, fi.dim, o->from, fi.blob, o->bits);
	/* the features, kept uncommitted until the fit succeeds */
	if (o->features) {
		const float *x;
		size_t nx;

		if ((e = feat_codes_fit_features(f, &x, &nx, why, sizeof why)))
			feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s: %s", sname, why);
		fout = feat_cli_create(o->features);
		if ((e = feat_write_full(fout->fd, x, nx * fi.dim * sizeof *x)))
			feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", o->features, strerror(e));
	}
	if ((e = feat_codes_fit_finish(f, &bytes, &nbytes, why, sizeof why)))
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s: %s",
			 e == FEAT_E_CORRUPT ? o->output : sname, why);
	feat_codes_fit_info(f, &fi);
	if (fi.flat)
		feat_warn("the features vary along only %d of the %d directions: %d bits will hardly vary (fewer --bits, or more varied photos)",
			  o->bits - fi.flat, o->bits, fi.flat);
	out = feat_cli_create(o->output);
	if ((e = feat_write_full(out->fd, bytes, nbytes)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", o->output, strerror(e));
	free(bytes);
	/* the model first, then the features: a failure before the model's
	 * rename leaves neither; one after it is said to have left the model */
	feat_cli_commit(out);
	if (fout && feat_outfile_commit(fout, why, sizeof why))
		feat_die(FEAT_EXIT_SYSTEM, "%s (%s was written; the features were not)", why,
			 o->output);
	feat_info("fit: covariance %.2f s, eigenvectors %.2f s, ITQ %.2f s (CPU)", fi.seconds[0],
		  fi.seconds[1], fi.seconds[2]);
	if (feat_verbose >= 0)
		printf("%s: %d-bit codes of '%s' (%zu features) from %zu records: the %d principal directions hold %.1f%% of the variance; quantisation loss %.4g per record (%.4g before ITQ); %.1f s CPU\n",
		       o->output, o->bits, o->from, fi.dim, fi.records, o->bits, 100 * fi.variance,
		       fi.loss, fi.loss0, (double)clock() / CLOCKS_PER_SEC - t0);
	feat_codes_fit_free(f);
}

/* ------------------------------------------------------------ quantize */

struct calib {
	feat_quantizer *q;
	const char *sname;
};

/* The next calibration record, or 1 (stop) at FEAT_QUANTIZE_MAX_RECORDS. */
static int quantize_add(void *ctx, struct feat_rec *r, char *why, size_t whylen)
{
	const struct calib *c = ctx;
	struct feat_quantize_info qi;

	feat_quantize_info(c->q, &qi);
	if (qi.records == FEAT_QUANTIZE_MAX_RECORDS) {
		feat_warn("%s: calibrating on the first %zu ok records", c->sname, qi.records);
		return 1;
	}
	return feat_quantize_add(c->q, r, why, whylen);
}

/*
 * quantize: feat_quantize(3) over the ok records of STREAM (at most
 * FEAT_QUANTIZE_MAX_RECORDS; error records are skipped and counted), OUT
 * written whole or not at all.
 */
/* The result of q written to o->output, whole or not at all; q freed. */
static void quantize_write(const struct opts *o, feat_quantizer *q)
{
	struct feat_quantize_info qi;
	struct feat_quantize_layer ql;
	struct feat_outfile *out;
	unsigned char *bytes;
	size_t nbytes;
	char why[1024];
	int e;

	if ((e = feat_quantize_finish(q, &bytes, &nbytes, why, sizeof why)))
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s: %s", o->output, why);
	for (int i = 0; feat_quantize_layer(q, i, &ql) == 0; i++)
		if (ql.int8)
			feat_info("%s: input |x| <= %.4g%s: step %.4g, zero point %d", ql.name,
				  ql.amax, ql.vmin < 0 ? " (signed)" : "", ql.step, ql.zero);
		else if (ql.no_step)
			feat_warn("%s: its input (|x| <= %.4g over the records) has no int8 step: kept fp32",
				  ql.name, ql.amax);
	out = feat_cli_create(o->output);
	if ((e = feat_write_full(out->fd, bytes, nbytes)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", o->output, strerror(e));
	free(bytes);
	feat_cli_commit(out);
	feat_quantize_info(q, &qi);
	if (feat_verbose >= 0 && o->bf16)
		printf("%s: %d layers bf16, %d kept fp32 by --fp32\n", o->output, qi.bf16, qi.kept);
	else if (feat_verbose >= 0)
		printf("%s: %d layers int8, %d kept fp32 by --fp32, calibrated on %zu records (percentile %g)\n",
		       o->output, qi.int8, qi.kept, qi.records, o->percentile);
	feat_quantize_free(q);
}

static void quantize(const struct opts *o)
{
	char path[4096], why[1024];
	const char *sname;
	struct feat_quantize_opts qo;
	struct feat_quantize_info qi;
	feat_quantizer *q;
	int e;

	if (feat_cli_model_path(o->model, path, sizeof path, why, sizeof why))
		feat_die(FEAT_EXIT_SYSTEM, "%s", why);
	feat_quantize_opts_init(&qo);
	qo.percentile = o->percentile;
	qo.fp32 = o->fp32;
	qo.nfp32 = o->nfp32;
	qo.bf16 = o->bf16;
	if ((e = feat_quantize_open(&q, path, &qo, why, sizeof why))) {
		if (e == FEAT_E_NOTFOUND)
			feat_die(FEAT_EXIT_USAGE, "--fp32 %s", why);
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", why);
	}
	if (o->bf16) {
		quantize_write(o, q);
		return;
	}
	sname = strcmp(o->calib, "-") ? o->calib : "standard input";
	feed(o->calib, quantize_add, &(struct calib){ q, sname });
	feat_quantize_info(q, &qi);
	if (!qi.records)
		feat_die(FEAT_EXIT_STREAM, "%s: no ok record to calibrate on", sname);
	quantize_write(o, q);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	feat_net *n;

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
	{
		struct feat_net_info ni;

		feat_net_info(n, &ni);
		printf("%s: ok: %d layers\n", o.model, ni.layers);
	}
	feat_net_free(n);
	if (fflush(stdout) || ferror(stdout))
		feat_die(FEAT_EXIT_SYSTEM, "standard output: write error");
	return FEAT_EXIT_OK;
}
