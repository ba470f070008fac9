#!/usr/bin/env bash
# Hostile SBI clients (README "Threat model"): control characters in a path (%00 once cut an identifier short:
# imsi-…%00garbage answered 200), on the UDM's SBI and admin API and the AS's SBI; a flood of unauthenticated KMS
# requests (4,200 challenges once evicted a live Digest nonce: NONCE_STALE); one caller issuing key after key for
# one call (3,000 once fit; now max_keys_per_call, 429). Each attack is followed by the
# legitimate request, which must still work. Synchronisation by READY lines and the clients' own output; no sleeps.
. "$(dirname "$0")/lib.sh"

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
AMF=registrations/amf-3gpp-access

all() {
    local c
    for c in "$@"; do eval "$c" || return 1; done
}
# req NAME URL [CURL ARGS...]: body in NAME.json, "status content-type" in NAME.meta
req() {
    local name=$1 url=$2
    shift 2
    curl -sS --http2-prior-knowledge "${T_AUTH[@]}" --path-as-is -o "$T_DIR/$name.json" -w '%{http_code} %{content_type}\n' \
        "$@" "$url" >"$T_DIR/$name.meta"
}
status_is() { [ "$(cut -d' ' -f1 "$T_DIR/$1.meta")" = "$2" ] || { echo "  $1: $(cat "$T_DIR/$1.meta")" >&2; return 1; }; }
problem_400() {
    status_is "$1" 400 && [ "$(cut -d' ' -f2 "$T_DIR/$1.meta")" = application/problem+json ] &&
        [ "$(jget "$T_DIR/$1.json" "j['status'], j['cause']")" = "(400, 'INVALID_MSG_FORMAT')" ]
}

start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
UDM=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) admin=.*/\1/p' "$T_DIR/udm.out")
ADMIN=$(sed -nE 's/^READY mihua-udm sbi=[^ ]+ admin=([^ ]+).*/\1/p' "$T_DIR/udm.out")

# --- control characters in paths ------------------------------------------------------------------------------------
req nul "$UDM/nudm-uecm/v1/imsi-001010000000001%00garbage/$AMF"
check "udm: %00 in a path segment → 400 ProblemDetails INVALID_MSG_FORMAT (was 200)" problem_400 nul
req lf "$UDM/nudm-uecm/v1/imsi-001010000000001%0a/$AMF"
check "udm: %0a in a path segment → 400" problem_400 lf
req del "$UDM/nudm-sdm/v2/imsi-001010000000001%7f/am-data"
check "udm: %7f in a path segment → 400" problem_400 del
req q "$UDM/nudr-dr/v2/subscription-data/imsi-001010000000001/operator-specific-data?fields=voiceEncryption%00x"
check "udm: %00 in the query → 400" problem_400 q
req anul "$ADMIN/admin/v1/subscribers/001010000000001%00garbage"
check "udm admin: %00 in the IMSI → 400 (was the subscriber)" problem_400 anul
req apatch "$ADMIN/admin/v1/subscribers/001010000000001%00x" -X PATCH \
    -H 'content-type: application/merge-patch+json' --data '{"voice_encryption":false}'
check "udm admin: PATCH with %00 in the IMSI → 400, nothing changed" problem_400 apatch
check "udm: the refusal logged with the client address (at info once per 10 s: a client cannot flood the log)" \
    all '[ "$(grep -c "INFO udm: 127.0.0.1:[0-9]*: GET request refused: control character" "$T_DIR/udm.log")" = 1 ]' \
        '[ "$(grep -c "INFO udm-admin: 127.0.0.1:[0-9]*: [A-Z]* request refused: control character" "$T_DIR/udm.log")" = 1 ]'
req ok "$UDM/nudm-uecm/v1/imsi-001010000000001/$AMF"
check "udm: the legitimate request still answers 200 NR" \
    all 'status_is ok 200' '[ "$(jget "$T_DIR/ok.json" "j[\"ratType\"]")" = NR ]'
req aok "$ADMIN/admin/v1/subscribers/001010000000001"
check "udm admin: the subscriber is unchanged (voice_encryption still true)" \
    all 'status_is aok 200' '[ "$(jget "$T_DIR/aok.json" "j[\"voice_encryption\"]")" = True ]'

printf '{"checks": false, "diameter_port": 0, "sip_listen": "127.0.0.1:0", "sbi_listen": "127.0.0.1:0"}\n' >"$T_DIR/as.json"
start_daemon as "$MIHUA_BIN/mihua-as" -c "$T_DIR/as.json" --subscribers "$SUBS"
AS_SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' "$T_DIR/as.out")
req asnul "$AS_SBI/as/v1/calls/abc%00def"
check "as: %00 in a callId → 400" problem_400 asnul
req as404 "$AS_SBI/as/v1/calls/abc"
check "as: an unknown call is still 404" status_is as404 404

# --- Digest nonces: a flood of challenges evicts nothing -----------------------------------------------------------
TOOLS=$(dirname "$MIHUA_BIN")/tests
"$MIHUA_SRC/scripts/gen-test-certs" "$T_DIR/certs" kms >/dev/null
cat >"$T_DIR/calls.json" <<JSON
{ "calls": [
  { "callId": "call-a", "caller": "tel:+15550000001", "callee": "tel:+15550000002", "encryptionAllowed": true,
    "state": "early" },
  { "callId": "call-b", "caller": "tel:+15550000001", "callee": "tel:+15550000002", "encryptionAllowed": true,
    "state": "early" } ] }
JSON
start_daemon standin "$TOOLS/mihua-kms-as-standin" --calls "$T_DIR/calls.json" --listen 127.0.0.1:0
STANDIN=$(sed -n 's/^READY kms-as-standin sbi=//p' "$T_DIR/standin.out")
printf '{"tls":{"cert":"%s","key":"%s"},"as":{"url":"%s"}}\n' "$T_DIR/certs/kms.pem" "$T_DIR/certs/kms.key" \
    "$STANDIN" >"$T_DIR/kms.json"
start_daemon kms "$MIHUA_BIN/mihua-kms" -c "$T_DIR/kms.json" --listen 127.0.0.1:0 --subscribers "$SUBS" \
    --audit-log "$T_DIR/audit.jsonl"
KMS=$(sed -nE 's/^READY mihua-kms sbi=([^ ]+).*/\1/p' "$T_DIR/kms.out")
# A legitimate UE authenticates once (one challenge), holds its connection and nonce while 4,200 strangers POST
# without credentials, then sends its next request with the same nonce and nc=2.
coproc UE { "$TOOLS/mihua-kms-cli" --url "$KMS" --ca "$T_DIR/certs/ca.pem" --user 15550000001 --key "$(printf '%064x' 1)" \
    -n 2 --wait-stdin delete AAAAAAAAAAAAAAAAAAAAAA 2>"$T_DIR/ue.err"; }
# Our own copies of the coprocess's pipes: bash unsets UE as soon as the process exits, which it does right after
# printing its second answer, possibly before that answer is read.
exec {UE_OUT}<&"${UE[0]}" {UE_IN}>&"${UE[1]}"
read -r -t 20 first <&"$UE_OUT" || first=
echo "# first request: $first"
printf '{"callId":"x","caller":"tel:+15550000009","callee":"tel:+15550000002"}' >"$T_DIR/body.json"
h2load -n 4200 -c 8 -m 10 -d "$T_DIR/body.json" -H 'content-type: application/json' "$KMS/kms/v1/session-keys" \
    >"$T_DIR/h2load.txt" 2>&1 || true
echo "# flood: $(grep -E '^status codes' "$T_DIR/h2load.txt")"
echo go >&"$UE_IN"
read -r -t 20 second <&"$UE_OUT" || second=
echo "# after the flood: $second"
check "kms: 4,200 unauthenticated POSTs were each challenged (401)" grep -q '4200 4xx' "$T_DIR/h2load.txt"
check "kms: the legitimate UE's nonce survives them (authenticated again without a new challenge)" \
    all '[ "$(jget <(echo "$first") "j[\"challenges\"]")" = 1 ]' \
        '[ "$(jget <(echo "$second") "j[\"challenges\"], j[\"http\"], j[\"cause\"]")" = "(1, 404, '"'KEY_NOT_FOUND'"')" ]'

# --- keys per call --------------------------------------------------------------------------------------------------
kcli() {
    "$TOOLS/mihua-kms-cli" --url "$KMS" --ca "$T_DIR/certs/ca.pem" --user 15550000001 --key "$(printf '%064x' 1)" "$@"
}
kcli -n 10 issue call-a tel:+15550000001 tel:+15550000002 >"$T_DIR/percall.jsonl" 2>/dev/null || true
echo "# 10 issues for one call: $(python3 -c 'import json,sys; print([json.loads(l)["http"] for l in open(sys.argv[1])])' "$T_DIR/percall.jsonl")"
check "kms: one call gets max_keys_per_call (4) keys, then 429 KEY_LIMIT_PER_CALL" \
    [ "$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print([(x["http"], x["cause"]) for x in r])' "$T_DIR/percall.jsonl")" \
      = "$(python3 -c 'print([(201, "")] * 4 + [(429, "KEY_LIMIT_PER_CALL")] * 6)')" ]
check "kms: the refusals are counted in /metrics" \
    [ "$(curl -s --cacert "$T_DIR/certs/ca.pem" "${T_AUTH[@]}" "$KMS/metrics" | awk '$1 ~ /reason="per_call"/ { print $2 }')" = 6 ]
check "kms: the caller's next call still gets its key" \
    all 'kcli issue call-b tel:+15550000001 tel:+15550000002 >"$T_DIR/callb.json"' \
        '[ "$(jget "$T_DIR/callb.json" "j[\"http\"]")" = 201 ]'

finish
