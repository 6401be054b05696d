#!/usr/bin/python3
"""fixtures.py - t/t4300's fixtures: for each default model, one input (a
held-out scene prepared as imgprep prepares it) and the outputs PyTorch
computes from the trained weights.

    /usr/bin/python3 contrib/train/fixtures.py WEIGHTS_DIR t/data/models
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_deepbit as TD  # noqa: E402
import train_dedup as TDD  # noqa: E402
import train_ssd as TS  # noqa: E402


def main():
    w, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(4300)
    imgs, labs = C.load_fmnist("t10k")
    img, box = C.scene(rng, imgs, 17, 300, 400)
    net = TS.load(w)
    x = C.prep(img, C.IMG, C.IMG)[None]
    x.astype("<f4").tofile(os.path.join(out, "ssd.in.f32"))
    with torch.no_grad():
        loc, conf = net(torch.from_numpy(x), export=True)
    loc.numpy().astype("<f4").tofile(os.path.join(out, "ssd.loc.f32"))
    conf.numpy().astype("<f4").tofile(os.path.join(out, "ssd.conf.f32"))
    crop = np.ascontiguousarray(img[box[1]:box[3], box[0]:box[2]])
    xc = C.prep(crop, 32, 32, gray=True)[None]
    for bits, name in ((64, "deepbit"), (32, "deepbit32")):
        cd = TD.Coder(TD.Net(), np.zeros((bits, 256), np.float32), np.zeros(bits, np.float32))
        cd.load_state_dict(torch.load(os.path.join(w, "deepbit%d.pt" % bits)))
        cd.eval()
        xc.astype("<f4").tofile(os.path.join(out, name + ".in.f32"))
        with torch.no_grad():
            cd(torch.from_numpy(xc)).numpy().astype("<f4").tofile(os.path.join(out, name + ".code.f32"))
    xd = C.prep(crop, TDD.S, TDD.S)[None]
    cd = TDD.Coder(TDD.Net(), np.zeros((128, 256), np.float32), np.zeros(128, np.float32))
    cd.load_state_dict(torch.load(os.path.join(w, "dedup128.pt")))
    cd.eval()
    xd.astype("<f4").tofile(os.path.join(out, "dedup.in.f32"))
    with torch.no_grad():
        cd(torch.from_numpy(xd)).numpy().astype("<f4").tofile(os.path.join(out, "dedup.code.f32"))
    print("fixtures: wrote %s" % out)


if __name__ == "__main__":
    main()
