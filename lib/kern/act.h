/*
 * act.h - the activations kernels apply as they store their results, one
 * definition for every plain kernel (the AVX-512 one, feat_act16, is in
 * avx512/avx512.h).  kind is enum feat_act
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

#endif
