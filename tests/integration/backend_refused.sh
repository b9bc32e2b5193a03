# SPDX-License-Identifier: ISC
# A backend that refuses the connection (nothing listens on its port): the
# client's connection is closed, the log says "connect failed" for that
# service, and the daemon goes on serving: the next client gets through.
. "$(dirname "$0")/../lib.sh"

# CLOSED is a free port that nobody listens on.
read -r PS GOOD CLOSED <<<"$(free_ports 3)"
serve good ident --port "$GOOD" --name good

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[dead]
regex = (?:GET|POST|HEAD) /
connect = 127.0.0.1:$CLOSED
[good]
string = HELLO
connect = 127.0.0.1:$GOOD
EOF
ps_start "$T/portsplit.ini" "$PS"

for i in 1 2 3; do
	talk 127.0.0.1 "$PS" send 'GET / HTTP/1.0\r\n\r\n' eof 5 >"$T/dead$i.out" 2>"$T/dead$i.err"
	is "$?" 0 "refused backend, try $i: the client's connection is closed"
	is "$(wc -c <"$T/dead$i.out" | tr -d ' ')" 0 "refused backend, try $i: the client got no bytes"
done
check "log: warn connect failed, service=dead, backend=127.0.0.1:$CLOSED" \
	wait_log "connect failed .*service=dead( .*)? backend=127\.0\.0\.1:$CLOSED( |$)"
# Repeated warnings may be throttled (one per service per second), but every
# try must end in its own close line, with nothing relayed.
wait_log 'close .*service=dead( .*)? up=0 down=0' 5
is "$(log_count 'close .*service=dead( .*)? up=0 down=0( |$)')" 3 \
	"log: a close line with up=0 down=0 for each of the 3 tries"

check "portsplit is still running" alive "$PS_PID"
talk 127.0.0.1 "$PS" send HELLO expect 'good\nHELLO' 5 shutwr eof 5 >"$T/good.out" 2>"$T/good.err"
is "$?" 0 "a following good connection works"
is "$(cat "$T/good.out")" "$(printf 'good\nHELLO')" "it reached the good backend with its bytes"

ps_stop
is "$?" 0 "portsplit exits 0 on SIGTERM"

[ "$FAILED" = 0 ] || cat "$T"/*.err | diag
finish
