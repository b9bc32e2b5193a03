# SPDX-License-Identifier: ISC
# Rank order (SPEC §3 rule 2): a lower service that matches waits while a
# higher one is undecided. [a] ABCD is ranked above [b] AB:
#   "AB", pause, "CD"  -> a (b matched first, but had to wait for a)
#   "ABX"              -> b at once (a is ruled out by the X)
#   "ABC", pause, "X"  -> b
#   "AB" then FIN      -> b at once (the FIN makes the data final)
# timeout = 5, so waiting and deciding at once cannot be confused.
. "$(dirname "$0")/../lib.sh"

read -r PS A B <<<"$(free_ports 3)"
serve a ident --port "$A" --name a
serve b ident --port "$B" --name b

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[a]
string = ABCD
connect = 127.0.0.1:$A
[b]
string = AB
connect = 127.0.0.1:$B
EOF
ps_start "$T/portsplit.ini" "$PS"

# The backends speak first, so "quiet" proves that no backend was chosen.
talk 127.0.0.1 "$PS" send AB quiet 1.5 send CD expect 'a\nABCD' 5 shutwr eof 5 \
	>"$T/1.out" 2>"$T/1.err"
is "$?" 0 "AB waits (no backend during 1.5 s), then CD goes to a"
is "$(cat "$T/1.out")" "$(printf 'a\nABCD')" "a got the stream ABCD from its first byte"

talk --first "$T/2.first" 127.0.0.1 "$PS" send ABX expect 'b\nABX' 4 shutwr eof 5 \
	>"$T/2.out" 2>"$T/2.err"
is "$?" 0 "ABX goes to b"
is "$(cat "$T/2.out")" "$(printf 'b\nABX')" "b got the stream ABX from its first byte"
first=$(cat "$T/2.first")
check "ABX decided at once, not at the 5 s timeout (first reply after ${first}s < 2s)" \
	fbelow "$first" 2

talk 127.0.0.1 "$PS" send ABC quiet 1 send X expect 'b\nABCX' 4 shutwr eof 5 \
	>"$T/3.out" 2>"$T/3.err"
is "$?" 0 "ABC waits, then X rules a out: b"
is "$(cat "$T/3.out")" "$(printf 'b\nABCX')" "b got ABCX"

talk --first "$T/4.first" 127.0.0.1 "$PS" send AB shutwr expect 'b\nAB' 4 eof 5 \
	>"$T/4.out" 2>"$T/4.err"
is "$?" 0 "AB then FIN: the data is final, b matches"
is "$(cat "$T/4.out")" "$(printf 'b\nAB')" "b got AB"
first=$(cat "$T/4.first")
check "AB+FIN decided at once, not at the timeout (${first}s < 2s)" fbelow "$first" 2

is "$(log_count 'decision .*service=a( |$)')" 1 "log: one decision for a"
is "$(log_count 'decision .*service=b( |$)')" 3 "log: three decisions for b"

[ "$FAILED" = 0 ] || cat "$T"/*.err | diag
finish
