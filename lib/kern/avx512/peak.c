/*
 * peak.c - this core's own fp32 FMA peak, measured: 16 independent chains
 * of zmm FMAs (enough to hide the latency on any core that issues two a
 * cycle), best of 20 runs of about 2.5 ms (short, so that some run falls
 * within one time slice on a shared core).  Benchmarks quote each layer's
 * rate as a share of it, so that the figures mean the same on any machine.
 */
#include <immintrin.h>
#include <time.h>

#include "kern/kern.h"
#include "kern/avx512/avx512.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double feat_kern_peak_avx512(void)
{
	__m512 a[16], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(1e-7f);
	double best = 1e30;
	const long n = 1000000;
	float sink = 0;

	for (int i = 0; i < 16; i++)
		a[i] = _mm512_set1_ps((float)i);
	for (int r = 0; r < 20; r++) {
		double t = now();

		for (long k = 0; k < n; k++)
#pragma GCC unroll 16
			for (int i = 0; i < 16; i++)
				a[i] = _mm512_fmadd_ps(a[i], x, y);
		t = now() - t;
		if (t < best)
			best = t;
	}
	for (int i = 0; i < 16; i++)
		sink += _mm512_reduce_add_ps(a[i]);
	/* sink keeps the chains alive; it never changes the result */
	return n * 16 * 32.0 / best * 1e-9 + (sink == 1.0f ? 1e-12 : 0);
}
