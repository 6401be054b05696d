# test-lib.sh - the shell test library of featkit, in the manner of git's.
#
# A test script sources this file, then runs checks:
#
#   test_expect_success 'what a user relies on' '
#       imgdecode a.jpg >a.fs &&
#       featinfo a.fs >out &&
#       grep "image u8 \[4 6 3\]" out
#   '
#   test_done
#
# Each check is a chain of commands joined by &&, run with `set -e` off in
# a fresh subshell inside the script's own trash directory.  It prints TAP.
# Do not pipe the program under test into another command inside a check:
# that hides its exit status; write files and compare them.
#
# Programs are found on PATH (the Makefile puts the build's bin/ first);
# $FEAT_TOP is the source tree, $TEST_DATA its t/data.

set -u

: "${FEAT_TOP:=$(cd "$(dirname "$0")/.." && pwd)}"
TEST_DATA=$FEAT_TOP/t/data
TEST_NAME=$(basename "$0" .sh)
TRASH=$FEAT_TOP/t/trash.$TEST_NAME
PYTHON=${PYTHON:-/usr/bin/python3}
export FEAT_TOP TEST_DATA PYTHON

test_count=0
test_failed=0
test_skipped=0

rm -rf "$TRASH" && mkdir -p "$TRASH" && cd "$TRASH" || {
	echo "Bail out! cannot make $TRASH"
	exit 1
}

say() { echo "# $*"; }

# test_expect_success DESCRIPTION COMMANDS
test_expect_success() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$TRASH/.out" 2>&1 </dev/null; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed -e 's/^/#   /' "$TRASH/.out" | tail -n 40
		printf '#   commands:%s\n' "$(echo "$2" | sed -e 's/^/#   /')"
	fi
}

# test_skip DESCRIPTION REASON
test_skip() {
	test_count=$((test_count + 1))
	test_skipped=$((test_skipped + 1))
	echo "ok $test_count # skip $1 ($2)"
}

# test_must_fail CMD...: CMD must exit non-zero, but not by a signal (a
# crash is never "the failure we expected") nor 127 (not found).
test_must_fail() {
	"$@"
	_rc=$?
	if [ $_rc -eq 0 ]; then
		echo "test_must_fail: command succeeded: $*" >&2
		return 1
	elif [ $_rc -gt 128 ] || [ $_rc -eq 127 ]; then
		echo "test_must_fail: command died (status $_rc): $*" >&2
		return 1
	fi
	return 0
}

# test_expect_code CODE CMD...: CMD must exit with exactly CODE.
test_expect_code() {
	_want=$1
	shift
	"$@"
	_rc=$?
	if [ $_rc -ne "$_want" ]; then
		echo "test_expect_code: expected $_want, got $_rc: $*" >&2
		return 1
	fi
	return 0
}

# test_cmp EXPECTED ACTUAL: files must be equal; shows a diff if not.
test_cmp() {
	diff -u "$1" "$2"
}

# test_line_count OP N FILE: e.g. test_line_count = 3 out
test_line_count() {
	_n=$(wc -l <"$3")
	if ! [ "$_n" "$1" "$2" ]; then
		echo "test_line_count: $3 has $_n lines, expected $1 $2" >&2
		return 1
	fi
}

# test_stderr_one_line FILE: a clear error is exactly one line on stderr.
test_stderr_one_line() {
	test_line_count = 1 "$1"
}

# test_no_process_left TAG: no process has TAG (NAME=VALUE, given to the
# command under test in its environment, which its children inherit) in
# its environment; a process that was signalled may take a moment to go,
# so this waits up to 10 seconds, then names those left and fails.
test_no_process_left() {
	_i=0
	while grep -l -s -a -F "$1" /proc/[0-9]*/environ >"$TRASH/.left"; [ -s "$TRASH/.left" ]; do
		_i=$((_i + 1))
		if [ $_i -ge 100 ]; then
			echo "test_no_process_left: left running with $1:" >&2
			sed 's|/proc/\([0-9]*\)/environ|\1|' "$TRASH/.left" | while read -r _p; do
				ps -o pid=,args= -p "$_p" >&2
			done
			return 1
		fi
		sleep 0.1
	done
}

# test_cpu_flags FLAG...: the flags line of /proc/cpuinfo names every
# FLAG (whole words: avx512f is not avx512fp16).
test_cpu_flags() {
	_fl=$(grep -m 1 "^flags" /proc/cpuinfo 2>/dev/null) || return 1
	for _f; do
		case " $_fl " in
		*" $_f "*) ;;
		*) return 1 ;;
		esac
	done
}

# Prerequisites:
#   INT8, BF16  the active kernel path runs int8 (bf16) products: the
#               plain C twin (FEAT_KERNEL=ref) always; the AVX-512 path
#               (FEAT_KERNEL unset, auto or avx512) where the CPU has
#               AVX-512 F/BW/DQ/VL (the library's avx512 check) and
#               VNNI (BF16); OpenBLAS never.  Taken from /proc/cpuinfo,
#               not from the library, so that a fast path the library
#               stops offering fails the tests that expect it.
test_have_prereq() {
	case $1 in
	PYTHON_PIL) "$PYTHON" -c 'import PIL, numpy' 2>/dev/null ;;
	ROOT) [ "$(id -u)" = 0 ] ;;
	SANITIZE) [ -n "${FEAT_SANITIZE:-}" ] ;;
	INT8|BF16)
		case ${FEAT_KERNEL:-auto} in
		ref) return 0 ;;
		auto|avx512) ;;
		*) return 1 ;;
		esac
		if [ "$1" = INT8 ]; then _f=avx512_vnni; else _f=avx512_bf16; fi
		test_cpu_flags avx512f avx512bw avx512dq avx512vl $_f
		;;
	*) return 1 ;;
	esac
}

test_done() {
	echo "1..$test_count"
	if [ $test_failed -eq 0 ]; then
		cd "$FEAT_TOP/t" && rm -rf "$TRASH"
		exit 0
	fi
	echo "# failed $test_failed of $test_count"
	exit 1
}
