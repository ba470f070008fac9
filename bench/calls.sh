#!/usr/bin/env bash
# End-to-end call set-up under load: mihua-hss, mihua-udm, mihua-kms (TLS 1.3) and mihua-as on loopback,
# one callee agent (answer --auto, all calls) and one caller agent in load mode (mihua-ue load). Prints, per rate,
# the encrypted calls' INVITE -> 200 (UPDATE) "key sync" and INVITE -> 200 (INVITE) "answered" p50/p99, the same
# for plain calls (caller not capable: no checks, no KMS) through the same AS in the same run, the added time, and
# 200 (INVITE) -> first SRTP packet; then raises the encrypted rate until a call fails or the offered rate is not
# held, and prints the highest rate with 0 failed calls. Judges nothing.
# Targets: p50 <= 5 ms, p99 <= 20 ms at 200 calls/s; added <= 3 ms; >= 1,000 encrypted calls/s.
# Usage: bench/calls.sh [BUILD_DIR] (default build/; Release without sanitizers for figures). Env: RATES ("50 200"),
# SECS (10: seconds of calls per rate), MEDIA (0.1: seconds of audio per call), RAMP ("400 ... 2500"), AS_LOG (warn),
# AS_OPTS (extra mihua-as options, e.g. "--facts-cache no"), CALLEE_RAT (EUTRAN: the callee's access; NR lets the
# facts cache decide alone), KEEP (set: keep the run folder with the logs), STAGES (N: first place N encrypted calls
# 200 ms apart under a loopback capture and print each wire stage's p50/p90 with bench/call_stages.py: where the
# encrypted set-up spends its time; needs dumpcap and tshark). Each rate also prints the HSS's UDRs and the UDM's
# GETs per second during the encrypted run, and the caller's stages: INVITE -> 183, 183 -> key in hand, key in
# hand -> 200 (UPDATE), -> 200 (INVITE) (differences of p50s).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
RATES=${RATES-50 200} SECS=${SECS:-10} MEDIA=${MEDIA:-0.1} RAMP=${RAMP-400 600 800 1000 1200 1500 2000 2500}
. bench/bench_lib.sh

D=ims.mnc001.mcc001.3gppnetwork.org
K1=$(printf '%064x' 1) K2=$(printf '%064x' 2)
cat >"$dir/subs.json" <<JSON
{ "subscribers": [
  { "imsi": "001010000000001", "msisdn": "15550000001", "impu": ["sip:+15550000001@$D", "tel:+15550000001"],
    "voice_encryption": true, "access": { "rat": "NR", "ims_vops": true }, "kms_key": "$K1",
    "sip_password": "sip-secret-1" },
  { "imsi": "001010000000002", "msisdn": "15550000002", "impu": ["sip:+15550000002@$D", "tel:+15550000002"],
    "voice_encryption": true, "access": { "rat": "${CALLEE_RAT:-EUTRAN}", "ims_vops": true }, "kms_key": "$K2",
    "sip_password": "sip-secret-2" } ] }
JSON
scripts/gen-test-certs "$dir/certs" kms >/dev/null
scripts/gen-admin-token "$dir" # the operator token: admin APIs, the AS's SBI port (the KMS sends it too)
tok=(--admin-token-file "$dir/admin.token")
hss_port=$(free_port) udm_port=$(free_port) kms_port=$(free_port)
bench_start hss "$build/bin/mihua-hss" -c conf/hss.json --subscribers "$dir/subs.json" --port "$hss_port" \
    --admin-listen 127.0.0.1:0 --log-level warn "${tok[@]}"
bench_start udm "$build/bin/mihua-udm" -c conf/udm.json --subscribers "$dir/subs.json" --listen "127.0.0.1:$udm_port" \
    --admin-listen 127.0.0.1:0 --log-level warn "${tok[@]}"
bench_start as "$build/bin/mihua-as" -c conf/as.json --sip-listen 127.0.0.1:0 --sbi-listen 127.0.0.1:0 \
    --hss "127.0.0.1:$hss_port" --udm-url "http://127.0.0.1:$udm_port" --diameter-port 0 --log-level "${AS_LOG:-warn}" \
    --subscribers "$dir/subs.json" "${tok[@]}" \
    ${AS_OPTS:-}
as_sip=$(sed -E 's/.* sip=([^ ]+) .*/\1/' "$dir/as.out")
as_sbi=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' "$dir/as.out")
for _ in $(seq 1 200); do
    curl -s --http2-prior-knowledge -H "@$dir/admin.auth" "$as_sbi/metrics" | grep -q '^mihua_as_hss_peer_open 1' && break
    sleep 0.05
done
cat >"$dir/kms.json" <<JSON
{ "listen": "127.0.0.1:$kms_port", "subscribers": "$dir/subs.json", "as": { "url": "$as_sbi", "timeout_ms": 1000,
  "token_file": "$dir/admin.token" }, "admin_token_file": "$dir/admin.token",
  "tls": { "cert": "$dir/certs/kms.pem", "key": "$dir/certs/kms.key" }, "audit_log": "$dir/audit.jsonl",
  "log_level": "warn", "max_keys_per_requester": 16777216 }
JSON
bench_start kms "$build/bin/mihua-kms" -c "$dir/kms.json"
ue() { # ue USER RAT: an agent config
    cat >"$dir/ue$1.json" <<JSON
{ "impu": "sip:+1555000000$1@$D", "registrar": "$as_sip", "rat": "$2", "log_level": "error",
  "kms": { "url": "https://127.0.0.1:$kms_port", "ca": "$dir/certs/ca.pem", "timeout_ms": 2000 },
  "kms_key": "$(printf '%064x' "$1")", "sip_password": "sip-secret-$1", "expires": 3600 }
JSON
}
ue 1 NR
ue 2 "${CALLEE_RAT:-EUTRAN}"
"$build/bin/mihua-ue" -c "$dir/ue2.json" answer --auto --count 0 --quiet >"$dir/callee.out" 2>"$dir/callee.log" &
pids+=($!)
wait_line "$dir/callee.out" '^READY mihua-ue' "$dir/callee.log"

echo "mihua-as $as_sip, mihua-kms :$kms_port, $(nproc) CPUs, build $build, media $MEDIA s per call," \
     "load $(cut -d' ' -f1-3 /proc/loadavg)"
# run KIND RATE: one load run; prints its report, leaves its JSON in $dir/KIND-RATE.json
run() {
    local kind=$1 rate=$2 extra=()
    [ "$kind" = plain ] && extra=(--capable no)
    "$build/bin/mihua-ue" -c "$dir/ue1.json" load tel:+15550000002 --calls $((rate * SECS)) --rate "$rate" \
        --duration "$MEDIA" --summary "$dir/$kind-$rate.json" "${extra[@]}" 2>"$dir/caller-$kind-$rate.log" | sed 's/^/    /'
}
hss_admin=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$dir/hss.out")
udm_admin=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$dir/udm.out")
# backend_count: UDRs answered by the HSS + GETs served by the UDM so far ("UDR GET")
backend_count() {
    echo "$(curl -s --http2-prior-knowledge -H "@$dir/admin.auth" "$hss_admin/metrics" | awk '/^mihua_hss_udr_total/ {n += $2} END {print n + 0}')" \
         "$(curl -s --http2-prior-knowledge -H "@$dir/admin.auth" "$udm_admin/metrics" | awk '/^mihua_udm_requests_total/ {n += $2} END {print n + 0}')"
}
field() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
# stages N: N encrypted then N plain calls, one at a time, under a capture of the AS's SIP and SBI ports and the
# KMS port.
stages() {
    local sip_port=${as_sip##*:} sbi_port=${as_sbi##*:}
    dumpcap -q -i lo -f "udp port $sip_port or tcp port $sbi_port or tcp port $kms_port" -w "$dir/stages.pcapng" \
        >"$dir/dumpcap.log" 2>&1 &
    local cap=$!
    pids+=("$cap") # stopped by cleanup too, should anything below exit early
    wait_line "$dir/dumpcap.log" 'Capturing on' "$dir/dumpcap.log"
    for kind in encrypted plain; do # a call shed or failed under load is left out of the stages, not fatal
        "$build/bin/mihua-ue" -c "$dir/ue1.json" load tel:+15550000002 --calls "$1" --rate 5 --duration "$MEDIA" \
            --summary "$dir/stages-$kind.json" $([ $kind = plain ] && echo --capable no) \
            2>"$dir/caller-stages-$kind.log" | sed 's/^/    /' || true
    done
    kill -INT "$cap"
    wait "$cap" || true
    for kind in encrypted plain; do
        python3 bench/call_stages.py "$dir/stages.pcapng" "$sip_port" "$sbi_port" "$kms_port" "$kind"
    done
}
[ -z "${STAGES:-}" ] || { echo "== stages: $STAGES encrypted calls, 5 calls/s, captured =="; stages "$STAGES"; }
for rate in $RATES; do
    echo "== $rate calls/s for $SECS s =="
    read -r udr0 get0 <<<"$(backend_count)"
    t0=$(date +%s.%N)
    run encrypted "$rate" || true
    t1=$(date +%s.%N)
    read -r udr1 get1 <<<"$(backend_count)"
    printf '  during the encrypted run: HSS %.1f UDR/s, UDM %.1f GET/s (load %s)\n' \
        "$(python3 -c "print(($udr1 - $udr0) / ($t1 - $t0))")" "$(python3 -c "print(($get1 - $get0) / ($t1 - $t0))")" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    run plain "$rate" || true
    enc=$dir/encrypted-$rate.json pl=$dir/plain-$rate.json
    printf '  %d calls/s: encrypted key sync p50 %.3f ms p99 %.3f ms; answered p50 %.3f / p99 %.3f ms; plain answered p50 %.3f / p99 %.3f ms; added p50 %.3f ms; 200 -> first SRTP p50 %.3f ms\n' \
        "$rate" "$(field "$enc" "j['key_sync']['p50Ms']")" "$(field "$enc" "j['key_sync']['p99Ms']")" \
        "$(field "$enc" "j['answered_encrypted']['p50Ms']")" "$(field "$enc" "j['answered_encrypted']['p99Ms']")" \
        "$(field "$pl" "j['answered_plain']['p50Ms']")" "$(field "$pl" "j['answered_plain']['p99Ms']")" \
        "$(field "$enc" "j['answered_encrypted']['p50Ms'] - $(field "$pl" "j['answered_plain']['p50Ms']")")" \
        "$(field "$enc" "j['first_media_after_200']['p50Ms']")"
    printf '  encrypted p50 stages: INVITE -> 183 %.3f ms, 183 -> key in hand %.3f, key in hand -> 200 (UPDATE) %.3f, -> 200 (INVITE) %.3f; plain INVITE -> 183 %.3f, 183 -> 200 (INVITE) %.3f ms\n' \
        "$(field "$enc" "j['early_183']['p50Ms']")" \
        "$(field "$enc" "j['kms_key_in_hand']['p50Ms'] - j['early_183']['p50Ms']")" \
        "$(field "$enc" "j['key_sync']['p50Ms'] - j['kms_key_in_hand']['p50Ms']")" \
        "$(field "$enc" "j['answered_encrypted']['p50Ms'] - j['key_sync']['p50Ms']")" \
        "$(field "$pl" "j['early_183']['p50Ms']")" \
        "$(field "$pl" "j['answered_plain']['p50Ms'] - j['early_183']['p50Ms']")"
done
best=0
for rate in $RAMP; do
    echo "== ramp: $rate encrypted calls/s for $SECS s =="
    t0=$(date +%s.%N)
    run encrypted "$rate" || true
    t1=$(date +%s.%N)
    j=$dir/encrypted-$rate.json
    held=$(python3 -c "print(int($rate * $SECS / ($t1 - $t0 - $MEDIA) >= 0.95 * $rate))" 2>/dev/null || echo 0)
    if [ "$(field "$j" "j['failed'] + j['refused'] + j['plain']")" = 0 ] && [ "$held" = 1 ]; then
        best=$rate
    else
        echo "  stopped: failed $(field "$j" "j['failed']"), plain $(field "$j" "j['plain']"), rate held: $held"
        break
    fi
done
[ -z "$RAMP" ] || echo "highest encrypted call rate with 0 failed (and 0 plain) calls: $best calls/s"
