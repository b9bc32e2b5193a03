# SPDX-License-Identifier: ISC
# log = syslog, and -d without a log file: lines go to syslog with the
# daemon facility and the ident "portsplit[PID]". A private mount namespace
# puts a test syslog socket at /dev/log, so nothing of the machine's own
# logging is touched.
. "$(dirname "$0")/../lib.sh"

can_unshare_mounts || skip_all "syslog" "needs root and mount namespaces (unshare -m)"
read -r PS PS2 <<<"$(free_ports 2)"
hello_conf "$PS" "log = syslog" "pid = $T/one.pid" >"$T/syslog.ini"
hello_conf "$PS2" "pid = $T/two.pid" >"$T/detached.ini"
cat >"$T/syslogd.py" <<'EOF'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1] + ".ready", "w").write("ready")
s.settimeout(0.5)
end = time.monotonic() + 20
with open(sys.argv[1], "ab", buffering=0) as out:
    while time.monotonic() < end and not os.path.exists(sys.argv[1] + ".stop"):
        try:
            out.write(s.recv(65536).rstrip(b"\n") + b"\n")
        except socket.timeout:
            pass
EOF
# Everything below runs in the namespace, bounded by timeouts; /dev is a
# fresh tmpfs there, with the machine's null device and ptys bound in.
cat >"$T/inner.sh" <<EOF
timeout 25 "$PYTHON" "$T/syslogd.py" "$T/syslog.txt" &
for i in \$(seq 50); do [ -s "$T/syslog.txt.ready" ] && break; sleep 0.1; done
# Not under timeout(1): when signalled it also sends SIGCONT, which can
# cancel the SIGSTOP of LeakSanitizer's exit scan in an ASan build and hang
# it. The daemon is stopped by pid below, with a bound.
"$PORTSPLIT" "$T/syslog.ini" >"$T/one.stderr" 2>&1 &
one=\$!
timeout 10 "$PORTSPLIT" -d "$T/detached.ini" >"$T/two.stderr" 2>&1
echo "detach status \$?" >"$T/two.status"
for i in \$(seq 50); do [ -s "$T/one.pid" ] && [ -s "$T/two.pid" ] && break; sleep 0.1; done
"$PYTHON" "$NET" talk 127.0.0.1 $PS send 'HELLO\n' eof 5 >"$T/one.out" 2>&1
"$PYTHON" "$NET" talk 127.0.0.1 $PS2 send 'HELLO\n' eof 5 >"$T/two.out" 2>&1
sleep 0.3
cat "$T/one.pid" "$T/two.pid" >"$T/pids"
kill -TERM \$one \$(cat "$T/two.pid")
for i in \$(seq 100); do kill -0 \$one 2>/dev/null || break; sleep 0.1; done
kill -KILL \$one 2>/dev/null
wait \$one
echo "foreground status \$?" >"$T/one.status"
sleep 0.3
touch "$T/syslog.txt.stop"
wait
EOF
in_private_dev "$T/inner.sh" null zero urandom ptmx pts
read -r one two < <(tr '\n' ' ' <"$T/pids" 2>/dev/null)
is "$(cat "$T/one.status" 2>/dev/null)" "foreground status 0" "log = syslog: the daemon ran and exited 0"
is "$(cat "$T/two.status" 2>/dev/null)" "detach status 0" "-d without a log file: detached"
is "$(cat "$T/one.out" "$T/two.out" 2>/dev/null | tr '\n' ' ')" "hi hi " "both served"
is "$(cat "$T/one.stderr" "$T/two.stderr")" "" "nothing on standard error"
# <30> is facility daemon (3) * 8 + severity info (6).
check "log = syslog: daemon facility, ident portsplit[$one], the decision" \
	grep -q "^<30>.*portsplit\[$one\]: decision conn=1 .*service=hello" "$T/syslog.txt"
check "log = syslog: the close line" grep -q "^<30>.*portsplit\[$one\]: close conn=1 " "$T/syslog.txt"
check "-d: the detached daemon logs to syslog" \
	grep -q "^<30>.*portsplit\[$two\]: decision conn=1 .*service=hello" "$T/syslog.txt"
check "no time stamp or level in syslog lines (syslog has its own)" \
	sh -c "! grep -q 'portsplit\[[0-9]*\]: 20[0-9-]*T' '$T/syslog.txt'"
check "the machine's /dev/log was not touched" [ ! -e /dev/log ] || [ -S /dev/log ]

[ "$FAILED" = 0 ] || cat "$T/inner.log" "$T/syslog.txt" | diag
finish
