/*
 * itq.c - PCA and iterative quantisation (ITQ) in plain C, for codes
 * fitted to the features of any network (featmodel fitcodes).
 *
 * The symmetric eigensolver is the classic three-step one: Householder
 * reflections reduce the matrix to tridiagonal form T (O(n^3), the only
 * cubic step), bisection on Sturm counts finds the k wanted eigenvalues of
 * T one by one (O(n) a step, about 100 steps each), inverse iteration
 * finds their vectors (a tridiagonal solve with partial pivoting; vectors
 * of eigenvalues close to each other are made orthogonal by Gram-Schmidt
 * at each step), and the reflections are applied back to each vector
 * (O(n^2) each).  Only the k vectors asked for are ever formed, so a PCA
 * to 64 dimensions of 2048 features costs the reduction and little more.
 *
 * The large products (the covariance, the projections and v^T b of each
 * ITQ step) go through feat_sgemm in single precision; everything that
 * decides a direction (the covariance's sums, the eigensolver, the
 * Procrustes step) is in double.
 */
#include <math.h>
#include <time.h>

#include "base/internal.h"
#include "codes/itq.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* splitmix64: a small generator whose sequence is fixed by the seed. */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* uniform in (0, 1) */
static double unif(uint64_t *s)
{
	return ((double)(mix(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double dot(const double *x, const double *y, int n)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int i = 0;

	for (; i + 4 <= n; i += 4) {
		s0 += x[i] * y[i];
		s1 += x[i + 1] * y[i + 1];
		s2 += x[i + 2] * y[i + 2];
		s3 += x[i + 3] * y[i + 3];
	}
	for (; i < n; i++)
		s0 += x[i] * y[i];
	return (s0 + s1) + (s2 + s3);
}

/*
 * The reflector of column x (m values, stride apart) into u (m values):
 * H = I - beta u u^T maps x to alpha e_1.  Returns beta (0: x is already
 * alpha e_1, nothing to do) and alpha in *ek.  u is x divided by its
 * largest magnitude, so that neither its squares nor beta leave double's
 * range when x is tiny (a covariance of features that do not vary holds
 * only rounding, and the reduction makes it smaller still): H depends on
 * u's direction only, beta being 2 / u^T u.
 */
static double house(const double *x, size_t stride, int m, double *u, double *ek)
{
	double ss = 0, x0, norm, alpha, big = 0;

	for (int i = 0; i < m; i++) {
		u[i] = x[(size_t)i * stride];
		big = fmax(big, fabs(u[i]));
	}
	if (big == 0 || !isfinite(big)) {
		*ek = u[0];
		return 0;
	}
	for (int i = 0; i < m; i++) {
		u[i] /= big;
		ss += u[i] * u[i];
	}
	x0 = u[0];
	if (ss - x0 * x0 <= 0) {
		*ek = x0 * big;
		return 0;
	}
	norm = sqrt(ss);
	alpha = x0 > 0 ? -norm : norm;
	u[0] = x0 - alpha;
	*ek = alpha * big;
	return 1 / (ss - alpha * x0);   /* 2 / u^T u */
}

/*
 * One row of the fused pass: row[j] -= ui w[j] + wi u[j], then the
 * row's dot with un is returned and row[j] un_i added to pn[j].  The
 * vectors are distinct memory (u and un live in rows the pass does not
 * write), which restrict tells the compiler; two sums break the chain
 * of additions.
 */
static double row_pass(double *restrict row, int len, const double *restrict u,
	const double *restrict w, double ui, double wi, const double *restrict un,
	double uni, double *restrict pn)
{
	double a0 = 0, a1 = 0;
	int j = 0;

	for (; j + 2 <= len; j += 2) {
		double v0 = row[j] - (ui * w[j] + wi * u[j]);
		double v1 = row[j + 1] - (ui * w[j + 1] + wi * u[j + 1]);

		row[j] = v0;
		row[j + 1] = v1;
		a0 += v0 * un[j];
		a1 += v1 * un[j + 1];
		pn[j] += v0 * uni;
		pn[j + 1] += v1 * uni;
	}
	for (; j < len; j++) {
		double v = row[j] - (ui * w[j] + wi * u[j]);

		row[j] = v;
		a0 += v * un[j];
		pn[j] += v * uni;
	}
	return a0 + a1;
}

/*
 * Householder reduction of the symmetric a (n x n, its lower triangle) to
 * tridiagonal d (n), e (n - 1): a = Q T Q^T, Q = H_0 H_1 ... H_{n-3}, H_k
 * = I - beta[k] u_k u_k^T acting on indices k+1..n-1, u_k kept in the
 * unused upper triangle (row k, columns k+1..n-1).
 *
 * Step k replaces the trailing block S by H S H = S - u w^T - w u^T (w =
 * p - (beta/2)(u^T p) u, p = beta S u).  The block is read once a step:
 * column k+1 is updated first, which gives u_{k+1}, and then one pass
 * over the rest of the lower triangle both updates it and accumulates
 * S' u_{k+1} for the next step.  p, pn, w: n doubles each of work.
 */
static void tridiag(double *a, int n, double *d, double *e, double *beta, double *p,
	double *pn, double *w)
{
	if (n >= 3) {
		double *u = a + 1;

		beta[0] = house(a + n, (size_t)n, n - 1, u, &e[0]);
		d[0] = a[0];
		memset(p, 0, sizeof(double) * (size_t)(n - 1));
		for (int i = 1; i < n; i++) {
			const double *row = a + (size_t)i * n;
			double ui = u[i - 1], acc = row[i] * ui;

			for (int j = 1; j < i; j++) {
				acc += row[j] * u[j - 1];
				p[j - 1] += row[j] * ui;
			}
			p[i - 1] += acc;
		}
	}
	for (int k = 0; k + 2 < n; k++) {
		int c = k + 1, m = n - c, next = k + 3 < n;
		const double *u = a + (size_t)k * n + c;
		double bt = beta[k], kk, *un = NULL, *t;

		if (bt != 0) {
			for (int i = 0; i < m; i++)
				p[i] *= bt;
			kk = 0.5 * bt * dot(u, p, m);
			for (int i = 0; i < m; i++)
				w[i] = p[i] - kk * u[i];
		} else {
			memset(w, 0, sizeof(double) * (size_t)m);
		}
		/* column c (local index 0) first */
		for (int i = c; i < n; i++)
			a[(size_t)i * n + c] -= u[i - c] * w[0] + w[i - c] * u[0];
		if (next) {
			un = a + (size_t)c * n + c + 1;
			beta[c] = house(a + (size_t)(c + 1) * n + c, (size_t)n, n - c - 1, un, &e[c]);
			memset(pn, 0, sizeof(double) * (size_t)(n - c - 1));
		}
		d[c] = a[(size_t)c * n + c];
		/* the rest, rows and columns c+1.., and S' u_{k+1} */
		for (int i = c + 1; i < n; i++) {
			double *row = a + (size_t)i * n;
			double ui = u[i - c], wi = w[i - c], v;

			if (next) {
				double uni = un[i - c - 1];

				v = row[i] - 2 * ui * wi;
				row[i] = v;
				pn[i - c - 1] += v * uni +
					row_pass(row + c + 1, i - c - 1, u + 1, w + 1, ui, wi, un, uni, pn);
			} else {
				for (int j = c + 1; j <= i; j++)
					row[j] -= ui * w[j - c] + wi * u[j - c];
			}
		}
		t = p, p = pn, pn = t;
	}
	if (n >= 2) {
		d[n - 2] = a[(size_t)(n - 2) * n + n - 2];
		e[n - 2] = a[(size_t)(n - 1) * n + n - 2];
	}
	d[n - 1] = a[(size_t)(n - 1) * n + n - 1];
}

/* The number of eigenvalues of T (d, e2 = e squared) below x. */
static int sturm(const double *d, const double *e2, int n, double x, double pivmin)
{
	double q = d[0] - x;
	int c = 0;

	if (fabs(q) < pivmin)
		q = -pivmin;
	c += q < 0;
	for (int i = 1; i < n; i++) {
		q = d[i] - x - e2[i - 1] / q;
		if (fabs(q) < pivmin)
			q = -pivmin;
		c += q < 0;
	}
	return c;
}

/*
 * One solve of (T - lam I) x = b, by Gaussian elimination with partial
 * pivoting (the factors have three diagonals); x overwrites b.  A zero
 * pivot becomes tiny: lam is an eigenvalue to working precision, and the
 * large solution that gives is the point of inverse iteration.
 */
static void tsolve(const double *d, const double *e, int n, double lam, double tiny,
	double *b, double *u0, double *u1, double *u2, double *ml, unsigned char *sw)
{
	double p = d[0] - lam, q = n > 1 ? e[0] : 0;

	for (int i = 0; i + 1 < n; i++) {
		double sub = e[i], nd = d[i + 1] - lam, ns = i + 2 < n ? e[i + 1] : 0, m;

		if (fabs(p) >= fabs(sub)) {
			if (p == 0)
				p = tiny;
			m = sub / p;
			u0[i] = p, u1[i] = q, u2[i] = 0;
			sw[i] = 0;
			p = nd - m * q;
			q = ns;
		} else {
			m = p / sub;
			u0[i] = sub, u1[i] = nd, u2[i] = ns;
			sw[i] = 1;
			p = q - m * nd;
			q = -m * ns;
		}
		ml[i] = m;
	}
	u0[n - 1] = fabs(p) < tiny ? (p < 0 ? -tiny : tiny) : p;
	for (int i = 0; i + 1 < n; i++) {
		if (sw[i]) {
			double t = b[i];

			b[i] = b[i + 1];
			b[i + 1] = t - ml[i] * b[i];
		} else {
			b[i + 1] -= ml[i] * b[i];
		}
	}
	for (int i = n - 1; i >= 0; i--) {
		double s = b[i];

		if (i + 1 < n)
			s -= u1[i] * b[i + 1];
		if (i + 2 < n)
			s -= u2[i] * b[i + 2];
		b[i] = s / (fabs(u0[i]) < tiny ? (u0[i] < 0 ? -tiny : tiny) : u0[i]);
	}
}

static void normalise(double *x, int n)
{
	double s = sqrt(dot(x, x, n));

	if (s > 0)
		for (int i = 0; i < n; i++)
			x[i] /= s;
}

int feat_eigh_top(double *a, int n, int k, double *w, double *v)
{
	double *d, *e, *e2, *beta, *work, *z, *u0, *u1, *u2, *ml, *lam;
	unsigned char *sw;
	double tnorm = 0, gl, gu, pivmin, eps = 2.220446049250313e-16, maxe2 = 1, amax = 0;
	int scale = 0;
	uint64_t seed = 0x5eed;

	if (!a || !w || !v || n < 1 || k < 1 || k > n)
		return FEAT_E_INVAL;
	d = malloc(sizeof(double) * ((size_t)n * 9 + (size_t)k * n + k));
	sw = malloc((size_t)n);
	if (!d || !sw) {
		free(d);
		free(sw);
		return FEAT_E_NOMEM;
	}
	e = d + n, e2 = e + n, beta = e2 + n, work = beta + n, u0 = work + n, u1 = u0 + n,
	u2 = u1 + n, ml = u2 + n, lam = ml + n, z = lam + k;
	/* scaled by a power of two to largest magnitude about 1 (exact, and
	 * undone on w at the end), so that the bounds, tolerances and
	 * pivots below need not care how small or large a is */
	for (int i = 0; i < n; i++)
		for (int j = 0; j <= i; j++) {
			double x = fabs(a[(size_t)i * n + j]);

			/* (not fmax, which passes NaN over) */
			amax = x > amax || x != x ? x : amax;
		}
	if (!isfinite(amax)) {
		free(d);
		free(sw);
		return FEAT_E_INVAL;
	}
	if (amax > 0) {
		scale = -ilogb(amax);
		for (int i = 0; i < n; i++)
			for (int j = 0; j <= i; j++)
				a[(size_t)i * n + j] = ldexp(a[(size_t)i * n + j], scale);
	}
	tridiag(a, n, d, e, beta, work, u0, u1);
	/* Gershgorin bounds of T */
	gl = d[0], gu = d[0];
	for (int i = 0; i < n; i++) {
		double r = (i ? fabs(e[i - 1]) : 0) + (i + 1 < n ? fabs(e[i]) : 0);

		gl = fmin(gl, d[i] - r);
		gu = fmax(gu, d[i] + r);
		if (i + 1 < n) {
			e2[i] = e[i] * e[i];
			maxe2 = fmax(maxe2, e2[i]);
		}
	}
	tnorm = fmax(fabs(gl), fabs(gu));
	if (tnorm == 0)
		tnorm = 1;
	gl -= 2 * eps * tnorm * n + 1e-300;
	gu += 2 * eps * tnorm * n + 1e-300;
	pivmin = 1e-290 * maxe2;
	/* eigenvalue n-1-j (ascending) is w[j] */
	for (int j = 0; j < k; j++) {
		int idx = n - 1 - j;
		double lo = gl, hi = gu;

		for (int it = 0; it < 200; it++) {
			double mid = 0.5 * (lo + hi);

			if (hi - lo <= 2 * eps * fmax(fabs(lo), fabs(hi)) + 4 * 1e-300 ||
			    mid <= lo || mid >= hi)
				break;
			if (sturm(d, e2, n, mid, pivmin) > idx)
				hi = mid;
			else
				lo = mid;
		}
		w[j] = 0.5 * (lo + hi);
	}
	/* inverse iteration, largest first */
	for (int j = 0; j < k; j++) {
		double *x = z + (size_t)j * n, sep = 10 * eps * tnorm, ortol = 1e-3 * tnorm;
		int first = j;

		lam[j] = w[j];
		if (j && lam[j - 1] - lam[j] < sep)
			lam[j] = lam[j - 1] - sep;
		while (first > 0 && w[first - 1] - w[j] <= ortol)
			first--;
		for (int i = 0; i < n; i++)
			x[i] = 2 * unif(&seed) - 1;
		for (int it = 0; it < 5; it++) {
			normalise(x, n);
			tsolve(d, e, n, lam[j], eps * tnorm, x, u0, u1, u2, ml, sw);
			normalise(x, n);
			/* twice: the solve makes the cluster's earlier vectors
			 * huge in x, and one pass leaves rounding of that size */
			for (int pass = 0; pass < 2; pass++)
				for (int p = first; p < j; p++) {
					const double *y = z + (size_t)p * n;
					double c = dot(x, y, n);

					for (int i = 0; i < n; i++)
						x[i] -= c * y[i];
				}
		}
		normalise(x, n);
	}
	/* then (the clusters are made orthogonal in T's basis) each x =
	 * H_0 (H_1 (... H_{n-3} x)) */
	for (int j = 0; j < k; j++) {
		double *x = z + (size_t)j * n;

		for (int r = n - 3; r >= 0; r--) {
			const double *u = a + (size_t)r * n + r + 1;
			double c;

			if (beta[r] == 0)
				continue;
			c = beta[r] * dot(u, x + r + 1, n - r - 1);
			for (int i = 0; i < n - r - 1; i++)
				x[r + 1 + i] -= c * u[i];
		}
		/* the sign of an eigenvector is free: make its largest element
		 * positive, so that a fit does not turn on rounding (ITQ's
		 * start is a rotation of these directions) */
		{
			int big = 0;

			for (int i = 1; i < n; i++)
				if (fabs(x[i]) > fabs(x[big]))
					big = i;
			for (int i = 0; i < n; i++)
				v[(size_t)i * k + j] = x[big] < 0 ? -x[i] : x[i];
		}
	}
	for (int j = 0; j < k; j++)
		w[j] = ldexp(w[j], -scale);
	free(d);
	free(sw);
	return 0;
}

/*
 * Modified Gram-Schmidt over the columns of r (k x k), twice; a column
 * that has (almost) nothing left is replaced by the first unit vector
 * that does, so r always leaves orthogonal.  col: k doubles of work.
 */
static void orthonormalise(double *r, int k, double *col)
{
	for (int j = 0; j < k; j++) {
		double before, after;
		int unit = -1;

		for (int i = 0; i < k; i++)
			col[i] = r[(size_t)i * k + j];
		before = sqrt(dot(col, col, k));
		for (;;) {
			for (int pass = 0; pass < 2; pass++)
				for (int p = 0; p < j; p++) {
					double c = 0;

					for (int i = 0; i < k; i++)
						c += col[i] * r[(size_t)i * k + p];
					for (int i = 0; i < k; i++)
						col[i] -= c * r[(size_t)i * k + p];
				}
			after = sqrt(dot(col, col, k));
			if (after > 1e-8 * before && after > 0)
				break;
			/* a degenerate column: try the next unit vector */
			FEAT_ASSERT(unit + 1 < k);
			unit++;
			for (int i = 0; i < k; i++)
				col[i] = i == unit;
			before = 1;
		}
		for (int i = 0; i < k; i++)
			r[(size_t)i * k + j] = col[i] / after;
	}
}

int feat_polar(const double *m, int k, double *r)
{
	size_t kk = (size_t)k * k;
	double *s = malloc(sizeof(double) * (3 * kk + (size_t)k)), *wv, *u, *w;
	int e;

	if (!s)
		return FEAT_E_NOMEM;
	wv = s + kk, u = wv + kk, w = u + kk;
	/* s = m^T m = W diag(w) W^T, so m = U diag(sqrt w) W^T with the
	 * columns of U = m W diag(w^-1/2); r = U W^T */
	for (int i = 0; i < k; i++)
		for (int j = 0; j <= i; j++) {
			double c = 0;

			for (int p = 0; p < k; p++)
				c += m[(size_t)p * k + i] * m[(size_t)p * k + j];
			s[(size_t)i * k + j] = c;
		}
	if ((e = feat_eigh_top(s, k, k, w, wv))) {
		free(s);
		return e;
	}
	for (int j = 0; j < k; j++) {
		/* a direction m does not fix (w tiny: m singular) gets a zero
		 * column, which orthonormalise completes; the columns come in
		 * descending w, so those are the last */
		double f = w[j] > w[0] * 1e-20 && w[j] > 0 ? 1 / sqrt(w[j]) : 0;

		for (int i = 0; i < k; i++) {
			double c = 0;

			for (int p = 0; p < k; p++)
				c += m[(size_t)i * k + p] * wv[(size_t)p * k + j];
			u[(size_t)i * k + j] = c * f;
		}
	}
	orthonormalise(u, k, w);
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++) {
			double c = 0;

			for (int p = 0; p < k; p++)
				c += u[(size_t)i * k + p] * wv[(size_t)j * k + p];
			r[(size_t)i * k + j] = c;
		}
	free(s);
	return 0;
}

int feat_random_rotation(int k, uint64_t seed, double *r)
{
	double *col = malloc(sizeof(double) * (size_t)k);
	uint64_t s = seed;

	if (!col)
		return FEAT_E_NOMEM;
	for (size_t i = 0; i < (size_t)k * k; i += 2) {
		double u = unif(&s), v = unif(&s), rad = sqrt(-2 * log(u));

		r[i] = rad * cos(2 * M_PI * v);
		if (i + 1 < (size_t)k * k)
			r[i + 1] = rad * sin(2 * M_PI * v);
	}
	orthonormalise(r, k, col);
	free(col);
	return 0;
}

int feat_itq(const float *v, size_t n, int k, int iters, double *r, double *loss)
{
	size_t nk = n * (size_t)k, kk = (size_t)k * k;
	float *z, *b, *mf, *rf;
	double *md;
	int e = 0;

	if (!v || !r || n < 1 || n > INT32_MAX || k < 1 || iters < 0)
		return FEAT_E_INVAL;
	z = malloc(sizeof(float) * (2 * nk + 2 * kk));
	md = malloc(sizeof(double) * kk);
	if (!z || !md) {
		free(z);
		free(md);
		return FEAT_E_NOMEM;
	}
	b = z + nk, mf = b + nk, rf = mf + kk;
	for (int t = 0;; t++) {
		double l = 0;

		for (size_t i = 0; i < kk; i++)
			rf[i] = (float)r[i];
		if ((e = feat_sgemm(0, 0, (int)n, k, k, 1, v, k, rf, k, 0, z, k)))
			break;
		for (size_t i = 0; i < nk; i++) {
			double q;

			b[i] = z[i] > 0 ? 1.0f : -1.0f;
			q = (double)b[i] - z[i];
			l += q * q;
		}
		if (loss)
			loss[t] = l / (double)n;
		if (t == iters)
			break;
		if ((e = feat_sgemm(1, 0, k, k, (int)n, 1, v, k, b, k, 0, mf, k)))
			break;
		for (size_t i = 0; i < kk; i++)
			md[i] = mf[i];
		if ((e = feat_polar(md, k, r)))
			break;
	}
	free(z);
	free(md);
	return e;
}

int feat_itq_fit(float *x, size_t n, int d, int k, int iters, uint64_t seed,
	struct feat_itq_fit *out)
{
	enum { CHUNK = 1024 };
	size_t dd = (size_t)d * d;
	double *c = NULL, *p = NULL, *r = NULL, trace = 0, t0;
	float *tmp = NULL, *pf = NULL, *v = NULL;
	int e = FEAT_E_NOMEM;

	if (!x || !out || d < 1 || k < 1 || k > d || (size_t)k >= n || n > INT32_MAX)
		return FEAT_E_INVAL;
	t0 = now();
	memset(out->mean, 0, sizeof(double) * (size_t)d);
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			out->mean[j] += x[i * d + j];
	for (int j = 0; j < d; j++)
		out->mean[j] /= (double)n;
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			x[i * d + j] = (float)(x[i * d + j] - out->mean[j]);
	c = calloc(dd, sizeof *c);
	tmp = malloc(sizeof(float) * dd);
	p = malloc(sizeof(double) * (size_t)d * k);
	r = malloc(sizeof(double) * (size_t)k * k);
	pf = malloc(sizeof(float) * (size_t)d * k);
	v = malloc(sizeof(float) * n * (size_t)k);
	if (!c || !tmp || !p || !r || !pf || !v)
		goto done;
	/* the covariance in double, from single-precision products of
	 * CHUNK rows at a time (the float sums stay short) */
	for (size_t r0 = 0; r0 < n; r0 += CHUNK) {
		int rows = (int)(n - r0 < CHUNK ? n - r0 : CHUNK);

		if ((e = feat_sgemm(1, 0, d, d, rows, 1, x + r0 * d, d, x + r0 * d, d, 0, tmp, d)))
			goto done;
		for (size_t i = 0; i < dd; i++)
			c[i] += tmp[i];
	}
	for (size_t i = 0; i < dd; i++)
		c[i] /= (double)n;
	for (int j = 0; j < d; j++)
		trace += c[(size_t)j * d + j];
	free(tmp);
	tmp = NULL;
	out->seconds[0] = now() - t0;
	t0 = now();
	if ((e = feat_eigh_top(c, d, k, out->eig, p)))
		goto done;
	out->variance = 0;
	for (int j = 0; j < k; j++)
		out->variance += out->eig[j];
	out->variance = trace > 0 ? out->variance / trace : 0;
	out->trace = trace;
	out->seconds[1] = now() - t0;
	t0 = now();
	for (size_t i = 0; i < (size_t)d * k; i++)
		pf[i] = (float)p[i];
	if ((e = feat_sgemm(0, 0, (int)n, k, d, 1, x, d, pf, k, 0, v, k)) ||
	    (e = feat_random_rotation(k, seed, r)) ||
	    (e = feat_itq(v, n, k, iters, r, out->loss)))
		goto done;
	/* proj = P R */
	for (int i = 0; i < d; i++)
		for (int j = 0; j < k; j++) {
			double s = 0;

			for (int q = 0; q < k; q++)
				s += p[(size_t)i * k + q] * r[(size_t)q * k + j];
			out->proj[(size_t)i * k + j] = s;
		}
	/* the projections (v R) are uncorrelated combinations of v's
	 * columns, whose variances are eig */
	for (int j = 0; out->zstd && j < k; j++) {
		double s = 0;

		for (int q = 0; q < k; q++)
			s += out->eig[q] * r[(size_t)q * k + j] * r[(size_t)q * k + j];
		out->zstd[j] = s > 0 ? sqrt(s) : 0;
	}
	out->seconds[2] = now() - t0;
done:
	free(c);
	free(tmp);
	free(p);
	free(r);
	free(pf);
	free(v);
	return e;
}
