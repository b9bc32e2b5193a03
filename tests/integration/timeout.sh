# SPDX-License-Identifier: ISC
# Timeout (SPEC §3 rule 5), timeout = 1: a silent client reaches [timeout],
# whose backend speaks first (an SMTP-like banner), after about 1 s and not
# before 0.8 s. At the timeout, undecided signatures are judged on the bytes
# so far: "SS" matches nothing (timeout service, which still gets "SS"
# first), "AB" matches [b] once [a] ABCD is ruled out.
. "$(dirname "$0")/../lib.sh"

read -r PS SSH A B FB SMTP <<<"$(free_ports 6)"
serve ssh ident --port "$SSH" --name ssh
serve a ident --port "$A" --name a
serve b ident --port "$B" --name b
serve fallback ident --port "$FB" --name fallback
serve smtp ident --port "$SMTP" --name '220 smtp.example ESMTP'

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 1
[ssh]
string = SSH-
connect = 127.0.0.1:$SSH
[a]
string = ABCD
connect = 127.0.0.1:$A
[b]
string = AB
connect = 127.0.0.1:$B
[fallback]
connect = 127.0.0.1:$FB
[timeout]
connect = 127.0.0.1:$SMTP
EOF
ps_start "$T/portsplit.ini" "$PS"

# after_timeout CASE: the first reply came after the timeout, not before
# (0.8 s leaves room for clock granularity; 4 s is a coarse upper bound for
# a loaded machine, the point being "about 1 s", not "never").
after_timeout() {
	local first
	first=$(cat "$T/$1.first")
	check "$1: decided at the timeout (first reply after ${first}s, in [0.8, 4))" \
		frange 0.8 "$first" 4
}

# A silent client, then an SMTP-like exchange once the banner came.
talk --first "$T/silent.first" 127.0.0.1 "$PS" expect '220 smtp.example ESMTP\n' 5 \
	send 'EHLO client\r\n' expect 'EHLO client\r\n' 3 shutwr eof 5 \
	>"$T/silent.out" 2>"$T/silent.err"
is "$?" 0 "silent client gets the [timeout] backend's banner, then talks to it"
is "$(cat "$T/silent.out")" "$(printf '220 smtp.example ESMTP\nEHLO client\r\n')" \
	"silent client: exact exchange"
after_timeout silent

talk --first "$T/ss.first" 127.0.0.1 "$PS" send SS expect '220 smtp.example ESMTP\nSS' 5 \
	shutwr eof 5 >"$T/ss.out" 2>"$T/ss.err"
is "$?" 0 "SS then silence: [timeout] backend, which gets SS first"
after_timeout ss

talk --first "$T/ab.first" 127.0.0.1 "$PS" send AB expect 'b\nAB' 5 shutwr eof 5 \
	>"$T/ab.out" 2>"$T/ab.err"
is "$?" 0 "AB then silence: at the timeout [a] is ruled out and [b] wins"
after_timeout ab

is "$(log_count 'decision .*service=timeout( |$)')" 2 "log: two decisions for service=timeout"
is "$(log_count 'decision .*service=b( |$)')" 1 "log: one decision for service=b"

[ "$FAILED" = 0 ] || cat "$T"/*.err | diag
finish
