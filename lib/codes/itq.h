/*
 * itq.h - fitting binary codes to features: the top eigenpairs of a
 * symmetric matrix, PCA, and iterative quantisation (ITQ, Gong and
 * Lazebnik, "Iterative quantization: a Procrustean approach to learning
 * binary codes", CVPR 2011).  Internal to libfeat: fit.c
 * (feat_codes_fit(3)) and the unit tests use it.
 *
 * Matrices are dense and row-major.  Nothing here prints, exits or keeps
 * state between calls; every function returns 0 or a negative FEAT_E_*.
 */
#ifndef FEAT_ITQ_H
#define FEAT_ITQ_H

#include <stddef.h>
#include <stdint.h>

/*
 * The k largest eigenvalues of the symmetric n x n matrix a (only the
 * lower triangle is read; a is overwritten), in descending order in
 * w[0..k), and their orthonormal eigenvectors as the columns of v (n x k,
 * row-major: v[i * k + j] is element i of vector j; the sign of each
 * makes its largest element positive).  Householder
 * reduction to tridiagonal form, bisection on Sturm counts for the
 * eigenvalues, inverse iteration (re-orthogonalised within clusters) for
 * the vectors, then the reflections applied back: O(n^3) for the
 * reduction, O(n^2 k) for the rest.  Any scale of a works (it is
 * scaled by a power of two first).  1 <= k <= n.  0, FEAT_E_INVAL (also
 * for a non-finite entry in the lower triangle) or FEAT_E_NOMEM.
 */
int feat_eigh_top(double *a, int n, int k, double *w, double *v);

/*
 * The orthogonal K x K matrix r that maximises trace(r^T m), the polar
 * factor of m (r = U W^T from the SVD m = U S W^T), written over r.  When
 * m is singular, the directions it does not fix are completed to an
 * orthonormal basis.  0 or FEAT_E_NOMEM.
 */
int feat_polar(const double *m, int k, double *r);

/* A random k x k orthogonal matrix from a fixed seed (Gaussian entries,
 * orthonormalised): the same seed gives the same matrix on every machine
 * with IEEE doubles.  0 or FEAT_E_NOMEM. */
int feat_random_rotation(int k, uint64_t seed, double *r);

/*
 * ITQ on v (n x k, the centred data projected on its top k principal
 * directions): starting from r (k x k orthogonal, replaced by the result),
 * `iters` times b = sign(v r), then r = the polar factor of v^T b.
 * loss (may be NULL) receives iters + 1 values: loss[t] = |b - v r|^2 / n
 * for the r of step t and its b (loss[iters] for the final r), which never
 * increases.  Sign: an entry > 0 gives +1, anything else -1, as a code
 * bit is activation > 0.5 after a sigmoid.  0, FEAT_E_INVAL or
 * FEAT_E_NOMEM.
 */
int feat_itq(const float *v, size_t n, int k, int iters, double *r,
	double *loss);

/*
 * The whole fit over features x (n x d, float; overwritten by x minus the
 * mean): the mean (d), the covariance's top k eigenvalues (k, divided by
 * n), the share of the variance they hold, and proj = P R (d x k, row-major), P the principal
 * directions and R the ITQ rotation started from feat_random_rotation(k,
 * seed).  A code is then sign((x - mean) proj).  loss as feat_itq.
 * 1 <= k <= d, k < n.  0, FEAT_E_INVAL or FEAT_E_NOMEM.
 */
struct feat_itq_fit {
	double *mean;      /* [d] */
	double *eig;       /* [k] */
	double *proj;      /* [d * k] */
	double *loss;      /* [iters + 1], or NULL */
	double *zstd;      /* [k], or NULL: the standard deviation of each
			      code's projection (x - mean) proj[:, j] over
			      the features, sqrt(sum_m eig[m] R[m][j]^2) */
	double variance;   /* sum of eig / trace of the covariance */
	double trace;      /* of the covariance: the features' total variance */
	double seconds[3]; /* covariance, eigenvectors, ITQ */
};
int feat_itq_fit(float *x, size_t n, int d, int k, int iters, uint64_t seed,
	struct feat_itq_fit *out);

#endif
