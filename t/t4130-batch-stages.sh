#!/bin/sh
# A batch runs image by image through the layers between inner products
# and over the whole batch through each inner product (lib/nn/net.c,
# feat_net_forward), its blobs sharing buffers across those stages
# (plan_storage).  On the small torchvision families of t4110 (ViT's
# attention between its Linears, EfficientNet's and MobileNetV3's
# classifier after their convolutions): a batch of five different images
# gives each image the output it gets alone within 1e-5 of its scale, and
# the same as every layer run over the whole batch (FEAT_PER_IMAGE=0) and
# as every convolution run image by image (FEAT_PER_IMAGE=1: the default
# runs those with far more weights than activations over the batch, as
# the SE blocks' here), on one and on two threads, under the kernel path
# FEAT_KERNEL selects.

. "$FEAT_TOP/t/test-lib.sh"

O=$TEST_DATA/onnx/zoo
FCMP=$FEAT_TOP/t/lib/fcmp.py

for net in vit effnet mnv3 convnext regnet; do
	test_expect_success "$net: a batch of five equals its images one by one" "
		featmodel import -o $net.fm $O/$net.13.onnx >out &&
		\"\$PYTHON\" -c '
import sys
import numpy as np
x = np.fromfile(sys.argv[1], \"<f4\")
h = x.size // 2
a, b = x[:h], x[h:]
imgs = [a, b, a[::-1], 0.5 * b + 0.25, a * b]
for i, m in enumerate(imgs):
    m.astype(\"<f4\").tofile(\"img%d.f32\" % i)
np.concatenate(imgs).astype(\"<f4\").tofile(\"batch.f32\")
' $O/$net.in.f32 &&
		rm -f one* all.* whole.* two.* each.* &&
		for i in 0 1 2 3 4; do
			featmodel run -b 1 $net.fm img\$i.f32 one\$i || return 1
		done &&
		cat one0.*.f32 one1.*.f32 one2.*.f32 one3.*.f32 one4.*.f32 >one.f32 &&
		featmodel run -b 5 $net.fm batch.f32 all &&
		FEAT_PER_IMAGE=0 featmodel run -b 5 $net.fm batch.f32 whole &&
		FEAT_PER_IMAGE=1 featmodel run -b 5 $net.fm batch.f32 each &&
		FEAT_THREAD_MIN=0 featmodel run -t 2 -b 5 $net.fm batch.f32 two &&
		\"\$PYTHON\" $FCMP --tol 1e-5 all.*.f32 one.f32 &&
		\"\$PYTHON\" $FCMP --tol 1e-5 whole.*.f32 one.f32 &&
		\"\$PYTHON\" $FCMP --tol 1e-5 each.*.f32 one.f32 &&
		\"\$PYTHON\" $FCMP --tol 1e-5 two.*.f32 one.f32
	"
done

test_done
