/*
 * sip_wr — the bounded writer (sip_wr.h).
 */
#include "sip/sip_wr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sip_wr(sip_wr_t *w, const char *s, int len)
{
    if (w->overflow || len < 0 || len > w->cap - w->n) {
        w->overflow = true;
        return;
    }
    if (len > 0)
        memcpy(w->p + w->n, s, (size_t)len);
    w->n += len;
}

void sip_wr_c(sip_wr_t *w, const char *s)
{
    sip_wr(w, s, (int)strlen(s));
}

void sip_wr_s(sip_wr_t *w, sip_str_t s)
{
    sip_wr(w, s.s, s.len);
}

void sip_wr_hdr(sip_wr_t *w, const char *name, sip_str_t value)
{
    sip_wr_c(w, name);
    sip_wr_c(w, ": ");
    sip_wr_s(w, value);
    sip_wr_c(w, "\r\n");
}

void sip_wr_printf(sip_wr_t *w, const char *fmt, ...)
{
    if (w->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->p + w->n, (size_t)(w->cap - w->n), fmt, ap);
    va_end(ap);
    if (n < 0 || n >= w->cap - w->n)
        w->overflow = true;
    else
        w->n += n;
}
