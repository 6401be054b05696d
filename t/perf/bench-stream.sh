#!/bin/sh
# The featstream through a pipe: MB/s of full-size image records (3 MB
# each) from one featcat to another (framing, CRC-32 on write and on read,
# alignment), next to cat | cat moving the same bytes in the same run.
set -eu
. "$FEAT_TOP/t/perf/lib.sh"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
/usr/bin/python3 "$FEAT_TOP/contrib/scenes.py" -n 20 --size 1224x816 --seed 5 -o "$W/img"
imgdecode "$W"/img/*.jpg >"$W/one.fs"
R=${BENCH_REPEAT:-10}
[ -n "${BENCH_QUICK:-}" ] && R=2
set --
i=0
while [ $i -lt "$R" ]; do set -- "$@" "$W/one.fs"; i=$((i + 1)); done
bytes=$(( $(wc -c <"$W/one.fs") * R ))
cat "$@" >/dev/null
t_feat=$(best_of 3 "featcat $* | featcat | featinfo -c >/dev/null")
t_cat=$(best_of 3 "cat $* | cat | cat >/dev/null")
mb=$(echo "$bytes" | awk '{ printf "%.1f", $1 / 1e6 }')
echo "stream: $mb MB of image records, 3 processes, 2 pipes"
printf '%-36s %10s\n' "" "MB/s"
printf '%-36s %10s\n' "featcat | featcat | featinfo -c" "$(rate "$mb" "$t_feat")"
printf '%-36s %10s\n' "cat | cat | cat (peer: raw pipe)" "$(rate "$mb" "$t_cat")"
echo "ratio featkit/raw pipe: $(ratio "$t_cat" "$t_feat")"
