# SPDX-License-Identifier: ISC
# workers = N (issue 5): a master and N worker processes sharing the
# listeners.
#  1. workers = 2 starts two workers under the master; the pid file names
#     the master; connections are served by both (decision lines come from
#     two worker pids).
#  2. maxconn holds across the workers: with 10 held, the 11th is closed at
#     once.
#  3. A worker killed with SIGKILL is replaced, and its connections no
#     longer count against maxconn.
#  4. SIGHUP: an invalid file leaves the workers alone; a valid one makes
#     a new generation of workers with the new configuration; the old ones
#     keep their connections working, then end with them.
#  5. SIGTERM: the master and every worker exit promptly, the master with
#     0, and the pid file is gone.
#  6. workers = auto starts one worker per processor; with user = nobody
#     (as root) the workers run as nobody.
. "$(dirname "$0")/../lib.sh"

read -r PS ID PS2 <<<"$(free_ports 3)"
serve ident ident --port "$ID" --name id

conf() { # conf EXTRA_SERVICE_LINES...
	cat <<EOF
bind = 127.0.0.1:$PS
timeout = 5
workers = 2
maxconn = 10
pid = $T/portsplit.pid
[echo]
string = ECHO
connect = 127.0.0.1:$ID
EOF
	printf '%s\n' "$@"
}
conf >"$T/portsplit.ini"

# hold.py PORT N RELEASE PREFIX: opens N connections that each send PREFIX
# and get the backend's echo, prints "held K", then waits for the file
# RELEASE, checks each still echoes ("alive K"), and closes them.
cat >"$T/hold.py" <<'PY'
import os, socket, sys, time
port, n, release, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def echo(s, text):
    s.sendall(text)
    got = b""
    while not got.endswith(text):
        b = s.recv(100)
        if not b:
            return False
        got += b
    return True
held = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        if echo(s, prefix.encode() + b"\n"):
            held.append(s)
    except OSError:
        pass
print("held", len(held), flush=True)
for _ in range(600):
    if os.path.exists(release):
        break
    time.sleep(0.1)
alive = 0
for s in held:
    try:
        alive += echo(s, b"still\n")
    except OSError:
        pass
print("alive", alive, flush=True)
PY
# closed_at_once: a connection that the daemon closes without a decision.
cat >"$T/once.py" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
t = time.monotonic()
try:
    s.sendall(b"ECHO\n")
    data = s.recv(100)
except OSError:
    data = b""
print("closed" if not data else "served", "%.2f" % (time.monotonic() - t))
PY

workers_of() { cat "/proc/$1/task/$1/children" 2>/dev/null; }
nworkers() { workers_of "$1" | wc -w; }
# wait_workers PID N: until PID has N children (5 s at most)
wait_workers() {
	for _ in $(seq 50); do
		[ "$(nworkers "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# hold NAME N PREFIX: start hold.py in the background, wait for "held"
hold() {
	spawn "$T/$1.out" "$PYTHON" "$T/hold.py" "$PS" "$2" "$T/$1.release" "$3"
	for _ in $(seq 100); do
		grep -q '^held' "$T/$1.out" && return 0
		sleep 0.1
	done
	return 1
}
release() { # release NAME: let hold.py check and close, wait for it
	touch "$T/$1.release"
	for _ in $(seq 100); do
		grep -q '^alive' "$T/$1.out" && return 0
		sleep 0.1
	done
	return 1
}
out_val() { awk -v k="$2" '$1 == k { print $2 }' "$T/$1.out"; }

# 1. Two workers.
ps_start "$T/portsplit.ini" "$PS"
wait_log 'worker 2 of 2 running' 5
check "workers = 2: the master has two worker processes" wait_workers "$PS_PID" 2
first=$(workers_of "$PS_PID")
is "$(head -n 1 "$T/portsplit.pid")" "$PS_PID" "the pid file names the master"
hold a 10 ECHO || bail "hold.py holds connections"
is "$(out_val a held)" 10 "10 connections served"
pids=$(grep -o 'info \[[0-9]*\] decision' "$PS_LOG" | sort -u | wc -l)
is "$pids" 2 "their decision lines come from both workers"

# 2. maxconn across workers.
once=$("$PYTHON" "$T/once.py" "$PS")
check "maxconn 10 with 10 held in two workers: the 11th is closed at once ($once)" \
	test "${once%% *}" = closed
check "maxconn: logged" wait_log 'maxconn 10 reached' 3

# 3. A killed worker is replaced; its connections are given back.
victim=$(echo "$first" | awk '{ print $1 }')
kill -KILL "$victim"
check "a worker killed by SIGKILL: the master says so" \
	wait_log "worker [12] pid $victim ended \\(signal=9\\): starting another" 3
for _ in $(seq 30); do
	now=$(workers_of "$PS_PID")
	[ "$(echo "$now" | wc -w)" = 2 ] && ! grep -qw "$victim" <<<"$now" && break
	sleep 0.1
done
check "it is replaced within 3 s ($(echo $now))" \
	test "$(echo "$now" | wc -w)" = 2 -a -z "$(grep -w "$victim" <<<"$now")"
release a
held_alive=$(out_val a alive)
check "the other worker's connections still echo ($held_alive of 10)" test "$held_alive" -ge 1 -a "$held_alive" -lt 10
sleep 0.3
hold b 10 ECHO || bail "hold.py holds connections again"
is "$(out_val b held)" 10 "the killed worker's connections were given back: 10 fit again"
release b

# 4. SIGHUP: an invalid file changes nothing; a valid one makes a new
# generation, and the old one keeps its connections.
before=$(workers_of "$PS_PID")
conf 'bogus = 1' >"$T/portsplit.ini"
kill -HUP "$PS_PID"
check "SIGHUP with an invalid file: reload failed" wait_log 'reload failed' 3
is "$(workers_of "$PS_PID")" "$before" "the same workers go on"
hold c 4 ECHO || bail "hold.py holds connections before the reload"
conf '[new]' 'string = NEW' "connect = 127.0.0.1:$ID" >"$T/portsplit.ini"
kill -HUP "$PS_PID"
check "SIGHUP: reloaded" wait_log 'reload: 2 new workers; 2 old ones retire' 3
check "the old workers retire" wait_log 'retiring: a reload replaced this worker' 3
reply=$(talk 127.0.0.1 "$PS" send 'NEW\n' expect 'id\nNEW\n' 5 2>&1)
is "$?" 0 "a new connection gets the new configuration"
check "decision line names service=new" wait_log 'decision .*service=new( |$)' 3
release c
is "$(out_val c alive)" 4 "connections from before the reload still echo"
for _ in $(seq 30); do
	after=$(workers_of "$PS_PID")
	[ "$(echo "$after" | wc -w)" = 2 ] && break
	sleep 0.1
done
is "$(echo "$after" | wc -w)" 2 "with their last connection gone, the old workers have ended"
common=$(comm -12 <(tr ' ' '\n' <<<"$before" | sort) <(tr ' ' '\n' <<<"$after" | sort) | grep -c .)
is "$common" 0 "the two running now are new ones"

# 5. SIGTERM.
all=$(workers_of "$PS_PID")
start=$SECONDS
ps_stop
is "$?" 0 "SIGTERM: the master exits 0"
check "within 3 s" test $((SECONDS - start)) -le 3
left=0
for p in $all; do alive "$p" && left=$((left + 1)); done
is "$left" 0 "no worker is left"
check "the pid file is removed" test ! -e "$T/portsplit.pid"

# 6. workers = auto, and workers as an unprivileged user.
PS_LOG=$T/auto.log
sed -e 's/^workers = 2/workers = auto/' -e "s/:$PS\$/:$PS2/" -e '/^pid/d' \
	"$T/portsplit.ini" >"$T/auto.ini"
ps_start "$T/auto.ini" "$PS2"
n=$(nproc)
if [ "$n" -gt 1 ]; then
	check "workers = auto: $n workers (nproc)" wait_workers "$PS_PID" "$n"
else
	check "workers = auto on one processor: no worker process" wait_workers "$PS_PID" 0
fi
ps_stop
is "$?" 0 "workers = auto: exits 0 on SIGTERM"

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	PS_LOG=$T/nobody.log
	sed -e "s/:$PS\$/:$PS2/" -e '/^pid/d' "$T/portsplit.ini" >"$T/nobody.ini"
	echo 'user = nobody' | cat - "$T/nobody.ini" >"$T/nobody2.ini"
	ps_start "$T/nobody2.ini" "$PS2"
	wait_workers "$PS_PID" 2
	uids=$(for p in $PS_PID $(workers_of "$PS_PID"); do
		awk '/^Uid:/ { print $2 }' "/proc/$p/status"; done | sort -u)
	is "$uids" "$(id -u nobody)" "user = nobody: the master and both workers run as nobody"
	PS=$PS2
	reply=$(talk 127.0.0.1 "$PS2" send 'ECHO\n' expect 'id\nECHO\n' 5 2>&1)
	is "$?" 0 "user = nobody: a connection is served"
	ps_stop
	is "$?" 0 "user = nobody: exits 0 on SIGTERM"
else
	skip "workers as nobody" "not root, or no user nobody"
fi
finish
