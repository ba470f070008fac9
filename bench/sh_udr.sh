#!/usr/bin/env bash
# UDR/UDA round trips per second at 1, 10 and 100 requests in flight (20,000 requests each), against mihua-hss and,
# in the same run, against a minimal freeDiameter Sh server (bench/sh_minimal_hss.c: fixed answer, no lookup, no
# XML) as the reference; prints both and the ratio. Prints figures; judges nothing.
# Usage: bench/sh_udr.sh [BUILD_DIR]   (default build/; use a Release build without sanitizers)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/bin
N=${N:-20000}
dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
started() { # started NAME: wait (bounded) for the READY line
    for _ in $(seq 1 200); do grep -q '^READY' "$dir/$1.out" && return 0; sleep 0.05; done
    cat "$dir/$1.log" >&2
    return 1
}
rate() { sed -n 's/.* rate=\([0-9]*\)\/s.*/\1/p'; }

hss_port=$(free_port)
"$bin/mihua-hss" -c conf/hss.json --port "$hss_port" --admin-listen 127.0.0.1:0 --log-level warn \
    >"$dir/hss.out" 2>"$dir/hss.log" &
pids+=($!)
min_port=$(free_port)
"$bin/mihua-bench-sh-minimal" "$min_port" >"$dir/min.out" 2>"$dir/min.log" &
pids+=($!)
started hss
started min

echo "load: $(uptime | sed 's/.*load average: //')"
for n in 1 10 100; do
    ours=$("$bin/mihua-bench-sh" --hss "127.0.0.1:$hss_port" --inflight "$n" --count "$N")
    ref=$("$bin/mihua-bench-sh" --hss "127.0.0.1:$min_port" --inflight "$n" --count "$N")
    echo "mihua-hss  $ours"
    echo "minimal    $ref"
    awk -v a="$(echo "$ours" | rate)" -v b="$(echo "$ref" | rate)" -v n="$n" \
        'BEGIN { printf "inflight=%d ratio mihua-hss/minimal = %.2f (target >= 0.8)\n", n, a / b }'
done
