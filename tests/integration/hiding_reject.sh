# SPDX-License-Identifier: ISC
# on_reject: a backend that closes or resets before sending a byte hands the
# connection to another service with the same first bytes. With a real
# OpenVPN server (tls-crypt) and a real nginx: nmap's keyless OpenVPN probe
# and a keyless tls-crypt-shaped packet get exactly nginx's answer, and a
# real client still connects. With scripted backends: a reset (to a
# service, and to a program), a close,
# `on_reject = close`, a client that sent more (no redispatch), a backend
# that sends first (no window left), and a silent backend: the window
# passes and the stream arrives whole, in order.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/probing/lib.sh"

need nginx openvpn openssl
read -r P WEB OVPN RST FIN SINK IDENT <<<"$(free_ports 7)"
pki_setup
nginx_start "$WEB"
openvpn_server_start "$OVPN"

# Backends that reject: read what comes, wait 0.2 s, then reset or close.
serve rst refuse --port "$RST" --delay 0.2 --reset
serve fin refuse --port "$FIN" --delay 0.2
serve sink sink --port "$SINK" --reply-bytes 0
serve ident ident --port "$IDENT" --name ident-first

cat >"$T/ps.ini" <<EOF
bind = 127.0.0.1:$P
signature_path = $(cd "$TESTS_DIR/../signatures" && pwd)
timeout = 3
[openvpn]
signature = openvpn
on_reject = fallback
connect = 127.0.0.1:$OVPN
[rst]
string = RST
on_reject = web
connect = 127.0.0.1:$RST
[fin]
string = FIN
on_reject = fallback
connect = 127.0.0.1:$FIN
[closer]
string = CLOSE
on_reject = close
connect = 127.0.0.1:$FIN
[sink]
string = SINK
on_reject = fallback
connect = 127.0.0.1:$SINK
[ident]
string = IDENT
on_reject = fallback
connect = 127.0.0.1:$IDENT
[toexec]
string = EXEC
on_reject = prog
connect = 127.0.0.1:$RST
[prog]
string = PROGRAM-NOT-SENT
exec = /bin/sh
execarg = -c
execarg = head -c 7; sleep 1.5
[web]
string = WEB
connect = 127.0.0.1:$WEB
[fallback]
connect = 127.0.0.1:$WEB
EOF
ps_start "$T/ps.ini" "$P"

same_as_nginx() {           # same_as_nginx HEX DESC
	local r b
	r=$(probe_one "$P" "$1" 5)
	b=$(probe_one "$WEB" "$1" 5)
	is "$(json "$r" digest) $(json "$r" end)" "$(json "$b" digest) $(json "$b" end)" \
		"$2: nginx's own answer ($(json "$r" got) bytes, $(json "$r" end), $(json "$r" ms) ms; nginx alone $(json "$b" ms) ms)"
}

check "a real OpenVPN client connects through the window" openvpn_connects "$P" client1
nmap=000e38$(printf '00%.0s' $(seq 13))
same_as_nginx "$nmap" "nmap's keyless OpenVPN probe"
check "one log line says the server rejected it and where it went" \
	wait_log 'rejected conn=[0-9]+ service=openvpn backend=127.0.0.1:[0-9]+ how="(closed|reset)" ms=[0-9]+ bytes=16: to fallback'
check "the close line names the service that took it" wait_log "close conn=[0-9]+ .*service=fallback up=16 down=309"
now=$(printf '%08x' "$(date +%s)")
tc=00363850e1e2e3e4e5e6e70f000001$now$(head -c 37 /dev/urandom | od -An -v -tx1 | tr -d ' \n')$(printf 'ab%.0s' $(seq 32))
same_as_nginx "${tc:0:112}" "a keyless tls-crypt packet with the current time"

same_as_nginx "$(hex 'RST')0001" "a backend that resets: to the service on_reject names"
check "logged as a reset" wait_log 'service=rst .*how="reset".*: to web'
same_as_nginx "$(hex 'FIN')0001" "a backend that closes"
# To a program: the loop lets go of the client's socket before the
# program gets it, and the program reads the stream from its first byte.
# A second client connects while the program runs (its sockets take the
# descriptor numbers the first one let go of) and talks across the
# program's exit: the end of the first connection must not touch them.
talk 127.0.0.1 "$P" send EXEC-hi expect EXEC-hi 5 eof 10 >"$T/exec.out" 2>&1 &
check "logged: to the program" wait_log 'service=toexec .*how="reset".*: to prog'
out=$(talk 127.0.0.1 "$P" send IDENT-1 expect IDENT-1 5 sleep 2.5 send IDENT-2 expect IDENT-2 5 2>&1)
wait $!
is "$(cat "$T/exec.out")" "EXEC-hi" "a backend that resets, on_reject names a program: it echoes the client's first bytes"
check "the close line names the program's service" wait_log 'close conn=[0-9]+ .*service=prog up=- down=-'
is "$out" "ident-first
IDENT-1IDENT-2" "a connection made while the program ran outlives it, untouched"
r=$(probe_one "$P" "$(hex 'CLOSE')0001" 5)
is "$(json "$r" got) $(json "$r" end)" "0 FIN" "on_reject = close: the client gets a plain close"
check "logged: closing" wait_log 'service=closer .*: closing'

# The client sends more while the backend is still deciding: its bytes
# would be lost to a redispatch, so there is none.
out=$(talk 127.0.0.1 "$P" send FIN-first sleep 0.05 send more eof 5 2>&1)
is "$out" "" "a client that sent more gets the backend's close, not another service"
check "logged: the client sent more" wait_log 'service=fin .*closing \(the client sent more\)'

# A backend that speaks first ends the window at once.
out=$(talk 127.0.0.1 "$P" send IDENT-hello expect IDENT-hello 5 2>&1)
is "$out" "ident-first
IDENT-hello" "a backend that speaks first gets the connection and the bytes"

# A silent backend: the window passes, and the stream arrives whole.
out=$(talk 127.0.0.1 "$P" send SINK-first sleep 0.8 send -second shutwr eof 5 2>&1)
want=$(printf 'SINK-first-second' | sha256sum | cut -d' ' -f1)
is "${out%% *}" "$want" "after the window the backend has the whole stream, in order"
check "no rejection logged for it" test "$(log_count 'rejected conn=[0-9]+ service=sink')" = 0

check "a real client still connects" openvpn_connects "$P" client2

# The same with two worker processes.
ps_stop >/dev/null
sed -i "s/^timeout = 3$/timeout = 3\nworkers = 2/" "$T/ps.ini"
ps_start "$T/ps.ini" "$P"
same_as_nginx "$nmap" "workers = 2: nmap's keyless OpenVPN probe"
same_as_nginx "$(hex 'RST')0001" "workers = 2: a backend that resets"
check "workers = 2: a real OpenVPN client connects" openvpn_connects "$P" client3
finish
