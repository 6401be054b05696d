#!/bin/sh
# featdedup: every pair within r, against a brute force in Python, on
# random and clustered codes of 32, 64, 128 and 256 bits, read as key TAB
# hex lines and as featcodes files written from featcodes(5) by Python's
# struct module; groups by connected components and by leaders.  Sets
# where many records share a code: still exact, and 100 000 copies of one
# code in bounded memory and time.

. "$FEAT_TOP/t/test-lib.sh"

# gen.py BITS N MODE SEED: key TAB hex lines (MODE random or clustered)
cat >"$TRASH/gen.py" <<\PY
import random, sys
bits, n, mode, seed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
centres = [rnd.getrandbits(bits) for _ in range(max(1, n // 25))]
pool = [rnd.getrandbits(bits) for _ in range(12)]
for i in range(n):
    if mode == "dups":
        # a few codes, most records exact copies, some a bit or two off
        c = rnd.choice(pool)
        if rnd.random() < 0.3:
            for _ in range(rnd.randrange(1, 3)):
                c ^= 1 << rnd.randrange(bits)
    elif mode == "clustered" and i % 3:
        c = rnd.choice(centres)
        for _ in range(rnd.randrange(7)):
            c ^= 1 << rnd.randrange(bits)
    else:
        c = rnd.getrandbits(bits)
    print("p/%d\\t.jpg\t%0*x" % (i, bits // 4, c))
PY

# fcd.py IN.tsv OUT.fcd: a featcodes file per featcodes(5)
cat >"$TRASH/fcd.py" <<\PY
import struct, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
bits = len(rows[0][1]) * 4
stride = (bits + 63) // 64 * 8
kw = 16
rsize = (stride + 4 + kw + 7) // 8 * 8
out = bytearray(struct.pack("<8sHHIIIIIQ24x", b"\x89FCD\r\n\x1a\n", 1, 0, 64,
                            bits, stride, kw, rsize, len(rows)))
for key, hx in rows:
    k = key.replace("\\t", "\t").encode()
    rec = bytes.fromhex(hx).ljust(stride, b"\0") + struct.pack("<I", len(k)) + k[:kw]
    out += rec.ljust(rsize, b"\0")
open(sys.argv[2], "wb").write(out)
PY

# brute.py IN.tsv R: the pairs "keyA TAB keyB TAB d", sorted as featdedup
# writes them (input order)
cat >"$TRASH/brute.py" <<\PY
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
r = int(sys.argv[2])
codes = [int(h, 16) for _, h in rows]
for a in range(len(rows)):
    ca = codes[a]
    for b in range(a + 1, len(rows)):
        d = (ca ^ codes[b]).bit_count()
        if d <= r:
            print("%s\t%s\t%d" % (rows[a][0], rows[b][0], d))
PY

# groups.py PAIRS N MODE: groups from brute-force pairs, as featdedup(1)
# defines them
cat >"$TRASH/groups.py" <<\PY
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
keys = [l.rstrip("\n").split("\t")[0] for l in open(sys.argv[2])]
codes = [int(l.rstrip("\n").split("\t")[1], 16) for l in open(sys.argv[2])]
idx = {k: i for i, k in enumerate(keys)}
n = len(keys)
rep = list(range(n))
if sys.argv[3] == "components":
    adj = [[] for _ in range(n)]
    for a, b, _ in rows:
        adj[idx[a]].append(idx[b]); adj[idx[b]].append(idx[a])
    seen = [False] * n
    for i in range(n):
        if seen[i]: continue
        stack = [i]; seen[i] = True
        while stack:
            x = stack.pop(); rep[x] = i
            for y in adj[x]:
                if not seen[y]: seen[y] = True; stack.append(y)
else:
    nb = [[] for _ in range(n)]
    for a, b, _ in rows:
        nb[idx[a]].append(idx[b])
    taken = [False] * n
    for i in range(n):
        if taken[i]: continue
        taken[i] = True
        for b in nb[i]:
            if not taken[b]: taken[b] = True; rep[b] = i
g = 0
for r in range(n):
    members = [i for i in range(n) if rep[i] == r]
    if rep[r] != r or len(members) < 2: continue
    g += 1
    for i in members:
        print("%d\t%s\t%d" % (g, keys[i], (codes[i] ^ codes[r]).bit_count()))
PY
# rss.py OUT CMD...: run CMD with at most 1 GiB of address space and 60 s,
# its output to OUT; print its peak resident size in KiB; exit as it did.
# Under the sanitizers (whose shadow memory needs terabytes of address
# space) without the cap, and the size bounds below are not checked.
cat >"$TRASH/rss.py" <<\PY
import os, resource, subprocess, sys
lim = 1 << 30
def cap():
    if not os.environ.get("FEAT_SANITIZE"):
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
with open(sys.argv[1], "wb") as out:
    rc = subprocess.run(sys.argv[2:], stdout=out, preexec_fn=cap, timeout=60).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)
PY
py() { "$PYTHON" "$TRASH/$@"; }
# the peak resident sizes allowed, in KiB
MB64=65536 MB32=32768
if test_have_prereq SANITIZE; then MB64=999999999 MB32=999999999; fi

for bits in 32 64 128 256; do
	for mode in random clustered; do
		test_expect_success "pairs: $bits-bit $mode codes, r = 0 .. 8, exact" '
			py gen.py '$bits' 700 '$mode' '$bits' >c.tsv &&
			py fcd.py c.tsv c.fcd &&
			for r in 0 1 3 5 8; do
				py brute.py c.tsv $r >want.$r &&
				featdedup -p -r $r c.tsv >got.$r &&
				test_cmp want.$r got.$r &&
				featdedup -p -r $r -t 1 c.fcd >gotb.$r &&
				test_cmp want.$r gotb.$r || return 1
			done
		'
	done
done

test_expect_success 'forced substrings and the brute-force scan agree' '
	py gen.py 64 900 clustered 7 >c.tsv &&
	py brute.py c.tsv 6 >want &&
	featdedup -p -r 6 -m 2 c.tsv >got.m2 && test_cmp want got.m2 &&
	featdedup -p -r 6 -m 8 c.tsv >got.m8 && test_cmp want got.m8 &&
	featdedup -p -r 6 --scan c.tsv >got.scan && test_cmp want got.scan &&
	FEAT_POPCOUNT=ref featdedup -p -r 6 c.tsv >got.ref && test_cmp want got.ref
'

test_expect_success 'groups: connected components and leaders' '
	py gen.py 64 600 clustered 3 >c.tsv &&
	py brute.py c.tsv 4 >pairs &&
	py groups.py pairs c.tsv components >want &&
	featdedup -r 4 c.tsv >got && test_cmp want got &&
	py groups.py pairs c.tsv leader >want.l &&
	featdedup -r 4 -c leader c.tsv >got.l && test_cmp want.l got.l
'

test_expect_success 'many records sharing codes: pairs and groups exact' '
	py gen.py 64 400 dups 5 >c.tsv &&
	cut -f 2 c.tsv | sort | uniq -c | sort -rn | head -n 1 >top &&
	read most code <top && test "$most" -gt 20 &&
	for r in 0 3; do
		py brute.py c.tsv $r >want.$r &&
		featdedup -p -r $r c.tsv >got.$r && test_cmp want.$r got.$r &&
		featdedup -p -r $r --scan -j 1 c.tsv >gots.$r && test_cmp want.$r gots.$r &&
		featdedup -p -r $r -f jsonl c.tsv >gotj.$r &&
		test_line_count = $(wc -l <want.$r) gotj.$r &&
		for c in components leader; do
			py groups.py want.$r c.tsv $c >wantg.$r.$c &&
			featdedup -r $r -c $c c.tsv >gotg.$r.$c &&
			test_cmp wantg.$r.$c gotg.$r.$c || return 1
		done || return 1
	done
'

test_expect_success 'one record, and two records of one code (an index of one code)' '
	printf "a\t00000000000000ff\n" >one.tsv &&
	featdedup -a -r 2 one.tsv >got &&
	printf "1\ta\t0\n" >want && test_cmp want got &&
	printf "a\t00000000000000ff\nb\t00000000000000ff\n" >two.tsv &&
	featdedup -r 0 two.tsv >got &&
	printf "1\ta\t0\n1\tb\t0\n" >want && test_cmp want got &&
	featdedup -p -r 2 two.tsv >got &&
	printf "a\tb\t0\n" >want && test_cmp want got
'

test_expect_success '--max-pairs: all or nothing, exit 1 with the count' '
	py gen.py 64 300 dups 9 >c.tsv &&
	py brute.py c.tsv 3 >want &&
	n=$(wc -l <want) &&
	featdedup -p -r 3 --max-pairs $n -o got c.tsv && test_cmp want got &&
	test_expect_code 1 featdedup -p -r 3 --max-pairs $((n - 1)) -o none c.tsv 2>err &&
	test_stderr_one_line err &&
	grep -q "^featdedup: $n pairs within 3, over --max-pairs $((n - 1))" err &&
	test_must_fail test -e none &&
	test_expect_code 2 featdedup --max-pairs 5 c.tsv 2>err &&
	test_stderr_one_line err
'

test_expect_success '100000 copies of one code: O(n) memory, not the 5e9 pairs' '
	"$PYTHON" -c "
for i in range(100000): print(\"k%d\t0123456789abcdef\" % i)
for i in range(3): print(\"o%d\t%016x\" % (i, 0xfedcba9876543210 ^ (1 << i)))
" >eq.tsv &&
	py rss.py got featdedup -r 2 eq.tsv >rss &&
	test $(cat rss) -lt $MB64 &&
	"$PYTHON" -c "
print(\"1\tk0\t0\")
for i in range(1, 100000): print(\"1\tk%d\t0\" % i)
print(\"2\to0\t0\"); print(\"2\to1\t2\"); print(\"2\to2\t2\")
" >want &&
	test_cmp want got &&
	py rss.py gotl featdedup -r 2 -c leader eq.tsv >rss &&
	test $(cat rss) -lt $MB64 && test_cmp want gotl &&
	test_expect_code 1 featdedup -p -r 2 --max-pairs 1000000 eq.tsv 2>err &&
	grep -q "4999950003 pairs within 2, over --max-pairs 1000000 (the most records sharing one code: 100000)" err
'

test_expect_success 'the pairs of 3000 equal codes are written, not stored' '
	head -n 3000 eq.tsv >eq3k.tsv &&
	py rss.py /dev/null featdedup -p -j 1 -r 0 -o pairs eq3k.tsv >rss &&
	test $(cat rss) -lt $MB32 &&
	test_line_count = 4498500 pairs &&
	head -n 2 pairs >top &&
	printf "k0\tk1\t0\nk0\tk2\t0\n" >want && test_cmp want top &&
	tail -n 1 pairs >last &&
	printf "k2998\tk2999\t0\n" >want && test_cmp want last
'

test_expect_success 'several files of different kinds make one set' '
	py gen.py 64 400 clustered 11 >c.tsv &&
	head -n 150 c.tsv >a.tsv && tail -n +151 c.tsv >b.tsv &&
	py fcd.py b.tsv b.fcd &&
	featindex build -o a.fix a.tsv &&
	featdedup -r 3 a.fix b.fcd >got && featdedup -r 3 c.tsv >want &&
	test_cmp want got &&
	featdedup -r 3 - <c.tsv >got.stdin && test_cmp want got.stdin
'

test_expect_success 'jsonl, --all, --output, keys escaped' '
	printf "a\\\\tb\t00000000000000ff\nc\"d\t00000000000000fe\ne\t0f00000000000000\n" >k.tsv &&
	featdedup -r 1 -f jsonl k.tsv >got &&
	cat >want <<-\EOF &&
	{"group":1,"key":"a\tb","distance":0}
	{"group":1,"key":"c\"d","distance":1}
	EOF
	test_cmp want got &&
	featdedup -r 1 -a -o out.tsv k.tsv &&
	printf "1\ta\\\\tb\t0\n1\tc\"d\t1\n2\te\t0\n" >want &&
	test_cmp want out.tsv
'

# flip.py BITS: a code and copies of it with 0 .. BITS/4 bits flipped
cat >"$TRASH/flip.py" <<\PY
import sys
bits = int(sys.argv[1])
c = int("9e3779b97f4a7c15f39cc0605cedc834" * 2, 16) >> (256 - bits)
print("base\t%0*x" % (bits // 4, c))
for d in range(1, bits // 4 + 1):
    print("d%d\t%0*x" % (d, bits // 4, c ^ ((1 << d) - 1)))
PY

test_expect_success 'the default radius is 11 per 128 bits of code: 2, 5, 11 for 32, 64, 128 bits' '
	for b in 32:2 64:5 128:11 256:22; do
		bits=${b%:*} r=${b#*:} &&
		/usr/bin/python3 flip.py $bits >f$bits.tsv &&
		featdedup -p f$bits.tsv | cut -f1,2 >got &&
		i=1 && while [ $i -le $r ]; do printf "base\td%d\n" $i; i=$((i + 1)); done >want &&
		featdedup -p -r $r f$bits.tsv | grep "^base	" | cut -f1,2 >want2 &&
		grep "^base	" got >got1 &&
		test_cmp want got1 && test_cmp want2 got1 || exit 1
	done &&
	featdedup --help | grep -q "default: 11 per 128"
'

test_expect_success 'no code at all: exit 3, one line; an empty featcodes file of known width: nothing, exit 0' '
	: >empty.tsv &&
	test_expect_code 3 featdedup empty.tsv >out 2>err &&
	test_stderr_one_line err && grep -q "empty.tsv: holds no codes" err && test ! -s out &&
	test_expect_code 3 featdedup - </dev/null >out 2>err &&
	test_stderr_one_line err && grep -q "standard input: holds no codes" err &&
	cat >empty.py <<-\PY &&
	import struct, sys
	open(sys.argv[1], "wb").write(struct.pack("<8sHHIIIIIQ24x", b"\x89FCD\r\n\x1a\n",
	                                          1, 0, 64, 64, 8, 16, 32, 0))
	PY
	"$PYTHON" empty.py empty.fcd &&
	featdedup -a empty.fcd >out && test ! -s out &&
	featdedup -p empty.fcd >out && test ! -s out &&
	featdedup -a empty.fcd one.tsv >out &&
	printf "1\ta\t0\n" >want && test_cmp want out
'

test_expect_success 'keys that appear more than once: one line on stderr, each record grouped on its own' '
	printf "%s\t%s\n" x 00000000000000ff a 00000000000000ff a 0f0000000000000f \
		x 2000000000000000 c 1000000000000000 >rep.tsv &&
	featdedup -a -r 0 rep.tsv >got 2>err &&
	test_stderr_one_line err &&
	grep -q "^featdedup: 2 keys appear more than once (first: a)" err &&
	printf "1\tx\t0\n1\ta\t0\n2\ta\t0\n3\tx\t0\n4\tc\t0\n" >want &&
	test_cmp want got &&
	featdedup -r 0 rep.tsv rep.tsv >/dev/null 2>err &&
	grep -q "^featdedup: 3 keys appear more than once (first: a)" err &&
	featdedup -q -r 0 rep.tsv >/dev/null 2>err && test ! -s err &&
	featdedup -r 0 two.tsv >/dev/null 2>err && test ! -s err
'

test_expect_success 'bad input: one clear line, exit 3 or 2' '
	printf "x\tzz\n" >bad.tsv &&
	test_expect_code 3 featdedup bad.tsv 2>err &&
	test_stderr_one_line err &&
	grep -q "bad.tsv: line 1: the code is not hex" err &&
	printf "x\t00ff\ny\t00ff00ff\n" >mix.tsv &&
	test_expect_code 3 featdedup mix.tsv 2>err &&
	grep -q "mix.tsv: line 2: code has 32 bits; the others have 16" err &&
	test_expect_code 4 featdedup nonesuch 2>err &&
	grep -q "nonesuch: cannot open" err &&
	test_expect_code 2 featdedup -r x c.tsv 2>err &&
	test_stderr_one_line err &&
	test_expect_code 2 featdedup -m 1 c.tsv 2>err &&
	grep -q "substrings" err &&
	test_expect_code 2 featdedup c.tsv - - <c.tsv >out 2>err &&
	test_stderr_one_line err && grep -q "standard input (-) is named more than once" err &&
	test ! -s out
'

test_done
