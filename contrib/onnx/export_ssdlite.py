#!/usr/bin/python3
"""export_ssdlite.py - torchvision's ssdlite320_mobilenet_v3_large, its
backbone and SSDLite head exported to ONNX as a user would, imported with
featmodel and compared with PyTorch.

    /usr/bin/python3 contrib/onnx/export_ssdlite.py [-o DIR] [--opset 11,13,17]
        [--featmodel build/bin/featmodel]

The detector is built with weights=None, weights_backbone=None (so the
reduced tail, as torchvision does without a pretrained backbone), random
weights (torch.manual_seed(0)) and random batch norm statistics, as
export_zoo.py does for the classification models.  What is exported is the
network: the input normalisation ((x - 0.5) / 0.5, torchvision's
image_mean and image_std), the backbone (MobileNetV3-Large cut at C4's
expansion, and the four extra blocks) and the SSDLite head, whose two
outputs are the raw bbox_regression [N, 3234, 4] and cls_logits
[N, 3234, 91].  Resizing, anchor decoding and NMS are torchvision's Python
post-processing and are not part of the graph.  The input is 320x320.

Each opset's export goes through `featmodel import` and `featmodel run`; each
output must match PyTorch's within max |featkit - torch| <= 1e-4 *
max |torch|.  One line per opset and a summary at the end.  Needs torch and
torchvision (python3-torch, python3-torchvision); nothing is downloaded.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch
from torchvision.models.detection import ssdlite320_mobilenet_v3_large

OUTS = ["bbox_regression", "cls_logits"]


class Raw(torch.nn.Module):
    """The detector's network, up to the head's raw outputs."""

    def __init__(self, det):
        super().__init__()
        self.backbone = det.backbone
        self.head = det.head
        self.register_buffer("mean", torch.tensor(det.transform.image_mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(det.transform.image_std).view(1, 3, 1, 1))

    def forward(self, x):
        f = list(self.backbone((x - self.mean) / self.std).values())
        h = self.head(f)
        return h["bbox_regression"], h["cls_logits"]


def build():
    torch.manual_seed(0)
    det = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
    for mod in det.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
    return Raw(det.eval()).eval()


def export(outdir, opsets):
    m = build()
    torch.manual_seed(1)
    x = torch.rand(1, 3, 320, 320)
    with torch.no_grad():
        ys = m(x)
    x.numpy().astype("<f4").tofile(os.path.join(outdir, "ssdlite.in.f32"))
    for n, y in zip(OUTS, ys):
        y.numpy().astype("<f4").tofile(os.path.join(outdir, "ssdlite.%s.f32" % n))
    for o in opsets:
        torch.onnx.export(m, x, os.path.join(outdir, "ssdlite.%d.onnx" % o),
                          opset_version=o, do_constant_folding=True,
                          input_names=["image"], output_names=OUTS)


def check(outdir, opset, featmodel):
    base = os.path.join(outdir, "ssdlite")
    fm = "%s.%d.fm" % (base, opset)
    r = subprocess.run([featmodel, "import", "-o", fm, "%s.%d.onnx" % (base, opset)],
                       capture_output=True, text=True)
    if r.returncode:
        return "refused", r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "exit %d" % r.returncode
    pre = "%s.%d.run" % (base, opset)
    r = subprocess.run([featmodel, "run", fm, base + ".in.f32", pre], capture_output=True, text=True)
    if r.returncode:
        return "failed", r.stderr.strip()
    errs = []
    for n in OUTS:
        f = "%s.%s.f32" % (pre, n)
        if not os.path.exists(f):
            return "failed", "no output %s (%s)" % (n, os.listdir(outdir))
        got = np.fromfile(f, "<f4").astype(np.float64)
        os.unlink(f)
        want = np.fromfile("%s.%s.f32" % (base, n), "<f4").astype(np.float64)
        if got.shape != want.shape:
            return "wrong", "%s: %d values, PyTorch %d" % (n, got.size, want.size)
        errs.append(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
    st = "ok" if max(errs) <= 1e-4 else "wrong"
    return st, "max relative error %s" % ", ".join("%s %.2g" % (n, e) for n, e in zip(OUTS, errs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", default="zoo")
    ap.add_argument("--opset", default="11,13,17")
    ap.add_argument("--featmodel", default="build/bin/featmodel")
    ap.add_argument("--no-export", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.o, exist_ok=True)
    opsets = [int(v) for v in a.opset.split(",")]
    if not a.no_export:
        export(a.o, opsets)
    ok = []
    for o in opsets:
        st, why = check(a.o, o, a.featmodel)
        print("ssdlite320_mobilenet_v3_large opset %d: %s: %s" % (o, st, why), flush=True)
        if st == "ok":
            ok.append(str(o))
    print("ssdlite320_mobilenet_v3_large: %d of %d opsets import and match: %s"
          % (len(ok), len(opsets), " ".join(ok)))
    return 0 if len(ok) == len(opsets) else 1


if __name__ == "__main__":
    sys.exit(main())
