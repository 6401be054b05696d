#!/usr/bin/python3
"""onnxfixtures.py - small PyTorch models exported with torch.onnx.export
(opset 13), with an input and PyTorch's output, for the ONNX importer's
conformance test (t/t4100-import-onnx.sh).

    /usr/bin/python3 contrib/onnxfixtures.py t/data/onnx

Each NAME gets NAME.onnx, NAME.in.f32 and NAME.out.f32 (raw float32).
The models cover what exporters emit for featkit's layers: batch norm
folded or not, ReLU/ReLU6 (Clip)/LeakyReLU, max pooling with ceil_mode,
adaptive average pooling to 1 (GlobalAveragePool), depthwise and dilated
convolution, Dropout in eval mode, x.view(x.size(0), -1) (the Shape,
Gather, Unsqueeze, Concat, Reshape chain), flatten, permute, concat,
softmax over the last axis, residual add, Linear; and SSD's L2
normalisation with a learned per-channel scale as PyTorch writes it, both
through F.normalize (ReduceL2, Clip, Shape, Expand, Div) and by hand
(Pow, ReduceSum, Sqrt, Add, Div), plus ONNX's own LpNormalization, and
both again with an eps near the norms (max(norm, eps) against norm + eps).
Broadcasting: Add/Mul by [C, 1, 1], [1, C, 1, 1], 0-d and [F] (after
flatten) constants; [C] and [C, 1] on a 4-D value, an invalid [4, 1], and
opset 6's axis=1 and axis=2 (onnx.helper, numpy reference), for the
importer to run or refuse.  ONNX Runtime runs nothing before opset 7, so
axis6 has no NAME.ort.f32.  bcastw, bcasth and axis6h get their inputs and
numpy references from contrib/onnx/opgraphs.py (run it after this).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(8, 8, 3, groups=8, padding=1), nn.ReLU6(),
            nn.Conv2d(8, 16, 1), nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(1), nn.Dropout(0.5))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = self.f(x)
        y = y.view(y.size(0), -1)
        return torch.sigmoid(self.fc(y))


class Head(nn.Module):
    """SSD-like: two feature maps, loc and conf heads, permute, flatten,
    concat, reshape and softmax over classes; a residual add."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(4, 8, 3, padding=2, dilation=2)
        self.b = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.r = nn.Conv2d(8, 8, 1)
        self.loc = nn.ModuleList([nn.Conv2d(8, 2 * 4, 3, padding=1) for _ in range(2)])
        self.conf = nn.ModuleList([nn.Conv2d(8, 2 * 5, 3, padding=1) for _ in range(2)])

    def forward(self, x):
        a = torch.relu(self.a(x))
        a = a + self.r(a)
        b = torch.relu(self.b(a))
        loc = torch.cat([l(f).permute(0, 2, 3, 1).flatten(1) for l, f in zip(self.loc, (a, b))], 1)
        conf = torch.cat([c(f).permute(0, 2, 3, 1).flatten(1) for c, f in zip(self.conf, (a, b))], 1)
        conf = torch.softmax(conf.view(conf.size(0), -1, 5), dim=-1)
        return torch.cat([loc, conf.flatten(1)], 1)


def export(model, shape, name, out):
    torch.manual_seed(1)
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.rand(shape)
    torch.onnx.export(model, x, os.path.join(out, name + ".onnx"), opset_version=13)
    x.numpy().astype("<f4").tofile(os.path.join(out, name + ".in.f32"))
    model(x).detach().numpy().astype("<f4").tofile(os.path.join(out, name + ".out.f32"))


class L2Normalize(nn.Module):
    """conv4_3_norm the F.normalize way: ReduceL2, Clip, Expand, Div, Mul."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.w = nn.Parameter(torch.rand(8) * 20)

    def forward(self, x):
        y = torch.relu(self.c(x))
        return F.normalize(y, dim=1) * self.w.view(1, -1, 1, 1)


class L2ByHand(L2Normalize):
    """conv4_3_norm written out: Pow, ReduceSum, Sqrt, Add(eps), Div, Mul."""

    def forward(self, x):
        y = torch.relu(self.c(x))
        n = y.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10
        return y / n * self.w.view(1, -1, 1, 1)


def lpnorm(out):
    """ONNX's LpNormalization(p=2, axis=1), which PyTorch does not write:
    made with onnx.helper, its reference computed in numpy."""
    import numpy as np
    from onnx import TensorProto, helper
    node = helper.make_node("LpNormalization", ["x"], ["y"], axis=1, p=2)
    g = helper.make_graph([node], "lpnorm",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 4, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 4, 5])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    open(os.path.join(out, "lpnorm.onnx"), "wb").write(m.SerializeToString())
    x = np.random.default_rng(3).uniform(-1, 1, (1, 6, 4, 5)).astype("<f4")
    x.tofile(os.path.join(out, "lpnorm.in.f32"))
    (x / np.sqrt((x.astype(np.float64) ** 2).sum(1, keepdims=True))).astype("<f4").tofile(
        os.path.join(out, "lpnorm.out.f32"))


class L2BigEps(L2Normalize):
    """F.normalize with an eps near the norms: x / max(norm, eps)."""

    def forward(self, x):
        y = torch.relu(self.c(x))
        return F.normalize(y, dim=1, eps=0.7) * self.w.view(1, -1, 1, 1)


class L2ByHandBigEps(L2Normalize):
    """x / (norm + eps) with an eps near the norms."""

    def forward(self, x):
        y = torch.relu(self.c(x))
        return y / (y.pow(2).sum(dim=1, keepdim=True).sqrt() + 0.7) * self.w.view(1, -1, 1, 1)


class BcastChan(nn.Module):
    """Add and Mul by constants ONNX broadcasts per channel: [C, 1, 1],
    [1, C, 1, 1], scalars (0-d), and [F] on a flattened (2-D) value."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.register_buffer("a", torch.rand(4, 1, 1) + 0.5)
        self.register_buffer("b", torch.rand(1, 4, 1, 1) - 0.5)
        self.register_buffer("f", torch.rand(80) - 0.5)

    def forward(self, x):
        y = (self.c(x) * self.a + self.b) * 0.5 + 0.25
        return y.flatten(1) * self.f + self.f


class BcastW(nn.Module):
    """A [C] constant on a 4-D value: ONNX (and PyTorch) broadcast it
    along W, not over channels (here C == W, so it is valid)."""

    def __init__(self, shape):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.register_buffer("a", torch.rand(shape) + 0.5)

    def forward(self, x):
        return self.c(x) * self.a


def onnx_graph(out, name, opset, nodes, consts, x, y_shape, ref=None):
    """A one-input graph made with onnx.helper; ref(x) in numpy, if given,
    is the reference output."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
                          [numpy_helper.from_array(np.asarray(v, "<f4"), k) for k, v in consts.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    open(os.path.join(out, name + ".onnx"), "wb").write(m.SerializeToString())
    if ref:
        x.astype("<f4").tofile(os.path.join(out, name + ".in.f32"))
        ref(x.astype(np.float64)).astype("<f4").tofile(os.path.join(out, name + ".out.f32"))


def bcast_graphs(out):
    """Broadcasts written with onnx.helper: the opset-6 `axis` attribute
    (per channel with axis=1; along H with axis=2, refused) and an invalid
    broadcast ([4, 1] against [1, 4, 3, 5]), refused."""
    import numpy as np
    from onnx import helper
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (1, 4, 3, 5))
    a, b = rng.uniform(0.5, 1.5, 4), rng.uniform(-0.5, 0.5, 4)
    onnx_graph(out, "axis6", 6,
               [helper.make_node("Mul", ["x", "a"], ["t"], broadcast=1, axis=1),
                helper.make_node("Add", ["t", "b"], ["y"], broadcast=1, axis=1)],
               {"a": a, "b": b}, x, [1, 4, 3, 5],
               lambda v: v * a.reshape(4, 1, 1) + b.reshape(4, 1, 1))
    onnx_graph(out, "axis6h", 6,
               [helper.make_node("Mul", ["x", "a"], ["y"], broadcast=1, axis=2)],
               {"a": a[:3]}, x, [1, 4, 3, 5])
    onnx_graph(out, "bcastbad", 13, [helper.make_node("Mul", ["x", "a"], ["y"])],
               {"a": a.reshape(4, 1)}, x, [1, 4, 3, 5])


class Unsupported(nn.Module):
    """An operator featkit does not run (Tanh): the importer must name it."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.tanh(self.c(x))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "t/data/onnx"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    export(Small(), (1, 3, 20, 17), "small", out)
    torch.manual_seed(0)
    export(Head(), (1, 4, 12, 10), "head", out)
    torch.manual_seed(0)
    export(L2Normalize(), (1, 3, 9, 7), "l2normalize", out)
    torch.manual_seed(0)
    export(L2ByHand(), (1, 3, 9, 7), "l2byhand", out)
    lpnorm(out)
    torch.manual_seed(0)
    export(L2BigEps(), (1, 3, 9, 7), "l2bigeps", out)
    torch.manual_seed(0)
    export(L2ByHandBigEps(), (1, 3, 9, 7), "l2byhandbigeps", out)
    torch.manual_seed(0)
    export(BcastChan(), (1, 3, 4, 5), "bcastchan", out)
    for name, shape in (("bcastw", (4,)), ("bcasth", (4, 1))):
        torch.manual_seed(0)
        export(BcastW(shape), (1, 3, 4, 4), name, out)
        os.remove(os.path.join(out, name + ".in.f32"))
        os.remove(os.path.join(out, name + ".out.f32"))
    bcast_graphs(out)
    torch.manual_seed(0)
    export(Unsupported(), (1, 3, 8, 8), "unsupported", out)
    os.remove(os.path.join(out, "unsupported.in.f32"))
    os.remove(os.path.join(out, "unsupported.out.f32"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
