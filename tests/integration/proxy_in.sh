# SPDX-License-Identifier: ISC
# proxy_from: HAProxy (send-proxy-v2 and send-proxy) in front of portsplit.
# The header's address is the client everywhere after it: the decision log
# line, the PROXY header portsplit sends on to nginx, the UCSPI variables of
# an exec'd program, and global deny. Hostile cases: a header from a source
# that is not trusted is only client bytes; from a trusted source, a
# malformed, oversized, missing or slow header closes the connection and is
# logged.
. "$(dirname "$0")/../lib.sh"

command -v nginx >/dev/null || skip_all nginx "nginx is not installed"
command -v haproxy >/dev/null || skip_all haproxy "haproxy is not installed"
read -r PS NG HA1 HA2 CAP <<<"$(free_ports 5)"

nginx_proxied '$proxy_protocol_addr $request' "$NG"

# HAProxy connects to portsplit from 127.0.0.1: the trusted balancer.
haproxy_conf tcp
cat >>"$T/haproxy.cfg" <<EOF
frontend v2
	bind 127.0.0.1:$HA2
	default_backend ps2
backend ps2
	server ps 127.0.0.1:$PS send-proxy-v2
frontend v1
	bind 127.0.0.1:$HA1
	default_backend ps1
backend ps1
	server ps 127.0.0.1:$PS send-proxy
EOF
haproxy_start "$HA2"
serve cap capture --port "$CAP" --out "$T/captured"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 1
proxy_from = 127.0.0.1
deny = 10.0.0.0/8
[web]
regex = GET /
connect = 127.0.0.1:$NG
proxy_protocol = v1
[who]
string = WHO
exec = /bin/sh
execarg = -c
execarg = echo "ip=\$TCPREMOTEIP port=\$TCPREMOTEPORT local=\$TCPLOCALIP:\$TCPLOCALPORT"
[raw]
string = PROXY
connect = 127.0.0.1:$CAP
EOF
ps_start "$T/portsplit.ini" "$PS"

# Through HAProxy: the client is 127.0.0.2, HAProxy itself 127.0.0.1.
is "$(curl_from 127.0.0.2 "http://127.0.0.1:$HA2/a")" hello "curl through HAProxy (v2) and portsplit reaches nginx"
is "$(curl_from 127.0.0.2 "http://127.0.0.1:$HA1/b")" hello "curl through HAProxy (v1) and portsplit reaches nginx"
sleep 0.3
check "nginx logs 127.0.0.2 (v2 in, v1 out)" grep -q '^127\.0\.0\.2 GET /a ' "$T/access.log"
check "nginx logs 127.0.0.2 (v1 in, v1 out)" grep -q '^127\.0\.0\.2 GET /b ' "$T/access.log"
check "decision line: client=127.0.0.2, via the balancer" \
	wait_log 'decision .*client=127\.0\.0\.2:[0-9]+ .*service=web .*via=127\.0\.0\.1:'
check "close line: client=127.0.0.2" wait_log 'close .*client=127\.0\.0\.2:[0-9]+ service=web'

out=$(talk --bind 127.0.0.2 127.0.0.1 "$HA2" send 'WHO\n' eof 5 2>>"$T/talk.err")
check "exec'd program gets TCPREMOTEIP=127.0.0.2 ($out)" grep -Eq '^ip=127\.0\.0\.2 port=[0-9]+ local=127\.0\.0\.1:'"$HA2"'$' <<<"$out"

# Global deny applies to the header's address: a header claiming 10.1.2.3
# from the trusted source is closed before any matching.
out=$(talk 127.0.0.1 "$PS" send 'PROXY TCP4 10.1.2.3 127.0.0.1 5555 443\r\nWHO\n' eof 5 2>>"$T/talk.err")
is "$out" "" "a denied client (by its header's address) gets nothing"
check "denied, logged with the header's address" wait_log 'denied conn=.* client=10\.1\.2\.3:5555 '

# Untrusted: a PROXY header from 127.0.0.2 is client bytes, matched and
# relayed as they are; the client stays 127.0.0.2.
talk --bind 127.0.0.2 127.0.0.1 "$PS" send 'PROXY TCP4 6.6.6.6 127.0.0.1 1 2\r\nhi' sleep 1.5 >/dev/null 2>>"$T/talk.err"
wait_file "$T/captured" 5
is "$(head -c 36 "$T/captured" | tr -d '\r\n')" "PROXY TCP4 6.6.6.6 127.0.0.1 1 2hi" \
	"an untrusted source's header reaches the backend as bytes"
check "and its client is 127.0.0.2, not 6.6.6.6" wait_log 'decision .*client=127\.0\.0\.2:[0-9]+ .*service=raw'
check "6.6.6.6 appears nowhere as a client" test "$(log_count 'client=6\.6\.6\.6')" = 0

# Trusted source, bad headers: each is closed at once (well before the
# 1 s timeout) and logged. The log is rate-limited to a line a second per
# kind of event, so each case waits that long first.
bad_header() { # bad_header DESC TEXT LOGREASON
	sleep 1.1
	talk 127.0.0.1 "$PS" send "$2" eof 0.8 >/dev/null 2>>"$T/talk.err"
	check "$1: closed within 0.8 s" test $? = 0
	check "$1: logged ($3)" wait_log "bad PROXY header .*$3" 2
}
bad_header "no header" 'GET / HTTP/1.0\r\n\r\n' "not a PROXY header"
bad_header "malformed v1" 'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\nGET /' "v1: bad port"
bad_header "oversized v1" "PROXY UNKNOWN $(printf 'a%.0s' $(seq 120))" "longer than 107"
bad_header "v2 with a bad command" '\r\n\r\n\x00\r\nQUIT\n\x2f\x11\x00\x0c' "command"
bad_header "v2 announcing 64 KiB" '\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff' "longer than the limit"

# Slow: a header that never completes is closed at the timeout.
start=$(date +%s.%N)
talk 127.0.0.1 "$PS" send 'PROXY TCP4 1.2.3.4 ' eof 4 >/dev/null 2>>"$T/talk.err"
check "an incomplete header is closed by the timeout" test $? = 0
el=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
check "after about 1 s (${el}s)" frange 0.8 "$el" 3.5
check "logged: not complete within timeout" wait_log "bad PROXY header .*not complete within timeout"
# A header sent one byte at a time, within the timeout, is fine.
out=$(talk 127.0.0.1 "$PS" slow 0.01 'PROXY TCP6 2001:db8::7 ::1 4000 443\r\n' send 'WHO\n' eof 5 2>>"$T/talk.err")
check "a header in 40 pieces is read whole ($out)" grep -q '^ip=2001:db8::7 port=4000 local=::1:443$' <<<"$out"

# A balancer's plain TCP health check (connect, close, no byte) is not a
# bad header: nothing above debug level.
sleep 1.1
before=$(log_count 'bad PROXY header')
talk 127.0.0.1 "$PS" close 2>>"$T/talk.err"
sleep 0.5
is "$(log_count 'bad PROXY header')" "$before" "an empty connection from the balancer is not logged as a bad header"
is "$(log_count 'decision .*client=127\.0\.0\.1:')" 0 "nor as a client"

[ "$FAILED" = 0 ] || { diag <"$T/curl.err"; diag <"$T/talk.err"; diag <"$T/access.log"; }
finish
