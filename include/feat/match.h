/*
 * feat/match.h - near-duplicate photos by their local features: binary
 * keypoint descriptors (imgkeys, feat_keys_detect) matched between photos
 * and verified by a similarity transform.  Part of <feat.h>.
 *
 * A whole-photo code cannot see that a banner holds a re-posted photo at
 * half its size, or that a product was cut out and put on a new
 * background; the keypoints inside the photo and their layout can.  Two
 * photos match when enough of their keypoints pair up (nearest descriptor,
 * clearly nearer than the second nearest) AND those pairs agree on one
 * similarity transform (scale, rotation, shift; a mirrored re-post through
 * the mirror image's keypoints).  The count of such keypoint pairs, the
 * inliers, is a pair's score.
 *
 * Which pairs are verified: for each photo, the photos whose descriptors
 * collide most often with its own in a bit-sampling hash (L tables of
 * 16 bits drawn from the 256), at most `candidates` of them, and as many
 * again by the keypoints of the detector's box, voting apart.  Cost: about
 * the keypoints of a photo times the tables times the bucket size per
 * photo for the candidates, and a few hundred microseconds per verified
 * pair; memory about 2 x 300 x 52 bytes a photo (31 KB; twice that with
 * the keypoints of the detector's box).  Meant for
 * thousands to a few hundred thousand photos in one run.
 */
#ifndef FEAT_H_MATCH
#define FEAT_H_MATCH

#include "feat/base.h"
#include "feat/codes.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FEAT_KEY_FIELDS 5        /* x, y, size, angle, flag (0 photo, 1 mirror,
				    2 detector's box, 3 box mirror) */
#define FEAT_KEY_DESC 32         /* descriptor bytes (256 bits) */

typedef struct feat_match feat_match;

struct feat_match_opt {
	unsigned candidates;     /* photos verified per photo (0: 60) */
	unsigned min_inliers;    /* a pair's score to be reported (0: 1) */
	float tol;               /* inlier tolerance, a fraction of the keypoint's
				    size (0: 0.05) */
	unsigned max_dist;       /* descriptor distance of a keypoint pair (0: 64) */
	float ratio;             /* nearest < ratio x second nearest (0: 0.85) */
	int threads;             /* verification threads (0 or 1: the caller) */
};

/* An empty set of photos. 0 or FEAT_E_NOMEM. */
FEAT_API int feat_match_new(feat_match **out);
FEAT_API void feat_match_free(feat_match *m);
/*
 * Add a photo: its key (len bytes, need not be NUL-terminated) and n
 * keypoints, keys[n][FEAT_KEY_FIELDS] as imgkeys writes them and
 * desc[n][FEAT_KEY_DESC], in any order.  Keypoints with a flag other than
 * 0 to 3 or a non-finite field are refused: FEAT_E_INVAL, why says which.  0,
 * FEAT_E_NOMEM, FEAT_E_RANGE (over 2^32 - 1 photos or keypoints).
 */
FEAT_API int feat_match_add(feat_match *m, const char *key, size_t len, const float *keys,
	const uint8_t *desc, uint32_t n, char *why, size_t whylen);
FEAT_API uint64_t feat_match_count(const feat_match *m);
FEAT_API const char *feat_match_key(const feat_match *m, uint32_t i, size_t *len);
/* The score (inliers) of photos a and b, verified directly (both ways
 * round: a's keypoints against b's and against b's mirror ones; a's box
 * keypoints against b's box and box-mirror ones; the best). */
FEAT_API unsigned feat_match_verify(const feat_match *m, uint32_t a, uint32_t b,
	const struct feat_match_opt *o);
/*
 * Every pair of photos scoring at least o->min_inliers among the
 * candidates: *pairs (malloc'd, a < b, sorted by a then b; `dist` holds
 * the score) and *np.  0 or FEAT_E_NOMEM.  The result depends only on
 * the photos and the options, not on the threads.
 */
FEAT_API int feat_match_run(feat_match *m, const struct feat_match_opt *o,
	struct feat_pair **pairs, size_t *np);

#ifdef __cplusplus
}
#endif

#endif /* FEAT_H_MATCH */
