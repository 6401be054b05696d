#!/usr/bin/python3
"""opgraphs.py - ONNX graphs written with onnx.helper (no PyTorch), with
numpy references, for the importer's operator semantics and refusals
(t/t4100-import-onnx.sh).

    /usr/bin/python3 contrib/onnx/opgraphs.py t/data/onnx

Run it from outside the source tree (python puts the current directory
first on its path).  Writes:
  softmax11      Softmax at opset 11, axis 1 of [1, 4, 3, 5]: ONNX before
                 13 takes the softmax over everything from the axis on
  softmax12last  Softmax at opset 12 over the last axis (MobileNet-SSD)
  flattenneg     Flatten with axis -3 (= 1 on a 4-D value)
  bcastw/bcasth  NAME.in.f32 and NAME.out.f32 for contrib/onnxfixtures.py's
                 conv * [4] and conv * [4, 1] constants: ONNX broadcasting
                 along W and along H, computed here in numpy from the
                 files' own weights
  axis6h         its reference: the opset-6 Mul with axis=2 (along H)
  and graphs the importer must refuse by name: maxpooldil (MaxPool with
  dilations), f16 (float16 weights), convbias1 (a Conv bias of one value
  for 4 outputs), padreflect (Pad mode reflect); mmshape (MatMul by a
  weight of the wrong rows), liftedconv (a Conv of a value whose batch a
  Transpose moved), reshapecount (a Reshape to another count), gatherrange
  (a Gather index out of range), lnscale (a LayerNormalization scale of
  the wrong size), expandbig (Expand of a value to a larger shape), cosneg
  (ConstantOfShape of a negative dimension), powvar (Pow by a value),
  batch2moved (a graph exported for a batch of 2 that moves its batch),
  idout (a second graph output that is an Identity of the input).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(out, name, opset, nodes, inits, xshape, yshape, x=None, y=None):
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(xshape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(yshape))],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    open(os.path.join(out, name + ".onnx"), "wb").write(m.SerializeToString())
    if x is not None:
        x.astype("<f4").tofile(os.path.join(out, name + ".in.f32"))
        y.astype("<f4").tofile(os.path.join(out, name + ".out.f32"))


def f32(name, a):
    return numpy_helper.from_array(np.asarray(a, "<f4"), name)


def softmax(v, axis):
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def conv3(x, w, b):
    """3x3, stride 1, pad 1, float64."""
    n, c, h, wd = x.shape
    p = np.zeros((n, c, h + 2, wd + 2))
    p[:, :, 1:-1, 1:-1] = x
    y = np.zeros((n, w.shape[0], h, wd))
    for i in range(3):
        for j in range(3):
            y += np.einsum("oc,nchw->nohw", w[:, :, i, j], p[:, :, i:i + h, j:j + wd])
    return y + b.reshape(1, -1, 1, 1)


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    x = rng.uniform(-2, 2, (1, 4, 3, 5))
    save(out, "softmax11", 11, [helper.make_node("Softmax", ["x"], ["y"], axis=1)], [],
         x.shape, x.shape, x, softmax(x.reshape(1, -1), 1).reshape(x.shape))
    x3 = rng.uniform(-2, 2, (1, 6, 5))
    save(out, "softmax12last", 12, [helper.make_node("Softmax", ["x"], ["y"], axis=2)], [],
         x3.shape, x3.shape, x3, softmax(x3, 2))
    save(out, "flattenneg", 13, [helper.make_node("Relu", ["x"], ["r"]),
                                 helper.make_node("Flatten", ["r"], ["y"], axis=-3)], [],
         x.shape, (1, 60), x, np.maximum(x, 0).reshape(1, 60))
    # references for the broadcasting fixtures of contrib/onnxfixtures.py
    for name in ("bcastw", "bcasth"):
        m = onnx.load(os.path.join(out, name + ".onnx"))
        init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
        for nd in m.graph.node:
            if nd.op_type == "Constant":
                init[nd.output[0]] = numpy_helper.to_array(nd.attribute[0].t).astype(np.float64)
        conv = [nd for nd in m.graph.node if nd.op_type == "Conv"][0]
        mul = [nd for nd in m.graph.node if nd.op_type == "Mul"][0]
        xi = rng.uniform(-1, 1, (1, 3, 4, 4))
        y = conv3(xi, init[conv.input[1]], init[conv.input[2]]) * init[mul.input[1]]
        xi.astype("<f4").tofile(os.path.join(out, name + ".in.f32"))
        y.astype("<f4").tofile(os.path.join(out, name + ".out.f32"))
    m = onnx.load(os.path.join(out, "axis6h.onnx"))
    a = numpy_helper.to_array(m.graph.initializer[0]).astype(np.float64)
    xa = rng.uniform(-1, 1, (1, 4, 3, 5))
    xa.astype("<f4").tofile(os.path.join(out, "axis6h.in.f32"))
    (xa * a.reshape(3, 1)).astype("<f4").tofile(os.path.join(out, "axis6h.out.f32"))
    # refusals
    save(out, "maxpooldil", 13, [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2],
                                                  dilations=[2, 2])], [], x.shape, (1, 4, 1, 3))
    w = rng.uniform(-1, 1, (4, 4, 1, 1))
    save(out, "f16", 13, [helper.make_node("Conv", ["x", "w"], ["y"])],
         [numpy_helper.from_array(w.astype(np.float16), "w")], x.shape, x.shape)
    save(out, "convbias1", 13, [helper.make_node("Conv", ["x", "w", "b"], ["y"])],
         [f32("w", w), f32("b", [0.5])], x.shape, x.shape)
    save(out, "padreflect", 13, [helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect")],
         [numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "p")],
         x.shape, (1, 4, 5, 7))
    # refusals of the transformers' operators (x is [1, 4, 3, 5])
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    save(out, "mmshape", 13, [helper.make_node("MatMul", ["x", "w"], ["y"])],
         [f32("w", np.ones((4, 2)))], x.shape, (1, 4, 3, 2))
    save(out, "liftedconv", 13, [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2, 3]),
                                 helper.make_node("Conv", ["t", "w"], ["y"])],
         [f32("w", np.ones((2, 1, 1, 1)))], x.shape, (4, 2, 3, 5))
    save(out, "reshapecount", 13, [helper.make_node("Reshape", ["x", "s"], ["y"])],
         [i64("s", [3, 7])], x.shape, (3, 7))
    save(out, "gatherrange", 13, [helper.make_node("Gather", ["x", "i"], ["y"], axis=2)],
         [i64("i", 5)], x.shape, (1, 4, 5))
    save(out, "lnscale", 17, [helper.make_node("LayerNormalization", ["x", "g"], ["y"])],
         [f32("g", np.ones(4))], x.shape, x.shape)
    save(out, "expandbig", 13, [helper.make_node("Expand", ["x", "s"], ["y"])],
         [i64("s", [1, 4, 6, 5])], x.shape, (1, 4, 6, 5))
    save(out, "cosneg", 13, [helper.make_node("ConstantOfShape", ["s"], ["c"]),
                             helper.make_node("Add", ["x", "c"], ["y"])],
         [i64("s", [-1, 5])], x.shape, x.shape)
    save(out, "powvar", 13, [helper.make_node("Pow", ["x", "x"], ["y"])], [], x.shape, x.shape)
    save(out, "batch2moved", 13, [helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0, 2, 3])],
         [], (2, 4, 3, 5), (4, 2, 3, 5))
    vi = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, list(x.shape))
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"]),
                           helper.make_node("Identity", ["x"], ["z"])],
                          "idout", [vi("x")], [vi("y"), vi("z")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    open(os.path.join(out, "idout.onnx"), "wb").write(m.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
