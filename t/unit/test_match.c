/*
 * test_match.c - near-duplicates by keypoints (feat/match.h) on keypoint
 * sets made here, where the truth is known: a photo, a re-post of part of
 * it scaled, turned and moved (descriptors with a few bits flipped, and
 * keypoints of its own), a mirrored re-post (its photo keypoints are the
 * original's mirror keypoints), and unrelated photos.  The re-posts must
 * be found with most of their keypoints, the unrelated photos not at all,
 * whatever the threads; keypoints of a detector's box (flags 2 and 3)
 * match only their kind; bad keypoints are refused by name.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "unit.h"

static uint64_t rng = 0x853c49e6748fea9bULL;

static uint64_t xs(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double unif(double lo, double hi)
{
	return lo + (hi - lo) * (double)(xs() >> 11) / 9007199254740992.0;
}

struct photo {
	uint32_t n;
	float k[600][FEAT_KEY_FIELDS];
	uint8_t d[600][FEAT_KEY_DESC];
};

static void put(struct photo *p, float x, float y, float size, float flag, const uint8_t *d)
{
	float *k = p->k[p->n];

	k[0] = x;
	k[1] = y;
	k[2] = size;
	k[3] = (float)unif(-3.1, 3.1);
	k[4] = flag;
	if (d)
		memcpy(p->d[p->n], d, FEAT_KEY_DESC);
	else
		for (int i = 0; i < FEAT_KEY_DESC; i++)
			p->d[p->n][i] = (uint8_t)xs();
	p->n++;
}

/* n random keypoints of both flags in a w x h photo. */
static void random_photo(struct photo *p, int n, float w, float h)
{
	p->n = 0;
	for (int i = 0; i < n; i++)
		put(p, (float)unif(0, w), (float)unif(0, h), (float)unif(20, 60), (float)(i & 1), NULL);
}

/* The photo keypoints (flag 0, or 1 for the mirror ones) of src taken to
 * dst by x' = s R x + t, about `keep` of them, descriptors with up to
 * `flips` bits changed, and `extra` keypoints of dst's own. */
static int transform(struct photo *dst, const struct photo *src, int flag, double s, double deg,
	double tx, double ty, double keep, int flips, int extra)
{
	double c = s * cos(deg * M_PI / 180), sn = s * sin(deg * M_PI / 180);
	int kept = 0;

	dst->n = 0;
	for (uint32_t i = 0; i < src->n; i++) {
		const float *k = src->k[i];
		uint8_t d[FEAT_KEY_DESC];

		if (k[4] != (float)flag || unif(0, 1) >= keep)
			continue;
		memcpy(d, src->d[i], sizeof d);
		for (int f = (int)(xs() % (uint64_t)(flips + 1)); f > 0; f--) {
			int b = (int)(xs() % 256);

			d[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
		}
		put(dst, (float)(c * k[0] - sn * k[1] + tx + unif(-0.5, 0.5)),
		    (float)(sn * k[0] + c * k[1] + ty + unif(-0.5, 0.5)), (float)(k[2] * s), 0, d);
		kept++;
	}
	for (int i = 0; i < extra; i++)
		put(dst, (float)unif(0, 500), (float)unif(0, 500), (float)unif(20, 60), (float)(i & 1),
		    NULL);
	return kept;
}

static struct photo ph[64];
static int kept_b, kept_d;

/* 0: the original, 1: a re-post, 2: a mirrored re-post, 3..: unrelated */
static feat_match *make_set(int nphotos)
{
	feat_match *m;
	char key[32], why[128];

	rng = 0x853c49e6748fea9bULL;
	random_photo(&ph[0], 400, 600, 400);
	kept_b = transform(&ph[1], &ph[0], 0, 0.6, 5, 40, 30, 0.7, 12, 100);
	kept_d = transform(&ph[2], &ph[0], 1, 1.3, -3, -20, 10, 0.6, 12, 100);
	for (int i = 3; i < nphotos; i++)
		random_photo(&ph[i], 300, 500, 500);
	ck_assert_int_eq(feat_match_new(&m), 0);
	for (int i = 0; i < nphotos; i++) {
		snprintf(key, sizeof key, "photo-%d", i);
		ck_assert_int_eq(feat_match_add(m, key, strlen(key), &ph[i].k[0][0], &ph[i].d[0][0],
						ph[i].n, why, sizeof why), 0);
	}
	return m;
}

START_TEST(test_verify)
{
	feat_match *m = make_set(8);
	struct feat_match_opt o = { 0 };
	unsigned ab = feat_match_verify(m, 0, 1, &o), ba = feat_match_verify(m, 1, 0, &o);
	unsigned ad = feat_match_verify(m, 0, 2, &o);

	/* the re-posts: most of the shared keypoints agree */
	ck_assert_uint_eq(ab, ba);
	ck_assert_msg(ab >= (unsigned)(kept_b * 9 / 10), "re-post: %u of %d", ab, kept_b);
	ck_assert_msg(ab <= (unsigned)kept_b, "re-post: %u of %d", ab, kept_b);
	ck_assert_msg(ad >= (unsigned)(kept_d * 9 / 10), "mirror: %u of %d", ad, kept_d);
	/* unrelated photos: chance keypoint pairs do not agree on a transform */
	for (uint32_t i = 3; i < 8; i++) {
		ck_assert_uint_le(feat_match_verify(m, 0, i, &o), 3);
		ck_assert_uint_le(feat_match_verify(m, 1, i, &o), 3);
	}
	/* the re-post and the mirrored one share no keypoints */
	ck_assert_uint_le(feat_match_verify(m, 1, 2, &o), 3);
	/* a keypoint's own pair only: a photo against itself is not asked */
	ck_assert_uint_eq(feat_match_verify(m, 0, 0, &o), 0);
	ck_assert_uint_eq(feat_match_verify(m, 0, 99, &o), 0);
	feat_match_free(m);
}
END_TEST

/* Ten keypoints at the same places in two photos, each descriptor 40
 * bits from its partner (within max_dist 64, far nearer than the
 * others, about 128 away): all ten pairs agree at the default ratio, and
 * a looser ratio test (1: only ties refused; above 1: none) finds them
 * too; the second nearest is then looked for at any distance. */
START_TEST(test_ratio)
{
	static struct photo a, b;
	feat_match *m;
	float ratios[] = { 0.85f, 1.0f, 1.5f, 2.0f };

	a.n = b.n = 0;
	for (int i = 0; i < 10; i++) {
		put(&a, (float)(50 + 37 * i % 300), (float)(40 + 53 * i % 200), 31, 0, NULL);
		put(&b, a.k[i][0], a.k[i][1], 31, 0, a.d[i]);
		b.k[i][3] = a.k[i][3];
		for (int bit = 0; bit < 40; bit++)
			b.d[i][bit >> 3] ^= (uint8_t)(0x80 >> (bit & 7));
	}
	ck_assert_int_eq(feat_match_new(&m), 0);
	ck_assert_int_eq(feat_match_add(m, "a", 1, &a.k[0][0], &a.d[0][0], a.n, NULL, 0), 0);
	ck_assert_int_eq(feat_match_add(m, "b", 1, &b.k[0][0], &b.d[0][0], b.n, NULL, 0), 0);
	for (int i = 0; i < 4; i++) {
		struct feat_match_opt o = { .ratio = ratios[i], .max_dist = 64 };

		ck_assert_msg(feat_match_verify(m, 0, 1, &o) == 10, "ratio %g: %u of 10 pairs",
			      ratios[i], feat_match_verify(m, 0, 1, &o));
	}
	feat_match_free(m);
}
END_TEST

START_TEST(test_run)
{
	feat_match *m = make_set(40);
	struct feat_match_opt o = { .min_inliers = 20, .threads = 1 };
	struct feat_pair *p, *q;
	size_t np, nq;

	ck_assert_int_eq(feat_match_run(m, &o, &p, &np), 0);
	ck_assert_uint_eq(np, 2);
	ck_assert_uint_eq(p[0].a, 0);
	ck_assert_uint_eq(p[0].b, 1);
	ck_assert_uint_eq(p[1].a, 0);
	ck_assert_uint_eq(p[1].b, 2);
	ck_assert_uint_eq(p[0].dist, feat_match_verify(m, 0, 1, &o));
	ck_assert_uint_eq(p[1].dist, feat_match_verify(m, 0, 2, &o));
	/* the same with threads */
	o.threads = 3;
	ck_assert_int_eq(feat_match_run(m, &o, &q, &nq), 0);
	ck_assert_uint_eq(nq, np);
	ck_assert_int_eq(memcmp(p, q, np * sizeof *p), 0);
	free(q);
	/* a bound above every score: nothing */
	o.min_inliers = 10000;
	ck_assert_int_eq(feat_match_run(m, &o, &q, &nq), 0);
	ck_assert_uint_eq(nq, 0);
	free(q);
	free(p);
	feat_match_free(m);
}
END_TEST

START_TEST(test_bad_keys)
{
	feat_match *m;
	float k[2][FEAT_KEY_FIELDS] = { { 10, 10, 31, 0, 0 }, { 20, 20, 31, 0, 0 } };
	uint8_t d[2][FEAT_KEY_DESC] = { { 0 } };
	char why[128];
	struct feat_pair *p;
	size_t np;
	size_t len;

	ck_assert_int_eq(feat_match_new(&m), 0);
	k[1][4] = 4;
	ck_assert_int_eq(feat_match_add(m, "a", 1, &k[0][0], &d[0][0], 2, why, sizeof why),
			 FEAT_E_INVAL);
	ck_assert_msg(strstr(why, "keypoint 1") && strstr(why, "flag"), "%s", why);
	k[1][4] = -1;
	ck_assert_int_eq(feat_match_add(m, "a", 1, &k[0][0], &d[0][0], 2, why, sizeof why),
			 FEAT_E_INVAL);
	ck_assert_msg(strstr(why, "keypoint 1") && strstr(why, "flag"), "%s", why);
	k[1][4] = 0;
	k[0][1] = NAN;
	ck_assert_int_eq(feat_match_add(m, "a", 1, &k[0][0], &d[0][0], 2, why, sizeof why),
			 FEAT_E_INVAL);
	ck_assert_msg(strstr(why, "keypoint 0") && strstr(why, "finite"), "%s", why);
	k[0][1] = 10;
	k[0][2] = 0;
	ck_assert_int_eq(feat_match_add(m, "a", 1, &k[0][0], &d[0][0], 2, why, sizeof why),
			 FEAT_E_INVAL);
	ck_assert_msg(strstr(why, "size"), "%s", why);
	ck_assert_uint_eq(feat_match_count(m), 0);
	/* photos without keypoints are photos: kept, never matched */
	ck_assert_int_eq(feat_match_add(m, "empty", 5, NULL, NULL, 0, why, sizeof why), 0);
	ck_assert_int_eq(feat_match_add(m, "empty2", 6, NULL, NULL, 0, why, sizeof why), 0);
	ck_assert_uint_eq(feat_match_count(m), 2);
	ck_assert_str_eq(feat_match_key(m, 1, &len), "empty2");
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(feat_match_run(m, NULL, &p, &np), 0);
	ck_assert_uint_eq(np, 0);
	free(p);
	feat_match_free(m);
}
END_TEST

/* Move dst's keypoints to the box's flags: 0 -> 2, 1 -> 3. */
static void to_box(struct photo *dst)
{
	for (uint32_t i = 0; i < dst->n; i++)
		dst->k[i][4] += 2;
}

/* Append src's keypoints to dst (room for 600). */
static void append(struct photo *dst, const struct photo *src)
{
	for (uint32_t i = 0; i < src->n && dst->n < 600; i++) {
		memcpy(dst->k[dst->n], src->k[i], sizeof src->k[i]);
		memcpy(dst->d[dst->n], src->d[i], sizeof src->d[i]);
		dst->n++;
	}
}

/* A set of the n photos p, keyed p0, p1, ... */
static feat_match *photo_set(const struct photo *p, int n)
{
	feat_match *m;
	char why[128];

	ck_assert_int_eq(feat_match_new(&m), 0);
	for (int i = 0; i < n; i++) {
		char key[16];

		snprintf(key, sizeof key, "p%d", i);
		ck_assert_int_eq(feat_match_add(m, key, strlen(key), &p[i].k[0][0], &p[i].d[0][0],
						p[i].n, why, sizeof why), 0);
	}
	return m;
}

/*
 * A product moved to a new background: two photos whose own keypoints
 * are unrelated and whose boxes hold the same product (one box's
 * keypoints the other's, turned and scaled), and one whose box holds the
 * first's mirrored.  Found through the boxes; box keypoints are never
 * matched with photo keypoints (a photo whose own keypoints are another's
 * box keypoints is not paired with it); keypoints given in any flag
 * order land in their sets.
 */
START_TEST(test_box_sets)
{
	static struct photo p[5], box, t;
	struct feat_match_opt o = { .min_inliers = 20, .threads = 2 };
	struct feat_pair *pr;
	feat_match *m;
	size_t np;
	int kept1, kept2;

	rng = 0x243f6a8885a308d3ULL;
	random_photo(&box, 200, 200, 200);             /* the product: flags 0, 1 */
	for (int i = 0; i < 4; i++)
		random_photo(&p[i], 300, 500, 500);    /* unrelated backgrounds */
	to_box(&box);                                  /* the product in photo 0's box */
	append(&p[0], &box);
	kept1 = transform(&t, &box, 2, 0.8, 7, 150, 90, 0.7, 10, 0);
	to_box(&t);                                    /* the same product in photo 1's box */
	append(&p[1], &t);
	kept2 = transform(&t, &box, 3, 1.2, -4, 60, 200, 0.7, 10, 0);
	to_box(&t);                                    /* its mirror in photo 2's box */
	append(&p[2], &t);
	transform(&p[3], &box, 2, 1.0, 0, 30, 30, 0.9, 0, 100); /* photo 3's own keypoints */
	/* photo 4: photo 1 with its keypoints in reverse order */
	p[4].n = 0;
	for (uint32_t i = p[1].n; i-- > 0;) {
		memcpy(p[4].k[p[4].n], p[1].k[i], sizeof p[1].k[i]);
		memcpy(p[4].d[p[4].n], p[1].d[i], sizeof p[1].d[i]);
		p[4].n++;
	}
	m = photo_set(p, 5);
	ck_assert_msg(feat_match_verify(m, 0, 1, &o) >= (unsigned)(kept1 * 9 / 10), "box: %u of %d",
		      feat_match_verify(m, 0, 1, &o), kept1);
	ck_assert_msg(feat_match_verify(m, 0, 2, &o) >= (unsigned)(kept2 * 9 / 10),
		      "box mirror: %u of %d", feat_match_verify(m, 0, 2, &o), kept2);
	ck_assert_uint_le(feat_match_verify(m, 0, 3, &o), 3);
	ck_assert_uint_eq(feat_match_verify(m, 0, 4, &o), feat_match_verify(m, 0, 1, &o));
	/* the run: 0-1, 0-2, 0-4, 1-4 (photo 2 has only the mirror's keypoints,
	 * and those of 1 and 4 no mirror ones to meet them); never 3 */
	ck_assert_int_eq(feat_match_run(m, &o, &pr, &np), 0);
	ck_assert_uint_eq(np, 4);
	ck_assert_msg(pr[0].a == 0 && pr[0].b == 1 && pr[1].a == 0 && pr[1].b == 2 &&
		      pr[2].a == 0 && pr[2].b == 4 && pr[3].a == 1 && pr[3].b == 4,
		      "pairs %u-%u %u-%u %u-%u %u-%u", pr[0].a, pr[0].b, pr[1].a, pr[1].b, pr[2].a,
		      pr[2].b, pr[3].a, pr[3].b);
	for (size_t i = 0; i < np; i++)
		ck_assert_msg(pr[i].a != 3 && pr[i].b != 3, "pair %u-%u", pr[i].a, pr[i].b);
	free(pr);
	feat_match_free(m);
}
END_TEST

/*
 * The box's keypoints name candidates of their own: photo 0 shares its
 * background with photo 1 and its product (box) with photo 2, which
 * shares its background with photo 3.  With one candidate a photo, a
 * list shared by both kinds would hold only the backgrounds (more
 * votes) and never verify 0-2.
 */
START_TEST(test_box_candidates)
{
	static struct photo p[4], bg0, bg2, prod, t;
	struct feat_match_opt o = { .min_inliers = 10, .candidates = 1, .threads = 1 };
	struct feat_pair *pr;
	feat_match *m;
	size_t np;
	int found02 = 0;

	rng = 0x13198a2e03707344ULL;
	random_photo(&bg0, 300, 500, 500);
	random_photo(&bg2, 300, 500, 500);
	random_photo(&prod, 160, 200, 200);
	p[0] = bg0;
	to_box(&prod);
	append(&p[0], &prod);
	transform(&p[1], &bg0, 0, 0.9, 3, 20, 10, 0.8, 8, 0);
	p[2] = bg2;
	transform(&t, &prod, 2, 0.8, -5, 100, 60, 0.6, 8, 0);
	to_box(&t);
	append(&p[2], &t);
	transform(&p[3], &bg2, 0, 1.1, -2, -10, 5, 0.8, 8, 0);
	m = photo_set(p, 4);
	ck_assert_int_eq(feat_match_run(m, &o, &pr, &np), 0);
	for (size_t i = 0; i < np; i++)
		found02 |= pr[i].a == 0 && pr[i].b == 2;
	ck_assert_msg(found02, "0-2 not verified (%zu pairs)", np);
	free(pr);
	feat_match_free(m);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("match");
	TCase *tc = tcase_create("match");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_ratio);
	tcase_add_test(tc, test_run);
	tcase_add_test(tc, test_bad_keys);
	tcase_add_test(tc, test_box_sets);
	tcase_add_test(tc, test_box_candidates);
	suite_add_tcase(s, tc);
	return s;
}
