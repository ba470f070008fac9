#!/usr/bin/env bash
# `mihua-probe suite` (DESIGN §8): passes against mihua-hss and mihua-udm; with faults injected into them (a wrong
# Result-Code, a wrong content type) exactly the cases that check those fail; JUnit XML is well-formed (xmllint)
# and carries the counts Jenkins and GitLab read; TAP says the same. Against a foreign HTTP/2 server (nghttpd
# serving files) the HTTP/2 cases pass and the 3GPP-shaped ones fail, so the suite does not pass vacuously; a
# server that is down gives errors, not failures. No foreign Sh server is packaged in Debian (freeDiameterd has no
# Sh application): the Sh side is checked against mihua-hss, with and without faults.
. "$(dirname "$0")/lib.sh"

SUBS=$T_DIR/subscribers.json
write_subscribers "$SUBS" NR
PORT=$(free_port)
start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$PORT" \
    --admin-listen 127.0.0.1:0
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
HA=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/hss.out")
UA=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/udm.out")
SBI=$(sed -nE 's/^READY .* sbi=(http:[^ ]+) .*/\1/p' "$T_DIR/udm.out")

# suite NAME [ARGS...]: runs the suite with JUnit into NAME.xml, stdout into NAME.out, exit code into NAME.rc
suite() {
    local name=$1 rc=0
    shift
    "$MIHUA_BIN/mihua-probe" suite --junit "$T_DIR/$name.xml" --timeout-ms 10000 "$@" \
        >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" || rc=$?
    echo "$rc" >"$T_DIR/$name.rc"
}
OURS=(--hss "127.0.0.1:$PORT" --impu tel:+15550000001 --udm "$SBI" --subscriber 001010000000001)
# counts NAME: "tests failures errors skipped" of the <testsuites> element, read with xmllint
counts() {
    local a out=""
    for a in tests failures errors skipped; do
        out+="$(xmllint --xpath "string(/testsuites/@$a)" "$T_DIR/$1.xml") "
    done
    echo "${out% }"
}
# failing NAME: the classname.name of each testcase with a <failure>, sorted
failing() {
    xmllint --xpath '//testcase[failure]/@name' "$T_DIR/$1.xml" 2>/dev/null | sed -E 's/ name="([^"]*)"/\1\n/g' |
        grep -v '^$' | sort | tr '\n' ' '
}

suite pass "${OURS[@]}"
check "against mihua-hss and mihua-udm: exit 0" [ "$(cat "$T_DIR/pass.rc")" = 0 ]
check "JUnit well-formed (xmllint)" xmllint --noout "$T_DIR/pass.xml"
check "JUnit counts: 13 tests, no failure, error or skip" [ "$(counts pass)" = "13 0 0 0" ]
check "JUnit: one testsuite per interface with its own counts" [ "$(xmllint --xpath \
    'concat(count(//testsuite), " ", //testsuite[@name="mihua.sh"]/@tests, " ", //testsuite[@name="mihua.sbi"]/@tests)' \
    "$T_DIR/pass.xml")" = "3 4 7" ]
check "text output: every case PASS and a summary" grep -q '^13 cases: 13 passed, 0 failed, 0 errors, 0 skipped$' \
    "$T_DIR/pass.out"

curl "${T_AUTH[@]}" -s --http2-prior-knowledge -H 'content-type: application/json' -o /dev/null \
    -d '{"protocol":"diameter","action":"answer","resultCode":5012,"subscriber":"tel:+19999999999"}' "$HA/admin/v1/faults"
curl "${T_AUTH[@]}" -s --http2-prior-knowledge -H 'content-type: application/json' -o /dev/null \
    -d '{"protocol":"sbi","action":"answer","status":404,"cause":"USER_NOT_FOUND","contentType":"application/json","subscriber":"001019999999999"}' \
    "$UA/admin/v1/faults"
suite broken "${OURS[@]}" --tap
check "broken doubles: exit 1" [ "$(cat "$T_DIR/broken.rc")" = 1 ]
check "broken doubles: exactly the Result-Code and content-type cases fail" \
    [ "$(failing broken)" = "unknown-user-5001 unknown-user-content-type " ]
check "broken doubles: JUnit counts 13 tests, 2 failures" [ "$(counts broken)" = "13 2 0 0" ]
check "broken doubles: the failure says what came" \
    grep -q 'message="want Experimental-Result 5001, got Result-Code 5012"' "$T_DIR/broken.xml"
check "TAP: plan 1..13 and two 'not ok' lines" \
    [ "$(grep -c '^1\.\.13$' "$T_DIR/broken.out") $(grep -c '^not ok' "$T_DIR/broken.out")" = "1 2" ]

# A foreign HTTP/2 server: nghttpd serving the three reads as files (no 3GPP content types, HTML 404s).
DOC=$T_DIR/www
mkdir -p "$DOC/nudm-uecm/v1/imsi-001010000000001/registrations" "$DOC/nudm-sdm/v2/imsi-001010000000001" \
    "$DOC/nudr-dr/v2/subscription-data/imsi-001010000000001"
echo '{"amfInstanceId":"x"}' >"$DOC/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access"
echo '{}' >"$DOC/nudm-sdm/v2/imsi-001010000000001/am-data"
echo '{}' >"$DOC/nudr-dr/v2/subscription-data/imsi-001010000000001/operator-specific-data"
NG_PORT=$(free_port)
nghttpd --no-tls -d "$DOC" "$NG_PORT" >"$T_DIR/nghttpd.log" 2>&1 &
T_PIDS+=("$!")
wait_until 10000 curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$NG_PORT/nudm-sdm/v2/imsi-001010000000001/am-data"
suite foreign --udm "http://127.0.0.1:$NG_PORT" --subscriber 001010000000001
check "foreign HTTP/2 server (nghttpd): SETTINGS and multiplexing pass" \
    [ "$(xmllint --xpath 'count(//testsuite[@name="mihua.http2"]/testcase[not(failure) and not(error)])' "$T_DIR/foreign.xml")" = 2 ]
check "foreign HTTP/2 server: content types and ProblemDetails fail, exit 1" \
    [ "$(failing foreign)$(cat "$T_DIR/foreign.rc")" = "known-user-content-type unknown-user-content-type unknown-user-problem-details 1" ]

suite cap "${OURS[@]}" --pcap "$T_DIR/suite.pcapng"
check "--pcap: exit 0 and the capture holds the suite's UDRs (tshark) and HTTP/2 streams" all \
    '[ "$(cat "$T_DIR/cap.rc")" = 0 ]' \
    '[ "$(tshark -r "$T_DIR/suite.pcapng" -d "tcp.port==$PORT,diameter" -Y "diameter.cmd.code == 306 && diameter.flags.request == 1" 2>/dev/null | wc -l)" -ge 4 ]' \
    '[ "$(tshark -r "$T_DIR/suite.pcapng" -d "tcp.port==${SBI##*:},http2" -Y http2.headers.path 2>/dev/null | wc -l)" -ge 4 ]'

DOWN=$(free_port)
suite down --udm "http://127.0.0.1:$DOWN" --subscriber 001010000000001
check "a server that is down: 9 errors, no failures, exit 1" [ "$(counts down) $(cat "$T_DIR/down.rc")" = "9 0 9 0 1" ]
"$MIHUA_BIN/mihua-probe" suite --udm "$SBI" >/dev/null 2>&1 && rc=0 || rc=$?
check "usage error: --udm without --subscriber exits 2" [ "$rc" = 2 ]
finish
