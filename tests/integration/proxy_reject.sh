# SPDX-License-Identifier: ISC
# proxy_protocol with on_reject. The first backend receives the PROXY
# header, then the client's first bytes, and closes without sending a byte.
# The connection goes to the service on_reject names as if the first had
# never matched (SPEC): its backend receives the client's bytes exactly,
# behind the header of that service's own proxy_protocol (none, v1, v2),
# never the first service's. Real sockets on loopback: a refusing backend
# and capture servers (tests/helpers/net.py), and nginx listening with
# proxy_protocol, which must parse the header it is given.
. "$(dirname "$0")/../lib.sh"

command -v nginx >/dev/null || skip_all nginx "nginx is not installed"
read -r PS REF PLAIN BV1 NG <<<"$(free_ports 5)"

nginx_proxied '$proxy_protocol_addr $request' "$NG"
serve refuse refuse --port "$REF" --report "$T/refused.json"
serve plain capture --port "$PLAIN" --out "$T/plain"
serve bv1 capture --port "$BV1" --out "$T/bv1"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 3
[v2_to_plain]
string = V2P
connect = 127.0.0.1:$REF
proxy_protocol = v2
on_reject = plain
[v1_to_plain]
string = V1P
connect = 127.0.0.1:$REF
proxy_protocol = v1
on_reject = plain
[v2_to_v1]
string = V2V1
connect = 127.0.0.1:$REF
proxy_protocol = v2
on_reject = bv1
[http]
regex = GET /
connect = 127.0.0.1:$REF
proxy_protocol = v1
on_reject = web
[plain]
string = NEVER-SENT-1
connect = 127.0.0.1:$PLAIN
[bv1]
string = NEVER-SENT-2
connect = 127.0.0.1:$BV1
proxy_protocol = v1
[web]
string = NEVER-SENT-3
connect = 127.0.0.1:$NG
proxy_protocol = v2
EOF
ps_start "$T/portsplit.ini" "$PS"

# The header for a client at 127.0.0.2:PORT of portsplit, in hex.
v2_hdr() { printf '0d0a0d0a000d0a515549540a2111000c7f0000027f000001%04x%04x' "$1" "$PS"; }
v1_hdr() { hex "PROXY TCP4 127.0.0.2 127.0.0.1 $1 $PS"$'\r\n'; }

# refused N: what the refusing backend read on its Nth connection, in hex
refused() {
	for _ in $(seq 50); do
		[ "$(wc -l <"$T/refused.json")" -ge "$1" ] && break
		sleep 0.1
	done
	json "$(sed -n "$1p" "$T/refused.json")" recv_hex
}

# redispatch SERVICE PREFIX CAPTURE: a client at 127.0.0.2 sends PREFIX,
# a NUL and a 0xff byte, "-SERVICE" and CRLF (SENT, in hex); SERVICE's
# backend refuses it, and it must end at the backend that writes CAPTURE,
# which closes after a second of silence. Sets SENT, SPORT (the client's
# port, from the decision line) and GOT (what the capture holds, in hex).
redispatch() {
	SENT=$(hex "$2")00ff$(hex "-$1")0d0a
	talk --bind 127.0.0.2 127.0.0.1 "$PS" send "$(escaped "$SENT")" eof 10 >/dev/null 2>>"$T/talk.err"
	check "$1: the client's connection is relayed to the end" test $? = 0
	check "$1: logged, rejected and handed on" \
		wait_log "rejected conn=[0-9]+ service=$1 backend=127\.0\.0\.1:$REF .*: to $3"
	SPORT=$(log_field "decision .*service=$1 " client)
	SPORT=${SPORT##*:}
	wait_file "$T/$3" 5
	GOT=$(hex_file "$T/$3")
	rm -f "$T/$3"
}

redispatch v2_to_plain V2P plain
is "$(refused 1)" "$(v2_hdr "$SPORT")$SENT" "v2_to_plain: the first backend got the v2 header, then the client's bytes"
is "$GOT" "$SENT" "v2_to_plain: the next backend got exactly the client's bytes, no header"

redispatch v1_to_plain V1P plain
is "$(refused 2)" "$(v1_hdr "$SPORT")$SENT" "v1_to_plain: the first backend got the v1 header, then the client's bytes"
is "$GOT" "$SENT" "v1_to_plain: the next backend got exactly the client's bytes, no header"

redispatch v2_to_v1 V2V1 bv1
is "$(refused 3)" "$(v2_hdr "$SPORT")$SENT" "v2_to_v1: the first backend got the v2 header, then the client's bytes"
is "$GOT" "$(v1_hdr "$SPORT")$SENT" "v2_to_v1: the next backend got its own service's v1 header, then the client's bytes"

# A real server behind the second service: nginx parses the v2 header
# portsplit sends it and answers; the first backend got a v1 header.
is "$(curl_from 127.0.0.2 "http://127.0.0.1:$PS/rejected")" hello "http: curl gets nginx's answer after the first backend's refusal"
check "http: logged, rejected and handed on" wait_log "rejected conn=[0-9]+ service=http .*: to web"
check "http: nginx logs the client 127.0.0.2 from its header" grep -q '^127\.0\.0\.2 GET /rejected ' "$T/access.log"
sport=$(log_field "decision .*service=http " client)
got=$(refused 4)
want=$(v1_hdr "${sport##*:}")$(hex 'GET /rejected HTTP/1.1')
is "${got:0:${#want}}" "$want" "http: the first backend got the v1 header, then the request"

[ "$FAILED" = 0 ] || { diag <"$T/talk.err"; diag <"$T/curl.err"; diag <"$T/refuse.log"; }
finish
