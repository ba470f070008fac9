/*
 * sh_msg_int — the AVP helpers of sh_msg.c shared with sh_notif.c (Sh-Subs-Notif messages); not for programs.
 * They wrap freeDiameter's fd_msg_avp_* calls: build an AVP from a dictionary object and add it last, or walk the
 * children of a message or grouped AVP. Each returns 0 or an errno value (the walk: 0 or -1).
 */
#ifndef MIHUA_SH_MSG_INT_H
#define MIHUA_SH_MSG_INT_H

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "diameter/sh_dict.h"

int sh_avp_add_value(msg_or_avp *parent, struct dict_object *model, union avp_value *v);
int sh_avp_add_os(msg_or_avp *parent, struct dict_object *model, const void *data, size_t len);
int sh_avp_add_str(msg_or_avp *parent, struct dict_object *model, const char *s);
int sh_avp_add_u32(msg_or_avp *parent, struct dict_object *model, uint32_t u);
int sh_avp_add_i32(msg_or_avp *parent, struct dict_object *model, int32_t i);
/* Adds an empty grouped AVP and returns it in *out (owned by parent once added). */
int sh_avp_add_group(msg_or_avp *parent, struct dict_object *model, struct avp **out);
/* Vendor-Specific-Application-Id{Vendor-Id 10415, Auth-Application-Id 16777217} and Auth-Session-State. */
int sh_add_app_and_state(const sh_dict_t *d, msg_or_avp *m);
/* User-Identity{Public-Identity} when public_identity is set, else User-Identity{MSISDN (TBCD)}. */
int sh_add_user_identity(const sh_dict_t *d, msg_or_avp *m, const char *public_identity, const char *msisdn);

/* The head every Sh request carries, in ABNF order: new Session-Id, Vendor-Specific-Application-Id,
 * Auth-Session-State, Origin-Host/Realm, [Destination-Host] (when set), Destination-Realm, User-Identity. */
int sh_add_request_head(const sh_dict_t *d, struct msg *m, const char *dest_host, const char *dest_realm,
                        const char *public_identity, const char *msisdn);
/* Whether RepositoryData is among the Data-References (then Service-Indication goes with it). */
bool sh_has_repository_ref(const uint32_t *refs, size_t n);

bool sh_avp_is(const struct avp_hdr *h, uint32_t code, uint32_t vendor);
/* Walks the children of a message or grouped AVP; `fn` returns 0 to continue, -1 to stop with an error. */
typedef int (*sh_avp_visit_fn)(struct avp_hdr *h, struct avp *avp, void *ctx);
int sh_avp_walk(msg_or_avp *parent, sh_avp_visit_fn fn, void *ctx);
/* Copies an OctetString/UTF8String value as a C string: refuses embedded NUL and overlong values. */
int sh_os_strdup(const struct avp_hdr *h, char **out);

#endif
