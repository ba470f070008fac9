#!/usr/bin/env bash
# sipp UAC -> mihua-as -> sipp UAS at rising call rates with the checks on (mihua-hss and mihua-udm running,
# conf/as.json policy: subscription from the HSS, attachment from HSS and UDM), and the same sipp pair direct
# (UAC -> UAS, no AS) in the same run. Call flow: INVITE / 100 / 180 / 200 / ACK / BYE / 200
# (bench/sipp/uac.xml, uas.xml; no 183/PRACK/UPDATE); the INVITE carries +u.mihua.voenc so every call runs the
# checks (caller +15550000002 EUTRAN, callee +15550000001 NR, both subscribed: every check passes).
# Each step sends RATE x SECS calls at RATE calls/s. Per step it prints: calls, successful, failed, the rate sipp
# achieved, INVITE->180 response time p50/p99/max/mean in ms (sipp rtd 1, -trace_rtt; sipp's resolution is 1 ms), and through the AS the calls the AS
# stripped (a check failed or timed out; these are not failed SIP calls) and the CPU the AS, HSS and UDM used.
# Then the highest rate with 0 failed (and, through the AS, 0 stripped) calls for both. Prints figures; judges
# nothing. Everything runs on 127.0.0.1 and every process is bounded (sipp -m, -timeout, -recv_timeout).
# Usage: bench/as_sipp.sh [BUILD_DIR] (default build/; use a Release build)
# Env: RATES ("100 200 500 1000 1500 2000"), SECS (5), LOG_LEVEL (info: the AS's, as shipped in conf/as.json),
#      KEEP_RUN_DIR=1 keeps the run folder (sipp stats, rtt files, daemon logs).
set -euo pipefail
cd "$(dirname "$0")/.."
MIHUA_SRC=$PWD
MIHUA_BIN=$(cd "${1:-build}/bin" && pwd)
export MIHUA_SRC MIHUA_BIN
. "$MIHUA_SRC/tests/integration/lib.sh"

RATES=${RATES:-"100 200 500 1000 1500 2000"}
SECS=${SECS:-5}
LOG_LEVEL=${LOG_LEVEL:-info}
SIPP_SRC=$MIHUA_SRC/tests/integration/sipp
BENCH_SIPP=$MIHUA_SRC/bench/sipp
D=$MIHUA_TEST_DOMAIN
CALLER=+15550000002
CALLEE=+15550000001
CALLEE_URI="sip:$CALLEE@$D"
CLK_TCK=$(getconf CLK_TCK)
write_subscribers "$T_DIR/subscribers.json"

HSS_PORT=$(free_port)
UDM_PORT=$(free_port)
CALLER_PORT=$(free_port)
CALLEE_PORT=$(free_port)
start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$T_DIR/subscribers.json" \
    --port "$HSS_PORT" --admin-listen 127.0.0.1:0
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$T_DIR/subscribers.json" \
    --listen "127.0.0.1:$UDM_PORT" --admin-listen 127.0.0.1:0
start_daemon as "$MIHUA_BIN/mihua-as" -c "$MIHUA_SRC/conf/as.json" --sip-listen 127.0.0.1:0 \
    --sbi-listen 127.0.0.1:0 --hss "127.0.0.1:$HSS_PORT" --udm-url "http://127.0.0.1:$UDM_PORT" \
    --diameter-port 0 --log-level "$LOG_LEVEL" --subscribers "$T_DIR/subscribers.json" \
    --sip-auth-algorithms MD5,SHA-256 # Digest on; sipp 3.6 answers the first challenge and knows only MD5
READY_LINE=$(grep '^READY' "$T_DIR/as.out")
AS_SIP_PORT=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' <<<"$READY_LINE")
SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' <<<"$READY_LINE")

# register USER PORT: one REGISTER (tests/integration/sipp/register.xml) from the port the calls will use.
register() {
    (cd "$T_DIR" && exec sipp -sf "$SIPP_SRC/register.xml" -m 1 -i 127.0.0.1 -p "$2" -timeout 10 -timeout_error \
        -nostdin -key user "$1" -key domain "$D" -key feature ";+u.mihua.voenc" -au "$1" \
        -ap "$(sip_password "${1: -1}")" "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/reg$1.log" 2>&1)
}
# The Sh peer comes up asynchronously; the first calls must not be stripped for "checks unavailable".
for _ in $(seq 1 100); do
    curl -s --http2-prior-knowledge "${T_AUTH[@]}" "$SBI/metrics" | grep -q 'mihua_as_registrations' && break
    sleep 0.05
done
sleep 1
register "$CALLER" "$CALLER_PORT" || { echo "REGISTER $CALLER failed"; cat "$T_DIR/reg$CALLER.log"; exit 1; }
register "$CALLEE" "$CALLEE_PORT" || { echo "REGISTER $CALLEE failed"; cat "$T_DIR/reg$CALLEE.log"; exit 1; }

# kernel-wide UDP RcvbufErrors (datagrams dropped because a socket's receive buffer was full)
udp_rcvbuf_errors() { awk '/^Udp:/ {if (!h) {for (i = 1; i <= NF; i++) c[$i] = i; h = 1} else print $c["RcvbufErrors"]}' /proc/net/snmp; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric_sum() { # metric_sum FILE REGEX: sum of the samples whose line matches REGEX
    awk -v re="$2" '$0 ~ re && $1 !~ /^#/ {s += $NF} END {printf "%d\n", s}' "$1"
}

# step MODE RATE: one bounded run; appends a result line to $T_DIR/results.
step() {
    local mode=$1 rate=$2 n=$(($2 * SECS)) dst tag="$1-$2"
    local limit=$((SECS + 40))
    [ "$mode" = as ] && dst="127.0.0.1:$AS_SIP_PORT" || dst="127.0.0.1:$CALLEE_PORT"
    (cd "$T_DIR" && exec sipp -sf "$BENCH_SIPP/uas.xml" -i 127.0.0.1 -p "$CALLEE_PORT" -m "$n" -nostdin \
        -timeout "$limit" -recv_timeout 10000 -buff_size 4194304 -key user "$CALLEE" \
        -trace_stat -stf "$T_DIR/$tag.uas.csv" -fd 1 >"$T_DIR/$tag.uas.log" 2>&1) &
    local uas=$!
    T_PIDS+=("$uas")
    sleep 0.3
    local m0="$T_DIR/$tag.m0" m1="$T_DIR/$tag.m1" c0 c1 h0 h1 u0 u1 t0 t1 rc=0
    curl -s --http2-prior-knowledge "${T_AUTH[@]}" "$SBI/metrics" >"$m0"
    c0=$(cpu_ticks "$as_PID"); h0=$(cpu_ticks "$hss_PID"); u0=$(cpu_ticks "$udm_PID")
    local d0 d1
    d0=$(udp_rcvbuf_errors)
    t0=$(date +%s%N)
    (cd "$T_DIR" && exec sipp -sf "$BENCH_SIPP/uac.xml" -i 127.0.0.1 -p "$CALLER_PORT" -r "$rate" -rp 1000 \
        -m "$n" -d 0 -nostdin -timeout "$limit" -timeout_error -recv_timeout 5000 -buff_size 4194304 \
        -key user "$CALLER" -key domain "$D" -key callee "$CALLEE_URI" -cid_str "bench-$tag-%u-%p" \
        -trace_stat -stf "$T_DIR/$tag.uac.csv" -fd 1 -trace_rtt -rtt_freq 1 -trace_err \
        -error_file "$T_DIR/$tag.uac.err" "$dst" >"$T_DIR/$tag.uac.log" 2>&1) || rc=$?
    t1=$(date +%s%N)
    c1=$(cpu_ticks "$as_PID"); h1=$(cpu_ticks "$hss_PID"); u1=$(cpu_ticks "$udm_PID")
    local i
    for i in $(seq 1 40); do kill -0 "$uas" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$uas" 2>/dev/null || true
    wait "$uas" 2>/dev/null || true
    curl -s --http2-prior-knowledge "${T_AUTH[@]}" "$SBI/metrics" >"$m1"
    d1=$(udp_rcvbuf_errors)
    local stripped=- left=- cpu_as=- cpu_hss=- cpu_udm=- wall_ms=$(((t1 - t0) / 1000000))
    if [ "$mode" = as ]; then
        stripped=$(($(metric_sum "$m1" '^mihua_as_calls_total[{]outcome="stripped') - \
                    $(metric_sum "$m0" '^mihua_as_calls_total[{]outcome="stripped')))
        left=$(metric_sum "$m1" '^mihua_as_calls ')
        cpu_as=$(((c1 - c0) * 100000 / CLK_TCK / wall_ms))
        cpu_hss=$(((h1 - h0) * 100000 / CLK_TCK / wall_ms))
        cpu_udm=$(((u1 - u0) * 100000 / CLK_TCK / wall_ms))
    fi
    # rtt file: <scenario>_<pid>_rtt.csv in the run folder, one line per call: Date_ms;response_time_ms;rtd_no.
    # sipp measures whole milliseconds: p50/p99/max are integers, the mean of many samples is finer.
    local rtt
    rtt=$(ls -t "$T_DIR"/uac_*_rtt.csv 2>/dev/null | head -1)
    python3 - "$T_DIR/$tag.uac.csv" "${rtt:-/dev/null}" "$mode" "$rate" "$n" "$rc" "$wall_ms" "$stripped" "$left" \
        "$cpu_as" "$cpu_hss" "$cpu_udm" "$((d1 - d0))" >>"$T_DIR/results" <<'PY'
import csv, sys
stat, rtt, mode, rate, n, rc, wall_ms, stripped, left, ca, ch, cu, drops = sys.argv[1:]
ok = failed = 0
sent_rate = float('nan')
try:
    rows = list(csv.reader(open(stat), delimiter=';'))
    head, last = rows[0], rows[-1]
    ok = int(last[head.index('SuccessfulCall(C)')]); failed = int(last[head.index('FailedCall(C)')])
    # the rate sipp sent at: CallRate(C) when the last call was created (the wall time also holds the tail)
    oc, cr = head.index('OutgoingCall(C)'), head.index('CallRate(C)')
    sent_rate = next(float(r[cr]) for r in rows[1:] if int(r[oc]) >= int(n))
except Exception:
    pass
t = []
for line in open(rtt):
    f = line.strip().split(';')
    try:
        t.append(float(f[1]))
    except (IndexError, ValueError):
        pass
t.sort()
pct = lambda q: t[min(len(t) - 1, int(q * len(t)))] if t else float('nan')
failed += max(0, int(n) - ok - failed)   # calls never started or never finished count as failed
achieved = sent_rate
mean = sum(t) / len(t) if t else float('nan')
print(f"{mode} {rate} {n} {ok} {failed} {achieved:.0f} {pct(0.5):.0f} {pct(0.99):.0f} "
      f"{(t[-1] if t else float('nan')):.0f} {len(t)} {stripped} {left} {ca} {ch} {cu} {rc} {mean:.2f} {drops}")
PY
    [ -n "$rtt" ] && mv "$rtt" "$T_DIR/$tag.rtt.csv"
    tail -1 "$T_DIR/results" | awk '{printf "  %-6s %5s cps: %6s calls, %6s ok, %5s failed, %5s cps sent, INVITE->180 p50 %s p99 %s max %s mean %s ms (%s samples); stripped %s, calls left %s; CPU%% as %s hss %s udm %s; UDP rcvbuf drops %s; sipp rc %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $17, $10, $11, $12, $13, $14, $15, $18, $16}'
    if [ "$mode" = as ]; then # the AS's own figure for the checks: max(hss_us, udm_us) per call of this step
        grep -F "call bench-$tag-" "$T_DIR/as.log" | python3 -c '
import re, sys
v = sorted(max(int(a), int(b)) for a, b in re.findall(r"hss_us=(\d+) udm_us=(\d+)", sys.stdin.read()))
p = lambda q: v[min(len(v) - 1, int(q * len(v)))] / 1000 if v else float("nan")
print(f"         checks latency in the AS log (max of hss_us, udm_us): p50 {p(.5):.2f} p99 {p(.99):.2f} ms ({len(v)} calls)")'
    fi
    sleep 1
}

echo "mihua-as sip=127.0.0.1:$AS_SIP_PORT (log level $LOG_LEVEL), mihua-hss :$HSS_PORT, mihua-udm :$UDM_PORT"
echo "flow: INVITE(+u.mihua.voenc)/100/180/200/ACK/BYE/200, $SECS s per step, rates: $RATES"
echo "uptime before: $(uptime)"
: >"$T_DIR/results"
SECS_SAVED=$SECS
SECS=1
step as 10 >/dev/null   # warm-up (Sh and h2 connections open), not reported
SECS=$SECS_SAVED
: >"$T_DIR/results"
for r in $RATES; do
    step direct "$r"
    step as "$r"
done
echo "uptime after: $(uptime)"
python3 - "$T_DIR/results" <<'PY'
import sys
best = {"direct": None, "as": None}
p = {}
for line in open(sys.argv[1]):
    f = line.split()
    mode, rate, failed, stripped = f[0], int(f[1]), int(f[4]), f[10]
    clean = failed == 0 and (stripped == "-" or int(stripped) == 0)
    if clean and (best[mode] is None or rate > best[mode]):
        best[mode] = rate
        if mode == "as":
            p = {"p50": f[6], "p99": f[7], "achieved": f[5]}
print(f"highest rate with 0 failed calls: direct {best['direct']} cps, through mihua-as (0 stripped too) "
      f"{best['as']} cps" + (f" (sent at {p['achieved']} cps; INVITE->180 p50 {p['p50']} ms, p99 {p['p99']} ms)"
                              if p else ""))
PY
