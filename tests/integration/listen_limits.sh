#!/usr/bin/env bash
# Listener limits under attack (README "Threat model"): every listener mihua owns caps its connections, refuses
# cleanly when full, survives a full descriptor table without spinning or flooding its log, and closes slow-loris
# connections at the header deadline however steadily they trickle bytes. Each attack is followed by a legitimate
# request that must be answered promptly. Raw clients: slow_clients.py. Synchronisation: READY lines, metrics and
# the clients' own reports; the only waits are the attack windows, which are the subject.
. "$(dirname "$0")/lib.sh"

SLOW="python3 $(dirname "$0")/slow_clients.py"
SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
AMF=/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access
HEADER_MS=1000
IDLE_MS=1500
PROMPT_S=2 # a legitimate request after an attack: answered within this (ASan on a loaded 2-core machine)

all() {
    local c
    for c in "$@"; do eval "$c" || return 1; done
}
js() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
# metric URL NAME_AND_LABELS: the value of one series of a Prometheus text page (0 when absent)
metric() {
    curl -s --max-time 5 --http2-prior-knowledge "${T_AUTH[@]}" "$1/metrics" | awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }'
}
# legit_get URL: 200 within PROMPT_S seconds
legit_get() {
    local out
    out=$(curl -s -o /dev/null --max-time 10 --http2-prior-knowledge -w '%{http_code} %{time_total}' "$1") || true
    echo "  legit GET: $out" >&2
    [ "${out%% *}" = 200 ] && python3 -c "import sys; sys.exit(0 if float('${out##* }') < $PROMPT_S else 1)"
}

# --- mihua-udm (h2c SBI, admin API with /metrics) ----------------------------------------------------------------
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --max-connections 8 --header-timeout-ms "$HEADER_MS" --idle-timeout-ms "$IDLE_MS"
UDM=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) admin=.*/\1/p' "$T_DIR/udm.out")
ADMIN=$(sed -nE 's/^READY mihua-udm sbi=[^ ]+ admin=([^ ]+).*/\1/p' "$T_DIR/udm.out")
UDM_PORT=${UDM##*:}
check "--help documents the listener limits" grep -q -- "--max-connections" <("$MIHUA_BIN/mihua-udm" --help)

# Slow loris: 8 connections, a byte of an HTTP/2 request each every 100 ms. Old behaviour: every byte reset the
# 120 s idle timer, so all 8 were held (and, at the cap, nobody else got in).
r=$($SLOW slowloris 127.0.0.1 "$UDM_PORT" 8 100 $((HEADER_MS * 6)) h2)
echo "# udm slowloris: $r"
check "udm: 8 slow-loris connections all closed at the header deadline, bytes notwithstanding" \
    all '[ "$(js "$r" "j[\"closed\"]")" = 8 ]' '[ "$(js "$r" "j[\"max_close_ms\"] < 4 * $HEADER_MS")" = True ]' \
        '[ "$(js "$r" "j[\"bytes_each\"] > 5")" = True ]'
check "udm: the header deadline closes are counted" \
    [ "$(metric "$ADMIN" 'mihua_listener_deadline_closed_total{listener="udm",deadline="header"}')" -ge 8 ]
check "udm: a legitimate request right after is answered promptly" legit_get "$UDM$AMF"

# Idle: 4 connections that completed a request, then PING every 100 ms. Old behaviour: every PING reset the idle
# timer. Now only a complete request does: GOAWAY at IDLE_MS, close at the next expiry.
r=$($SLOW pinger 127.0.0.1 "$UDM_PORT" 4 100 $((IDLE_MS * 6)))
echo "# udm pinging idle connections: $r"
check "udm: connections that only PING are closed at the idle deadline (GOAWAY, then close)" \
    all '[ "$(js "$r" "j[\"closed\"]")" = 4 ]' '[ "$(js "$r" "j[\"min_close_ms\"] >= $IDLE_MS")" = True ]' \
        '[ "$(js "$r" "j[\"max_close_ms\"] < 4 * $IDLE_MS")" = True ]'
check "udm: the idle closes are counted" \
    [ "$(metric "$ADMIN" 'mihua_listener_deadline_closed_total{listener="udm",deadline="idle"}')" -ge 4 ]

# Cap: 8 idle connections held, the 9th gets the server preface and GOAWAY(NO_ERROR) and is closed.
r=$($SLOW cap 127.0.0.1 "$UDM_PORT" 8)
echo "# udm cap: $r"
check "udm: the connection over max_connections gets GOAWAY(NO_ERROR) and a close" \
    all '[ "$(js "$r" "j[\"goaway\"] and j[\"closed\"]")" = True ]' '[ "$(js "$r" "j[\"goaway_error\"]")" = 0 ]'
check "udm: the refusal is counted" [ "$(metric "$ADMIN" 'mihua_listener_refused_total{listener="udm"}')" -ge 1 ]
check "udm: once the holders are gone a legitimate request is answered" legit_get "$UDM$AMF"
check "udm: one log line for the refusals" [ "$(grep -c 'max_connections (8) reached' "$T_DIR/udm.log")" -le 2 ]

# Descriptor table full: a UDM with 64 descriptors and no cap below them, 200 connections held 1.5 s.
# Old behaviour: accept() failed in a loop, each failure logged (188 MB in 20 s), a core at 100%.
start_daemon udmfd bash -c "ulimit -n 64 && exec \"\$0\" \"\$@\"" "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" \
    --subscribers "$SUBS" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
UDMFD=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) admin=.*/\1/p' "$T_DIR/udmfd.out")
ADMINFD=$(sed -nE 's/^READY mihua-udm sbi=[^ ]+ admin=([^ ]+).*/\1/p' "$T_DIR/udmfd.out")
r=$($SLOW flood 127.0.0.1 "${UDMFD##*:}" 200 1500 "$udmfd_PID")
echo "# udm EMFILE flood: $r ($(uptime | sed 's/.*load/load/'))"
check "udm out of descriptors: no busy loop (CPU under a third of the window)" \
    [ "$(js "$r" "j[\"cpu_ms\"] * 3 < j[\"wall_ms\"]")" = True ]
check "udm out of descriptors: accept errors counted, at most a few log lines" \
    all '[ "$(metric "$ADMINFD" "mihua_listener_accept_errors_total{listener=\"udm\"}")" -ge 1 ]' \
        '[ "$(grep -c "accept: " "$T_DIR/udmfd.log")" -le 3 ]'
check "udm out of descriptors: connections it could not take were shed (closed), not left hanging" \
    [ "$(js "$r" "j[\"shed\"] > 0")" = True ]
check "udm out of descriptors: serves again once the flood is gone" wait_until 5000 legit_get "$UDMFD$AMF"

# --- mihua-kms (TLS): slow handshakes -------------------------------------------------------------------------------
"$MIHUA_SRC/scripts/gen-test-certs" "$T_DIR/certs" kms >/dev/null
start_daemon kms "$MIHUA_BIN/mihua-kms" --listen 127.0.0.1:0 --subscribers "$SUBS" --audit-log "$T_DIR/audit.jsonl" \
    --as-url http://127.0.0.1:9 -c <(printf '{"tls":{"cert":"%s","key":"%s"}}' "$T_DIR/certs/kms.pem" "$T_DIR/certs/kms.key") \
    --header-timeout-ms "$HEADER_MS" --max-connections 64
KMS=$(sed -nE 's/^READY mihua-kms sbi=([^ ]+).*/\1/p' "$T_DIR/kms.out")
r=$($SLOW slowloris 127.0.0.1 "${KMS##*:}" 40 100 $((HEADER_MS * 6)) tls)
echo "# kms slow TLS handshakes: $r"
check "kms: 40 trickling TLS handshakes all closed at the header deadline" \
    all '[ "$(js "$r" "j[\"closed\"]")" = 40 ]' '[ "$(js "$r" "j[\"max_close_ms\"] < 4 * $HEADER_MS")" = True ]'
kms_get() {
    local out
    out=$(curl -s -o /dev/null --max-time 10 --http2 --cacert "$T_DIR/certs/ca.pem" -w '%{http_code} %{time_total}' \
        -H 'content-type: application/json' --data '{}' "$KMS/kms/v1/session-keys") || true
    echo "  legit POST: $out" >&2
    [ "${out%% *}" = 401 ] && python3 -c "import sys; sys.exit(0 if float('${out##* }') < $PROMPT_S else 1)"
}
check "kms: a legitimate client gets its Digest challenge promptly" kms_get
check "kms: the deadline closes show in its /metrics" \
    [ "$(curl -s --cacert "$T_DIR/certs/ca.pem" "${T_AUTH[@]}" "$KMS/metrics" | awk '$1 ~ /deadline="header"/ { print $2 }')" -ge 40 ]

# --- mihua-as: the SIP TCP listener ------------------------------------------------------------------------------------
printf '{"checks": false, "diameter_port": 0, "sip_listen": "127.0.0.1:0", "sbi_listen": "127.0.0.1:0"}\n' >"$T_DIR/as.json"
start_daemon as "$MIHUA_BIN/mihua-as" -c "$T_DIR/as.json" --max-connections 6 --header-timeout-ms "$HEADER_MS" \
    --subscribers "$SUBS"
AS_SIP=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' "$T_DIR/as.out")
AS_SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' "$T_DIR/as.out")
r=$($SLOW slowloris 127.0.0.1 "$AS_SIP" 6 100 $((HEADER_MS * 6)) sip)
echo "# as sip slowloris: $r"
check "as: 6 trickling SIP TCP requests all closed at the header deadline" \
    all '[ "$(js "$r" "j[\"closed\"]")" = 6 ]' '[ "$(js "$r" "j[\"max_close_ms\"] < 4 * $HEADER_MS")" = True ]'
r=$($SLOW cap 127.0.0.1 "$AS_SIP" 6)
echo "# as sip cap: $r"
check "as: the SIP TCP connection over max_connections is closed at once" [ "$(js "$r" "j[\"closed\"]")" = True ]
check "as: refusals and deadline closes in /metrics" \
    all '[ "$(metric "$AS_SBI" "mihua_listener_refused_total{listener=\"as-sip-tcp\"}")" -ge 1 ]' \
        '[ "$(metric "$AS_SBI" "mihua_listener_deadline_closed_total{listener=\"as-sip-tcp\",deadline=\"header\"}")" -ge 6 ]'
options() {
    python3 - "$AS_SIP" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKlegit\r\n"
          b"Max-Forwards: 70\r\nFrom: <sip:a@ims.test>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: legit\r\n"
          b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
sys.exit(0 if s.recv(4096).startswith(b"SIP/2.0 ") else 1)
PY
}
check "as: a legitimate SIP request over TCP is answered after the attack" options

finish
