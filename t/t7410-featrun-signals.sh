#!/bin/sh
# featrun and signals: a TERM while shards run stops the run at once (GNU
# parallel and the running jobs with it), writes no OUT, and --resume
# then finishes it with every photo exactly once; a try killed by a
# signal leaves no temporary file behind.

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples
P='imgdecode -q | imgprep -q --size 8x8 | featwrite -q -f tsv --max-errors 100%'
export P  # the shard scripts below run it

if ! command -v parallel >/dev/null 2>&1; then
	test_skip 'featrun and signals' 'GNU parallel is not installed (apt-get install parallel)'
	test_done
fi

# wait_for FILE TENTHS: FILE appears within TENTHS tenths of a second
wait_for() {
	_i=0
	while [ ! -e "$1" ]; do
		_i=$((_i + 1))
		[ $_i -le "$2" ] || { echo "wait_for: no $1 after $(($2 / 10)) seconds" >&2; return 1; }
		sleep 0.1
	done
}

test_expect_success 'setup: the sample photos, one broken' '
	for f in "$S"/*.jpg; do
		ln -s "$f" "p-${f##*/}" && echo "$PWD/p-${f##*/}" || exit 1
	done >list &&
	test_line_count = 15 list &&
	sh -c "$P" <list >whole.tsv && test_line_count = 15 whole.tsv
'

test_expect_success 'TERM while shards run: featrun stops at once, with GNU parallel and the jobs; no OUT; --resume finishes' '
	# each shard says it runs (a file in run/), then waits for ./go (at
	# most ten minutes) before its pipeline: the run cannot end by itself
	# while the test holds go back
	cat >block.sh <<-EOT &&
	touch "$PWD/run/\$\$"
	i=0
	while [ ! -e "$PWD/go" ]; do
		i=\$((i + 1)); [ \$i -lt 6000 ] || exit 1; sleep 0.1
	done
	sh -c "\$P"
	EOT
	mkdir run tmp1 &&
	# every process of the run has $tag in its environment
	tag=FEAT_T7410_TAG=$$.$(date +%s) &&
	{ { env "$tag" TMPDIR="$PWD/tmp1" featrun -j 2 -l 3 -p "sh $PWD/block.sh" -o t.tsv list 2>terr &
	    echo $! >pid; wait $!; echo $? >rc; } & } &&
	# both job slots busy: wait for two shards to start
	i=0 && while [ $(ls run | wc -l) -lt 2 ]; do
		i=$((i + 1)); [ $i -lt 600 ] || { touch go; exit 1; }; sleep 0.1
	done &&
	kill -TERM "$(cat pid)" &&
	# featrun stops within half a minute (it takes a second or two),
	# and leaves nothing running; else go lets the shards end, so that
	# this test leaves nothing running either
	if wait_for rc 300 && test_no_process_left "$tag"; then stopped=1; else stopped=0; fi &&
	touch go && wait_for rc 1200 &&
	test $stopped = 1 &&
	echo 130 >expect && test_cmp expect rc &&
	grep -q "^featrun: interrupted; .*--resume to continue" terr &&
	test ! -e t.tsv &&
	ls -a >files && ! grep "^t\\.tsv\\.tmp" files &&
	featrun -q -j 2 --resume -o t.tsv list &&
	test_cmp whole.tsv t.tsv
'

test_expect_success 'a try killed by a signal leaves no temporary file' '
	# the job of the shard holding p-scene-0004.jpg (the shell GNU
	# parallel started, $1) is sent TERM, as by --timeout or kill, until
	# ./spare exists; its temporary file is made in TMPDIR
	cat >term.sh <<-\EOT &&
	while read -r p; do
		case $p in */p-scene-0004.jpg) [ -e "$SPARE" ] || kill -TERM "$1" ;; esac
		printf "%s\n" "$p"
	done | sh -c "$P"
	EOT
	SPARE=$PWD/spare && export SPARE &&
	mkdir tmp && TMPDIR=$PWD/tmp && export TMPDIR &&
	test_expect_code 1 featrun -j 1 -l 4 --retries 2 -p "sh $PWD/term.sh \$\$" -o k.tsv list 2>err &&
	ls -A tmp >left && test_line_count = 0 left &&
	grep -q "^featrun: 1 of 4 shards failed or did not run" err &&
	awk -F"\t" "NR > 1 && (\$7 == 143 || \$8 == 15)" k.tsv.featrun/joblog >killed &&
	test_line_count = 1 killed &&
	test ! -e k.tsv &&
	touch spare &&
	featrun -q -j 1 --resume -o k.tsv list &&
	test_cmp whole.tsv k.tsv &&
	ls -A tmp >left && test_line_count = 0 left
'

test_done
