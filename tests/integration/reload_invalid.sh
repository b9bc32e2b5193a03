# SPDX-License-Identifier: ISC
# SIGHUP with a configuration that cannot be used: an invalid file (every
# error is logged as FILE:LINE) or a new listener that cannot be bound. The
# running configuration stays whole: same services, same listeners, and a
# listener the failed reload had opened is closed again.
. "$(dirname "$0")/../lib.sh"

read -r PS FREE BUSY <<<"$(free_ports 3)"

cat >"$T/good.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[hello]
string = HELLO
exec = /bin/echo
execarg = hello-v1
EOF
cp "$T/good.ini" "$T/portsplit.ini"
ps_start "$T/portsplit.ini" "$PS"
out=$(talk 127.0.0.1 "$PS" send 'HELLO\n' eof 5 2>"$T/talk.err")
is "$out" hello-v1 "served before the reloads"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = soon
[hello]
string = HELLO
exec = /bin/echo
execarg = hello-v2
connect = 127.0.0.1:1
[broken]
regex = (unclosed
EOF
kill -HUP "$PS_PID"
check "the failed reload is logged" wait_log 'reload failed \(3 errors\): the running configuration stays'
check "error: timeout, line 2" wait_log "error $T/portsplit.ini:2: timeout: 'soon'"
check "error: both actions" wait_log "error $T/portsplit.ini:7: \[hello\] has both connect"
check "error: the broken regex" wait_log "error $T/portsplit.ini:9: "
out=$(talk 127.0.0.1 "$PS" send 'HELLO\n' eof 5 2>>"$T/talk.err")
is "$out" hello-v1 "the old configuration still serves after an invalid file"
check "the daemon is alive" alive "$PS_PID"

# A new listener that cannot be bound: all or nothing.
"$PYTHON" -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); open(sys.argv[2], "w").write("ready"); time.sleep(60)' \
	"$BUSY" "$T/busy.ready" &
PIDS+=($!)
wait_file "$T/busy.ready" 5 || true
check "a helper holds port $BUSY" test -e "$T/busy.ready"
sed "s/hello-v1/hello-v3/" "$T/good.ini" >"$T/portsplit.ini"
printf 'bind = 127.0.0.1:%s\nbind = 127.0.0.1:%s\n' "$FREE" "$BUSY" | cat - "$T/portsplit.ini" >"$T/next.ini"
mv "$T/next.ini" "$T/portsplit.ini"
kill -HUP "$PS_PID"
check "the failed reload names the address" \
	wait_log "reload failed: cannot listen on 127.0.0.1:$BUSY: Address already in use; the running configuration stays"
out=$(talk 127.0.0.1 "$PS" send 'HELLO\n' eof 5 2>>"$T/talk.err")
is "$out" hello-v1 "the old configuration still serves"
talk 127.0.0.1 "$FREE" send 'HELLO\n' eof 2 >/dev/null 2>"$T/free.err"
check "the listener opened by the failed reload was closed again" grep -q 'refused' "$T/free.err"

# And a valid file afterwards is taken.
cp "$T/good.ini" "$T/portsplit.ini"
sed -i 's/hello-v1/hello-v4/' "$T/portsplit.ini"
kill -HUP "$PS_PID"
check "a valid file is then taken" wait_log 'reloaded: 1 services'
out=$(talk 127.0.0.1 "$PS" send 'HELLO\n' eof 5 2>>"$T/talk.err")
is "$out" hello-v4 "the new configuration serves"

[ "$FAILED" = 0 ] || diag <"$T/talk.err"
finish
