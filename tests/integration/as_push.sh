#!/usr/bin/env bash
# mihua-as deciding calls from its subscriber-facts cache (DESIGN §3 "Push") with real mihua-hss and mihua-udm
# sharing one store: sipp registers the users (the AS subscribes: Sh SNR, Nudr subs-to-notify), sip_call.py places
# tagged calls and reports whether the callee got the tag. Covers: decisions from the cache (path=cache) after
# registration; a change through the HSS's admin API (PNR) and through the UDM's (PNR and DataChangeNotify)
# reflected by the next call; the partial fallback (UDM says not on NR, the HSS's T-ADS is queried); an HSS
# restart (facts forgotten at once, calls go to queries and never fail, resubscription, a change made while the
# HSS was down reflected afterwards: the lost notification does not lead to a wrong decision); a UDM restart
# (subscriptions found missing, resubscribed); a deregistration (Expires 0: SNR unsubscribe and Nudr DELETE, seen
# gone in both peers' lists); an AS restart (the old run's subscriptions end at the next change: PNA
# DIAMETER_ERROR_NO_SUBSCRIPTION_TO_DATA and a 404 to the DataChangeNotify make the HSS and the UDM drop them);
# and the cache switched off (path=query, no subscription).
. "$(dirname "$0")/lib.sh"

D=$MIHUA_TEST_DOMAIN
SUBS=$T_DIR/subscribers.json
DB=$T_DIR/subscribers.db
write_subscribers "$SUBS" NR
HSS_PORT=$(free_port)
UDM_PORT=$(free_port)
declare -A UE_PORT
for u in 1 2 3; do UE_PORT[$u]=$(free_port); done
PUSH_MS=3000   # a notification reaches the AS within this of the change (tens of ms unloaded)
RESUB_MS=15000 # after a peer restart: reconnection (DIAM_RECONNECT_MS) + a scan (1 s) + the answers

start_hss() {
    start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --store "$DB" \
        --port "$HSS_PORT" --admin-listen 127.0.0.1:0
    HSS_ADMIN=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/hss.out")
}
start_udm() {
    start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" --store "$DB" \
        --listen "127.0.0.1:$UDM_PORT" --admin-listen 127.0.0.1:0
    UDM_ADMIN=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/udm.out")
}
start_as() {
    start_daemon as "$MIHUA_BIN/mihua-as" -c "$MIHUA_SRC/conf/as.json" --sip-listen 127.0.0.1:0 \
        --sbi-listen 127.0.0.1:0 --hss "127.0.0.1:$HSS_PORT" --udm-url "http://127.0.0.1:$UDM_PORT" \
        --diameter-port 0 --subscribers "$SUBS" --store "$DB" --sip-auth-algorithms MD5,SHA-256 "$@"
    local ready
    ready=$(grep '^READY' "$T_DIR/as.out")
    AS_SIP_PORT=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' <<<"$ready")
    SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' <<<"$ready")
    wait_hss_open "$SBI"
}
register() {
    (cd "$T_DIR" && exec sipp -sf "$MIHUA_SRC/tests/integration/sipp/register.xml" -m 1 -i 127.0.0.1 \
        -p "${UE_PORT[$1]}" -timeout 10 -timeout_error -key user "+1555000000$1" -key domain "$D" \
        -key feature ";+u.mihua.voenc" -au "+1555000000$1" -ap "$(sip_password "$1")" \
        "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/reg$1.log" 2>&1) # sipp 3.6 answers the first challenge, in MD5
}
N_CALL=0
# call CALLER CALLEE: one tagged call; "kept|stripped CODE" in $T_DIR/call$N_CALL.out, decision line in LAST.
call() {
    N_CALL=$((N_CALL + 1))
    python3 "$MIHUA_SRC/tests/integration/sip_call.py" "$AS_SIP_PORT" "${UE_PORT[$1]}" "${UE_PORT[$2]}" \
        "+1555000000$1" "sip:+1555000000$2@$D" "$D" "push-$N_CALL" >"$T_DIR/call$N_CALL.out" 2>&1 || true
    LAST=$(grep 'decision check=' "$T_DIR/as.log" | tail -1 || true) # calls run one at a time
}
# expect DESCRIPTION kept|stripped cache|query [REASON]
expect() {
    check "$1: the callee got the tag $2" grep -q "^$2 486$" "$T_DIR/call$N_CALL.out"
    check "$1: decided by path=$3" grep -q "path=$3" <<<"$LAST"
    [ -z "${4:-}" ] || check "$1: reason '$4'" grep -q "($4)" <<<"$LAST"
}
patch() {
    curl "${T_AUTH[@]}" -s --http2-prior-knowledge -X PATCH -H 'content-type: application/merge-patch+json' --data "$3" \
        -o /dev/null -w '%{http_code}' "$1/admin/v1/subscribers/$2"
}
# seen N PATTERN: the AS log holds at least N lines matching PATTERN (within PUSH_MS).
seen() { wait_until "${3:-$PUSH_MS}" bash -c "[ \$(grep -cE -- '$2' '$T_DIR/as.log') -ge $1 ]"; }
hss_subs() { curl "${T_AUTH[@]}" -s --http2-prior-knowledge "$HSS_ADMIN/admin/v1/sh-subscriptions" | grep -o '"id":' | wc -l; }
# hss_subs_are N / udm_subs_of USER N: the peer lists N subscriptions (all / of that user) within PUSH_MS.
hss_subs_are() { wait_until "$PUSH_MS" bash -c "[ \$(curl ${T_AUTH[*]} -s --http2-prior-knowledge '$HSS_ADMIN/admin/v1/sh-subscriptions' | grep -o '\"id\":' | wc -l) = $1 ]"; }
udm_subs_of() { wait_until "$PUSH_MS" bash -c "[ \$(curl -s --http2-prior-knowledge 'http://127.0.0.1:$UDM_PORT/nudr-dr/v2/subscription-data/subs-to-notify?ue-id=msisdn-1555000000$1' | grep -o '\"subscriptionId\":' | wc -l) = $2 ]"; }
deregister() {
    (cd "$T_DIR" && exec sipp -sf "$MIHUA_SRC/tests/integration/sipp/deregister.xml" -m 1 -i 127.0.0.1 \
        -p "${UE_PORT[$1]}" -timeout 10 -timeout_error -key user "+1555000000$1" -key domain "$D" \
        -key feature ";+u.mihua.voenc" -au "+1555000000$1" -ap "$(sip_password "$1")" \
        "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/dereg$1.log" 2>&1)
}

start_hss
start_udm
start_as --facts-max-age-ms 60000

for u in 1 2 3; do check "REGISTER user $u: 200 OK" register "$u"; done
check "Sh subscriptions made for the three users (SNA with their data)" seen 3 'Sh facts user='
check "Nudr subscriptions made and their state read (attachment)" seen 3 'Nudr facts user=.* attached='
check "HSS admin: three Sh subscriptions from the AS" [ "$(hss_subs)" = 3 ]

call 2 1
expect "warm cache, subscribed callee on NR" kept cache ok
check "no UDR, no UDM GET for that call" grep -q 'hss=\[yes,yes,not-asked\].*udm=\[not-asked,not-asked,yes\]' <<<"$LAST"
call 3 1
expect "unsubscribed caller, from the cache" stripped cache "caller not subscribed"

check "HSS admin: callee's voice encryption off -> 200" [ "$(patch "$HSS_ADMIN" 001010000000001 '{"voice_encryption":false}')" = 200 ]
check "PNR received" seen 1 'PNR user=tel:\+15550000001 subscribed=no'
call 2 1
expect "after the HSS admin change" stripped cache "callee not subscribed"
check "UDM admin: callee's voice encryption on -> 200" [ "$(patch "$UDM_ADMIN" 001010000000001 '{"voice_encryption":true}')" = 200 ]
check "PNR after the UDM's change (the HSS sees the shared store)" seen 1 'PNR user=tel:\+15550000001 subscribed=yes'
call 2 1
expect "after the UDM admin change" kept cache ok

check "UDM admin: callee to EUTRAN -> 200" [ "$(patch "$UDM_ADMIN" 001010000000001 '{"access":{"rat":"EUTRAN"}}')" = 200 ]
check "DataChangeNotify received: not registered in 5GS" seen 1 'DataChangeNotify user=msisdn-15550000001 .*attached=no'
call 2 1
expect "UDM says not on NR: the HSS's T-ADS is queried (policy any)" kept query ok
# A stranger's DataChangeNotify (no bearer token needed on this route, but not the secret of our callback URL) is
# refused and changes nothing: the next check still sees the real notification.
FAKE='{"notifyItems":[{"resourceId":"x/operator-specific-data","changes":[{"op":"REPLACE","path":"/voiceEncryption/value","newValue":false}]}]}'
check "a DataChangeNotify to a guessed callback URL: 404, logged" all \
    "[ \"\$(curl -s --http2-prior-knowledge -H 'content-type: application/json' --data '$FAKE' -o /dev/null \
        -w '%{http_code}' '$SBI/as/v1/nudr-notify/00000000000000000000000000000000/15550000001')\" = 404 ]" \
    "grep -q 'DataChangeNotify with a wrong callback key from 127.0.0.1' '$T_DIR/as.log'"
check "HSS admin: callee back to NR -> 200" [ "$(patch "$HSS_ADMIN" 001010000000001 '{"access":{"rat":"NR"}}')" = 200 ]
check "DataChangeNotify received: registered again" seen 1 'DataChangeNotify user=msisdn-15550000001 .*attached=yes'
call 2 1
expect "back on NR" kept cache ok

# HSS restart: the facts it gave are forgotten at once; a change made while it is down is not pushed (that PNR is
# lost), yet the next decisions are right: queries while it is down, fresh subscriptions once it is back.
check "HSS: SIGTERM exit 0" stop_daemon "$hss_PID"
check "the AS forgets the HSS's facts" seen 1 'HSS facts forgotten'
check "UDM admin (HSS down): callee's voice encryption off -> 200" [ "$(patch "$UDM_ADMIN" 001010000000001 '{"voice_encryption":false}')" = 200 ]
call 2 1
expect "HSS down: queries, the call goes on plain" stripped query "lookup error"
start_hss
check "the AS subscribes again once the HSS is back" wait_until "$RESUB_MS" bash -c "[ \$(curl ${T_AUTH[*]} -s --http2-prior-knowledge '$HSS_ADMIN/admin/v1/sh-subscriptions' | grep -o '\"id\":' | wc -l) = 3 ]"
check "the new subscriptions' answers arrived" seen 6 'Sh facts user=' "$RESUB_MS"
call 2 1
expect "after the HSS restart: the change made while it was down" stripped cache "callee not subscribed"
check "UDM admin: callee's voice encryption on -> 200" [ "$(patch "$UDM_ADMIN" 001010000000001 '{"voice_encryption":true}')" = 200 ]
check "PNR from the restarted HSS" seen 2 'PNR user=tel:\+15550000001 subscribed=yes'
call 2 1
expect "after the restart, a change pushed again" kept cache ok

# UDM restart: its subscriptions are gone; the AS's probe notices and subscribes again.
check "UDM: SIGTERM exit 0" stop_daemon "$udm_PID"
check "the AS forgets the UDM's facts" seen 1 'UDM subscriptions lost' "$RESUB_MS"
start_udm
check "the AS subscribes again at the restarted UDM" seen 6 'Nudr facts user=.* attached=' "$RESUB_MS"
call 2 1
expect "after the UDM restart" kept cache ok
check "metrics: decisions by path" bash -c "curl ${T_AUTH[*]} -s --http2-prior-knowledge '$SBI/metrics' | grep -q '^mihua_as_decisions_total{path=\"cache\"} [1-9]'"

# Deregistration: user 3's last binding goes; its subscriptions end at both peers and its facts are dropped.
check "UDM lists user 3's subscription before" udm_subs_of 3 1
check "de-REGISTER user 3 (Expires 0): 200 OK" deregister 3
check "the AS ends user 3's subscriptions" seen 1 'deregistered user=tel:\+15550000003: subscriptions ended'
check "HSS: SNR unsubscribe for user 3 answered success" wait_until "$PUSH_MS" \
    grep -qE 'SNR from=.* user=tel:\+15550000003 type=unsubscribe -> success' "$T_DIR/hss.log"
check "HSS admin: user 3's Sh subscription gone (2 left)" hss_subs_are 2
check "UDM: user 3's subs-to-notify deleted" udm_subs_of 3 0
check "UDM: users 1 and 2 keep theirs" all "udm_subs_of 1 1" "udm_subs_of 2 1"

# AS restart (same SBI port, so the UDM's callbacks reach the new run): the HSS and the UDM still hold users 1
# and 2's subscriptions of the old run. The new AS holds none until they register: the next change ends them.
SBI_PORT=${SBI##*:}
check "AS: SIGTERM exit 0" stop_daemon "$as_PID"
start_as --facts-max-age-ms 60000 --sbi-listen "127.0.0.1:$SBI_PORT"
check "HSS still lists the old run's 2 subscriptions" hss_subs_are 2
# Each change touches what both peers watch: voice encryption (Sh RepositoryData) and the AMF registration (Nudr
# amf-3gpp-access, the only resource the UDM monitors under the default policies).
NEW_RAT=([1]=EUTRAN [2]=NR) OLD_RAT=([1]=NR [2]=EUTRAN)
for u in 1 2; do
    check "HSS admin: user $u voice encryption off, rat ${NEW_RAT[$u]} -> 200" \
        [ "$(patch "$HSS_ADMIN" 00101000000000$u '{"voice_encryption":false,"access":{"rat":"'"${NEW_RAT[$u]}"'"}}')" = 200 ]
done
check "the new AS answers both PNRs DIAMETER_ERROR_NO_SUBSCRIPTION_TO_DATA" \
    seen 2 'PNR for msisdn-1555000000[12], which holds no Sh subscription here'
check "HSS: the PNAs (5107) dropped both subscriptions" wait_until "$PUSH_MS" \
    bash -c "[ \$(grep -c 'refused (code 5107): subscription dropped' '$T_DIR/hss.log') = 2 ]"
check "HSS admin: no subscription left" hss_subs_are 0
check "UDM: the new AS's 404 to the old callbacks dropped both subscriptions" all "udm_subs_of 1 0" "udm_subs_of 2 0" \
    "[ \$(grep -c 'the callback answered 404, subscription removed' '$T_DIR/udm.log') = 2 ]"
for u in 1 2; do
    check "HSS admin: user $u back as it was -> 200" \
        [ "$(patch "$HSS_ADMIN" 00101000000000$u '{"voice_encryption":true,"access":{"rat":"'"${OLD_RAT[$u]}"'"}}')" = 200 ]
done
check "AS: SIGTERM exit 0" stop_daemon "$as_PID"

# Cache off: every call queries, nothing is subscribed.
SNRS_BEFORE=$(grep -c 'SNR from=' "$T_DIR/hss.log")
start_as --facts-cache no
for u in 1 2; do check "REGISTER user $u (cache off): 200 OK" register "$u"; done
call 2 1
expect "cache off" kept query ok
check "cache off: the HSS got no SNR" [ "$(grep -c 'SNR from=' "$T_DIR/hss.log")" = "$SNRS_BEFORE" ]
check "cache off: no subscription made" [ "$(grep -c 'Sh facts user=' "$T_DIR/as.log")" = 0 ]
check "AS: SIGTERM exit 0" stop_daemon "$as_PID"

finish
