/*
 * sip_uri — SIP, SIPS and tel URIs parsed into slices (RFC 3261 §19.1, §25.1; RFC 3966 for tel).
 */
#ifndef MIHUA_SIP_URI_H
#define MIHUA_SIP_URI_H

#include "sip/sip_str.h"

#define SIP_MAX_URI_PARAMS 32 /* uri-parameters per URI; real ones carry < 5 */

typedef enum { SIP_URI_NONE = 0, SIP_URI_SIP, SIP_URI_SIPS, SIP_URI_TEL, SIP_URI_OTHER } sip_uri_scheme_t;

typedef struct {
    sip_uri_scheme_t scheme;
    sip_str_t scheme_str;
    sip_str_t user;     /* sip/sips userinfo user (may hold user params like ";npdi"); tel: the number */
    sip_str_t password; /* absent when none */
    sip_str_t host;     /* IPv6 references keep their brackets; absent for tel: */
    sip_str_t port_str;
    int port;          /* 0 when absent */
    sip_str_t params;  /* ";..." uri-parameters, or absent */
    sip_str_t headers; /* "?..." without the '?', or absent */
    bool lr;           /* ;lr (RFC 3261 §19.1.1 loose routing) */
    sip_str_t transport;
    sip_str_t user_param; /* ;user=phone etc. */
    sip_str_t maddr;
} sip_uri_t;

/* Parses s (no surrounding < >). Unknown schemes parse as SIP_URI_OTHER with only scheme_str set.
 * Returns 0, or -1 when s is not a URI. */
int sip_uri_parse(sip_str_t s, sip_uri_t *uri);

#endif
