# SPDX-License-Identifier: ISC
# allow / deny. Global: a refused client is closed at accept, before it
# sends a byte (well before the timeout), and logged; IPv4 and IPv6
# networks (IPv4-mapped clients are covered by tests/unit/test_acl). Per
# service: the service is ruled out for that client, so the next one
# decides at once, and the fallback too, without waiting for the timer.
. "$(dirname "$0")/../lib.sh"

read -r PS PS6 PSD SEC OPEN FB <<<"$(free_ports 6)"
serve sec ident --port "$SEC" --name secret
serve open ident --port "$OPEN" --name open
serve fb ident --port "$FB" --name fallback

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
bind = [::1]:$PS6
bind = :::$PSD
timeout = 5
allow = 127.0.0.0/8 ::1
deny = 127.0.0.3
[secret]
string = S
allow = 127.0.0.2
connect = 127.0.0.1:$SEC
[open]
string = SO
deny = 127.0.0.5
connect = 127.0.0.1:$OPEN
[only6]
string = X
allow = ::1
connect = 127.0.0.1:$SEC
[fallback]
connect = 127.0.0.1:$FB
EOF
ps_start "$T/portsplit.ini" "$PS" "$PS6" "$PSD"

# Global deny: closed at once, without a byte read.
start=$(date +%s.%N)
out=$(talk --bind 127.0.0.3 127.0.0.1 "$PS" eof 3 2>>"$T/talk.err")
check "denied 127.0.0.3 is closed" test $? = 0
el=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
check "at accept, long before the 5 s timeout (${el}s)" fbelow "$el" 2
is "$out" "" "and gets nothing"
check "logged: denied, with the client's address" wait_log 'denied conn=[0-9]+ client=127\.0\.0\.3:[0-9]+ .*allow/deny'
check "no decision for it" test "$(log_count 'decision .*client=127\.0\.0\.3')" = 0

# Not in allow at all: an IPv6 client other than ::1 cannot be made on
# loopback, so a second listener with its own address shows ::1 allowed.
out=$(talk ::1 "$PS6" send 'SO' expect 'open' 5 2>>"$T/talk.err")
check "::1 is allowed (IPv6 network)" test $? = 0

# Per service: [secret] is for 127.0.0.2 only.
out=$(talk --bind 127.0.0.2 127.0.0.1 "$PS" send 'SO' expect 'secret' 5 2>>"$T/talk.err")
check "127.0.0.2 reaches [secret]" test $? = 0
start=$(date +%s.%N)
out=$(talk --bind 127.0.0.4 127.0.0.1 "$PS" send 'SZ' expect 'fallback' 3 2>>"$T/talk.err")
check "127.0.0.4 sending 'SZ' (only [secret] matches): fallback" test $? = 0
el=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
check "at once, not at the timeout (${el}s)" fbelow "$el" 2
out=$(talk --bind 127.0.0.4 127.0.0.1 "$PS" send 'SO' expect 'open' 3 2>>"$T/talk.err")
check "127.0.0.4 sending 'SO': [secret] ruled out, [open] takes it" test $? = 0
check "decision line: [open] for 127.0.0.4" wait_log 'decision .*client=127\.0\.0\.4:[0-9]+ .*service=open'
out=$(talk --bind 127.0.0.5 127.0.0.1 "$PS" send 'SO' expect 'fallback' 3 2>>"$T/talk.err")
check "127.0.0.5 is denied [open]: fallback" test $? = 0
out=$(talk ::1 "$PS6" send 'X' expect 'secret' 3 2>>"$T/talk.err")
check "[only6] allows ::1" test $? = 0
out=$(talk --bind 127.0.0.2 127.0.0.1 "$PS" send 'X' expect 'fallback' 3 2>>"$T/talk.err")
check "[only6] refuses an IPv4 client" test $? = 0

# The original's dual-stack :::PORT: IPv4 clients arrive as ::ffff:a.b.c.d
# and are judged as IPv4, globally and per service.
out=$(talk --bind 127.0.0.3 127.0.0.1 "$PSD" eof 3 2>>"$T/talk.err")
check "dual stack: denied 127.0.0.3 (as ::ffff:127.0.0.3) is closed" test $? = 0
check "logged as denied, as the IPv4 client it is" wait_log 'denied conn=[0-9]+ client=127\.0\.0\.3:[0-9]+ listener=\[::\]:'
out=$(talk --bind 127.0.0.2 127.0.0.1 "$PSD" send 'SO' expect 'secret' 5 2>>"$T/talk.err")
check "dual stack: 127.0.0.2 matches allow = 127.0.0.2 of [secret]" test $? = 0

[ "$FAILED" = 0 ] || { diag <"$T/talk.err"; grep -E "denied|listening" "$PS_LOG" | diag; }
finish
