/*
 * find.c - a model named by the user: a path, or a name such as "ssd"
 * looked up in the model directories.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feat.h"

#ifndef FEAT_MODELDIR
#define FEAT_MODELDIR "/usr/local/share/featkit/models"
#endif

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int feat_model_find(const char *name, char *out, size_t outlen, char *why,
	size_t whylen)
{
	char exe[4096], dirs[4][4200], tried[1024] = "";
	const char *env = getenv("FEAT_MODELS");
	ssize_t k;
	int nd = 0;

	if (!name || !*name) {
		snprintf(why, whylen, "empty model name");
		return FEAT_E_INVAL;
	}
	/* a path: it has a '/', exists, or ends in .fm (a name never does) */
	errno = 0;
	if (strchr(name, '/') || is_file(name) ||
	    (strlen(name) > 3 && !strcmp(name + strlen(name) - 3, ".fm"))) {
		if (!is_file(name)) {
			struct stat st;

			/* (stat succeeds on a directory or a FIFO: errno says
			 * nothing then) */
			snprintf(why, whylen, "%s: cannot open: %s", name,
				 stat(name, &st) == 0 ? "not a regular file" : strerror(errno));
			return FEAT_E_IO;
		}
		if ((size_t)snprintf(out, outlen, "%s", name) >= outlen) {
			snprintf(why, whylen, "model path too long");
			return FEAT_E_RANGE;
		}
		return 0;
	}
	if (env && *env)
		snprintf(dirs[nd++], sizeof dirs[0], "%s", env);
	else if ((k = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		char *slash;

		exe[k] = 0;
		if ((slash = strrchr(exe, '/')))
			*slash = 0;
		snprintf(dirs[nd++], sizeof dirs[0], "%s/../share/featkit/models", exe);
		snprintf(dirs[nd++], sizeof dirs[0], "%s/../../models", exe);
	}
	if (!(env && *env))
		snprintf(dirs[nd++], sizeof dirs[0], "%s", FEAT_MODELDIR);
	for (int i = 0; i < nd; i++) {
		size_t used = strlen(tried);

		if ((size_t)snprintf(out, outlen, "%s/%s.fm", dirs[i], name) < outlen && is_file(out))
			return 0;
		if (used + strlen(dirs[i]) + 3 < sizeof tried) {
			if (used)
				strcat(tried, ", ");
			strcat(tried, dirs[i]);
		}
	}
	snprintf(why, whylen, "model '%s' not found (looked for %s.fm in %s; set FEAT_MODELS or give a path)",
		 name, name, tried);
	return FEAT_E_NOTFOUND;
}
