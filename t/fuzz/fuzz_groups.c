/*
 * fuzz_groups.c - libFuzzer harness for featdraw --groups' line parser
 * (feat_draw_group_line): any bytes, split into lines as featdraw splits
 * them.  A line is accepted only with exactly three TAB-separated fields,
 * the first not empty (an empty key is a key: featdedup writes 1 TAB TAB
 * 0); the fields it returns lie inside the line, and
 * the unescaped key is never longer than the escaped one.
 *
 *   make fuzz
 *   build-fuzz/fuzz_groups t/fuzz/corpus/groups   (by hand)
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/draw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *line, *next;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	for (line = buf; line; line = next) {
		size_t n, tabs = 0;
		char *id, *key, *dist, *copy;
		int e;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = 0;
		for (size_t i = 0; i < n; i++)
			tabs += line[i] == '\t';
		if (!(copy = strdup(line)))
			break;
		e = feat_draw_group_line(line, &id, &key, &dist);
		{
			char *t1 = strchr(copy, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
			/* an empty key is a key (featdedup writes 1 TAB TAB 0) */
			int shaped = tabs == 2 && t1 != copy;

			assert((e == 0) == shaped);
			if (!e) {
				assert(id == line && key == line + (t1 - copy) + 1 &&
				       dist == line + (t2 - copy) + 1);
				assert(strlen(id) == (size_t)(t1 - copy) &&
				       !memcmp(id, copy, strlen(id)));
				assert(strlen(key) <= (size_t)(t2 - t1 - 1));
				assert(!strcmp(dist, t2 + 1));
			}
		}
		free(copy);
	}
	free(buf);
	return 0;
}
