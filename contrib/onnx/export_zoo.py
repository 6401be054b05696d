#!/usr/bin/python3
"""export_zoo.py - torchvision's classification models, exported to ONNX
as a user would, imported with featmodel and compared with PyTorch.

    /usr/bin/python3 contrib/onnx/export_zoo.py [-o DIR] [--opset 13,11]
        [--featmodel build/bin/featmodel] [--ort build/bench/ort] [MODEL...]

Each model is built with random weights (torch.manual_seed(0); batch norm
statistics drawn at random too, so that folding them is exercised, and
ViT's zero-initialised head given random weights), put
in eval mode and exported with torch.onnx.export at each opset for the
smallest input it takes (64x64 unless noted in SIZES).  The script then
runs `featmodel import` and `featmodel run` on each export and compares
the output with PyTorch's: max |featkit - torch| <= 1e-4 * max |torch|;
with --ort DIR (an npm install of onnxruntime-node, as make bench makes
in build/bench/ort) with ONNX Runtime's on the same export too
(contrib/onnx/ortrun.js).
One line per model and opset: ok (with the error), refused (featmodel's
reason) or wrong; a summary at the end.  Needs torch and torchvision
(python3-torch, python3-torchvision); nothing is downloaded.
"""
import os

import torch
import torchvision.models as tvm

from zoocheck import arguments, check, random_bn

MODELS = ["alexnet", "vgg16", "resnet18", "resnet50", "resnext50_32x4d",
          "wide_resnet50_2", "squeezenet1_0", "googlenet", "mobilenet_v2",
          "densenet121", "inception_v3", "mobilenet_v3_small",
          "mobilenet_v3_large", "shufflenet_v2_x1_0", "mnasnet1_0",
          "efficientnet_b0", "regnet_y_400mf", "convnext_tiny", "vit_b_16"]
# inputs the models need (adaptive pools to 6x6/7x7 of the classifier
# export as fixed pools only when the map divides; ViT's size is fixed)
SIZES = {"alexnet": 224, "vgg16": 224, "inception_v3": 75, "vit_b_16": 224}
KW = {"googlenet": dict(aux_logits=False, init_weights=True),
      "inception_v3": dict(aux_logits=False, init_weights=True)}


def build(name):
    torch.manual_seed(0)
    m = getattr(tvm, name)(weights=None, **KW.get(name, {}))
    random_bn(m)
    for mod in m.modules():
        # ViT's head starts at zero: its output would be 0 whatever the
        # network before it computed
        if isinstance(mod, torch.nn.Linear) and not mod.weight.any():
            torch.nn.init.normal_(mod.weight, std=0.02)
            torch.nn.init.normal_(mod.bias, std=0.02)
    return m.eval()


def export(name, outdir, opsets):
    m = build(name)
    s = SIZES.get(name, 64)
    torch.manual_seed(1)
    x = torch.rand(1, 3, s, s)
    with torch.no_grad():
        y = m(x)
    x.numpy().astype("<f4").tofile(os.path.join(outdir, name + ".in.f32"))
    y.numpy().astype("<f4").tofile(os.path.join(outdir, name + ".out.f32"))
    for o in opsets:
        torch.onnx.export(m, x, os.path.join(outdir, "%s.%d.onnx" % (name, o)),
                          opset_version=o, do_constant_folding=True)


def main():
    a = arguments("13,11", models=True)
    opsets = a.opsets
    ok = {o: [] for o in opsets}
    for name in a.models or MODELS:
        if not a.no_export:
            try:
                export(name, a.o, opsets)
            except Exception as e:  # the exporter's own refusal
                for o in opsets:
                    print("%-20s opset %d: export failed: %s" % (name, o, str(e).splitlines()[0]))
                continue
        for o in opsets:
            st, why = check(a.o, name, o, a.featmodel, ort=a.ort)
            print("%-20s opset %d: %s: %s" % (name, o, st, why), flush=True)
            if st == "ok":
                ok[o].append(name)
    n = len(a.models or MODELS)
    for o in opsets:
        print("opset %d: %d of %d import and match: %s" % (o, len(ok[o]), n, " ".join(ok[o])))


if __name__ == "__main__":
    main()
