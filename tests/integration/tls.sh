# SPDX-License-Identifier: ISC
# openssl s_client through portsplit to openssl s_server with a self-signed
# certificate made here. The client verifies the certificate (so the real
# server answered), and s_server -rev sends each line back reversed (so data
# went both ways). [ssh] and [http] ranked above must be ruled out by the
# ClientHello.
. "$(dirname "$0")/../lib.sh"

read -r PS TLS <<<"$(free_ports 2)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T/key.pem" -out "$T/cert.pem" -subj /CN=localhost -days 2 \
	>"$T/req.log" 2>&1 || bail "openssl req makes a self-signed certificate"

spawn "$T/s_server.log" openssl s_server -accept "127.0.0.1:$TLS" \
	-cert "$T/cert.pem" -key "$T/key.pem" -rev
# s_server prints ACCEPT once it listens (a probe connection would only be
# a failed handshake in its log).
for _ in $(seq 100); do
	grep -q '^ACCEPT' "$T/s_server.log" && break
	sleep 0.1
done
grep -q '^ACCEPT' "$T/s_server.log" || bail "openssl s_server listens"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[ssh]
string = SSH-
[http]
regex = (?:GET|POST|HEAD) /
[tls]
string = \16\03
connect = 127.0.0.1:$TLS
EOF
ps_start "$T/portsplit.ini" "$PS"

# s_server -rev closes the connection on a line "CLOSE".
line="portsplit tls check $RANDOM$RANDOM"
rev=$("$PYTHON" -c 'import sys; print(sys.argv[1][::-1])' "$line")
out=$(printf '%s\nCLOSE\n' "$line" | timeout 20 openssl s_client \
	-connect "127.0.0.1:$PS" -servername localhost -quiet \
	-CAfile "$T/cert.pem" -verify_return_error -verify_hostname localhost \
	2>"$T/s_client.err")
is "$?" 0 "s_client through portsplit: handshake verified, exit 0"
is "$(printf '%s' "$out" | tr -d '\r\n')" "$rev" "the line came back reversed from s_server"
check "decision log line names service=tls" wait_log 'decision .*service=tls( |$)'

if [ "$FAILED" != 0 ]; then
	diag <"$T/s_client.err"
	tail -n 20 "$T/s_server.log" | diag
fi
finish
