#!/usr/bin/env python3
"""Raw-UDP SIP client for tests/integration/sip_auth.sh: the attacks of the security issue (REGISTER hijack,
Contact: * from a stranger, binding lockout, impersonating INVITE, unknown-AOR flood) and, with a password, a
client that answers 401/407 itself (RFC 3261 §22, RFC 7616 qop=auth, MD5 or SHA-256 computed with hashlib: an
implementation of Digest independent of lib/kms/http_digest).

Every command prints one line for the shell to compare; the socket always waits for the final response (bounded by
--timeout), so nothing here depends on sleeps.

  register PORT USER [--password P] [--alg SHA-256|MD5] [--contact-port N] [--expires S] [--star] [--replay]
           [--forge-nonce]                     -> "<status>" of the last final response (after one 401 round)
  invite PORT FROM_USER TO_USER [--password P] -> "<status>" (407 challenge answered when a password is given)
  flood PORT N                                 -> "<status>:<count> ..." of N REGISTERs for unknown AORs
  fake-proxy PORTFILE USER PASSWORD            a registrar/proxy for one mihua-ue caller: REGISTER 200, the first
                                               INVITE 407, the second checked with hashlib, then 480; prints
                                               "credentials <ok|bad> <algorithm>" and exits at the unregister
"""
import argparse
import hashlib
import os
import random
import re
import socket
import sys

DOMAIN = "ims.mnc001.mcc001.3gppnetwork.org"


def challenges(resp, header):
    """The Digest challenges of a response, in order: [{param: value}]."""
    out = []
    for line in resp.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() != header.lower():
            continue
        value = value.strip()
        if not value.lower().startswith("digest "):
            continue
        out.append({k.lower(): v1 or v2 for k, v1, v2 in
                    re.findall(r'([A-Za-z-]+)=(?:"([^"]*)"|([^,\s]+))', value[7:])})
    return out


def digest(ch, alg, user, password, method, uri, nc, cnonce):
    h = (lambda s: hashlib.md5(s.encode()).hexdigest()) if alg == "MD5" else \
        (lambda s: hashlib.sha256(s.encode()).hexdigest())
    ha1 = h(f"{user}:{ch['realm']}:{password}")
    ha2 = h(f"{method}:{uri}")
    resp = h(f"{ha1}:{ch['nonce']}:{nc:08x}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{ch["realm"]}", uri="{uri}", algorithm={alg}, '
            f'nonce="{ch["nonce"]}", nc={nc:08x}, cnonce="{cnonce}", qop=auth, response="{resp}", '
            f'opaque="{ch.get("opaque", "")}"')


class Client:
    def __init__(self, as_port, timeout, bind_port=0):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", bind_port))
        self.s.settimeout(timeout)
        self.port = self.s.getsockname()[1]
        self.dst = ("127.0.0.1", as_port)
        self.call_id = "%x@attacker" % random.getrandbits(64)
        self.cseq = 0

    def send(self, method, ruri, from_user, to_user, extra=""):
        self.cseq += 1
        branch = "z9hG4bK%x" % random.getrandbits(48)
        msg = (f"{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:{from_user}@{DOMAIN}>;tag=a{self.port}\r\n"
               f"To: <sip:{to_user}@{DOMAIN}>\r\nCall-ID: {self.call_id}\r\nCSeq: {self.cseq} {method}\r\n"
               f"{extra}Content-Length: 0\r\n\r\n")
        self.s.sendto(msg.encode(), self.dst)
        return msg

    def final(self):
        while True:
            data = self.s.recv(65535).decode(errors="replace")
            code = int(data.split(" ", 2)[1])
            if code >= 200:
                return code, data

    def ack(self, msg, resp):
        """ACK of a non-2xx final to an INVITE (§17.1.1.3), so the AS stops retransmitting it."""
        to = next(l for l in resp.split("\r\n") if l.lower().startswith("to:"))
        head = msg.split("\r\n\r\n")[0].split("\r\n")
        ruri = head[0].split(" ")[1]
        lines = [f"ACK {ruri} SIP/2.0"] + [to if l.startswith("To:") else
                                          l.replace(" INVITE", " ACK") if l.startswith("CSeq:") else l
                                          for l in head[1:] if not l.lower().startswith("proxy-authorization")]
        self.s.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), self.dst)


def pick(chs, alg):
    """The challenge of the wanted algorithm (absent algorithm = MD5, RFC 2617)."""
    for ch in chs:
        if ch.get("algorithm", "MD5").upper() == alg.upper():
            return ch
    return None


def cmd_register(a):
    c = Client(a.port, a.timeout)
    contact_port = a.contact_port or c.port
    contact = "*" if a.star else f"<sip:{a.user}@127.0.0.1:{contact_port}>"
    base = f"Contact: {contact}\r\nExpires: {a.expires}\r\n"
    ruri = f"sip:{DOMAIN}"
    c.send("REGISTER", ruri, a.user, a.user, base)
    code, resp = c.final()
    chs = challenges(resp, "WWW-Authenticate")
    if a.show_challenges:
        print(" ".join(ch.get("algorithm", "MD5") for ch in chs))
    if code != 401 or not a.password:
        print(code)
        return
    ch = pick(chs, a.alg)
    if a.forge_nonce:  # a nonce this AS never issued (as if from a restarted AS): good credentials, stale nonce
        ch = dict(ch, nonce="".join(random.choice("ABCDEFGHIJabcdefghij0123456789-_") for _ in range(32)))
    auth = "Authorization: " + digest(ch, a.alg, a.auth_user or a.user, a.password, "REGISTER", ruri, 1,
                                      "%x" % random.getrandbits(64)) + "\r\n"
    c.send("REGISTER", ruri, a.user, a.user, base + auth)
    code, resp = c.final()
    if a.replay:  # the same credentials (same nonce and nc) in a new request: a replay
        c.send("REGISTER", ruri, a.user, a.user, base + auth)
        code, resp = c.final()
    stale = any(ch.get("stale", "").lower() == "true" for ch in challenges(resp, "WWW-Authenticate"))
    print(f"{code}{' stale' if stale else ''}")


def cmd_invite(a):
    c = Client(a.port, a.timeout)
    ruri = f"sip:{a.to_user}@{DOMAIN}"
    msg = c.send("INVITE", ruri, a.from_user, a.to_user, f"Contact: <sip:{a.from_user}@127.0.0.1:{c.port}>\r\n")
    code, resp = c.final()
    c.ack(msg, resp)
    if a.call_id_file:
        open(a.call_id_file, "w").write(c.call_id)
    if code != 407 or not a.password:
        print(f"{code}{' proxy-authenticate' if challenges(resp, 'Proxy-Authenticate') else ''}")
        return
    ch = pick(challenges(resp, "Proxy-Authenticate"), "SHA-256")
    auth = "Proxy-Authorization: " + digest(ch, "SHA-256", a.from_user, a.password, "INVITE", ruri, 1, "c1") + "\r\n"
    msg = c.send("INVITE", ruri, a.from_user, a.to_user,
                 f"Contact: <sip:{a.from_user}@127.0.0.1:{c.port}>\r\n{auth}")
    code, resp = c.final()
    c.ack(msg, resp)
    print(code)


def cmd_flood(a):
    """N REGISTERs, each for another unknown AOR, in bursts of 100 so the socket buffers hold them."""
    c = Client(a.port, a.timeout)
    seen = {}
    for start in range(0, a.n, 100):
        burst = range(start, min(a.n, start + 100))
        for i in burst:
            user = "+1999%07d" % i
            c.call_id = "flood%d@attacker" % i
            c.send("REGISTER", f"sip:{DOMAIN}", user, user, f"Contact: <sip:{user}@127.0.0.1:{c.port}>\r\n")
        for _ in burst:
            try:
                code, _ = c.final()
            except socket.timeout:
                code = "lost"
            seen[code] = seen.get(code, 0) + 1
    print(" ".join(f"{k}:{v}" for k, v in sorted(seen.items(), key=str)))


def reply(sock, addr, req, code, reason, extra=""):
    """A response echoing Via, From, To (tagged), Call-ID and CSeq (RFC 3261 §8.2.6)."""
    keep = [l for l in req.split("\r\n")[1:] if l.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq")]
    keep = [l + ";tag=fp" if l.lower().startswith("to:") and ";tag=" not in l else l for l in keep]
    sock.sendto((f"SIP/2.0 {code} {reason}\r\n" + "\r\n".join(keep) + f"\r\n{extra}Content-Length: 0\r\n\r\n")
                .encode(), addr)


def cmd_fake_proxy(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(a.timeout)
    open(a.portfile, "w").write(str(s.getsockname()[1]))
    nonce = "%032x" % random.getrandbits(128)
    challenged = False
    while True:
        data, addr = s.recvfrom(65535)
        req = data.decode(errors="replace")
        method = req.split(" ", 1)[0]
        if method == "REGISTER":
            expires = re.search(r"(?im)^Expires:\s*(\d+)", req)
            reply(s, addr, req, 200, "OK")
            if expires and expires.group(1) == "0":
                return
        elif method == "INVITE" and not challenged:
            challenged = True
            reply(s, addr, req, 407, "Proxy Authentication Required",
                  f'Proxy-Authenticate: Digest realm="fake.test", qop="auth", algorithm=SHA-256, nonce="{nonce}"\r\n')
        elif method == "INVITE":
            line = next((l for l in req.split("\r\n") if l.lower().startswith("proxy-authorization:")), "")
            p = challenges("Proxy-Authenticate: " + line.split(":", 1)[1].strip() if line else "",
                           "Proxy-Authenticate")
            ok = False
            if p:
                c = p[0]
                h = lambda x: hashlib.sha256(x.encode()).hexdigest()
                ha1 = h(f"{a.user}:fake.test:{a.password}")
                ha2 = h(f"INVITE:{c['uri']}")
                want = h(f"{ha1}:{nonce}:{c['nc']}:{c['cnonce']}:auth:{ha2}")
                ok = c.get("response") == want and c.get("nonce") == nonce and c.get("username") == a.user
            print(f"credentials {'ok' if ok else 'bad'} {p[0].get('algorithm') if p else 'none'}", flush=True)
            reply(s, addr, req, 480, "Temporarily Unavailable")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--timeout", type=float, default=10)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("register")
    r.add_argument("port", type=int)
    r.add_argument("user")
    r.add_argument("--password")
    r.add_argument("--auth-user")
    r.add_argument("--alg", default="SHA-256")
    r.add_argument("--contact-port", type=int)
    r.add_argument("--expires", type=int, default=600)
    r.add_argument("--star", action="store_true")
    r.add_argument("--replay", action="store_true")
    r.add_argument("--forge-nonce", action="store_true")
    r.add_argument("--show-challenges", action="store_true")
    i = sub.add_parser("invite")
    i.add_argument("port", type=int)
    i.add_argument("from_user")
    i.add_argument("to_user")
    i.add_argument("--password")
    i.add_argument("--call-id-file")
    f = sub.add_parser("flood")
    f.add_argument("port", type=int)
    f.add_argument("n", type=int)
    x = sub.add_parser("fake-proxy")
    x.add_argument("portfile")
    x.add_argument("user")
    x.add_argument("password")
    a = p.parse_args()
    {"register": cmd_register, "invite": cmd_invite, "flood": cmd_flood, "fake-proxy": cmd_fake_proxy}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
