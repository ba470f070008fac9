#!/usr/bin/env bash
# mihua-as behind a Diameter relay (DESIGN §3 "Diameter routing", §7; RFC 6733 §2.8, §6.1): freeDiameterd from
# Debian, started here as a pure relay (DRA) between mihua-as and mihua-hss. The AS's peer is the relay and the
# UDR's Destination-Host the HSS: calls are encrypted, an unsubscribed callee is plain for that reason. A
# misaddressed setup (Destination-Host = the relay, the old hss_identity conflation) gets 3007 from the relay,
# visible in the decision line, the call record and the metric. The relay restarts: calls are encrypted again
# (the recovery time is printed). mihua-probe through the relay gets the HSS's answer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ue_lib.sh"
. "$(dirname "$0")/diam_lib.sh"

IMPU1=sip:+15550000001@$MIHUA_TEST_DOMAIN
write_subs "1 true NR true" "2 true NR true" "3 false NR true"
net_up # the AS starts direct to the HSS (the shorthand, as before) ...
ue_call direct 1 2
expect_encrypted direct SM4_CM_128_HMAC_SM3_80

DRA_PORT=$(free_port)
check "freeDiameterd relay up and OPEN to the HSS" start_dra dra "$DRA_PORT" "hss.ims.test:$HSS_PORT"

# ... then behind the relay, with the peer list from the JSON config.
as_json "$T_DIR/as-relay.json" "\"diameter_peers\": [{\"addr\": \"127.0.0.1:$DRA_PORT\", \"identity\": \"dra.ims.test\"}],
    \"destination_host\": \"hss.ims.test\""
start_as_conf "$T_DIR/as-relay.json"
check "AS OPEN to the relay" wait_hss_open "$AS_SBI"
check "per-peer gauge: the relay is OPEN" [ "$(metric 'mihua_as_diameter_peer_open{peer="dra.ims.test"}')" = 1 ]
ue_call relay 1 2
expect_encrypted relay SM4_CM_128_HMAC_SM3_80
ue_call relay_unsub 1 3
expect_plain relay_unsub caller "callee not subscribed"

# --- the misaddressed setup: the shorthand with the relay's identity (Destination-Host = the relay) -------------------
start_as_conf "$MIHUA_SRC/conf/as.json" --hss "127.0.0.1:$DRA_PORT" --hss-identity dra.ims.test
check "AS OPEN to the relay (shorthand)" wait_hss_open "$AS_SBI"
UE_DUR=2 ue_call misaddressed 1 2 &
MIS_PID=$!
wait_for "$T_DIR/as.log" 'encryption=stripped'
CID=$(sed -nE 's/.*call ([^ ]+) caller=.*encryption=stripped.*/\1/p' "$T_DIR/as.log" | tail -1)
curl -s --http2-prior-knowledge "${T_AUTH[@]}" -o "$T_DIR/mis.record.json" -w '%{http_code} %{content_type}' \
    "$AS_SBI/as/v1/calls/$CID" >"$T_DIR/mis.record.st"
wait "$MIS_PID" || true
expect_plain misaddressed caller "lookup error"
check "decision line: hss_result=3007 hss_origin=dra.ims.test" \
    grep -Eq 'decision check=[0-9]+ .* hss_result=3007 hss_origin=dra\.ims\.test .*-> not allowed \(lookup error\)' \
    "$T_DIR/as.log"
check "call record: lookups.hss = 3007 from dra.ims.test, encryptionAllowed false" \
    [ "$(jget "$T_DIR/mis.record.json" "(j['lookups']['hss']['resultCode'], j['lookups']['hss']['originHost'], j['encryptionAllowed'])")" = "(3007, 'dra.ims.test', False)" ]
check "call record with lookups conforms to docs/openapi/mihua-as.yaml" openapi_conforms mihua-as.yaml GET \
    "$AS_SBI/as/v1/calls/$CID" $(cat "$T_DIR/mis.record.st") "$T_DIR/mis.record.json"
check "metric: mihua_as_diameter_errors_total{code=3007,origin_host=dra.ims.test} >= 1" \
    [ "$(metric 'mihua_as_diameter_errors_total{code="3007",origin_host="dra.ims.test"')" -ge 1 ]

# --- relay restart: back to encrypted; the time from the relay OPEN to the HSS until the AS is OPEN to it -------------
start_as_conf "$T_DIR/as-relay.json"
check "AS OPEN to the relay again" wait_hss_open "$AS_SBI"
check "relay: SIGTERM" stop_daemon "$dra_PID"
check "relay restarted, OPEN to the HSS" start_dra dra "$DRA_PORT" "hss.ims.test:$HSS_PORT"
T0=$(now_ms)
check "AS reconnected to the relay" wait_hss_open "$AS_SBI"
RECOVERY_MS=$(( $(now_ms) - T0 ))
echo "# relay restart: AS OPEN to the relay ${RECOVERY_MS} ms after the relay was OPEN to the HSS"
check "relay restart: recovered within 3 s ($RECOVERY_MS ms)" [ "$RECOVERY_MS" -le 3000 ]
ue_call relay_back 1 2
expect_encrypted relay_back SM4_CM_128_HMAC_SM3_80

# --- mihua-probe through the relay -------------------------------------------------------------------------------------
rc=0
"$MIHUA_BIN/mihua-probe" sh --peer "127.0.0.1:$DRA_PORT" --peer-identity dra.ims.test --dest-host hss.ims.test \
    --impu "$IMPU1" --json >"$T_DIR/probe.json" 2>"$T_DIR/probe.log" || rc=$?
check "probe via the relay: success (exit 0)" [ "$rc" = 0 ]
check "probe via the relay: the answer's Origin-Host is the HSS" [ "$(jget "$T_DIR/probe.json" "j['originHost']")" = hss.ims.test ]
rc=0
"$MIHUA_BIN/mihua-probe" sh --peer "127.0.0.1:$DRA_PORT" --peer-identity dra.ims.test --impu "$IMPU1" --json \
    >"$T_DIR/probe_realm.json" 2>>"$T_DIR/probe.log" || rc=$?
check "probe via the relay, Destination-Realm only: success from the HSS" \
    [ "$rc:$(jget "$T_DIR/probe_realm.json" "j['originHost']")" = 0:hss.ims.test ]
rc=0
"$MIHUA_BIN/mihua-probe" sh --hss "127.0.0.1:$DRA_PORT" --hss-host dra.ims.test --impu "$IMPU1" --json \
    >"$T_DIR/probe_mis.json" 2>>"$T_DIR/probe.log" || rc=$?
check "probe misaddressed (--hss-host = the relay): exit 3, 3007 from dra.ims.test" \
    [ "$rc:$(jget "$T_DIR/probe_mis.json" "(j['resultCode']['code'], j['originHost'])")" = "3:(3007, 'dra.ims.test')" ]
finish
