#!/usr/bin/python3
"""peer_opencv_prep.py - the peer of bench-prep.sh: OpenCV doing what
imgdecode | imgprep --for ssd300 does (decode, area or bilinear resize to
300x300 as imgprep chooses, BGR mean subtraction, CHW float32),
single-threaded.  Prints images/s
(best of 3 passes over the list, interpreter start-up excluded).

    peer_opencv_prep.py [--reduced] LIST
"""
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
reduced = "--reduced" in sys.argv
paths = [l.rstrip("\n") for l in open(sys.argv[-1])]
mean = np.array([104, 117, 123], np.float32)
flag = cv2.IMREAD_REDUCED_COLOR_2 if reduced else cv2.IMREAD_COLOR
best = 1e99
for _ in range(3):
    t0 = time.perf_counter()
    for p in paths:
        img = cv2.imread(p, flag)               # BGR, HWC, u8
        # as imgprep's auto resize: area averaging when shrinking by 2 or
        # more, bilinear otherwise
        h, w = img.shape[:2]
        interp = cv2.INTER_AREA if h >= 600 and w >= 600 else cv2.INTER_LINEAR
        img = cv2.resize(img, (300, 300), interpolation=interp)
        x = (img.astype(np.float32) - mean).transpose(2, 0, 1).copy()
    best = min(best, time.perf_counter() - t0)
print("%.1f" % (len(paths) / best))
