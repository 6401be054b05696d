/*
 * ssd.h - the detection end of an SSD: Caffe's PriorBox and
 * DetectionOutput, from a model's metadata (featmodel(5), "SSD models").
 *
 * The network computes, for every default box ("prior"), encoded box
 * offsets (loc) and class probabilities (conf).  Here the priors are laid
 * out as Caffe's PriorBox lays them out, the offsets decoded as Caffe's
 * DetectionOutput decodes them (CENTER_SIZE or CORNER, with variances),
 * and the boxes of each class thinned by non-maximum suppression, then by
 * score over all classes (top_k, keep_top_k, confidence threshold).
 * Internal to libfeat; ssd-detect(1) is its program.
 */
#ifndef FEAT_SSD_H
#define FEAT_SSD_H

#include <stddef.h>

#include "nn/net.h"

enum { FEAT_SSD_CENTER_SIZE = 0, FEAT_SSD_CORNER = 1 };

struct feat_ssd {
	/* DetectionOutput settings (defaults from the metadata; callers may
	 * override before detecting) */
	int num_classes;
	int background;              /* label skipped; -1: none */
	int code_type;               /* FEAT_SSD_CENTER_SIZE or _CORNER */
	int var_in_target;           /* variances already in the offsets */
	float nms_threshold;
	float confidence_threshold;
	int top_k;                   /* per class, before NMS; -1: all */
	int keep_top_k;              /* over all classes, after; -1: all */
	int agnostic;                /* then NMS over all classes too (featkit's
					ssd.DET.agnostic_nms; 0: Caffe's) */
	float box_vote;              /* ssd.DET.box_vote: a kept box becomes the
					score-weighted mean of its class's
					candidates overlapping it by this much
					or more; 0: off (Caffe's) */
	int mirror;                  /* ssd.mirror: detect on the mirror image
					too (feat_ssd_mirror; for the caller) */
	float main_share;            /* ssd.main_share: the first box is the
					largest of those scoring at least
					this share of the best score
					(feat_ssd_main; for the caller); 0:
					the best */
	float main_min;              /* ssd.main_min_score: and at least
					this score (0) */
	float win[4];                /* the part of the input the image
					covers, normalised xmin, ymin, xmax,
					ymax ({0, 0, 1, 1}; the caller sets
					it per image): feat_ssd_detect drops
					a box of no area there */
	/* the network's outputs */
	int loc_blob, conf_blob;
	/* priors: [nprior][4] xmin, ymin, xmax, ymax (normalised) and their
	 * variances [nprior][4] */
	int nprior;
	float *prior, *var;
	float img_w, img_h;          /* the network input the priors refer to */
	/* work buffers of feat_ssd_detect, made on first use */
	float *box;
	void *cand, *all;
	int *keep;
	size_t allcap;
	void *mir;                   /* feat_ssd_mirror's work buffer */
	size_t mircap;
};

/* One detection: label, score, box (normalised to the network input). */
struct feat_det {
	float label, score, x0, y0, x1, y1;
};

/*
 * Read the SSD metadata of n's model and lay out its priors.  0, or
 * FEAT_E_FORMAT (a key missing or inconsistent with the graph: the loc
 * and conf outputs must hold exactly 4 and num_classes values per prior)
 * or FEAT_E_NOMEM, with a one-line reason in why.
 */
int feat_ssd_setup(struct feat_ssd *s, const struct feat_net *n, char *why,
	size_t whylen);
void feat_ssd_free(struct feat_ssd *s);

/*
 * Detections of one image from its loc (nprior*4) and conf
 * (nprior*num_classes) rows into *out (grown with realloc as needed; *cap
 * its capacity), sorted by score, highest first (ties: lower label, then
 * lower prior index).  A box of no area in the image (one whose corners
 * are inverted, xmax <= xmin or ymax <= ymin, as CORNER decoding can
 * give, or that does not meet s->win with a positive area: wholly in the
 * letterbox padding) is no detection: it is dropped before NMS, so that
 * it suppresses nothing and takes no keep_top_k place.  Uses work buffers
 * kept in s (not thread-safe for one s).  Returns the count, FEAT_E_NOMEM,
 * or FEAT_E_RANGE when loc or conf holds a NaN or an infinity (no
 * detection is made from them).  A box whose size overflows in decoding
 * (huge finite offsets) may have non-finite corners; it is kept, for the
 * caller to refuse.
 */
int feat_ssd_detect(struct feat_ssd *s, const float *loc,
	const float *conf, struct feat_det **out, size_t *cap);

/*
 * The detections of an image and of its mirror image merged into *out
 * (grown as feat_ssd_detect's): a holds feat_ssd_detect's boxes for the
 * input, b those for the input reversed left to right, in that input's
 * frame, which are turned back (x -> 1 - x); both made with agnostic 0
 * and keep_top_k -1 (all), so that no box loses its partner to a cut
 * made before the merge.  Each box of a, best first, is paired with the
 * unpaired box of b of its class that overlaps it most, if by IoU >=
 * FEAT_SSD_MIRROR_IOU; a pair becomes one box, the mean of the two
 * scores, the corners weighted by the scores (equally when both are 0);
 * a box without a partner keeps its corners and half its score (the
 * other view gave it 0).  The boxes then scoring s->confidence_threshold
 * or less go, as they would have in one view; then, best first, NMS as
 * feat_ssd_detect's (per class, and over all classes with the argument
 * agnostic, which stands for s->agnostic), and the keep_top_k best are
 * kept (-1: all; the argument stands for s->keep_top_k).  a is
 * reordered.  Returns the count or FEAT_E_NOMEM.
 */
#define FEAT_SSD_MIRROR_IOU 0.5f
int feat_ssd_mirror(struct feat_ssd *s, int agnostic, int keep_top_k, struct feat_det *a, int na,
	const struct feat_det *b, int nb, struct feat_det **out, size_t *cap);

/*
 * The main item first: of the n detections d (best first; the detector
 * stage passes them in the photo's pixels, clipped), the largest (by
 * area; the first of equals) of those whose score is at least share
 * times the best score and at least min moves to d[0], the others keep
 * their order.  A photo's product is its largest item; a detector that
 * boxes every item scores a smaller one, sharper or less hidden, above
 * it as often as not.  share 1: the largest of those tied at the best
 * score.  share 0, n < 2, or no box but the best scoring min or more: d
 * is left as it is.
 */
void feat_ssd_main(float share, float min, struct feat_det *d, int n);

/* Caffe's JaccardOverlap of two normalised boxes (0 when either is empty
 * or they do not meet). */
float feat_ssd_iou(const float *a, const float *b);

#endif
