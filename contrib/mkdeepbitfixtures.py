#!/usr/bin/python3
"""mkdeepbitfixtures.py - regenerate t/data/deepbit/, the fixtures of
deepbit-extract's tests (t/t5200-deepbit-extract.sh).

Two small DeepBit-shaped PyTorch networks (convolutions, pooling, fully
connected layers, K sigmoid units at the end), exported with
torch.onnx.export as a user would, and PyTorch's own outputs for a
stream of images:

  db.onnx        3 x 12 x 16 input (H x W not square), K = 24 bits
  gray.onnx      1 x 10 x 10 input, K = 16 bits
  in.fs          records whose `image` already has the network's size
                 (so that imgprep's stretch is the identity and the
                 reference needs no resize): 7 for db, then an error
                 record and a record without image
  gray.fs        3 records for gray.onnx
  db.feat.f32    the sigmoid activations PyTorch computes for the ok
                 records of in.fs prepared for db.onnx (BGR, mean 10,20,30,
                 scale 0.02; see t5200), in order, float32
  db.code        the codes, bit i = activation i > 0.5, one hex line each
  gray.feat.f32, gray.code   the same for gray.onnx (gray order,
                 y = 0.299 R + 0.587 G + 0.114 B, mean 120, scale 0.05)

No activation is within 1e-3 of 0.5 (the script checks), so that the
codes do not depend on rounding.

Usage: contrib/mkdeepbitfixtures.py [OUTDIR]   (default t/data/deepbit)
"""
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkprepfixtures import frame, stream  # noqa: E402  (featstream writer)

torch.set_num_threads(1)


class DeepBit(nn.Module):
    def __init__(self, c, h, w, k):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv2d(c, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(16 * (h // 4) * (w // 4), 32),
                                nn.ReLU(), nn.Linear(32, k))
        with torch.no_grad():   # spread the activations away from 0.5
            self.fc[3].weight.mul_(8)
            self.fc[3].bias.mul_(8)

    def forward(self, x):
        return torch.sigmoid(self.fc(self.f(x)))


def make(name, c, h, w, k, seed, out):
    torch.manual_seed(seed)
    m = DeepBit(c, h, w, k)
    m.eval()
    torch.onnx.export(m, torch.zeros(1, c, h, w), os.path.join(out, name + ".onnx"),
                      opset_version=13, input_names=["data"], output_names=["code"])
    return m


def prepare(img, order, mean, scale):
    x = img.astype(np.float64)
    if order == "gray":
        x = (0.299 * x[:, :, 0] + 0.587 * x[:, :, 1] + 0.114 * x[:, :, 2])[:, :, None]
    elif order == "bgr":
        x = x[:, :, ::-1]
    x = (x - np.array(mean)) * np.array(scale)
    return np.ascontiguousarray(x.transpose(2, 0, 1)).astype(np.float32)


def reference(m, imgs, order, mean, scale):
    x = torch.from_numpy(np.stack([prepare(i, order, mean, scale) for i in imgs]))
    with torch.no_grad():
        y = m(x).numpy().astype(np.float32)
    return y


def write_ref(out, name, y):
    if np.min(np.abs(y - 0.5)) < 1e-3:
        sys.exit("mkdeepbitfixtures: %s: an activation within 1e-3 of 0.5; change the seed" % name)
    y.astype("<f4").tofile(os.path.join(out, name + ".feat.f32"))
    with open(os.path.join(out, name + ".code"), "w") as f:
        for row in y:
            bits = [1 if v > 0.5 else 0 for v in row]
            b = bytearray((len(bits) + 7) // 8)
            for i, bit in enumerate(bits):
                if bit:
                    b[i // 8] |= 0x80 >> (i % 8)
            f.write(b.hex() + "\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "t/data/deepbit"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261122)
    db = make("db", 3, 12, 16, 24, 5, out)
    gray = make("gray", 1, 10, 10, 16, 6, out)
    dbi = [rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8) for _ in range(7)]
    gri = [rng.integers(0, 256, size=(10, 10, 3), dtype=np.uint8) for _ in range(3)]

    def rec(key, im):
        return frame(key, [("image", 1, im.shape, im.tobytes()),
                           ("origsize", 4, (2,), struct.pack("<2i", im.shape[1], im.shape[0]))])

    recs = [rec("db-%d.jpg" % i, im) for i, im in enumerate(dbi)]
    recs.append(frame("failed.jpg", [("origsize", 4, (2,), struct.pack("<2i", 1, 1))],
                      status=1, msg="corrupt JPEG data: premature end of data segment"))
    recs.append(frame("no-image", [("origsize", 4, (2,), struct.pack("<2i", 1, 1))]))
    with open(os.path.join(out, "in.fs"), "wb") as f:
        f.write(stream(recs))
    with open(os.path.join(out, "gray.fs"), "wb") as f:
        f.write(stream([rec("gray-%d.png" % i, im) for i, im in enumerate(gri)]))
    write_ref(out, "db", reference(db, dbi, "bgr", [10, 20, 30], [0.02] * 3))
    write_ref(out, "gray", reference(gray, gri, "gray", [120], [0.05]))


if __name__ == "__main__":
    main()
