"""common.py - scenes, the imgprep-exact resize, Caffe priors for training."""
import functools
import gzip
import math
import os
import sys

import numpy as np

TOP = os.environ.get("FEAT_TOP") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "contrib"))
import mkprepfixtures as mp  # noqa: E402

FMNIST = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal",
           "shirt", "sneaker", "bag", "ankle-boot"]


def load_fmnist(split):
    with gzip.open(os.path.join(FMNIST, split + "-images-idx3-ubyte.gz")) as f:
        img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(FMNIST, split + "-labels-idx1-ubyte.gz")) as f:
        lab = np.frombuffer(f.read(), np.uint8, offset=8)
    return img, lab


@functools.lru_cache(maxsize=256)
def _w(a0, a1, sn, dn):
    return mp.weights(a0, a1, sn, dn, "auto")


def prep(img, W, H, gray=False, mean=127.5, scale=0.0078125, rect=None):
    """imgprep's stretch resize (auto: area when shrinking 2x or more, else
    bilinear with half-pixel centres), as contrib/mkprepfixtures.py computes
    it, with cached weights; returns C x H x W float32."""
    sh, sw = img.shape[:2]
    x0, y0, x1, y1 = rect if rect else (0, 0, sw, sh)
    wx = _w(float(x0), float(x1), sw, W)
    wy = _w(float(y0), float(y1), sh, H)
    f = img.astype(np.float64)
    r = np.stack([wy @ f[:, :, k] @ wx.T for k in range(3)], axis=0)
    if gray:
        r = (0.299 * r[0] + 0.587 * r[1] + 0.114 * r[2])[None]
    return ((r - mean) * scale).astype(np.float32)


def clutter(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        a, b, d = rng.uniform(-1, 1, 3)
        bg[..., c] = 128 + 60 * np.sin(a * xx / 40 + b * yy / 40 + d * 6)
    for _ in range(rng.integers(6, 16)):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        x1, y1 = x0 + rng.integers(4, max(5, w // 3)), y0 + rng.integers(4, max(5, h // 3))
        bg[y0:y1, x0:x1] = rng.uniform(0, 255, 3)
    return bg


def paste(canvas, item, x, y, w, h, tint, alpha=1.0):
    from PIL import Image
    im = Image.fromarray(item).resize((w, h), Image.BILINEAR)
    a = np.asarray(im, np.float32) / 255.0
    mask = (np.clip(a * 3, 0, 1) * alpha)[..., None]
    col = a[..., None] * tint[None, None, :]
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    vis = np.zeros((H, W), np.float32)
    if x1 <= x0 or y1 <= y0:
        return vis
    sub = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    region = canvas[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1] = region * (1 - mask[sub]) + col[sub] * mask[sub]
    vis[y0:y1, x0:x1] = mask[sub][..., 0]
    return vis


def tight_box(vis, thr=0.3):
    """The tight box (x0, y0, x1, y1) of the pixels of vis (a visibility
    mask, 0..1) above thr, or None."""
    ys, xs = np.nonzero(vis > thr)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else None


def scene(rng, imgs, idx, h, w, tight=False, others=None):
    """One product photo: the item imgs[idx] as the main object (the largest
    and most contrasted), on clutter, with distractor items (some large,
    faded or cut by the edge), one of them sometimes overlapping it.
    Returns the image (h x w x 3 u8) and the main object's box: the
    rectangle it was pasted in, or with tight, the tight box of its
    visible pixels (the same random draws either way).  When others is a
    list, (j, box) of each distractor with visible pixels (imgs[j], the
    tight box of what the items over it leave) is appended to it."""
    canvas = clutter(rng, h, w)
    side = int(rng.uniform(0.3, 0.8) * min(h, w))
    aspect = math.exp(rng.uniform(-0.45, 0.45))
    bw, bh = max(8, min(int(side * aspect), w - 2)), max(8, min(int(side / aspect), h - 2))
    x, y = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
    dis = []
    for _ in range(rng.integers(1, 5)):
        j = int(rng.integers(0, len(imgs)))
        s = int(rng.uniform(0.15, 0.6) * side)
        dx, dy = int(rng.integers(-s // 3, w - s // 2)), int(rng.integers(-s // 3, h - s // 2))
        v = paste(canvas, imgs[j], dx, dy, s, s, rng.uniform(40, 200, 3), rng.uniform(0.35, 0.7))
        dis = [(k, u * (1 - v)) for k, u in dis] + [(j, v)]
    tint = rng.uniform(140, 255, 3) if rng.random() < 0.7 else np.full(3, 255.0)
    vis = paste(canvas, imgs[idx], x, y, bw, bh, tint)
    dis = [(k, u * (1 - vis)) for k, u in dis]
    if rng.random() < 0.3:  # an occluder over a corner of the item
        j = int(rng.integers(0, len(imgs)))
        s = int(rng.uniform(0.2, 0.35) * min(bw, bh))
        cx = x + (0 if rng.random() < 0.5 else bw) - s // 2
        cy = y + (0 if rng.random() < 0.5 else bh) - s // 2
        cover = paste(canvas, imgs[j], cx, cy, s, s, rng.uniform(40, 200, 3), rng.uniform(0.5, 0.8))
        vis *= 1 - cover
        dis = [(k, u * (1 - cover)) for k, u in dis] + [(j, cover)]
    if others is not None:
        others += [(k, b) for k, b in ((k, tight_box(u)) for k, u in dis) if b]
    box = (x, y, x + bw, y + bh)
    if tight:
        box = tight_box(vis) or box
    return np.clip(canvas, 0, 255).astype(np.uint8), box


# ----------------------------------------------------------- the detector

IMG = 160
# (grid, min_size, max_size, aspect ratios): Caffe PriorBox settings
GENS = [(20, 16, 40, [2]), (10, 40, 72, [2, 3]), (5, 72, 112, [2, 3]), (3, 112, 152, [2])]


def configure(size, p0_min=16):
    """Sets the detector's input side (IMG) and its prior boxes (GENS) for
    an input of size x size: feature maps at strides 8, 16, 32 and 64,
    prior sizes in proportion to the 160-pixel design above; p0_min, the
    smallest prior's side in that design (16: a tenth of the input)."""
    global IMG, GENS
    k = size / 160.0
    g3 = size // 32
    IMG = size
    GENS = [(size // 8, p0_min * k, 40 * k, [2]), (size // 16, 40 * k, 72 * k, [2, 3]),
            (g3, 72 * k, 112 * k, [2, 3]), ((g3 + 1) // 2, 112 * k, 152 * k, [2])]


def ssd_meta():
    """The ssd.* metadata (featmodel(5)) of the detector, as a dict."""
    m = {"priors": ",".join("p%d" % i for i in range(len(GENS))), "detect": "det"}
    for i, (g, mn, mx, ars) in enumerate(GENS):
        p = "p%d." % i
        m.update({p + "grid": [g, g], p + "min_size": float(mn), p + "max_size": float(mx),
                  p + "aspect_ratio": [float(a) for a in ars], p + "flip": "true",
                  p + "clip": "false", p + "variance": [0.1, 0.1, 0.2, 0.2],
                  p + "offset": 0.5})
    m.update({"det.num_classes": 11, "det.background_label_id": 0, "det.nms_threshold": 0.45,
              "det.top_k": 200, "det.keep_top_k": 20, "det.confidence_threshold": 0.05,
              "det.code_type": "CENTER_SIZE",
              # featkit's additions (ssd-detect(1)): one box per place
              # whatever its class (the main item is what counts, and
              # Fashion-MNIST's look-alike classes put two boxes on it),
              # and the mirror image's detections merged in; the main
              # item's box first: the largest of those scoring at least
              # half the best and 0.3 (the detector boxes every item)
              "det.agnostic_nms": "true", "det.box_vote": "0.5", "mirror": "true",
              "main_share": 0.5, "main_min_score": 0.3})
    return m


def nper(ars):
    return 2 + 2 * len(ars)
