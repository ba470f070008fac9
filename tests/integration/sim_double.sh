#!/usr/bin/env bash
# The simulators as CI test doubles (DESIGN §8): the request journal (GET/DELETE /admin/v1/exchanges) and fault
# injection (/admin/v1/faults) of mihua-hss and mihua-udm, over the wire. SBI traffic comes from curl (a foreign
# HTTP/2 client: a reset stream is curl's exit 92); Diameter from mihua-probe and from the raw Sh client written
# from the byte layouts (its UDR without User-Identity is answered by freeDiameter itself, and journalled too).
. "$(dirname "$0")/lib.sh"

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
PORT=$(free_port)
start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$PORT" \
    --admin-listen 127.0.0.1:0 --journal-size 50
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --journal-size 3
HA=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/hss.out")
UA=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/udm.out")
SBI=$(sed -nE 's/^READY .* sbi=(http:[^ ]+) .*/\1/p' "$T_DIR/udm.out")

# admin NAME METHOD URL [BODY]: answer into NAME.json, "status content-type" into NAME.st
admin() {
    local name=$1 method=$2 url=$3 body=${4-}
    local args=(-s --http2-prior-knowledge -X "$method" -o "$T_DIR/$name.json" -w '%{http_code} %{content_type}')
    [ -n "$body" ] && args+=(-H 'content-type: application/json' --data-binary "$body")
    curl "${args[@]}" "${T_AUTH[@]}" "$url" >"$T_DIR/$name.st"
    # every answer is checked against the published OpenAPI document; failures are counted at the end
    python3 "$MIHUA_SRC/tests/integration/openapi_check.py" "$MIHUA_SRC/docs/openapi/mihua-sim-admin.yaml" \
        "$method" "/${url#http*://*/}" $(cut -d' ' -f1 "$T_DIR/$name.st") "$(cut -d' ' -s -f2 "$T_DIR/$name.st")" \
        "$T_DIR/$name.json" 2>>"$T_DIR/openapi.fail" || echo "$name" >>"$T_DIR/openapi.bad"
    echo "$name" >>"$T_DIR/openapi.checked"
}
st() { cut -d' ' -f1 "$T_DIR/$1.st"; }
is() { [ "$(jget "$T_DIR/$1.json" "$2")" = "$3" ] || { echo "  $1: $2 = $(jget "$T_DIR/$1.json" "$2" 2>&1), want $3" >&2; return 1; }; }
probe() { # probe NAME IMPU DATA-REFS [TIMEOUT_MS]: the JSON answer in NAME.json, exit code in NAME.rc
    local rc=0 # the timeout covers the connection too: generous, a busy machine may take a second for the CER
    "$MIHUA_BIN/mihua-probe" sh --hss "127.0.0.1:$PORT" --impu "$2" --data-ref "$3" --json --timeout-ms "${4:-10000}" \
        >"$T_DIR/$1.json" 2>"$T_DIR/$1.err" || rc=$?
    echo "$rc" >"$T_DIR/$1.rc"
}
rcode() { jget "$T_DIR/$1.json" "j['resultCode']['code']"; }
sbi() { # sbi NAME PATH: curl's exit code in NAME.rc, "status content-type time retry-after" in NAME.st
    local rc=0
    curl -s --http2-prior-knowledge -o "$T_DIR/$1.json" -D "$T_DIR/$1.hdr" \
        -w '%{http_code} %{content_type} %{time_total}' "$SBI$2" >"$T_DIR/$1.st" || rc=$?
    echo "$rc" >"$T_DIR/$1.rc"
}
AMF=/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access

echo "# Diameter journal"
probe ok tel:+15550000001 tads,repository-data
probe unknown tel:+19990000009 tads
python3 "$MIHUA_SRC/tests/integration/sh_raw_client.py" 127.0.0.1 "$PORT" >"$T_DIR/raw.out" 2>&1 || true
admin j1 GET "$HA/admin/v1/exchanges?identity=tel:%2B15550000001"
check "journal: one UDR for user 1, 2001, its Data-References 26 and 0 decoded" is j1 \
    "[(e['command'], e['result'], sorted(a['value'] for a in e['request']['avps'] if a.get('name') == 'Data-Reference')) for e in j['exchanges'] if e['peer'].startswith('probe-')]" \
    "[('UDR', 2001, [0, 26])]"
check "journal: peer is the probe's Origin-Host, latency measured" is j1 \
    "(j['exchanges'][0]['peer'].startswith('probe-'), 0 < j['exchanges'][0]['latencyMs'] < 1000)" "(True, True)"
admin j2 GET "$HA/admin/v1/exchanges?result=5001"
check "journal: the unknown user's 5001, flagged experimental" is j2 \
    "[(e['identity'], e['experimental']) for e in j['exchanges']]" "[('tel:+19990000009', True)]"
admin j3 GET "$HA/admin/v1/exchanges?result=5005"
check "journal: freeDiameter's own 5005 answers (raw client, missing AVPs) are there too" is j3 \
    "len(j['exchanges']) >= 2 and all(e['command'] == 'UDR' for e in j['exchanges'])" True
admin j4 GET "$HA/admin/v1/exchanges?command=CER"
check "journal: capabilities exchange left out" is j4 "len(j['exchanges'])" 0
LAST=$(jget "$T_DIR/j1.json" "j['lastId']")

echo "# Diameter faults"
admin f1 POST "$HA/admin/v1/faults" '{"protocol":"diameter","action":"answer","resultCode":3004,"subscriber":"001010000000001","count":2}'
check "fault set: 201 with Location" [ "$(st f1)" = 201 ]
probe fa1 tel:+15550000001 tads
probe fa2 sip:+15550000001@$MIHUA_TEST_DOMAIN tads
probe fa3 tel:+15550000001 tads
probe fb tel:+15550000002 tads
check "answer fault: 3004 twice for user 1 (by IMSI, whatever identity the UDR names), then served again" \
    [ "$(rcode fa1) $(rcode fa2) $(rcode fa3)" = "3004 3004 2001" ]
check "answer fault: user 2 untouched" [ "$(rcode fb)" = 2001 ]
admin f2 POST "$HA/admin/v1/faults" '{"protocol":"diameter","action":"answer","experimentalResultCode":5001}'
probe fe tel:+15550000002 tads
check "experimental fault: 5001 in Experimental-Result" is fe "j['experimentalResult']['code']" 5001
admin f3 POST "$HA/admin/v1/faults" '{"protocol":"diameter","action":"delay","delayMs":400}'
probe fd tel:+15550000002 tads
check "delay fault: answered 2001 after at least 400 ms (probe's clock)" is fd "(j['resultCode']['code'], j['latencyMs'] >= 400)" "(2001, True)"
admin f4 POST "$HA/admin/v1/faults" '{"protocol":"diameter","action":"drop"}'
probe fdrop tel:+15550000002 tads 8000 # waits it all out: generous for the connection on a loaded machine
check "drop fault: no answer (probe exit 1, connected but unanswered)" \
    [ "$(cat "$T_DIR/fdrop.rc") $(grep -c 'no answer from' "$T_DIR/fdrop.err")" = "1 1" ]
admin f5 POST "$HA/admin/v1/faults" '{"protocol":"diameter","action":"close"}'
probe fclose tel:+15550000002 tads 8000
check "close fault: no answer from the HSS" [ "$(jget "$T_DIR/fclose.json" "j.get('originHost')" 2>/dev/null || echo none)" != hss.ims.test ]
wait_for "$T_DIR/hss.log" "fault [0-9]+: the peer's connection shut down" 5
check "close fault: the HSS shut the peer's connection down" grep -q "the peer's connection shut down" "$T_DIR/hss.log"
probe after tel:+15550000002 tads
check "after the faults: served normally" [ "$(rcode after)" = 2001 ]
admin jf GET "$HA/admin/v1/exchanges?since=$LAST"
check "journal: each fault shows in its exchange" is jf "[(e['result'], e.get('fault')) for e in j['exchanges']]" \
    "[(3004, 'answer 3004'), (3004, 'answer 3004'), (2001, None), (2001, None), (5001, 'answer experimental 5001'), (2001, 'delay 400ms'), (0, 'drop'), (0, 'close'), (2001, None)]"
check "journal: the delayed exchange's latency includes the delay" is jf \
    "[e['latencyMs'] >= 400 for e in j['exchanges'] if e.get('fault') == 'delay 400ms']" "[True]"
admin fl GET "$HA/admin/v1/faults"
check "faults: every rule used up" is fl "j['faults']" "[]"
admin bad POST "$HA/admin/v1/faults" '{"protocol":"diameter","action":"reset"}'
check "bad rule: 400 naming the member" is bad "(j['status'], j['invalidParams'][0]['param'])" "(400, 'action')"
admin bad2 POST "$HA/admin/v1/faults" '{"protocol":"diameter","action":"answer","resultCode":2001,"colour":1}'
check "unknown member: 400 naming it" is bad2 "j['invalidParams'][0]['param']" colour
admin d1 POST "$HA/admin/v1/faults" '{"protocol":"diameter","action":"drop","durationMs":60000}'
ID=$(jget "$T_DIR/d1.json" "j['id']")
admin d2 DELETE "$HA/admin/v1/faults/$ID"
admin d3 DELETE "$HA/admin/v1/faults/$ID"
check "a rule with a duration is deleted by id (204), then 404" [ "$(st d2) $(st d3)" = "204 404" ]
admin clr DELETE "$HA/admin/v1/exchanges"
admin empty GET "$HA/admin/v1/exchanges"
check "DELETE clears the journal; ids go on" is empty "(len(j['exchanges']), j['lastId'] > 0)" "(0, True)"

echo "# SBI journal and faults"
sbi s1 "$AMF"
admin u1 GET "$UA/admin/v1/exchanges"
check "SBI journal: method, path, status, content type, body SHA-256 of what curl got" is u1 \
    "[(e['command'], e['path'], e['result'], e['contentType'], e['bodySha256']) for e in j['exchanges']]" \
    "[('GET', '$AMF', 200, 'application/json', '$(sha256sum "$T_DIR/s1.json" | cut -d' ' -f1)')]"
admin g1 POST "$UA/admin/v1/faults" '{"protocol":"sbi","action":"answer","status":503,"cause":"NF_CONGESTION","retryAfter":2,"command":"/nudm-uecm/"}'
sbi s2 /nudm-sdm/v2/imsi-001010000000001/am-data
sbi s3 "$AMF"
check "503 fault: only on its path prefix; ProblemDetails + Retry-After: 2" \
    [ "$(st s2) $(st s3) $(jget "$T_DIR/s3.json" "j['cause']") $(grep -ci '^retry-after: 2' "$T_DIR/s3.hdr")" = "200 503 NF_CONGESTION 1" ]
admin g2 POST "$UA/admin/v1/faults" '{"protocol":"sbi","action":"answer","status":404,"cause":"USER_NOT_FOUND","subscriber":"001010000000002"}'
sbi s4 /nudm-uecm/v1/msisdn-15550000002/registrations/amf-3gpp-access
check "404 USER_NOT_FOUND for user 2 named by MSISDN (resolved to its IMSI)" \
    [ "$(cut -d' ' -f1,2 "$T_DIR/s4.st") $(jget "$T_DIR/s4.json" "j['cause']")" = "404 application/problem+json USER_NOT_FOUND" ]
admin g3 POST "$UA/admin/v1/faults" '{"protocol":"sbi","action":"delay","delayMs":300}'
sbi s5 "$AMF"
check "delay fault: 200 after at least 0.3 s (curl's clock)" \
    python3 -c 'import sys; s, ct, t = open(sys.argv[1]).read().split(); sys.exit(not (s == "200" and float(t) >= 0.3))' "$T_DIR/s5.st"
admin g4 POST "$UA/admin/v1/faults" '{"protocol":"sbi","action":"reset"}'
sbi s6 "$AMF"
check "reset fault: curl sees the stream reset (exit 92, HTTP/2 stream error)" [ "$(cat "$T_DIR/s6.rc")" = 92 ]
sbi s7 "$AMF"
check "after the faults: 200" [ "$(st s7)" = 200 ]
admin u2 GET "$UA/admin/v1/exchanges"
check "SBI journal bounded at --journal-size 3, oldest gone, counted in dropped" is u2 \
    "(len(j['exchanges']), j['dropped'], [(e['result'], e.get('fault')) for e in j['exchanges']])" \
    "(3, 4, [(200, 'delay 300ms'), (0, 'reset'), (200, None)])"
admin u3 GET "$UA/admin/v1/exchanges?since=2026-01-01T00:00:00Z&result=0"
check "filters: since (a time) and result together" is u3 "[e.get('fault') for e in j['exchanges']]" "['reset']"
admin u4 GET "$UA/admin/v1/exchanges?since=yesterday"
check "bad filter: 400 naming it" is u4 "(j['status'], j['invalidParams'][0]['param'])" "(400, 'since')"

check "every admin answer ($(wc -l <"$T_DIR/openapi.checked")) conforms to docs/openapi/mihua-sim-admin.yaml" \
    all '[ ! -s "$T_DIR/openapi.bad" ]' '[ "$(wc -l <"$T_DIR/openapi.checked")" -ge 20 ]'
[ ! -s "$T_DIR/openapi.fail" ] || cat "$T_DIR/openapi.fail" >&2
check "both daemons still serving" kill -0 "$hss_PID" "$udm_PID"
finish
