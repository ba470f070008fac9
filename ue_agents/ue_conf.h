/*
 * ue_conf — mihua-ue settings: defaults, the JSON config file (-c), then command-line overrides (lib/core/cli),
 * and the command (register, call TARGET, answer) from the operands.
 *
 * One file describes one UE (DESIGN §1): its identity, where its registrar (the AS) is, whether its
 * terminal is capable of voice encryption and which RAT it is camped on, the SRTP suites it supports in its
 * preference order, and its KMS credentials. The run options (--duration, --wav, --auto, --ladder, ...) are
 * settings too, so a file may give their defaults. Every failure here is exit 2 with the reason on stderr.
 */
#ifndef MIHUA_UE_CONF_H
#define MIHUA_UE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "kms/kms_crypto.h"
#include "sbi/sbi_url.h"
#include "srtp/msrtp.h"

typedef enum { UE_CMD_REGISTER = 0, UE_CMD_CALL, UE_CMD_ANSWER, UE_CMD_LOAD } ue_cmd_t;

typedef struct {
    /* identity and network */
    char *impu;         /* "sip:+15550000001@ims.mnc001.mcc001.3gppnetwork.org" or "tel:+15550000001" */
    char *registrar;    /* the AS, "ADDR:PORT" */
    char *sip_listen;   /* our SIP UDP socket, "ADDR:PORT" (port 0 picks one) */
    char *media_ip;     /* where RTP is bound; default the SIP address */
    bool capable;       /* the terminal supports voice encryption */
    char *rat;          /* EUTRAN, NR, UTRAN, GERAN, NONE: what the terminal is camped on */
    char **suite_names; /* preference order */
    size_t n_suite_names;
    long expires;          /* REGISTER Expires */
    long update_wait_ms;   /* callee: how long after the PRACK it waits for the key offer (UPDATE) */
    long setup_timeout_ms; /* caller: no final answer by then -> CANCEL */
    /* KMS (DESIGN §4) */
    char *kms_url;
    char *kms_ca;
    char *kms_key_hex;
    char *sip_password; /* DESIGN §5 sip_password: answers the registrar's 401 and a 407 to an INVITE (Digest) */
    long kms_timeout_ms;
    char *log_level_name;
    /* run options */
    char *duration; /* seconds of audio the caller sends, decimal ("3", "0.5") */
    char *wav;      /* audio to send (µ-law or 16-bit PCM WAV, 8 kHz mono); default a tone */
    char *wav_out;  /* where the received audio goes */
    char *summary;  /* JSON summary file */
    bool auto_answer;
    bool ladder;
    long answer_after_ms; /* ringing time before an automatic answer */
    long count;           /* answer: calls to take before exiting (0: until SIGTERM) */
    long calls;           /* load: calls to place */
    long rate;            /* load: calls started per second */
    bool quiet;           /* no per-call summary on stdout (load tests) */

    /* derived */
    ue_cmd_t cmd;
    const char *target; /* call or load TARGET (points into argv) */
    log_level_t log_level;
    msrtp_suite_t suites[MSRTP_SUITE_COUNT];
    size_t n_suites;
    uint8_t kms_key[KMS_KEY_LEN];
    bool has_kms_key;
    bool on_4g5g; /* rat is EUTRAN or NR */
    unsigned duration_ms;
    char registrar_host[SBI_HOST_MAX];
    uint16_t registrar_port;
    char sip_host[SBI_HOST_MAX];
    uint16_t sip_port;
} ue_conf_t;

typedef enum { UE_CONF_OK = 0, UE_CONF_EXIT_OK, UE_CONF_BAD } ue_conf_result_t;

ue_conf_result_t ue_conf_parse(ue_conf_t *c, int argc, char **argv);
void ue_conf_free(ue_conf_t *c);

#endif
