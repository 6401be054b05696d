#!/usr/bin/python3
"""mkprepfixtures.py - regenerate t/data/prep/, the fixtures of imgprep's tests.

Implements the definitions of imgprep(1) independently, in numpy, as
dense weight matrices built by brute force (every source pixel against
every output sample), and writes small inputs with their expected outputs:

  resize.txt   resize NAME SW SH C X0 Y0 X1 Y1 DW DH METHOD
               NAME.u8 (source, HWC) and NAME.f32 (expected, HWC, float32)
  prep.txt     prep NAME SW SH C W H FIT BGR M0 M1 M2 S0 S1 S2 P0 P1 P2 RESIZE
               NAME.u8, NAME.input.f32 (CHW) and NAME.xform.f32 (8 values);
               BGR 2 means the gray order (one channel, 0.299 R + 0.587 G +
               0.114 B of the resized values, then mean[0] and scale[0])
  *.fs         featstreams for the shell tests (written by the little
               writer below, after featstream(5), not by featkit)
  cli.txt      NAME<TAB>STREAM<TAB>IMGPREP ARGS: expected NAME.input.f32
               and NAME.xform.f32 of the first record of STREAM

Everything is little-endian and deterministic (fixed seeds).
Usage: contrib/mkprepfixtures.py [OUTDIR]   (default t/data/prep)
"""
import math
import os
import struct
import sys
import zlib

import numpy as np

METHODS = {"auto": 0, "bilinear": 1, "area": 2, "nearest": 3}
FITS = {"stretch": 0, "letterbox": 1, "crop": 2}


def weights(a0, a1, sn, dn, method):
    """dn x sn matrix: output sample j of the axis from source pixels."""
    f = (a1 - a0) / dn
    if method == "auto":
        method = "area" if f >= 2 else "bilinear"
    m = np.zeros((dn, sn))
    for j in range(dn):
        centre = a0 + (j + 0.5) * f
        if method == "nearest":
            m[j, min(max(math.floor(centre), 0), sn - 1)] = 1
        elif method == "bilinear":
            u = centre - 0.5           # in pixel-index units (centre of i is i)
            i0 = math.floor(u)
            t = u - i0
            m[j, min(max(i0, 0), sn - 1)] += 1 - t
            m[j, min(max(i0 + 1, 0), sn - 1)] += t
        else:
            lo, hi = a0 + j * f, a0 + (j + 1) * f
            lo, hi = max(lo, 0.0), min(hi, float(sn))
            if hi <= lo:
                m[j, min(max(math.floor(centre), 0), sn - 1)] = 1
                continue
            for i in range(sn):
                ov = min(hi, i + 1) - max(lo, i)
                if ov > 0:
                    m[j, i] = ov / (hi - lo)
    return m


def resize(img, rect, dw, dh, method):
    """img: H x W x C u8; rect (x0, y0, x1, y1); returns dh x dw x C float64."""
    sh, sw, c = img.shape
    x0, y0, x1, y1 = rect
    wx = weights(x0, x1, sw, dw, method)
    wy = weights(y0, y1, sh, dh, method)
    f = img.astype(np.float64)
    return np.stack([wy @ f[:, :, k] @ wx.T for k in range(c)], axis=2)


def round_half_up(v):
    return math.floor(v + 0.5)


def prepare(img, W, H, fit, bgr, mean, scale, pad, method):
    """Returns (input C x H x W float64, xform[8]); bgr 2 is gray."""
    sh, sw, c = img.shape
    x0, y0, x1, y1 = 0.0, 0.0, float(sw), float(sh)
    ox, oy, rw, rh = 0, 0, W, H
    if fit == "letterbox":
        s = min(W / sw, H / sh)
        rw = min(max(round_half_up(sw * s), 1), W)
        rh = min(max(round_half_up(sh * s), 1), H)
        ox, oy = (W - rw) // 2, (H - rh) // 2
    elif fit == "crop":
        s = max(W / sw, H / sh)
        cw, ch = W / s, H / s
        x0, y0 = (sw - cw) / 2, (sh - ch) / 2
        x1, y1 = x0 + cw, y0 + ch
    r = resize(img, (x0, y0, x1, y1), rw, rh, method)
    if c == 1:
        r = np.repeat(r, 3, axis=2)
    r = r[:, :, :3]
    if bgr == 2:
        r = (0.299 * r[:, :, 0] + 0.587 * r[:, :, 1] + 0.114 * r[:, :, 2])[:, :, None]
    elif bgr:
        r = r[:, :, ::-1]
    nc = r.shape[2]
    out = np.empty((nc, H, W))
    for k in range(nc):
        out[k, :, :] = pad[k]
        out[k, oy:oy + rh, ox:ox + rw] = r[:, :, k]
        out[k] = (out[k] - mean[k]) * scale[k]
    sx, sy = rw / (x1 - x0), rh / (y1 - y0)
    xform = [sw, sh, W, H, sx, sy, ox - x0 * sx, oy - y0 * sy]
    return out, xform


# ------------------------------------------------------------ featstream

def _pad64(b):
    return b + b"\0" * (-len(b) % 64)


def frame(key, tensors, status=0, msg=""):
    """One record; tensors: list of (name, dtype code, dims, payload bytes)."""
    k, m = key.encode(), msg.encode()
    head = _pad64(k + m)
    off = 64 + len(head) + 64 * len(tensors)
    dirents, payloads = b"", b""
    for name, dt, dims, data in tensors:
        d = list(dims) + [0] * (6 - len(dims))
        dirents += struct.pack("<20sHH6IQQ", name.encode(), dt, len(dims), *d,
                               off + len(payloads), len(data))
        payloads += _pad64(data)
    body = head + dirents + payloads
    size = 64 + len(body)
    rest = struct.pack("<QIIII32x", size, len(k), len(m), status, len(tensors)) + body
    return b"FREC" + struct.pack("<I", zlib.crc32(rest) & 0xffffffff) + rest


def stream(records):
    hdr = b"\x89FST\r\n\x1a\n" + struct.pack("<HHI", 1, 0, 64) + b"\0" * 48
    return hdr + b"".join(records)


def image_t(img):
    return ("image", 1, img.shape, img.astype(np.uint8).tobytes())


def origsize_t(w, h):
    return ("origsize", 4, (2,), struct.pack("<2i", w, h))


# ------------------------------------------------------------------ main

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "t/data/prep"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240611)

    def img(w, h, c):
        return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)

    def put(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    resize_cases = [
        # name, sw, sh, c, rect or None (whole), dw, dh, method
        ("up-bilinear", 5, 4, 3, None, 11, 9, "bilinear"),
        ("up-nearest", 5, 4, 3, None, 11, 9, "nearest"),
        ("up-area", 3, 3, 3, None, 7, 5, "area"),
        ("down-small", 13, 11, 3, None, 10, 8, "auto"),
        ("down-large", 40, 30, 3, None, 7, 5, "auto"),
        ("down-larger", 120, 90, 3, None, 13, 10, "auto"),
        ("area-2x", 16, 12, 3, None, 8, 6, "area"),
        ("bilinear-2x", 16, 12, 3, None, 8, 6, "bilinear"),
        ("mixed-axes", 17, 13, 3, None, 5, 9, "auto"),
        ("one-pixel", 1, 1, 3, None, 4, 3, "bilinear"),
        ("one-pixel-area", 1, 1, 3, None, 3, 2, "area"),
        ("one-column", 1, 7, 3, None, 5, 5, "auto"),
        ("to-one-pixel", 9, 6, 3, None, 1, 1, "auto"),
        ("gray-wide", 64, 9, 1, None, 6, 6, "auto"),
        ("rgba-area", 9, 7, 4, None, 4, 4, "area"),
        ("rect-bilinear", 20, 16, 3, (2.5, 1.25, 17.5, 14.75), 6, 5, "bilinear"),
        ("rect-area", 20, 16, 3, (2.5, 1.25, 17.5, 14.75), 6, 5, "area"),
        ("rect-nearest", 20, 16, 3, (2.5, 1.25, 17.5, 14.75), 6, 5, "nearest"),
        ("ssd-like", 75, 75, 3, None, 60, 60, "auto"),
    ]
    with open(os.path.join(out, "resize.txt"), "w") as man:
        for name, sw, sh, c, rect, dw, dh, method in resize_cases:
            a = img(sw, sh, c)
            rect = rect or (0.0, 0.0, float(sw), float(sh))
            want = resize(a, rect, dw, dh, method)
            put(name + ".u8", a.tobytes())
            put(name + ".f32", want.astype("<f4").tobytes())
            man.write("resize %s %d %d %d %.9g %.9g %.9g %.9g %d %d %d\n" % (
                name, sw, sh, c, *rect, dw, dh, METHODS[method]))

    prep_cases = [
        # name, sw, sh, c, W, H, fit, bgr, mean, scale, pad, method
        ("stretch-ssd", 20, 15, 3, 8, 6, "stretch", 1, (104, 117, 123), (1, 1, 1), (0, 0, 0), "auto"),
        ("stretch-down", 50, 40, 3, 9, 7, "stretch", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "auto"),
        ("letterbox-wide", 20, 10, 3, 8, 8, "letterbox", 0, (1, 2, 3), (0.5, 1, 2), (10, 20, 30), "auto"),
        ("letterbox-tall", 9, 21, 3, 7, 7, "letterbox", 1, (0, 0, 0), (1, 1, 1), (255, 0, 128), "bilinear"),
        ("letterbox-odd", 13, 7, 3, 10, 9, "letterbox", 0, (127.5, 127.5, 127.5), (1 / 127.5,) * 3, (0, 0, 0), "area"),
        ("crop-wide", 20, 10, 3, 6, 6, "crop", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "auto"),
        ("crop-tall", 10, 25, 3, 5, 7, "crop", 1, (5, 6, 7), (1, 1, 1), (0, 0, 0), "bilinear"),
        ("crop-nearest", 33, 17, 3, 8, 8, "crop", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "nearest"),
        ("gray-stretch", 7, 5, 1, 4, 4, "stretch", 1, (1, 2, 3), (1, 1, 1), (0, 0, 0), "auto"),
        ("rgba-letterbox", 11, 6, 4, 5, 5, "letterbox", 1, (0, 0, 0), (1, 1, 1), (9, 9, 9), "auto"),
        ("prep-one-pixel", 1, 1, 3, 3, 3, "stretch", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "auto"),
        ("prep-one-pixel-letterbox", 1, 1, 3, 4, 2, "letterbox", 0, (0, 0, 0), (1, 1, 1), (7, 8, 9), "auto"),
    ]
    names = [c[0] for c in resize_cases + prep_cases]
    assert len(names) == len(set(names)), "fixture names must be unique"
    with open(os.path.join(out, "prep.txt"), "w") as man:
        for name, sw, sh, c, W, H, fit, bgr, mean, scale, pad, method in prep_cases:
            a = img(sw, sh, c)
            inp, xf = prepare(a, W, H, fit, bgr, mean, scale, pad, method)
            put(name + ".u8", a.tobytes())
            put(name + ".input.f32", inp.astype("<f4").tobytes())
            put(name + ".xform.f32", np.array(xf).astype("<f4").tobytes())
            man.write("prep %s %d %d %d %d %d %d %d %s %s %s %d\n" % (
                name, sw, sh, c, W, H, FITS[fit], bgr,
                " ".join("%.9g" % v for v in mean),
                " ".join("%.9g" % v for v in scale),
                " ".join("%.9g" % v for v in pad), METHODS[method]))

    # --- streams for the shell tests
    a = img(12, 8, 3)        # the main test image: 12 x 8 RGB
    g = img(6, 4, 1)
    rgba = img(6, 4, 4)
    b = img(5, 9, 3)
    put("basic.fs", stream([
        frame("photos/a.jpg", [image_t(a), origsize_t(48, 32)]),
        frame("photos/b.png", [image_t(b), origsize_t(5, 9)]),
    ]))
    put("mixed.fs", stream([
        frame("ok-first", [image_t(a), origsize_t(48, 32)]),
        frame("already-failed", [image_t(b)], status=1,
              msg="corrupt JPEG data: premature end of data segment"),
        frame("no-image", [origsize_t(10, 10)]),
        frame("float-image", [("image", 5, (2, 2, 3), b"\0" * 48)]),
        frame("flat-image", [("image", 1, (4, 4), b"\1" * 16)]),
        frame("two-channels", [("image", 1, (2, 2, 2), b"\2" * 8)]),
        frame("empty-image", [("image", 1, (0, 3, 3), b"")]),
        frame("gray", [image_t(g)]),
        frame("rgba", [image_t(rgba)]),
        frame("ok-last", [image_t(b), origsize_t(5, 9)]),
    ]))
    whole = stream([frame("photos/a.jpg", [image_t(a), origsize_t(48, 32)])] * 3)
    put("truncated.fs", whole[:len(whole) - 100])

    cli = [
        ("ssd-rgb-small", "--size 6x4 --rgb --for ssd300", a, (6, 4, "stretch", 0, (104, 117, 123), (1, 1, 1), (0, 0, 0), "auto")),
        ("deepbit-mean", "--mean 1 --scale 0.5,0.25,2 --for vgg224 -W 5 -H 3", a, (5, 3, "stretch", 1, (1, 1, 1), (0.5, 0.25, 2), (0, 0, 0), "auto")),
        ("plain", "--size 5x5", a, (5, 5, "stretch", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "auto")),
        ("bgr", "--size 5x5 --bgr --mean 10,20,30", a, (5, 5, "stretch", 1, (10, 20, 30), (1, 1, 1), (0, 0, 0), "auto")),
        ("letterbox", "--size 6x6 --fit letterbox --pad 1,2,3 --mean 1,1,1", a, (6, 6, "letterbox", 0, (1, 1, 1), (1, 1, 1), (1, 2, 3), "auto")),
        ("crop", "--size 4x4 --fit crop", a, (4, 4, "crop", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "auto")),
        ("area", "--size 6x4 --resize area", a, (6, 4, "stretch", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "area")),
        ("bilinear", "--size 3x2 --resize bilinear", a, (3, 2, "stretch", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "bilinear")),
        ("auto-area", "--size 3x2", a, (3, 2, "stretch", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "auto")),
        ("nearest", "--size 7x5 --resize nearest", a, (7, 5, "stretch", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "nearest")),
        ("upscale", "--size 30x20", a, (30, 20, "stretch", 0, (0, 0, 0), (1, 1, 1), (0, 0, 0), "auto")),
    ]
    cli += [
        ("gray", "--size 5x4 --gray --mean 3 --scale 0.5", a, (5, 4, "stretch", 2, (3, 3, 3), (0.5, 0.5, 0.5), (0, 0, 0), "auto")),
        ("gray-letterbox", "--size 6x6 --fit letterbox --gray --pad 40,0,0 --mean 1", a, (6, 6, "letterbox", 2, (1, 1, 1), (1, 1, 1), (40, 0, 0), "auto")),
        ("gray-crop-bilinear", "--size 4x4 --fit crop --resize bilinear --grey", a, (4, 4, "crop", 2, (0, 0, 0), (1, 1, 1), (0, 0, 0), "bilinear")),
    ]
    # the gray cases of the library test, from a generator of their own so
    # that the fixtures above stay as they were
    rng2 = np.random.default_rng(20261122)
    gray_cases = [
        ("gray-rgb-stretch", 13, 9, 3, 6, 5, "stretch", (1, 0, 0), (0.5, 0, 0), (0, 0, 0), "auto"),
        ("gray-rgb-letterbox", 10, 20, 3, 7, 7, "letterbox", (100, 0, 0), (2, 0, 0), (33, 0, 0), "bilinear"),
        ("gray-rgb-crop", 30, 11, 3, 5, 5, "crop", (0, 0, 0), (1, 0, 0), (0, 0, 0), "area"),
        ("gray-of-gray", 9, 6, 1, 4, 3, "stretch", (5, 0, 0), (1, 0, 0), (0, 0, 0), "auto"),
        ("gray-of-rgba", 8, 8, 4, 8, 8, "stretch", (0, 0, 0), (1, 0, 0), (0, 0, 0), "nearest"),
        ("gray-one-pixel", 1, 1, 3, 3, 2, "letterbox", (0, 0, 0), (1, 0, 0), (7, 0, 0), "auto"),
    ]
    with open(os.path.join(out, "prep.txt"), "a") as man:
        for name, sw, sh, c, W, H, fit, mean, scale, pad, method in gray_cases:
            a2 = rng2.integers(0, 256, size=(sh, sw, c), dtype=np.uint8)
            inp, xf = prepare(a2, W, H, fit, 2, mean, scale, pad, method)
            put(name + ".u8", a2.tobytes())
            put(name + ".input.f32", inp.astype("<f4").tobytes())
            put(name + ".xform.f32", np.array(xf).astype("<f4").tobytes())
            man.write("prep %s %d %d %d %d %d %d %d %s %s %s %d\n" % (
                name, sw, sh, c, W, H, FITS[fit], 2,
                " ".join("%.9g" % v for v in mean),
                " ".join("%.9g" % v for v in scale),
                " ".join("%.9g" % v for v in pad), METHODS[method]))
    with open(os.path.join(out, "cli.txt"), "w") as man:
        for name, args, im, (W, H, fit, bgr, mean, scale, pad, method) in cli:
            inp, xf = prepare(im, W, H, fit, bgr, mean, scale, pad, method)
            put("cli-%s.input.f32" % name, inp.astype("<f4").tobytes())
            put("cli-%s.xform.f32" % name, np.array(xf).astype("<f4").tobytes())
            man.write("%s\tbasic.fs\t%s\n" % (name, args))


if __name__ == "__main__":
    main()
