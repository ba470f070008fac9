/*
 * fuzz_ue — libFuzzer target for what mihua-ue reads from peers and files beyond lib/sdp's parser: the UPDATE's
 * key offer (ue_sdp_select, DESIGN §2: first of the caller's suites the callee supports, kms:<keyId> only), the
 * answer to it (ue_sdp_check_answer: exactly one of the offered lines), the remote media address (ue_sdp_remote),
 * a phone's stream with its direction and o= version (ue_sdp_stream, re-INVITE hold/resume), and WAV files (ue_wav_parse, RIFF chunks).
 *
 * The first input byte picks the mode (even: SDP, odd: WAV); the rest is the body. Properties for SDP: a
 * selected suite is one the callee supports and its keyId is base64url of bounded length; an accepted answer's
 * tag names an offered line of that suite; a usable address has a port. For WAV: a parsed file has samples.
 */
#include "fuzz.h"

#include <string.h>

#include "ue_offer.h"
#include "ue_sdp.h"
#include "ue_wav.h"

static const msrtp_suite_t OFFERED[] = {MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, MSRTP_SUITE_AEAD_AES_128_GCM,
                                        MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80};
static const msrtp_suite_t SUPPORTED[] = {MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, MSRTP_SUITE_AEAD_AES_128_GCM};

static int key_id_ok(const char *k)
{
    size_t n = strlen(k);
    return n >= 1 && n <= UE_SDP_KEY_ID_MAX &&
           strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

static void fuzz_sdp(const char *body, int len)
{
    ue_sdp_addr_t a;
    ue_sdp_choice_t c;
    ue_sdp_stream_t st;
    if (ue_sdp_remote(body, len, &a) == UE_SDP_OK)
        FUZZ_CHECK(a.port > 0 && a.ip[0]);
    if (ue_sdp_stream(body, len, &st) == UE_SDP_OK) {
        FUZZ_CHECK(st.addr.port > 0 && st.addr.ip[0]);
        FUZZ_CHECK(st.dir >= UE_SDP_SENDRECV && st.dir <= UE_SDP_INACTIVE);
        /* the answer mirrors it: answering the answer gives the offer back (RFC 3264 §6.1) */
        FUZZ_CHECK(ue_offer_answer_dir(ue_offer_answer_dir(st.dir)) == st.dir);
    }
    if (ue_sdp_select(body, len, SUPPORTED, 2, &c) == UE_SDP_OK) {
        FUZZ_CHECK(c.suite == SUPPORTED[0] || c.suite == SUPPORTED[1]);
        FUZZ_CHECK(key_id_ok(c.key_id));
        FUZZ_CHECK(c.remote.port > 0);
    }
    if (ue_sdp_check_answer(body, len, OFFERED, 3, "AbCdEfGhIjKlMnOpQrStUv", &c) == UE_SDP_OK) {
        FUZZ_CHECK(c.tag >= 1 && c.tag <= 3 && OFFERED[c.tag - 1] == c.suite);
        FUZZ_CHECK(strcmp(c.key_id, "AbCdEfGhIjKlMnOpQrStUv") == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 > UE_SDP_MAX * 8)
        return 0;
    if (data[0] & 1) {
        ue_audio_t au;
        char err[160];
        if (ue_wav_parse(data + 1, size - 1, &au, err, sizeof err) == 0) {
            FUZZ_CHECK(au.len > 0 && au.data);
            ue_audio_free(&au);
        } else {
            FUZZ_CHECK(err[0] != '\0');
        }
        return 0;
    }
    char *body = malloc(size); /* exact size (no NUL): ASan sees any read past the body */
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    fuzz_sdp(body, (int)(size - 1));
    free(body);
    return 0;
}
