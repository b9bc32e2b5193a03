#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Records the first message of many client connections, one file each.

  recorder.py DIR FRAME [--reply HEX] [--keep N]

Listens on 127.0.0.1 on a free port and prints "PORT\\n". Each accepted
connection is read until its first message is complete by FRAME (then the
connection is closed at once, so a client that waits for the server fails
fast), or one second of silence, or EOF; the bytes go to DIR/SEQ.bin with
SEQ counting connections from 1 in accept order. FRAME is one of:
  tls   a TLS record (5-byte header, 16-bit length at 3)
  be16  a 16-bit big-endian length prefix that excludes itself (DNS)
  be32  a 32-bit big-endian length that includes itself (PostgreSQL)
  ber   one BER TLV (LDAP)
  none  read until silence
With --reply HEX, those bytes are sent after each complete message and
reading goes on for --keep N messages in all (an LDAP BindResponse lets
ldapsearch send its search). Never answers otherwise. Runs until killed.
Standard library only.
"""
import os
import socket
import sys
import threading


def need(frame, buf):
    """Bytes the first message in BUF needs, or None while unknown."""
    if frame == "tls":
        return 5 + (buf[3] << 8 | buf[4]) if len(buf) >= 5 else None
    if frame == "be16":
        return 2 + (buf[0] << 8 | buf[1]) if len(buf) >= 2 else None
    if frame == "be32":
        return int.from_bytes(buf[0:4], "big") if len(buf) >= 4 else None
    if frame == "ber":
        if len(buf) < 2:
            return None
        if buf[1] < 0x80:
            return 2 + buf[1]
        n = buf[1] & 0x7F
        if len(buf) < 2 + n:
            return None
        return 2 + n + int.from_bytes(buf[2:2 + n], "big")
    return None


def handle(conn, path, frame, reply, keep):
    conn.settimeout(1.0)
    got = b""
    start = 0
    left = keep
    try:
        while len(got) < 65536:
            data = conn.recv(65536)
            if not data:
                break
            got += data
            while True:
                n = need(frame, got[start:])
                if n is None or len(got) - start < n:
                    break
                start += n
                left -= 1
                if left <= 0:
                    raise StopIteration
                if reply:
                    conn.sendall(reply)
    except (socket.timeout, OSError, StopIteration):
        pass
    conn.close()
    with open(path + ".tmp", "wb") as f:
        f.write(got)
    os.rename(path + ".tmp", path)


def main():
    out, frame = sys.argv[1], sys.argv[2]
    reply = b""
    keep = 1
    args = sys.argv[3:]
    while args:
        if args[0] == "--reply":
            reply = bytes.fromhex(args[1])
        elif args[0] == "--keep":
            keep = int(args[1])
        args = args[2:]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    print(srv.getsockname()[1], flush=True)

    seq = 0
    while True:
        conn, _ = srv.accept()
        seq += 1
        threading.Thread(target=handle, daemon=True,
                         args=(conn, f"{out}/{seq}.bin", frame, reply,
                               keep)).start()


if __name__ == "__main__":
    main()
