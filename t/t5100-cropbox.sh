#!/bin/sh
# cropbox: every option against the rules of cropbox(1) as implemented
# independently by contrib/mkcropfixtures.py (t/data/crop/: the input
# stream in.fs, and per case the keys, `crop` tensors and cropped pixels
# expected), then the error paths.

. "$FEAT_TOP/t/test-lib.sh"

D=$TEST_DATA/crop

test_expect_success 'help and version' '
	cropbox --help >out &&
	grep "^Usage: cropbox" out &&
	for o in --class --min-score --min-size --margin --square --top --strict \
		 --keep-dets --labels --model; do
		grep -e "$o" out || return 1
	done &&
	cropbox --version >out &&
	grep "^cropbox (featkit) " out
'

# Each case: the keys and statuses, the crop rectangles (with the score
# and label of the box, or the fallback mark) and the pixels cut, as the
# reference says.
while IFS='	' read -r name args; do
	test_expect_success "cropbox $args" "
		cropbox $args <\"\$D/in.fs\" >out.fs &&
		featinfo -k out.fs >keys.all &&
		cut -f1,2 keys.all >keys &&
		test_cmp \"\$D/$name.keys\" keys &&
		featinfo --raw crop out.fs >crop.f32 &&
		cmp \"\$D/$name.crop.f32\" crop.f32 &&
		featinfo --raw image out.fs >image.u8 &&
		cmp \"\$D/$name.image.u8\" image.u8
	"
done <"$D/cases.txt"

test_expect_success 'the crop replaces image; input, xform and dets go' '
	cropbox --margin 0 <"$D/in.fs" >out.fs &&
	featcat --ok out.fs >ok.fs &&
	featinfo -n 0 ok.fs >info &&
	awk -F "	" "\$1 == \"\" { print \$2 }" info | sort -u >names &&
	printf "crop\nimage\norigsize\n" >expect &&
	test_cmp expect names &&
	grep -A1 "^a.jpg	ok" info >a &&
	# a.jpg'"'"'s first row, 5.5,4.25 - 20.25,18.75, cut outwards: 5-21 x 4-19
	grep "	image	u8	\[15 16 3\]" a
'

test_expect_success '--keep-dets keeps dets as they were' '
	cropbox --keep-dets <"$D/in.fs" >out.fs &&
	featinfo --raw dets "$D/in.fs" >in.dets &&
	featinfo --raw dets out.fs >out.dets &&
	cmp in.dets out.dets &&
	featcat --ok out.fs >ok.fs &&
	featinfo ok.fs >info &&
	grep "	dets	" info &&
	! grep "	input	" info &&
	! grep "	xform	" info
'

test_expect_success 'the fallback is marked: score and label -1, the whole image' '
	cropbox <"$D/in.fs" >out.fs &&
	featinfo -n 6 out.fs >info &&
	grep -A3 "^c-rgba-no-dets.png	ok" info >c &&
	grep "	crop	f32	\[6\]	0 0 20 20 -1 -1" c &&
	grep -A3 "^d-zero-dets.jpg	ok" info >d &&
	grep "	crop	f32	\[6\]	0 0 30 20 -1 -1" d
'

test_expect_success 'a box with an infinite corner is no box (the fallback, not the whole photo with its score)' '
	cat >inf.json <<-\EOF &&
	[{"key": "inf", "tensors": [{"name": "image", "dtype": "u8", "shape": [30, 40, 3]},
	  {"name": "dets", "dtype": "f32", "shape": [2, 6],
	   "values": [1, 0.9, -Infinity, -Infinity, Infinity, Infinity, 2, 0.8, 1, 1, Infinity, 10]}]},
	 {"key": "ok", "tensors": [{"name": "image", "dtype": "u8", "shape": [30, 40, 3]},
	  {"name": "dets", "dtype": "f32", "shape": [2, 6],
	   "values": [1, 0.9, -Infinity, 0, 10, 10, 2, 0.8, 2, 3, 12, 13]}]}]
	EOF
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" inf.json | cropbox --margin 0 >out.fs &&
	featinfo -n 6 out.fs >info &&
	grep -A3 "^inf	ok" info | grep "	crop	f32	\[6\]	0 0 40 30 -1 -1" &&
	grep -A3 "^ok	ok" info | grep "	crop	f32	\[6\]	2 3 12 13 0.8 2"
'

test_expect_success 'error records pass through untouched' '
	cropbox --top 2 --square <"$D/in.fs" >out.fs &&
	featinfo -n -1 "$D/in.fs" >in.txt &&
	featinfo -n -1 out.fs >out.txt &&
	awk "!/^\t/ { on = (\$1 == \"e-failed.jpg\") } on" in.txt >a &&
	awk "!/^\t/ { on = (\$1 == \"e-failed.jpg\") } on" out.txt >b &&
	test_line_count = 6 a &&
	test_cmp a b
'

test_expect_success 'bad records become error records with the reason' '
	cropbox <"$D/in.fs" >out.fs 2>err &&
	test ! -s err &&
	featinfo -k out.fs >keys &&
	grep "^f-no-image	error	cropbox: no .image. tensor to crop from" keys &&
	grep "^g-bad-dets.jpg	error	cropbox: .dets. is f32 \[2 5\], expected f32 \[N, 6\]" keys &&
	grep "^j-u8-dets.jpg	error	cropbox: .dets. is u8 \[1 6\], expected f32 \[N, 6\]" keys
'

test_expect_success '--strict: why there is no box' '
	cropbox --strict <"$D/in.fs" >out.fs &&
	featinfo -k out.fs >keys &&
	grep "^c-rgba-no-dets.png	error	cropbox: no box to crop (no .dets. tensor: run ssd-detect first)" keys &&
	grep "^d-zero-dets.jpg	error	cropbox: no box to crop (0 detections, none kept)" keys &&
	cropbox --strict --class 9 <"$D/in.fs" >out.fs &&
	featinfo -k out.fs >keys &&
	grep "^a.jpg	error	cropbox: no box to crop (6 detections, none kept)" keys
'

test_expect_success '-m MODEL: class names from the model metadata' '
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" det.fm \
		"labels=S:$(tr "\n" , <"$D/labels.txt" | sed "s/,$//")" &&
	cropbox -m det.fm --class trouser,sneaker <"$D/in.fs" >a.fs &&
	cropbox --class 2,8 <"$D/in.fs" >b.fs &&
	cmp a.fs b.fs &&
	mkdir models && cp det.fm models/det.fm &&
	FEAT_MODELS=$PWD/models cropbox -m det --class 2,sneaker <"$D/in.fs" >c.fs &&
	cmp a.fs c.fs
'

test_expect_success 'a 1x1 image with a box around it gives its one pixel' '
	cropbox --square --margin 5 <"$D/in.fs" >out.fs &&
	featinfo -n 6 out.fs >info &&
	grep -A3 "^h-one-pixel.jpg	ok" info >h &&
	grep "	image	u8	\[1 1 3\]" h &&
	grep "	crop	f32	\[6\]	0 0 1 1 0.5 1" h
'

# usage_error ARGS...: exit 2, one line naming the problem, nothing out
usage_error() {
	test_expect_code 2 cropbox "$@" <"$D/in.fs" >out 2>err &&
	test ! -s out &&
	test_stderr_one_line err &&
	grep "^cropbox: " err
}

test_expect_success 'a number too small for a double is a number near 0; too large, no number' '
	cropbox --min-score 1e-320 <"$D/in.fs" >tiny.fs &&
	cropbox --min-score 0 <"$D/in.fs" >zero.fs &&
	cmp tiny.fs zero.fs &&
	usage_error --min-score 1e999 &&
	usage_error --min-score -1e999
'

for args in '--min-score x' '--min-size -1' '--margin -0.1' '--margin 1e9' \
	    '--margin px' '--margin -3px' '--top 0' '--top x' '--class' '--class ,' \
	    '--class 1,,2' '--class 70000' '--class shirt' '--class -1' \
	    '-m x.fm --labels y.txt --class 1' \
	    '--bogus' 'extra-arg'; do
	test_expect_success "usage error: cropbox $args" "
		usage_error $args
	"
done

test_expect_success 'usage errors say what is wrong' '
	usage_error --class shirt &&
	grep "cropbox: --class: .shirt. is not a class number (names need -m MODEL or --labels FILE)" err &&
	usage_error --labels "$D/labels.txt" --class jacket &&
	grep "cropbox: --class: no class named .jacket." err &&
	test_expect_code 4 cropbox --labels x.txt <"$D/in.fs" >out 2>err &&
	grep -q "x.txt" err
'

test_expect_success '-m alone (as a script passes it to every stage): checked, the crops unchanged' '
	cropbox <"$D/in.fs" >plain.fs &&
	cropbox -m det.fm <"$D/in.fs" >m.fs &&
	cmp plain.fs m.fs &&
	test_expect_code 4 cropbox -m ./no-such.fm <"$D/in.fs" >out 2>err &&
	test_stderr_one_line err
'

test_expect_success 'a labels file or model that cannot be read: exit 4; a bad one: exit 3' '
	test_expect_code 4 cropbox --labels missing.txt --class 1 <"$D/in.fs" >out 2>err &&
	test_stderr_one_line err &&
	grep "cropbox: missing.txt: cannot open" err &&
	mkdir empty &&
	FEAT_MODELS=$PWD/empty test_expect_code 4 cropbox -m ssd --class 1 <"$D/in.fs" >out 2>err &&
	test_stderr_one_line err &&
	grep "model .ssd. not found" err &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" nolabels.fm &&
	test_expect_code 3 cropbox -m ./nolabels.fm --class 1 <"$D/in.fs" >out 2>err &&
	test_stderr_one_line err &&
	grep "nolabels.fm: model has no metadata .labels." err &&
	printf "a\0b\n" >nul.txt &&
	test_expect_code 3 cropbox --labels nul.txt --class 1 <"$D/in.fs" >out 2>err &&
	test_stderr_one_line err &&
	grep "nul.txt: line 1: a NUL byte in a name" err
'

test_expect_success 'labels files: CRLF and a last line without newline' '
	printf "bg\r\ntshirt\r\ntrouser" >crlf.txt &&
	cropbox --labels crlf.txt --class trouser <"$D/in.fs" >a.fs &&
	cropbox --class 2 <"$D/in.fs" >b.fs &&
	cmp a.fs b.fs
'

test_expect_success 'input that is not a featstream: exit 3, one line' '
	echo "a.jpg" >paths &&
	test_expect_code 3 cropbox <paths >out 2>err &&
	test_stderr_one_line err &&
	grep "cropbox: standard input is not a featstream" err
'

test_expect_success 'truncated input: the records before are written, no end mark, exit 3' '
	n=$(wc -c <"$D/in.fs") &&
	head -c $((n - 100)) "$D/in.fs" >trunc.fs &&
	test_expect_code 3 cropbox <trunc.fs >out.fs 2>err &&
	test_stderr_one_line err &&
	grep "truncated" err &&
	test_expect_code 3 featinfo -k out.fs >keys 2>err &&
	grep -q "without its end mark" err &&
	test_line_count = 10 keys
'

test_expect_success 'an empty stream gives an empty stream' '
	head -c 64 "$D/in.fs" >empty.fs &&
	cropbox <empty.fs >out.fs &&
	featinfo -c out.fs >count &&
	grep "^0" count
'

test_expect_success '-q, -v and --progress do not change the stream' '
	cropbox -q <"$D/in.fs" >a.fs &&
	cropbox -v --progress <"$D/in.fs" >b.fs 2>/dev/null &&
	cmp a.fs b.fs
'

test_done
