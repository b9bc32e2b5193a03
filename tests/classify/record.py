#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A silent loopback listener that records a client's first flight.

  record.py OUT [SECS [PORT]]

Listens on 127.0.0.1 on a free port (or PORT) and prints "PORT\\n" once it
listens.
Accepts ONE connection, stores what the client sends until it has been silent
for a second (or closed, or sent 64 KiB), writes it to OUT and exits. It never
answers: what it records is what the client sends before waiting for a server,
which is what portsplit sees. Gives up after SECS seconds (default 20) with
exit 1 and no file. Standard library only.
"""
import os
import socket
import sys
import time


def main():
    out = sys.argv[1]
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[3]) if len(sys.argv) > 3 else 0))
    srv.listen(8)
    srv.settimeout(limit)
    print(srv.getsockname()[1], flush=True)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        sys.exit(1)
    conn.settimeout(1.0)
    got = b""
    deadline = time.monotonic() + limit
    while len(got) < 65536 and time.monotonic() < deadline:
        try:
            data = conn.recv(65536)
        except socket.timeout:
            break
        except OSError:
            break
        if not data:
            break
        got += data
    conn.close()
    srv.close()
    with open(out + ".tmp", "wb") as f:
        f.write(got)
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
