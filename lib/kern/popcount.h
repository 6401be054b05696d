/*
 * popcount.h - the Hamming-distance kernels behind code search (mih.c):
 * distances from one query code to many database codes, keeping those
 * within a radius.
 *
 * Two paths compute the same thing:
 *
 *   ref     plain C with the POPCNT instruction where the CPU has it
 *           (lib/kern/ref/popcount.c), always built, the oracle of tests;
 *   avx512  VPOPCNTDQ over 8 codes a vector (lib/kern/avx512/popcount.c).
 *
 * The path is chosen once from cpuid; the environment variable
 * FEAT_POPCOUNT (ref, avx512, auto) forces one.  Internal to libfeat.
 *
 * Codes are words x 64-bit words, read with their native (little-endian)
 * byte order: a Hamming distance does not care how bits are numbered, as
 * long as query and database are read the same way.  The code of record
 * id is at codes + id * stride (stride a multiple of 8, codes 8-aligned).
 */
#ifndef FEAT_KERN_POPCOUNT_H
#define FEAT_KERN_POPCOUNT_H

#include <stddef.h>
#include <stdint.h>

/*
 * From the records ids[0..n), keep those whose code is within r of q: their
 * ids go to out[] and their distances to dist[], in the order of ids[].
 * Returns how many were kept.  out and dist have room for n; they may not
 * alias ids.
 */
typedef size_t (*feat_pc_filter_fn)(const uint8_t *codes, size_t stride,
	unsigned words, const uint64_t *q, const uint32_t *ids, size_t n,
	unsigned r, uint32_t *out, uint32_t *dist);
/* The same over the consecutive records first .. first + n - 1. */
typedef size_t (*feat_pc_scan_fn)(const uint8_t *codes, size_t stride,
	unsigned words, const uint64_t *q, uint32_t first, size_t n,
	unsigned r, uint32_t *out, uint32_t *dist);

struct feat_pc_path {
	const char *name;
	feat_pc_filter_fn filter;
	feat_pc_scan_fn scan;
};

size_t feat_pc_filter_ref(const uint8_t *codes, size_t stride, unsigned words,
	const uint64_t *q, const uint32_t *ids, size_t n, unsigned r,
	uint32_t *out, uint32_t *dist);
size_t feat_pc_scan_ref(const uint8_t *codes, size_t stride, unsigned words,
	const uint64_t *q, uint32_t first, size_t n, unsigned r,
	uint32_t *out, uint32_t *dist);
/* 1 when the CPU runs the popcount kernels of the AVX-512 table. */
int feat_pc_cpu_avx512(void);

/* The active path (chosen on first call from cpuid and FEAT_POPCOUNT). */
const struct feat_pc_path *feat_pc_active(void);
/* Choose again: "ref", "avx512", "auto" or NULL ($FEAT_POPCOUNT).  0, or
 * FEAT_E_INVAL (no such path) / FEAT_E_NOTFOUND (CPU lacks it), in which
 * case the cpuid choice stays.  Not while another thread searches. */
int feat_pc_select(const char *name);

#endif
