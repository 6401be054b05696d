#!/bin/sh
# featmodel quantize: the shipped detector and descriptor made int8 on a
# calibration stream, then run beside their fp32 selves on other inputs:
# the accuracy guards of issue 16 on small networks (top box of every
# photo at IoU >= 0.9 with fp32's, >= 99% of code bits equal), the same
# results on one thread and two and on the plain C twin (ref) as on the
# active path, the per-layer choice in featmodel info, and every refusal.

. "$FEAT_TOP/t/test-lib.sh"

SSD=$FEAT_TOP/models/ssd.fm
DB=$FEAT_TOP/models/deepbit.fm
CMP="$PYTHON $FEAT_TOP/t/lib/quantcmp.py"

test_expect_success 'help names quantize and its options' '
	featmodel --help >out &&
	for o in quantize --calib --percentile --fp32; do
		grep -e "$o" out || return 1
	done
'

test_expect_success 'setup: photos and crops, prepared for each model; calibration apart' '
	imgdecode "$FEAT_TOP"/contrib/samples/scene-*.jpg >photos.fs &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkcrops.py" photos.fs 120 7 >crops.fs &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkcrops.py" photos.fs 40 8 >calcrops.fs &&
	imgprep -m "$SSD" <photos.fs >ssd-cal.fs &&
	imgprep -m "$SSD" <crops.fs >ssd-test.fs &&
	imgprep -m "$DB" <calcrops.fs >db-cal.fs &&
	imgprep -m "$DB" <crops.fs >db-test.fs
'

test_expect_success 'quantize the detector: every convolution but the first and the depthwise ones' '
	featmodel quantize --calib ssd-cal.fs -o ssd8.fm "$SSD" >out &&
	grep "^ssd8.fm: 54 layers int8, 0 kept fp32 by --fp32, calibrated on 14 records (percentile 100)" out &&
	featmodel info ssd8.fm >info &&
	grep "^  quant.method	u8s8$" info &&
	grep "^  quant.calib.records	14$" info &&
	grep -c " int8 (input step " info >n && test "$(cat n)" = 54 &&
	featmodel info "$SSD" >info0 &&
	test "$(grep -c " conv" info0)" -gt 54 &&
	! grep "int8" info0 &&
	grep "^3  *conv  */n/g/Conv .*  fp32$" info &&
	grep "^int8: 54 layers quantised" info &&
	if test_have_prereq INT8; then
		grep "^int8: 54 layers quantised (u8 x s8); they run int8 on this path$" info
	else
		grep "^int8: 54 layers quantised (u8 x s8); they run fp32 here" info
	fi
'

# The network's own order first (--main-share 0, the best box first): the
# top box of a crop whose fp32 top box scores 0.3 or more (an item, not a
# near-tie of background boxes at the threshold) stays on the same item
# (IoU >= 0.5: the crop cropbox cuts) on every one, and within IoU 0.9 on
# 75%; over all crops, the network's boxes alone (--no-mirror), within
# IoU 0.9 on 85%.  Then the main box the model's metadata asks for (the
# largest of the boxes scoring at least half the best and 0.3): on the
# same item on 90% of those crops, as a box near either bound may cross
# it.  Measured with the shipped detector (every item boxed), every
# layer but the first int8: 14 of 14, 11 of 14 (IoU 0.85-0.9: the box
# moves a few pixels) and 106 of 120; with the main box 13 of 14 (a crop
# where a larger box scores 0.42 in fp32 and 0.29 in int8).  The
# detector before it (main items only) gave 14 of 14 at IoU 0.9; the
# fourth stage 16 of 16, 14 of 16 and 114 of 120; the third 16 of 16 and
# 97.5%; the fifth, with the mirror merge, 11 of 11, 11 of 11 and 107 of
# 120 (the near-ties of background boxes in crops without an item
# reorder more once two views are averaged), without it 9 of 9, 9 of 9
# and 111 of 120.  Short of the 99% at IoU 0.9 the project asks: why
# the shipped detector stays fp32.
test_expect_success 'detector: the top box of each crop on the same item as fp32s' '
	ssd-detect -q --main-share 0 -m "$SSD" <ssd-test.fs | featwrite -q -f jsonl >fp32s.jsonl &&
	ssd-detect -q --main-share 0 -m ssd8.fm <ssd-test.fs | featwrite -q -f jsonl >int8s.jsonl &&
	$CMP dets fp32s.jsonl int8s.jsonl 99 0.3 0.5 &&
	$CMP dets fp32s.jsonl int8s.jsonl 75 0.3 &&
	ssd-detect -q --no-mirror --main-share 0 -m "$SSD" <ssd-test.fs | featwrite -q -f jsonl >fp32n.jsonl &&
	ssd-detect -q --no-mirror --main-share 0 -m ssd8.fm <ssd-test.fs | featwrite -q -f jsonl >int8n.jsonl &&
	$CMP dets fp32n.jsonl int8n.jsonl 85 &&
	ssd-detect -q -m "$SSD" <ssd-test.fs | featwrite -q -f jsonl >fp32.jsonl &&
	ssd-detect -q -m ssd8.fm <ssd-test.fs | featwrite -q -f jsonl >int8.jsonl &&
	$CMP dets fp32.jsonl int8.jsonl 90 0.3 0.5 &&
	if test_have_prereq INT8; then
		! cmp -s fp32.jsonl int8.jsonl
	fi
'

# (the plain C twin, slow, on the 14 photos; where the active path runs
# the model int8 (the INT8 prerequisite: the CPU's VNNI, or the twin
# itself): under FEAT_KERNEL=blas it runs fp32, tested below)
test_expect_success 'detector: the same detections on two threads, and on the plain C twin' '
	FEAT_THREAD_MIN=0 ssd-detect -q -t 2 -m ssd8.fm <ssd-test.fs | featwrite -q -f jsonl >int8t2.jsonl &&
	$CMP dets int8.jsonl int8t2.jsonl 100 &&
	if test_have_prereq INT8; then
		test_cmp int8.jsonl int8t2.jsonl &&
		ssd-detect -q -m ssd8.fm <ssd-cal.fs | featwrite -q -f jsonl >int8p.jsonl &&
		FEAT_KERNEL=ref ssd-detect -q -m ssd8.fm <ssd-cal.fs |
			featwrite -q -f jsonl >int8ref.jsonl &&
		$CMP dets int8p.jsonl int8ref.jsonl 100
	fi
'

# The descriptor's second convolution keeps fp32: quantised alone it
# flips most of the bits that change (measured on these crops: all three
# int8, 98.8% of the bits equal; with it fp32, 99.7%).
test_expect_success 'descriptor: >= 99% of the code bits of 120 crops equal fp32s' '
	featmodel quantize -q --calib db-cal.fs --fp32 /f/f.3/Conv -o db8.fm "$DB" &&
	featmodel info db8.fm >infodb &&
	grep "^int8: " infodb &&
	deepbit-extract -q -m "$DB" <db-test.fs | featwrite -q -f jsonl >c32.jsonl &&
	deepbit-extract -q -m db8.fm <db-test.fs | featwrite -q -f jsonl >c8.jsonl &&
	$CMP codes c32.jsonl c8.jsonl 99 &&
	if test_have_prereq INT8; then
		grep "they run int8 on this path" infodb &&
		FEAT_KERNEL=ref deepbit-extract -q -m db8.fm <db-test.fs |
			featwrite -q -f jsonl >c8ref.jsonl &&
		$CMP codes c8.jsonl c8ref.jsonl 99.9
	fi
'

test_expect_success '--fp32 keeps layers fp32; --percentile narrows the steps; quantizing again starts from fp32' '
	l=$(sed -n "s/^[0-9]*  *conv+relu  *\([^ ]*\) .*int8.*/\1/p" info | head -n 2 | paste -sd, -) &&
	featmodel quantize --calib ssd-cal.fs --fp32 "$l" -o ssd8b.fm "$SSD" >out &&
	grep "52 layers int8, 2 kept fp32 by --fp32" out &&
	featmodel quantize -q --calib ssd-cal.fs --percentile 99.9 -o ssd8c.fm ssd8.fm &&
	featmodel info ssd8c.fm >infoc &&
	grep "^  quant.calib.percentile	99.9$" infoc &&
	test "$(grep -c " int8 (input step " infoc)" = 54 &&
	! cmp -s info infoc
'

test_expect_success 'the int8 model runs fp32 on OpenBLAS, and says so' '
	FEAT_KERNEL=blas featmodel info ssd8.fm >infob &&
	grep "^int8: 54 layers quantised (u8 x s8); they run fp32 here" infob &&
	FEAT_KERNEL=blas ssd-detect -q -m ssd8.fm <ssd-test.fs | featwrite -q -f jsonl >blas.jsonl &&
	$CMP dets fp32.jsonl blas.jsonl 100
'

test_expect_success 'refusals: usage (2), a bad stream (3), a bad quant parameter in a model (3)' '
	test_expect_code 2 featmodel quantize -o x.fm "$SSD" 2>err && test_stderr_one_line err &&
	test_expect_code 2 featmodel quantize --calib ssd-cal.fs "$SSD" 2>err &&
	test_expect_code 2 featmodel info --calib ssd-cal.fs "$SSD" 2>err &&
	test_expect_code 2 featmodel quantize --calib ssd-cal.fs --percentile 20 -o x.fm "$SSD" 2>err &&
	test_expect_code 2 featmodel quantize --calib ssd-cal.fs --fp32 nosuch -o x.fm "$SSD" 2>err &&
	grep "no such layer" err && test_stderr_one_line err &&
	test_expect_code 3 featmodel quantize --calib db-cal.fs -o x.fm "$SSD" 2>err &&
	test_stderr_one_line err &&
	printf "not a stream" >junk.fs &&
	test_must_fail featmodel quantize --calib junk.fs -o x.fm "$SSD" 2>err &&
	test ! -e x.fm &&
	"$PYTHON" -c "import struct,sys
b=open(sys.argv[1],\"rb\").read()
k=b\"quant.scale\"; i=b.index(k)+len(k)+4
open(sys.argv[2],\"wb\").write(b[:i]+struct.pack(\"<d\",-1.0)+b[i+8:])
k=b\"u8s8\"; i=b.rindex(k)
open(sys.argv[3],\"wb\").write(b[:i]+b\"u8s9\"+b[i+4:])" ssd8.fm bad1.fm bad2.fm &&
	test_expect_code 3 featmodel check bad1.fm 2>err &&
	grep "quant.scale" err && test_stderr_one_line err &&
	test_expect_code 3 featmodel check bad2.fm 2>err &&
	grep "u8s8" err && test_stderr_one_line err
'

test_expect_success 'edges: no step for an input all but zero (kept fp32, said); quant only on conv and fc; an integer step; a column too long for int8' '
	"$PYTHON" "$FEAT_TOP/t/lib/mkqnet.py" . &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" tiny.json >tiny.fs &&
	featmodel quantize --calib tiny.fs -o tiny8.fm tiny.fm >out 2>err &&
	grep "^tiny8.fm: 0 layers int8, 0 kept fp32 by --fp32" out &&
	grep "c2: its input .* has no int8 step: kept fp32" err && test_stderr_one_line err &&
	featmodel info tiny8.fm >info && ! grep int8 info &&
	test_expect_code 3 featmodel check relu.fm 2>err &&
	grep "r1.*quant.*on a relu layer" err && test_stderr_one_line err &&
	featmodel info intstep.fm >info &&
	grep "int8 (input step 2, zero 0)" info &&
	featmodel info long.fm >info &&
	! grep int8 info &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" long.json >long.fs &&
	featmodel quantize --calib long.fs -o long8.fm long.fm >out &&
	grep "^long8.fm: 0 layers int8" out
'

test_done
