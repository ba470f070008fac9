/*
 * sip_hdr — private: parsers for one value of a known header (called by sip_parse.c per comma-separated value).
 * Each returns 0 or -1 and fills the struct with slices into the value.
 */
#ifndef MIHUA_SIP_HDR_H
#define MIHUA_SIP_HDR_H

#include "sip/sip_msg.h"

int sip_hdr_parse_via(sip_str_t value, sip_via_t *via);
int sip_hdr_parse_naddr(sip_str_t value, bool allow_star, sip_naddr_t *na);
int sip_hdr_parse_cseq(sip_str_t value, sip_cseq_t *cseq);
int sip_hdr_parse_rack(sip_str_t value, sip_rack_t *rack);
int sip_hdr_parse_warning(sip_str_t value, sip_warning_t *w);

#endif
