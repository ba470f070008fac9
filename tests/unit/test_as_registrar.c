/*
 * test_as_registrar — mihua-as's registrar (RFC 3261 §10.3) with a fake clock: default and explicit expiry,
 * 423 with Min-Expires, Call-ID/CSeq ordering (step 7), "Contact: *" removal, feature parameters stored, the
 * source address kept, tel/sip AOR normalisation for lookups, and the cap of AORs per source address kept in step
 * through adds, refreshes from elsewhere, removals and expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registrar.h"

#define DOM "ims.mnc001.mcc001.3gppnetwork.org"
#define T0 1000000u /* fake clock origin, ms */

typedef struct {
    registrar_t *r;
    sip_msg_t *m;
    char buf[2048];
    reg_result_t res;
    sip_addr_t src;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->r = registrar_new(16);
    f->m = calloc(1, sizeof *f->m);
    sip_addr_from_ip(&f->src, SIP_PROTO_UDP, sip_str_c("127.0.0.1"), 5070);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    registrar_free(f->r);
    free(f->m);
    free(f);
    return 0;
}

/* REGISTER for user with the given Call-ID, CSeq, Contact value and extra header lines ("" for none). */
static int reg(fx_t *f, const char *user, const char *callid, unsigned cseq, const char *contact, const char *extra,
               uint64_t now)
{
    snprintf(f->buf, sizeof f->buf,
             "REGISTER sip:" DOM " SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKr%u\r\n"
             "From: <sip:%s@" DOM ">;tag=1\r\n"
             "To: <sip:%s@" DOM ">\r\n"
             "Call-ID: %s\r\n"
             "CSeq: %u REGISTER\r\n"
             "Contact: %s\r\n"
             "%s"
             "Content-Length: 0\r\n\r\n",
             cseq, user, user, callid, cseq, contact, extra);
    assert_int_equal(sip_msg_parse(f->m, f->buf, strlen(f->buf), SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_msg_check(f->m), SIP_OK);
    registrar_process(f->r, f->m, &f->src, now, &f->res);
    return f->res.status;
}

static void test_default_expiry_and_params(void **state)
{
    fx_t *f = *state;
    assert_int_equal(reg(f, "+15550000001", "c1", 1, "<sip:ue1@127.0.0.1:5070>;+u.mihua.voenc;q=0.5", "", T0), 200);
    assert_non_null(strstr(f->res.extra, "Contact: <sip:ue1@127.0.0.1:5070>;+u.mihua.voenc;expires=3600\r\n"));
    const reg_binding_t *b = registrar_lookup(f->r, "tel:+15550000001", T0);
    assert_non_null(b);
    assert_string_equal(b->uri, "sip:ue1@127.0.0.1:5070");
    assert_string_equal(b->params, ";+u.mihua.voenc");
    assert_true(b->voenc);
    assert_true(sip_addr_same(&b->src, &f->src));
    assert_true(registrar_has_source(f->r, "tel:+15550000001", &f->src, T0));
    sip_addr_t other;
    sip_addr_from_ip(&other, SIP_PROTO_UDP, sip_str_c("127.0.0.1"), 5071);
    assert_false(registrar_has_source(f->r, "tel:+15550000001", &other, T0));
    /* expired one millisecond after 3600 s */
    assert_non_null(registrar_lookup(f->r, "tel:+15550000001", T0 + 3600u * 1000 - 1));
    assert_null(registrar_lookup(f->r, "tel:+15550000001", T0 + 3600u * 1000));
    assert_int_equal(registrar_sweep(f->r, T0 + 3600u * 1000), 1);
    assert_int_equal(registrar_binding_count(f->r), 0);
    assert_int_equal(registrar_aor_count(f->r), 0);
}

static void test_expires_header_and_param(void **state)
{
    fx_t *f = *state;
    assert_int_equal(reg(f, "alice", "c1", 1, "<sip:a@127.0.0.1:5070>", "Expires: 120\r\n", T0), 200);
    assert_non_null(strstr(f->res.extra, ";expires=120\r\n"));
    assert_int_equal(reg(f, "alice", "c1", 2, "<sip:a@127.0.0.1:5070>;expires=300", "Expires: 120\r\n", T0), 200);
    assert_non_null(strstr(f->res.extra, ";expires=300\r\n")); /* the parameter wins (§10.3 step 6) */
    assert_int_equal(registrar_binding_count(f->r), 1);
    /* above the maximum: shortened */
    assert_int_equal(reg(f, "alice", "c1", 3, "<sip:a@127.0.0.1:5070>", "Expires: 999999\r\n", T0), 200);
    assert_non_null(strstr(f->res.extra, ";expires=86400\r\n"));
}

static void test_min_expires(void **state)
{
    fx_t *f = *state;
    assert_int_equal(reg(f, "alice", "c1", 1, "<sip:a@127.0.0.1:5070>;expires=30", "", T0), 423);
    assert_string_equal(f->res.extra, "Min-Expires: 60\r\n");
    assert_int_equal(registrar_binding_count(f->r), 0);
    /* exactly the minimum is fine; 0 is a removal, not "too brief" */
    assert_int_equal(reg(f, "alice", "c1", 2, "<sip:a@127.0.0.1:5070>;expires=60", "", T0), 200);
    assert_int_equal(reg(f, "alice", "c1", 3, "<sip:a@127.0.0.1:5070>;expires=0", "", T0), 200);
    assert_int_equal(registrar_binding_count(f->r), 0);
    assert_string_equal(f->res.extra, "");
}

static void test_cseq_ordering(void **state)
{
    fx_t *f = *state;
    assert_int_equal(reg(f, "alice", "c1", 5, "<sip:a@127.0.0.1:5070>", "", T0), 200);
    assert_int_equal(reg(f, "alice", "c1", 5, "<sip:a@127.0.0.1:5070>", "Expires: 0\r\n", T0), 500);
    assert_int_equal(reg(f, "alice", "c1", 4, "<sip:a@127.0.0.1:5070>", "Expires: 0\r\n", T0), 500);
    assert_int_equal(registrar_binding_count(f->r), 1); /* aborted: nothing changed */
    /* another Call-ID may update whatever its CSeq */
    assert_int_equal(reg(f, "alice", "c2", 1, "<sip:a@127.0.0.1:5070>", "Expires: 90\r\n", T0), 200);
    assert_non_null(strstr(f->res.extra, ";expires=90"));
    assert_int_equal(reg(f, "alice", "c2", 2, "<sip:a@127.0.0.1:5070>", "Expires: 0\r\n", T0), 200);
    assert_int_equal(registrar_binding_count(f->r), 0);
}

static void test_star_removal(void **state)
{
    fx_t *f = *state;
    assert_int_equal(reg(f, "bob", "c1", 1, "<sip:b1@127.0.0.1:5070>", "", T0), 200);
    assert_int_equal(reg(f, "bob", "c2", 1, "<sip:b2@127.0.0.1:5070>", "", T0 + 10), 200);
    assert_int_equal(registrar_binding_count(f->r), 2);
    assert_non_null(strstr(f->res.extra, "b1@"));
    assert_non_null(strstr(f->res.extra, "b2@"));
    /* the newest binding is the one a call goes to */
    assert_string_equal(registrar_lookup(f->r, "sip:bob@" DOM, T0 + 20)->uri, "sip:b2@127.0.0.1:5070");
    assert_int_equal(reg(f, "bob", "c3", 1, "*", "", T0), 400); /* needs Expires: 0 */
    assert_int_equal(reg(f, "bob", "c3", 1, "*", "Expires: 60\r\n", T0), 400);
    assert_int_equal(reg(f, "bob", "c1", 1, "*", "Expires: 0\r\n", T0), 500); /* stale CSeq for c1 */
    assert_int_equal(reg(f, "bob", "c3", 1, "*", "Expires: 0\r\n", T0), 200);
    assert_int_equal(registrar_binding_count(f->r), 0);
    assert_null(registrar_lookup(f->r, "sip:bob@" DOM, T0));
}

/* registrar_set_on_gone: the AORs whose last binding went, joined by ' '. */
static void note_gone(void *ud, const char *aor)
{
    char *seen = ud;
    strcat(seen, aor);
    strcat(seen, " ");
}

/* Told exactly when an AOR's last binding goes: Expires 0, "Contact: *" and the sweep of an expired one; not
 * when one of two bindings goes, nor on a refresh. */
static void test_gone(void **state)
{
    fx_t *f = *state;
    char seen[512] = "";
    registrar_set_on_gone(f->r, note_gone, seen);
    assert_int_equal(reg(f, "ann", "c1", 1, "<sip:a1@127.0.0.1:5070>", "", T0), 200);
    assert_int_equal(reg(f, "ann", "c2", 1, "<sip:a2@127.0.0.1:5070>", "", T0), 200);
    assert_int_equal(reg(f, "ann", "c1", 2, "<sip:a1@127.0.0.1:5070>", "", T0), 200);               /* refresh */
    assert_int_equal(reg(f, "ann", "c1", 3, "<sip:a1@127.0.0.1:5070>", "Expires: 0\r\n", T0), 200); /* one of two */
    assert_string_equal(seen, "");
    assert_int_equal(reg(f, "ann", "c2", 2, "<sip:a2@127.0.0.1:5070>", "Expires: 0\r\n", T0), 200);
    assert_string_equal(seen, "sip:ann@" DOM " ");
    assert_int_equal(reg(f, "bob", "c3", 1, "<sip:b1@127.0.0.1:5070>", "", T0), 200);
    assert_int_equal(reg(f, "bob", "c3", 2, "*", "Expires: 0\r\n", T0), 200);
    assert_string_equal(seen, "sip:ann@" DOM " sip:bob@" DOM " ");
    assert_int_equal(reg(f, "+15550000001", "c4", 1, "<sip:c@127.0.0.1:5070>", "Expires: 60\r\n", T0), 200);
    assert_int_equal(registrar_sweep(f->r, T0 + 59999), 0);
    assert_int_equal(registrar_sweep(f->r, T0 + 60000), 1);
    assert_string_equal(seen, "sip:ann@" DOM " sip:bob@" DOM " tel:+15550000001 ");
    registrar_set_on_gone(f->r, NULL, NULL);
}

static void test_too_many_bindings(void **state)
{
    fx_t *f = *state;
    char contact[64];
    for (int i = 0; i < REG_MAX_BINDINGS; i++) {
        snprintf(contact, sizeof contact, "<sip:c%d@127.0.0.1:5070>", i);
        assert_int_equal(reg(f, "carol", "c1", (unsigned)i + 1, contact, "", T0), 200);
    }
    assert_int_equal(reg(f, "carol", "c1", 100, "<sip:extra@127.0.0.1:5070>", "", T0), 503);
    assert_int_equal(registrar_binding_count(f->r), REG_MAX_BINDINGS);
}

static void key_of(const char *uri_text, char *out, size_t cap, int want_rc)
{
    sip_uri_t u;
    assert_int_equal(sip_uri_parse(sip_str_c(uri_text), &u), 0);
    assert_int_equal(registrar_aor_key(&u, out, cap), want_rc);
}

static void test_aor_normalisation(void **state)
{
    (void)state;
    char k[REG_AOR_MAX];
    key_of("tel:+15550000001", k, sizeof k, 0);
    assert_string_equal(k, "tel:+15550000001");
    key_of("tel:+1-555-000-0001;phone-context=x", k, sizeof k, 0);
    assert_string_equal(k, "tel:+15550000001");
    key_of("sip:+15550000001@" DOM ";user=phone", k, sizeof k, 0);
    assert_string_equal(k, "tel:+15550000001");
    key_of("sips:+15550000001;npdi@IMS.example:5061", k, sizeof k, 0);
    assert_string_equal(k, "tel:+15550000001");
    key_of("sip:Alice@EXAMPLE.com:5080;transport=tcp", k, sizeof k, 0);
    assert_string_equal(k, "sip:Alice@example.com");
    key_of("sip:example.com", k, sizeof k, 0);
    assert_string_equal(k, "sip:example.com");
    key_of("mailto:a@b", k, sizeof k, -1);
}

static void test_tel_request_finds_sip_registration(void **state)
{
    fx_t *f = *state;
    char k[REG_AOR_MAX];
    assert_int_equal(reg(f, "+15550000002", "c1", 1, "<sip:ue2@127.0.0.1:5070>", "", T0), 200);
    key_of("tel:+15550000002", k, sizeof k, 0);
    assert_non_null(registrar_lookup(f->r, k, T0));
}

/* AORs per source IP: counted per (AOR, IP) pair, kept through every path that changes bindings. */
static void test_source_cap(void **state)
{
    fx_t *f = *state;
    sip_addr_t other;
    sip_addr_from_ip(&other, SIP_PROTO_UDP, sip_str_c("127.0.0.2"), 5070);
    registrar_set_source_cap(f->r, 2);
    assert_int_equal(reg(f, "+15550000001", "c1", 1, "<sip:ue1@127.0.0.1:5070>", "", T0), 200);
    assert_int_equal(reg(f, "+15550000001", "c1", 2, "<sip:ue1b@127.0.0.1:5071>", "", T0), 200); /* same AOR */
    assert_int_equal(reg(f, "+15550000002", "c2", 1, "<sip:ue2@127.0.0.1:5070>", "", T0), 200);
    assert_int_equal(registrar_source_aors(f->r, "127.0.0.1"), 2);
    assert_int_equal(reg(f, "+15550000003", "c3", 1, "<sip:ue3@127.0.0.1:5070>", "", T0), 403);
    assert_true(f->res.source_capped);
    assert_null(registrar_lookup(f->r, "tel:+15550000003", T0));
    assert_int_equal(reg(f, "+15550000002", "c2", 2, "<sip:ue2@127.0.0.1:5070>", "", T0), 200); /* refresh */
    assert_false(f->res.source_capped);

    /* AOR 2 re-registers its contact from another address: the pair moves, a slot frees up */
    f->src = other;
    assert_int_equal(reg(f, "+15550000002", "c2", 3, "<sip:ue2@127.0.0.1:5070>", "", T0), 200);
    assert_int_equal(registrar_source_aors(f->r, "127.0.0.1"), 1);
    assert_int_equal(registrar_source_aors(f->r, "127.0.0.2"), 1);
    sip_addr_from_ip(&f->src, SIP_PROTO_UDP, sip_str_c("127.0.0.1"), 5070);
    assert_int_equal(reg(f, "+15550000003", "c3", 2, "<sip:ue3@127.0.0.1:5070>", "", T0), 200);
    /* removal and Contact: * give the slots back */
    assert_int_equal(reg(f, "+15550000003", "c3", 3, "<sip:ue3@127.0.0.1:5070>", "Expires: 0\r\n", T0), 200);
    assert_int_equal(reg(f, "+15550000001", "c1", 3, "*", "Expires: 0\r\n", T0), 200);
    assert_int_equal(registrar_source_aors(f->r, "127.0.0.1"), 0);
    /* expiry too, through the sweep */
    assert_int_equal(reg(f, "+15550000001", "c1", 4, "<sip:ue1@127.0.0.1:5070>", "Expires: 60\r\n", T0), 200);
    assert_int_equal(registrar_source_aors(f->r, "127.0.0.1"), 1);
    assert_int_equal(registrar_sweep(f->r, T0 + 61000), 1);
    assert_int_equal(registrar_source_aors(f->r, "127.0.0.1"), 0);
    assert_int_equal(registrar_source_aors(f->r, "127.0.0.2"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_expiry_and_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expires_header_and_param, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cseq_ordering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_star_removal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_bindings, setup, teardown),
        cmocka_unit_test(test_aor_normalisation),
        cmocka_unit_test_setup_teardown(test_tel_request_finds_sip_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
