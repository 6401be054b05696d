/*
 * popcount.c - the portable Hamming-distance kernels and the choice of
 * path (see popcount.h).
 *
 * The plain C loops are built twice: once for baseline x86-64 (where
 * __builtin_popcountll is a library call) and once with the POPCNT
 * instruction, picked at run time like feat_hamming() does.  Both are
 * "ref": the oracle the AVX-512 path is held against.
 */
#include <pthread.h>

#include "base/internal.h"
#include "kern/kern.h"
#include "kern/popcount.h"

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

#define DIST_BODY(p) \
	unsigned d = 0; \
	for (unsigned w = 0; w < words; w++) \
		d += (unsigned)__builtin_popcountll(load64((p) + 8 * w) ^ q[w]);

#define FILTER_BODY \
	size_t k = 0; \
	for (size_t i = 0; i < n; i++) { \
		const uint8_t *p = codes + (size_t)ids[i] * stride; \
		DIST_BODY(p) \
		if (d <= r) { \
			out[k] = ids[i]; \
			dist[k++] = d; \
		} \
	} \
	return k;

#define SCAN_BODY \
	size_t k = 0; \
	const uint8_t *p = codes + (size_t)first * stride; \
	for (size_t i = 0; i < n; i++, p += stride) { \
		DIST_BODY(p) \
		if (d <= r) { \
			out[k] = first + (uint32_t)i; \
			dist[k++] = d; \
		} \
	} \
	return k;

static size_t filter_plain(const uint8_t *codes, size_t stride, unsigned words,
	const uint64_t *q, const uint32_t *ids, size_t n, unsigned r,
	uint32_t *out, uint32_t *dist)
{
	FILTER_BODY
}

static size_t scan_plain(const uint8_t *codes, size_t stride, unsigned words,
	const uint64_t *q, uint32_t first, size_t n, unsigned r,
	uint32_t *out, uint32_t *dist)
{
	SCAN_BODY
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_POPCNT_COPY 1
__attribute__((target("popcnt")))
static size_t filter_popcnt(const uint8_t *codes, size_t stride, unsigned words,
	const uint64_t *q, const uint32_t *ids, size_t n, unsigned r,
	uint32_t *out, uint32_t *dist)
{
	FILTER_BODY
}

__attribute__((target("popcnt")))
static size_t scan_popcnt(const uint8_t *codes, size_t stride, unsigned words,
	const uint64_t *q, uint32_t first, size_t n, unsigned r,
	uint32_t *out, uint32_t *dist)
{
	SCAN_BODY
}
#endif

size_t feat_pc_filter_ref(const uint8_t *codes, size_t stride, unsigned words,
	const uint64_t *q, const uint32_t *ids, size_t n, unsigned r,
	uint32_t *out, uint32_t *dist)
{
#ifdef HAVE_POPCNT_COPY
	if (__builtin_cpu_supports("popcnt"))
		return filter_popcnt(codes, stride, words, q, ids, n, r, out, dist);
#endif
	return filter_plain(codes, stride, words, q, ids, n, r, out, dist);
}

size_t feat_pc_scan_ref(const uint8_t *codes, size_t stride, unsigned words,
	const uint64_t *q, uint32_t first, size_t n, unsigned r,
	uint32_t *out, uint32_t *dist)
{
#ifdef HAVE_POPCNT_COPY
	if (__builtin_cpu_supports("popcnt"))
		return scan_popcnt(codes, stride, words, q, first, n, r, out, dist);
#endif
	return scan_plain(codes, stride, words, q, first, n, r, out, dist);
}

int feat_pc_cpu_avx512(void)
{
#if FEAT_KERN_X86
	/* the file is built with the AVX-512 path's flags, plus VPOPCNTDQ */
	return feat_kern_cpu_avx512() && __builtin_cpu_supports("avx512vpopcntdq");
#else
	return 0;
#endif
}

static struct feat_pc_path paths[2];
static const struct feat_pc_path *active;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The paths are the popcount kernels of the ref and avx512 tables. */
static int choose(const char *name)
{
	const struct feat_kern *ref = feat_kern_get(FEAT_KERN_REF);
	const struct feat_kern *avx = feat_kern_get(FEAT_KERN_AVX512);
	const struct feat_pc_path *want = NULL;

	paths[0] = (struct feat_pc_path){ "ref", ref->pc_filter, ref->pc_scan };
	paths[1] = (struct feat_pc_path){ "avx512", avx->pc_filter, avx->pc_scan };
	if (!name)
		name = getenv("FEAT_POPCOUNT");
	active = &paths[avx->pc_supported() ? 1 : 0];
	if (!name || !*name || !strcmp(name, "auto"))
		return 0;
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (!strcmp(paths[i].name, name))
			want = &paths[i];
	if (!want)
		return FEAT_E_INVAL;
	if (want == &paths[1] && !avx->pc_supported())
		return FEAT_E_NOTFOUND;
	active = want;
	return 0;
}
static void choose_once(void)
{
	(void)choose(NULL);
}

int feat_pc_select(const char *name)
{
	pthread_once(&once, choose_once);   /* a later first use must not undo this */
	return choose(name);
}

const struct feat_pc_path *feat_pc_active(void)
{
	pthread_once(&once, choose_once);
	return active;
}
