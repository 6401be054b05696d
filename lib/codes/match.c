/*
 * match.c - near-duplicate photos by local features (feat/match.h).
 *
 * Three steps:
 *   1. candidates: every descriptor is hashed into FEAT_MATCH_TABLES tables
 *      by 16 of its 256 bits (the bits of each table drawn once by a fixed
 *      seed); a photo's descriptors vote, once each, for every other photo
 *      met in their buckets; the photos with the most votes are its
 *      candidates.  Its keypoints of the detector's box vote apart and
 *      name candidates of their own: a product's few votes are not
 *      crowded out by those of a background another photo shares.  Buckets holding more than a bound are skipped: they are
 *      what flat or repeated texture makes, and vote for everything.
 *   2. keypoint pairs of a candidate pair (a, b): for each of a's photo
 *      keypoints, the nearest of b's keypoints of one flag (photo, then
 *      mirror) by Hamming distance, kept when it is close enough and
 *      clearly nearer than the second nearest; then one a-keypoint for each
 *      b-keypoint (the nearest).  The same again for a's keypoints of the
 *      detector's box against b's box and box-mirror ones: the sets are
 *      never mixed, and the pair's score is the best of the four.
 *   3. geometry: RANSAC over the keypoint pairs for a similarity transform
 *      (two pairs fix one), a pair agreeing when b's keypoint lies within
 *      tol x its size of where the transform takes a's; the score is the
 *      most agreeing pairs over a fixed number of draws from a generator
 *      seeded by (a, b), so that a run does not depend on threads or order.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "base/threadpool.h"
#include "kern/popcount.h"
#include "feat/match.h"

#define FEAT_MATCH_TABLES 12
#define FEAT_MATCH_HBITS 16
#define FEAT_MATCH_BUCKET 64     /* a bucket holding more photos' entries votes for none */
#define FEAT_MATCH_DRAWS 300

struct kp {
	float x, y, size, angle;
	uint32_t flag;
};

struct feat_match {
	uint64_t n;               /* photos */
	size_t cap;               /* room of koff */
	uint64_t *koff;           /* key bytes: koff[i] .. koff[i + 1] */
	char *keys;
	uint64_t keylen;
	size_t keycap;
	struct kp *kp;
	uint8_t *desc;
	uint64_t np;
	size_t npcap;             /* room of kp, desc */
	/* photo i's keypoints by flag (0 photo, 1 mirror, 2 box, 3 box
	 * mirror), in that order: flag f is [fo[4i + f], fo[4i + f + 1]),
	 * so photo i's keypoints are [fo[4i], fo[4i + 4]) */
	uint64_t *fo;
	size_t focap;             /* room of fo */
};

/* The bits each table reads: a fixed draw, the same in every run. */
static uint8_t tbits[FEAT_MATCH_TABLES][FEAT_MATCH_HBITS];

static uint64_t split64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void init_tables(void)
{
	static int done;
	uint64_t s = 0x6b6579736d617463ull;  /* "keysmatc" */

	if (done)
		return;
	for (int t = 0; t < FEAT_MATCH_TABLES; t++) {
		uint8_t all[256];

		for (int i = 0; i < 256; i++)
			all[i] = (uint8_t)i;
		for (int i = 0; i < FEAT_MATCH_HBITS; i++) {
			int j = i + (int)(split64(&s) % (uint64_t)(256 - i));
			uint8_t x = all[i];

			all[i] = all[j];
			all[j] = x;
			tbits[t][i] = all[i];
		}
	}
	done = 1;
}

static uint32_t hash_of(const uint8_t *d, int t)
{
	uint32_t h = 0;

	for (int i = 0; i < FEAT_MATCH_HBITS; i++) {
		int b = tbits[t][i];

		h = h << 1 | ((d[b >> 3] >> (7 - (b & 7))) & 1u);
	}
	return h;
}

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static void opt_defaults(const struct feat_match_opt *in, struct feat_match_opt *o)
{
	*o = in ? *in : (struct feat_match_opt){ 0 };
	if (!o->candidates)
		o->candidates = 60;
	if (!o->min_inliers)
		o->min_inliers = 1;
	if (!(o->tol > 0))
		o->tol = 0.05f;
	if (!o->max_dist)
		o->max_dist = 64;
	if (!(o->ratio > 0))
		o->ratio = 0.85f;
}

int feat_match_new(feat_match **out)
{
	feat_match *m = calloc(1, sizeof *m);

	*out = NULL;
	if (!m)
		return FEAT_E_NOMEM;
	m->koff = malloc(sizeof *m->koff);
	m->focap = 1;
	m->fo = malloc(sizeof *m->fo);
	if (!m->koff || !m->fo) {
		feat_match_free(m);
		return FEAT_E_NOMEM;
	}
	m->koff[0] = m->fo[0] = 0;
	init_tables();
	*out = m;
	return 0;
}

void feat_match_free(feat_match *m)
{
	if (!m)
		return;
	free(m->koff);
	free(m->keys);
	free(m->fo);
	free(m->kp);
	free(m->desc);
	free(m);
}

uint64_t feat_match_count(const feat_match *m)
{
	return m->n;
}

const char *feat_match_key(const feat_match *m, uint32_t i, size_t *len)
{
	if (len)
		*len = (size_t)(m->koff[i + 1] - m->koff[i]);
	return m->keys + m->koff[i];
}

int feat_match_add(feat_match *m, const char *key, size_t len, const float *keys,
	const uint8_t *desc, uint32_t n, char *why, size_t whylen)
{
	size_t cap;
	uint32_t nflag[4] = { 0 };

	if (why && whylen)
		why[0] = 0;
	if (m->n >= UINT32_MAX - 1 || m->np + n >= UINT32_MAX) {
		why_set(why, whylen, "over 2^32 - 1 photos or keypoints");
		return FEAT_E_RANGE;
	}
	for (uint32_t i = 0; i < n; i++) {
		const float *k = keys + (size_t)i * FEAT_KEY_FIELDS;

		for (int f = 0; f < FEAT_KEY_FIELDS; f++)
			if (!isfinite(k[f])) {
				why_set(why, whylen, "keypoint %u: field %d is not a finite number", i, f);
				return FEAT_E_INVAL;
			}
		if (k[4] != 0 && k[4] != 1 && k[4] != 2 && k[4] != 3) {
			why_set(why, whylen, "keypoint %u: flag %g is not 0 (photo), 1 (mirror), "
				 "2 (box) or 3 (box mirror)", i, (double)k[4]);
			return FEAT_E_INVAL;
		}
		if (!(k[2] > 0)) {
			why_set(why, whylen, "keypoint %u: size %g is not positive", i, (double)k[2]);
			return FEAT_E_INVAL;
		}
		nflag[(int)k[4]]++;
	}
	/* the arrays of photos have room for n + 2 entries (n + 1 offsets) */
	if (feat_grow(&m->koff, &m->cap, (size_t)m->n + 2, sizeof *m->koff, 16))
		return FEAT_E_NOMEM;
	if (feat_grow(&m->fo, &m->focap, 4 * ((size_t)m->n + 1) + 1, sizeof *m->fo, 64))
		return FEAT_E_NOMEM;
	if (feat_grow(&m->keys, &m->keycap, (size_t)m->keylen + len + 1, 1, 0))
		return FEAT_E_NOMEM;
	cap = m->npcap;
	if (feat_grow(&m->kp, &cap, (size_t)m->np + n, sizeof *m->kp, 0))
		return FEAT_E_NOMEM;
	cap = m->npcap;
	if (feat_grow(&m->desc, &cap, (size_t)m->np + n, FEAT_KEY_DESC, 0))
		return FEAT_E_NOMEM;
	m->npcap = cap;
	memcpy(m->keys + m->keylen, key, len);
	m->keylen += len;
	m->keys[m->keylen] = 0;   /* room kept: keys read back are terminated too */
	m->koff[m->n + 1] = m->keylen;
	/* by flag, each in input order */
	for (int pass = 0; pass < 4; pass++)
		for (uint32_t i = 0; i < n; i++) {
			const float *k = keys + (size_t)i * FEAT_KEY_FIELDS;

			if (k[4] != pass)
				continue;
			m->kp[m->np] = (struct kp){ k[0], k[1], k[2], k[3], (uint32_t)k[4] };
			memcpy(m->desc + m->np * FEAT_KEY_DESC, desc + (size_t)i * FEAT_KEY_DESC,
			       FEAT_KEY_DESC);
			m->np++;
		}
	for (int f = 0; f < 4; f++)
		m->fo[4 * m->n + f + 1] = m->fo[4 * m->n + f] + nflag[f];
	m->n++;
	return 0;
}

/* ----------------------------------------------------- verification */

struct corr {
	uint32_t i, j;    /* keypoint indices in a's and b's sets */
	unsigned d;
};

/* Keypoint pairs of a's photo keypoints [a0, a1) against b's [b0, b1):
 * the distances by the code search's popcount kernels (ids and dist are
 * scratch of b1 - b0). */
static size_t pair_up(const feat_match *m, uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1,
	const struct feat_match_opt *o, struct corr *c, uint32_t *best_of_b, uint32_t *ids,
	uint32_t *dist)
{
	const struct feat_pc_path *pc = feat_pc_active();
	size_t nc = 0, k = 0;
	/* Only distances up to r are looked at: a second nearest beyond r
	 * passes the ratio test for any nearest within max_dist (ratio x
	 * (r + 1) > max_dist), so the pairs are those of a full scan.  A
	 * ratio of 1 or more (a looser test) needs the second nearest at any
	 * distance: the whole descriptor. */
	double rr = o->ratio >= 1 ? FEAT_KEY_DESC * 8 : (double)o->max_dist / o->ratio + 1;
	unsigned r = rr < FEAT_KEY_DESC * 8 ? (unsigned)rr : FEAT_KEY_DESC * 8;

	for (uint64_t j = b0; j < b1; j++)
		best_of_b[j - b0] = UINT32_MAX;
	for (uint64_t i = a0; i < a1; i++) {
		unsigned d1 = 1000, d2 = 1000;
		uint64_t j1 = 0;
		const uint64_t *da = (const uint64_t *)(const void *)(m->desc + i * FEAT_KEY_DESC);
		size_t nd = pc->scan(m->desc, FEAT_KEY_DESC, FEAT_KEY_DESC / 8, da, (uint32_t)b0,
				     (size_t)(b1 - b0), r < FEAT_KEY_DESC * 8 ? r : FEAT_KEY_DESC * 8,
				     ids, dist);

		for (size_t x = 0; x < nd; x++) {
			unsigned d = dist[x];
			uint64_t j = ids[x];

			if (d < d1) {
				d2 = d1;
				d1 = d;
				j1 = j;
			} else if (d < d2) {
				d2 = d;
			}
		}
		if (d1 > o->max_dist || (float)d1 >= o->ratio * (float)d2)
			continue;
		c[nc++] = (struct corr){ (uint32_t)i, (uint32_t)j1, d1 };
	}
	/* one a-keypoint a b-keypoint: the nearest (the first on ties) */
	for (size_t t = 0; t < nc; t++) {
		uint32_t *bb = &best_of_b[c[t].j - b0];

		if (*bb == UINT32_MAX || c[t].d < c[*bb].d)
			*bb = (uint32_t)t;
	}
	for (size_t t = 0; t < nc; t++)
		if (best_of_b[c[t].j - b0] == t)
			c[k++] = c[t];
	return k;
}

/* The most keypoint pairs one similarity transform a -> b agrees with. */
static unsigned ransac(const feat_match *m, const struct corr *c, size_t nc,
	const struct feat_match_opt *o, uint64_t seed)
{
	unsigned best = 0;
	uint64_t s = seed;

	if (nc < 2)
		return (unsigned)nc;
	for (int it = 0; it < FEAT_MATCH_DRAWS; it++) {
		size_t p = (size_t)(split64(&s) % nc), q = (size_t)(split64(&s) % nc);
		const struct kp *a1, *a2, *b1, *b2;
		double ax, ay, bx, by, den, sc, sn, tx, ty;
		unsigned in = 0;

		if (p == q)
			continue;
		a1 = &m->kp[c[p].i];
		a2 = &m->kp[c[q].i];
		b1 = &m->kp[c[p].j];
		b2 = &m->kp[c[q].j];
		ax = a2->x - a1->x;
		ay = a2->y - a1->y;
		bx = b2->x - b1->x;
		by = b2->y - b1->y;
		den = ax * ax + ay * ay;
		if (den < 1e-6)
			continue;
		/* b = [sc -sn; sn sc] a + t */
		sc = (ax * bx + ay * by) / den;
		sn = (ax * by - ay * bx) / den;
		/* scales beyond 1/8 .. 8 are not re-posts of one photo */
		if (sc * sc + sn * sn < 1.0 / 64 || sc * sc + sn * sn > 64)
			continue;
		tx = b1->x - (sc * a1->x - sn * a1->y);
		ty = b1->y - (sn * a1->x + sc * a1->y);
		for (size_t t = 0; t < nc; t++) {
			const struct kp *ka = &m->kp[c[t].i], *kb = &m->kp[c[t].j];
			double px = sc * ka->x - sn * ka->y + tx - kb->x;
			double py = sn * ka->x + sc * ka->y + ty - kb->y;
			double tol = (double)o->tol * kb->size;

			in += px * px + py * py <= tol * tol;
		}
		if (in > best)
			best = in;
	}
	return best;
}

/* The most keypoints of one photo. */
static size_t max_keys(const feat_match *m)
{
	uint64_t k = 1;

	for (uint64_t i = 0; i < m->n; i++)
		if (m->fo[4 * i + 4] - m->fo[4 * i] > k)
			k = m->fo[4 * i + 4] - m->fo[4 * i];
	return (size_t)k;
}

struct scratch {
	struct corr *c;
	uint32_t *bb, *ids, *dist;
	size_t cap;
};

static void scratch_free(struct scratch *w)
{
	free(w->c);
	free(w->bb);
	free(w->ids);
	free(w->dist);
	memset(w, 0, sizeof *w);
}

static int scratch_fit(struct scratch *w, size_t n)
{
	if (n <= w->cap)
		return 0;
	scratch_free(w);
	w->c = malloc(n * sizeof *w->c);
	w->bb = malloc(n * sizeof *w->bb);
	w->ids = malloc(n * sizeof *w->ids);
	w->dist = malloc(n * sizeof *w->dist);
	w->cap = w->c && w->bb && w->ids && w->dist ? n : 0;
	return w->cap ? 0 : FEAT_E_NOMEM;
}

/* a's photo keypoints against b's photo and mirror ones, and a's box
 * keypoints against b's box and box-mirror ones: the best score. */
static unsigned verify(const feat_match *m, uint32_t a, uint32_t b, const struct feat_match_opt *o,
	struct scratch *w)
{
	unsigned best = 0;

	for (int flag = 0; flag < 4; flag++) {
		uint64_t a0 = m->fo[4 * (uint64_t)a + (flag & 2)];
		uint64_t a1 = m->fo[4 * (uint64_t)a + (flag & 2) + 1];
		uint64_t b0 = m->fo[4 * (uint64_t)b + flag], b1 = m->fo[4 * (uint64_t)b + flag + 1];
		size_t need = (size_t)((a1 - a0) > (b1 - b0) ? (a1 - a0) : (b1 - b0));
		size_t nc;
		unsigned s;

		if (a1 == a0 || b1 == b0 || need > w->cap)
			continue;
		nc = pair_up(m, a0, a1, b0, b1, o, w->c, w->bb, w->ids, w->dist);
		/* fewer keypoint pairs than the bound: the score cannot reach it */
		if (nc < o->min_inliers)
			continue;
		s = ransac(m, w->c, nc, o, ((uint64_t)a << 32 | b) ^ (uint64_t)(flag & 1) << 63 ^
			   (uint64_t)(flag >> 1) << 62);
		if (s > best)
			best = s;
	}
	return best;
}

unsigned feat_match_verify(const feat_match *m, uint32_t a, uint32_t b,
	const struct feat_match_opt *oin)
{
	struct feat_match_opt o;
	struct scratch w = { 0 };
	unsigned s1, s2;

	opt_defaults(oin, &o);
	if (a >= m->n || b >= m->n || a == b || scratch_fit(&w, max_keys(m)))
		return 0;
	/* symmetric: the better of a against b and b against a */
	s1 = verify(m, a, b, &o, &w);
	s2 = verify(m, b, a, &o, &w);
	scratch_free(&w);
	return s1 > s2 ? s1 : s2;
}

/* ------------------------------------------------------- candidates */

struct entry {
	uint32_t h, photo;
};

static int entry_cmp(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;

	if (a->h != b->h)
		return a->h < b->h ? -1 : 1;
	return a->photo < b->photo ? -1 : a->photo > b->photo;
}

struct vote {
	uint32_t votes, photo;
};

static int vote_cmp(const void *x, const void *y)
{
	const struct vote *a = x, *b = y;

	if (a->votes != b->votes)
		return a->votes > b->votes ? -1 : 1;
	return a->photo < b->photo ? -1 : a->photo > b->photo;
}

static int pair_cmp(const void *x, const void *y)
{
	const struct feat_pair *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

/* The candidate pairs (a < b, unique, sorted). */
static int candidates(const feat_match *m, const struct feat_match_opt *o,
	struct feat_pair **out, size_t *nout)
{
	uint64_t n = m->n, np = m->np;
	struct entry *e[FEAT_MATCH_TABLES] = { 0 };
	uint32_t *bstart[FEAT_MATCH_TABLES] = { 0 };
	uint32_t *photo_of = malloc((np ? np : 1) * sizeof *photo_of);
	uint32_t *votes = calloc(n ? n : 1, sizeof *votes);
	uint32_t *stamp = malloc((n ? n : 1) * sizeof *stamp);
	uint32_t *touched = malloc((n ? n : 1) * sizeof *touched);
	struct feat_pair *p = NULL;
	size_t npairs = 0;
	size_t pcap = 0;
	struct vote *vs = malloc((n ? n : 1) * sizeof *vs);
	int err = FEAT_E_NOMEM;

	if (!photo_of || !votes || !stamp || !touched || !vs)
		goto done;
	for (uint64_t i = 0; i < n; i++)
		for (uint64_t k = m->fo[4 * i]; k < m->fo[4 * i + 4]; k++)
			photo_of[k] = (uint32_t)i;
	for (int t = 0; t < FEAT_MATCH_TABLES; t++) {
		if (!(e[t] = malloc((np ? np : 1) * sizeof *e[t])) ||
		    !(bstart[t] = malloc(((size_t)1 << FEAT_MATCH_HBITS) * 2 * sizeof *bstart[t])))
			goto done;
		for (uint64_t k = 0; k < np; k++)
			e[t][k] = (struct entry){ hash_of(m->desc + k * FEAT_KEY_DESC, t), photo_of[k] };
		qsort(e[t], (size_t)np, sizeof *e[t], entry_cmp);
		/* bucket h: [bstart[2h], bstart[2h + 1]) */
		memset(bstart[t], 0, ((size_t)1 << FEAT_MATCH_HBITS) * 2 * sizeof *bstart[t]);
		for (uint64_t k = 0; k < np;) {
			uint64_t j = k;

			while (j < np && e[t][j].h == e[t][k].h)
				j++;
			bstart[t][2 * e[t][k].h] = (uint32_t)k;
			bstart[t][2 * e[t][k].h + 1] = (uint32_t)j;
			k = j;
		}
	}
	for (uint64_t i = 0; i < n; i++)
		stamp[i] = UINT32_MAX;
	for (uint64_t a = 0; a < n; a++)
		for (int kind = 0; kind < 2; kind++) {
			size_t nt = 0;

			/* each of a's photo keypoints (kind 0), then each of its box
			 * keypoints (kind 1), votes once for each photo it meets (the
			 * mirror ones are met, not voters); each kind names its own
			 * candidates */
			for (uint64_t k = m->fo[4 * a + 2 * kind]; k < m->fo[4 * a + 2 * kind + 1]; k++) {
				for (int t = 0; t < FEAT_MATCH_TABLES; t++) {
					uint32_t h = hash_of(m->desc + k * FEAT_KEY_DESC, t);
					uint32_t lo = bstart[t][2 * h], hi = bstart[t][2 * h + 1];

					if (hi - lo > FEAT_MATCH_BUCKET)
						continue;
					for (uint32_t x = lo; x < hi; x++) {
						uint32_t ph = e[t][x].photo;

						if (ph == a || stamp[ph] == (uint32_t)k)
							continue;
						stamp[ph] = (uint32_t)k;
						if (votes[ph]++ == 0)
							touched[nt++] = ph;
					}
				}
			}
			/* the o->candidates most voted (ties: the lower id), at least 2 votes */
			{
				size_t nv = 0;

				for (size_t x = 0; x < nt; x++)
					if (votes[touched[x]] >= 2)
						vs[nv++] = (struct vote){ votes[touched[x]], touched[x] };
				qsort(vs, nv, sizeof *vs, vote_cmp);
				if (nv > o->candidates)
					nv = o->candidates;
				if (feat_grow(&p, &pcap, npairs + nv, sizeof *p, 0))
					goto done;
				for (size_t x = 0; x < nv; x++) {
					uint32_t bi = vs[x].photo;

					p[npairs++] = a < bi ? (struct feat_pair){ (uint32_t)a, bi, 0 }
							     : (struct feat_pair){ bi, (uint32_t)a, 0 };
				}
			}
			for (size_t x = 0; x < nt; x++)
				votes[touched[x]] = 0;
			/* stamps are keypoint ids: unique across photos, never reset */
		}
	if (npairs)
		qsort(p, npairs, sizeof *p, pair_cmp);
	{
		size_t k = 0;

		for (size_t i = 0; i < npairs; i++)
			if (!k || p[i].a != p[k - 1].a || p[i].b != p[k - 1].b)
				p[k++] = p[i];
		npairs = k;
	}
	*out = p;
	*nout = npairs;
	p = NULL;
	err = 0;
done:
	for (int t = 0; t < FEAT_MATCH_TABLES; t++) {
		free(e[t]);
		free(bstart[t]);
	}
	free(p);
	free(photo_of);
	free(votes);
	free(stamp);
	free(touched);
	free(vs);
	return err;
}

struct job {
	const feat_match *m;
	const struct feat_match_opt *o;
	struct feat_pair *p;
	struct scratch w[FEAT_POOL_MAX];
};

static void verify_range(void *arg, long begin, long end, int worker)
{
	struct job *j = arg;

	for (long i = begin; i < end; i++) {
		struct feat_pair *p = &j->p[i];
		unsigned s1 = verify(j->m, p->a, p->b, j->o, &j->w[worker]);
		unsigned s2 = verify(j->m, p->b, p->a, j->o, &j->w[worker]);

		p->dist = s1 > s2 ? s1 : s2;
	}
}

int feat_match_run(feat_match *m, const struct feat_match_opt *oin, struct feat_pair **pairs,
	size_t *np)
{
	struct feat_match_opt o;
	struct feat_pair *p;
	struct feat_threadpool *pool = NULL;
	struct job *j;
	size_t n, k = 0;
	int e;

	*pairs = NULL;
	*np = 0;
	opt_defaults(oin, &o);
	if ((e = candidates(m, &o, &p, &n)))
		return e;
	if (!(j = calloc(1, sizeof *j))) {
		free(p);
		return FEAT_E_NOMEM;
	}
	j->m = m;
	j->o = &o;
	j->p = p;
	if (o.threads > 1 && n > 64)
		feat_threadpool_new(&pool, o.threads > FEAT_POOL_MAX ? FEAT_POOL_MAX : o.threads);
	for (int w = 0; w < feat_threadpool_threads(pool) && !e; w++)
		e = scratch_fit(&j->w[w], max_keys(m));
	if (!e)
		feat_threadpool_for(pool, (long)n, 16, verify_range, j);
	feat_threadpool_free(pool);
	for (int w = 0; w < FEAT_POOL_MAX; w++)
		scratch_free(&j->w[w]);
	free(j);
	if (e) {
		free(p);
		return e;
	}
	for (size_t i = 0; i < n; i++)
		if (p[i].dist >= o.min_inliers)
			p[k++] = p[i];
	*pairs = p;
	*np = k;
	return 0;
}
