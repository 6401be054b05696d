#!/usr/bin/python3
"""mktestimages.py - make the images imgdecode's tests read (t/data/decode/).

Usage: contrib/mktestimages.py [OUTDIR]        (default: t/data/decode)

Everything is deterministic (fixed seeds, no timestamps), so running it
again reproduces the committed files byte for byte with the same Pillow.

Next to each image whose pixels a test checks is NAME.rgb: the expected
pixels, raw u8 H x W x 3 RGB, as PIL decodes them (JPEG; compared with a
tolerance, decoders may round differently) or as numpy computed them
from the source array (PNG; compared exactly).  Orientation fixtures are
PIL's ImageOps.exif_transpose of the stored image.

PIL cannot write interlaced or 16-bit RGB PNGs, so a small PNG writer here
does (zlib + struct, Adam7 by the book).  The broken files are made from
the good ones: cut, bit-flipped, with a CRC or a zlib stream spoiled, or
with header dimensions far over the pixel limit.
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "t", "data", "decode")


def path(name):
    return os.path.join(OUT, name)


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def write_rgb(name, arr):
    arr = np.asarray(arr, dtype=np.uint8)
    assert arr.ndim == 3 and arr.shape[2] == 3
    write(name, arr.tobytes())


def smooth(w, h, seed=1):
    """A smooth colour picture with a few flat blocks: JPEG keeps it well."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / w * 3.1 + rng.uniform(0, 1))
    g = 128 + 100 * np.cos(y / h * 2.7 + rng.uniform(0, 1))
    b = 40 + 180 * (x + y) / (w + h)
    img = np.stack([r, g, b], axis=2)
    # a dark and a bright block, and a pure red one, 8-aligned
    img[0:8, 0:8] = (20, 20, 20)
    img[8:16, 8:16] = (240, 240, 230)
    img[16:24, 0:8] = (250, 0, 0)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def jpeg_bytes(im, **kw):
    b = io.BytesIO()
    im.save(b, "JPEG", **kw)
    return b.getvalue()


def pil_rgb(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


# ----------------------------------------------------------- PNG writer

def chunk(typ, data):
    c = typ + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_write(arr, ctype, depth=8, interlace=False, extra=b""):
    """arr: H x W x C uint8 or uint16 array; rows are stored with filter
    type cycling 0..4 so that every PNG filter is exercised."""
    h, w = arr.shape[:2]
    bpp = arr.shape[2] * depth // 8

    def rows_bytes(a):
        out = b""
        prev = bytes(a.shape[1] * bpp)
        for i in range(a.shape[0]):
            if depth == 16:
                raw = a[i].astype(">u2").tobytes()
            else:
                raw = a[i].astype(np.uint8).tobytes()
            ft = i % 5
            f = bytearray(len(raw))
            for j in range(len(raw)):
                left = raw[j - bpp] if j >= bpp else 0
                up = prev[j]
                ul = prev[j - bpp] if j >= bpp else 0
                if ft == 0:
                    pred = 0
                elif ft == 1:
                    pred = left
                elif ft == 2:
                    pred = up
                elif ft == 3:
                    pred = (left + up) // 2
                else:
                    p = left + up - ul
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                f[j] = (raw[j] - pred) & 255
            out += bytes([ft]) + bytes(f)
            prev = raw
        return out

    if interlace:
        data = b""
        for x0, y0, dx, dy in ADAM7:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += rows_bytes(sub)
    else:
        data = rows_bytes(arr)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b""))


def over(rgb, a, bg):
    """Composite 8-bit RGB with alpha over bg: (c*a + bg*(255-a)) / 255, rounded."""
    rgb = rgb.astype(np.int64)
    a = a.astype(np.int64)[..., None]
    bg = np.array(bg, dtype=np.int64)
    return ((rgb * a + bg * (255 - a) + 127) // 255).astype(np.uint8)


def to8(v16):
    """16 to 8 bits, rounded: round(v / 257)."""
    return ((v16.astype(np.int64) * 2 + 257) // 514).astype(np.uint8)


# ----------------------------------------------------------------- EXIF

def exif_mm(orientation):
    """A big-endian (Motorola) TIFF with IFD0 holding only Orientation."""
    return (b"Exif\0\0MM\0\x2a\0\0\0\x08" + struct.pack(">H", 1) +
            struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0))


def main():
    os.makedirs(OUT, exist_ok=True)
    base = smooth(48, 32)
    im = Image.fromarray(base, "RGB")

    # --- JPEG: baseline, progressive, grayscale, CMYK
    d = jpeg_bytes(im, quality=92)
    write("baseline.jpg", d)
    write_rgb("baseline.rgb", pil_rgb(d))
    d = jpeg_bytes(im, quality=92, progressive=True)
    write("progressive.jpg", d)
    write_rgb("progressive.rgb", pil_rgb(d))
    d = jpeg_bytes(im.convert("L"), quality=92)
    write("gray.jpg", d)
    write_rgb("gray.rgb", pil_rgb(d))
    cmyk = np.zeros((32, 48, 4), np.uint8)
    cmyk[..., 0] = np.linspace(0, 200, 48)[None, :]
    cmyk[..., 1] = np.linspace(0, 150, 32)[:, None]
    cmyk[..., 2] = 60
    cmyk[..., 3] = np.linspace(0, 120, 48)[None, ::-1]
    d = jpeg_bytes(Image.fromarray(cmyk, "CMYK"), quality=95)
    write("cmyk.jpg", d)
    got = np.asarray(Image.open(io.BytesIO(d))).astype(np.int64)  # true C, M, Y, K
    k = 255 - got[..., 3:4]
    write_rgb("cmyk.rgb", ((255 - got[..., :3]) * k + 127) // 255)

    # --- JPEG with EXIF orientation 1..8 (PIL writes little-endian "II"),
    # and two big-endian ones written by hand
    for o in range(1, 9):
        ex = Image.Exif()
        ex[0x0112] = o
        d = jpeg_bytes(im, quality=92, exif=ex.tobytes())
        write("orient%d.jpg" % o, d)
        shown = ImageOps.exif_transpose(Image.open(io.BytesIO(d)))
        write_rgb("orient%d.rgb" % o, np.asarray(shown.convert("RGB")))
    for o in (6, 8):
        d = jpeg_bytes(im, quality=92, exif=exif_mm(o))
        write("orient%d-mm.jpg" % o, d)
    # EXIF whose IFD0 offset points past the end, and one whose entry
    # count runs off the end: both decode, unrotated
    write("exif-bogus-offset.jpg", jpeg_bytes(
        im, quality=92, exif=b"Exif\0\0II\x2a\0\xff\xff\0\0"))
    write("exif-bogus-count.jpg", jpeg_bytes(
        im, quality=92, exif=b"Exif\0\0II\x2a\0\x08\0\0\0\xff\xff\x12\x01\x03\0"))

    # --- JPEG for DCT scaling: 96x64; PIL's draft mode picks scale 1/2
    big = smooth(96, 64, seed=2)
    d = jpeg_bytes(Image.fromarray(big, "RGB"), quality=92)
    write("scale96x64.jpg", d)
    dim = Image.open(io.BytesIO(d))
    dim.draft("RGB", (48, 32))
    assert dim.size == (48, 32), dim.size
    write_rgb("scale96x64-half.rgb", np.asarray(dim.convert("RGB")))

    # --- PNG (expected pixels from the source arrays, exact)
    write("rgb.png", png_write(base, 2))
    write_rgb("rgb.rgb", base)
    gray = base[..., 1]
    b = io.BytesIO()
    Image.fromarray(gray, "L").save(b, "PNG")
    write("gray.png", b.getvalue())
    write_rgb("gray-png.rgb", np.repeat(gray[..., None], 3, axis=2))
    # palette of 16 colours
    pal = (np.arange(16 * 3).reshape(16, 3) * 37 % 256).astype(np.uint8)
    idx = (np.add.outer(np.arange(32) // 4, np.arange(48) // 6) % 16).astype(np.uint8)
    p = Image.fromarray(idx, "P")
    p.putpalette(pal.flatten().tolist())
    b = io.BytesIO()
    p.save(b, "PNG")
    write("palette.png", b.getvalue())
    write_rgb("palette.rgb", pal[idx])
    # palette with tRNS: entry 3 fully transparent, entry 5 half
    trns = bytes([255, 255, 255, 0, 255, 128] + [255] * 10)
    b = io.BytesIO()
    p.save(b, "PNG", transparency=trns)
    write("palette-trns.png", b.getvalue())
    alpha = np.frombuffer(trns, np.uint8)[idx]
    write_rgb("palette-trns.rgb", over(pal[idx], alpha, (255, 255, 255)))
    # 16-bit gray (PIL mode I;16) and 16-bit RGB (own writer)
    g16 = (np.add.outer(np.arange(32) * 1500, np.arange(48) * 331) % 65536).astype(np.uint16)
    write("gray16.png", png_write(g16[..., None], 0, depth=16))
    write_rgb("gray16.rgb", np.repeat(to8(g16)[..., None], 3, axis=2))
    rgb16 = np.stack([g16, 65535 - g16, (g16 * 7) % 65536], axis=2).astype(np.uint16)
    write("rgb16.png", png_write(rgb16, 2, depth=16))
    write_rgb("rgb16.rgb", to8(rgb16))
    # RGBA and gray+alpha: an alpha ramp
    a = np.add.outer(np.arange(32) * 8, np.arange(48) * 5).clip(0, 255).astype(np.uint8)
    rgba = np.concatenate([base, a[..., None]], axis=2)
    b = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(b, "PNG")
    write("rgba.png", b.getvalue())
    write_rgb("rgba.rgb", over(base, a, (255, 255, 255)))
    write_rgb("rgba-bg.rgb", over(base, a, (0, 128, 255)))
    la = np.stack([gray, a], axis=2)
    b = io.BytesIO()
    Image.fromarray(la, "LA").save(b, "PNG")
    write("graya.png", b.getvalue())
    write_rgb("graya.rgb", over(np.repeat(gray[..., None], 3, axis=2), a, (255, 255, 255)))
    # tRNS on an RGB image: one colour transparent
    key = tuple(int(v) for v in base[0, 0])
    b = io.BytesIO()
    Image.fromarray(base, "RGB").save(b, "PNG", transparency=key)
    write("rgb-trns.png", b.getvalue())
    m = np.all(base == np.array(key, np.uint8), axis=2)
    exp = base.copy()
    exp[m] = (255, 255, 255)
    write_rgb("rgb-trns.rgb", exp)
    # Adam7 interlaced: RGB and RGBA, sizes that leave some passes short
    write("interlaced.png", png_write(base[:29, :45], 2, interlace=True))
    write_rgb("interlaced.rgb", base[:29, :45])
    write("interlaced-rgba.png", png_write(rgba[:29, :45], 6, interlace=True))
    write_rgb("interlaced-rgba.rgb", over(base[:29, :45], a[:29, :45], (255, 255, 255)))
    # PNG with an eXIf chunk: orientation 6
    write("exif6.png", png_write(base, 2, extra=chunk(b"eXIf", exif_mm(6)[6:])))
    write_rgb("exif6.rgb", np.rot90(base, k=-1))

    # --- broken files
    good = open(path("baseline.jpg"), "rb").read()
    write("empty.jpg", b"")
    write("text.jpg", b"this is not an image\n")
    write("gif.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
    write("truncated.jpg", good[:len(good) * 6 // 10])
    write("truncated-header.jpg", good[:100])
    write("truncated-2bytes.jpg", good[:2])
    # junk between two header segments: libjpeg warns ("extraneous bytes
    # before marker") and recovers with the pixels intact
    nxt = 4 + struct.unpack(">H", good[4:6])[0]
    write("extraneous.jpg", good[:nxt] + b"\x00\x17\x42" + good[nxt:])
    # a flipped bit early in the entropy-coded data
    sos = good.index(b"\xff\xda")
    flip = bytearray(good)
    flip[sos + 20] ^= 0x10
    write("bitflip.jpg", bytes(flip))
    # a marker in the middle of the entropy-coded data: libjpeg warns
    # ("premature end of data segment") and fills the rest in grey
    mid = bytearray(good)
    mid[sos + 40:sos + 42] = b"\xff\xd3"
    write("badmarker.jpg", bytes(mid))
    # the SOF marker's precision byte set to 12: a hard error
    sof = good.index(b"\xff\xc0")
    hard = bytearray(good)
    hard[sof + 4] = 12
    write("badsof.jpg", bytes(hard))
    # SOF claiming 60000 x 60000
    huge = bytearray(good)
    huge[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    write("huge.jpg", bytes(huge))
    pg = open(path("rgb.png"), "rb").read()
    write("truncated.png", pg[:len(pg) // 2])
    write("truncated-sig.png", pg[:5])
    # IDAT CRC spoiled
    i = pg.index(b"IDAT")
    n = struct.unpack(">I", pg[i - 4:i])[0]
    bad = bytearray(pg)
    bad[i + 4 + n] ^= 0xff
    write("badcrc.png", bytes(bad))
    # a zlib stream with a back-reference before the start (valid CRC)
    raw = b"\x00" + bytes(3)        # one row, filter 0, one black pixel
    comp = bytes([0x78, 0x01,       # zlib header
                  0x63, 0x00, 0x03, 0x00, 0x00])  # placeholder, replaced below
    # fixed-Huffman block: literal 0, then a match of length 3 at distance 2
    # (only one byte precedes it: "invalid distance too far back")
    bits = []

    def put(v, nbits, rev=False):
        if rev:  # Huffman codes go MSB first
            for k in range(nbits - 1, -1, -1):
                bits.append((v >> k) & 1)
        else:
            for k in range(nbits):
                bits.append((v >> k) & 1)
    put(1, 1)                       # BFINAL
    put(1, 2)                       # BTYPE = fixed
    put(0x30 + 0, 8, rev=True)      # literal 0
    put(0b0000001, 7, rev=True)     # length code 257: length 3
    put(1, 5, rev=True)             # distance code 1: distance 2
    put(0, 7, rev=True)             # end of block (256)
    while len(bits) % 8:
        bits.append(0)
    deflate = bytes(sum(bits[j + k] << k for k in range(8)) for j in range(0, len(bits), 8))
    comp = b"\x78\x01" + deflate + struct.pack(">I", zlib.adler32(raw))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    write("baddist.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", comp) +
          chunk(b"IEND", b""))
    # IHDR claiming 100000 x 100000 (CRC fixed up)
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    write("huge.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + pg[33:])
    # width 0 (invalid in PNG)
    ihdr = struct.pack(">IIBBBBB", 0, 32, 8, 2, 0, 0, 0)
    write("zerowidth.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + pg[33:])


if __name__ == "__main__":
    main()
