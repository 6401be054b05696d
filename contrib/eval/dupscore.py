#!/usr/bin/python3
"""dupscore.py - precision, recall and F1 over pairs, for contrib/dupeval.sh.

    dupscore.py pairs TRUTH LABEL PAIRS...       score pair lists ("a b" lines)
    dupscore.py hashes TRUTH DIR DETS            perceptual-hash peers
    dupscore.py recall TRUTH REPOSTS PAIRS       recall by transformation

A pair found is right when both photos belong to one group of TRUTH
(file TAB group).  'pairs' prints one row per PAIRS file (LABEL may hold
%s for its radius, taken from the file name's last number) and, with
several files, marks the one of best F1.  'hashes' computes 64-bit pHash
(DCT of 32x32 grey, the 8x8 lowest frequencies against their median) and
dHash (9x8 grey, left < right) of each whole photo and of the top box of
featkit's detector in DETS (featwrite -f jsonl), and prints each at its
best radius: the peers' most favourable setting.  'recall' prints, for
each transformation of REPOSTS (dupset_b.py's reposts.tsv: file TAB
transformations joined by +), how many of the (source photo, re-post)
pairs whose re-post went through it are in PAIRS: what loses the pairs.
"""
import itertools
import json
import os
import re
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ssdref import main_box  # noqa: E402  (cropbox's default crop)


def truth_pairs(path):
    g = dict(l.split("\t") for l in open(path).read().splitlines() if l)
    groups = {}
    for f, k in g.items():
        groups.setdefault(k, []).append(f)
    return g, {tuple(sorted(p)) for fs in groups.values() for p in itertools.combinations(fs, 2)}


def prf(got, truth):
    tp = len(got & truth)
    p = tp / len(got) if got else 0.0
    r = tp / len(truth) if truth else 0.0
    f = 2 * p * r / (p + r) if tp else 0.0
    return len(got), p, r, f


def row(label, n, p, r, f):
    print("  %-52s %6d %9.3f %7.3f %6.3f" % (label, n, p, r, f), flush=True)


def dct_matrix(n):
    k = np.arange(n)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * np.sqrt(2 / n)
    m[0] /= np.sqrt(2)
    return m


D32 = dct_matrix(32)


def phash(im):
    g = np.asarray(im.convert("L").resize((32, 32), Image.BILINEAR), np.float64)
    c = (D32 @ g @ D32.T)[:8, :8].flatten()
    return c > np.median(c)


def dhash(im):
    g = np.asarray(im.convert("L").resize((9, 8), Image.BILINEAR), np.float64)
    return (g[:, 1:] > g[:, :-1]).flatten()


def best_radius(files, codes, g):
    """The radius (0-32) of best F1 over pairs, and its scores."""
    C = np.array([codes[f] for f in files])
    grp = np.array([g[f] for f in files])
    iu = np.triu_indices(len(files), 1)
    dist = (C[:, None, :] != C[None, :, :]).sum(2)[iu]
    same = grp[iu[0]] == grp[iu[1]]
    ntrue = int(same.sum())
    best = None
    for rad in range(0, 33):
        got = dist <= rad
        n, tp = int(got.sum()), int((got & same).sum())
        p = tp / n if n else 0.0
        r = tp / ntrue if ntrue else 0.0
        s = (n, p, r, 2 * p * r / (p + r) if tp else 0.0)
        if best is None or s[3] > best[1][3]:
            best = (rad, s)
    return best


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "pairs":
        _, truth = truth_pairs(sys.argv[2])
        res = []
        for p in sys.argv[4:]:
            got = {tuple(sorted(l.split()[:2])) for l in open(p) if l.strip()}
            m = re.findall(r"\d+", os.path.basename(p))
            label = sys.argv[3].replace("%s", m[-1] if m else "?")
            res.append((label, prf(got, truth)))
        top = max(range(len(res)), key=lambda k: res[k][1][3])
        for k, (label, s) in enumerate(res):
            row(label + (" (best)" if len(res) > 1 and k == top else ""), *s)
        return
    if len(sys.argv) == 5 and sys.argv[1] == "hashes":
        g, truth = truth_pairs(sys.argv[2])
        d = sys.argv[3]
        dets = {}
        for line in open(sys.argv[4]):
            j = json.loads(line)
            ds = j.get("dets") or []
            # best first, as cropbox ranks them (equal scores: row order)
            ds = sorted(ds, key=lambda r: -r["score"])
            dets[os.path.basename(j["key"])] = [[r["label"], r["score"]] + r["box"] for r in ds]
        files = sorted(g)
        whole, crop = {}, {}
        for f in files:
            im = Image.open(os.path.join(d, f)).convert("RGB")
            whole[f] = im
            # featkit's crop: cropbox's default (the best box, 0.1 around it)
            b = main_box(dets.get(f) or [], im.size[0], im.size[1])
            crop[f] = im.crop(b) if b and b[2] - b[0] >= 2 and b[3] - b[1] >= 2 else im
        for name, fn in (("pHash", phash), ("dHash", dhash)):
            for where, ims in (("whole photo", whole), ("featkit's crop", crop)):
                rad, s = best_radius(files, {f: fn(ims[f]) for f in files}, g)
                row("%s 64-bit, %s, best radius %d" % (name, where, rad), *s)
        return
    if len(sys.argv) == 5 and sys.argv[1] == "recall":
        g, _ = truth_pairs(sys.argv[2])
        got = {tuple(sorted(l.split()[:2])) for l in open(sys.argv[4]) if l.strip()}
        src = {}
        for f, k in g.items():
            if re.search(r"-0\.[a-z]+$", f):
                src[k] = f
        hit, alone = {}, {}
        for l in open(sys.argv[3]):
            f, t = l.rstrip("\n").split("\t")
            if f not in g or src.get(g[f]) in (None, f):
                continue
            ok = tuple(sorted((f, src[g[f]]))) in got
            names = t.split("+")
            for n in names:
                hit.setdefault(n, []).append(ok)
            if len(names) == 1:
                alone.setdefault(names[0], []).append(ok)
        print("  recall of (source, re-post) pairs by what the re-post went through:")
        print("  %-12s %14s %14s" % ("", "among others", "alone"))
        for n in sorted(hit):
            a = alone.get(n, [])
            print("  %-12s %4d/%-4d %.2f %4d/%-4d %.2f" % (n, sum(hit[n]), len(hit[n]), sum(hit[n]) / len(hit[n]),
                                                      sum(a), len(a), sum(a) / len(a) if a else 0.0))
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
