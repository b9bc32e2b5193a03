# SPDX-License-Identifier: ISC
# 1 000 connections served by exec'd programs, 8 at a time: every program
# is reaped (no zombie children of portsplit), every one has its close line
# with its exit status, and the daemon's descriptor count is back to what
# it was before the first connection.
. "$(dirname "$0")/../lib.sh"

N=1000
read -r PS <<<"$(free_ports 1)"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[cat]
string = ping
exec = /bin/cat
EOF
ps_start "$T/portsplit.ini" "$PS"

fds() { ls "/proc/$PS_PID/fd" | wc -l; }
zombies() { ps -eo ppid=,stat= | awk -v p="$PS_PID" '$1 == p && $2 ~ /^Z/' | wc -l; }
children() { ps -eo ppid= | awk -v p="$PS_PID" '$1 == p' | wc -l; }
before=$(fds)

timeout 300 "$PYTHON" "$TESTS_DIR/helpers/clients.py" loop 127.0.0.1 "$PS" \
	--count "$N" --concurrency 8 --send 'ping\n' --expect 'ping\n' >"$T/loop.json"
is "$?" 0 "$N connections through /bin/cat: every reply exact"
is "$(json "$(cat "$T/loop.json")" failed)" 0 "failed connections: 0 ($(cat "$T/loop.json"))"

for _ in $(seq 100); do
	[ "$(log_count 'close .*service=cat .*exit=0$')" -ge "$N" ] && break
	sleep 0.1
done
is "$(log_count 'close .*service=cat .*exit=0$')" "$N" "$N close lines, each with exit=0"
is "$(zombies)" 0 "no zombie children of portsplit"
is "$(children)" 0 "no children of portsplit left at all"
after=$(fds)
is "$after" "$before" "descriptors back to the baseline ($before before, $after after)"
check "no exec failure was logged" [ "$(log_count 'exec failed')" = 0 ]

[ "$FAILED" = 0 ] || ls -l "/proc/$PS_PID/fd" | diag
finish
