#!/usr/bin/env bash
# mihua-hss Sh-Subs-Notif (TS 29.328 §6.1.3/§6.1.4, TS 29.329 §6.1.5-§6.1.8) against a foreign Sh application server
# (sh_push_peer.py, written from the byte layouts, not freeDiameter): SNR subscribe with Send-Data-Indication and
# Expiry-Time (granted no later than the configured maximum), Data-References table 7.6.1 refuses (5104) or this
# HSS does not serve (5100), unsubscribe (and of nothing: success, not 5106); PNR on a change made through the HSS's admin API,
# through the UDM's (another process sharing the store) and by a reload, nothing for a change of facts nobody
# subscribed to; a PNA with DIAMETER_ERROR_USER_UNKNOWN drops the subscription; subscriptions expire, show at
# GET /admin/v1/sh-subscriptions and do not survive a restart; a fault rule on SNR answers with its Result-Code
# and shows in the request journal. tshark dissects SNR/SNA/PNR/PNA with nothing malformed.
. "$(dirname "$0")/lib.sh"

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
DB=$T_DIR/subscribers.db
PORT=$(free_port)
MAX_S=600
PUSH_MS=2000 # a PNR within this of the change (store poll 10 ms + watch 5 ms; generous for a loaded machine)

tshark -i lo -f "tcp port $PORT" -w "$T_DIR/sh.pcapng" >"$T_DIR/tshark.log" 2>&1 &
TSHARK_PID=$!
T_PIDS+=("$TSHARK_PID")
wait_for "$T_DIR/tshark.log" "Capturing on"

start_hss() {
    start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --store "$DB" \
        --port "$PORT" --admin-listen 127.0.0.1:0 --sh-subscription-max-s "$MAX_S"
    HSS_ADMIN=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/hss.out")
}
start_hss
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" --store "$DB" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
UDM_ADMIN=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/udm.out")

# The foreign AS: commands on fd 7, events in peer.out.
start_peer() {
    rm -f "$T_DIR/peer.in"
    mkfifo "$T_DIR/peer.in"
    : >"$T_DIR/peer.out"
    python3 "$MIHUA_SRC/tests/integration/sh_push_peer.py" 127.0.0.1 "$PORT" as1.ims.test <"$T_DIR/peer.in" \
        >"$T_DIR/peer.out" 2>"$T_DIR/peer.err" &
    PEER_PID=$!
    T_PIDS+=("$PEER_PID")
    exec 7>"$T_DIR/peer.in"
    wait_for "$T_DIR/peer.out" '^READY'
}
start_peer
peer() { echo "$*" >&7; }
events() { grep -c -- "$1" "$T_DIR/peer.out" || true; }
# expect_event PATTERN N: the Nth line matching PATTERN arrives.
expect_event() { wait_until "$PUSH_MS" bash -c "[ \$(grep -c -- '$1' '$T_DIR/peer.out') -ge $2 ]"; }
patch() {
    curl "${T_AUTH[@]}" -s --http2-prior-knowledge -X PATCH -H 'content-type: application/merge-patch+json' --data "$3" \
        -o /dev/null -w '%{http_code}' "$1/admin/v1/subscribers/$2"
}
subs_json() { curl "${T_AUTH[@]}" -s --http2-prior-knowledge "$HSS_ADMIN/admin/v1/sh-subscriptions" >"$T_DIR/subs.json"; }
n_subs() { subs_json; jget "$T_DIR/subs.json" "len(j['subscriptions'])"; }

# Subscribe user 1 (RepositoryData + IMSPublicIdentity) with the data now, asking 100000 s: granted at most MAX_S.
T0=$(date +%s)
peer "sub tel:+15550000001 0,10 sdi 100000"
check "SNA: success" expect_event 'SNA .*result=2001' 1
SNA=$(grep -m1 'SNA ' "$T_DIR/peer.out")
check "SNA: User-Data sent (Send-Data-Indication): subscribed, two IMPUs" grep -q 'voenc=1 impus=2' <<<"$SNA"
EXP=$(sed -E 's/.*expiry=([0-9]+).*/\1/' <<<"$SNA")
check "SNA: Expiry-Time granted no later than now + $MAX_S s" [ "$EXP" -le $((T0 + MAX_S + 2)) ]
check "SNA: Expiry-Time is that maximum (100000 s asked)" [ "$EXP" -ge $((T0 + MAX_S - 5)) ]
check "admin: the subscription is listed" [ "$(n_subs)" = 1 ]
check "admin: with its AS and Data-References" \
    [ "$(jget "$T_DIR/subs.json" "j['subscriptions'][0]['applicationServer'] + ' ' + ','.join(j['subscriptions'][0]['dataReferences'])")" = "as1.ims.test RepositoryData,IMSPublicIdentity" ]

# Refusals.
peer "sub tel:+15550000001 26"
check "SNR TADSinformation: 5104 USER_DATA_CANNOT_BE_NOTIFIED (table 7.6.1: Sh-Pull only)" expect_event 'SNA .*exp=5104' 1
peer "sub tel:+15550000001 17"
check "SNR MSISDN: 5104" expect_event 'SNA .*exp=5104' 2
peer "sub tel:+15550000001 99"
check "SNR unserved Data-Reference: 5100" expect_event 'SNA .*exp=5100' 1
peer "sub tel:+15559999999 0"
check "SNR unknown user: 5001" expect_event 'SNA .*exp=5001' 1
peer "unsub tel:+15550000002 0"
check "unsubscribe without a subscription: success (5106 is for absent Repository Data)" expect_event 'SNA .*result=2001' 2
check "admin: still one subscription" [ "$(n_subs)" = 1 ]

# A fault rule for SNR (lib/sim): the rule's Result-Code instead of the normal answer, nothing subscribed, and the
# exchange in the journal with the fault named.
admin_json() {
    curl "${T_AUTH[@]}" -s --http2-prior-knowledge -X "$1" -H 'content-type: application/json' ${3:+--data "$3"} \
        -o "$T_DIR/$4.json" -w '%{http_code}' "$HSS_ADMIN$2"
}
check "fault on SNR for user 2: 201" [ "$(admin_json POST /admin/v1/faults \
    '{"protocol":"diameter","action":"answer","resultCode":5012,"command":"SNR","subscriber":"001010000000002"}' fault)" = 201 ]
peer "sub tel:+15550000002 0"
check "SNR under the fault: DIAMETER_UNABLE_TO_COMPLY (5012), the rule's code" expect_event 'SNA .*result=5012' 1
check "admin: still one subscription (the faulted SNR subscribed nothing)" [ "$(n_subs)" = 1 ]
check "journal: 200" [ "$(admin_json GET '/admin/v1/exchanges?command=SNR&result=5012' '' snr_journal)" = 200 ]
check "journal: that SNR, its user, the fault named" [ "$(jget "$T_DIR/snr_journal.json" \
    "[(e['command'], e['identity'], e['fault'] == 'answer 5012') for e in j['exchanges']]")" = "[('SNR', 'tel:+15550000002', True)]" ]
check "the rule was used up (count 1)" \
    [ "$(admin_json GET /admin/v1/faults '' faults)$(jget "$T_DIR/faults.json" "len(j['faults'])")" = 2000 ]

# Changes: through the HSS admin API, through the UDM's (the other process), by a reload.
check "HSS admin: voice encryption off -> 200" [ "$(patch "$HSS_ADMIN" 001010000000001 '{"voice_encryption":false}')" = 200 ]
check "PNR after the HSS admin change: not subscribed" expect_event 'PNR user=tel:+15550000001 voenc=0' 1
check "UDM admin: voice encryption on -> 200" [ "$(patch "$UDM_ADMIN" 001010000000001 '{"voice_encryption":true}')" = 200 ]
check "PNR after the UDM's change (other process, same store): subscribed" expect_event 'PNR user=tel:+15550000001 voenc=1' 1
check "UDM admin: RAT to EUTRAN -> 200" [ "$(patch "$UDM_ADMIN" 001010000000001 '{"access":{"rat":"EUTRAN"}}')" = 200 ]
check "HSS admin: an IMPU removed -> 200" [ "$(patch "$HSS_ADMIN" 001010000000001 "{\"impu\":[\"tel:+15550000001\"]}")" = 200 ]
check "PNR after the IMPU change: one IMPU" expect_event 'PNR user=tel:+15550000001 voenc=1 impus=1' 1
check "no PNR for the RAT change (T-ADS is not subscribable)" [ "$(events 'PNR ')" = 3 ]
check "reload -> 200 (the file has voice encryption on, two IMPUs)" \
    [ "$(curl "${T_AUTH[@]}" -s --http2-prior-knowledge -X POST -o /dev/null -w '%{http_code}' "$HSS_ADMIN/admin/v1/reload")" = 200 ]
check "PNR after the reload: two IMPUs again" expect_event 'PNR user=tel:+15550000001 voenc=1 impus=2' 2

# A PNA refusing with DIAMETER_ERROR_USER_UNKNOWN drops the subscription.
peer "pna 5001"
check "HSS admin: voice encryption off -> 200" [ "$(patch "$HSS_ADMIN" 001010000000001 '{"voice_encryption":false}')" = 200 ]
check "PNR refused with 5001" expect_event 'PNR .*answered=5001' 1
check "the refused subscription is dropped" wait_until "$PUSH_MS" bash -c "[ \$(curl ${T_AUTH[*]} -s --http2-prior-knowledge '$HSS_ADMIN/admin/v1/sh-subscriptions' | grep -c as1.ims.test) = 0 ]"
check "metrics: the refusal counted" bash -c "curl ${T_AUTH[*]} -s --http2-prior-knowledge '$HSS_ADMIN/metrics' | grep -q '^mihua_hss_pnr_total{result=\"refused\"} 1'"
peer "pna 2001"

# Unsubscribe, then expiry: a subscription asked for 1 s is gone within the sweep.
peer "sub tel:+15550000002 0"
check "SNR user 2: success" expect_event 'SNA .*result=2001' 3
peer "unsub tel:+15550000002 0"
check "unsubscribe: success" expect_event 'SNA .*result=2001' 4
check "admin: no subscription left" [ "$(n_subs)" = 0 ]
peer "sub tel:+15550000002 0 1"
check "SNR for 1 s: success" expect_event 'SNA .*result=2001' 5
check "admin: listed" [ "$(n_subs)" = 1 ]
check "admin: gone once expired" wait_until 4000 bash -c "[ \$(curl ${T_AUTH[*]} -s --http2-prior-knowledge '$HSS_ADMIN/admin/v1/sh-subscriptions' | grep -c tel:+15550000002) = 0 ]"

# A restart drops every subscription.
peer "sub tel:+15550000001 0"
check "SNR before the restart: success" expect_event 'SNA .*result=2001' 6
check "SIGTERM: exit 0" stop_daemon "$hss_PID"
check "the peer sees the HSS go" wait_for "$T_DIR/peer.out" '^CLOSED'
start_hss
check "after the restart: no subscription" [ "$(n_subs)" = 0 ]
check "SIGTERM: exit 0" stop_daemon "$hss_PID"

kill -INT "$TSHARK_PID"
wait "$TSHARK_PID" || true
tshark -r "$T_DIR/sh.pcapng" -d "tcp.port==$PORT,diameter" -V >"$T_DIR/sh.txt" 2>&1 || true
check "wire: Subscribe-Notifications request and answer" \
    [ "$(grep -c 'Command Code: Subscribe-Notifications (308)' "$T_DIR/sh.txt")" -ge 20 ]
check "wire: Push-Notification request and answer" \
    [ "$(grep -c 'Command Code: Push-Notification (309)' "$T_DIR/sh.txt")" -ge 10 ]
check "wire: Subs-Req-Type, Send-Data-Indication, Expiry-Time named" \
    bash -c "grep -q 'AVP: Subs-Req-Type(705)' '$T_DIR/sh.txt' && grep -q 'AVP: Send-Data-Indication(710)' '$T_DIR/sh.txt' && grep -q 'AVP: Expiry-Time(709)' '$T_DIR/sh.txt'"
tshark -r "$T_DIR/sh.pcapng" -d "tcp.port==$PORT,diameter" -Y "_ws.malformed || _ws.expert.severity >= error" \
    >"$T_DIR/malformed.txt" 2>"$T_DIR/malformed.err"
check "wire: no malformed packet, no dissector error" [ ! -s "$T_DIR/malformed.txt" ]

finish
