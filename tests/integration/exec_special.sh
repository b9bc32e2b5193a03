# SPDX-License-Identifier: ISC
# exec from [fallback] and [timeout]: a client whose bytes match nothing
# reaches a program that sees them from the first byte; a silent client
# (a server-speaks-first protocol) is greeted by `cat FILE` at the timeout.
. "$(dirname "$0")/../lib.sh"

read -r PS <<<"$(free_ports 1)"
printf 'Welcome to portsplit\r\n' >"$T/issue"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 0.5
[ssh]
string = SSH-
[fallback]
exec = /bin/sh
execarg = -c
execarg = printf 'fallback got: '; head -c 9
[timeout]
exec = cat
execarg = $T/issue
EOF
ps_start "$T/portsplit.ini" "$PS"

out=$(talk 127.0.0.1 "$PS" send 'GET / HTTP/1.0\r\n\r\n' eof 5 2>"$T/talk1.err")
is "$?" 0 "a client that matches nothing reaches [fallback]'s program"
is "$out" "fallback got: GET / HTT" "[fallback]'s program reads the client's bytes from the first one"
check "decision service=fallback" wait_log 'decision .*service=fallback '
check "fallback close line has exit=0" wait_log 'close .*service=fallback .*exit=0$'

start=$(date +%s.%N)
out=$(talk 127.0.0.1 "$PS" expect 'Welcome to portsplit\r\n' 5 eof 5 2>"$T/talk2.err")
is "$?" 0 "a silent client is greeted by [timeout]'s program (cat from PATH)"
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
check "greeting after the 0.5 s timeout, not before (${elapsed}s)" frange 0.45 "$elapsed" 3
check "decision service=timeout" wait_log 'decision .*service=timeout '
check "timeout close line has exit=0" wait_log 'close .*service=timeout .*exit=0$'

[ "$FAILED" = 0 ] || cat "$T"/talk*.err | diag
finish
