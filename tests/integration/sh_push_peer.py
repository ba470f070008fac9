#!/usr/bin/env python3
"""A foreign Sh application server for Sh-Subs-Notif (TS 29.329 §6.1.5-§6.1.8), written from the byte layouts with
sh_raw_client.py's encoder, independent of freeDiameter.

Usage: sh_push_peer.py HOST PORT ORIGIN_HOST. Reads commands on stdin, one a line:
  sub IDENTITY REFS [sdi] [EXPIRY_S]   SNR subscribe (REFS: Data-Reference numbers, comma separated)
  unsub IDENTITY REFS                  SNR unsubscribe
  pna CODE                             answer later PNRs with this code (2001, or an Experimental-Result 5xxx)
  quit
and prints one line per event on stdout (flushed):
  READY
  SNA session=S result=N exp=N expiry=UNIX voenc=0|1|- impus=N
  PNR user=IDENTITY voenc=0|1 impus=N answered=CODE
Watchdog requests are answered. Exit 0 at quit or when the HSS closes the connection.
"""
import os
import re
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sh_raw_client import (SH_APP, VENDOR_3GPP, avp, connect, first, message, parse_avps,  # noqa: E402
                           read_raw, u32, utf8)

NTP_OFFSET = 2208988800
lock = threading.Lock()
state = {"pna": 2001, "hbh": 1}


def say(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def vsai():
    return avp(260, u32(266, VENDOR_3GPP) + u32(258, SH_APP))


def facts(user_data):
    if user_data is None:
        return "-", 0
    xml = user_data.decode("utf-8", "replace")
    voenc = "1" if "<ServiceIndication>mihua-voice-encryption</ServiceIndication>" in xml else "0"
    return voenc, len(re.findall(r"<IMSPublicIdentity>", xml))


def u32_of(v):
    return struct.unpack("!I", v)[0] if v is not None else 0


def result_of(avps):
    exp = first(avps, 297)
    code = u32_of(first(parse_avps(exp), 298)) if exp is not None else 0
    return u32_of(first(avps, 268)), code


def snr(sock, origin, identity, refs, subscribe, sdi, expiry_s):
    state["hbh"] += 1
    session = "%s;snr;%d;%d" % (origin, os.getpid(), state["hbh"])
    avps = [utf8(263, session), vsai(), u32(277, 1), utf8(264, origin), utf8(296, "ims.test"),
            utf8(283, "ims.test"), avp(700, utf8(601, identity, VENDOR_3GPP), VENDOR_3GPP)]
    if 0 in refs:
        avps.append(utf8(704, "mihua-voice-encryption", VENDOR_3GPP))
    if sdi:
        avps.append(u32(710, 1, VENDOR_3GPP))
    avps.append(u32(705, 0 if subscribe else 1, VENDOR_3GPP))
    avps += [u32(703, r, VENDOR_3GPP) for r in refs]
    if expiry_s:
        avps.append(avp(709, struct.pack("!I", int(time.time()) + expiry_s + NTP_OFFSET), VENDOR_3GPP))
    with lock:
        sock.sendall(message(308, SH_APP, avps, hbh=state["hbh"], e2e=state["hbh"]))


def on_message(sock, origin, flags, cmd, avps, hbh, e2e):
    if cmd == 280 and flags & 0x80:
        with lock:
            sock.sendall(message(280, 0, [u32(268, 2001), utf8(264, origin), utf8(296, "ims.test")], request=False,
                                 hbh=hbh, e2e=e2e))
    elif cmd == 308 and not flags & 0x80:
        rc, exp = result_of(avps)
        t = first(avps, 709)
        expiry = u32_of(t) - NTP_OFFSET if t is not None else 0
        voenc, impus = facts(first(avps, 702))
        say("SNA session=%s result=%d exp=%d expiry=%d voenc=%s impus=%d"
            % (first(avps, 263).decode(), rc, exp, expiry, voenc, impus))
    elif cmd == 309 and flags & 0x80:
        ui = first(avps, 700)
        user = first(parse_avps(ui), 601).decode() if ui is not None else "-"
        voenc, impus = facts(first(avps, 702))
        code = state["pna"]
        res = [u32(268, code)] if code < 3000 else [avp(297, u32(266, VENDOR_3GPP) + u32(298, code))]
        ans = [avp(263, first(avps, 263)), vsai()] + res + [u32(277, 1), utf8(264, origin), utf8(296, "ims.test")]
        with lock:
            sock.sendall(message(309, SH_APP, ans, request=False, hbh=hbh, e2e=e2e))
        say("PNR user=%s voenc=%s impus=%d answered=%d" % (user, voenc, impus, code))


def reader(sock, origin):
    while True:
        try:
            hdr_flags, cmd, avps, hbh, e2e = read_raw(sock)
        except (EOFError, OSError):
            say("CLOSED")
            os._exit(0)
        on_message(sock, origin, hdr_flags, cmd, avps, hbh, e2e)


def main():
    host, port, origin = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = connect(host, port, origin, None)
    sock.settimeout(None)
    threading.Thread(target=reader, args=(sock, origin), daemon=True).start()
    say("READY")
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        if words[0] == "pna":
            state["pna"] = int(words[1])
        elif words[0] in ("sub", "unsub"):
            refs = [int(r) for r in words[2].split(",")]
            sdi = "sdi" in words[3:]
            exp = [int(w) for w in words[3:] if w.isdigit()]
            snr(sock, origin, words[1], refs, words[0] == "sub", sdi, exp[0] if exp else 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
