#!/usr/bin/env bash
# The AS's encryption checks (as_gateway/as_checks, DESIGN §3) against real mihua-hss (Diameter Sh) and
# mihua-udm (SBI) on 127.0.0.1, driven by as-checks-cli — the module mihua-as links. Covers every policy, each
# failing condition, an unknown callee, a stopped HSS (error at once, and the `any` policy riding on the UDM), a
# stopped UDM, a stalled HSS (SIGSTOP: "lookup timeout" within the timeout plus a margin, late answers dropped),
# the HSS coming back (reconnection), and the decision log line. Synchronisation is by READY lines, output lines,
# log lines and process exit — never by sleeping.
. "$(dirname "$0")/lib.sh"

TOOLS=$(dirname "$MIHUA_BIN")/tests
CLI=$TOOLS/mihua-as-checks-cli
D=$MIHUA_TEST_DOMAIN
TIMEOUT_MS=300
MARGIN_MS=200         # brief: a timed-out check answers within timeout + 200 ms
QUICK_MS=$((TIMEOUT_MS / 2)) # "at once": well under the timeout
COARSE_SLACK_MS=10    # libevent times with CLOCK_MONOTONIC_COARSE: a timer may fire a jiffy early

NR="sip:+15550000001@$D"           # subscribed, NR, IMS VoPS
EUTRAN="tel:+15550000002"          # subscribed, EUTRAN, IMS VoPS
UNSUB="sip:+15550000003@$D;user=phone" # not subscribed (NR, no IMS VoPS)
UTRAN="tel:+15550000004"           # subscribed, UTRAN
UNKNOWN="sip:+15559999999@$D"      # nobody

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
HSS_PORT=$(free_port)

# Daemons started while stdin clis run must not hold those clis' fifos open (see cli_start).
declare -A CLI_FD CLI_PID CLI_N
without_cli_fds() {
    local fd
    for fd in "${CLI_FD[@]}"; do exec {fd}>&-; done
    exec "$@"
}
start_hss() {
    start_daemon "$1" without_cli_fds "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" \
        --port "$HSS_PORT" \
        --admin-listen 127.0.0.1:0
}
start_udm() {
    start_daemon "$1" without_cli_fds "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" \
        --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
    UDM_URL=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) admin=.*/\1/p' "$T_DIR/$1.out")
}
start_hss hss
start_udm udm

# ---------------------------------------------------------------- helpers

# run NAME SUB ATT CALLER CALLEE [OPTIONS...]: one check in a fresh cli; JSON in NAME.json, exit code in NAME.rc.
run() {
    local name=$1 sub=$2 att=$3 caller=$4 callee=$5 rc=0
    shift 5
    "$CLI" --hss "127.0.0.1:$HSS_PORT" --udm "$UDM_URL" --subscription "$sub" --attachment "$att" \
        --timeout-ms "$TIMEOUT_MS" "$@" "$caller" "$callee" >"$T_DIR/$name.out" 2>"$T_DIR/$name.log" || rc=$?
    echo "$rc" >"$T_DIR/$name.rc"
    grep '^{' "$T_DIR/$name.out" >"$T_DIR/$name.json" || true
}

# is NAME PYEXPR WANT: the expression over the decision `j` equals WANT.
is() {
    local got
    got=$(jget "$T_DIR/$1.json" "$2" 2>&1) || true
    [ "$got" = "$3" ] || { echo "  $1: $2 = $got, want $3" >&2; return 1; }
}
# ran_ok NAME: the cli exited 0 (a decision was printed; no sanitizer report, no leak).
ran_ok() {
    [ "$(cat "$T_DIR/$1.rc")" = 0 ] && return 0
    echo "  $1: exit $(cat "$T_DIR/$1.rc")" >&2
    tail -5 "$T_DIR/$1.log" >&2
    return 1
}
# decision NAME ALLOWED REASON: ALLOWED is True or False.
decision() { ran_ok "$1" && is "$1" "(j['allowed'], j['reason'])" "($2, '$3')"; }
# elapsed_cmp NAME OP MS: the check's elapsedMs compares with MS by OP (< or >=).
elapsed_cmp() {
    local got
    got=$(jget "$T_DIR/$1.json" "j['elapsedMs']")
    awk -v a="$got" -v op="$2" -v b="$3" 'BEGIN { exit !(op == "<" ? a + 0 < b + 0 : a + 0 >= b + 0) }' \
        || { echo "  $1: elapsedMs $got, want $2 $3" >&2; return 1; }
}
faster_than() { elapsed_cmp "$1" "<" "$2"; }
not_before() { elapsed_cmp "$1" ">=" "$2"; }

# wait_more FILE PATTERN N: wait until more than N lines of FILE contain PATTERN (fixed string).
wait_more() {
    local deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
    until [ "$(grep -cF -- "$2" "$1" || true)" -gt "$3" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "  no new '$2' in $1" >&2; return 1; }
        sleep 0.05
    done
}

# A cli that reads "CALLER CALLEE" lines from a fifo: one connected AS across changes to the world.
cli_start() {
    local name=$1 fd
    shift
    mkfifo "$T_DIR/$name.in"
    # The child must not hold the write ends of the other clis' fifos, or they would never see end of input.
    without_cli_fds "$CLI" --hss "127.0.0.1:$HSS_PORT" --udm "$UDM_URL" --timeout-ms "$TIMEOUT_MS" --stdin "$@" \
        <"$T_DIR/$name.in" >"$T_DIR/$name.out" 2>"$T_DIR/$name.log" &
    CLI_PID[$name]=$!
    T_PIDS+=("$!")
    exec {fd}>"$T_DIR/$name.in"
    CLI_FD[$name]=$fd
    CLI_N[$name]=0
    wait_for "$T_DIR/$name.out" '^READY '
}
# cli_ask NAME CHECKNAME CALLER CALLEE: one check; its JSON in CHECKNAME.json (rc file 0 while the cli lives).
cli_ask() {
    local name=$1 check=$2
    CLI_N[$name]=$((CLI_N[$name] + 1))
    echo "$3 $4" >&"${CLI_FD[$name]}"
    wait_more "$T_DIR/$name.out" '{"caller"' $((CLI_N[$name] - 1)) || true
    grep '^{' "$T_DIR/$name.out" | sed -n "${CLI_N[$name]}p" >"$T_DIR/$check.json"
    echo 0 >"$T_DIR/$check.rc"
}
# cli_finish NAME: end of input; the cli must exit 0 (no sanitizer report, no leak).
cli_finish() {
    local name=$1 rc=0 fd=${CLI_FD[$1]}
    exec {fd}>&-
    unset "CLI_FD[$name]"
    wait "${CLI_PID[$name]}" || rc=$?
    [ "$rc" = 0 ] || { echo "  $name exit $rc" >&2; tail -5 "$T_DIR/$name.log" >&2; }
    [ "$rc" = 0 ]
}

# ---------------------------------------------------------------- both sources up

for p in hss udm any all; do
    run ok_$p $p $p "$EUTRAN" "$NR"
    check "$p: both subscribed, callee on NR -> allowed" decision ok_$p True ok
done
check "hss policy asks only the HSS" is ok_hss "(j['hss']['calleeAttached'], j['udm']['calleeAttached'])" "('yes', 'not-asked')"
check "udm policy asks only the UDM" is ok_udm "(j['hss']['calleeAttached'], j['udm']['calleeAttached'])" "('not-asked', 'yes')"
check "all: both sources answered, T-ADS and AMF registration say NR" \
    is ok_all "(j['hss']['rat'], j['udm']['rat'])" "('NR', 'NR')"
check "decision line logged with inputs, latencies and outcome" \
    grep -Eq "INFO as.checks: decision check=1 caller=tel:\+15550000002 callee=sip:\+15550000001@$D policy=all/all hss=\[yes,yes,yes\] rat=NR [0-9.]+ms udm=\[yes,yes,yes\] rat=NR [0-9.]+ms -> allowed \(ok\)" \
    "$T_DIR/ok_all.log"

for p in hss any; do
    run eutran_$p $p $p "$NR" "$EUTRAN"
    check "$p: callee on EUTRAN -> allowed (HSS T-ADS)" decision eutran_$p True ok
done
for p in udm all; do
    run eutran_$p $p $p "$NR" "$EUTRAN"
    check "$p: callee on EUTRAN -> no AMF registration, not attached" decision eutran_$p False "callee not attached on 4G/5G"
done
check "udm: EUTRAN callee is CONTEXT_NOT_FOUND (a no, not an error)" is eutran_udm "j['udm']['calleeAttached']" no
run eutran_mixed hss udm "$NR" "$EUTRAN"
check "subscription=hss attachment=udm: EUTRAN callee not attached" decision eutran_mixed False "callee not attached on 4G/5G"

for p in hss any all; do
    run utran_$p $p $p "$NR" "$UTRAN"
    check "$p: callee on UTRAN -> not attached" decision utran_$p False "callee not attached on 4G/5G"
done
check "HSS reports the UTRAN RAT" is utran_hss "j['hss']['rat']" UTRAN

for p in hss udm any all; do
    run unsub_caller_$p $p $p "$UNSUB" "$NR"
    check "$p: caller not subscribed" decision unsub_caller_$p False "caller not subscribed"
    run unsub_callee_$p $p $p "$NR" "$UNSUB"
    check "$p: callee not subscribed" decision unsub_callee_$p False "callee not subscribed"
done

for p in hss udm all; do
    run unknown_$p $p $p "$NR" "$UNKNOWN"
    check "$p: callee unknown -> user unknown" decision unknown_$p False "user unknown"
done
check "HSS: Experimental-Result 5001 read as unknown" is unknown_hss "j['hss']['calleeSubscribed']" unknown
check "UDM: USER_NOT_FOUND read as unknown" is unknown_udm "(j['udm']['calleeSubscribed'], j['udm']['calleeAttached'])" "('unknown', 'unknown')"
run noid udm udm "$NR" "sip:alice@$D"
check "udm: an identity without a number cannot be asked -> user unknown" decision noid False "user unknown"
check "udm: ... at once" faster_than noid "$QUICK_MS"

# ---------------------------------------------------------------- HSS stalled (SIGSTOP)

cli_start stall_hss --subscription hss --attachment hss --log-level debug
cli_start stall_any --subscription any --attachment any
check "stdin cli: HSS peer open before the first check" grep -q '^READY as-checks-cli hss=open$' "$T_DIR/stall_hss.out"
cli_ask stall_hss stall_before "$EUTRAN" "$NR"
check "before the stall: allowed" decision stall_before True ok
kill -STOP "$hss_PID"
wait_stopped "$hss_PID"
cli_ask stall_hss stall_hss_1 "$EUTRAN" "$NR"
cli_ask stall_any stall_any_1 "$EUTRAN" "$NR"
kill -CONT "$hss_PID"
check "HSS stalled, hss policy -> lookup timeout" decision stall_hss_1 False "lookup timeout"
check "... within timeout + ${MARGIN_MS} ms" faster_than stall_hss_1 $((TIMEOUT_MS + MARGIN_MS))
check "... and not before the timeout" not_before stall_hss_1 $((TIMEOUT_MS - COARSE_SLACK_MS))
check "... every HSS question reads timeout" \
    is stall_hss_1 "(j['hss']['callerSubscribed'], j['hss']['calleeSubscribed'], j['hss']['calleeAttached'])" \
    "('timeout', 'timeout', 'timeout')"
check "HSS stalled, any policy, UDM yes -> allowed after the timeout" decision stall_any_1 True ok
check "... within timeout + ${MARGIN_MS} ms" faster_than stall_any_1 $((TIMEOUT_MS + MARGIN_MS))
cli_ask stall_hss stall_after "$EUTRAN" "$NR"
check "after SIGCONT the same AS is allowed again" decision stall_after True ok
wait_for "$T_DIR/stall_hss.log" "late HSS answer for check 2: dropped"
check "late answers of the timed-out check are dropped" grep -q "late HSS answer for check 2: dropped" "$T_DIR/stall_hss.log"
check "timeout decision logged" grep -q "decision check=2 .* -> not allowed (lookup timeout)" "$T_DIR/stall_hss.log"
check "stalled-HSS cli (hss) exits 0" cli_finish stall_hss
check "stalled-HSS cli (any) exits 0" cli_finish stall_any

# ---------------------------------------------------------------- UDM stopped

check "UDM exits 0 on SIGTERM" stop_daemon "$udm_PID"
run udm_down udm udm "$EUTRAN" "$NR"
check "UDM stopped, udm policy -> lookup error" decision udm_down False "lookup error"
check "... at once" faster_than udm_down "$QUICK_MS"
run udm_down_any any any "$EUTRAN" "$NR"
check "UDM stopped, any policy, HSS yes -> allowed" decision udm_down_any True ok
run udm_down_all all all "$EUTRAN" "$NR"
check "UDM stopped, all policy -> lookup error" decision udm_down_all False "lookup error"
start_udm udm2

# ---------------------------------------------------------------- HSS stopped (SIGTERM)

cli_start down_hss --subscription hss --attachment hss --log-level debug
cli_start down_any --subscription any --attachment any
check "HSS exits 0 on SIGTERM" stop_daemon "$hss_PID"
cli_ask down_hss down_hss_1 "$EUTRAN" "$NR"
cli_ask down_any down_any_1 "$EUTRAN" "$NR"
check "HSS stopped, hss policy -> lookup error" decision down_hss_1 False "lookup error"
check "... at once, no waiting for the timeout" faster_than down_hss_1 "$QUICK_MS"
check "HSS stopped, any policy, UDM yes -> allowed" decision down_any_1 True ok
check "... at once" faster_than down_any_1 "$QUICK_MS"
run fresh_down hss hss "$EUTRAN" "$NR" --wait-hss-ms 0
check "HSS never reached: READY says the peer is closed" grep -q '^READY as-checks-cli hss=closed$' "$T_DIR/fresh_down.out"
check "HSS never reached: lookup error" decision fresh_down False "lookup error"
check "... at once" faster_than fresh_down "$QUICK_MS"

# The HSS comes back on its port: freeDiameter reconnects (TcTimer) and the same AS is allowed again.
opened=$(grep -c -- "-> 'STATE_OPEN'" "$T_DIR/down_hss.log" || true)
start_hss hss2
check "HSS back: the AS's peer reopens" wait_more "$T_DIR/down_hss.log" "-> 'STATE_OPEN'" "$opened"
cli_ask down_hss down_hss_2 "$EUTRAN" "$NR"
check "HSS back: reconnected and allowed" decision down_hss_2 True ok
check "HSS-stopped cli (hss) exits 0" cli_finish down_hss
check "HSS-stopped cli (any) exits 0" cli_finish down_any

finish
