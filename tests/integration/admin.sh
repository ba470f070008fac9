#!/usr/bin/env bash
# The simulators' admin API (DESIGN §5) with a foreign HTTP/2 client (curl, h2c prior knowledge): reads, changes
# that the protocol side serves at once, validation errors as ProblemDetails, changes stored in the subscriber
# database (inspected with the sqlite3 shell) that survive a restart, and mihua-hss and mihua-udm sharing that
# database: a change through either is served by the other without a reload.
. "$(dirname "$0")/lib.sh"

SUBS=$T_DIR/subscribers.json
DB=$T_DIR/subscribers.db # the default: next to the file
cp "$MIHUA_SRC/conf/subscribers.json" "$SUBS"
PORT=$(free_port)
start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$PORT" \
    --admin-listen 127.0.0.1:0
admin_url() { sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/$1.out"; }
ADMIN=$(admin_url hss)

# http NAME METHOD PATH [BODY|@FILE [CONTENT-TYPE]]: answer body into $T_DIR/NAME.json, "status content-type" into NAME.st
http() {
    local name=$1 method=$2 path=$3 body=${4-} ct=${5:-application/json}
    local args=(-s --http2-prior-knowledge "${T_AUTH[@]}" -X "$method" -o "$T_DIR/$name.json" -w '%{http_code} %{content_type}'
                -D "$T_DIR/$name.hdr")
    [ -n "$body" ] && args+=(-H "content-type: $ct" --data-binary "$body")
    curl "${args[@]}" "$ADMIN$path" >"$T_DIR/$name.st"
}
st() { cut -d' ' -f1 "$T_DIR/$1.st"; }
ct() { cut -d' ' -f2- "$T_DIR/$1.st"; }
is() { [ "$(jget "$T_DIR/$1.json" "$2")" = "$3" ] || { echo "  $1: $2 = $(jget "$T_DIR/$1.json" "$2" 2>&1), want $3" >&2; return 1; }; }
rat_of() { # rat_of NAME IMPU: Sh T-ADS RAT-Type as the HSS answers it now
    "$MIHUA_BIN/mihua-probe" sh --hss "127.0.0.1:$PORT" --impu "$2" --data-ref tads --json >"$T_DIR/$1.json" || true
    jget "$T_DIR/$1.json" "j.get('shData',{}).get('tadsInformation',{}).get('ratType', j.get('experimentalResult',{}).get('code'))"
}

http list GET /admin/v1/subscribers
check "list: 200 application/json" [ "$(cat "$T_DIR/list.st")" = "200 application/json" ]
check "list: six subscribers" is list "len(j['subscribers'])" 6

http one GET /admin/v1/subscribers/001010000000001
check "get one: 200 with its MSISDN" is one "j['msisdn']" 15550000001
check "get one: kms_key is write-only (not in the answer)" is one "'kms_key' in j" False
check "list: no kms_key anywhere" is list "any('kms_key' in s for s in j['subscribers'])" False
check "get one: sip_password is write-only too" is one "'sip_password' in j" False
check "list: no sip_password anywhere" is list "any('sip_password' in s for s in j['subscribers'])" False
http missing GET /admin/v1/subscribers/001019999999999
check "unknown IMSI: 404 problem+json USER_NOT_FOUND" [ "$(st missing) $(ct missing)" = "404 application/problem+json" ]
check "unknown IMSI: cause" is missing "j['cause']" USER_NOT_FOUND
http badimsi GET /admin/v1/subscribers/12ab
check "bad IMSI: 400 naming the imsi parameter" is badimsi "(j['status'], j['invalidParams'][0]['param'])" "(400, 'imsi')"

check "before: user 1 on NR" [ "$(rat_of r0 tel:+15550000001)" = 1006 ]
http patch PATCH /admin/v1/subscribers/001010000000001 '{"access":{"rat":"UTRAN"}}' application/merge-patch+json
check "merge patch: 200" [ "$(st patch)" = 200 ]
check "merge patch: the answer shows UTRAN, other fields kept" is patch "(j['access'], j['msisdn'])" \
    "({'rat': 'UTRAN', 'ims_vops': True}, '15550000001')"
check "merge patch: the next UDR sees UTRAN" [ "$(rat_of r1 tel:+15550000001)" = 1000 ]
check "merge patch: stored in the database (sqlite3), kms_key and sip_password kept" \
    [ "$(sqlite3 "$DB" "SELECT rat, length(kms_key), length(sip_password) > 0 FROM subscriber
                        WHERE imsi='001010000000001'")" = "UTRAN|32|1" ]
check "merge patch: the subscriber file is the operator's, untouched" cmp -s "$SUBS" "$MIHUA_SRC/conf/subscribers.json"

http badrat PATCH /admin/v1/subscribers/001010000000001 '{"access":{"rat":"LTE"}}' application/merge-patch+json
check "bad enum: 400 naming /access/rat" is badrat "(j['status'], j['invalidParams'][0]['param'])" "(400, '/access/rat')"
check "bad enum: data unchanged" [ "$(rat_of r2 tel:+15550000001)" = 1000 ]
K1=$(jget "$SUBS" "j['subscribers'][0]['kms_key']")
http dupkey PATCH /admin/v1/subscribers/001010000000002 "{\"kms_key\":\"$K1\"}" application/merge-patch+json
check "kms_key of another subscriber: 400 naming /kms_key and both IMSIs" \
    is dupkey "(j['status'], j['invalidParams'][0]['param'], '001010000000001' in j['detail'] and '001010000000002' in j['detail'])" \
    "(400, '/kms_key', True)"
check "kms_key of another subscriber: the old key stays" \
    [ "$(sqlite3 "$DB" "SELECT hex(kms_key) FROM subscriber WHERE imsi='001010000000002'")" = \
      "$(jget "$SUBS" "j['subscribers'][1]['kms_key'].upper()")" ]

NEW='{"msisdn":"15550000007","impu":["sip:+15550000007@ims.mnc001.mcc001.3gppnetwork.org","tel:+15550000007"],
 "voice_encryption":true,"access":{"rat":"EUTRAN","ims_vops":true}}'
http put PUT /admin/v1/subscribers/001010000000007 "$NEW"
check "PUT new: 201" [ "$(st put)" = 201 ]
check "PUT new: Location" grep -qi "^location: /admin/v1/subscribers/001010000000007" "$T_DIR/put.hdr"
check "PUT new: the next UDR finds it" [ "$(rat_of r3 tel:+15550000007)" = 1004 ]
http dup PUT /admin/v1/subscribers/001010000000008 "${NEW/001010000000007/x}"
check "duplicate MSISDN: 400 with invalidParams" is dup "(j['status'], 'invalidParams' in j)" "(400, True)"
http other PUT /admin/v1/subscribers/001010000000008 '{"imsi":"001010000000009"}'
check "body IMSI differs from path: 400 /imsi" is other "j['invalidParams'][0]['param']" /imsi
http syntax PUT /admin/v1/subscribers/001010000000008 '{"msisdn": }'
check "bad JSON: 400 INVALID_MSG_FORMAT" is syntax "(j['status'], j['cause'])" "(400, 'INVALID_MSG_FORMAT')"
check "bad JSON: detail names line:column" is syntax "__import__('re').search(r'1:1[0-9]', j['detail']) is not None" True
http ctype PUT /admin/v1/subscribers/001010000000008 'msisdn=1' application/x-www-form-urlencoded
check "wrong content type: 415" [ "$(st ctype)" = 415 ]
http method POST /admin/v1/subscribers/001010000000001 '{}'
check "wrong method: 405 with Allow" bash -c "[ $(st method) = 405 ] && grep -qi '^allow: .*PATCH' '$T_DIR/method.hdr'"
head -c 70000000 /dev/zero | tr '\0' ' ' >"$T_DIR/big.body"
http big PUT /admin/v1/subscribers/001010000000008 "@$T_DIR/big.body"
check "body over the admin bound (64 MiB): 413" [ "$(st big)" = 413 ]

http del DELETE /admin/v1/subscribers/001010000000007
check "DELETE: 204" [ "$(st del)" = 204 ]
check "DELETE: the next UDR says user unknown" [ "$(rat_of r4 tel:+15550000007)" = 5001 ]
http del2 DELETE /admin/v1/subscribers/001010000000007
check "DELETE again: 404" [ "$(st del2)" = 404 ]

http metrics GET /metrics
check "metrics: Prometheus text with UDR counts" grep -q '^mihua_hss_udr_total{result="success"} [1-9]' "$T_DIR/metrics.json"

# Restart: what the admin API changed is still there.
check "SIGTERM: exit 0" stop_daemon "$hss_PID"
: >"$T_DIR/hss.out"
start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$PORT" \
    --admin-listen 127.0.0.1:0
ADMIN=$(admin_url hss)
check "after restart: user 1 still on UTRAN" [ "$(rat_of r5 tel:+15550000001)" = 1000 ]

# A broken file: reload refuses with 409 and the file position; writes go on (the database does not depend on the
# file), the data in force stays.
cp "$SUBS" "$T_DIR/good.json"
printf '{"subscribers": [\n  {"imsi": 1}\n]}\n' >"$SUBS"
http reload POST /admin/v1/reload
check "reload of a broken file: 409 naming file:line:column" is reload \
    "(j['status'], 'subscribers.json:2:' in j['detail'])" "(409, True)"
check "broken file: the old data still answers" [ "$(rat_of r6 tel:+15550000001)" = 1000 ]
http during PATCH /admin/v1/subscribers/001010000000002 '{"voice_encryption":false}' application/merge-patch+json
check "write while the file is broken: 200" [ "$(st during)" = 200 ]
cp "$T_DIR/good.json" "$SUBS"
http reload2 POST /admin/v1/reload
check "reload of a good file: 200 with the count" is reload2 "j['subscribers']" 6
check "reload imports the file again: user 1 back on NR" [ "$(rat_of r6b tel:+15550000001)" = 1006 ]

# mihua-udm on the same database: a change through either admin API is served by the other without a reload.
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
UDM_SBI=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) .*/\1/p' "$T_DIR/udm.out")
amf() { curl -s --http2-prior-knowledge -o "$T_DIR/$1.json" -w '%{http_code}' \
    "$UDM_SBI/nudm-uecm/v1/imsi-001010000000002/registrations/amf-3gpp-access"; }
check "udm: user 2 on EUTRAN has no 5GS registration (404)" [ "$(amf amf0)" = 404 ]
ADMIN=$(admin_url udm)
http upatch PATCH /admin/v1/subscribers/001010000000002 '{"access":{"rat":"NR"}}' application/merge-patch+json
check "udm admin: merge patch 200" [ "$(st upatch)" = 200 ]
code=$(amf amf1)
check "udm: the next GET sees the NR registration (200)" [ "$code" = 200 ]
check "udm: ratType NR" is amf1 "j['ratType']" NR
rat_is() { [ "$(rat_of "$1" "$2")" = "$3" ]; } # evaluated at each poll of wait_until
amf_is() { [ "$(amf "$1")" = "$2" ]; }
check "hss: serves the UDM's change (user 2 on NR) without a reload" wait_until 1000 rat_is r7 tel:+15550000002 1006
ADMIN=$(admin_url hss)
http hpatch PATCH /admin/v1/subscribers/001010000000002 '{"access":{"rat":"GERAN"}}' application/merge-patch+json
check "udm: serves the HSS's change (user 2 on GERAN: 404) without a reload" wait_until 1000 amf_is amf2 404
check "udm SIGTERM: exit 0" stop_daemon "$udm_PID"

finish
