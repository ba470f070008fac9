/*
 * probe_sh — `mihua-probe sh`: one UDR to any HSS, the UDA decoded (TS 29.328 §6.1.1, TS 29.329 §6.1).
 *
 * Where the probe connects (--peer, --peer-identity: an HSS or a relay) is separate from where the UDR is
 * addressed (--dest-host, sent only when given; --dest-realm), as in the AS (DESIGN §3 "Diameter routing").
 * --hss/--hss-host stay as the direct-HSS shorthand: peer = that HSS, and its identity is the Destination-Host.
 *
 * The probe is a short-lived freeDiameter node that does not listen: it connects to the one peer it was given,
 * waits for the capabilities exchange to finish, sends the UDR and waits for the answer on a condition variable
 * (the answer callback runs on a freeDiameter thread). Its default Origin-Host carries the process id, so several
 * probes can query one HSS at the same time without being taken for the same peer. The answer is printed for a
 * person, or with --json for a script; the exit code says what happened (0 success, 3 error answer, 1 no answer,
 * 2 usage). --pcap runs dumpcap (probe_pcap) from before the capabilities exchange to the answer; it stops before
 * freeDiameter is shut down (that teardown may end the process), so the disconnect is not in the file.
 */
#include "probe_sh.h"

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "diameter/diam_node.h"
#include "diameter/sh_msg.h"
#include "probe_pcap.h"

#define PROBE_DEFAULT_HSS_HOST "hss.ims.test"
#define PROBE_DEFAULT_REALM "ims.test"
#define PROBE_DEFAULT_DATA_REFS "repository-data,tads"
#define PROBE_DEFAULT_TIMEOUT_MS 5000
#define PROBE_MAX_NAME 256

enum { PROBE_EXIT_OK = 0, PROBE_EXIT_NO_ANSWER = 1, PROBE_EXIT_USAGE = 2, PROBE_EXIT_ERROR_ANSWER = 3 };

typedef struct {
    char addr[PROBE_MAX_NAME];
    int port;
    const char *hss_host;  /* the peer's identity (--peer-identity, or the --hss-host shorthand) */
    const char *dest_host; /* Destination-Host; NULL = none */
    const char *origin_host;
    const char *realm;
    const char *dest_realm;
    const char *impu;
    const char *msisdn;
    const char *service_indication;
    const char *pcap; /* --pcap FILE, or NULL */
    uint32_t data_refs[SH_MAX_DATA_REFS];
    size_t n_data_refs;
    int timeout_ms;
    int json;
    int show_xml;
} probe_opts_t;

/* Where the answer callback leaves the answer for the main thread. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct msg *answer;
    int done;
} probe_wait_t;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mihua-probe sh --peer HOST:PORT (--impu URI | --msisdn DIGITS) [OPTIONS]\n"
            "Sends one Sh User-Data-Request (TS 29.329) to an HSS, directly or through a relay, over cleartext TCP,\n"
            "and prints the answer: the Origin-Host that answered and any Result-Code or Experimental-Result.\n"
            "\n"
            "  --peer HOST:PORT          the Diameter peer to connect to: the HSS, or a relay (required)\n"
            "  --peer-identity FQDN      its Diameter identity (Origin-Host in its CEA); no Destination-Host is\n"
            "                            sent unless --dest-host\n"
            "  --dest-host FQDN          Destination-Host of the UDR (behind a relay: the HSS); default none\n"
            "  --hss HOST:PORT           the same as --peer\n"
            "  --hss-host FQDN           shorthand for a direct HSS: peer identity AND Destination-Host;\n"
            "                            default %s when no --peer-identity\n"
            "  --impu URI                User-Identity/Public-Identity, e.g. sip:+15550000001@ims.example\n"
            "  --msisdn DIGITS           User-Identity/MSISDN instead of --impu\n"
            "  --data-ref LIST           comma-separated: repository-data, ims-public-identity, msisdn, tads,\n"
            "                            or numbers (TS 29.328 §7.6); default %s\n"
            "  --service-indication SI   with repository-data; default %s\n"
            "  --realm REALM             our Origin-Realm; default %s\n"
            "  --dest-realm REALM        Destination-Realm; default the domain of the Destination-Host, else --realm\n"
            "  --origin-host FQDN        our Origin-Host; default probe-<pid>.<realm>\n"
            "  --timeout-ms N            for connecting and for the answer; default %d\n"
            "  --json                    print the answer as one JSON object\n"
            "  --xml                     also print the raw Sh-Data XML\n"
            "  --log-level LEVEL         error, warn, info, debug; default warn\n"
            "  --pcap FILE               capture the exchange (CER to UDA) with dumpcap into FILE (pcapng);\n"
            "                            when dumpcap cannot start nothing is sent (exit 1)\n"
            "\n"
            "Exit codes: 0 success answer, 3 Diameter error answer, 1 no answer, 2 bad usage.\n",
            PROBE_DEFAULT_HSS_HOST, PROBE_DEFAULT_DATA_REFS, SH_SERVICE_INDICATION_VOENC, PROBE_DEFAULT_REALM,
            PROBE_DEFAULT_TIMEOUT_MS);
}

static int parse_hostport(const char *s, probe_opts_t *o)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long port;

    if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof o->addr)
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535)
        return -1;
    memcpy(o->addr, s, (size_t)(colon - s));
    o->addr[colon - s] = '\0';
    o->port = (int)port;
    return 0;
}

static int parse_data_refs(const char *list, probe_opts_t *o)
{
    char buf[PROBE_MAX_NAME];
    char *save = NULL;

    if (strlen(list) >= sizeof buf)
        return -1;
    strcpy(buf, list);
    o->n_data_refs = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_data_refs == SH_MAX_DATA_REFS || sh_data_ref_parse(tok, &o->data_refs[o->n_data_refs]) != 0)
            return -1;
        o->n_data_refs++;
    }
    return o->n_data_refs > 0 ? 0 : -1;
}

static int parse_opts(int argc, char **argv, probe_opts_t *o, char *origin_buf, size_t origin_size)
{
    enum {
        O_HSS = 256,
        O_HSS_HOST,
        O_PEER_ID,
        O_DHOST,
        O_IMPU,
        O_MSISDN,
        O_DREF,
        O_SI,
        O_REALM,
        O_DREALM,
        O_ORIGIN,
        O_TIMEOUT,
        O_JSON,
        O_XML,
        O_LOG,
        O_PCAP
    };
    static const struct option opts[] = {
        {"hss", required_argument, NULL, O_HSS},
        {"hss-host", required_argument, NULL, O_HSS_HOST},
        {"peer", required_argument, NULL, O_HSS},
        {"peer-identity", required_argument, NULL, O_PEER_ID},
        {"dest-host", required_argument, NULL, O_DHOST},
        {"impu", required_argument, NULL, O_IMPU},
        {"msisdn", required_argument, NULL, O_MSISDN},
        {"data-ref", required_argument, NULL, O_DREF},
        {"service-indication", required_argument, NULL, O_SI},
        {"realm", required_argument, NULL, O_REALM},
        {"dest-realm", required_argument, NULL, O_DREALM},
        {"origin-host", required_argument, NULL, O_ORIGIN},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"json", no_argument, NULL, O_JSON},
        {"xml", no_argument, NULL, O_XML},
        {"log-level", required_argument, NULL, O_LOG},
        {"help", no_argument, NULL, 'h'},
        {"pcap", required_argument, NULL, O_PCAP},
        {NULL, 0, NULL, 0},
    };
    const char *drefs = PROBE_DEFAULT_DATA_REFS;
    const char *peer_identity = NULL, *hss_host = NULL, *dest_host = NULL;
    log_level_t level = LOG_LVL_WARN;
    int opt;

    memset(o, 0, sizeof *o);
    o->hss_host = PROBE_DEFAULT_HSS_HOST;
    o->realm = PROBE_DEFAULT_REALM;
    o->service_indication = SH_SERVICE_INDICATION_VOENC;
    o->timeout_ms = PROBE_DEFAULT_TIMEOUT_MS;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case O_HSS:
            if (parse_hostport(optarg, o) != 0) {
                fprintf(stderr, "mihua-probe sh: --peer/--hss: expected HOST:PORT, not '%s'\n", optarg);
                return PROBE_EXIT_USAGE;
            }
            break;
        case O_HSS_HOST:
            hss_host = optarg;
            break;
        case O_PEER_ID:
            peer_identity = optarg;
            break;
        case O_DHOST:
            dest_host = optarg;
            break;
        case O_IMPU:
            o->impu = optarg;
            break;
        case O_MSISDN:
            o->msisdn = optarg;
            break;
        case O_DREF:
            drefs = optarg;
            break;
        case O_SI:
            o->service_indication = optarg;
            break;
        case O_REALM:
            o->realm = optarg;
            break;
        case O_DREALM:
            o->dest_realm = optarg;
            break;
        case O_ORIGIN:
            o->origin_host = optarg;
            break;
        case O_TIMEOUT:
            o->timeout_ms = atoi(optarg);
            if (o->timeout_ms <= 0) {
                fprintf(stderr, "mihua-probe sh: --timeout-ms: must be a positive integer\n");
                return PROBE_EXIT_USAGE;
            }
            break;
        case O_JSON:
            o->json = 1;
            break;
        case O_XML:
            o->show_xml = 1;
            break;
        case O_PCAP:
            o->pcap = optarg;
            break;
        case O_LOG:
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "mihua-probe sh: --log-level: must be error, warn, info or debug\n");
                return PROBE_EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return PROBE_EXIT_USAGE;
        }
    }
    log_set_level(level);
    if (o->port == 0 || (o->impu == NULL) == (o->msisdn == NULL)) {
        fprintf(stderr, "mihua-probe sh: need --peer (or --hss) and exactly one of --impu or --msisdn\n");
        return PROBE_EXIT_USAGE;
    }
    if (peer_identity && hss_host) {
        fprintf(stderr, "mihua-probe sh: --hss-host is the direct-HSS shorthand: with --peer-identity, give the "
                        "Destination-Host as --dest-host\n");
        return PROBE_EXIT_USAGE;
    }
    /* New style: the peer only, Destination-Host only when asked. Shorthand: the HSS is both. */
    o->hss_host = peer_identity ? peer_identity : hss_host ? hss_host : PROBE_DEFAULT_HSS_HOST;
    o->dest_host = dest_host ? dest_host : peer_identity ? NULL : o->hss_host;
    if (parse_data_refs(drefs, o) != 0) {
        fprintf(stderr, "mihua-probe sh: --data-ref: bad list '%s' (at most %d names or numbers)\n", drefs,
                SH_MAX_DATA_REFS);
        return PROBE_EXIT_USAGE;
    }
    if (o->dest_realm == NULL) {
        const char *dot = o->dest_host ? strchr(o->dest_host, '.') : NULL;
        o->dest_realm = dot != NULL && dot[1] != '\0' ? dot + 1 : o->realm;
    }
    if (o->origin_host == NULL) {
        snprintf(origin_buf, origin_size, "probe-%ld.%s", (long)getpid(), o->realm);
        o->origin_host = origin_buf;
    }
    return PROBE_EXIT_OK;
}

static void on_answer(void *data, struct msg **ans)
{
    probe_wait_t *w = data;

    pthread_mutex_lock(&w->lock);
    w->answer = *ans;
    *ans = NULL;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void on_expire(void *data, DiamId_t peer, size_t peer_len, struct msg **req)
{
    probe_wait_t *w = data;

    (void)peer;
    (void)peer_len;
    fd_msg_free(*req);
    *req = NULL;
    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

struct msg *probe_sh_send(struct msg *req, int timeout_ms, double *latency_ms)
{
    probe_wait_t w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    struct timespec expire, deadline, t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    deadline_in(&expire, timeout_ms);
    if (fd_msg_send_timeout(&req, on_answer, &w, on_expire, &expire) != 0) {
        fprintf(stderr, "mihua-probe: freeDiameter refused to send the request\n");
        fd_msg_free(req);
        return NULL;
    }
    /* freeDiameter's own expiry fires at `expire`; the extra second only guards against a lost callback. */
    deadline_in(&deadline, timeout_ms + 1000);
    pthread_mutex_lock(&w.lock);
    while (!w.done)
        if (pthread_cond_timedwait(&w.cond, &w.lock, &deadline) != 0)
            break;
    struct msg *ans = w.answer;
    pthread_mutex_unlock(&w.lock);
    *latency_ms = ms_since(&t0);
    return ans;
}

/* Sends the UDR and waits for its answer; returns the answer (caller frees) or NULL. */
static struct msg *exchange(const sh_dict_t *dict, const probe_opts_t *o, double *latency_ms)
{
    sh_udr_params_t p = {
        .public_identity = o->impu,
        .msisdn = o->msisdn,
        .data_refs = o->data_refs,
        .n_data_refs = o->n_data_refs,
        .service_indication = o->service_indication,
        .dest_realm = o->dest_realm,
        .dest_host = o->dest_host,
    };
    struct msg *req = NULL;

    if (sh_udr_build(dict, &p, &req) != 0) {
        fprintf(stderr, "mihua-probe sh: could not build the UDR\n");
        return NULL;
    }
    return probe_sh_send(req, o->timeout_ms, latency_ms);
}

static const char *vops_name(sh_vops_t v)
{
    return v == SH_VOPS_SUPPORTED ? "supported" : v == SH_VOPS_NOT_SUPPORTED ? "not supported" : "unknown";
}

static json_t *sh_data_json(const sh_data_t *d)
{
    json_t *o = json_object();
    char rat[32];

    if (d->n_impu > 0) {
        json_t *a = json_array();
        for (size_t i = 0; i < d->n_impu; i++)
            json_array_append_new(a, json_string(d->impu[i]));
        json_object_set_new(o, "imsPublicIdentity", a);
    }
    if (d->msisdn != NULL)
        json_object_set_new(o, "msisdn", json_string(d->msisdn));
    if (d->n_repo > 0) {
        json_t *a = json_array();
        for (size_t i = 0; i < d->n_repo; i++)
            json_array_append_new(a, json_pack("{s:s, s:I, s:s?}", "serviceIndication", d->repo[i].service_indication,
                                               "sequenceNumber", (json_int_t)d->repo[i].sequence_number, "serviceData",
                                               d->repo[i].service_data));
        json_object_set_new(o, "repositoryData", a);
    }
    if (d->has_tads) {
        json_t *t = json_pack("{s:i}", "imsVoiceOverPSSessionSupport", (int)d->ims_vops);
        if (d->has_rat) {
            json_object_set_new(t, "ratType", json_integer(d->rat_type));
            json_object_set_new(t, "ratName", json_string(sh_rat_name(d->rat_type, rat, sizeof rat)));
        }
        if (d->last_ue_activity != NULL)
            json_object_set_new(t, "lastUEActivityTime", json_string(d->last_ue_activity));
        json_object_set_new(o, "tadsInformation", t);
    }
    return o;
}

static void print_json(const sh_uda_t *a, double latency_ms)
{
    json_t *o = json_pack("{s:s, s:f}", "originHost", a->origin_host, "latencyMs", round(latency_ms * 1000) / 1000);

    if (a->has_result_code)
        json_object_set_new(
            o, "resultCode",
            json_pack("{s:I, s:s}", "code", (json_int_t)a->result_code, "name", sh_result_name(a->result_code, false)));
    if (a->has_experimental)
        json_object_set_new(o, "experimentalResult",
                            json_pack("{s:I, s:I, s:s}", "vendorId", (json_int_t)a->exp_vendor, "code",
                                      (json_int_t)a->exp_code, "name", sh_result_name(a->exp_code, true)));
    json_object_set_new(o, "success", json_boolean(sh_uda_success(a)));
    if (a->has_data)
        json_object_set_new(o, "shData", sh_data_json(&a->data));
    else if (a->user_data != NULL)
        json_object_set_new(o, "shDataError", json_string(a->data_error));
    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(o);
}

static void print_text(const sh_uda_t *a, double latency_ms, int show_xml)
{
    const sh_data_t *d = &a->data;
    char rat[32];

    printf("UDA from %s in %.2f ms\n", a->origin_host, latency_ms);
    if (a->has_result_code)
        printf("  Result-Code: %u %s\n", a->result_code, sh_result_name(a->result_code, false));
    if (a->has_experimental)
        printf("  Experimental-Result: vendor %u, code %u %s\n", a->exp_vendor, a->exp_code,
               sh_result_name(a->exp_code, true));
    if (a->user_data == NULL)
        return;
    printf("  User-Data: %zu bytes of Sh-Data\n", a->user_data_len);
    if (!a->has_data)
        printf("    (does not parse: %s)\n", a->data_error);
    for (size_t i = 0; a->has_data && i < d->n_impu; i++)
        printf("    IMSPublicIdentity: %s\n", d->impu[i]);
    if (a->has_data && d->msisdn != NULL)
        printf("    MSISDN: %s\n", d->msisdn);
    for (size_t i = 0; a->has_data && i < d->n_repo; i++)
        printf("    RepositoryData: ServiceIndication=%s SequenceNumber=%u ServiceData=%s\n",
               d->repo[i].service_indication, d->repo[i].sequence_number,
               d->repo[i].service_data ? d->repo[i].service_data : "-");
    if (a->has_data && d->has_tads)
        printf("    TADSinformation: IMSVoiceOverPSSessionSupport=%d (%s) RATtype=%s LastUEActivityTime=%s\n",
               (int)d->ims_vops, vops_name(d->ims_vops), d->has_rat ? sh_rat_name(d->rat_type, rat, sizeof rat) : "-",
               d->last_ue_activity ? d->last_ue_activity : "-");
    if (show_xml)
        printf("%s\n", a->user_data);
}

static int report(const sh_dict_t *dict, struct msg *ans, const probe_opts_t *o, double latency_ms)
{
    sh_uda_t a;
    int rc;

    if (sh_uda_read(dict, ans, &a) != 0) {
        fprintf(stderr, "mihua-probe sh: the answer is not a UDA\n");
        return PROBE_EXIT_NO_ANSWER;
    }
    if (o->json)
        print_json(&a, latency_ms);
    else
        print_text(&a, latency_ms, o->show_xml);
    rc = sh_uda_success(&a) ? PROBE_EXIT_OK : PROBE_EXIT_ERROR_ANSWER;
    sh_uda_clear(&a);
    return rc;
}

/* Waits for the peer, sends the UDR and prints the answer; the exit code. */
static int query(diam_node_t *node, const sh_dict_t *dict, const probe_opts_t *o)
{
    double latency_ms = 0;
    int rc;

    if (diam_node_wait_peer(node, o->hss_host, o->timeout_ms) != 0) {
        fprintf(stderr, "mihua-probe sh: no Diameter connection to %s at %s:%d within %d ms\n", o->hss_host, o->addr,
                o->port, o->timeout_ms);
        return PROBE_EXIT_NO_ANSWER;
    }
    struct msg *ans = exchange(dict, o, &latency_ms);
    if (ans == NULL) {
        fprintf(stderr, "mihua-probe sh: no answer from %s within %d ms\n", o->hss_host, o->timeout_ms);
        return PROBE_EXIT_NO_ANSWER;
    }
    rc = report(dict, ans, o, latency_ms);
    fd_msg_free(ans);
    return rc;
}

int probe_sh_main(int argc, char **argv)
{
    probe_opts_t o;
    char origin[PROBE_MAX_NAME];
    char err[256];
    sh_dict_t dict;
    int rc = parse_opts(argc, argv, &o, origin, sizeof origin);

    if (rc == -1)
        return PROBE_EXIT_OK; /* --help */
    if (rc != PROBE_EXIT_OK)
        return rc;

    diam_node_conf_t dc = {
        .identity = o.origin_host,
        .realm = o.realm,
        .port = 0,
        .peers = {{.identity = o.hss_host, .addr = o.addr, .port = o.port}},
        .n_peers = 1,
        .tc_timer = 6,
        .tw_timer = 30,
        .fd_debug = log_get_level() >= LOG_LVL_DEBUG,
    };
    probe_pcap_t *cap = NULL;
    if (o.pcap != NULL && (cap = probe_pcap_start(o.pcap, o.addr, &o.port, 1, false, err, sizeof err)) == NULL) {
        fprintf(stderr, "mihua-probe sh: --pcap: %s\n", err);
        return PROBE_EXIT_NO_ANSWER;
    }
    diam_node_t *node = diam_node_start(&dc, &dict, err, sizeof err);
    if (node == NULL) {
        fprintf(stderr, "mihua-probe sh: freeDiameter: %s\n", err);
        probe_pcap_stop(cap);
        return PROBE_EXIT_NO_ANSWER;
    }
    rc = query(node, &dict, &o);
    probe_pcap_stop(cap); /* no TLS: nothing to embed, nothing that can fail */
    diam_node_stop_status(node, rc);
    return rc;
}
