# SPDX-License-Identifier: ISC
# examples/vpn-behind-https, end to end with the real programs: nginx
# serving an HTTPS site, sshd and an OpenVPN server over TCP behind
# portsplit on port 443, in a network namespace of the test's own; clients
# in a second namespace, joined by a veth pair. The example files are used
# as they stand, but for the paths of the keys and the server's address.
# OpenVPN clients, plain, tls-crypt, tls-auth and tls-crypt-v2, reach
# "Initialization Sequence Completed" through portsplit and ping the server
# through a real tun (or use --dev null where tun is refused); a tls-crypt
# session goes on across a portsplit reload; curl gets the HTTPS site (the
# certificate checked) and, in plain HTTP on 443, nginx's own 400; ssh
# runs a command.
. "$(dirname "$0")/../lib.sh"

top=$(cd "$TESTS_DIR/.." && pwd)
EX=$top/examples/vpn-behind-https
[ -x "$PORTSPLIT" ] || bail "portsplit binary exists at $PORTSPLIT"
for p in ip openvpn nginx /usr/sbin/sshd ssh ssh-keygen curl openssl ping; do
	command -v "$p" >/dev/null || { skip "vpn behind https" "$p is not installed"; finish; }
done
[ "$(id -u)" = 0 ] || { skip "vpn behind https" "network namespaces need root"; finish; }

S=psvs$$ C=psvc$$ # namespace and veth names (at most 15 bytes)
SRV=10.231.0.1 CLI=10.231.0.2
ns_cleanup() {
	ip netns del "$S" 2>/dev/null
	ip netns del "$C" 2>/dev/null
}
trap 'cleanup; ns_cleanup' EXIT
if ! ip netns add "$S" 2>"$T/ns.err" || ! ip netns add "$C" 2>>"$T/ns.err"; then
	diag <"$T/ns.err"
	skip "vpn behind https" "cannot create network namespaces here"
	finish
fi
ip link add "$S" type veth peer name "$C" &&
	ip link set "$S" netns "$S" && ip link set "$C" netns "$C" &&
	ip -n "$S" addr add "$SRV/24" dev "$S" && ip -n "$C" addr add "$CLI/24" dev "$C" &&
	ip -n "$S" link set "$S" up && ip -n "$C" link set "$C" up &&
	ip -n "$S" link set lo up && ip -n "$C" link set lo up ||
	bail "veth pair between the two namespaces"
inS() { ip netns exec "$S" "$@"; }
inC() { ip netns exec "$C" "$@"; }
# A tun device where the kernel lets us make one; --dev null otherwise.
if [ -n "${VPN_TEST_DEV:-}" ]; then
	DEV=$VPN_TEST_DEV # to try the other path by hand
elif inS ip tuntap add dev pstun0 mode tun 2>/dev/null; then
	inS ip tuntap del dev pstun0 mode tun
	DEV=tun
else
	DEV=null
fi

# --- keys: a CA, the OpenVPN server and client, the web site, SSH
K=$T/keys
mkdir -p "$K"
(
	cd "$K" || exit 1
	ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=test-vpn-ca &&
		printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext &&
		printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' >client.ext &&
		for n in server client; do
			openssl req $ec -keyout $n.key -out $n.csr -subj /CN=$n &&
				openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
					-out $n.crt -days 2 -extfile $n.ext || exit 1
		done &&
		openssl req -x509 $ec -keyout web.key -out web.crt -days 2 \
			-subj /CN=vpn.example.org -addext subjectAltName=DNS:vpn.example.org &&
		openvpn --genkey secret tc.key &&
		openvpn --genkey secret ta.key &&
		openvpn --genkey tls-crypt-v2-server v2s.key &&
		openvpn --tls-crypt-v2 v2s.key --genkey tls-crypt-v2-client v2c.key
) >"$T/keys.log" 2>&1 || { diag <"$T/keys.log"; bail "test keys and certificates"; }

# --- the servers, from the example's files
sed -e "s|/run/nginx-vpn-behind-https.pid|$T/nginx.pid|" \
	-e "s|/etc/ssl/certs/vpn.example.org.pem|$K/web.crt|" \
	-e "s|/etc/ssl/private/vpn.example.org.key|$K/web.key|" \
	-e "s|root /var/www/html;|root $T;|" "$EX/nginx.conf" >"$T/nginx.conf"
spawn "$T/nginx.log" ip netns exec "$S" nginx -e stderr -c "$T/nginx.conf" -g 'daemon off;'
sshd_setup "ListenAddress 127.0.0.1:22" "PidFile $T/sshd.pid"
spawn "$T/sshd.log" ip netns exec "$S" /usr/sbin/sshd -D -e -f "$T/sshd_config"

PS_LOG=$T/portsplit.log
spawn "$PS_LOG" ip netns exec "$S" "$PORTSPLIT" "$EX/portsplit.ini"
PS_PID=$SPAWNED
for _ in $(seq 100); do
	[ "$(grep -c 'listening on .*:443' "$PS_LOG")" -ge 2 ] && break
	alive "$PS_PID" || break
	sleep 0.1
done
[ "$(grep -c 'listening on .*:443' "$PS_LOG")" -ge 2 ] ||
	bail "portsplit listens on 0.0.0.0:443 and [::]:443 with the example as it stands"
ok "portsplit serves examples/vpn-behind-https/portsplit.ini as it stands"
inS "$PYTHON" "$NET" wait-port 127.0.0.1 8443 10 || { diag <"$T/nginx.log"; bail "nginx listens on 127.0.0.1:8443"; }
inS "$PYTHON" "$NET" wait-port 127.0.0.1 22 10 || { diag <"$T/sshd.log"; bail "sshd listens on 127.0.0.1:22"; }

# --- the web site
body=$(inC timeout 20 curl -s --cacert "$K/web.crt" \
	--resolve "vpn.example.org:443:$SRV" https://vpn.example.org/)
is "$body" "an ordinary web site" "curl https://vpn.example.org/ (certificate checked) -> nginx's site"
plain=$(inC timeout 20 curl -s "http://$SRV:443/")
check "plain HTTP on 443 -> nginx's 400 'plain HTTP request was sent to HTTPS port'" \
	grep -q "plain HTTP request was sent to HTTPS port" <<<"$plain"
junk=$(printf 'HELO junk\r\n\r\n' | inC timeout 20 curl -s --max-time 10 telnet://$SRV:443 2>/dev/null | head -c 300)
check "junk on 443 -> the web server answers (fallback)" grep -q "400 Bad Request" <<<"$junk"

# --- ssh through portsplit
out=$(inC timeout 60 ssh -F /dev/null -i "$T/userkey" -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \
	-o ConnectTimeout=20 -p 443 "root@$SRV" echo ssh-through-443 2>&1)
is "$out" "ssh-through-443" "ssh -p 443 runs a command through portsplit"

# --- OpenVPN, one control-channel mode after the other: the server's and
# the client's files are the example's (tls-crypt), with their tls-crypt
# line dropped (plain) or replaced (tls-auth, tls-crypt-v2).
# vpn MODE [reload]: with reload, portsplit gets SIGHUP while the session
# is up, and the session goes on.
vpn() {
	local mode=$1 srv cli n
	case $mode in
	plain) srv= cli= ;;
	tls-crypt) srv='tls-crypt tc.key' cli='tls-crypt tc.key' ;;
	tls-auth) srv='tls-auth ta.key 0' cli='tls-auth ta.key 1' ;;
	tls-crypt-v2) srv='tls-crypt-v2 v2s.key' cli='tls-crypt-v2 v2c.key' ;;
	esac
	sed -e "s|^tls-crypt tc.key\$|$srv|" "$EX/server.ovpn" >"$T/server-$mode.ovpn"
	# --dev null: `server` wants a tun; spell out what it stands for,
	# without touching interfaces or routes.
	[ "$DEV" = tun ] || sed -i -e 's|^server 10.8.0.0 255.255.255.0$|mode server\ntls-server\ndev-type tun\nifconfig-noexec\nroute-noexec\nifconfig 10.8.0.1 255.255.255.0\nifconfig-pool 10.8.0.2 10.8.0.200\npush "topology subnet"|' "$T/server-$mode.ovpn"
	sed -e "s|^remote HOST 443|remote $SRV 443|" -e "s|^tls-crypt tc.key\$|$cli|" \
		"$EX/client.ovpn" >"$T/client-$mode.ovpn"
	[ "$DEV" = tun ] || printf 'dev-type tun\nifconfig-noexec\nroute-noexec\n' >>"$T/client-$mode.ovpn"
	spawn "$T/ovpn-server-$mode.log" ip netns exec "$S" openvpn --cd "$K" \
		--config "$T/server-$mode.ovpn" --dev "$DEV"
	local spid=$SPAWNED
	inS "$PYTHON" "$NET" wait-port 127.0.0.1 1194 20 >/dev/null ||
		{ diag <"$T/ovpn-server-$mode.log"; not_ok "openvpn server ($mode) listens"; return; }
	spawn "$T/ovpn-client-$mode.log" ip netns exec "$C" openvpn --cd "$K" \
		--config "$T/client-$mode.ovpn" --dev "$DEV"
	local cpid=$SPAWNED
	for _ in $(seq 300); do
		grep -q "Initialization Sequence Completed" "$T/ovpn-client-$mode.log" && break
		alive "$cpid" || break
		sleep 0.1
	done
	if grep -q "Initialization Sequence Completed" "$T/ovpn-client-$mode.log"; then
		ok "openvpn client ($mode): Initialization Sequence Completed through portsplit on 443"
	else
		not_ok "openvpn client ($mode): Initialization Sequence Completed through portsplit on 443"
		tail -n 15 "$T/ovpn-client-$mode.log" | diag
		tail -n 15 "$T/ovpn-server-$mode.log" | diag
	fi
	if [ "$DEV" = tun ]; then
		n=$(inC ping -c 3 -i 0.2 -W 3 10.8.0.1 2>/dev/null | grep -c 'bytes from')
		is "$n" 3 "openvpn ($mode): 3 pings through the tunnel"
		if [ "${2:-}" = reload ]; then
			kill -HUP "$PS_PID"
			wait_log 'reloaded: ' 10
			n=$(inC ping -c 3 -i 0.2 -W 3 10.8.0.1 2>/dev/null | grep -c 'bytes from')
			is "$n" 3 "openvpn ($mode): the session survives a portsplit reload (3 more pings)"
			check "openvpn ($mode): still one session (no reconnection)" \
				test "$(grep -c 'Initialization Sequence Completed' "$T/ovpn-client-$mode.log")" = 1
		fi
	else
		skip "openvpn ($mode): pings through the tunnel" "no tun device here (--dev null)"
	fi
	stop "$cpid"
	stop "$spid"
}
vpn plain
vpn tls-crypt reload
vpn tls-auth
vpn tls-crypt-v2

# portsplit's own account of it
check "log: decisions for https, http, fallback, ssh and openvpn (x4)" \
	test "$(grep -cE 'decision .*service=(https|http|fallback|ssh) ' "$PS_LOG")" -ge 4 -a \
	"$(grep -cE 'decision .*service=openvpn ' "$PS_LOG")" -ge 4
finish
