#!/usr/bin/env bash
# `mihua-probe udm` (the AS's three SBI reads, TLS 1.3 + ALPN h2 here) and `mihua-probe kms` (issue and retrieve
# with HTTP Digest) against the real mihua-udm and mihua-kms, and `--pcap`: the capture is taken by dumpcap and,
# with the TLS secrets embedded by editcap, tshark (a foreign decoder) reads the HTTP/2 paths from it without
# being given any key file.
. "$(dirname "$0")/lib.sh"

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
"$MIHUA_SRC/scripts/gen-test-certs" "$T_DIR/certs" udm >/dev/null
"$MIHUA_SRC/scripts/gen-test-certs" "$T_DIR/certs" kms >/dev/null
CA=$T_DIR/certs/ca.pem
PROBE=$MIHUA_BIN/mihua-probe

cat >"$T_DIR/udm.json" <<JSON
{ "listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "subscribers": "$SUBS",
  "tls": { "cert": "$T_DIR/certs/udm.pem", "key": "$T_DIR/certs/udm.key" } }
JSON
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$T_DIR/udm.json"
SBI=$(sed -nE 's/^READY .* sbi=(https:[^ ]+) .*/\1/p' "$T_DIR/udm.out")

rc=0
"$PROBE" udm --udm "$SBI" --cacert "$CA" --ue-id imsi-001010000000001 --pcap "$T_DIR/udm.pcapng" \
    >"$T_DIR/udm1.out" 2>"$T_DIR/udm1.err" || rc=$?
check "udm: exit 0 for three 200s" [ "$rc" = 0 ]
check "udm: each read printed with status and content type" \
    [ "$(grep -cE '^(amf-3gpp-access|am-data|operator-specific-data): GET .* -> 200 application/json' "$T_DIR/udm1.out")" = 3 ]
check "udm: bodies decoded (ratType, voiceEncryption)" \
    all 'grep -q "\"ratType\": \"NR\"" "$T_DIR/udm1.out"' 'grep -q "\"voiceEncryption\"" "$T_DIR/udm1.out"'
check "pcap: the probe says where the capture is, secrets embedded" grep -q "capture in .*udm.pcapng (TLS secrets embedded)" \
    "$T_DIR/udm1.err"
tshark -r "$T_DIR/udm.pcapng" -Y http2.header -T fields -e http2.headers.path >"$T_DIR/paths.txt" 2>"$T_DIR/tshark.err" || true
check "pcap: tshark decrypts it with no key file given and sees the three paths" \
    [ "$(grep -cE '^/(nudm-uecm|nudm-sdm|nudr-dr)/' "$T_DIR/paths.txt")" -ge 3 ]

rc=0
"$PROBE" udm --udm "$SBI" --cacert "$CA" --ue-id imsi-001019999999999 --json >"$T_DIR/udm2.out" 2>&1 || rc=$?
check "udm: unknown user, exit 3, one JSON line per read with status 404" \
    all '[ "$rc" = 3 ]' '[ "$(jq -s "map(.status) | unique" -c "$T_DIR/udm2.out")" = "[404]" ]'
rc=0
"$PROBE" udm --udm "https://127.0.0.1:$(free_port)" --cacert "$CA" --ue-id imsi-001010000000001 \
    >/dev/null 2>"$T_DIR/udm3.err" || rc=$?
check "udm: nothing listening, exit 1 with the reason" all '[ "$rc" = 1 ]' 'grep -q "cannot connect" "$T_DIR/udm3.err"'

cat >"$T_DIR/calls.json" <<JSON
{ "calls": [ { "callId": "probe-call", "caller": "tel:+15550000001", "callee": "tel:+15550000002",
    "encryptionAllowed": true, "state": "early" } ] }
JSON
start_daemon as "$MIHUA_BIN/../tests/mihua-kms-as-standin" --calls "$T_DIR/calls.json" --listen 127.0.0.1:0
AS_URL=$(sed -n 's/^READY kms-as-standin sbi=//p' "$T_DIR/as.out")
cat >"$T_DIR/kms.json" <<JSON
{ "listen": "127.0.0.1:0", "subscribers": "$SUBS",
  "tls": { "cert": "$T_DIR/certs/kms.pem", "key": "$T_DIR/certs/kms.key" },
  "as": { "url": "$AS_URL", "timeout_ms": 3000 }, "audit_log": "$T_DIR/kms-audit.jsonl" }
JSON
start_daemon kms "$MIHUA_BIN/mihua-kms" -c "$T_DIR/kms.json"
KMS=$(sed -n 's/^READY mihua-kms sbi=//p' "$T_DIR/kms.out")
KEY1=$(printf '%064x' 1)
KEY2=$(printf '%064x' 2)
rc=0
"$PROBE" kms --kms "$KMS" --cacert "$CA" --call-id probe-call --caller 15550000001 --caller-key "$KEY1" \
    --callee 15550000002 --callee-key "$KEY2" >"$T_DIR/kms1.out" 2>&1 || rc=$?
check "kms: issue 201 then retrieve 200 through Digest, exit 0" \
    all '[ "$rc" = 0 ]' 'grep -q "^issue: POST /kms/v1/session-keys -> 201" "$T_DIR/kms1.out"' \
        'grep -qE "^retrieve: POST /kms/v1/session-keys/[^ ]+/retrieve -> 200" "$T_DIR/kms1.out"'
check "kms: the wrapped key is never printed" all 'grep -q "not shown" "$T_DIR/kms1.out"' \
    '! grep -q "\"wrappedKey\": \"[A-Za-z0-9_-]\{20,\}" "$T_DIR/kms1.out"'
rc=0
"$PROBE" kms --kms "$KMS" --cacert "$CA" --call-id probe-call --caller 15550000001 --caller-key "$KEY2" \
    --callee 15550000002 --callee-key "$KEY2" >"$T_DIR/kms2.out" 2>&1 || rc=$?
check "kms: a wrong key gets 401 again, exit 3" all '[ "$rc" = 3 ]' 'grep -q -- "-> 401" "$T_DIR/kms2.out"'
# The KMS's answers against docs/openapi/mihua-kms.yaml, with curl (Digest) as the client.
kms_curl() { # kms_curl NAME USER KEY METHOD PATH [BODY]: answer in NAME.json, checked against the document
    local name=$1 user=$2 key=$3 method=$4 path=$5 body=${6-}
    local args=(-s --http2 --tlsv1.3 --cacert "$CA" --digest -u "$user:$key" -X "$method" -o "$T_DIR/$name.json"
                -w '%{http_code} %{content_type}')
    [ -n "$body" ] && args+=(-H 'content-type: application/json' --data-binary "$body")
    curl "${args[@]}" "$KMS$path" >"$T_DIR/$name.st"
    python3 "$MIHUA_SRC/tests/integration/openapi_check.py" "$MIHUA_SRC/docs/openapi/mihua-kms.yaml" "$method" \
        "$path" "$(cut -d' ' -f1 "$T_DIR/$name.st")" "$(cut -d' ' -s -f2 "$T_DIR/$name.st")" "$T_DIR/$name.json"
}
PARTIES='{"callId":"probe-call","caller":"tel:+15550000001","callee":"tel:+15550000002"}'
check "openapi: issue 201 conforms" all 'kms_curl k1 15550000001 "$KEY1" POST /kms/v1/session-keys "$PARTIES"' \
    '[ "$(cut -d" " -f1 "$T_DIR/k1.st")" = 201 ]'
KID=$(jget "$T_DIR/k1.json" "j['keyId']")
check "openapi: retrieve 200 conforms" all \
    'kms_curl k2 15550000002 "$KEY2" POST "/kms/v1/session-keys/$KID/retrieve" "$PARTIES"' '[ "$(cut -d" " -f1 "$T_DIR/k2.st")" = 200 ]'
check "openapi: a second retrieve, 410 ProblemDetails, conforms" all \
    'kms_curl k3 15550000002 "$KEY2" POST "/kms/v1/session-keys/$KID/retrieve" "$PARTIES"' '[ "$(cut -d" " -f1 "$T_DIR/k3.st")" = 410 ]'
check "openapi: a body without callee, 400 with invalidParams, conforms" all \
    'kms_curl k4 15550000001 "$KEY1" POST /kms/v1/session-keys "{\"callId\":\"x\",\"caller\":\"tel:+15550000001\"}"' \
    '[ "$(cut -d" " -f1 "$T_DIR/k4.st")" = 400 ]'
check "openapi: a wrong key, 401 challenge, conforms" all \
    'kms_curl k5 15550000001 "$KEY2" POST /kms/v1/session-keys "$PARTIES"' '[ "$(cut -d" " -f1 "$T_DIR/k5.st")" = 401 ]'
check "openapi: the check itself refuses a body the document does not allow (a ProblemDetails as a 201)" \
    all '! python3 "$MIHUA_SRC/tests/integration/openapi_check.py" "$MIHUA_SRC/docs/openapi/mihua-kms.yaml" POST \
        /kms/v1/session-keys 201 application/json "$T_DIR/k4.json" 2>/dev/null'

rc=0
"$PROBE" kms --kms "$KMS" >/dev/null 2>&1 || rc=$?
check "kms: missing parties is a usage error (exit 2)" [ "$rc" = 2 ]
finish
