/*
 * ue_wav — WAV reading and writing, G.711 µ-law (ue_wav.h).
 *
 * The reader walks the RIFF chunks (any order, odd sizes padded, unknown chunks skipped) and needs one "fmt " and
 * one "data" chunk. Every length is checked against what is left of the buffer before use.
 */
#include "ue_wav.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAV_FMT_PCM 1
#define WAV_FMT_MULAW 7
#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = v, p[1] = v >> 8, p[2] = v >> 16, p[3] = v >> 24;
}
static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

uint8_t ue_ulaw_encode(int16_t pcm)
{
    int sign = pcm < 0 ? 0x80 : 0, mag = pcm < 0 ? -(int)pcm : pcm, exp = 7;
    if (mag > ULAW_CLIP)
        mag = ULAW_CLIP;
    mag += ULAW_BIAS;
    for (int mask = 0x4000; exp > 0 && !(mag & mask); mask >>= 1)
        exp--;
    int mant = (mag >> (exp + 3)) & 0x0f;
    return (uint8_t) ~(sign | exp << 4 | mant);
}

int16_t ue_ulaw_decode(uint8_t u)
{
    u = (uint8_t)~u;
    int exp = (u >> 4) & 0x07, mant = u & 0x0f;
    int mag = ((mant << 3) + ULAW_BIAS) << exp;
    return (int16_t)(u & 0x80 ? ULAW_BIAS - mag : mag - ULAW_BIAS);
}

static int fail(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return -1;
}

/* The fmt chunk: µ-law or 16-bit PCM, mono, 8 kHz. Returns the format code or -1. */
static int wav_check_fmt(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
    if (len < 16)
        return fail(err, errlen, "fmt chunk shorter than 16 bytes");
    uint16_t fmt = rd16(p), ch = rd16(p + 2), bits = rd16(p + 14);
    uint32_t rate = rd32(p + 4);
    if (fmt != WAV_FMT_MULAW && fmt != WAV_FMT_PCM)
        return fail(err, errlen, "only G.711 u-law (format 7) or 16-bit PCM (format 1) WAVs are supported");
    if (ch != 1 || rate != UE_AUDIO_RATE)
        return fail(err, errlen, "WAV must be mono at 8000 Hz (PCMU); resample it first, e.g. with sox");
    if ((fmt == WAV_FMT_MULAW && bits != 8) || (fmt == WAV_FMT_PCM && bits != 16))
        return fail(err, errlen, "WAV sample size must be 8 bits (u-law) or 16 bits (PCM)");
    return fmt;
}

static int wav_take_data(const uint8_t *p, uint32_t len, int fmt, ue_audio_t *out, char *err, size_t errlen)
{
    size_t n = fmt == WAV_FMT_MULAW ? len : len / 2;
    if (n == 0)
        return fail(err, errlen, "WAV data chunk is empty");
    if (!(out->data = malloc(n)))
        return fail(err, errlen, "out of memory");
    if (fmt == WAV_FMT_MULAW)
        memcpy(out->data, p, n);
    else
        for (size_t i = 0; i < n; i++)
            out->data[i] = ue_ulaw_encode((int16_t)rd16(p + 2 * i));
    out->len = n;
    return 0;
}

int ue_wav_parse(const uint8_t *buf, size_t len, ue_audio_t *out, char *err, size_t errlen)
{
    *out = (ue_audio_t){0};
    if (len < 12 || memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0)
        return fail(err, errlen, "not a RIFF WAVE file");
    int fmt = 0;
    for (size_t off = 12; off + 8 <= len;) {
        uint32_t clen = rd32(buf + off + 4);
        const uint8_t *body = buf + off + 8;
        if (clen > len - off - 8)
            return fail(err, errlen, "a WAV chunk runs past the end of the file");
        if (memcmp(buf + off, "fmt ", 4) == 0 && (fmt = wav_check_fmt(body, clen, err, errlen)) < 0)
            return -1;
        if (memcmp(buf + off, "data", 4) == 0)
            return fmt > 0 ? wav_take_data(body, clen, fmt, out, err, errlen)
                           : fail(err, errlen, "WAV data chunk before its fmt chunk");
        off += 8 + (size_t)clen + (clen & 1);
    }
    return fail(err, errlen, "WAV has no data chunk");
}

int ue_wav_read(const char *path, ue_audio_t *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    uint8_t *buf = malloc(UE_WAV_MAX_BYTES);
    size_t n = buf ? fread(buf, 1, UE_WAV_MAX_BYTES, f) : 0;
    int too_big = buf && n == UE_WAV_MAX_BYTES && fgetc(f) != EOF;
    fclose(f);
    char why[160] = "out of memory";
    int rc = buf && !too_big ? ue_wav_parse(buf, n, out, why, sizeof why) : -1;
    if (too_big)
        snprintf(why, sizeof why, "larger than %u bytes", UE_WAV_MAX_BYTES);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    free(buf);
    return rc;
}

int ue_wav_write(const char *path, const uint8_t *ulaw, size_t len)
{
    uint8_t h[58];
    char tmp[4096];
    if (len > UE_WAV_MAX_BYTES || snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    memcpy(h, "RIFF", 4), wr32(h + 4, (uint32_t)(50 + len + (len & 1))), memcpy(h + 8, "WAVEfmt ", 8);
    wr32(h + 16, 18), wr16(h + 20, WAV_FMT_MULAW), wr16(h + 22, 1), wr32(h + 24, UE_AUDIO_RATE);
    wr32(h + 28, UE_AUDIO_RATE), wr16(h + 32, 1), wr16(h + 34, 8), wr16(h + 36, 0);
    memcpy(h + 38, "fact", 4), wr32(h + 42, 4), wr32(h + 46, (uint32_t)len);
    memcpy(h + 50, "data", 4), wr32(h + 54, (uint32_t)len);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    int ok =
        fwrite(h, 1, sizeof h, f) == sizeof h && fwrite(ulaw, 1, len, f) == len && (!(len & 1) || fputc(0, f) == 0);
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

int ue_audio_tone(ue_audio_t *out, unsigned ms, unsigned hz)
{
    size_t n = (size_t)ms * UE_AUDIO_RATE / 1000;
    *out = (ue_audio_t){0};
    if (n == 0 || hz == 0 || hz >= UE_AUDIO_RATE / 2 || !(out->data = malloc(n)))
        return -1;
    for (size_t i = 0; i < n; i++)
        out->data[i] = ue_ulaw_encode((int16_t)(16384.0 * sin(2.0 * M_PI * hz * (double)i / UE_AUDIO_RATE)));
    out->len = n;
    return 0;
}

void ue_audio_free(ue_audio_t *a)
{
    free(a->data);
    *a = (ue_audio_t){0};
}
