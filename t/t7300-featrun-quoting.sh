#!/bin/sh
# featrun: option values and paths reach the shards and GNU parallel as
# data, never as shell code or as several words.

. "$FEAT_TOP/t/test-lib.sh"

if ! command -v parallel >/dev/null 2>&1; then
	test_skip 'featrun quoting' 'GNU parallel is not installed (apt-get install parallel)'
	test_done
fi

test_expect_success '-m with quotes and ; runs nothing' '
	P="printenv FEAT_MODELS >\"$PWD/seen\"; while read -r p; do printf \"%s\tok\tff\n\" \"\$p\"; done" &&
	printf "a\nb\n" >list &&
	featrun -q -j 1 -p "$P" -m "x'"'"';touch P;'"'"'" -o out.tsv list &&
	test ! -e P &&
	test_line_count = 2 out.tsv &&
	echo "$PWD/x'"'"';touch P;'"'"'" >expect &&
	test_cmp expect seen
'

test_expect_success '-o with a space, & and |, -S with a space: every shard runs, every path once' '
	P="while read -r p; do printf \"%s\tok\tff\n\" \"\$p\"; done" &&
	seq 1 12 | sed "s|^|/x/|" >list12 &&
	featrun -q -j 2 -l 3 -p "$P" -o "a b&c|d.tsv" list12 &&
	cut -f1 "a b&c|d.tsv" >keys && test_cmp list12 keys &&
	mkdir "h s" && echo ":" >"h s/host list" &&
	featrun -q -S "h s/host list" -l 3 -p "$P" -o "x y.tsv" list12 2>/dev/null &&
	cut -f1 "x y.tsv" >keys && test_cmp list12 keys
'

test_done
