#!/usr/bin/python3
"""train_deepbit.py - featkit's default descriptors: DeepBit-style binary
codes (K sigmoid units, bit = activation > 0.5) learned without labels.

A small CNN on 32x32 grey crops (conv 16-32-64-64, fc 1024-256) is first
pretrained contrastively (SimCLR's NT-Xent, temperature 0.5, batch 128,
Adam at 3e-3 with a cosine schedule) on pairs of views of the same item.
Most views paste the item onto *different* clutter or plain backgrounds
("background swap"), so that the features keep the product and drop the
background; 30% are clean (white on black, tight, as Fashion-MNIST and
catalogue shots show items).  On top come SimCLR's augmentations: a
random resized crop (40-100% of the area, aspect 3/4-4/3), a rotation of
+-10 degrees for half the views, a blur for 30% and a random erasing for
30%.  The pretraining has a batch norm after each conv and after fc and
a projection head with a hidden layer (256-256-128, as SimCLR's); the
batch norms are folded into the weights afterwards, so the shipped
network is the plain conv/fc/ReLU one and the head does not ship.  The
views of each step are rendered all at once with torch ops
(render_batch: render's draws and steps, up to resampling details such
as PIL's antialiasing; a seventh of the time per step instead of a
third, so half as many steps again in the same minutes).

The code layer is then fitted to relu(fc) (half of the items clean, half
on clutter, without the augmentations) by ITQ (PCA to K dimensions and
the rotation that makes them closest to binary; Gong and Lazebnik):
balanced and decorrelated bits, which DeepBit's own losses (quantisation,
bit balance, rotation invariance) do not give by themselves.  With
--deepbit N, the code layer then trains N more steps on DeepBit's three
losses plus a bit-decorrelation term, starting from the ITQ solution.
CFG below holds these choices (the README has what they measured).

    /usr/bin/python3 contrib/train/train_deepbit.py OUTDIR [--bits 64,32]
        [--minutes M | --steps N] [--images DIR] [--deepbit STEPS] [--seed N]
        [--backbone deepbitK.pt]

--minutes is the pretraining's time (default 30; on one core); --steps
N pretrains N steps instead, whatever the machine's load (the cosine
schedule runs over the steps), so that a run can be repeated.
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
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

torch.set_num_threads(1)
S = 32


class Net(nn.Module):
    """The features: conv 16-32-64-64, fc 1024-256, relu(fc).  bn=True
    (pretraining) puts a batch norm after each conv and after fc; fold()
    folds them into the weights for the shipped network."""

    def __init__(self, bn=False, cin=1, chans=(16, 32, 64, 64), side=32):
        super().__init__()
        self.shape = (cin, tuple(chans), side)
        L = []
        for k, (i, o) in enumerate(zip((cin,) + tuple(chans[:-1]), chans)):
            L += [nn.Conv2d(i, o, 3, padding=1)] + ([nn.BatchNorm2d(o)] if bn else [])
            L += [nn.ReLU(inplace=True)] + ([nn.MaxPool2d(2)] if k < 3 else [])
        self.f = nn.Sequential(*L)
        self.fc = nn.Linear(chans[-1] * (side // 8) ** 2, 256)
        self.bn = nn.BatchNorm1d(256) if bn else None

    def feat(self, x):
        # the code layer reads relu(fc): the head's input
        y = self.fc(self.f(x).flatten(1))
        return F.relu(self.bn(y) if self.bn is not None else y)

    def fold(self):
        """The same function (eval mode) without batch norms."""
        cin, chans, side = self.shape
        out = Net(cin=cin, chans=chans, side=side)
        convs = [m for m in out.f if isinstance(m, nn.Conv2d)]
        mine = list(self.f)
        k = 0
        with torch.no_grad():
            for j, m in enumerate(mine):
                if isinstance(m, nn.Conv2d):
                    bn = mine[j + 1]
                    g = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                    convs[k].weight.copy_(m.weight * g[:, None, None, None])
                    convs[k].bias.copy_((m.bias - bn.running_mean) * g + bn.bias)
                    k += 1
            g = self.bn.weight / torch.sqrt(self.bn.running_var + self.bn.eps)
            out.fc.weight.copy_(self.fc.weight * g[:, None])
            out.fc.bias.copy_((self.fc.bias - self.bn.running_mean) * g + self.bn.bias)
        return out.eval()


def head(kind):
    """The projection head of the pretraining (not shipped)."""
    if kind == 2:  # SimCLR's: a hidden layer
        return nn.Sequential(nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 128))
    return nn.Linear(256, 128)


class Coder(nn.Module):
    """The shipped network: features (L2-normalised if l2), then K sigmoid
    units."""

    def __init__(self, net, W, b, l2=None):
        super().__init__()
        self.net = net
        self.l2 = CFG["l2"] if l2 is None else l2
        self.code = nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            self.code.weight.copy_(torch.from_numpy(W))
            self.code.bias.copy_(torch.from_numpy(b))

    def forward(self, x):
        f = self.net.feat(x)
        return torch.sigmoid(self.code(F.normalize(f, dim=1) if self.l2 else f))


# the pretraining and the code layer's fit (measured choices: README)
CFG = dict(
    tau=0.5,          # NT-Xent temperature (0.2 and 0.1 worse)
    batch=128,
    lr=3e-3,
    rrc=0.4,          # random resized crop: smallest area kept (0: none)
    ratio=4 / 3,      # its aspect jitter (1/r .. r)
    clean=0.3,        # share of clean views (item white on black, tight)
    plain=0.25,       # share of the other views on a plain background
    rot=10.0,         # rotation of half the views, degrees (+-)
    blur=0.3,         # probability of a Gaussian blur
    erase=0.3,        # probability of a random erasing
    bn=True,          # batch norms in the pretraining (folded away after)
    head=2,           # projection head: 1 linear, 2 with a hidden layer
    fit_clean=0.5,    # share of clean items in the code layer's fit
    l2=False,         # the code layer reads L2-normalised features
)


def render(rng, item, bank, tint=True, aug=True, clean=None):
    """An item (H x W grey u8, black background) on clutter: a crop as
    cropbox would cut it from a photo (a little background at the edges),
    resized to 32x32 grey the way imgprep does.  aug adds the
    pretraining's augmentations (CFG); clean=True gives the item as
    Fashion-MNIST shows it (white on black, tight), unaugmented."""
    ih, iw = item.shape
    if clean is None:
        clean = aug and rng.random() < CFG["clean"]
    if clean and not aug:
        img = np.ascontiguousarray(np.repeat(item[:, :, None], 3, 2))
        return C.prep(img, S, S, gray=True)
    m = 0.0 if clean else rng.uniform(0.0, 0.2)
    ch, cw = int(ih * (1 + 2 * m)) + 1, int(iw * (1 + 2 * m)) + 1
    if clean:
        canvas = np.zeros((ch, cw, 3), np.float32)
    elif rng.random() < CFG["plain"]:  # some views on a plain background, as catalogue shots are
        canvas = np.full((ch, cw, 3), rng.uniform(0, 255) if rng.random() < 0.5 else 0.0, np.float32)
    else:
        bg = bank[rng.integers(0, len(bank))]
        y0, x0 = rng.integers(0, bg.shape[0] - 8), rng.integers(0, bg.shape[1] - 8)
        canvas = np.asarray(Image.fromarray(bg[y0:, x0:]).resize((cw, ch), Image.BILINEAR),
                            np.float32).copy()
    t = rng.uniform(140, 255, 3) if tint and not clean and rng.random() < 0.7 else np.full(3, 255.0)
    oy, ox = int(ih * m + rng.uniform(-0.06, 0.06) * ih), int(iw * m + rng.uniform(-0.06, 0.06) * iw)
    oy, ox = min(max(oy, 0), ch - ih), min(max(ox, 0), cw - iw)
    a = item.astype(np.float32) / 255.0
    mask = np.clip(a * 3, 0, 1)[..., None]
    reg = canvas[oy:oy + ih, ox:ox + iw]
    canvas[oy:oy + ih, ox:ox + iw] = reg * (1 - mask) + a[..., None] * t * mask
    if not clean:
        canvas = canvas * rng.uniform(0.75, 1.15) + rng.uniform(-20, 20)  # exposure
    img = np.clip(canvas, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        img = img[:, ::-1]
    if aug:
        if CFG["rot"] and rng.random() < 0.5:
            img = np.asarray(Image.fromarray(np.ascontiguousarray(img)).rotate(
                rng.uniform(-CFG["rot"], CFG["rot"]), Image.BILINEAR))
        if CFG["blur"] and rng.random() < CFG["blur"]:
            img = np.asarray(Image.fromarray(np.ascontiguousarray(img)).filter(
                ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2))))
        if CFG["rrc"]:
            area = rng.uniform(CFG["rrc"], 1.0) * ch * cw
            r = math.exp(rng.uniform(-math.log(CFG["ratio"]), math.log(CFG["ratio"])))
            w = max(8, min(cw, int(round(math.sqrt(area * r)))))
            h = max(8, min(ch, int(round(math.sqrt(area / r)))))
            x0, y0 = rng.integers(0, cw - w + 1), rng.integers(0, ch - h + 1)
            img = img[y0:y0 + h, x0:x0 + w]
    x = C.prep(np.ascontiguousarray(img), S, S, gray=True)
    if aug and CFG["erase"] and rng.random() < CFG["erase"]:
        eh, ew = rng.integers(6, 16, 2)
        ey, ex = rng.integers(0, S - eh), rng.integers(0, S - ew)
        x[:, ey:ey + eh, ex:ex + ew] = rng.uniform(-1, 1)
    return x


M = 40  # render_batch's canvas: the largest, int(28 * 1.4) + 1


def render_batch(rng, items_t, bank_t, idx):
    """render(aug=True) of the items idx, all at once with torch ops: the
    same draws and steps (up to resampling details: no antialiasing when
    the clutter is shrunk, an exact Gaussian blur, no rounding after the
    rotation), in one go (rendering the views one at a time took a third
    of each step).  items_t: N x 28 x 28 floats (0..255); bank_t: the
    clutter bank as K x 3 x 64 x 64 floats.  Each canvas sits in an M x M
    array with its edge pixels repeated beyond ch x cw, as a blur sees
    them.  Returns B x 1 x 32 x 32."""
    B, ih, iw = len(idx), 28, 28

    def u(lo, hi):
        return rng.uniform(lo, hi, B)

    def T(a, dt=torch.float32):
        return torch.as_tensor(a, dtype=dt)

    # the draws of render(), for the whole batch
    clean = rng.random(B) < CFG["clean"]
    m = np.where(clean, 0.0, u(0.0, 0.2))
    ch, cw = (ih * (1 + 2 * m)).astype(int) + 1, (iw * (1 + 2 * m)).astype(int) + 1
    plain = ~clean & (rng.random(B) < CFG["plain"])
    pval = np.where(rng.random(B) < 0.5, u(0, 255), 0.0)
    clut = ~clean & ~plain
    bi = rng.integers(0, len(bank_t), B)
    by0, bx0 = rng.integers(0, 64 - 8, B), rng.integers(0, 64 - 8, B)
    tinted = ~clean & (rng.random(B) < 0.7)
    t = np.where(tinted[:, None], rng.uniform(140, 255, (B, 3)), 255.0)
    oy, ox = (ih * m + u(-0.06, 0.06) * ih).astype(int), (iw * m + u(-0.06, 0.06) * iw).astype(int)
    oy, ox = np.clip(oy, 0, ch - ih), np.clip(ox, 0, cw - iw)
    gain, off = np.where(clean, 1.0, u(0.75, 1.15)), np.where(clean, 0.0, u(-20, 20))
    flip = rng.random(B) < 0.5
    rot = (rng.random(B) < 0.5) & (CFG["rot"] > 0)
    ang = u(-CFG["rot"], CFG["rot"])
    blur = rng.random(B) < CFG["blur"]
    sig = u(0.3, 1.2)
    if CFG["rrc"]:
        area = u(CFG["rrc"], 1.0) * ch * cw
        r = np.exp(u(-math.log(CFG["ratio"]), math.log(CFG["ratio"])))
        w = np.maximum(8, np.minimum(cw, np.round(np.sqrt(area * r)).astype(int)))
        h = np.maximum(8, np.minimum(ch, np.round(np.sqrt(area / r)).astype(int)))
        cx0, cy0 = (rng.random(B) * (cw - w + 1)).astype(int), (rng.random(B) * (ch - h + 1)).astype(int)
    else:
        w, h, cx0, cy0 = cw, ch, np.zeros(B, int), np.zeros(B, int)
    erase = rng.random(B) < CFG["erase"]
    eh, ew = rng.integers(6, 16, B), rng.integers(6, 16, B)
    ey, ex = (rng.random(B) * (S - eh)).astype(int), (rng.random(B) * (S - ew)).astype(int)
    ev = u(-1, 1)

    P = torch.arange(M)
    chT, cwT = T(ch, torch.long)[:, None], T(cw, torch.long)[:, None]
    ys = torch.minimum(P[None], chT - 1)  # B x M: the canvas row of each row, edges repeated
    xu = torch.minimum(P[None], cwT - 1)
    xs = torch.where(T(flip, torch.bool)[:, None], cwT - 1 - xu, xu)  # flipped columns
    # the background: a clutter crop resized to ch x cw, a plain grey, or black
    bgc = torch.zeros(B, 3, M, M)
    ci = np.nonzero(clut)[0]
    if len(ci):
        sx = T(bx0[ci])[:, None] + (xs[ci].float() + 0.5) * T((64 - bx0[ci]) / cw[ci])[:, None] - 0.5
        sy = T(by0[ci])[:, None] + (ys[ci].float() + 0.5) * T((64 - by0[ci]) / ch[ci])[:, None] - 0.5
        grid = torch.stack([((sx + 0.5) / 32 - 1)[:, None, :].expand(-1, M, M),
                            ((sy + 0.5) / 32 - 1)[:, :, None].expand(-1, M, M)], -1)
        bgc[ci] = F.grid_sample(bank_t[bi[ci]], grid, mode="bilinear", padding_mode="border",
                                align_corners=False)
    bgc[plain] = T(pval[plain])[:, None, None, None]
    # the item, tinted, at (oy, ox); then the exposure
    iy, ix = ys - T(oy, torch.long)[:, None], xs - T(ox, torch.long)[:, None]
    inside = ((iy >= 0) & (iy < ih))[:, :, None] & ((ix >= 0) & (ix < iw))[:, None, :]
    a = items_t[T(idx, torch.long)[:, None, None], iy.clamp(0, ih - 1)[:, :, None],
                ix.clamp(0, iw - 1)[:, None, :]] * inside / 255.0
    mask = (a * 3).clamp(0, 1)[:, None]
    canvas = bgc * (1 - mask) + a[:, None] * T(t)[:, :, None, None] * mask
    canvas = (canvas * T(gain)[:, None, None, None] + T(off)[:, None, None, None]).clamp(0, 255).floor()
    g = (0.299 * canvas[:, 0] + 0.587 * canvas[:, 1] + 0.114 * canvas[:, 2])[:, None]
    # the rotation about the canvas centre, black outside
    ri = np.nonzero(rot)[0]
    if len(ri):
        th = T(np.radians(ang[ri]))
        c, s = torch.cos(th)[:, None, None], torch.sin(th)[:, None, None]
        cx, cy = T(cw[ri] / 2.0)[:, None, None], T(ch[ri] / 2.0)[:, None, None]
        X = xu[ri].float()[:, None, :] + 0.5 - cx
        Y = ys[ri].float()[:, :, None] + 0.5 - cy
        sx, sy = c * X - s * Y + cx, s * X + c * Y + cy
        valid = (sx >= 0) & (sx <= cwT[ri, :, None]) & (sy >= 0) & (sy <= chT[ri, :, None])
        grid = torch.stack([sx / M * 2 - 1, sy / M * 2 - 1], -1)
        g[ri] = F.grid_sample(g[ri], grid, mode="bilinear", padding_mode="border",
                              align_corners=False) * valid[:, None]
    # the blur: a separable Gaussian per view
    bl = np.nonzero(blur)[0]
    if len(bl):
        k = torch.arange(-4, 5).float()
        ker = torch.exp(-k[None] ** 2 / (2 * T(sig[bl])[:, None] ** 2))
        ker = ker / ker.sum(1, keepdim=True)
        x = F.pad(g[bl].transpose(0, 1), (4, 4, 4, 4), mode="replicate")
        x = F.conv2d(x, ker[:, None, None, :], groups=len(bl))
        g[bl] = F.conv2d(x, ker[:, None, :, None], groups=len(bl)).transpose(0, 1)
    # the random resized crop, resized to 32x32 as prep does (bilinear, half-pixel centres)
    q = torch.arange(S).float() + 0.5
    sx = T(cx0)[:, None] + q[None] * T(w / S)[:, None] - 0.5
    sy = T(cy0)[:, None] + q[None] * T(h / S)[:, None] - 0.5
    grid = torch.stack([((sx + 0.5) / M * 2 - 1)[:, None, :].expand(-1, S, S),
                        ((sy + 0.5) / M * 2 - 1)[:, :, None].expand(-1, S, S)], -1)
    out = (F.grid_sample(g, grid, mode="bilinear", padding_mode="border", align_corners=False)
           - 127.5) * 0.0078125
    # the random erasing
    rows, cols = P[None, :S, None], P[None, None, :S]
    e = (T(erase, torch.bool)[:, None, None]
         & (rows >= T(ey, torch.long)[:, None, None]) & (rows < T(ey + eh, torch.long)[:, None, None])
         & (cols >= T(ex, torch.long)[:, None, None]) & (cols < T(ex + ew, torch.long)[:, None, None]))
    return torch.where(e[:, None], T(ev)[:, None, None, None].expand_as(out), out).contiguous()


def clutter_bank(rng, n=600):
    return [C.clutter(rng, 64, 64).clip(0, 255).astype(np.uint8) for _ in range(n)]


def nt_xent(z1, z2, tau):
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
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--steps", type=int, default=0, help="pretrain this many steps (not --minutes)")
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
    t0 = time.time()
    step = 0
    if a.backbone:
        net = Net()
        sd = torch.load(a.backbone)
        net.load_state_dict({k[4:]: v for k, v in sd.items()
                             if k.startswith("net.") and not k.startswith("net.head.")})
        net.eval()
        print("train_deepbit: network from %s, no pretraining" % a.backbone, flush=True)
    else:
        net, step = pretrain(items, bank, rng, a.minutes * 60, a.steps)
    X = fit_features(net, items, bank, rng)
    for bits in [int(b) for b in a.bits.split(",")]:
        coder = code_layer(net, X, bits, a.seed)
        if a.deepbit:
            coder = deepbit_finetune(coder, items, bank, rng, a.deepbit)
        torch.save(coder.state_dict(), os.path.join(a.out, "deepbit%d.pt" % bits))
        torch.onnx.export(coder, torch.zeros(1, 1, S, S), os.path.join(a.out, "deepbit%d.onnx" % bits),
                          opset_version=13, input_names=["data"], output_names=["code"])
        print("train_deepbit: %d bits: wrote %s/deepbit%d.onnx" % (bits, a.out, bits), flush=True)
    print("train_deepbit: %d steps, %.0f s" % (step, time.time() - t0))


def pretrain(items, bank, rng, budget, steps=0):
    """SimCLR: NT-Xent on two augmented views of each item, for budget
    seconds (or steps steps), cosine learning rate.  Returns the network
    (batch norms folded) and the number of steps."""
    net = Net(bn=CFG["bn"])
    h = head(CFG["head"])
    items_t = torch.from_numpy(items.astype(np.float32))
    bank_t = torch.from_numpy(np.stack(bank).astype(np.float32)).permute(0, 3, 1, 2).contiguous()
    opt = torch.optim.Adam(list(net.parameters()) + list(h.parameters()), CFG["lr"], weight_decay=1e-5)
    t0 = time.time()
    step = 0
    net.train()
    while (step < steps) if steps else (time.time() - t0 < budget):
        frac = step / steps if steps else (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = CFG["lr"] * 0.5 * (1 + math.cos(math.pi * frac))
        idx = rng.integers(0, len(items), CFG["batch"])
        v1 = render_batch(rng, items_t, bank_t, idx)
        v2 = render_batch(rng, items_t, bank_t, idx)
        loss = nt_xent(h(net.feat(v1)), h(net.feat(v2)), CFG["tau"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            print("train_deepbit: step %d, %.0f s, loss %.3f" % (step, time.time() - t0, loss.item()),
                  flush=True)
    net.eval()
    return (net.fold() if CFG["bn"] else net), step


def fit_features(net, items, bank, rng, n=20000):
    """relu(fc) of n items, on clutter or clean (CFG fit_clean), without
    the pretraining's augmentations: what the code layer is fitted to."""
    fit = rng.permutation(len(items))[:n]
    with torch.no_grad():
        X = torch.cat([net.feat(torch.from_numpy(np.stack(
            [render(rng, items[i], bank, aug=False, clean=bool(rng.random() < CFG["fit_clean"]))
             for i in fit[k:k + 500]]))) for k in range(0, len(fit), 500)])
    return (F.normalize(X, dim=1) if CFG["l2"] else X).numpy()


def code_layer(net, X, bits, seed):
    """ITQ on the features X, folded into K sigmoid units."""
    mu, P = itq(X.astype(np.float64), bits, seed=seed)
    proj = (X - mu) @ P
    sc = 4.0 / proj.std(0)  # sharp sigmoids; the bits do not change
    W = (P * sc).T.astype(np.float32)
    b = (-(mu @ P) * sc).astype(np.float32)
    return Coder(net, W, b).eval()


def deepbit_finetune(coder, items, bank, rng, steps):
    """DeepBit's losses on the code layer (quantisation to 0/1, balance of
    each bit at 50%, invariance to rotating the crop by +-10 degrees) plus
    the decorrelation of the bits, from the ITQ start; features frozen."""
    opt = torch.optim.Adam(coder.code.parameters(), 1e-4)
    for s in range(steps):
        idx = rng.integers(0, len(items), 256)
        x = torch.from_numpy(np.stack([render(rng, items[i], bank, aug=False) for i in idx]))
        ang = float(rng.uniform(-10, 10))
        th = torch.tensor([[math.cos(math.radians(ang)), -math.sin(math.radians(ang)), 0],
                           [math.sin(math.radians(ang)), math.cos(math.radians(ang)), 0]])
        xr = F.grid_sample(x, F.affine_grid(th[None].expand(len(x), 2, 3), x.shape, align_corners=False),
                           align_corners=False, padding_mode="border")
        with torch.no_grad():
            f, fr = coder.net.feat(x), coder.net.feat(xr)
            if coder.l2:
                f, fr = F.normalize(f, dim=1), F.normalize(fr, dim=1)
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
