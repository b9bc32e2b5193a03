# SPDX-License-Identifier: ISC
# The relay paths (SPEC §4; issue 5): the default run splices through pipes,
# the PORTSPLIT_RELAY=copy run copies; both must behave the same.
#  1. Backpressure: a backend that stops reading for a while stops the
#     client too (bounded buffering); a spliced direction holds its bytes in
#     a pipe meanwhile, the copy path in no pipe. Afterwards every byte
#     arrives, in order, and the close line counts them.
#  2. Idle connections hold no pipe: 40 connections that moved data both
#     ways and now wait leave at most a few spare pipes in the daemon.
#  3. A reset is passed on as a reset, from either side.
#  4. Out of descriptors for a pipe: the connection falls back to copying
#     and still carries its bytes whole.
. "$(dirname "$0")/../lib.sh"

MODE=${PORTSPLIT_RELAY:-splice}
read -r PS STALL ID RST <<<"$(free_ports 4)"

# The backends and clients of this test, in one helper:
#   relay.py serve STALL_PORT ID_PORT RST_PORT   backends, until killed
#   relay.py stall|idle|rst-client|rst-backend|fallback PS_PORT ...   a client
cat >"$T/relay.py" <<'PY'
import hashlib, os, socket, struct, sys, threading, time

def listen(port):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port))
    l.listen(128)
    return l

def loop(l, handle):
    while True:
        s, _ = l.accept()
        threading.Thread(target=handle, args=(s,), daemon=True).start()

def stall(s):
    # Reads nothing for 2 s, then everything; answers "SHA LEN\n".
    time.sleep(2)
    h, n = hashlib.sha256(), 0
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        h.update(b); n += len(b)
    s.sendall(("%s %d\n" % (h.hexdigest(), n)).encode())
    s.close()

def echo(s):
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            s.sendall(b)
    except OSError:
        pass
    s.close()

def rst(s):
    # "reset": resets after the first bytes; anything else: reports how
    # the client's side ended (eof or reset) on the same connection.
    b = s.recv(100)
    if b.startswith(b"RSTB"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        return
    try:
        while s.recv(1 << 16):
            pass
        end = "eof"
    except ConnectionResetError:
        end = "reset"
    with open(os.environ["RST_REPORT"], "a") as f:
        f.write(end + "\n")
    s.close()

if sys.argv[1] == "serve":
    for port, h in zip(sys.argv[2:5], (stall, echo, rst)):
        threading.Thread(target=loop, args=(listen(int(port)), h), daemon=True).start()
    print("listening", flush=True)
    while True:
        time.sleep(60)

mode, port = sys.argv[1], int(sys.argv[2])
pid = sys.argv[3] if len(sys.argv) > 3 else None

def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=20)

def pipes():
    """Pipes the daemon holds (distinct pipe inodes among its fds)."""
    d = "/proc/%s/fd" % pid
    seen = set()
    for fd in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if t.startswith("pipe:"):
            seen.add(t)
    return len(seen)

if mode == "stall":
    total = 48 << 20
    base = pipes()
    s = conn()
    s.sendall(b"STALL\n")
    sent = [0]
    h = hashlib.sha256(b"STALL\n")
    block = os.urandom(1 << 16)
    def writer():
        for _ in range(total // len(block)):
            s.sendall(block)
            h.update(block)
            sent[0] += len(block)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    time.sleep(1.2)
    print("sent_while_stalled", sent[0])
    print("extra_pipes_while_stalled", pipes() - base)
    t.join(30)
    line = s.makefile().readline().split()
    print("backend_sha_ok", line[0] == h.hexdigest() if line else False)
    print("backend_len", line[1] if line else -1)
elif mode == "idle":
    base = pipes()
    held = []
    for i in range(40):
        s = conn()
        data = b"ECHO" + os.urandom(100000)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            b = s.recv(1 << 16)
            if not b:
                break
            got += b
        if got != data:
            print("echo_bad", i)
        held.append(s)
    time.sleep(0.3)
    print("extra_pipes_idle", pipes() - base)
    for s in held:
        s.close()
elif mode == "rst-client":
    s = conn()
    s.sendall(b"RSTC" + os.urandom(200000))
    time.sleep(0.5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
elif mode == "rst-backend":
    s = conn()
    s.sendall(b"RSTB\n")
    try:
        while s.recv(1 << 16):
            pass
        print("client_end eof")
    except ConnectionResetError:
        print("client_end reset")
elif mode == "fallback":
    base = pipes()
    s = conn()
    data = b"ECHO" + os.urandom(4 << 20)
    got = []
    def reader():
        n = 0
        while n < len(data):
            b = s.recv(1 << 16)
            if not b:
                break
            got.append(b); n += len(b)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    s.sendall(data)
    t.join(20)
    print("fallback_echo_ok", b"".join(got) == data)
    print("fallback_extra_pipes", pipes() - base)
    s.close()
PY

export RST_REPORT=$T/rst.report
spawn "$T/backends.log" "$PYTHON" "$T/relay.py" serve "$STALL" "$ID" "$RST"
wait_file "$T/backends.log" 5 || bail "the test's backends start"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[stall]
string = STALL
connect = 127.0.0.1:$STALL
[echo]
string = ECHO
connect = 127.0.0.1:$ID
[rst]
regex = RST[BC]
connect = 127.0.0.1:$RST
EOF
ps_start "$T/portsplit.ini" "$PS"

py() { timeout 60 "$PYTHON" "$T/relay.py" "$@"; }
val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$out"; }

# 1. Backpressure.
out=$(py stall "$PS" "$PS_PID")
sent=$(val sent_while_stalled)
check "$MODE: a stalled backend stops the client ($((sent >> 20)) of 48 MiB sent in 1.2 s)" \
	test "${sent:-99999999999}" -lt $((40 << 20))
if [ "$MODE" = copy ]; then
	is "$(val extra_pipes_while_stalled)" 0 "copy: the waiting bytes are in no pipe"
else
	check "splice: the waiting bytes are in a pipe ($(val extra_pipes_while_stalled) taken)" \
		test "$(val extra_pipes_while_stalled)" -ge 1
fi
is "$(val backend_sha_ok)" True "$MODE: after the stall the backend got every byte, in order"
is "$(val backend_len)" $(((48 << 20) + 6)) "$MODE: the backend got 48 MiB + 6"
wait_log 'close .*service=stall( |$)' 5
is "$(log_field 'close .*service=stall( |$)' up)" $(((48 << 20) + 6)) "$MODE: the close line counts them"

# 2. Idle connections hold no pipe.
out=$(py idle "$PS" "$PS_PID")
is "$(val echo_bad)" "" "$MODE: 40 connections echoed 100 kB each, byte-exact"
check "$MODE: 40 idle relayed connections hold no pipe ($(val extra_pipes_idle) spare in the daemon)" \
	test "$(val extra_pipes_idle)" -le 4

# 3. Resets travel.
: >"$RST_REPORT"
py rst-client "$PS"
wait_file "$RST_REPORT" 5
is "$(cat "$RST_REPORT")" reset "$MODE: a client's reset reaches the backend as a reset"
out=$(py rst-backend "$PS")
is "$(val client_end)" reset "$MODE: a backend's reset reaches the client as a reset"
ps_stop
is "$?" 0 "daemon exits 0 on SIGTERM"

# 4. No descriptors left for a pipe: room for the client and the backend
# sockets only. The relay copies instead, and the bytes still arrive.
PS_LOG=$T/fallback.log
ps_start "$T/portsplit.ini" "$PS"
# The limit leaves exactly two free numbers below it (descriptors are
# taken lowest first, and the daemon may have inherited high ones).
limit=0 free=0
while [ "$free" -lt 2 ]; do
	[ -e "/proc/$PS_PID/fd/$limit" ] || free=$((free + 1))
	limit=$((limit + 1))
done
prlimit --pid "$PS_PID" --nofile=$limit:$limit ||
	bail "prlimit sets the daemon's descriptor limit"
out=$(py fallback "$PS" "$PS_PID")
is "$(val fallback_echo_ok)" True "$MODE: without descriptors for a pipe, 4 MiB still echo byte-exact"
is "$(val fallback_extra_pipes)" 0 "$MODE: and no pipe was made"
finish
