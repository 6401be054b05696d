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
 * another FEAT_E_* with the reason in detail. */
int feat_stage_load(struct feat_net **net, const char *path, int batch, int threads,
	int *in, uint32_t chw[3], char *detail, size_t dlen);

/* r's f32 `input` of shape chw if it has one and it is finite; else NULL
 * with r marked as failed ("STAGE: ..."), *e set only for a fault of the
 * run (FEAT_E_NOMEM, why filled). */
const float *feat_stage_input(const char *stage, struct feat_rec *r,
	const uint32_t chw[3], int *e, char *why, size_t whylen);

/* Mark r as failed for the non-finite value v[k] of n; 0 or FEAT_E_NOMEM. */
int feat_stage_nonfinite(const char *stage, struct feat_rec *r,
	const char *what, const char *name, const float *v, size_t k, size_t n,
	char *why, size_t whylen);

/* feat_rec_set_error's result as a stage's: 0, or FEAT_E_NOMEM with why. */
int feat_stage_oom(int e, char *why, size_t whylen);

#endif
