#!/bin/sh
# featcat: concatenation and selection of records and tensors.

. "$FEAT_TOP/t/test-lib.sh"

C=$FEAT_TOP/t/fuzz/corpus/stream
V=$C/valid-two-records.fs

test_expect_success 'passes a stream through byte for byte (as 1.1: minor version 1, the end mark added)' '
	featcat "$V" >out.fs &&
	featcat <"$V" >out2.fs &&
	cmp out.fs out2.fs &&
	test $(wc -c <out.fs) -eq $(( $(wc -c <"$V") + 64 )) &&
	head -c 10 "$V" >a && head -c 10 out.fs >b && cmp a b &&
	printf "\001\000" >expect && tail -c +11 out.fs | head -c 2 >minor && cmp expect minor &&
	tail -c +13 "$V" >a && tail -c +13 out.fs | head -c $(( $(wc -c <"$V") - 12 )) >b && cmp a b &&
	tail -c 64 out.fs | head -c 4 >mark && printf FEND >expect && cmp expect mark
'

test_expect_success 'concatenates files into one stream (one header)' '
	featcat "$V" "$V" >two.fs &&
	featinfo -c two.fs >out &&
	echo "4 records, 2 ok, 2 errors" >expect &&
	test_cmp expect out &&
	head -c 64 "$V" >hdr &&
	test $(wc -c <two.fs) -eq $(( 2 * $(wc -c <"$V") - 64 + 64 ))
'

test_expect_success '--ok and --errors select records' '
	featcat --ok "$V" "$V" >ok.fs &&
	featinfo -k ok.fs >out &&
	printf "photos/a.jpg\tok\nphotos/a.jpg\tok\n" >expect &&
	test_cmp expect out &&
	featcat --errors "$V" >err.fs &&
	featinfo -k err.fs >out &&
	printf "bad.jpg\terror\tcorrupt\n" >expect &&
	test_cmp expect out
'

test_expect_success '--drop and --keep select tensors' '
	featcat -d image "$V" >d.fs &&
	featinfo d.fs >out &&
	! grep -q image out && grep -q "code	bit" out &&
	featcat -t image "$V" >k.fs &&
	featinfo k.fs >out &&
	grep -q image out && ! grep -q code out
'

test_expect_success '--head stops writing but reads to the end' '
	featcat "$V" "$V" "$V" >three.fs &&
	featcat -n 1 <three.fs >h.fs &&
	featinfo -c h.fs >out &&
	echo "1 records, 1 ok, 0 errors" >expect &&
	test_cmp expect out
'

test_expect_success 'corrupt input: exit 3, records before it written, without the end mark' '
	cat "$V" "$C/bitflip-payload.fs" >bad.fs &&
	test_expect_code 3 featcat bad.fs >out.fs 2>err &&
	test_stderr_one_line err &&
	grep -q "CRC mismatch" err &&
	test_expect_code 3 featinfo -k out.fs >keys 2>err &&
	test_line_count = 2 keys &&
	grep -q "ends after 2 records without its end mark" err
'

if command -v script >/dev/null; then
	test_expect_success 'refuses to write to a terminal' '
		script -qec "featcat $V; echo status=\$?" /dev/null >out 2>&1;
		grep -q "refusing to write a binary featstream to a terminal" out &&
		grep -q "status=2" out
	'
else
	test_skip 'refuses to write to a terminal' 'script(1) not installed'
fi

test_expect_success 'usage errors: exit 2' '
	test_expect_code 2 featcat --ok --errors "$V" >/dev/null 2>err &&
	grep -q "exclude each other" err &&
	test_expect_code 2 featcat -d a -t b "$V" >/dev/null 2>err &&
	test_expect_code 2 featcat -n -1 "$V" >/dev/null 2>err
'

test_expect_success 'a FILE that cannot be opened stops featcat before it writes a record' '
	test_expect_code 4 featcat "$C/valid-two-records.fs" no-such.fs >out 2>err &&
	test ! -s out && test_stderr_one_line err && grep -q "no-such.fs: cannot open" err
'

test_expect_success 'standard input named twice: exit 2, one line, nothing written' '
	test_expect_code 2 featcat - - <"$V" >out 2>err &&
	test_stderr_one_line err && grep -q "standard input (-) is named more than once" err &&
	test ! -s out
'

test_expect_success 'each FILE is opened once: two FIFOs, each with one writer, are read whole' '
	featcat "$V" "$V" >want.fs &&
	mkfifo f1 f2 &&
	{ timeout 20 sh -c "cat \"\$1\" >f1" sh "$V" & } &&
	p1=$! &&
	{ timeout 20 sh -c "cat \"\$1\" >f2" sh "$V" & } &&
	p2=$! &&
	timeout 10 featcat f1 f2 >fifos.fs &&
	wait $p1 && wait $p2 &&
	cmp want.fs fifos.fs
'

test_done
