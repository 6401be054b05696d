#!/bin/sh
# featmodel import of what torchvision's model families export
# (contrib/onnx/zoofixtures.py: small members built from torchvision's own
# classes, random weights, opsets 13 and 11, and 17 for ConvNeXt and the
# ViT, whose LayerNorm is one operator there): each imports and its output on
# a batch of two matches PyTorch's within 1e-4 (under the kernel path
# FEAT_KERNEL selects: make check-kernels runs it under each).
# contrib/onnx/export_zoo.py runs the full-size models the same way.

. "$FEAT_TOP/t/test-lib.sh"

O=$TEST_DATA/onnx/zoo
FCMP=$FEAT_TOP/t/lib/fcmp.py

for net in densenet inception mnv3 effnet regnet shufflenet mnasnet ops convnext vit tok; do
	for op in 13 11 17; do
		test -f $O/$net.$op.onnx || continue
		test_expect_success "import $net (opset $op)" "
			featmodel import -o $net.$op.fm $O/$net.$op.onnx >out &&
			featmodel check $net.$op.fm >/dev/null
		"
		test_expect_success "$net (opset $op) matches PyTorch" "
			featmodel run $net.$op.fm $O/$net.in.f32 o.$net.$op &&
			set -- o.$net.$op.*.f32 &&
			test \$# = 1 &&
			\"\$PYTHON\" $FCMP \$1 $O/$net.out.f32
		"
	done
done

# what each family must have become: the operators featkit did not run
# before (a family that imports by another route would not test them).
# DenseNet's AvgPool2d exports a Pad of zeros before each AveragePool: it
# passes its input on, and leaves no layer.
test_expect_success 'the families use the new layers' '
	for c in inception:pad mnv3:hardsigmoid mnv3:eltwise effnet:sigmoid \
		 effnet:eltwise regnet:eltwise shufflenet:slice shufflenet:permute mnasnet:reduce \
		 ops:prelu ops:clip ops:slice ops:eltwise convnext:layernorm convnext:fc \
		 convnext:unary vit:matmul vit:layernorm vit:unary vit:const vit:concat \
		 tok:reduce tok:matmul tok:unary; do
		featmodel info ${c%%:*}.13.fm >info &&
		grep -q "^[0-9]* *${c#*:}[+ ]" info || { echo "${c%%:*} has no ${c#*:}"; return 1; }
	done &&
	featmodel info densenet.13.fm >info &&
	! grep -q "^[0-9]* *pad " info
'

# every layer split between two threads (FEAT_THREAD_MIN=0): the Linear on
# the last axis splits its columns
test_expect_success 'convnext, vit and tok on two threads match PyTorch' '
	for net in convnext vit tok; do
		rm -f t2.* &&
		FEAT_THREAD_MIN=0 featmodel run -t 2 $net.13.fm $O/$net.in.f32 t2 &&
		"$PYTHON" $FCMP t2.*.f32 $O/$net.out.f32 || return 1
	done
'

# LayerNorm and GELU become one layer each (ConvNeXt: 5 LayerNorms, 2
# GELUs; the ViT: 5 and 2, at every opset), and attention's batch-moving
# Transposes of size-1 axes are views, not copies
test_expect_success 'LayerNorm and GELU chains are fused' '
	for op in 13 11 17; do
		for net in convnext vit; do
			featmodel info $net.$op.fm >info &&
			test $(grep -c "^[0-9]* *layernorm " info) = 5 &&
			test $(grep -c "^[0-9]* *unary " info) = 2 &&
			! grep -q "^[0-9]* *reduce " info || { echo "$net $op"; return 1; }
		done
	done &&
	featmodel info vit.13.fm >info &&
	grep -q "^[0-9]* *reshape .*self_attention/Transpose " info
'

test_done
