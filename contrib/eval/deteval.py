#!/usr/bin/python3
"""deteval.py - featkit's detector, through its C pipeline, on photos it was
not trained on.

    /usr/bin/python3 contrib/eval/deteval.py [--set b,held-out] [-n 300] [--seed 1]
                                             [--model PATH] [--dir DIR] [--misses]

Runs  imgdecode | imgprep -m MODEL | ssd-detect -m MODEL | featwrite -f jsonl
(the programs of this tree's build/bin when built, else those on PATH) and
prints one table row per set:

  b         N photos of generator B (contrib/eval/scenes_b.py, --seed S),
            written to --dir DIR (default: a temporary folder); when DIR already holds a boxes.tsv its
            photos are scored as they are (so a set is made once and reused,
            and any folder with a boxes.tsv of that form can be scored:
            file, label 0-9, class, xmin, ymin, xmax, ymax[, role]; the
            photo's main item is the row marked "main", else its first row).
  held-out  N of the project's own held-out detector scenes: the entry point
            contrib/train/evaluate.py uses (held_out(): Fashion-MNIST t10k
            items, seed 1001 + S - 1, which training never uses; the
            training sizes, PNG), written to a temporary folder.

Columns:
  main     photos whose first detection (ssd-detect's main box: the
           largest of the boxes scoring at least ssd.main_share of the best,
           or the best) has IoU >= 0.5 with the main item (any class): what
           cropbox relies on;
  +class   the same, and of the main item's class;
  no det   photos with no detection at all (or an error record);
  AP50     all-point AP at IoU 0.5 of the main item, class-agnostic: each
           photo's best-scoring detection on its main item is a true
           positive; detections on another labelled item (IoU >= 0.5) are
           left out; all others are false positives;
  mAP50    10-class mean AP at IoU 0.5 over every labelled item (VOC
           all-point AP; a class with no item is left out).

--model PATH: the detector (default: the shipped models/ssd.fm).  --json
also prints each row as a JSON line.  --misses also sorts each set's
photos by what the top box did: hit the main item; no detection; boxed
another labelled item (IoU >= 0.5); boxed the main item loosely (IoU
0.25-0.5); missed it while a lower-scored box hits it; or sits on the
background; and counts the misses whose main item is small (under 30% of
the photo: the square root of its share of the area).  Needs python3-numpy, python3-pil, and
for held-out python3-torch (contrib/train's modules).
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import photoset as P  # noqa: E402  (the sets and the pipeline, shared with quanteval.py)

TOP = P.TOP


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    i = iw * ih
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i
    return i / u if u > 0 else 0.0


def voc_ap(scores, tp, npos):
    """All-point interpolated average precision."""
    if npos == 0:
        return float("nan")
    if not scores:
        return 0.0
    o = np.argsort(-np.asarray(scores, float), kind="stable")
    t = np.asarray(tp, float)[o]
    ctp, cfp = np.cumsum(t), np.cumsum(1 - t)
    rec = np.concatenate([[0.0], ctp / npos, [1.0]])
    prec = np.concatenate([[0.0], ctp / np.maximum(ctp + cfp, 1e-12), [0.0]])
    prec = np.maximum.accumulate(prec[::-1])[::-1]
    k = np.nonzero(rec[1:] != rec[:-1])[0]
    return float(np.sum((rec[k + 1] - rec[k]) * prec[k + 1]))


def detect(files, model):
    """Per photo, [(score, label 1-10, box)] in ssd-detect's order, the main
    item's box first (none for an error record)."""
    recs = P.pipeline(files, model, "ssd-detect", "deteval")
    missing = [f for f in files if f not in recs]
    if missing:
        sys.exit("deteval: no record for %s" % missing[0])
    dets = []
    for f in files:
        r = recs[f]
        d = r.get("dets", []) if r.get("status") == "ok" else []
        dets.append([(x["score"], int(x["label"]), tuple(x["box"])) for x in d])
    return dets


def score(dets, truth):
    """dets: per photo [(score, label 1-10, box)], the main item's first;
    truth: per photo [(label 0-9, box, main)]."""
    n = len(truth)
    hit = hitc = nodet = 0
    sc, tp = [], []
    for d, t in zip(dets, truth):
        lab, mb, _ = t[0]
        if not d:
            nodet += 1
        elif iou(d[0][2], mb) >= 0.5:
            hit += 1
            hitc += d[0][1] == lab + 1
        used = False
        for s, _, b in sorted(d, key=lambda t: -t[0]):
            if not used and iou(b, mb) >= 0.5:
                used = True
                sc.append(s)
                tp.append(1)
            elif any(iou(b, ob) >= 0.5 for _, ob, _ in t[1:]):
                continue
            else:
                sc.append(s)
                tp.append(0)
    ap_main = voc_ap(sc, tp, n)
    aps = []
    for c in range(10):
        csc, ctp, npos = [], [], 0
        for d, t in zip(dets, truth):
            gts = [b for lab, b, _ in t if lab == c]
            npos += len(gts)
            used = [False] * len(gts)
            for s, lab, b in d:
                if lab != c + 1:
                    continue
                best, bi = 0.0, -1
                for k, g in enumerate(gts):
                    v = iou(b, g)
                    if v > best:
                        best, bi = v, k
                ok = best >= 0.5 and not used[bi]
                if ok:
                    used[bi] = True
                csc.append(s)
                ctp.append(1 if ok else 0)
        if npos:
            aps.append(voc_ap(csc, ctp, npos))
    return {"n": n, "main": hit / n, "main_class": hitc / n, "no_det": nodet, "ap50_main": ap_main,
            "map50": float(np.mean(aps)) if aps else float("nan")}


def misses(files, dets, truth):
    """{outcome: photos} of the top box, and "small misses"."""
    from PIL import Image
    out = {k: 0 for k in ("hit", "no det", "other item", "loose", "lower-ranked", "background",
                          "small misses")}
    for f, d, t in zip(files, dets, truth):
        mb = t[0][1]
        if not d:
            k = "no det"
        elif iou(d[0][2], mb) >= 0.5:
            k = "hit"
        elif any(iou(d[0][2], ob) >= 0.5 for _, ob, _ in t[1:]):
            k = "other item"
        elif iou(d[0][2], mb) >= 0.25:
            k = "loose"
        elif any(iou(b, mb) >= 0.5 for _, _, b in d[1:]):
            k = "lower-ranked"
        else:
            k = "background"
        out[k] += 1
        if k != "hit":
            with Image.open(f) as im:
                w, h = im.size
            out["small misses"] += ((mb[2] - mb[0]) * (mb[3] - mb[1]) / (w * h)) ** 0.5 < 0.3
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="b,held-out", help="b, held-out or both (default b,held-out)")
    ap.add_argument("-n", type=int, default=300, help="photos a set (default 300)")
    ap.add_argument("--seed", type=int, default=1, help="generator B's seed; held-out uses 1000+S")
    ap.add_argument("--model", default=os.path.join(TOP, "models", "ssd.fm"))
    ap.add_argument("--dir", help="generator B's folder (made when it has no boxes.tsv, else reused)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--misses", action="store_true", help="also sort the photos by what the top box did")
    a = ap.parse_args()
    if a.n < 1:
        ap.error("-n: at least 1")
    if a.seed < 1:
        ap.error("--seed: at least 1 (held-out seeds start at 1001; training uses small seeds)")
    sets = [s.strip() for s in a.set.split(",") if s.strip()]
    for s in sets:
        if s not in ("b", "held-out"):
            ap.error("--set: b or held-out, not %r" % s)
    if not os.path.exists(a.model):
        ap.error("--model: no file %s" % a.model)
    rows = []
    for name, files, truth in P.sets(a):
        dets = detect(files, a.model)
        r = score(dets, truth)
        r["set"] = name
        if a.misses:
            r["misses"] = misses(files, dets, truth)
        rows.append(r)
        if a.json:
            print(json.dumps(r), flush=True)
    print("model: %s" % a.model)
    print("%-44s %5s %7s %7s %6s %6s %6s" % ("set", "n", "main", "+class", "no det", "AP50", "mAP50"))
    for r in rows:
        print("%-44s %5d %6.1f%% %6.1f%% %6d %6.3f %6.3f" % (r["set"][:44], r["n"], 100 * r["main"],
                                                             100 * r["main_class"], r["no_det"],
                                                             r["ap50_main"], r["map50"]))
    for r in rows:
        if "misses" in r:
            print("%s: %s" % (r["set"][:44], ", ".join("%s %d" % kv for kv in r["misses"].items())))


if __name__ == "__main__":
    main()
