#!/bin/sh
# contrib/hadoop/mapper against Hadoop Streaming's contract, run as a task
# runs it: from the unpacked -archives directory, lines in on standard
# input, featwrite's KEY TAB STATUS TAB CODE-OR-REASON lines out (as
# featrun writes them), only reporter: lines on standard error,
# exit 0 whatever the photos were like and non-zero for a fault of the
# whole task.

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples
# After imgdecode; the codes themselves are the pipeline's business
# (t9000), so a stand-in that always works keeps this test to the contract.
STANDIN='imgprep -q --size 8x8 | featwrite -q -f tsv --max-errors 100%'

test_expect_success 'setup: the archive, unpacked as a task sees it' '
	"$FEAT_TOP/contrib/hadoop/mkarchive" -o featkit.tar.gz -b "$FEAT_BIN" 2>mk.err &&
	mkdir featkit && tar -xzf featkit.tar.gz -C featkit &&
	test -x featkit/mapper && test -x featkit/bin/imgdecode && test -x featkit/bin/featwrite &&
	test -f featkit/models/ssd.fm && test -f featkit/models/deepbit.fm &&
	cat >fetch.sh <<-\EOT &&
	# FEAT_FETCH stand-in: copy file://PATH to $1, fail for anything else
	case $2 in file://*) cp "${2#file://}" "$1" ;; *) echo "no route to $2" >&2; exit 6 ;; esac
	EOT
	{
		echo "$S/scene-0000.jpg"
		echo "$S/broken.jpg"
		printf "0\t%s\n" "$S/scene-0001.jpg"
		echo ""
		echo "file://$S/scene-0002.jpg"
		echo "https://nowhere.invalid/x.jpg"
		echo "$PWD/missing.jpg"
	} >input
'

run_mapper() {
	mkdir -p tmp &&
	env -i PATH=/usr/bin:/bin HOME="$HOME" TMPDIR="$PWD/tmp" FEAT_PIPELINE="$STANDIN" \
		FEAT_FETCH="sh $PWD/fetch.sh" "$@" ./featkit/mapper <input >out 2>err
}

test_expect_success 'one line per input line, keys as given, bad ones answered' '
	run_mapper &&
	cut -f1 out | sort >keys &&
	printf "%s\n" "$S/scene-0000.jpg" "$S/broken.jpg" "0\\t$S/scene-0001.jpg" \
		"file://$S/scene-0002.jpg" "https://nowhere.invalid/x.jpg" "$PWD/missing.jpg" | sort >expect &&
	test_cmp expect keys &&
	grep -q "^$S/broken.jpg	error	" out &&
	grep -q "^https://nowhere.invalid/x.jpg	error	fetch failed: no route to" out &&
	grep -q "^$PWD/missing.jpg	error	cannot open" out &&
	grep -q "^file://$S/scene-0002.jpg	ok	image=" out &&
	grep -q "^$S/scene-0000.jpg	ok	image=" out &&
	rmdir tmp
'

test_expect_success 'standard error holds reporter lines only, with the counters' '
	! grep -v "^reporter:\(status\|counter\):" err &&
	awk -F, "/^reporter:counter:featkit,records,/ { n += \$3 } END { print n }" err >n &&
	echo 6 >expect && test_cmp expect n &&
	awk -F, "/^reporter:counter:featkit,errors,/ { n += \$3 } END { print n }" err >n &&
	echo 4 >expect && test_cmp expect n &&
	grep -q "^reporter:counter:featkit,fetch-errors,1$" err
'

test_expect_success 'a long silence (model loading) is covered by status lines' '
	STANDIN="sh -c \"sleep 3; cat\" | $STANDIN" &&
	run_mapper FEAT_KEEPALIVE=1 &&
	test "$(grep -c "^reporter:status:featkit: loading models$" err)" -ge 2 &&
	test_line_count = 6 out
'

test_expect_success 'a numeric first field is kept (a product id is no offset) unless FEAT_SKIP_OFFSET=1' '
	run_mapper &&
	grep -q "^0\\\\t$S/scene-0001.jpg	error	a TAB in the line" out &&
	run_mapper FEAT_SKIP_OFFSET=1 &&
	grep -q "^$S/scene-0001.jpg	ok	" out &&
	grep -q "^$S/scene-0000.jpg	error	no offset field" out &&
	test_line_count = 6 out
'

test_expect_success 'FEAT_KEYED=1: KEY TAB PATH-OR-URL lines, product ids key the output; CRLF read as LF' '
	printf "1001\t%s\r\n1002\tfile://%s\n1003\thttps://nowhere.invalid/y.jpg\nno-tab-here\n" \
		"$S/scene-0003.jpg" "$S/scene-0004.jpg" >input &&
	run_mapper FEAT_KEYED=1 &&
	printf "1001\tok\n1002\tok\n1003\terror\nno-tab-here\terror\n" >expect &&
	cut -f1,2 out | sort >got && test_cmp expect got &&
	sh -c "imgdecode -q $S/scene-0004.jpg | $STANDIN" | cut -f3 >expect &&
	grep "^1002	" out | cut -f3 >got && test_cmp expect got &&
	rmdir tmp
'

test_expect_success 'the default fetch is curl -g: a URL with brackets is fetched once, not globbed' '
	mkdir -p stub &&
	cat >stub/curl <<-\EOT &&
	#!/bin/sh
	echo "$*" >>"$CURL_LOG"
	for a; do u=$a; done
	for a; do case $a in -g|--globoff) g=1 ;; esac; done
	[ "${g:-}" = 1 ] || { echo "curl: (3) bad range in URL" >&2; exit 3; }
	while [ $# -gt 1 ]; do [ "$1" = -o ] && o=$2; shift; done
	cp "'"$S"'/scene-0005.jpg" "$o"
	EOT
	chmod +x stub/curl &&
	echo "https://cdn.example/p/[1-3].jpg" >input &&
	mkdir -p tmp &&
	env -i PATH="$PWD/stub:/usr/bin:/bin" HOME="$HOME" TMPDIR="$PWD/tmp" CURL_LOG="$PWD/curl.log" \
		FEAT_PIPELINE="$STANDIN" ./featkit/mapper <input >out 2>err &&
	test_line_count = 1 curl.log &&
	grep -q "^https://cdn.example/p/\[1-3\].jpg	ok	" out
'

test_expect_success 'the default pipeline from the archive: a 64-bit code per photo' '
	rm -rf tmp && mkdir tmp &&
	printf "%s\n" "$S/scene-0000.jpg" "$S/broken.jpg" "$S/scene-0001.jpg" >input &&
	env -i PATH=/usr/bin:/bin HOME="$HOME" TMPDIR="$PWD/tmp" ./featkit/mapper <input >out 2>err &&
	test_line_count = 3 out &&
	grep -c "^$S/scene-000[01].jpg	ok	[0-9a-f]\{16\}$" out >n && echo 2 >expect && test_cmp expect n &&
	grep -q "^$S/broken.jpg	error	" out
'

test_expect_success 'a fault of the whole task exits non-zero with a reason' '
	STANDIN="sh -c \"exit 3\"" &&
	test_must_fail run_mapper &&
	grep -q "^reporter:status:featkit: .*the pipeline failed (exit 3)" err &&
	mv featkit/bin/imgdecode featkit/bin/imgdecode.away &&
	test_must_fail run_mapper &&
	grep -q "imgdecode not found" err &&
	mv featkit/bin/imgdecode.away featkit/bin/imgdecode
'

test_expect_success 'the keepalive holds no output open after the mapper ends: a reader of its stderr is not kept waiting' '
	# FEAT_KEEPALIVE an hour: a sleep of the keepalive that held the
	# task'"'"'s stderr (or stdout) would keep cat from its end of file for
	# that long; timeout stops the wait at a minute, a run takes a second
	printf "%s\n" "$S/scene-0000.jpg" >input &&
	mkdir -p tmp &&
	tag=FEAT_T7200_TAG=$$.$(date +%s) &&
	{
		timeout 60 sh -c '"'"'
			{ env -i PATH=/usr/bin:/bin HOME="$HOME" TMPDIR="$PWD/tmp" FEAT_PIPELINE="$1" \
				FEAT_KEEPALIVE=3600 "$2" ./featkit/mapper <input 2>&1 >out; echo $? >rc; } | cat >err
		'"'"' - "$STANDIN" "$tag" ||
		{ echo "the mapper'"'"'s stderr was still open a minute after the start" >&2; false; }
	} &&
	echo 0 >expect && test_cmp expect rc &&
	test_line_count = 1 out &&
	grep -q "^reporter:status:featkit: starting$" err &&
	! grep -v "^reporter:\(status\|counter\):" err &&
	# and nothing of the run is left: the keepalive loop and its sleep
	# end with the mapper
	test_no_process_left "$tag" &&
	rmdir tmp
'

test_done
