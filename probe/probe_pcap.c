/*
 * probe_pcap — dumpcap around the probe's exchanges (see probe_pcap.h). dumpcap says "Capturing on ..." on its
 * stderr before it opens the interface, and "File: ..." once the interface is open with its filter and the
 * output file created; the probe waits for the second line before sending anything, so the first packet is
 * never missed. Secrets are injected into a copy that then replaces the capture, so a failing editcap leaves the plain
 * capture and the key file side by side.
 */
#include "probe_pcap.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PCAP_START_TIMEOUT_MS 10000 /* dumpcap opening the interface on a busy machine */
#define PCAP_PATH_MAX 1024
/* dumpcap reads the kernel's capture ring in blocks the kernel hands over on a timer, and a SIGINT loses the
 * block not yet handed over; so stop only once the file has stopped growing for PCAP_QUIET_MS, after at least
 * PCAP_MIN_WAIT_MS and at most PCAP_MAX_WAIT_MS from the end of the run. */
#define PCAP_MIN_WAIT_MS 500
#define PCAP_QUIET_MS 300
#define PCAP_MAX_WAIT_MS 3000

struct probe_pcap {
    pid_t pid;
    int err_fd;
    char file[PCAP_PATH_MAX];
    char keys[PCAP_PATH_MAX]; /* "" when not TLS */
};

static int wait_capturing(int fd, char *err, size_t err_len)
{
    char buf[1024];
    size_t used = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct timespec t0, now;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = PCAP_START_TIMEOUT_MS - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t n = read(fd, buf + used, sizeof buf - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        buf[used] = '\0';
        if (strstr(buf, "\nFile: ") != NULL)
            return 0;
        if (used == sizeof buf - 1)
            used = 0;
    }
    buf[used] = '\0';
    snprintf(err, err_len, "dumpcap did not start capturing: %.200s", used ? buf : "no output");
    return -1;
}

static void build_filter(char *out, size_t size, const int *ports, size_t n)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && off < size; i++) {
        int w = snprintf(out + off, size - off, "%stcp port %d", i ? " or " : "", ports[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0;
}

probe_pcap_t *probe_pcap_start(const char *file, const char *host, const int *ports, size_t n_ports, bool tls,
                               char *err, size_t err_len)
{
    probe_pcap_t *p = calloc(1, sizeof *p);
    char filter[256];
    int pipefd[2];

    if (p == NULL || pipe(pipefd) != 0) {
        free(p);
        snprintf(err, err_len, "out of resources");
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
    build_filter(filter, sizeof filter, ports, n_ports);
    p->pid = fork();
    if (p->pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        execlp("dumpcap", "dumpcap", "-q", "-i", is_loopback(host) ? "lo" : "any", "-f", filter, "-w", file,
               (char *)NULL);
        fprintf(stderr, "cannot run dumpcap: %s (package wireshark-common)\n", strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    p->err_fd = pipefd[0];
    if (p->pid < 0 || wait_capturing(p->err_fd, err, err_len) != 0) {
        if (p->pid > 0) {
            kill(p->pid, SIGTERM);
            waitpid(p->pid, NULL, 0);
        }
        close(p->err_fd);
        free(p);
        return NULL;
    }
    return p;
}

static int inject_secrets(const probe_pcap_t *p)
{
    char tmp[PCAP_PATH_MAX + 8], secrets[PCAP_PATH_MAX + 8];
    int status = 0;

    if (p->keys[0] == '\0' || access(p->keys, R_OK) != 0)
        return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", p->file);
    snprintf(secrets, sizeof secrets, "tls,%s", p->keys);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("editcap", "editcap", "--inject-secrets", secrets, p->file, tmp, (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        rename(tmp, p->file) != 0) {
        fprintf(stderr, "mihua-probe: editcap could not embed the TLS secrets; they stay in %s\n", p->keys);
        unlink(tmp);
        return -1;
    }
    return 0;
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void wait_file_quiet(const char *file)
{
    struct timespec t0, changed;
    struct stat st;
    off_t size = -1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    changed = t0;
    while (ms_since(&t0) < PCAP_MAX_WAIT_MS) {
        if (stat(file, &st) == 0 && st.st_size != size) {
            size = st.st_size;
            clock_gettime(CLOCK_MONOTONIC, &changed);
        }
        if (ms_since(&t0) >= PCAP_MIN_WAIT_MS && ms_since(&changed) >= PCAP_QUIET_MS)
            return;
        usleep(50 * 1000);
    }
}

int probe_pcap_stop(probe_pcap_t *p)
{
    int status = 0, rc;

    if (p == NULL)
        return 0;
    wait_file_quiet(p->file);
    kill(p->pid, SIGINT); /* as at a terminal: dumpcap drains the kernel's buffer and closes the file */
    waitpid(p->pid, &status, 0);
    close(p->err_fd);
    rc = inject_secrets(p);
    fprintf(stderr, "mihua-probe: capture in %s%s\n", p->file, p->keys[0] && rc == 0 ? " (TLS secrets embedded)" : "");
    free(p);
    return rc;
}
