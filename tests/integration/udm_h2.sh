#!/usr/bin/env bash
# mihua-udm against foreign HTTP/2 clients (curl --http2-prior-knowledge, nghttp, h2load; curl over TLS 1.3 with
# a test CA): every endpoint with status, content type and body fields asserted; every bad input gets
# its status and cause and the server keeps serving; SIGHUP reload (a broken file keeps the old data); SIGTERM
# exits 0. DESIGN §3 (SBI), §5, §8. Synchronisation is by READY line and log lines, never by sleeping.
. "$(dirname "$0")/lib.sh"

DOMAIN=$MIHUA_TEST_DOMAIN

# all 'CMD' 'CMD'...: true when every command (evaluated here, so helpers work) is; one assertion of several parts.
all() {
    local c
    for c in "$@"; do eval "$c" || return 1; done
}
matches() { [[ "$1" =~ $2 ]]; }

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
AMF=registrations/amf-3gpp-access
OSD=operator-specific-data?fields=voiceEncryption

# --- usage and exit codes (DESIGN §8) ---------------------------------------------------------------------------
rc=0; "$MIHUA_BIN/mihua-udm" --help >"$T_DIR/help.txt" || rc=$?
check "--help exits 0 and documents --listen" all '[ "$rc" = 0 ]' 'grep -q -- "--listen" "$T_DIR/help.txt"'
check "--version prints the version" grep -q "^mihua-udm [0-9]" <("$MIHUA_BIN/mihua-udm" --version)
rc=0; "$MIHUA_BIN/mihua-udm" --listen nonsense --subscribers "$SUBS" 2>"$T_DIR/bad1.err" || rc=$?
check "bad --listen: exit 2 with the reason" all '[ "$rc" = 2 ]' 'grep -q "listen" "$T_DIR/bad1.err"'
rc=0; "$MIHUA_BIN/mihua-udm" --listen 127.0.0.1:0 --subscribers "$T_DIR/absent.json" 2>"$T_DIR/bad2.err" || rc=$?
check "missing subscriber file: exit 2" [ "$rc" = 2 ]

# --- start on a free port -----------------------------------------------------------------------------------------
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --log-level debug
URL=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) admin=.*/\1/p' "$T_DIR/udm.out")
check "exactly one READY line with the real port" \
    all '[ "$(grep -c "^READY" "$T_DIR/udm.out")" = 1 ]' 'matches "$URL" "^http://127\.0\.0\.1:[1-9][0-9]*$"'

# get NAME PATH [CURL ARGS...]: body to NAME.json, "status content-type http-version" to NAME.meta, headers to .hdr
get() {
    local name=$1 path=$2
    shift 2
    curl -sS --http2-prior-knowledge -o "$T_DIR/$name.json" -D "$T_DIR/$name.hdr" \
        -w '%{http_code} %{content_type} %{http_version}\n' "$@" "$URL$path" >"$T_DIR/$name.meta"
}
status_is() { [ "$(cut -d' ' -f1 "$T_DIR/$1.meta")" = "$2" ] || { echo "  $1: status $(cat "$T_DIR/$1.meta")" >&2; return 1; }; }
ctype_is() { [ "$(cut -d' ' -f2 "$T_DIR/$1.meta")" = "$2" ] || { echo "  $1: content-type $(cat "$T_DIR/$1.meta")" >&2; return 1; }; }
is() { [ "$(jget "$T_DIR/$1.json" "$2")" = "$3" ] || { echo "  $1: $2 = $(jget "$T_DIR/$1.json" "$2" 2>&1), want $3" >&2; return 1; }; }
# problem NAME STATUS CAUSE: status, application/problem+json, and status/cause inside the ProblemDetails
problem() {
    status_is "$1" "$2" && ctype_is "$1" application/problem+json && is "$1" "j['status']" "$2" &&
        is "$1" "j.get('cause')" "$3" && is "$1" "bool(j['title'])" True
}

# --- Nudm_UECM amf-3gpp-access ------------------------------------------------------------------------------------
get amf1 "/nudm-uecm/v1/imsi-001010000000001/$AMF"
check "amf-3gpp-access NR user: 200 application/json over HTTP/2" \
    all 'status_is amf1 200' 'ctype_is amf1 application/json' 'grep -q " 2$" "$T_DIR/amf1.meta"'
check "amf-3gpp-access: ratType NR" is amf1 "j['ratType']" NR
check "amf-3gpp-access: imsVoPs HOMOGENEOUS_SUPPORT" is amf1 "j['imsVoPs']" HOMOGENEOUS_SUPPORT
check "amf-3gpp-access: mandatory amfInstanceId, deregCallbackUri, guami" \
    is amf1 "bool(j['amfInstanceId']) and j['deregCallbackUri'].startswith('http') and j['guami']['amfId'] != ''" True
check "amf-3gpp-access: guami PLMN from the IMSI" is amf1 "(j['guami']['plmnId']['mcc'], j['guami']['plmnId']['mnc'])" "('001', '01')"
get amf1m "/nudm-uecm/v1/msisdn-15550000001/$AMF"
check "amf-3gpp-access by msisdn: same subscriber" all 'status_is amf1m 200' 'is amf1m "j[\"supi\"]" imsi-001010000000001'
get amf3 "/nudm-uecm/v1/imsi-001010000000003/$AMF"
check "amf-3gpp-access NR without VoPS: HOMOGENEOUS_NON_SUPPORT" is amf3 "j['imsVoPs']" HOMOGENEOUS_NON_SUPPORT
get amf2 "/nudm-uecm/v1/imsi-001010000000002/$AMF"
check "amf-3gpp-access EUTRAN user: 404 CONTEXT_NOT_FOUND" problem amf2 404 CONTEXT_NOT_FOUND
get amf4 "/nudm-uecm/v1/msisdn-15550000004/$AMF"
check "amf-3gpp-access UTRAN user: 404 CONTEXT_NOT_FOUND" problem amf4 404 CONTEXT_NOT_FOUND
get amfu "/nudm-uecm/v1/imsi-001019999999999/$AMF"
check "amf-3gpp-access unknown user: 404 USER_NOT_FOUND" problem amfu 404 USER_NOT_FOUND
for bad in imsi-1234 imsi-0010100000000012 msisdn-abc12345 supi-001010000000001 imsi-00101%2000001; do
    get bad "/nudm-uecm/v1/$bad/$AMF"
    check "bad ueId '$bad': 400 with invalidParams ueId" \
        all 'problem bad 400 MANDATORY_IE_INCORRECT' 'is bad "j[\"invalidParams\"][0][\"param\"]" ueId'
done

# --- Nudr_DR operator-specific-data -------------------------------------------------------------------------------
get osd1 "/nudr-dr/v2/subscription-data/imsi-001010000000001/$OSD"
check "operator-specific-data: 200 application/json" all 'status_is osd1 200' 'ctype_is osd1 application/json'
check "operator-specific-data: TS 29.505 container, value true" \
    is osd1 "j" "{'voiceEncryption': {'dataType': 'boolean', 'value': True}}"
get osd3 "/nudr-dr/v2/subscription-data/msisdn-15550000003/$OSD"
check "operator-specific-data: not subscribed, value false" is osd3 "j['voiceEncryption']['value']" False
get osdn "/nudr-dr/v2/subscription-data/imsi-001010000000001/operator-specific-data"
check "operator-specific-data without fields: whole container" is osdn "list(j)" "['voiceEncryption']"
get osdo "/nudr-dr/v2/subscription-data/imsi-001010000000001/operator-specific-data?fields=other"
check "operator-specific-data other fields: empty container" all 'status_is osdo 200' 'is osdo j "{}"'
get osdu "/nudr-dr/v2/subscription-data/imsi-001019999999999/$OSD"
check "operator-specific-data unknown user: 404 USER_NOT_FOUND" problem osdu 404 USER_NOT_FOUND

# --- Nudm_SDM am-data ---------------------------------------------------------------------------------------------
get am1 "/nudm-sdm/v2/imsi-001010000000001/am-data"
check "am-data: 200 with gpsis and subscribedUeAmbr" \
    all 'status_is am1 200' 'is am1 "j[\"gpsis\"] == [\"msisdn-15550000001\"]" True' \
        'is am1 "sorted(j[\"subscribedUeAmbr\"]) == [\"downlink\", \"uplink\"]" True'
get amm "/nudm-sdm/v2/msisdn-15550000001/am-data"
check "am-data with a GPSI as supi: 400 invalidParams supi" \
    all 'problem amm 400 MANDATORY_IE_INCORRECT' 'is amm "j[\"invalidParams\"][0][\"param\"]" supi'

# --- everything the server answers on its own ---------------------------------------------------------------------
get nf "/nudm-uecm/v1/imsi-001010000000001/registrations/smf-registrations"
check "unknown path: 404 RESOURCE_URI_STRUCTURE_NOT_FOUND" problem nf 404 RESOURCE_URI_STRUCTURE_NOT_FOUND
get m405 "/nudm-uecm/v1/imsi-001010000000001/$AMF" -X PUT -H 'content-type: application/json' --data '{}'
check "wrong method: 405 with Allow: GET" all 'problem m405 405 None' 'grep -qi "^allow: GET" "$T_DIR/m405.hdr"'
get ct "/nudm-sdm/v2/imsi-001010000000001/am-data" -X GET -H 'content-type: text/plain' --data 'hello'
check "wrong content type: 415 UNSUPPORTED_MEDIA_TYPE" problem ct 415 UNSUPPORTED_MEDIA_TYPE
get bj "/nudm-sdm/v2/imsi-001010000000001/am-data" -X GET -H 'content-type: application/json' --data '{"a":'
check "bad JSON: 400 INVALID_MSG_FORMAT naming line:column" \
    all 'problem bj 400 INVALID_MSG_FORMAT' 'is bj "j[\"detail\"].startswith(\"body:1:\")" True'
head -c 2000000 /dev/zero | tr '\0' ' ' >"$T_DIR/big.json"
get big "/nudm-sdm/v2/imsi-001010000000001/am-data" -X GET -H 'content-type: application/json' --data-binary "@$T_DIR/big.json"
check "oversized body: 413 PAYLOAD_TOO_LARGE" problem big 413 PAYLOAD_TOO_LARGE
get hdr "/nudm-sdm/v2/imsi-001010000000001/am-data" -H "x-padding: $(head -c 20000 /dev/zero | tr '\0' x)"
check "oversized header list: 431" problem hdr 431 None
# hostile connections: HTTP/1.1, random bytes, the h2 preface then a malformed frame, a bare close
python3 - "${URL##*:}" <<'PY'
import os, socket, sys
port = int(sys.argv[1])
preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
bad_headers = b"\x00\x00\x05\x01\x05\x00\x00\x00\x01" + b"\xff\xff\xff\xff\xff"  # HPACK garbage
huge_frame = b"\xff\xff\xff\x00\x00\x00\x00\x00\x01"                             # 16 MiB DATA header
for payload in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(4096), preface + settings + bad_headers,
                preface + settings + huge_frame, preface, b""):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(payload)
    s.settimeout(2)
    try:
        while s.recv(65536):
            pass
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
PY
get still "/nudm-uecm/v1/imsi-001010000000001/$AMF"
check "still serving after every bad input and hostile connection" status_is still 200
check "no stream or connection errors from the server" \
    bash -c "! grep -Eq 'ERROR|AddressSanitizer|runtime error' '$T_DIR/udm.log'"

# --- nghttp and h2load ----------------------------------------------------------------------------------------------
nghttp -v "$URL/nudm-uecm/v1/imsi-001010000000001/$AMF" "$URL/nudr-dr/v2/subscription-data/imsi-001010000000001/$OSD" \
    "$URL/nudm-sdm/v2/imsi-001010000000001/am-data" "$URL/nudm-uecm/v1/imsi-001010000000002/$AMF" \
    >"$T_DIR/nghttp.txt" 2>&1 || true
check "nghttp: three 200s and one 404 multiplexed on one connection" \
    all '[ "$(grep -c ":status: 200" "$T_DIR/nghttp.txt")" = 3 ]' '[ "$(grep -c ":status: 404" "$T_DIR/nghttp.txt")" = 1 ]'
check "nghttp: the server sent SETTINGS and acknowledged nghttp's" \
    all 'grep -q "recv SETTINGS frame <length=12, flags=0x00" "$T_DIR/nghttp.txt"' \
        'grep -q "recv SETTINGS frame <length=0, flags=0x01" "$T_DIR/nghttp.txt"'
check "nghttp: JSON content types" all '[ "$(grep -c "content-type: application/json" "$T_DIR/nghttp.txt")" = 3 ]' \
    'grep -q "content-type: application/problem+json" "$T_DIR/nghttp.txt"'
nghttp "$URL/nudm-sdm/v2/imsi-001010000000003/am-data" >"$T_DIR/nghttp_am.json"
check "nghttp: am-data body" is nghttp_am "j['gpsis'][0]" msisdn-15550000003
h2load -n 2000 -c 4 -m 10 "$URL/nudm-uecm/v1/imsi-001010000000001/$AMF" >"$T_DIR/h2load.txt" 2>&1 || true
check "h2load: 2000 requests, all 2xx" grep -q 'status codes: 2000 2xx' "$T_DIR/h2load.txt"

# --- wire: tshark decodes the h2c exchange as HTTP/2 with the JSON bodies, nothing malformed ----------------------
PORT=${URL##*:}
tshark -i lo -f "tcp port $PORT" -d "tcp.port==$PORT,http2" -l -P -w "$T_DIR/h2.pcapng" >"$T_DIR/tshark.log" 2>&1 &
TSHARK_PID=$!
T_PIDS+=("$TSHARK_PID")
wait_for "$T_DIR/tshark.log" "Capturing on"
# the capture really starts a moment after that line: knock (polling, bounded) until tshark shows a marker request
for _ in $(seq 1 100); do
    curl -s --http2-prior-knowledge -o /dev/null "$URL/wire-start"
    grep -q "wire-start" "$T_DIR/tshark.log" && break
    sleep 0.05
done
for p in "/nudm-uecm/v1/imsi-001010000000001/$AMF" "/nudr-dr/v2/subscription-data/imsi-001010000000001/$OSD" \
    "/nudm-sdm/v2/imsi-001010000000001/am-data" "/nudm-uecm/v1/imsi-001010000000002/$AMF"; do
    curl -sS --http2-prior-knowledge -o /dev/null "$URL$p"
done
curl -s --http2-prior-knowledge -o /dev/null "$URL/wire-end"
wait_for "$T_DIR/tshark.log" "wire-end" # everything before it is in the capture
kill -INT "$TSHARK_PID"
wait "$TSHARK_PID" || true
dissect() { tshark -r "$T_DIR/h2.pcapng" -d "tcp.port==$PORT,http2" "$@" 2>/dev/null; }
check "wire: tshark sees HTTP/2 HEADERS with :status 200 and 404" \
    all '[ "$(dissect -Y "http2.headers.status == 200" | wc -l)" -ge 3 ]' \
        '[ "$(dissect -Y "http2.headers.status == 404" | wc -l)" -ge 1 ]'
check "wire: the JSON bodies are dissected (ratType, voiceEncryption, gpsis, cause)" \
    all 'dissect -Y "json.key == \"ratType\"" | grep -q .' 'dissect -Y "json.key == \"voiceEncryption\"" | grep -q .' \
        'dissect -Y "json.key == \"gpsis\"" | grep -q .' 'dissect -Y "json.key == \"cause\"" | grep -q .'
check "wire: no malformed packet" bash -c "! tshark -r '$T_DIR/h2.pcapng' -d 'tcp.port==$PORT,http2' -Y _ws.malformed 2>/dev/null | grep -q ."

# --- SIGHUP reload ----------------------------------------------------------------------------------------------------
printf '{ "subscribers": [\n  { "imsi": "001010000000001", oops } ] }\n' >"$SUBS"
kill -HUP "$udm_PID"
wait_for "$T_DIR/udm.log" "reload failed"
check "broken file: the error names file:line:column" grep -q "reload failed.*subscribers.json:2:[0-9]" "$T_DIR/udm.log"
get keep "/nudm-uecm/v1/imsi-001010000000001/$AMF"
check "broken file: old data still served" all 'status_is keep 200' 'is keep "j[\"ratType\"]" NR'
write_subscribers "$SUBS" EUTRAN
kill -HUP "$udm_PID"
wait_for "$T_DIR/udm.log" "generation 2"
get moved "/nudm-uecm/v1/imsi-001010000000001/$AMF"
check "good file: new data at once (user 1 now EUTRAN: 404 CONTEXT_NOT_FOUND)" problem moved 404 CONTEXT_NOT_FOUND

# --- TLS 1.3 + ALPN h2 with curl against a test CA ------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=mihua test CA" \
    -keyout "$T_DIR/ca.key" -out "$T_DIR/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=udm.test" \
    -keyout "$T_DIR/udm.key" -out "$T_DIR/udm.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$T_DIR/san.ext"
openssl x509 -req -in "$T_DIR/udm.csr" -CA "$T_DIR/ca.pem" -CAkey "$T_DIR/ca.key" -CAcreateserial -days 1 \
    -extfile "$T_DIR/san.ext" -out "$T_DIR/udm.pem" 2>/dev/null
cat >"$T_DIR/udm-tls.json" <<JSON
{ "listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "subscribers": "$SUBS",
  "tls": { "cert": "$T_DIR/udm.pem", "key": "$T_DIR/udm.key" } }
JSON
SSLKEYLOGFILE=$T_DIR/keys.log start_daemon udmtls "$MIHUA_BIN/mihua-udm" -c "$T_DIR/udm-tls.json"
TLS_URL=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) admin=.*/\1/p' "$T_DIR/udmtls.out")
check "TLS: READY names an https endpoint" matches "$TLS_URL" "^https://127\.0\.0\.1:[1-9][0-9]*$"
curl -sS --cacert "$T_DIR/ca.pem" --http2 --tlsv1.3 -o "$T_DIR/tls.json" -w '%{http_code} %{content_type} %{http_version}\n' \
    "$TLS_URL/nudr-dr/v2/subscription-data/imsi-001010000000002/$OSD" >"$T_DIR/tls.meta"
check "TLS: curl verifies the CA, negotiates h2 and gets 200" all 'status_is tls 200' 'grep -q " 2$" "$T_DIR/tls.meta"'
check "TLS: body" is tls "j['voiceEncryption']['value']" True
check "TLS: SSLKEYLOGFILE written" grep -q '^CLIENT_HANDSHAKE_TRAFFIC_SECRET' "$T_DIR/keys.log"
rc=0; curl -sS --cacert "$T_DIR/ca.pem" --http1.1 -o /dev/null "$TLS_URL/nudm-sdm/v2/imsi-001010000000001/am-data" \
    2>/dev/null || rc=$?
check "TLS: a client without ALPN h2 is refused" [ "$rc" != 0 ]

# --- SIGTERM ------------------------------------------------------------------------------------------------------
rc=0; stop_daemon "$udm_PID" || rc=$?
check "SIGTERM: exit 0" [ "$rc" = 0 ]
rc=0; stop_daemon "$udmtls_PID" || rc=$?
check "SIGTERM (TLS): exit 0" [ "$rc" = 0 ]
check "no sanitizer reports" bash -c "! grep -q 'Sanitizer' '$T_DIR/udm.log' '$T_DIR/udmtls.log'"
finish
