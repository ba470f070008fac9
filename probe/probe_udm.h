/*
 * probe_udm — `mihua-probe udm`: the three SBI reads the AS makes (TS 29.503 Nudm_UECM amf-3gpp-access,
 * Nudm_SDM am-data, TS 29.505 Nudr_DR operator-specific-data) against any UDM/UDR, each printed decoded.
 * probe_kms — `mihua-probe kms`: issue a session key as the caller and retrieve it as the callee (DESIGN §4),
 * answering the HTTP Digest challenge (RFC 7616, SHA-256) with each party's kms_key.
 * Exit codes: 0 every request answered 2xx, 3 an error answer, 1 no answer, 2 bad usage.
 */
#ifndef MIHUA_PROBE_UDM_H
#define MIHUA_PROBE_UDM_H

int probe_udm_main(int argc, char **argv);
int probe_kms_main(int argc, char **argv);

#endif
