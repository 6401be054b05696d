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
	    '--for yolo' '--bogus --for ssd' '--size 3x3 extra-arg' ''; do
	test_expect_success "usage error: imgprep $args" "
		usage_error $args
	"
done

test_expect_success 'usage errors say what is wrong' '
	test_expect_code 2 imgprep --fit squash --size 3x3 <"$D/basic.fs" >out 2>err &&
	grep "imgprep: --fit: unknown value .squash. (known: stretch, letterbox, crop)" err &&
	test_expect_code 2 imgprep --for yolo <"$D/basic.fs" >out 2>err &&
	grep "unknown preset .yolo." err &&
	test_expect_code 2 imgprep <"$D/basic.fs" >out 2>err &&
	grep "no input size: give --for NAME or --size WxH" err
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
	test_expect_code 3 imgprep --for ssd <paths >out 2>err &&
	test_stderr_one_line err &&
	grep "imgprep: standard input is not a featstream" err &&
	grep "try: imgdecode FILE | imgprep" err
'

test_expect_success 'a JPEG instead of a stream is named as such' '
	printf "\377\330\377\340\000\020JFIF\000" >a.jpg &&
	test_expect_code 3 imgprep --for ssd <a.jpg >out 2>err &&
	test_stderr_one_line err &&
	grep "not a featstream" err
'

test_expect_success 'empty input: exit 3, one line' '
	test_expect_code 3 imgprep --for ssd </dev/null >out 2>err &&
	test_stderr_one_line err &&
	grep "imgprep: standard input is empty" err
'

test_expect_success 'truncated input: the complete records are written, then exit 3' '
	test_expect_code 3 imgprep --size 4x4 <"$D/truncated.fs" >out.fs 2>err &&
	test_stderr_one_line err &&
	grep "truncated" err &&
	featinfo -k out.fs >keys &&
	test_line_count = 2 keys &&
	featinfo out.fs >info &&
	test $(grep -c "	input	f32	\[3 4 4\]" info) = 2
'

test_expect_success 'an empty stream gives an empty stream' '
	head -c 64 "$D/basic.fs" >empty.fs &&
	imgprep --for ssd <empty.fs >out.fs &&
	featinfo -c out.fs >count &&
	grep "^0" count
'

test_done
