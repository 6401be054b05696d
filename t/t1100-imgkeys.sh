#!/bin/sh
# imgkeys: the tensors it writes (names, types, shapes, values in range,
# the count and mirror options), the keypoints of the detector's box
# (those of cropbox's crop, moved to the photo), error records passed on,
# bad records marked with the reason, bad options and bad streams
# refused.  The
# method itself is held by t/unit/test_keys.c.

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples

# check_keys FILE MAX MIRROR W H [MIN]: every ok record of FILE has keys
# f32 [N, 5] and kdesc u8 [N, 32] with the same N, at most MAX keypoints
# of each flag (none of flags 1 and 3 when MIRROR is 0), x in (0, W),
# y in (0, H), size >= 31, angle in [-pi, pi]; at least MIN keypoints in
# all (1 if not given: the checks above hold of none).
check_keys() {
	featinfo -n 0 "$1" >info &&
	featinfo --raw keys "$1" >keys.f32 &&
	featinfo --raw kdesc "$1" >kdesc.u8 &&
	"$PYTHON" - "$2" "$3" "$4" "$5" "${6:-1}" <<-\EOP
	import math, re, struct, sys
	mx, mirror, W, H = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
	least = int(sys.argv[5])
	shapes = {}
	rows = []
	for line in open("info"):
	    m = re.match(r"\t(keys|kdesc)\t(\w+)\t\[(\d+) (\d+)\]", line)
	    if m:
	        shapes.setdefault(m.group(1), []).append((m.group(2), int(m.group(3)), int(m.group(4))))
	assert shapes["keys"] and len(shapes["keys"]) == len(shapes["kdesc"]), shapes
	for (tk, nk, ck), (td, nd, cd) in zip(shapes["keys"], shapes["kdesc"]):
	    assert (tk, ck, td, cd) == ("f32", 5, "u8", 32) and nk == nd, (tk, nk, ck, td, nd, cd)
	    rows.append(nk)
	assert sum(rows) >= least, ("keypoints in all", rows, "at least", least)
	k = open("keys.f32", "rb").read()
	assert len(k) == 20 * sum(rows) and len(open("kdesc.u8", "rb").read()) == 32 * sum(rows)
	v = struct.unpack("<%df" % (5 * sum(rows)), k)
	at = 0
	for n in rows:
	    flags = [v[5 * (at + i) + 4] for i in range(n)]
	    assert all(sum(f == g for f in flags) <= mx for g in range(4)), flags
	    assert all(f in (0, 1, 2, 3) for f in flags) and (mirror or all(f in (0, 2) for f in flags))
	    assert flags == sorted(flags), "the image's keypoints come first"
	    for i in range(n):
	        x, y, s, a, f = v[5 * (at + i):5 * (at + i) + 5]
	        assert 0 < x < W and 0 < y < H and s >= 31 and -math.pi <= a <= math.pi, (x, y, s, a)
	    at += n
	print(rows)
	EOP
}

test_expect_success 'help and version' '
	imgkeys --help >out &&
	grep "^Usage: imgkeys" out &&
	for o in --max --side --levels --no-mirror --no-box --keep-image --progress; do
		grep -e "$o" out || return 1
	done &&
	imgkeys --version >out &&
	grep "^imgkeys (featkit) " out
'

test_expect_success 'setup: decoded sample photos' '
	imgdecode "$S/scene-0000.jpg" "$S/scene-0001.jpg" "$S/broken.jpg" \
		"$S/scene-0002.jpg" >in.fs &&
	featinfo -k in.fs >keys.in &&
	test_line_count = 4 keys.in
'

test_expect_success 'keys and kdesc: f32 [N, 5] and u8 [N, 32]; image removed' '
	imgkeys <in.fs >out.fs &&
	featinfo -k out.fs >keys.out &&
	test_cmp keys.in keys.out &&
	check_keys out.fs 300 1 480 360 >rows &&
	cat rows &&
	featcat --ok out.fs >ok.fs &&
	featinfo -n 0 ok.fs >info &&
	awk -F "	" "\$1 == \"\" { print \$2 }" info | sort -u >names &&
	printf "kdesc\nkeys\norigsize\n" >expect &&
	test_cmp expect names
'

test_expect_success 'a textured photo gets keypoints of the image and of the mirror' '
	imgkeys <in.fs >out.fs &&
	featinfo -n 0 out.fs >info &&
	grep -A3 "^.*scene-0000.jpg	ok" info >a &&
	n=$(sed -n "s/^	keys	f32	\[\([0-9]*\) 5\].*/\1/p" a) &&
	# at most 300 of each; 540 or more holds both near their 300 (the
	# coarse levels, given more than their area, may run short of corners)
	test "$n" -ge 540 && test "$n" -le 600
'

test_expect_success 'each level gets 0.85 times the keypoints of the one before' '
	imgdecode "$S/scene-0000.jpg" | imgkeys >one.fs &&
	featinfo --raw keys one.fs >k.f32 &&
	"$PYTHON" -c "
import math, struct
b = open(\"k.f32\", \"rb\").read()
v = struct.unpack(\"<%df\" % (len(b) // 4), b)
n = [0] * 8
for i in range(0, len(v), 5):
    if v[i + 4] == 0:   # the image, not the mirror; size 31 level pixels, level 0 at 400 of 480
        n[round(math.log(v[i + 2] / (31 * 480 / 400)) / math.log(1.3))] += 1
want = [300 * 0.85 ** l * 0.15 / (1 - 0.85 ** 8) for l in range(8)]
print(n, [round(w, 1) for w in want])
# levels 0-6 of this textured photo fill their share (the last takes what is left)
assert all(abs(n[l] - want[l]) <= 1 for l in range(7)), (n, want)
"
'

test_expect_success '--max, --no-mirror, --side, --levels, --keep-image' '
	imgkeys -n 20 <in.fs >out.fs &&
	check_keys out.fs 20 1 480 360 &&
	imgkeys --max 7 --no-mirror <in.fs >out.fs &&
	check_keys out.fs 7 0 480 360 &&
	imgkeys --side 200 --levels 2 <in.fs >out.fs &&
	check_keys out.fs 300 1 480 360 &&
	imgkeys --keep-image <in.fs >out.fs &&
	featinfo --raw image in.fs >a.u8 &&
	featinfo --raw image out.fs >b.u8 &&
	cmp a.u8 b.u8
'

test_expect_success 'the same input gives the same output' '
	imgkeys <in.fs >a.fs &&
	imgkeys <in.fs >b.fs &&
	cmp a.fs b.fs
'

test_expect_success 'a JPEG decoded at 1/4: keys in the photo as stored (origsize 480x360)' '
	imgdecode --min-side 90 "$S/scene-0000.jpg" >small.fs &&
	featinfo -n 0 small.fs >info &&
	grep "	image	u8	\[90 120 3\]" info &&
	imgkeys <small.fs >out.fs &&
	check_keys out.fs 300 1 480 360 &&
	featinfo --raw keys out.fs >k.f32 &&
	"$PYTHON" -c "
import struct, sys
v = open(\"k.f32\", \"rb\").read()
v = struct.unpack(\"<%df\" % (len(v) // 4), v)
assert len(v) and max(v[0::5]) > 120 and min(v[2::5]) >= 4 * 31 - 0.01, (max(v[0::5]), min(v[2::5]))
"
'

test_expect_success 'setup: the sample photos with the detector'"'"'s boxes' '
	imgdecode "$S/scene-0000.jpg" "$S/scene-0005.jpg" "$S/broken.jpg" |
		imgprep --for ssd | ssd-detect >det.fs &&
	featinfo -n 0 det.fs >info &&
	test $(grep -c "	dets	f32	\[[1-9][0-9]* 6\]" info) = 2
'

# box_keys OUT CROPKEYS: OUT's keypoints of flags 2 and 3 are those of
# CROPKEYS (imgkeys of cropbox --margin 0's crops), moved by the crop's
# corner, with the same descriptors; its keypoints of flags 0 and 1 are
# those of photo.fs (imgkeys of the photos without `dets`).
box_keys() {
	for f in "$1" "$2" photo.fs crops.fs; do
		featcat --ok "$f" >ok.fs &&
		featinfo -n 0 ok.fs >"$f.info" &&
		featinfo --raw keys ok.fs >"$f.k" &&
		featinfo --raw kdesc ok.fs >"$f.d" || return 1
	done &&
	featcat --ok crops.fs >ok.fs &&
	featinfo --raw crop ok.fs >crop.f32 &&
	"$PYTHON" - "$1" "$2" <<-\EOP
	import re, struct, sys
	def load(f):
	    n = [int(m.group(1)) for m in re.finditer(r"\tkeys\tf32\t\[(\d+) 5\]", open(f + ".info").read())]
	    k = open(f + ".k", "rb").read(); d = open(f + ".d", "rb").read()
	    v = struct.unpack("<%df" % (len(k) // 4), k)
	    out, at = [], 0
	    for c in n:
	        out.append([(v[5 * i:5 * i + 5], d[32 * i:32 * i + 32]) for i in range(at, at + c)])
	        at += c
	    return out
	out, ck, ph = load(sys.argv[1]), load(sys.argv[2]), load("photo.fs")
	b = open("crop.f32", "rb").read()
	crops = [struct.unpack("<6f", b[24 * i:24 * i + 24]) for i in range(len(b) // 24)]
	assert len(out) == len(ck) == len(ph) == len(crops) == 2, (len(out), len(ck), len(ph), len(crops))
	for o, c, p, cr in zip(out, ck, ph, crops):
	    flags = [k[4] for k, _ in o]
	    assert flags == sorted(flags), "by flag"
	    assert [x for x in o if x[0][4] < 2] == p, "the photo's own keypoints"
	    box = [x for x in o if x[0][4] >= 2]
	    assert len(box) == len(c) > 20, (len(box), len(c))  # enough to show something
	    for (k, d), (kc, dc) in zip(box, c):
	        assert d == dc and k[4] == kc[4] + 2, (k, kc)
	        assert abs(k[0] - (kc[0] + cr[0])) < 1e-3 and abs(k[1] - (kc[1] + cr[1])) < 1e-3, (k, kc, cr)
	        assert k[2:4] == kc[2:4] and cr[0] < k[0] < cr[2] and cr[1] < k[1] < cr[3], (k, kc, cr)
	print([len(x) for x in out], [len(x) for x in ph])
	EOP
}

test_expect_success 'with `dets`: the keypoints of the best box, as those of its crop' '
	imgdecode "$S/scene-0000.jpg" "$S/scene-0005.jpg" "$S/broken.jpg" | imgkeys >photo.fs &&
	cropbox --margin 0 <det.fs >crops.fs &&
	imgkeys <crops.fs >cropkeys.fs &&
	imgkeys <det.fs >box.fs &&
	box_keys box.fs cropkeys.fs &&
	check_keys box.fs 300 1 480 360 &&
	featinfo -n -1 box.fs >info &&
	grep "broken.jpg	error" info &&
	imgkeys -n 50 --no-mirror <det.fs >box50.fs &&
	check_keys box50.fs 50 0 480 360 &&
	featcat --ok box50.fs | featinfo --raw keys - >k.f32 &&
	"$PYTHON" -c "
import struct
b = open(\"k.f32\", \"rb\").read()
f = struct.unpack(\"<%df\" % (len(b) // 4), b)[4::5]
assert f.count(0) == 100 and 50 < f.count(2) <= 100 and len(f) == f.count(0) + f.count(2), (f.count(0), f.count(2), len(f))
"
'

test_expect_success '--no-box: only the photo'"'"'s keypoints, as without `dets`' '
	imgkeys --no-box <det.fs >nobox.fs &&
	featcat --ok nobox.fs | featinfo --raw keys - >a.f32 &&
	featcat --ok photo.fs | featinfo --raw keys - >b.f32 &&
	cmp a.f32 b.f32
'

test_expect_success 'a box that is the whole photo adds nothing; no box, nothing' '
	cat >whole.json <<-\EOJ &&
	[{"key": "whole", "tensors": [{"name": "image", "dtype": "u8", "shape": [60, 80, 1]},
	   {"name": "dets", "dtype": "f32", "shape": [1, 6], "values": [1, 0.9, -5, -5, 90, 70]}]},
	 {"key": "none", "tensors": [{"name": "image", "dtype": "u8", "shape": [60, 80, 1]},
	   {"name": "dets", "dtype": "f32", "shape": [0, 6]}]},
	 {"key": "bad-dets", "tensors": [{"name": "image", "dtype": "u8", "shape": [60, 80, 1]},
	   {"name": "dets", "dtype": "f32", "shape": [5]}]}]
	EOJ
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" whole.json >whole.fs &&
	imgkeys <whole.fs >out.fs &&
	featinfo -n 0 out.fs >info &&
	grep -A3 "^whole	ok" info | grep "	keys	f32	\[0 5\]" &&
	grep -A3 "^none	ok" info | grep "	keys	f32	\[0 5\]" &&
	grep "^bad-dets	error	imgkeys: .dets." info
'

test_expect_success 'error records pass through untouched' '
	imgkeys <in.fs >out.fs &&
	featinfo -n -1 in.fs >in.txt &&
	featinfo -n -1 out.fs >out.txt &&
	grep "broken.jpg	error" in.txt >a &&
	grep "broken.jpg	error" out.txt >b &&
	test_cmp a b
'

test_expect_success 'bad records become error records with the reason; small ones get N = 0' '
	cat >bad.json <<-\EOJ &&
	[{"key": "no-image", "tensors": [{"name": "x", "dtype": "u8", "shape": [1]}]},
	 {"key": "f32-image", "tensors": [{"name": "image", "dtype": "f32", "shape": [4, 4, 3]}]},
	 {"key": "two-channels", "tensors": [{"name": "image", "dtype": "u8", "shape": [4, 4, 2]}]},
	 {"key": "flat-grey", "tensors": [{"name": "image", "dtype": "u8", "shape": [50, 60, 1]}]},
	 {"key": "empty", "tensors": [{"name": "image", "dtype": "u8", "shape": [0, 0, 3]}]},
	 {"key": "failed", "status": "error", "message": "imgdecode: corrupt"}]
	EOJ
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" bad.json >bad.fs &&
	imgkeys <bad.fs >out.fs 2>err &&
	test ! -s err &&
	featinfo -k out.fs >keys &&
	test_line_count = 6 keys &&
	grep "^no-image	error	imgkeys: no .image. tensor" keys &&
	grep "^f32-image	error	imgkeys: .image. is f32 \[4 4 3\], expected u8 \[H, W, C\]" keys &&
	grep "^two-channels	error	imgkeys: .image. is u8 \[4 4 2\]" keys &&
	grep "^flat-grey	ok" keys &&
	grep "^empty	ok" keys &&
	grep "^failed	error	imgdecode: corrupt" keys &&
	featinfo -n 0 out.fs >info &&
	grep -A2 "^flat-grey" info >f &&
	grep "	keys	f32	\[0 5\]" f &&
	grep "	kdesc	u8	\[0 32\]" f
'

# usage_error ARGS...: exit 2, one line naming the problem, nothing out
usage_error() {
	test_expect_code 2 imgkeys "$@" <in.fs >out 2>err &&
	test ! -s out &&
	test_stderr_one_line err &&
	grep "^imgkeys: " err
}

for args in '-n 0' '-n x' '--max 100001' '--side 10' '--side 9000' '--levels 0' \
	    '--levels 17' '--bogus' 'extra-arg' '-n'; do
	test_expect_success "usage error: imgkeys $args" "
		usage_error $args
	"
done

test_expect_success 'input that is not a featstream: exit 3, one line' '
	echo "a.jpg" >paths &&
	test_expect_code 3 imgkeys <paths >out 2>err &&
	test_stderr_one_line err &&
	grep "imgkeys: standard input is not a featstream" err
'

test_expect_success 'an empty stream gives an empty stream' '
	head -c 64 "$TEST_DATA/prep/basic.fs" >empty.fs &&
	imgkeys <empty.fs >out.fs &&
	featinfo -c out.fs >count &&
	grep "^0" count
'

test_done
