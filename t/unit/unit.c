/*
 * unit.c - main() of every Check unit test binary: runs unit_suite() and
 * reports in TAP on standard output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int unit_cpu_has(const char *flag)
{
	static char line[16384];
	FILE *f;
	size_t n = strlen(flag);
	int found = 0;

	if (!line[0]) {
		if (!(f = fopen("/proc/cpuinfo", "r")))
			return 0;
		while (fgets(line, sizeof line, f) && strncmp(line, "flags", 5) != 0)
			;
		if (strncmp(line, "flags", 5) != 0)
			strcpy(line, "none");
		fclose(f);
	}
	for (const char *p = strchr(line, ':'); p && *p; p += strcspn(p, " \n"), p += strspn(p, " \n"))
		if (strncmp(p, flag, n) == 0 && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			found = 1;
	return found;
}

int unit_cpu_avx512(void)
{
	return unit_cpu_has("avx512f") && unit_cpu_has("avx512bw") && unit_cpu_has("avx512dq") &&
	       unit_cpu_has("avx512vl");
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
