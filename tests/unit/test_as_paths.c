/*
 * test_as_paths — the pure parts of the AS's two lookup paths (DESIGN §3): what a UDA means (as_sh_interpret)
 * and what a UDM response means (as_udm_read_subscribed / as_udm_read_attached), plus the id table the checks
 * use across asynchronous hops (as_idmap, against a plain array under random operations).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "as_checks_int.h"
#include "as_sh_path.h"
#include "as_udm_path.h"

/* ---------------------------------------------------------------- Sh */

#define SI_VOENC "mihua-voice-encryption"
#define DIAMETER_SUCCESS 2001u
#define DIAMETER_UNABLE_TO_COMPLY 5012u
#define DIAMETER_AVP_UNSUPPORTED 5001u /* base protocol: not "user unknown" */

static sh_uda_t uda_success(bool repo, bool tads, sh_vops_t vops, uint32_t rat)
{
    sh_uda_t a = {.has_result_code = true, .result_code = DIAMETER_SUCCESS};
    a.user_data = (char *)"<Sh-Data/>"; /* only its presence matters to as_sh_interpret */
    a.has_data = true;
    if (repo) {
        a.data.repo[0].service_indication = (char *)SI_VOENC;
        a.data.n_repo = 1;
    }
    if (tads) {
        a.data.has_tads = true;
        a.data.ims_vops = vops;
        a.data.has_rat = true;
        a.data.rat_type = rat;
    }
    return a;
}

static void expect_sh(const sh_uda_t *a, bool want_repo, bool want_tads, as_answer_t sub, as_answer_t att,
                      const char *rat)
{
    as_sh_result_t r;
    as_sh_interpret(a, want_repo, want_tads, &r);
    assert_string_equal(as_answer_name(r.subscribed), as_answer_name(sub));
    assert_string_equal(as_answer_name(r.attached), as_answer_name(att));
    assert_string_equal(r.rat, rat);
}

static void test_sh_success(void **state)
{
    (void)state;
    sh_uda_t a = uda_success(true, true, SH_VOPS_SUPPORTED, SH_RAT_NR);
    expect_sh(&a, true, true, AS_ANS_YES, AS_ANS_YES, "NR");
    expect_sh(&a, true, false, AS_ANS_YES, AS_ANS_NOT_ASKED, "");
    expect_sh(&a, false, true, AS_ANS_NOT_ASKED, AS_ANS_YES, "NR");
    a = uda_success(true, true, SH_VOPS_SUPPORTED, SH_RAT_EUTRAN);
    expect_sh(&a, true, true, AS_ANS_YES, AS_ANS_YES, "EUTRAN");
    a = uda_success(true, true, SH_VOPS_NOT_SUPPORTED, SH_RAT_UTRAN);
    expect_sh(&a, true, true, AS_ANS_YES, AS_ANS_NO, "UTRAN");
    a = uda_success(true, true, SH_VOPS_UNKNOWN, SH_RAT_NR);
    expect_sh(&a, true, true, AS_ANS_YES, AS_ANS_NO, "NR");
    a = uda_success(true, true, SH_VOPS_SUPPORTED, SH_RAT_GERAN);
    expect_sh(&a, true, true, AS_ANS_YES, AS_ANS_NO, "GERAN");
    a = uda_success(false, true, SH_VOPS_NOT_SUPPORTED, SH_RAT_NR);
    expect_sh(&a, true, true, AS_ANS_NO, AS_ANS_NO, "NR");
    a = uda_success(false, false, SH_VOPS_SUPPORTED, 0);
    expect_sh(&a, true, true, AS_ANS_NO, AS_ANS_NO, "");
    /* RepositoryData for another service is not ours */
    a = uda_success(true, false, SH_VOPS_SUPPORTED, 0);
    a.data.repo[0].service_indication = (char *)"other-service";
    expect_sh(&a, true, false, AS_ANS_NO, AS_ANS_NOT_ASKED, "");
    /* T-ADS without a RAT-Type is not 4G/5G */
    a = uda_success(true, true, SH_VOPS_SUPPORTED, SH_RAT_NR);
    a.data.has_rat = false;
    expect_sh(&a, true, true, AS_ANS_YES, AS_ANS_NO, "");
    /* success without User-Data: nothing stored, so no */
    sh_uda_t none = {.has_result_code = true, .result_code = DIAMETER_SUCCESS};
    expect_sh(&none, true, true, AS_ANS_NO, AS_ANS_NO, "");
}

static void test_sh_errors(void **state)
{
    (void)state;
    sh_uda_t unknown = {.has_result_code = false,
                        .has_experimental = true,
                        .exp_vendor = SH_VENDOR_3GPP,
                        .exp_code = SH_ERR_USER_UNKNOWN};
    expect_sh(&unknown, true, true, AS_ANS_UNKNOWN, AS_ANS_UNKNOWN, "");
    expect_sh(&unknown, true, false, AS_ANS_UNKNOWN, AS_ANS_NOT_ASKED, "");
    sh_uda_t dref = unknown;
    dref.exp_code = SH_ERR_DATA_REF_NOT_SUPPORTED;
    expect_sh(&dref, true, true, AS_ANS_ERROR, AS_ANS_ERROR, "");
    /* plain Result-Code 5001 is DIAMETER_AVP_UNSUPPORTED, an error, not "user unknown" */
    sh_uda_t avp = {.has_result_code = true, .result_code = DIAMETER_AVP_UNSUPPORTED};
    expect_sh(&avp, true, true, AS_ANS_ERROR, AS_ANS_ERROR, "");
    sh_uda_t comply = {.has_result_code = true, .result_code = DIAMETER_UNABLE_TO_COMPLY};
    expect_sh(&comply, false, true, AS_ANS_NOT_ASKED, AS_ANS_ERROR, "");
    /* success whose Sh-Data does not parse */
    sh_uda_t bad = {.has_result_code = true, .result_code = DIAMETER_SUCCESS, .user_data = (char *)"<x"};
    expect_sh(&bad, true, true, AS_ANS_ERROR, AS_ANS_ERROR, "");
    /* no result code at all */
    sh_uda_t empty = {0};
    expect_sh(&empty, true, true, AS_ANS_ERROR, AS_ANS_ERROR, "");
}

/* ---------------------------------------------------------------- UDM */

#define OSD_TRUE "{\"voiceEncryption\":{\"dataType\":\"boolean\",\"value\":true}}"
#define OSD_FALSE "{\"voiceEncryption\":{\"dataType\":\"boolean\",\"value\":false}}"
#define PROBLEM(cause) "{\"status\":404,\"title\":\"Not Found\",\"cause\":\"" cause "\"}"
#define AMF(rat, vops)                                                                                   \
    "{\"amfInstanceId\":\"x\",\"deregCallbackUri\":\"http://x\",\"guami\":{\"plmnId\":{\"mcc\":\"001\"," \
    "\"mnc\":\"01\"},\"amfId\":\"000001\"},\"ratType\":\"" rat "\",\"imsVoPs\":\"" vops "\"}"

static as_answer_t sub(int status, const char *body)
{
    return as_udm_read_subscribed(status, body, body ? strlen(body) : 0);
}

static as_answer_t att(int status, const char *body, char *rat)
{
    return as_udm_read_attached(status, body, body ? strlen(body) : 0, rat, AS_RAT_NAME_MAX);
}

static void test_udm_subscribed(void **state)
{
    (void)state;
    assert_int_equal(sub(200, OSD_TRUE), AS_ANS_YES);
    assert_int_equal(sub(200, OSD_FALSE), AS_ANS_NO);
    assert_int_equal(sub(200, "{}"), AS_ANS_NO);
    assert_int_equal(sub(200, "{\"voiceEncryption\":{\"value\":\"true\"}}"), AS_ANS_NO); /* a string is not true */
    assert_int_equal(sub(200, "{\"voiceEncryption\":true}"), AS_ANS_NO);
    assert_int_equal(sub(200, "[true]"), AS_ANS_ERROR);
    assert_int_equal(sub(200, "{\"voiceEncryption\":"), AS_ANS_ERROR);
    assert_int_equal(sub(200, ""), AS_ANS_ERROR);
    assert_int_equal(sub(200, NULL), AS_ANS_ERROR);
    assert_int_equal(sub(404, PROBLEM("USER_NOT_FOUND")), AS_ANS_UNKNOWN);
    assert_int_equal(sub(404, PROBLEM("DATA_NOT_FOUND")), AS_ANS_NO);
    assert_int_equal(sub(404, PROBLEM("SOMETHING_ELSE")), AS_ANS_ERROR);
    assert_int_equal(sub(404, "not json"), AS_ANS_ERROR);
    assert_int_equal(sub(500, PROBLEM("USER_NOT_FOUND")), AS_ANS_ERROR);
    assert_int_equal(sub(400, NULL), AS_ANS_ERROR);
    assert_int_equal(sub(204, NULL), AS_ANS_ERROR);
}

static void test_udm_attached(void **state)
{
    (void)state;
    char rat[AS_RAT_NAME_MAX];
    assert_int_equal(att(200, AMF("NR", "HOMOGENEOUS_SUPPORT"), rat), AS_ANS_YES);
    assert_string_equal(rat, "NR");
    assert_int_equal(att(200, AMF("EUTRA", "HOMOGENEOUS_SUPPORT"), rat), AS_ANS_YES);
    assert_string_equal(rat, "EUTRA");
    assert_int_equal(att(200, AMF("NR", "HOMOGENEOUS_NON_SUPPORT"), rat), AS_ANS_NO);
    assert_int_equal(att(200, AMF("NR", "NON_HOMOGENEOUS_OR_UNKNOWN"), rat), AS_ANS_NO);
    assert_int_equal(att(200, AMF("WLAN", "HOMOGENEOUS_SUPPORT"), rat), AS_ANS_NO);
    assert_string_equal(rat, "WLAN");
    assert_int_equal(att(200, AMF("A_VERY_LONG_RAT_TYPE_NAME", "HOMOGENEOUS_SUPPORT"), rat), AS_ANS_NO);
    assert_int_equal(strlen(rat), AS_RAT_NAME_MAX - 1);
    assert_int_equal(att(200, AMF("N\\nR", "HOMOGENEOUS_SUPPORT"), rat), AS_ANS_NO);
    assert_string_equal(rat, "N?R"); /* control characters never reach the log */
    assert_int_equal(att(200, "{\"ratType\":\"NR\"}", rat), AS_ANS_NO);
    assert_int_equal(att(200, "{}", rat), AS_ANS_NO);
    assert_string_equal(rat, "");
    assert_int_equal(att(200, "{", rat), AS_ANS_ERROR);
    assert_int_equal(att(404, PROBLEM("CONTEXT_NOT_FOUND"), rat), AS_ANS_NO);
    assert_string_equal(rat, "");
    assert_int_equal(att(404, PROBLEM("USER_NOT_FOUND"), rat), AS_ANS_UNKNOWN);
    assert_int_equal(att(404, "{\"status\":404}", rat), AS_ANS_ERROR);
    assert_int_equal(att(503, NULL, rat), AS_ANS_ERROR);
    assert_int_equal(
        as_udm_read_attached(200, AMF("NR", "HOMOGENEOUS_SUPPORT"), strlen(AMF("NR", "HOMOGENEOUS_SUPPORT")), NULL, 0),
        AS_ANS_YES);
}

/* ---------------------------------------------------------------- id table */

#define IDMAP_KEYS 3000
#define IDMAP_OPS 200000

static void test_idmap_against_array(void **state)
{
    (void)state;
    static int present[IDMAP_KEYS + 1];
    static int values[IDMAP_KEYS + 1];
    as_idmap_t m = {0};
    size_t n = 0;
    srand(12345);
    memset(present, 0, sizeof present);
    for (int op = 0; op < IDMAP_OPS; op++) {
        /* Keys spread over both small sequential ids and large ones that share low bits. */
        uint64_t k = (uint64_t)(rand() % IDMAP_KEYS) + 1;
        uint64_t key = (k & 1) ? k : k << 40;
        void *want = present[k] ? &values[k] : NULL;
        assert_ptr_equal(as_idmap_get(&m, key), want);
        if (rand() % 3 == 0) {
            assert_ptr_equal(as_idmap_take(&m, key), want);
            if (present[k])
                n--;
            present[k] = 0;
        } else if (!present[k]) {
            assert_int_equal(as_idmap_put(&m, key, &values[k]), 0);
            present[k] = 1;
            n++;
        }
        assert_int_equal(m.n, n);
    }
    for (uint64_t k = 1; k <= IDMAP_KEYS; k++) {
        uint64_t key = (k & 1) ? k : k << 40;
        assert_ptr_equal(as_idmap_get(&m, key), present[k] ? &values[k] : NULL);
    }
    uint64_t key;
    while (as_idmap_any(&m, &key) != NULL)
        assert_non_null(as_idmap_take(&m, key));
    assert_int_equal(m.n, 0);
    assert_int_equal(as_idmap_put(&m, 0, &values[0]), -1);
    assert_null(as_idmap_get(&m, 0));
    as_idmap_clear(&m);
    assert_null(as_idmap_get(&m, 1));
    assert_null(as_idmap_take(&m, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sh_success),          cmocka_unit_test(test_sh_errors),
        cmocka_unit_test(test_udm_subscribed),      cmocka_unit_test(test_udm_attached),
        cmocka_unit_test(test_idmap_against_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
