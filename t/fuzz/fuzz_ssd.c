/*
 * fuzz_ssd.c - libFuzzer harness for the SSD metadata reader and the
 * detection end (lib/nn/ssd.c): feat_ssd_setup over arbitrary metadata, and
 * feat_ssd_detect over arbitrary box offsets and scores when the setup
 * accepts it.
 *
 * The input is text.  Its first line: the network input's height and
 * width, the prior count and class count the loc and conf outputs are
 * sized for (loc: 4 per prior, conf: classes per prior), and an optional
 * feature map's height and width (a blob named "fmap").  Every further
 * line is KEY TAB VALUE: metadata, a comma list of numbers becoming
 * floats, anything else a str (as featmodel import --set).  Bytes after a
 * NUL are the floats of loc, then conf (zeros past the end).  An
 * accepted setup must lay out exactly the priors the outputs hold, and
 * every detection must carry a real label and a score above the
 * threshold.
 *
 *   make fuzz
 *   build-fuzz/fuzz_ssd t/fuzz/corpus/ssd   (by hand)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "nn/ssd.h"

#define MAXKEY 64
#define MAXNUM 16

struct meta {
	struct feat_kv kv[MAXKEY];
	char *text[MAXKEY];
	double num[MAXKEY][MAXNUM];
};

/* A comma list of at most MAXNUM numbers into v; the count, or 0. */
static int numbers(const char *s, double *v)
{
	int n = 0;
	char *end;

	while (n < MAXNUM) {
		v[n++] = strtod(s, &end);
		if (end == s)
			return 0;
		if (!*end)
			return n;
		if (*end != ',')
			return 0;
		s = end + 1;
	}
	return 0;
}

static uint32_t read_meta(struct meta *m, char *text)
{
	uint32_t n = 0;
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line && n < MAXKEY;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t');
		int k;

		if (!tab)
			continue;
		*tab = 0;
		m->kv[n].key = line;
		if ((k = numbers(tab + 1, m->num[n])) > 0)
			m->kv[n].v = (struct feat_value){ .type = FEAT_V_FLOATS,
				.n = (uint32_t)k, .u.floats = m->num[n] };
		else
			m->kv[n].v = (struct feat_value){ .type = FEAT_V_STR, .n = 1,
				.u.s = tab + 1 };
		n++;
	}
	return n;
}

static void detect(struct feat_ssd *s, const uint8_t *raw, size_t nraw)
{
	size_t nloc = (size_t)s->nprior * 4, nconf = (size_t)s->nprior * s->num_classes;
	float *v = calloc(nloc + nconf, sizeof *v);
	struct feat_det *d = NULL;
	size_t cap = 0;
	int k;

	if (!v)
		return;
	memcpy(v, raw, nraw < (nloc + nconf) * 4 ? nraw / 4 * 4 : (nloc + nconf) * 4);
	k = feat_ssd_detect(s, v, v + nloc, &d, &cap);
	for (int i = 0; i < k; i++)
		if (d[i].label < 0 || d[i].label >= s->num_classes ||
		    (int)d[i].label == s->background ||
		    !(d[i].score > s->confidence_threshold))
			abort();
	if (s->keep_top_k >= 0 && k > s->keep_top_k)
		abort();
	/* the main box first: one box moved to the front, the others in
	 * their order */
	if (k > 0) {
		struct feat_det *e = malloc((size_t)k * sizeof *e);
		int ok = 0;

		if (e) {
			memcpy(e, d, (size_t)k * sizeof *e);
			feat_ssd_main(s->main_share, s->main_min, e, k);
			/* (equal boxes may stand in for one another) */
			for (int j = 0; j < k && !ok; j++)
				ok = !memcmp(&d[j], &e[0], sizeof *e) &&
				     !memcmp(e + 1, d, (size_t)j * sizeof *e) &&
				     !memcmp(e + 1 + j, d + j + 1, (size_t)(k - j - 1) * sizeof *e);
			if (!ok)
				abort();
			free(e);
		}
	}
	free(d);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct meta m;
	const uint8_t *nul = memchr(data, 0, size);
	size_t ntext = nul ? (size_t)(nul - data) : size;
	char *text = malloc(ntext + 1), *rest;
	int h = 0, w = 0, np = 0, nc = 0, fh = 0, fw = 0, in = 0, out[2] = { 1, 2 };
	struct feat_blob blob[4];
	struct feat_net n;
	struct feat_ssd s;
	char why[256] = "";

	if (!text)
		return 0;
	memcpy(text, data, ntext);
	text[ntext] = 0;
	rest = strchr(text, '\n');
	if (sscanf(text, "%d %d %d %d %d %d", &h, &w, &np, &nc, &fh, &fw) < 4 ||
	    h < 1 || w < 1 || h > 4096 || w > 4096 || np < 1 || np > 100000 ||
	    nc < 1 || nc > 1000 || (long)np * nc > 1000000 || fh < 0 || fw < 0 || fh > 4096 || fw > 4096 || !rest) {
		free(text);
		return 0;
	}
	memset(&n, 0, sizeof n);
	memset(blob, 0, sizeof blob);
	blob[0] = (struct feat_blob){ .name = "data", .ndim = 4,
		.dims = { 1, 3, (uint32_t)h, (uint32_t)w }, .count = 3u * h * w, .alias = -1 };
	blob[1] = (struct feat_blob){ .name = "loc", .ndim = 2, .dims = { 1, 4u * np },
		.count = 4u * np, .alias = -1 };
	blob[2] = (struct feat_blob){ .name = "conf", .ndim = 2,
		.dims = { 1, (uint32_t)np * nc }, .count = (size_t)np * nc, .alias = -1 };
	blob[3] = (struct feat_blob){ .name = "fmap", .ndim = fh && fw ? 4 : 2,
		.dims = { 1, 1, (uint32_t)fh, (uint32_t)fw }, .count = (size_t)fh * fw, .alias = -1 };
	n.blob = blob, n.nblob = 4;
	n.input = &in, n.ninput = 1;
	n.output = out, n.noutput = 2;
	n.model.meta = m.kv;
	n.model.nmeta = read_meta(&m, rest + 1);
	if (feat_ssd_setup(&s, &n, why, sizeof why) == 0) {
		if (s.nprior != np || !s.prior || !s.var)
			abort();
		if (nul)
			detect(&s, nul + 1, size - ntext - 1);
		feat_ssd_free(&s);
	} else if (!why[0]) {
		abort();
	}
	free(text);
	return 0;
}
