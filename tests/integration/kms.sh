#!/usr/bin/env bash
# mihua-kms end to end (DESIGN §4, §5, §8): the real KMS over TLS 1.3 + h2 against a stand-in AS that is
# a real HTTP/2 server, driven by the C client module (kms-cli) and by curl as a foreign client. Covers issue,
# single retrieve, 410, wrong user, wrong callId, not allowed, expiry, AS down / slow (fail closed, KMS keeps
# serving), same 32 bytes on both sides (C client fingerprints and an independent Python unwrap), bad inputs,
# Digest failures including a replayed nonce, the audit log, and SIGTERM.
. "$(dirname "$0")/lib.sh"

TOOLS=$(dirname "$MIHUA_BIN")/tests
DOMAIN=ims.mnc001.mcc001.3gppnetwork.org
key() { printf '%064x' "$1"; }
U1=tel:+15550000001 U2="sip:+15550000002@$DOMAIN" U3=tel:+15550000003
K1=$(key 1) K2=$(key 2) K3=$(key 3)

all() {
    local c
    for c in "$@"; do eval "$c" || return 1; done
}

SUBS=$T_DIR/subscribers.json
cat >"$SUBS" <<JSON
{ "subscribers": [
  { "imsi": "001010000000001", "msisdn": "15550000001", "impu": ["sip:+15550000001@$DOMAIN", "tel:+15550000001"],
    "voice_encryption": true, "access": { "rat": "NR", "ims_vops": true }, "kms_key": "$K1" },
  { "imsi": "001010000000002", "msisdn": "15550000002", "impu": ["sip:+15550000002@$DOMAIN", "tel:+15550000002"],
    "voice_encryption": true, "access": { "rat": "EUTRAN", "ims_vops": true }, "kms_key": "$K2" },
  { "imsi": "001010000000003", "msisdn": "15550000003", "impu": ["sip:+15550000003@$DOMAIN", "tel:+15550000003"],
    "voice_encryption": true, "access": { "rat": "NR", "ims_vops": true }, "kms_key": "$K3" }
] }
JSON
# AS call records: parties in any identity form (the KMS compares by subscriber).
cat >"$T_DIR/calls.json" <<JSON
{ "calls": [
  { "callId": "call-ok@ue1", "caller": "sip:+15550000001@$DOMAIN", "callee": "tel:+15550000002",
    "encryptionAllowed": true, "state": "early" },
  { "callId": "call-2@ue1", "caller": "15550000001", "callee": "msisdn-15550000002", "encryptionAllowed": true,
    "state": "early" },
  { "callId": "call-curl", "caller": "tel:+15550000001", "callee": "tel:+15550000002", "encryptionAllowed": true,
    "state": "early" },
  { "callId": "call-denied", "caller": "tel:+15550000001", "callee": "tel:+15550000002",
    "encryptionAllowed": false, "state": "early" },
  { "callId": "call-1-3", "caller": "tel:+15550000001", "callee": "tel:+15550000003", "encryptionAllowed": true,
    "state": "early" }
] }
JSON

"$MIHUA_SRC/scripts/gen-test-certs" "$T_DIR/certs" kms >/dev/null
CA=$T_DIR/certs/ca.pem

# --- usage and exit codes (DESIGN §8) ------------------------------------------------------------------------------
KMS=$MIHUA_BIN/mihua-kms
rc=0; "$KMS" --help >"$T_DIR/help.txt" || rc=$?
check "--help exits 0 and documents --insecure-h2c" all '[ "$rc" = 0 ]' 'grep -q -- "--insecure-h2c" "$T_DIR/help.txt"'
check "--version prints the version" grep -q "^mihua-kms [0-9]" <("$KMS" --version)
rc=0; "$KMS" --listen 127.0.0.1:0 --subscribers "$SUBS" --audit-log "$T_DIR/x.jsonl" 2>"$T_DIR/notls.err" || rc=$?
check "no TLS and no --insecure-h2c: exit 2 naming tls" all '[ "$rc" = 2 ]' 'grep -q "tls" "$T_DIR/notls.err"'
printf '{\n  "listen": "127.0.0.1:0",\n  "key_ttl_s": "long"\n}\n' >"$T_DIR/bad.json"
rc=0; "$KMS" -c "$T_DIR/bad.json" --insecure-h2c 2>"$T_DIR/badconf.err" || rc=$?
check "bad config: exit 2 with file:line:column and the field" \
    all '[ "$rc" = 2 ]' 'grep -q "bad.json:3:[0-9]*: key_ttl_s" "$T_DIR/badconf.err"'

# --- the stand-in AS and the KMS ------------------------------------------------------------------------------------
start_daemon as "$TOOLS/mihua-kms-as-standin" --calls "$T_DIR/calls.json" --listen 127.0.0.1:0
AS_URL=$(sed -n 's/^READY kms-as-standin sbi=//p' "$T_DIR/as.out")
AS_PORT=${AS_URL##*:}
AUDIT=$T_DIR/audit.jsonl
# kms_conf NAME AS_URL TTL AS_TIMEOUT: a config file for one KMS instance (max_keys_per_call raised: the nonce-reuse
# series below issues several keys for one call on purpose; sbi_hostile tests the default bound)
kms_conf() {
    cat >"$T_DIR/$1.json" <<JSON
{ "listen": "127.0.0.1:0", "subscribers": "$SUBS",
  "tls": { "cert": "$T_DIR/certs/kms.pem", "key": "$T_DIR/certs/kms.key" },
  "as": { "url": "$2", "timeout_ms": $4 }, "key_ttl_s": $3, "audit_log": "$T_DIR/$1-audit.jsonl",
  "max_keys_per_call": 64 }
JSON
}
kms_conf kms "$AS_URL" 60 3000 # generous: ASan builds on a loaded 2-core machine; the slow-AS test has its own
SSLKEYLOGFILE=$T_DIR/keys.log start_daemon kms "$KMS" -c "$T_DIR/kms.json" --audit-log "$AUDIT" --log-level debug
URL=$(sed -nE 's/^READY mihua-kms sbi=([^ ]+).*/\1/p' "$T_DIR/kms.out")
check "exactly one READY line with https and the real port" \
    all '[ "$(grep -c "^READY" "$T_DIR/kms.out")" = 1 ]' '[[ "$URL" =~ ^https://127\.0\.0\.1:[1-9][0-9]*$ ]]'

# cli NAME USER KEY OP ARGS...: the C client; its JSON line(s) in NAME.json (the first line is used by `is`)
cli() {
    local name=$1 user=$2 k=$3
    shift 3
    "$TOOLS/mihua-kms-cli" --url "${CLI_URL:-$URL}" --ca "$CA" --user "$user" --key "$k" "$@" >"$T_DIR/$name.all" \
        2>>"$T_DIR/cli.log" || true
    head -n 1 "$T_DIR/$name.all" >"$T_DIR/$name.json"
}
is() {
    local got
    got=$(jget "$T_DIR/$1.json" "$2" 2>&1)
    [ "$got" = "$3" ] || { echo "  $1: $2 = $got, want $3 ($(cat "$T_DIR/$1.json"))" >&2; return 1; }
}
refused() { is "$1" "(j['http'], j['cause'])" "($2, '$3')"; }
audit_has() { python3 - "$AUDIT" "$@" <<'PY'
import json, sys
want = dict(a.split('=', 1) for a in sys.argv[2:])
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any(all(r.get(k) == v for k, v in want.items()) for r in rows) else 1)
PY
}

# --- issue, single retrieve, same key on both sides -----------------------------------------------------------------
cli issue "$U1" "$K1" issue call-ok@ue1 "sip:+15550000001@$DOMAIN" tel:+15550000002
check "caller issues: 201 with keyId (22 base64url chars) and expiresAt" \
    all 'is issue "j[\"http\"]" 201' 'is issue "bool(__import__(\"re\").fullmatch(r\"[A-Za-z0-9_-]{22}\", j[\"keyId\"]))" True' \
        'is issue "j[\"expiresAt\"].endswith(\"Z\")" True'
KID=$(jget "$T_DIR/issue.json" "j['keyId']")
cli retrieve "$U2" "$K2" retrieve "$KID" call-ok@ue1 tel:+15550000001 "sip:+15550000002@$DOMAIN"
check "callee retrieves once: 200 with the same keyId" all 'is retrieve "j[\"http\"]" 200' "is retrieve \"j['keyId']\" $KID"
check "unwrap gives the same 32 bytes on both sides (SHA-256 fingerprints)" \
    is retrieve "j['keySha256'] == '$(jget "$T_DIR/issue.json" "j['keySha256']")' and len(j['keySha256']) == 64" True
cli again "$U2" "$K2" retrieve "$KID" call-ok@ue1 tel:+15550000001 tel:+15550000002
check "second retrieve: 410 KEY_ALREADY_RETRIEVED" refused again 410 KEY_ALREADY_RETRIEVED

# --- nonce reuse: one challenge for a whole series of requests -------------------------------------------------------
cli series "$U1" "$K1" -n 5 issue call-2@ue1 15550000001 15550000002
check "client reuses the nonce with nc+1: 5 issues, 1 challenge, later requests without a 401" \
    all '[ "$(grep -c "\"http\":201" "$T_DIR/series.all")" = 5 ]' \
        '[ "$(tail -n 1 "$T_DIR/series.all" | python3 -c "import json,sys; j=json.load(sys.stdin); print(j[\"challenges\"], j[\"authRounds\"])")" = "1 0" ]'

# --- refusals: wrong user, wrong callId, not allowed, unknown key ----------------------------------------------------
cli wrongcaller "$U3" "$K3" issue call-ok@ue1 tel:+15550000001 tel:+15550000002
check "issue by someone who is not the caller: 403 CALL_NOT_AUTHORIZED" refused wrongcaller 403 CALL_NOT_AUTHORIZED
cli issue2 "$U1" "$K1" issue call-ok@ue1 tel:+15550000001 tel:+15550000002
KID2=$(jget "$T_DIR/issue2.json" "j['keyId']")
cli wronguser "$U3" "$K3" retrieve "$KID2" call-ok@ue1 tel:+15550000001 tel:+15550000002
check "retrieve by a user who is not the callee: 403 CALL_NOT_AUTHORIZED" refused wronguser 403 CALL_NOT_AUTHORIZED
cli wrongcall "$U2" "$K2" retrieve "$KID2" call-2@ue1 tel:+15550000001 tel:+15550000002
check "retrieve naming another callId: 403 CALL_NOT_AUTHORIZED" refused wrongcall 403 CALL_NOT_AUTHORIZED
cli stillok "$U2" "$K2" retrieve "$KID2" call-ok@ue1 tel:+15550000001 tel:+15550000002
check "refused attempts do not consume the key: the callee still gets it" is stillok "j['http']" 200
cli unknowncall "$U1" "$K1" issue call-unknown tel:+15550000001 tel:+15550000002
check "issue for a call the AS does not know: 403 CALL_NOT_AUTHORIZED" refused unknowncall 403 CALL_NOT_AUTHORIZED
cli denied "$U1" "$K1" issue call-denied tel:+15550000001 tel:+15550000002
check "issue for a call without encryptionAllowed: 403 CALL_NOT_AUTHORIZED" refused denied 403 CALL_NOT_AUTHORIZED
cli mismatch "$U1" "$K1" issue call-1-3 tel:+15550000001 tel:+15550000002
check "issue naming another callee than the AS record: 403" refused mismatch 403 CALL_NOT_AUTHORIZED
cli nokey "$U2" "$K2" retrieve AAAAAAAAAAAAAAAAAAAAAA call-ok@ue1 tel:+15550000001 tel:+15550000002
check "retrieve of an unknown keyId: 404 KEY_NOT_FOUND" refused nokey 404 KEY_NOT_FOUND
check "audit: refusals carry their reason" \
    all 'audit_has action=issue outcome=refused reason=call_not_found callId=call-unknown' \
        'audit_has action=issue outcome=refused reason=encryption_not_allowed' \
        'audit_has action=issue outcome=refused reason=party_mismatch' \
        'audit_has action=retrieve outcome=refused reason=already_retrieved' \
        'audit_has action=issue outcome=refused reason=requester_not_caller requester=tel:+15550000003'

# --- delete -------------------------------------------------------------------------------------------------------------
cli issue3 "$U1" "$K1" issue call-ok@ue1 tel:+15550000001 tel:+15550000002
check "a second key for the same call: 201" is issue3 "j['http']" 201
KID3=$(jget "$T_DIR/issue3.json" "j['keyId']")
cli del3 "$U3" "$K3" delete "$KID3"
check "delete by a third party: 403" refused del3 403 CALL_NOT_AUTHORIZED
cli del1 "$U2" "$K2" delete "$KID3"
check "delete by the callee (BYE): 204" is del1 "(j['result'], j['http'])" "('ok', 204)"
cli gone "$U2" "$K2" retrieve "$KID3" call-ok@ue1 tel:+15550000001 tel:+15550000002
check "retrieve after delete: 404 KEY_NOT_FOUND" refused gone 404 KEY_NOT_FOUND

# --- foreign client: curl over TLS 1.3 + h2 with Digest ----------------------------------------------------------------
BODY_CURL='{"callId":"call-curl","caller":"tel:+15550000001","callee":"tel:+15550000002"}'
# kcurl NAME [CURL ARGS...] URL-PATH: body NAME.json, "status ctype httpver" NAME.meta, headers NAME.hdr
kcurl() {
    local name=$1
    shift
    local path=${*: -1}
    curl -sS --http2 --tlsv1.3 --cacert "$CA" -o "$T_DIR/$name.json" -D "$T_DIR/$name.hdr" \
        -w '%{http_code} %{content_type} %{http_version}\n' "${@:1:$#-1}" "$URL$path" >"$T_DIR/$name.meta" 2>>"$T_DIR/curl.log" || true
    # every answer checked against docs/openapi/mihua-kms.yaml; failures counted at the end
    local method=GET arg prev="" st ctype
    for arg in "$@"; do
        case $prev in -X) method=$arg ;; -d | --data-binary) [ "$method" = GET ] && method=POST ;; esac
        prev=$arg
    done
    read -r st ctype _ <"$T_DIR/$name.meta"
    [ "$ctype" != 2 ] || ctype="" # no content type: the field was empty
    [ "$st" != 405 ] || return 0  # a method the API does not have: nothing in the document to check against
    openapi_conforms mihua-kms.yaml "$method" "$path" "$st" "$ctype" "$T_DIR/$name.json" 2>>"$T_DIR/openapi.fail" ||
        echo "$name" >>"$T_DIR/openapi.bad"
    echo "$name" >>"$T_DIR/openapi.checked"
}
meta() { [ "$(cat "$T_DIR/$1.meta")" = "$2" ] || { echo "  $1: meta $(cat "$T_DIR/$1.meta"), want $2" >&2; return 1; }; }
problem() { all "meta $1 '$2 application/problem+json 2'" "is $1 \"(j['status'], j.get('cause'))\" \"($2, '$3')\""; }
JSONH=(-H 'content-type: application/json')
kcurl curl_issue --digest -u "15550000001:$K1" "${JSONH[@]}" -d "$BODY_CURL" /kms/v1/session-keys
check "curl --digest -u MSISDN:KEY over TLS 1.3 + h2: 201 application/json" meta curl_issue "201 application/json 2"
check "curl: keyId, wrappedKey (54 base64url chars) and expiresAt" \
    is curl_issue "(len(j['keyId']), len(j['wrappedKey']), j['expiresAt'][4], j['expiresAt'][-1])" "(22, 54, '-', 'Z')"
CKID=$(jget "$T_DIR/curl_issue.json" "j['keyId']")
check "curl: Location names the new key" grep -qi "^location: https://127.0.0.1:[0-9]*/kms/v1/session-keys/$CKID" "$T_DIR/curl_issue.hdr"
kcurl curl_retr --digest -u "15550000002:$K2" "${JSONH[@]}" -d "$BODY_CURL" "/kms/v1/session-keys/$CKID/retrieve"
check "curl: the callee retrieves it (200)" meta curl_retr "200 application/json 2"
# An independent implementation of DESIGN §4 (Python cryptography): HKDF-SHA256(kms_key, callId, "mihua kek"),
# RFC 5649 unwrap; both sides must get the same 32 bytes.
check "independent unwrap (Python cryptography): the same 32 bytes for caller and callee" python3 - \
    "$T_DIR/curl_issue.json" "$T_DIR/curl_retr.json" "$K1" "$K2" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding
def unwrap(path, kms_key_hex):
    j = json.load(open(path))
    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"call-curl", info=b"mihua kek").derive(bytes.fromhex(kms_key_hex))
    w = j["wrappedKey"]
    return aes_key_unwrap_with_padding(kek, base64.urlsafe_b64decode(w + "=" * (-len(w) % 4)))
a, b = unwrap(sys.argv[1], sys.argv[3]), unwrap(sys.argv[2], sys.argv[4])
sys.exit(0 if a == b and len(a) == 32 else 1)
PY

# --- bad inputs ---------------------------------------------------------------------------------------------------------
kcurl noauth "${JSONH[@]}" -d "$BODY_CURL" /kms/v1/session-keys
check "no Authorization: 401 AUTHENTICATION_REQUIRED with a SHA-256 Digest challenge" \
    all 'problem noauth 401 AUTHENTICATION_REQUIRED' \
        'grep -qi "^www-authenticate: Digest realm=\"mihua-kms\", qop=\"auth\", algorithm=SHA-256, nonce=" "$T_DIR/noauth.hdr"'
kcurl badpw --digest -u "15550000001:$K2" "${JSONH[@]}" -d "$BODY_CURL" /kms/v1/session-keys
check "bad Digest (wrong password): 401 AUTHENTICATION_FAILED" problem badpw 401 AUTHENTICATION_FAILED
kcurl nouser --digest -u "15559999999:$K1" "${JSONH[@]}" -d "$BODY_CURL" /kms/v1/session-keys
check "unknown user: the same 401 AUTHENTICATION_FAILED" problem nouser 401 AUTHENTICATION_FAILED
kcurl malformed -H 'authorization: Digest username="15550000001", nonce=' "${JSONH[@]}" -d "$BODY_CURL" /kms/v1/session-keys
check "malformed Authorization: 400 MANDATORY_IE_INCORRECT naming Authorization" \
    all 'problem malformed 400 MANDATORY_IE_INCORRECT' 'is malformed "j[\"invalidParams\"][0][\"param\"]" Authorization'
kcurl missing --digest -u "15550000001:$K1" "${JSONH[@]}" -d '{"callId":"call-curl"}' /kms/v1/session-keys
check "missing caller and callee: 400 MANDATORY_IE_MISSING with both in invalidParams" \
    all 'problem missing 400 MANDATORY_IE_MISSING' \
        'is missing "\",\".join(sorted(p[\"param\"] for p in j[\"invalidParams\"]))" callee,caller'
kcurl nobody --digest -u "15550000001:$K1" -X POST /kms/v1/session-keys
check "no body at all: 400 MANDATORY_IE_MISSING" problem nobody 400 MANDATORY_IE_MISSING
kcurl wrongtype --digest -u "15550000001:$K1" "${JSONH[@]}" -d '{"callId":7,"caller":"tel:+15550000001","callee":"tel:+15550000002"}' /kms/v1/session-keys
check "callId not a string: 400 MANDATORY_IE_INCORRECT" problem wrongtype 400 MANDATORY_IE_INCORRECT
kcurl array --digest -u "15550000001:$K1" "${JSONH[@]}" -d '[1,2]' /kms/v1/session-keys
check "body not an object: 400 INVALID_MSG_FORMAT" problem array 400 INVALID_MSG_FORMAT
kcurl badjson "${JSONH[@]}" -d '{"callId": "x",' /kms/v1/session-keys
check "bad JSON: 400 INVALID_MSG_FORMAT" problem badjson 400 INVALID_MSG_FORMAT
head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"callId":"/; s/$/"}/' >"$T_DIR/big.json"
kcurl big "${JSONH[@]}" --data-binary "@$T_DIR/big.json" /kms/v1/session-keys
check "oversized body: 413 PAYLOAD_TOO_LARGE" problem big 413 PAYLOAD_TOO_LARGE
kcurl longid --digest -u "15550000001:$K1" "${JSONH[@]}" -d "{\"callId\":\"$(printf 'c%.0s' {1..300})\",\"caller\":\"tel:+15550000001\",\"callee\":\"tel:+15550000002\"}" /kms/v1/session-keys
check "callId over 256 characters: 400 MANDATORY_IE_INCORRECT" problem longid 400 MANDATORY_IE_INCORRECT
kcurl xml --digest -u "15550000001:$K1" -H 'content-type: application/xml' -d '<a/>' /kms/v1/session-keys
check "non-JSON media type: 415" problem xml 415 UNSUPPORTED_MEDIA_TYPE
kcurl getkeys -X GET /kms/v1/session-keys
check "GET on the collection: 405" grep -q "^405 " "$T_DIR/getkeys.meta"

# Replayed nonce: compute one Authorization header by hand (RFC 7616 §3.4.1) and send it twice.
NONCE=$(sed -n 's/.*nonce="\([^"]*\)".*/\1/p' "$T_DIR/noauth.hdr" | tr -d '\r')
OPAQUE=$(sed -n 's/.*opaque="\([^"]*\)".*/\1/p' "$T_DIR/noauth.hdr" | tr -d '\r')
digest_header() { python3 - "$@" <<'PY'
import hashlib, sys
user, pw, nonce, opaque, nc = sys.argv[1:6]
h = lambda s: hashlib.sha256(s.encode()).hexdigest()
uri, cnonce = "/kms/v1/session-keys", "abcdefgh"
resp = h(":".join([h(f"{user}:mihua-kms:{pw}"), nonce, nc, cnonce, "auth", h(f"POST:{uri}")]))
print(f'Digest username="{user}", realm="mihua-kms", uri="{uri}", algorithm=SHA-256, nonce="{nonce}", '
      f'nc={nc}, cnonce="{cnonce}", qop=auth, response="{resp}", opaque="{opaque}"')
PY
}
AUTH=$(digest_header 15550000001 "$K1" "$NONCE" "$OPAQUE" 00000001)
kcurl replay1 -H "authorization: $AUTH" "${JSONH[@]}" -d "$BODY_CURL" /kms/v1/session-keys
kcurl replay2 -H "authorization: $AUTH" "${JSONH[@]}" -d "$BODY_CURL" /kms/v1/session-keys
check "hand-made Digest header: accepted once (201)" meta replay1 "201 application/json 2"
check "the same header again (replayed nonce+nc): 401 NONCE_REPLAYED" problem replay2 401 NONCE_REPLAYED
AUTH=$(digest_header 15550000001 "$K1" "$NONCE" "$OPAQUE" 00000002)
kcurl nc2 -H "authorization: $AUTH" "${JSONH[@]}" -d "$BODY_CURL" /kms/v1/session-keys
check "the same nonce with nc+1: accepted (201)" meta nc2 "201 application/json 2"
AUTH=$(digest_header 15550000001 "$K1" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "$OPAQUE" 00000001)
kcurl stale -H "authorization: $AUTH" "${JSONH[@]}" -d "$BODY_CURL" /kms/v1/session-keys
check "a nonce the KMS never issued: 401 NONCE_STALE with stale=true" \
    all 'problem stale 401 NONCE_STALE' 'grep -qi "^www-authenticate: .*stale=true" "$T_DIR/stale.hdr"'

# --- AS down, then back: fail closed, the KMS keeps serving --------------------------------------------------------------
stop_daemon "$as_PID" || true
cli asdown "$U1" "$K1" issue call-ok@ue1 tel:+15550000001 tel:+15550000002
check "AS down: 403 CALL_NOT_AUTHORIZED (fail closed)" refused asdown 403 CALL_NOT_AUTHORIZED
check "audit: as_unreachable" audit_has action=issue outcome=refused reason=as_unreachable
start_daemon as2 "$TOOLS/mihua-kms-as-standin" --calls "$T_DIR/calls.json" --listen "127.0.0.1:$AS_PORT"
cli asback "$U1" "$K1" issue call-ok@ue1 tel:+15550000001 tel:+15550000002
check "AS back on its port: the same KMS issues again (201)" is asback "j['http']" 201

# --- slow AS: bounded timeout -----------------------------------------------------------------------------------------------
start_daemon slowas "$TOOLS/mihua-kms-as-standin" --calls "$T_DIR/calls.json" --delay-ms 3000 --listen 127.0.0.1:0
kms_conf kmsslow "$(sed -n 's/^READY kms-as-standin sbi=//p' "$T_DIR/slowas.out")" 60 200
start_daemon kmsslow "$KMS" -c "$T_DIR/kmsslow.json"
t0=$(date +%s%N)
CLI_URL=$(sed -nE 's/^READY mihua-kms sbi=([^ ]+).*/\1/p' "$T_DIR/kmsslow.out") cli slow "$U1" "$K1" issue call-ok@ue1 tel:+15550000001 tel:+15550000002
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "slow AS (3 s) with as.timeout_ms 200: 403 well before the AS answers (${ms} ms)" \
    all 'refused slow 403 CALL_NOT_AUTHORIZED' '[ "$ms" -lt 2500 ]'
check "audit: as_timeout" grep -q '"reason":"as_timeout"' "$T_DIR/kmsslow-audit.jsonl"

# --- expiry --------------------------------------------------------------------------------------------------------------
kms_conf kmsttl "$AS_URL" 1 3000
start_daemon kmsttl "$KMS" -c "$T_DIR/kmsttl.json"
export CLI_URL
CLI_URL=$(sed -nE 's/^READY mihua-kms sbi=([^ ]+).*/\1/p' "$T_DIR/kmsttl.out")
cli ttl_issue "$U1" "$K1" issue call-ok@ue1 tel:+15550000001 tel:+15550000002
TKID=$(jget "$T_DIR/ttl_issue.json" "j['keyId']")
sleep 1.3 # the TTL is the subject of this check; nothing to wait for but time
cli ttl_retr "$U2" "$K2" retrieve "$TKID" call-ok@ue1 tel:+15550000001 tel:+15550000002
check "retrieve after the TTL (1 s): 404 KEY_NOT_FOUND" refused ttl_retr 404 KEY_NOT_FOUND
unset CLI_URL

# --- audit log and logs: one JSON object per line, no key material ------------------------------------------------------
check "audit: every line is a JSON object with time, requester, action, outcome" python3 - "$AUDIT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if rows and all({"time", "requester", "action", "outcome"} <= set(r) for r in rows) else 1)
PY
check "audit: keyIds appear only as their 8-hex-digit hash" \
    all "! grep -q -e '$KID' -e '$KID2' -e '$CKID' '$AUDIT'" 'grep -q "\"keyIdHash\":\"[0-9a-f]\{8\}\"" "$AUDIT"'
check "logs (at debug level): no keyId, wrappedKey or kms_key" \
    bash -c "! grep -q -e '$KID' -e '$CKID' -e '$(jget "$T_DIR/curl_issue.json" "j['wrappedKey']")' -e '$K1' -e '$K2' '$T_DIR/kms.log'"

# --- SIGHUP, SIGTERM -----------------------------------------------------------------------------------------------------
kill -HUP "$kms_PID"
wait_for "$T_DIR/kms.log" "reloaded .*generation 2"
cli afterhup "$U1" "$K1" issue call-ok@ue1 tel:+15550000001 tel:+15550000002
check "SIGHUP reloads and the KMS keeps serving" is afterhup "j['http']" 201
rc=0; stop_daemon "$kms_PID" || rc=$?
check "SIGTERM: exit 0" [ "$rc" = 0 ]
check "no sanitizer reports" bash -c "! grep -q 'Sanitizer' '$T_DIR'/*.log"

check "every answer to curl conforms to docs/openapi/mihua-kms.yaml ($(wc -l <"$T_DIR/openapi.checked") checked)" \
    [ ! -s "$T_DIR/openapi.bad" ]
[ ! -s "$T_DIR/openapi.bad" ] || cat "$T_DIR/openapi.fail" >&2
finish
