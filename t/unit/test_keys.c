/*
 * test_keys.c - feat_keys_detect() and feat_keys_rec(): the properties a
 * matcher relies on, checked on synthetic images drawn here (random
 * rectangles and discs of random grey levels):
 *
 * - the same pixels give the same keypoints, bit for bit;
 * - a window of a texture and the same texture's window a few pixels
 *   further give, away from the borders, keypoints at the shifted places
 *   with the same angle and descriptor (level 0, where a whole-pixel shift
 *   stays one: the coarser levels are resized);
 * - the image turned by 90 degrees (a pixel permutation) gives keypoints
 *   at the mapped places whose angle is turned by 90 degrees and whose
 *   descriptors are within 8 bits of the originals' (95% of them; all
 *   within 1 bit when written);
 * - the mirror image's mirror keypoints are the image's own, exactly;
 * - empty, tiny and flat images give none, bad arguments an error;
 * - the count never exceeds max, and a dense region cannot take every
 *   keypoint from a sparse one (the per-cell quota).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "unit.h"

static uint32_t rng;

static uint32_t rnd(void)
{
	rng = rng * 1664525u + 1013904223u;
	return rng >> 8;
}

/* A w x h texture: a grey background and n rectangles and discs. */
static uint8_t *texture(int w, int h, int n, uint32_t seed)
{
	uint8_t *p = malloc((size_t)w * h);

	ck_assert_ptr_nonnull(p);
	rng = seed;
	memset(p, 128, (size_t)w * h);
	for (int i = 0; i < n; i++) {
		int x0 = (int)(rnd() % w), y0 = (int)(rnd() % h);
		int s = 4 + (int)(rnd() % 30), v = (int)(rnd() % 256), disc = rnd() & 1;

		for (int y = y0; y < y0 + s && y < h; y++)
			for (int x = x0; x < x0 + s && x < w; x++) {
				int dx = 2 * (x - x0) - s, dy = 2 * (y - y0) - s;

				if (!disc || dx * dx + dy * dy <= s * s)
					p[(size_t)y * w + x] = (uint8_t)v;
			}
	}
	return p;
}

static struct feat_keys *detect(const uint8_t *p, int w, int h, size_t stride,
	const struct feat_keys_opt *o)
{
	struct feat_keys *k = NULL;
	char why[256] = "";
	int e = feat_keys_detect(p, w, h, stride, o, &k, why, sizeof why);

	ck_assert_msg(e == 0, "feat_keys_detect: %d %s", e, why);
	ck_assert_ptr_nonnull(k);
	return k;
}

static const float *pt(const struct feat_keys *k, int i)
{
	return k->pts + (size_t)i * FEAT_KEYS_COLS;
}

static const uint8_t *desc(const struct feat_keys *k, int i)
{
	return k->desc + (size_t)i * FEAT_KEYS_DESC;
}

static int hamming(const uint8_t *a, const uint8_t *b)
{
	int d = 0;

	for (int i = 0; i < FEAT_KEYS_DESC; i++)
		d += __builtin_popcount(a[i] ^ b[i]);
	return d;
}

static int count_flag(const struct feat_keys *k, int flag)
{
	int n = 0;

	for (int i = 0; i < k->n; i++)
		n += pt(k, i)[4] == (float)flag;
	return n;
}

/* ----------------------------------------------------------------- tests */

START_TEST(deterministic)
{
	uint8_t *p = texture(320, 240, 120, 1);
	struct feat_keys *a = detect(p, 320, 240, 320, NULL), *b = detect(p, 320, 240, 320, NULL);

	ck_assert_int_gt(a->n, 400);   /* a textured image fills most of 300 + 300 */
	ck_assert_int_eq(a->n, b->n);
	ck_assert(!memcmp(a->pts, b->pts, (size_t)a->n * FEAT_KEYS_COLS * sizeof *a->pts));
	ck_assert(!memcmp(a->desc, b->desc, (size_t)a->n * FEAT_KEYS_DESC));
	for (int i = 0; i < a->n; i++) {
		const float *q = pt(a, i);

		ck_assert(q[0] > 0 && q[0] < 320 && q[1] > 0 && q[1] < 240);
		ck_assert(q[2] >= 31 && q[3] >= -M_PI - 1e-6 && q[3] <= M_PI + 1e-6);
		ck_assert(q[4] == 0 || q[4] == 1);
		if (i)   /* the image's keypoints first, then the mirror's */
			ck_assert(pt(a, i - 1)[4] <= q[4]);
	}
	feat_keys_free(a);
	feat_keys_free(b);
	free(p);
}
END_TEST

/* A stride wider than the width reads the same pixels. */
START_TEST(stride)
{
	uint8_t *p = texture(200, 150, 60, 2), *q = calloc(1, 256 * 150);
	struct feat_keys *a, *b;

	for (int y = 0; y < 150; y++)
		memcpy(q + (size_t)y * 256, p + (size_t)y * 200, 200);
	a = detect(p, 200, 150, 200, NULL);
	b = detect(q, 200, 150, 256, NULL);
	ck_assert_int_gt(a->n, 0);
	ck_assert_int_eq(a->n, b->n);
	ck_assert(!memcmp(a->pts, b->pts, (size_t)a->n * FEAT_KEYS_COLS * sizeof *a->pts));
	ck_assert(!memcmp(a->desc, b->desc, (size_t)a->n * FEAT_KEYS_DESC));
	feat_keys_free(a);
	feat_keys_free(b);
	free(p);
	free(q);
}
END_TEST

/* Near the border the pixels around a keypoint differ between the two
 * windows; a level-0 keypoint only depends on pixels within 19 of it. */
#define FAR 40

START_TEST(shift)
{
	const int W = 320, H = 240, dx = 7, dy = 5;
	uint8_t *t = texture(W + dx, H + dy, 140, 3), *a = malloc((size_t)W * H), *b = malloc((size_t)W * H);
	struct feat_keys *ka, *kb;
	int cand = 0, found = 0;

	for (int y = 0; y < H; y++) {
		memcpy(a + (size_t)y * W, t + (size_t)y * (W + dx), W);
		memcpy(b + (size_t)y * W, t + (size_t)(y + dy) * (W + dx) + dx, W);
	}
	ka = detect(a, W, H, W, NULL);
	kb = detect(b, W, H, W, NULL);
	for (int i = 0; i < ka->n; i++) {
		const float *p = pt(ka, i);
		float x = p[0] - dx, y = p[1] - dy;

		if (p[4] != 0 || p[2] != 31 || x < FAR || y < FAR || x > W - FAR || y > H - FAR ||
		    p[0] > W - FAR || p[1] > H - FAR)
			continue;
		cand++;
		for (int j = 0; j < kb->n; j++) {
			const float *q = pt(kb, j);

			if (q[4] == 0 && q[2] == 31 && q[0] == x && q[1] == y) {
				ck_assert_msg(q[3] == p[3], "angle %g, shifted %g", p[3], q[3]);
				ck_assert_msg(!memcmp(desc(ka, i), desc(kb, j), FEAT_KEYS_DESC),
					      "descriptor at (%g, %g) differs by %d bits", x, y,
					      hamming(desc(ka, i), desc(kb, j)));
				found++;
				break;
			}
		}
	}
	/* the keypoints kept in a cell depend on the cell's other corners,
	 * and the grid does not move with the image: most, not all (44 of
	 * 68 on this image when written; 32 of them since level 0 gets 0.85
	 * of the keypoints to the next level's 1, not 1.69) */
	printf("# shift: %d of %d level-0 keypoints found shifted, all identical\n", found, cand);
	ck_assert_int_ge(cand, 25);
	ck_assert_msg(found * 2 >= cand, "%d of %d level-0 keypoints found shifted", found, cand);
	feat_keys_free(ka);
	feat_keys_free(kb);
	free(t);
	free(a);
	free(b);
}
END_TEST

/*
 * Turned clockwise by 90 degrees: R (H wide, W high), R[x][H-1-y] = A[y][x],
 * so that a point (x, y) of A (continuous, pixel i covering [i, i+1)) is
 * (H - y, x) in R and its angle grows by pi/2 (y points down).
 */
START_TEST(rotate90)
{
	const int W = 320, H = 240;
	uint8_t *a = texture(W, H, 140, 4), *r = malloc((size_t)W * H);
	struct feat_keys *ka, *kr;
	int all = 0, found = 0, close = 0, found0 = 0, close0 = 0, all0 = 0, max = 0, max0 = 0;

	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			r[(size_t)x * H + (H - 1 - y)] = a[(size_t)y * W + x];
	ka = detect(a, W, H, W, NULL);
	kr = detect(r, H, W, H, NULL);
	for (int i = 0; i < ka->n; i++) {
		const float *p = pt(ka, i);
		float x = H - p[1], y = p[0];
		int best = -1;
		double bd = 1e9;

		if (p[4] != 0)
			continue;
		all++;
		all0 += p[2] == 31;
		for (int j = 0; j < kr->n; j++) {
			const float *q = pt(kr, j);
			double d = hypot(q[0] - x, q[1] - y);

			if (q[4] == 0 && fabs(q[2] - p[2]) < 0.05 * p[2] && d < bd) {
				bd = d;
				best = j;
			}
		}
		/* within 1.5 pixels of the level (levels are resized, so a
		 * coarse keypoint may move by a fraction of a level pixel) */
		if (best < 0 || bd > 1.5 * p[2] / 31)
			continue;
		if (p[2] == 31) {
			/* level 0: a permutation of the same pixels, so the
			 * same corner at exactly the mapped place (a corner
			 * whose response ties with a neighbour's may move by
			 * one pixel: the tie goes to the first in raster order) */
			double da = remainder(pt(kr, best)[3] - p[3] - M_PI / 2, 2 * M_PI);

			if (bd != 0)
				continue;
			found0++;
			ck_assert_msg(fabs(da) < 1e-4, "level-0 angle %g, turned %g", p[3],
				      pt(kr, best)[3]);
			close0 += hamming(desc(ka, i), desc(kr, best)) <= 8;
			if (hamming(desc(ka, i), desc(kr, best)) > max0)
				max0 = hamming(desc(ka, i), desc(kr, best));
		}
		found++;
		close += hamming(desc(ka, i), desc(kr, best)) <= 8;
		if (hamming(desc(ka, i), desc(kr, best)) > max)
			max = hamming(desc(ka, i), desc(kr, best));
	}
	/* on this image when written: 210 of 300 found (the rest fall in
	 * other cells' quotas or move by more at the resized levels), every
	 * one within 1 bit; at level 0, 87 of 132 at exactly the mapped place,
	 * identical */
	printf("# rotate90: %d of %d keypoints found turned, %d of them within 8 bits (most %d); "
	       "level 0: %d of %d found, %d within 8 bits (most %d)\n", found, all, close, max,
	       found0, all0, close0, max0);
	ck_assert_int_ge(found * 10, all * 6);
	ck_assert_int_ge(close * 100, found * 95);
	ck_assert_int_ge(found0 * 2, all0);
	ck_assert_int_ge(close0 * 100, found0 * 95);
	feat_keys_free(ka);
	feat_keys_free(kr);
	free(a);
	free(r);
}
END_TEST

/* The mirror's keypoints of the mirror image are the image's keypoints,
 * and the other way round; x of flag 1 is in the mirror's frame. */
START_TEST(mirror)
{
	const int W = 300, H = 220;
	uint8_t *a = texture(W, H, 120, 5), *m = malloc((size_t)W * H);
	struct feat_keys *ka, *km;
	int n0, n1;

	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			m[(size_t)y * W + (W - 1 - x)] = a[(size_t)y * W + x];
	ka = detect(a, W, H, W, NULL);
	km = detect(m, W, H, W, NULL);
	n0 = count_flag(ka, 0);
	n1 = count_flag(ka, 1);
	ck_assert_int_gt(n0, 100);
	ck_assert_int_eq(n0 + n1, ka->n);
	ck_assert_int_eq(count_flag(km, 1), n0);
	ck_assert_int_eq(count_flag(km, 0), n1);
	for (int i = 0; i < n0; i++) {
		const float *p = pt(ka, i), *q = pt(km, n1 + i);

		ck_assert(p[4] == 0 && q[4] == 1);
		ck_assert(!memcmp(p, q, 4 * sizeof *p));
		ck_assert(!memcmp(desc(ka, i), desc(km, n1 + i), FEAT_KEYS_DESC));
	}
	for (int i = 0; i < n1; i++) {
		const float *p = pt(ka, n0 + i), *q = pt(km, i);

		ck_assert(!memcmp(p, q, 4 * sizeof *p));
		ck_assert(!memcmp(desc(ka, n0 + i), desc(km, i), FEAT_KEYS_DESC));
	}
	/* --no-mirror: the image's keypoints alone, the same ones */
	{
		struct feat_keys_opt o = { .no_mirror = 1 };
		struct feat_keys *kn = detect(a, W, H, W, &o);

		ck_assert_int_eq(kn->n, n0);
		ck_assert(!memcmp(kn->pts, ka->pts, (size_t)n0 * FEAT_KEYS_COLS * sizeof *kn->pts));
		feat_keys_free(kn);
	}
	feat_keys_free(ka);
	feat_keys_free(km);
	free(a);
	free(m);
}
END_TEST

START_TEST(empty_tiny_flat)
{
	static const int sizes[][2] = {
		{ 0, 0 }, { 1, 1 }, { 0, 50 }, { 50, 0 }, { 2, 1000 }, { 1000, 3 },
		{ 38, 38 }, { 40, 40 }, { 200, 150 }, { 1200, 900 },
	};
	uint8_t *flat = malloc(1200 * 900), *tex = texture(38, 38, 20, 6);

	memset(flat, 77, 1200 * 900);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct feat_keys *k = detect(sizes[i][0] ? flat : NULL, sizes[i][0], sizes[i][1],
					     (size_t)sizes[i][0], NULL);

		ck_assert_msg(k->n == 0, "%dx%d flat: %d keypoints", sizes[i][0], sizes[i][1], k->n);
		feat_keys_free(k);
	}
	/* too small for one patch (2 x 19 + 1 pixels), textured or not */
	{
		struct feat_keys *k = detect(tex, 38, 38, 38, NULL);

		ck_assert_int_eq(k->n, 0);
		feat_keys_free(k);
	}
	free(flat);
	free(tex);
}
END_TEST

START_TEST(bad_arguments)
{
	uint8_t px[16] = { 0 };
	struct feat_keys *k = (struct feat_keys *)1;
	struct feat_keys_opt o = { 0 };
	char why[256];

	ck_assert_int_eq(feat_keys_detect(px, -1, 4, 4, NULL, &k, why, sizeof why), FEAT_E_INVAL);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(feat_keys_detect(px, 4, 4, 3, NULL, &k, why, sizeof why), FEAT_E_INVAL);
	ck_assert_int_eq(feat_keys_detect(NULL, 4, 4, 4, NULL, &k, why, sizeof why), FEAT_E_INVAL);
	ck_assert_int_eq(feat_keys_detect(px, 4, 4, 4, NULL, NULL, why, sizeof why), FEAT_E_INVAL);
	ck_assert_int_eq(feat_keys_detect(px, 70000, 1, 70000, NULL, &k, why, sizeof why), FEAT_E_TOOBIG);
	ck_assert(strstr(why, "too large"));
	o.max = -1;
	ck_assert_int_eq(feat_keys_detect(px, 4, 4, 4, &o, &k, why, sizeof why), FEAT_E_INVAL);
	ck_assert(strstr(why, "count"));
	o.max = 0;
	o.side = 10;
	ck_assert_int_eq(feat_keys_check(&o, why, sizeof why), FEAT_E_INVAL);
	o.side = 0;
	o.levels = 17;
	ck_assert_int_eq(feat_keys_check(&o, why, sizeof why), FEAT_E_INVAL);
	ck_assert_int_eq(feat_keys_check(NULL, why, sizeof why), 0);
	feat_keys_free(NULL);
}
END_TEST

START_TEST(max_count)
{
	uint8_t *p = texture(400, 300, 300, 7);
	static const int maxes[] = { 1, 7, 50, 300, 1000 };

	for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
		struct feat_keys_opt o = { .max = maxes[i] };
		struct feat_keys *k = detect(p, 400, 300, 400, &o);

		ck_assert_int_le(count_flag(k, 0), maxes[i]);
		ck_assert_int_le(count_flag(k, 1), maxes[i]);
		if (maxes[i] <= 50)   /* this texture has corners enough */
			ck_assert_int_eq(count_flag(k, 0), maxes[i]);
		else if (maxes[i] == 300)   /* the coarsest levels, given 0.85 of
					       the level before, may run short */
			ck_assert_int_ge(count_flag(k, 0), 285);
		feat_keys_free(k);
	}
	free(p);
}
END_TEST

/*
 * The quota: the left half dense with small bright squares on black (each
 * four strong corners, far more than the budget), the right half grey with
 * a few large squares of low contrast (24 weak corners).  Ranked by
 * response alone the left half would take every keypoint; with the cells'
 * quota the right half's corners are kept.  The smallest level is left
 * out to keep it about one scale.
 */
START_TEST(cell_quota)
{
	const int W = 384, H = 256;
	uint8_t *p = malloc((size_t)W * H);
	struct feat_keys_opt o = { .levels = 1, .no_mirror = 1, .max = 150 };
	struct feat_keys *k;
	int right = 0, cells[12][8] = { { 0 } }, most = 0;

	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int v;

			if (x < W / 2)
				v = (x % 12 < 6 && y % 12 < 6) ? 255 : 0;
			else
				v = 100;
			p[(size_t)y * W + x] = (uint8_t)v;
		}
	for (int i = 0; i < 6; i++) {   /* 3 x 2 squares of 20 px, grey 140 */
		int x0 = W / 2 + 40 + (i % 3) * 50, y0 = 60 + (i / 3) * 90;

		for (int y = y0; y < y0 + 20; y++)
			memset(p + (size_t)y * W + x0, 140, 20);
	}
	k = detect(p, W, H, W, &o);
	printf("# cell_quota: %d keypoints\n", k->n);
	for (int i = 0; i < k->n; i++) {
		const float *q = pt(k, i);
		int c = ++cells[(int)q[0] / 32][(int)q[1] / 32];

		right += q[0] > W / 2 + 20;
		if (c > most)
			most = c;
	}
	printf("# cell_quota: right %d, most in a cell %d\n", right, most);
	/* the 24 weak corners all kept; and a cell gets a fourth keypoint
	 * only when every cell has three or has no more: the left half's
	 * 48 cells (6 x 8, most with 4 or more squares) fill the other 126
	 * places with 3 a cell at most */
	ck_assert_msg(right >= 22, "%d keypoints on the right half", right);
	ck_assert_msg(most <= 4, "%d keypoints in one cell", most);
	feat_keys_free(k);
	free(p);
}
END_TEST

/* The record step: `keys` and `kdesc` in the photo's frame, `image` gone
 * or kept, bad images rejected with a reason. */
START_TEST(record)
{
	const int W = 240, H = 180;
	uint8_t *g = texture(W, H, 80, 8);
	uint32_t d[3] = { H, W, 3 }, od[1] = { 2 };
	struct feat_rec r;
	struct feat_tensor *t;
	struct feat_keys *k = detect(g, W, H, W, NULL);
	char why[256];

	feat_rec_init(&r);
	t = feat_rec_add(&r, "image", FEAT_DT_U8, 3, d, NULL);
	for (int i = 0; i < W * H; i++)   /* grey = (77 + 150 + 29) v / 256 = v */
		memset((uint8_t *)t->data + 3 * i, g[i], 3);
	t = feat_rec_add(&r, "origsize", FEAT_DT_I32, 1, od, NULL);
	((int32_t *)t->data)[0] = 2 * W;
	((int32_t *)t->data)[1] = 2 * H;
	ck_assert_int_eq(feat_keys_rec(&r, NULL, 0, why, sizeof why), 0);
	ck_assert_ptr_null(feat_rec_find(&r, "image"));
	t = feat_rec_find(&r, "keys");
	ck_assert(t && t->dtype == FEAT_DT_F32 && t->ndim == 2);
	ck_assert_int_eq(t->dims[0], k->n);
	ck_assert_int_eq(t->dims[1], 5);
	for (int i = 0; i < k->n; i++) {
		const float *a = pt(k, i), *b = (const float *)t->data + 5 * i;

		ck_assert_float_eq(b[0], 2 * a[0]);
		ck_assert_float_eq(b[1], 2 * a[1]);
		ck_assert_float_eq(b[2], 2 * a[2]);
		ck_assert_float_eq(b[3], a[3]);
		ck_assert_float_eq(b[4], a[4]);
	}
	t = feat_rec_find(&r, "kdesc");
	ck_assert(t && t->dtype == FEAT_DT_U8 && t->ndim == 2 && t->dims[1] == 32);
	ck_assert(!memcmp(t->data, k->desc, (size_t)k->n * 32));

	/* no image; a bad one; a tiny one (no keypoints: N = 0) */
	feat_rec_clear(&r);
	ck_assert_int_eq(feat_keys_rec(&r, NULL, 0, why, sizeof why), FEAT_E_NOTFOUND);
	ck_assert(strstr(why, "no 'image'"));
	d[2] = 2;
	feat_rec_add(&r, "image", FEAT_DT_U8, 3, d, NULL);
	ck_assert_int_eq(feat_keys_rec(&r, NULL, 0, why, sizeof why), FEAT_E_FORMAT);
	ck_assert(strstr(why, "expected u8 [H, W, C]"));
	feat_rec_clear(&r);
	d[0] = d[1] = 1;
	d[2] = 1;
	feat_rec_add(&r, "image", FEAT_DT_U8, 3, d, NULL);
	ck_assert_int_eq(feat_keys_rec(&r, NULL, 1, why, sizeof why), 0);
	ck_assert_ptr_nonnull(feat_rec_find(&r, "image"));
	t = feat_rec_find(&r, "keys");
	ck_assert(t && t->dims[0] == 0 && t->dims[1] == 5);
	t = feat_rec_find(&r, "kdesc");
	ck_assert(t && t->dims[0] == 0 && t->dims[1] == 32);
	/* an empty one with a detector's box: no keypoints either, not an
	 * error (as without dets) */
	feat_rec_clear(&r);
	d[0] = 0;
	d[1] = 50;
	feat_rec_add(&r, "image", FEAT_DT_U8, 3, d, NULL);
	{
		uint32_t dd[2] = { 1, 6 };
		float *b = feat_rec_add(&r, "dets", FEAT_DT_F32, 2, dd, NULL)->data;

		b[0] = 1, b[1] = 0.9f, b[2] = 0, b[3] = 0, b[4] = 10, b[5] = 10;
	}
	ck_assert_int_eq(feat_keys_rec(&r, NULL, 0, why, sizeof why), 0);
	t = feat_rec_find(&r, "keys");
	ck_assert(t && t->dims[0] == 0 && t->dims[1] == 5);
	feat_rec_free(&r);
	feat_keys_free(k);
	free(g);
}
END_TEST

/* A bright photo at the largest sides: the integral image's sums pass
 * 2^31 (3000 x 3000 x 255), yet the dark square's four corners are found
 * where they are (and the sanitised build sees no overflow). */
START_TEST(large_bright)
{
	const int W = 3000, H = 3000;
	uint8_t *g = malloc((size_t)W * H);
	struct feat_keys_opt o = { .max = 20, .side = 3000, .levels = 1, .no_mirror = 1 };
	struct feat_keys *k;

	ck_assert_ptr_nonnull(g);
	memset(g, 255, (size_t)W * H);
	for (int y = 2900; y < 2950; y++)
		memset(g + (size_t)y * W + 2900, 0, 50);
	k = detect(g, W, H, W, &o);
	ck_assert_int_eq(k->n, 4);
	for (int i = 0; i < k->n; i++) {
		float x = pt(k, i)[0], y = pt(k, i)[1];

		ck_assert_msg((fabsf(x - 2900) < 3 || fabsf(x - 2950) < 3) &&
			      (fabsf(y - 2900) < 3 || fabsf(y - 2950) < 3),
			      "keypoint %d at %.1f, %.1f: not a corner of the square", i, x, y);
	}
	feat_keys_free(k);
	free(g);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("keys");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, deterministic);
	tcase_add_test(tc, stride);
	tcase_add_test(tc, shift);
	tcase_add_test(tc, rotate90);
	tcase_add_test(tc, mirror);
	tcase_add_test(tc, empty_tiny_flat);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, max_count);
	tcase_add_test(tc, cell_quota);
	tcase_add_test(tc, record);
	tcase_add_test(tc, large_bright);
	suite_add_tcase(s, tc);
	return s;
}
