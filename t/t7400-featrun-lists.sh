#!/bin/sh
# featrun and the lists users have: CRLF line ends, a TAB or a backslash
# in a path, KEY TAB PATH lines (--keyed), a line longer than a record
# key can be; a pipeline whose output does not match the list keeps what
# it covered and names what it missed; a hung shard is killed
# (--timeout); a second run on the same work directory is refused; an
# interrupted run says how to continue.

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples
P='imgdecode -q | imgprep -q --size 8x8 | featwrite -q -f tsv --max-errors 100%'
PK='imgdecode -q -k | imgprep -q --size 8x8 | featwrite -q -f tsv --max-errors 100%'
export P  # the shard scripts below run it

if ! command -v parallel >/dev/null 2>&1; then
	test_skip 'featrun over lists' 'GNU parallel is not installed (apt-get install parallel)'
	test_done
fi

test_expect_success 'setup: the sample photos (one broken), one more named with a TAB and a backslash' '
	for f in "$S"/*.jpg; do
		ln -s "$f" "p-${f##*/}" && echo "$PWD/p-${f##*/}" || exit 1
	done >list0 &&
	head -n 11 list0 >list &&
	ln -s "$S/scene-0000.jpg" "$(printf "ta\\tb\\\\c.jpg")" &&
	printf "%s/ta\\tb\\\\c.jpg\\n" "$PWD" >>list &&
	test_line_count = 12 list &&
	sh -c "$P" <list >whole.tsv && test_line_count = 12 whole.tsv
'

test_expect_success 'a TAB and a backslash in a path: its line is there, escaped as featwrite escapes' '
	featrun -q -j 2 -l 5 -p "$P" -o out.tsv list &&
	test_cmp whole.tsv out.tsv &&
	grep -q "/ta\\\\tb\\\\\\\\c.jpg	ok	" out.tsv
'

test_expect_success 'CRLF line ends: the same output as LF' '
	sed "s/\$/\\r/" list >crlf &&
	featrun -q -j 2 -l 5 -p "$P" -o crlf.tsv crlf &&
	test_cmp whole.tsv crlf.tsv
'

test_expect_success '--keyed: KEY TAB PATH lines, numeric product ids keep their codes' '
	awk "{ printf \"%d\\t%s\\n\", 1000 + NR, \$0 }" list0 >keyed &&
	featrun -q -k -j 2 -l 5 -p "$PK" -o k.tsv keyed &&
	seq 1001 $((1000 + $(wc -l <list0))) >want && cut -f1 k.tsv >keys && test_cmp want keys &&
	sh -c "$P" <list0 | cut -f2- >codes && cut -f2- k.tsv >kcodes &&
	test_cmp codes kcodes
'

test_expect_success '--keyed with the default pipeline (SSD + DeepBit): the ids key the codes' '
	featrun -q -k -j 1 -l 12 -o def.tsv keyed &&
	cut -f1 def.tsv >keys && test_cmp want keys &&
	awk -F"\t" "\$2 == \"ok\" && \$3 ~ /^[0-9a-f]+\$/" def.tsv >coded &&
	test_line_count = $(grep -vc broken.jpg list0) coded &&
	grep -q "	error	truncated JPEG" def.tsv
'

test_expect_success 'a key over 65535 bytes: an error line of its own, the rest coded' '
	{ grep -v broken.jpg list0 | head -n 3; awk "BEGIN { s = \"/x\"; while (length(s) < 70000) s = s \"yyyyyyyyyy\"; print s }"; } >long &&
	featrun -q -j 2 -l 2 -p "$P" -o long.tsv long &&
	test_line_count = 4 long.tsv &&
	grep -c "	ok	" long.tsv >n && echo 3 >expect && test_cmp expect n &&
	awk -F"\\t" "length(\$1) > 70000 && \$2 == \"error\" && \$3 ~ /longer than 65535/" long.tsv >bad &&
	test_line_count = 1 bad
'

test_expect_success 'output that does not match the list: OUT keeps the lines that match, WORKDIR/missing the rest, exit 1' '
	cat >rename.sh <<-\EOT &&
	# answer every line, but under a wrong key for one photo
	sed "s|/p-scene-0003.jpg\$|/renamed.jpg|" | sh -c "$P"
	EOT
	test_expect_code 1 featrun -q -j 2 -l 5 -p "sh $PWD/rename.sh" -o m.tsv list 2>err &&
	test_stderr_one_line err &&
	grep -q "1 paths have no line" err &&
	test_line_count = 11 m.tsv &&
	grep "/p-scene-0003.jpg\$" list >expect && test_cmp expect m.tsv.featrun/missing &&
	grep -q "/renamed.jpg	" m.tsv.featrun/unknown &&
	grep -v "/p-scene-0003.jpg	" whole.tsv >expect && test_cmp expect m.tsv
'

test_expect_success '--timeout: a hung shard is killed, reported as failed' '
	cat >hang.sh <<-\EOT &&
	while read -r p; do
		case $p in */p-scene-0005.jpg) sleep 60 ;; esac
		printf "%s\n" "$p"
	done | sh -c "$P"
	EOT
	test_expect_code 1 featrun -q -j 2 -l 4 --retries 1 --timeout 4 --keep -p "sh $PWD/hang.sh" -o h.tsv list0 2>err &&
	grep -q "of 4 shards failed" err &&
	grep -l "p-scene-0005.jpg" h.tsv.featrun/in/* >hung &&
	test_line_count = 1 hung &&
	awk -F"\t" -v s="$(basename "$(cat hung)")" "NR > 1 && \$9 ~ (\"/in/\" s) && \$7 != 0" h.tsv.featrun/joblog >failed &&
	test_line_count = 1 failed &&
	test ! -e h.tsv &&
	test_expect_code 2 featrun --timeout 0 -o x.tsv list 2>err && test_stderr_one_line err &&
	test_expect_code 2 featrun --timeout 1s -o x.tsv list 2>err && test_stderr_one_line err
'

test_expect_success 'a run holds its work directory; interrupted, it says --resume continues (exit 130); --resume finishes' '
	# the first shard runs; every later one waits for the file go, so
	# that the run is still going when it is killed, however slow the
	# machine
	cat >slow.sh <<-EOT &&
	if [ -e "$PWD/started" ]; then
		while [ ! -e "$PWD/go" ]; do sleep 0.1; done
	fi
	touch "$PWD/started"
	sh -c "\$P"
	EOT
	setsid featrun -j 1 -l 1 -p "sh $PWD/slow.sh" -o i.tsv list0 2>ierr &
	pid=$! &&
	i=0 && while [ ! -s i.tsv.featrun/joblog ] || [ $(wc -l <i.tsv.featrun/joblog) -lt 2 ]; do
		i=$((i + 1)); [ $i -lt 600 ] || exit 1; sleep 0.1
	done &&
	test_expect_code 4 featrun --resume -o i.tsv list0 2>err &&
	test_stderr_one_line err && grep -q "i.tsv.featrun is in use by another featrun" err &&
	test_expect_code 4 featrun -o i.tsv list0 2>err &&
	test_stderr_one_line err && grep -q "i.tsv.featrun exists" err &&
	kill -TERM -$pid &&
	{ wait $pid; echo $? >rc; } &&
	echo 130 >expect && test_cmp expect rc &&
	grep -q "interrupted;.*--resume to continue" ierr &&
	test ! -e i.tsv &&
	touch go &&
	featrun -q --resume -o i.tsv list0 &&
	test_line_count = $(wc -l <list0) i.tsv
'

test_expect_success 'a shard killed by a signal is not done: --resume runs it again' '
	cat >killer.sh <<-\EOT &&
	# the shard holding p-scene-0004.jpg: its job (the shell GNU parallel
	# started, $1) dies by SIGKILL, as by the OOM killer, until ./spare exists
	while read -r p; do
		case $p in */p-scene-0004.jpg) [ -e "$SPARE" ] || kill -9 "$1" ;; esac
		printf "%s\n" "$p"
	done | sh -c "$P"
	EOT
	SPARE=$PWD/spare && export SPARE &&
	test_expect_code 1 featrun -j 1 -l 4 --retries 1 -p "sh $PWD/killer.sh \$\$" -o sig.tsv list 2>err &&
	grep -q "^featrun: 1 of 3 shards failed or did not run" err &&
	test ! -e sig.tsv &&
	touch spare &&
	featrun -q -j 1 --resume -o sig.tsv list &&
	test_cmp whole.tsv sig.tsv
'

test_expect_success 'a pipeline whose output lacks its last newline fails its shard (no two lines joined)' '
	cat >nonl.sh <<-\EOT &&
	sh -c "$P" | awk '"'"'NR > 1 { printf "\n" } { printf "%s", $0 }'"'"'
	EOT
	test_expect_code 1 featrun -j 1 -l 4 --retries 1 -p "sh $PWD/nonl.sh" -o nonl.tsv list 2>err &&
	grep -q "featrun: shard 000000: 4 paths gave 3 lines" nonl.tsv.featrun/out/000000.err &&
	test ! -e nonl.tsv
'

test_expect_success 'braces in the pipeline are the pipeline'"'"'s (not GNU parallel replacement strings)' '
	featrun -q -j 1 -l 5 -p "$P | sed -E \"s/(ok)\\t([0-9a-f]{1})/\\1\\t\\2/\"" -o braces.tsv list &&
	test_cmp whole.tsv braces.tsv &&
	test_expect_code 2 featrun -q -w "wd{#}" -p "$P" -o braces2.tsv list 2>err &&
	test_stderr_one_line err
'

test_expect_success '--resume keeps the models of the run, and refuses others' '
	mkdir -p mA mB &&
	test_expect_code 1 featrun -j 1 -l 4 --retries 1 -m mA -p "sh $PWD/killer.sh \$\$" -o models.tsv list 2>/dev/null &&
	grep -q "^s_models=.*/mA" models.tsv.featrun/settings &&
	test_expect_code 4 featrun -q --resume -m mB -o models.tsv list 2>err &&
	grep -q "the run used the models in .*mA, not .*mB" err &&
	rm -rf models.tsv.featrun
'

test_done
