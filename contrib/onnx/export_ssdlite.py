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
import os
import sys

import torch
from torchvision.models.detection import ssdlite320_mobilenet_v3_large

from zoocheck import arguments, check, random_bn

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
    random_bn(det)
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


def main():
    a = arguments("11,13,17")
    opsets = a.opsets
    if not a.no_export:
        export(a.o, opsets)
    ok = []
    for o in opsets:
        st, why = check(a.o, "ssdlite", o, a.featmodel, OUTS)
        print("ssdlite320_mobilenet_v3_large opset %d: %s: %s" % (o, st, why), flush=True)
        if st == "ok":
            ok.append(str(o))
    print("ssdlite320_mobilenet_v3_large: %d of %d opsets import and match: %s"
          % (len(ok), len(opsets), " ".join(ok)))
    return 0 if len(ok) == len(opsets) else 1


if __name__ == "__main__":
    sys.exit(main())
