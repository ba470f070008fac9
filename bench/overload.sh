#!/usr/bin/env bash
# Overload benchmark: sipp UAC -> proxy -> sipp UAS, for mihua-as (caller without the tag: no lookups) and, in the
# same run, Kamailio (tm + registrar, t_relay; bench/sipp/kamailio.cfg) when it is installed. Per proxy: a ramp of
# short steps finds the capacity (the highest rate with at most 0.5 % of calls shed or failed; for mihua-as at most
# the rate its transaction table sustains, which it logs at start), then holds at 1x, 1.5x and 3x that capacity. Per
# step it prints calls answered (200), shed (503 with Retry-After), failed (sipp: anything unanswered or unexpected),
# the rate sipp achieved, INVITE->200 p50/p99 of the answered calls, the proxy's CPU ms per 1,000 calls placed, and
# its memory (anonymous and shared-memory PSS summed over its processes) before the
# run, at the end of the holds and IDLE s later. Call flow: INVITE / 100 / 180 / 200 / ACK / BYE / 200
# (bench/sipp/ovl_uac.xml, uas.xml).
# For mihua-as each step also says which mark shed the 503s (mihua_as_calls_shed_total{reason} over the step).
# Prints figures; judges nothing. Heavy: run it on a quiet machine, with a Release build.
# Usage: bench/overload.sh [BUILD_DIR] (default build/)
# Env: PROXIES ("mihua kamailio"), RAMP ("500 1000 1500 2000 2500 3000 4000"), STEP_SECS (10), HOLD (60),
#      MULTS ("1 1.5 3"), IDLE (60), CAP (skip the ramp: use this capacity), KAM_WORKERS (2), MIHUA_AS_ARGS (extra
#      mihua-as options, e.g. "--max-transactions 100000"), KEEP_RUN_DIR=1.
set -euo pipefail
cd "$(dirname "$0")/.."
MIHUA_SRC=$PWD
MIHUA_BIN=$(cd "${1:-build}/bin" && pwd)
export MIHUA_SRC MIHUA_BIN
T_SHED=1 # the overload marks are what this bench measures (lib.sh turns them off for other tests)
. "$MIHUA_SRC/tests/integration/lib.sh"

PROXIES=${PROXIES:-"mihua kamailio"}
RAMP=${RAMP:-"500 1000 1500 2000 2500 3000 4000"}
STEP_SECS=${STEP_SECS:-10}
HOLD=${HOLD:-60}
MULTS=${MULTS:-"1 1.5 3"}
IDLE=${IDLE:-60}
KAM_WORKERS=${KAM_WORKERS:-2}
SIPP_SRC=$MIHUA_SRC/tests/integration/sipp
BENCH_SIPP=$MIHUA_SRC/bench/sipp
D=$MIHUA_TEST_DOMAIN
CALLER=+15550000002
CALLEE=+15550000001
CLK_TCK=$(getconf CLK_TCK)
CALLER_PORT=$(free_port)
CALLEE_PORT=$(free_port)

udp_bound() { ss -Hlun "sport = :$1" | grep -q .; }
# pids of the proxy: the main process and its children (Kamailio's workers)
proxy_pids() { echo "$PROXY_PID"; pgrep -P "$PROXY_PID" || true; }
cpu_ticks() {
    local p t=0
    for p in $(proxy_pids); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
    echo "$t"
}
# Memory the proxy allocated, in MB: anonymous and shared-memory PSS summed over its processes (Kamailio's shared
# memory counted once, not once per worker). Library text is left out: its PSS depends on how many other processes
# on the machine map the same libraries, which is noise here.
mem_mb() {
    local p k=0
    for p in $(proxy_pids); do
        k=$((k + $(awk '/^Pss_(Anon|Shmem):/ {s += $2} END {print s + 0}' "/proc/$p/smaps_rollup")))
    done
    awk -v k="$k" 'BEGIN {printf "%.1f", k / 1024}'
}

start_proxy() { # start_proxy NAME: sets PROXY_PID and PROXY_PORT
    PROXY_PORT=$(free_port)
    case "$1" in
    mihua)
        # Digest on, as in production: the two REGISTERs answer the 401 (sipp 3.6: MD5, so offered first);
        # the INVITEs come from the registered flows and are never challenged.
        write_subscribers "$T_DIR/subscribers.json"
        printf '{"checks": false, "log_level": "info", "subscribers": "%s", "sip_auth_algorithms": ["MD5", "SHA-256"]}\n' \
            "$T_DIR/subscribers.json" >"$T_DIR/as.json"
        # shellcheck disable=SC2086 # MIHUA_AS_ARGS is a list of options
        start_daemon as "$MIHUA_BIN/mihua-as" -c "$T_DIR/as.json" --sip-listen "127.0.0.1:$PROXY_PORT" \
            --sbi-listen 127.0.0.1:0 --diameter-port 0 ${MIHUA_AS_ARGS:-}
        PROXY_PID=$as_PID
        PROXY_SBI=$(sed -nE 's/^READY .* sbi=([^ ]+) .*/\1/p' "$T_DIR/as.out")
        grep -m1 'capacity:' "$T_DIR/as.log" | sed 's/^[^ ]* [A-Z]* as: /  mihua-as /' || true ;;
    kamailio)
        PROXY_SBI=
        kamailio -f "$BENCH_SIPP/kamailio.cfg" -DD -E -n "$KAM_WORKERS" -m 1024 -M 16 -l "udp:127.0.0.1:$PROXY_PORT" \
            -P "$T_DIR/kamailio.pid" -w "$T_DIR" >"$T_DIR/kamailio.log" 2>&1 &
        PROXY_PID=$!
        T_PIDS+=("$PROXY_PID")
        wait_until $((READY_TIMEOUT_S * 1000)) udp_bound "$PROXY_PORT" ;;
    esac
}
# mihua-as's shed counters, one "reason count" line each (nothing for other proxies)
shed_counts() {
    [ -n "${PROXY_SBI:-}" ] || return 0
    curl -s --max-time 2 --http2-prior-knowledge "${T_AUTH[@]}" "$PROXY_SBI/metrics" |
        awk '/^mihua_as_calls_shed_total\{/ {match($1, /"[a-z_]+"/); print substr($1, RSTART + 1, RLENGTH - 2), $2}'
}
stop_proxy() { kill -TERM "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }

register() { # register USER PORT (Kamailio's bench config asks no credentials: its 200 comes at once)
    (cd "$T_DIR" && exec sipp -sf "$SIPP_SRC/register.xml" -m 1 -i 127.0.0.1 -p "$2" -timeout 10 -timeout_error \
        -nostdin -key user "$1" -key domain "$D" -key feature "" -au "$1" -ap "$(sip_password "${1: -1}")" \
        "127.0.0.1:$PROXY_PORT" >"$T_DIR/reg$1.log" 2>&1)
}

# step PROXY KIND RATE SECS: one bounded run at RATE calls/s; prints one line, appends it to $T_DIR/results
step() {
    local proxy=$1 kind=$2 rate=$3 secs=$4 tag="$1-$2-$3" n limit rc=0
    n=$(python3 -c "print(int(round($rate * $secs)))")
    limit=$((secs + 60))
    (cd "$T_DIR" && exec sipp -sf "$BENCH_SIPP/uas.xml" -i 127.0.0.1 -p "$CALLEE_PORT" -nostdin \
        -timeout "$limit" -recv_timeout 20000 -buff_size 8388608 -key user "$CALLEE" >"$T_DIR/$tag.uas.log" 2>&1) &
    local uas=$!
    T_PIDS+=("$uas")
    wait_until 5000 udp_bound "$CALLEE_PORT"
    local c0 c1 t0 t1 s0 s1
    s0=$(shed_counts)
    c0=$(cpu_ticks)
    t0=$(date +%s%N)
    (cd "$T_DIR" && exec sipp -sf "$BENCH_SIPP/ovl_uac.xml" -i 127.0.0.1 -p "$CALLER_PORT" -r "$rate" -rp 1000 \
        -m "$n" -d 0 -nostdin -timeout "$limit" -timeout_error -recv_timeout 10000 -buff_size 8388608 \
        -key user "$CALLER" -key domain "$D" -key callee "sip:$CALLEE@$D" -cid_str "b-$tag-%u-%p" \
        -trace_stat -stf "$T_DIR/$tag.uac.csv" -fd 1 -trace_rtt -rtt_freq 1 "127.0.0.1:$PROXY_PORT" \
        >"$T_DIR/$tag.uac.log" 2>&1) || rc=$?
    t1=$(date +%s%N)
    c1=$(cpu_ticks)
    s1=$(shed_counts)
    kill -TERM "$uas" 2>/dev/null || true
    wait "$uas" 2>/dev/null || true
    local rtt
    rtt=$(ls -t "$T_DIR"/ovl_uac_*_rtt.csv 2>/dev/null | head -1)
    [ -n "$rtt" ] && mv "$rtt" "$T_DIR/$tag.rtt.csv"
    python3 - "$T_DIR/$tag.uac.csv" "$T_DIR/$tag.rtt.csv" "$T_DIR/$tag.uac.log" "$proxy" "$kind" "$rate" "$n" \
        "$(((c1 - c0) * 1000 / CLK_TCK))" "$(((t1 - t0) / 1000000))" >>"$T_DIR/results" <<'PY'
import csv, re, sys
stat, rtt, screen, proxy, kind, rate, n, cpu_ms, wall_ms = sys.argv[1:]
ok = failed = 0
sent = float("nan")
try:
    rows = list(csv.reader(open(stat), delimiter=";"))
    head, last = rows[0], rows[-1]
    ok = int(last[head.index("SuccessfulCall(C)")]); failed = int(last[head.index("FailedCall(C)")])
    oc, cr = head.index("OutgoingCall(C)"), head.index("CallRate(C)")
    sent = next((float(r[cr]) for r in rows[1:] if int(r[oc]) >= int(n)), float(last[cr]))
except Exception:
    pass
answer, shed = [], 0
try:
    for line in open(rtt):
        f = line.strip().split(";")
        if len(f) >= 3 and f[2] == "answer":
            answer.append(float(f[1]))
except OSError:
    pass
try: # sipp's final scenario screen: "    503 <----------   COUNT ..."
    counts = re.findall(r"^\s+503 <-+\s+(?:\S*RTD\S*\s+)?(\d+)", open(screen, errors="replace").read(), re.M)
    shed = int(counts[-1]) if counts else 0
except OSError:
    pass
answer.sort()
pct = lambda q: answer[min(len(answer) - 1, int(q * len(answer)))] if answer else float("nan")
failed += max(0, int(n) - ok - failed)
print(f"{proxy} {kind} {rate} {n} {len(answer)} {shed} {failed} {sent:.0f} {pct(.5):.0f} {pct(.99):.0f} "
      f"{int(cpu_ms) * 1000 / max(1, int(n)):.0f} {wall_ms}")
PY
    tail -1 "$T_DIR/results" | awk '{printf "  %-8s %-5s %6s cps: %7s calls, %7s answered, %6s shed (503), " \
        "%5s failed; sent at %s cps; INVITE->200 p50 %s p99 %s ms; CPU %s ms per 1,000 calls\n", \
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11}'
    # which mark shed them (the counters' growth over the step)
    [ -z "$s1" ] || printf '%s\n%s\n' "$s0" "$s1" | awk -v n="$(grep -c . <<<"$s0")" \
        'NR <= n {b[$1] = $2; next} {d = d sep $1 " " $2 - b[$1]; sep = ", "} END {print "    shed by mark: " d}'
    sleep 2 # the UAS's port is reused by the next step
}

run_proxy() { # run_proxy NAME
    local proxy=$1 cap=${CAP:-} r
    echo "== $proxy"
    start_proxy "$proxy"
    register "$CALLER" "$CALLER_PORT" || { echo "REGISTER failed"; return 1; }
    register "$CALLEE" "$CALLEE_PORT" || { echo "REGISTER failed"; return 1; }
    local m_before m_end m_after
    m_before=$(mem_mb)
    if [ -z "$cap" ]; then
        cap=0
        for r in $RAMP; do
            step "$proxy" ramp "$r" "$STEP_SECS"
            # capacity: shed + failed within 0.5 % (through Kamailio's two workers about 0.1 % of calls fail in
            # sipp already at 500 calls/s: responses relayed out of order by different workers)
            if tail -1 "$T_DIR/results" | awk '{exit !(($6 + $7) * 200 <= $4)}'; then cap=$r; else break; fi
        done
    fi
    echo "  capacity (ramp of $STEP_SECS s steps, shed + failed <= 0.5 %): $cap cps"
    # A ramp step is shorter than a transaction's life (Timers J and L: 32 s), so it cannot see the table fill;
    # mihua-as states the rate its table sustains: hold at the highest ramp rate within it.
    local sustained
    sustained=$(sed -nE 's/.*\(~([0-9]+) calls\/s sustained.*/\1/p' "$T_DIR/as.log" 2>/dev/null | tail -n 1)
    if [ -z "${CAP:-}" ] && [ "$proxy" = mihua ] && [ -n "$sustained" ] && [ "$cap" -gt "$sustained" ]; then
        local c=0
        for r in $RAMP; do [ "$r" -le "$sustained" ] && c=$r; done
        cap=$c
        echo "  capacity held at $cap cps: the transaction table sustains ~$sustained calls/s"
    fi
    [ "$cap" -gt 0 ] || { stop_proxy; return 0; }
    for m in $MULTS; do
        step "$proxy" "${m}x" "$(python3 -c "print(int($cap * $m))")" "$HOLD"
    done
    m_end=$(mem_mb)
    echo "  idle $IDLE s..."
    sleep "$IDLE"
    m_after=$(mem_mb)
    echo "  memory (PSS anon+shmem): ${m_before} MB before, ${m_end} MB at the end of the holds, ${m_after} MB $IDLE s later"
    echo "$proxy mem $m_before $m_end $m_after" >>"$T_DIR/results"
    stop_proxy
}

echo "uptime before: $(uptime)"
echo "sipp UAC :$CALLER_PORT -> proxy -> sipp UAS :$CALLEE_PORT; holds of $HOLD s at ${MULTS// /x, }x capacity"
: >"$T_DIR/results"
for proxy in $PROXIES; do
    if [ "$proxy" = kamailio ] && ! command -v kamailio >/dev/null; then
        echo "== kamailio: not installed (apt-get install kamailio), skipped"
        continue
    fi
    run_proxy "$proxy"
done
echo "uptime after: $(uptime)"
