#!/bin/sh
# featsearch: k nearest and all within r against a brute force in Python,
# on random and clustered codes, against a code file and a featindex;
# queries in hex, in files and on standard input.  featindex: build,
# append, merge (shards give the same answers as one index) and broken
# index files refused with the field named.

. "$FEAT_TOP/t/test-lib.sh"

cat >"$TRASH/gen.py" <<\PY
import random, sys
bits, n, mode, seed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
centres = [rnd.getrandbits(bits) for _ in range(max(1, n // 25))]
for i in range(n):
    if mode == "clustered" and i % 3:
        c = rnd.choice(centres)
        for _ in range(rnd.randrange(7)):
            c ^= 1 << rnd.randrange(bits)
    else:
        c = rnd.getrandbits(bits)
    print("%s%d\t%0*x" % (sys.argv[5] if len(sys.argv) > 5 else "k", i, bits // 4, c))
PY

# brute.py DB.tsv Q.tsv (-k K | -r R): what featsearch must print
cat >"$TRASH/brute.py" <<\PY
import sys
db = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
qs = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
mode, v = sys.argv[3], int(sys.argv[4])
codes = [int(h, 16) for _, h in db]
for qk, qh in qs:
    q = int(qh, 16)
    hits = sorted(((q ^ c).bit_count(), i) for i, c in enumerate(codes))
    hits = hits[:v] if mode == "-k" else [h for h in hits if h[0] <= v]
    for d, i in hits:
        print("%s\t%s\t%d" % (qk, db[i][0], d))
PY
py() { "$PYTHON" "$TRASH/$@"; }

for bits in 32 64 128 256; do
	for mode in random clustered; do
		test_expect_success "$bits-bit $mode: -k and -r exact, file and index" '
			py gen.py '$bits' 800 '$mode' '$bits' >db.tsv &&
			py gen.py '$bits' 12 '$mode' '$bits' q >q.tsv &&
			featindex build -o db.fix db.tsv &&
			for a in "-k 1" "-k 7" "-k 40" "-r 0" "-r 3" "-r 9"; do
				py brute.py db.tsv q.tsv $a >want &&
				featsearch $a db.tsv q.tsv >got.file &&
				test_cmp want got.file &&
				featsearch $a db.fix q.tsv >got.ix &&
				test_cmp want got.ix &&
				featsearch --scan $a db.fix q.tsv >got.scan &&
				test_cmp want got.scan || return 1
			done
		'
	done
done

test_expect_success 'queries in hex and on standard input; jsonl' '
	py gen.py 64 300 clustered 5 >db.tsv &&
	featindex build -o db.fix db.tsv &&
	sed -n 7p db.tsv >q1.tsv &&
	hex=$(cut -f2 q1.tsv) &&
	printf "%s\t%s\n" "$hex" "$hex" >qh.tsv &&
	py brute.py db.tsv qh.tsv -k 5 >want &&
	featsearch -k 5 db.fix "$hex" >got && test_cmp want got &&
	py brute.py db.tsv q1.tsv -r 4 >want.r &&
	featsearch -r 4 db.fix <q1.tsv >got.r && test_cmp want.r got.r &&
	featsearch -r 4 db.fix - <q1.tsv >got.r2 && test_cmp want.r got.r2 &&
	featsearch -k 1 -f jsonl db.fix "$hex" >got.j &&
	echo "{\"query\":\"$hex\",\"key\":\"k6\",\"distance\":0}" >want.j &&
	test_cmp want.j got.j
'

test_expect_success 'featindex append and merge give the answers of one index' '
	py gen.py 64 900 clustered 9 >all.tsv &&
	head -n 300 all.tsv >s1.tsv && sed -n 301,700p all.tsv >s2.tsv &&
	tail -n +701 all.tsv >s3.tsv &&
	py gen.py 64 10 clustered 9 q >q.tsv &&
	py brute.py all.tsv q.tsv -r 5 >want &&
	featindex build -m 4 -o s1.fix s1.tsv &&
	featindex build -m 4 -o s2.fix s2.tsv &&
	featindex build -m 4 -o s3.fix s3.tsv &&
	featindex merge -o m.fix s1.fix s2.fix s3.fix &&
	featindex check m.fix &&
	featsearch -r 5 m.fix q.tsv >got.m && test_cmp want got.m &&
	featindex build -m 4 -o a.fix s1.tsv &&
	featindex append a.fix s2.tsv s3.tsv &&
	featindex check a.fix &&
	featsearch -r 5 a.fix q.tsv >got.a && test_cmp want got.a &&
	featindex build -m 4 -o one.fix all.tsv &&
	cmp one.fix m.fix && cmp one.fix a.fix &&
	featindex info m.fix >info &&
	grep -q "900 records, 64-bit codes, 4 substrings" info
'

# a valid index, then copies with one field edited (python, from featindex(5))
cat >"$TRASH/edit.py" <<\PY
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
off, fmt, val = int(sys.argv[3]), sys.argv[4], int(sys.argv[5], 0)
struct.pack_into("<" + fmt, b, off, val)
open(sys.argv[2], "wb").write(b)
PY

test_expect_success 'broken index files: one line naming the field, exit 3' '
	py gen.py 64 200 random 1 >db.tsv &&
	featindex build -m 3 -o good.fix db.tsv &&
	for e in "8 H 9 field major" "16 I 0 code_bits" "20 I 16 code_stride" \
		 "24 I 1 field m" "40 Q 99 file_size" "56 Q 70 codes_off" \
		 "128 I 5 table 0 field lo" "136 I 29 table 0 field dir_bits" \
		 "152 Q 1 table 0 field vals_off"; do
		set -- $e && off=$1 fmt=$2 val=$3 && shift 3 &&
		py edit.py good.fix bad.fix $off $fmt $val &&
		test_expect_code 3 featsearch -k 1 bad.fix 0000000000000000 2>err &&
		test_stderr_one_line err &&
		grep -q "^featsearch: bad.fix: .*$*" err || { cat err; return 1; }
	done &&
	head -c 100 good.fix >cut.fix &&
	test_expect_code 3 featindex info cut.fix 2>err &&
	grep -q "header cut short" err &&
	printf "" >empty.fix &&
	test_expect_code 3 featindex check empty.fix 2>err &&
	grep -q "empty file" err
'

test_expect_success 'featindex check finds a table entry that lies' '
	py gen.py 64 200 random 2 >db.tsv &&
	featindex build -m 3 -o good.fix db.tsv &&
	ioff=$("$PYTHON" -c "import struct,sys; print(struct.unpack_from(\"<Q\", open(\"good.fix\",\"rb\").read(), 160)[0])") &&
	a=$("$PYTHON" -c "import struct; b=open(\"good.fix\",\"rb\").read(); print(struct.unpack_from(\"<I\", b, $ioff)[0])") &&
	b=$("$PYTHON" -c "import struct; b=open(\"good.fix\",\"rb\").read(); print(struct.unpack_from(\"<I\", b, $ioff + 4 * 150)[0])") &&
	py edit.py good.fix t.fix $ioff I $b &&
	py edit.py t.fix bad.fix $((ioff + 600)) I $a &&
	test_expect_code 1 featindex check bad.fix 2>err &&
	grep -q "ids of one value not ascending\|not in its directory\|table 0 entry" err
'

# a table whose arrays are well formed but list records under values
# that are not their codes: each shape check passes (sorted, in bucket,
# ids unique), only the codes say it is wrong; searching it would miss
# neighbours.  Table 0 of 2 tables over 16-bit codes: write the table as
# if record 0 had the code of record 1 and the reverse.
test_expect_success 'an index whose tables do not match its codes is refused by every reader' '
	printf "a\t0001\nb\t0100\nc\t0101\n" >three.tsv &&
	featindex build -m 2 -o t3.fix three.tsv &&
	featsearch -r 0 t3.fix 0001 >want && grep -q "	a	" want &&
	off=$("$PYTHON" -c "import struct; b = open(\"t3.fix\", \"rb\").read(64); print(struct.unpack_from(\"<Q\", b, 56)[0], struct.unpack_from(\"<I\", b, 20)[0])") &&
	set -- $off && test $# = 2 &&
	printf "\001\000" | dd of=t3.fix bs=1 seek=$1 conv=notrunc 2>/dev/null &&
	printf "\000\001" | dd of=t3.fix bs=1 seek=$(($1 + $2)) conv=notrunc 2>/dev/null &&
	test_expect_code 3 featsearch -r 0 t3.fix 0001 >out 2>err &&
	grep -q "t3.fix: table . entry .* (record .): value is not the substring" err &&
	test_stderr_one_line err &&
	test_expect_code 1 featindex check t3.fix 2>err &&
	grep -q "not the substring" err
'

test_expect_success 'usage errors are one line' '
	test_expect_code 2 featsearch 2>err && test_stderr_one_line err &&
	test_expect_code 2 featsearch -k 3 -r 2 db.tsv 00 2>err && test_stderr_one_line err &&
	test_expect_code 2 featsearch db.tsv 12345 2>err && test_stderr_one_line err &&
	grep -q "not a 64-bit code in hex" err &&
	test_expect_code 2 featindex frob 2>err && test_stderr_one_line err &&
	test_expect_code 2 featindex build db.tsv 2>err && test_stderr_one_line err
'

test_expect_success 'a code file of a run whose every record failed: a clear refusal, no crash' '
	echo no-such-photo.jpg >list &&
	imgdecode -q <list >bad.fs &&
	test_expect_code 1 featwrite -q -f bin -o none.fcd <bad.fs &&
	test_expect_code 3 featsearch -k 3 none.fcd 0f3a5c0f3a5c0f3a 2>err &&
	grep -q "none.fcd: holds no codes" err &&
	test_expect_code 3 featdedup -r 2 none.fcd 2>err &&
	grep -q "holds no codes" err
'

test_expect_success 'codes wider than the index allows: refused with their width' '
	"$PYTHON" -c "
import struct, sys
bits = 8192; stride = bits // 8; rec = (stride + 4 + 116 + 7) // 8 * 8
h = b\"\\x89FCD\\r\\n\\x1a\\n\" + struct.pack(\"<HHIIIIIQ\", 1, 0, 64, bits, stride, 116, rec, 1)
h += bytes(64 - len(h))
r = bytearray(rec); r[stride:stride + 4] = struct.pack(\"<I\", 1); r[stride + 4] = 0x6b
sys.stdout.buffer.write(h + bytes(r))" >wide.fcd &&
	test_expect_code 3 featdedup -r 2 wide.fcd 2>err &&
	grep -q "8192-bit codes are not supported" err
'

# mkcodes.py BITS SPEC: a featstream description (t/lib/mkstream.py) of
# records KEY=HEX (a BITS-bit code), err:KEY (an error record) and
# nocode:KEY (no code tensor)
cat >"$TRASH/mkcodes.py" <<\PY
import json, sys
bits, recs = int(sys.argv[1]), []
for item in sys.argv[2].split(","):
    kind, _, rest = item.partition(":")
    if kind == "err":
        recs.append({"key": rest, "status": "error", "message": "bad photo"})
    elif kind == "nocode":
        recs.append({"key": rest, "tensors": [{"name": "feat", "dtype": "f32", "shape": [1], "values": [0]}]})
    else:
        k, v = item.split("=")
        v = int(v, 16)
        recs.append({"key": k, "tensors": [{"name": "code", "dtype": "bit", "shape": [bits],
                     "values": [(v >> (bits - 1 - i)) & 1 for i in range(bits)]}]})
print(json.dumps(recs))
PY
codes() { py mkcodes.py "$@" | "$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" -; }

test_expect_success '70-bit codes: a tsv of them queries and joins a 70-bit set, in either order' '
	codes 70 "a=0,b=1,c=3" >w70.fs &&
	featwrite -q -f bin -o w70.fcd <w70.fs &&
	featwrite -q -f tsv -o w70.tsv <w70.fs &&
	featindex build -o w70.fix w70.fcd &&
	featsearch -r 2 w70.fix w70.tsv >got &&
	test $(wc -l <got) = 9 && grep -q "^a	c	2$" got &&
	featdedup -p -r 2 w70.tsv w70.fcd >p1 &&
	featdedup -p -r 2 w70.fcd w70.tsv >p2 &&
	test $(wc -l <p1) = 15 && test_cmp p1 p2 &&
	printf "z\t00000000000000000f\n" >pad.tsv &&
	test_expect_code 3 featdedup -p -r 2 pad.tsv w70.fcd 2>err &&
	grep -q "70 bits; the others have 72" err && test_stderr_one_line err
'

test_expect_success '70-bit codes in a stream after a tsv: its first code sets the width for the file, a later record of another width is refused by number' '
	featdedup -p -r 2 w70.tsv w70.fs >p3 &&
	test_cmp p1 p3 &&
	codes 72 "d=0" >w72.fs &&
	featcat w70.fs w72.fs >mixed.fs &&
	test_expect_code 3 featdedup -p -r 2 w70.tsv mixed.fs 2>err &&
	test_stderr_one_line err &&
	grep -q "mixed.fs: record 4: code has 72 bits; the others have 70" err
'

test_expect_success 'keys that appear more than once: featsearch and featindex say so once, and keep every record' '
	printf "%s\t%s\n" x 00000000000000ff a 00000000000000f0 a 0f0000000000000f >rep.tsv &&
	featsearch -k 2 rep.tsv 00000000000000ff >got 2>err &&
	test_stderr_one_line err &&
	grep -q "^featsearch: 1 key appears more than once (first: a)" err &&
	printf "00000000000000ff\tx\t0\n00000000000000ff\ta\t4\n" >want && test_cmp want got &&
	featindex build -o rep.fix rep.tsv 2>err &&
	test_stderr_one_line err &&
	grep -q "^featindex: 1 key appears more than once (first: a)" err &&
	featsearch -k 2 rep.fix 00000000000000ff >got 2>err &&
	test ! -s err && test_cmp want got &&
	printf "%s\t%s\n" p 00000000000000ff q 00000000000000f0 >pq.tsv &&
	featindex build -o pq.fix pq.tsv 2>err && test ! -s err &&
	featindex append pq.fix pq.tsv 2>err &&
	grep -q "^featindex: 2 keys appear more than once (first: p)" err &&
	featindex info pq.fix >info && grep -q " 4 records" info
'

test_expect_success 'featindex: standard input named twice: exit 2, one line, nothing written' '
	test_expect_code 2 featindex build -o twice.fix - - <pq.tsv 2>err &&
	test_stderr_one_line err && grep -q "standard input (-) is named more than once" err &&
	test ! -e twice.fix
'

test_expect_success 'featsearch: standard input as the database and the queries: exit 2, one line' '
	test_expect_code 2 featsearch - <pq.tsv >out 2>err &&
	test_stderr_one_line err && grep -q "database is standard input" err &&
	test_expect_code 2 featsearch - - <pq.tsv >out 2>err &&
	test_stderr_one_line err && grep -q "standard input (-) is named more than once" err &&
	test_expect_code 2 featsearch pq.tsv - - <pq.tsv >out 2>err &&
	test_stderr_one_line err && test ! -s out &&
	featsearch -k 1 - 0000000000000000 <pq.tsv >out &&
	test $(wc -l <out) = 1
'

test_expect_success 'records that cannot be asked or indexed are said (unless -q); an empty query file asks nothing' '
	codes 64 "a=0,b=1,c=3" >db.fs && featindex build -o small.fix db.fs &&
	codes 64 "q1=0,err:q2,nocode:q3,q4=3" >q.fs &&
	featsearch -k 1 small.fix <q.fs >got 2>err &&
	printf "q1\ta\t0\nq4\tc\t0\n" >want && test_cmp want got &&
	grep -q "2 records skipped (error records, or without a code): not asked" err &&
	featsearch -q -k 1 small.fix <q.fs >got 2>err && test ! -s err &&
	: >empty.tsv &&
	featsearch -k 1 small.fix 0000000000000000 empty.tsv 0000000000000003 >got &&
	printf "0000000000000000\ta\t0\n0000000000000003\tc\t0\n" >want && test_cmp want got &&
	codes 64 "a=0,err:b,c=1" >dberr.fs &&
	featdedup -p -r 2 dberr.fs >got 2>err &&
	grep -q "dberr.fs: 1 records skipped" err &&
	featindex build -o e.fix dberr.fs 2>err &&
	grep -q "dberr.fs: 1 records skipped" err &&
	test_expect_code 1 featsearch -q -i no-such.jpg small.fix 2>err &&
	grep -q "no-such.jpg" err && test_stderr_one_line err
'

test_expect_success 'featindex: check goes on past a corrupt index (exit 1); build without -m takes the default m; append keeps the m of an empty index' '
	cp small.fix flip.fix &&
	"$PYTHON" -c "
import struct, sys
b = bytearray(open(sys.argv[1], \"rb\").read())
b[struct.unpack_from(\"<Q\", b, 56)[0]] ^= 0x80   # codes_off: record 0, its first bit
open(sys.argv[1], \"wb\").write(b)" flip.fix &&
	test_expect_code 1 featindex check flip.fix small.fix >out 2>err &&
	grep -q "small.fix: ok" out && grep -q "flip.fix" err &&
	py gen.py 64 1500 random 5 >many.tsv &&
	featindex build -o first.fix small.fix many.tsv &&
	featindex build -o last.fix many.tsv small.fix &&
	featindex info first.fix | grep -q ", 6 substrings" &&
	featindex info last.fix | grep -q ", 6 substrings" &&
	codes 64 "err:x" | featwrite -q -f bin -b 64 -e 100% -o empty.fcd &&
	featindex build -m 3 -o e3.fix empty.fcd &&
	featindex append e3.fix many.tsv &&
	featindex info e3.fix | grep -q "1500 records, 64-bit codes, 3 substrings"
'

test_done
