/*
 * sip_msg — a SIP message parsed in place (RFC 3261 §7, §20, §25; RFC 3262, 3311, 3581, 3840).
 *
 * Usage:
 *   sip_msg_t *m = malloc(sizeof *m);                       // ~30 KiB: keep it on the heap or in a connection
 *   if (sip_msg_parse(m, buf, len, SIP_TP_DGRAM) != SIP_OK) // first line only
 *       reply 400 with sip_msg_reason(m);
 *   sip_parse_headers(m, SIP_HF_VIA1 | SIP_HF_CSEQ);        // parses header lines only as far as needed
 *   sip_msg_check(m);                                       // everything + mandatory headers + body framing
 *
 * Every string in the message is a sip_str_t slice into buf; buf must stay valid and unchanged while m is used.
 * Errors are sticky: once a parse step fails, m->err and m->err_reason say why, and later calls return the same.
 */
#ifndef MIHUA_SIP_MSG_H
#define MIHUA_SIP_MSG_H

#include "sip/sip_str.h"
#include "sip/sip_uri.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits. Each bounds the work or memory one hostile datagram or stream frame can cost. */
#define SIP_MAX_MSG_SIZE 65536   /* a UDP datagram's maximum; RFC 3261 §18.1.1 expects far less (MTU - 200) */
#define SIP_MAX_HEADERS 128      /* real messages carry 10-30 header lines; 128 leaves room for proxies' additions */
#define SIP_MAX_VIAS 32          /* one per hop; more than 32 hops indicates a loop (Max-Forwards starts at 70) */
#define SIP_MAX_CONTACTS 16      /* a REGISTER with more bindings than this is refused */
#define SIP_MAX_ROUTES 16        /* Route / Record-Route entries: one per proxy on the path */
#define SIP_MAX_TOKENS 32        /* option tags / methods in Require, Supported, Allow (all lines together) */
#define SIP_MAX_WARNINGS 8       /* Warning values kept; RFC 3261 §20.43 uses one per agent */
#define SIP_MAX_CSEQ 2147483647u /* RFC 3261 §8.1.1.5: CSeq numbers are below 2**31 */
#define SIP_MAX_MAX_FORWARDS 255 /* RFC 3261 §20.22 recommends 70; a byte is the practical ceiling */

typedef enum {
    SIP_OK = 0,
    SIP_E_ARG,        /* API misuse (NULL buffer, header not parsed yet) */
    SIP_E_TOO_BIG,    /* larger than SIP_MAX_MSG_SIZE */
    SIP_E_TRUNCATED,  /* the header section does not end with an empty line */
    SIP_E_NUL,        /* NUL byte in the start line or header section */
    SIP_E_FIRST_LINE, /* malformed Request-Line or Status-Line */
    SIP_E_VERSION,    /* not SIP/2.0 */
    SIP_E_RURI,       /* Request-URI does not parse */
    SIP_E_HEADER,     /* a header line without a name or colon */
    SIP_E_TOO_MANY,   /* a limit above was exceeded */
    SIP_E_VIA,
    SIP_E_FROM,
    SIP_E_TO,
    SIP_E_CALL_ID,
    SIP_E_CSEQ,
    SIP_E_MAX_FORWARDS,
    SIP_E_CONTACT,
    SIP_E_ROUTE, /* Route or Record-Route */
    SIP_E_EXPIRES,
    SIP_E_CONTENT_LENGTH, /* unparsable, duplicated, or missing on a stream transport */
    SIP_E_BODY_LENGTH,    /* Content-Length larger than the bytes received */
    SIP_E_RSEQ,
    SIP_E_RACK,
    SIP_E_DUPLICATE,   /* a header that must appear once appears twice (From, To, Call-ID, CSeq, ...) */
    SIP_E_MISSING,     /* a mandatory header (RFC 3261 §8.1.1) is absent */
    SIP_E_CSEQ_METHOD, /* request method differs from the CSeq method */
} sip_err_t;

typedef enum { SIP_TP_DGRAM, SIP_TP_STREAM } sip_transport_t;

typedef enum {
    SIP_METHOD_OTHER = 0,
    SIP_METHOD_INVITE,
    SIP_METHOD_ACK,
    SIP_METHOD_BYE,
    SIP_METHOD_CANCEL,
    SIP_METHOD_REGISTER,
    SIP_METHOD_OPTIONS,
    SIP_METHOD_PRACK,
    SIP_METHOD_UPDATE,
    SIP_METHOD_INFO,
    SIP_METHOD_SUBSCRIBE,
    SIP_METHOD_NOTIFY,
    SIP_METHOD_MESSAGE,
    SIP_METHOD_REFER,
} sip_method_t;

/* Header types this parser understands; every other header is SIP_HDR_OTHER and kept as an opaque slice. */
typedef enum {
    SIP_HDR_OTHER = 0,
    SIP_HDR_VIA,
    SIP_HDR_FROM,
    SIP_HDR_TO,
    SIP_HDR_CALL_ID,
    SIP_HDR_CSEQ,
    SIP_HDR_MAX_FORWARDS,
    SIP_HDR_ROUTE,
    SIP_HDR_RECORD_ROUTE,
    SIP_HDR_CONTACT,
    SIP_HDR_EXPIRES,
    SIP_HDR_CONTENT_TYPE,
    SIP_HDR_CONTENT_LENGTH,
    SIP_HDR_RSEQ,
    SIP_HDR_RACK,
    SIP_HDR_REQUIRE,
    SIP_HDR_SUPPORTED,
    SIP_HDR_ALLOW,
    SIP_HDR_WARNING,
    SIP_HDR_COUNT_
} sip_hdr_type_t;

/* Flags for sip_parse_headers(): which headers the caller needs. */
#define SIP_HF(t) (1u << (t))
#define SIP_HF_VIA1 (1u << 30) /* the first Via only (transaction matching); SIP_HF(SIP_HDR_VIA) means all Vias */
#define SIP_HF_BODY (1u << 31) /* every header line, then locate the body (checks Content-Length) */
#define SIP_HF_ALL 0xffffffffu /* every header line, then the body */
/* Headers that may repeat: asking for one of these scans the whole header section. */
#define SIP_HF_MULTI                                                                                         \
    (SIP_HF(SIP_HDR_VIA) | SIP_HF(SIP_HDR_ROUTE) | SIP_HF(SIP_HDR_RECORD_ROUTE) | SIP_HF(SIP_HDR_CONTACT) |  \
     SIP_HF(SIP_HDR_REQUIRE) | SIP_HF(SIP_HDR_SUPPORTED) | SIP_HF(SIP_HDR_ALLOW) | SIP_HF(SIP_HDR_WARNING) | \
     SIP_HF(SIP_HDR_OTHER))

typedef struct {
    sip_hdr_type_t type;
    sip_str_t name; /* as received (may be a compact form) */
    sip_str_t body; /* value with leading/trailing blanks trimmed; may contain folded CRLF SP sequences */
    sip_str_t line; /* the whole header line(s): name .. line terminator inclusive; what a lump deletes */
    int nvalues;    /* comma-separated values parsed from this line (list headers), else 1 */
} sip_hdr_t;

/* One via-parm (RFC 3261 §20.42, RFC 3581). */
typedef struct {
    int hdr;              /* index into msg->hdrs of the line holding it */
    sip_str_t raw;        /* this value alone (no comma), trimmed */
    sip_str_t transport;  /* "UDP", "TCP", ... */
    sip_str_t host;       /* sent-by host (IPv6 keeps its brackets) */
    sip_str_t port_str;   /* absent when no port */
    int port;             /* 0 when absent */
    sip_str_t params;     /* ";..." through the end of raw, or absent */
    sip_str_t branch;     /* branch value, or absent */
    sip_str_t received;   /* received value, or absent */
    bool has_rport;       /* rport present (RFC 3581) */
    sip_str_t rport;      /* rport value when "rport=N", absent when bare "rport" */
    sip_str_t rport_name; /* the "rport" token itself: where a response builder appends "=port" */
} sip_via_t;

/* name-addr / addr-spec with header parameters (From, To, Contact, Route, Record-Route; RFC 3261 §20.10). */
typedef struct {
    int hdr;           /* index into msg->hdrs */
    sip_str_t raw;     /* this value alone, trimmed */
    bool star;         /* Contact: "*" */
    sip_str_t display; /* display name; quotes kept if it was quoted; absent when none */
    sip_str_t uri_raw; /* URI text (without < >) */
    sip_uri_t uri;
    sip_str_t params; /* header params ";..." after the URI (or after '>'), or absent */
    sip_str_t tag;    /* tag parameter value, or absent */
} sip_naddr_t;

typedef struct {
    uint32_t num;
    sip_str_t method_str;
    sip_method_t method;
} sip_cseq_t;

typedef struct {
    bool present;
    uint32_t rseq;
    uint32_t cseq;
    sip_str_t method_str;
    sip_method_t method;
} sip_rack_t;

typedef struct {
    int code;        /* 3 digits */
    sip_str_t agent; /* warn-agent */
    sip_str_t text;  /* quoted-string, quotes included */
} sip_warning_t;

typedef struct {
    sip_str_t items[SIP_MAX_TOKENS];
    int n;
} sip_tokens_t;

typedef struct sip_msg {
    /* Input. */
    const char *buf;
    int len;
    sip_transport_t transport;

    /* Start line. */
    bool is_request;
    sip_str_t first_line; /* without its line terminator */
    sip_method_t method;  /* requests */
    sip_str_t method_str;
    sip_str_t ruri_raw;
    sip_uri_t ruri;
    int status; /* responses: 100..699 */
    sip_str_t reason;

    /* Header lines, in order of appearance (only those scanned so far). */
    sip_hdr_t hdrs[SIP_MAX_HEADERS];
    int nhdrs;
    uint32_t seen;  /* SIP_HF(type) bits of header types met so far */
    bool hdrs_done; /* the empty line ending the header section was reached */
    int eoh;        /* offset of the empty line (where header lines are appended) */
    int body_off;   /* offset just after the empty line */
    bool body_done; /* body located (content_length checked) */
    sip_str_t body; /* present once body_done; may be empty */

    /* Parsed headers. An index of -1 means absent. */
    sip_via_t via[SIP_MAX_VIAS];
    int nvia;
    sip_naddr_t from, to; /* .hdr == -1 when absent */
    sip_str_t call_id;
    int call_id_hdr;
    sip_cseq_t cseq;
    int cseq_hdr;
    int max_forwards; /* -1 when absent */
    int max_forwards_hdr;
    sip_naddr_t contact[SIP_MAX_CONTACTS];
    int ncontact; /* a "*" Contact counts as one entry with .star */
    sip_naddr_t route[SIP_MAX_ROUTES];
    int nroute;
    sip_naddr_t rr[SIP_MAX_ROUTES];
    int nrr;
    int expires_hdr; /* -1 when absent */
    uint32_t expires;
    sip_str_t content_type; /* trimmed value, absent when no Content-Type */
    int content_length;     /* -1 when absent */
    int content_length_hdr;
    uint32_t rseq; /* 0 when absent (RFC 3262 §7.1: 1..2**31-1) */
    sip_rack_t rack;
    sip_tokens_t require, supported, allow;
    sip_warning_t warning[SIP_MAX_WARNINGS];
    int nwarning;

    /* Private scanning state. */
    int scan; /* offset of the next header line not yet scanned */

    /* Sticky error. */
    sip_err_t err;
    const char *err_reason; /* static text, suitable for a Warning or Reason header */
} sip_msg_t;

/* Parses the start line and prepares lazy header parsing. len > SIP_MAX_MSG_SIZE is refused. */
sip_err_t sip_msg_parse(sip_msg_t *msg, const char *buf, size_t len, sip_transport_t tp);
/* Scans header lines until every header asked for in flags has been met (or the header section ends). Asking for a
 * header type that may repeat (SIP_HF_MULTI) scans to the end; SIP_HF_ALL also locates the body. */
sip_err_t sip_parse_headers(sip_msg_t *msg, uint32_t flags);
/* Parses everything, then checks RFC 3261 §8.1.1 mandatory headers (Via, From, To, Call-ID, CSeq), that a
 * request's method matches its CSeq method, and the body framing. */
sip_err_t sip_msg_check(sip_msg_t *msg);
/* Static text for an error code; sip_msg_reason() is the more precise reason of a message's sticky error. */
const char *sip_err_str(sip_err_t err);
const char *sip_msg_reason(const sip_msg_t *msg);

/* Method from its name (case-sensitive per RFC 3261 §7.1); SIP_METHOD_OTHER for extensions. */
sip_method_t sip_method_from_str(sip_str_t s);
/* The header type for a header name, including compact forms (RFC 3261 §7.3.3). */
sip_hdr_type_t sip_hdr_type_from_name(sip_str_t name);
/* First header line with this name (any form), or -1; for SIP_HDR_OTHER headers pass the full name. */
int sip_msg_find_hdr(const sip_msg_t *msg, const char *name);
/* True when a token list (Require, Supported, Allow) contains tok (case-insensitive). */
bool sip_tokens_has(const sip_tokens_t *t, const char *tok);
/* Looks up a parameter in a ";a=b;c" slice; value is absent for a parameter without '='. Returns true if found. */
bool sip_param_get(sip_str_t params, const char *name, sip_str_t *value);
/* True when the Via branch carries the RFC 3261 §8.1.1.7 magic cookie "z9hG4bK". */
bool sip_via_branch_is_rfc3261(const sip_via_t *via);
/* True when Content-Type's media type is type/subtype (parameters ignored, case-insensitive). */
bool sip_content_type_is(const sip_msg_t *msg, const char *type_subtype);

/*
 * Stream framing (RFC 3261 §18.3): given bytes received on a TCP connection, find the first complete message.
 * Returns SIP_FRAME_OK with *msg_len set, SIP_FRAME_KEEPALIVE with *msg_len = the CRLFs to consume (RFC 5626
 * §3.5.1 pings), SIP_FRAME_NEED_MORE, or SIP_FRAME_ERROR (then *reason says why; close the connection).
 */
typedef enum { SIP_FRAME_OK, SIP_FRAME_NEED_MORE, SIP_FRAME_KEEPALIVE, SIP_FRAME_ERROR } sip_frame_t;
sip_frame_t sip_stream_frame(const char *buf, size_t len, size_t *msg_len, const char **reason);

#endif
