# SPDX-License-Identifier: ISC
# A port below net.ipv4.ip_unprivileged_port_start, bound by a user
# without the right: the start fails (exit 1) with a message that says the
# ways out (root, CAP_NET_BIND_SERVICE, a socket passed by systemd), and
# starts nothing. With the capability and no root, the same start works.
. "$(dirname "$0")/../lib.sh"

first=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || [ "$first" -le 1 ]; then
	skip "privileged port" "needs root, setpriv, and privileged ports (ip_unprivileged_port_start=$first)"
	exit 0
fi
# A free port below the limit: bind-test each, as root.
LOW=$("$PYTHON" - "$first" <<'EOF'
import socket, sys
for p in range(int(sys.argv[1]) - 1, 0, -1):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
EOF
)
[ -n "$LOW" ] || bail "a free port below $first"
cat >"$T/low.ini" <<EOF
bind = 127.0.0.1:$LOW
[hello]
string = HELLO
exec = /bin/echo
execarg = hi
EOF
chmod 755 "$T"
chmod 644 "$T/low.ini"

# nobody CAPS: setpriv's options to run as nobody with CAPS (or -all)
nobody() {
	echo --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps="$1" --ambient-caps="$1" --bounding-set="$1"
}

# shellcheck disable=SC2046
timeout 10 setpriv $(nobody -all) "$PORTSPLIT" "$T/low.ini" >"$T/low.out" 2>&1
is "$?" 1 "port $LOW as nobody: the start fails with exit 1"
check "... the message names the address and EACCES" \
	grep -q "cannot listen on 127.0.0.1:$LOW: Permission denied" "$T/low.out"
check "... and says how: root, CAP_NET_BIND_SERVICE, or the socket unit" \
	eval "grep 'cannot listen on' '$T/low.out' | grep -q 'root.*CAP_NET_BIND_SERVICE.*socket'"
check "... nothing was listening" eval "! grep -q 'listening on' '$T/low.out'"
[ "$FAILED" = 0 ] || diag <"$T/low.out"

# The capability alone is enough (what the message offers works).
# shellcheck disable=SC2046
setpriv $(nobody +net_bind_service) "$PORTSPLIT" "$T/low.ini" >"$T/cap.out" 2>&1 &
pid=$!
PIDS+=("$pid")
for _ in $(seq 50); do
	grep -q "listening on 127.0.0.1:$LOW" "$T/cap.out" && break
	alive "$pid" || break
	sleep 0.1
done
check "with CAP_NET_BIND_SERVICE, as nobody, it listens on $LOW" grep -q "listening on 127.0.0.1:$LOW" "$T/cap.out"
talk 127.0.0.1 "$LOW" send 'HELLO\n' expect 'hi' 5 eof 5 >/dev/null 2>&1
is "$?" 0 "... and serves"
stop "$pid"
is "$?" 0 "... and exits 0 on SIGTERM"
[ "$FAILED" = 0 ] || diag <"$T/cap.out"
finish
