# SPDX-License-Identifier: ISC
# The README's "Try it" is true: `make run`'s configuration (portsplit.ini)
# with tools/demo-backends answers the README's commands as it says. The
# demo uses fixed ports (8443 and 18080-18082): skipped when one is taken.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$TESTS_DIR/.." && pwd)

for p in 8443 18080 18081 18082; do
	if "$PYTHON" "$NET" wait-port 127.0.0.1 "$p" 0.2 2>/dev/null; then
		skip "demo" "port $p is in use on this machine"
		finish
	fi
done
spawn "$T/backends.log" "$top/tools/demo-backends"
wait_port 127.0.0.1 18082 10 || bail "demo backends did not start"
cd "$top" || bail "no source tree"
ps_start portsplit.ini 8443

body=$(timeout 10 curl -s http://127.0.0.1:8443/README.md | head -1)
is "$body" "# portsplit" "curl http://127.0.0.1:8443/README.md -> the demo web server"
reply=$(echo hello | timeout 10 nc -q1 127.0.0.1 8443)
is "$reply" hello "echo hello | nc -q1 127.0.0.1 8443 -> fallback echoes hello"
greeting=$(timeout 10 nc -d 127.0.0.1 8443 </dev/null | head -c 12)
is "$greeting" "220 demo gre" "nc with nothing typed -> the timeout service's greeting"
check "log: decisions for http, fallback and timeout" \
	test "$(grep -cE 'decision .*service=(http|fallback|timeout) ' "$PS_LOG")" -eq 3
finish
