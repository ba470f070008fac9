#!/usr/bin/env python3
"""Hostile TCP clients for the listener tests (listen_limits.sh): each mode prints one JSON line.

  slowloris HOST PORT N INTERVAL_MS LIMIT_MS PAYLOAD  N connections, each sent one byte of PAYLOAD (h2 | sip | tls:
      the start of a request that never completes) every INTERVAL_MS; reports how many the server closed and when,
      giving up after LIMIT_MS.
  pinger HOST PORT N INTERVAL_MS LIMIT_MS  N HTTP/2 connections that complete one request (GET /) and then send
      a PING every INTERVAL_MS: bytes, but no request; reports when the server closed them.
  cap HOST PORT N          N idle connections held, then one more: what it received (a GOAWAY frame?) and whether
      the server closed it, within 3 s.
  flood HOST PORT N HOLD_MS PID  N connections opened and held HOLD_MS (the server is expected to run out of
      descriptors); reports the CPU time PID spent meanwhile and how many connections were closed by the server.
"""
import json
import os
import select
import socket
import sys
import time

PAYLOADS = {
    # client preface, then a HEADERS frame header announcing a block that never arrives
    "h2": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + b"\x00\x40\x00\x01\x04\x00\x00\x00\x01",
    "sip": b"REGISTER sip:ims.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKslow\r\nMax-Forwards: 70\r\n",
    # a TLS record header announcing a 512-byte ClientHello, then its first bytes
    "tls": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\x00" * 400,
}


def now_ms():
    return time.monotonic() * 1000.0


def connect_many(host, port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.setblocking(False)
        socks.append(s)
    return socks


def peer_closed(s):
    """True when the server closed (EOF or reset); drains what it sent."""
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def slowloris(host, port, n, interval_ms, limit_ms, payload):
    data = PAYLOADS[payload]
    start = now_ms()
    socks = connect_many(host, port, n)
    closed_at = {}
    sent = 0
    while len(closed_at) < n and now_ms() - start < limit_ms:
        for i, s in enumerate(socks):
            if i in closed_at:
                continue
            if peer_closed(s):
                closed_at[i] = now_ms() - start
                continue
            try:
                s.send(data[sent % len(data):sent % len(data) + 1])
            except OSError:
                closed_at[i] = now_ms() - start
        sent += 1
        time.sleep(interval_ms / 1000.0)
    for s in socks:
        s.close()
    times = sorted(closed_at.values())
    print(json.dumps({"opened": n, "closed": len(times), "bytes_each": sent,
                      "max_close_ms": round(times[-1]) if times else None}))


def pinger(host, port, n, interval_ms, limit_ms):
    # HEADERS, END_STREAM|END_HEADERS, stream 1: GET http://a/ (HPACK static indexes, :authority literal "a")
    get = b"\x00\x00\x06\x01\x05\x00\x00\x00\x01\x82\x86\x84\x41\x01a"
    ping = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"12345678"
    start = now_ms()
    socks = connect_many(host, port, n)
    for s in socks:
        s.sendall(PAYLOADS["h2"][:24 + 9] + get)
    closed_at = {}
    while len(closed_at) < n and now_ms() - start < limit_ms:
        for i, s in enumerate(socks):
            if i in closed_at:
                continue
            if peer_closed(s):
                closed_at[i] = now_ms() - start
                continue
            try:
                s.send(ping)
            except OSError:
                closed_at[i] = now_ms() - start
        time.sleep(interval_ms / 1000.0)
    for s in socks:
        s.close()
    times = sorted(closed_at.values())
    print(json.dumps({"opened": n, "closed": len(times), "min_close_ms": round(times[0]) if times else None,
                      "max_close_ms": round(times[-1]) if times else None}))


def cap(host, port, n):
    socks = connect_many(host, port, n)
    extra = socket.create_connection((host, port), timeout=5)
    extra.sendall(PAYLOADS["h2"][:24])
    got, closed, deadline = b"", False, now_ms() + 3000
    while now_ms() < deadline and not closed:
        r, _, _ = select.select([extra], [], [], 0.1)
        if not r:
            continue
        try:
            chunk = extra.recv(4096)
        except OSError:
            closed = True
            break
        if not chunk:
            closed = True
        got += chunk
    # the frames received: (type, payload) in order
    frames, off = [], 0
    while off + 9 <= len(got):
        length = int.from_bytes(got[off:off + 3], "big")
        frames.append({"type": got[off + 3], "payload": got[off + 9:off + 9 + length].hex()})
        off += 9 + length
    holders_open = sum(0 if peer_closed(s) else 1 for s in socks)
    for s in socks + [extra]:
        s.close()
    goaway = [f for f in frames if f["type"] == 7]
    print(json.dumps({"closed": closed, "goaway": bool(goaway),
                      "goaway_error": int(goaway[0]["payload"][8:16], 16) if goaway else None,
                      "holders_open": holders_open}))


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def flood(host, port, n, hold_ms, pid):
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection((host, port), timeout=1)  # queued in the backlog still connects
            s.setblocking(False)
            socks.append(s)
        except OSError:
            break
    c0, t0 = cpu_ms(pid), now_ms()
    time.sleep(hold_ms / 1000.0)
    c1, t1 = cpu_ms(pid), now_ms()
    shed = sum(1 if peer_closed(s) else 0 for s in socks)
    for s in socks:
        s.close()
    print(json.dumps({"opened": len(socks), "shed": shed, "cpu_ms": round(c1 - c0),
                      "wall_ms": round(t1 - t0)}))


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "slowloris":
        slowloris(host, port, int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
    elif mode == "pinger":
        pinger(host, port, int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    elif mode == "cap":
        cap(host, port, int(sys.argv[4]))
    elif mode == "flood":
        flood(host, port, int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
