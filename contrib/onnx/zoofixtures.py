#!/usr/bin/python3
"""zoofixtures.py - small members of torchvision 0.14's model families,
and single ONNX operators, exported at opsets 13 and 11 (and 17, where
LayerNorm and HardSwish are one operator) with PyTorch's output, for
t/t4110-import-families.sh.

    /usr/bin/python3 contrib/onnx/zoofixtures.py t/data/onnx/zoo

Each family is built from torchvision's own classes with small widths and
depths (so that the fixtures stay a few kB and the test runs in well under
a second), random weights (seed 0) and random batch norm statistics, and
exported as a user would (torch.onnx.export, eval mode).  NAME.OPSET.onnx,
NAME.in.f32 (the input, batch 2) and NAME.out.f32 (PyTorch's output) are
written; the input is the same for both opsets.  What each exercises:

  resnet        ResNet's stem (7x7/2 conv, 3x3/2 max pool) and bottleneck
                blocks with a downsample and with the identity shortcut
  densenet      Pad + AveragePool (count_include_pad), Concat of many
  inception     Inception-v3's avg_pool2d(padding=1), exported as Pad
  mnv3          MobileNetV3: HardSigmoid, HardSwish (x * HardSigmoid),
                squeeze-excitation Mul [N,C,H,W] * [N,C,1,1]
  effnet        EfficientNet: SiLU (Sigmoid, Mul), squeeze-excitation
  regnet        RegNetY: squeeze-excitation with Sigmoid, grouped convs
  shufflenet    ShuffleNetV2: Shape of intermediate values, Gather, Div,
                Slice (chunk), 5-D Reshape and Transpose (channel shuffle)
  mnasnet       MNASNet's blocks and head: ReduceMean over H, W without
                keepdims
  ops           PRelu, Clip with min/max inputs, Split, Sub/Div by
                constants, Mul by a [W] constant (broadcast along W),
                Flatten(-1)... and Softmax over axis 1 of [N, C, H, W]:
                at opset 11, ONNX's pre-13 softmax over everything from
                the axis on
  convnext      ConvNeXt: Transpose to channels-last and back, LayerNorm
                (ReduceMean, Sub, Pow, Sqrt, Div before opset 17,
                LayerNormalization at 17), Linear on the last axis
                (MatMul), GELU (Erf), layer scale
  vit           VisionTransformer: patchify Conv, Reshape + Transpose to
                tokens, the class token (Expand of a constant through
                ConstantOfShape/Equal/Where) concatenated, position
                embedding, nn.MultiheadAttention of two heads (the batch
                moved into the heads: Reshape, Transpose, MatMul,
                Softmax), Gather of the class token
  tok           the same operators used otherwise: a ReduceMean over the
                last axis and a square read by other nodes than a
                LayerNorm's, LayerNorm without weights and two of one
                weight, GELU, MatMul of two values, Sqrt, Erf
  attn          attention three ways (the Attn class): the fused
                layer's strided operands, transposed, broadcast, with
                and without the Transpose after; one form left unfused
  views         reshape views that change the channel count, read by the
                layers that can read the channel-blocked layout
  pad           F.pad and nn.ZeroPad2d as PyTorch exports them (the
                pads built at run time from ConstantOfShape, Concat,
                Reshape, a backwards Slice, Transpose and Cast): the
                asymmetric zeros of TensorFlow's "SAME" before stride-2
                convolutions (3x3 of 3 and of 16 channels, 5x5
                depthwise), uneven sides before a depthwise 3x3, and a
                value other than 0 (which no convolution takes in)
  ssdlite       the detector ssdlite320_mobilenet_v3_large's network
                built small: SSDLiteFeatureExtractorMobileNet (a
                MobileNetV3 cut at C4's expansion, four extra blocks) and
                SSDLiteHead, each of six maps' predictions Reshaped to 5-D,
                Transposed, Reshaped to [N, HWA, K] and Concatenated along
                the anchors (a 1x1 map's Transpose only moves size-1
                axes); two outputs, bbox_regression and cls_logits
                (written as NAME.OUTPUT.f32); at opset 17 MobileNetV3's
                HardSwish is one operator

    zoofixtures.py DIR [NAME...] writes only the families named.
"""
import functools
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.models as tvm
from torchvision.models import convnext as cn
from torchvision.models import efficientnet as ef
from torchvision.models import inception as inc
from torchvision.models import mobilenetv3 as m3
from torchvision.models import regnet as rg
from torchvision.models import vision_transformer as vt
from torchvision.models.detection import ssdlite as sl

from zoocheck import random_bn


class ResNetSmall(nn.Module):
    """ResNet's stem (7x7 stride-2 conv, BN, ReLU, 3x3 stride-2 max pool)
    and two of torchvision's Bottleneck blocks, the first with its 1x1
    downsample, the second with the identity shortcut; widths of 16 and
    64 so that the channel-blocked path takes them (the full network's
    file would be 100 MB)."""

    def __init__(self):
        super().__init__()
        from torchvision.models.resnet import Bottleneck
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        ds = nn.Sequential(nn.Conv2d(16, 64, 1, bias=False), nn.BatchNorm2d(64))
        self.blocks = nn.Sequential(Bottleneck(16, 16, downsample=ds), Bottleneck(64, 16))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Inception(nn.Module):
    """Inception-v3's branch pool, F.avg_pool2d(x, 3, stride=1, padding=1),
    next to a 1x1 branch (InceptionA's own widths make a 900 kB file)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2)
        self.b1 = nn.Conv2d(8, 4, 1)
        self.bp = nn.Conv2d(8, 4, 1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        p = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        y = torch.cat([F.relu(self.b1(x)), F.relu(self.bp(p))], 1)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class Mnasnet(nn.Module):
    """MNASNet's head: x.mean([2, 3]) then the classifier, after a stack of
    torchvision's own _InvertedResidual blocks."""

    def __init__(self):
        super().__init__()
        from torchvision.models import mnasnet as mn
        self.f = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU(),
                               mn._InvertedResidual(8, 8, 3, 1, 3, 0.01),
                               mn._InvertedResidual(8, 16, 5, 2, 3, 0.01))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.f(x).mean([2, 3]))


class Ops(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pr = nn.PReLU(8)
        self.c2 = nn.Conv2d(4, 6, 1)
        self.register_buffer("mean", torch.rand(1, 3, 1, 1))
        self.register_buffer("wk", torch.rand(12) + 0.5)

    def forward(self, x):
        x = (x - self.mean) / 0.7
        y = self.pr(self.c1(x))
        a, b = torch.split(y, [4, 4], dim=1)
        z = torch.clamp(self.c2(a), -0.3, 0.4) * self.wk + b[:, :2].sum(1, keepdim=True)
        s = torch.softmax(z, dim=1)
        return torch.cat([s.flatten(-3), torch.flatten(torch.max(z, b[:, 3:4] * 2), -3)], 1)


class Tok(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 8, 4, stride=4)
        self.ln = nn.LayerNorm(8, elementwise_affine=False)
        self.register_buffer("g", torch.rand(8) + 0.5)
        self.register_buffer("b", torch.rand(8))

    def forward(self, x):
        t = self.c(x).flatten(2)                  # [N, 8, 9]
        m = t.mean(-1, keepdim=True)
        u = self.ln(t.transpose(1, 2))            # [N, 9, 8]
        a = torch.matmul(u, u.transpose(1, 2))    # [N, 9, 9]
        g = F.gelu(a) + (a ** 2) * 0.1 + torch.sqrt(a * a + 1)
        # two LayerNorms of one weight and bias (one initializer each)
        v = F.layer_norm(u, (8,), self.g, self.b) + F.layer_norm(u * 2 + 1, (8,), self.g, self.b)
        return torch.cat([g.flatten(1), (t - m).flatten(1), torch.erf(t).flatten(1),
                          v.flatten(1)], 1)


class Attn(nn.Module):
    """Attention written three ways, for the fusion of passes.c
    (fuse_attention) to read or to leave: the usual multi-head form
    (q, k, v out of one Linear, heads split by Reshape + Transpose, the
    keys transposed, the output's heads moved back by a Transpose); the
    queries read transposed out of a convolution's [N, C, T] map and one
    key head broadcast over both query heads, the output summed over the
    heads (no Transpose after); and a form whose probabilities are read
    twice (kept as matmul, softmax, matmul)."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 8, 1)
        self.qkv = nn.Linear(8, 24)
        self.kl = nn.Linear(8, 8)
        self.out = nn.Linear(8, 5)

    def forward(self, x):
        t = self.c(x).flatten(2)                  # [N, 8, 36]
        tok = t.transpose(1, 2)                   # [N, 36, 8]
        q, k, v = self.qkv(tok).chunk(3, -1)      # [N, 36, 8] each

        def heads(z):
            return z.reshape(-1, 36, 2, 4).permute(0, 2, 1, 3)   # [N, 2, 36, 4]
        s = heads(q) @ heads(k).transpose(-1, -2) / 2.0
        o1 = (s.softmax(-1) @ heads(v)).permute(0, 2, 1, 3).reshape(-1, 36, 8)
        qt = t.reshape(-1, 2, 4, 36).transpose(-1, -2)          # [N, 2, 36, 4], rows step 1
        k1 = heads(self.kl(tok))[:, :1]                          # [N, 1, 36, 4]
        o2 = ((qt @ k1.transpose(-1, -2) * 0.5).softmax(-1) @ heads(v)).sum(1)   # [N, 36, 4]
        p3 = (heads(k) @ heads(q).transpose(-1, -2)).softmax(-1)
        o3 = (p3 @ heads(v) + p3.mean(-1, keepdim=True)).permute(0, 2, 1, 3).reshape(-1, 36, 8)
        return torch.cat([self.out(o1 + o3).flatten(1), o2.flatten(1)], 1)


class Ssdlite(nn.Module):
    """ssdlite320_mobilenet_v3_large's backbone and head (torchvision's
    classes, as ssdlite320_mobilenet_v3_large() puts them together) at
    tiny widths: maps 5x5, 3x3, 2x2 and three 1x1 for a 40x40 input, 4 and
    6 anchors a cell, 3 classes.  Exported at opsets 13 and 17 (HardSwish
    is one operator from 14 on); opset 11's export is opset 13's graph."""

    output_names = ["bbox_regression", "cls_logits"]

    def __init__(self):
        super().__init__()
        norm = functools.partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
        cfg = [m3.InvertedResidualConfig(8, 3, 16, 8, True, "RE", 2, 1, 1.0),
               m3.InvertedResidualConfig(8, 3, 16, 8, False, "HS", 2, 1, 1.0),
               m3.InvertedResidualConfig(8, 3, 16, 8, True, "HS", 2, 1, 1.0)]
        mb = m3.MobileNetV3(cfg, last_channel=8, norm_layer=norm)
        # C4 is the last strided block, features[3]; the extra blocks'
        # 512, 256, 256, 128 channels become 16 each
        self.backbone = sl.SSDLiteFeatureExtractorMobileNet(mb.features, 3, norm, width_mult=1 / 32)
        self.head = sl.SSDLiteHead([16, 48, 16, 16, 16, 16], [4, 6, 6, 6, 6, 6], 3, norm)

    def reinit(self):
        """Weights scaled to the fan-in and batch norm shifts kept positive:
        with the families' uniform(-0.5, 0.5) the image's signal dies within
        three blocks (both images of the batch gave one output), and ReLU6
        zeroes the 1x1 maps."""
        for mod in self.modules():
            if isinstance(mod, nn.Conv2d):
                mod.weight.data.uniform_(-1, 1).mul_((6 / mod.weight[0].numel()) ** 0.5)
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.data.uniform_(0.5, 1.5)
                mod.bias.data.uniform_(0.1, 0.4)

    def forward(self, x):
        h = self.head(list(self.backbone(x).values()))
        return h["bbox_regression"], h["cls_logits"]


class PadNet(nn.Module):
    """Explicit pads as PyTorch exports them (see the docstring)."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 16, 3, 2)
        self.z = nn.ZeroPad2d((1, 2, 0, 1))
        self.d = nn.Conv2d(16, 16, 3, 1, groups=16)
        self.f = nn.Conv2d(16, 16, 5, 2, groups=16)
        self.g = nn.Conv2d(16, 16, 3, 2)
        self.e = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        y = self.d(self.z(torch.relu(self.c(F.pad(x, [0, 1, 0, 1])))))
        y = self.g(F.pad(torch.relu(self.f(F.pad(y, [1, 2, 1, 2]))), [0, 1, 0, 1]))
        return self.e(F.pad(y, [1, 1, 2, 0], value=0.25))


class Views(nn.Module):
    """Convolutions' outputs read through reshapes that change the channel
    count (the view is of another shape than the blob it shares): by a
    1x1 convolution, a max pooling, a depthwise convolution, a classifier
    written as a 1x1 convolution over C*H*W channels, and as the other
    input of a residual Add after a convolution."""

    def __init__(self):
        super().__init__()
        self.a = nn.ModuleList(nn.Conv2d(3, 32, 1) for _ in range(3))
        self.c1 = nn.Conv2d(16, 16, 1)
        self.dw = nn.Conv2d(16, 16, 3, 1, 1, groups=16)
        self.h0 = nn.Conv2d(3, 16, 1)
        self.h1 = nn.Conv2d(16, 16, 1)
        self.h2 = nn.Conv2d(256, 8, 1)
        self.r0 = nn.Conv2d(3, 16, 1)
        self.r1 = nn.Conv2d(16, 64, 1)
        self.s0 = nn.Conv2d(3, 16, 1)
        self.s1 = nn.Conv2d(16, 16, 1)
        self.s2 = nn.Conv2d(16, 16, 1)

    def forward(self, x):
        v = [torch.relu(c(x)).reshape(-1, 16, 8, 4) for c in self.a]
        o = [self.c1(v[0]), F.max_pool2d(v[1], 2) + 0, self.dw(v[2])]
        o.append(self.h2(torch.relu(self.h1(torch.relu(self.h0(x)))).reshape(-1, 256, 1, 1)))
        r = self.r1(torch.relu(self.r0(x[:, :, :1, :1] * 1.0))).reshape(-1, 16, 2, 2)
        o.append(self.s2(torch.relu(self.s1(torch.relu(self.s0(x[:, :, :2, :2] * 1.0))) + r)))
        return torch.cat([t.flatten(1) for t in o], 1)


def families():
    yield "resnet", ResNetSmall(), 40
    yield "densenet", tvm.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8,
                                   bn_size=2, num_classes=10), 32
    yield "inception", Inception(), 24
    cfg = [m3.InvertedResidualConfig(8, 3, 16, 8, True, "RE", 2, 1, 1.0),
           m3.InvertedResidualConfig(8, 3, 24, 16, False, "HS", 2, 1, 1.0),
           m3.InvertedResidualConfig(16, 5, 32, 16, True, "HS", 1, 1, 1.0)]
    yield "mnv3", m3.MobileNetV3(cfg, last_channel=32, num_classes=10), 32
    cfg = [ef.MBConvConfig(1, 3, 1, 8, 8, 1), ef.MBConvConfig(4, 3, 2, 8, 16, 2),
           ef.MBConvConfig(4, 5, 2, 16, 16, 1)]
    yield "effnet", ef.EfficientNet(cfg, dropout=0.2, num_classes=10, last_channel=32), 32
    bp = rg.BlockParams.from_init_params(depth=3, w_0=8, w_a=8, w_m=2, group_width=8, se_ratio=0.25)
    yield "regnet", rg.RegNet(bp, num_classes=10, stem_width=8), 32
    yield "shufflenet", tvm.ShuffleNetV2([1, 2, 1], [8, 16, 32, 32, 48], num_classes=10), 32
    yield "mnasnet", Mnasnet(), 32
    yield "ops", Ops(), 12
    yield "convnext", cn.ConvNeXt([cn.CNBlockConfig(8, 16, 1), cn.CNBlockConfig(16, None, 1)],
                                  num_classes=10), 32
    yield "vit", vt.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                      hidden_dim=16, mlp_dim=32, num_classes=10), 32
    yield "tok", Tok(), 12
    yield "attn", Attn(), 6
    yield "pad", PadNet(), 24
    yield "ssdlite", Ssdlite(), 40
    yield "views", Views(), 4


OPSETS = {"convnext": (13, 11, 17), "vit": (13, 11, 17), "attn": (13, 11, 17), "pad": (13, 11, 17), "ssdlite": (13, 17)}


def main():
    out = sys.argv[1]
    only = sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for name, m, side in families():
        if only and name not in only:
            continue
        torch.manual_seed(0)
        for p in m.parameters():
            p.data.uniform_(-0.5, 0.5)
        random_bn(m)
        if hasattr(m, "reinit"):
            m.reinit()
        m.eval()
        x = torch.rand(2, 3, side, side)
        with torch.no_grad():
            y = m(x)
        x.numpy().astype("<f4").tofile(os.path.join(out, name + ".in.f32"))
        names = getattr(m, "output_names", None)
        if names:
            for n, v in zip(names, y):
                v.numpy().astype("<f4").tofile(os.path.join(out, "%s.%s.f32" % (name, n)))
        else:
            y.numpy().astype("<f4").tofile(os.path.join(out, name + ".out.f32"))
        for o in OPSETS.get(name, (13, 11)):
            torch.onnx.export(m, x[:1], os.path.join(out, "%s.%d.onnx" % (name, o)),
                              opset_version=o, output_names=names)


if __name__ == "__main__":
    main()
