#!/usr/bin/env bash
# Subscriber data at operator scale (DESIGN §5 "At scale"): for each size, mihua-subscribers gen/validate/import/
# export times; mihua-hss time to READY with the file imported at start and from the store alone; RSS of mihua-hss
# and mihua-udm and bytes per subscriber over a 6-subscriber baseline; admin PATCH p50/p99 (curl time_total, one
# fresh h2c connection per request, as an operator's script would); how long until the other simulator has the
# change in force; full export over the admin API; UDR/s and UDM req/s with that many subscribers loaded; UDR
# latency while a reload re-imports the whole file. Prints figures; judges nothing.
# Usage: bench/subscribers.sh [BUILD_DIR]   (default build/; use a Release build without sanitizers)
# Env: SIZES ("100000 1000000"), PATCHES (200), UDR_N (20000), H2_N (100000)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build}/bin")
SIZES=${SIZES:-"100000 1000000"}
PATCHES=${PATCHES:-200}
UDR_N=${UDR_N:-20000}
H2_N=${H2_N:-100000}
BENCH_READY_S=1200 # a million subscribers imported at start
. bench/bench_lib.sh
scripts/gen-admin-token "$dir" # the daemons' operator token, curl's header file
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f s", (b - a) / 1000 }'; }
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
admin_of() { sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$dir/$1.out"; }
pct() { sort -n | awk '{ v[NR] = $1 } END { printf "p50=%.1fms p99=%.1fms", v[int(NR * 0.5) + 1] * 1000, v[int(NR * 0.99) + 1] * 1000 }'; }
h2rps() { sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p'; }

run_daemons() { # run_daemons FILE DB LABEL: hss + udm on FILE/DB; sets hss_port, udm_sbi; prints READY times
    hss_port=$(free_port)
    local t_hss t_udm
    bench_start hss "$bin/mihua-hss" -c conf/hss.json --subscribers "$1" --store "$2" --port "$hss_port" \
        --admin-listen 127.0.0.1:0 --log-level info --admin-token-file "$dir/admin.token"
    t_hss=$ready_ms
    bench_start udm "$bin/mihua-udm" -c conf/udm.json --subscribers "$1" --store "$2" --listen 127.0.0.1:0 \
        --admin-listen 127.0.0.1:0 --log-level info --admin-token-file "$dir/admin.token"
    t_udm=$ready_ms
    udm_sbi=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) .*/\1/p' "$dir/udm.out")
    echo "$3: mihua-hss READY in $(secs 0 "$t_hss"), mihua-udm READY in $(secs 0 "$t_udm")"
}

traffic() { # traffic IMPU IMSI: UDR/s (10 in flight) and UDM req/s (h2load -c 50 -m 10)
    echo "  UDR   $("$bin/mihua-bench-sh" --hss "127.0.0.1:$hss_port" --impu "$1" --inflight 10 --count "$UDR_N")"
    curl -s --http2-prior-knowledge -o /dev/null "$udm_sbi/nudm-uecm/v1/imsi-$2/registrations/amf-3gpp-access"
    h2load -n "$H2_N" -c 50 -m 10 "$udm_sbi/nudm-uecm/v1/imsi-$2/registrations/amf-3gpp-access" >"$dir/h2" 2>&1
    echo "  UDM   $(h2rps <"$dir/h2") req/s ($(grep -E '^status codes' "$dir/h2" | sed 's/status codes: //'))"
}

echo "load: $(uptime | sed 's/.*load average: /load average: /')"
cp conf/subscribers.json "$dir/base.json"
run_daemons "$dir/base.json" "$dir/base.db" "baseline (6 subscribers)"
base_hss=$(rss_kb "$hss_pid"); base_udm=$(rss_kb "$udm_pid")
echo "  RSS   mihua-hss $(rss_mb "$hss_pid") MB, mihua-udm $(rss_mb "$udm_pid") MB"
traffic "tel:+15550000001" 001010000000001
stop "$hss_pid"; stop "$udm_pid"

for n in $SIZES; do
    f=$dir/s$n.json
    echo "--- $n subscribers"
    t0=$(now_ms); "$bin/mihua-subscribers" gen "$n" --out "$f"; t1=$(now_ms)
    echo "  gen       $(secs "$t0" "$t1"), $(( $(stat -c %s "$f") / n )) bytes per subscriber in the file"
    t0=$(now_ms); "$bin/mihua-subscribers" validate "$f" >/dev/null; t1=$(now_ms)
    echo "  validate  $(secs "$t0" "$t1")"
    /usr/bin/time -f '%M' -o "$dir/time" "$bin/mihua-subscribers" --store "$dir/cli$n.db" --replace import "$f" \
        | sed 's/^/  import    /'
    echo "  import    peak RSS $(awk '{ printf "%.0f", $1 / 1024 }' "$dir/time") MB"
    t0=$(now_ms); "$bin/mihua-subscribers" --store "$dir/cli$n.db" export --out "$dir/export.json"; t1=$(now_ms)
    echo "  export    (CLI, with keys) $(secs "$t0" "$t1"), $(( $(stat -c %s "$dir/export.json") / 1048576 )) MB"
    rm -f "$dir/export.json" "$dir/cli$n.db"*

    run_daemons "$f" "$dir/s$n.db" "  start, file imported at start"
    stop "$hss_pid"; stop "$udm_pid"
    run_daemons "$f" "$dir/s$n.db" "  start, from the store (file unchanged)"
    hss_admin=$(admin_of hss)
    h=$(rss_kb "$hss_pid"); u=$(rss_kb "$udm_pid")
    echo "  RSS       mihua-hss $(rss_mb "$hss_pid") MB ($(( (h - base_hss) * 1024 / n )) B/subscriber)," \
         "mihua-udm $(rss_mb "$udm_pid") MB ($(( (u - base_udm) * 1024 / n )) B/subscriber)"

    : >"$dir/patch.times"
    for i in $(seq 1 "$PATCHES"); do
        imsi=$(printf '00101%010d' $(( (i * 7919) % n + 1 )))
        rat=$([ $((i % 2)) = 0 ] && echo NR || echo EUTRAN)
        curl -s --http2-prior-knowledge -H "@$dir/admin.auth" -X PATCH -H 'content-type: application/merge-patch+json' \
            --data "{\"access\":{\"rat\":\"$rat\"}}" -o /dev/null -w '%{time_total}\n' \
            "$hss_admin/admin/v1/subscribers/$imsi" >>"$dir/patch.times"
    done
    echo "  PATCH     $PATCHES via the HSS admin API: $(pct <"$dir/patch.times") (curl time_total, new connection each)"
    imsi=$(printf '00101%010d' $(( n / 2 )))
    c=$(sqlite3 "$dir/s$n.db" "SELECT value FROM meta WHERE key='changes'")
    t0=$(now_ms)
    curl -s --http2-prior-knowledge -H "@$dir/admin.auth" -X PATCH -H 'content-type: application/merge-patch+json' \
        --data '{"voice_encryption":false}' -o /dev/null "$hss_admin/admin/v1/subscribers/$imsi"
    c=$((c + 1))
    until grep -q "in force: .* store change $c," "$dir/udm.log"; do sleep 0.01; done
    echo "  change    through the HSS in force in the UDM after $(( $(now_ms) - t0 )) ms (poll + read of the changes)"

    t0=$(now_ms)
    bytes=$(curl -s --http2-prior-knowledge -H "@$dir/admin.auth" -o "$dir/export.json" -w '%{size_download}' "$hss_admin/admin/v1/subscribers")
    t1=$(now_ms)
    echo "  export    GET /admin/v1/subscribers: $(secs "$t0" "$t1"), $(( bytes / 1048576 )) MB, $(grep -c imsi "$dir/export.json") subscribers"
    rm -f "$dir/export.json"

    mid=$(( n / 2 + 1 ))
    traffic "tel:+1$(printf '%010d' "$mid")" "$(printf '00101%010d' $(( mid - mid % 8 + 8 )))"
    "$bin/mihua-bench-sh" --hss "127.0.0.1:$hss_port" --impu "tel:+1$(printf '%010d' "$mid")" --inflight 10 \
        --count $(( UDR_N * 5 )) >"$dir/udr_reload" 2>&1 &
    bpid=$!
    t0=$(now_ms)
    code=$(curl -s --http2-prior-knowledge -H "@$dir/admin.auth" -X POST -o /dev/null -w '%{http_code}' "$hss_admin/admin/v1/reload")
    t1=$(now_ms)
    wait "$bpid" || true
    echo "  reload    POST /admin/v1/reload $code in $(secs "$t0" "$t1"); UDR meanwhile: $(cat "$dir/udr_reload")"
    stop "$hss_pid"; stop "$udm_pid"
    rm -f "$f" "$dir/s$n.db"*
done
echo "load: $(uptime | sed 's/.*load average: /load average: /')"
