#!/bin/sh
# featdraw: the font's descenders, labels of overlapping boxes kept apart,
# --sheet - on standard output, sheets too large refused early and never
# left half written, --per-page, and --groups review sheets of featdedup
# groups; pixels read back with PIL.

. "$FEAT_TOP/t/test-lib.sh"

if ! test_have_prereq PYTHON_PIL; then
	test_skip 'featdraw' 'PIL and numpy are not installed'
	test_done
fi

MKSTREAM="$PYTHON $FEAT_TOP/t/lib/mkstream.py"

# A flat 120x100 picture with two boxes whose labels would take the same
# place: the best (class 1) at (20, 30)-(80, 90), class 2 at (22, 32)-(82, 92).
test_expect_success 'setup' '
	"$PYTHON" - <<-\EOF &&
	import json
	flat = [50, 100, 150] * (120 * 100)
	json.dump([{"key": "two.jpg", "tensors": [
	    {"name": "image", "dtype": "u8", "shape": [100, 120, 3], "values": flat},
	    {"name": "dets", "dtype": "f32", "shape": [2, 6], "values": [
	        1, 0.9, 20, 30, 80, 90,
	        2, 0.8, 22, 32, 82, 92]}]}], open("two.json", "w"))
	# records keyed k0..k9, each a flat picture of its own colour
	json.dump([{"key": "k%d" % i, "tensors": [
	    {"name": "image", "dtype": "u8", "shape": [8, 8, 3],
	     "values": [20 * i, 255 - 20 * i, 7 * i] * 64}]} for i in range(10)],
	    open("ten.json", "w"))
	EOF
	$MKSTREAM two.json >two.fs &&
	$MKSTREAM ten.json >ten.fs &&
	printf "background\nlabel\njpqy gg\n" >labels.txt
'

test_expect_success 'the font: g j p q y reach below the baseline, other letters do not' '
	featdraw -o pics --labels labels.txt <two.fs &&
	"$PYTHON" -c "
from PIL import Image
im = Image.open(\"pics/000001-two.jpg.png\")
g = im.getpixel
Y, G, K = (255, 224, 0), (80, 255, 80), (0, 0, 0)
# the best box (yellow) has its label above it: a yellow tag of 10 rows
# from y 20, text from (21, 21): glyph i at x 21 + 6 i, rows 21 to 29,
# the baseline row 27, descenders rows 28 and 29
def ink(x0, y0, rows, tag):
    return [[g((x0 + c, y0 + r)) == K for c in range(5)] for r in rows]
def glyph(i, y0=21): return ink(21 + 6 * i, y0, range(9), Y)
label = \"label 0.90\"
for i, ch in enumerate(label):
    below = any(any(r) for r in glyph(i)[7:])
    assert not below, (ch, \"has ink below the baseline\")
# the other box (green, class 2 = \"jpqy gg\"): find its tag
rows = [y for y in range(100) if g((23, y)) == G and g((60, y)) == G]
assert rows, \"no green label\"
y0 = rows[0]
for i, ch in enumerate(\"jpqy gg\"):
    gl = ink(23 + 6 * i, y0 + 1, range(9), G)
    if ch == \" \":
        continue
    assert any(any(r) for r in gl[7:]), (ch, \"no descender\")
    assert any(any(r) for r in gl[:7]), (ch, \"no body\")
# g is not 9: the 9 of 0.90 and a g differ
nine = glyph(label.index(\"9\"))
gee = ink(23 + 6 * 5, y0 + 1, range(9), G)
assert nine != gee
"
'

test_expect_success 'labels of overlapping boxes do not cover each other' '
	"$PYTHON" -c "
from PIL import Image
g = Image.open(\"pics/000001-two.jpg.png\").getpixel
Y, G, K = (255, 224, 0), (80, 255, 80), (0, 0, 0)
def tag(col, x):
    ys = [y for y in range(100) if g((x, y)) == col and g((x + 30, y)) == col]
    return min(ys), max(ys)
# the best box: its tag above it, rows 20 to 29, untouched by green
for y in range(20, 30):
    for x in range(20, 20 + 6 * len(\"label 0.90\") + 2):
        assert g((x, y)) in (Y, K), (x, y, g((x, y)))
a, b = tag(G, 24)
assert a >= 30 or b < 20, (a, b)        # the green tag is elsewhere
assert b - a + 1 >= 10, (a, b)          # and whole
"
'

test_expect_success '--sheet - writes the sheet to standard output' '
	featdraw --sheet s.png --thumb 20 <ten.fs &&
	featdraw --sheet - --thumb 20 <ten.fs >stdout.png &&
	cmp s.png stdout.png &&
	featdraw --sheet - --format jpeg --thumb 20 <ten.fs >stdout.jpg &&
	"$PYTHON" -c "
from PIL import Image
assert Image.open(\"stdout.jpg\").format == \"JPEG\"
" &&
	test_expect_code 2 featdraw -o - <ten.fs 2>err &&
	test_stderr_one_line err &&
	grep -q "give --sheet -" err &&
	test_expect_code 2 featdraw --sheet - --per-page 2 <ten.fs >out 2>err &&
	test_stderr_one_line err
'

test_expect_success 'a sheet too wide or pages too high: refused before reading, no file' '
	echo "not a stream" >junk &&
	test_expect_code 2 featdraw --sheet big.png --cols 40 --thumb 2048 <junk 2>err &&
	test_stderr_one_line err &&
	grep -q "82240 pixels wide; at most 65535 fit" err &&
	test_expect_code 2 featdraw --sheet big.jpg --per-page 100000 --cols 1 <junk 2>err &&
	test_stderr_one_line err &&
	grep -q "at most 65500 fit" err &&
	ls >files &&
	! grep -q "^big" files
'

test_expect_success 'too many records for one sheet: stopped at the first that does not fit, no file' '
	"$PYTHON" -c "
import json
json.dump([{\"key\": \"r%d\" % i, \"tensors\": [{\"name\": \"image\", \"dtype\": \"u8\", \"shape\": [1, 1, 3]}]}
           for i in range(1400)], open(\"many.json\", \"w\"))
" &&
	$MKSTREAM many.json >many.fs &&
	echo old >many.png &&
	test_expect_code 4 featdraw --sheet many.png --cols 1 --thumb 16 <many.fs 2>err &&
	test_stderr_one_line err &&
	grep -q "more than 1365 records do not fit on one sheet" err &&
	echo old >expect &&
	test_cmp expect many.png &&
	ls >files &&
	! grep -q tmp files &&
	featdraw --sheet many.png --cols 1 --thumb 16 --per-page 1000 <many.fs &&
	"$PYTHON" -c "
from PIL import Image
assert Image.open(\"many-001.png\").size == (24, 1000 * 48)
assert Image.open(\"many-002.png\").size == (24, 400 * 48)
"
'

test_expect_success '--per-page N: SHEET-001.png ... with N records each, in order' '
	mkdir pages &&
	featdraw --sheet pages/ten.png --per-page 4 --cols 2 --thumb 20 <ten.fs &&
	ls pages >names &&
	printf "%s\n" ten-001.png ten-002.png ten-003.png >expect &&
	test_cmp expect names &&
	"$PYTHON" -c "
from PIL import Image
for n, size, first in ((1, (56, 104), 0), (2, (56, 104), 4), (3, (56, 52), 8)):
    im = Image.open(\"pages/ten-%03d.png\" % n)
    assert im.size == size, (n, im.size)
    i = first
    assert im.getpixel((14, 14)) == (20 * i, 255 - 20 * i, 7 * i), (n, im.getpixel((14, 14)))
" &&
	featdraw --sheet noext --per-page 10 --thumb 20 <ten.fs &&
	test -f noext-001 && test ! -e noext-002 && test ! -e noext &&
	head -c 64 ten.fs >empty.fs &&
	featdraw --sheet e.png --per-page 3 --thumb 20 <empty.fs &&
	"$PYTHON" -c "
from PIL import Image
assert Image.open(\"e-001.png\").size == (28, 52)
" &&
	test ! -e e-002.png
'

# colour K: the flat colour of record kK
test_expect_success '--groups: a row a group, wrapped at --cols, missing members shown' '
	printf "%s\n" "1	k3	0" "1	k1	2" "1	k7	5" \
		"2	k0	0" "2	k9	1" "2	missing	3" "2	k2	4" "2	k4	4" "2	k5	6" >groups.tsv &&
	featdraw --groups groups.tsv --sheet rev.png --cols 4 --thumb 20 <ten.fs &&
	"$PYTHON" -c "
from PIL import Image
im = Image.open(\"rev.png\")
# 4 columns (the largest group has 6, capped by --cols); group 1: one row,
# group 2: two rows
assert im.size == (4 * 28, 3 * 52), im.size
def at(c, r): return im.getpixel((c * 28 + 14, r * 52 + 14))
def col(i): return (20 * i, 255 - 20 * i, 7 * i)
BG, GREY = (40, 40, 40), (90, 90, 90)
assert [at(c, 0) for c in range(4)] == [col(3), col(1), col(7), BG]
assert [at(c, 1) for c in range(4)] == [col(0), col(9), GREY, col(2)]
assert [at(c, 2) for c in range(4)] == [col(4), col(5), BG, BG]
" &&
	featdraw --groups groups.tsv --sheet rev.png --per-page 1 --cols 4 --thumb 20 <ten.fs &&
	"$PYTHON" -c "
from PIL import Image
assert Image.open(\"rev-001.png\").size == (4 * 28, 52)
assert Image.open(\"rev-002.png\").size == (4 * 28, 2 * 52)
" &&
	test ! -e rev-003.png
'

test_expect_success '--groups: a record with an empty key is a member like any other (featdedup writes it so)' '
	"$PYTHON" -c "
import json
json.dump([{\"key\": k, \"tensors\": [{\"name\": \"code\", \"dtype\": \"bit\", \"shape\": [8], \"values\": [0] * 7 + [b]},
    {\"name\": \"image\", \"dtype\": \"u8\", \"shape\": [8, 8, 3], \"values\": [200 * b, 60, 90] * 64}]}
    for k, b in ((\"\", 0), (\"x\", 1))], open(\"ek.json\", \"w\"))" &&
	$MKSTREAM ek.json >ek.fs &&
	featdedup -r 2 ek.fs >ek.groups &&
	printf "1\t\t0\n1\tx\t1\n" >want && test_cmp want ek.groups &&
	featdraw --groups ek.groups --sheet ek.png --thumb 20 <ek.fs &&
	"$PYTHON" -c "
from PIL import Image
im = Image.open(\"ek.png\")
assert im.getpixel((14, 14)) == (0, 60, 90), im.getpixel((14, 14))
assert im.getpixel((28 + 14, 14)) == (200, 60, 90), im.getpixel((42, 14))
"
'

test_expect_success '--groups: a bad file is one line, exit 3, before reading' '
	printf "1\tk1\t0\nnot a group line\n" >bad.tsv &&
	test_expect_code 3 featdraw --groups bad.tsv --sheet r.png <junk 2>err &&
	test_stderr_one_line err &&
	grep -q "bad.tsv:2: expected group TAB key TAB distance" err &&
	test ! -e r.png &&
	test_expect_code 4 featdraw --groups nosuch.tsv --sheet r.png <junk 2>err &&
	test_stderr_one_line err &&
	test_expect_code 2 featdraw --groups groups.tsv -o d <junk 2>err &&
	test_stderr_one_line err
'

test_done
