# SPDX-License-Identifier: ISC
# Real clients driven through the values their protocols leave free, so
# that every byte value lands in their length fields: openssl s_client with
# server names of 1 to 255 characters (the SNI, extension, handshake and
# record lengths), psql with user names of 1 to 256 characters (the startup
# message length), ldapsearch with bind DNs of many lengths (BER short and
# long form) and with search filters of many sizes (after a BindResponse),
# and dig +tcp (random query IDs, names of many lengths). Each first
# message is recorded once (tests/helpers/recorder.py) and classified with
# `portsplit -c` and a configuration holding every library signature; each
# server name must also be matched by tls-sni with that name. The unit test
# test_sweep does the same on the recorded samples for every byte value.
# The matcher does not depend on the event loop or relay, so the sweep runs
# once, in the default variant.
. "$(dirname "$0")/../lib.sh"

[ -x "$PORTSPLIT" ] || bail "portsplit binary exists at $PORTSPLIT"
if [ -n "${PORTSPLIT_LOOP:-}${PORTSPLIT_RELAY:-}" ]; then
	skip "client sweeps" "offline classification: run in the default variant only"
	finish
fi
LIB=$(cd "$TESTS_DIR/../signatures" && pwd)
REC=$TESTS_DIR/helpers/recorder.py

library_conf 1 2 >"$T/all.ini"

# rec NAME FRAME [OPTIONS]: a recorder writing to $T/NAME/; sets REC_PORT
rec() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	spawn "$T/rec-$name.log" "$PYTHON" "$REC" "$T/$name" "$@"
	REC_PID=$SPAWNED
	for _ in $(seq 100); do
		REC_PORT=$(head -n 1 "$T/rec-$name.log")
		[ -n "$REC_PORT" ] && return 0
		sleep 0.1
	done
	bail "recorder $name listens"
}

# settle NAME N: wait until the recorder wrote N files, then stop it
settle() {
	for _ in $(seq 50); do
		[ "$(find "$T/$1" -name '*.bin' | wc -l)" -ge "$2" ] && break
		sleep 0.1
	done
	stop "$REC_PID"
}

# routed NAME WANT DESC: every recorded file of NAME -> WANT with -c
routed() {
	local name=$1 want=$2 desc=$3 n bad
	n=$(find "$T/$name" -name '*.bin' -size +0 | wc -l)
	(cd "$T/$name" && timeout 120 "$PORTSPLIT" -c "$T/all.ini" $(ls | sort -n)) >"$T/$name.out" 2>&1
	bad=$(grep -vc ": $want (" "$T/$name.out")
	if [ "$n" -gt 0 ] && [ "$bad" = 0 ]; then
		ok "$desc: $n first messages -> $want"
	else
		not_ok "$desc: $n first messages -> $want ($bad elsewhere)"
		grep -v ": $want (" "$T/$name.out" | head -n 5 | cut -c1-200 | diag
	fi
}

# name N: a DNS name of N characters, labels of at most 62
name() {
	local n=$1 s="" i
	for ((i = 0; i < n; i++)); do
		if [ $((i % 63)) = 62 ] && [ "$i" -lt $((n - 1)) ]; then s+=.; else s+=a; fi
	done
	printf '%s' "$s"
}

# rep C N: the character C N times
rep() { local s; printf -v s '%*s' "$2" ''; printf '%s' "${s// /$1}"; }

# lengths LO HI BASE: the values N in LO..HI worth a client run: the edges,
# values that are themselves 0x0a, 0x0d, 0x20, 0x7f, 0x80, 0xff..., every
# 16th, and those that put 0x00 0x0a 0x0d 0x20 0x7f 0x80 0xff in the low byte
# of BASE + N (the message's length when BASE is its length at N = 0).
lengths() {
	local lo=$1 hi=$2 base=$3 n
	for ((n = lo; n <= hi; n++)); do
		case $(((base + n) & 255)) in 0 | 10 | 13 | 32 | 127 | 128 | 255) echo "$n"; continue ;; esac
		case $n in 1 | 2 | 10 | 13 | 32 | 62 | 63 | 64 | 127 | 128 | 129 | 253 | 254 | 255 | 256) echo "$n"; continue ;; esac
		[ $((n % 16)) = 0 ] && echo "$n"
		[ "$n" = "$lo" ] || [ "$n" = "$hi" ] && echo "$n"
	done | sort -nu
}

# each FUNCTION VALUE...: FUNCTION VALUE for each value, three at a time
# (waiting for those runs by PID: the recorder runs in the background too)
each() {
	local f=$1 v pids=()
	shift
	for v in "$@"; do
		"$f" "$v" &
		pids+=("$!")
		if [ "${#pids[@]}" -ge 3 ]; then
			wait "${pids[0]}"
			pids=("${pids[@]:1}")
		fi
	done
	[ "${#pids[@]}" = 0 ] || wait "${pids[@]}"
}

# ------------------------------------------------------------ openssl
if command -v openssl >/dev/null; then
	rec tls1 tls
	s_client() {
		timeout 10 openssl s_client -connect "127.0.0.1:$REC_PORT" \
			-servername "$(name "$1")" </dev/null >/dev/null 2>&1
	}
	s_client 1
	settle tls1 1
	base=$(od -An -tu1 -j3 -N2 "$T/tls1/1.bin" | awk '{ print $1 * 256 + $2 - 1 }')
	rec tls tls
	mapfile -t ns < <(lengths 1 253 "$base")
	each s_client "${ns[@]}"
	settle tls "${#ns[@]}"
	routed tls tls "openssl s_client -servername of 1..253 characters (${#ns[@]} lengths)"
	# Each hello must match tls-sni with its own name, among the others.
	{
		printf 'bind = 127.0.0.1:1\nsignature_path = %s\n[named]\n' "$LIB"
		for n in "${ns[@]}"; do printf 'signature = tls-sni %s\n' "$(name "$n")"; done
		printf '[tls]\nsignature = tls\n'
	} >"$T/sni.ini"
	(cd "$T/tls" && timeout 60 "$PORTSPLIT" -c "$T/sni.ini" $(ls)) >"$T/sni.out" 2>&1
	is "$(grep -vc ': named (' "$T/sni.out")" 0 \
		"tls-sni NAME matches the hello naming NAME, for those names"
	[ "$FAILED" = 0 ] || grep -v ': named (' "$T/sni.out" | head -n 3 | cut -c1-200 | diag
	printf 'bind = 127.0.0.1:1\nsignature_path = %s\n[named]\nsignature = tls-sni %s\n[tls]\nsignature = tls\n' \
		"$LIB" "$(name 64)" >"$T/sni1.ini"
	(cd "$T/tls" && timeout 60 "$PORTSPLIT" -c "$T/sni1.ini" $(ls)) >"$T/sni1.out" 2>&1
	is "$(grep -c ': named (' "$T/sni1.out")" 1 \
		"tls-sni with one of those names matches one hello; the others go to tls"
else
	skip "openssl sweep" "no openssl"
fi

# ------------------------------------------------------------ psql
if command -v psql >/dev/null; then
	rec pg be32
	psql_user() {
		timeout 10 psql "host=127.0.0.1 port=$REC_PORT user=$(rep u "$1") dbname=db sslmode=disable connect_timeout=5" \
			-c 'select 1' </dev/null >/dev/null 2>&1
	}
	# The startup message is 8 + "user" + "database" + "db" +
	# "application_name" + "psql" + NULs = 50 bytes plus the user name.
	mapfile -t ns < <(lengths 1 300 50)
	each psql_user "${ns[@]}"
	settle pg "${#ns[@]}"
	routed pg postgres "psql with user names of 1..300 characters (${#ns[@]} lengths)"
else
	skip "psql sweep" "no psql (postgresql-client)"
fi

# ------------------------------------------------------------ ldapsearch
if command -v ldapsearch >/dev/null; then
	rec ldapbind ber
	ldap_bind() {
		timeout 10 ldapsearch -x -H "ldap://127.0.0.1:$REC_PORT" -o nettimeout=5 \
			-D "cn=$(rep b "$1"),dc=example,dc=org" -w secret \
			-b dc=example,dc=org </dev/null >/dev/null 2>&1
	}
	# A bind is 40 bytes plus the DN's "cn=" part; BER switches to the
	# long form at 128 and to two length bytes at 256.
	mapfile -t ns < <(lengths 1 300 40)
	each ldap_bind "${ns[@]}"
	settle ldapbind "${#ns[@]}"
	routed ldapbind ldap "ldapsearch binds with DNs of 1..300 characters (${#ns[@]} lengths)"
	# A BindResponse (success) lets ldapsearch send its search; the
	# search request alone is classified, as a client that does not bind
	# first would send it.
	rec ldapsearch ber --reply 300c02010161070a010004000400 --keep 2
	ldap_search() {
		timeout 10 ldapsearch -x -H "ldap://127.0.0.1:$REC_PORT" -o nettimeout=5 \
			-b dc=example,dc=org "(cn=$(rep f "$1"))" cn </dev/null >/dev/null 2>&1
	}
	mapfile -t ns < <(lengths 1 400 50)
	each ldap_search "${ns[@]}"
	settle ldapsearch "${#ns[@]}"
	mkdir -p "$T/ldapsearch2"
	"$PYTHON" - "$T/ldapsearch" "$T/ldapsearch2" <<'EOF'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
for f in os.listdir(src):
    d = open(os.path.join(src, f), "rb").read()
    n = 2 + d[1] if d[1] < 0x80 else 2 + (d[1] & 0x7f) + int.from_bytes(d[2:2 + (d[1] & 0x7f)], "big")
    if len(d) > n:
        open(os.path.join(dst, f), "wb").write(d[n:])
EOF
	routed ldapsearch2 ldap "ldapsearch search requests with filters of 1..400 characters (${#ns[@]} sizes)"
else
	skip "ldapsearch sweep" "no ldapsearch (ldap-utils)"
fi

# ------------------------------------------------------------ dig
if command -v dig >/dev/null; then
	rec dns be16
	dig_name() {
		timeout 10 dig +tcp +tries=1 +time=2 @127.0.0.1 -p "$REC_PORT" "$(name "$1")" A \
			</dev/null >/dev/null 2>&1
	}
	mapfile -t ns < <(lengths 1 253 40)
	each dig_name "${ns[@]}"
	settle dns "${#ns[@]}"
	routed dns dns "dig +tcp with names of 1..253 characters and random IDs (${#ns[@]} queries)"
else
	skip "dig sweep" "no dig (bind9-dnsutils)"
fi
finish
