#!/usr/bin/env bash
# SIP Digest at mihua-as (RFC 3261 §22, RFC 8760, RFC 7616 qop=auth; DESIGN §2): the attacks of the security
# issue, each over the wire with a raw UDP client (sip_attack.py), while a mihua-ue callee (the victim, user 2)
# stays registered; then a legit call from user 1 to the victim, still encrypted:
#   REGISTER hijack without credentials -> 401 (SHA-256 challenge first, then MD5), nothing bound; wrong
#   password -> 401; a replayed Authorization (same nonce and nc) -> 401; a nonce the AS never issued with good
#   credentials -> 401 stale=true; `Contact: *` Expires 0 from a stranger -> 401, the victim still bound; eight
#   lockout REGISTERs -> 401 each, the victim can still add a binding; credentials of another subscriber -> 403;
#   an impersonating INVITE "from" the victim sent from another address -> 407, no call record; the same with
#   Proxy-Authorization of the right user -> accepted (then 404: the callee is not registered); a subscriber
#   without sip_password -> 403; 2,000 REGISTERs for unknown AORs -> 403 each, AOR count unchanged, AS RSS
#   bounded. Then AORs per source address capped (403 + metric), binding changes logged with their source and
#   no secret in any log, mihua-ue answering a 407 to its INVITE (checked by a hashlib Digest), and an AS with
#   sip_auth off says so (WARN and READY).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ue_lib.sh"

ATTACK=$MIHUA_SRC/tests/integration/sip_attack.py
SOURCE_CAP=2 # AORs bound from 127.0.0.1 at once: the victim and the caller during the call; two in the cap test
write_subs "1 true NR true" "2 true EUTRAN true" "3 true NR true" "4 true NR true" "5 true NR true" \
    "8 true NR true"
python3 - "$SUBS" <<'PY' # subscriber 8 has no sip_password: it cannot register while authentication is on
import json, sys
d = json.load(open(sys.argv[1]))
del next(s for s in d["subscribers"] if s["msisdn"] == "15550000008")["sip_password"]
json.dump(d, open(sys.argv[1], "w"))
PY
net_up --max-aors-per-source "$SOURCE_CAP"
check "READY line says sip_auth=on" grep -q ' sip_auth=on$' "$T_DIR/as.out"

attack() { python3 "$ATTACK" "$@"; }
metric() { # metric NAME: its value on the AS's /metrics (0 when absent)
    curl "${T_AUTH[@]}" -s --max-time 2 --http2-prior-knowledge "$AS_SBI/metrics" | awk -v n="$1" '$1 == n {print $2; f = 1}
        END {if (!f) print 0}'
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$as_PID/status"; }
V=+15550000002 # the victim

# --- the victim registers (mihua-ue answers the 401 itself) and waits for a call ----------------------------------
ue_conf 1
ue_conf 2
"$UE_BIN" -c "$T_DIR/ue2.json" answer --auto --count 1 --summary "$T_DIR/legit.callee.json" \
    --wav "$T_DIR/callee.wav" --wav-out "$T_DIR/legit.callee.in.wav" >"$T_DIR/legit.callee.out" \
    2>"$T_DIR/legit.callee.log" &
CALLEE_PID=$!
T_PIDS+=("$CALLEE_PID")
check "victim (mihua-ue, user 2) registered through the 401" wait_for "$T_DIR/legit.callee.out" '^READY mihua-ue'
check "registrar logged the binding with its source" \
    grep -qE "registrar: bound tel:\+15550000002 contact=sip:.*@127\.0\.0\.1:[0-9]+ from 127\.0\.0\.1:[0-9]+ expires=[0-9]+" \
    "$T_DIR/as.log"
BINDINGS=$(metric mihua_as_registrations)
check "one binding (the victim's)" [ "$BINDINGS" = 1 ]

# --- finding 1: REGISTER hijack ---------------------------------------------------------------------------------
check "hijack: challenges offered SHA-256 first, then MD5 (RFC 8760 §2.4)" \
    [ "$(attack register "$AS_SIP_PORT" "$V" --show-challenges | head -1)" = "SHA-256 MD5" ]
check "hijack: unauthenticated REGISTER of the victim's AOR -> 401" [ "$(attack register "$AS_SIP_PORT" "$V")" = 401 ]
check "hijack: wrong password -> 401" [ "$(attack register "$AS_SIP_PORT" "$V" --password guess-12345)" = 401 ]
check "hijack: wrong password, MD5 -> 401" \
    [ "$(attack register "$AS_SIP_PORT" "$V" --password guess-12345 --alg MD5)" = 401 ]
check "hijack: credentials of another subscriber (user 3's, right password) -> 403" \
    [ "$(attack register "$AS_SIP_PORT" "$V" --auth-user +15550000003 --password "$(sip_password 3)")" = 403 ]
check "nothing bound by the attempts" [ "$(metric mihua_as_registrations)" = "$BINDINGS" ]

# --- replay and stale nonces (user 3, a subscriber of our own) ------------------------------------------------------
check "user 3 registers with SHA-256 credentials computed by hashlib (an independent Digest) -> 200" \
    [ "$(attack register "$AS_SIP_PORT" +15550000003 --password "$(sip_password 3)" --expires 0)" = 200 ]
check "user 3 registers with MD5 -> 200" \
    [ "$(attack register "$AS_SIP_PORT" +15550000003 --password "$(sip_password 3)" --alg MD5 --expires 0)" = 200 ]
check "replayed Authorization (same nonce, same nc) -> 401" \
    [ "$(attack register "$AS_SIP_PORT" +15550000003 --password "$(sip_password 3)" --replay --expires 0)" = 401 ]
check "good credentials on a nonce the AS never issued -> 401 stale=true" \
    [ "$(attack register "$AS_SIP_PORT" +15550000003 --password "$(sip_password 3)" --forge-nonce)" = "401 stale" ]

# --- finding 2: deregistration and lockout by a stranger ------------------------------------------------------------
check "Contact: * Expires 0 from a stranger -> 401" \
    [ "$(attack register "$AS_SIP_PORT" "$V" --star --expires 0)" = 401 ]
lockout=""
for i in 1 2 3 4 5 6 7 8; do lockout+="$(attack register "$AS_SIP_PORT" "$V" --contact-port $((40000 + i))) "; done
check "lockout: eight REGISTERs with other contacts -> 401 each" [ "$lockout" = "401 401 401 401 401 401 401 401 " ]
check "victim still bound, alone" [ "$(metric mihua_as_registrations)" = "$BINDINGS" ]
check "victim can still add a binding with its password -> 200, and remove it -> 200" \
    [ "$(attack register "$AS_SIP_PORT" "$V" --password "$(sip_password 2)" --contact-port 40100):$(
         attack register "$AS_SIP_PORT" "$V" --password "$(sip_password 2)" --contact-port 40100 --expires 0)" = 200:200 ]

# --- finding 3: impersonation ---------------------------------------------------------------------------------------
check "impersonating INVITE from the victim's AOR, sent from another address -> 407 with Proxy-Authenticate" \
    [ "$(attack invite "$AS_SIP_PORT" "$V" +15550000001 --call-id-file "$T_DIR/imp.callid")" = "407 proxy-authenticate" ]
check "impersonation: no call record (nothing for the KMS to take as allowed)" \
    [ "$(curl "${T_AUTH[@]}" -s --max-time 2 --http2-prior-knowledge -o /dev/null -w '%{http_code}' \
         "$AS_SBI/as/v1/calls/$(cat "$T_DIR/imp.callid")")" = 404 ]
check "INVITE from an unregistered address with the caller's Proxy-Authorization -> accepted (404: callee absent)" \
    [ "$(attack invite "$AS_SIP_PORT" +15550000003 +15550000009 --password "$(sip_password 3)")" = 404 ]

# --- a subscriber without sip_password; finding 8: unknown AORs -----------------------------------------------------
check "subscriber without sip_password -> 403" [ "$(attack register "$AS_SIP_PORT" +15550000008)" = 403 ]
RSS0=$(rss_kb)
AORS0=$(metric mihua_as_registrations)
FLOOD=$(attack flood "$AS_SIP_PORT" 2000)
RSS1=$(rss_kb)
echo "# flood: $FLOOD; AS RSS $RSS0 -> $RSS1 kB"
check "flood: 2,000 REGISTERs for unknown AORs, every answer 403 (none lost)" [ "$FLOOD" = "403:2000" ]
check "flood: no binding added" [ "$(metric mihua_as_registrations)" = "$AORS0" ]
check "flood: AS RSS grew less than 8 MB (each binding cost 11 kB before; transactions are all it keeps)" \
    [ $((RSS1 - RSS0)) -lt 8192 ]

# --- the legit call, after all of that: still encrypted ---------------------------------------------------------------
rc=0
"$UE_BIN" -c "$T_DIR/ue1.json" call tel:$V --duration "$UE_DUR" --summary "$T_DIR/legit.caller.json" \
    --wav "$T_DIR/caller.wav" --wav-out "$T_DIR/legit.caller.in.wav" >"$T_DIR/legit.caller.out" \
    2>"$T_DIR/legit.caller.log" || rc=$?
rc_callee=0
wait "$CALLEE_PID" || rc_callee=$?
check "legit call: caller exit 0 and callee exit 0" [ "$rc:$rc_callee" = 0:0 ]
expect_connected legit
expect_encrypted legit SM4_CM_128_HMAC_SM3_80
expect_audio legit

# --- AORs per source address --------------------------------------------------------------------------------------
capped0=$(metric mihua_as_register_source_capped_total)
check "cap: users 3 and 4 bind from 127.0.0.1 (the call's UEs have unregistered) -> 200" \
    [ "$(attack register "$AS_SIP_PORT" +15550000003 --password "$(sip_password 3)"):$(
         attack register "$AS_SIP_PORT" +15550000004 --password "$(sip_password 4)")" = 200:200 ]
check "cap: a third AOR from 127.0.0.1 (max_aors_per_source $SOURCE_CAP) -> 403" \
    [ "$(attack register "$AS_SIP_PORT" +15550000005 --password "$(sip_password 5)")" = 403 ]
check "cap: counted in mihua_as_register_source_capped_total" \
    [ "$(metric mihua_as_register_source_capped_total)" = $((capped0 + 1)) ]
check "cap: logged" grep -q "refused tel:+15550000005\|refused a new AOR from 127.0.0.1" "$T_DIR/as.log"

# --- logs: every binding change with its source; no secret anywhere -----------------------------------------------
check "registrar logged the removal of a binding with its source" \
    grep -qE "registrar: unbound tel:\+15550000002 contact=sip:.*:40100 from 127\.0\.0\.1:[0-9]+" "$T_DIR/as.log"
check "no password, Digest response or Authorization value in any log" \
    bash -c "! grep -rlE 'sip-secret-|response=|Authorization:' '$T_DIR'/*.log '$T_DIR'/*.out"
check "refusals logged with the source address" \
    grep -qE "REGISTER tel:\+15550000002 from 127\.0\.0\.1:[0-9]+ refused: 401 \(bad_response\)" "$T_DIR/as.log"

# --- mihua-ue answers a 407 to its INVITE (its own flow unknown to the proxy, e.g. after the AS lost it) ----------
python3 "$ATTACK" --timeout 30 fake-proxy "$T_DIR/fake.port" "sip:+15550000001@$MIHUA_TEST_DOMAIN" \
    "$(sip_password 1)" >"$T_DIR/fake.out" 2>"$T_DIR/fake.err" &
FAKE_PID=$!
T_PIDS+=("$FAKE_PID")
wait_for "$T_DIR/fake.port" '^[0-9]+$'
"$UE_BIN" -c "$T_DIR/ue1.json" --registrar "127.0.0.1:$(cat "$T_DIR/fake.port")" call tel:$V --duration 0.2 \
    >"$T_DIR/ue407.out" 2>"$T_DIR/ue407.log" || true
wait "$FAKE_PID" || true
check "mihua-ue sent its INVITE again with Proxy-Authorization that a hashlib Digest accepts" \
    [ "$(cat "$T_DIR/fake.out")" = "credentials ok SHA-256" ]
check "mihua-ue logged the 407 and the retry" grep -q '407 from the AS, INVITE sent again with credentials' \
    "$T_DIR/ue407.log"

# --- a closed lab: authentication off ------------------------------------------------------------------------------
stop_daemon "$as_PID" || fail "AS: SIGTERM exit 0"
as_PID=
AS_USES_HSS=0 start_as --sip-auth no
check "sip_auth off: READY line says sip_auth=off" grep -q ' sip_auth=off$' "$T_DIR/as.out"
check "sip_auth off: a WARN at start" grep -q 'WARN as: sip_auth is off' "$T_DIR/as.log"
check "sip_auth off: an unauthenticated REGISTER binds (lab only)" \
    [ "$(attack register "$AS_SIP_PORT" +15550000008 --expires 60)" = 200 ]
finish
