#!/usr/bin/python3
"""mkqnet.py - tiny networks at the edges of int8 quantisation, for
t4600-featmodel-quantize.sh.

Usage: mkqnet.py DIR

Writes into DIR:
  tiny.fm     conv c1 (4 -> 4, weights 1e-30) then conv c2 (4 -> 2): c2's
              input is about 1e-30, under any step a model may carry
  tiny.json   its calibration records (mkstream.py), inputs of 1
  relu.fm     a relu carrying quant u8s8 (scale -5, zero 77): not a
              layer that is quantised
  intstep.fm  conv c (4 -> 2) with quant u8s8 and an integer quant.scale 2
  long.fm     conv c over 16576 channels, 2x2 (a column of 66304 > the
              int8 products' 66300) with quant u8s8: it runs fp32
  long.json   one calibration record for long.fm's input
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib"))
from featmodel import ModelWriter  # noqa: E402


def net(shape):
    w = ModelWriter()
    w.meta("graph.inputs", ["data"])
    w.meta("graph.outputs", ["out"])
    w.meta("input.shape", list(shape))
    return w


def main():
    d = sys.argv[1]
    w = net((4, 1, 1))
    a = w.tensor("a", np.full((4, 4, 1, 1), 1e-30, np.float32))
    b = w.tensor("b", np.full((2, 4, 1, 1), 0.25, np.float32))
    w.layer("conv", "c1", ["data"], ["h"], {"kernel": [1, 1]}, [a])
    w.layer("conv", "c2", ["h"], ["out"], {"kernel": [1, 1]}, [b])
    w.write(os.path.join(d, "tiny.fm"))
    recs = [{"key": "r%d" % i, "tensors": [{"name": "input", "dtype": "f32", "shape": [4, 1, 1],
                                            "values": [1, 1, 1, 1]}]} for i in range(2)]
    with open(os.path.join(d, "tiny.json"), "w") as f:
        json.dump(recs, f)

    w = net((4, 1, 1))
    a = w.tensor("a", np.eye(4, dtype=np.float32).reshape(4, 4, 1, 1))
    w.layer("conv", "c1", ["data"], ["h"], {"kernel": [1, 1]}, [a])
    w.layer("relu", "r1", ["h"], ["out"], {"quant": "u8s8", "quant.scale": -5.0, "quant.zero": 77})
    w.write(os.path.join(d, "relu.fm"))

    w = net((4, 1, 1))
    b = w.tensor("b", np.full((2, 4, 1, 1), 0.25, np.float32))
    w.layer("conv", "c", ["data"], ["out"], {"kernel": [1, 1], "quant": "u8s8", "quant.scale": 2,
                                             "quant.zero": 0}, [b])
    w.write(os.path.join(d, "intstep.fm"))

    C = 16576
    w = net((C, 2, 2))
    b = w.tensor("b", np.random.default_rng(2).uniform(-1, 1, (2, C, 2, 2)).astype(np.float32))
    w.layer("conv", "c", ["data"], ["out"], {"kernel": [2, 2], "quant": "u8s8", "quant.scale": 0.5,
                                             "quant.zero": 128}, [b])
    w.write(os.path.join(d, "long.fm"))
    x = np.random.default_rng(3).uniform(-1, 1, C * 4).astype(np.float32)
    with open(os.path.join(d, "long.json"), "w") as f:
        json.dump([{"key": "x", "tensors": [{"name": "input", "dtype": "f32", "shape": [C, 2, 2],
                                             "values": [float(v) for v in x]}]}], f)


if __name__ == "__main__":
    main()
