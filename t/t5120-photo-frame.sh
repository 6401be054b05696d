#!/bin/sh
# Boxes in the photo's own pixels: imgdecode decodes large JPEGs at a
# reduced DCT scale by default (--min-side 512) and records the full size
# in `origsize`; ssd-detect gives `dets` in that frame, cropbox cuts them
# from the smaller image and gives `crop` in that frame.  Checked against
# a small record written from featstream(5) alone and against the same
# photo at a third of the size.

. "$FEAT_TOP/t/test-lib.sh"

MKSTREAM="$PYTHON $FEAT_TOP/t/lib/mkstream.py"
S=$FEAT_TOP/contrib/samples
export FEAT_MODELS="$FEAT_TOP/models"

test_expect_success 'setup: the sample photo three times as large (1440x1080)' '
	$PYTHON -c "
from PIL import Image
im = Image.open(\"$S/scene-0000.jpg\").convert(\"RGB\")
im.resize((1440, 1080), Image.BICUBIC).save(\"big.jpg\", quality=92)
"
'

test_expect_success 'imgdecode decodes at the smallest scale keeping 512 px; origsize is the photo' '
	imgdecode big.jpg >d.fs &&
	featinfo -n 2 d.fs >info &&
	grep "	image	u8	\[540 720 3\]" info &&
	grep "	origsize	i32	\[2\]	1440 1080" info &&
	imgdecode --min-side 0 big.jpg | featinfo -n 2 >info0 &&
	grep "	image	u8	\[1080 1440 3\]" info0
'

test_expect_success 'ssd-detect: boxes in the photo'"'"'s pixels, as with full-size decoding' '
	imgprep -q --for ssd <d.fs | ssd-detect -q >det.fs &&
	featinfo --raw dets det.fs >half.f32 &&
	imgdecode -q --min-side 0 big.jpg | imgprep -q --for ssd | ssd-detect -q >full.fs &&
	featinfo --raw dets full.fs >full.f32 &&
	$PYTHON -c "
import struct
def dets(f):
    b = open(f, \"rb\").read()
    return [struct.unpack(\"<6f\", b[i:i + 24]) for i in range(0, len(b), 24)]
def iou(a, s):
    ix = max(0, min(a[4], s[4]) - max(a[2], s[2])); iy = max(0, min(a[5], s[5]) - max(a[3], s[3]))
    u = (a[4] - a[2]) * (a[5] - a[3]) + (s[4] - s[2]) * (s[5] - s[3]) - ix * iy
    return ix * iy / u
h, f = dets(\"half.f32\"), dets(\"full.f32\")
assert h and f
assert h[0][0] == f[0][0] and iou(h[0], f[0]) >= 0.9, (h[0], f[0])
assert max(max(d[4] for d in h) / 720, max(d[5] for d in h) / 540) > 1.05, h
for d in h:
    assert 0 <= d[2] < d[4] <= 1440 and 0 <= d[3] < d[5] <= 1080, d
"
'

test_expect_success 'cropbox: the box of the frame cut from the smaller image; crop in the frame' '
	cat >rec.json <<-\EOF &&
	[{"key": "half", "tensors": [
	  {"name": "image", "dtype": "u8", "shape": [10, 12, 1],
	   "values": [0,1,2,3,4,5,6,7,8,9,10,11, 12,13,14,15,16,17,18,19,20,21,22,23,
	              24,25,26,27,28,29,30,31,32,33,34,35, 36,37,38,39,40,41,42,43,44,45,46,47,
	              48,49,50,51,52,53,54,55,56,57,58,59, 60,61,62,63,64,65,66,67,68,69,70,71,
	              72,73,74,75,76,77,78,79,80,81,82,83, 84,85,86,87,88,89,90,91,92,93,94,95,
	              96,97,98,99,100,101,102,103,104,105,106,107,
	              108,109,110,111,112,113,114,115,116,117,118,119]},
	  {"name": "origsize", "dtype": "i32", "shape": [2], "values": [24, 20]},
	  {"name": "dets", "dtype": "f32", "shape": [1, 6], "values": [3, 0.9, 5, 7, 11, 13]}]}]
	EOF
	$MKSTREAM rec.json >rec.fs &&
	cropbox --margin 0 <rec.fs >crop.fs &&
	featinfo -n -1 crop.fs >info &&
	grep "	image	u8	\[4 4 1\]	38 39 40 41 50 51 52 53 62 63 64 65 74 75 76 77$" info &&
	grep "	crop	f32	\[6\]	5 7 11 13 0.9 3$" info &&
	grep "	origsize	i32	\[2\]	6 6$" info
'

test_expect_success 'without origsize the image is the frame, as before' '
	sed "/origsize/d" rec.json >rec2.json &&
	$MKSTREAM rec2.json >rec2.fs &&
	cropbox --margin 0 <rec2.fs | featinfo -n -1 >info &&
	grep "	image	u8	\[3 6 1\]	89 90 91 92 93 94 101 102 103 104 105 106 113 114 115 116 117 118$" info &&
	grep "	crop	f32	\[6\]	5 7 11 10 0.9 3$" info
'

test_expect_success 'a bad origsize is an error record' '
	sed "s/\"values\": \[24, 20\]/\"values\": [0, 20]/" rec.json >rec3.json &&
	$MKSTREAM rec3.json >rec3.fs &&
	cropbox <rec3.fs >out.fs &&
	test_expect_code 1 featwrite -f tsv out.fs >out.tsv 2>err &&
	grep -q "1 error" err &&
	grep "^half	error	cropbox: .origsize. is not i32 \[2\]" out.tsv
'

test_expect_success 'a large photo: the same code with and without full-size decoding here' '
	echo "$PWD/big.jpg" >list &&
	for ms in 0 512; do
		imgdecode -q --min-side $ms <list | imgprep -q --for ssd | ssd-detect -q | cropbox -q |
			imgprep -q --for deepbit | deepbit-extract -q | featwrite -q -f tsv --no-status |
			cut -f2 >code$ms || return 1
	done &&
	$PYTHON -c "
a, b = open(\"code0\").read().split(), open(\"code512\").read().split()
d = bin(int(a[0], 16) ^ int(b[0], 16)).count(\"1\")
assert d <= 4, d
"
'

test_done
