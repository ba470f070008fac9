#!/usr/bin/env bash
# mihua-hss answering real Diameter Sh from mihua-probe (and a raw foreign client) on 127.0.0.1, with reload,
# hostile input and a tshark check of the wire. See issue "Foundation", DESIGN §3, §5, §8.
. "$(dirname "$0")/lib.sh"

DOMAIN=$MIHUA_TEST_DOMAIN

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
PORT=$(free_port)

# Capture the whole exchange for the wire check at the end.
tshark -i lo -f "tcp port $PORT" -w "$T_DIR/sh.pcapng" >"$T_DIR/tshark.log" 2>&1 &
TSHARK_PID=$!
T_PIDS+=("$TSHARK_PID")
wait_for "$T_DIR/tshark.log" "Capturing on"

start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$PORT" \
    --admin-listen 127.0.0.1:0 --log-level debug
check "READY line names the Diameter endpoint" grep -Eq "^READY mihua-hss diameter=hss.ims.test@0.0.0.0:$PORT admin=http://127.0.0.1:[1-9][0-9]* realm=ims.test$" "$T_DIR/hss.out"

# probe NAME ARGS...: runs the probe with --json into $T_DIR/NAME.json; its exit code into $T_DIR/NAME.rc.
probe() {
    local name=$1 rc=0
    shift
    "$MIHUA_BIN/mihua-probe" sh --hss "127.0.0.1:$PORT" --json "$@" >"$T_DIR/$name.json" 2>"$T_DIR/$name.err" || rc=$?
    echo "$rc" >"$T_DIR/$name.rc"
}
rc_of() { cat "$T_DIR/$1.rc"; }
is() { [ "$(jget "$T_DIR/$1.json" "$2")" = "$3" ] || { echo "  $1: $2 = $(jget "$T_DIR/$1.json" "$2" 2>&1), want $3" >&2; return 1; }; }

probe nr --impu "sip:+15550000001@$DOMAIN" --data-ref repository-data,tads
check "subscribed NR user: exit 0" [ "$(rc_of nr)" = 0 ]
check "subscribed NR user: Result-Code 2001" is nr "j['resultCode']['code']" 2001
check "subscribed NR user: answer from hss.ims.test" is nr "j['originHost']" hss.ims.test
check "subscribed NR user: RepositoryData for the voice encryption service" \
    is nr "j['shData']['repositoryData'][0]['serviceIndication']" mihua-voice-encryption
check "subscribed NR user: T-ADS RAT-Type 1006 (NR)" is nr "j['shData']['tadsInformation']['ratType']" 1006
check "subscribed NR user: IMS voice over PS supported" is nr "j['shData']['tadsInformation']['imsVoiceOverPSSessionSupport']" 1

probe unsub --impu "tel:+15550000003" --data-ref repository-data,tads
check "unsubscribed user: success" [ "$(rc_of unsub)" = 0 ]
check "unsubscribed user: no RepositoryData" is unsub "'repositoryData' in j['shData']" False
check "unsubscribed user: still has T-ADS" is unsub "j['shData']['tadsInformation']['ratType']" 1006

probe unknown --impu "sip:+15559999999@$DOMAIN"
check "unknown user: exit 3 (error answer)" [ "$(rc_of unknown)" = 3 ]
check "unknown user: Experimental-Result 5001" is unknown "j['experimentalResult']['code']" 5001
check "unknown user: Experimental-Result vendor 10415" is unknown "j['experimentalResult']['vendorId']" 10415
check "unknown user: no Result-Code 5001 confusion" is unknown "'resultCode' in j" False

probe eutran --impu "tel:+15550000002" --data-ref tads
check "EUTRAN user: RAT-Type 1004" is eutran "j['shData']['tadsInformation']['ratType']" 1004

probe utran --impu "sip:+15550000004@$DOMAIN" --data-ref tads
check "UTRAN user: RAT-Type 1000" is utran "j['shData']['tadsInformation']['ratType']" 1000
check "UTRAN user: no IMS voice over PS" is utran "j['shData']['tadsInformation']['imsVoiceOverPSSessionSupport']" 0

probe ids --msisdn 15550000002 --data-ref ims-public-identity,msisdn
check "MSISDN identity, IMSPublicIdentity and MSISDN parts" is ids \
    "(j['shData']['imsPublicIdentity'], j['shData']['msisdn'])" \
    "(['sip:+15550000002@$DOMAIN', 'tel:+15550000002'], '15550000002')"

probe dref --impu "tel:+15550000001" --data-ref 11
check "unsupported Data-Reference: Experimental-Result 5100" is dref "j['experimentalResult']['code']" 5100

# A foreign client speaking raw Diameter: no User-Identity, no Data-Reference, garbage — the HSS answers 5005 with
# Failed-AVP for the first two and keeps serving after the third.
check "raw client: missing AVPs answered 5005 with Failed-AVP, garbage survived" \
    python3 "$MIHUA_SRC/tests/integration/sh_raw_client.py" 127.0.0.1 "$PORT" "$T_DIR/raw_ports"
probe after_raw --impu "tel:+15550000001"
check "HSS still answers after hostile input" [ "$(rc_of after_raw)" = 0 ]

# Reload with a broken file: the old data stays and the log names file:line:column.
cp "$SUBS" "$T_DIR/good.json"
printf '{ "subscribers": [ { "imsi": "00101x" } ] }\n' >"$SUBS"
kill -HUP "$hss_PID"
wait_for "$T_DIR/hss.log" "reload failed"
check "broken reload names file:line:column" grep -Eq "reload failed.*subscribers.json:[0-9]+:[0-9]+: subscribers\[0\]" "$T_DIR/hss.log"
probe old --impu "tel:+15550000001" --data-ref tads
check "after a broken reload the old data answers (NR)" is old "j['shData']['tadsInformation']['ratType']" 1006

# Reload with a good file that moves user 1 to UTRAN.
write_subscribers "$SUBS" UTRAN
kill -HUP "$hss_PID"
wait_for "$T_DIR/hss.log" "reloaded"
probe new --impu "tel:+15550000001" --data-ref tads
check "after a good reload the change is served (UTRAN)" is new "j['shData']['tadsInformation']['ratType']" 1000

check "SIGTERM: exit 0" stop_daemon "$hss_PID"

# Wire: tshark dissects the exchange as Diameter Sh, names the Sh AVPs, and finds nothing malformed.
kill -INT "$TSHARK_PID"
wait "$TSHARK_PID" || true
tshark -r "$T_DIR/sh.pcapng" -d "tcp.port==$PORT,diameter" -V >"$T_DIR/sh.txt" 2>&1 || true
check "wire: Sh application 16777217 seen" grep -q "ApplicationId: 3GPP Sh (16777217)" "$T_DIR/sh.txt"
check "wire: User-Data-Request/Answer seen" grep -q "Command Code: User-Data (306)" "$T_DIR/sh.txt"
check "wire: User-Identity named" grep -q "AVP: User-Identity(700)" "$T_DIR/sh.txt"
check "wire: Data-Reference named" grep -q "AVP: Data-Reference(703)" "$T_DIR/sh.txt"
check "wire: User-Data named" grep -q "AVP: Sh-User-Data(702)" "$T_DIR/sh.txt"
RAW_PORTS=$(paste -sd, "$T_DIR/raw_ports")
tshark -r "$T_DIR/sh.pcapng" -d "tcp.port==$PORT,diameter" -Y "_ws.malformed && !(tcp.port in {$RAW_PORTS})" \
    >"$T_DIR/malformed.txt" 2>"$T_DIR/malformed.err"
check "wire: no malformed packet outside the deliberately broken exchanges" [ ! -s "$T_DIR/malformed.txt" ]
check "wire: the broken exchanges are seen as malformed (the filter works)" \
    bash -c "tshark -r '$T_DIR/sh.pcapng' -d 'tcp.port==$PORT,diameter' -Y _ws.malformed 2>/dev/null | grep -q ."

finish
