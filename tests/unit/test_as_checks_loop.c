/*
 * test_as_checks_loop — as_checks on a real event loop against an in-process fake UDM (lib/sbi server on
 * 127.0.0.1, port 0): the life cycle the proxy relies on. Answers, a stalled UDM (timeout within the limit, late
 * answers dropped), a UDM that is not there (error at once), an identity without a number (unknown, and the
 * callback still runs from the loop, never inside as_checks_start), cancel (no callback), freeing everything from
 * inside a callback with another check pending, the metrics, and configuration errors. The HSS path needs a
 * freeDiameter peer and is covered by tests/integration/as_checks.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "as_checks.h"
#include "core/log.h"
#include "sbi/sbi_problem.h"
#include "sbi/sbi_server.h"

#define TIMEOUT_MS 150
#define MARGIN_MS 200
#define SAFETY_MS 3000     /* a test loop never runs longer than this */
#define COARSE_SLACK_MS 10 /* libevent times with CLOCK_MONOTONIC_COARSE: a timer may fire a jiffy early */

#define OSD_YES "{\"voiceEncryption\":{\"dataType\":\"boolean\",\"value\":true}}"
#define AMF_NR                                                                                                   \
    "{\"amfInstanceId\":\"a\",\"deregCallbackUri\":\"http://x\",\"guami\":{\"plmnId\":{\"mcc\":\"001\",\"mnc\":" \
    "\"01\"},\"amfId\":\"000001\"},\"ratType\":\"NR\",\"imsVoPs\":\"HOMOGENEOUS_SUPPORT\"}"

/* The fake UDM: msisdn-1 subscribed on NR, msisdn-2 never answers, msisdn-3 subscribed but not in 5GS,
 * anybody else unknown. */
static void fake_answer(sbi_request_t *req, bool amf)
{
    const char *ue = sbi_request_capture(req, "ueId");
    if (ue && strcmp(ue, "msisdn-2") == 0)
        return; /* stall: the stream stays open */
    if (ue && strcmp(ue, "msisdn-1") == 0) {
        const char *body = amf ? AMF_NR : OSD_YES;
        sbi_respond(req, 200, SBI_CT_JSON, body, strlen(body));
    } else if (ue && strcmp(ue, "msisdn-3") == 0) {
        if (amf) {
            sbi_problem_t p = {.status = 404, .cause = SBI_CAUSE_CONTEXT_NOT_FOUND};
            sbi_respond_problem(req, &p);
        } else {
            sbi_respond(req, 200, SBI_CT_JSON, OSD_YES, strlen(OSD_YES));
        }
    } else {
        sbi_problem_t p = {.status = 404, .cause = SBI_CAUSE_USER_NOT_FOUND};
        sbi_respond_problem(req, &p);
    }
}
static void on_amf(sbi_request_t *req, void *ud)
{
    (void)ud;
    fake_answer(req, true);
}
static void on_osd(sbi_request_t *req, void *ud)
{
    (void)ud;
    fake_answer(req, false);
}

typedef struct {
    struct event_base *base;
    sbi_server_t *udm;
    char url[64];
    metrics_t *metrics;
    as_checks_t *checks;
    struct event *safety;
} fx_t;

typedef struct {
    fx_t *fx;
    int calls;
    as_decision_t d;
    as_lookup_results_t r;
    bool free_checks; /* free the whole as_checks_t from inside the callback */
    struct timespec t0;
    double elapsed_ms;
} run_t;

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void on_safety(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void run_loop_for(fx_t *fx, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(fx->safety, &tv);
    event_base_dispatch(fx->base);
    evtimer_del(fx->safety);
}

static void on_decision(const as_decision_t *d, const as_lookup_results_t *r, void *ud)
{
    run_t *run = ud;
    run->calls++;
    run->d = *d;
    run->r = *r;
    run->elapsed_ms = ms_since(&run->t0);
    if (run->free_checks) {
        as_checks_free(run->fx->checks);
        run->fx->checks = NULL;
    }
    event_base_loopbreak(run->fx->base);
}

static as_checks_t *new_checks(fx_t *fx, const char *url, as_policy_t sub, as_policy_t att)
{
    as_checks_conf_t conf = {
        .subscription_source = sub, .attachment_source = att, .lookup_timeout_ms = TIMEOUT_MS, .udm_url = url};
    char err[256] = "";
    as_checks_t *c = as_checks_new(fx->base, &conf, fx->metrics, err, sizeof err);
    if (c == NULL)
        fail_msg("as_checks_new: %s", err);
    return c;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    log_set_level(LOG_LVL_WARN);
    fx->base = event_base_new();
    fx->udm = sbi_server_new(fx->base, NULL);
    sbi_server_route(fx->udm, "GET", "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access", on_amf, NULL);
    sbi_server_route(fx->udm, "GET", "/nudr-dr/v2/subscription-data/{ueId}/operator-specific-data", on_osd, NULL);
    if (sbi_server_listen(fx->udm, "127.0.0.1", 0) != 0)
        return -1;
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%u/", (unsigned)sbi_server_port(fx->udm));
    fx->metrics = metrics_new();
    fx->safety = evtimer_new(fx->base, on_safety, fx->base);
    fx->checks = new_checks(fx, fx->url, AS_POLICY_UDM, AS_POLICY_UDM);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    as_checks_free(fx->checks);
    sbi_server_free(fx->udm);
    event_free(fx->safety);
    event_base_free(fx->base);
    metrics_free(fx->metrics);
    free(fx);
    return 0;
}

static void check_once(fx_t *fx, run_t *run, const char *caller, const char *callee)
{
    run->fx = fx;
    clock_gettime(CLOCK_MONOTONIC, &run->t0);
    assert_true(as_checks_start(fx->checks, caller, callee, on_decision, run) != 0);
    assert_int_equal(run->calls, 0); /* never inside as_checks_start */
    run_loop_for(fx, SAFETY_MS);
    assert_int_equal(run->calls, 1);
}

static void test_udm_allowed(void **state)
{
    fx_t *fx = *state;
    run_t run = {0};
    check_once(fx, &run, "tel:+1", "sip:+1@ims.test;user=phone");
    assert_true(run.d.allowed);
    assert_string_equal(run.d.reason, AS_REASON_OK);
    assert_int_equal(run.r.answer[AS_Q_CALLEE_ATTACHED][AS_SRC_UDM], AS_ANS_YES);
    assert_int_equal(run.r.answer[AS_Q_CALLEE_ATTACHED][AS_SRC_HSS], AS_ANS_NOT_ASKED);
    assert_string_equal(run.r.callee_rat[AS_SRC_UDM], "NR");
    assert_true(run.r.latency_us[AS_SRC_UDM] > 0);
    assert_int_equal(run.r.latency_us[AS_SRC_HSS], 0);
    assert_false(as_checks_hss_open(fx->checks));
    assert_int_equal(as_checks_wait_hss(fx->checks, 0), -1);
}

static void test_udm_not_in_5gs(void **state)
{
    fx_t *fx = *state;
    run_t run = {0};
    check_once(fx, &run, "tel:+1", "tel:+3");
    assert_false(run.d.allowed);
    assert_string_equal(run.d.reason, AS_REASON_CALLEE_NOT_ATTACHED);
    run = (run_t){0};
    check_once(fx, &run, "tel:+1", "tel:+9");
    assert_string_equal(run.d.reason, AS_REASON_USER_UNKNOWN);
}

static void test_udm_stalled_times_out(void **state)
{
    fx_t *fx = *state;
    run_t run = {0};
    check_once(fx, &run, "tel:+1", "tel:+2");
    assert_false(run.d.allowed);
    assert_string_equal(run.d.reason, AS_REASON_TIMEOUT);
    assert_int_equal(run.r.answer[AS_Q_CALLER_SUBSCRIBED][AS_SRC_UDM], AS_ANS_YES);
    assert_int_equal(run.r.answer[AS_Q_CALLEE_SUBSCRIBED][AS_SRC_UDM], AS_ANS_TIMEOUT);
    assert_int_equal(run.r.answer[AS_Q_CALLEE_ATTACHED][AS_SRC_UDM], AS_ANS_TIMEOUT);
    assert_true(run.elapsed_ms >= TIMEOUT_MS - COARSE_SLACK_MS);
    assert_true(run.elapsed_ms < TIMEOUT_MS + MARGIN_MS);
    /* the next check on the same client is unaffected by the cancelled streams */
    run = (run_t){0};
    check_once(fx, &run, "tel:+1", "tel:+1");
    assert_true(run.d.allowed);
}

static void test_no_msisdn_is_unknown_from_the_loop(void **state)
{
    fx_t *fx = *state;
    run_t run = {0};
    check_once(fx, &run, "sip:alice@ims.test", "tel:+1");
    assert_string_equal(run.d.reason, AS_REASON_USER_UNKNOWN);
    assert_int_equal(run.r.answer[AS_Q_CALLER_SUBSCRIBED][AS_SRC_UDM], AS_ANS_UNKNOWN);
}

static void test_cancel_runs_no_callback(void **state)
{
    fx_t *fx = *state;
    run_t run = {.fx = fx};
    uint64_t h = as_checks_start(fx->checks, "tel:+1", "tel:+2", on_decision, &run);
    assert_true(h != 0);
    as_checks_cancel(fx->checks, h);
    as_checks_cancel(fx->checks, h);       /* twice: ignored */
    as_checks_cancel(fx->checks, h + 100); /* unknown: ignored */
    run_loop_for(fx, TIMEOUT_MS + MARGIN_MS);
    assert_int_equal(run.calls, 0);
}

static void test_free_inside_callback(void **state)
{
    fx_t *fx = *state;
    run_t first = {.fx = fx, .free_checks = true}, second = {.fx = fx};
    clock_gettime(CLOCK_MONOTONIC, &first.t0);
    assert_true(as_checks_start(fx->checks, "tel:+1", "tel:+2", on_decision, &second) != 0); /* stalls */
    assert_true(as_checks_start(fx->checks, "tel:+1", "tel:+1", on_decision, &first) != 0);
    run_loop_for(fx, SAFETY_MS);
    assert_int_equal(first.calls, 1);
    assert_null(fx->checks);
    run_loop_for(fx, TIMEOUT_MS + MARGIN_MS);
    assert_int_equal(second.calls, 0); /* dropped with the module */
    fx->checks = new_checks(fx, fx->url, AS_POLICY_UDM, AS_POLICY_UDM);
}

static void test_udm_down_is_error_at_once(void **state)
{
    fx_t *fx = *state;
    sbi_server_t *gone = sbi_server_new(fx->base, NULL);
    assert_int_equal(sbi_server_listen(gone, "127.0.0.1", 0), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)sbi_server_port(gone));
    sbi_server_free(gone); /* nothing listens there now */
    as_checks_free(fx->checks);
    fx->checks = new_checks(fx, url, AS_POLICY_UDM, AS_POLICY_UDM);
    run_t run = {0};
    check_once(fx, &run, "tel:+1", "tel:+1");
    assert_string_equal(run.d.reason, AS_REASON_ERROR);
    assert_true(run.elapsed_ms < TIMEOUT_MS);
    as_checks_free(fx->checks);
    fx->checks = new_checks(fx, fx->url, AS_POLICY_UDM, AS_POLICY_UDM);
}

static void test_metrics(void **state)
{
    fx_t *fx = *state;
    run_t run = {0};
    check_once(fx, &run, "tel:+1", "tel:+2");
    run = (run_t){0};
    check_once(fx, &run, "tel:+1", "tel:+9");
    char *text = metrics_render(fx->metrics);
    assert_non_null(text);
    assert_non_null(strstr(text, "# TYPE mihua_as_lookup_seconds histogram"));
    assert_non_null(strstr(text, "mihua_as_lookup_seconds_count{source=\"udm\"}"));
    assert_non_null(strstr(text, "mihua_as_lookup_errors_total{source=\"udm\",kind=\"timeout\"}"));
    assert_non_null(strstr(text, "mihua_as_lookup_errors_total{source=\"udm\",kind=\"unknown\"}"));
    assert_non_null(strstr(text, "mihua_as_lookup_errors_total{source=\"hss\",kind=\"error\"} 0"));
    free(text);
}

static void test_bad_configuration(void **state)
{
    fx_t *fx = *state;
    char err[256] = "";
    as_checks_conf_t conf = {
        .subscription_source = AS_POLICY_UDM, .attachment_source = AS_POLICY_UDM, .udm_url = "ftp://x"};
    assert_null(as_checks_new(fx->base, &conf, NULL, err, sizeof err));
    assert_non_null(strstr(err, "udm_url"));
    conf.udm_url = fx->url;
    conf.attachment_source = (as_policy_t)9;
    assert_null(as_checks_new(fx->base, &conf, NULL, err, sizeof err));
    conf.attachment_source = AS_POLICY_HSS; /* the HSS path needs its Diameter settings */
    assert_null(as_checks_new(fx->base, &conf, NULL, err, sizeof err));
    assert_null(as_checks_new(NULL, &conf, NULL, NULL, 0));
    assert_int_equal(as_checks_start(NULL, "a", "b", on_decision, NULL), 0);
    assert_int_equal(as_checks_start(fx->checks, NULL, "b", on_decision, NULL), 0);
    assert_int_equal(as_checks_start(fx->checks, "a", "b", NULL, NULL), 0);
    as_checks_cancel(NULL, 1);
    as_checks_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_udm_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udm_not_in_5gs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udm_stalled_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_msisdn_is_unknown_from_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_runs_no_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_inside_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udm_down_is_error_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_configuration, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
