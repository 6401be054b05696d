/*
 * feat/stream.h - libfeat: named tensors, records and the featstream
 * reader and writer (featstream(5)). Part of <feat.h>, which includes
 * every one of these headers.
 */
#ifndef FEAT_H_STREAM
#define FEAT_H_STREAM

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- tensors */

enum feat_dtype {
	FEAT_DT_NONE = 0,
	FEAT_DT_U8 = 1,
	FEAT_DT_I8 = 2,
	FEAT_DT_U16 = 3,
	FEAT_DT_I32 = 4,
	FEAT_DT_F32 = 5,
	FEAT_DT_F64 = 6,
	FEAT_DT_BIT = 7,  /* packed bits, MSB first: bit i is byte i/8, mask 0x80>>(i%8) */
};
#define FEAT_DT_COUNT 8

/* Short name ("u8", "f32", "bit", ...) or NULL for an unknown code. */
FEAT_API const char *feat_dtype_name(int dtype);
/* Parse a short name; returns FEAT_DT_NONE when unknown. */
FEAT_API int feat_dtype_parse(const char *name);

#define FEAT_NAME_MAX 20       /* tensor name bytes including the NUL */
#define FEAT_MAX_DIMS 6
#define FEAT_MAX_TENSORS 32
#define FEAT_KEY_MAX 65535     /* key bytes, without NUL */
#define FEAT_MSG_MAX 4095      /* error message bytes, without NUL */
#define FEAT_ALIGN 64          /* payload alignment */

struct feat_tensor {
	char name[FEAT_NAME_MAX];
	int dtype;
	int ndim;
	uint32_t dims[FEAT_MAX_DIMS];
	size_t nbytes;    /* payload bytes (bits: ceil(count/8)) */
	void *data;       /* FEAT_ALIGN-aligned payload */
	void *own;        /* separately allocated payload, freed with the record */
};

/* Number of elements (bits for FEAT_DT_BIT); 0 on overflow or bad shape. */
FEAT_API uint64_t feat_tensor_count(const struct feat_tensor *t);
/* Payload size for a dtype and shape; 0 on overflow or a bad dtype. */
FEAT_API size_t feat_tensor_bytes(int dtype, int ndim, const uint32_t *dims);

/* ------------------------------------------------------------- records */

enum feat_status {
	FEAT_ST_OK = 0,
	FEAT_ST_ERROR = 1,
};

/*
 * One record: one image on its way through the pipeline.  A record read
 * from a stream has its tensors' data pointing into the record's own
 * buffer; tensors added by feat_rec_add() own their payload.  Either way
 * the record owns everything; feat_rec_free() releases it.
 */
struct feat_rec {
	char *key;               /* NUL-terminated, never NULL after init */
	int status;              /* enum feat_status */
	char *msg;               /* error message, "" when ok */
	int ntensors;
	struct feat_tensor t[FEAT_MAX_TENSORS];
	/* private */
	unsigned char *buf;      /* frame buffer of the last read */
	size_t bufcap;
	size_t keycap, msgcap;
};

FEAT_API void feat_rec_init(struct feat_rec *r);
FEAT_API void feat_rec_free(struct feat_rec *r);
/* Drop key, status and tensors but keep buffers for reuse. */
FEAT_API void feat_rec_clear(struct feat_rec *r);
FEAT_API int feat_rec_set_key(struct feat_rec *r, const char *key);
/* Mark the record as failed with a printf-style one-line reason (newlines
 * become spaces, length capped at FEAT_MSG_MAX).  Tensors are kept. */
FEAT_API int feat_rec_set_error(struct feat_rec *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
FEAT_API struct feat_tensor *feat_rec_find(struct feat_rec *r, const char *name);
/* Add (or replace) a tensor with a fresh, uninitialised, aligned payload.
 * Returns the tensor or NULL; *err (if not NULL) gets the reason. */
FEAT_API struct feat_tensor *feat_rec_add(struct feat_rec *r, const char *name,
	int dtype, int ndim, const uint32_t *dims, int *err);
/* Remove a tensor; returns 0, or FEAT_E_NOTFOUND. */
FEAT_API int feat_rec_remove(struct feat_rec *r, const char *name);
/* Deep copy src into dst (dst must be initialised). */
FEAT_API int feat_rec_copy(struct feat_rec *dst, const struct feat_rec *src);

/* --------------------------------------------------------- the stream */

/* Limits a reader enforces; a value over one is an error, not an
 * allocation.  Zero fields take the defaults below. */
struct feat_limits {
	uint64_t max_record;     /* bytes in one record */
};
#define FEAT_DEFAULT_MAX_RECORD ((uint64_t)4 << 30)

typedef struct feat_reader feat_reader;
typedef struct feat_writer feat_writer;

/* A reader on a file descriptor (it does not close it) into *out.  name is
 * used in messages ("standard input"); lim may be NULL (the defaults).
 * 0, or FEAT_E_NOMEM (*out is then NULL). */
FEAT_API int feat_reader_new(feat_reader **out, int fd, const char *name,
	const struct feat_limits *lim);
/* Read the next record into r (which is cleared first).  Returns 1 for a
 * record, 0 at the clean end of the stream, or a negative FEAT_E_*; after
 * an error feat_reader_detail() says where and what, and further calls
 * return the same error. */
FEAT_API int feat_reader_next(feat_reader *rd, struct feat_rec *r);
FEAT_API const char *feat_reader_detail(const feat_reader *rd);
FEAT_API uint64_t feat_reader_records(const feat_reader *rd);  /* records read */
FEAT_API uint64_t feat_reader_bytes(const feat_reader *rd);    /* bytes consumed */
/* Read and discard the rest of the input (so that upstream never sees a
 * broken pipe); returns bytes discarded. */
FEAT_API uint64_t feat_reader_drain(feat_reader *rd);
FEAT_API void feat_reader_free(feat_reader *rd);

/* A writer on a file descriptor (not closed) into *out: 0, or FEAT_E_NOMEM
 * (*out is then NULL).  The stream header is
 * written with the first record or by feat_writer_flush().  A stream is
 * complete only when feat_writer_end() has written its end mark: a reader
 * takes a version 1.1 stream that stops without one as truncated (the
 * writing program died), so call it only when everything was written, and
 * on an error path flush and exit without it. */
FEAT_API int feat_writer_new(feat_writer **out, int fd, const char *name);
FEAT_API int feat_writer_put(feat_writer *w, const struct feat_rec *r);
FEAT_API int feat_writer_flush(feat_writer *w);
/* Write the end mark (after the header, if no record was written) and
 * flush; later puts are refused.  0 or a negative FEAT_E_*. */
FEAT_API int feat_writer_end(feat_writer *w);
FEAT_API const char *feat_writer_detail(const feat_writer *w);
FEAT_API uint64_t feat_writer_records(const feat_writer *w);
FEAT_API uint64_t feat_writer_bytes(const feat_writer *w);
/* Flushes, then frees; returns the flush status. */
FEAT_API int feat_writer_free(feat_writer *w);

/* Serialise one record into a malloc'd frame (for tests and tools that
 * keep frames in memory).  *out and *len receive the frame. */
FEAT_API int feat_rec_encode(const struct feat_rec *r, unsigned char **out, size_t *len);
/* Parse one frame held in memory (at least 64-byte aligned).  The record
 * gets a copy.  why (may be NULL) receives a one-line message on error. */
FEAT_API int feat_rec_decode(struct feat_rec *r, const unsigned char *frame, size_t len,
	const struct feat_limits *lim, char *why, size_t whylen);

/* The 64-byte stream header. */
#define FEAT_STREAM_MAGIC "\x89" "FST\r\n\x1a\n"
#define FEAT_STREAM_MAJOR 1
#define FEAT_STREAM_MINOR 1   /* 1.1: an end mark closes the stream */
#define FEAT_STREAM_HDR 64
#define FEAT_REC_MAGIC "FREC"
#define FEAT_REC_HDR 64
#define FEAT_END_MAGIC "FEND"
#define FEAT_END_SIZE 64
#define FEAT_DIRENT 64

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H_STREAM */
