# netns.sh - two "hosts" on this machine for featrun's tests and benchmark:
# network namespaces TAGa and TAGb, each joined to this machine by a veth
# pair (this side $NET.1.1 and $NET.2.1, the host $NET.1.2 and $NET.2.2)
# and running Debian's sshd with a key made for the run.  Needs root.
#
#   . t/lib/netns.sh
#   netns_why             prints why it cannot run here (nothing if it can)
#   netns_up DIR          makes both hosts; DIR receives the keys, sshd
#                         configs and logs, DIR/hosts (sshloginfile, one job
#                         slot per host) and DIR/sshcmd (for featrun --ssh)
#   netns_kill a|b        kills every process of a host (its sshd, its jobs)
#   netns_sshd a|b        starts a host's sshd again
#   netns_down            removes both hosts (safe to call twice)
#
# Jobs on host a see FEAT_HOST_CORE=0, on host b 1 (the benchmark pins each
# host's pipeline to its own core, as if the hosts were machines).

NETNS_TAG=$(echo "fk$$" | cut -c1-9)
NETNS_NET=10.$((100 + $$ % 100))
NETNS_DIR=

netns_why() {
	[ "$(id -u)" = 0 ] || { echo 'needs root (network namespaces)'; return; }
	for c in ip parallel rsync ssh ssh-keygen /usr/sbin/sshd; do
		command -v "$c" >/dev/null 2>&1 ||
			{ echo "$c is not installed (apt-get install iproute2 parallel rsync openssh-server)"; return; }
	done
	if ! ip netns add "${NETNS_TAG}probe" 2>/dev/null; then
		echo 'cannot create a network namespace here (no CAP_SYS_ADMIN?)'
		return
	fi
	ip netns del "${NETNS_TAG}probe"
}

netns_sshd() {
	ip netns exec "$NETNS_TAG$1" /usr/sbin/sshd -f "$NETNS_DIR/sshd-$1.conf" \
		-E "$NETNS_DIR/sshd-$1.log"
}

netns_kill() {
	for _p in $(ip netns pids "$NETNS_TAG$1" 2>/dev/null); do
		kill -9 "$_p" 2>/dev/null
	done
}

netns_up() {
	NETNS_DIR=$1
	# a /16 nobody here uses (other runs of these tests may be up)
	_o=$((100 + $$ % 100)) _tries=0
	while ip -o -4 addr show | grep -q " 10\.$_o\."; do
		_o=$((_o % 250 + 1)) _tries=$((_tries + 1))
		[ $_tries -lt 250 ] || return 1
	done
	NETNS_NET=10.$_o
	mkdir -p /run/sshd "$NETNS_DIR" || return 1
	: >"$NETNS_DIR/hosts"
	ssh-keygen -q -t ed25519 -N "" -f "$NETNS_DIR/hostkey" </dev/null &&
	ssh-keygen -q -t ed25519 -N "" -f "$NETNS_DIR/userkey" </dev/null || return 1
	_n=1
	for _h in a b; do
		_ns=$NETNS_TAG$_h
		ip netns add "$_ns" &&
		ip link add "${NETNS_TAG}v$_h" type veth peer name "${NETNS_TAG}p$_h" &&
		ip link set "${NETNS_TAG}p$_h" netns "$_ns" &&
		ip addr add "$NETNS_NET.$_n.1/24" dev "${NETNS_TAG}v$_h" &&
		ip link set "${NETNS_TAG}v$_h" up &&
		ip netns exec "$_ns" ip addr add "$NETNS_NET.$_n.2/24" dev "${NETNS_TAG}p$_h" &&
		ip netns exec "$_ns" ip link set "${NETNS_TAG}p$_h" up &&
		ip netns exec "$_ns" ip link set lo up || return 1
		cat >"$NETNS_DIR/sshd-$_h.conf" <<-EOT
		ListenAddress $NETNS_NET.$_n.2
		HostKey $NETNS_DIR/hostkey
		AuthorizedKeysFile $NETNS_DIR/userkey.pub
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PidFile $NETNS_DIR/sshd-$_h.pid
		SetEnv FEAT_HOST_CORE=$((_n - 1))
		EOT
		netns_sshd $_h || return 1
		echo "1/root@$NETNS_NET.$_n.2" >>"$NETNS_DIR/hosts"
		_n=$((_n + 1))
	done
	echo "ssh -i $NETNS_DIR/userkey -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5" >"$NETNS_DIR/sshcmd"
	# wait for both sshd to answer
	for _h in 1 2; do
		_i=0
		until $(cat "$NETNS_DIR/sshcmd") "root@$NETNS_NET.$_h.2" true 2>/dev/null; do
			_i=$((_i + 1))
			[ $_i -lt 50 ] || return 1
			sleep 0.1
		done
	done
}

netns_down() {
	for _h in a b; do
		netns_kill $_h
		ip netns del "$NETNS_TAG$_h" 2>/dev/null
		ip link del "${NETNS_TAG}v$_h" 2>/dev/null
	done
	return 0
}
