#!/bin/sh
# ssd-detect: Caffe SSD semantics (prior boxes, decoding with variances,
# per-class NMS, confidence threshold, top_k, keep_top_k) held to OpenCV
# DNN 4.6 on a full Caffe SSD (fixtures by contrib/ssdfixtures.py);
# featkit's NMS over all classes and mirror merge held to contrib/ssdref.py;
# boxes mapped back through imgprep's transform; options, batching and
# error paths.

. "$FEAT_TOP/t/test-lib.sh"

C=$TEST_DATA/caffe
D=$TEST_DATA/ssd

# cmp_dets DETS.f32 OPENCV.txt SX: the same detections (label, score
# within 1e-5, box within 1e-3 pixels) in the same order; OpenCV's boxes
# are normalised and unclipped, ours in pixels of a 10x10 image seen
# through a scale of SX (x_in = SX * x_img), clipped to it.  OpenCV's
# boxes of no area once clipped (wholly outside the image) are no
# detections to ssd-detect: left out (the fixtures' such boxes overlap
# no box OpenCV keeps, so leaving them out before NMS changes no other),
# and the keep_top_k places they took go to boxes OpenCV cut, scoring no
# more than its last.
cmp_dets() {
	"$PYTHON" - "$@" <<-\EOT
	import sys, numpy as np
	a = np.fromfile(sys.argv[1], np.float32).reshape(-1, 6)
	r = np.loadtxt(sys.argv[2], ndmin=2).reshape(-1, 6)
	sx = float(sys.argv[3])
	r[:, 2:] = np.clip(r[:, 2:] * 10 / sx, 0, 10 / sx)
	n = len(r)
	r = r[(r[:, 4] > r[:, 2]) & (r[:, 5] > r[:, 3])]
	if len(a) > len(r) and len(a) <= n and len(r) and (a[len(r):, 1] <= r[-1, 1]).all():
	    a = a[:len(r)]
	if a.shape != r.shape:
	    sys.exit("%d detections, OpenCV has %d" % (len(a), len(r)))
	if (a[:, 0] != r[:, 0]).any():
	    sys.exit("labels differ")
	ds, db = np.abs(a[:, 1] - r[:, 1]).max(), np.abs(a[:, 2:] - r[:, 2:]).max()
	if ds > 1e-5 or db > 1e-3:
	    sys.exit("score differs by %g, box by %g" % (ds, db))
	EOT
}

# same_dets A B: the same records and detections.  Byte for byte, but
# under FEAT_KERNEL=blas: OpenBLAS blocks a product differently for
# another batch size or thread count, so its sums may differ in the last
# bits (labels and boxes the same, scores within 1e-6).
same_dets() {
	if [ "${FEAT_KERNEL:-}" != blas ]; then
		cmp "$1" "$2"
		return
	fi
	featwrite -q -f jsonl -e 100% "$1" >"$1.jsonl" &&
	featwrite -q -f jsonl -e 100% "$2" >"$2.jsonl" &&
	"$PYTHON" - "$1.jsonl" "$2.jsonl" <<-\EOT
	import json, sys
	a = [json.loads(l) for l in open(sys.argv[1])]
	b = [json.loads(l) for l in open(sys.argv[2])]
	assert [r["key"] for r in a] == [r["key"] for r in b]
	for r, t in zip(a, b):
	    d, e = r.get("dets", []), t.get("dets", [])
	    assert len(d) == len(e), r["key"]
	    for x, y in zip(d, e):
	        assert x["label"] == y["label"] and abs(x["score"] - y["score"]) < 1e-6
	        assert max(abs(u - v) for u, v in zip(x["box"], y["box"])) < 1e-4
	EOT
}

# in.fs: the fixture's input as imgprep would write it for a 10x10 image
# (or a 20x20 one seen at half scale, for SX 0.5).
mkinput() {
	"$PYTHON" - "$C/ssdish.in.f32" "$1" >in.json <<-\EOT &&
	import json, sys, numpy as np
	x = [float(v) for v in np.fromfile(sys.argv[1], np.float32)]
	sx = float(sys.argv[2])
	xf = [10 / sx, 10 / sx, 10, 10, sx, sx, 0, 0]
	rec = lambda k: {"key": k, "tensors": [
	    {"name": "input", "dtype": "f32", "shape": [8, 10, 10], "values": x},
	    {"name": "xform", "dtype": "f32", "shape": [8], "values": xf}]}
	print(json.dumps([rec("a"), rec("b"), {"key": "bad.jpg", "status": "error",
	    "message": "truncated JPEG data"}, rec("c")]))
	EOT
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" in.json >in.fs
}

test_expect_success 'setup: the Caffe SSD imported, with its detection settings' '
	featmodel import -q -o ssd.fm "$D/default.prototxt" "$C/ssdish.caffemodel" &&
	featmodel info ssd.fm >info &&
	grep -q "^  ssd.priors	prior_a,prior_b$" info &&
	grep -q "^  ssd.prior_a.source	l2norm1$" info &&
	grep -q "^  ssd.detect	detection_out$" info &&
	grep -q "^  ssd.loc	concat11$" info &&
	grep -q "^  ssd.conf	softmax20$" info &&
	mkinput 1
'

test_expect_success 'the detections of OpenCV DNN, highest score first' '
	ssd-detect -m ssd.fm <in.fs >out.fs &&
	featcat --head 1 out.fs >first.fs &&
	featinfo --raw dets first.fs >dets.f32 &&
	cmp_dets dets.f32 "$D/default.opencv.txt" 1
'

test_expect_success 'options override the model: the tight settings' '
	ssd-detect -m ssd.fm -c 0.3 --nms-threshold 0.2 --top-k 5 --keep-top-k 7 <in.fs >t.fs &&
	featcat --head 1 t.fs >first.fs &&
	featinfo --raw dets first.fs >dets.f32 &&
	cmp_dets dets.f32 "$D/tight.opencv.txt" 1
'

test_expect_success 'the same settings from a model imported with them' '
	featmodel import -q -o tight.fm "$D/tight.prototxt" "$C/ssdish.caffemodel" &&
	ssd-detect -m tight.fm <in.fs >t2.fs &&
	cmp t.fs t2.fs
'

test_expect_success 'code_type: left out, CORNER as in Caffe; by number, by its name' '
	sed "s/ code_type: CENTER_SIZE//" "$D/default.prototxt" >omitted.prototxt &&
	! cmp -s omitted.prototxt "$D/default.prototxt" &&
	sed "s/code_type: CENTER_SIZE/code_type: CORNER/" "$D/default.prototxt" >corner.prototxt &&
	sed "s/code_type: CENTER_SIZE/code_type: 1/" "$D/default.prototxt" >corner1.prototxt &&
	sed "s/code_type: CENTER_SIZE/code_type: 2/" "$D/default.prototxt" >center2.prototxt &&
	for v in omitted corner corner1 center2; do
		featmodel import -q -o $v.fm $v.prototxt "$C/ssdish.caffemodel" &&
		ssd-detect -m $v.fm <in.fs >$v.fs || exit 1
	done &&
	featmodel info omitted.fm >info &&
	grep -q "^  ssd.detection_out.code_type	CORNER$" info &&
	featmodel info corner1.fm >info &&
	grep -q "^  ssd.detection_out.code_type	CORNER$" info &&
	ssd-detect -m ssd.fm <in.fs >center.fs &&
	! cmp -s corner.fs center.fs &&
	cmp omitted.fs corner.fs &&
	cmp corner1.fs corner.fs &&
	cmp center2.fs center.fs
'

test_expect_success 'boxes mapped back through the transform to image pixels' '
	mkinput 0.5 &&
	ssd-detect -m ssd.fm <in.fs >half.fs &&
	featcat --head 1 half.fs >first.fs &&
	featinfo --raw dets first.fs >dets.f32 &&
	cmp_dets dets.f32 "$D/default.opencv.txt" 0.5
'

test_expect_success 'batches change nothing (but the last bits under blas), with the mirror pass too; error records pass untouched' '
	mkinput 1 &&
	ssd-detect -m ssd.fm -b 1 <in.fs >b1.fs &&
	ssd-detect -m ssd.fm -b 3 <in.fs >b3.fs &&
	FEAT_THREAD_MIN=0 ssd-detect -m ssd.fm -b 64 -t 2 <in.fs >b64.fs &&
	same_dets b1.fs b3.fs && same_dets b1.fs b64.fs &&
	ssd-detect -m ssd.fm -b 1 --mirror --agnostic-nms <in.fs >m1.fs &&
	ssd-detect -m ssd.fm -b 3 --mirror --agnostic-nms <in.fs >m3.fs &&
	FEAT_THREAD_MIN=0 ssd-detect -m ssd.fm -b 64 -t 2 --mirror --agnostic-nms <in.fs >m64.fs &&
	same_dets m1.fs m3.fs && same_dets m1.fs m64.fs &&
	! cmp -s b1.fs m1.fs &&
	featinfo -k m3.fs >keys &&
	grep -q "^bad.jpg	error	truncated JPEG data$" keys &&
	featinfo -k b1.fs >keys &&
	grep -q "^bad.jpg	error	truncated JPEG data$" keys &&
	test_line_count = 4 keys
'

test_expect_success 'no detection above the threshold: an empty dets, still ok' '
	ssd-detect -m ssd.fm -c 1 <in.fs >none.fs &&
	featinfo none.fs >info &&
	grep -c "dets	f32	\[0 6\]" info >n && echo 3 >expect && test_cmp expect n &&
	featwrite -f jsonl -e 100% none.fs >none.jsonl 2>/dev/null &&
	grep -q "\"key\":\"a\",\"status\":\"ok\",\"dets\":\[\]" none.jsonl
'

test_expect_success 'featwrite -f jsonl gives the detections in image pixels' '
	featwrite -f jsonl -e 100% out.fs >out.jsonl 2>/dev/null &&
	head -n 1 out.jsonl >a.jsonl &&
	"$PYTHON" -c "import json, sys
d = json.load(open(\"a.jsonl\"))[\"dets\"]
assert len(d) == 200 and d[0][\"label\"] == 1 and abs(d[0][\"score\"] - 0.9999993) < 1e-5, d[0]
assert all(0 <= v <= 10 for x in d for v in x[\"box\"])"
'

# ref_dets MODE: what contrib/ssdref.py (numpy, written from Caffe's
# semantics and featkit's documented merge) detects on the fixture's
# outputs o.* (and f.*, of the input mirrored) with MODE (agnostic,
# mirror or both; vote: box voting at 0.5 too), in pixels of the 10x10
# image; ref.f32
ref_dets() {
	"$PYTHON" - "$1" "$FEAT_TOP/contrib" <<-\EOT
	import sys, numpy as np
	sys.path.insert(0, sys.argv[2])
	import ssdref as R
	mode = sys.argv[1]
	meta = {"priors": "a,b", "detect": "d", "d.num_classes": 5, "d.nms_threshold": 0.45,
	        "d.top_k": 400, "d.keep_top_k": 200, "d.confidence_threshold": 0.25,
	        "d.agnostic_nms": "true" if "agnostic" in mode else "false",
	        "d.box_vote": 0.5 if "vote" in mode else 0,
	        "a.min_size": 3, "a.aspect_ratio": 2, "a.flip": "true", "a.clip": "true",
	        "a.variance": [0.1, 0.1, 0.2, 0.2], "a.step": 1, "a.offset": 0.5,
	        "b.min_size": 4, "b.max_size": 9, "b.clip": "false", "b.variance": 0.1,
	        "b.step": 2, "b.offset": 0.25}
	p, v = R.priors(meta, 10, 10, {"a": (10, 10), "b": (5, 5)})
	rd = lambda f: np.fromfile(f, np.float32)
	if "mirror" in mode:
	    a = R.detect(rd("o.concat11.f32"), rd("o.softmax20.f32"), p, v, meta, agnostic=False, keep_top_k=-1)
	    b = R.detect(rd("f.concat11.f32"), rd("f.softmax20.f32"), p, v, meta, agnostic=False, keep_top_k=-1)
	    r = R.mirror(a, b, meta)
	else:
	    r = R.detect(rd("o.concat11.f32"), rd("o.softmax20.f32"), p, v, meta)
	r[:, 2:] = np.clip(r[:, 2:] * 10, 0, 10)
	r.astype(np.float32).tofile("ref.f32")
	EOT
}

test_expect_success 'NMS over all classes, box voting and the mirror merge, as contrib/ssdref.py computes them' '
	mkinput 1 &&
	featmodel run ssd.fm "$C/ssdish.in.f32" o &&
	"$PYTHON" -c "import numpy as np
np.fromfile(\"$C/ssdish.in.f32\", np.float32).reshape(1, 8, 10, 10)[..., ::-1].tofile(\"flip.f32\")" &&
	featmodel run ssd.fm flip.f32 f &&
	for mode in agnostic mirror agnostic-mirror vote agnostic-vote agnostic-mirror-vote; do
		case $mode in
		agnostic) opt="--agnostic-nms --no-mirror";;
		mirror) opt="--per-class-nms --mirror";;
		agnostic-mirror) opt="--agnostic-nms --mirror";;
		vote) opt="--per-class-nms --no-mirror --box-vote 0.5";;
		agnostic-vote) opt="--agnostic-nms --no-mirror --box-vote 0.5";;
		*) opt="--agnostic-nms --mirror --box-vote 0.5";;
		esac &&
		ssd-detect -m ssd.fm $opt <in.fs >m.fs &&
		featcat --head 1 m.fs >first.fs &&
		featinfo --raw dets first.fs >dets.f32 &&
		ref_dets $mode &&
		"$PYTHON" - $mode <<-\EOT || return 1
		import sys, numpy as np
		a = np.fromfile("dets.f32", np.float32).reshape(-1, 6)
		r = np.fromfile("ref.f32", np.float32).reshape(-1, 6)
		assert a.shape == r.shape and len(a) > 3, (sys.argv[1], a.shape, r.shape)
		assert (a[:, 0] == r[:, 0]).all(), sys.argv[1]
		assert np.abs(a[:, 1:] - r[:, 1:]).max() < 1e-4, (sys.argv[1], np.abs(a - r).max())
		EOT
	done &&
	# voting moves boxes: the fixture has kept boxes with voters
	ssd-detect -m ssd.fm --per-class-nms --no-mirror <in.fs >nv.fs &&
	ssd-detect -m ssd.fm --per-class-nms --no-mirror --box-vote 0.5 <in.fs >v.fs &&
	! cmp -s nv.fs v.fs &&
	ssd-detect -m ssd.fm --box-vote 0 <in.fs >v0.fs &&
	cmp v0.fs nv.fs &&
	ssd-detect -m ssd.fm <in.fs >plain.fs &&
	ssd-detect -m ssd.fm --per-class-nms --no-mirror <in.fs >explicit.fs &&
	cmp plain.fs explicit.fs
'

# A box of no area in the photo is no detection: not written, and it
# takes no keep_top_k place.  CORNER decoding of the fixture gives
# inverted boxes (xmax < xmin); an image that covers the left half of the
# input (x_in = 0.5 x_img) leaves the boxes on the right with no area.
test_expect_success 'boxes of no area in the photo are dropped before keep_top_k' '
	ssd-detect -m corner.fm -c 0 --keep-top-k -1 <in.fs >c.fs &&
	ssd-detect -m corner.fm -c 0 --keep-top-k 150 <in.fs >c150.fs &&
	featcat --head 1 c.fs >first.fs && featinfo --raw dets first.fs >call.f32 &&
	featcat --head 1 c150.fs >first.fs && featinfo --raw dets first.fs >c150.f32 &&
	"$PYTHON" - "$C/ssdish.in.f32" >half.json <<-\EOT &&
	import json, sys, numpy as np
	x = [float(v) for v in np.fromfile(sys.argv[1], np.float32)]
	print(json.dumps([{"key": "half", "tensors": [
	    {"name": "input", "dtype": "f32", "shape": [8, 10, 10], "values": x},
	    {"name": "xform", "dtype": "f32", "shape": [8], "values": [10, 10, 10, 10, 0.5, 1, 0, 0]}]}]))
	EOT
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" half.json >half.fs &&
	ssd-detect -m ssd.fm -c 0 --keep-top-k 100 <half.fs >h.fs &&
	featinfo --raw dets h.fs >h.f32 &&
	"$PYTHON" - <<-\EOT
	import numpy as np
	rd = lambda f: np.fromfile(f, np.float32).reshape(-1, 6)
	a, k, h = rd("call.f32"), rd("c150.f32"), rd("h.f32")
	for d in a, k, h:
	    assert len(d) and ((d[:, 4] > d[:, 2]) & (d[:, 5] > d[:, 3])).all(), d[:3]
	assert len(a) > 150 and len(k) == 150 and (k == a[:150]).all(), (len(a), len(k))
	assert len(h) == 100 and (h[:, 2:] <= 20).all() and (h[:, 2:] >= 0).all()
	EOT
'

# The mirror merge sees every box of both views: keep_top_k is applied
# after it, so that a box whose partner would have been cut in the other
# view does not lose half its score to the cut; and a box seen in one
# view whose halved score is at or under the threshold goes.
test_expect_success 'the mirror merge: keep_top_k after it, the threshold after it too' '
	ssd-detect -m ssd.fm --mirror --keep-top-k -1 <in.fs >mall.fs &&
	ssd-detect -m ssd.fm --mirror --keep-top-k 3 <in.fs >m3.fs &&
	ssd-detect -m ssd.fm --mirror -c 0.6 <in.fs >m6.fs &&
	featcat --head 1 mall.fs >first.fs && featinfo --raw dets first.fs >mall.f32 &&
	featcat --head 1 m3.fs >first.fs && featinfo --raw dets first.fs >m3.f32 &&
	featcat --head 1 m6.fs >first.fs && featinfo --raw dets first.fs >m6.f32 &&
	"$PYTHON" - <<-\EOT
	import numpy as np
	rd = lambda f: np.fromfile(f, np.float32).reshape(-1, 6)
	a, k, c = rd("mall.f32"), rd("m3.f32"), rd("m6.f32")
	assert len(k) == 3 and (k == a[:3]).all(), (k, a[:3])
	assert len(c) > 3 and (c[:, 1] > 0.6).all(), c[:, 1]
	EOT
'

# A box that decodes to an infinite corner (the exponential of its size
# overflows) makes an error record; clipped first, it was a box of the
# whole photo on an ok record.  A 4-prior net whose loc and conf are its
# input: prior 0 has size offsets L.
test_expect_success 'a box with an infinite corner is an error record, not the whole photo' '
	"$PYTHON" - <<-\EOT &&
	import json, sys
	sys.path.insert(0, "'"$FEAT_TOP"'/contrib")
	from featmodel import ModelWriter
	w = ModelWriter()
	for k, v in {"graph.inputs": ["data"], "graph.outputs": ["loc", "conf"],
	             "input.shape": [4, 2, 2], "ssd.priors": "p", "ssd.p.min_size": 1.0,
	             "ssd.p.grid": [2, 2], "ssd.p.variance": [0.1, 0.1, 0.2, 0.2],
	             "ssd.detect": "det", "ssd.det.num_classes": 4, "ssd.loc": "loc",
	             "ssd.conf": "conf"}.items():
	    w.meta(k, v)
	w.layer("flatten", "loc", ["data"], ["loc"], {"axis": 1})
	w.layer("reshape", "r", ["data"], ["r"], {"shape": [0, 4, 4]})
	w.layer("softmax", "conf", ["r"], ["conf"], {"axis": 2})
	w.write("inf.fm")
	rec = lambda L: {"key": "L=%g" % L, "tensors": [
	    {"name": "input", "dtype": "f32", "shape": [4, 2, 2], "values": [0, 0, L, L] + [0] * 12},
	    {"name": "xform", "dtype": "f32", "shape": [8], "values": [100, 100, 2, 2, 0.02, 0.02, 0, 0]}]}
	json.dump([rec(5), rec(1000)], open("inf.json", "w"))
	EOT
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" inf.json >inf.fs &&
	ssd-detect -m inf.fm --no-mirror -c 0.3 <inf.fs >inf.out &&
	featinfo -k inf.out >keys &&
	grep -q "^L=5	ok" keys &&
	grep -q "^L=1000	error	ssd-detect: a box of class 2, score 0.5, decodes to a non-finite corner$" keys
'

test_expect_success 'records it cannot use become error records' '
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" >odd.fs <<-\EOT &&
	[{"key": "no-input", "tensors": [{"name": "image", "dtype": "u8", "shape": [2, 2, 3]}]},
	 {"key": "small", "tensors": [{"name": "input", "dtype": "f32", "shape": [8, 5, 5]},
	  {"name": "xform", "dtype": "f32", "shape": [8], "values": [5, 5, 5, 5, 1, 1, 0, 0]}]},
	 {"key": "no-xform", "tensors": [{"name": "input", "dtype": "f32", "shape": [8, 10, 10]}]},
	 {"key": "bad-xform", "tensors": [{"name": "input", "dtype": "f32", "shape": [8, 10, 10]},
	  {"name": "xform", "dtype": "f32", "shape": [8], "values": [10, 10, 10, 10, 0, 1, 0, 0]}]},
	 {"key": "empty-image", "tensors": [{"name": "input", "dtype": "f32", "shape": [8, 10, 10]},
	  {"name": "xform", "dtype": "f32", "shape": [8], "values": [0, 0, 10, 10, 1, 1, 0, 0]}]},
	 {"key": "image-outside", "tensors": [{"name": "input", "dtype": "f32", "shape": [8, 10, 10]},
	  {"name": "xform", "dtype": "f32", "shape": [8], "values": [10, 10, 10, 10, 1, 1, 100, 100]}]},
	 {"key": "image-left", "tensors": [{"name": "input", "dtype": "f32", "shape": [8, 10, 10]},
	  {"name": "xform", "dtype": "f32", "shape": [8], "values": [10, 10, 10, 10, 1, 1, -10, 0]}]},
	 {"key": "other-input", "tensors": [{"name": "input", "dtype": "f32", "shape": [8, 10, 10]},
	  {"name": "xform", "dtype": "f32", "shape": [8], "values": [10, 10, 20, 20, 2, 2, 0, 0]}]}]
	EOT
	ssd-detect -m ssd.fm <odd.fs >odd.out &&
	featinfo -k odd.out >keys &&
	grep -q "^no-input	error	ssd-detect: no .input. tensor (prepare it with imgprep -m MODEL)$" keys &&
	grep -q "^small	error	ssd-detect: .input. is f32 \[8 5 5\]; the model needs f32 \[8 10 10\]" keys &&
	grep -q "^no-xform	error	ssd-detect: no .xform. tensor" keys &&
	grep -q "^bad-xform	error	ssd-detect: .xform. is not a valid transform$" keys &&
	grep -q "^empty-image	error	ssd-detect: .xform. is not a valid transform: the image is 0x0$" keys &&
	grep -q "^image-outside	error	ssd-detect: .xform. is not a valid transform: it maps the 10x10 image to \[100, 110\] x \[100, 110\], outside the 10x10 input$" keys &&
	grep -q "^image-left	error	ssd-detect: .xform. is not a valid transform: it maps the 10x10 image to \[-10, 0\] x \[0, 10\], outside the 10x10 input$" keys &&
	grep -q "^other-input	error	ssd-detect: .xform. maps to a 20x20 input, but .input. is 10x10$" keys
'

test_expect_success 'a model that is not an SSD, or none: one line, exit 3 or 4' '
	test_expect_code 3 ssd-detect -m "$TEST_DATA/nets/deepbit.fm" <in.fs >/dev/null 2>err &&
	test_stderr_one_line err && grep -q "not an SSD model: no metadata ssd.priors" err &&
	test_expect_code 4 ssd-detect -m ./nosuch.fm <in.fs >/dev/null 2>err &&
	test_stderr_one_line err && grep -q "nosuch.fm: cannot open: No such file" err &&
	mkdir -p adir.fm &&
	test_expect_code 4 ssd-detect -m ./adir.fm <in.fs >/dev/null 2>err &&
	test_stderr_one_line err && grep -q "adir.fm: cannot open: not a regular file" err &&
	FEAT_MODELS=$PWD/empty test_expect_code 4 ssd-detect <in.fs >/dev/null 2>err &&
	test_stderr_one_line err && grep -q "model .ssd. not found" err
'

test_expect_success 'a graph whose outputs do not fit the priors is refused' '
	sed "s/min_size: 4 max_size: 9/min_size: 4/" "$D/default.prototxt" >short.prototxt &&
	featmodel import -q -o short.fm short.prototxt "$C/ssdish.caffemodel" &&
	test_expect_code 3 ssd-detect -m short.fm <in.fs >/dev/null 2>err &&
	test_stderr_one_line err && grep -q "hold 1400 values, the 325 priors need 1300" err
'

test_expect_success 'a bad ssd.mirror, agnostic_nms or box_vote in a model is refused, not read as off' '
	featmodel import -q -o badv.fm --set ssd.detection_out.box_vote=1.5 \
		"$D/default.prototxt" "$C/ssdish.caffemodel" &&
	test_expect_code 3 ssd-detect -m badv.fm <in.fs >/dev/null 2>err &&
	test_stderr_one_line err &&
	grep -q "metadata ssd.detection_out.box_vote: an overlap from 0 (off) to 1" err &&
	featmodel import -q -o goodv.fm --set ssd.detection_out.box_vote=0.5 \
		"$D/default.prototxt" "$C/ssdish.caffemodel" &&
	ssd-detect -m goodv.fm <in.fs >gv.fs &&
	ssd-detect -m ssd.fm --box-vote 0.5 <in.fs >ev.fs &&
	cmp gv.fs ev.fs &&
	featmodel import -q -o badm.fm --set ssd.mirror=maybe "$D/default.prototxt" "$C/ssdish.caffemodel" &&
	test_expect_code 3 ssd-detect -m badm.fm <in.fs >/dev/null 2>err &&
	test_stderr_one_line err && grep -q "metadata ssd.mirror: expected true or false" err &&
	featmodel import -q -o bada.fm --set ssd.detection_out.agnostic_nms=2 \
		"$D/default.prototxt" "$C/ssdish.caffemodel" &&
	test_expect_code 3 ssd-detect -m bada.fm <in.fs >/dev/null 2>err &&
	test_stderr_one_line err &&
	grep -q "metadata ssd.detection_out.agnostic_nms: expected true or false" err &&
	featmodel import -q -o goodm.fm --set ssd.mirror=true "$D/default.prototxt" "$C/ssdish.caffemodel" &&
	ssd-detect -m goodm.fm <in.fs >gm.fs &&
	ssd-detect -m ssd.fm --mirror <in.fs >em.fs &&
	cmp gm.fs em.fs
'

# The main box first: the largest of the boxes scoring at least F of the
# best and at least S, the others after it in score order (checked on
# the detections written without it)
test_expect_success '--main-share, --main-min-score: the main box first, the rest by score' '
	ssd-detect -m ssd.fm <in.fs | featwrite -q -e 100% -f jsonl >s.jsonl &&
	ssd-detect -m ssd.fm --main-share 0.5 --main-min-score 0.1 <in.fs |
		featwrite -q -e 100% -f jsonl >m.jsonl &&
	"$PYTHON" - s.jsonl m.jsonl <<-\EOT
	import json, sys
	S = [json.loads(l) for l in open(sys.argv[1])]
	M = [json.loads(l) for l in open(sys.argv[2])]
	assert len(S) == len(M)
	moved = 0
	for s, m in zip(S, M):
	    d, e = s.get("dets", []), m.get("dets", [])
	    assert sorted(json.dumps(x) for x in d) == sorted(json.dumps(x) for x in e)
	    if not d:
	        continue
	    best = max(x["score"] for x in d)
	    area = lambda x: (x["box"][2] - x["box"][0]) * (x["box"][3] - x["box"][1])
	    ok = [x for x in d if x["score"] >= 0.5 * best and x["score"] >= 0.1]
	    if ok:
	        assert area(e[0]) == max(area(x) for x in ok), (s["key"], e[0])
	    rest = e[1:]
	    assert [x["score"] for x in rest] == sorted((x["score"] for x in rest), reverse=True)
	    moved += e[0] != d[0]
	assert moved, "no record where the main box is not the best"
	EOT
'

test_expect_success 'a bad ssd.main_share or main_min_score in a model is refused; a good one is the option' '
	featmodel import -q -o badms.fm --set ssd.main_share=2 "$D/default.prototxt" "$C/ssdish.caffemodel" &&
	test_expect_code 3 ssd-detect -m badms.fm <in.fs >/dev/null 2>err &&
	test_stderr_one_line err && grep -q "metadata ssd.main_share: expected a share" err &&
	featmodel import -q -o badmm.fm --set ssd.main_min_score=x "$D/default.prototxt" "$C/ssdish.caffemodel" &&
	test_expect_code 3 ssd-detect -m badmm.fm <in.fs >/dev/null 2>err &&
	test_stderr_one_line err && grep -q "metadata ssd.main_min_score: expected a score" err &&
	featmodel import -q -o goodms.fm --set ssd.main_share=0.5 --set ssd.main_min_score=0.1 \
		"$D/default.prototxt" "$C/ssdish.caffemodel" &&
	ssd-detect -m goodms.fm <in.fs >gms.fs &&
	ssd-detect -m ssd.fm --main-share 0.5 --main-min-score 0.1 <in.fs >ems.fs &&
	cmp gms.fs ems.fs
'

# -t changes no bit (ssd-detect(1)): the shipped detector on the sample
# photos with every layer split (FEAT_THREAD_MIN=0; the default leaves
# small layers whole, and all of ssdish's are).  A 1x1 convolution's last
# piece of 16 columns once took the GEMM's small-N route, which sums in
# another order than the whole's packed kernel: 11 of 14 photos differed.
test_expect_success 'threads change nothing (but the last bits under blas): the shipped detector, every layer split' '
	imgdecode -q "$FEAT_TOP"/contrib/samples/*.jpg >s.fs &&
	FEAT_MODELS="$FEAT_TOP/models" imgprep -q --for ssd <s.fs >sp.fs &&
	FEAT_THREAD_MIN=0 ssd-detect -m "$FEAT_TOP/models/ssd.fm" -t 1 <sp.fs >s1.fs &&
	FEAT_THREAD_MIN=0 ssd-detect -m "$FEAT_TOP/models/ssd.fm" -t 2 <sp.fs >s2.fs &&
	FEAT_THREAD_MIN=0 ssd-detect -m "$FEAT_TOP/models/ssd.fm" -t 3 -b 4 <sp.fs >s3.fs &&
	same_dets s1.fs s2.fs && same_dets s1.fs s3.fs
'

test_expect_success 'usage errors: one line, exit 2' '
	test_expect_code 2 ssd-detect --main-share 1.5 <in.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 ssd-detect --main-min-score x <in.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 ssd-detect -b 0 <in.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 ssd-detect --nms-threshold 2 <in.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 ssd-detect --top-k x <in.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 ssd-detect --box-vote 1.5 <in.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 ssd-detect --box-vote -1 <in.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 ssd-detect extra <in.fs 2>err && test_stderr_one_line err &&
	test_expect_code 3 ssd-detect -m ssd.fm <"$C/ssdish.prototxt" >/dev/null 2>err &&
	test_stderr_one_line err
'

test_done
