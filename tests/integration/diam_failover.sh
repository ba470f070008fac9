#!/usr/bin/env bash
# Failover between two Diameter peers (DESIGN §3 "Diameter routing"): two mihua-hss on one subscriber file, the AS
# with both as diameter_peers (hss1 priority 1, hss2 priority 2). Calls placed while the primary is stopped
# (SIGTERM) and while it is stalled (SIGSTOP: OPEN but silent, caught by the hedged UDR) are all encrypted: 0 plain.
# After a restart, and after a stall long enough for the AS's watchdog to give up on the link, the primary is OPEN
# again within freeDiameter's reconnection bounds (lib.sh; times printed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ue_lib.sh"
. "$(dirname "$0")/diam_lib.sh"

CALLS=${FAILOVER_CALLS:-3}
write_subs "1 true NR true" "2 true NR true"
net_up
HSS1_PORT=$(free_port)
HSS2_PORT=$(free_port)
start_hssn() { # start_hssn N PORT
    start_daemon "hss$1" "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$2" \
        --identity "hss$1.ims.test" --admin-listen 127.0.0.1:0
}
start_hssn 1 "$HSS1_PORT"
start_hssn 2 "$HSS2_PORT"
as_json "$T_DIR/as-pair.json" "\"diameter_peers\": [
    {\"addr\": \"127.0.0.1:$HSS1_PORT\", \"identity\": \"hss1.ims.test\", \"priority\": 1},
    {\"addr\": \"127.0.0.1:$HSS2_PORT\", \"identity\": \"hss2.ims.test\", \"priority\": 2}]"
start_as_conf "$T_DIR/as-pair.json" --facts-cache no # failover of the UDRs themselves: no facts cache
P1='mihua_as_diameter_peer_open{peer="hss1.ims.test"}'
P2='mihua_as_diameter_peer_open{peer="hss2.ims.test"}'
peer_is() { [ "$(metric "$1")" = "$2" ]; }
wait_peer() { # wait_peer SERIES VALUE: until the AS's gauge says so (up to 40 s: DIAM_SUSPECT_MS and more)
    local deadline=$(( $(date +%s) + 40 ))
    until peer_is "$1" "$2"; do [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 0.05; done
}
check "both peers OPEN" wait_peer "$P1" 1
check "both peers OPEN (hss2)" wait_peer "$P2" 1

calls() { # calls NAME: CALLS calls, each must be encrypted
    for i in $(seq "$CALLS"); do
        ue_call "$1_$i" 1 2
        expect_encrypted "$1_$i" SM4_CM_128_HMAC_SM3_80
    done
}
calls both_up

# --- primary stopped ---------------------------------------------------------------------------------------------------
check "hss1: SIGTERM exit 0" stop_daemon "$hss1_PID"
check "AS saw hss1 go" wait_peer "$P1" 0
calls primary_down
start_hssn 1 "$HSS1_PORT"
T0=$(now_ms)
check "hss1 restarted: OPEN again" wait_peer "$P1" 1
echo "# primary restart: AS OPEN to hss1 $(( $(now_ms) - T0 )) ms after its READY"
check "restart recovery within freeDiameter's reconnection bound ($DIAM_RECONNECT_MS ms, lib.sh)" \
    [ $(( $(now_ms) - T0 )) -le "$DIAM_RECONNECT_MS" ]

# --- primary stalled: OPEN but silent -----------------------------------------------------------------------------------
kill -STOP "$hss1_PID"
calls primary_stalled
check "the stalled primary was noticed (hedged UDR logged)" \
    grep -q 'no answer from hss1.ims.test within [0-9]* ms: UDR for .* sent again to another peer' "$T_DIR/as.log"
# ... past the watchdog (Tw 6 s: a DWR unanswered, the link goes SUSPECT): then resumed.
check "stalled past the watchdog: the link to hss1 is no longer OPEN" wait_peer "$P1" 0
calls primary_closed
kill -CONT "$hss1_PID"
T0=$(now_ms)
check "hss1 resumed: OPEN again" wait_peer "$P1" 1
RECOVERY_MS=$(( $(now_ms) - T0 ))
echo "# stall past the watchdog: AS OPEN to hss1 ${RECOVERY_MS} ms after SIGCONT"
# freeDiameter does not revive a SUSPECT link when the peer speaks again: it discards the late DWA and replaces the
# link when its SUSPECT timer expires (lib.sh: DIAM_SUSPECT_MS). Calls meanwhile go to hss2: the 0 plain calls below.
check "stall recovery within freeDiameter's bound ($RECOVERY_MS ms <= $DIAM_SUSPECT_MS)" \
    [ "$RECOVERY_MS" -le "$DIAM_SUSPECT_MS" ]
calls primary_back

PLAIN=$(cat "$T_DIR"/*.caller.json | grep -c '"encrypted":false' || true)
check "0 plain calls ($PLAIN)" [ "$PLAIN" = 0 ]
finish
