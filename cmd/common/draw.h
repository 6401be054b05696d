/*
 * draw.h - pictures for people: an RGB canvas, filled and outlined
 * rectangles, text in featkit's own 5x9 bitmap font, images scaled into
 * it, and PNG (libpng) or JPEG (libjpeg-turbo) output.  featdraw's alone:
 * part of the programs' helpers (cmd/common, libfeatcli.a), not of
 * libfeat, which has no use for a canvas.
 *
 * Coordinates are whole pixels, x to the right and y down; every drawing
 * call clips to the canvas, so callers may pass rectangles partly or
 * wholly outside it.
 */
#ifndef FEAT_DRAW_H
#define FEAT_DRAW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "feat.h"

struct feat_canvas {
	int w, h;
	uint8_t *px;            /* R, G, B; rows of 3 * w bytes */
};

/* A w x h canvas (1 to 65535 a side) filled with bg.  0 or FEAT_E_RANGE /
 * FEAT_E_NOMEM. */
int feat_canvas_new(struct feat_canvas *c, int w, int h, const uint8_t bg[3]);
void feat_canvas_free(struct feat_canvas *c);

/* Fill [x0, x1) x [y0, y1). */
void feat_draw_fill(struct feat_canvas *c, int x0, int y0, int x1, int y1,
	const uint8_t rgb[3]);
/* The outline of [x0, x1) x [y0, y1), thick pixels wide, inside it. */
void feat_draw_box(struct feat_canvas *c, int x0, int y0, int x1, int y1,
	int thick, const uint8_t rgb[3]);

/* The font: glyphs 5 x 9 pixels (7 above the baseline, 2 for the
 * descenders of g, j, p, q, y) in cells of FEAT_FONT_W x FEAT_FONT_H,
 * times scale.  Bytes outside printable ASCII are drawn as '?'. */
#define FEAT_FONT_W 6
#define FEAT_FONT_H 10
#define FEAT_FONT_ROWS 9
int feat_text_width(const char *s, int scale);
/* Draw s with its cell's top-left corner at (x, y); returns its width. */
int feat_draw_text(struct feat_canvas *c, int x, int y, const char *s,
	int scale, const uint8_t rgb[3]);

/*
 * Scale an 8-bit image (sw x sh, ch = 1 gray, 3 RGB or 4 RGBA whose alpha
 * is ignored) onto [x, x + w) x [y, y + h) of the canvas: area averaging
 * when shrinking, bilinear when enlarging (feat_resize_u8_to_f32), values
 * rounded to the nearest.  0, FEAT_E_INVAL or FEAT_E_NOMEM.
 */
int feat_draw_image(struct feat_canvas *c, int x, int y, int w, int h,
	const uint8_t *src, int sw, int sh, int ch);

enum feat_pic_format {
	FEAT_PIC_PNG = 0,
	FEAT_PIC_JPEG = 1,
};

/*
 * Write a w x h RGB picture to f, row by row: row(ctx, y) returns row y
 * (3 * w bytes), asked for in order from 0 to h - 1.  quality is JPEG's
 * (1 to 100).  JPEG sides are at most 65500.  0, or FEAT_E_RANGE /
 * FEAT_E_IO / FEAT_E_NOMEM with a reason in why.
 */
int feat_pic_write(FILE *f, int w, int h, int format, int quality,
	const uint8_t *(*row)(void *ctx, int y), void *ctx, char *why,
	size_t whylen);
/* The same for a canvas. */
int feat_canvas_write(const struct feat_canvas *c, FILE *f, int format,
	int quality, char *why, size_t whylen);

/*
 * One line of featdedup's tsv output, for featdraw --groups: group TAB
 * key TAB distance, the key escaped as in tsv (\t \n \r \\).  line is
 * split in place (its newline or CR LF already removed): *id, *key
 * (unescaped) and *dist point into it.  0, or FEAT_E_FORMAT for a line of
 * another shape (not three fields, or an empty group or key).
 */
int feat_draw_group_line(char *line, char **id, char **key, char **dist);

#endif
