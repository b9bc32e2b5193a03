#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The Debian package: built from a copy of the tree with
# `dpkg-buildpackage -us -uc -b`, it holds every file where Debian expects
# it (dpkg-deb -c), marks the configuration as a conffile, creates the
# portsplit user through sysusers.d, passes lintian (only the tags that the
# README explains remain), and its program, unpacked, validates its
# examples. Slow (a full build): run by `make deb-check` and CI, not by
# `make check`.
. "$(dirname "$0")/lib.sh"

top=$(cd "$TESTS_DIR/.." && pwd)
for p in dpkg-buildpackage dh lintian; do
	command -v "$p" >/dev/null || { skip "Debian package" "$p is not installed (apt-get install dpkg-dev debhelper lintian)"; finish; }
done

# A copy of the tree without build outputs, as a fresh clone has it.
mkdir -p "$T/src"
if git -C "$top" rev-parse >/dev/null 2>&1; then
	(cd "$top" && git ls-files -co --exclude-standard | tar -cf - -T -) | tar -xf - -C "$T/src"
else
	(cd "$top" && tar --exclude=./build -cf - .) | tar -xf - -C "$T/src"
fi
(cd "$T/src" && timeout 900 dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
	{ tail -n 40 "$T/build.log" | diag; bail "dpkg-buildpackage -us -uc -b"; }
ok "dpkg-buildpackage -us -uc -b"
deb=$(ls "$T"/portsplit_*_*.deb 2>/dev/null | head -n 1)
[ -f "$deb" ] || bail "a portsplit_VERSION_ARCH.deb was built"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$T/contents"
for f in /usr/bin/portsplit /usr/share/portsplit/signatures/ssh.ini \
	/usr/share/portsplit/signatures/openvpn.ini \
	/usr/share/man/man1/portsplit.1.gz /usr/share/man/man5/portsplit.ini.5.gz \
	/usr/share/doc/portsplit/examples/ssh-https-openvpn-443.ini \
	/usr/share/doc/portsplit/examples/vpn-behind-https/portsplit.ini \
	/usr/share/doc/portsplit/copyright \
	/lib/systemd/system/portsplit.service /lib/systemd/system/portsplit.socket \
	/usr/lib/sysusers.d/portsplit.conf /etc/portsplit/portsplit.ini /var/lib/portsplit/; do
	check "the package holds $f" grep -qxF "$f" "$T/contents"
done
nsig=$(grep -c '^/usr/share/portsplit/signatures/.*\.ini$' "$T/contents")
nlib=$(ls "$top"/signatures/*.ini | wc -l)
is "$nsig" "$nlib" "every library signature is packaged"

dpkg-deb -e "$deb" "$T/control"
check "/etc/portsplit/portsplit.ini is a conffile" \
	grep -qx /etc/portsplit/portsplit.ini "$T/control/conffiles"
check "postinst creates the portsplit user with systemd-sysusers" \
	grep -q 'systemd-sysusers.*portsplit.conf' "$T/control/postinst"
check "the package depends on a sysusers implementation" \
	eval "dpkg-deb -f '$deb' Depends | grep -q sysusers"

# lintian: the remaining tags are the ones the README explains.
lintian -I --pedantic "$deb" >"$T/lintian.out" 2>&1
unexplained=$(grep -E '^[EWIP]: ' "$T/lintian.out" |
	grep -vE ': (package-supports-alternative-init-but-no-init.d-script|maintainer-manual-page|no-manual-page)( |$)' || true)
is "$unexplained" "" "lintian --pedantic: no tag but the ones explained"
[ -z "$unexplained" ] || diag <"$T/lintian.out"

# Unpacked anywhere, the program uses the package's own library.
dpkg-deb -x "$deb" "$T/x"
for f in "$T"/x/usr/share/doc/portsplit/examples/*.ini "$T"/x/usr/share/doc/portsplit/examples/*/*.ini; do
	[ -f "$f" ] || continue
	timeout 10 "$T/x/usr/bin/portsplit" -t "$f" >"$T/t.out" 2>&1
	rc=$?
	is "$rc" 0 "packaged portsplit -t ${f#"$T"/x}"
	[ "$rc" = 0 ] || diag <"$T/t.out"
done
check "the service starts /usr/bin/portsplit /etc/portsplit/portsplit.ini" \
	grep -qx 'ExecStart=/usr/bin/portsplit /etc/portsplit/portsplit.ini' \
	"$T/x/lib/systemd/system/portsplit.service"
check "the packaged man pages name /usr/share/portsplit/signatures" \
	eval "zcat '$T/x/usr/share/man/man1/portsplit.1.gz' | grep -q /usr/share/portsplit/signatures"
finish
