# SPDX-License-Identifier: ISC
# A configuration in the original Portsplit's syntax runs unchanged:
# `bind = :::PORT` serves IPv4 and IPv6 clients on one socket (dual stack,
# as the original listened), `string=` without a blank, `connect` to an
# unbracketed IPv6 address and to a host name, `timeout = 0` (a silent
# client is waited for, not handed to [timeout]), maxconn and pid; a
# trailing blank that inih drops is a warning giving the rewrite; a connect
# name that does not resolve is a warning, and its connections fail with a
# log line while the others are served.
. "$(dirname "$0")/../lib.sh"

if ! "$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	skip "original Portsplit configuration" "::1 is not available on this machine"
	exit 0
fi
read -r P ID <<<"$(free_ports 2)"
read -r ID6 <<<"$(free_ports 1 --v6)"
serve ident ident --port "$ID" --name ident
serve ident6 ident --host ::1 --port "$ID6" --name ident6

# Written as the original's own example is: '#' comments, `string=` with
# no blank before '=', exec/execarg, no brackets around IPv6.
cat >"$T/portsplit.ini" <<EOF
# Special sections: 'timeout' and 'fallback'

bind = :::$P
timeout = 0
maxconn = 10
pid = $T/split.pid

[hello]
string= HELLO
connect = 127.0.0.1:$ID

[hello6]
string = HI6
connect = ::1:$ID6

[byname]
string = NAME
connect = localhost:$ID

[nowhere]
string = NOWHERE
connect = portsplit-test.invalid:80

[get]
string = GET 
connect = 127.0.0.1:$ID

[timeout]
exec = echo
execarg = timed out
EOF

timeout 20 "$PORTSPLIT" -t "$T/portsplit.ini" >"$T/check.out" 2>"$T/check.err"
is "$?" 0 "-t accepts the original configuration"
check "-t: :::$P listens on IPv6 and IPv4" grep -q ":::$P = \[::\]:$P (IPv6 and IPv4)" "$T/check.out"
check "-t: timeout 0 is no limit" grep -q "timeout none" "$T/check.out"
check "-t: the trailing blank of 'GET ' is a warning with the rewrite" \
	grep -q "^$T/portsplit.ini:25: warning: .*string = GET\\\\20" "$T/check.err"
check "-t: a connect name that does not resolve is a warning" \
	grep -q "^$T/portsplit.ini:22: warning: connect: cannot resolve 'portsplit-test.invalid'" "$T/check.err"
[ "$FAILED" = 0 ] || cat "$T/check.out" "$T/check.err" | diag

ps_start "$T/portsplit.ini" "$P"
check "one listener, [::]:$P" grep -q "listening on \[::\]:$P" "$PS_LOG"

for host in 127.0.0.1 ::1; do
	talk "$host" "$P" send "HELLO via $host" expect "ident\nHELLO via $host" 5 \
		shutwr eof 5 >"$T/out" 2>"$T/err"
	is "$?" 0 "an IPv${host//[^:]/6} client on :::$P is served ($host)"
	[ "$FAILED" = 0 ] || diag <"$T/err"
done
check "the IPv4 client is logged with its IPv4 address" \
	wait_log "decision .*client=(::ffff:)?127\.0\.0\.1:[0-9]+ .*service=hello"

talk 127.0.0.1 "$P" send "HI6 there" expect "ident6\nHI6 there" 5 shutwr eof 5 >"$T/out" 2>"$T/err"
is "$?" 0 "connect = ::1:PORT (the original's IPv6 form) reaches the backend"
talk ::1 "$P" send "NAME x" expect "ident\nNAME x" 5 shutwr eof 5 >"$T/out" 2>"$T/err"
is "$?" 0 "connect = localhost:PORT reaches the backend"

# timeout = 0: a client silent for a while is not handed to [timeout],
# and is still decided by what it sends afterwards.
talk 127.0.0.1 "$P" quiet 1.5 send "HELLO late" expect "ident\nHELLO late" 5 \
	shutwr eof 5 >"$T/out" 2>"$T/err"
is "$?" 0 "timeout = 0: a client silent for 1.5 s is still waited for"
check "... [timeout] was not used" eval "! grep -q 'timed out' '$T/out'"
[ "$FAILED" = 0 ] || diag <"$T/err"

talk 127.0.0.1 "$P" send "NOWHERE" eof 10 >"$T/out" 2>"$T/err"
is "$?" 0 "a connect name that does not resolve: the client is closed"
check "... with a log line naming the service and the name" wait_log "connect failed .*service=nowhere .*cannot resolve portsplit-test.invalid"
check "the daemon still runs" alive "$PS_PID"
check "the pid file holds its pid" test "$(cat "$T/split.pid" 2>/dev/null)" = "$PS_PID"

# A reload logs the warnings of the new file, and goes on.
printf '[post]\nstring = POST \nconnect = 127.0.0.1:%s\n' "$ID" >>"$T/portsplit.ini"
kill -HUP "$PS_PID"
check "a reload logs a warning of the new file" \
	wait_log "warn .*portsplit.ini:32: warning: string is read as 'POST'"
check "... and is applied" wait_log "reloaded: 6 services"

finish
