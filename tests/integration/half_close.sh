# SPDX-License-Identifier: ISC
# Half-close (SPEC §4): when one side shuts down its sending side, the other
# direction keeps flowing.
#  1. The client sends 1 MiB and SHUT_WR; the backend reads to EOF, then
#     replies "SHA256 LEN\n" and 1 MiB: the client gets all of it.
#  2. The backend sends 1 MiB and SHUT_WR at once; the client reads it to
#     EOF and only then sends 1 MiB: the backend gets all of it.
# Both ends compute sha256 of what they sent and received.
. "$(dirname "$0")/../lib.sh"

MIB=1048576
read -r PS SINK PUMP <<<"$(free_ports 3)"
serve sink sink --port "$SINK" --reply-bytes $MIB --report "$T/sink.report"
serve pump pump --port "$PUMP" --send-bytes $MIB --report "$T/pump.report"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[sink]
string = SINK
connect = 127.0.0.1:$SINK
[pump]
string = PUMP
connect = 127.0.0.1:$PUMP
EOF
ps_start "$T/portsplit.ini" "$PS"

# 1. client -> FIN -> the reply still arrives.
c=$(bulk 127.0.0.1 "$PS" --prefix SINK --send $MIB)
is "$?" 0 "client sending 1 MiB then SHUT_WR: client runs to the end"
wait_file "$T/sink.report" 10
s=$(head -n 1 "$T/sink.report")
is "$(json "$s" recv_sha)" "$(json "$c" sent_sha)" "backend received the client's 1 MiB + prefix byte-exact"
is "$(json "$s" recv_len)" $((MIB + 4)) "backend received $((MIB + 4)) bytes"
is "$(json "$c" recv_sha)" "$(json "$s" sent_sha)" "after its FIN, the client received the whole reply byte-exact"
is "$(json "$c" head | head -n 1 | cut -d' ' -f1)" "$(json "$c" sent_sha)" "the reply starts with the sha256 of what the client sent"
is "$(json "$c" recv_error)$(json "$c" error)" "" "client saw no error"
# The close line counts each direction.
wait_log 'close .*service=sink( |$)' 5
is "$(log_field 'close .*service=sink( |$)' up)" $((MIB + 4)) "close line: up= counts the client's bytes"
is "$(log_field 'close .*service=sink( |$)' down)" "$(json "$s" sent_len)" "close line: down= counts the backend's bytes"

# 2. backend -> FIN -> the client's later data still reaches it.
c=$(bulk 127.0.0.1 "$PS" --prefix PUMP --after-eof $MIB)
is "$?" 0 "backend sending 1 MiB then SHUT_WR: client runs to the end"
wait_file "$T/pump.report" 10
p=$(head -n 1 "$T/pump.report")
is "$(json "$c" recv_sha)" "$(json "$p" sent_sha)" "client received the backend's 1 MiB byte-exact before its EOF"
is "$(json "$c" recv_len)" $MIB "client received $MIB bytes"
is "$(json "$p" recv_sha)" "$(json "$c" sent_sha)" "data sent after the backend's FIN reached the backend byte-exact"
is "$(json "$p" recv_len)" $((MIB + 4)) "backend received $((MIB + 4)) bytes"
is "$(json "$c" recv_error)$(json "$c" error)$(json "$p" recv_error)$(json "$p" send_error)" "" \
	"neither end saw an error"

if [ "$FAILED" != 0 ]; then
	echo "# client: $c"
	diag <"$T/sink.report"
	diag <"$T/pump.report"
fi
finish
