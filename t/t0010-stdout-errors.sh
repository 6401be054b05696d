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

test_done
