#!/bin/sh
# featwrite -f tsv: key, status, value; escaping; --no-status; the final
# line on stderr.  Input streams are made by t/lib/mkstream.py from
# featstream(5), and the expected lines are written out by hand.

. "$FEAT_TOP/t/test-lib.sh"

mkstream() { "$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" "$@"; }

test_expect_success 'setup: records with a code, a feat, other tensors, an error' '
	cat >desc.json <<-\JSON &&
	[
	 {"key": "a.jpg", "tensors": [
	   {"name": "code", "dtype": "bit", "shape": [12],
	    "values": [1,0,1,0, 0,1,0,1, 1,1,0,1]},
	   {"name": "feat", "dtype": "f32", "shape": [2], "values": [9, 9]}]},
	 {"key": "b.png", "tensors": [
	   {"name": "feat", "dtype": "f32", "shape": [4], "values": [0.5, -1.25, 0.1, 1024]}]},
	 {"key": "c.jpg", "tensors": [
	   {"name": "image", "dtype": "u8", "shape": [2, 3, 3]},
	   {"name": "input", "dtype": "f32", "shape": [3, 4, 5]},
	   {"name": "code", "dtype": "f32", "shape": [1]}]},
	 {"key": "d.jpg", "status": "error", "message": "corrupt JPEG data: premature end",
	  "tensors": [{"name": "image", "dtype": "u8", "shape": [1, 1, 3]}]},
	 {"key": "e.jpg", "tensors": [
	   {"name": "code", "dtype": "u8", "shape": [4], "hex": "00ff10ab"}]},
	 {"key": "f.jpg", "tensors": [
	   {"name": "code", "dtype": "bit", "shape": [64], "hex": "0123456789abcdef"}]},
	 {"key": "g.jpg"}
	]
	JSON
	mkstream desc.json >in.fs
'

test_expect_success 'one line per record: code as hex, else feat, else a summary; a code tensor that cannot be a code is an error' '
	test_expect_code 1 featwrite <in.fs >out.tsv 2>err &&
	printf "%s\t%s\t%s\n" \
		a.jpg ok a5d0 \
		b.png ok "0.5,-1.25,0.100000001,1024" \
		c.jpg error "tensor '"'"'code'"'"' is f32, not bit or u8" \
		d.jpg error "corrupt JPEG data: premature end" \
		e.jpg ok 00ff10ab \
		f.jpg ok 0123456789abcdef \
		g.jpg ok "" >expect &&
	test_cmp expect out.tsv
'

test_expect_success 'the final line counts records, ok and errors' '
	echo "featwrite: 7 records in, 5 ok, 2 errors (more than --max-errors 0 allows)" >expect &&
	test_cmp expect err
'

test_expect_success '-f tsv is the default; -o, FILE arguments and - agree' '
	test_expect_code 1 featwrite -f tsv -o out2.tsv in.fs 2>/dev/null &&
	test_cmp out.tsv out2.tsv &&
	test_expect_code 1 featwrite - <in.fs >out3.tsv 2>/dev/null &&
	test_cmp out.tsv out3.tsv
'

test_expect_success 'several files are written in order' '
	test_expect_code 1 featwrite in.fs in.fs >twice.tsv 2>err &&
	cat out.tsv out.tsv >expect &&
	test_cmp expect twice.tsv &&
	grep -q "^featwrite: 14 records in, 10 ok, 4 errors" err
'

test_expect_success '-q prints nothing on stderr; -v names each error record' '
	test_expect_code 1 featwrite -q <in.fs >/dev/null 2>err &&
	test_line_count = 0 err &&
	test_expect_code 1 featwrite -v <in.fs >/dev/null 2>err &&
	grep -q "^featwrite: d.jpg: corrupt JPEG data: premature end$" err
'

test_expect_success '--no-status: key TAB value, ok records only' '
	test_expect_code 1 featwrite --no-status <in.fs >ns.tsv 2>err &&
	printf "%s\t%s\n" a.jpg a5d0 b.png "0.5,-1.25,0.100000001,1024" \
		e.jpg 00ff10ab f.jpg 0123456789abcdef g.jpg "" >expect &&
	test_cmp expect ns.tsv &&
	grep -q "7 records in, 5 ok, 2 errors" err
'

test_expect_success 'keys and messages: TAB, LF, CR and backslash escaped, the rest verbatim' '
	cat >esc.json <<-\JSON &&
	[
	 {"key": "a\tb\nc\rd\\e f", "status": "error", "message": "bad\there\\now"},
	 {"key": "caf\u00e9/\u5199\u771f.jpg",
	  "tensors": [{"name": "code", "dtype": "u8", "shape": [1], "hex": "7f"}]},
	 {"key_hex": "61ff0162", "tensors": [{"name": "code", "dtype": "u8", "shape": [1], "hex": "01"}]}
	]
	JSON
	mkstream esc.json >esc.fs &&
	test_expect_code 1 featwrite <esc.fs >esc.tsv 2>/dev/null &&
	printf "a\\\\tb\\\\nc\\\\rd\\\\\\\\e f\terror\tbad\\\\there\\\\\\\\now\n" >expect &&
	printf "caf\303\251/\345\206\231\347\234\237.jpg\tok\t7f\n" >>expect &&
	printf "a\377\001b\tok\t01\n" >>expect &&
	test_cmp expect esc.tsv &&
	test_expect_code 1 featwrite -v <esc.fs >/dev/null 2>err &&
	printf "featwrite: a\\\\tb\\\\nc\\\\rd\\\\\\\\e f: bad\\\\there\\\\\\\\now\n" >expect &&
	head -n 1 err >err1 &&
	test_cmp expect err1
'

test_expect_success 'an empty stream gives no lines and exit 0' '
	echo "[]" >none.json &&
	mkstream none.json >none.fs &&
	featwrite <none.fs >none.tsv 2>err &&
	test_line_count = 0 none.tsv &&
	echo "featwrite: 0 records in, 0 ok, 0 errors" >expect &&
	test_cmp expect err
'

test_expect_success '--bits: a code of another length is an error record' '
	test_expect_code 1 featwrite --bits 64 <in.fs >bits.tsv 2>err &&
	grep -q "^a.jpg	error	code has 12 bits, expected 64 (--bits)$" bits.tsv &&
	grep -q "^f.jpg	ok	0123456789abcdef$" bits.tsv &&
	grep -q "^c.jpg	error	tensor .code. is f32, not bit or u8$" bits.tsv &&
	grep -q "7 records in, 3 ok, 4 errors" err
'

test_done
