#!/usr/bin/python3
"""conformance.py - small networks that cover every layer and option of
featkit's engine, with seeded random weights, written as featmodel files
together with inputs and the outputs PyTorch computes for them.

    /usr/bin/python3 contrib/conformance.py t/data/nets

For each network NAME it writes NAME.fm, NAME.in.f32 (a batch of inputs,
raw float32, N x C x H x W) and NAME.out.BLOB.f32 for each graph output.
The reference outputs come from torch.nn.functional applied to the same
weights, not from featkit: t/t4000-featmodel-conformance.sh holds the C
engine to them under every kernel path.

Needs Debian's python3-torch and python3-numpy; run with /usr/bin/python3.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netbuild import Graph  # noqa: E402


def net_convs(outdir):
    """Every convolution option, with batch norm, scale and activations."""
    g = Graph("convs", (3, 23, 19), batch=2, seed=1)
    x = g.input()
    x = g.conv(x, 8, 3, p=1)
    x = g.bn(x)
    x = g.scale(x)
    x = g.act(x, "relu")
    x = g.conv(x, 12, 3, s=2, p=1, bias=False)
    x = g.bn(x)
    x = g.act(x, "relu6")
    x = g.conv(x, 12, 3, p=1, groups=12)            # depthwise
    x = g.act(x, "leakyrelu", 0.1)
    x = g.conv(x, 12, 3, s=2, p=1, groups=12)       # depthwise, stride 2
    x = g.conv(x, 16, 1)                            # pointwise
    y = g.conv(x, 8, 3, p=2, d=2, groups=2)         # dilated, grouped
    y = g.conv(y, 6, (3, 5), s=(1, 2), pad4=(1, 2, 0, 1))  # rectangular, asymmetric
    z = g.conv(x, 6, 5, p=2)
    g.output(y, z)
    g.save(outdir)


def net_pools(outdir):
    """Pooling: max and average, floor and ceil (Caffe/PyTorch) rounding,
    padding counted or not, global."""
    g = Graph("pools", (4, 17, 15), batch=3, seed=2)
    x = g.input()
    a = g.pool(x, "max", 2, 2)
    b = g.pool(x, "max", 3, 2, 1, ceil=True)
    c = g.pool(x, "avg", 3, 2, 1, ceil=True)
    d = g.pool(x, "avg", 3, 1, 1, exclude_pad=True)
    e = g.pool(x, "avg", 2, 2, 0, ceil=True)
    f = g.pool(x, "max", 1, 1, glob=True)
    h = g.pool(x, "avg", 1, 1, glob=True)
    i = g.pool(x, "max", 2, 2, ceil=True)   # a last row and column of half windows
    g.output(a, b, c, d, e, f, h, i)
    g.save(outdir)


def net_head(outdir):
    """An SSD-style head: L2 normalisation with a learned scale, permute,
    flatten, concat, reshape, softmax; and a residual add."""
    g = Graph("head", (8, 10, 10), batch=2, seed=3)
    x = g.input()
    n = g.l2norm(x)
    ns = g.l2norm(x, shared=True)
    r = g.add([n, ns, x])
    loc1 = g.flatten(g.permute(g.conv(n, 4 * 3, 3, p=1), (0, 2, 3, 1)))
    small = g.pool(r, "max", 2, 2)
    loc2 = g.flatten(g.permute(g.conv(small, 4 * 2, 3, p=1), (0, 2, 3, 1)))
    loc = g.concat([loc1, loc2], 1)
    conf1 = g.flatten(g.permute(g.conv(n, 5 * 3, 3, p=1), (0, 2, 3, 1)))
    conf2 = g.flatten(g.permute(g.conv(small, 5 * 2, 3, p=1), (0, 2, 3, 1)))
    conf = g.concat([conf1, conf2], 1)
    conf = g.softmax(g.reshape(conf, [0, -1, 5]), 2)
    g.output(loc, conf)
    g.save(outdir)


def net_mobile(outdir):
    """A MobileNet-style chain, channels in multiples of 16 (the AVX-512
    path keeps such blobs channel-blocked, NCHW16c): a first layer,
    depthwise and pointwise layers with folded batch norm and every
    activation, strides 1 and 2, padding 1 and 0, odd map sizes, output
    groups of 1-4 blocks of 16, a blob read by a depthwise layer, an SSD
    head and a pooling layer at once, a depthwise layer that reads a plain
    blob, a pointwise layer between two plain blobs, net outputs written
    by a pointwise layer and by a 3x3 one with 20 channels, and 3x3
    convolutions on small maps (as the SSD extras) reading a blocked
    blob."""
    g = Graph("mobile", (3, 37, 29), batch=2, seed=5)
    x = g.input()
    x = g.act(g.bn(g.conv(x, 16, 3, s=2, p=1, bias=False)), "relu")       # 19 x 15
    x = g.act(g.bn(g.conv(x, 16, 3, p=1, groups=16, bias=False)), "relu6")
    x = g.act(g.conv(x, 32, 1), "relu")
    x = g.act(g.conv(x, 32, 3, s=2, p=1, groups=32), "leakyrelu", 0.1)  # 10 x 8
    x = g.conv(x, 48, 1)
    x = g.act(g.conv(x, 80, 1), "relu")
    h = g.flatten(g.permute(g.conv(x, 12, 3, p=1), (0, 2, 3, 1)))
    y = g.act(g.conv(x, 80, 3, groups=80), "relu")                       # 8 x 6
    y = g.conv(y, 80, 3, s=2, p=1, groups=80)                            # 4 x 3
    e = g.act(g.conv(y, 32, 3, s=2, p=1), "relu")                        # 2 x 2
    e = g.conv(e, 20, 3, p=1)                                            # 20: a partial block
    y = g.act(g.conv(y, 64, 1), "relu")
    z = g.conv(g.pool(x, "max", 2, 2), 32, 1)                            # 5 x 4
    # permutes: the rotations NCHW -> NHWC (h above) and -> NWCH are 2-D
    # transposes in the engine; (0, 2, 1, 3) is not
    zr = g.permute(z, (0, 3, 1, 2))
    zp = g.permute(z, (0, 2, 1, 3))
    g.output(h, y, z, e, zr, zp)
    g.save(outdir)


def net_deepbit(outdir):
    """A DeepBit-like descriptor: convs, pools, fc layers with ReLU, and a
    sigmoid code layer; and softmax over classes."""
    g = Graph("deepbit", (3, 32, 32), batch=4, seed=4)
    x = g.input()
    x = g.act(g.conv(x, 16, 3, p=1), "relu", inplace=True)
    x = g.pool(x, "max", 2, 2)
    x = g.act(g.conv(x, 32, 3, p=1), "relu")
    x = g.pool(x, "max", 2, 2)
    x = g.pool(x, "avg", 2, 2)
    f = g.act(g.fc(x, 64), "relu")
    f = g.act(g.fc(f, 48), "relu")
    code = g.act(g.fc(f, 32), "sigmoid")
    cls = g.softmax(g.fc(f, 10, bias=False), 1)
    g.output(code, cls)
    g.save(outdir)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "t/data/nets"
    os.makedirs(outdir, exist_ok=True)
    for f in (net_convs, net_pools, net_head, net_mobile, net_deepbit):
        f(outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
