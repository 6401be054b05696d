#!/usr/bin/python3
"""ssdfixtures.py - reference detections for ssd-detect's conformance test
(t/t5000-ssd-detect.sh): a full Caffe SSD, OpenCV DNN 4.6 computing it.

The network is the SSD head of the Caffe importer's fixture
(t/data/caffe/ssdish.prototxt and .caffemodel: Normalize, two feature
maps, loc and conf branches, softmax over 5 classes) with Caffe's
PriorBox, Concat and DetectionOutput layers added: prior boxes with min
and max sizes, an aspect ratio with flip, clip, steps, offsets and both
one and four variances.  For the fixture's input OpenCV's detection_out
(cv2.dnn.readNetFromCaffe, which implements Caffe SSD's layers) gives
label, score and normalised box of every detection; they are written, one
per line, to t/data/ssd/NAME.opencv.txt for each setting tried.

    /usr/bin/python3 contrib/ssdfixtures.py t/data/ssd

Needs python3-opencv and python3-numpy (Debian).
"""
import os
import sys

import cv2
import numpy as np

HEAD = """
layer { name: "prior_a" type: "PriorBox" bottom: "l2norm1" bottom: "data" top: "prior_a"
  prior_box_param { min_size: 3 aspect_ratio: 2 flip: true clip: true
    variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 step: 1 offset: 0.5 } }
layer { name: "prior_b" type: "PriorBox" bottom: "pool4" bottom: "data" top: "prior_b"
  prior_box_param { min_size: 4 max_size: 9 clip: false variance: 0.1 step: 2 offset: 0.25 } }
layer { name: "priors" type: "Concat" bottom: "prior_a" bottom: "prior_b" top: "priors"
  concat_param { axis: 2 } }
layer { name: "detection_out" type: "DetectionOutput" bottom: "concat11" bottom: "softmax20"
  bottom: "priors" top: "detection_out"
  detection_output_param { num_classes: 5 share_location: true background_label_id: 0
    nms_param { nms_threshold: %(nms)s top_k: %(top_k)d } code_type: CENTER_SIZE
    keep_top_k: %(keep)d confidence_threshold: %(conf)s } }
"""

SETTINGS = {  # name: DetectionOutput settings
    "default": dict(nms=0.45, top_k=400, keep=200, conf=0.25),
    "tight": dict(nms=0.2, top_k=5, keep=7, conf=0.3),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "t/data/ssd"
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    caffe = os.path.join(top, "t", "data", "caffe")
    base = open(os.path.join(caffe, "ssdish.prototxt")).read()
    x = np.fromfile(os.path.join(caffe, "ssdish.in.f32"), np.float32).reshape(1, 8, 10, 10)
    os.makedirs(out, exist_ok=True)
    for name, st in SETTINGS.items():
        proto = os.path.join(out, name + ".prototxt")
        with open(proto, "w") as f:
            f.write(base + HEAD % st)
        net = cv2.dnn.readNetFromCaffe(proto, os.path.join(caffe, "ssdish.caffemodel"))
        net.setInput(x)
        d = net.forward("detection_out").reshape(-1, 7)
        d = d[d[:, 2] > 0]  # OpenCV pads with a row of -1 when nothing is found
        # highest score first, as ssd-detect writes them (ties: label)
        d = d[np.lexsort((d[:, 1], -d[:, 2]))]
        with open(os.path.join(out, name + ".opencv.txt"), "w") as f:
            for r in d:
                f.write("%d %.7g %.7g %.7g %.7g %.7g\n" % (r[1], r[2], r[3], r[4], r[5], r[6]))
        print("%s: %d detections" % (name, len(d)))


if __name__ == "__main__":
    main()
