#!/bin/sh
# quality.sh - every quality table of the README in one run, featkit and
# its peers measured here and now:
#
#   1. the detector on photos it was not trained on: generator B
#      (contrib/eval/scenes_b.py) and the project's held-out scenes,
#      main box and AP50 through the C pipeline (contrib/eval/deteval.py);
#   2. the default models against PyTorch, LSH and ITQ: detector AP,
#      Fashion-MNIST retrieval mAP, codes of the whole photo, the
#      detector's crop and the true crop on cluttered scenes, C against
#      PyTorch (contrib/train/evaluate.py);
#   3. near-duplicates: featkit's dedup code at featdedup's default and
#      best radius, pHash and dHash of the photo and of featkit's crop,
#      findimagedupes, on held-out marketplace re-uploads
#      (contrib/dupeval.sh, dupset_b seed 2).
#
#   sh contrib/eval/quality.sh [--quick] [OUTDIR]   (default build/quality)
#
# --quick: 100 photos a detector set and evaluate.py --quick (minutes, for
# trying the script; the README's figures are from a full run, about 25
# minutes on an idle 2-core machine).  Each part's output is kept in
# OUTDIR/{detector,models,dedup}.txt.  Needs the programs built (make),
# python3-numpy, python3-pil, python3-torch, opencv-doc,
# dataset-fashion-mnist and findimagedupes (make deps installs them).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
quick=
n=300
if [ "${1:-}" = --quick ]; then
	quick=--quick
	n=100
	shift
fi
out=${1:-$top/build/quality}
mkdir -p "$out"
PATH=$top/build/bin:$PATH
export PATH FEAT_MODELS="${FEAT_MODELS:-$top/models}"
py=/usr/bin/python3
t0=$(date +%s)
failed=
# part NAME CMD...: run CMD, its output shown and kept in $out/NAME.txt;
# a part that fails makes the whole run fail (after the others ran)
part() {
	name=$1
	shift
	{ "$@"; echo $? >"$out/$name.rc"; } 2>&1 | tee "$out/$name.txt"
	[ "$(cat "$out/$name.rc")" = 0 ] || failed="$failed $name"
}

echo "== 1. the detector on photos it was not trained on ($n a set)"
part detector $py "$top/contrib/eval/deteval.py" --set b,held-out -n "$n" --seed 1 \
	--dir "$out/scenes-b-$n"

echo
echo "== 2. the default models against PyTorch, LSH and ITQ"
part models $py "$top/contrib/train/evaluate.py" $quick

echo
echo "== 3. near-duplicates, held-out re-uploads (dupset_b seed 2)"
part dedup sh "$top/contrib/dupeval.sh" "$out/dupset-b2" 2

echo
if [ -n "$failed" ]; then
	echo "quality.sh: failed:$failed (see $out)" >&2
	exit 1
fi
echo "quality.sh: done in $(( $(date +%s) - t0 )) s on $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); tables in $out"
