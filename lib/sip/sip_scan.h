/*
 * sip_scan — private lexical helpers shared by the lib/sip parsers (RFC 3261 §25.1 core rules).
 *
 * All helpers work on bounded slices and never look past s + len. Inside a header value, CR and LF can only be
 * left over from obsolete line folding (§7.3.1), so they count as linear white space like SP and HTAB.
 */
#ifndef MIHUA_SIP_SCAN_H
#define MIHUA_SIP_SCAN_H

#include "sip/sip_str.h"

#include <stdbool.h>

static inline bool sip_is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline bool sip_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
static inline bool sip_is_token_char(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || sip_is_digit(c))
        return true;
    switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~':
        return true;
    default:
        return false;
    }
}

/* Strips LWS at both ends. */
sip_str_t sip_trim(sip_str_t s);
/* Offset of the first LWS-delimited token at the start of s (after skipping LWS); *tok gets it. Returns the number
 * of bytes consumed from s (LWS + token), or -1 when s does not start with a token. */
int sip_take_token(sip_str_t s, sip_str_t *tok);
/* Skips a quoted-string starting at s[i] == '"'; returns the index just after the closing quote, or -1. */
int sip_skip_quoted(sip_str_t s, int i);
/* Next comma-separated value of a list header (§7.3.1), respecting quoted strings and <...>. *rest advances.
 * Returns 1 with *value (trimmed, non-empty), 0 at the end, -1 on an unbalanced quote or angle bracket or an
 * empty element. */
int sip_list_next(sip_str_t *rest, sip_str_t *value);
/* Iterates ";name[=value]" parameters. *rest must start at ';' (after optional LWS) or be empty.
 * Returns 1 with name/value (value absent when no '='), 0 at the end, -1 on a syntax error. */
int sip_param_next(sip_str_t *rest, sip_str_t *name, sip_str_t *value);
/* Validates a whole parameter slice: syntax and at most max parameters. Returns the count, or -1. */
int sip_params_check(sip_str_t params, int max);

#endif
