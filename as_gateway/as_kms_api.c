/*
 * as_kms_api — the AS's side of the KMS -> AS interface: the call records the KMS's call checks read (DESIGN
 * §4), and the §8 metrics that share its HTTP/2 port, on lib/sbi.
 *
 * A call record is answered from the call table synchronously: the lookup is a hash probe on the loop, so there
 * is no deferred answer to manage. Unknown calls are a ProblemDetails 404 with cause CALL_NOT_FOUND, which the KMS
 * turns into 403 CALL_NOT_AUTHORIZED (fail closed). The JSON is built with jansson (escaping Call-IDs and URIs is
 * not something to do by hand). `lookups.hss` {resultCode, experimental, originHost} appears only when an HSS
 * lookup of the call got a Diameter error answer; the fields the KMS reads never change. The port's token gate
 * (sbi_auth) is installed here with the routes, so no route of it is ever served without it.
 */
#include "as_kms_api.h"
#include "as_push.h"

#include <stdlib.h>
#include <string.h>

struct as_kms_api {
    const call_table_t *calls;
    const metrics_t *metrics;
    void (*refresh)(void *);
    void *ud;
    sbi_auth_t *auth;
};

static void on_call(sbi_request_t *req, void *ud)
{
    as_kms_api_t *s = ud;
    const char *id = sbi_request_capture(req, "callId");
    const call_rec_t *c = id ? call_table_get(s->calls, id) : NULL;
    if (!c) {
        sbi_respond_error(req, 404, AS_CAUSE_CALL_NOT_FOUND, "no call with this Call-ID");
        return;
    }
    json_t *body = json_pack("{s:s, s:s, s:s, s:b, s:s}", "callId", c->call_id, "caller", c->caller, "callee",
                             c->callee, "encryptionAllowed", c->encryption_allowed, "state", call_state_name(c->state));
    if (body && c->hss_result_code != 0) /* only when an HSS lookup got an error answer (DESIGN §3) */
        json_object_set_new(body, "lookups",
                            json_pack("{s:{s:i, s:b, s:s}}", "hss", "resultCode", (json_int_t)c->hss_result_code,
                                      "experimental", c->hss_result_experimental, "originHost", c->hss_origin));
    if (!body) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "cannot render the call record");
        return;
    }
    sbi_respond_json(req, 200, body);
    json_decref(body);
}

static void on_metrics(sbi_request_t *req, void *ud)
{
    as_kms_api_t *s = ud;
    if (s->refresh)
        s->refresh(s->ud);
    char *text = metrics_render(s->metrics);
    if (!text) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    sbi_respond(req, 200, "text/plain; version=0.0.4", text, strlen(text));
    free(text);
}

as_kms_api_t *as_kms_api_new(sbi_server_t *srv, const call_table_t *calls, metrics_t *metrics, void (*refresh)(void *),
                             void *ud, const sbi_auth_conf_t *auth)
{
    as_kms_api_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    *s = (as_kms_api_t){calls, metrics, refresh, ud, NULL};
    if (!(s->auth = sbi_auth_attach(srv, auth, metrics, "as-sbi", NULL)) ||
        sbi_auth_exempt(s->auth, AS_PUSH_NOTIFY_PATH "/") != 0 || /* the UDM has no token: its URL has a secret */
        sbi_server_route(srv, "GET", "/as/v1/calls/{callId}", on_call, s) != 0 ||
        sbi_server_route(srv, "GET", "/metrics", on_metrics, s) != 0) {
        as_kms_api_free(s);
        return NULL;
    }
    return s;
}

void as_kms_api_free(as_kms_api_t *s)
{
    if (s)
        sbi_auth_free(s->auth);
    free(s);
}
