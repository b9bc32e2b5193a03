# SPDX-License-Identifier: ISC
# Fallback (SPEC §3 rule 3): when every signature is ruled out, the client
# goes to [fallback] at once, well before the timeout (5 s here), and the
# fallback backend gets the client's bytes from the first one.
. "$(dirname "$0")/../lib.sh"

read -r PS SSH FB TO <<<"$(free_ports 4)"
serve ssh ident --port "$SSH" --name ssh
serve fallback ident --port "$FB" --name fallback
serve timeout ident --port "$TO" --name timeout

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[ssh]
string = SSH-
connect = 127.0.0.1:$SSH
[http]
regex = (?:GET|POST|HEAD) /
[fallback]
connect = 127.0.0.1:$FB
[timeout]
connect = 127.0.0.1:$TO
EOF
ps_start "$T/portsplit.ini" "$PS"

# Garbage in the first packet (a NUL byte included: lengths, not C strings).
talk --first "$T/1.first" 127.0.0.1 "$PS" send '\x00garbage\xff\r\n' \
	expect 'fallback\n\x00garbage\xff\r\n' 4 shutwr eof 5 >"$T/1.out" 2>"$T/1.err"
is "$?" 0 "garbage goes to the fallback backend, bytes unchanged"
first=$(cat "$T/1.first")
check "fallback decided at once (first reply after ${first}s < 2s, timeout is 5s)" \
	fbelow "$first" 2

# Undecided first ("SS" could still become "SSH-"), then ruled out by "X".
talk 127.0.0.1 "$PS" send SS quiet 1 send 'X\n' expect 'fallback\nSSX\n' 3 \
	shutwr eof 5 >"$T/2.out" 2>"$T/2.err"
is "$?" 0 "SS waits, then SSX is ruled out everywhere: fallback"
is "$(cat "$T/2.out")" "$(printf 'fallback\nSSX\n')" "fallback backend got SSX from its first byte"

check "log: decision lines name service=fallback" \
	test "$(log_count 'decision .*service=fallback( |$)')" = 2

[ "$FAILED" = 0 ] || cat "$T"/*.err | diag
finish
