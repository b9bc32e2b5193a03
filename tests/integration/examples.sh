# SPDX-License-Identifier: ISC
# Every configuration in examples/ validates with `portsplit -t` exactly as
# a user runs it from the source tree (`build/portsplit -t examples/X.ini`
# in the tree's top folder, the files as they stand): the program finds the
# tree's signature library by itself. The deployments route recorded real
# clients as their comments promise (`portsplit -c`). Nothing is started,
# so no ports are needed.
. "$(dirname "$0")/../lib.sh"

[ -x "$PORTSPLIT" ] || bail "portsplit binary exists at $PORTSPLIT"
top=$(cd "$TESTS_DIR/.." && pwd)
cd "$top" || bail "no source tree"
CLS=$TESTS_DIR/classify
# The library is the tree's, not an installed one.
[ ! -e examples/signatures ] || bail "examples/signatures must not exist (it would hide the lookup)"

n=0
for f in examples/*.ini examples/*/*.ini; do
	[ -f "$f" ] || continue
	out=$T/$(echo "$f" | tr / _).out
	timeout 10 "$PORTSPLIT" -t "$f" >"$out" 2>&1
	rc=$?
	is "$rc" 0 "portsplit -t $f"
	[ "$rc" = 0 ] || diag <"$out"
	if grep -q '^ *signature ' "$out"; then
		check "$f: its signatures come from the tree's library" \
			grep -qF "($top/signatures/" "$out"
	fi
	n=$((n + 1))
done
check "at least 5 examples ($n)" test "$n" -ge 5

: >"$T/empty.bin"
head -c 300 /dev/urandom >"$T/junk.bin"
printf '\x00\x01junk' >>"$T/junk.bin"

# routes EXAMPLE FILE SERVICE: `portsplit -c` sends FILE to SERVICE
routes() {
	local out
	out=$(cd "$CLS" && timeout 10 "$PORTSPLIT" -c "$top/examples/$1" "$2" 2>&1)
	case $out in
	"$2: $3 "*) ok "$1: $(basename "$2") -> $3" ;;
	*)
		not_ok "$1: $(basename "$2") -> $3"
		echo "#   $out" | cut -c1-200
		;;
	esac
}

e=ssh-https-openvpn-443.ini
routes $e ssh/openssh-9.2p1.bin ssh
for v in plain tls-auth tls-crypt tls-crypt-v2; do
	routes $e "$(cd "$CLS" && ls openvpn/*-"$v".bin | head -n 1)" openvpn
done
routes $e tls/curl-https.bin https
routes $e http/curl-get.bin http
routes $e "$T/junk.bin" fallback
routes $e "$T/empty.bin" timeout

e=sni-routing.ini
routes $e tls/curl-https.bin www               # www.example.org
routes $e tls/openssl-3.0.19-sni.bin www       # example.org
routes $e tls/wget-https.bin default-tls       # localhost
routes $e tls/openssl-3.0.19-nosni.bin default-tls
routes $e http/curl-get.bin http

e=smtp-timeout.ini
routes $e "$T/empty.bin" timeout
routes $e ssh/dropbear-dbclient.bin ssh
routes $e tls/python-ssl.bin submissions

e=vpn-behind-https/portsplit.ini
routes $e "$(cd "$CLS" && ls openvpn/*-tls-crypt.bin | head -n 1)" openvpn
routes $e ssh/openssh-9.2p1.bin ssh
routes $e tls/curl-https.bin https
routes $e http/curl-get.bin http
routes $e "$T/junk.bin" fallback
routes $e "$T/empty.bin" timeout

e=multi-address.ini
routes $e http2/curl-prior-knowledge.bin http
routes $e tls/gnutls-cli-3.7.9-sni.bin https
finish
