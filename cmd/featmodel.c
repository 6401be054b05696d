/*
 * featmodel - inspect, check, time and run featmodel networks.
 *
 *   featmodel info MODEL                 metadata and the layer table
 *   featmodel check MODEL                validate; exit 0 when it loads
 *   featmodel bench MODEL [-b N] [-n R] [-t T]  forward passes on synthetic input
 *   featmodel run MODEL IN.f32 OUTPREFIX [-t T]  one pass on raw float32 input
 *   featmodel import -o OUT.fm MODEL.onnx        convert (and check) a model
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#include "kern/kern.h"
#include "nn/net.h"
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
	"\n"
	"  -b, --batch N     batch size for bench and run (run: default from IN's size)\n"
	"  -n, --runs N      timed passes for bench (default 10, after one warm-up)\n"
	"  -t, --threads N   threads of one forward pass, 1 to 64 (default 1)\n"
	"  -o, --output FILE import: the featmodel file to write\n"
	"      --set KEY=VAL import: add metadata (repeatable): VAL is a number, a\n"
	"                    comma-separated list of numbers, or text\n"
	"      --labels FILE import: class names, one per line, as metadata 'labels'\n"
	FEAT_CLI_HELP
	"\n"
	"The kernel path (ref, avx512 or blas) is chosen from the CPU; the\n"
	"environment variable FEAT_KERNEL forces one.\n"
	"Exit status: 0 success, 2 usage (or a bad FEAT_KERNEL), 3 the model file\n"
	"is invalid, 4 a file cannot be read or written.\n";

#define MAXSET 64

struct opts {
	const char *cmd, *model;
	int batch, runs, threads;
	char **args;
	int nargs;
	const char *output, *labels;
	const char *set[MAXSET];
	int nset;
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
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->runs = 10;
	o->threads = 1;
	while ((c = feat_getopt(argc, argv, "b:n:t:o:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'b': o->batch = (int)feat_cli_long("--batch", optarg, 1, 4096); break;
		case 'n': o->runs = (int)feat_cli_long("--runs", optarg, 1, 1000000); break;
		case 't': o->threads = (int)feat_cli_long("--threads", optarg, 1, FEAT_POOL_MAX); break;
		case 'o': o->output = optarg; break;
		case 0x2001:
			if (o->nset == MAXSET || !strchr(optarg, '=') || optarg[0] == '=')
				feat_die_usage("--set: expected KEY=VALUE (at most %d), got '%s'", MAXSET,
					       optarg);
			o->set[o->nset++] = optarg;
			break;
		case 0x2002: o->labels = optarg; break;
		}
	}
	if (argc - optind < 2)
		feat_die_usage("expected a command and a model file");
	o->cmd = argv[optind];
	o->model = argv[optind + 1];
	o->args = argv + optind + 2;
	o->nargs = argc - optind - 2;
	if (strcmp(o->cmd, "info") && strcmp(o->cmd, "check") &&
	    strcmp(o->cmd, "bench") && strcmp(o->cmd, "run") && strcmp(o->cmd, "import"))
		feat_die_usage("unknown command '%s' (info, check, bench, run, import)", o->cmd);
	if (!strcmp(o->cmd, "import") && !o->output)
		feat_die_usage("import: give the file to write with -o OUT.fm");
	if (strcmp(o->cmd, "import") && (o->output || o->nset || o->labels))
		feat_die_usage("-o, --set and --labels belong to import");
	if (!strcmp(o->cmd, "run") ? o->nargs != 2 :
	    !strcmp(o->cmd, "import") ? o->nargs > 1 : o->nargs != 0)
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
		feat_die(e == FEAT_E_IO || e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM
			 : e == FEAT_E_INVAL ? FEAT_EXIT_USAGE : FEAT_EXIT_STREAM,
			 "%s", detail);
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
	int blocked = 0;
	char shape[64];
	static const char *const acts[] = { "", "+relu", "+relu6", "+leaky" };

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
		printf("%-4d %-10s %-20s %-16s %12" PRIu64 " %14" PRIu64 "%s\n", i, type,
		       l->name, shape, l->params, l->macs,
		       l->removed ? "  (folded)" :
		       feat_net_blob_nchwc(n, l->out[0]) ? "  (nchw16c)" : "");
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
	int batch = o->batch ? o->batch : 1, e;
	double t0, t, macs = 0, peak, med, *pass;
	const struct feat_kern *k = feat_kern_active();
	char cpu[256];

	/* the peak first, with the active table's instructions, on a quiet
	 * core (before the passes warm it or the caches) */
	cpu_name(cpu, sizeof cpu);
	peak = k->peak();
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
		if (peak > 0)
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

/* --set KEY=VALUE: numbers become ints or floats (lists when there are
 * commas), anything else text. */
static int set_meta(feat_model_builder *b, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[256], *val = strdup(eq + 1), *tok, *save = NULL, *end;
	int64_t iv[256];
	double fv[256];
	int n = 0, ints = 1, nums = 1, e;

	if (!val || (size_t)(eq - kv) >= sizeof key)
		feat_die_usage("--set: bad '%s'", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = 0;
	for (tok = strtok_r(val, ",", &save); tok && nums; tok = strtok_r(NULL, ",", &save)) {
		if (n == 256) {
			nums = 0;
			break;
		}
		errno = 0;
		iv[n] = strtoll(tok, &end, 10);
		if (errno || *end || end == tok) {
			ints = 0;
			fv[n] = strtod(tok, &end);
			if (*end || end == tok || !isfinite(fv[n]))
				nums = 0;
		} else {
			fv[n] = (double)iv[n];
		}
		n++;
	}
	if (nums && n == 1 && !strchr(eq + 1, ','))
		e = feat_mb_meta(b, key, ints ? &(struct feat_value){ .type = FEAT_V_INT, .n = 1, .u.i = iv[0] }
					     : &(struct feat_value){ .type = FEAT_V_FLOAT, .n = 1, .u.f = fv[0] });
	else if (nums && n)
		e = feat_mb_meta(b, key, ints ? &(struct feat_value){ .type = FEAT_V_INTS, .n = (uint32_t)n, .u.ints = iv }
					     : &(struct feat_value){ .type = FEAT_V_FLOATS, .n = (uint32_t)n, .u.floats = fv });
	else
		e = feat_mb_meta(b, key, &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = eq + 1 });
	free(val);
	return e;
}

static void set_labels(feat_model_builder *b, const char *path)
{
	FILE *f = fopen(path, "r");
	char **v = NULL, *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t k;

	if (!f)
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", path, strerror(errno));
	while ((k = getline(&line, &cap, f)) >= 0) {
		char **nv;

		while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
			line[--k] = 0;
		if (!(nv = realloc(v, (n + 1) * sizeof *v)) || !(nv[n] = strdup(line)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		v = nv;
		n++;
	}
	fclose(f);
	free(line);
	if (feat_mb_meta(b, "labels", &(struct feat_value){ .type = FEAT_V_STRS, .n = (uint32_t)n,
							    .u.strs = (const char *const *)v }))
		feat_die(FEAT_EXIT_USAGE, "%s: labels too long", path);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Map a whole file read-only; dies with a clear line when it cannot. */
static void *map_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	void *map;

	if (fd < 0 || fstat(fd, &st))
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		feat_die(FEAT_EXIT_SYSTEM, "%s: not a regular file", path);
	if (!st.st_size)
		feat_die(FEAT_EXIT_STREAM, "%s: empty file", path);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		feat_die(FEAT_EXIT_SYSTEM, "%s: %s", path, strerror(errno));
	*len = (size_t)st.st_size;
	return map;
}

/* import: the source mapped, converted, written, then loaded and built as
 * a check; a model that cannot run is not left behind.  One file is ONNX;
 * two are Caffe's deploy.prototxt and .caffemodel. */
static void import(const struct opts *o)
{
	feat_model_builder *b = feat_model_builder_new();
	char detail[512];
	struct feat_net *n;
	struct feat_outfile *out;
	unsigned char *bytes;
	size_t len, len2, nbytes;
	void *map = map_file(o->model, &len), *map2;
	int e;

	if (!b)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	if (o->nargs == 1) {
		map2 = map_file(o->args[0], &len2);
		e = feat_import_caffe(b, map, len, map2, len2, detail, sizeof detail);
		munmap(map2, len2);
	} else {
		e = feat_import_onnx(b, map, len, detail, sizeof detail);
	}
	munmap(map, len);
	if (e)
		feat_die(e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM : FEAT_EXIT_STREAM, "%s: %s", o->model,
			 detail);
	for (int i = 0; i < o->nset; i++)
		if (set_meta(b, o->set[i]))
			feat_die(FEAT_EXIT_USAGE, "--set %s: cannot store it", o->set[i]);
	if (o->labels)
		set_labels(b, o->labels);
	/* The model is written to a temporary file and built from it there;
	 * only a model that builds replaces OUT (an old model stays when the
	 * import fails). */
	if ((e = feat_mb_encode(b, &bytes, &nbytes)))
		feat_die(e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM : FEAT_EXIT_STREAM, "%s: %s",
			 o->model, feat_strerror(e));
	feat_model_builder_free(b);
	out = feat_cli_create(o->output);
	if ((e = feat_write_full(out->fd, bytes, nbytes)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", o->output, strerror(e));
	free(bytes);
	if ((e = feat_net_load(&n, out->tmp ? out->tmp : o->output, detail, sizeof detail)))
		feat_die(FEAT_EXIT_STREAM, "%s: imported, but the network does not build: %s",
			 o->model, detail);
	feat_cli_commit(out);
	if (feat_verbose >= 0)
		printf("%s: %d layers, written to %s\n", o->model, n->nlayer, o->output);
	feat_net_free(n);
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
