# SPDX-License-Identifier: ISC
# replay_window, fresh and frame_timeout with a real OpenVPN server
# (tls-crypt) and a real nginx behind portsplit: a real client connects; a
# captured first packet replayed, the same packet with an old time, and a
# fragment of it all get what nginx alone answers to those bytes -- the
# fragment at once, not after the timeout.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/probing/lib.sh"

need nginx openvpn openssl curl
read -r P WEB OVPN <<<"$(free_ports 3)"
pki_setup
nginx_start "$WEB"
openvpn_server_start "$OVPN"

cat >"$T/ps.ini" <<EOF
bind = 127.0.0.1:$P
signature_path = $(cd "$TESTS_DIR/../signatures" && pwd)
timeout = 3
frame_timeout = 0.3
workers = ${WORKERS:-1}
[openvpn]
signature = openvpn
fresh = 15:be32 60
replay_window = 120
connect = 127.0.0.1:$OVPN
[https]
signature = tls
connect = 127.0.0.1:$WEB
[fallback]
connect = 127.0.0.1:$WEB
[timeout]
connect = 127.0.0.1:$WEB
EOF
ps_start "$T/ps.ini" "$P"

check "a real OpenVPN tls-crypt client connects through portsplit" \
	openvpn_connects "$P" client1
check "its decision went to openvpn" wait_log "service=openvpn "

check "the web site answers through portsplit" \
	eval "curl -sk --max-time 10 https://127.0.0.1:$P/ | grep -q 'the web site'"

# A genuine first packet, captured off the wire (the capture listener took
# it, so neither portsplit nor the server has seen it yet).
openvpn_first_packet "$T/first.bin"
pkt=$(hexof "$T/first.bin")
web_answer() { json "$(probe_one "$WEB" "$1" 3)" digest; }

r=$(probe_one "$P" "$pkt" 3)
check "the captured packet, first sent: the OpenVPN server answers ($(json "$r" got) bytes, \"$(json "$r" head | cut -c1-24)\")" \
	test "$(json "$r" got)" -gt 0 -a "$(json "$r" head | cut -c1-4)" != "HTTP"

want=$(web_answer "$pkt")
r=$(probe_one "$P" "$pkt" 3)
is "$(json "$r" digest)" "$want" "the same packet replayed gets nginx's own answer to it ($(json "$r" got) bytes, $(json "$r" end) after $(json "$r" ms) ms)"
check "the decision says why" wait_log "ruled out by a guard: openvpn \(replayed first message\)"

# The same packet with its time an hour old (the server would reject it
# anyway: the time is authenticated; portsplit must not even ask it).
old=$(( $(printf '%d' "0x${pkt:30:8}") - 3600 ))
stale=${pkt:0:30}$(printf '%08x' "$old")${pkt:38}
r=$(probe_one "$P" "$stale" 3)
is "$(json "$r" digest)" "$(web_answer "$stale")" "a packet an hour old gets nginx's answer"
check "the decision says the time is too far from now" wait_log "openvpn \(time too far from now\)"

# nmap's keyless probe: no time where tls-crypt has one.
nmap=000e38$(printf '00%.0s' $(seq 13))
r=$(probe_one "$P" "$nmap" 3)
is "$(json "$r" digest)" "$(web_answer "$nmap")" "nmap's 16-byte OpenVPN probe gets nginx's answer"

# 15 bytes of a fresh packet: a tls-crypt packet's start, then nothing.
frag=${pkt:0:30}
r=$(probe_one "$P" "$frag" 5)
b=$(probe_one "$WEB" "$frag" 5)
is "$(json "$r" digest) $(json "$r" end)" "$(json "$b" digest) $(json "$b" end)" \
	"a 15-byte fragment gets nginx's answer"
check "promptly: $(json "$r" ms) ms through portsplit (frame_timeout 300 ms), $(json "$b" ms) ms from nginx alone, the timeout is 3000" \
	test "$(json "$r" ms)" -lt 1500

check "a real client still connects after all that" openvpn_connects "$P" client2

# Workers share the replay set: with two of them, a replay is caught on
# whichever worker the kernel gives it to.
ps_stop >/dev/null
sed -i 's/^workers = .*/workers = 2/' "$T/ps.ini"
ps_start "$T/ps.ini" "$P"
openvpn_first_packet "$T/second.bin"
pkt=$(hexof "$T/second.bin")
probe_one "$P" "$pkt" 3 >/dev/null
want=$(web_answer "$pkt")
caught=0
for _ in $(seq 16); do
	r=$(probe_one "$P" "$pkt" 3)
	[ "$(json "$r" digest)" = "$want" ] && caught=$((caught + 1))
done
is "$caught" 16 "workers = 2: all 16 replays get nginx's answer"
# 17 connections all on one worker: about one chance in 65 000.
check "both workers took some of them" \
	test "$(grep -oE '\[[0-9]+\] decision' "$PS_LOG" | sort -u | wc -l)" -ge 2
finish
