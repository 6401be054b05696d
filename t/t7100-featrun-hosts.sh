#!/bin/sh
# featrun over hosts: two hosts made on this machine with network
# namespaces (ip netns, a veth pair each, Debian's openssh-server inside),
# reached through ssh by GNU parallel.  The programs and models are shipped
# once (--ship); a host killed in the middle of a run costs nothing: its
# shards are retried on the other, or, when retries run out, --resume
# finishes the run; every key appears exactly once.  Needs root (skipped
# otherwise, with the reason).

. "$FEAT_TOP/t/test-lib.sh"

S=$FEAT_TOP/contrib/samples
P='imgdecode -q | imgprep -q --size 8x8 | featwrite -q -f tsv --max-errors 100%'

. "$FEAT_TOP/t/lib/netns.sh"
why=$(netns_why)
# featrun and the stand-in pipeline do not depend on the kernel path or
# on sanitizers: the 45-second run belongs to make check only.
[ -n "$why" ] || [ -z "${FEAT_KERNEL:-}${FEAT_SANITIZE:-}" ] ||
	why='run once, by make check (no kernel or sanitizer in play)'
if [ -n "$why" ]; then
	test_skip 'featrun over two namespace hosts' "$why"
	test_done
fi
NETNS_DIR=$TRASH
trap netns_down EXIT INT TERM

# the hosts' network, known after setup
net() { cat "$TRASH/net"; }

# wait_for FILE PATTERN: until PATTERN is in FILE, at most 60 s
wait_for() {
	_i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 600 ] || { echo "wait_for: no '$2' in $1 after 60 s" >&2; return 1; }
		sleep 0.1
	done
}

test_expect_success 'setup: two hosts with sshd in their own network namespaces' '
	netns_up "$TRASH" &&
	echo "$NETNS_NET" >net &&
	$(cat sshcmd) "root@$(net).2.2" "ip -o -4 addr show" >addr &&
	grep -q "$(net).2.2" addr &&
	i=0 &&
	while [ $i -lt 12 ]; do
		for f in "$S"/*.jpg; do
			ln -s "$f" "p$i-$(basename "$f")" || exit 1
			echo "$PWD/p$i-$(basename "$f")"
		done
		i=$((i + 1))
	done >list
'

test_expect_success 'a run over both hosts: every key once, both hosts used, the programs shipped' '
	featrun -q -S hosts --ssh "$(cat sshcmd)" --ship -l 30 --keep -p "$P" -o out.tsv list &&
	cut -f1 out.tsv >keys && test_cmp list keys &&
	cut -f2 out.tsv | sort | uniq -c >st &&
	grep -q "^ *$(grep -c broken.jpg list) error$" st &&
	grep -c "root@$(net).1.2" out.tsv.featrun/joblog >na && grep -c "root@$(net).2.2" out.tsv.featrun/joblog >nb &&
	test "$(cat na)" -gt 0 && test "$(cat nb)" -gt 0 &&
	tag=$(cksum <out.tsv.featrun/featkit-bundle.tar.gz | cut -d" " -f1) &&
	test -x "${TMPDIR:-/tmp}/featkit-$tag/bin/imgdecode"
'

slow="sh -c \"sleep 0.4; cat\" | $P"

test_expect_success 'a host killed mid-run: its shards are retried on the other' '
	rm -rf out.tsv* &&
	{ featrun -q -S hosts --ssh "$(cat sshcmd)" --ship -l 20 --retries 3 --keep -p "$slow" -o k.tsv list 2>kerr; echo $? >krc; } &
	wait_for k.tsv.featrun/joblog "root@$(net).2.2" &&
	netns_kill b &&
	wait &&
	echo 0 >expect && test_cmp expect krc &&
	cut -f1 k.tsv >keys && test_cmp list keys
'

test_expect_success 'retries used up while a host is down: exit 1, then --resume finishes' '
	netns_sshd b && sleep 0.3 &&
	{ featrun -q -S hosts --ssh "$(cat sshcmd)" --ship -l 20 --retries 1 -p "$slow" -o r.tsv list 2>rerr; echo $? >rrc; } &
	wait_for r.tsv.featrun/joblog "root@$(net).2.2" &&
	netns_kill b &&
	wait &&
	echo 1 >expect && test_cmp expect rrc &&
	grep -q "shards failed or did not run; rerun with --resume" rerr &&
	test ! -e r.tsv &&
	netns_sshd b && sleep 0.3 &&
	featrun -q -S hosts --ssh "$(cat sshcmd)" --ship --resume -o r.tsv list &&
	cut -f1 r.tsv >keys && test_cmp list keys
'

# the copy --ship unpacked on the hosts, which share this machine's /tmp
# (the same programs and models make the same bundle, so one copy)
[ ! -f out.tsv.featrun/featkit-bundle.tar.gz ] ||
	rm -rf "${TMPDIR:-/tmp}/featkit-$(cksum <out.tsv.featrun/featkit-bundle.tar.gz | cut -d" " -f1)"

test_done
