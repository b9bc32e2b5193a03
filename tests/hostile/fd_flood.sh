# SPDX-License-Identifier: ISC
# A connection flood past the daemon's descriptor limit (lowered here to
# 64): accept() fails with EMFILE. The daemon must pause accepting instead
# of retrying in a loop (no spin: its CPU is counted in clock ticks over the
# flood), log it a bounded number of times (no log storm), and once the
# flood is gone serve the clients that waited in the backlog.
. "$(dirname "$0")/../lib.sh"
HOSTILE="$TESTS_DIR/helpers/hostile.py"
N=400
LIMIT=64

read -r PS ID <<<"$(free_ports 2)"
serve ident ident --port "$ID" --name ident
cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 60
maxconn = 1000
[ssh]
string = SSH-
connect = 127.0.0.1:$ID
EOF
real=$PORTSPLIT
printf '#!/bin/sh\nulimit -Sn %s && ulimit -Hn %s && exec "%s" "$@"\n' \
	"$LIMIT" "$LIMIT" "$real" >"$T/limited"
chmod +x "$T/limited"
PORTSPLIT=$T/limited
ps_start "$T/portsplit.ini" "$PS"
PORTSPLIT=$real
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PS_PID/stat"; }
hz=$(getconf CLK_TCK)

lines_before=$(wc -l <"$PS_LOG")
ticks_before=$(cpu_ticks)
"$PYTHON" "$HOSTILE" hold 127.0.0.1 "$PS" --count "$N" --ready "$T/ready" \
	--until "$T/stop" --max 60 >"$T/hold.json" &
hold=$!
PIDS+=("$hold")
wait_file "$T/ready" 60 || bail "the flood connects"
is "$(cat "$T/ready")" "$N" "$N connections made (most wait in the backlog)"
# A real client arrives during the flood: it waits in the backlog too.
talk 127.0.0.1 "$PS" send 'SSH-2.0-x\r\n' expect 'ident\n' 30 close \
	>/dev/null 2>"$T/talk.err" &
waiting=$!
PIDS+=("$waiting")
sleep 3
ticks=$(($(cpu_ticks) - ticks_before))
lines=$(($(wc -l <"$PS_LOG") - lines_before))
check "EMFILE was met and logged" wait_log 'EMFILE|[Tt]oo many open files' 1
check "no spin: $((ticks * 1000 / hz)) ms of daemon CPU over the ~3 s flood (< 600 ms)" \
	[ $((ticks * 1000 / hz)) -lt 600 ]
check "no log storm: $lines log lines during the flood (<= 30)" [ "$lines" -le 30 ]
check "the daemon is alive" alive "$PS_PID"

touch "$T/stop"
wait "$hold"
wait "$waiting"
is "$?" 0 "once the flood is gone, the client that waited in the backlog is served"
talk 127.0.0.1 "$PS" send 'SSH-2.0-x\r\n' expect 'ident\n' 10 close >/dev/null 2>&1
is "$?" 0 "and so is a new one"
finish
