#!/bin/sh
# The default models in models/ (contrib/train, make models): they load,
# carry the metadata the pipeline reads (featmodel(5)), and compute what
# PyTorch computes from the same trained weights (fixtures written by
# contrib/train/fixtures.py), under every kernel path; and the pipeline
# finds them by name.

. "$FEAT_TOP/t/test-lib.sh"

M=$FEAT_TOP/models
D=$TEST_DATA/models
FCMP=$FEAT_TOP/t/lib/fcmp.py

test_expect_success 'the four models load and validate' '
	for m in ssd deepbit deepbit32 dedup; do
		featmodel check "$M/$m.fm" || return 1
	done
'

test_expect_success 'the detector carries its input and SSD settings' '
	featmodel info "$M/ssd.fm" >info &&
	grep -q "^  input.shape	3,192,192$" info &&
	grep -q "^  input.order	rgb$" info &&
	grep -q "^  input.mean	127.5,127.5,127.5$" info &&
	grep -q "^  ssd.priors	p0,p1,p2,p3$" info &&
	grep -q "^  ssd.det.num_classes	11$" info &&
	grep -q "^  ssd.loc	loc$" info && grep -q "^  ssd.conf	conf$" info &&
	grep -q "^  ssd.det.agnostic_nms	true$" info && grep -q "^  ssd.mirror	true$" info &&
	grep -q "^  labels	background,t-shirt,trouser,pullover,dress,coat,sandal,shirt,sneaker,bag,ankle-boot$" info
'

test_expect_success 'the descriptors carry their input and code length' '
	for b in 64 32; do
		m=deepbit32 && [ $b = 32 ] || m=deepbit
		featmodel info "$M/$m.fm" >info &&
		grep -q "^  input.shape	1,32,32$" info &&
		grep -q "^  input.order	gray$" info &&
		grep -q "^  code.bits	$b$" info || return 1
	done &&
	featmodel info "$M/dedup.fm" >info &&
	grep -q "^  input.shape	3,48,48$" info &&
	grep -q "^  input.order	rgb$" info &&
	grep -q "^  code.bits	128$" info
'

for k in ref avx512 blas; do
	if [ $k = avx512 ] && ! grep -q avx512f /proc/cpuinfo; then
		test_skip "kernel $k" "this CPU has no AVX-512"
		continue
	fi
	test_expect_success "the models compute what PyTorch computes (FEAT_KERNEL=$k)" "
		FEAT_KERNEL=$k featmodel run $M/ssd.fm $D/ssd.in.f32 s.$k &&
		\"\$PYTHON\" $FCMP s.$k.loc.f32 $D/ssd.loc.f32 &&
		\"\$PYTHON\" $FCMP s.$k.conf.f32 $D/ssd.conf.f32 &&
		FEAT_KERNEL=$k featmodel run $M/deepbit.fm $D/deepbit.in.f32 d.$k &&
		\"\$PYTHON\" $FCMP d.$k.code.f32 $D/deepbit.code.f32 &&
		FEAT_KERNEL=$k featmodel run $M/deepbit32.fm $D/deepbit32.in.f32 e.$k &&
		\"\$PYTHON\" $FCMP e.$k.code.f32 $D/deepbit32.code.f32 &&
		FEAT_KERNEL=$k featmodel run $M/dedup.fm $D/dedup.in.f32 g.$k &&
		\"\$PYTHON\" $FCMP g.$k.code.f32 $D/dedup.code.f32
	"
done

test_expect_success 'the pipeline finds them by name and codes a photo' '
	imgdecode "$FEAT_TOP/contrib/samples/scene-0000.jpg" >a.fs &&
	FEAT_MODELS=$M imgprep --for ssd <a.fs >b.fs &&
	FEAT_MODELS=$M ssd-detect <b.fs >c.fs &&
	cropbox <c.fs >d.fs &&
	FEAT_MODELS=$M imgprep --for deepbit <d.fs >e.fs &&
	FEAT_MODELS=$M deepbit-extract <e.fs >f.fs &&
	featinfo f.fs >info &&
	grep -q "input	f32	\[1 32 32\]" info &&
	grep -q "code	bit	\[64\]" info &&
	grep -q "crop	f32	\[6\]" info &&
	FEAT_MODELS=$M imgprep --for dedup <d.fs >g.fs &&
	FEAT_MODELS=$M deepbit-extract -m dedup <g.fs >h.fs &&
	featinfo h.fs >info &&
	grep -q "input	f32	\[3 48 48\]" info &&
	grep -q "code	bit	\[128\]" info
'

test_expect_success 'the detector gives a mirrored photo the mirrored boxes (--mirror)' '
	for f in "$FEAT_TOP"/contrib/samples/scene-000[0-5].jpg; do
		b=${f##*/} &&
		"$PYTHON" -c "import sys; from PIL import Image
im = Image.open(sys.argv[1]).convert(\"RGB\")
im.save(sys.argv[2]); im.transpose(Image.FLIP_LEFT_RIGHT).save(sys.argv[3])" \
			"$f" "${b%.jpg}.png" "${b%.jpg}-m.png" || return 1
	done &&
	ls scene-*.png | imgdecode -q | FEAT_MODELS=$M imgprep -q --for ssd >p.fs &&
	FEAT_MODELS=$M ssd-detect -q <p.fs | featwrite -q -f jsonl >dets.jsonl &&
	FEAT_MODELS=$M ssd-detect -q --no-mirror <p.fs | featwrite -q -f jsonl >plain.jsonl &&
	"$PYTHON" - <<-\EOT
	import json
	from PIL import Image
	def load(f):
	    return {r["key"]: r["dets"] for r in map(json.loads, open(f))}
	def iou(a, b):
	    iw = max(0, min(a[2], b[2]) - max(a[0], b[0])); ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
	    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
	    return iw * ih / u
	d, p = load("dets.jsonl"), load("plain.jsonl")
	same = 0
	for k in sorted(d):
	    if k.endswith("-m.png"):
	        continue
	    m = k[:-4] + "-m.png"
	    w = Image.open(k).size[0]
	    a, b = d[k][0], d[m][0]
	    x0, y0, x1, y1 = b["box"]
	    assert a["label"] == b["label"] and abs(a["score"] - b["score"]) < 1e-4, (k, a, b)
	    assert iou(a["box"], [w - x1, y0, w - x0, y1]) > 0.99, (k, a, b)
	    # without the mirror pass the two views are two different inputs
	    x0, y0, x1, y1 = p[m][0]["box"]
	    same += iou(p[k][0]["box"], [w - x1, y0, w - x0, y1]) > 0.99 and \
	        abs(p[k][0]["score"] - p[m][0]["score"]) < 1e-4
	assert same < 6, "the plain detector is already symmetric: the test shows nothing"
	EOT
'

test_expect_success 'featmodel takes model names as the other programs do (-m ssd)' '
	FEAT_MODELS="$FEAT_TOP/models" featmodel info ssd >byname &&
	featmodel info "$FEAT_TOP/models/ssd.fm" >bypath &&
	test_cmp bypath byname &&
	FEAT_MODELS="$FEAT_TOP/models" featmodel check dedup &&
	test_expect_code 4 env FEAT_MODELS="$PWD" featmodel info ssd 2>err &&
	test_stderr_one_line err && grep -q "model .ssd. not found" err
'

test_done
