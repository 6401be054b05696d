/*
 * unit.c - main() of every Check unit test binary: runs unit_suite() and
 * reports in TAP on standard output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

int unit_close(double got, double want, double rel, double abs_tol)
{
	double d = fabs(got - want);

	return d <= abs_tol || d <= rel * fabs(want);
}

const char *unit_data(const char *name)
{
	static char buf[4096];
	const char *top = getenv("FEAT_TOP");

	snprintf(buf, sizeof buf, "%s/t/data/%s", top ? top : ".", name);
	return buf;
}

unsigned char *unit_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) &&
	    fread(p, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

int main(void)
{
	SRunner *sr = srunner_create(unit_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
