#!/bin/sh
# imgdecode: every kind of bad input becomes an error record with a
# one-line reason, and the run goes on to the next path with exit 0.
. "$FEAT_TOP/t/test-lib.sh"

D=$TEST_DATA/decode

test_expect_success 'each broken file: error record with the reason, between good ones' '
	cat >cases <<-\EOF &&
	empty.jpg	empty file
	text.jpg	not a JPEG or PNG image (it looks like text)
	gif.png	not a JPEG or PNG image (it is a GIF)
	truncated.jpg	truncated JPEG data
	truncated-header.jpg	truncated JPEG data
	truncated-2bytes.jpg	truncated JPEG data
	badsof.jpg	corrupt JPEG: Unsupported JPEG data precision 12
	huge.jpg	image is 60000x60000 (3600000000 pixels), over the limit of 100000000 pixels
	truncated.png	truncated PNG data
	truncated-sig.png	truncated PNG data
	badcrc.png	corrupt PNG: IDAT: CRC error
	baddist.png	corrupt PNG: IDAT: invalid distance too far back
	huge.png	image is 100000x100000 (10000000000 pixels), over the limit of 100000000 pixels
	zerowidth.png	corrupt PNG: Invalid IHDR data
	EOF
	: >list && : >expect &&
	while IFS="	" read -r f why; do
		echo "$D/baseline.jpg" >>list &&
		echo "$D/$f" >>list &&
		echo "$D/baseline.jpg	ok" >>expect &&
		echo "$D/$f	error	$why" >>expect || return 1
	done <cases &&
	imgdecode <list >out.fs 2>err &&
	featinfo -k out.fs >keys &&
	test_cmp expect keys &&
	test_must_fail test -s err
'

test_expect_success 'the good records around them are intact' '
	featinfo --raw image out.fs >pix &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do cat "$D/baseline.rgb"; done >expect &&
	cmp expect pix
'

test_expect_success 'data lost in the middle (cut and closed, bad Huffman code): error records' '
	cat >cases <<-\EOF &&
	claims-10000.jpg	corrupt JPEG data: premature end of data segment
	cut-eoi.jpg	corrupt JPEG data: premature end of data segment
	badhuff.jpg	corrupt JPEG data: bad Huffman code
	badmarker.jpg	corrupt JPEG data: premature end of data segment
	cut-idat.png	corrupt PNG: Not enough image data
	EOF
	: >list && : >expect &&
	while IFS="	" read -r f why; do
		echo "$D/$f" >>list &&
		echo "$D/$f	error	$why" >>expect || return 1
	done <cases &&
	echo "$D/extraneous.jpg" >>list &&
	echo "$D/extraneous.jpg	ok" >>expect &&
	imgdecode <list >out.fs 2>err &&
	featinfo -k out.fs >keys &&
	test_cmp expect keys
'

test_expect_success '--allow-truncated: the JPEGs decode, their lost part filled in' '
	imgdecode --allow-truncated "$D/cut-eoi.jpg" "$D/badhuff.jpg" "$D/cut-idat.png" \
		"$D/truncated.jpg" >out.fs 2>err &&
	featinfo -k out.fs >keys &&
	printf "%s\n" "$D/cut-eoi.jpg	ok" "$D/badhuff.jpg	ok" \
		"$D/cut-idat.png	error	corrupt PNG: Not enough image data" \
		"$D/truncated.jpg	error	corrupt JPEG: Invalid JPEG file structure: missing SOS marker" \
		>expect &&
	test_cmp expect keys &&
	echo "imgdecode: 2 files had corrupt JPEG data that the decoder recovered from (-v names them; --strict rejects them)" >expect &&
	test_cmp expect err &&
	featinfo --raw image out.fs >pix &&
	test $(wc -c <pix) -eq $((2 * $(wc -c <"$D/baseline.rgb"))) &&
	imgdecode --allow-truncated --strict "$D/cut-eoi.jpg" >out.fs &&
	featinfo -k out.fs >keys &&
	echo "$D/cut-eoi.jpg	error	corrupt JPEG data: premature end of data segment" >expect &&
	test_cmp expect keys
'

test_expect_success '-v prints each error record with its path' '
	imgdecode -v "$D/truncated.jpg" "$D/baseline.jpg" >out.fs 2>err &&
	echo "imgdecode: $D/truncated.jpg: truncated JPEG data" >expect &&
	test_cmp expect err
'

test_expect_success 'a bit-flipped JPEG does not stop the run' '
	imgdecode "$D/bitflip.jpg" "$D/baseline.jpg" >out.fs &&
	featinfo -c out.fs >count &&
	grep "^2 records" count
'

test_expect_success 'bogus EXIF is ignored: the picture decodes unrotated' '
	imgdecode "$D/exif-bogus-offset.jpg" "$D/exif-bogus-count.jpg" >out.fs &&
	featinfo --raw image out.fs >pix &&
	cat "$D/orient1.rgb" "$D/orient1.rgb" >expect &&
	cmp expect pix
'

test_expect_success 'every prefix of a JPEG and a PNG: one record each, exit 0' '
	n=$(wc -c <"$D/progressive.jpg") && i=0 && : >list &&
	while [ $i -lt $n ]; do
		head -c $i "$D/progressive.jpg" >p$i.jpg &&
		echo p$i.jpg >>list && i=$((i + 37)) || return 1
	done &&
	n=$(wc -c <"$D/interlaced.png") && i=0 &&
	while [ $i -lt $n ]; do
		head -c $i "$D/interlaced.png" >q$i.png &&
		echo q$i.png >>list && i=$((i + 37)) || return 1
	done &&
	imgdecode <list >out.fs &&
	featinfo -k out.fs >keys &&
	wc -l <list >n1 && wc -l <keys >n2 && test_cmp n1 n2 &&
	test_must_fail grep "	ok" keys
'

if test_have_prereq ROOT; then
	test_skip 'an unreadable file: permission denied' 'running as root, which reads anything'
else
	test_expect_success 'an unreadable file: permission denied' '
		cp "$D/baseline.jpg" locked.jpg && chmod 000 locked.jpg &&
		imgdecode locked.jpg >out.fs &&
		featinfo -k out.fs >keys &&
		echo "locked.jpg	error	cannot open: Permission denied" >expect &&
		test_cmp expect keys
	'
fi

test_expect_success 'a file that is a directory, a FIFO with image bytes (--any-file)' '
	mkdir d && mkfifo fifo &&
	{ cat "$D/rgb.png" >fifo & } &&
	timeout 20 imgdecode --any-file d fifo >out.fs &&
	wait &&
	featinfo -k out.fs >keys &&
	printf "%s\n" "d	error	is a directory" "fifo	ok" >expect &&
	test_cmp expect keys
'

test_expect_success 'a FIFO or a device in the list is an error record, not a hang' '
	mkfifo fifo.jpg &&
	printf "%s\n" fifo.jpg /dev/zero "$TEST_DATA/decode/baseline.jpg" >list &&
	timeout 20 imgdecode <list >out.fs &&
	featwrite -f tsv -e 100% out.fs >out.tsv &&
	grep -q "^fifo.jpg	error	not a regular file" out.tsv &&
	grep -q "^/dev/zero	error	not a regular file" out.tsv &&
	grep -q "baseline.jpg	ok" out.tsv
'

test_expect_success '--any-file reads a device, bounded by --max-bytes' '
	echo /dev/zero | timeout 20 imgdecode --any-file --max-bytes 1M >z.fs &&
	featwrite -f tsv -e 100% z.fs >z.tsv &&
	grep -q "^/dev/zero	error	file is over the limit of 1048576 bytes" z.tsv
'

test_done
