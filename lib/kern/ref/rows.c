/*
 * ref/rows.c - plain C twins of the row kernels of the table: softmax
 * (expf, sums in double), layer normalisation (sums in double) and the
 * mean of each row (float partials added in double), the
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

/* 16 float partial sums a block of up to 1024 values (independent adds a
 * compiler can vectorise) added into 16 double sums: one chain of
 * dependent double adds made EfficientNet-B0's 17 global pools 0.77 ms
 * of its 10.4. */
void feat_rowmean_ref(const float *x, float *y, size_t rows, size_t c)
{
	for (size_t r = 0; r < rows; r++, x += c) {
		double s16[16] = { 0 }, s = 0;
		size_t i = 0;

		while (i + 16 <= c) {
			float part[16] = { 0 };
			size_t e = c - i < 1024 ? i + (c - i) / 16 * 16 : i + 1024;

			for (; i < e; i += 16)
				for (int u = 0; u < 16; u++)
					part[u] += x[i + u];
			for (int u = 0; u < 16; u++)
				s16[u] += part[u];
		}
		for (; i < c; i++)
			s += x[i];
		for (int u = 0; u < 16; u++)
			s += s16[u];
		y[r] = (float)(s / (double)c);
	}
}
