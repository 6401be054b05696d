/*
 * featdraw - pictures of a stream for people: each photo with its
 * detections drawn (boxes, class names, scores; the box cropbox would
 * take highlighted), and a contact sheet of every record, error records
 * included as tiles that say why.  A sink: it writes files, and nothing
 * on standard output.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cli.h"
#include "img/crop.h"
#include "img/draw.h"

static const char usage[] =
	"Usage: featdraw [OPTION]... -o DIR | --sheet FILE\n"
	"Read a featstream on standard input and draw each record's `image` with\n"
	"its detections `dets`: boxes, class names and scores, the best box (the\n"
	"one cropbox takes) highlighted.\n"
	"\n"
	"  -o, --output DIR     write one picture per record into DIR (made if\n"
	"                       missing), named NNNNNN-KEY.png from the record's\n"
	"                       number and its key\n"
	"      --sheet FILE     write a contact sheet of all records to FILE\n"
	"      --format FMT     png or jpeg (default: jpeg when FILE ends in .jpg\n"
	"                       or .jpeg, else png)\n"
	"      --quality Q      JPEG quality, 1 to 100 (default 90)\n"
	"      --cols N         tiles per row of the sheet (default 6)\n"
	"      --thumb PX       tile picture size of the sheet (default 160)\n"
	"      --min-score S    draw boxes scoring S or more (default 0.25); the\n"
	"                       best box is drawn whatever its score\n"
	"  -m, --model MODEL    class names from the model's metadata `labels`\n"
	"      --labels FILE    class names from FILE, one a line (line 0: label 0)\n"
	FEAT_CLI_HELP
	"\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream or corrupt, or\n"
	"a bad labels file or model, 4 a file that cannot be read or written.\n";

struct opts {
	const char *dir, *sheet, *model, *labels;
	int format, quality, cols, thumb;
	float min_score;
};

/* Colours: the best box, the others by class, error tiles, background. */
static const uint8_t c_main[3] = { 255, 224, 0 }, c_black[3] = { 0, 0, 0 },
		     c_white[3] = { 255, 255, 255 }, c_sheet[3] = { 40, 40, 40 },
		     c_error[3] = { 128, 24, 24 }, c_grey[3] = { 90, 90, 90 };
static const uint8_t palette[6][3] = {
	{ 0, 200, 255 }, { 255, 80, 200 }, { 80, 255, 80 },
	{ 255, 128, 0 }, { 160, 120, 255 }, { 0, 255, 200 },
};

struct run {
	const struct opts *o;
	struct feat_labels labels;
	FILE *sheet, *tiles;           /* the sheet's file, its tiles so far */
	struct feat_outfile *sheet_file; /* the sheet until it is complete */
	uint64_t ntiles, nrec;
	int tw, th;                    /* tile size */
	struct feat_canvas tile;
	struct feat_box *boxes;
	int cap;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sheet", required_argument, NULL, 0x2001 },
		{ "format", required_argument, NULL, 0x2002 },
		{ "quality", required_argument, NULL, 0x2003 },
		{ "cols", required_argument, NULL, 0x2004 },
		{ "thumb", required_argument, NULL, 0x2005 },
		{ "min-score", required_argument, NULL, 0x2006 },
		{ "model", required_argument, NULL, 'm' },
		{ "labels", required_argument, NULL, 0x2007 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->format = -1;
	o->quality = 90;
	o->cols = 6;
	o->thumb = 160;
	o->min_score = 0.25f;
	while ((c = feat_getopt(argc, argv, "o:m:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'o': o->dir = optarg; break;
		case 0x2001: o->sheet = optarg; break;
		case 0x2002:
			if (!strcmp(optarg, "png"))
				o->format = FEAT_PIC_PNG;
			else if (!strcmp(optarg, "jpeg") || !strcmp(optarg, "jpg"))
				o->format = FEAT_PIC_JPEG;
			else
				feat_die_usage("--format: unknown value '%s' (known: png, jpeg)", optarg);
			break;
		case 0x2003: o->quality = (int)feat_cli_long("--quality", optarg, 1, 100); break;
		case 0x2004: o->cols = (int)feat_cli_long("--cols", optarg, 1, 256); break;
		case 0x2005: o->thumb = (int)feat_cli_long("--thumb", optarg, 16, 2048); break;
		case 0x2006: o->min_score = (float)feat_cli_double("--min-score", optarg, -1e30, 1e30); break;
		case 'm': o->model = optarg; break;
		case 0x2007: o->labels = optarg; break;
		}
	}
	if (optind < argc)
		feat_die_usage("unexpected argument '%s' (featdraw reads standard input)",
			       argv[optind]);
	if (!o->dir && !o->sheet)
		feat_die_usage("nothing to write: give -o DIR, --sheet FILE or both");
	if (o->model && o->labels)
		feat_die_usage("give -m MODEL or --labels FILE, not both");
	if (o->format < 0) {
		const char *dot = o->sheet ? strrchr(o->sheet, '.') : NULL;

		o->format = dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"))
				    ? FEAT_PIC_JPEG : FEAT_PIC_PNG;
	}
}

/* A file to write, never through a symbolic link planted in its place. */
static FILE *create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
	FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;

	if (!f)
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot create: %s", path, strerror(errno));
	return f;
}

/* Everything that can fail before a record is read does so now. */
static void setup(struct run *s, const struct opts *o)
{
	char path[4096], why[512];
	struct stat st;
	int e = 0;

	if (o->model) {
		if (feat_cli_model_path(o->model, path, sizeof path, why, sizeof why))
			feat_die(FEAT_EXIT_SYSTEM, "%s", why);
		e = feat_labels_model(&s->labels, path, why, sizeof why);
	} else if (o->labels) {
		e = feat_labels_load(&s->labels, o->labels, why, sizeof why);
	}
	if (e)
		feat_die(e == FEAT_E_IO || e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM
							     : FEAT_EXIT_STREAM, "%s", why);
	if (o->dir) {
		if (mkdir(o->dir, 0777) && errno != EEXIST)
			feat_die(FEAT_EXIT_SYSTEM, "%s: cannot make the directory: %s", o->dir,
				 strerror(errno));
		if (stat(o->dir, &st) || !S_ISDIR(st.st_mode))
			feat_die(FEAT_EXIT_SYSTEM, "%s: not a directory", o->dir);
		if (access(o->dir, W_OK | X_OK))
			feat_die(FEAT_EXIT_SYSTEM, "%s: cannot write into it: %s", o->dir,
				 strerror(errno));
	}
	if (o->sheet) {
		/* the sheet is replaced only when complete (feat_cli_create) */
		s->sheet_file = feat_cli_create(o->sheet);
		if (!(s->sheet = s->sheet_file->fp = fdopen(s->sheet_file->fd, "wb")))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		if (!(s->tiles = tmpfile()))
			feat_die(FEAT_EXIT_SYSTEM, "cannot make a temporary file for the sheet: %s",
				 strerror(errno));
		s->tw = o->thumb + 8;
		s->th = o->thumb + 8 + 2 * FEAT_FONT_H + 4;
		if (feat_canvas_new(&s->tile, s->tw, s->th, c_sheet))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	}
}

/* ---------------------------------------------------------------- text */

/* The name of a class: from the labels, else its number. */
static void class_name(const struct run *s, float label, char *out, size_t n)
{
	long l = lroundf(label);

	if ((float)l == label && l >= 0 && l < s->labels.n && s->labels.names[l][0])
		snprintf(out, n, "%s", s->labels.names[l]);
	else
		snprintf(out, n, "%g", label);
}

static void box_text(const struct run *s, const struct feat_box *b, char *out, size_t n)
{
	char name[128];

	class_name(s, b->label, name, sizeof name);
	snprintf(out, n, "%s %.2f", name, b->score);
}

/* s cut to fit maxc characters: its tail after "...". */
static const char *fit(const char *s, int maxc, char *buf, size_t n)
{
	size_t len = strlen(s);

	if (maxc < 4 || (int)len <= maxc)
		return s;
	snprintf(buf, n, "...%s", s + len - (size_t)(maxc - 3));
	return buf;
}

/* ---------------------------------------------------------------- boxes */

/*
 * The boxes of a record drawn at (ox, oy) + scale * (x, y): the others
 * first, thin, in their class's colour, then the best, thick, in yellow,
 * each with its name and score on a filled label above it (inside it
 * when there is no room above).
 */
static void draw_boxes(const struct run *s, struct feat_canvas *c, int nb,
	double ox, double oy, double scale, int font)
{
	int thin = font, thick = 2 * font + 1;

	for (int k = nb - 1; k >= 0; k--) {
		const struct feat_box *b = &s->boxes[k];
		const uint8_t *col = k ? palette[(unsigned)lroundf(fabsf(b->label)) % 6] : c_main;
		int t = k ? thin : thick;
		int x0 = (int)floor(ox + b->x0 * scale), y0 = (int)floor(oy + b->y0 * scale);
		int x1 = (int)ceil(ox + b->x1 * scale), y1 = (int)ceil(oy + b->y1 * scale);
		int tx, ty, tw;
		char text[160];

		if (k && b->score < s->o->min_score)
			continue;
		if (x1 <= x0)
			x1 = x0 + 1;
		if (y1 <= y0)
			y1 = y0 + 1;
		feat_draw_box(c, x0, y0, x1, y1, t, col);
		box_text(s, b, text, sizeof text);
		tw = feat_text_width(text, font) + 2 * font;
		ty = y0 - FEAT_FONT_H * font >= 0 ? y0 - FEAT_FONT_H * font : y0 + t;
		tx = x0 + tw <= c->w ? x0 : c->w - tw > 0 ? c->w - tw : 0;
		feat_draw_fill(c, tx, ty, tx + tw, ty + FEAT_FONT_H * font, col);
		feat_draw_text(c, tx + font, ty + font, text, font, c_black);
	}
}

/* The boxes of r to draw: all of `dets` that cropbox could take, best
 * first.  -1 when the record cannot be drawn (why says so). */
static int boxes_of(struct run *s, struct feat_rec *r, int *w, int *h,
	char *why, size_t whylen)
{
	static const struct feat_crop_opts all = { 0 };
	const struct feat_tensor *t;
	const float *dets;
	int n, nb, iw, ih;

	if (feat_crop_inputs(r, w, h, &dets, &n, why, whylen))
		return -1;
	if (n > s->cap) {
		free(s->boxes);
		if (!(s->boxes = malloc((size_t)n * sizeof *s->boxes)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		s->cap = n;
	}
	nb = feat_crop_boxes(dets, n, *w, *h, &all, s->boxes);
	/* from the photo's frame (origsize) to the image's pixels */
	t = feat_rec_find(r, "image");
	iw = (int)t->dims[1], ih = (int)t->dims[0];
	for (int i = 0; i < nb && (iw != *w || ih != *h); i++) {
		s->boxes[i].x0 *= (float)iw / *w, s->boxes[i].x1 *= (float)iw / *w;
		s->boxes[i].y0 *= (float)ih / *h, s->boxes[i].y1 *= (float)ih / *h;
	}
	*w = iw, *h = ih;
	return nb;
}

/* ------------------------------------------------------------ pictures */

/* NNNNNN-KEY.EXT: the key with every byte but letters, digits, '.', '_'
 * and '-' made '_', no leading '.', at most 100 bytes (its tail). */
static void file_name(const struct run *s, const char *key, char *out, size_t n)
{
	size_t len = strlen(key), from = len > 100 ? len - 100 : 0;
	char safe[101];
	size_t k = 0;

	for (size_t i = from; i < len; i++) {
		unsigned char ch = (unsigned char)key[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			 (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';

		safe[k] = ok && !(k == 0 && ch == '.') ? (char)ch : '_';
		k++;
	}
	safe[k] = 0;
	snprintf(out, n, "%s/%06llu-%s.%s", s->o->dir, (unsigned long long)s->nrec,
		 k ? safe : "record", s->o->format == FEAT_PIC_JPEG ? "jpg" : "png");
}

static void photo(struct run *s, struct feat_rec *r, int nb, int w, int h)
{
	const struct feat_tensor *t = feat_rec_find(r, "image");
	struct feat_canvas c;
	char path[8192], why[512];
	int font = 1 + (w < h ? w : h) / 500, e;
	int max = s->o->format == FEAT_PIC_JPEG ? 65500 : 65535;
	FILE *f;

	if (w > max || h > max) {
		feat_warn("%s: %d x %d pixels is too large for a picture (at most %d a side); only its tile is drawn",
			  r->key, w, h, max);
		return;
	}
	if ((e = feat_canvas_new(&c, w, h, c_black)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: %s", r->key, feat_strerror(e));
	if (feat_draw_image(&c, 0, 0, w, h, t->data, w, h, (int)t->dims[2]))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	draw_boxes(s, &c, nb, 0, 0, 1, font);
	file_name(s, r->key, path, sizeof path);
	f = create(path);
	if (feat_canvas_write(&c, f, s->o->format, s->o->quality, why, sizeof why) || fclose(f))
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error: %s", path,
			 why[0] ? why : strerror(errno));
	feat_info("wrote %s", path);
	feat_canvas_free(&c);
}

/* ---------------------------------------------------------------- sheet */

/* Text lines from (x, y) down, wrapped at maxc characters, at most lines. */
static void wrapped(struct feat_canvas *c, int x, int y, const char *s, int maxc,
	int lines, const uint8_t rgb[3])
{
	char line[512];

	for (int i = 0; i < lines && *s; i++) {
		size_t k = strlen(s) < (size_t)maxc ? strlen(s) : (size_t)maxc;

		if (k >= sizeof line)
			k = sizeof line - 1;
		memcpy(line, s, k);
		line[k] = 0;
		feat_draw_text(c, x, y + i * FEAT_FONT_H, line, 1, rgb);
		s += k;
	}
}

/* One tile: the picture with its boxes, or what went wrong, and the key. */
static void tile(struct run *s, struct feat_rec *r, int nb, int w, int h, const char *why)
{
	struct feat_canvas *c = &s->tile;
	int T = s->o->thumb, maxc = (s->tw - 4) / FEAT_FONT_W;
	char buf[512], text[160];

	feat_draw_fill(c, 0, 0, c->w, c->h, c_sheet);
	if (r->status != FEAT_ST_OK || nb < 0) {
		feat_draw_fill(c, 4, 4, 4 + T, 4 + T, r->status != FEAT_ST_OK ? c_error : c_grey);
		feat_draw_text(c, 6, 6, r->status != FEAT_ST_OK ? "error:" : "cannot draw:", 1, c_white);
		wrapped(c, 6, 6 + FEAT_FONT_H, r->status != FEAT_ST_OK ? r->msg : why,
			(T - 4) / FEAT_FONT_W, (T - 4) / FEAT_FONT_H - 1, c_white);
		text[0] = 0;
	} else {
		const struct feat_tensor *t = feat_rec_find(r, "image");
		double scale = fmin((double)T / w, (double)T / h);
		int dw = (int)lround(w * scale), dh = (int)lround(h * scale);
		int ox, oy;

		dw = dw < 1 ? 1 : dw > T ? T : dw;
		dh = dh < 1 ? 1 : dh > T ? T : dh;
		ox = 4 + (T - dw) / 2;
		oy = 4 + (T - dh) / 2;
		if (feat_draw_image(c, ox, oy, dw, dh, t->data, w, h, (int)t->dims[2]))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		draw_boxes(s, c, nb, ox, oy, (double)dw / w, 1);
		if (nb)
			box_text(s, &s->boxes[0], text, sizeof text);
		else
			snprintf(text, sizeof text, "no box");
	}
	feat_draw_text(c, 2, T + 10, fit(r->key, maxc, buf, sizeof buf), 1, c_white);
	feat_draw_text(c, 2, T + 10 + FEAT_FONT_H, fit(text, maxc, buf, sizeof buf), 1, c_white);
	if (fwrite(c->px, 3, (size_t)c->w * c->h, s->tiles) != (size_t)c->w * c->h)
		feat_die(FEAT_EXIT_SYSTEM, "temporary file of the sheet: write error: %s",
			 strerror(errno));
	s->ntiles++;
}

/* The sheet's rows, composed from a row of tiles read back at a time. */
struct sheet_rows {
	struct run *s;
	int cols, loaded;              /* grid row in buf, or -1 */
	uint8_t *buf, *row;
};

static const uint8_t *sheet_row(void *ctx, int y)
{
	struct sheet_rows *q = ctx;
	struct run *s = q->s;
	size_t tilebytes = (size_t)s->tw * s->th * 3;
	int g = y / s->th, ty = y % s->th;

	if (g != q->loaded) {
		for (int i = 0; i < q->cols; i++) {
			uint64_t k = (uint64_t)g * q->cols + i;
			uint8_t *dst = q->buf + i * tilebytes;

			if (k >= s->ntiles) {
				for (size_t j = 0; j < tilebytes; j += 3)
					memcpy(dst + j, c_sheet, 3);
				continue;
			}
			if (fseeko(s->tiles, (off_t)(k * tilebytes), SEEK_SET) ||
			    fread(dst, 1, tilebytes, s->tiles) != tilebytes)
				feat_die(FEAT_EXIT_SYSTEM, "temporary file of the sheet: read error");
		}
		q->loaded = g;
	}
	for (int i = 0; i < q->cols; i++)
		memcpy(q->row + (size_t)i * s->tw * 3,
		       q->buf + i * tilebytes + (size_t)ty * s->tw * 3, (size_t)s->tw * 3);
	return q->row;
}

static void sheet(struct run *s)
{
	struct sheet_rows q = { s, 0, -1, NULL, NULL };
	uint64_t rows;
	char why[512] = "";
	int e;

	if (!s->ntiles)   /* an empty stream: one empty tile */
		q.cols = 1, rows = 1;
	else
		q.cols = s->ntiles < (uint64_t)s->o->cols ? (int)s->ntiles : s->o->cols,
		rows = (s->ntiles + q.cols - 1) / q.cols;
	if (rows * s->th > INT32_MAX)
		feat_die(FEAT_EXIT_SYSTEM, "%s: too many records for one sheet (give more --cols)",
			 s->o->sheet);
	q.buf = malloc((size_t)q.cols * s->tw * s->th * 3);
	q.row = malloc((size_t)q.cols * s->tw * 3);
	if (!q.buf || !q.row)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	e = feat_pic_write(s->sheet, q.cols * s->tw, (int)(rows * s->th), s->o->format,
			   s->o->quality, sheet_row, &q, why, sizeof why);
	if (e)
		feat_die(FEAT_EXIT_SYSTEM, "%s: %s", s->o->sheet, why[0] ? why : strerror(errno));
	feat_cli_commit(s->sheet_file);
	feat_info("wrote %s: %llu records", s->o->sheet, (unsigned long long)s->ntiles);
	free(q.buf);
	free(q.row);
	fclose(s->tiles);
}

static void work(struct run *s, struct feat_rec *r)
{
	char why[512] = "";
	int w = 0, h = 0, nb = -1;

	s->nrec++;
	if (r->status == FEAT_ST_OK)
		nb = boxes_of(s, r, &w, &h, why, sizeof why);
	if (s->o->dir && nb >= 0)
		photo(s, r, nb, w, h);
	if (s->o->sheet)
		tile(s, r, nb, w, h, why);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct run s = { .o = &o };
	struct feat_rec r;
	feat_reader *rd;
	int e;

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	setup(&s, &o);
	if (!(rd = feat_reader_new(STDIN_FILENO, "standard input", NULL)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		work(&s, &r);
		feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 0);
	}
	/* the sheet of what was read, even when the stream broke */
	if (o.sheet)
		sheet(&s);
	if (e < 0)
		feat_cli_stream_fail(rd, e);
	feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 1);
	feat_reader_free(rd);
	feat_rec_free(&r);
	feat_canvas_free(&s.tile);
	feat_labels_free(&s.labels);
	free(s.boxes);
	return FEAT_EXIT_OK;
}
