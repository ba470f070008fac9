#!/usr/bin/env bash
# Subscriber files over subscribers_max_bytes (default 1 GiB) and files that are not regular files are refused from
# their size and type alone, unread: a 2 GiB sparse file stops mihua-hss/udm/kms/as at start, and on reload (UDM:
# POST /admin/v1/reload through curl; KMS: SIGHUP) the refusal is fast, the daemon's peak RSS (VmHWM) does not grow
# by the file's size, and the data in force is still served (UDM: a foreign HTTP/2 client; KMS: Digest through the
# real client). A FIFO on reload is refused without blocking the loop.
. "$(dirname "$0")/lib.sh"

TOOLS=$(dirname "$MIHUA_BIN")/tests
SUBS=$T_DIR/subscribers.json
BIG=$T_DIR/big.json
SPARSE=2G
SPARSE_BYTES=2147483648
MAX_DEFAULT=1073741824
REFUSE_MS=2000      # a refusal is an fstat(2); reading 2 GiB took 3.6-10 s. Generous for a busy 2-core machine.
HWM_GROWTH_KB=65536 # peak RSS may move a little; reading the file would add 2 GiB
write_subscribers "$SUBS"
cp "$SUBS" "$BIG"
truncate -s "$SPARSE" "$BIG"
msg="big.json: $SPARSE_BYTES bytes, more than subscribers_max_bytes ($MAX_DEFAULT): not read"

# At start: each daemon that reads the file refuses it, quickly, naming the file, its size and the setting.
for d in hss udm kms as; do
    rc=0; t0=$(now_ms); extra=()
    [ "$d" != kms ] || extra=(--insecure-h2c)
    "$MIHUA_BIN/mihua-$d" --subscribers "$BIG" --store "$T_DIR/start-$d.db" "${extra[@]}" >/dev/null \
        2>"$T_DIR/start-$d.err" || rc=$?
    ms=$(( $(now_ms) - t0 ))
    check "mihua-$d: a $SPARSE sparse file at start: refused in $ms ms, not started (exit $rc)" \
        all '[ "$rc" != 0 ]' "[ $ms -lt $REFUSE_MS ]" "grep -qF '$msg' '$T_DIR/start-$d.err'"
done
for d in hss udm kms as; do
    check "mihua-$d --help documents --subscribers-max-bytes and its default" \
        bash -c "'$MIHUA_BIN/mihua-$d' --help | grep -- '--subscribers-max-bytes' | grep -q 'default 1073741824'"
done
size=$(stat -c %s "$SUBS")
printf '{"subscribers_max_bytes": %d}\n' $((size - 1)) >"$T_DIR/udm-max.json"
rc=0; "$MIHUA_BIN/mihua-udm" -c "$T_DIR/udm-max.json" --subscribers "$SUBS" --store "$T_DIR/max.db" 2>"$T_DIR/max.err" \
    >/dev/null || rc=$?
check "config subscribers_max_bytes one byte below the file's size: exit 2, refused" \
    all '[ "$rc" = 2 ]' "grep -qF 'subscribers.json: $size bytes, more than subscribers_max_bytes ($((size - 1))): not read' '$T_DIR/max.err'"
rc=0; "$MIHUA_BIN/mihua-udm" --subscribers "$BIG" --subscribers-max-bytes 0 2>"$T_DIR/zero.err" || rc=$?
check "--subscribers-max-bytes 0: exit 2 naming the bound" \
    all '[ "$rc" = 2 ]' "grep -q 'subscribers-max-bytes: must be an integer from 1' '$T_DIR/zero.err'"

hwm() { sed -nE 's/^VmHWM:[[:space:]]+([0-9]+) kB/\1/p' "/proc/$1/status"; }
start_daemon udm "$MIHUA_BIN/mihua-udm" --subscribers "$SUBS" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
UDM_SBI=$(sed -nE 's/^READY mihua-udm sbi=([^ ]+) .*/\1/p' "$T_DIR/udm.out")
UDM_ADMIN=$(sed -nE 's/^READY .* admin=(http:[^ ]+).*/\1/p' "$T_DIR/udm.out")
start_daemon kms "$MIHUA_BIN/mihua-kms" --insecure-h2c --listen 127.0.0.1:0 --subscribers "$SUBS" \
    --as-url http://127.0.0.1:9 --audit-log "$T_DIR/audit.jsonl"
KMS=$(sed -nE 's/^READY mihua-kms sbi=([^ ]+).*/\1/p' "$T_DIR/kms.out")
udm_rat() {
    curl -s --max-time 5 --http2-prior-knowledge -o "$T_DIR/amf.json" "$UDM_SBI/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access" &&
        jget "$T_DIR/amf.json" "j['ratType']"
}
# kms_auth: user 1 authenticates with its kms_key (the data in force) and asks for a key that does not exist: 404.
kms_auth() {
    "$TOOLS/mihua-kms-cli" --url "$KMS" --user tel:+15550000001 --key "$(printf '%064x' 1)" \
        delete AAAAAAAAAAAAAAAAAAAAAA >"$T_DIR/kms.json" 2>>"$T_DIR/cli.log" || true
    [ "$(jget "$T_DIR/kms.json" "(j['http'], j['cause'])")" = "(404, 'KEY_NOT_FOUND')" ]
}
check "before: the UDM serves user 1 (NR)" [ "$(udm_rat)" = NR ]
check "before: user 1 authenticates at the KMS" kms_auth

# Reload of the same path, now a 2 GiB sparse file.
cp "$BIG" "$SUBS"
msg="subscribers.json: $SPARSE_BYTES bytes, more than subscribers_max_bytes ($MAX_DEFAULT): not read"
hwm0=$(hwm "$udm_PID"); t0=$(now_ms)
code=$(curl -s --max-time 30 --http2-prior-knowledge "${T_AUTH[@]}" -X POST -o "$T_DIR/reload.json" \
    -w '%{http_code} %{content_type}' "$UDM_ADMIN/admin/v1/reload")
ms=$(( $(now_ms) - t0 )); grown=$(( $(hwm "$udm_PID") - hwm0 ))
echo "# udm: POST reload of a $SPARSE sparse file answered in $ms ms, VmHWM +$grown kB"
check "udm reload: 409 problem+json naming file, size and setting" \
    all "[ '$code' = '409 application/problem+json' ]" "grep -qF '$msg' '$T_DIR/reload.json'"
check "udm reload: refused within $REFUSE_MS ms ($ms ms)" [ "$ms" -lt "$REFUSE_MS" ]
check "udm reload: peak RSS grew by less than $HWM_GROWTH_KB kB ($grown kB)" [ "$grown" -lt "$HWM_GROWTH_KB" ]
check "udm reload: a log line says so" grep -qF "reload failed, keeping the previous subscriber data: $T_DIR/$msg" \
    "$T_DIR/udm.log"
check "udm: still serves user 1 (NR)" [ "$(udm_rat)" = NR ]

hwm0=$(hwm "$kms_PID"); t0=$(now_ms)
kill -HUP "$kms_PID"
refusal="reload failed, keeping the previous subscriber data: .*subscribers.json: $SPARSE_BYTES bytes, more than"
check "kms SIGHUP: a log line refusing the file" wait_for "$T_DIR/kms.log" "$refusal" 10
ms=$(( $(log_ms "$T_DIR/kms.log" "$refusal") - t0 )); grown=$(( $(hwm "$kms_PID") - hwm0 ))
echo "# kms: SIGHUP with a $SPARSE sparse file refused after $ms ms, VmHWM +$grown kB"
check "kms SIGHUP: refused within $REFUSE_MS ms ($ms ms)" [ "$ms" -lt "$REFUSE_MS" ]
check "kms SIGHUP: peak RSS grew by less than $HWM_GROWTH_KB kB ($grown kB)" [ "$grown" -lt "$HWM_GROWTH_KB" ]
check "kms: user 1 still authenticates (the data in force stays)" kms_auth

# A FIFO with no writer: opening it must not block the loop until someone writes.
rm -f "$SUBS"; mkfifo "$SUBS"
code=$(curl -s --max-time 10 --http2-prior-knowledge "${T_AUTH[@]}" -X POST -o "$T_DIR/fifo.json" -w '%{http_code}' \
    "$UDM_ADMIN/admin/v1/reload" || true)
check "udm reload of a FIFO: 409 'a FIFO, not a regular file: not read'" \
    all "[ '$code' = 409 ]" "grep -qF 'subscribers.json: a FIFO, not a regular file: not read' '$T_DIR/fifo.json'"
check "udm: still serves user 1 (NR)" [ "$(udm_rat)" = NR ]

check "udm SIGTERM: exit 0" stop_daemon "$udm_PID"
check "kms SIGTERM: exit 0" stop_daemon "$kms_PID"
finish
