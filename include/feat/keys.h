/*
 * feat/keys.h - libfeat: local binary keypoint features (imgkeys's
 * library half), for near-duplicates that change the frame (a banner, a
 * letterbox, a crop, a new background) and defeat whole-photo codes.
 * Part of <feat.h>, which includes every one of these headers.
 *
 * The method (feat_keys(3) has it in full): the grey image resized so its
 * long side is `side` (never upscaled); a pyramid of `levels` levels,
 * each 1/1.3 of the one before; corners by a 9-of-16 segment test on a
 * circle of radius 3 (threshold 20, or 7 where a level has too few), kept
 * where their Harris response (7x7 window, k = 0.04) is positive and a
 * local maximum; each level's share of `max` (0.85 times the level
 * before's) taken over a grid of 32x32-pixel cells by rank (every cell's
 * strongest before any cell's second), strongest first; orientation by the intensity centroid of a
 * disc of radius 15 level pixels; a 256-bit descriptor of binary tests
 * between the 5x5-box sums around pairs of points, the pairs drawn once
 * from an isotropic Gaussian (sigma 31/5, within radius 15) by featkit's
 * own seeded generator and turned by the keypoint's angle.  Keypoints
 * within 19 level pixels of a border are dropped.  The mirror image's
 * keypoints are found the same way and flagged, in the mirror image's
 * frame, so that a mirrored copy relates to the original by a similarity.
 */
#ifndef FEAT_H_KEYS
#define FEAT_H_KEYS

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FEAT_KEYS_DEFAULT_MAX 300     /* keypoints per image (and per mirror) */
#define FEAT_KEYS_DEFAULT_SIDE 400    /* long side the image is resized to */
#define FEAT_KEYS_DEFAULT_LEVELS 8
#define FEAT_KEYS_MAX_MAX 100000
#define FEAT_KEYS_MIN_SIDE 40
#define FEAT_KEYS_MAX_SIDE 8192
#define FEAT_KEYS_MAX_LEVELS 16
#define FEAT_KEYS_DESC 32             /* descriptor bytes: 256 tests */
#define FEAT_KEYS_COLS 5              /* x, y, size, angle, flag */

/* Options; a zeroed struct (or NULL) is the defaults. */
struct feat_keys_opt {
	int max;          /* keypoints of the image, and as many again of its
			     mirror (0: FEAT_KEYS_DEFAULT_MAX) */
	int side;         /* long side of the level-0 image (0: default); a
			     smaller image is not upscaled */
	int levels;       /* pyramid levels, scale 1/1.3 each (0: default);
			     levels under 39 pixels a side are left out */
	int no_mirror;    /* 1: not the keypoints of the mirror image */
	int no_box;       /* feat_keys_rec: 1: not the keypoints of the
			     detector's box, even when the record has `dets` */
};

/*
 * The keypoints of one image: n rows of pts (x, y, size, angle, flag) and
 * of desc (32 bytes).  x, y: the keypoint's centre in the input image's
 * pixels (pixel i covers [i, i+1)); for flag 1 in the mirror image's
 * frame (x' = w - x).  size: the patch's diameter (31 level pixels) in
 * input pixels.  angle: radians in (-pi, pi], the direction of the
 * intensity centroid, x to the right and y down.  flag: 0 for the image,
 * 1 for the mirror.  Rows: the image's keypoints, then the mirror's; in
 * each, level by level, strongest first.  Descriptor bit i is byte i/8,
 * mask 0x80 >> i%8 (featstream's bit order).
 */
struct feat_keys {
	int n;
	float *pts;       /* n x FEAT_KEYS_COLS */
	uint8_t *desc;    /* n x FEAT_KEYS_DESC */
};

/*
 * Detect and describe the keypoints of a grey image (w x h, rows stride
 * bytes apart).  *out is allocated (free it with feat_keys_free); an empty
 * or tiny image gives n = 0, not an error.  Returns 0; FEAT_E_INVAL
 * (NULL pointers, negative sizes, stride < w, options out of range) or
 * FEAT_E_TOOBIG (a side over 65535 pixels), with a one-line reason in
 * why; or FEAT_E_NOMEM.  Deterministic: the same pixels and options give
 * the same output on every run and machine with IEEE floats.
 */
FEAT_API int feat_keys_detect(const uint8_t *grey, int w, int h, size_t stride,
	const struct feat_keys_opt *opt, struct feat_keys **out, char *why, size_t whylen);
FEAT_API void feat_keys_free(struct feat_keys *k);

/* Check options once before a run: 0, or FEAT_E_INVAL with the reason. */
FEAT_API int feat_keys_check(const struct feat_keys_opt *opt, char *why, size_t whylen);

/*
 * imgkeys's record step: read r's `image` (u8 [H, W, C], C = 1 grey, 3
 * RGB or 4 RGBA with alpha ignored; grey = (77 R + 150 G + 29 B + 128) >> 8),
 * add `keys` (f32 [N, 5]) and `kdesc` (u8 [N, 32]), replacing earlier
 * ones, and remove `image` unless keep_image.  When r has ssd-detect's
 * `dets` (and opt->no_box is 0), the keypoints of the main box (as
 * feat_crop_boxes and feat_crop_rect choose and cut it with no margin)
 * follow, found as in an image of their own, with flag 2 (3 for the
 * box's mirror, x mirrored inside the box: x' = x0 + x1 - x); a box that
 * is the whole image adds none.  When r has `origsize`
 * (imgdecode scaled a JPEG down) x, y and size are in the photo's pixels
 * as stored, as `dets` and `crop` are.  Returns 0; FEAT_E_NOMEM; or
 * FEAT_E_NOTFOUND / FEAT_E_FORMAT / FEAT_E_TOOBIG for a problem of this
 * record (no or bad `image`, bad `dets`), with a one-line reason in why.
 */
FEAT_API int feat_keys_rec(struct feat_rec *r, const struct feat_keys_opt *opt,
	int keep_image, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H_KEYS */
