# SPDX-License-Identifier: ISC
# `connect` host names are looked up when a connection needs them, on the
# resolver's thread, never on the event loop: neither a connection nor a
# SIGHUP reload (which reads the file and looks up its `bind = localhost`
# on a thread of its own) makes the loop's thread read the configuration or
# /etc/hosts (or ask DNS). An
# answer is cached: a burst of connections costs one lookup. A name that
# does not resolve closes its connections with a log line and the daemon
# goes on. strace -f, attached once the daemon runs, sees which thread
# does each lookup.
. "$(dirname "$0")/../lib.sh"

if ! command -v strace >/dev/null || ! strace -o /dev/null true 2>/dev/null; then
	skip "lookups off the loop" "strace is missing or cannot trace here"
	exit 0
fi
read -r PS ID PS2 <<<"$(free_ports 3)"
serve ident ident --port "$ID" --name ident
# `bind = localhost` listens on ::1 too: only where there is one.
byname=
"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' \
	2>/dev/null && byname="bind = localhost:$PS2"
cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
$byname
timeout = 5
[byname]
string = NAME
connect = localhost:$ID
[bad]
string = BAD
connect = portsplit-test.invalid:80
EOF
ps_start "$T/portsplit.ini" "$PS"

strace -f -e trace=openat,connect -o "$T/strace.txt" -p "$PS_PID" 2>"$T/strace.err" &
ST=$!
PIDS+=("$ST")
for _ in $(seq 50); do
	grep -q "^TracerPid:[[:space:]]*[1-9]" "/proc/$PS_PID/status" && break
	sleep 0.1
done
check "strace is attached" grep -q "^TracerPid:[[:space:]]*[1-9]" "/proc/$PS_PID/status"

for i in 1 2 3; do
	talk 127.0.0.1 "$PS" send "NAME $i" expect "ident\nNAME $i" 5 shutwr eof 5 >"$T/out" 2>"$T/err"
	is "$?" 0 "connection $i to localhost:PORT is served"
done
talk 127.0.0.1 "$PS" send "BAD" eof 10 >"$T/out" 2>"$T/err"
is "$?" 0 "a name that does not resolve: the client is closed"
check "... with a log line that says why" \
	wait_log "connect failed .*service=bad .*cannot resolve portsplit-test.invalid"
kill -HUP "$PS_PID"
check "SIGHUP reloads" wait_log "reloaded: 2 services"
talk 127.0.0.1 "$PS" send "NAME 4" expect "ident\nNAME 4" 5 shutwr eof 5 >"$T/out" 2>"$T/err"
is "$?" 0 "after the reload, still served"
sleep 0.3
stop "$ST"

# Each traced line starts with the thread id.
grep -E 'openat\(.*"/etc/(hosts|resolv\.conf|nsswitch\.conf)"|connect\(.*htons\(53\)' \
	"$T/strace.txt" >"$T/lookups.txt"
# The reload reads the file and looks up its `bind` name too.
grep -E "openat\\(.*\"$T/portsplit.ini\"" "$T/strace.txt" >>"$T/lookups.txt"
check "the reload read the file" grep -q 'portsplit.ini' "$T/lookups.txt"
check "the lookups were seen (/etc/hosts read)" grep -q '/etc/hosts' "$T/lookups.txt"
check "none on the loop's thread ($PS_PID), reload included" \
	eval "! grep -q '^$PS_PID ' '$T/lookups.txt'"
n=$(grep -c '"/etc/hosts"' "$T/lookups.txt")
check "one lookup per name (cached): /etc/hosts read $n times for localhost x4, the .invalid name and the reload's bind = localhost" \
	test "$n" -le $((${#byname} > 0 ? 3 : 2))
[ "$FAILED" = 0 ] || { diag <"$T/lookups.txt"; diag <"$T/strace.err"; }
finish
