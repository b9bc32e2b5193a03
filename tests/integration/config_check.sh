# SPDX-License-Identifier: ISC
# portsplit -t CONFIG: a good configuration is summarised (listeners, then
# services in rank order) with exit 0; each kind of bad configuration gives
# exit 1 and a line "FILE:LINE: message" naming the right line. Nothing is
# started, so no ports are needed.
. "$(dirname "$0")/../lib.sh"

[ -x "$PORTSPLIT" ] || bail "portsplit binary exists at $PORTSPLIT"

cat >"$T/good.ini" <<'EOF'
; a comment before anything
bind = 127.0.0.1:28443
bind = [::1]:28443
timeout = 2.5
max_peek = 8192
connect_timeout = 10
idle_timeout = 0

[ssh]
string = SSH-
connect = 127.0.0.1:22

[httpsvc]
regex = (?:GET|POST|HEAD) /
connect = 127.0.0.1:8080

[tlssvc]
string = \16\03     ; a TLS handshake record
connect = 127.0.0.1:4433

[fallback]
connect = 127.0.0.1:9999
EOF
timeout 10 "$PORTSPLIT" -t "$T/good.ini" >"$T/good.out" 2>&1
is "$?" 0 "-t on a good config exits 0"
timeout 10 "$PORTSPLIT" --check "$T/good.ini" >/dev/null 2>&1
is "$?" 0 "--check is the long form of -t"
check "summary names the listener 127.0.0.1:28443" grep -q '127\.0\.0\.1:28443' "$T/good.out"
check "summary names the listener on ::1" grep -q '::1' "$T/good.out"
check "an address that is its own text is printed once" \
	eval "grep -q '^  127\.0\.0\.1:28443   (' '$T/good.out' && ! grep -q '28443 = 127' '$T/good.out'"
# Rank order: the first mention of each service comes in file order.
off() { grep -bow -- "$1" "$T/good.out" | head -n 1 | cut -d: -f1; }
o1=$(off ssh) o2=$(off httpsvc) o3=$(off tlssvc)
check "summary names the services in rank order (ssh@${o1:-none} httpsvc@${o2:-none} tlssvc@${o3:-none})" \
	test -n "$o1" -a -n "$o2" -a -n "$o3" -a "${o1:-0}" -lt "${o2:-0}" -a "${o2:-0}" -lt "${o3:-0}"
[ "$FAILED" = 0 ] || diag <"$T/good.out"

# bad NAME LINE WORD DESC: $T/NAME.ini (written by the caller) fails with
# exit 1 and one error line "$T/NAME.ini:LINE: ..." whose message names the
# thing that is wrong (WORD, case-insensitive).
bad() {
	local name=$1 line=$2 word=$3 desc=$4 f="$T/$1.ini" rc
	timeout 10 "$PORTSPLIT" -t "$f" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
	is "$rc" 1 "$desc: -t exits 1"
	check "$desc: stderr has '$f:$line: ...$word...'" \
		eval "grep '^$f:$line: .' '$T/$name.err' | grep -qiF -- '$word'"
	check "$desc: no error line names another line" \
		test "$(grep -c "^$f:" "$T/$name.err")" = "$(grep -c "^$f:$line: " "$T/$name.err")"
	if [ "$rc" != 1 ] || ! grep -q "^$f:$line: " "$T/$name.err"; then
		cat "$T/$name.out" "$T/$name.err" | head -n 5 | cut -c1-200 | diag
	fi
}

printf 'bind = 127.0.0.1:28443\n[web]\nregex = GET /\nbogus_key = 1\nconnect = 127.0.0.1:80\n' >"$T/unknown_key.ini"
bad unknown_key 4 bogus_key "unknown key"

printf '# addresses\nbind = 127.0.0.1:28443\nbind = 127.0.0.1:99999\n[web]\nstring = GET\nconnect = 127.0.0.1:80\n' >"$T/bad_bind.ini"
bad bad_bind 3 99999 "bad bind address (port 99999)"

printf 'bind = 127.0.0.1:28443\n[web]\nstring = GET\nconnect = 127.0.0.1:70000\n' >"$T/bad_connect.ini"
bad bad_connect 4 70000 "bad connect address (port 70000)"

printf 'bind = 127.0.0.1:28443\n\n[web]\nregex = GET /\nregex = (unclosed\nconnect = 127.0.0.1:80\n' >"$T/bad_regex.ini"
bad bad_regex 5 regex "bad regex"

# Each bad file keeps a valid signature in its section, so the one error
# has no knock-on error ("section has no signature").
printf 'bind = 127.0.0.1:28443\n[tls]\nstring = \\16\\0G\nstring = \\16\\03\nconnect = 127.0.0.1:443\n' >"$T/bad_escape.ini"
bad bad_escape 3 '\0G' "bad \\XX escape"

printf 'bind = 127.0.0.1:28443\n[web]\nstring = GET\nconnect = 127.0.0.1:80\n[ssh]\nstring = SSH-\nconnect = 127.0.0.1:22\n[web]\nstring = POST\n' >"$T/repeated.ini"
bad repeated 8 web "repeated section [web]"

{
	printf 'bind = 127.0.0.1:28443\n[web]\nstring = GET\n'
	printf 'regex = GET /%070000d\n' 0
} >"$T/long_line.ini"
bad long_line 4 long "over-long line (70 kB)"

# Every error is reported, not only the first.
printf 'bind = 127.0.0.1:28443\n[web]\nnope = 1\nstring = GET\nconnect = 127.0.0.1:80\n[ssh]\nregex = (\n' >"$T/two.ini"
timeout 10 "$PORTSPLIT" -t "$T/two.ini" >/dev/null 2>"$T/two.err"
is "$?" 1 "two errors: -t exits 1"
check "two errors: both reported (lines 3 and 7)" \
	eval "grep -q '^$T/two.ini:3: ' '$T/two.err' && grep -q '^$T/two.ini:7: ' '$T/two.err'"
[ "$FAILED" = 0 ] || diag <"$T/two.err"

# A bad configuration starts nothing: run mode exits 1 at once.
timeout 10 "$PORTSPLIT" "$T/unknown_key.ini" >/dev/null 2>&1
is "$?" 1 "run mode with a bad config exits 1"

timeout 10 "$PORTSPLIT" >/dev/null 2>&1
is "$?" 2 "no arguments: usage error, exit 2"
timeout 10 "$PORTSPLIT" --no-such-option "$T/good.ini" >/dev/null 2>&1
is "$?" 2 "unknown option: usage error, exit 2"
finish
