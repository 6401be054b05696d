/*
 * test_itq.c - the eigensolver, the Procrustes step and ITQ of
 * lib/codes/itq.c against references built here independently: matrices
 * of a known spectrum (Q diag(l) Q^T, Q a product of random plane
 * rotations), a plain cyclic Jacobi eigensolver, a polar factor made from
 * known factors, and the properties ITQ promises (orthogonal R, a loss
 * that never increases).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "codes/itq.h"
#include "unit.h"

static uint64_t rng = 88172645463325252ull;

static double urand(void)  /* xorshift64, uniform in [-1, 1) */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 4503599627370496.0 - 1;
}

/* A random orthogonal n x n matrix: the identity turned by 4 n^2 random
 * plane rotations (no Gram-Schmidt, nothing shared with itq.c). */
static double *rand_orth(int n)
{
	double *q = calloc((size_t)n * n, sizeof *q);

	for (int i = 0; i < n; i++)
		q[(size_t)i * n + i] = 1;
	for (int t = 0; t < 4 * n * n && n > 1; t++) {
		int a = (int)((urand() + 1) / 2 * n), b = (int)((urand() + 1) / 2 * n);
		double th = urand() * M_PI, c = cos(th), s = sin(th);

		if (a == b || a >= n || b >= n)
			continue;
		for (int i = 0; i < n; i++) {
			double x = q[(size_t)i * n + a], y = q[(size_t)i * n + b];

			q[(size_t)i * n + a] = c * x - s * y;
			q[(size_t)i * n + b] = s * x + c * y;
		}
	}
	return q;
}

/* a = q diag(l) q^T */
static double *with_spectrum(const double *q, const double *l, int n)
{
	double *a = calloc((size_t)n * n, sizeof *a);

	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			for (int p = 0; p < n; p++)
				a[(size_t)i * n + j] += q[(size_t)i * n + p] * l[p] * q[(size_t)j * n + p];
	return a;
}

static int cmp_desc(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a < b) - (a > b);
}

/* Columns of v (n x k) orthonormal, and a0 v = v diag(w), within tol
 * relative to scale. */
static void check_pairs(const double *a0, int n, int k, const double *w, const double *v,
	double scale, double tol)
{
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++) {
			double s = 0;

			for (int p = 0; p < n; p++)
				s += v[(size_t)p * k + i] * v[(size_t)p * k + j];
			ck_assert_msg(fabs(s - (i == j)) < tol, "v^T v [%d][%d] = %g", i, j, s);
		}
	for (int j = 0; j < k; j++) {
		if (j)
			ck_assert(w[j] <= w[j - 1]);
		for (int i = 0; i < n; i++) {
			double s = 0;

			for (int p = 0; p < n; p++)
				s += a0[(size_t)i * n + p] * v[(size_t)p * k + j];
			ck_assert_msg(fabs(s - w[j] * v[(size_t)i * k + j]) < tol * scale,
				      "residual of pair %d at %d: %g", j, i, s - w[j] * v[(size_t)i * k + j]);
		}
	}
}

/* Known spectra: distinct, negative, repeated (clusters of 3 and of 5),
 * a zero block, tiny and huge scales; every k from 1 to n checked on
 * one, the eigenvalues to 1e-12 of the largest. */
static void spectrum_case(const double *l, int n, int k)
{
	double *q = rand_orth(n), *a = with_spectrum(q, l, n), *a0 = malloc(sizeof(double) * (size_t)n * n);
	double *w = malloc(sizeof(double) * (size_t)k), *v = malloc(sizeof(double) * (size_t)n * k);
	double *ls = malloc(sizeof(double) * (size_t)n), scale = 0;

	memcpy(a0, a, sizeof(double) * (size_t)n * n);
	memcpy(ls, l, sizeof(double) * (size_t)n);
	qsort(ls, (size_t)n, sizeof *ls, cmp_desc);
	for (int i = 0; i < n; i++)
		scale = fmax(scale, fabs(l[i]));
	ck_assert_int_eq(feat_eigh_top(a, n, k, w, v), 0);
	for (int j = 0; j < k; j++)
		ck_assert_msg(fabs(w[j] - ls[j]) <= 1e-12 * scale, "eigenvalue %d: %.17g, want %.17g",
			      j, w[j], ls[j]);
	check_pairs(a0, n, k, w, v, scale, 1e-10);
	free(q), free(a), free(a0), free(w), free(v), free(ls);
}

START_TEST(test_eigh_known)
{
	double l1[24], l2[30], l3[16], l4[1] = { -3.5 }, l5[2] = { 1, 4 };

	for (int i = 0; i < 24; i++)
		l1[i] = (i % 2 ? -1 : 1) * (i + 1) * 0.75;
	spectrum_case(l1, 24, 24);
	spectrum_case(l1, 24, 5);
	for (int i = 0; i < 30; i++)  /* clusters and a zero block */
		l2[i] = i < 3 ? 7 : i < 8 ? 2.5 : i < 12 ? 0 : 1.0 / (i + 1);
	spectrum_case(l2, 30, 30);
	spectrum_case(l2, 30, 9);
	for (int i = 0; i < 16; i++)  /* a PCA-like decay over 12 decades */
		l3[i] = 1e6 * pow(10, -0.8 * i);
	spectrum_case(l3, 16, 16);
	for (int i = 0; i < 16; i++)
		l3[i] *= 1e-9;
	spectrum_case(l3, 16, 4);
	spectrum_case(l4, 1, 1);
	spectrum_case(l5, 2, 2);
	spectrum_case(l5, 2, 1);
}
END_TEST

/* A cyclic Jacobi eigensolver (eigenvalues only), the independent
 * reference for random symmetric matrices. */
static void jacobi_values(double *a, int n, double *out)
{
	for (int sweep = 0; sweep < 100; sweep++) {
		double off = 0;

		for (int p = 0; p < n; p++)
			for (int q = p + 1; q < n; q++)
				off += a[(size_t)p * n + q] * a[(size_t)p * n + q];
		if (off < 1e-30)
			break;
		for (int p = 0; p < n; p++)
			for (int q = p + 1; q < n; q++) {
				double apq = a[(size_t)p * n + q], th, t, c, s;

				if (apq == 0)
					continue;
				th = (a[(size_t)q * n + q] - a[(size_t)p * n + p]) / (2 * apq);
				t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
				c = 1 / sqrt(t * t + 1), s = t * c;
				for (int i = 0; i < n; i++) {  /* columns p, q */
					double x = a[(size_t)i * n + p], y = a[(size_t)i * n + q];

					a[(size_t)i * n + p] = c * x - s * y;
					a[(size_t)i * n + q] = s * x + c * y;
				}
				for (int i = 0; i < n; i++) {  /* rows p, q */
					double x = a[(size_t)p * n + i], y = a[(size_t)q * n + i];

					a[(size_t)p * n + i] = c * x - s * y;
					a[(size_t)q * n + i] = s * x + c * y;
				}
			}
	}
	for (int i = 0; i < n; i++)
		out[i] = a[(size_t)i * n + i];
	qsort(out, (size_t)n, sizeof *out, cmp_desc);
}

START_TEST(test_eigh_vs_jacobi)
{
	enum { N = 60, K = 12 };
	static double a[N * N], a0[N * N], b[N * N], ref[N], w[N], v[N * N];

	for (int i = 0; i < N; i++)
		for (int j = 0; j <= i; j++)
			a[i * N + j] = a[j * N + i] = urand();
	memcpy(a0, a, sizeof a);
	memcpy(b, a, sizeof a);
	jacobi_values(b, N, ref);
	/* only the lower triangle is read: spoil the upper one */
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			a[i * N + j] = 1e9;
	ck_assert_int_eq(feat_eigh_top(a, N, K, w, v), 0);
	for (int j = 0; j < K; j++)
		ck_assert_msg(fabs(w[j] - ref[j]) < 1e-11, "eigenvalue %d: %.17g, jacobi %.17g",
			      j, w[j], ref[j]);
	check_pairs(a0, N, K, w, v, 10, 1e-10);
	ck_assert_int_eq(feat_eigh_top(a, N, 0, w, v), FEAT_E_INVAL);
	ck_assert_int_eq(feat_eigh_top(a, N, N + 1, w, v), FEAT_E_INVAL);
	/* a non-finite entry in the lower triangle: refused, not NaN vectors */
	a[5 * N + 2] = NAN;
	ck_assert_int_eq(feat_eigh_top(a, N, K, w, v), FEAT_E_INVAL);
	a[5 * N + 2] = INFINITY;
	ck_assert_int_eq(feat_eigh_top(a, N, K, w, v), FEAT_E_INVAL);
}
END_TEST

static void mul(const double *x, const double *y, double *z, int n, int ty)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			double s = 0;

			for (int p = 0; p < n; p++)
				s += x[(size_t)i * n + p] * (ty ? y[(size_t)j * n + p] : y[(size_t)p * n + j]);
			z[(size_t)i * n + j] = s;
		}
}

static double orth_err(const double *r, int k)
{
	double e = 0;

	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++) {
			double s = 0;

			for (int p = 0; p < k; p++)
				s += r[(size_t)p * k + i] * r[(size_t)p * k + j];
			e = fmax(e, fabs(s - (i == j)));
		}
	return e;
}

/* m = U diag(s) W^T with known U, W: the polar factor is U W^T. */
START_TEST(test_polar)
{
	enum { K = 10 };
	double *u = rand_orth(K), *wt = rand_orth(K), s[K], us[K * K], m[K * K], want[K * K], r[K * K];

	for (int i = 0; i < K; i++)
		s[i] = 0.01 + i * i;
	for (int i = 0; i < K; i++)
		for (int j = 0; j < K; j++)
			us[i * K + j] = u[i * K + j] * s[j];
	mul(us, wt, m, K, 1);
	mul(u, wt, want, K, 1);
	ck_assert_int_eq(feat_polar(m, K, r), 0);
	for (int i = 0; i < K * K; i++)
		ck_assert_msg(fabs(r[i] - want[i]) < 1e-10, "r[%d] = %g, want %g", i, r[i], want[i]);
	/* singular m (two zero singular values): still orthogonal, and as
	 * good as U W^T, which is one of the maximisers */
	s[0] = s[1] = 0;
	for (int i = 0; i < K; i++)
		for (int j = 0; j < K; j++)
			us[i * K + j] = u[i * K + j] * s[j];
	mul(us, wt, m, K, 1);
	ck_assert_int_eq(feat_polar(m, K, r), 0);
	ck_assert(orth_err(r, K) < 1e-12);
	{
		double tr = 0, trw = 0;

		for (int i = 0; i < K * K; i++)
			tr += r[i] * m[i], trw += want[i] * m[i];
		ck_assert_msg(tr >= trw - 1e-9, "trace %g < %g", tr, trw);
	}
	memset(m, 0, sizeof m);  /* nothing fixed at all */
	ck_assert_int_eq(feat_polar(m, K, r), 0);
	ck_assert(orth_err(r, K) < 1e-12);
	free(u), free(wt);
}
END_TEST

START_TEST(test_random_rotation)
{
	double a[64], b[64];

	ck_assert_int_eq(feat_random_rotation(8, 1, a), 0);
	ck_assert_int_eq(feat_random_rotation(8, 1, b), 0);
	ck_assert(!memcmp(a, b, sizeof a));
	ck_assert(orth_err(a, 8) < 1e-13);
	ck_assert_int_eq(feat_random_rotation(8, 2, b), 0);
	ck_assert(memcmp(a, b, sizeof a));
}
END_TEST

/* ITQ on clustered data: the loss never increases (up to float
 * rounding), ends lower than it started, and R stays orthogonal; the
 * codes are the signs of v R. */
START_TEST(test_itq)
{
	enum { N = 600, K = 8, IT = 50 };
	static float v[N * K];
	double r[K * K], loss[IT + 1], r0[K * K];
	double *c = rand_orth(K);

	/* points around 2^K corners turned by c, plus noise */
	for (int i = 0; i < N; i++)
		for (int j = 0; j < K; j++) {
			double s = 0;

			for (int p = 0; p < K; p++)
				s += ((i * 7 + p * 3) % 5 < 2 ? -1 : 1) * c[j * K + p];
			v[i * K + j] = (float)(s + 0.3 * urand());
		}
	ck_assert_int_eq(feat_random_rotation(K, 7, r), 0);
	memcpy(r0, r, sizeof r);
	ck_assert_int_eq(feat_itq(v, N, K, IT, r, loss), 0);
	for (int t = 1; t <= IT; t++)
		ck_assert_msg(loss[t] <= loss[t - 1] * (1 + 1e-6), "loss %d: %.9g after %.9g",
			      t, loss[t], loss[t - 1]);
	ck_assert_msg(loss[IT] < 0.5 * loss[0], "loss %g from %g", loss[IT], loss[0]);
	ck_assert(orth_err(r, K) < 1e-12);
	/* iters 0: r unchanged, one loss */
	memcpy(r, r0, sizeof r);
	ck_assert_int_eq(feat_itq(v, N, K, 0, r, loss + 1), 0);
	ck_assert(!memcmp(r, r0, sizeof r));
	ck_assert(fabs(loss[1] - loss[0]) < 1e-9 * loss[0]);
	free(c);
}
END_TEST

/* The whole fit on features of a known covariance: eigenvalues and the
 * PCA subspace against the Jacobi reference on the covariance computed
 * here in double; proj = P R with R orthogonal (proj^T proj = I). */
START_TEST(test_fit)
{
	enum { N = 400, D = 20, K = 6, IT = 20 };
	static float x[N * D], x0[N * D];
	static double cov[D * D], ref[D], mean[D], eig[K], proj[D * K], loss[IT + 1];
	double *q = rand_orth(D);
	struct feat_itq_fit f = { .mean = mean, .eig = eig, .proj = proj, .loss = loss };
	double m[D] = { 0 }, tr = 0, kept = 0;

	for (int i = 0; i < N; i++)
		for (int j = 0; j < D; j++) {
			double s = 3 + j;

			for (int p = 0; p < D; p++)
				s += q[j * D + p] * urand() * 10 / (1 + p);
			x[i * D + j] = (float)s;
		}
	memcpy(x0, x, sizeof x);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < D; j++)
			m[j] += x0[i * D + j] / (double)N;
	for (int a = 0; a < D; a++)
		for (int b = 0; b < D; b++) {
			double s = 0;

			for (int i = 0; i < N; i++)
				s += (x0[i * D + a] - m[a]) * (x0[i * D + b] - m[b]);
			cov[a * D + b] = s / N;
		}
	for (int j = 0; j < D; j++)
		tr += cov[j * D + j];
	jacobi_values(cov, D, ref);
	ck_assert_int_eq(feat_itq_fit(x, N, D, K, IT, 1, &f), 0);
	for (int j = 0; j < D; j++)
		ck_assert(fabs(mean[j] - m[j]) < 1e-9 * fabs(m[j]));
	for (int j = 0; j < K; j++) {
		ck_assert_msg(fabs(eig[j] - ref[j]) < 1e-4 * ref[0], "eig %d: %g, want %g", j,
			      eig[j], ref[j]);
		kept += ref[j];
	}
	ck_assert(fabs(f.variance - kept / tr) < 1e-4);
	for (int a = 0; a < K; a++)
		for (int b = 0; b < K; b++) {
			double s = 0;

			for (int i = 0; i < D; i++)
				s += proj[i * K + a] * proj[i * K + b];
			ck_assert(fabs(s - (a == b)) < 1e-9);
		}
	for (int t = 1; t <= IT; t++)
		ck_assert(loss[t] <= loss[t - 1] * (1 + 1e-6));
	ck_assert_int_eq(feat_itq_fit(x, K, D, K, IT, 1, &f), FEAT_E_INVAL);  /* k >= n */
	ck_assert_int_eq(feat_itq_fit(x, N, D, D + 1, IT, 1, &f), FEAT_E_INVAL);
	free(q);
}
END_TEST

/* D = 512 with a decaying spectrum, top 64: the pairs hold (a size where
 * the vectors of the small eigenvalues are in one cluster). */
/*
 * The covariance of features that do not vary, but for rounding (the same
 * photo ten times, through a GEMM that rounds differently from row to
 * row): most rows zero, entries about 1e-15, nearly rank one.  Reflectors
 * of such columns once left double's range (NaN vectors); the same at
 * 1e-150, whose squares are subnormal.
 */
static void tiny_case(double mag)
{
	enum { N = 96, K = 4, R = 10 };
	static double x[R * N], a[N * N], a0[N * N], w[K], v[N * K];

	memset(x, 0, sizeof x);
	for (int j = 0; j < N; j += 1 + (j % 5))
		for (int r = 0; r < R; r++)
			x[r * N + j] = mag * (0.01 * urand() + (r == 0 ? urand() : 0));
	for (int i = 0; i < N; i++)
		for (int j = 0; j <= i; j++) {
			double s = 0;

			for (int r = 0; r < R; r++)
				s += x[r * N + i] * x[r * N + j];
			a[i * N + j] = a[j * N + i] = s;
		}
	memcpy(a0, a, sizeof a);
	ck_assert_int_eq(feat_eigh_top(a, N, K, w, v), 0);
	for (int j = 0; j < K; j++)
		ck_assert_msg(isfinite(w[j]) && w[j] >= -1e-12 * w[0], "eigenvalue %d: %g", j, w[j]);
	check_pairs(a0, N, K, w, v, w[0], 1e-9);
}

START_TEST(test_eigh_tiny)
{
	tiny_case(3e-8);
	tiny_case(1e-75);
	tiny_case(1e75);
}
END_TEST

START_TEST(test_eigh_large)
{
	enum { N = 256, K = 64 };
	double *l = malloc(sizeof(double) * N), *q = rand_orth(N), *a, *a0;
	double *w = malloc(sizeof(double) * K), *v = malloc(sizeof(double) * N * K);

	for (int i = 0; i < N; i++)
		l[i] = 100 * exp(-i / 20.0);
	a = with_spectrum(q, l, N);
	a0 = malloc(sizeof(double) * N * N);
	memcpy(a0, a, sizeof(double) * N * N);
	ck_assert_int_eq(feat_eigh_top(a, N, K, w, v), 0);
	for (int j = 0; j < K; j++)
		ck_assert(fabs(w[j] - l[j]) < 1e-11 * 100);
	check_pairs(a0, N, K, w, v, 100, 1e-9);
	free(l), free(q), free(a), free(a0), free(w), free(v);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("itq");
	TCase *tc = tcase_create("itq");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_eigh_known);
	tcase_add_test(tc, test_eigh_vs_jacobi);
	tcase_add_test(tc, test_eigh_large);
	tcase_add_test(tc, test_eigh_tiny);
	tcase_add_test(tc, test_polar);
	tcase_add_test(tc, test_random_rotation);
	tcase_add_test(tc, test_itq);
	tcase_add_test(tc, test_fit);
	suite_add_tcase(s, tc);
	return s;
}
