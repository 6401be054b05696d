/*
 * winograd.c - the portable half of the Winograd F(4x4, 3x3) convolution
 * (see winograd.h): the weight transform, the block driver shared by every
 * table, and the plain C phases (the reference twins of avx512/winograd.c,
 * and the path on CPUs without AVX-512).
 *
 * The matrices (interpolation points 0, 1, -1, 2, -2 and infinity):
 *
 *   B^T = | 4  0 -5  0  1  0 |   G = | 1/4     0     0 |   A^T = | 1 1  1 1  1 0 |
 *         | 0 -4 -4  1  1  0 |       | -1/6 -1/6  -1/6 |         | 0 1 -1 2 -2 0 |
 *         | 0  4 -4 -1  1  0 |       | -1/6  1/6  -1/6 |         | 0 1  1 4  4 0 |
 *         | 0 -2 -1  2  1  0 |       | 1/24 1/12   1/6 |         | 0 1 -1 8 -8 1 |
 *         | 0  2 -1 -2  1  0 |       | 1/24 -1/12  1/6 |
 *         | 0  4  0 -5  0  1 |       | 0       0     1 |
 *
 * B^T d B and A^T m A are applied as a 1-D transform over rows and then
 * over columns, written out (wino_in6 / wino_out4) rather than as matrix
 * products: 12 and 8 additions or FMAs per 6 values instead of 36 and 24.
 */
#include <stdatomic.h>
#include <string.h>

#include "base/threadpool.h"
#include "kern/act.h"
#include "kern/winograd.h"

static const double G[6][3] = {
	{ 1.0 / 4, 0, 0 },
	{ -1.0 / 6, -1.0 / 6, -1.0 / 6 },
	{ -1.0 / 6, 1.0 / 6, -1.0 / 6 },
	{ 1.0 / 24, 1.0 / 12, 1.0 / 6 },
	{ 1.0 / 24, -1.0 / 12, 1.0 / 6 },
	{ 0, 0, 1 },
};

void feat_wino_weights(const float *w, int cout, int cin, float *u)
{
	size_t plane = (size_t)cout * cin;

	for (int o = 0; o < cout; o++)
		for (int i = 0; i < cin; i++) {
			const float *g = w + ((size_t)o * cin + i) * 9;
			double t[6][3];

			for (int a = 0; a < 6; a++)
				for (int j = 0; j < 3; j++)
					t[a][j] = G[a][0] * g[j] + G[a][1] * g[3 + j] + G[a][2] * g[6 + j];
			for (int a = 0; a < 6; a++)
				for (int b = 0; b < 6; b++)
					u[(size_t)(a * 6 + b) * plane + (size_t)o * cin + i] =
						(float)(t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2]);
		}
}

size_t feat_wino_packed(int cout, int cin)
{
	return (size_t)FEAT_WINO_XI * ((cout + FEAT_WINO_MR - 1) / FEAT_WINO_MR) * FEAT_WINO_MR * cin;
}

void feat_wino_pack(const float *u, int cout, int cin, float *up)
{
	int np = (cout + FEAT_WINO_MR - 1) / FEAT_WINO_MR;

	for (int xi = 0; xi < FEAT_WINO_XI; xi++)
		for (int p = 0; p < np; p++)
			for (int i = 0; i < cin; i++)
				for (int r = 0; r < FEAT_WINO_MR; r++) {
					int o = p * FEAT_WINO_MR + r;

					*up++ = o < cout ? u[((size_t)xi * cout + o) * cin + i] : 0;
				}
}

int feat_wino_block(int cin, int cout, int hout, int wout)
{
	long tiles = (long)((hout + 3) / 4) * ((wout + 3) / 4);
	long t = (6L << 20) / 4 / (FEAT_WINO_XI * (long)(cin + cout));

	t = t / 32 * 32;
	if (t < 128)
		t = 128;
	if (t > 512)
		t = 512;
	tiles = (tiles + 31) / 32 * 32;
	return (int)(t < tiles ? t : tiles);
}

size_t feat_wino_work(int cin, int cout, int block)
{
	return FEAT_WINO_XI * (feat_wino_plane(cin, block) + feat_wino_plane(cout, block));
}

/* The 1-D input transform B^T d of six values. */
static void wino_in6(const float d[6], float t[6])
{
	t[0] = 4 * d[0] - 5 * d[2] + d[4];
	t[1] = (d[3] + d[4]) - 4 * (d[1] + d[2]);
	t[2] = (d[4] - d[3]) + 4 * (d[1] - d[2]);
	t[3] = (d[4] - d[2]) + 2 * (d[3] - d[1]);
	t[4] = (d[4] - d[2]) - 2 * (d[3] - d[1]);
	t[5] = 4 * d[1] - 5 * d[3] + d[5];
}

/* The 1-D output transform A^T m of six values. */
static void wino_out4(const float m[6], float o[4])
{
	float s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];

	o[0] = m[0] + s12 + s34;
	o[1] = d12 + 2 * d34;
	o[2] = s12 + 4 * s34;
	o[3] = d12 + 8 * d34 + m[5];
}

void feat_wino_input_ref(const struct feat_wino_args *a, int t0, int nt, float *v, int ldv)
{
	int ntx = (a->wout + 3) / 4;
	size_t plane = feat_wino_plane(a->cin, ldv);

	for (int k = 0; k < nt; k++) {
		int ty = (t0 + k) / ntx, tx = (t0 + k) % ntx;
		int y0 = ty * 4 - a->pt, x0 = tx * 4 - a->pl;

		for (int c = 0; c < a->cin; c++) {
			const float *xc = a->x + (size_t)c * a->hin * a->win;
			float d[6][6], r[6][6], col[6], t[6];

			for (int i = 0; i < 6; i++)
				for (int j = 0; j < 6; j++) {
					int iy = y0 + i, ix = x0 + j;

					d[i][j] = iy >= 0 && iy < a->hin && ix >= 0 && ix < a->win ?
						  xc[(size_t)iy * a->win + ix] : 0;
				}
			for (int i = 0; i < 6; i++)
				wino_in6(d[i], r[i]);
			for (int b = 0; b < 6; b++) {
				for (int i = 0; i < 6; i++)
					col[i] = r[i][b];
				wino_in6(col, t);
				for (int q = 0; q < 6; q++)
					v[(size_t)(q * 6 + b) * plane + (size_t)c * ldv + k] = t[q];
			}
		}
	}
}

void feat_wino_output_ref(const struct feat_wino_args *a, int t0, int nt, const float *m,
	int ldm)
{
	int ntx = (a->wout + 3) / 4;
	size_t plane = feat_wino_plane(a->cout, ldm);

	for (int k = 0; k < nt; k++) {
		int ty = (t0 + k) / ntx, tx = (t0 + k) % ntx;
		int oy = ty * 4, ox = tx * 4;

		for (int o = 0; o < a->cout; o++) {
			float *yo = a->y + (size_t)o * a->hout * a->wout;
			float r[6][4], row[6], col[6], out[4];

			for (int p = 0; p < 6; p++) {
				for (int q = 0; q < 6; q++)
					row[q] = m[(size_t)(p * 6 + q) * plane + (size_t)o * ldm + k];
				wino_out4(row, r[p]);
			}
			for (int j = 0; j < 4; j++) {
				if (ox + j >= a->wout)
					break;
				for (int p = 0; p < 6; p++)
					col[p] = r[p][j];
				wino_out4(col, out);
				for (int i = 0; i < 4 && oy + i < a->hout; i++)
					yo[(size_t)(oy + i) * a->wout + ox + j] =
						feat_act1(out[i] + a->bias[o], a->act, a->alpha);
			}
		}
	}
}

size_t feat_wino_u_floats_ref(int cout, int cin)
{
	return (size_t)FEAT_WINO_XI * cout * cin;
}

void feat_wino_u_pack_ref(const float *u, int cout, int cin, float *up)
{
	memcpy(up, u, feat_wino_u_floats_ref(cout, cin) * sizeof(float));
}

int feat_wino_gemm_ref(const struct feat_wino_args *a, int xi, const float *v, int ldv,
	float *m, int ldm, int nt)
{
	struct feat_sgemm_args g = {
		.M = a->cout, .N = nt, .K = a->cin, .alpha = 1, .beta = 0,
		.A = a->u + (size_t)xi * a->cout * a->cin, .lda = a->cin,
		.B = v, .ldb = ldv, .C = m, .ldc = ldm,
	};

	return feat_kern_sgemm(a->k, &g);
}

/* One block of the driver: tiles [t0, t0 + nt) and where V and M are. */
struct wino_block {
	const struct feat_wino_args *a;
	int t0, nt;
	float *v, *m;
	size_t pv, pm;
	atomic_int err;
};

/* Phases 1 and 3: groups [i0, i1) of 16 tiles of the block. */
static void wino_in_piece(void *arg, long i0, long i1, int worker)
{
	struct wino_block *B = arg;
	int g0 = (int)i0 * 16, g1 = (int)i1 * 16 < B->nt ? (int)i1 * 16 : B->nt;

	(void)worker;
	B->a->k->wino_input(B->a, B->t0 + g0, g1 - g0, B->v + g0, B->a->block);
}

static void wino_out_piece(void *arg, long i0, long i1, int worker)
{
	struct wino_block *B = arg;
	int g0 = (int)i0 * 16, g1 = (int)i1 * 16 < B->nt ? (int)i1 * 16 : B->nt;

	(void)worker;
	B->a->k->wino_output(B->a, B->t0 + g0, g1 - g0, B->m + g0, B->a->block);
}

/* Phase 2: the products of positions [i0, i1) of the 36. */
static void wino_gemm_piece(void *arg, long i0, long i1, int worker)
{
	struct wino_block *B = arg;
	int T = B->a->block;

	(void)worker;
	for (long xi = i0; xi < i1; xi++) {
		int e = B->a->k->wino_gemm(B->a, (int)xi, B->v + xi * B->pv, T,
					   B->m + xi * B->pm, T, B->nt);

		if (e)
			atomic_store(&B->err, e);
	}
}

/* Block by block: transform the input of T tiles, 36 GEMMs, transform the
 * output, each through a->k's table.  V and M live in work: V [36][cin][T],
 * M [36][cout][T]. */
int feat_wino_run(const struct feat_wino_args *a, struct feat_threadpool *pool, int threads)
{
	int tiles = ((a->hout + 3) / 4) * ((a->wout + 3) / 4), T = a->block;
	struct wino_block B = {
		.a = a, .pv = feat_wino_plane(a->cin, T), .pm = feat_wino_plane(a->cout, T),
	};
	long th = pool && threads > 1 ? threads : 1;

	B.v = a->work;
	B.m = a->work + FEAT_WINO_XI * B.pv;
	atomic_init(&B.err, 0);
	for (B.t0 = 0; B.t0 < tiles; B.t0 += T) {
		long groups;

		B.nt = tiles - B.t0 < T ? tiles - B.t0 : T;
		groups = (B.nt + 15) / 16;
		feat_threadpool_for(pool, groups, (groups + 2 * th - 1) / (2 * th), wino_in_piece, &B);
		feat_threadpool_for(pool, FEAT_WINO_XI, th > 1 ? 3 : FEAT_WINO_XI, wino_gemm_piece, &B);
		if (atomic_load(&B.err))
			return atomic_load(&B.err);
		feat_threadpool_for(pool, groups, (groups + 2 * th - 1) / (2 * th), wino_out_piece, &B);
	}
	return 0;
}
