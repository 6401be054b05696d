#!/usr/bin/python3
"""train_ssd.py - featkit's default detector: a small SSD (MobileNet-style
depthwise-separable backbone, four feature maps at 20, 10, 5 and 3 cells,
Caffe prior boxes, multibox loss with hard-negative mining 3:1) trained on
synthetic product photos made from Fashion-MNIST's train split, exported
to ONNX with the softmax inside, then imported with its metadata.

    /usr/bin/python3 contrib/train/train_ssd.py OUTDIR [--minutes M] [--seed S]

writes OUTDIR/ssd.onnx, OUTDIR/ssd.pt (weights) and OUTDIR/ssd.meta (the
--set arguments for featmodel import).  One thread unless --threads.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import scenes_dr as SD  # noqa: E402
import ssdref  # noqa: E402  (contrib/, via common's path)

torch.set_num_threads(1)


def dwpw(cin, cout, s):
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, s, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SSD(nn.Module):
    def __init__(self, ncls=11, width=1.0):
        super().__init__()
        self.ncls = ncls
        c = [max(8, int(round(v * width / 8)) * 8) for v in (16, 32, 48, 64, 96, 128)]
        self.stem = nn.Sequential(nn.Conv2d(3, c[0], 3, 2, 1, bias=False), nn.BatchNorm2d(c[0]),
                                  nn.ReLU(inplace=True))
        self.b1 = nn.Sequential(dwpw(c[0], c[1], 1), dwpw(c[1], c[2], 2), dwpw(c[2], c[2], 1),
                                dwpw(c[2], c[3], 2))
        self.b2 = nn.Sequential(dwpw(c[3], c[3], 1), dwpw(c[3], c[4], 2))
        self.b3 = nn.Sequential(dwpw(c[4], c[4], 1), dwpw(c[4], c[5], 2))
        self.b4 = dwpw(c[5], c[5], 2)
        chans = [c[3], c[4], c[5], c[5]]
        self.loc = nn.ModuleList(nn.Conv2d(c, C.nper(g[3]) * 4, 3, padding=1)
                                 for c, g in zip(chans, C.GENS))
        self.conf = nn.ModuleList(nn.Conv2d(c, C.nper(g[3]) * ncls, 3, padding=1)
                                  for c, g in zip(chans, C.GENS))

    def forward(self, x, export=False):
        f1 = self.b1(self.stem(x))
        f2 = self.b2(f1)
        f3 = self.b3(f2)
        f4 = self.b4(f3)
        loc = torch.cat([l(f).permute(0, 2, 3, 1).flatten(1)
                         for l, f in zip(self.loc, (f1, f2, f3, f4))], 1)
        conf = torch.cat([c(f).permute(0, 2, 3, 1).flatten(1)
                          for c, f in zip(self.conf, (f1, f2, f3, f4))], 1)
        conf = conf.view(conf.size(0), -1, self.ncls)
        if export:
            return loc, torch.softmax(conf, dim=-1).flatten(1)
        return loc.view(loc.size(0), -1, 4), conf


def iou(a, b):
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (aa[:, None] + ab[None, :] - inter)


def encode(g, p, v):
    pw, ph = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    pcx, pcy = (p[:, 0] + p[:, 2]) / 2, (p[:, 1] + p[:, 3]) / 2
    gw, gh = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    gcx, gcy = (g[:, 0] + g[:, 2]) / 2, (g[:, 1] + g[:, 3]) / 2
    return torch.stack([(gcx - pcx) / pw / v[:, 0], (gcy - pcy) / ph / v[:, 1],
                        torch.log(gw / pw) / v[:, 2], torch.log(gh / ph) / v[:, 3]], 1)


def targets(boxes, labels, pri, var):
    """The priors' targets for boxes (B x K x 4, 0..1) of labels (B x K;
    0: no box): as Caffe's SSD matches, each prior takes the box it
    overlaps most when IoU >= 0.5, and each box its best prior.  Boxes of
    B x 4 and labels of B are one box an image."""
    if boxes.dim() == 2:
        boxes, labels = boxes[:, None], labels[:, None]
    n, p = len(boxes), len(pri)
    cls = torch.zeros(n, p, dtype=torch.long)
    loc = torch.zeros(n, p, 4)
    pos = torch.zeros(n, p, dtype=torch.bool)
    for i in range(n):
        keep = labels[i] > 0
        g, lab = boxes[i][keep], labels[i][keep]
        if not len(g):
            continue
        o = iou(g, pri)                     # (G, P)
        best, which = o.max(0)
        # each box its best prior (the later box where two pick one)
        which[o.argmax(1)] = torch.arange(len(g))
        best[o.argmax(1)] = 1.0
        pos[i] = best >= 0.5
        cls[i] = torch.where(pos[i], lab[which], torch.zeros_like(cls[i]))
        loc[i] = encode(g[which], pri, var)
    return cls, loc, pos


def multibox(ploc, pconf, cls, loc, pos):
    npos = pos.sum().clamp(min=1)
    l_loc = F.smooth_l1_loss(ploc[pos], loc[pos], reduction="sum")
    ce = F.cross_entropy(pconf.reshape(-1, pconf.size(-1)), cls.reshape(-1),
                         reduction="none").view(cls.shape)
    neg_ce = ce.clone().detach()
    neg_ce[pos] = 0
    nneg = (3 * pos.sum(1)).clamp(max=pos.size(1) - 1)
    rank = neg_ce.argsort(1, descending=True).argsort(1)
    neg = rank < nneg[:, None]
    l_conf = ce[pos | neg].sum()
    return (l_loc + l_conf) / npos


# the boxes of a scene: its main item's first, then up to MAXK - 1 others
MAXK = 4
# an other item is labelled when its box is at least MINSIDE of the
# photo's width and height (8 pixels of a 192-pixel input); smaller ones
# stay background, as every other item did before --all-items
MINSIDE = 0.04


def _render(job):
    """Scenes [lo, hi) of a set: the rng of scene i depends on (seed, i)
    only, so a set is the same however many processes render it."""
    lo, hi, seed, split, size = job
    C.configure(size)
    imgs, labs = C.load_fmnist(split)
    X = np.empty((hi - lo, 3, C.IMG, C.IMG), np.float16)
    B = np.zeros((hi - lo, MAXK, 4), np.float32)
    L = np.zeros((hi - lo, MAXK), np.int64)
    for i in range(lo, hi):
        rng = np.random.default_rng([seed, i])
        idx = int(rng.integers(0, len(imgs)))
        items = []
        img, box = SD.scene(rng, imgs, idx, items)
        h, w = img.shape[:2]
        X[i - lo] = C.prep(img, C.IMG, C.IMG)
        k = 0
        for j, (x0, y0, x1, y1) in [(idx, box)] + items:
            if k and ((x1 - x0) < MINSIDE * w or (y1 - y0) < MINSIDE * h):
                continue
            if k < MAXK:
                B[i - lo, k] = (x0 / w, y0 / h, x1 / w, y1 / h)
                L[i - lo, k] = int(labs[j]) + 1
                k += 1
    return X, B, L


def make_set(n, seed, split, procs=1):
    """n domain-randomised training scenes (scenes_dr.py), prepared as
    imgprep --for ssd prepares a photo: X (n x 3 x IMG x IMG, f16), the
    items' boxes in 0..1 coordinates (n x MAXK x 4, the main item's first)
    and their labels (n x MAXK, 1-10, 0 where a scene has fewer); rendered
    by procs processes."""
    step = 250
    jobs = [(lo, min(n, lo + step), seed, split, C.IMG) for lo in range(0, n, step)]
    if procs > 1:
        import multiprocessing as mp
        SD.photos()  # loaded once, shared by the forked workers
        with mp.get_context("fork").Pool(procs) as pool:
            parts = pool.map(_render, jobs, chunksize=1)
    else:
        parts = [_render(j) for j in jobs]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))


def flip_boxes(b):
    """The boxes (... x 4, 0..1) of the mirror image."""
    return np.stack([1 - b[..., 2], b[..., 1], 1 - b[..., 0], b[..., 3]], -1)


def cache_key(n, size, seed):
    """The key of a scenes cache (--cache): the set's count, size and seed,
    and 2, the form whose boxes are MAXK an image."""
    return np.array([n, size, seed, 2])


def cached(path, key):
    """The arrays of the cache file path when its key is key, else None."""
    if not path or not os.path.exists(path):
        return None
    z = np.load(path)
    k = z["key"]
    return z if k.shape == key.shape and (k == key).all() else None


def pick(B, L, all_items):
    """The training targets: every labelled item's box, or the main
    item's only (labels of the others 0)."""
    if all_items:
        return B, L
    L = L.copy()
    L[:, 1:] = 0
    return B, L


def load(wdir):
    """The trained network of wdir (ssd.pt, and ssd.cfg's input size and
    width when present), in eval mode; configures common's IMG and GENS."""
    cfg = {"size": 160, "width": 1.0, "p0_min": 16}
    p = os.path.join(wdir, "ssd.cfg")
    if os.path.exists(p):
        cfg.update(json.load(open(p)))
    if cfg.get("backbone"):
        import train_ssd_pre
        return train_ssd_pre.load(wdir, cfg)
    C.configure(int(cfg["size"]), float(cfg["p0_min"]))
    net = SSD(width=float(cfg["width"]))
    net.load_state_dict(torch.load(os.path.join(wdir, "ssd.pt")))
    net.eval()
    return net


SIZES = [(160, 160), (180, 240), (240, 320), (260, 200), (300, 400), (360, 480), (200, 200)]


def export(net, out, meta, name):
    """OUT/ssd.onnx (the softmax inside) and OUT/ssd.meta (featmodel
    import's --set arguments) of net, in eval mode."""
    class Export(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.n = n

        def forward(self, x):
            return self.n(x, export=True)

    torch.onnx.export(Export(net), torch.zeros(1, 3, C.IMG, C.IMG), os.path.join(out, "ssd.onnx"),
                      opset_version=13, input_names=["data"], output_names=["loc", "conf"])
    with open(os.path.join(out, "ssd.meta"), "w") as f:
        for k, v in meta.items():
            v = ",".join(str(t) for t in v) if isinstance(v, list) else str(v)
            f.write("--set\nssd.%s=%s\n" % (k, v))
        for k, v in [("name", name), ("input.shape", "3,%d,%d" % (C.IMG, C.IMG)),
                     ("input.order", "rgb"), ("input.mean", "127.5,127.5,127.5"),
                     ("input.scale", "0.0078125,0.0078125,0.0078125"), ("input.fit", "stretch"),
                     ("ssd.loc", "loc"), ("ssd.conf", "conf")]:
            f.write("--set\n%s=%s\n" % (k, v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=12)
    ap.add_argument("--n", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", type=int, default=160, help="input side (a multiple of 32)")
    ap.add_argument("--width", type=float, default=1.0, help="channel width multiplier")
    ap.add_argument("--p0-min", type=float, default=16,
                    help="the smallest prior's side, in pixels of a 160-pixel input (default 16)")
    ap.add_argument("--photos", metavar="LIST", action="append", default=[],
                    help="a file naming more photographs (a path a line) for the backgrounds, after"
                    " the wallpapers (contrib/train/photos.txt: python3-skimage's and matplotlib's;"
                    " wallpapers.txt: ukui-, lomiri- and plasma-workspace-wallpapers'); may be repeated")
    ap.add_argument("--small", type=float, default=SD.SMALL, metavar="P",
                    help="the share of scenes whose main item is small, 8-30%% of the short side"
                    " (default %g)" % SD.SMALL)
    ap.add_argument("--photo-share", type=float, default=SD.PHOTO, metavar="P",
                    help="the share of scenes on a photograph (default %g)" % SD.PHOTO)
    ap.add_argument("--init", help="start from these weights (ssd.pt of a run of the same width;"
                    " the input size may differ)")
    ap.add_argument("--items", choices=("all", "main"), default="main",
                    help="the boxes it learns: every item of a scene, or the main one only (default main)")
    ap.add_argument("--threads", type=int, default=1, help="training threads")
    ap.add_argument("--procs", type=int, default=1, help="processes rendering the scenes")
    ap.add_argument("--cache", help="keep the rendered scenes in this .npz file (and reuse it when"
                    " it holds --n scenes of --size and --seed)")
    ap.add_argument("--more", action="append", default=[], metavar="CACHE",
                    help="also train on the scenes of CACHE (an earlier run's --cache file of the same"
                    " --size); may be repeated")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    C.configure(a.size, a.p0_min)
    SD.SMALL, SD.PHOTO = a.small, a.photo_share
    for lst in a.photos:
        with open(lst) as f:
            SD.EXTRA += [ln.strip() for ln in f if ln.strip()]
    missing = [p for p in SD.EXTRA if not os.path.exists(p)]
    if missing:
        sys.exit("train_ssd: --photos: no file %s (DEPS=quality sh contrib/deps.sh installs the packages"
                 " of photos.txt and wallpapers.txt)" % missing[0])
    t0 = time.time()
    key = cache_key(a.n, a.size, a.seed)
    z = cached(a.cache, key)
    if z is not None:
        X, B, L = z["X"], z["B"], z["L"]
    else:
        X, B, L = make_set(a.n, a.seed, "train", a.procs)
        if a.cache:
            np.savez(a.cache, key=key, X=X, B=B, L=L)
    for f in a.more:
        z = np.load(f)
        if len(z["key"]) != 4 or int(z["key"][1]) != a.size:
            sys.exit("train_ssd: %s: not scenes of --size %d in this script's form" % (f, a.size))
        X, B, L = np.concatenate([X, z["X"]]), np.concatenate([B, z["B"]]), np.concatenate([L, z["L"]])
    B, L = pick(B, L, a.items == "all")
    n = len(X)
    print("train_ssd: %d scenes in %.0f s" % (n, time.time() - t0), flush=True)
    meta = C.ssd_meta()
    grids = {"p%d" % i: (g[0], g[0]) for i, g in enumerate(C.GENS)}
    pri, var = ssdref.priors(meta, C.IMG, C.IMG, grids)
    pri_t, var_t = torch.from_numpy(pri), torch.from_numpy(var)
    net = SSD(width=a.width)
    if a.init:
        net.load_state_dict(torch.load(a.init))
    print("train_ssd: %d parameters, %d priors" % (sum(p.numel() for p in net.parameters()), len(pri)),
          flush=True)
    opt = torch.optim.Adam(net.parameters(), 2e-3, weight_decay=1e-5)
    budget = a.minutes * 60
    t1 = time.time()
    step = 0
    rng = np.random.default_rng(a.seed + 1)
    while time.time() - t1 < budget:
        frac = (time.time() - t1) / budget
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * frac))
        idx = rng.integers(0, n, 32)
        x = torch.from_numpy(X[idx].astype(np.float32))
        flip = rng.random(32) < 0.5
        b = np.where(flip[:, None, None], flip_boxes(B[idx]), B[idx])
        x[flip] = x[flip].flip(-1)
        cls, loc, pos = targets(torch.from_numpy(b), torch.from_numpy(L[idx]), pri_t, var_t)
        ploc, pconf = net(x)
        loss = multibox(ploc, pconf, cls, loc, pos)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0:
            print("train_ssd: step %d, %.0f s, loss %.3f" % (step, time.time() - t1, loss.item()),
                  flush=True)
    net.eval()
    torch.save(net.state_dict(), os.path.join(a.out, "ssd.pt"))
    with open(os.path.join(a.out, "ssd.cfg"), "w") as f:
        json.dump({"size": a.size, "width": a.width, "p0_min": a.p0_min}, f)

    export(net, a.out, meta, "featkit-ssd-fmnist")
    print("train_ssd: %d steps, %.0f s; wrote %s/ssd.onnx" % (step, time.time() - t0, a.out), flush=True)


if __name__ == "__main__":
    main()
