# SPDX-License-Identifier: ISC
# The daemon and `portsplit -c` agree: every recorded client in
# tests/classify/ (and every TLS ClientHello of it split into two records
# at a few offsets, sent as two writes) is replayed to a running portsplit
# with every library signature, and the service of its decision line must
# be the one -c prints for the same bytes, which must be the folder's
# name. dig +tcp queries (random IDs) sent to the daemon must all be
# decided as dns.
. "$(dirname "$0")/../lib.sh"

[ -x "$PORTSPLIT" ] || bail "portsplit binary exists at $PORTSPLIT"
CLS=$TESTS_DIR/classify
PS=$(free_ports 1)
library_conf "$PS" 3 >"$T/all.ini"

mkdir -p "$T/in"
# The samples, named PROTO_NAME.bin, and each TLS hello split into two
# records at 1, 40 and the middle of the hello (tls_splitK-NAME.bin).
"$PYTHON" - "$CLS" "$T/in" <<'EOF'
import os, shutil, sys
src, d = sys.argv[1], sys.argv[2]
for proto in os.listdir(src):
    if not os.path.isdir(os.path.join(src, proto)):
        continue
    for f in os.listdir(os.path.join(src, proto)):
        if f.endswith(".bin"):
            shutil.copy(os.path.join(src, proto, f), os.path.join(d, f"{proto}_{f}"))
for f in sorted(os.listdir(d)):
    if not f.startswith("tls_"):
        continue
    b = open(os.path.join(d, f), "rb").read()
    n = b[3] << 8 | b[4]
    body = b[5:5 + n]
    for k in (1, 40, n // 2):
        out = b[:3] + k.to_bytes(2, "big") + body[:k] + b[:3] + (n - k).to_bytes(2, "big") + body[k:]
        open(os.path.join(d, f"tls_split{k}-{f[4:]}"), "wb").write(out)
EOF
mapfile -t files < <(ls "$T/in" | sort)
(cd "$T/in" && timeout 120 "$PORTSPLIT" -c "$T/all.ini" "${files[@]}") >"$T/c.out" 2>&1
is "$(wc -l <"$T/c.out" | tr -d ' ')" "${#files[@]}" "-c prints one line per input (${#files[@]})"

ps_start "$T/all.ini" "$PS"
# One connection per file, in order: the bytes (a split hello as two
# writes 50 ms apart), then wait until portsplit closes the connection.
"$PYTHON" - "$T/in" "$PS" "${files[@]}" <<'EOF'
import socket, sys, time
d, port, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for f in files:
    b = open(f"{d}/{f}", "rb").read()
    parts = [b]
    if f.startswith("tls_split"):
        n = b[3] << 8 | b[4]
        parts = [b[:5 + n], b[5 + n:]]
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.settimeout(6)
    for i, p in enumerate(parts):
        if i:
            time.sleep(0.05)
        s.sendall(p)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
EOF
wait_log "decision conn=${#files[@]} " 10
# Compare: the daemon's decisions in connection order, -c's lines, and
# the protocol each file comes from.
"$PYTHON" - "$T/c.out" "$PS_LOG" "${files[@]}" >"$T/cmp.out" <<'EOF'
import re, sys
cout, log, files = sys.argv[1], sys.argv[2], sys.argv[3:]
c = {}
for line in open(cout):
    name, rest = line.split(": ", 1)
    c[name] = rest.split(" ", 1)[0].strip()
got = [m.group(1) for m in re.finditer(r" decision .* service=(\S+)", open(log).read())]
print("decisions", len(got))
agree = right = 0
for i, f in enumerate(files):
    want = "tls" if f.startswith("tls_split") else f.split("_", 1)[0]
    d = got[i] if i < len(got) else "nothing"
    if c.get(f) == d:
        agree += 1
    else:
        print(f"# {f}: -c says {c.get(f)}, the daemon {d}")
    if c.get(f) == want:
        right += 1
    else:
        print(f"# {f}: -c says {c.get(f)}, not {want}")
print("agree", agree)
print("right", right)
EOF
is "$(sed -n 's/^decisions //p' "$T/cmp.out")" "${#files[@]}" "the daemon logs one decision per connection"
is "$(sed -n 's/^agree //p' "$T/cmp.out")" "${#files[@]}" "the daemon and -c agree on every input"
is "$(sed -n 's/^right //p' "$T/cmp.out")" "${#files[@]}" "every input goes to its protocol (split hellos to tls)"
grep '^#' "$T/cmp.out" | head -n 10

if command -v dig >/dev/null; then
	n0=$(log_count 'decision .*service=dns( |$)')
	for _ in $(seq 24); do
		timeout 10 dig +tcp +tries=1 +time=2 @127.0.0.1 -p "$PS" example.org A >/dev/null 2>&1
	done
	wait_log 'decision .*service=dns' 5
	is "$(($(log_count 'decision .*service=dns( |$)') - n0))" 24 \
		"24 dig +tcp queries (random IDs) decided as dns by the daemon"
else
	skip "dig to the daemon" "no dig (bind9-dnsutils)"
fi
ps_stop
is "$?" 0 "portsplit exits 0 on SIGTERM"
finish
