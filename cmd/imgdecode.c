/*
 * imgdecode - the head of every pipeline: image files in, one featstream
 * record per input path out, with the tensors `image` (u8 H x W x 3, RGB)
 * and `origsize` (i32 [2]).
 *
 * Paths come from the arguments or, one per line (or NUL-terminated with
 * -0), from standard input, read as a stream so that a list of millions
 * costs no memory.  A file that cannot be read or decoded becomes an
 * error record with a one-line reason and the run goes on; only a fault
 * of the run itself (standard output unwritable) stops it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: imgdecode [OPTION]... [FILE]...\n"
	"Decode JPEG and PNG files into a featstream on standard output: one record\n"
	"per FILE, with tensors image (u8 [H, W, 3], RGB) and origsize (i32 [2]).\n"
	"With no FILE, read the paths from standard input, one per line.\n"
	"\n"
	"  -0, --null           paths on standard input end with NUL, not newline\n"
	"  -k, --keyed          standard input holds KEY TAB PATH: read PATH, key the\n"
	"                       record KEY (a product id, or the URL a file came from)\n"
	"  -r, --recursive      decode every image under directories, in sorted order\n"
	"                       (other files, such as .xmp sidecars, are skipped and\n"
	"                       counted; -v names them)\n"
	"      --min-side N     JPEG: decode at the smallest scale M/8 (M = 1, 2, 3, 4, 8)\n"
	"                       that keeps the short side >= N (DCT-domain downscaling;\n"
	"                       never enlarges; default 512, what the shipped models\n"
	"                       need; 0: full size)\n"
	"      --fast           JPEG: faster, slightly less accurate decoding\n"
	"      --no-orient      do not apply the EXIF orientation\n"
	"      --background R,G,B  colour under transparent PNG pixels (default 255,255,255)\n"
	"      --max-pixels N   refuse images with more than N pixels (suffix K, M, G\n"
	"                       for 10^3, 10^6, 10^9; default 100M)\n"
	"      --max-bytes N    refuse files larger than N bytes (suffix K, M, G for\n"
	"                       2^10, 2^20, 2^30; default 512M)\n"
	"      --strict         JPEG data the decoder recovered from is an error\n"
	"      --allow-truncated  JPEG: data that ends early or is corrupt decodes\n"
	"                       anyway, the lost part filled in grey (default: an\n"
	"                       error record)\n"
	"      --any-file       read devices, FIFOs and sockets too (default: such a\n"
	"                       path is an error record: a FIFO would hang the run)\n"
	FEAT_CLI_HELP
	"\n"
	"A file that cannot be read or decoded becomes an error record; the run goes on.\n"
	"Exit status: 0 every record written (error records included), 2 usage,\n"
	"4 write error or out of memory.\n";

struct opts {
	struct feat_decode_opts dec;
	uint64_t max_bytes;
	int any_file;
	int null_sep;
	int keyed;
	int recursive;
};

/* What the run carries from one input to the next. */
struct run {
	const struct opts *o;
	feat_writer *w;
	struct feat_rec r;
	unsigned char *buf;        /* file bytes, reused */
	size_t cap;
	uint64_t nin, bytes_in, recovered;
	uint64_t skipped;          /* -r: files met in a walk that are not images */
};

/* N with an optional K/M/G suffix of the given base (1000 or 1024). */
static uint64_t parse_size(const char *opt, const char *arg, uint64_t base)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (end != arg && *end && !end[1]) {
		switch (*end) {
		case 'k': case 'K': mul = base; end++; break;
		case 'm': case 'M': mul = base * base; end++; break;
		case 'g': case 'G': mul = base * base * base; end++; break;
		}
	}
	if (errno || end == arg || *end || arg[0] == '-' || v == 0 ||
	    v > UINT64_MAX / mul)
		feat_die_usage("%s: '%s' is not a positive count (digits with an optional K, M or G)",
			       opt, arg);
	return v * mul;
}

static void parse_background(const char *arg, uint8_t bg[3])
{
	float v[3];

	feat_cli_triple("--background", arg, v);
	for (int i = 0; i < 3; i++) {
		if (v[i] < 0 || v[i] > 255 || v[i] != (float)(int)v[i])
			feat_die_usage("--background: '%s': each of R,G,B must be an integer from 0 to 255",
				       arg);
		bg[i] = (uint8_t)v[i];
	}
}

/* Returns the index of the first operand. */
static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_MINSIDE = 0x2001, O_FAST, O_NOORIENT, O_BG, O_MAXPIX, O_MAXBYTES, O_STRICT, O_ANYFILE,
	       O_ALLOWTRUNC };
	static const struct option lo[] = {
		{ "null", no_argument, NULL, '0' },
		{ "keyed", no_argument, NULL, 'k' },
		{ "recursive", no_argument, NULL, 'r' },
		{ "min-side", required_argument, NULL, O_MINSIDE },
		{ "fast", no_argument, NULL, O_FAST },
		{ "no-orient", no_argument, NULL, O_NOORIENT },
		{ "background", required_argument, NULL, O_BG },
		{ "max-pixels", required_argument, NULL, O_MAXPIX },
		{ "max-bytes", required_argument, NULL, O_MAXBYTES },
		{ "any-file", no_argument, NULL, O_ANYFILE },
		{ "strict", no_argument, NULL, O_STRICT },
		{ "allow-truncated", no_argument, NULL, O_ALLOWTRUNC },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof *o);
	o->dec.max_pixels = FEAT_DEFAULT_MAX_PIXELS;
	o->dec.min_side = FEAT_DEFAULT_MIN_SIDE;
	o->max_bytes = FEAT_DEFAULT_MAX_BYTES;
	while ((c = feat_getopt(argc, argv, "0kr", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case '0': o->null_sep = 1; break;
		case 'k': o->keyed = 1; break;
		case 'r': o->recursive = 1; break;
		case O_MINSIDE:
			o->dec.min_side = (int)feat_cli_long("--min-side", optarg, 0, 65535);
			break;
		case O_FAST: o->dec.fast = 1; break;
		case O_NOORIENT: o->dec.no_orient = 1; break;
		case O_BG:
			parse_background(optarg, o->dec.background);
			o->dec.bg_set = 1;
			break;
		case O_MAXPIX: o->dec.max_pixels = parse_size("--max-pixels", optarg, 1000); break;
		case O_MAXBYTES: o->max_bytes = parse_size("--max-bytes", optarg, 1024); break;
		case O_ANYFILE: o->any_file = 1; break;
		case O_STRICT: o->dec.strict = 1; break;
		case O_ALLOWTRUNC: o->dec.allow_truncated = 1; break;
		}
	}
	if (o->keyed && (optind < argc || o->recursive))
		feat_die_usage("-k/--keyed reads KEY TAB PATH lines from standard input; do not give FILE operands or -r");
	if (o->null_sep && optind < argc)
		feat_die_usage("-0/--null reads paths from standard input; do not give FILE operands");
	return optind;
}

static void put_record(struct run *s)
{
	int e = feat_writer_put(s->w, &s->r);

	if (e == FEAT_E_IO || e == FEAT_E_NOMEM)
		feat_cli_write_fail(s->w, e);
	if (e < 0) {
		/* This record cannot be framed: pass its key on as an error. */
		char why[256];

		snprintf(why, sizeof why, "%s", feat_writer_detail(s->w));
		while (s->r.ntensors)
			feat_rec_remove(&s->r, s->r.t[0].name);
		feat_rec_set_error(&s->r, "%s", why);
		if ((e = feat_writer_put(s->w, &s->r)) < 0)
			feat_cli_write_fail(s->w, e);
	}
	s->nin++;
	feat_progress(s->nin, s->bytes_in, 0);
}

/* Decode one file into one record, keyed by the path as given (or by
 * key, with --keyed). */
static void decode_one(struct run *s, const char *path, const char *key)
{
	struct feat_decode_info info;
	char why[512];
	size_t len;
	int e;

	if (!key)
		key = path;
	feat_rec_clear(&s->r);
	if (feat_rec_set_key(&s->r, key) < 0) {
		char k[64];

		snprintf(k, sizeof k, "%.40s...", key);
		if (feat_rec_set_key(&s->r, k) < 0)
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		feat_rec_set_error(&s->r, "%s is longer than %d bytes", key == path ? "path" : "key",
				   FEAT_KEY_MAX);
		put_record(s);
		return;
	}
	if (!path) {
		feat_rec_set_error(&s->r, "no TAB between key and path (--keyed)");
		put_record(s);
		return;
	}
	e = feat_file_load(path, s->o->max_bytes, s->o->any_file ? FEAT_FILE_ANY : 0, &s->buf, &s->cap, &len, why, sizeof why);
	if (e == 0) {
		s->bytes_in += len;
		e = feat_image_decode(s->buf, len, &s->o->dec, &s->r, &info, why, sizeof why);
	}
	if (e == FEAT_E_NOMEM)
		feat_warn("%s: %s", path, why);
	if (e < 0) {
		feat_rec_set_error(&s->r, "%s", why);
		feat_info("%s: %s", path, why);
	} else if (info.warnings) {
		s->recovered++;
		feat_info("%s: recovered from corrupt JPEG data: %s (%d warning%s)", path,
			  info.warning, info.warnings, info.warnings == 1 ? "" : "s");
	}
	put_record(s);
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

static void input(struct run *s, const char *path, int top);

/* Every regular file under dir, in byte order of names, depth first.
 * Symbolic links to directories are not followed (no loops). */
static void walk(struct run *s, const char *dir)
{
	struct dirent **list;
	size_t dl = strlen(dir);
	int n = scandir(dir, &list, not_dots, name_cmp);

	if (n < 0) {
		char why[256];

		snprintf(why, sizeof why, "cannot read directory: %s", strerror(errno));
		feat_rec_clear(&s->r);
		if (feat_rec_set_key(&s->r, dir) < 0)
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		feat_rec_set_error(&s->r, "%s", why);
		put_record(s);
		return;
	}
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(list[i]->d_name);
		char *p = malloc(dl + nl + 2);

		if (!p)
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		memcpy(p, dir, dl);
		p[dl] = '/';
		memcpy(p + dl + (dl && dir[dl - 1] == '/' ? 0 : 1), list[i]->d_name, nl + 1);
		input(s, p, 0);
		free(p);
		free(list[i]);
	}
	free(list);
}

/*
 * Whether a file met in a -r walk is to be decoded.  A name with an image
 * extension is always decoded (a broken photo, or one in a format not
 * read here, must not vanish from the run: it becomes an error record).
 * Any other file is decoded only when it starts like a JPEG or PNG (a
 * photo saved without an extension); the rest -- .xmp, .json and .txt
 * sidecars, Thumbs.db, .DS_Store, AppleDouble ._ files -- are skipped.
 */
static int looks_like_image(const char *path)
{
	static const char *const ext[] = {
		"jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "tif", "tiff",
		"bmp", "heic", "heif", "avif", "jp2", "jxl",
	};
	const char *base = strrchr(path, '/'), *dot;
	unsigned char m[8];
	ssize_t n;
	int fd;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (dot && dot != base && !(base[0] == '.' && base[1] == '_'))
		for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
			if (!strcasecmp(dot + 1, ext[i]))
				return 1;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK)) < 0)
		return 1;       /* decode_one reports why it cannot be read */
	n = read(fd, m, sizeof m);
	close(fd);
	if (n < 0)
		return 1;
	return (n >= 3 && m[0] == 0xff && m[1] == 0xd8 && m[2] == 0xff) ||
	       (n == 8 && !memcmp(m, "\x89PNG\r\n\x1a\n", 8));
}

/* One path: a file, or with -r a directory to walk.  top is 1 for the
 * paths the user gave, which are always decoded or reported. */
static void input(struct run *s, const char *path, int top)
{
	struct stat st;

	if (s->o->recursive && !top) {
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			walk(s, path);
			return;
		}
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			feat_info("%s: skipped (%s)", path,
				  S_ISDIR(st.st_mode) ? "symbolic link to a directory"
						      : "not a regular file");
			return;
		}
		if (!looks_like_image(path)) {
			s->skipped++;
			feat_info("%s: skipped (not an image)", path);
			return;
		}
	} else if (s->o->recursive && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		uint64_t before = s->nin, skipped = s->skipped;

		walk(s, path);
		if (s->nin == before) {
			/* a directory the user named (a product's folder, say)
			 * that gave nothing must not vanish from the run */
			feat_rec_clear(&s->r);
			if (feat_rec_set_key(&s->r, path) < 0)
				feat_die(FEAT_EXIT_SYSTEM, "out of memory");
			feat_rec_set_error(&s->r, "directory holds no images (%" PRIu64 " other files skipped)",
					   s->skipped - skipped);
			put_record(s);
		}
		return;
	}
	decode_one(s, path, NULL);
}

static void read_list(struct run *s, FILE *f, int delim)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getdelim(&line, &cap, delim, f)) >= 0) {
		if (n > 0 && line[n - 1] == delim)
			line[--n] = 0;
		if (n > 0 && s->o->keyed) {
			char *tab = memchr(line, '\t', (size_t)n);

			if (tab)
				*tab = 0;
			decode_one(s, tab ? tab + 1 : NULL, line);
		} else if (n > 0) {
			input(s, line, 1);
		}
	}
	if (ferror(f))
		feat_die(FEAT_EXIT_SYSTEM, "standard input: read error: %s", strerror(errno));
	free(line);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run s = { .o = &o };
	int first, e;

	feat_cli_init(argv[0]);
	first = parse(argc, argv, &o);
	feat_cli_binary_stdout();
	if (feat_writer_new(&s.w, STDOUT_FILENO, "standard output"))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	feat_rec_init(&s.r);
	if (first < argc && !o.recursive)
		feat_progress_total((uint64_t)(argc - first));
	if (first < argc)
		for (int i = first; i < argc; i++)
			input(&s, argv[i], 1);
	else
		read_list(&s, stdin, o.null_sep ? '\0' : '\n');
	if ((e = feat_writer_end(s.w)) < 0)
		feat_cli_write_fail(s.w, e);
	feat_writer_free(s.w);
	feat_progress(s.nin, s.bytes_in, 1);
	if (s.skipped)
		feat_warn("skipped %llu file%s that %s not images%s",
			  (unsigned long long)s.skipped, s.skipped == 1 ? "" : "s",
			  s.skipped == 1 ? "is" : "are",
			  feat_verbose > 0 ? "" : " (-v names them)");
	if (s.recovered)
		feat_warn("%llu file%s had corrupt JPEG data that the decoder recovered from%s",
			  (unsigned long long)s.recovered, s.recovered == 1 ? "" : "s",
			  feat_verbose > 0 ? "" : " (-v names them; --strict rejects them)");
	feat_rec_free(&s.r);
	free(s.buf);
	return FEAT_EXIT_OK;
}
