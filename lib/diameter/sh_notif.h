/*
 * sh_notif — building and reading the Sh-Subs-Notif messages (TS 29.328 §6.1.3/§6.1.4, TS 29.329 §6.1.5-§6.1.8)
 * with freeDiameter: Subscribe-Notifications-Request/Answer (308) and Push-Notification-Request/Answer (309).
 *
 * SNR carries what a UDR carries (User-Identity, Data-Reference, Service-Indication), so the HSS reads those with
 * sh_udr_read() and the rest here; SNA and PNA are read with sh_uda_read() (same result AVPs, User-Data), and
 * answered with sh_uda_set_success()/sh_uda_set_experimental() plus sh_sna_set_expiry().
 * Expiry-Time is a Diameter Time (RFC 6733 §4.3.1): NTP seconds, 4 octets; it is carried here as Unix seconds.
 */
#ifndef MIHUA_SH_NOTIF_H
#define MIHUA_SH_NOTIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "diameter/sh_dict.h"
#include "diameter/sh_msg.h"

/* TS 29.329 §6.3.6 Subs-Req-Type, §6.3.17 Send-Data-Indication. */
#define SH_SUBS_SUBSCRIBE 0u
#define SH_SUBS_UNSUBSCRIBE 1u
#define SH_SDI_USER_DATA_NOT_REQUESTED 0u
#define SH_SDI_USER_DATA_REQUESTED 1u

struct msg;

typedef struct {
    const char *public_identity;
    const uint32_t *data_refs;
    size_t n_data_refs;
    const char *service_indication; /* sent with a RepositoryData reference; NULL = none */
    const char *dest_realm;         /* mandatory */
    const char *dest_host;          /* optional */
    uint32_t subs_req_type;         /* SH_SUBS_* */
    bool send_data;                 /* Send-Data-Indication = USER_DATA_REQUESTED */
    time_t expiry;                  /* Expiry-Time wished for; 0 = none (the HSS decides) */
} sh_snr_params_t;

/* Builds an SNR with a new Session-Id and the local Origin-Host/Realm. Returns 0 or an errno value. */
int sh_snr_build(const sh_dict_t *d, const sh_snr_params_t *p, struct msg **out);

/* What an SNR adds to the UDR fields (read those with sh_udr_read()). */
typedef struct {
    bool has_subs_req_type;
    uint32_t subs_req_type;
    bool send_data;
    time_t expiry;         /* 0 when absent */
    char origin_host[256]; /* who subscribes: PNRs go back to this Destination-Host */
    char origin_realm[256];
} sh_snr_extra_t;

int sh_snr_read_extra(const sh_dict_t *d, struct msg *snr, sh_snr_extra_t *out);

/* Adds Expiry-Time to an SNA. */
int sh_sna_set_expiry(const sh_dict_t *d, struct msg *ans, time_t expiry);
/* The Expiry-Time of an SNA, 0 when absent. */
time_t sh_sna_expiry(const sh_dict_t *d, struct msg *sna);

typedef struct {
    const char *public_identity; /* the identity the AS subscribed with */
    const char *user_data;       /* Sh-Data XML */
    size_t user_data_len;
    const char *dest_host; /* the subscribing AS (mandatory in a PNR) */
    const char *dest_realm;
} sh_pnr_params_t;

int sh_pnr_build(const sh_dict_t *d, const sh_pnr_params_t *p, struct msg **out);

/* A PNR as the AS reads it: the identity (malloc'd) and the User-Data parsed as Sh-Data. Returns 0, or -1 when
 * the identity or the User-Data is missing or malformed (error says which). */
typedef struct {
    char *public_identity;
    char *msisdn;
    bool has_data;
    sh_data_t data;
    char error[128];
} sh_pnr_t;

int sh_pnr_read(const sh_dict_t *d, struct msg *pnr, sh_pnr_t *out);
void sh_pnr_clear(sh_pnr_t *p);

/* Diameter Time (NTP seconds, RFC 5905 era 0) <-> Unix seconds. */
void sh_time_encode(time_t unix_s, uint8_t out[4]);
time_t sh_time_decode(const uint8_t in[4]);

#endif
