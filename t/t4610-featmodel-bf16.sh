#!/bin/sh
# featmodel quantize --bf16: the shipped detector and descriptor with their
# convolutions (but the first) and large inner products in bf16, run
# beside their fp32 selves: the accuracy guards of issue 16 (top box of
# each crop at IoU >= 0.9 with fp32's, code bits equal), a small network's
# raw outputs within bf16's tolerance of fp32's (its fused ReLU6, leaky
# ReLU and sigmoid after bf16 layers), the same results on the plain C
# twin (ref) and on two threads, fp32 on OpenBLAS (said so), the choice in
# featmodel info, and every refusal.

. "$FEAT_TOP/t/test-lib.sh"

SSD=$FEAT_TOP/models/ssd.fm
DB=$FEAT_TOP/models/deepbit.fm
NETS=$FEAT_TOP/t/fuzz/corpus/net
CMP="$PYTHON $FEAT_TOP/t/lib/quantcmp.py"

test_expect_success 'help names --bf16' '
	featmodel --help >out &&
	grep -e "quantize --bf16 -o OUT MODEL" out &&
	grep -e "--bf16 " out
'

test_expect_success 'setup: crops of the sample photos, prepared for each model' '
	imgdecode "$FEAT_TOP"/contrib/samples/scene-*.jpg >photos.fs &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkcrops.py" photos.fs 120 7 >crops.fs &&
	imgprep -m "$SSD" <photos.fs >ssd-photos.fs &&
	imgprep -m "$SSD" <crops.fs >ssd-test.fs &&
	imgprep -m "$DB" <crops.fs >db-test.fs
'

test_expect_success 'quantize --bf16: no calibration, the int8 candidates, bf16 in featmodel info' '
	featmodel quantize --bf16 -o ssd16.fm "$SSD" >out &&
	grep "^ssd16.fm: 54 layers bf16, 0 kept fp32 by --fp32$" out &&
	featmodel info ssd16.fm >info &&
	grep "^  quant.method	bf16$" info &&
	! grep "quant.calib" info &&
	test "$(grep -c "  bf16$" info)" = 54 &&
	grep "^3  *conv  */n/g/Conv .*  fp32$" info &&
	if test_have_prereq BF16; then
		grep "^bf16: 54 layers in bf16 (fp32 sums); they run bf16 on this path$" info
	else
		grep "^bf16: 54 layers in bf16 (fp32 sums); they run fp32 here" info
	fi &&
	featmodel quantize -q --bf16 --fp32 /n/conf.0/Conv,/n/loc.0/Conv -o ssd16b.fm "$SSD" &&
	featmodel info ssd16b.fm >infob &&
	test "$(grep -c "  bf16$" infob)" = 52 &&
	grep "/n/conf.0/Conv .*  fp32$" infob
'

# Measured on these 120 crops with the shipped detector (every item
# boxed, the main box first): 116 first boxes within IoU 0.9 (of the
# others, three crops without an item have a box just over the
# confidence threshold in one run only, one a tie of two background
# boxes under 0.05), all 14 whose fp32 top box scores 0.3 or more; the
# detector before it, 119 and all 15.
test_expect_success 'detector: the top box of each crop within IoU 0.9 of fp32s' '
	ssd-detect -q -m "$SSD" <ssd-test.fs | featwrite -q -f jsonl >fp32.jsonl &&
	ssd-detect -q -m ssd16.fm <ssd-test.fs | featwrite -q -f jsonl >bf16.jsonl &&
	$CMP dets fp32.jsonl bf16.jsonl 99 0.3 &&
	$CMP dets fp32.jsonl bf16.jsonl 95 &&
	if test_have_prereq BF16; then
		! cmp -s fp32.jsonl bf16.jsonl
	fi
'

test_expect_success 'detector: the same detections on two threads, and on the plain C twin' '
	FEAT_THREAD_MIN=0 ssd-detect -q -t 2 -m ssd16.fm <ssd-test.fs |
		featwrite -q -f jsonl >bf16t2.jsonl &&
	$CMP dets bf16.jsonl bf16t2.jsonl 100 &&
	# the kernel and its C twin sum the fp32 products in another order, so
	# two background boxes tied at the confidence threshold may swap
	# (0.0583 and 0.0580 on a sample photo without an item); every photo
	# whose top box scores 0.3 or more must keep it.  The boxes of the network alone
	# (--no-mirror): the mirror merge pairs each box with the box of the
	# other view that overlaps it most, and two nearly equal candidates
	# can swap on such a difference (scene-0000-dup0: top box 0.541 or
	# 0.573, IoU 0.898 between the two)
	if test_have_prereq BF16 && test "${FEAT_KERNEL:-}" != ref; then
		ssd-detect -q --no-mirror -m ssd16.fm <ssd-photos.fs | featwrite -q -f jsonl >bf16p.jsonl &&
		FEAT_KERNEL=ref ssd-detect -q --no-mirror -m ssd16.fm <ssd-photos.fs |
			featwrite -q -f jsonl >bf16ref.jsonl &&
		$CMP dets bf16p.jsonl bf16ref.jsonl 100 0.3
	fi
'

# Measured: 99.96% of the bits (7677 of 7680), all three layers bf16.
test_expect_success 'descriptor: >= 99.5% of the code bits of 120 crops equal fp32s' '
	featmodel quantize -q --bf16 -o db16.fm "$DB" &&
	featmodel info db16.fm >infodb &&
	grep "^bf16: 3 layers in bf16" infodb &&
	deepbit-extract -q -m "$DB" <db-test.fs | featwrite -q -f jsonl >c32.jsonl &&
	deepbit-extract -q -m db16.fm <db-test.fs | featwrite -q -f jsonl >c16.jsonl &&
	$CMP codes c32.jsonl c16.jsonl 99.5 &&
	# against the twin where this path runs bf16 (on OpenBLAS c16 is fp32s)
	if test_have_prereq BF16 && test "${FEAT_KERNEL:-}" != ref; then
		grep "they run bf16 on this path" infodb &&
		FEAT_KERNEL=ref deepbit-extract -q -m db16.fm <db-test.fs |
			featwrite -q -f jsonl >c16ref.jsonl &&
		$CMP codes c16.jsonl c16ref.jsonl 99.9
	fi
'

# A sum of K products of bf16 values (8 significant bits) is off by about
# 2^-8 of its magnitude; through three small layers and a sigmoid the
# outputs (at most 0.72 here) move by 0.0017 (measured).
test_expect_success 'a small network: raw outputs within 0.01 of fp32' '
	featmodel quantize -q --bf16 -o convs16.fm "$NETS/convs.fm" &&
	featmodel info convs16.fm >infoc &&
	grep "^bf16: 3 layers" infoc &&
	"$PYTHON" -c "import random, struct, sys
random.seed(3)
sys.stdout.buffer.write(struct.pack(\"<2592f\", *[random.gauss(0, 1) for _ in range(2592)]))" >in.f32 &&
	featmodel run -b 8 "$NETS/convs.fm" in.f32 o32 &&
	featmodel run -b 8 convs16.fm in.f32 o16 &&
	"$PYTHON" -c "import struct, sys
def f(p):
    b = open(p, \"rb\").read()
    return struct.unpack(\"<%df\" % (len(b) // 4), b)
a, b = f(\"o32.sigmoid13.f32\"), f(\"o16.sigmoid13.f32\")
assert len(a) == len(b) == 384
d = max(abs(x - y) for x, y in zip(a, b))
print(d)
sys.exit(not d <= 0.01)"
'

# The twin and the AVX-512 kernel differ only in the order of fp32
# additions; where this path runs bf16 layers fp32 (OpenBLAS, a CPU
# without AVX512_BF16: the BF16 prerequisite) there is nothing to hold
# against the twin.
if test_have_prereq BF16; then
	test_expect_success 'a small network: within 1e-5 of the plain C twin' '
		grep "^bf16: 3 layers in bf16 (fp32 sums); they run bf16 on this path$" infoc &&
		FEAT_KERNEL=ref featmodel run -b 8 convs16.fm in.f32 o16r &&
		"$PYTHON" -c "import struct, sys
def f(p):
    b = open(p, \"rb\").read()
    return struct.unpack(\"<%df\" % (len(b) // 4), b)
b, c = f(\"o16.sigmoid13.f32\"), f(\"o16r.sigmoid13.f32\")
assert len(b) == len(c) == 384
d = max(abs(x - y) for x, y in zip(b, c))
print(d)
sys.exit(not d <= 1e-5)"
	'
else
	test_skip 'a small network: within 1e-5 of the plain C twin' \
		"this path runs bf16 layers fp32 (FEAT_KERNEL=${FEAT_KERNEL:-auto}; no AVX512_BF16 or OpenBLAS)"
fi

# A residual Add is fused into the store of an fp32 convolution before
# it (passes.c, fuse_residual); a bf16 or int8 convolution's kernels
# store without adding, so the Add must stay a layer (it was fused, and
# the residual lost, until 2026-12-07: ResNet's blocks, MobileNetV3's).
test_expect_success 'a residual network (the zoo ResNet): bf16 within 2% of fp32' '
	featmodel import -o resnet.fm "$TEST_DATA/onnx/zoo/resnet.13.onnx" >out &&
	featmodel quantize -q --bf16 -o resnet16.fm resnet.fm &&
	featmodel run resnet.fm "$TEST_DATA/onnx/zoo/resnet.in.f32" r32 &&
	featmodel run resnet16.fm "$TEST_DATA/onnx/zoo/resnet.in.f32" r16 &&
	"$PYTHON" "$FEAT_TOP/t/lib/fcmp.py" --tol 0.02 r16.*.f32 r32.*.f32 &&
	FEAT_KERNEL=ref featmodel run resnet16.fm "$TEST_DATA/onnx/zoo/resnet.in.f32" r16r &&
	"$PYTHON" "$FEAT_TOP/t/lib/fcmp.py" --tol 0.02 r16r.*.f32 r32.*.f32
'

test_expect_success 'the bf16 model runs fp32 on OpenBLAS, and says so' '
	FEAT_KERNEL=blas featmodel info ssd16.fm >infobl &&
	grep "^bf16: 54 layers in bf16 (fp32 sums); they run fp32 here" infobl &&
	FEAT_KERNEL=blas ssd-detect -q -m ssd16.fm <ssd-test.fs | featwrite -q -f jsonl >blas.jsonl &&
	FEAT_KERNEL=blas ssd-detect -q -m "$SSD" <ssd-test.fs | featwrite -q -f jsonl >blas32.jsonl &&
	test_cmp blas32.jsonl blas.jsonl
'

test_expect_success 'refusals: usage (2), a bad bf16 quant parameter in a model (3)' '
	test_expect_code 2 featmodel quantize --bf16 "$SSD" 2>err && test_stderr_one_line err &&
	test_expect_code 2 featmodel quantize --bf16 --calib ssd-photos.fs -o x.fm "$SSD" 2>err &&
	grep "needs no calibration" err && test_stderr_one_line err &&
	test_expect_code 2 featmodel quantize --bf16 --percentile 99 -o x.fm "$SSD" 2>err &&
	test_expect_code 2 featmodel info --bf16 "$SSD" 2>err &&
	test_expect_code 2 featmodel quantize --bf16 --fp32 nosuch -o x.fm "$SSD" 2>err &&
	grep "no such layer" err &&
	test ! -e x.fm &&
	"$PYTHON" -c "import sys
b = open(sys.argv[1], \"rb\").read()
i = b.rindex(b\"bf16\")
open(sys.argv[2], \"wb\").write(b[:i] + b\"bf17\" + b[i + 4:])" ssd16.fm bad1.fm &&
	test_expect_code 3 featmodel check bad1.fm 2>err &&
	grep "must be the text u8s8 or bf16" err && test_stderr_one_line err &&
	test_expect_code 3 featmodel check "$NETS/convs-bf16-badscale.fm" 2>err &&
	grep "'"'"'quant.scale'"'"' belongs to quant u8s8, not bf16" err && test_stderr_one_line err &&
	test_expect_code 3 featmodel check "$NETS/convs-bf16-badkind.fm" 2>err &&
	test_stderr_one_line err
'

test_done
