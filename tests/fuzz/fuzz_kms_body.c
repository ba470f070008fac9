/*
 * fuzz_kms_body — libFuzzer target for the KMS request body {"callId","caller","callee"} (DESIGN §4; JSON per
 * RFC 8259), read exactly as mihua-kms reads it: the SBI server's allocation-free flat reader first
 * (lib/sbi/sbi_flat_json.h), jansson with JSON_REJECT_DUPLICATES when the body is not flat
 * (lib/sbi/sbi_server_stream.c), then kms_body_read (kms/kms_body.h) and the identity lookups of caller and callee (lib/subscriber).
 *
 * Properties checked on top of the sanitizers:
 *   - a body the flat reader accepts is valid JSON for jansson, and kms_body_read gives the same verdict, the
 *     same invalidParams and the same values from either form (the flat reader promises exactly this);
 *   - an accepted body has three non-empty values within their bounds;
 *   - the same document read as the AS's answer to GET /as/v1/calls/{callId} (kms_as_verdict) confirms the call
 *     only when it says encryptionAllowed true for that callId and names the same two subscribers.
 * The subscribers are a fixed two-line snapshot loaded per input (no state carried between inputs).
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "kms_api.h"
#include "kms_body.h"

#define SNAPSHOT_NAME "fuzz-subscribers.json"
#define SNAPSHOT                                                                                        \
    "{\"subscribers\":["                                                                                \
    "{\"imsi\":\"001010000000001\",\"msisdn\":\"15550000001\",\"impu\":[\"sip:+15550000001@ims.test\"," \
    "\"tel:+15550000001\"],\"voice_encryption\":true,\"access\":{\"rat\":\"NR\",\"ims_vops\":true}},"   \
    "{\"imsi\":\"001010000000002\",\"msisdn\":\"15550000002\",\"impu\":[\"sip:bob@ims.test\"],"         \
    "\"voice_encryption\":true,\"access\":{\"rat\":\"EUTRAN\",\"ims_vops\":true}}]}"

static bool same_value(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_same_reading(kms_body_result_t r1, const kms_body_t *a, kms_body_result_t r2, const kms_body_t *b)
{
    FUZZ_CHECK(r1 == r2 && a->n_bad == b->n_bad && a->n_missing == b->n_missing);
    for (size_t i = 0; i < a->n_bad; i++)
        FUZZ_CHECK(strcmp(a->bad[i].param, b->bad[i].param) == 0 && strcmp(a->bad[i].reason, b->bad[i].reason) == 0);
    if (r1 == KMS_BODY_OK) {
        FUZZ_CHECK(same_value(a->call_id.value, b->call_id.value));
        FUZZ_CHECK(same_value(a->caller.value, b->caller.value) && same_value(a->callee.value, b->callee.value));
    }
}

static void check_field(const kms_body_field_t *f)
{
    size_t n = f->value ? strlen(f->value) : 0;
    FUZZ_CHECK(n > 0 && n <= f->max);
}

/* The AS answer check on the same document: a confirmation needs every part of it. */
static void check_verdict(const sub_snapshot_t *snap, const json_t *body, const kms_body_t *b)
{
    const subscriber_t *caller = sub_find_by_identity(snap, b->caller.value);
    const subscriber_t *callee = sub_find_by_identity(snap, b->callee.value);
    if (!caller || !callee)
        return; /* the KMS answered 403 unknown_party before asking the AS */
    const char *why = kms_as_verdict(snap, 200, NULL, body, b->call_id.value, caller, callee);
    if (why)
        return;
    FUZZ_CHECK(json_is_true(json_object_get(body, "encryptionAllowed")));
    FUZZ_CHECK(same_value(json_string_value(json_object_get(body, "callId")), b->call_id.value));
    FUZZ_CHECK(kms_as_verdict(snap, 404, NULL, body, b->call_id.value, caller, callee) != NULL);
    FUZZ_CHECK(kms_as_verdict(snap, 0, "timeout", NULL, b->call_id.value, caller, callee) != NULL);
}

static void read_body(const sub_snapshot_t *snap, const char *text, size_t len)
{
    sbi_flat_json_t flat;
    kms_body_t b1, b2;
    bool is_flat = sbi_flat_json_parse(text, len, &flat);
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(!is_flat || body != NULL);
    if (!body)
        return; /* 400 from the server library, before the KMS sees it */
    kms_body_result_t r2 = kms_body_read(NULL, body, &b2);
    if (is_flat) {
        kms_body_result_t r1 = kms_body_read(&flat, NULL, &b1);
        check_same_reading(r1, &b1, r2, &b2);
    }
    if (r2 == KMS_BODY_OK) {
        check_field(&b2.call_id);
        check_field(&b2.caller);
        check_field(&b2.callee);
        check_verdict(snap, body, &b2);
    }
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sub_error_t err;
    sub_snapshot_t *snap = sub_snapshot_load_text(SNAPSHOT_NAME, SNAPSHOT, strlen(SNAPSHOT), &err);
    FUZZ_CHECK(snap != NULL);
    read_body(snap, (const char *)data, size);
    sub_snapshot_release(snap);
    return 0;
}
