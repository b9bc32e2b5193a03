# SPDX-License-Identifier: ISC
# -d: the command returns 0 once the daemon runs in the background: in a
# session of its own, in /, with standard input, output and error on
# /dev/null, its pid in the pid file. A daemon that cannot start returns 1
# and says why on the terminal. Without -d it stays in the foreground.
. "$(dirname "$0")/../lib.sh"

read -r PS BUSY <<<"$(free_ports 2)"
cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
pid = $T/portsplit.pid
log = $T/file.log
[hello]
string = HELLO
exec = /bin/echo
execarg = hi
EOF

start=$(date +%s.%N)
timeout 10 "$PORTSPLIT" -d "$T/portsplit.ini" >"$T/d.out" 2>"$T/d.err"
is "$?" 0 "portsplit -d returns 0"
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
check "... promptly (${elapsed}s)" fbelow "$elapsed" 2
pid=$(cat "$T/portsplit.pid" 2>/dev/null)
[ -n "$pid" ] && PIDS+=("$pid")
check "the pid file names a running process ($pid)" alive "${pid:-0}"
stat=$(cat "/proc/$pid/stat" 2>/dev/null | sed 's/.*) //')
read -r _ ppid _ sid _ <<<"$stat"
check "it is not a child of the caller (ppid $ppid)" [ "$ppid" != "$$" ]
is "$sid" "$pid" "it leads a session of its own"
is "$(readlink "/proc/$pid/cwd")" / "its working folder is /"
for fd in 0 1 2; do
	is "$(readlink "/proc/$pid/fd/$fd")" /dev/null "fd $fd is /dev/null"
done
is "$(cat "$T/d.out" "$T/d.err")" "" "nothing was written to the terminal"
check "it logs to the file" grep -q "portsplit .* running" "$T/file.log"
out=$(talk 127.0.0.1 "$PS" send 'HELLO\n' eof 5 2>"$T/talk.err")
is "$out" hi "it serves"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q 'reloaded' "$T/file.log" && break; sleep 0.1; done
check "a reload finds the configuration by its absolute path from /" grep -q 'reloaded: 1 services' "$T/file.log"
# Its parent is init now, which may take a while to reap it: a zombie
# counts as stopped.
running() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
kill -TERM "$pid"
for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
check "SIGTERM stops it" eval "! running $pid"
check "the pid file is removed" [ ! -e "$T/portsplit.pid" ]

# A start that fails after detaching (the port is taken).
"$PYTHON" -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); open(sys.argv[2], "w").write("ready"); time.sleep(30)' \
	"$BUSY" "$T/busy.ready" &
PIDS+=($!)
wait_file "$T/busy.ready" 5 || true
sed -i "s/^bind = .*/bind = 127.0.0.1:$BUSY/" "$T/portsplit.ini"
timeout 10 "$PORTSPLIT" -d "$T/portsplit.ini" >"$T/d2.out" 2>"$T/d2.err"
is "$?" 1 "portsplit -d that cannot listen returns 1"
check "... and says why on standard error" grep -q "cannot listen on 127.0.0.1:$BUSY: Address already in use" "$T/d2.err"
check "no pid file is left" [ ! -e "$T/portsplit.pid" ]

[ "$FAILED" = 0 ] || cat "$T/d.err" "$T/d2.err" "$T/file.log" | diag
finish
