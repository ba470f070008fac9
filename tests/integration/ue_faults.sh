#!/usr/bin/env bash
# Faults (issue 7; DESIGN §1 "a call never fails because of encryption", §3, §4): with a long encrypted call up
# the whole time, each of mihua-hss, mihua-udm and mihua-kms is stopped and then stalled (SIGSTOP past its budget);
# the calls placed meanwhile connect, carry audio and go plain within the budget, and the next call after the
# component is back (freeDiameter reconnect, SBI reconnect) is encrypted again. The AS runs with
# attachment_source=all so both the HSS and the UDM answers matter. The long call ends encrypted and bit-exact.
# Last, the KMS refuses keys for calls the AS does not know (never was, or ended) and when the AS is down.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ue_lib.sh"

LOOKUP_MS=300
KMS_TIMEOUT_MS=1000 # ue_lib's agents (kms.timeout_ms)
UPDATE_WAIT_MS=1500 # ue_lib's agents (update_wait_ms)
SLACK_MS=1500       # scheduling on a loaded 2-core machine, ASan: generous, the budgets are the point
write_subs "1 true NR true" "2 true NR true" "5 true NR true" "6 true NR true"
net_up --attachment-source all --lookup-timeout-ms "$LOOKUP_MS"
KMS_CLI=$(dirname "$MIHUA_BIN")/tests/mihua-kms-cli

# --- a long call that stays up through every fault --------------------------------------------------------------
ue_conf 5
ue_conf 6
"$UE_BIN" -c "$T_DIR/ue6.json" answer --auto --count 1 --summary "$T_DIR/long.callee.json" --wav "$T_DIR/callee.wav" \
    >"$T_DIR/long.callee.out" 2>"$T_DIR/long.callee.log" &
LONG_CALLEE=$!
wait_for "$T_DIR/long.callee.out" '^READY mihua-ue'
"$UE_BIN" -c "$T_DIR/ue5.json" call tel:+15550000006 --duration 600 --summary "$T_DIR/long.caller.json" \
    --wav "$T_DIR/caller.wav" >"$T_DIR/long.caller.out" 2>"$T_DIR/long.caller.log" &
LONG_CALLER=$!
wait_for "$T_DIR/long.caller.log" 'connected, encrypted: '

ue_call base 2 1
expect_encrypted base SM4_CM_128_HMAC_SM3_80

# early_ms NAME: the caller's INVITE -> 183 in ms (what the AS's checks cost the call)
early_ms() { sum "$1" caller "j['setupUs']['early'] // 1000"; }
answer_ms() { sum "$1" caller "j['setupUs']['answer'] // 1000"; }

# fault NAME REASON: one call during a fault; connected, plain for REASON, audio, and the 183 within the budget
fault() {
    ue_call "$1" 2 1
    expect_connected "$1"
    expect_plain "$1" caller "$2"
    expect_audio "$1"
    check "$1: the 183 came within the lookup budget ($(early_ms "$1") ms <= $LOOKUP_MS + $SLACK_MS)" \
        [ "$(early_ms "$1")" -le $((LOOKUP_MS + SLACK_MS)) ]
}
back() { # back NAME: the first call after recovery is encrypted again
    ue_call "$1" 2 1
    expect_encrypted "$1" SM4_CM_128_HMAC_SM3_80
}

# --- HSS ------------------------------------------------------------------------------------------------------------
check "HSS: SIGTERM exit 0" stop_daemon "$hss_PID"
fault hss_down "lookup error"
check "hss_down: AS stripped for a lookup error" grep -q 'reason="lookup error"' <(as_decision hss_down)
start_hss
check "HSS back: the AS reconnected (freeDiameter Tc)" wait_hss_open "$AS_SBI"
back hss_back

kill -STOP "$hss_PID"
fault hss_stalled "lookup timeout"
check "hss_stalled: AS waited its budget, then stripped (lookup timeout)" \
    grep -Eq 'reason="lookup timeout" hss_us=[0-9]{6}' <(as_decision hss_stalled)
kill -CONT "$hss_PID"
back hss_resumed

# --- UDM ------------------------------------------------------------------------------------------------------------
check "UDM: SIGTERM exit 0" stop_daemon "$udm_PID"
fault udm_down "lookup error"
start_udm
back udm_back

kill -STOP "$udm_PID"
fault udm_stalled "lookup timeout"
kill -CONT "$udm_PID"
back udm_resumed

# --- KMS ------------------------------------------------------------------------------------------------------------
check "KMS: SIGTERM exit 0" stop_daemon "$kms_PID"
fault kms_down "KMS unreachable"
expect_plain kms_down callee "no key offer (UPDATE) from the caller within $UPDATE_WAIT_MS ms"
check "kms_down: the callee answered within its wait ($(answer_ms kms_down) ms)" \
    [ "$(answer_ms kms_down)" -le $((UPDATE_WAIT_MS + SLACK_MS)) ]
start_kms
back kms_back

kill -STOP "$kms_PID"
fault kms_stalled "KMS unreachable (timeout)"
check "kms_stalled: connected within the KMS timeout and the callee's wait ($(answer_ms kms_stalled) ms)" \
    [ "$(answer_ms kms_stalled)" -le $((KMS_TIMEOUT_MS + UPDATE_WAIT_MS + SLACK_MS)) ]
kill -CONT "$kms_PID"
back kms_resumed

# --- the long call: up through all of it, encrypted to the end, every packet authenticated, audio bit-exact ----------
kill -TERM "$LONG_CALLER"
rc_caller=0 rc_callee=0
wait "$LONG_CALLER" || rc_caller=$?
wait "$LONG_CALLEE" || rc_callee=$?
check "long call: caller hung up on SIGTERM and both ends exit 0" [ "$rc_caller:$rc_callee" = 0:0 ]
expect_connected long
expect_encrypted long SM4_CM_128_HMAC_SM3_80
check "long call: audio bit-exact both ways ($(sum long caller "j['packets']['sent']") packets from the caller)" \
    [ "$(sum long caller "j['audio']['sentSha256'] + j['audio']['receivedSha256']")" = \
      "$(sum long callee "j['audio']['receivedSha256'] + j['audio']['sentSha256']")" ]

# --- the KMS never releases a key for a call the AS does not know ------------------------------------------------------
kms_issue() { # kms_issue CALLID: as user 2 calling user 1; prints "result http cause"
    "$KMS_CLI" --url "$KMS_URL" --ca "$T_DIR/certs/ca.pem" --user "tel:+15550000002" --key "$(printf '%064x' 2)" \
        issue "$1" "tel:+15550000002" "tel:+15550000001" 2>/dev/null |
        python3 -c 'import json,sys; j=json.loads(sys.stdin.readline()); print(j["result"], j["http"], j["cause"])' || true
}
check "KMS: no key for a call the AS never had (403 CALL_NOT_AUTHORIZED)" \
    [ "$(kms_issue never-a-call@127.0.0.1)" = "refused 403 CALL_NOT_AUTHORIZED" ]
check "KMS: no key for a call that has ended (403 CALL_NOT_AUTHORIZED)" \
    [ "$(kms_issue "$(sum kms_resumed caller "j['callId']")")" = "refused 403 CALL_NOT_AUTHORIZED" ]
check "AS: SIGTERM exit 0" stop_daemon "$as_PID"
as_PID=""
check "KMS: with the AS down, no key either (fail closed)" \
    [ "$(kms_issue never-a-call@127.0.0.1)" = "refused 403 CALL_NOT_AUTHORIZED" ]
finish
