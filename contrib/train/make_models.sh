#!/bin/sh
# make_models.sh - regenerate featkit's default models (make models):
# train the detector and the descriptors (contrib/train/train_ssd.py and
# train_deepbit.py, one core each, at the same time), import them through
# featmodel import with their metadata into models/, keep the PyTorch
# weights for the evaluation in contrib/train/weights/, and write the
# fixtures of t/t4300 (an input and PyTorch's outputs for each model).
#
#   sh contrib/train/make_models.sh [SSD_MINUTES [DEEPBIT_MINUTES]]
#
# Defaults 14 and 30 minutes: about 31 minutes on a 2-core machine.  Needs
# the C programs built (make) and Debian's python3-torch and python3-onnx.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
export FEAT_TOP=$top
PATH=$top/build/bin:$PATH
py=/usr/bin/python3
w=$top/contrib/train/weights
mkdir -p "$w" "$top/models" "$top/t/data/models"
t0=$(date +%s)
taskset -c 0 $py "$top/contrib/train/train_ssd.py" "$w" --minutes "${1:-14}" >"$w/ssd.log" 2>&1 &
ssd=$!
taskset -c 1 $py "$top/contrib/train/train_deepbit.py" "$w" --minutes "${2:-30}" --bits 64,32 >"$w/deepbit.log" 2>&1 &
db=$!
wait $ssd || { tail -n 20 "$w/ssd.log"; exit 1; }
wait $db || { tail -n 20 "$w/deepbit.log"; exit 1; }
labels=$w/labels.txt
printf '%s\n' background t-shirt trouser pullover dress coat sandal shirt sneaker bag ankle-boot >"$labels"
xargs -d '\n' featmodel import -q -o "$top/models/ssd.fm" --labels "$labels" \
	--set description="featkit's default detector: a small SSD trained on Fashion-MNIST product scenes (contrib/train)" \
	"$w/ssd.onnx" <"$w/ssd.meta"
for b in 64 32; do
	out=$top/models/deepbit$b.fm
	[ $b = 64 ] && out=$top/models/deepbit.fm
	featmodel import -q -o "$out" --set name=featkit-deepbit$b-fmnist \
		--set description="featkit's default descriptor: $b DeepBit bits of a 32x32 grey crop (contrib/train)" \
		--set input.order=gray --set input.mean=127.5 --set input.scale=0.0078125 \
		--set input.fit=stretch --set code.bits=$b "$w/deepbit$b.onnx"
done
$py "$top/contrib/train/fixtures.py" "$w" "$top/t/data/models"
rm -f "$w"/*.onnx "$w"/ssd.meta "$labels"
echo "make models: done in $(( $(date +%s) - t0 )) s: $(ls "$top"/models/*.fm | tr '\n' ' ')"
