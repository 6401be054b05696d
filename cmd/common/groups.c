/*
 * groups.c - the text output featdedup and featmatch share (groups.h),
 * and the check for keys that name more than one record.
 */
#include <inttypes.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/groups.h"

int feat_cli_format(const char *arg)
{
	if (!strcmp(arg, "tsv"))
		return 0;
	if (!strcmp(arg, "jsonl"))
		return 1;
	feat_die_usage("--format: '%s' is not tsv or jsonl", arg);
}

void feat_cli_put_key(FILE *f, const char *k, size_t n, int jsonl)
{
	if (jsonl)
		feat_put_json(f, k, n);
	else
		feat_put_tsv(f, k, n);
}

void feat_cli_put_pair(FILE *f, const char *k1, size_t n1, const char *k2, size_t n2,
	const char *field, uint64_t value, int jsonl)
{
	fputs(jsonl ? "{\"key1\":" : "", f);
	feat_cli_put_key(f, k1, n1, jsonl);
	fputs(jsonl ? ",\"key2\":" : "\t", f);
	feat_cli_put_key(f, k2, n2, jsonl);
	if (jsonl)
		fprintf(f, ",\"%s\":%" PRIu64 "}\n", field, value);
	else
		fprintf(f, "\t%" PRIu64 "\n", value);
}

int feat_cli_groups_opt(struct feat_cli_groups *g, int c, const char *arg)
{
	switch (c) {
	case 'c':
		if (!strcmp(arg, "components"))
			g->cluster = FEAT_GROUP_COMPONENTS;
		else if (!strcmp(arg, "leader"))
			g->cluster = FEAT_GROUP_LEADER;
		else
			feat_die_usage("--cluster: '%s' is not components or leader", arg);
		return 1;
	case 'a': g->all = 1; return 1;
	case 'p': g->pairs = 1; return 1;
	case 'f': g->jsonl = feat_cli_format(arg); return 1;
	}
	return 0;
}

void feat_cli_groups_check(const struct feat_cli_groups *g)
{
	if (g->pairs && g->all)
		feat_die_usage("--all applies to groups, not to --pairs");
}

uint64_t feat_cli_write_groups(FILE *f, uint64_t n, const uint32_t *rep, int all, int jsonl,
	const char *field, const char *(*key)(const void *ctx, uint32_t i, size_t *len),
	uint64_t (*value)(const void *ctx, uint32_t i), const void *ctx)
{
	uint64_t g = 0;
	size_t m = n ? n : 1;
	uint32_t *size = calloc(m, sizeof *size), *first = malloc(m * sizeof *first),
		 *next = malloc(m * sizeof *next), *last = malloc(m * sizeof *last);

	if (!size || !first || !next || !last)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	/* member lists by representative, in input order */
	for (uint64_t i = 0; i < n; i++) {
		uint32_t r = rep[i];

		next[i] = UINT32_MAX;
		if (size[r]++ == 0)
			first[r] = last[r] = (uint32_t)i;
		else
			last[r] = next[last[r]] = (uint32_t)i;
	}
	for (uint64_t r = 0; r < n; r++) {
		if (rep[r] != r || (size[r] < 2 && !all))
			continue;
		g++;
		for (uint32_t i = first[r]; i != UINT32_MAX; i = next[i]) {
			size_t len;
			const char *k = key(ctx, i, &len);

			fprintf(f, jsonl ? "{\"group\":%" PRIu64 ",\"key\":" : "%" PRIu64 "\t", g);
			feat_cli_put_key(f, k, len, jsonl);
			if (jsonl)
				fprintf(f, ",\"%s\":%" PRIu64 "}\n", field, value(ctx, i));
			else
				fprintf(f, "\t%" PRIu64 "\n", value(ctx, i));
		}
	}
	free(size);
	free(first);
	free(next);
	free(last);
	return g;
}

FILE *feat_cli_text_open(const char *path, struct feat_outfile **file)
{
	FILE *out;

	*file = NULL;
	if (!path)
		return stdout;
	*file = feat_cli_create(path);
	if (!(out = (*file)->fp = fdopen((*file)->fd, "w")))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	return out;
}

void feat_cli_text_close(FILE *out, const char *path, struct feat_outfile *file)
{
	int e = fflush(out) ? errno : 0;

	if (e || ferror(out)) {
		clearerr(out);   /* said here; not again at exit (cli.c) */
		feat_die(FEAT_EXIT_SYSTEM, "%s: write error%s%s", path ? path : "standard output",
			 e ? ": " : "", e ? strerror(e) : "");
	}
	if (file)
		feat_cli_commit(file);
}

/* FNV-1a: keys are paths and URLs, not chosen against us. */
static uint64_t key_hash(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 0x100000001b3u;
	return h;
}

uint64_t feat_cli_repeated_keys(uint64_t n,
	const char *(*key)(const void *ctx, uint32_t i, size_t *len), const void *ctx)
{
	uint64_t size = 16, repeated = 0, first = 0;
	uint32_t *slot;      /* record + 1 of each key's first record, 0 empty */
	unsigned char *seen; /* a bit a record: its key counted as repeated */

	if (n < 2)
		return 0;
	while (size < 2 * n)
		size *= 2;
	slot = n < UINT32_MAX && size <= SIZE_MAX / sizeof *slot
		? calloc((size_t)size, sizeof *slot) : NULL;
	seen = slot ? calloc((size_t)(n + 7) / 8, 1) : NULL;
	if (!seen) {
		free(slot);
		feat_warn("too little memory to check the %" PRIu64 " keys for repeats", n);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t len, l2;
		const char *k = key(ctx, i, &len), *k2;
		uint64_t h = key_hash(k, len) & (size - 1);

		for (; slot[h]; h = (h + 1) & (size - 1)) {
			uint32_t j = slot[h] - 1;

			k2 = key(ctx, j, &l2);
			if (l2 == len && !memcmp(k, k2, len))
				break;
		}
		if (!slot[h]) {
			slot[h] = i + 1;
		} else if (!(seen[(slot[h] - 1) / 8] & (1u << ((slot[h] - 1) % 8)))) {
			seen[(slot[h] - 1) / 8] |= (unsigned char)(1u << ((slot[h] - 1) % 8));
			if (!repeated++)
				first = slot[h] - 1;
		}
	}
	if (repeated) {
		char shown[256];
		size_t len, m = 0, i;
		const char *k = key(ctx, (uint32_t)first, &len);

		for (i = 0; i < len && m + 5 < sizeof shown; i++) {
			char c = k[i], e = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' :
					 c == '\\' ? '\\' : 0;

			if (e) {
				shown[m++] = '\\';
				shown[m++] = e;
			} else {
				shown[m++] = c;
			}
		}
		if (i < len) {
			memcpy(shown + m, "...", 3);
			m += 3;
		}
		shown[m] = 0;
		feat_warn("%" PRIu64 " key%s more than once (first: %s); each record is "
			  "kept on its own", repeated, repeated == 1 ? " appears" : "s appear",
			  shown);
	}
	free(slot);
	free(seen);
	return repeated;
}

static const char *index_key(const void *ctx, uint32_t i, size_t *len)
{
	return feat_index_key(ctx, i, len);
}

uint64_t feat_cli_index_repeated_keys(const feat_index *ix)
{
	return feat_cli_repeated_keys(feat_index_count(ix), index_key, ix);
}
