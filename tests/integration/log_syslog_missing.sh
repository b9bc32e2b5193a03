# SPDX-License-Identifier: ISC
# The log goes to syslog (`log = syslog`, or -d without a log file) and no
# system logger listens on /dev/log: every line would be lost without a
# trace, so a warning says so on standard error before the daemon detaches,
# and -t says it too. A log file needs no logger: no warning (the
# configuration's own warnings reach the file as well as standard error). A private
# mount namespace with a fresh /dev (no /dev/log in it) stands for a
# machine without a logger; the machine's own logging is not touched.
. "$(dirname "$0")/../lib.sh"

can_unshare_mounts || skip_all "syslog without a logger" "needs root and mount namespaces (unshare -m)"
read -r PS PS2 <<<"$(free_ports 2)"
hello_conf "$PS" "log = syslog" >"$T/syslog.ini"
hello_conf "$PS" "pid = $T/two.pid" >"$T/detached.ini"
# Written out: its [hello] has a second string line, whose warning (line
# 6) is checked below.
cat >"$T/file.ini" <<EOF
bind = 127.0.0.1:$PS2
pid = $T/three.pid
log = $T/three.log
[hello]
string = HELLO
string = HI 
exec = /bin/echo
execarg = hi
EOF
cat >"$T/inner.sh" <<EOF
timeout 10 "$PORTSPLIT" -t "$T/syslog.ini" >/dev/null 2>"$T/check.stderr"
echo "check status \$?" >"$T/check.status"
timeout 10 "$PORTSPLIT" -d "$T/detached.ini" >"$T/two.stderr" 2>&1
echo "detach status \$?" >"$T/two.status"
timeout 10 "$PORTSPLIT" -d "$T/file.ini" >"$T/three.stderr" 2>&1
echo "file status \$?" >"$T/three.status"
for i in \$(seq 50); do [ -s "$T/two.pid" ] && [ -s "$T/three.pid" ] && break; sleep 0.1; done
"$PYTHON" "$NET" talk 127.0.0.1 $PS send 'HELLO\n' eof 5 >"$T/two.out" 2>&1
for p in \$(cat "$T/two.pid" "$T/three.pid"); do kill -TERM \$p; done
for i in \$(seq 100); do
	[ -e "$T/two.pid" ] || [ -e "$T/three.pid" ] || break
	sleep 0.1
done
EOF
in_private_dev "$T/inner.sh" null zero urandom

is "$(cat "$T/check.status" 2>/dev/null)" "check status 0" "-t: a missing logger is no error"
check "-t: log = syslog without a logger is a warning" \
	grep -q "warning: the log goes to syslog, and no system logger listens on /dev/log" "$T/check.stderr"
is "$(cat "$T/two.status" 2>/dev/null)" "detach status 0" "-d without a log file: it still starts"
check "-d: the warning reaches standard error before detaching" \
	grep -q "warning: the log goes to syslog, and no system logger.*with -d, 'log = stderr' means syslog" "$T/two.stderr"
is "$(cat "$T/two.out" 2>/dev/null)" "hi" "the detached daemon serves"
is "$(cat "$T/three.status" 2>/dev/null)" "file status 0" "-d with a log file: it starts"
check "... with no syslog warning" eval "! grep -q syslog '$T/three.stderr'"
check "a configuration warning reaches standard error at start" \
	grep -q "^$T/file.ini:6: warning: string is read as 'HI'" "$T/three.stderr"
check "... and the log file" grep -q "warn $T/file.ini:6: warning: string is read as 'HI'" "$T/three.log"
check "the machine's /dev/log was not touched" [ ! -e /dev/log ] || [ -S /dev/log ]
check "both daemons stopped (pid files removed)" test ! -e "$T/two.pid" -a ! -e "$T/three.pid"

[ "$FAILED" = 0 ] || cat "$T/inner.log" "$T/check.stderr" "$T/two.stderr" | diag
finish
