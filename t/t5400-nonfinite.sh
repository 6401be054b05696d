#!/bin/sh
# NaN and infinities never give a silent answer in ssd-detect and
# deepbit-extract: a model whose weights hold one is refused at load (exit
# 3, the layer and tensor named); a record whose input holds one, or whose
# network output comes out NaN or infinite (an overflow inside the net),
# becomes an error record naming the tensor and the element, and the run
# goes on: the other records of the same batch get the codes and boxes
# they get without it.  Streams by t/lib/mkstream.py (json's NaN and
# Infinity), models poked by t/lib/fmpoke.py or written by
# contrib/featmodel.py's ModelWriter.

. "$FEAT_TOP/t/test-lib.sh"

M=$FEAT_TOP/models
C=$TEST_DATA/caffe
D=$TEST_DATA/ssd
MKSTREAM="$PYTHON $FEAT_TOP/t/lib/mkstream.py"
POKE="$PYTHON $FEAT_TOP/t/lib/fmpoke.py"

# keys FILE.fs: key, status and message of each record
keys() {
	featinfo -k "$1" >"$1.keys"
}

test_expect_success 'setup: inputs for the shipped descriptor, four with a NaN or inf' '
	"$PYTHON" - <<-\EOT >db.json &&
	import json
	good = [((i * 37) % 255 - 127.5) / 128 for i in range(1024)]
	def rec(k, v): return {"key": k, "tensors": [
	    {"name": "input", "dtype": "f32", "shape": [1, 32, 32], "values": v}]}
	def bad(at, x):
	    v = list(good); v[at] = x; return v
	print(json.dumps([rec("good0", good), rec("nan", bad(100, float("nan"))),
	    rec("inf", bad(0, float("inf"))), rec("ninf", bad(1023, float("-inf"))),
	    rec("nan-last", bad(1023, float("nan"))), rec("good1", good[::-1])]))
	EOT
	$MKSTREAM db.json >db.fs &&
	"$PYTHON" -c "import json; r = json.load(open(\"db.json\")); print(json.dumps([r[0], r[5]]))" >good.json &&
	$MKSTREAM good.json >good.fs
'

test_expect_success 'deepbit-extract: a non-finite input is an error record, the batch goes on' '
	deepbit-extract -m "$M/deepbit.fm" --feat <good.fs >good.out &&
	featcat --ok good.out >good.ok &&
	featwrite -q -f tsv good.ok >expect &&
	for b in 1 3 8; do
		deepbit-extract -m "$M/deepbit.fm" --feat -b $b <db.fs >out.fs 2>err &&
		test ! -s err &&
		keys out.fs &&
		deepbit-extract -m "$M/deepbit.fm" --mirror -b $b <db.fs >mirror.fs &&
		featinfo -k mirror.fs >mirror.keys &&
		test_cmp out.fs.keys mirror.keys &&
		test_line_count = 6 out.fs.keys &&
		grep -q "^nan	error	deepbit-extract: non-finite input: .input. holds NaN at element 100 of 1024$" out.fs.keys &&
		grep -q "^inf	error	deepbit-extract: non-finite input: .input. holds inf at element 0 of 1024$" out.fs.keys &&
		grep -q "^ninf	error	deepbit-extract: non-finite input: .input. holds -inf at element 1023 of 1024$" out.fs.keys &&
		grep -q "^nan-last	error	deepbit-extract: non-finite input: .input. holds NaN at element 1023 of 1024$" out.fs.keys &&
		featcat --ok out.fs >ok.fs &&
		featwrite -q -f tsv ok.fs >codes &&
		test_cmp expect codes || return 1
	done &&
	featinfo out.fs >info &&
	test $(grep -c "	code	" info) = 2
'

# A network whose output overflows on some finite inputs: two 1x1
# convolutions, y = x1 + x2 scaled by 3e38 in both channels, then
# y1 - y2 / 2, then a sigmoid.  x = (1, 0): 1.5e38, a 1 bit; (0, 0): 0,
# activation 0.5, a 0 bit; (1, 1) and (-1, -1): inf - inf, NaN.
test_expect_success 'setup: a descriptor that overflows' '
	"$PYTHON" - <<-\EOT &&
	import json, sys
	import numpy as np
	sys.path.insert(0, "'"$FEAT_TOP"'/contrib")
	from featmodel import ModelWriter
	w = ModelWriter()
	w.meta("graph.inputs", ["data"]); w.meta("graph.outputs", ["out"])
	w.meta("input.shape", [2, 1, 1])
	a = w.tensor("a", np.full((2, 2, 1, 1), 3e38, np.float32))
	b = w.tensor("b", np.array([1, -0.5], np.float32).reshape(1, 2, 1, 1))
	w.layer("conv", "c1", ["data"], ["h"], {"kernel": [1, 1]}, [a])
	w.layer("conv", "c2", ["h"], ["z"], {"kernel": [1, 1]}, [b])
	w.layer("sigmoid", "s", ["z"], ["out"])
	w.write("over.fm")
	rec = lambda k, v: {"key": k, "tensors": [
	    {"name": "input", "dtype": "f32", "shape": [2, 1, 1], "values": v}]}
	json.dump([rec("one", [1, 0]), rec("over", [1, 1]), rec("half", [0, 0]),
	    rec("under", [-1, -1])], open("over.json", "w"))
	EOT
	featmodel check over.fm &&
	$MKSTREAM over.json >over.fs
'

test_expect_success 'deepbit-extract: an output that is not finite is an error record' '
	for b in "1 --no-mirror" "4 --no-mirror" "1 --mirror" "4 --mirror"; do
		deepbit-extract -m over.fm --feat -b $b <over.fs >out.fs 2>err &&
		test ! -s err &&
		keys out.fs &&
		test_line_count = 4 out.fs.keys &&
		grep -q "^over	error	deepbit-extract: network output is not finite: .out. holds NaN at element 0 of 1$" out.fs.keys &&
		grep -q "^under	error	deepbit-extract: network output is not finite: .out. holds NaN at element 0 of 1$" out.fs.keys &&
		featcat --ok out.fs >ok.fs &&
		featwrite -q -f tsv --no-status ok.fs >codes &&
		printf "one\t80\nhalf\t00\n" >expect &&
		test_cmp expect codes || return 1
	done &&
	featinfo out.fs >info &&
	test $(grep -c "	code	" info) = 2
'

test_expect_success 'deepbit-extract: a model with a NaN weight is refused at load' '
	$POKE "$M/deepbit.fm" nan.fm net.f.6.weight 7 nan >/dev/null &&
	test_expect_code 3 deepbit-extract -m nan.fm <db.fs >out 2>err &&
	test ! -s out &&
	test_stderr_one_line err &&
	grep -q "^deepbit-extract: nan.fm: layer 6 ./f/f.6/Conv.: weight 0 .net.f.6.weight. holds NaN at element 7 of 18432; a model.s weights must be finite$" err
'

# The Caffe SSD of t5000 (input 8x10x10); its input as imgprep would
# write it for a 10x10 image.
test_expect_success 'setup: an SSD, and records with NaN or inf in input or xform' '
	featmodel import -q -o ssd.fm "$D/default.prototxt" "$C/ssdish.caffemodel" &&
	"$PYTHON" - "$C/ssdish.in.f32" <<-\EOT &&
	import json, sys
	import numpy as np
	x = [float(v) for v in np.fromfile(sys.argv[1], np.float32)]
	xf = [10, 10, 10, 10, 1, 1, 0, 0]
	def rec(k, v=x, f=xf): return {"key": k, "tensors": [
	    {"name": "input", "dtype": "f32", "shape": [8, 10, 10], "values": v},
	    {"name": "xform", "dtype": "f32", "shape": [8], "values": f}]}
	def bad(at, val):
	    v = list(x); v[at] = val; return v
	def badf(at, val):
	    f = list(xf); f[at] = val; return f
	json.dump([rec("a"), rec("nan", bad(5, float("nan"))),
	    rec("inf", bad(799, float("inf"))), rec("b"),
	    rec("xform-inf", f=badf(0, float("inf"))),
	    rec("xform-nan", f=badf(4, float("nan"))), rec("c")], open("ssd.json", "w"))
	json.dump([rec("a"), rec("b"), rec("c")], open("ssdgood.json", "w"))
	EOT
	$MKSTREAM ssd.json >ssd.fs &&
	$MKSTREAM ssdgood.json >ssdgood.fs
'

test_expect_success 'ssd-detect: a non-finite input or xform is an error record, no box' '
	ssd-detect -m ssd.fm <ssdgood.fs >good.out &&
	featinfo --raw dets good.out >expect.f32 &&
	for b in 1 7; do
		ssd-detect -m ssd.fm -b $b <ssd.fs >out.fs 2>err &&
		test ! -s err &&
		keys out.fs &&
		test_line_count = 7 out.fs.keys &&
		grep -q "^nan	error	ssd-detect: non-finite input: .input. holds NaN at element 5 of 800$" out.fs.keys &&
		grep -q "^inf	error	ssd-detect: non-finite input: .input. holds inf at element 799 of 800$" out.fs.keys &&
		grep -q "^xform-inf	error	ssd-detect: .xform. is not a valid transform$" out.fs.keys &&
		grep -q "^xform-nan	error	ssd-detect: .xform. is not a valid transform$" out.fs.keys &&
		test $(grep -c "	ok" out.fs.keys) = 3 &&
		featinfo --raw dets out.fs >dets.f32 &&
		cmp expect.f32 dets.f32 || return 1
	done &&
	featinfo out.fs >info &&
	test $(grep -c "	dets	" info) = 3 &&
	ssd-detect -m ssd.fm -b 7 --mirror <ssd.fs >out.fs 2>err &&
	test ! -s err && keys out.fs &&
	grep -q "^nan	error	ssd-detect: non-finite input: .input. holds NaN at element 5 of 800$" out.fs.keys &&
	grep -q "^xform-nan	error	ssd-detect: .xform. is not a valid transform$" out.fs.keys &&
	test $(grep -c "	ok" out.fs.keys) = 3
'

# Both L2 normalisations of the SSD scaled by 3e38 in channel 0: their
# sum overflows where that channel holds most of a pixel's norm (as in
# the fixture's input), but not for an input of zeros.
test_expect_success 'ssd-detect: an output that is not finite is an error record, no box' '
	$POKE ssd.fm big1.fm l2norm1.scale 0 3e38 >/dev/null &&
	$POKE big1.fm big.fm l2norm2.scale 0 3e38 >/dev/null &&
	featmodel check big.fm &&
	"$PYTHON" -c "import json; r = json.load(open(\"ssdgood.json\")); r[1][\"key\"] = \"zero\"; r[1][\"tensors\"][0][\"values\"] = [0] * 800; print(json.dumps(r))" >big.json &&
	$MKSTREAM big.json >big.fs &&
	for b in 1 3 "3 --mirror"; do
		ssd-detect -m big.fm -b $b <big.fs >out.fs 2>err &&
		test ! -s err &&
		keys out.fs &&
		grep -q "^a	error	ssd-detect: network output is not finite: .concat11. holds \(NaN\|inf\|-inf\) at element [0-9]* of 1400$" out.fs.keys &&
		grep -q "^zero	ok" out.fs.keys &&
		grep -q "^c	error	ssd-detect: network output is not finite" out.fs.keys || return 1
	done &&
	featinfo out.fs >info &&
	test $(grep -c "	dets	" info) = 1
'

test_expect_success 'ssd-detect: a model with an infinite weight is refused at load' '
	$POKE ssd.fm inf.fm "#0" 0 -inf >name &&
	test_expect_code 3 ssd-detect -m inf.fm <ssd.fs >out 2>err &&
	test ! -s out &&
	test_stderr_one_line err &&
	grep -q "^ssd-detect: inf.fm: layer [0-9]* .*: weight 0 .$(cat name). holds -inf at element 0 of [0-9]*; a model.s weights must be finite$" err
'

test_done
