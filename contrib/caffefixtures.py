#!/usr/bin/python3
"""caffefixtures.py - small Caffe models (deploy.prototxt + .caffemodel,
written by contrib/caffewriter.py) with an input and two references: the
outputs PyTorch computes for the same layers and weights, and the outputs
OpenCV DNN 4.6 computes from the Caffe files (cv2.dnn.readNetFromCaffe),
for the Caffe importer's conformance test (t/t4200-import-caffe.sh).

    /usr/bin/python3 contrib/caffefixtures.py t/data/caffe

Needs python3-torch, python3-opencv, python3-numpy (Debian).
"""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import caffewriter  # noqa: E402
from netbuild import Graph  # noqa: E402


def vggish():
    """Convolutions with batch norm (BatchNorm + Scale), ReLU, leaky ReLU,
    grouped and dilated convolution, Caffe pooling (ceil), inner product,
    sigmoid and softmax."""
    g = Graph("vggish", (3, 19, 17), batch=1, seed=21)
    x = g.input()
    x = g.act(g.bn(g.conv(x, 8, 3, p=1)), "relu", inplace=True)
    x = g.pool(x, "max", 2, 2, ceil=True)
    x = g.act(g.conv(x, 8, 3, p=2, d=2, groups=2), "leakyrelu", 0.1)
    x = g.pool(x, "avg", 3, 2, 1, ceil=True)
    x = g.scale(g.conv(x, 12, 1))
    f = g.act(g.fc(x, 24), "relu")
    code = g.act(g.fc(f, 16), "sigmoid")
    cls = g.softmax(g.fc(f, 5), 1)
    g.output(code, cls)
    return g


def ssdish():
    """SSD's head: Normalize with a learned scale, Permute, Flatten,
    Concat, Reshape and Softmax over classes, Eltwise sum."""
    g = Graph("ssdish", (8, 10, 10), batch=1, seed=22)
    x = g.input()
    n = g.l2norm(x)
    r = g.add([n, g.l2norm(x, shared=True)])
    small = g.pool(r, "max", 2, 2, ceil=True)
    loc = g.concat([g.flatten(g.permute(g.conv(n, 4 * 3, 3, p=1), (0, 2, 3, 1))),
                    g.flatten(g.permute(g.conv(small, 4 * 2, 3, p=1), (0, 2, 3, 1)))], 1)
    conf = g.concat([g.flatten(g.permute(g.conv(n, 5 * 3, 3, p=1), (0, 2, 3, 1))),
                     g.flatten(g.permute(g.conv(small, 5 * 2, 3, p=1), (0, 2, 3, 1)))], 1)
    conf = g.softmax(g.reshape(conf, [0, -1, 5]), 2)
    g.output(loc, conf)
    return g


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "t/data/caffe"
    os.makedirs(out, exist_ok=True)
    for make in (vggish, ssdish):
        g = make()
        base = os.path.join(out, g.name)
        caffewriter.write(g, base + ".prototxt", base + ".caffemodel")
        g.x.numpy().astype("<f4").tofile(base + ".in.f32")
        net = cv2.dnn.readNetFromCaffe(base + ".prototxt", base + ".caffemodel")
        net.setInput(g.x.numpy())
        names = [name for name, _ in g.outputs]
        for name, t, cv in zip(names, [t for _, t in g.outputs], net.forward(names)):
            t.detach().numpy().astype("<f4").tofile("%s.torch.%s.f32" % (base, name))
            np.asarray(cv, np.float32).astype("<f4").tofile("%s.opencv.%s.f32" % (base, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
