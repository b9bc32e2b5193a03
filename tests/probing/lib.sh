# SPDX-License-Identifier: ISC
# Real servers for the hiding tests and the probe suite: a certificate
# authority made on the spot, nginx with HTTPS, an OpenVPN server in
# tls-crypt mode, OpenVPN clients, stunnel. Source tests/lib.sh first.
# Everything lives in $T and is started with spawn, so the EXIT trap stops
# it by PID.

PROBE="$TESTS_DIR/probing/probe.py"

# need PROGRAM...: bail unless every PROGRAM is installed
need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] ||
			bail "$p is installed (make test-deps)"
	done
}

# pki_setup: $T/pki/{ca,server,client}.{crt,key} (EC P-256, two days,
# the server's name localhost and 127.0.0.1) and $T/pki/tc.key (an OpenVPN
# tls-crypt key).
pki_setup() {
	local d=$T/pki n ext
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
		-subj /CN=portsplit-test-ca 2>/dev/null || bail "openssl makes a CA"
	for n in server client; do
		if [ $n = server ]; then
			ext="extendedKeyUsage=serverAuth
keyUsage=digitalSignature,keyAgreement
subjectAltName=DNS:localhost,IP:127.0.0.1"
		else
			ext="extendedKeyUsage=clientAuth
keyUsage=digitalSignature,keyAgreement"
		fi
		printf '%s\n' "$ext" >"$d/$n.ext"
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout "$d/$n.key" -out "$d/$n.csr" \
			-subj "/CN=$n" 2>/dev/null &&
			openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" \
				-CAkey "$d/ca.key" -CAcreateserial -out "$d/$n.crt" \
				-days 2 -extfile "$d/$n.ext" 2>/dev/null ||
			bail "openssl signs the $n certificate"
	done
	if command -v openvpn >/dev/null 2>&1; then
		openvpn --genkey tls-crypt "$d/tc.key" >/dev/null 2>&1 ||
			bail "openvpn makes a tls-crypt key"
	fi
}

# nginx_start PORT: nginx serving HTTPS on 127.0.0.1:PORT (the test's
# certificate, a one-line index page), in the foreground under spawn.
nginx_start() {
	local port=$1 d=$T/nginx-$1
	mkdir -p "$d/www"
	echo "the web site" >"$d/www/index.html"
	cat >"$d/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
	access_log $d/access.log;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	server {
		listen 127.0.0.1:$port ssl;
		ssl_certificate $T/pki/server.crt;
		ssl_certificate_key $T/pki/server.key;
		root $d/www;
	}
}
EOF
	spawn "$d/stdout.log" nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;'
	wait_port 127.0.0.1 "$port" || bail "nginx listens on $port"
}

# openvpn_server_start PORT [OPTION...]: an OpenVPN 2 server in server
# mode over TCP on 127.0.0.1:PORT with tls-crypt. Its tun device gets no
# address (nothing is routed through it) and is gone when it stops.
openvpn_server_start() {
	local port=$1
	shift
	OVPN_DEV=pst$$
	spawn "$T/openvpn-server.log" openvpn --mode server --tls-server \
		--proto tcp-server --local 127.0.0.1 --port "$port" \
		--dev-type tun --dev "$OVPN_DEV" --ifconfig-noexec --route-noexec \
		--topology subnet --ifconfig 10.231.0.1 255.255.255.0 \
		--ifconfig-pool 10.231.0.2 10.231.0.200 --duplicate-cn \
		--ca "$T/pki/ca.crt" --cert "$T/pki/server.crt" \
		--key "$T/pki/server.key" --dh none --tls-crypt "$T/pki/tc.key" \
		--verb 3 "$@"
	OVPN_PID=$SPAWNED
	wait_port 127.0.0.1 "$port" || {
		diag <"$T/openvpn-server.log"
		bail "openvpn server listens on $port"
	}
}

# openvpn_client_conf PORT FILE: a client configuration for the server
# above through 127.0.0.1:PORT (no tun: --dev null, pushed addresses
# ignored), one try.
openvpn_client_conf() {
	cat >"$2" <<EOF
client
dev null
proto tcp-client
remote 127.0.0.1 $1
connect-retry-max 1
ca $T/pki/ca.crt
cert $T/pki/client.crt
key $T/pki/client.key
tls-crypt $T/pki/tc.key
remote-cert-tls server
pull-filter ignore "ifconfig"
pull-filter ignore "route"
verb 3
EOF
}

# openvpn_connects PORT NAME: an OpenVPN client reaches "Initialization
# Sequence Completed" through 127.0.0.1:PORT within 30 s; its log is
# $T/NAME.log.
openvpn_connects() {
	local port=$1 name=$2 pid
	openvpn_client_conf "$port" "$T/$name.conf"
	spawn "$T/$name.log" openvpn --config "$T/$name.conf"
	pid=$SPAWNED
	for _ in $(seq 300); do
		grep -aqs "Initialization Sequence Completed" "$T/$name.log" && break
		alive "$pid" || break
		sleep 0.1
	done
	stop "$pid"
	grep -aq "Initialization Sequence Completed" "$T/$name.log"
}

# openvpn_first_packet FILE: the first packet a real OpenVPN client sends
# (its length prefix and body), captured by a listener that reads it and
# closes; the client gives up after one try.
openvpn_first_packet() {
	local file=$1 port pid
	port=$(free_ports 1)
	spawn "$T/capture.log" "$PYTHON" -c '
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print("listening", flush=True)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(10)
buf = b""
while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
    d = c.recv(4096)
    if not d:
        break
    buf += d
open(sys.argv[2], "wb").write(buf[:2 + struct.unpack(">H", buf[:2])[0]])
' "$port" "$file"
	pid=$SPAWNED
	wait_file "$T/capture.log" 10 || bail "capture listener starts"
	openvpn_client_conf "$port" "$T/capture-client.conf"
	timeout 20 openvpn --config "$T/capture-client.conf" >"$T/capture-client.log" 2>&1 &
	local cpid=$!
	PIDS+=("$cpid")
	wait_file "$file" 20
	stop "$cpid"
	stop "$pid"
	[ -s "$file" ] || bail "a real OpenVPN client's first packet is captured"
}

# probe_one PORT HEX [WAIT]: one probe (probe.py one), its JSON line
probe_one() {
	timeout 60 "$PYTHON" "$PROBE" one 127.0.0.1 "$1" "$2" --wait "${3:-5}"
}

# hexof FILE: FILE's bytes in hex
hexof() { od -An -v -tx1 "$1" | tr -d ' \n'; }
