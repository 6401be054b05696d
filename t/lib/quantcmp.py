#!/usr/bin/python3
"""quantcmp.py - an int8 model's output against its fp32 model's, record by
record, from two featwrite -f jsonl files of the same records.

Usage: quantcmp.py dets FP32.jsonl INT8.jsonl MIN% [SCORE [IOU]]  (ssd-detect output)
       quantcmp.py codes FP32.jsonl INT8.jsonl MIN%  (deepbit-extract output)

dets: a record matches when both have no detection, or the first box of
each (ssd-detect's main box: the one cropbox takes) overlaps the other's
by IoU >= 0.9, or IOU (any class); SCORE - counts every record; with SCORE, only the records where fp32's top box scores
at least SCORE count (a photo with an item, not a near-tie of background
boxes at the confidence threshold).  codes: the share of code bits that are equal, over all
records.  Prints the figure and exits 1 when it is under MIN%, 2 when the
files do not hold the same ok records.
"""
import json
import sys


def load(path):
    recs = [json.loads(ln) for ln in open(path)]
    return {r["key"] + "#%d" % i: r for i, r in enumerate(recs)}


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    i = iw * ih
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i
    return i / u if u > 0 else 0.0


def main():
    mode, fa, fb, want = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    minscore = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] != "-" else None
    need = float(sys.argv[6]) if len(sys.argv) > 6 else 0.9
    a, b = load(fa), load(fb)
    if sorted(a) != sorted(b) or not a:
        print("quantcmp: the two files do not hold the same records")
        sys.exit(2)
    good = total = 0
    for k in a:
        ra, rb = a[k], b[k]
        if ra["status"] != "ok" or rb["status"] != "ok":
            if ra["status"] != rb["status"]:
                print("quantcmp: %s is ok in one file only" % k)
                sys.exit(2)
            continue
        if mode == "dets":
            da, db = ra.get("dets", []), rb.get("dets", [])
            if minscore is not None and (not da or max(d["score"] for d in da) < minscore):
                continue
            total += 1
            if not da or not db:
                good += not da and not db
            else:
                ta, tb = da[0]["box"], db[0]["box"]
                good += iou(ta, tb) >= need
        else:
            ca, cb = int(ra["code"], 16), int(rb["code"], 16)
            bits = ra["bits"]
            if bits != rb["bits"]:
                print("quantcmp: %s: %d bits against %d" % (k, bits, rb["bits"]))
                sys.exit(2)
            total += bits
            good += bits - bin(ca ^ cb).count("1")
    if not total:
        print("quantcmp: no record to compare")
        sys.exit(2)
    pct = 100.0 * good / total
    print("%s: %.2f%% (%d of %d)" % (mode, pct, good, total))
    sys.exit(0 if pct >= want else 1)


main()
