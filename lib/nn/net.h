/*
 * net.h - the graph executor: a featmodel file turned into a runnable
 * network of layers over float blobs.  Internal: outside libfeat, a
 * network is the opaque feat_net of <feat/nn.h> (feat_net(3)), which
 * declares the calls below that are public and adds the accessors of
 * inspect.c.
 *
 * Blobs are dense float32 arrays, batch first: [N, C, H, W] for images,
 * [N, K] after flatten, any rank up to FEAT_MAX_DIMS.  Shapes are inferred
 * once at load for a batch of one; a forward pass over N images uses the
 * same shapes with N in front.  Every layer keeps axis 0 as the batch.
 *
 * At load the executor folds batch norm and scale layers into the
 * convolution before them and fuses a following ReLU, ReLU6 or leaky ReLU
 * into the convolution's store, as the runtimes it is measured against do.
 *
 * Threads: by default a forward pass runs on the calling thread alone
 * (featkit scales out by process).  feat_net_set_threads(n, T) gives the
 * net a pool of T threads (lib/base/threadpool.h); each heavy layer then splits its
 * work into pieces that write disjoint parts of its output, each thread
 * with a scratch workspace of its own.  Layers are still run one after
 * the other; the pool is used only inside feat_net_forward.
 */
#ifndef FEAT_NET_H
#define FEAT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"

struct feat_net;
struct feat_layer;

struct feat_blob {
	const char *name;
	int ndim;
	uint32_t dims[FEAT_MAX_DIMS];   /* dims[0] is 1: the batch */
	size_t count;                   /* elements of one image */
	float *data;                    /* [batch capacity * count] */
	int alias;                      /* shares storage with this blob, or -1 */
	int producer;                   /* layer index, or -1 for an input */
	int consumers;                  /* layers that read it */
	int slab;                       /* its buffer in feat_net.slab (not
					 * an alias), -1 before planning */
	int nchwc;                      /* stored [N][C/16][H][W][16]
					 * (kern/nchwc.h; layers.c decides) */
	int local;                      /* written and last read in one
					 * stage run image by image: every
					 * image of the batch uses image 0's
					 * storage there (net.c) */
};

enum feat_act {
	FEAT_ACT_NONE = 0,
	FEAT_ACT_RELU,
	FEAT_ACT_RELU6,
	FEAT_ACT_LEAKY,
	/* fused by the graph passes of layers.c (kern/act.h defines them) */
	FEAT_ACT_SILU,       /* x sigmoid(x): Sigmoid and Mul after a layer */
	FEAT_ACT_HSWISH,     /* x hardsigmoid(x), slope act_alpha */
	FEAT_ACT_SIGMOID,
	FEAT_ACT_HSIG,       /* min(max(act_alpha x + 1/2, 0), 1) */
	FEAT_ACT_GELU,       /* x (1 + erf(x / sqrt 2)) / 2 */
};

struct feat_layer_ops {
	const char *type;
	/* Check parameters and weights, set output shapes (batch 1), MACs and
	 * parameter counts, prepare whatever forward needs.  0 or FEAT_E_*,
	 * with the reason in why. */
	int (*setup)(struct feat_net *n, struct feat_layer *l, char *why,
		size_t whylen);
	void (*forward)(struct feat_net *n, struct feat_layer *l, int batch);
	void (*release)(struct feat_layer *l);
	int in_place_ok;  /* output may share the input's storage */
};

struct feat_layer {
	const struct feat_layer_ops *ops;
	const struct feat_mlayer *ml;   /* as in the file */
	const char *name;
	int nin, nout;
	int *in, *out;                  /* blob indices */
	int removed;                    /* folded into an earlier layer */
	int act;                        /* enum feat_act fused into the store */
	float act_alpha;
	uint64_t macs, params;          /* per image */
	int whole;                      /* runs over the whole batch at once
					 * (plan_storage: feat_net_forward) */
	double seconds;                 /* accumulated forward time */
	uint64_t calls;
	void *priv;
};

struct feat_net {
	struct feat_model model;
	int nblob, nlayer;
	struct feat_blob *blob;
	struct feat_layer *layer;
	int ninput, noutput;
	int *input, *output;            /* blob indices */
	int capacity;                   /* batch the blobs are allocated for */
	int profile;                    /* time each layer */
	float *scratch;                 /* workspace (im2col) of thread 0 */
	size_t scratch_floats;          /* its size, and each other thread's */
	size_t scratch_want;            /* a size asked for that failed (0: none) */
	const char *scratch_layer;      /* the layer being set up, for the error */
	struct feat_threadpool *pool;         /* NULL: one thread */
	uint64_t par_min;               /* MACs per batch under which a layer
					 * stays on one thread */
	float **wscratch;               /* [threads]: [0] unused, the others'
					 * workspaces */
	void *arena;                    /* names and small tables */
	/* blob storage: nslab buffers of capacity * slab_count[i] floats,
	 * shared by blobs whose lifetimes do not overlap (net.c) */
	int nslab;
	float **slab;
	size_t *slab_count;
};

/* Load and prepare a network.  0 or FEAT_E_*, reason in why; a
 * weight that is NaN or infinite is FEAT_E_RANGE, naming the layer and
 * the tensor. */
int feat_net_load(struct feat_net **out, const char *path, char *why,
	size_t whylen);
/* The same over an already loaded model (taken over by the net). */
/* The network of featmodel bytes this library made (feat_model_parse,
 * then feat_net_build; buf must outlive the net): for fitcodes and
 * quantize, which cut or rewrite a model and check that it builds.  On
 * failure why is "WHAT does not build: REASON" and the code FEAT_E_NOMEM
 * or FEAT_E_CORRUPT (bytes made here that do not build are not the
 * input's fault). */
int feat_net_from_bytes(struct feat_net **out, const void *buf, size_t len, const char *what,
	char *why, size_t whylen);
int feat_net_build(struct feat_net **out, struct feat_model *m, char *why,
	size_t whylen);
void feat_net_free(struct feat_net *n);
/* Make room for batches of up to n images. */
int feat_net_reserve(struct feat_net *n, int batch);
/* Floats of activations per image: as stored (blobs sharing buffers) and
 * as they would be with a buffer each.  0 or FEAT_E_NOMEM. */
int feat_net_activations(struct feat_net *n, size_t *shared, size_t *own);
/* Run the layers over the first batch images of the input blobs. */
int feat_net_forward(struct feat_net *n, int batch);
/* A layer of fewer MACs per batch than this runs on one thread: handing
 * out its pieces would cost more than they save (the environment variable
 * FEAT_THREAD_MIN overrides it; 0 splits every layer, for the tests). */
#define FEAT_PAR_MIN_MACS 200000
/* The largest blob of one image, in floats (64 GiB). */
#define FEAT_NET_MAX_BLOB ((size_t)1 << 34)
/* The most workspace one layer may ask for, in floats (64 GiB, as the
 * largest blob): more is a bad model, not a small machine. */
#define FEAT_NET_MAX_SCRATCH ((size_t)1 << 34)

/* Run forward passes on `threads` threads (1 .. FEAT_POOL_MAX, the caller
 * counted; 1, the default, starts none).  Call after load, not during a
 * forward pass.  0, FEAT_E_INVAL (a bad count) or FEAT_E_NOMEM (memory,
 * or a thread could not be started; the net then keeps one thread). */
int feat_net_set_threads(struct feat_net *n, int threads);
/* The workspace of thread `worker` (scratch_floats floats, 64-byte
 * aligned), for layers.c. */
float *feat_net_scratch(const struct feat_net *n, int worker);
int feat_net_blob_find(const struct feat_net *n, const char *name);
/* The blob whose storage blob is (itself unless a view or the output of
 * a folded layer). */
int feat_net_root(const struct feat_net *n, int blob);
/* Storage of a blob (follows aliases). */
float *feat_net_data(const struct feat_net *n, int blob);
/* Record r's f32 `input`, checked against n's input shape, copied to dst
 * (one image); 0 or FEAT_E_INVAL, why naming r's key (inspect.c). */
struct feat_rec;
int feat_net_take_input(const struct feat_net *n, struct feat_rec *r, float *dst, char *why,
	size_t whylen);
/* 1 when that storage is NCHW16c (follows aliases). */
int feat_net_blob_nchwc(const struct feat_net *n, int blob);
/* Fold batch norm and scale into the convolution or inner product before
 * them, fuse activations into their store, and make flatten and reshape
 * views (layers.c; called by feat_net_build). */
int feat_net_fold(struct feat_net *n);
/* Layer types the executor knows, for messages. */
const struct feat_layer_ops *feat_layer_lookup(const char *type);

/* The index of the first NaN or infinity among x[0..n), or n when every
 * value is finite (for the weights at load, and for the programs that
 * check a record's input and output). */
size_t feat_f32_nonfinite(const float *x, size_t n);

/* Layer helpers shared by lib/nn/layers.c and lib/nn/net.c. */
const struct feat_value *feat_param(const struct feat_layer *l, const char *key);
int feat_param_int(const struct feat_layer *l, const char *key, int64_t def,
	int64_t lo, int64_t hi, int64_t *out, char *why, size_t whylen);
int feat_param_float(const struct feat_layer *l, const char *key, double def,
	double *out, char *why, size_t whylen);
/* 1 or 2 ints (a value for both spatial axes, or h and w) into v[2]. */
int feat_param_pair(const struct feat_layer *l, const char *key, int def,
	int lo, int v[2], char *why, size_t whylen);
const struct feat_mtensor *feat_layer_weight(const struct feat_layer *l,
	const struct feat_net *n, uint32_t i);
void *feat_net_alloc(struct feat_net *n, size_t bytes);

#endif
