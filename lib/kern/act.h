/*
 * act.h - the activations kernels apply as they store their results, one
 * definition for every kernel and its twin.  kind is enum feat_act
 * (lib/nn/net.h): 0 none, 1 ReLU, 2 ReLU6, 3 leaky ReLU with slope alpha.
 */
#ifndef FEAT_KERN_ACT_H
#define FEAT_KERN_ACT_H

static inline float feat_act1(float v, int kind, float alpha)
{
	switch (kind) {
	case 1: return v > 0 ? v : 0;
	case 2: return v > 0 ? (v < 6 ? v : 6) : 0;
	case 3: return v > 0 ? v : v * alpha;
	}
	return v;
}

#ifdef __AVX512F__
#include <immintrin.h>

static inline __attribute__((always_inline)) __m512 feat_act16(__m512 v, int kind,
	__m512 alpha)
{
	const __m512 zero = _mm512_setzero_ps();

	switch (kind) {
	case 1: return _mm512_max_ps(v, zero);
	case 2: return _mm512_min_ps(_mm512_max_ps(v, zero), _mm512_set1_ps(6));
	case 3: return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, alpha);
	}
	return v;
}
#endif

#endif
