#!/bin/sh
# dupeval.sh - near-duplicate detection quality, featkit against its
# peers, in one run on one set of marketplace re-uploads
# (contrib/eval/dupset_b.py: 150 products re-posted 2-4 times each with
# every change a re-upload goes through, 300 other products, many of the
# same classes, and opencv-doc's real photographs).  Precision, recall
# and F1 over pairs: a pair found is right when both photos are of one
# group.
#
#   sh contrib/dupeval.sh [DIR] [SEED]    (default build/dupset-b, seed 2;
#                                          made if missing)
#
# Rows: featkit's keypoints (imgkeys on the photo and the detector's box,
# featmatch) at featmatch's default bound, the photo's keypoints alone,
# and the best bound; featkit's near-duplicate code (the dedup descriptor, 128 bits,
# of the whole photo) + featdedup at its default radius and at the best
# radius up to a quarter of the bits; the same code of the detector's crop, and the
# similar-product descriptor (deepbit) of the crop, for reference; 64-bit pHash and dHash of the whole photo and
# of featkit's crop, each at its best radius; findimagedupes at its
# default threshold (90%) and at 80% and 70%; then, for featkit at its
# default radius, the recall of (source, re-post) pairs by what the
# re-post went through.  Seed 1 of the set is the
# one the default radius was chosen on; the default seed 2 is held out.
# Needs the programs built (make), python3-numpy, python3-pil,
# opencv-doc, dataset-fashion-mnist, findimagedupes.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
d=${1:-$top/build/dupset-b}
seed=${2:-2}
case $d in /*) ;; *) d=$PWD/$d ;; esac
PATH=$top/build/bin:$PATH
export FEAT_MODELS=${FEAT_MODELS:-$top/models}
py=/usr/bin/python3
[ -f "$d/truth.tsv" ] || $py "$top/contrib/eval/dupset_b.py" "$d" --seed "$seed" >&2
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$d"
cut -f1 truth.tsv >"$w/list"
imgdecode -q <"$w/list" | imgprep -q --for ssd | ssd-detect -q >"$w/det.fs"
featwrite -q -f jsonl -e 100% <"$w/det.fs" >"$w/dets.jsonl"
cropbox -q <"$w/det.fs" >"$w/crop.fs"
imgdecode -q <"$w/list" | imgprep -q --for dedup | deepbit-extract -q -m dedup \
	| featwrite -q -f tsv --no-status -e 100% >"$w/dedup.tsv"
imgprep -q --for dedup <"$w/crop.fs" | deepbit-extract -q -m dedup \
	| featwrite -q -f tsv --no-status -e 100% >"$w/dedup-crop.tsv"
imgprep -q --for deepbit <"$w/crop.fs" | deepbit-extract -q \
	| featwrite -q -f tsv --no-status -e 100% >"$w/deepbit.tsv"
# the keypoints of the photo and of the detector's box (imgkeys reads
# ssd-detect's dets), and of the photo alone for comparison
imgkeys -q <"$w/det.fs" >"$w/keys.fs"
imgkeys -q --no-box <"$w/det.fs" >"$w/keys-nobox.fs"

n=$(wc -l <"$w/list")
groups=$(cut -f2 truth.tsv | sort | uniq -d | wc -l)
echo "near-duplicates: $n photos, $groups groups of re-uploads ($d)"
printf '  %-52s %6s %9s %7s %6s\n' method pairs precision recall F1
# featdedup's default radius for these codes, as featdedup -v reports it
featdedup -v -p "$w/dedup.tsv" 2>"$w/default.log" | cut -f1,2 | tr '\t' ' ' >"$w/default"
def=$(sed -n 's/.* pairs \(of codes \)*within \([0-9]*\)[,;].*/\2/p' "$w/default.log")
[ -n "$def" ] || { echo "dupeval.sh: featdedup -v did not say its radius" >&2; exit 1; }
$py "$top/contrib/eval/dupscore.py" pairs truth.tsv \
	"featkit, dedup code, featdedup -r $def (default)" "$w/default"
# featmatch at its default, then every bound from 8 to 60 matches
featmatch -v -p "$w/keys.fs" 2>"$w/match.log" | cut -f1,2 | tr '\t' ' ' >"$w/match"
mdef=$(sed -n 's/.* pairs with \([0-9]*\) or more matches.*/\1/p' "$w/match.log")
[ -n "$mdef" ] || { echo "dupeval.sh: featmatch -v did not say its bound" >&2; exit 1; }
$py "$top/contrib/eval/dupscore.py" pairs truth.tsv \
	"featkit, keypoints, featmatch -n $mdef (default)" "$w/match"
featmatch -q -p -n "$mdef" "$w/keys-nobox.fs" | cut -f1,2 | tr '\t' ' ' >"$w/match-nobox"
$py "$top/contrib/eval/dupscore.py" pairs truth.tsv \
	"featkit, keypoints of the photo only (imgkeys --no-box)" "$w/match-nobox"
featmatch -q -p -n 8 "$w/keys.fs" >"$w/match-all"
files=
for n in 8 12 16 20 24 28 32 36 40 48 60; do
	awk -v n=$n '$3 >= n { print $1, $2 }' "$w/match-all" >"$w/match-n$n"
	files="$files $w/match-n$n"
done
$py "$top/contrib/eval/dupscore.py" pairs truth.tsv "featkit, keypoints, featmatch -n %s" $files \
	| grep best
for code in dedup dedup-crop deepbit; do
	# every radius up to a quarter of the code's bits
	bits=$(( $(head -n 1 "$w/$code.tsv" | cut -f2 | tr -d '\n' | wc -c) * 4 ))
	r=0
	files=
	while [ $r -le $(( bits / 4 )) ]; do
		featdedup -r $r -p "$w/$code.tsv" | cut -f1,2 | tr '\t' ' ' >"$w/$code-r$r"
		files="$files $w/$code-r$r"
		r=$((r + 1))
	done
	$py "$top/contrib/eval/dupscore.py" pairs truth.tsv "featkit, $code code, featdedup -r %s" $files \
		| grep best
done
$py "$top/contrib/eval/dupscore.py" hashes truth.tsv "$d" "$w/dets.jsonl"
if command -v findimagedupes >/dev/null 2>&1; then
	files=
	for t in 90 80 70; do
		findimagedupes -q -t "$t%" $(cat "$w/list") 2>/dev/null |
			$py -c "
import itertools, os, sys
for l in sys.stdin:
    for a, b in itertools.combinations([os.path.basename(f) for f in l.split()], 2):
        print(a, b)" >"$w/fid-t$t"
		files="$files $w/fid-t$t"
	done
	$py "$top/contrib/eval/dupscore.py" pairs truth.tsv "findimagedupes -t %s%" $files
else
	echo "  findimagedupes: not installed (apt-get install findimagedupes)"
fi
if [ -f reposts.tsv ]; then
	echo "featkit's dedup code at its default radius (-r $def), what loses the pairs:"
	$py "$top/contrib/eval/dupscore.py" recall truth.tsv reposts.tsv "$w/default"
	echo "featkit's keypoints, featmatch at its default (-n $mdef), what loses the pairs:"
	$py "$top/contrib/eval/dupscore.py" recall truth.tsv reposts.tsv "$w/match"
fi
