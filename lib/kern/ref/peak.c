/*
 * peak.c - the reference table's fp32 peak: the rate of independent
 * multiply-add chains written in plain C, as the compiler builds them for
 * the baseline target (no -m flags: SSE2 multiplies and adds on x86-64),
 * best of 20 short runs (as avx512/peak.c).  What the plain C kernels
 * could reach at best, so that FEAT_KERNEL=ref's per-layer shares mean
 * something; a multiply and an add count as two operations, as one FMA
 * does.
 */
#include <time.h>

#include "kern/kern.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define CHAINS 64

double feat_kern_peak_ref(void)
{
	float a[CHAINS], x = 1.0000001f, y = 1e-7f, sink = 0;
	double best = 1e30;
	const long n = 200000;

	for (int i = 0; i < CHAINS; i++)
		a[i] = (float)i;
	for (int r = 0; r < 20; r++) {
		double t = now();

		for (long k = 0; k < n; k++)
#pragma GCC unroll 64
			for (int i = 0; i < CHAINS; i++)
				a[i] = a[i] * x + y;
		t = now() - t;
		if (t < best)
			best = t;
	}
	for (int i = 0; i < CHAINS; i++)
		sink += a[i];
	return n * CHAINS * 2.0 / best * 1e-9 + (sink == 1.0f ? 1e-12 : 0);
}
