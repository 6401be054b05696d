#!/usr/bin/python3
"""train_dedup.py - featkit's near-duplicate descriptor (models/dedup.fm):
codes that tell one product photo from another of the same kind, whatever
a re-upload did to it.

The similar-product descriptor (train_deepbit.py, 32x32 grey) is trained
to keep what a class of items shares; here the task is the opposite, to
keep what one photo of one item has and no other has: its exact shape,
colour and texture.  So the network sees the detector's crop in colour at
48x48 and is trained by instance discrimination (SimCLR's NT-Xent): each
item of a batch is made into a product (a tint, a two-colour ramp or
grey, an aspect, a background), and its two views are two re-uploads of
that product: mirrored, rotated by up to 8 degrees, colour graded,
brighter or darker, thumbnailed and blown up, noisy, watermarked, the
product moved onto another background, and cut with a detector's error
(the item filling 65-100% of the crop, off centre by up to 10%).  Every
other product in the batch, many of them items of the same class, is a
negative.  The code layer is ITQ on the features (as train_deepbit.py).

The views are rendered with torch ops for a whole batch at once.  Items
are Fashion-MNIST's train split; backgrounds are plain light colours,
sine clutter and patches of the wallpapers scenes_dr.py uses.

    /usr/bin/python3 contrib/train/train_dedup.py OUTDIR [--minutes M]
        [--bits 64] [--seed N]

writes OUTDIR/dedupK.onnx and dedupK.pt.  One thread.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import scenes_dr as SD  # noqa: E402
import train_deepbit as TD  # noqa: E402

torch.set_num_threads(1)
S = 48
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def Net(bn=False):
    """conv 32-64-128-128 over 48x48 colour (3x3, each but the last
    followed by a 2x2 max pool), fc 4608-256, relu(fc): train_deepbit.py's
    network, wider; bn=True for training, fold() removes the batch norms."""
    return TD.Net(bn, cin=3, chans=(32, 64, 128, 128), side=S)


class Coder(nn.Module):
    """The shipped network: relu(fc), then K sigmoid units (bit = > 0.5)."""

    def __init__(self, net, W, b):
        super().__init__()
        self.net = net
        self.code = nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            self.code.weight.copy_(torch.from_numpy(W))
            self.code.bias.copy_(torch.from_numpy(b))

    def forward(self, x):
        return torch.sigmoid(self.code(self.net.feat(x)))


def bg_bank(rng, n=800):
    """Backgrounds at 2S x 2S: plain light, sine clutter, wallpaper patches."""
    out = []
    ph = SD.photos()
    for k in range(n):
        t = k % 3
        if t == 0:
            a = np.broadcast_to(rng.uniform(190, 255, 3), (2 * S, 2 * S, 3)).astype(np.float32)
        elif t == 1:
            a = C.clutter(rng, 2 * S, 2 * S)
        else:
            p = ph[int(rng.integers(len(ph)))]
            s = int(rng.integers(2 * S, min(p.shape[:2]) + 1))
            y, x = int(rng.integers(0, p.shape[0] - s + 1)), int(rng.integers(0, p.shape[1] - s + 1))
            a = np.asarray(Image.fromarray(p[y:y + s, x:x + s].astype(np.uint8)).resize((2 * S, 2 * S)),
                           np.float32)
        out.append(a.clip(0, 255))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous() / 255.0


def text_bank(rng, n=200):
    """Watermark masks at S x S (0..1)."""
    out = []
    words = ["SALE", "shop", "(c)", "NEW", "sample", "deal", "TOP", "www"]
    for _ in range(n):
        im = Image.new("L", (S, S), 0)
        f = ImageFont.truetype(FONT, int(rng.integers(7, 16)))
        ImageDraw.Draw(im).text((int(rng.integers(-4, S // 2)), int(rng.integers(-2, S - 8))),
                                str(rng.choice(words)), fill=255, font=f)
        out.append(np.asarray(im, np.float32) / 255.0)
    return torch.from_numpy(np.stack(out))[:, None]


def products(rng, items, idx):
    """Each item made into a product: its colour layer (B x 3 x 56 x 56),
    matte (B x 1 x 56 x 56), aspect, and background index."""
    it = torch.from_numpy(items[idx].astype(np.float32) / 255.0)[:, None]
    it = F.interpolate(it, size=(56, 56), mode="bilinear", align_corners=False)
    n = len(idx)
    kind = torch.from_numpy(rng.random(n)).float()
    c0 = torch.from_numpy(rng.uniform(0, 1, (n, 3))).float()[:, :, None, None]
    c1 = torch.from_numpy(rng.uniform(0, 1, (n, 3))).float()[:, :, None, None]
    grey = torch.from_numpy(rng.uniform(0.45, 1, (n, 1))).float()[:, :, None, None].expand(n, 3, 1, 1)
    tint = torch.where((kind < 0.6)[:, None, None, None], c1 * 0.85 + 0.15, grey)
    col = it * tint
    ramp = (kind >= 0.8)[:, None, None, None]
    col = torch.where(ramp, c0 * (1 - it) + c1 * it, col)
    matte = (it * 3).clamp(0, 1)
    aspect = torch.from_numpy(np.exp(rng.uniform(-0.3, 0.3, n))).float()
    return col, matte, aspect


def views(rng, col, matte, aspect, bgs, texts, bg_idx):
    """One view of each product: a re-upload as the detector would crop it."""
    n = col.size(0)
    r = lambda lo, hi: torch.from_numpy(rng.uniform(lo, hi, n)).float()  # noqa: E731
    swap = torch.from_numpy(rng.random(n) < 0.4)
    other = torch.from_numpy(rng.integers(0, len(bgs), n))
    b = torch.where(swap, other, bg_idx)
    # background: a random S x S window of the 2S x 2S patch
    ox, oy = int(rng.integers(0, S)), int(rng.integers(0, S))
    canvas = bgs[b][:, :, oy:oy + S, ox:ox + S].clone()
    # the item: fills 65-100% of the crop, off centre by up to 10%
    fill = r(0.65, 1.0)
    sx, sy = 1 / (fill * aspect.sqrt()), 1 / (fill / aspect.sqrt())
    ang = r(-8, 8) * math.pi / 180 * torch.from_numpy(rng.random(n) < 0.5).float()
    tx, ty = r(-0.2, 0.2), r(-0.2, 0.2)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([torch.stack([sx * cos, -sx * sin, tx], 1),
                         torch.stack([sy * sin, sy * cos, ty], 1)], 1)
    grid = F.affine_grid(theta, (n, 4, S, S), align_corners=False)
    layer = F.grid_sample(torch.cat([col, matte], 1), grid, align_corners=False)
    a = layer[:, 3:]
    x = canvas * (1 - a) + layer[:, :3] * a
    # watermark
    wm = torch.from_numpy(rng.random(n) < 0.2)[:, None, None, None].float()
    t = texts[torch.from_numpy(rng.integers(0, len(texts), n))]
    wc = torch.from_numpy(rng.uniform(0, 1, (n, 3))).float()[:, :, None, None]
    wa = r(0.35, 0.8)[:, None, None, None]
    x = x * (1 - wm * t * wa) + wc * wm * t * wa
    # colour grade, brightness
    gain = torch.from_numpy(rng.uniform(0.85, 1.15, (n, 3))).float()[:, :, None, None]
    gamma = r(0.85, 1.2)[:, None, None, None]
    x = (x * gain).clamp(1e-4, 1) ** gamma * r(0.7, 1.35)[:, None, None, None]
    # thumbnail and blown up again
    th = torch.from_numpy(rng.random(n) < 0.25)
    if th.any():
        s = int(rng.integers(12, 28))
        small = F.interpolate(x[th], size=(s, s), mode="area")
        x[th] = F.interpolate(small, size=(S, S), mode="bilinear", align_corners=False)
    x = x + torch.randn_like(x) * (r(0, 0.04) * torch.from_numpy(rng.random(n) < 0.4).float())[:, None, None, None]
    # a mirrored re-upload mirrors the whole photo
    m = torch.from_numpy(rng.random(n) < 0.5)
    x[m] = x[m].flip(-1)
    return ((x.clamp(0, 1) * 255 - 127.5) * 0.0078125)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=25)
    ap.add_argument("--bits", default="64")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=192)
    ap.add_argument("--tau", type=float, default=0.2)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    items, _ = C.load_fmnist("train")
    t0 = time.time()
    bgs, texts = bg_bank(rng), text_bank(rng)
    print("train_dedup: banks in %.0f s" % (time.time() - t0), flush=True)
    net = Net(bn=True)
    head = nn.Sequential(nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 128))
    params = list(net.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, 2e-3, weight_decay=1e-6)
    budget, t1, step = a.minutes * 60, time.time(), 0
    while time.time() - t1 < budget:
        frac = (time.time() - t1) / budget
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * frac))
        idx = rng.integers(0, len(items), a.batch)
        col, matte, asp = products(rng, items, idx)
        bi = torch.from_numpy(rng.integers(0, len(bgs), a.batch))
        x1 = views(rng, col, matte, asp, bgs, texts, bi)
        x2 = views(rng, col, matte, asp, bgs, texts, bi)
        loss = TD.nt_xent(head(net.feat(x1)), head(net.feat(x2)), a.tau)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            print("train_dedup: step %d, %.0f s, loss %.3f" % (step, time.time() - t1, loss.item()),
                  flush=True)
    net.eval()
    f = net.fold()
    # the code layer: ITQ on the features of 20000 views
    feats = []
    with torch.no_grad():
        for _ in range(100):
            idx = rng.integers(0, len(items), 200)
            col, matte, asp = products(rng, items, idx)
            bi = torch.from_numpy(rng.integers(0, len(bgs), 200))
            feats.append(f.feat(views(rng, col, matte, asp, bgs, texts, bi)).numpy())
    X = np.concatenate(feats).astype(np.float64)
    for bits in [int(b) for b in a.bits.split(",")]:
        mu, P = TD.itq(X, bits, seed=a.seed)
        W = P.T.astype(np.float32)
        b = (-mu @ P).astype(np.float32)
        coder = Coder(f, W, b).eval()
        torch.save(coder.state_dict(), os.path.join(a.out, "dedup%d.pt" % bits))
        torch.onnx.export(coder, torch.zeros(1, 3, S, S), os.path.join(a.out, "dedup%d.onnx" % bits),
                          opset_version=13, input_names=["data"], output_names=["code"])
        print("train_dedup: %d bits: wrote %s/dedup%d.onnx" % (bits, a.out, bits), flush=True)
    print("train_dedup: %d steps, %.0f s" % (step, time.time() - t0), flush=True)


if __name__ == "__main__":
    main()
