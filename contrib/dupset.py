#!/usr/bin/python3
"""dupset.py - a near-duplicate test set from Fashion-MNIST scenes, for
contrib/dupeval.sh (featkit's pipeline + featdedup against findimagedupes).

    /usr/bin/python3 contrib/dupset.py OUTDIR [-n GROUPS] [--singles N] [--seed S]

GROUPS items (Fashion-MNIST t10k) each get a product photo (480x360 JPEG,
contrib/train/common.py's scene) and three near-duplicates of it, each
made one of the ways a catalogue repeats a photo: re-encoded as a
low-quality JPEG (quality 12-30), resized (to 55-85%), slightly cropped
(4-9% off each side), moved onto a new background (the same item, tint
and size on new clutter at a new place), brightened (x1.15-1.4).  N more
items get a single photo each: distinct products, many of the same class
as some group's item (similar, not duplicates).  OUTDIR/truth.tsv lists
file TAB group (a number; singles have groups of their own).
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageEnhance

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "train"))
import common as C  # noqa: E402


def photo(rng, imgs, idx, h=360, w=480):
    """A scene, and what is needed to redo it on a new background."""
    state = rng.bit_generator.state
    img, box = C.scene(rng, imgs, idx, h, w)
    return img, box, state


def moved(rng, imgs, idx, img, box, h=360, w=480):
    """The same item, tint and size on new clutter at a new place."""
    x0, y0, x1, y1 = box
    item = img[y0:y1, x0:x1]
    canvas = C.clutter(rng, h, w)
    bw, bh = x1 - x0, y1 - y0
    x, y = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
    # the item's own pixels where the original item was (its mask), over the new clutter
    a = np.asarray(Image.fromarray(imgs[idx]).resize((bw, bh), Image.BILINEAR), np.float32) / 255.0
    mask = np.clip(a * 3, 0, 1)[..., None]
    canvas[y:y + bh, x:x + bw] = canvas[y:y + bh, x:x + bw] * (1 - mask) + item * mask
    return np.clip(canvas, 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("-n", type=int, default=60)
    ap.add_argument("--singles", type=int, default=120)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    imgs, labs = C.load_fmnist("t10k")
    picks = rng.permutation(len(imgs))[:a.n + a.singles]
    rows = []
    for g, idx in enumerate(picks[:a.n]):
        img, box, _ = photo(rng, imgs, int(idx))
        base = "g%03d-0.jpg" % g
        Image.fromarray(img).save(os.path.join(a.out, base), quality=90)
        rows.append((base, g))
        for k, kind in enumerate(rng.choice(5, 3, replace=False), 1):
            im = Image.fromarray(img)
            q = 90
            if kind == 0:
                q = int(rng.integers(12, 31))
            elif kind == 1:
                f = rng.uniform(0.55, 0.85)
                im = im.resize((int(im.width * f), int(im.height * f)), Image.BILINEAR)
            elif kind == 2:
                dx, dy = int(im.width * rng.uniform(0.04, 0.09)), int(im.height * rng.uniform(0.04, 0.09))
                im = im.crop((dx, dy, im.width - dx, im.height - dy))
            elif kind == 3:
                im = Image.fromarray(moved(rng, imgs, int(idx), img, box))
            else:
                im = ImageEnhance.Brightness(im).enhance(rng.uniform(1.15, 1.4))
            name = "g%03d-%d.jpg" % (g, k)
            im.save(os.path.join(a.out, name), quality=q)
            rows.append((name, g))
    for s, idx in enumerate(picks[a.n:]):
        img, _, _ = photo(rng, imgs, int(idx))
        name = "s%03d.jpg" % s
        Image.fromarray(img).save(os.path.join(a.out, name), quality=90)
        rows.append((name, a.n + s))
    with open(os.path.join(a.out, "truth.tsv"), "w") as f:
        for name, g in rows:
            f.write("%s\t%d\n" % (name, g))
    print("dupset: %d photos, %d groups of 4, %d singles in %s" % (len(rows), a.n, a.singles, a.out))


if __name__ == "__main__":
    main()
