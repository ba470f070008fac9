/*
 * test_sh_msg — UDR/UDA building and reading (lib/diameter/sh_msg.c) against the Sh dictionary (sh_dict.c), on a
 * real freeDiameter core started by diam_node with Port = 0 (no listening socket, no peers).
 *
 * Every message goes through the wire format and back (fd_msg_bufferize → fd_msg_parse_buffer → fd_msg_parse_dict
 * → fd_msg_parse_rules), which is what a peer would do with it. The rule checks also pin what freeDiameter itself
 * answers to a UDR that breaks the ABNF: fd_msg_parse_or_error() is the function its dispatch thread runs on every
 * incoming request before any application callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "core/log.h"
#include "diameter/diam_node.h"
#include "diameter/sh_msg.h"

#define TEST_IDENTITY "as.ims.test"
#define TEST_REALM "ims.test"
#define IMPU "sip:+15550000001@ims.mnc001.mcc001.3gppnetwork.org"

typedef struct {
    diam_node_t *node;
    sh_dict_t dict;
} fixture_t;

static int group_setup(void **state)
{
    static fixture_t fx;
    log_set_level(LOG_LVL_ERROR); /* freeDiameter logs every rule violation (the 5005 tests) at WARN */
    diam_node_conf_t conf = {
        .identity = TEST_IDENTITY,
        .realm = TEST_REALM,
        .port = 0,
        .tc_timer = 1,
        .tw_timer = 6,
    };
    char err[256] = "";
    fx.node = diam_node_start(&conf, &fx.dict, err, sizeof err);
    if (!fx.node) {
        fprintf(stderr, "diam_node_start: %s\n", err);
        return -1;
    }
    *state = &fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *fx = *state;
    diam_node_stop(fx->node);
    return 0;
}

static struct dictionary *fd_dict(void)
{
    return fd_g_config->cnf_dict;
}

/* Sends `m` through the wire format: returns the re-parsed message (dictionary resolved), frees `m`. */
static struct msg *wire(struct msg *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(fd_msg_bufferize(m, &buf, &len), 0);
    fd_msg_free(m);
    struct msg *out = NULL;
    assert_int_equal(fd_msg_parse_buffer(&buf, len, &out), 0);
    struct fd_pei pei;
    memset(&pei, 0, sizeof pei);
    assert_int_equal(fd_msg_parse_dict(out, fd_dict(), &pei), 0);
    return out;
}

static void assert_rules_pass(struct msg *m)
{
    struct fd_pei pei;
    memset(&pei, 0, sizeof pei);
    int rc = fd_msg_parse_rules(m, fd_dict(), &pei);
    if (rc != 0)
        fail_msg("rules: %d %s %s", rc, pei.pei_errcode ? pei.pei_errcode : "", pei.pei_message ? pei.pei_message : "");
}

static struct msg *build_udr(const sh_dict_t *d, const char *impu, const char *msisdn, const uint32_t *refs, size_t n)
{
    sh_udr_params_t p = {
        .public_identity = impu,
        .msisdn = msisdn,
        .data_refs = refs,
        .n_data_refs = n,
        .service_indication = SH_SERVICE_INDICATION_VOENC,
        .dest_realm = TEST_REALM,
        .dest_host = "hss.ims.test",
    };
    struct msg *m = NULL;
    assert_int_equal(sh_udr_build(d, &p, &m), 0);
    assert_non_null(m);
    return m;
}

/* ---------------------------------------------------------------- dictionary */

static void test_dict_idempotent_and_complete(void **state)
{
    fixture_t *fx = *state;
    sh_dict_t again;
    assert_int_equal(sh_dict_init(&again), 0);
    assert_memory_equal(&again, &fx->dict, sizeof again);

    struct {
        struct dict_object *o;
        uint32_t code;
        enum dict_avp_basetype type;
    } sh[] = {
        {fx->dict.user_identity, SH_AVP_USER_IDENTITY, AVP_TYPE_GROUPED},
        {fx->dict.public_identity, SH_AVP_PUBLIC_IDENTITY, AVP_TYPE_OCTETSTRING},
        {fx->dict.msisdn, SH_AVP_MSISDN, AVP_TYPE_OCTETSTRING},
        {fx->dict.user_data, SH_AVP_USER_DATA, AVP_TYPE_OCTETSTRING},
        {fx->dict.data_reference, SH_AVP_DATA_REFERENCE, AVP_TYPE_INTEGER32},
        {fx->dict.service_indication, SH_AVP_SERVICE_INDICATION, AVP_TYPE_OCTETSTRING},
        {fx->dict.supported_features, SH_AVP_SUPPORTED_FEATURES, AVP_TYPE_GROUPED},
    };
    for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
        struct dict_avp_data ad;
        assert_int_equal(fd_dict_getval(sh[i].o, &ad), 0);
        assert_int_equal(ad.avp_code, sh[i].code);
        assert_int_equal(ad.avp_vendor, SH_VENDOR_3GPP);
        assert_int_equal(ad.avp_basetype, sh[i].type);
    }
    struct dict_application_data app;
    assert_int_equal(fd_dict_getval(fx->dict.app, &app), 0);
    assert_int_equal(app.application_id, SH_APP_ID);
    struct dict_cmd_data cmd;
    assert_int_equal(fd_dict_getval(fx->dict.cmd_udr, &cmd), 0);
    assert_int_equal(cmd.cmd_code, SH_CMD_UDR);
    assert_true(cmd.cmd_flag_val & CMD_FLAG_REQUEST);
    assert_int_equal(fd_dict_getval(fx->dict.cmd_uda, &cmd), 0);
    assert_false(cmd.cmd_flag_val & CMD_FLAG_REQUEST);
}

static void test_data_ref_names(void **state)
{
    (void)state;
    uint32_t v = 99;
    assert_int_equal(sh_data_ref_parse("tads", &v), 0);
    assert_int_equal(v, SH_DREF_TADS_INFORMATION);
    assert_int_equal(sh_data_ref_parse("RepositoryData", &v), 0);
    assert_int_equal(v, SH_DREF_REPOSITORY_DATA);
    assert_int_equal(sh_data_ref_parse("ims-public-identity", &v), 0);
    assert_int_equal(v, SH_DREF_IMS_PUBLIC_IDENTITY);
    assert_int_equal(sh_data_ref_parse("MSISDN", &v), 0);
    assert_int_equal(v, SH_DREF_MSISDN);
    assert_int_equal(sh_data_ref_parse("14", &v), 0);
    assert_int_equal(v, 14);
    assert_int_equal(sh_data_ref_parse("bogus", &v), -1);
    assert_int_equal(sh_data_ref_parse("-1", &v), -1);
    assert_int_equal(sh_data_ref_parse("", &v), -1);
    assert_int_equal(sh_data_ref_parse("2147483648", &v), -1);
    assert_string_equal(sh_data_ref_name(SH_DREF_TADS_INFORMATION), "TADSinformation");
    assert_string_equal(sh_data_ref_name(SH_DREF_REPOSITORY_DATA), "RepositoryData");
    assert_null(sh_data_ref_name(99));
}

/* ---------------------------------------------------------------- UDR */

static void test_udr_round_trip(void **state)
{
    fixture_t *fx = *state;
    const uint32_t refs[] = {SH_DREF_REPOSITORY_DATA, SH_DREF_TADS_INFORMATION};
    struct msg *m = wire(build_udr(&fx->dict, IMPU, NULL, refs, 2));
    assert_rules_pass(m);

    struct msg_hdr *h = NULL;
    assert_int_equal(fd_msg_hdr(m, &h), 0);
    assert_int_equal(h->msg_code, SH_CMD_UDR);
    assert_int_equal(h->msg_appl, SH_APP_ID);
    assert_int_equal(h->msg_flags & (CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE), CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE);

    sh_udr_t r;
    assert_int_equal(sh_udr_read(&fx->dict, m, &r), 0);
    assert_string_equal(r.public_identity, IMPU);
    assert_null(r.msisdn);
    assert_int_equal(r.n_data_refs, 2);
    assert_int_equal(r.data_refs[0], SH_DREF_REPOSITORY_DATA);
    assert_int_equal(r.data_refs[1], SH_DREF_TADS_INFORMATION);
    assert_false(r.too_many_data_refs);
    assert_int_equal(r.n_service_ind, 1);
    assert_string_equal(r.service_ind[0], SH_SERVICE_INDICATION_VOENC);
    sh_udr_clear(&r);

    /* Session-Id first, and the Origin-Host is ours. */
    struct avp *first = NULL;
    struct avp_hdr *ah = NULL;
    assert_int_equal(fd_msg_browse(m, MSG_BRW_FIRST_CHILD, &first, NULL), 0);
    assert_int_equal(fd_msg_avp_hdr(first, &ah), 0);
    assert_int_equal(ah->avp_code, 263);
    struct avp *oh = NULL;
    assert_int_equal(fd_msg_search_avp(m, fx->dict.origin_host, &oh), 0);
    assert_int_equal(fd_msg_avp_hdr(oh, &ah), 0);
    assert_int_equal(ah->avp_value->os.len, strlen(TEST_IDENTITY));
    assert_memory_equal(ah->avp_value->os.data, TEST_IDENTITY, strlen(TEST_IDENTITY));
    fd_msg_free(m);
}

static void test_udr_tads_only_has_no_service_indication(void **state)
{
    fixture_t *fx = *state;
    const uint32_t refs[] = {SH_DREF_TADS_INFORMATION};
    struct msg *m = wire(build_udr(&fx->dict, IMPU, NULL, refs, 1));
    assert_rules_pass(m);
    sh_udr_t r;
    assert_int_equal(sh_udr_read(&fx->dict, m, &r), 0);
    assert_int_equal(r.n_service_ind, 0);
    sh_udr_clear(&r);
    fd_msg_free(m);
}

static void test_udr_msisdn_is_tbcd_on_the_wire(void **state)
{
    fixture_t *fx = *state;
    const uint32_t refs[] = {SH_DREF_REPOSITORY_DATA};
    struct msg *m = wire(build_udr(&fx->dict, NULL, "+15550000001", refs, 1));
    assert_rules_pass(m);

    struct avp *ui = NULL, *child = NULL;
    struct avp_hdr *ah = NULL;
    assert_int_equal(fd_msg_search_avp(m, fx->dict.user_identity, &ui), 0);
    assert_int_equal(fd_msg_browse(ui, MSG_BRW_FIRST_CHILD, &child, NULL), 0);
    assert_int_equal(fd_msg_avp_hdr(child, &ah), 0);
    assert_int_equal(ah->avp_code, SH_AVP_MSISDN);
    const uint8_t expect[] = {0x51, 0x55, 0x00, 0x00, 0x00, 0xF1};
    assert_int_equal(ah->avp_value->os.len, sizeof expect);
    assert_memory_equal(ah->avp_value->os.data, expect, sizeof expect);

    sh_udr_t r;
    assert_int_equal(sh_udr_read(&fx->dict, m, &r), 0);
    assert_null(r.public_identity);
    assert_string_equal(r.msisdn, "15550000001");
    sh_udr_clear(&r);
    fd_msg_free(m);
}

static void test_tbcd(void **state)
{
    (void)state;
    uint8_t b[8];
    size_t len = 0;
    char s[20];
    assert_int_equal(sh_msisdn_to_tbcd("1234", b, sizeof b, &len), 0);
    assert_int_equal(len, 2);
    assert_int_equal(b[0], 0x21);
    assert_int_equal(b[1], 0x43);
    assert_int_equal(sh_tbcd_to_msisdn(b, len, s, sizeof s), 0);
    assert_string_equal(s, "1234");
    assert_int_equal(sh_msisdn_to_tbcd("123456789012345", b, sizeof b, &len), 0);
    assert_int_equal(len, 8);
    assert_int_equal(b[7], 0xF5);
    assert_int_equal(sh_tbcd_to_msisdn(b, len, s, sizeof s), 0);
    assert_string_equal(s, "123456789012345");

    assert_int_equal(sh_msisdn_to_tbcd("1234567890123456", b, sizeof b, &len), -1); /* 16 digits */
    assert_int_equal(sh_msisdn_to_tbcd("12a4", b, sizeof b, &len), -1);
    assert_int_equal(sh_msisdn_to_tbcd("", b, sizeof b, &len), -1);
    assert_int_equal(sh_msisdn_to_tbcd("+", b, sizeof b, &len), -1);
    assert_int_equal(sh_msisdn_to_tbcd("1234", b, 1, &len), -1);

    const uint8_t bad_nibble[] = {0x21, 0x4A};
    assert_int_equal(sh_tbcd_to_msisdn(bad_nibble, 2, s, sizeof s), -1);
    const uint8_t filler_inside[] = {0xF1, 0x43};
    assert_int_equal(sh_tbcd_to_msisdn(filler_inside, 2, s, sizeof s), -1);
    const uint8_t filler_low[] = {0x21, 0x3F};
    assert_int_equal(sh_tbcd_to_msisdn(filler_low, 2, s, sizeof s), -1);
    const uint8_t too_long[9] = {0};
    assert_int_equal(sh_tbcd_to_msisdn(too_long, sizeof too_long, s, sizeof s), -1);
    assert_int_equal(sh_tbcd_to_msisdn(b, 0, s, sizeof s), -1);
    assert_int_equal(sh_tbcd_to_msisdn(b, 2, s, 4), -1); /* no room for 4 digits + NUL */
}

static void test_udr_build_rejects_bad_params(void **state)
{
    fixture_t *fx = *state;
    const uint32_t refs[SH_MAX_DATA_REFS + 1] = {0};
    sh_udr_params_t p = {.public_identity = IMPU, .data_refs = refs, .n_data_refs = 1, .dest_realm = TEST_REALM};
    struct msg *m = NULL;
    sh_udr_params_t q = p;
    q.public_identity = NULL;
    assert_int_equal(sh_udr_build(&fx->dict, &q, &m), EINVAL);
    q = p;
    q.n_data_refs = 0;
    assert_int_equal(sh_udr_build(&fx->dict, &q, &m), EINVAL);
    q = p;
    q.n_data_refs = SH_MAX_DATA_REFS + 1;
    assert_int_equal(sh_udr_build(&fx->dict, &q, &m), EINVAL);
    q = p;
    q.dest_realm = NULL;
    assert_int_equal(sh_udr_build(&fx->dict, &q, &m), EINVAL);
    q = p;
    q.public_identity = NULL;
    q.msisdn = "12x";
    assert_int_equal(sh_udr_build(&fx->dict, &q, &m), EINVAL);
    assert_null(m);
}

static void test_udr_read_rejects_nul_in_public_identity(void **state)
{
    fixture_t *fx = *state;
    const uint32_t refs[] = {SH_DREF_REPOSITORY_DATA};
    struct msg *m = build_udr(&fx->dict, IMPU, NULL, refs, 1);
    struct avp *ui = NULL, *pi = NULL;
    assert_int_equal(fd_msg_search_avp(m, fx->dict.user_identity, &ui), 0);
    assert_int_equal(fd_msg_browse(ui, MSG_BRW_FIRST_CHILD, &pi, NULL), 0);
    union avp_value v = {.os = {.data = (uint8_t *)"sip:a\0b", .len = 7}};
    assert_int_equal(fd_msg_avp_setvalue(pi, &v), 0);
    sh_udr_t r;
    assert_int_equal(sh_udr_read(&fx->dict, m, &r), -1);
    assert_null(r.public_identity);
    fd_msg_free(m);
}

static void test_udr_read_counts_too_many_data_refs(void **state)
{
    fixture_t *fx = *state;
    uint32_t refs[SH_MAX_DATA_REFS];
    for (size_t i = 0; i < SH_MAX_DATA_REFS; i++)
        refs[i] = (uint32_t)i;
    struct msg *m = build_udr(&fx->dict, IMPU, NULL, refs, SH_MAX_DATA_REFS);
    struct avp *extra = NULL;
    union avp_value v = {.i32 = SH_DREF_TADS_INFORMATION};
    assert_int_equal(fd_msg_avp_new(fx->dict.data_reference, 0, &extra), 0);
    assert_int_equal(fd_msg_avp_setvalue(extra, &v), 0);
    assert_int_equal(fd_msg_avp_add(m, MSG_BRW_LAST_CHILD, extra), 0);
    m = wire(m);
    assert_rules_pass(m);
    sh_udr_t r;
    assert_int_equal(sh_udr_read(&fx->dict, m, &r), 0);
    assert_int_equal(r.n_data_refs, SH_MAX_DATA_REFS);
    assert_true(r.too_many_data_refs);
    sh_udr_clear(&r);
    fd_msg_free(m);
}

/* A UDR without `missing` fails the rules with 5005 naming it, and fd_msg_parse_or_error (what freeDiameter's
 * dispatch runs before any application callback) turns it into a 5005 answer carrying Failed-AVP. */
static void check_missing(fixture_t *fx, struct dict_object *missing, uint32_t code)
{
    const uint32_t refs[] = {SH_DREF_REPOSITORY_DATA};
    struct msg *m = build_udr(&fx->dict, IMPU, NULL, refs, 1);
    struct avp *gone = NULL;
    assert_int_equal(fd_msg_search_avp(m, missing, &gone), 0);
    assert_int_equal(fd_msg_free(gone), 0);
    m = wire(m);

    struct fd_pei pei;
    memset(&pei, 0, sizeof pei);
    assert_int_equal(fd_msg_parse_rules(m, fd_dict(), &pei), EBADMSG);
    assert_string_equal(pei.pei_errcode, "DIAMETER_MISSING_AVP");
    assert_non_null(pei.pei_avp);
    struct avp_hdr *ah = NULL;
    assert_int_equal(fd_msg_avp_hdr(pei.pei_avp, &ah), 0);
    assert_int_equal(ah->avp_code, code);
    if (pei.pei_avp_free)
        fd_msg_free(pei.pei_avp);

    struct msg *error = NULL;
    assert_int_equal(fd_msg_parse_or_error(&m, &error), EBADMSG);
    assert_null(m);
    assert_non_null(error);
    error = wire(error);
    sh_uda_t a;
    assert_int_equal(sh_uda_read(&fx->dict, error, &a), 0);
    assert_true(a.has_result_code);
    assert_int_equal(a.result_code, 5005);
    assert_false(sh_uda_success(&a));
    assert_string_equal(a.origin_host, TEST_IDENTITY);
    sh_uda_clear(&a);
    struct avp *failed = NULL, *inner = NULL;
    assert_int_equal(fd_msg_search_avp(error, fx->dict.failed_avp, &failed), 0);
    assert_non_null(failed);
    assert_int_equal(fd_msg_browse(failed, MSG_BRW_FIRST_CHILD, &inner, NULL), 0);
    assert_non_null(inner);
    assert_int_equal(fd_msg_avp_hdr(inner, &ah), 0);
    assert_int_equal(ah->avp_code, code);
    fd_msg_free(error);
}

static void test_udr_missing_user_identity_is_5005(void **state)
{
    fixture_t *fx = *state;
    check_missing(fx, fx->dict.user_identity, SH_AVP_USER_IDENTITY);
}

static void test_udr_missing_data_reference_is_5005(void **state)
{
    fixture_t *fx = *state;
    check_missing(fx, fx->dict.data_reference, SH_AVP_DATA_REFERENCE);
}

/* ---------------------------------------------------------------- UDA */

static struct msg *answer_for(const sh_dict_t *d)
{
    const uint32_t refs[] = {SH_DREF_REPOSITORY_DATA, SH_DREF_TADS_INFORMATION};
    struct msg *m = wire(build_udr(d, IMPU, NULL, refs, 2));
    assert_int_equal(fd_msg_new_answer_from_req(fd_dict(), &m, 0), 0);
    return m;
}

static void test_uda_success_with_sh_data(void **state)
{
    fixture_t *fx = *state;
    sh_data_t d = {0};
    d.repo[0].service_indication = SH_SERVICE_INDICATION_VOENC;
    d.repo[0].sequence_number = 1;
    d.n_repo = 1;
    d.has_tads = true;
    d.ims_vops = SH_VOPS_SUPPORTED;
    d.has_rat = true;
    d.rat_type = SH_RAT_NR;
    size_t len = 0;
    char *xml = sh_data_render(&d, &len);
    assert_non_null(xml);

    struct msg *ans = answer_for(&fx->dict);
    assert_int_equal(sh_uda_set_success(&fx->dict, ans, xml, len), 0);
    free(xml);
    ans = wire(ans);
    assert_rules_pass(ans);

    sh_uda_t a;
    assert_int_equal(sh_uda_read(&fx->dict, ans, &a), 0);
    assert_true(a.has_result_code);
    assert_int_equal(a.result_code, 2001);
    assert_false(a.has_experimental);
    assert_true(sh_uda_success(&a));
    assert_string_equal(a.origin_host, TEST_IDENTITY);
    assert_true(a.has_data);
    assert_non_null(sh_data_find_repo(&a.data, SH_SERVICE_INDICATION_VOENC));
    assert_true(a.data.has_tads);
    assert_int_equal(a.data.ims_vops, SH_VOPS_SUPPORTED);
    assert_int_equal(a.data.rat_type, SH_RAT_NR);
    sh_uda_clear(&a);
    fd_msg_free(ans);
}

static void test_uda_success_without_user_data(void **state)
{
    fixture_t *fx = *state;
    struct msg *ans = answer_for(&fx->dict);
    assert_int_equal(sh_uda_set_success(&fx->dict, ans, NULL, 0), 0);
    ans = wire(ans);
    assert_rules_pass(ans);
    sh_uda_t a;
    assert_int_equal(sh_uda_read(&fx->dict, ans, &a), 0);
    assert_true(sh_uda_success(&a));
    assert_null(a.user_data);
    assert_false(a.has_data);
    sh_uda_clear(&a);
    fd_msg_free(ans);
}

static void test_uda_experimental_user_unknown(void **state)
{
    fixture_t *fx = *state;
    struct msg *ans = answer_for(&fx->dict);
    assert_int_equal(sh_uda_set_experimental(&fx->dict, ans, SH_ERR_USER_UNKNOWN), 0);
    ans = wire(ans);
    assert_rules_pass(ans);
    sh_uda_t a;
    assert_int_equal(sh_uda_read(&fx->dict, ans, &a), 0);
    assert_false(a.has_result_code);
    assert_true(a.has_experimental);
    assert_int_equal(a.exp_vendor, SH_VENDOR_3GPP);
    assert_int_equal(a.exp_code, SH_ERR_USER_UNKNOWN);
    assert_false(sh_uda_success(&a));
    assert_string_equal(a.origin_host, TEST_IDENTITY);
    assert_string_equal(sh_result_name(a.exp_code, true), "DIAMETER_ERROR_USER_UNKNOWN");
    sh_uda_clear(&a);
    fd_msg_free(ans);
}

static void test_uda_bad_user_data_is_reported_not_fatal(void **state)
{
    fixture_t *fx = *state;
    struct msg *ans = answer_for(&fx->dict);
    const char *junk = "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Sh-Data>&e;</Sh-Data>";
    assert_int_equal(sh_uda_set_success(&fx->dict, ans, junk, strlen(junk)), 0);
    ans = wire(ans);
    sh_uda_t a;
    assert_int_equal(sh_uda_read(&fx->dict, ans, &a), 0);
    assert_true(sh_uda_success(&a));
    assert_non_null(a.user_data);
    assert_int_equal(a.user_data_len, strlen(junk));
    assert_false(a.has_data);
    assert_non_null(strstr(a.data_error, "DOCTYPE"));
    sh_uda_clear(&a);
    fd_msg_free(ans);
}

static void test_uda_read_refuses_a_request(void **state)
{
    fixture_t *fx = *state;
    const uint32_t refs[] = {SH_DREF_REPOSITORY_DATA};
    struct msg *m = build_udr(&fx->dict, IMPU, NULL, refs, 1);
    sh_uda_t a;
    assert_int_equal(sh_uda_read(&fx->dict, m, &a), -1);
    fd_msg_free(m);
}

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(sh_result_name(5001, false), "DIAMETER_AVP_UNSUPPORTED");
    assert_string_equal(sh_result_name(5001, true), "DIAMETER_ERROR_USER_UNKNOWN");
    assert_string_equal(sh_result_name(2001, false), "DIAMETER_SUCCESS");
    assert_string_equal(sh_result_name(5005, false), "DIAMETER_MISSING_AVP");
    assert_string_equal(sh_result_name(SH_ERR_DATA_REF_NOT_SUPPORTED, true), "DIAMETER_ERROR_USER_DATA_NOT_RECOGNIZED");
    assert_string_equal(sh_result_name(4242, false), "UNKNOWN");
}

/* ---------------------------------------------------------------- diam_node */

static void test_wait_for_unknown_peer_times_out(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(diam_node_wait_peer(fx->node, "nobody.ims.test", 50), -1);
    assert_int_equal(diam_node_wait_peer(NULL, "nobody.ims.test", 50), -1);
}

static void test_node_config_validation(void **state)
{
    (void)state;
    sh_dict_t d;
    char err[256];
    diam_node_conf_t bad[] = {
        {.identity = "as\".ims.test", .realm = TEST_REALM},
        {.identity = TEST_IDENTITY, .realm = NULL},
        {.identity = TEST_IDENTITY, .realm = TEST_REALM, .port = 70000},
        {.identity = TEST_IDENTITY, .realm = TEST_REALM, .tw_timer = 5},
        {.identity = TEST_IDENTITY, .realm = TEST_REALM, .accept_realm = "ims.test;\nNoRelay"},
        {.identity = TEST_IDENTITY, .realm = TEST_REALM, .tls_cert = "/tmp/c.pem"},
        {.identity = TEST_IDENTITY, .realm = TEST_REALM, .n_peers = 1, .peers = {{"hss.ims.test", "127.0.0.1", 0}}},
        {.identity = TEST_IDENTITY, .realm = TEST_REALM, .n_peers = DIAM_NODE_MAX_PEERS + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_null(diam_node_start(&bad[i], &d, err, sizeof err));
        assert_true(strlen(err) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict_idempotent_and_complete),
        cmocka_unit_test(test_data_ref_names),
        cmocka_unit_test(test_udr_round_trip),
        cmocka_unit_test(test_udr_tads_only_has_no_service_indication),
        cmocka_unit_test(test_udr_msisdn_is_tbcd_on_the_wire),
        cmocka_unit_test(test_tbcd),
        cmocka_unit_test(test_udr_build_rejects_bad_params),
        cmocka_unit_test(test_udr_read_rejects_nul_in_public_identity),
        cmocka_unit_test(test_udr_read_counts_too_many_data_refs),
        cmocka_unit_test(test_udr_missing_user_identity_is_5005),
        cmocka_unit_test(test_udr_missing_data_reference_is_5005),
        cmocka_unit_test(test_uda_success_with_sh_data),
        cmocka_unit_test(test_uda_success_without_user_data),
        cmocka_unit_test(test_uda_experimental_user_unknown),
        cmocka_unit_test(test_uda_bad_user_data_is_reported_not_fatal),
        cmocka_unit_test(test_uda_read_refuses_a_request),
        cmocka_unit_test(test_result_names),
        cmocka_unit_test(test_wait_for_unknown_peer_times_out),
        cmocka_unit_test(test_node_config_validation),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
