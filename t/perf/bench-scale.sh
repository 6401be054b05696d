#!/bin/sh
# Scale-out: the whole pipeline (default models) over a list of photos by
# featrun with 1 and 2 processes on this machine, and over two hosts made
# with network namespaces (t/lib/netns.sh: sshd in each, one job slot
# each, the programs and models shipped with --ship), each pipeline pinned
# to its own core so that "N processes" means N cores.  Prints photos/s
# and the scaling against one process; target at least 0.9 x N.
#
# BENCH_SCALE_N photos (default 2400; 96 with BENCH_QUICK), the bundled
# samples repeated, in four shards in every configuration (over ssh a
# shard costs a connection, a copy of the shard and GNU parallel's remote
# wrapper, about a second here; locally a few pipeline start-ups).  The namespace hosts need root; without it that row
# is skipped with the reason.
set -u
. "$FEAT_TOP/t/perf/lib.sh"
B=$FEAT_TOP/build/bench
N=${BENCH_SCALE_N:-2400}
[ -z "${BENCH_QUICK:-}" ] || N=96
W=$B/scale
rm -rf "$W" && mkdir -p "$W" || exit 1
export FEAT_MODELS="$FEAT_TOP/models"
for m in ssd deepbit; do
	[ -f "$FEAT_MODELS/$m.fm" ] || { echo "bench-scale: $FEAT_MODELS/$m.fm missing; skipped"; exit 0; }
done
command -v parallel >/dev/null 2>&1 || { echo "bench-scale: GNU parallel missing; skipped"; exit 0; }
i=0
while [ "$i" -lt "$N" ]; do
	for f in "$FEAT_TOP"/contrib/samples/scene-*.jpg; do
		[ "$i" -lt "$N" ] || break
		# distinct paths (featrun holds its output to the list: each key once)
		ln -s "$f" "$W/p$i.jpg"
		echo "$W/p$i.jpg"
		i=$((i + 1))
	done
done >"$W/list"

# {%} is GNU parallel's job slot (1, 2, ...): slot k runs on core k-1; a
# namespace host's jobs run on the core its sshd names (FEAT_HOST_CORE).
P='taskset -c ${FEAT_HOST_CORE:-$(( ({%} - 1) % '"$(nproc)"' ))} sh -c "imgdecode -q | imgprep -q --for ssd | ssd-detect -q | cropbox -q | imgprep -q --for deepbit | deepbit-extract -q | featwrite -q -f tsv -e 100%"'

run() {  # LIST LINES FEATRUN-OPTIONS...: prints the wall time
	list=$1 lines=$2
	shift 2
	rm -rf "$W/out.tsv" "$W/out.tsv.featrun"
	t=$(best_of 1 "featrun -q $* -l $lines -p '$P' -o $W/out.tsv $list") || { echo "bench-scale: featrun $* failed" >&2; return 1; }
	[ "$(wc -l <"$W/out.tsv")" = "$(wc -l <"$list")" ] || { echo "bench-scale: featrun $*: lines missing" >&2; return 1; }
	echo "$t"
}

# Each configuration runs twice, over 8 photos and over N, both in four
# shards: the difference is the time of N - 8 photos without what a run
# costs whatever its size (starting pipelines, and over ssh connections,
# copies of the shards, shipping the programs and models).
head -n 8 "$W/list" >"$W/small"
L=$(( (N + 3) / 4 ))
measure() {  # LABEL FEATRUN-OPTIONS...: prints LABEL TOTAL STEADY (seconds)
	label=$1
	shift
	ts=$(run "$W/small" 2 "$@") && tb=$(run "$W/list" "$L" "$@") || return 1
	echo "$tb $ts" | awk -v l="$label" '{ print l "|" $1 "|" $1 - $2 }'
}
report() {  # MEASURED BASE-MEASURED
	echo "$1|$2" | awk -F'|' -v n="$N" '{
		printf "%-36s %9.1f %9.1f %9.2f\n", $1, n / $2, (n - 8) / $3, $6 / $3 }'
}
m1=$(measure "1 process, this machine" -j 1) || exit 1
m2=$(measure "2 processes, this machine" -j 2) || exit 1
printf '%-36s %9s %9s %9s\n' "featrun, $N photos" photos/s steady scaling
report "$m1" "$m1"
report "$m2" "$m1"

. "$FEAT_TOP/t/lib/netns.sh"
why=$(netns_why)
if [ -n "$why" ]; then
	echo "2 namespace hosts: skipped: $why"
else
	trap netns_down EXIT INT TERM
	if netns_up "$W/hosts"; then
		mh=$(measure "2 hosts (network namespaces, ssh)" -S "$W/hosts/hosts" \
			--ssh "'$(cat "$W/hosts/sshcmd")'" --ship) || exit 1
		report "$mh" "$m1"
	else
		echo "2 namespace hosts: could not be set up"
	fi
	netns_down
fi
echo "photos/s: N over the whole run; steady: without the fixed costs of a run"
echo "scaling: steady photos/s against 1 process; target >= 0.9 x N"
