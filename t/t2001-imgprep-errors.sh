#!/bin/sh
# imgprep: bad options, bad records and bad streams.  A bad record
# becomes an error record and the run goes on; error records pass through
# untouched; a bad stream stops the run with one clear line and exit 3.

. "$FEAT_TOP/t/test-lib.sh"

D=$TEST_DATA/prep

# usage_error ARGS...: exit 2, one line on stderr naming the problem,
# nothing on stdout.
usage_error() {
	test_expect_code 2 imgprep "$@" <"$D/basic.fs" >out 2>err &&
	test ! -s out &&
	head -n 1 err >first &&
	grep "^imgprep: " first &&
	test_stderr_one_line err
}

for args in '--size 0x3' '--size 3x' '--size 300' '--size x300' '--size 20000x10' \
	    '-W -1 -H 3' '-W 3' '--fit squash --size 3x3' '--resize cubic --size 3x3' \
	    '--mean 1,2 --size 3x3' '--scale a --size 3x3' '--pad 1,2,3,4 --size 3x3' \
	    '--for a/b' '--for ssd300 -m x.fm' '--bogus --for ssd300' '--size 3x3 extra-arg' \
	    '-m' ''; do
	test_expect_success "usage error: imgprep $args" "
		usage_error $args
	"
done

test_expect_success 'usage errors say what is wrong' '
	test_expect_code 2 imgprep --fit squash --size 3x3 <"$D/basic.fs" >out 2>err &&
	grep "imgprep: --fit: unknown value .squash. (known: stretch, letterbox, crop)" err &&
	test_expect_code 2 imgprep --for ssd300 -m x.fm <"$D/basic.fs" >out 2>err &&
	grep "give -m MODEL or --for NAME, not both" err &&
	test_expect_code 2 imgprep <"$D/basic.fs" >out 2>err &&
	grep "no input size: give -m MODEL, --for NAME or --size WxH" err
'

# model_error CODE ARGS...: exit CODE, one line on stderr, nothing on stdout
model_error() {
	_code=$1 &&
	shift &&
	test_expect_code $_code imgprep "$@" <"$D/basic.fs" >out 2>err &&
	test ! -s out &&
	test_stderr_one_line err &&
	grep "^imgprep: " err
}

test_expect_success 'a model that is not there: exit 4, one line' '
	mkdir empty &&
	FEAT_MODELS=$PWD/empty model_error 4 --for yolo &&
	grep "model .yolo. not found (looked for yolo.fm in $PWD/empty;" err &&
	FEAT_MODELS=$PWD/empty model_error 4 --for ssd &&
	grep "model .ssd. not found" err &&
	model_error 4 -m ./missing.fm &&
	grep "missing.fm: cannot open: No such file or directory" err &&
	mkdir dir.fm &&
	model_error 4 -m ./dir.fm
'

test_expect_success 'a file that is not a model: exit 3, one line' '
	echo "not a model" >bad.fm &&
	model_error 3 -m bad.fm &&
	grep "bad.fm" err &&
	: >empty.fm &&
	model_error 3 -m ./empty.fm
'

test_expect_success 'a model without a setting: exit 3, the key named' '
	full="input.shape=3,4,5 input.order=bgr input.mean=1 input.scale=1 input.fit=stretch" &&
	for k in input.shape input.order input.mean input.scale input.fit; do
		"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" m.fm $full -$k &&
		model_error 3 -m m.fm &&
		grep "^imgprep: m.fm: model has no metadata .$k. (" err || return 1
	done
'

test_expect_success 'a setting the model lacks can be given instead' '
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" m.fm input.shape=3,4,5 input.order=bgr -input.mean -input.fit input.scale=1 &&
	imgprep -m m.fm --mean 104,117,123 --fit stretch <"$D/basic.fs" >a.fs &&
	imgprep --size 5x4 --bgr --mean 104,117,123 <"$D/basic.fs" >b.fs &&
	cmp a.fs b.fs &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" m.fm -input.shape -input.order input.mean=0 input.scale=1 input.fit=crop &&
	imgprep -m m.fm --size 5x4 --rgb <"$D/basic.fs" >a.fs &&
	imgprep --size 5x4 --fit crop <"$D/basic.fs" >b.fs &&
	cmp a.fs b.fs
'

test_expect_success 'bad settings in a model: exit 3, the key and the trouble named' '
	ok="input.mean=1 input.scale=1 input.fit=stretch" &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" m.fm input.shape=3,4,5 input.order=yuv $ok &&
	model_error 3 -m m.fm &&
	grep "model metadata .input.order. is not rgb, bgr or gray" err &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" m.fm input.shape=1,4,5 input.order=bgr $ok &&
	model_error 3 -m m.fm &&
	grep "model metadata .input.shape. has 1 channels but .input.order. is bgr (3 channels)" err &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" m.fm input.shape=3,0,5 input.order=rgb $ok &&
	model_error 3 -m m.fm &&
	grep "model metadata .input.shape. is not three whole numbers from 1 to 16384" err &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" m.fm input.shape=3,4,5 input.order=rgb input.mean=1,2 input.scale=1 input.fit=stretch &&
	model_error 3 -m m.fm &&
	grep "model metadata .input.mean. is not one or three numbers" err &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" m.fm input.shape=3,4,5 input.order=rgb input.mean=1 input.scale=1 input.fit=squash &&
	model_error 3 -m m.fm &&
	grep "model metadata .input.fit. is not stretch, letterbox or crop" err
'

test_expect_success 'bad records become error records; the run goes on' '
	imgprep --size 3x3 <"$D/mixed.fs" >out.fs 2>err &&
	test ! -s err &&
	featinfo -k out.fs >keys &&
	cat >expect <<-\EOT &&
	ok-first	ok
	already-failed	error	corrupt JPEG data: premature end of data segment
	no-image	error	imgprep: no '"'"'image'"'"' tensor to prepare (imgprep reads imgdecode'"'"'s output)
	float-image	error	imgprep: '"'"'image'"'"' is f32 with 3 dimensions, expected u8 [H, W, C]
	flat-image	error	imgprep: '"'"'image'"'"' is u8 with 2 dimensions, expected u8 [H, W, C]
	two-channels	error	imgprep: '"'"'image'"'"' has 2 channels, expected 1, 3 or 4
	empty-image	error	imgprep: '"'"'image'"'"' is empty (3 x 0 pixels)
	gray	ok
	rgba	ok
	ok-last	ok
	EOT
	test_cmp expect keys
'

test_expect_success 'error records pass through untouched, tensors and all' '
	imgprep --size 3x3 <"$D/mixed.fs" >out.fs &&
	featinfo -n -1 "$D/mixed.fs" >in.txt &&
	featinfo -n -1 out.fs >out.txt &&
	for k in already-failed; do
		awk -v k=$k "!/^\t/ { on = (\$1 == k) } on" in.txt >a &&
		awk -v k=$k "!/^\t/ { on = (\$1 == k) } on" out.txt >b &&
		test_line_count = 2 a &&
		test_cmp a b || return 1
	done
'

test_expect_success 'records made error keep their tensors and get no input' '
	imgprep --size 3x3 <"$D/mixed.fs" >out.fs &&
	featinfo -n -1 "$D/mixed.fs" >in.txt &&
	featinfo -n -1 out.fs >out.txt &&
	for k in no-image float-image flat-image two-channels empty-image; do
		awk -v k=$k "!/^\t/ { on = (\$1 == k) } on" in.txt | tail -n +2 >a &&
		awk -v k=$k "!/^\t/ { on = (\$1 == k) } on" out.txt | tail -n +2 >b &&
		test_cmp a b || return 1
	done
'

test_expect_success 'gray and RGBA images are accepted' '
	imgprep --size 3x3 <"$D/mixed.fs" >out.fs &&
	featinfo out.fs >info &&
	awk "!/^\t/ { on = (\$1 == \"gray\" || \$1 == \"rgba\") } on" info >both &&
	test $(grep -c "	input	f32	\[3 3 3\]" both) = 2 &&
	test $(grep -c "	xform	f32	\[8\]	6 4 3 3 0.5 0.75 0 0" both) = 2
'

test_expect_success 'gray is copied to all three channels' '
	imgprep --size 2x2 --resize area <"$D/mixed.fs" >out.fs &&
	featinfo --raw input out.fs >all.f32 &&
	"$PYTHON" -c "
import struct
v = struct.unpack(\"<%df\" % (len(open(\"all.f32\", \"rb\").read()) // 4), open(\"all.f32\", \"rb\").read())
g = v[12:24]          # second ok record is gray (ok-first, gray, rgba, ok-last)
assert g[0:4] == g[4:8] == g[8:12], g
"
'

test_expect_success 'input that is not a featstream: exit 3, one line' '
	echo "photos/a.jpg" >paths &&
	test_expect_code 3 imgprep --for ssd300 <paths >out 2>err &&
	test_stderr_one_line err &&
	grep "imgprep: standard input is not a featstream" err &&
	grep "try: imgdecode FILE | imgprep" err
'

test_expect_success 'a JPEG instead of a stream is named as such' '
	printf "\377\330\377\340\000\020JFIF\000" >a.jpg &&
	test_expect_code 3 imgprep --for ssd300 <a.jpg >out 2>err &&
	test_stderr_one_line err &&
	grep "not a featstream" err
'

test_expect_success 'empty input: exit 3, one line' '
	test_expect_code 3 imgprep --for ssd300 </dev/null >out 2>err &&
	test_stderr_one_line err &&
	grep "imgprep: standard input is empty" err
'

test_expect_success 'truncated input: the complete records are written, no end mark, exit 3' '
	test_expect_code 3 imgprep --size 4x4 <"$D/truncated.fs" >out.fs 2>err &&
	test_stderr_one_line err &&
	grep "truncated" err &&
	test_expect_code 3 featinfo -k out.fs >keys 2>err &&
	test_line_count = 2 keys &&
	grep -q "without its end mark" err &&
	test_expect_code 3 featinfo out.fs >info 2>/dev/null &&
	test $(grep -c "	input	f32	\[3 4 4\]" info) = 2
'

test_expect_success 'an empty stream gives an empty stream' '
	head -c 64 "$D/basic.fs" >empty.fs &&
	imgprep --for ssd300 <empty.fs >out.fs &&
	featinfo -c out.fs >count &&
	grep "^0" count
'

test_done
