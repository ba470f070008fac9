/*
 * sip_wr — text written into a caller's buffer that records overflow instead of cutting silently: every builder
 * of SIP and SDP text (responses, CANCEL, ACK, SDP bodies, a UA's requests) writes through it and checks once, at
 * the end, whether everything fitted.
 *
 *   sip_wr_t w = SIP_WR_INIT(out, cap);
 *   sip_wr_c(&w, "SIP/2.0 200 OK\r\n"); sip_wr_hdr(&w, "Call-ID", msg->call_id); sip_wr_printf(&w, "%d", n);
 *   return w.overflow ? -1 : w.n;
 */
#ifndef MIHUA_SIP_WR_H
#define MIHUA_SIP_WR_H

#include <stdbool.h>

#include "sip/sip_str.h"

typedef struct {
    char *p;
    int cap;
    int n;         /* bytes written */
    bool overflow; /* something did not fit: the output is unusable */
} sip_wr_t;

#define SIP_WR_INIT(out, cap) ((sip_wr_t){(out), (cap), 0, (cap) <= 0})

void sip_wr(sip_wr_t *w, const char *s, int len);
void sip_wr_c(sip_wr_t *w, const char *s);
void sip_wr_s(sip_wr_t *w, sip_str_t s);
/* "Name: value\r\n" */
void sip_wr_hdr(sip_wr_t *w, const char *name, sip_str_t value);
void sip_wr_printf(sip_wr_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
