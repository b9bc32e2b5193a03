# SPDX-License-Identifier: ISC
# Per-listener services: `listen = ADDR:PORT` offers a service on that
# listener only; a section with `role = fallback|timeout` and `listen` is
# that listener's own fallback or timeout; [fallback] stays everyone's.
# SIGHUP moves a service to another listener.
. "$(dirname "$0")/../lib.sh"

read -r PS1 PS2 WEB ANY FB FB2 TO1 <<<"$(free_ports 7)"
serve web ident --port "$WEB" --name web
serve any ident --port "$ANY" --name any
serve fb ident --port "$FB" --name fallback
serve fb2 ident --port "$FB2" --name fallback2
serve to1 ident --port "$TO1" --name timeout1

write_conf() { # write_conf LISTENER_OF_WEB
	cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS1
bind = 127.0.0.1:$PS2
timeout = 1
[web]
regex = GET /
listen = 127.0.0.1:$1
connect = 127.0.0.1:$WEB
[any]
string = ANY
connect = 127.0.0.1:$ANY
[fb2]
role = fallback
listen = 127.0.0.1:$PS2
connect = 127.0.0.1:$FB2
[to1]
role = timeout
listen = 127.0.0.1:$PS1
connect = 127.0.0.1:$TO1
[fallback]
connect = 127.0.0.1:$FB
EOF
}
write_conf "$PS2"
"$PORTSPLIT" -t "$T/portsplit.ini" >"$T/check.out" 2>&1
is "$?" 0 "-t accepts per-listener services"
check "-t: $PS1 offers any alone, its own timeout" \
	grep -q "services: 2\. any; fallback: fallback; timeout: to1 (its own)" "$T/check.out"
check "-t: $PS2 offers web and any, its own fallback" \
	grep -q "services: 1\. web, 2\. any; fallback: fb2 (its own); timeout: close" "$T/check.out"
ps_start "$T/portsplit.ini" "$PS1" "$PS2"

first() { # first PORT TEXT: the backend's name line
	talk 127.0.0.1 "$1" send "$2" expect '\n' 4 2>>"$T/talk.err" | head -n 1
}
is "$(first "$PS2" 'GET / HTTP/1.0\r\n\r\n')" web "GET on the web listener: web"
is "$(first "$PS1" 'GET / HTTP/1.0\r\n\r\n')" fallback "GET elsewhere: web is not offered, [fallback]"
is "$(first "$PS1" 'ANY')" any "a service without listen is on both (1)"
is "$(first "$PS2" 'ANY')" any "a service without listen is on both (2)"
is "$(first "$PS2" 'Q')" fallback2 "the web listener's own fallback"
out=$(talk 127.0.0.1 "$PS1" expect '\n' 4 2>>"$T/talk.err" | head -n 1)
is "$out" timeout1 "a silent client of the other listener: its own timeout"
out=$(talk 127.0.0.1 "$PS2" expect '\n' 4 2>>"$T/talk.err" | head -n 1)
is "$out" "" "a silent client of the web listener: no timeout service, closed"

# SIGHUP moves web to the other listener.
write_conf "$PS1"
kill -HUP "$PS_PID"
check "reloaded" wait_log 'reloaded: '
is "$(first "$PS1" 'GET / HTTP/1.0\r\n\r\n')" web "after SIGHUP, web is on the other listener"
is "$(first "$PS2" 'GET / HTTP/1.0\r\n\r\n')" fallback2 "and no longer on the first"

[ "$FAILED" = 0 ] || { diag <"$T/check.out"; diag <"$T/talk.err"; }
finish
