#!/bin/sh
# imgdecode: where paths come from (arguments, stdin lines, -0, -r) and
# one record per input, in order, keyed by the path as given.
. "$FEAT_TOP/t/test-lib.sh"

D=$TEST_DATA/decode

test_expect_success 'setup: a few files and a directory' '
	cp "$D/baseline.jpg" a.jpg &&
	cp "$D/rgb.png" b.png &&
	cp "$D/truncated.jpg" broken.jpg &&
	mkdir -p dir/sub dir/empty &&
	cp "$D/gray.jpg" dir/z.jpg &&
	cp "$D/palette.png" dir/B.png &&
	cp "$D/text.jpg" dir/sub/notes.jpg &&
	cp "$D/orient6.jpg" dir/sub/a.jpg
'

test_expect_success 'one JPEG: image u8 [H W 3] and origsize {W, H}' '
	imgdecode a.jpg >out.fs &&
	featinfo -n 2 out.fs >info &&
	printf "a.jpg\tok\n\timage\tu8\t[32 48 3]\t20 21 ...\n\torigsize\ti32\t[2]\t48 32\n" >expect &&
	test_cmp expect info
'

test_expect_success 'the pixels are those PIL decodes (JPEG) and numpy wrote (PNG)' '
	imgdecode a.jpg b.png >out.fs &&
	featinfo --raw image out.fs >pix &&
	cat "$D/baseline.rgb" "$D/rgb.rgb" >expect &&
	cmp expect pix
'

test_expect_success 'mixed list: one record per input, in order, right statuses' '
	imgdecode a.jpg b.png broken.jpg missing.jpg dir/ >out.fs 2>err &&
	featinfo -k out.fs >keys &&
	printf "%s\n" "a.jpg	ok" "b.png	ok" "broken.jpg	error	truncated JPEG data" \
		"missing.jpg	error	cannot open: No such file or directory" \
		"dir/	error	is a directory" >expect &&
	test_cmp expect keys &&
	featinfo -c out.fs >count &&
	echo "5 records, 2 ok, 3 errors" >expect &&
	test_cmp expect count
'

test_expect_success 'error records carry no tensors' '
	featinfo --raw image out.fs >pix &&
	cat "$D/baseline.rgb" "$D/rgb.rgb" >expect &&
	cmp expect pix
'

test_expect_success 'paths on standard input, one per line; empty lines skipped' '
	printf "a.jpg\n\nmissing.jpg\n\nb.png\n" >list &&
	imgdecode <list >out.fs &&
	featinfo -k out.fs >keys &&
	printf "%s\n" "a.jpg	ok" "missing.jpg	error	cannot open: No such file or directory" \
		"b.png	ok" >expect &&
	test_cmp expect keys
'

test_expect_success 'a last line without newline is read' '
	printf "a.jpg\nb.png" >list &&
	imgdecode <list >out.fs &&
	featinfo -c out.fs >count &&
	echo "2 records, 2 ok, 0 errors" >expect &&
	test_cmp expect count
'

test_expect_success '-0: NUL-separated paths, newlines and spaces in names kept' '
	cp a.jpg "with
newline.jpg" &&
	cp b.png "with space.png" &&
	printf "with\nnewline.jpg\0with space.png\0\0a.jpg\0" >list0 &&
	imgdecode -0 <list0 >out.fs &&
	featinfo -k out.fs >keys &&
	printf "%s\n" "with\\nnewline.jpg	ok" "with space.png	ok" "a.jpg	ok" >expect &&
	test_cmp expect keys &&
	imgdecode --null <list0 >out2.fs &&
	cmp out.fs out2.fs
'

test_expect_success '-0 with FILE operands is a usage error' '
	test_expect_code 2 imgdecode -0 a.jpg >out.fs 2>err &&
	test_line_count = 1 err &&
	grep -F "imgdecode: -0/--null reads paths from standard input; do not give FILE operands" err &&
	test_must_fail test -s out.fs
'

test_expect_success '-r: every file under a directory, sorted by bytes, depth first' '
	imgdecode -r dir >out.fs &&
	featinfo -k out.fs >keys &&
	printf "%s\n" "dir/B.png	ok" "dir/sub/a.jpg	ok" \
		"dir/sub/notes.jpg	error	not a JPEG or PNG image (it looks like text)" \
		"dir/z.jpg	ok" >expect &&
	test_cmp expect keys
'

test_expect_success '-r: key is the path as given joined with the relative path' '
	imgdecode --recursive dir/ a.jpg >out.fs &&
	featinfo -k out.fs >keys &&
	printf "%s\n" "dir/B.png	ok" "dir/sub/a.jpg	ok" \
		"dir/sub/notes.jpg	error	not a JPEG or PNG image (it looks like text)" \
		"dir/z.jpg	ok" "a.jpg	ok" >expect &&
	test_cmp expect keys
'

test_expect_success '-r: the same order every run, and from stdin too' '
	echo dir >list &&
	imgdecode -r <list >out2.fs &&
	imgdecode -r dir >out3.fs &&
	cmp out2.fs out3.fs
'

test_expect_success '-r: a symlink to a directory is not followed (no loops)' '
	ln -s .. dir/sub/up &&
	imgdecode -r dir >out.fs &&
	featinfo -c out.fs >count &&
	echo "4 records, 3 ok, 1 errors" >expect &&
	test_cmp expect count &&
	rm dir/sub/up
'

test_expect_success '-r: sidecars and system files are skipped and counted, not error records' '
	mkdir -p side/sub &&
	cp "$D/baseline.jpg" side/a.JPG &&
	cp "$D/rgb.png" side/sub/photo-without-extension &&
	cp "$D/text.jpg" side/sub/broken.jpeg &&
	echo "GIF89a but not really" >side/pic.gif &&
	echo "<x:xmpmeta/>" >side/a.xmp &&
	echo notes >side/notes.txt &&
	echo "{}" >side/sub/meta.json &&
	printf "\320\317\021\340\241\261\032\341" >side/Thumbs.db &&
	printf "\000\000\000\001Bud1" >side/.DS_Store &&
	printf "\000\005\026\007\000\002\000\000" >side/._a.JPG &&
	imgdecode -r side >out.fs 2>err &&
	featinfo -k out.fs >keys &&
	printf "%s\n" "side/a.JPG	ok" \
		"side/pic.gif	error	not a JPEG or PNG image (it is a GIF)" \
		"side/sub/broken.jpeg	error	not a JPEG or PNG image (it looks like text)" \
		"side/sub/photo-without-extension	ok" >expect &&
	test_cmp expect keys &&
	echo "imgdecode: skipped 6 files that are not images (-v names them)" >expect &&
	test_cmp expect err &&
	imgdecode -v -r side >out2.fs 2>err &&
	cmp out.fs out2.fs &&
	grep "skipped (not an image)" err | sort >named &&
	printf "imgdecode: side/%s: skipped (not an image)\n" ._a.JPG .DS_Store Thumbs.db \
		a.xmp notes.txt sub/meta.json | sort >expect &&
	test_cmp expect named &&
	imgdecode -q -r side >out3.fs 2>err &&
	test_must_fail test -s err &&
	imgdecode side/a.xmp >out4.fs &&
	featinfo -c out4.fs >count &&
	echo "1 records, 0 ok, 1 errors" >expect &&
	test_cmp expect count
'

test_expect_success 'a directory named with -r that holds no image is an error record, not silence' '
	imgdecode -r dir/empty >out.fs &&
	featinfo -k out.fs >keys &&
	printf "dir/empty\terror\tdirectory holds no images (0 other files skipped)\n" >expect &&
	test_cmp expect keys &&
	mkdir -p only-sidecars/deeper && echo notes >only-sidecars/notes.txt &&
	imgdecode -q -r only-sidecars "$D/baseline.jpg" >out.fs &&
	featinfo -k out.fs >keys &&
	printf "only-sidecars\terror\tdirectory holds no images (1 other files skipped)\n$D/baseline.jpg\tok\n" >expect &&
	test_cmp expect keys
'

test_expect_success 'no input at all: an empty but valid stream, exit 0' '
	imgdecode </dev/null >out.fs &&
	featinfo -c out.fs >count &&
	echo "0 records, 0 ok, 0 errors" >expect &&
	test_cmp expect count
'

test_expect_success 'a long list streams: 20000 paths, one record each' '
	awk "BEGIN { for (i = 0; i < 10000; i++) print \"a.jpg\"; for (i = 0; i < 10000; i++) print \"nope\" }" >list &&
	imgdecode <list >out.fs &&
	featinfo -c out.fs >count &&
	echo "20000 records, 10000 ok, 10000 errors" >expect &&
	test_cmp expect count
'

test_done
