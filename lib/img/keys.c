/*
 * keys.c - local binary keypoint features (feat/keys.h, feat_keys(3)):
 * corners found on a small image pyramid, spread over the image by a
 * per-cell quota, each described by 256 steered binary intensity tests.
 * What the matcher (featmatch) pairs between two photos to find a
 * re-upload that changed the frame.
 *
 * Everything up to the angle is integer arithmetic (segment test, Harris
 * response, non-maximum suppression, quota, intensity centroid), so that an
 * image shifted by whole pixels, turned by 90 degrees or mirrored gives the
 * same corners at the mapped places; only the resizes, the angle and the
 * descriptor's interpolated samples use floats.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "img/crop.h"

#define BORDER 19        /* keypoints this near a level's edge are dropped:
			    the tests reach PATCH_R + 0.5 + BOX_R, + 1 */
#define BOX_R 2          /* a test compares sums over 5x5 boxes */
#define PATCH_R 15       /* orientation disc and test points: radius */
#define PATCH_D 31       /* the patch's diameter: `size` */
#define CELL 32          /* quota cells, level pixels */
#define NPAIRS 256
#define FAST_HI 20       /* segment test threshold, then the lower one when */
#define FAST_LO 7        /* a level has too few corners */
#define STEP 1.3         /* pyramid scale step */
#define LEVEL_SHARE 0.85 /* each level's share of the keypoints, that of the
			    level before times this (its area's ratio,
			    1 / 1.69, left too few to the coarse levels a
			    photo shown small on a banner meets) */
#define MAX_DIM 65535
#define SEED 0x6665617466656174ull  /* the test pattern's seed */

/* The test pattern: NPAIRS pairs (x1, y1, x2, y2) in level pixels. */
struct pattern {
	float p[NPAIRS][4];
};

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A uniform double in (0, 1). */
static double uniform(uint64_t *s)
{
	return ((double)(splitmix64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* A point from an isotropic Gaussian (sigma PATCH_D / 5), redrawn until it
 * lies within PATCH_R of the centre (so that a turned pattern stays in the
 * disc), quantised to 1/16 pixel so that libm's last bits cannot change
 * it. */
static void gauss_point(uint64_t *s, float *x, float *y)
{
	const double sigma = PATCH_D / 5.0;

	for (;;) {
		double r = sqrt(-2 * log(uniform(s))), t = 2 * M_PI * uniform(s);
		double a = floor(r * cos(t) * sigma * 16 + 0.5) / 16;
		double b = floor(r * sin(t) * sigma * 16 + 0.5) / 16;

		if (a * a + b * b <= PATCH_R * PATCH_R) {
			*x = (float)a;
			*y = (float)b;
			return;
		}
	}
}

/* The pairs, drawn afresh from the fixed seed (a few microseconds), with
 * the two points of a pair at least 2 pixels apart. */
static void make_pattern(struct pattern *pt)
{
	uint64_t s = SEED;

	for (int i = 0; i < NPAIRS; i++) {
		float *q = pt->p[i];

		do {
			gauss_point(&s, &q[0], &q[1]);
			gauss_point(&s, &q[2], &q[3]);
		} while ((q[0] - q[2]) * (q[0] - q[2]) + (q[1] - q[3]) * (q[1] - q[3]) < 4);
	}
}

/* ------------------------------------------------------------- corners */

/* The circle of the segment test (radius 3, 16 pixels, in order). */
static const int circle[16][2] = {
	{ 0, -3 }, { 1, -3 }, { 2, -2 }, { 3, -1 }, { 3, 0 }, { 3, 1 }, { 2, 2 }, { 1, 3 },
	{ 0, 3 }, { -1, 3 }, { -2, 2 }, { -3, 1 }, { -3, 0 }, { -3, -1 }, { -2, -2 }, { -1, -3 },
};

/* Nine contiguous set bits in the circular 16-bit mask m. */
static int run9(uint32_t m)
{
	uint32_t d = m | m << 16, r = d;

	for (int i = 1; i < 9; i++)
		r &= d >> i;
	return r != 0;
}

/* The segment test: nine contiguous circle pixels all brighter than the
 * centre + t, or all darker than the centre - t.  Nine contiguous of 16
 * cover at least two of the four compass points, which rejects most
 * pixels after two reads. */
static int segment_test(const uint8_t *p, const int *off, int t)
{
	int c = p[0], hi = c + t, lo = c - t, nb = 0, nd = 0, a = p[off[0]], b = p[off[8]];
	uint32_t mb = 0, md = 0;

	/* nine contiguous of 16 hold point 0 or point 8, and two of 0, 4, 8, 12 */
	if (!(a > hi || b > hi) && !(a < lo || b < lo))
		return 0;
	for (int k = 0; k < 16; k += 4) {
		nb += p[off[k]] > hi;
		nd += p[off[k]] < lo;
	}
	if (nb < 2 && nd < 2)
		return 0;
	for (int k = 0; k < 16; k++) {
		int v = p[off[k]];

		if (v > hi)
			mb |= 1u << k;
		else if (v < lo)
			md |= 1u << k;
	}
	return run9(mb) || run9(md);
}

/* One pyramid level and its scratch (shared by the levels, which are
 * worked on one after the other: sized for level 0). */
struct level {
	int w, h;
	uint8_t *img;        /* w x h */
	int16_t *gx, *gy;    /* Sobel gradients (0 on the 1-pixel border) */
	int32_t *at;         /* 1 + the candidate's index, 0 where none */
	uint32_t *ii;        /* integral image, (w + 1) x (h + 1), for the tests */
};

struct cand {
	int64_t r;           /* 25 x Harris response (k = 1/25: exact) */
	int x, y, cell;
	int rank, ord;       /* place among the cell's candidates, and in all */
};

static void sobel(struct level *L)
{
	int w = L->w, h = L->h;

	memset(L->gx, 0, (size_t)w * h * sizeof *L->gx);
	memset(L->gy, 0, (size_t)w * h * sizeof *L->gy);
	for (int y = 1; y < h - 1; y++) {
		const uint8_t *a = L->img + (size_t)(y - 1) * w, *b = a + w, *c = b + w;
		int16_t *gx = L->gx + (size_t)y * w, *gy = L->gy + (size_t)y * w;

		for (int x = 1; x < w - 1; x++) {
			gx[x] = (int16_t)((a[x + 1] + 2 * b[x + 1] + c[x + 1]) -
					  (a[x - 1] + 2 * b[x - 1] + c[x - 1]));
			gy[x] = (int16_t)((c[x - 1] + 2 * c[x] + c[x + 1]) -
					  (a[x - 1] + 2 * a[x] + a[x + 1]));
		}
	}
}

/* 25 x the Harris response det - k tr^2 (k = 0.04) of the 7x7 window
 * around (x, y): exact in int64 (|g| <= 1020, 49 terms). */
static int64_t harris(const struct level *L, int x, int y)
{
	int64_t sxx = 0, syy = 0, sxy = 0;

	for (int dy = -3; dy <= 3; dy++) {
		const int16_t *gx = L->gx + (size_t)(y + dy) * L->w + x;
		const int16_t *gy = L->gy + (size_t)(y + dy) * L->w + x;

		for (int dx = -3; dx <= 3; dx++) {
			int a = gx[dx], b = gy[dx];

			sxx += a * a;
			syy += b * b;
			sxy += a * b;
		}
	}
	return 25 * (sxx * syy - sxy * sxy) - (sxx + syy) * (sxx + syy);
}

/*
 * The corners of level L with threshold t: segment test, positive Harris
 * response, larger than every neighbour's (of equal ones, the first in
 * raster order).  Returns the count put in c (room for every pixel).
 */
static int corners(struct level *L, int t, struct cand *c)
{
	int w = L->w, h = L->h, off[16], n = 0, m = 0, gw = (w + CELL - 1) / CELL;

	for (int k = 0; k < 16; k++)
		off[k] = circle[k][1] * w + circle[k][0];
	for (int y = BORDER; y < h - BORDER; y++)
		for (int x = BORDER; x < w - BORDER; x++) {
			size_t i = (size_t)y * w + x;
			int64_t r;

			if (!segment_test(L->img + i, off, t) || (r = harris(L, x, y)) <= 0)
				continue;
			L->at[i] = n + 1;
			c[n].r = r;
			c[n].x = x;
			c[n].y = y;
			n++;
		}
	for (int i = 0; i < n; i++) {
		static const int nb[8][2] = {
			{ -1, -1 }, { 0, -1 }, { 1, -1 }, { -1, 0 }, { 1, 0 }, { -1, 1 }, { 0, 1 }, { 1, 1 },
		};
		const int32_t *p = L->at + (size_t)c[i].y * w + c[i].x;
		int keep = 1;

		for (int j = 0; j < 8 && keep; j++) {
			int32_t a = p[nb[j][1] * w + nb[j][0]];

			/* a tie goes to the first in raster order: the
			 * corner of a synthetic square often peaks on two
			 * neighbours alike */
			keep = !a || c[i].r > c[a - 1].r || (c[i].r == c[a - 1].r && j >= 4);
		}
		c[i].cell = keep;
	}
	for (int i = 0; i < n; i++) {
		L->at[(size_t)c[i].y * w + c[i].x] = 0;   /* all 0 again, for the next call */
		if (c[i].cell) {
			c[m] = c[i];
			c[m].cell = (c[i].y / CELL) * gw + c[i].x / CELL;
			m++;
		}
	}
	return m;
}

/* Strongest first; equal responses in raster order. */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->r != b->r)
		return a->r > b->r ? -1 : 1;
	if (a->y != b->y)
		return a->y < b->y ? -1 : 1;
	return (a->x > b->x) - (a->x < b->x);
}

/* By rank in the cell, then strongest first (the order of c before). */
static int rank_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return (a->ord > b->ord) - (a->ord < b->ord);
}

/*
 * Keep want of the n candidates (sorted strongest first), spread over the
 * cells: every cell's strongest first (strongest of them first), then every
 * cell's second, and so on, so that a cell gets a k-th keypoint only when
 * no cell with a (k-1)-th candidate left lacks one: a dense cell (text on a
 * banner) cannot crowd out a sparse one.  cnt has room for every cell.
 * Returns the count kept, at the front of c, strongest first.
 */
static int spread(struct cand *c, int n, int want, int ncells, int *cnt)
{
	memset(cnt, 0, (size_t)ncells * sizeof *cnt);
	for (int i = 0; i < n; i++) {
		c[i].rank = cnt[c[i].cell]++;
		c[i].ord = i;
	}
	if (n <= want)
		return n;
	qsort(c, (size_t)n, sizeof *c, rank_cmp);
	qsort(c, (size_t)want, sizeof *c, cand_cmp);
	return want;
}

/* ---------------------------------------------------------- description */

/* The integral image: ii[y][x] = the sum of img over [0, x) x [0, y),
 * modulo 2^32 (up to 255 * 8192^2 at the largest `side`, past 2^31):
 * unsigned, so that it wraps as defined, and a box's sum, far under
 * 2^32, comes out exact from the four corners. */
static void integral(struct level *L)
{
	int w = L->w, h = L->h;
	uint32_t *ii = L->ii;

	memset(ii, 0, (size_t)(w + 1) * sizeof *ii);
	for (int y = 0; y < h; y++) {
		const uint8_t *s = L->img + (size_t)y * w;
		uint32_t *o = ii + (size_t)(y + 1) * (w + 1), *u = o - (w + 1), run = 0;

		o[0] = 0;
		for (int x = 0; x < w; x++) {
			run += s[x];
			o[x + 1] = u[x + 1] + run;
		}
	}
}

/* The angle of the intensity centroid of the disc of radius PATCH_R. */
static float orientation(const struct level *L, int x, int y)
{
	int64_t m10 = 0, m01 = 0;

	for (int dy = -PATCH_R; dy <= PATCH_R; dy++) {
		const uint8_t *row = L->img + (size_t)(y + dy) * L->w + x;

		for (int dx = -PATCH_R; dx <= PATCH_R; dx++)
			if (dx * dx + dy * dy <= PATCH_R * PATCH_R) {
				m10 += (int64_t)dx * row[dx];
				m01 += (int64_t)dy * row[dx];
			}
	}
	return (float)atan2((double)m01, (double)m10);
}

/* The sum of the 5x5 box around the pixel nearest (x, y) (x, y >= 0). */
static int32_t box(const struct level *L, float x, float y)
{
	int xi = (int)(x + 0.5f), yi = (int)(y + 0.5f), W = L->w + 1;
	const uint32_t *a = L->ii + (size_t)(yi - BOX_R) * W + (xi - BOX_R);
	const uint32_t *b = a + (size_t)(2 * BOX_R + 1) * W;

	return (int32_t)(b[2 * BOX_R + 1] - b[0] - a[2 * BOX_R + 1] + a[0]);
}

/* The 256 tests turned by angle a around (x, y): bit i set when the box
 * around the first point of pair i is darker than the second's. */
static void describe(const struct level *L, const struct pattern *pt, int x, int y,
	float a, uint8_t *d)
{
	float c = cosf(a), s = sinf(a);

	memset(d, 0, FEAT_KEYS_DESC);
	for (int i = 0; i < NPAIRS; i++) {
		const float *q = pt->p[i];
		int32_t v1 = box(L, x + c * q[0] - s * q[1], y + s * q[0] + c * q[1]);
		int32_t v2 = box(L, x + c * q[2] - s * q[3], y + s * q[2] + c * q[3]);

		if (v1 < v2)
			d[i >> 3] |= (uint8_t)(0x80 >> (i & 7));
	}
}

/* ---------------------------------------------------------------- driver */

/* Resize a packed u8 image to dw x dh (area averaging when shrinking by 2
 * or more, else bilinear: imgprep's resize), rounded back to u8. */
static int resize_u8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh)
{
	float *tmp = malloc((size_t)dw * dh * sizeof *tmp);
	int e;

	if (!tmp)
		return FEAT_E_NOMEM;
	e = feat_resize_u8_to_f32(src, sw, sh, 1, 0, 0, (float)sw, (float)sh, tmp, dw, dh,
				  FEAT_RESIZE_AUTO);
	for (size_t i = 0; !e && i < (size_t)dw * dh; i++) {
		float v = tmp[i] + 0.5f;

		dst[i] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
	}
	free(tmp);
	return e;
}

struct run {
	const struct pattern *pt;
	int W, H;            /* the input image's frame */
	int nlev;
	struct level lev[FEAT_KEYS_MAX_LEVELS];
	struct cand *cand;
	int *cnt;
	struct feat_keys *k;
};

/*
 * The keypoints of the level-0 image img (w0 x h0) and its pyramid, up to
 * max, appended to s->k with flag.  The pyramid's images are made here
 * (levels 1.. from level 0); the scratch is the caller's.
 */
static int detect_pass(struct run *s, const uint8_t *img, int w0, int h0, int max, int flag)
{
	const double f = LEVEL_SHARE;
	double total = (1 - pow(f, s->nlev)) / (1 - f);
	int carry = 0, done = 0, e;

	for (int l = 0; l < s->nlev; l++) {
		struct level *L = &s->lev[l];
		int cum = (int)floor(max * (1 - pow(f, l + 1)) / (1 - f) / total + 0.5);
		int want = cum - done + carry, n, gw, ncells;
		double sx = (double)s->W / L->w, sy = (double)s->H / L->h;

		if (l == s->nlev - 1)
			want = max - done + carry;
		if (l == 0)
			memcpy(L->img, img, (size_t)w0 * h0);
		else if ((e = resize_u8(s->lev[l - 1].img, s->lev[l - 1].w, s->lev[l - 1].h,
					L->img, L->w, L->h)))
			return e;
		if (want <= 0) {
			carry = want;
			done = cum;
			continue;
		}
		sobel(L);
		n = corners(L, FAST_HI, s->cand);
		if (n < want)
			n = corners(L, FAST_LO, s->cand);
		qsort(s->cand, (size_t)n, sizeof *s->cand, cand_cmp);
		gw = (L->w + CELL - 1) / CELL;
		ncells = gw * ((L->h + CELL - 1) / CELL);
		n = spread(s->cand, n, want, ncells, s->cnt);
		carry = want - n;
		done = cum;
		if (!n)
			continue;
		integral(L);
		for (int i = 0; i < n; i++) {
			const struct cand *c = &s->cand[i];
			float a = orientation(L, c->x, c->y);
			float *p = s->k->pts + (size_t)s->k->n * FEAT_KEYS_COLS;

			p[0] = (float)((c->x + 0.5) * sx);
			p[1] = (float)((c->y + 0.5) * sy);
			p[2] = (float)(PATCH_D * (sx + sy) / 2);
			p[3] = a;
			p[4] = (float)flag;
			describe(L, s->pt, c->x, c->y, a, s->k->desc + (size_t)s->k->n * FEAT_KEYS_DESC);
			s->k->n++;
		}
	}
	return 0;
}

int feat_keys_check(const struct feat_keys_opt *o, char *why, size_t whylen)
{
	if (!o)
		return 0;
	if (o->max < 0 || o->max > FEAT_KEYS_MAX_MAX) {
		snprintf(why, whylen, "keypoint count %d out of range (1 to %d)", o->max,
			 FEAT_KEYS_MAX_MAX);
		return FEAT_E_INVAL;
	}
	if (o->side && (o->side < FEAT_KEYS_MIN_SIDE || o->side > FEAT_KEYS_MAX_SIDE)) {
		snprintf(why, whylen, "side %d out of range (%d to %d pixels)", o->side,
			 FEAT_KEYS_MIN_SIDE, FEAT_KEYS_MAX_SIDE);
		return FEAT_E_INVAL;
	}
	if (o->levels < 0 || o->levels > FEAT_KEYS_MAX_LEVELS) {
		snprintf(why, whylen, "pyramid levels %d out of range (1 to %d)", o->levels,
			 FEAT_KEYS_MAX_LEVELS);
		return FEAT_E_INVAL;
	}
	return 0;
}

void feat_keys_free(struct feat_keys *k)
{
	if (!k)
		return;
	free(k->pts);
	free(k->desc);
	free(k);
}

static void run_free(struct run *s)
{
	free(s->lev[0].img);
	free(s->lev[1].img);
	free(s->lev[0].gx);
	free(s->lev[0].gy);
	free(s->lev[0].at);
	free(s->lev[0].ii);
	free(s->cand);
	free(s->cnt);
}

int feat_keys_detect(const uint8_t *grey, int w, int h, size_t stride,
	const struct feat_keys_opt *opt, struct feat_keys **out, char *why, size_t whylen)
{
	struct feat_keys_opt o = { 0 };
	struct pattern pt;
	struct run s;
	struct feat_keys *k;
	uint8_t *l0 = NULL, *packed = NULL;
	int e, w0, h0, lng, passes;

	if (why && whylen)
		why[0] = 0;
	if (!out) {
		snprintf(why, whylen, "feat_keys_detect: no place for the result");
		return FEAT_E_INVAL;
	}
	*out = NULL;
	if (opt)
		o = *opt;
	if ((e = feat_keys_check(&o, why, whylen)))
		return e;
	if (w < 0 || h < 0 || (w && h && (!grey || stride < (size_t)w))) {
		snprintf(why, whylen, "feat_keys_detect: bad image (%d x %d, stride %zu%s)", w, h,
			 stride, grey ? "" : ", no pixels");
		return FEAT_E_INVAL;
	}
	if (w > MAX_DIM || h > MAX_DIM) {
		snprintf(why, whylen, "image too large (%d x %d pixels; at most %d a side)", w, h,
			 MAX_DIM);
		return FEAT_E_TOOBIG;
	}
	if (!o.max)
		o.max = FEAT_KEYS_DEFAULT_MAX;
	if (!o.side)
		o.side = FEAT_KEYS_DEFAULT_SIDE;
	if (!o.levels)
		o.levels = FEAT_KEYS_DEFAULT_LEVELS;
	passes = o.no_mirror ? 1 : 2;
	if (!(k = calloc(1, sizeof *k)))
		return FEAT_E_NOMEM;
	*out = k;
	memset(&s, 0, sizeof s);
	lng = w > h ? w : h;
	if (lng > o.side) {
		w0 = (int)floor((double)w * o.side / lng + 0.5);
		h0 = (int)floor((double)h * o.side / lng + 0.5);
	} else {
		w0 = w;
		h0 = h;
	}
	if (w0 < 2 * BORDER + 1 || h0 < 2 * BORDER + 1)
		return 0;   /* too small for one patch: no keypoints */

	e = FEAT_E_NOMEM;
	if (!(k->pts = malloc((size_t)passes * o.max * FEAT_KEYS_COLS * sizeof *k->pts)) ||
	    !(k->desc = malloc((size_t)passes * o.max * FEAT_KEYS_DESC)) ||
	    !(l0 = malloc((size_t)w0 * h0)))
		goto fail;
	/* level 0: the image resized (or copied, packed) */
	if (w0 != w || h0 != h) {
		const uint8_t *src = grey;

		if (stride != (size_t)w) {
			if (!(packed = malloc((size_t)w * h)))
				goto fail;
			for (int y = 0; y < h; y++)
				memcpy(packed + (size_t)y * w, grey + (size_t)y * stride, (size_t)w);
			src = packed;
		}
		if ((e = resize_u8(src, w, h, l0, w0, h0)))
			goto fail;
		free(packed);
		packed = NULL;
	} else {
		for (int y = 0; y < h; y++)
			memcpy(l0 + (size_t)y * w, grey + (size_t)y * stride, (size_t)w);
	}

	/* the pyramid's sizes, and scratch for the largest level */
	make_pattern(&pt);
	s.pt = &pt;
	s.W = w;
	s.H = h;
	s.k = k;
	e = FEAT_E_NOMEM;
	for (int l = 0; l < o.levels; l++) {
		struct level *L = &s.lev[l];
		double sc = pow(STEP, -l);
		size_t np;

		L->w = l ? (int)floor(w0 * sc + 0.5) : w0;
		L->h = l ? (int)floor(h0 * sc + 0.5) : h0;
		if (L->w < 2 * BORDER + 1 || L->h < 2 * BORDER + 1)
			break;
		np = (size_t)L->w * L->h;
		if (l > 1) {   /* each level is made from the one before */
			L->img = s.lev[l - 2].img;
		} else if (!(L->img = malloc(np))) {
			goto fail;
		}
		if (l) {
			L->gx = s.lev[0].gx;
			L->gy = s.lev[0].gy;
			L->at = s.lev[0].at;
			L->ii = s.lev[0].ii;
		} else if (!(L->gx = malloc(np * sizeof *L->gx)) ||
			   !(L->gy = malloc(np * sizeof *L->gy)) ||
			   !(L->at = calloc(np, sizeof *L->at)) ||
			   !(L->ii = malloc((size_t)(L->w + 1) * (L->h + 1) * sizeof *L->ii))) {
			goto fail;
		}
		s.nlev++;
	}
	if (!(s.cand = malloc((size_t)w0 * h0 * sizeof *s.cand)) ||
	    !(s.cnt = malloc((size_t)((w0 + CELL - 1) / CELL) * ((h0 + CELL - 1) / CELL) *
			     sizeof *s.cnt)))
		goto fail;
	if ((e = detect_pass(&s, l0, w0, h0, o.max, 0)))
		goto fail;
	if (passes == 2) {
		/* the mirror: level 0 turned left to right, then the same steps */
		for (int y = 0; y < h0; y++) {
			uint8_t *row = l0 + (size_t)y * w0;

			for (int i = 0, j = w0 - 1; i < j; i++, j--) {
				uint8_t t = row[i];

				row[i] = row[j];
				row[j] = t;
			}
		}
		if ((e = detect_pass(&s, l0, w0, h0, o.max, 1)))
			goto fail;
	}
	free(l0);
	run_free(&s);
	return 0;
fail:
	if (e == FEAT_E_NOMEM)
		snprintf(why, whylen, "out of memory");
	free(packed);
	free(l0);
	run_free(&s);
	feat_keys_free(k);
	*out = NULL;
	return e;
}

/* ---------------------------------------------------------- the record */

/*
 * The keypoints of the detector's box: when r has `dets`, the main box (the first row)
 * as cropbox cuts it by default (no margin), in the w x h image's pixels
 * (box, from the photo's frame), and its keypoints found as those of a
 * photo of its own (*kb; NULL when r has no `dets` or no box).  A box
 * that is the whole image adds nothing and is left out.
 */
static int box_keys(struct feat_rec *r, const uint8_t *grey, int w, int h,
	const struct feat_keys_opt *opt, struct feat_keys **kb, int box[4], char *why,
	size_t whylen)
{
	static const struct feat_crop_opts all = { 0 };
	struct feat_box *boxes;
	const float *dets;
	int fw, fh, n, nb, rect[4], e;

	*kb = NULL;
	/* an empty photo has no keypoints, in a box or not (as without dets) */
	if (!feat_rec_find(r, "dets") || !w || !h)
		return 0;
	if ((e = feat_crop_inputs(r, &fw, &fh, &dets, &n, why, whylen)))
		return e;
	if (n <= 0)
		return 0;
	if (!(boxes = malloc((size_t)n * sizeof *boxes))) {
		snprintf(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	nb = feat_crop_boxes(dets, n, fw, fh, &all, boxes);
	if (nb > 0)
		feat_crop_rect(&boxes[0], fw, fh, &all, rect);
	free(boxes);
	if (nb <= 0)
		return 0;
	feat_crop_frame_to_image(rect, fw, fh, w, h, box);
	if (box[0] == 0 && box[1] == 0 && box[2] == w && box[3] == h)
		return 0;
	return feat_keys_detect(grey + (size_t)box[1] * w + box[0], box[2] - box[0],
				box[3] - box[1], (size_t)w, opt, kb, why, whylen);
}

int feat_keys_rec(struct feat_rec *r, const struct feat_keys_opt *opt, int keep_image,
	char *why, size_t whylen)
{
	struct feat_tensor *t = feat_rec_find(r, "image");
	struct feat_keys *k = NULL, *kb = NULL;
	uint32_t dk[2], dd[2];
	int box[4] = { 0 }, nb;
	uint8_t *grey;
	int w, h, c, e;
	double fx = 1, fy = 1;

	if (!t) {
		snprintf(why, whylen, "no 'image' tensor (imgkeys reads imgdecode's output)");
		return FEAT_E_NOTFOUND;
	}
	if (t->dtype != FEAT_DT_U8 || t->ndim != 3 ||
	    (t->dims[2] != 1 && t->dims[2] != 3 && t->dims[2] != 4)) {
		char shape[96] = "";

		for (int i = 0; i < t->ndim; i++)
			snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%u",
				 i ? " " : "", (unsigned)t->dims[i]);
		snprintf(why, whylen, "'image' is %s [%s], expected u8 [H, W, C] with C = 1, 3 or 4",
			 feat_dtype_name(t->dtype) ? feat_dtype_name(t->dtype) : "?", shape);
		return FEAT_E_FORMAT;
	}
	if (t->dims[0] > MAX_DIM || t->dims[1] > MAX_DIM) {
		snprintf(why, whylen, "'image' is too large (%u x %u pixels; at most %d a side)",
			 (unsigned)t->dims[1], (unsigned)t->dims[0], MAX_DIM);
		return FEAT_E_TOOBIG;
	}
	h = (int)t->dims[0];
	w = (int)t->dims[1];
	c = (int)t->dims[2];
	if ((t = feat_rec_find(r, "origsize"))) {
		const int32_t *v = t->data;

		if (t->dtype != FEAT_DT_I32 || feat_tensor_count(t) != 2 || v[0] < 1 || v[1] < 1) {
			snprintf(why, whylen, "'origsize' is not i32 [2] holding a width and a height of at least 1");
			return FEAT_E_FORMAT;
		}
		if (w && h) {
			fx = (double)v[0] / w;
			fy = (double)v[1] / h;
		}
	}
	t = feat_rec_find(r, "image");
	if (!(grey = malloc((size_t)w * h + 1)))
		return FEAT_E_NOMEM;
	if (c == 1) {
		memcpy(grey, t->data, (size_t)w * h);
	} else {
		const uint8_t *p = t->data;

		for (size_t i = 0; i < (size_t)w * h; i++, p += c)
			grey[i] = (uint8_t)((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
	}
	e = feat_keys_detect(grey, w, h, (size_t)w, opt, &k, why, whylen);
	if (!e && !(opt && opt->no_box))
		e = box_keys(r, grey, w, h, opt, &kb, box, why, whylen);
	free(grey);
	if (e) {
		feat_keys_free(k);
		return e;
	}
	nb = kb ? kb->n : 0;
	dk[0] = dd[0] = (uint32_t)(k->n + nb);
	dk[1] = FEAT_KEYS_COLS;
	dd[1] = FEAT_KEYS_DESC;
	if (!(t = feat_rec_add(r, "keys", FEAT_DT_F32, 2, dk, &e)))
		goto fail;
	for (int i = 0; i < k->n; i++) {
		const float *p = k->pts + (size_t)i * FEAT_KEYS_COLS;
		float *q = (float *)t->data + (size_t)i * FEAT_KEYS_COLS;

		q[0] = (float)(p[0] * fx);
		q[1] = (float)(p[1] * fy);
		q[2] = (float)(p[2] * (fx + fy) / 2);
		q[3] = p[3];
		q[4] = p[4];
	}
	/* the box's: from its corner; the mirror's in the box's mirror */
	for (int i = 0; i < nb; i++) {
		const float *p = kb->pts + (size_t)i * FEAT_KEYS_COLS;
		float *q = (float *)t->data + (size_t)(k->n + i) * FEAT_KEYS_COLS;

		q[0] = (float)((p[0] + box[0]) * fx);
		q[1] = (float)((p[1] + box[1]) * fy);
		q[2] = (float)(p[2] * (fx + fy) / 2);
		q[3] = p[3];
		q[4] = p[4] + 2;
	}
	if (!(t = feat_rec_add(r, "kdesc", FEAT_DT_U8, 2, dd, &e)))
		goto fail;
	if (k->n)
		memcpy(t->data, k->desc, (size_t)k->n * FEAT_KEYS_DESC);
	if (nb)
		memcpy((uint8_t *)t->data + (size_t)k->n * FEAT_KEYS_DESC, kb->desc,
		       (size_t)nb * FEAT_KEYS_DESC);
	feat_keys_free(k);
	feat_keys_free(kb);
	if (!keep_image)
		feat_rec_remove(r, "image");
	return 0;
fail:
	feat_keys_free(k);
	feat_keys_free(kb);
	if (e == FEAT_E_NOMEM)
		snprintf(why, whylen, "out of memory");
	else
		snprintf(why, whylen, "no room for the keypoints (%s)", feat_strerror(e));
	return e;
}
