# SPDX-License-Identifier: ISC
# make install with PREFIX and DESTDIR: everything lands under the staging
# folder with the prefix's paths substituted in (program, man pages, units,
# sample configuration), the installed program run from the staging folder
# finds the staged library and validates every installed example, a changed
# PREFIX rebuilds what embeds it, and make uninstall takes it all away but
# the configuration. Builds its own copy in $T (the tree's build/ is left
# alone).
. "$(dirname "$0")/../lib.sh"

top=$(cd "$TESTS_DIR/.." && pwd)
command -v make >/dev/null || { skip "make install" "no make"; finish; }
if [ -n "${PORTSPLIT_LOOP:-}${PORTSPLIT_RELAY:-}" ]; then
	skip "make install" "run once: the loop and relay variants do not change it"
	finish
fi
B=$T/build R=$T/root
mk() { make -s -C "$top" -j2 BUILD="$B" CFLAGS=-O0 "$@" >>"$T/make.log" 2>&1; }

mk PREFIX=/usr DESTDIR="$R" install || { diag <"$T/make.log"; bail "make install PREFIX=/usr DESTDIR=..."; }
ok "make install PREFIX=/usr DESTDIR=..."
for f in usr/bin/portsplit usr/share/portsplit/signatures/ssh.ini \
	usr/share/man/man1/portsplit.1 usr/share/man/man5/portsplit.ini.5 \
	usr/share/doc/portsplit/examples/ssh-https-openvpn-443.ini \
	usr/lib/systemd/system/portsplit.service usr/lib/systemd/system/portsplit.socket \
	usr/lib/sysusers.d/portsplit.conf etc/portsplit/portsplit.ini; do
	check "installed /$f" test -s "$R/$f"
done
check "the program embeds /usr/share/portsplit/signatures" \
	grep -qa /usr/share/portsplit/signatures "$R/usr/bin/portsplit"
check "no installed text file names an installed path under /usr/local" \
	eval "! grep -rlE '/usr/local/(share/portsplit|share/doc/portsplit|bin/portsplit|lib/systemd)' '$R' --exclude=portsplit"
check "the man pages name /usr/share/portsplit/signatures" \
	grep -q /usr/share/portsplit/signatures "$R/usr/share/man/man1/portsplit.1"
check "the service starts /usr/bin/portsplit /etc/portsplit/portsplit.ini" \
	grep -qx 'ExecStart=/usr/bin/portsplit /etc/portsplit/portsplit.ini' \
	"$R/usr/lib/systemd/system/portsplit.service"
if command -v mandoc >/dev/null; then
	check "mandoc -T lint is clean on the installed man pages" \
		eval "[ -z \"\$(mandoc -T lint '$R'/usr/share/man/man*/* 2>&1)\" ]"
fi

# The staged program validates the staged examples with the staged library.
n=0
for f in "$R"/usr/share/doc/portsplit/examples/*.ini "$R"/usr/share/doc/portsplit/examples/*/*.ini; do
	[ -f "$f" ] || continue
	name=${f#"$R"/usr/share/doc/portsplit/}
	timeout 10 "$R/usr/bin/portsplit" -t "$f" >"$T/ex.out" 2>&1
	rc=$?
	is "$rc" 0 "installed portsplit -t $name"
	[ "$rc" = 0 ] || diag <"$T/ex.out"
	if grep -q '^ *signature ' "$T/ex.out"; then
		check "$name: signatures from the staged library" \
			grep -qF "($R/usr/share/portsplit/signatures/" "$T/ex.out"
	fi
	n=$((n + 1))
done
check "the examples are installed ($n)" test "$n" -ge 4

# The sample configuration is valid (without its user and group lines
# when this machine has no portsplit user: the package makes one).
if getent passwd portsplit >/dev/null; then
	cp "$R/etc/portsplit/portsplit.ini" "$T/sample.ini"
else
	grep -vE '^(user|group) = portsplit$' "$R/etc/portsplit/portsplit.ini" >"$T/sample.ini"
fi
timeout 10 "$R/usr/bin/portsplit" -t "$T/sample.ini" >"$T/sample.out" 2>&1
is "$?" 0 "the installed /etc/portsplit/portsplit.ini passes portsplit -t"
check "it names the installed examples folder" \
	grep -q '/usr/share/doc/portsplit/examples' "$R/etc/portsplit/portsplit.ini"

# A changed PREFIX rebuilds the program with the new path.
mk PREFIX=/opt/portsplit-test
check "make PREFIX=/opt/... rebuilds the path into the program" \
	grep -qa /opt/portsplit-test/share/portsplit/signatures "$B/portsplit"

# An administrator's configuration survives a reinstall and the uninstall.
echo "# mine" >>"$R/etc/portsplit/portsplit.ini"
mk PREFIX=/usr DESTDIR="$R" install
check "make install keeps an existing /etc/portsplit/portsplit.ini" \
	grep -qx '# mine' "$R/etc/portsplit/portsplit.ini"
mk PREFIX=/usr DESTDIR="$R" uninstall
left=$(cd "$R" && find . -type f | sort | tr '\n' ' ')
is "$left" "./etc/portsplit/portsplit.ini " "make uninstall leaves the configuration only"
finish
