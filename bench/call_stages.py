#!/usr/bin/env python3
"""Per-stage breakdown of encrypted call set-ups from a loopback capture (bench/calls.sh, STAGES=1).

Reads the pcap with tshark (the foreign dissector: SIP over UDP, HTTP/2 on the AS's SBI port, TLS records on the
KMS port) and times, per Call-ID, each hop of DESIGN §1 as seen on the wire at the AS and the KMS:
  INVITE in -> out (AS decision and forwarding), callee INVITE -> 183, 183 relay, PRACK round trip,
  caller's KMS exchange (first request byte -> last response byte, with the AS check GET inside it),
  UPDATE relay, callee's KMS exchange (with its GET), callee UPDATE -> 200, 200 (UPDATE) -> 200 (INVITE).
Calls must not overlap (a low rate: calls.sh places them 200 ms apart), so that KMS traffic inside a call's
window belongs to that call. Prints the median and p90 of every stage in ms and how many TLS request bursts each
party sent to the KMS per call (2 = one Digest challenge round trip before the request).
Plain calls (no UPDATE) are timed alone when the fifth argument is "plain".
Usage: call_stages.py PCAP AS_SIP_PORT AS_SBI_PORT KMS_PORT [plain]
"""
import statistics
import subprocess
import sys
from collections import defaultdict

FIELDS = ["frame.time_epoch", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "tcp.len",
          "sip.Method", "sip.Status-Code", "sip.Call-ID", "sip.CSeq.method", "http2.headers.path",
          "http2.headers.status", "tcp.stream"]


def rows(pcap, sbi):
    cmd = ["tshark", "-r", pcap, "-d", f"tcp.port=={sbi},http2", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f"] + sum((["-e", f] for f in FIELDS), [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        v["t"] = float(v["frame.time_epoch"]) * 1000.0
        yield v


def kms_exchange(stages, bursts, e, who, op, w, before, before_name, after, after_name):
    """Adds one party's KMS exchange w (kms_window) between SIP events `before` and `after` to the stages."""
    if not w:
        return
    stages[f"{who}: {before_name} -> KMS request"].append(w[0] - e[before])
    stages[f"KMS {op} (TLS request -> response)"].append(w[1] - w[0])
    if w[3] and w[4]:
        stages[f"  {op}: request -> GET sent (Digest, body)"].append(w[3] - w[0])
        stages[f"  {op}: KMS -> AS GET /as/v1/calls"].append(w[4] - w[3])
        stages[f"  {op}: GET answer -> response"].append(w[1] - w[4])
    stages[f"{who}: key in hand -> {after_name}"].append(e[after] - w[1])
    bursts[who].append(w[2])


def main():
    pcap, sip, sbi, kms = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    encrypted = len(sys.argv) < 6 or sys.argv[5] != "plain"
    calls = defaultdict(dict)
    kms_pkts = []  # (t, to_kms, client port)
    gets = []      # (t, is_request)
    for v in rows(pcap, sbi):
        cid = v["sip.Call-ID"]
        if cid:
            into = v["udp.dstport"] == sip
            key = v["sip.Method"] or f'{v["sip.Status-Code"]} {v["sip.CSeq.method"]}'
            name = f'{key} {"in" if into else "out"}'
            calls[cid].setdefault(name, v["t"])  # first occurrence: retransmissions ignored
        elif kms in (v["tcp.srcport"], v["tcp.dstport"]) and v["tcp.len"] not in ("", "0"):
            kms_pkts.append((v["t"], v["tcp.dstport"] == kms, v["tcp.srcport"] if v["tcp.dstport"] == kms
                             else v["tcp.dstport"]))
        elif v["http2.headers.path"].startswith("/as/v1/calls/"):
            gets.append((v["t"], True))
        elif v["http2.headers.status"] and v["tcp.srcport"] == sbi:
            gets.append((v["t"], False))

    def kms_window(t0, t1):
        """First request byte, last response byte and request bursts sent to the KMS within (t0, t1)."""
        p = [x for x in kms_pkts if t0 < x[0] < t1]
        req = [x for x in p if x[1]]
        resp = [x for x in p if not x[1]]
        if not req or not resp:
            return None
        bursts, last_dir = 0, None
        for x in p:
            if x[1] and last_dir is not True:
                bursts += 1
            last_dir = x[1]
        g = [x for x in gets if t0 < x[0] < t1]
        greq = next((x[0] for x in g if x[1]), None)
        gresp = next((x[0] for x in g if not x[1] and greq is not None and x[0] > greq), None)
        return req[0][0], resp[-1][0], bursts, greq, gresp

    stages = defaultdict(list)
    bursts = defaultdict(list)
    for cid, e in calls.items():
        need = ["INVITE in", "INVITE out", "183 INVITE in", "183 INVITE out", "PRACK in", "200 PRACK out",
                "200 INVITE in", "200 INVITE out"]
        if any(n not in e for n in need) or (encrypted != ("UPDATE in" in e)):
            continue
        add = lambda name, a, b: stages[name].append(e[b] - e[a]) if a in e and b in e and e[b] >= e[a] else None
        add("AS: INVITE in -> out (decision, forward)", "INVITE in", "INVITE out")
        add("callee: INVITE -> 183", "INVITE out", "183 INVITE in")
        add("AS: 183 relay", "183 INVITE in", "183 INVITE out")
        add("caller: 183 -> PRACK", "183 INVITE out", "PRACK in")
        add("PRACK -> 200 (via AS, callee)", "PRACK in", "200 PRACK out")
        add("callee: 200 (PRACK) -> 200 (INVITE)", "200 PRACK in", "200 INVITE in")
        if not encrypted:
            add("total: INVITE in -> 200 (INVITE) out", "INVITE in", "200 INVITE out")
            continue
        kms_exchange(stages, bursts, e, "caller", "issue", kms_window(e["183 INVITE out"], e["UPDATE in"]),
                     "183 INVITE out", "183", "UPDATE in", "UPDATE")
        add("AS: UPDATE relay", "UPDATE in", "UPDATE out")
        kms_exchange(stages, bursts, e, "callee", "retrieve", kms_window(e["UPDATE out"], e["200 UPDATE in"]),
                     "UPDATE out", "UPDATE", "200 UPDATE in", "200 (UPDATE)")
        add("AS: 200 (UPDATE) relay", "200 UPDATE in", "200 UPDATE out")
        add("callee: 200 (UPDATE) -> 200 (INVITE)", "200 UPDATE in", "200 INVITE in")
        add("total: INVITE in -> 200 (INVITE) out", "INVITE in", "200 INVITE out")
    n = len(stages.get("total: INVITE in -> 200 (INVITE) out", []))
    print(f"  wire stages of {n} {'encrypted' if encrypted else 'plain'} calls (ms, at the AS and KMS ports; "
          "p50 / p90):")
    for name, xs in stages.items():
        xs.sort()
        print(f"    {name:50s} {statistics.median(xs):7.3f} / {xs[int(0.9 * (len(xs) - 1))]:7.3f}")
    for who, b in bursts.items():
        print(f"    {who} request bursts to the KMS per call: median {statistics.median(b)}"
              " (1: request answered at once; 2: a Digest challenge round trip first)")


if __name__ == "__main__":
    main()
