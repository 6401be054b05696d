/*
 * dispatch.c - the kernel tables (one per instruction set, built once from
 * the reference one) and which runs: chosen once, on first use, from cpuid
 * (avx512 when the CPU has AVX-512 F/BW/DQ/VL, else blas), unless the
 * environment variable FEAT_KERNEL names a path (ref, avx512, blas; "auto"
 * or empty means cpuid).  A FEAT_KERNEL that names no path, or a path this
 * CPU cannot run, is an error that feat_kernel_init() returns for the
 * program to report; the computation then goes on with the cpuid choice
 * rather than crashing on an illegal instruction.
 *
 * Also the public entry points: argument checks and the degenerate cases
 * live here, once, so that no path sees them.
 */
#include <pthread.h>

#include "base/internal.h"
#include "kern/kern.h"
#if FEAT_KERN_X86
#include <cpuid.h>
#endif

/*
 * Tests every feature AVX512_FLAGS in the Makefile lets the compiler use:
 * the ones named there and the ones they imply (make check-kern-flags
 * compares this list with the compiler's macros for those flags, GCC's and
 * clang's).  crc32 is the SSE4.2 bit of cpuid; xsave and f16c (which
 * clang's -mavx512f implies) are read from cpuid directly, as
 * __builtin_cpu_supports does not know them everywhere (the OS's saving of
 * the AVX-512 state, XCR0, is part of GCC's and clang's avx512f test).
 */
int feat_kern_cpu_avx512(void)
{
#if FEAT_KERN_X86
	unsigned a, b, c, d;

	__builtin_cpu_init();
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_XSAVE) || !(c & bit_F16C))
		return 0;
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vl") &&
	       __builtin_cpu_supports("avx2") &&
	       __builtin_cpu_supports("fma") &&
	       __builtin_cpu_supports("avx") &&
	       __builtin_cpu_supports("popcnt") &&
	       __builtin_cpu_supports("sse4.2") &&
	       __builtin_cpu_supports("sse4.1") &&
	       __builtin_cpu_supports("ssse3") &&
	       __builtin_cpu_supports("sse3");
#else
	return 0;
#endif
}

int feat_kern_cpu_vnni(void)
{
#if FEAT_KERN_X86
	return feat_kern_cpu_avx512() && __builtin_cpu_supports("avx512vnni");
#else
	return 0;
#endif
}

int feat_kern_cpu_bf16(void)
{
#if FEAT_KERN_X86
	return feat_kern_cpu_avx512() && __builtin_cpu_supports("avx512bf16");
#else
	return 0;
#endif
}

int feat_kern_cpu_zmm_half(void)
{
#if FEAT_KERN_X86
	unsigned a, b, c, d, fam;

	if (!feat_kern_cpu_avx512() || !__get_cpuid(0, &a, &b, &c, &d) ||
	    b != 0x68747541 || d != 0x69746e65 || c != 0x444d4163 ||   /* "AuthenticAMD" */
	    !__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	fam = (a >> 8) & 0xf;
	if (fam == 0xf)
		fam += (a >> 20) & 0xff;
	/* family 19h is Zen 3 and Zen 4; of these only Zen 4 has AVX-512 */
	return fam == 0x19;
#else
	return 0;
#endif
}

#if !FEAT_KERN_X86
static int never(void)
{
	return 0;
}
#endif

/* The tables, built once from the reference one. */
static struct feat_kern tables[FEAT_KERN_COUNT];
static pthread_once_t built = PTHREAD_ONCE_INIT;

static void build(void)
{
	static const char *const names[FEAT_KERN_COUNT] = {
		[FEAT_KERN_REF] = "ref", [FEAT_KERN_AVX512] = "avx512", [FEAT_KERN_BLAS] = "blas",
	};

	for (int i = 0; i < FEAT_KERN_COUNT; i++)
		tables[i] = feat_kern_ref_table;
	feat_kern_fill_blas(&tables[FEAT_KERN_BLAS]);
#if FEAT_KERN_X86
	feat_kern_fill_avx512(&tables[FEAT_KERN_AVX512]);
#else
	tables[FEAT_KERN_AVX512].desc = "AVX-512 (not in this build: no x86-64 kernels)";
	tables[FEAT_KERN_AVX512].supported = never;
	tables[FEAT_KERN_AVX512].pc_supported = never;
#endif
	/* OpenBLAS picks its own kernels for the core: its yardstick is the
	 * widest FMA this build measures there */
	if (tables[FEAT_KERN_AVX512].supported())
		tables[FEAT_KERN_BLAS].peak = tables[FEAT_KERN_AVX512].peak;
	for (int i = 0; i < FEAT_KERN_COUNT; i++) {
		tables[i].id = i;
		tables[i].name = names[i];
	}
}

const struct feat_kern *feat_kern_get(int id)
{
	if (id < 0 || id >= FEAT_KERN_COUNT)
		return NULL;
	pthread_once(&built, build);
	return &tables[id];
}

static const struct feat_kern *active;
static int active_err;
static char active_detail[160];
static pthread_once_t once = PTHREAD_ONCE_INIT;

const struct feat_kern *feat_kern_lookup(const char *name)
{
	for (int i = 0; i < FEAT_KERN_COUNT; i++)
		if (strcmp(feat_kern_get(i)->name, name) == 0)
			return feat_kern_get(i);
	return NULL;
}

static const struct feat_kern *by_cpuid(void)
{
	const struct feat_kern *avx = feat_kern_get(FEAT_KERN_AVX512);

	return avx->supported() ? avx : feat_kern_get(FEAT_KERN_BLAS);
}

/* Choose from name (NULL: $FEAT_KERNEL); on error keep the cpuid path. */
static int choose(const char *name)
{
	const struct feat_kern *k;

	if (!name)
		name = getenv("FEAT_KERNEL");
	active_detail[0] = '\0';
	active_err = 0;
	active = by_cpuid();
	if (!name || !*name || strcmp(name, "auto") == 0)
		return 0;
	k = feat_kern_lookup(name);
	if (!k) {
		feat_fmt(active_detail, sizeof active_detail,
			"FEAT_KERNEL=%.40s: no such kernel path (ref, avx512, blas or auto)",
			name);
		return active_err = FEAT_E_INVAL;
	}
	if (!k->supported()) {
		feat_fmt(active_detail, sizeof active_detail,
			"FEAT_KERNEL=%s: this CPU cannot run it (%s)", k->name,
			k->desc);
		return active_err = FEAT_E_NOTFOUND;
	}
	active = k;
	return 0;
}

static void init_once(void)
{
	choose(NULL);
}

int feat_kernel_init(void)
{
	pthread_once(&once, init_once);
	return active_err;
}

int feat_kernel_select(const char *name)
{
	pthread_once(&once, init_once);
	return choose(name);
}

const char *feat_kernel_name(void)
{
	return feat_kern_active()->name;
}

double feat_kernel_peak(void)
{
	return feat_kern_active()->peak();
}

int feat_kernel_has_int8(void)
{
	return feat_kern_active()->qgemm != NULL;
}

double feat_kernel_int8_peak(void)
{
	const struct feat_kern *k = feat_kern_active();

	return k->qgemm && k->qpeak ? k->qpeak() : 0;
}

int feat_kernel_has_bf16(void)
{
	return feat_kern_active()->bgemm != NULL;
}

double feat_kernel_bf16_peak(void)
{
	const struct feat_kern *k = feat_kern_active();

	return k->bgemm && k->bpeak ? k->bpeak() : 0;
}

const char *feat_kernel_detail(void)
{
	pthread_once(&once, init_once);
	return active_detail;
}

const struct feat_kern *feat_kern_active(void)
{
	pthread_once(&once, init_once);
	return active;
}

int feat_kern_sgemm(const struct feat_kern *k, const struct feat_sgemm_args *g)
{
	int M = g->M, N = g->N, K = g->K;
	int acols = g->transA ? M : K, bcols = g->transB ? K : N;

	if (M < 0 || N < 0 || K < 0)
		return FEAT_E_INVAL;
	if (g->ldc < (N > 1 ? N : 1) || g->lda < (acols > 1 ? acols : 1) ||
	    g->ldb < (bcols > 1 ? bcols : 1))
		return FEAT_E_INVAL;
	if (g->bias_kind != FEAT_BIAS_NONE && g->bias_kind != FEAT_BIAS_ROW &&
	    g->bias_kind != FEAT_BIAS_COL)
		return FEAT_E_INVAL;
	if (M == 0 || N == 0)
		return 0;
	if (!g->C || (g->bias_kind != FEAT_BIAS_NONE && !g->bias))
		return FEAT_E_INVAL;
	if (K == 0 || g->alpha == 0.0f) {
		feat_sgemm_scale_epilogue(g);
		return 0;
	}
	if (!g->A || !g->B)
		return FEAT_E_INVAL;
	if (!k)
		k = feat_kern_active();
	if ((g->apack && g->apack->k != k) || (g->bpack && g->bpack->k != k)) {
		/* packed for another path's GEMM: not this one's layout */
		struct feat_sgemm_args h = *g;

		if (h.apack && h.apack->k != k)
			h.apack = NULL;
		if (h.bpack && h.bpack->k != k)
			h.bpack = NULL;
		return k->sgemm(&h);
	}
	return k->sgemm(g);
}

int feat_kern_pack_a(const struct feat_kern *k, struct feat_sgemm_apack *ap,
	const float *A, int lda, int M, int K)
{
	int e;

	ap->p = NULL;
	ap->k = NULL;
	if (!k->sgemm_pack_a)
		return 0;
	if ((e = k->sgemm_pack_a(ap, A, lda, M, K)))
		return e;
	ap->k = k;
	return 0;
}

int feat_kern_pack_b(const struct feat_kern *k, struct feat_sgemm_apack *bp,
	const float *B, int ldb, int transB, int K, int N)
{
	int e;

	bp->p = NULL;
	bp->k = NULL;
	if (!k->sgemm_pack_b)
		return 0;
	if ((e = k->sgemm_pack_b(bp, B, ldb, transB, K, N)))
		return e;
	bp->k = k;
	return 0;
}

void feat_kern_workspace_free(void)
{
	for (int i = 0; i < FEAT_KERN_COUNT; i++) {
		const struct feat_kern *k = feat_kern_get(i);

		/* tables share the reference one's: free each kind once */
		if (i == FEAT_KERN_REF || k->workspace_free != feat_kern_ref_table.workspace_free)
			k->workspace_free();
	}
}

int feat_sgemm(int transA, int transB, int M, int N, int K, float alpha,
	const float *A, int lda, const float *B, int ldb, float beta,
	float *C, int ldc)
{
	struct feat_sgemm_args g = {
		.transA = !!transA, .transB = !!transB, .M = M, .N = N, .K = K,
		.alpha = alpha, .A = A, .lda = lda, .B = B, .ldb = ldb,
		.beta = beta, .C = C, .ldc = ldc,
	};

	return feat_kern_sgemm(NULL, &g);
}
