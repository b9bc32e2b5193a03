# SPDX-License-Identifier: ISC
# transparent = yes, for real, in three network namespaces the test
# creates: a client (10.77.1.2), portsplit's host (10.77.1.1 and
# 10.77.2.1), and a backend (10.77.2.2) that says which address it sees.
# The backend must see 10.77.1.2, the client's own address. The host has
# the routing set-up the man page shows (a mark on the backend's replies
# to transparent sockets, and a local route for marked packets), with
# nftables, or iptables when nft is missing. portsplit drops to nobody and
# must keep CAP_NET_ADMIN and nothing else (read from /proc). Skipped only
# when the kernel refuses namespaces.
. "$(dirname "$0")/../lib.sh"

N=ps$$
CLI=$N-cli MID=$N-mid BACK=$N-back
if ! ip netns add "$CLI" 2>"$T/ns.err"; then
	skip "transparent mode in namespaces" "cannot create a network namespace: $(head -n 1 "$T/ns.err")"
	finish
fi
ip netns add "$MID" && ip netns add "$BACK" || bail "three namespaces"
trap 'cleanup; for n in "$CLI" "$MID" "$BACK"; do ip netns del "$n" 2>/dev/null; done' EXIT

# client <-> host <-> backend, two veth pairs.
ip link add "$N-c" netns "$CLI" type veth peer name "$N-mc" netns "$MID" || bail "veth pair"
ip link add "$N-b" netns "$BACK" type veth peer name "$N-mb" netns "$MID" || bail "veth pair"
for ns in "$CLI" "$MID" "$BACK"; do ip -n "$ns" link set lo up; done
ip -n "$CLI" addr add 10.77.1.2/24 dev "$N-c" && ip -n "$CLI" link set "$N-c" up
ip -n "$MID" addr add 10.77.1.1/24 dev "$N-mc" && ip -n "$MID" link set "$N-mc" up
ip -n "$MID" addr add 10.77.2.1/24 dev "$N-mb" && ip -n "$MID" link set "$N-mb" up
ip -n "$BACK" addr add 10.77.2.2/24 dev "$N-b" && ip -n "$BACK" link set "$N-b" up
# The backend answers everyone through the host, as a real one behind a
# transparent proxy must.
ip -n "$BACK" route add default via 10.77.2.1

# The host: replies to a transparent socket are marked, and marked packets
# are delivered locally instead of forwarded.
if command -v nft >/dev/null; then
	ip netns exec "$MID" nft -f - <<'EOF' || bail "nftables rules"
table ip portsplit {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto tcp socket transparent 1 meta mark set 0x1
	}
}
EOF
	how=nftables
else
	ip netns exec "$MID" iptables -t mangle -A PREROUTING -p tcp -m socket --transparent \
		-j MARK --set-mark 0x1 || bail "iptables rule"
	how=iptables
fi
ip -n "$MID" rule add fwmark 0x1 lookup 100
ip -n "$MID" route add local 0.0.0.0/0 dev lo table 100
ok "routing set up in the host namespace with $how"

spawn "$T/back.log" ip netns exec "$BACK" "$PYTHON" "$NET" serve peer --host 10.77.2.2 --port 9000
for _ in $(seq 100); do grep -q '^listening' "$T/back.log" && break; sleep 0.1; done
grep -q '^listening' "$T/back.log" || bail "backend listens"

printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$MID" "$PORTSPLIT" >"$T/portsplit"
chmod +x "$T/portsplit"
PORTSPLIT=$T/portsplit
chmod 755 "$T"
cat >"$T/portsplit.ini" <<EOF
bind = 10.77.1.1:8443
timeout = 2
user = nobody
[peer]
string = PEER
connect = 10.77.2.2:9000
transparent = yes
[plain]
string = PLAIN
connect = 10.77.2.2:9000
EOF
ps_start "$T/portsplit.ini" 8443

out=$(timeout 20 ip netns exec "$CLI" "$PYTHON" "$NET" talk 10.77.1.1 8443 send 'PEER' expect 'peer=' 5 2>>"$T/talk.err")
is "$out" "peer=10.77.1.2" "the backend sees the client's own address"
out=$(timeout 20 ip netns exec "$CLI" "$PYTHON" "$NET" talk 10.77.1.1 8443 send 'PLAIN' expect 'peer=' 5 2>>"$T/talk.err")
is "$out" "peer=10.77.2.1" "without transparent it sees portsplit's"

status=/proc/$PS_PID/status
is "$(awk '/^Uid:/ { print $2 }' "$status")" "$(id -u nobody)" "portsplit runs as nobody"
# CAP_NET_ADMIN is bit 12: 0x1000.
is "$(awk '/^CapEff:/ { print $2 }' "$status")" 0000000000001000 "effective capabilities: CAP_NET_ADMIN alone"
is "$(awk '/^CapPrm:/ { print $2 }' "$status")" 0000000000001000 "permitted capabilities: CAP_NET_ADMIN alone"
is "$(awk '/^CapInh:/ { print $2 }' "$status")" 0000000000000000 "nothing inheritable"
is "$(awk '/^CapAmb:/ { print $2 }' "$status")" 0000000000000000 "nothing ambient"
is "$(awk '/^CapBnd:/ { print $2 }' "$status")" 0000000000001000 "bounding set: CAP_NET_ADMIN alone"

[ "$FAILED" = 0 ] || { diag <"$T/talk.err"; diag <"$T/back.log"; }
finish
