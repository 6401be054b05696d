#!/usr/bin/python3
"""evaluate.py - the quality table of featkit's default models (README).

    /usr/bin/python3 contrib/train/evaluate.py [--models DIR] [--weights DIR] [--quick]
        [--queries N]

1. The detector on held-out scenes (Fashion-MNIST's t10k items, seeds
   never used in training): mAP at IoU 0.5 over the 10 classes (VOC's
   all-point AP) of every labelled item, the faint distractors too, on scenes of training-like sizes (PNG) and on
   photo-sized ones (640x480, JPEG quality 75); in PyTorch (decode with
   PIL, imgprep's resize in numpy, the torch network, Caffe's
   DetectionOutput in numpy: contrib/ssdref.py) and through featkit's C
   pipeline (imgdecode | imgprep --for ssd | ssd-detect).
2. The codes on Fashion-MNIST (test queries against the 60000 train items,
   relevant = same class, Hamming ranking, mean average precision), next
   to LSH and ITQ on the same 32x32 grey inputs at equal bits; 1000
   test queries drawn with a fixed seed, or --queries N (10000: all).
3. The codes on cluttered scenes (held-out query scenes against scenes of
   train items): computed on the whole photo, on the detector's crop and
   on the true crop.
4. The C pipeline against the PyTorch pipeline on held-out scenes: the
   share of code bits that agree, and the detector's mAP through each.
Needs the C programs on PATH (make; PATH=build/bin:$PATH) for the C rows.
"""
import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import ssdref  # noqa: E402
import train_deepbit as TD  # noqa: E402
import train_ssd as TS  # noqa: E402

torch.set_num_threads(1)


# ------------------------------------------------------------ detection

def ap_voc(scores, correct, npos):
    """All-point interpolated AP."""
    if npos == 0:
        return float("nan")
    o = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.asarray(correct, float)[o]
    fp = 1 - tp
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, 1e-9)
    mrec = np.concatenate([[0], rec, [1]])
    mpre = np.concatenate([[0], prec, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]).sum())


def iou_px(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0.0


def map50(dets, gts, others=None):
    """dets: per image (N, 6) label, score, box px; gts: (label, box) of
    the main item; others: per image the (label, box) of its other
    items, which count as objects of their classes too (as deteval.py
    scores every labelled item)."""
    aps = []
    for c in range(1, 11):
        sc, ok, npos = [], [], 0
        for k, (d, g) in enumerate(zip(dets, gts)):
            items = [b for gl, b in [g] + (list(others[k]) if others else []) if gl == c]
            npos += len(items)
            used = [False] * len(items)
            for r in d[np.argsort(-d[:, 1], kind="stable")] if len(d) else []:
                if int(r[0]) != c:
                    continue
                best, bi = 0.0, -1
                for j, b in enumerate(items):
                    v = iou_px(r[2:], b)
                    if v > best:
                        best, bi = v, j
                hit = best >= 0.5 and not used[bi]
                if hit:
                    used[bi] = True
                sc.append(r[1])
                ok.append(hit)
        aps.append(ap_voc(sc, ok, npos))
    return float(np.nanmean(aps))


def ap50_object(dets, gts, others=None):
    """AP at IoU 0.5 of the main object whatever its class: what cropbox
    needs from the detector.  others: per image the boxes of its other
    items; a detection on one (IoU >= 0.5) is left out, as deteval.py
    does."""
    sc, ok = [], []
    for k, (d, (_, gb)) in enumerate(zip(dets, gts)):
        used = False
        for r in d[np.argsort(-d[:, 1], kind="stable")] if len(d) else []:
            hit = not used and iou_px(r[2:], gb) >= 0.5
            if not hit and others and any(iou_px(r[2:], b) >= 0.5 for _, b in others[k]):
                continue
            used |= hit
            sc.append(r[1])
            ok.append(hit)
    return ap_voc(sc, ok, len(gts))


def held_out(n, seed, sizes, jpeg):
    rng = np.random.default_rng(seed)
    imgs, labs = C.load_fmnist("t10k")
    out = []
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        idx = int(rng.integers(0, len(imgs)))
        others = []
        img, box = C.scene(rng, imgs, idx, h, w, tight=True, others=others)
        buf = io.BytesIO()
        if jpeg:
            Image.fromarray(img).save(buf, "JPEG", quality=75)
        else:
            Image.fromarray(img).save(buf, "PNG")
        out.append((buf.getvalue(), int(labs[idx]) + 1, box, idx,
                    [(int(labs[j]) + 1, b) for j, b in others]))
    return out


def load_img(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def torch_detect(net, meta, pri, var, img):
    x = torch.from_numpy(C.prep(img, C.IMG, C.IMG)[None])
    with torch.no_grad():
        loc, conf = net(x, export=True)
    if ssdref._bool(meta.get("mirror"), False):
        # as ssd-detect: the mirror image's boxes merged in
        with torch.no_grad():
            floc, fconf = net(x.flip(-1), export=True)
        d = ssdref.mirror(ssdref.detect(loc[0].numpy(), conf[0].numpy(), pri, var, meta, False,
                                        keep_top_k=-1),
                          ssdref.detect(floc[0].numpy(), fconf[0].numpy(), pri, var, meta, False,
                                        keep_top_k=-1),
                          meta)
    else:
        d = ssdref.detect(loc[0].numpy(), conf[0].numpy(), pri, var, meta)
    h, w = img.shape[:2]
    d[:, [2, 4]] *= w
    d[:, [3, 5]] *= h
    d[:, 2:] = np.clip(d[:, 2:], 0, [w, h, w, h])
    # as ssd-detect: the main box by its area in the photo, clipped
    return ssdref.main_first(d, meta)


def run_c(files, cmd, models):
    env = dict(os.environ, FEAT_MODELS=models)
    p = subprocess.run(cmd, shell=True, input="".join(f + "\n" for f in files), env=env,
                       capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit("evaluate: %s: %s" % (cmd, p.stderr.strip()))
    return p.stdout.splitlines()


# ----------------------------------------------------------- retrieval

def mean_ap(qc, ql, dc, dl):
    """Hamming ranking mAP; codes as bool arrays."""
    qb = np.packbits(qc, 1)
    db = np.packbits(dc, 1)
    table = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], 1).sum(1)
    aps = []
    for i in range(len(qb)):
        d = table[np.bitwise_xor(db, qb[i])].sum(1)
        o = np.argsort(d, kind="stable")
        rel = dl[o] == ql[i]
        if not rel.any():
            continue
        hits = np.cumsum(rel)
        aps.append(float((hits[rel] / (np.nonzero(rel)[0] + 1)).mean()))
    return float(np.mean(aps))


def lsh(Xq, Xd, bits, seed=0):
    mu = Xd.mean(0)
    P = np.random.default_rng(seed).standard_normal((Xd.shape[1], bits))
    return (Xq - mu) @ P > 0, (Xd - mu) @ P > 0


def itq_codes(Xq, Xd, bits, seed=0):
    mu, P = TD.itq(Xd, bits, seed=seed)
    return (Xq - mu) @ P > 0, (Xd - mu) @ P > 0


def items32(items):
    """Fashion-MNIST items as the descriptor sees a tight crop: 28x28 grey
    resized to 32x32 by imgprep's rule."""
    return np.stack([C.prep(np.repeat(it[:, :, None], 3, 2), 32, 32, gray=True) for it in items])


def codes_torch(coder, X):
    out = []
    with torch.no_grad():
        for k in range(0, len(X), 1000):
            out.append(coder(torch.from_numpy(X[k:k + 1000])).numpy() > 0.5)
    return np.concatenate(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(C.TOP, "models"))
    ap.add_argument("--weights", default=os.path.join(C.TOP, "contrib", "train", "weights"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--queries", type=int, default=1000,
                    help="Fashion-MNIST test queries (at most 10000)")
    a = ap.parse_args()
    if a.queries < 1:
        ap.error("--queries: at least 1")
    t0 = time.time()
    q = 0.25 if a.quick else 1.0
    rows = []

    net = TS.load(a.weights)
    meta = C.ssd_meta()
    grids = {"p%d" % i: (g[0], g[0]) for i, g in enumerate(C.GENS)}
    pri, var = ssdref.priors(meta, C.IMG, C.IMG, grids)
    coders = {}
    for bits in (32, 64):
        cd = TD.Coder(TD.Net(), np.zeros((bits, 256), np.float32), np.zeros(bits, np.float32))
        cd.load_state_dict(torch.load(os.path.join(a.weights, "deepbit%d.pt" % bits)))
        coders[bits] = cd.eval()
    have_c = subprocess.run("command -v ssd-detect && command -v deepbit-extract", shell=True,
                            capture_output=True).returncode == 0

    # 1 and 4: detection, PyTorch and C; codes C vs PyTorch
    tmp = tempfile.mkdtemp(prefix="featkit-eval.")
    sets = [("held-out scenes, 160-480 px, PNG", held_out(int(400 * q), 1001, TS.SIZES, False)),
            ("held-out photos, 640x480, JPEG q75", held_out(int(200 * q), 1002, [(480, 640)], True))]
    agree = []
    for name, data in sets:
        files, gts, dets_t = [], [], []
        for k, (blob, lab, box, _, _) in enumerate(data):
            f = os.path.join(tmp, "%s-%04d.%s" % (name[:8].replace(" ", ""), k,
                                                   "jpg" if "JPEG" in name else "png"))
            open(f, "wb").write(blob)
            files.append(f)
            gts.append((lab, box))
            dets_t.append(torch_detect(net, meta, pri, var, load_img(blob)))
        oth = [o for _, _, _, _, o in data]
        row = {"set": name, "n": len(data), "map50_torch": map50(dets_t, gts, oth),
               "ap50obj_torch": ap50_object(dets_t, gts, oth)}
        if have_c:
            lines = run_c(files, "imgdecode -q | imgprep -q --for ssd | ssd-detect -q | "
                          "featwrite -q -f jsonl -e 100%", a.models)
            dets_c = []
            for ln in lines:
                d = json.loads(ln).get("dets", [])
                dets_c.append(np.array([[x["label"], x["score"]] + x["box"] for x in d],
                                       np.float32).reshape(-1, 6))
            row["map50_c"] = map50(dets_c, gts, oth)
            row["ap50obj_c"] = ap50_object(dets_c, gts, oth)
            # codes, whole pipeline, both ways
            lines = run_c(files, "imgdecode -q | imgprep -q --for ssd | ssd-detect -q | cropbox -q | "
                          "imgprep -q --for deepbit | deepbit-extract -q | featwrite -q -f tsv -e 100%",
                          a.models)
            cc = np.array([np.unpackbits(np.frombuffer(bytes.fromhex(ln.split("\t")[2]), np.uint8))
                           for ln in lines])
            tc = []
            for (blob, _, _, _, _), d in zip(data, dets_t):
                img = load_img(blob)
                r = ssdref.main_box(d, img.shape[1], img.shape[0])
                crop = img if r is None else img[r[1]:r[3], r[0]:r[2]]
                x = C.prep(np.ascontiguousarray(crop), 32, 32, gray=True)
                with torch.no_grad():
                    tc.append(coders[64](torch.from_numpy(x[None])).numpy()[0] > 0.5)
            tc = np.array(tc)
            agree.append((cc == tc).mean())
            row["bits_agree"] = float((cc == tc).mean())
        rows.append(row)
        print("detector:", json.dumps(row), flush=True)

    # 2: Fashion-MNIST retrieval
    tr, trl = C.load_fmnist("train")
    te, tel = C.load_fmnist("t10k")
    nq = min(int(a.queries * q), len(te))
    qi = np.random.default_rng(7).permutation(len(te))[:nq]
    Xd, Xq = items32(tr), items32(te[qi])
    Rd, Rq = Xd.reshape(len(Xd), -1).astype(np.float64), Xq.reshape(len(Xq), -1).astype(np.float64)
    ret = []
    for bits in (32, 64):
        r = {"bits": bits}
        cq, cdb = lsh(Rq, Rd, bits)
        r["lsh"] = mean_ap(cq, tel[qi], cdb, trl)
        cq, cdb = itq_codes(Rq, Rd, bits)
        r["itq"] = mean_ap(cq, tel[qi], cdb, trl)
        r["deepbit"] = mean_ap(codes_torch(coders[bits], Xq), tel[qi], codes_torch(coders[bits], Xd), trl)
        ret.append(r)
        print("fashion-mnist retrieval:", json.dumps(r), flush=True)

    # 3: cluttered scenes
    nd, nq2 = int(3000 * q), int(300 * q)
    def scenes(split_imgs, split_labs, n, seed):
        g = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            idx = int(g.integers(0, len(split_imgs)))
            img, box = C.scene(g, split_imgs, idx, 360, 480)
            out.append((img, box, int(split_labs[idx])))
        return out
    dbs, qs = scenes(tr, trl, nd, 3001), scenes(te, tel, nq2, 3002)
    clut = {}
    for how in ("whole photo", "detected crop", "true crop"):
        def xs(sc):
            X = []
            for img, box, _ in sc:
                if how == "whole photo":
                    crop = img
                elif how == "true crop":
                    crop = img[box[1]:box[3], box[0]:box[2]]
                else:
                    r = ssdref.main_box(torch_detect(net, meta, pri, var, img), img.shape[1], img.shape[0])
                    crop = img if r is None else img[r[1]:r[3], r[0]:r[2]]
                X.append(C.prep(np.ascontiguousarray(crop), 32, 32, gray=True))
            return np.stack(X)
        Xdb, Xqq = xs(dbs), xs(qs)
        ldb, lq = np.array([s[2] for s in dbs]), np.array([s[2] for s in qs])
        clut[how] = {b: mean_ap(codes_torch(coders[b], Xqq), lq, codes_torch(coders[b], Xdb), ldb)
                     for b in (32, 64)}
        print("cluttered scenes, %s:" % how, json.dumps(clut[how]), flush=True)

    print()
    print("featkit's default models: quality (contrib/train/evaluate.py, %.0f s)" % (time.time() - t0))
    print("detector, AP at IoU 0.5                   main object (any class)   mAP over 10 classes")
    print("                                             PyTorch   C (featkit)     PyTorch   C (featkit)")
    for r in rows:
        print("  %-42s %7.3f   %7s         %7.3f   %7s" % (
            "%s (%d)" % (r["set"], r["n"]), r["ap50obj_torch"],
            "%.3f" % r["ap50obj_c"] if "ap50obj_c" in r else "-", r["map50_torch"],
            "%.3f" % r["map50_c"] if "map50_c" in r else "-"))
    print("retrieval mAP, Fashion-MNIST (%d test queries vs 60000 train)" % nq)
    print("  bits      LSH     ITQ     featkit DeepBit")
    for r in ret:
        print("  %4d    %.3f   %.3f   %.3f" % (r["bits"], r["lsh"], r["itq"], r["deepbit"]))
    print("retrieval mAP, cluttered scenes (%d queries vs %d scenes)" % (nq2, nd))
    print("  code of          32 bits   64 bits")
    for how in ("whole photo", "detected crop", "true crop"):
        print("  %-15s   %.3f     %.3f" % (how, clut[how][32], clut[how][64]))
    if agree:
        print("C pipeline vs PyTorch pipeline: %.4f%% of code bits agree (64 bits, held-out scenes)"
              % (100 * float(np.mean(agree))))


if __name__ == "__main__":
    main()
