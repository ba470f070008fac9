/*
 * sbi_buf — the growable, NUL-terminated byte buffer that HTTP/2 DATA frames are gathered into, on both the
 * server (request bodies) and the client (response bodies). Size limits are the caller's: it checks its own
 * maximum (413 / SBI_CLIENT_ERR_TOO_LARGE) before appending.
 */
#ifndef MIHUA_SBI_BUF_H
#define MIHUA_SBI_BUF_H

#include <stddef.h>
#include <stdint.h>

#define SBI_BUF_INITIAL 1024 /* most SBI bodies fit; the capacity doubles from here */

/* Appends n bytes to *buf (length *len, capacity *cap) and keeps a NUL after them, so a JSON parser or a log line
 * can take the body as a string. Returns 0, or -1 when memory runs out (the buffer is then unchanged). */
int sbi_buf_append(char **buf, size_t *len, size_t *cap, const uint8_t *data, size_t n);

#endif
