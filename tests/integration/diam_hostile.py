#!/usr/bin/env python3
"""Hostile Diameter peers for diam_hostile.sh (byte layouts of sh_raw_client.py). Each mode prints one JSON line.

  selfid HOST PORT IDENTITY REALM  a CER whose Origin-Host is IDENTITY (the server's own): the CEA's Result-Code,
      or "closed" when the server closed without one.
  silent HOST PORT N               N TCP connections that never send a CER, held until stdin closes.
"""
import json
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sh_raw_client as raw  # noqa: E402


def selfid(host, port, identity, realm):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(raw.message(257, 0, [
        raw.utf8(264, identity), raw.utf8(296, realm),
        raw.avp(257, struct.pack("!H", 1) + socket.inet_aton("127.0.0.1")),
        raw.u32(266, 0), raw.utf8(269, "diam_hostile", None),
        raw.u32(265, raw.VENDOR_3GPP),
        raw.avp(260, raw.u32(266, raw.VENDOR_3GPP) + raw.u32(258, raw.SH_APP)),
    ]))
    try:
        _, cmd, avps = raw.read_msg(s)
        rc = raw.first(avps, 268)
        result = struct.unpack("!I", rc)[0] if cmd == 257 and rc else "no result code"
    except (EOFError, ConnectionResetError, socket.timeout):
        result = "closed"
    s.close()
    print(json.dumps({"result": result}))


def silent(host, port, n):
    socks = []
    for _ in range(n):
        try:  # beyond what the server takes, the kernel backlog fills and a connect hangs
            socks.append(socket.create_connection((host, port), timeout=2))
        except OSError:
            break
    print(json.dumps({"held": len(socks)}), flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "selfid":
        selfid(host, port, sys.argv[4], sys.argv[5])
    elif mode == "silent":
        silent(host, port, int(sys.argv[4]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
