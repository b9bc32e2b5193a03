# SPDX-License-Identifier: ISC
# A real sshd in inetd mode (sshd -i) started through exec: the client
# socket itself is sshd's standard input and output, so sshd sees the
# client's real address and port (getpeername), as $SSH_CLIENT and its own
# log show; sshd's log (-e: standard error) reaches portsplit's log.
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" = 0 ] || skip_all "sshd -i through exec" "sshd needs root (CI runs as root)"

read -r PS <<<"$(free_ports 1)"

sshd_setup "PidFile none" "LogLevel VERBOSE"
ps_start_ssh "exec = /usr/sbin/sshd" "execarg = -i" "execarg = -e" \
	"execarg = -f" "execarg = $T/sshd_config"

out=$(ssh_ps echo ok 2>"$T/ssh.err")
is "$?" 0 "ssh through portsplit to sshd -i exits 0"
is "$out" ok "ssh ... echo ok prints ok"

out=$(ssh_ps 'echo $SSH_CLIENT' 2>>"$T/ssh.err")
read -r ip cport sport <<<"$out"
check "decision line for the second connection" wait_log 'decision conn=2 .*service=ssh( |$)'
client=$(log_field 'decision conn=2 ' client)
is "$ip" 127.0.0.1 "sshd sees the client's address"
is "$cport" "${client##*:}" "sshd sees the client's own source port (${client##*:}), not portsplit's"
is "$sport" "$PS" "sshd sees the port the client connected to"
check "sshd's own log, through portsplit's, names the client's port" \
	wait_log "stderr conn=2 service=ssh pid=[0-9]+ \"Accepted publickey for root from 127.0.0.1 port ${client##*:} "
# sshd -i ends with status 255 when the client disconnects (OpenSSH's
# cleanup_exit(255)): that is what the close line must say.
check "close line of the session with sshd's exit status (255)" \
	wait_log 'close conn=2 .*service=ssh up=- down=- duration=[0-9.]+ exit=255$'
check "the first session's close line too" wait_log 'close conn=1 .*service=ssh .* exit=255$'

# 2 MiB up, byte-exact, through sshd's own socket.
ssh_up 2 "sshd -i"

[ "$FAILED" = 0 ] || diag <"$T/ssh.err"
finish
