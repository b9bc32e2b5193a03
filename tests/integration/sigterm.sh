# SPDX-License-Identifier: ISC
# SIGTERM with live connections of every kind — undecided, relayed to a
# backend, served by a program, by a program that ignores SIGTERM, and by a
# shell on a pty: the daemon exits 0 within a bounded time (programs get
# SIGTERM or a hang-up, SIGKILL after 1 s), every client sees its
# connection end, the pid file is removed, and no program is left running.
. "$(dirname "$0")/../lib.sh"

read -r PS ID <<<"$(free_ports 2)"
serve ident ident --port "$ID" --name ident

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 30
pid = $T/portsplit.pid
[fwd]
string = FWD
connect = 127.0.0.1:$ID
[prog]
string = PROG
exec = /bin/sh
execarg = -c
execarg = echo started; sleep 30
[stubborn]
string = STUBBORN
exec = /bin/sh
execarg = -c
execarg = trap '' TERM HUP; echo started; sleep 30
[shell]
string = echo\20
exec = /bin/sh
execarg = -i
pty = yes
EOF
ps_start "$T/portsplit.ini" "$PS"
check "pid file written" wait_file "$T/portsplit.pid"

clients=()
client() { # client NAME STEPS...: a connection kept open for 30 s
	local name=$1
	shift
	talk 127.0.0.1 "$PS" "$@" eof 30 >"$T/$name.out" 2>"$T/$name.err" &
	clients+=($!)
}
client undecided sleep 0.1
client fwd send 'FWD\n' expect 'ident\nFWD\n' 5
client prog send 'PROG\n' expect 'started' 5
client stubborn send 'STUBBORN\n' expect 'started' 5
client shell send 'echo started\n' expect 'started\r\n' 5 send 'sleep 30\n'
nchildren() { ps -eo ppid= | awk -v p="$PS_PID" '$1 == p' | wc -l; }
for _ in $(seq 100); do
	[ "$(log_count 'decision ')" = 4 ] && [ "$(nchildren)" = 3 ] && break
	sleep 0.05
done
sleep 0.5 # the programs print "started", the shell starts its sleep
sessions=$(ps -eo ppid=,pid= | awk -v p="$PS_PID" '$1 == p {print $2}' | tr '\n' ' ')
check "three programs run ($sessions)" [ "$(wc -w <<<"$sessions")" = 3 ]
check "4 decisions made, 1 connection undecided" [ "$(log_count 'decision ')" = 4 ]

start=$(date +%s.%N)
kill -TERM "$PS_PID"
for _ in $(seq 100); do
	alive "$PS_PID" || break
	sleep 0.05
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
alive "$PS_PID" && kill -KILL "$PS_PID"
wait "$PS_PID"
is "$?" 0 "the daemon exits 0 on SIGTERM"
PS_PID=
check "... within 3 s (${elapsed}s; programs have 1 s before SIGKILL)" fbelow "$elapsed" 3
check "the pid file is removed" [ ! -e "$T/portsplit.pid" ]
for c in "${clients[@]}"; do
	timeout 5 tail --pid="$c" -f /dev/null
done
for name in undecided fwd prog stubborn shell; do
	check "client '$name' saw its connection end" [ ! -s "$T/$name.err" ]
done
left=""
for s in $sessions; do
	left+=$(ps -eo sid=,stat=,pid=,args= | awk -v s="$s" '$1 == s && $2 !~ /^Z/')
done
is "$left" "" "no program of any session is left running"
check "the stubborn program was killed" grep -q 'still running after 1000 ms: SIGKILL' "$PS_LOG"
check "close lines of the programs, with how they ended" \
	[ "$(log_count 'close .*service=(prog|stubborn|shell) .*(exit|signal)=[0-9]+$')" = 3 ]

[ "$FAILED" = 0 ] || cat "$T"/*.err | diag
finish
