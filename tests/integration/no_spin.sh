# SPDX-License-Identifier: ISC
# The daemon never spins (SPEC §5): a peeked socket stays readable, so a
# loop that waits for "readable" instead of for new bytes burns a core while
# a client sits undecided. Measure the daemon's own CPU time while one
# client is undecided and silent, and while a relayed connection is idle.
# The bound is coarse (0.3 s of CPU over 1.5 s); a spinning loop uses ~1.5 s.
. "$(dirname "$0")/../lib.sh"

ident_conf "timeout = 5"
ps_start "$T/portsplit.ini" "$PS"

# cpu_during DESC STEP...: a client runs STEPs (ending in a 3 s sleep); the
# daemon's CPU is measured over 1.5 s in the middle of that sleep.
cpu_during() {
	local desc=$1 before after
	shift
	talk 127.0.0.1 "$PS" "$@" >/dev/null 2>"$T/talk.err" &
	local pid=$!
	PIDS+=("$pid")
	sleep 1
	before=$(ps_cpu_ms)
	sleep 1.5
	after=$(ps_cpu_ms)
	wait "$pid"
	check "$desc: daemon used $((after - before)) ms CPU in 1.5 s (< 300 ms)" \
		test $((after - before)) -lt 300
}

cpu_during "undecided silent client (SS)" send SS sleep 3 close
cpu_during "idle relayed connection" send 'SSH-2.0-x\r\n' expect 'ident\n' 3 sleep 3 close
check "portsplit still running" alive "$PS_PID"
finish
