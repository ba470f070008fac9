/*
 * iso_time — RFC 3339 date-times (see iso_time.h). strptime reads the fixed part; the fraction is skipped and the
 * offset applied by hand, since strptime's %z is not portable across libcs.
 */
#include "core/iso_time.h"

#include <stdio.h>
#include <string.h>

void iso_time_format(time_t t, char *buf, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

time_t iso_time_parse(const char *s)
{
    struct tm tm;
    int hh, mm;
    long off = 0;
    memset(&tm, 0, sizeof tm);
    const char *rest = s != NULL ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (rest == NULL)
        return -1;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            ;
    if (*rest == 'Z' && rest[1] == '\0')
        off = 0;
    else if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && sscanf(rest + 1, "%2d:%2d", &hh, &mm) == 2)
        off = (*rest == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    else
        return -1;
    return timegm(&tm) - off;
}
