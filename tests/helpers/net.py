#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Real TCP servers and clients for portsplit's integration tests.

Standard library only. Every blocking call has a timeout, so a test that goes
wrong fails instead of hanging. Servers take one connection per thread and
write what they did to a report file (one JSON object per connection), so the
shell test can compare both ends of a relay.

  free-ports N [--v6]         print N distinct free TCP ports on loopback
  wait-port HOST PORT SECS    exit 0 once HOST:PORT accepts a connection

  serve ident   --port P --name NAME     say "NAME\\n", then echo to EOF
  serve sink    --port P --reply-bytes N read to EOF, reply "SHA256 LEN\\n"
                                          then N random bytes, close
  serve pump    --port P --send-bytes N  send N random bytes then SHUT_WR,
                                          while reading the peer to EOF
  serve httpecho --port P                HTTP/1.1: POST replies with its body
  serve capture --port P --out FILE      store what the first client sends
                                          (until 1 s of silence), close
  serve peer    --port P                 say "peer=ADDR\\n" (the address it
                                          sees the client from), read to EOF
  serve refuse  --port P [--delay S] [--reset]
                                         read what comes, wait S seconds,
                                          close (or reset) without a byte

  talk HOST PORT STEP...      scripted client (see run_talk), received bytes
                              go to stdout
  bulk HOST PORT [options]    bulk client, prints one JSON line
"""
import argparse
import codecs
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

CHUNK = 256 * 1024


def die(msg):
    print("net.py: " + msg, file=sys.stderr)
    sys.exit(1)


def unescape(text):
    """'SSH-2.0\\r\\n\\x16' -> bytes, with Python's backslash escapes."""
    return codecs.escape_decode(text.encode())[0]


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(host, port, timeout=10.0, source=None):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, int(port)))
    return s


# ---------------------------------------------------------------- ports


def free_ports(n, v6=False):
    """Bind n sockets at once so the kernel hands out n different ports."""
    socks = []
    try:
        for _ in range(n):
            fam = socket.AF_INET6 if v6 else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.bind(("::1" if v6 else "127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(host, port, secs):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            connect(host, port, 1.0).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# ---------------------------------------------------------------- servers


class Report:
    """Appends one JSON line per connection; the shell test reads it."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def add(self, **fields):
        if not self.path:
            return
        with self.lock, open(self.path, "a") as f:
            f.write(json.dumps(fields) + "\n")
            f.flush()


def read_to_eof(sock, into=None):
    """Read until EOF; return (sha256 hex, length)."""
    h = hashlib.sha256()
    n = 0
    while True:
        data = sock.recv(CHUNK)
        if not data:
            return h.hexdigest(), n
        h.update(data)
        n += len(data)
        if into is not None:
            into.append(data)


def read_until_quiet(sock, first, quiet):
    """Read until EOF, an error, or silence: FIRST seconds before a first
    byte, QUIET seconds after one; return what came."""
    got = []
    sock.settimeout(first)
    try:
        for data in iter(lambda: sock.recv(CHUNK), b""):
            got.append(data)
            sock.settimeout(quiet)
    except OSError:
        pass
    return b"".join(got)


def send_random(sock, nbytes):
    """Send nbytes of fresh random data; return its sha256 hex."""
    h = hashlib.sha256()
    left = nbytes
    while left > 0:
        block = os.urandom(min(CHUNK, left))
        h.update(block)
        sock.sendall(block)
        left -= len(block)
    return h.hexdigest()


def handle_ident(sock, args, report):
    # A server-speaks-first backend: its name tells the client where it
    # landed, the echo proves that the stream arrived whole and in order.
    sock.sendall(args.name.encode() + b"\n")
    got = []
    while True:
        data = sock.recv(CHUNK)
        if not data:
            break
        got.append(data)
        sock.sendall(data)
    body = b"".join(got)
    report.add(name=args.name, recv_len=len(body),
               recv_sha=hashlib.sha256(body).hexdigest(),
               head=body[:64].decode("latin-1"))


def handle_peer(sock, args, report):
    # Tells the client which address this server sees it from
    # (getpeername), then waits for its EOF.
    peer = sock.getpeername()[0]
    sock.sendall(("peer=%s\n" % peer).encode())
    while sock.recv(CHUNK):
        pass
    report.add(peer=peer)


def handle_sink(sock, args, report):
    recv_sha, recv_len = read_to_eof(sock)
    h = hashlib.sha256()
    line = ("%s %d\n" % (recv_sha, recv_len)).encode()
    h.update(line)
    sock.sendall(line)
    left = args.reply_bytes
    while left > 0:
        block = os.urandom(min(CHUNK, left))
        h.update(block)
        sock.sendall(block)
        left -= len(block)
    report.add(recv_sha=recv_sha, recv_len=recv_len, sent_sha=h.hexdigest(),
               sent_len=len(line) + args.reply_bytes)


def handle_pump(sock, args, report):
    # Writing and reading at once: a relay that only moves one direction at
    # a time, or that drops a direction after the other's FIN, stalls here.
    result = {}

    def writer():
        try:
            result["sent_sha"] = send_random(sock, args.send_bytes)
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            result["send_error"] = str(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        recv_sha, recv_len = read_to_eof(sock)
    except OSError as e:
        recv_sha, recv_len = None, -1
        result["recv_error"] = str(e)
    t.join(args.io_timeout)
    report.add(recv_sha=recv_sha, recv_len=recv_len,
               sent_len=args.send_bytes, **result)


def handle_refuse(sock, args, report):
    # A backend that rejects its client (what on_reject is for): it reads
    # what comes (up to 0.3 s for a first byte, then until 0.1 s pass
    # without one), waits --delay seconds, then closes without sending a
    # byte, or resets the connection. The report holds what it read.
    body = read_until_quiet(sock, 0.3, 0.1)
    time.sleep(args.delay)
    if args.reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    sock.close()
    report.add(recv_len=len(body), recv_hex=body.hex())


def handle_capture(sock, args, report):
    body = read_until_quiet(sock, 1.0, 1.0)
    with open(args.out + ".tmp", "wb") as f:
        f.write(body)
    os.rename(args.out + ".tmp", args.out)


def echo_http_handler():
    import http.server  # imported here: it costs the clients 40 ms

    class EchoHTTP(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            sys.stderr.write("httpecho: " + (fmt % a) + "\n")

    return http.server, EchoHTTP


def ready():
    # The shell waits for this line: probing the port instead would be a
    # connection of its own, in the report.
    print("listening", flush=True)


def serve(args):
    import socketserver
    host = args.host
    if args.kind == "httpecho":
        http_server, EchoHTTP = echo_http_handler()

        class Server(http_server.ThreadingHTTPServer):
            address_family = family_of(host)
            daemon_threads = True
            allow_reuse_address = True
        srv = Server((host, args.port), EchoHTTP)
        ready()
        srv.serve_forever()
        return

    handler = {"ident": handle_ident, "sink": handle_sink,
               "pump": handle_pump, "capture": handle_capture,
               "peer": handle_peer, "refuse": handle_refuse}[args.kind]
    report = Report(args.report)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.settimeout(args.io_timeout)
            try:
                handler(self.request, args, report)
            except OSError as e:
                report.add(error=str(e))

    class Server(socketserver.ThreadingTCPServer):
        address_family = family_of(host)
        daemon_threads = True
        allow_reuse_address = True

    with Server((host, args.port), Handler) as srv:
        ready()
        srv.serve_forever()


# ---------------------------------------------------------------- clients


class Receiver(threading.Thread):
    """Collects everything the peer sends, with the time of the first byte."""

    def __init__(self, sock, t0):
        super().__init__(daemon=True)
        self.sock, self.t0 = sock, t0
        self.buf = bytearray()
        self.first = None
        self.eof = False
        self.error = None
        self.cond = threading.Condition()

    def run(self):
        while True:
            try:
                data = self.sock.recv(CHUNK)
            except socket.timeout:
                continue
            except OSError as e:
                with self.cond:
                    self.error, self.eof = str(e), True
                    self.cond.notify_all()
                return
            with self.cond:
                if not data:
                    self.eof = True
                    self.cond.notify_all()
                    return
                if self.first is None:
                    self.first = time.monotonic() - self.t0
                self.buf += data
                self.cond.notify_all()

    def wait(self, pred, secs):
        with self.cond:
            return self.cond.wait_for(lambda: pred(self), secs)


def run_talk(argv):
    """Scripted client. Steps, in order:

      send TEXT          send TEXT (Python escapes: \\r \\n \\xNN)
      slow DELAY TEXT    send TEXT one byte at a time, DELAY s between bytes
      sleep S            pause
      quiet S            fail if any byte arrives within S s
      expect TEXT S      fail unless the received bytes contain TEXT within S s
      eof S              fail unless the peer closes within S s
      shutwr             shutdown(SHUT_WR)
      rst                close with SO_LINGER 0 (the kernel sends a RST)
      close              close normally

    Received bytes go to stdout. --bind ADDR connects from ADDR (e.g.
    127.0.0.2, so the client differs from the daemon's own address).
    --first FILE writes the time from connect
    to the first received byte (or "none"). Exit 0 when every step held,
    3 with a message on stderr otherwise.
    """
    p = argparse.ArgumentParser(prog="talk")
    p.add_argument("--first")
    p.add_argument("--bind", help="source address to connect from")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("steps", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)

    t0 = time.monotonic()
    s = connect(a.host, a.port, source=a.bind)
    s.settimeout(0.5)
    rx = Receiver(s, t0)
    rx.start()
    steps = list(a.steps)
    failure = None
    closed = False

    def take():
        if not steps:
            raise SystemExit("talk: missing step argument")
        return steps.pop(0)

    try:
        while steps and failure is None:
            op = take()
            if op == "send":
                s.sendall(unescape(take()))
            elif op == "slow":
                delay = float(take())
                for i, b in enumerate(unescape(take())):
                    if i:
                        time.sleep(delay)
                    s.sendall(bytes([b]))
            elif op == "sleep":
                time.sleep(float(take()))
            elif op == "quiet":
                secs = float(take())
                n = len(rx.buf)
                if rx.wait(lambda r: len(r.buf) > n or r.eof, secs):
                    failure = "quiet %.2fs: got %r eof=%s" % (
                        secs, bytes(rx.buf[n:n + 80]), rx.eof)
            elif op == "expect":
                want, secs = unescape(take()), float(take())
                if not rx.wait(lambda r: want in r.buf or r.eof, secs) \
                        or want not in rx.buf:
                    failure = "expect %r within %ss: got %r eof=%s" % (
                        want, secs, bytes(rx.buf[:200]), rx.eof)
            elif op == "eof":
                secs = float(take())
                if not rx.wait(lambda r: r.eof, secs):
                    failure = "no EOF within %ss" % secs
            elif op == "shutwr":
                s.shutdown(socket.SHUT_WR)
            elif op == "rst":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
                s.close()
                closed = True
            elif op == "close":
                s.close()
                closed = True
            else:
                raise SystemExit("talk: unknown step " + op)
    except OSError as e:
        failure = "%s: %s" % (op, e)
    if not closed:
        s.close()
    # The receiver only lingers when we closed first; it is a daemon thread.
    rx.join(1.0 if rx.eof else 0.1)
    with rx.cond:
        sys.stdout.buffer.write(bytes(rx.buf))
    sys.stdout.flush()
    if a.first:
        with open(a.first, "w") as f:
            f.write("none\n" if rx.first is None else "%.3f\n" % rx.first)
    if failure:
        print("talk: " + failure, file=sys.stderr)
        sys.exit(3)


def run_bulk(argv):
    """Bulk client: sends --prefix, then --send random bytes while reading
    at the same time; once the peer's EOF has arrived, sends --after-eof
    random bytes; then SHUT_WR and reads to the end. Prints JSON with the
    sha256 and length of each direction."""
    p = argparse.ArgumentParser(prog="bulk")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--prefix", default="")
    p.add_argument("--send", type=int, default=0)
    p.add_argument("--after-eof", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60.0)
    a = p.parse_args(argv)

    s = connect(a.host, a.port, a.timeout)
    sent = hashlib.sha256()
    out = {"sent_len": 0}
    prefix = unescape(a.prefix)
    rx_done = threading.Event()
    rx = {"h": hashlib.sha256(), "n": 0, "head": b""}

    def reader():
        try:
            while True:
                data = s.recv(CHUNK)
                if not data:
                    break
                if len(rx["head"]) < 80:
                    rx["head"] += data[:80 - len(rx["head"])]
                rx["h"].update(data)
                rx["n"] += len(data)
        except OSError as e:
            out["recv_error"] = str(e)
        rx_done.set()

    def send_random_tracked(n):
        left = n
        while left > 0:
            block = os.urandom(min(CHUNK, left))
            sent.update(block)
            s.sendall(block)
            left -= len(block)
        out["sent_len"] += n

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        sent.update(prefix)
        s.sendall(prefix)
        out["sent_len"] += len(prefix)
        send_random_tracked(a.send)
        if a.after_eof:
            if not rx_done.wait(a.timeout):
                out["error"] = "no EOF from peer before --after-eof"
            send_random_tracked(a.after_eof)
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        out["send_error"] = str(e)
    if not rx_done.wait(a.timeout):
        out["error"] = "no EOF from peer"
    s.close()
    out.update(sent_sha=sent.hexdigest(), recv_sha=rx["h"].hexdigest(),
               recv_len=rx["n"], head=rx["head"].decode("latin-1"))
    print(json.dumps(out))


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "free-ports":
        v6 = "--v6" in rest
        rest = [r for r in rest if r != "--v6"]
        print(" ".join(str(p) for p in free_ports(int(rest[0]), v6)))
    elif cmd == "wait-port":
        sys.exit(0 if wait_port(rest[0], int(rest[1]), float(rest[2])) else 1)
    elif cmd == "serve":
        p = argparse.ArgumentParser(prog="serve")
        p.add_argument("kind", choices=["ident", "sink", "pump", "httpecho",
                                        "capture", "peer", "refuse"])
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--name", default="server")
        p.add_argument("--report")
        p.add_argument("--out")
        p.add_argument("--reply-bytes", type=int, default=0)
        p.add_argument("--send-bytes", type=int, default=0)
        p.add_argument("--io-timeout", type=float, default=60.0)
        p.add_argument("--delay", type=float, default=0.0)
        p.add_argument("--reset", action="store_true")
        serve(p.parse_args(rest))
    elif cmd == "talk":
        run_talk(rest)
    elif cmd == "bulk":
        run_bulk(rest)
    else:
        die("unknown command " + cmd)


if __name__ == "__main__":
    main()
