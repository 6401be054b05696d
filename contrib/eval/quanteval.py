#!/usr/bin/python3
"""quanteval.py - an int8 or bf16 model (featmodel quantize) against its
fp32 model on photos neither was calibrated on: the accuracy guards of
issue 16.

    /usr/bin/python3 contrib/eval/quanteval.py --fp32 SSD.fm [--int8 SSD8.fm]
        [--bf16 SSD16.fm] [--codes DEEPBIT.fm,DEEPBIT8.fm]... [--set b,held-out]
        [-n 300] [--seed 1] [--dir DIR]

The photos are deteval.py's (same options, same sets, from photoset.py:
generator B and the project's held-out detector scenes).  For each set it
prints

  top=     photos whose first detection (any class) in the int8 (bf16) run
           overlaps the fp32 run's by IoU >= 0.9 (both without detection
           counts as a match): the box cropbox takes;
  AP50, mAP50, main   deteval's figures for fp32 and for int8 (bf16);
  codes    for each --codes pair, the share of equal code bits over the
           photos' codes (imgprep -m MODEL | deepbit-extract -m MODEL).

Uses the programs of this tree's build/bin when built.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import deteval as D  # noqa: E402
import photoset as P  # noqa: E402


def codes(files, model):
    """{key: (bits, code)} of the ok records."""
    return {k: (r["bits"], int(r["code"], 16))
            for k, r in P.pipeline(files, model, "deepbit-extract", "quanteval").items()
            if r.get("status") == "ok"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fp32", required=True)
    ap.add_argument("--int8", help="the int8 model (featmodel quantize --calib)")
    ap.add_argument("--bf16", help="the bf16 model (featmodel quantize --bf16)")
    ap.add_argument("--codes", action="append", default=[],
                    help="FP32.fm,INT8.fm or FP32.fm,BF16.fm (repeatable)")
    ap.add_argument("--set", default="b,held-out")
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir")
    a = ap.parse_args()
    quant = [(t, m) for t, m in (("int8", a.int8), ("bf16", a.bf16)) if m]
    if not quant:
        ap.error("give --int8 MODEL, --bf16 MODEL or both")
    for name, files, truth in P.sets(a):
        d32 = D.detect(files, a.fp32)
        r32 = D.score(d32, truth)
        print("%s: %d photos" % (name, len(files)))
        print("  fp32: main %.1f%%  AP50 %.4f  mAP50 %.4f  no det %d" % (
            100 * r32["main"], r32["ap50_main"], r32["map50"], r32["no_det"]))
        for tag, model in quant:
            dq = D.detect(files, model)
            same = sum(1 for x, y in zip(d32, dq)
                       if (not x and not y) or (x and y and D.iou(x[0][2], y[0][2]) >= 0.9))
            rq = D.score(dq, truth)
            print("  %s: main %.1f%%  AP50 %.4f  mAP50 %.4f  no det %d" % (
                tag, 100 * rq["main"], rq["ap50_main"], rq["map50"], rq["no_det"]))
            print("  %s top box IoU >= 0.9 with fp32: %d of %d (%.1f%%)" % (
                tag, same, len(files), 100.0 * same / len(files)))
            print("  AP50 %s - fp32: %+.2f points, mAP50 %+.2f points" % (
                tag, 100 * (rq["ap50_main"] - r32["ap50_main"]),
                100 * (rq["map50"] - r32["map50"])))
        for pair in a.codes:
            m32, m8 = pair.split(",")
            c32, c8 = codes(files, m32), codes(files, m8)
            eq = tot = 0
            for k in c32:
                if k in c8:
                    tot += c32[k][0]
                    eq += c32[k][0] - bin(c32[k][1] ^ c8[k][1]).count("1")
            print("  codes %s: %.2f%% of %d bits equal (%d photos)" % (
                os.path.basename(m8), 100.0 * eq / max(tot, 1), tot, len(c32)))
        sys.stdout.flush()

if __name__ == "__main__":
    main()
