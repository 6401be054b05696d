#!/bin/sh
# deepbit-extract: codes and activations against PyTorch's for two small
# DeepBit-shaped networks that a user would bring as ONNX and import with
# their metadata (contrib/mkdeepbitfixtures.py writes t/data/deepbit/);
# batching, threads, the default model and every error path.

. "$FEAT_TOP/t/test-lib.sh"

D=$TEST_DATA/deepbit
FCMP="$PYTHON $FEAT_TOP/t/lib/fcmp.py"

# codes_hex FILE.fs: the `code` of each ok record, one hex line each
codes_hex() {
	featcat --ok "$1" >ok.$$.fs &&
	featwrite -f tsv --no-status <ok.$$.fs >codes.$$.tsv 2>/dev/null &&
	cut -f2 codes.$$.tsv &&
	rm -f ok.$$.fs codes.$$.tsv
}

test_expect_success 'help and version' '
	deepbit-extract --help >out &&
	grep "^Usage: deepbit-extract" out &&
	for o in --model --batch --threads --feat; do
		grep -e "$o" out || return 1
	done &&
	deepbit-extract --version >out &&
	grep "^deepbit-extract (featkit) " out
'

test_expect_success 'setup: import the ONNX models with their metadata' '
	featmodel import -q -o db.fm --set input.order=bgr --set input.mean=10,20,30 \
		--set input.scale=0.02 --set input.fit=stretch --set code.bits=24 \
		"$D/db.onnx" &&
	featmodel import -q -o gray.fm --set input.order=gray --set input.mean=120 \
		--set input.scale=0.05 --set input.fit=stretch --set code.bits=16 \
		"$D/gray.onnx" &&
	featmodel import -q -o nobits.fm --set input.order=bgr --set input.mean=10,20,30 \
		--set input.scale=0.02 --set input.fit=stretch "$D/db.onnx" &&
	featmodel import -q -o badbits.fm --set input.order=bgr --set input.mean=10,20,30 \
		--set input.scale=0.02 --set input.fit=stretch --set code.bits=32 "$D/db.onnx"
'

test_expect_success 'codes and activations are PyTorch'"'"'s' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	deepbit-extract -m db.fm --feat <prep.fs >out.fs &&
	codes_hex out.fs >codes &&
	test_cmp "$D/db.code" codes &&
	featinfo --raw feat out.fs >feat.f32 &&
	$FCMP --tol 1e-5 feat.f32 "$D/db.feat.f32" &&
	featinfo -n 0 out.fs >info &&
	grep -c "	code	bit	\[24\]" info >n &&
	echo 7 >expect && test_cmp expect n
'

test_expect_success 'a gray model, prepared with imgprep -m' '
	imgprep -m gray.fm <"$D/gray.fs" >prep.fs &&
	featinfo -n 0 prep.fs >info &&
	grep "	input	f32	\[1 10 10\]" info &&
	deepbit-extract -m gray.fm --feat <prep.fs >out.fs &&
	codes_hex out.fs >codes &&
	test_cmp "$D/gray.code" codes &&
	featinfo --raw feat out.fs >feat.f32 &&
	$FCMP --tol 1e-5 feat.f32 "$D/gray.feat.f32"
'

test_expect_success 'without --feat only code is added' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	deepbit-extract -m db.fm <prep.fs >out.fs &&
	featinfo out.fs >info &&
	! grep "	feat	" info &&
	codes_hex out.fs >codes &&
	test_cmp "$D/db.code" codes
'

# The codes are the same whatever the batch; the activations may differ
# in their last bit, since the fast kernels sum in an order that depends
# on the batch's shape (not so the plain C one).
test_expect_success 'the same codes for every batch size, activations to 1e-6' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	deepbit-extract -m db.fm -b 1 <prep.fs >b1.fs &&
	deepbit-extract -m db.fm --feat -b 1 <prep.fs >f1.fs &&
	featinfo --raw feat f1.fs >f1.f32 &&
	for b in 2 3 7 8 9 100; do
		deepbit-extract -m db.fm --batch $b <prep.fs >b.fs &&
		cmp b1.fs b.fs &&
		deepbit-extract -m db.fm --feat --batch $b <prep.fs >f.fs &&
		featinfo --raw feat f.fs >f.f32 &&
		$FCMP --tol 1e-6 f.f32 f1.f32 || return 1
	done
'

test_expect_success 'the plain C kernels: the same stream, bit for bit, for every batch size' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	FEAT_KERNEL=ref deepbit-extract -m db.fm --feat -b 1 <prep.fs >b1.fs &&
	for b in 2 3 8 100; do
		FEAT_KERNEL=ref deepbit-extract -m db.fm --feat --batch $b <prep.fs >b.fs &&
		cmp b1.fs b.fs || return 1
	done
'

test_expect_success 'threads: the same codes' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	FEAT_THREAD_MIN=0 deepbit-extract -m db.fm --feat -t 2 -b 4 <prep.fs >t2.fs &&
	FEAT_THREAD_MIN=0 deepbit-extract -m db.fm --feat --threads 3 <prep.fs >t3.fs &&
	codes_hex t2.fs >c2 && test_cmp "$D/db.code" c2 &&
	codes_hex t3.fs >c3 && test_cmp "$D/db.code" c3 &&
	featinfo --raw feat t2.fs >f2.f32 &&
	$FCMP --tol 1e-5 f2.f32 "$D/db.feat.f32"
'

test_expect_success 'without code.bits K is the size of the output' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	deepbit-extract -m nobits.fm <prep.fs >out.fs &&
	codes_hex out.fs >codes &&
	test_cmp "$D/db.code" codes
'

test_expect_success 'the default model is deepbit from the model directory' '
	mkdir models &&
	cp db.fm models/deepbit.fm &&
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	FEAT_MODELS=$PWD/models deepbit-extract <prep.fs >a.fs &&
	deepbit-extract -m db.fm <prep.fs >b.fs &&
	cmp a.fs b.fs &&
	FEAT_MODELS=$PWD/models imgprep --for deepbit <"$D/in.fs" >prep2.fs &&
	cmp prep.fs prep2.fs
'

test_expect_success 'error records pass through untouched; bad records are named' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	deepbit-extract -m db.fm <prep.fs >out.fs 2>err &&
	test ! -s err &&
	featinfo -k out.fs >keys &&
	test_line_count = 9 keys &&
	grep "^failed.jpg	error	corrupt JPEG data: premature end of data segment$" keys &&
	grep "^no-image	error	imgprep: no .image. tensor" keys &&
	featinfo -n -1 prep.fs >in.txt &&
	featinfo -n -1 out.fs >out.txt &&
	for k in failed.jpg no-image; do
		awk -v k=$k "!/^\t/ { on = (\$1 == k) } on" in.txt >a &&
		awk -v k=$k "!/^\t/ { on = (\$1 == k) } on" out.txt >b &&
		test_cmp a b || return 1
	done
'

test_expect_success 'an input of the wrong shape or none: an error record, the run goes on' '
	imgprep --size 16x13 --bgr <"$D/in.fs" >wrong.fs &&
	deepbit-extract -m db.fm <wrong.fs >out.fs &&
	featinfo -k out.fs >keys &&
	grep "^db-0.jpg	error	deepbit-extract: .input. is f32 \[3 13 16\]; the model needs f32 \[3 12 16\] (prepare it with imgprep -m MODEL)$" keys &&
	imgprep -m gray.fm <"$D/in.fs" >gray.fs &&
	deepbit-extract -m db.fm <gray.fs >out.fs &&
	featinfo -k out.fs >keys &&
	grep "^db-1.jpg	error	deepbit-extract: .input. is f32 \[1 10 10\]; the model needs" keys &&
	deepbit-extract -m db.fm <"$D/in.fs" >out.fs &&
	featinfo -k out.fs >keys &&
	grep "^db-2.jpg	error	deepbit-extract: no .input. tensor (prepare it with imgprep -m MODEL)$" keys &&
	test $(grep -c "	ok" keys) = 0
'

test_expect_success 'wrong and right inputs mixed in one batch: the right ones are exact' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	imgprep --size 5x5 <"$D/in.fs" >small.fs &&
	featcat -n 3 prep.fs small.fs prep.fs >mixed.fs &&
	deepbit-extract -m db.fm -b 4 <mixed.fs >out.fs &&
	featinfo -k out.fs >keys &&
	test $(grep -c "	ok" keys) = 3 &&
	codes_hex out.fs >codes &&
	head -n 3 "$D/db.code" >expect &&
	test_cmp expect codes
'

# model_error CODE ARGS...: exit CODE, one line on stderr, nothing out
model_error() {
	_code=$1 &&
	shift &&
	test_expect_code $_code deepbit-extract "$@" <prep.fs >out 2>err &&
	test ! -s out &&
	test_stderr_one_line err &&
	grep "^deepbit-extract: " err
}

test_expect_success 'a model that is not there: exit 4' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	mkdir empty &&
	FEAT_MODELS=$PWD/empty model_error 4 &&
	grep "model .deepbit. not found" err &&
	model_error 4 -m ./missing.fm
'

test_expect_success 'a model that is not a DeepBit model: exit 3, why' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	model_error 3 -m "$TEST_DATA/nets/deepbit.fm" &&
	grep "the model has 1 inputs and 2 outputs; a DeepBit model has one of each" err &&
	model_error 3 -m badbits.fm &&
	grep "metadata .code.bits. says 32 but the output has 24 values" err &&
	echo "not a model" >bad.fm &&
	model_error 3 -m bad.fm
'

test_expect_success 'the dedup model averages with the mirror image: a mirrored photo gets the same code' '
	/usr/bin/python3 -c "
from PIL import Image, ImageOps
im = Image.open(\"$FEAT_TOP/contrib/samples/scene-0003.jpg\").convert(\"RGB\")
im.save(\"a.png\"); ImageOps.mirror(im).save(\"m.png\")" &&
	imgdecode -q a.png m.png | imgprep -q -m dedup >am.fs &&
	deepbit-extract -q -m dedup <am.fs | featwrite -q -f tsv --no-status | cut -f2 >codes &&
	test $(sort -u codes | wc -l) = 1 &&
	deepbit-extract -q -m dedup --no-mirror <am.fs | featwrite -q -f tsv --no-status | cut -f2 >plain &&
	test $(sort -u plain | wc -l) = 2 &&
	deepbit-extract -q -m dedup --no-mirror --feat <am.fs | featwrite -q -f jsonl >nm.jsonl &&
	deepbit-extract -q -m dedup --feat <am.fs | featwrite -q -f jsonl >m.jsonl &&
	/usr/bin/python3 -c "
import json, sys
a, b = [json.loads(l)[\"feat\"] for l in open(\"nm.jsonl\")]
m = json.loads(open(\"m.jsonl\").readline())[\"feat\"]
err = max(abs(x - (y + z) / 2) for x, y, z in zip(m, a, b))
sys.exit(0 if err < 1e-5 else \"mean of the two passes off by %g\" % err)" &&
	deepbit-extract -q --mirror -m db.fm <prep.fs >/dev/null
'

# code.mirror reads as ssd.mirror does: true or false (1 or 0); anything
# else is refused, not read as off ("true" was).
test_expect_success 'code.mirror: true, false, 1 or 0; anything else refused' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	deepbit-extract -m db.fm --mirror --feat <prep.fs >on.fs &&
	deepbit-extract -m db.fm --no-mirror --feat <prep.fs >off.fs &&
	! cmp -s on.fs off.fs &&
	for v in true 1 false 0; do
		featmodel import -q -o m$v.fm --set input.order=bgr --set input.mean=10,20,30 \
			--set input.scale=0.02 --set input.fit=stretch --set code.bits=24 \
			--set code.mirror=$v "$D/db.onnx" &&
		deepbit-extract -m m$v.fm --feat <prep.fs >m$v.fs || return 1
	done &&
	cmp mtrue.fs on.fs && cmp m1.fs on.fs &&
	cmp mfalse.fs off.fs && cmp m0.fs off.fs &&
	for v in yes 2 on; do
		featmodel import -q -o bad$v.fm --set code.mirror=$v "$D/db.onnx" &&
		test_expect_code 3 deepbit-extract -m bad$v.fm <prep.fs >out 2>err &&
		test_stderr_one_line err &&
		grep -q "metadata .code.mirror.: expected true or false" err &&
		test ! -s out || return 1
	done
'

test_expect_success 'usage errors: exit 2, one line' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	for args in "-b 0" "-b 5000" "-t 0" "-t 65" "--batch x" "-m" "--bogus" "extra"; do
		model_error 2 $args || return 1
	done
'

test_expect_success 'input that is not a featstream: exit 3; truncated: the records before' '
	echo "a.jpg" >paths &&
	test_expect_code 3 deepbit-extract -m db.fm <paths >out 2>err &&
	test_stderr_one_line err &&
	grep "deepbit-extract: standard input is not a featstream" err &&
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	n=$(wc -c <prep.fs) &&
	head -c $((n - 100)) prep.fs >trunc.fs &&
	test_expect_code 3 deepbit-extract -m db.fm -b 3 <trunc.fs >out.fs 2>err &&
	test_stderr_one_line err &&
	test_expect_code 3 featinfo -k out.fs >keys 2>err &&
	grep -q "without its end mark" err &&
	test_line_count = 8 keys
'

test_expect_success '-q, -v and --progress do not change the stream' '
	imgprep -m db.fm <"$D/in.fs" >prep.fs &&
	deepbit-extract -q -m db.fm <prep.fs >a.fs &&
	deepbit-extract -v --progress -m db.fm <prep.fs >b.fs 2>err &&
	grep "input 3x12x16, 24-bit codes, batch 8, 1 thread" err &&
	cmp a.fs b.fs
'

test_done
