# SPDX-License-Identifier: ISC
# portsplit under systemd: the units pass `systemd-analyze verify`; started
# by systemd-socket-activate (the protocol of a .socket unit), portsplit
# serves clients on the socket it was passed for its `bind =` line instead
# of binding one (it could not: the address is taken), and binds the other
# `bind =` line itself; with NOTIFY_SOCKET it sends READY=1 with a STATUS
# line once serving, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around
# a SIGHUP reload, and STOPPING=1 on SIGTERM, to a datagram socket of the
# test's own; a program started by `exec` sees none of LISTEN_FDS,
# LISTEN_PID or NOTIFY_SOCKET.
. "$(dirname "$0")/../lib.sh"

top=$(cd "$TESTS_DIR/.." && pwd)
[ -x "$PORTSPLIT" ] || bail "portsplit binary exists at $PORTSPLIT"

# --- the units, with this build's program and a configuration of ours
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify" "systemd-analyze is not installed (package systemd)"
else
	mkdir -p "$T/units"
	cp "$top/dist/portsplit.ini" "$T/portsplit.ini"
	sed -e "s|^ExecStart=/usr/local/bin/portsplit /etc/portsplit/portsplit.ini|ExecStart=$PORTSPLIT $T/portsplit.ini|" \
		"$top/dist/portsplit.service" >"$T/units/portsplit.service"
	cp "$top/dist/portsplit.socket" "$T/units/portsplit.socket"
	check "the service's ExecStart was rewritten for the test" \
		grep -qx "ExecStart=$PORTSPLIT $T/portsplit.ini" "$T/units/portsplit.service"
	(cd "$T/units" && timeout 60 systemd-analyze verify --man=no \
		"$T/units/portsplit.service" "$T/units/portsplit.socket") >"$T/verify.out" 2>&1
	rc=$?
	if [ "$rc" != 0 ] && grep -qiE 'failed to (initialize|connect|create)|not booted|No such file or directory.*(bus|systemd)' "$T/verify.out"; then
		skip "systemd-analyze verify" "it cannot run here: $(head -n 1 "$T/verify.out")"
	else
		is "$rc" 0 "systemd-analyze verify portsplit.service portsplit.socket exits 0"
		is "$(cat "$T/verify.out")" "" "systemd-analyze verify says nothing about the units"
	fi
fi

if ! command -v systemd-socket-activate >/dev/null; then
	skip "socket activation" "systemd-socket-activate is not installed (package systemd)"
	finish
fi

# --- a notify listener of our own: one line per datagram, newlines as ' | '
cat >"$T/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "a") as out:
    print("listening", file=out, flush=True)
    while True:
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        print(data.decode(errors="replace").replace("\n", " | "), file=out, flush=True)
PY
spawn "$T/notify-py.log" "$PYTHON" "$T/notify.py" "$T/notify.sock" "$T/notify.log"
wait_file "$T/notify.log" 10 || bail "notify listener starts"
# wait_notify REGEX: a datagram matching REGEX arrived (10 s at most)
wait_notify() {
	for _ in $(seq 100); do
		grep -Eq -- "$1" "$T/notify.log" && return 0
		sleep 0.1
	done
	return 1
}

read -r P Q B < <(free_ports 3)
serve backend ident --port "$B" --name backend
cat >"$T/act.ini" <<EOF
bind = 127.0.0.1:$P
bind = 127.0.0.1:$Q
timeout = 2

[env]
string = ENV
exec = /bin/sh
execarg = -c
execarg = echo "fds=\${LISTEN_FDS-unset} pid=\${LISTEN_PID-unset} names=\${LISTEN_FDNAMES-unset} notify=\${NOTIFY_SOCKET-unset}"

[fallback]
connect = 127.0.0.1:$B
EOF

: >"$PS_LOG"
spawn "$PS_LOG" systemd-socket-activate -l "127.0.0.1:$P" \
	-E "NOTIFY_SOCKET=$T/notify.sock" "$PORTSPLIT" "$T/act.ini"
PS_PID=$SPAWNED
# systemd-socket-activate starts the program at the first connection, as a
# .socket unit does: this client waits in the passed socket's backlog.
reply=$(talk 127.0.0.1 "$P" send hello shutwr eof 10)
is "$(head -n 1 <<<"$reply")" backend "the first client, which started portsplit, is served through the passed socket"
wait_log "listening on 127\.0\.0\.1:$Q" 10
check "the passed socket is taken for its bind line (logged)" \
	grep -Eq "127\.0\.0\.1:$P.*(systemd|passed)" "$PS_LOG"
check "the other bind line is bound by portsplit itself" \
	grep -Eq "listening on 127\.0\.0\.1:$Q" "$PS_LOG"
reply=$(talk 127.0.0.1 "$Q" send hello shutwr eof 10)
is "$(head -n 1 <<<"$reply")" backend "a client on the self-bound address is served"
env_line=$(talk 127.0.0.1 "$P" send ENV shutwr eof 10 | tr -d '\r' | head -n 1)
is "$env_line" "fds=unset pid=unset names=unset notify=unset" \
	"a program started by exec inherits none of LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, NOTIFY_SOCKET"

check "READY=1 once serving" wait_notify '^READY=1'
check "a STATUS= line with it" grep -Eq '^READY=1.*STATUS=.+' "$T/notify.log"
kill -HUP "$PS_PID"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" wait_notify '^RELOADING=1 \| MONOTONIC_USEC=[0-9]+'
check "then READY=1 again" eval '[ "$(grep -c "^READY=1" "$T/notify.log")" -ge 2 ] || { sleep 2; [ "$(grep -c "^READY=1" "$T/notify.log")" -ge 2 ]; }'
reply=$(talk 127.0.0.1 "$P" send hello shutwr eof 10)
is "$(head -n 1 <<<"$reply")" backend "after the reload, the passed socket still serves"
ps_stop
is "$?" 0 "SIGTERM: exit 0"
check "SIGTERM: STOPPING=1" wait_notify '^STOPPING=1'
[ "$FAILED" = 0 ] || diag <"$T/notify.log"

# --- with workers: they share the passed socket; a reload that drops its
# bind line and one that brings it back take the same socket again; a
# passed socket that no bind line names is reported and left alone.
read -r P2 R < <(free_ports 2)
w_conf() { # w_conf BIND...: workers = 2 and a fallback to the backend
	{
		for b in "$@"; do echo "bind = $b"; done
		printf 'workers = 2\ntimeout = 2\n[fallback]\nconnect = 127.0.0.1:%s\n' "$B"
	} >"$T/w.ini"
}
w_conf "127.0.0.1:$P2" "127.0.0.1:$Q"
: >"$T/notify.log"
PS_LOG=$T/portsplit-w.log
spawn "$PS_LOG" systemd-socket-activate -l "127.0.0.1:$P2" -l "127.0.0.1:$R" \
	-E "NOTIFY_SOCKET=$T/notify.sock" "$PORTSPLIT" "$T/w.ini"
PS_PID=$SPAWNED
served=0
for _ in 1 2 3 4 5 6; do
	[ "$(talk 127.0.0.1 "$P2" send hello shutwr eof 10 | head -n 1)" = backend ] && served=$((served + 1))
done
is "$served" 6 "workers = 2: 6 clients served through the passed socket"
wait_log "worker 2 of 2 running" 10
check "the connections were decided in worker processes" \
	test "$(grep -E 'decision ' "$PS_LOG" | grep -oE '^[^ ]+ [a-z]+ \[[0-9]+\]' | sort -u | wc -l)" -ge 1
check "the socket passed for 127.0.0.1:$R, which no bind line names, is reported" \
	grep -Eq "passed a socket for 127\.0\.0\.1:$R, which no bind line names" "$PS_LOG"
check "READY=1 from the master, once" eval '[ "$(grep -c "^READY=1" "$T/notify.log")" = 1 ]'
w_conf "127.0.0.1:$Q"
kill -HUP "$PS_PID"
wait_log "no longer listening on 127\.0\.0\.1:$P2" 10
check "reload without its bind line: the passed socket is no longer served" \
	grep -q "no longer listening on 127.0.0.1:$P2" "$PS_LOG"
w_conf "127.0.0.1:$P2" "127.0.0.1:$Q"
kill -HUP "$PS_PID"
wait_log "listening on 127\.0\.0\.1:$P2 \(passed by systemd\)" 10
check "reload with it again: the same passed socket is taken" \
	test "$(grep -c "listening on 127.0.0.1:$P2 (passed by systemd)" "$PS_LOG")" -ge 2
is "$(talk 127.0.0.1 "$P2" send hello shutwr eof 10 | head -n 1)" backend "and serves again"
check "RELOADING=1 twice, READY=1 after each" eval '[ "$(grep -c "^RELOADING=1" "$T/notify.log")" = 2 ] && [ "$(grep -c "^READY=1" "$T/notify.log")" -ge 2 ]'
ps_stop
is "$?" 0 "workers: SIGTERM, exit 0"
check "workers: STOPPING=1 (from the master only)" \
	eval 'wait_notify "^STOPPING=1" && [ "$(grep -c "^STOPPING=1" "$T/notify.log")" = 1 ]'
[ "$FAILED" = 0 ] || diag <"$T/notify.log"
finish
