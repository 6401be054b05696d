#!/bin/sh
# The foundation's pipeline end to end: paths in, one line per path out,
# bad files reported with their reason, the exit status documented in
# featwrite(1).

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
	imgprep --for ssd <dec.fs >prep.fs &&
	test_expect_code 1 featwrite -f tsv <prep.fs >out.tsv 2>err &&
	test_line_count = 3 out.tsv &&
	cut -f1,2 out.tsv >keys &&
	printf "a.jpg\tok\nb.png\tok\nbroken.jpg\terror\n" >expect &&
	test_cmp expect keys &&
	grep "^broken.jpg	error	" out.tsv >bad &&
	grep -qi "truncat\|premature" bad &&
	grep -q "3 records in, 2 ok, 1 error" err
'

test_expect_success 'the same as one shell pipeline' '
	printf "%s\n" a.jpg b.png broken.jpg | imgdecode | imgprep --for ssd | featwrite -f tsv >pipe.tsv 2>/dev/null;
	test_cmp out.tsv pipe.tsv
'

test_expect_success 'the SSD input is 3x300x300 BGR minus the mean' '
	featinfo -k prep.fs >k &&
	imgprep --for ssd <dec.fs | featcat --ok -t input >in.fs &&
	featinfo in.fs >info &&
	grep -c "input	f32	\[3 300 300\]" info >n &&
	echo 2 >expect && test_cmp expect n
'

test_expect_success 'with an allowance of one error the run succeeds' '
	featwrite -f tsv --max-errors 1 <prep.fs >out2.tsv 2>err &&
	test_cmp out.tsv out2.tsv
'

test_done
