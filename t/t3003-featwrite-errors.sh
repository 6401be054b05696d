#!/bin/sh
# featwrite: the exit status (--max-errors N and P%), input that is not a
# featstream or is damaged (exit 3, one line, records before the damage
# kept), bad options (exit 2, one line) and unwritable output (exit 4).

. "$FEAT_TOP/t/test-lib.sh"

mkstream() { "$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" "$@"; }

test_expect_success 'setup: 4 records, 2 of them errors' '
	cat >desc.json <<-\JSON &&
	[
	 {"key": "a", "tensors": [{"name": "code", "dtype": "u8", "shape": [8], "hex": "0000000000000001"}]},
	 {"key": "b", "status": "error", "message": "corrupt JPEG"},
	 {"key": "c", "status": "error", "message": "image over the pixel limit"},
	 {"key": "d", "tensors": [{"name": "code", "dtype": "u8", "shape": [8], "hex": "0000000000000002"}]}
	]
	JSON
	mkstream desc.json >in.fs &&
	cat >good.json <<-\JSON &&
	[{"key": "g1", "tensors": [{"name": "code", "dtype": "u8", "shape": [8], "hex": "1111111111111111"}]},
	 {"key": "g2", "tensors": [{"name": "code", "dtype": "u8", "shape": [8], "hex": "2222222222222222"}]}]
	JSON
	mkstream good.json >good.fs
'

test_expect_success '--max-errors N: exit 1 only when errors exceed N' '
	test_expect_code 1 featwrite <in.fs >/dev/null 2>/dev/null &&
	test_expect_code 1 featwrite --max-errors 0 <in.fs >/dev/null 2>/dev/null &&
	test_expect_code 1 featwrite --max-errors 1 <in.fs >/dev/null 2>err &&
	grep -q "4 records in, 2 ok, 2 errors (more than --max-errors 1 allows)$" err &&
	featwrite --max-errors 2 <in.fs >/dev/null 2>err &&
	echo "featwrite: 4 records in, 2 ok, 2 errors" >expect &&
	test_cmp expect err &&
	featwrite -e 3 <in.fs >/dev/null 2>/dev/null
'

test_expect_success '--max-errors P%: a share of the records in' '
	featwrite --max-errors 50% <in.fs >/dev/null 2>/dev/null &&
	featwrite --max-errors 100% <in.fs >/dev/null 2>/dev/null &&
	test_expect_code 1 featwrite --max-errors 49.9% <in.fs >/dev/null 2>err &&
	grep -q "(more than --max-errors 49.9% allows)$" err &&
	test_expect_code 1 featwrite --max-errors 0% <in.fs >/dev/null 2>/dev/null
'

test_expect_success 'the allowance counts bin errors too (records without code)' '
	test_expect_code 1 featwrite -f bin -o x.fcd --max-errors 1 <in.fs 2>/dev/null &&
	featwrite -f bin -o x.fcd --max-errors 2 <in.fs 2>/dev/null
'

test_expect_success 'not a featstream: exit 3, one line naming what it is' '
	echo "photos/a.jpg" >list &&
	test_expect_code 3 featwrite <list >out 2>err &&
	test_stderr_one_line err &&
	grep -q "^featwrite: standard input is not a featstream (it looks like text)" err &&
	test_line_count = 0 out &&
	printf "\377\330\377\340 JFIF" >x.jpg &&
	test_expect_code 3 featwrite x.jpg >out 2>err &&
	test_stderr_one_line err &&
	grep -q "x.jpg is not a featstream (it looks like a JPEG image)" err
'

test_expect_success 'empty input: exit 3, one line' '
	test_expect_code 3 featwrite </dev/null >out 2>err &&
	test_stderr_one_line err &&
	grep -q "empty" err
'

test_expect_success 'a featcodes file given as input is named as such' '
	featwrite -f bin -o good.fcd <good.fs 2>/dev/null &&
	test_expect_code 3 featwrite -f tsv good.fcd >out 2>err &&
	test_stderr_one_line err &&
	grep -q "featcodes" err
'

test_expect_success 'truncated stream: exit 3, one line, records before it written' '
	mkstream --no-header desc.json >tail.fs &&
	head -c $(( $(wc -c <tail.fs) - 10 )) tail.fs >cut.fs &&
	cat good.fs cut.fs >trunc.fs &&
	test_expect_code 3 featwrite <trunc.fs >out.tsv 2>err &&
	test_stderr_one_line err &&
	grep -q "truncated" err &&
	printf "g1\tok\t1111111111111111\ng2\tok\t2222222222222222\n" >expect &&
	head -n 2 out.tsv >first2 &&
	test_cmp expect first2 &&
	printf "a\tok\t0000000000000001\nb\terror\tcorrupt JPEG\nc\terror\timage over the pixel limit\n" >>expect &&
	test_cmp expect out.tsv
'

test_expect_success 'a flipped bit: CRC mismatch, exit 3, earlier records kept (bin too)' '
	mkstream --no-header --flip 100:0x10 good.json >flip.fs &&
	cat good.fs flip.fs >bad.fs &&
	test_expect_code 3 featwrite <bad.fs >out.tsv 2>err &&
	test_stderr_one_line err &&
	grep -q "record 3 at byte .*CRC mismatch" err &&
	printf "g1\tok\t1111111111111111\ng2\tok\t2222222222222222\n" >expect &&
	test_cmp expect out.tsv &&
	test_expect_code 3 featwrite -f bin <bad.fs >bad.fcd 2>err &&
	test_stderr_one_line err &&
	"$PYTHON" -c "
import struct
b = open(\"bad.fcd\", \"rb\").read()
count, = struct.unpack_from(\"<Q\", b, 32)
assert count == 2 and len(b) == 64 + 2 * 128, (count, len(b))
assert b[64:72] == bytes.fromhex(\"1111111111111111\")
"
'

test_expect_success 'a stream header of another major version: exit 3' '
	mkstream good.json >v.fs &&
	"$PYTHON" -c "
b = bytearray(open(\"v.fs\", \"rb\").read()); b[8] = 2
open(\"v2.fs\", \"wb\").write(b)" &&
	test_expect_code 3 featwrite <v2.fs >out 2>err &&
	test_stderr_one_line err &&
	grep -q "version 2.0" err
'

test_expect_success 'bad options: exit 2, one line' '
	for args in "-f xml" "--format" "--max-errors abc" "--max-errors -1" \
		"--max-errors 101%" "--max-errors %" "--bits 0" "--bits x" \
		"--key-width 8" "-f jsonl --no-status" "-f bin --key-width 70000" \
		"--frobnicate" "-z"
	do
		test_expect_code 2 featwrite $args <in.fs >out 2>err &&
		test_stderr_one_line err &&
		grep -q "^featwrite: " err || { echo "args: $args"; cat err; return 1; }
	done
'

test_expect_success '--help and --version: exit 0 on stdout' '
	featwrite --help >out &&
	grep -q "^Usage: featwrite" out &&
	grep -q "max-errors" out &&
	featwrite --version >out &&
	grep -q "^featwrite (featkit) " out
'

test_expect_success 'an output that cannot be opened: exit 4, one line' '
	test_expect_code 4 featwrite -o no/such/dir/x.tsv <in.fs 2>err &&
	test_stderr_one_line err &&
	grep -q "no/such/dir/x.tsv: cannot open for writing" err
'

if test -w /dev/full; then
	test_expect_success 'a full disk: exit 4 (tsv and bin)' '
		test_expect_code 4 featwrite -o /dev/full <in.fs 2>err &&
		grep -q "write error" err &&
		test_expect_code 4 featwrite -f bin -o /dev/full <in.fs 2>err &&
		grep -q "No space left" err
	'
else
	test_skip 'a full disk: exit 4' '/dev/full not writable'
fi

test_expect_success 'a stream cut at a record boundary (its writer died): exit 3, -o not written' '
	featcat in.fs >whole.fs &&
	head -c $(( $(wc -c <whole.fs) - 64 )) whole.fs >cut.fs &&
	test_expect_code 3 featwrite -e 100% -o cut.tsv <cut.fs 2>err &&
	test_stderr_one_line err &&
	grep -q "without its end mark: the program writing it stopped early" err &&
	test ! -e cut.tsv &&
	featwrite -e 100% -o whole.tsv <whole.fs &&
	test -s whole.tsv
'

test_expect_success 'a missing input file: exit 4, one line' '
	test_expect_code 4 featwrite no-such.fs >out 2>err &&
	test_stderr_one_line err &&
	grep -q "no-such.fs: cannot open" err
'

test_expect_success '--max-errors P%: exactly P percent is allowed (7 of 1000 at 0.7%)' '
	"$PYTHON" -c "import json; print(json.dumps([{\"key\": \"k%d\" % i} for i in range(993)] + [{\"key\": \"e%d\" % i, \"status\": \"error\", \"message\": \"x\"} for i in range(7)]))" >pct.json &&
	mkstream pct.json >pct.fs &&
	featwrite -q -e 0.7% <pct.fs >/dev/null &&
	test_expect_code 1 featwrite -q -e 0.69% <pct.fs >/dev/null
'

test_done
