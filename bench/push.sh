#!/usr/bin/env bash
# The AS's facts cache (DESIGN §3 "Push") measured on loopback. Judges nothing; prints the load average beside
# every figure (the machine may be shared).
#  1. bench/calls.sh at RATE calls/s with the callee on NR, cache on and cache off in turn: encrypted set-up added
#     over plain (p50), and the HSS's UDRs/s and the UDM's GETs/s during the encrypted calls.
#  2. Change -> cache: FLIPS changes of one subscriber's voice encryption, alternately through the HSS's and the
#     UDM's admin API; for each, the time from just before the PATCH to the AS's log line that applied the
#     notification (PNR) — the next decision reads that state — as p50/p99/max.
# Usage: bench/push.sh [BUILD_DIR] (default build/; Release for figures). Env: RATE (200), SECS (10), FLIPS (100),
# RAMP (empty: none; e.g. "400 600 800 1000 1200 1500" adds calls.sh's highest-rate ramp, cache on and off),
# SKIP_CALLS (set: part 2 only).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
RATE=${RATE:-200} SECS=${SECS:-10} FLIPS=${FLIPS:-100}
load() { cut -d' ' -f1-3 /proc/loadavg; }

if [ -z "${SKIP_CALLS:-}" ]; then
    for cache in yes no; do
        echo "=== calls, facts cache $cache, callee on NR, load $(load) ==="
        RATES=$RATE SECS=$SECS RAMP="${RAMP-}" CALLEE_RAT=NR AS_OPTS="--facts-cache $cache" bench/calls.sh "$build" |
            grep -E 'calls/s|HSS|mihua-as|stopped'
    done
fi

. bench/bench_lib.sh
scripts/gen-admin-token "$dir" # the admin APIs' operator token and curl's header file
D=ims.mnc001.mcc001.3gppnetwork.org
cat >"$dir/subs.json" <<JSON
{ "subscribers": [
  { "imsi": "001010000000001", "msisdn": "15550000001", "impu": ["sip:+15550000001@$D", "tel:+15550000001"],
    "voice_encryption": true, "access": { "rat": "NR", "ims_vops": true } } ] }
JSON
hss_port=$(free_port) udm_port=$(free_port) ue_port=$(free_port)
bench_start hss "$build/bin/mihua-hss" -c conf/hss.json --subscribers "$dir/subs.json" --store "$dir/s.db" \
    --port "$hss_port" --admin-listen 127.0.0.1:0 --log-level warn --admin-token-file "$dir/admin.token"
bench_start udm "$build/bin/mihua-udm" -c conf/udm.json --subscribers "$dir/subs.json" --store "$dir/s.db" \
    --listen "127.0.0.1:$udm_port" --admin-listen 127.0.0.1:0 --log-level warn --admin-token-file "$dir/admin.token"
bench_start as "$build/bin/mihua-as" -c conf/as.json --sip-listen 127.0.0.1:0 --sbi-listen 127.0.0.1:0 \
    --hss "127.0.0.1:$hss_port" --udm-url "http://127.0.0.1:$udm_port" --diameter-port 0 --log-level info \
    --sip-auth no # sipp registers without credentials (this bench measures the push path, not Digest)
as_sip=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' "$dir/as.out")
hss_admin=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$dir/hss.out")
udm_admin=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$dir/udm.out")
for _ in $(seq 1 100); do  # the AS's Sh peer, then the registration that subscribes
    sipp -sf tests/integration/sipp/register.xml -m 1 -i 127.0.0.1 -p "$ue_port" -timeout 5 -timeout_error \
        -key user +15550000001 -key domain "$D" -key feature ";+u.mihua.voenc" "127.0.0.1:$as_sip" >/dev/null 2>&1 \
        && grep -q 'Sh facts user=' "$dir/as.log" && break
    sleep 0.1
done
grep -q 'Sh facts user=' "$dir/as.log" || { echo "no Sh subscription" >&2; exit 1; }

echo "=== change -> AS cache, $FLIPS flips (HSS and UDM admin in turn), load $(load) ==="
: >"$dir/lat.txt"
for i in $(seq 1 "$FLIPS"); do
    val=$([ $((i % 2)) = 1 ] && echo false || echo true)
    want=$([ "$val" = true ] && echo yes || echo no)
    admin=$([ $((i % 4)) -lt 2 ] && echo "$hss_admin" || echo "$udm_admin")
    before=$(grep -c 'PNR user=' "$dir/as.log" || true)
    t0=$(date +%s%3N)
    curl -s --http2-prior-knowledge -X PATCH -H @"$dir/admin.auth" -H 'content-type: application/merge-patch+json' \
        --data "{\"voice_encryption\":$val}" -o /dev/null "$admin/admin/v1/subscribers/001010000000001"
    for _ in $(seq 1 400); do
        [ "$(grep -c 'PNR user=' "$dir/as.log" || true)" -gt "$before" ] && break
        sleep 0.005
    done
    line=$(grep 'PNR user=' "$dir/as.log" | sed -n "$((before + 1))p")
    grep -q "subscribed=$want" <<<"$line" || { echo "flip $i: no PNR with subscribed=$want" >&2; exit 1; }
    echo $(( $(date -d "${line%% *}" +%s%3N) - t0 )) >>"$dir/lat.txt"
done
sort -n "$dir/lat.txt" | awk -v load="$(load)" '{ a[NR] = $1 } END {
    p50 = a[int((NR + 1) * 0.5)]; p99 = a[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1];
    printf "  change -> cache: p50 %d ms, p99 %d ms, max %d ms over %d changes (load %s)\n", p50, p99, a[NR], NR, load }'
