# SPDX-License-Identifier: ISC
# 64 MiB each way at the same time, byte-exact: the client and the backend
# both write random data while reading the other's (a relay that moves one
# direction at a time, or that loses or reorders bytes under backpressure,
# fails here). Each end reports the sha256 of what it sent and received.
. "$(dirname "$0")/../lib.sh"

SIZE=$((64 * 1024 * 1024))
read -r PS PUMP <<<"$(free_ports 2)"
serve pump pump --port "$PUMP" --send-bytes $SIZE --report "$T/pump.report"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[pump]
string = PUMP
connect = 127.0.0.1:$PUMP
EOF
ps_start "$T/portsplit.ini" "$PS"

c=$(bulk 127.0.0.1 "$PS" --prefix PUMP --send $SIZE --timeout 100)
is "$?" 0 "bulk client exits 0"
wait_file "$T/pump.report" 20
p=$(head -n 1 "$T/pump.report")
is "$(json "$c" recv_len)" $SIZE "client received 64 MiB"
is "$(json "$c" recv_sha)" "$(json "$p" sent_sha)" "client received the backend's 64 MiB byte-exact"
is "$(json "$p" recv_len)" $((SIZE + 4)) "backend received 64 MiB + the 4-byte prefix"
is "$(json "$p" recv_sha)" "$(json "$c" sent_sha)" "backend received the client's stream byte-exact"
is "$(json "$c" recv_error)$(json "$c" send_error)$(json "$c" error)$(json "$p" recv_error)$(json "$p" send_error)" "" \
	"neither end saw an error"
wait_log 'close .*service=pump( |$)' 10
is "$(log_field 'close .*service=pump( |$)' up)/$(log_field 'close .*service=pump( |$)' down)" \
	"$((SIZE + 4))/$SIZE" "close line counts up=64 MiB+4 and down=64 MiB"

if [ "$FAILED" != 0 ]; then
	echo "# client: $c"
	diag <"$T/pump.report"
fi
finish
