#!/usr/bin/python3
"""scenes_b.py - generator B: product photos for judging featkit's detector
on data its training never saw.

    /usr/bin/python3 contrib/eval/scenes_b.py OUTDIR [-n 300] [--seed 1]

Written apart from the training generators (contrib/train/, contrib/scenes.py:
none of their code is used here) so that a detector that fits one
generator shows it.  Each photo is 320-1000 px a side (aspect 0.5-2.0) and
holds:

- one main item: a Fashion-MNIST TEST item (t10k; the training recipes
  draw from the train split), its longer side 8-90% of the photo's short
  side, stretched (aspect x0.6-1.6), coloured one of four ways (tint,
  two-colour map, photo texture, inverted tint) and composited opaque
  (hard mask), alpha (soft mask) or alpha with a drop shadow;
- 0-3 other items, 25-70% of the main item's size, overlapping it by at
  most 15% of their own area, drawn beneath it;
- clutter: a plain light, gradient, flat-colour or real-photo background
  (a crop of an opencv-doc sample photo), then shapes, lines, text marks
  and photo patches; then maybe a blur, Gaussian noise, a few thin marks
  over everything;
- saved as JPEG (quality 60-95, 80% of photos) or PNG.

OUTDIR/boxes.tsv: one line per item, tab-separated: file, label (0-9,
Fashion-MNIST's class), class name, xmin, ymin, xmax, ymax (pixels of the
written photo, xmax/ymax exclusive), role ("main" or "other"); each
photo's main item comes first.  The box is the extent of the item's mask
(alpha >= 0.5).  The same --seed gives the same files, byte for byte.

Needs python3-numpy, python3-pil, dataset-fashion-mnist, opencv-doc (the
sample photos) and fonts-dejavu-core (Debian packages; a recipe need, not
featkit's).
"""
import argparse
import glob
import gzip
import io
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FMNIST = "/usr/share/datasets/fashion-mnist"
PHOTOS = "/usr/share/doc/opencv-doc/examples/data"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
           "sneaker", "bag", "ankle-boot"]
WORDS = ["SALE", "NEW", "-30%", "free shipping", "shop", "2024", "BEST", "only", "brand",
         "www.example.com", "hot", "limited", "outlet", "#ootd", "price", "9.99"]


def test_items():
    """Fashion-MNIST's test split: (10000, 28, 28) uint8, (10000,) labels 0-9."""
    with gzip.open(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    imgs = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz")) as f:
        labs = np.frombuffer(f.read(), np.uint8, offset=8)
    return imgs, labs


_photos = None


def photos():
    """The opencv-doc sample photos (RGB arrays), in a fixed order."""
    global _photos
    if _photos is None:
        out = []
        for p in sorted(glob.glob(os.path.join(PHOTOS, "*.jpg")) + glob.glob(os.path.join(PHOTOS, "*.png"))):
            try:
                im = Image.open(p).convert("RGB")
            except OSError:
                continue
            if min(im.size) >= 120:
                out.append(np.asarray(im))
        if not out:
            raise SystemExit("scenes_b: no photos under %s (apt-get install opencv-doc)" % PHOTOS)
        _photos = out
    return _photos


def photo_names():
    return [os.path.basename(p) for p in
            sorted(glob.glob(os.path.join(PHOTOS, "*.jpg")) + glob.glob(os.path.join(PHOTOS, "*.png")))]


def font(size):
    try:
        return ImageFont.truetype(FONT, max(6, int(size)))
    except OSError:
        return ImageFont.load_default()


def rcolour(rng, lo=0, hi=256):
    return tuple(int(v) for v in rng.integers(lo, hi, 3))


def photo_crop(rng, h, w):
    """A random crop of a sample photo, resized to h x w (float RGB)."""
    src = photos()[int(rng.integers(len(photos())))]
    sh, sw = src.shape[:2]
    f = rng.uniform(0.35, 1.0)
    ch, cw = max(8, int(sh * f)), max(8, int(sw * f))
    y, x = int(rng.integers(0, sh - ch + 1)), int(rng.integers(0, sw - cw + 1))
    im = Image.fromarray(src[y:y + ch, x:x + cw]).resize((w, h), Image.BILINEAR)
    if rng.random() < 0.3:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    return np.asarray(im, np.float32)


def gradient(rng, h, w):
    a, b = np.array(rcolour(rng), np.float32), np.array(rcolour(rng), np.float32)
    t = rng.uniform(0, 2 * np.pi)
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    p = xx * np.float32(np.cos(t)) + yy * np.float32(np.sin(t))
    p = (p - p.min()) / max(1e-6, p.max() - p.min())
    if rng.random() < 0.3:  # radial
        cy, cx = np.float32(rng.uniform(0, h)), np.float32(rng.uniform(0, w))
        p = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        p = p / max(1e-6, p.max())
    return a + (b - a) * p[..., None]


def background(rng, h, w):
    """Returns (float RGB canvas, kind)."""
    r = rng.random()
    if r < 0.22:
        base = np.array(rcolour(rng, 215, 256), np.float32)
        bg = np.broadcast_to(base, (h, w, 3)).copy()
        if rng.random() < 0.5:  # studio fall-off
            yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
            bg = bg * (1 - rng.uniform(0, 0.12) * yy)
        return bg, "plain"
    if r < 0.45:
        return gradient(rng, h, w), "gradient"
    if r < 0.55:
        return np.broadcast_to(np.array(rcolour(rng), np.float32), (h, w, 3)).copy(), "flat"
    bg = photo_crop(rng, h, w)
    if rng.random() < 0.3:
        bg = np.asarray(Image.fromarray(bg.astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(rng.uniform(1, 6))), np.float32)
    return bg, "photo"


def marks(rng, canvas, n, small=False):
    """Shapes, lines, text and photo patches drawn on the canvas (in place)."""
    h, w = canvas.shape[:2]
    im = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    s = min(h, w)
    for _ in range(n):
        k = rng.random()
        sz = s * (rng.uniform(0.02, 0.08) if small else rng.uniform(0.04, 0.35))
        x, y = rng.uniform(-0.1 * w, 1.05 * w), rng.uniform(-0.1 * h, 1.05 * h)
        col = rcolour(rng)
        if k < 0.2:
            d.ellipse([x, y, x + sz, y + sz * rng.uniform(0.4, 1.6)], fill=col if rng.random() < 0.6 else None,
                      outline=rcolour(rng), width=int(rng.integers(1, 5)))
        elif k < 0.4:
            d.rectangle([x, y, x + sz * rng.uniform(0.5, 2), y + sz], fill=col if rng.random() < 0.6 else None,
                        outline=rcolour(rng), width=int(rng.integers(1, 5)))
        elif k < 0.5:
            pts = [(x + rng.uniform(-sz, sz), y + rng.uniform(-sz, sz)) for _ in range(int(rng.integers(3, 7)))]
            d.polygon(pts, fill=col)
        elif k < 0.7:
            d.line([x, y, rng.uniform(0, w), rng.uniform(0, h)], fill=col,
                   width=int(rng.integers(1, 3 if small else 8)))
        elif k < 0.88:
            txt = WORDS[int(rng.integers(len(WORDS)))]
            d.text((x, y), txt, fill=col, font=font(sz * rng.uniform(0.25, 0.6)))
        elif not small:
            pw, ph = int(sz * rng.uniform(0.6, 1.8)) + 4, int(sz) + 4
            patch = photo_crop(rng, ph, pw).astype(np.uint8)
            im.paste(Image.fromarray(patch), (int(x), int(y)))
    canvas[:] = np.asarray(im, np.float32)


def render_item(rng, item, bw, bh):
    """A Fashion-MNIST item as (RGB float, alpha float) of bh x bw."""
    g = np.asarray(Image.fromarray(item).resize((bw, bh), Image.BICUBIC), np.float32) / 255.0
    g = np.clip(g, 0, 1)
    a = np.clip(g * 4.0, 0, 1)  # the item's silhouette; faint pixels are its edge
    mode = rng.random()
    if mode < 0.4:  # tint
        c = np.array(rcolour(rng, 30, 256), np.float32)
        rgb = c * (0.35 + 0.65 * g[..., None])
    elif mode < 0.7:  # two-colour map
        c0, c1 = np.array(rcolour(rng), np.float32), np.array(rcolour(rng), np.float32)
        rgb = c0 + (c1 - c0) * g[..., None]
    elif mode < 0.85:  # photo texture, shaded by the item
        rgb = photo_crop(rng, bh, bw) * (0.4 + 0.6 * g[..., None])
    else:  # inverted tint: dark item with light details
        c = np.array(rcolour(rng, 0, 140), np.float32)
        rgb = c + (255 - c) * (1 - g[..., None]) * 0.5
    return rgb, a


def composite(rng, canvas, rgb, a, x, y, style):
    """Pastes at (x, y) (may fall partly outside); returns the item's mask on the canvas."""
    h, w = canvas.shape[:2]
    bh, bw = a.shape
    if style == "opaque":
        a = (a >= 0.5).astype(np.float32)
    if style == "shadow":
        off = max(2, int(0.04 * max(bh, bw)))
        sa = np.asarray(Image.fromarray((a * 255).astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(max(1, off // 2))), np.float32) / 255.0 * rng.uniform(0.3, 0.7)
        _blend(canvas, np.zeros_like(rgb), sa, x + off, y + off)
    _blend(canvas, rgb, a, x, y)
    m = np.zeros((h, w), bool)
    y0, x0, y1, x1 = max(0, y), max(0, x), min(h, y + bh), min(w, x + bw)
    if y1 > y0 and x1 > x0:
        m[y0:y1, x0:x1] = a[y0 - y:y1 - y, x0 - x:x1 - x] >= 0.5
    return m


def _blend(canvas, rgb, a, x, y):
    h, w = canvas.shape[:2]
    bh, bw = a.shape
    y0, x0, y1, x1 = max(0, y), max(0, x), min(h, y + bh), min(w, x + bw)
    if y1 <= y0 or x1 <= x0:
        return
    al = a[y0 - y:y1 - y, x0 - x:x1 - x, None]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - al) + rgb[y0 - y:y1 - y, x0 - x:x1 - x] * al


def mask_box(m):
    ys, xs = np.nonzero(m)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def item_size(rng, short, frac):
    """Box size (bw, bh) whose longer side is frac * short, with a random stretch."""
    st = np.exp(rng.uniform(np.log(0.6), np.log(1.6)))
    L = max(6, int(round(frac * short)))
    return (L, max(4, int(L / st))) if st >= 1 else (max(4, int(L * st)), L)


def overlap_own(a, b):
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return iw * ih / max(1, (a[2] - a[0]) * (a[3] - a[1]))


def scene(rng, imgs, labs):
    """One photo: returns (uint8 RGB, [(label, box, role)], main first)."""
    short = int(rng.integers(320, 1001))
    asp = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
    long_ = min(1000, max(320, int(short * max(asp, 1 / asp))))
    h, w = (short, long_) if asp >= 1 else (long_, short)
    short = min(h, w)
    canvas, kind = background(rng, h, w)
    marks(rng, canvas, int(rng.integers(0, 4 if kind == "plain" else 14)))
    # the main item's place first, so that the others can keep off it
    idx = int(rng.integers(len(imgs)))
    frac = rng.uniform(0.08, 0.90)
    bw, bh = item_size(rng, short, frac)
    bw, bh = min(bw, w), min(bh, h)
    x, y = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
    mrect = (x, y, x + bw, y + bh)
    style = ["opaque", "alpha", "shadow"][int(rng.integers(3))]
    others = []
    for _ in range(int(rng.integers(0, 4))):
        j = int(rng.integers(len(imgs)))
        ow, oh = item_size(rng, short, frac * rng.uniform(0.25, 0.7))
        ow, oh = max(6, min(ow, w)), max(6, min(oh, h))
        for _try in range(20):
            ox, oy = int(rng.integers(0, w - ow + 1)), int(rng.integers(0, h - oh + 1))
            if overlap_own((ox, oy, ox + ow, oy + oh), mrect) <= 0.15:
                break
        else:
            continue
        rgb, a = render_item(rng, imgs[j], ow, oh)
        m = composite(rng, canvas, rgb, a, ox, oy, ["opaque", "alpha", "shadow"][int(rng.integers(3))])
        others.append((j, m))
    rgb, a = render_item(rng, imgs[idx], bw, bh)
    mm = composite(rng, canvas, rgb, a, x, y, style)
    if rng.random() < 0.3:  # small marks over everything (price tags, scratches)
        marks(rng, canvas, int(rng.integers(1, 5)), small=True)
    out = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    if rng.random() < 0.25:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    arr = np.asarray(out, np.float32)
    if rng.random() < 0.4:
        arr = arr + rng.standard_normal(arr.shape, np.float32) * np.float32(rng.uniform(2, 14))
    arr = np.clip(arr, 0, 255).astype(np.uint8)
    items = [(int(labs[idx]), mask_box(mm), "main")]
    for j, m in others:
        m &= ~mm  # hidden where the main item covers it
        b = mask_box(m)
        if b is not None and (b[2] - b[0]) >= 4 and (b[3] - b[1]) >= 4:
            items.append((int(labs[j]), b, "other"))
    return arr, items


def encode(rng, arr):
    """(bytes, extension): JPEG quality 60-95 (80%) or PNG."""
    buf = io.BytesIO()
    if rng.random() < 0.8:
        Image.fromarray(arr).save(buf, "JPEG", quality=int(rng.integers(60, 96)))
        return buf.getvalue(), "jpg"
    Image.fromarray(arr).save(buf, "PNG", compress_level=1)
    return buf.getvalue(), "png"


def generate(outdir, n, seed):
    os.makedirs(outdir, exist_ok=True)
    imgs, labs = test_items()
    rng = np.random.default_rng([seed, 0xB])
    rows = []
    for i in range(n):
        arr, items = scene(rng, imgs, labs)
        blob, ext = encode(rng, arr)
        name = "b%05d.%s" % (i, ext)
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(blob)
        for lab, b, role in items:
            if b is None:
                continue
            rows.append("%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\n" % ((name, lab, CLASSES[lab]) + tuple(b) + (role,)))
    with open(os.path.join(outdir, "boxes.tsv"), "w") as f:
        f.writelines(rows)
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("-n", type=int, default=300, help="photos (default 300)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.n < 1:
        ap.error("-n: at least 1")
    generate(a.outdir, a.n, a.seed)


if __name__ == "__main__":
    main()
