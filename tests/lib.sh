# SPDX-License-Identifier: ISC
# Shared helpers for portsplit's integration tests; every script sources it.
#
# A script prints TAP-like lines ("ok - what", "not ok - what",
# "ok - what # SKIP why") and ends with `finish`, which exits non-zero when
# something failed. Everything it starts goes through `spawn`, so the EXIT
# trap can stop it by PID; its files live in $T, removed at exit.
#
#   PORTSPLIT=/path/to/portsplit bash tests/integration/NAME.sh

set -u

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORTSPLIT=${PORTSPLIT:-$TESTS_DIR/../build/portsplit}
NET="$TESTS_DIR/helpers/net.py"
HOSTILE="$TESTS_DIR/helpers/hostile.py"
# The system interpreter when there is one: a version manager's shim costs
# a tenth of a second per call. Only the standard library is used.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
T=$(mktemp -d "${TMPDIR:-/tmp}/portsplit-test.XXXXXX")
PIDS=()
FAILED=0
PS_PID=
PS_LOG=$T/portsplit.log

# ------------------------------------------------------------ TAP output

ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	FAILED=$((FAILED + 1))
}
skip() { echo "ok - $1 # SKIP $2"; }
# skip_all DESC WHY: the whole test cannot run here (a program missing,
# not root): say so once and end the test, passed.
skip_all() {
	skip "$1" "$2"
	finish
}
diag() { sed 's/^/# /'; }           # diag < file: show a file as comments

# check DESC COMMAND...: ok when COMMAND succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is ACTUAL EXPECTED DESC
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		printf '#   got:      %q\n#   expected: %q\n' "$1" "$2"
	fi
}

# bail DESC: a setup step failed; report it and stop (the trap cleans up).
bail() {
	not_ok "$1"
	show_log
	exit 1
}

# show the daemon's log tail, to explain a failure
show_log() {
	[ -s "$PS_LOG" ] || return 0
	echo "# --- portsplit log (tail) ---"
	tail -n 30 "$PS_LOG" | diag
}

# finish: stop the daemon if it still runs (it must exit 0 on SIGTERM),
# check that no sanitizer or allocator complained in any daemon log of the
# test, and exit non-zero when something failed.
finish() {
	if [ -n "$PS_PID" ]; then
		ps_stop
		is "$?" 0 "the daemon exits 0 on SIGTERM"
	fi
	local bad
	bad=$(grep -lE 'Sanitizer|runtime error:|double free|corrupted' "$T"/*.log 2>/dev/null)
	if [ -n "$bad" ]; then
		not_ok "sanitizer report in $bad"
		grep -hE -A20 'Sanitizer|runtime error:' $bad | head -40 | diag
	fi
	[ "$FAILED" = 0 ] || show_log
	[ "$FAILED" = 0 ]
	exit $?
}

# ------------------------------------------------------------ processes

# spawn LOGFILE COMMAND...: start COMMAND in the background; its PID is
# remembered for the EXIT trap and left in $SPAWNED.
spawn() {
	local log=$1
	shift
	"$@" </dev/null >"$log" 2>&1 &
	SPAWNED=$!
	PIDS+=("$SPAWNED")
}

# stop PID: SIGTERM, up to 5 s of grace, then SIGKILL; returns its status.
stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		stop "$pid"
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

alive() { kill -0 "$1" 2>/dev/null; }

# ------------------------------------------------------------ network

# free_ports N [--v6]: N distinct free ports on loopback, space separated
free_ports() { "$PYTHON" "$NET" free-ports "$@"; }

# wait_port HOST PORT [SECS]: wait for a backend to accept connections.
# Never use it on portsplit itself: the probe would be a client to classify.
wait_port() { "$PYTHON" "$NET" wait-port "$1" "$2" "${3:-10}"; }

# serve NAME KIND --port P ...: start a helper server (tests/helpers/net.py)
# and wait for its "listening" line; its output goes to $T/NAME.log.
serve() {
	local name=$1
	shift
	spawn "$T/$name.log" "$PYTHON" "$NET" serve "$@"
	for _ in $(seq 100); do
		grep -q '^listening' "$T/$name.log" && return 0
		alive "$SPAWNED" || break
		sleep 0.1
	done
	diag <"$T/$name.log"
	bail "helper server $name listens ($*)"
}

# talk HOST PORT STEP...: scripted client, see tests/helpers/net.py.
talk() { timeout 60 "$PYTHON" "$NET" talk "$@"; }

# bulk HOST PORT OPTIONS...: bulk client, prints one JSON line.
bulk() { timeout 120 "$PYTHON" "$NET" bulk "$@"; }

# json FILE_OR_STRING KEY: one field of a JSON object
json() {
	"$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"
}

# wait_file FILE [SECS]: wait until FILE exists and is not empty
wait_file() {
	for _ in $(seq $((${2:-10} * 10))); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	[ -s "$1" ]
}

# sha256 FILE
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# ------------------------------------------------------------ portsplit

# ps_start CONFIG PORT...: start the daemon with CONFIG, wait until it logs
# "listening on" for every PORT (polling the port would be a client).
ps_start() {
	local conf=$1 port
	shift
	[ -x "$PORTSPLIT" ] || bail "portsplit binary exists at $PORTSPLIT"
	: >"$PS_LOG"
	"$PORTSPLIT" "$conf" </dev/null >>"$PS_LOG" 2>&1 &
	PS_PID=$!
	PIDS+=("$PS_PID")
	for port in "$@"; do
		for _ in $(seq 100); do
			grep -Eq "listening on .*:$port([^0-9]|\$)" "$PS_LOG" && break
			alive "$PS_PID" || bail "portsplit starts with $(basename "$conf")"
			sleep 0.1
		done
		grep -Eq "listening on .*:$port([^0-9]|\$)" "$PS_LOG" ||
			bail "portsplit logs 'listening on ...:$port'"
	done
}

# ps_stop: SIGTERM the daemon; returns its exit status.
ps_stop() {
	local pid=$PS_PID rc
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do
		alive "$pid" || break
		sleep 0.1
	done
	alive "$pid" && { kill -KILL "$pid"; wait "$pid"; return 137; }
	wait "$pid"
	rc=$?
	PS_PID=
	return $rc
}

# wait_log REGEX [SECS]: wait until the daemon's log has a line matching the
# extended REGEX (lines such as "close" come just after the client sees EOF).
wait_log() { wait_log_count "$1" 1 "${2:-5}"; }

# log_count REGEX: how many log lines match
log_count() { grep -Ec -- "$1" "$PS_LOG"; }

# wait_log_count REGEX N [SECS]: wait until at least N log lines match
wait_log_count() {
	for _ in $(seq $((${3:-5} * 10))); do
		[ "$(log_count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	[ "$(log_count "$1")" -ge "$2" ]
}

# log_field REGEX KEY: the value of KEY=... on the first log line matching
# REGEX (empty when there is none)
log_field() {
	grep -E -- "$1" "$PS_LOG" | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# ps_cpu_ms: the CPU time (user and system) the daemon has used so far, in
# milliseconds; the difference of two readings is what it used between
# them (a daemon that spins uses about as much as the time that passed).
ps_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$PS_PID/stat"
}

# ident_conf LINE...: for the tests that need no more than a backend that
# shows it was reached. Picks two free ports, $PS and $ID; starts ident
# (tests/helpers/net.py: it answers "ident\n", then echoes) on $ID; writes
# $T/portsplit.ini, which binds 127.0.0.1:$PS, has the global LINEs, and
# one service, [ssh], taking the clients that begin with "SSH-" to ident.
# The test may add services, then ps_start "$T/portsplit.ini" "$PS".
ident_conf() {
	read -r PS ID <<<"$(free_ports 2)"
	serve ident ident --port "$ID" --name ident
	{
		printf 'bind = 127.0.0.1:%s\n' "$PS"
		[ $# -eq 0 ] || printf '%s\n' "$@"
		printf '[ssh]\nstring = SSH-\nconnect = 127.0.0.1:%s\n' "$ID"
	} >"$T/portsplit.ini"
}

# hold_clients N SECS DESC: N clients connect to the daemon on $PS and say
# nothing (tests/helpers/hostile.py hold) until $T/stop exists or SECS
# pass. Returns once they have connected: how many did is in $T/ready
# (DESC names that step if it never comes); the holder's PID is $HOLD,
# its JSON report will be $T/hold.json.
hold_clients() {
	"$PYTHON" "$HOSTILE" hold 127.0.0.1 "$PS" --count "$1" --ready "$T/ready" \
		--until "$T/stop" --max "$2" >"$T/hold.json" &
	HOLD=$!
	PIDS+=("$HOLD")
	wait_file "$T/ready" 60 || bail "$3"
}

# ------------------------------------------------------------ bytes

# hex TEXT: the bytes of TEXT (taken as they are, no escapes) in lowercase
# hex, without blanks
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# hex_file FILE: the same for the bytes of FILE
hex_file() { od -An -v -tx1 "$1" | tr -d ' \n'; }

# escaped HEX: the bytes written in HEX as \xHH escapes, for talk's send
escaped() { sed 's/../\\x&/g' <<<"$1"; }

# ------------------------------------------------------------ numbers

# fbelow A B: the decimal A is below the decimal B
fbelow() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# frange LO X HI: LO <= X < HI, as decimals
frange() { awk -v l="$1" -v x="$2" -v h="$3" 'BEGIN { exit !(l + 0 <= x + 0 && x + 0 < h + 0) }'; }

# ------------------------------------------------------------ configurations

# hello_conf PORT LINE...: a configuration (on standard output) that binds
# 127.0.0.1:PORT, has the global LINEs, and one service, [hello], that runs
# /bin/echo hi for a client that says HELLO.
hello_conf() {
	printf 'bind = 127.0.0.1:%s\n' "$1"
	shift
	[ $# -eq 0 ] || printf '%s\n' "$@"
	printf '[hello]\nstring = HELLO\nexec = /bin/echo\nexecarg = hi\n'
}

# library_conf PORT TIMEOUT [sni-alpn]: a configuration (on standard
# output) binding 127.0.0.1:PORT with every signature of the tree's
# library. The refinements rank first, with names no sample carries: they
# must let the tls and http samples go as soon as their first message is
# complete (tls-sni-alpn is one of them with "sni-alpn"). The SOCKS
# greetings (3 or 4 bytes, then the client waits) are prefixes of
# length-prefixed binary messages: they rank next. Then every other
# signature, one service each, named after it.
library_conf() {
	local lib f n
	lib=$(cd "$TESTS_DIR/../signatures" && pwd)
	printf 'bind = 127.0.0.1:%s\ntimeout = %s\nsignature_path = %s\n' "$1" "$2" "$lib"
	printf '[sni]\nsignature = tls-sni sni.invalid *.sni.invalid\n'
	[ "${3:-}" != sni-alpn ] ||
		printf '[sa]\nsignature = tls-sni-alpn sni.invalid -- acme-tls/1\n'
	printf '[alpn]\nsignature = tls-alpn acme-tls/1\n'
	printf '[vhost]\nsignature = http-host host.invalid\n'
	printf '[socks4]\nsignature = socks4\n[socks5]\nsignature = socks5\n'
	for f in "$lib"/*.ini; do
		n=$(basename "$f" .ini)
		case $n in tls-* | http-host | socks4 | socks5) continue ;; esac
		printf '[%s]\nsignature = %s\n' "$n" "$n"
	done
}

# ------------------------------------------------------------ mount namespaces

# can_unshare_mounts: running as root, and able to make a private mount
# namespace (unshare -m).
can_unshare_mounts() {
	[ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null
}

# in_private_dev SCRIPT DEVICE...: run the bash SCRIPT in a private mount
# namespace whose /dev is a fresh tmpfs holding only the machine's DEVICEs
# ("pts": its pty folder), so that what the test puts at /dev/log (or
# leaves out) stands for the machine's logger, which is neither seen nor
# touched. Bounded to 60 s; all it prints goes to $T/inner.log.
in_private_dev() {
	local script=$1 dev
	shift
	{
		echo 'set -u'
		printf 'mkdir -p %q\n' "$T/olddev"
		printf 'mount --bind /dev %q\n' "$T/olddev"
		echo 'mount -t tmpfs tmpfs /dev'
		for dev in "$@"; do
			if [ "$dev" = pts ]; then
				printf 'mkdir /dev/pts && mount --bind %q /dev/pts\n' "$T/olddev/pts"
			else
				printf 'touch /dev/%s && mount --bind %q /dev/%s\n' "$dev" "$T/olddev/$dev" "$dev"
			fi
		done
		printf '. %q\n' "$script"
	} >"$T/private-dev.sh"
	timeout 60 unshare -m --propagation private bash "$T/private-dev.sh" >"$T/inner.log" 2>&1
}

# in_throwaway_root SECS DIR SCRIPT ARG...: run `bash /tmp/t/SCRIPT ARG...`
# as root in a throwaway copy of this machine, so that it may install
# packages, add users and start daemons: private mount, PID and network
# namespaces (loopback up), chrooted into an overlay whose lower layer is
# the machine's root filesystem (what is mounted under / is not in it: a
# machine with /etc, /usr or /var on a file system of their own gets 77) and
# whose writes go to a tmpfs that vanishes with the namespaces; SECS bounds
# it all, and ending it kills everything it started. Inside, /proc is the
# namespace's own (it shows only what the script starts), /sys and /dev
# are the machine's, read-only, /run and /tmp fresh tmpfs, and DIR is
# copied to /tmp/t. Prints what the script prints; returns its status, or
# 77 when the copy of the machine cannot be made (the last line says why).
in_throwaway_root() {
	local secs=$1 dir=$2
	shift 2
	mkdir -p "$T/throwaway"
	{
		echo 'set -u'
		printf 'n=%q\n' "$T/throwaway"
		printf 'dir=%q\n' "$dir"
		# shellcheck disable=SC2016 # expanded by the script, not here
		cat <<'EOF'
setup() { "$@" 2>"$n.err" || { echo "cannot make a throwaway root: $* failed: $(tr -s '\n ' ' ' <"$n.err")"; exit 77; }; }
for d in /etc /usr /var; do
	! mountpoint -q "$d" || { echo "cannot make a throwaway root: $d is a mount of its own, which an overlay of / would miss"; exit 77; }
done
setup mount -t tmpfs -o mode=0755 throwaway "$n"
mkdir "$n/upper" "$n/work" "$n/root"
setup mount -t overlay throwaway -o "lowerdir=/,upperdir=$n/upper,workdir=$n/work" "$n/root"
r=$n/root
setup mount -t proc proc "$r/proc"
for d in sys dev; do
	setup mount --bind "/$d" "$r/$d"
	setup mount -o remount,bind,ro "$r/$d"
done
setup mount -t tmpfs -o mode=0755 run "$r/run"
setup mount -t tmpfs -o mode=1777 tmp "$r/tmp"
setup ip link set lo up
cp -r "$dir" "$r/tmp/t"
chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	LC_ALL=C DEBIAN_FRONTEND=noninteractive PORTSPLIT_THROWAWAY_ROOT=1 bash "/tmp/t/$@"
EOF
	} >"$T/throwaway.sh"
	timeout "$secs" unshare --mount --propagation private --pid --net --fork --kill-child \
		bash "$T/throwaway.sh" "$@" 2>&1
}

# ------------------------------------------------------------ PROXY protocol

# nginx_proxied FORMAT PORT...: nginx on 127.0.0.1:PORT (each), where a
# client must open with a PROXY header (listen ... proxy_protocol). It
# answers "hello" to any request and logs each as FORMAT (nginx variables
# such as $proxy_protocol_addr: quote it with '') in $T/access.log.
nginx_proxied() {
	local format=$1 port
	shift
	mkdir -p "$T/nginx"
	{
		cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log;
events { worker_connections 64; }
http {
	client_body_temp_path $T/nginx;
	proxy_temp_path $T/nginx;
	fastcgi_temp_path $T/nginx;
	uwsgi_temp_path $T/nginx;
	scgi_temp_path $T/nginx;
	log_format pp '$format';
	access_log $T/access.log pp;
	server {
EOF
		for port in "$@"; do
			printf '\t\tlisten 127.0.0.1:%s proxy_protocol;\n' "$port"
		done
		printf '\t\tlocation / { return 200 "hello\\n"; }\n\t}\n}\n'
	} >"$T/nginx.conf"
	spawn "$T/nginx.log" nginx -c "$T/nginx.conf" -p "$T/nginx"
	wait_port 127.0.0.1 "$1" || { diag <"$T/nginx-error.log"; bail "nginx listens"; }
}

# haproxy_conf MODE: starts $T/haproxy.cfg with the settings every test's
# HAProxy shares (MODE is tcp or http); the test appends its frontends and
# backends, then calls haproxy_start.
haproxy_conf() {
	printf 'global\n\tmaxconn 100\ndefaults\n\tmode %s\n' "$1" >"$T/haproxy.cfg"
	printf '\ttimeout %s\n' 'connect 5s' 'client 10s' 'server 10s' >>"$T/haproxy.cfg"
}

# haproxy_start PORT: HAProxy with the test's $T/haproxy.cfg, waited for
# on 127.0.0.1:PORT.
haproxy_start() {
	spawn "$T/haproxy.log" haproxy -db -f "$T/haproxy.cfg"
	wait_port 127.0.0.1 "$1" || { diag <"$T/haproxy.log"; bail "haproxy listens"; }
}

# curl_from SOURCE URL: the body of URL, fetched from the local address
# SOURCE (so that the server sees that client); errors in $T/curl.err.
curl_from() {
	timeout 20 curl -sS --max-time 15 --interface "$1" "$2" 2>>"$T/curl.err"
}

# ------------------------------------------------------------ ssh

# sshd_setup LINE...: a host key, a client key ($T/userkey) authorised for
# root, and $T/sshd_config with the settings every test needs plus LINE...
# (ListenAddress, PidFile, LogLevel: whatever the test's sshd differs by).
sshd_setup() {
	[ -x /usr/sbin/sshd ] || bail "/usr/sbin/sshd is installed (openssh-server)"
	ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || bail "ssh-keygen host key"
	ssh-keygen -q -t ed25519 -N '' -f "$T/userkey" || bail "ssh-keygen user key"
	cp "$T/userkey.pub" "$T/authorized_keys"
	mkdir -p /run/sshd # sshd's privilege separation directory
	{
		printf '%s\n' "$@"
		cat <<EOC
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
EOC
	} >"$T/sshd_config"
}

# ssh_to PORT COMMAND...: run COMMAND over ssh on 127.0.0.1:PORT with the
# key of sshd_setup, never asking anything, bounded in time.
ssh_to() {
	local port=$1
	shift
	timeout 60 ssh -F /dev/null -i "$T/userkey" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \
		-o ConnectTimeout=20 -p "$port" 127.0.0.1 "$@"
}

# ssh_ps COMMAND...: ssh_to the daemon's port $PS.
ssh_ps() { ssh_to "$PS" "$@"; }

# ps_start_ssh LINE...: start portsplit on 127.0.0.1:$PS (timeout 5) with
# two services: [http], ranked first, which "SSH-" must rule out, and
# [ssh] for clients that begin with "SSH-", whose action is the LINEs
# (connect = ..., or exec = /usr/sbin/sshd and its execargs).
ps_start_ssh() {
	{
		printf 'bind = 127.0.0.1:%s\ntimeout = 5\n' "$PS"
		printf '[http]\nregex = (?:GET|POST|HEAD) /\n'
		printf '[ssh]\nstring = SSH-\n'
		printf '%s\n' "$@"
	} >"$T/portsplit.ini"
	ps_start "$T/portsplit.ini" "$PS"
}

# ssh_up MIB WHAT: MIB MiB of random bytes sent up with ssh_ps into the
# remote sha256sum, which must print the sum of what was sent.
ssh_up() {
	local got
	head -c $(($1 * 1024 * 1024)) /dev/urandom >"$T/up.bin"
	got=$(ssh_ps sha256sum <"$T/up.bin" 2>>"$T/ssh.err" | cut -d' ' -f1)
	is "$got" "$(sha256 "$T/up.bin")" "$1 MiB up through $2: sha256 equal"
}
