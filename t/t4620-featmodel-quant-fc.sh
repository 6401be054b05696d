#!/bin/sh
# A quantised inner product over many rows (a batch, a transformer's
# tokens) runs as one int8 or bf16 GEMM, its weights read once per block
# of 32 rows, instead of one GEMV per row: both routes give the same
# outputs (within the order of fp32 additions), on the plain C twin and on
# two threads too, and stay within int8's and bf16's tolerance of fp32.
# The network (t/lib/mkfcnet.py): a 32x32 photo, fc 512 over 3072 inputs
# (quantised) + ReLU, fc 64 + sigmoid; 40 rows: a panel of 32 and an edge
# of 8, the GEMV route one row at a time.

. "$FEAT_TOP/t/test-lib.sh"

test_expect_success 'setup: the network, int8 (calibrated on the sample photos) and bf16' '
	"$PYTHON" "$FEAT_TOP/t/lib/mkfcnet.py" fc.fm &&
	imgdecode -q "$FEAT_TOP"/contrib/samples/scene-*.jpg | imgprep -q -m fc.fm >cal.fs &&
	featmodel quantize -q --calib cal.fs -o fc8.fm fc.fm &&
	featmodel quantize -q --bf16 -o fc16.fm fc.fm &&
	featmodel info fc8.fm | grep "^0  *fc+relu  *fc1 .*  int8" &&
	featmodel info fc16.fm | grep "^0  *fc+relu  *fc1 .*  bf16" &&
	"$PYTHON" -c "import random, struct, sys
random.seed(20)
sys.stdout.buffer.write(struct.pack(\"<%df\" % (40 * 3072), *[random.uniform(-1.9, 1.9) for _ in range(40 * 3072)]))" >in.f32 &&
	"$PYTHON" -c "import sys
b = open(\"in.f32\", \"rb\").read()
for i in range(40):
    open(\"in%d.f32\" % i, \"wb\").write(b[i * 12288:(i + 1) * 12288])"
'

# rows one at a time (the GEMV route) into OUT.out.f32, 40 rows
rowwise () {
	i=0 &&
	: >"$2.out.f32" &&
	while test $i -lt 40; do
		featmodel run -b 1 "$1" in$i.f32 r &&
		cat r.out.f32 >>"$2.out.f32" &&
		i=$((i + 1)) || return 1
	done
}

# max |a - b| over the 40 x 64 outputs of two runs, at most $3
close () {
	"$PYTHON" -c "import struct, sys
def f(p):
    b = open(p, \"rb\").read()
    return struct.unpack(\"<%df\" % (len(b) // 4), b)
a, b = f(sys.argv[1] + \".out.f32\"), f(sys.argv[2] + \".out.f32\")
assert len(a) == len(b) == 40 * 64, (len(a), len(b))
d = max(abs(x - y) for x, y in zip(a, b))
print(sys.argv[1], sys.argv[2], d)
sys.exit(not d <= float(sys.argv[3]))" "$1" "$2" "$3"
}

test_expect_success 'fp32: 40 rows at once as one at a time' '
	featmodel run -b 40 fc.fm in.f32 f32 &&
	rowwise fc.fm f32r &&
	close f32 f32r 1e-6
'

for q in 8 16; do
	if [ $q = 8 ]; then kind=int8 pre=INT8; else kind=bf16 pre=BF16; fi
	test_expect_success "fc$q: 40 rows at once (GEMM) as one at a time (GEMV), within fp32 roundings" '
		featmodel run -b 40 fc$q.fm in.f32 q$q &&
		rowwise fc$q.fm q${q}r &&
		close q$q q${q}r 1e-5
	'
	# (where this path runs the layer fp32, OpenBLAS or a CPU without
	# VNNI or BF16, the twin does not: the prerequisites INT8 and BF16
	# say where it must run $kind, from the CPU)
	test_expect_success "fc$q: the plain C twin and two threads give the same" '
		featmodel info fc$q.fm >info$q &&
		if test_have_prereq $pre; then
			grep "they run $kind on this path" info$q &&
			FEAT_KERNEL=ref featmodel run -b 40 fc$q.fm in.f32 q${q}ref &&
			close q$q q${q}ref 1e-5
		else
			grep "they run fp32 here" info$q
		fi &&
		FEAT_THREAD_MIN=0 featmodel run -t 2 -b 40 fc$q.fm in.f32 q${q}t2 &&
		close q$q q${q}t2 1e-6
	'
done

# Measured: int8 0.0037, bf16 0.0013 from fp32 (the sigmoid's outputs,
# 0.06-0.94; the inputs in the range of the prepared photos calibrated on).
test_expect_success 'int8 and bf16 within their tolerance of fp32' '
	close f32 q8 0.01 &&
	close f32 q16 0.004
'

test_done
