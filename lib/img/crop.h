/*
 * crop.h - cropbox's library half: choosing boxes among a record's
 * detections (`dets`, f32 [N, 6]: label, score, xmin, ymin, xmax, ymax in
 * pixels of `image`) and cutting them out of `image`.  Also the class
 * names (labels) that cropbox and featdraw read from a model or a file.
 *
 * Internal to libfeat, like cli.h: the programs use it; the public
 * interface may take it over once its shape has settled.
 */
#ifndef FEAT_CROP_H
#define FEAT_CROP_H

#include <stddef.h>

#include "feat.h"

struct feat_crop_opts {
	const int *classes;      /* labels kept; NULL: every class */
	int nclasses;
	float min_score;         /* boxes scoring less are ignored */
	double min_size;         /* boxes narrower or lower than this, in pixels
				    after clipping, are ignored */
	double margin_frac;      /* added on each side, times the box's width
				    (left, right) or height (top, bottom) */
	double margin_px;        /* added on each side, pixels */
	int square;              /* grow the short side to the long one */
};

/* One candidate: a detection clipped to the image. */
struct feat_box {
	float label, score;
	float x0, y0, x1, y1;    /* clipped, x0 < x1, y0 < y1 */
	int index;               /* row of `dets` */
};

/* The fallback's mark in the `crop` tensor: score and label -1. */
#define FEAT_CROP_FALLBACK (-1.0f)

/*
 * Check r's `image` (u8 [H, W, C], C 1..4, not empty), `origsize`
 * (absent, or i32 [2] >= 1) and `dets` (absent, or f32 [N, 6]).  Fills
 * *w, *h with the photo's frame, the one `dets` and `crop` are in:
 * `origsize` when r has it (the image may be smaller: imgdecode
 * --min-side), else the image's size; and *dets / *n (NULL and 0 when r
 * has no `dets`).  Returns 0, or FEAT_E_NOTFOUND / FEAT_E_FORMAT with a
 * one-line reason.
 */
int feat_crop_inputs(struct feat_rec *r, int *w, int *h, const float **dets,
	int *n, char *why, size_t whylen);

/*
 * The boxes of dets (n rows) that pass the options, clipped to the
 * w x h image, best first (score descending; equal scores in row order).
 * out has room for n.  Boxes with a coordinate or score that is not a
 * number, or empty after clipping, are ignored.  Returns the count.
 */
int feat_crop_boxes(const float *dets, int n, int w, int h,
	const struct feat_crop_opts *o, struct feat_box *out);

/* The integer rectangle to cut for box b (margin, square, then clipped
 * to the image; fractional edges rounded outwards, except that an edge
 * within FEAT_CROP_EPS of a whole number is that number, so that float
 * noise never adds a pixel): rect = x0, y0, x1, y1 with
 * 0 <= x0 < x1 <= w, 0 <= y0 < y1 <= h. */
#define FEAT_CROP_EPS 1e-3
void feat_crop_rect(const struct feat_box *b, int w, int h,
	const struct feat_crop_opts *o, int rect[4]);

/*
 * Replace r's `image` by its rect (in the photo's frame, as
 * feat_crop_inputs gives it: scaled to the image's pixels, edges rounded
 * outwards), set `origsize` (when r has it) to the rect's size, add
 * `crop` (f32 [6]: x0, y0, x1, y1 in the frame,
 * score, label; score and label FEAT_CROP_FALLBACK for the whole image
 * taken when no box was), and remove `input` and `xform` (made from the
 * old image), and `dets` unless keep_dets.  Returns 0, FEAT_E_NOMEM, or
 * FEAT_E_TOOBIG (no room for `crop`) with a reason in why.
 */
int feat_crop_apply(struct feat_rec *r, const int rect[4], float score,
	float label, int keep_dets, char *why, size_t whylen);

/* Class names: names[i] is label i's (0 is the background in SSD). */
struct feat_labels {
	int n;
	char **names;
};

/*
 * Parse a labels file held in memory: one name per line (LF or CRLF), the
 * line number from 0 is the label; empty lines are kept as empty names;
 * a last line without its newline counts.  Names hold no NUL and at most
 * 255 bytes.  Returns 0, FEAT_E_FORMAT (with the line in why) or
 * FEAT_E_NOMEM.
 */
int feat_labels_parse(struct feat_labels *l, const char *text, size_t len,
	char *why, size_t whylen);
/* From a list of strings (a model's `labels` metadata). */
int feat_labels_from(struct feat_labels *l, const char *const *names, int n);
/* From a file (feat_labels_parse) or a featmodel file's metadata
 * `labels` (strs).  0, or FEAT_E_IO / FEAT_E_TOOBIG (the file),
 * FEAT_E_FORMAT / FEAT_E_CORRUPT (its content), FEAT_E_NOTFOUND (a model
 * without `labels`) or FEAT_E_NOMEM, with a reason naming path in why. */
int feat_labels_load(struct feat_labels *l, const char *path, char *why,
	size_t whylen);
int feat_labels_model(struct feat_labels *l, const char *path, char *why,
	size_t whylen);
void feat_labels_free(struct feat_labels *l);
/* Label of a name, or -1. */
int feat_labels_find(const struct feat_labels *l, const char *name);

/*
 * Parse a class list "1,3,shirt" into labels: numbers are taken as they
 * are (0 to 65535), names are looked up in l (which may be NULL).
 * *out is malloc'd (the caller frees).  Returns the count, or
 * FEAT_E_INVAL / FEAT_E_NOTFOUND / FEAT_E_NOMEM with the reason in why.
 */
int feat_class_list(const char *list, const struct feat_labels *l, int **out,
	char *why, size_t whylen);

#endif
