# SPDX-License-Identifier: ISC
# Clients that vanish: a RST (SO_LINGER 0) before any byte, after a few
# undecided bytes, right after a decision and in the middle of a relay; and
# a client that connects and closes at once. The daemon survives all of it,
# serves the next client, and still exits 0 on SIGTERM.
. "$(dirname "$0")/../lib.sh"

ident_conf "timeout = 5"
cat >>"$T/portsplit.ini" <<EOF
[hello]
string = HELLO
connect = 127.0.0.1:$ID
EOF
ps_start "$T/portsplit.ini" "$PS"

# kind DESC STEP...: ten clients of one kind, then the daemon must be alive.
kind() {
	local desc=$1 bad=0
	shift
	for _ in $(seq 10); do
		talk 127.0.0.1 "$PS" "$@" >/dev/null 2>>"$T/talk.err" || bad=$((bad + 1))
	done
	is "$bad" 0 "$desc: ten clients ran their script"
	sleep 0.2
	check "$desc: portsplit still running" alive "$PS_PID"
}

kind "RST before any byte" rst
kind "connect and close at once" close
kind "RST after undecided bytes (SSH)" send SSH sleep 0.05 rst
kind "RST right after the deciding bytes" send 'HELLO\n' rst
kind "RST in the middle of a relay" send 'HELLO\n' expect 'ident\nHELLO\n' 5 \
	send 'more data\n' rst
kind "FIN after undecided bytes, then RST" send SS shutwr sleep 0.05 rst

alive "$PS_PID" || bail "portsplit survived the resets"
talk 127.0.0.1 "$PS" send 'SSH-2.0-after\r\n' expect 'ident\nSSH-2.0-after\r\n' 5 shutwr eof 5 \
	>"$T/good.out" 2>"$T/good.err"
is "$?" 0 "the next client after the resets is served"
is "$(cat "$T/good.out")" "$(printf 'ident\nSSH-2.0-after\r\n')" "it gets its exact echo"

ps_stop
is "$?" 0 "portsplit exits 0 on SIGTERM after the resets"

[ "$FAILED" = 0 ] || cat "$T"/*.err | tail -n 20 | diag
finish
