#!/bin/sh
# make bench: every benchmark in t/perf, one after another.  Speed lives
# here, never in the tests.  Each figure is printed next to a named peer
# measured in the same run.
#
# BENCH_QUICK=1 shortens every benchmark (for a smoke run).
set -u
: "${FEAT_TOP:?run through make bench}"
status=0
for b in "$FEAT_TOP"/t/perf/bench-*.sh; do
	echo "== $(basename "$b" .sh)"
	sh "$b" || status=1
	echo
done
if [ -n "${FEAT_PERF:-}" ]; then
	for p in "$FEAT_PERF"/bench_*; do
		[ -x "$p" ] || continue
		echo "== $(basename "$p")"
		"$p" || status=1
		echo
	done
fi
exit $status
