# SPDX-License-Identifier: ISC
# pty = yes: /bin/sh -i runs on a new pseudo-terminal as a session leader
# with the terminal as its controlling tty; portsplit relays it. The bytes
# the decision was made on reach the terminal first; typed text is echoed;
# the client's FIN is an end-of-file for the shell; a client that leaves
# hangs the terminal up, and the whole session goes away.
. "$(dirname "$0")/../lib.sh"

read -r PS <<<"$(free_ports 1)"

cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 5
[shell]
string = echo\20
exec = /bin/sh
execarg = -i
pty = yes
[raw]
string = RAW
exec = /bin/sh
execarg = -c
execarg = stty raw -echo; echo READY; head -c 4 >/dev/null; exec cat
pty = yes
EOF
ps_start "$T/portsplit.ini" "$PS"

talk 127.0.0.1 "$PS" send 'echo peeked-first\n' expect 'peeked-first\r\n' 5 \
	send 'tty; stty size; echo "pid=$$ sid=$(cut -d" " -f6 /proc/$$/stat) pgrp=$(cut -d" " -f5 /proc/$$/stat)"\n' \
	expect 'pgrp=' 5 sleep 0.2 \
	send 'echo "typed""-text"\n' expect 'typed-text\r\n' 5 \
	send 'echo "by""e"\n' shutwr expect 'bye\r\n' 5 eof 5 >"$T/out" 2>"$T/talk.err"
is "$?" 0 "an interactive shell session through the pty ends with the client's FIN"
out=$(tr -d '\r' <"$T/out")
# The terminal echoes input as it arrives, so prompts ("# " or "$ ") may
# come first on a line, or between a command's echo and its output; the
# quotes make a command's echo differ from its output.
P='^([#$] )*'
check "the matched bytes reached the shell first: 'echo peeked-first' ran" grep -Eq "${P}peeked-first\$" <<<"$out"
check "tty reports a terminal: $(grep -o '/dev/pts/[0-9]*' <<<"$out" | head -n 1)" grep -Eq "${P}/dev/pts/[0-9]+\$" <<<"$out"
check "the terminal is 24 rows, 80 columns" grep -Eq "${P}24 80\$" <<<"$out"
ids=$(grep -o 'pid=[0-9]* sid=[0-9]* pgrp=[0-9]*' <<<"$out" | head -n 1)
read -r pid sid pgrp <<<"$(sed 's/[a-z]*=//g' <<<"$ids")"
check "the shell leads its own session ($ids)" [ -n "$pid" ] && [ "$pid" = "$sid" ]
check "typed text is echoed by the terminal" grep -Eq "${P}echo \"typed\"\"-text\"\$" <<<"$out"
check "... and the command's output follows" grep -Eq "${P}typed-text\$" <<<"$out"
check "close line: bytes counted both ways, exit=0" \
	wait_log 'close conn=[0-9]+ client=[^ ]+ service=shell up=[1-9][0-9]* down=[1-9][0-9]* duration=[0-9.]+ exit=0$'

# A client that leaves while a command runs: the shell gets its EOF
# character, but sleep has the terminal; 5 s after the client's FIN the
# terminal hangs up, the shell and its foreground job go, and the close line
# says how.
talk 127.0.0.1 "$PS" send 'echo start\n' expect 'start\r\n' 5 \
	send 'echo "si""d=$$"; sleep 30\n' expect 'sid=' 5 sleep 0.3 close >"$T/out2" 2>>"$T/talk.err"
is "$?" 0 "second session: a command is left running and the client closes"
sid2=$(grep -o 'sid=[0-9][0-9]*' "$T/out2" | head -n 1 | cut -d= -f2)
check "close line after the hang-up, with the signal" wait_log 'close conn=2 .*service=shell .*duration=[5-7]\.[0-9]+ (exit|signal)=[0-9]+$' 9
check "session id of the second shell known ($sid2)" [ -n "$sid2" ]
# (An orphan that init has not reaped yet is a zombie, and not ours.)
left=$(ps -eo sid=,stat=,pid=,args= | awk -v s="$sid2" '$1 == s && $2 !~ /^Z/')
is "$left" "" "nothing of session $sid2 runs any more (the shell and its sleep)"
zombies=$(ps -eo ppid=,stat=,pid= | awk -v p="$PS_PID" '$1 == p && $2 ~ /^Z/')
is "$zombies" "" "no zombie children of portsplit"

# 1 MiB each way through a raw terminal (cat): the pty's buffers are a
# few KiB, so both directions run on backpressure the whole time. The
# program swallows the 4 bytes "RAW\n" the decision was made on.
cat >"$T/bulk.py" <<'PY'
import hashlib, os, socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"RAW\n")
buf = b""
while b"READY" not in buf:
    d = s.recv(100)
    if not d:
        sys.exit("no READY: %r" % buf)
    buf += d
got = bytearray(buf[buf.index(b"READY") + 5:].lstrip(b"\r\n"))
data = os.urandom(1 << 20)
def reader():
    while len(got) < len(data):
        d = s.recv(65536)
        if not d:
            break
        got.extend(d)
t = threading.Thread(target=reader)
t.start()
s.sendall(data)
t.join(30)
print(hashlib.sha256(data).hexdigest(), hashlib.sha256(bytes(got)).hexdigest(), len(got))
PY
read -r want got n <<<"$(timeout 60 "$PYTHON" "$T/bulk.py" "$PS" 2>"$T/bulk.err")"
check "1 MiB through a raw pty and back: $n bytes, sha256 equal" [ -n "$want" ] && [ "$want" = "$got" ]

[ "$FAILED" = 0 ] || { diag <"$T/out"; diag <"$T/talk.err"; diag <"$T/bulk.err"; }
finish
