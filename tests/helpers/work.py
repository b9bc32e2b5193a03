#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Clients and a server for the tests that count portsplit's work per
connection (system calls, peeks), not its time.

  reply --port P --reply TEXT      server: reads a request (to its blank line
                                   or EOF), sends TEXT, closes; prints
                                   "listening" once it accepts
  seq HOST PORT N REQUEST          N connections one after the other: send
                                   REQUEST, read to EOF, close; exit 0 when
                                   every one got a non-empty answer
  drip HOST PORT BYTES [--gap S] [--host-name NAME] [--whole]
                                   one connection (TCP_NODELAY): an HTTP
                                   request of BYTES bytes, its Host line last,
                                   sent one byte per write (one per segment),
                                   S seconds apart (--whole: in one piece);
                                   then reads the answer to EOF, prints it

Standard library only; every blocking call has a timeout. TEXT and REQUEST
take Python escapes (\\r \\n \\xNN).
"""
import argparse
import codecs
import socket
import socketserver
import sys
import threading
import time


def unescape(text):
    return codecs.decode(text.encode("latin-1"), "unicode_escape").encode("latin-1")


def read_to_eof(sock):
    got = bytearray()
    while True:
        data = sock.recv(65536)
        if not data:
            return bytes(got)
        got += data


def serve_reply(args):
    reply = unescape(args.reply)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            s = self.request
            s.settimeout(30)
            got = b""
            try:
                while b"\r\n\r\n" not in got:
                    data = s.recv(65536)
                    if not data:
                        break
                    got += data
                s.sendall(reply)
            except OSError:
                pass

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128

    with Server(("127.0.0.1", args.port), Handler) as srv:
        print("listening", flush=True)
        srv.serve_forever()


def run_seq(args):
    request = unescape(args.request)
    bad = 0
    for _ in range(args.n):
        s = socket.create_connection((args.host, args.port), timeout=10)
        try:
            s.sendall(request)
            if not read_to_eof(s):
                bad += 1
        except OSError:
            bad += 1
        finally:
            s.close()
    if bad:
        print("seq: %d of %d connections got no answer" % (bad, args.n),
              file=sys.stderr)
    return 1 if bad else 0


def run_drip(args):
    host_line = b"Host: %s\r\n\r\n" % args.host_name.encode()
    head = b"GET / HTTP/1.1\r\nX-Pad: "
    pad = args.bytes - len(head) - 2 - len(host_line)
    if pad < 0:
        print("drip: BYTES too small", file=sys.stderr)
        return 2
    req = head + b"a" * pad + b"\r\n" + host_line
    s = socket.create_connection((args.host, args.port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    deadline = time.monotonic() + 300
    if args.whole:
        s.sendall(req)
        req = b""
    for i in range(len(req)):
        s.send(req[i:i + 1])
        if args.gap:
            time.sleep(args.gap)
        if time.monotonic() > deadline:
            print("drip: gave up after 300 s", file=sys.stderr)
            return 1
    if args.shut:
        s.shutdown(socket.SHUT_WR)
    answer = read_to_eof(s)
    s.close()
    sys.stdout.buffer.write(answer)
    return 0 if answer else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reply")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--reply", required=True)
    q = sub.add_parser("seq")
    q.add_argument("host")
    q.add_argument("port", type=int)
    q.add_argument("n", type=int)
    q.add_argument("request")
    d = sub.add_parser("drip")
    d.add_argument("host")
    d.add_argument("port", type=int)
    d.add_argument("bytes", type=int)
    d.add_argument("--gap", type=float, default=0.0)
    d.add_argument("--host-name", default="drip.example")
    d.add_argument("--shut", action="store_true")
    d.add_argument("--whole", action="store_true")
    a = p.parse_args()
    if a.cmd == "reply":
        serve_reply(a)
        return 0
    if a.cmd == "seq":
        return run_seq(a)
    return run_drip(a)


if __name__ == "__main__":
    sys.exit(main())
