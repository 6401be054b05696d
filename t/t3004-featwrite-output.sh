#!/bin/sh
# featwrite -o FILE (and featmodel import -o): the named output is written
# whole or not at all (a temporary file renamed over it at the end of a
# complete run); a failed or killed run leaves the old file as it was.
# A FIFO or device is written in place, also through symbolic links; a
# link to a regular file is written through.

. "$FEAT_TOP/t/test-lib.sh"

mkstream() { "$PYTHON" "$FEAT_TOP/t/lib/mkstream.py" "$@"; }

test_expect_success 'setup' '
	cat >good.json <<-\JSON &&
	[{"key": "g1", "tensors": [{"name": "code", "dtype": "u8", "shape": [8], "hex": "1111111111111111"}]},
	 {"key": "g2", "tensors": [{"name": "code", "dtype": "u8", "shape": [8], "hex": "2222222222222222"}]}]
	JSON
	mkstream good.json >good.fs &&
	mkstream --no-header --flip 100:0x10 good.json >flip.fs &&
	cat good.fs flip.fs >bad.fs
'

test_expect_success 'a damaged input leaves the old -o file as it was, no temporary' '
	echo old >out.tsv &&
	test_expect_code 3 featwrite -o out.tsv <bad.fs 2>err &&
	echo old >expect &&
	test_cmp expect out.tsv &&
	test_expect_code 3 featwrite -f bin -o out.tsv <bad.fs 2>err &&
	test_cmp expect out.tsv &&
	ls >files &&
	! grep -q "tmp" files
'

# featwrite reads from a FIFO this test holds open until after the kill:
# two records, then an error record, which featwrite -v reports on its
# standard error (another FIFO) once it has read it, its temporary file
# made before the first read.  That line is the signal to kill.
test_expect_success 'a run killed by SIGTERM leaves no half file, and dies by it' '
	rm -f part.tsv in.fifo err.fifo &&
	echo "[{\"key\": \"e1\", \"status\": \"error\", \"message\": \"held\", \"tensors\": []}]" >err.json &&
	mkstream err.json >err.fs &&
	mkfifo in.fifo err.fifo &&
	{ featwrite -v -o part.tsv <in.fifo 2>err.fifo & } &&
	pid=$! &&
	exec 8>in.fifo 9<err.fifo &&
	cat good.fs err.fs >&8 &&
	while read -r line <&9; do
		case $line in *"e1: held"*) break ;; esac
	done &&
	ls >files &&
	grep "^part.tsv.tmp-" files &&
	kill -TERM $pid &&
	test_expect_code 143 wait $pid &&
	exec 8>&- 9<&- &&
	test ! -e part.tsv &&
	ls >files &&
	! grep -q "tmp" files
'

test_expect_success 'a replaced file keeps its mode; a new one gets the umask' '
	featwrite -o m.tsv <good.fs 2>/dev/null &&
	chmod 640 m.tsv &&
	featwrite -o m.tsv <good.fs 2>/dev/null &&
	test "$(stat -c %a m.tsv)" = 640 &&
	(umask 027 && featwrite -o n.tsv <good.fs 2>/dev/null) &&
	test "$(stat -c %a n.tsv)" = 640 &&
	(umask 077 && featwrite -o n2.tsv <good.fs 2>/dev/null) &&
	test "$(stat -c %a n2.tsv)" = 600 &&
	(umask 022 && featwrite -o n3.tsv <good.fs 2>/dev/null) &&
	test "$(stat -c %a n3.tsv)" = 644
'

test_expect_success '-o /dev/null is written in place, not replaced' '
	featwrite -o /dev/null <good.fs 2>/dev/null &&
	test -c /dev/null
'

test_expect_success '-o a FIFO, or a symbolic link to one: written in place, the FIFO and the link kept' '
	featwrite <good.fs >want.tsv &&
	mkfifo fifo && ln -s fifo fifo.lnk &&
	{ timeout 20 cat fifo >got1.tsv & } &&
	timeout 20 featwrite -o fifo <good.fs &&
	wait && test -p fifo && test_cmp want.tsv got1.tsv &&
	{ timeout 20 cat fifo >got2.tsv & } &&
	timeout 20 featwrite -o fifo.lnk <good.fs &&
	wait && test -L fifo.lnk && test -p fifo && test_cmp want.tsv got2.tsv
'

test_expect_success '-o a link to /proc/self/fd/1 (what /dev/stdout is) writes to standard output' '
	ln -s /proc/self/fd/1 stdout.lnk &&
	featwrite -o stdout.lnk <good.fs >got3.tsv &&
	test -L stdout.lnk && test_cmp want.tsv got3.tsv &&
	ln -s stdout.lnk stdout2.lnk &&
	featwrite -o stdout2.lnk <good.fs >got4.tsv &&
	test -L stdout2.lnk && test_cmp want.tsv got4.tsv
'

test_expect_success 'a symbolic link to a regular file is written through: the file replaced (mode kept), the link kept' '
	mkdir d && echo old >d/real.tsv && chmod 640 d/real.tsv &&
	ln -s d/real.tsv real.lnk &&
	featwrite -o real.lnk <good.fs &&
	test -L real.lnk && test_cmp want.tsv d/real.tsv &&
	test "$(stat -c %a d/real.tsv)" = 640 &&
	ln -s ../real.lnk d/chain.lnk && echo old >d/real.tsv &&
	featwrite -o d/chain.lnk <good.fs &&
	test -L d/chain.lnk && test -L real.lnk && test_cmp want.tsv d/real.tsv &&
	ls . d >files && ! grep -q "tmp" files
'

test_expect_success 'through a link: a failed run leaves the file; a dangling link makes its file; a link to a directory is refused' '
	echo old >d/real.tsv && echo old >expect &&
	test_expect_code 3 featwrite -o real.lnk <bad.fs 2>err &&
	test -L real.lnk && test_cmp expect d/real.tsv &&
	ln -s new.tsv d/dangling.lnk &&
	featwrite -o d/dangling.lnk <good.fs &&
	test -L d/dangling.lnk && test_cmp want.tsv d/new.tsv &&
	ln -s d dir.lnk &&
	test_expect_code 4 featwrite -o dir.lnk <good.fs 2>err &&
	grep -q "dir.lnk: is a directory" err && test -L dir.lnk &&
	ls . d >files && ! grep -q "tmp" files
'

test_expect_success 'featmodel import: a model that does not build leaves the old one' '
	featmodel import -o m.fm "$TEST_DATA/onnx/small.onnx" >/dev/null &&
	cp m.fm m.orig &&
	test_expect_code 3 featmodel import -o m.fm "$TEST_DATA/onnx/hugeshape.onnx" 2>err &&
	test_stderr_one_line err &&
	cmp m.orig m.fm &&
	ls >files &&
	! grep -q "tmp" files
'

test_done
