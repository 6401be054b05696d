/*
 * feat.h - the public interface of libfeat.
 *
 * libfeat holds all of featkit's logic: the featstream (framing, named
 * tensors, CRC), image decoding and preparation, and later the network
 * engine and the code index.  The programs in cmd/ only parse options and
 * wire these calls together.
 *
 * Conventions: functions that can fail return an int that is 0 (or a count)
 * on success and a negative FEAT_E_* value on failure; feat_strerror() turns
 * it into text.  The library never prints and never exits.  Where a failure
 * needs more words than the error code (which record, which field, which
 * byte), the object involved keeps a detail message that its *_detail()
 * function returns.
 */
#ifndef FEAT_H
#define FEAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What libfeat.so exports: the declarations of this header, and nothing
 * else (the library is built with -fvisibility=hidden). */
#ifndef FEAT_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define FEAT_API __attribute__((visibility("default")))
#else
#define FEAT_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define FEAT_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

enum feat_error {
	FEAT_OK = 0,
	FEAT_E_NOMEM = -1,      /* out of memory */
	FEAT_E_IO = -2,         /* read or write failed (errno is kept) */
	FEAT_E_NOTSTREAM = -3,  /* input is not a featstream */
	FEAT_E_VERSION = -4,    /* featstream version this build cannot read */
	FEAT_E_TRUNCATED = -5,  /* stream ended inside a record */
	FEAT_E_CRC = -6,        /* record CRC mismatch */
	FEAT_E_CORRUPT = -7,    /* a header field is inconsistent */
	FEAT_E_TOOBIG = -8,     /* a size is over a limit */
	FEAT_E_INVAL = -9,      /* invalid argument */
	FEAT_E_EMPTY = -10,     /* input is empty */
	FEAT_E_FORMAT = -11,    /* unknown or unsupported file format */
	FEAT_E_DECODE = -12,    /* image data is corrupt */
	FEAT_E_NOTFOUND = -13,  /* a named thing is missing */
	FEAT_E_RANGE = -14,     /* a value is out of range */
};

/* A static, one-line description of a FEAT_E_* code. */
FEAT_API const char *feat_strerror(int err);

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

/* A reader on a file descriptor (it does not close it).  name is used in
 * messages ("standard input").  NULL only when out of memory. */
FEAT_API feat_reader *feat_reader_new(int fd, const char *name,
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

/* A writer on a file descriptor (not closed).  The stream header is
 * written with the first record or by feat_writer_flush().  A stream is
 * complete only when feat_writer_end() has written its end mark: a reader
 * takes a version 1.1 stream that stops without one as truncated (the
 * writing program died), so call it only when everything was written, and
 * on an error path flush and exit without it. */
FEAT_API feat_writer *feat_writer_new(int fd, const char *name);
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
 * gets a copy.  detail (may be NULL) receives a message on error. */
FEAT_API int feat_rec_decode(struct feat_rec *r, const unsigned char *frame, size_t len,
	const struct feat_limits *lim, char *detail, size_t detaillen);

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

/* ---------------------------------------------------- images: decoding */

/*
 * imgdecode's library half.  A decoded image is the tensor `image`
 * (u8, H x W x 3, RGB) and `origsize` (i32 [2]: width, height of the photo
 * as stored, after EXIF orientation: `image` is smaller when DCT scaling
 * was used).
 */
struct feat_decode_opts {
	uint64_t max_pixels;     /* refuse images with more pixels (0: default) */
	int min_side;            /* JPEG: smallest DCT scale keeping short side >= this (0: full size) */
	int no_orient;           /* do not apply EXIF orientation */
	int strict;              /* JPEG: a recovered-corruption warning is an error */
	int fast;                /* JPEG: fast integer IDCT, no fancy upsampling */
	int bg_set;              /* composite alpha over background[] (else white) */
	uint8_t background[3];   /* R, G, B */
	int allow_truncated;     /* JPEG: data that ends early or is corrupt
				    (pixels lost) is a warning, the lost part
				    filled in by libjpeg, not an error */
};
#define FEAT_DEFAULT_MAX_PIXELS 100000000ULL
#define FEAT_DEFAULT_MAX_BYTES ((uint64_t)512 << 20)
/* imgdecode's and feat_coder's default min_side: the detector (160 or 300
 * px) and the crop of an item a sixteenth of the short side get 32 px */
#define FEAT_DEFAULT_MIN_SIDE 512

struct feat_decode_info {
	int format;              /* enum feat_image_format */
	int width, height;       /* as stored, after orientation */
	int out_width, out_height;
	int scale_num, scale_denom;  /* DCT scale used (1/1 when none) */
	int orientation;         /* EXIF orientation 1..8 (1 when absent) */
	int warnings;            /* corrupt-data warnings the decoder recovered from */
	char warning[256];       /* the first such warning */
};

enum feat_image_format {
	FEAT_IMG_UNKNOWN = 0,
	FEAT_IMG_JPEG = 1,
	FEAT_IMG_PNG = 2,
};

/* Sniff the format from the first bytes. */
FEAT_API int feat_image_sniff(const unsigned char *data, size_t len);
/*
 * Decode an in-memory JPEG or PNG into r's `image` and `origsize`.
 * Returns 0 or a negative FEAT_E_*; on failure why receives a one-line
 * reason suitable for an error record (e.g. "corrupt JPEG data: premature
 * end of data segment").  info may be NULL.
 */
FEAT_API int feat_image_decode(const unsigned char *data, size_t len,
	const struct feat_decode_opts *opt, struct feat_rec *r,
	struct feat_decode_info *info, char *why, size_t whylen);

/*
 * EXIF orientation (1..8) from a TIFF structure (the APP1 "Exif" payload
 * after its 6-byte "Exif\0\0" header, or a PNG eXIf chunk); 1 when the
 * tag is absent, out of range or any offset points outside the data.
 */
FEAT_API int feat_exif_orientation(const unsigned char *tiff, size_t len);

/*
 * Read a whole file into *buf (malloc'd, grown as needed and meant to be
 * reused from call to call; the caller frees it).  *len gets the size.
 * Refuses directories and files over max_bytes (0: the default) without
 * reading them, and anything but a regular file (a FIFO would hang, a
 * device never end) unless flags has FEAT_FILE_ANY.  Returns 0 or FEAT_E_IO / FEAT_E_TOOBIG / FEAT_E_NOMEM
 * with a one-line reason in why ("cannot open: No such file or
 * directory", "is a directory", ...).
 */
#define FEAT_FILE_ANY 1u   /* feat_file_load: devices, FIFOs and sockets too */
FEAT_API int feat_file_load(const char *path, uint64_t max_bytes, unsigned flags, unsigned char **buf,
	size_t *cap, size_t *len, char *why, size_t whylen);

/* ------------------------------------------------ images: preparation */

/*
 * imgprep's library half: HWC u8 `image` to CHW f32 `input`, plus the
 * tensor `xform` (f32 [8]: src_w, src_h, dst_w, dst_h, sx, sy, tx, ty)
 * that maps image coordinates to input coordinates:
 *     x_in = sx * x_img + tx,   y_in = sy * y_img + ty
 * with pixel i covering [i, i+1) on both sides.  Boxes found on `input`
 * map back with x_img = (x_in - tx) / sx.
 */
enum feat_fit {
	FEAT_FIT_STRETCH = 0,    /* resize to exactly W x H, aspect not kept */
	FEAT_FIT_LETTERBOX = 1,  /* keep aspect, pad to W x H */
	FEAT_FIT_CROP = 2,       /* keep aspect, scale short side, centre crop */
};

struct feat_prep_opts {
	int width, height;       /* network input size */
	int fit;                 /* enum feat_fit */
	int bgr;                 /* 1: channel order B,G,R */
	int gray;                /* 1: one channel, y = 0.299 R + 0.587 G + 0.114 B
				    (bgr ignored; mean[0], scale[0], pad[0] used) */
	float mean[3];           /* subtracted, in output channel order */
	float scale[3];          /* multiplied after the mean */
	float pad[3];            /* letterbox pad value, in 0..255 pixel units */
	int resize;              /* enum feat_resize */
	int drop_image;          /* remove `image` from the record */
};

enum feat_resize {
	FEAT_RESIZE_AUTO = 0,    /* bilinear, area averaging when shrinking by 2 or more */
	FEAT_RESIZE_BILINEAR = 1,
	FEAT_RESIZE_AREA = 2,
	FEAT_RESIZE_NEAREST = 3,
};

/* Fill opts with a built-in preset: "ssd300" (300x300) or "vgg224"
 * (224x224), both stretch, BGR, mean 104,117,123: the classic Caffe SSD300
 * and VGG16 settings.  FEAT_E_NOTFOUND for another name.  (imgprep's
 * --for ssd and --for deepbit read the shipped models' metadata.) */
FEAT_API int feat_prep_preset(struct feat_prep_opts *o, const char *name);
/* Check options once before a run: 0, or FEAT_E_RANGE / FEAT_E_INVAL
 * with a one-line reason in why (e.g. no input size given). */
FEAT_API int feat_prep_check(const struct feat_prep_opts *o, char *why, size_t whylen);
/* Prepare r: reads `image` (u8 [H, W, C], C = 3 RGB, 1 gray or 4 RGBA
 * with alpha ignored), writes `input` (f32 [3, height, width], or
 * [1, height, width] with o->gray) and
 * `xform`, replacing earlier ones, and removes `image` if o->drop_image.
 * Returns 0; FEAT_E_NOMEM (a fault of the run); or another FEAT_E_* for a
 * problem of this record (no or bad `image`, too many tensors, bad
 * options), with a one-line reason in why. */
FEAT_API int feat_prep(struct feat_rec *r, const struct feat_prep_opts *o,
	char *why, size_t whylen);

/* Lower-level pieces, exposed for tests and reuse.  Resize an 8-bit
 * interleaved image (c = 1..4 channels, rows of sw*c bytes) into a float
 * interleaved image of dw x dh over the source rectangle
 * [sx0, sx1) x [sy0, sy1) in source pixel units (continuous coordinates;
 * samples outside the image repeat its edge).  method is enum
 * feat_resize, defined exactly in imgprep(1).  Returns 0, FEAT_E_INVAL
 * or FEAT_E_NOMEM. */
FEAT_API int feat_resize_u8_to_f32(const uint8_t *src, int sw, int sh, int c,
	float sx0, float sy0, float sx1, float sy1,
	float *dst, int dw, int dh, int method);

/* ------------------------------------------------- models: photo to code */

/*
 * The pipeline's stages as library calls, and the whole of it in one call.
 * Models are featmodel files (featmodel(5)); feat_model_find turns a name
 * such as "ssd" or "deepbit" into the path of the shipped model, as the
 * programs' -m does.  The stages work on batches of records, as the
 * programs do: a record the stage cannot take becomes an error record
 * ("ssd-detect: ..." or "deepbit-extract: ..."), and only a fault of the
 * run (FEAT_E_NOMEM, a failed forward pass) is returned.  A stage object
 * is not thread-safe: use one per thread (each may run its forward passes
 * on several threads itself).  See feat_coder(3).
 */

/* A model name or path to a path: anything with a '/', an existing file,
 * or a name ending in .fm is a path (it must be a regular file); a bare
 * name is NAME.fm in $FEAT_MODELS when set (and only there), else in
 * EXE/../share/featkit/models, EXE/../../models (EXE: the running
 * program's directory) and the installed model directory.  0, or
 * FEAT_E_NOTFOUND / FEAT_E_IO / FEAT_E_INVAL with the reason (the places
 * searched) in detail. */
FEAT_API int feat_model_find(const char *name, char *out, size_t outlen, char *detail,
	size_t dlen);

/* The detector: an SSD model (ssd-detect(1)).  Reads each record's
 * `input` and `xform` (imgprep with feat_detector_prep's options) and adds
 * `dets` (f32 [N, 6]: label, score, xmin, ymin, xmax, ymax in the pixels
 * of the record's image, best first). */
typedef struct feat_detector feat_detector;
struct feat_detector_opts {
	int batch;               /* records per forward pass, 1..4096 (8) */
	int threads;             /* threads of a forward pass, 1..64 (1) */
	int set_confidence, set_nms, set_top_k, set_keep_top_k;
	double confidence;       /* the four default to the model's settings */
	double nms;
	int top_k, keep_top_k;
};
struct feat_detector_info {
	uint32_t channels, height, width;   /* the input of one image */
	int batch, threads;
	int priors, classes;
	float confidence, nms;
	int top_k, keep_top_k;
};
FEAT_API void feat_detector_opts_init(struct feat_detector_opts *o);
/* path as given (see feat_model_find); o NULL: the defaults.  0, or
 * FEAT_E_IO / FEAT_E_NOMEM (cannot read, memory), FEAT_E_INVAL (not a
 * featmodel file), FEAT_E_RANGE (options), another FEAT_E_* (not an SSD
 * model), with the reason in detail. */
FEAT_API int feat_detector_open(feat_detector **out, const char *path,
	const struct feat_detector_opts *o, char *detail, size_t dlen);
FEAT_API void feat_detector_info(const feat_detector *d, struct feat_detector_info *i);
/* The preparation the model asks for (its input.* metadata). */
FEAT_API int feat_detector_prep(const feat_detector *d, struct feat_prep_opts *o,
	char *why, size_t whylen);
/* n records (at most the batch; records not ok are passed over).  0, or a
 * fault of the run with the reason in why. */
FEAT_API int feat_detector_run(feat_detector *d, struct feat_rec **recs, int n,
	char *why, size_t whylen);
FEAT_API void feat_detector_free(feat_detector *d);

/* The descriptor: K sigmoid outputs, bit i = activation i > 0.5
 * (deepbit-extract(1)).  Reads `input`, adds `code` (bit [K]) and, with
 * feat, `feat` (f32 [K], the activations). */
typedef struct feat_describer feat_describer;
struct feat_describer_opts {
	int batch;               /* 1..4096 (8) */
	int threads;             /* 1..64 (1) */
	int mirror;              /* average with the mirror image: 1 yes, 0 no,
				    -1 as the model's code.mirror says (-1) */
	int feat;                /* also add `feat` (0) */
};
struct feat_describer_info {
	uint32_t channels, height, width;
	int batch, threads;
	int bits;                /* K */
	int mirror;              /* in effect */
};
FEAT_API void feat_describer_opts_init(struct feat_describer_opts *o);
FEAT_API int feat_describer_open(feat_describer **out, const char *path,
	const struct feat_describer_opts *o, char *detail, size_t dlen);
FEAT_API void feat_describer_info(const feat_describer *d, struct feat_describer_info *i);
FEAT_API int feat_describer_prep(const feat_describer *d, struct feat_prep_opts *o,
	char *why, size_t whylen);
FEAT_API int feat_describer_run(feat_describer *d, struct feat_rec **recs, int n,
	char *why, size_t whylen);
FEAT_API void feat_describer_free(feat_describer *d);

/* Where a code was computed, in the photo's pixels (its full size, even
 * when it was decoded at a reduced scale). */
struct feat_coder_box {
	float x0, y0, x1, y1;
	float score;             /* the detection's; -1 for the whole image */
	int label;               /* its class; -1 for the whole image */
	int whole;               /* no box kept: the whole image was described */
};

/* cropbox(1)'s default on one record: replace `image` by the crop of the
 * best of its `dets` scoring at least min_score (the whole image when
 * there is none or no `dets`), add `crop`; box (may be NULL) gets where.
 * 0, FEAT_E_NOMEM, or another FEAT_E_* (no or bad `image` or `dets`). */
FEAT_API int feat_crop_best(struct feat_rec *r, float min_score, struct feat_coder_box *box,
	char *why, size_t whylen);

/* The whole pipeline: decode, prepare, detect, crop, prepare, describe. */
typedef struct feat_coder feat_coder;
struct feat_coder_opts {
	const char *detector;    /* name or path ("ssd"); NULL or "": no
				    detector, the whole photo is described */
	const char *descriptor;  /* name or path ("deepbit"; "dedup" for
				    near-duplicates) */
	int threads;             /* of each forward pass (1) */
	int mirror;              /* as feat_describer_opts (-1) */
	float min_score;         /* boxes scoring less are not cropped (0) */
	struct feat_decode_opts decode;   /* (imgdecode's defaults: min_side
				    FEAT_DEFAULT_MIN_SIDE, the rest 0) */
};
FEAT_API void feat_coder_opts_init(struct feat_coder_opts *o);
/* 0, or a FEAT_E_* with the reason in detail (as feat_detector_open's,
 * plus FEAT_E_NOTFOUND for a model name not found). */
FEAT_API int feat_coder_open(feat_coder **out, const struct feat_coder_opts *o,
	char *detail, size_t dlen);
/* K, the code's bits: codes are (K + 7) / 8 bytes, bit i in byte i / 8
 * from the most significant bit, as in featcodes(5). */
FEAT_API uint32_t feat_coder_bits(const feat_coder *c);
/* The code of a JPEG or PNG photo in memory; box (may be NULL) gets the
 * region described.  0; FEAT_E_NOMEM (a fault of the run); or another
 * FEAT_E_* for a problem of this photo (it cannot be decoded, a model
 * output is not finite...), with the one-line reason in why. */
FEAT_API int feat_coder_photo(feat_coder *c, const unsigned char *data, size_t len,
	uint8_t *code, struct feat_coder_box *box, char *why, size_t whylen);
/* The same from a record holding a decoded `image` (feat_image_decode);
 * r is left holding the crop, `crop`, `input` and `code`. */
FEAT_API int feat_coder_image(feat_coder *c, struct feat_rec *r, uint8_t *code,
	struct feat_coder_box *box, char *why, size_t whylen);
FEAT_API void feat_coder_free(feat_coder *c);

/* --------------------------------------------------------------- codes */

/* Hex of packed bits, lower case, 2 chars a byte; out needs 2*nbytes+1. */
FEAT_API void feat_hex_encode(const uint8_t *bytes, size_t nbytes, char *out);
/* Parse hex into bytes; returns bytes written or FEAT_E_INVAL. */
FEAT_API int feat_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap);

/* CRC-32 (the zlib/ISO-HDLC polynomial) of a buffer, continuing crc. */
FEAT_API uint32_t feat_crc32(uint32_t crc, const void *buf, size_t len);

/* Hamming distance of two packed codes of nbytes bytes each. */
FEAT_API uint64_t feat_hamming(const uint8_t *a, const uint8_t *b, size_t nbytes);

/* ---------------------------------------------------------- code files */

/*
 * The featcodes file (man 5 featcodes): a 64-byte header, then fixed-size
 * records of [code, zero padded to code_stride][u32 full key length]
 * [key bytes, NUL padded to key_width], each record_size bytes (a multiple
 * of 8), so that a file can be mapped and its codes compared in place.
 */
#define FEAT_CODES_MAGIC "\x89" "FCD\r\n\x1a\n"
#define FEAT_CODES_MAJOR 1
#define FEAT_CODES_MINOR 0
#define FEAT_CODES_HDR 64
#define FEAT_CODES_MAX_BITS 65536          /* code bits per record, at most */
#define FEAT_CODES_KEY_WIDTH 116           /* default: 64-bit codes make 128-byte records */
#define FEAT_CODES_MAX_KEY_WIDTH FEAT_KEY_MAX

/* Header fields as read or written. */
struct feat_codes_info {
	unsigned major, minor;
	uint32_t header_size;
	uint32_t code_bits;      /* 0 only in a file without records */
	uint32_t code_stride;    /* bytes: code_bits/8 rounded up to a multiple of 8 */
	uint32_t key_width;      /* key bytes kept per record */
	uint32_t record_size;    /* code_stride + 4 + key_width, rounded up to 8 */
	uint64_t count;          /* header's count field (0: derive from size) */
};

/* Record layout for a code length and key width: fills code_stride and
 * record_size of *info (the other fields are set as for a new file).
 * FEAT_E_RANGE when code_bits or key_width is over its limit. */
FEAT_API int feat_codes_layout(uint32_t code_bits, uint32_t key_width,
	struct feat_codes_info *info);

typedef struct feat_codes_writer feat_codes_writer;

/*
 * A writer on fd (not closed by it); name is used in messages.  The
 * header goes out at once.  code_bits may be 0 only for a file that will
 * get no records.  Returns 0 or FEAT_E_RANGE / FEAT_E_NOMEM / FEAT_E_IO;
 * *out receives the writer (NULL on error).
 */
FEAT_API int feat_codes_writer_new(feat_codes_writer **out, int fd, const char *name,
	uint32_t code_bits, uint32_t key_width);
/* Append a record: code holds code_bits packed bits MSB first (the bits
 * after code_bits in its last byte are cleared in the file).  Returns 0,
 * 1 when the key was longer than key_width and stored truncated, or a
 * negative FEAT_E_* (FEAT_E_INVAL when keylen is over FEAT_KEY_MAX). */
FEAT_API int feat_codes_writer_put(feat_codes_writer *w, const char *key,
	size_t keylen, const uint8_t *code);
FEAT_API uint64_t feat_codes_writer_records(const feat_codes_writer *w);
FEAT_API uint64_t feat_codes_writer_truncated(const feat_codes_writer *w);  /* keys cut */
FEAT_API const char *feat_codes_writer_detail(const feat_codes_writer *w);
/* Flush; on a seekable file (not opened O_APPEND) write the count into
 * the header.  Frees the writer; returns the first error, if any. */
FEAT_API int feat_codes_writer_close(feat_codes_writer *w);

typedef struct feat_codes feat_codes;

/*
 * Open a featcodes file: mapped when it is a regular file, read into
 * memory otherwise (a pipe).  Every header field is checked against the
 * file's real size; on error *out is NULL and detail names the field
 * ("x.fcd: header field code_stride is 12; 64-bit codes need 8").
 * Returns 0, FEAT_E_IO, FEAT_E_EMPTY, FEAT_E_FORMAT (not a featcodes
 * file), FEAT_E_VERSION, FEAT_E_TRUNCATED, FEAT_E_CORRUPT or FEAT_E_NOMEM.
 */
FEAT_API int feat_codes_open(feat_codes **out, const char *path, char *detail,
	size_t dlen);
/* The same on an open descriptor (not closed by it). */
FEAT_API int feat_codes_open_fd(feat_codes **out, int fd, const char *name,
	char *detail, size_t dlen);
/* The same over bytes in memory, which must outlive the result (not
 * copied; codes are 8-byte aligned in place when data is). */
FEAT_API int feat_codes_open_mem(feat_codes **out, const void *data, size_t len,
	const char *name, char *detail, size_t dlen);
FEAT_API void feat_codes_close(feat_codes *c);
FEAT_API const struct feat_codes_info *feat_codes_info(const feat_codes *c);
/* Number of records (from the header, or derived from the file size). */
FEAT_API uint64_t feat_codes_count(const feat_codes *c);
/* Record i's code (code_stride bytes, in place) or NULL when i is out of
 * range. */
FEAT_API const uint8_t *feat_codes_code(const feat_codes *c, uint64_t i);
/* Record i's key bytes in place (not NUL-terminated); *len gets the bytes
 * stored, *full_len (may be NULL) the key's length before truncation.
 * NULL when i is out of range. */
FEAT_API const char *feat_codes_key(const feat_codes *c, uint64_t i, size_t *len,
	uint32_t *full_len);
/* Check every record (key length against its padding, NUL bytes, code
 * padding bits).  Returns 0, or FEAT_E_CORRUPT with the record's index in
 * *bad and a reason in detail.  Reads the whole file. */
FEAT_API int feat_codes_verify(const feat_codes *c, uint64_t *bad, char *detail,
	size_t dlen);

/* ------------------------------------------------------- kernels: GEMM */

/*
 * The compute path (lib/kern/): "avx512" (hand-tuned, when the CPU has
 * AVX-512), "blas" (OpenBLAS, single-threaded by default) or "ref" (plain
 * C).  It is chosen once from cpuid; the environment variable FEAT_KERNEL
 * forces one.  feat_kernel_init() returns 0, FEAT_E_INVAL when FEAT_KERNEL
 * names no path, or FEAT_E_NOTFOUND when it names one this CPU cannot run;
 * feat_kernel_detail() then says which.  Every other call works anyway,
 * on the cpuid choice.
 */
FEAT_API int feat_kernel_init(void);
/* Choose again: name is a path, "auto" (cpuid), or NULL (read FEAT_KERNEL
 * again).  Not to be called while another thread is computing. */
FEAT_API int feat_kernel_select(const char *name);
/* Name of the active path ("avx512", "blas", "ref"). */
FEAT_API const char *feat_kernel_name(void);
/* One line on the last feat_kernel_init()/select() error, "" if none. */
FEAT_API const char *feat_kernel_detail(void);

/*
 * Row-major single-precision GEMM on the active path:
 *     C = alpha * op(A) * op(B) + beta * C
 * op(A) is M x K (A stored K x M when transA), op(B) K x N, C M x N; lda,
 * ldb, ldc are the row strides of the stored matrices.  beta == 0 does not
 * read C.  Returns 0, or FEAT_E_INVAL (negative size, leading dimension
 * too small, NULL pointer), or FEAT_E_NOMEM.
 */
FEAT_API int feat_sgemm(int transA, int transB, int M, int N, int K, float alpha,
	const float *A, int lda, const float *B, int ldb, float beta,
	float *C, int ldc);

/* --------------------------------------------------------- code search */

/*
 * The code index (lib/codes/mih.c, man 5 featindex): codes and keys of a set of
 * records plus one sorted table per substring of the code, for exact
 * search in Hamming space by multi-index hashing (Norouzi, Punjani and
 * Fleet).  The code is cut into m substrings of at most 32 bits; if two
 * codes are within r, then by the pigeonhole principle (r = s*m + a,
 * 0 <= a < m) one of the first a + 1 substrings is within s, or one of the
 * others within s - 1.  A table holds its substring's values sorted (ids
 * ascending within a value) behind a directory of value prefixes, so a
 * lookup is two loads and a short binary search, and tables merge in one
 * linear pass.  Candidates are checked by their full distance.  Results
 * are exact: nothing within r is missed, nothing over r is returned.
 *
 * An index is built in memory (feat_index_new, _add*, _build), written to
 * a file (feat_index_write) and opened again mapped (feat_index_open).
 * Records are numbered 0 .. count - 1 in the order they were added; ids
 * are 32-bit, so an index holds at most FEAT_INDEX_MAX_COUNT records.
 */
#define FEAT_INDEX_MAGIC "\x89" "FIX\r\n\x1a\n"
#define FEAT_INDEX_MAJOR 1
#define FEAT_INDEX_MINOR 0
#define FEAT_INDEX_HDR 128
#define FEAT_INDEX_TABENT 64             /* one table's directory entry */
#define FEAT_INDEX_ALIGN 64              /* every section starts so aligned */
#define FEAT_INDEX_MAX_BITS 4096
#define FEAT_INDEX_MAX_SUB 32            /* substring bits, at most */
#define FEAT_INDEX_MAX_COUNT 0xfffffffeu

typedef struct feat_index feat_index;

struct feat_index_info {
	unsigned major, minor;
	uint32_t code_bits;
	uint32_t code_stride;    /* bytes per code: code_bits rounded up to 64 */
	uint32_t m;              /* substrings (tables); 0 until the first build */
	uint64_t count;          /* records */
	uint64_t built;          /* records the tables cover (count once built) */
	uint64_t key_bytes;      /* bytes of all keys */
	uint64_t file_size;      /* of the file opened, 0 in memory */
};

/* m for code_bits and count when none is given: about code_bits /
 * log2(count) (the paper's choice), each substring at most 32 bits. */
FEAT_API uint32_t feat_index_default_m(uint32_t code_bits, uint64_t count);

/* Use m substrings from now on: the tables are dropped (the next
 * feat_index_build makes them again); codes and keys stay.  0, or
 * FEAT_E_RANGE as feat_index_new.  Nothing to do when m is already in use. */
FEAT_API int feat_index_retable(feat_index *ix, uint32_t m);

/* m for the self-join within r of count codes: the m whose join the cost
 * model of mih.c (fitted on this machine) finds cheapest. */
FEAT_API uint32_t feat_index_join_m(uint32_t code_bits, uint64_t count, unsigned r);

/*
 * An empty index of code_bits-bit codes (1 .. FEAT_INDEX_MAX_BITS) with m
 * substrings (0: feat_index_default_m at the first build).  Returns 0,
 * FEAT_E_RANGE (bits, or m making a substring over 32 bits or under 1) or
 * FEAT_E_NOMEM.
 */
FEAT_API int feat_index_new(feat_index **out, uint32_t code_bits, uint32_t m);
/* Append a record (code: code_bits packed bits, MSB first; bits past
 * code_bits are ignored).  FEAT_E_TOOBIG past FEAT_INDEX_MAX_COUNT, or a
 * key over FEAT_KEY_MAX; FEAT_E_NOMEM. */
FEAT_API int feat_index_add(feat_index *ix, const uint8_t *code, const char *key,
	size_t keylen);
/* Append every record of a featcodes file (FEAT_E_RANGE when its code
 * length differs). */
FEAT_API int feat_index_add_codes(feat_index *ix, const feat_codes *c);
/* Append every record of another index.  When both are built with the
 * same m, the tables are merged in one linear pass, nothing recomputed. */
FEAT_API int feat_index_add_index(feat_index *ix, const feat_index *other);
/* Bring the tables up to date: records added since the last build are
 * sorted (radix) and merged into the tables.  0 or FEAT_E_NOMEM. */
FEAT_API int feat_index_build(feat_index *ix);
/* Write the (built) index to fd as a featindex file.  0, FEAT_E_INVAL
 * (not built) or FEAT_E_IO with errno kept. */
FEAT_API int feat_index_write(feat_index *ix, int fd);

/*
 * Open a featindex file (mapped) or bytes in memory (8-byte aligned, kept
 * by the caller while the index lives).  Every field, offset and table is
 * checked before use, and every table against the codes (two sequential
 * passes that sum a hash of each (record, substring) pair: a table that
 * does not list each record once under its code's substring would make
 * searches miss neighbours without a word): on error *out is NULL and
 * detail names the field or entry
 * ("x.fix: table 2 field vals_off is 96; expected a multiple of 64").
 * Returns 0, FEAT_E_IO, FEAT_E_EMPTY, FEAT_E_FORMAT (not a featindex
 * file), FEAT_E_VERSION, FEAT_E_TRUNCATED, FEAT_E_CORRUPT or FEAT_E_NOMEM.
 */
FEAT_API int feat_index_open(feat_index **out, const char *path, char *detail,
	size_t dlen);
FEAT_API int feat_index_open_mem(feat_index **out, const void *data, size_t len,
	const char *name, char *detail, size_t dlen);
/* Entry by entry: each table holds each record once, with the substring
 * value of its code (what opening checks through sums; this names the
 * first entry that is wrong).  0, FEAT_E_CORRUPT or FEAT_E_NOMEM. */
FEAT_API int feat_index_verify(const feat_index *ix, char *detail, size_t dlen);
FEAT_API void feat_index_free(feat_index *ix);

FEAT_API const struct feat_index_info *feat_index_info(const feat_index *ix);
FEAT_API uint64_t feat_index_count(const feat_index *ix);
/* Record i's code (code_stride bytes) or NULL when out of range. */
FEAT_API const uint8_t *feat_index_code(const feat_index *ix, uint64_t i);
/* Record i's key (not NUL-terminated), *len its bytes; NULL when out of
 * range. */
FEAT_API const char *feat_index_key(const feat_index *ix, uint64_t i, size_t *len);

/*
 * Add the records of a file: a featcodes file, a featindex file, a
 * featstream (records' `code` tensor; error records are skipped) or text
 * lines "key TAB hex" (featwrite -f tsv --no-status; "key TAB ok TAB hex"
 * is read too and its error lines skipped; \t \n \r \\ in keys are
 * unescaped).  path "-" is standard input.  When ix is NULL a new index is
 * made with the file's code length (and m 0).  *skipped (may be NULL)
 * counts skipped records.  Errors name the file and line or field.
 */
FEAT_API int feat_index_load(feat_index **ix, const char *path, uint64_t *skipped,
	char *detail, size_t dlen);

struct feat_hit {
	uint32_t id;
	uint32_t dist;
};

/* Results of a search; zero-initialise, reuse across queries, free with
 * feat_hits_free. */
struct feat_hits {
	struct feat_hit *v;
	size_t n;
	/* private */
	size_t cap;
	void *scratch;
};
FEAT_API void feat_hits_free(struct feat_hits *h);

/* Search modes: multi-index hashing (falling back to a scan when the
 * probes would cost more), or always the scan (the brute-force oracle). */
enum feat_search_mode {
	FEAT_SEARCH_AUTO = 0,
	FEAT_SEARCH_SCAN = 1,
	FEAT_SEARCH_MIH = 2,     /* never fall back (tests) */
};

/* Every record within r of q (code_stride bytes, padding bits zero),
 * sorted by distance, then id.  0 or FEAT_E_NOMEM. */
FEAT_API int feat_index_radius(const feat_index *ix, const uint8_t *q, unsigned r,
	int mode, struct feat_hits *h);
/* The k nearest records to q (fewer when the index is smaller), sorted
 * by distance, then id: ties at the k-th distance go to the lower ids. */
FEAT_API int feat_index_knn(const feat_index *ix, const uint8_t *q, unsigned k,
	int mode, struct feat_hits *h);

struct feat_pair {
	uint32_t a, b;           /* a < b */
	uint32_t dist;
};

/*
 * The self-join: every pair of records within r, each once (a < b),
 * sorted by a then b, into *pairs (malloc'd; the caller frees) and
 * *npairs.  threads >= 1.  0 or FEAT_E_NOMEM.  The pairs grow with the
 * square of the records that share a code: join the classes' index
 * (feat_index_classes) where codes may repeat.
 */
FEAT_API int feat_index_selfjoin(const feat_index *ix, unsigned r, int mode,
	int threads, struct feat_pair **pairs, size_t *npairs);

/* Grouping of records from the pairs of a self-join (sorted as it
 * returns them).  rep[i] receives the id of record i's representative
 * (rep[i] == i for a representative). */
enum feat_group_mode {
	FEAT_GROUP_COMPONENTS = 0,  /* connected components; rep = lowest id */
	FEAT_GROUP_LEADER = 1,      /* in id order, a record not yet taken
				       leads; it takes its untaken neighbours */
};
FEAT_API int feat_index_group(uint64_t n, const struct feat_pair *pairs, size_t npairs,
	int mode, uint32_t *rep);

/*
 * The records that share one code.  A self-join over N equal codes makes
 * N(N-1)/2 pairs; joining one record of each class instead (the class's
 * first) and expanding the members afterwards keeps the work O(N).
 * Classes are numbered from 0 in the order of their first record, so
 * grouping the classes (feat_index_group over the classes' join) gives
 * the records' groups: a class's representative is the first record of
 * its representative class.
 */
struct feat_classes {
	uint64_t n;              /* records */
	uint64_t nclass;         /* distinct codes */
	uint32_t *cls;           /* [n]: the class of each record */
	uint32_t *off;           /* [nclass + 1]: class k is mem[off[k] .. off[k+1]) */
	uint32_t *mem;           /* [n]: record ids by class, ascending in each */
};
/* 0 or FEAT_E_NOMEM (c then empty). */
FEAT_API int feat_index_classes(const feat_index *ix, struct feat_classes *c);
FEAT_API void feat_classes_free(struct feat_classes *c);

/* The Hamming-distance kernel path in use ("avx512" or "ref"); the
 * environment variable FEAT_POPCOUNT (ref, avx512, auto) forces one.
 * feat_popcount_select returns 0, FEAT_E_INVAL or FEAT_E_NOTFOUND. */
FEAT_API const char *feat_popcount_name(void);
FEAT_API int feat_popcount_select(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* FEAT_H */
