#!/usr/bin/env python3
"""A foreign Diameter Sh client written from RFC 6733 / TS 29.329 byte layouts, independent of freeDiameter.

It checks what mihua's own probe cannot send: a UDR without User-Identity, with an empty one, without
Data-Reference, or asking for RepositoryData without Service-Indication must be answered DIAMETER_MISSING_AVP (5005) with a Failed-AVP
naming the missing AVP, and a peer that sends garbage must
not take the HSS down. Usage: sh_raw_client.py HOST PORT [PORTFILE]  (PORTFILE receives our local ports, one a
line, so a capture check can set these deliberately broken exchanges aside). Exit 0 when every expectation holds.
"""
import os
import socket
import struct
import sys

VENDOR_3GPP = 10415
SH_APP = 16777217
FLAG_V, FLAG_M = 0x80, 0x40


def avp(code, data, vendor=None, mandatory=True):
    flags = (FLAG_M if mandatory else 0) | (FLAG_V if vendor else 0)
    hdr_len = 12 if vendor else 8
    length = hdr_len + len(data)
    out = struct.pack("!IB", code, flags) + length.to_bytes(3, "big")
    if vendor:
        out += struct.pack("!I", vendor)
    return out + data + b"\0" * ((4 - len(data) % 4) % 4)


def u32(code, value, vendor=None):
    return avp(code, struct.pack("!I", value), vendor)


def utf8(code, text, vendor=None):
    return avp(code, text.encode(), vendor)


def message(cmd, app, avps, request=True, hbh=1, e2e=1):
    body = b"".join(avps)
    flags = 0x80 if request else 0
    if app == SH_APP:
        flags |= 0x40  # PXY, as TS 29.329 §6.1.1 marks UDR
    length = 20 + len(body)
    return (struct.pack("!B", 1) + length.to_bytes(3, "big") + struct.pack("!B", flags) + cmd.to_bytes(3, "big") +
            struct.pack("!III", app, hbh, e2e) + body)


def read_raw(sock):
    """One message: (flags, command code, AVPs, hop-by-hop id, end-to-end id)."""
    hdr = b""
    while len(hdr) < 20:
        chunk = sock.recv(20 - len(hdr))
        if not chunk:
            raise EOFError("connection closed")
        hdr += chunk
    length = int.from_bytes(hdr[1:4], "big")
    body = b""
    while len(body) < length - 20:
        chunk = sock.recv(length - 20 - len(body))
        if not chunk:
            raise EOFError("connection closed")
        body += chunk
    hbh, e2e = struct.unpack("!II", hdr[12:20])
    return hdr[4], int.from_bytes(hdr[5:8], "big"), parse_avps(body), hbh, e2e


def read_msg(sock):
    flags, cmd, avps, _, _ = read_raw(sock)
    return flags, cmd, avps


def parse_avps(data):
    out = []
    i = 0
    while i + 8 <= len(data):
        code, flags = struct.unpack("!IB", data[i:i + 5])
        length = int.from_bytes(data[i + 5:i + 8], "big")
        off = 12 if flags & FLAG_V else 8
        out.append((code, data[i + off:i + length]))
        i += length + (4 - length % 4) % 4
    return out


def first(avps, code):
    return next((v for c, v in avps if c == code), None)


def connect(host, port, origin, portfile):
    s = socket.create_connection((host, port), timeout=10)
    if portfile:
        with open(portfile, "a") as f:
            f.write("%d\n" % s.getsockname()[1])
    cer = message(257, 0, [
        utf8(264, origin), utf8(296, "ims.test"),
        avp(257, struct.pack("!H", 1) + socket.inet_aton("127.0.0.1")),
        u32(266, 0), utf8(269, "sh_raw_client", None),
        u32(265, VENDOR_3GPP),
        avp(260, u32(266, VENDOR_3GPP) + u32(258, SH_APP)),
    ])
    s.sendall(cer)
    _, cmd, avps = read_msg(s)
    rc = first(avps, 268)
    if cmd != 257 or rc is None or struct.unpack("!I", rc)[0] != 2001:
        raise AssertionError("CEA not successful: cmd=%d rc=%r" % (cmd, rc))
    return s


def udr(origin, session, with_identity, with_dref, with_si=True):
    avps = [utf8(263, session), avp(260, u32(266, VENDOR_3GPP) + u32(258, SH_APP)), u32(277, 1),
            utf8(264, origin), utf8(296, "ims.test"), utf8(283, "ims.test")]
    if with_identity == "empty":
        avps.append(avp(700, b"", VENDOR_3GPP))
    elif with_identity:
        avps.append(avp(700, utf8(601, "tel:+15550000001", VENDOR_3GPP), VENDOR_3GPP))
    if with_si:
        avps.append(utf8(704, "mihua-voice-encryption", VENDOR_3GPP))
    if with_dref:
        avps.append(u32(703, 0, VENDOR_3GPP))
    return message(306, SH_APP, avps, hbh=os.getpid() & 0xffff, e2e=len(session))


def expect_missing(sock, origin, name, with_identity, with_dref, missing_code, with_si=True):
    sock.sendall(udr(origin, "%s;%s" % (origin, name), with_identity, with_dref, with_si))
    while True:
        flags, cmd, avps = read_msg(sock)
        if cmd == 280 and flags & 0x80:  # a watchdog request may arrive first: answer it
            sock.sendall(message(280, 0, [u32(268, 2001), utf8(264, origin), utf8(296, "ims.test")], request=False))
            continue
        break
    rc = first(avps, 268)
    failed = first(avps, 279)
    got = struct.unpack("!I", rc)[0] if rc else None
    inner = [c for c, _ in parse_avps(failed)] if failed else []
    if cmd != 306 or got != 5005 or missing_code not in inner:
        raise AssertionError("%s: want 5005 with Failed-AVP %d, got cmd=%d rc=%r failed=%r"
                             % (name, missing_code, cmd, got, inner))
    print("ok - %s: 5005 with Failed-AVP %d" % (name, missing_code))


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    portfile = sys.argv[3] if len(sys.argv) > 3 else None
    origin = "raw-%d.ims.test" % os.getpid()
    s = connect(host, port, origin, portfile)
    expect_missing(s, origin, "no User-Identity", False, True, 700)
    expect_missing(s, origin, "no Data-Reference", True, False, 703)
    expect_missing(s, origin, "RepositoryData without Service-Indication", True, True, 704, with_si=False)
    expect_missing(s, origin, "empty User-Identity", "empty", True, 601)
    s.close()

    # Garbage: a header announcing version 7 and a length beyond what follows, then a close.
    g = socket.create_connection((host, port), timeout=10)
    if portfile:
        with open(portfile, "a") as f:
            f.write("%d\n" % g.getsockname()[1])
    g.sendall(b"\x07\xff\xff\xff" + os.urandom(64))
    g.close()

    # A capabilities exchange followed by a UDR whose AVP length runs past the message.
    s = connect(host, port, origin.replace("raw-", "raw2-"), portfile)
    bad = bytearray(udr(origin, "x;bad", True, True))
    bad[20 + 5:20 + 8] = (0xFFFF).to_bytes(3, "big")  # first AVP claims 65535 bytes
    s.sendall(bytes(bad))
    try:
        s.settimeout(5)
        read_msg(s)  # an error answer or a close are both acceptable
    except (EOFError, socket.timeout, ConnectionResetError):
        pass
    s.close()
    print("ok - garbage and a truncated AVP sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
