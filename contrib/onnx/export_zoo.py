#!/usr/bin/python3
"""export_zoo.py - torchvision's classification models, exported to ONNX
as a user would, imported with featmodel and compared with PyTorch.

    /usr/bin/python3 contrib/onnx/export_zoo.py [-o DIR] [--opset 13,11]
        [--featmodel build/bin/featmodel] [MODEL...]

Each model is built with random weights (torch.manual_seed(0); batch norm
statistics drawn at random too, so that folding them is exercised, and
ViT's zero-initialised head given random weights), put
in eval mode and exported with torch.onnx.export at each opset for the
smallest input it takes (64x64 unless noted in SIZES).  The script then
runs `featmodel import` and `featmodel run` on each export and compares
the output with PyTorch's: max |featkit - torch| <= 1e-4 * max |torch|.
One line per model and opset: ok (with the error), refused (featmodel's
reason) or wrong; a summary at the end.  Needs torch and torchvision
(python3-torch, python3-torchvision); nothing is downloaded.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision.models as tvm

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
    for mod in m.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
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


def check(name, outdir, opset, featmodel):
    base = os.path.join(outdir, name)
    fm = "%s.%d.fm" % (base, opset)
    r = subprocess.run([featmodel, "import", "-o", fm, "%s.%d.onnx" % (base, opset)],
                       capture_output=True, text=True)
    if r.returncode:
        return "refused", r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "exit %d" % r.returncode
    pre = "%s.%d.run" % (base, opset)
    r = subprocess.run([featmodel, "run", fm, base + ".in.f32", pre], capture_output=True, text=True)
    if r.returncode:
        return "failed", r.stderr.strip()
    outs = [f for f in os.listdir(outdir) if f.startswith(os.path.basename(pre) + ".")]
    if len(outs) != 1:
        return "failed", "outputs: %s" % outs
    got = np.fromfile(os.path.join(outdir, outs[0]), "<f4").astype(np.float64)
    os.unlink(os.path.join(outdir, outs[0]))
    want = np.fromfile(base + ".out.f32", "<f4").astype(np.float64)
    if got.shape != want.shape:
        return "wrong", "%d values, PyTorch %d" % (got.size, want.size)
    err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)
    return ("ok" if err <= 1e-4 else "wrong"), "max relative error %.2g" % err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", default="zoo")
    ap.add_argument("--opset", default="13,11")
    ap.add_argument("--featmodel", default="build/bin/featmodel")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.o, exist_ok=True)
    opsets = [int(v) for v in a.opset.split(",")]
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
            st, why = check(name, a.o, o, a.featmodel)
            print("%-20s opset %d: %s: %s" % (name, o, st, why), flush=True)
            if st == "ok":
                ok[o].append(name)
    n = len(a.models or MODELS)
    for o in opsets:
        print("opset %d: %d of %d import and match: %s" % (o, len(ok[o]), n, " ".join(ok[o])))


if __name__ == "__main__":
    main()
