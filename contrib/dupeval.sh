#!/bin/sh
# dupeval.sh - near-duplicate detection quality: featkit's pipeline (the
# default models) + featdedup, next to findimagedupes (Debian), on the
# near-duplicate set of contrib/dupset.py.  Precision and recall over
# pairs: a pair found is right when both photos are of one group.
#
#   sh contrib/dupeval.sh [DIR]        (default build/dupset; made if missing)
#
# featdedup runs at its default radius and at a few others; findimagedupes
# at its default threshold (90%) and at 80%.  Needs the programs built
# (make), findimagedupes, python3-pil.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
d=${1:-$top/build/dupset}
case $d in /*) ;; *) d=$PWD/$d ;; esac
PATH=$top/build/bin:$PATH
export FEAT_MODELS=${FEAT_MODELS:-$top/models}
[ -f "$d/truth.tsv" ] || /usr/bin/python3 "$top/contrib/dupset.py" "$d" >&2
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$d"
ls ./*.jpg | sed 's|^\./||' >"$w/list"
imgdecode -q <"$w/list" | imgprep -q --for ssd | ssd-detect -q | cropbox -q \
	| imgprep -q --for deepbit | deepbit-extract -q \
	| featwrite -q -f tsv --no-status -e 100% >"$w/codes.tsv"

score() {  # NAME PAIRS: pairs "a b" per line
	/usr/bin/python3 - "$d/truth.tsv" "$2" "$1" <<-\EOF
	import itertools, sys
	g = dict(l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l)
	truth = {tuple(sorted(p)) for grp in
	         [[f for f in g if g[f] == v] for v in set(g.values())]
	         for p in itertools.combinations(grp, 2)}
	got = {tuple(sorted(l.split()[:2])) for l in open(sys.argv[2]) if l.strip()}
	tp = len(got & truth)
	p = tp / len(got) if got else float("nan")
	r = tp / len(truth)
	print("  %-44s %6d %9.3f %7.3f" % (sys.argv[3], len(got), p, r))
	EOF
}

n=$(wc -l <"$w/list")
groups=$(cut -f2 "$d/truth.tsv" | sort | uniq -d | wc -l)
echo "near-duplicates: $n photos, $groups groups of 4 (contrib/dupset.py)"
printf '  %-44s %6s %9s %7s\n' method pairs precision recall
def=$(featdedup --help | sed -n 's/.*radius R.*(default \([0-9]*\)).*/\1/p')
for r in $def 4 6 8 10 12; do
	featdedup -r "$r" -p "$w/codes.tsv" | cut -f1,2 | tr '\t' ' ' >"$w/f$r"
	label="featkit pipeline + featdedup -r $r"
	[ "$r" != "$def" ] || label="$label (default)"
	score "$label" "$w/f$r"
done
if command -v findimagedupes >/dev/null 2>&1; then
	for t in 90 80; do
		findimagedupes -q -t "$t%" $(cat "$w/list") 2>/dev/null |
			/usr/bin/python3 -c "
import itertools, os, sys
for l in sys.stdin:
    for a, b in itertools.combinations([os.path.basename(f) for f in l.split()], 2):
        print(a, b)" >"$w/i$t"
		label="findimagedupes -t $t%"
		[ "$t" != 90 ] || label="$label (default)"
		score "$label" "$w/i$t"
	done
else
	echo "  findimagedupes: not installed (apt-get install findimagedupes)"
fi
