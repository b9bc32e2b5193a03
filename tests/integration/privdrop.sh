# SPDX-License-Identifier: ISC
# user, group, chroot: after binding, the daemon gives root up for good —
# /proc/PID/status shows uid and gid nobody/nogroup in all four slots, only
# that group, no capability — and its programs run as that user. With
# chroot, / is the jail and exec paths are looked up inside it. A daemon
# asked to drop privileges that it does not have fails loudly.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "privilege drop" "needs root (CI runs as root)"
	exit 0
fi
getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
	bail "user nobody and group nogroup exist"
NOBODY=$(id -u nobody)
NOGROUP=$(getent group nogroup | cut -d: -f3)
chmod 755 "$T"

read -r PS PS2 PS3 <<<"$(free_ports 3)"
cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
user = nobody
group = nogroup
[id]
string = ID
exec = /bin/sh
execarg = -c
execarg = echo "\$(id -u) \$(id -g) \$(id -G)"
EOF
chmod 644 "$T/portsplit.ini"
ps_start "$T/portsplit.ini" "$PS"
check "the drop is logged" wait_log "privileges dropped: uid $NOBODY gid $NOGROUP"
field() { awk -v k="$1:" '$1 == k {$1 = ""; print substr($0, 2)}' "/proc/$PS_PID/status" | tr -s ' \t' ' '; }
is "$(field Uid)" "$NOBODY $NOBODY $NOBODY $NOBODY" "Uid: real, effective, saved, fs all nobody"
is "$(field Gid)" "$NOGROUP $NOGROUP $NOGROUP $NOGROUP" "Gid: all nogroup"
is "$(field Groups)" "$NOGROUP" "Groups: nogroup alone"
is "$(field CapEff)" 0000000000000000 "CapEff: no capability"
is "$(field CapPrm)" 0000000000000000 "CapPrm: none to regain"
out=$(talk 127.0.0.1 "$PS" send 'ID\n' eof 5 2>"$T/talk.err")
is "$out" "$NOBODY $NOGROUP $NOGROUP" "programs run as nobody:nogroup"
kill -HUP "$PS_PID"
check "a reload works after the drop (the file is readable)" wait_log 'reloaded: 1 services'
ps_stop
is "$?" 0 "the daemon exits 0 on SIGTERM"

# chroot: the jail is /, and exec looks programs up inside it.
mkdir -p "$T/jail"
cat >"$T/chroot.ini" <<EOF
bind = 127.0.0.1:$PS2
user = nobody
group = nogroup
chroot = $T/jail
[echo]
string = ECHO
exec = /bin/echo
EOF
chmod 644 "$T/chroot.ini"
# LeakSanitizer reads /proc at exit, which the jail does not have.
saved_asan=${ASAN_OPTIONS-}
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
ps_start "$T/chroot.ini" "$PS2"
export ASAN_OPTIONS=$saved_asan
is "$(readlink "/proc/$PS_PID/root")" "$T/jail" "the daemon's root is the jail"
is "$(readlink "/proc/$PS_PID/cwd")" "$T/jail" "its working folder is the jail's /"
talk 127.0.0.1 "$PS2" send 'ECHO\n' eof 5 >/dev/null 2>>"$T/talk.err"
check "/bin/echo is looked up in the (empty) jail: exec fails, logged" \
	wait_log 'exec failed .*program=/bin/echo error="No such file or directory"'
ps_stop

# Asked to become root without being root: refuse to run.
cat >"$T/root.ini" <<EOF
bind = 127.0.0.1:$PS3
user = root
[x]
string = X
EOF
chmod 644 "$T/root.ini"
timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$PORTSPLIT" "$T/root.ini" >"$T/root.log" 2>&1
is "$?" 1 "as nobody, 'user = root' makes the start fail (exit 1)"
check "... loudly" grep -q 'cannot drop privileges (user, group, chroot): portsplit is not running as root' "$T/root.log"

cat >"$T/unknown.ini" <<EOF
bind = 127.0.0.1:$PS3
user = no-such-user-here
[x]
string = X
EOF
timeout 10 "$PORTSPLIT" "$T/unknown.ini" >"$T/unknown.log" 2>&1
is "$?" 1 "an unknown user makes the start fail (exit 1)"
check "... with FILE:LINE" grep -q "$T/unknown.ini:2: user 'no-such-user-here' does not exist" "$T/unknown.log"

[ "$FAILED" = 0 ] || cat "$T/root.log" "$T/unknown.log" "$T/talk.err" | diag
finish
