#!/usr/bin/env bash
# UDR/UDA round trips per second against mihua-hss at 1, 10 and 100 requests in flight (20,000 requests each).
# Prints figures; judges nothing. Usage: bench/sh_udr.sh [BUILD_DIR]   (default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/bin
dir=$(mktemp -d)
trap 'kill $hss 2>/dev/null; wait $hss 2>/dev/null; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/mihua-hss" -c conf/hss.json --port "$port" --admin-listen 127.0.0.1:0 --log-level warn >"$dir/out" 2>"$dir/log" &
hss=$!
for _ in $(seq 1 200); do grep -q '^READY' "$dir/out" && break; sleep 0.05; done
grep -q '^READY' "$dir/out" || { cat "$dir/log"; exit 1; }
for n in 1 10 100; do
    "$bin/mihua-bench-sh" --hss "127.0.0.1:$port" --inflight "$n" --count 20000
done
