#!/usr/bin/env bash
# mihua-as under overload (RFC 3261 §21.5.4, §16.8): sipp as caller and callee through an AS whose tables are
# small, so its marks are reached at a few calls per second on any machine. Admission: once the transaction table
# is at its mark, new INVITEs get a stateless 503 with Retry-After while the admitted calls' ACKs and BYEs are
# still answered, and no request goes unanswered (sipp fails a call on any timeout). State that ends by itself:
# a callee that rings and never answers is CANCELled and the caller gets 408 (Timer C, 1 s here); a call whose
# dialog stays quiet loses its record after call_idle_s (1 s here) while the call goes on. Encrypted path: with
# lookups queued beyond max_pending_checks (1 here, the UDM silent), a tagged INVITE goes on plain at once. Age: an
# INVITE that waited in the AS's socket buffer past overload_age_ms is shed when read; in-dialog requests are not.
# Dialog socket: with sip_dialog_port, sipp's calls follow our Via and Record-Route to the second port, and what
# waits there is served before a backlog of new INVITEs on the main port.
# Everything waits on observable state (READY lines, bound ports, metrics), never on sleeps.
. "$MIHUA_SRC/tests/integration/lib.sh"
T_SHED=1 # the marks are what this test is about (lib.sh turns them off elsewhere)

SIPP_DIR=$MIHUA_SRC/tests/integration/sipp
D=$MIHUA_TEST_DOMAIN
CALLER=+15550000002
CALLEE=+15550000001
CALLER_PORT=$(free_port)
CALLEE_PORT=$(free_port)
MAX_TXNS=256
TXN_PCT=40                      # mark: 102 transactions = about 50 calls' INVITE transactions (held 32 s by L/M)
RETRY_AFTER=7
CALLS=120                       # twice what the mark admits: about half are shed
RATE=40

write_subscribers "$T_DIR/subscribers.json"
# Every AS below authenticates REGISTERs against these (sipp 3.6 answers the first challenge, MD5 only).
AUTH_JSON="\"subscribers\": \"$T_DIR/subscribers.json\", \"sip_auth_algorithms\": [\"MD5\", \"SHA-256\"]"
cat >"$T_DIR/as.json" <<JSON
{ $AUTH_JSON, "checks": false, "max_transactions": $MAX_TXNS, "overload_transactions_pct": $TXN_PCT,
  "overload_lag_ms": 0, "retry_after_s": $RETRY_AFTER, "log_level": "info" }
JSON
# The loop-lag mark is off here: on a machine shared with other tests it would shed at random, and the marks
# that are asserted must be the ones reached.

start_as() {
    start_daemon as "$MIHUA_BIN/mihua-as" -c "$T_DIR/as.json" --sip-listen 127.0.0.1:0 --sbi-listen 127.0.0.1:0 \
        --diameter-port 0 "$@"
    local ready
    ready=$(grep '^READY' "$T_DIR/as.out")
    AS_SIP_PORT=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' <<<"$ready")
    SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' <<<"$ready")
}
register() { # register USER PORT (USER +1555000000N: test subscriber N of lib.sh)
    (cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/register.xml" -m 1 -i 127.0.0.1 -p "$2" -timeout 10 -timeout_error \
        -nostdin -key user "$1" -key domain "$D" -key feature "" -au "$1" -ap "$(sip_password "${1: -1}")" \
        "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/reg$1.log" 2>&1)
}
curl_status() { curl -s --max-time 2 --http2-prior-knowledge "${T_AUTH[@]}" -o /dev/null -w '%{http_code}' "$SBI/as/v1/calls/$1"; }
udp_bound() { ss -Hlun "sport = :$1" | grep -q .; }
metrics() { curl -s --max-time 2 --http2-prior-knowledge "${T_AUTH[@]}" "$SBI/metrics"; }
metric() { metrics | awk -v n="$1" '$1 == n {print $2; f = 1} END {if (!f) print 0}'; }
# callee SCENARIO NAME [SIPP_ARGS...]: a sipp UAS on CALLEE_PORT in the background (CALLEE_PID), once its port is
# bound
callee() {
    local scen=$1 name=$2
    shift 2
    (cd "$T_DIR" && exec sipp -sf "$scen" -i 127.0.0.1 -p "$CALLEE_PORT" -nostdin -key user "$CALLEE" "$@" \
        -trace_err -error_file "$T_DIR/$name.uas.err" "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/$name.uas.log" 2>&1) &
    CALLEE_PID=$!
    T_PIDS+=("$CALLEE_PID")
    wait_until $((READY_TIMEOUT_S * 1000)) udp_bound "$CALLEE_PORT"
}
# received MSGFILE STATUS METHOD [HEADER_LINE]: responses sipp received (its -trace_msg file) with that status to
# that CSeq method (and carrying that header line)
received() {
    python3 - "$@" <<'PY'
import sys
path, status, method = sys.argv[1:4]
want = sys.argv[4] if len(sys.argv) > 4 else None
n = 0
for block in open(path, errors="replace").read().split("\n-----------------------------------------------")[1:]:
    lines = [l.rstrip("\r") for l in block.split("\n")]
    if not any("message received" in l for l in lines[:3]):
        continue
    body = [l for l in lines if l]
    start = next((l for l in body if l.startswith("SIP/2.0 ")), "")
    cseq = next((l for l in body if l.lower().startswith("cseq:")), "")
    if start.split(" ")[1:2] == [status] and cseq.split()[-1:] == [method] and (want is None or want in body):
        n += 1
print(n)
PY
}
stop_callee() { kill -TERM "$CALLEE_PID" 2>/dev/null || true; wait "$CALLEE_PID" 2>/dev/null || true; }

start_as
check "start-up log states the capacity and the sustained call rate" \
    grep -qE 'capacity: 256 transactions, new calls shed above 102 \(~1 calls/s sustained' "$T_DIR/as.log"
check "REGISTER caller" register "$CALLER" "$CALLER_PORT"
check "REGISTER callee" register "$CALLEE" "$CALLEE_PORT"

# ---- admission: 503 + Retry-After at the transaction mark, BYEs of admitted calls still answered
callee "$SIPP_DIR/overload_uas.xml" admit
rc=0
(cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/overload_uac.xml" -i 127.0.0.1 -p "$CALLER_PORT" -m "$CALLS" -r "$RATE" \
    -d 1000 -nostdin -timeout 60 -timeout_error -recv_timeout 10000 -key user "$CALLER" -key domain "$D" \
    -key callee "sip:$CALLEE@$D" -cid_str "ovl-admit-%u" -trace_msg -message_file "$T_DIR/admit.msgs" \
    -trace_err -error_file "$T_DIR/admit.uac.err" "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/admit.uac.log" 2>&1) || rc=$?
stop_callee
shed_503=$(received "$T_DIR/admit.msgs" 503 INVITE)
with_ra=$(received "$T_DIR/admit.msgs" 503 INVITE "Retry-After: $RETRY_AFTER")
bye_ok=$(received "$T_DIR/admit.msgs" 200 BYE)
inv_ok=$(received "$T_DIR/admit.msgs" 200 INVITE)
echo "# $CALLS calls at $RATE/s: $inv_ok answered 200, $shed_503 shed with 503, $bye_ok BYEs answered 200"
check "every call got an answer: 200 then BYE/200, or 503 (sipp: 0 failed calls)" [ "$rc" -eq 0 ]
check "some calls were shed with 503 ($shed_503)" [ "$shed_503" -gt 0 ]
check "every 503 carries Retry-After: $RETRY_AFTER ($with_ra of $shed_503)" [ "$with_ra" -eq "$shed_503" ]
check "calls were admitted before the mark ($inv_ok)" [ "$inv_ok" -gt 0 ]
check "every admitted call's BYE was answered 200 ($bye_ok of $inv_ok), most of them while shedding" \
    [ "$bye_ok" -eq "$inv_ok" ]
check "answered + shed = calls placed" [ $((inv_ok + shed_503)) -eq "$CALLS" ]
shed_metric=$(metric 'mihua_as_calls_shed_total{reason="transactions"}')
check "metric: mihua_as_calls_shed_total{reason=\"transactions\"} = 503s sent ($shed_metric)" \
    [ "$shed_metric" -eq "$shed_503" ]
check "metric: no request dropped unanswered" [ "$(metric mihua_as_requests_dropped_total)" -eq 0 ]
lines=$(grep -c 'new INVITEs answered 503 since the last report' "$T_DIR/as.log" || true)
check "shedding logged at most once a second ($lines lines for $shed_503 503s)" \
    [ "$lines" -ge 1 -a "$lines" -le $((CALLS / RATE + 3)) ]

check "AS: SIGTERM exit 0" stop_daemon "$as_PID"

# ---- state that ends by itself: Timer C and idle call records (a fresh AS: the first one's table is at its mark
# for the 32 s of Timers L and M)
start_as --max-transactions 4096 --timer-c-s 1 --call-idle-s 1
check "REGISTER caller (second AS)" register "$CALLER" "$CALLER_PORT"
check "REGISTER callee (second AS)" register "$CALLEE" "$CALLEE_PORT"
callee "$SIPP_DIR/callee_cancel.xml" timer_c -m 1 -timeout 30 -timeout_error
rc=0
(cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/timer_c_uac.xml" -i 127.0.0.1 -p "$CALLER_PORT" -m 1 -nostdin -timeout 30 \
    -timeout_error -key user "$CALLER" -key domain "$D" -key callee "sip:$CALLEE@$D" -cid_str "ovl-timer-c-%u" \
    -trace_err -error_file "$T_DIR/timer_c.uac.err" "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/timer_c.uac.log" 2>&1) || rc=$?
rc_callee=0
wait "$CALLEE_PID" || rc_callee=$?
check "Timer C: the caller got 180, then 408 from the AS, and ACKed it" [ "$rc" -eq 0 ]
check "Timer C: the callee got the AS's CANCEL (INVITE's branch), 200ed it, 487ed the INVITE, got the ACK" \
    [ "$rc_callee" -eq 0 ]
check "Timer C: counted (mihua_as_timer_c_total 1)" [ "$(metric mihua_as_timer_c_total)" -eq 1 ]
check "Timer C: logged" grep -q 'call ovl-timer-c-1: .*(Timer C)' "$T_DIR/as.log"
check "Timer C: no INVITE left pending" [ "$(metric mihua_as_invites_pending)" -eq 0 ]
check "Timer C: the call record is gone (404)" [ "$(curl_status ovl-timer-c-1)" = 404 ]

callee "$SIPP_DIR/overload_uas.xml" idle
(cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/overload_uac.xml" -i 127.0.0.1 -p "$CALLER_PORT" -m 1 -d 6000 -nostdin \
    -timeout 30 -timeout_error -key user "$CALLER" -key domain "$D" -key callee "sip:$CALLEE@$D" \
    -cid_str "ovl-idle-%u" -trace_err -error_file "$T_DIR/idle.uac.err" "127.0.0.1:$AS_SIP_PORT" \
    >"$T_DIR/idle.uac.log" 2>&1) &
idle_caller=$!
expired() { [ "$(metric mihua_as_call_records_expired_total)" -ge 1 ]; }
check "idle record: closed after 1 s without in-dialog traffic (metric)" wait_until 20000 expired
check "idle record: closed while the call is still up (the caller pauses 6 s before its BYE)" kill -0 "$idle_caller"
check "idle record: GET /as/v1/calls answers 404" [ "$(curl_status ovl-idle-1)" = 404 ]
rc=0
wait "$idle_caller" || rc=$?
stop_callee
check "idle record: the call itself went on; its BYE was answered 200" [ "$rc" -eq 0 ]
check "idle record: exactly one record expired" [ "$(metric mihua_as_call_records_expired_total)" -eq 1 ]
check "AS (second): SIGTERM exit 0" stop_daemon "$as_PID"

# ---- the encrypted path sheds early: a UDM that accepts connections and never answers holds the first tagged
# call's lookups for the whole budget; the second tagged call, placed meanwhile, finds the queue at its budget of
# one and is forwarded stripped at once
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(300)' >"$T_DIR/silent.port" &
T_PIDS+=("$!")
wait_for "$T_DIR/silent.port" '^[0-9]+$'
cat >"$T_DIR/as_checks.json" <<JSON
{ $AUTH_JSON, "subscription_source": "udm", "attachment_source": "udm", "udm_url": "http://127.0.0.1:$(cat "$T_DIR/silent.port")",
  "lookup_timeout_ms": 3000, "max_pending_checks": 1, "overload_lag_ms": 0, "log_level": "info" }
JSON
start_daemon as "$MIHUA_BIN/mihua-as" -c "$T_DIR/as_checks.json" --sip-listen 127.0.0.1:0 --sbi-listen 127.0.0.1:0 \
    --diameter-port 0
ready=$(grep '^READY' "$T_DIR/as.out")
AS_SIP_PORT=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' <<<"$ready")
SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' <<<"$ready")
check "REGISTER caller (third AS)" register "$CALLER" "$CALLER_PORT"
check "REGISTER callee (third AS)" register "$CALLEE" "$CALLEE_PORT"
sed 's|Contact: <sip:\[user\]@\[local_ip\]:\[local_port\]>$|&;+u.mihua.voenc|' "$SIPP_DIR/overload_uac.xml" \
    >"$T_DIR/tagged_uac.xml"
check "tagged caller scenario: the INVITE's Contact carries +u.mihua.voenc" grep -q '+u.mihua.voenc' "$T_DIR/tagged_uac.xml"
callee "$SIPP_DIR/overload_uas.xml" queue -m 2 -timeout 30 -timeout_error
rc=0
(cd "$T_DIR" && exec sipp -sf "$T_DIR/tagged_uac.xml" -i 127.0.0.1 -p "$CALLER_PORT" -m 2 -r 5 -nostdin -timeout 30 \
    -timeout_error -key user "$CALLER" -key domain "$D" -key callee "sip:$CALLEE@$D" -cid_str "ovl-queue-%u" \
    -trace_err -error_file "$T_DIR/queue.uac.err" "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/queue.uac.log" 2>&1) || rc=$?
rc_callee=0
wait "$CALLEE_PID" || rc_callee=$?
check "lookup queue: both tagged calls completed (plain)" [ "$rc" -eq 0 -a "$rc_callee" -eq 0 ]
check "lookup queue: the second call was stripped at once for \"lookups overloaded\"" \
    grep -q 'call ovl-queue-2 .*encryption=stripped reason="lookups overloaded"' "$T_DIR/as.log"
check "lookup queue: the first call waited for its lookups (timeout)" \
    grep -q 'call ovl-queue-1 .*encryption=stripped reason="lookup timeout"' "$T_DIR/as.log"
check "lookup queue: counted (mihua_as_calls_total{outcome=\"stripped\",reason=\"lookup_overload\"} 1)" \
    [ "$(metric 'mihua_as_calls_total{outcome="stripped",reason="lookup_overload"}')" -eq 1 ]
check "AS (third): SIGTERM exit 0" stop_daemon "$as_PID"
# ---- age: INVITEs that waited in the AS's socket buffer past overload_age_ms are shed when read. The AS is
# stopped (SIGSTOP), old INVITEs and an in-dialog BYE are sent, the kernel is seen holding them (Recv-Q of the AS's
# socket), the mark passes, one fresh INVITE follows, and the AS is continued: the old INVITEs get 503 +
# Retry-After, the BYE (in-dialog: never shed) is forwarded and answered, the fresh INVITE is judged by the proxy.
AGE_MS=500
AGE_OLD=5
cat >"$T_DIR/as_age.json" <<JSON
{ $AUTH_JSON, "checks": false, "overload_lag_ms": 0, "overload_age_ms": $AGE_MS, "retry_after_s": $RETRY_AFTER,
  "log_level": "info" }
JSON
start_daemon as "$MIHUA_BIN/mihua-as" -c "$T_DIR/as_age.json" --sip-listen 127.0.0.1:0 --sbi-listen 127.0.0.1:0 \
    --diameter-port 0
ready=$(grep '^READY' "$T_DIR/as.out")
AS_SIP_PORT=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' <<<"$ready")
SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' <<<"$ready")
kill -STOP "$as_PID"
check "age: the AS is stopped" wait_stopped "$as_PID"
# sends while the AS is stopped, continues it (SIGCONT), collects what comes back
python3 - "$as_PID" "$AS_SIP_PORT" "$AGE_MS" "$AGE_OLD" "$D" >"$T_DIR/age.out" 2>"$T_DIR/age.err" <<'PY'
import os, re, select, signal, socket, subprocess, sys, time
pid, as_port, mark_ms, n_old, dom = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
me = s.getsockname()[1]
AS = ("127.0.0.1", as_port)

def request(method, cid, branch, to_tag="", ruri=f"sip:+15550000001@{dom}"):
    return (f"{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};rport;branch=z9hG4bK{branch}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:+15550000002@{dom}>;tag=f{branch}\r\n"
            f"To: <sip:+15550000001@{dom}>{to_tag}\r\nCall-ID: {cid}\r\nCSeq: 1 {method}\r\n"
            f"Contact: <sip:+15550000002@127.0.0.1:{me}>\r\nContent-Length: 0\r\n\r\n").encode()

def recv_q():  # bytes the kernel holds for the AS's UDP socket
    out = subprocess.run(["ss", "-Huan", f"sport = :{as_port}"], capture_output=True, text=True).stdout.split()
    return int(out[1]) if len(out) > 1 else 0

def header(msg, name):
    m = re.search(rf"^{name}:[ \t]*(.*?)\r$", msg, re.M | re.I)
    return m.group(1) if m else None

try:
    sent = 0
    for i in range(n_old):
        sent += s.sendto(request("INVITE", f"ovl-age-old-{i}", f"old{i}"), AS)
    sent += s.sendto(request("BYE", "ovl-age-bye", "bye", ";tag=t1", f"sip:+15550000001@127.0.0.1:{me}"), AS)
    t0 = time.monotonic()
    held_by = time.monotonic() + 10
    while recv_q() < sent and time.monotonic() < held_by:  # the kernel holds them all (Recv-Q >= their bytes)
        select.select([], [], [], 0.01)
    if recv_q() < sent:
        sys.exit(f"Recv-Q {recv_q()} < {sent} bytes sent")
    print(f"recv_q {recv_q()} sent {sent}", flush=True)
    # the one wait that is a duration: the age itself, past the mark by a margin
    left = (mark_ms + 100) / 1000 - (time.monotonic() - t0)
    if left > 0:
        select.select([], [], [], left)
    s.sendto(request("INVITE", "ovl-age-fresh", "fresh"), AS)
finally:
    os.kill(pid, signal.SIGCONT)

got = {}  # Call-ID -> list of (status or method, message)
deadline = time.monotonic() + 20
def done():
    finals = lambda cid: [st for st, _ in got.get(cid, []) if st.isdigit() and int(st) >= 200]
    return (all(finals(f"ovl-age-old-{i}") for i in range(n_old)) and finals("ovl-age-fresh")
            and finals("ovl-age-bye"))
while not done() and time.monotonic() < deadline:
    r, _, _ = select.select([s], [], [], deadline - time.monotonic())
    if not r:
        break
    msg = s.recv(65536).decode(errors="replace")
    cid = header(msg, "Call-ID")
    first = msg.split("\r\n", 1)[0]
    if first.startswith("SIP/2.0 "):
        status = first.split()[1]
        got.setdefault(cid, []).append((status, msg))
        if cid == "ovl-age-fresh" and int(status) >= 300:  # ACK the final (RFC 3261 §17.1.1.3)
            to = header(msg, "To")
            ack = request("ACK", cid, "fresh")
            ack = re.sub(rb"^To: .*?\r$", f"To: {to}\r".encode(), ack, flags=re.M)
            s.sendto(ack, AS)
    elif first.startswith("BYE "):  # the AS forwarded the old BYE to us: answer it 200
        got.setdefault(cid, []).append(("BYE", msg))
        heads = [l for l in msg.split("\r\n") if re.match(r"(Via|From|To|Call-ID|CSeq):", l, re.I)]
        s.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(heads) + "\r\nContent-Length: 0\r\n\r\n").encode(),
                 ("127.0.0.1", as_port))

for i in range(n_old):
    for st, msg in got.get(f"ovl-age-old-{i}", []):
        print(f"old {i} {st} retry_after={header(msg, 'Retry-After')}")
for cid in ("ovl-age-fresh", "ovl-age-bye"):
    for st, _ in got.get(cid, []):
        print(f"{cid} {st}")
PY
kill -CONT "$as_PID" # in case the script died before it could
age_lines() { grep -c -- "$1" "$T_DIR/age.out" || true; }
cat "$T_DIR/age.out" | sed 's/^/# /'
check "age: the kernel held the datagrams while the AS was stopped (Recv-Q)" grep -q '^recv_q ' "$T_DIR/age.out"
check "age: each of the $AGE_OLD old INVITEs got exactly one response: 503 with Retry-After: $RETRY_AFTER" \
    [ "$(age_lines "^old [0-9]* 503 retry_after=$RETRY_AFTER\$")" -eq "$AGE_OLD" -a \
      "$(age_lines '^old ')" -eq "$AGE_OLD" ]
check "age: the old in-dialog BYE was not shed: forwarded to its Request-URI and its 200 relayed back" \
    [ "$(age_lines '^ovl-age-bye BYE$')" -ge 1 -a "$(age_lines '^ovl-age-bye 200$')" -ge 1 -a \
      "$(age_lines '^ovl-age-bye 503$')" -eq 0 ]
check "age: the fresh INVITE was admitted (100 Trying) and judged by the proxy (407: caller not registered, challenged)" \
    [ "$(age_lines '^ovl-age-fresh 100$')" -ge 1 -a "$(age_lines '^ovl-age-fresh 407$')" -ge 1 -a \
      "$(age_lines '^ovl-age-fresh 503$')" -eq 0 ]
check "age: metric mihua_as_calls_shed_total{reason=\"age\"} = $AGE_OLD" \
    [ "$(metric 'mihua_as_calls_shed_total{reason="age"}')" -eq "$AGE_OLD" ]
check "age: no other mark shed" [ "$(metric 'mihua_as_calls_shed_total{reason="transactions"}')" -eq 0 -a \
    "$(metric 'mihua_as_calls_shed_total{reason="loop_lag"}')" -eq 0 ]
check "age: logged with the reason" grep -q 'answered 503 since the last report .*now: age, ' "$T_DIR/as.log"
check "AS (age): SIGTERM exit 0" stop_daemon "$as_PID"
# ---- dialog socket: sipp (a foreign UA) follows our Record-Route and Via to the second port; a BYE waiting there
# is forwarded before a backlog of new INVITEs waiting on the main port gets its first answer.
start_as --sip-dialog-port 0
DIALOG_PORT=$(sed -nE 's/^READY .* sip_dialog=[^:]+:([0-9]+).*/\1/p' "$T_DIR/as.out")
check "dialog: READY names the dialog socket and it is bound" udp_bound "${DIALOG_PORT:-0}"
check "dialog: REGISTER caller" register "$CALLER" "$CALLER_PORT"
check "dialog: REGISTER callee" register "$CALLEE" "$CALLEE_PORT"
callee "$SIPP_DIR/overload_uas.xml" dialog
rc=0
(cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/overload_uac.xml" -i 127.0.0.1 -p "$CALLER_PORT" -m 20 -r 10 \
    -d 200 -nostdin -timeout 30 -timeout_error -recv_timeout 10000 -key user "$CALLER" -key domain "$D" \
    -key callee "sip:$CALLEE@$D" -cid_str "ovl-dialog-%u" -trace_msg -message_file "$T_DIR/dialog.msgs" \
    -trace_err -error_file "$T_DIR/dialog.uac.err" "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/dialog.uac.log" 2>&1) || rc=$?
stop_callee
check "dialog: 20 sipp calls through the dialog socket, 0 failed" [ "$rc" -eq 0 ]
check "dialog: every BYE answered 200" [ "$(received "$T_DIR/dialog.msgs" 200 BYE)" -eq 20 ]
check "dialog: the 200s carried our Record-Route with the dialog port" \
    [ "$(received "$T_DIR/dialog.msgs" 200 INVITE "Record-Route: <sip:127.0.0.1:$DIALOG_PORT;transport=udp;lr>")" \
      -eq 20 ]
kill -STOP "$as_PID"
check "dialog: the AS is stopped" wait_stopped "$as_PID"
python3 - "$as_PID" "$AS_SIP_PORT" "$DIALOG_PORT" "$D" >"$T_DIR/dialog.out" 2>"$T_DIR/dialog.err" <<'PY'
import os, re, select, signal, socket, subprocess, sys, time
pid, main_port, dialog_port, dom = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
N = 100
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # every answer fits while this script is busy
s.bind(("127.0.0.1", 0))
me = s.getsockname()[1]

def request(method, cid, branch, to_tag="", ruri=f"sip:+15550000001@{dom}", route=""):
    return (f"{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};rport;branch=z9hG4bK{branch}\r\n{route}"
            f"Max-Forwards: 70\r\nFrom: <sip:+15550000002@{dom}>;tag=f{branch}\r\n"
            f"To: <sip:+15550000001@{dom}>{to_tag}\r\nCall-ID: {cid}\r\nCSeq: 1 {method}\r\n"
            f"Contact: <sip:+15550000002@127.0.0.1:{me}>\r\nContent-Length: 0\r\n\r\n").encode()

def recv_q(port):
    out = subprocess.run(["ss", "-Huan", f"sport = :{port}"], capture_output=True, text=True).stdout.split()
    return int(out[1]) if len(out) > 1 else 0

def header(msg, name):
    m = re.search(rf"^{name}:[ \t]*(.*?)\r$", msg, re.M | re.I)
    return m.group(1) if m else None

try:
    sent_main = sum(s.sendto(request("INVITE", f"ovl-backlog-{i}", f"bl{i}"), ("127.0.0.1", main_port))
                    for i in range(N))
    bye = request("BYE", "ovl-dialog-bye", "dbye", ";tag=t1", f"sip:+15550000001@127.0.0.1:{me}",
                  f"Route: <sip:127.0.0.1:{dialog_port};transport=udp;lr>\r\n")
    sent_dialog = s.sendto(bye, ("127.0.0.1", dialog_port))
    held_by = time.monotonic() + 10
    while (recv_q(main_port) < sent_main or recv_q(dialog_port) < sent_dialog) and time.monotonic() < held_by:
        select.select([], [], [], 0.01)
    held = recv_q(main_port) >= sent_main and recv_q(dialog_port) >= sent_dialog  # queued bytes count overhead
    print(f"held {held} main {recv_q(main_port)}/{sent_main} dialog {recv_q(dialog_port)}/{sent_dialog}", flush=True)
finally:
    os.kill(pid, signal.SIGCONT)

order, answered = [], set()
deadline = time.monotonic() + 20
while (len(answered) < N or "bye-200" not in order) and time.monotonic() < deadline:
    r, _, _ = select.select([s], [], [], deadline - time.monotonic())
    if not r:
        break
    data, src = s.recvfrom(65536)
    msg = data.decode(errors="replace")
    cid, first = header(msg, "Call-ID"), msg.split("\r\n", 1)[0]
    if first.startswith("BYE "):  # forwarded to us: answer 200 by its top Via (the AS's dialog socket)
        via = header(msg, "Via")
        order.append("bye")
        print(f"bye from {src[1]} via {via}")
        heads = [l for l in msg.split("\r\n") if re.match(r"(Via|From|To|Call-ID|CSeq):", l, re.I)]
        port = int(re.search(r"127\.0\.0\.1:(\d+)", via).group(1))
        s.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(heads) + "\r\nContent-Length: 0\r\n\r\n").encode(),
                 ("127.0.0.1", port))
    elif cid == "ovl-dialog-bye":
        order.append("bye-200")
        print(f"bye 200 from {src[1]}")
    elif first.startswith("SIP/2.0 ") and int(first.split()[1]) >= 200:
        if not answered:
            order.append("first-invite-final")
        answered.add(cid)
print("order " + " ".join(order))
print(f"invites answered {len(answered)}")
PY
kill -CONT "$as_PID"
sed 's/^/# /' "$T_DIR/dialog.out"
check "dialog: the kernel held the backlog on the main port and the BYE on the dialog port" \
    grep -q '^held True ' "$T_DIR/dialog.out"
check "dialog: the BYE was forwarded from the dialog socket, with our Via naming it" \
    grep -qE "^bye from $DIALOG_PORT via SIP/2.0/UDP 127.0.0.1:$DIALOG_PORT;" "$T_DIR/dialog.out"
check "dialog: its 200 came back from the socket the BYE arrived on (RFC 3581 4)" \
    grep -qx "bye 200 from $DIALOG_PORT" "$T_DIR/dialog.out"
check "dialog: the BYE went out before any of the 100 queued INVITEs was answered" \
    grep -qE '^order bye( bye-200)? first-invite-final' "$T_DIR/dialog.out"
check "dialog: every queued INVITE still got a final answer" grep -qx "invites answered 100" "$T_DIR/dialog.out"
check "AS (dialog): SIGTERM exit 0" stop_daemon "$as_PID"
finish
