#!/bin/sh
# featwrite -f jsonl: every line is one JSON object (checked with Python's
# json module, refusing bare NaN/Infinity), compared field by field with
# expectations written by hand.

. "$FEAT_TOP/t/test-lib.sh"

mkstream() { "$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" "$@"; }

# check.py OUT EXPECT.json: OUT has one strict JSON object per line, equal
# to the list of objects in EXPECT.json.
cat >"$TRASH/check.py" <<\PY
import json, sys
def no_const(name):
    raise ValueError("bare %s is not JSON" % name)
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "output does not end with a newline"
got = [json.loads(l.decode("utf-8"), parse_constant=no_const) for l in lines[:-1]]
want = json.load(open(sys.argv[2]))
assert len(got) == len(want), "%d lines, want %d" % (len(got), len(want))
for i, (g, w) in enumerate(zip(got, want)):
    assert g == w, "line %d:\n got  %r\n want %r" % (i + 1, g, w)
PY

test_expect_success 'setup' '
	cat >desc.json <<-\JSON &&
	[
	 {"key": "a.jpg", "tensors": [
	   {"name": "code", "dtype": "bit", "shape": [12],
	    "values": [1,0,1,0, 0,1,0,1, 1,1,0,1]},
	   {"name": "feat", "dtype": "f32", "shape": [3], "values": [0.5, 0.1, -3]}]},
	 {"key": "b.jpg", "tensors": [
	   {"name": "image", "dtype": "u8", "shape": [4, 6, 3]},
	   {"name": "dets", "dtype": "f32", "shape": [2, 6],
	    "values": [3, 0.75, 10, 20, 110.5, 220, 1, 0.5, 0, 0, 6, 4]}]},
	 {"key": "c.jpg", "status": "error", "message": "no \"detection\" above 0.5"},
	 {"key": "d\u0001\"\\\t.jpg", "tensors": [
	   {"name": "feat", "dtype": "f32", "shape": [3], "hex": "0000c07f0000807f000080ff"}]},
	 {"key_hex": "61ff62c0af2e6a7067", "tensors": [
	   {"name": "code", "dtype": "u8", "shape": [2], "hex": "beef"}]},
	 {"key": "\u00e9t\u00e9.jpg", "tensors": [
	   {"name": "dets", "dtype": "f32", "shape": [0, 6]}]}
	]
	JSON
	mkstream desc.json >in.fs
'

test_expect_success 'one JSON object per record with the fields of featwrite(1)' '
	test_expect_code 1 featwrite -f jsonl <in.fs >out.jsonl 2>err &&
	cat >expect.json <<-\JSON &&
	[
	 {"key": "a.jpg", "status": "ok", "bits": 12, "code": "a5d0",
	  "feat": [0.5, 0.100000001, -3],
	  "tensors": {"code": {"dtype": "bit", "shape": [12]},
	              "feat": {"dtype": "f32", "shape": [3]}}},
	 {"key": "b.jpg", "status": "ok",
	  "dets": [{"label": 3, "score": 0.75, "box": [10, 20, 110.5, 220]},
	           {"label": 1, "score": 0.5, "box": [0, 0, 6, 4]}],
	  "tensors": {"image": {"dtype": "u8", "shape": [4, 6, 3]},
	              "dets": {"dtype": "f32", "shape": [2, 6]}}},
	 {"key": "c.jpg", "status": "error", "error": "no \"detection\" above 0.5",
	  "tensors": {}},
	 {"key": "d\u0001\"\\\t.jpg", "status": "ok", "feat": [null, null, null],
	  "tensors": {"feat": {"dtype": "f32", "shape": [3]}}},
	 {"key": "a\ufffdb\ufffd\ufffd.jpg", "key_hex": "61ff62c0af2e6a7067",
	  "status": "ok", "bits": 16, "code": "beef",
	  "tensors": {"code": {"dtype": "u8", "shape": [2]}}},
	 {"key": "\u00e9t\u00e9.jpg", "status": "ok", "dets": [],
	  "tensors": {"dets": {"dtype": "f32", "shape": [0, 6]}}}
	]
	JSON
	"$PYTHON" "$TRASH/check.py" out.jsonl expect.json &&
	grep -q "6 records in, 5 ok, 1 errors" err
'

test_expect_success 'control characters are \u00XX or short escapes, never raw' '
	sed -n 4p out.jsonl >line4 &&
	grep -q "\"key\":\"d\\\\u0001\\\\\"\\\\\\\\\\\\t.jpg\"" line4
'

test_expect_success 'valid UTF-8 passes through as is' '
	sed -n 6p out.jsonl >line6 &&
	printf "{\"key\":\"\303\251t\303\251.jpg\"" >want &&
	head -c $(wc -c <want) line6 >got &&
	cmp want got
'

test_expect_success 'floats read back to the same float32' '
	cat >f.json <<-\JSON &&
	[{"key": "f", "tensors": [{"name": "feat", "dtype": "f32", "shape": [6],
	  "values": [0.1, 3.4028234663852886e38, 1.401298464324817e-45, -2.5e-10, 16777217, 0.3333333432674408]}]}]
	JSON
	mkstream f.json >f.fs &&
	featwrite -f jsonl <f.fs >f.jsonl 2>/dev/null &&
	"$PYTHON" -c "
import json, struct, sys
want = json.load(open(\"f.json\"))[0][\"tensors\"][0][\"values\"]
got = json.loads(open(\"f.jsonl\").read())[\"feat\"]
r = lambda v: struct.unpack(\"<f\", struct.pack(\"<f\", v))[0]
assert [r(v) for v in got] == [r(v) for v in want], (got, want)
"
'

test_expect_success 'dets of another shape are left to the tensor summary' '
	cat >d.json <<-\JSON &&
	[{"key": "x", "tensors": [{"name": "dets", "dtype": "f32", "shape": [2, 5]}]}]
	JSON
	mkstream d.json >d.fs &&
	featwrite -f jsonl <d.fs >d.jsonl 2>/dev/null &&
	echo "[{\"key\": \"x\", \"status\": \"ok\", \"tensors\": {\"dets\": {\"dtype\": \"f32\", \"shape\": [2, 5]}}}]" >d.expect &&
	"$PYTHON" "$TRASH/check.py" d.jsonl d.expect
'

test_done
