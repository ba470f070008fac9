#!/usr/bin/env bash
# mihua-as with sipp as the foreign UEs (DESIGN §1-§4): real mihua-as, mihua-hss and mihua-udm on
# 127.0.0.1 with free ports. sipp registers the caller and the callee, then calls through the AS
# (INVITE/183 100rel/PRACK/UPDATE/180/200/ACK/BYE); the callee's scenario fails unless +u.mihua.voenc is present
# (or, in the "stripped" variant, absent) in the INVITE it receives. Each case also reads the AS's call record
# during the call (200, encryptionAllowed as expected) and after the BYE (404), and one call is captured for tshark.
# One call is CANCELled after the 180 (caller_cancel.xml/callee_cancel.xml); its record is gone afterwards (404).
. "$MIHUA_SRC/tests/integration/lib.sh"

SIPP_DIR=$MIHUA_SRC/tests/integration/sipp
D=$MIHUA_TEST_DOMAIN
LOOKUP_MS=300
SLACK_MS=1500 # a timer firing late on a loaded 2-core machine (ASan): generous, the budget itself is what is tested
COARSE_SLACK_MS=10 # libevent times with CLOCK_MONOTONIC_COARSE: a timer may fire a jiffy early
write_subscribers "$T_DIR/subscribers.json"
# The AS's own subscriber data also has user 9, whom the HSS and the UDM do not know: it may register (Digest
# needs a sip_password) and its calls show the checks' "user unknown".
python3 - "$T_DIR/subscribers.json" "$T_DIR/as_subscribers.json" "$(sip_password 9)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["subscribers"].append({"imsi": "001010000000009", "msisdn": "15550000009", "impu": ["tel:+15550000009"],
                         "voice_encryption": True, "access": {"rat": "NR", "ims_vops": True},
                         "sip_password": sys.argv[3]})
json.dump(d, open(sys.argv[2], "w"))
PY
sed 's/check_it="true" assign_to="voenc"/check_it_inverse="true" assign_to="voenc"/' "$SIPP_DIR/callee.xml" \
    >"$T_DIR/callee_plain.xml"
grep -q 'check_it_inverse="true" assign_to="voenc"' "$T_DIR/callee_plain.xml"

HSS_PORT=$(free_port)
UDM_PORT=$(free_port)
declare -A UE_PORT
for u in 1 2 3 4 9; do UE_PORT[$u]=$(free_port); done

start_hss() {
    start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$T_DIR/subscribers.json" \
        --port "$HSS_PORT" --admin-listen 127.0.0.1:0
}
start_udm() {
    start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$T_DIR/subscribers.json" \
        --listen "127.0.0.1:$UDM_PORT" --admin-listen 127.0.0.1:0
}
# start_as [OPTIONS...]: (re)starts the AS and sets AS_SIP_PORT and SBI.
start_as() {
    if [ -n "${as_PID:-}" ]; then stop_daemon "$as_PID" || fail "AS: SIGTERM exit 0"; fi
    start_daemon as "$MIHUA_BIN/mihua-as" -c "$MIHUA_SRC/conf/as.json" --sip-listen 127.0.0.1:0 \
        --sbi-listen 127.0.0.1:0 --hss "127.0.0.1:$HSS_PORT" --udm-url "http://127.0.0.1:$UDM_PORT" \
        --diameter-port 0 --lookup-timeout-ms "$LOOKUP_MS" --subscribers "$T_DIR/as_subscribers.json" \
        --sip-auth-algorithms MD5,SHA-256 "$@" # sipp 3.6 answers the first challenge and knows only MD5
    local ready
    ready=$(grep '^READY' "$T_DIR/as.out")
    AS_SIP_PORT=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' <<<"$ready")
    SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' <<<"$ready")
    case "$*" in *"--subscription-source udm --attachment-source udm"*) ;; *) wait_hss_open "$SBI" ;; esac
}

# register USER [FEATURE]: REGISTER sip:+1555000000USER@D from the user's own port, answering the 401.
register() {
    local u=$1 feature=${2-;+u.mihua.voenc}
    (cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/register.xml" -m 1 -i 127.0.0.1 -p "${UE_PORT[$u]}" -timeout 10 \
        -timeout_error -key user "+1555000000$u" -key domain "$D" -key feature "$feature" \
        -au "+1555000000$u" -ap "$(sip_password "$u")" \
        "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/reg$u.log" 2>&1)
}
register_all() {
    for u in 1 2 3 4 9; do check "REGISTER user $u: 200 OK" register "$u"; done
}

curl_call() { # curl_call CALLID OUTFILE -> prints the HTTP status; the answer checked against docs/openapi
    local st
    st=$(curl -s --max-time 2 --http2-prior-knowledge "${T_AUTH[@]}" -o "$2" -w '%{http_code} %{content_type}' \
        "$SBI/as/v1/calls/$1") || true
    echo "${st%% *}"
    [ "${st%% *}" != 000 ] || return 0 # no answer (the caller's check says so)
    openapi_conforms mihua-as.yaml GET "$SBI/as/v1/calls/$1" "${st%% *}" "${st#* }" "$2" 2>>"$T_DIR/openapi.fail" ||
        echo "$1" >>"$T_DIR/openapi.bad"
    echo "$1" >>"$T_DIR/openapi.checked"
}
udp_bound() { ss -Hlun "sport = :$1" | grep -q .; }
# wait_uas PORT: the callee's sipp has bound its UDP port (before that the AS's INVITE would meet a closed port)
wait_uas() { wait_until $((READY_TIMEOUT_S * 1000)) udp_bound "$1" || { echo "  no sipp on UDP $1" >&2; return 1; }; }
record_present() { [ "$(curl_call "$1" "$2")" = 200 ]; }

# call NAME CALLER CALLEE REQUEST_URI kept|stripped: one complete call; the callee's scenario checks the tag.
call() {
    local name=$1 caller=$2 callee=$3 ruri=$4 expect=$5 cid="mihua-$1-1" scen="$SIPP_DIR/callee.xml"
    [ "$expect" = stripped ] && scen="$T_DIR/callee_plain.xml"
    (cd "$T_DIR" && exec sipp -sf "$scen" -m 1 -i 127.0.0.1 -p "${UE_PORT[$callee]}" -timeout 20 -timeout_error \
        -key user "+1555000000$callee" -trace_err -trace_msg "127.0.0.1:$AS_SIP_PORT" \
        >"$T_DIR/$name.callee.log" 2>&1) &
    local callee_pid=$!
    wait_uas "${UE_PORT[$callee]}"
    (cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/caller.xml" -m 1 -i 127.0.0.1 -p "${UE_PORT[$caller]}" -d 1500 -timeout 20 \
        -timeout_error -cid_str "mihua-$name-%u" -key user "+1555000000$caller" -key domain "$D" \
        -key callee "$ruri" -trace_err -trace_msg "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/$name.caller.log" 2>&1) &
    local caller_pid=$! found=no
    # the record lives from the INVITE to the BYE (the caller pauses 1.5 s): poll while the caller runs
    while kill -0 "$caller_pid" 2>/dev/null; do
        record_present "$cid" "$T_DIR/$name.call.json" && { found=yes; break; }
        sleep 0.05
    done
    check "$name: call record answered during the call" [ "$found" = yes ]
    local want=False
    [ "$expect" = kept ] && want=True
    check "$name: encryptionAllowed is $want" \
        [ "$(jget "$T_DIR/$name.call.json" "j.get('encryptionAllowed')")" = "$want" ]
    check "$name: record names caller and callee" \
        [ "$(jget "$T_DIR/$name.call.json" "j['caller'] + ' ' + j['callee']")" = "sip:+1555000000$caller@$D $ruri" ]
    local rc_caller=0 rc_callee=0
    wait "$caller_pid" || rc_caller=$?
    wait "$callee_pid" || rc_callee=$?
    check "$name: caller completed the call (INVITE..BYE)" [ "$rc_caller" -eq 0 ]
    check "$name: callee saw the tag $expect and completed" [ "$rc_callee" -eq 0 ]
    check "$name: call record gone after BYE (404)" [ "$(curl_call "$cid" "$T_DIR/$name.gone.json")" = 404 ]
    check "$name: 404 is ProblemDetails CALL_NOT_FOUND" \
        [ "$(jget "$T_DIR/$name.gone.json" "j.get('cause')")" = CALL_NOT_FOUND ]
}

# cancel_call NAME CALLER CALLEE REQUEST_URI: the caller CANCELs after the 180 (200 to the CANCEL, CANCEL
# downstream, 487 to the INVITE, ACK); the callee answers 180 only, then 200s the AS's CANCEL and 487s the INVITE.
cancel_call() {
    local name=$1 caller=$2 callee=$3 ruri=$4 cid="mihua-$1-1"
    (cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/callee_cancel.xml" -m 1 -i 127.0.0.1 -p "${UE_PORT[$callee]}" -timeout 20 \
        -timeout_error -key user "+1555000000$callee" -trace_err -trace_msg -trace_logs "127.0.0.1:$AS_SIP_PORT" \
        >"$T_DIR/$name.callee.log" 2>&1) &
    local callee_pid=$!
    wait_uas "${UE_PORT[$callee]}"
    (cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/caller_cancel.xml" -m 1 -i 127.0.0.1 -p "${UE_PORT[$caller]}" -timeout 20 \
        -timeout_error -cid_str "mihua-$name-%u" -key user "+1555000000$caller" -key domain "$D" \
        -key callee "$ruri" -trace_err -trace_msg "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/$name.caller.log" 2>&1) &
    local caller_pid=$! rc_caller=0 rc_callee=0
    wait "$caller_pid" || rc_caller=$?
    wait "$callee_pid" || rc_callee=$?
    check "$name: caller got 200 for the CANCEL and 487 for the INVITE, sent the ACK" [ "$rc_caller" -eq 0 ]
    check "$name: callee got the CANCEL (INVITE's branch), 200ed it, 487ed the INVITE, got the ACK" \
        [ "$rc_callee" -eq 0 ]
    check "$name: AS log: the cancelled call was checked" grep -q "call $cid .*encryption=allowed" "$T_DIR/as.log"
    check "$name: call record gone after CANCEL (404)" [ "$(curl_call "$cid" "$T_DIR/$name.gone.json")" = 404 ]
    check "$name: 404 is ProblemDetails CALL_NOT_FOUND" \
        [ "$(jget "$T_DIR/$name.gone.json" "j.get('cause')")" = CALL_NOT_FOUND ]
}

start_hss
start_udm
start_as
tshark -i lo -f "udp port $AS_SIP_PORT or tcp port $HSS_PORT or tcp port $UDM_PORT" -w "$T_DIR/call.pcapng" \
    >"$T_DIR/tshark.log" 2>&1 &
TSHARK_PID=$!
wait_for "$T_DIR/tshark.log" "Capturing on"
register_all

# sip_probe LOCAL_PORT RURI FROM_USER: one INVITE over UDP, prints the status of the first final response.
sip_probe() {
    python3 - "$AS_SIP_PORT" "$@" <<'PY'
import socket, sys
as_port, local, ruri, user = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
d = "ims.mnc001.mcc001.3gppnetwork.org"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", local)); s.settimeout(3)
port = s.getsockname()[1]
if ruri == "garbage":
    msg = "INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKp\r\nFrom: <sip:a@b>;tag=1\r\n" \
          "To: <sip:x@y>\r\nCall-ID: probe\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n" % port
else:
    msg = ("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKprobe%d\r\nMax-Forwards: 70\r\n"
           "From: <sip:+1555000000%s@%s>;tag=p\r\nTo: <%s>\r\nCall-ID: probe-%d@x\r\nCSeq: 1 INVITE\r\n"
           "Contact: <sip:p@127.0.0.1:%d>;+u.mihua.voenc\r\nContent-Length: 0\r\n\r\n"
           % (ruri, port, port, user, d, ruri, port, port))
s.sendto(msg.encode(), ("127.0.0.1", as_port))
while True:
    resp = s.recv(65535)
    code = int(resp.split(b" ", 2)[1])
    if code >= 200:
        break
# The ACK of a non-2xx final response (RFC 3261 §17.1.1.3): without it the AS retransmits the response for 32 s
# to this port, where a later sipp UAS would take it for a stray message.
if code >= 300 and ruri != "garbage":
    to = next(l for l in resp.decode().split("\r\n") if l.lower().startswith("to:"))
    ack = msg.split("\r\n\r\n")[0].replace("INVITE %s SIP/2.0" % ruri, "ACK %s SIP/2.0" % ruri, 1)
    ack = "\r\n".join(to if l.startswith("To:") else l for l in ack.split("\r\n"))
    s.sendto((ack.replace("CSeq: 1 INVITE", "CSeq: 1 ACK") + "\r\n\r\n").encode(), ("127.0.0.1", as_port))
print(code)
PY
}
check "INVITE from an address the caller did not register from: 407 (Proxy-Authenticate)" \
    [ "$(sip_probe 0 "sip:+15550000001@$D" 2)" = 407 ]
check "INVITE to an unregistered callee: 404" [ "$(sip_probe "${UE_PORT[2]}" "sip:+15550000007@$D" 2)" = 404 ]
check "malformed INVITE (CSeq method differs): 400" [ "$(sip_probe 0 garbage 2)" = 400 ]

kill -HUP "$as_PID"
check "SIGHUP: the AS logged it (nothing to reload)" wait_for "$T_DIR/as.log" 'SIGHUP: nothing to reload'
check "SIGHUP: the AS keeps running" kill -0 "$as_PID"

call kept_nr 2 1 "tel:+15550000001" kept
kill -INT "$TSHARK_PID"
wait "$TSHARK_PID" || true

call caller_unsubscribed 3 1 "sip:+15550000001@$D" stripped
call callee_unsubscribed 1 3 "sip:+15550000003@$D" stripped
call callee_utran 1 4 "sip:+15550000004@$D" stripped
call callee_eutran 1 2 "sip:+15550000002@$D" kept
call callee_unknown 1 9 "sip:+15550000009@$D" stripped
cancel_call cancelled 2 1 "sip:+15550000001@$D"

# Policy udm for both questions: the UDM alone decides (it serves an AMF registration only for NR).
start_as --subscription-source udm --attachment-source udm
register_all
call udm_kept 2 1 "sip:+15550000001@$D" kept
stop_daemon "$udm_PID" || true
call udm_stopped 2 1 "sip:+15550000001@$D" stripped
check "AS log: UDM stopped gives a lookup error" grep -q 'mihua-udm_stopped-1.*encryption=stripped' "$T_DIR/as.log"

# Back to policy hss; an HSS that answers nothing: stripped within the lookup budget.
start_as
register_all
kill -STOP "$hss_PID"
wait_stopped "$hss_PID"
call hss_timeout 2 1 "sip:+15550000001@$D" stripped
kill -CONT "$hss_PID"
check "AS log: HSS silent gives a lookup timeout" grep -q 'mihua-hss_timeout-1.*reason="lookup timeout"' "$T_DIR/as.log"
# The AS's own figure (its decision line), not a wall clock around sipp's start-up: waited the budget, no longer.
hss_us=$(grep -E 'call mihua-hss_timeout-1 .*encryption=stripped' "$T_DIR/as.log" | sed -nE 's/.* hss_us=([0-9]+).*/\1/p')
in_budget() { [ -n "$1" ] && [ "$1" -ge $(((LOOKUP_MS - COARSE_SLACK_MS) * 1000)) ] &&
    [ "$1" -le $(((LOOKUP_MS + SLACK_MS) * 1000)) ]; }
check "lookup timeout: the AS gave up after its budget (${hss_us:-?} us, budget $LOOKUP_MS ms + $SLACK_MS ms slack)" \
    in_budget "$hss_us"
stop_daemon "$hss_PID" || true
call hss_stopped 2 1 "sip:+15550000001@$D" stripped

# Metrics: calls by outcome.
curl -s --http2-prior-knowledge "${T_AUTH[@]}" "$SBI/metrics" >"$T_DIR/metrics.txt"
check "metrics: stripped calls counted" grep -qE '^mihua_as_calls_total\{outcome="stripped",reason="lookup_timeout"\} 1' \
    "$T_DIR/metrics.txt"
check "metrics: registrations gauge" grep -qE '^mihua_as_registrations 5' "$T_DIR/metrics.txt"

# Wire: tshark dissects the first call's SIP and the Sh lookups with nothing malformed.
tshark -r "$T_DIR/call.pcapng" -d "tcp.port==$HSS_PORT,diameter" -d "tcp.port==$UDM_PORT,http2" \
    -Y "sip || diameter || http2" >"$T_DIR/wire.txt" 2>"$T_DIR/wire.err" || true
check "wire: SIP INVITE seen" grep -q "INVITE" "$T_DIR/wire.txt"
check "wire: Sh UDA or SNA seen (the facts cache subscribes at REGISTER)" \
    grep -Eq "cmd=(User-Data|Subscribe-Notifications) Answer\((306|308)\).*3GPP Sh" "$T_DIR/wire.txt"
check "wire: SBI lookup seen" grep -q "GET /nudm-uecm/v1/msisdn-" "$T_DIR/wire.txt"
check "wire: forwarded INVITE, 183, PRACK, UPDATE, BYE seen" \
    bash -c "grep -q 'Session Progress' '$T_DIR/wire.txt' && grep -q 'PRACK' '$T_DIR/wire.txt' && \
             grep -q 'UPDATE' '$T_DIR/wire.txt' && grep -q 'BYE' '$T_DIR/wire.txt'"
tshark -r "$T_DIR/call.pcapng" -d "tcp.port==$HSS_PORT,diameter" -d "tcp.port==$UDM_PORT,http2" \
    -Y "_ws.malformed" >"$T_DIR/malformed.txt" 2>"$T_DIR/malformed.err" || true
check "wire: no malformed packet" [ ! -s "$T_DIR/malformed.txt" ]

check "AS: SIGTERM exit 0" stop_daemon "$as_PID"
as_PID=""
check "every call-record answer conforms to docs/openapi/mihua-as.yaml ($(wc -l <"$T_DIR/openapi.checked") checked)" \
    [ ! -s "$T_DIR/openapi.bad" ]
[ ! -s "$T_DIR/openapi.bad" ] || cat "$T_DIR/openapi.fail" >&2
finish
