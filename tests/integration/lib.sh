# Shared helpers for integration tests: a private run folder, free ports, daemons started and waited for by their
# READY line, and cleanup that stops everything the test started. Source it; it sets `set -euo pipefail`.
set -euo pipefail

: "${MIHUA_BIN:?MIHUA_BIN must point to build/bin}"
: "${MIHUA_SRC:?MIHUA_SRC must point to the source tree}"

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mihua-it.XXXXXX")
T_PIDS=()
T_FAILS=0
T_PASSES=0
READY_TIMEOUT_S=${READY_TIMEOUT_S:-20}

# The operator token of this test's daemons (lib/sbi/sbi_auth.h). start_daemon hands it to mihua-hss, mihua-udm
# and mihua-as (--admin-token-file) and to mihua-kms (the same, for its /metrics, and --as-token-file, the AS's);
# `T_TOKEN=0 start_daemon ...` starts one without. curl sends it with "${T_AUTH[@]}": a header file, so the token
# stays off command lines; T_TOKEN_VALUE is for tools that take it otherwise (nghttp -H).
"$MIHUA_SRC/scripts/gen-admin-token" "$T_DIR"
T_TOKEN_FILE=$T_DIR/admin.token
T_TOKEN_VALUE=$(cat "$T_TOKEN_FILE")
T_AUTH=(-H "@$T_DIR/admin.auth")

t_cleanup() {
    local rc=$? pid
    for pid in "${T_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${T_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "$rc" -ne 0 ] && [ "$T_FAILS" -eq 0 ]; then
        echo "not ok - the script stopped early (exit $rc) after $T_PASSES checks: a command failed outside check"
    fi
    if [ "$rc" -eq 0 ] && [ "$T_FAILS" -eq 0 ] && [ -z "${KEEP_RUN_DIR:-}" ]; then
        rm -rf "$T_DIR"
    else
        echo "logs kept in $T_DIR"
    fi
}
trap t_cleanup EXIT

# A TCP port that is free right now on 127.0.0.1 (the kernel picks it; the caller binds it soon after).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for FILE PATTERN [SECONDS]: wait until FILE contains PATTERN (a grep -E regex); fail after SECONDS.
wait_for() {
    local file=$1 pattern=$2 limit=${3:-$READY_TIMEOUT_S} deadline
    deadline=$(( $(date +%s) + limit ))
    until grep -Eq -- "$pattern" "$file" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "timed out after ${limit}s waiting for /$pattern/ in $file" >&2
            return 1
        fi
        sleep 0.05
    done
}

# daemon_opts CMD...: the options start_daemon adds to CMD (it may run the daemon through a wrapper): the test's
# token (unless T_TOKEN=0), and for mihua-as its loop-lag and message-age marks off unless T_SHED=1 (as_overload
# tests them): on a machine as busy as CI's (ctest -j2 beside a busy loop) the loop runs 100 ms late now and then,
# and an INVITE shed with 503 would fail a test about something else.
daemon_opts() {
    local arg tok="--admin-token-file $T_TOKEN_FILE" shed="--overload-lag-ms 0 --overload-age-ms 0"
    [ "${T_TOKEN:-1}" = 1 ] || tok=""
    [ "${T_SHED:-0}" = 0 ] || shed=""
    for arg in "$@"; do
        case ${arg##*/} in
        mihua-as) echo "$tok $shed"; return ;;
        mihua-hss | mihua-udm) echo "$tok"; return ;;
        mihua-kms) [ -z "$tok" ] || echo "$tok --as-token-file $T_TOKEN_FILE"; return ;;
        esac
    done
}

# start_daemon NAME CMD...: runs CMD (with the options of daemon_opts) in the background with stdout in
# $T_DIR/NAME.out and stderr in NAME.log, waits for its READY line. Sets the variable NAME_PID.
start_daemon() {
    local name=$1 extra
    shift
    read -r -a extra <<<"$(daemon_opts "$@")"
    : >"$T_DIR/$name.out" # now, not in the background job: a restart must not find the last run's READY line
    "$@" "${extra[@]}" >"$T_DIR/$name.out" 2>"$T_DIR/$name.log" &
    local pid=$!
    T_PIDS+=("$pid")
    printf -v "${name}_PID" '%s' "$pid"
    if ! wait_for "$T_DIR/$name.out" '^READY ' ; then
        echo "--- $name stderr ---" >&2
        cat "$T_DIR/$name.log" >&2
        return 1
    fi
}

# stop_daemon PID: SIGTERM and wait; returns the exit status.
stop_daemon() {
    local pid=$1 rc=0
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    return "$rc"
}

# now_ms: wall-clock time in ms since the epoch (the clock the daemons' log timestamps use).
now_ms() { date +%s%3N; }

# log_ms FILE PATTERN: the time (ms since the epoch) of the first line of FILE matching PATTERN (a grep -E regex),
# read from the ISO 8601 timestamp that starts every log line of mihua's programs. Fails when there is none.
log_ms() {
    local line
    line=$(grep -m1 -E -- "$2" "$1") || return 1
    date -d "${line%% *}" +%s%3N
}

# wait_until MS COMMAND...: until COMMAND succeeds, polled every 50 ms; fails once MS milliseconds have passed.
wait_until() {
    local deadline=$(( $(now_ms) + $1 ))
    shift
    until "$@"; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# wait_stopped PID: every thread of PID has stopped (SIGSTOP is delivered asynchronously).
wait_stopped() {
    local deadline=$(( $(date +%s) + READY_TIMEOUT_S )) t running
    while :; do
        running=0
        for t in /proc/"$1"/task/*/stat; do
            # The state follows the command name in parentheses: "pid (comm) S ...".
            [ "$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "$t" 2>/dev/null)" = T ] || running=1
        done
        [ "$running" = 0 ] && return 0
        [ "$(date +%s)" -lt "$deadline" ] || { echo "  $1 did not stop" >&2; return 1; }
        sleep 0.01
    done
}

# freeDiameter's own timers bound how soon mihua-as has its Sh link again (libfdcore p_psm.c, p_dw.c, 1.2.1): a
# reconnection attempt follows a failure after max(Tc - 2, 0) + U(0, 4) s. A peer that went SUSPECT (silent past the
# watchdog) never returns to OPEN when it speaks again, as RFC 3539 §3.4.1 would have it: entering SUSPECT fails its
# pending requests over, so even the DWA answering the watchdog is discarded as unmatched, and the link is torn down
# when the SUSPECT timer (2 Tw, from when the AS saw the peer go SUSPECT) expires, then reconnected; that first CER
# can meet a HSS still closing the old link and go unanswered for CEA_TIMEOUT (10 s) before one more attempt. With
# the AS's Tc = 2 s and Tw = 6 s (as_sh_path.h), plus 2 s for a loaded machine under ASan:
DIAM_RECONNECT_MS=5000 # a restarted HSS is OPEN again at the AS within this of its READY: 4 + 1 s
DIAM_SUSPECT_MS=32000  # a HSS resumed after the AS's watchdog gave up on it: 2 Tw + 4 + 10 + 4 + 2 s
hss_peer_open() { curl -s --max-time 2 --http2-prior-knowledge "${T_AUTH[@]}" "$1/metrics" | grep -c '^mihua_as_hss_peer_open 1' >/dev/null; }

# wait_hss_open AS_SBI_URL [SECONDS]: until the AS reports its Sh peer OPEN (its READY does not wait forever for the HSS:
# calls meanwhile go on plain, which a test that expects encryption must not mistake for a bug).
wait_hss_open() {
    wait_until $(( ${2:-$READY_TIMEOUT_S} * 1000 )) hss_peer_open "$1" && return 0
    echo "AS never connected to the HSS" >&2
    return 1
}

pass() { T_PASSES=$((T_PASSES + 1)); echo "ok - $*"; }
fail() { T_FAILS=$((T_FAILS + 1)); echo "not ok - $*"; }

# all COMMAND_TEXT...: every command text (eval'd, in order) succeeds; for one check of several conditions.
all() {
    local c
    for c in "$@"; do eval "$c" || return 1; done
}

# check DESCRIPTION COMMAND...: one assertion.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# all CMD...: every CMD (a string, eval'd) succeeds; names the first that does not. For one check of several facts.
all() { local c; for c in "$@"; do eval "$c" || { echo "  failed: $c" >&2; return 1; }; done; }

# jget JSONFILE PYEXPR: evaluates a Python expression over the parsed JSON `j` and prints it.
jget() {
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# sip_password USER: the SIP Digest secret of test subscriber USER (DESIGN §5 sip_password).
sip_password() { printf 'sip-secret-%s' "$1"; }

# write_subscribers FILE [RAT_OF_USER1]: four subscribers in DESIGN §5 form — 1 subscribed on NR (or the RAT
# given), 2 subscribed on EUTRAN, 3 not subscribed on NR without IMS voice, 4 subscribed on UTRAN.
MIHUA_TEST_DOMAIN=ims.mnc001.mcc001.3gppnetwork.org
write_subscribers() {
    local d=$MIHUA_TEST_DOMAIN
    cat >"$1" <<JSON
{ "subscribers": [
  { "imsi": "001010000000001", "msisdn": "15550000001", "impu": ["sip:+15550000001@$d", "tel:+15550000001"],
    "voice_encryption": true, "access": { "rat": "${2:-NR}", "ims_vops": true }, "kms_key": "$(printf '%064x' 1)",
    "sip_password": "$(sip_password 1)" },
  { "imsi": "001010000000002", "msisdn": "15550000002", "impu": ["sip:+15550000002@$d", "tel:+15550000002"],
    "voice_encryption": true, "access": { "rat": "EUTRAN", "ims_vops": true }, "kms_key": "$(printf '%064x' 2)",
    "sip_password": "$(sip_password 2)" },
  { "imsi": "001010000000003", "msisdn": "15550000003", "impu": ["sip:+15550000003@$d", "tel:+15550000003"],
    "voice_encryption": false, "access": { "rat": "NR", "ims_vops": false }, "kms_key": "$(printf '%064x' 3)",
    "sip_password": "$(sip_password 3)" },
  { "imsi": "001010000000004", "msisdn": "15550000004", "impu": ["sip:+15550000004@$d", "tel:+15550000004"],
    "voice_encryption": true, "access": { "rat": "UTRAN", "ims_vops": false }, "kms_key": "$(printf '%064x' 4)",
    "sip_password": "$(sip_password 4)" }
] }
JSON
}

# openapi_conforms DOC METHOD URL|PATH STATUS CONTENT_TYPE BODY_FILE: the answer checked against
# docs/openapi/DOC (openapi_check.py); the reason on stderr when it does not conform.
openapi_conforms() {
    local path=$3
    case $path in http*) path=/${path#http*://*/} ;; esac
    python3 "$MIHUA_SRC/tests/integration/openapi_check.py" "$MIHUA_SRC/docs/openapi/$1" "$2" "$path" "$4" "$5" "$6"
}

finish() {
    echo "$T_PASSES passed, $T_FAILS failed"
    [ "$T_FAILS" -eq 0 ]
}
