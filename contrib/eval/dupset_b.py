#!/usr/bin/python3
"""dupset_b.py - a near-duplicate evaluation set of "marketplace re-uploads".

    /usr/bin/python3 contrib/eval/dupset_b.py OUTDIR [--seed S] [--groups N] [--negatives M]

writes OUTDIR/*.jpg and OUTDIR/*.png (re-posts keep the format they were
re-posted in: mostly JPEG, some PNG) and OUTDIR/truth.tsv: one line per
photo, "file TAB group", as contrib/dupset.py writes it: photos of one group
are re-uploads of one photo; every other pair is a non-duplicate.  The same
--seed gives the same files byte for byte; the default set (--groups 150
--negatives 300, about 1,200 photos) takes well under a minute.

Written apart from the training generators (none of contrib/train's or
contrib/scenes.py's code is used).  Parts, told apart by file name:

  gc0042-0.jpg  catalogue shots: a Fashion-MNIST TEST item (t10k) on a plain
                light background (45-85% of the short side, soft shadow or
                not), 420-800 px a side.  -0 is the source photo, -1 ... its
                2-4 re-posts.
  gl0042-0.jpg  lifestyle shots: the item (25-65%) on clutter or a crop of a
                real photo (contrib/eval/scenes_b.py's backgrounds), maybe with
                smaller other items.  (About half the groups are catalogue.)
  n0042.jpg     hard negatives, one photo each (a group of its own): another
                item of the SAME class as group 42's item (a different
                Fashion-MNIST test image; no test image is used twice in the
                set), in the same style, same colouring and, for catalogue
                shots, the same background colour: a different photo of a
                different product.
  p-baboon-0.jpg  real photographs: 32 opencv-doc sample photos of unrelated
                scenes (one per scene: of the stereo, calibration and
                before/after series only one), each re-posted 2-4 times like
                the products; so that how far apart unrelated real photos
                come, and whether they chain, is measured.  (Their photos also
                serve as lifestyle backgrounds, as crops of 35-100%, under an
                item.)

Each re-post applies 1-3 of: mirrored; watermarked (text or a logo of text
and shape, 25-70% opaque); padded to another aspect (letterbox, white, black
or blurred); rotated 2-8 degrees; colour graded (per-channel gain, gamma,
saturation); noise then re-encoded (JPEG 30-70); thumbnailed (to 12-30%)
then blown up; put on a banner (the photo at 40-75% of a larger ad canvas
with text); cropped (5-15% of the width and of the height); moved onto a new
background (products only: the same rendered item at a new place and size
on new clutter or another plain colour); brightness x0.65-1.45.  Every
re-post is then saved as JPEG of quality 20-95 (85%) or PNG.

Needs python3-numpy, python3-pil, dataset-fashion-mnist, opencv-doc and
fonts-dejavu-core (Debian packages; a recipe need, not featkit's).
"""
import argparse
import io
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes_b as B  # noqa: E402

REAL = ["Blender_Suzanne1.jpg", "HappyFish.jpg", "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg",
        "basketball1.png", "blox.jpg", "board.jpg", "box_in_scene.png", "building.jpg", "butterfly.jpg",
        "cards.png", "chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg",
        "left.jpg", "left01.jpg", "leuvenA.jpg", "licenseplate_motion.jpg", "messi5.jpg", "orange.jpg",
        "pca_test1.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg",
        "stuff.jpg", "sudoku.png", "text_defocus.jpg"]
TRANSFORMS = ["mirror", "watermark", "letterbox", "rotate", "grade", "noise", "thumb", "banner",
              "crop", "moved", "brightness"]


# ------------------------------------------------------------- sources

class Product:
    """What is needed to redraw a product photo: the rendered item and its scene."""

    def __init__(self, rng, item, style, colour_seed=None, bg=None):
        self.style = style
        short = int(rng.integers(420, 801))
        asp = np.exp(rng.uniform(np.log(0.6), np.log(1.67)))
        long_ = min(800, max(420, int(short * max(asp, 1 / asp))))
        self.h, self.w = (short, long_) if asp >= 1 else (long_, short)
        frac = rng.uniform(0.45, 0.85) if style == "c" else rng.uniform(0.25, 0.65)
        bw, bh = B.item_size(rng, min(self.h, self.w), frac)
        self.bw, self.bh = min(bw, self.w), min(bh, self.h)
        self.colour_seed = int(rng.integers(1 << 31)) if colour_seed is None else colour_seed
        self.rgb, self.a = B.render_item(np.random.default_rng(self.colour_seed), item, self.bw, self.bh)
        self.bg = tuple(int(v) for v in rng.integers(225, 256, 3)) if bg is None else bg
        self.shadow = rng.random() < 0.5

    def draw(self, rng, new_bg=False):
        h, w = self.h, self.w
        if self.style == "c":
            bg = self.bg if not new_bg else tuple(int(v) for v in rng.integers(200, 256, 3))
            canvas = np.broadcast_to(np.array(bg, np.float32), (h, w, 3)).copy()
            cx, cy = (w - self.bw) // 2, (h - self.bh) // 2
            jx, jy = max(1, (w - self.bw) // 8), max(1, (h - self.bh) // 8)
            x, y = cx + int(rng.integers(-jx, jx + 1)), cy + int(rng.integers(-jy, jy + 1))
            x, y = min(max(0, x), w - self.bw), min(max(0, y), h - self.bh)
        else:
            canvas, kind = B.background(rng, h, w)
            B.marks(rng, canvas, int(rng.integers(0, 8)))
            for _ in range(int(rng.integers(0, 3))):  # smaller other items
                j = int(rng.integers(len(IMGS)))
                ow, oh = B.item_size(rng, min(h, w), rng.uniform(0.1, 0.25))
                orgb, oa = B.render_item(rng, IMGS[j], ow, oh)
                B.composite(rng, canvas, orgb, oa, int(rng.integers(0, w - ow + 1)),
                            int(rng.integers(0, h - oh + 1)), "alpha")
            x, y = int(rng.integers(0, w - self.bw + 1)), int(rng.integers(0, h - self.bh + 1))
        B.composite(rng, canvas, self.rgb, self.a, x, y, "shadow" if self.shadow else "alpha")
        return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))


def moved(rng, prod):
    """The same rendered item, at a new size (x0.8-1.15) and place, on a new background."""
    f = rng.uniform(0.8, 1.15)
    p = Product.__new__(Product)
    p.__dict__.update(prod.__dict__)
    bw, bh = max(6, min(prod.w, int(prod.bw * f))), max(6, min(prod.h, int(prod.bh * f)))
    rgb = Image.fromarray(np.clip(prod.rgb, 0, 255).astype(np.uint8)).resize((bw, bh), Image.BILINEAR)
    a = Image.fromarray((prod.a * 255).astype(np.uint8)).resize((bw, bh), Image.BILINEAR)
    p.rgb, p.a = np.asarray(rgb, np.float32), np.asarray(a, np.float32) / 255.0
    p.bw, p.bh = bw, bh
    return p.draw(rng, new_bg=True)


# ------------------------------------------------------ transformations

def t_watermark(rng, im):
    im = im.convert("RGBA")
    lay = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(lay)
    w, h = im.size
    alpha = int(255 * rng.uniform(0.25, 0.7))
    col = (255, 255, 255) if rng.random() < 0.5 else (0, 0, 0)
    txt = ["shop.example", "MyStore", "(c) seller42", "SAMPLE", "bestdeals", "@fashion_hub"][int(rng.integers(6))]
    if rng.random() < 0.4:  # tiled across the photo
        f = B.font(min(w, h) * rng.uniform(0.05, 0.09))
        step = int(min(w, h) * rng.uniform(0.22, 0.35))
        for yy in range(0, h, step):
            for xx in range(-(yy % (2 * step)), w, 2 * step):
                d.text((xx, yy), txt, fill=col + (alpha,), font=f)
    else:  # a corner or centre logo: a shape and a name
        s = int(min(w, h) * rng.uniform(0.08, 0.2))
        x = int(rng.choice([s // 3, w - 4 * s, (w - 3 * s) // 2]))
        y = int(rng.choice([s // 3, h - 3 * s // 2, (h - s) // 2]))
        d.ellipse([x, y, x + s, y + s], fill=B.rcolour(rng) + (alpha,))
        d.text((x + s + s // 5, y + s // 5), txt, fill=col + (alpha,), font=B.font(s * 0.5))
    return Image.alpha_composite(im, lay).convert("RGB")


def t_letterbox(rng, im):
    w, h = im.size
    target = float(rng.choice([1.0, 4 / 3, 3 / 4, 16 / 9, 9 / 16]))
    if abs(target - w / h) < 0.08:
        target = 1.0 if abs(w / h - 1.0) >= 0.08 else 16 / 9
    W, H = (int(h * target), h) if target > w / h else (w, int(w / target))
    k = rng.random()
    if k < 0.4:
        out = Image.new("RGB", (W, H), (255, 255, 255))
    elif k < 0.7:
        out = Image.new("RGB", (W, H), (0, 0, 0))
    else:
        out = im.resize((W, H), Image.BILINEAR).filter(ImageFilter.GaussianBlur(12))
    out.paste(im, ((W - w) // 2, (H - h) // 2))
    return out


def t_rotate(rng, im):
    ang = rng.uniform(2, 8) * (1 if rng.random() < 0.5 else -1)
    if rng.random() < 0.5:
        return im.rotate(ang, Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    w, h = im.size  # rotate, then crop to the inner part
    r = im.rotate(ang, Image.BICUBIC, expand=False)
    m = int(np.ceil(np.sin(np.radians(abs(ang))) * max(w, h) / 2)) + 1
    return r.crop((m, m, w - m, h - m))


def t_grade(rng, im):
    x = np.arange(256) / 255.0
    gamma, gain = rng.uniform(0.7, 1.4), rng.uniform(0.8, 1.2, 3)
    lut = np.concatenate([np.clip(x ** gamma * g * 255 + 0.5, 0, 255) for g in gain]).astype(int)
    im = im.point([int(v) for v in lut])
    return ImageEnhance.Color(im).enhance(rng.uniform(0.4, 1.6))


def t_noise(rng, im):
    a = np.asarray(im, np.float32) + (rng.standard_normal((im.size[1], im.size[0], 3), np.float32)
                                      * np.float32(rng.uniform(5, 18)))
    buf = io.BytesIO()
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=int(rng.integers(30, 71)))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def t_thumb(rng, im):
    w, h = im.size
    f = rng.uniform(0.12, 0.3)
    t = im.resize((max(8, int(w * f)), max(8, int(h * f))), Image.BOX)
    g = rng.uniform(0.8, 1.3)
    return t.resize((int(w * g), int(h * g)), Image.BICUBIC if rng.random() < 0.5 else Image.NEAREST)


def t_banner(rng, im):
    w, h = im.size
    f = rng.uniform(0.4, 0.75)
    W = int(w / f * rng.uniform(1.0, 1.6))
    H = int(h / f)
    if rng.random() < 0.5:
        canvas = Image.fromarray(B.gradient(rng, H, W).astype(np.uint8))
    else:
        canvas = Image.new("RGB", (W, H), B.rcolour(rng))
    s = im.resize((max(8, int(w * H * f / h)), max(8, int(H * f))), Image.BILINEAR)
    x = int(rng.integers(0, max(1, W - s.size[0]) + 1))
    y = int(rng.integers(0, max(1, H - s.size[1]) + 1))
    canvas.paste(s, (x, y))
    d = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(1, 4))):
        txt = B.WORDS[int(rng.integers(len(B.WORDS)))]
        d.text((rng.uniform(0, W * 0.7), rng.uniform(0, H * 0.9)), txt, fill=B.rcolour(rng),
               font=B.font(H * rng.uniform(0.05, 0.12)))
    return canvas


def t_crop(rng, im):
    w, h = im.size
    fx, fy = rng.uniform(0.05, 0.15), rng.uniform(0.05, 0.15)
    lx, ty = rng.uniform(0, fx), rng.uniform(0, fy)
    return im.crop((int(w * lx), int(h * ty), int(w * (1 - fx + lx)), int(h * (1 - fy + ty))))


def t_brightness(rng, im):
    return ImageEnhance.Brightness(im).enhance(rng.choice([rng.uniform(0.65, 0.9), rng.uniform(1.1, 1.45)]))


def apply(rng, name, im, prod):
    if name == "mirror":
        return ImageOps.mirror(im)
    if name == "moved":
        return moved(rng, prod)
    return {"watermark": t_watermark, "letterbox": t_letterbox, "rotate": t_rotate, "grade": t_grade,
            "noise": t_noise, "thumb": t_thumb, "banner": t_banner, "crop": t_crop,
            "brightness": t_brightness}[name](rng, im)


def repost(rng, src, prod, first):
    """A re-post of src: first, then 0-2 more transformations (moved goes first, as it redraws)."""
    names = [first]
    pool = [t for t in TRANSFORMS if t != first and (prod is not None or t != "moved")]
    for _ in range(int(rng.choice([0, 0, 1, 1, 2]))):
        names.append(pool.pop(int(rng.integers(len(pool)))))
    if "moved" in names:
        names.remove("moved")
        names.insert(0, "moved")
    im = src
    for t in names:
        im = apply(rng, t, im, prod)
    return im, names


def save(rng, im, base, outdir, q_lo=20, png=0.15):
    if rng.random() < png:
        name = base + ".png"
        im.save(os.path.join(outdir, name), "PNG", compress_level=1)
    else:
        name = base + ".jpg"
        im.save(os.path.join(outdir, name), "JPEG", quality=int(rng.integers(q_lo, 96)))
    return name


IMGS = None


def generate(outdir, groups, negatives, seed):
    global IMGS
    os.makedirs(outdir, exist_ok=True)
    IMGS, labs = B.test_items()
    rng = np.random.default_rng([seed, 0xD0])
    order = rng.permutation(len(IMGS))  # test images, each used once
    by_class = {c: [int(i) for i in order if labs[i] == c] for c in range(10)}
    rows, log = [], []
    deck = []  # the first transformations, dealt evenly over the re-posts

    def first():
        nonlocal deck
        if not deck:
            deck = list(rng.permutation(TRANSFORMS))
        return str(deck.pop())

    sources = []
    for g in range(groups):
        c = int(rng.integers(10))
        idx = by_class[c].pop()
        style = "c" if rng.random() < 0.5 else "l"
        prod = Product(rng, IMGS[idx], style)
        sources.append((g, c, style, prod))
        src = prod.draw(rng)
        base = "g%s%04d" % (style, g)
        rows.append((save(rng, src, base + "-0", outdir, q_lo=80, png=0.1), g))
        for k in range(int(rng.integers(2, 5))):
            t = first()
            while t == "moved" and prod is None:
                t = first()
            im, names = repost(rng, src, prod, t)
            rows.append((save(rng, im, "%s-%d" % (base, k + 1), outdir), g))
            log.append((rows[-1][0], "+".join(names)))
    gid = groups
    for p in REAL:
        path = os.path.join(B.PHOTOS, p)
        if not os.path.exists(path):
            continue
        src = Image.open(path).convert("RGB")
        base = "p-%s" % os.path.splitext(p)[0]
        rows.append((save(rng, src, base + "-0", outdir, q_lo=85, png=0.1), gid))
        for k in range(int(rng.integers(2, 5))):
            t = first()
            while t == "moved":
                t = first()
            im, names = repost(rng, src, None, t)
            rows.append((save(rng, im, "%s-%d" % (base, k + 1), outdir), gid))
            log.append((rows[-1][0], "+".join(names)))
        gid += 1
    for n in range(negatives):
        g, c, style, prod = sources[n % len(sources)] if sources else (n, int(rng.integers(10)), "c", None)
        if not by_class[c]:
            continue
        idx = by_class[c].pop()
        same = prod is not None and rng.random() < 0.7
        neg = Product(rng, IMGS[idx], style, colour_seed=prod.colour_seed if same else None,
                      bg=prod.bg if same else None)
        rows.append((save(rng, neg.draw(rng), "n%04d" % n, outdir, q_lo=60), gid))
        log.append((rows[-1][0], "negative of group %d (class %s%s)" % (g, B.CLASSES[c],
                                                                        ", same colouring" if same else "")))
        gid += 1
    with open(os.path.join(outdir, "truth.tsv"), "w") as f:
        f.writelines("%s\t%d\n" % r for r in rows)
    with open(os.path.join(outdir, "reposts.tsv"), "w") as f:
        f.writelines("%s\t%s\n" % r for r in log)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--groups", type=int, default=150, help="product source photos (default 150)")
    ap.add_argument("--negatives", type=int, default=300, help="hard negatives (default 300)")
    a = ap.parse_args()
    if a.groups < 1 or a.negatives < 0:
        ap.error("--groups: at least 1; --negatives: at least 0")
    rows = generate(a.outdir, a.groups, a.negatives, a.seed)
    ng = len(set(g for _, g in rows))
    print("dupset_b: %d photos, %d groups in %s" % (len(rows), ng, a.outdir), file=sys.stderr)


if __name__ == "__main__":
    main()
