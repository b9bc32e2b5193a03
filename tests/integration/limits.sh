# SPDX-License-Identifier: ISC
# Limits and timers of the core: maxconn closes the excess connection at
# once; idle_timeout closes a relayed connection with no traffic; a backend
# that never accepts fails after connect_timeout; running out of descriptors
# pauses accept (logged, no spin) and the daemon serves again afterwards.
. "$(dirname "$0")/../lib.sh"

read -r PS ID BL <<<"$(free_ports 3)"
serve ident ident --port "$ID" --name ident

# A backend whose accept queue is full: listen(0), never accept, and two
# connections queued by this script itself; further SYNs are dropped, so a
# connect to it hangs until the connector gives up.
"$PYTHON" - "$BL" >"$T/blackhole.log" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(0)
held = []
for _ in range(3):
    s = socket.socket(); s.setblocking(False)
    try: s.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    held.append(s)
print("listening", flush=True)
time.sleep(60)
PY
PIDS+=($!)
wait_file "$T/blackhole.log" 5

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
maxconn = 3
idle_timeout = 1
connect_timeout = 1
[ident]
string = ID
connect = 127.0.0.1:$ID
[hole]
string = HOLE
connect = 127.0.0.1:$BL
EOF
ps_start "$T/portsplit.ini" "$PS"

# client.py MODE: one scenario, printing "key value" lines.
cat >"$T/client.py" <<'PY'
import socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s
def eof_after(s):
    """Seconds until the peer closes (EOF or reset)."""
    t = time.monotonic()
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    return time.monotonic() - t
if mode == "maxconn":
    held = [conn() for _ in range(3)]
    time.sleep(0.3)
    extra = conn()
    print("extra_closed_after %.3f" % eof_after(extra))
    held.pop().close()
    time.sleep(0.3)
    s = conn(); s.sendall(b"ID\n")
    print("after_release %s" % s.recv(100).decode().strip())
elif mode == "idle":
    s = conn(); s.sendall(b"ID\n")
    got = b""
    while len(got) < 9:  # the backend's name, then the echo of ID
        got += s.recv(100)
    print("idle_closed_after %.3f" % eof_after(s))
    # A connection with traffic every 0.4 s outlives the idle timeout.
    s = conn(); s.sendall(b"ID\n"); s.recv(100)
    alive = True
    for i in range(6):
        time.sleep(0.4)
        try:
            s.sendall(b"x")
            if not s.recv(100):
                alive = False
        except OSError:
            alive = False
    print("busy_alive_after_2.4s %s" % alive)
elif mode == "hole":
    s = conn(); s.sendall(b"HOLE")
    print("hole_closed_after %.3f" % eof_after(s))
PY

out=$(timeout 30 "$PYTHON" "$T/client.py" maxconn "$PS")
val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$out"; }
check "maxconn 3: a 4th connection is closed at once ($(val extra_closed_after)s)" \
	fbelow "$(val extra_closed_after)" 1
is "$(log_count 'maxconn 3 reached')" 1 "maxconn: logged once"
is "$(val after_release)" ident "maxconn: once one closes, a new one is served"

out=$(timeout 30 "$PYTHON" "$T/client.py" idle "$PS")
check "idle_timeout 1: an idle relay is closed after about 1 s ($(val idle_closed_after)s)" \
	frange 0.7 "$(val idle_closed_after)" 3
is "$(val busy_alive_after_2.4s)" True "idle_timeout: a relay with traffic stays open"

out=$(timeout 30 "$PYTHON" "$T/client.py" hole "$PS")
check "connect_timeout 1: a backend that never accepts fails after about 1 s ($(val hole_closed_after)s)" \
	frange 0.8 "$(val hole_closed_after)" 4
check "connect_timeout: logged as a timed-out connect" \
	grep -q 'connect failed .*service=hole .*error="Connection timed out"' "$PS_LOG"
ps_stop
is "$?" 0 "daemon exits 0 on SIGTERM"

# Out of descriptors: a daemon limited to 16 descriptors runs out while
# clients hold their connections undecided. It pauses accept (logged) rather
# than spinning, and serves again once the clients are gone.
PS_LOG=$T/emfile.log
sed '/^maxconn/d' "$T/portsplit.ini" >"$T/emfile.ini"
spawn "$PS_LOG" prlimit --nofile=16 "$PORTSPLIT" "$T/emfile.ini"
PS_PID=$SPAWNED
wait_log 'listening on' 5
cat >"$T/flood.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = []
for _ in range(30):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    except OSError:
        pass
time.sleep(1.5)
for s in held:
    s.close()
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.settimeout(5)
s.sendall(b"ID\n")
print(s.recv(100).decode().split()[0])
PY
before=$(awk '{print $14 + $15}' "/proc/$PS_PID/stat")
reply=$(timeout 20 "$PYTHON" "$T/flood.py" "$PS")
after=$(awk '{print $14 + $15}' "/proc/$PS_PID/stat")
check "EMFILE: accept pauses, logged" grep -q 'pausing accept' "$PS_LOG"
is "$reply" ident "EMFILE: served again once descriptors are free"
check "EMFILE: no spin while out of descriptors ($((after - before)) ticks of CPU in ~2 s)" \
	test $((after - before)) -lt 50
ps_stop
is "$?" 0 "daemon exits 0 on SIGTERM after running out of descriptors"
finish
