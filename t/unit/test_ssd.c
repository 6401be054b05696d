/*
 * test_ssd.c - Caffe SSD's PriorBox and DetectionOutput (lib/nn/ssd.c) on
 * cases worked by hand: the prior layout of one cell and its neighbours
 * (min, sqrt(min*max), aspect ratios with flip, clip, step, offset,
 * img_size, variances), decoding CENTER_SIZE and CORNER with variances
 * in the priors or in the target, Jaccard overlap, per-class NMS (a box
 * at exactly the threshold stays, as in Caffe's ApplyNMSFast), the
 * confidence threshold (strictly above), top_k, keep_top_k, the
 * background class, ties; and the metadata checks naming what is wrong.
 *
 * The network is a hand-made struct feat_net: its metadata and the shapes
 * of its input and two outputs are all feat_ssd_setup reads.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "feat.h"
#include "nn/ssd.h"
#include "unit.h"

#define TOL 1e-6

/* ------------------------------------------------- a hand-made network */

struct fake {
	struct feat_net n;
	struct feat_kv kv[32];
	struct feat_blob blob[3];       /* data, loc, conf */
	int in, out[2];
	double fl[32][4];               /* storage of FLOATS values */
};

static void fake_init(struct fake *f, int h, int w)
{
	memset(f, 0, sizeof *f);
	f->blob[0] = (struct feat_blob){ .name = "data", .ndim = 4,
		.dims = { 1, 3, (uint32_t)h, (uint32_t)w }, .count = 3u * h * w, .alias = -1 };
	f->blob[1] = (struct feat_blob){ .name = "loc", .ndim = 2, .dims = { 1, 0 }, .alias = -1 };
	f->blob[2] = (struct feat_blob){ .name = "conf", .ndim = 2, .dims = { 1, 0 }, .alias = -1 };
	f->in = 0, f->out[0] = 1, f->out[1] = 2;
	f->n.blob = f->blob, f->n.nblob = 3;
	f->n.input = &f->in, f->n.ninput = 1;
	f->n.output = f->out, f->n.noutput = 2;
	f->n.model.meta = f->kv;
}

/* The outputs sized for np priors of nc classes. */
static void fake_outputs(struct fake *f, int np, int nc)
{
	f->blob[1].count = (size_t)np * 4, f->blob[1].dims[1] = (uint32_t)np * 4;
	f->blob[2].count = (size_t)np * nc, f->blob[2].dims[1] = (uint32_t)np * nc;
}

/* The slot of key (added when new); its index in *at. */
static struct feat_value *fake_key_at(struct fake *f, const char *key, uint32_t *at)
{
	uint32_t i;

	for (i = 0; i < f->n.model.nmeta; i++)
		if (!strcmp(f->kv[i].key, key))
			break;
	if (i == f->n.model.nmeta) {
		ck_assert_uint_lt(i, 32);
		f->kv[f->n.model.nmeta++].key = key;
	}
	*at = i;
	return &f->kv[i].v;
}

static struct feat_value *fake_key(struct fake *f, const char *key)
{
	uint32_t at;

	return fake_key_at(f, key, &at);
}

static void set_str(struct fake *f, const char *key, const char *s)
{
	*fake_key(f, key) = (struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = s };
}

static void set_num(struct fake *f, const char *key, double d)
{
	*fake_key(f, key) = (struct feat_value){ .type = FEAT_V_FLOAT, .n = 1, .u.f = d };
}

static void set_nums(struct fake *f, const char *key, int n, double a, double b,
	double c, double d)
{
	uint32_t at;
	struct feat_value *v = fake_key_at(f, key, &at);
	double *st = f->fl[at];

	st[0] = a, st[1] = b, st[2] = c, st[3] = d;
	*v = (struct feat_value){ .type = FEAT_V_FLOATS, .n = (uint32_t)n, .u.floats = st };
}

static void del_key(struct fake *f, const char *key)
{
	for (uint32_t i = 0; i < f->n.model.nmeta; i++)
		if (!strcmp(f->kv[i].key, key))
			f->kv[i].key = "(deleted)";
}

/* One generator P of 30/60 boxes, ratio 2 flipped, on a 2x2 grid of a
 * 100x100 input: 4 boxes a cell, 16 priors; 3 classes. */
static void fake_ssd(struct fake *f)
{
	fake_init(f, 100, 100);
	set_str(f, "ssd.priors", "P");
	set_nums(f, "ssd.P.min_size", 1, 30, 0, 0, 0);
	set_nums(f, "ssd.P.max_size", 1, 60, 0, 0, 0);
	set_nums(f, "ssd.P.aspect_ratio", 1, 2, 0, 0, 0);
	set_str(f, "ssd.P.flip", "true");
	set_str(f, "ssd.P.clip", "false");
	set_nums(f, "ssd.P.variance", 4, 0.1, 0.1, 0.2, 0.2);
	set_nums(f, "ssd.P.grid", 2, 2, 2, 0, 0);
	set_str(f, "ssd.detect", "D");
	set_num(f, "ssd.D.num_classes", 3);
	set_num(f, "ssd.D.nms_threshold", 0.45);
	set_num(f, "ssd.D.confidence_threshold", 0.01);
	set_num(f, "ssd.D.top_k", 400);
	set_num(f, "ssd.D.keep_top_k", 200);
	fake_outputs(f, 16, 3);
}

static void box_eq(const float *got, double x0, double y0, double x1, double y1)
{
	ck_assert_msg(fabs(got[0] - x0) < TOL && fabs(got[1] - y0) < TOL &&
		      fabs(got[2] - x1) < TOL && fabs(got[3] - y1) < TOL,
		      "box %g %g %g %g, want %g %g %g %g",
		      got[0], got[1], got[2], got[3], x0, y0, x1, y1);
}

/* ---------------------------------------------------------------- priors */

START_TEST(test_prior_layout)
{
	struct fake f;
	struct feat_ssd s;
	char why[256] = "";
	double r = sqrt(30.0 * 60.0) / 2, aw = 30 * sqrt(2.0) / 2, ah = 30 / sqrt(2.0) / 2;

	fake_ssd(&f);
	ck_assert_msg(feat_ssd_setup(&s, &f.n, why, sizeof why) == 0, "%s", why);
	ck_assert_int_eq(s.nprior, 16);
	ck_assert_int_eq(s.num_classes, 3);
	ck_assert_int_eq(s.background, 0);
	ck_assert_int_eq(s.code_type, FEAT_SSD_CENTER_SIZE);
	ck_assert_int_eq(s.top_k, 400);
	ck_assert_int_eq(s.keep_top_k, 200);
	ck_assert(fabsf(s.nms_threshold - 0.45f) < 1e-7);
	ck_assert_int_eq(s.loc_blob, 1);
	ck_assert_int_eq(s.conf_blob, 2);
	/* cell (y 0, x 0): centre (25, 25), step 100 / 2 */
	box_eq(s.prior + 0, .10, .10, .40, .40);                 /* min 30 */
	box_eq(s.prior + 4, (25 - r) / 100, (25 - r) / 100,
	       (25 + r) / 100, (25 + r) / 100);                  /* sqrt(30*60) */
	box_eq(s.prior + 8, (25 - aw) / 100, (25 - ah) / 100,
	       (25 + aw) / 100, (25 + ah) / 100);                /* ratio 2 */
	box_eq(s.prior + 12, (25 - ah) / 100, (25 - aw) / 100,
	       (25 + ah) / 100, (25 + aw) / 100);                /* flipped: 1/2 */
	/* row-major: the next cell is x 1 (centre 75, 25), then y 1 */
	box_eq(s.prior + 16, .60, .10, .90, .40);
	box_eq(s.prior + 32, .10, .60, .40, .90);
	box_eq(s.prior + 60, (75 - ah) / 100, (75 - aw) / 100,
	       (75 + ah) / 100, (75 + aw) / 100);
	for (int p = 0; p < 16; p++)
		box_eq(s.var + 4 * p, .1, .1, .2, .2);
	feat_ssd_free(&s);
}
END_TEST

START_TEST(test_prior_options)
{
	struct fake f;
	struct feat_ssd s;
	char why[256] = "";

	/* no flip: one ratio box; one variance for all four; clip; step,
	 * offset and img_size given; two min sizes without max */
	fake_ssd(&f);
	del_key(&f, "ssd.P.max_size");
	set_nums(&f, "ssd.P.min_size", 2, 40, 80, 0, 0);
	set_str(&f, "ssd.P.flip", "false");
	set_str(&f, "ssd.P.clip", "true");
	set_nums(&f, "ssd.P.variance", 1, 0.5, 0, 0, 0);
	set_num(&f, "ssd.P.step", 40);
	set_num(&f, "ssd.P.offset", 0);
	set_num(&f, "ssd.P.img_size", 200);
	fake_outputs(&f, 2 * 2 * 4, 3);
	ck_assert_msg(feat_ssd_setup(&s, &f.n, why, sizeof why) == 0, "%s", why);
	ck_assert_int_eq(s.nprior, 16);
	ck_assert(s.img_w == 200 && s.img_h == 200);
	/* cell (0, 0): centre (0, 0), boxes clipped at the top left */
	box_eq(s.prior + 0, 0, 0, .10, .10);                     /* min 40 */
	box_eq(s.prior + 4, 0, 0, 40 * sqrt(2.0) / 2 / 200, 40 / sqrt(2.0) / 2 / 200);
	box_eq(s.prior + 8, 0, 0, .20, .20);                     /* min 80 */
	/* cell (0, 1): centre (40, 0) */
	box_eq(s.prior + 16, .10, 0, .30, .10);
	box_eq(s.var + 60, .5, .5, .5, .5);
	feat_ssd_free(&s);

	/* step_h / step_w and img_h / img_w separately; ratio 1 is the min
	 * box and a repeated ratio adds nothing */
	fake_ssd(&f);
	del_key(&f, "ssd.P.max_size");
	set_nums(&f, "ssd.P.aspect_ratio", 3, 1, 2, 2, 0);
	set_num(&f, "ssd.P.step_h", 10);
	set_num(&f, "ssd.P.step_w", 20);
	set_num(&f, "ssd.P.img_h", 50);
	set_num(&f, "ssd.P.img_w", 200);
	fake_outputs(&f, 2 * 2 * 3, 3);
	ck_assert_msg(feat_ssd_setup(&s, &f.n, why, sizeof why) == 0, "%s", why);
	ck_assert_int_eq(s.nprior, 12);
	/* cell (y 1, x 1): centre (30, 15) */
	box_eq(s.prior + 36, 15.0 / 200, 0, 45.0 / 200, 30.0 / 50);
	feat_ssd_free(&s);
}
END_TEST

START_TEST(test_prior_source_and_lists)
{
	struct fake f;
	struct feat_ssd s;
	char why[256] = "";
	struct feat_blob blob[4];
	const char *names[] = { "P", "Q" };

	/* the grid from a feature map; two generators as strs */
	fake_ssd(&f);
	fake_outputs(&f, 3 * 1 * 4 + 1, 3);
	memcpy(blob, f.blob, sizeof f.blob);
	blob[3] = (struct feat_blob){ .name = "fmap", .ndim = 4, .dims = { 1, 8, 3, 1 },
		.count = 24, .alias = -1 };
	f.n.blob = blob, f.n.nblob = 4;
	del_key(&f, "ssd.P.grid");
	set_str(&f, "ssd.P.source", "fmap");
	*fake_key(&f, "ssd.priors") = (struct feat_value){ .type = FEAT_V_STRS, .n = 2,
		.u.strs = names };
	set_nums(&f, "ssd.Q.min_size", 1, 50, 0, 0, 0);
	set_nums(&f, "ssd.Q.grid", 2, 1, 1, 0, 0);
	ck_assert_msg(feat_ssd_setup(&s, &f.n, why, sizeof why) == 0, "%s", why);
	ck_assert_int_eq(s.nprior, 13);
	/* P on 3 rows, 1 column: step 100 across, 100/3 down */
	box_eq(s.prior + 16, .35, (100.0 / 3 * 1.5 - 15) / 100, .65, (100.0 / 3 * 1.5 + 15) / 100);
	/* Q's one box after P's twelve; variance default 0.1 */
	box_eq(s.prior + 48, .25, .25, .75, .75);
	box_eq(s.var + 48, .1, .1, .1, .1);
	feat_ssd_free(&s);

	/* the same as one comma-separated str, spaces around the names */
	set_str(&f, "ssd.priors", " P , Q");
	ck_assert_msg(feat_ssd_setup(&s, &f.n, why, sizeof why) == 0, "%s", why);
	ck_assert_int_eq(s.nprior, 13);
	feat_ssd_free(&s);
}
END_TEST

/* The setup fails with FEAT_E_FORMAT and a reason holding `want`. */
static void setup_fails(struct fake *f, const char *want)
{
	struct feat_ssd s;
	char why[256] = "";

	ck_assert_int_eq(feat_ssd_setup(&s, &f->n, why, sizeof why), FEAT_E_FORMAT);
	ck_assert_msg(strstr(why, want), "'%s' does not say '%s'", why, want);
	ck_assert_ptr_null(s.prior);
}

START_TEST(test_setup_errors)
{
	struct fake f;

	fake_ssd(&f), del_key(&f, "ssd.priors");
	setup_fails(&f, "not an SSD model: no metadata ssd.priors");
	fake_ssd(&f), del_key(&f, "ssd.detect");
	setup_fails(&f, "no metadata ssd.detect");
	fake_ssd(&f), del_key(&f, "ssd.D.num_classes");
	setup_fails(&f, "ssd.D.num_classes: missing");
	fake_ssd(&f), set_str(&f, "ssd.D.num_classes", "three");
	setup_fails(&f, "ssd.D.num_classes: expected a number");
	fake_ssd(&f), del_key(&f, "ssd.P.min_size");
	setup_fails(&f, "ssd.P.min_size: missing");
	fake_ssd(&f), set_nums(&f, "ssd.P.max_size", 1, 20, 0, 0, 0);
	setup_fails(&f, "max_size above min_size");
	fake_ssd(&f), set_nums(&f, "ssd.P.max_size", 2, 60, 70, 0, 0);
	setup_fails(&f, "2 max_size for 1 min_size");
	fake_ssd(&f), set_nums(&f, "ssd.P.variance", 3, .1, .1, .2, 0);
	setup_fails(&f, "1 or 4 values, not 3");
	fake_ssd(&f), set_nums(&f, "ssd.P.aspect_ratio", 1, -2, 0, 0, 0);
	setup_fails(&f, "aspect_ratio: must be positive");
	fake_ssd(&f), set_str(&f, "ssd.P.flip", "maybe");
	setup_fails(&f, "ssd.P.flip: expected true or false");
	fake_ssd(&f), del_key(&f, "ssd.P.grid");
	setup_fails(&f, "needs grid (H,W) or source");
	fake_ssd(&f), del_key(&f, "ssd.P.grid"), set_str(&f, "ssd.P.source", "nosuch");
	setup_fails(&f, "'nosuch' is not a feature map");
	fake_ssd(&f), set_nums(&f, "ssd.P.grid", 2, 0, 2, 0, 0);
	setup_fails(&f, "bad grid 0x2");
	fake_ssd(&f), set_num(&f, "ssd.P.step", 0);
	setup_fails(&f, "the step must be positive");
	fake_ssd(&f), set_num(&f, "ssd.D.top_k", 1e300);
	setup_fails(&f, "ssd.D.top_k: 1e+300 is out of range");
	fake_ssd(&f), set_nums(&f, "ssd.P.grid", 2, 2, NAN, 0, 0);
	setup_fails(&f, "ssd.P.grid: nan is out of range");
	fake_ssd(&f), set_num(&f, "ssd.D.nms_threshold", -0.1);
	setup_fails(&f, "nms_threshold: must not be negative");
	fake_ssd(&f), set_str(&f, "ssd.D.code_type", "CORNER_SIZE");
	setup_fails(&f, "'CORNER_SIZE' is not supported");
	fake_ssd(&f), set_str(&f, "ssd.D.share_location", "false");
	setup_fails(&f, "share_location: false is not supported");
	fake_ssd(&f), fake_outputs(&f, 15, 3);
	setup_fails(&f, "'loc' hold 60 values, the 16 priors need 64");
	fake_ssd(&f), f.blob[2].count = 16 * 4;
	setup_fails(&f, "'conf' hold 64 values, 16 priors of 3 classes need 48");
	fake_ssd(&f), set_str(&f, "ssd.loc", "nosuch");
	setup_fails(&f, "ssd.loc: no blob 'nosuch'");
	fake_ssd(&f), set_str(&f, "ssd.conf", "data");
	setup_fails(&f, "ssd.conf: 'data' is not an output");
	fake_ssd(&f), set_num(&f, "ssd.main_share", 1.5);
	setup_fails(&f, "ssd.main_share: expected a share of the best score");
	fake_ssd(&f), set_str(&f, "ssd.main_share", "half");
	setup_fails(&f, "ssd.main_share: expected a share of the best score");
	fake_ssd(&f), set_num(&f, "ssd.main_min_score", -1);
	setup_fails(&f, "ssd.main_min_score: expected a score from 0 to 1");
}
END_TEST

START_TEST(test_setup_defaults)
{
	struct fake f;
	struct feat_ssd s;
	char why[256] = "";

	/* Caffe's defaults where DetectionOutput leaves a field out; named
	 * outputs may come in either order; 1/0 are booleans too */
	fake_ssd(&f);
	del_key(&f, "ssd.D.nms_threshold");
	del_key(&f, "ssd.D.top_k");
	del_key(&f, "ssd.D.keep_top_k");
	del_key(&f, "ssd.D.confidence_threshold");
	set_num(&f, "ssd.D.background_label_id", 2);
	set_num(&f, "ssd.D.variance_encoded_in_target", 1);
	set_str(&f, "ssd.D.code_type", "CORNER");
	set_str(&f, "ssd.loc", "loc");
	set_str(&f, "ssd.conf", "conf");
	f.out[0] = 2, f.out[1] = 1;
	ck_assert_msg(feat_ssd_setup(&s, &f.n, why, sizeof why) == 0, "%s", why);
	ck_assert(fabsf(s.nms_threshold - 0.3f) < 1e-7);
	ck_assert_int_eq(s.top_k, -1);
	ck_assert_int_eq(s.keep_top_k, -1);
	ck_assert(s.confidence_threshold < -1e30);
	ck_assert_int_eq(s.background, 2);
	ck_assert_int_eq(s.var_in_target, 1);
	ck_assert_int_eq(s.code_type, FEAT_SSD_CORNER);
	ck_assert_int_eq(s.loc_blob, 1);
	ck_assert_int_eq(s.conf_blob, 2);
	ck_assert(s.main_share == 0);  /* the best box first, as Caffe's */
	feat_ssd_free(&s);
	set_num(&f, "ssd.main_share", 0.5);
	ck_assert_msg(feat_ssd_setup(&s, &f.n, why, sizeof why) == 0, "%s", why);
	ck_assert(s.main_share == 0.5f);
	feat_ssd_free(&s);
}
END_TEST

/* The detector stage refuses settings out of range (the programs check
 * their options first; a library caller may not): FEAT_E_RANGE, as
 * pipe.h says, one reason each, no stage opened.  A NaN threshold would
 * otherwise keep no box (confidence) or one per class (NMS) without a
 * word.  The shipped detector. */
START_TEST(test_detector_opts)
{
	const char *path = unit_data("../../models/ssd.fm");
	struct feat_detector_opts o;
	feat_detector *d = NULL;
	char why[256];

	feat_detector_opts_init(&o);
	o.set_main_share = 1, o.main_share = 1.5;
	ck_assert_int_eq(feat_detector_open(&d, path, &o, why, sizeof why), FEAT_E_RANGE);
	ck_assert_msg(strstr(why, "main share") && strstr(why, "not 1.5"), "%s", why);
	ck_assert_ptr_null(d);
	feat_detector_opts_init(&o);
	o.set_main_min = 1, o.main_min = -0.5;
	ck_assert_int_eq(feat_detector_open(&d, path, &o, why, sizeof why), FEAT_E_RANGE);
	ck_assert_msg(strstr(why, "least score") && strstr(why, "not -0.5"), "%s", why);
	feat_detector_opts_init(&o);
	o.set_box_vote = 1, o.box_vote = NAN;
	ck_assert_int_eq(feat_detector_open(&d, path, &o, why, sizeof why), FEAT_E_RANGE);
	ck_assert_msg(strstr(why, "box voting"), "%s", why);
	{
		static const struct { int which; double v; const char *says; } bad[] = {
			{ 0, NAN, "confidence" }, { 0, INFINITY, "confidence" },
			{ 1, NAN, "NMS" }, { 1, -1, "NMS" }, { 1, 7, "NMS" },
			{ 2, -2, "top_k" }, { 3, -7, "keep_top_k" },
		};

		for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
			feat_detector_opts_init(&o);
			switch (bad[k].which) {
			case 0: o.set_confidence = 1, o.confidence = bad[k].v; break;
			case 1: o.set_nms = 1, o.nms = bad[k].v; break;
			case 2: o.set_top_k = 1, o.top_k = (int)bad[k].v; break;
			default: o.set_keep_top_k = 1, o.keep_top_k = (int)bad[k].v; break;
			}
			ck_assert_int_eq(feat_detector_open(&d, path, &o, why, sizeof why), FEAT_E_RANGE);
			ck_assert_msg(strstr(why, bad[k].says), "%zu: %s", k, why);
			ck_assert_ptr_null(d);
		}
	}
	/* the least score of feat_coder likewise */
	{
		struct feat_coder_opts co;
		feat_coder *c = NULL;

		feat_coder_opts_init(&co);
		co.detector = path;
		co.min_score = NAN;
		ck_assert_int_eq(feat_coder_open(&c, &co, why, sizeof why), FEAT_E_RANGE);
		ck_assert_msg(strstr(why, "least score"), "%s", why);
		ck_assert_ptr_null(c);
	}
	/* in range: open, and the settings in effect (with the mirror,
	 * keep_top_k is the merge's) */
	feat_detector_opts_init(&o);
	o.set_main_share = 1, o.main_share = 0.25;
	o.set_main_min = 1, o.main_min = 0.5;
	o.set_keep_top_k = 1, o.keep_top_k = 7;
	o.set_nms = 1, o.nms = 1;
	o.mirror = 1;
	ck_assert_int_eq(feat_detector_open(&d, path, &o, why, sizeof why), 0);
	{
		struct feat_detector_info i;

		feat_detector_info(d, &i);
		ck_assert(i.main_share == 0.25f && i.main_min == 0.5f);
		ck_assert(i.keep_top_k == 7 && i.nms == 1 && i.mirror);
	}
	feat_detector_free(d);
}
END_TEST

/* The main item's box first: the largest of the boxes scoring at least
 * the share of the best, the others in their order. */
START_TEST(test_main_box)
{
	/* label, score, box: a small sharp item, a larger one at 0.6 of its
	 * score, a still larger one at 0.3, and one of no area */
	const struct feat_det in[4] = {
		{ 1, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f },
		{ 2, 0.54f, 0.2f, 0.2f, 0.7f, 0.7f },
		{ 3, 0.27f, 0.0f, 0.0f, 0.9f, 0.9f },
		{ 4, 0.8f, 0.5f, 0.5f, 0.5f, 0.9f },
	};
	struct feat_det d[4];

	memcpy(d, in, sizeof d);
	feat_ssd_main(0.5f, 0, d, 4);
	ck_assert(d[0].label == 2 && d[1].label == 1 && d[2].label == 3 && d[3].label == 4);
	memcpy(d, in, sizeof d);
	feat_ssd_main(0.25f, 0, d, 4);
	ck_assert(d[0].label == 3 && d[1].label == 1 && d[2].label == 2 && d[3].label == 4);
	memcpy(d, in, sizeof d);
	feat_ssd_main(0.25f, 0.3f, d, 4);  /* 0.27 is under the least score */
	ck_assert(d[0].label == 2 && d[1].label == 1 && d[2].label == 3 && d[3].label == 4);
	memcpy(d, in, sizeof d);
	feat_ssd_main(0.7f, 0, d, 4);  /* none larger above 0.63: the best stays */
	ck_assert(!memcmp(d, in, sizeof d));
	feat_ssd_main(0.25f, 0.95f, d, 4);  /* none scores 0.95: as they were */
	ck_assert(!memcmp(d, in, sizeof d));
	feat_ssd_main(0, 0, d, 4);     /* off */
	ck_assert(!memcmp(d, in, sizeof d));
	feat_ssd_main(0.5f, 0, d, 1);
	ck_assert(!memcmp(d, in, sizeof d[0]));
	/* share 1: the largest of the boxes tied at the best score (it was
	 * read as off) */
	{
		struct feat_det t[3] = {
			{ 1, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f },
			{ 2, 0.9f, 0.0f, 0.0f, 0.6f, 0.6f },
			{ 3, 0.8f, 0.0f, 0.0f, 0.9f, 0.9f },
		};

		feat_ssd_main(1, 0, t, 3);
		ck_assert(t[0].label == 2 && t[1].label == 1 && t[2].label == 3);
	}
}
END_TEST

/* -------------------------------------------------------------- decoding */

/* A detector over hand-set priors (no network); feat_ssd_free frees it. */
static void hand_ssd(struct feat_ssd *s, int np, int nc, const float *prior,
	const float *var)
{
	memset(s, 0, sizeof *s);
	s->num_classes = nc;
	s->background = 0;
	s->nms_threshold = 0.45f;
	s->confidence_threshold = 0.2f;
	s->top_k = -1;
	s->keep_top_k = -1;
	s->nprior = np;
	s->prior = malloc((size_t)np * 4 * sizeof *s->prior);
	s->var = malloc((size_t)np * 4 * sizeof *s->var);
	ck_assert(s->prior && s->var);
	memcpy(s->prior, prior, (size_t)np * 4 * sizeof *prior);
	memcpy(s->var, var, (size_t)np * 4 * sizeof *var);
	s->img_w = s->img_h = 100;
	s->win[2] = s->win[3] = 1;  /* as feat_ssd_setup */
}

START_TEST(test_decode)
{
	static const float prior[4] = { .2f, .2f, .6f, .6f };
	static const float var[4] = { .1f, .1f, .2f, .2f };
	/* centre (0.4, 0.4) + (0.1 * 1 * 0.4, 0.1 * -1 * 0.4); width
	 * exp(0.2 * 5 ln 2) * 0.4 = 0.8, height 0.4 */
	float loc[4] = { 1, -1, (float)(5 * log(2.0)), 0 };
	float conf[2] = { 0, .9f };
	struct feat_ssd s;
	struct feat_det *d = NULL;
	size_t cap = 0;

	hand_ssd(&s, 1, 2, prior, var);
	ck_assert_int_eq(feat_ssd_detect(&s, loc, conf, &d, &cap), 1);
	ck_assert(d[0].label == 1 && d[0].score == .9f);
	box_eq(&d[0].x0, .04, .16, .84, .56);

	/* variances in the target: the same box from unscaled offsets */
	s.var_in_target = 1;
	loc[0] = .1f, loc[1] = -.1f, loc[2] = (float)log(2.0);
	ck_assert_int_eq(feat_ssd_detect(&s, loc, conf, &d, &cap), 1);
	box_eq(&d[0].x0, .04, .16, .84, .56);

	/* CORNER: each coordinate moved by variance * offset */
	s.var_in_target = 0;
	s.code_type = FEAT_SSD_CORNER;
	loc[0] = 1, loc[1] = -1, loc[2] = 1, loc[3] = .5f;
	ck_assert_int_eq(feat_ssd_detect(&s, loc, conf, &d, &cap), 1);
	box_eq(&d[0].x0, .3, .1, .8, .7);

	/* a box of no area is no detection: inverted (CORNER), or wholly
	 * outside the part of the input the image covers */
	loc[2] = -3;                /* xmax 0.6 - 0.6 = 0 < xmin 0.3 */
	ck_assert_int_eq(feat_ssd_detect(&s, loc, conf, &d, &cap), 0);
	loc[2] = 1;
	s.win[0] = .79f;            /* the image from x = 0.79 on: it meets */
	ck_assert_int_eq(feat_ssd_detect(&s, loc, conf, &d, &cap), 1);
	s.win[0] = .8f;             /* ... and not: the box ends at 0.8 */
	ck_assert_int_eq(feat_ssd_detect(&s, loc, conf, &d, &cap), 0);
	s.win[0] = -1, s.win[2] = 2; /* the image past the input (--fit crop) */
	s.var_in_target = 1;
	ck_assert_int_eq(feat_ssd_detect(&s, loc, conf, &d, &cap), 1);
	box_eq(&d[0].x0, 1.2, -.8, 1.6, 1.1);                    /* not clipped */
	feat_ssd_free(&s);
	free(d);
}
END_TEST

START_TEST(test_iou)
{
	static const float a[4] = { 0, 0, .5f, .5f }, b[4] = { .1f, 0, .6f, .5f };
	static const float c[4] = { .5f, .5f, 1, 1 }, e[4] = { 0, 0, .5f, .25f };
	static const float far[4] = { .7f, .7f, .9f, .9f }, empty[4] = { .3f, .3f, .2f, .2f };

	ck_assert(fabsf(feat_ssd_iou(a, a) - 1) < 1e-7);
	ck_assert(fabsf(feat_ssd_iou(a, b) - .2f / .3f) < 1e-6);
	ck_assert(fabsf(feat_ssd_iou(b, a) - .2f / .3f) < 1e-6);
	ck_assert(feat_ssd_iou(a, e) == .5f);
	ck_assert(feat_ssd_iou(a, c) == 0);                      /* corners touch */
	ck_assert(feat_ssd_iou(a, far) == 0);
	ck_assert(feat_ssd_iou(a, empty) == 0);
	ck_assert(feat_ssd_iou(empty, empty) == 0);
}
END_TEST

/* ------------------------------------------------------------------- NMS */

/* Boxes A, B (IoU .9 with A), C (apart), D (IoU 2/3 with A, .61 with B),
 * E (IoU exactly .5 with A), decoded as themselves (CORNER, zero
 * offsets); classes 0 (background), 1 and 2. */
static const float nms_prior[5 * 4] = {
	0, 0, .5f, .5f,
	0, 0, .5f, .45f,
	.5f, .5f, 1, 1,
	.1f, 0, .6f, .5f,
	0, 0, .5f, .25f,
};
static const float nms_var[5 * 4] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};
static const float nms_loc[5 * 4];
static const float nms_conf[5 * 3] = {
	/* bg   1     2 */
	.99f, .9f,  .1f,   /* A */
	.99f, .8f,  .85f,  /* B */
	.99f, .7f,  .05f,  /* C */
	.99f, .6f,  .3f,   /* D */
	.99f, .2f,  .2f,   /* E: at the threshold, not above */
};

static void det_eq(const struct feat_det *d, int label, float score, int prior)
{
	ck_assert_msg(d->label == label && d->score == score,
		      "det %g %g, want %d %g", d->label, d->score, label, score);
	box_eq(&d->x0, nms_prior[4 * prior], nms_prior[4 * prior + 1],
	       nms_prior[4 * prior + 2], nms_prior[4 * prior + 3]);
}

START_TEST(test_nms)
{
	struct feat_ssd s;
	struct feat_det *d = NULL;
	size_t cap = 0;

	hand_ssd(&s, 5, 3, nms_prior, nms_var);
	s.code_type = FEAT_SSD_CORNER;
	/* class 1: A; B, D suppressed by A; C kept.  Class 2: B; D
	 * suppressed by B; A and C under the threshold.  Background never. */
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 3);
	det_eq(&d[0], 1, .9f, 0);
	det_eq(&d[1], 2, .85f, 1);
	det_eq(&d[2], 1, .7f, 2);

	/* keep_top_k over all classes by score */
	s.keep_top_k = 2;
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 2);
	det_eq(&d[1], 2, .85f, 1);
	s.keep_top_k = 0;
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 0);
	s.keep_top_k = -1;

	/* top_k per class before NMS: class 1 keeps A only (C is third) */
	s.top_k = 2;
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 2);
	det_eq(&d[0], 1, .9f, 0);
	det_eq(&d[1], 2, .85f, 1);
	s.top_k = -1;

	/* an overlap equal to the threshold keeps the box: E (IoU .5 with
	 * A) once above the confidence threshold; in class 2 B (IoU .56)
	 * still removes it */
	s.confidence_threshold = .15f;
	s.nms_threshold = .5f;
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 4);
	det_eq(&d[0], 1, .9f, 0);
	det_eq(&d[1], 2, .85f, 1);
	det_eq(&d[2], 1, .7f, 2);
	det_eq(&d[3], 1, .2f, 4);
	feat_ssd_free(&s);
	free(d);
}
END_TEST

START_TEST(test_nms_wide_and_none)
{
	struct feat_ssd s;
	struct feat_det *d = NULL;
	size_t cap = 0;

	hand_ssd(&s, 5, 3, nms_prior, nms_var);
	s.code_type = FEAT_SSD_CORNER;
	/* threshold .95: nothing overlaps that much, every box above .2 */
	s.nms_threshold = .95f;
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 6);
	ck_assert_uint_ge(cap, 6);
	det_eq(&d[0], 1, .9f, 0);
	det_eq(&d[1], 2, .85f, 1);
	det_eq(&d[2], 1, .8f, 1);
	det_eq(&d[3], 1, .7f, 2);
	det_eq(&d[4], 1, .6f, 3);
	det_eq(&d[5], 2, .3f, 3);
	/* equal scores: the lower label first */
	s.confidence_threshold = .15f;
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 8);
	det_eq(&d[5], 2, .3f, 3);
	det_eq(&d[6], 1, .2f, 4);
	det_eq(&d[7], 2, .2f, 4);
	/* nothing above the threshold: no detection, not an error */
	s.confidence_threshold = 1;
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 0);
	/* no background class: label 0 counts; equal scores in one class
	 * go by prior */
	s.confidence_threshold = .95f;
	s.nms_threshold = .45f;
	s.background = -1;
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 2);
	det_eq(&d[0], 0, .99f, 0);
	det_eq(&d[1], 0, .99f, 2);
	feat_ssd_free(&s);
	free(d);
}
END_TEST

/*
 * NaN and infinities in the network's outputs: no detection is made from
 * them (a NaN score is above no threshold, so it would be dropped without
 * a word; a NaN offset gives a box whose overlaps mean nothing), the call
 * says FEAT_E_RANGE, and it leaves nothing behind: the next call on good
 * outputs, through top_k's selection and the sort, gives the usual answer.
 */
START_TEST(test_nms_nonfinite)
{
	const float bad[] = { NAN, INFINITY, -INFINITY };
	struct feat_ssd s;
	struct feat_det *d = NULL;
	size_t cap = 0;
	float conf[5 * 3], loc[5 * 4];

	hand_ssd(&s, 5, 3, nms_prior, nms_var);
	s.code_type = FEAT_SSD_CORNER;
	s.top_k = 2;
	for (size_t b = 0; b < 3; b++)
		for (int i = 0; i < 5 * 3; i++) {
			memcpy(conf, nms_conf, sizeof conf);
			conf[i] = bad[b];
			ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, conf, &d, &cap), FEAT_E_RANGE);
		}
	for (size_t b = 0; b < 3; b++)
		for (int i = 0; i < 5 * 4; i++) {
			memcpy(loc, nms_loc, sizeof loc);
			loc[i] = bad[b];
			ck_assert_int_eq(feat_ssd_detect(&s, loc, nms_conf, &d, &cap), FEAT_E_RANGE);
		}
	/* the good outputs after them: as test_nms found with top_k 2 */
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, nms_conf, &d, &cap), 2);
	det_eq(&d[0], 1, .9f, 0);
	det_eq(&d[1], 2, .85f, 1);
	/* the largest finite scores sort like any other */
	memcpy(conf, nms_conf, sizeof conf);
	conf[2 * 3 + 1] = FLT_MAX;
	conf[3 * 3 + 2] = -FLT_MAX;
	ck_assert_int_eq(feat_ssd_detect(&s, nms_loc, conf, &d, &cap), 3);
	det_eq(&d[0], 1, FLT_MAX, 2);
	det_eq(&d[1], 1, .9f, 0);
	det_eq(&d[2], 2, .85f, 1);
	feat_ssd_free(&s);
	free(d);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("ssd");
	TCase *tc = tcase_create("ssd");

	tcase_add_test(tc, test_prior_layout);
	tcase_add_test(tc, test_prior_options);
	tcase_add_test(tc, test_prior_source_and_lists);
	tcase_add_test(tc, test_setup_errors);
	tcase_add_test(tc, test_setup_defaults);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_iou);
	tcase_add_test(tc, test_nms);
	tcase_add_test(tc, test_nms_wide_and_none);
	tcase_add_test(tc, test_nms_nonfinite);
	tcase_add_test(tc, test_main_box);
	tcase_add_test(tc, test_detector_opts);
	suite_add_tcase(s, tc);
	return s;
}
