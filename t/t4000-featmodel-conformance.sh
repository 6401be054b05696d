#!/bin/sh
# The engine against PyTorch: every layer and option, on the networks and
# reference outputs contrib/conformance.py wrote (PyTorch's functional ops
# on the same weights), under every kernel path.  Tolerance: max relative
# error 1e-4 of each output's largest magnitude.

. "$FEAT_TOP/t/test-lib.sh"

N=$TEST_DATA/nets
FCMP=$FEAT_TOP/t/lib/fcmp.py

for k in ref avx512 blas; do
	if [ $k = avx512 ] && ! grep -q avx512f /proc/cpuinfo; then
		test_skip "kernel $k" "this CPU has no AVX-512"
		continue
	fi
	for net in convs pools head mobile deepbit; do
		test_expect_success "$net matches PyTorch (FEAT_KERNEL=$k)" "
			FEAT_KERNEL=$k featmodel run $N/$net.fm $N/$net.in.f32 out.$k.$net &&
			for ref in $N/$net.out.*.f32; do
				blob=\${ref#$N/$net.out.} &&
				\"\$PYTHON\" $FCMP out.$k.$net.\$blob \$ref || exit 1
			done
		"
	done
done

# Threads: every layer split (FEAT_THREAD_MIN=0: these networks are small),
# with and without Winograd for every eligible layer, against PyTorch; and
# -t 2 against -t 1 within the same tolerance.
for k in avx512 blas; do
	if [ $k = avx512 ] && ! grep -q avx512f /proc/cpuinfo; then
		test_skip "kernel $k, 2 threads" "this CPU has no AVX-512"
		continue
	fi
	for w in 0 1; do
		for net in convs pools head mobile deepbit; do
			test_expect_success "$net with -t 2 matches PyTorch (FEAT_KERNEL=$k FEAT_WINOGRAD=$w)" "
				FEAT_KERNEL=$k FEAT_WINOGRAD=$w FEAT_THREAD_MIN=0 \
					featmodel run -t 2 $N/$net.fm $N/$net.in.f32 t2.$k.$w.$net &&
				FEAT_KERNEL=$k FEAT_WINOGRAD=$w \
					featmodel run -t 1 $N/$net.fm $N/$net.in.f32 t1.$k.$w.$net &&
				for ref in $N/$net.out.*.f32; do
					blob=\${ref#$N/$net.out.} &&
					\"\$PYTHON\" $FCMP t2.$k.$w.$net.\$blob \$ref &&
					\"\$PYTHON\" $FCMP t2.$k.$w.$net.\$blob t1.$k.$w.$net.\$blob || exit 1
				done
			"
		done
	done
done

test_expect_success 'run -t 3 with the default split equals -t 1' '
	featmodel run -t 3 $N/deepbit.fm $N/deepbit.in.f32 t3 &&
	featmodel run $N/deepbit.fm $N/deepbit.in.f32 t1 &&
	"$PYTHON" $FCMP t3.sigmoid13.f32 t1.sigmoid13.f32 &&
	"$PYTHON" $FCMP t3.softmax15.f32 t1.softmax15.f32
'

# The channel-blocked layout (NCHW16c) of the AVX-512 path: which blobs
# mobile keeps blocked follows from the rule (written by a convolution
# with a blocked kernel or by a max pooling of a blocked map, read only by
# layers with a blocked kernel: pointwise, depthwise, small-map
# convolutions, pooling; not an output of the net), so the runs above went
# through the blocked kernels and the conversions at both ends of each
# chain; without the layout the same net goes through the plain kernels.
if grep -q avx512f /proc/cpuinfo; then
	test_expect_success 'mobile: the blobs kept channel-blocked' '
		FEAT_KERNEL=avx512 featmodel info $N/mobile.fm >info &&
		for l in conv1 conv4 conv7 conv9 conv11 conv12 conv17 conv19 conv20 pool25; do
			grep -q " $l .*(nchw16c)\$" info || exit 1
		done &&
		test $(grep -c "(nchw16c)\$" info) = 10 &&
		grep -q "^nchw16c: 10 outputs kept channel-blocked (avx512 path)" info
	'
	test_expect_success 'mobile without the blocked layout matches PyTorch (FEAT_NCHWC=0)' '
		FEAT_KERNEL=avx512 FEAT_NCHWC=0 featmodel info $N/mobile.fm >info &&
		! grep -q nchw16c info &&
		FEAT_KERNEL=avx512 FEAT_NCHWC=0 featmodel run $N/mobile.fm $N/mobile.in.f32 plain &&
		for ref in $N/mobile.out.*.f32; do
			"$PYTHON" $FCMP plain.${ref#$N/mobile.out.} $ref || exit 1
		done
	'
fi
test_expect_success 'the plain paths keep every blob NCHW' '
	FEAT_KERNEL=ref featmodel info $N/mobile.fm >info &&
	! grep -q nchw16c info &&
	FEAT_KERNEL=blas featmodel info $N/mobile.fm >info &&
	! grep -q nchw16c info
'

test_expect_success 'bench -t 2 names its threads' '
	FEAT_THREAD_MIN=0 featmodel bench -n 2 -b 2 -t 2 $N/head.fm >out &&
	grep -q "batch 2, 2 runs, 2 threads" out
'

test_expect_success 'threads outside 1 to 64: exit 2, one line' '
	test_expect_code 2 featmodel bench -t 0 $N/convs.fm 2>err && test_stderr_one_line err &&
	test_expect_code 2 featmodel bench -t 65 $N/convs.fm 2>err && test_stderr_one_line err
'

test_expect_success 'batch size follows the input file; one image at a time agrees' '
	"$PYTHON" -c "
import numpy as np
x = np.fromfile(\"$N/deepbit.in.f32\", \"<f4\").reshape(4, -1)
x[1].tofile(\"one.f32\")
" &&
	featmodel run $N/deepbit.fm one.f32 one &&
	"$PYTHON" -c "
import numpy as np, glob
ref = np.fromfile(\"$N/deepbit.out.sigmoid13.f32\", \"<f4\").reshape(4, -1)[1]
got = np.fromfile(\"one.sigmoid13.f32\", \"<f4\")
assert got.shape == ref.shape and np.abs(got - ref).max() < 1e-5, np.abs(got - ref).max()
"
'

test_expect_success 'info: metadata, layers, shapes, folded batch norm' '
	featmodel info $N/convs.fm >info &&
	grep -q "^  input.shape	3,23,19" info &&
	grep -q "^0 *conv+relu *conv1 *8x23x19 " info &&
	grep -q "^1 *bn .*(folded)" info &&
	grep -q "^13 *conv *conv14 *6x6x5 *2406 *72000" info
'

test_expect_success 'info: activations share buffers, less than one per blob' '
	featmodel info $N/convs.fm >info &&
	sed -n "s/^activations: \([0-9.e+-]*\) MB per image in [0-9]* buffers (\([0-9.e+-]*\) MB .*/\1 \2/p" info >act &&
	test -s act &&
	awk "{ exit !(\$1 > 0 && \$1 < \$2) }" act
'

test_expect_success 'check: a good model' '
	featmodel check $N/head.fm >out &&
	grep -q "ok: 20 layers" out
'

test_expect_success 'bench prints images/s and the time of each layer' '
	featmodel bench -n 2 -b 3 $N/deepbit.fm >out &&
	grep -q "batch 3" out &&
	grep -q "images/s" out &&
	grep -q "^0 *conv *conv1 " out
'

for f in truncated.fm huge-layer-count.fm bad-offsets.fm version-7.fm text.fm empty.fm; do
	test_expect_success "a broken model file ($f): exit 3, one line" "
		test_expect_code 3 featmodel check $FEAT_TOP/t/fuzz/corpus/model/$f >out 2>err &&
		test_stderr_one_line err &&
		grep -q '^featmodel: .*$f: ' err
	"
done

# dw.py CONTRIB OUT PAD DILATION STRIDE: one depthwise 3x3 convolution of a 2x1x1
# input, its workspace set by the padding, the dilation and the stride
cat >"$TRASH/dw.py" <<\PY
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from featmodel import ModelWriter
pad, dil, stride = map(int, sys.argv[3:6])
m = ModelWriter()
for k, v in (("name", "dw"), ("graph.inputs", ["data"]), ("graph.outputs", ["out"]),
             ("input.shape", [2, 1, 1])):
    m.meta(k, v)
w = m.tensor("w", np.ones((2, 1, 3, 3), np.float32))
m.layer("conv", "dw1", ["data"], ["out"],
        {"kernel": 3, "pad": pad, "dilation": dil, "stride": stride, "group": 2}, [w])
m.write(sys.argv[2])
PY

test_expect_success 'a layer asking for 512 GiB of workspace: exit 3, the layer and the size' '
	"$PYTHON" "$TRASH/dw.py" "$FEAT_TOP/contrib" big.fm 65536 1 65536 &&
	test_expect_code 3 featmodel info big.fm >out 2>err &&
	test_stderr_one_line err &&
	grep -q "^featmodel: big.fm: layer .dw1.: needs 512.0 GiB of workspace (137438953605 floats), over the limit of 17179869184 (64 GiB)\$" err &&
	test_expect_code 3 deepbit-extract -m big.fm </dev/null >out 2>err &&
	grep -q "layer .dw1.: needs 512.0 GiB" err
'

test_expect_success 'an input.shape over 64 GiB an image: exit 3, said so' '
	"$PYTHON" "$FEAT_TOP/t/lib/mkmodel.py" in.fm input.shape=65536,65536,65536 &&
	test_expect_code 3 featmodel info in.fm >out 2>err &&
	test_stderr_one_line err &&
	grep -q "^featmodel: in.fm: metadata .input.shape. asks for an input of over 17179869184 floats (64 GiB) an image\$" err
'

if test_have_prereq SANITIZE; then
	test_skip 'workspace under the limit but not in memory' 'ulimit -v: the sanitizers need the address space'
else
	test_expect_success 'workspace under the limit but not in memory: exit 4, the layer and the size' '
		"$PYTHON" "$TRASH/dw.py" "$FEAT_TOP/contrib" mid.fm 30000 20000 1 &&
		(ulimit -v 2000000 && test_expect_code 4 featmodel info mid.fm >out 2>err) &&
		test_stderr_one_line err &&
		grep -q "^featmodel: mid.fm: layer .dw1.: out of memory for 13.4 GiB of workspace\$" err
	'
fi

test_expect_success 'an input of the wrong size: exit 2' '
	head -c 100 $N/convs.in.f32 >short.f32 &&
	test_expect_code 2 featmodel run $N/convs.fm short.f32 o 2>err &&
	grep -q "not a whole number of inputs" err
'

test_expect_success 'missing files: exit 4' '
	test_expect_code 4 featmodel check no-such.fm 2>err &&
	grep -q "cannot open" err &&
	test_expect_code 4 featmodel run $N/convs.fm no-such.f32 o 2>err
'

test_expect_success 'usage errors: exit 2, one line' '
	test_expect_code 2 featmodel 2>err && test_stderr_one_line err &&
	test_expect_code 2 featmodel frobnicate $N/convs.fm 2>err && test_stderr_one_line err &&
	test_expect_code 2 featmodel run $N/convs.fm 2>err && test_stderr_one_line err
'

test_expect_success 'an unknown FEAT_KERNEL is refused' '
	FEAT_KERNEL=cuda test_expect_code 2 featmodel check $N/convs.fm 2>err &&
	test_stderr_one_line err &&
	grep -qi "FEAT_KERNEL" err
'

test_done
