"""netbuild.py - build networks layer by layer in PyTorch and write them
as featmodel files (and ONNX, for the peers featkit is measured against).

Each call both computes the op with torch.nn.functional on seeded random
weights (or weights given) and records the featkit layer that should
compute the same, so the outputs PyTorch gives are an independent
reference for featkit's engine.  Used by contrib/conformance.py (small
networks covering every layer and option) and contrib/refnets.py (the
reference networks of the benchmarks).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from featmodel import ModelWriter  # noqa: E402

torch.set_num_threads(1)


class Graph:
    """Records featmodel layers while PyTorch computes the same ops."""

    def __init__(self, name, shape, batch, seed):
        self.name = name
        self.g = torch.Generator().manual_seed(seed)
        self.w = ModelWriter()
        self.w.meta("name", name)
        self.w.meta("graph.inputs", ["data"])
        self.w.meta("input.shape", list(shape))
        self.x = torch.rand((batch,) + tuple(shape), generator=self.g) * 2 - 1
        self.n = 0
        self.outputs = []
        self.shape = tuple(shape)
        self.tensors, self.layers = [], []   # for the ONNX export

    def _name(self, kind):
        self.n += 1
        return "%s%d" % (kind, self.n)

    def rand(self, *shape, scale=1.0):
        return (torch.rand(shape, generator=self.g) * 2 - 1) * scale

    def input(self):
        return ("data", self.x)

    def _tensor(self, name, t):
        a = t.detach().numpy().astype(np.float32)
        self.tensors.append((name, a))
        return self.w.tensor(name, a)

    def _layer(self, type_, name, inputs, outputs, params=None, weights=()):
        self.layers.append((type_, name, list(inputs), list(outputs), dict(params or {}),
                            list(weights)))
        self.w.layer(type_, name, inputs, outputs, params, weights)

    def conv(self, x, cout, k, s=1, p=0, d=1, groups=1, bias=True, pad4=None):
        name = self._name("conv")
        cin = x[1].shape[1]
        kh, kw = (k, k) if isinstance(k, int) else k
        fan = cin // groups * kh * kw
        W = self.rand(cout, cin // groups, kh, kw, scale=(3.0 / fan) ** 0.5)
        B = self.rand(cout, scale=0.1) if bias else None
        params = {"kernel": [kh, kw], "stride": s if isinstance(s, int) else list(s),
                  "dilation": d, "group": groups}
        inp = x[1]
        if pad4 is not None:  # top, left, bottom, right
            params["pad"] = list(pad4)
            inp = F.pad(inp, (pad4[1], pad4[3], pad4[0], pad4[2]))
            y = F.conv2d(inp, W, B, stride=s, dilation=d, groups=groups)
        else:
            params["pad"] = p if isinstance(p, int) else list(p)
            y = F.conv2d(inp, W, B, stride=s, padding=p, dilation=d, groups=groups)
        ws = [self._tensor(name + ".weight", W)]
        if bias:
            ws.append(self._tensor(name + ".bias", B))
        self._layer("conv", name, [x[0]], [name], params, ws)
        return (name, y)

    def bn(self, x, eps=1e-5):
        name = self._name("bn")
        c = x[1].shape[1]
        mean, var = self.rand(c, scale=0.5), torch.rand(c, generator=self.g) + 0.5
        gamma, beta = self.rand(c) + 1.5, self.rand(c, scale=0.5)
        y = F.batch_norm(x[1], mean, var, gamma, beta, training=False, eps=eps)
        ws = [self._tensor(name + "." + k, t) for k, t in
              (("mean", mean), ("var", var), ("gamma", gamma), ("beta", beta))]
        self._layer("bn", name, [x[0]], [name], {"eps": eps}, ws)
        return (name, y)

    def scale(self, x, bias=True):
        name = self._name("scale")
        c = x[1].shape[1]
        g, b = self.rand(c) + 1.2, self.rand(c, scale=0.3)
        shape = (1, c) + (1,) * (x[1].dim() - 2)
        y = x[1] * g.reshape(shape) + (b.reshape(shape) if bias else 0)
        ws = [self._tensor(name + ".gamma", g)]
        if bias:
            ws.append(self._tensor(name + ".beta", b))
        self._layer("scale", name, [x[0]], [name], {}, ws)
        return (name, y)

    def act(self, x, kind, alpha=0.1, inplace=False):
        name = x[0] if inplace else self._name(kind)
        if kind == "relu":
            y, params = F.relu(x[1]), {}
        elif kind == "relu6":
            y, params = F.relu6(x[1]), {}
        elif kind == "leakyrelu":
            y, params = F.leaky_relu(x[1], alpha), {"alpha": alpha}
        elif kind == "sigmoid":
            y, params = torch.sigmoid(x[1]), {}
        self._layer(kind, self._name(kind) if inplace else name, [x[0]], [name], params)
        return (name, y)

    def pool(self, x, mode, k, s=1, p=0, ceil=False, exclude_pad=False, glob=False):
        name = self._name("pool")
        if glob:
            y = (F.adaptive_max_pool2d if mode == "max" else F.adaptive_avg_pool2d)(x[1], 1)
            params = {"mode": mode, "global": 1}
        else:
            if mode == "max":
                y = F.max_pool2d(x[1], k, s, p, ceil_mode=ceil)
            else:
                y = F.avg_pool2d(x[1], k, s, p, ceil_mode=ceil,
                                 count_include_pad=not exclude_pad)
            params = {"mode": mode, "kernel": k, "stride": s, "pad": p,
                      "ceil": int(ceil), "exclude_pad": int(exclude_pad)}
        self._layer("pool", name, [x[0]], [name], params)
        return (name, y)

    def fc(self, x, nout, bias=True):
        name = self._name("fc")
        flat = x[1].reshape(x[1].shape[0], -1)
        k = flat.shape[1]
        W = self.rand(nout, k, scale=(3.0 / k) ** 0.5)
        B = self.rand(nout, scale=0.1) if bias else None
        y = F.linear(flat, W, B)
        ws = [self._tensor(name + ".weight", W)]
        if bias:
            ws.append(self._tensor(name + ".bias", B))
        self._layer("fc", name, [x[0]], [name], {}, ws)
        return (name, y)

    def l2norm(self, x, shared=False, eps=1e-10):
        name = self._name("l2norm")
        c = x[1].shape[1]
        s = torch.rand(1 if shared else c, generator=self.g) * 20 + 5
        norm = torch.sqrt((x[1] ** 2).sum(1, keepdim=True) + eps)
        y = x[1] / norm * s.reshape(1, -1, 1, 1)
        self._layer("l2norm", name, [x[0]], [name], {"eps": eps},
                     [self._tensor(name + ".scale", s)])
        return (name, y)

    def permute(self, x, order):
        name = self._name("permute")
        self._layer("permute", name, [x[0]], [name], {"order": list(order)})
        return (name, x[1].permute(*order).contiguous())

    def flatten(self, x, axis=1):
        name = self._name("flatten")
        self._layer("flatten", name, [x[0]], [name], {"axis": axis})
        return (name, torch.flatten(x[1], axis))

    def reshape(self, x, shape):
        name = self._name("reshape")
        self._layer("reshape", name, [x[0]], [name], {"shape": list(shape)})
        tshape = [x[1].shape[i] if v == 0 else v for i, v in enumerate(shape)]
        return (name, x[1].reshape(tshape))

    def concat(self, xs, axis=1):
        name = self._name("concat")
        self._layer("concat", name, [x[0] for x in xs], [name], {"axis": axis})
        return (name, torch.cat([x[1] for x in xs], axis))

    def softmax(self, x, axis=1):
        name = self._name("softmax")
        self._layer("softmax", name, [x[0]], [name], {"axis": axis})
        return (name, F.softmax(x[1], axis))

    def add(self, xs):
        name = self._name("add")
        self._layer("add", name, [x[0] for x in xs], [name], {})
        y = xs[0][1]
        for x in xs[1:]:
            y = y + x[1]
        return (name, y)

    def output(self, *xs):
        self.outputs += xs

    def save(self, outdir):
        self.w.meta("graph.outputs", [x[0] for x in self.outputs])
        base = os.path.join(outdir, self.name)
        self.w.write(base + ".fm")
        self.x.numpy().astype("<f4").tofile(base + ".in.f32")
        for name, t in self.outputs:
            t.detach().numpy().astype("<f4").tofile("%s.out.%s.f32" % (base, name))

    def save_onnx(self, path, batch=1, opset=13):
        """The same network as ONNX (opset 13, or 12: ReduceSum's axes an
        attribute; Softmax then means a softmax over everything from its
        axis on, which is the same as ours when the axis is the last, as
        in the reference networks), for ONNX Runtime and other peers and
        for featmodel import.  In-place layers get fresh output names
        (ONNX is SSA)."""
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        nodes, inits = [], []
        rename = {"data": "data"}
        for name, a in self.tensors:
            inits.append(numpy_helper.from_array(a, name))
        tname = [t[0] for t in self.tensors]
        count = [0]

        def fresh(base):
            count[0] += 1
            return "%s__%d" % (base, count[0])

        def const(vals, dtype=np.int64):
            n = fresh("const")
            inits.append(numpy_helper.from_array(np.array(vals, dtype), n))
            return n

        def pair(v):
            return [v, v] if isinstance(v, int) else list(v)

        for type_, name, ins, outs, p, ws in self.layers:
            x = [rename[i] for i in ins]
            y = fresh(outs[0])
            w = [tname[i] for i in ws]
            if type_ == "conv":
                pad = p.get("pad", 0)
                pads = [pad[0], pad[1], pad[2], pad[3]] if isinstance(pad, list) and len(pad) == 4 \
                    else pair(pad) * 2
                nodes.append(helper.make_node(
                    "Conv", x + w, [y], kernel_shape=pair(p["kernel"]),
                    strides=pair(p.get("stride", 1)), dilations=pair(p.get("dilation", 1)),
                    group=p.get("group", 1), pads=pads))
            elif type_ == "bn":
                c = self_arr(self.tensors, ws[0]).shape[0]
                gamma = w[2] if len(w) > 2 else const(np.ones(c), np.float32)
                beta = w[3] if len(w) > 3 else const(np.zeros(c), np.float32)
                nodes.append(helper.make_node("BatchNormalization", [x[0], gamma, beta, w[0], w[1]],
                                              [y], epsilon=p.get("eps", 1e-5)))
            elif type_ == "scale":
                c = self_arr(self.tensors, ws[0]).shape[0]
                g = const(self_arr(self.tensors, ws[0]).reshape(c, 1, 1), np.float32)
                t = fresh("scaled")
                nodes.append(helper.make_node("Mul", [x[0], g], [t if len(w) > 1 else y]))
                if len(w) > 1:
                    b = const(self_arr(self.tensors, ws[1]).reshape(c, 1, 1), np.float32)
                    nodes.append(helper.make_node("Add", [t, b], [y]))
            elif type_ == "relu":
                nodes.append(helper.make_node("Relu", x, [y]))
            elif type_ == "relu6":
                nodes.append(helper.make_node("Clip", x + [const(0.0, np.float32), const(6.0, np.float32)], [y]))
            elif type_ == "leakyrelu":
                nodes.append(helper.make_node("LeakyRelu", x, [y], alpha=p.get("alpha", 0.01)))
            elif type_ == "sigmoid":
                nodes.append(helper.make_node("Sigmoid", x, [y]))
            elif type_ == "pool":
                mode = p.get("mode", "max")
                if p.get("global"):
                    nodes.append(helper.make_node(
                        "GlobalMaxPool" if mode == "max" else "GlobalAveragePool", x, [y]))
                else:
                    kw = dict(kernel_shape=pair(p["kernel"]), strides=pair(p.get("stride", 1)),
                              pads=pair(p.get("pad", 0)) * 2, ceil_mode=p.get("ceil", 0))
                    if mode == "avg":
                        kw["count_include_pad"] = 0 if p.get("exclude_pad") else 1
                    nodes.append(helper.make_node(
                        "MaxPool" if mode == "max" else "AveragePool", x, [y], **kw))
            elif type_ == "fc":
                f = fresh("flat")
                nodes.append(helper.make_node("Flatten", x, [f], axis=1))
                nodes.append(helper.make_node("Gemm", [f] + w, [y], transB=1))
            elif type_ == "l2norm":
                sq, ss, nrm, dv = fresh("sq"), fresh("ss"), fresh("nrm"), fresh("div")
                c = self_arr(self.tensors, ws[0]).size
                sc = const(self_arr(self.tensors, ws[0]).reshape(c, 1, 1), np.float32)
                nodes += [helper.make_node("Mul", [x[0], x[0]], [sq]),
                          helper.make_node("ReduceSum", [sq, const([1])], [ss], keepdims=1)
                          if opset >= 13 else
                          helper.make_node("ReduceSum", [sq], [ss], axes=[1], keepdims=1),
                          helper.make_node("Add", [ss, const(p.get("eps", 1e-10), np.float32)], [nrm + "e"]),
                          helper.make_node("Sqrt", [nrm + "e"], [nrm]),
                          helper.make_node("Div", [x[0], nrm], [dv]),
                          helper.make_node("Mul", [dv, sc], [y])]
            elif type_ == "permute":
                nodes.append(helper.make_node("Transpose", x, [y], perm=p["order"]))
            elif type_ == "flatten":
                nodes.append(helper.make_node("Flatten", x, [y], axis=p.get("axis", 1)))
            elif type_ == "reshape":
                nodes.append(helper.make_node("Reshape", x + [const(p["shape"])], [y]))
            elif type_ == "concat":
                nodes.append(helper.make_node("Concat", x, [y], axis=p.get("axis", 1)))
            elif type_ == "softmax":
                nodes.append(helper.make_node("Softmax", x, [y], axis=p.get("axis", 1)))
            elif type_ == "add":
                nodes.append(helper.make_node("Sum", x, [y]))
            else:
                raise ValueError("no ONNX mapping for %s" % type_)
            rename[outs[0]] = y
        inp = helper.make_tensor_value_info("data", TensorProto.FLOAT, [batch] + list(self.shape))
        outs = []
        for name, t in self.outputs:
            outs.append(helper.make_tensor_value_info(rename[name], TensorProto.FLOAT,
                                                      [batch] + list(t.shape[1:])))
        graph = helper.make_graph(nodes, self.name, [inp], outs, inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, path)


def self_arr(tensors, i):
    return tensors[i][1]
