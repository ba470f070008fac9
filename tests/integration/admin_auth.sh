#!/usr/bin/env bash
# Operator listeners take a bearer token (RFC 6750; lib/sbi/sbi_auth.h), proven with foreign clients (curl, nghttp):
# the HSS and UDM admin APIs, the AS's SBI port (call records, metrics) and the KMS's /metrics answer 401 with the
# right WWW-Authenticate and a ProblemDetails without the token or with a wrong one, serve it with the right one;
# wrong tokens from one address are refused with 429 + Retry-After after admin_auth.max_failures while another
# address is still served, counted in mihua_admin_auth_failures_total; every change is logged with the client's
# address and no secret. The security review's finding 4 replayed: a PATCH of a subscriber's kms_key without the
# token is refused and the real UE still passes KMS Digest, the call encrypted. A KMS without the AS's token is
# refused by the AS, so it refuses the key and the call goes on plain, saying why. A non-loopback operator listener
# without a token does not start (exit 2); on loopback it starts with a warning and admin_auth=off.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ue_lib.sh"

MAX_FAILURES=3
# req NAME URL [CURL ARGS...]: body in NAME.json, headers in NAME.hdr, status printed
req() {
    local name=$1 url=$2
    shift 2
    curl -s --http2-prior-knowledge -o "$T_DIR/$name.json" -D "$T_DIR/$name.hdr" -w '%{http_code}' "$@" "$url"
}
hdr() { grep -i "^$2:" "$T_DIR/$1.hdr" | tr -d '\r' | cut -d' ' -f2-; }
problem() { # problem NAME STATUS: an application/problem+json ProblemDetails with that status
    [ "$(hdr "$1" content-type)" = application/problem+json ] && [ "$(jget "$T_DIR/$1.json" "j['status']")" = "$2" ]
}
patch_body='{"kms_key":"'$(printf '%064x' 77)'"}'
attack() { # attack NAME URL [CURL ARGS...]: finding 4, a PATCH of subscriber 2's kms_key
    req "$1" "$2/admin/v1/subscribers/001010000000002" -X PATCH -H 'content-type: application/merge-patch+json' \
        --data "$patch_body" "${@:3}"
}

# --- the network with the test's token (lib.sh), and a UDM whose failure bound is small ------------------------
net_up
printf '{"admin_auth": {"max_failures": %d, "window_s": 600}}\n' "$MAX_FAILURES" >"$T_DIR/udm-auth.json"
stop_daemon "$udm_PID" || true
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$T_DIR/udm-auth.json" --subscribers "$SUBS" \
    --listen "127.0.0.1:$UDM_PORT" --admin-listen 127.0.0.1:0
UDM_ADMIN=$(sed -E 's/.* admin=([^ ]+).*/\1/' "$T_DIR/udm.out")
check "READY lines do not say admin_auth=off when a token is set" \
    bash -c "! grep -h admin_auth=off '$T_DIR/hss.out' '$T_DIR/udm.out' '$T_DIR/as.out' '$T_DIR/kms.out'"

# --- no token, wrong token, right token (curl) -----------------------------------------------------------------------
for d in HSS UDM; do
    url_var=${d}_ADMIN
    url=${!url_var}
    lc=${d,,}
    check "$lc admin: no token → 401" [ "$(req ${lc}_none "$url/admin/v1/subscribers/001010000000001")" = 401 ]
    check "$lc admin: WWW-Authenticate: Bearer realm=\"mihua\", ProblemDetails 401" \
        all "[ \"\$(hdr ${lc}_none www-authenticate)\" = 'Bearer realm=\"mihua\"' ]" "problem ${lc}_none 401"
    check "$lc admin: a route that does not exist is refused too (before routing)" \
        [ "$(req ${lc}_noroute "$url/admin/v1/nothing")" = 401 ]
    check "$lc admin: wrong token → 401 error=\"invalid_token\"" \
        all "[ \"\$(req ${lc}_wrong '$url/admin/v1/subscribers/001010000000001' --oauth2-bearer wrong-token-0123456789)\" = 401 ]" \
            "[ \"\$(hdr ${lc}_wrong www-authenticate)\" = 'Bearer realm=\"mihua\", error=\"invalid_token\"' ]" \
            "problem ${lc}_wrong 401"
    check "$lc admin: right token → 200 and the subscriber" \
        all "[ \"\$(req ${lc}_ok '$url/admin/v1/subscribers/001010000000001' \"\${T_AUTH[@]}\")\" = 200 ]" \
            "[ \"\$(jget '$T_DIR/${lc}_ok.json' \"j['imsi']\")\" = 001010000000001 ]"
done

# --- finding 4 replayed: the KMS secret cannot be replaced without the token ---------------------------------------
check "finding 4: PATCH kms_key on the UDM admin API without a token → 401" [ "$(attack f4_udm "$UDM_ADMIN")" = 401 ]
check "finding 4: the same on the HSS with a wrong token → 401" \
    [ "$(attack f4_hss "$HSS_ADMIN" --oauth2-bearer not-the-token-0123456789)" = 401 ]
check "finding 4: DELETE without a token → 401" [ "$(req f4_del "$HSS_ADMIN/admin/v1/subscribers/001010000000002" -X DELETE)" = 401 ]
check "finding 4: kms_key unchanged in the store" \
    [ "$(sqlite3 "$T_DIR/subscribers.db" "SELECT hex(kms_key) FROM subscriber WHERE imsi = '001010000000002'")" = \
      "$(printf '%064X' 2)" ]
ue_call f4 1 2
expect_encrypted f4 SM4_CM_128_HMAC_SM3_80
check "finding 4: the real UE passed KMS Digest (no 401 in the callee's log)" \
    bash -c "! grep -q 'AUTHENTICATION_FAILED' '$T_DIR/f4.callee.log' '$T_DIR/f4.callee.out'"

# --- nghttp as a second foreign client; changes with the token, logged with the client address ----------------------
nghttp -v "$HSS_ADMIN/admin/v1/subscribers/001010000000003" >"$T_DIR/nghttp_none.txt" 2>&1 || true
nghttp -v -H "authorization: Bearer $T_TOKEN_VALUE" "$HSS_ADMIN/admin/v1/subscribers/001010000000003" \
    >"$T_DIR/nghttp_ok.txt" 2>&1 || true
check "nghttp: 401 with the Bearer challenge without the token, 200 with it" \
    all 'grep -q ":status: 401" "$T_DIR/nghttp_none.txt"' \
        "grep -q 'www-authenticate: Bearer realm=\"mihua\"' \"\$T_DIR/nghttp_none.txt\"" \
        'grep -q ":status: 200" "$T_DIR/nghttp_ok.txt"'
check "right token: PATCH → 200" [ "$(req chg "$HSS_ADMIN/admin/v1/subscribers/001010000000003" -X PATCH "${T_AUTH[@]}" \
    -H 'content-type: application/merge-patch+json' --data "{\"kms_key\":\"$(printf '%064x' 33)\"}")" = 200 ]
check "right token: DELETE → 204" [ "$(req del "$UDM_ADMIN/admin/v1/subscribers/001010000000004" -X DELETE "${T_AUTH[@]}")" = 204 ]
check "the change is logged: method, path, client address:port, status" \
    all 'grep -Eq "INFO hss-admin: change PATCH /admin/v1/subscribers/001010000000003 from 127\.0\.0\.1:[0-9]+: 200" "$T_DIR/hss.log"' \
        'grep -Eq "INFO udm-admin: change DELETE /admin/v1/subscribers/001010000000004 from 127\.0\.0\.1:[0-9]+: 204" "$T_DIR/udm.log"'
check "no log holds the token or a kms_key from a body" \
    bash -c "! grep -qF -e '$T_TOKEN_VALUE' -e '$(printf '%064x' 33)' -e '$(printf '%064x' 77)' '$T_DIR'/*.log"
check "a refused request is logged (rate-limited) with its client address" \
    grep -Eq "INFO hss-admin: refused GET /admin/v1/subscribers/001010000000001 from 127\.0\.0\.1:[0-9]+: no token" \
    "$T_DIR/hss.log"

# --- rate limit: wrong tokens from 127.0.0.2, then 429 for it while 127.0.0.1 is served ------------------------------
codes=""
for i in $(seq 1 $((MAX_FAILURES + 1))); do
    codes+=" $(req rl$i "$UDM_ADMIN/admin/v1/subscribers/001010000000001" --interface 127.0.0.2 --oauth2-bearer "guess-$i-0123456789")"
done
echo "# 127.0.0.2, $((MAX_FAILURES + 1)) wrong tokens:$codes"
check "rate limit: $MAX_FAILURES wrong tokens → 401, the next → 429 ProblemDetails with Retry-After" \
    all "[ '$codes' = '$(printf ' 401%.0s' $(seq 1 $MAX_FAILURES)) 429' ]" "problem rl$((MAX_FAILURES + 1)) 429" \
        "[ \"\$(hdr rl$((MAX_FAILURES + 1)) retry-after)\" -ge 1 ] && [ \"\$(hdr rl$((MAX_FAILURES + 1)) retry-after)\" -le 600 ]"
check "rate limit: the blocked address is refused even with the right token" \
    [ "$(req rl_ok "$UDM_ADMIN/admin/v1/subscribers/001010000000001" --interface 127.0.0.2 "${T_AUTH[@]}")" = 429 ]
check "rate limit: another address is still served" \
    [ "$(req rl_other "$UDM_ADMIN/admin/v1/subscribers/001010000000001" "${T_AUTH[@]}")" = 200 ]
req metrics "$UDM_ADMIN/metrics" "${T_AUTH[@]}" >/dev/null
metric() { awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' "$T_DIR/metrics.json"; }
check "metrics: mihua_admin_auth_failures_total counts the wrong tokens and the blocked requests" \
    all "[ \$(metric 'mihua_admin_auth_failures_total{listener=\"udm-admin\",reason=\"invalid\"}') -ge $((MAX_FAILURES + 1)) ]" \
        "[ \$(metric 'mihua_admin_auth_failures_total{listener=\"udm-admin\",reason=\"blocked\"}') = 2 ]" \
        "[ \$(metric 'mihua_admin_auth_failures_total{listener=\"udm-admin\",reason=\"missing\"}') -ge 2 ]"
check "rate limit: the block is logged once, at WARN, with the address" \
    [ "$(grep -c "WARN udm-admin: 127.0.0.2 sent $MAX_FAILURES wrong tokens" "$T_DIR/udm.log")" = 1 ]

# --- the AS's SBI port and the KMS's /metrics -------------------------------------------------------------------------
check "as: GET /as/v1/calls without a token → 401 ProblemDetails" \
    all "[ \"\$(req as_none '$AS_SBI/as/v1/calls/x')\" = 401 ]" "problem as_none 401"
check "as: GET /metrics without a token → 401, with it → 200" \
    all "[ \"\$(req asm_none '$AS_SBI/metrics')\" = 401 ]" "[ \"\$(req asm_ok '$AS_SBI/metrics' \"\${T_AUTH[@]}\")\" = 200 ]"
check "as: a call record with the token (unknown call) → 404" [ "$(req as_ok "$AS_SBI/as/v1/calls/x" "${T_AUTH[@]}")" = 404 ]
kms_metrics() { curl -s --cacert "$T_DIR/certs/ca.pem" -o /dev/null -w '%{http_code}' "$@" "$KMS_URL/metrics"; }
check "kms: /metrics without the token → 401, with it → 200" \
    all '[ "$(kms_metrics)" = 401 ]' '[ "$(kms_metrics "${T_AUTH[@]}")" = 200 ]'

# --- a KMS without the AS's token: the AS refuses it, the KMS refuses the key, the call goes on plain -----------------
stop_daemon "$kms_PID" || fail "kms: SIGTERM exit 0"
T_TOKEN=0 start_kms
check "kms without tokens on loopback: READY says admin_auth=off, with a WARN line" \
    all 'grep -q "^READY mihua-kms sbi=[^ ]* admin_auth=off$" "$T_DIR/kms.out"' \
        'grep -q "WARN mihua-kms: no admin token" "$T_DIR/kms.log"'
ue_call notoken 1 2
expect_connected notoken
expect_plain notoken caller "KMS refused the key (403"
check "notoken: the KMS's audit names the AS's refusal" grep -q '"reason":"as_refused_kms"' "$T_DIR/kms-audit.jsonl"
check "notoken: the KMS logs what to set" grep -q "the AS refused our call check (401): set as.token_file" "$T_DIR/kms.log"
check "notoken: the AS counted the missing token" \
    [ "$(curl -s --http2-prior-knowledge "${T_AUTH[@]}" "$AS_SBI/metrics" | \
        awk '$1 == "mihua_admin_auth_failures_total{listener=\"as-sbi\",reason=\"missing\"}" { print $2 }')" -ge 1 ]
stop_daemon "$kms_PID" || fail "kms: SIGTERM exit 0"
start_kms
ue_call withtoken 1 2
expect_encrypted withtoken SM4_CM_128_HMAC_SM3_80

# --- start-up policy ------------------------------------------------------------------------------------------------------
refuses() { # refuses NAME CMD...: exit 2 and a message naming the listener and the missing token
    local name=$1 rc=0
    shift
    "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" </dev/null || rc=$?
    [ "$rc" = 2 ] && grep -q "is not a loopback address and no admin token is set" "$T_DIR/$name.err" ||
        { echo "  $name: exit $rc: $(cat "$T_DIR/$name.err")" >&2; return 1; }
}
check "hss: --admin-listen 0.0.0.0:0 without a token → exit 2" \
    refuses hss0 "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$(free_port)" \
        --admin-listen 0.0.0.0:0
check "udm: --admin-listen [::]:0 without a token → exit 2" \
    refuses udm0 "$MIHUA_BIN/mihua-udm" --subscribers "$SUBS" --listen 127.0.0.1:0 --admin-listen '[::]:0'
check "as: --sbi-listen 0.0.0.0:0 without a token → exit 2" \
    refuses as0 "$MIHUA_BIN/mihua-as" -c "$MIHUA_SRC/conf/as.json" --sbi-listen 0.0.0.0:0 --sip-listen 127.0.0.1:0
check "kms: --listen 0.0.0.0:0 without an admin token → exit 2" \
    refuses kms0 "$MIHUA_BIN/mihua-kms" --insecure-h2c --subscribers "$SUBS" --listen 0.0.0.0:0
printf 'short\n' >"$T_DIR/short.token"
rc=0; "$MIHUA_BIN/mihua-udm" --subscribers "$SUBS" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --admin-token-file "$T_DIR/short.token" 2>"$T_DIR/short.err" </dev/null || rc=$?
check "a token file that is not a token → exit 2 naming the setting, not the content" \
    bash -c "[ $rc = 2 ] && grep -q 'admin_token_file: must be 16 to 512 characters' '$T_DIR/short.err' && ! grep -q short '$T_DIR/short.err'"
cp "$T_TOKEN_FILE" "$T_DIR/loose.token"
chmod 644 "$T_DIR/loose.token"
T_TOKEN=0 start_daemon udmloose "$MIHUA_BIN/mihua-udm" --subscribers "$SUBS" --listen 127.0.0.1:0 \
    --admin-listen 0.0.0.0:0 --admin-token-file "$T_DIR/loose.token"
check "a token on 0.0.0.0: starts; a token file others may read gets a WARN" \
    all 'grep -q "^READY mihua-udm sbi=[^ ]* admin=http://0.0.0.0:[0-9]*$" "$T_DIR/udmloose.out"' \
        'grep -q "WARN mihua-udm: admin_token_file .*loose.token may be read by group or others" "$T_DIR/udmloose.log"'
T_TOKEN=0 start_daemon hssoff "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$(free_port)" \
    --admin-listen 127.0.0.1:0
check "hss on loopback without a token: READY ends with admin_auth=off, WARN line, requests served" \
    all 'grep -q "^READY mihua-hss .* admin_auth=off$" "$T_DIR/hssoff.out"' \
        'grep -q "WARN mihua-hss: no admin token" "$T_DIR/hssoff.log"' \
        "[ \"\$(req off \"\$(sed -E 's/.* admin=([^ ]+).*/\\1/' '$T_DIR/hssoff.out')/admin/v1/subscribers/001010000000001\")\" = 200 ]"
check "--help documents --admin-token-file and the config settings" \
    all 'grep -q -- "--admin-token-file" <("$MIHUA_BIN/mihua-hss" --help)' \
        'grep -q "admin_auth.max_failures" <("$MIHUA_BIN/mihua-as" --help)' \
        'grep -q -- "--as-token-file" <("$MIHUA_BIN/mihua-kms" --help)'

finish
