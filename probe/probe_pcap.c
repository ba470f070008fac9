/*
 * probe_pcap — dumpcap around the probe's exchanges (see probe_pcap.h), through lib/sim/dumpcap: the probe waits
 * until dumpcap is capturing before it sends anything, so the first packet is never missed.
 */
#include "probe_pcap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/dumpcap.h"

struct probe_pcap {
    dumpcap_t *cap;
    char file[DUMPCAP_PATH_MAX];
    char keys[DUMPCAP_PATH_MAX]; /* "" when not TLS */
};

probe_pcap_t *probe_pcap_start(const char *file, const char *host, const int *ports, size_t n_ports, bool tls,
                               char *err, size_t err_len)
{
    probe_pcap_t *p = calloc(1, sizeof *p);
    dumpcap_conf_t c = {.file = file, .iface = dumpcap_iface_for(host), .ports = ports, .n_ports = n_ports};

    if (p == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    snprintf(p->file, sizeof p->file, "%s", file);
    if (tls && getenv("SSLKEYLOGFILE") == NULL) {
        snprintf(p->keys, sizeof p->keys, "%s.keys", file);
        unlink(p->keys);
        setenv("SSLKEYLOGFILE", p->keys, 1);
    } else if (tls) {
        snprintf(p->keys, sizeof p->keys, "%s", getenv("SSLKEYLOGFILE"));
    }
    if ((p->cap = dumpcap_start(&c, err, err_len)) == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

int probe_pcap_stop(probe_pcap_t *p)
{
    if (p == NULL)
        return 0;
    dumpcap_stop(p->cap);
    int rc = p->keys[0] != '\0' ? dumpcap_inject_secrets(p->file, p->keys) : 1;
    if (rc < 0)
        fprintf(stderr, "mihua-probe: editcap could not embed the TLS secrets; they stay in %s\n", p->keys);
    fprintf(stderr, "mihua-probe: capture in %s%s\n", p->file, rc == 0 ? " (TLS secrets embedded)" : "");
    free(p);
    return rc < 0 ? -1 : 0;
}
