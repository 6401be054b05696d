#!/bin/sh
# featmodel fitcodes: codes fitted (PCA + ITQ) to a layer's features, on
# 300 crops of the sample photos prepared for the shipped descriptor and
# cut after its 256-wide /Relu; checked against a numpy PCA + ITQ on the
# same features (contrib/itqref.py), the features against the layer that
# follows them, the codes through deepbit-extract and featdedup; then
# every refusal.

. "$FEAT_TOP/t/test-lib.sh"

M=$FEAT_TOP/models/deepbit.fm
REF="$PYTHON $FEAT_TOP/contrib/itqref.py"

# meta FILE.fm KEY: the value featmodel info shows
meta() {
	featmodel info "$1" >info.$$ &&
	sed -n "s/^  $2	//p" info.$$ &&
	rm -f info.$$
}

test_expect_success 'help names fitcodes and its options' '
	featmodel --help >out &&
	for o in fitcodes --bits --from --iters --seed --features; do
		grep -e "$o" out || return 1
	done
'

test_expect_success 'setup: 300 crops of the sample photos and 2 error records, prepared' '
	imgdecode "$FEAT_TOP"/contrib/samples/scene-*.jpg >photos.fs &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkcrops.py" photos.fs 300 1 2 >crops.fs &&
	imgprep -m "$M" <crops.fs >prep.fs &&
	featinfo -c prep.fs >count &&
	grep "^302 records, 300 ok, 2 errors" count
'

test_expect_success 'fit 16 bits after /Relu; the error records are skipped with a count' '
	featmodel fitcodes -o fit.fm --bits 16 --from /Relu --features feat.f32 \
		"$M" prep.fs >out 2>err &&
	grep "skipped 2 error records" err &&
	test_line_count = 1 err &&
	grep "^fit.fm: 16-bit codes of .*/Relu.* (256 features) from 300 records" out &&
	test $(wc -c <feat.f32) = $((300 * 256 * 4)) &&
	featmodel fitcodes -q -o fit0.fm --iters 0 --bits 16 --from /Relu "$M" prep.fs 2>/dev/null
'

test_expect_success 'the model: cut after /Relu, the code layer, code.bits, input.* kept, fit.*' '
	featmodel info fit.fm >info &&
	grep "^  code.bits	16$" info &&
	grep "^  fit.layer	/Relu$" info &&
	grep "^  fit.n	300$" info &&
	grep "^  fit.bits	16$" info &&
	grep "^  fit.loss	" info &&
	grep "^  input.order	gray$" info &&
	grep "^  input.mean	127.5$" info &&
	grep "^  input.scale	0.0078125$" info &&
	grep "^  input.shape	1,32,32$" info &&
	# (featmodel info shows the code sigmoid fused into it: fc+sigmoid)
	grep " fc[+a-z]*  *fitcodes.proj  *16 " info &&
	grep " sigmoid  *fitcodes.code  *16 " info &&
	! grep "/code/Gemm" info &&
	! grep "code.mirror" info
'

test_expect_success 'the features are the input of the layer after /Relu' '
	deepbit-extract -m "$M" --no-mirror --feat <prep.fs >full.fs &&
	featinfo --raw feat full.fs >full.f32 &&
	$REF next feat.f32 256 "$M" code.weight code.bias full.f32
'

test_expect_success 'PCA subspace, ITQ from the same start, loss and codes as numpy'"'"'s' '
	deepbit-extract -m fit.fm --feat <prep.fs >codes.fs &&
	featinfo --raw feat codes.fs >acts.f32 &&
	$REF check feat.f32 256 fit0.fm fit.fm acts.f32 \
		"$(meta fit.fm fit.loss)" "$(meta fit.fm fit.variance)" >check &&
	cat check &&
	test $(grep -c "^ok " check) = 9
'

test_expect_success 'ITQ lowers the quantisation loss' '
	l0=$(meta fit.fm fit.loss0) && l=$(meta fit.fm fit.loss) &&
	"$PYTHON" -c "import sys; sys.exit(0 if $l < 0.95 * $l0 else 1)"
'

test_expect_success 'deepbit-extract gives 16-bit codes; featdedup reads them' '
	featinfo -n 0 codes.fs >info &&
	grep -c "	code	bit	\[16\]" info >n &&
	echo 300 >expect && test_cmp expect n &&
	imgprep -m fit.fm <photos.fs >photos.prep.fs &&
	deepbit-extract -m fit.fm <photos.prep.fs >photos.codes.fs &&
	featdedup -a -r 0 photos.codes.fs >groups &&
	test_line_count = 14 groups
'

test_expect_success 'standard input, and the same bytes for the same seed; another seed differs' '
	featmodel fitcodes -q -o stdin.fm --bits 16 --from /Relu "$M" - <prep.fs 2>/dev/null &&
	cmp fit.fm stdin.fm &&
	featmodel fitcodes -q -o seed2.fm --seed 2 --bits 16 --from /Relu "$M" prep.fs 2>/dev/null &&
	! cmp -s fit.fm seed2.fm
'

test_expect_success 'another batch size, on 2 threads: the same fit up to rounding' '
	featmodel fitcodes -q -o b3.fm -b 3 -t 2 --bits 16 --from /Relu "$M" prep.fs 2>/dev/null &&
	a=$(meta fit.fm fit.loss) && b=$(meta b3.fm fit.loss) &&
	"$PYTHON" -c "import sys; sys.exit(0 if abs($a - $b) <= 1e-4 * $a else 1)" &&
	meta b3.fm fit.n >n && echo 300 >expect && test_cmp expect n
'

test_expect_success 'a blob name works as LAYER, and --set adds metadata' '
	featmodel fitcodes -q -o blob.fm --bits 8 --from /Relu_output_0 --set code.mirror=1 \
		"$M" prep.fs 2>/dev/null &&
	meta blob.fm code.mirror >m && echo 1 >expect && test_cmp expect m &&
	meta blob.fm fit.layer >m && echo /Relu_output_0 >expect && test_cmp expect m
'

test_expect_success 'inputs that do not vary: a warning, and still a model' '
	"$PYTHON" "$FEAT_TOP/t/lib/mkcrops.py" photos.fs 1 5 >one.fs &&
	imgprep -m "$M" <one.fs >one.prep.fs &&
	for i in 1 2 3 4 5 6 7 8 9 10; do echo one.prep.fs; done >list &&
	featcat $(cat list) >same.fs &&
	featmodel fitcodes -o same.fm --bits 4 --from /Relu "$M" same.fs >out 2>err &&
	grep "vary along only 0 of the 4 directions" err &&
	test_line_count = 1 err &&
	featmodel check same.fm
'

test_expect_success 'features of 1e-7: every bit the sign of its projection (rows scaled so the sigmoid cannot round it to 0.5)' '
	"$PYTHON" "$FEAT_TOP/t/lib/mkfitnet.py" . &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" x.json >x.fs &&
	featmodel fitcodes -q -o tiny4.fm --bits 4 --from feat --features tiny.f32 tiny.fm x.fs &&
	featmodel fitcodes -q -o tiny40.fm --iters 0 --bits 4 --from feat tiny.fm x.fs &&
	deepbit-extract -m tiny4.fm --feat <x.fs | featinfo --raw feat >tacts.f32 &&
	$REF check tiny.f32 8 tiny40.fm tiny4.fm tacts.f32 \
		"$(meta tiny4.fm fit.loss)" "$(meta tiny4.fm fit.variance)" >check.out &&
	grep "deepbit-extract bits = sign" check.out | grep -q ": 0 of 160 differ"
'

test_expect_success 'features of rank 3: 3 of 6 directions vary, and it says so' '
	featmodel fitcodes -o r6.fm --bits 6 --from feat rank3.fm x.fs >out 2>err &&
	grep -q "the features vary along only 3 of the 6 directions" err
'

test_expect_success '--features appears only with the model: an OUT that cannot be written leaves no features file, an old one as it was' '
	test_expect_code 4 featmodel fitcodes -q -o no/such/dir/m.fm --bits 4 --from feat \
		--features nf.f32 tiny.fm x.fs 2>err &&
	test_stderr_one_line err && grep -q "no/such/dir/m.fm: cannot open" err &&
	test ! -e nf.f32 &&
	echo old >old.f32 && cp old.f32 expect &&
	test_expect_code 4 featmodel fitcodes -q -o no/such/dir/m.fm --bits 4 --from feat \
		--features old.f32 tiny.fm x.fs 2>err &&
	test_cmp expect old.f32 &&
	ls >files && ! grep -q "tmp" files
'

test_expect_success 'fitting again from an earlier fit'"'"'s layer: names of its own (fitcodes2.*)' '
	featmodel fitcodes -q -o refit.fm --bits 2 --from fitcodes.proj tiny4.fm x.fs &&
	featmodel info refit.fm >info &&
	grep -q " fitcodes2.code " info && grep -q " fitcodes.proj " info &&
	deepbit-extract -m refit.fm <x.fs | featinfo -c >count &&
	grep -q "^40 records, 40 ok" count
'

test_expect_success 'refused: --set of what fitcodes writes; features too large for a float covariance' '
	test_expect_code 2 featmodel fitcodes -q -o s.fm --set code.bits=3 --bits 4 --from feat tiny.fm x.fs 2>err &&
	test_stderr_one_line err && grep -q "fitcodes writes code.bits itself" err &&
	test_expect_code 2 featmodel fitcodes -q -o s.fm --set graph.outputs=feat --bits 4 --from feat tiny.fm x.fs 2>err &&
	test_stderr_one_line err &&
	test ! -e s.fm &&
	test_expect_code 3 featmodel fitcodes -q -o b.fm --bits 4 --from feat big.fm x.fs 2>err &&
	test_stderr_one_line err && grep -q "covariance is not finite (|x| up to" err &&
	test ! -e b.fm
'

test_expect_success 'refused: more bits than features' '
	test_expect_code 2 featmodel fitcodes -o no.fm --bits 257 --from /Relu "$M" prep.fs 2>err &&
	test_stderr_one_line err &&
	grep "256 features" err &&
	test ! -e no.fm
'

test_expect_success 'refused: as many bits as records' '
	featcat --ok prep.fs >ok.fs &&
	"$PYTHON" "$FEAT_TOP/t/lib/mkcrops.py" photos.fs 16 3 >few.fs &&
	imgprep -m "$M" <few.fs >fewprep.fs &&
	test_expect_code 2 featmodel fitcodes -o no.fm --bits 16 --from /Relu "$M" fewprep.fs 2>err &&
	test_stderr_one_line err &&
	grep "at least 17 ok records" err &&
	test ! -e no.fm &&
	featmodel fitcodes -q -o yes.fm --bits 15 --from /Relu "$M" fewprep.fs
'

test_expect_success 'refused: an unknown layer, the input as layer' '
	test_expect_code 2 featmodel fitcodes -o no.fm --bits 8 --from /nothing "$M" prep.fs 2>err &&
	test_stderr_one_line err &&
	grep "no layer or blob named ./nothing" err &&
	test_expect_code 2 featmodel fitcodes -o no.fm --bits 8 --from data "$M" prep.fs 2>err &&
	test_stderr_one_line err &&
	grep "the model.s input" err &&
	test ! -e no.fm
'

test_expect_success 'refused: inputs the model cannot take, naming the record' '
	imgprep --gray -s 16x16 <crops.fs >small.fs &&
	test_expect_code 3 featmodel fitcodes -o no.fm --bits 8 --from /Relu "$M" small.fs 2>err &&
	test_stderr_one_line err &&
	grep "crop-0.*f32 \[1 16 16\].*f32 \[1 32 32\]" err &&
	test_expect_code 3 featmodel fitcodes -o no.fm --bits 8 --from /Relu "$M" photos.fs 2>err &&
	test_stderr_one_line err &&
	grep "no .input. tensor" err &&
	test ! -e no.fm
'

test_expect_success 'refused: no ok record, an empty stream, not a featstream' '
	featcat --errors prep.fs >errs.fs &&
	test_expect_code 3 featmodel fitcodes -o no.fm --bits 8 --from /Relu "$M" errs.fs 2>err &&
	grep "no ok record" err &&
	: >empty.fs &&
	test_expect_code 3 featmodel fitcodes -o no.fm --bits 8 --from /Relu "$M" empty.fs 2>err &&
	test_stderr_one_line err &&
	echo hello >text.fs &&
	test_expect_code 3 featmodel fitcodes -o no.fm --bits 8 --from /Relu "$M" text.fs 2>err &&
	test_stderr_one_line err &&
	test ! -e no.fm
'

test_expect_success 'refused: usage errors' '
	test_expect_code 2 featmodel fitcodes --bits 8 --from /Relu "$M" prep.fs 2>err &&
	test_expect_code 2 featmodel fitcodes -o no.fm --from /Relu "$M" prep.fs 2>err &&
	test_expect_code 2 featmodel fitcodes -o no.fm --bits 8 "$M" prep.fs 2>err &&
	test_expect_code 2 featmodel fitcodes -o no.fm --bits 0 --from /Relu "$M" prep.fs 2>err &&
	test_expect_code 2 featmodel fitcodes -o no.fm --bits 8 --from /Relu "$M" 2>err &&
	test_expect_code 2 featmodel info --bits 8 "$M" 2>err &&
	test_expect_code 4 featmodel fitcodes -o no.fm --bits 8 --from /Relu "$M" missing.fs 2>err &&
	test_stderr_one_line err &&
	test ! -e no.fm
'

test_done
