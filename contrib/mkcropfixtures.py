#!/usr/bin/python3
"""mkcropfixtures.py - regenerate t/data/crop/, the fixtures of cropbox's
tests (t/t5100-cropbox.sh).

Implements the rules of cropbox(1) independently (plain Python and numpy
slicing, not featkit's code) and writes:

  in.fs          records with images and `dets` of every kind the tests
                 need (boxes partly or wholly outside, ties, thin boxes,
                 NaN, no `dets`, N = 0, 1x1, gray and RGBA images, records
                 without `image`, bad `dets`, an error record)
  labels.txt     class names, one a line (line 0: the background)
  cases.txt      NAME<TAB>CROPBOX ARGS
  NAME.keys      key<TAB>status of each output record
  NAME.crop.f32  the `crop` tensors of the output records, concatenated
  NAME.image.u8  the `image` payloads of the output records, concatenated

Usage: contrib/mkcropfixtures.py [OUTDIR]   (default t/data/crop)
"""
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkprepfixtures import frame, stream  # noqa: E402  (featstream writer)

EPS = 1e-3
LABELS = ["background", "tshirt", "trouser", "pullover", "dress", "coat",
          "sandal", "shirt", "sneaker", "bag", "boot"]
F32 = np.float32


def f32(v):
    return float(F32(v))


def select(dets, w, h, o):
    """The boxes kept, in the order of their rows (ssd-detect writes the
    main item's box first): (label, score, x0, y0, x1, y1)."""
    out = []
    for i, d in enumerate(dets):
        label, score, x0, y0, x1, y1 = (F32(v) for v in d)
        if not (math.isfinite(label) and math.isfinite(score)):
            continue
        if score < F32(o.get("min_score", 0)):
            continue
        if o.get("classes") is not None and float(label) not in o["classes"]:
            continue
        if not (x0 < x1 and y0 < y1):
            continue
        cx0, cy0 = min(max(x0, F32(0)), F32(w)), min(max(y0, F32(0)), F32(h))
        cx1, cy1 = min(max(x1, F32(0)), F32(w)), min(max(y1, F32(0)), F32(h))
        if not (cx0 < cx1 and cy0 < cy1):
            continue
        ms = o.get("min_size", 0)
        if float(cx1) - float(cx0) < ms or float(cy1) - float(cy0) < ms:
            continue
        out.append((float(label), float(score), float(cx0), float(cy0), float(cx1), float(cy1)))
    return out


def grow(a, b, length, lim):
    c = (a + b) / 2
    a, b = c - length / 2, c + length / 2
    if a < 0:
        b, a = b - a, 0.0
    if b > lim:
        a, b = a - (b - lim), float(lim)
    return max(a, 0.0), b


def rect(box, w, h, o):
    _, _, x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    mf, mp = o.get("margin_frac", 0.1), o.get("margin_px", 0.0)  # cropbox(1): default 0.1
    mx, my = bw * mf + mp, bh * mf + mp
    x0, x1, y0, y1 = max(x0 - mx, 0), min(x1 + mx, w), max(y0 - my, 0), min(y1 + my, h)
    if o.get("square"):
        side = max(x1 - x0, y1 - y0)
        x0, x1 = grow(x0, x1, side, w)
        y0, y1 = grow(y0, y1, side, h)
    r = [math.floor(x0 + EPS), math.floor(y0 + EPS), math.ceil(x1 - EPS), math.ceil(y1 - EPS)]
    r[0] = min(max(r[0], 0), w - 1)
    r[1] = min(max(r[1], 0), h - 1)
    r[2] = min(r[2], w) if r[2] > r[0] else r[0] + 1
    r[3] = min(r[3], h) if r[3] > r[1] else r[1] + 1
    return r


class Rec:
    def __init__(self, key, img=None, dets=None, status=0, msg="", dets_t=None):
        self.key, self.img, self.dets, self.status, self.msg = key, img, dets, status, msg
        self.dets_t = dets_t            # a raw (bad) dets tensor instead

    def tensors(self):
        t = []
        if self.img is not None:
            t.append(("image", 1, self.img.shape, self.img.tobytes()))
        # the photo's size: the image's, as imgdecode leaves it at full
        # size (cropbox's frame for dets and crop)
        w, h = (self.img.shape[1], self.img.shape[0]) if self.img is not None else (1000, 800)
        t.append(("origsize", 4, (2,), struct.pack("<2i", w, h)))
        if self.dets is not None:
            d = np.array(self.dets, dtype="<f4").reshape(-1, 6)
            t.append(("dets", 5, d.shape, d.tobytes()))
        if self.dets_t is not None:
            t.append(self.dets_t)
        # what imgprep and ssd-detect leave behind, stale after the crop
        t.append(("input", 5, (1, 2, 2), b"\0" * 16))
        t.append(("xform", 5, (8,), b"\0" * 32))
        return t

    def frame(self):
        return frame(self.key, self.tensors(), self.status, self.msg)


def run(recs, o):
    """Expected output records: (key, status, crop or None, image bytes or None)."""
    out = []
    for r in recs:
        if r.status or r.img is None or r.dets_t is not None:
            out.append((r.key, "error", None,
                        None if r.img is None else r.img.tobytes()))
            continue
        h, w = r.img.shape[:2]
        boxes = select(r.dets or [], w, h, o)
        if not boxes:
            if o.get("strict"):
                out.append((r.key, "error", None, r.img.tobytes()))
                continue
            crop = [0, 0, w, h, -1.0, -1.0]
            key = r.key + "#1" if o.get("top") else r.key
            out.append((key, "ok", crop, r.img.tobytes()))
            continue
        n = o.get("top") or 1
        for i, b in enumerate(boxes[:n]):
            x0, y0, x1, y1 = rect(b, w, h, o)
            key = "%s#%d" % (r.key, i + 1) if o.get("top") else r.key
            out.append((key, "ok", [x0, y0, x1, y1, b[1], b[0]],
                        np.ascontiguousarray(r.img[y0:y1, x0:x1]).tobytes()))
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "t/data/crop"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261122)

    def img(w, h, c):
        return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)

    nan = float("nan")
    recs = [
        Rec("a.jpg", img(40, 30, 3), [
            [1, 0.6, 5.5, 4.25, 20.25, 18.75],     # fractional: rounded outwards
            [2, 0.9, -5, -3, 12, 10],              # partly outside: clipped
            [3, 0.9, 30, 20, 35, 25],              # the same score, a later row
            [1, 0.95, 50, 40, 60, 50],             # wholly outside: ignored
            [2, 0.7, 10, 10, 10.5, 29],            # half a pixel wide
            [7, 0.5, 2, 2, 38, 28],
        ]),
        Rec("b-gray.png", img(17, 23, 1), [[5, 0.8, 2, 3, 15, 20], [7, 0.45, 0, 0, 17, 23]]),
        Rec("c-rgba-no-dets.png", img(20, 20, 4)),
        Rec("d-zero-dets.jpg", img(30, 20, 3), []),
        Rec("e-failed.jpg", img(8, 8, 3), [[1, 0.9, 0, 0, 4, 4]], status=1,
            msg="corrupt JPEG data: premature end of data segment"),
        Rec("f-no-image", None, [[1, 0.9, 0, 0, 4, 4]]),
        Rec("g-bad-dets.jpg", img(10, 10, 3), None,
            dets_t=("dets", 5, (2, 5), b"\0" * 40)),
        Rec("h-one-pixel.jpg", img(1, 1, 3), [[1, 0.5, -1, -1, 2, 2], [1, 0.4, 0.2, 0.2, 0.7, 0.7]]),
        Rec("i-wide.jpg", img(50, 20, 3), [
            [1, nan, 0, 0, 10, 10],
            [1, 0.99, nan, 0, 10, 10],
            [8, 0.95, 40, 2, 48, 18],              # near the right edge
            [2, 0.4, 5, 5, 15, 8],
            [7, 0.6, 20, 0, 30, 20],
        ]),
        Rec("j-u8-dets.jpg", img(6, 6, 3), None,
            dets_t=("dets", 1, (1, 6), b"\1" * 6)),
        Rec("k-last.jpg", img(12, 9, 3), [[4, 0.3, 1, 1, 11, 8], [4, 0.3, 2, 2, 5, 5]]),
    ]
    with open(os.path.join(out, "in.fs"), "wb") as f:
        f.write(stream([r.frame() for r in recs]))
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")

    cases = [
        ("default", "", {}),
        ("class", "--class 2,8", {"classes": [2.0, 8.0]}),
        ("class-names", "--labels $D/labels.txt --class trouser,sneaker", {"classes": [2.0, 8.0]}),
        ("min-score", "--min-score 0.65", {"min_score": 0.65}),
        ("min-size", "--min-size 10", {"min_size": 10}),
        ("margin", "--margin 0.3", {"margin_frac": 0.3}),
        ("margin-none", "--margin 0", {"margin_frac": 0.0}),
        ("margin-px", "--margin 3px", {"margin_px": 3.0}),
        ("margin-both", "--margin 0.25 --margin 1.5px", {"margin_frac": 0.25, "margin_px": 1.5}),
        ("square", "--square", {"square": True}),
        ("square-margin", "--square --margin 0.5", {"square": True, "margin_frac": 0.5}),
        ("top", "--top 3", {"top": 3}),
        ("top-class", "--top 2 --class 7 --min-score 0.5", {"top": 2, "classes": [7.0], "min_score": 0.5}),
        ("strict", "--strict", {"strict": True}),
        ("strict-top", "--strict --top 2 --min-size 2", {"strict": True, "top": 2, "min_size": 2}),
    ]
    with open(os.path.join(out, "cases.txt"), "w") as man:
        for name, args, o in cases:
            res = run(recs, o)
            with open(os.path.join(out, name + ".keys"), "w") as f:
                for key, st, _, _ in res:
                    f.write("%s\t%s\n" % (key, st))
            with open(os.path.join(out, name + ".crop.f32"), "wb") as f:
                for _, _, crop, _ in res:
                    if crop is not None:
                        f.write(np.array(crop, dtype="<f4").tobytes())
            with open(os.path.join(out, name + ".image.u8"), "wb") as f:
                for _, _, _, im in res:
                    if im is not None:
                        f.write(im)
            man.write("%s\t%s\n" % (name, args))


if __name__ == "__main__":
    main()
