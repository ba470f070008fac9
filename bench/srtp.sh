#!/usr/bin/env bash
# SRTP benchmark: protect/unprotect packets/s at 160-byte payloads for each DESIGN §2 suite, lib/srtp and
# libsrtp2 in the same run (AES suites) with the ratio. Prints figures; judges nothing. Targets on the reference
# machine: >= 2x libsrtp2 on AES_CM_128_HMAC_SHA1_80, >= 1x on AEAD_AES_128_GCM, >= 300k pkt/s for SM4.
# Usage: bench/srtp.sh [BUILD_DIR [BENCH_ARGS...]] (default build/; use a Release build without sanitizers:
#   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel --target mihua-bench-srtp)
# BENCH_ARGS go to mihua-bench-srtp, e.g. -s SM4_CM_128_HMAC_SM3_80 -i table (one suite, SM4 implementation pinned).
# Env: D (seconds per figure, default 1). The machine may be shared: the load average is printed with the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
D=${D:-1}
bin="$build/bin/mihua-bench-srtp"
[ -x "$bin" ] || { echo "build $bin first (needs libsrtp2-dev)" >&2; exit 1; }
echo "$(nproc) CPUs, build $build, $(uptime)"
"$bin" -d "$D" "$@"
