/*
 * ue_wav — the audio a UE agent sends and what it received: G.711 µ-law (ITU-T G.711, PCMU in RTP, RFC 3551 §4.5.14)
 * at 8 kHz mono, read from and written to WAV files (RIFF WAVE: format 7 = µ-law, format 1 = 16-bit linear PCM).
 *
 * A µ-law WAV is carried byte for byte, so "the received audio is bit-exact to the sent audio" is a file compare;
 * a 16-bit PCM WAV is encoded to µ-law on reading (the usual lossy G.711 step, done once at the sender). Files are
 * written as format 7 with the "fact" chunk that non-PCM WAVs carry. Other formats and rates are refused with a
 * reason rather than resampled: an agent that silently resampled could not claim bit-exactness.
 */
#ifndef MIHUA_UE_WAV_H
#define MIHUA_UE_WAV_H

#include <stddef.h>
#include <stdint.h>

#define UE_AUDIO_RATE 8000                   /* samples (= µ-law bytes) per second */
#define UE_WAV_MAX_BYTES (64u * 1024 * 1024) /* a larger file is refused: over two hours of 8 kHz audio */

typedef struct {
    uint8_t *data; /* µ-law samples, malloc'd */
    size_t len;
} ue_audio_t;

/* Parses a WAV held in memory. Returns 0, or -1 with a reason in err. */
int ue_wav_parse(const uint8_t *buf, size_t len, ue_audio_t *out, char *err, size_t errlen);
/* Reads a WAV file (ue_wav_parse). */
int ue_wav_read(const char *path, ue_audio_t *out, char *err, size_t errlen);
/* Writes µ-law samples as a format-7 WAV (to path.tmp, then renamed: a reader never sees half a file). 0 or -1. */
int ue_wav_write(const char *path, const uint8_t *ulaw, size_t len);
/* A test signal when no WAV is given: ms of a tone at hz, amplitude -6 dBFS, µ-law encoded. 0 or -1. */
int ue_audio_tone(ue_audio_t *out, unsigned ms, unsigned hz);
void ue_audio_free(ue_audio_t *a);

/* G.711 µ-law (the classic segment encoder with bias 0x84; 0xFF is silence). */
uint8_t ue_ulaw_encode(int16_t pcm);
int16_t ue_ulaw_decode(uint8_t u);

#endif
