/*
 * core_identity — the E.164 number an IMS identity carries, one parser for every program.
 *
 * An identity names a subscriber by number in two URI forms (DESIGN §4 and §5; TS 23.003 §13.4): "tel:+N[;params]"
 * (RFC 3966, global number) and "sip:+N@host[;params]" / "sips:..." (RFC 3261 §19.1.1, the user=phone form, whose
 * user part may carry telephone-subscriber parameters before the '@': "sip:+N;npdi@host"). The subscriber store
 * resolves such an identity through its MSISDN N; the AS asks the UDM for "msisdn-N". Both read N here, so the two
 * cannot disagree about which identities carry a number.
 *
 * Rule: scheme case-insensitive; '+' then 1..CORE_IDENTITY_MAX_DIGITS digits, RFC 3966 §3 visual separators
 * ("-.()") skipped; the number ends at ';' (tel: and sip:) or '@' (sip:, which must then name a host). Anything else
 * (a local number without '+', letters, '*' or '#', a space, a missing host, other schemes) carries no number.
 */
#ifndef MIHUA_CORE_IDENTITY_H
#define MIHUA_CORE_IDENTITY_H

#include <stddef.h>

#define CORE_IDENTITY_MAX_DIGITS 15 /* E.164 (ITU-T E.164 §6): at most 15 digits */

/* Writes the digits N of `identity` (no '+') and a NUL into out. 0, or -1 when the identity carries no number by
 * the rule above or the digits and NUL do not fit in `size` bytes. */
int core_identity_number(const char *identity, char *out, size_t size);

#endif
