#!/usr/bin/python3
"""refnets.py - the reference networks of featkit's benchmarks, with seeded
random weights, as featmodel files and as ONNX (for ONNX Runtime):

  ssd300_vgg16     SSD300 with a VGG16 backbone (Liu et al. 2016, the Caffe
                   release's layout: conv4_3_norm, dilated fc6, extras,
                   6 multibox heads, 21 classes): loc and softmaxed conf
  mobilenet_ssd    MobileNetV1-SSD at 300x300, 21 classes, in the classic
                   Caffe layout (batch norm + scale after every convolution,
                   1x1 multibox heads on conv11, conv13 and four extras)
  deepbit_vgg16    DeepBit (Lin et al. 2016): VGG16 at 224x224, fc6, fc7 and
                   a 32-unit fc8 with sigmoid

    /usr/bin/python3 contrib/refnets.py OUTDIR [NAME...]

writes OUTDIR/NAME.fm, NAME.onnx (batch 1) and NAME.b8.onnx (batch 8) at
opset 13, and NAME.op12.onnx (batch 1) at opset 12: the ONNX files a user
would import (t/perf/bench-nets.sh times the imports too).
Weights are random (uniform, scaled by fan-in): speed does not depend on
them, and no trained weights can be downloaded here.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netbuild import Graph  # noqa: E402


def vgg_block(g, x, cout, n):
    for _ in range(n):
        x = g.act(g.conv(x, cout, 3, p=1), "relu")
    return x


def multibox(g, sources, priors, classes):
    locs, confs = [], []
    for (x, k), p in zip(sources, priors):
        locs.append(g.flatten(g.permute(g.conv(x, p * 4, k, p=k // 2), (0, 2, 3, 1))))
        confs.append(g.flatten(g.permute(g.conv(x, p * classes, k, p=k // 2), (0, 2, 3, 1))))
    loc = g.concat(locs, 1)
    conf = g.concat(confs, 1)
    conf = g.softmax(g.reshape(conf, [0, -1, classes]), 2)
    return loc, g.flatten(conf)


VOC = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
       "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person",
       "pottedplant", "sheep", "sofa", "train", "tvmonitor"]


def ssd_meta(g, order, mean, scale, gens, detect):
    """The metadata the pipeline reads (featmodel(5)): input settings, and
    the PriorBox/DetectionOutput settings of the Caffe release the net
    copies, one generator per head in gens: (grid, min, max, ratios, step)."""
    g.w.meta("input.order", order)
    g.w.meta("input.mean", [float(m) for m in mean])
    g.w.meta("input.scale", [float(scale)] * 3)
    g.w.meta("input.fit", "stretch")
    g.w.meta("labels", VOC)
    names = []
    for i, (grid, mn, mx, ars, step) in enumerate(gens):
        p = "prior%d" % i
        names.append(p)
        g.w.meta("ssd.%s.grid" % p, [grid, grid])
        g.w.meta("ssd.%s.min_size" % p, float(mn))
        if mx:
            g.w.meta("ssd.%s.max_size" % p, float(mx))
        g.w.meta("ssd.%s.aspect_ratio" % p, [float(a) for a in ars])
        g.w.meta("ssd.%s.flip" % p, "true")
        g.w.meta("ssd.%s.clip" % p, "false")
        g.w.meta("ssd.%s.variance" % p, [0.1, 0.1, 0.2, 0.2])
        if step:
            g.w.meta("ssd.%s.step" % p, float(step))
        g.w.meta("ssd.%s.offset" % p, 0.5)
    g.w.meta("ssd.priors", ",".join(names))
    g.w.meta("ssd.detect", "detection_out")
    for k, v in detect.items():
        g.w.meta("ssd.detection_out.%s" % k, v)


def ssd300_vgg16(outdir):
    g = Graph("ssd300_vgg16", (3, 300, 300), batch=1, seed=11)
    x = g.input()
    x = g.pool(vgg_block(g, x, 64, 2), "max", 2, 2)
    x = g.pool(vgg_block(g, x, 128, 2), "max", 2, 2)
    x = g.pool(vgg_block(g, x, 256, 3), "max", 2, 2, ceil=True)       # 75 -> 38
    c43 = vgg_block(g, x, 512, 3)
    x = g.pool(c43, "max", 2, 2)
    x = vgg_block(g, x, 512, 3)
    x = g.pool(x, "max", 3, 1, 1)
    x = g.act(g.conv(x, 1024, 3, p=6, d=6), "relu")                   # fc6
    fc7 = g.act(g.conv(x, 1024, 1), "relu")
    x = g.act(g.conv(fc7, 256, 1), "relu")
    c62 = g.act(g.conv(x, 512, 3, s=2, p=1), "relu")
    x = g.act(g.conv(c62, 128, 1), "relu")
    c72 = g.act(g.conv(x, 256, 3, s=2, p=1), "relu")
    x = g.act(g.conv(c72, 128, 1), "relu")
    c82 = g.act(g.conv(x, 256, 3), "relu")
    x = g.act(g.conv(c82, 128, 1), "relu")
    c92 = g.act(g.conv(x, 256, 3), "relu")
    norm = g.l2norm(c43)
    loc, conf = multibox(g, [(norm, 3), (fc7, 3), (c62, 3), (c72, 3), (c82, 3), (c92, 3)],
                         [4, 6, 6, 6, 4, 4], 21)
    g.output(loc, conf)
    ssd_meta(g, "bgr", (104, 117, 123), 1.0,
             [(38, 30, 60, [2], 8), (19, 60, 111, [2, 3], 16), (10, 111, 162, [2, 3], 32),
              (5, 162, 213, [2, 3], 64), (3, 213, 264, [2], 100), (1, 264, 315, [2], 300)],
             dict(num_classes=21, background_label_id=0, nms_threshold=0.45, top_k=400,
                  keep_top_k=200, confidence_threshold=0.01, code_type="CENTER_SIZE"))
    return g


def mobilenet_ssd(outdir):
    g = Graph("mobilenet_ssd", (3, 300, 300), batch=1, seed=12)

    def cbr(x, cout, k, s=1, groups=1):
        x = g.conv(x, cout, k, s=s, p=k // 2, groups=groups, bias=False)
        return g.act(g.scale(g.bn(x)), "relu")

    x = cbr(g.input(), 32, 3, 2)
    for cout, s in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1)):
        x = cbr(cbr(x, x[1].shape[1], 3, s, groups=x[1].shape[1]), cout, 1)
    c11 = x
    for cout, s in ((1024, 2), (1024, 1)):
        x = cbr(cbr(x, x[1].shape[1], 3, s, groups=x[1].shape[1]), cout, 1)
    c13 = x
    feats = [c11, c13]
    for mid, cout in ((256, 512), (128, 256), (128, 256), (64, 128)):
        x = cbr(cbr(x, mid, 1), cout, 3, 2)
        feats.append(x)
    loc, conf = multibox(g, [(f, 1) for f in feats], [3, 6, 6, 6, 6, 6], 21)
    g.output(loc, conf)
    ssd_meta(g, "bgr", (127.5, 127.5, 127.5), 0.007843,
             [(19, 60, 0, [2], 0), (10, 105, 150, [2, 3], 0), (5, 150, 195, [2, 3], 0),
              (3, 195, 240, [2, 3], 0), (2, 240, 285, [2, 3], 0), (1, 285, 300, [2, 3], 0)],
             dict(num_classes=21, background_label_id=0, nms_threshold=0.45, top_k=100,
                  keep_top_k=100, confidence_threshold=0.25, code_type="CENTER_SIZE"))
    return g


def deepbit_vgg16(outdir):
    g = Graph("deepbit_vgg16", (3, 224, 224), batch=1, seed=13)
    x = g.input()
    for cout, n in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        x = g.pool(vgg_block(g, x, cout, n), "max", 2, 2)
    x = g.act(g.fc(x, 4096), "relu")
    x = g.act(g.fc(x, 4096), "relu")
    code = g.act(g.fc(x, 32), "sigmoid")
    g.output(code)
    g.w.meta("input.order", "bgr")
    g.w.meta("input.mean", [104.0, 117.0, 123.0])
    g.w.meta("input.scale", [1.0, 1.0, 1.0])
    g.w.meta("input.fit", "stretch")
    g.w.meta("code.bits", 32)
    return g


NETS = {"ssd300_vgg16": ssd300_vgg16, "mobilenet_ssd": mobilenet_ssd,
        "deepbit_vgg16": deepbit_vgg16}


def main():
    outdir = sys.argv[1]
    names = sys.argv[2:] or list(NETS)
    os.makedirs(outdir, exist_ok=True)
    for name in names:
        g = NETS[name](outdir)
        g.save(outdir)
        g.save_onnx(os.path.join(outdir, name + ".onnx"), batch=1)
        g.save_onnx(os.path.join(outdir, name + ".b8.onnx"), batch=8)
        g.save_onnx(os.path.join(outdir, name + ".op12.onnx"), batch=1, opset=12)
        print("refnets: wrote %s" % os.path.join(outdir, name + ".fm"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
