#!/bin/sh
# The whole pipeline on one core: images/s of each stage (run alone over
# the previous stage's output, kept in a file) and end to end (all seven
# programs pinned to the same core), with the default models and with the
# classic pair SSD300-VGG16 + DeepBit-VGG16 (contrib/refnets.py, random
# weights, the Caffe releases' settings); and the share of the time spent
# outside the two networks (1 - network time / end-to-end time, the
# network time from featmodel bench on the same core).  Target for the VGG
# pair: at most 5%.
#
# The photos are the bundled samples (contrib/samples, about 480x360),
# repeated to BENCH_PIPE_N paths (default 120; 24 with BENCH_QUICK).
set -eu
. "$FEAT_TOP/t/perf/lib.sh"
B=$FEAT_TOP/build/bench
CORE=${BENCH_CORE:-0}
N=${BENCH_PIPE_N:-120}
[ -z "${BENCH_QUICK:-}" ] || N=24
W=$B/pipeline
mkdir -p "$W"
i=0
: >"$W/list"
while [ "$i" -lt "$N" ]; do
	for f in "$FEAT_TOP"/contrib/samples/scene-*.jpg; do
		[ "$i" -lt "$N" ] || break
		echo "$f" >>"$W/list"
		i=$((i + 1))
	done
done
pin="taskset -c $CORE"

run_pair() {  # LABEL SSDMODEL DBMODEL
	label=$1 ssd=$2 db=$3
	for m in "$ssd" "$db"; do
		[ -f "$m" ] || { echo "bench-pipeline: $label: $m missing; skipped"; return 0; }
	done
	t_dec=$(best_of 1 "$pin imgdecode -q <$W/list >$W/s1")
	t_p1=$(best_of 1 "$pin imgprep -q -m $ssd <$W/s1 >$W/s2")
	t_ssd=$(best_of 1 "$pin ssd-detect -q -m $ssd <$W/s2 >$W/s3")
	t_crop=$(best_of 1 "$pin cropbox -q <$W/s3 >$W/s4")
	t_p2=$(best_of 1 "$pin imgprep -q -m $db <$W/s4 >$W/s5")
	t_db=$(best_of 1 "$pin deepbit-extract -q -m $db <$W/s5 >$W/s6")
	t_w=$(best_of 1 "$pin featwrite -q -f tsv -e 100% <$W/s6 >$W/out.tsv")
	t_all=$(best_of 1 "$pin sh -c 'imgdecode -q | imgprep -q -m $ssd | ssd-detect -q -m $ssd | cropbox -q | imgprep -q -m $db | deepbit-extract -q -m $db | featwrite -q -f tsv -e 100%' <$W/list >$W/all.tsv")
	cmp -s "$W/out.tsv" "$W/all.tsv" || echo "bench-pipeline: $label: the staged and the piped runs differ!"
	# the networks alone, batch 8 as the programs run them
	ms_ssd=$($pin featmodel bench -q -b 8 -n 3 "$ssd" | tail -n 1 | awk '{ print $3 / 8 }')
	ms_db=$($pin featmodel bench -q -b 8 -n 3 "$db" | tail -n 1 | awk '{ print $3 / 8 }')
	echo "$label ($N photos, one core)"
	printf '  %-34s %10s\n' stage images/s
	for s in "imgdecode:$t_dec" "imgprep (detector input):$t_p1" "ssd-detect:$t_ssd" \
		"cropbox:$t_crop" "imgprep (descriptor input):$t_p2" "deepbit-extract:$t_db" \
		"featwrite:$t_w"; do
		printf '  %-34s %10s\n' "${s%%:*}" "$(rate "$N" "${s##*:}")"
	done
	printf '  %-34s %10s\n' "end to end, all on one core" "$(rate "$N" "$t_all")"
	echo "$N $t_all $ms_ssd $ms_db" | awk '{
		net = $2 > 0 ? ($3 + $4) * $1 / 1000 : 0
		printf "  networks %.1f + %.1f ms per photo; outside the networks: %.1f%% of the end-to-end time\n",
			$3, $4, 100 * (1 - net / $2) }'
}

export FEAT_MODELS="$FEAT_TOP/models"
run_pair "default models (models/ssd.fm + models/deepbit.fm)" "$FEAT_MODELS/ssd.fm" "$FEAT_MODELS/deepbit.fm"
if [ -z "${BENCH_QUICK:-}" ]; then
	for n in ssd300_vgg16 deepbit_vgg16; do
		[ -s "$B/nets/$n.fm" ] && featmodel info "$B/nets/$n.fm" | grep -q "input.order" ||
			/usr/bin/python3 "$FEAT_TOP/contrib/refnets.py" "$B/nets" "$n" >/dev/null
	done
	run_pair "SSD300-VGG16 + DeepBit-VGG16" "$B/nets/ssd300_vgg16.fm" "$B/nets/deepbit_vgg16.fm"
fi
