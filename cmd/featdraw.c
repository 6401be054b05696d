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
#include "common/draw.h"

static const char usage[] =
	"Usage: featdraw [OPTION]... -o DIR | --sheet FILE\n"
	"  or:  featdraw [OPTION]... --groups GROUPS.tsv --sheet FILE\n"
	"Read a featstream on standard input and draw each record's `image` with\n"
	"its detections `dets`: boxes, class names and scores, the main box (the\n"
	"first, the one cropbox takes) highlighted.\n"
	"\n"
	"  -o, --output DIR     write one picture per record into DIR (made if\n"
	"                       missing), named NNNNNN-KEY.png from the record's\n"
	"                       number and its key\n"
	"      --sheet FILE     write a contact sheet of all records to FILE (-:\n"
	"                       standard output)\n"
	"      --per-page N     N records a sheet: FILE-001.png, FILE-002.png, ...\n"
	"                       (with --groups: N groups a sheet)\n"
	"      --groups FILE    a review sheet of featdedup's groups (group TAB key\n"
	"                       TAB distance lines): a row for each group, its\n"
	"                       photos from the stream; other records are skipped\n"
	"      --format FMT     png or jpeg (default: jpeg when FILE ends in .jpg\n"
	"                       or .jpeg, else png)\n"
	"      --quality Q      JPEG quality, 1 to 100 (default 90)\n"
	"      --cols N         tiles per row of the sheet (default 6)\n"
	"      --thumb PX       tile picture size of the sheet (default 160)\n"
	"      --min-score S    draw boxes scoring S or more (default 0.25); the\n"
	"                       main box is drawn whatever its score\n"
	"  -m, --model MODEL    class names from the model's metadata `labels`\n"
	"      --labels FILE    class names from FILE, one a line (line 0: label 0)\n"
	FEAT_CLI_HELP
	"\n"
	"A sheet is at most 65535 pixels a side (JPEG 65500): one that would be\n"
	"larger is refused before the records are drawn, or at the first record\n"
	"that does not fit (give --per-page).\n"
	"\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream or corrupt, or\n"
	"a bad labels file, groups file or model, 4 a file that cannot be read or\n"
	"written, or a sheet too large.\n";

struct opts {
	const char *dir, *sheet, *model, *labels, *groups;
	int format, quality, cols, thumb;
	long per_page;                 /* 0: one sheet */
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

/* A member of a featdedup group: one line of --groups. */
struct group {
	char *id, *key, *dist;
	int drawn;                     /* its tile is in the tile file */
};

/* A label's place: [x0, x1) x [y0, y1). */
struct tag {
	int x0, y0, x1, y1;
};

struct run {
	const struct opts *o;
	struct feat_labels labels;
	FILE *sheet, *tiles;           /* the sheet's file, its tiles so far */
	struct feat_outfile *sheet_file; /* the sheet until it is complete */
	char *page_name;               /* the page being filled (--per-page) */
	int page;                      /* its number, from 1 */
	uint64_t ntiles, nrec;         /* tiles of the page; records read */
	uint64_t max_tiles;            /* on one sheet (0: --per-page) */
	struct group *grp;             /* --groups: the members, file order */
	size_t ngrp;
	size_t *by_key;                /* members sorted by key */
	uint64_t drawn;                /* members with a tile */
	int tw, th;                    /* tile size */
	struct feat_canvas tile;
	struct feat_box *boxes;
	int cap;
	struct tag *tags;              /* labels placed on the current picture */
	int *tagk;                     /* ...and their boxes */
	int tagcap;
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
		{ "per-page", required_argument, NULL, 0x2008 },
		{ "groups", required_argument, NULL, 0x2009 },
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
		case 0x2008: o->per_page = feat_cli_long("--per-page", optarg, 1, 1000000); break;
		case 0x2009: o->groups = optarg; break;
		}
	}
	if (optind < argc)
		feat_die_usage("unexpected argument '%s' (featdraw reads standard input)",
			       argv[optind]);
	if (!o->dir && !o->sheet)
		feat_die_usage("nothing to write: give -o DIR, --sheet FILE or both");
	if (o->dir && !strcmp(o->dir, "-"))
		feat_die_usage("-o takes a directory for a picture a record; for a sheet on "
			       "standard output give --sheet -");
	if ((o->per_page || o->groups) && !o->sheet)
		feat_die_usage("--per-page and --groups make sheets: give --sheet FILE");
	if (o->per_page && !strcmp(o->sheet, "-"))
		feat_die_usage("--per-page writes several files: --sheet - cannot take them");
	if (o->model && o->labels)
		feat_die_usage("give -m MODEL or --labels FILE, not both");
	if (o->format < 0) {
		const char *dot = o->sheet ? strrchr(o->sheet, '.') : NULL;

		o->format = dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"))
				    ? FEAT_PIC_JPEG : FEAT_PIC_PNG;
	}
	{
		/* a sheet too wide, or pages too high, are refused now */
		long max = o->format == FEAT_PIC_JPEG ? 65500 : 65535;
		long tw = o->thumb + 8, th = o->thumb + 8 + 2 * FEAT_FONT_H + 4;

		if (o->sheet && (long)o->cols * tw > max)
			feat_die_usage("--cols %d of --thumb %d make a sheet %ld pixels wide; "
				       "at most %ld fit", o->cols, o->thumb, (long)o->cols * tw, max);
		if (o->per_page && !o->groups && (o->per_page + o->cols - 1) / o->cols * th > max)
			feat_die_usage("--per-page %ld makes sheets %ld pixels high; at most %ld "
				       "fit (%ld records of --cols %d)", o->per_page,
				       (o->per_page + o->cols - 1) / o->cols * th, max,
				       max / th * o->cols, o->cols);
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

/* Where the tiles of the current page go: SHEET, or SHEET-NNN.EXT with
 * --per-page; replaced only when complete (feat_cli_create). */
static void open_page(struct run *s)
{
	const char *name = s->o->sheet;

	if (s->o->per_page) {
		const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');
		size_t n = strlen(name), stem = dot && dot > (slash ? slash : name) &&
				dot[-1] != '/' ? (size_t)(dot - name) : n;

		free(s->page_name);
		if (!(s->page_name = malloc(n + 16)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		snprintf(s->page_name, n + 16, "%.*s-%03d%s", (int)stem, name, ++s->page,
			 name + stem);
		name = s->page_name;
	}
	s->sheet_file = feat_cli_create(name);
	if (!(s->sheet = s->sheet_file->fp = fdopen(s->sheet_file->fd, "wb")))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
}

static const struct group *sort_base;

static int by_key(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_base[i].key, sort_base[j].key);

	return c ? c : i < j ? -1 : i > j;
}

/*
 * --groups FILE: featdedup's lines, group TAB key TAB distance (keys
 * escaped as in tsv).  A line of another shape stops the run (exit 3)
 * before a record is read.
 */
static void read_groups(struct run *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t n;
	uint64_t lineno = 0;

	if (!f)
		feat_die(FEAT_EXIT_SYSTEM, "%s: cannot open: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *id, *key, *dist;
		struct group *g;

		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = 0;
		if (n && line[n - 1] == '\r')
			line[--n] = 0;
		if (!n)
			continue;
		if (feat_draw_group_line(line, &id, &key, &dist))
			feat_die(FEAT_EXIT_STREAM, "%s:%llu: expected group TAB key TAB distance "
				 "(featdedup's tsv output)", path, (unsigned long long)lineno);
		if (s->ngrp == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			if (!(g = realloc(s->grp, alloc * sizeof *g)))
				feat_die(FEAT_EXIT_SYSTEM, "out of memory");
			s->grp = g;
		}
		g = &s->grp[s->ngrp++];
		if (!(g->id = strdup(id)) || !(g->key = strdup(key)) || !(g->dist = strdup(dist)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		g->drawn = 0;
	}
	if (ferror(f))
		feat_die(FEAT_EXIT_SYSTEM, "%s: read error: %s", path, strerror(errno));
	fclose(f);
	free(line);
	if (!(s->by_key = malloc((s->ngrp + 1) * sizeof *s->by_key)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	for (size_t i = 0; i < s->ngrp; i++)
		s->by_key[i] = i;
	sort_base = s->grp;
	qsort(s->by_key, s->ngrp, sizeof *s->by_key, by_key);
}

static void check_group_pages(const struct run *s);

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
		feat_die(feat_cli_exit_code(e, FEAT_EXIT_STREAM), "%s", why);
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
		if (o->groups)
			read_groups(s, o->groups);
		if (!strcmp(o->sheet, "-")) {
			if (isatty(STDOUT_FILENO))
				feat_die(FEAT_EXIT_USAGE, "refusing to write a picture to a terminal "
					 "(redirect it, or give --sheet FILE)");
			s->sheet = stdout;
		} else {
			open_page(s);
		}
		if (!(s->tiles = tmpfile()))
			feat_die(FEAT_EXIT_SYSTEM, "cannot make a temporary file for the sheet: %s",
				 strerror(errno));
		s->tw = o->thumb + 8;
		s->th = o->thumb + 8 + 2 * FEAT_FONT_H + 4;
		if (feat_canvas_new(&s->tile, s->tw, s->th, c_sheet))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		s->max_tiles = (uint64_t)o->cols *
			       ((o->format == FEAT_PIC_JPEG ? 65500 : 65535) / s->th);
		if (o->groups)
			check_group_pages(s);
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

static int tags_meet(const struct tag *a, const struct tag *b)
{
	return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/*
 * Where the label of box [x0, x1) x [y0, y1) (outline t wide) goes: the
 * first of above the box, inside its top, below it, inside its bottom
 * that lies on the canvas and meets none of the n labels placed before;
 * else the nearest free place above or below those; else above the box
 * (or inside it), overlapping.
 */
static struct tag place_tag(const struct feat_canvas *c, int x0, int y0,
	int y1, int t, int tw, int th, const struct tag *placed, int n)
{
	int cand[4] = { y0 - th, y0 + t, y1, y1 - t - th };
	struct tag g;

	g.x0 = x0 + tw <= c->w ? x0 : c->w - tw > 0 ? c->w - tw : 0;
	g.x1 = g.x0 + tw;
	for (int step = 0; step <= c->h / th + 1; step++) {
		for (int i = 0; i < (step ? 2 : 4); i++) {
			int y = step ? (i ? y1 + step * th : y0 - th - step * th) : cand[i];
			int j;

			if (y < 0 || y + th > c->h)
				continue;
			g.y0 = y;
			g.y1 = y + th;
			for (j = 0; j < n && !tags_meet(&g, &placed[j]); j++)
				;
			if (j == n)
				return g;
		}
	}
	g.y0 = cand[0] >= 0 ? cand[0] : cand[1];
	g.y1 = g.y0 + th;
	return g;
}

/*
 * The boxes of a record drawn at (ox, oy) + scale * (x, y): the others
 * first, thin, in their class's colour, then the best, thick, in yellow;
 * then each one's name and score on a filled label, placed best first
 * where it covers no label placed before it (above the box, inside its
 * top, below it, inside its bottom, or shifted further up or down), so
 * that the labels of overlapping boxes stay readable.
 */
static void draw_boxes(struct run *s, struct feat_canvas *c, int nb,
	double ox, double oy, double scale, int font)
{
	int thin = font, thick = 2 * font + 1, th = FEAT_FONT_H * font;

	if (nb > s->tagcap) {
		free(s->tags);
		free(s->tagk);
		if (!(s->tags = malloc((size_t)nb * sizeof *s->tags)) ||
		    !(s->tagk = malloc((size_t)nb * sizeof *s->tagk)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		s->tagcap = nb;
	}
	for (int pass = 0; pass < 2; pass++) {
		int placed = 0;

		for (int k = pass ? 0 : nb - 1; pass ? k < nb : k >= 0; k += pass ? 1 : -1) {
			const struct feat_box *b = &s->boxes[k];
			const uint8_t *col = k ? palette[(unsigned)lroundf(fabsf(b->label)) % 6] : c_main;
			int t = k ? thin : thick;
			int x0 = (int)floor(ox + b->x0 * scale), y0 = (int)floor(oy + b->y0 * scale);
			int x1 = (int)ceil(ox + b->x1 * scale), y1 = (int)ceil(oy + b->y1 * scale);
			char text[160];

			if (k && b->score < s->o->min_score)
				continue;
			if (x1 <= x0)
				x1 = x0 + 1;
			if (y1 <= y0)
				y1 = y0 + 1;
			if (!pass) {
				feat_draw_box(c, x0, y0, x1, y1, t, col);
				continue;
			}
			box_text(s, b, text, sizeof text);
			s->tags[placed] = place_tag(c, x0, y0, y1, t,
						    feat_text_width(text, font) + 2 * font, th,
						    s->tags, placed);
			s->tagk[placed++] = k;
		}
		/* the labels last, the best one on top */
		for (int i = pass ? placed - 1 : -1; i >= 0; i--) {
			const struct tag *g = &s->tags[i];
			const struct feat_box *b = &s->boxes[s->tagk[i]];
			const uint8_t *col = s->tagk[i] ? palette[(unsigned)lroundf(fabsf(b->label)) % 6]
							: c_main;
			char text[160];

			box_text(s, b, text, sizeof text);
			feat_draw_fill(c, g->x0, g->y0, g->x1, g->y1, col);
			feat_draw_text(c, g->x0 + font, g->y0 + font, text, font, c_black);
		}
	}
}

/* The boxes of r to draw: all of `dets` that cropbox could take, in row
 * order (the main box first).  -1 when the record cannot be drawn (why says so). */
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

/* The tile canvas into slot of the tile file. */
static void put_tile(struct run *s, uint64_t slot)
{
	struct feat_canvas *c = &s->tile;
	size_t n = (size_t)c->w * c->h;

	if (fseeko(s->tiles, (off_t)(slot * n * 3), SEEK_SET) ||
	    fwrite(c->px, 3, n, s->tiles) != n)
		feat_die(FEAT_EXIT_SYSTEM, "temporary file of the sheet: write error: %s",
			 strerror(errno));
}

/* One tile: the picture with its boxes, or what went wrong, the key, and
 * below it caption (the best box when NULL). */
static void tile(struct run *s, struct feat_rec *r, int nb, int w, int h, const char *why,
	uint64_t slot, const char *caption)
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
	if (caption)
		snprintf(text, sizeof text, "%s", caption);
	feat_draw_text(c, 2, T + 10, fit(r->key, maxc, buf, sizeof buf), 1, c_white);
	feat_draw_text(c, 2, T + 10 + FEAT_FONT_H, fit(text, maxc, buf, sizeof buf), 1, c_white);
	put_tile(s, slot);
}

/* A group member's caption: its group and distance to the first. */
static void member_caption(const struct group *g, char *out, size_t n)
{
	snprintf(out, n, "group %s d %s", g->id, g->dist);
}

/* The tile of a member that the stream did not hold. */
static void missing_tile(struct run *s, const struct group *g, uint64_t slot)
{
	struct feat_canvas *c = &s->tile;
	int T = s->o->thumb, maxc = (s->tw - 4) / FEAT_FONT_W;
	char buf[512], text[160];

	feat_draw_fill(c, 0, 0, c->w, c->h, c_sheet);
	feat_draw_fill(c, 4, 4, 4 + T, 4 + T, c_grey);
	wrapped(c, 6, 6, "not in the stream", (T - 4) / FEAT_FONT_W,
		(T - 4) / FEAT_FONT_H, c_white);
	member_caption(g, text, sizeof text);
	feat_draw_text(c, 2, T + 10, fit(g->key, maxc, buf, sizeof buf), 1, c_white);
	feat_draw_text(c, 2, T + 10 + FEAT_FONT_H, fit(text, maxc, buf, sizeof buf), 1, c_white);
	put_tile(s, slot);
}

/* A sheet's grid: cols x rows cells, cell k holding tile slot[k] (or
 * tile k when slot is NULL), -1 or >= n: empty. */
struct grid {
	int cols;
	uint64_t rows, n;
	const int64_t *slot;
};

/* The sheet's rows, composed from a row of tiles read back at a time. */
struct sheet_rows {
	struct run *s;
	const struct grid *g;
	int64_t loaded;                /* grid row in buf, or -1 */
	uint8_t *buf, *row;
};

static const uint8_t *sheet_row(void *ctx, int y)
{
	struct sheet_rows *q = ctx;
	struct run *s = q->s;
	size_t tilebytes = (size_t)s->tw * s->th * 3;
	int cols = q->g->cols;
	int64_t g = y / s->th;
	int ty = y % s->th;

	if (g != q->loaded) {
		for (int i = 0; i < cols; i++) {
			uint64_t k = (uint64_t)g * cols + i;
			int64_t slot = q->g->slot ? (k < q->g->rows * cols ? q->g->slot[k] : -1)
						  : (int64_t)k;
			uint8_t *dst = q->buf + i * tilebytes;

			if (slot < 0 || (uint64_t)slot >= q->g->n) {
				for (size_t j = 0; j < tilebytes; j += 3)
					memcpy(dst + j, c_sheet, 3);
				continue;
			}
			if (fseeko(s->tiles, (off_t)((uint64_t)slot * tilebytes), SEEK_SET) ||
			    fread(dst, 1, tilebytes, s->tiles) != tilebytes)
				feat_die(FEAT_EXIT_SYSTEM, "temporary file of the sheet: read error");
		}
		q->loaded = g;
	}
	for (int i = 0; i < cols; i++)
		memcpy(q->row + (size_t)i * s->tw * 3,
		       q->buf + i * tilebytes + (size_t)ty * s->tw * 3, (size_t)s->tw * 3);
	return q->row;
}

/* Write the grid as the current sheet (or page) and complete it. */
static void write_sheet(struct run *s, const struct grid *g, const char *what)
{
	struct sheet_rows q = { s, g, -1, NULL, NULL };
	const char *name = s->page_name ? s->page_name : s->o->sheet;
	char why[512] = "";
	int e;

	q.buf = malloc((size_t)g->cols * s->tw * s->th * 3);
	q.row = malloc((size_t)g->cols * s->tw * 3);
	if (!q.buf || !q.row)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	e = feat_pic_write(s->sheet, g->cols * s->tw, (int)(g->rows * s->th), s->o->format,
			   s->o->quality, sheet_row, &q, why, sizeof why);
	if (e)
		feat_die(FEAT_EXIT_SYSTEM, "%s: %s", strcmp(name, "-") ? name : "standard output",
			 why[0] ? why : strerror(errno));
	if (s->sheet_file)
		feat_cli_commit(s->sheet_file);
	s->sheet_file = NULL;
	s->sheet = NULL;
	feat_info("wrote %s: %s", strcmp(name, "-") ? name : "standard output", what);
	free(q.buf);
	free(q.row);
}

/* The tiles of the page so far as one sheet; the next page starts empty. */
static void sheet_page(struct run *s)
{
	struct grid g = { 1, 1, s->ntiles, NULL };
	char what[64];

	if (s->ntiles) {   /* else an empty stream: one empty tile */
		g.cols = s->ntiles < (uint64_t)s->o->cols ? (int)s->ntiles : s->o->cols;
		g.rows = (s->ntiles + g.cols - 1) / g.cols;
	}
	if (!s->sheet)
		open_page(s);
	snprintf(what, sizeof what, "%llu records", (unsigned long long)s->ntiles);
	write_sheet(s, &g, what);
	s->ntiles = 0;
}

/* Group g's first member and the one after its last. */
static size_t group_end(const struct run *s, size_t first)
{
	size_t i = first + 1;

	while (i < s->ngrp && !strcmp(s->grp[i].id, s->grp[first].id))
		i++;
	return i;
}

/* Grid rows of groups [from, to): each starts a row and wraps at cols. */
static uint64_t group_rows(const struct run *s, size_t from, size_t to, int cols)
{
	uint64_t rows = 0;

	for (size_t i = from; i < to; i = group_end(s, i))
		rows += (group_end(s, i) - i + cols - 1) / cols;
	return rows;
}

/* Cols of the review sheet: the largest group's size, at most --cols. */
static int group_cols(const struct run *s)
{
	size_t most = 1;

	for (size_t i = 0; i < s->ngrp; i = group_end(s, i))
		if (group_end(s, i) - i > most)
			most = group_end(s, i) - i;
	return most < (size_t)s->o->cols ? (int)most : s->o->cols;
}

/* Check before any record is drawn that every review page fits. */
static void check_group_pages(const struct run *s)
{
	int cols = group_cols(s);
	long max = s->o->format == FEAT_PIC_JPEG ? 65500 : 65535;
	size_t i = 0;

	do {
		size_t to = i;
		uint64_t rows;

		for (long k = 0; to < s->ngrp && (!s->o->per_page || k < s->o->per_page); k++)
			to = group_end(s, to);
		rows = group_rows(s, i, to, cols);
		if (rows * s->th > (uint64_t)max)
			feat_die_usage("--groups: a page would be %llu pixels high; at most %ld fit "
				       "(%s--cols or a smaller --thumb)",
				       (unsigned long long)(rows * s->th), max,
				       to - i > 1 ? "give --per-page N groups, more " : "one group is too large: more ");
		i = to;
	} while (i < s->ngrp);
}

/* The review sheets: groups in file order, each from a new row. */
static void group_sheets(struct run *s)
{
	int cols = group_cols(s);
	size_t i = 0;

	for (size_t m = 0; m < s->ngrp; m++)
		if (!s->grp[m].drawn)
			missing_tile(s, &s->grp[m], m);
	do {
		size_t to = i, ngroups = 0;
		struct grid g = { cols, 0, s->ngrp, NULL };
		int64_t *slot;
		uint64_t k = 0;
		char what[64];

		for (long n = 0; to < s->ngrp && (!s->o->per_page || n < s->o->per_page); n++, ngroups++)
			to = group_end(s, to);
		g.rows = group_rows(s, i, to, cols);
		if (!g.rows)   /* no groups: one empty tile */
			g.rows = 1;
		if (!(slot = malloc(g.rows * cols * sizeof *slot)))
			feat_die(FEAT_EXIT_SYSTEM, "out of memory");
		for (uint64_t j = 0; j < g.rows * cols; j++)
			slot[j] = -1;
		for (size_t a = i; a < to; a = group_end(s, a)) {
			for (size_t m = a; m < group_end(s, a); m++)
				slot[k++] = (int64_t)m;
			k = (k + cols - 1) / cols * cols;
		}
		g.slot = slot;
		if (!s->sheet)
			open_page(s);
		snprintf(what, sizeof what, "%zu groups", ngroups);
		write_sheet(s, &g, what);
		free(slot);
		i = to;
	} while (i < s->ngrp);
}

/* A record of the stream on the review sheet: the tile of every member
 * that has its key and no tile yet. */
static void group_tile(struct run *s, struct feat_rec *r, int nb, int w, int h,
	const char *why)
{
	size_t lo = 0, hi = s->ngrp;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->grp[s->by_key[mid]].key, r->key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->ngrp && !strcmp(s->grp[s->by_key[lo]].key, r->key); lo++) {
		struct group *g = &s->grp[s->by_key[lo]];
		char caption[160];

		if (g->drawn)
			continue;
		member_caption(g, caption, sizeof caption);
		tile(s, r, nb, w, h, why, s->by_key[lo], caption);
		g->drawn = 1;
		s->drawn++;
	}
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
	if (s->o->sheet && s->o->groups) {
		group_tile(s, r, nb, w, h, why);
	} else if (s->o->sheet) {
		if (!s->o->per_page && s->ntiles >= s->max_tiles)
			feat_die(FEAT_EXIT_SYSTEM, "%s: more than %llu records do not fit on one "
				 "sheet (%d pixels high at most): give --per-page N",
				 s->o->sheet, (unsigned long long)s->max_tiles,
				 s->o->format == FEAT_PIC_JPEG ? 65500 : 65535);
		if (!s->sheet)
			open_page(s);
		tile(s, r, nb, w, h, why, s->ntiles++, NULL);
		if (s->o->per_page && s->ntiles == (uint64_t)s->o->per_page)
			sheet_page(s);
	}
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
	if (feat_reader_new(&rd, STDIN_FILENO, "standard input", NULL))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	feat_rec_init(&r);
	while ((e = feat_reader_next(rd, &r)) > 0) {
		work(&s, &r);
		feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 0);
	}
	/* the sheet of what was read, even when the stream broke */
	if (o.sheet && o.groups)
		group_sheets(&s);
	else if (o.sheet && s.sheet)   /* the page open, or the one sheet */
		sheet_page(&s);
	if (o.sheet)
		fclose(s.tiles);
	if (e < 0)
		feat_cli_stream_fail(rd, e);
	feat_progress(feat_reader_records(rd), feat_reader_bytes(rd), 1);
	feat_reader_free(rd);
	feat_rec_free(&r);
	feat_canvas_free(&s.tile);
	feat_labels_free(&s.labels);
	free(s.boxes);
	free(s.tags);
	free(s.tagk);
	for (size_t i = 0; i < s.ngrp; i++) {
		free(s.grp[i].id);
		free(s.grp[i].key);
		free(s.grp[i].dist);
	}
	free(s.grp);
	free(s.by_key);
	free(s.page_name);
	return FEAT_EXIT_OK;
}
