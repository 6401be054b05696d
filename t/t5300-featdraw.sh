#!/bin/sh
# featdraw: the pixels where featdraw(1) says boxes and labels go, read
# back with PIL; safe and unique file names from any key; the contact
# sheet's layout and its error tiles; every option and error path.

. "$FEAT_TOP/t/test-lib.sh"

if ! test_have_prereq PYTHON_PIL; then
	test_skip 'featdraw' 'PIL and numpy are not installed'
	test_done
fi

MKSTREAM="$PYTHON $FEAT_TOP/t/lib/mkstream.py"

# The input: a flat 100x80 picture of colour (50, 100, 150) with four
# detections, a gray 30x20 one without any, a 1x1 one with a box around
# it, an error record and a record without image.
test_expect_success 'setup: the input stream' '
	"$PYTHON" - <<-\EOF &&
	import json
	flat = [50, 100, 150] * (100 * 80)
	recs = [
	    {"key": "photos/flat.jpg", "tensors": [
	        {"name": "image", "dtype": "u8", "shape": [80, 100, 3], "values": flat},
	        {"name": "dets", "dtype": "f32", "shape": [4, 6], "values": [
	            1, 0.9, 20, 10, 60, 50,      # the main box (first): cropbox takes it
	            2, 0.5, 70, 40, 95, 75,      # another box, class 2
	            3, 0.1, 5, 60, 15, 70,       # under --min-score 0.25
	            4, 0.3, -10, -10, 10, 8]}]}, # partly outside
	    {"key": "gray.png", "tensors": [
	        {"name": "image", "dtype": "u8", "shape": [20, 30, 1], "values": [77] * 600}]},
	    {"key": "tiny.jpg", "tensors": [
	        {"name": "image", "dtype": "u8", "shape": [1, 1, 3], "values": [1, 2, 3]},
	        {"name": "dets", "dtype": "f32", "shape": [1, 6], "values": [1, 0.8, -2, -2, 3, 3]}]},
	    {"key": "broken.jpg", "status": "error", "message": "corrupt JPEG data: premature end"},
	    {"key": "no-image", "tensors": [
	        {"name": "origsize", "dtype": "i32", "shape": [2], "values": [1, 1]}]},
	]
	json.dump(recs, open("in.json", "w"))
	EOF
	$MKSTREAM in.json >in.fs &&
	printf "background\ntshirt\ntrouser\npullover\ndress\n" >labels.txt
'

# px FILE X Y: the pixel's R G B
px() {
	"$PYTHON" -c "
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert(\"RGB\")
print(*im.getpixel((int(sys.argv[2]), int(sys.argv[3]))))
" "$@"
}

test_expect_success 'help and version' '
	featdraw --help >out &&
	grep "^Usage: featdraw" out &&
	for o in --output --sheet --format --quality --cols --thumb --min-score \
		 --model --labels; do
		grep -e "$o" out || return 1
	done &&
	featdraw --version >out &&
	grep "^featdraw (featkit) " out
'

test_expect_success 'one picture per drawable record, named by number and key, nothing on stdout' '
	featdraw -o pics <in.fs >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	ls pics >names &&
	printf "%s\n" 000001-photos_flat.jpg.png 000002-gray.png.png 000003-tiny.jpg.png >expect &&
	test_cmp expect names
'

test_expect_success 'the main box: yellow, 3 pixels wide, inside its rectangle' '
	featdraw -o pics <in.fs &&
	P=pics/000001-photos_flat.jpg.png &&
	"$PYTHON" -c "
from PIL import Image
im = Image.open(\"$P\")
assert im.size == (100, 80) and im.mode == \"RGB\", (im.size, im.mode)
g = im.getpixel
Y, BG = (255, 224, 0), (50, 100, 150)
for x in (20, 21, 22): assert g((x, 30)) == Y, (x, g((x, 30)))
for x in (57, 58, 59): assert g((x, 30)) == Y, (x, g((x, 30)))
for y in (47, 48, 49): assert g((40, y)) == Y, (y, g((40, y)))
assert g((23, 30)) == BG and g((56, 30)) == BG and g((19, 30)) == BG and g((60, 30)) == BG
assert g((40, 30)) == BG
assert g((40, 50)) == BG     # the box ends at y 50
"
'

test_expect_success 'the other boxes: 1 pixel in their class colour; under --min-score: none' '
	P=pics/000001-photos_flat.jpg.png &&
	"$PYTHON" -c "
from PIL import Image
g = Image.open(\"$P\").getpixel
BG = (50, 100, 150)
assert g((70, 60)) == (80, 255, 80), g((70, 60))    # class 2: palette[2]
assert g((94, 60)) == (80, 255, 80) and g((71, 60)) == BG and g((93, 60)) == BG
assert g((82, 74)) == (80, 255, 80) and g((82, 73)) == BG
assert g((5, 65)) == BG and g((10, 69)) == BG       # score 0.1: not drawn
assert g((0, 0)) == (160, 120, 255)                 # class 4, clipped at 0: palette[4]
assert g((5, 10)) == BG                             # ...it and its tag end above y 10
" &&
	featdraw -o low --min-score 0.05 <in.fs &&
	test "$(px low/000001-photos_flat.jpg.png 5 65)" = "255 128 0"
'

test_expect_success 'labels: a filled tag above the box with the name and score in black' '
	featdraw -o named --labels labels.txt <in.fs &&
	"$PYTHON" -c "
from PIL import Image
im = Image.open(\"named/000001-photos_flat.jpg.png\")
g = im.getpixel
# the tag of the best box: rows 1..9 above y 10, from x 20, 6 pixels a character
tag = [g((x, y)) for y in range(1, 10) for x in range(20, 20 + 6 * len(\"tshirt 0.90\") + 2)]
assert tag.count((0, 0, 0)) > 40, tag.count((0, 0, 0))
assert all(p in ((0, 0, 0), (255, 224, 0)) for p in tag)
# the letter t of tshirt, drawn from the font: column 1 of the glyph, rows 0 to 5
assert g((21 + 1, 2)) == (0, 0, 0) and g((21 + 1, 2 + 4)) == (0, 0, 0)
" &&
	featdraw -o numbered <in.fs &&
	"$PYTHON" -c "
from PIL import Image
a = Image.open(\"named/000001-photos_flat.jpg.png\").tobytes()
b = Image.open(\"numbered/000001-photos_flat.jpg.png\").tobytes()
assert a != b     # tshirt 0.90 is not 1 0.90
"
'

test_expect_success '-m MODEL: the labels of the model' '
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" det.fm "labels=S:background,tshirt,trouser,pullover,dress" &&
	featdraw -o frommodel -m det.fm <in.fs &&
	cmp named/000001-photos_flat.jpg.png frommodel/000001-photos_flat.jpg.png
'

test_expect_success 'a picture without boxes is the image; gray becomes RGB; 1x1 works' '
	"$PYTHON" -c "
from PIL import Image
im = Image.open(\"pics/000002-gray.png.png\")
assert im.size == (30, 20) and im.mode == \"RGB\"
assert set(im.getdata()) == {(77, 77, 77)}
im = Image.open(\"pics/000003-tiny.jpg.png\")
assert im.size == (1, 1)
assert im.getpixel((0, 0)) == (255, 224, 0)   # the best box covers it
"
'

test_expect_success '--format jpeg: JPEG files with the same drawing' '
	featdraw -o jpegs --format jpeg --quality 95 <in.fs &&
	ls jpegs >names &&
	grep "^000001-photos_flat.jpg.jpg$" names &&
	"$PYTHON" -c "
from PIL import Image
im = Image.open(\"jpegs/000001-photos_flat.jpg.jpg\")
assert im.format == \"JPEG\" and im.size == (100, 80)
r, g, b = im.getpixel((40, 30))
assert abs(r - 50) < 8 and abs(g - 100) < 8 and abs(b - 150) < 8, (r, g, b)
r, g, b = im.getpixel((21, 30))
assert r > 200 and g > 180 and b < 80, (r, g, b)
"
'

test_expect_success '--quality: a lower quality makes smaller files' '
	featdraw --sheet q20.jpg --quality 20 <in.fs &&
	featdraw --sheet q95.jpg --quality 95 <in.fs &&
	test $(wc -c <q20.jpg) -lt $(wc -c <q95.jpg) &&
	featdraw --sheet q90.jpg <in.fs &&
	featdraw --sheet d90.jpg --quality 90 <in.fs &&
	cmp q90.jpg d90.jpg
'

test_expect_success 'file names: safe, inside DIR, unique, whatever the key' '
	"$PYTHON" -c "
import json
keys = [\"../../etc/passwd\", \"a/b.jpg\", \"a_b.jpg\", \".hidden\", \"\", \"x\" * 300,
        \"caf\\u00e9 photo.jpg\", \"/abs/path.png\", \"..\"]
json.dump([{\"key\": k, \"tensors\": [{\"name\": \"image\", \"dtype\": \"u8\", \"shape\": [1, 1, 3]}]} for k in keys],
          open(\"keys.json\", \"w\"))
" &&
	$MKSTREAM keys.json >keys.fs &&
	mkdir sub &&
	featdraw -o sub/out <keys.fs &&
	ls -a sub/out >names &&
	x100=$(printf "%0100d" 0 | tr 0 x) &&
	printf "%s\n" . .. 000001-_._.._etc_passwd.png 000002-a_b.jpg.png 000003-a_b.jpg.png \
		000004-_hidden.png 000005-record.png 000006-$x100.png \
		000007-caf___photo.jpg.png 000008-_abs_path.png.png 000009-_..png | sort >expect &&
	sort names >names.sorted &&
	test_cmp expect names.sorted &&
	ls sub >top &&
	echo out >expect &&
	test_cmp expect top
'

test_expect_success 'a picture too wide for PNG: a warning, its tile only' '
	"$PYTHON" -c "
import json
json.dump([{\"key\": \"wide\", \"tensors\": [{\"name\": \"image\", \"dtype\": \"u8\", \"shape\": [1, 70000, 1]}]}],
          open(\"wide.json\", \"w\"))
" &&
	$MKSTREAM wide.json >wide.fs &&
	featdraw -o wide --sheet wide.png --thumb 16 <wide.fs 2>err &&
	test_stderr_one_line err &&
	grep "featdraw: wide: 70000 x 1 pixels is too large for a picture (at most 65535 a side)" err &&
	ls wide >names &&
	test ! -s names &&
	"$PYTHON" -c "
from PIL import Image
assert Image.open(\"wide.png\").size == (24, 48)
"
'

test_expect_success 'an existing symbolic link is not followed' '
	mkdir links &&
	ln -s ../victim links/000001-photos_flat.jpg.png &&
	test_must_fail featdraw -o links <in.fs 2>err &&
	test ! -e victim &&
	grep "links/000001-photos_flat.jpg.png: cannot create" err
'

test_expect_success 'the contact sheet: cols x tiles of thumb + 8 by thumb + 32' '
	featdraw --sheet sheet.png --cols 2 --thumb 50 <in.fs >out &&
	test ! -s out &&
	"$PYTHON" -c "
from PIL import Image
im = Image.open(\"sheet.png\")
assert im.format == \"PNG\" and im.size == (2 * 58, 3 * 82), im.size
g = im.getpixel
# tile 0: the flat picture, 50 wide and 40 high, centred in 50x50 at (4, 4)
assert g((4 + 25, 4 + 5 + 20)) == (50, 100, 150), g((29, 29))
assert g((1, 30)) == (40, 40, 40)               # left of it: background
# tile 3 (row 1, col 1): the error record, a dark red square
assert g((58 + 4 + 48, 82 + 4 + 48)) == (128, 24, 24), g((110, 134))
# tile 4 (row 2, col 0): no image, a grey square
assert g((4 + 48, 164 + 4 + 48)) == (90, 90, 90)
# tile 5 does not exist: background
assert g((58 + 30, 164 + 30)) == (40, 40, 40)
"
'

test_expect_success 'the sheet: a tile for every record; its best box highlighted' '
	featdraw --sheet sheet.png --cols 5 --thumb 100 <in.fs &&
	"$PYTHON" -c "
from PIL import Image
im = Image.open(\"sheet.png\")
assert im.size == (5 * 108, 132), im.size
g = im.getpixel
# tile 0: 100x80 at scale 1 from (4, 14): the best box edge at x 4 + 20
assert g((24, 14 + 30)) == (255, 224, 0), g((24, 44))
assert g((44, 44)) == (50, 100, 150)
"
'

test_expect_success '--sheet FILE.jpg is a JPEG; -o and --sheet together' '
	featdraw -o both --sheet sheet.jpg <in.fs &&
	"$PYTHON" -c "
from PIL import Image
assert Image.open(\"sheet.jpg\").format == \"JPEG\"
" &&
	ls both >names &&
	grep "^000001-photos_flat.jpg.jpg$" names &&
	featdraw --sheet sheet2.jpg --format png <in.fs &&
	"$PYTHON" -c "
from PIL import Image
assert Image.open(\"sheet2.jpg\").format == \"PNG\"
"
'

test_expect_success 'an empty stream: an empty sheet of one tile' '
	head -c 64 in.fs >empty.fs &&
	featdraw --sheet empty.png --thumb 20 <empty.fs &&
	"$PYTHON" -c "
from PIL import Image
assert Image.open(\"empty.png\").size == (28, 52)
"
'

# usage_error ARGS...: exit 2, one line, no file written
usage_error() {
	test_expect_code 2 featdraw "$@" <in.fs >out 2>err &&
	test ! -s out &&
	test_stderr_one_line err &&
	grep "^featdraw: " err
}

for args in '' '--format gif -o d' '--cols 0 -o d' '--cols x -o d' '--thumb 5 -o d' \
	    '--thumb 5000 -o d' '--quality 0 -o d' '--quality 101 -o d' \
	    '--min-score x -o d' '-m x.fm --labels y.txt -o d' '--bogus -o d' 'extra -o d'; do
	test_expect_success "usage error: featdraw $args" "
		usage_error $args &&
		test ! -e d
	"
done

test_expect_success 'unwritable places: exit 4, one line, before reading' '
	echo file >afile &&
	test_expect_code 4 featdraw -o afile <in.fs >out 2>err &&
	test_stderr_one_line err &&
	grep "featdraw: afile: not a directory" err &&
	test_expect_code 4 featdraw -o missing/sub <in.fs >out 2>err &&
	test_stderr_one_line err &&
	grep "featdraw: missing/sub: cannot make the directory: No such file or directory" err &&
	test_expect_code 4 featdraw --sheet missing/s.png <in.fs >out 2>err &&
	test_stderr_one_line err &&
	grep "featdraw: missing/s.png: cannot open for writing: No such file or directory" err &&
	test_expect_code 4 featdraw --labels missing.txt -o d <in.fs >out 2>err &&
	test_stderr_one_line err &&
	test ! -e d
'

if [ -w /dev/full ]; then
	test_expect_success 'a full disk: exit 4, one line' '
		test_expect_code 4 featdraw --sheet /dev/full <in.fs >out 2>err &&
		test_stderr_one_line err &&
		grep "featdraw: /dev/full: " err
	'
else
	test_skip 'a full disk: exit 4, one line' 'no /dev/full here'
fi

if test_have_prereq ROOT; then
	test_skip 'read-only directory: exit 4' 'running as root, which writes anywhere'
else
	test_expect_success 'read-only directory: exit 4' '
		mkdir ro && chmod 555 ro &&
		test_expect_code 4 featdraw -o ro <in.fs >out 2>err &&
		test_stderr_one_line err
	'
fi

test_expect_success 'a bad labels file or model: exit 3' '
	printf "a\0b\n" >nul.txt &&
	test_expect_code 3 featdraw --labels nul.txt -o d <in.fs >out 2>err &&
	test_stderr_one_line err &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" nolabels.fm &&
	test_expect_code 3 featdraw -m ./nolabels.fm -o d <in.fs >out 2>err &&
	grep "model has no metadata .labels." err
'

test_expect_success 'input that is not a featstream: exit 3, one line' '
	echo a.jpg >paths &&
	test_expect_code 3 featdraw -o d <paths >out 2>err &&
	test_stderr_one_line err &&
	grep "featdraw: standard input is not a featstream" err
'

test_expect_success 'truncated input: the pictures and sheet of the records before, exit 3' '
	n=$(wc -c <in.fs) &&
	head -c $((n - 100)) in.fs >trunc.fs &&
	test_expect_code 3 featdraw -o t --sheet t.png --cols 5 --thumb 20 <trunc.fs >out 2>err &&
	test_stderr_one_line err &&
	ls t >names &&
	test_line_count = 3 names &&
	"$PYTHON" -c "
from PIL import Image
assert Image.open(\"t.png\").size == (4 * 28, 52)
"
'

test_expect_success '-v names the files written; -q and --progress change nothing' '
	featdraw -v -o v <in.fs 2>err &&
	grep "featdraw: wrote v/000001-photos_flat.jpg.png" err &&
	featdraw -q --progress -o q <in.fs 2>/dev/null &&
	cmp v/000001-photos_flat.jpg.png q/000001-photos_flat.jpg.png
'

test_done
