/*
 * unit.h - what the Check unit tests share: a main() that runs a suite
 * and prints TAP on standard output, so that prove reads every test.
 */
#ifndef FEAT_UNIT_H
#define FEAT_UNIT_H

#include <check.h>
#include <stddef.h>

/* Each test file defines this and lets unit.c run it. */
Suite *unit_suite(void);

/* Relative error helper for float comparisons. */
int unit_close(double got, double want, double rel, double abs_tol);

/* Path of a file under t/data (uses $FEAT_TOP). */
const char *unit_data(const char *name);

/* Read a whole file; NULL on failure.  Caller frees. */
unsigned char *unit_slurp(const char *path, size_t *len);

#endif
