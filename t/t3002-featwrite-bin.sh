#!/bin/sh
# featwrite -f bin: the featcodes file, parsed back with Python's struct
# module from featcodes(5) and compared with the input records.

. "$FEAT_TOP/t/test-lib.sh"

mkstream() { "$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" "$@"; }

# readfcd.py FILE: the header fields, then one line per record:
# hex-code TAB full-key-length TAB stored key.  Checks the layout rules of
# featcodes(5) on the way (sizes, padding).
cat >"$TRASH/readfcd.py" <<\PY
import struct, sys
b = open(sys.argv[1], "rb").read()
magic, major, minor, hsize, bits, stride, kw, rsize, count = \
    struct.unpack_from("<8sHHIIIIIQ", b, 0)
assert magic == b"\x89FCD\r\n\x1a\n", magic
assert (major, minor, hsize) == (1, 0, 64)
assert b[40:64] == bytes(24), "reserved header bytes not zero"
assert stride == (bits + 63) // 64 * 8, (bits, stride)
assert rsize == (stride + 4 + kw + 7) // 8 * 8, rsize
body = len(b) - hsize
assert body % rsize == 0, "file size not a whole number of records"
n = body // rsize
assert count in (0, n), (count, n)
print("bits=%d stride=%d key_width=%d record_size=%d count=%d records=%d"
      % (bits, stride, kw, rsize, count, n))
for i in range(n):
    r = b[hsize + i * rsize: hsize + (i + 1) * rsize]
    code = r[:(bits + 7) // 8]
    assert r[len(code):stride] == bytes(stride - len(code)), "code padding"
    if bits % 8:
        assert code[-1] & (0xff >> (bits % 8)) == 0, "code padding bits"
    klen, = struct.unpack_from("<I", r, stride)
    kept = min(klen, kw)
    key = r[stride + 4: stride + 4 + kept]
    assert r[stride + 4 + kept:] == bytes(rsize - stride - 4 - kept), "key padding"
    sys.stdout.write("%s\t%d\t%s\n" % (code.hex(), klen, key.decode("utf-8", "replace")))
PY
readfcd() { "$PYTHON" "$TRASH/readfcd.py" "$@"; }

test_expect_success 'setup: 64-bit codes, an error, a record without code' '
	cat >desc.json <<-\JSON &&
	[
	 {"key": "photos/a.jpg", "tensors": [
	   {"name": "image", "dtype": "u8", "shape": [2, 2, 3]},
	   {"name": "code", "dtype": "bit", "shape": [64], "hex": "0123456789abcdef"}]},
	 {"key": "photos/b.jpg", "status": "error", "message": "corrupt JPEG"},
	 {"key": "photos/c.jpg", "tensors": [
	   {"name": "code", "dtype": "bit", "shape": [1, 64], "hex": "ffffffff00000000"}]},
	 {"key": "photos/d.jpg", "tensors": [{"name": "feat", "dtype": "f32", "shape": [1]}]},
	 {"key": "photos/e.jpg", "tensors": [
	   {"name": "code", "dtype": "u8", "shape": [8], "hex": "8000000000000001"}]}
	]
	JSON
	mkstream desc.json >in.fs
'

test_expect_success 'codes and keys of the ok records; 128-byte records; count filled in' '
	test_expect_code 1 featwrite -f bin -o out.fcd <in.fs 2>err &&
	readfcd out.fcd >got &&
	cat >expect <<-\EOF &&
	bits=64 stride=8 key_width=116 record_size=128 count=3 records=3
	0123456789abcdef	12	photos/a.jpg
	ffffffff00000000	12	photos/c.jpg
	8000000000000001	12	photos/e.jpg
	EOF
	test_cmp expect got &&
	echo "featwrite: 5 records in, 3 ok, 2 errors (more than --max-errors 0 allows)" >expect &&
	test_cmp expect err
'

test_expect_success '-v says why each record was left out' '
	test_expect_code 1 featwrite -v -f bin -o v.fcd <in.fs 2>err &&
	grep -q "^featwrite: photos/b.jpg: not written: corrupt JPEG$" err &&
	grep -q "^featwrite: photos/d.jpg: not written: no .code. tensor$" err &&
	cmp out.fcd v.fcd
'

test_expect_success 'to standard output (a file) the same bytes' '
	test_expect_code 1 featwrite -f bin <in.fs >stdout.fcd 2>/dev/null &&
	cmp out.fcd stdout.fcd
'

test_expect_success 'through a pipe: count 0, the same records' '
	rm -f fifo && mkfifo fifo &&
	{ cat fifo >pipe.fcd & } &&
	test_expect_code 1 featwrite -f bin -o fifo <in.fs 2>/dev/null &&
	wait &&
	readfcd pipe.fcd >got &&
	head -n 1 got >hdr &&
	echo "bits=64 stride=8 key_width=116 record_size=128 count=0 records=3" >expect &&
	test_cmp expect hdr &&
	readfcd out.fcd >want &&
	tail -n +2 want >want.recs && tail -n +2 got >got.recs &&
	test_cmp want.recs got.recs
'

test_expect_success '--key-width: a longer key is an error, never cut' '
	test_expect_code 1 featwrite -f bin --key-width 11 -o kw.fcd <in.fs 2>err &&
	readfcd kw.fcd >got &&
	echo "bits=0 stride=0 key_width=11 record_size=16 count=0 records=0" >expect &&
	test_cmp expect got &&
	test_stderr_one_line err &&
	grep -q "^featwrite: 5 records in, 0 ok, 5 errors, 3 of them keys over --key-width 11 (the longest 12 bytes: -k 12 keeps them) (more than --max-errors 0 allows)$" err &&
	test_expect_code 1 featwrite -f bin --key-width 12 -o kw.fcd <in.fs 2>err &&
	readfcd kw.fcd >got &&
	cat >expect <<-\EOF &&
	bits=64 stride=8 key_width=12 record_size=24 count=3 records=3
	0123456789abcdef	12	photos/a.jpg
	ffffffff00000000	12	photos/c.jpg
	8000000000000001	12	photos/e.jpg
	EOF
	test_cmp expect got
'

test_expect_success 'two long keys of one 116-byte prefix never merge, even under -q' '
	p=$(printf "%0130d" 0) &&
	printf "[{\"key\": \"%s/a\", \"tensors\": [{\"name\": \"code\", \"dtype\": \"bit\", \"shape\": [64], \"hex\": \"00000000000000ff\"}]},
	 {\"key\": \"%s/b\", \"tensors\": [{\"name\": \"code\", \"dtype\": \"bit\", \"shape\": [64], \"hex\": \"00000000000000ff\"}]}]" \
		"$p" "$p" >long.json &&
	mkstream long.json >long.fs &&
	test_expect_code 1 featwrite -q -f bin -o long.fcd <long.fs 2>err &&
	test_must_fail test -s err &&
	readfcd long.fcd >got &&
	echo "bits=0 stride=0 key_width=116 record_size=120 count=0 records=0" >expect &&
	test_cmp expect got &&
	featwrite -f bin -k 200 -o long.fcd <long.fs 2>err &&
	featdedup -r 0 long.fcd >groups &&
	printf "1\t%s/a\t0\n1\t%s/b\t0\n" "$p" "$p" >expect &&
	test_cmp expect groups
'

test_expect_success 'odd code lengths: padding bits cleared, stride rounded to 8 bytes' '
	cat >odd.json <<-\JSON &&
	[{"key": "x", "tensors": [{"name": "code", "dtype": "bit", "shape": [70],
	   "hex": "ffffffffffffffffff"}]},
	 {"key": "y", "tensors": [{"name": "code", "dtype": "bit", "shape": [70],
	   "values": [1,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
	              0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
	              0,0,0,0,0,1]}]}]
	JSON
	mkstream odd.json >odd.fs &&
	featwrite -f bin -o odd.fcd <odd.fs 2>/dev/null &&
	readfcd odd.fcd >got &&
	cat >expect <<-\EOF &&
	bits=70 stride=16 key_width=116 record_size=136 count=2 records=2
	fffffffffffffffffc	1	x
	800000000000000004	1	y
	EOF
	test_cmp expect got
'

test_expect_success 'the first code fixes the length; another length is an error' '
	cat >mix.json <<-\JSON &&
	[{"key": "a", "tensors": [{"name": "code", "dtype": "u8", "shape": [4], "hex": "01020304"}]},
	 {"key": "b", "tensors": [{"name": "code", "dtype": "u8", "shape": [8], "hex": "0102030405060708"}]},
	 {"key": "c", "tensors": [{"name": "code", "dtype": "bit", "shape": [32], "hex": "0a0b0c0d"}]}]
	JSON
	mkstream mix.json >mix.fs &&
	test_expect_code 1 featwrite -v -f bin -o mix.fcd <mix.fs 2>err &&
	readfcd mix.fcd >got &&
	printf "bits=32 stride=8 key_width=116 record_size=128 count=2 records=2\n01020304\t1\ta\n0a0b0c0d\t1\tc\n" >expect &&
	test_cmp expect got &&
	grep -q "^featwrite: b: not written: code has 64 bits, the file.s codes have 32$" err &&
	test_expect_code 1 featwrite -f bin --bits 64 -o mix64.fcd <mix.fs 2>err &&
	readfcd mix64.fcd >got &&
	printf "bits=64 stride=8 key_width=116 record_size=128 count=1 records=1\n0102030405060708\t1\tb\n" >expect &&
	test_cmp expect got &&
	grep -q "3 records in, 1 ok, 2 errors" err
'

test_expect_success 'no codes at all: a valid file without records' '
	echo "[]" >none.json &&
	mkstream none.json >none.fs &&
	featwrite -f bin -o none.fcd <none.fs 2>/dev/null &&
	test $(wc -c <none.fcd) -eq 64 &&
	featwrite -f bin --bits 256 -o none256.fcd <none.fs 2>/dev/null &&
	readfcd none256.fcd >got &&
	echo "bits=256 stride=32 key_width=116 record_size=152 count=0 records=0" >expect &&
	test_cmp expect got
'

if command -v script >/dev/null; then
	test_expect_success 'refuses to write the binary file to a terminal' '
		script -qec "featwrite -f bin $TRASH/in.fs; echo status=\$?" /dev/null >out 2>&1;
		grep -q "refusing to write a binary featcodes file to a terminal" out &&
		grep -q "status=2" out
	'
else
	test_skip 'refuses to write the binary file to a terminal' 'script(1) not installed'
fi

test_done
