#!/usr/bin/python3
"""mkcrops.py - many image records from a few: random crops of the decoded
images of a featstream, for tests that need a few hundred distinct inputs
(featmodel fitcodes).

Usage: mkcrops.py IN.fs N SEED [ERRORS] > out.fs

IN.fs is imgdecode's output (tensor image u8 [H, W, 3]); out.fs holds N
records "crop-I" with an image tensor of a random window (side 12 to
120 px, anywhere in a random ok input, mirrored half the
time), then ERRORS error records (default 0), spread among them.  The
stream is read and written from featstream(5) alone, with mkstream.py's
record writer.
"""
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkstream import MAGIC, record  # noqa: E402


def align(n, a=64):
    return (n + a - 1) // a * a


def images(buf):
    """(h, w, bytes) of each ok record's image."""
    if buf[:8] != MAGIC:
        sys.exit("mkcrops: not a featstream")
    pos, out = 64, []
    while pos + 64 <= len(buf) and buf[pos:pos + 4] == b"FREC":
        _, _, size, klen, mlen, status, nt = struct.unpack_from("<4sIQIIII", buf, pos)
        d = pos + 64 + align(klen + mlen)
        for t in range(nt):
            e = d + 64 * t
            name = buf[e:e + 20].rstrip(b"\0")
            _, ndim = struct.unpack_from("<HH", buf, e + 20)
            dims = struct.unpack_from("<6I", buf, e + 24)[:ndim]
            off, n = struct.unpack_from("<QQ", buf, e + 48)
            if name == b"image" and status == 0 and ndim == 3 and dims[2] == 3:
                out.append((dims[0], dims[1], buf[pos + off:pos + off + n]))
        pos += size
    return out


def main(argv):
    src, n, seed = argv[0], int(argv[1]), int(argv[2])
    errors = int(argv[3]) if len(argv) > 3 else 0
    imgs = images(open(src, "rb").read())
    if not imgs:
        sys.exit("mkcrops: no images in %s" % src)
    rnd = random.Random(seed)
    err_at = set(rnd.sample(range(n + errors), errors))
    out = bytearray(MAGIC + struct.pack("<HHI", 1, 0, 64) + bytes(48))
    i = 0
    for slot in range(n + errors):
        if slot in err_at:
            out += record({"key": "broken-%d" % slot, "status": "error",
                           "message": "imgdecode: not a JPEG or PNG file"})
            continue
        h, w, px = imgs[rnd.randrange(len(imgs))]
        side = rnd.randint(min(12, h, w), min(120, h, w))
        ch = max(1, min(h, int(side * rnd.uniform(0.7, 1.3))))
        y, x = rnd.randint(0, h - ch), rnd.randint(0, w - side)
        flip = rnd.random() < 0.5
        rows = []
        for r in range(y, y + ch):
            row = px[(r * w + x) * 3:(r * w + x + side) * 3]
            if flip:
                row = b"".join(row[3 * c:3 * c + 3] for c in range(side - 1, -1, -1))
            rows.append(row)
        out += record({"key": "crop-%d" % i, "tensors": [
            {"name": "image", "dtype": "u8", "shape": [ch, side, 3],
             "hex": b"".join(rows).hex()}]})
        i += 1
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main(sys.argv[1:])
