"""zoocheck.py - what export_zoo.py and export_ssdlite.py (and
zoofixtures.py's batch norms) share: random batch norm statistics, the
command line, and the check of one export through `featmodel import` and
`featmodel run` against PyTorch's output (max |featkit - torch| <=
1e-4 * max |torch| for each output).  Imported from the scripts beside it.
"""
import argparse
import os
import subprocess

import numpy as np
import torch

TOLERANCE = 1e-4


def random_bn(model):
    """Draw every batch norm's running statistics at random (from the
    current torch seed), so that folding them into the convolution is
    exercised."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)


def arguments(opsets, models=False):
    """The scripts' options: -o DIR, --opset LIST (default opsets),
    --featmodel PATH, --no-export, and MODEL... when models is true.
    Returns the parsed arguments with a.opsets the list of ints, after
    making DIR and setting torch to one thread."""
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", default="zoo")
    ap.add_argument("--opset", default=opsets)
    ap.add_argument("--featmodel", default="build/bin/featmodel")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--ort", metavar="DIR",
                    help="also compare with ONNX Runtime: DIR holds node_modules/"
                    "onnxruntime-node (make bench installs it in build/bench/ort)")
    if models:
        ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.o, exist_ok=True)
    a.opsets = [int(v) for v in a.opset.split(",")]
    return a


def ort_output(ort, onnx, inp, out):
    """ONNX Runtime's first output of onnx on inp, into out (ortrun.js);
    None, or the reason it failed."""
    env = dict(os.environ, NODE_PATH=os.path.join(ort, "node_modules"))
    r = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ortrun.js"),
                        onnx, inp, out], capture_output=True, text=True, env=env)
    return r.stderr.strip() or "exit %d" % r.returncode if r.returncode else None


def check(outdir, name, opset, featmodel, outs=None, ort=None):
    """Import DIR/NAME.OPSET.onnx, run it on DIR/NAME.in.f32 and compare:
    with outs (output names), each DIR/NAME.RUN.OUT.f32 with
    DIR/NAME.OUT.f32; without, the one output with DIR/NAME.out.f32, and
    with ONNX Runtime's output when ort (its directory) is given.
    Returns (status, detail): ok, refused, failed or wrong."""
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
    if outs is None:
        got = [f for f in os.listdir(outdir) if f.startswith(os.path.basename(pre) + ".")]
        if len(got) != 1:
            return "failed", "outputs: %s" % got
        pairs = [(None, os.path.join(outdir, got[0]), base + ".out.f32")]
        if ort:
            ref = "%s.%d.ort.f32" % (base, opset)
            why = ort_output(ort, "%s.%d.onnx" % (base, opset), base + ".in.f32", ref)
            if why:
                return "failed", "ONNX Runtime: " + why
            pairs.append(("ONNX Runtime", pairs[0][1], ref))
    else:
        pairs = [(n, "%s.%s.f32" % (pre, n), "%s.%s.f32" % (base, n)) for n in outs]
    errs = []
    for n, f, ref in pairs:
        if not os.path.exists(f):
            return "failed", "no output %s (%s)" % (n, os.listdir(outdir))
        got = np.fromfile(f, "<f4").astype(np.float64)
        want = np.fromfile(ref, "<f4").astype(np.float64)
        if got.shape != want.shape:
            who = n if n and not outs else "PyTorch"
            return "wrong", "%s%d values, %s %d" % (n + ": " if outs else "", got.size, who,
                                                    want.size)
        errs.append(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
    for f in set(f for _, f, _ in pairs):
        os.unlink(f)
    st = "ok" if max(errs) <= TOLERANCE else "wrong"
    if outs is None:
        return st, "max relative error %.2g%s" % (
            errs[0], ", against ONNX Runtime %.2g" % errs[1] if len(errs) > 1 else "")
    return st, "max relative error %s" % ", ".join("%s %.2g" % (n, e) for n, e in zip(outs, errs))
