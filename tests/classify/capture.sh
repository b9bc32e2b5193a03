#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Records the first flight of real client programs into tests/classify/:
# each client is run against record.py, a silent loopback listener that
# accepts one connection, stores what arrives until a second of silence, and
# closes. One file per sample, tests/classify/PROTOCOL/CLIENT-VARIANT.bin;
# the folder names the library signature that must take it.
#
#   tests/classify/capture.sh [PATTERN]   (only samples whose PROTO/NAME
#                                           contains PATTERN)
#
# The samples are committed, so `make check` needs none of these clients.
# Debian packages used (bookworm), installed with --no-install-recommends:
#   openssh-client dropbear-bin putty-tools curl wget openssl gnutls-bin
#   python3 openvpn postgresql-client redis-tools mosquitto-clients git rsync
#   freerdp2-x11 xvfb xauth ldap-utils smbclient knot-dnsutils bind9-dnsutils
#   sipsak adb tinc ii sic sendxmpp amqp-tools dict libmemcached-tools
#   rtmpdump bsdutils freetds-bin kcat coturn python3-pymongo
#   python3-cassandra python3-kazoo x11-utils xauth pptp-linux
# A client that is not installed is skipped with a note. Files named
# *-synthetic.bin are not from a client program: they are made here from
# the protocol's specification, and the script says so.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
only=${1:-}
W=$(mktemp -d "${TMPDIR:-/tmp}/portsplit-capture.XXXXXX")
export HOME=$W/home # no user configuration reaches the clients
mkdir -p "$HOME"
ADB_STARTED=
cleanup() {
	[ -n "$ADB_STARTED" ] && adb kill-server >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
recorded=0 skipped=0 failed=0

# cap PROTO NAME COMMAND...: run COMMAND (every @PORT@ replaced by the
# listener's port) against a fresh listener; save to PROTO/NAME.bin.
# RECORD_PORT=N cap ...: listen on port N (a client that behaves
# differently on its well-known port).
cap() {
	local proto=$1 name=$2 port out rpid
	shift 2
	[[ -z "$only" || "$proto/$name" == *"$only"* ]] || return 0
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "skip $proto/$name: $1 not installed"
		skipped=$((skipped + 1))
		return 0
	fi
	mkdir -p "$here/$proto"
	out=$W/$proto-$name.bin
	coproc REC { "$PYTHON" "$here/record.py" "$out" 20 ${RECORD_PORT:-}; }
	rpid=$REC_PID
	read -r port <&"${REC[0]}"
	local args=("${@//@PORT@/$port}")
	timeout -k 2 12 "${args[@]}" </dev/null >"$W/client.log" 2>&1
	# A client that failed before connecting leaves the listener waiting.
	for _ in $(seq 30); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	if [ -s "$out" ]; then
		mv "$out" "$here/$proto/$name.bin"
		printf 'ok   %-40s %6d bytes\n' "$proto/$name" "$(stat -c %s "$here/$proto/$name.bin")"
		recorded=$((recorded + 1))
	else
		echo "FAIL $proto/$name: nothing recorded"
		sed 's/^/     /' "$W/client.log" | tail -n 5
		failed=$((failed + 1))
	fi
}

# synth PROTO NAME PYTHON-EXPR: a sample made from the specification.
synth() {
	local proto=$1 name=$2
	[[ -z "$only" || "$proto/$name" == *"$only"* ]] || return 0
	mkdir -p "$here/$proto"
	"$PYTHON" -c "import sys; sys.stdout.buffer.write($3)" >"$here/$proto/$name-synthetic.bin"
	printf 'ok   %-40s %6d bytes (synthetic)\n' "$proto/$name-synthetic" "$(stat -c %s "$here/$proto/$name-synthetic.bin")"
	recorded=$((recorded + 1))
}

ver() { "$@" 2>&1 | grep -Eo '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n 1; }

# ---------------------------------------------------------------- keys
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$W/key.pem" -out "$W/cert.pem" -subj /CN=capture -days 2 >/dev/null 2>&1

# ---------------------------------------------------------------- ssh
v=$(ssh -V 2>&1 | sed -n 's/^OpenSSH_\([0-9.p]*\).*/\1/p')
cap ssh "openssh-$v" ssh -F /dev/null -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5 -p @PORT@ 127.0.0.1 true
cap ssh "dropbear-dbclient" dbclient -y -y -p @PORT@ 127.0.0.1 true
cap ssh "putty-plink" plink -batch -P @PORT@ 127.0.0.1 true

# ---------------------------------------------------------------- http
u=http://127.0.0.1:@PORT@
cap http curl-get curl -s --max-time 5 $u/index.html
cap http curl-head curl -s --max-time 5 -I $u/
cap http curl-post curl -s --max-time 5 -d a=1 $u/form
cap http curl-put curl -s --max-time 5 -X PUT -d data $u/file
cap http curl-delete curl -s --max-time 5 -X DELETE $u/file
cap http curl-options curl -s --max-time 5 -X OPTIONS $u/
cap http curl-options-star curl -s --max-time 5 -X OPTIONS --request-target '*' $u/
cap http curl-trace curl -s --max-time 5 -X TRACE $u/
cap http curl-patch curl -s --max-time 5 -X PATCH -d x $u/
for m in PROPFIND PROPPATCH MKCOL COPY MOVE LOCK UNLOCK REPORT SEARCH MKCALENDAR ACL; do
	cap http "curl-webdav-$m" curl -s --max-time 5 -X $m -H 'Depth: 1' $u/dav/
done
cap http curl-http1.0 curl -s --max-time 5 --http1.0 $u/
cap http curl-h2c-upgrade curl -s --max-time 5 --http2 $u/
cap http curl-proxy-absolute curl -s --max-time 5 -x $u http://example.org/
cap http curl-proxy-connect curl -s --max-time 5 -p -x $u http://example.org/
cap http curl-user-agent-long curl -s --max-time 5 -A "$(printf 'x%.0s' $(seq 300))" -H 'X-Long: yes' $u/
cap http wget-get wget -q -t 1 -T 5 -O /dev/null $u/
cap http wget-post wget -q -t 1 -T 5 -O /dev/null --post-data a=b $u/
# RFC 9112 §2.2: empty lines before the request line (a client that ends
# a previous body with an extra CRLF); no client program sends it first.
synth http leading-crlf "b'\\r\\nGET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n'"
synth http leading-lf2 "b'\\n\\nHEAD /x HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n'"
cap http python-urllib "$PYTHON" -c "import urllib.request as u; u.urlopen('$u/', timeout=5)"

# ---------------------------------------------------------------- http2
cap http2 curl-prior-knowledge curl -s --max-time 5 --http2-prior-knowledge $u/

# ---------------------------------------------------------------- rtsp
cap rtsp curl-options curl -s --max-time 5 rtsp://127.0.0.1:@PORT@/stream

# ---------------------------------------------------------------- tls
v=$(openssl version | awk '{print $2}')
o="openssl-$v"
cap tls "$o-sni" openssl s_client -connect 127.0.0.1:@PORT@ -servername example.org
cap tls "$o-nosni" openssl s_client -connect 127.0.0.1:@PORT@ -noservername
cap tls "$o-tls1.2" openssl s_client -connect 127.0.0.1:@PORT@ -tls1_2 -servername example.org
cap tls "$o-tls1.3" openssl s_client -connect 127.0.0.1:@PORT@ -tls1_3 -servername example.org
cap tls "$o-tls1.0" openssl s_client -connect 127.0.0.1:@PORT@ -tls1 -cipher DEFAULT@SECLEVEL=0 -servername example.org
cap tls "$o-alpn" openssl s_client -connect 127.0.0.1:@PORT@ -servername example.org -alpn h2,http/1.1
g="gnutls-cli-$(ver gnutls-cli --version)"
cap tls "$g-sni" gnutls-cli --insecure --sni-hostname example.org -p @PORT@ 127.0.0.1
cap tls "$g-nosni" gnutls-cli --insecure -p @PORT@ 127.0.0.1
cap tls "$g-tls1.2" gnutls-cli --insecure --priority NORMAL:-VERS-TLS1.3 --sni-hostname example.org -p @PORT@ 127.0.0.1
cap tls "$g-alpn" gnutls-cli --insecure --alpn h2 --alpn http/1.1 --sni-hostname example.org -p @PORT@ 127.0.0.1
cap tls python-ssl "$PYTHON" -c "
import socket, ssl
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
s = socket.create_connection(('127.0.0.1', @PORT@), 5)
c.wrap_socket(s, server_hostname='example.org')"
cap tls python-ssl-alpn "$PYTHON" -c "
import socket, ssl
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
c.set_alpn_protocols(['h2', 'http/1.1'])
s = socket.create_connection(('127.0.0.1', @PORT@), 5)
c.wrap_socket(s, server_hostname='www.example.org')"
cap tls curl-https curl -sk --max-time 5 --resolve www.example.org:@PORT@:127.0.0.1 https://www.example.org:@PORT@/
cap tls curl-https-http1.1 curl -sk --max-time 5 --http1.1 --resolve example.org:@PORT@:127.0.0.1 https://example.org:@PORT@/
cap tls wget-https wget -q -t 1 -T 5 --no-check-certificate -O /dev/null https://localhost:@PORT@/

# ---------------------------------------------------------------- openvpn
if command -v openvpn >/dev/null 2>&1; then
	openvpn --genkey secret "$W/ta.key" >/dev/null 2>&1
	openvpn --genkey tls-crypt-v2-server "$W/v2srv.key" >/dev/null 2>&1
	openvpn --tls-crypt-v2 "$W/v2srv.key" --genkey tls-crypt-v2-client "$W/v2cli.key" >/dev/null 2>&1
fi
v="openvpn-$(ver openvpn --version)"
ovpn=(openvpn --client --dev null --nobind --remote 127.0.0.1 @PORT@ tcp-client
	--ca "$W/cert.pem" --cert "$W/cert.pem" --key "$W/key.pem"
	--connect-retry-max 1 --verb 1)
cap openvpn "$v-plain" "${ovpn[@]}"
cap openvpn "$v-tls-auth" "${ovpn[@]}" --tls-auth "$W/ta.key" 1
cap openvpn "$v-tls-auth-sha256" "${ovpn[@]}" --tls-auth "$W/ta.key" 1 --auth SHA256
cap openvpn "$v-tls-crypt" "${ovpn[@]}" --tls-crypt "$W/ta.key"
cap openvpn "$v-tls-crypt-v2" "${ovpn[@]}" --tls-crypt-v2 "$W/v2cli.key"

# ---------------------------------------------------------------- socks
cap socks4 curl-socks4 curl -s --max-time 5 --socks4 127.0.0.1:@PORT@ http://93.184.216.34/
cap socks4 curl-socks4-user curl -s --max-time 5 -x socks4://alice@127.0.0.1:@PORT@ http://93.184.216.34/
cap socks4 curl-socks4a curl -s --max-time 5 --socks4a 127.0.0.1:@PORT@ http://example.org/
cap socks5 curl-socks5 curl -s --max-time 5 --socks5 127.0.0.1:@PORT@ http://example.org/
cap socks5 curl-socks5-hostname curl -s --max-time 5 --socks5-hostname 127.0.0.1:@PORT@ http://example.org/
cap socks5 curl-socks5-auth curl -s --max-time 5 -x socks5h://alice:secret@127.0.0.1:@PORT@ http://example.org/

# ---------------------------------------------------------------- xmpp
cap xmpp sendxmpp sendxmpp -j 127.0.0.1:@PORT@ -u alice -p secret -d example.org --no-tls-verify -t bob@example.org
cap xmpp sendxmpp-tls sendxmpp -j 127.0.0.1:@PORT@ -u alice -p secret -d example.org -n -t bob@example.org

# ---------------------------------------------------------------- rdp
if command -v xfreerdp >/dev/null && command -v xvfb-run >/dev/null; then
	v="xfreerdp-$(ver dpkg-query -W freerdp2-x11)"
	cap rdp "$v" xvfb-run -a xfreerdp /v:127.0.0.1:@PORT@ /u:alice /p:secret /cert:ignore
	cap rdp "$v-nla" xvfb-run -a xfreerdp /v:127.0.0.1:@PORT@ /u:alice /p:secret /cert:ignore /sec:nla
	cap rdp "$v-rdpsec" xvfb-run -a xfreerdp /v:127.0.0.1:@PORT@ /u:alice /p:secret /cert:ignore /sec:rdp
fi

# ---------------------------------------------------------------- postgres
v="psql-$(ver psql --version)"
cap postgres "$v-sslprefer" psql "host=127.0.0.1 port=@PORT@ user=alice dbname=db connect_timeout=5" -c 'select 1'
cap postgres "$v-nossl" psql "host=127.0.0.1 port=@PORT@ user=alice dbname=db sslmode=disable connect_timeout=5" -c 'select 1'
# gssencmode needs a Kerberos credential cache before psql connects at all:
# the GSSENCRequest sample is made from the specification instead.
synth postgres gssencrequest "bytes([0, 0, 0, 8, 4, 210, 22, 48])"
# A CancelRequest needs a running query's backend key: made from the
# specification (length 16, code 80877102, process id, secret key).
synth postgres cancelrequest "bytes([0, 0, 0, 16, 4, 210, 22, 46]) + (4242).to_bytes(4, 'big') + bytes.fromhex('0a0d20ff')"
cap postgres "$v-replication" psql "host=127.0.0.1 port=@PORT@ user=alice dbname=db sslmode=disable replication=database application_name=capture connect_timeout=5" -c 'select 1'

# ---------------------------------------------------------------- redis
v="redis-cli-$(ver redis-cli --version)"
cap redis "$v-ping" redis-cli -h 127.0.0.1 -p @PORT@ ping
cap redis "$v-auth" redis-cli -h 127.0.0.1 -p @PORT@ -a secret --no-auth-warning get k
cap redis "$v-resp3" redis-cli -3 -h 127.0.0.1 -p @PORT@ set k v
# Inline commands (redis-inline, opt-in), as typed through nc or telnet.
synth redis-inline nc-ping "b'PING\\r\\n'"
synth redis-inline nc-ping-lower "b'ping\\r\\n'"
synth redis-inline nc-auth "b'AUTH secret\\r\\n'"
synth redis-inline nc-client-setname "b'CLIENT SETNAME x\\n'"


# ---------------------------------------------------------------- mqtt
v="mosquitto_pub-$(ver mosquitto_pub --help)"
cap mqtt "$v-v311" mosquitto_pub -h 127.0.0.1 -p @PORT@ -t t -m m -V mqttv311
cap mqtt "$v-v5" mosquitto_pub -h 127.0.0.1 -p @PORT@ -t t -m m -V mqttv5
cap mqtt "$v-v31" mosquitto_pub -h 127.0.0.1 -p @PORT@ -t t -m m -V mqttv31
cap mqtt "$v-auth-will" mosquitto_pub -h 127.0.0.1 -p @PORT@ -t t -m m -u alice -P secret --will-topic w --will-payload bye

# ---------------------------------------------------------------- git
v="git-$(ver git --version)"
git init -q --bare "$W/push.git" 2>/dev/null
git -C "$W" init -q work 2>/dev/null && git -C "$W/work" -c user.email=a@b -c user.name=a commit -q --allow-empty -m x 2>/dev/null
cap git "$v-clone" git clone -q git://127.0.0.1:@PORT@/repo.git "$W/clone1"
cap git "$v-ls-remote-v2" git -c protocol.version=2 ls-remote git://127.0.0.1:@PORT@/repo.git
cap git "$v-ls-remote-v0" git -c protocol.version=0 ls-remote git://127.0.0.1:@PORT@/repo.git
cap git "$v-push" git -C "$W/work" push -q git://127.0.0.1:@PORT@/repo.git HEAD:main
cap git "$v-archive" git archive --remote=git://127.0.0.1:@PORT@/repo.git HEAD

# ---------------------------------------------------------------- rsync
v="rsync-$(ver rsync --version)"
cap rsync "$v-list" rsync rsync://127.0.0.1:@PORT@/
cap rsync "$v-module" rsync -a rsync://127.0.0.1:@PORT@/module/ "$W/rs/"

# ---------------------------------------------------------------- tinc
if command -v tincd >/dev/null 2>&1; then
	# tincd connects to the host "server" at the recorded port.
	tinc_cap() {
		local port=$1 d=$W/tinc
		rm -rf "$d"
		mkdir -p "$d/hosts"
		printf 'Name = capture\nConnectTo = server\nDeviceType = dummy\n' >"$d/tinc.conf"
		printf 'Address = 127.0.0.1\nPort = %s\n' "$port" >"$d/hosts/server"
		printf '%s\n' "$(openssl genrsa 2048 2>/dev/null | openssl rsa -RSAPublicKey_out 2>/dev/null)" >>"$d/hosts/server"
		yes '' | tincd -c "$d" -K >/dev/null 2>&1
		exec tincd -c "$d" -D -d0 --pidfile="$d/pid"
	}
	export -f tinc_cap
	export W
	cap tinc "tincd-$(ver tincd --version)" bash -c 'tinc_cap @PORT@'
fi

# ---------------------------------------------------------------- adb
if command -v adb >/dev/null 2>&1; then
	ADB_STARTED=1
	adb start-server >/dev/null 2>&1
	cap adb "adb-$(ver adb version)-connect" adb connect 127.0.0.1:@PORT@
fi

# ---------------------------------------------------------------- sip
cap sip "sipsak-$(ver sipsak -V)-options" sipsak -E tcp -s sip:alice@127.0.0.1:@PORT@
cap sip "sipsak-$(ver sipsak -V)-register" sipsak -E tcp -U -C sip:alice@127.0.0.1 -s sip:alice@127.0.0.1:@PORT@

# An RFC 5626 double-CRLF keep-alive, then a REGISTER.
synth sip keepalive-register "b'\\r\\n\\r\\nREGISTER sip:example.org SIP/2.0\\r\\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK77\\r\\nMax-Forwards: 70\\r\\n\\r\\n'"
# INFO (RFC 6086) shares its name with a Redis inline command.
synth sip info "b'INFO sip:bob@example.org SIP/2.0\\r\\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK776\\r\\nMax-Forwards: 70\\r\\n\\r\\n'"

# ---------------------------------------------------------------- irc
cap irc "ii-$(ver dpkg-query -W ii)" ii -s 127.0.0.1 -p @PORT@ -n capture -i "$W/ii"
cap irc sic sic -h 127.0.0.1 -p @PORT@ -n capture
cap irc sic-pass sic -h 127.0.0.1 -p @PORT@ -n capture -k secret
synth irc ircv3-cap-ls "b'CAP LS 302\r\nNICK capture\r\nUSER capture 0 * :Capture\r\n'"

# ---------------------------------------------------------------- dns
cap dns "kdig-$(ver kdig --version)" kdig +tcp +retry=0 +time=3 @127.0.0.1 -p @PORT@ example.org A
cap dns "kdig-$(ver kdig --version)-axfr" kdig +retry=0 +time=3 @127.0.0.1 -p @PORT@ example.org AXFR
cap dns "dig-$(ver dig -v)" dig +tcp +tries=1 +time=3 @127.0.0.1 -p @PORT@ example.org
cap dns "dig-$(ver dig -v)-noedns" dig +tcp +noedns +tries=1 +time=3 @127.0.0.1 -p @PORT@ www.example.org MX
cap dns "dig-$(ver dig -v)-dnssec" dig +tcp +dnssec +tries=1 +time=3 @127.0.0.1 -p @PORT@ example.org DNSKEY

# ---------------------------------------------------------------- ldap
v="ldapsearch-$(ver dpkg-query -W ldap-utils)"
cap ldap "$v-anon" ldapsearch -x -H ldap://127.0.0.1:@PORT@ -b dc=example,dc=org -o nettimeout=5
cap ldap "$v-simple-bind" ldapsearch -x -H ldap://127.0.0.1:@PORT@ -D cn=admin,dc=example,dc=org -w secret -b dc=example,dc=org -o nettimeout=5
cap ldap "$v-starttls" ldapsearch -x -ZZ -H ldap://127.0.0.1:@PORT@ -b dc=example,dc=org -o nettimeout=5

# ---------------------------------------------------------------- smb
v="smbclient-$(ver smbclient --version)"
cap smb "$v-smb2" smbclient -N -L //127.0.0.1 -p @PORT@
cap smb "$v-smb1" smbclient -N -L //127.0.0.1 -p @PORT@ -m NT1 --option='client min protocol=NT1'
cap smb "$v-smb3" smbclient -N //127.0.0.1/share -p @PORT@ -m SMB3 -c ls
# On port 139 smbclient opens with a NetBIOS session request (RFC 1002).
RECORD_PORT=139 cap smb "$v-netbios-139" smbclient -N -L //127.0.0.1 -p @PORT@

# ---------------------------------------------------------------- amqp
cap amqp "amqp-publish-$(ver dpkg-query -W amqp-tools)" amqp-publish --url amqp://127.0.0.1:@PORT@ -r q -b hello

# ---------------------------------------------------------------- dict
cap dict curl-define curl -s --max-time 3 dict://127.0.0.1:@PORT@/d:hello
cap dict curl-define-db curl -s --max-time 3 dict://127.0.0.1:@PORT@/d:hello:wn
cap dict curl-match curl -s --max-time 3 dict://127.0.0.1:@PORT@/m:hello::prefix
# dict(1) of dictd names the kernel in its CLIENT line: the recording is
# replayed here with a neutral one.
synth dict dict-client "b'client \"dict 1.13.0/rf on Linux 6.1.0\"\\r\\ndefine * \"hello\"\\r\\n'"

# ---------------------------------------------------------------- telnet
# PuTTY's telnet mode negotiates first; inetutils telnet waits for the
# server (a [timeout] case) and records nothing.
cap telnet "plink-$(ver plink -V)-telnet" plink -telnet -batch -P @PORT@ 127.0.0.1

# ---------------------------------------------------------------- memcached
v="$(ver dpkg-query -W libmemcached-tools)"
cap memcached "memcstat-$v" memcstat --servers=127.0.0.1:@PORT@
cap memcached "memcstat-$v-binary" memcstat --binary --servers=127.0.0.1:@PORT@
cap memcached "memccat-$v" memccat --servers=127.0.0.1:@PORT@ foo
cap memcached "memccat-$v-binary" memccat --binary --servers=127.0.0.1:@PORT@ foo
cap memcached "memccp-$v" sh -c 'echo hello >"$HOME/f" && memccp --servers=127.0.0.1:@PORT@ "$HOME/f"'
cap memcached "memcflush-$v" memcflush --servers=127.0.0.1:@PORT@
# The meta protocol (memcached 1.6) and touch-and-get, from protocol.txt.
synth memcached meta-get "b'mg foo v t\\r\\n'"
synth memcached gat "b'gat 60 foo bar\\r\\n'"

# ---------------------------------------------------------------- rtmp
cap rtmp "rtmpdump-$(ver dpkg-query -W rtmpdump)" rtmpdump -r rtmp://127.0.0.1:@PORT@/app/stream -o /dev/null
cap rtmp curl-rtmp curl -s --max-time 5 -o /dev/null rtmp://127.0.0.1:@PORT@/app/stream

# ---------------------------------------------------------------- syslog
v="logger-$(ver logger -V)"
cap syslog "$v-rfc5424" logger --tcp -n 127.0.0.1 -P @PORT@ -t capture hello
cap syslog "$v-octet-count" logger --tcp --octet-count -n 127.0.0.1 -P @PORT@ -t capture hello
cap syslog "$v-rfc3164" logger --tcp --rfc3164 -n 127.0.0.1 -P @PORT@ -t capture -p local7.debug hello

# ---------------------------------------------------------------- mongodb
v="pymongo-$(ver dpkg-query -W python3-pymongo)"
cap mongodb "$v" /usr/bin/python3 -c "import pymongo; pymongo.MongoClient('127.0.0.1', @PORT@, serverSelectionTimeoutMS=3000, directConnection=True).admin.command('ping')"
# OP_MSG hello (drivers for MongoDB 3.6 and later with the stable API):
# header, flagBits 0, a kind-0 section with {hello: 1, $db: "admin"}.
synth mongodb op-msg-hello "(lambda b: (16 + 5 + len(b)).to_bytes(4, 'little') + (7).to_bytes(4, 'little') + bytes(4) + (2013).to_bytes(4, 'little') + bytes(4) + b'\\x00' + b)((lambda e: (len(e) + 5).to_bytes(4, 'little') + e + b'\\x00')(b'\\x10hello\\x00\\x01\\x00\\x00\\x00\\x02\$db\\x00\\x06\\x00\\x00\\x00admin\\x00'))"

# ---------------------------------------------------------------- tds
v="tsql-$(ver dpkg-query -W freetds-bin)"
cap tds "$v-prelogin" tsql -H 127.0.0.1 -p @PORT@ -U sa -P secret
TDSVER=7.0 cap tds "$v-tds7.0-login7" tsql -H 127.0.0.1 -p @PORT@ -U sa -P secret
TDSVER=5.0 cap tds "$v-tds5.0-sybase" tsql -H 127.0.0.1 -p @PORT@ -U sa -P secret

# ---------------------------------------------------------------- cql
v="python-cassandra-$(ver dpkg-query -W python3-cassandra)"
for pv in 5 4 3; do
	cap cql "$v-v$pv" /usr/bin/python3 -c "from cassandra.cluster import Cluster; Cluster(['127.0.0.1'], port=@PORT@, connect_timeout=3, protocol_version=$pv).connect()"
done
cap cql "$v-dse" /usr/bin/python3 -c "from cassandra.cluster import Cluster; Cluster(['127.0.0.1'], port=@PORT@, connect_timeout=3).connect()"

# ---------------------------------------------------------------- kafka
v="kcat-$(ver dpkg-query -W kcat)"
cap kafka "$v-metadata" kcat -b 127.0.0.1:@PORT@ -L -m 3
cap kafka "$v-produce" sh -c 'echo m | kcat -b 127.0.0.1:@PORT@ -P -t topic -m 3'
cap kafka "$v-consume" kcat -b 127.0.0.1:@PORT@ -C -t topic -e -m 3

# ---------------------------------------------------------------- zookeeper
v="kazoo-$(ver dpkg-query -W python3-kazoo)"
cap zookeeper "$v" /usr/bin/python3 -c "from kazoo.client import KazooClient; KazooClient(hosts='127.0.0.1:@PORT@', timeout=3).start(timeout=3)"
cap zookeeper "$v-readonly" /usr/bin/python3 -c "from kazoo.client import KazooClient; KazooClient(hosts='127.0.0.1:@PORT@', timeout=3, read_only=True).start(timeout=3)"

# ---------------------------------------------------------------- bittorrent
# No packaged client connects to a given peer without a tracker: the
# handshake is made from BEP 3 (reserved bits of the extension protocol
# and fast extension, as libtorrent and Transmission set them).
synth bittorrent handshake "b'\\x13BitTorrent protocol' + bytes([0, 0, 0, 0, 0, 0x10, 0, 0x05]) + bytes.fromhex('0123456789abcdef0123456789abcdef01234567') + b'-TR3000-' + b'abcdefghijkl'"

# ---------------------------------------------------------------- stun
v="turnutils_uclient-$(ver dpkg-query -W coturn)"
cap stun "$v-allocate" turnutils_uclient -t -y -p @PORT@ -n 1 -m 1 127.0.0.1
cap stun "$v-allocate-auth" turnutils_uclient -t -e 127.0.0.1 -p @PORT@ -n 1 -m 1 -u user -w pass 127.0.0.1
# An RFC 8489 Binding request over TCP with SOFTWARE and FINGERPRINT-less
# body, as the STUN keep-alives of ICE-TCP agents send it.
synth stun binding "bytes.fromhex('0001 0008 2112a442') + bytes.fromhex('b7e7a701bc34d686fa87dfae') + bytes.fromhex('8022 0004 74657374')"

# ---------------------------------------------------------------- x11
# DISPLAY 127.0.0.1:97 is TCP port 6097.
if command -v xdpyinfo >/dev/null 2>&1; then
	XAUTHORITY=$W/xauth xauth add 127.0.0.1:97 MIT-MAGIC-COOKIE-1 00112233445566778899aabbccddeeff 2>/dev/null
	v="xdpyinfo-$(ver dpkg-query -W x11-utils)"
	RECORD_PORT=6097 cap x11 "$v" env DISPLAY=127.0.0.1:97 XAUTHORITY=/dev/null xdpyinfo
	RECORD_PORT=6097 cap x11 "$v-cookie" env DISPLAY=127.0.0.1:97 XAUTHORITY="$W/xauth" xdpyinfo
fi
# The MSB-first setup, as a big-endian client writes it.
synth x11 msb-first "b'B\\x00\\x00\\x0b\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'"

# ---------------------------------------------------------------- pptp
# pptp always connects to port 1723.
RECORD_PORT=1723 cap pptp "pptp-$(ver dpkg-query -W pptp-linux)" /usr/sbin/pptp 127.0.0.1 --nolaunchpppd

echo "$recorded recorded, $skipped skipped, $failed failed"
[ "$failed" = 0 ]
