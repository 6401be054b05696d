#!/bin/sh
# The graph passes that fuse ONNX exports' activations into the store of
# the layer before them (lib/nn/layers.c, fuse_acts): SiLU (Sigmoid and
# Mul) and hard swish (HardSigmoid and Mul) into convolutions, the SE
# blocks' sigmoid and hard sigmoid, GELU and a constant bias Add into
# Linears, attention's division of the queries (or of the scores) by a
# constant into the product's scale, attention's product, softmax and
# product into one layer that reads q, k and v where the Linear wrote
# them and writes the heads where the Transpose after would (a strided
# view through the slices, transposes and reshapes: the small attn
# family has it transposed, broadcast, without the Transpose after, and
# a form it must leave alone), a ReLU after a residual Add, and a residual Add into the GEMM of
# the convolution before it (stored over the other input, also when both
# inputs are convolutions' outputs; not on the
# direct route of FEAT_KERNEL=ref).  On the small torchvision families
# of t4110 (contrib/onnx/zoofixtures.py), and a Pad of zeros on H and W into
# the convolution that reads it (its pads then differ side to side; a Pad
# of another value stays), and convolutions' outputs read through
# reshapes that change the channel count (views: kept plain, not
# channel-blocked, as the readers see another shape): each fusion happens, and the fused
# network's output matches the unfused one's (FEAT_FUSE=0) within 1e-5 of
# its scale and PyTorch's within 1e-4, on one and on two threads, under the
# kernel path FEAT_KERNEL selects.

. "$FEAT_TOP/t/test-lib.sh"

O=$TEST_DATA/onnx/zoo
FCMP=$FEAT_TOP/t/lib/fcmp.py

for net in effnet mnv3 regnet vit convnext attn pad views; do
	test_expect_success "$net: fused equals unfused" "
		featmodel import -o $net.fm $O/$net.13.onnx >out &&
		rm -f f.* u.* t.* &&
		featmodel run $net.fm $O/$net.in.f32 f &&
		FEAT_FUSE=0 featmodel run $net.fm $O/$net.in.f32 u &&
		FEAT_THREAD_MIN=0 featmodel run -t 2 $net.fm $O/$net.in.f32 t &&
		\"\$PYTHON\" $FCMP --tol 1e-5 f.*.f32 u.*.f32 &&
		\"\$PYTHON\" $FCMP --tol 1e-5 t.*.f32 u.*.f32 &&
		\"\$PYTHON\" $FCMP f.*.f32 $O/$net.out.f32
	"
done

# what was fused: featmodel info shows the activation on the layer that
# took it, and the layers it replaced as folded
test_expect_success 'each pattern is fused' '
	for c in effnet:conv+silu effnet:conv+sigmoid mnv3:conv+hswish mnv3:conv+hsig \
		 regnet:conv+sigmoid vit:fc+gelu convnext:fc+gelu; do
		featmodel info ${c%%:*}.fm >info &&
		grep -q "^[0-9]* *${c#*:} " info || { echo "${c%%:*} has no ${c#*:}"; return 1; }
	done &&
	featmodel info effnet.fm >info &&
	! grep "^[0-9]* *sigmoid " info | grep -v -q folded &&
	featmodel info vit.fm >info &&
	! grep "^[0-9]* *unary " info | grep -v -q folded &&
	test $(grep "^[0-9]* *eltwise .*self_attention/Div_1 " info | grep -c folded) = 2 &&
	FEAT_FUSE=0 featmodel info vit.fm >info &&
	! grep "^[0-9]* *eltwise .*self_attention/Div_1 " info | grep -q folded &&
	test $(grep -c "^[0-9]* *matmul " info) = 4 &&
	! grep -q "^[0-9]* *attention " info &&
	featmodel info vit.fm >info &&
	test $(grep -c "^[0-9]* *attention " info) = 2 &&
	! grep -v folded info | grep -q -e "^[0-9]* *matmul " -e "^[0-9]* *softmax " -e "^[0-9]* *slice .*self_attention" -e "^[0-9]* *permute .*self_attention" &&
	featmodel info pad.fm >info &&
	test $(grep "^[0-9]* *pad " info | grep -c folded) = 4 &&
	test $(grep -c "^[0-9]* *pad " info) = 5 &&
	FEAT_FUSE=0 featmodel info pad.fm >info &&
	! grep "^[0-9]* *pad " info | grep -q folded &&
	featmodel info attn.fm >info &&
	test $(grep -c "^[0-9]* *attention " info) = 2 &&
	test $(grep -v folded info | grep -c -e "^[0-9]* *matmul " -e "^[0-9]* *softmax ") = 3 &&
	grep "^[0-9]* *scale .*/Mul_3 " info | grep -q folded &&
	FEAT_FUSE=0 featmodel info effnet.fm >info &&
	! grep -q "conv+silu" info &&
	featmodel info effnet.fm >info &&
	if test "${FEAT_KERNEL:-}" = ref; then
		! grep "^[0-9]* *add " info | grep -q folded
	else
		test $(grep "^[0-9]* *add " info | grep -c folded) = 2
	fi
'

# a residual Add of two convolutions (RegNet's blocks with a projection,
# as ResNet's with a downsample): the later one, the projection, stores
# the sum, whichever input of the Add it is
test_expect_success 'a projection shortcut takes the residual Add' '
	featmodel info regnet.fm >info &&
	test $(grep -c "^[0-9]* *add " info) = 3 &&
	if test "${FEAT_KERNEL:-}" = ref; then
		! grep "^[0-9]* *add " info | grep -q folded
	else
		test $(grep "^[0-9]* *add " info | grep -c folded) = 3
	fi
'

# On the AVX-512 path the squeeze-excitation product and a residual sum
# stay channel-blocked (nchwc_plan): EfficientNet's SE Mul whose
# projection reads blocked, RegNet's last block (the projection shortcut
# writes the sum, the block's last convolution stores over it blocked),
# ResNet's stem (the 7x7 first layer and the max pooling) and both
# bottlenecks, the sum from the first downsample on; the runs above went
# through those kernels, and match the same nets with every blob plain
# (FEAT_NCHWC=0) within 1e-5.
if grep -q avx512f /proc/cpuinfo; then
	test_expect_success 'SE products and residual sums kept channel-blocked' '
		FEAT_KERNEL=avx512 FEAT_NCHWC=1 featmodel info effnet.fm >info &&
		grep -q "^[0-9]* *eltwise .*/block.2/Mul .*(nchw16c)\$" info &&
		FEAT_KERNEL=avx512 FEAT_NCHWC=1 featmodel info regnet.fm >info &&
		grep -q "^[0-9]* *conv .*block3-0/proj/proj.0/Conv .*(nchw16c)\$" info &&
		grep -q "^[0-9]* *conv+relu .*block3-0/f/c/c.0/Conv .*(nchw16c)\$" info &&
		featmodel import -o resnet.fm $O/resnet.13.onnx >out &&
		FEAT_KERNEL=avx512 FEAT_NCHWC=1 featmodel info resnet.fm >info &&
		test $(grep -c "(nchw16c)\$" info) = 9 &&
		grep -q "^[0-9]* *pool .*/MaxPool .*(nchw16c)\$" info &&
		grep -q "^[0-9]* *conv+relu .*blocks.1/conv3/Conv .*(nchw16c)\$" info &&
		for net in effnet mnv3 regnet resnet; do
			rm -f b.* p.* &&
			FEAT_KERNEL=avx512 FEAT_NCHWC=1 featmodel run $net.fm $O/$net.in.f32 b &&
			FEAT_KERNEL=avx512 FEAT_NCHWC=0 featmodel run $net.fm $O/$net.in.f32 p &&
			"$PYTHON" $FCMP --tol 1e-5 b.*.f32 p.*.f32 || return 1
		done
	'
fi

# A Pad whose output the convolution reads through a Reshape (a view of
# other H and W) stays a layer: x = 1..8 as 1x1x1x8, one row of zeros on
# top, read as 8x2 by a 1x1 convolution of weight 2: four rows of zeros,
# then 2, 4, ..., 16 (a review found the fused conv reading past its input)
test_expect_success 'a Pad read through a Reshape is not folded into the conv' '
	featmodel import -o pr.fm "$FEAT_TOP/t/fuzz/corpus/onnx/regress-pad-reshape-conv.onnx" &&
	"$PYTHON" -c "import numpy as np; np.arange(1, 9, dtype=\"<f4\").tofile(\"in.f32\")" &&
	featmodel run pr.fm in.f32 o &&
	"$PYTHON" -c "
import numpy as np
y = np.fromfile(\"o.y.f32\", \"<f4\")
assert y.tolist() == [0.0] * 8 + [2.0 * i for i in range(1, 9)], y
"
'

# A folded Pad's output is written and read by no layer: it must not keep
# a buffer of its own (the shipped detector's 16 TensorFlow pads: 14.4
# MB of activations an image against 7.95 with the pads as layers, 8.1
# now)
test_expect_success 'folded pads keep no buffers: activations as without folding' '
	featmodel info "$FEAT_TOP/models/ssd.fm" >fused &&
	FEAT_FUSE=0 featmodel info "$FEAT_TOP/models/ssd.fm" >unfused &&
	test "$(grep -c "(folded)" fused)" -ge 16 &&
	f=$(sed -n "s/^activations: \([0-9.]*\) MB per image.*/\1/p" fused) &&
	u=$(sed -n "s/^activations: \([0-9.]*\) MB per image.*/\1/p" unfused) &&
	awk -v f="$f" -v u="$u" "BEGIN { exit !(f > 0 && f <= 1.1 * u) }"
'

test_done
