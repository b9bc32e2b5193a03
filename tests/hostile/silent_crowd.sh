# SPDX-License-Identifier: ISC
# 1000 clients connect and say nothing (a slowloris crowd, or a scanner):
# each costs one descriptor and a timer, nothing more. Meanwhile a real
# client is still routed at once, the daemon does not spin over the idle
# crowd, and no silent client is dropped before its timeout.
. "$(dirname "$0")/../lib.sh"
N=1000

ident_conf "timeout = 60" "maxconn = 2000"
ps_start "$T/portsplit.ini" "$PS"

hold_clients "$N" 90 "the crowd connects"
is "$(cat "$T/ready")" "$N" "$N silent clients connected"
# Every one of them accepted and waiting for bytes (SO_RCVLOWAT or EPOLLET).
for _ in $(seq 50); do
	[ "$(ls "/proc/$PS_PID/fd" | wc -l)" -gt "$N" ] && break
	sleep 0.1
done
check "the daemon holds all of them ($(ls "/proc/$PS_PID/fd" | wc -l) descriptors)" \
	[ "$(ls "/proc/$PS_PID/fd" | wc -l)" -gt "$N" ]

before=$(ps_cpu_ms)
talk --first "$T/first" 127.0.0.1 "$PS" send 'SSH-2.0-x\r\n' expect 'ident\n' 10 close \
	>/dev/null 2>"$T/talk.err"
is "$?" 0 "a real client among them is routed"
first=$(cat "$T/first")
check "promptly: first byte after ${first}s (< 2 s, on a loaded machine)" fbelow "$first" 2
sleep 2
after=$(ps_cpu_ms)
check "no spin over the idle crowd: $((after - before)) ms of daemon CPU in ~2 s (< 400 ms)" \
	[ $((after - before)) -lt 400 ]

touch "$T/stop"
wait "$HOLD"
hold_report=$(cat "$T/hold.json")
is "$(json "$hold_report" closed_early)" 0 "no silent client was dropped before its timeout"
check "no error in the log" [ "$(log_count ' error ')" = 0 ]
check "portsplit still running" alive "$PS_PID"
finish
