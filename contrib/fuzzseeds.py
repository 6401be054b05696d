#!/usr/bin/python3
"""fuzzseeds.py - the seed models of the network fuzzers (t/fuzz/fuzz_net.c,
t/fuzz/fuzz_onnx.c): small valid networks covering every layer type the
executor runs and the SSD end, as featmodel files and (the ones ONNX can
say) as ONNX, plus a few broken variants of them.

    /usr/bin/python3 contrib/fuzzseeds.py t/fuzz/corpus

writes t/fuzz/corpus/net/*.fm and t/fuzz/corpus/onnx/gen-*.onnx, and
copies into t/fuzz/corpus/onnx/td-*.onnx some of the ONNX project's small
node tests (Debian's libonnx-testdata, when installed): ones the importer
takes, covering the operators it maps, and a few it refuses.  The
networks are built with contrib/netbuild.py (PyTorch and the featmodel
writer, no featkit code), seeded, so a rerun writes the same bytes.
Shapes are tiny (a pass costs microseconds) and every file is far under
the fuzzers' 64 KiB input limit.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netbuild import Graph  # noqa: E402
from refnets import multibox  # noqa: E402


def convs():
    """Plain, strided, padded (asymmetric too), dilated, grouped, depthwise
    and 1x1 convolutions; batch norm and scale folded; every activation."""
    g = Graph("convs", (4, 9, 9), batch=1, seed=1)
    x = g.input()
    a = g.act(g.conv(x, 8, 3, p=1), "relu")
    b = g.act(g.scale(g.bn(g.conv(a, 8, 3, s=2, p=1, bias=False))), "relu6")
    c = g.act(g.conv(b, 8, 3, p=2, d=2, groups=2), "leakyrelu", alpha=0.2)
    d = g.act(g.conv(c, 8, 3, p=1, groups=8), "relu", inplace=True)
    e = g.conv(d, 16, 1)
    f = g.conv(e, 4, (1, 3), s=(1, 2), pad4=(0, 1, 1, 0))
    g.output(g.act(f, "sigmoid"))
    return g


def pools():
    """Max and average pooling: ceil mode, padding in and out of the
    average, global pooling."""
    g = Graph("pools", (3, 7, 7), batch=1, seed=2)
    x = g.input()
    a = g.pool(x, "max", 3, 2, 1, ceil=True)
    b = g.pool(x, "avg", 3, 2, 1, exclude_pad=True)
    c = g.pool(x, "avg", 2, 2, 0, ceil=True)
    d = g.pool(g.concat([a, b, c], 1), "max", 1, 1, glob=True)
    e = g.pool(x, "avg", 1, 1, glob=True)
    g.output(d, e)
    return g


def deepbit():
    """A DeepBit-like descriptor: convolutions, pooling, two inner products,
    sigmoid; code.bits in the metadata."""
    g = Graph("deepbit", (3, 12, 12), batch=1, seed=3)
    x = g.input()
    x = g.pool(g.act(g.conv(x, 8, 3, p=1), "relu"), "max", 2, 2)
    x = g.pool(g.act(g.conv(x, 8, 3, p=1), "relu"), "max", 2, 2)
    x = g.act(g.fc(x, 16), "relu")
    g.output(g.act(g.fc(x, 32), "sigmoid"))
    g.w.meta("code.bits", 32)
    return g


def shapes():
    """The layers that move values: permute, flatten, reshape, concat on
    several axes, softmax on an inner axis, add, L2 normalisation."""
    g = Graph("shapes", (6, 4, 5), batch=1, seed=4)
    x = g.input()
    n = g.l2norm(x)
    s = g.l2norm(x, shared=True)
    a = g.add([n, s, x])
    p = g.permute(a, (0, 2, 3, 1))
    r = g.reshape(p, [0, -1, 6])
    sm = g.softmax(r, 2)
    f = g.flatten(sm)
    h = g.concat([g.flatten(n), f], 1)
    w = g.concat([x, s], 3)
    g.output(h, g.softmax(w, 1))
    return g


def ssd():
    """A two-head SSD: L2-normalised first source, multibox heads, loc and
    softmaxed conf, prior boxes and detection settings in the metadata."""
    g = Graph("ssd", (3, 16, 16), batch=1, seed=5)
    x = g.input()
    a = g.act(g.conv(x, 8, 3, s=2, p=1), "relu")          # 8x8
    b = g.act(g.conv(a, 8, 3, s=2, p=1), "relu")          # 4x4
    loc, conf = multibox(g, [(g.l2norm(a), 3), (b, 1)], [4, 6], 3)
    g.output(loc, conf)
    names = []
    for i, (grid, mn, mx, ars) in enumerate(((8, 2.0, 6.0, [2.0]), (4, 6.0, 12.0, [2.0, 3.0]))):
        p = "prior%d" % i
        names.append(p)
        g.w.meta("ssd.%s.grid" % p, [grid, grid])
        g.w.meta("ssd.%s.min_size" % p, mn)
        g.w.meta("ssd.%s.max_size" % p, mx)
        g.w.meta("ssd.%s.aspect_ratio" % p, ars)
        g.w.meta("ssd.%s.flip" % p, "true")
        g.w.meta("ssd.%s.clip" % p, "true" if i else "false")
        g.w.meta("ssd.%s.variance" % p, [0.1, 0.1, 0.2, 0.2])
        g.w.meta("ssd.%s.offset" % p, 0.5)
    g.w.meta("ssd.priors", ",".join(names))
    g.w.meta("ssd.detect", "detection_out")
    for k, v in dict(num_classes=3, background_label_id=0, nms_threshold=0.45, top_k=20,
                     keep_top_k=10, confidence_threshold=0.01,
                     code_type="CENTER_SIZE").items():
        g.w.meta("ssd.detection_out.%s" % k, v)
    g.w.meta("labels", ["background", "shirt", "shoe"])
    return g


TESTDATA = "/usr/share/libonnx-testdata/data"
TESTS = [   # taken by the importer
    "node/test_averagepool_2d_ceil", "node/test_averagepool_2d_pads_count_include_pad",
    "node/test_maxpool_2d_precomputed_strides", "node/test_globalmaxpool",
    "node/test_flatten_axis2", "node/test_leakyrelu", "node/test_softmax_axis_2",
    "node/test_transpose_all_permutations_1", "pytorch-converted/test_BatchNorm2d_eval",
    "pytorch-converted/test_Conv2d_depthwise_with_multiplier",
    "pytorch-converted/test_Conv2d_dilated", "pytorch-converted/test_Conv2d_groups",
    "pytorch-converted/test_Conv2d_padding", "pytorch-converted/test_Linear",
    "pytorch-converted/test_PixelShuffle", "pytorch-operator/test_operator_addconstant",
    "pytorch-operator/test_operator_permute2",
    # refused: 3-D convolution, an unsupported operator, two graph inputs,
    # no image input
    "pytorch-converted/test_Conv3d", "pytorch-converted/test_ConvTranspose2d",
    "node/test_add", "node/test_clip_default_inbounds",
]


def copy_testdata(onnx_dir):
    for t in TESTS:
        src = os.path.join(TESTDATA, t, "model.onnx")
        if not os.path.exists(src):
            return
        with open(src, "rb") as f:
            b = f.read()
        assert len(b) < 50000, src
        name = "td-" + t.split("/test_")[1].lower() + ".onnx"
        with open(os.path.join(onnx_dir, name), "wb") as out:
            out.write(b)


def model_bytes(g):
    g.w.meta("graph.outputs", [x[0] for x in g.outputs])
    return g.w.encode()


def main(argv):
    top = argv[0] if argv else "t/fuzz/corpus"
    net, onnx_dir = os.path.join(top, "net"), os.path.join(top, "onnx")
    os.makedirs(net, exist_ok=True)
    os.makedirs(onnx_dir, exist_ok=True)
    made = {}
    for f in (convs, pools, deepbit, shapes, ssd):
        g = f()
        b = model_bytes(g)
        made[g.name] = b
        with open(os.path.join(net, g.name + ".fm"), "wb") as out:
            out.write(b)
        if g.name != "shapes":   # l2norm's shared scale and 3-D softmax: no mapping needed
            g.save_onnx(os.path.join(onnx_dir, "gen-%s.onnx" % g.name))
    copy_testdata(onnx_dir)
    # broken variants of valid files: cut inside the weights, a layer
    # type renamed; and code.bits that does not match the output (deepbit-extract refuses it)
    b = made["convs"]
    with open(os.path.join(net, "convs-cut.fm"), "wb") as out:
        out.write(b[:len(b) * 2 // 3])
    with open(os.path.join(net, "ssd-badtype.fm"), "wb") as out:
        out.write(made["ssd"].replace(b"\x07\x00\x00\x00softmax", b"\x07\x00\x00\x00softmix", 1))
    with open(os.path.join(net, "deepbit-code31.fm"), "wb") as out:
        out.write(made["deepbit"].replace(b"code.bits\x01\x00\x00\x00" + struct.pack("<q", 32),
                                          b"code.bits\x01\x00\x00\x00" + struct.pack("<q", 31), 1))


if __name__ == "__main__":
    main(sys.argv[1:])
