/*
 * sh_notif: Diameter Time (RFC 6733 §4.3.1, NTP seconds) both ways; an SNR built and read back (Subs-Req-Type,
 * Send-Data-Indication, Expiry-Time, the UDR fields, Origin-Host); a PNR built and read back with its Sh-Data;
 * a PNR without User-Data refused by the reader. A real freeDiameter node (no peers) holds the dictionary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "core/log.h"
#include "diameter/diam_node.h"
#include "diameter/sh_notif.h"

#define IMPU "tel:+15550000001"

static diam_node_t *node;
static sh_dict_t dict;

static int group_setup(void **state)
{
    (void)state;
    log_set_level(LOG_LVL_ERROR);
    diam_node_conf_t conf = {.identity = "as.ims.test", .realm = "ims.test", .port = 0, .tc_timer = 1, .tw_timer = 6};
    char err[256] = "";
    node = diam_node_start(&conf, &dict, err, sizeof err);
    if (node == NULL)
        fprintf(stderr, "diam_node_start: %s\n", err);
    return node != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    diam_node_stop(node);
    return 0;
}

static void test_time(void **state)
{
    (void)state;
    uint8_t b[4];
    sh_time_encode(0, b); /* 1970-01-01 is NTP 2208988800 = 0x83AA7E80 */
    assert_memory_equal(b, "\x83\xaa\x7e\x80", 4);
    assert_int_equal(sh_time_decode(b), 0);
    sh_time_encode(1796280175, b);
    assert_int_equal(sh_time_decode(b), 1796280175);
    assert_int_equal(sh_time_decode((const uint8_t *)"\x00\x00\x00\x01"), 0); /* before 1970: 0, not negative */
}

static void test_snr_round_trip(void **state)
{
    (void)state;
    static const uint32_t refs[] = {SH_DREF_REPOSITORY_DATA, SH_DREF_IMS_PUBLIC_IDENTITY};
    sh_snr_params_t p = {.public_identity = IMPU,
                         .data_refs = refs,
                         .n_data_refs = 2,
                         .service_indication = SH_SERVICE_INDICATION_VOENC,
                         .dest_realm = "ims.test",
                         .dest_host = "hss.ims.test",
                         .subs_req_type = SH_SUBS_SUBSCRIBE,
                         .send_data = true,
                         .expiry = 1796280175};
    struct msg *m = NULL;
    assert_int_equal(sh_snr_build(&dict, &p, &m), 0);
    sh_udr_t r;
    sh_snr_extra_t x;
    assert_int_equal(sh_udr_read(&dict, m, &r), 0);
    assert_int_equal(sh_snr_read_extra(&dict, m, &x), 0);
    assert_string_equal(r.public_identity, IMPU);
    assert_int_equal(r.n_data_refs, 2);
    assert_int_equal(r.data_refs[1], SH_DREF_IMS_PUBLIC_IDENTITY);
    assert_int_equal(r.n_service_ind, 1);
    assert_string_equal(r.service_ind[0], SH_SERVICE_INDICATION_VOENC);
    assert_true(x.has_subs_req_type);
    assert_int_equal(x.subs_req_type, SH_SUBS_SUBSCRIBE);
    assert_true(x.send_data);
    assert_int_equal(x.expiry, 1796280175);
    assert_string_equal(x.origin_host, "as.ims.test");
    assert_string_equal(x.origin_realm, "ims.test");
    sh_udr_clear(&r);
    fd_msg_free(m);
    /* no Public-Identity or no Data-Reference: refused */
    p.n_data_refs = 0;
    assert_int_not_equal(sh_snr_build(&dict, &p, &m), 0);
}

static void test_pnr_round_trip(void **state)
{
    (void)state;
    const char *xml = "<Sh-Data><RepositoryData><ServiceIndication>mihua-voice-encryption</ServiceIndication>"
                      "<SequenceNumber>3</SequenceNumber></RepositoryData></Sh-Data>";
    sh_pnr_params_t p = {.public_identity = IMPU,
                         .user_data = xml,
                         .user_data_len = strlen(xml),
                         .dest_host = "as.ims.test",
                         .dest_realm = "ims.test"};
    struct msg *m = NULL;
    sh_pnr_t r;
    assert_int_equal(sh_pnr_build(&dict, &p, &m), 0);
    assert_int_equal(sh_pnr_read(&dict, m, &r), 0);
    assert_string_equal(r.public_identity, IMPU);
    assert_true(r.has_data);
    assert_non_null(sh_data_find_repo(&r.data, SH_SERVICE_INDICATION_VOENC));
    sh_pnr_clear(&r);
    fd_msg_free(m);
    /* a PNR needs Destination-Host and User-Data */
    p.dest_host = NULL;
    assert_int_not_equal(sh_pnr_build(&dict, &p, &m), 0);
    /* User-Data that is not Sh-Data: the reader refuses it and says why */
    p.dest_host = "as.ims.test";
    p.user_data = "<nope";
    p.user_data_len = 5;
    assert_int_equal(sh_pnr_build(&dict, &p, &m), 0);
    assert_int_equal(sh_pnr_read(&dict, m, &r), -1);
    assert_true(r.error[0] != '\0');
    sh_pnr_clear(&r);
    fd_msg_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_snr_round_trip),
        cmocka_unit_test(test_pnr_round_trip),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
