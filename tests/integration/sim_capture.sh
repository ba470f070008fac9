#!/usr/bin/env bash
# Packet captures through the simulators' admin API (/admin/v1/captures, lib/sim/sim_capture) and `mihua-probe sh
# --pcap`: dumpcap started on the simulator's own port, Sh and SBI exchanges made, the capture stopped and
# downloaded, and tshark (a foreign decoder) finds the UDR/UDA and the HTTP/2 headers in it (TLS decrypted with
# the secrets the UDM embedded, no key file given) with no malformed packet. Also: bearer token required, 409
# while one runs, 409 without dumpcap, bounds checked and enforced by dumpcap, no dumpcap left when the daemon
# exits, every answer checked against docs/openapi/mihua-sim-admin.yaml.
. "$(dirname "$0")/lib.sh"

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
"$MIHUA_SRC/scripts/gen-test-certs" "$T_DIR/certs" udm >/dev/null
PORT=$(free_port)
start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$PORT" \
    --admin-listen 127.0.0.1:0
cat >"$T_DIR/udm.json" <<JSON
{ "listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "subscribers": "$SUBS",
  "tls": { "cert": "$T_DIR/certs/udm.pem", "key": "$T_DIR/certs/udm.key" } }
JSON
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$T_DIR/udm.json"
HA=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/hss.out")
UA=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/udm.out")
SBI=$(sed -nE 's/^READY .* sbi=(https:[^ ]+) .*/\1/p' "$T_DIR/udm.out")

# admin NAME METHOD URL [BODY]: answer into NAME.body, "status content-type" into NAME.st, checked against the
# OpenAPI document (failures counted at the end).
admin() {
    local name=$1 method=$2 url=$3 body=${4-}
    local args=(-s --http2-prior-knowledge -X "$method" -o "$T_DIR/$name.body" -D "$T_DIR/$name.hdr"
                -w '%{http_code} %{content_type}')
    [ -n "$body" ] && args+=(-H 'content-type: application/json' --data-binary "$body")
    curl "${args[@]}" "${T_AUTH[@]}" "$url" >"$T_DIR/$name.st"
    python3 "$MIHUA_SRC/tests/integration/openapi_check.py" "$MIHUA_SRC/docs/openapi/mihua-sim-admin.yaml" \
        "$method" "/${url#http*://*/}" "$(st "$name")" "$(cut -d' ' -s -f2 "$T_DIR/$name.st")" "$T_DIR/$name.body" \
        2>>"$T_DIR/openapi.fail" || echo "$name" >>"$T_DIR/openapi.bad"
    echo "$name" >>"$T_DIR/openapi.checked"
}
st() { cut -d' ' -f1 "$T_DIR/$1.st"; }
ctype() { cut -d' ' -s -f2 "$T_DIR/$1.st"; }
val() { jget "$T_DIR/$1.body" "$2"; }
probe() { # probe NAME IMPU [ARGS...]: one UDR, exit code in NAME.rc
    local name=$1 impu=$2 rc=0
    shift 2
    "$MIHUA_BIN/mihua-probe" sh --hss "127.0.0.1:$PORT" --impu "$impu" --data-ref tads --json --timeout-ms 10000 \
        "$@" >"$T_DIR/$name.json" 2>"$T_DIR/$name.err" || rc=$?
    echo "$rc" >"$T_DIR/$name.rc"
}
packets() { admin "pk$1" GET "$2/admin/v1/captures/$1" && [ "$(val "pk$1" "j['packets']")" -ge "$3" ]; }
# no_malformed FILE [tshark args]: nothing malformed and no dissector error in FILE
no_malformed() {
    local file=$1
    shift
    tshark -r "$file" "$@" -Y "_ws.malformed || _ws.expert.severity >= error" >"$file.bad" 2>"$file.err" && [ ! -s "$file.bad" ]
}

echo "# the token is required, bodies are checked"
check "no bearer token: 401" [ "$(curl -s --http2-prior-knowledge -X POST -o /dev/null -w '%{http_code}' \
    "$HA/admin/v1/captures")" = 401 ]
admin bad1 POST "$HA/admin/v1/captures" '{"maxBytes":0}'
check "maxBytes 0: 400 naming maxBytes" [ "$(st bad1) $(val bad1 "j['invalidParams'][0]['param']")" = "400 maxBytes" ]
admin bad2 POST "$HA/admin/v1/captures" '{"maxSeconds":3601}'
check "maxSeconds over the bound: 400" [ "$(st bad2)" = 400 ]
admin bad3 POST "$HA/admin/v1/captures" '{"interface":"eth0"}'
check "unknown member: 400 naming it" [ "$(st bad3) $(val bad3 "j['invalidParams'][0]['param']")" = "400 interface" ]
admin none GET "$HA/admin/v1/captures/7"
check "unknown capture: 404" [ "$(st none)" = 404 ]

echo "# Diameter (mihua-hss)"
admin h1 POST "$HA/admin/v1/captures" '{"maxSeconds":600}'
check "start: 201 capturing the Diameter port, Location names it" \
    [ "$(st h1) $(val h1 "j['state'], j['ports'], j['maxSeconds']") $(grep -i '^location:' "$T_DIR/h1.hdr" | tr -d '\r')" = \
      "201 ('capturing', [$PORT], 600) location: /admin/v1/captures/1" ]
admin h2 POST "$HA/admin/v1/captures"
check "a second one while it runs: 409 CAPTURE_RUNNING" [ "$(st h2) $(ctype h2) $(val h2 "j['cause']")" = \
    "409 application/problem+json CAPTURE_RUNNING" ]
probe p1 tel:+15550000001 --pcap "$T_DIR/probe.pcapng"
probe p2 tel:+19990000009
check "probe: 2001 for user 1, 5001 for the unknown user" [ "$(cat "$T_DIR/p1.rc") $(cat "$T_DIR/p2.rc")" = "0 3" ]
# dumpcap writes as the kernel hands packets over; it runs at the test's nice 19, so on a loaded machine that
# can take many seconds: a generous bound.
check "the packet count grows while capturing (two CER/CEA and UDR/UDA pairs at least)" wait_until 60000 packets 1 "$HA" 8
admin h3 GET "$HA/admin/v1/captures/1/file"
check "no download while capturing: 409" [ "$(st h3)" = 409 ]
admin h4 DELETE "$HA/admin/v1/captures/1"
check "stop: 200 stopped on request, bytes and packets counted" \
    [ "$(st h4) $(val h4 "j['state'], j['stopReason'], j['bytes'] > 0, j['packets'] >= 8, 'tlsSecrets' in j")" = \
      "200 ('stopped', 'request', True, True, False)" ]
admin h5 GET "$HA/admin/v1/captures/1/file"
check "download: 200 application/vnd.tcpdump.pcap" [ "$(st h5) $(ctype h5)" = "200 application/vnd.tcpdump.pcap" ]
check "download: the file as it is on the simulator" cmp -s "$T_DIR/h5.body" "$(val h4 "j['file']")"
tshark -r "$T_DIR/h5.body" -d "tcp.port==$PORT,diameter" -Y diameter -T fields -e diameter.cmd.code \
    -e diameter.flags.request -e diameter.Result-Code -e diameter.Experimental-Result-Code >"$T_DIR/h5.txt" 2>&1 || true
check "tshark: UDR and UDA 2001 for user 1, UDA 5001 for the unknown one" \
    all 'grep -qP "^306\tTrue\t" "$T_DIR/h5.txt" || grep -qP "^306\t1\t" "$T_DIR/h5.txt"' \
        'grep -qP "^306\t(False|0)\t2001" "$T_DIR/h5.txt"' 'grep -qP "^306\t(False|0)\t\t5001" "$T_DIR/h5.txt"'
check "tshark: no malformed packet in the simulator's capture" no_malformed "$T_DIR/h5.body" -d "tcp.port==$PORT,diameter"
check "probe --pcap: says where the capture is" grep -q "capture in .*probe.pcapng" "$T_DIR/p1.err"
tshark -r "$T_DIR/probe.pcapng" -d "tcp.port==$PORT,diameter" -Y diameter -T fields -e diameter.cmd.code \
    -e diameter.flags.request >"$T_DIR/probe.txt" 2>&1 || true
check "probe --pcap: CER/CEA and UDR/UDA in the probe's own file" \
    [ "$(grep -cP '^257\t' "$T_DIR/probe.txt") $(grep -cP '^306\t' "$T_DIR/probe.txt")" = "2 2" ]
check "probe --pcap: no malformed packet" no_malformed "$T_DIR/probe.pcapng" -d "tcp.port==$PORT,diameter"

admin h6 POST "$HA/admin/v1/captures" '{"maxSeconds":1}'
check "a one-second capture starts (the last one stopped)" [ "$(st h6) $(val h6 "j['id']")" = "201 2" ]
check "dumpcap ends it at the bound: stopped by the limit" \
    wait_until 60000 bash -c "curl -s --http2-prior-knowledge ${T_AUTH[*]} '$HA/admin/v1/captures/2' | grep -q '\"stopReason\":\"limit\"'"
admin h7 GET "$HA/admin/v1/captures"
check "list: both captures, oldest first" [ "$(val h7 "[(c['id'], c['state']) for c in j['captures']]")" = \
    "[(1, 'stopped'), (2, 'stopped')]" ]

echo "# HTTP/2 over TLS (mihua-udm)"
admin u1 POST "$UA/admin/v1/captures"
check "start: 201 on the SBI port" [ "$(st u1) $(val u1 "j['ports'] == [int('${SBI##*:}')]")" = "201 True" ]
curl -s --http2 --tlsv1.3 --cacert "$T_DIR/certs/ca.pem" -o "$T_DIR/amf.json" -w '%{http_code}' \
    "$SBI/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access" >"$T_DIR/amf.st" || true
check "curl over TLS: 200" [ "$(cat "$T_DIR/amf.st")" = 200 ]
check "the packet count grows while capturing (handshake, request, answer)" wait_until 60000 packets 1 "$UA" 10
admin u2 DELETE "$UA/admin/v1/captures/1"
check "stop: the session secrets embedded" [ "$(st u2) $(val u2 "j['tlsSecrets']")" = "200 embedded" ]
admin u3 GET "$UA/admin/v1/captures/1/file"
check "download: 200" [ "$(st u3)" = 200 ]
tshark -r "$T_DIR/u3.body" -Y http2.header -T fields -e http2.headers.path -e http2.headers.status \
    >"$T_DIR/u3.txt" 2>&1 || true
check "tshark decrypts it (no key file given): the request path and the 200" \
    all 'grep -q "/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access" "$T_DIR/u3.txt"' \
        'grep -qP "\t200$" "$T_DIR/u3.txt"'
check "tshark: no malformed packet" no_malformed "$T_DIR/u3.body"

echo "# exit with a capture running; a daemon without dumpcap"
admin u4 POST "$UA/admin/v1/captures"
check "a capture runs" [ "$(st u4)" = 201 ]
DUMPCAP_PID=$(pgrep -P "$udm_PID" dumpcap || true)
check "dumpcap is the daemon's child" [ -n "$DUMPCAP_PID" ]
CAP_DIR=$(dirname "$(val u4 "j['file']")")
check "SIGTERM: exit 0" stop_daemon "$udm_PID"
check "no dumpcap left, the capture directory removed" \
    all "! kill -0 $DUMPCAP_PID 2>/dev/null" "[ ! -e '$CAP_DIR' ]"
mkdir -p "$T_DIR/nobin"
ln -sf "$MIHUA_BIN/mihua-udm" "$T_DIR/nobin/mihua-udm"
start_daemon udm2 env PATH="$T_DIR/nobin" "$T_DIR/nobin/mihua-udm" --subscribers "$SUBS" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0
UA2=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/udm2.out")
admin n1 POST "$UA2/admin/v1/captures"
check "dumpcap not on PATH: 409 CAPTURE_UNAVAILABLE" [ "$(st n1) $(val n1 "j['cause']")" = "409 CAPTURE_UNAVAILABLE" ]
probe p3 tel:+15550000001
check "the HSS still serves after all this" [ "$(cat "$T_DIR/p3.rc")" = 0 ]

check "every admin answer conforms to docs/openapi ($(wc -l <"$T_DIR/openapi.checked") checked)" \
    [ ! -s "$T_DIR/openapi.bad" ]
[ ! -s "$T_DIR/openapi.bad" ] || cat "$T_DIR/openapi.fail" >&2
finish
