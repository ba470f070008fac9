/*
 * Unit tests for lib/subscriber/subscriber: one test per validation error of the DESIGN §5 file (each checking the
 * exact file:line:column, field and reason), lookups by every identity form, normalisation, JSON round trip and
 * reference counting.
 *
 * The expected line:column of each error case below was computed when the case was written by a plain text search
 * for the offending token (or, for a missing field, the object that lacks it), independently of jsonpos.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "subscriber/subscriber.h"

#define PATH_MAX_TEST 4096

static void check_error(const char *text, const char *expected)
{
    sub_error_t err;
    sub_error_clear(&err);
    sub_snapshot_t *s = sub_snapshot_load_text("t.json", text, strlen(text), &err);
    if (s != NULL)
        sub_snapshot_release(s);
    assert_null(s);
    assert_string_equal(err.msg, expected);
    /* The structured parts say the same as the message: "file:line:col: field: reason". */
    if (err.field[0] != '\0') {
        char head[SUB_ERR_MAX];
        snprintf(head, sizeof head, "t.json:%d:%d: %s: %s", err.line, err.col, err.field, err.reason);
        assert_string_equal(head, expected);
    }
}

/* clang-format off */
#define ERROR_CASES(X) \
    X(root_not_object, \
      "[1, 2]\n", \
      "t.json:1:1: (root): must be an object") \
    X(unknown_top_level_key, \
      "{\"subscribers\": [],\n" \
      " \"extra\": 1}\n", \
      "t.json:2:2: extra: unknown key") \
    X(unknown_empty_key, /* fuzz_subscribers: the field of an empty key was "", which means "no place" */ \
      "{\"subscribers\": [], \"\": 1}\n", \
      "t.json:1:21: \"\": unknown key") \
    X(subscribers_missing, \
      "\n" \
      "  {}\n", \
      "t.json:2:3: subscribers: missing") \
    X(subscribers_not_array, \
      "{\"subscribers\": {\"a\": 1}}\n", \
      "t.json:1:17: subscribers: must be an array") \
    X(subscriber_not_object, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "\"001010000000002\"\n" \
      "]}\n", \
      "t.json:3:1: subscribers[1]: must be an object") \
    X(subscriber_unknown_key, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisnd\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445" \
      "566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:29: subscribers[1].msisnd: unknown key") \
    X(imsi_missing, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_encryption\": false, \"access" \
      "\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899aabbccddeeff001122" \
      "33445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:1: subscribers[1].imsi: missing") \
    X(imsi_not_string, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": 1010000000002, \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_encr" \
      "yption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"001122334455667" \
      "78899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:10: subscribers[1].imsi: must be a string of 5 to 15 digits") \
    X(imsi_too_short, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"0010\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_encryption\"" \
      ": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899aa" \
      "bbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:10: subscribers[1].imsi: must be 5 to 15 digits") \
    X(imsi_too_long, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"0010100000000020\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice" \
      "_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"0011223344" \
      "5566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:10: subscribers[1].imsi: must be 5 to 15 digits") \
    X(imsi_not_digits, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"00101000000000x\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445" \
      "566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:10: subscribers[1].imsi: must be 5 to 15 digits") \
    X(msisdn_missing, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_encryption\": false, \"acce" \
      "ss\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899aabbccddeeff0011" \
      "2233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:1: subscribers[1].msisdn: missing") \
    X(msisdn_plus, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"+15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice" \
      "_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"0011223344" \
      "5566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:39: subscribers[1].msisdn: must be 5 to 15 digits") \
    X(msisdn_too_short, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"1555\", \"impu\": [\"sip:bob@ims.test\"], \"voice_encrypt" \
      "ion\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"001122334455667788" \
      "99aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:39: subscribers[1].msisdn: must be 5 to 15 digits") \
    X(msisdn_not_string, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": true, \"impu\": [\"sip:bob@ims.test\"], \"voice_encryptio" \
      "n\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899" \
      "aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:39: subscribers[1].msisdn: must be a string of 5 to 15 digits") \
    X(impu_missing, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"voice_encryption\": false, \"access\": " \
      "{\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899aabbccddeeff001122334" \
      "45566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:1: subscribers[1].impu: missing") \
    X(impu_not_array, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": \"sip:bob@ims.test\", \"voice_en" \
      "cryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"0011223344556" \
      "6778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:62: subscribers[1].impu: must be an array of 1 to 8 URIs") \
    X(impu_empty, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [], \"voice_encryption\": false" \
      ", \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899aabbccdde" \
      "eff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:62: subscribers[1].impu: must be an array of 1 to 8 URIs") \
    X(impu_too_many, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:b0@ims.test\", \"sip:b1@i" \
      "ms.test\", \"sip:b2@ims.test\", \"sip:b3@ims.test\", \"sip:b4@ims.test\", \"sip:b5@ims.test\", \"sip" \
      ":b6@ims.test\", \"sip:b7@ims.test\", \"sip:b8@ims.test\"], \"voice_encryption\": false, \"access\":" \
      " {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899aabbccddeeff00112233" \
      "445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:62: subscribers[1].impu: must be an array of 1 to 8 URIs") \
    X(impu_not_string, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\", 7], \"voi" \
      "ce_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233" \
      "445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:83: subscribers[1].impu[1]: must be a sip:, sips: or tel: URI of at most 256 char" \
      "acters") \
    X(impu_bad_scheme, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"http://ims.test/bob\"], \"voi" \
      "ce_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233" \
      "445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:63: subscribers[1].impu[0]: must be a sip:, sips: or tel: URI of at most 256 char" \
      "acters") \
    X(impu_too_long, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:aaaaaaaaaaaaaaaaaaaaaaa" \
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@ims.test\"], \"voice_encryption\": false, \"acce" \
      "ss\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899aabbccddeeff0011" \
      "2233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:63: subscribers[1].impu[0]: must be a sip:, sips: or tel: URI of at most 256 char" \
      "acters") \
    X(impu_no_host, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@\"], \"voice_encrypti" \
      "on\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"0011223344556677889" \
      "9aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:63: subscribers[1].impu[0]: must be a sip:, sips: or tel: URI of at most 256 char" \
      "acters") \
    X(impu_tel_not_number, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"tel:bob\"], \"voice_encryptio" \
      "n\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899" \
      "aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:63: subscribers[1].impu[0]: must be a sip:, sips: or tel: URI of at most 256 char" \
      "acters") \
    X(impu_space, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob @ims.test\"], \"voice" \
      "_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"0011223344" \
      "5566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:63: subscribers[1].impu[0]: must be a sip:, sips: or tel: URI of at most 256 char" \
      "acters") \
    X(voice_encryption_missing, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"access" \
      "\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899aabbccddeeff001122" \
      "33445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:1: subscribers[1].voice_encryption: missing") \
    X(voice_encryption_not_bool, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": \"no\", \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"001122334455" \
      "66778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:104: subscribers[1].voice_encryption: must be true or false") \
    X(access_missing, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"kms_key\": \"00112233445566778899aabbccddeeff00112233445566778899AABBCC" \
      "DDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:1: subscribers[1].access: missing") \
    X(access_not_object, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": \"EUTRAN\", \"kms_key\": \"00112233445566778899aabbccddeeff001122" \
      "33445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:121: subscribers[1].access: must be an object") \
    X(access_unknown_key, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true, \"vops\": 1}, \"kms_key\": \"" \
      "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:157: subscribers[1].access.vops: unknown key") \
    X(rat_missing, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"ims_vops\": true}, \"kms_key\": \"00112233445566778899aabbccdd" \
      "eeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:121: subscribers[1].access.rat: missing") \
    X(rat_bad_enum, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"LTE\", \"ims_vops\": true}, \"kms_key\": \"00112233445566" \
      "778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:129: subscribers[1].access.rat: must be one of EUTRAN, NR, UTRAN, GERAN, NONE") \
    X(rat_wrong_case, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"eutran\", \"ims_vops\": true}, \"kms_key\": \"00112233445" \
      "566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:129: subscribers[1].access.rat: must be one of EUTRAN, NR, UTRAN, GERAN, NONE") \
    X(rat_not_string, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": 3, \"ims_vops\": true}, \"kms_key\": \"001122334455667788" \
      "99aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:129: subscribers[1].access.rat: must be one of EUTRAN, NR, UTRAN, GERAN, NONE") \
    X(ims_vops_missing, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\"}, \"kms_key\": \"00112233445566778899aabbccdde" \
      "eff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:121: subscribers[1].access.ims_vops: missing") \
    X(ims_vops_not_bool, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": 1}, \"kms_key\": \"00112233445566" \
      "778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:151: subscribers[1].access.ims_vops: must be true or false") \
    X(kms_key_short, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445" \
      "566778899aabbccddeeff00112233445566778899AABBCCDDEEF\"}\n" \
      "]}\n", \
      "t.json:3:169: subscribers[1].kms_key: must be 64 hex characters") \
    X(kms_key_long, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445" \
      "566778899aabbccddeeff00112233445566778899AABBCCDDEEFF0\"}\n" \
      "]}\n", \
      "t.json:3:169: subscribers[1].kms_key: must be 64 hex characters") \
    X(kms_key_not_hex, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445" \
      "566778899aabbccddeeff00112233445566778899AABBCCDDEEFg\"}\n" \
      "]}\n", \
      "t.json:3:169: subscribers[1].kms_key: must be 64 hex characters") \
    X(kms_key_null, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": null}\n" \
      "]}\n", \
      "t.json:3:169: subscribers[1].kms_key: must be 64 hex characters") \
    X(duplicate_imsi, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445" \
      "566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:10: subscribers[1].imsi: duplicate of subscribers[0].imsi") \
    X(duplicate_msisdn, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:bob@ims.test\"], \"voice_" \
      "encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445" \
      "566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:39: subscribers[1].msisdn: duplicate of subscribers[0].msisdn") \
    X(duplicate_impu_normalised, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"SIP:+1-555-000-0001@IMS.Tes" \
      "t;user=phone\"], \"voice_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, " \
      "\"kms_key\": \"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:63: subscribers[1].impu[0]: duplicate of subscribers[0].impu[0]") \
    X(duplicate_impu_same_subscriber, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\", \"sip:bob" \
      "@IMS.TEST;transport=tcp\"], \"voice_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vop" \
      "s\": true}, \"kms_key\": \"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}\n" \
      "]}\n", \
      "t.json:3:83: subscribers[1].impu[1]: duplicate of subscribers[1].impu[0]") \
    X(impu_tel_is_other_msisdn, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\", \"tel:+1-" \
      "555-000-0009\"], \"voice_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, " \
      "\"kms_key\": \"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"},\n" \
      "{\"imsi\": \"001010000000003\", \"msisdn\": \"15550000009\", \"impu\": [\"sip:carol@ims.test\"], \"voic" \
      "e_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}\n" \
      "]}\n", \
      "t.json:3:83: subscribers[1].impu[1]: duplicate: the number is the msisdn of subscribers[2]") \
    X(impu_sip_number_is_other_msisdn, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\"," \
      " \"tel:+15550000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}" \
      ",\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:+15550000009@other.test" \
      ";user=phone\"], \"voice_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"" \
      "kms_key\": \"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"},\n" \
      "{\"imsi\": \"001010000000003\", \"msisdn\": \"15550000009\", \"impu\": [\"sip:carol@ims.test\"], \"voic" \
      "e_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}\n" \
      "]}\n", \
      "t.json:3:63: subscribers[1].impu[0]: duplicate: the number is the msisdn of subscribers[2]") \
    X(duplicate_kms_key, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\", \"tel:+155" \
      "50000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}, \"kms_key\": \"0011223" \
      "3445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"},\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_encryption" \
      "\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"kms_key\": \"00112233445566778899AABBCCDDEEF" \
      "F00112233445566778899aabbccddeeff\"}\n" \
      "]}\n", \
      "t.json:3:169: subscribers[1].kms_key: IMSI 001010000000002 has the kms_key of IMSI 001010000000001 (subscribers[0]); each must be unique") \
    X(sip_password_short, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\", \"tel:+155" \
      "50000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}, \"kms_key\": \"0011223" \
      "3445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"},\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_encryption" \
      "\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"sip_password\": \"1234567\"}\n" \
      "]}\n", \
      "t.json:3:174: subscribers[1].sip_password: must be 8 to 64 printable ASCII characters") \
    X(sip_password_control, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\", \"tel:+155" \
      "50000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}, \"kms_key\": \"0011223" \
      "3445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"},\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_encryption" \
      "\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"sip_password\": \"12345678\\u0007\"}\n" \
      "]}\n", \
      "t.json:3:174: subscribers[1].sip_password: must be 8 to 64 printable ASCII characters") \
    X(sip_password_long, \
      "{\"subscribers\": [\n" \
      "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"sip:+15550000001@ims.test\", \"tel:+155" \
      "50000001\"], \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}, \"kms_key\": \"0011223" \
      "3445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"},\n" \
      "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"], \"voice_encryption" \
      "\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": true}, \"sip_password\": \"xxxxxxxxxxxxxxxxxxxxxxxxxx" \
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n" \
      "]}\n", \
      "t.json:3:174: subscribers[1].sip_password: must be 8 to 64 printable ASCII characters") \
    /* end */
/* clang-format on */

#define DEFINE_ERROR_TEST(name, text, expected) \
    static void test_error_##name(void **state) \
    {                                           \
        (void)state;                            \
        check_error(text, expected);            \
    }
ERROR_CASES(DEFINE_ERROR_TEST)

static void test_error_empty_file(void **state)
{
    (void)state;
    check_error("", "t.json:1:1: (json): empty file");
    check_error(" \n\t\n", "t.json:1:1: (json): empty file");
}

static void test_error_syntax(void **state)
{
    (void)state;
    check_error("{\"subscribers\": [\n  {\"imsi\": }\n]}\n", "t.json:2:12: (json): unexpected token near '}'");
    check_error("{\"subscribers\": []} x", "t.json:1:21: (json): end of file expected near 'x'");
}

static void test_error_duplicate_key(void **state)
{
    (void)state;
    check_error("{\"subscribers\": [\n  {\"imsi\": \"001010000000001\", \"imsi\": \"001010000000002\"}\n]}\n",
                "t.json:2:36: (json): duplicate object key near '\"imsi\"'");
}

static void test_error_in_file_names_path(void **state)
{
    (void)state;
    char path[] = "/tmp/mihua_subs_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\"subscribers\": [], \"x\": 1}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    sub_error_t err;
    char expected[SUB_ERR_MAX];
    assert_null(sub_snapshot_load_file(path, &err));
    snprintf(expected, sizeof(expected), "%s:1:21: x: unknown key", path);
    assert_string_equal(err.msg, expected);
    unlink(path);

    assert_null(sub_snapshot_load_file(path, &err));
    snprintf(expected, sizeof(expected), "%s: cannot read: %s", path, strerror(ENOENT));
    assert_string_equal(err.msg, expected);
}

/* ---- a valid document for lookups ---- */

static const char LOOKUP_DOC[] =
    "{\"subscribers\": [\n"
    " {\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": "
    "[\"sip:+15550000001@ims.mnc001.mcc001.3gppnetwork.org\", \"tel:+15550000001\"],"
    " \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true},"
    " \"kms_key\": \"000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F\"},\n"
    " {\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": "
    "[\"sip:Bob.Smith@Example.COM\", \"tel:+1-555-000-0002\"],"
    " \"voice_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": false}},\n"
    " {\"imsi\": \"001010000000003\", \"msisdn\": \"15550000003\", \"impu\": [\"sips:carol@ims.test;transport=tls\"],"
    " \"voice_encryption\": true, \"access\": {\"rat\": \"NONE\", \"ims_vops\": false}},\n"
    " {\"imsi\": \"15550000001\", \"msisdn\": \"15550000004\", \"impu\": [\"sip:dave@ims.test\"],"
    " \"voice_encryption\": true, \"access\": {\"rat\": \"GERAN\", \"ims_vops\": false}}\n"
    "]}\n";

static int setup_lookup(void **state)
{
    sub_error_t err;
    *state = sub_snapshot_load_text("lookup.json", LOOKUP_DOC, strlen(LOOKUP_DOC), &err);
    if (*state == NULL)
        fprintf(stderr, "%s\n", err.msg);
    return *state != NULL ? 0 : -1;
}

static int teardown_lookup(void **state)
{
    sub_snapshot_release(*state);
    return 0;
}

static const char *imsi_of(const subscriber_t *sub)
{
    return sub != NULL ? sub->imsi : "(none)";
}

static void test_loaded_fields(void **state)
{
    const sub_snapshot_t *s = *state;
    assert_int_equal(sub_snapshot_count(s), 4);
    const subscriber_t *a = sub_snapshot_at(s, 0), *b = sub_snapshot_at(s, 1);
    assert_string_equal(a->imsi, "001010000000001");
    assert_string_equal(a->msisdn, "15550000001");
    assert_int_equal(a->n_impu, 2);
    assert_string_equal(a->impu[0], "sip:+15550000001@ims.mnc001.mcc001.3gppnetwork.org");
    assert_string_equal(a->impu[1], "tel:+15550000001");
    assert_true(a->voice_encryption);
    assert_int_equal(a->rat, SUB_RAT_NR);
    assert_true(a->ims_vops);
    assert_true(a->has_kms_key);
    for (int i = 0; i < SUB_KMS_KEY_LEN; i++)
        assert_int_equal(a->kms_key[i], i);
    assert_false(b->voice_encryption);
    assert_int_equal(b->rat, SUB_RAT_EUTRAN);
    assert_false(b->ims_vops);
    assert_false(b->has_kms_key);
    assert_string_equal(b->impu[1], "tel:+1-555-000-0002"); /* kept as written */
    assert_null(sub_snapshot_at(s, 4));
}

static void test_find_by_imsi_and_msisdn(void **state)
{
    const sub_snapshot_t *s = *state;
    assert_string_equal(imsi_of(sub_find_by_imsi(s, "001010000000002")), "001010000000002");
    assert_string_equal(imsi_of(sub_find_by_imsi(s, "15550000001")), "15550000001");
    assert_null(sub_find_by_imsi(s, "001010000000009"));
    assert_null(sub_find_by_imsi(s, NULL));
    assert_string_equal(imsi_of(sub_find_by_msisdn(s, "15550000003")), "001010000000003");
    assert_null(sub_find_by_msisdn(s, "+15550000003"));
    assert_null(sub_find_by_msisdn(NULL, "15550000003"));
}

static void expect_identity(const sub_snapshot_t *s, const char *identity, const char *imsi)
{
    const subscriber_t *sub = sub_find_by_identity(s, identity);
    if (imsi == NULL) {
        if (sub != NULL)
            fail_msg("%s: expected nobody, got %s", identity ? identity : "(null)", sub->imsi);
        return;
    }
    if (sub == NULL || strcmp(sub->imsi, imsi) != 0)
        fail_msg("%s: expected %s, got %s", identity ? identity : "(null)", imsi, imsi_of(sub));
}

static void test_find_by_listed_impu(void **state)
{
    const sub_snapshot_t *s = *state;
    expect_identity(s, "sip:+15550000001@ims.mnc001.mcc001.3gppnetwork.org", "001010000000001");
    expect_identity(s, "SIP:+1-555-000-0001@IMS.mnc001.MCC001.3gppnetwork.org;user=phone?Subject=x", "001010000000001");
    expect_identity(s, "tel:+15550000001", "001010000000001");
    expect_identity(s, "sip:Bob.Smith@example.com", "001010000000002");
    expect_identity(s, "sip:Bob.Smith@EXAMPLE.com;transport=udp", "001010000000002");
    expect_identity(s, "sip:bob.smith@example.com", NULL); /* user part is case-sensitive */
    expect_identity(s, "sips:carol@IMS.TEST", "001010000000003");
    expect_identity(s, "sip:carol@ims.test", NULL); /* sips and sip are different URIs */
    expect_identity(s, "sip:dave@ims.test:5060", NULL);
}

static void test_find_by_number_forms(void **state)
{
    const sub_snapshot_t *s = *state;
    /* tel: matches the listed (normalised) IMPU or the MSISDN */
    expect_identity(s, "tel:+15550000002", "001010000000002");
    expect_identity(s, "TEL:+1(555)000.0003;phone-context=ims.test", "001010000000003");
    expect_identity(s, "tel:+15550000004", "15550000001");
    expect_identity(s, "tel:+19999999999", NULL);
    /* sip:+N@any host, with or without user=phone, goes through the MSISDN */
    expect_identity(s, "sip:+15550000002@anywhere.example;user=phone", "001010000000002");
    expect_identity(s, "sip:+1-555-000-0003@10.0.0.1:5060", "001010000000003");
    expect_identity(s, "sips:+15550000001@other.example", "001010000000001");
    expect_identity(s, "sip:+15550000009@ims.test", NULL);
    /* telephone-subscriber parameters in the user part (RFC 3261 §19.1.1) end the number, as at the AS */
    expect_identity(s, "sip:+15550000002;npdi@ims.test;user=phone", "001010000000002");
    /* msisdn- and imsi- forms */
    expect_identity(s, "msisdn-15550000002", "001010000000002");
    expect_identity(s, "MSISDN-15550000002", "001010000000002");
    expect_identity(s, "msisdn-001010000000002", NULL);
    expect_identity(s, "imsi-001010000000003", "001010000000003");
    expect_identity(s, "imsi-15550000001", "15550000001");
    expect_identity(s, "imsi-15550000002", NULL);
    /* bare digits: MSISDN first, then IMSI */
    expect_identity(s, "15550000001", "001010000000001");
    expect_identity(s, "001010000000002", "001010000000002");
    expect_identity(s, "15550000009", NULL);
}

static void test_find_rejects_non_identities(void **state)
{
    const sub_snapshot_t *s = *state;
    expect_identity(s, NULL, NULL);
    expect_identity(s, "", NULL);
    expect_identity(s, "bob", NULL);
    expect_identity(s, "tel:+1 5550000001", NULL);
    expect_identity(s, "msisdn-", NULL);
    expect_identity(s, "imsi-0010x", NULL);
    expect_identity(s, "+15550000001", NULL);
    assert_null(sub_find_by_identity(NULL, "15550000001"));
}

static void expect_norm(const char *in, const char *out)
{
    char buf[SUB_URI_MAX + 1];
    if (out == NULL) {
        assert_int_equal(sub_identity_normalise(in, buf, sizeof(buf)), -1);
        return;
    }
    assert_int_equal(sub_identity_normalise(in, buf, sizeof(buf)), 0);
    assert_string_equal(buf, out);
}

static void test_normalise(void **state)
{
    (void)state;
    expect_norm("SIP:Alice@Example.COM;transport=tcp?Subject=hi", "sip:Alice@example.com");
    expect_norm("Sips:alice@[2001:DB8::1]:5061", "sips:alice@[2001:db8::1]:5061");
    expect_norm("sip:+1-555-(000).0001@ims.test;user=phone", "sip:+15550000001@ims.test");
    expect_norm("sip:+1-555-x@ims.test", "sip:+1-555-x@ims.test"); /* not a number: kept as written */
    expect_norm("sip:ims.test;lr", "sip:ims.test");
    expect_norm("tel:+1-555-000-0001;phone-context=ims.test", "tel:+15550000001");
    expect_norm("tel:*31#AB", "tel:*31#ab");
    expect_norm("Imsi-001010000000001", "imsi-001010000000001");
    expect_norm("msisdn-15550000001", "msisdn-15550000001");
    expect_norm("15550000001", "15550000001");
    expect_norm("sip:@ims.test", NULL);
    expect_norm("sip:alice@", NULL);
    expect_norm("sip:alice@;x", NULL);
    expect_norm("tel:", NULL);
    expect_norm("tel:---", NULL);
    expect_norm("tel:+", NULL);
    expect_norm("tel:+1x", NULL);
    expect_norm("mailto:a@b", NULL);
    expect_norm("sip:a\tb@ims.test", NULL);
    expect_norm("imsi-", NULL);

    char small[8];
    assert_int_equal(sub_identity_normalise("sip:alice@ims.test", small, sizeof(small)), -1);
    assert_int_equal(sub_identity_normalise("1234567", small, sizeof(small)), 0);
    assert_int_equal(sub_identity_normalise("12345678", small, sizeof(small)), -1);
    assert_int_equal(sub_identity_normalise("sip:a@b", NULL, 8), -1);
}

static void test_rat_names(void **state)
{
    (void)state;
    const char *names[] = {"NONE", "EUTRAN", "NR", "UTRAN", "GERAN"};
    for (int i = 0; i < 5; i++) {
        sub_rat_t rat;
        assert_string_equal(sub_rat_name((sub_rat_t)i), names[i]);
        assert_int_equal(sub_rat_parse(names[i], &rat), 0);
        assert_int_equal(rat, i);
    }
    sub_rat_t rat = SUB_RAT_NR;
    assert_int_equal(sub_rat_parse("nr", &rat), -1);
    assert_int_equal(sub_rat_parse("LTE", &rat), -1);
    assert_int_equal(sub_rat_parse(NULL, &rat), -1);
    assert_int_equal(rat, SUB_RAT_NR);
}

static void assert_same_subscriber(const subscriber_t *a, const subscriber_t *b)
{
    assert_string_equal(a->imsi, b->imsi);
    assert_string_equal(a->msisdn, b->msisdn);
    assert_int_equal(a->n_impu, b->n_impu);
    for (size_t i = 0; i < a->n_impu; i++)
        assert_string_equal(a->impu[i], b->impu[i]);
    assert_int_equal(a->voice_encryption, b->voice_encryption);
    assert_int_equal(a->rat, b->rat);
    assert_int_equal(a->ims_vops, b->ims_vops);
    assert_int_equal(a->has_kms_key, b->has_kms_key);
    assert_memory_equal(a->kms_key, b->kms_key, SUB_KMS_KEY_LEN);
}

static void test_dump_round_trip(void **state)
{
    const sub_snapshot_t *s = *state;
    json_t *doc = sub_snapshot_to_json(s);
    char *text = sub_json_dump(doc);
    json_decref(doc);
    assert_non_null(text);

    sub_error_t err;
    sub_snapshot_t *again = sub_snapshot_load_text("dump.json", text, strlen(text), &err);
    assert_non_null(again);
    assert_int_equal(sub_snapshot_count(again), sub_snapshot_count(s));
    for (size_t i = 0; i < sub_snapshot_count(s); i++)
        assert_same_subscriber(sub_snapshot_at(s, i), sub_snapshot_at(again, i));

    /* Canonical: dumping the reloaded data gives the same text byte for byte. */
    json_t *doc2 = sub_snapshot_to_json(again);
    char *text2 = sub_json_dump(doc2);
    json_decref(doc2);
    assert_string_equal(text, text2);
    assert_non_null(strstr(text, "\"kms_key\": \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\""));
    assert_null(strstr(text, "\"kms_key\": null"));
    free(text);
    free(text2);
    sub_snapshot_release(again);
}

static void test_dump_key_order(void **state)
{
    (void)state;
    json_t *doc = json_pack("{s:[{s:{s:b,s:s},s:s,s:b,s:[s],s:s,s:s}]}", "subscribers", "access", "ims_vops", 1, "rat",
                            "NR", "kms_key", "00", "voice_encryption", 0, "impu", "tel:+15550000001", "msisdn",
                            "15550000001", "imsi", "001010000000001");
    assert_non_null(doc);
    char *text = sub_json_dump(doc);
    json_decref(doc);
    assert_string_equal(text, "{\n"
                              "  \"subscribers\": [\n"
                              "    {\n"
                              "      \"imsi\": \"001010000000001\",\n"
                              "      \"msisdn\": \"15550000001\",\n"
                              "      \"impu\": [\n"
                              "        \"tel:+15550000001\"\n"
                              "      ],\n"
                              "      \"voice_encryption\": false,\n"
                              "      \"access\": {\n"
                              "        \"rat\": \"NR\",\n"
                              "        \"ims_vops\": true\n"
                              "      },\n"
                              "      \"kms_key\": \"00\"\n"
                              "    }\n"
                              "  ]\n"
                              "}\n");
    free(text);
}

static void test_from_json(void **state)
{
    (void)state;
    sub_error_t err;
    json_t *doc = json_pack("{s:[{s:s,s:s,s:[s],s:b,s:{s:s,s:b}}]}", "subscribers", "imsi", "001010000000007", "msisdn",
                            "15550000007", "impu", "sip:eve@ims.test", "voice_encryption", 1, "access", "rat", "UTRAN",
                            "ims_vops", 0);
    sub_snapshot_t *s = sub_snapshot_from_json("admin", doc, &err);
    assert_non_null(s);
    assert_int_equal(sub_find_by_identity(s, "sip:eve@ims.test")->rat, SUB_RAT_UTRAN);
    sub_snapshot_release(s);

    /* Errors point into the canonical rendering of the document. */
    json_object_set_new(json_array_get(json_object_get(doc, "subscribers"), 0), "imsi", json_string("1"));
    assert_null(sub_snapshot_from_json("admin", doc, &err));
    assert_string_equal(err.msg, "admin:4:15: subscribers[0].imsi: must be 5 to 15 digits");
    json_object_set_new(doc, "zzz", json_true());
    assert_null(sub_snapshot_from_json("admin", doc, &err));
    assert_string_equal(err.msg, "admin:16:3: zzz: unknown key");
    json_decref(doc);

    json_t *str = json_string("x");
    assert_null(sub_snapshot_from_json("admin", str, &err));
    assert_string_equal(err.msg, "admin:1:1: (root): must be an object");
    json_decref(str);
}

static void test_sample_file(void **state)
{
    (void)state;
    const char *src = getenv("MIHUA_SRC");
    char path[PATH_MAX_TEST];
    snprintf(path, sizeof(path), "%s/conf/subscribers.json", src != NULL ? src : ".");
    sub_error_t err;
    sub_error_clear(&err);
    sub_snapshot_t *s = sub_snapshot_load_file(path, &err);
    if (s == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(sub_snapshot_count(s), 6);
    const struct {
        bool enc;
        sub_rat_t rat;
    } want[] = {{true, SUB_RAT_NR},    {true, SUB_RAT_EUTRAN}, {false, SUB_RAT_NR},
                {true, SUB_RAT_UTRAN}, {true, SUB_RAT_GERAN},  {true, SUB_RAT_NONE}};
    for (size_t i = 0; i < 6; i++) {
        char imsi[32], tel[32], sip[96];
        snprintf(imsi, sizeof(imsi), "00101000000000%zu", i + 1);
        snprintf(tel, sizeof(tel), "tel:+1555000000%zu", i + 1);
        snprintf(sip, sizeof(sip), "sip:+1555000000%zu@ims.mnc001.mcc001.3gppnetwork.org", i + 1);
        const subscriber_t *sub = sub_find_by_imsi(s, imsi);
        assert_non_null(sub);
        assert_ptr_equal(sub_find_by_identity(s, tel), sub);
        assert_ptr_equal(sub_find_by_identity(s, sip), sub);
        assert_int_equal(sub->voice_encryption, want[i].enc);
        assert_int_equal(sub->rat, want[i].rat);
        assert_true(sub->has_kms_key);
        for (size_t j = 0; j < i; j++)
            assert_memory_not_equal(sub->kms_key, sub_snapshot_at(s, j)->kms_key, SUB_KMS_KEY_LEN);
    }
    sub_snapshot_release(s);
}

static void test_refcount(void **state)
{
    (void)state;
    sub_error_t err;
    sub_snapshot_t *s = sub_snapshot_load_text("r.json", LOOKUP_DOC, strlen(LOOKUP_DOC), &err);
    assert_non_null(s);
    sub_snapshot_t *held = sub_snapshot_ref(s);
    assert_ptr_equal(held, s);
    sub_snapshot_release(s);
    /* Still alive through the second reference (ASan would flag a use after free). */
    assert_string_equal(sub_find_by_identity(held, "msisdn-15550000004")->impu[0], "sip:dave@ims.test");
    sub_snapshot_release(held);
    sub_snapshot_release(NULL);
    assert_null(sub_snapshot_ref(NULL));
}

static void test_empty_list_is_valid(void **state)
{
    (void)state;
    sub_error_t err;
    sub_snapshot_t *s = sub_snapshot_load_text("e.json", "{\"subscribers\": []}", 19, &err);
    assert_non_null(s);
    assert_int_equal(sub_snapshot_count(s), 0);
    assert_null(sub_find_by_identity(s, "15550000001"));
    sub_snapshot_release(s);
}

#define LIST_ERROR_TEST(name, text, expected) cmocka_unit_test(test_error_##name),

int main(void)
{
    const struct CMUnitTest tests[] = {
        ERROR_CASES(LIST_ERROR_TEST) cmocka_unit_test(test_error_empty_file),
        cmocka_unit_test(test_error_syntax),
        cmocka_unit_test(test_error_duplicate_key),
        cmocka_unit_test(test_error_in_file_names_path),
        cmocka_unit_test_setup_teardown(test_loaded_fields, setup_lookup, teardown_lookup),
        cmocka_unit_test_setup_teardown(test_find_by_imsi_and_msisdn, setup_lookup, teardown_lookup),
        cmocka_unit_test_setup_teardown(test_find_by_listed_impu, setup_lookup, teardown_lookup),
        cmocka_unit_test_setup_teardown(test_find_by_number_forms, setup_lookup, teardown_lookup),
        cmocka_unit_test_setup_teardown(test_find_rejects_non_identities, setup_lookup, teardown_lookup),
        cmocka_unit_test_setup_teardown(test_dump_round_trip, setup_lookup, teardown_lookup),
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_rat_names),
        cmocka_unit_test(test_dump_key_order),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_sample_file),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_empty_list_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
