# SPDX-License-Identifier: ISC
# ssh through portsplit to a real sshd started here (host key and client key
# made by the test): a command runs, and 10 MiB go each way byte-exact.
# The [http] service ranked first must be ruled out by "SSH-" for ssh to win.
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" = 0 ] || skip_all "ssh through portsplit" "sshd needs root (CI runs as root)"

read -r PS SSHD <<<"$(free_ports 2)"

sshd_setup "ListenAddress 127.0.0.1:$SSHD" "PidFile $T/sshd.pid"
spawn "$T/sshd.log" /usr/sbin/sshd -D -e -f "$T/sshd_config"
wait_port 127.0.0.1 "$SSHD" || { diag <"$T/sshd.log"; bail "sshd listens"; }

ps_start_ssh "connect = 127.0.0.1:$SSHD"

out=$(ssh_ps echo hello 2>"$T/ssh.err")
is "$?" 0 "ssh through portsplit exits 0"
is "$out" hello "ssh ... echo hello prints hello"
check "decision log line names service=ssh" wait_log 'decision .*service=ssh( |$)'

# Upload: 10 MiB into the remote sha256sum.
ssh_up 10 ssh

# Download: 10 MiB of a remote file back to us.
head -c $((10 * 1024 * 1024)) /dev/urandom >"$T/down.bin"
ssh_ps cat "$T/down.bin" >"$T/got.bin" 2>>"$T/ssh.err"
is "$(sha256 "$T/got.bin")" "$(sha256 "$T/down.bin")" "10 MiB down through ssh: sha256 equal"

if [ "$FAILED" != 0 ]; then
	diag <"$T/ssh.err"
	tail -n 20 "$T/sshd.log" | diag
fi
finish
