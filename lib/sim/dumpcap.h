/*
 * dumpcap — a capture of some TCP ports by dumpcap (Wireshark's capture engine, package wireshark-common) as a
 * child process, shared by `mihua-probe --pcap` and the simulators' capture API (sim_capture).
 *
 * dumpcap_start returns once dumpcap is capturing (it prints "File: ..." after the interface is open with its
 * filter and the output file created), so the first packet sent afterwards is in the file. dumpcap_stop waits
 * for the file to stop growing before the SIGINT that ends dumpcap: the kernel hands captured packets over in
 * blocks on a timer, and a block not yet handed over is lost at SIGINT. Size and duration bounds are dumpcap's
 * own autostop conditions, so a forgotten capture ends by itself. The child gets SIGINT when its parent dies
 * (PR_SET_PDEATHSIG), so no dumpcap outlives the program that started it, even one killed with SIGKILL.
 *
 * TLS: dumpcap_inject_secrets embeds an NSS key log (SSLKEYLOGFILE format) in the pcapng as a Decryption Secrets
 * Block (`editcap --inject-secrets`), so the one file opens decrypted in Wireshark and tshark.
 *
 * Programs are found on PATH before fork, and the child calls only async-signal-safe functions before exec, so
 * this is safe in a multi-threaded process (mihua-hss runs freeDiameter's threads). Trade-off: start and stop
 * block the caller, start until dumpcap is capturing (DUMPCAP_START_TIMEOUT_MS at most), stop until the file is
 * quiet (DUMPCAP_MAX_WAIT_MS at most); a test double accepts that pause on its admin loop.
 */
#ifndef MIHUA_DUMPCAP_H
#define MIHUA_DUMPCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DUMPCAP_MAX_PORTS 4
#define DUMPCAP_START_TIMEOUT_MS 20000 /* dumpcap opening the interface on a busy machine (seen: seconds at nice 19) */
#define DUMPCAP_MAX_WAIT_MS 3000       /* stop: the longest wait for the file to stop growing */
#define DUMPCAP_PATH_MAX 1024

typedef struct {
    const char *file;     /* pcapng written by dumpcap */
    const char *iface;    /* "lo", "any", ... (dumpcap_iface_for) */
    const int *ports;     /* TCP ports, either direction */
    size_t n_ports;       /* 1..DUMPCAP_MAX_PORTS */
    uint64_t max_bytes;   /* autostop at about this size; 0: none */
    unsigned max_seconds; /* autostop after this long; 0: none */
} dumpcap_conf_t;

typedef struct dumpcap dumpcap_t;

/* "lo" for a loopback host (127.x, ::1, localhost), else "any" (also for NULL: every address). */
const char *dumpcap_iface_for(const char *host);
/* The program's path on PATH into `out`; false when it is not installed. */
bool dumpcap_find_program(const char *name, char *out, size_t size);

/* Starts dumpcap and returns once it is capturing; NULL with `err` filled when it is missing or does not start. */
dumpcap_t *dumpcap_start(const dumpcap_conf_t *c, char *err, size_t err_len);
/* True while dumpcap runs (false once an autostop bound ended it; it is then reaped). */
bool dumpcap_running(dumpcap_t *d);
/* Waits for the file to stop growing, ends dumpcap (SIGINT: it drains and closes the file) and frees. */
void dumpcap_stop(dumpcap_t *d);

/* Embeds the NSS key log `keys` in `file` (editcap --inject-secrets, through a copy that replaces it). 0 when
 * embedded, 1 when there was nothing to embed (no or empty key file), -1 when editcap failed (file untouched). */
int dumpcap_inject_secrets(const char *file, const char *keys);
/* Packets in a pcapng file (Enhanced, Simple and obsolete Packet Blocks), complete blocks only, so it can be read
 * while dumpcap writes; -1 when the file cannot be read or is not pcapng. */
long dumpcap_count_packets(const char *file);

#endif
