#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The Debian package: built from a copy of the tree with
# `dpkg-buildpackage -us -uc -b`, it holds every file where Debian expects
# it (dpkg-deb -c), marks the configuration as a conffile, creates the
# portsplit user through sysusers.d, passes lintian (only the tags that the
# README explains remain), and its program, unpacked, validates its
# examples. Then, as root, tests/deb-install.sh installs the .deb for real
# with dpkg (its maintainer scripts run), has the installed program serve
# a client, removes and purges it, all in a throwaway copy of the machine
# (an overlay over / in private mount, PID and network namespaces: lib.sh's
# in_throwaway_root); the machine must have no portsplit package, user or
# file afterwards. Without root or overlayfs that part is skipped (a
# failure with PORTSPLIT_DEB_INSTALL=required, as CI sets). Slow (a full
# build): run by `make deb-check` and CI, not by `make check`.
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

# ------------------------------------------------------------ installed
# The package installed for real, served from, removed and purged by
# tests/deb-install.sh in a throwaway copy of this machine (an overlay over
# / in private namespaces, see in_throwaway_root), from which nothing may
# reach the machine. PORTSPLIT_DEB_INSTALL=required (CI) makes a skip a
# failure.
no_install() {
	if [ "${PORTSPLIT_DEB_INSTALL:-}" = required ]; then
		not_ok "the package installed in a throwaway root (required): $1"
	else
		skip "the package installed in a throwaway root" "$1"
	fi
}
# had: what the machine has of portsplit, empty for a machine without it.
had() {
	dpkg-query -W -f='${db:Status-Abbrev}' portsplit 2>/dev/null | tr -d ' '
	getent passwd portsplit
	getent group portsplit
	ls -d /usr/bin/portsplit /etc/portsplit /lib/systemd/system/portsplit.service \
		/usr/lib/sysusers.d/portsplit.conf /var/lib/portsplit 2>/dev/null
}
before=$(had)
if ! can_unshare_mounts; then
	no_install "needs root and mount namespaces (unshare -m)"
elif [ -n "$before" ]; then
	no_install "this machine has portsplit already: $(tr "\n" " " <<<"$before")"
else
	for p in curl ip python3 strace; do
		command -v "$p" >/dev/null || bail "$p is installed (curl, iproute2, python3, strace)"
	done
	mkdir -p "$T/t/helpers"
	cp "$TESTS_DIR/lib.sh" "$TESTS_DIR/deb-install.sh" "$T/t/"
	cp "$TESTS_DIR/helpers/net.py" "$T/t/helpers/"
	cp "$deb" "$T/t/portsplit.deb"
	start=$SECONDS
	in_throwaway_root 900 "$T/t" deb-install.sh /tmp/t/portsplit.deb >"$T/install.out"
	rc=$?
	if [ "$rc" = 77 ]; then
		no_install "$(tail -n 1 "$T/install.out")"
	else
		sed -E '/^((not )?ok |#)/!s/^/# /' "$T/install.out"
		nfail=$(grep -c '^not ok ' "$T/install.out")
		FAILED=$((FAILED + nfail))
		[ "$rc" = 0 ] || [ "$nfail" != 0 ] || not_ok "the install cycle exited with status $rc"
		echo "# install, serve, remove, purge: $((SECONDS - start)) s"
	fi
	# Nothing of it reached the machine.
	is "$(had)" "" "afterwards the machine has no portsplit package, user, group or file"
	is "$(grep -F "$T/" /proc/self/mounts)" "" "afterwards no mount of the throwaway root is left"
fi
finish
