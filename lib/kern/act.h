/*
 * act.h - the activations kernels apply as they store their results, one
 * definition for every plain kernel (the AVX-512 one, feat_act16, is in
 * avx512/avx512.h).  kind is enum feat_act
 * (lib/nn/net.h): 0 none, 1 ReLU, 2 ReLU6, 3 leaky ReLU with slope alpha.
 */
#ifndef FEAT_KERN_ACT_H
#define FEAT_KERN_ACT_H

/* NaN in, NaN out (every comparison with NaN is false, so it falls
 * through to v): the engine's check for non-finite outputs must see it,
 * not a 0 that looks like an ordinary value. */
static inline float feat_act1(float v, int kind, float alpha)
{
	switch (kind) {
	case 1: return v < 0 ? 0 : v;
	case 2: return v < 0 ? 0 : v > 6 ? 6 : v;
	case 3: return v < 0 ? v * alpha : v;
	}
	return v;
}

/* max(a, b) that is NaN when either is (max pooling's). */
static inline float feat_nanmax(float a, float b)
{
	return a > b || a != a ? a : b;
}

#endif
