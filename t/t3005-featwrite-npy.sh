#!/bin/sh
# featwrite -f npy: the codes as a numpy .npy array (read back with
# numpy.load and held against featwrite -f tsv's hex of the same stream),
# the keys file beside it, error records skipped and counted (exit 1),
# pipes, --bits for an empty input, and the output written whole or not
# at all.

. "$FEAT_TOP/t/test-lib.sh"

if ! "$PYTHON" -c 'import numpy' 2>/dev/null; then
	test_skip 'all' 'python3-numpy is not installed'
	test_done
fi

mkstream() { "$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" "$@"; }

# check.py NPY KEYS TSV: rows of NPY (np.load) and lines of KEYS against
# the ok lines of featwrite -f tsv (key TAB ok TAB hex), unpacked bit by
# bit from the hex here, so that the bit order is checked too.
cat >"$TRASH/check.py" <<\PY
import sys
import numpy as np
a = np.load(sys.argv[1])
keys = open(sys.argv[2], "rb").read().split(b"\n")
assert keys[-1] == b"", "keys file does not end in a newline"
keys = keys[:-1]
ok = [l.split(b"\t") for l in open(sys.argv[3], "rb").read().splitlines()]
ok = [(k, h.decode()) for k, st, h in ok if st == b"ok"]
assert a.dtype == np.uint8 and a.ndim == 2, (a.dtype, a.shape)
assert a.shape[0] == len(ok) == len(keys), (a.shape, len(ok), len(keys))
bits = int(sys.argv[4])
assert a.shape[1] == (bits + 7) // 8, a.shape
for row, key, (k, h) in zip(a, keys, ok):
    assert key == k, (key, k)
    want = [(int(h, 16) >> (4 * len(h) - 1 - i)) & 1 for i in range(4 * len(h))]
    got = np.unpackbits(row).tolist()
    assert got[:bits] == want[:bits], (key, got, want)
    assert not any(got[bits:]), "padding bits not zero"
print(a.shape[0], a.shape[1])
PY

test_expect_success 'setup: 12-bit and 64-bit codes, errors, awkward keys' '
	"$PYTHON" - >desc.json <<-\PY &&
	import json, random
	r = random.Random(7)
	recs = []
	for i in range(40):
	    if i % 9 == 4:
	        recs.append({"key": "e%d" % i, "status": "error", "message": "corrupt JPEG"})
	    else:
	        key = "k%d" % i + ("\tx\\y" if i == 3 else "")
	        recs.append({"key": key, "tensors": [{"name": "code", "dtype": "bit",
	            "shape": [12], "values": [r.randrange(2) for _ in range(12)]}]})
	print(json.dumps(recs))
	PY
	mkstream desc.json >c12.fs &&
	"$PYTHON" - >d64.json <<-\PY &&
	import json, random
	r = random.Random(8)
	print(json.dumps([{"key": "p%d" % i, "tensors": [{"name": "code", "dtype": "u8",
	    "shape": [8], "hex": "%016x" % r.getrandbits(64)}]} for i in range(30)]))
	PY
	mkstream d64.json >c64.fs
'

test_expect_success '-o NAME: NAME.npy and NAME.keys match -f tsv, bit by bit' '
	test_expect_code 1 featwrite -f tsv <c12.fs >c12.tsv 2>/dev/null &&
	test_expect_code 1 featwrite -f npy -o c12 <c12.fs 2>err &&
	grep -q "40 records in, 36 ok, 4 errors" err &&
	"$PYTHON" "$TRASH/check.py" c12.npy c12.keys c12.tsv 12 >got &&
	echo "36 2" >expect &&
	test_cmp expect got &&
	featwrite -f tsv <c64.fs >c64.tsv &&
	featwrite -f npy -o c64.npy <c64.fs &&
	"$PYTHON" "$TRASH/check.py" c64.npy c64.keys c64.tsv 64 >got &&
	echo "30 8" >expect &&
	test_cmp expect got
'

test_expect_success 'a pipe (no seeking) and --keys FILE give the same bytes' '
	cat c64.fs | featwrite -f npy --keys pipe.keys | cat >pipe.npy &&
	cmp c64.npy pipe.npy &&
	cmp c64.keys pipe.keys &&
	featwrite -f npy --keys file.keys <c64.fs >file.npy &&
	cmp c64.npy file.npy &&
	featwrite -f npy -o other --keys - <c64.fs >stdout.keys &&
	cmp c64.keys stdout.keys &&
	cmp c64.npy other.npy &&
	test ! -e other.keys
'

test_expect_success 'the header: npy 1.0, 64-byte aligned, shape with --bits on no records' '
	echo "[]" >none.json && mkstream none.json >none.fs &&
	featwrite -f npy -o none --bits 64 <none.fs &&
	featwrite -f npy -o none0 <none.fs &&
	"$PYTHON" -c "
import numpy as np, sys
for f, shape in ((\"none.npy\", (0, 8)), (\"none0.npy\", (0, 0)), (\"c64.npy\", (30, 8))):
    b = open(f, \"rb\").read()
    assert b[:8] == b\"\\x93NUMPY\\x01\\x00\", b[:8]
    hl = int.from_bytes(b[8:10], \"little\")
    assert (10 + hl) % 64 == 0 and b[9 + hl:10 + hl] == b\"\\n\"
    a = np.load(f)
    assert a.shape == shape and a.dtype == np.uint8, (f, a.shape)
" &&
	test_line_count = 0 none.keys
'

test_expect_success 'a code of another length is an error record, not a ragged row' '
	cat c12.fs c64.fs >mixed.fs &&
	test_expect_code 1 featwrite -v -f npy -o mixed <mixed.fs 2>err &&
	grep -q "p0: not written: code has 64 bits, the file.s codes have 12" err &&
	"$PYTHON" -c "import numpy as np; assert np.load(\"mixed.npy\").shape == (36, 2)" &&
	test_line_count = 36 mixed.keys
'

test_expect_success 'usage: two files or none; no terminal; damaged input keeps the old files' '
	test_expect_code 2 featwrite -f npy <c64.fs >/dev/null 2>err &&
	test_stderr_one_line err &&
	grep -q "give -o NAME" err &&
	test_expect_code 2 featwrite -f tsv --keys k <c64.fs 2>err &&
	grep -q "applies to -f npy only" err &&
	echo old >old.npy && echo old >old.keys &&
	mkstream --truncate 20 d64.json >cut.fs &&
	test_expect_code 3 featwrite -f npy -o old <cut.fs 2>err &&
	echo old >expect &&
	test_cmp expect old.npy &&
	test_cmp expect old.keys &&
	ls >files &&
	! grep -q tmp files
'

test_expect_success 'standard output opened for appending (>>): a whole .npy all the same' '
	featwrite -f tsv <c64.fs >app.tsv &&
	: >app.npy && featwrite -f npy --keys app.keys <c64.fs >>app.npy &&
	"$PYTHON" "$TRASH/check.py" app.npy app.keys app.tsv 64 >got &&
	echo "30 8" >expect && test_cmp expect got
'

test_done
