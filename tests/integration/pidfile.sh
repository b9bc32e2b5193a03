# SPDX-License-Identifier: ISC
# pid = PATH: written once the daemon listens, holding its pid; a second
# daemon with the same pid file refuses to start, saying who runs; the file
# is removed on exit; a stale file (a dead pid, a pid recycled by another
# program, garbage) does not block a start; a symbolic link is refused.
. "$(dirname "$0")/../lib.sh"

read -r PS PS2 <<<"$(free_ports 2)"
PIDF=$T/run/portsplit.pid
mkdir -p "$T/run"

config() { # config FILE PORT
	cat >"$1" <<EOF
bind = 127.0.0.1:$2
pid = $PIDF
[hello]
string = HELLO
exec = /bin/echo
execarg = hi
EOF
}
config "$T/portsplit.ini" "$PS"
config "$T/second.ini" "$PS2"

# try CONFIG: run a daemon that should not start; its status and output.
try() {
	timeout 10 "$PORTSPLIT" "$1" >"$T/try.log" 2>&1
	echo $?
}

ps_start "$T/portsplit.ini" "$PS"
check "pid file written once listening" wait_file "$PIDF"
is "$(cat "$PIDF")" "$PS_PID" "it holds the daemon's pid"
is "$(stat -c %a "$PIDF")" 644 "mode 644"

is "$(try "$T/second.ini")" 1 "a second daemon with the same pid file exits 1"
check "... saying which pid runs" \
	grep -q "pid file $PIDF: portsplit is already running as pid $PS_PID" "$T/try.log"
check "... before binding anything" sh -c "! grep -q 'listening on' '$T/try.log'"
is "$(cat "$PIDF")" "$PS_PID" "the pid file is untouched"

ps_stop
is "$?" 0 "the daemon exits 0 on SIGTERM"
check "the pid file is removed on exit" [ ! -e "$PIDF" ]

# A dead process's pid.
sh -c 'exit 0' &
dead=$!
wait "$dead"
echo "$dead" >"$PIDF"
ps_start "$T/portsplit.ini" "$PS"
check "a stale pid file (pid $dead is gone) does not block the start" alive "$PS_PID"
check "... it is logged as stale" wait_log "pid file $PIDF is stale \(no portsplit runs as pid $dead\)"
for _ in $(seq 20); do [ "$(cat "$PIDF" 2>/dev/null)" = "$PS_PID" ] && break; sleep 0.1; done
is "$(cat "$PIDF")" "$PS_PID" "... and replaced by the new pid"
ps_stop

# A live process that is not portsplit (a recycled pid).
sleep 30 &
other=$!
PIDS+=("$other")
echo "$other" >"$PIDF"
ps_start "$T/portsplit.ini" "$PS"
check "a pid file naming a live non-portsplit process does not block" alive "$PS_PID"
ps_stop
kill "$other"

printf 'garbage\n' >"$PIDF"
ps_start "$T/portsplit.ini" "$PS"
check "a pid file holding no pid does not block" alive "$PS_PID"
check "... it is logged" wait_log "pid file $PIDF holds no pid: removing it"
ps_stop

# A symbolic link is never followed (O_NOFOLLOW).
echo keep >"$T/target"
ln -s "$T/target" "$PIDF"
is "$(try "$T/portsplit.ini")" 1 "a pid file that is a symbolic link: exit 1"
check "... with the reason" grep -q "pid file $PIDF: Too many levels of symbolic links" "$T/try.log"
is "$(cat "$T/target")" keep "the link's target is untouched"
rm -f "$PIDF"

# An unwritable place for the pid file.
config "$T/bad.ini" "$PS"
sed -i "s|^pid = .*|pid = $T/no-such-dir/portsplit.pid|" "$T/bad.ini"
is "$(try "$T/bad.ini")" 1 "a pid file in a missing folder: exit 1"
check "... with the reason, naming the line" grep -q "$T/bad.ini:2: pid: folder '$T/no-such-dir' does not exist" "$T/try.log"
check "... before listening" eval "! grep -q 'listening on' '$T/try.log'"
# -t gives the same answer as the start.
timeout 10 "$PORTSPLIT" -t "$T/bad.ini" >"$T/check.log" 2>&1
is "$?" 1 "-t on a pid file in a missing folder: exit 1"
check "... with the same reason" grep -q "^$T/bad.ini:2: pid: folder '$T/no-such-dir' does not exist" "$T/check.log"

[ "$FAILED" = 0 ] || diag <"$T/try.log"
finish
