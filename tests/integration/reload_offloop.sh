# SPDX-License-Identifier: ISC
# A reload never stalls the connections in flight (SPEC §5: no file read
# and no name lookup on the event loop). The configuration file is made a
# FIFO that nobody writes yet, so that reading it blocks for as long as
# the test wants: a reload as slow as a hung NFS mount or DNS server.
#  1. One process: while the load is stuck, a relayed connection keeps
#     echoing and new clients are served; SIGHUPs that arrive meanwhile
#     make one more load (not one each, and never two at once); once the
#     file is written, the new configuration is in force.
#  2. workers = 2: while the master's load is stuck, a worker killed with
#     SIGKILL is replaced, and SIGTERM still stops everything at once.
. "$(dirname "$0")/../lib.sh"

read -r PS ID PS2 <<<"$(free_ports 3)"
serve ident ident --port "$ID" --name id

conf() { # conf PORT EXTRA_LINES...
	local port=$1
	shift
	printf '%s\n' "bind = 127.0.0.1:$port" "timeout = 5" "$@" \
		'[echo]' 'string = ECHO' "connect = 127.0.0.1:$ID"
}
# feed TEXT_FILE: writes it into the FIFO (bounded: a reader must come).
feed() { timeout 20 sh -c 'cat "$1" >"$2"' sh "$1" "$T/portsplit.ini"; }
# stall: the configuration file becomes a FIFO nobody writes yet.
stall() {
	rm -f "$T/portsplit.ini"
	mkfifo "$T/portsplit.ini"
}

# echo.py PORT STATUS STOP: one relayed connection that echoes lines in
# a loop, and every 20th round trip a new connection that must be served;
# after each round trip it writes "ECHOES NEW FAILED" to STATUS. Ends at
# the file STOP, or after 60 s.
cat >"$T/echo.py" <<'PY'
import os, socket, sys, time
port, status, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def roundtrip(s, text):
    s.sendall(text)
    got = b""
    while not got.endswith(text):
        b = s.recv(4096)
        if not b:
            raise OSError("closed")
        got += b
held = socket.create_connection(("127.0.0.1", port), timeout=10)
roundtrip(held, b"ECHO\n")
echoes = new = failed = 0
end = time.monotonic() + 60
while not os.path.exists(stop) and time.monotonic() < end:
    try:
        roundtrip(held, b"line %d\n" % echoes)
        echoes += 1
    except OSError:
        failed += 1
        break
    if echoes % 20 == 0:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                roundtrip(c, b"ECHO %d\n" % new)
            new += 1
        except OSError:
            failed += 1
    with open(status + ".tmp", "w") as f:
        f.write("%d %d %d\n" % (echoes, new, failed))
    os.rename(status + ".tmp", status)
    time.sleep(0.005)
PY
counts() { cat "$T/status" 2>/dev/null || echo "0 0 0"; }

# 1. One process.
conf "$PS" >"$T/portsplit.ini"
ps_start "$T/portsplit.ini" "$PS"
spawn "$T/echo.out" "$PYTHON" "$T/echo.py" "$PS" "$T/status" "$T/stop"
echoer=$SPAWNED
wait_file "$T/status" 10 || bail "the echo client runs"
conf "$PS" '' >"$T/next.ini"
printf '%s\n' '[new]' 'string = NEW' "connect = 127.0.0.1:$ID" >>"$T/next.ini"
stall
kill -HUP "$PS_PID"
check "SIGHUP: the load starts" wait_log 'SIGHUP: reloading' 5
sleep 0.3
read -r e0 n0 _ <<<"$(counts)"
kill -HUP "$PS_PID"
sleep 0.1
kill -HUP "$PS_PID"
sleep 2
read -r e1 n1 f1 <<<"$(counts)"
echoes=$((e1 - e0)) new=$((n1 - n0))
check "while the load is stuck for 2 s, the relayed connection echoes ($echoes round trips, at least 20)" \
	test "$echoes" -ge 20
check "... and new clients are served ($new, at least 1), none failed ($f1)" \
	test "$new" -ge 1 -a "$f1" = 0
check "a SIGHUP during the load is not lost: one more load follows" \
	wait_log 'SIGHUP: .* is being loaded; it is loaded again once that is done' 1
is "$(log_count 'SIGHUP: reloading')" 1 "and no second load runs at once"
feed "$T/next.ini"
check "the file written: reloaded" wait_log 'reloaded: 2 services' 10
check "the SIGHUPs that came meanwhile make one more load" \
	wait_log 'SIGHUP: reloading.*' 5
for _ in $(seq 50); do
	[ "$(log_count 'SIGHUP: reloading')" -ge 2 ] && break
	sleep 0.1
done
is "$(log_count 'SIGHUP: reloading')" 2 "two loads for three SIGHUPs"
feed "$T/next.ini"
for _ in $(seq 50); do
	[ "$(log_count 'reloaded: 2 services')" -ge 2 ] && break
	sleep 0.1
done
is "$(log_count 'reloaded: 2 services')" 2 "the second load is applied too"
reply=$(talk 127.0.0.1 "$PS" send 'NEW\n' expect 'id\nNEW\n' 5 2>&1)
is "$?" 0 "the new configuration is in force"
touch "$T/stop"
wait "$echoer"
read -r e2 _ f2 <<<"$(counts)"
check "the relayed connection lived through it ($e2 round trips, $f2 failures)" \
	test "$f2" = 0 -a "$e2" -gt "$e1"
rm -f "$T/portsplit.ini"
conf "$PS" >"$T/portsplit.ini"
ps_stop
is "$?" 0 "the daemon exits 0 on SIGTERM"

# 2. workers = 2: the master reloads off its signal-waiting thread too.
PS_LOG=$T/workers.log
conf "$PS2" 'workers = 2' >"$T/portsplit.ini"
ps_start "$T/portsplit.ini" "$PS2"
wait_log 'worker 2 of 2 running' 5
stall
kill -HUP "$PS_PID"
check "workers: SIGHUP starts the master's load" wait_log 'SIGHUP: reloading' 5
sleep 0.3
victim=$(awk '{ print $1 }' "/proc/$PS_PID/task/$PS_PID/children")
kill -KILL "$victim"
check "while the load is stuck, a killed worker is replaced" \
	wait_log "worker [12] pid $victim ended" 5
check "... and the new one runs" \
	wait_log 'worker [12] of 2 running \(generation 1\)' 5
for _ in $(seq 30); do
	[ "$(grep -c 'worker [12] of 2 running' "$PS_LOG")" -ge 3 ] && break
	sleep 0.1
done
is "$(grep -c 'worker [12] of 2 running' "$PS_LOG")" 3 "three workers started (two, then the replacement)"
reply=$(talk 127.0.0.1 "$PS2" send 'ECHO\n' expect 'id\nECHO\n' 5 2>&1)
is "$?" 0 "a client is served meanwhile"
start=$SECONDS
ps_stop
is "$?" 0 "SIGTERM while the load is stuck: the master exits 0"
check "within 3 s" test $((SECONDS - start)) -le 3
rm -f "$T/portsplit.ini"
finish
