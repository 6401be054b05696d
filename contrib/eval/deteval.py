#!/usr/bin/python3
"""deteval.py - featkit's detector, through its C pipeline, on photos it was
not trained on.

    /usr/bin/python3 contrib/eval/deteval.py [--set b,held-out] [-n 300] [--seed 1]
                                             [--model PATH] [--dir DIR]

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
  main     photos whose top-scoring detection has IoU >= 0.5 with the main
           item (any class): what cropbox relies on;
  +class   the same, and of the main item's class;
  no det   photos with no detection at all (or an error record);
  AP50     all-point AP at IoU 0.5 of the main item, class-agnostic: each
           photo's best-scoring detection on its main item is a true
           positive; detections on another labelled item (IoU >= 0.5) are
           left out; all others are false positives;
  mAP50    10-class mean AP at IoU 0.5 over every labelled item (VOC
           all-point AP; a class with no item is left out).

--model PATH: the detector (default: the shipped models/ssd.fm).  --json
also prints each row as a JSON line.  Needs python3-numpy, python3-pil, and
for held-out python3-torch (contrib/train's modules).
"""
import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import scenes_b  # noqa: E402


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


def read_boxes(path):
    """{file: [(label 0-9, box, is_main)]}, main first."""
    out = {}
    with open(path) as f:
        for n, ln in enumerate(f, 1):
            p = ln.rstrip("\n").split("\t")
            if len(p) < 7:
                sys.exit("deteval: %s:%d: expected file, label, class, xmin, ymin, xmax, ymax" % (path, n))
            role = p[7] if len(p) > 7 else ""
            out.setdefault(p[0], []).append([int(p[1]), tuple(float(v) for v in p[3:7]), role])
    for rows in out.values():
        mains = [r for r in rows if r[2] == "main"]
        main = mains[0] if mains else rows[0]
        rows.remove(main)
        rows.insert(0, main)
        for k, r in enumerate(rows):
            r[2] = k == 0
    return out


def detect(files, model, binpath):
    env = dict(os.environ)
    if binpath:
        env["PATH"] = binpath + os.pathsep + env.get("PATH", "")
    cmd = ["sh", "-c", 'imgdecode -q | imgprep -q -m "$1" | ssd-detect -q -m "$1" | '
           'featwrite -q -f jsonl -e 100%', "deteval", model]
    p = subprocess.run(cmd, input="".join(f + "\n" for f in files), env=env,
                       capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit("deteval: the pipeline failed (%d): %s" % (p.returncode, p.stderr.strip()))
    dets = {}
    for ln in p.stdout.splitlines():
        r = json.loads(ln)
        d = r.get("dets", []) if r.get("status") == "ok" else []
        dets[r["key"]] = sorted(((x["score"], int(x["label"]), tuple(x["box"])) for x in d),
                                key=lambda t: -t[0])
    missing = [f for f in files if f not in dets]
    if missing:
        sys.exit("deteval: no record for %s" % missing[0])
    return [dets[f] for f in files]


def score(dets, truth):
    """dets: per photo [(score, label 1-10, box)] best first; truth: per photo [(label 0-9, box, main)]."""
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
        for s, _, b in d:
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


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def set_b(a):
    d = a.dir or tmpdir("deteval-b.")
    bt = os.path.join(d, "boxes.tsv")
    if not os.path.exists(bt):
        scenes_b.generate(d, a.n, a.seed)
    boxes = read_boxes(bt)
    files = sorted(boxes)
    return "generator B (%s)" % d, [os.path.join(d, f) for f in files], [boxes[f] for f in files]


def set_held_out(a):
    sys.path.insert(0, os.path.join(TOP, "contrib", "train"))
    import evaluate as E  # the project's held-out scenes, as evaluate.py makes them
    import train_ssd as TS
    d = tmpdir("deteval-h.")
    files, truth = [], []
    for k, (blob, lab, box, _) in enumerate(E.held_out(a.n, 1000 + a.seed, TS.SIZES, False)):
        f = os.path.join(d, "h%05d.png" % k)
        with open(f, "wb") as fh:
            fh.write(blob)
        files.append(f)
        truth.append([(lab - 1, tuple(float(v) for v in box), True)])
    return "held-out scenes (seed %d)" % (1000 + a.seed), files, truth


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="b,held-out", help="b, held-out or both (default b,held-out)")
    ap.add_argument("-n", type=int, default=300, help="photos a set (default 300)")
    ap.add_argument("--seed", type=int, default=1, help="generator B's seed; held-out uses 1000+S")
    ap.add_argument("--model", default=os.path.join(TOP, "models", "ssd.fm"))
    ap.add_argument("--dir", help="generator B's folder (made when it has no boxes.tsv, else reused)")
    ap.add_argument("--json", action="store_true")
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
    binpath = os.path.join(TOP, "build", "bin")
    binpath = binpath if os.path.exists(os.path.join(binpath, "ssd-detect")) else None
    rows = []
    for s in sets:
        name, files, truth = (set_b if s == "b" else set_held_out)(a)
        r = score(detect(files, a.model, binpath), truth)
        r["set"] = name
        rows.append(r)
        if a.json:
            print(json.dumps(r), flush=True)
    print("model: %s" % a.model)
    print("%-44s %5s %7s %7s %6s %6s %6s" % ("set", "n", "main", "+class", "no det", "AP50", "mAP50"))
    for r in rows:
        print("%-44s %5d %6.1f%% %6.1f%% %6d %6.3f %6.3f" % (r["set"][:44], r["n"], 100 * r["main"],
                                                             100 * r["main_class"], r["no_det"],
                                                             r["ap50_main"], r["map50"]))


if __name__ == "__main__":
    main()
