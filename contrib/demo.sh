#!/bin/sh
# make demo: the whole pipeline on the bundled sample photos
# (contrib/samples: product photos with busy backgrounds made by
# contrib/scenes.py, a few near-duplicates among them, and one broken JPEG
# to show how a bad file is reported without stopping the run), with the
# default models in models/.
#
#   1. decode, prepare for the detector, detect the main object;
#   2. draw the detections into a contact sheet;
#   3. crop the main object, prepare for the descriptor, compute its
#      DeepBit code, write key and code per photo;
#   4. list the near-duplicate groups among the photos (featdedup on the
#      codes, and featmatch on the photos' keypoints).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top/contrib/samples" || exit 1
out=${DEMO_OUT:-$top/build/demo}
radius=${DEMO_RADIUS:-4}
export FEAT_MODELS=${FEAT_MODELS:-$top/models}
mkdir -p "$out"
for m in ssd deepbit; do
	[ -f "$FEAT_MODELS/$m.fm" ] ||
		{ echo "demo: $FEAT_MODELS/$m.fm is missing (make models regenerates it)" >&2; exit 4; }
done

echo "== detect: imgdecode | imgprep --for ssd | ssd-detect  ->  $out/detected.fs"
ls ./*.jpg | imgdecode --progress | imgprep --for ssd | ssd-detect >"$out/detected.fs" || exit $?

echo "== the detections, drawn: $out/sheet.png"
featdraw -m ssd --sheet "$out/sheet.png" <"$out/detected.fs" || exit $?

echo "== code: cropbox | imgprep --for deepbit | deepbit-extract | featwrite -f tsv"
cropbox <"$out/detected.fs" | imgprep --for deepbit | deepbit-extract \
	| featwrite -f tsv --max-errors 1 -o "$out/codes.tsv"
status=$?
cat "$out/codes.tsv"
echo

echo "== the main object of each photo (featwrite -f jsonl): $out/detected.jsonl"
featwrite -q -f jsonl --max-errors 1 -o "$out/detected.jsonl" "$out/detected.fs"
head -n 2 "$out/detected.jsonl" | cut -c1-200
echo

echo "== near-duplicates: featdedup -r $radius (group, photo, bits from the group's first)"
awk -F'\t' -v OFS='\t' '$2 == "ok" { print $1, $3 }' "$out/codes.tsv" >"$out/codes.hex"
featdedup -r "$radius" "$out/codes.hex" | tee "$out/groups.tsv"
echo

echo "== re-posts by keypoints of the photo and of its detected box: ... ssd-detect | imgkeys | featmatch"
echo "   (group, photo, keypoints matched)"
imgkeys <"$out/detected.fs" | featmatch | tee "$out/matched.tsv"
echo
echo "demo: one line per photo in $out/codes.tsv; broken.jpg is reported, not dropped (featwrite exit $status)"
exit $status
