#!/bin/sh
# imgprep after imgdecode: PNGs with exact pixels (written here with
# Python's zlib, not by featkit) go through the real pipeline.

. "$FEAT_TOP/t/test-lib.sh"

if ! command -v imgdecode >/dev/null 2>&1; then
	test_skip 'imgdecode | imgprep' 'imgdecode is not built'
	test_done
fi

# mkpng FILE W H: an RGB PNG whose pixel (x, y) is (10x, 20y, 7 + x + y)
mkpng() {
	"$PYTHON" - "$@" <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = b"".join(b"\0" + bytes(v for x in range(w) for v in (10 * x, 20 * y, 7 + x + y))
               for y in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(path, "wb").write(png)
PY
}

# expect_input FILE W H EXPR: FILE holds f32 [3, H, W] with value EXPR of
# c (channel), x and y at each place
expect_input() {
	"$PYTHON" - "$@" <<'PY'
import struct, sys
path, w, h, expr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = open(path, "rb").read()
v = struct.unpack("<%df" % (3 * w * h), data[:12 * w * h])
for c in range(3):
    for y in range(h):
        for x in range(w):
            want = eval(expr)
            got = v[(c * h + y) * w + x]
            if abs(got - want) > 1e-3:
                sys.exit("c %d x %d y %d: got %r, expected %r" % (c, x, y, got, want))
PY
}

test_expect_success 'same size, nearest: input is the pixels, channels first' '
	mkpng a.png 7 5 &&
	imgdecode a.png >a.fs &&
	imgprep --size 7x5 --resize nearest <a.fs >out.fs &&
	featinfo --raw input out.fs >in.f32 &&
	expect_input in.f32 7 5 "(10 * x, 20 * y, 7 + x + y)[c]"
'

test_expect_success 'BGR with mean and scale, in output channel order' '
	imgdecode a.png >a.fs &&
	imgprep --size 7x5 --bgr --mean 1,2,3 --scale 0.5,2,4 <a.fs >out.fs &&
	featinfo --raw input out.fs >in.f32 &&
	expect_input in.f32 7 5 "((7 + x + y - 1) * 0.5, (20 * y - 2) * 2, (10 * x - 3) * 4)[c]"
'

test_expect_success 'halving with area averages each 2x2 block' '
	mkpng b.png 8 6 &&
	imgdecode b.png >b.fs &&
	imgprep --size 4x3 <b.fs >out.fs &&
	featinfo --raw input out.fs >in.f32 &&
	expect_input in.f32 4 3 "(10 * (2 * x + 0.5), 20 * (2 * y + 0.5), 7 + 2 * x + 2 * y + 1)[c]"
'

# 20x10 letterboxed into 10x10: scale 0.5, content 10x5 at y 2.  Input
# sample (x, y) maps back to x_img = (x + 0.5 - 0) / 0.5, y_img =
# (y + 0.5 - 2) / 0.5; the ramps are linear, so bilinear reproduces them
# there: red 10 (x_img - 0.5), green 20 (y_img - 0.5), blue 7 + both - 1.
test_expect_success 'a point maps back through xform: letterbox' '
	mkpng c.png 20 10 &&
	imgdecode c.png >c.fs &&
	imgprep --size 10x10 --fit letterbox --resize bilinear --pad 0 <c.fs >out.fs &&
	featinfo out.fs >info &&
	grep "	xform	f32	\[8\]	20 10 10 10 0.5 0.5 0 2$" info &&
	featinfo --raw input out.fs >in.f32 &&
	expect_input in.f32 10 10 "(0 if not 2 <= y < 7 else (10 * (2 * x + 0.5), 20 * (2 * y - 3.5), 4 + 2 * x + 2 * y)[c])"
'

test_expect_success 'decode failures pass through imgprep as they were' '
	echo "not a png" >bad.png &&
	imgdecode a.png bad.png missing.png a.png >in.fs 2>err &&
	featinfo -k in.fs >keys.in &&
	imgprep --for ssd300 <in.fs >out.fs &&
	featinfo -k out.fs >keys.out &&
	test_cmp keys.in keys.out &&
	test $(grep -c "	error	" keys.out) = 2
'

test_done
