#!/usr/bin/python3
"""export_bench.py - the torchvision 0.14 backbones of make bench, exported
to ONNX at opset 13 as a user would and imported with featmodel.

    /usr/bin/python3 contrib/onnx/export_bench.py OUTDIR [--featmodel PATH] [NAME...]

NAME is resnet50, efficientnet_b0, mobilenet_v3_large or vit_b_16 (default:
all four).  Each model is built with random weights as export_zoo.py builds
it (torch.manual_seed(0), random batch norm statistics), exported at 224x224
with batch 1 (OUTDIR/NAME.onnx) and batch 8 (OUTDIR/NAME.b8.onnx) for ONNX
Runtime, and imported from the batch-1 export into OUTDIR/NAME.fm
(featmodel bench -b 8 runs it at batch 8).  Nothing is downloaded.
"""
import argparse
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_zoo import build  # noqa: E402

NETS = ["resnet50", "efficientnet_b0", "mobilenet_v3_large", "vit_b_16"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("names", nargs="*")
    ap.add_argument("--featmodel", default="featmodel")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    for name in a.names or NETS:
        if name not in NETS:
            print("export_bench: unknown network %s" % name, file=sys.stderr)
            return 2
        m = build(name)
        base = os.path.join(a.outdir, name)
        for b, suffix in ((1, ""), (8, ".b8")):
            x = torch.rand(b, 3, 224, 224)
            torch.onnx.export(m, x, base + suffix + ".onnx", opset_version=13,
                              do_constant_folding=True)
        # with torchvision's preprocessing, as a user imports it (so that
        # imgprep -m prepares photos for it: featmodel quantize's calibration)
        subprocess.run([a.featmodel, "import", "-o", base + ".fm",
                        "--set", "input.order=rgb", "--set", "input.fit=stretch",
                        "--set", "input.mean=123.675,116.28,103.53",
                        "--set", "input.scale=0.01712,0.01751,0.01743", base + ".onnx"],
                       check=True)
        print("export_bench: wrote %s.fm" % base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
