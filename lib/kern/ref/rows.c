/*
 * ref/rows.c - plain C twins of the row kernels of the table: softmax
 * (expf, sums in double) and layer normalisation (sums in double), the
 * oracles of avx512/rows.c (t/unit/test_act.c holds them together).
 */
#include <math.h>

#include "kern/kern.h"

void feat_softmax_ref(const float *x, float *y, size_t rows, size_t c)
{
	for (size_t r = 0; r < rows; r++, x += c, y += c) {
		float m = -INFINITY, q;
		double s = 0;

		for (size_t k = 0; k < c; k++)
			m = x[k] > m || x[k] != x[k] ? x[k] : m;
		for (size_t k = 0; k < c; k++)
			s += y[k] = expf(x[k] - m);
		q = (float)(1.0 / s);
		for (size_t k = 0; k < c; k++)
			y[k] *= q;
	}
}

void feat_layernorm_ref(const float *x, float *y, size_t rows, size_t c, float eps,
	const float *g, const float *b)
{
	for (size_t r = 0; r < rows; r++, x += c, y += c) {
		double s = 0, v = 0;
		float mean, rs;

		for (size_t i = 0; i < c; i++)
			s += x[i];
		mean = (float)(s / (double)c);
		for (size_t i = 0; i < c; i++)
			v += (double)(x[i] - mean) * (x[i] - mean);
		rs = (float)(1.0 / sqrt(v / (double)c + eps));
		for (size_t i = 0; i < c; i++) {
			float t = (x[i] - mean) * rs;

			y[i] = (g ? t * g[i] : t) + (b ? b[i] : 0);
		}
	}
}
