#!/bin/sh
# The manual: every page renders without a groff warning (a line that
# begins with a dot is read as a macro and its text vanishes; an unknown
# escape prints garbage), and every program built has its page.

. "$FEAT_TOP/t/test-lib.sh"

M=$FEAT_TOP/man

if command -v groff >/dev/null 2>&1; then
	test_expect_success 'every page renders without a warning' '
		for f in "$M"/man*/*.[0-9]; do
			groff -man -ww -z "$f" 2>"err" || exit 1
			if test -s err; then sed "s|^|$f: |" err; exit 1; fi
		done
	'
else
	test_skip 'every page renders without a warning' 'no groff (apt-get install groff-base)'
fi

test_expect_success 'each program in build/bin has a page' '
	for p in "$FEAT_BIN"/*; do
		n=$(basename "$p")
		test -f "$M/man1/$n.1" || { echo "no man1/$n.1"; exit 1; }
	done
'

test_done
