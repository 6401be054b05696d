#!/bin/sh
# Scale-out: the whole pipeline (default models) over a list of photos by
# featrun with 1 and 2 processes on this machine, and over two hosts made
# with network namespaces (t/lib/netns.sh: sshd in each, one job slot
# each, the programs and models shipped with --ship), each pipeline pinned
# to its own core so that "N processes" means N cores.  Prints photos/s
# and the scaling against one process; target at least 0.9 x N.
#
# BENCH_SCALE_N photos (default 240; 48 with BENCH_QUICK), the bundled
# samples repeated.  The namespace hosts need root; without it that row
# is skipped with the reason.
set -u
. "$FEAT_TOP/t/perf/lib.sh"
B=$FEAT_TOP/build/bench
N=${BENCH_SCALE_N:-240}
[ -z "${BENCH_QUICK:-}" ] || N=48
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

# {%} is GNU parallel's job slot (1, 2, ...): slot k runs on core k-1.
P='taskset -c $(( ({%} - 1) % '"$(nproc)"' )) sh -c "imgdecode -q | imgprep -q --for ssd | ssd-detect -q | cropbox -q | imgprep -q --for deepbit | deepbit-extract -q | featwrite -q -f tsv -e 100%"'

run() {  # LABEL FEATRUN-OPTIONS...
	label=$1
	shift
	rm -rf "$W/out.tsv" "$W/out.tsv.featrun"
	t=$(best_of 1 "featrun -q $* -l 10 -p '$P' -o $W/out.tsv $W/list") || { echo "bench-scale: $label failed"; return 1; }
	n=$(wc -l <"$W/out.tsv")
	[ "$n" = "$N" ] || { echo "bench-scale: $label: $n lines for $N photos"; return 1; }
	echo "$label $t"
}

r1=$(run "1 process" -j 1) || exit 1
r2=$(run "2 processes" -j 2) || exit 1
t1=${r1##* } t2=${r2##* }
printf '%-36s %10s %9s\n' "featrun, $N photos" photos/s scaling
printf '%-36s %10s %9s\n' "1 process, this machine" "$(rate "$N" "$t1")" 1.00
printf '%-36s %10s %9s\n' "2 processes, this machine" "$(rate "$N" "$t2")" "$(ratio "$t1" "$t2")"

. "$FEAT_TOP/t/lib/netns.sh"
why=$(netns_why)
if [ -n "$why" ]; then
	echo "2 namespace hosts: skipped: $why"
else
	trap netns_down EXIT INT TERM
	if netns_up "$W/hosts"; then
		rh=$(run "2 hosts" -S "$W/hosts/hosts" --ssh "'$(cat "$W/hosts/sshcmd")'" --ship) || exit 1
		th=${rh##* }
		printf '%-36s %10s %9s\n' "2 hosts (network namespaces, ssh)" "$(rate "$N" "$th")" "$(ratio "$t1" "$th")"
	else
		echo "2 namespace hosts: could not be set up"
	fi
	netns_down
fi
echo "scaling = time of 1 process / time of N; target >= 0.9 x N"
