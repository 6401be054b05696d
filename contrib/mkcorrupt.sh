#!/bin/sh
# mkcorrupt.sh - broken JPEG and PNG files whose damage libjpeg or libpng
# recovers from (t/data/decode/), made without featkit: cjpeg
# (libjpeg-turbo-progs) for the JPEG, Python's standard library for the
# rest, head -c for the cuts.
#
#   claims-10000.jpg  a 10000x10000 JPEG of one colour cut to 630 bytes and
#                     closed with an EOI marker: 632 bytes whose missing
#                     100 M pixels libjpeg would fill with grey ("premature
#                     end of data segment")
#   cut-eoi.jpg       baseline.jpg cut in its entropy-coded data, closed
#                     with an EOI marker
#   badhuff.jpg       baseline.jpg with eight stuffed 0xff bytes (64 one
#                     bits, no Huffman code) in its scan: "bad Huffman code"
#   cut-idat.png      rgb.png with its IDAT data cut in half, the chunk's
#                     length and CRC made right, IEND after it
#
# Usage: contrib/mkcorrupt.sh [OUTDIR]     (default: t/data/decode; reads
# baseline.jpg and rgb.png there, made by contrib/mktestimages.py)
set -eu
D=${1:-$(dirname "$0")/../t/data/decode}
PY=/usr/bin/python3

$PY -c '
import sys
w = h = 10000
sys.stdout.buffer.write(b"P6\n%d %d\n255\n" % (w, h))
row = bytes((200, 30, 30)) * w
for _ in range(h):
    sys.stdout.buffer.write(row)
' | cjpeg -quality 90 >"$D/claims-10000.full"
{ head -c 630 "$D/claims-10000.full"; printf '\377\331'; } >"$D/claims-10000.jpg"
rm -f "$D/claims-10000.full"

n=$(wc -c <"$D/baseline.jpg")
{ head -c $((n * 8 / 10)) "$D/baseline.jpg"; printf '\377\331'; } >"$D/cut-eoi.jpg"

$PY - "$D" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
j = open(d + "/baseline.jpg", "rb").read()
sos = j.index(b"\xff\xda")
start = sos + 2 + struct.unpack(">H", j[sos + 2:sos + 4])[0]
open(d + "/badhuff.jpg", "wb").write(j[:start + 30] + b"\xff\x00" * 8 + j[start + 30:])

p = open(d + "/rgb.png", "rb").read()
out, pos = bytearray(p[:8]), 8
while pos < len(p):
    n, kind = struct.unpack(">I4s", p[pos:pos + 8])
    data = p[pos + 8:pos + 8 + n]
    if kind == b"IDAT":
        data = data[:len(data) // 2]
    out += struct.pack(">I4s", len(data), kind) + data
    out += struct.pack(">I", zlib.crc32(kind + data))
    pos += 12 + n
open(d + "/cut-idat.png", "wb").write(bytes(out))
PY
