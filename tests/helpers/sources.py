#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Many clients from many addresses of one network, for the per-source
limit (maxconn_per_source) and allow/deny tests.

Standard library only; every socket call has a timeout.

  flood HOST PORT --prefix PFX --count N [--send TEXT] [--expect TEXT]
        [--timeout S] [--deadline S] [--hold-until FILE]

Connection i comes from the address PFX + i (PFX an IPv6 prefix like
2001:db8:1:: whose addresses this host may bind: a local route, or IPv4
like 127.0.1.), sends TEXT and waits for either TEXT --expect (served: the
connection is kept open to the end) or the peer closing without it
(refused). Connections run one after another, at most N of them, and stop
at the --deadline. Prints one JSON line {"served": .., "refused": ..,
"other": .., "errors": [first few], "seconds": ..}, then closes everything
(with --hold-until, once FILE exists, at most 120 s later).
"""
import argparse
import codecs
import ipaddress
import json
import os
import socket
import sys
import time


def one(host, port, source, send, expect, timeout):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect((host, port))
        if send:
            s.sendall(send)
        got = b""
        end = time.monotonic() + timeout
        while expect not in got and time.monotonic() < end:
            b = s.recv(4096)
            if not b:
                s.close()
                return "refused", None
            got += b
        if expect in got:
            return "served", s
        s.close()
        return "other", None
    except (ConnectionResetError, BrokenPipeError):
        s.close()
        return "refused", None
    except OSError as e:
        s.close()
        return "error: %s" % e, None


def flood(a):
    send = codecs.escape_decode(a.send.encode())[0]
    expect = codecs.escape_decode(a.expect.encode())[0]
    if ":" in a.prefix:
        base = int(ipaddress.IPv6Address(a.prefix))
        addr = lambda i: str(ipaddress.IPv6Address(base + 1 + i))
    else:
        addr = lambda i: a.prefix + str(1 + i % 250)
    out = {"served": 0, "refused": 0, "other": 0, "errors": []}
    held = []
    t0 = time.monotonic()
    for i in range(a.count):
        if time.monotonic() - t0 > a.deadline:
            out["errors"].append("deadline after %d" % i)
            break
        what, s = one(a.host, a.port, addr(i), send, expect, a.timeout)
        if what in ("served", "refused", "other"):
            out[what] += 1
        else:
            out["other"] += 1
            if len(out["errors"]) < 5:
                out["errors"].append(what)
        if s is not None:
            held.append(s)
    out["seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(out), flush=True)
    end = time.monotonic() + 120
    while a.hold_until and not os.path.exists(a.hold_until) and \
            time.monotonic() < end:
        time.sleep(0.05)
    for s in held:
        s.close()


def main():
    if len(sys.argv) < 2 or sys.argv[1] != "flood":
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    p = argparse.ArgumentParser(prog="flood")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--prefix", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--send", default="")
    p.add_argument("--expect", default="")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--deadline", type=float, default=120.0)
    p.add_argument("--hold-until")
    flood(p.parse_args(sys.argv[2:]))


if __name__ == "__main__":
    main()
