/*
 * iso_time — UTC date-times as the wire formats mihua speaks write them: RFC 3339 / TS 29.571 DateTime
 * ("2026-12-03T07:00:00Z") and the xs:dateTime of Sh-Data. Whole seconds: subscription expiries and activity
 * times need no more.
 */
#ifndef MIHUA_ISO_TIME_H
#define MIHUA_ISO_TIME_H

#include <stddef.h>
#include <time.h>

#define ISO_TIME_MAX 32 /* a formatted time and its NUL */

/* "YYYY-MM-DDTHH:MM:SSZ" of `t` (UTC) into buf. */
void iso_time_format(time_t t, char *buf, size_t size);

/* An RFC 3339 date-time ("...T..:..:..", optional fraction, then "Z" or "+hh:mm"/"-hh:mm") as Unix seconds;
 * -1 when malformed. */
time_t iso_time_parse(const char *s);

#endif
