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

for net in resnet densenet inception mnv3 effnet regnet shufflenet mnasnet ops convnext vit tok attn pad views; do
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
		 convnext:unary vit:attention vit:layernorm vit:unary vit:const vit:concat \
		 tok:reduce tok:matmul tok:unary pad:pad; do
		featmodel info ${c%%:*}.13.fm >info &&
		grep -q "^[0-9]* *${c#*:}[+ ]" info || { echo "${c%%:*} has no ${c#*:}"; return 1; }
	done &&
	featmodel info densenet.13.fm >info &&
	! grep -q "^[0-9]* *pad " info
'

# the detector ssdlite320_mobilenet_v3_large built small (its backbone and
# SSDLite head): two outputs, each of the six maps' predictions reshaped,
# permuted to [N, H*W*A, K] and concatenated along the anchors (the three
# 1x1 maps' permutes move only size-1 axes and are views: 6 permute layers
# are left of 12 Transposes); at opset 17 HardSwish is one operator.  contrib/onnx/export_ssdlite.py runs the
# full-size network the same way.
for op in 13 17; do
	test_expect_success "import ssdlite (opset $op)" "
		featmodel import -o ssdlite.$op.fm $O/ssdlite.$op.onnx >out &&
		featmodel info ssdlite.$op.fm >info &&
		grep -q '^  graph.outputs	bbox_regression,cls_logits\$' info &&
		test \$(grep -c '^[0-9]* *concat ' info) = 2 &&
		test \$(grep -c '^[0-9]* *permute ' info) = 6
	"
	test_expect_success "ssdlite (opset $op): both outputs match PyTorch" "
		rm -f s.* &&
		featmodel run ssdlite.$op.fm $O/ssdlite.in.f32 s &&
		\"\$PYTHON\" $FCMP s.bbox_regression.f32 $O/ssdlite.bbox_regression.f32 &&
		\"\$PYTHON\" $FCMP s.cls_logits.f32 $O/ssdlite.cls_logits.f32 &&
		rm -f s.* &&
		FEAT_THREAD_MIN=0 featmodel run -t 2 ssdlite.$op.fm $O/ssdlite.in.f32 s &&
		\"\$PYTHON\" $FCMP s.bbox_regression.f32 $O/ssdlite.bbox_regression.f32 &&
		\"\$PYTHON\" $FCMP s.cls_logits.f32 $O/ssdlite.cls_logits.f32
	"
done

# every layer split between two threads (FEAT_THREAD_MIN=0): the Linear on
# the last axis splits its columns
test_expect_success 'convnext, vit and tok on two threads match PyTorch' '
	for net in convnext vit tok; do
		rm -f t2.* &&
		FEAT_THREAD_MIN=0 featmodel run -t 2 $net.13.fm $O/$net.in.f32 t2 &&
		"$PYTHON" $FCMP t2.*.f32 $O/$net.out.f32 || return 1
	done
'

# -t changes no bit (featmodel(1)): each family on 2 and 3 threads with
# every layer split, byte for byte what 1 thread gives, on each route
# (NCHW16c, Winograd, the first-layer kernel, fusion turned off in turn);
# not under blas, which blocks each call its own way.  The GEMM's routes
# sum in different orders, and a piece of a split product once took
# another route than the whole (a last piece of <= 16 columns, an inner
# product's pieces without the packed weights): convnext and attn differed.
test_expect_success 'every family gives the bytes of -t 1 on 2 and 3 threads' '
	test "${FEAT_KERNEL:-}" = blas ||
	for net in resnet densenet inception mnv3 effnet regnet shufflenet mnasnet ops \
		   convnext vit tok attn pad views ssdlite; do
		for r in FEAT_NCHWC=1 FEAT_NCHWC=0 FEAT_WINOGRAD=0 FEAT_CONVK=0 FEAT_FUSE=0; do
			rm -f d1.* d2.* d3.* &&
			for t in 1 2 3; do
				env $r FEAT_THREAD_MIN=0 featmodel run -t $t $net.13.fm $O/$net.in.f32 d$t ||
					return 1
			done &&
			for f in d1.*; do
				cmp $f d2.${f#d1.} && cmp $f d3.${f#d1.} ||
					{ echo "$net with $r: -t changes the output"; return 1; }
			done || return 1
		done
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
