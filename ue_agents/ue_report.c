/*
 * ue_report — summaries and ladders (ue_report.h). The audio fingerprints are SHA-256 of the µ-law bytes, so the
 * two ends of a call can be compared without the audio ("bit-exact" = caller's sent == callee's received).
 */
#include "ue_report.h"

#include <jansson.h>
#include <string.h>

static void hex32(const uint8_t *b, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* " name 1.234" for a milestone that happened; nothing for one that did not. */
static void milestone(FILE *out, const char *name, uint64_t us)
{
    if (us)
        fprintf(out, " %s %.3f", name, (double)us / 1000.0);
}

void ue_report_print(const ue_call_summary_t *s, FILE *out)
{
    char sent[65], recv[65];
    const ue_media_stats_t *m = &s->media;
    hex32(m->sent_sha256, sent);
    hex32(m->received_sha256, recv);
    fprintf(out, "call %s (%s, peer %s): %s\n", s->call_id, s->role, s->peer, s->connected ? "connected" : s->failure);
    if (s->encrypted)
        fprintf(out, "  encrypted: %s\n", s->suite);
    else
        fprintf(out, "  plain: %s\n", s->reason);
    fprintf(out, "  packets: sent %llu, received %llu, authenticated %llu, failed %llu\n", (unsigned long long)m->sent,
            (unsigned long long)m->received, (unsigned long long)m->authenticated, (unsigned long long)m->failed);
    fprintf(out, "  audio: sent %zu bytes sha256 %.16s, received %zu bytes sha256 %.16s\n", m->sent_bytes, sent,
            m->received_bytes, recv);
    fprintf(out, "  setup (ms after the INVITE):");
    milestone(out, "183", s->t_early);
    milestone(out, "key", s->t_key);
    milestone(out, "key-sync", s->t_keysync);
    milestone(out, "answer", s->t_answer);
    milestone(out, "first-media", s->t_first_media);
    milestone(out, "(KMS round trip", s->kms_us);
    fprintf(out, "%s\n", s->kms_us ? ")" : "");
}

void ue_report_ladder(const ue_call_summary_t *s, const ue_conf_t *c, FILE *out)
{
    char self[96], as[96], kms[96];
    snprintf(self, sizeof self, "%s %s", s->role, c->impu);
    snprintf(as, sizeof as, "AS %s", c->registrar);
    snprintf(kms, sizeof kms, "KMS %s", c->kms_url);
    fprintf(out, "\n");
    ue_ladder_print(s->ladder, out, self, as, kms);
    fprintf(out, "\n");
}

int ue_report_json(const ue_call_summary_t *s, const char *path)
{
    char sent[65], recv[65];
    const ue_media_stats_t *m = &s->media;
    hex32(m->sent_sha256, sent);
    hex32(m->received_sha256, recv);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:b, s:s, s:b, s:s, s:s, s:b,"
                  " s:{s:I, s:I, s:I, s:I}, s:{s:s, s:s, s:I, s:I, s:I},"
                  " s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
                  "role", s->role, "callId", s->call_id, "peer", s->peer, "connected", s->connected, "failure",
                  s->failure, "encrypted", s->encrypted, "suite", s->suite, "reason", s->reason, "hungUpByUs",
                  s->hung_up_by_us, "packets", "sent", (json_int_t)m->sent, "received", (json_int_t)m->received,
                  "authenticated", (json_int_t)m->authenticated, "failed", (json_int_t)m->failed, "audio", "sentSha256",
                  sent, "receivedSha256", recv, "sentBytes", (json_int_t)m->sent_bytes, "receivedBytes",
                  (json_int_t)m->received_bytes, "frames", (json_int_t)m->audio_frames, "setupUs", "early",
                  (json_int_t)s->t_early, "key", (json_int_t)s->t_key, "keySync", (json_int_t)s->t_keysync, "answer",
                  (json_int_t)s->t_answer, "firstMedia", (json_int_t)s->t_first_media, "kms", (json_int_t)s->kms_us);
    FILE *f = j ? fopen(path, "a") : NULL;
    int rc = f && json_dumpf(j, f, JSON_COMPACT) == 0 && fputc('\n', f) == '\n' ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    json_decref(j);
    return rc;
}
