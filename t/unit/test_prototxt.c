/*
 * test_prototxt.c - the protobuf text format reader: a deploy.prototxt in
 * Caffe's layout walked field by field, scalars of every kind, strings
 * with escapes, and malformed text refused with its line and column.
 */
#include <string.h>

#include "base/internal.h"
#include "nn/import/prototxt.h"
#include "unit.h"

START_TEST(deploy)
{
	size_t len;
	char *t = (char *)unit_slurp(unit_data("caffe/small.prototxt"), &len);
	struct feat_ptx *root;
	const struct feat_ptx *l, *f, *p;
	char why[160];
	long long v;
	double d;
	int layers = 0, variances = 0;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(feat_ptx_parse(t, len, &root, why, sizeof why), 0);
	ck_assert_str_eq(feat_ptx_get(root, "name", NULL)->value, "small");
	f = feat_ptx_get(root, "input_shape", NULL);
	ck_assert_int_eq(f->kind, FEAT_PTX_MESSAGE);
	p = feat_ptx_get(f, "dim", NULL);
	p = feat_ptx_get(f, "dim", p);
	ck_assert_int_eq(feat_ptx_long(p, &v, why, sizeof why), 0);
	ck_assert_int_eq(v, 3);
	for (l = feat_ptx_get(root, "layer", NULL); l; l = feat_ptx_get(root, "layer", l))
		layers++;
	ck_assert_int_eq(layers, 5);
	l = feat_ptx_get(root, "layer", NULL);
	ck_assert_str_eq(feat_ptx_get(l, "type", NULL)->value, "Convolution");
	f = feat_ptx_get(l, "convolution_param", NULL);
	ck_assert_int_eq(feat_ptx_long(feat_ptx_get(f, "num_output", NULL), &v, why, sizeof why), 0);
	ck_assert_int_eq(v, 8);
	l = feat_ptx_get(root, "layer", l);
	l = feat_ptx_get(root, "layer", l);
	ck_assert_str_eq(feat_ptx_get(feat_ptx_get(l, "pooling_param", NULL), "pool", NULL)->value, "MAX");
	l = feat_ptx_get(root, "layer", l);
	l = feat_ptx_get(root, "layer", l);
	f = feat_ptx_get(l, "prior_box_param", NULL);
	for (p = feat_ptx_get(f, "variance", NULL); p; p = feat_ptx_get(f, "variance", p))
		variances++;
	ck_assert_int_eq(variances, 4);
	ck_assert_int_eq(feat_ptx_double(feat_ptx_get(f, "min_size", NULL), &d, why, sizeof why), 0);
	ck_assert(d == 30.0);
	ck_assert_str_eq(feat_ptx_get(f, "flip", NULL)->value, "true");
	ck_assert_int_lt(feat_ptx_long(feat_ptx_get(l, "name", NULL), &v, why, sizeof why), 0);
	feat_ptx_free(root);
	free(t);
}
END_TEST

START_TEST(strings)
{
	static const char t[] = "a: \"x\\ty\\n\" 'z'  b: \"\\101\\x42\" c < d: 1; e: -2.5e3, > f {}";
	struct feat_ptx *root;
	char why[160];
	double d;

	ck_assert_int_eq(feat_ptx_parse(t, strlen(t), &root, why, sizeof why), 0);
	ck_assert_str_eq(feat_ptx_get(root, "a", NULL)->value, "x\ty\nz");
	ck_assert_str_eq(feat_ptx_get(root, "b", NULL)->value, "AB");
	ck_assert_int_eq(feat_ptx_double(feat_ptx_get(feat_ptx_get(root, "c", NULL), "e", NULL), &d,
					 why, sizeof why), 0);
	ck_assert(d == -2500.0);
	ck_assert_ptr_null(feat_ptx_get(root, "f", NULL)->child);
	feat_ptx_free(root);
}
END_TEST

static void bad(const char *t, const char *want)
{
	struct feat_ptx *root;
	char why[160];

	ck_assert_int_eq(feat_ptx_parse(t, strlen(t), &root, why, sizeof why), FEAT_E_FORMAT);
	ck_assert_ptr_null(root);
	ck_assert_msg(strstr(why, want), "'%s' gave '%s', expected '%s'", t, why, want);
}

START_TEST(malformed)
{
	char deep[300];

	bad("a: \"open", "line 1, column 9: string not closed");
	bad("layer {\n  name: \"x\"\n", "line 3, column 1: message not closed");
	bad("a 1", "expected ':' or '{'");
	bad("a:", "expected a value");
	bad("{}", "expected a field name");
	bad("a: \"\\x\"", "without hex digits");
	for (int i = 0; i < 100; i++)
		memcpy(deep + 3 * i, "a {", 3);
	deep[300 - 1] = 0;
	bad(deep, "nested more than");
}
END_TEST

START_TEST(prefixes)
{
	size_t len;
	char *t = (char *)unit_slurp(unit_data("caffe/small.prototxt"), &len);

	for (size_t n = 0; n < len; n++) {
		char *c = malloc(n + 1);
		struct feat_ptx *root;
		char why[160];

		memcpy(c, t, n);
		if (feat_ptx_parse(c, n, &root, why, sizeof why) == 0)
			feat_ptx_free(root);
		free(c);
	}
	free(t);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("prototxt");
	TCase *tc = tcase_create("prototxt");

	tcase_add_test(tc, deploy);
	tcase_add_test(tc, strings);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, prefixes);
	suite_add_tcase(s, tc);
	return s;
}
