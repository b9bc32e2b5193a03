# SPDX-License-Identifier: ISC
# log = PATH: lines are appended to the file (created 0640), nothing goes
# to standard error; SIGHUP reopens it, so a rotated file (renamed away)
# is followed by a fresh one; log_level applies, -v raises it.
. "$(dirname "$0")/../lib.sh"

read -r PS <<<"$(free_ports 1)"
LOG=$T/file.log
cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
log = $LOG
log_level = warn
[hello]
string = HELLO
exec = /bin/sh
execarg = -c
execarg = echo hi; echo complaint >&2
EOF
echo "earlier line" >"$LOG"
: >"$PS_LOG"
"$PORTSPLIT" -v "$T/portsplit.ini" </dev/null >>"$PS_LOG" 2>&1 &
PS_PID=$!
PIDS+=("$PS_PID")
for _ in $(seq 50); do grep -q 'running' "$LOG" && break; sleep 0.1; done
check "the file gets the log (-v on log_level = warn: info lines)" grep -q "info portsplit .* running" "$LOG"
check "appended: the earlier line is kept" grep -q '^earlier line$' "$LOG"
is "$(cat "$PS_LOG")" "" "nothing on standard error"

out=$(talk 127.0.0.1 "$PS" send 'HELLO\n' eof 5 2>"$T/talk.err")
is "$out" hi "served"
for _ in $(seq 50); do grep -q 'close ' "$LOG" && break; sleep 0.1; done
check "decision, stderr and close lines in the file" \
	sh -c "grep -q 'decision conn=1' '$LOG' && grep -q 'stderr conn=1 .*\"complaint\"' '$LOG' && grep -q 'close conn=1' '$LOG'"

mv "$LOG" "$LOG.1"
kill -HUP "$PS_PID"
for _ in $(seq 50); do [ -s "$LOG" ] && break; sleep 0.1; done
check "after rotation and SIGHUP a new file is written" grep -q 'reloaded' "$LOG"
talk 127.0.0.1 "$PS" send 'HELLO\n' eof 5 >/dev/null 2>>"$T/talk.err"
for _ in $(seq 50); do grep -q 'close conn=2' "$LOG" && break; sleep 0.1; done
check "new connections are logged to the new file" grep -q 'close conn=2' "$LOG"
check "... not to the rotated one" sh -c "! grep -q 'conn=2' '$LOG.1'"
is "$(stat -c %a "$LOG")" 640 "the new file is created 0640"

ps_stop
is "$?" 0 "the daemon exits 0 on SIGTERM"
PS_PID=
check "the stop is logged in the file" grep -q 'SIGTERM: stopping' "$LOG"
finish
