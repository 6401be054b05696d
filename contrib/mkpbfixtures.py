#!/usr/bin/python3
"""mkpbfixtures.py - protobuf fixtures for t/unit/test_pb.c, written by
Google's protobuf library through python3-onnx: an encoder independent of
featkit's reader.

    /usr/bin/python3 contrib/mkpbfixtures.py t/data/pb
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "t/data/pb"
    os.makedirs(out, exist_ok=True)
    w = numpy_helper.from_array(np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3),
                                "conv.w")
    n1 = helper.make_node("Conv", ["data", "conv.w"], ["c"], name="conv1", kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1], strides=[1, 1])
    n2 = helper.make_node("Relu", ["c"], ["out"], name="relu1")
    g = helper.make_graph([n1, n2], "tiny",
                          [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 2, 8, 8])],
                          [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="featkit-test")
    m.ir_version = 8
    onnx.save(m, os.path.join(out, "tiny.onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
