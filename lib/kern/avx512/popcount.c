/*
 * avx512/popcount.c - Hamming-distance kernels on AVX-512 VPOPCNTDQ.
 *
 * Plan: eight records a step, one per 64-bit lane.  Their byte offsets
 * (id * stride, in 64 bits so that no product overflows) sit in one zmm;
 * word w of the eight codes is one gather at base + 8w, XORed with the
 * query's word w broadcast, counted by VPOPCNTQ and summed per lane.  One
 * unsigned compare against r gives an 8-bit mask; the kept ids and
 * distances are compressed in registers and written with a masked store of
 * the first popcount(mask) lanes, so no branch depends on the data.  (Not
 * VPCOMPRESSD to memory: it is microcoded and slow on AMD Zen 4, and
 * clang 14 miscompiles _mm256_mask_compressstoreu_epi32 at -O1 and up:
 * ids and distances came out of step.)  The tail (n % 8 records) runs the same code under a lane mask:
 * masked-off lanes load nothing.
 *
 * Scans over consecutive records of stride 8 (the index's own code
 * array of 64-bit codes) load the eight codes as one vector instead of a
 * gather.
 *
 * This file is built with -mavx512f/bw/dq/vl; VPOPCNTDQ is asked for per
 * function, and popcount.c calls here only when cpuid reports it.
 */
#include <immintrin.h>
#include <string.h>

#include "kern/popcount.h"
#include "kern/avx512/avx512.h"

#define TARGET __attribute__((target("avx512vpopcntdq,avx512f,avx512dq,avx512vl")))

/* Distances of the eight codes at byte offsets off (lanes in m). */
TARGET static inline __m512i dist8(const uint8_t *codes, __m512i off,
	__mmask8 m, unsigned words, const uint64_t *q)
{
	__m512i acc = _mm512_setzero_si512();

	for (unsigned w = 0; w < words; w++) {
		__m512i c = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), m,
			off, (const void *)(codes + 8 * w), 1);

		c = _mm512_xor_si512(c, _mm512_set1_epi64((long long)q[w]));
		acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(c));
	}
	return acc;
}

TARGET static inline size_t keep8(__m512i d, __mmask8 m, unsigned r,
	__m256i ids, uint32_t *out, uint32_t *dist)
{
	__mmask8 k = _mm512_mask_cmple_epu64_mask(m, d, _mm512_set1_epi64(r));
	unsigned cnt = (unsigned)__builtin_popcount(k);
	__mmask8 head = (__mmask8)((1u << cnt) - 1);

	_mm256_mask_storeu_epi32(out, head, _mm256_maskz_compress_epi32(k, ids));
	_mm256_mask_storeu_epi32(dist, head,
		_mm256_maskz_compress_epi32(k, _mm512_cvtepi64_epi32(d)));
	return cnt;
}

TARGET size_t feat_pc_filter_avx512(const uint8_t *codes, size_t stride,
	unsigned words, const uint64_t *q, const uint32_t *ids, size_t n,
	unsigned r, uint32_t *out, uint32_t *dist)
{
	const __m512i vs = _mm512_set1_epi64((long long)stride);
	size_t k = 0;

	for (size_t i = 0; i < n; i += 8) {
		__mmask8 m = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1);
		__m256i id = _mm256_maskz_loadu_epi32(m, ids + i);
		__m512i off = _mm512_mullo_epi64(_mm512_cvtepu32_epi64(id), vs);

		k += keep8(dist8(codes, off, m, words, q), m, r, id, out + k, dist + k);
	}
	return k;
}

TARGET size_t feat_pc_scan_avx512(const uint8_t *codes, size_t stride,
	unsigned words, const uint64_t *q, uint32_t first, size_t n,
	unsigned r, uint32_t *out, uint32_t *dist)
{
	const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	size_t k = 0;

	if (stride == 8 && words == 1) {
		const uint64_t *c = (const uint64_t *)(const void *)codes + first;
		const __m512i vq = _mm512_set1_epi64((long long)q[0]);

		for (size_t i = 0; i < n; i += 8) {
			__mmask8 m = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1);
			__m512i x = _mm512_maskz_loadu_epi64(m, c + i);
			__m512i d = _mm512_popcnt_epi64(_mm512_xor_si512(x, vq));
			__m256i id = _mm256_add_epi32(
				_mm256_set1_epi32((int)(first + (uint32_t)i)), lane);

			k += keep8(d, m, r, id, out + k, dist + k);
		}
		return k;
	}
	{
		const __m512i step = _mm512_set1_epi64((long long)(8 * stride));
		__m512i off = _mm512_mullo_epi64(
			_mm512_add_epi64(_mm512_set1_epi64((long long)first),
					 _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7)),
			_mm512_set1_epi64((long long)stride));

		for (size_t i = 0; i < n; i += 8) {
			__mmask8 m = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1);
			__m256i id = _mm256_add_epi32(
				_mm256_set1_epi32((int)(first + (uint32_t)i)), lane);

			k += keep8(dist8(codes, off, m, words, q), m, r, id, out + k,
				   dist + k);
			off = _mm512_add_epi64(off, step);
		}
	}
	return k;
}
