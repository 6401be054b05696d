#!/bin/sh
# featmatch on imgkeys' keypoints: re-posts of a sample photo made here
# with PIL (on a banner, letterboxed, mirrored and cropped, rotated,
# thumbnailed) are each paired with the original and grouped with it,
# other photos stay out; products moved onto a catalogue background pair
# with their photo, and the keypoints of the detector's box never lower a
# score; error records are skipped and counted; streams
# without keypoints, broken streams and bad options stop with one line.

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples

if ! test_have_prereq PYTHON_PIL; then
	test_skip 'featmatch on re-posts (needs python3-pil, python3-numpy)'
	test_done
fi

cat >"$TRASH/reposts.py" <<\PY
import sys
from PIL import Image, ImageDraw, ImageOps
src, out = sys.argv[1], sys.argv[2]
im = Image.open(src).convert("RGB")
w, h = im.size
ban = Image.new("RGB", (int(w * 1.5), int(h * 1.3)), (40, 90, 160))
ban.paste(im.resize((int(w * 0.75), int(h * 0.75)), Image.BILINEAR), (int(w * 0.7), int(h * 0.3)))
ImageDraw.Draw(ban).text((10, 10), "SALE -50% today only", fill=(255, 255, 0))
ban.save(out + "/banner.jpg", quality=85)
lb = Image.new("RGB", (w, int(w * 16 / 9)), (0, 0, 0))
lb.paste(im, (0, (lb.size[1] - h) // 2))
lb.save(out + "/letterbox.png")
ImageOps.mirror(im).crop((int(w * .08), int(h * .06), int(w * .95), h)).save(out + "/mirror-crop.jpg", quality=70)
im.rotate(4, Image.BICUBIC, expand=True, fillcolor=(255, 255, 255)).save(out + "/rotated.jpg", quality=90)
im.resize((w // 4, h // 4), Image.BOX).resize((w, h), Image.BICUBIC).save(out + "/thumb.jpg", quality=80)
PY

test_expect_success 'help and version' '
	featmatch --help >out &&
	grep "^Usage: featmatch" out &&
	for o in --min-matches --candidates --tolerance --cluster --all --pairs \
		 --format --output --threads; do
		grep -e "$o" out || return 1
	done &&
	featmatch --version >out &&
	grep "^featmatch (featkit) " out
'

test_expect_success 're-posts of one photo, and photos of other scenes' '
	mkdir p &&
	"$PYTHON" reposts.py "$S/scene-0005.jpg" p &&
	cp "$S/scene-0005.jpg" p/orig.jpg &&
	for i in 0 3 4 6 7 8 9; do cp "$S/scene-000$i.jpg" p/other-$i.jpg || return 1; done &&
	ls p/*.jpg p/*.png | sort >list &&
	imgdecode -q <list | imgkeys -q >keys.fs &&
	featinfo keys.fs >info &&
	grep -q "keys" info && grep -q "kdesc" info
'

test_expect_success 'every re-post pairs with the original; no other photo pairs' '
	featmatch -q -p keys.fs >pairs &&
	for r in banner.jpg letterbox.png mirror-crop.jpg rotated.jpg thumb.jpg; do
		awk -v r="p/$r" "(\$1 == r && \$2 == \"p/orig.jpg\") || (\$2 == r && \$1 == \"p/orig.jpg\")" \
			pairs >hit &&
		test_line_count = 1 hit || { echo "missing: $r"; return 1; }
	done &&
	! grep other- pairs &&
	awk "\$3 < 21 { exit 1 }" pairs
'

test_expect_success 'below the bound: other scenes stay under it, a 4-degree turn keeps 60 or more' '
	featmatch -q -p -n 2 keys.fs >low &&
	awk "/other-/ && \$3 >= 21 { exit 1 }" low &&
	awk "\$1 == \"p/orig.jpg\" && \$2 == \"p/rotated.jpg\" && \$3 < 60 { exit 1 }" low
'

test_expect_success 'groups: one group of the original and its re-posts; --all lists the rest' '
	featmatch -q keys.fs >groups &&
	test_line_count = 6 groups &&
	test "$(cut -f1 groups | sort -u)" = 1 &&
	cut -f2 groups | sort >members &&
	printf "p/%s\n" banner.jpg letterbox.png mirror-crop.jpg orig.jpg rotated.jpg thumb.jpg >want &&
	test_cmp want members &&
	featmatch -q -a keys.fs >all &&
	test_line_count = 13 all &&
	test "$(cut -f1 all | sort -u | wc -l)" = 8 &&
	awk -F "\t" "\$2 ~ /other-/ && \$3 != 0 { exit 1 }" all
'

test_expect_success 'the same pairs with one thread and in jsonl; -o writes the file' '
	featmatch -q -p -t 1 keys.fs >pairs1 &&
	test_cmp pairs pairs1 &&
	featmatch -q -p -f jsonl keys.fs >pairs.jsonl &&
	test_line_count = $(wc -l <pairs) pairs.jsonl &&
	grep -q "^{\"key1\":\"p/[a-z-]*\.[a-z]*\",\"key2\":\"p/[a-z-]*\.[a-z]*\",\"matches\":[0-9]*}$" pairs.jsonl &&
	featmatch -q -o out.tsv keys.fs &&
	test_cmp groups out.tsv
'

test_expect_success 'a looser --tolerance agrees with as many keypoints or more' '
	featmatch -q -p -n 2 --tolerance 0.2 keys.fs >loose &&
	awk "{ print \$1 \"|\" \$2, \$3 }" low | sort >a &&
	awk "{ print \$1 \"|\" \$2, \$3 }" loose | sort >b &&
	join a b >both &&
	test_line_count = $(wc -l <low) both &&
	awk "\$3 < \$2 { exit 1 } \$3 > \$2 { more++ } END { exit !more }" both
'

cat >"$TRASH/moved.py" <<\PY
import sys
from PIL import Image
src, out, box = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:7]]
item = Image.open(src).convert("RGB").crop(box)
item = item.resize((int(item.size[0] * 0.7), int(item.size[1] * 0.7)), Image.BILINEAR)
bg = Image.new("RGB", (560, 420), (236, 236, 232))
bg.paste(item, (bg.size[0] - item.size[0] - 60, 40))
bg.save(out, quality=88)
PY

test_expect_success 'products moved onto a plain background: with the box'"'"'s keypoints' '
	mkdir mv &&
	for i in 0 1 2 3 4 5 6 7 8 9; do
		cp "$S/scene-000$i.jpg" mv/scene-$i.jpg &&
		"$PYTHON" moved.py "$S/scene-000$i.jpg" mv/moved-$i.jpg \
			$(grep "^scene-000$i.jpg" "$S/boxes.tsv" | cut -f4-7) || return 1
	done &&
	ls mv/*.jpg >mlist &&
	imgdecode -q <mlist | imgprep -q --for ssd | ssd-detect -q >mdet.fs &&
	imgkeys -q <mdet.fs >mbox.fs &&
	imgkeys -q --no-box <mdet.fs >mphoto.fs &&
	featmatch -q -p -n 2 mbox.fs >with &&
	featmatch -q -p -n 2 mphoto.fs >without &&
	# at the default bound: most moved products pair with their photo, nothing else pairs
	awk "\$3 >= 21" with >found &&
	sed "s,mv/[a-z]*-\([0-9]\)\.jpg,\1,g" found | awk "\$1 != \$2 { exit 1 }" &&
	test $(wc -l <found) -ge 7 &&
	# every pair scores at least what the photo'"'"'s own keypoints give (20
	# photos: every pair is a candidate)
	awk "{ print \$1 \"|\" \$2, \$3 }" without | sort >a &&
	awk "{ print \$1 \"|\" \$2, \$3 }" with | sort >b &&
	join -a 1 -e 0 -o 0,1.2,2.2 a b >both &&
	test_line_count = $(wc -l <a) both &&
	awk "\$3 < \$2 { exit 1 } \$3 > \$2 { more++ } END { exit !more }" both
'

test_expect_success 'a higher bound keeps a subset' '
	featmatch -q -p -n 200 keys.fs >few &&
	awk "\$3 >= 200" pairs >want &&
	test_cmp want few
'

test_expect_success 'error records are skipped and counted' '
	printf "%s\n" "$S/broken.jpg" nonexistent.jpg >bad &&
	cat list bad | imgdecode -q | imgkeys -q | featmatch -p >pairs2 2>err &&
	test_cmp pairs pairs2 &&
	grep "2 error records skipped" err
'

test_expect_success 'a stream without keypoints, a broken stream: exit 3, one line' '
	imgdecode -q <list >img.fs &&
	test_expect_code 3 featmatch img.fs >out 2>err &&
	test_stderr_one_line err && grep "imgkeys" err &&
	featcat -q -d kdesc keys.fs >nodesc.fs &&
	test_expect_code 3 featmatch nodesc.fs 2>err &&
	test_stderr_one_line err &&
	head -c 3000 keys.fs >trunc.fs &&
	test_expect_code 3 featmatch trunc.fs 2>err &&
	test_stderr_one_line err &&
	echo "not a stream" >junk &&
	test_expect_code 3 featmatch junk 2>err &&
	test_stderr_one_line err
'

test_expect_success 'bad options: exit 2, one line' '
	test_expect_code 2 featmatch -n 1 keys.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 featmatch -n x keys.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 featmatch -c nope keys.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 featmatch -f csv keys.fs 2>err && test_stderr_one_line err &&
	test_expect_code 2 featmatch -p -a keys.fs 2>err && test_stderr_one_line err &&
	test_expect_code 4 featmatch no/such/file 2>err && test_stderr_one_line err
'

test_expect_success 'standard input named twice: exit 2, one line, nothing read' '
	test_expect_code 2 featmatch - - <keys.fs >out 2>err &&
	test_stderr_one_line err && grep -q "standard input (-) is named more than once" err &&
	test ! -s out &&
	test_expect_code 2 featmatch keys.fs - - <keys.fs 2>err && test_stderr_one_line err &&
	featmatch -q -p - keys.fs <keys.fs >twice &&
	test -s twice
'

test_expect_success 'keys that appear more than once: one line on stderr, every record kept' '
	featmatch -p keys.fs keys.fs >pairs3 2>err &&
	n=$(wc -l <list) && first=$(head -n 1 list) &&
	grep -q "^featmatch: $n keys appear more than once (first: $first)" err &&
	test $(grep -c "more than once" err) = 1 &&
	grep -q "^$first	$first	" pairs3 &&
	featmatch -q -p keys.fs keys.fs >pairs4 2>err && test ! -s err
'

test_done
