/*
 * fuzz_sdp — libFuzzer target for lib/sdp: sdp_parse (RFC 4566 §5 lines v o s c t m a, RFC 3264 direction
 * attributes, RFC 4568 §9.1 a=crypto with the kms: key method) and sdp_build, the other half of an offer/answer.
 *
 * Properties checked on top of the sanitizers, for a body that parses:
 *   - it builds (sdp_build never refuses a session that sdp_parse produced) and what it builds parses again,
 *     unless building pushed it over SDP_MAX_SIZE or SDP_MAX_LINES (bare-LF lines gain a CR, s= may be added);
 *   - the rebuilt session keeps what mihua reads: media count, type, port, proto, formats, crypto suites, tags,
 *     key methods and key info, rtpmaps and directions; and building it once more gives the same bytes;
 *   - the helpers the UE agents call on an offer or answer (sdp_find_media, sdp_answer_crypto, sdp_crypto_select)
 *     cope with it.
 * sdp_session_t holds slices, so the second parse points into the first build's buffer; both live until the end.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "sdp/sdp.h"

#define BUILD_CAP (2 * SDP_MAX_SIZE) /* a rebuilt body is at most the original plus a CR per line and an s= line */

typedef struct {
    sdp_session_t first, second;
    char built[BUILD_CAP], rebuilt[BUILD_CAP];
} work_t;

static bool str_same(sip_str_t a, sip_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, (size_t)a.len) == 0);
}

static int count_lines(const char *s, int n)
{
    int lines = 0;
    for (int i = 0; i < n; i++)
        lines += s[i] == '\n';
    return lines;
}

/* The offer/answer helpers of DESIGN §2 on whatever parsed. */
static void run_helpers(const sdp_session_t *s)
{
    const char *const supported[] = {"SM4_CM_128_HMAC_SM3_80", "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"};
    const sdp_media_t *audio = sdp_find_media(s, "audio");
    if (!audio)
        return;
    (void)sdp_answer_crypto(audio);
    int pick = sdp_crypto_select(audio, supported, (int)(sizeof supported / sizeof supported[0]));
    FUZZ_CHECK(pick >= -1 && pick < audio->ncrypto);
    (void)sdp_dir_str(audio->dir);
}

static void check_crypto(const sdp_crypto_t *a, const sdp_crypto_t *b)
{
    FUZZ_CHECK(a->tag == b->tag && str_same(a->suite, b->suite) && a->method == b->method);
    FUZZ_CHECK(str_same(a->method_str, b->method_str) && str_same(a->key_info, b->key_info));
}

static void check_rtpmap(const sdp_rtpmap_t *a, const sdp_rtpmap_t *b)
{
    FUZZ_CHECK(a->pt == b->pt && a->clock == b->clock && str_same(a->encoding, b->encoding));
    FUZZ_CHECK((a->params.s == NULL) == (b->params.s == NULL) && str_same(a->params, b->params));
}

static void check_media(const sdp_media_t *a, const sdp_media_t *b)
{
    FUZZ_CHECK(str_same(a->type, b->type) && a->port == b->port && str_same(a->proto, b->proto));
    FUZZ_CHECK(a->nfmt == b->nfmt && a->nrtpmap == b->nrtpmap && a->ncrypto == b->ncrypto);
    FUZZ_CHECK(a->nattr == b->nattr && a->dir == b->dir && str_same(a->conn.addr, b->conn.addr));
    for (int i = 0; i < a->nfmt; i++)
        FUZZ_CHECK(str_same(a->fmts[i], b->fmts[i]));
    for (int i = 0; i < a->nrtpmap; i++)
        check_rtpmap(&a->rtpmap[i], &b->rtpmap[i]);
    for (int i = 0; i < a->ncrypto; i++)
        check_crypto(&a->crypto[i], &b->crypto[i]);
    for (int i = 0; i < a->nattr; i++)
        FUZZ_CHECK(str_same(a->attrs[i], b->attrs[i]));
}

static void check_session(const sdp_session_t *a, const sdp_session_t *b)
{
    FUZZ_CHECK(str_same(a->origin.username, b->origin.username) && str_same(a->origin.conn.addr, b->origin.conn.addr));
    FUZZ_CHECK(str_same(a->conn.addr, b->conn.addr) && a->dir == b->dir);
    FUZZ_CHECK(str_same(a->t_start, b->t_start) && str_same(a->t_stop, b->t_stop));
    FUZZ_CHECK(a->nmedia == b->nmedia);
    for (int i = 0; i < a->nmedia; i++)
        check_media(&a->media[i], &b->media[i]);
}

/* Build, re-parse, compare, build again: the second build must be byte-identical to the first. */
static void round_trip(work_t *w)
{
    int n = sdp_build(&w->first, w->built, BUILD_CAP);
    FUZZ_CHECK(n > 0);
    if (n > SDP_MAX_SIZE || count_lines(w->built, n) > SDP_MAX_LINES)
        return;
    sdp_err_t err = sdp_parse(&w->second, w->built, n);
    if (err != SDP_OK)
        fprintf(stderr, "rebuilt SDP refused at line %d: %s\n", w->second.err_line, w->second.err_reason);
    FUZZ_CHECK(err == SDP_OK);
    check_session(&w->first, &w->second);
    run_helpers(&w->second);
    int n2 = sdp_build(&w->second, w->rebuilt, BUILD_CAP);
    FUZZ_CHECK(n2 == n && memcmp(w->built, w->rebuilt, (size_t)n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    work_t *w = malloc(sizeof *w);
    if (!w)
        return 0;
    int len = size > SDP_MAX_SIZE ? SDP_MAX_SIZE + 1 : (int)size; /* still too big, and the int stays exact */
    sdp_err_t err = sdp_parse(&w->first, (const char *)data, len);
    FUZZ_CHECK(err == SDP_OK || (w->first.err_reason != NULL && sdp_err_str(err) != NULL));
    if (err == SDP_OK) {
        run_helpers(&w->first);
        round_trip(w);
    }
    free(w);
    return 0;
}
