#!/bin/sh
# The whole pipeline on one core: images/s of each stage (run alone over
# the previous stage's output, its CPU time from /usr/bin/time) and end to
# end (all seven programs pinned to the same core), with the default models and with the
# classic pair SSD300-VGG16 + DeepBit-VGG16 (contrib/refnets.py, random
# weights, the Caffe releases' settings); and the share of the time spent
# outside the two networks (1 - network time / the stages' CPU time, the
# network time from featmodel bench on the same core), with and without
# the cost of loading the models (which a long run amortises).  Target for the VGG
# pair: at most 5%.
#
# The photos are the bundled samples (contrib/samples, about 480x360),
# repeated to BENCH_PIPE_N paths (default 240; 24 with BENCH_QUICK).
set -eu
. "$FEAT_TOP/t/perf/lib.sh"
B=$FEAT_TOP/build/bench
CORE=${BENCH_CORE:-0}
N=${BENCH_PIPE_N:-240}
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
	# each stage alone over the previous one's output, its CPU time from
	# /usr/bin/time (user + system: reading and writing the stream
	# included, as through a pipe); then the whole pipeline's wall time
	T="$pin /usr/bin/time -f %U+%S -o $W/cpu"
	$T.1 imgdecode -q <"$W/list" >"$W/s1" &&
	$T.2 imgprep -q -m "$ssd" <"$W/s1" >"$W/s2" &&
	$T.3 ssd-detect -q -m "$ssd" <"$W/s2" >"$W/s3" &&
	$T.4 cropbox -q <"$W/s3" >"$W/s4" &&
	$T.5 imgprep -q -m "$db" <"$W/s4" >"$W/s5" &&
	$T.6 deepbit-extract -q -m "$db" <"$W/s5" >"$W/s6" &&
	$T.7 featwrite -q -f tsv -e 100% <"$W/s6" >"$W/out.tsv" || return 1
	t_all=$(best_of 1 "$pin sh -c 'imgdecode -q | imgprep -q -m $ssd | ssd-detect -q -m $ssd | cropbox -q | imgprep -q -m $db | deepbit-extract -q -m $db | featwrite -q -f tsv -e 100%' <$W/list >$W/all.tsv")
	cmp -s "$W/out.tsv" "$W/all.tsv" || echo "bench-pipeline: $label: the staged and the piped runs differ!"
	# the networks alone, batch 8 as the programs run them; and what
	# loading the two models costs (each program over an empty stream)
	ms_ssd=$($pin featmodel bench -q -b 8 -n 3 "$ssd" | tail -n 1 | awk '{ print $3 / 8 }')
	ms_db=$($pin featmodel bench -q -b 8 -n 3 "$db" | tail -n 1 | awk '{ print $3 / 8 }')
	# ssd-detect and deepbit-extract run their network a second time, on
	# the mirror image, when the model's metadata asks for it
	if featmodel info "$ssd" | grep -q "^  ssd.mirror	true$"; then
		ms_ssd=$(echo "$ms_ssd" | awk '{ print 2 * $1 }')
	fi
	if featmodel info "$db" | grep -Eq "^  code.mirror	(1|true)$"; then
		ms_db=$(echo "$ms_db" | awk '{ print 2 * $1 }')
	fi
	# (loading includes the first forward pass, where the weights are
	# packed and the buffers first touched: each program over one record,
	# less one photo's network time)
	featcat --head 1 "$W/s2" >"$W/one2" && featcat --head 1 "$W/s5" >"$W/one5"
	$pin /usr/bin/time -f %U+%S -o "$W/load.1" ssd-detect -q -m "$ssd" <"$W/one2" >/dev/null
	$pin /usr/bin/time -f %U+%S -o "$W/load.2" deepbit-extract -q -m "$db" <"$W/one5" >/dev/null
	load=$(cat "$W/load.1" "$W/load.2" | awk -v n="$ms_ssd $ms_db" '{ split($0, a, "+"); t += a[1] + a[2] }
		END { split(n, m, " "); t -= (m[1] + m[2]) / 1000; print (t > 0 ? t : 0) }')
	echo "$label ($N photos, one core)"
	printf '  %-34s %10s %9s\n' stage images/s "ms/photo"
	i=1
	cpu_all=0
	for s in imgdecode "imgprep (detector input)" ssd-detect cropbox "imgprep (descriptor input)" \
		deepbit-extract featwrite; do
		c=$(awk '{ split($0, a, "+"); print a[1] + a[2] }' "$W/cpu.$i")
		cpu_all=$(echo "$cpu_all $c" | awk '{ print $1 + $2 }')
		r=-
		[ "$c" = 0 ] || r=$(rate "$N" "$c")   # /usr/bin/time counts in 10 ms
		printf '  %-34s %10s %9s\n' "$s" "$r" "$(echo "$c $N" | awk '{ printf "%.2f", 1000 * $1 / $2 }')"
		i=$((i + 1))
	done
	printf '  %-34s %10s %9s\n' "end to end, all on one core" "$(rate "$N" "$t_all")" \
		"$(echo "$t_all $N" | awk '{ printf "%.2f", 1000 * $1 / $2 }')"
	echo "$N $cpu_all $ms_ssd $ms_db $load" | awk '{
		net = ($3 + $4) * $1 / 1000
		printf "  networks %.2f + %.2f ms per photo (featmodel bench -b 8; twice where the model mirrors); outside them: %.1f%% of the stages'"'"' CPU time (%.1f%% without loading the models, %.2f s)\n",
			$3, $4, 100 * (1 - net / $2), 100 * (1 - net / ($2 - $5)), $5 }'
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
