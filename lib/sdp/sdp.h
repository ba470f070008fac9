/*
 * sdp — the subset of SDP (RFC 4566) that mihua's offers and answers use (DESIGN §2), with SDES-style crypto
 * attributes (RFC 4568 §9.1) carrying the "kms:<keyId>" key method (or "inline:" keys, which also parse).
 *
 * Parsing fills an sdp_session_t with sip_str_t slices into the body (nothing copied); building writes a session
 * whose slices the caller points at its own strings (sip_str_c()). The same struct serves both directions.
 */
#ifndef MIHUA_SDP_H
#define MIHUA_SDP_H

#include "sip/sip_str.h"

#include <stdbool.h>
#include <stdint.h>

/* Limits: far above what an audio offer uses, low enough to bound a hostile body. */
#define SDP_MAX_SIZE 16384 /* bytes of SDP; a two-codec SRTP audio offer is ~600 */
#define SDP_MAX_LINES 256  /* lines in a body */
#define SDP_MAX_MEDIA 4    /* m= sections; mihua uses one audio stream */
#define SDP_MAX_FMTS 16    /* payload types on one m= line */
#define SDP_MAX_RTPMAP 16  /* a=rtpmap per media */
#define SDP_MAX_CRYPTO 8   /* a=crypto per media; DESIGN §2 offers three suites */
#define SDP_MAX_ATTRS 16   /* other a= lines kept per media (ptime, fmtp, ...) */

typedef enum {
    SDP_OK = 0,
    SDP_E_ARG,
    SDP_E_TOO_BIG,
    SDP_E_SYNTAX,  /* a line that is not "<letter>=<value>" */
    SDP_E_VERSION, /* first line not v=0 */
    SDP_E_ORIGIN,
    SDP_E_CONNECTION,
    SDP_E_TIMING,
    SDP_E_MEDIA,
    SDP_E_RTPMAP,
    SDP_E_CRYPTO,
    SDP_E_TOO_MANY, /* a limit above */
} sdp_err_t;

typedef enum { SDP_DIR_NONE = 0, SDP_DIR_SENDRECV, SDP_DIR_SENDONLY, SDP_DIR_RECVONLY, SDP_DIR_INACTIVE } sdp_dir_t;
typedef enum { SDP_KEY_OTHER = 0, SDP_KEY_INLINE, SDP_KEY_KMS } sdp_key_method_t;

typedef struct {
    sip_str_t nettype;  /* "IN" */
    sip_str_t addrtype; /* "IP4" / "IP6" */
    sip_str_t addr;     /* absent when the line is absent */
} sdp_conn_t;

typedef struct {
    sip_str_t username, sess_id, sess_version;
    sdp_conn_t conn;
} sdp_origin_t;

typedef struct {
    uint32_t pt;        /* 0..127 */
    sip_str_t encoding; /* "PCMU" */
    uint32_t clock;     /* 8000 */
    sip_str_t params;   /* channels, or absent */
} sdp_rtpmap_t;

/* a=crypto:<tag> <crypto-suite> <key-params> [<session-params>] (RFC 4568 §9.1) */
typedef struct {
    uint32_t tag;             /* 1..999999999 */
    sip_str_t suite;          /* e.g. "SM4_CM_128_HMAC_SM3_80" */
    sdp_key_method_t method;  /* of the first key-param */
    sip_str_t method_str;     /* "kms", "inline", ... */
    sip_str_t key_info;       /* after "<method>:" in the first key-param (the keyId for kms) */
    sip_str_t key_params;     /* all key-params as received (";"-separated), building ignores it */
    sip_str_t session_params; /* the rest of the line, or absent */
} sdp_crypto_t;

typedef struct {
    sip_str_t type; /* "audio" */
    uint32_t port;
    sip_str_t proto; /* "RTP/AVP", "RTP/SAVP" */
    sip_str_t fmts[SDP_MAX_FMTS];
    int nfmt;
    sdp_conn_t conn; /* media-level c=, absent when none */
    sdp_rtpmap_t rtpmap[SDP_MAX_RTPMAP];
    int nrtpmap;
    sdp_crypto_t crypto[SDP_MAX_CRYPTO]; /* in the order received / to be sent (= preference order) */
    int ncrypto;
    sdp_dir_t dir;
    sip_str_t attrs[SDP_MAX_ATTRS]; /* other a= values (without "a="), passed through */
    int nattr;
} sdp_media_t;

typedef struct {
    sdp_origin_t origin;
    sip_str_t name;  /* s= */
    sdp_conn_t conn; /* session-level c= */
    sip_str_t t_start, t_stop;
    sdp_dir_t dir; /* session-level direction attribute */
    sdp_media_t media[SDP_MAX_MEDIA];
    int nmedia;
    /* Parse result. */
    int err_line;           /* 1-based line of the error, 0 when none */
    const char *err_reason; /* static text */
} sdp_session_t;

/* Parses an SDP body. On error returns the code and sets s->err_line / s->err_reason. */
sdp_err_t sdp_parse(sdp_session_t *s, const char *body, int len);
/* Writes s as SDP text into out. Returns its length, or -1 when out is too small or s is incomplete (no origin,
 * media without type/proto). Lines are: v o s c t, then per media m c a=rtpmap a=crypto attrs direction. */
int sdp_build(const sdp_session_t *s, char *out, int cap);

/* Appends an a=crypto line to m (the offer lists suites in preference order). Returns 0 or -1 when full. */
int sdp_media_add_crypto(sdp_media_t *m, uint32_t tag, const char *suite, sdp_key_method_t method,
                         const char *key_info);
/* The answer's single crypto (DESIGN §2: exactly one a=crypto means "key synchronised"); NULL when there is not
 * exactly one. */
const sdp_crypto_t *sdp_answer_crypto(const sdp_media_t *m);
/* Index in offer->crypto of the first suite (in the offer's order) found in supported[], or -1. */
int sdp_crypto_select(const sdp_media_t *offer, const char *const *supported, int nsupported);
/* The first media of a type ("audio"), or NULL. */
const sdp_media_t *sdp_find_media(const sdp_session_t *s, const char *type);
const char *sdp_err_str(sdp_err_t err);
const char *sdp_dir_str(sdp_dir_t dir);

#endif
