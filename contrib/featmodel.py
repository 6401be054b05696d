"""featmodel.py - write featmodel files (man/man5/featmodel.5) from Python.

Used by featkit's recipes (conformance networks, training) and importers
written in Python.  Plain struct packing, no dependency but numpy.

    from featmodel import ModelWriter
    w = ModelWriter()
    w.meta("graph.inputs", ["data"]); w.meta("graph.outputs", ["prob"])
    w.meta("input.shape", [3, 32, 32])
    wi = w.tensor("conv1.weight", np.zeros((8, 3, 3, 3), np.float32))
    w.layer("conv", "conv1", ["data"], ["conv1"], {"kernel": [3, 3]}, [wi])
    w.write("net.fm")
"""
import os
import struct

import numpy as np

MAGIC = b"\x89FMD\r\n\x1a\n"
DTYPES = {np.dtype(np.uint8): 1, np.dtype(np.int8): 2, np.dtype(np.uint16): 3,
          np.dtype(np.int32): 4, np.dtype(np.float32): 5, np.dtype(np.float64): 6}


def _str(s):
    b = s.encode()
    if len(b) > 4096 or b"\0" in b:
        raise ValueError("bad string %r" % s)
    return struct.pack("<I", len(b)) + b


def _value(v):
    """Typed value: int, float, str, or a list of one of them."""
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, (int, np.integer)):
        return struct.pack("<Iq", 1, int(v))
    if isinstance(v, (float, np.floating)):
        return struct.pack("<Id", 2, float(v))
    if isinstance(v, str):
        return struct.pack("<I", 3) + _str(v)
    v = list(v)
    if all(isinstance(x, str) for x in v) and v:
        return struct.pack("<II", 6, len(v)) + b"".join(_str(x) for x in v)
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in v):
        return struct.pack("<II", 4, len(v)) + struct.pack("<%dq" % len(v), *map(int, v))
    return struct.pack("<II", 5, len(v)) + struct.pack("<%dd" % len(v), *map(float, v))


class ModelWriter:
    def __init__(self):
        self.metas, self.layers, self.dir = [], [], []
        self.data = bytearray()
        self.ntensor = 0

    def meta(self, key, value):
        self.metas.append(_str(key) + _value(value))

    def tensor(self, name, array):
        a = np.ascontiguousarray(array)
        if a.dtype not in DTYPES:
            a = a.astype(np.float32)
        self.data += b"\0" * (-len(self.data) % 64)
        self.dir.append(_str(name) + struct.pack("<II", DTYPES[a.dtype], a.ndim) +
                        struct.pack("<%dI" % a.ndim, *a.shape) +
                        struct.pack("<QQ", len(self.data), a.nbytes))
        self.data += a.tobytes()
        self.ntensor += 1
        return self.ntensor - 1

    def layer(self, type_, name, inputs, outputs, params=None, weights=()):
        params = params or {}
        b = _str(type_) + _str(name)
        b += struct.pack("<I", len(inputs)) + b"".join(_str(s) for s in inputs)
        b += struct.pack("<I", len(outputs)) + b"".join(_str(s) for s in outputs)
        b += struct.pack("<I", len(params))
        for k, v in params.items():
            b += _str(k) + _value(v)
        b += struct.pack("<I", len(weights)) + b"".join(struct.pack("<I", w) for w in weights)
        self.layers.append(b)

    def encode(self):
        meta, layers, dir_ = b"".join(self.metas), b"".join(self.layers), b"".join(self.dir)
        o0 = 64
        o1 = o0 + len(meta)
        o2 = o1 + len(layers)
        o3 = o2 + len(dir_)
        o3 += -o3 % 64
        head = MAGIC + struct.pack("<HHIIIII", 1, 0, 64, len(self.metas), len(self.layers),
                                   self.ntensor, 0) + struct.pack("<QQQQ", o0, o1, o2, o3)
        assert len(head) == 64
        body = head + meta + layers + dir_
        return body + b"\0" * (o3 - len(body)) + bytes(self.data)

    def write(self, path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(self.encode())
        os.replace(tmp, path)
