# SPDX-License-Identifier: ISC
# No way out of the chroot (issue 9, item 4): with `chroot =`, `user =` and
# a pid file outside the jail, no process that holds a client's socket has
# a directory descriptor (or a working directory) outside the jail — an
# open folder would let fchdir() leave it. The pid file is still removed at
# exit. Checked with one worker and with two.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "descriptors after chroot" "not root"
	finish
fi

read -r PS ID <<<"$(free_ports 2)"
serve ident ident --port "$ID" --name id
JAIL=$T/jail
mkdir -p "$JAIL" "$T/run"
uid=$((61000 + RANDOM % 3000))
chown "$uid" "$T/run" # the user removes the pid file at exit

# inspect.py PORT JAIL: holds a client connection, finds the processes
# holding a socket of an established connection on PORT (the ones that
# handle client bytes), and prints, per process, "pid P" then every
# directory it holds outside JAIL ("out fd N PATH", "out cwd PATH").
cat >"$T/inspect.py" <<'PY'
import os, socket, sys
port, jail = int(sys.argv[1]), os.path.realpath(sys.argv[2])
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"ECHO\n")
got = b""
while not got.endswith(b"ECHO\n"):
    b = c.recv(100)
    if not b:
        sys.exit("not served")
    got += b
inodes = set()
for line in open("/proc/net/tcp").read().splitlines()[1:]:
    f = line.split()
    if int(f[1].split(":")[1], 16) == port and f[3] == "01":
        inodes.add("socket:[%s]" % f[9])
def inside(path):
    return path == jail or path.startswith(jail + "/")
for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
    fddir = "/proc/%s/fd" % pid
    try:
        fds = os.listdir(fddir)
        links = {fd: os.readlink(os.path.join(fddir, fd)) for fd in fds}
    except OSError:
        continue
    if not inodes & set(links.values()):
        continue
    print("pid", pid)
    for fd, target in links.items():
        try:
            isdir = os.path.isdir(os.path.join(fddir, fd))
        except OSError:
            continue
        if isdir and not inside(target):
            print("out fd", fd, target)
    cwd = os.readlink("/proc/%s/cwd" % pid)
    if not inside(cwd):
        print("out cwd", cwd)
c.close()
PY

# LeakSanitizer reads /proc at exit, which the jail does not have.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
for n in 1 2; do
	cat >"$T/jail$n.ini" <<EOF
bind = 127.0.0.1:$PS
workers = $n
pid = $T/run/portsplit.pid
chroot = $JAIL
user = $uid
group = $uid
[echo]
string = ECHO
connect = 127.0.0.1:$ID
EOF
	ps_start "$T/jail$n.ini" "$PS"
	wait_log 'running' 5
	sleep 0.3
	out=$("$PYTHON" "$T/inspect.py" "$PS" "$JAIL" 2>&1)
	holders=$(grep -c '^pid' <<<"$out")
	check "workers = $n: a client is served; $holders process(es) hold it" \
		test "$holders" -ge 1
	is "$(grep -v '^pid' <<<"$out" | head -n 3)" "" \
		"workers = $n: the processes holding the client hold no folder outside the jail"
	check "workers = $n: the pid file is written outside the jail" test -s "$T/run/portsplit.pid"
	ps_stop
	is "$?" 0 "workers = $n: exits 0 on SIGTERM"
	check "workers = $n: the pid file is removed at exit" test ! -e "$T/run/portsplit.pid"
done
finish
