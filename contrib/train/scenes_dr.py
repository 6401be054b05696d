"""scenes_dr.py - the detector's training scenes, domain-randomised.

The first detector was trained on one kind of scene (contrib/train/
common.py's scene(): an item at 30-80% of the short side on sine-wave
clutter) and fitted that kind, not the task: on scenes from another
generator it found the main item in 40% of photos.  Here every factor a
product photo varies in is drawn at random, so that the only constant
left is the product:

- the photo: short side 160-420 px (the detector sees it stretched to its
  input, as imgprep --for ssd does), aspect 0.55-1.8;
- the background: a plain light catalogue backdrop, a two-colour gradient,
  sine clutter, random shapes, blurred noise, or a crop of a real
  photograph (the wallpapers of Debian's gnome-backgrounds and
  mate-backgrounds), sometimes with rectangles of other wallpapers pasted
  on it, then lines and text marks over it;
- the items: one main item, 8-90% of the short side, aspect 0.6-1.65,
  and 0-3 other items, each at most 0.7 of the main one's side, which
  may overlap it a little; an item is tinted (a colour, white or grey, a
  two-colour ramp, inverted, or a wallpaper's colours in its shape),
  sometimes textured, pasted opaque, see-through or with a drop shadow;
- the camera: blur, noise, brightness and contrast, and JPEG at quality
  30-95 in 70% of photos.

The main item is the largest; its box is the tight box of its visible
pixels (not the rectangle it was pasted in: a pair of trousers fills
half of it), and so are the other items' (scene()'s items list), which
the detector learns too.  Fashion-MNIST's train split only; the test split and the
photographs of opencv-doc are left for evaluation.
"""
import glob
import io
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from common import tight_box as tight  # noqa: E402  (contrib/train, on the caller's path)

WALLPAPERS = ["/usr/share/backgrounds/gnome", "/usr/share/backgrounds/mate"]
# more photographs, after the wallpapers (train_ssd.py --photos LIST)
EXTRA = []
# the share of scenes whose main item is small (train_ssd.py --small),
# and of those on a photograph (--photo-share)
SMALL = 0.33
PHOTO = 0.3
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

_photos = None


def photos():
    """The wallpapers, then the EXTRA photographs, each reduced to at most
    640 px a side (cached)."""
    global _photos
    if _photos is None:
        _photos = []
        files = []
        for d in WALLPAPERS:
            files += [f for f in sorted(glob.glob(os.path.join(d, "**", "*"), recursive=True))
                      if f.lower().endswith((".jpg", ".jpeg", ".png", ".webp"))]
        for f in files + EXTRA:
            try:
                im = Image.open(f).convert("RGB")
            except OSError:
                if f in EXTRA:  # named on purpose: say so
                    raise
                continue
            im.thumbnail((640, 640), Image.BILINEAR)
            _photos.append(np.asarray(im, np.float32))
    return _photos


def _color(rng, lo=0, hi=255):
    return rng.uniform(lo, hi, 3).astype(np.float32)


def background(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    p = [0.22, 0.12, 0.12, 0.14, 0.1, 0.3]
    if PHOTO != 0.3:  # the others in the same proportions
        p = [x * (1 - PHOTO) / 0.7 for x in p[:5]] + [PHOTO]
    kind = rng.choice(["plain", "gradient", "sine", "shapes", "noise", "photo"], p=p)
    if kind == "photo" and not photos():
        kind = "shapes"
    if kind == "plain":
        c = _color(rng, 195, 255) if rng.random() < 0.8 else _color(rng, 0, 255)
        v = 1 - rng.uniform(0, 0.15) * (((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (w * w / 4 + h * h / 4))
        bg = c[None, None, :] * v[..., None]
    elif kind == "gradient":
        a, b = _color(rng), _color(rng)
        ang = rng.uniform(0, 2 * math.pi)
        t = (xx * math.cos(ang) + yy * math.sin(ang))
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        bg = a * (1 - t[..., None]) + b * t[..., None]
    elif kind == "sine":
        bg = np.zeros((h, w, 3), np.float32)
        for c in range(3):
            a, b, d = rng.uniform(-1, 1, 3)
            f = rng.uniform(15, 80)
            bg[..., c] = 128 + 60 * np.sin(a * xx / f + b * yy / f + d * 6)
    elif kind == "noise":
        small = rng.uniform(0, 255, (max(2, h // int(rng.integers(4, 40))),
                                     max(2, w // int(rng.integers(4, 40))), 3))
        bg = np.asarray(Image.fromarray(small.astype(np.uint8)).resize((w, h), Image.BICUBIC),
                        np.float32)
    elif kind == "photo":
        p = photos()[int(rng.integers(0, len(photos())))]
        ph, pw = p.shape[:2]
        s = rng.uniform(0.3, 1.0)
        ch, cw = max(8, int(ph * s)), max(8, int(pw * s))
        y0, x0 = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
        crop = Image.fromarray(p[y0:y0 + ch, x0:x0 + cw].astype(np.uint8)).resize((w, h), Image.BILINEAR)
        bg = np.asarray(crop, np.float32)
        if rng.random() < 0.5:
            bg = np.fliplr(bg)
    else:
        bg = np.broadcast_to(_color(rng), (h, w, 3)).astype(np.float32)
    bg = np.ascontiguousarray(bg, np.float32)
    if photos() and rng.random() < 0.25:  # rectangles of another photograph
        for _ in range(int(rng.integers(1, 4))):
            p = photos()[int(rng.integers(0, len(photos())))]
            ph, pw = p.shape[:2]
            ch = int(rng.integers(max(4, h // 10), max(5, h // 2)))
            cw = int(rng.integers(max(4, w // 10), max(5, w // 2)))
            ch, cw = min(ch, ph, h), min(cw, pw, w)
            sy, sx = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
            dy, dx = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            bg[dy:dy + ch, dx:dx + cw] = p[sy:sy + ch, sx:sx + cw]
    if kind == "shapes" or rng.random() < 0.25:
        im = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(im)
        for _ in range(int(rng.integers(3, 14))):
            x0, y0 = int(rng.integers(-w // 4, w)), int(rng.integers(-h // 4, h))
            x1 = x0 + int(rng.integers(4, max(5, w // 2)))
            y1 = y0 + int(rng.integers(4, max(5, h // 2)))
            col = tuple(int(v) for v in _color(rng))
            s = rng.random()
            if s < 0.35:
                d.rectangle((x0, y0, x1, y1), fill=col)
            elif s < 0.7:
                d.ellipse((x0, y0, x1, y1), fill=col)
            else:
                pts = [(int(rng.integers(x0, x1)), int(rng.integers(y0, y1))) for _ in range(3)]
                d.polygon(pts, fill=col)
        bg = np.asarray(im, np.float32)
    return bg


def marks(rng, im):
    """Lines and text over the background (a PIL image, drawn in place)."""
    w, h = im.size
    d = ImageDraw.Draw(im)
    if rng.random() < 0.35:
        for _ in range(int(rng.integers(1, 8))):
            pts = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(2)]
            d.line(pts, fill=tuple(int(v) for v in _color(rng)), width=int(rng.integers(1, 6)))
    if rng.random() < 0.35:
        try:
            font = ImageFont.truetype(FONT, int(rng.integers(8, max(9, h // 6))))
        except OSError:
            font = ImageFont.load_default()
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(2, 12))
            txt = "".join(chr(int(c)) for c in rng.integers(48, 91, n))
            d.text((int(rng.integers(0, w)), int(rng.integers(0, h))), txt,
                   fill=tuple(int(v) for v in _color(rng)), font=font)


def item_layer(rng, item, bw, bh):
    """The item resized to bw x bh: (colour h x w x 3, mask h x w in 0..1)."""
    a = np.asarray(Image.fromarray(item).resize((bw, bh), Image.BILINEAR), np.float32) / 255.0
    mask = np.clip(a * 3, 0, 1)
    t = rng.random()
    if t < 0.1 and photos():  # a photograph's colours inside the item's shape
        p = photos()[int(rng.integers(0, len(photos())))]
        ph, pw = p.shape[:2]
        ch, cw = min(ph, max(bh, int(ph * rng.uniform(0.1, 0.5)))), min(pw, max(bw, int(pw * rng.uniform(0.1, 0.5))))
        sy, sx = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
        tex = np.asarray(Image.fromarray(p[sy:sy + ch, sx:sx + cw].astype(np.uint8)).resize((bw, bh)),
                         np.float32)
        col = tex * (0.4 + 0.6 * a[..., None])
    elif t < 0.2:  # inverted: the item's dark parts bright
        col = (1.0 - 0.8 * a[..., None]) * _color(rng, 60, 255)[None, None, :]
    elif t < 0.6:
        col = a[..., None] * _color(rng, 20, 255)[None, None, :]
    elif t < 0.78:
        col = a[..., None] * np.full(3, rng.uniform(120, 255), np.float32)[None, None, :]
    else:  # a two-colour ramp over the item's brightness
        c0, c1 = _color(rng), _color(rng)
        col = c0[None, None, :] * (1 - a[..., None]) + c1[None, None, :] * a[..., None]
    if rng.random() < 0.2:  # texture: stripes or blotches
        yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
        if rng.random() < 0.5:
            f = rng.uniform(2, 8)
            tex = 0.75 + 0.25 * np.sign(np.sin((xx * rng.uniform(-1, 1) + yy) / f))
        else:
            small = rng.uniform(0.6, 1.0, (max(2, bh // 6), max(2, bw // 6)))
            tex = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((bw, bh)),
                             np.float32) / 255.0
        col = col * tex[..., None]
    return col, mask


def paste(canvas, col, mask, x, y, alpha=1.0, shadow=False, rng=None):
    """Composites an item layer at (x, y); returns its visible mask in
    canvas coordinates (h x w, 0..1), clipped to the canvas."""
    H, W = canvas.shape[:2]
    bh, bw = mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + bw, W), min(y + bh, H)
    full = np.zeros((H, W), np.float32)
    if x1 <= x0 or y1 <= y0:
        return full
    sub = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    if shadow:
        dx, dy = int(rng.integers(2, max(3, bw // 10))), int(rng.integers(2, max(3, bh // 10)))
        sm = Image.fromarray((mask * 255).astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(max(1, bw // 25)))
        sm = np.asarray(sm, np.float32) / 255.0 * rng.uniform(0.3, 0.6)
        sx0, sy0, sx1, sy1 = max(x + dx, 0), max(y + dy, 0), min(x + dx + bw, W), min(y + dy + bh, H)
        if sx1 > sx0 and sy1 > sy0:
            ss = sm[sy0 - y - dy:sy1 - y - dy, sx0 - x - dx:sx1 - x - dx][..., None]
            canvas[sy0:sy1, sx0:sx1] *= 1 - ss
    m = mask[sub][..., None] * alpha
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - m) + col[sub] * m
    full[y0:y1, x0:x1] = mask[sub] * alpha
    return full


def scene(rng, imgs, idx, items=None):
    """One training photo with imgs[idx] as its main item.  Returns the
    image (h x w x 3 u8) and the main item's tight box (x0, y0, x1, y1).
    When items is a list, (j, box) of every other item with visible pixels
    (imgs[j], the tight box of what the main item and the items in front
    leave of it) is appended to it; the photo is the same either way."""
    short = int(rng.uniform(160, 420))
    asp = math.exp(rng.uniform(-0.6, 0.6))
    h, w = (short, int(short * asp)) if asp >= 1 else (int(short / asp), short)
    canvas = background(rng, h, w)
    bgim = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    marks(rng, bgim)
    canvas = np.asarray(bgim, np.float32).copy()
    # the main item's side: a third of the photos small (8-30%; SMALL)
    r = rng.random()
    side = (rng.uniform(0.08, 0.3) if r < SMALL else rng.uniform(0.3, 0.9)) * min(h, w)
    a = math.exp(rng.uniform(-0.5, 0.5))
    bw, bh = max(6, min(int(side * a), w)), max(6, min(int(side / a), h))
    x, y = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
    others = []
    for _ in range(int(rng.choice([0, 1, 2, 3], p=[0.3, 0.3, 0.25, 0.15]))):
        j = int(rng.integers(0, len(imgs)))
        s = rng.uniform(0.12, 0.7) * side
        s = max(6, int(s))
        ox, oy = int(rng.integers(-s // 4, w - s // 2)), int(rng.integers(-s // 4, h - s // 2))
        others.append((j, s, ox, oy, rng.random() < 0.25))
    main_alpha = 1.0 if rng.random() < 0.8 else rng.uniform(0.75, 1.0)
    shadow = rng.random() < 0.25
    # most others behind the main item, a quarter in front (smaller, so
    # that they hide a little of it)
    behind, infront = [], []
    for j, s, ox, oy, front in others:
        if front:
            continue
        col, m = item_layer(rng, imgs[j], s, s)
        behind.append((j, paste(canvas, col, m, ox, oy, rng.uniform(0.5, 1.0), rng.random() < 0.2, rng)))
    col, m = item_layer(rng, imgs[idx], bw, bh)
    vis = paste(canvas, col, m, x, y, main_alpha, shadow, rng)
    if items is not None:  # what the main item leaves of those behind it
        behind = [(j, v * (1 - vis)) for j, v in behind]
    for j, s, ox, oy, front in others:
        if not front:
            continue
        s = max(6, int(s * 0.6))
        col, mo = item_layer(rng, imgs[j], s, s)
        cover = paste(canvas, col, mo, ox, oy, rng.uniform(0.6, 1.0), False, rng)
        vis = vis * (1 - cover)
        if items is not None:
            behind = [(k, v * (1 - cover)) for k, v in behind]
            infront = [(k, v * (1 - cover)) for k, v in infront] + [(j, cover)]
    box = tight(vis) or (x, y, x + bw, y + bh)
    if items is not None:
        for j, v in behind + infront:
            b = tight(v)
            if b:
                items.append((j, b))
    out = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    if rng.random() < 0.2:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.8)))
    arr = np.asarray(out, np.float32)
    if rng.random() < 0.4:
        arr = arr * rng.uniform(0.7, 1.25) + rng.uniform(-30, 30)
    if rng.random() < 0.3:
        arr = arr + rng.normal(0, rng.uniform(2, 12), arr.shape)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.7:
        b = io.BytesIO()
        out.save(b, "JPEG", quality=int(rng.integers(30, 96)))
        out = Image.open(io.BytesIO(b.getvalue())).convert("RGB")
    return np.asarray(out), box
