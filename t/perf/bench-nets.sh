#!/bin/sh
# The engine on the three reference networks (contrib/refnets.py: SSD300
# with VGG16, MobileNetV1-SSD 300x300 with 21 classes, DeepBit VGG16 at
# 224x224), one core, fp32, batch 1 and 8: featkit's images/s next to ONNX
# Runtime 1.30 (npm onnxruntime-node, CPU provider, one intra-op and one
# inter-op thread) on the same networks and weights in the same run.
# Also four torchvision 0.14 backbones as a user brings them (random
# weights, exported at opset 13 at 224x224 by contrib/onnx/export_bench.py,
# imported with featmodel import): resnet50, efficientnet_b0,
# mobilenet_v3_large, vit_b_16.  BENCH_NETS selects (space-separated).
# BENCH_BEST=1 reports each side's fastest pass instead of the median, and
# BENCH_ROUNDS=N (default 1) runs the two N times, interleaved, keeping
# each side's best round: on a shared machine, the figures least moved by
# other work.  BENCH_BATCHES (default "1 8") chooses the batch sizes.
#
# int8 rows (NAME int8: featmodel quantize, calibrated on the bundled
# sample photos, against the same ONNX Runtime fp32 figure) follow each
# fp32 row when the CPU has AVX512_VNNI, or when BENCH_INT8=1 (then on
# whichever path runs: fp32 where there is no VNNI); BENCH_INT8=0 leaves
# them out.  bf16 rows likewise (NAME bf16: featmodel quantize --bf16, no
# calibration) where the CPU has AVX512_BF16, or BENCH_BF16=1; BENCH_BF16=0
# leaves them out.  Each round runs fp32, ONNX Runtime, int8 and bf16 one
# after the other on the same core, so that the rows compare figures
# taken under the same load.
#
# The three reference networks are also imported as a user would bring
# them, from their ONNX files at opset 12 and 13 (featmodel import;
# BENCH_OPSETS, default "12 13", empty for none): rows NAME opset12 and
# NAME opset13, each checked first to compute what the native featmodel
# file computes (within 1e-4 on the networks' test input; a mismatch
# drops the row with a message).  They are imported with the native
# file's preprocessing (--set input.*=...), as a user states it, so that
# they are quantised like the native ones: rows NAME op12 int8 and NAME
# op13 int8 (batch 1).
#
# The networks (about 1.4 GB with their ONNX twins) are made once into
# build/bench/nets; ONNX Runtime is installed once into build/bench/ort
# (npm install --ignore-scripts: the package's install script only fetches
# GPU libraries, which this machine cannot reach and does not need).
set -eu
. "$FEAT_TOP/t/perf/lib.sh"
B=$FEAT_TOP/build/bench
CORE=${BENCH_CORE:-0}
RUNS=${BENCH_RUNS:-5}
[ -n "${BENCH_QUICK:-}" ] && RUNS=1
NETS=${BENCH_NETS:-"mobilenet_ssd ssd300_vgg16 deepbit_vgg16 resnet50 efficientnet_b0 mobilenet_v3_large vit_b_16"}
mkdir -p "$B/nets"
is_ref() {
	case $1 in mobilenet_ssd|ssd300_vgg16|deepbit_vgg16) return 0;; esac
	return 1
}
for n in $NETS; do
	[ -s "$B/nets/$n.b8.onnx" ] && [ -s "$B/nets/$n.fm" ] &&
		{ [ -s "$B/nets/$n.op12.onnx" ] || ! is_ref "$n"; } && continue
	case $n in
	resnet50|efficientnet_b0|mobilenet_v3_large|vit_b_16)
		/usr/bin/python3 "$FEAT_TOP/contrib/onnx/export_bench.py" \
			--featmodel "$(command -v featmodel)" "$B/nets" "$n" >/dev/null 2>&1 ||
			echo "bench-nets: contrib/onnx/export_bench.py $n failed (needs python3-torch, python3-torchvision, python3-onnx)";;
	*)	/usr/bin/python3 "$FEAT_TOP/contrib/refnets.py" "$B/nets" "$n" >/dev/null;;
	esac
done
ort=
if command -v node >/dev/null && command -v npm >/dev/null; then
	if [ ! -d "$B/ort/node_modules/onnxruntime-node" ]; then
		mkdir -p "$B/ort" &&
		(cd "$B/ort" && npm install --silent --no-audit --no-fund --ignore-scripts \
			onnxruntime-node@1.30.0 >/dev/null 2>&1) || echo "bench-nets: npm install onnxruntime-node failed"
	fi
	[ -d "$B/ort/node_modules/onnxruntime-node" ] && ort=$B/ort
fi
[ -n "$ort" ] || echo "bench-nets: ONNX Runtime not available: featkit figures only"
int8=${BENCH_INT8:-}
if [ -z "$int8" ]; then
	int8=0
	grep -q avx512_vnni /proc/cpuinfo 2>/dev/null && int8=1
fi
# a network that cannot be quantised (a missing tool, an old import
# without input.* metadata) loses its own int8 row, not the others'
# mk_int8 MODEL OUT ROW: OUT is MODEL quantised, calibrated on the samples
mk_int8() {
	[ -s "$2" ] && [ "$2" -nt "$1" ] && return 0
	rm -f "$2"
	imgdecode -q "$FEAT_TOP"/contrib/samples/scene-*.jpg | imgprep -q -m "$1" |
		featmodel quantize -q --calib - -o "$2" "$1" ||
		{ rm -f "$2"; echo "bench-nets: $3: no int8 row (featmodel quantize failed)"; }
}
if [ "$int8" = 1 ]; then
	for n in $NETS; do
		mk_int8 "$B/nets/$n.fm" "$B/nets/$n.int8.fm" "$n"
	done
fi
bf16=${BENCH_BF16:-}
if [ -z "$bf16" ]; then
	bf16=0
	grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null && bf16=1
fi
if [ "$bf16" = 1 ]; then
	for n in $NETS; do
		[ -s "$B/nets/$n.bf16.fm" ] && [ "$B/nets/$n.bf16.fm" -nt "$B/nets/$n.fm" ] && continue
		featmodel quantize -q --bf16 -o "$B/nets/$n.bf16.fm" "$B/nets/$n.fm" ||
			{ rm -f "$B/nets/$n.bf16.fm"; echo "bench-nets: $n: no bf16 row (featmodel quantize failed)"; }
	done
fi

# the reference networks imported from ONNX at each of BENCH_OPSETS
OPSETS=${BENCH_OPSETS-"12 13"}
for n in $NETS; do
	is_ref "$n" || continue
	for op in $OPSETS; do
		fm=$B/nets/$n.op$op.fm onnx=$B/nets/$n.onnx
		[ "$op" = 13 ] || onnx=$B/nets/$n.op$op.onnx
		[ -s "$fm" ] && [ "$fm" -nt "$onnx" ] &&
			featmodel info "$fm" | grep -q 'input\.mean' && continue
		rm -f "$fm" "$B"/chk.*
		# the preprocessing a user states when importing (--set input.*),
		# here the native file's, so that imgprep -m prepares the
		# calibration photos of the int8 row
		set -- $(featmodel info "$B/nets/$n.fm" |
			sed -n 's/^[[:space:]]*\(input\.[a-z]*\)[[:space:]]*\([^[:space:]]*\)$/--set \1=\2/p')
		if ! featmodel import -q "$@" -o "$fm" "$onnx"; then
			rm -f "$fm"; echo "bench-nets: $n: no opset $op row (featmodel import failed)"; continue
		fi
		featmodel run "$B/nets/$n.fm" "$B/nets/$n.in.f32" "$B/chk.a" &&
			featmodel run "$fm" "$B/nets/$n.in.f32" "$B/chk.b" &&
			set -- "$B"/chk.a.*.f32 && A="$*" && set -- "$B"/chk.b.*.f32 &&
			[ $# = $(echo $A | wc -w) ] && ok=1 || ok=0
		for a in $A; do
			[ $ok = 1 ] || break
			/usr/bin/python3 "$FEAT_TOP/t/lib/fcmp.py" --tol 1e-4 "$1" "$a" >/dev/null || ok=0
			shift
		done
		rm -f "$B"/chk.*
		[ $ok = 1 ] || { rm -f "$fm"; echo "bench-nets: $n: opset $op import differs from $n.fm: no row"; }
	done
	[ "$int8" = 1 ] || continue
	for op in $OPSETS; do
		[ -s "$B/nets/$n.op$op.fm" ] &&
			mk_int8 "$B/nets/$n.op$op.fm" "$B/nets/$n.op$op.int8.fm" "$n opset$op"
	done
done

# featkit on MODEL at batch $b: images/s (the median pass, or the best
# with BENCH_BEST=1) and GFLOP/s, into fk_ips and fk_gf
fk() {
	out=$(taskset -c "$CORE" featmodel bench -b $b -n "$RUNS" "$1")
	if [ "${BENCH_BEST:-}" = 1 ]; then
		fk_ips=$(echo "$out" | sed -n 's/^per batch:.* best \([0-9.]*\).*/\1/p' |
			awk -v b=$b '{ printf "%.2f", b * 1000 / $1 }')
	else
		fk_ips=$(echo "$out" | tail -n 1 | awk '{ print $1 }')
	fi
	fk_gf=$(echo "$out" | tail -n 1 | awk '{ print $(NF - 1) }')
}
max() {
	echo "$1 $2" | awk '{ print ($1 > $2) ? $1 : $2 }'
}

printf '%-18s %5s %14s %14s %8s %10s\n' network batch "featkit img/s" "ORT img/s" ratio "GFLOP/s"
for n in $NETS; do
	for b in ${BENCH_BATCHES:-1 8}; do
		ips=0 o=0 gf=- ips8=0 gf8=- ips16=0 gf16=-
		for op in $OPSETS; do eval "ip$op=0 gf$op=- iq$op=0 gq$op=-"; done
		round=0
		while [ $round -lt "${BENCH_ROUNDS:-1}" ]; do
			round=$((round + 1))
			fk "$B/nets/$n.fm"
			ips=$(max "$fk_ips" "$ips") gf=$fk_gf
			if [ -n "$ort" ] && [ "$o" != - ]; then
				onnx=$B/nets/$n.onnx
				[ $b = 8 ] && onnx=$B/nets/$n.b8.onnx
				oi=$(cd "$ort" && BEST=${BENCH_BEST:-} NODE_PATH=$ort/node_modules \
					taskset -c "$CORE" node "$FEAT_TOP/t/perf/ort_bench.js" "$onnx" $b \
					"$RUNS" 2>/dev/null) || oi=-
				[ "$oi" = - ] && o=- || o=$(echo "$oi $o" | awk '{ print ($1 > $2) ? $1 : $2 }')
			fi
			for op in $OPSETS; do
				[ $b = 1 ] && [ -s "$B/nets/$n.op$op.fm" ] || continue
				fk "$B/nets/$n.op$op.fm"
				eval "ip$op=\$(max \"\$fk_ips\" \"\$ip$op\") gf$op=\$fk_gf"
				[ "$int8" = 1 ] && [ -s "$B/nets/$n.op$op.int8.fm" ] || continue
				fk "$B/nets/$n.op$op.int8.fm"
				eval "iq$op=\$(max \"\$fk_ips\" \"\$iq$op\") gq$op=\$fk_gf"
			done
			if [ "$int8" = 1 ] && [ -s "$B/nets/$n.int8.fm" ]; then
				fk "$B/nets/$n.int8.fm"
				ips8=$(max "$fk_ips" "$ips8") gf8=$fk_gf
			fi
			if [ "$bf16" = 1 ] && [ -s "$B/nets/$n.bf16.fm" ]; then
				fk "$B/nets/$n.bf16.fm"
				ips16=$(max "$fk_ips" "$ips16") gf16=$fk_gf
			fi
		done
		r=-
		[ -n "$ort" ] || o=-
		[ "$o" = - ] || r=$(ratio "$ips" "$o")
		printf '%-18s %5s %14s %14s %8s %10s\n' "$n" "$b" "$ips" "$o" "$r" "$gf"
		for op in $OPSETS; do
			[ $b = 1 ] && [ -s "$B/nets/$n.op$op.fm" ] || continue
			eval "oi=\$ip$op og=\$gf$op"
			r=-
			[ "$o" = - ] || r=$(ratio "$oi" "$o")
			printf '%-18s %5s %14s %14s %8s %10s\n' "$n opset$op" "$b" "$oi" "$o" "$r" "$og"
		done
		for op in $OPSETS; do
			[ $b = 1 ] && [ "$int8" = 1 ] && [ -s "$B/nets/$n.op$op.int8.fm" ] || continue
			eval "oi=\$iq$op og=\$gq$op"
			r=-
			[ "$o" = - ] || r=$(ratio "$oi" "$o")
			printf '%-18s %5s %14s %14s %8s %10s\n' "$n op$op int8" "$b" "$oi" "$o" "$r" "$og"
		done
		if [ "$int8" = 1 ] && [ -s "$B/nets/$n.int8.fm" ]; then
			r=-
			[ "$o" = - ] || r=$(ratio "$ips8" "$o")
			printf '%-18s %5s %14s %14s %8s %10s\n' "$n int8" "$b" "$ips8" "$o" "$r" "$gf8"
		fi
		if [ "$bf16" = 1 ] && [ -s "$B/nets/$n.bf16.fm" ]; then
			r=-
			[ "$o" = - ] || r=$(ratio "$ips16" "$o")
			printf '%-18s %5s %14s %14s %8s %10s\n' "$n bf16" "$b" "$ips16" "$o" "$r" "$gf16"
		fi
	done
done
echo "ratio = featkit / ONNX Runtime; target >= 1.0 at batch 1 (int8 rows: >= 2.5 on the VGG16 networks)"
echo "int8 and bf16 rows: GFLOP/s count 2 x the multiply-adds, as for fp32"
echo "per-layer times: featmodel bench -b 1 $B/nets/NAME.fm"
