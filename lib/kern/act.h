/*
 * act.h - the activations kernels apply as they store their results, one
 * definition for every plain kernel (the AVX-512 one, feat_act16, is in
 * avx512/avx512.h).  kind is enum feat_act
 * (lib/nn/net.h): 0 none, 1 ReLU, 2 ReLU6, 3 leaky ReLU with slope alpha,
 * 4 SiLU x sigmoid(x), 5 hard swish x min(max(alpha x + 1/2, 0), 1), 6
 * sigmoid, 7 hard sigmoid min(max(alpha x + 1/2, 0), 1), 8 GELU
 * x (1 + erf(x / sqrt 2)) / 2.  These plain forms use libm (expf, erff):
 * they are the oracle the vectorised ones (feat_act16) are tested
 * against (t/unit/test_act.c).
 */
#ifndef FEAT_KERN_ACT_H
#define FEAT_KERN_ACT_H

#include <math.h>

/* 1 / (1 + e^-v) without overflow for either sign. */
static inline float feat_sigmoid1(float v)
{
	float e = expf(-fabsf(v));

	return v >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

static inline float feat_hsig1(float v, float alpha)
{
	float h = alpha * v + 0.5f;

	return h < 0 ? 0 : h > 1 ? 1 : h;   /* NaN stays NaN */
}

/* NaN in, NaN out (every comparison with NaN is false, so it falls
 * through to v): the engine's check for non-finite outputs must see it,
 * not a 0 that looks like an ordinary value. */
static inline float feat_act1(float v, int kind, float alpha)
{
	switch (kind) {
	case 1: return v < 0 ? 0 : v;
	case 2: return v < 0 ? 0 : v > 6 ? 6 : v;
	case 3: return v < 0 ? v * alpha : v;
	case 4: return v * feat_sigmoid1(v);
	case 5: return v * feat_hsig1(v, alpha);
	case 6: return feat_sigmoid1(v);
	case 7: return feat_hsig1(v, alpha);
	case 8: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
	}
	return v;
}

/* max(a, b) that is NaN when either is (max pooling's). */
static inline float feat_nanmax(float a, float b)
{
	return a > b || a != a ? a : b;
}

#endif
