# SPDX-License-Identifier: ISC
# The decision timer counts from accept even when the daemon had been idle
# for longer than the timeout before the client came: a timer armed inside a
# callback must start from the time the loop woke up, not from the previous
# wake-up (that bug made a silent client time out at once).
. "$(dirname "$0")/../lib.sh"

read -r PS SMTP <<<"$(free_ports 2)"
serve smtp ident --port "$SMTP" --name '220 greeter'
cat >"$T/portsplit.ini" <<EOF
bind = 127.0.0.1:$PS
timeout = 1
[ssh]
string = SSH-
connect = 127.0.0.1:1
[timeout]
connect = 127.0.0.1:$SMTP
EOF
ps_start "$T/portsplit.ini" "$PS"

for idle in 1.5 2.5; do
	sleep "$idle" # the daemon sleeps in poll() all this time
	talk --first "$T/first" 127.0.0.1 "$PS" expect '220 greeter\n' 5 shutwr eof 5 \
		>/dev/null 2>"$T/talk.err"
	is "$?" 0 "after ${idle}s idle: a silent client gets the [timeout] service"
	first=$(cat "$T/first")
	check "after ${idle}s idle: decided after about 1 s (${first}s, in [0.8, 4))" \
		frange 0.8 "$first" 4
done
finish
