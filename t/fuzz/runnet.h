/*
 * runnet.h - what fuzz_net.c and fuzz_onnx.c do with a model the loader
 * accepted: build the executable network as ssd-detect and
 * deepbit-extract do (feat_net_build, feat_net_reserve), run forward
 * passes over a deterministic input of the network's declared shape, and,
 * when the metadata describes an SSD, lay out its priors and detect.
 *
 * Caps, so that a model whose shapes legitimately need a lot of memory or
 * time does not stop the fuzzer: no single allocation over
 * FUZZ_ALLOC_MB succeeds (the library gets NULL and must say
 * FEAT_E_NOMEM, never crash), and a built network is run only when its
 * activations and workspace take at most FUZZ_RUN_BYTES and a pass at
 * most FUZZ_RUN_MACS multiply-adds.  These are checked after
 * feat_net_build (which plans storage and sizes the workspace) and before
 * feat_net_reserve (which allocates the activations).
 *
 * Properties held (abort() when broken): a refusal says why (except out
 * of memory: a refused allocation is the harness's doing); a network that
 * builds has its inputs and outputs; a forward pass of an accepted
 * network returns 0; SSD detections carry a real label, and a score
 * above the threshold; nothing leaks (LeakSanitizer).
 *
 * Inputs whose bytes add up to an even number run a batch of 2 on one
 * thread; the others a batch of 3 on two threads with every layer split
 * (FEAT_THREAD_MIN=0), so that the pieces of threaded layers are fuzzed
 * too; and when bit 1 of the sum is set, on the plain C kernels (the
 * AVX-512 ones are built without the sanitizers).
 */
#ifndef FUZZ_RUNNET_H
#define FUZZ_RUNNET_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net.h"
#include "nn/ssd.h"

#define FUZZ_ALLOC_MB 256
#define FUZZ_RUN_BYTES ((size_t)64 << 20)
#define FUZZ_RUN_MACS ((uint64_t)20 << 20)

/* AddressSanitizer: allocations over FUZZ_ALLOC_MB return NULL (before
 * libFuzzer's malloc limit would count them as a crash). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
#define FUZZ_STR2(x) #x
#define FUZZ_STR(x) FUZZ_STR2(x)
	return "allocator_may_return_null=1:max_allocation_size_mb=" FUZZ_STR(FUZZ_ALLOC_MB);
}

static volatile float fuzz_sink;

/* -DFUZZ_TRACE: say on stderr how far each input went (by hand) */
#ifdef FUZZ_TRACE
#include <stdio.h>
#define TRACE(...) fprintf(stderr, "runnet: " __VA_ARGS__)
#else
#define TRACE(...) ((void)0)
#endif

static void fuzz_detect(struct feat_net *n, int batch)
{
	struct feat_ssd s;
	struct feat_det *d = NULL;
	size_t cap = 0;
	char why[512];
	int e;

	why[0] = 0;
	if ((e = feat_ssd_setup(&s, n, why, sizeof why))) {
		TRACE("no SSD: %s\n", why);
		if (e != FEAT_E_NOMEM && !why[0])
			abort();  /* every refusal says why */
		return;
	}
	for (int b = 0; b < batch; b++) {
		const float *loc = feat_net_data(n, s.loc_blob) + (size_t)b * n->blob[s.loc_blob].count;
		const float *conf = feat_net_data(n, s.conf_blob) + (size_t)b * n->blob[s.conf_blob].count;
		int k = feat_ssd_detect(&s, loc, conf, &d, &cap);

		if (k == FEAT_E_NOMEM || k == FEAT_E_RANGE)
			break;  /* FEAT_E_RANGE: loc or conf not finite */
		if (k < 0)
			abort();
		TRACE("%d detections\n", k);
		for (int i = 0; i < k; i++) {
			if (!(d[i].label >= 0 && d[i].label < s.num_classes) ||
			    d[i].label == s.background || d[i].label != (int)d[i].label)
				abort();
			if (!(d[i].score > s.confidence_threshold) && !isnan(d[i].score))
				abort();
			fuzz_sink += d[i].x0 + d[i].y1;
		}
	}
	free(d);
	feat_ssd_free(&s);
}

/* The variant of an input: the parity of its bytes' sum. */
static size_t fuzz_salt(const uint8_t *p, size_t n)
{
	size_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

/* Build m (taken over) and run it; "salt" picks the variant. */
static void fuzz_run_model(struct feat_model *m, size_t salt)
{
	struct feat_net *n;
	char detail[512];
	size_t shared, own, bytes;
	uint64_t macs = 0;
	int batch = salt & 1 ? 3 : 2, e;

	/* the AVX-512 kernels are built without the sanitizers (Makefile):
	 * half the inputs run the plain C ones, which are checked */
	feat_kernel_select(salt & 2 ? "ref" : "auto");
	detail[0] = 0;
	if ((e = feat_net_build(&n, m, detail, sizeof detail))) {
		TRACE("build: %s (%s)\n", feat_strerror(e), detail);
		if (e != FEAT_E_NOMEM && !detail[0])
			abort();  /* every refusal says why */
		return;
	}
	if (n->ninput < 1 || n->noutput < 1)
		abort();
	for (int i = 0; i < n->nlayer; i++)
		if (!n->layer[i].removed)
			macs += n->layer[i].macs;
	if (feat_net_activations(n, &shared, &own))
		goto out;
	bytes = (shared * (size_t)batch + n->scratch_floats * (salt & 1 ? 2 : 1)) * sizeof(float);
	if (shared > FUZZ_RUN_BYTES || bytes > FUZZ_RUN_BYTES || macs * (uint64_t)batch > FUZZ_RUN_MACS) {
		TRACE("not run: %zu bytes, %llu MACs\n", bytes, (unsigned long long)macs);
		goto out;
	}
	if (feat_net_reserve(n, batch))
		goto out;
	if (salt & 1) {
		setenv("FEAT_THREAD_MIN", "0", 1);
		if (feat_net_set_threads(n, 2))
			goto out;
	}
	for (int i = 0; i < n->ninput; i++) {
		const struct feat_blob *b = &n->blob[n->input[i]];
		float *x = feat_net_data(n, n->input[i]);

		for (size_t j = 0; j < b->count * (size_t)batch; j++)
			x[j] = (float)((j * 2654435761u >> 13) & 0xff) / 127.5f - 1.0f;
	}
	if (feat_net_forward(n, batch))
		abort();
	TRACE("ran %d layers, batch %d\n", n->nlayer, batch);
	for (int i = 0; i < n->noutput; i++) {
		const struct feat_blob *b = &n->blob[n->output[i]];
		const float *y = feat_net_data(n, n->output[i]);

		fuzz_sink += y[0] + y[b->count * (size_t)batch - 1];
	}
	fuzz_detect(n, batch);
out:
	feat_net_free(n);
}

#endif
