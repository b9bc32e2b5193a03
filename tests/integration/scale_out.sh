# SPDX-License-Identifier: ISC
# examples/scale-out, for real: HAProxy (mode tcp, send-proxy-v2, health
# checks with a LOCAL header) in front of two portsplit processes with
# proxy_from, nginx behind them logging $proxy_protocol_addr. Clients come
# from 127.0.0.2. One portsplit is killed in the middle of the run: the
# clients after it are all served, and nginx logs 127.0.0.2 for every one.
# The example's own files are used, on free ports.
. "$(dirname "$0")/../lib.sh"

command -v nginx >/dev/null || { skip "nginx" "nginx is not installed"; finish; }
command -v haproxy >/dev/null || { skip "haproxy" "haproxy is not installed"; finish; }
EX=$(cd "$TESTS_DIR/../examples/scale-out" && pwd)
read -r FRONT PS1 PS2 NG <<<"$(free_ports 4)"
ln -s "$(cd "$TESTS_DIR/../signatures" && pwd)" "$T/signatures"

# The example's files with this run's ports and paths.
sed -e "s/0\.0\.0\.0:443/127.0.0.1:$FRONT/; s/127\.0\.0\.1:10443/127.0.0.1:$PS1/; s/127\.0\.0\.1:10444/127.0.0.1:$PS2/" \
	"$EX/haproxy.cfg" >"$T/haproxy.cfg"
for i in 1 2; do
	port=$PS1
	[ "$i" = 2 ] && port=$PS2
	sed -e "s/^bind = .*/bind = 127.0.0.1:$port/; s/127\.0\.0\.1:8080/127.0.0.1:$NG/" \
		"$EX/portsplit-$i.ini" >"$T/portsplit-$i.ini"
	"$PORTSPLIT" -t "$T/portsplit-$i.ini" >"$T/check-$i.out" 2>&1
	is "$?" 0 "examples/scale-out/portsplit-$i.ini passes portsplit -t"
done
mkdir -p "$T/nginx"
sed -e "s|/var/log/nginx/scale-out.log|$T/access.log|; s/127\.0\.0\.1:8080/127.0.0.1:$NG/" \
	-e "1i daemon off; master_process off; pid $T/nginx.pid; error_log $T/nginx-error.log;" \
	-e "s|^http {|http { client_body_temp_path $T/nginx; proxy_temp_path $T/nginx; fastcgi_temp_path $T/nginx; uwsgi_temp_path $T/nginx; scgi_temp_path $T/nginx;|" \
	"$EX/nginx.conf" >"$T/nginx.conf"

spawn "$T/nginx.log" nginx -c "$T/nginx.conf" -p "$T/nginx"
wait_port 127.0.0.1 "$NG" || { diag <"$T/nginx-error.log"; bail "nginx listens"; }
ps_start "$T/portsplit-1.ini" "$PS1"
spawn "$T/ps2.log" "$PORTSPLIT" "$T/portsplit-2.ini"
PS2_PID=$SPAWNED
for _ in $(seq 100); do grep -q "listening on .*:$PS2" "$T/ps2.log" && break; sleep 0.1; done
grep -q "listening on .*:$PS2" "$T/ps2.log" || bail "the second portsplit listens"
spawn "$T/haproxy.log" haproxy -db -f "$T/haproxy.cfg"
wait_port 127.0.0.1 "$FRONT" || { diag <"$T/haproxy.log"; bail "haproxy listens"; }
sleep 1.5 # both servers pass their first health checks

get() { # get N: N requests from 127.0.0.2 through HAProxy; prints how many got "served"
	local n=0
	for i in $(seq "$1"); do
		out=$(timeout 10 curl -sS --max-time 8 --interface 127.0.0.2 "http://127.0.0.1:$FRONT/r$2-$i" 2>>"$T/curl.err")
		[ "$out" = served ] && n=$((n + 1))
	done
	echo "$n"
}
is "$(get 20 a)" 20 "20 clients through HAProxy and two portsplits are served"
check "portsplit 1 served some" grep -q 'decision .*service=web' "$PS_LOG"
check "portsplit 2 served some" grep -q 'decision .*service=web' "$T/ps2.log"
check "portsplit logs the client 127.0.0.2, via HAProxy" \
	grep -Eq 'decision .*client=127\.0\.0\.2:[0-9]+ .*via=127\.0\.0\.1:' "$PS_LOG"

kill -KILL "$PS2_PID"
wait "$PS2_PID" 2>/dev/null
is "$(get 30 b)" 30 "after one portsplit is killed, 30 more clients are all served"
sleep 0.3
total=$(grep -c ' "GET /r' "$T/access.log")
real=$(grep -c '^127\.0\.0\.2 - .* "GET /r' "$T/access.log")
is "$total" 50 "nginx logged 50 requests"
is "$real" 50 "every one with the client's own address 127.0.0.2"
# A health check's LOCAL header leaves the balancer as the client: such a
# decision line would have client= equal to via=.
hc=$(grep 'decision ' "$PS_LOG" | sed -n 's/.* client=\([^ ]*\) .* via=\([^ ]*\).*/\1 \2/p' | awk '$1 == $2' | wc -l)
check "HAProxy's health checks (LOCAL headers) are not logged as clients ($hc)" test "$hc" = 0

[ "$FAILED" = 0 ] || { diag <"$T/curl.err"; tail -n 20 "$T/haproxy.log" | diag; tail -n 5 "$T/access.log" | diag; grep "client=127\.0\.0\.1:" "$PS_LOG" | head -5 | diag; }
finish
