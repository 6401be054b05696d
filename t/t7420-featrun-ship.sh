#!/bin/sh
# featrun --ship: the programs and models go to the hosts as one bundle,
# unpacked once a host into ${TMPDIR:-/tmp}/featkit-TAG, TAG its
# checksum.  The same programs and models make the same bundle, byte for
# byte, whenever it is made, so that every run finds the copy unpacked
# before instead of unpacking another.  (Over real hosts: t7100.  Here
# the shards run on this machine, which unpacks its copy the same way.)

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples
P='imgdecode -q | imgprep -q --size 8x8 | featwrite -q -f tsv --max-errors 100%'

if ! command -v parallel >/dev/null 2>&1; then
	test_skip 'featrun --ship' 'GNU parallel is not installed (apt-get install parallel)'
	test_done
fi

test_expect_success 'setup: some sample photos, two stand-in models' '
	for f in "$S"/scene-000[0-5].jpg; do
		echo "$f" || exit 1
	done >list &&
	test_line_count = 6 list &&
	sh -c "$P" <list >whole.tsv &&
	mkdir m &&
	echo "stand-in one" >m/one.fm && echo "stand-in two" >m/two.fm
'

test_expect_success '--ship: the bundle holds the programs and models; the shards run from its unpacked copy; -q says nothing' '
	mkdir tmp1 &&
	TMPDIR=$PWD/tmp1 featrun -q --ship --keep -j 1 -l 2 -m m \
		-p "command -v imgdecode >>$PWD/which; $P" -o s1.tsv list 2>err &&
	test_cmp whole.tsv s1.tsv &&
	test_line_count = 0 err &&
	tar -tzf s1.tsv.featrun/featkit-bundle.tar.gz >contents &&
	grep -q "^bin/imgdecode$" contents && grep -q "^bin/featwrite$" contents &&
	grep -q "^models/one.fm$" contents && grep -q "^models/two.fm$" contents &&
	tag=$(cksum <s1.tsv.featrun/featkit-bundle.tar.gz | cut -d" " -f1) &&
	ls tmp1 >copies && echo "featkit-$tag" >expect && test_cmp expect copies &&
	cmp m/one.fm "tmp1/featkit-$tag/models/one.fm" &&
	for i in 1 2 3; do echo "$PWD/tmp1/featkit-$tag/bin/imgdecode"; done >expect &&
	test_cmp expect which
'

test_expect_success '--ship: made again later, with the files touched, the bundle is the same, byte for byte; one unpacked copy serves both runs' '
	# a new second on the clock (a tar or gzip header that kept a time
	# would differ), and other times on the models
	t=$(date +%s) && i=0 &&
	while [ "$(date +%s)" = "$t" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1
	done &&
	touch -d "2001-02-03 04:05:06" m/one.fm m/two.fm m &&
	TMPDIR=$PWD/tmp1 featrun -q --ship --keep -j 1 -l 2 -m m -p "$P" -o s2.tsv list &&
	test_cmp whole.tsv s2.tsv &&
	cmp s1.tsv.featrun/featkit-bundle.tar.gz s2.tsv.featrun/featkit-bundle.tar.gz &&
	ls tmp1 >copies && test_line_count = 1 copies
'

test_done
