#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Hostile clients for portsplit's tests. Standard library only; every
socket call has a timeout and every run a deadline.

  hold HOST PORT --count N [--send TEXT] [--rate R] --ready FILE
       --until FILE [--max S]
      open N connections (R per second at most, 0: as fast as possible),
      send TEXT on each (Python escapes; default nothing), write the number
      connected to FILE --ready, then keep them open until the file --until
      exists (or --max seconds), and close them all. Prints one JSON line:
      {"connected": .., "refused": .., "closed_early": .., "seconds": ..}
      where closed_early counts connections the daemon closed while held.
"""
import argparse
import codecs
import json
import os
import resource
import select
import socket
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def hold(a):
    raise_nofile()
    send = codecs.escape_decode(a.send.encode())[0]
    t0 = time.monotonic()
    deadline = t0 + a.max
    socks, refused = [], 0
    for i in range(a.count):
        if time.monotonic() > deadline:
            break
        if a.rate > 0:
            delay = t0 + i / a.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        try:
            s = socket.create_connection((a.host, a.port), timeout=5)
            if send:
                s.sendall(send)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            refused += 1
    with open(a.ready + ".tmp", "w") as f:
        f.write("%d\n" % len(socks))
    os.rename(a.ready + ".tmp", a.ready)
    closed = set()
    byfd = {s.fileno(): s for s in socks}
    while time.monotonic() < deadline and not os.path.exists(a.until):
        live = [s for s in socks if s.fileno() not in closed]
        # select() is limited to descriptors below 1024: poll instead.
        p = select.poll()
        for s in live:
            p.register(s, select.POLLIN)
        for fd, ev in p.poll(100):
            try:
                data = byfd[fd].recv(4096)
            except OSError:
                data = b""
            if not data:
                closed.add(fd)
    for s in socks:
        s.close()
    print(json.dumps({"connected": len(socks), "refused": refused,
                      "closed_early": len(closed),
                      "seconds": round(time.monotonic() - t0, 3)}))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    hp = sub.add_parser("hold")
    hp.add_argument("host")
    hp.add_argument("port", type=int)
    hp.add_argument("--count", type=int, required=True)
    hp.add_argument("--send", default="")
    hp.add_argument("--rate", type=float, default=0)
    hp.add_argument("--ready", required=True)
    hp.add_argument("--until", required=True)
    hp.add_argument("--max", type=float, default=60)
    a = p.parse_args()
    sys.exit(hold(a))


if __name__ == "__main__":
    main()
