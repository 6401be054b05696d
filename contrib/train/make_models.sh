#!/bin/sh
# make_models.sh - regenerate featkit's default models (make models):
# train the detector (contrib/train/train_ssd.py, on core 0: a first run
# from scratch at 160x160, then a second on new scenes starting from the
# first's weights; then, unpinned, a third at 192x192 on new scenes
# starting from the second's, a fourth on the third's scenes and as
# many new ones starting from the third's, a fifth on new scenes
# whose backgrounds also draw on the photographs of photos.txt, two
# threads, starting from the fourth's, and a sixth on new scenes whose
# backgrounds also draw on the wallpapers of wallpapers.txt, starting
# from the fifth's), and on core 1 the similar-product descriptors
# (train_deepbit.py) and then the near-duplicate descriptor
# (train_dedup.py); import them through featmodel import with their
# metadata into models/, keep the PyTorch weights for the evaluation in
# contrib/train/weights/, and write the fixtures of t/t4300 (an input and
# PyTorch's outputs for each model).
#
#   sh contrib/train/make_models.sh [SSD_MINUTES [DEEPBIT_MINUTES [DEDUP_MINUTES]]]
#
# Defaults 22+24+48 (SSD3_MINUTES)+55 (SSD4_MINUTES)+45 (SSD5_MINUTES)
# +28 (SSD6_MINUTES), 60 and 24 minutes: about 4.5 hours on a 2-core
# machine, the detector's chain being the longer (each detector run
# first renders its 6000-9000 scenes, 5-22 minutes); the descriptors'
# hour of pretraining runs beside the detector's first two stages,
# which keep to core 0.  Needs the C
# programs built (make), Debian's python3-torch, python3-onnx,
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
ssdm=${1:-22}
(taskset -c 0 $py "$top/contrib/train/train_ssd.py" "$w/ssd1" --minutes "$ssdm" --n 8000 --seed 11 &&
 taskset -c 0 $py "$top/contrib/train/train_ssd.py" "$w/ssd2" --minutes "$(( ssdm + 2 ))" --n 7000 --seed 21 \
	--init "$w/ssd1/ssd.pt" &&
 $py "$top/contrib/train/train_ssd.py" "$w/ssd3" --minutes "${SSD3_MINUTES:-48}" --n 9000 --seed 31 --size 192 \
	--procs 2 --init "$w/ssd2/ssd.pt" --cache "$w/ssd3.npz" &&
 $py "$top/contrib/train/train_ssd.py" "$w/ssd4" --minutes "${SSD4_MINUTES:-55}" --n 9000 --seed 41 --size 192 \
	--procs 2 --init "$w/ssd3/ssd.pt" --more "$w/ssd3.npz" &&
 $py "$top/contrib/train/train_ssd.py" "$w/ssd5" --minutes "${SSD5_MINUTES:-45}" --n 6000 --seed 61 --size 192 \
	--procs 2 --threads 2 --init "$w/ssd4/ssd.pt" --photos "$top/contrib/train/photos.txt" &&
 $py "$top/contrib/train/train_ssd.py" "$w" --minutes "${SSD6_MINUTES:-28}" --n 6000 --seed 81 --size 192 \
	--procs 2 --threads 2 --init "$w/ssd5/ssd.pt" --photos "$top/contrib/train/photos.txt" \
	--photos "$top/contrib/train/wallpapers.txt" &&
 rm -rf "$w/ssd1" "$w/ssd2" "$w/ssd3" "$w/ssd4" "$w/ssd5" "$w/ssd3.npz") >"$w/ssd.log" 2>&1 &
ssd=$!
(taskset -c 1 $py "$top/contrib/train/train_deepbit.py" "$w" --minutes "${2:-60}" --bits 64,32 &&
 taskset -c 1 $py "$top/contrib/train/train_dedup.py" "$w" --minutes "${3:-24}" --bits 128) >"$w/deepbit.log" 2>&1 &
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
featmodel import -q -o "$top/models/dedup.fm" --set name=featkit-dedup128-fmnist \
	--set description="featkit's near-duplicate descriptor: 128 bits of a 48x48 colour photo or crop, instance-level (contrib/train/train_dedup.py)" \
	--set input.order=rgb --set input.mean=127.5,127.5,127.5 --set input.scale=0.0078125,0.0078125,0.0078125 \
	--set input.fit=stretch --set code.bits=128 --set code.mirror=1 "$w/dedup128.onnx"
$py "$top/contrib/train/fixtures.py" "$w" "$top/t/data/models"
rm -f "$w"/*.onnx "$w"/ssd.meta "$labels"
echo "make models: done in $(( $(date +%s) - t0 )) s: $(ls "$top"/models/*.fm | tr '\n' ' ')"
