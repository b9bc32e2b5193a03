# SPDX-License-Identifier: ISC
# examples/vpn-inside-tls as it stands (only ports and paths rewritten): an
# outer portsplit sends TLS to stunnel, stunnel hands the plain stream to an
# inner portsplit, which sends OpenVPN to a real OpenVPN server, SSH to a
# real sshd and the rest to nginx. Clients wrap with stunnel (OpenVPN, ssh)
# or openssl s_client (ssh's ProxyCommand: SSH over TLS on the same port);
# a browser-like client gets the site; junk gets nginx's HTTPS answer.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/probing/lib.sh"

need nginx openvpn openssl curl stunnel4 ssh
EX=$(cd "$TESTS_DIR/../examples/vpn-inside-tls" && pwd)
read -r OUT TERM INNER WEBS WEBH OVPN SSHP CLI <<<"$(free_ports 8)"
pki_setup
mkdir -p "$T/ex"
ln -s "$(cd "$TESTS_DIR/../signatures" && pwd)" "$T/ex/signatures"

# The example's files with the test's ports and paths.
rewrite() {
	sed -e "s/^accept = 127\.0\.0\.1:1194/accept = 127.0.0.1:$CLI/" \
		-e "s/0\.0\.0\.0:443/127.0.0.1:$OUT/; /^bind = \[::\]:443/d" \
		-e "s/127\.0\.0\.1:8444/127.0.0.1:$TERM/; s/127\.0\.0\.1:8445/127.0.0.1:$INNER/" \
		-e "s/127\.0\.0\.1:8443/127.0.0.1:$WEBS/; s/127\.0\.0\.1:8080/127.0.0.1:$WEBH/" \
		-e "s/127\.0\.0\.1:1194/127.0.0.1:$OVPN/; s/127\.0\.0\.1:22$/127.0.0.1:$SSHP/" \
		-e "s|/etc/ssl/example.org/fullchain.pem|$T/pki/server.crt|" \
		-e "s|/etc/ssl/example.org/privkey.pem|$T/pki/server.key|" \
		-e "s|/etc/ssl/certs/ca-certificates.crt|$T/pki/ca.crt|" \
		-e "s/example\.org:443/127.0.0.1:$OUT/; s/example\.org/localhost/" "$1" >"$2"
}
for f in outer.ini inner.ini server.conf client.conf; do
	rewrite "$EX/$f" "$T/ex/$f"
done
mkdir -p "$T/orig"
ln -s "$(cd "$TESTS_DIR/../signatures" && pwd)" "$T/orig/signatures"
for f in outer.ini inner.ini; do
	cp "$EX/$f" "$T/orig/$f"
	timeout 10 "$PORTSPLIT" -t "$T/orig/$f" >"$T/$f.check" 2>&1
	is "$?" 0 "examples/vpn-inside-tls/$f passes portsplit -t as it stands"
done
check "-t shows the inner openvpn service's guards and on_reject" \
	grep -q "fresh 15:be32 60s; replay_window 120s; on_reject fallback" "$T/inner.ini.check"

# The servers. nginx serves the same page over HTTPS and plain HTTP.
nginx_start "$WEBS"
sed -i "s|listen 127.0.0.1:$WEBS ssl;|&\n\t\tlisten 127.0.0.1:$WEBH;|" "$T/nginx-$WEBS/nginx.conf"
stop "$SPAWNED"
spawn "$T/nginx.log" nginx -p "$T/nginx-$WEBS" -c "$T/nginx-$WEBS/nginx.conf" -g 'daemon off;'
wait_port 127.0.0.1 "$WEBH" || bail "nginx listens on $WEBH too"
openvpn_server_start "$OVPN"
sshd_setup "ListenAddress 127.0.0.1:$SSHP" "PidFile $T/sshd.pid"
spawn "$T/sshd.log" /usr/sbin/sshd -D -e -f "$T/sshd_config"
wait_port 127.0.0.1 "$SSHP" || bail "sshd listens"
spawn "$T/stunnel-server.log" stunnel4 "$T/ex/server.conf"
wait_port 127.0.0.1 "$TERM" || bail "the terminating stunnel listens"

# The inner portsplit, then the outer one (ps_start tracks one daemon: the
# inner is spawned).
spawn "$T/inner.log" "$PORTSPLIT" "$T/ex/inner.ini"
for _ in $(seq 100); do grep -q "listening on" "$T/inner.log" && break; sleep 0.1; done
grep -q "listening on" "$T/inner.log" || bail "the inner portsplit starts"
ps_start "$T/ex/outer.ini" "$OUT"

# A client's stunnel.
spawn "$T/stunnel-client.log" stunnel4 "$T/ex/client.conf"
wait_port 127.0.0.1 "$CLI" || { diag <"$T/stunnel-client.log"; bail "the client's stunnel listens"; }

check "a real OpenVPN client through the client's stunnel connects" \
	openvpn_connects "$CLI" vpn-client
check "the inner portsplit sent it to openvpn" grep -q "service=openvpn " "$T/inner.log"

out=$(ssh_to "$CLI" echo over-stunnel 2>&1)
is "$out" "over-stunnel" "ssh through the same stunnel port reaches sshd"
out=$(timeout 60 ssh -F /dev/null -i "$T/userkey" -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \
	-o "ProxyCommand=openssl s_client -quiet -verify_quiet -verify_return_error -CAfile $T/pki/ca.crt -connect 127.0.0.1:$OUT -servername localhost" \
	x echo over-tls 2>"$T/ssh-tls.err")
is "$out" "over-tls" "ssh over TLS with openssl s_client as ProxyCommand (no stunnel) reaches sshd"

out=$(curl -sS --max-time 10 --cacert "$T/pki/ca.crt" --resolve "localhost:$OUT:127.0.0.1" "https://localhost:$OUT/" 2>&1)
is "$out" "the web site" "a browser-like client (curl, HTTPS, checking the certificate) gets the site"
check "the inner portsplit sent it to the site (fallback)" grep -q "service=fallback " "$T/inner.log"

# Junk and a keyless OpenVPN probe on the outer port: nginx's HTTPS answers.
for hex in "000e38$(printf '00%.0s' $(seq 13))" "$(hex 'junk junk')"; do
	r=$(probe_one "$OUT" "$hex" 3)
	b=$(probe_one "$WEBS" "$hex" 3)
	is "$(json "$r" digest) $(json "$r" end)" "$(json "$b" digest) $(json "$b" end)" \
		"${hex:0:12}... on the public port gets nginx's own answer ($(json "$r" ms) ms; nginx alone $(json "$b" ms) ms)"
done
# A prober that completes TLS, then sends nmap's OpenVPN probe and a
# keyless tls-crypt-shaped packet inside: nginx's plain HTTP answers.
now=$(printf '%08x' "$(date +%s)")
for hex in "000e38$(printf '00%.0s' $(seq 13))" \
	"00363850e1e2e3e4e5e6e70f000001$now$(printf 'ab%.0s' $(seq 37))"; do
	r=$(timeout 60 "$PYTHON" "$PROBE" one 127.0.0.1 "$OUT" "$hex" --tls localhost --wait 3)
	b=$(probe_one "$WEBH" "$hex" 3)
	is "$(json "$r" digest)" "$(json "$b" digest)" \
		"${hex:0:12}... inside TLS gets nginx's plain HTTP answer ($(json "$r" got) bytes, $(json "$r" ms) ms)"
done

[ "$FAILED" = 0 ] || for f in stunnel-server stunnel-client inner; do
	echo "# --- $f ---"
	tail -n 15 "$T/$f.log" | diag
done
finish
