#!/bin/sh
# featmodel refuses a model with a weight that is NaN or infinite: such a
# network gives no sensible output (a ReLU after a NaN turns it into 0,
# and the answer looks fine), so check, info, run and import stop with
# exit 3 and one line naming the layer, the tensor and the element.  The
# bad models are the shipped descriptor with one element changed by
# t/lib/fmpoke.py, written from featmodel(5).

. "$FEAT_TOP/t/test-lib.sh"

M=$FEAT_TOP/models
POKE="$PYTHON $FEAT_TOP/t/lib/fmpoke.py"

# bad MODEL.fm: exit 3, nothing on stdout, one line on stderr
bad() {
	test_expect_code 3 featmodel check "$1" >out 2>err &&
	test ! -s out &&
	test_stderr_one_line err
}

test_expect_success 'setup: the shipped descriptor is fine' '
	featmodel check "$M/deepbit.fm"
'

test_expect_success 'a NaN in the first convolution: exit 3, the layer and tensor named' '
	$POKE "$M/deepbit.fm" nan.fm net.f.0.weight 3 nan >/dev/null &&
	bad nan.fm &&
	echo "featmodel: nan.fm: layer 0 '\''/f/f.0/Conv'\'': weight 0 '\''net.f.0.weight'\'' holds NaN at element 3 of 144; a model'\''s weights must be finite" >expect &&
	test_cmp expect err
'

test_expect_success 'inf and -inf, in a bias and in the last element of a weight' '
	$POKE "$M/deepbit.fm" inf.fm code.bias 0 inf >/dev/null &&
	bad inf.fm &&
	grep -q "layer 14 .*weight 1 .code.bias. holds inf at element 0 of 64;" err &&
	$POKE "$M/deepbit.fm" ninf.fm net.fc.weight -1 -inf >/dev/null &&
	bad ninf.fm &&
	grep -q "weight 0 .net.fc.weight. holds -inf at element 262143 of 262144;" err
'

test_expect_success 'a weight as large as f32 goes is still finite: accepted' '
	$POKE "$M/deepbit.fm" big.fm net.f.0.weight 0 3.4e38 >/dev/null &&
	featmodel check big.fm >out &&
	grep -q "^big.fm: ok: 16 layers$" out
'

test_expect_success 'info and run refuse the model too' '
	$POKE "$M/deepbit.fm" nan.fm net.f.9.bias 63 nan >/dev/null &&
	test_expect_code 3 featmodel info nan.fm >out 2>err &&
	test_stderr_one_line err &&
	grep -q "weight 1 .net.f.9.bias. holds NaN at element 63 of 64" err &&
	head -c 4096 /dev/zero >in.f32 &&
	test_expect_code 3 featmodel run nan.fm in.f32 o 2>err &&
	test_stderr_one_line err &&
	! ls o.* 2>/dev/null
'

test_expect_success 'an f64 weight that is NaN is named as such' '
	"$PYTHON" - <<-\EOT &&
	import sys, numpy as np
	sys.path.insert(0, "'"$FEAT_TOP"'/contrib")
	from featmodel import ModelWriter
	w = ModelWriter()
	w.meta("graph.inputs", ["data"]); w.meta("graph.outputs", ["out"])
	w.meta("input.shape", [1, 4, 4])
	k = w.tensor("k", np.array([[[[np.nan]]]], np.float64))
	w.layer("conv", "c", ["data"], ["out"], {"kernel": [1, 1]}, [k])
	w.write("f64.fm")
	EOT
	bad f64.fm &&
	grep -q "layer 0 .c.: weight 0 .k. holds NaN at element 0 of 1;" err
'

test_expect_success 'import: an ONNX model with a NaN initializer is refused' '
	"$PYTHON" - <<-\EOT &&
	import numpy as np, onnx
	from onnx import helper, numpy_helper, TensorProto
	w = np.ones((2, 1, 1, 1), np.float32); w[1] = np.nan
	g = helper.make_graph(
	    [helper.make_node("Conv", ["x", "w"], ["y"])], "g",
	    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
	    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])],
	    [numpy_helper.from_array(w, "w")])
	onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), "nan.onnx")
	EOT
	test_expect_code 3 featmodel import -q -o nan-onnx.fm nan.onnx 2>err &&
	test_stderr_one_line err &&
	grep -q "holds NaN at element 1 of 2; a model.s weights must be finite" err
'

test_done
