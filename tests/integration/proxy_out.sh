# SPDX-License-Identifier: ISC
# proxy_protocol = v1 | v2: real backends learn the real client. nginx
# (listen ... proxy_protocol) logs the address the header carried; HAProxy
# (accept-proxy) answers with it. The clients connect from 127.0.0.2 and
# ::1, so the right answer differs from portsplit's own 127.0.0.1; and the
# exact bytes a plain server receives show the header comes first, then the
# client's bytes untouched.
. "$(dirname "$0")/../lib.sh"

command -v nginx >/dev/null || skip_all nginx "nginx is not installed"
command -v haproxy >/dev/null || skip_all haproxy "haproxy is not installed"
read -r PS NG1 NG2 HA CAP <<<"$(free_ports 5)"

nginx_proxied '$proxy_protocol_addr $proxy_protocol_port $remote_addr $request' "$NG1" "$NG2"

haproxy_conf http
cat >>"$T/haproxy.cfg" <<EOF
frontend fe
	bind 127.0.0.1:$HA accept-proxy
	http-request return status 200 content-type text/plain lf-string "src=%[src]\n"
EOF
haproxy_start "$HA"
serve cap capture --port "$CAP" --out "$T/captured"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
bind = [::1]:$PS
timeout = 5
[v1]
regex = GET /v1
connect = 127.0.0.1:$NG1
proxy_protocol = v1
[v2]
regex = GET /v2
connect = 127.0.0.1:$NG2
proxy_protocol = v2
[haproxy]
regex = GET /ha
connect = 127.0.0.1:$HA
proxy_protocol = v2
[raw]
string = RAW
connect = 127.0.0.1:$CAP
proxy_protocol = v1
EOF
ps_start "$T/portsplit.ini" "$PS"

is "$(curl_from 127.0.0.2 "http://127.0.0.1:$PS/v1")" hello "nginx answers through a v1 header"
is "$(curl_from 127.0.0.2 "http://127.0.0.1:$PS/v2")" hello "nginx answers through a v2 header"
is "$(curl_from ::1 "http://[::1]:$PS/v1")" hello "nginx answers an IPv6 client (v1 TCP6)"
is "$(curl_from ::1 "http://[::1]:$PS/v2")" hello "nginx answers an IPv6 client (v2)"
sleep 0.3
check "nginx logs 127.0.0.2 from the v1 header" grep -q '^127\.0\.0\.2 [0-9]* 127\.0\.0\.1 GET /v1 ' "$T/access.log"
check "nginx logs 127.0.0.2 from the v2 header" grep -q '^127\.0\.0\.2 [0-9]* 127\.0\.0\.1 GET /v2 ' "$T/access.log"
check "nginx logs ::1 from the v1 header" grep -q '^::1 [0-9]* 127\.0\.0\.1 GET /v1 ' "$T/access.log"
check "nginx logs ::1 from the v2 header" grep -q '^::1 [0-9]* 127\.0\.0\.1 GET /v2 ' "$T/access.log"

is "$(curl_from 127.0.0.2 "http://127.0.0.1:$PS/ha")" "src=127.0.0.2" "HAProxy (accept-proxy) sees 127.0.0.2"
is "$(curl_from ::1 "http://[::1]:$PS/ha")" "src=::1" "HAProxy sees ::1"

# The bytes on the wire: one v1 line naming the client's port, then the
# client's bytes exactly as sent.
talk --bind 127.0.0.2 127.0.0.1 "$PS" send 'RAW\x00\xffdata\r\n' sleep 1.5 >/dev/null 2>>"$T/talk.err"
wait_file "$T/captured" 5
head=$(head -c 11 "$T/captured")
is "$head" "PROXY TCP4 " "the backend's first bytes are a v1 header"
line=$(head -n 1 "$T/captured" | tr -d '\r')
check "the header names 127.0.0.2 -> 127.0.0.1:$PS ($line)" \
	grep -Eq "^PROXY TCP4 127\.0\.0\.2 127\.0\.0\.1 [0-9]+ $PS\$" <<<"$line"
rest=$(tail -c +$(($(head -n 1 "$T/captured" | wc -c) + 1)) "$T/captured" | hex_file /dev/stdin)
is "$rest" "52415700ff646174610d0a" "then the client's bytes, untouched"
check "decision log line for the raw client names 127.0.0.2" wait_log 'decision .*client=127\.0\.0\.2:[0-9]+ .*service=raw'

[ "$FAILED" = 0 ] || { diag <"$T/curl.err"; diag <"$T/access.log"; diag <"$T/nginx-error.log"; }
finish
