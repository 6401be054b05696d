/*
 * cli.h - what every featkit program shares: messages, exit codes, the
 * common options, the terminal check, the progress line, and the loop of
 * a filter that reads records, works on each and writes them on.
 *
 * Part of libfeat (so that the programs stay short) but not of its public
 * interface: these helpers print and exit, which the rest of the library
 * never does.
 */
#ifndef FEAT_CLI_H
#define FEAT_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "feat.h"

/* Exit codes shared by all programs (documented in each man page). */
enum {
	FEAT_EXIT_OK = 0,       /* done; every record written */
	FEAT_EXIT_RECORDS = 1,  /* featwrite: more error records than allowed */
	FEAT_EXIT_USAGE = 2,    /* bad option or argument */
	FEAT_EXIT_STREAM = 3,   /* input is not a featstream, or corrupt */
	FEAT_EXIT_SYSTEM = 4,   /* I/O error, out of memory, missing file a run needs */
};

/* The exit code for a library error err (a negative FEAT_E_*): what is
 * the machine's or the run's fault (FEAT_E_IO, FEAT_E_NOMEM) is
 * FEAT_EXIT_SYSTEM; anything else is what the input or the arguments did
 * wrong, and gets the code the caller names for that (FEAT_EXIT_STREAM
 * for a bad file or stream, FEAT_EXIT_USAGE for a bad option). */
int feat_cli_exit_code(int err, int otherwise);
/* The same for a model that cannot be opened (feat_detector_open,
 * feat_coder_open, ...): FEAT_E_NOTFOUND (no model of that name) is a
 * missing file (FEAT_EXIT_SYSTEM), FEAT_E_INVAL (FEAT_KERNEL names no
 * path) a usage error, anything else an invalid model (FEAT_EXIT_STREAM). */
int feat_cli_model_exit(int err);

extern const char *feat_prog;   /* program name for messages */
extern int feat_verbose;        /* -1 quiet, 0 normal, 1+ verbose */
extern int feat_show_progress;  /* --progress */

/* Set the program name from argv[0] (and shorten argv[0] itself, so that
 * getopt's messages say "prog:" and not the path it was run by). */
void feat_cli_init_(char **argv0);
#define feat_cli_init(argv0) feat_cli_init_(&(argv0))
void feat_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void feat_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An error the run goes on after (one input lost): printed even with -q. */
void feat_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void feat_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void feat_die_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Long options every program takes; put them in each program's table. */
#define FEAT_CLI_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 0x1001 }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "progress", no_argument, NULL, 0x1002 }
#define FEAT_CLI_SHORTOPTS "hqv"
#define FEAT_CLI_HELP \
	"  -q, --quiet      print only errors\n" \
	"  -v, --verbose    say more on stderr\n" \
	"      --progress   show a progress line on stderr\n" \
	"  -h, --help       show this help and exit\n" \
	"      --version    show the version and exit\n"

/* getopt_long with the common short options added and bad options
 * reported in one line (exit FEAT_EXIT_USAGE). */
int feat_getopt(int argc, char **argv, const char *shortopts,
	const struct option *longopts);

/* Handle a common option; returns 1 if c was one.  usage is printed for
 * -h (to stdout, exit 0). */
int feat_cli_common(int c, const char *usage);

/* Die unless standard output may receive a binary stream. */
void feat_cli_binary_stdout(void);

/* Parse numbers for options, dying with a clear message when bad. */
long feat_cli_long(const char *opt, const char *arg, long lo, long hi);
double feat_cli_double(const char *opt, const char *arg, double lo, double hi);
/* Parse "a,b,c" (or one value for all three) into v[3]. */
void feat_cli_triple(const char *opt, const char *arg, float v[3]);

/* Keys and messages in text output.  tsv: every byte as is but tab,
 * newline, carriage return and backslash, written \\t \\n \\r \\\\.  JSON: a
 * quoted string; bytes that are not valid UTF-8 become U+FFFD, and the
 * count of them is returned. */
void feat_put_tsv(FILE *f, const char *s, size_t n);
size_t feat_put_json(FILE *f, const char *s, size_t n);

/* Progress on stderr (--progress): on a terminal one line rewritten in
 * place; otherwise (a log file, a Hadoop task) a plain line every 10
 * seconds and a last one at the end.  final: 0 while working, 1 at the
 * end, -1 to clear the line before a message. */
void feat_progress(uint64_t records, uint64_t bytes, int final);
/* The number of records the run will see, when it is known before (0:
 * unknown): the line then shows the share done and an estimate of the
 * time left. */
void feat_progress_total(uint64_t total);

/* A reader on FILE ("-": standard input), dying with exit 4 when it
 * cannot be opened.  *fd receives the descriptor to close afterwards
 * (STDIN_FILENO for "-", which is not to be closed). */
feat_reader *feat_cli_open_reader(const char *path, int *fd);

/* Die with a usage error (exit 2) when "-" is among the n paths more than
 * once: standard input is read to its end the first time, and the second
 * would find nothing. */
void feat_cli_stdin_once(char *const *paths, int n);

/*
 * A named output file (-o FILE and the like), written whole or not at all
 * (feat_outfile(3)): the program writes to the returned descriptor (or
 * through o->fp, which it may set from fdopen), and the target is replaced
 * only by feat_cli_commit().  If the program exits without committing
 * (feat_die, any exit) or is killed by SIGINT, SIGTERM, SIGHUP or SIGPIPE,
 * the temporary file is removed and the target stays as it was.
 * feat_cli_create dies (exit 4) when the file cannot be created;
 * feat_cli_commit likewise when it cannot be completed.
 */
struct feat_outfile *feat_cli_create(const char *path);
void feat_cli_commit(struct feat_outfile *o);

/* Stop on a fatal stream error: print the reader's detail with a hint,
 * drain the input and exit FEAT_EXIT_STREAM (or _SYSTEM for I/O). */
void feat_cli_stream_fail(feat_reader *rd, int err) __attribute__((noreturn));
/* Stop on a write error. */
void feat_cli_write_fail(feat_writer *w, int err) __attribute__((noreturn));

/*
 * The loop of a filter: read records from standard input, hand each ok
 * record to work(), write every record to standard output in order.
 * work() marks a bad record with feat_rec_set_error() and returns 0; it
 * returns a negative FEAT_E_* only for a fault that must stop the run
 * (the message is then in why).  Error records are passed on untouched.
 * Returns the exit code.
 */
struct feat_filter {
	int (*work)(struct feat_rec *r, void *ctx, char *why, size_t whylen);
	void *ctx;
};
int feat_filter_run(const struct feat_filter *f);

/*
 * The same loop in batches, for programs that run a network: up to batch
 * records are read (fewer at the end of the input), the ok ones among them
 * are handed to work() together (n >= 1, in input order), and then all of
 * them are written in order.  Error records are passed on untouched.  The
 * result must not depend on how the records were batched.
 */
struct feat_batch_filter {
	int (*work)(struct feat_rec **recs, int n, void *ctx, char *why, size_t whylen);
	void *ctx;
	int batch;              /* >= 1 */
};
int feat_batch_filter_run(const struct feat_batch_filter *f);

/*
 * A model named on the command line: a path (anything with a '/', ending
 * in .fm, or an existing file) is taken as it is; a bare name such as "ssd" or
 * "deepbit" means NAME.fm in the model directory: $FEAT_MODELS when it is
 * set (and then only there), else the first of EXE/../share/featkit/models,
 * EXE/../../models (a build tree) and FEAT_MODELDIR (the installed one),
 * where EXE is the directory of the running program.  Returns 0 and the path in out, or -1 with a
 * message naming the places searched in why.
 */
int feat_cli_model_path(const char *name, char *out, size_t outlen,
	char *why, size_t whylen);

#endif
