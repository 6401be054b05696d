/*
 * feat/image.h - libfeat: decoding photos, preparing network inputs,
 * cutting detected boxes, class names. Part of <feat.h>, which includes
 * every one of these headers.
 */
#ifndef FEAT_H_IMAGE
#define FEAT_H_IMAGE

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------- images: decoding */

/*
 * imgdecode's library half.  A decoded image is the tensor `image`
 * (u8, H x W x 3, RGB) and `origsize` (i32 [2]: width, height of the photo
 * as stored, after EXIF orientation: `image` is smaller when DCT scaling
 * was used).
 */
struct feat_decode_opts {
	uint64_t max_pixels;     /* refuse images with more pixels (0: default) */
	int min_side;            /* JPEG: smallest DCT scale keeping short side >= this (0: full size) */
	int no_orient;           /* do not apply EXIF orientation */
	int strict;              /* JPEG: a recovered-corruption warning is an error */
	int fast;                /* JPEG: fast integer IDCT, no fancy upsampling */
	int bg_set;              /* composite alpha over background[] (else white) */
	uint8_t background[3];   /* R, G, B */
	int allow_truncated;     /* JPEG: data that ends early or is corrupt
				    (pixels lost) is a warning, the lost part
				    filled in by libjpeg, not an error */
};
#define FEAT_DEFAULT_MAX_PIXELS 100000000ULL
#define FEAT_DEFAULT_MAX_BYTES ((uint64_t)512 << 20)
/* imgdecode's and feat_coder's default min_side: the detector (160 or 300
 * px) and the crop of an item a sixteenth of the short side get 32 px */
#define FEAT_DEFAULT_MIN_SIDE 512

struct feat_decode_info {
	int format;              /* enum feat_image_format */
	int width, height;       /* as stored, after orientation */
	int out_width, out_height;
	int scale_num, scale_denom;  /* DCT scale used (1/1 when none) */
	int orientation;         /* EXIF orientation 1..8 (1 when absent) */
	int warnings;            /* corrupt-data warnings the decoder recovered from */
	char warning[256];       /* the first such warning */
};

enum feat_image_format {
	FEAT_IMG_UNKNOWN = 0,
	FEAT_IMG_JPEG = 1,
	FEAT_IMG_PNG = 2,
};

/* Sniff the format from the first bytes. */
FEAT_API int feat_image_sniff(const unsigned char *data, size_t len);
/*
 * Decode an in-memory JPEG or PNG into r's `image` and `origsize`.
 * Returns 0 or a negative FEAT_E_*; on failure why receives a one-line
 * reason suitable for an error record (e.g. "corrupt JPEG data: premature
 * end of data segment").  info may be NULL.
 */
FEAT_API int feat_image_decode(const unsigned char *data, size_t len,
	const struct feat_decode_opts *opt, struct feat_rec *r,
	struct feat_decode_info *info, char *why, size_t whylen);

/*
 * EXIF orientation (1..8) from a TIFF structure (the APP1 "Exif" payload
 * after its 6-byte "Exif\0\0" header, or a PNG eXIf chunk); 1 when the
 * tag is absent, out of range or any offset points outside the data.
 */
FEAT_API int feat_exif_orientation(const unsigned char *tiff, size_t len);

/*
 * Read a whole file into *buf (malloc'd, grown as needed and meant to be
 * reused from call to call; the caller frees it).  *len gets the size.
 * Refuses directories and files over max_bytes (0: the default) without
 * reading them, and anything but a regular file (a FIFO would hang, a
 * device never end) unless flags has FEAT_FILE_ANY.  Returns 0 or FEAT_E_IO / FEAT_E_TOOBIG / FEAT_E_NOMEM
 * with a one-line reason in why ("cannot open: No such file or
 * directory", "is a directory", ...).
 */
#define FEAT_FILE_ANY 1u   /* feat_file_load: devices, FIFOs and sockets too */
FEAT_API int feat_file_load(const char *path, uint64_t max_bytes, unsigned flags, unsigned char **buf,
	size_t *cap, size_t *len, char *why, size_t whylen);

/* ------------------------------------------------ images: preparation */

/*
 * imgprep's library half: HWC u8 `image` to CHW f32 `input`, plus the
 * tensor `xform` (f32 [8]: src_w, src_h, dst_w, dst_h, sx, sy, tx, ty)
 * that maps image coordinates to input coordinates:
 *     x_in = sx * x_img + tx,   y_in = sy * y_img + ty
 * with pixel i covering [i, i+1) on both sides.  Boxes found on `input`
 * map back with x_img = (x_in - tx) / sx.
 */
enum feat_fit {
	FEAT_FIT_STRETCH = 0,    /* resize to exactly W x H, aspect not kept */
	FEAT_FIT_LETTERBOX = 1,  /* keep aspect, pad to W x H */
	FEAT_FIT_CROP = 2,       /* keep aspect, scale short side, centre crop */
};

struct feat_prep_opts {
	int width, height;       /* network input size */
	int fit;                 /* enum feat_fit */
	int bgr;                 /* 1: channel order B,G,R */
	int gray;                /* 1: one channel, y = 0.299 R + 0.587 G + 0.114 B
				    (bgr ignored; mean[0], scale[0], pad[0] used) */
	float mean[3];           /* subtracted, in output channel order */
	float scale[3];          /* multiplied after the mean */
	float pad[3];            /* letterbox pad value, in 0..255 pixel units */
	int resize;              /* enum feat_resize */
	int drop_image;          /* remove `image` from the record */
};

enum feat_resize {
	FEAT_RESIZE_AUTO = 0,    /* bilinear, area averaging when shrinking by 2 or more */
	FEAT_RESIZE_BILINEAR = 1,
	FEAT_RESIZE_AREA = 2,
	FEAT_RESIZE_NEAREST = 3,
};

/* Fill opts with a built-in preset: "ssd300" (300x300) or "vgg224"
 * (224x224), both stretch, BGR, mean 104,117,123: the classic Caffe SSD300
 * and VGG16 settings.  FEAT_E_NOTFOUND for another name.  (imgprep's
 * --for ssd and --for deepbit read the shipped models' metadata.) */
FEAT_API int feat_prep_preset(struct feat_prep_opts *o, const char *name);
/* Which fields of a struct feat_prep_opts a caller has already set, and
 * feat_prep_model must neither take from the model nor require. */
enum {
	FEAT_PREP_SET_SIZE = 1 << 0,     /* width and height */
	FEAT_PREP_SET_ORDER = 1 << 1,    /* bgr and gray */
	FEAT_PREP_SET_MEAN = 1 << 2,
	FEAT_PREP_SET_SCALE = 1 << 3,
	FEAT_PREP_SET_FIT = 1 << 4,
};
/*
 * Fill o from the metadata of the featmodel file at path (a path: see
 * feat_model_find for names), imgprep -m's contract (featmodel(5)):
 * input.shape (C,H,W), input.order (rgb, bgr or gray), input.mean and
 * input.scale (one number per channel, or one for all), input.fit
 * (stretch, letterbox or crop).  Fields named in given are left alone and
 * their keys not required; other fields of o are not touched.  0; or
 * FEAT_E_IO / FEAT_E_NOMEM (the file cannot be read), another FEAT_E_* (it
 * is not a valid featmodel), FEAT_E_NOTFOUND (a key is missing) or
 * FEAT_E_FORMAT (a key has the wrong type or value), with a one-line
 * reason naming the file and the key in why.
 */
FEAT_API int feat_prep_model(struct feat_prep_opts *o, unsigned given, const char *path,
	char *why, size_t whylen);
/* Check options once before a run: 0, or FEAT_E_RANGE / FEAT_E_INVAL
 * with a one-line reason in why (e.g. no input size given). */
FEAT_API int feat_prep_check(const struct feat_prep_opts *o, char *why, size_t whylen);
/* Prepare r: reads `image` (u8 [H, W, C], C = 3 RGB, 1 gray or 4 RGBA
 * with alpha ignored), writes `input` (f32 [3, height, width], or
 * [1, height, width] with o->gray) and
 * `xform`, replacing earlier ones, and removes `image` if o->drop_image.
 * Returns 0; FEAT_E_NOMEM (a fault of the run); or another FEAT_E_* for a
 * problem of this record (no or bad `image`, too many tensors, bad
 * options), with a one-line reason in why. */
FEAT_API int feat_prep(struct feat_rec *r, const struct feat_prep_opts *o,
	char *why, size_t whylen);

/* Lower-level pieces, exposed for tests and reuse.  Resize an 8-bit
 * interleaved image (c = 1..4 channels, rows of sw*c bytes) into a float
 * interleaved image of dw x dh over the source rectangle
 * [sx0, sx1) x [sy0, sy1) in source pixel units (continuous coordinates;
 * samples outside the image repeat its edge).  method is enum
 * feat_resize, defined exactly in imgprep(1).  Returns 0, FEAT_E_INVAL
 * or FEAT_E_NOMEM. */
FEAT_API int feat_resize_u8_to_f32(const uint8_t *src, int sw, int sh, int c,
	float sx0, float sy0, float sx1, float sy1,
	float *dst, int dw, int dh, int method);

/* ----------------------------------------------------- images: cropping */

/*
 * cropbox's library half: choosing boxes among a record's detections
 * (`dets`, f32 [N, 6]: label, score, xmin, ymin, xmax, ymax in the
 * photo's pixels) and cutting them out of `image`; and the class names
 * (labels) that cropbox and featdraw read from a model or a file.  See
 * feat_crop(3).
 */
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

/* cropbox's default margin_frac, and feat_crop_best's: the similar-product
 * descriptor is trained on crops with 0 to 0.2 of the box's size around
 * the item (contrib/train/train_deepbit.py), 0.1 on average. */
#define FEAT_CROP_DEFAULT_MARGIN 0.1

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
FEAT_API int feat_crop_inputs(struct feat_rec *r, int *w, int *h, const float **dets,
	int *n, char *why, size_t whylen);

/*
 * The boxes of dets (n rows) that pass the options, clipped to the
 * w x h image, in row order: ssd-detect writes the main item's box first,
 * then the others best first.
 * out has room for n.  Boxes with a coordinate or score that is not a
 * number, or empty after clipping, are ignored.  Returns the count.
 */
FEAT_API int feat_crop_boxes(const float *dets, int n, int w, int h,
	const struct feat_crop_opts *o, struct feat_box *out);

/* The integer rectangle to cut for box b (margin, square, then clipped
 * to the image; fractional edges rounded outwards, except that an edge
 * within FEAT_CROP_EPS of a whole number is that number, so that float
 * noise never adds a pixel): rect = x0, y0, x1, y1 with
 * 0 <= x0 < x1 <= w, 0 <= y0 < y1 <= h. */
#define FEAT_CROP_EPS 1e-3
FEAT_API void feat_crop_rect(const struct feat_box *b, int w, int h,
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
FEAT_API int feat_crop_apply(struct feat_rec *r, const int rect[4], float score,
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
FEAT_API int feat_labels_parse(struct feat_labels *l, const char *text, size_t len,
	char *why, size_t whylen);
/* From a list of strings (a model's `labels` metadata). */
FEAT_API int feat_labels_from(struct feat_labels *l, const char *const *names, int n);
/* From a file (feat_labels_parse) or a featmodel file's metadata
 * `labels` (strs).  0, or FEAT_E_IO / FEAT_E_TOOBIG (the file),
 * FEAT_E_FORMAT / FEAT_E_CORRUPT (its content), FEAT_E_NOTFOUND (a model
 * without `labels`) or FEAT_E_NOMEM, with a reason naming path in why. */
FEAT_API int feat_labels_load(struct feat_labels *l, const char *path, char *why,
	size_t whylen);
FEAT_API int feat_labels_model(struct feat_labels *l, const char *path, char *why,
	size_t whylen);
FEAT_API void feat_labels_free(struct feat_labels *l);
/* Label of a name, or -1. */
FEAT_API int feat_labels_find(const struct feat_labels *l, const char *name);

/*
 * Parse a class list "1,3,shirt" into labels: numbers are taken as they
 * are (0 to 65535), names are looked up in l (which may be NULL).
 * *out is malloc'd (the caller frees).  Returns the count, or
 * FEAT_E_INVAL / FEAT_E_NOTFOUND / FEAT_E_NOMEM with the reason in why.
 */
FEAT_API int feat_class_list(const char *list, const struct feat_labels *l, int **out,
	char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H_IMAGE */
