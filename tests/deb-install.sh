#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The Debian package installed for real, then removed and purged, with its
# maintainer scripts run by dpkg. Run by tests/deb.sh only, inside a
# throwaway copy of the machine (in_throwaway_root in lib.sh), never on the
# machine itself, with the .deb as its argument:
#
#   dpkg -i    the postinst creates the portsplit user with systemd-sysusers
#              as the sysusers.d file says; the configuration is a
#              registered conffile; the units are installed, neither enabled
#              nor started; portsplit -t passes the shipped configuration;
#              the installed program serves a real client as that user
#   dpkg -i    again, as an upgrade: the daemon is try-restarted (if it runs)
#   dpkg -r    the prerm stops the units; the program and units go, the
#              edited configuration stays
#   dpkg --purge  the configuration, its folder and the units' state go;
#              the user stays
. "$(dirname "$0")/lib.sh"

[ "${PORTSPLIT_THROWAWAY_ROOT:-}" = 1 ] ||
	bail "tests/deb-install.sh runs in tests/deb.sh's throwaway root only (it installs the package)"
deb=$1
conf=/etc/portsplit/portsplit.ini
sysusers=/usr/lib/sysusers.d/portsplit.conf
units="portsplit.service portsplit.socket"
dsh=/var/lib/systemd/deb-systemd-helper-enabled

# state: dpkg's two-letter state of the package (ii installed, rc only its
# configuration left), empty when dpkg does not know it.
state() { dpkg-query -W -f='${db:Status-Abbrev}' portsplit 2>/dev/null | tr -d ' '; }
# absent PATH...: none of the PATHs exists
absent() {
	local f
	for f in "$@"; do [ ! -e "$f" ] || return 1; done
}
# has TEXT FIXED_STRING: TEXT holds the string
has() { grep -qF -- "$2" <<<"$1"; }

is "$(state)" "" "before: dpkg does not know portsplit"
is "$(getent passwd portsplit)" "" "before: no portsplit user"

# ------------------------------------------------------------ dpkg -i
# As on a machine booted with systemd, so that the maintainer scripts take
# their systemd path (in this root's own /run: no systemd answers them);
# every program they run is traced, with its arguments.
mkdir -p /run/systemd/system
# traced TRACE LOG COMMAND...: runs COMMAND (output to LOG), every program
# it starts written to TRACE with its arguments.
traced() {
	local trace=$1 log=$2
	shift 2
	timeout 300 strace -f --seccomp-bpf -qq -s 256 -e trace=execve \
		-e signal=none -o "$trace" "$@" >"$log" 2>&1
}
traced "$T/exec.trace" "$T/install.log" dpkg -i "$deb"
rc=$?
is "$rc" 0 "dpkg -i: unpacked and configured (its postinst exits 0)"
[ "$rc" = 0 ] || diag <"$T/install.log"
is "$(state)" ii "dpkg -i: portsplit is installed (ii)"

# The user and group, as the sysusers.d line says; "-" for the home or the
# shell means systemd-sysusers' defaults, / and nologin (sysusers.d(5)).
IFS=$'\t' read -r s_gecos s_home s_shell <<<"$("$PYTHON" -c '
import shlex, sys
for line in open(sys.argv[1]):
    f = shlex.split(line, comments=True)
    if f[:2] == ["u", "portsplit"]:
        print("\t".join(f[3:6]))' "$sysusers" 2>/dev/null)"
[ "$s_home" != - ] || s_home=/
[ "$s_shell" != - ] || s_shell=/usr/sbin/nologin
IFS=: read -r name _ uid gid gecos home shell <<<"$(getent passwd portsplit)"
check "postinst ran systemd-sysusers portsplit.conf" \
	grep -qE 'execve\("[^"]*/systemd-sysusers", \["systemd-sysusers", "portsplit.conf"\]' "$T/exec.trace"
is "$name" portsplit "postinst: systemd-sysusers created the user portsplit"
check "the portsplit user is a system user (uid $uid below 1000)" [ "${uid:-1000}" -lt 1000 ]
is "$gecos|$home|$shell" "$s_gecos|$s_home|$s_shell" \
	"its GECOS, home and shell are the sysusers.d file's ($sysusers)"
is "$(getent group portsplit | cut -d: -f1,3)" "portsplit:$gid" "the group portsplit exists and is the user's group"

# The configuration: a conffile, registered with the checksum of the file.
sum=$(md5sum "$conf" 2>/dev/null | cut -d' ' -f1)
is "$(dpkg-query -W -f='${Conffiles}' portsplit)" " $conf ${sum:-none}" \
	"dpkg registered $conf as the one conffile, with its checksum"

# The units: installed, not enabled, not started.
for u in $units; do
	check "/lib/systemd/system/$u is installed" [ -f "/lib/systemd/system/$u" ]
	is "$(systemctl is-enabled "$u" 2>&1)" disabled "systemctl is-enabled $u: disabled"
	check "postinst recorded $u's (empty) enablement state" [ -f "$dsh/$u.dsh-also" ]
done
is "$(find /etc/systemd -name 'portsplit*' 2>/dev/null)" "" \
	"no link to a portsplit unit under /etc/systemd (no .wants/ entry)"
what="dpkg -i asked systemd to start or enable nothing (no deb-systemd-invoke or systemctl start)"
grep -E 'execve\("[^"]*/(deb-systemd-invoke|systemctl)", .*"(start|restart|try-restart|reload-or-restart|enable|reenable)"' \
	"$T/exec.trace" >"$T/started"
case $? in
1) ok "$what" ;;
*) not_ok "$what" && diag <"$T/started" ;;
esac
is "$(pgrep -x portsplit)" "" "no portsplit process runs after dpkg -i"

# portsplit -t on the shipped configuration, as the README's Deployment says:
# SSH, HTTPS and HTTP on port 443 to :22, :8443 and :8080, as portsplit.
timeout 10 /usr/bin/portsplit -t "$conf" >"$T/t.out" 2>&1
rc=$?
is "$rc" 0 "portsplit -t $conf exits 0"
[ "$rc" = 0 ] || diag <"$T/t.out"
t=$(cat "$T/t.out")
check "portsplit -t: configuration OK" has "$t" "$conf: configuration OK"
for l in 0.0.0.0:443 '[::]:443'; do
	check "portsplit -t: listens on $l" awk -v l="$l" '$1 == l { f = 1 } END { exit !f }' "$T/t.out"
done
check "portsplit -t: ssh, https, http in that order, then fallback and timeout" \
	has "$t" "services: 1. ssh, 2. https, 3. http; fallback: fallback; timeout: timeout"
for s in 'ssh:22' 'https:8443' 'http:8080'; do
	check "portsplit -t: ${s%:*} is forwarded to 127.0.0.1:${s#*:}" \
		grep -qE "^  [0-9]\. ${s%:*} +-> connect 127\.0\.0\.1:${s#*:} " "$T/t.out"
done
check "portsplit -t: runs as user and group portsplit" has "$t" "user portsplit, group portsplit"

# The installed program serves: a real HTTP client on loopback (this
# namespace's own) routed to an HTTP backend, by the library's http
# signature, by a daemon that gave up root for the new user.
read -r PS WEB <<<"$(free_ports 2)"
serve web httpecho --port "$WEB"
printf 'bind = 127.0.0.1:%s\nuser = portsplit\ngroup = portsplit\n[http]\nsignature = http\nconnect = 127.0.0.1:%s\n' \
	"$PS" "$WEB" >"$T/serve.ini"
PORTSPLIT=/usr/bin/portsplit ps_start "$T/serve.ini" "$PS"
is "$(awk '/^Uid:/ { print $2 }' "/proc/$PS_PID/status")" "$uid" \
	"the installed portsplit runs as the portsplit user"
want="routed by the installed portsplit $RANDOM"
got=$(timeout 20 curl -sS --max-time 15 --data-binary "$want" "http://127.0.0.1:$PS/" 2>"$T/curl.err")
is "$got" "$want" "curl through the installed portsplit: the HTTP backend's echo"
[ -s "$T/curl.err" ] && diag <"$T/curl.err"
check "the installed portsplit logged the decision for http" \
	wait_log "decision conn=1 .* service=http "
ps_stop
is "$?" 0 "the installed portsplit exits 0 on SIGTERM"

# ------------------------------------------------------------ upgrade
# Installing over an installed package (configure with the old version)
# restarts the daemon only if it runs: try-restart (debian/portsplit.postinst).
traced "$T/upgrade.trace" "$T/upgrade.log" dpkg -i "$deb"
is "$?" 0 "dpkg -i over the installed package: configured again"
check "the upgrade's postinst asked systemd to try-restart portsplit.service" \
	grep -qE 'execve\("[^"]*/deb-systemd-invoke", \["deb-systemd-invoke", "try-restart", "portsplit.service"\]' \
	"$T/upgrade.trace"

# ------------------------------------------------------------ dpkg -r
echo "# edited by tests/deb-install.sh" >>"$conf"
edited=$(sha256 "$conf")
traced "$T/remove.trace" "$T/remove.log" dpkg -r portsplit
rc=$?
# The units may have been started by the operator since: the prerm stops
# them, the socket first (debian/portsplit.prerm).
check "dpkg -r: the prerm asked systemd to stop portsplit.socket and portsplit.service" \
	grep -qE 'execve\("[^"]*/deb-systemd-invoke", \["deb-systemd-invoke", "stop", "portsplit.socket", "portsplit.service"\]' \
	"$T/remove.trace"
is "$rc" 0 "dpkg -r: removed (its maintainer scripts exit 0)"
[ "$rc" = 0 ] || diag <"$T/remove.log"
is "$(state)" rc "dpkg -r: only the configuration is left (rc)"
check "dpkg -r: the program, library, units and sysusers.d file are gone" \
	absent /usr/bin/portsplit /usr/share/portsplit /lib/systemd/system/portsplit.service \
	/lib/systemd/system/portsplit.socket "$sysusers" /var/lib/portsplit
is "$(sha256 "$conf" 2>/dev/null)" "$edited" "dpkg -r: the edited $conf stays as it was"

# ------------------------------------------------------------ dpkg --purge
timeout 300 dpkg --purge portsplit >"$T/purge.log" 2>&1
rc=$?
is "$rc" 0 "dpkg --purge: purged (its postrm exits 0)"
[ "$rc" = 0 ] || diag <"$T/purge.log"
is "$(state)" "" "dpkg --purge: dpkg no longer knows portsplit"
check "dpkg --purge: $conf and /etc/portsplit are gone" absent "$conf" /etc/portsplit
check "dpkg --purge: postrm purged the units' enablement state" \
	absent "$dsh/portsplit.service.dsh-also" "$dsh/portsplit.socket.dsh-also"
is "$(getent passwd portsplit | cut -d: -f1,3)" "portsplit:$uid" \
	"dpkg --purge: the portsplit user stays, as Debian leaves system users"
is "$(dpkg --audit 2>&1)" "" "dpkg --audit: the package database is consistent"
finish
