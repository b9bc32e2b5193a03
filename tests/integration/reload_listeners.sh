# SPDX-License-Identifier: ISC
# SIGHUP changes the listeners: an address added is bound, an address
# removed is closed (new clients are refused there), an address kept keeps
# its very socket (same inode: it was never closed and reopened).
. "$(dirname "$0")/../lib.sh"

read -r P1 P2 P3 <<<"$(free_ports 3)"

config() { # config PORT...
	{
		for p in "$@"; do echo "bind = 127.0.0.1:$p"; done
		printf 'timeout = 5\n[hello]\nstring = HELLO\nexec = /bin/echo\nexecarg = hi\n'
	} >"$T/portsplit.ini"
}
inode() { # inode PORT: the socket inode of the daemon's listener on PORT
	local hex
	hex=$(printf '%04X' "$1")
	awk -v h=":$hex" '$2 ~ h"$" && $4 == "0A" {print $10}' /proc/net/tcp | head -n 1
}
config "$P1" "$P2"
ps_start "$T/portsplit.ini" "$P1" "$P2"
i1=$(inode "$P1")

config "$P1" "$P3"
kill -HUP "$PS_PID"
check "reloaded" wait_log 'reloaded: '
check "the added address is logged" wait_log "listening on 127.0.0.1:$P3"
check "the removed address is logged" wait_log "no longer listening on 127.0.0.1:$P2"
out=$(talk 127.0.0.1 "$P3" send 'HELLO\n' eof 5 2>"$T/talk.err")
is "$out" hi "the added address serves"
out=$(talk 127.0.0.1 "$P1" send 'HELLO\n' eof 5 2>>"$T/talk.err")
is "$out" hi "the kept address serves"
talk 127.0.0.1 "$P2" send 'HELLO\n' eof 2 >/dev/null 2>"$T/p2.err"
check "the removed address refuses connections" grep -q 'refused' "$T/p2.err"
is "$(inode "$P1")" "$i1" "the kept address has the same socket (inode $i1)"
is "$(log_count "listening on 127.0.0.1:$P1")" 1 "... and was bound once"

[ "$FAILED" = 0 ] || diag <"$T/talk.err"
finish
