#!/usr/bin/env bash
# The condition matrix (DESIGN §1-§3, patent claims 1-10): real mihua-ue agents through the real mihua-as,
# mihua-hss, mihua-udm and mihua-kms. One row per condition; each asserts the caller's and the callee's verdict,
# the AS's decision line, and that the call connected and carried audio bit-exact both ways. Covered: caller and
# callee subscribed or not; callee on EUTRAN, NR, UTRAN, GERAN, NONE and NR without IMS voice; caller on UTRAN,
# GERAN, NONE, EUTRAN; capability off on each side and both; the three suites, the callee's preference against the
# caller's order, no common suite; and the AS policies (subscription_source / attachment_source) where they change
# the outcome: a callee on EUTRAN has no AMF registration (5GS) at the UDM, so attachment=hss/any say yes and
# udm/all say no.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ue_lib.sh"

SM4=SM4_CM_128_HMAC_SM3_80 GCM=AEAD_AES_128_GCM CM=AES_CM_128_HMAC_SHA1_80
write_subs "11 true NR true" "12 true EUTRAN true" "13 true UTRAN false" "14 true GERAN false" \
    "15 true NONE false" "16 false NR true" "17 false EUTRAN true" "18 true NR false"
net_up

# verdict NAME ROLE EXPECT: "enc:SUITE" or "plain:REASON"
verdict() {
    case $3 in
    enc:*)
        check "$1: $2 says encrypted: ${3#enc:}" [ "$(sum "$1" "$2" "str(j['encrypted']) + ' ' + j['suite']")" = "True ${3#enc:}" ]
        check "$1: $2 authenticated every packet it received" \
            [ "$(sum "$1" "$2" "j['packets']['received'] > 0 and j['packets']['authenticated'] == j['packets']['received'] and j['packets']['failed'] == 0")" = True ] ;;
    plain:*) expect_plain "$1" "$2" "${3#plain:}" ;;
    esac
}

# row NAME CALLER CALLEE CALLER_EXPECT CALLEE_EXPECT AS_EXPECT: AS_EXPECT is "allowed", "stripped:REASON" or "none"
# (an INVITE without the tag is not checked). CALLER_OPTS / CALLEE_OPTS are the agents' extra options.
row() {
    local name=$1 as_line
    ue_call "$name" "$2" "$3"
    expect_connected "$name"
    verdict "$name" caller "$4"
    verdict "$name" callee "$5"
    as_line=$(as_decision "$name")
    case $6 in
    none) check "$name: AS made no decision (INVITE without the tag)" [ -z "$as_line" ] ;;
    allowed) check "$name: AS decision: allowed" grep -q 'encryption=allowed reason="ok"' <<<"$as_line" ;;
    stripped:*) check "$name: AS decision: stripped, ${6#stripped:}" grep -q "encryption=stripped reason=\"${6#stripped:}\"" <<<"$as_line" ;;
    esac
    expect_audio "$name"
}

NA="callee not attached on 4G/5G" NOTAG="no encryption indicator in the INVITE"
# --- default policy (conf/as.json: subscription hss, attachment any) -----------------------------------------------
row nr_to_eutran        11 12 "enc:$SM4" "enc:$SM4" allowed
row eutran_to_nr        12 11 "enc:$SM4" "enc:$SM4" allowed
row callee_utran        11 13 "plain:$NA" "plain:$NOTAG" "stripped:$NA"
row callee_geran        11 14 "plain:$NA" "plain:$NOTAG" "stripped:$NA"
row callee_none         11 15 "plain:$NA" "plain:$NOTAG" "stripped:$NA"
row callee_no_vops      11 18 "plain:$NA" "plain:$NOTAG" "stripped:$NA"
row callee_unsub        11 16 "plain:callee not subscribed" "plain:$NOTAG" "stripped:callee not subscribed"
row caller_unsub        16 12 "plain:caller not subscribed" "plain:$NOTAG" "stripped:caller not subscribed"
row both_unsub          16 17 "plain:caller not subscribed" "plain:$NOTAG" "stripped:caller not subscribed"
row caller_utran        13 12 "plain:caller not on 4G/5G (UTRAN)" "plain:$NOTAG" none
row caller_geran        14 12 "plain:caller not on 4G/5G (GERAN)" "plain:$NOTAG" none
row caller_none         15 12 "plain:caller not on 4G/5G (NONE)" "plain:$NOTAG" none
CALLER_OPTS=(--capable no)
row caller_incapable    11 12 "plain:caller not capable" "plain:$NOTAG" none
CALLEE_OPTS=(--capable no)
row callee_incapable    11 12 "plain:callee not capable" "plain:callee not capable" allowed
CALLER_OPTS=(--capable no) CALLEE_OPTS=(--capable no)
row both_incapable      11 12 "plain:caller not capable" "plain:$NOTAG" none
CALLER_OPTS=(--suites "$GCM")
row suite_gcm           11 12 "enc:$GCM" "enc:$GCM" allowed
CALLER_OPTS=(--suites "$CM,$SM4")
row suite_aes_cm        12 11 "enc:$CM" "enc:$CM" allowed
CALLEE_OPTS=(--suites "$CM,$GCM")
row caller_order_wins   11 12 "enc:$GCM" "enc:$GCM" allowed # caller offers SM4, GCM, CM; callee lacks SM4
CALLER_OPTS=(--suites "$SM4") CALLEE_OPTS=(--suites "$CM,$GCM")
row no_common_suite     11 12 "plain:callee refused the key offer (488 no common SRTP suite" \
                              "plain:no common SRTP suite" allowed

# --- the AS policies where they change the outcome ----------------------------------------------------------------
start_as --attachment-source hss
row att_hss_eutran      11 12 "enc:$SM4" "enc:$SM4" allowed
start_as --attachment-source udm
row att_udm_eutran      11 12 "plain:$NA" "plain:$NOTAG" "stripped:$NA"
row att_udm_nr          12 11 "enc:$SM4" "enc:$SM4" allowed
start_as --attachment-source all
row att_all_eutran      11 12 "plain:$NA" "plain:$NOTAG" "stripped:$NA"
row att_all_nr          12 11 "enc:$SM4" "enc:$SM4" allowed
start_as --subscription-source all --attachment-source all
row sub_all_unsub       12 16 "plain:callee not subscribed" "plain:$NOTAG" "stripped:callee not subscribed"
AS_USES_HSS=0 start_as --subscription-source udm --attachment-source udm
row udm_only_nr         12 11 "enc:$SM4" "enc:$SM4" allowed
check "udm_only_nr: the AS asked only the UDM" grep -q 'policy=udm/udm hss=- udm=\[yes,yes,yes\]' \
    <(grep "decision" "$T_DIR/as.log" | tail -1)

check "AS: SIGTERM exit 0" stop_daemon "$as_PID"
as_PID=""
finish
