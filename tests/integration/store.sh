#!/usr/bin/env bash
# The shared subscriber store (DESIGN §5 "At scale") with mihua-hss and mihua-udm on one database: a change through
# either admin API served by the other within 100 ms (timed from the writer's log line to the reader's "in force"
# line for that store change), a paginated export that imports back, bulk imports (documents and NDJSON over HTTP)
# that are all or nothing with the line of the first error, mihua-subscribers (gen, validate, import, export), a
# SIGKILL in the middle of a bulk import leaving the previous data, and two simulators writing the same subscribers
# at once losing no update.
# The database is inspected with the sqlite3 shell, a client we did not write.
. "$(dirname "$0")/lib.sh"

TOOL=$MIHUA_BIN/mihua-subscribers
SUBS=$T_DIR/subscribers.json
DB=$T_DIR/subscribers.db
N=3000
PROPAGATION_MS=100 # DESIGN §5: a change through either simulator is seen by the other within 100 ms

check "gen: $N subscribers" "$TOOL" gen "$N" --out "$SUBS"
check "validate: the generated file is valid" bash -c "'$TOOL' validate '$SUBS' | grep -q 'valid, $N subscribers'"
PORT=$(free_port)
start_daemon hss "$MIHUA_BIN/mihua-hss" -c "$MIHUA_SRC/conf/hss.json" --subscribers "$SUBS" --port "$PORT" \
    --admin-listen 127.0.0.1:0
start_daemon udm "$MIHUA_BIN/mihua-udm" -c "$MIHUA_SRC/conf/udm.json" --subscribers "$SUBS" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
HSS_ADMIN=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/hss.out")
UDM_ADMIN=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/udm.out")
UDM_SBI=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) .*/\1/p' "$T_DIR/udm.out")
is() { [ "$(jget "$T_DIR/$1.json" "$2")" = "$3" ] || { echo "  $1: $2 = $(jget "$T_DIR/$1.json" "$2" 2>&1), want $3" >&2; return 1; }; }
sql() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }
changes() { sql "SELECT value FROM meta WHERE key='changes'"; }

check "sqlite3: the store is in WAL mode" [ "$(sql 'PRAGMA journal_mode')" = wal ]
check "sqlite3: $N subscribers imported once, by the first daemon" [ "$(sql 'SELECT count(*) FROM subscriber')" = "$N" ]
check "udm: the file was already imported, not imported twice" grep -q "unchanged since its last import" "$T_DIR/udm.log"

# patch NAME ADMIN IMSI BODY: answer into NAME.json, status printed
patch() {
    curl -s --http2-prior-knowledge "${T_AUTH[@]}" -X PATCH -H 'content-type: application/merge-patch+json' --data "$4" \
        -o "$T_DIR/$1.json" -w '%{http_code}' "$2/admin/v1/subscribers/$3"
}
rat_udm() { # ratType the UDM serves now for IMSI, or the HTTP status
    local code
    code=$(curl -s --http2-prior-knowledge -o "$T_DIR/amf.json" -w '%{http_code}' \
        "$UDM_SBI/nudm-uecm/v1/imsi-$1/registrations/amf-3gpp-access")
    [ "$code" = 200 ] && jget "$T_DIR/amf.json" "j['ratType']" || echo "$code"
}
rat_hss() { # T-ADS RAT-Type the HSS answers now for MSISDN
    "$MIHUA_BIN/mihua-probe" sh --hss "127.0.0.1:$PORT" --impu "tel:+$1" --data-ref tads --json >"$T_DIR/sh.json" || true
    jget "$T_DIR/sh.json" "j.get('shData',{}).get('tadsInformation',{}).get('ratType')"
}
# propagated WRITER_LOG READER_LOG IMSI: ms from the writer's "patched IMSI" line to the reader's "in force" line
# for the store change the patch made.
propagated() {
    local c t0 t1
    c=$(changes)
    wait_for "$T_DIR/$2" "in force: .* store change $c," 5 || return 1
    t0=$(log_ms "$T_DIR/$1" "patched $3") && t1=$(log_ms "$T_DIR/$2" "in force: .* store change $c,") || return 1
    echo $((t1 - t0))
}

# 001010000000006 is on GERAN in the generated set (no 5GS registration).
check "udm: user 6 not registered in 5GS before (404)" [ "$(rat_udm 001010000000006)" = 404 ]
check "hss admin: PATCH user 6 to NR" [ "$(patch p1 "$HSS_ADMIN" 001010000000006 '{"access":{"rat":"NR"}}')" = 200 ]
ms=$(propagated hss.log udm.log 001010000000006) || ms=99999
echo "# hss admin -> udm in force: $ms ms ($N subscribers)"
check "hss -> udm: in force within $PROPAGATION_MS ms ($ms ms)" [ "$ms" -le "$PROPAGATION_MS" ]
check "udm: serves NR for user 6 without a reload" [ "$(rat_udm 001010000000006)" = NR ]
check "udm admin: PATCH user 6 to UTRAN" [ "$(patch p2 "$UDM_ADMIN" 001010000000006 '{"access":{"rat":"UTRAN"}}')" = 200 ]
ms=$(propagated udm.log hss.log 001010000000006) || ms=99999
echo "# udm admin -> hss in force: $ms ms"
check "udm -> hss: in force within $PROPAGATION_MS ms ($ms ms)" [ "$ms" -le "$PROPAGATION_MS" ]
check "hss: serves UTRAN (1000) for user 6 without a reload" [ "$(rat_hss 10000000006)" = 1000 ]
check "sqlite3: the row says UTRAN" [ "$(sql "SELECT rat FROM subscriber WHERE imsi='001010000000006'")" = UTRAN ]

# Export in pages: every page is an importable document, the pages together are the store.
: >"$T_DIR/pages.ndjson"
url="/admin/v1/subscribers?limit=700"; pages=0
while [ -n "$url" ] && [ "$pages" -lt 20 ]; do
    curl -s --http2-prior-knowledge "${T_AUTH[@]}" -D "$T_DIR/page.hdr" -o "$T_DIR/page.json" "$HSS_ADMIN$url"
    python3 -c "import json,sys; [print(json.dumps(s)) for s in json.load(open(sys.argv[1]))['subscribers']]" \
        "$T_DIR/page.json" >>"$T_DIR/pages.ndjson"
    pages=$((pages + 1))
    url=$(sed -nE 's/^link: <([^>]+)>; rel="next".*/\1/p' "$T_DIR/page.hdr" | tr -d '\r')
done
check "export: $N subscribers in 5 pages of 700 (link rel=next)" \
    [ "$pages $(wc -l <"$T_DIR/pages.ndjson") $(sort -u "$T_DIR/pages.ndjson" | wc -l)" = "5 $N $N" ]
check "export: no kms_key in any page" bash -c "! grep -q kms_key '$T_DIR/pages.ndjson'"
curl -s --http2-prior-knowledge "${T_AUTH[@]}" -o "$T_DIR/all.json" "$HSS_ADMIN/admin/v1/subscribers"
check "export: the whole set validates as a file" bash -c "'$TOOL' validate '$T_DIR/all.json' >/dev/null"

# import NAME ADMIN QUERY FILE: status printed, answer in NAME.json
import() {
    curl -s --http2-prior-knowledge "${T_AUTH[@]}" -H 'content-type: application/json' --data-binary "@$4" \
        -o "$T_DIR/$1.json" -w '%{http_code}' "$2/admin/v1/subscribers:import$3"
}
python3 - "$T_DIR" <<'PY'
import json, sys
d = sys.argv[1]
def sub(i, rat="NR", msisdn=None):
    m = msisdn or "2%010d" % i
    return {"imsi": "00102%010d" % i, "msisdn": m, "impu": ["tel:+" + m], "voice_encryption": True,
            "access": {"rat": rat, "ims_vops": True}}
def write(name, subs):  # one subscriber per line: subscribers[k] is on line k + 2
    with open(f"{d}/{name}", "w") as f:
        f.write('{"subscribers": [\n' + ",\n".join(json.dumps(s) for s in subs) + "\n]}\n")
write("new.json", [sub(i) for i in range(1, 501)])
write("badrat.json", [sub(1), sub(2), sub(3, rat="LTE")] + [sub(i) for i in range(4, 100)])
write("conflict.json", [sub(1), sub(2, msisdn="10000000005")])  # user 5's MSISDN
def ndjson(name, subs):  # one subscriber per line, a blank line after the first: subscribers[k] on line k + 2
    with open(f"{d}/{name}", "w") as f:
        f.write(json.dumps(subs[0]) + "\n\n" + "".join(json.dumps(s) + "\n" for s in subs[1:]))
ndjson("lines.ndjson", [sub(i) for i in range(501, 601)])
ndjson("badline.ndjson", [sub(i) for i in range(601, 610)] + [sub(610, rat="LTE")] + [sub(i) for i in range(611, 620)])
PY
before=$(changes)
check "bulk import, bad enum on the 3rd: 400" [ "$(import bad "$HSS_ADMIN" "" "$T_DIR/badrat.json")" = 400 ]
check "bulk import, bad enum: detail names import:4 and the field" \
    bash -c "grep -q 'import:4:[0-9]*: subscribers\[2\].access.rat' '$T_DIR/bad.json'"
check "bulk import, conflict with a stored MSISDN: 400 naming line 3" \
    bash -c "[ \$(curl -s --http2-prior-knowledge -H @'$T_DIR/admin.auth' -H 'content-type: application/json' \
      --data-binary @'$T_DIR/conflict.json' \
      -o '$T_DIR/conf.json' -w '%{http_code}' '$UDM_ADMIN/admin/v1/subscribers:import') = 400 ] &&
      grep -q 'import:3:[0-9]*: subscribers\[1\].msisdn: 10000000005 is already the MSISDN of IMSI 001010000000005' '$T_DIR/conf.json'"
check "refused imports changed nothing (sqlite3: same change counter, same count)" \
    [ "$(changes) $(sql 'SELECT count(*) FROM subscriber')" = "$before $N" ]
check "bulk import of 500 through the HSS: 200" [ "$(import ok "$HSS_ADMIN" "?mode=merge" "$T_DIR/new.json")" = 200 ]
check "bulk import: counts" is ok "(j['subscribers'], j['created'], j['replaced'])" "(500, 500, 0)"
udm_rat_is() { [ "$(rat_udm "$1")" = "$2" ]; } # evaluated at each poll of wait_until
hss_rat_is() { [ "$(rat_hss "$1")" = "$2" ]; }
check "bulk import: the UDM serves the new subscribers" wait_until 1000 udm_rat_is 001020000000500 NR

# NDJSON over HTTP: the same import, one subscriber per line; an error names the body's own line and column.
import_ndjson() {
    curl -s --http2-prior-knowledge "${T_AUTH[@]}" -H 'content-type: application/x-ndjson' --data-binary "@$3" \
        -o "$T_DIR/$1.json" -w '%{http_code}' "$2/admin/v1/subscribers:import"
}
before=$(changes)
check "ndjson import, bad enum on line 11: 400" [ "$(import_ndjson ndbad "$UDM_ADMIN" "$T_DIR/badline.ndjson")" = 400 ]
col=$(sed -n 11p "$T_DIR/badline.ndjson" | awk '{ print index($0, "\"LTE\"") }')
check "ndjson import, bad enum: detail names import:11:$col and the field" \
    bash -c "grep -q 'import:11:$col: subscribers\[9\].access.rat' '$T_DIR/ndbad.json'"
check "ndjson import, bad enum: invalidParams names the field" \
    is ndbad "j['invalidParams'][0]['param']" /subscribers/9/access/rat
check "refused ndjson import changed nothing (sqlite3: same change counter, same count)" \
    [ "$(changes) $(sql 'SELECT count(*) FROM subscriber')" = "$before $((N + 500))" ]
check "ndjson import of 100 through the UDM: 200" [ "$(import_ndjson ndok "$UDM_ADMIN" "$T_DIR/lines.ndjson")" = 200 ]
check "ndjson import: counts" is ndok "(j['subscribers'], j['created'], j['replaced'], j['mode'])" \
    "(100, 100, 0, 'merge')"
check "ndjson import: in the store (sqlite3)" \
    [ "$(sql "SELECT count(*) FROM subscriber WHERE imsi BETWEEN '001020000000501' AND '001020000000600'")" = 100 ]
check "ndjson import: the HSS admin API serves the last line's subscriber" \
    bash -c "[ \$(curl -s --http2-prior-knowledge -H @'$T_DIR/admin.auth' -o /dev/null -w '%{http_code}' \
      '$HSS_ADMIN/admin/v1/subscribers/001020000000600') = 200 ]"

# SIGKILL in the middle of a bulk import: SQLite rolls the unfinished transaction back, the old data stays.
BIG=$T_DIR/big.json
"$TOOL" gen 100000 --out "$BIG"
count0=$(sql 'SELECT count(*) FROM subscriber'); changes0=$(changes)
wal0=$(stat -c '%s %y' "$DB-wal")
"$TOOL" --store "$DB" --replace import "$BIG" >"$T_DIR/kill.out" 2>&1 &
tool_pid=$!
wal_moved() { [ "$(stat -c '%s %y' "$DB-wal")" != "$wal0" ]; }
check "bulk import of 100000: it starts writing (the WAL moves)" wait_until 120000 wal_moved
kill -KILL "$tool_pid"; wait "$tool_pid" 2>/dev/null || true
check "SIGKILL: the import never finished" bash -c "! grep -q imported '$T_DIR/kill.out'"
check "SIGKILL: sqlite3 integrity_check ok" [ "$(sql 'PRAGMA integrity_check')" = ok ]
check "SIGKILL: the previous data intact (count, change counter)" [ "$(sql 'SELECT count(*) FROM subscriber') $(changes)" = "$count0 $changes0" ]
check "SIGKILL: the daemons still serve the previous data" \
    bash -c "! grep -q 'in force: 100000' '$T_DIR/hss.log' '$T_DIR/udm.log'"
check "SIGKILL: the HSS still answers for user 6 (UTRAN)" [ "$(rat_hss 10000000006)" = 1000 ]

# Two simulators writing the same subscribers at once, different members of the same object: no update lost.
ids=$(seq -f '0010100000%05g' 101 140)
both() { sql "SELECT count(*) FROM subscriber WHERE imsi BETWEEN '001010000000101' AND '001010000000140' AND rat='GERAN' AND ims_vops=0"; }
check "before: most of the 40 are neither on GERAN nor without IMS voice" [ "$(both)" -lt 10 ]
( for i in $ids; do patch "h$i" "$HSS_ADMIN" "$i" '{"access":{"rat":"GERAN"}}' >>"$T_DIR/hss_codes"; echo >>"$T_DIR/hss_codes"; done ) &
hw=$!
( for i in $ids; do patch "u$i" "$UDM_ADMIN" "$i" '{"access":{"ims_vops":false}}' >>"$T_DIR/udm_codes"; echo >>"$T_DIR/udm_codes"; done ) &
uw=$!
wait "$hw" "$uw"
check "concurrent writers: 80 PATCHes answered 200" [ "$(cat "$T_DIR/hss_codes" "$T_DIR/udm_codes" | grep -c '^200$' || true)" = 80 ]
check "concurrent writers: all 40 carry both changes (sqlite3)" [ "$(both)" = 40 ]
check "concurrent writers: the HSS serves both (user 101 on GERAN: 1001)" wait_until 1000 hss_rat_is 10000000101 1001

check "hss SIGTERM: exit 0" stop_daemon "$hss_PID"
check "udm SIGTERM: exit 0" stop_daemon "$udm_PID"
"$TOOL" --store "$DB" export --out "$T_DIR/export.json"
check "mihua-subscribers export: every subscriber, with kms_key" \
    [ "$(jget "$T_DIR/export.json" "(len(j['subscribers']), sum('kms_key' in s for s in j['subscribers']))")" = "($((N + 600)), $N)" ]
check "mihua-subscribers import --replace of that export: the same store" \
    bash -c "'$TOOL' --store '$T_DIR/copy.db' --replace import '$T_DIR/export.json' >/dev/null &&
      [ \"\$(sqlite3 '$T_DIR/copy.db' 'SELECT count(*), sum(length(kms_key)) FROM subscriber')\" = \"\$(sqlite3 '$DB' 'SELECT count(*), sum(length(kms_key)) FROM subscriber')\" ]"

finish
