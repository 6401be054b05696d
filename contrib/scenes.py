#!/usr/bin/python3
"""scenes.py - synthetic product photos from Debian's dataset-fashion-mnist.

Each scene puts one Fashion-MNIST item (scaled to 30-80% of the short
side, aspect 0.64-1.57, optionally tinted) on a larger canvas with a
cluttered background, faded distractor items up to 60% of its size (some
cut by the edge), and in 30% of scenes an occluder over one of its
corners: a product photo with a busy background, whose main object's box
is known.  The generator is contrib/train/common.py's scene(), the one the
default detector was trained and evaluated on.

    /usr/bin/python3 contrib/scenes.py -n 12 -o contrib/samples --seed 1

writes scene-0000.jpg ... and boxes.tsv (file, label, class name, xmin,
ymin, xmax, ymax in pixels).  --dups K also writes K near-duplicates of
the first scenes: the same item re-encoded as low-quality JPEG, resized,
slightly cropped, or brightened.

Needs python3-numpy, python3-pil and dataset-fashion-mnist (Debian).
"""
import argparse
import gzip
import os
import sys

import numpy as np
from PIL import Image, ImageEnhance

FMNIST = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal",
           "shirt", "sneaker", "bag", "ankle-boot"]


def load_fmnist(split="t10k"):
    """Images (N, 28, 28) uint8 and labels (N,) of one split."""
    with gzip.open(os.path.join(FMNIST, split + "-images-idx3-ubyte.gz")) as f:
        img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(FMNIST, split + "-labels-idx1-ubyte.gz")) as f:
        lab = np.frombuffer(f.read(), np.uint8, offset=8)
    return img, lab


def clutter(rng, h, w):
    """A busy background: smooth colour gradients plus random rectangles
    and stripes."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        a, b, d = rng.uniform(-1, 1, 3)
        bg[..., c] = 128 + 60 * np.sin(a * xx / 40 + b * yy / 40 + d * 6)
    for _ in range(rng.integers(6, 14)):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        x1, y1 = x0 + rng.integers(8, w // 3), y0 + rng.integers(8, h // 3)
        bg[y0:y1, x0:x1] = rng.uniform(0, 255, 3)
    return bg


def paste(canvas, item, x, y, size, tint, rng):
    """Paste a grey 28x28 item scaled to size (w, h) at (x, y), using its
    own intensity as the mask (Fashion-MNIST backgrounds are black)."""
    w, h = size
    im = Image.fromarray(item).resize((w, h), Image.BILINEAR)
    a = np.asarray(im, np.float32) / 255.0
    mask = np.clip(a * 3, 0, 1)[..., None]
    col = a[..., None] * tint[None, None, :]
    region = canvas[y:y + h, x:x + w]
    canvas[y:y + h, x:x + w] = region * (1 - mask) + col * mask


def scene(rng, imgs, labs, idx, h, w):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "train"))
    import common  # noqa: E402
    return common.scene(rng, imgs, idx, h, w)


def near_duplicate(rng, img):
    """The same photo, changed the way catalogues change photos."""
    im = Image.fromarray(img)
    kind = rng.integers(0, 4)
    if kind == 0:
        return im, dict(quality=int(rng.integers(15, 35)))
    if kind == 1:
        f = rng.uniform(0.6, 0.9)
        return im.resize((int(im.width * f), int(im.height * f)), Image.BILINEAR), {}
    if kind == 2:
        dx, dy = int(im.width * 0.04), int(im.height * 0.04)
        return im.crop((dx, dy, im.width - dx, im.height - dy)), {}
    return ImageEnhance.Brightness(im).enhance(rng.uniform(1.1, 1.3)), {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=12, help="number of scenes")
    ap.add_argument("-o", default="scenes", help="output directory")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", default="480x360", help="WxH of a scene")
    ap.add_argument("--dups", type=int, default=0,
                    help="near-duplicates of the first scenes")
    ap.add_argument("--png", action="store_true", help="write PNG, not JPEG")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    rng = np.random.default_rng(a.seed)
    imgs, labs = load_fmnist("t10k")
    os.makedirs(a.o, exist_ok=True)
    ext = ".png" if a.png else ".jpg"
    rows = []
    scenes = []
    for i in range(a.n):
        idx = int(rng.integers(0, len(imgs)))
        img, box = scene(rng, imgs, labs, idx, h, w)
        name = "scene-%04d%s" % (i, ext)
        Image.fromarray(img).save(os.path.join(a.o, name), quality=90)
        rows.append((name, int(labs[idx]), box))
        scenes.append(img)
    for k in range(a.dups):
        src = k % a.n
        im, kw = near_duplicate(rng, scenes[src])
        name = "scene-%04d-dup%d.jpg" % (src, k)
        im.save(os.path.join(a.o, name), quality=kw.get("quality", 90))
    with open(os.path.join(a.o, "boxes.tsv"), "w") as f:
        for name, lab, (x0, y0, x1, y1) in rows:
            f.write("%s\t%d\t%s\t%d\t%d\t%d\t%d\n" %
                    (name, lab, CLASSES[lab], x0, y0, x1, y1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
