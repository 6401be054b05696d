#!/usr/bin/python3
"""itqref.py - PCA + ITQ (Gong and Lazebnik, CVPR 2011) in numpy, the
reference that featmodel fitcodes is checked against (t/t4500), and a
retrieval score for codes.

Written from the paper and featmodel(5) alone, not from featkit's C.

  itqref.py fit FEAT.f32 D K [--iters N] [--seed S] [--out W.f32]
      fit on the features (raw float32, records x D): prints the share of
      the variance the K principal directions hold and the quantisation
      loss |B - V R|^2 / N before and after ITQ; --out writes the K x D
      projection (P R)^T and the K biases -(P R)^T mean (float32).

  itqref.py check FEAT.f32 D FIT0.fm FIT.fm ACTS.f32 LOSS VARIANCE [--iters N]
      FIT0.fm and FIT.fm are fitcodes' models of one seed, fitted with
      --iters 0 and with --iters N (default 50, give the same N here);
      ACTS.f32 the activations deepbit-extract --feat gives with FIT.fm; LOSS and
      VARIANCE the fit.loss and fit.variance of FIT.fm.  Checks, each
      printed with its figure, exit 1 if any fails:
        - the bias is -W mean (the features' mean);
        - W's rows, each made unit length (fitcodes scales row j by
          1 / the standard deviation of its projection), are orthonormal
          and lie in numpy's top-K PCA subspace (R = P^T W^T is
          orthogonal), and the variance share matches;
        - numpy ITQ from the start fitcodes used (R0 = P^T W0^T) gives,
          after the same iterations, the same bits as fitcodes' R (all but
          a few near zero) and the same loss (1e-3), its loss never rising;
        - fit.loss is |sign(V R) - V R|^2 / N of fitcodes' own R;
        - deepbit-extract's bits are the signs of (x - mean) W^T.

  itqref.py next FEAT.f32 D MODEL.fm WEIGHT BIAS ACTS.f32
      the features are the input of MODEL's next layer, an inner product
      of tensors WEIGHT and BIAS followed by a sigmoid: sigmoid(x W^T + b)
      must be ACTS.f32 (deepbit-extract --feat --no-mirror with MODEL)
      within 1e-5.

  itqref.py codes W.f32 FEAT.f32 D K > CODES.u8
      the codes of the features under a fit's --out (packed bits, MSB
      first, ceil(K/8) bytes a record: sign of x W^T + b).

  itqref.py fmnist OUT.fs LABELS.txt SPLIT FIRST COUNT
      Fashion-MNIST images FIRST..FIRST+COUNT of SPLIT (train, t10k) from
      /usr/share/datasets/fashion-mnist as a featstream (image u8 [28 28
      3], the grey value in each channel; keys SPLIT-I) and their labels.

  itqref.py map CODES.u8 LABELS.txt BITS
      mean average precision of Hamming ranking: each record queries all
      the others; relevant = same label.  CODES.u8: packed bits, MSB first,
      ceil(BITS/8) bytes a record (featinfo --raw code).
"""
import struct
import sys

import numpy as np

MAGIC = b"\x89FMD\r\n\x1a\n"


def tensors(path):
    """name -> float32 array, from a featmodel file's tensor directory."""
    buf = open(path, "rb").read()
    if buf[:8] != MAGIC:
        sys.exit("itqref: %s: not a featmodel file" % path)
    ntensor, = struct.unpack_from("<I", buf, 24)
    tdir, data = struct.unpack_from("<QQ", buf, 48)
    pos, out = tdir, {}
    for _ in range(ntensor):
        n, = struct.unpack_from("<I", buf, pos)
        name = buf[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        dtype, rank = struct.unpack_from("<II", buf, pos)
        dims = struct.unpack_from("<%dI" % rank, buf, pos + 8)
        pos += 8 + 4 * rank
        off, size = struct.unpack_from("<QQ", buf, pos)
        pos += 16
        if dtype == 5:
            out[name] = np.frombuffer(buf, np.float32, size // 4, data + off).reshape(dims)
    return out


def pca(x, k):
    mean = x.mean(0)
    xc = x - mean
    cov = xc.T @ xc / len(x)
    w, v = np.linalg.eigh(cov)
    order = np.argsort(w)[::-1]
    return mean, xc, w[order][:k], v[:, order[:k]], np.trace(cov)


def sign(z):
    return np.where(z > 0, 1.0, -1.0)


def itq(v, r, iters):
    """ITQ from r; returns r and the loss of each step (iters + 1)."""
    losses = []
    for t in range(iters + 1):
        b = sign(v @ r)
        losses.append(((b - v @ r) ** 2).sum() / len(v))
        if t == iters:
            break
        u, _, wt = np.linalg.svd(v.T @ b)
        r = u @ wt
    return r, losses


def load_feat(path, d):
    x = np.fromfile(path, np.float32).astype(np.float64)
    if x.size % d:
        sys.exit("itqref: %s: %d floats is not a multiple of %d" % (path, x.size, d))
    return x.reshape(-1, d)


def cmd_fit(argv):
    args, opts = [], {"--iters": "50", "--seed": "0", "--out": ""}
    while argv:
        a = argv.pop(0)
        if a in opts:
            opts[a] = argv.pop(0)
        else:
            args.append(a)
    x = load_feat(args[0], int(args[1]))
    k = int(args[2])
    mean, xc, w, p, tr = pca(x, k)
    v = xc @ p
    g = np.random.default_rng(int(opts["--seed"])).standard_normal((k, k))
    r0, _ = np.linalg.qr(g)
    r, losses = itq(v, r0, int(opts["--iters"]))
    print("variance %.6f loss0 %.6g loss %.6g" % (w.sum() / tr, losses[0], losses[-1]))
    if opts["--out"]:
        wt = (p @ r).T.astype(np.float32)
        np.concatenate([wt.ravel(), (-(wt.astype(np.float64) @ mean)).astype(np.float32)]
                       ).tofile(opts["--out"])


def cmd_check(argv):
    feat, d, fit0, fit, acts, loss_c, var_c = argv[:7]
    iters = int(argv[8]) if len(argv) > 8 and argv[7] == "--iters" else 50
    d = int(d)
    x = load_feat(feat, d)
    t0, t = tensors(fit0), tensors(fit)
    w0, w, b = (t0["fitcodes.weight"].astype(np.float64), t["fitcodes.weight"].astype(np.float64),
                t["fitcodes.bias"].astype(np.float64))
    # fitcodes divides each row by its projection's standard deviation
    # (the signs are the same): the rows, made unit again, are P R's
    n0, n = np.linalg.norm(w0, axis=1), np.linalg.norm(w, axis=1)
    w0, w, b = w0 / n0[:, None], w / n[:, None], b / n
    k = w.shape[0]
    mean, xc, ev, p, tr = pca(x, k)
    fails = 0

    def report(ok, what):
        nonlocal fails
        print("%s %s" % ("ok  " if ok else "FAIL", what))
        fails += not ok

    err = np.abs(b + w @ mean).max() / max(1e-12, np.abs(w @ mean).max())
    report(err < 1e-4, "bias = -W mean: relative error %.2g" % err)
    r = p.T @ w.T
    r0 = p.T @ w0.T
    for name, m in (("R0", r0), ("R", r)):
        e = np.abs(m.T @ m - np.eye(k)).max()
        report(e < 1e-3, "%s = P^T W^T orthogonal (W in numpy's PCA subspace): |R^T R - I| %.2g"
               % (name, e))
    var = ev.sum() / tr
    report(abs(var - float(var_c)) < 1e-4, "variance share %.6f, fitcodes %s" % (var, var_c))
    v = xc @ p
    rn, losses = itq(v, r0, iters)
    rising = max(np.diff(losses)) if iters else 0
    report(rising <= 1e-9 * losses[0], "numpy ITQ loss never rises (largest step %.2g)" % rising)
    _, own = itq(v, r, 0)
    report(abs(own[0] - float(loss_c)) <= 1e-3 * own[0],
           "fit.loss %s = loss of fitcodes' R in numpy %.6g" % (loss_c, own[0]))
    report(abs(losses[-1] - own[0]) <= 1e-3 * own[0],
           "loss after %d iterations: numpy %.6g, fitcodes %.6g" % (iters, losses[-1], own[0]))
    bn, bc = v @ rn > 0, v @ r > 0
    same = (bn == bc).mean()
    report(same >= 0.99, "bits of numpy's R and fitcodes' R agree: %.4f" % same)
    a = np.fromfile(acts, np.float32).reshape(-1, k)
    proj = xc @ w.T
    bad = ((a > 0.5) != (proj > 0)) & (np.abs(proj) > 1e-4 * np.abs(proj).max())
    report(a.shape[0] == len(x) and not bad.any(),
           "deepbit-extract bits = sign((x - mean) W^T): %d of %d differ away from 0"
           % (bad.sum(), bad.size))
    sys.exit(1 if fails else 0)


def cmd_next(argv):
    x = load_feat(argv[0], int(argv[1]))
    t = tensors(argv[2])
    w, b = t[argv[3]].astype(np.float64), t[argv[4]].astype(np.float64)
    want = 1 / (1 + np.exp(-(x @ w.T + b)))
    a = np.fromfile(argv[5], np.float32).reshape(-1, w.shape[0])
    err = np.abs(a - want).max() if a.shape == want.shape else float("inf")
    print("%s next layer of the features: %d x %d activations, largest difference %.2g"
          % ("ok  " if err < 1e-5 else "FAIL", a.shape[0], a.shape[1], err))
    sys.exit(0 if err < 1e-5 else 1)


def cmd_codes(argv):
    d, k = int(argv[2]), int(argv[3])
    wb = np.fromfile(argv[0], np.float32)
    w, b = wb[:k * d].reshape(k, d).astype(np.float64), wb[k * d:].astype(np.float64)
    x = load_feat(argv[1], d)
    bits = (x @ w.T + b > 0).astype(np.uint8)
    sys.stdout.buffer.write(np.packbits(bits, axis=1).tobytes())


def cmd_fmnist(argv):
    import gzip
    import os
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "t", "lib"))
    from mkstream import MAGIC as SMAGIC, record
    out, labels, split, first, count = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    top = "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(top, split + "-images-idx3-ubyte.gz")) as f:
        img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(top, split + "-labels-idx1-ubyte.gz")) as f:
        lab = np.frombuffer(f.read(), np.uint8, offset=8)
    with open(out, "wb") as f:
        f.write(SMAGIC + struct.pack("<HHI", 1, 0, 64) + bytes(48))
        for i in range(first, first + count):
            px = np.repeat(img[i][:, :, None], 3, axis=2)
            f.write(record({"key": "%s-%d" % (split, i), "tensors": [
                {"name": "image", "dtype": "u8", "shape": [28, 28, 3], "hex": px.tobytes().hex()}]}))
    open(labels, "w").write("".join("%d\n" % lab[i] for i in range(first, first + count)))


def cmd_map(argv):
    bits = int(argv[2])
    nb = (bits + 7) // 8
    codes = np.unpackbits(np.fromfile(argv[0], np.uint8).reshape(-1, nb), axis=1)[:, :bits]
    labels = np.array(open(argv[1]).read().split())
    n = len(codes)
    c = codes.astype(np.int32)
    ham = bits - (c @ c.T + (1 - c) @ (1 - c).T)
    aps = []
    for i in range(n):
        order = np.argsort(ham[i], kind="stable")
        order = order[order != i]
        rel = labels[order] == labels[i]
        if rel.any():
            hits = np.cumsum(rel)
            aps.append((hits[rel] / (np.nonzero(rel)[0] + 1)).mean())
    print("mAP %.4f over %d queries" % (np.mean(aps), len(aps)))


def main(argv):
    cmds = {"fit": cmd_fit, "check": cmd_check, "next": cmd_next, "codes": cmd_codes,
            "fmnist": cmd_fmnist, "map": cmd_map}
    if not argv or argv[0] not in cmds:
        sys.exit(__doc__)
    cmds[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
