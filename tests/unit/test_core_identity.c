/*
 * Unit tests for lib/core/core_identity: the number an identity carries, with the cases of both its users — the
 * AS's msisdn-<digits> ueId (raw identities from SIP headers) and the subscriber store's lookups through the MSISDN
 * (normalised IMPUs): tel:/sip:/sips: forms, visual separators, '+', user=phone and telephone-subscriber
 * parameters, the E.164 bound, bad input and the output bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/core_identity.h"

static void expect_number(const char *id, const char *want)
{
    char out[CORE_IDENTITY_MAX_DIGITS + 1];
    int rc = core_identity_number(id, out, sizeof out);
    if (want == NULL) {
        if (rc != -1)
            fail_msg("'%s' gave '%s', want refusal", id ? id : "(null)", out);
        return;
    }
    if (rc != 0)
        fail_msg("'%s' refused, want '%s'", id, want);
    assert_string_equal(out, want);
}

static void test_raw_identities(void **state)
{
    (void)state;
    expect_number("tel:+15550000001", "15550000001");
    expect_number("TEL:+15550000001", "15550000001");
    expect_number("tel:+1-555-000-0001", "15550000001");
    expect_number("tel:+1(555)000.0001;phone-context=example.com", "15550000001");
    expect_number("sip:+15550000002@ims.mnc001.mcc001.3gppnetwork.org", "15550000002");
    expect_number("sip:+15550000002@ims.mnc001.mcc001.3gppnetwork.org;user=phone", "15550000002");
    expect_number("sip:+1-555-(000).0002@ims.test;user=phone", "15550000002");
    expect_number("SIPS:+15550000002@ims.test", "15550000002");
    expect_number("sip:+15550000002;npdi@ims.test;user=phone", "15550000002");
    expect_number("tel:+123456789012345", "123456789012345"); /* 15 digits: the E.164 maximum */
}

/* The forms sub_identity_normalise produces, as the subscriber store passes them. */
static void test_normalised_identities(void **state)
{
    (void)state;
    expect_number("tel:+15550000001", "15550000001");
    expect_number("sip:+15550000001@ims.test", "15550000001");
    expect_number("sips:+15550000001@ims.test", "15550000001");
    expect_number("sip:alice@ims.test", NULL);
    expect_number("sip:+1-555-x@ims.test", NULL); /* a user part that is not a number, kept as written */
    expect_number("tel:*31#ab", NULL);
    expect_number("tel:15550000001", NULL);
    expect_number("msisdn-15550000001", NULL); /* plain forms are resolved by their owner, not here */
    expect_number("15550000001", NULL);
    expect_number("sip:ims.test", NULL);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_number("tel:+1234567890123456", NULL); /* 16 digits */
    expect_number("tel:15550000001", NULL);       /* local number: no global number without phone-context */
    expect_number("tel:+", NULL);
    expect_number("tel:+;x=y", NULL);
    expect_number("tel:+---", NULL);
    expect_number("tel:+1555a", NULL);
    expect_number("tel:+1555?x", NULL);
    expect_number("sip:alice@ims.test", NULL);
    expect_number("sip:+15550000001", NULL); /* no host */
    expect_number("sip:+15550000001@", NULL);
    expect_number("sip:+1555 0001@ims.test", NULL);
    expect_number("sip:@ims.test", NULL);
    expect_number("sip:+@ims.test", NULL);
    expect_number("mailto:+15550000001@example.com", NULL);
    expect_number("+15550000001", NULL);
    expect_number("", NULL);
    expect_number(NULL, NULL);
}

static void test_output_bound(void **state)
{
    (void)state;
    char small[4];
    assert_int_equal(core_identity_number("tel:+1555", small, sizeof small), -1);
    assert_int_equal(core_identity_number("tel:+155", small, sizeof small), 0);
    assert_string_equal(small, "155");
    assert_int_equal(core_identity_number("tel:+1", small, 0), -1);
    assert_int_equal(core_identity_number("tel:+1", NULL, 4), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_identities),
        cmocka_unit_test(test_normalised_identities),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_output_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
