#!/bin/sh
# imgprep: every option changes `input` and `xform` as imgprep(1) says.
# Expected values come from contrib/mkprepfixtures.py, which implements
# the definitions independently in numpy (t/data/prep/cli.txt lists the
# commands; basic.fs holds a 12x8 RGB image and a 5x9 one).

. "$FEAT_TOP/t/test-lib.sh"

D=$TEST_DATA/prep

# f32_close EXPECTED ACTUAL TOL [COUNT]: little-endian float32 files agree
# to TOL (max abs error) over the first COUNT values (default: all of
# EXPECTED, and ACTUAL may hold more, e.g. the payloads of later records).
f32_close() {
	"$PYTHON" - "$@" <<'PY'
import struct, sys
exp, act = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
tol = float(sys.argv[3])
n = int(sys.argv[4]) if len(sys.argv) > 4 else len(exp) // 4
if len(exp) < 4 * n or len(act) < 4 * n:
    sys.exit("f32_close: need %d values, have %d and %d" % (n, len(exp) // 4, len(act) // 4))
e = struct.unpack("<%df" % n, exp[:4 * n])
a = struct.unpack("<%df" % n, act[:4 * n])
for i in range(n):
    if not abs(e[i] - a[i]) <= tol:
        sys.exit("f32_close: value %d is %r, expected %r" % (i, a[i], e[i]))
PY
}

test_expect_success 'help and version' '
	imgprep --help >out &&
	grep "^Usage: imgprep" out &&
	grep -e "--for NAME" out &&
	grep -e "--model MODEL" out &&
	grep -e "--gray" out &&
	imgprep --version >out &&
	grep "^imgprep (featkit) " out
'

while IFS='	' read -r name stream args; do
	test_expect_success "imgprep $args" "
		imgprep $args <\"\$D/$stream\" >out.fs &&
		featinfo --raw input out.fs >input.f32 &&
		featinfo --raw xform out.fs >xform.f32 &&
		f32_close \"\$D/cli-$name.input.f32\" input.f32 1e-3 &&
		f32_close \"\$D/cli-$name.xform.f32\" xform.f32 1e-5
	"
done <"$D/cli.txt"

test_expect_success '--for ssd300 is 300x300 stretch, BGR, mean 104,117,123' '
	imgprep --for ssd300 <"$D/basic.fs" >ssd.fs &&
	featinfo -n 8 ssd.fs >info &&
	grep "	input	f32	\[3 300 300\]" info &&
	grep "	xform	f32	\[8\]	12 8 300 300 25 37.5 0 0" info &&
	imgprep --size 300x300 --fit stretch --bgr --mean 104,117,123 --scale 1 \
		<"$D/basic.fs" >explicit.fs &&
	cmp ssd.fs explicit.fs
'

test_expect_success '--for vgg224 is 224x224 stretch, BGR, mean 104,117,123' '
	imgprep --for vgg224 <"$D/basic.fs" >db.fs &&
	featinfo db.fs >info &&
	grep "	input	f32	\[3 224 224\]" info &&
	imgprep -W 224 -H 224 --bgr --mean 104,117,123 <"$D/basic.fs" >explicit.fs &&
	cmp db.fs explicit.fs
'

mkmodel() {
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" "$@"
}

test_expect_success '-m MODEL takes every setting from the metadata' '
	mkmodel m.fm input.shape=3,6,9 input.order=bgr input.mean=1,2,3 \
		input.scale=0.5,0.25,2 input.fit=letterbox &&
	imgprep -m m.fm <"$D/basic.fs" >a.fs &&
	imgprep --size 9x6 --bgr --mean 1,2,3 --scale 0.5,0.25,2 --fit letterbox \
		<"$D/basic.fs" >b.fs &&
	cmp a.fs b.fs
'

test_expect_success '-m: numbers stored as floats (Caffe) or ints, one mean for all' '
	mkmodel m.fm input.shape=f:3,6,9 input.order=rgb input.mean=f:7 \
		input.scale=1 input.fit=crop &&
	imgprep -m m.fm <"$D/basic.fs" >a.fs &&
	imgprep --size 9x6 --mean 7 --fit crop <"$D/basic.fs" >b.fs &&
	cmp a.fs b.fs
'

test_expect_success '-m: a gray model makes a one-channel input' '
	mkmodel g.fm input.shape=1,4,5 input.order=gray input.mean=3 \
		input.scale=0.5 input.fit=stretch &&
	imgprep -m g.fm <"$D/basic.fs" >a.fs &&
	featinfo -n 1 a.fs >info &&
	grep "	input	f32	\[1 4 5\]" info &&
	featinfo --raw input a.fs >input.f32 &&
	f32_close "$D/cli-gray.input.f32" input.f32 1e-3 &&
	imgprep --size 5x4 --gray --mean 3 --scale 0.5 <"$D/basic.fs" >b.fs &&
	cmp a.fs b.fs
'

test_expect_success '-m takes a model name from FEAT_MODELS, --for too' '
	mkdir models &&
	mkmodel models/mine.fm input.shape=3,6,9 input.order=bgr input.mean=1,2,3 \
		input.scale=1 input.fit=stretch &&
	FEAT_MODELS=$PWD/models imgprep -m mine <"$D/basic.fs" >a.fs &&
	FEAT_MODELS=$PWD/models imgprep --for mine <"$D/basic.fs" >b.fs &&
	imgprep -m models/mine.fm <"$D/basic.fs" >c.fs &&
	cmp a.fs b.fs &&
	cmp a.fs c.fs
'

test_expect_success '--for ssd and --for deepbit read the shipped models (any input size)' '
	mkdir -p shipped &&
	mkmodel shipped/ssd.fm input.shape=3,64,48 input.order=rgb input.mean=127.5 \
		input.scale=0.0078125 input.fit=stretch &&
	mkmodel shipped/deepbit.fm input.shape=1,32,32 input.order=gray input.mean=0 \
		input.scale=0.00392156 input.fit=letterbox &&
	FEAT_MODELS=$PWD/shipped imgprep --for ssd <"$D/basic.fs" >a.fs &&
	imgprep --size 48x64 --rgb --mean 127.5 --scale 0.0078125 <"$D/basic.fs" >b.fs &&
	cmp a.fs b.fs &&
	FEAT_MODELS=$PWD/shipped imgprep --for deepbit <"$D/basic.fs" >a.fs &&
	imgprep --size 32x32 --gray --scale 0.00392156 --fit letterbox <"$D/basic.fs" >b.fs &&
	cmp a.fs b.fs
'

test_expect_success '--for ssd300 and vgg224 are built in, even beside models of those names' '
	mkdir -p shadow &&
	mkmodel shadow/ssd300.fm input.shape=3,5,5 input.order=rgb input.mean=0 \
		input.scale=1 input.fit=stretch &&
	FEAT_MODELS=$PWD/shadow imgprep --for ssd300 <"$D/basic.fs" >a.fs &&
	featinfo -n 1 a.fs >info &&
	grep "	input	f32	\[3 300 300\]" info
'

test_expect_success 'explicit options override the model wherever they stand' '
	mkmodel m.fm input.shape=3,6,9 input.order=bgr input.mean=1,2,3 \
		input.scale=0.5 input.fit=letterbox &&
	imgprep --mean 0 --rgb --scale 1 --size 10x7 --fit stretch -m m.fm <"$D/basic.fs" >a.fs &&
	imgprep -m m.fm --mean 0 --rgb --scale 1 --size 10x7 --fit stretch <"$D/basic.fs" >b.fs &&
	imgprep --size 10x7 <"$D/basic.fs" >c.fs &&
	cmp a.fs b.fs &&
	cmp a.fs c.fs &&
	imgprep -m m.fm -W 4 <"$D/basic.fs" >d.fs &&
	imgprep --size 4x6 --bgr --mean 1,2,3 --scale 0.5 --fit letterbox <"$D/basic.fs" >e.fs &&
	cmp d.fs e.fs &&
	imgprep -m m.fm --gray <"$D/basic.fs" >f.fs &&
	imgprep --size 9x6 --gray --mean 1 --scale 0.5 --fit letterbox <"$D/basic.fs" >g.fs &&
	cmp f.fs g.fs
'

test_expect_success 'explicit options override the preset wherever they stand' '
	imgprep --mean 0 --rgb --size 10x7 --for ssd300 <"$D/basic.fs" >a.fs &&
	imgprep --for ssd300 --mean 0 --rgb --size 10x7 <"$D/basic.fs" >b.fs &&
	imgprep --size 10x7 <"$D/basic.fs" >c.fs &&
	cmp a.fs b.fs &&
	cmp a.fs c.fs
'

test_expect_success '--bgr reverses the channel planes of --rgb' '
	imgprep --size 4x3 --rgb <"$D/basic.fs" >rgb.fs &&
	imgprep --size 4x3 --bgr <"$D/basic.fs" >bgr.fs &&
	featinfo --raw input rgb.fs >rgb.f32 &&
	featinfo --raw input bgr.fs >bgr.f32 &&
	plane=48 &&
	dd if=rgb.f32 bs=$plane count=1 skip=0 2>/dev/null >r1 &&
	dd if=bgr.f32 bs=$plane count=1 skip=2 2>/dev/null >r2 &&
	cmp r1 r2 &&
	dd if=rgb.f32 bs=$plane count=1 skip=1 2>/dev/null >g1 &&
	dd if=bgr.f32 bs=$plane count=1 skip=1 2>/dev/null >g2 &&
	cmp g1 g2 &&
	dd if=rgb.f32 bs=$plane count=1 skip=2 2>/dev/null >b1 &&
	dd if=bgr.f32 bs=$plane count=1 skip=0 2>/dev/null >b2 &&
	cmp b1 b2
'

test_expect_success 'image, origsize and keys pass through untouched' '
	imgprep --for ssd300 <"$D/basic.fs" >out.fs &&
	featinfo -k "$D/basic.fs" >keys.in &&
	featinfo -k out.fs >keys.out &&
	test_cmp keys.in keys.out &&
	featinfo --raw image "$D/basic.fs" >img.in &&
	featinfo --raw image out.fs >img.out &&
	cmp img.in img.out &&
	featinfo --raw origsize "$D/basic.fs" >os.in &&
	featinfo --raw origsize out.fs >os.out &&
	cmp os.in os.out
'

test_expect_success '--drop-image removes image and keeps the rest' '
	imgprep --for ssd300 --drop-image <"$D/basic.fs" >out.fs &&
	imgprep --for ssd300 <"$D/basic.fs" >keep.fs &&
	featinfo out.fs >info &&
	! grep "	image	" info &&
	test $(grep -c "	input	f32	\[3 300 300\]" info) = 2 &&
	test $(grep -c "	origsize	" info) = 2 &&
	featinfo --raw input out.fs >a &&
	featinfo --raw input keep.fs >b &&
	cmp a b
'

test_expect_success 'letterbox pads with --pad, after mean and scale' '
	imgprep --size 12x12 --fit letterbox --pad 10,20,30 --mean 1,2,3 --scale 2 \
		<"$D/basic.fs" >out.fs &&
	featinfo -n 1 out.fs >info &&
	featinfo --raw xform out.fs >xf.f32 &&
	printf "12 8 12 12 1 1 0 2" >want.txt &&
	"$PYTHON" -c "import struct,sys; sys.stdout.buffer.write(struct.pack(\"<8f\", *map(float, open(\"want.txt\").read().split())))" >want.f32 &&
	f32_close want.f32 xf.f32 1e-6 &&
	featinfo --raw input out.fs >in.f32 &&
	"$PYTHON" -c "
import struct
v = struct.unpack(\"<432f\", open(\"in.f32\", \"rb\").read()[:1728])
# first row of each plane is padding: (pad - mean) * scale
for c, want in enumerate([18.0, 36.0, 54.0]):
    assert all(x == want for x in v[c * 144:c * 144 + 12]), (c, v[c * 144])
"
'

test_expect_success 'a second imgprep replaces input and xform' '
	imgprep --for ssd300 <"$D/basic.fs" >one.fs &&
	imgprep --for vgg224 <one.fs >two.fs &&
	imgprep --for vgg224 <"$D/basic.fs" >direct.fs &&
	cmp two.fs direct.fs
'

test_expect_success '-q, -v and --progress do not change the stream' '
	imgprep -q --for ssd300 <"$D/basic.fs" >a.fs &&
	imgprep -v --progress --for ssd300 <"$D/basic.fs" >b.fs 2>err &&
	grep "imgprep: input 300x300" err &&
	cmp a.fs b.fs
'

test_done
