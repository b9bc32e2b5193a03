# SPDX-License-Identifier: ISC
# The client's first bytes, written by the connect that finds the backend
# ready (forward.c), and read again by the relay without being sent twice
# (relay.c): the backend must get the client's stream exactly once, in
# order, however many bytes the decision saw — a few, a kilobyte, more
# than a fresh socket's send buffer takes at once (40 000 and 65 000 of
# max_peek 65536) — and the close line counts every byte once. Each
# client sends its whole first message in one write, then 1 MiB more; the
# backend sends 1 MiB back. Both ends report sha256 and length.
. "$(dirname "$0")/../lib.sh"

MORE=$((1024 * 1024))
read -r PS PUMP <<<"$(free_ports 2)"
serve pump pump --port "$PUMP" --send-bytes $MORE --report "$T/pump.report"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
max_peek = 65536
[k0]
string = PUMP0
connect = 127.0.0.1:$PUMP
[k1]
regex = PUMP1x{1000}
connect = 127.0.0.1:$PUMP
[k2]
regex = PUMP2x{40000}
connect = 127.0.0.1:$PUMP
[k3]
regex = PUMP3x{65000}
connect = 127.0.0.1:$PUMP
EOF
ps_start "$T/portsplit.ini" "$PS"

n=0
for k in 0:0 1:1000 2:40000 3:65000; do
	id=${k%%:*} len=${k#*:}
	prefix="PUMP$id$(head -c "$len" /dev/zero | tr '\0' x)"
	c=$(bulk 127.0.0.1 "$PS" --prefix "$prefix" --send $MORE --timeout 60)
	n=$((n + 1))
	for _ in $(seq 50); do
		[ "$(wc -l <"$T/pump.report")" -ge "$n" ] && break
		sleep 0.1
	done
	p=$(sed -n "${n}p" "$T/pump.report")
	first=$((len + 5))
	is "$(json "$p" recv_len)" $((first + MORE)) \
		"k$id: the backend got the $first-byte first message and 1 MiB, once"
	is "$(json "$p" recv_sha)" "$(json "$c" sent_sha)" "k$id: byte-exact and in order"
	is "$(json "$c" recv_sha)/$(json "$c" recv_len)" "$(json "$p" sent_sha)/$MORE" \
		"k$id: the client got the backend's 1 MiB byte-exact"
	wait_log "close .*service=k$id( |\$)" 10
	is "$(log_field "close .*service=k$id( |\$)" up)" $((first + MORE)) \
		"k$id: the close line counts each byte up once"
	bytes=$(log_field "decision .*service=k$id( |\$)" bytes)
	check "k$id: decided on at least its $first-byte first message (bytes=$bytes)" \
		test "${bytes:-0}" -ge "$first"
done
if [ "$FAILED" != 0 ]; then
	diag <"$T/pump.report"
	diag <"$PS_LOG"
fi
finish
