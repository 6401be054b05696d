/*
 * feat/pipe.h - libfeat: the pipeline's stages as library calls and the
 * photo-to-code call (feat_coder(3)). Part of <feat.h>, which includes
 * every one of these headers.
 */
#ifndef FEAT_H_PIPE
#define FEAT_H_PIPE

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------- models: photo to code */

/*
 * The pipeline's stages as library calls, and the whole of it in one call.
 * Models are featmodel files (featmodel(5)); feat_model_find turns a name
 * such as "ssd" or "deepbit" into the path of the shipped model, as the
 * programs' -m does.  The stages work on batches of records, as the
 * programs do: a record the stage cannot take becomes an error record
 * ("ssd-detect: ..." or "deepbit-extract: ..."), and only a fault of the
 * run (FEAT_E_NOMEM, a failed forward pass) is returned.  A stage object
 * is not thread-safe: use one per thread (each may run its forward passes
 * on several threads itself).  See feat_coder(3).
 */

/* A model name or path to a path: anything with a '/', an existing file,
 * or a name ending in .fm is a path (it must be a regular file); a bare
 * name is NAME.fm in $FEAT_MODELS when set (and only there), else in
 * EXE/../share/featkit/models, EXE/../../models (EXE: the running
 * program's directory) and the installed model directory.  0, or
 * FEAT_E_NOTFOUND / FEAT_E_IO / FEAT_E_INVAL with the reason (the places
 * searched) in why. */
FEAT_API int feat_model_find(const char *name, char *out, size_t outlen, char *why,
	size_t whylen);

/* The detector: an SSD model (ssd-detect(1)).  Reads each record's
 * `input` and `xform` (imgprep with feat_detector_prep's options) and adds
 * `dets` (f32 [N, 6]: label, score, xmin, ymin, xmax, ymax in the pixels
 * of the record's image, the main item's box first, then by score). */
typedef struct feat_detector feat_detector;
#define FEAT_THREADS_MAX 64      /* threads of one forward pass, at most */
struct feat_detector_opts {
	int batch;               /* records per forward pass, 1..4096 (8) */
	int threads;             /* threads of a forward pass, 1..64 (1) */
	int set_confidence, set_nms, set_top_k, set_keep_top_k;
	double confidence;       /* the four default to the model's settings;
				    confidence -1e30 to 1e30, nms 0 to 1,
				    top_k and keep_top_k -1 (all) or more
				    (keep_top_k: with mirror, after the
				    merge) */
	double nms;
	int top_k, keep_top_k;
	int agnostic;            /* NMS over all classes too: 1 yes, 0 no (per
				    class, Caffe's), -1 as the model's
				    ssd.DET.agnostic_nms says (-1) */
	int mirror;              /* also detect on the mirror image and merge
				    (feat_ssd_mirror in lib/nn/ssd.h): 1, 0,
				    -1 as the model's ssd.mirror says (-1) */
	int set_box_vote;        /* box voting: each kept box takes the
				    score-weighted mean corners of its class's
				    boxes overlapping it by box_vote or more
				    (0: off); else the model's
				    ssd.DET.box_vote */
	double box_vote;
	int set_main_share;      /* the first box: the largest of those scoring
				    at least main_share of the best (0: the
				    best; 1: the largest of those tied at
				    the best); else the model's
				    ssd.main_share */
	double main_share;
	int set_main_min;        /* ... and at least main_min; else the
				    model's ssd.main_min_score */
	double main_min;
};
struct feat_detector_info {
	uint32_t channels, height, width;   /* the input of one image */
	int batch, threads;
	int priors, classes;
	float confidence, nms;
	int top_k, keep_top_k;
	int agnostic, mirror;    /* in effect */
	float box_vote;          /* in effect (0: off) */
	float main_share;        /* in effect (0: off) */
	float main_min;          /* in effect */
};
FEAT_API void feat_detector_opts_init(struct feat_detector_opts *o);
/* path as given (see feat_model_find); o NULL: the defaults.  0, or
 * FEAT_E_IO / FEAT_E_NOMEM (cannot read, memory), FEAT_E_FORMAT (not a
 * featmodel file), FEAT_E_RANGE (options), another FEAT_E_* (not an SSD
 * model), with the reason in why. */
FEAT_API int feat_detector_open(feat_detector **out, const char *path,
	const struct feat_detector_opts *o, char *why, size_t whylen);
FEAT_API void feat_detector_info(const feat_detector *d, struct feat_detector_info *i);
/* The preparation the model asks for (its input.* metadata). */
FEAT_API int feat_detector_prep(const feat_detector *d, struct feat_prep_opts *o,
	char *why, size_t whylen);
/* n records (at most the batch; records not ok are passed over).  0, or a
 * fault of the run with the reason in why. */
FEAT_API int feat_detector_run(feat_detector *d, struct feat_rec **recs, int n,
	char *why, size_t whylen);
FEAT_API void feat_detector_free(feat_detector *d);

/* The descriptor: K sigmoid outputs, bit i = activation i > 0.5
 * (deepbit-extract(1)).  Reads `input`, adds `code` (bit [K]) and, with
 * feat, `feat` (f32 [K], the activations). */
typedef struct feat_describer feat_describer;
struct feat_describer_opts {
	int batch;               /* 1..4096 (8) */
	int threads;             /* 1..64 (1) */
	int mirror;              /* average with the mirror image: 1 yes, 0 no,
				    -1 as the model's code.mirror says (-1) */
	int feat;                /* also add `feat` (0) */
};
struct feat_describer_info {
	uint32_t channels, height, width;
	int batch, threads;
	int bits;                /* K */
	int mirror;              /* in effect */
};
FEAT_API void feat_describer_opts_init(struct feat_describer_opts *o);
FEAT_API int feat_describer_open(feat_describer **out, const char *path,
	const struct feat_describer_opts *o, char *why, size_t whylen);
FEAT_API void feat_describer_info(const feat_describer *d, struct feat_describer_info *i);
FEAT_API int feat_describer_prep(const feat_describer *d, struct feat_prep_opts *o,
	char *why, size_t whylen);
FEAT_API int feat_describer_run(feat_describer *d, struct feat_rec **recs, int n,
	char *why, size_t whylen);
FEAT_API void feat_describer_free(feat_describer *d);

/* Where a code was computed, in the photo's pixels (its full size, even
 * when it was decoded at a reduced scale). */
struct feat_coder_box {
	float x0, y0, x1, y1;
	float score;             /* the detection's; -1 for the whole image */
	int label;               /* its class; -1 for the whole image */
	int whole;               /* no box kept: the whole image was described */
};

/* cropbox(1)'s default on one record: replace `image` by the crop of the
 * first of its `dets` (the main box) scoring at least min_score with a margin of
 * FEAT_CROP_DEFAULT_MARGIN (the whole image when there is none or no
 * `dets`), add `crop`; box (may be NULL) gets where.
 * 0, FEAT_E_NOMEM, or another FEAT_E_* (no or bad `image` or `dets`). */
FEAT_API int feat_crop_best(struct feat_rec *r, float min_score, struct feat_coder_box *box,
	char *why, size_t whylen);

/* The whole pipeline: decode, prepare, detect, crop, prepare, describe. */
typedef struct feat_coder feat_coder;
struct feat_coder_opts {
	const char *detector;    /* name or path ("ssd"); NULL or "": no
				    detector, the whole photo is described */
	const char *descriptor;  /* name or path ("deepbit"; "dedup" for
				    near-duplicates) */
	int threads;             /* of each forward pass (1) */
	int mirror;              /* as feat_describer_opts (-1) */
	float min_score;         /* boxes scoring less are not cropped (0;
				    -1e30 to 1e30, else FEAT_E_RANGE) */
	struct feat_decode_opts decode;   /* (imgdecode's defaults: min_side
				    FEAT_DEFAULT_MIN_SIDE, the rest 0) */
};
FEAT_API void feat_coder_opts_init(struct feat_coder_opts *o);
/* 0, or a FEAT_E_* with the reason in why (as feat_detector_open's,
 * plus FEAT_E_NOTFOUND for a model name not found). */
FEAT_API int feat_coder_open(feat_coder **out, const struct feat_coder_opts *o,
	char *why, size_t whylen);
/* K, the code's bits: codes are (K + 7) / 8 bytes, bit i in byte i / 8
 * from the most significant bit, as in featcodes(5). */
FEAT_API uint32_t feat_coder_bits(const feat_coder *c);
/* The code of a JPEG or PNG photo in memory; box (may be NULL) gets the
 * region described.  0; FEAT_E_NOMEM (a fault of the run); or another
 * FEAT_E_* for a problem of this photo (it cannot be decoded, a model
 * output is not finite...), with the one-line reason in why. */
FEAT_API int feat_coder_photo(feat_coder *c, const unsigned char *data, size_t len,
	uint8_t *code, struct feat_coder_box *box, char *why, size_t whylen);
/* The same from a record holding a decoded `image` (feat_image_decode);
 * r is left holding the crop, `crop`, `input` and `code`. */
FEAT_API int feat_coder_image(feat_coder *c, struct feat_rec *r, uint8_t *code,
	struct feat_coder_box *box, char *why, size_t whylen);
FEAT_API void feat_coder_free(feat_coder *c);

/* ------------------------------------------------------ importing models */

/*
 * featmodel import's library half: the featmodel file (featmodel(5)) of
 * an ONNX model (weights NULL), or of a Caffe deploy.prototxt and its
 * .caffemodel (weights), with metadata added: set[0 .. nset) are
 * "KEY=VALUE" (VALUE a number, a comma-separated list of numbers, or
 * text), and labels (may be NULL) a file of class names, one a line,
 * stored as `labels`.  The result is checked to build into a network; *out
 * (malloc'd, the caller frees) and *outlen receive the file's bytes,
 * *layers (may be NULL) the network's layer count.  0; FEAT_E_IO /
 * FEAT_E_NOMEM (a file cannot be read, memory); FEAT_E_INVAL (a bad
 * KEY=VALUE); or another FEAT_E_* for a model that cannot be converted or
 * does not build; the reason, naming the file and the node or field, in
 * why.
 */
FEAT_API int feat_model_import(const char *model, const char *weights,
	const char *const *set, int nset, const char *labels, unsigned char **out,
	size_t *outlen, int *layers, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H_PIPE */
