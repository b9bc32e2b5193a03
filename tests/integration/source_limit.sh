# SPDX-License-Identifier: ISC
# maxconn_per_source: 10 000 connections from 10 000 addresses of one IPv6
# /64 are one source. With maxconn_per_source = 50, exactly 50 are served
# and held, every other one is closed at once (and logged, rate-limited),
# another /64 and an IPv4 client are still served, and once the 50 leave
# the source is served again. Then the same with workers = 2: the count is
# shared, so the limit still holds exactly; and a worker killed while it
# holds connections gives its counts back.
#
# Runs in a network namespace the test creates (a local route makes the
# whole /64 bindable); skipped when the kernel refuses namespaces.
. "$(dirname "$0")/../lib.sh"

NS=portsplit-src-$$
if ! ip netns add "$NS" 2>"$T/ns.err"; then
	skip "maxconn_per_source in a namespace" "cannot create a network namespace: $(head -n 1 "$T/ns.err")"
	finish
fi
trap 'cleanup; ip netns del "$NS" 2>/dev/null' EXIT
ip -n "$NS" link set lo up
ip -n "$NS" -6 route add local 2001:db8:1::/64 dev lo
ip -n "$NS" -6 route add local 2001:db8:2::/64 dev lo
ip netns exec "$NS" sysctl -qw net.ipv6.ip_nonlocal_bind=1
ip netns exec "$NS" sysctl -qw net.ipv4.ip_nonlocal_bind=1
SOURCES="$TESTS_DIR/helpers/sources.py"
PS=8443 BACK=9000

# Every program of the test runs inside the namespace.
cat >"$T/in-ns" <<EOF
#!/bin/sh
exec ip netns exec $NS "\$@"
EOF
chmod +x "$T/in-ns"
printf '#!/bin/sh\nexec %s %s "$@"\n' "$T/in-ns" "$PORTSPLIT" >"$T/portsplit"
chmod +x "$T/portsplit"
REAL=$PORTSPLIT PORTSPLIT=$T/portsplit

spawn "$T/back.log" "$T/in-ns" "$PYTHON" "$NET" serve ident --host ::1 --port $BACK --name served
for _ in $(seq 100); do grep -q '^listening' "$T/back.log" && break; sleep 0.1; done
grep -q '^listening' "$T/back.log" || bail "backend listens in the namespace"

flood() { # flood PREFIX COUNT DEADLINE: one JSON line
	timeout 300 "$T/in-ns" "$PYTHON" "$SOURCES" flood ::1 $PS --prefix "$1" \
		--count "$2" --send 'HOLD\n' --expect 'served\n' --timeout 5 --deadline "$3"
}

run_case() { # run_case WORKERS
	cat >"$T/portsplit.ini" <<EOF
bind = [::1]:$PS
bind = 127.0.0.1:$PS
timeout = 5
maxconn = 1024
maxconn_per_source = 50
workers = $1
[hold]
string = HOLD
connect = [::1]:$BACK
EOF
	ps_start "$T/portsplit.ini" $PS
	# The flood holds its 50 served connections until it prints.
	out=$(flood 2001:db8:1:: 10000 240)
	is "$(json "$out" served)" 50 "workers=$1: 10 000 clients of one /64: exactly 50 served ($out)"
	is "$(json "$out" refused)" 9950 "workers=$1: the 9 950 others closed at once"
	# Meanwhile (the flood has ended, its sockets are closing): another
	# /64 and an IPv4 client count apart.
	out2=$(flood 2001:db8:2:: 60 30)
	is "$(json "$out2" served)" 50 "workers=$1: another /64 has its own 50 ($out2)"
	out3=$(timeout 60 "$T/in-ns" "$PYTHON" "$SOURCES" flood 127.0.0.1 $PS --prefix 127.0.5. \
		--count 3 --send 'HOLD\n' --expect 'served\n' --timeout 5)
	is "$(json "$out3" served)" 3 "workers=$1: IPv4 clients are served ($out3)"
	# Every counted connection was given back: the first /64 is served
	# again once its connections are gone.
	sleep 0.5
	out4=$(flood 2001:db8:1::1:0:0 60 30)
	is "$(json "$out4" served)" 50 "workers=$1: the /64 is served again after its clients left ($out4)"
	lines=$(log_count 'maxconn_per_source 50 reached')
	check "workers=$1: refusals logged, rate-limited ($lines lines for ~10 000)" \
		test "$lines" -ge 1 -a "$lines" -lt 400
	check "workers=$1: the log names the source" wait_log 'maxconn_per_source 50 reached: closing conn=[0-9]+ client=\[2001:db8:1::'
	ps_stop
	is "$?" 0 "workers=$1: the daemon exits 0 on SIGTERM"
	mv "$PS_LOG" "$T/portsplit-w$1.log"
}

run_case 1
run_case 2

# A worker dies holding some of a source's connections: the supervisor
# drops its counts, so that source may open that many again, and no more.
printf '%s\n' "bind = [::1]:$PS" "timeout = 5" "maxconn_per_source = 50" \
	"workers = 2" "[hold]" "string = HOLD" "connect = [::1]:$BACK" >"$T/portsplit.ini"
ps_start "$T/portsplit.ini" $PS
timeout 200 "$T/in-ns" "$PYTHON" "$SOURCES" flood ::1 $PS --prefix 2001:db8:1:: \
	--count 200 --send 'HOLD\n' --expect 'served\n' --timeout 5 --deadline 60 \
	--hold-until "$T/release" >"$T/held.json" &
HELD=$!
wait_file "$T/held.json" 60
is "$(json "$(cat "$T/held.json")" served)" 50 "workers=2: 50 held from one /64"
victim=$(pgrep -P "$PS_PID" | head -n 1)
kill -KILL "$victim"
check "the supervisor notices the dead worker" wait_log "worker [0-9]+ pid $victim ended" 5
sleep 0.5
out=$(flood 2001:db8:1::2:0:0 60 30)
got=$(json "$out" served)
check "the dead worker's share of the 50 may connect again ($got)" \
	test "${got:-0}" -ge 1 -a "${got:-0}" -le 50
touch "$T/release"
wait "$HELD"
sleep 0.5
out=$(flood 2001:db8:1::3:0:0 60 30)
is "$(json "$out" served)" 50 "once all have left, exactly 50 again: nothing leaked, nothing counted twice"
finish
