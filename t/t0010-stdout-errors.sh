#!/bin/sh
# What t0200 leaves out: featrun (a shell script) and featindex check notice
# a failed write to standard output and exit 4 with a message.

. "$FEAT_TOP/t/test-lib.sh"

[ -w /dev/full ] || { test_skip "/dev/full" "no /dev/full here"; test_done; exit 0; }

test_expect_success 'featrun --help and --version to /dev/full exit 4 with a message' '
	test_expect_code 4 featrun --help >/dev/full 2>err &&
	grep -q "^featrun: write error on standard output" err &&
	test_expect_code 4 featrun --version >/dev/full 2>err &&
	grep -q "^featrun: write error on standard output" err &&
	featrun --help >help.txt && test -s help.txt
'

test_expect_success 'featindex check to /dev/full exits 4 with a message' '
	printf "a\\t00ff00ff00ff00ff\\nb\\t0f0f0f0f0f0f0f0f\\n" >db.tsv &&
	featindex build -o db.fix db.tsv &&
	featindex check db.fix >/dev/null &&
	test_expect_code 4 featindex check db.fix >/dev/full 2>err &&
	grep -q "write error" err
'

test_done
