/*
 * peak.c - this core's own peak rates, measured: fp32 zmm FMAs, int8
 * vpdpbusd (AVX512_VNNI) and bf16 vdpbf16ps (AVX512_BF16).  Each runs 16
 * independent chains of one instruction (enough to hide its latency on
 * any core that issues two a cycle), best of 20 runs of a few ms (short,
 * so that some run falls within one time slice on a shared core).
 * Benchmarks quote each layer's rate as a share of these, so that the
 * figures mean the same on any machine.  The VNNI and BF16 ones are
 * called only where the cpuid check found those features
 * (lib/kern/avx512/table.c).
 */
#include <immintrin.h>
#include <time.h>

#include "kern/kern.h"
#include "kern/avx512/avx512.h"

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define C16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) \
	X(14) X(15)

/*
 * The body of a peak function: chains a0..a15 of type T (__m512 or
 * __m512i) start at i; each of N steps applies PEAK_STEP(i) to every
 * chain, and PEAK_SUM(i) folds each into a sink that keeps the chains
 * alive (it never changes the result).  Returns OPS operations an instruction, per second, in
 * billions.  The empty asm keeps the chains in registers, neither folded
 * by the compiler nor spilled.
 */
#define PEAK_BODY(T, N, OPS)                                                          \
	double best = 1e30, sink = 0;                                                   \
	const long n = (N);                                                             \
	C16(PEAK_DECL_##T)                                                              \
	for (int r = 0; r < 20; r++) {                                                  \
		double t = now();                                                       \
                                                                                        \
		for (long k = 0; k < n; k++) {                                          \
			C16(PEAK_STEP)                                                  \
			__asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3),   \
					 "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7));       \
			__asm__ volatile("" : "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11), \
					 "+v"(a12), "+v"(a13), "+v"(a14), "+v"(a15));   \
		}                                                                       \
		t = now() - t;                                                          \
		if (t < best)                                                           \
			best = t;                                                       \
	}                                                                               \
	C16(PEAK_SUM)                                                                   \
	return n * 16 * (double)(OPS) / best * 1e-9 + (sink == 1 ? 1e-12 : 0)

#define PEAK_DECL___m512(i) __m512 a##i = _mm512_set1_ps((float)i);
#define PEAK_DECL___m512i(i) __m512i a##i = _mm512_set1_epi32(i);

/* fp32: 32 operations (16 multiply-adds) an FMA */
double feat_kern_peak_avx512(void)
{
	__m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(1e-7f);
#define PEAK_STEP(i) a##i = _mm512_fmadd_ps(a##i, x, y);
#define PEAK_SUM(i) sink += _mm512_reduce_add_ps(a##i);
	PEAK_BODY(__m512, 1000000, 32);
#undef PEAK_STEP
#undef PEAK_SUM
}

/* int8, in Gop/s: 128 operations (64 multiply-adds) a vpdpbusd */
VNNI double feat_kern_qpeak_avx512(void)
{
	__m512i x = _mm512_set1_epi32(0x01010101), y = _mm512_set1_epi32(0x01ff01ff);
#define PEAK_STEP(i) a##i = _mm512_dpbusd_epi32(a##i, x, y);
#define PEAK_SUM(i) sink += _mm512_reduce_add_epi32(a##i);
	PEAK_BODY(__m512i, 500000, 128);
#undef PEAK_STEP
#undef PEAK_SUM
}

/* bf16, in GFLOP/s: 64 operations (32 multiply-adds) a vdpbf16ps */
BF16 double feat_kern_bpeak_avx512(void)
{
	__m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = x;
#define PEAK_STEP(i) a##i = _mm512_dpbf16_ps(a##i, x, y);
#define PEAK_SUM(i) sink += _mm512_reduce_add_ps(a##i);
	PEAK_BODY(__m512, 500000, 64);
#undef PEAK_STEP
#undef PEAK_SUM
}
