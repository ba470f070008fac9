#!/usr/bin/env bash
# h2load against mihua-udm's amf-3gpp-access for one subscriber, and in the same run against
# `nghttpd --no-tls` serving a static file with the same body, as the ceiling. Prints req/s of both and the ratio
# (target >= 0.5). Prints figures; judges nothing. Needs h2load and nghttpd (Debian: nghttp2-client,
# nghttp2-server); without nghttpd only mihua-udm's figure is printed.
# Usage: bench/udm_h2load.sh [BUILD_DIR] (default build/; use a Release build without sanitizers)
# Env: N (200000), C (50), M (10) — h2load's -n, -c, -m.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/bin
N=${N:-200000} C=${C:-50} M=${M:-10}
PATH_AMF=/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access
. bench/bench_lib.sh
# rps FILE: the req/s figure of an h2load report
rps() { sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$1"; }
load() { h2load -n "$N" -c "$C" -m "$M" "$1" >"$2" 2>&1; grep -E '^(finished|requests|status codes)' "$2" | sed 's/^/  /'; }

bench_start udm "$bin/mihua-udm" -c conf/udm.json --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --log-level warn
url=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) admin=.*/\1/p' "$dir/udm.out")
[ -n "$url" ] || { cat "$dir/udm.log"; exit 1; }
mkdir -p "$dir/htdocs"
curl -sS --http2-prior-knowledge -o "$dir/htdocs/amf" "$url$PATH_AMF"
echo "body: $(wc -c <"$dir/htdocs/amf") bytes; h2load -n $N -c $C -m $M"
echo "mihua-udm $url$PATH_AMF"
load "$url$PATH_AMF" "$dir/udm.h2load"
udm=$(rps "$dir/udm.h2load")

if ! command -v nghttpd >/dev/null; then
    echo "nghttpd not installed (apt-get install nghttp2-server): no reference figure"
    printf 'mihua-udm %s req/s\n' "$udm"
    exit 0
fi
port=$(free_port)
nghttpd --no-tls -d "$dir/htdocs" "$port" >"$dir/nghttpd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do curl -s --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$port/amf" && break; sleep 0.05; done
echo "nghttpd --no-tls http://127.0.0.1:$port/amf"
load "http://127.0.0.1:$port/amf" "$dir/nghttpd.h2load"
ref=$(rps "$dir/nghttpd.h2load")
python3 -c 'import sys; u, r = float(sys.argv[1]), float(sys.argv[2]); print(f"mihua-udm {u:.0f} req/s, nghttpd {r:.0f} req/s, ratio {u / r:.2f} (target >= 0.5)")' "$udm" "$ref"
