/*
 * unit.h - what the Check unit tests share: a main() that runs a suite
 * and prints TAP on standard output, so that prove reads every test.
 */
#ifndef FEAT_UNIT_H
#define FEAT_UNIT_H

#include <check.h>
#include <stddef.h>

/*
 * Check's ck_assert_msg (which every ck_assert_* expands to) records the
 * line of each assertion that holds (_mark_point: a write(2) each, so
 * that a test that crashes later can say where it last was).  The kernel
 * sweeps here hold millions of elements to their twins, one assertion
 * each: 8 million writes, most of test_nchwc's time.  Here a passing
 * assertion costs nothing; a failing one reports as Check's does, and a
 * crash is located by the sanitizers' stack trace (make asan), or by an
 * explicit mark_point().
 */
#undef ck_assert_msg
#define ck_assert_msg(expr, ...) \
	((expr) ? (void)0 : \
	 _ck_assert_failed(__FILE__, __LINE__, "Assertion '" #expr "' failed", ##__VA_ARGS__))

/* Each test file defines this and lets unit.c run it. */
Suite *unit_suite(void);

/* Relative error helper for float comparisons. */
int unit_close(double got, double want, double rel, double abs_tol);

/* Path of a file under t/data (uses $FEAT_TOP). */
const char *unit_data(const char *name);

/* Read a whole file; NULL on failure.  Caller frees. */
unsigned char *unit_slurp(const char *path, size_t *len);

/*
 * The flags line of /proc/cpuinfo names FLAG ("avx512_vnni"); 0 where there
 * is none.  The tests take what the CPU offers from here, not from the
 * library (feat_kern_cpu_*), so that a fast path the library stops
 * offering fails the test that expects it.
 */
int unit_cpu_has(const char *flag);

/* AVX-512 F, BW, DQ and VL, as the library's avx512 path needs. */
int unit_cpu_avx512(void);

#endif
