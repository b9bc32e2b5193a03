# SPDX-License-Identifier: ISC
# A reset after a half-close reaches the other side (issue 9, item 7). Once
# a side has sent its FIN, the relay no longer reads it; its watch is
# paused, but an error on it must still be seen and passed on:
#  1. The client sends, shuts its sending side, then resets: the backend
#     (which got the FIN and waits) sees the reset, and the close line is
#     written at once (there is no idle timeout to end it otherwise).
#  2. The backend answers, shuts its sending side, then resets: the client
#     (which got the FIN and waits) sees the reset.
. "$(dirname "$0")/../lib.sh"

read -r PS BK <<<"$(free_ports 2)"

cat >"$T/hc.py" <<'PY'
import os, select, socket, struct, sys, threading, time

def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def after_eof(s, secs):
    """Reads to EOF, then waits up to SECS for a reset (POLLERR/POLLHUP
    with our sending side still open means the peer reset)."""
    s.settimeout(10)
    while s.recv(65536):
        pass
    p = select.poll()
    p.register(s, select.POLLERR | select.POLLHUP)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if p.poll(100):
            return "reset"
    return "none"

def backend(s):
    head = s.recv(4)
    if head == b"HCC\n":
        res = after_eof(s, 5)
        with open(os.environ["HC_REPORT"], "a") as f:
            f.write("backend_saw %s\n" % res)
        s.close()
    else:
        s.sendall(b"answer\n")
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        reset(s)

if sys.argv[1] == "serve":
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", int(sys.argv[2])))
    l.listen(16)
    print("listening", flush=True)
    while True:
        c, _ = l.accept()
        threading.Thread(target=backend, args=(c,), daemon=True).start()

port = int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
if sys.argv[1] == "client-resets":
    s.sendall(b"HCC\nhello")
    s.shutdown(socket.SHUT_WR)
    time.sleep(0.5)
    reset(s)
else:
    s.sendall(b"HCB\n")
    print("client_saw", after_eof(s, 5))
PY

export HC_REPORT=$T/hc.report
spawn "$T/backend.log" "$PYTHON" "$T/hc.py" serve "$BK"
wait_file "$T/backend.log" 5 || bail "the test's backend starts"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[hc]
regex = HC[BC]
connect = 127.0.0.1:$BK
EOF
ps_start "$T/portsplit.ini" "$PS"

# 1. client: data, FIN, then a reset
timeout 30 "$PYTHON" "$T/hc.py" client-resets "$PS"
wait_file "$HC_REPORT" 10
is "$(cat "$HC_REPORT")" "backend_saw reset" \
	"client resets after its FIN: the backend sees the reset"
check "the connection is closed and logged at once" wait_log 'close .*service=hc' 3

# 2. backend: answer, FIN, then a reset
out=$(timeout 30 "$PYTHON" "$T/hc.py" client-waits "$PS")
is "$out" "client_saw reset" "backend resets after its FIN: the client sees the reset"
for _ in $(seq 30); do
	[ "$(log_count 'close .*service=hc')" -ge 2 ] && break
	sleep 0.1
done
is "$(log_count 'close .*service=hc')" 2 "both connections are closed and logged"
finish
