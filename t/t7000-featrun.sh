#!/bin/sh
# featrun on this machine: the list cut into shards run by GNU parallel,
# merged with every path exactly once; a failing shard retried, then
# reported; --resume reruns only what failed; usage errors in one line.
#
# The pipeline here is a short stand-in (decode, a tiny resize, featwrite):
# what featrun promises does not depend on which programs a shard runs.

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples
P='imgdecode -q | imgprep -q --size 8x8 | featwrite -q -f tsv --max-errors 100%'

if ! command -v parallel >/dev/null 2>&1; then
	test_skip 'featrun over shards' 'GNU parallel is not installed (apt-get install parallel)'
	test_done
fi

test_expect_success 'setup: 200 paths, some broken, one with a backslash' '
	i=0 &&
	while [ $i -lt 20 ]; do
		for f in "$S"/*.jpg; do
			ln -s "$f" "p$i-$(basename "$f")" || exit 1
			echo "$PWD/p$i-$(basename "$f")"
		done
		i=$((i + 1))
	done >list0 &&
	ln -s "$S/scene-0000.jpg" "back\\slash.jpg" &&
	{ head -n 199 list0; echo "$PWD/back\\slash.jpg"; } >list &&
	test_line_count = 200 list
'

test_expect_success 'every path exactly once, in the order of the list' '
	featrun -q -j 2 -l 23 -p "$P" -o out.tsv list &&
	test_line_count = 200 out.tsv &&
	sed "s/\\\\/\\\\\\\\/g" list >want &&
	cut -f1 out.tsv >keys &&
	test_cmp want keys &&
	grep -c "	ok	" out.tsv >n &&
	echo $((200 - $(grep -c "/p[0-9]*-broken.jpg\$" list))) >expect && test_cmp expect n &&
	grep -q "broken.jpg	error	.*" out.tsv &&
	test ! -e out.tsv.featrun
'

test_expect_success 'the same lines as the pipeline run in one piece' '
	sh -c "$P" <list >whole.tsv &&
	test_cmp whole.tsv out.tsv
'

test_expect_success '--index: the codes of every shard in one search index' '
	cat >fakecodes.sh <<-\EOT &&
	# every path gets the same code, its key escaped as featwrite does
	sed "s/\\\\/\\\\\\\\/g; s/\$/	ok	0000ffff0000ffff/"
	EOT
	featrun -q -j 2 -l 30 --index codes.fx -p "sh $PWD/fakecodes.sh" -o c.tsv list &&
	test_line_count = 200 c.tsv &&
	featindex info codes.fx >info &&
	grep -q "200 records, 64-bit codes" info &&
	featsearch -r 0 codes.fx 0000ffff0000ffff >hits &&
	test_line_count = 200 hits
'

test_expect_success 'a shard that keeps failing is reported; --resume reruns only it' '
	cat >filter.sh <<-\EOT &&
	# pass paths on, but die at a poisoned one until ./heal exists
	while read -r p; do
		case $p in *poison*) [ -e "$HEAL" ] || exit 3 ;; esac
		printf "%s\n" "$p"
	done
	EOT
	ln -s "$S/scene-0001.jpg" poison.jpg &&
	{ head -n 100 list0; echo "$PWD/poison.jpg"; sed -n "101,150p" list0; } >plist &&
	HEAL=$PWD/heal && export HEAL &&
	test_expect_code 1 featrun -j 2 -l 20 --retries 2 -p "sh $PWD/filter.sh | $P" -o p.tsv plist 2>err &&
	grep -q "^featrun: 1 of 8 shards failed or did not run; rerun with --resume" err &&
	test ! -e p.tsv &&
	awk -F"\t" "NR > 1 && \$7 != 0" p.tsv.featrun/joblog >failed &&
	test_line_count = 1 failed &&
	grep -q "/\./in/000005" failed &&
	test_line_count = 9 p.tsv.featrun/joblog &&
	touch heal &&
	featrun -q -j 2 --resume --keep -p "ignored: the first run fixed the pipeline" -o p.tsv plist &&
	test_line_count = 10 p.tsv.featrun/joblog &&
	tail -n 1 p.tsv.featrun/joblog >last &&
	grep -q "/\./in/000005" last &&
	test_line_count = 151 p.tsv &&
	cut -f1 p.tsv >keys && test_cmp plist keys
'

test_expect_success '--resume refuses a list that changed, and a run that never began' '
	cp plist plist2 && rm -f heal &&
	test_expect_code 1 featrun -q -j 2 -l 20 --retries 1 -p "sh $PWD/filter.sh | $P" -o q.tsv plist2 2>/dev/null &&
	echo "$PWD/extra.jpg" >>plist2 &&
	test_expect_code 4 featrun --resume -o q.tsv plist2 2>err &&
	test_stderr_one_line err && grep -q "changed since the run began" err &&
	test_expect_code 4 featrun --resume -o never.tsv plist 2>err &&
	test_stderr_one_line err && grep -q "nothing to resume" err
'

test_expect_success 'a second run into the same work directory is refused' '
	test_expect_code 4 featrun -q -p "$P" -o q.tsv plist 2>err &&
	test_stderr_one_line err && grep -q "q.tsv.featrun exists: resume that run with --resume" err
'

test_expect_success 'usage errors: one line, exit 2' '
	test_expect_code 2 featrun list 2>err && test_stderr_one_line err && grep -q "give -o OUT" err &&
	test_expect_code 2 featrun -o x.tsv 2>err && test_stderr_one_line err &&
	test_expect_code 2 featrun -o x.tsv - 2>err && test_stderr_one_line err && grep -q "must be a file" err &&
	test_expect_code 2 featrun -j 0 -o x.tsv list 2>err && test_stderr_one_line err &&
	test_expect_code 2 featrun --retries x -o x.tsv list 2>err && test_stderr_one_line err &&
	test_expect_code 2 featrun --bogus -o x.tsv list 2>err && test_stderr_one_line err &&
	test_expect_code 4 featrun -o x.tsv nosuchlist 2>err && test_stderr_one_line err &&
	featrun --help >help && grep -q "^Usage: featrun" help &&
	featrun --version >v && grep -q "^featrun (featkit) " v
'

test_done
