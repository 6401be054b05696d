#!/bin/sh
# fuzzcodes.sh - the seed inputs of t/fuzz/fuzz_fcd.c (the code-file loader
# of featdedup, featsearch and featindex): code files as the programs
# write them, and broken ones.
#
#   sh contrib/fuzzcodes.sh BINDIR t/fuzz/corpus/fcd
#
# Streams are written by t/lib/mkstream.py (from featstream(5), not
# libfeat); the featcodes files by BINDIR/featwrite -f bin and the index
# by BINDIR/featindex build, as a user makes them.  Several files in one
# seed are joined by fuzz_fcd's separator (loaded in turn into one index).
set -e
bin=$1 out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
py=/usr/bin/python3

# a stream of code records from "key hex bits" lines (bits: the code's
# length; hex holds its bytes, MSB first); "key error" makes a failed one
cat >"$tmp/codes.py" <<\PY
import json, sys
recs = []
for line in sys.stdin.read().splitlines():
    f = line.split()
    if f[1] == "error":
        recs.append({"key": f[0], "status": "error", "message": "corrupt JPEG"})
        continue
    bits = int(f[2])
    v = bin(int(f[1], 16))[2:].zfill(len(f[1]) * 4)[:bits]
    recs.append({"key": f[0], "tensors": [{"name": "code", "dtype": "bit", "shape": [bits],
                                           "values": [int(c) for c in v]}]})
print(json.dumps(recs))
PY
stream() { $py "$tmp/codes.py"; }
mkstream() { $py "$top/t/lib/mkstream.py" "$@"; }
sep() { printf '\n\000fuzz:next-file\000\n'; }

# 64-bit codes: two equal, one a bit away, others apart
stream <<EOF >"$tmp/s64.json"
a.jpg 00000000000000ff 64
b.jpg 00000000000000ff 64
c.jpg 00000000000001ff 64
d.jpg ffffffff00000000 64
e.jpg 0123456789abcdef 64
EOF
mkstream "$tmp/s64.json" >"$tmp/s64.fs"
"$bin/featwrite" -q -f bin -o "$out/ok64.fcd" "$tmp/s64.fs"
# 13-bit codes (padding bits in the last byte), a failed record among them
stream <<EOF >"$tmp/s13.json"
x/1.png fff8 13
x/2.png 0008 13
x/3.png error
x/4.png 8000 13
EOF
mkstream "$tmp/s13.json" >"$tmp/s13.fs"
"$bin/featwrite" -q -e 1 -f bin -o "$out/ok13.fcd" "$tmp/s13.fs"
cp "$tmp/s13.fs" "$out/stream13.fs"
# every record failed: a featcodes file that cannot say its code width
stream <<EOF >"$tmp/fail.json"
bad1.jpg error
bad2.jpg error
EOF
mkstream "$tmp/fail.json" >"$tmp/fail.fs"
"$bin/featwrite" -q -e 100% -f bin -o "$out/all-failed.fcd" "$tmp/fail.fs"
: >"$out/empty.fcd"
# key widths: none kept, and a key longer than the default width
"$bin/featwrite" -q -f bin -k 0 -o "$out/keywidth0.fcd" "$tmp/s64.fs"
long=$(printf '%0300d' 7)
stream <<EOF >"$tmp/long.json"
$long.jpg 00000000000000ff 64
${long}x.jpg 00000000000000fe 64
EOF
mkstream "$tmp/long.json" >"$tmp/long.fs"
"$bin/featwrite" -q -f bin -k 400 -o "$out/longkeys.fcd" "$tmp/long.fs"
# the widest codes an index takes, and wider (a file the index refuses)
w=$(printf 'f%01023d' 0)
stream <<EOF >"$tmp/wide.json"
w1 $w 4096
w2 $(printf '0%01023d' 1) 4096
EOF
mkstream "$tmp/wide.json" >"$tmp/wide.fs"
"$bin/featwrite" -q -f bin -o "$out/bits4096.fcd" "$tmp/wide.fs"
stream <<EOF >"$tmp/wider.json"
v1 ${w}ff 4104
EOF
mkstream "$tmp/wider.json" >"$tmp/wider.fs"
"$bin/featwrite" -q -f bin -o "$out/bits4104.fcd" "$tmp/wider.fs"
# cut inside the last record, and inside the header
size=$(wc -c <"$out/ok64.fcd")
head -c $((size - 5)) "$out/ok64.fcd" >"$out/cut-record.fcd"
head -c 40 "$out/ok64.fcd" >"$out/cut-header.fcd"
# an index, and key TAB hex text as featwrite --no-status writes it
"$bin/featindex" build -q -o "$out/ok64.fix" "$out/ok64.fcd"
printf 'a\\tb.jpg\t00000000000000ff\r\nc.jpg\tok\t00000000000001ff\nd.jpg\terror\tbad\n\ne.jpg\tffffffff00000000\n' \
	>"$out/lines.tsv"
# two files into one index: same width, another width, all failed first,
# an index then codes, codes then a too wide file
{ cat "$out/ok64.fcd"; sep; cat "$out/lines.tsv"; } >"$out/two-64.multi"
{ cat "$out/ok64.fcd"; sep; cat "$out/ok13.fcd"; } >"$out/two-widths.multi"
{ cat "$out/all-failed.fcd"; sep; cat "$out/ok64.fcd"; } >"$out/failed-then-ok.multi"
{ cat "$out/ok64.fix"; sep; cat "$tmp/s64.fs"; } >"$out/index-then-stream.multi"
{ cat "$out/bits4096.fcd"; sep; cat "$out/bits4104.fcd"; } >"$out/wide-then-wider.multi"
