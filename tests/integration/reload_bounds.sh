# SPDX-License-Identifier: ISC
# The life of reloads with workers (issue 9, item 3), and SIGUSR1.
#  1. SIGUSR1 reopens the log file (rotation) in a lone daemon: the same
#     process goes on, writing to a fresh file, and nothing is reloaded.
#  2. The same with workers = 2: the master passes it on, the workers stay
#     the same processes (no new generation) and log to the fresh file.
#  3. 200 SIGHUPs with long-lived connections open: every new client is
#     served meanwhile, and the processes alive stay bounded (retiring
#     generations are capped) instead of one more per reload.
#  4. reload_grace = 1: a worker a reload replaced is stopped once its
#     grace is over, closing the connection it still held.
#  5. (root) A reload whose new workers cannot start (fork refused by
#     RLIMIT_NPROC) leaves the old workers serving: no socket of the
#     SO_REUSEPORT group is left without a process accepting on it; once
#     fork works again the new generation takes over.
. "$(dirname "$0")/../lib.sh"

read -r PS ID <<<"$(free_ports 2)"
serve ident ident --port "$ID" --name id
LOG=$T/file.log

conf() { # conf WORKERS EXTRA_LINES...
	local n=$1
	shift
	cat <<EOF
bind = 127.0.0.1:$PS
timeout = 5
workers = $n
log = $LOG
log_level = info
EOF
	printf '%s\n' "$@"
	cat <<EOF
[echo]
string = ECHO
connect = 127.0.0.1:$ID
EOF
}

# start CONFIG: the daemon, logging to $LOG; waits for "running".
start() {
	: >"$LOG"
	: >"$PS_LOG"
	"$PORTSPLIT" "$1" </dev/null >>"$PS_LOG" 2>&1 &
	PS_PID=$!
	PIDS+=("$PS_PID")
	for _ in $(seq 100); do
		grep -q 'running' "$LOG" && return 0
		alive "$PS_PID" || break
		sleep 0.1
	done
	diag <"$PS_LOG"
	bail "portsplit starts with $(basename "$1")"
}
flog() { # flog REGEX [SECS]: wait for a line in the log file
	for _ in $(seq $((${2:-5} * 10))); do
		grep -Eq -- "$1" "$LOG" && return 0
		sleep 0.1
	done
	return 1
}
children() { cat "/proc/$1/task/$1/children" 2>/dev/null; }
nchildren() { children "$1" | wc -w; }
wait_children() { # wait_children PID N [SECS]: until PID has N children
	for _ in $(seq $((${3:-5} * 10))); do
		[ "$(nchildren "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
served() { # served [PAYLOAD]: one new client gets its echo
	talk 127.0.0.1 "$PS" send "${1:-ECHO}\\n" expect "id\\n${1:-ECHO}\\n" 5 \
		>/dev/null 2>&1
}

# holder.py PORT CTL: a client that opens connections on request. Each line
# of the fifo CTL: "open" opens one more (prints "held N"), "check" prints
# "alive K" for the ones that still echo, "quit" ends it.
cat >"$T/holder.py" <<'PY'
import socket, sys
port, ctl = int(sys.argv[1]), sys.argv[2]
held = []
def echo(s, text):
    s.sendall(text)
    got = b""
    while not got.endswith(text):
        b = s.recv(100)
        if not b:
            return False
        got += b
    return True
with open(ctl) as f:
    for line in f:
        cmd = line.strip()
        if cmd == "open":
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                if echo(s, b"ECHO\n"):
                    held.append(s)
            except OSError:
                pass
            print("held", len(held), flush=True)
        elif cmd == "check":
            alive = []
            for s in held:
                try:
                    alive.append(echo(s, b"still\n"))
                except OSError:
                    alive.append(False)
            print("alive", sum(alive), "last", int(bool(alive) and alive[-1]), flush=True)
        elif cmd == "quit":
            break
PY
# holder_start NAME: the holder, driven through the fifo $T/NAME.ctl
holder_start() {
	mkfifo "$T/$1.ctl"
	spawn "$T/$1.out" timeout 300 "$PYTHON" "$T/holder.py" "$PS" "$T/$1.ctl"
	exec {HOLD_FD}>"$T/$1.ctl"
}
holder() { # holder NAME CMD: send CMD, wait for its answer line
	local before
	before=$(wc -l <"$T/$1.out")
	echo "$2" >&"$HOLD_FD"
	for _ in $(seq 100); do
		[ "$(wc -l <"$T/$1.out")" -gt "$before" ] && return 0
		sleep 0.1
	done
	return 1
}
holder_last() { tail -n 1 "$T/$1.out"; }
holder_stop() { echo quit >&"$HOLD_FD"; exec {HOLD_FD}>&-; }

# 1. SIGUSR1, one process.
conf 1 >"$T/one.ini"
start "$T/one.ini"
served || not_ok "a client is served before the rotation"
mv "$LOG" "$LOG.1"
kill -USR1 "$PS_PID"
check "SIGUSR1: a fresh log file is written" flog 'SIGUSR1: log file reopened'
check "the daemon is still running" alive "$PS_PID"
served
is "$?" 0 "a client is served after SIGUSR1"
check "its lines go to the fresh file" flog 'close conn=2 '
check "... not to the rotated one" sh -c "! grep -q 'conn=2' '$LOG.1'"
check "nothing was reloaded" sh -c "! grep -q 'reload' '$LOG' '$LOG.1'"
ps_stop
is "$?" 0 "exits 0 on SIGTERM"

# 2. SIGUSR1 with workers.
conf 2 >"$T/two.ini"
start "$T/two.ini"
check "two workers" wait_children "$PS_PID" 2
before=$(children "$PS_PID")
mv "$LOG" "$LOG.2"
kill -USR1 "$PS_PID"
check "workers: the master reopens its log file" flog 'SIGUSR1: log file reopened'
for _ in $(seq 50); do
	[ "$(grep -c 'SIGUSR1: log file reopened' "$LOG")" -ge 3 ] && break
	sleep 0.1
done
is "$(grep -c 'SIGUSR1: log file reopened' "$LOG")" 3 "... and so does each worker"
is "$(children "$PS_PID")" "$before" "the same workers go on: no new generation"
check "nothing was reloaded" sh -c "! grep -q 'reload' '$LOG' '$LOG.2'"
served
is "$?" 0 "a client is served after SIGUSR1"
check "its decision is in the fresh file" flog 'decision conn=1 '

# 3. 200 SIGHUPs with long-lived connections open.
holder_start h
fails=0
for i in $(seq 200); do
	kill -HUP "$PS_PID"
	sleep 0.02
	if [ $((i % 10)) = 0 ]; then
		holder h open || bail "the holder answers"
		served || fails=$((fails + 1))
	fi
done
is "$(holder_last h)" "held 20" "20 long-lived connections opened between the reloads"
is "$fails" 0 "every new client during 200 SIGHUPs was served"
check "the reloads happened" flog 'reload: 2 new workers' 1
# At most 4 generations retire at once: 2 workers x (1 + 4).
bounded() { [ "$(nchildren "$PS_PID")" -le 10 ]; }
for _ in $(seq 100); do bounded && break; sleep 0.1; done
check "processes bounded after 200 reloads: $(nchildren "$PS_PID") workers (at most 10)" bounded
check "the oldest retiring generations were stopped" \
	flog 'more than 4 generations are retiring; stopping it' 1
holder h open || bail "the holder answers"
holder h check || bail "the holder answers"
is "$(holder_last h | awk '{ print $4 }')" 1 "a connection opened after the last reload still echoes"
holder_stop
ps_stop
is "$?" 0 "exits 0 on SIGTERM after the reloads"

# 4. reload_grace.
conf 2 'reload_grace = 1' >"$T/grace.ini"
start "$T/grace.ini"
check "two workers" wait_children "$PS_PID" 2
holder_start g
holder g open || bail "the holder answers"
is "$(holder_last g)" "held 1" "a long-lived connection"
kill -HUP "$PS_PID"
check "reloaded" flog 'reload: 2 new workers' 3
check "the worker holding it is stopped when reload_grace is over" \
	flog 'reload_grace is over; stopping it' 5
check "two workers left" wait_children "$PS_PID" 2 5
holder g check || bail "the holder answers"
is "$(holder_last g | awk '{ print $2 }')" 0 "its connection was closed"
holder_stop
served
is "$?" 0 "new clients are served"
ps_stop
is "$?" 0 "exits 0 on SIGTERM"

# 5. New workers that cannot start.
if [ "$(id -u)" = 0 ] && command -v prlimit >/dev/null &&
	command -v setpriv >/dev/null; then
	# A uid of its own, so that RLIMIT_NPROC counts these processes only.
	uid=$((61000 + RANDOM % 3000))
	hard=$(ulimit -Hu)
	# nproc SOFT: the master's limit, set as its own user (root may lack
	# CAP_SYS_RESOURCE in a container).
	nproc() {
		setpriv --reuid="$uid" --regid="$uid" --clear-groups \
			prlimit --pid "$PS_PID" --nproc="$1:$hard"
	}
	chmod 755 "$T" # the dropped user reloads the file
	conf 2 "user = $uid" "group = $uid" >"$T/nproc.ini"
	start "$T/nproc.ini"
	check "two workers" wait_children "$PS_PID" 2
	before=$(children "$PS_PID")
	nproc 3 || not_ok "prlimit lowers the master's RLIMIT_NPROC"
	conf 2 "user = $uid" "group = $uid" '[new]' 'string = NEW' \
		"connect = 127.0.0.1:$ID" >"$T/nproc.ini"
	kill -HUP "$PS_PID"
	check "fork refused: the master says so" flog 'cannot start worker' 3
	check "the slots go on with their old workers" \
		flog 'slots go on with their old worker' 3
	sleep 0.3
	is "$(children "$PS_PID")" "$before" "the old workers are still there"
	fails=0
	for _ in $(seq 20); do served || fails=$((fails + 1)); done
	is "$fails" 0 "20 new clients served while no new worker could start"
	nproc "$hard" || not_ok "prlimit raises it again"
	ok=1
	for _ in $(seq 50); do
		now=$(children "$PS_PID")
		[ -n "$now" ] && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$before" | sort) \
			<(tr ' ' '\n' <<<"$now" | sort) | grep .)" ] && served NEW && ok=0 && break
		sleep 0.1
	done
	is "$ok" 0 "fork allowed again: new workers replace the old ones and serve the new configuration"
	ps_stop
	is "$?" 0 "exits 0 on SIGTERM"
else
	skip "new workers that cannot start" "not root, or no prlimit/setpriv"
fi
finish
