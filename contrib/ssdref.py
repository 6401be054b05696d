#!/usr/bin/python3
"""ssdref.py - Caffe SSD's PriorBox and DetectionOutput, and cropbox's
choice of the main object, in numpy: the reference the training and
evaluation scripts (contrib/train/train_ssd.py, evaluate.py) use, written from
Caffe SSD's semantics (the same as OpenCV DNN's; checked against OpenCV by
`ssdref.py --check t/data/ssd`), not from featkit's C.

    priors(meta, img_w, img_h, grids)    -> (P, 4) boxes, (P, 4) variances
    detect(loc, conf, priors, var, meta) -> (N, 6) label, score, box (0..1)
    mirror(a, b, meta)                   -> the detections of an image (a) and
                                            of its mirror image (b) merged
    main_box(dets, w, h)                 -> the crop cropbox takes, in pixels

meta is a dict of the model's ssd.* metadata (featmodel(5)); numbers may be
given as numbers or lists.
"""
import math
import sys

import numpy as np


def _list(v):
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v]


def _bool(v, default):
    if v is None:
        return default
    return v in (True, 1, "true", "1")


def priors(meta, img_w, img_h, grids):
    """meta: ssd.* keys without the "ssd." prefix; grids: {name: (H, W)}."""
    names = meta["priors"]
    names = names.split(",") if isinstance(names, str) else list(names)
    boxes, var = [], []
    for p in names:
        g = lambda k, d=None: meta.get(p + "." + k, d)  # noqa: E731
        mins, maxs = _list(g("min_size")), _list(g("max_size"))
        ars = [1.0]
        flip = _bool(g("flip"), True)
        for a in _list(g("aspect_ratio")):
            if any(abs(a - b) < 1e-6 for b in ars):
                continue
            ars.append(a)
            if flip:
                ars.append(1.0 / a)
        v = _list(g("variance")) or [0.1]
        v = v * 4 if len(v) == 1 else v
        gh, gw = grids[p]
        iw, ih = img_w, img_h
        if g("img_size") is not None:
            iw = ih = float(_list(g("img_size"))[0])
        iw = float(_list(g("img_w", iw))[0])
        ih = float(_list(g("img_h", ih))[0])
        sw, sh = iw / gw, ih / gh
        if g("step") is not None:
            sw = sh = float(_list(g("step"))[0])
        sw = float(_list(g("step_w", sw))[0])
        sh = float(_list(g("step_h", sh))[0])
        off = float(_list(g("offset", 0.5))[0])
        clip = _bool(g("clip"), False)
        for y in range(gh):
            for x in range(gw):
                cx, cy = (x + off) * sw, (y + off) * sh
                for i, mn in enumerate(mins):
                    sizes = [(mn, mn)]
                    if maxs:
                        s = math.sqrt(mn * maxs[i])
                        sizes.append((s, s))
                    for a in ars[1:]:
                        sizes.append((mn * math.sqrt(a), mn / math.sqrt(a)))
                    for bw, bh in sizes:
                        b = [(cx - bw / 2) / iw, (cy - bh / 2) / ih,
                             (cx + bw / 2) / iw, (cy + bh / 2) / ih]
                        if clip:
                            b = [min(max(t, 0.0), 1.0) for t in b]
                        boxes.append(b)
                        var.append(v)
    return np.array(boxes, np.float32), np.array(var, np.float32)


def _iou(a, b):
    if b[0] > a[2] or b[2] < a[0] or b[1] > a[3] or b[3] < a[1]:
        return 0.0
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = iw * ih
    sa = 0.0 if a[2] < a[0] or a[3] < a[1] else (a[2] - a[0]) * (a[3] - a[1])
    sb = 0.0 if b[2] < b[0] or b[3] < b[1] else (b[2] - b[0]) * (b[3] - b[1])
    u = sa + sb - inter
    return inter / u if u > 0 else 0.0


def _has_area(b, win):
    """Whether box b has an area in the window win (both xmin, ymin, xmax,
    ymax): not inverted, and meeting win.  A box with a corner that is not
    finite counts (ssd-detect refuses it later)."""
    if not all(math.isfinite(float(t)) for t in b):
        return True
    return (b[2] > b[0] and b[3] > b[1] and b[2] > win[0] and b[0] < win[2] and
            b[3] > win[1] and b[1] < win[3])


def detect(loc, conf, pri, var, meta, agnostic=None, vote=None, keep_top_k=None,
           win=(0, 0, 1, 1)):
    """loc (P*4,), conf (P*C,) of one image -> (N, 6), highest score first.
    agnostic: also NMS over all classes (featkit's DET.agnostic_nms; None:
    as meta says).  vote: featkit's DET.box_vote (None: as meta says; 0
    off): each box NMS keeps takes the mean corners of its class's
    candidates overlapping it by vote or more, weighted by their scores,
    and a voted box overlapping a better voted box of its class by more
    than the NMS threshold goes.  keep_top_k: None as meta says (-1: all;
    give -1 for the views of mirror()).  A box of no area in win (the
    part of the input the image covers; inverted, or wholly outside it)
    is no detection: dropped before NMS, as ssd-detect drops it."""
    d = meta["detect"]
    g = lambda k, dflt: meta.get(d + "." + k, dflt)  # noqa: E731
    C = int(g("num_classes", 0))
    bg = int(g("background_label_id", 0))
    nms = float(g("nms_threshold", 0.3))
    conf_thr = float(g("confidence_threshold", -3.4e38))
    top_k = int(g("top_k", -1))
    if keep_top_k is None:
        keep_top_k = int(g("keep_top_k", -1))
    if vote is None:
        vote = float(g("box_vote", 0))
    loc = loc.reshape(-1, 4).astype(np.float32)
    conf = conf.reshape(-1, C)
    pw, ph = pri[:, 2] - pri[:, 0], pri[:, 3] - pri[:, 1]
    pcx, pcy = (pri[:, 0] + pri[:, 2]) / 2, (pri[:, 1] + pri[:, 3]) / 2
    if _bool(g("variance_encoded_in_target", None), False):
        var = np.ones_like(var)
    cx = var[:, 0] * loc[:, 0] * pw + pcx
    cy = var[:, 1] * loc[:, 1] * ph + pcy
    w = np.exp(var[:, 2] * loc[:, 2]) * pw
    h = np.exp(var[:, 3] * loc[:, 3]) * ph
    box = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    out = []
    for c in range(C):
        if c == bg:
            continue
        idx = [i for i in np.argsort(-conf[:, c], kind="stable")
               if conf[i, c] > conf_thr and _has_area(box[i], win)]
        if top_k >= 0:
            idx = idx[:top_k]
        kept = []
        for i in idx:
            if all(_iou(box[i], box[j]) <= nms for j in kept):
                kept.append(i)
        voted = []
        for i in kept:
            b = box[i]
            if vote > 0:
                wsum, acc = 0.0, np.zeros(4)
                for j in idx:
                    if _iou(box[i], box[j]) >= vote:
                        wsum += float(conf[j, c])
                        acc += float(conf[j, c]) * box[j].astype(np.float64)
                if wsum > 0:
                    b = (acc / wsum).astype(np.float32)
                # a voted box overlapping a better voted one goes
                if not all(_iou(b, u[3]) <= nms for u in voted):
                    continue
            voted.append((float(conf[i, c]), c, i, b))
        out += voted
    out.sort(key=lambda t: (-t[0], t[1], t[2]))
    if agnostic is None:
        agnostic = _bool(g("agnostic_nms", None), False)
    if agnostic:
        kept = []
        for t in out:
            if all(_iou(t[3], u[3]) <= nms for u in kept):
                kept.append(t)
        out = kept
    if keep_top_k >= 0:
        out = out[:keep_top_k]
    return np.array([[c, s] + list(b) for s, c, i, b in out], np.float32).reshape(-1, 6)


def mirror(a, b, meta):
    """featkit's merge of the detections a (N, 6) of an image and b of its
    mirror image (in the mirror's frame), both detect(..., agnostic=False,
    keep_top_k=-1):
    b turned back (x -> 1 - x); each box of a, best first, paired with the
    unpaired box of b of its class overlapping it most, if by IoU >= 0.5,
    the pair becoming one box: the mean of the two scores, the corners
    weighted by the scores; a box
    without a partner keeps its corners and half its score; those then
    scoring the confidence threshold or less go; then NMS per class (and
    over all classes with meta's agnostic_nms), then the keep_top_k
    best."""
    d = meta["detect"]
    g = lambda k, dflt: meta.get(d + "." + k, dflt)  # noqa: E731
    nms = float(g("nms_threshold", 0.3))
    keep_top_k = int(g("keep_top_k", -1))
    conf_thr = np.float32(float(g("confidence_threshold", -3.4e38)))
    agnostic = _bool(g("agnostic_nms", None), False)
    f32 = np.float32
    key = lambda r: (-r[1], r[0], r[2], r[3], r[4], r[5])  # noqa: E731
    a = sorted([[f32(v) for v in r] for r in a], key=key)
    bb = [[f32(r[0]), f32(r[1]), f32(1) - f32(r[4]), f32(r[3]), f32(1) - f32(r[2]), f32(r[5])]
          for r in b]
    used = [False] * len(bb)
    m = []
    for r in a:
        best, bj = 0.0, -1
        for j, q in enumerate(bb):
            if used[j] or q[0] != r[0]:
                continue
            v = _iou(r[2:], q[2:])
            if v > best:
                best, bj = v, j
        if bj >= 0 and best >= 0.5:
            used[bj] = True
            q = bb[bj]
            wa = r[1] / (r[1] + q[1]) if r[1] + q[1] > 0 else f32(0.5)
            wb = f32(1) - wa
            m.append([r[0], f32(0.5) * (r[1] + q[1])] + [wa * x + wb * y for x, y in zip(r[2:], q[2:])])
        else:
            m.append([r[0], f32(0.5) * r[1]] + r[2:])
    m += [[q[0], f32(0.5) * q[1]] + q[2:] for j, q in enumerate(bb) if not used[j]]
    m.sort(key=key)
    m = [r for r in m if r[1] > conf_thr]
    out = []
    for r in m:
        if all(_iou(r[2:], u[2:]) <= nms for u in out if agnostic or u[0] == r[0]):
            out.append(r)
    if keep_top_k >= 0:
        out = out[:keep_top_k]
    return np.array(out, np.float32).reshape(-1, 6)


def main_first(d, meta):
    """featkit's main item first (ssd.main_share, ssd-detect(1)): of the
    detections d (N, 6, best first; in the photo's pixels, clipped to it,
    as ssd-detect chooses), the largest by area of those scoring
    at least the share of the best and at least ssd.main_min_score moves
    to the front (the first of equal areas); the others keep their
    order."""
    share = float(meta.get("main_share", 0))
    least = np.float32(meta.get("main_min_score", 0))
    if len(d) < 2 or not 0 < share <= 1:
        return d
    f32 = np.float32
    best = max(f32(r[1]) for r in d)
    m, area = 0, f32(-1)
    for i, r in enumerate(d):
        w, h = f32(r[4]) - f32(r[2]), f32(r[5]) - f32(r[3])
        a = w * h if w > 0 and h > 0 else f32(0)
        if f32(r[1]) >= f32(share) * best and f32(r[1]) >= least and a > area:
            m, area = i, a
    return np.concatenate([d[m:m + 1], d[:m], d[m + 1:]]) if m else d


def main_box(dets, w, h, eps=1e-3, margin=0.1):
    """cropbox's default: the first box (the main item's), in pixels of a w x h image, clipped,
    `margin` times its width (height) added on each side (cropbox's
    default 0.1, FEAT_CROP_DEFAULT_MARGIN), clipped again, edges rounded
    outwards; None when there is no box (the whole image)."""
    for d in dets:
        # in doubles, as cropbox computes
        x0, y0 = max(0.0, min(float(d[2]), w)), max(0.0, min(float(d[3]), h))
        x1, y1 = max(0.0, min(float(d[4]), w)), max(0.0, min(float(d[5]), h))
        if not (x1 > x0 and y1 > y0):
            continue
        mx, my = (x1 - x0) * margin, (y1 - y0) * margin
        x0, y0, x1, y1 = max(0.0, x0 - mx), max(0.0, y0 - my), min(float(w), x1 + mx), min(float(h), y1 + my)
        r = (int(math.floor(x0 + eps)), int(math.floor(y0 + eps)),
             int(math.ceil(x1 - eps)), int(math.ceil(y1 - eps)))
        if r[2] > r[0] and r[3] > r[1]:
            return r
    return None


def _check(d):
    """The numpy DetectionOutput against OpenCV's on t/data/ssd."""
    import cv2
    for name in ("default", "tight"):
        net = cv2.dnn.readNetFromCaffe("%s/%s.prototxt" % (d, name),
                                       "%s/../caffe/ssdish.caffemodel" % d)
        x = np.fromfile("%s/../caffe/ssdish.in.f32" % d, np.float32).reshape(1, 8, 10, 10)
        net.setInput(x)
        loc, conf, pr = net.forward(["concat11", "softmax20", "priors"])
        meta = {"priors": "a,b", "detect": "d", "d.num_classes": 5}
        meta.update({"a.min_size": 3, "a.aspect_ratio": 2, "a.flip": "true", "a.clip": "true",
                     "a.variance": [0.1, 0.1, 0.2, 0.2], "a.step": 1, "a.offset": 0.5,
                     "b.min_size": 4, "b.max_size": 9, "b.clip": "false", "b.variance": 0.1,
                     "b.step": 2, "b.offset": 0.25})
        st = {"default": (0.45, 400, 200, 0.25), "tight": (0.2, 5, 7, 0.3)}[name]
        meta.update({"d.nms_threshold": st[0], "d.top_k": st[1], "d.keep_top_k": st[2],
                     "d.confidence_threshold": st[3]})
        p, v = priors(meta, 10, 10, {"a": (10, 10), "b": (5, 5)})
        cp = pr.reshape(2, -1, 4)
        assert np.abs(cp[0] - p).max() < 1e-6 and np.abs(cp[1] - v).max() < 1e-6, "priors differ"
        ours = detect(loc.ravel(), conf.ravel(), p, v, meta)
        ref = np.loadtxt("%s/%s.opencv.txt" % (d, name), ndmin=2)
        assert ours.shape == ref.shape, (ours.shape, ref.shape)
        assert (ours[:, 0] == ref[:, 0]).all() and np.abs(ours[:, 1:] - ref[:, 1:]).max() < 1e-5
        print("ssdref: %s: %d detections, as OpenCV" % (name, len(ours)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        _check(sys.argv[2])
    else:
        sys.exit(__doc__)
