/*
 * test_pb.c - the protocol buffers wire reader: hand-encoded fields of
 * every wire type (bytes written from the encoding rules, not by the code
 * under test), packed and unpacked repeated values, every way a message
 * can be cut short or malformed, and a real ONNX file written by Google's
 * protobuf library (python3-onnx, contrib recipe in t/data/pb) walked down
 * to its nodes and weights.
 */
#include <string.h>

#include "base/internal.h"
#include "nn/import/pb.h"
#include "unit.h"

START_TEST(wire_types)
{
	/* 1: varint 150 (96 01); 2: "hi"; 3: fixed32 1.5f; 4: fixed64 -2.0;
	 * 5: varint -1 as int64 (ten bytes) */
	static const uint8_t msg[] = {
		0x08, 0x96, 0x01,
		0x12, 0x02, 'h', 'i',
		0x1d, 0x00, 0x00, 0xc0, 0x3f,
		0x21, 0, 0, 0, 0, 0, 0, 0x00, 0xc0,
		0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
	};
	struct feat_pb m = feat_pb_view(msg, sizeof msg);
	struct feat_pb_field f;
	char why[128];

	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), 1);
	ck_assert_uint_eq(f.num, 1);
	ck_assert_int_eq(f.wire, FEAT_PB_VARINT);
	ck_assert_uint_eq(f.v, 150);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), 1);
	ck_assert_uint_eq(f.num, 2);
	ck_assert_uint_eq(f.len, 2);
	ck_assert_mem_eq(f.data, "hi", 2);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), 1);
	ck_assert(feat_pb_float(f.v) == 1.5f);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), 1);
	ck_assert(feat_pb_double(f.v) == -2.0);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), 1);
	ck_assert_int_eq(feat_pb_int64(f.v), -1);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), 0);
}
END_TEST

START_TEST(repeated)
{
	/* field 4 packed varints 3, 270, 86942; then the same field unpacked */
	static const uint8_t msg[] = {
		0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05,
		0x20, 0x07,
	};
	struct feat_pb m = feat_pb_view(msg, sizeof msg);
	struct feat_pb_field f;
	uint64_t v[4];
	long n = 0;
	char why[128];

	while (feat_pb_next(&m, &f, why, sizeof why) == 1)
		n = feat_pb_values(&f, FEAT_PB_VARINT, v, 4, (size_t)n, why, sizeof why);
	ck_assert_int_eq(n, 4);
	ck_assert_uint_eq(v[0], 3);
	ck_assert_uint_eq(v[1], 270);
	ck_assert_uint_eq(v[2], 86942);
	ck_assert_uint_eq(v[3], 7);
	/* more values than room: counted, not written */
	m = feat_pb_view(msg, sizeof msg);
	feat_pb_next(&m, &f, why, sizeof why);
	ck_assert_int_eq(feat_pb_values(&f, FEAT_PB_VARINT, v, 1, 0, why, sizeof why), 3);
	/* packed floats with a length that is not a multiple of 4 */
	{
		static const uint8_t bad[] = { 0x2a, 0x05, 0, 0, 0x80, 0x3f, 0 };

		m = feat_pb_view(bad, sizeof bad);
		ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), 1);
		ck_assert_int_lt(feat_pb_values(&f, FEAT_PB_I32, v, 4, 0, why, sizeof why), 0);
	}
}
END_TEST

START_TEST(malformed)
{
	struct feat_pb m;
	struct feat_pb_field f;
	char why[128];
	static const uint8_t cut_varint[] = { 0x08, 0x96 };
	static const uint8_t long_len[] = { 0x12, 0x05, 'a', 'b' };
	static const uint8_t group[] = { 0x0b };
	static const uint8_t field0[] = { 0x00, 0x01 };
	static const uint8_t eleven[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t cut_fixed[] = { 0x0d, 0x00, 0x00 };

	m = feat_pb_view(cut_varint, sizeof cut_varint);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), FEAT_E_TRUNCATED);
	m = feat_pb_view(long_len, sizeof long_len);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), FEAT_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(why, "5 bytes, 2 left"));
	m = feat_pb_view(group, sizeof group);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), FEAT_E_CORRUPT);
	m = feat_pb_view(field0, sizeof field0);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), FEAT_E_CORRUPT);
	m = feat_pb_view(eleven, sizeof eleven);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), FEAT_E_CORRUPT);
	m = feat_pb_view(cut_fixed, sizeof cut_fixed);
	ck_assert_int_eq(feat_pb_next(&m, &f, why, sizeof why), FEAT_E_TRUNCATED);
}
END_TEST

/* Walk ModelProto.graph (7) -> GraphProto.node (1) -> NodeProto.op_type (4),
 * and GraphProto.initializer (5) -> TensorProto.raw_data (9). */
START_TEST(onnx_file)
{
	size_t len;
	unsigned char *b = unit_slurp(unit_data("pb/tiny.onnx"), &len);
	struct feat_pb m, g, n;
	struct feat_pb_field f, h, k;
	char why[128], ops[64] = "";
	int nodes = 0;
	size_t raw = 0;

	ck_assert_ptr_nonnull(b);
	m = feat_pb_view(b, len);
	while (feat_pb_next(&m, &f, why, sizeof why) == 1) {
		if (f.num != 7 || f.wire != FEAT_PB_LEN)
			continue;
		g = feat_pb_sub(&f);
		while (feat_pb_next(&g, &h, why, sizeof why) == 1) {
			if (h.num == 1) {
				nodes++;
				n = feat_pb_sub(&h);
				while (feat_pb_next(&n, &k, why, sizeof why) == 1)
					if (k.num == 4)
						snprintf(ops + strlen(ops), sizeof ops - strlen(ops),
							 "%.*s;", (int)k.len, (const char *)k.data);
			} else if (h.num == 5) {
				n = feat_pb_sub(&h);
				while (feat_pb_next(&n, &k, why, sizeof why) == 1)
					if (k.num == 9)
						raw = k.len;
			}
		}
	}
	ck_assert_int_eq(nodes, 2);
	ck_assert_str_eq(ops, "Conv;Relu;");
	ck_assert_uint_eq(raw, 2 * 3 * 3 * 3 * sizeof(float));
	/* every prefix: a clean end or an error, never a read past the end */
	for (size_t cut = 0; cut < len; cut++) {
		unsigned char *c = malloc(cut + 1);
		int e;

		memcpy(c, b, cut);
		m = feat_pb_view(c, cut);
		while ((e = feat_pb_next(&m, &f, why, sizeof why)) == 1)
			if (f.wire == FEAT_PB_LEN) {
				g = feat_pb_sub(&f);
				while (feat_pb_next(&g, &h, why, sizeof why) == 1)
					;
			}
		free(c);
	}
	free(b);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("pb");
	TCase *tc = tcase_create("pb");

	tcase_add_test(tc, wire_types);
	tcase_add_test(tc, repeated);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, onnx_file);
	suite_add_tcase(s, tc);
	return s;
}
