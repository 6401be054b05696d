/*
 * decode.c - JPEG and PNG bytes to the tensors `image` (u8 H x W x 3, RGB)
 * and `origsize` (i32 [2]: width, height as stored, after orientation).
 *
 * libjpeg(-turbo) and libpng report errors by calling a function that must
 * not return; both are wrapped here, once, behind setjmp so that a corrupt
 * file becomes an error code and a one-line reason for that record.  The
 * decoders write straight into the record's payload when no orientation
 * change is needed; otherwise into a temporary RGB buffer that one pass
 * rotates or flips into the payload.  JPEG uses libjpeg-turbo's DCT-domain
 * scaling (scale_num/8) when the caller only needs a short side of N.
 *
 * EXIF orientation is parsed here from the TIFF structure, with every
 * offset checked against the bytes really present.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "base/internal.h"

/* A corrupt progressive JPEG can carry thousands of scans, each costing a
 * pass over every coefficient; more than this is not a real photo. */
#define MAX_JPEG_SCANS 500
/* Past this many recovered-corruption warnings the data is noise. */
#define MAX_JPEG_WARNINGS 1000
/* Rows decoded per batch when converting (CMYK) or copying. */
#define ROW_BATCH 16

/* ------------------------------------------------------------- sniffing */

static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
static const unsigned char jpeg_sig[3] = { 0xff, 0xd8, 0xff };

/* A prefix of a signature counts too, so that a file cut after two bytes
 * is reported as truncated, not as "not an image". */
static int has_prefix(const unsigned char *d, size_t len, const unsigned char *sig,
	size_t siglen)
{
	size_t n = len < siglen ? len : siglen;

	return n >= 2 && !memcmp(d, sig, n);
}

int feat_image_sniff(const unsigned char *data, size_t len)
{
	if (!data)
		return FEAT_IMG_UNKNOWN;
	if (has_prefix(data, len, jpeg_sig, sizeof jpeg_sig))
		return FEAT_IMG_JPEG;
	if (has_prefix(data, len, png_sig, sizeof png_sig))
		return FEAT_IMG_PNG;
	return FEAT_IMG_UNKNOWN;
}

/* For the "not an image" message: name formats people do meet. */
static const char *other_format(const unsigned char *d, size_t len)
{
	size_t i, n = len < 512 ? len : 512;

	if (len >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
		return " (it is a GIF)";
	if (len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
		return " (it is a WebP)";
	if (len >= 12 && !memcmp(d + 4, "ftyp", 4))
		return " (it is HEIF/AVIF or MP4)";
	if (len >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4)))
		return " (it is a TIFF)";
	if (len >= 2 && d[0] == 'B' && d[1] == 'M')
		return " (it looks like a BMP)";
	for (i = 0; i < n; i++)
		if (d[i] < 9 || (d[i] > 13 && d[i] < 32) || d[i] == 127)
			break;
	if (i == n)
		return " (it looks like text)";
	return "";
}

/* ------------------------------------------------------------ EXIF */

struct tiff {
	const unsigned char *p;
	size_t len;
	int big;   /* Motorola byte order */
};

static unsigned t16(const struct tiff *t, size_t off)
{
	const unsigned char *p = t->p + off;

	return t->big ? (unsigned)(p[0] << 8 | p[1]) : (unsigned)(p[0] | p[1] << 8);
}

static uint32_t t32(const struct tiff *t, size_t off)
{
	const unsigned char *p = t->p + off;

	return t->big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int feat_exif_orientation(const unsigned char *tiff, size_t len)
{
	struct tiff t = { tiff, len, 0 };
	uint32_t ifd;
	unsigned n, i;

	if (!tiff || len < 8)
		return 1;
	if (tiff[0] == 'I' && tiff[1] == 'I')
		t.big = 0;
	else if (tiff[0] == 'M' && tiff[1] == 'M')
		t.big = 1;
	else
		return 1;
	if (t16(&t, 2) != 42)
		return 1;
	ifd = t32(&t, 4);
	/* IFD0: a 2-byte count then 12-byte entries, all inside the data. */
	if (ifd < 8 || ifd > len - 2)
		return 1;
	n = t16(&t, ifd);
	for (i = 0; i < n; i++) {
		size_t e = (size_t)ifd + 2 + (size_t)i * 12;
		unsigned tag, type, v;

		if (e + 12 > len)
			return 1;
		tag = t16(&t, e);
		if (tag != 0x0112)
			continue;
		type = t16(&t, e + 2);
		if (t32(&t, e + 4) != 1)
			return 1;
		/* SHORT, as the standard says; some writers use LONG. */
		if (type == 3)
			v = t16(&t, e + 8);
		else if (type == 4)
			v = (unsigned)t32(&t, e + 8) > 8 ? 0 : (unsigned)t32(&t, e + 8);
		else
			return 1;
		return v >= 1 && v <= 8 ? (int)v : 1;
	}
	return 1;
}

/* --------------------------------------------------------- orientation */

/*
 * Copy a w x h RGB image into dst with EXIF orientation o applied (dst is
 * h x w for o = 5..8).  Each case walks the source in order and steps
 * through dst by a fixed pixel stride, so the inner loop has no branches.
 */
static void orient_copy(const uint8_t *src, int w, int h, int o, uint8_t *dst)
{
	int ow = o >= 5 ? h : w, oh = o >= 5 ? w : h;
	ptrdiff_t xs, ys;   /* dst step (in pixels) per source x and per source y */
	ptrdiff_t start;

	switch (o) {
	case 2: start = w - 1; xs = -1; ys = ow; break;
	case 3: start = (ptrdiff_t)(oh - 1) * ow + ow - 1; xs = -1; ys = -ow; break;
	case 4: start = (ptrdiff_t)(oh - 1) * ow; xs = 1; ys = -ow; break;
	case 5: start = 0; xs = ow; ys = 1; break;
	case 6: start = ow - 1; xs = ow; ys = -1; break;
	case 7: start = (ptrdiff_t)(oh - 1) * ow + ow - 1; xs = -ow; ys = -1; break;
	case 8: start = (ptrdiff_t)(oh - 1) * ow; xs = -ow; ys = 1; break;
	default:
		memcpy(dst, src, (size_t)w * h * 3);
		return;
	}
	for (int y = 0; y < h; y++) {
		const uint8_t *s = src + (size_t)y * w * 3;
		uint8_t *d = dst + (start + ys * y) * 3;

		for (int x = 0; x < w; x++, s += 3, d += xs * 3) {
			d[0] = s[0];
			d[1] = s[1];
			d[2] = s[2];
		}
	}
}

/* --------------------------------------------------------- the output */

/*
 * What both decoders share: the record, the output tensor and, when the
 * orientation is not 1, the temporary buffer the decoder fills instead.
 */
struct out {
	struct feat_rec *r;
	uint8_t *pix;       /* where the decoder writes: w x h x 3 */
	uint8_t *tmp;       /* malloc'd when orient != 1 */
	uint8_t *image;     /* the tensor payload */
	int w, h;           /* decoded size, before orientation */
	int orient;
};

static int out_begin(struct out *o, int w, int h, int orient, int fullw, int fullh,
	char *why, size_t whylen)
{
	uint32_t dims[3], sz[1] = { 2 };
	struct feat_tensor *t;
	int32_t *os;
	int e;

	o->w = w;
	o->h = h;
	o->orient = orient;
	dims[0] = (uint32_t)(orient >= 5 ? w : h);
	dims[1] = (uint32_t)(orient >= 5 ? h : w);
	dims[2] = 3;
	t = feat_rec_add(o->r, "image", FEAT_DT_U8, 3, dims, &e);
	if (!t) {
		feat_fmt(why, whylen, "image %dx%d: %s", w, h, feat_strerror(e));
		return e;
	}
	o->image = t->data;
	t = feat_rec_add(o->r, "origsize", FEAT_DT_I32, 1, sz, &e);
	if (!t) {
		feat_fmt(why, whylen, "%s", feat_strerror(e));
		return e;
	}
	os = t->data;
	os[0] = orient >= 5 ? fullh : fullw;
	os[1] = orient >= 5 ? fullw : fullh;
	if (orient == 1) {
		o->pix = o->image;
	} else {
		o->tmp = malloc((size_t)w * h * 3);
		if (!o->tmp) {
			feat_fmt(why, whylen, "out of memory for a %dx%d image", w, h);
			return FEAT_E_NOMEM;
		}
		o->pix = o->tmp;
	}
	return 0;
}

static void out_finish(struct out *o)
{
	if (o->tmp)
		orient_copy(o->tmp, o->w, o->h, o->orient, o->image);
}

/* On failure the record keeps no half-decoded tensors. */
static void out_cleanup(struct out *o, int failed)
{
	free(o->tmp);
	o->tmp = NULL;
	if (failed) {
		feat_rec_remove(o->r, "image");
		feat_rec_remove(o->r, "origsize");
	}
}

static int check_pixels(uint64_t w, uint64_t h, const struct feat_decode_opts *opt,
	char *why, size_t whylen)
{
	uint64_t max = opt && opt->max_pixels ? opt->max_pixels : FEAT_DEFAULT_MAX_PIXELS;

	if (w == 0 || h == 0) {
		feat_fmt(why, whylen, "image has no pixels (%llux%llu)",
			 (unsigned long long)w, (unsigned long long)h);
		return FEAT_E_CORRUPT;
	}
	if (w * h > max) {
		feat_fmt(why, whylen,
			 "image is %llux%llu (%llu pixels), over the limit of %llu pixels",
			 (unsigned long long)w, (unsigned long long)h,
			 (unsigned long long)(w * h), (unsigned long long)max);
		return FEAT_E_TOOBIG;
	}
	return 0;
}

/* ---------------------------------------------------------------- JPEG */

struct jdec {
	struct jpeg_decompress_struct ci;
	struct jpeg_error_mgr jerr;
	struct jpeg_progress_mgr prog;
	jmp_buf jb;
	int err;                 /* FEAT_E_* for the longjmp */
	int strict;
	int allow_lost;          /* allow_truncated: missing data filled in */
	char *why;
	size_t whylen;
	struct feat_decode_info *info;
	struct out out;
	uint8_t *rows;           /* CMYK batch buffer */
};

static void jpeg_fail_exit(j_common_ptr ci)
{
	struct jdec *d = (struct jdec *)ci;
	char msg[JMSG_LENGTH_MAX];

	ci->err->format_message(ci, msg);
	feat_fmt(d->why, d->whylen, "corrupt JPEG: %s", msg);
	d->err = FEAT_E_DECODE;
	longjmp(d->jb, 1);
}

/* "Corrupt JPEG data: 3 extraneous bytes" -> "3 extraneous bytes" */
static const char *warn_text(const char *msg)
{
	static const char pre[] = "Corrupt JPEG data: ";

	return strncmp(msg, pre, sizeof pre - 1) ? msg : msg + sizeof pre - 1;
}

/* Warnings after which pixels are missing or garbled: libjpeg "recovers"
 * by filling them in (grey, or the rows it had), and a code made from
 * that picture is the code of a grey rectangle.  A 632-byte file whose
 * header claims 10000x10000 decodes "ok" that way.  The others (stray
 * bytes between markers, an unknown JFIF revision, a bad ICC profile)
 * leave every pixel as encoded. */
static int data_lost(int code)
{
	switch (code) {
	case JWRN_JPEG_EOF:          /* premature end of file */
	case JWRN_HIT_MARKER:        /* premature end of data segment */
	case JWRN_HUFF_BAD_CODE:
	case JWRN_ARITH_BAD_CODE:
	case JWRN_MUST_RESYNC:       /* restart marker missing: rows lost */
	case JWRN_BOGUS_PROGRESSION:
	case JWRN_NOT_SEQUENTIAL:
		return 1;
	}
	return 0;
}

/* Level -1 is a warning: libjpeg recovered from something. */
static void jpeg_message(j_common_ptr ci, int level)
{
	struct jdec *d = (struct jdec *)ci;
	char msg[JMSG_LENGTH_MAX];
	int lost;

	if (level >= 0)
		return;
	ci->err->num_warnings++;
	lost = data_lost(ci->err->msg_code) && !d->allow_lost;
	if (ci->err->msg_code == JWRN_JPEG_EOF && (lost || d->strict)) {
		feat_fmt(d->why, d->whylen, "truncated JPEG data");
		d->err = FEAT_E_TRUNCATED;
		longjmp(d->jb, 1);
	}
	ci->err->format_message(ci, msg);
	if (lost) {
		feat_fmt(d->why, d->whylen, "corrupt JPEG data: %s", warn_text(msg));
		d->err = FEAT_E_DECODE;
		longjmp(d->jb, 1);
	}
	if (d->strict || ci->err->num_warnings > MAX_JPEG_WARNINGS) {
		feat_fmt(d->why, d->whylen, "corrupt JPEG data: %s%s", warn_text(msg),
			 d->strict ? "" : " (and too many more)");
		d->err = FEAT_E_DECODE;
		longjmp(d->jb, 1);
	}
	if (d->info) {
		if (!d->info->warnings)
			feat_fmt(d->info->warning, sizeof d->info->warning, "%s",
				 warn_text(msg));
		d->info->warnings++;
	}
}

static void jpeg_progress(j_common_ptr ci)
{
	struct jdec *d = (struct jdec *)ci;

	if (d->ci.is_decompressor && d->ci.input_scan_number > MAX_JPEG_SCANS) {
		feat_fmt(d->why, d->whylen, "corrupt JPEG: more than %d scans",
			 MAX_JPEG_SCANS);
		d->err = FEAT_E_DECODE;
		longjmp(d->jb, 1);
	}
}

static int jpeg_orientation(j_decompress_ptr ci)
{
	for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
		    !memcmp(m->data, "Exif\0\0", 6))
			return feat_exif_orientation(m->data + 6, m->data_length - 6);
	return 1;
}

/*
 * The smallest scale M/8 that keeps the short side >= min_side.  M = 5, 6
 * and 7 are never used: libjpeg-turbo 2.1 has SIMD IDCTs only for 1, 2, 4
 * and 8 (eighths), and on a 1280x800 photo 5/8..7/8 decoded 20-45% slower
 * than 8/8 (while 3/8 costs 15% more than 4/8 for 44% fewer pixels, so it
 * stays).  Measurements in imgdecode(1).
 */
static void jpeg_choose_scale(j_decompress_ptr ci, int min_side)
{
	static const unsigned scales[] = { 1, 2, 3, 4, 8 };

	ci->scale_denom = 8;
	for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
		unsigned m = scales[i];

		ci->scale_num = m;
		jpeg_calc_output_dimensions(ci);
		if ((int)ci->output_width >= min_side && (int)ci->output_height >= min_side)
			return;
	}
}

/* CMYK (Adobe: stored inverted) to RGB: R = (1-C)(1-K). */
static void cmyk_to_rgb(const uint8_t *s, uint8_t *d, size_t n, int inverted)
{
	for (size_t i = 0; i < n; i++, s += 4, d += 3) {
		unsigned c = s[0], m = s[1], y = s[2], k = s[3];

		if (!inverted) {
			c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k;
		}
		d[0] = (uint8_t)((c * k + 127) / 255);
		d[1] = (uint8_t)((m * k + 127) / 255);
		d[2] = (uint8_t)((y * k + 127) / 255);
	}
}

/* Runs under d->jb; everything it allocates is reachable from d. */
static int jpeg_run(struct jdec *d, const unsigned char *data, size_t len,
	const struct feat_decode_opts *opt)
{
	j_decompress_ptr ci = &d->ci;
	int orient = 1, cmyk, e, w, h;
	unsigned fw, fh;

	jpeg_mem_src(ci, data, (unsigned long)len);
	jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(ci, TRUE);
	fw = ci->image_width;
	fh = ci->image_height;
	if ((e = check_pixels(fw, fh, opt, d->why, d->whylen)))
		return e;
	if (!(opt && opt->no_orient))
		orient = jpeg_orientation(ci);
	cmyk = ci->num_components == 4;
	ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
	if (opt && opt->fast) {
		ci->dct_method = JDCT_IFAST;
		ci->do_fancy_upsampling = FALSE;
	}
	if (opt && opt->min_side > 0)
		jpeg_choose_scale(ci, opt->min_side);
	jpeg_start_decompress(ci);
	if (ci->output_components != (cmyk ? 4 : 3)) {
		feat_fmt(d->why, d->whylen, "unsupported JPEG colour space (%d components)",
			 ci->output_components);
		return FEAT_E_FORMAT;
	}
	w = (int)ci->output_width;
	h = (int)ci->output_height;
	if ((e = out_begin(&d->out, w, h, orient, (int)fw, (int)fh, d->why, d->whylen)))
		return e;
	if (cmyk) {
		d->rows = malloc((size_t)w * 4 * ROW_BATCH);
		if (!d->rows) {
			feat_fmt(d->why, d->whylen, "out of memory");
			return FEAT_E_NOMEM;
		}
	}
	while (ci->output_scanline < ci->output_height) {
		JSAMPROW rp[ROW_BATCH];
		unsigned y = ci->output_scanline, n = ci->output_height - y, got;

		if (n > ROW_BATCH)
			n = ROW_BATCH;
		for (unsigned i = 0; i < n; i++)
			rp[i] = cmyk ? d->rows + (size_t)i * w * 4
				     : d->out.pix + ((size_t)y + i) * w * 3;
		got = jpeg_read_scanlines(ci, rp, n);
		if (cmyk)
			for (unsigned i = 0; i < got; i++)
				cmyk_to_rgb(rp[i], d->out.pix + ((size_t)y + i) * w * 3,
					    (size_t)w, ci->saw_Adobe_marker);
	}
	jpeg_finish_decompress(ci);
	out_finish(&d->out);
	if (d->info) {
		d->info->width = orient >= 5 ? (int)fh : (int)fw;
		d->info->height = orient >= 5 ? (int)fw : (int)fh;
		d->info->out_width = orient >= 5 ? h : w;
		d->info->out_height = orient >= 5 ? w : h;
		d->info->scale_num = (int)ci->scale_num;
		d->info->scale_denom = (int)ci->scale_denom;
		d->info->orientation = orient;
	}
	return 0;
}

static int decode_jpeg(const unsigned char *data, size_t len,
	const struct feat_decode_opts *opt, struct feat_rec *r,
	struct feat_decode_info *info, char *why, size_t whylen)
{
	struct jdec *d = calloc(1, sizeof *d);
	int e;

	if (!d) {
		feat_fmt(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	d->why = why;
	d->whylen = whylen;
	d->info = info;
	d->strict = opt && opt->strict;
	d->allow_lost = opt && opt->allow_truncated;
	d->out.r = r;
	d->ci.err = jpeg_std_error(&d->jerr);
	d->jerr.error_exit = jpeg_fail_exit;
	d->jerr.emit_message = jpeg_message;
	d->prog.progress_monitor = jpeg_progress;
	if (setjmp(d->jb)) {
		e = d->err ? d->err : FEAT_E_DECODE;
	} else {
		jpeg_create_decompress(&d->ci);
		d->ci.progress = &d->prog;
		e = jpeg_run(d, data, len, opt);
	}
	jpeg_destroy_decompress(&d->ci);
	out_cleanup(&d->out, e != 0);
	free(d->rows);
	free(d);
	return e;
}

/* ----------------------------------------------------------------- PNG */

struct pdec {
	png_structp png;
	png_infop pinfo;
	jmp_buf jb;
	const unsigned char *data;
	size_t len, pos;
	int truncated;
	char *why;
	size_t whylen;
	struct out out;
	uint8_t *rgba;           /* alpha images: decoded rows before compositing */
	png_bytep *rowp;         /* interlaced images: row pointers */
};

static void png_fail(png_structp png, png_const_charp msg)
{
	struct pdec *d = png_get_error_ptr(png);

	if (d->truncated)
		feat_fmt(d->why, d->whylen, "truncated PNG data");
	else
		feat_fmt(d->why, d->whylen, "corrupt PNG: %s", msg);
	longjmp(d->jb, 1);
}

/* libpng's warnings (a bad CRC on an ancillary chunk, an odd sRGB
 * profile) concern metadata this decoder ignores. */
static void png_quiet(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void png_read_mem(png_structp png, png_bytep out, png_size_t n)
{
	struct pdec *d = png_get_io_ptr(png);

	if (n > d->len - d->pos) {
		d->truncated = 1;
		png_error(png, "truncated");
	}
	memcpy(out, d->data + d->pos, n);
	d->pos += n;
}

static void composite(const uint8_t *s, uint8_t *d, size_t n, const uint8_t bg[3])
{
	for (size_t i = 0; i < n; i++, s += 4, d += 3) {
		unsigned a = s[3], na = 255 - a;

		d[0] = (uint8_t)((s[0] * a + bg[0] * na + 127) / 255);
		d[1] = (uint8_t)((s[1] * a + bg[1] * na + 127) / 255);
		d[2] = (uint8_t)((s[2] * a + bg[2] * na + 127) / 255);
	}
}

static int png_run(struct pdec *d, const struct feat_decode_opts *opt,
	struct feat_decode_info *info)
{
	png_structp png = d->png;
	png_infop pi = d->pinfo;
	png_uint_32 w, h;
	int depth, ctype, interlace, alpha, orient = 1, e, passes;
	static const uint8_t white[3] = { 255, 255, 255 };
	const uint8_t *bg = opt && opt->bg_set ? opt->background : white;
	size_t stride;

	png_set_read_fn(png, d, png_read_mem);
	/* Our own pixel limit applies, not libpng's default 1e6 x 1e6. */
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_read_info(png, pi);
	png_get_IHDR(png, pi, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
	if ((e = check_pixels(w, h, opt, d->why, d->whylen)))
		return e;
#ifdef PNG_eXIf_SUPPORTED
	if (!(opt && opt->no_orient)) {
		png_uint_32 n = 0;
		png_bytep ex = NULL;

		if (png_get_eXIf_1(png, pi, &n, &ex) && ex)
			orient = feat_exif_orientation(ex, n);
	}
#endif
	png_set_expand(png);          /* palette, low-bit gray, tRNS -> 8-bit (+alpha) */
	png_set_scale_16(png);        /* 16 -> 8 bits, rounded */
	png_set_gray_to_rgb(png);
	passes = png_set_interlace_handling(png);
	png_read_update_info(png, pi);
	alpha = png_get_channels(png, pi) == 4;
	if (png_get_channels(png, pi) != (alpha ? 4 : 3) || png_get_bit_depth(png, pi) != 8) {
		feat_fmt(d->why, d->whylen, "unsupported PNG layout");
		return FEAT_E_FORMAT;
	}
	if ((e = out_begin(&d->out, (int)w, (int)h, orient, (int)w, (int)h, d->why,
			   d->whylen)))
		return e;
	stride = (size_t)w * 3;
	if (alpha) {
		/* An interlaced image needs every row at once; a plain one, one. */
		size_t nrows = passes > 1 ? h : 1;

		d->rgba = malloc((size_t)w * 4 * nrows);
		if (!d->rgba) {
			feat_fmt(d->why, d->whylen, "out of memory");
			return FEAT_E_NOMEM;
		}
	}
	if (passes > 1) {
		d->rowp = malloc(sizeof *d->rowp * h);
		if (!d->rowp) {
			feat_fmt(d->why, d->whylen, "out of memory");
			return FEAT_E_NOMEM;
		}
		for (png_uint_32 y = 0; y < h; y++)
			d->rowp[y] = alpha ? d->rgba + (size_t)y * w * 4
					   : d->out.pix + (size_t)y * stride;
		png_read_image(png, d->rowp);
		if (alpha)
			for (png_uint_32 y = 0; y < h; y++)
				composite(d->rowp[y], d->out.pix + y * stride, w, bg);
	} else {
		for (png_uint_32 y = 0; y < h; y++) {
			if (alpha) {
				png_read_row(png, d->rgba, NULL);
				composite(d->rgba, d->out.pix + y * stride, w, bg);
			} else {
				png_read_row(png, d->out.pix + y * stride, NULL);
			}
		}
	}
	out_finish(&d->out);
	if (info) {
		info->width = orient >= 5 ? (int)h : (int)w;
		info->height = orient >= 5 ? (int)w : (int)h;
		info->out_width = info->width;
		info->out_height = info->height;
		info->scale_num = info->scale_denom = 1;
		info->orientation = orient;
	}
	return 0;
}

static int decode_png(const unsigned char *data, size_t len,
	const struct feat_decode_opts *opt, struct feat_rec *r,
	struct feat_decode_info *info, char *why, size_t whylen)
{
	struct pdec *d = calloc(1, sizeof *d);
	int e;

	if (!d) {
		feat_fmt(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	d->data = data;
	d->len = len;
	d->why = why;
	d->whylen = whylen;
	d->out.r = r;
	d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, png_fail, png_quiet);
	if (!d->png || !(d->pinfo = png_create_info_struct(d->png))) {
		feat_fmt(why, whylen, "out of memory");
		e = FEAT_E_NOMEM;
	} else if (setjmp(d->jb)) {
		e = d->truncated ? FEAT_E_TRUNCATED : FEAT_E_DECODE;
	} else {
		e = png_run(d, opt, info);
	}
	png_destroy_read_struct(&d->png, d->pinfo ? &d->pinfo : NULL, NULL);
	out_cleanup(&d->out, e != 0);
	free(d->rgba);
	free(d->rowp);
	free(d);
	return e;
}

/* ------------------------------------------------------------ the API */

int feat_image_decode(const unsigned char *data, size_t len,
	const struct feat_decode_opts *opt, struct feat_rec *r,
	struct feat_decode_info *info, char *why, size_t whylen)
{
	char dummy[1];
	int fmt;

	if (!why || !whylen) {
		why = dummy;
		whylen = sizeof dummy;
	}
	why[0] = 0;
	if (info) {
		memset(info, 0, sizeof *info);
		info->orientation = 1;
		info->scale_num = info->scale_denom = 1;
	}
	if (!r || (!data && len)) {
		feat_fmt(why, whylen, "invalid argument");
		return FEAT_E_INVAL;
	}
	if (len == 0) {
		feat_fmt(why, whylen, "empty file");
		return FEAT_E_EMPTY;
	}
	fmt = feat_image_sniff(data, len);
	if (info)
		info->format = fmt;
	switch (fmt) {
	case FEAT_IMG_JPEG:
		return decode_jpeg(data, len, opt, r, info, why, whylen);
	case FEAT_IMG_PNG:
		return decode_png(data, len, opt, r, info, why, whylen);
	}
	feat_fmt(why, whylen, "not a JPEG or PNG image%s", other_format(data, len));
	return FEAT_E_FORMAT;
}

int feat_file_load(const char *path, uint64_t max_bytes, unsigned flags,
	unsigned char **buf, size_t *cap, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	size_t n = 0;
	int fd, e = 0;

	*len = 0;
	if (!max_bytes)
		max_bytes = FEAT_DEFAULT_MAX_BYTES;
	/* a FIFO would block the open itself until a writer came: look first */
	if (!(flags & FEAT_FILE_ANY) && stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISDIR(st.st_mode)) {
		feat_fmt(why, whylen, "not a regular file (a device, FIFO or socket)");
		return FEAT_E_IO;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		feat_fmt(why, whylen, "cannot open: %s", strerror(errno));
		return FEAT_E_IO;
	}
	if (fstat(fd, &st) < 0) {
		feat_fmt(why, whylen, "cannot stat: %s", strerror(errno));
		e = FEAT_E_IO;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		feat_fmt(why, whylen, "is a directory");
		e = FEAT_E_IO;
		goto out;
	}
	if (!(flags & FEAT_FILE_ANY) && !S_ISREG(st.st_mode)) {
		feat_fmt(why, whylen, "not a regular file (a device, FIFO or socket)");
		e = FEAT_E_IO;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_bytes) {
		feat_fmt(why, whylen, "file is %llu bytes, over the limit of %llu bytes",
			 (unsigned long long)st.st_size, (unsigned long long)max_bytes);
		e = FEAT_E_TOOBIG;
		goto out;
	}
	/* One read of the whole size (plus a byte to see the end) for a
	 * regular file; pipes and devices grow the buffer as they go. */
	e = feat_read_all(fd, max_bytes, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0,
			  buf, cap, &n);
	if (e == FEAT_E_NOMEM)
		feat_fmt(why, whylen, "out of memory after %zu bytes", n);
	else if (e == FEAT_E_IO)
		feat_fmt(why, whylen, "read error: %s", strerror(errno));
	else if (e == FEAT_E_TOOBIG)
		feat_fmt(why, whylen, "file is over the limit of %llu bytes",
			 (unsigned long long)max_bytes);
	if (e)
		goto out;
	*len = n;
out:
	close(fd);
	return e;
}
