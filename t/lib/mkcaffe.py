#!/usr/bin/python3
"""mkcaffe.py - write a small .caffemodel for the importer's tests.

    mkcaffe.py [--legacy] OUT [-l LAYER BLOB...]...

Each -l starts a layer (LayerParameter name = 1) and each BLOB after it is
SHAPE=VALUES: SHAPE as 3x4, VALUES as comma-separated numbers or
`arange` (0, 1, 2, ... as many as the shape holds).  A blob's shape is
BlobProto.shape (7) unless --legacy, which writes Caffe's old
num/channels/height/width (1..4), leading dimensions 1, as pre-2015
models hold an InnerProduct's weights ([1, 1, N, K]).  The encoding is
protobuf's, contrib/caffewriter.py's.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib"))
from caffewriter import _len as field, _varint as varint  # noqa: E402  (protobuf's encoding)


def blob(spec, legacy):
    shape, values = spec.split("=")
    dims = [int(d) for d in shape.split("x")]
    count = 1
    for d in dims:
        count *= d
    v = list(range(count)) if values == "arange" else [float(x) for x in values.split(",")]
    data = field(5, struct.pack("<%df" % len(v), *v))
    if legacy:
        dims = [1] * (4 - len(dims)) + dims
        return b"".join(varint((i + 1) << 3) + varint(d) for i, d in enumerate(dims)) + data
    return field(7, field(1, b"".join(varint(d) for d in dims))) + data


def main(argv):
    legacy = argv[:1] == ["--legacy"]
    if legacy:
        argv = argv[1:]
    out, layers = argv[0], b""
    layer = None
    args = argv[1:]
    i = 0
    while i <= len(args):
        if i == len(args) or args[i] == "-l":
            if layer is not None:
                layers += field(100, layer)
            if i < len(args):
                layer = field(1, args[i + 1].encode())
                i += 1
        else:
            layer += field(7, blob(args[i], legacy))
        i += 1
    with open(out, "wb") as f:
        f.write(layers)


main(sys.argv[1:])
