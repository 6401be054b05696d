/*
 * cli.c - the shared half of every featkit program: see cli.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"

const char *feat_prog = "featkit";
static char **feat_argv;
static double progress_start;

static double now(void);
int feat_verbose;
int feat_show_progress;

/* At exit: what was printed to stdout really reached it.  Without this a
 * full disk or a closed descriptor (--help >/dev/full, featindex info
 * >/dev/full) lost the output and the program still exited 0. */
static int dying;   /* feat_die said why: the exit check stays quiet */

static void close_stdout(void)
{
	int bad = ferror(stdout);

	if (dying) {
		/* (a write error already named; what is left in the buffer
		 * would fail again and say it twice) */
		fclose(stdout);
		return;
	}

	if (fclose(stdout) != 0 || bad) {
		int e = errno;

		fprintf(stderr, "%s: write error on standard output%s%s\n", feat_prog,
			e ? ": " : "", e ? strerror(e) : "");
		_exit(FEAT_EXIT_SYSTEM);
	}
}

void feat_cli_init_(char **argv0)
{
	const char *s = *argv0 ? strrchr(*argv0, '/') : NULL;

	if (*argv0)
		feat_prog = s ? s + 1 : *argv0;
	*argv0 = (char *)feat_prog;
	feat_argv = argv0;
	progress_start = now();
	atexit(close_stdout);
	opterr = 0;  /* feat_cli_common reports bad options in one line */
}

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", feat_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void feat_die(int code, const char *fmt, ...)
{
	va_list ap;

	feat_progress(0, 0, -1);
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	dying = 1;
	exit(code);
}

/* A usage error is one line: what was wrong, and where to read more. */
void feat_die_usage(const char *fmt, ...)
{
	va_list ap;

	feat_progress(0, 0, -1);
	fprintf(stderr, "%s: ", feat_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", feat_prog);
	exit(FEAT_EXIT_USAGE);
}

void feat_warn(const char *fmt, ...)
{
	va_list ap;

	if (feat_verbose < 0)
		return;
	feat_progress(0, 0, -1);
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void feat_error(const char *fmt, ...)
{
	va_list ap;

	feat_progress(0, 0, -1);
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void feat_info(const char *fmt, ...)
{
	va_list ap;

	if (feat_verbose < 1)
		return;
	feat_progress(0, 0, -1);
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

int feat_cli_common(int c, const char *usage)
{
	switch (c) {
	case 'h':
		fputs(usage, stdout);
		exit(FEAT_EXIT_OK);
	case 0x1001:
		printf("%s (featkit) %s\n", feat_prog, FEAT_VERSION_STRING);
		exit(FEAT_EXIT_OK);
	case 'q':
		feat_verbose = -1;
		return 1;
	case 'v':
		feat_verbose++;
		return 1;
	case 0x1002:
		feat_show_progress = 1;
		return 1;
	case '?':
	case ':':
		feat_die_usage("invalid option '%s'",
			       feat_argv && optind > 0 ? feat_argv[optind - 1] : "?");
	}
	return 0;
}

int feat_getopt(int argc, char **argv, const char *shortopts,
	const struct option *longopts)
{
	char opts[128];
	int c;

	snprintf(opts, sizeof opts, ":%s" FEAT_CLI_SHORTOPTS, shortopts);
	c = getopt_long(argc, argv, opts, longopts, NULL);
	if (c == ':') {
		if (optopt > 0 && optopt < 128 && argv[optind - 1][1] != '-')
			feat_die_usage("option -%c needs an argument", optopt);
		feat_die_usage("option '%s' needs an argument", argv[optind - 1]);
	}
	if (c == '?') {
		if (optopt > 0 && optopt < 128)
			feat_die_usage("invalid option -- '%c'", optopt);
		feat_die_usage("unrecognized option '%s'", argv[optind - 1]);
	}
	return c;
}

void feat_cli_binary_stdout(void)
{
	if (isatty(STDOUT_FILENO))
		feat_die(FEAT_EXIT_USAGE,
			 "refusing to write a binary featstream to a terminal "
			 "(pipe it to another program, e.g. '| featinfo', or redirect it)");
}

long feat_cli_long(const char *opt, const char *arg, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi)
		feat_die_usage("%s: '%s' is not an integer from %ld to %ld", opt,
			       arg, lo, hi);
	return v;
}

double feat_cli_double(const char *opt, const char *arg, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	/* an underflow (1e-320) is a number, near 0; an overflow is not */
	if (errno == ERANGE && fabs(v) < 1)
		errno = 0;
	if (errno || end == arg || *end || !isfinite(v) || v < lo || v > hi)
		feat_die_usage("%s: '%s' is not a number from %g to %g", opt, arg,
			       lo, hi);
	return v;
}

void feat_cli_triple(const char *opt, const char *arg, float v[3])
{
	char buf[256], *s, *save = NULL;
	int n = 0;

	if (strlen(arg) >= sizeof buf)
		feat_die_usage("%s: value too long", opt);
	strcpy(buf, arg);
	for (s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (n == 3)
			feat_die_usage("%s: expected one or three comma-separated numbers, got '%s'",
				       opt, arg);
		v[n++] = (float)feat_cli_double(opt, s, -1e30, 1e30);
	}
	if (n == 1)
		v[1] = v[2] = v[0];
	else if (n != 3)
		feat_die_usage("%s: expected one or three comma-separated numbers, got '%s'",
			       opt, arg);
}

/* ------------------------------------------------------------ progress */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * final: 0 for a tick (printed at most 4 times a second), 1 for the last
 * line (ends it with a newline), -1 to clear the line before a message.
 */
static uint64_t progress_total;

void feat_progress_total(uint64_t total)
{
	progress_total = total;
}

void feat_progress(uint64_t records, uint64_t bytes, int final)
{
	static double last;
	static int shown, tty = -1;
	double t, el;
	char share[64] = "";

	if (!feat_show_progress)
		return;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (final < 0) {
		if (shown && tty)
			fputs("\r\033[K", stderr);
		shown = 0;
		return;
	}
	t = now();
	/* on a terminal, the first line after a quarter of a second (rates
	 * need a span) and then four a second; in a file one every 10 s */
	if (!final && (t - last < (tty ? 0.25 : 10) || t - progress_start < (tty ? 0.25 : 10)))
		return;
	last = t;
	el = t - progress_start > 1e-3 ? t - progress_start : 1e-3;
	if (progress_total && records <= progress_total) {
		double left = records ? el * (double)(progress_total - records) / (double)records : 0;

		int n = snprintf(share, sizeof share, " of %llu (%.0f%%)",
				 (unsigned long long)progress_total,
				 100.0 * (double)records / (double)progress_total);

		if (!final && records && n > 0 && (size_t)n < sizeof share)
			snprintf(share + n, sizeof share - (size_t)n, ", ETA %d:%02d:%02d",
				 (int)left / 3600, (int)left / 60 % 60, (int)left % 60);
	}
	fprintf(stderr, "%s%s: %llu records%s, %.1f rec/s, %.1f MiB, %.1f MiB/s, %d:%02d:%02d%s",
		tty ? "\r" : "", feat_prog, (unsigned long long)records, share,
		records / el, bytes / 1048576.0, bytes / 1048576.0 / el,
		(int)el / 3600, (int)el / 60 % 60, (int)el % 60,
		final || !tty ? "\n" : "\033[K");
	shown = !final && tty;
}

/* ---------------------------------------------------------- the filter */

int feat_cli_exit_code(int err, int otherwise)
{
	return err == FEAT_E_IO || err == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM : otherwise;
}

int feat_cli_model_exit(int err)
{
	return err == FEAT_E_NOTFOUND ? FEAT_EXIT_SYSTEM
	       : err == FEAT_E_INVAL ? FEAT_EXIT_USAGE
	       : feat_cli_exit_code(err, FEAT_EXIT_STREAM);
}

void feat_cli_stream_fail(feat_reader *rd, int err)
{
	const char *hint = "";

	feat_progress(0, 0, -1);
	if (err == FEAT_E_NOTSTREAM || err == FEAT_E_EMPTY)
		hint = " (try: imgdecode FILE | ";
	if (*hint)
		fprintf(stderr, "%s: %s%s%s)\n", feat_prog, feat_reader_detail(rd),
			hint, feat_prog);
	else
		fprintf(stderr, "%s: %s\n", feat_prog, feat_reader_detail(rd));
	feat_reader_drain(rd);
	exit(feat_cli_exit_code(err, FEAT_EXIT_STREAM));
}

void feat_cli_stdin_once(char *const *paths, int n)
{
	int seen = 0;

	for (int i = 0; i < n; i++)
		if (!strcmp(paths[i], "-") && seen++)
			feat_die_usage("standard input (-) is named more than once; it can "
				       "be read only once");
}

feat_reader *feat_cli_open_reader(const char *path, int *fd)
{
	int stdin_ = !strcmp(path, "-");
	feat_reader *rd;

	*fd = STDIN_FILENO;
	if (!stdin_ && (*fd = open(path, O_RDONLY)) < 0)
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", path, strerror(errno));
	if (feat_reader_new(&rd, *fd, stdin_ ? "standard input" : path, NULL))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	return rd;
}

void feat_cli_write_fail(feat_writer *w, int err)
{
	feat_die(FEAT_EXIT_SYSTEM, "%s",
		 *feat_writer_detail(w) ? feat_writer_detail(w) : feat_strerror(err));
}

int feat_filter_run(const struct feat_filter *f)
{
	feat_reader *rd;
	feat_writer *w;
	struct feat_rec r;
	char why[512];
	int e;

	feat_cli_binary_stdout();
	feat_reader_new(&rd, STDIN_FILENO, "standard input", NULL);
	feat_writer_new(&w, STDOUT_FILENO, "standard output");
	if (!rd || !w)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		if (r.status == FEAT_ST_OK) {
			why[0] = 0;
			e = f->work(&r, f->ctx, why, sizeof why);
			if (e < 0) {
				feat_writer_flush(w);
				feat_die(feat_cli_exit_code(e, FEAT_EXIT_USAGE), "%s",
					 why[0] ? why : feat_strerror(e));
			}
		}
		if ((e = feat_writer_put(w, &r)) < 0)
			feat_cli_write_fail(w, e);
		feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 0);
	}
	if (e < 0) {
		feat_writer_flush(w);
		feat_cli_stream_fail(rd, e);
	}
	if ((e = feat_writer_end(w)) < 0)
		feat_cli_write_fail(w, e);
	feat_writer_free(w);
	feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 1);
	feat_reader_free(rd);
	feat_rec_free(&r);
	return FEAT_EXIT_OK;
}

static void filter_fault(feat_writer *w, int e, const char *why)
{
	feat_writer_flush(w);
	feat_die(feat_cli_exit_code(e, FEAT_EXIT_USAGE), "%s", why[0] ? why : feat_strerror(e));
}

/* The records of a batch, freed; also before a fault ends the program,
 * so that nothing is left for the leak checker of make asan to find (the
 * compiler need not keep a pointer it will never use again). */
static void batch_free(struct feat_rec *recs, struct feat_rec **ok, int cap)
{
	for (int i = 0; recs && i < cap; i++)
		feat_rec_free(&recs[i]);
	free(recs);
	free(ok);
}

int feat_batch_filter_run(const struct feat_batch_filter *f)
{
	int cap = f->batch > 0 ? f->batch : 1, n, nok, e = 0;
	struct feat_rec *recs = calloc((size_t)cap, sizeof *recs);
	struct feat_rec **ok = calloc((size_t)cap, sizeof *ok);
	feat_reader *rd;
	feat_writer *w;
	char why[512];

	feat_cli_binary_stdout();
	feat_reader_new(&rd, STDIN_FILENO, "standard input", NULL);
	feat_writer_new(&w, STDOUT_FILENO, "standard output");
	if (!rd || !w || !recs || !ok)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	for (int i = 0; i < cap; i++)
		feat_rec_init(&recs[i]);
	do {
		for (n = 0; n < cap && (e = feat_reader_next(rd, &recs[n])) > 0; n++)
			;
		nok = 0;
		for (int i = 0; i < n; i++)
			if (recs[i].status == FEAT_ST_OK)
				ok[nok++] = &recs[i];
		if (nok) {
			int we;

			why[0] = 0;
			if ((we = f->work(ok, nok, f->ctx, why, sizeof why)) < 0) {
				batch_free(recs, ok, cap);
				filter_fault(w, we, why);
			}
		}
		for (int i = 0; i < n; i++) {
			int we = feat_writer_put(w, &recs[i]);

			if (we < 0) {
				batch_free(recs, ok, cap);
				feat_cli_write_fail(w, we);
			}
		}
		feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 0);
	} while (e > 0);
	batch_free(recs, ok, cap);
	if (e < 0) {
		feat_writer_flush(w);
		feat_cli_stream_fail(rd, e);
	}
	if ((e = feat_writer_end(w)) < 0)
		feat_cli_write_fail(w, e);
	feat_writer_free(w);
	feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 1);
	feat_reader_free(rd);
	return FEAT_EXIT_OK;
}

/* ------------------------------------------------------------ models */

#ifndef FEAT_MODELDIR
#define FEAT_MODELDIR "/usr/local/share/featkit/models"
#endif

int feat_cli_model_path(const char *name, char *out, size_t outlen,
	char *why, size_t whylen)
{
	return feat_model_find(name, out, outlen, why, whylen) ? -1 : 0;
}

/* ------------------------------------------------------- text output */

void feat_put_tsv(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '\t': fputs("\\t", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\\': fputs("\\\\", f); break;
		default: putc(s[i], f);
		}
	}
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;  /* continuation byte or overlong 2-byte form */
	len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) ||   /* overlong */
	    (c == 0xed && s[1] >= 0xa0) ||  /* UTF-16 surrogates */
	    (c == 0xf0 && s[1] < 0x90) ||   /* overlong */
	    (c == 0xf4 && s[1] >= 0x90))    /* over U+10FFFF */
		return 0;
	return len;
}

size_t feat_put_json(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t bad = 0;

	putc('"', f);
	while (n) {
		size_t k = utf8_seq(s, n);

		if (!k) {
			fputs("\\ufffd", f);
			bad++;
			k = 1;
		} else if (*s == '"' || *s == '\\') {
			putc('\\', f);
			putc(*s, f);
		} else if (*s < 0x20) {
			switch (*s) {
			case '\b': fputs("\\b", f); break;
			case '\f': fputs("\\f", f); break;
			case '\n': fputs("\\n", f); break;
			case '\r': fputs("\\r", f); break;
			case '\t': fputs("\\t", f); break;
			default: fprintf(f, "\\u%04x", *s);
			}
		} else {
			fwrite(s, 1, k, f);
		}
		s += k;
		n -= k;
	}
	putc('"', f);
	return bad;
}

/* ------------------------------------------------------ named outputs */

/* The outputs not yet committed, for the exit and signal handlers: only
 * their temporary names are used there (unlink is async-signal-safe). */
#define MAX_OUTPUTS 8
static struct feat_outfile outputs[MAX_OUTPUTS];

static void outputs_remove(void)
{
	for (int i = 0; i < MAX_OUTPUTS; i++)
		if (outputs[i].fd >= 0 && outputs[i].tmp)
			unlink(outputs[i].tmp);
}

static void outputs_on_signal(int sig)
{
	outputs_remove();
	signal(sig, SIG_DFL);
	raise(sig);
}

struct feat_outfile *feat_cli_create(const char *path)
{
	static int setup;
	char detail[512];
	struct feat_outfile *o = NULL;
	int e;

	if (!setup) {
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };

		for (int i = 0; i < MAX_OUTPUTS; i++)
			outputs[i].fd = -1;
		atexit(outputs_remove);
		for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
			struct sigaction sa, old;

			memset(&sa, 0, sizeof sa);
			sa.sa_handler = outputs_on_signal;
			sigemptyset(&sa.sa_mask);
			/* a signal the caller chose to ignore stays ignored */
			if (!sigaction(sigs[i], NULL, &old) && old.sa_handler == SIG_DFL)
				sigaction(sigs[i], &sa, NULL);
		}
		setup = 1;
	}
	for (int i = 0; i < MAX_OUTPUTS && !o; i++)
		if (outputs[i].fd < 0)
			o = &outputs[i];
	if (!o)
		feat_die(FEAT_EXIT_SYSTEM, "%s: too many output files", path);
	if ((e = feat_outfile_open(o, path, detail, sizeof detail))) {
		o->fd = -1;
		feat_die(FEAT_EXIT_SYSTEM, "%s", detail);
	}
	return o;
}

void feat_cli_commit(struct feat_outfile *o)
{
	char detail[512];

	if (feat_outfile_commit(o, detail, sizeof detail))
		feat_die(FEAT_EXIT_SYSTEM, "%s", detail);
}
