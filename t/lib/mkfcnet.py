#!/usr/bin/python3
"""mkfcnet.py - write a small network whose first inner product is large
enough for featmodel quantize to make int8 or bf16 (3072 x 512 weights,
over FEAT_QFC_MIN_WEIGHTS), for t/t4620: an RGB 32x32 photo (input.*
metadata, so imgprep -m prepares it), fc 512 + ReLU, fc 64 + sigmoid.
Seeded numpy weights.

Usage: mkfcnet.py OUT.fm
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "contrib"))
from featmodel import ModelWriter  # noqa: E402


def main(out):
    rng = np.random.default_rng(4620)
    w = ModelWriter()
    for k, v in (("name", "fcnet"), ("graph.inputs", ["data"]), ("graph.outputs", ["out"]),
                 ("input.shape", [3, 32, 32]), ("input.order", "rgb"), ("input.fit", "stretch"),
                 ("input.mean", [127.5, 127.5, 127.5]), ("input.scale", [1 / 64.0] * 3)):
        w.meta(k, v)
    k1, n1, n2 = 3 * 32 * 32, 512, 64
    w1 = w.tensor("fc1.weight", (rng.uniform(-1, 1, (n1, k1)) * (3.0 / k1) ** 0.5).astype(np.float32))
    b1 = w.tensor("fc1.bias", rng.uniform(-0.1, 0.1, n1).astype(np.float32))
    w2 = w.tensor("fc2.weight", (rng.uniform(-1, 1, (n2, n1)) * (3.0 / n1) ** 0.5).astype(np.float32))
    b2 = w.tensor("fc2.bias", rng.uniform(-0.1, 0.1, n2).astype(np.float32))
    w.layer("fc", "fc1", ["data"], ["fc1"], {}, [w1, b1])
    w.layer("relu", "relu1", ["fc1"], ["fc1"])
    w.layer("fc", "fc2", ["fc1"], ["fc2"], {}, [w2, b2])
    w.layer("sigmoid", "out", ["fc2"], ["out"])
    w.write(out)


if __name__ == "__main__":
    main(sys.argv[1])
