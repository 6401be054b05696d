#!/bin/sh
# Every program: what it prints reaches standard output, or it says so and
# exits 4 (a full disk, a closed descriptor): --help and --version, and the
# reports of featindex and featinfo, to /dev/full.

. "$FEAT_TOP/t/test-lib.sh"

[ -w /dev/full ] || { test_skip "/dev/full" "no /dev/full here"; test_done; exit 0; }

PROGS="cropbox deepbit-extract featcat featdedup featdraw featindex featinfo
featmodel featsearch featwrite imgdecode imgprep ssd-detect"

test_expect_success '--help and --version to a full disk exit 4 with a message' '
	for p in $PROGS; do
		test_expect_code 4 $p --help >/dev/full 2>err &&
		grep -q "^$p: write error on standard output" err &&
		test_expect_code 4 $p --version >/dev/full 2>err &&
		grep -q "^$p: write error on standard output" err || return 1
	done
'

test_expect_success '--help to a pipe or file still exits 0' '
	for p in $PROGS; do
		$p --help >help.txt && test -s help.txt || return 1
	done
'

test_expect_success 'featindex info and featinfo to a full disk exit 4' '
	printf "a\t0f3a5c0f3a5c0f3a\nb\t0f3a5c0f3a5c0f3b\n" >codes.tsv &&
	featindex build -o ix.fix codes.tsv &&
	test_expect_code 4 featindex info ix.fix >/dev/full 2>err &&
	grep -q "write error" err &&
	imgdecode "$FEAT_TOP/contrib/samples/scene-0000.jpg" >a.fs &&
	test_expect_code 4 featinfo a.fs >/dev/full 2>err &&
	grep -q "write error" err
'

test_done
