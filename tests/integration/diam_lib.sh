# Helpers for the Diameter routing tests (DESIGN §3 "Diameter routing"): source after lib.sh and ue_lib.sh.
#
#   start_dra NAME PORT PEER_ID:PEER_PORT...   freeDiameterd (Debian freediameterd) as a pure relay on PORT with
#                                             ConnectPeers to the given mihua-hss instances; waits until each is OPEN.
#                                             rt_default sends realm-only requests for ims.test to those peers: by
#                                             realm alone freeDiameter would also pick mihua-as, which advertises
#                                             Sh in its CER and is a peer of the realm (it answers 3001)
#   as_json FILE [JSON MEMBERS]               an AS config: conf/as.json without the hss shorthand, plus MEMBERS
#   start_as_conf FILE [OPTIONS...]           (re)starts the AS with that config (free SIP port, AS_SBI_PORT kept)
#   metric NAME_AND_LABELS                    the AS's current value of one series, or nothing
#   now_ms                                    wall clock in ms, for the recovery times the tests print
FD_EXT_DIR=${MIHUA_FD_EXTENSION_DIR:-/usr/lib/freeDiameter}
FD_DAEMON=$(command -v freeDiameterd || echo /usr/bin/freeDiameterd)

now_ms() { date +%s%3N; }

start_dra() {
    local name=$1 port=$2 spec id
    shift 2
    echo "ALLOW_IPSEC *.ims.test" >"$T_DIR/$name.acl"
    {
        # A pure relay: NoRelay unset, no Sh dictionary; freeDiameter forwards by Destination-Host/Realm.
        printf 'Identity = "%s.ims.test";\nRealm = "ims.test";\nPort = %s;\nSecPort = 0;\nNo_SCTP;\nNo_IPv6;\n' \
            "$name" "$port"
        printf 'TcTimer = 1;\nTwTimer = 6;\n'
        for ext in dict_nasreq dict_dcca dict_dcca_3gpp; do printf 'LoadExtension = "%s/%s.fdx";\n' "$FD_EXT_DIR" "$ext"; done
        printf 'LoadExtension = "%s/acl_wl.fdx" : "%s";\n' "$FD_EXT_DIR" "$T_DIR/$name.acl"
        printf 'LoadExtension = "%s/rt_default.fdx" : "%s";\n' "$FD_EXT_DIR" "$T_DIR/$name.rt"
        for spec in "$@"; do
            printf 'ConnectPeer = "%s" { ConnectTo = "127.0.0.1"; Port = %s; No_TLS; };\n' "${spec%%:*}" "${spec##*:}"
        done
    } >"$T_DIR/$name.conf"
    for spec in "$@"; do printf 'dr="ims.test" : "%s" += DEFAULT_REALM ;\n' "${spec%%:*}"; done >"$T_DIR/$name.rt"
    : >"$T_DIR/$name.log"
    "$FD_DAEMON" -c "$T_DIR/$name.conf" >>"$T_DIR/$name.log" 2>&1 &
    printf -v "${name}_PID" '%s' "$!"
    T_PIDS+=("$!")
    wait_for "$T_DIR/$name.log" 'freeDiameterd daemon initialized' || return 1
    for spec in "$@"; do
        id=${spec%%:*}
        wait_for "$T_DIR/$name.log" "-> 'STATE_OPEN'.*'${id//./\\.}'" || return 1
    done
}

as_json() {
    local file=$1 extra=${2:-}
    python3 - "$MIHUA_SRC/conf/as.json" "$file" "$extra" <<'PY'
import json, sys
conf = json.load(open(sys.argv[1]))
for k in ("hss", "hss_identity"):
    conf.pop(k)
conf.update(json.loads("{" + sys.argv[3] + "}"))
json.dump(conf, open(sys.argv[2], "w"), indent=1)
PY
}

start_as_conf() {
    local conf=$1 ready
    shift
    if [ -n "${as_PID:-}" ]; then stop_daemon "$as_PID" || fail "AS: SIGTERM exit 0"; fi
    : "${AS_SBI_PORT:=$(free_port)}"
    start_daemon as "$MIHUA_BIN/mihua-as" -c "$conf" --sip-listen 127.0.0.1:0 --sbi-listen "127.0.0.1:$AS_SBI_PORT" \
        --udm-url "http://127.0.0.1:$UDM_PORT" --diameter-port 0 --subscribers "$SUBS" "$@"
    ready=$(grep '^READY' "$T_DIR/as.out")
    AS_SIP_PORT=$(sed -E 's/.* sip=[^:]+:([0-9]+) .*/\1/' <<<"$ready")
    AS_SBI=$(sed -E 's/.* sbi=([^ ]+) .*/\1/' <<<"$ready")
}

metric() {
    curl -s --http2-prior-knowledge "${T_AUTH[@]}" "$AS_SBI/metrics" | grep -F "$1" | awk '{print $2}'
}
