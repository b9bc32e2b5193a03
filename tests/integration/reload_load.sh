# SPDX-License-Identifier: ISC
# SIGHUP under load: a client loop of 600 connections runs across a reload
# that adds a service; none fails (the listener keeps its socket). The new
# service answers afterwards; a connection decided before the reload goes
# on; a silent connection accepted before it is decided under the
# configuration it started with.
. "$(dirname "$0")/../lib.sh"

N=600
read -r PS <<<"$(free_ports 1)"

write_config() { # write_config VERSION [EXTRA SECTION TEXT]
	cat >"$T/portsplit.ini.new" <<EOF
bind = 127.0.0.1:$PS
timeout = 1.5
[old]
string = ping
exec = /bin/cat
${2:-}
[timeout]
exec = /bin/echo
execarg = timeout-$1
EOF
	mv "$T/portsplit.ini.new" "$T/portsplit.ini"
}
write_config A
ps_start "$T/portsplit.ini" "$PS"

# Before the reload: a relayed connection that goes on across it, and a
# silent one that is still undecided when it happens.
talk 127.0.0.1 "$PS" send 'ping one\n' expect 'ping one\n' 5 sleep 2.5 \
	send 'ping two\n' expect 'ping two\n' 5 shutwr eof 5 >"$T/long.out" 2>"$T/long.err" &
long=$!
talk 127.0.0.1 "$PS" expect 'timeout-A\n' 5 eof 5 >"$T/silent.out" 2>"$T/silent.err" &
silent=$!

"$PYTHON" "$TESTS_DIR/helpers/clients.py" loop 127.0.0.1 "$PS" --count "$N" \
	--concurrency 4 --send 'ping\n' --expect 'ping\n' \
	--mark-after 150 --mark "$T/mark" >"$T/loop.json" &
loop=$!
for _ in $(seq 300); do
	[ -e "$T/mark" ] && break
	sleep 0.01
done
write_config B '[new]
string = NEW
exec = /bin/echo
execarg = new-service'
kill -HUP "$PS_PID"
timeout 120 tail --pid="$loop" -f /dev/null
wait "$loop"
is "$?" 0 "the client loop ran through the reload"
is "$(json "$(cat "$T/loop.json")" failed)" 0 "failed connections: 0 of $N ($(cat "$T/loop.json"))"
check "the reload happened" wait_log 'reloaded: 2 services'
first=$(grep -n 'decision .*service=old' "$PS_LOG" | sed -n 3p | cut -d: -f1)
reload=$(grep -n 'reloaded: ' "$PS_LOG" | head -n 1 | cut -d: -f1)
last=$(grep -n 'decision .*service=old' "$PS_LOG" | tail -n 1 | cut -d: -f1)
check "the reload came in the middle of the loop (lines $first < $reload < $last)" \
	[ "${first:-0}" -lt "${reload:-0}" ] && [ "${reload:-0}" -lt "${last:-0}" ]
after=$(awk -v r="$reload" 'NR > r && /decision .*service=old/' "$PS_LOG" | wc -l)
check "connections after the reload: $after" [ "$after" -gt 50 ]
check "the listener was kept, not reopened" [ "$(log_count 'listening on')" = 1 ]

out=$(talk 127.0.0.1 "$PS" send 'NEW\n' eof 5 2>"$T/new.err")
is "$out" "new-service" "the service added by the reload answers"

wait "$long"
is "$?" 0 "a connection relayed before the reload went on across it"
wait "$silent"
is "$?" 0 "a connection undecided at the reload got the old [timeout]"
out=$(talk 127.0.0.1 "$PS" expect 'timeout-B\n' 5 eof 5 2>"$T/silent2.err")
is "$?" 0 "a new silent connection gets the new [timeout]"

[ "$FAILED" = 0 ] || cat "$T"/*.err | diag
finish
