#!/bin/sh
# Near-duplicate search over codes at scale: BENCH_DEDUP_N random 64-bit
# codes (default 10 million; 200 000 with BENCH_QUICK), 1% of them planted
# near-duplicates (a copy of another code with 1 to 6 bits flipped), made
# by t/perf/dedup_peer.py.  On one core:
#   - featindex build, and featdedup's self-join at r = 2, 4 and 6
#     (featdedup -p -j 1: loading, indexing and the join);
#   - 1-NN latency of featsearch -k 1 over 1000 queries (500 codes of the
#     set with 0-4 bits flipped, 500 random codes);
# next to FAISS 1.7.3 (Debian's python3-faiss, one OpenMP thread) on the
# same codes in the same run: IndexBinaryMultiHash range_search for the
# self-join (the best of 2, 3 and 4 tables at each radius, nflip exact)
# and IndexBinaryFlat / IndexBinaryMultiHash for 1-NN.  The pairs of both
# are compared: they must be identical.  Where FAISS would take more than
# BENCH_DEDUP_BUDGET seconds (default 60) over all queries, it runs a
# random sample of queries and its time is scaled to all of them; the
# pairs are then compared over the sample.  Target: the self-join at
# least 2x faster than FAISS MultiHash.
set -u
. "$FEAT_TOP/t/perf/lib.sh"
N=${BENCH_DEDUP_N:-10000000}
[ -z "${BENCH_QUICK:-}" ] || N=200000
BUDGET=${BENCH_DEDUP_BUDGET:-60}
W=$FEAT_TOP/build/bench/dedup
PY=/usr/bin/python3
mkdir -p "$W" || exit 1
$PY -c 'import numpy' 2>/dev/null || { echo "bench-dedup: python3-numpy missing; skipped"; exit 0; }

c=$W/c$N
if [ ! -f "$c.fcd" ] || [ ! -f "$c.q.tsv" ]; then
	$PY "$FEAT_TOP/t/perf/dedup_peer.py" gen "$N" $((N / 100)) 7 "$c" || exit 1
fi

# featkit
t=$(best_of 1 "featindex build -q -o $W/idx $c.fcd") || exit 1
printf '%-44s %8.2f s\n' "featindex build ($N codes)" "$t"
for r in 2 4 6; do
	t=$(best_of 1 "featdedup -q -j 1 -p -r $r $c.fcd >$W/fk.r$r.raw") || exit 1
	# keys are c<id>: pairs as "a b d", a < b, sorted
	awk -F'\t' '{ a = substr($1, 2) + 0; b = substr($2, 2) + 0;
		if (a > b) { x = a; a = b; b = x } print a, b, $3 }' "$W/fk.r$r.raw" |
		sort -k1,1n -k2,2n >"$W/fk.r$r.pairs"
	echo "$t" >"$W/fk.r$r.time"
done
head -n 1 "$c.q.tsv" >"$W/q1.tsv"
t1=$(best_of 3 "featsearch -q -k 1 $W/idx $W/q1.tsv >/dev/null") || exit 1
tq=$(best_of 3 "featsearch -q -k 1 $W/idx $c.q.tsv >$W/fk.knn") || exit 1
nq=$(wc -l <"$c.q.tsv")
fk_knn=$(echo "$tq $t1 $nq" | awk '{ printf "%.3f", ($1 - $2) / ($3 - 1) * 1e3 }')

# FAISS
if ! $PY -c 'import faiss' 2>/dev/null; then
	echo "FAISS: skipped: python3-faiss is not installed (apt-get install python3-faiss)"
	for r in 2 4 6; do
		printf 'self-join r=%d: featkit %.2f s, %s pairs\n' "$r" "$(cat "$W/fk.r$r.time")" \
			"$(wc -l <"$W/fk.r$r.pairs")"
	done
	echo "1-NN: featkit $fk_knn ms a query"
	exit 0
fi
OMP_NUM_THREADS=1 $PY "$FEAT_TOP/t/perf/dedup_peer.py" faiss "$c.u8" 2,4,6 1 "$W/fs" "$BUDGET" \
	>"$W/faiss.log" || { echo "bench-dedup: FAISS run failed (see $W/faiss.log)"; exit 1; }

status=0
printf '%-12s %10s %12s %7s %9s %s\n' "self-join" "featkit s" "FAISS MH s" "ratio" "pairs" "same pairs"
for r in 2 4 6; do
	line=$(grep "^mh_join r $r " "$W/faiss.log")
	fs=$(echo "$line" | awk '{ print $13 }')
	nh=$(echo "$line" | awk '{ print $5 }')
	fq=$(echo "$line" | awk '{ print $9 }')
	fk=$(cat "$W/fk.r$r.time")
	if [ "$fq" = "$N" ]; then
		how="all $N queries"
		cmp -s "$W/fk.r$r.pairs" "$W/fs.r$r.pairs" && same=yes || same=NO
	else
		how="FAISS on $fq sampled queries, time x $N/$fq"
		awk 'NR == FNR { s[$1] = 1; next } ($1 in s) || ($2 in s)' \
			"$W/fs.r$r.sample" "$W/fk.r$r.pairs" >"$W/fk.r$r.sampled"
		cmp -s "$W/fk.r$r.sampled" "$W/fs.r$r.pairs" && same=yes || same=NO
	fi
	[ "$same" = yes ] || status=1
	printf 'r=%-10d %10.2f %12.2f %6.1fx %9d %s (nhash %s; %s)\n' "$r" "$fk" "$fs" \
		"$(ratio "$fs" "$fk")" "$(wc -l <"$W/fk.r$r.pairs")" "$same" "$nh" "$how"
done
fb=$(awk '$1 == "mh_build" { print $4 }' "$W/faiss.log" | sort -n | head -n 1)
fl=$(awk '$1 == "knn_flat_ms" { print $2 }' "$W/faiss.log")
printf 'index build: FAISS MultiHash %.2f s (fastest of nhash 2-4)\n' "$fb"
printf '1-NN latency (ms a query): featkit %s, FAISS Flat %.3f (%.0fx)\n' "$fk_knn" "$fl" \
	"$(ratio "$fl" "$fk_knn")"
grep '^knn_mh' "$W/faiss.log" | awk '{ printf "  FAISS MultiHash nhash %s nflip %s: %.3f ms, exact for %.0f%% of queries\n", $3, $5, $7, $9 * 100 }'
# featsearch's distances against FAISS Flat's exact ones
cut -f3 "$W/fk.knn" | paste -d' ' - "$W/fs.knn" | awk '$1 != $2 { bad++ } END {
	if (bad) { print "1-NN: " bad " queries differ from FAISS Flat"; exit 1 }
	print "1-NN: every distance equal to FAISS Flat (exact)" }' || status=1
echo "featkit: featdedup/featsearch on one thread; FAISS one OpenMP thread"
exit $status
