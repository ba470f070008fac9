#!/usr/bin/env bash
# Phones that do not speak mihua (DESIGN §2 "Offer/answer with phones that do not speak mihua", §7; RFC 3261
# §13.2.1, RFC 3262, RFC 3264): mihua-ue agents through the real mihua-as (with mihua-hss, mihua-udm, mihua-kms)
# against foreign user agents, each call plain with its reason and carrying audio both ways.
#   sipp (tests/integration/sipp/legacy_*.xml, -rtp_echo: the mihua-ue end hears its own audio back):
#     - INVITE offer without 100rel -> the 200 carries the answer; then hold (a=sendonly -> a=recvonly), resume and
#       a re-INVITE without SDP (offer in the 200, answer in the ACK) on the plain call, the callee's media following
#     - INVITE without SDP -> the 200 carries the offer, the ACK the answer
#     - a callee that answers 180/200 with no 183, the 200 retransmitted (ACKed again, not a new offer), then holds
#       and resumes the mihua-ue caller
#     - a callee with an unreliable 183 (not PRACKed), the 200 repeating its answer
#   baresip (Debian's baresip-core, a real softphone with no 100rel): registers at mihua-as, calls a mihua-ue
#     callee and is called by a mihua-ue caller; the tone each side sends is found in what the other received.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ue_lib.sh"

SIPP_DIR=$MIHUA_SRC/tests/integration/sipp
D=$MIHUA_TEST_DOMAIN
# 1, 2: mihua-ue agents; 5, 6: sipp phones (subscribed, so the AS keeps a tag a phone claims); 7: baresip
write_subs "1 true NR true" "2 true EUTRAN true" "5 true EUTRAN true" "6 true EUTRAN true" "7 false EUTRAN true"
# MD5 only: baresip 1.0 (libre 1.1) gives up on a 401 that offers any other algorithm (ENOSYS), even after an MD5
# challenge, and sipp 3.6 answers the first challenge only, with MD5
net_up --sip-auth-algorithms MD5
declare -A PORT
for u in 5 6; do PORT[$u]=$(free_port); done
# baresip binds SIP over UDP and TCP on its port and SIP/TLS on the next one (libre): both must be free.
free_port_pair() {
    python3 - <<'PY'
import socket
while True:
    held = []
    try:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s)
        p = s.getsockname()[1]
        for port, kind in ((p, socket.SOCK_DGRAM), (p + 1, socket.SOCK_STREAM), (p + 1, socket.SOCK_DGRAM)):
            t = socket.socket(socket.AF_INET, kind); held.append(t); t.bind(("127.0.0.1", port))
        print(p)
        break
    except OSError:
        pass
    finally:
        for h in held:
            h.close()
PY
}
PORT[7]=$(free_port_pair)

# udp_bound PORT: true once something listens on 127.0.0.1:PORT/udp (a sipp UAS is ready for its INVITE).
udp_bound() { ss -Hlun "sport = :$1" | grep -q .; }
wait_udp_bound() {
    local i
    for i in $(seq 1 200); do udp_bound "$1" && return 0; sleep 0.05; done
    return 1
}

sipp_register() { # sipp_register USER FEATURE
    (cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/register.xml" -m 1 -i 127.0.0.1 -p "${PORT[$1]}" -timeout 10 \
        -timeout_error -key user "+1555000000$1" -key domain "$D" -key feature "$2" \
        -au "+1555000000$1" -ap "$(sip_password "$1")" "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/reg$1.log" 2>&1)
}

# callee_up NAME USER: a mihua-ue callee for one call, summary in NAME.callee.json
callee_up() {
    ue_conf "$2"
    "$UE_BIN" -c "$T_DIR/ue$2.json" answer --auto --count 1 --summary "$T_DIR/$1.callee.json" \
        --wav "$T_DIR/callee.wav" --wav-out "$T_DIR/$1.callee.in.wav" --ladder \
        >"$T_DIR/$1.callee.out" 2>"$T_DIR/$1.callee.log" &
    CALLEE_PID=$!
    wait_for "$T_DIR/$1.callee.out" '^READY mihua-ue'
}

# sipp_uac NAME SCENARIO USER FEATURE: a sipp phone USER calls tel:+15550000002 (the mihua-ue callee) via the AS
sipp_uac() {
    local name=$1 rc=0 rc_callee=0
    (cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/$2" -m 1 -i 127.0.0.1 -p "${PORT[$3]}" -mp "$(free_port)" -rtp_echo \
        -d 600 -timeout 20 -timeout_error -cid_str "legacy-$name-%u" -key user "+1555000000$3" -key domain "$D" \
        -key callee "tel:+15550000002" -key feature "$4" -trace_err -trace_msg -trace_logs \
        "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/$name.sipp.log" 2>&1) || rc=$?
    [ "$rc" = 0 ] || kill "$CALLEE_PID" 2>/dev/null # a callee whose call never came would wait forever
    wait "$CALLEE_PID" || rc_callee=$?
    check "$name: sipp completed its scenario ($2) and the mihua-ue callee exit 0" [ "$rc:$rc_callee" = 0:0 ]
}

# sipp_uas NAME SCENARIO USER FEATURE: the mihua-ue caller 1 calls the sipp phone USER via the AS
sipp_uas() {
    local name=$1 rc=0 rc_uas=0
    (cd "$T_DIR" && exec sipp -sf "$SIPP_DIR/$2" -m 1 -i 127.0.0.1 -p "${PORT[$3]}" -mp "$(free_port)" -rtp_echo \
        -timeout 20 -timeout_error -key user "+1555000000$3" -key feature "$4" -trace_err -trace_msg -trace_logs \
        "127.0.0.1:$AS_SIP_PORT" >"$T_DIR/$name.sipp.log" 2>&1) &
    local uas_pid=$!
    check "$name: the sipp phone listens" wait_udp_bound "${PORT[$3]}"
    ue_conf 1
    "$UE_BIN" -c "$T_DIR/ue1.json" call "tel:+1555000000$3" --duration 1 --summary "$T_DIR/$name.caller.json" \
        --wav "$T_DIR/caller.wav" --wav-out "$T_DIR/$name.caller.in.wav" --ladder \
        >"$T_DIR/$name.caller.out" 2>"$T_DIR/$name.caller.log" || rc=$?
    [ "$rc" = 0 ] || kill "$uas_pid" 2>/dev/null
    wait "$uas_pid" || rc_uas=$?
    check "$name: mihua-ue caller exit 0 (connected) and sipp completed its scenario ($2)" [ "$rc:$rc_uas" = 0:0 ]
}

# heard_itself NAME ROLE: the agent sent audio, and received (sipp's echo of) it
heard_itself() {
    check "$1: $2 sent and received audio" \
        [ "$(sum "$1" "$2" "j['packets']['sent'] > 0 and j['packets']['received'] > 0 and j['connected']")" = True ]
}

# --- sipp phones calling a mihua-ue callee --------------------------------------------------------------------------
check "sipp phone 5 registered (claims the capability)" sipp_register 5 ";+u.mihua.voenc"
callee_up no100rel 2
sipp_uac no100rel legacy_uac.xml 5 ";+u.mihua.voenc"
check "no100rel: sipp saw the answer in the 200, recvonly to its hold, sendrecv to its resume, an offer to its empty re-INVITE" \
    bash -c "grep -q '200 carries the answer: m=audio' '$T_DIR'/*legacy_uac*_logs.log && \
             grep -q 'hold answered: a=recvonly' '$T_DIR'/*legacy_uac*_logs.log && \
             grep -q 'resume answered: a=sendrecv' '$T_DIR'/*legacy_uac*_logs.log && \
             grep -q 'offer in the 200 to a re-INVITE without SDP: m=audio' '$T_DIR'/*legacy_uac*_logs.log"
expect_plain no100rel callee "caller did not use 100rel (answer in the 200 OK)"
heard_itself no100rel callee
check "no100rel: the callee's media followed the hold and the resume" \
    bash -c "grep -q 're-INVITE: peer sendonly .* we say recvonly: sending paused' '$T_DIR/no100rel.callee.log' && \
             grep -q 're-INVITE: peer sendrecv .* we say sendrecv: sending' '$T_DIR/no100rel.callee.log' && \
             grep -q 're-INVITE answer in the ACK: peer sendrecv .* sending' '$T_DIR/no100rel.callee.log'"
check "no100rel: the 183 was unreliable and the 200 repeated its answer (same o= line, RFC 3264 §8)" python3 - \
    "$T_DIR"/legacy_uac_[0-9]*_messages.log <<'PY'
import re, sys
msgs = re.split(r'UDP message (?:received|sent)[^\n]*\n', open(sys.argv[1]).read())
def first(start):
    return next((m for m in msgs if m.lstrip().startswith(start) and 'CSeq: 1 INVITE' in m), '')
m183, m200 = first('SIP/2.0 183'), first('SIP/2.0 200')
o = lambda m: re.search(r'^o=.*$', m, re.M)
ok = m183 and 'RSeq' not in m183 and not re.search(r'^Require:.*100rel', m183, re.M) and o(m183) and o(m200) and o(m183)[0] == o(m200)[0]
sys.exit(0 if ok else 1)
PY

callee_up late 2
sipp_uac late legacy_uac_late.xml 5 ""
check "late: sipp found the offer in the 200" grep -q '200 carries the offer: m=audio' "$T_DIR"/*legacy_uac_late*_logs.log
expect_plain late callee "caller sent no SDP offer (answer in the ACK)"
heard_itself late callee

# --- a mihua-ue caller calling sipp phones -------------------------------------------------------------------------
check "sipp phone 6 registered (claims the capability)" sipp_register 6 ";+u.mihua.voenc"
sipp_uas no183 legacy_uas.xml 6 ";+u.mihua.voenc"
expect_plain no183 caller "callee answered without a reliable 183"
heard_itself no183 caller
check "no183: sipp's hold and resume were answered recvonly and sendrecv" \
    bash -c "grep -q 're-INVITE a=sendonly answered: a=recvonly' '$T_DIR'/*legacy_uas_[0-9]*_logs.log && \
             grep -q 're-INVITE a=sendrecv answered: a=sendrecv' '$T_DIR'/*legacy_uas_[0-9]*_logs.log"
check "no183: the caller ACKed the 200 and its retransmission, and sent no second INVITE" \
    [ "$(grep -c -- '--ACK' "$T_DIR/no183.caller.out")" -ge 2 ]

check "sipp phone 6 registered again" sipp_register 6 ";+u.mihua.voenc"
sipp_uas early183 legacy_uas_183.xml 6 ";+u.mihua.voenc"
expect_plain early183 caller "callee's 183 was not reliable (no 100rel)"
heard_itself early183 caller
check "early183: no PRACK from the caller" bash -c "! grep -q PRACK '$T_DIR/early183.caller.out'"

# --- baresip, a real softphone from Debian (no 100rel): registers, calls a mihua-ue callee, is called -------------
BS=$T_DIR/baresip
BS_DUMP=$BS/dump # sndfile: each call's sent (enc) and received (dec) audio as 16-bit WAV
mkdir -p "$BS_DUMP"
BS_CTRL=$(free_port)
python3 - "$BS/tone.wav" <<'PY' # baresip's voice: 4 s of a 1000 Hz tone, 8 kHz 16-bit mono (aufile's format)
import math, struct, sys
sr, f = 8000, 1000
data = b''.join(struct.pack('<h', int(8000 * math.sin(2 * math.pi * f * i / sr))) for i in range(sr * 4))
fmt = struct.pack('<HHIIHH', 1, 1, sr, sr * 2, 2, 16)
body = b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt + b'data' + struct.pack('<I', len(data)) + data
open(sys.argv[1], 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)
PY
# aubridge stands in for a sound card (nothing plays); ctrl_tcp takes commands (menu provides dial and hangup).
cat >"$BS/config" <<CFG
poll_method epoll
sip_listen 127.0.0.1:${PORT[7]}
net_interface 127.0.0.1
audio_player aubridge,nil
audio_source aufile,$BS/tone.wav
audio_alert aubridge,nil
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:$BS_CTRL
snd_path $BS_DUMP
CFG
echo "<sip:+15550000007@$D>;auth_pass=$(sip_password 7);outbound=\"sip:127.0.0.1:$AS_SIP_PORT;lr\";regint=600;\
audio_codecs=PCMU;answermode=auto" >"$BS/accounts"
baresip -f "$BS" -v >"$BS/out.log" 2>&1 &
T_PIDS+=("$!")
check "baresip registered at mihua-as" wait_for "$BS/out.log" '\+15550000007@.* 200 OK'

# bs_ctl COMMAND [PARAMS]: one ctrl_tcp command (netstring JSON), true when baresip answers ok. baresip's log
# (out.log) says what happened to the calls: "Call established", "Call with ... terminated".
bs_ctl() {
    python3 - "$BS_CTRL" "$@" <<'PY'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
b = json.dumps({"command": sys.argv[2], "params": sys.argv[3] if len(sys.argv) > 3 else "", "token": "t"}).encode()
s.sendall(str(len(b)).encode() + b":" + b + b",")
buf = b""
while True: # until the response to this command (events may come first)
    d = s.recv(65536)
    if not d:
        sys.exit(1)
    buf += d
    while b":" in buf:
        n, rest = buf.split(b":", 1)
        if len(rest) < int(n) + 1:
            break
        msg, buf = json.loads(rest[:int(n)]), rest[int(n) + 1:]
        if msg.get("response"):
            sys.exit(0 if msg.get("ok") else print(msg) or 1)
PY
}

# wait_count FILE REGEX N: until FILE has N lines matching REGEX.
wait_count() {
    local i
    for i in $(seq 1 400); do
        [ "$(grep -cE "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.05
    done
    return 1
}
# wait_dump_bytes SUFFIX BYTES: until baresip's newest *-SUFFIX.wav holds BYTES (its received audio flowing).
wait_dump_bytes() {
    local i f
    for i in $(seq 1 400); do
        f=$(ls -t "$BS_DUMP"/*-"$1".wav 2>/dev/null | head -1)
        [ -n "$f" ] && [ "$(stat -c %s "$f")" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
# tone WAV HZ: the audio is not silence and its pitch is HZ (zero crossings, +-10%); 16-bit PCM or u-law WAV.
tone() {
    python3 - "$@" <<'PY'
import audioop, struct, sys
b = open(sys.argv[1], 'rb').read()
fmt = struct.unpack('<H', b[b.index(b'fmt ') + 8:][:2])[0]
i = b.index(b'data')
data = b[i + 8:i + 8 + struct.unpack('<I', b[i + 4:i + 8])[0]]
pcm = audioop.ulaw2lin(data, 2) if fmt == 7 else data
x = struct.unpack('<%dh' % (len(pcm) // 2), pcm)[800:] # skip the first 100 ms
secs = len(x) / 8000
crossings = sum(1 for a, c in zip(x, x[1:]) if (a < 0) != (c < 0))
rms = audioop.rms(struct.pack('<%dh' % len(x), *x), 2) if x else 0
hz = crossings / 2 / secs if secs else 0
print(f"{sys.argv[1]}: {secs:.2f} s, rms {rms}, {hz:.0f} Hz")
sys.exit(0 if secs >= 0.4 and rms > 300 and abs(hz - float(sys.argv[2])) < float(sys.argv[2]) * 0.1 else 1)
PY
}

# baresip calls the mihua-ue callee (which sends its default 440 Hz tone): hang up once baresip has heard 1 s.
ue_conf 2
"$UE_BIN" -c "$T_DIR/ue2.json" answer --auto --count 1 --summary "$T_DIR/bs_out.callee.json" \
    --wav-out "$T_DIR/bs_out.callee.in.wav" --ladder >"$T_DIR/bs_out.callee.out" 2>"$T_DIR/bs_out.callee.log" &
CALLEE_PID=$!
wait_for "$T_DIR/bs_out.callee.out" '^READY mihua-ue'
check "bs_out: baresip dials the mihua-ue callee" bs_ctl dial "sip:+15550000002@$D" || kill "$CALLEE_PID"
check "bs_out: baresip says the call is established" wait_count "$BS/out.log" ': Call established: ' 1
check "bs_out: baresip hears the callee (1 s of decoded audio)" wait_dump_bytes dec 16044
check "bs_out: baresip hangs up" bs_ctl hangup
rc=0; wait "$CALLEE_PID" || rc=$?
check "bs_out: mihua-ue callee exit 0 (connected)" [ "$rc" = 0 ]
check "bs_out: baresip saw the call end" wait_count "$BS/out.log" ': Call with .* terminated' 1
expect_plain bs_out callee "no encryption indicator in the INVITE"
check "bs_out: the callee received baresip's 1000 Hz tone" tone "$T_DIR/bs_out.callee.in.wav" 1000
check "bs_out: baresip received the callee's 440 Hz tone" tone "$(ls -t "$BS_DUMP"/*-dec.wav | head -1)" 440

# the mihua-ue caller calls baresip (auto answer); the caller hangs up after 1.5 s of its 440 Hz tone.
ue_conf 1
rc=0
"$UE_BIN" -c "$T_DIR/ue1.json" call "tel:+15550000007" --duration 1.5 --summary "$T_DIR/bs_in.caller.json" \
    --wav-out "$T_DIR/bs_in.caller.in.wav" --ladder >"$T_DIR/bs_in.caller.out" 2>"$T_DIR/bs_in.caller.log" || rc=$?
check "bs_in: mihua-ue caller exit 0 (connected)" [ "$rc" = 0 ]
check "bs_in: baresip answered and saw the caller's BYE" wait_count "$BS/out.log" ': Call with .* terminated' 2
check "bs_in: caller says plain with its reason" \
    [ "$(sum bs_in caller "str(not j['encrypted'] and len(j['reason']) > 0)")" = True ]
check "bs_in: the caller received baresip's 1000 Hz tone" tone "$T_DIR/bs_in.caller.in.wav" 1000
check "bs_in: baresip received the caller's 440 Hz tone" tone "$(ls -t "$BS_DUMP"/*-dec.wav | head -1)" 440

finish
