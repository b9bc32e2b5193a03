# SPDX-License-Identifier: ISC
# Out of memory never kills the daemon (SPEC §5): an allocation that fails
# refuses that one connection, is logged (rate-limited), and the next
# client is served. A malloc-failure injector (tests/helpers/failmalloc.c,
# built here, loaded with LD_PRELOAD) fails allocations while a flag file
# exists: first only the larger ones (the event loop's tables growing, as
# happens at 64, 128, ... connections), then every one.
. "$(dirname "$0")/../lib.sh"

read -r PS ID <<<"$(free_ports 2)"
serve ident ident --port "$ID" --name ident
HOSTILE="$TESTS_DIR/helpers/hostile.py"

cc -shared -fPIC -O1 -o "$T/failmalloc.so" "$TESTS_DIR/helpers/failmalloc.c" -ldl ||
	bail "the injector builds"
# A sanitizer build has its runtime first; the injector then passes its
# allocations on to the sanitizer's.
real=$PORTSPLIT
printf '#!/bin/sh\nexport ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"\nexport FAILMALLOC_FLAG="%s"\nexport LD_PRELOAD="%s"\nexec "%s" "$@"\n' \
	"$T/fail" "$T/failmalloc.so" "$real" >"$T/injected"
chmod +x "$T/injected"
PORTSPLIT=$T/injected

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 60
[ssh]
string = SSH-
connect = 127.0.0.1:$ID
EOF
ps_start "$T/portsplit.ini" "$PS"
PORTSPLIT=$real
served() {
	talk 127.0.0.1 "$PS" send 'SSH-2.0-x\r\n' expect 'ident\n' 10 close >/dev/null 2>&1
}
check "a client is served before any failure" served
failures() { [ -f "$T/fail.count" ] && wc -c <"$T/fail.count" || echo 0; }

# 1. Allocations of 512 bytes and more fail while 300 silent clients
# arrive: the loop's tables cannot grow past what they hold.
head -c 512 /dev/zero >"$T/fail"
"$PYTHON" "$HOSTILE" hold 127.0.0.1 "$PS" --count 300 --ready "$T/ready1" \
	--until "$T/stop1" --max 60 >"$T/hold1.json" &
hold=$!
PIDS+=("$hold")
wait_file "$T/ready1" 60
sleep 0.5
check "allocations failed ($(failures))" [ "$(failures)" -gt 0 ]
check "the daemon is alive" alive "$PS_PID"
rm -f "$T/fail"
check "with memory back, the next client is served" served
touch "$T/stop1"
wait "$hold"
oom_lines=$(log_count 'out of memory')
check "refusals are logged ($oom_lines lines)" [ "$oom_lines" -gt 0 ]
check "and rate-limited: at most a few lines ($oom_lines <= 20)" [ "$oom_lines" -le 20 ]

# 2. Every allocation fails while a connected client's bytes arrive (its
# decision, its backend connection) and while new clients arrive.
talk 127.0.0.1 "$PS" sleep 1 send 'SSH-2.0-x\r\n' sleep 1 close >/dev/null 2>&1 &
client=$!
PIDS+=("$client")
sleep 0.5
: >"$T/fail"
"$PYTHON" "$HOSTILE" hold 127.0.0.1 "$PS" --count 20 --send 'SSH-2.0-y\r\n' \
	--ready "$T/ready2" --until "$T/stop2" --max 5 >"$T/hold2.json" &
hold=$!
PIDS+=("$hold")
wait_file "$T/ready2" 30
wait "$client"
sleep 0.5
check "the daemon is alive after every allocation failed" alive "$PS_PID"
rm -f "$T/fail"
touch "$T/stop2"
wait "$hold"
check "and serves the next client" served
finish
