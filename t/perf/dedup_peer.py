#!/usr/bin/python3
"""dedup_peer.py - codes for t/perf/bench-dedup.sh, and its FAISS peer.

  dedup_peer.py gen N NEAR SEED OUT
      N random 64-bit codes, of which NEAR are planted near-duplicates: a
      copy of another code (chosen at random among the first N - NEAR)
      with 1 to 6 bits flipped, at a random position.  Writes OUT.fcd (a
      featcodes(5) file, keys c0 c1 ...), OUT.u8 (the codes as N x 8 bytes,
      the same bytes in the same order, for FAISS) and OUT.json.
  dedup_peer.py faiss CODES.u8 R1,R2,... THREADS OUT BUDGET
      Times FAISS IndexBinaryFlat 1-NN queries, and the self-join by
      IndexBinaryMultiHash range_search at each radius: for each radius
      the best of nhash 2..4 tables of 64 / nhash bits (nflip = r // nhash,
      exact by the pigeonhole principle), chosen on 5000 sample queries.
      When all N queries would take over BUDGET seconds, a random sample
      of queries that fits in BUDGET runs and the time is scaled to N
      (its ids go to OUT.rR.sample).  Pairs (i < j, distance <= r, either
      end among the queries) go to OUT.rR.pairs as sorted "i j d" lines.
"""
import json
import sys
import time

import numpy as np


def gen(n, near, seed, out):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2**64, size=n, dtype=np.uint64, endpoint=False)
    base = n - near
    if near:
        src = rng.integers(0, base, size=near)
        flips = rng.integers(1, 7, size=near)
        planted = codes[src].copy()
        for k in range(6):
            bit = rng.integers(0, 64, size=near).astype(np.uint64)
            mask = (flips > k)
            planted[mask] ^= (np.uint64(1) << bit[mask])
        pos = rng.permutation(n)[:near]
        # place them anywhere in the file (ids are positions)
        rest = np.setdiff1d(np.arange(n), pos, assume_unique=True)
        allc = np.empty(n, dtype=np.uint64)
        allc[rest] = codes[:base]
        allc[pos] = planted
        codes = allc
    # codes are bytes MSB first; the uint64's big-endian bytes are the code
    raw = codes.astype('>u8').view(np.uint8).reshape(n, 8)
    raw.tofile(out + '.u8')
    kw = 12
    rec = (8 + 4 + kw + 7) // 8 * 8
    hdr = bytearray(64)
    hdr[0:8] = b'\x89FCD\r\n\x1a\n'
    hdr[8:10] = (1).to_bytes(2, 'little')
    hdr[10:12] = (0).to_bytes(2, 'little')
    hdr[12:16] = (64).to_bytes(4, 'little')
    hdr[16:20] = (64).to_bytes(4, 'little')
    hdr[20:24] = (8).to_bytes(4, 'little')
    hdr[24:28] = (kw).to_bytes(4, 'little')
    hdr[28:32] = (rec).to_bytes(4, 'little')
    hdr[32:40] = (n).to_bytes(8, 'little')
    recs = np.zeros((n, rec), dtype=np.uint8)
    recs[:, 0:8] = raw
    keys = np.char.add('c', np.arange(n).astype(str)).astype('S%d' % kw)
    lens = np.char.str_len(keys.astype(str)).astype('<u4')
    recs[:, 8:12] = lens.view(np.uint8).reshape(n, 4)
    recs[:, 12:12 + kw] = keys.view(np.uint8).reshape(n, kw)
    with open(out + '.fcd', 'wb') as f:
        f.write(hdr)
        recs.tofile(f)
    # 1-NN queries: 500 codes of the set with 0 to 4 bits flipped (looking
    # up a near-duplicate), then 500 random codes (nearest about 9 away)
    nq = 500
    q1 = codes[rng.integers(0, n, nq)].copy()
    fl = rng.integers(0, 5, nq)
    for k in range(4):
        bit = rng.integers(0, 64, size=nq).astype(np.uint64)
        q1[fl > k] ^= (np.uint64(1) << bit[fl > k])
    q = np.concatenate([q1, rng.integers(0, 2**64, size=nq, dtype=np.uint64)])
    qraw = q.astype('>u8').view(np.uint8).reshape(-1, 8)
    qraw.tofile(out + '.q.u8')
    with open(out + '.q.tsv', 'w') as f:
        for i, row in enumerate(qraw):
            f.write('q%d\t%s\n' % (i, row.tobytes().hex()))
    with open(out + '.json', 'w') as f:
        json.dump({'n': n, 'near': near, 'seed': seed, 'bits': 64}, f)


def write_pairs(lims, D, I, qids, r, path):
    """Pairs (min, max, d) with d <= r from range_search results of the
    queries qids; sorted, one line each."""
    cnt = np.diff(lims.astype(np.int64))
    q = np.repeat(np.asarray(qids, dtype=np.int64), cnt)
    J = I.astype(np.int64)
    keep = (J != q) & (D <= r)
    a, b = np.minimum(q, J)[keep], np.maximum(q, J)[keep]
    P = np.unique(np.stack([a, b, D[keep].astype(np.int64)], 1), axis=0)
    np.savetxt(path, P, fmt='%d')
    return len(P)


def run_faiss(u8, radii, threads, out, budget):
    import faiss
    faiss.omp_set_num_threads(threads)
    X = np.fromfile(u8, dtype=np.uint8).reshape(-1, 8)
    n = X.shape[0]
    rng = np.random.default_rng(1)
    print('n', n, 'threads', threads, 'faiss', faiss.__version__)
    # 1-NN latency: the queries of gen, one at a time
    Q = np.fromfile(u8[:-3] + '.q.u8', dtype=np.uint8).reshape(-1, 8)
    t = time.perf_counter()
    flat = faiss.IndexBinaryFlat(64)
    flat.add(X)
    print('flat_build', time.perf_counter() - t)
    exact = np.empty(len(Q), dtype=np.int64)
    t = time.perf_counter()
    for i in range(len(Q)):
        D, _ = flat.search(Q[i:i + 1], 1)
        exact[i] = D[0, 0]
    print('knn_flat_ms', (time.perf_counter() - t) / len(Q) * 1e3)
    np.savetxt(out + '.knn', exact, fmt='%d')
    # MultiHash: each nhash of 2..4 tables of 64 / nhash bits, built once;
    # a radius r is exact with nflip = r // nhash (pigeonhole).  The rate
    # of each is taken on a sample of queries; the best runs the join.
    probe = rng.choice(n, size=min(n, 5000), replace=False)
    best = {}
    for nhash in (2, 3, 4):
        t = time.perf_counter()
        ix = faiss.IndexBinaryMultiHash(64, nhash, 64 // nhash)
        ix.add(X)
        tb = time.perf_counter() - t
        print('mh_build nhash %d %.3f' % (nhash, tb))
        # MultiHash k-NN is approximate (only codes within nflip of a
        # substring are seen): time and share of queries answered exactly
        for nflip in (0, 1):
            ix.nflip = nflip
            got = np.empty(len(Q), dtype=np.int64)
            t = time.perf_counter()
            for i in range(len(Q)):
                D, _ = ix.search(Q[i:i + 1], 1)
                got[i] = D[0, 0]
            print('knn_mh nhash %d nflip %d ms %.4f exact %.3f'
                  % (nhash, nflip, (time.perf_counter() - t) / len(Q) * 1e3,
                     np.mean(got == exact)))
        for r in radii:
            ix.nflip = r // nhash
            t = time.perf_counter()
            ix.range_search(X[probe], r + 1)   # returns distances < radius
            rate = (time.perf_counter() - t) / len(probe)
            print('mh_rate nhash %d r %d %.3g s/query' % (nhash, r, rate))
            if r not in best or rate < best[r][1]:
                best[r] = (nhash, rate, tb)
        del ix
    for r in radii:
        nhash, rate, tb = best[r]
        ix = faiss.IndexBinaryMultiHash(64, nhash, 64 // nhash)
        ix.add(X)
        ix.nflip = r // nhash
        nq = n if rate * n <= budget else max(1000, int(budget / rate))
        qids = np.arange(n) if nq == n else np.sort(rng.choice(n, size=nq, replace=False))
        t = time.perf_counter()
        lims, D, I = ix.range_search(X[qids], r + 1)
        tj = time.perf_counter() - t
        np_ = write_pairs(lims, D, I, qids, r, '%s.r%d.pairs' % (out, r))
        if nq < n:
            np.savetxt('%s.r%d.sample' % (out, r), qids, fmt='%d')
        # the self-join's time: measured, or scaled from nq queries
        print('mh_join r %d nhash %d build %.3f queries %d time %.3f join %.3f pairs %d'
              % (r, nhash, tb, nq, tj, tj * n / nq, np_))
        del ix, lims, D, I
    sys.stdout.flush()


def main():
    if len(sys.argv) == 6 and sys.argv[1] == 'gen':
        gen(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) == 7 and sys.argv[1] == 'faiss':
        run_faiss(sys.argv[2], [int(r) for r in sys.argv[3].split(',')],
                  int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
