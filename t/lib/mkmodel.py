#!/usr/bin/python3
"""mkmodel.py - write a tiny featmodel file with the metadata given, for
tests of the programs that read a model's metadata (imgprep -m, cropbox
-m, featdraw -m).

Usage: mkmodel.py OUT.fm [KEY=VALUE]... [-KEY]...

The network is one sigmoid layer from blob "data" to blob "out", so the
file loads and builds.  VALUE is read as featmodel import --set reads it:
an int, a float, a comma-separated list of numbers (ints if all are),
or else a string; KEY=s:TEXT forces a string, KEY=S:A,B,C a list of
strings, KEY=f:1,2 a list of floats.  graph.inputs, graph.outputs,
name and input.shape (3,8,8) get defaults unless given; -KEY leaves KEY
out altogether.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "contrib"))
from featmodel import ModelWriter  # noqa: E402


def number(tok):
    try:
        return int(tok)
    except ValueError:
        return float(tok)


def value(text):
    if text.startswith("s:"):
        return text[2:]
    if text.startswith("S:"):
        return text[2:].split(",")
    if text.startswith("f:"):
        return [float(t) for t in text[2:].split(",")]
    try:
        toks = [number(t) for t in text.split(",")]
    except ValueError:
        return text
    return toks[0] if len(toks) == 1 and "," not in text else toks


def main(argv):
    out, meta, drop = argv[0], {}, set()
    for a in argv[1:]:
        if a.startswith("-"):
            drop.add(a[1:])
        else:
            k, _, v = a.partition("=")
            meta[k] = value(v)
    defaults = {"name": "test", "graph.inputs": ["data"], "graph.outputs": ["out"],
                "input.shape": [3, 8, 8]}
    for k, v in defaults.items():
        meta.setdefault(k, v)
    w = ModelWriter()
    for k, v in meta.items():
        if k not in drop:
            w.meta(k, v)
    w.layer("sigmoid", "out", ["data"], ["out"])
    w.write(out)


if __name__ == "__main__":
    main(sys.argv[1:])
