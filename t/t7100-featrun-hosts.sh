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

why=
test_have_prereq ROOT || why='needs root (network namespaces)'
# featrun and the stand-in pipeline do not depend on the kernel path or
# on sanitizers: the 45-second run belongs to make check only.
[ -z "${FEAT_KERNEL:-}${FEAT_SANITIZE:-}" ] || why='run once, by make check (no kernel or sanitizer in play)'
for c in ip parallel rsync ssh ssh-keygen /usr/sbin/sshd; do
	[ -n "$why" ] || command -v "$c" >/dev/null 2>&1 || why="$c is not installed (apt-get install iproute2 parallel rsync openssh-server)"
done
tag=fk$$
tag=$(echo "$tag" | cut -c1-9)
net=10.$((100 + $$ % 100))
if [ -z "$why" ] && ! ip netns add "${tag}a" 2>/dev/null; then
	why='cannot create a network namespace here (no CAP_SYS_ADMIN?)'
fi
if [ -n "$why" ]; then
	test_skip 'featrun over two namespace hosts' "$why"
	test_done
fi

cleanup() {
	for h in a b; do
		[ -f "$TRASH/sshd-$h.pid" ] && kill "$(cat "$TRASH/sshd-$h.pid")" 2>/dev/null
		for p in $(ip netns pids "$tag$h" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$tag$h" 2>/dev/null
		ip link del "${tag}v$h" 2>/dev/null
	done
}
trap cleanup EXIT INT TERM

# host H (a or b) at $net.N.2, this machine at $net.N.1
start_sshd() {
	ip netns exec "$tag$1" /usr/sbin/sshd -f "$TRASH/sshd-$1.conf" -E "$TRASH/sshd-$1.log"
}
# wait_for FILE PATTERN: until PATTERN is in FILE, at most 60 s
wait_for() {
	_i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 600 ] || { echo "wait_for: no '$2' in $1 after 60 s" >&2; return 1; }
		sleep 0.1
	done
}
kill_host() {
	for p in $(ip netns pids "$tag$1"); do kill -9 "$p" 2>/dev/null; done
}

test_expect_success 'setup: two hosts with sshd in their own network namespaces' '
	mkdir -p /run/sshd &&
	ssh-keygen -q -t ed25519 -N "" -f hostkey &&
	ssh-keygen -q -t ed25519 -N "" -f userkey &&
	n=1 &&
	for h in a b; do
		{ [ $h = a ] || ip netns add "$tag$h"; } &&
		ip link add "${tag}v$h" type veth peer name "${tag}p$h" &&
		ip link set "${tag}p$h" netns "$tag$h" &&
		ip addr add "$net.$n.1/24" dev "${tag}v$h" && ip link set "${tag}v$h" up &&
		ip netns exec "$tag$h" ip addr add "$net.$n.2/24" dev "${tag}p$h" &&
		ip netns exec "$tag$h" ip link set "${tag}p$h" up &&
		ip netns exec "$tag$h" ip link set lo up &&
		cat >"sshd-$h.conf" <<-EOT &&
		ListenAddress $net.$n.2
		HostKey $TRASH/hostkey
		AuthorizedKeysFile $TRASH/userkey.pub
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PidFile $TRASH/sshd-$h.pid
		EOT
		start_sshd $h &&
		echo "1/root@$net.$n.2" >>hosts &&
		n=$((n + 1)) || exit 1
	done &&
	echo "ssh -i $TRASH/userkey -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5" >sshcmd &&
	sleep 0.3 &&
	$(cat sshcmd) "root@$net.2.2" "ip -o -4 addr show" >addr &&
	grep -q "$net.2.2" addr &&
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
	grep -c "root@$net.1.2" out.tsv.featrun/joblog >na && grep -c "root@$net.2.2" out.tsv.featrun/joblog >nb &&
	test "$(cat na)" -gt 0 && test "$(cat nb)" -gt 0 &&
	grep -q "featkit-[0-9]*/bin" out.tsv.featrun/joblog
'

slow="sh -c \"sleep 0.4; cat\" | $P"

test_expect_success 'a host killed mid-run: its shards are retried on the other' '
	rm -rf out.tsv* &&
	{ featrun -q -S hosts --ssh "$(cat sshcmd)" --ship -l 20 --retries 3 --keep -p "$slow" -o k.tsv list 2>kerr; echo $? >krc; } &
	wait_for k.tsv.featrun/joblog "root@$net.2.2" &&
	kill_host b &&
	wait &&
	echo 0 >expect && test_cmp expect krc &&
	cut -f1 k.tsv >keys && test_cmp list keys
'

test_expect_success 'retries used up while a host is down: exit 1, then --resume finishes' '
	start_sshd b && sleep 0.3 &&
	{ featrun -q -S hosts --ssh "$(cat sshcmd)" --ship -l 20 --retries 1 -p "$slow" -o r.tsv list 2>rerr; echo $? >rrc; } &
	wait_for r.tsv.featrun/joblog "root@$net.2.2" &&
	kill_host b &&
	wait &&
	echo 1 >expect && test_cmp expect rrc &&
	grep -q "shards failed or did not run; rerun with --resume" rerr &&
	test ! -e r.tsv &&
	start_sshd b && sleep 0.3 &&
	featrun -q -S hosts --ssh "$(cat sshcmd)" --ship --resume -o r.tsv list &&
	cut -f1 r.tsv >keys && test_cmp list keys
'

test_done
