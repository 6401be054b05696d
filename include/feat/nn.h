/*
 * feat/nn.h - libfeat: a featmodel network (featmodel(5)) as an object to
 * inspect, time and run on raw input (feat_net(3)), and codes fitted to a
 * layer's features (feat_codes_fit(3)).  Part of <feat.h>, which includes
 * every one of these headers.
 */
#ifndef FEAT_H_NN
#define FEAT_H_NN

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- networks */

/*
 * A loaded network: the layers of a featmodel file, folded and planned as
 * the detector and the describer run them.  Blobs are float32, batch first
 * ([N, C, H, W]); shapes are those of one image.  Not thread-safe: one
 * object a thread (each may run its passes on several threads itself).
 */
typedef struct feat_net feat_net;

/* path as given (feat_model_find turns a name into one).  0, or FEAT_E_IO
 * / FEAT_E_NOMEM (cannot read, memory) or another FEAT_E_* (not a valid
 * featmodel file, a layer that does not build, a weight that is not
 * finite), with the reason in why. */
FEAT_API int feat_net_load(feat_net **out, const char *path, char *why, size_t whylen);
FEAT_API void feat_net_free(feat_net *n);
/* Run each forward pass on `threads` threads, 1..FEAT_THREADS_MAX (1, the
 * default, starts none).  0, FEAT_E_INVAL or FEAT_E_NOMEM. */
FEAT_API int feat_net_set_threads(feat_net *n, int threads);
/* Room for batches of up to batch images; input and output data move. */
FEAT_API int feat_net_reserve(feat_net *n, int batch);
/* One forward pass over the first batch images (at most the reserved
 * batch) of the input data.  0 or a FEAT_E_*. */
FEAT_API int feat_net_forward(feat_net *n, int batch);
/* Floats of activations an image: as stored (blobs sharing buffers) and
 * as they would be with a buffer a blob.  0 or FEAT_E_NOMEM. */
FEAT_API int feat_net_activations(feat_net *n, size_t *shared, size_t *own);

struct feat_net_info {
	int layers, inputs, outputs;
	int meta;                /* metadata entries */
	int buffers;             /* activation buffers the blobs share (after
				    feat_net_reserve or feat_net_activations) */
	int capacity;            /* the reserved batch */
};
FEAT_API void feat_net_info(const feat_net *n, struct feat_net_info *i);

/* Metadata entry i (0 .. meta - 1): *key, and the value as text in text
 * (lists comma-separated, cut after 16 items with ",... (N)").  0 or
 * FEAT_E_RANGE. */
FEAT_API int feat_net_meta(const feat_net *n, int i, const char **key, char *text,
	size_t len);

/* Layer i (0 .. layers - 1).  Strings point into n. */
struct feat_net_layer {
	const char *type;        /* "conv", "fc", ... */
	const char *name;
	const char *fused;       /* activation fused into its store: "relu",
				    "relu6", "leaky", "silu", "hswish",
				    "sigmoid", "hsig", "gelu", or "" */
	int folded;              /* folded into an earlier layer: not run */
	int blocked;             /* output kept channel-blocked (NCHW16c) */
	int ndim;                /* its first output's shape, batch first */
	uint32_t dims[FEAT_MAX_DIMS];
	uint64_t params, macs;   /* per image */
	double seconds;          /* forward time since feat_net_profile(n, 1) */
	int int8;                /* marked int8 (featmodel quantize): runs u8 x
				    s8 where feat_kernel_has_int8(), else fp32 */
	double quant_step;       /* int8: the step of its input's u8 values */
	int quant_zero;          /* int8: their zero point (0 or 128) */
	int bf16;                /* marked bf16 (featmodel quantize --bf16):
				    runs bf16 x bf16 with fp32 sums where
				    feat_kernel_has_bf16(), else fp32 */
};
FEAT_API int feat_net_layer(const feat_net *n, int i, struct feat_net_layer *l);

/* Input or output i of the graph: its name, shape (dims[0] is 1), floats
 * an image, and its data (room for the reserved batch, NULL before
 * feat_net_reserve; valid until the next reserve or free).  0 or
 * FEAT_E_RANGE. */
struct feat_net_tensor {
	const char *name;
	int ndim;
	uint32_t dims[FEAT_MAX_DIMS];
	size_t count;
	float *data;
};
FEAT_API int feat_net_input(const feat_net *n, int i, struct feat_net_tensor *t);
FEAT_API int feat_net_output(const feat_net *n, int i, struct feat_net_tensor *t);

/* on: time each layer from now (the layers' seconds start again at 0);
 * 0: stop. */
FEAT_API void feat_net_profile(feat_net *n, int on);

/* ------------------------------------------------------------------ int8 */

/*
 * A model quantised to int8 (featmodel quantize): the model runs fp32 over
 * the calibration records added, and the result is the model with each
 * candidate layer (a group-1 convolution not on a graph input, an inner
 * product of at least 2^20 weights) not named in opts.fp32 marked int8,
 * with the step and zero point of its input (featmodel(5): quant,
 * quant.scale, quant.zero) and metadata on the calibration.  With
 * opts.bf16 the same candidates are marked bf16 (quant bf16: weights and
 * activations rounded to bfloat16, fp32 sums) and no record is needed:
 * feat_quantize_finish may follow feat_quantize_open directly.
 */
typedef struct feat_quantizer feat_quantizer;
#define FEAT_QUANTIZE_MAX_RECORDS 4096
struct feat_quantize_opts {
	double percentile;       /* each input's step covers this share (50 ..
				    100) of its non-zero |x| (100: the largest) */
	const char *const *fp32; /* layers kept fp32: names or comma lists */
	int nfp32;
	int bf16;                /* 1: mark the layers bf16 instead of int8; no
				    calibration (feat_quantize_add refuses
				    records), percentile unused */
};
struct feat_quantize_info {
	size_t records;          /* records added so far */
	/* after feat_quantize_finish: */
	int int8;                /* layers marked int8 */
	int kept;                /* candidates kept fp32 by opts.fp32 */
	int bf16;                /* layers marked bf16 (opts.bf16) */
};
/* Candidate layer i (after feat_quantize_finish).  Strings point into q. */
struct feat_quantize_layer {
	const char *name;
	int int8;                /* 0: kept fp32 by opts.fp32 */
	double amax, vmin;       /* the largest |x| and the smallest x of its
				    input over the records */
	double step;             /* int8: the step and zero point chosen */
	int zero;
	int bf16;                /* marked bf16 (opts.bf16) */
	int no_step;             /* 1: kept fp32, not by opts.fp32: no int8
				    step holds its input's range (all under
				    about 2.6e-28, or beyond 2.5e32) */
};
FEAT_API void feat_quantize_opts_init(struct feat_quantize_opts *o);
/* Load the model at path (its quant parameters, if any, dropped: it runs
 * fp32).  0; FEAT_E_NOTFOUND: opts.fp32 names no layer (why says which);
 * FEAT_E_RANGE: percentile out of range; FEAT_E_IO / FEAT_E_NOMEM;
 * anything else: the model cannot be read or built.  The reason in why. */
FEAT_API int feat_quantize_open(feat_quantizer **out, const char *path,
	const struct feat_quantize_opts *o, char *why, size_t whylen);
FEAT_API void feat_quantize_info(const feat_quantizer *q, struct feat_quantize_info *i);
/* One forward pass over record r's f32 `input` (r must be ok).  0;
 * FEAT_E_INVAL: the model cannot take r (why names r's key);
 * FEAT_E_RANGE: FEAT_QUANTIZE_MAX_RECORDS records added already;
 * FEAT_E_NOMEM. */
FEAT_API int feat_quantize_add(feat_quantizer *q, struct feat_rec *r, char *why,
	size_t whylen);
/* Choose the steps and return the quantised featmodel file (*out
 * malloc'd, the caller frees).  0; FEAT_E_EMPTY: no record; FEAT_E_NOMEM;
 * FEAT_E_CORRUPT: the result does not build.  Call once: afterwards only
 * feat_quantize_info, feat_quantize_layer and feat_quantize_free. */
FEAT_API int feat_quantize_finish(feat_quantizer *q, unsigned char **out, size_t *outlen,
	char *why, size_t whylen);
/* 0 or FEAT_E_RANGE (i past the last candidate, or before finish). */
FEAT_API int feat_quantize_layer(const feat_quantizer *q, int i, struct feat_quantize_layer *l);
FEAT_API void feat_quantize_free(feat_quantizer *q);

/* ---------------------------------------------------------- fitting codes */

/*
 * K-bit codes fitted to the features of one layer (featmodel fitcodes):
 * the network is cut after that layer, run over the records added, and
 * PCA then ITQ (iterative quantisation) fit a projection; the result is a
 * featmodel file of the cut network plus an fc layer (weights (P R)^T,
 * bias -(P R)^T mean) and a sigmoid, so that code bit j (activation > 0.5)
 * is the sign of the ITQ projection of the centred feature.
 */
typedef struct feat_codes_fitter feat_codes_fitter;
struct feat_codes_fit_opts {
	const char *from;        /* the layer or blob whose output is the feature */
	int bits;                /* K, 1 .. the features' dimension */
	int iters;               /* ITQ iterations (50) */
	uint64_t seed;           /* of ITQ's random start (1) */
	int batch;               /* records a forward pass, 1..4096 (16) */
	int threads;             /* of a forward pass, 1..64 (1) */
	const char *name;        /* for the metadata when the model has no
				    `name` (NULL: the path) */
	const char *const *set;  /* KEY=VALUE metadata to add, as */
	int nset;                /* feat_model_import's */
};
struct feat_codes_fit_info {
	const char *blob;        /* the feature's blob */
	size_t dim;              /* the features' dimension */
	size_t records;          /* records added so far */
	/* after feat_codes_fit_finish: */
	int flat;                /* of the K directions, those hardly varying */
	double variance;         /* share of the variance the K directions hold */
	double loss, loss0;      /* quantisation loss a record, after and before ITQ */
	double seconds[3];       /* CPU: covariance, eigenvectors, ITQ */
};
FEAT_API void feat_codes_fit_opts_init(struct feat_codes_fit_opts *o);
/* Load the model at path and cut it after o->from.  0; FEAT_E_NOTFOUND:
 * o->from names no layer or blob (or names the input); FEAT_E_RANGE:
 * o->bits, o->iters, o->batch or o->threads out of range (bits over the
 * features' dimension); FEAT_E_INVAL: a bad KEY=VALUE in o->set, or no
 * path or from; FEAT_E_IO / FEAT_E_NOMEM; anything else (FEAT_E_CORRUPT,
 * FEAT_E_FORMAT...): the model cannot be read or built.  The reason in
 * why. */
FEAT_API int feat_codes_fit_open(feat_codes_fitter **out, const char *path,
	const struct feat_codes_fit_opts *o, char *why, size_t whylen);
FEAT_API void feat_codes_fit_info(const feat_codes_fitter *f, struct feat_codes_fit_info *i);
/* Add the features of record r (its f32 `input`, of the model's input
 * shape; r must be ok).  Forward passes run a batch at a time.  0;
 * FEAT_E_INVAL: the model cannot take r (no `input`, another shape, a
 * value not finite; why names r's key); FEAT_E_RANGE: a pass gave a
 * feature that is not finite (why names the record's key); FEAT_E_NOMEM,
 * or another error of a pass. */
FEAT_API int feat_codes_fit_add(feat_codes_fitter *f, struct feat_rec *r,
	char *why, size_t whylen);
/* The features of every record added (records x dim floats), after the
 * pending pass is run (errors as feat_codes_fit_add). */
FEAT_API int feat_codes_fit_features(feat_codes_fitter *f, const float **x, size_t *n,
	char *why, size_t whylen);
/* Fit, and return the featmodel file (*out malloc'd, the caller frees).
 * 0; FEAT_E_EMPTY: no record; FEAT_E_RANGE: bits not under the number of
 * records; errors of the pending pass as feat_codes_fit_add; FEAT_E_NOMEM;
 * FEAT_E_CORRUPT: the result does not build.  Call once: afterwards only
 * feat_codes_fit_info and feat_codes_fit_free. */
FEAT_API int feat_codes_fit_finish(feat_codes_fitter *f, unsigned char **out,
	size_t *outlen, char *why, size_t whylen);
FEAT_API void feat_codes_fit_free(feat_codes_fitter *f);

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H_NN */
