/*
 * classes.c - the records of an index that share one code.
 *
 * A self-join over N records of one code makes N(N-1)/2 pairs: 20 000
 * copies of a placeholder photo took 7 GB in featdedup, 100 000 did not
 * finish.  Grouping the records by equal code first (one hash pass, O(N))
 * lets the join see each code once; the pairs of records follow from the
 * pairs of codes and the member lists without being stored.
 */
#include "base/internal.h"

/* The finalizer of splitmix64 over the code's words: one multiply-xorshift
 * round a word, enough to spread codes that differ in a few bits. */
static uint64_t code_hash(const uint8_t *c, size_t stride)
{
	uint64_t h = 0x243f6a8885a308d3ULL;

	for (size_t i = 0; i < stride; i += 8) {
		uint64_t w;

		memcpy(&w, c + i, 8);
		h ^= w;
		h ^= h >> 30;
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 27;
		h *= 0x94d049bb133111ebULL;
		h ^= h >> 31;
	}
	return h;
}

void feat_classes_free(struct feat_classes *c)
{
	free(c->cls);
	free(c->off);
	free(c->mem);
	memset(c, 0, sizeof *c);
}

int feat_index_classes(const feat_index *ix, struct feat_classes *c)
{
	uint64_t n = feat_index_count(ix), nc = 0, slots = 16;
	size_t stride = feat_index_info(ix)->code_stride;
	uint32_t *tab, *first;

	memset(c, 0, sizeof *c);
	c->n = n;
	while (slots < 2 * n)
		slots *= 2;
	if (slots > SIZE_MAX / 4)
		return FEAT_E_NOMEM;
	tab = calloc((size_t)slots, 4);             /* class + 1; 0 empty */
	first = malloc((n ? n : 1) * 4);            /* each class's first record */
	c->cls = malloc((n ? n : 1) * 4);
	if (!tab || !first || !c->cls)
		goto nomem;
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *code = feat_index_code(ix, i);
		uint64_t s = code_hash(code, stride) & (slots - 1);

		for (;; s = (s + 1) & (slots - 1)) {
			uint32_t k = tab[s];

			if (!k) {
				tab[s] = (uint32_t)nc + 1;
				first[nc] = (uint32_t)i;
				c->cls[i] = (uint32_t)nc++;
				break;
			}
			if (!memcmp(feat_index_code(ix, first[k - 1]), code, stride)) {
				c->cls[i] = k - 1;
				break;
			}
		}
	}
	free(tab);
	tab = NULL;
	c->nclass = nc;
	/* member lists: counting sort of the records by class, ids ascending */
	c->off = calloc((size_t)nc + 1, sizeof *c->off);
	c->mem = malloc((n ? n : 1) * 4);
	if (!c->off || !c->mem)
		goto nomem;
	for (uint64_t i = 0; i < n; i++)
		c->off[c->cls[i] + 1]++;
	for (uint64_t k = 0; k < nc; k++)
		c->off[k + 1] += c->off[k];
	for (uint64_t k = 0; k < nc; k++)
		first[k] = c->off[k];                   /* now the fill cursors */
	for (uint64_t i = 0; i < n; i++)
		c->mem[first[c->cls[i]]++] = (uint32_t)i;
	free(first);
	return 0;
nomem:
	free(tab);
	free(first);
	feat_classes_free(c);
	return FEAT_E_NOMEM;
}
