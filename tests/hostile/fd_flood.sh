# SPDX-License-Identifier: ISC
# A connection flood past the daemon's descriptor limit (lowered here to
# 64): accept() fails with EMFILE. The daemon must pause accepting instead
# of retrying in a loop (no spin: its CPU is counted in clock ticks over the
# flood), log it a bounded number of times (no log storm), and once the
# flood is gone serve the clients that waited in the backlog.
. "$(dirname "$0")/../lib.sh"
N=400
LIMIT=64

ident_conf "timeout = 60" "maxconn = 1000"
real=$PORTSPLIT
printf '#!/bin/sh\nulimit -Sn %s && ulimit -Hn %s && exec "%s" "$@"\n' \
	"$LIMIT" "$LIMIT" "$real" >"$T/limited"
chmod +x "$T/limited"
PORTSPLIT=$T/limited
ps_start "$T/portsplit.ini" "$PS"
PORTSPLIT=$real

lines_before=$(wc -l <"$PS_LOG")
cpu_before=$(ps_cpu_ms)
hold_clients "$N" 60 "the flood connects"
is "$(cat "$T/ready")" "$N" "$N connections made (most wait in the backlog)"
# A real client arrives during the flood: it waits in the backlog too.
talk 127.0.0.1 "$PS" send 'SSH-2.0-x\r\n' expect 'ident\n' 30 close \
	>/dev/null 2>"$T/talk.err" &
waiting=$!
PIDS+=("$waiting")
sleep 3
cpu=$(($(ps_cpu_ms) - cpu_before))
lines=$(($(wc -l <"$PS_LOG") - lines_before))
check "EMFILE was met and logged" wait_log 'EMFILE|[Tt]oo many open files' 1
check "no spin: $cpu ms of daemon CPU over the ~3 s flood (< 600 ms)" [ "$cpu" -lt 600 ]
check "no log storm: $lines log lines during the flood (<= 30)" [ "$lines" -le 30 ]
check "the daemon is alive" alive "$PS_PID"

touch "$T/stop"
wait "$HOLD"
wait "$waiting"
is "$?" 0 "once the flood is gone, the client that waited in the backlog is served"
talk 127.0.0.1 "$PS" send 'SSH-2.0-x\r\n' expect 'ident\n' 10 close >/dev/null 2>&1
is "$?" 0 "and so is a new one"
finish
