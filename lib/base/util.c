/*
 * util.c - error text, dtypes, hex, CRC and small allocation helpers.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "base/internal.h"

static const char *const errtab[] = {
	[0] = "success",
	[1] = "out of memory",
	[2] = "input/output error",
	[3] = "not a featstream",
	[4] = "unsupported featstream version",
	[5] = "truncated record",
	[6] = "CRC mismatch",
	[7] = "corrupt header",
	[8] = "size over limit",
	[9] = "invalid argument",
	[10] = "empty input",
	[11] = "unsupported format",
	[12] = "corrupt data",
	[13] = "not found",
	[14] = "value out of range",
};

const char *feat_strerror(int err)
{
	int i = -err;

	if (i < 0 || i >= (int)(sizeof errtab / sizeof errtab[0]) || !errtab[i])
		return "unknown error";
	return errtab[i];
}

void feat_assert_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "libfeat: internal error at %s:%d: %s\n", file, line,
		what);
	abort();
}

static const char *const dtnames[FEAT_DT_COUNT] = {
	[FEAT_DT_NONE] = NULL, [FEAT_DT_U8] = "u8",   [FEAT_DT_I8] = "i8",
	[FEAT_DT_U16] = "u16", [FEAT_DT_I32] = "i32", [FEAT_DT_F32] = "f32",
	[FEAT_DT_F64] = "f64", [FEAT_DT_BIT] = "bit",
};
static const unsigned dtsize[FEAT_DT_COUNT] = {
	[FEAT_DT_U8] = 1,  [FEAT_DT_I8] = 1,  [FEAT_DT_U16] = 2, [FEAT_DT_I32] = 4,
	[FEAT_DT_F32] = 4, [FEAT_DT_F64] = 8, [FEAT_DT_BIT] = 0,
};

const char *feat_dtype_name(int dtype)
{
	if (dtype <= 0 || dtype >= FEAT_DT_COUNT)
		return NULL;
	return dtnames[dtype];
}

int feat_dtype_parse(const char *name)
{
	for (int i = 1; i < FEAT_DT_COUNT; i++)
		if (!strcmp(name, dtnames[i]))
			return i;
	return FEAT_DT_NONE;
}

/* Elements of a shape, or UINT64_MAX when the product overflows 2^60. */
static uint64_t shape_count(int ndim, const uint32_t *dims)
{
	uint64_t n = 1;

	if (ndim < 0 || ndim > FEAT_MAX_DIMS)
		return UINT64_MAX;
	for (int i = 0; i < ndim; i++) {
		if (dims[i] && n > ((uint64_t)1 << 60) / dims[i])
			return UINT64_MAX;
		n *= dims[i];
	}
	return n;
}

uint64_t feat_tensor_count(const struct feat_tensor *t)
{
	uint64_t n = shape_count(t->ndim, t->dims);

	return n == UINT64_MAX ? 0 : n;
}

int feat_shape_bytes(int dtype, int ndim, const uint32_t *dims, size_t *nbytes)
{
	uint64_t n;

	if (dtype <= 0 || dtype >= FEAT_DT_COUNT || ndim < 0 ||
	    ndim > FEAT_MAX_DIMS)
		return FEAT_E_INVAL;
	n = shape_count(ndim, dims);
	if (n == UINT64_MAX)
		return FEAT_E_TOOBIG;
	if (dtype == FEAT_DT_BIT)
		n = (n + 7) / 8;
	else
		n *= dtsize[dtype];
	if (n > SIZE_MAX / 4)
		return FEAT_E_TOOBIG;
	*nbytes = (size_t)n;
	return 0;
}

size_t feat_tensor_bytes(int dtype, int ndim, const uint32_t *dims)
{
	size_t n;

	return feat_shape_bytes(dtype, ndim, dims, &n) ? 0 : n;
}

void feat_hex_encode(const uint8_t *bytes, size_t nbytes, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * nbytes] = 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int feat_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap)
{
	if (hexlen % 2 || hexlen / 2 > cap || hexlen / 2 > INT32_MAX)
		return FEAT_E_INVAL;
	for (size_t i = 0; i < hexlen / 2; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hexval((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return FEAT_E_INVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(hexlen / 2);
}

uint32_t feat_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* zlib takes uInt lengths; feed it in pieces. */
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

void *feat_aligned_alloc(size_t n)
{
	void *p = NULL;

	if (posix_memalign(&p, FEAT_ALIGN, n ? n : FEAT_ALIGN))
		return NULL;
	return p;
}

void feat_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

int feat_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t nc = *cap ? *cap : first ? first : 1;
	void *p, *q;

	if (need <= *cap)
		return 0;
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return FEAT_E_NOMEM;
		nc *= 2;
	}
	if (!elem || nc > SIZE_MAX / elem)
		return FEAT_E_NOMEM;
	memcpy(&p, pp, sizeof p);
	if (!(q = realloc(p, nc * elem)))
		return FEAT_E_NOMEM;
	memcpy(pp, &q, sizeof q);
	*cap = nc;
	return 0;
}

int feat_write_named(int fd, const void *buf, size_t n, const char *name, char *why,
	size_t whylen)
{
	int e = feat_write_full(fd, buf, n);

	if (!e)
		return 0;
	feat_fmt(why, whylen, "%s: write error: %s", name, strerror(e));
	return FEAT_E_IO;
}

int feat_write_full(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno ? errno : EIO;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int feat_fail_named(char *why, size_t whylen, const char *name, int err,
	const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	feat_fmt(why, whylen, "%s: %s", name, msg);
	return err;
}
