#!/bin/sh
# featinfo: text view of a stream; every kind of broken stream is named.

. "$FEAT_TOP/t/test-lib.sh"

C=$FEAT_TOP/t/fuzz/corpus/stream

test_expect_success 'shows keys, status, tensors and values' '
	featinfo "$C/valid-two-records.fs" >out &&
	printf "photos/a.jpg\tok\n" >expect &&
	printf "\timage\tu8\t[2 3 3]\t0 1 2 3 4 5 6 7 ...\n" >>expect &&
	printf "\tcode\tbit\t[64]\ta0a1a2a3a4a5a6a7\n" >>expect &&
	printf "bad.jpg\terror\tcorrupt\n" >>expect &&
	test_cmp expect out
'

test_expect_success 'reads standard input and -' '
	featinfo <"$C/valid-two-records.fs" >out1 &&
	featinfo - <"$C/valid-two-records.fs" >out2 &&
	featinfo "$C/valid-two-records.fs" >out3 &&
	test_cmp out3 out1 && test_cmp out3 out2
'

test_expect_success '-n, -k, -c, -s' '
	featinfo -n 2 "$C/valid-two-records.fs" >out &&
	grep -q "	0 1 \.\.\.\$" out &&
	featinfo -k "$C/valid-two-records.fs" >keys &&
	test_line_count = 2 keys &&
	featinfo -c "$C/valid-two-records.fs" "$C/valid-two-records.fs" >count &&
	echo "4 records, 2 ok, 2 errors" >expect &&
	test_cmp expect count &&
	featinfo -s "$C/valid-two-records.fs" >stats &&
	grep -q "min=0 max=17 mean=8.5" stats
'

test_expect_success '--raw writes the payload bytes' '
	featinfo --raw image "$C/valid-two-records.fs" >raw &&
	printf "\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021" >expect &&
	cmp expect raw
'

test_expect_success 'a concatenation of streams is a stream' '
	cat "$C/valid-two-records.fs" "$C/valid-two-records.fs" >two.fs &&
	featinfo -c two.fs >out &&
	echo "4 records, 2 ok, 2 errors" >expect &&
	test_cmp expect out
'

test_expect_success 'a header alone is an empty stream' '
	featinfo -c "$C/header-only.fs" >out &&
	echo "0 records, 0 ok, 0 errors" >expect &&
	test_cmp expect out
'

# Each broken stream: exit 3, one line on stderr naming the problem.
check_broken() {
	test_expect_code 3 featinfo "$C/$1" >out 2>err &&
	test_stderr_one_line err &&
	grep -q "$2" err
}

test_expect_success 'not a featstream: text' 'check_broken text.fs "is not a featstream (it looks like text)"'
test_expect_success 'not a featstream: JPEG' 'check_broken jpeg-bytes.fs "looks like a JPEG image"'
test_expect_success 'unknown version' 'check_broken version-2.fs "version 2.0"'
test_expect_success 'truncated header' 'check_broken truncated-header.fs "cut short"'
test_expect_success 'truncated record' 'check_broken truncated-in-record.fs "truncated"'
test_expect_success 'CRC mismatch' 'check_broken bitflip-payload.fs "CRC mismatch"'
test_expect_success 'absurd size' 'check_broken absurd-size.fs "over the limit"'
test_expect_success 'inconsistent field' 'check_broken too-many-tensors.fs "CRC mismatch\|tensors"'

test_expect_success 'empty input' '
	test_expect_code 3 featinfo </dev/null 2>err &&
	test_stderr_one_line err &&
	grep -q "empty" err
'

test_expect_success 'records before the damage are printed' '
	cat "$C/valid-two-records.fs" "$C/truncated-in-record.fs" >part.fs &&
	test_expect_code 3 featinfo -k part.fs >out 2>err &&
	test_line_count = 2 out
'

# (every 7th under the sanitizers, where a run costs 0.1 s: test_stream
# reads every prefix in one process there too)
step=1
! test_have_prereq SANITIZE || step=7
test_expect_success 'every prefix of a stream: clean end or a named error, never a crash' '
	n=$(wc -c <"$C/valid-two-records.fs") &&
	i=1 &&
	while [ $i -lt $n ]; do
		head -c $i "$C/valid-two-records.fs" >p.fs &&
		{ featinfo p.fs >/dev/null 2>err; rc=$?; } &&
		case $rc in
		0) [ $i -eq 64 ] || [ $i -eq 448 ] || { echo "prefix $i read as complete"; exit 1; } ;;
		3) test_stderr_one_line err ;;
		*) echo "prefix $i: exit $rc"; exit 1 ;;
		esac || exit 1
		i=$((i + step))
	done
'

test_expect_success 'missing file: exit 4' '
	test_expect_code 4 featinfo no-such.fs 2>err &&
	grep -q "no-such.fs: cannot open" err
'

test_expect_success 'bad option: exit 2 with a clear message' '
	test_expect_code 2 featinfo --bogus 2>err &&
	grep -q "^featinfo: unrecognized option" err &&
	test_expect_code 2 featinfo -n x 2>err &&
	grep -q "^featinfo: --values: .x. is not an integer" err
'

test_expect_success '--help and --version' '
	featinfo --help >out && grep -q "^Usage: featinfo" out &&
	featinfo --version >out && grep -q "^featinfo (featkit) " out
'

test_expect_success '--raw writes payloads only: not with -c, -k or -s' '
	test_expect_code 2 featinfo --raw code -c "$C/valid-two-records.fs" >out 2>err &&
	test ! -s out && test_stderr_one_line err
'

test_done
