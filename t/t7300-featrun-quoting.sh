#!/bin/sh
# featrun: option values reach the shards as data, never as shell code.

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

test_done
