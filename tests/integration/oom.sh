# SPDX-License-Identifier: ISC
# Out of memory never kills the daemon (SPEC §5): an allocation that fails
# refuses that one connection, is logged (rate-limited), and the next
# client is served. A malloc-failure injector (tests/helpers/failmalloc.c,
# built here, loaded with LD_PRELOAD) fails allocations while a flag file
# exists: first only the larger ones (the event loop's tables growing, as
# happens at 64, 128, ... connections), then every one. Then memory runs
# out during SIGHUP reloads, at one point of the load after another: the
# daemon stays, logs it, and keeps its running configuration until a
# reload with memory back loads the new one.
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

# 3. Out of memory during a reload: the flag says "skip N", so the reload's
# allocations fail from the Nth on; N walks through the load (reading the
# file, compiling regexes, signature files, building the services). Every
# one of these reloads fails and the running configuration stays.
cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 60
allow = 127.0.0.0/8 ::1
[ssh]
string = SSH-
connect = 127.0.0.1:$ID
[web]
signature = http
regex = ^(GET|POST) /[a-z]{1,20}
connect = 127.0.0.1:$ID
listen = 127.0.0.1:$PS
[new]
string = NEW
string = NEWER
exec = /bin/echo
execarg = new-config
[other]
signature = socks5
deny = 10.0.0.0/8
connect = 127.0.0.1:$ID
[fallback]
connect = 127.0.0.1:$ID
EOF
new_served() {
	talk 127.0.0.1 "$PS" send 'NEW\n' expect 'new-config\n' 5 >/dev/null 2>&1
}
reloads() { log_count 'out of memory while loading|reloaded:|reload failed'; }
oom_reloads=0 other=0 kept=0 applied=0 n=0 tries=0
# A sanitizer's runtime allocates through the injector when the load's
# thread starts, and aborts when that fails: there the walk starts past
# the thread's start.
ldd "$real" 2>/dev/null | grep -q 'libasan' && n=16
while [ "$n" -le 5000 ] && [ "$applied" = 0 ]; do
	before=$(reloads)
	printf 'skip %d\n' "$n" >"$T/fail.new"
	mv "$T/fail.new" "$T/fail"
	kill -HUP "$PS_PID"
	for _ in $(seq 100); do
		[ "$(reloads)" -gt "$before" ] && break
		alive "$PS_PID" || break
		sleep 0.05
	done
	rm -f "$T/fail"
	alive "$PS_PID" || break
	tries=$((tries + 1))
	last=$(grep -E 'out of memory while loading|reloaded:|reload failed' "$PS_LOG" | tail -n 1)
	case $last in
	*reloaded:*) applied=$n ;;
	*"out of memory while loading; the running configuration stays"*)
		oom_reloads=$((oom_reloads + 1)) ;;
	*) other=$((other + 1)) && echo "$last" >>"$T/other" ;;
	esac
	[ "$applied" = 0 ] && served && ! new_served && kept=$((kept + 1))
	n=$((n + 1 + n / 4))
done
failed=$((tries - 1))
check "the daemon is alive after $failed reloads that ran out of memory" alive "$PS_PID"
check "the loads that ran out say so ($oom_reloads 'FILE: out of memory while loading; the running configuration stays', $other other failures)" \
	test "$oom_reloads" -ge 8
[ -s "$T/other" ] && diag <"$T/other"
is "$kept" "$failed" "after each, the old configuration routes and the new one is not in force"
check "once the load's allocations fit before the failures start ($applied), the reload is applied" \
	test "$applied" -gt 0
check "and the new configuration routes" new_served
kill -HUP "$PS_PID"
for _ in $(seq 100); do
	[ "$(log_count 'reloaded: 4 services')" -ge 2 ] && break
	sleep 0.1
done
is "$(log_count 'reloaded: 4 services')" 2 "a later SIGHUP loads the file again"

# 4. Every allocation point of the loader, one at a time: -t with the Nth
# allocation failing (and every one after it), for N = 0, 1, 2, ... until
# the check passes. Each run ends with status 1 and says so, never with a
# crash (or, in a sanitizer build, a leak or a bad access).
: >"$T/t-errors"
n=0 t_oom=0 t_crash=0 t_ok=0
while [ "$n" -le 5000 ]; do
	printf 'skip %d\n' "$n" >"$T/tflag"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		FAILMALLOC_FLAG="$T/tflag" LD_PRELOAD="$T/failmalloc.so" \
		"$real" -t "$T/portsplit.ini" >/dev/null 2>"$T/t.err"
	rc=$?
	if [ "$rc" = 0 ]; then
		t_ok=1
		break
	fi
	if [ "$rc" != 1 ] || grep -qE 'Sanitizer|runtime error' "$T/t.err"; then
		t_crash=$((t_crash + 1))
		{ echo "skip $n: status $rc"; head -n 20 "$T/t.err"; } >>"$T/t-errors"
	fi
	grep -q 'out of memory while loading' "$T/t.err" && t_oom=$((t_oom + 1))
	n=$((n + 1))
done
rm -f "$T/tflag"
check "-t with allocation N failing, N = 0 to $n: it passes once N is past the load" \
	test "$t_ok" = 1
is "$t_crash" 0 "no run crashed, leaked or ended other than with status 1"
[ -s "$T/t-errors" ] && head -n 40 "$T/t-errors" | diag
check "the runs whose load ran out say 'FILE: out of memory while loading' ($t_oom of $n)" \
	test "$t_oom" -ge $((n / 2))
finish
