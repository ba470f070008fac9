#!/usr/bin/env bash
# UDR/UDA round trips per second at 1, 10 and 100 requests in flight (20,000 requests each), against mihua-hss and,
# in the same run, against a minimal freeDiameter Sh server (bench/sh_minimal_hss.c: fixed answer, no lookup, no
# XML) as the reference; prints both and the ratio. Prints figures; judges nothing.
# Usage: bench/sh_udr.sh [BUILD_DIR]   (default build/; use a Release build without sanitizers)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/bin
N=${N:-20000}
. bench/bench_lib.sh
rate() { sed -n 's/.* rate=\([0-9]*\)\/s.*/\1/p'; }

hss_port=$(free_port)
bench_start hss "$bin/mihua-hss" -c conf/hss.json --port "$hss_port" --admin-listen 127.0.0.1:0 --log-level warn
min_port=$(free_port)
bench_start min "$bin/mihua-bench-sh-minimal" "$min_port"

echo "load: $(uptime | sed 's/.*load average: //')"
for n in 1 10 100; do
    ours=$("$bin/mihua-bench-sh" --hss "127.0.0.1:$hss_port" --inflight "$n" --count "$N")
    ref=$("$bin/mihua-bench-sh" --hss "127.0.0.1:$min_port" --inflight "$n" --count "$N")
    echo "mihua-hss  $ours"
    echo "minimal    $ref"
    awk -v a="$(echo "$ours" | rate)" -v b="$(echo "$ref" | rate)" -v n="$n" \
        'BEGIN { printf "inflight=%d ratio mihua-hss/minimal = %.2f (target >= 0.8)\n", n, a / b }'
done
