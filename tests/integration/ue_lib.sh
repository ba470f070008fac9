# Helpers for tests that place real calls between mihua-ue agents through the real network (DESIGN §1): source it
# after lib.sh. net_up starts mihua-hss, mihua-udm, mihua-as and mihua-kms (TLS 1.3, throwaway certificates) on
# free ports with the four test subscribers of lib.sh; ue_call runs one callee (answer --auto --count 1) and one
# caller (call TARGET) and keeps both JSON summaries; the expect_* checks read them.
#
#   net_up [AS OPTIONS...]            sets AS_SIP_PORT, AS_SBI, KMS_URL, HSS_ADMIN, UDM_ADMIN (the subscriber file
#                                     is lib.sh's four users unless the test wrote $SUBS first)
#   start_hss / start_udm / start_kms / start_as [OPTIONS]: (re)start one daemon on the port it had
#   CALLER_OPTS=(--rat UTRAN) CALLEE_OPTS=() ue_call NAME CALLER_USER CALLEE_USER [TARGET]
#   expect_connected NAME; expect_encrypted NAME SUITE; expect_plain NAME caller|callee REASON; expect_audio NAME

UE_BIN=$MIHUA_BIN/mihua-ue
UE_DUR=${UE_DUR:-0.6}            # seconds of audio per test call: 30 packets each way
SUBS=$T_DIR/subscribers.json
CALLER_OPTS=()
CALLEE_OPTS=()
declare -A UE_RAT # the RAT each test UE says it is camped on (default NR); the network's view is in $SUBS

# Random u-law audio (every byte value occurs): what arrives can only match if it is the sender's, bit for bit.
make_wav() { # make_wav FILE SECONDS SEED
    python3 - "$@" <<'PY'
import random, struct, sys
path, secs, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
data = bytes(random.Random(seed).randrange(256) for _ in range(int(8000 * secs)))
fmt = struct.pack('<HHIIHHH', 7, 1, 8000, 8000, 1, 8, 0)
body = b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt + b'fact' + struct.pack('<II', 4, len(data)) \
       + b'data' + struct.pack('<I', len(data)) + data + (b'\0' if len(data) % 2 else b'')
open(path, 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)
PY
}

start_kms() { # (re)starts the KMS on KMS_PORT (chosen once, so a restarted KMS is where the UEs expect it)
    : "${KMS_PORT:=$(free_port)}"
    cat >"$T_DIR/kms.json" <<JSON
{ "listen": "127.0.0.1:$KMS_PORT", "subscribers": "$SUBS", "as": { "url": "$AS_SBI", "timeout_ms": 1000 },
  "tls": { "cert": "$T_DIR/certs/kms.pem", "key": "$T_DIR/certs/kms.key" }, "audit_log": "$T_DIR/kms-audit.jsonl" }
JSON
    start_daemon kms "$MIHUA_BIN/mihua-kms" -c "$T_DIR/kms.json"
    KMS_URL=$(sed -nE 's/^READY mihua-kms sbi=([^ ]+).*/\1/p' "$T_DIR/kms.out")
}

start_hss() {
    : "${HSS_PORT:=$(free_port)}"
    start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$HSS_PORT" \
        --admin-listen 127.0.0.1:0
    HSS_ADMIN=$(sed -E 's/.* admin=([^ ]+).*/\1/' "$T_DIR/hss.out")
}

start_udm() {
    : "${UDM_PORT:=$(free_port)}"
    start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" \
        --listen "127.0.0.1:$UDM_PORT" --admin-listen 127.0.0.1:0
    UDM_ADMIN=$(sed -E 's/.* admin=([^ ]+).*/\1/' "$T_DIR/udm.out")
}

start_as() { # start_as [OPTIONS...]: (re)starts the AS; sets AS_SIP_PORT and AS_SBI. AS_USES_HSS=0: do not wait
    if [ -n "${as_PID:-}" ]; then stop_daemon "$as_PID" || fail "AS: SIGTERM exit 0"; fi
    : "${AS_SBI_PORT:=$(free_port)}"
    start_daemon as "$MIHUA_BIN/mihua-as" -c "$MIHUA_SRC/conf/as.json" --sip-listen 127.0.0.1:0 \
        --sbi-listen "127.0.0.1:$AS_SBI_PORT" --hss "127.0.0.1:$HSS_PORT" --udm-url "http://127.0.0.1:$UDM_PORT" \
        --diameter-port 0 --subscribers "$SUBS" "$@"
    local ready
    ready=$(grep '^READY' "$T_DIR/as.out")
    AS_SIP_PORT=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' <<<"$ready")
    AS_SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' <<<"$ready")
    [ "${AS_USES_HSS:-1}" = 0 ] || wait_hss_open "$AS_SBI"
}

net_up() {
    [ -s "$SUBS" ] || write_subscribers "$SUBS"
    "$MIHUA_SRC/scripts/gen-test-certs" "$T_DIR/certs" kms >/dev/null
    start_hss
    start_udm
    start_as "$@"
    start_kms
    make_wav "$T_DIR/caller.wav" 1 "$RANDOM" # seeds of this run: tests running in parallel send other audio
    make_wav "$T_DIR/callee.wav" 1.5 "$RANDOM"
}

ue_conf() { # ue_conf USER: the agent config of test subscriber USER (impu +1555000000USER, kms_key = USER in hex,
            # sip_password from sip_password USER)
    cat >"$T_DIR/ue$1.json" <<JSON
{ "impu": "sip:+1555000000$1@$MIHUA_TEST_DOMAIN", "registrar": "127.0.0.1:$AS_SIP_PORT", "rat": "${UE_RAT[$1]:-NR}",
  "kms": { "url": "$KMS_URL", "ca": "$T_DIR/certs/ca.pem", "timeout_ms": 1000 },
  "kms_key": "$(printf '%064x' "$1")", "sip_password": "$(sip_password "$1")", "update_wait_ms": 1500,
  "log_level": "info" }
JSON
}

# ue_call NAME CALLER CALLEE [TARGET]: one complete call; both summaries land in $T_DIR/NAME.{caller,callee}.json.
ue_call() {
    local name=$1 caller=$2 callee=$3 target=${4:-tel:+1555000000$3}
    ue_conf "$caller"
    ue_conf "$callee"
    "$UE_BIN" -c "$T_DIR/ue$callee.json" answer --auto --count 1 --summary "$T_DIR/$name.callee.json" \
        --wav "$T_DIR/callee.wav" --wav-out "$T_DIR/$name.callee.in.wav" --ladder "${CALLEE_OPTS[@]}" \
        >"$T_DIR/$name.callee.out" 2>"$T_DIR/$name.callee.log" &
    local callee_pid=$! rc_caller=0 rc_callee=0
    wait_for "$T_DIR/$name.callee.out" '^READY mihua-ue' || { kill "$callee_pid"; return 1; }
    "$UE_BIN" -c "$T_DIR/ue$caller.json" call "$target" --duration "$UE_DUR" --summary "$T_DIR/$name.caller.json" \
        --wav "$T_DIR/caller.wav" --wav-out "$T_DIR/$name.caller.in.wav" --ladder "${CALLER_OPTS[@]}" \
        >"$T_DIR/$name.caller.out" 2>"$T_DIR/$name.caller.log" || rc_caller=$?
    wait "$callee_pid" || rc_callee=$?
    check "$name: caller exit 0 (connected) and callee exit 0" [ "$rc_caller:$rc_callee" = 0:0 ]
    CALLER_OPTS=()
    CALLEE_OPTS=()
}

sum() { # sum NAME ROLE PYEXPR [ARG]: a Python expression over the last summary line `j`; ARG is sys.argv[3]
    python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(eval(sys.argv[2]))' \
        "$T_DIR/$1.$2.json" "$3" "${4:-}"
}

expect_connected() {
    check "$1: both ends connected" [ "$(sum "$1" caller "j['connected']") $(sum "$1" callee "j['connected']")" = "True True" ]
}

expect_encrypted() { # expect_encrypted NAME SUITE: both ends encrypted with SUITE, every packet authenticated
    local r
    for r in caller callee; do
        check "$1: $r says encrypted: $2" [ "$(sum "$1" $r "str(j['encrypted']) + ' ' + j['suite']")" = "True $2" ]
        check "$1: $r authenticated every packet it received, none failed" \
            [ "$(sum "$1" $r "j['packets']['received'] > 0 and j['packets']['authenticated'] == j['packets']['received'] and j['packets']['failed'] == 0")" = True ]
    done
}

expect_plain() { # expect_plain NAME ROLE REASON: ROLE's summary says plain and its reason contains REASON
    check "$1: $2 says plain: $3" \
        [ "$(sum "$1" "$2" "str(not j['encrypted'] and sys.argv[3] in j['reason'])" "$3")" = True ]
}

# The audio each end received is the other's, bit for bit (SHA-256 of the u-law bytes, and the WAV written).
expect_audio() {
    check "$1: caller -> callee audio bit-exact" \
        [ "$(sum "$1" caller "j['audio']['sentSha256']")" = "$(sum "$1" callee "j['audio']['receivedSha256']")" ]
    check "$1: callee -> caller audio bit-exact" \
        [ "$(sum "$1" callee "j['audio']['sentSha256']")" = "$(sum "$1" caller "j['audio']['receivedSha256']")" ]
    check "$1: the callee's received WAV is the caller's WAV" \
        python3 - "$T_DIR/$1.callee.in.wav" "$T_DIR/caller.wav" <<'PY'
import sys
def data(p):
    b = open(p, 'rb').read()
    i = b.index(b'data')
    n = int.from_bytes(b[i + 4:i + 8], 'little')
    return b[i + 8:i + 8 + n]
got, sent = data(sys.argv[1]), data(sys.argv[2])
sys.exit(0 if len(got) >= 8000 * 0.5 and got == (sent * 4)[:len(got)] else 1)
PY
}

# write_subs "USER SUBSCRIBED RAT VOPS"...: $SUBS with one DESIGN §5 entry per argument (MSISDN 1555000000USER,
# kms_key = USER in hex, sip_password USER), and each UE's own RAT (UE_RAT) set to what the network says.
write_subs() {
    local sep='' u sub rat vops
    {
        echo '{ "subscribers": ['
        for spec in "$@"; do
            read -r u sub rat vops <<<"$spec"
            printf '%s{ "imsi": "0010100000000%02d", "msisdn": "1555000000%s", "impu": ["sip:+1555000000%s@%s", "tel:+1555000000%s"],
    "voice_encryption": %s, "access": { "rat": "%s", "ims_vops": %s }, "kms_key": "%064x",
    "sip_password": "%s" }\n' \
                "$sep" "$u" "$u" "$u" "$MIHUA_TEST_DOMAIN" "$u" "$sub" "$rat" "$vops" "$u" "$(sip_password "$u")"
            UE_RAT[$u]=$rat
            sep=,
        done
        echo '] }'
    } >"$SUBS"
}

# as_decision NAME: the AS's decision line for the call (DESIGN §3: one log line per decision).
as_decision() {
    local cid
    cid=$(sum "$1" caller "j['callId']")
    grep -E "call $cid .*encryption=(allowed|stripped)" "$T_DIR/as.log" | tail -1 || true
}
