/*
 * avx512/act.c - the activations over an array (the AVX-512 table's act):
 * feat_act16 over whole vectors and a masked tail.  The plain C twin is
 * feat_act_ref (ref/pool.c, feat_act1 with libm); t/unit/test_act.c holds
 * them together.
 */
#include "kern/kern.h"
#include "kern/avx512/avx512.h"

void feat_act_avx512(float *x, size_t n, int kind, float alpha)
{
	const __m512 a = _mm512_set1_ps(alpha);
	size_t i = 0;

	if (!kind)
		return;
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(x + i, feat_act16(_mm512_loadu_ps(x + i), kind, a));
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);

		_mm512_mask_storeu_ps(x + i, m, feat_act16(_mm512_maskz_loadu_ps(m, x + i), kind, a));
	}
}
