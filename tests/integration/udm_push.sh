#!/usr/bin/env bash
# mihua-udm Nudr data-change subscriptions (TS 29.504 subs-to-notify, TS 29.505 bodies) with foreign HTTP/2 peers:
# curl creates, queries and deletes subscriptions; nghttpd (nghttp2-server) is the callback server receiving
# DataChangeNotify. Bad bodies get 400 ProblemDetails with invalidParams, an unknown UE 404. Changes through the
# UDM's admin API and through the HSS's (another process sharing the store) are notified for
# operator-specific-data (REPLACE /voiceEncryption/value) and context-data/amf-3gpp-access (REMOVE / ADD); a change
# nobody monitors is not. A callback answering 404 ends its subscription. Every 201 body and every
# DataChangeNotify on the wire (read back by tshark from a capture on lo) validates against the 3GPP YAML
# (tests/openapi, python3-jsonschema).
. "$(dirname "$0")/lib.sh"

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
DB=$T_DIR/subscribers.db
VALIDATE="python3 $MIHUA_SRC/tests/openapi/validate.py $MIHUA_SRC/tests/openapi/TS29505_Subscription_Data.yaml"
PUSH_MS=2000 # a DataChangeNotify within this of the change (store poll 10 ms + watch 5 ms; generous when loaded)

CB_PORT=$(free_port)
GONE_PORT=$(free_port)
tshark -i lo -f "tcp port $CB_PORT" -w "$T_DIR/cb.pcapng" >"$T_DIR/tshark.log" 2>&1 &
TSHARK_PID=$!
T_PIDS+=("$TSHARK_PID")
wait_for "$T_DIR/tshark.log" "Capturing on"

# Callback servers: nghttpd answers 200 with the upload echoed; the second one has no such path (404).
mkdir -p "$T_DIR/htdocs" "$T_DIR/empty"
nghttpd --no-tls --echo-upload -v -d "$T_DIR/htdocs" "$CB_PORT" >"$T_DIR/nghttpd.out" 2>&1 &
T_PIDS+=($!)
nghttpd --no-tls -d "$T_DIR/empty" "$GONE_PORT" >"$T_DIR/nghttpd-gone.out" 2>&1 &
T_PIDS+=($!)
wait_until 5000 bash -c "ss -ltn | grep -q ':$CB_PORT ' && ss -ltn | grep -q ':$GONE_PORT '"

start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" --store "$DB" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --subs-max-s 600
UDM_SBI=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) .*/\1/p' "$T_DIR/udm.out")
UDM_ADMIN=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/udm.out")
start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --store "$DB" \
    --port "$(free_port)" --admin-listen 127.0.0.1:0
HSS_ADMIN=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/hss.out")

NUDR=$UDM_SBI/nudr-dr/v2/subscription-data
OSD1=$NUDR/msisdn-15550000001/operator-specific-data
AMF1=$NUDR/msisdn-15550000001/context-data/amf-3gpp-access
# post NAME BODY: POST subs-to-notify; body in NAME.json, headers in NAME.h, status printed.
post() {
    curl -s --http2-prior-knowledge -H 'content-type: application/json' --data "$2" -D "$T_DIR/$1.h" \
        -o "$T_DIR/$1.json" -w '%{http_code}' "$NUDR/subs-to-notify"
}
patch() {
    curl "${T_AUTH[@]}" -s --http2-prior-knowledge -X PATCH -H 'content-type: application/merge-patch+json' --data "$3" \
        -o /dev/null -w '%{http_code}' "$1/admin/v1/subscribers/$2"
}
notified() { grep -c 'DataChangeNotify subscription' "$T_DIR/udm.log" || true; }
wait_notified() { wait_until "$PUSH_MS" bash -c "[ \$(grep -c 'DataChangeNotify subscription' '$T_DIR/udm.log') -ge $1 ]"; }
is() { [ "$(jget "$T_DIR/$1.json" "$2")" = "$3" ] || { echo "  $1: $2 = $(jget "$T_DIR/$1.json" "$2" 2>&1), want $3" >&2; return 1; }; }

# Create: operator-specific-data and the AMF registration of user 1, asking for a day (granted 600 s).
BODY='{"ueId":"msisdn-15550000001","callbackReference":"http://127.0.0.1:'$CB_PORT'/as/cb/1",
  "monitoredResourceUris":["'$OSD1'","'$AMF1'"],"expiry":"2099-01-01T00:00:00Z"}'
T0=$(date +%s)
check "POST subs-to-notify: 201" [ "$(post created "$BODY")" = 201 ]
SUBS_ID=$(jget "$T_DIR/created.json" "j['subscriptionId']")
check "201: Location names the new resource" grep -qi "^location: $NUDR/subs-to-notify/$SUBS_ID" "$T_DIR/created.h"
check "201: the body is a valid SubscriptionDataSubscriptions (TS29505 YAML)" \
    $VALIDATE SubscriptionDataSubscriptions "$T_DIR/created.json"
EXP=$(date -d "$(jget "$T_DIR/created.json" "j['expiry']")" +%s)
check "201: expiry granted at most now + 600 s" [ "$EXP" -le $((T0 + 602)) ] 
check "201: expiry is that maximum (a later one was asked)" [ "$EXP" -ge $((T0 + 595)) ]

# Bad bodies: 400 ProblemDetails with invalidParams naming the member.
check "no callbackReference: 400" [ "$(post bad1 '{"monitoredResourceUris":["'$OSD1'"]}')" = 400 ]
check "no callbackReference: invalidParams /callbackReference" is bad1 "j['invalidParams'][0]['param']" /callbackReference
check "a resource that cannot be monitored: 400" \
    [ "$(post bad2 '{"callbackReference":"http://127.0.0.1:1/x","monitoredResourceUris":["'$NUDR'/imsi-001010000000001/am-data"]}')" = 400 ]
check "a resource that cannot be monitored: invalidParams /monitoredResourceUris/0" is bad2 "j['invalidParams'][0]['param']" /monitoredResourceUris/0
check "monitoredResourceUris not an array: 400" [ "$(post bad3 '{"callbackReference":"http://127.0.0.1:1/x","monitoredResourceUris":"x"}')" = 400 ]
check "expiry not a date-time: 400 naming /expiry" \
    bash -c "[ \"\$(curl -s --http2-prior-knowledge -H 'content-type: application/json' --data '{\"callbackReference\":\"http://127.0.0.1:1/x\",\"monitoredResourceUris\":[\"$OSD1\"],\"expiry\":\"tomorrow\"}' '$NUDR/subs-to-notify' | grep -c '\"/expiry\"')\" = 1 ]"
check "ProblemDetails content type" grep -qi '^content-type: application/problem+json' "$T_DIR/bad1.h"
check "unknown UE: 404 USER_NOT_FOUND" \
    [ "$(post unknown '{"callbackReference":"http://127.0.0.1:1/x","monitoredResourceUris":["'$NUDR'/msisdn-15559999999/operator-specific-data"]}')" = 404 ]
check "GET ?ue-id lists the subscription" \
    bash -c "curl -s --http2-prior-knowledge '$NUDR/subs-to-notify?ue-id=msisdn-15550000001' | grep -q '\"subscriptionId\":\"$SUBS_ID\"'"

# Changes.
check "UDM admin: voice encryption off -> 200" [ "$(patch "$UDM_ADMIN" 001010000000001 '{"voice_encryption":false}')" = 200 ]
check "DataChangeNotify after the UDM's change" wait_notified 1
check "HSS admin (another process): RAT to EUTRAN -> 200" [ "$(patch "$HSS_ADMIN" 001010000000001 '{"access":{"rat":"EUTRAN"}}')" = 200 ]
check "DataChangeNotify after the HSS's change" wait_notified 2
check "HSS admin: an IMPU removed -> 200 (nobody monitors IMPUs)" [ "$(patch "$HSS_ADMIN" 001010000000001 '{"impu":["tel:+15550000001"]}')" = 200 ]
check "HSS admin: RAT back to NR -> 200" [ "$(patch "$HSS_ADMIN" 001010000000001 '{"access":{"rat":"NR"}}')" = 200 ]
check "DataChangeNotify after the RAT change" wait_notified 3
check "nothing notified for the IMPU change" [ "$(notified)" = 3 ]
check "every notification answered by nghttpd" \
    wait_until "$PUSH_MS" bash -c "curl ${T_AUTH[*]} -s --http2-prior-knowledge '$UDM_ADMIN/metrics' | grep -q '^mihua_udm_data_change_notify_total{result=\"success\"} 3'"

# A callback that answers 404 ends its subscription.
check "POST with a callback that does not exist: 201" \
    [ "$(post gone '{"callbackReference":"http://127.0.0.1:'$GONE_PORT'/nobody","monitoredResourceUris":["'$NUDR'/imsi-001010000000002/operator-specific-data"]}')" = 201 ]
GONE_ID=$(jget "$T_DIR/gone.json" "j['subscriptionId']")
check "UDM admin: user 2 voice encryption off -> 200" [ "$(patch "$UDM_ADMIN" 001010000000002 '{"voice_encryption":false}')" = 200 ]
check "the 404 counted as gone" \
    wait_until "$PUSH_MS" bash -c "curl ${T_AUTH[*]} -s --http2-prior-knowledge '$UDM_ADMIN/metrics' | grep -q '^mihua_udm_data_change_notify_total{result=\"gone\"} 1'"
check "DELETE of the ended subscription: 404" \
    [ "$(curl -s --http2-prior-knowledge -X DELETE -o /dev/null -w '%{http_code}' "$NUDR/subs-to-notify/$GONE_ID")" = 404 ]

check "DELETE: 204" [ "$(curl -s --http2-prior-knowledge -X DELETE -o /dev/null -w '%{http_code}' "$NUDR/subs-to-notify/$SUBS_ID")" = 204 ]
check "DELETE again: 404" [ "$(curl -s --http2-prior-knowledge -X DELETE -o /dev/null -w '%{http_code}' "$NUDR/subs-to-notify/$SUBS_ID")" = 404 ]
check "UDM admin: voice encryption on -> 200" [ "$(patch "$UDM_ADMIN" 001010000000001 '{"voice_encryption":true}')" = 200 ]
# A fresh subscription on the same resource, then one more change: once it is notified, the deleted one would
# have been too.
check "a second subscription on user 1: 201" \
    [ "$(post again '{"callbackReference":"http://127.0.0.1:'$GONE_PORT'/nobody","monitoredResourceUris":["'$OSD1'"]}')" = 201 ]
check "UDM admin: voice encryption off -> 200" [ "$(patch "$UDM_ADMIN" 001010000000001 '{"voice_encryption":false}')" = 200 ]
check "the second subscription is notified" wait_notified 5
check "the deleted one is not (3 notifications in all)" [ "$(grep -c "DataChangeNotify subscription=$SUBS_ID " "$T_DIR/udm.log")" = 3 ]
check "SIGTERM: exit 0" stop_daemon "$udm_PID"

# The wire: the DataChangeNotify bodies nghttpd received, read back by tshark, against the YAML.
kill -INT "$TSHARK_PID"
wait "$TSHARK_PID" || true
tshark -r "$T_DIR/cb.pcapng" -d "tcp.port==$CB_PORT,http2" -Y 'http2.data.data && http2.streamid % 2 == 1 && tcp.dstport == '$CB_PORT \
    -T fields -e http2.data.data >"$T_DIR/dcn.hex" 2>"$T_DIR/dcn.err" || true
i=0
while read -r hex; do
    i=$((i + 1))
    python3 -c 'import sys; print(bytes.fromhex(sys.argv[1].replace(":", "")).decode())' "$hex" >"$T_DIR/dcn$i.json"
done <"$T_DIR/dcn.hex"
check "wire: three DataChangeNotify bodies to the callback" [ "$i" = 3 ]
check "wire: each a valid DataChangeNotify (TS29505 YAML)" $VALIDATE DataChangeNotify "$T_DIR"/dcn[0-9]*.json
check "wire: first says voiceEncryption true -> false" \
    is dcn1 "[(c['op'], c['path'], c['origValue'], c['newValue']) for c in j['notifyItems'][0]['changes']]" \
    "[('REPLACE', '/voiceEncryption/value', True, False)]"
check "wire: first names the monitored resource" is dcn1 "j['notifyItems'][0]['resourceId']" "$OSD1"
check "wire: EUTRAN removes the 5GS registration" is dcn2 "j['notifyItems'][0]['changes'][0]['op'] + ' ' + j['notifyItems'][0]['resourceId']" "REMOVE $AMF1"
check "wire: NR adds it back with ratType NR" is dcn3 "j['notifyItems'][0]['changes'][0]['op'] + ' ' + j['notifyItems'][0]['changes'][0]['newValue']['ratType']" "ADD NR"

finish
