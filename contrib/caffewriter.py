"""caffewriter.py - write a netbuild Graph (contrib/netbuild.py) as a Caffe
model: deploy.prototxt (text) and .caffemodel (binary protobuf, encoded
here by hand: NetParameter.layer = 100, LayerParameter name = 1, type = 2,
bottom = 3, top = 4, blobs = 7; BlobProto data = 5 (packed float), shape
= 7; BlobShape dim = 1 (packed int64)).

Caffe has no asymmetric padding, no ReLU6 and rounds pooling up (ceil), so
only graphs without those can be written; write() raises ValueError
otherwise.  featkit's bn (with gamma and beta) becomes Caffe's BatchNorm
plus Scale, as Caffe models have it.
"""
import struct

import numpy as np


def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(num, wire):
    return _varint(num << 3 | wire)


def _len(num, payload):
    return _key(num, 2) + _varint(len(payload)) + payload


def _blob(a):
    a = np.ascontiguousarray(a, np.float32)
    shape = b"".join(_varint(d) for d in a.shape)
    return _len(7, _len(1, shape)) + _len(5, a.astype("<f4").tobytes())


def _layer(name, type_, bottoms, tops, blobs):
    b = _len(1, name.encode()) + _len(2, type_.encode())
    for x in bottoms:
        b += _len(3, x.encode())
    for x in tops:
        b += _len(4, x.encode())
    for a in blobs:
        b += _len(7, _blob(a))
    return _len(100, b)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def write(g, prototxt, caffemodel):
    """Write Graph g (after its layers were recorded) to the two files."""
    arr = [t[1] for t in g.tensors]
    txt = ['name: "%s"' % g.name, 'input: "data"',
           "input_shape { %s }" % " ".join("dim: %d" % d for d in (1,) + tuple(g.shape))]
    model = _len(1, g.name.encode())
    for type_, name, ins, outs, p, ws in g.layers:
        bottoms = "".join(' bottom: "%s"' % x for x in ins)
        tops = "".join(' top: "%s"' % x for x in outs)
        w = [arr[i] for i in ws]
        if type_ == "conv":
            kh, kw = _pair(p["kernel"])
            sh, sw = _pair(p.get("stride", 1))
            pad = p.get("pad", 0)
            if isinstance(pad, list) and len(pad) == 4:
                if pad[0] != pad[2] or pad[1] != pad[3]:
                    raise ValueError("Caffe has no asymmetric padding")
                pad = [pad[0], pad[1]]
            ph, pw = _pair(pad)
            dil = p.get("dilation", 1)
            par = ("num_output: %d kernel_h: %d kernel_w: %d stride_h: %d stride_w: %d "
                   "pad_h: %d pad_w: %d dilation: %d group: %d bias_term: %s" %
                   (w[0].shape[0], kh, kw, sh, sw, ph, pw, dil if isinstance(dil, int) else dil[0],
                    p.get("group", 1), "true" if len(w) > 1 else "false"))
            txt.append('layer { name: "%s" type: "Convolution"%s%s convolution_param { %s } }' %
                       (name, bottoms, tops, par))
            model += _layer(name, "Convolution", ins, outs, w)
        elif type_ == "bn":
            c = w[0].shape[0]
            txt.append('layer { name: "%s" type: "BatchNorm"%s%s batch_norm_param { eps: %g } }' %
                       (name, bottoms, tops, p.get("eps", 1e-5)))
            # Caffe keeps mean and variance times a scale factor (third blob)
            model += _layer(name, "BatchNorm", ins, outs,
                            [w[0] * 2.0, w[1] * 2.0, np.array([2.0], np.float32)])
            if len(w) > 2:
                sname = name + "_scale"
                txt.append('layer { name: "%s" type: "Scale" bottom: "%s" top: "%s" '
                           'scale_param { bias_term: true } }' % (sname, outs[0], outs[0]))
                model += _layer(sname, "Scale", [outs[0]], [outs[0]],
                                [w[2], w[3] if len(w) > 3 else np.zeros(c, np.float32)])
        elif type_ == "scale":
            txt.append('layer { name: "%s" type: "Scale"%s%s scale_param { bias_term: %s } }' %
                       (name, bottoms, tops, "true" if len(w) > 1 else "false"))
            model += _layer(name, "Scale", ins, outs, w)
        elif type_ in ("relu", "leakyrelu"):
            slope = p.get("alpha", 0.0) if type_ == "leakyrelu" else 0.0
            txt.append('layer { name: "%s" type: "ReLU"%s%s relu_param { negative_slope: %g } }' %
                       (name, bottoms, tops, slope))
            model += _layer(name, "ReLU", ins, outs, [])
        elif type_ == "sigmoid":
            txt.append('layer { name: "%s" type: "Sigmoid"%s%s }' % (name, bottoms, tops))
            model += _layer(name, "Sigmoid", ins, outs, [])
        elif type_ == "pool":
            mode = "MAX" if p.get("mode", "max") == "max" else "AVE"
            if p.get("global"):
                par = "pool: %s global_pooling: true" % mode
            else:
                if not p.get("ceil") or p.get("exclude_pad"):
                    raise ValueError("Caffe pools round up and count padding")
                par = "pool: %s kernel_size: %d stride: %d pad: %d" % (
                    mode, p["kernel"], p.get("stride", 1), p.get("pad", 0))
            txt.append('layer { name: "%s" type: "Pooling"%s%s pooling_param { %s } }' %
                       (name, bottoms, tops, par))
            model += _layer(name, "Pooling", ins, outs, [])
        elif type_ == "fc":
            txt.append('layer { name: "%s" type: "InnerProduct"%s%s inner_product_param '
                       '{ num_output: %d bias_term: %s } }' %
                       (name, bottoms, tops, w[0].shape[0], "true" if len(w) > 1 else "false"))
            model += _layer(name, "InnerProduct", ins, outs, w)
        elif type_ == "l2norm":
            shared = w[0].size == 1
            txt.append('layer { name: "%s" type: "Normalize"%s%s norm_param { across_spatial: false '
                       'channel_shared: %s eps: %g } }' %
                       (name, bottoms, tops, "true" if shared else "false", p.get("eps", 1e-10)))
            model += _layer(name, "Normalize", ins, outs, w)
        elif type_ == "permute":
            txt.append('layer { name: "%s" type: "Permute"%s%s permute_param { %s } }' %
                       (name, bottoms, tops, " ".join("order: %d" % o for o in p["order"])))
            model += _layer(name, "Permute", ins, outs, [])
        elif type_ == "flatten":
            txt.append('layer { name: "%s" type: "Flatten"%s%s flatten_param { axis: %d } }' %
                       (name, bottoms, tops, p.get("axis", 1)))
            model += _layer(name, "Flatten", ins, outs, [])
        elif type_ == "reshape":
            txt.append('layer { name: "%s" type: "Reshape"%s%s reshape_param { shape { %s } } }' %
                       (name, bottoms, tops, " ".join("dim: %d" % d for d in p["shape"])))
            model += _layer(name, "Reshape", ins, outs, [])
        elif type_ == "concat":
            txt.append('layer { name: "%s" type: "Concat"%s%s concat_param { axis: %d } }' %
                       (name, bottoms, tops, p.get("axis", 1)))
            model += _layer(name, "Concat", ins, outs, [])
        elif type_ == "softmax":
            txt.append('layer { name: "%s" type: "Softmax"%s%s softmax_param { axis: %d } }' %
                       (name, bottoms, tops, p.get("axis", 1)))
            model += _layer(name, "Softmax", ins, outs, [])
        elif type_ == "add":
            txt.append('layer { name: "%s" type: "Eltwise"%s%s eltwise_param { operation: SUM } }' %
                       (name, bottoms, tops))
            model += _layer(name, "Eltwise", ins, outs, [])
        else:
            raise ValueError("no Caffe layer for %s" % type_)
    with open(prototxt, "w") as f:
        f.write("\n".join(txt) + "\n")
    with open(caffemodel, "wb") as f:
        f.write(model)
