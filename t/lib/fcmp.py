#!/usr/bin/python3
"""fcmp.py - compare two raw little-endian float32 files within a tolerance.

    fcmp.py [--tol T] GOT EXPECTED

Passes when both hold the same number of values and
max |got - expected| <= T * max |expected| (T = 1e-4 by default): a
relative error measured against the output's scale, which suits network
outputs whose small values carry no meaning of their own.  Prints the
error either way; exits 1 on failure or a size mismatch.
"""
import sys

import numpy as np

args = sys.argv[1:]
tol = 1e-4
if args and args[0] == "--tol":
    tol = float(args[1])
    args = args[2:]
got, want = (np.fromfile(p, "<f4").astype(np.float64) for p in args)
if got.shape != want.shape:
    print("fcmp: %s has %d values, %s has %d" % (args[0], got.size, args[1], want.size))
    sys.exit(1)
if not np.all(np.isfinite(got)):
    print("fcmp: %s holds NaN or infinity" % args[0])
    sys.exit(1)
scale = max(np.abs(want).max() if want.size else 0, 1e-30)
err = np.abs(got - want).max() / scale if want.size else 0.0
nmse = float(((got - want) ** 2).sum() / max((want ** 2).sum(), 1e-30))
print("fcmp: %s: max relative error %.3g (tolerance %.3g), NMSE %.3g" % (args[0], err, tol, nmse))
sys.exit(0 if err <= tol else 1)
