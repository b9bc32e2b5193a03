# SPDX-License-Identifier: ISC
# RLIMIT_NOFILE: portsplit raises its soft descriptor limit to the hard one
# at start (the usual soft 1024 runs out after a few hundred relays), and
# warns, with the numbers, when maxconn cannot fit in what it got.
. "$(dirname "$0")/../lib.sh"

read -r PS ID <<<"$(free_ports 2)"
serve ident ident --port "$ID" --name ident

# limited SOFT HARD: the next ps_start runs portsplit with these limits.
real=$PORTSPLIT
limited() {
	printf '#!/bin/sh\nulimit -Sn %s && ulimit -Hn %s && exec "%s" "$@"\n' \
		"$1" "$2" "$real" >"$T/limited"
	chmod +x "$T/limited"
	PORTSPLIT=$T/limited
}
limit_of() { awk '/^Max open files/ { print $4, $5 }' "/proc/$PS_PID/limits"; }

conf() {
	cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
maxconn = $1
[ssh]
string = SSH-
connect = 127.0.0.1:$ID
EOF
}

# 1. Soft 256 under a hard 2048: raised; maxconn 100 fits, no warning.
conf 100
limited 256 2048
ps_start "$T/portsplit.ini" "$PS"
is "$(limit_of)" "2048 2048" "the soft limit is raised to the hard one (256 -> 2048)"
is "$(log_count 'descriptor')" 0 "no warning when maxconn fits"
talk 127.0.0.1 "$PS" send 'SSH-2.0-x\r\n' expect 'ident\n' 5 close >/dev/null
is "$?" 0 "a client is served"
ps_stop

# 2. Hard 512: maxconn 1024 cannot fit; the warning says the numbers, and
# the daemon serves all the same.
conf 1024
limited 512 512
ps_start "$T/portsplit.ini" "$PS"
check "the warning names maxconn, the need and the limit" \
	wait_log 'warn.*maxconn 1024 needs up to [0-9]+ descriptors per process .*the limit is 512: about [0-9]+ connections fit'
talk 127.0.0.1 "$PS" send 'SSH-2.0-x\r\n' expect 'ident\n' 5 close >/dev/null
is "$?" 0 "a client is served"

# 3. A reload to a maxconn that fits says nothing more; one that does not
# warns again.
conf 50
before=$(log_count 'needs up to')
kill -HUP "$PS_PID"
wait_log 'reloaded' >/dev/null
is "$(log_count 'needs up to')" "$before" "reload to maxconn 50: no new warning"
conf 4000
kill -HUP "$PS_PID"
check "reload to maxconn 4000 warns again" wait_log 'maxconn 4000 needs up to'
PORTSPLIT=$real
finish
