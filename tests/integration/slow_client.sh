# SPDX-License-Identifier: ISC
# A client that sends its first bytes one at a time, 50 ms apart, still
# reaches the right service, and that service gets the whole stream from its
# first byte, in order. The backends say their name, then echo.
. "$(dirname "$0")/../lib.sh"

read -r PS HTTP SSH <<<"$(free_ports 3)"
serve http ident --port "$HTTP" --name http --report "$T/http.report"
serve ssh ident --port "$SSH" --name ssh --report "$T/ssh.report"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[http]
regex = (?:GET|POST|HEAD) /
connect = 127.0.0.1:$HTTP
[ssh]
string = SSH-
connect = 127.0.0.1:$SSH
EOF
ps_start "$T/portsplit.ini" "$PS"

# slow_case NAME TEXT: send TEXT byte by byte, expect "NAME\n" + TEXT back.
slow_case() {
	local name=$1 text=$2 expected
	expected=$(printf '%s\n%b' "$name" "$text" | hex_file /dev/stdin)
	talk 127.0.0.1 "$PS" slow 0.05 "$text" expect "$text" 10 shutwr eof 10 \
		>"$T/$name.out" 2>"$T/$name.err"
	is "$?" 0 "$name: byte-at-a-time client gets its echo"
	is "$(hex_file "$T/$name.out")" "$expected" \
		"$name: backend named itself and echoed the stream whole, in order"
	check "$name: backend's own sha256 of what it received matches" grep -q \
		"\"recv_sha\": \"$(printf '%b' "$text" | sha256sum | cut -d' ' -f1)\"" \
		"$T/$name.report"
	check "$name: decision log line names service=$name" \
		wait_log "decision .*service=$name( |$)"
	[ "$FAILED" = 0 ] || diag <"$T/$name.err"
}

slow_case ssh 'SSH-2.0-OpenSSH_9.2p1 slowpoke\r\n'
slow_case http 'GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n'

finish
