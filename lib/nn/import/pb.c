/*
 * pb.c - the protocol buffers wire format, read field by field (pb.h).
 *
 * A field is a varint key (field number << 3 | wire type) and a value:
 * a varint (wire 0), 8 bytes (1), a varint length and that many bytes (2),
 * or 4 bytes (5).  Groups (wire 3 and 4) are obsolete and appear in neither
 * ONNX nor Caffe files: they are refused.  Every read checks the bytes left
 * first; a varint is at most 10 bytes and its tenth byte may only carry
 * the top bit of a 64-bit value.
 */
#include "base/internal.h"
#include "nn/import/pb.h"

static int get_varint(struct feat_pb *m, uint64_t *v, char *why, size_t whylen,
	const char *what)
{
	uint64_t x = 0;

	for (int i = 0; i < 10; i++) {
		uint8_t b;

		if (m->p >= m->end) {
			feat_fmt(why, whylen, "%s: varint cut short", what);
			return FEAT_E_TRUNCATED;
		}
		b = *m->p++;
		if (i == 9 && b > 1) {
			feat_fmt(why, whylen, "%s: varint longer than 64 bits", what);
			return FEAT_E_CORRUPT;
		}
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	feat_fmt(why, whylen, "%s: varint longer than 10 bytes", what);
	return FEAT_E_CORRUPT;
}

static int get_fixed(struct feat_pb *m, int n, uint64_t *v, char *why, size_t whylen)
{
	if (m->end - m->p < n) {
		feat_fmt(why, whylen, "%d-byte value cut short", n);
		return FEAT_E_TRUNCATED;
	}
	*v = n == 8 ? feat_rd64(m->p) : feat_rd32(m->p);
	m->p += n;
	return 0;
}

int feat_pb_next(struct feat_pb *m, struct feat_pb_field *f, char *why,
	size_t whylen)
{
	uint64_t key, len;
	int e;

	if (m->p >= m->end)
		return 0;
	if ((e = get_varint(m, &key, why, whylen, "field key")))
		return e;
	f->num = (uint32_t)(key >> 3);
	f->wire = (int)(key & 7);
	f->data = NULL;
	f->len = 0;
	f->v = 0;
	if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) {
		feat_fmt(why, whylen, "field number %llu out of range",
			 (unsigned long long)(key >> 3));
		return FEAT_E_CORRUPT;
	}
	switch (f->wire) {
	case FEAT_PB_VARINT:
		return (e = get_varint(m, &f->v, why, whylen, "value")) ? e : 1;
	case FEAT_PB_I64:
		return (e = get_fixed(m, 8, &f->v, why, whylen)) ? e : 1;
	case FEAT_PB_I32:
		return (e = get_fixed(m, 4, &f->v, why, whylen)) ? e : 1;
	case FEAT_PB_LEN:
		if ((e = get_varint(m, &len, why, whylen, "length")))
			return e;
		if (len > (uint64_t)(m->end - m->p)) {
			feat_fmt(why, whylen, "field %u: %llu bytes, %zu left", f->num,
				 (unsigned long long)len, (size_t)(m->end - m->p));
			return FEAT_E_TRUNCATED;
		}
		f->data = m->p;
		f->len = (size_t)len;
		m->p += len;
		return 1;
	}
	feat_fmt(why, whylen, "field %u: wire type %d (groups and unknown types are not read)",
		 f->num, f->wire);
	return FEAT_E_CORRUPT;
}

long feat_pb_values(const struct feat_pb_field *f, int elem, uint64_t *out,
	size_t cap, size_t n, char *why, size_t whylen)
{
	struct feat_pb m;
	uint64_t v;
	int e;

	if (f->wire == elem) {
		if (n < cap)
			out[n] = f->v;
		return (long)n + 1;
	}
	if (f->wire != FEAT_PB_LEN) {
		feat_fmt(why, whylen, "field %u: wire type %d where %d was expected",
			 f->num, f->wire, elem);
		return FEAT_E_CORRUPT;
	}
	m = feat_pb_sub(f);
	while (m.p < m.end) {
		if (elem == FEAT_PB_VARINT)
			e = get_varint(&m, &v, why, whylen, "packed value");
		else if (elem == FEAT_PB_I32 || elem == FEAT_PB_I64)
			e = get_fixed(&m, elem == FEAT_PB_I32 ? 4 : 8, &v, why, whylen);
		else
			e = FEAT_E_INVAL;
		if (e)
			return e;
		if (n < cap)
			out[n] = v;
		n++;
		if (n > (size_t)1 << 40)
			return FEAT_E_TOOBIG;
	}
	return (long)n;
}
