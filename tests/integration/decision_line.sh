# SPDX-License-Identifier: ISC
# The decision line's times and the connection ids.
#  1. ms (accept to decision) is split into first_byte_ms (accept until
#     the client's first byte: the client's own delay) and decide_ms (first
#     byte to decision): a client that waits 300 ms before its first byte
#     shows it in first_byte_ms, not in decide_ms; one that sends half its
#     greeting, waits 300 ms, then the rest shows the wait in decide_ms; a
#     silent client decided by the timer has neither (-).
#  2. With workers = 2, connection ids are unique across the workers, and
#     every decision line pairs with exactly one close line by its id.
. "$(dirname "$0")/../lib.sh"

read -r PS PS2 ID <<<"$(free_ports 3)"
serve ident ident --port "$ID" --name id
cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 1
[ssh]
regex = SSH-2\.0-[^\r\n]*\r\n
connect = 127.0.0.1:$ID
[timeout]
connect = 127.0.0.1:$ID
EOF
ps_start "$T/portsplit.ini" "$PS"

# field N KEY: KEY's value on the Nth decision line
field() { grep 'decision ' "$PS_LOG" | sed -n "${1}p" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

talk 127.0.0.1 "$PS" sleep 0.3 send 'SSH-2.0-late\r\n' expect id 10 shutwr eof 10 >/dev/null
wait_log 'decision .*service=ssh' 5
f=$(field 1 first_byte_ms) d=$(field 1 decide_ms) m=$(field 1 ms)
# The times count from accept, which a loaded machine may delay after the
# client's connect: the bounds leave it 200 ms.
check "a client silent for 300 ms: the wait is in first_byte_ms=$f (>= 100), not decide_ms=$d" \
	eval 'frange 100 "${f:-0}" 100000 && fbelow "${d:-1000}" "${f:-0}"'
check "its ms=$m is first_byte_ms + decide_ms ($f + $d)" \
	awk -v m="$m" -v f="$f" -v d="$d" 'BEGIN { x = f + d - m; exit !(x < 0.002 && x > -0.002) }'

talk 127.0.0.1 "$PS" send 'SSH-2.0' sleep 0.3 send '-split\r\n' expect id 10 shutwr eof 10 >/dev/null
wait_log 'decision .*conn=2 ' 5
f=$(field 2 first_byte_ms) d=$(field 2 decide_ms)
check "a greeting split by 300 ms: the wait is in decide_ms=$d (>= 100), not first_byte_ms=$f" \
	eval 'frange 100 "${d:-0}" 100000 && fbelow "${f:-1000}" "${d:-0}"'

talk 127.0.0.1 "$PS" expect id 10 shutwr eof 10 >/dev/null
wait_log 'decision .*service=timeout' 5
is "$(field 3 first_byte_ms) $(field 3 decide_ms)" "- -" "a silent client (timeout): first_byte_ms=- decide_ms=-"
ps_stop
is "$?" 0 "portsplit exits 0 on SIGTERM"

# --- ids across workers
cat >"$T/w.ini" <<EOF
bind = 127.0.0.1:$PS2
workers = 2
[ssh]
string = SSH-
connect = 127.0.0.1:$ID
EOF
PS_LOG=$T/portsplit-w.log
ps_start "$T/w.ini" "$PS2"
wait_log "worker 2 of 2 running" 10
for i in $(seq 16); do
	talk 127.0.0.1 "$PS2" send 'SSH-2.0-x\r\n' expect id 10 shutwr eof 10 >/dev/null
done
for _ in $(seq 50); do
	[ "$(grep -c ' close conn=' "$PS_LOG")" -ge 16 ] && break
	sleep 0.1
done
pids=$(grep 'decision ' "$PS_LOG" | grep -oE ' \[[0-9]+\] ' | sort -u | wc -l)
ids=$(grep 'decision ' "$PS_LOG" | grep -oE 'conn=[0-9]+' | sort | uniq | wc -l)
is "$(grep -c "decision " "$PS_LOG")" 16 "workers = 2: 16 decision lines"
if [ "$pids" -ge 2 ]; then
	is "$ids" 16 "16 distinct connection ids across $pids workers"
else
	skip "distinct ids across workers" "every connection went to one worker"
fi
pairs=$(grep -oE '(decision|close) conn=[0-9]+' "$PS_LOG" | awk '{ n[$2]++ } END { bad = 0; for (k in n) if (n[k] != 2) bad++; print bad }')
is "$pairs" 0 "every id is on exactly one decision and one close line"
finish
