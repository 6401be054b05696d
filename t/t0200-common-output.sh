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
	grep -q "write error: No space left on device" err &&
	test_expect_code 4 featinfo --raw image a.fs >/dev/full 2>err &&
	grep -q "write error: No space left on device" err
'

test_expect_success 'a stream tool that cannot write its output says so once, and exits 4' '
	# (once: feat_die names the write error; the check at exit, which
	# would find the same error on standard output, stays quiet)
	S=$FEAT_TOP/contrib/samples &&
	imgdecode -q "$S/scene-0000.jpg" "$S/scene-0001.jpg" >two.fs &&
	for c in featwrite "featwrite -f jsonl" "featwrite -f bin" featcat \
		"imgprep --size 8x8" cropbox featinfo; do
		test_expect_code 4 $c <two.fs >/dev/full 2>err &&
		test_stderr_one_line err &&
		grep -q "^${c%% *}: .*write error" err ||
		{ echo "$c said:"; cat err; return 1; }
	done
'

test_done
