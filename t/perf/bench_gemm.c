/*
 * bench_gemm.c - GFLOP/s of the GEMM paths on the shapes convolutions
 * produce (C = W * im2col(x): M = output channels, N = H*W, K = Cin*kh*kw)
 * in VGG16 at 224x224, SSD300's VGG base and MobileNet's pointwise layers,
 * and of the inner products (M = 4096, N = batch).  featkit's AVX-512 path
 * and OpenBLAS run on the same buffers in the same process; the reference
 * twin only where it finishes quickly.
 *
 *   bench_gemm [-r REPS] [-q] [-f FILTER]
 *
 * Run it pinned to one core (taskset -c 1) with OPENBLAS_NUM_THREADS=1
 * (blas.c makes that the default).  Each figure is the best of REPS runs.
 * FEAT_BENCH_BLOCKS=mc,kc,nc retunes the AVX-512 cache blocks.
 *
 * Where the CPU has AVX512_BF16, two more columns: the bf16 panel product
 * (kern/bf16.h) on the same shape, called as a bf16 convolution layer
 * calls it (A packed once; B in groups of pre-packed 32-column panels of
 * about 512 KB, 1 to 8; the packing not timed), or the bf16 GEMV for N = 1, in
 * GFLOP/s and as a share of the measured bf16 peak.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feat.h"
#include "base/internal.h"
#include "kern/bf16.h"
#include "kern/kern.h"

/* %peak is against this core's zmm FMA peak, measured at start-up
 * (the table's peak); 115 GFLOP/s, the figure the reference machine
 * was sold with, where AVX-512 is missing. */
static double PEAK = 115.0;

struct shape {
	const char *name;
	int M, N, K;
	int tb;              /* B stored N x K (an inner product's weights) */
};

static const struct shape shapes[] = {
	{ "vgg224 conv1_1", 64, 50176, 27, 0 },
	{ "vgg224 conv1_2", 64, 50176, 576, 0 },
	{ "vgg224 conv2_1", 128, 12544, 576, 0 },
	{ "vgg224 conv2_2", 128, 12544, 1152, 0 },
	{ "vgg224 conv3_1", 256, 3136, 1152, 0 },
	{ "vgg224 conv3_2", 256, 3136, 2304, 0 },
	{ "vgg224 conv4_1", 512, 784, 2304, 0 },
	{ "vgg224 conv4_2", 512, 784, 4608, 0 },
	{ "vgg224 conv5_x", 512, 196, 4608, 0 },
	{ "ssd300 conv1_2", 64, 90000, 576, 0 },
	{ "ssd300 conv3_2", 256, 5625, 2304, 0 },
	{ "ssd300 conv4_3", 512, 1444, 4608, 0 },
	{ "ssd300 conv5_x", 512, 361, 4608, 0 },
	{ "ssd300 fc7 1x1", 1024, 361, 1024, 0 },
	{ "ssd300 conv6_2", 512, 100, 2304, 0 },
	{ "ssd300 conv8_2", 256, 25, 1152, 0 },
	{ "ssd300 conv9_2", 256, 9, 1152, 0 },
	{ "ssd300 loc 3x3", 16, 1444, 4608, 0 },
	{ "mbnet pw 112", 128, 12544, 64, 0 },
	{ "mbnet pw 28", 256, 784, 256, 0 },
	{ "mbnet pw 7", 1024, 49, 1024, 0 },
	{ "mbssd pw 150", 64, 22500, 32, 0 },
	{ "mbssd pw 75", 128, 5625, 128, 0 },
	{ "mbssd pw 38", 256, 1444, 256, 0 },
	{ "mbssd pw 19", 512, 361, 512, 0 },
	{ "mbssd pw 19b", 1024, 361, 512, 0 },
	{ "mbssd pw 10", 1024, 100, 1024, 0 },
	{ "mbssd conv1", 32, 22500, 27, 0 },
	{ "fc6 batch 1", 4096, 1, 25088, 0 },
	{ "fc6 batch 8", 4096, 8, 25088, 0 },
	{ "fc7 batch 1", 4096, 1, 4096, 0 },
	{ "fc7 batch 8", 4096, 8, 4096, 0 },
	{ "fc8 batch 1", 1000, 1, 4096, 0 },
	{ "square 1024", 1024, 1024, 1024, 0 },
	{ "vit qkv b1", 197, 2304, 768, 1 },
	{ "vit mlp1 b1", 197, 3072, 768, 1 },
	{ "vit mlp2 b1", 197, 768, 3072, 1 },
	{ "vit qkv b8", 1576, 2304, 768, 1 },
	{ "vit mlp1 b8", 1576, 3072, 768, 1 },
	{ "vit mlp2 b8", 1576, 768, 3072, 1 },
	{ "vit q.k", 197, 197, 64, 1 },
	{ "vit a.v", 197, 64, 197, 0 },
	{ "odd 257x333x129", 257, 333, 129, 0 },
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Best GFLOP/s of reps runs of path k; -1 on error. */
static double run(const struct feat_kern *k, struct feat_sgemm_args *g, int reps)
{
	double flops = 2.0 * g->M * g->N * g->K, best = 1e30;

	for (int r = 0; r < reps; r++) {
		double t0 = now();

		if (feat_kern_sgemm(k, g) != 0)
			return -1;
		t0 = now() - t0;
		if (t0 < best)
			best = t0;
	}
	return flops / best * 1e-9;
}

/* Best GFLOP/s of the bf16 product of path k on M x N x K (see the top). */
static double run_bf16(const struct feat_kern *k, const float *A, const float *B, int M, int N,
	int K, float *C, int reps)
{
	int K2 = (K + 1) / 2 * 2, np = (N + FEAT_B_NR - 1) / FEAT_B_NR;
	int nb = (int)(((size_t)1 << 19) / ((size_t)K2 * FEAT_B_NR * 2));
	uint16_t *ap = feat_aligned_alloc(2 * feat_bpack_a_elems(M, K2));
	uint16_t *bp = feat_aligned_alloc(2 * (size_t)K2 * FEAT_B_NR * np);
	double best = 1e30;

	nb = nb < 1 ? 1 : nb > 8 ? 8 : nb;
	if (!ap || !bp) {
		free(ap);
		free(bp);
		return -1;
	}
	feat_bpack_a(ap, A, (size_t)K, M, K);
	memset(bp, 0, 2 * (size_t)K2 * FEAT_B_NR * np);
	for (int kk = 0; kk < K; kk++)
		for (int j = 0; j < N; j++)
			bp[(size_t)(j / FEAT_B_NR) * K2 * FEAT_B_NR +
			   ((size_t)(kk / 2) * FEAT_B_NR + j % FEAT_B_NR) * 2 + kk % 2] =
				feat_bf16_round(B[(size_t)kk * N + j]);
	for (int r = 0; r < reps; r++) {
		double t0 = now();

		if (N == 1) {
			struct feat_bgemv_args g = {
				.m0 = 0, .m1 = M, .ldw = (size_t)K2, .w = ap, .x = bp, .y = C,
			};

			/* (the rows of packed A are not the GEMV's layout: the
			 * same bytes, read as the GEMV reads its weights) */
			if ((size_t)K2 % 32 == 0)
				k->bgemv(&g);
			else
				best = 0;
		} else {
			for (int p = 0; p < np; p += nb) {
				int n = N - p * FEAT_B_NR < nb * FEAT_B_NR ? N - p * FEAT_B_NR :
					nb * FEAT_B_NR;
				struct feat_bgemm_args g = {
					.M = M, .K = K2, .n = n, .ap = ap,
					.bp = bp + (size_t)p * K2 * FEAT_B_NR, .C = C + p * FEAT_B_NR,
					.ldc = (size_t)N,
				};

				k->bgemm(&g);
			}
		}
		t0 = now() - t0;
		if (t0 < best)
			best = t0;
	}
	free(ap);
	free(bp);
	return best > 0 ? 2.0 * M * N * K / best * 1e-9 : -1;
}

static void fill(float *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (float)((seed >> 9) & 0xffff) / 65536.0f - 0.5f;
	}
}

int main(int argc, char **argv)
{
	int reps = 5, quick = 0;
	double bpeak = 0;
	const char *filter = NULL, *blk = getenv("FEAT_BENCH_BLOCKS");
	const struct feat_kern *avx = feat_kern_get(FEAT_KERN_AVX512);
	const struct feat_kern *ref = feat_kern_get(FEAT_KERN_REF);
	const struct feat_kern *blas = feat_kern_get(FEAT_KERN_BLAS);
	struct feat_kern_blocks *bs = avx->blocks;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (strcmp(argv[i], "-q") == 0)
			quick = 1;
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			filter = argv[++i];
		else {
			fprintf(stderr, "usage: bench_gemm [-r REPS] [-q] [-f FILTER]\n");
			return 2;
		}
	}
	if (reps < 1)
		reps = 1;
	if (!bs) {
		fprintf(stderr, "bench_gemm: this build has no x86 kernels (KERN_X86=0)\n");
		return 0;
	}
	if (blk && sscanf(blk, "%d,%d,%d", &bs->mc,
			&bs->kc, &bs->nc) != 3) {
		fprintf(stderr, "bench_gemm: FEAT_BENCH_BLOCKS wants mc,kc,nc\n");
		return 2;
	}
	if (!avx->supported()) {
		fprintf(stderr, "bench_gemm: this CPU has no AVX-512; only blas and ref run\n");
		avx = NULL;
	}
	if (avx)
		PEAK = avx->peak();
	if (avx && avx->bgemm && avx->bpeak)
		bpeak = avx->bpeak();
	printf("# featkit sgemm, one thread, best of %d; microkernel %dx%d, "
		"mc=%d kc=%d nc=%d; peak %.0f GFLOP/s\n", reps,
		bs->mr, bs->nr,
		bs->mc, bs->kc,
		bs->nc, PEAK);
	if (bpeak > 0)
		printf("# bf16 (vdpbf16ps) peak %.0f GFLOP/s\n", bpeak);
	printf("%-16s %5s %6s %5s  %8s %8s %8s  %6s %6s%s\n", "shape", "M", "N", "K",
		"avx512", "ref", "openblas", "ratio", "%peak", bpeak > 0 ? "     bf16 %bpeak" : "");
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		const struct shape *sh = &shapes[s];
		size_t na = (size_t)sh->M * sh->K, nb = (size_t)sh->K * sh->N;
		size_t nc = (size_t)sh->M * sh->N;
		double flops = 2.0 * sh->M * sh->N * sh->K, ga = 0, gr = -1, gb;
		float *A, *B, *C;

		if (filter && !strstr(sh->name, filter))
			continue;
		if (quick && flops > 4e9)
			continue;
		A = feat_aligned_alloc(na * sizeof(float));
		B = feat_aligned_alloc(nb * sizeof(float));
		C = feat_aligned_alloc(nc * sizeof(float));
		if (!A || !B || !C) {
			fprintf(stderr, "bench_gemm: out of memory for %s\n", sh->name);
			return 1;
		}
		fill(A, na, 1);
		fill(B, nb, 2);
		memset(C, 0, nc * sizeof(float));

		struct feat_sgemm_args g = {
			.M = sh->M, .N = sh->N, .K = sh->K, .alpha = 1.0f,
			.A = A, .lda = sh->K, .B = B, .ldb = sh->tb ? sh->K : sh->N,
			.transB = sh->tb,
			.beta = 0.0f, .C = C, .ldc = sh->N,
		};
		/* Interleave the paths so that noise from the other core hits
		 * both alike. */
		gb = 0;
		for (int round = 0; round < 2; round++) {
			double x;

			if (avx && (x = run(avx, &g, (reps + 1) / 2)) > ga)
				ga = x;
			if ((x = run(blas, &g, (reps + 1) / 2)) > gb)
				gb = x;
		}
		if (flops <= 2e8)
			gr = run(ref, &g, 1);
		printf("%-16s %5d %6d %5d  %8.1f ", sh->name, sh->M, sh->N, sh->K, ga);
		if (gr > 0)
			printf("%8.2f ", gr);
		else
			printf("%8s ", "-");
		printf("%8.1f  %6.2f %5.0f%%", gb, gb > 0 ? ga / gb : 0, 100 * ga / PEAK);
		if (bpeak > 0) {
			double g16 = run_bf16(avx, A, B, sh->M, sh->N, sh->K, C, reps);

			if (g16 > 0)
				printf(" %8.1f %5.0f%%", g16, 100 * g16 / bpeak);
			else
				printf(" %8s %6s", "-", "-");
		}
		putchar('\n');
		fflush(stdout);
		free(A);
		free(B);
		free(C);
	}
	return 0;
}
