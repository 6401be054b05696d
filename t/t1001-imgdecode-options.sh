#!/bin/sh
# imgdecode: every option does what the manual says; bad options exit 2
# with one clear message (plus the shared "Try --help" hint).
. "$FEAT_TOP/t/test-lib.sh"

D=$TEST_DATA/decode

# usage_error FILE MESSAGE: stderr is one line, "imgdecode: MESSAGE" (the
# shared helper may append a hint to see --help on that line).
usage_error() {
	test_line_count = 1 "$1" &&
	grep -F "imgdecode: $2" "$1"
}

test_expect_success '--help and --version go to stdout, exit 0' '
	imgdecode --help >out &&
	grep "^Usage: imgdecode" out &&
	grep -e "--min-side N" out &&
	grep -e "--max-pixels N" out &&
	imgdecode -h >out2 && test_cmp out out2 &&
	imgdecode --version >v &&
	grep "^imgdecode (featkit) [0-9]" v
'

test_expect_success 'refuses to write the binary stream to a terminal' '
	script -qec "imgdecode $D/baseline.jpg; echo rc=\$?" /dev/null >tty.out </dev/null &&
	grep "refusing to write a binary featstream to a terminal" tty.out &&
	grep "rc=2" tty.out
'

test_expect_success 'a write error on stdout is a systemic fault: exit 4, one line' '
	test_expect_code 4 imgdecode "$D/baseline.jpg" >/dev/full 2>err &&
	test_line_count = 1 err &&
	grep "^imgdecode: standard output: write error: No space left on device" err
'

test_expect_success 'unknown option: exit 2' '
	test_expect_code 2 imgdecode --bogus "$D/baseline.jpg" >out.fs 2>err &&
	test_line_count = 1 err &&
	grep "^imgdecode: .*option.*--bogus" err &&
	test_must_fail test -s out.fs
'

test_expect_success 'bad numbers: exit 2 naming the option and the value' '
	test_expect_code 2 imgdecode --min-side x a >o 2>err &&
	usage_error err "--min-side: '"'"'x'"'"' is not an integer from 0 to 65535" &&
	test_expect_code 2 imgdecode --min-side -3 a >o 2>err &&
	usage_error err "--min-side: '"'"'-3'"'"' is not an integer from 0 to 65535" &&
	test_expect_code 2 imgdecode --max-pixels 12Q a >o 2>err &&
	usage_error err "--max-pixels: '"'"'12Q'"'"' is not a positive count (digits with an optional K, M or G)" &&
	test_expect_code 2 imgdecode --max-pixels 0 a >o 2>err &&
	test_expect_code 2 imgdecode --max-pixels -5 a >o 2>err &&
	test_expect_code 2 imgdecode --max-bytes "" a >o 2>err &&
	test_expect_code 2 imgdecode --max-bytes 99999999999999999999 a >o 2>err &&
	usage_error err "--max-bytes: '"'"'99999999999999999999'"'"' is not a positive count (digits with an optional K, M or G)" &&
	test_expect_code 2 imgdecode --background 1,2 a >o 2>err &&
	usage_error err "--background: expected one or three comma-separated numbers, got '"'"'1,2'"'"'" &&
	test_expect_code 2 imgdecode --background 0,256,0 a >o 2>err &&
	usage_error err "--background: '"'"'0,256,0'"'"': each of R,G,B must be an integer from 0 to 255" &&
	test_expect_code 2 imgdecode --background 0,1.5,0 a >o 2>err &&
	test_expect_code 2 imgdecode --min-side >o 2>err
'

test_expect_success '--min-side: smallest M/8 (M = 1, 2, 3, 4, 8) keeping the short side >= N' '
	imgdecode --min-side 32 "$D/scale96x64.jpg" >out.fs &&
	featinfo out.fs >info &&
	grep "image	u8	\[32 48 3\]" info &&
	grep "origsize	i32	\[2\]	96 64" info &&
	featinfo --raw image out.fs >pix &&
	cmp "$D/scale96x64-half.rgb" pix &&
	imgdecode --min-side 17 "$D/scale96x64.jpg" >out.fs &&
	featinfo out.fs >info &&
	grep "image	u8	\[24 36 3\]" info &&
	imgdecode --min-side 33 "$D/scale96x64.jpg" >out.fs &&
	featinfo out.fs >info &&
	grep "image	u8	\[64 96 3\]" info &&
	imgdecode --min-side 1 "$D/scale96x64.jpg" >out.fs &&
	featinfo out.fs >info &&
	grep "image	u8	\[8 12 3\]" info
'

test_expect_success '--min-side never enlarges, and leaves PNG alone' '
	imgdecode --min-side 300 "$D/scale96x64.jpg" "$D/rgb.png" >out.fs &&
	featinfo out.fs >info &&
	grep "image	u8	\[64 96 3\]" info &&
	grep "image	u8	\[32 48 3\]" info
'

test_expect_success 'EXIF orientation is applied; --no-orient keeps the stored picture' '
	for o in 1 2 3 4 5 6 7 8; do
		imgdecode "$D/orient$o.jpg" >o$o.fs &&
		featinfo --raw image o$o.fs >o$o.pix &&
		cmp "$D/orient$o.rgb" o$o.pix &&
		imgdecode --no-orient "$D/orient$o.jpg" >n$o.fs &&
		featinfo --raw image n$o.fs >n$o.pix &&
		cmp "$D/orient1.rgb" n$o.pix || return 1
	done &&
	featinfo o6.fs >info &&
	grep "image	u8	\[48 32 3\]" info &&
	grep "origsize	i32	\[2\]	32 48" info
'

test_expect_success '--background: transparent PNG pixels over the given colour' '
	imgdecode "$D/rgba.png" >w.fs &&
	featinfo --raw image w.fs >w.pix &&
	cmp "$D/rgba.rgb" w.pix &&
	imgdecode --background 0,128,255 "$D/rgba.png" >c.fs &&
	featinfo --raw image c.fs >c.pix &&
	cmp "$D/rgba-bg.rgb" c.pix
'

test_expect_success '--max-pixels: a file over it is an error record naming its size' '
	imgdecode --max-pixels 1535 "$D/baseline.jpg" "$D/rgb.png" >out.fs &&
	featinfo -k out.fs >keys &&
	printf "%s\n" \
		"$D/baseline.jpg	error	image is 48x32 (1536 pixels), over the limit of 1535 pixels" \
		"$D/rgb.png	error	image is 48x32 (1536 pixels), over the limit of 1535 pixels" >expect &&
	test_cmp expect keys &&
	imgdecode --max-pixels 1536 "$D/baseline.jpg" >out.fs &&
	featinfo -c out.fs >count &&
	echo "1 records, 1 ok, 0 errors" >expect &&
	test_cmp expect count
'

test_expect_success '--max-pixels suffixes K M G are powers of 1000; default 100M' '
	imgdecode --max-pixels 1K "$D/baseline.jpg" >out.fs &&
	featinfo -k out.fs >keys &&
	grep "over the limit of 1000 pixels" keys &&
	imgdecode --max-pixels 2k "$D/baseline.jpg" >out.fs &&
	featinfo -c out.fs >count && grep "1 ok" count &&
	imgdecode --max-pixels 3G "$D/huge.jpg" >out.fs &&
	featinfo -k out.fs >keys &&
	grep "over the limit of 3000000000 pixels" keys &&
	imgdecode "$D/huge.png" >out.fs &&
	featinfo -k out.fs >keys &&
	grep "image is 100000x100000 (10000000000 pixels), over the limit of 100000000 pixels" keys
'

test_expect_success '--max-bytes: a larger file is an error record, not read' '
	imgdecode --max-bytes 924 "$D/baseline.jpg" >out.fs &&
	featinfo -k out.fs >keys &&
	echo "$D/baseline.jpg	error	file is 925 bytes, over the limit of 924 bytes" >expect &&
	test_cmp expect keys &&
	imgdecode --max-bytes 1K "$D/baseline.jpg" >out.fs &&
	featinfo -c out.fs >count && grep "1 ok" count &&
	imgdecode --max-bytes 1k "$D/rgb.png" >out.fs &&
	featinfo -k out.fs >keys &&
	grep "file is 1612 bytes, over the limit of 1024 bytes" keys
'

test_expect_success 'recovered corruption: record ok, counted in one summary line' '
	imgdecode "$D/extraneous.jpg" "$D/badmarker.jpg" "$D/baseline.jpg" >out.fs 2>err &&
	featinfo -c out.fs >count &&
	echo "3 records, 3 ok, 0 errors" >expect &&
	test_cmp expect count &&
	echo "imgdecode: 2 files had corrupt JPEG data that the decoder recovered from (-v names them; --strict rejects them)" >expect &&
	test_cmp expect err &&
	featinfo --raw image out.fs >pix &&
	head -c 4608 pix >first &&
	cmp "$D/baseline.rgb" first
'

test_expect_success '-v names each recovered file; -q says nothing' '
	imgdecode -v "$D/extraneous.jpg" "$D/baseline.jpg" >out.fs 2>err &&
	grep "^imgdecode: $D/extraneous.jpg: recovered from corrupt JPEG data: 3 extraneous bytes before marker 0xdb (1 warning)\$" err &&
	grep "^imgdecode: 1 file had corrupt JPEG data that the decoder recovered from\$" err &&
	test_line_count = 2 err &&
	imgdecode -q "$D/extraneous.jpg" "$D/missing.jpg" >out.fs 2>err &&
	test_must_fail test -s err
'

test_expect_success '--strict: recovered corruption becomes an error record' '
	imgdecode --strict "$D/extraneous.jpg" "$D/badmarker.jpg" "$D/baseline.jpg" >out.fs 2>err &&
	featinfo -k out.fs >keys &&
	printf "%s\n" \
		"$D/extraneous.jpg	error	corrupt JPEG data: 3 extraneous bytes before marker 0xdb" \
		"$D/badmarker.jpg	error	corrupt JPEG data: premature end of data segment" \
		"$D/baseline.jpg	ok" >expect &&
	test_cmp expect keys &&
	test_must_fail test -s err
'

test_expect_success '--fast: same shape, pixels close to the accurate decode' '
	imgdecode --fast "$D/baseline.jpg" >out.fs &&
	featinfo out.fs >info &&
	grep "image	u8	\[32 48 3\]" info &&
	featinfo --raw image out.fs >pix &&
	test_have_prereq PYTHON_PIL &&
	"$PYTHON" -c "import numpy as np, sys
a = np.fromfile(\"pix\", np.uint8).astype(int)
b = np.fromfile(\"$D/baseline.rgb\", np.uint8).astype(int)
sys.exit(0 if a.size == b.size and abs(a - b).mean() < 4 else 1)"
'

test_expect_success '--keyed: KEY TAB PATH lines, the key kept, the file read' '
	printf "sku-1\t%s\nsku-2\t%s\nno-tab\n" "$D/baseline.jpg" "$PWD/missing.jpg" >keyed &&
	imgdecode -k <keyed >k.fs &&
	featinfo -k k.fs >kk &&
	cut -f1 kk >keys &&
	printf "sku-1\nsku-2\nno-tab\n" >expect && test_cmp expect keys &&
	featinfo --raw image k.fs >pix &&
	cmp pix "$D/baseline.rgb" &&
	featwrite -f tsv -e 100% k.fs >out.tsv 2>/dev/null &&
	grep -q "^sku-2	error	cannot open" out.tsv &&
	grep -q "^no-tab	error	no TAB between key and path" out.tsv &&
	test_expect_code 2 imgdecode -k "$D/baseline.jpg" 2>err && test_stderr_one_line err
'

test_expect_success '--progress: a progress line on stderr, the stream unchanged' '
	imgdecode --progress "$D/baseline.jpg" "$D/rgb.png" >p.fs 2>err &&
	grep "imgdecode: 2 records of 2 (100%)" err &&
	test_stderr_one_line err &&
	! grep -q "$(printf "\\033")" err &&
	! grep -q "$(printf "\\r")" err &&
	printf "%s\\n" "$D/baseline.jpg" "$D/rgb.png" | imgdecode --progress >/dev/null 2>err &&
	grep "^imgdecode: 2 records, " err &&
	imgdecode "$D/baseline.jpg" "$D/rgb.png" >n.fs &&
	cmp p.fs n.fs
'

test_done
