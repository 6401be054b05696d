#!/usr/bin/python3
"""train_deepbit.py - featkit's default descriptors: DeepBit-style binary
codes (K sigmoid units, bit = activation > 0.5) learned without labels.

A small CNN on 32x32 grey crops (conv 16-32-64-64, fc 1024-256) is first
pretrained contrastively (SimCLR's NT-Xent) on pairs of views of the same
item pasted onto *different* clutter ("background swap"), so that its
features keep the product and drop the background.  The code layer is
then fitted to those features by ITQ (PCA to K dimensions and the
rotation that makes them closest to binary; Gong and Lazebnik): balanced
and decorrelated bits, which DeepBit's own losses (quantisation, bit
balance, rotation invariance) do not give by themselves.  With --deepbit
N, the code layer then trains N more steps on DeepBit's three losses plus
a bit-decorrelation term, starting from the ITQ solution.

    /usr/bin/python3 contrib/train/train_deepbit.py OUTDIR [--bits 64,32]
        [--minutes M] [--images DIR] [--deepbit STEPS]

--images DIR trains on a folder of unlabeled photos instead (the central
80% of each photo as the item, random crops of others as clutter).
--backbone deepbitK.pt keeps the network of an earlier run and fits only
the code layers (for other code lengths: a minute, not ten).
Writes OUTDIR/deepbitK.onnx and .pt for each K.  One thread.
"""
import argparse
import glob
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

torch.set_num_threads(1)
S = 32


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(inplace=True))
        self.fc = nn.Linear(64 * 4 * 4, 256)
        # (not in place: feat's output is kept for the backward pass)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(256, 128))

    def feat(self, x):
        # the code layer reads relu(fc): the head's own input, so the
        # contrastive training is the same either way, and ITQ fitted to
        # it beats ITQ on the fc layer itself by about 0.03 mAP
        return F.relu(self.fc(self.f(x).flatten(1)))


class Coder(nn.Module):
    """The shipped network: features, then K sigmoid units."""

    def __init__(self, net, W, b):
        super().__init__()
        self.net = net
        self.code = nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            self.code.weight.copy_(torch.from_numpy(W))
            self.code.bias.copy_(torch.from_numpy(b))

    def forward(self, x):
        return torch.sigmoid(self.code(self.net.feat(x)))


def render(rng, item, bank, tint=True):
    """An item (H x W grey u8, black background) on clutter: a crop as
    cropbox would cut it from a photo (a little background at the edges),
    resized to 32x32 grey the way imgprep does."""
    ih, iw = item.shape
    m = rng.uniform(0.0, 0.2)
    ch, cw = int(ih * (1 + 2 * m)) + 1, int(iw * (1 + 2 * m)) + 1
    if rng.random() < 0.25:  # some views on a plain background, as catalogue shots are
        canvas = np.full((ch, cw, 3), rng.uniform(0, 255) if rng.random() < 0.5 else 0.0, np.float32)
    else:
        bg = bank[rng.integers(0, len(bank))]
        y0, x0 = rng.integers(0, bg.shape[0] - 8), rng.integers(0, bg.shape[1] - 8)
        canvas = np.asarray(Image.fromarray(bg[y0:, x0:]).resize((cw, ch), Image.BILINEAR),
                            np.float32).copy()
    t = rng.uniform(140, 255, 3) if tint and rng.random() < 0.7 else np.full(3, 255.0)
    oy, ox = int(ih * m + rng.uniform(-0.06, 0.06) * ih), int(iw * m + rng.uniform(-0.06, 0.06) * iw)
    oy, ox = min(max(oy, 0), ch - ih), min(max(ox, 0), cw - iw)
    a = item.astype(np.float32) / 255.0
    mask = np.clip(a * 3, 0, 1)[..., None]
    reg = canvas[oy:oy + ih, ox:ox + iw]
    canvas[oy:oy + ih, ox:ox + iw] = reg * (1 - mask) + a[..., None] * t * mask
    canvas = canvas * rng.uniform(0.75, 1.15) + rng.uniform(-20, 20)  # exposure
    img = np.clip(canvas, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        img = img[:, ::-1]
    return C.prep(np.ascontiguousarray(img), S, S, gray=True)


def clutter_bank(rng, n=600):
    return [C.clutter(rng, 64, 64).clip(0, 255).astype(np.uint8) for _ in range(n)]


def nt_xent(z1, z2, tau=0.2):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    s = z @ z.t() / tau
    n = z1.size(0)
    s.fill_diagonal_(-1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(s, target)


def itq(X, bits, iters=50, seed=0):
    """PCA to bits dimensions, then ITQ's rotation.  Returns (mean, P) with
    B = sign((X - mean) @ P)."""
    mu = X.mean(0)
    Xc = X - mu
    cov = Xc.T @ Xc / len(Xc)
    w, V = np.linalg.eigh(cov)
    V = V[:, np.argsort(-w)[:bits]]
    Y = Xc @ V
    R = np.linalg.qr(np.random.default_rng(seed).standard_normal((bits, bits)))[0]
    for _ in range(iters):
        B = np.sign(Y @ R)
        U, _, Vt = np.linalg.svd(B.T @ Y)
        R = (U @ Vt).T
    return mu, V @ R


def items_fmnist(split):
    imgs, _ = C.load_fmnist(split)
    return imgs


def items_folder(d):
    out = []
    for p in sorted(glob.glob(os.path.join(d, "**", "*"), recursive=True)):
        if not p.lower().endswith((".jpg", ".jpeg", ".png")):
            continue
        try:
            im = Image.open(p).convert("L")
        except OSError as e:  # a broken file in a user's folder: say so, go on
            print("train_deepbit: %s: skipped (%s)" % (p, e), file=sys.stderr)
            continue
        w, h = im.size
        im = im.crop((w // 10, h // 10, w - w // 10, h - h // 10)).resize((28, 28), Image.BILINEAR)
        out.append(np.asarray(im, np.uint8))
    if not out:
        sys.exit("train_deepbit: no JPEG or PNG under %s" % d)
    return np.stack(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--bits", default="64,32")
    ap.add_argument("--minutes", type=float, default=8)
    ap.add_argument("--images")
    ap.add_argument("--deepbit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backbone", help="a deepbitK.pt written before: keep its "
                    "pretrained network, fit only the code layers")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    items = items_folder(a.images) if a.images else items_fmnist("train")
    bank = clutter_bank(rng)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=1e-5)
    t0 = time.time()
    budget = a.minutes * 60
    step = 0
    if a.backbone:
        sd = torch.load(a.backbone)
        net.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("net.")})
        budget = 0
        print("train_deepbit: network from %s, no pretraining" % a.backbone, flush=True)
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = 1e-3 * 0.5 * (1 + math.cos(math.pi * frac))
        idx = rng.integers(0, len(items), 128)
        v1 = torch.from_numpy(np.stack([render(rng, items[i], bank) for i in idx]))
        v2 = torch.from_numpy(np.stack([render(rng, items[i], bank) for i in idx]))
        loss = nt_xent(net.head(net.feat(v1)), net.head(net.feat(v2)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            print("train_deepbit: step %d, %.0f s, loss %.3f" % (step, time.time() - t0, loss.item()),
                  flush=True)
    net.eval()
    # features of the items on clutter, for the code layer
    fit = rng.permutation(len(items))[:20000]
    with torch.no_grad():
        X = np.concatenate([net.feat(torch.from_numpy(np.stack(
            [render(rng, items[i], bank) for i in fit[k:k + 500]]))).numpy()
            for k in range(0, len(fit), 500)])
    for bits in [int(b) for b in a.bits.split(",")]:
        mu, P = itq(X.astype(np.float64), bits, seed=a.seed)
        proj = (X - mu) @ P
        sc = 4.0 / proj.std(0)  # sharp sigmoids; the bits do not change
        W = (P * sc).T.astype(np.float32)
        b = (-(mu @ P) * sc).astype(np.float32)
        coder = Coder(net, W, b).eval()
        if a.deepbit:
            coder = deepbit_finetune(coder, items, bank, rng, a.deepbit)
        torch.save(coder.state_dict(), os.path.join(a.out, "deepbit%d.pt" % bits))
        torch.onnx.export(coder, torch.zeros(1, 1, S, S), os.path.join(a.out, "deepbit%d.onnx" % bits),
                          opset_version=13, input_names=["data"], output_names=["code"])
        print("train_deepbit: %d bits: wrote %s/deepbit%d.onnx" % (bits, a.out, bits), flush=True)
    print("train_deepbit: %d steps, %.0f s" % (step, time.time() - t0))


def deepbit_finetune(coder, items, bank, rng, steps):
    """DeepBit's losses on the code layer (quantisation to 0/1, balance of
    each bit at 50%, invariance to rotating the crop by +-10 degrees) plus
    the decorrelation of the bits, from the ITQ start; features frozen."""
    opt = torch.optim.Adam(coder.code.parameters(), 1e-4)
    for s in range(steps):
        idx = rng.integers(0, len(items), 256)
        x = torch.from_numpy(np.stack([render(rng, items[i], bank) for i in idx]))
        ang = float(rng.uniform(-10, 10))
        th = torch.tensor([[math.cos(math.radians(ang)), -math.sin(math.radians(ang)), 0],
                           [math.sin(math.radians(ang)), math.cos(math.radians(ang)), 0]])
        xr = F.grid_sample(x, F.affine_grid(th[None].expand(len(x), 2, 3), x.shape, align_corners=False),
                           align_corners=False, padding_mode="border")
        with torch.no_grad():
            f, fr = coder.net.feat(x), coder.net.feat(xr)
        p, pr = torch.sigmoid(coder.code(f)), torch.sigmoid(coder.code(fr))
        b = (p > 0.5).float()
        l_q = ((p - b) ** 2).mean()
        l_bal = ((p.mean(0) - 0.5) ** 2).mean()
        l_rot = ((p - pr) ** 2).mean()
        c = (p - p.mean(0)).t() @ (p - p.mean(0)) / len(p)
        l_dec = (c - torch.diag(torch.diag(c))).pow(2).mean()
        loss = l_q + l_bal + l_rot + 10 * l_dec
        opt.zero_grad()
        loss.backward()
        opt.step()
    return coder.eval()


if __name__ == "__main__":
    main()
