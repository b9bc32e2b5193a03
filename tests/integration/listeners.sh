# SPDX-License-Identifier: ISC
# Several listeners in one daemon: IPv4, IPv6 in brackets, and the original
# Portsplit form "::1:PORT" (the last colon separates the port). A client
# on each gets through, and the decision line names the listener it used.
. "$(dirname "$0")/../lib.sh"

if ! "$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	skip "IPv6 listeners" "::1 is not available on this machine"
	exit 0
fi
read -r P1 ID <<<"$(free_ports 2)"
read -r P2 P3 <<<"$(free_ports 2 --v6)"
serve ident ident --port "$ID" --name ident

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$P1
bind = [::1]:$P2
bind = ::1:$P3
timeout = 5
[hello]
string = HELLO
connect = 127.0.0.1:$ID
EOF
ps_start "$T/portsplit.ini" "$P1" "$P2" "$P3"

for hp in "127.0.0.1 $P1" "::1 $P2" "::1 $P3"; do
	read -r host port <<<"$hp"
	talk "$host" "$port" send "HELLO from $host:$port" expect "ident\nHELLO from $host:$port" 5 \
		shutwr eof 5 >"$T/$port.out" 2>"$T/$port.err"
	is "$?" 0 "connection on $host port $port gets through"
	is "$(cat "$T/$port.out")" "$(printf 'ident\nHELLO from %s:%s' "$host" "$port")" \
		"$host port $port: exact echo"
	check "decision line names listener ...:$port" wait_log "decision .*listener=[^ ]*:$port( |$)"
done
check "IPv6 client address is logged as ::1" wait_log 'decision .*client=\[?::1'

[ "$FAILED" = 0 ] || cat "$T"/*.err | diag
finish
