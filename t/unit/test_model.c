/*
 * test_model.c - the featmodel file: a round trip through the builder and
 * the loader, the layout of featmodel(5) checked byte by byte, and hostile
 * files (every prefix, flipped bits, forged counts and offsets) refused
 * with a named reason and never a crash or a huge allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/model.h"
#include "unit.h"

static const char *const ins[] = { "data" }, *const outs[] = { "prob" };

/* A two-layer network: conv (weights, bias) then softmax. */
static feat_model_builder *small_model(void)
{
	feat_model_builder *b = feat_model_builder_new();
	static const float w[2 * 3 * 3 * 3] = { 1, 2, 3 }, bias[2] = { 0.5f, -1 };
	uint32_t wd[4] = { 2, 3, 3, 3 }, bd[1] = { 2 };
	static const int64_t shape[3] = { 3, 8, 8 }, k[2] = { 3, 3 };
	static const double mean[3] = { 104, 117, 123 };
	static const char *const labels[] = { "background", "bag" };
	const char *mid[] = { "conv1" };
	struct feat_kv p[2] = {
		{ "kernel", { .type = FEAT_V_INTS, .n = 2, .u.ints = k } },
		{ "group", { .type = FEAT_V_INT, .n = 1, .u.i = 1 } },
	};
	uint32_t widx[2];

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(feat_mb_meta(b, "name", &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = "tiny" }), 0);
	ck_assert_int_eq(feat_mb_meta(b, "graph.inputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = ins }), 0);
	ck_assert_int_eq(feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = outs }), 0);
	ck_assert_int_eq(feat_mb_meta(b, "input.shape", &(struct feat_value){ .type = FEAT_V_INTS, .n = 3, .u.ints = shape }), 0);
	ck_assert_int_eq(feat_mb_meta(b, "input.mean", &(struct feat_value){ .type = FEAT_V_FLOATS, .n = 3, .u.floats = mean }), 0);
	ck_assert_int_eq(feat_mb_meta(b, "labels", &(struct feat_value){ .type = FEAT_V_STRS, .n = 2, .u.strs = labels }), 0);
	ck_assert_int_eq(feat_mb_meta(b, "scale", &(struct feat_value){ .type = FEAT_V_FLOAT, .n = 1, .u.f = 0.25 }), 0);
	widx[0] = (uint32_t)feat_mb_tensor(b, "conv1.weight", FEAT_DT_F32, 4, wd, w);
	widx[1] = (uint32_t)feat_mb_tensor(b, "conv1.bias", FEAT_DT_F32, 1, bd, bias);
	ck_assert_uint_eq(widx[0], 0);
	ck_assert_uint_eq(widx[1], 1);
	ck_assert_int_eq(feat_mb_layer(b, "conv", "conv1", 1, ins, 1, mid, 2, p, 2, widx), 0);
	ck_assert_int_eq(feat_mb_layer(b, "softmax", "prob", 1, mid, 1, outs, 0, NULL, 0, NULL), 0);
	return b;
}

static unsigned char *encode(size_t *len)
{
	feat_model_builder *b = small_model();
	unsigned char *f;

	ck_assert_int_eq(feat_mb_encode(b, &f, len), 0);
	feat_model_builder_free(b);
	return f;
}

START_TEST(roundtrip)
{
	size_t len;
	unsigned char *f = encode(&len);
	struct feat_model m;
	char d[256];
	const struct feat_value *v;

	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), 0);
	ck_assert_uint_eq(m.nlayer, 2);
	ck_assert_uint_eq(m.ntensor, 2);
	ck_assert_str_eq(m.layer[0].type, "conv");
	ck_assert_str_eq(m.layer[0].in[0], "data");
	ck_assert_str_eq(m.layer[1].out[0], "prob");
	v = feat_kv_find(m.layer[0].param, m.layer[0].nparam, "kernel");
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->type, FEAT_V_INTS);
	ck_assert_int_eq(v->u.ints[1], 3);
	ck_assert_str_eq(feat_model_meta(&m, "name")->u.s, "tiny");
	ck_assert_str_eq(feat_model_meta(&m, "labels")->u.strs[1], "bag");
	ck_assert(feat_model_meta(&m, "input.mean")->u.floats[2] == 123.0);
	ck_assert(feat_model_meta(&m, "scale")->u.f == 0.25);
	ck_assert_int_eq(feat_model_tensor_find(&m, "conv1.bias"), 1);
	ck_assert_int_eq(feat_model_tensor_find(&m, "nope"), FEAT_E_NOTFOUND);
	ck_assert_uint_eq((uintptr_t)m.tensor[0].data % 64, 0);
	ck_assert_uint_eq((uintptr_t)m.tensor[1].data % 64, 0);
	ck_assert(((const float *)m.tensor[0].data)[2] == 3.0f);
	ck_assert(((const float *)m.tensor[1].data)[1] == -1.0f);
	feat_model_free(&m);
	free(f);
}
END_TEST

/* The header is what featmodel(5) says. */
START_TEST(layout)
{
	size_t len;
	unsigned char *f = encode(&len);
	uint64_t data;

	ck_assert_mem_eq(f, "\x89" "FMD\r\n\x1a\n", 8);
	ck_assert_uint_eq(f[8] | f[9] << 8, 1);
	ck_assert_uint_eq(f[12], 64);
	ck_assert_uint_eq(f[16], 7);     /* metadata entries */
	ck_assert_uint_eq(f[20], 2);     /* layers */
	ck_assert_uint_eq(f[24], 2);     /* tensors */
	ck_assert_uint_eq(f[32], 64);    /* metadata at 64 */
	memcpy(&data, f + 56, 8);
	ck_assert_uint_eq(data % 64, 0);
	/* first metadata entry: u32 4, "name", u32 type 3 (string), u32 4, "tiny" */
	ck_assert_mem_eq(f + 64, "\x04\0\0\0name\x03\0\0\0\x04\0\0\0tiny", 16);
	/* the weights are at the start of the data section */
	ck_assert(((const float *)(f + data))[1] == 2.0f);
	free(f);
}
END_TEST

START_TEST(file_io)
{
	char path[] = "/tmp/featmodel-XXXXXX";
	int fd = mkstemp(path);
	feat_model_builder *b = small_model();
	struct feat_model m;
	char d[512];

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(feat_mb_write(b, path, d, sizeof d), 0);
	ck_assert_int_eq(feat_model_load(&m, path, d, sizeof d), 0);
	ck_assert_uint_eq(m.nlayer, 2);
	feat_model_free(&m);
	unlink(path);
	ck_assert_int_eq(feat_model_load(&m, path, d, sizeof d), FEAT_E_IO);
	ck_assert_ptr_nonnull(strstr(d, "No such file"));
	ck_assert_int_eq(feat_model_load(&m, "/tmp", d, sizeof d), FEAT_E_IO);
	feat_model_builder_free(b);
}
END_TEST

/* Every proper prefix is refused with a reason. */
START_TEST(prefixes)
{
	size_t len;
	unsigned char *f = encode(&len);
	struct feat_model m;
	char d[256];

	for (size_t n = 0; n < len; n++) {
		unsigned char *c = malloc(n + 1);

		memcpy(c, f, n);
		d[0] = 0;
		ck_assert_msg(feat_model_parse(&m, c, n, d, sizeof d) < 0,
			      "prefix of %zu bytes accepted", n);
		ck_assert_msg(d[0], "prefix %zu: no reason given", n);
		free(c);
	}
	free(f);
}
END_TEST

/* Flipped bits: refused, or (in weights and floats) accepted; never a crash. */
START_TEST(bitflips)
{
	size_t len;
	unsigned char *f = encode(&len);
	struct feat_model m;
	char d[256];

	for (size_t bit = 0; bit < len * 8; bit++) {
		f[bit / 8] ^= (unsigned char)(1 << bit % 8);
		if (feat_model_parse(&m, f, len, d, sizeof d) == 0)
			feat_model_free(&m);
		f[bit / 8] ^= (unsigned char)(1 << bit % 8);
	}
	free(f);
}
END_TEST

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);  /* little-endian host */
}

START_TEST(hostile)
{
	size_t len;
	unsigned char *f = encode(&len);
	struct feat_model m;
	char d[256];
	unsigned char save[8];

	/* a forged layer count: refused before allocating for it */
	memcpy(save, f + 20, 4);
	put32(f + 20, 0xfffffff0u);
	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), FEAT_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(d, "layers"));
	memcpy(f + 20, save, 4);

	/* sections out of order */
	memcpy(save, f + 40, 8);
	memset(f + 40, 0xff, 8);
	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), FEAT_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(d, "offsets"));
	memcpy(f + 40, save, 8);

	/* unknown version */
	f[8] = 9;
	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), FEAT_E_VERSION);
	f[8] = 1;

	/* not a model at all */
	ck_assert_int_eq(feat_model_parse(&m, "hello world, this is text and not a model at all......................", 70, d, sizeof d), FEAT_E_FORMAT);

	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), 0);
	feat_model_free(&m);
	free(f);
}
END_TEST

/* Graph checks: reading an unwritten blob, missing outputs. */
START_TEST(graph)
{
	feat_model_builder *b = feat_model_builder_new();
	const char *x[] = { "x" }, *y[] = { "y" };
	unsigned char *f;
	size_t len;
	struct feat_model m;
	char d[256];

	feat_mb_meta(b, "graph.inputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = ins });
	feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = y });
	feat_mb_layer(b, "relu", "r", 1, x, 1, y, 0, NULL, 0, NULL);
	ck_assert_int_eq(feat_mb_encode(b, &f, &len), 0);
	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), FEAT_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(d, "reads blob 'x'"));
	free(f);
	feat_model_builder_free(b);

	b = feat_model_builder_new();
	feat_mb_meta(b, "graph.inputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = ins });
	ck_assert_int_eq(feat_mb_encode(b, &f, &len), 0);
	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), FEAT_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(d, "graph.outputs"));
	free(f);
	feat_model_builder_free(b);

	/* featmodel(5): every graph output is written by some layer, so a
	 * graph input listed as an output is refused ... */
	b = feat_model_builder_new();
	feat_mb_meta(b, "graph.inputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = x });
	feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = x });
	feat_mb_layer(b, "relu", "r", 1, x, 1, y, 0, NULL, 0, NULL);
	ck_assert_int_eq(feat_mb_encode(b, &f, &len), 0);
	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), FEAT_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(d, "output 'x' is not written by any layer (it is a graph input)"));
	free(f);
	feat_model_builder_free(b);

	/* ... unless a layer rewrites it in place (Caffe's in-place ReLU) */
	b = feat_model_builder_new();
	feat_mb_meta(b, "graph.inputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = x });
	feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = x });
	feat_mb_layer(b, "relu", "r", 1, x, 1, x, 0, NULL, 0, NULL);
	ck_assert_int_eq(feat_mb_encode(b, &f, &len), 0);
	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), 0);
	feat_model_free(&m);
	free(f);
	feat_model_builder_free(b);
}
END_TEST

/* The smallest tensor directory entry is 28 bytes (an empty name, rank
 * 0), 29 with a one-letter name: a directory of them is not "too many
 * tensors for the section". */
START_TEST(scalars)
{
	feat_model_builder *b = feat_model_builder_new();
	const char *x[] = { "x" }, *y[] = { "y" };
	static const float one = 1;
	unsigned char *f;
	size_t len;
	struct feat_model m;
	char d[256], nm[2] = "a";
	int n = 0;

	feat_mb_meta(b, "graph.inputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = x });
	feat_mb_meta(b, "graph.outputs", &(struct feat_value){ .type = FEAT_V_STRS, .n = 1, .u.strs = y });
	feat_mb_layer(b, "relu", "r", 1, x, 1, y, 0, NULL, 0, NULL);
	ck_assert_int_eq(feat_mb_tensor(b, "", FEAT_DT_F32, 0, NULL, &one), n++);
	for (const char *c = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"; *c; c++) {
		nm[0] = *c;
		ck_assert_int_eq(feat_mb_tensor(b, nm, FEAT_DT_F32, 0, NULL, &one), n++);
	}
	ck_assert_int_eq(feat_mb_encode(b, &f, &len), 0);
	ck_assert_int_eq(feat_model_parse(&m, f, len, d, sizeof d), 0);
	ck_assert_uint_eq(m.ntensor, 63);
	ck_assert_str_eq(m.tensor[0].name, "");
	ck_assert_int_eq(m.tensor[0].ndim, 0);
	ck_assert(*(const float *)m.tensor[62].data == 1);
	feat_model_free(&m);
	free(f);
	feat_model_builder_free(b);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, layout);
	tcase_add_test(tc, file_io);
	tcase_add_test(tc, prefixes);
	tcase_add_test(tc, bitflips);
	tcase_add_test(tc, hostile);
	tcase_add_test(tc, graph);
	tcase_add_test(tc, scalars);
	suite_add_tcase(s, tc);
	return s;
}
