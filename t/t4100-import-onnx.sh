#!/bin/sh
# featmodel import: ONNX models exported by torch.onnx.export (opset 13,
# contrib/onnxfixtures.py) become featmodel files whose outputs match
# PyTorch's and ONNX Runtime's (contrib/ortfixtures.js) under every kernel
# path; metadata can be added; broken files
# and unsupported operators are refused by name.

. "$FEAT_TOP/t/test-lib.sh"

O=$TEST_DATA/onnx
FCMP=$FEAT_TOP/t/lib/fcmp.py

# axis6 (opset 6) has no ONNX Runtime output: ONNX Runtime runs no operator
# before opset 7; its reference is numpy's (contrib/onnxfixtures.py).
# bcastw, bcasth, axis6h, softmax11, softmax12last and flattenneg have numpy
# references (contrib/onnx/opgraphs.py), no ONNX Runtime output.
for net in small head l2normalize l2byhand lpnorm l2bigeps l2byhandbigeps bcastchan axis6 \
	   bcastw bcasth axis6h softmax11 softmax12last flattenneg; do
	test_expect_success "import $net.onnx" "
		featmodel import -o $net.fm $O/$net.onnx >out &&
		grep -q 'layers, written to $net.fm' out &&
		featmodel check $net.fm
	"
	for k in ref avx512 blas; do
		if [ $k = avx512 ] && ! grep -q avx512f /proc/cpuinfo; then
			test_skip "$net: kernel $k" "this CPU has no AVX-512"
			continue
		fi
		test_expect_success "$net matches PyTorch and ONNX Runtime (FEAT_KERNEL=$k)" "
			FEAT_KERNEL=$k featmodel run $net.fm $O/$net.in.f32 o.$k.$net &&
			set -- o.$k.$net.*.f32 &&
			test \$# = 1 &&
			\"\$PYTHON\" $FCMP \$1 $O/$net.out.f32 &&
			{ [ ! -e $O/$net.ort.f32 ] || \"\$PYTHON\" $FCMP \$1 $O/$net.ort.f32; }
		"
	done
done

# Small is conv, BN, ReLU, max pool, depthwise conv, ReLU6, 1x1 conv, leaky
# ReLU, adaptive average pool, dropout, view, linear, sigmoid: the exporter
# folds BN into the conv, and view's Shape/Gather/Unsqueeze/Concat chain
# must leave one reshape; dropout leaves nothing.
test_expect_success 'the exporters shape arithmetic is folded away' '
	featmodel info small.fm >info &&
	awk "/^[0-9]/ { sub(/\\+.*/, \"\", \$2); printf \"%s \", \$2 }" info >types &&
	printf "conv relu pool conv relu6 conv leakyrelu pool reshape fc sigmoid " >expect &&
	test_cmp expect types
'

test_expect_success 'L2 normalisation, as exporters write it, becomes one layer' '
	for net in l2normalize l2byhand; do
		featmodel info $net.fm >info &&
		awk "/^[0-9]/ { print \$2 }" info | sort -u >types &&
		printf "conv+relu\nl2norm\nrelu\nscale\n" >expect &&
		test_cmp expect types || return 1
	done &&
	featmodel info lpnorm.fm >info &&
	grep -q "^0 *l2norm " info
'

test_expect_success 'metadata from the command line' '
	featmodel import -o m.fm --set input.order=bgr --set input.mean=104,117,123 \
		--set input.scale=0.5 --set code.bits=32 $O/small.onnx >/dev/null &&
	printf "bag\nshoe\n" >labels &&
	featmodel import -o l.fm --labels labels $O/small.onnx >/dev/null &&
	featmodel info m.fm >info &&
	grep -q "^  input.order	bgr$" info &&
	grep -q "^  input.mean	104,117,123$" info &&
	grep -q "^  input.scale	0.5$" info &&
	grep -q "^  code.bits	32$" info &&
	featmodel info l.fm >info &&
	grep -q "^  labels	bag,shoe$" info &&
	featmodel import -o s.fm --set input.order=bgr --set input.order=rgb \
		--set input.shape=3,20,17 $O/small.onnx >/dev/null &&
	featmodel info s.fm >info &&
	grep -q "^  input.order	rgb$" info &&
	test "$(grep -c "^  input.shape	" info)" = 1
'

# ONNX broadcasting aligns shapes on the right: a [C] constant on a 4-D
# value varies along W, [C, 1] along H, and opset 6's axis=2 puts a [3]
# along H: these run as eltwise layers holding the constant, exactly (their
# outputs above match numpy's); an invalid broadcast ([4, 1] against
# [1, 4, 3, 5]) is refused.  Refused by name too: what featkit does not run
# (MaxPool dilations, float16 weights, Pad's reflect mode) and a Conv bias
# that does not match its outputs; and the transformers' operators given
# what they cannot take (contrib/onnx/opgraphs.py).
for case in "bcastbad:Mul by a constant of shape [4, 1]: the shapes do not broadcast" \
	    "maxpooldil:pooling with dilations 2, 2 is not supported" \
	    "f16:tensor 'w' is float16: featkit reads float, double, int32 and int64 tensors" \
	    "convbias1:Conv bias of shape [1] for 4 output channels" \
	    "padreflect:Pad mode reflect (only constant)" \
	    "mmshape:MatMul of 'x' by a constant of shape [4, 2]" \
	    "liftedconv:its input 't' holds the batch inside its axes" \
	    "reshapecount:Reshape of 60 values to [3, 7]" \
	    "gatherrange:index 5 out of range" \
	    "lnscale:LayerNormalization scale or bias of other than 5 values" \
	    "expandbig:Expand of 'x' to a larger shape" \
	    "cosneg:ConstantOfShape of dimension -1" \
	    "powvar:Pow with an exponent that is not one constant" \
	    "batch2moved:in a graph exported for a batch of 2 (export it with a batch of 1)" \
	    "idout:graph output 1 is the graph input 'x': no layer computes it"; do
	net=${case%%:*} msg=${case#*:}
	test_expect_success "$net: refused with the reason" "
		test_expect_code 3 featmodel import -o $net.fm $O/$net.onnx 2>err &&
		test_stderr_one_line err &&
		grep -qF \"$msg\" err &&
		test ! -e $net.fm
	"
done

test_expect_success 'constants that vary along other axes than the channels: eltwise' '
	for net in bcastw bcasth axis6h; do
		featmodel info $net.fm >info &&
		grep -q "^[0-9]* *eltwise " info &&
		! grep -q "^[0-9]* *scale " info || return 1
	done
'

test_expect_success 'softmax before opset 13: over the last axis, or flattened from its axis' '
	featmodel info softmax12last.fm >info &&
	awk "/^[0-9]/ { print \$2 }" info >types &&
	echo softmax >expect &&
	test_cmp expect types &&
	featmodel info softmax11.fm >info &&
	awk "/^[0-9]/ { print \$2 }" info >types &&
	printf "reshape\nsoftmax\nreshape\n" >expect &&
	test_cmp expect types
'

test_expect_success 'per-channel constants and scalars become scale layers' '
	featmodel info bcastchan.fm >info &&
	awk "/^[0-9]/ { print \$2 }" info >types &&
	grep -c "^scale" types >n &&
	test "$(cat n)" -ge 2 &&
	featmodel info axis6.fm >info &&
	awk "/^[0-9]/ { print \$2 }" info | sort -u >types &&
	printf "scale\n" >expect &&
	test_cmp expect types
'

test_expect_success 'an unsupported operator is named, nothing is written' '
	test_expect_code 3 featmodel import -o u.fm $O/unsupported.onnx 2>err &&
	test_stderr_one_line err &&
	grep -q "operator Tanh is not supported" err &&
	test ! -e u.fm
'

test_expect_success 'a truncated or non-ONNX file: exit 3, one line' '
	head -c 3000 $O/head.onnx >cut.onnx &&
	test_expect_code 3 featmodel import -o c.fm cut.onnx 2>err &&
	test_stderr_one_line err &&
	printf "not a model\n" >text.onnx &&
	test_expect_code 3 featmodel import -o t.fm text.onnx 2>err &&
	test_stderr_one_line err &&
	: >empty.onnx &&
	test_expect_code 3 featmodel import -o e.fm empty.onnx 2>err &&
	test_stderr_one_line err
'

test_expect_success 'every file of the fuzz corpus: imported (0) or refused (3) in one line' '
	for f in "$FEAT_TOP"/t/fuzz/corpus/onnx/*; do
		rm -f f.fm &&
		{ featmodel import -o f.fm "$f" 2>err; rc=$?; } &&
		if test $rc = 0; then
			featmodel check f.fm >/dev/null || return 1
		else
			test $rc = 3 && test_stderr_one_line err && test ! -e f.fm || {
				echo "$f: exit $rc"; return 1; }
		fi || return 1
	done
'

test_expect_success 'import usage errors: exit 2' '
	test_expect_code 2 featmodel import $O/small.onnx 2>err &&
	grep -q "with -o" err &&
	test_expect_code 2 featmodel import -o x.fm --set novalue $O/small.onnx 2>err &&
	test_expect_code 2 featmodel info -o x.fm $O/small.onnx 2>err &&
	test_expect_code 4 featmodel import -o x.fm no-such.onnx 2>err
'

test_done
