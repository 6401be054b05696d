#!/bin/sh
# featsearch --image: a query photo coded in-process must get the code the
# plain pipeline (imgdecode | imgprep | ssd-detect | cropbox | imgprep |
# deepbit-extract) gives it, so its neighbours are those of that code: the
# photo itself at distance 0 and its duplicate where the pipeline's codes
# put it.  The dedup pipeline (whole photo, 128 bits) likewise.  A photo
# that cannot be coded is one line on stderr and exit 1, the other queries
# answered.

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples

test_expect_success 'setup: the samples through the plain pipelines, as indexes' '
	ls "$S"/*.jpg >list &&
	imgdecode <list >dec.fs &&
	imgprep --for ssd <dec.fs | ssd-detect | cropbox | imgprep --for deepbit \
		| deepbit-extract >code.fs &&
	test_expect_code 1 featwrite --no-status -f tsv <code.fs >db.tsv 2>/dev/null &&
	test_line_count = 14 db.tsv &&
	featindex build -o db.fix db.tsv &&
	imgprep --for dedup <dec.fs | deepbit-extract -m dedup >dedup.fs &&
	test_expect_code 1 featwrite -f bin -o dedup.fcd <dedup.fs 2>/dev/null &&
	test_expect_code 1 featwrite --no-status <dedup.fs >dedup.tsv 2>/dev/null
'

# same DB.tsv DB K: featsearch --image on every photo of DB.tsv must print
# what featsearch prints for the pipeline's codes of them (DB.tsv as the
# query file: the same query names), and find each photo at distance 0.
same() {
	set -- "$1" "$2" "$3" &&
	cut -f1 "$1" >keys &&
	while IFS= read -r key; do
		set -- "$@" --image "$key"
	done <keys &&
	db=$2 k=$3 tsv=$1 && shift 3 &&
	featsearch -k $k "$@" "$db" >got &&
	featsearch -k $k "$db" "$tsv" >want &&
	test_cmp want got &&
	while IFS= read -r key; do
		grep -q -F -x "$key	$key	0" got || return 1
	done <keys
}

test_expect_success 'each photo gets the pipeline.s code: same neighbours, itself at 0' '
	same db.tsv db.fix 5
'

test_expect_success 'a duplicate is among the neighbours where the pipeline.s codes put it' '
	for n in 0 1 2 3; do
		d=$("$PYTHON" -c "
import sys
c = dict(l.rstrip(\"\\n\").split(\"\\t\") for l in open(\"db.tsv\"))
a = int(c[\"$S/scene-000$n.jpg\"], 16)
b = int(c[\"$S/scene-000$n-dup$n.jpg\"], 16)
print(bin(a ^ b).count(\"1\"))") &&
		featsearch -r $d --image "$S/scene-000$n.jpg" db.fix >got &&
		grep -q -F -x "$S/scene-000$n.jpg	$S/scene-000$n-dup$n.jpg	$d" got || return 1
	done
'

test_expect_success 'a 128-bit database: the dedup pipeline on the whole photo by default' '
	same dedup.tsv dedup.fcd 4 &&
	featsearch -v -k 1 --image "$S/scene-0005.jpg" dedup.fcd >/dev/null 2>err &&
	grep -q "detector none, descriptor dedup" err
'

test_expect_success 'several photos and hex queries in one run, in order' '
	hex=$(sed -n 1p db.tsv | cut -f2) &&
	featsearch -k 2 -i "$S/scene-0001.jpg" --image "$S/scene-0004.jpg" db.fix $hex >got &&
	{ featsearch -k 2 --image "$S/scene-0001.jpg" db.fix &&
	  featsearch -k 2 --image "$S/scene-0004.jpg" db.fix &&
	  featsearch -k 2 db.fix $hex; } >want &&
	test_cmp want got
'

test_expect_success 'a photo that cannot be coded: one line, exit 1, the others answered' '
	echo "not a photo" >notes.jpg &&
	# -k 2: the re-upload scene-0003-dup3.jpg may get the same code
	test_expect_code 1 featsearch -k 2 --image "$S/broken.jpg" --image "$S/scene-0003.jpg" \
		--image missing.jpg --image notes.jpg db.fix >got 2>err &&
	test_line_count = 3 err &&
	grep -q -F "featsearch: $S/broken.jpg: truncated JPEG data" err &&
	grep -q -F "featsearch: missing.jpg: cannot open" err &&
	grep -q -F "featsearch: notes.jpg: not a JPEG or PNG image" err &&
	test_line_count = 2 got &&
	test $(cut -f 1 got | sort -u) = "$S/scene-0003.jpg" &&
	grep -q -F -x "$S/scene-0003.jpg	$S/scene-0003.jpg	0" got
'

test_expect_success '-m MODEL names the descriptor; -m N is still --substrings' '
	featsearch -k 3 --image "$S/scene-0006.jpg" db.fix >want &&
	featsearch -k 3 -m deepbit --image "$S/scene-0006.jpg" db.fix >got &&
	test_cmp want got &&
	test_expect_code 2 featsearch -m dedup --image "$S/scene-0006.jpg" db.fix 2>err &&
	grep -q "dedup gives 128-bit codes" err &&
	hex=$(sed -n 3p db.tsv | cut -f2) &&
	featsearch -k 4 -m 2 db.tsv $hex >got &&
	featsearch -k 4 --substrings 2 db.tsv $hex >want &&
	test_cmp want got &&
	featsearch -k 4 --scan db.tsv $hex >want &&
	test_cmp want got
'

test_expect_success 'usage: a descriptor of another width, model options without --image' '
	test_expect_code 2 featsearch --model deepbit --image "$S/scene-0003.jpg" dedup.fcd 2>err &&
	test_stderr_one_line err &&
	grep -q "deepbit gives 64-bit codes; the database holds 128-bit" err &&
	test_expect_code 2 featsearch --model deepbit db.fix 0123456789abcdef 2>err &&
	test_stderr_one_line err &&
	test_expect_code 4 featsearch --model nosuchmodel --image "$S/scene-0003.jpg" db.fix 2>err &&
	test_stderr_one_line err
'

test_done
