/*
 * kms_cli — a command-line UE for the KMS integration test, built on kms/kms_client (the module the UE agents
 * use), so the test drives the real client code: Digest with nonce reuse, issue/retrieve/delete and unwrap.
 *
 *   kms-cli --url URL [--ca FILE] --user ID --key HEX [-n N] issue CALLID CALLER CALLEE
 *   kms-cli ... retrieve KEYID CALLID CALLER CALLEE
 *   kms-cli ... delete KEYID
 * Runs the operation N times in sequence on one connection and prints one JSON line per run (with --wait-stdin it
 * reads a line from stdin before each run after the first, so a test can act between runs on a held connection):
 *   {"result","http","cause","keyId","expiresAt","keySha256","authRounds","challenges"}
 * keySha256 is SHA-256 of the unwrapped session key: caller and callee compare fingerprints, so the key itself
 * is never printed (DESIGN §4: keys are never logged). Exit 0 when every run succeeded, 1 otherwise, 2 on usage.
 */
#include <event2/event.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_client.h"
#include "sbi/sbi_tls.h"

#define RUNS_MAX 100000

typedef struct {
    struct event_base *base;
    kms_client_t *kc;
    char **args; /* operation and its arguments */
    int n_args;
    long runs_left;
    int failures;
    int wait_stdin;
} cli_t;

static int start(cli_t *cli);

static void print_result(const kms_client_result_t *r)
{
    uint8_t fp[32];
    char hex[65] = "";
    if (r->status == KMS_CLIENT_OK && r->key_id[0] &&
        EVP_Digest(r->session_key, KMS_KEY_LEN, fp, NULL, EVP_sha256(), NULL))
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", fp[i]);
    printf("{\"result\":\"%s\",\"http\":%d,\"cause\":\"%s\",\"keyId\":\"%s\",\"expiresAt\":\"%s\","
           "\"keySha256\":\"%s\",\"authRounds\":%u,\"transport\":\"%s\"",
           kms_client_status_str(r->status), r->http_status, r->cause, r->key_id, r->expires_at, hex, r->auth_rounds,
           r->status == KMS_CLIENT_TRANSPORT ? sbi_client_strerror(r->transport) : "");
}

static void on_done(const kms_client_result_t *r, void *ud)
{
    cli_t *cli = ud;
    print_result(r);
    printf(",\"challenges\":%u}\n", kms_client_challenges(cli->kc));
    fflush(stdout);
    cli->failures += r->status != KMS_CLIENT_OK;
    char line[64];
    if (--cli->runs_left > 0 && cli->wait_stdin && !fgets(line, sizeof line, stdin))
        cli->runs_left = 0;
    if (cli->runs_left <= 0 || start(cli) != 0)
        event_base_loopbreak(cli->base);
}

static int start(cli_t *cli)
{
    const char *op = cli->args[0];
    char **a = cli->args + 1;
    if (!strcmp(op, "issue") && cli->n_args == 4)
        return kms_client_issue(cli->kc, a[0], a[1], a[2], on_done, cli);
    if (!strcmp(op, "retrieve") && cli->n_args == 5)
        return kms_client_retrieve(cli->kc, a[0], a[1], a[2], a[3], on_done, cli);
    if (!strcmp(op, "delete") && cli->n_args == 2)
        return kms_client_delete(cli->kc, a[0], on_done, cli);
    return -1;
}

static int parse_key(const char *hex, uint8_t key[KMS_KEY_LEN])
{
    if (strlen(hex) != 2 * KMS_KEY_LEN)
        return -1;
    for (int i = 0; i < KMS_KEY_LEN; i++)
        if (sscanf(hex + 2 * i, "%2hhx", &key[i]) != 1)
            return -1;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: kms-cli --url URL [--ca FILE] --user ID --key HEX [-n N [--wait-stdin]] "
                    "issue CALLID CALLER CALLEE | retrieve KEYID CALLID CALLER CALLEE | delete KEYID\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},  {"ca", required_argument, NULL, 'c'},
                                         {"user", required_argument, NULL, 'U'}, {"key", required_argument, NULL, 'k'},
                                         {"wait-stdin", no_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
    const char *url = NULL, *ca = NULL, *user = NULL, *key_hex = NULL;
    long runs = 1;
    int opt, wait_stdin = 0;
    /* "+": options end at the command word, so a keyId that starts with '-' (base64url, 1 in 64) is an operand */
    while ((opt = getopt_long(argc, argv, "+n:", opts, NULL)) != -1) {
        if (opt == 'u')
            url = optarg;
        else if (opt == 'c')
            ca = optarg;
        else if (opt == 'U')
            user = optarg;
        else if (opt == 'k')
            key_hex = optarg;
        else if (opt == 'n')
            runs = strtol(optarg, NULL, 10);
        else if (opt == 'w')
            wait_stdin = 1;
        else
            return usage();
    }
    uint8_t key[KMS_KEY_LEN];
    if (!url || !user || !key_hex || parse_key(key_hex, key) != 0 || optind >= argc || runs < 1 || runs > RUNS_MAX)
        return usage();

    char err[SBI_TLS_ERR_MAX];
    SSL_CTX *tls = strncmp(url, "https:", 6) ? NULL : sbi_tls_client_ctx_new(ca, err, sizeof err);
    cli_t cli = {.base = event_base_new(),
                 .args = argv + optind,
                 .n_args = argc - optind,
                 .runs_left = runs,
                 .wait_stdin = wait_stdin};
    sbi_client_config_t sc = {.tls = tls};
    sbi_client_t *sbi = sbi_client_new(cli.base, &sc);
    kms_client_cfg_t kc = {.base_url = url, .username = user, .kms_key = key};
    cli.kc = sbi ? kms_client_new(sbi, &kc) : NULL;
    kms_cleanse(key, sizeof key);
    int rc = 2;
    if (cli.kc && start(&cli) == 0) {
        event_base_dispatch(cli.base);
        rc = cli.failures ? 1 : 0;
    } else {
        usage();
    }
    kms_client_free(cli.kc);
    sbi_client_free(sbi);
    event_base_free(cli.base);
    SSL_CTX_free(tls);
    return rc;
}
