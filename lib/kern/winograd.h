/*
 * winograd.h - Winograd F(4x4, 3x3) convolution for 3x3, stride 1,
 * dilation 1, ungrouped layers (nearly all of VGG16's work).
 *
 * Each 4x4 block of outputs (a tile) is computed from the 6x6 block of
 * input under it as Y = A^T [ (G g G^T) . (B^T d B) ] A: 36 products per
 * tile and channel pair instead of 144.  Over all channels, the 36
 * elementwise products become 36 GEMMs, one per position xi of the 6x6
 * transformed tile:
 *
 *     M[xi] (Cout x T) = U[xi] (Cout x Cin) * V[xi] (Cin x T)
 *
 * with T the tiles of one block.  U = G g G^T is computed once, at load
 * (feat_wino_weights); the input transform V and the output transform
 * (with bias and activation on store) run per block of tiles, so that V and
 * M stay a few MB however large the image is.  The portable twin runs the
 * GEMMs through the kernel layer (feat_kern_sgemm: ref or OpenBLAS); the
 * AVX-512 twin through its own 12x32 kernel over U packed at load
 * (feat_wino_gemm_avx512), 1.5-2x faster than the generic SGEMM here.
 *
 * Two twins of the transforms: portable C (winograd.c) and AVX-512
 * (avx512/winograd.c, 16 tiles per vector); the driver and the layouts are
 * shared, so tests hold one against the other and both against a direct
 * convolution.  F(4x4) rather than F(2x2): on VGG16 and SSD300 its error
 * stays under 1e-5 of each output's largest magnitude (the engine allows
 * 1e-4); F(6x6) was not tried (its transforms amplify rounding ~10x more).
 */
#ifndef FEAT_WINOGRAD_H
#define FEAT_WINOGRAD_H

#include <stddef.h>

#include "kern/kern.h"

#define FEAT_WINO_M 4       /* output tile edge */
#define FEAT_WINO_A 6       /* input tile edge: M + 3 - 1 */
#define FEAT_WINO_XI 36     /* positions of a transformed tile */

/* One image.  x [cin][hin][win]; y [cout][hout][wout] with hout = hin + pt
 * + pb - 2 (the caller's padding; rows past the input read as zero, so pb
 * and pr need not be passed); u from feat_wino_weights; act: 0 none,
 * 1 ReLU, 2 ReLU6, 3 leaky (alpha), applied after the bias.  block: tiles
 * per block, a multiple of 32 (feat_wino_block); work: feat_wino_work()
 * floats, 64-byte aligned.  k: the table whose phases run (and whose
 * GEMM the reference products use). */
struct feat_wino_args {
	const float *x;
	int cin, hin, win, pt, pl;
	float *y;
	int cout, hout, wout;
	/* U in the layout of k's table (its wino_u_pack of feat_wino_weights'
	 * U): u is what the reference phases read, up what the AVX-512 ones
	 * read; the executor sets both to the same pointer */
	const float *u, *bias;
	const float *up;
	int act;
	float alpha;
	int block;
	float *work;
	const struct feat_kern *k;
};

/* Floats from one of the 36 planes of V or M to the next: rows x ld plus
 * 64 bytes, so that the 36 stores (loads) of one tile do not all fall in
 * the same L1 set when rows x ld is a multiple of 4 KB (it often is: the
 * transforms ran 3x slower for it). */
static inline size_t feat_wino_plane(int rows, int ld)
{
	return (size_t)rows * ld + 16;
}

/* u [36][cout][cin] = G g G^T of w [cout][cin][3][3] (computed in double). */
void feat_wino_weights(const float *w, int cout, int cin, float *u);
/* The AVX-512 twin's products read U in panels of FEAT_WINO_MR output
 * channels: up [36][ceil(cout / MR)][cin][MR], rows past cout zero.  Made
 * once at load, so no GEMM repacks U per block (packing 1 MB of U per call
 * held the generic SGEMM to 50-110 GFLOP/s on the 512-channel layers). */
#define FEAT_WINO_MR 12
size_t feat_wino_packed(int cout, int cin);
void feat_wino_pack(const float *u, int cout, int cin, float *up);

/* Tiles per block for these channel counts and output size: a multiple of
 * 32, V and M of one block about 6 MB at most (but 128 tiles at least, so that
 * U is streamed from memory once per 128 tiles: 38x38 512-channel layers
 * ran 20 ms with blocks of 128, 24 ms with blocks of 64). */
int feat_wino_block(int cin, int cout, int hout, int wout);
/* Floats of workspace for a block: V and M. */
size_t feat_wino_work(int cin, int cout, int block);

/* The convolution of one image, block by block through the phases of
 * a->k's table (wino_input, wino_gemm, wino_output; a->u, a->up in that
 * table's layout of U, wino_u_floats / wino_u_pack).  With a pool (NULL:
 * on this thread) each phase of a block is spread over it, threads being
 * the number of its threads: the transforms in groups of 16 tiles (the
 * AVX-512 transforms' vector, so that no two threads write the same
 * columns of V or y), the 36 products by position; V and M stay a->work,
 * shared, and every value is computed exactly as on one thread.  Returns 0
 * or the GEMM path's error.  This is the one Winograd driver: the engine's
 * convolution (nn/layers.c) and the tests call it. */
struct feat_threadpool;
int feat_wino_run(const struct feat_wino_args *a, struct feat_threadpool *pool, int threads);

/* The transforms of tiles [t0, t0 + nt) (row-major tile order,
 * any nt, ld a multiple of 16 >= nt): V [36][cin][ldv] from x; y from
 * M [36][cout][ldm], planes feat_wino_plane() apart.  Column 0 of V and M is tile t0.
 * Exposed for the tests. */
void feat_wino_input_ref(const struct feat_wino_args *a, int t0, int nt, float *v, int ldv);
void feat_wino_output_ref(const struct feat_wino_args *a, int t0, int nt, const float *m,
	int ldm);
/* M[xi] = U[xi] V[xi] for one position xi: m [cout][ldm] from v
 * [cin][ldv], columns [0, nt), through feat_kern_sgemm on a->k over the
 * plain U a->u (the reference table's wino_gemm). */
int feat_wino_gemm_ref(const struct feat_wino_args *a, int xi, const float *v, int ldv,
	float *m, int ldm, int nt);
/* The reference table's layout of U: the plain one, copied. */
size_t feat_wino_u_floats_ref(int cout, int cin);
void feat_wino_u_pack_ref(const float *u, int cout, int cin, float *up);

#endif
