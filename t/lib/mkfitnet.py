#!/usr/bin/python3
"""mkfitnet.py - tiny networks and streams at the edges of featmodel
fitcodes, for t4500-featmodel-fitcodes.sh.

Usage: mkfitnet.py DIR

Writes into DIR:
  tiny.fm    input 8 -> fc "feat" (1e-7 times the identity) -> fc "out":
             features of about 1e-7, where a sigmoid rounds small
             projections to exactly 0.5
  rank3.fm   input 8 -> fc "feat" of rank 3 (8 x 3 times 3 x 8, random):
             features that span 3 directions only
  big.fm     input 8 -> fc "feat" (1e30 times the identity): features
             too large for a float covariance
  x.json     40 records of 8 standard normal inputs (seed 1), for
             t/lib/mkstream.py
  x.f32      the same inputs, raw float32, 40 x 8
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib"))
from featmodel import ModelWriter  # noqa: E402


def net(path, w):
    m = ModelWriter()
    m.meta("graph.inputs", ["data"])
    m.meta("graph.outputs", ["out"])
    m.meta("input.shape", [8, 1, 1])
    wf = m.tensor("feat.weight", w.astype(np.float32))
    wo = m.tensor("out.weight", np.eye(2, 8, dtype=np.float32))
    m.layer("fc", "feat", ["data"], ["feat"], {}, [wf])
    m.layer("fc", "out", ["feat"], ["out"], {}, [wo])
    m.write(path)


def main():
    d = sys.argv[1]
    net(os.path.join(d, "tiny.fm"), 1e-7 * np.eye(8))
    r = np.random.default_rng(3)
    net(os.path.join(d, "rank3.fm"), r.standard_normal((8, 3)) @ r.standard_normal((3, 8)))
    net(os.path.join(d, "big.fm"), 1e30 * np.eye(8))
    x = np.random.default_rng(1).standard_normal((40, 8)).astype(np.float32)
    x.tofile(os.path.join(d, "x.f32"))
    with open(os.path.join(d, "x.json"), "w") as f:
        json.dump([{"key": "r%d" % i, "tensors": [{"name": "input", "dtype": "f32", "shape": [8, 1, 1],
                                                   "values": [float(v) for v in row]}]}
                   for i, row in enumerate(x)], f)


if __name__ == "__main__":
    main()
