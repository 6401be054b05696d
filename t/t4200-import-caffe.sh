#!/bin/sh
# featmodel import of Caffe models (deploy.prototxt + .caffemodel, written
# by contrib/caffewriter.py through contrib/caffefixtures.py): outputs
# match OpenCV DNN 4.6 running the same files (and PyTorch) under every
# kernel path; SSD's PriorBox and DetectionOutput become metadata; broken
# files are refused by name.

. "$FEAT_TOP/t/test-lib.sh"

C=$TEST_DATA/caffe
FCMP=$FEAT_TOP/t/lib/fcmp.py

for net in vggish ssdish; do
	test_expect_success "import $net" "
		featmodel import -o $net.fm $C/$net.prototxt $C/$net.caffemodel >out &&
		grep -q 'written to $net.fm' out
	"
	for k in ref avx512 blas; do
		if [ $k = avx512 ] && ! grep -q avx512f /proc/cpuinfo; then
			test_skip "$net: kernel $k" "this CPU has no AVX-512"
			continue
		fi
		test_expect_success "$net matches OpenCV DNN and PyTorch (FEAT_KERNEL=$k)" "
			FEAT_KERNEL=$k featmodel run $net.fm $C/$net.in.f32 o.$k.$net &&
			n=0 &&
			for ref in $C/$net.opencv.*.f32; do
				blob=\${ref#$C/$net.opencv.} &&
				\"\$PYTHON\" $FCMP o.$k.$net.\$blob \$ref &&
				\"\$PYTHON\" $FCMP o.$k.$net.\$blob $C/$net.torch.\$blob &&
				n=\$((n + 1)) || exit 1
			done &&
			test \$n = 2
		"
	done
done

test_expect_success 'batch norm and scale fold into the convolution' '
	featmodel info vggish.fm >info &&
	grep -q "^1 *bn .*(folded)" info &&
	grep -q "^0 *conv+relu " info
'

test_expect_success 'PriorBox and DetectionOutput become metadata, not layers' '
	cp $C/ssdish.prototxt ssd.prototxt &&
	cat >>ssd.prototxt <<-\EOT &&
	layer { name: "prior1" type: "PriorBox" bottom: "l2norm1" bottom: "data" top: "prior1"
	  prior_box_param { min_size: 30 max_size: 60 aspect_ratio: 2 flip: true clip: false
	    variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 step: 8 offset: 0.5 } }
	layer { name: "priors" type: "Concat" bottom: "prior1" top: "priors" concat_param { axis: 2 } }
	layer { name: "detection_out" type: "DetectionOutput" bottom: "concat11" bottom: "softmax20" bottom: "priors"
	  top: "detection_out"
	  detection_output_param { num_classes: 5 share_location: true background_label_id: 0
	    nms_param { nms_threshold: 0.45 top_k: 400 } code_type: CENTER_SIZE keep_top_k: 200
	    confidence_threshold: 0.01 } }
	EOT
	featmodel import -o ssd.fm ssd.prototxt $C/ssdish.caffemodel >/dev/null &&
	featmodel info ssd.fm >info &&
	grep -q "^  ssd.prior1.min_size	30$" info &&
	grep -q "^  ssd.prior1.variance	0.1,0.1,0.2,0.2$" info &&
	grep -q "^  ssd.prior1.flip	true$" info &&
	grep -q "^  ssd.detection_out.nms_threshold	0.45$" info &&
	grep -q "^  ssd.detection_out.code_type	CENTER_SIZE$" info &&
	grep -q "^  ssd.priors	prior1$" info &&
	grep -q "^  ssd.prior1.source	l2norm1$" info &&
	grep -q "^  ssd.detect	detection_out$" info &&
	grep -q "^  ssd.loc	concat11$" info &&
	grep -q "^  ssd.conf	softmax20$" info &&
	grep -q "^  graph.outputs	concat11,softmax20$" info &&
	! grep -q "^[0-9].* \(prior1\|priors\|detection_out\) " info
'

test_expect_success 'an unsupported layer type is named' '
	sed "s/type: \"Sigmoid\"/type: \"TanH\"/" $C/vggish.prototxt >tanh.prototxt &&
	test_expect_code 3 featmodel import -o t.fm tanh.prototxt $C/vggish.caffemodel 2>err &&
	test_stderr_one_line err &&
	grep -q "type TanH is not supported" err &&
	test ! -e t.fm
'

test_expect_success 'weights missing or cut short: exit 3, one line naming the layer' '
	head -c 5000 $C/vggish.caffemodel >cut.caffemodel &&
	test_expect_code 3 featmodel import -o c.fm $C/vggish.prototxt cut.caffemodel 2>err &&
	test_stderr_one_line err &&
	printf "garbage\n" >bad.caffemodel &&
	test_expect_code 3 featmodel import -o b.fm $C/vggish.prototxt bad.caffemodel 2>err &&
	test_stderr_one_line err &&
	test_expect_code 3 featmodel import -o s.fm $C/vggish.prototxt $C/ssdish.caffemodel 2>err &&
	grep -q "layer .conv1.: the caffemodel has no blob" err
'

# A prototxt that parses but holds a message where Caffe has a value (or a
# word where it has a string, a value where it has a message): exit 3 and
# one line naming the field, never a crash.
bad_field() {
	printf '%s\n' "$2" >f.prototxt &&
	test_expect_code 3 featmodel import -o f.fm f.prototxt $C/vggish.caffemodel 2>err &&
	test_stderr_one_line err &&
	grep -q "$1" err &&
	test ! -e f.fm
}
HEAD='input: "data" input_shape { dim: 1 dim: 1 dim: 4 dim: 4 }'
test_expect_success 'a message where a value belongs is refused by its name' "
	bad_field 'line 2: pool: expected a value' '$HEAD
layer { name: \"p\" type: \"Pooling\" bottom: \"data\" top: \"p\" pooling_param { pool { } kernel_size: 2 } }' &&
	bad_field 'line 2: operation: expected a value' '$HEAD
layer { name: \"e\" type: \"Eltwise\" bottom: \"data\" bottom: \"data\" top: \"e\" eltwise_param { operation { } } }' &&
	bad_field 'line 1: type: expected a quoted string' 'layer { name: \"in\" type { } top: \"data\" }' &&
	bad_field 'line 2: type: expected a quoted string' '$HEAD
layer { name: \"r\" type { } bottom: \"data\" top: \"r\" }' &&
	bad_field 'line 1: input: expected a quoted string' 'input { }
input_shape { dim: 1 dim: 1 dim: 4 dim: 4 }' &&
	bad_field 'line 1: top: expected a quoted string' 'layer { name: \"in\" type: \"Input\" top { } input_param { shape { dim: 1 dim: 1 dim: 4 dim: 4 } } }' &&
	bad_field 'line 2: convolution_param: expected a message' '$HEAD
layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\" convolution_param: 3 }' &&
	bad_field 'line 1: input_shape: expected a message' 'input: \"data\" input_shape: 4'
"

# Small nets for one field each: mkcaffe.py writes the blobs, f32 FILE
# V... raw floats (the input, or what Caffe gives).
MKCAFFE=$FEAT_TOP/t/lib/mkcaffe.py
f32() {
	_f=$1
	shift
	"$PYTHON" -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<%df" % (len(sys.argv) - 1), *map(float, sys.argv[1:])))' "$@" >"$_f"
}

test_expect_success 'booleans as protobuf writes them: true, True, t, 1 and their false' '
	"$PYTHON" $MKCAFFE bool.caffemodel -l sc 2=2,3 2=10,20 -l cv 2x2x1x1=1,0,0,1 2=5,6 &&
	for t in true True t 1; do
		cat >bool.prototxt <<-EOT &&
		input: "data" input_shape { dim: 1 dim: 2 dim: 1 dim: 1 }
		layer { name: "sc" type: "Scale" bottom: "data" top: "sc" scale_param { bias_term: $t } }
		layer { name: "cv" type: "Convolution" bottom: "sc" top: "cv"
		  convolution_param { num_output: 2 kernel_size: 1 bias_term: $t } }
		EOT
		featmodel import -q -o bool.fm bool.prototxt bool.caffemodel &&
		f32 one.f32 1 1 &&
		featmodel run bool.fm one.f32 o &&
		f32 want.f32 17 29 &&
		"$PYTHON" $FCMP o.cv.f32 want.f32 || exit 1
	done &&
	for f in false False f 0; do
		cat >bool.prototxt <<-EOT &&
		input: "data" input_shape { dim: 1 dim: 2 dim: 1 dim: 1 }
		layer { name: "sc" type: "Scale" bottom: "data" top: "sc" scale_param { bias_term: $f } }
		layer { name: "cv" type: "Convolution" bottom: "sc" top: "cv"
		  convolution_param { num_output: 2 kernel_size: 1 bias_term: $f } }
		EOT
		featmodel import -q -o bool.fm bool.prototxt bool.caffemodel &&
		featmodel run bool.fm one.f32 o &&
		f32 want.f32 2 3 &&
		"$PYTHON" $FCMP o.cv.f32 want.f32 || exit 1
	done &&
	sed "s/bias_term: 0 }/bias_term: yes }/" bool.prototxt >yes.prototxt &&
	test_expect_code 3 featmodel import -o yes.fm yes.prototxt bool.caffemodel 2>err &&
	test_stderr_one_line err &&
	grep -q "line 2: bias_term: expected true or false" err
'

test_expect_success 'a PriorBox flip: True is ssd-detect'"'"'s true' '
	sed "s/flip: true/flip: True/; s/clip: false/clip: f/" $TEST_DATA/ssd/default.prototxt >flip.prototxt &&
	! cmp -s flip.prototxt $TEST_DATA/ssd/default.prototxt &&
	featmodel import -q -o flip.fm flip.prototxt $C/ssdish.caffemodel &&
	featmodel info flip.fm >info &&
	grep -q "^  ssd\.[a-z0-9_]*\.flip	true$" info &&
	! grep -q "True" info &&
	grep -q "^  ssd\.[a-z0-9_]*\.clip	false$" info
'

test_expect_success 'Pooling round_mode: CEIL (the default) rounds up, FLOOR down' '
	"$PYTHON" $MKCAFFE unused.caffemodel -l unused 1=0 &&
	"$PYTHON" -c "import struct, sys; sys.stdout.buffer.write(struct.pack(\"<25f\", *range(25)))" >p.in.f32 &&
	for r in "" "round_mode: CEIL" "round_mode: 0" "round_mode: FLOOR" "round_mode: 1"; do
		cat >pool.prototxt <<-EOT &&
		input: "data" input_shape { dim: 1 dim: 1 dim: 5 dim: 5 }
		layer { name: "pool" type: "Pooling" bottom: "data" top: "pool"
		  pooling_param { pool: MAX kernel_size: 2 stride: 2 $r } }
		EOT
		featmodel import -q -o pool.fm pool.prototxt unused.caffemodel &&
		featmodel run pool.fm p.in.f32 o &&
		case $r in
		*FLOOR|*1) f32 want.f32 6 8 16 18 ;;
		*) f32 want.f32 6 8 9 16 18 19 21 23 24 ;;
		esac &&
		cmp o.pool.f32 want.f32 || exit 1
	done &&
	sed "s/round_mode: 1/round_mode: NEAREST/" pool.prototxt >near.prototxt &&
	test_expect_code 3 featmodel import -o near.fm near.prototxt unused.caffemodel 2>err &&
	test_stderr_one_line err &&
	grep -q "layer .pool.: round_mode NEAREST is not supported" err
'

test_expect_success 'Flatten end_axis: the axes from axis to end_axis become one' '
	"$PYTHON" -c "import struct, sys; sys.stdout.buffer.write(struct.pack(\"<24f\", *[(i * 7 % 11) / 4 for i in range(24)]))" >fl.in.f32 &&
	for a in "axis: 1 end_axis: 2=6x4" "axis: 1 end_axis: -2=6x4" "end_axis: 2=6x4" \
		 "axis: 2 end_axis: 3=2x12" "axis: 1 end_axis: -1=24" "axis: 1=24" \
		 "axis: 1 end_axis: 0=1x2x3x4" "axis: 2 end_axis: 2=2x3x4"; do
		cat >fl.prototxt <<-EOT &&
		input: "data" input_shape { dim: 1 dim: 2 dim: 3 dim: 4 }
		layer { name: "flat" type: "Flatten" bottom: "data" top: "flat" flatten_param { ${a%=*} } }
		layer { name: "prob" type: "Softmax" bottom: "flat" top: "prob" }
		EOT
		featmodel import -q -o fl.fm fl.prototxt unused.caffemodel &&
		featmodel info fl.fm >info &&
		grep -q "^0 *flatten *flat *${a#*=} " info || exit 1
	done &&
	sed "s/{ axis: 2 end_axis: 2 }/{ axis: 1 end_axis: 2 }/" fl.prototxt >fl12.prototxt &&
	featmodel import -q -o fl.fm fl12.prototxt unused.caffemodel &&
	featmodel run fl.fm fl.in.f32 o &&
	"$PYTHON" -c "
import numpy as np
x = np.fromfile(\"fl.in.f32\", \"<f4\").reshape(1, 6, 4)
e = np.exp(x - x.max(1, keepdims=True))
(e / e.sum(1, keepdims=True)).astype(\"<f4\").tofile(\"want.f32\")" &&
	"$PYTHON" $FCMP o.prob.f32 want.f32 &&
	sed "s/{ axis: 2 end_axis: 2 }/{ axis: 2 end_axis: 0 }/" fl.prototxt >bad.prototxt &&
	test_expect_code 3 featmodel import -o bad.fm bad.prototxt unused.caffemodel 2>err &&
	test_stderr_one_line err &&
	grep -q "end_axis 0 is before axis 2" err
'

test_expect_success 'Reshape axis: the shape replaces the axes from axis on' '
	for a in "shape { dim: 0 dim: -1 }=24" "shape { dim: 0 dim: -1 } axis: 1=2x12" \
		 "shape { dim: -1 } axis: 2=2x12" "shape { dim: 3 dim: 2 dim: 2 } axis: 2=2x3x2x2" \
		 "shape { dim: 0 dim: 0 dim: -1 } axis: 1 num_axes: -1=2x3x4" "axis: 3 shape { dim: 2 dim: 2 }=2x3x2x2"; do
		cat >rs.prototxt <<-EOT &&
		input: "data" input_shape { dim: 1 dim: 2 dim: 3 dim: 4 }
		layer { name: "rs" type: "Reshape" bottom: "data" top: "rs" reshape_param { ${a%=*} } }
		layer { name: "prob" type: "Softmax" bottom: "rs" top: "prob" }
		EOT
		featmodel import -q -o rs.fm rs.prototxt unused.caffemodel &&
		featmodel info rs.fm >info &&
		grep -q "^0 *reshape *rs *${a#*=} " info || exit 1
	done &&
	sed "s/reshape_param {.*} }/reshape_param { shape { dim: 0 dim: -1 } axis: 1 } }/" rs.prototxt >rs1.prototxt &&
	featmodel import -q -o rs.fm rs1.prototxt unused.caffemodel &&
	featmodel run rs.fm fl.in.f32 o &&
	"$PYTHON" -c "
import numpy as np
x = np.fromfile(\"fl.in.f32\", \"<f4\").reshape(1, 2, 12)
e = np.exp(x - x.max(1, keepdims=True))
(e / e.sum(1, keepdims=True)).astype(\"<f4\").tofile(\"want.f32\")" &&
	"$PYTHON" $FCMP o.prob.f32 want.f32 &&
	for a in "axis: 1 num_axes: 2" "axis: -1" "num_axes: 0"; do
		sed "s/reshape_param {.*} }/reshape_param { shape { dim: 1 } $a } }/" rs.prototxt >bad.prototxt &&
		test_expect_code 3 featmodel import -o bad.fm bad.prototxt unused.caffemodel 2>err &&
		test_stderr_one_line err &&
		grep -q "layer .rs.: Reshape with axis .* is not supported" err || exit 1
	done
'

test_expect_success 'InnerProduct weights in the legacy num/channels/height/width ([1,1,N,K])' '
	cat >ip.prototxt <<-\EOT &&
	input: "data" input_shape { dim: 1 dim: 4 dim: 1 dim: 1 }
	layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 3 } }
	EOT
	f32 ip.in.f32 1 1 1 1 &&
	f32 want.f32 7 24 41 &&
	for l in "" --legacy; do
		"$PYTHON" $MKCAFFE $l ip.caffemodel -l fc 3x4=arange 3=1,2,3 &&
		featmodel import -q -o ip.fm ip.prototxt ip.caffemodel &&
		featmodel run ip.fm ip.in.f32 o &&
		"$PYTHON" $FCMP o.fc.f32 want.f32 || exit 1
	done
'

test_expect_success 'DetectionOutput code_type: written by name, CORNER when left out' '
	for a in "=CORNER" "code_type: CORNER=CORNER" "code_type: 1=CORNER" \
		 "code_type: 2=CENTER_SIZE" "code_type: CORNER_SIZE=CORNER_SIZE" "code_type: 3=CORNER_SIZE"; do
		sed "s/code_type: CENTER_SIZE/${a%=*}/" ssd.prototxt >ct.prototxt &&
		featmodel import -q -o ct.fm ct.prototxt $C/ssdish.caffemodel &&
		featmodel info ct.fm >info &&
		grep -q "^  ssd.detection_out.code_type	${a#*=}$" info || exit 1
	done &&
	for a in 0 4 CENTER "{ }"; do
		sed "s/code_type: CENTER_SIZE/code_type: $a/" ssd.prototxt >ct.prototxt &&
		test_expect_code 3 featmodel import -o bad.fm ct.prototxt $C/ssdish.caffemodel 2>err &&
		test_stderr_one_line err &&
		grep -q "code_type: " err || exit 1
	done
'

test_expect_success 'Scale other than per channel is refused, not scaled per channel' '
	"$PYTHON" $MKCAFFE sc.caffemodel -l sc 2=2,3 &&
	for a in "axis: 0" "num_axes: 2" "num_axes: -1" "axis: 2"; do
		cat >sc.prototxt <<-EOT &&
		input: "data" input_shape { dim: 1 dim: 2 dim: 1 dim: 1 }
		layer { name: "sc" type: "Scale" bottom: "data" top: "sc" scale_param { $a } }
		EOT
		test_expect_code 3 featmodel import -o sc.fm sc.prototxt sc.caffemodel 2>err &&
		test_stderr_one_line err &&
		grep -q "layer .sc.: Scale with axis" err || exit 1
	done &&
	sed "s/{ axis: 2 }/{ axis: 1 num_axes: 1 }/" sc.prototxt >ok.prototxt &&
	featmodel import -q -o sc.fm ok.prototxt sc.caffemodel
'

test_expect_success 'long nets keep their outputs; too many outputs or values are refused' '
	"$PYTHON" - <<-\EOT &&
	head = "input: \"data\" input_shape { dim: 1 dim: 1 dim: 2 dim: 2 }\n"
	relu = "layer { name: \"r%d\" type: \"ReLU\" bottom: \"%s\" top: \"r%d\" }\n"
	with open("long.prototxt", "w") as f:
	    f.write(head + "".join(relu % (i, "r%d" % (i - 1) if i else "data", i) for i in range(1100)))
	with open("wide.prototxt", "w") as f:
	    f.write(head + "".join(relu % (i, "data", i) for i in range(65)))
	EOT
	featmodel import -q -o long.fm long.prototxt unused.caffemodel &&
	featmodel info long.fm >info &&
	grep -q "^  graph.outputs	r1099$" info &&
	test_expect_code 3 featmodel import -o wide.fm wide.prototxt unused.caffemodel 2>err &&
	test_stderr_one_line err &&
	grep -q "more than 64 blobs that no layer reads" err &&
	v=$(for i in $(seq 65); do printf "variance: 0.1 "; done) &&
	sed "s/variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2/$v/" ssd.prototxt >var.prototxt &&
	! cmp -s var.prototxt ssd.prototxt &&
	test_expect_code 3 featmodel import -o var.fm var.prototxt $C/ssdish.caffemodel 2>err &&
	test_stderr_one_line err &&
	grep -q "variance: more than 64 values" err
'

test_expect_success 'a malformed prototxt: exit 3 with line and column' '
	printf "name: \"x\"\nlayer {\n  name: \"a\n" >bad.prototxt &&
	test_expect_code 3 featmodel import -o x.fm bad.prototxt $C/vggish.caffemodel 2>err &&
	test_stderr_one_line err &&
	grep -q "prototxt: line 3, column" err
'

test_done
