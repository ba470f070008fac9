#!/usr/bin/env bash
# Hostile Diameter peers against mihua-hss and mihua-as (README "Threat model"): a peer claiming the HSS's own
# identity (its CER once got 2001), 20 silent TCP connections (five once kept every real peer out for 20 s), a
# malformed UDR (freeDiameter once dumped whole messages, identities included, at WARN), and READY lines that say
# what freeDiameter really bound (1.2.1 binds every address whatever ListenOn says), checked against ss. After
# each attack a real Sh query (mihua-probe) must be answered. Synchronisation: READY lines and the clients' output.
. "$(dirname "$0")/lib.sh"

DOMAIN=$MIHUA_TEST_DOMAIN
HOSTILE="python3 $(dirname "$0")/diam_hostile.py"
SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
PORT=$(free_port)
PROBE_MS=10000 # a real peer's query answered within this after an attack (ASan, a busy loop beside ctest -j2; before: never within 20 s)

start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$PORT" \
    --admin-listen 127.0.0.1:0
# all_absent LOG: no freeDiameter dump line (indented AVP lines) and no subscriber identity from the fd module
all_absent() {
    ! grep -E ' fd: ' "$1" | grep -qE 'AVP: |tel:\+1555|Public-Identity'
}
probe_ok() {
    local t0 rc=0
    t0=$(now_ms)
    "$MIHUA_BIN/mihua-probe" sh --hss "127.0.0.1:$PORT" --impu "sip:+15550000001@$DOMAIN" --data-ref tads \
        --timeout-ms "$PROBE_MS" >"$T_DIR/probe.out" 2>&1 || rc=$?
    echo "  probe: exit $rc after $(( $(now_ms) - t0 )) ms" >&2
    [ "$rc" = 0 ]
}

# --- what is bound --------------------------------------------------------------------------------------------------
bound=$(ss -Hltn "sport = :$PORT" | awk '{ print $4 }')
echo "# ss: $bound; READY: $(cat "$T_DIR/hss.out")"
check "hss READY names the address freeDiameter bound (ss: $bound)" \
    grep -q "^READY mihua-hss diameter=hss.ims.test@$bound " "$T_DIR/hss.out"

# --- a peer claiming our own identity ----------------------------------------------------------------------------------
r=$($HOSTILE selfid 127.0.0.1 "$PORT" hss.ims.test ims.test)
echo "# CER as hss.ims.test: $r"
check "a CER claiming the HSS's own Origin-Host is refused (3010 DIAMETER_UNKNOWN_PEER or closed, never 2001)" \
    python3 -c "import json,sys; r=json.loads(sys.argv[1])['result']; sys.exit(0 if r in (3010, 'closed') else 1)" "$r"
check "the refusal is logged" grep -q "refused a peer claiming our own Diameter identity 'hss.ims.test'" "$T_DIR/hss.log"
check "a real peer is still served" probe_ok

# --- silent connections -------------------------------------------------------------------------------------------------
coproc SILENT { $HOSTILE silent 127.0.0.1 "$PORT" 20; }
read -r -t 20 held <&"${SILENT[0]}" || held=
echo "# silent: $held"
check "20 silent connections accepted and held (no CER)" [ "$held" = '{"held": 20}' ]
check "with them held, a real peer connects and is answered within $PROBE_MS ms (was: nothing for 20 s)" probe_ok
exec {SILENT[1]}>&-
wait "$SILENT_PID" 2>/dev/null || true

# --- malformed input stays out of the normal log --------------------------------------------------------------------------
python3 "$(dirname "$0")/sh_raw_client.py" 127.0.0.1 "$PORT" >"$T_DIR/raw.out" 2>&1 || true
check "the raw client's malformed UDRs were answered" grep -q "garbage and a truncated AVP sent" "$T_DIR/raw.out"
check "no message dump from freeDiameter at the default log level (no AVP lines, no identities)" \
    all_absent "$T_DIR/hss.log"
check "the unparsable buffer is reported without its bytes" \
    grep -q "Parsing error: cannot parse [0-9]*B buffer from '[^']*' (bytes at debug level)" "$T_DIR/hss.log"
check "a real peer is still served after the malformed input" probe_ok

# --- mihua-as: its own Diameter listener ------------------------------------------------------------------------------------
AS_DIAM=$(free_port)
start_daemon as "$MIHUA_BIN/mihua-as" -c "$MIHUA_SRC/conf/as.json" --sip-listen 127.0.0.1:0 --sbi-listen 127.0.0.1:0 \
    --hss "127.0.0.1:$PORT" --diameter-port "$AS_DIAM" --subscription-source hss --attachment-source hss \
    --subscribers "$SUBS"
as_bound=$(ss -Hltn "sport = :$AS_DIAM" | awk '{ print $4 }')
echo "# as ss: $as_bound; READY: $(cat "$T_DIR/as.out")"
check "as READY names the address freeDiameter bound for its Diameter listener (ss: $as_bound)" \
    grep -q " diameter=as.ims.test@$as_bound sip_auth=on$" "$T_DIR/as.out"

finish
