#!/usr/bin/env python3
"""One tagged call through mihua-as over UDP, short of media: the caller (from its registered port) sends an INVITE
whose Contact carries +u.mihua.voenc; the callee (on its registered port) reports whether the INVITE the AS
forwarded still carries the tag, and answers 486 so the transaction ends at once; the caller ACKs the final response.

Usage: sip_call.py AS_PORT CALLER_PORT CALLEE_PORT CALLER_USER CALLEE_URI DOMAIN CALL_ID
Prints "kept CODE" or "stripped CODE" (CODE: the caller's final status), or "noinvite CODE" when the callee got no
INVITE (e.g. 404). Exit 0 when a final response arrived within 10 s.
"""
import socket
import sys


def header(msg, name):
    for line in msg.split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line
    return None


def main():
    as_port, cport, eport = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    user, callee, domain, cid = sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
    caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller.bind(("127.0.0.1", cport))
    uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uas.bind(("127.0.0.1", eport))
    uas.settimeout(0.05)
    caller.settimeout(0.05)
    invite = ("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\r\nMax-Forwards: 70\r\n"
              "From: <sip:%s@%s>;tag=c%d\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
              "Contact: <sip:%s@127.0.0.1:%d>;+u.mihua.voenc\r\nContent-Length: 0\r\n\r\n"
              % (callee, cport, cid, user, domain, cport, callee, cid, user, cport))
    caller.sendto(invite.encode(), ("127.0.0.1", as_port))
    tag, code = "noinvite", None
    for _ in range(200):  # 10 s
        try:
            data, src = uas.recvfrom(65535)
            msg = data.decode(errors="replace")
            if msg.startswith("INVITE "):
                contact = header(msg, "Contact") or header(msg, "m") or ""
                tag = "kept" if "+u.mihua.voenc" in contact else "stripped"
                vias = [l for l in msg.split("\r\n") if l.lower().startswith(("via:", "v:"))]
                resp = ["SIP/2.0 486 Busy Here"] + vias + [header(msg, "From"), header(msg, "To") + ";tag=busy",
                                                            header(msg, "Call-ID"), header(msg, "CSeq"),
                                                            "Content-Length: 0", "", ""]
                uas.sendto("\r\n".join(resp).encode(), src)
        except socket.timeout:
            pass
        try:
            data, _ = caller.recvfrom(65535)
            msg = data.decode(errors="replace")
            status = int(msg.split(" ", 2)[1])
            if status >= 200:
                code = status
                to = header(msg, "To")
                ack = invite.split("\r\n\r\n")[0].replace("INVITE %s" % callee, "ACK %s" % callee, 1)
                ack = "\r\n".join(to if l.startswith("To:") else l for l in ack.split("\r\n"))
                ack = ack.replace("CSeq: 1 INVITE", "CSeq: 1 ACK") + "\r\n\r\n"
                caller.sendto(ack.encode(), ("127.0.0.1", as_port))
                break
        except socket.timeout:
            pass
    print("%s %s" % (tag, code))
    return 0 if code else 1


if __name__ == "__main__":
    sys.exit(main())
