#!/bin/sh
# fitcodes_fmnist.sh BINDIR WORKDIR [BITS] - Hamming-ranking mAP on
# Fashion-MNIST of codes that featmodel fitcodes fits to the shipped
# descriptor's /Relu features (256 values), against a numpy PCA + ITQ fitted
# on the same features (contrib/itqref.py) and the shipped 64-bit DeepBit
# codes.  Fit on train images 0-9999, query with t10k images 0-1999 (each
# against the other 1999; relevant = same class).
set -e
B=$(cd "$1" && pwd)
W=$2
K=${3:-64}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-/usr/bin/python3}
REF="$PY $TOP/contrib/itqref.py"
M=$TOP/models/deepbit.fm
mkdir -p "$W"
cd "$W"
$REF fmnist train.fs train.labels train 0 10000
$REF fmnist test.fs test.labels t10k 0 2000
"$B/imgprep" -m "$M" <train.fs >train.prep.fs
"$B/imgprep" -m "$M" <test.fs >test.prep.fs
"$B/featmodel" fitcodes -o fit.fm --bits "$K" --from /Relu --features train.f32 "$M" train.prep.fs
"$B/deepbit-extract" -m fit.fm <test.prep.fs >fit.codes.fs
"$B/featinfo" --raw code fit.codes.fs >fit.u8
printf 'fitcodes %d bits:     ' "$K"; $REF map fit.u8 test.labels "$K"
# the test set's features: a fit of 1 bit whose features are all we keep
"$B/featmodel" fitcodes -q -o test1.fm --bits 1 --iters 0 --from /Relu --features test.f32 \
	"$M" test.prep.fs
$REF fit train.f32 256 "$K" --out np.w
$REF codes np.w test.f32 256 "$K" >np.u8
printf 'numpy ITQ %d bits:    ' "$K"; $REF map np.u8 test.labels "$K"
"$B/deepbit-extract" -m "$M" <test.prep.fs >db.codes.fs
"$B/featinfo" --raw code db.codes.fs >db.u8
printf 'shipped DeepBit 64:  '; $REF map db.u8 test.labels 64
