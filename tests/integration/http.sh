# SPDX-License-Identifier: ISC
# curl through portsplit to real HTTP servers: a GET of a random 5 MiB file
# from python's http.server, and a POST whose body an echo server returns.
# Two services split on the method, so the routing is exercised too.
. "$(dirname "$0")/../lib.sh"

read -r PS WEB ECHO <<<"$(free_ports 3)"

mkdir "$T/www"
head -c $((5 * 1024 * 1024)) /dev/urandom >"$T/www/big.bin"
head -c $((512 * 1024)) /dev/urandom >"$T/post.bin"

spawn "$T/web.log" "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$T/www" "$WEB"
wait_port 127.0.0.1 "$WEB" || bail "http.server listens"
serve echo httpecho --port "$ECHO"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[get]
regex = (?:GET|HEAD) /
connect = 127.0.0.1:$WEB
[post]
regex = POST /
connect = 127.0.0.1:$ECHO
EOF
ps_start "$T/portsplit.ini" "$PS"

# GET: the 5 MiB body arrives byte-exact.
timeout 60 curl -sS --max-time 50 -o "$T/got.bin" -w '%{http_code}' \
	"http://127.0.0.1:$PS/big.bin" >"$T/code" 2>"$T/curl.err"
is "$?" 0 "curl GET through portsplit exits 0"
is "$(cat "$T/code")" 200 "GET status is 200"
is "$(sha256 "$T/got.bin")" "$(sha256 "$T/www/big.bin")" "GET body sha256 equals the served file"
check "decision log line names service=get" wait_log 'decision .*service=get( |$)'

# POST: the 512 KiB body goes up and comes back unchanged. No
# "Expect: 100-continue", so the body follows the headers at once.
timeout 60 curl -sS --max-time 50 -H 'Expect:' --data-binary @"$T/post.bin" \
	-o "$T/echoed.bin" "http://127.0.0.1:$PS/echo" 2>>"$T/curl.err"
is "$?" 0 "curl POST through portsplit exits 0"
is "$(sha256 "$T/echoed.bin")" "$(sha256 "$T/post.bin")" "POST body echoed back byte-exact"
check "decision log line names service=post" wait_log 'decision .*service=post( |$)'

# The close line counts the bytes: the GET's down-count covers the body.
wait_log 'close .*service=get( |$)'
down=$(log_field 'close .*service=get( |$)' down)
check "close line for the GET counts >= 5 MiB down (down=$down)" \
	test "${down:-0}" -ge $((5 * 1024 * 1024))

[ "$FAILED" = 0 ] || diag <"$T/curl.err"
finish
