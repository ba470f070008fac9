#!/usr/bin/env bash
# mihua-ue end to end (DESIGN §1, §2, §4): caller and callee agents through the real mihua-as, with the
# real mihua-hss, mihua-udm and mihua-kms on 127.0.0.1. An encrypted call for each suite with the audio bit-exact
# both ways; a capture of one encrypted call holds none of the plaintext (and, as a control, a plain call's
# does); plain fallback, each call still connected and carrying audio, for: caller on UTRAN, caller not capable,
# callee not capable, callee not subscribed, callee on UTRAN, KMS refusing the caller, no common suite, KMS
# stopped. Also the command line: --help, bad config (exit 2), register.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ue_lib.sh"

net_up
ue_conf 1

# --- command line -----------------------------------------------------------------------------------------------
rc=0; "$UE_BIN" --help >"$T_DIR/help.txt" || rc=$?
check "--help exits 0 and names the commands" bash -c "[ $rc = 0 ] && grep -q 'call TARGET' '$T_DIR/help.txt'"
rc=0; "$UE_BIN" -c "$T_DIR/ue1.json" dial x 2>"$T_DIR/usage.err" || rc=$?
check "unknown command: exit 2 with the reason" bash -c "[ $rc = 2 ] && grep -q 'expected one command' '$T_DIR/usage.err'"
printf '{\n  "impu": "sip:+15550000001@x",\n  "rat": "LTE"\n}\n' >"$T_DIR/bad.json"
rc=0; "$UE_BIN" -c "$T_DIR/bad.json" register 2>"$T_DIR/bad.err" || rc=$?
check "bad config: exit 2 with file:line:column and the field" \
    bash -c "[ $rc = 2 ] && grep -q 'bad.json:3:[0-9]*: rat' '$T_DIR/bad.err'"
check "register: 200 from the AS" grep -q "^registered sip:+15550000001@" <("$UE_BIN" -c "$T_DIR/ue1.json" register)

# --- encrypted, one call per suite; callee's list decides when the caller offers all three ------------------------
tshark -i lo -f "udp" -w "$T_DIR/media.pcapng" >"$T_DIR/tshark.log" 2>&1 &
TSHARK_PID=$!
wait_for "$T_DIR/tshark.log" "Capturing on"
ue_call sm4 1 2
expect_connected sm4
expect_encrypted sm4 SM4_CM_128_HMAC_SM3_80
expect_audio sm4
check "sm4: AS allowed it" grep -q 'encryption=allowed reason="ok"' <(as_decision sm4)
check "sm4: caller's ladder shows the key offer and the key sync" \
    bash -c "grep -q 'UPDATE (+u.mihua.voenc, SDP RTP/SAVP, 3 a=crypto)' '$T_DIR/sm4.caller.out' && \
             grep -q '200 OK (SDP RTP/SAVP, 1 a=crypto)' '$T_DIR/sm4.caller.out'"
kill -INT "$TSHARK_PID"
wait "$TSHARK_PID" || true
CALLEE_OPTS=(--suites AEAD_AES_128_GCM,AES_CM_128_HMAC_SHA1_80)
ue_call gcm 1 2
expect_encrypted gcm AEAD_AES_128_GCM
expect_audio gcm
CALLER_OPTS=(--suites AES_CM_128_HMAC_SHA1_80)
ue_call aescm 1 2
expect_encrypted aescm AES_CM_128_HMAC_SHA1_80
expect_audio aescm
check "KMS audit: issue and retrieve allowed for the three calls, keys deleted at hang-up" \
    python3 - "$T_DIR/kms-audit.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ok = lambda a: sum(1 for r in rows if r.get('action') == a and r.get('outcome') == 'granted')
sys.exit(0 if ok('issue') >= 3 and ok('retrieve') >= 3 and ok('delete') >= 3 else 1)
PY

# The SM4 call's media on the wire: SRTP only, no 32-byte run of either side's plaintext anywhere in a UDP payload.
# Loopback carries whatever else runs on this machine: keep the RTP ports this call's own SDP named.
media_ports() { # media_ports PCAP: "udp.port in {...}" for the m= ports in the SIP through our AS
    local ports
    ports=$(tshark -r "$1" -d "udp.port==$AS_SIP_PORT,sip" -Y "sdp && udp.port == $AS_SIP_PORT" -T fields \
        -e sdp.media.port_string 2>/dev/null | tr ',' '\n' | sort -u | paste -sd, -)
    echo "udp.port in {${ports:-0}}"
}
tshark -r "$T_DIR/media.pcapng" -Y "$(media_ports "$T_DIR/media.pcapng")" -T fields -e udp.payload \
    >"$T_DIR/media.hex" 2>/dev/null || true
# The agents' SIP, as Wireshark sees it: the whole DESIGN §1 ladder, nothing malformed.
tshark -r "$T_DIR/media.pcapng" -d "udp.port==$AS_SIP_PORT,sip" -Y "sip" >"$T_DIR/sip.txt" 2>/dev/null || true
check "wire: the SM4 call's SIP has INVITE, 183, PRACK, UPDATE, 180, 200, ACK, BYE" python3 - "$T_DIR/sip.txt" <<'PY'
import sys
t = open(sys.argv[1]).read()
need = ["Request: INVITE", "Status: 183", "Request: PRACK", "Request: UPDATE", "Status: 180", "Status: 200",
        "Request: ACK", "Request: BYE"]
sys.exit(0 if all(n in t for n in need) else 1)
PY
tshark -r "$T_DIR/media.pcapng" -d "udp.port==$AS_SIP_PORT,sip" -Y "_ws.malformed" >"$T_DIR/malformed.txt" 2>"$T_DIR/malformed.err" || true
check "wire: no malformed SIP" [ ! -s "$T_DIR/malformed.txt" ]
plaintext_hits() { # plaintext_hits HEXFILE WAV...: "<payloads> <payloads holding a 32-byte run of the audio>"
    python3 - "$@" <<'PY'
import sys
def data(p):
    b = open(p, 'rb').read(); i = b.index(b'data'); return b[i + 8:i + 8 + int.from_bytes(b[i + 4:i + 8], 'little')]
pays = [bytes.fromhex(l.strip().replace(':', '')) for l in open(sys.argv[1]) if l.strip()]
audio = b''.join(data(w) for w in sys.argv[2:])
windows = {audio[i:i + 32] for i in range(0, len(audio) - 32)}
print(len(pays), sum(1 for p in pays if any(p[i:i + 32] in windows for i in range(0, max(len(p) - 32, 0), 16))))
PY
}
read -r npay nhit < <(plaintext_hits "$T_DIR/media.hex" "$T_DIR/caller.wav" "$T_DIR/callee.wav")
check "wire: the encrypted call's $npay media packets carry none of the plaintext" \
    test "$npay" -ge 20 -a "$nhit" = 0

# Control: the same check on a plain call's capture must find the plaintext (the check can fail).
tshark -i lo -f "udp" -w "$T_DIR/plain.pcapng" >"$T_DIR/tshark2.log" 2>&1 &
TSHARK_PID=$!
wait_for "$T_DIR/tshark2.log" "Capturing on"
CALLER_OPTS=(--rat UTRAN)
ue_call utran 1 2
kill -INT "$TSHARK_PID"
wait "$TSHARK_PID" || true
expect_connected utran
expect_plain utran caller "caller not on 4G/5G (UTRAN)"
expect_plain utran callee "no encryption indicator in the INVITE"
expect_audio utran
tshark -r "$T_DIR/plain.pcapng" -Y "$(media_ports "$T_DIR/plain.pcapng")" -T fields -e udp.payload \
    >"$T_DIR/plain.hex" 2>/dev/null || true
read -r npay nhit < <(plaintext_hits "$T_DIR/plain.hex" "$T_DIR/caller.wav" "$T_DIR/callee.wav")
check "wire (control): the plain call's media does carry the plaintext ($nhit of $npay packets)" \
    test "$nhit" -ge 20 -a "$nhit" -ge $((npay / 2))

# --- plain fallbacks: the call connects and carries audio, both ends say why ---------------------------------------
CALLER_OPTS=(--capable no)
ue_call caller_incapable 1 2
expect_plain caller_incapable caller "caller not capable"
expect_audio caller_incapable

CALLEE_OPTS=(--capable no)
ue_call callee_incapable 1 2
expect_plain callee_incapable caller "callee not capable"
expect_plain callee_incapable callee "callee not capable"
expect_audio callee_incapable

ue_call callee_unsub 1 3
expect_plain callee_unsub caller "callee not subscribed"
expect_plain callee_unsub callee "no encryption indicator in the INVITE"
check "callee_unsub: AS stripped the tag for that reason" grep -q 'reason="callee not subscribed"' <(as_decision callee_unsub)
expect_audio callee_unsub

ue_call callee_utran 1 4
expect_plain callee_utran caller "callee not attached on 4G/5G"
expect_audio callee_utran

CALLER_OPTS=(--kms-key "$(printf '%064x' 9)")
ue_call kms_refuses 1 2
expect_plain kms_refuses caller "KMS refused the key (401 AUTHENTICATION_FAILED)"
expect_plain kms_refuses callee "no key offer (UPDATE) from the caller within 1500 ms"
expect_audio kms_refuses

CALLER_OPTS=(--suites SM4_CM_128_HMAC_SM3_80)
CALLEE_OPTS=(--suites AES_CM_128_HMAC_SHA1_80,AEAD_AES_128_GCM)
ue_call no_suite 1 2
expect_plain no_suite callee "no common SRTP suite"
expect_plain no_suite caller "callee refused the key offer (488 no common SRTP suite"
expect_audio no_suite

# --- the callee never answers: the caller CANCELs at its set-up timeout (RFC 3261 §9), through the AS -------------
"$UE_BIN" -c "$T_DIR/ue2.json" answer --auto --answer-after-ms 20000 --count 1 --summary "$T_DIR/cancel.callee.json" \
    >"$T_DIR/cancel.callee.out" 2>"$T_DIR/cancel.callee.log" &
cancel_callee=$!
wait_for "$T_DIR/cancel.callee.out" '^READY mihua-ue'
rc_caller=0 rc_callee=0
"$UE_BIN" -c "$T_DIR/ue1.json" call tel:+15550000002 --setup-timeout-ms 1000 --summary "$T_DIR/cancel.caller.json" \
    --ladder >"$T_DIR/cancel.caller.out" 2>"$T_DIR/cancel.caller.log" || rc_caller=$?
wait "$cancel_callee" || rc_callee=$?
check "cancel: caller gave up at its set-up timeout, callee saw the CANCEL: both exit 1 (not connected)" \
    [ "$rc_caller:$rc_callee" = 1:1 ]
check "cancel: the caller says why" grep -q "no answer within" <(sum cancel caller "j['failure']")
check "cancel: the callee was cancelled by the caller" grep -q "cancelled by the caller" <(sum cancel callee "j['failure']")
check "cancel: the caller's ladder shows CANCEL, its 200 and the 487" \
    bash -c "grep -q -- '--CANCEL' '$T_DIR/cancel.caller.out' && grep -q '487 Request Terminated' '$T_DIR/cancel.caller.out'"

# --- bad input to an agent: garbage and an INVITE with an unusable offer are refused, and the agent keeps serving --
# (an INVITE without SDP is a late offer, answered in legacy_phones)
"$UE_BIN" -c "$T_DIR/ue2.json" answer --auto --count 1 >"$T_DIR/bad.callee.out" 2>"$T_DIR/bad.callee.log" &
bad_callee=$!
wait_for "$T_DIR/bad.callee.out" '^READY mihua-ue'
UE2_PORT=$(sed -nE 's/^READY mihua-ue sip=[^:]+:([0-9]+) .*/\1/p' "$T_DIR/bad.callee.out")
check "bad input: garbage is dropped, an INVITE with a broken SDP offer gets 488, a stray BYE 481" python3 - "$UE2_PORT" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5); s.bind(("127.0.0.1", 0))
port = int(sys.argv[1]); me = s.getsockname()[1]
def req(method, tag, body=""):
    return (f"{method} sip:+15550000002@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{method}{tag}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:x@y>;tag=t1\r\nTo: <sip:+15550000002@y>{tag}\r\nCall-ID: bad-{method}@test\r\n"
            f"CSeq: 1 {method}\r\nContact: <sip:x@127.0.0.1:{me}>\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()
s.sendto(b"\x00\x01garbage that is not SIP", ("127.0.0.1", port))
s.sendto(req("INVITE", "", "v=0\r\nthis is not SDP\r\n"), ("127.0.0.1", port))
codes = []
while len(codes) < 1:
    codes.append(int(s.recv(65535).split()[1]))
s.sendto(req("BYE", ";tag=nope"), ("127.0.0.1", port))
codes.append(int(s.recv(65535).split()[1]))
sys.exit(0 if codes == [488, 481] else print(codes) or 1)
PY
ue_conf 1
"$UE_BIN" -c "$T_DIR/ue1.json" call tel:+15550000002 --duration 0.3 >"$T_DIR/after.caller.out" 2>&1 || true
wait "$bad_callee" || true
check "bad input: the agent still takes the next call" grep -q "encrypted: " "$T_DIR/bad.callee.out"

# --- many calls at once through one agent pair (load mode): every one encrypted, every packet authenticated -----------
ue_conf 1
ue_conf 2
"$UE_BIN" -c "$T_DIR/ue2.json" answer --auto --count 40 --quiet --summary "$T_DIR/many.callee.json" \
    >"$T_DIR/many.callee.out" 2>"$T_DIR/many.callee.log" &
many_callee=$!
wait_for "$T_DIR/many.callee.out" '^READY mihua-ue'
rc=0
"$UE_BIN" -c "$T_DIR/ue1.json" load tel:+15550000002 --calls 40 --rate 100 --duration 0.3 \
    --summary "$T_DIR/many.load.json" >"$T_DIR/many.caller.out" 2>"$T_DIR/many.caller.log" || rc=$?
wait "$many_callee" || rc=$((rc + 100))
check "40 overlapping calls (load mode): both agents exit 0" [ "$rc" = 0 ]
check "40 overlapping calls: the caller counts 40 encrypted, 0 plain, 0 failed" \
    [ "$(jget "$T_DIR/many.load.json" "(j['placed'], j['encrypted'], j['plain'], j['failed'])")" = "(40, 40, 0, 0)" ]
check "40 overlapping calls: the callee saw 40 distinct calls, each encrypted with all 15 packets authenticated" \
    python3 - "$T_DIR/many.callee.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ok = [r for r in rows if r['encrypted'] and r['packets']['authenticated'] == r['packets']['received'] == 15
      and r['packets']['failed'] == 0 and r['audio']['receivedBytes'] == 2400]
sys.exit(0 if len(rows) == 40 and len(ok) == 40 and len({r['callId'] for r in rows}) == 40 else 1)
PY

stop_daemon "$kms_PID" || fail "KMS: SIGTERM exit 0"
ue_call kms_down 1 2
expect_plain kms_down caller "KMS unreachable"
expect_plain kms_down callee "no key offer (UPDATE)"
expect_audio kms_down
start_kms
ue_call kms_back 1 2
expect_encrypted kms_back SM4_CM_128_HMAC_SM3_80

check "AS: SIGTERM exit 0" stop_daemon "$as_PID"
as_PID=""
finish
