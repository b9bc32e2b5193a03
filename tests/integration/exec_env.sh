# SPDX-License-Identifier: ISC
# exec without pty: the program's standard input and output are the client
# socket itself (blocking, with the bytes the decision was made on still
# unread), its standard error is a pipe to the log, it gets the UCSPI
# variables and exactly descriptors 0, 1 and 2; its exit status is on the
# connection's close line. Of the daemon's own environment it keeps PATH,
# HOME, LANG, LC_*, TZ and the like, and nothing of systemd's socket
# activation, notification or watchdog variables, nor anything else.
. "$(dirname "$0")/../lib.sh"

read -r PS <<<"$(free_ports 1)"

cat >"$T/prog.sh" <<EOF
#!/bin/sh
read -r first
echo "first=\$first"
for v in PROTO TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT PORTSPLIT_SERVICE; do
	eval "echo \$v=\\\$\$v"
done
echo "leaked=\$(env | grep -E '^(LISTEN_|NOTIFY_SOCKET|WATCHDOG_|PORTSPLIT_TEST_SECRET)' | cut -d= -f1 | sort | tr '\n' ' ')"
echo "LANG=\$LANG TZ=\$TZ LC_COLLATE=\$LC_COLLATE"
echo "PATH=\$PATH"
echo "fds=\$(ls /proc/self/fd | tr '\n' ' ')"
echo "fd0=\$(readlink /proc/\$\$/fd/0) fd1=\$(readlink /proc/\$\$/fd/1) fd2=\$(readlink /proc/\$\$/fd/2)"
echo "blocking=\$("$PYTHON" -c 'import os; print(os.get_blocking(0))')"
echo "sid=\$(cut -d' ' -f6 /proc/\$\$/stat) pid=\$\$"
printf 'to stderr \001 "quoted"\n' >&2
printf 'second line, no newline' >&2
echo done
exit 7
EOF
chmod +x "$T/prog.sh"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[envtest]
string = HELLO
exec = $T/prog.sh
EOF
# What systemd, a shell and the operator put in the daemon's environment.
# LISTEN_PID names another process, so a daemon that reads LISTEN_FDS
# takes nothing from it.
LISTEN_FDS=1 LISTEN_PID=1 LISTEN_FDNAMES=web NOTIFY_SOCKET=$T/notify \
	WATCHDOG_USEC=30000000 WATCHDOG_PID=1 PORTSPLIT_TEST_SECRET=hunter2 \
	LANG=C.UTF-8 TZ=UTC LC_COLLATE=C ps_start "$T/portsplit.ini" "$PS"

talk 127.0.0.1 "$PS" send 'HELLO exec-test\n' expect 'done\n' 10 eof 5 >"$T/out" 2>"$T/talk.err"
is "$?" 0 "the program answers and closes the connection"
val() { sed -n "s/^$1=//p" "$T/out" | head -n 1; }

is "$(val first)" "HELLO exec-test" "the peeked bytes are still unread: the program reads them first"
client=$(log_field 'decision .*service=envtest' client)
is "$(val PROTO)" TCP "PROTO=TCP"
is "$(val TCPREMOTEIP)" 127.0.0.1 "TCPREMOTEIP is the client's address"
is "$(val TCPREMOTEPORT)" "${client##*:}" "TCPREMOTEPORT is the client's own port (${client##*:})"
is "$(val TCPLOCALIP)" 127.0.0.1 "TCPLOCALIP is the listener's address"
is "$(val TCPLOCALPORT)" "$PS" "TCPLOCALPORT is the listener's port"
is "$(val PORTSPLIT_SERVICE)" envtest "PORTSPLIT_SERVICE names the section"
is "$(val leaked)" "" "no LISTEN_*, NOTIFY_SOCKET, WATCHDOG_* or other daemon variable reaches the program"
is "$(grep '^LANG=' "$T/out")" "LANG=C.UTF-8 TZ=UTC LC_COLLATE=C" "LANG, TZ and LC_* are passed on"
is "$(val PATH)" "$PATH" "PATH is passed on"
is "$(val fds)" "0 1 2 3 " "the program has exactly fds 0, 1, 2 (and 3: ls's own directory)"
fdline=$(grep '^fd0=' "$T/out")
check "fds 0 and 1 are one socket, fd 2 a pipe ($fdline)" \
	"$PYTHON" -c 'import re,sys; m = re.match(r"fd0=(socket:\[\d+\]) fd1=(\S+) fd2=pipe:", sys.argv[1]); sys.exit(not (m and m.group(1) == m.group(2)))' "$fdline"
is "$(val blocking)" True "the socket is in blocking mode for the program"
read -r sid pid <<<"$(grep '^sid=' "$T/out" | sed 's/sid=//; s/pid=//')"
is "$sid" "$pid" "the program leads a session of its own"

check "stderr line logged, escaped, with service and pid" \
	wait_log 'stderr conn=[0-9]+ service=envtest pid=[0-9]+ "to stderr \\x01 \\"quoted\\""'
check "a last line without newline is logged at exit" \
	wait_log 'stderr conn=[0-9]+ service=envtest pid=[0-9]+ "second line, no newline"'
check "close line has exit=7 and unknown byte counts" \
	wait_log 'close conn=[0-9]+ client=[^ ]+ service=envtest up=- down=- duration=[0-9.]+ exit=7$'
stderr_n=$(grep -n 'stderr conn=.*second line' "$PS_LOG" | cut -d: -f1)
close_n=$(grep -n 'close conn=.*service=envtest' "$PS_LOG" | cut -d: -f1)
check "every stderr line comes before the close line" [ "${stderr_n:-0}" -lt "${close_n:-0}" ]

[ "$FAILED" = 0 ] || { diag <"$T/out"; diag <"$T/talk.err"; }
finish
