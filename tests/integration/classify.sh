# SPDX-License-Identifier: ISC
# portsplit -c CONFIG FILE...: the matcher run offline, as if a client had
# sent each file's bytes and then waited. One line per file,
# "FILE: SERVICE (reason)". The inputs are captured from real clients
# (ssh, curl, openssl s_client) by a server that stores what it receives.
. "$(dirname "$0")/../lib.sh"

[ -x "$PORTSPLIT" ] || bail "portsplit binary exists at $PORTSPLIT"

# capture NAME CLIENT...: run CLIENT against a capture server, keep its bytes
capture() {
	local name=$1 port
	shift
	port=$(free_ports 1)
	serve "cap_$name" capture --port "$port" --out "$T/$name.bin"
	local pid=$SPAWNED
	timeout 15 "${@//PORT/$port}" </dev/null >/dev/null 2>&1
	wait_file "$T/$name.bin" 10 || bail "captured the first bytes of $1"
	stop "$pid"
}
capture ssh ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o BatchMode=yes -o ConnectTimeout=5 -p PORT 127.0.0.1 true
capture http curl -s --max-time 5 http://127.0.0.1:PORT/index.html
capture tls openssl s_client -connect 127.0.0.1:PORT -servername example.org

cat >"$T/c.ini" <<'EOF'
bind = 127.0.0.1:28443
timeout = 2
[ssh]
string = SSH-
connect = 127.0.0.1:2222
[http]
regex = (?:GET|POST|HEAD) /
connect = 127.0.0.1:8080
[tls]
string = \16\03
connect = 127.0.0.1:4433
[fallback]
connect = 127.0.0.1:9999
[timeout]
connect = 127.0.0.1:9998
EOF

printf 'hello there\r\n' >"$T/garbage.bin"
: >"$T/empty.bin"
printf 'SSH' >"$T/partial.bin"     # could still become SSH-, then silence
printf '\x00\x01\x02' >"$T/binary.bin"

timeout 10 "$PORTSPLIT" -c "$T/c.ini" "$T/ssh.bin" "$T/http.bin" "$T/tls.bin" \
	"$T/garbage.bin" "$T/empty.bin" "$T/partial.bin" "$T/binary.bin" \
	>"$T/out" 2>"$T/err"
is "$?" 0 "-c exits 0"
is "$(wc -l <"$T/out" | tr -d ' ')" 7 "-c prints one line per file"

# classified FILE SERVICE: a line "FILE: SERVICE" or "FILE: SERVICE (...)"
classified() {
	awk -v p="$1: $2" 'index($0, p) == 1 && (length($0) == length(p) ||
		substr($0, length(p) + 1, 1) == " ") { found = 1 } END { exit !found }' "$T/out"
}
check "captured ssh client banner -> ssh" classified "$T/ssh.bin" ssh
check "captured curl GET request -> http" classified "$T/http.bin" http
check "captured openssl ClientHello -> tls" classified "$T/tls.bin" tls
check "garbage -> fallback" classified "$T/garbage.bin" fallback
check "binary garbage with NUL -> fallback" classified "$T/binary.bin" fallback
check "empty file -> timeout" classified "$T/empty.bin" timeout
check "'SSH' then silence: no match at the timeout -> timeout" classified "$T/partial.bin" timeout

timeout 10 "$PORTSPLIT" -c "$T/c.ini" - <"$T/http.bin" >"$T/stdin.out" 2>>"$T/err"
is "$?" 0 "-c - exits 0"
check "-c - reads standard input: GET request -> http" \
	awk 'index($0, "-: http") == 1 { f = 1 } END { exit !f }' "$T/stdin.out"
timeout 10 "$PORTSPLIT" --classify "$T/c.ini" "$T/tls.bin" >"$T/long.out" 2>>"$T/err"
is "$(cut -d' ' -f1-2 "$T/long.out")" "$T/tls.bin: tls" "--classify is the long form of -c"

if [ "$FAILED" != 0 ]; then
	cat "$T/out" "$T/stdin.out" "$T/err" | diag
	od -c "$T/ssh.bin" | head -n 3 | diag
fi
finish
