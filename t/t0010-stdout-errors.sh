#!/bin/sh
# Every program notices a failed write to standard output: --help and
# --version to a full device exit non-zero with a message on stderr.

. "$FEAT_TOP/t/test-lib.sh"

for p in cropbox deepbit-extract featcat featdedup featdraw featindex \
	featinfo featmodel featrun featsearch featwrite imgdecode imgprep \
	ssd-detect
do
	for o in --help --version
	do
		test_expect_success "$p $o to /dev/full fails with a message" "
			test_must_fail $p $o >/dev/full 2>err &&
			test -s err
		"
	done
done

test_expect_success 'featindex info and check to /dev/full exit 4 with a message' '
	printf "a\t00ff00ff00ff00ff\nb\t0f0f0f0f0f0f0f0f\n" >db.tsv &&
	featindex build -o db.fix db.tsv &&
	featindex info db.fix >/dev/null &&
	test_expect_code 4 featindex info db.fix >/dev/full 2>err &&
	grep -q "write error" err &&
	test_expect_code 4 featindex check db.fix >/dev/full 2>err &&
	grep -q "write error" err
'

test_done
