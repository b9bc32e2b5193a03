# SPDX-License-Identifier: ISC
# TLS routing by server name, by ALPN and by both through the library's
# parameterised signatures (tls-sni, tls-alpn, tls-sni-alpn), with real clients (openssl
# s_client, curl) and openssl s_server backends, each with a certificate of
# its own CN so the client shows which backend answered. A ClientHello whose
# name and ALPN ids match no refinement must reach the plain tls service
# within one round trip: decided on the hello itself, far below the timeout.
. "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || { skip "sni/alpn routing" "no openssl"; finish; }
read -r PS A ACME GEN H2 H11 <<<"$(free_ports 6)"
LIB=$(cd "$TESTS_DIR/../signatures" && pwd)

# backend NAME PORT [ALPN]: s_server -www with a certificate for CN=NAME,
# selecting the first id of ALPN that the client offers
backend() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.pem" -subj "/CN=$1" -days 2 \
		>"$T/req-$1.log" 2>&1 || bail "openssl req makes a certificate for $1"
	spawn "$T/s_server-$1.log" openssl s_server -accept "127.0.0.1:$2" \
		-cert "$T/$1.pem" -key "$T/$1.key" -www -alpn "${3:-acme-tls/1,http/1.1}"
	local i
	for i in $(seq 100); do
		grep -q '^ACCEPT' "$T/s_server-$1.log" && return 0
		sleep 0.1
	done
	bail "openssl s_server $1 listens"
}
backend alpha "$A"
backend acme "$ACME"
backend generic "$GEN"
# htwo prefers http/1.1 so that curl --http2 gets a page from -www.
backend htwo "$H2" http/1.1,h2
backend hone "$H11" http/1.1,http/1.0

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
signature_path = $LIB
[ssh]
signature = ssh
[htwo]
signature = tls-sni-alpn gamma.test *.gamma.test -- h2
connect = 127.0.0.1:$H2
[hone]
signature = tls-sni-alpn gamma.test -- http/1.1 http/1.0
connect = 127.0.0.1:$H11
[alpha]
signature = tls-sni alpha.test *.alpha.test
connect = 127.0.0.1:$A
[acme]
signature = tls-alpn acme-tls/1
connect = 127.0.0.1:$ACME
[tls]
signature = tls
connect = 127.0.0.1:$GEN
EOF
timeout 10 "$PORTSPLIT" -t "$T/portsplit.ini" >"$T/t.out" 2>&1
is "$?" 0 "-t accepts the configuration"
check "-t shows the expanded SNI regex" grep -qF '(?i:alpha\.test)' "$T/t.out"
check "-t shows the expanded ALPN regex" grep -qF '\x0aacme-tls/1' "$T/t.out"
check "-t names the signature with its arguments" grep -q 'signature tls-sni alpha.test \*.alpha.test' "$T/t.out"
ps_start "$T/portsplit.ini" "$PS"

# s_client_cn DESC WANT ARGS...: the certificate's CN the client saw
s_client_cn() {
	local desc=$1 want=$2 got
	shift 2
	got=$(timeout 20 openssl s_client -connect "127.0.0.1:$PS" "$@" </dev/null 2>"$T/s_client.err" |
		sed -n 's/^subject=.*CN *= *\([a-z]*\).*/\1/p' | head -n 1)
	is "$got" "$want" "$desc"
}

n0=$(log_count 'decision ')
s_client_cn "s_client -servername alpha.test -> alpha" alpha -servername alpha.test
s_client_cn "s_client -servername WWW.Alpha.TEST (wildcard, any case) -> alpha" alpha -servername WWW.Alpha.TEST
s_client_cn "s_client -servername a.b.alpha.test (two labels for '*') -> generic" generic -servername a.b.alpha.test
s_client_cn "s_client -servername alpha.test.evil.net -> generic" generic -servername alpha.test.evil.net
s_client_cn "s_client -servername other.test -> generic" generic -servername other.test
s_client_cn "s_client -noservername -> generic" generic -noservername
s_client_cn "s_client -alpn acme-tls/1 -> acme" acme -servername other.test -alpn acme-tls/1
s_client_cn "s_client -alpn h2,acme-tls/1 (second id) -> acme" acme -servername other.test -alpn h2,acme-tls/1
s_client_cn "s_client -alpn acme-tls,http/1.1 (a prefix) -> generic" generic -servername other.test -alpn acme-tls,http/1.1
s_client_cn "s_client -tls1_2 -servername x.alpha.test -> alpha" alpha -tls1_2 -servername x.alpha.test

# SNI and ALPN together (tls-sni-alpn): one name, a backend per protocol.
s_client_cn "s_client -servername gamma.test -alpn h2 -> htwo" htwo -servername gamma.test -alpn h2
s_client_cn "s_client -servername gamma.test -alpn http/1.1 -> hone" hone -servername gamma.test -alpn http/1.1
s_client_cn "s_client -servername gamma.test -alpn http/1.0,http/1.1 -> hone" hone -servername gamma.test -alpn http/1.0,http/1.1
s_client_cn "s_client -servername gamma.test -alpn h2,http/1.1 (both; first service) -> htwo" htwo -servername gamma.test -alpn h2,http/1.1
s_client_cn "s_client -servername www.gamma.test -alpn http/1.1 (name of htwo, id of hone) -> generic" generic -servername www.gamma.test -alpn http/1.1
s_client_cn "s_client -servername gamma.test, no ALPN -> generic" generic -servername gamma.test
s_client_cn "s_client -servername other.test -alpn h2,http/1.1 -> generic" generic -servername other.test -alpn h2,http/1.1
s_client_cn "s_client -tls1_2 -servername gamma.test -alpn h2 -> htwo" htwo -tls1_2 -servername gamma.test -alpn h2

# curl: its own ClientHello (SNI from the URL, ALPN h2 and http/1.1).
curl_cn() {
	local desc=$1 want=$2 name=$3 got
	shift 3
	got=$(timeout 20 curl -sk -v --max-time 10 --resolve "$name:$PS:127.0.0.1" "$@" \
		"https://$name:$PS/" 2>&1 >"$T/curl.out" | sed -n 's/^\* *subject: *CN=\([a-z]*\).*/\1/p' | head -n 1)
	is "$got" "$want" "$desc"
	check "$desc: the backend's page arrived" grep -q 's_server' "$T/curl.out"
}
if command -v curl >/dev/null; then
	curl_cn "curl https://www.alpha.test/ -> alpha" alpha www.alpha.test
	curl_cn "curl https://ALPHA.test/ -> alpha" alpha ALPHA.test
	curl_cn "curl https://beta.test/ -> generic" generic beta.test
	curl_cn "curl --http1.1 https://beta.test/ -> generic" generic beta.test --http1.1
	curl_cn "curl --http2 https://gamma.test/ (h2, http/1.1) -> htwo" htwo gamma.test --http2
	curl_cn "curl --http1.1 https://gamma.test/ -> hone" hone gamma.test --http1.1
	curl_cn "curl --http1.1 https://www.gamma.test/ -> generic" generic www.gamma.test --http1.1
else
	skip "curl cases" "no curl"
fi

# Every TLS decision was made on the ClientHello: none waited for the 5 s
# timer, so a name that matches no refinement costs no extra round trip.
wait_log 'decision .*service=tls( |$)' 5
slow=$(grep 'decision ' "$PS_LOG" | tail -n +$((n0 + 1)) |
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) { sub(/^ms=/, "", $i); if ($i + 0 >= 1000) n++ } } END { print n + 0 }')
is "$slow" 0 "every decision within 1 s (timeout 5 s): the frame ends the hello"
check "decisions name service=alpha" wait_log 'decision .*service=alpha( |$)'
check "decisions name service=acme" wait_log 'decision .*service=acme( |$)'
check "decisions name service=htwo" wait_log 'decision .*service=htwo( |$)'
check "decisions name service=hone" wait_log 'decision .*service=hone( |$)'
check "no decision went to the timeout" test "$(log_count 'decision .*service=timeout')" = 0

ps_stop
is "$?" 0 "portsplit exits 0 on SIGTERM"
[ "$FAILED" = 0 ] || { diag <"$T/s_client.err"; grep decision "$PS_LOG" | tail -n 20 | cut -c1-300 | diag; }
finish
