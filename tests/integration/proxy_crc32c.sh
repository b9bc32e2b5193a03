# SPDX-License-Identifier: ISC
# proxy_from with a checksum: HAProxy (send-proxy-v2, proxy-v2-options
# crc32c) in front of portsplit. Its headers carry a CRC32c TLV, which
# portsplit verifies: the client HAProxy saw reaches nginx behind portsplit.
# A header HAProxy built, captured and sent again from the trusted address,
# is taken as it is; with one bit changed (in an address, in the checksum)
# it is refused like any malformed header: logged, closed, and not a byte
# reaches a backend.
. "$(dirname "$0")/../lib.sh"

command -v nginx >/dev/null || skip_all nginx "nginx is not installed"
command -v haproxy >/dev/null || skip_all haproxy "haproxy is not installed"
read -r PS NG HA HC CAP SINK <<<"$(free_ports 6)"

nginx_proxied '$proxy_protocol_addr $request' "$NG"

# Two HAProxy frontends, both sending checksummed v2 headers: one to
# portsplit, one to a capture server that keeps the header's bytes. The
# first also checks portsplit's health: a LOCAL header with a checksum,
# then a reset. portsplit starts first, so that HAProxy finds it up.
haproxy_conf tcp
cat >>"$T/haproxy.cfg" <<EOF
frontend to_ps
	bind 127.0.0.1:$HA
	default_backend ps
backend ps
	server ps 127.0.0.1:$PS send-proxy-v2 proxy-v2-options crc32c check check-send-proxy inter 300
frontend to_cap
	bind 127.0.0.1:$HC
	default_backend cap
backend cap
	server cap 127.0.0.1:$CAP send-proxy-v2 proxy-v2-options crc32c
EOF
serve cap capture --port "$CAP" --out "$T/captured"
serve sink sink --port "$SINK" --report "$T/sink.json"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 2
log_level = debug
proxy_from = 127.0.0.1
[web]
regex = GET /
connect = 127.0.0.1:$NG
proxy_protocol = v2
[raw]
string = RAW
connect = 127.0.0.1:$SINK
EOF
ps_start "$T/portsplit.ini" "$PS"
haproxy_start "$HA"

# Live: curl from 127.0.0.2, through HAProxy and portsplit, to nginx.
is "$(curl_from 127.0.0.2 "http://127.0.0.1:$HA/crc")" hello "curl through HAProxy (crc32c) and portsplit reaches nginx"
check "nginx logs the client HAProxy saw, 127.0.0.2" wait_file "$T/access.log" 5
check "  as its PROXY address" grep -q '^127\.0\.0\.2 GET /crc ' "$T/access.log"
check "portsplit verified the checksum of HAProxy's header" \
	wait_log 'PROXY v2 header conn=[0-9]+ client=127\.0\.0\.2:[0-9]+ via=127\.0\.0\.1:[0-9]+ crc32c=ok'
check "decision line: client=127.0.0.2" wait_log 'decision .*client=127\.0\.0\.2:[0-9]+ .*service=web'

# HAProxy's health checks (LOCAL, checksummed) are taken as such.
check "HAProxy's health checks are taken (LOCAL header, checksum verified)" \
	wait_log 'PROXY v2 header conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ via=127\.0\.0\.1:[0-9]+ crc32c=ok'

# A header HAProxy built, as bytes: its length is 16 + the big-endian
# 16-bit length at offset 14.
talk --bind 127.0.0.2 127.0.0.1 "$HC" send 'captured' eof 5 >/dev/null 2>>"$T/talk.err"
wait_file "$T/captured" 5 || bail "HAProxy's header is captured"
hexs=$(hex_file "$T/captured")
hlen=$((16 + 16#${hexs:28:4}))
hdr=${hexs:0:$((2 * hlen))}
check "the captured header carries a CRC32c TLV ($hdr)" grep -q '030004[0-9a-f]\{8\}$' <<<"$hdr"
is "${hexs:$((2 * hlen))}" "$(hex captured)" "the client's bytes follow it"

# flip HEX BYTE MASK: HEX with the byte at offset BYTE xor MASK
flip() { printf '%s%02x%s' "${1:0:$((2 * $2))}" $((16#${1:$((2 * $2)):2} ^ $3)) "${1:$((2 * $2 + 2))}"; }
sink_count() { grep -c recv_len "$T/sink.json" 2>/dev/null; }

# Sent again from the trusted address, unchanged: taken, its client is
# the one HAProxy saw, and the sink gets the client's bytes alone.
out=$(talk 127.0.0.1 "$PS" send "$(escaped "$hdr")RAW-replayed" shutwr eof 5 2>>"$T/talk.err")
is "${out#* }" "12" "the unchanged header is taken: the backend gets the 12 client bytes"
is "$(sink_count)" 1 "one connection reached the backend"
check "  its client is 127.0.0.2, checksum verified" \
	test "$(log_count 'PROXY v2 header .*client=127\.0\.0\.2:.* crc32c=ok')" -ge 2

# One bit changed: refused, closed, logged, nothing forwarded. The log
# line is rate-limited to one a second, so each case waits that long.
src_last=$((16 + 3)) # the last byte of the IPv4 source address
crc_last=$((hlen - 1))
for case in "source address:$src_last:1" "checksum:$crc_last:128" "command (PROXY to LOCAL):12:1"; do
	IFS=: read -r what at mask <<<"$case"
	sleep 1.1
	before=$(log_count 'bad PROXY header .*CRC32c checksum does not match')
	out=$(talk 127.0.0.1 "$PS" send "$(escaped "$(flip "$hdr" "$at" "$mask")")RAW-changed" eof 1 2>>"$T/talk.err")
	check "a bit changed in the $what: closed at once" test $? = 0
	is "$out" "" "  with no answer"
	check "  logged as a bad PROXY header (checksum)" \
		wait_log_count 'bad PROXY header .*CRC32c checksum does not match' $((before + 1))
	is "$(sink_count)" 1 "  no connection reached the backend"
done
is "$(log_count 'client=127\.0\.0\.3')" 0 "the changed address 127.0.0.3 was never a client"
is "$(log_count 'bad PROXY header')" 3 "no other header was refused (HAProxy's own, its health checks)"

[ "$FAILED" = 0 ] || { diag <"$T/curl.err"; diag <"$T/talk.err"; diag <"$T/haproxy.log"; }
finish
