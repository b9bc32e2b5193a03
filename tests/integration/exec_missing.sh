# SPDX-License-Identifier: ISC
# A program that cannot be started (missing, not executable): the client's
# connection is closed, one clear log line says why, and the daemon goes on
# serving; a flood of such connections is logged at most once a second.
. "$(dirname "$0")/../lib.sh"

read -r PS <<<"$(free_ports 1)"
printf 'not a program\n' >"$T/noexec"
chmod 644 "$T/noexec"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[missing]
string = MISSING
exec = $T/no-such-program
[noperm]
string = NOPERM
exec = $T/noexec
[nopath]
string = NOPATH
exec = no-such-program-on-path
[ok]
string = OK
exec = /bin/echo
execarg = still serving
EOF
ps_start "$T/portsplit.ini" "$PS"

talk 127.0.0.1 "$PS" send 'MISSING\n' eof 5 >"$T/out1" 2>"$T/talk.err"
is "$?" 0 "missing program: the client's connection is closed"
is "$(cat "$T/out1")" "" "... with nothing sent to it"
check "log: exec failed, program and reason" \
	wait_log "exec failed conn=[0-9]+ service=missing pid=[0-9]+ program=$T/no-such-program error=\"No such file or directory\""
check "close line: exit=127" wait_log 'close .*service=missing .*exit=127$'

talk 127.0.0.1 "$PS" send 'NOPERM\n' eof 5 >/dev/null 2>>"$T/talk.err"
is "$?" 0 "program without execute permission: connection closed"
check "log: Permission denied" wait_log 'exec failed .*service=noperm .*error="Permission denied"'

talk 127.0.0.1 "$PS" send 'NOPATH\n' eof 5 >/dev/null 2>>"$T/talk.err"
is "$?" 0 "program not on PATH: connection closed"
check "log: not found on PATH" wait_log 'exec failed .*service=nopath .*program=no-such-program-on-path error="No such file or directory"'

out=$(talk 127.0.0.1 "$PS" send 'OK\n' eof 5 2>>"$T/talk.err")
is "$out" "still serving" "the daemon goes on serving"

# 50 failing connections as fast as they start: one exec failed line per
# second. On a loaded machine the 50 clients take longer than a second to
# start, so the bound is the seconds they took (plus the first line and one
# for a second boundary), and never more than half the failures.
pids=()
t0=$(date +%s.%N)
for i in $(seq 50); do
	talk 127.0.0.1 "$PS" send 'MISSING\n' eof 5 >/dev/null 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
for _ in $(seq 50); do
	[ "$(log_count 'close .*service=missing .*exit=127$')" -ge 51 ] && break
	sleep 0.1
done
is "$(log_count 'close .*service=missing .*exit=127$')" 51 "all 51 failures have their close line"
n=$(log_count 'exec failed .*service=missing')
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { s = int(b - a) + 1; print (s < 4 ? 4 : s) }')
bound=$((secs + 2 < 25 ? secs + 2 : 25))
check "the failure line is rate-limited ($n lines for 51 failures in ${secs}s, at most $bound)" [ "$n" -le "$bound" ]
check "the daemon is still alive" alive "$PS_PID"

[ "$FAILED" = 0 ] || diag <"$T/talk.err"
finish
