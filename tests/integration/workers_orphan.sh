# SPDX-License-Identifier: ISC
# With workers, no listening socket is left without a process accepting on
# it (issue 9, item 3). Each worker slot has its own socket in a
# SO_REUSEPORT group, and the kernel hashes about 1/N of new connections
# to each; while a slot has no worker (its restart waits, or fork fails),
# its socket must stop listening so that those clients go to the others.
#  1. A worker is killed again and again, each replacement within a second
#     of its start (so each restart waits): a client loop running across
#     it is served, but for the few connections in flight at each kill.
#  2. (root) Fork refused (RLIMIT_NPROC): a killed worker cannot be
#     replaced; every new client is served by the other one, none waits.
#     Once fork works again the slot gets a worker, its socket listens
#     again, and both workers serve.
#  3. (root) A reload that adds an address while fork is refused: the old
#     workers go on without sockets for it, so no client of it waits on
#     them; when an old worker dies, the other serves its clients.
. "$(dirname "$0")/../lib.sh"

read -r PS ID PS3 <<<"$(free_ports 3)"
serve ident ident --port "$ID" --name id

conf() { # conf EXTRA_LINES...
	printf '%s\n' "bind = 127.0.0.1:$PS" 'timeout = 5' 'workers = 2' "$@" \
		'[echo]' 'string = ECHO' "connect = 127.0.0.1:$ID"
}
children() { cat "/proc/$1/task/$1/children" 2>/dev/null; }
# newest_child PID: the child started last
newest_child() {
	local c
	for c in $(children "$1"); do
		echo "$(awk '{ print $22 }' "/proc/$c/stat" 2>/dev/null) $c"
	done | sort -n | tail -n 1 | awk '{ print $2 }'
}
# wait_new_child PID OLD: until PID has a child that is not OLD (3 s)
wait_new_child() {
	for _ in $(seq 30); do
		c=$(newest_child "$1")
		[ -n "$c" ] && [ "$c" != "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# clients.py PORT COUNT CONCURRENCY SECS: COUNT clients, each connects,
# sends ECHO and must get "id\nECHO\n" within SECS; prints
# "served S late L reset R".
cat >"$T/clients.py" <<'PY'
import socket, sys, threading, time
port, count, conc, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
lock = threading.Lock()
res = {"served": 0, "late": 0, "reset": 0}
left = [count]
def one():
    want = b"id\nECHO\n"
    end = time.monotonic() + secs
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=secs)
        s.sendall(b"ECHO\n")
        got = b""
        while not got.endswith(want):
            rest = end - time.monotonic()
            if rest <= 0:
                raise socket.timeout()
            s.settimeout(rest)
            b = s.recv(100)
            if not b:
                raise ConnectionResetError()
            got += b
        s.close()
        return "served"
    except socket.timeout:
        return "late"
    except OSError:
        return "reset"
def worker():
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        r = one()
        with lock:
            res[r] += 1
ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("served %d late %d reset %d" % (res["served"], res["late"], res["reset"]), flush=True)
PY
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$1"; }

# 1. Kills that make the restarts wait.
conf >"$T/portsplit.ini"
ps_start "$T/portsplit.ini" "$PS"
wait_log 'worker 2 of 2 running' 5
"$PYTHON" "$T/clients.py" "$PS" 300 2 2 >"$T/loop1.out" &
loop=$!
PIDS+=("$loop")
kills=0
for _ in $(seq 5); do
	sleep 0.3
	victim=$(newest_child "$PS_PID")
	[ -n "$victim" ] || break
	kill -KILL "$victim"
	kills=$((kills + 1))
	wait_new_child "$PS_PID" "$victim" || break
done
timeout 120 tail --pid="$loop" -f /dev/null
check "the restarts waited (the master says 'in a moment')" \
	wait_log 'ended \(signal=9\): starting another in a moment' 1
read -r served late reset <<<"$(awk '{ print $2, $4, $6 }' "$T/loop1.out")"
check "$kills kills during 300 clients: $served served within 2 s, $late late, $reset reset (at most 2 in flight per kill)" \
	test "${served:-0}" -ge $((300 - 2 * kills)) -a "${late:-1}" -le 2
ps_stop
is "$?" 0 "exits 0 on SIGTERM"

# 2. Fork refused.
if [ "$(id -u)" = 0 ] && command -v prlimit >/dev/null &&
	command -v setpriv >/dev/null; then
	PS_LOG=$T/nproc.log
	# A uid of its own, so that RLIMIT_NPROC counts these processes only.
	uid=$((64000 + RANDOM % 1000))
	hard=$(ulimit -Hu)
	nproc() { # the master's soft limit, set as its own user
		setpriv --reuid="$uid" --regid="$uid" --clear-groups \
			prlimit --pid "$PS_PID" --nproc="$1:$hard"
	}
	chmod 755 "$T"
	conf "user = $uid" "group = $uid" >"$T/nproc.ini"
	ps_start "$T/nproc.ini" "$PS"
	wait_log 'worker 2 of 2 running' 5
	nproc 1 || not_ok "prlimit lowers the master's RLIMIT_NPROC"
	victim=$(newest_child "$PS_PID")
	kill -KILL "$victim"
	check "a worker killed while fork is refused: it cannot be replaced" \
		wait_log 'cannot start worker' 3
	sleep 0.2
	"$PYTHON" "$T/clients.py" "$PS" 60 6 1 >"$T/loop2.out"
	read -r served late reset <<<"$(awk '{ print $2, $4, $6 }' "$T/loop2.out")"
	is "$served" 60 "while its slot has no worker, every new client is served within 1 s ($served of 60; $late waited, $reset reset)"
	nproc "$hard" || not_ok "prlimit raises it again"
	check "fork allowed again: the slot gets a worker" \
		wait_log 'worker [12] of 2 running \(generation 1\)(.*)' 5
	for _ in $(seq 30); do
		[ "$(grep -c 'of 2 running' "$PS_LOG")" -ge 3 ] && break
		sleep 0.1
	done
	mark=$(wc -l <"$PS_LOG")
	"$PYTHON" "$T/clients.py" "$PS" 60 6 2 >"$T/loop3.out"
	is "$(field "$T/loop3.out" served)" 60 "then 60 clients are served"
	pids=$(tail -n +"$((mark + 1))" "$PS_LOG" | grep -o '\[[0-9]*\] decision' | sort -u | wc -l)
	is "$pids" 2 "by both workers: the slot's socket listens again"
	newest=$(newest_child "$PS_PID")
	t0=$(awk '{ print $14 + $15 }' "/proc/$newest/stat")
	sleep 1
	t1=$(awk '{ print $14 + $15 }' "/proc/$newest/stat")
	check "the new worker does not spin ($((t1 - t0)) ticks in 1 s idle)" test $((t1 - t0)) -le 10

	# 3. A reload that adds an address while fork is refused: the old
	# workers go on, but they were forked before the new address had
	# sockets, so those must not listen yet; then the death of an old
	# worker leaves its slot to the other.
	nproc 1 || not_ok "prlimit lowers the master's RLIMIT_NPROC"
	conf "user = $uid" "group = $uid" "bind = 127.0.0.1:$PS3" >"$T/nproc.ini"
	kill -HUP "$PS_PID"
	check "reload adding 127.0.0.1:$PS3 with fork refused: the old workers go on" \
		wait_log 'slots go on with their old worker' 5
	"$PYTHON" "$T/clients.py" "$PS3" 10 5 1 >"$T/loop4.out"
	is "$(field "$T/loop4.out" late)" 0 "no client of the new address waits on a socket no worker has ($(cat "$T/loop4.out"))"
	"$PYTHON" "$T/clients.py" "$PS" 30 5 2 >"$T/loop5.out"
	is "$(field "$T/loop5.out" served)" 30 "the old address is served by the old workers"
	victim=$(newest_child "$PS_PID")
	kill -KILL "$victim"
	check "an old worker dies" wait_log "pid $victim ended" 3
	sleep 0.2
	"$PYTHON" "$T/clients.py" "$PS" 60 6 1 >"$T/loop6.out"
	is "$(field "$T/loop6.out" served)" 60 "its slot stops listening: every client is served by the other within 1 s ($(cat "$T/loop6.out"))"
	nproc "$hard" || not_ok "prlimit raises it again"
	for _ in $(seq 40); do
		[ "$(grep -c 'of 2 running (generation 2)' "$PS_LOG")" -ge 2 ] && break
		sleep 0.1
	done
	is "$(grep -c 'of 2 running (generation 2)' "$PS_LOG")" 2 "fork allowed again: the new generation starts on both slots"
	"$PYTHON" "$T/clients.py" "$PS3" 40 4 2 >"$T/loop7.out"
	is "$(field "$T/loop7.out" served)" 40 "the new address is served"
	"$PYTHON" "$T/clients.py" "$PS" 40 4 2 >"$T/loop8.out"
	is "$(field "$T/loop8.out" served)" 40 "and the old one"
	ps_stop
	is "$?" 0 "exits 0 on SIGTERM"
else
	skip "fork refused" "not root, or no prlimit/setpriv"
fi
finish
