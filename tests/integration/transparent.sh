# SPDX-License-Identifier: ISC
# transparent = yes, for real, in three network namespaces the test
# creates: a client (10.77.1.2 and fd77:1::2), portsplit's host
# (10.77.1.1, fd77:1::1 on the client's side; 10.77.2.1, fd77:2::1 on the
# backend's), and a backend (10.77.2.2 and fd77:2::2) that says which
# address it sees. The backend must see the client's own address, over
# IPv4 and over IPv6, also when a dual-stack listener takes an IPv4
# client, and through a backend name with an address of each family (in
# /etc/netns/HOST/hosts while the test runs). A client whose family the
# backend has no address of is refused with a log line that says so, and
# the daemon goes on serving. The host has the routing set-up the man
# page shows (a mark on the backend's replies to transparent sockets, and
# a local route for marked packets, for both families), with nftables, or
# iptables and ip6tables when nft is missing. portsplit drops to nobody
# and must keep CAP_NET_ADMIN and nothing else (read from /proc). Skipped
# only when the kernel refuses namespaces.
. "$(dirname "$0")/../lib.sh"

N=ps$$
CLI=$N-cli MID=$N-mid BACK=$N-back
if ! ip netns add "$CLI" 2>"$T/ns.err"; then
	skip "transparent mode in namespaces" "cannot create a network namespace: $(head -n 1 "$T/ns.err")"
	finish
fi
ip netns add "$MID" && ip netns add "$BACK" || bail "three namespaces"
[ -d /etc/netns ] && etc_netns=kept || etc_netns=made
trap 'cleanup; for n in "$CLI" "$MID" "$BACK"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "/etc/netns/$MID"; [ $etc_netns = kept ] || rmdir /etc/netns 2>/dev/null' EXIT

# No duplicate address detection on the links to come: while it runs, a
# link's IPv6 addresses are tentative and the first neighbour discovery
# fails, which costs the first IPv6 connection a SYN retransmit (1 s).
for ns in "$CLI" "$MID" "$BACK"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 || bail "no DAD in $ns"
done
# client <-> host <-> backend, two veth pairs.
ip link add "$N-c" netns "$CLI" type veth peer name "$N-mc" netns "$MID" || bail "veth pair"
ip link add "$N-b" netns "$BACK" type veth peer name "$N-mb" netns "$MID" || bail "veth pair"
for ns in "$CLI" "$MID" "$BACK"; do ip -n "$ns" link set lo up; done
# addrs NS DEV ADDR...: give DEV in NS its addresses and bring it up.
addrs() {
	local ns=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		ip -n "$ns" addr add "$a" dev "$dev" || bail "address $a in $ns"
	done
	ip -n "$ns" link set "$dev" up
}
addrs "$CLI" "$N-c" 10.77.1.2/24 fd77:1::2/64
addrs "$MID" "$N-mc" 10.77.1.1/24 fd77:1::1/64
addrs "$MID" "$N-mb" 10.77.2.1/24 fd77:2::1/64
addrs "$BACK" "$N-b" 10.77.2.2/24 fd77:2::2/64
# The backend answers everyone through the host, as a real one behind a
# transparent proxy must.
ip -n "$BACK" route add default via 10.77.2.1
ip -n "$BACK" -6 route add default via fd77:2::1

# The host: replies to a transparent socket are marked, and marked packets
# are delivered locally instead of forwarded; both families.
if command -v nft >/dev/null; then
	ip netns exec "$MID" nft -f - <<'EOF' || bail "nftables rules"
table inet portsplit {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto tcp socket transparent 1 meta mark set 0x1
	}
}
EOF
	how=nftables
else
	for ipt in iptables ip6tables; do
		ip netns exec "$MID" $ipt -t mangle -A PREROUTING -p tcp -m socket --transparent \
			-j MARK --set-mark 0x1 || bail "$ipt rule"
	done
	how="iptables and ip6tables"
fi
ip -n "$MID" rule add fwmark 0x1 lookup 100
ip -n "$MID" route add local 0.0.0.0/0 dev lo table 100
ip -n "$MID" -6 rule add fwmark 0x1 lookup 100
ip -n "$MID" -6 route add local ::/0 dev lo table 100
ok "routing set up in the host namespace with $how"

# One backend per family; each reports its clients' addresses in a file.
for b in 4:10.77.2.2 6:fd77:2::2; do
	spawn "$T/back${b%%:*}.log" ip netns exec "$BACK" "$PYTHON" "$NET" serve peer \
		--host "${b#*:}" --port 9000 --report "$T/back${b%%:*}.jsonl"
	for _ in $(seq 100); do grep -q '^listening' "$T/back${b%%:*}.log" && break; sleep 0.1; done
	grep -q '^listening' "$T/back${b%%:*}.log" || bail "backend listens on ${b#*:}"
done

printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$MID" "$PORTSPLIT" >"$T/portsplit"
chmod +x "$T/portsplit"
PORTSPLIT=$T/portsplit
chmod 755 "$T"
# 8443 on each family; 8444 is the original's ":::PORT", dual stack: its
# IPv4 clients come as IPv4-mapped IPv6 addresses.
cat >"$T/portsplit.ini" <<EOF
bind = 10.77.1.1:8443
bind = [fd77:1::1]:8443
bind = :::8444
timeout = 2
user = nobody
[peer]
string = PEER
connect = 10.77.2.2:9000
transparent = yes
[plain]
string = PLAIN
connect = 10.77.2.2:9000
[six]
string = SIX
connect = [fd77:2::2]:9000
transparent = yes
[plain6]
string = NOT6
connect = [fd77:2::2]:9000
[both]
string = BOTH
connect = backend.test:9000
transparent = yes
EOF
# backend.test has both addresses, for the host only: ip netns exec puts
# /etc/netns/NS/hosts in the place of /etc/hosts.
mkdir -p "/etc/netns/$MID" || bail "/etc/netns/$MID"
printf '127.0.0.1 localhost\nfd77:2::2 backend.test\n10.77.2.2 backend.test\n' >"/etc/netns/$MID/hosts"
ps_start "$T/portsplit.ini" 8443 8444

# peer_seen HOST PORT FIRST: the address the backend reports for a client
# in the client namespace that connects to HOST PORT and sends FIRST.
peer_seen() {
	timeout 20 ip netns exec "$CLI" "$PYTHON" "$NET" talk "$1" "$2" send "$3" expect 'peer=' 5 2>>"$T/talk.err"
}
is "$(peer_seen 10.77.1.1 8443 PEER)" "peer=10.77.1.2" "the backend sees the client's own address"
is "$(peer_seen 10.77.1.1 8443 PLAIN)" "peer=10.77.2.1" "without transparent it sees portsplit's"
is "$(peer_seen fd77:1::1 8443 SIX)" "peer=fd77:1::2" "IPv6: the backend sees the client's own address"
is "$(peer_seen fd77:1::1 8443 NOT6)" "peer=fd77:2::1" "IPv6 without transparent it sees portsplit's"
is "$(peer_seen fd77:1::1 8444 SIX)" "peer=fd77:1::2" "dual stack, IPv6 client: the backend sees it"
is "$(peer_seen 10.77.1.1 8444 PEER)" "peer=10.77.1.2" "dual stack, IPv4 client: the backend sees its IPv4 address"
# A name with an address of each family: each client reaches the
# backend over its own family.
is "$(peer_seen 10.77.1.1 8444 BOTH)" "peer=10.77.1.2" "a backend name with both families: IPv4 client"
is "$(peer_seen fd77:1::1 8443 BOTH)" "peer=fd77:1::2" "a backend name with both families: IPv6 client"

# A client of one family, a backend of the other: connecting from any
# other address than the client's would lie to the backend, so the
# client is closed and the log says why.
# Each backend has had four clients (each reported once it closed).
reports() {
	for _ in $(seq 50); do
		[ "$(cat "$T"/back[46].jsonl 2>/dev/null | grep -c .)" -ge 8 ] && break
		sleep 0.1
	done
	echo "$(grep -c . "$T/back4.jsonl") $(grep -c . "$T/back6.jsonl")"
}
is "$(reports)" "4 4" "each backend reported its four clients"
for c in "10.77.1.1 8444 SIX" "10.77.1.1 8443 SIX" "fd77:1::1 8443 PEER"; do
	read -r host port first <<<"$c"
	check "$host port $port to the other family's backend: the client is closed" \
		timeout 20 ip netns exec "$CLI" "$PYTHON" "$NET" talk "$host" "$port" send "$first" eof 5
done
# (A service's failures are logged once a second at most: one line each.)
for svc in six peer; do
	check "the log says [$svc]'s backend has no address of the client's family" \
		wait_log "connect failed .* service=$svc .*error=\"transparent: no backend address of the client's family\""
done
sleep 0.5 # a connection made from a wrong address would be reported by now
is "$(reports)" "4 4" "the backends saw none of those clients"
is "$(peer_seen fd77:1::1 8444 SIX)" "peer=fd77:1::2" "and the daemon goes on serving"

status=/proc/$PS_PID/status
is "$(awk '/^Uid:/ { print $2 }' "$status")" "$(id -u nobody)" "portsplit runs as nobody"
# CAP_NET_ADMIN is bit 12: 0x1000.
is "$(awk '/^CapEff:/ { print $2 }' "$status")" 0000000000001000 "effective capabilities: CAP_NET_ADMIN alone"
is "$(awk '/^CapPrm:/ { print $2 }' "$status")" 0000000000001000 "permitted capabilities: CAP_NET_ADMIN alone"
is "$(awk '/^CapInh:/ { print $2 }' "$status")" 0000000000000000 "nothing inheritable"
is "$(awk '/^CapAmb:/ { print $2 }' "$status")" 0000000000000000 "nothing ambient"
is "$(awk '/^CapBnd:/ { print $2 }' "$status")" 0000000000001000 "bounding set: CAP_NET_ADMIN alone"

[ "$FAILED" = 0 ] || { diag <"$T/talk.err"; cat "$T"/back*.log | diag; }
finish
