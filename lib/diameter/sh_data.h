/*
 * sh_data — the Sh-Data XML document carried in the User-Data AVP (TS 29.328 §7.6 and Annex D).
 *
 * Only the parts mihua uses are modelled: PublicIdentifiers (IMSPublicIdentity, MSISDN), RepositoryData
 * (ServiceIndication, SequenceNumber, ServiceData) and the TADSinformation that Rel-9 placed under
 * Extension/Extension/Extension. The schema namespace is not used (DESIGN §3); unknown elements are skipped when
 * parsing so a real HSS that sends more still parses. Parsing uses libxml2 with network access and entity
 * expansion disabled: the document comes from a peer.
 */
#ifndef MIHUA_SH_DATA_H
#define MIHUA_SH_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SH_DATA_MAX_REPO 8    /* RepositoryData elements kept; more are an error */
#define SH_DATA_MAX_IMPU 16   /* IMSPublicIdentity elements kept; more are an error */
#define SH_DATA_MAX_LEN 65536 /* largest User-Data accepted: Sh-Data for one user is a few hundred bytes */

/* TS 29.212 §5.3.31 RAT-Type values used in TADSinformation. */
#define SH_RAT_UTRAN 1000u
#define SH_RAT_GERAN 1001u
#define SH_RAT_EUTRAN 1004u
#define SH_RAT_NR 1006u

/* TS 29.328 §7.6.x IMSVoiceOverPSSessionSupport. */
typedef enum {
    SH_VOPS_NOT_SUPPORTED = 0,
    SH_VOPS_SUPPORTED = 1,
    SH_VOPS_UNKNOWN = 2,
} sh_vops_t;

typedef struct {
    char *service_indication;
    uint32_t sequence_number;
    char *service_data; /* inner XML of ServiceData, serialised; may be NULL */
} sh_repo_data_t;

typedef struct {
    char *impu[SH_DATA_MAX_IMPU];
    size_t n_impu;
    char *msisdn; /* NULL when absent */

    sh_repo_data_t repo[SH_DATA_MAX_REPO];
    size_t n_repo;

    bool has_tads;
    sh_vops_t ims_vops;
    bool has_rat;
    uint32_t rat_type;
    char *last_ue_activity; /* xs:dateTime text or NULL */
} sh_data_t;

/* Renders `d` as an Sh-Data document (UTF-8, with XML declaration). malloc'd, length in *len. NULL on ENOMEM. */
char *sh_data_render(const sh_data_t *d, size_t *len);

/* Parses a document into `out` (which it zeroes first). Returns 0, or -1 with a reason in `err`. */
int sh_data_parse(const char *xml, size_t len, sh_data_t *out, char *err, size_t errlen);

/* Finds the RepositoryData of a Service-Indication, or NULL. */
const sh_repo_data_t *sh_data_find_repo(const sh_data_t *d, const char *service_indication);

/* Frees everything `d` owns and zeroes it. */
void sh_data_clear(sh_data_t *d);

/* Text name of a RAT-Type value ("EUTRAN", "NR", ... or "1005"), into buf. */
const char *sh_rat_name(uint32_t rat, char *buf, size_t size);

#endif
