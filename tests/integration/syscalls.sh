# SPDX-License-Identifier: ISC
# What a connection costs, counted in system calls (issue 13), never timed.
# strace -f -c attaches to the running daemon while a client makes N short
# connections one after the other (an HTTP-like request, a short answer,
# the backend closes, then the client):
#  1. no splice() at all: a short exchange is copied, not spliced;
#  2. at most one shutdown() per connection: the second FIN goes with
#     close();
#  3. epoll_ctl at most 2 per connection (each socket registered once; the
#     backend's for edges, so its FIN pauses it without a call; none with
#     the poll loop);
#  4. at most SYSCALLS_MAX calls per connection in all, not counting the
#     loop's waits, the log's writes (the loop turns depend on timing) and
#     the memory allocator's calls.
#  5. with the epoll loop, no poll() per connection: the connect to the
#     backend is known to be over because the client's first bytes could
#     be written at once (loopback), not by asking.
# Then one bulk transfer through the same daemon: the relay splices it
# (unless PORTSPLIT_RELAY=copy, which must never splice).
. "$(dirname "$0")/../lib.sh"

N=200
SYSCALLS_MAX=17.5 # 17 counted; the rest for reads that find nothing under load
command -v strace >/dev/null || { skip "syscall counts" "strace is not installed"; finish; }

read -r PS BK SINK <<<"$(free_ports 3)"
spawn "$T/reply.log" "$PYTHON" "$TESTS_DIR/helpers/work.py" reply --port "$BK" \
	--reply 'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n'
wait_file "$T/reply.log" 5 || bail "the reply backend starts"
serve sink sink --port "$SINK" --reply-bytes 0 --report "$T/sink.report"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[bulk]
string = BULK
connect = 127.0.0.1:$SINK
[http]
regex = (?:GET|HEAD|POST) /
connect = 127.0.0.1:$BK
EOF
ps_start "$T/portsplit.ini" "$PS"
REQ='GET / HTTP/1.1\r\nHost: test\r\nUser-Agent: syscalls\r\n\r\n'
# warm up: the loop's tables and the pipe pool reach their size
timeout 60 "$PYTHON" "$TESTS_DIR/helpers/work.py" seq 127.0.0.1 "$PS" 20 "$REQ" ||
	bail "warm-up connections are answered"

# count CMD...: runs CMD while strace counts the daemon's calls into $T/count
count() {
	: >"$T/strace.err"
	strace -f -c -p "$PS_PID" -o "$T/count" 2>"$T/strace.err" &
	local st=$! rc
	for _ in $(seq 50); do
		grep -q 'attached' "$T/strace.err" && break
		sleep 0.1
	done
	sleep 0.2
	"$@"
	rc=$?
	kill -INT "$st" 2>/dev/null
	wait "$st"
	return $rc
}
# calls NAME: how many NAME calls the last count saw (0 when none)
calls() {
	awk -v n="$1" '$NF == n && $1 !~ /^-/ { print $4; f = 1 } END { if (!f) print 0 }' "$T/count"
}
# per_conn NAME: calls NAME per connection, two decimals
per_conn() { awk -v c="$(calls "$1")" -v n="$N" 'BEGIN { printf "%.2f", c / n }'; }

if ! count timeout 120 "$PYTHON" "$TESTS_DIR/helpers/work.py" seq 127.0.0.1 "$PS" "$N" "$REQ"; then
	not_ok "$N sequential connections are answered"
	finish
fi
if ! grep -q 'total' "$T/count"; then
	skip "syscall counts" "strace cannot attach here: $(head -c 200 "$T/strace.err")"
	finish
fi
diag <"$T/count"
total=$(awk '$NF == "total" { print $4 }' "$T/count")
# the allocator's own calls (a sanitizer build makes some) are not the
# connection's
waits=$(($(calls epoll_wait) + $(calls poll) + $(calls write) + $(calls mmap) + $(calls munmap) + $(calls brk) + $(calls madvise)))
per=$(awk -v t="$total" -v w="$waits" -v n="$N" 'BEGIN { printf "%.2f", (t - w) / n }')
echo "# per connection: all but waits and log writes $per, epoll_ctl $(per_conn epoll_ctl)," \
	"shutdown $(per_conn shutdown), splice $(per_conn splice), setsockopt $(per_conn setsockopt)"
if [ "${PORTSPLIT_RELAY:-}" = splice ]; then
	check "PORTSPLIT_RELAY=splice: even a short exchange is spliced" test "$(calls splice)" -gt 0
else
	is "$(calls splice)" 0 "a short request and answer are copied: no splice() in $N connections"
fi
check "at most one shutdown() per connection ($(per_conn shutdown))" fbelow "$(per_conn shutdown)" 1.01
check "at most 2 epoll_ctl per connection ($(per_conn epoll_ctl))" fbelow "$(per_conn epoll_ctl)" 2.01
check "at most $SYSCALLS_MAX system calls per connection besides waits and log writes ($per)" \
	fbelow "$per" "$SYSCALLS_MAX"
if [ "${PORTSPLIT_LOOP:-epoll}" != poll ]; then
	check "no poll() to learn that the connect is over ($(per_conn poll) per connection)" \
		fbelow "$(per_conn poll)" 0.05
fi

# Bulk: 16 MiB one way.
if count bulk 127.0.0.1 "$PS" --prefix BULK --send $((16 << 20)) >"$T/bulk.out"; then
	ok "a bulk transfer runs to the end"
else
	not_ok "a bulk transfer runs to the end"
fi
if [ "${PORTSPLIT_RELAY:-}" = copy ]; then
	is "$(calls splice)" 0 "PORTSPLIT_RELAY=copy: the bulk transfer is copied, never spliced"
else
	check "the bulk transfer is spliced ($(calls splice) splice calls)" \
		test "$(calls splice)" -gt 10
fi
finish
