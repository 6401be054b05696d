#!/bin/sh
# The pipeline end to end: paths in, one line per path out, bad files
# reported with their reason, the exit status documented in featwrite(1);
# the second half (cropbox, imgprep -m, deepbit-extract) with a model a
# user imports, and the whole of it with the shipped models once they
# and ssd-detect are there.

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples

test_expect_success 'setup: a JPEG, a PNG and a broken JPEG' '
	cp "$S/scene-0000.jpg" a.jpg &&
	"$PYTHON" -c "from PIL import Image; Image.open(\"$S/scene-0001.jpg\").save(\"b.png\")" &&
	cp "$S/broken.jpg" broken.jpg
'

test_expect_success 'three paths give three lines, the broken one with its reason' '
	printf "%s\n" a.jpg b.png broken.jpg >list &&
	imgdecode <list >dec.fs &&
	imgprep --for ssd300 <dec.fs >prep.fs &&
	test_expect_code 1 featwrite -f tsv <prep.fs >out.tsv 2>err &&
	test_line_count = 3 out.tsv &&
	cut -f1,2 out.tsv >keys &&
	printf "a.jpg\tok\nb.png\tok\nbroken.jpg\terror\n" >expect &&
	test_cmp expect keys &&
	grep "^broken.jpg	error	" out.tsv >bad &&
	grep -qi "truncat\|premature" bad &&
	grep -q "3 records in, 2 ok, 1 error" err
'

# (each stage's status kept in a file: the shell gives only the last's)
test_expect_success 'the same as one shell pipeline' '
	{ imgdecode <list; echo $? >dec.rc; } | { imgprep --for ssd300; echo $? >prep.rc; } |
		test_expect_code 1 featwrite -f tsv >pipe.tsv 2>err &&
	echo 0 >zero && test_cmp zero dec.rc && test_cmp zero prep.rc &&
	grep -q "3 records in, 2 ok, 1 error" err &&
	test_cmp out.tsv pipe.tsv
'

test_expect_success 'the SSD input is 3x300x300 BGR minus the mean' '
	featinfo -k prep.fs >k &&
	imgprep --for ssd300 <dec.fs | featcat --ok -t input >in.fs &&
	featinfo in.fs >info &&
	grep -c "input	f32	\[3 300 300\]" info >n &&
	echo 2 >expect && test_cmp expect n
'

test_expect_success 'with an allowance of one error the run succeeds' '
	featwrite -f tsv --max-errors 1 <prep.fs >out2.tsv 2>err &&
	test_cmp out.tsv out2.tsv
'

test_expect_success 'setup: a DeepBit model imported from ONNX' '
	featmodel import -q -o db.fm --set input.order=bgr --set input.mean=10,20,30 \
		--set input.scale=0.02 --set input.fit=stretch --set code.bits=24 \
		"$TEST_DATA/deepbit/db.onnx"
'

test_expect_success 'the second half: crop, prepare, code, one line per path' '
	cropbox --margin 0.05 <dec.fs >crop.fs &&
	imgprep -m db.fm --drop-image <crop.fs >prep2.fs &&
	deepbit-extract -m db.fm -b 2 <prep2.fs >codes.fs &&
	test_expect_code 1 featwrite -f tsv <codes.fs >codes.tsv 2>err &&
	test_line_count = 3 codes.tsv &&
	cut -f1,2 codes.tsv >keys &&
	printf "a.jpg\tok\nb.png\tok\nbroken.jpg\terror\n" >expect &&
	test_cmp expect keys &&
	grep -E "^a.jpg	ok	[0-9a-f]{6}$" codes.tsv &&
	grep -E "^b.png	ok	[0-9a-f]{6}$" codes.tsv
'

test_expect_success 'the second half as one shell pipeline' '
	{ imgdecode <list; echo $? >dec.rc; } | { cropbox --margin 0.05; echo $? >crop.rc; } |
		{ imgprep -m db.fm --drop-image; echo $? >prep.rc; } |
		{ deepbit-extract -m db.fm -b 2; echo $? >db.rc; } |
		test_expect_code 1 featwrite -f tsv >pipe2.tsv 2>err &&
	echo 0 >zero && test_cmp zero dec.rc && test_cmp zero crop.rc &&
	test_cmp zero prep.rc && test_cmp zero db.rc &&
	grep -q "3 records in, 2 ok, 1 error" err &&
	test_cmp codes.tsv pipe2.tsv
'

M=$FEAT_TOP/models
if command -v ssd-detect >/dev/null 2>&1 && test -f "$M/ssd.fm" && test -f "$M/deepbit.fm"; then
	test_expect_success 'the whole pipeline with the shipped models' '
		FEAT_MODELS=$M && export FEAT_MODELS &&
		printf "%s\n" a.jpg b.png broken.jpg >list &&
		imgdecode <list >d.fs &&
		imgprep --for ssd <d.fs >p.fs &&
		ssd-detect <p.fs >s.fs &&
		cropbox <s.fs >c.fs &&
		imgprep --for deepbit <c.fs >q.fs &&
		deepbit-extract <q.fs >e.fs &&
		test_expect_code 1 featwrite -f tsv <e.fs >all.tsv 2>err &&
		test_line_count = 3 all.tsv &&
		grep -E "^a.jpg	ok	[0-9a-f]{16}$" all.tsv &&
		grep -E "^b.png	ok	[0-9a-f]{16}$" all.tsv &&
		grep "^broken.jpg	error	" all.tsv
	'
else
	test_skip 'the whole pipeline with the shipped models' 'ssd-detect or models/ not there yet'
fi

test_done
