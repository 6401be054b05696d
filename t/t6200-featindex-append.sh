#!/bin/sh
# featindex append: two appends to one index at once both land (a lock,
# not a lost update), and the index keeps its mode.

. "$FEAT_TOP/t/test-lib.sh"

test_expect_success 'setup: an index of 100 codes, two files of 3000 more' '
	awk "BEGIN { for (i = 0; i < 100; i++) printf \"b%d\t%016x\n\", i, i * 7919 }" >base.tsv &&
	awk "BEGIN { for (i = 0; i < 3000; i++) printf \"x%d\t%016x\n\", i, i * 104729 + 1 }" >x.tsv &&
	awk "BEGIN { for (i = 0; i < 3000; i++) printf \"y%d\t%016x\n\", i, i * 1299709 + 3 }" >y.tsv &&
	featindex build -q -o ix base.tsv &&
	chmod 644 ix
'

test_expect_success 'two appends at once: both exit 0, no record lost, mode kept' '
	for round in 1 2 3; do
		featindex build -q -o ix base.tsv || return 1
		featindex append -q ix x.tsv & a=$!
		featindex append -q ix y.tsv & b=$!
		wait $a && wait $b &&
		featindex info ix >info &&
		grep -q " 6100 records" info || { cat info; return 1; }
	done &&
	test "$(stat -c %a ix)" = 644 &&
	featindex check ix >/dev/null
'

test_done
