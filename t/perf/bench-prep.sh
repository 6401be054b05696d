#!/bin/sh
# imgdecode + imgprep --for ssd300 on one core: images/s for ~1-megapixel
# product photos (1224x816 JPEG, quality 90), with and without DCT-domain
# downscaling (imgdecode --min-side 300), next to OpenCV 4.6 doing the same
# work (cv2.imread, IMREAD_REDUCED_COLOR_2 when downscaling, resize to
# 300x300, BGR mean subtraction, HWC to CHW float32) in the same
# run, on the same core, single-threaded (area averaging where imgprep
# uses it, as imgprep's auto resize does).
set -eu
. "$FEAT_TOP/t/perf/lib.sh"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
N=${BENCH_IMAGES:-400}
[ -n "${BENCH_QUICK:-}" ] && N=40
CORE=${BENCH_CORE:-0}

/usr/bin/python3 "$FEAT_TOP/contrib/scenes.py" -n 40 --size 1224x816 --seed 3 -o "$W/img"
ls "$W"/img/*.jpg >"$W/files"
i=0
while [ $i -lt "$N" ]; do cat "$W/files"; i=$((i + 40)); done | head -n "$N" >"$W/list"
cat "$W"/img/*.jpg >/dev/null   # warm the page cache

t_full=$(best_of 3 "taskset -c $CORE sh -c 'imgdecode <$W/list | imgprep --for ssd300 >/dev/null'")
t_dct=$(best_of 3 "taskset -c $CORE sh -c 'imgdecode --min-side 300 <$W/list | imgprep --for ssd300 >/dev/null'")
echo "images: $N x 1224x816 JPEG q90, one core (taskset -c $CORE)"
printf '%-44s %10s\n' "" "images/s"
printf '%-44s %10s\n' "featkit imgdecode | imgprep --for ssd300" "$(rate "$N" "$t_full")"
printf '%-44s %10s\n' "featkit imgdecode --min-side 300 | imgprep" "$(rate "$N" "$t_dct")"

if /usr/bin/python3 -c 'import cv2' 2>/dev/null; then
	o_full=$(taskset -c "$CORE" /usr/bin/python3 "$FEAT_TOP/t/perf/peer_opencv_prep.py" "$W/list")
	o_dct=$(taskset -c "$CORE" /usr/bin/python3 "$FEAT_TOP/t/perf/peer_opencv_prep.py" --reduced "$W/list")
	printf '%-44s %10s\n' "OpenCV imread + resize + mean (peer)" "$o_full"
	printf '%-44s %10s\n' "OpenCV IMREAD_REDUCED_COLOR_2 + ... (peer)" "$o_dct"
	echo "ratio featkit/OpenCV: full $(ratio "$(rate "$N" "$t_full")" "$o_full"), downscaled $(ratio "$(rate "$N" "$t_dct")" "$o_dct")"
else
	echo "OpenCV peer skipped: python3-opencv not installed (apt-get install python3-opencv)"
fi
echo "target: >= 300 images/s with downscaling"
