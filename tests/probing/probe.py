#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A prober's view of a TCP port: send each probe on a fresh connection and
record what comes back -- the bytes, how the connection ended (FIN, RST, or
still open when we stopped waiting) and the time from the last byte sent to
the end, to the millisecond. Standard library only.

  probe.py run HOST PORT [--set NAME]... [--file NAME=PATH]... [--wait S]
      one JSON line per probe: name, sent, got (bytes), head (escaped start),
      digest (of the normalised answer), end, ms
  probe.py compare BASE.json TEST.json [--ms TOLERANCE]
      a table of both views side by side, the differences, and a summary
      line "SAME n of m"; exit 0
  probe.py one HOST PORT HEX [--wait S] [--tls SNI]
      a single probe given in hex, as a JSON line; with --tls, sent inside
      a TLS connection (certificate not checked)

Probe sets: junk (seeded random bytes of many lengths), http, tls (client
hellos with and without SNI, made by Python's own TLS stack), openvpn
(keyless OpenVPN-shaped packets for every opcode and key id, nmap's probe,
a tls-crypt-shaped packet with a fresh time, fragments), ssh (banners),
silence (connect, send nothing), nmap (every TCP probe of nmap's
service-probes file, when nmap is installed). --file adds a captured first message (a
replay) from a file.
"""
import argparse
import hashlib
import json
import random
import re
import socket
import ssl
import struct
import sys
import time


def esc(data, n=48):
    out = []
    for b in data[:n]:
        if 0x20 <= b < 0x7F and b not in (0x5C, 0x22):
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out) + ("..." if len(data) > n else "")


def normalise(data):
    """What stays the same between two answers of one server: HTTP dates
    and TLS randoms vary per connection."""
    if data.startswith(b"HTTP/"):
        return re.sub(rb"Date: [^\r\n]*", b"Date: -", data)
    if data[:1] == b"\x16" and len(data) >= 5:
        # A TLS server flight: its random, key share and signature vary
        # (an ECDSA signature by a few bytes); keep the record types and
        # the first record's length (the ServerHello's).
        types, i = [], 0
        while i + 5 <= len(data):
            types.append(b"%d" % data[i])
            i += 5 + struct.unpack(">H", data[i + 3:i + 5])[0]
        return b"tls %d " % struct.unpack(">H", data[3:5])[0] + \
            b",".join(types)
    return data


def client_hello(sni):
    """The first flight of Python's TLS client, with or without SNI."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


NMAP_PROBES = "/usr/share/nmap/nmap-service-probes"


def nmap_unescape(text):
    """nmap-service-probes' C-like escapes: \\0 \\r \\n \\t \\xHH ..."""
    simple = {"0": 0, "a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9,
              "v": 11, "\\": 92, "|": 124}
    out, i = bytearray(), 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x" and i + 3 < len(text):
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out.append(simple.get(n, ord(n)))
            i += 2
            continue
        out += c.encode("latin-1")
        i += 1
    return bytes(out)


def nmap_probes():
    """nmap's TCP service probes (its NULL probe is the silence set)."""
    probes = []
    try:
        with open(NMAP_PROBES, encoding="latin-1") as f:
            for line in f:
                m = re.match(r"Probe TCP (\S+) q(.)(.*?)\2", line)
                if m and m.group(1) != "NULL":
                    probes.append(("nmap-" + m.group(1),
                                   nmap_unescape(m.group(3))))
    except OSError:
        pass
    return probes


def sets(names):
    rnd = random.Random(20261205)
    probes = []
    if "junk" in names:
        for n in (1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 64, 100, 300, 1000,
                  1500, 4000):
            data = bytes(rnd.randrange(256) for _ in range(n))
            probes.append(("junk-%d" % n, data))
        probes.append(("zeros-16", bytes(16)))
        probes.append(("newline", b"\r\n"))
    if "http" in names:
        probes += [
            ("http-get", b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"),
            ("http-get-1.0", b"GET / HTTP/1.0\r\n\r\n"),
            ("http-options", b"OPTIONS / HTTP/1.0\r\n\r\n"),
            ("http-connect", b"CONNECT example:443 HTTP/1.1\r\n\r\n"),
            ("http-partial", b"GET / HT"),
        ]
    if "tls" in names:
        probes += [
            ("tls-hello-sni", client_hello("localhost")),
            ("tls-hello-nosni", client_hello(None)),
            ("tls-record-junk", b"\x16\x03\x01\x00\x05hello"),
        ]
    if "openvpn" in names:
        # nmap's OpenVPN probe: a 14-byte P_CONTROL_HARD_RESET_CLIENT_V2.
        probes.append(("ovpn-nmap", bytes.fromhex(
            "000e38" + "00" * 13)))
        for op in range(1, 12):
            for key in range(8):
                sid = bytes(rnd.randrange(256) for _ in range(8))
                pkt = bytes([op << 3 | key]) + sid + bytes(5)
                probes.append(("ovpn-op%d-key%d" % (op, key),
                               struct.pack(">H", len(pkt)) + pkt))
        # tls-crypt-shaped, keyless: a real time, a random tag and body.
        now = int(time.time())
        for name, op, body in (("ovpn-tlscrypt", 0x38, 37),
                               ("ovpn-tlscrypt-v2", 0x50, 300)):
            pkt = (bytes([op]) + bytes(rnd.randrange(256) for _ in range(8))
                   + bytes.fromhex("0f000001") + struct.pack(">I", now)
                   + bytes(rnd.randrange(256) for _ in range(32 + body)))
            full = struct.pack(">H", len(pkt)) + pkt
            probes.append((name, full))
            probes.append((name + "-15", full[:15]))
            probes.append((name + "-2", full[:2]))
    if "ssh" in names:
        probes += [
            ("ssh-banner", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"),
            ("ssh-banner-1.99", b"SSH-1.99-probe\r\n"),
            ("ssh-partial", b"SSH-"),
        ]
    if "silence" in names:
        probes.append(("silence", b""))
    if "nmap" in names:
        probes += nmap_probes()
    return probes


def probe(host, port, name, data, wait, tls=None):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        # A prober that completes the TLS handshake first (the site's
        # certificate is public), then sends its bytes inside.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname=tls)
    if data:
        s.sendall(data)
    t0 = time.monotonic()
    got, end = b"", "open"
    s.settimeout(wait)
    try:
        while True:
            r = s.recv(65536)
            if not r:
                end = "FIN"
                break
            got += r
    except ConnectionResetError:
        end = "RST"
    except ssl.SSLError as e:
        end = "TLS-" + (e.reason or "error")
    except socket.timeout:
        end = "open"
    ms = round((time.monotonic() - t0) * 1000)
    s.close()
    return {
        "name": name,
        "sent": len(data),
        "got": len(got),
        "head": esc(got),
        "digest": hashlib.sha256(normalise(got)).hexdigest()[:16],
        "end": end,
        "ms": ms,
    }


def run(args):
    probes = sets(args.set)
    for spec in args.file:
        name, path = spec.split("=", 1)
        with open(path, "rb") as f:
            probes.append((name, f.read()))
    for name, data in probes:
        rec = probe(args.host, args.port, name, data, args.wait)
        print(json.dumps(rec), flush=True)


def load(path):
    with open(path) as f:
        return {r["name"]: r for r in map(json.loads, f) if r}


def compare(args):
    base, test = load(args.base), load(args.test)
    names = [n for n in base if n in test]
    same_answer = same_time = 0
    answers, times = [], []
    print("%-22s %-34s %-34s %s" % ("probe", "bare server", "through portsplit",
                                    "verdict"))
    for name in names:
        b, t = base[name], test[name]
        fb = "%s %dB %s %dms" % (b["digest"][:6], b["got"], b["end"], b["ms"])
        ft = "%s %dB %s %dms" % (t["digest"][:6], t["got"], t["end"], t["ms"])
        dt = t["ms"] - b["ms"]
        if b["digest"] != t["digest"] or b["end"] != t["end"]:
            verdict = "DIFFERENT answer"
            answers.append((name, b, t))
        else:
            same_answer += 1
            if abs(dt) > args.ms:
                verdict = "same answer, %+d ms" % dt
                times.append((name, b, t))
            else:
                verdict = "same"
                same_time += 1
        print("%-22s %-34s %-34s %s" % (name, fb, ft, verdict))
    print()
    for name, b, t in answers:
        print("ANSWER %s: bare %s %dB \"%s\"; portsplit %s %dB \"%s\"" % (
            name, b["end"], b["got"], b["head"], t["end"], t["got"],
            t["head"]))
    for name, b, t in times:
        print("TIME %s: %d ms through portsplit, %d ms bare (%+d)" % (
            name, t["ms"], b["ms"], t["ms"] - b["ms"]))
    print("SAME ANSWER %d of %d (bytes, and FIN/RST/open)" % (
        same_answer, len(names)))
    print("SAME TIME %d of those %d (within %d ms either way)" % (
        same_time, same_answer, args.ms))


def one(args):
    rec = probe(args.host, args.port, "one", bytes.fromhex(args.hex),
                args.wait, args.tls)
    print(json.dumps(rec))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("host")
    r.add_argument("port", type=int)
    r.add_argument("--set", action="append", default=[])
    r.add_argument("--file", action="append", default=[])
    r.add_argument("--wait", type=float, default=5.0)
    c = sub.add_parser("compare")
    c.add_argument("base")
    c.add_argument("test")
    c.add_argument("--ms", type=int, default=10)
    o = sub.add_parser("one")
    o.add_argument("host")
    o.add_argument("port", type=int)
    o.add_argument("hex")
    o.add_argument("--wait", type=float, default=5.0)
    o.add_argument("--tls", metavar="SNI",
                   help="complete a TLS handshake first, then probe inside")
    args = ap.parse_args()
    {"run": run, "compare": compare, "one": one}[args.cmd](args)


if __name__ == "__main__":
    main()
