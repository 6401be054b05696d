/*
 * pb.h - a reader of the protocol buffers wire format, for the ONNX and
 * Caffe importers (.onnx and .caffemodel files are serialised messages).
 *
 * No schema and no allocation: a message is a view of bytes, and
 * feat_pb_next() walks its fields one at a time, checking every varint,
 * length and wire type against the bytes that are there.  The importers
 * know which field numbers they want and skip the rest, as protobuf's own
 * parsers do with unknown fields.
 */
#ifndef FEAT_PB_H
#define FEAT_PB_H

#include <stddef.h>
#include <stdint.h>

enum feat_pb_wire {
	FEAT_PB_VARINT = 0,
	FEAT_PB_I64 = 1,
	FEAT_PB_LEN = 2,
	FEAT_PB_I32 = 5,
};

/* A message (or any run of fields): the bytes not yet read. */
struct feat_pb {
	const uint8_t *p, *end;
};

struct feat_pb_field {
	uint32_t num;        /* field number, 1 .. 2^29-1 */
	int wire;            /* enum feat_pb_wire */
	uint64_t v;          /* varint, I64 and I32 values (raw bits) */
	const uint8_t *data; /* FEAT_PB_LEN: the payload */
	size_t len;
};

static inline struct feat_pb feat_pb_view(const void *data, size_t len)
{
	struct feat_pb m = { (const uint8_t *)data,
			     data ? (const uint8_t *)data + len : (const uint8_t *)data };

	return m;
}

/* The next field of m: 1 and *f, 0 at the end, or a negative FEAT_E_*
 * (FEAT_E_TRUNCATED, FEAT_E_CORRUPT) with a one-line reason in why. */
int feat_pb_next(struct feat_pb *m, struct feat_pb_field *f, char *why,
	size_t whylen);

/* The payload of a FEAT_PB_LEN field as a message. */
static inline struct feat_pb feat_pb_sub(const struct feat_pb_field *f)
{
	return feat_pb_view(f->data, f->len);
}

/* Values of a repeated scalar field, packed (one FEAT_PB_LEN field) or
 * not (one field per value): the caller hands every occurrence of the
 * field to feat_pb_values(), which appends to out (up to cap values; the
 * count goes on past cap so the caller can tell) and returns the new
 * count, or a negative error.  elem is the wire type of one element:
 * FEAT_PB_VARINT (int32, int64, uint64, bool, enum), FEAT_PB_I32 (float,
 * fixed32) or FEAT_PB_I64 (double, fixed64); values are stored as their
 * raw 64-bit patterns. */
long feat_pb_values(const struct feat_pb_field *f, int elem, uint64_t *out,
	size_t cap, size_t n, char *why, size_t whylen);

/* Reinterpretations of raw values. */
static inline int64_t feat_pb_int64(uint64_t v)
{
	return (int64_t)v;
}
static inline float feat_pb_float(uint64_t v)
{
	union { uint32_t u; float f; } x = { (uint32_t)v };

	return x.f;
}
static inline double feat_pb_double(uint64_t v)
{
	union { uint64_t u; double d; } x = { v };

	return x.d;
}

#endif
