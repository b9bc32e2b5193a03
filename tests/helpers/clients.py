#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Many short client connections, for portsplit's daemon-life tests.

Standard library only; every socket call has a timeout.

  loop HOST PORT --count N [--concurrency C] [--send TEXT] [--expect TEXT]
                 [--mark-after K --mark FILE] [--timeout S]

Each connection: connect, send TEXT (Python escapes), shut down the sending
side, read to EOF, and check that the reply contains --expect. Connections
run C at a time until N are done. After K have finished, FILE is created,
so that a shell script can act (send SIGHUP) while the loop goes on.
Prints one JSON line: {"ok": .., "failed": .., "errors": [first few],
"seconds": ..}; exit 0 when none failed.
"""
import argparse
import codecs
import json
import socket
import sys
import threading
import time


def one(host, port, send, expect, timeout):
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.settimeout(timeout)
        if send:
            s.sendall(send)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        if expect not in got:
            raise ValueError("reply %r lacks %r" % (bytes(got[:80]), expect))
    finally:
        s.close()


def run_loop(a):
    send = codecs.escape_decode(a.send.encode())[0]
    expect = codecs.escape_decode(a.expect.encode())[0]
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "ok": 0, "failed": 0, "errors": []}

    def worker():
        while True:
            with lock:
                if state["next"] >= a.count:
                    return
                state["next"] += 1
            try:
                one(a.host, a.port, send, expect, a.timeout)
                good, err = True, None
            except (OSError, ValueError) as e:
                good, err = False, "%s: %s" % (type(e).__name__, e)
            with lock:
                state["done"] += 1
                if good:
                    state["ok"] += 1
                else:
                    state["failed"] += 1
                    if len(state["errors"]) < 5:
                        state["errors"].append(err)
                if a.mark and state["done"] == a.mark_after:
                    open(a.mark, "w").close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True)
               for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"ok": state["ok"], "failed": state["failed"],
                      "errors": state["errors"],
                      "seconds": round(time.monotonic() - t0, 3)}))
    return 0 if state["failed"] == 0 else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("loop")
    lp.add_argument("host")
    lp.add_argument("port", type=int)
    lp.add_argument("--count", type=int, required=True)
    lp.add_argument("--concurrency", type=int, default=4)
    lp.add_argument("--send", default="")
    lp.add_argument("--expect", default="")
    lp.add_argument("--mark-after", type=int, default=0)
    lp.add_argument("--mark")
    lp.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    sys.exit(run_loop(a))


if __name__ == "__main__":
    main()
