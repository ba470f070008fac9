/*
 * probe_pcap — `--pcap FILE` of the probe: a capture of the probe's own traffic by dumpcap (Wireshark's capture
 * engine, package wireshark-common), so a CI job keeps the exchange as an artifact. For TLS the session secrets
 * are written through SSLKEYLOGFILE (lib/sbi/sbi_tls honours it; FILE.keys when the variable is not set) and then
 * embedded in the pcapng by `editcap --inject-secrets` (a Decryption Secrets Block), so the one file opens
 * decrypted in Wireshark. The capture filter names the server ports only; loopback is captured on `lo`, anything
 * else on `any`. dumpcap needs capture rights (root or the wireshark group).
 */
#ifndef MIHUA_PROBE_PCAP_H
#define MIHUA_PROBE_PCAP_H

#include <stdbool.h>
#include <stddef.h>

#define PROBE_PCAP_MAX_PORTS 4 /* DUMPCAP_MAX_PORTS */

typedef struct probe_pcap probe_pcap_t;

/* Starts dumpcap writing `file` for TCP traffic to/from `ports` on the way to `host`, and returns once it is
 * capturing. `tls`: set SSLKEYLOGFILE (if unset) so the secrets can be embedded at stop. NULL + err on failure. */
probe_pcap_t *probe_pcap_start(const char *file, const char *host, const int *ports, size_t n_ports, bool tls,
                               char *err, size_t err_len);
/* Stops the capture (dumpcap flushes on SIGINT), embeds the TLS secrets, frees. Returns 0 or -1 (err printed). */
int probe_pcap_stop(probe_pcap_t *p);

#endif
