/*
 * test_sip_oracle — libosip2 as an oracle (tests only): every message in tests/data/sip/ is parsed by lib/sip and
 * by osip_message_parse(), and the fields a proxy and a UA act on must agree: method / status, Request-URI, Call-ID,
 * CSeq number and method, From / To URI and tag, number of Vias, top Via host / port / branch, first Contact URI,
 * Content-Length and body. The corpus includes the shapes sipp's built-in uac and uas scenarios send.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <osipparser2/osip_parser.h>
/* osip_const.h defines SIP_OK as the status code 200; lib/sip uses SIP_OK as its success code. This file needs only
 * ours. */
#undef SIP_OK

#include "sip/sip_msg.h"

#define ORACLE_MAX_FILE 65536
#define ORACLE_MIN_FILES 15

static void expect_str(const char *file, const char *what, sip_str_t ours, const char *theirs)
{
    char buf[1024];
    sip_str_copy(ours, buf, sizeof buf);
    if (!theirs)
        theirs = "";
    if (strcmp(buf, theirs) != 0)
        fail_msg("%s: %s differs: lib/sip \"%s\" vs osip \"%s\"", file, what, buf, theirs);
}

static void expect_uri(const char *file, const char *what, const sip_uri_t *ours, sip_str_t raw,
                       const osip_uri_t *theirs)
{
    assert_non_null(theirs);
    if (ours->scheme != SIP_URI_SIP && ours->scheme != SIP_URI_SIPS) {
        /* osip keeps other schemes (tel:) as one string after the scheme */
        expect_str(file, what, ours->scheme_str, theirs->scheme);
        int skip = ours->scheme_str.len + 1;
        expect_str(file, what, (sip_str_t){raw.s + skip, raw.len - skip}, theirs->string);
        return;
    }
    expect_str(file, what, ours->scheme_str, theirs->scheme);
    expect_str(file, what, ours->user, theirs->username);
    expect_str(file, what, ours->host, theirs->host);
    expect_str(file, what, ours->port_str, theirs->port);
}

static void compare_one(const char *file, const char *data, size_t len)
{
    sip_msg_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    assert_int_equal(sip_msg_parse(m, data, len, SIP_TP_DGRAM), SIP_OK);
    if (sip_msg_check(m) != SIP_OK)
        fail_msg("%s: lib/sip refused it: %s", file, sip_msg_reason(m));

    osip_message_t *o = NULL;
    assert_int_equal(osip_message_init(&o), 0);
    if (osip_message_parse(o, data, len) != 0)
        fail_msg("%s: osip refused it", file);

    if (m->is_request) {
        assert_true(MSG_IS_REQUEST(o));
        expect_str(file, "method", m->method_str, o->sip_method);
        expect_uri(file, "Request-URI", &m->ruri, m->ruri_raw, o->req_uri);
    } else {
        assert_true(MSG_IS_RESPONSE(o));
        assert_int_equal(m->status, o->status_code);
        expect_str(file, "reason", m->reason, o->reason_phrase);
    }

    char *cid = NULL;
    assert_int_equal(osip_call_id_to_str(osip_message_get_call_id(o), &cid), 0);
    expect_str(file, "Call-ID", m->call_id, cid);
    osip_free(cid);

    osip_cseq_t *cs = osip_message_get_cseq(o);
    assert_non_null(cs);
    assert_int_equal(m->cseq.num, strtoul(cs->number, NULL, 10));
    expect_str(file, "CSeq method", m->cseq.method_str, cs->method);

    osip_generic_param_t *tag = NULL;
    expect_uri(file, "From URI", &m->from.uri, m->from.uri_raw, osip_message_get_from(o)->url);
    osip_from_get_tag(osip_message_get_from(o), &tag);
    expect_str(file, "From tag", m->from.tag, tag ? tag->gvalue : NULL);
    tag = NULL;
    expect_uri(file, "To URI", &m->to.uri, m->to.uri_raw, osip_message_get_to(o)->url);
    osip_to_get_tag(osip_message_get_to(o), &tag);
    expect_str(file, "To tag", m->to.tag, tag ? tag->gvalue : NULL);

    assert_int_equal(m->nvia, osip_list_size(&o->vias));
    osip_via_t *via = NULL;
    assert_true(osip_message_get_via(o, 0, &via) >= 0);
    expect_str(file, "Via host", m->via[0].host, via->host);
    expect_str(file, "Via port", m->via[0].port_str, via->port);
    expect_str(file, "Via transport", m->via[0].transport, via->protocol);
    osip_generic_param_t *br = NULL;
    osip_via_param_get_byname(via, "branch", &br);
    expect_str(file, "Via branch", m->via[0].branch, br ? br->gvalue : NULL);

    assert_int_equal(m->ncontact, osip_list_size(&o->contacts));
    if (m->ncontact > 0) {
        osip_contact_t *ct = NULL;
        assert_true(osip_message_get_contact(o, 0, &ct) >= 0);
        expect_uri(file, "Contact URI", &m->contact[0].uri, m->contact[0].uri_raw, ct->url);
    }

    osip_content_length_t *cl = osip_message_get_content_length(o);
    assert_int_equal(m->content_length, cl ? atoi(cl->value) : -1);
    osip_body_t *body = NULL;
    if (osip_message_get_body(o, 0, &body) >= 0) {
        assert_int_equal(m->body.len, (int)body->length);
        assert_memory_equal(m->body.s, body->body, body->length);
    } else {
        assert_int_equal(m->body.len, 0);
    }
    osip_message_free(o);
    free(m);
}

static void test_corpus_agrees_with_osip(void **state)
{
    (void)state;
    const char *src = getenv("MIHUA_SRC");
    assert_non_null(src);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/data/sip", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    struct dirent *e;
    static char data[ORACLE_MAX_FILE + 1];
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".sip") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t len = fread(data, 1, ORACLE_MAX_FILE, f);
        fclose(f);
        data[len] = '\0';
        compare_one(e->d_name, data, len);
        files++;
    }
    closedir(d);
    assert_true(files >= ORACLE_MIN_FILES);
}

int main(void)
{
    parser_init();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus_agrees_with_osip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
