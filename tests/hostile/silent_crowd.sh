# SPDX-License-Identifier: ISC
# 1000 clients connect and say nothing (a slowloris crowd, or a scanner):
# each costs one descriptor and a timer, nothing more. Meanwhile a real
# client is still routed at once, the daemon does not spin over the idle
# crowd, and no silent client is dropped before its timeout.
. "$(dirname "$0")/../lib.sh"
HOSTILE="$TESTS_DIR/helpers/hostile.py"
N=1000

read -r PS ID <<<"$(free_ports 2)"
serve ident ident --port "$ID" --name ident
cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 60
maxconn = 2000
[ssh]
string = SSH-
connect = 127.0.0.1:$ID
EOF
ps_start "$T/portsplit.ini" "$PS"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PS_PID/stat"; }

"$PYTHON" "$HOSTILE" hold 127.0.0.1 "$PS" --count "$N" --ready "$T/ready" \
	--until "$T/stop" --max 90 >"$T/hold.json" &
hold=$!
PIDS+=("$hold")
wait_file "$T/ready" 60 || bail "the crowd connects"
is "$(cat "$T/ready")" "$N" "$N silent clients connected"
# Every one of them accepted and waiting for bytes (SO_RCVLOWAT or EPOLLET).
for _ in $(seq 50); do
	[ "$(ls "/proc/$PS_PID/fd" | wc -l)" -gt "$N" ] && break
	sleep 0.1
done
check "the daemon holds all of them ($(ls "/proc/$PS_PID/fd" | wc -l) descriptors)" \
	[ "$(ls "/proc/$PS_PID/fd" | wc -l)" -gt "$N" ]

before=$(cpu_ticks)
talk --first "$T/first" 127.0.0.1 "$PS" send 'SSH-2.0-x\r\n' expect 'ident\n' 10 close \
	>/dev/null 2>"$T/talk.err"
is "$?" 0 "a real client among them is routed"
first=$(cat "$T/first")
check "promptly: first byte after ${first}s (< 2 s, on a loaded machine)" fbelow "$first" 2
sleep 2
after=$(cpu_ticks)
hz=$(getconf CLK_TCK)
check "no spin over the idle crowd: $(((after - before) * 1000 / hz)) ms of daemon CPU in ~2 s (< 400 ms)" \
	[ $(((after - before) * 1000 / hz)) -lt 400 ]

touch "$T/stop"
wait "$hold"
hold_report=$(cat "$T/hold.json")
is "$(json "$hold_report" closed_early)" 0 "no silent client was dropped before its timeout"
check "no error in the log" [ "$(log_count ' error ')" = 0 ]
check "portsplit still running" alive "$PS_PID"
finish
