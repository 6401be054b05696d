#!/bin/sh
# The library's photo-to-code API (feat_coder(3)) as a user's C program
# sees it: contrib/api/photocode, linked against libfeat.so through
# feat.h alone, gives the pipeline's codes bit for bit, reports bad
# photos as errors and goes on; libfeat.so exports what feat.h and the
# headers it includes (include/feat/*.h) declare, and nothing else.

. "$FEAT_TOP/t/test-lib.sh"

PC=$FEAT_EXAMPLES/photocode
S=$FEAT_TOP/contrib/samples
export FEAT_MODELS="$FEAT_TOP/models"

test_expect_success 'libfeat.so exports exactly the functions feat.h'"'"'s headers declare' '
	so=$(ls "$FEAT_EXAMPLES"/../../libfeat.so.*.*.*) &&
	nm -D --defined-only "$so" | awk "\$2 == \"T\" { print \$3 }" | sort >exported &&
	sed -n "s/^FEAT_API .*[ *]\(feat_[a-z0-9_]*\)(.*/\1/p" \
		"$FEAT_TOP/include/feat.h" "$FEAT_TOP"/include/feat/*.h |
		sort -u >declared &&
	test $(wc -l <declared) -gt 100 &&
	diff declared exported
'

test_expect_success 'each public header compiles on its own, in C and C++' '
	for h in feat.h $(cd "$FEAT_TOP/include" && ls feat/*.h); do
		printf "#include <%s>\n" "$h" >one.c &&
		${CC:-cc} -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only \
			-I"$FEAT_TOP/include" one.c || return 1
		if command -v ${CXX:-c++} >/dev/null; then
			${CXX:-c++} -x c++ -Wall -Werror -fsyntax-only -I"$FEAT_TOP/include" one.c ||
				return 1
		fi
	done
'

test_expect_success 'photo to code: the pipeline'"'"'s codes and errors' '
	(cd "$S" && ls *.jpg) >list &&
	(cd "$S" && imgdecode -q <"$OLDPWD/list" | imgprep -q --for ssd | ssd-detect -q |
		cropbox -q | imgprep -q --for deepbit | deepbit-extract -q |
		featwrite -q -f tsv -e 100%) >pipe.tsv &&
	test $(grep -c "	ok	" pipe.tsv) -ge 14 &&
	grep -q "^broken.jpg	error	" pipe.tsv &&
	(cd "$S" && test_expect_code 1 "$PC" $(cat "$OLDPWD/list")) >api.tsv &&
	diff pipe.tsv api.tsv
'

test_expect_success 'the whole photo with the near-duplicate model' '
	(cd "$S" && ls scene-000[0-3]*.jpg) >list2 &&
	(cd "$S" && imgdecode -q <"$OLDPWD/list2" | imgprep -q --for dedup |
		deepbit-extract -q -m dedup | featwrite -q -f tsv) >pipe2.tsv &&
	(cd "$S" && "$PC" -w -m dedup $(cat "$OLDPWD/list2")) >api2.tsv &&
	diff pipe2.tsv api2.tsv &&
	test $(cut -f3 api2.tsv | awk "{ print length(\$0) }" | sort -u) = 32
'

test_expect_success 'the box described lies in the photo and is the crop cropbox cuts' '
	"$PC" -v "$S/scene-0000.jpg" >v.tsv &&
	box=$(cut -f4 v.tsv) &&
	echo "$S/scene-0000.jpg" | imgdecode -q | imgprep -q --for ssd | ssd-detect -q |
		cropbox -q >crop.fs &&
	featinfo --raw crop crop.fs >crop.f32 &&
	$PYTHON -c "
import struct, sys
c = list(struct.unpack(\"<6f\", open(\"crop.f32\", \"rb\").read()))
b = [float(v) for v in sys.argv[1].split(\",\")]
assert c[:4] == b, (c, b)
assert c[4] > 0, c
assert 0 <= b[0] < b[2] <= 480 and 0 <= b[1] < b[3] <= 360, b
" "$box"
'

test_expect_success 'a photo that cannot be read is an error line; the others are coded' '
	test_expect_code 1 "$PC" "$S/scene-0001.jpg" no-such.jpg "$S/scene-0002.jpg" >out &&
	test $(wc -l <out) = 3 &&
	grep -q "^no-such.jpg	error	cannot open: No such file" out &&
	test $(grep -c "	ok	" out) = 2
'

test_expect_success 'feat_net(3) through libfeat.so: featmodel info'"'"'s layers, featmodel run'"'"'s outputs' '
	NP=$FEAT_EXAMPLES/netpass &&
	"$NP" deepbit >layers &&
	featmodel info deepbit | sed -n "s/^\([0-9][0-9]*\)  *\([a-z0-9_]*\)[+a-z0-9]*  *\([^ ]*\) .*/\1	\2	\3/p" >want &&
	cut -f1-3 layers >got &&
	test $(wc -l <want) -gt 5 &&
	test_cmp want got &&
	"$PYTHON" -c "import numpy as np; np.random.seed(3); np.random.uniform(-1, 1, 3 * 32 * 32).astype(\"<f4\").tofile(\"in.f32\")" &&
	featmodel run deepbit in.f32 ref &&
	"$NP" deepbit in.f32 api &&
	ls ref.*.f32 >refs && test $(wc -l <refs) -ge 1 &&
	for f in ref.*.f32; do cmp "$f" "api.${f#ref.}" || return 1; done &&
	test_expect_code 3 "$NP" ./no-such.fm 2>err && test $(wc -l <err) = 1
'

test_expect_success 'a model that cannot be found: one line, exit 4' '
	test_expect_code 4 "$PC" -m no-such-model "$S/scene-0001.jpg" >out 2>err &&
	test ! -s out &&
	test $(wc -l <err) = 1 &&
	grep -q "model .no-such-model. not found" err
'

test_expect_success 'a file that is not a model: one line, exit 3' '
	printf "not a model" >bad.fm &&
	test_expect_code 3 "$PC" -w -m ./bad.fm "$S/scene-0001.jpg" 2>err &&
	test $(wc -l <err) = 1
'

test_done
