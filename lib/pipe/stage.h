/*
 * stage.h - what the pipeline stages (detector.c, describer.c) share.
 */
#ifndef FEAT_STAGE_H
#define FEAT_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "feat.h"
#include "nn/net.h"

/* Load the network of a stage: one image input [N, C, H, W] (its blob in
 * *in, C, H, W in chw), room for batch images a pass, passes on threads
 * threads.  0, or FEAT_E_RANGE (batch not 1..4096, threads not 1..64) or
 * another FEAT_E_* with the reason in why. */
int feat_stage_load(struct feat_net **net, const char *path, int batch, int threads,
	int *in, uint32_t chw[3], char *why, size_t whylen);

/* r's f32 `input` of shape chw if it has one and it is finite; else NULL
 * with r marked as failed ("STAGE: ..."), *e set only for a fault of the
 * run (FEAT_E_NOMEM, why filled). */
const float *feat_stage_input(const char *stage, struct feat_rec *r,
	const uint32_t chw[3], int *e, char *why, size_t whylen);

/*
 * The batch loop of a stage (feat_detector_run, feat_describer_run): the
 * ok records of recs[0 .. n) whose `input` has shape chw and that accept
 * takes (NULL: every one; it is told the slot the record would get, and
 * returns 1 to take it, 0 with the record marked as failed and *e set only
 * for a fault of the run) are copied into the net's input blob `in` and
 * listed in ok[0 .. *m), and one forward pass runs over them.  noun names
 * the stage in the batch-size error.  0, or FEAT_E_RANGE (n over batch)
 * or a fault of the run, with the reason in why.
 */
typedef int (*feat_stage_accept)(struct feat_rec *r, int slot, void *ctx, int *e,
	char *why, size_t whylen);
int feat_stage_batch(const char *stage, const char *noun, struct feat_net *net, int in,
	const uint32_t chw[3], int batch, struct feat_rec **recs, int n,
	feat_stage_accept accept, void *ctx, struct feat_rec **ok, int *m,
	char *why, size_t whylen);

/*
 * The mirror pass of a stage: the `input` of ok[0 .. m) (feat_stage_batch's
 * records) copied into the net's input blob `in` with each row of each
 * channel reversed, then one forward pass.  0, or the pass's fault with the
 * reason in why.
 */
int feat_stage_mirror(struct feat_net *net, int in, const uint32_t chw[3],
	struct feat_rec **ok, int m, char *why, size_t whylen);

/* Mark r as failed for the non-finite value v[k] of n; 0 or FEAT_E_NOMEM. */
int feat_stage_nonfinite(const char *stage, struct feat_rec *r,
	const char *what, const char *name, const float *v, size_t k, size_t n,
	char *why, size_t whylen);

/* feat_rec_set_error's result as a stage's: 0, or FEAT_E_NOMEM with why. */
int feat_stage_oom(int e, char *why, size_t whylen);

#endif
