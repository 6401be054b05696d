# lib.sh - helpers for the t/perf benchmarks.

# now: seconds since the epoch, with nanoseconds
now() { date +%s.%N; }

# best_of N CMD...: run CMD N times (in sh -c), print the best wall time in s
best_of() {
	_n=$1
	shift
	_best=
	_i=0
	while [ $_i -lt "$_n" ]; do
		_t0=$(now)
		sh -c "$*" || return 1
		_t1=$(now)
		_best=$(echo "$_t0 $_t1 ${_best:-1e99}" | awk '{ d = $2 - $1; print (d < $3 ? d : $3) }')
		_i=$((_i + 1))
	done
	echo "$_best"
}

# ratio A B: A / B with 2 decimals
ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }
# rate COUNT SECONDS: COUNT / SECONDS with 1 decimal
rate() { echo "$1 $2" | awk '{ printf "%.1f", $1 / $2 }'; }
