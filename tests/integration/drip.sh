# SPDX-License-Identifier: ISC
# A client that drips its bytes (issue 9, item 1; SPEC §3): however it
# splits them, deciding costs a small constant times the same bytes in one
# piece. Counted, not timed: the decision line says how many times the
# connection was peeked at (peeks=).
#  1. 8 KB of HTTP request, one byte per write with TCP_NODELAY (one byte
#     per segment), the Host line that decides it last: decided right
#     (http-host), in O(log n) peeks, not one per byte.
#  2. The same request in one piece: one peek.
#  3. A client that stops early and waits for an answer is not left
#     waiting for the decision timeout: 3 bytes a byte at a time, then 601
#     more a byte per millisecond, then silence, is decided well before
#     the 30 s timeout.
. "$(dirname "$0")/../lib.sh"

PEEKS_MAX=48
read -r PS BK <<<"$(free_ports 2)"
spawn "$T/reply.log" "$PYTHON" "$TESTS_DIR/helpers/work.py" reply --port "$BK" \
	--reply 'HTTP/1.0 200 OK\r\n\r\nok\n'
wait_file "$T/reply.log" 5 || bail "the reply backend starts"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 30
max_peek = 16384
signature_path = $TESTS_DIR/../signatures
[web]
signature = http-host drip.example
connect = 127.0.0.1:$BK
[other]
regex = (?s)STOP.{600}
connect = 127.0.0.1:$BK
EOF
ps_start "$T/portsplit.ini" "$PS"

# 1. dripped
out=$(timeout 120 "$PYTHON" "$TESTS_DIR/helpers/work.py" drip 127.0.0.1 "$PS" 8192 --gap 0.0002)
case "$out" in HTTP/*) ok "the dripping client gets its answer" ;; *) not_ok "the dripping client gets its answer (got '$out')" ;; esac
wait_log 'decision conn=1 ' 5
is "$(log_field 'decision conn=1 ' service)" web "8 KB dripped a byte per segment: decided by its Host line"
peeks=$(log_field 'decision conn=1 ' peeks)
echo "# peeks for 8 KB dripped: ${peeks:-none}"
check "8 KB dripped: at most $PEEKS_MAX peeks (${peeks:-none}), not one per byte" \
	test "${peeks:-99999}" -le "$PEEKS_MAX"

# 2. in one piece
out=$(timeout 60 "$PYTHON" "$TESTS_DIR/helpers/work.py" drip 127.0.0.1 "$PS" 8192 --whole)
wait_log 'decision conn=2 ' 5
is "$(log_field 'decision conn=2 ' peeks)" 1 "the same 8 KB in one piece: one peek"

# 3. a client that stops early: 3 bytes one at a time, 600 more, silence
timeout 60 "$PYTHON" - "$PS" >"$T/stop.out" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for b in b"STO":
    s.send(bytes([b]))
    time.sleep(0.05)
rest = b"P" + b"x" * 596 + b"\r\n\r\n"
for i in range(len(rest)):
    s.send(rest[i:i + 1])
    time.sleep(0.001)
t0 = time.monotonic()
got = s.recv(100)
print("answer_after_s %.1f %s" % (time.monotonic() - t0, got[:8]))
PY
wait_log 'decision conn=3 ' 10
is "$(log_field 'decision conn=3 ' service)" other "a client that stops early is decided"
ms=$(log_field 'decision conn=3 ' ms)
check "... well before the 30 s timeout (ms=${ms:-none})" fbelow "${ms:-99999}" 10000
finish
