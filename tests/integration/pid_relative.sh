# SPDX-License-Identifier: ISC
# A relative `pid =` path (issue 9, item 10) is taken from the folder of the
# configuration file, made absolute when the file is loaded: `-t` shows
# where it is, the stale-file check at start and the writing after -d (which
# moves to /) use the same file, and SIGTERM removes it.
. "$(dirname "$0")/../lib.sh"

read -r PS <<<"$(free_ports 1)"
mkdir -p "$T/conf/run" "$T/elsewhere"
NAME=portsplit-test-$$.pid
cat >"$T/conf/rel.ini" <<EOF
bind = 127.0.0.1:$PS
pid = run/$NAME
log = $T/file.log
[hello]
string = HELLO
exec = /bin/echo
execarg = hi
EOF
PIDF=$T/conf/run/$NAME

out=$(cd "$T/elsewhere" && "$PORTSPLIT" -t ../conf/rel.ini 2>&1)
check "-t from another folder names the file beside the configuration" \
	grep -q "pid file $PIDF\$" <<<"$out"

# A stale file where the path leads: removed at start, not another one.
echo 999999999 >"$PIDF"
(cd "$T/elsewhere" && timeout 10 "$PORTSPLIT" -d ../conf/rel.ini) >"$T/d.out" 2>&1
is "$?" 0 "portsplit -d with a relative pid path, started in another folder, returns 0"
# Wherever a daemon wrote its pid, it is stopped at the end.
for f in "/run/$NAME" "$T/elsewhere/run/$NAME"; do
	other=$(cat "$f" 2>/dev/null) && [ -n "$other" ] && PIDS+=("$other")
done
pid=$(cat "$PIDF" 2>/dev/null)
case $pid in
'' | 999999999) pid= ;;
*) PIDS+=("$pid") ;;
esac
check "the pid file beside the configuration names the running daemon ($pid)" \
	test -n "$pid"
[ -n "$pid" ] || bail "the daemon wrote its pid file beside the configuration"
check "... which runs" alive "$pid"
check "the stale file there was logged and replaced" grep -q "pid file $PIDF is stale" "$T/file.log"
check "no pid file was written in the start folder" test ! -e "$T/elsewhere/run/$NAME"
check "... nor under / (where -d moved to)" test ! -e "/run/$NAME"
out=$(talk 127.0.0.1 "$PS" send 'HELLO\n' eof 5 2>"$T/talk.err")
is "$out" hi "it serves"
kill -TERM "$pid"
for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
check "SIGTERM: the daemon exits" sh -c "! kill -0 $pid 2>/dev/null"
check "... and removes the pid file" test ! -e "$PIDF"
finish
