/*
 * dumpcap — dumpcap as a child process (see dumpcap.h). The child's stderr comes back on a pipe: its
 * "File: ..." line says it is capturing, and anything else it said is the error when it does not get there.
 * Secrets are injected into a copy that then replaces the capture, so a failing editcap leaves the plain capture.
 */
#include "sim/dumpcap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* After the run, stop only once the file has not grown for DUMPCAP_QUIET_MS, and not before DUMPCAP_MIN_WAIT_MS
 * (the kernel's block timer); DUMPCAP_MAX_WAIT_MS bounds it all. */
#define DUMPCAP_MIN_WAIT_MS 500
#define DUMPCAP_QUIET_MS 300
#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du

struct dumpcap {
    pid_t pid; /* 0 once reaped */
    int err_fd;
    char file[DUMPCAP_PATH_MAX];
};

const char *dumpcap_iface_for(const char *host)
{
    if (host == NULL)
        return "any";
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0 ? "lo" : "any";
}

bool dumpcap_find_program(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    char dirs[4096];

    snprintf(dirs, sizeof dirs, "%s", path != NULL ? path : "/usr/local/bin:/usr/bin:/bin");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
        int n = snprintf(out, size, "%s/%s", dir, name);
        if (n > 0 && (size_t)n < size && access(out, X_OK) == 0)
            return true;
    }
    return false;
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static int wait_capturing(int fd, char *err, size_t err_len)
{
    char buf[1024];
    size_t used = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long left = DUMPCAP_START_TIMEOUT_MS - ms_since(&t0);
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

/* In the child: async-signal-safe calls only, then exec. */
static void child_exec(const char *prog, char *const argv[], int err_fd, pid_t parent)
{
    static const char msg[] = "cannot run dumpcap (package wireshark-common)\n";

    dup2(err_fd, STDERR_FILENO);
    dup2(err_fd, STDOUT_FILENO);
    prctl(PR_SET_PDEATHSIG, SIGINT); /* the parent's death ends the capture as a ^C would */
    if (getppid() != parent)
        _exit(1);
    execv(prog, argv);
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing more to say */
    }
    _exit(127);
}

dumpcap_t *dumpcap_start(const dumpcap_conf_t *c, char *err, size_t err_len)
{
    char prog[DUMPCAP_PATH_MAX], filter[256], size_stop[48], time_stop[48];
    char *argv[16];
    int n = 0, pipefd[2];

    if (c->n_ports == 0 || c->n_ports > DUMPCAP_MAX_PORTS) {
        snprintf(err, err_len, "1 to %d ports", DUMPCAP_MAX_PORTS);
        return NULL;
    }
    if (!dumpcap_find_program("dumpcap", prog, sizeof prog)) {
        snprintf(err, err_len, "dumpcap is not installed (package wireshark-common)");
        return NULL;
    }
    dumpcap_t *d = calloc(1, sizeof *d);
    if (d == NULL || pipe2(pipefd, O_CLOEXEC) != 0) {
        free(d);
        snprintf(err, err_len, "out of resources");
        return NULL;
    }
    snprintf(d->file, sizeof d->file, "%s", c->file);
    build_filter(filter, sizeof filter, c->ports, c->n_ports);
    snprintf(size_stop, sizeof size_stop, "filesize:%llu", (unsigned long long)((c->max_bytes + 999) / 1000));
    snprintf(time_stop, sizeof time_stop, "duration:%u", c->max_seconds);
    argv[n++] = "dumpcap";
    argv[n++] = "-q";
    argv[n++] = "-i";
    argv[n++] = (char *)c->iface;
    argv[n++] = "-f";
    argv[n++] = filter;
    argv[n++] = "-w";
    argv[n++] = d->file;
    if (c->max_bytes > 0) {
        argv[n++] = "-a";
        argv[n++] = size_stop;
    }
    if (c->max_seconds > 0) {
        argv[n++] = "-a";
        argv[n++] = time_stop;
    }
    argv[n] = NULL;
    pid_t parent = getpid();
    d->pid = fork();
    if (d->pid == 0)
        child_exec(prog, argv, pipefd[1], parent);
    close(pipefd[1]);
    d->err_fd = pipefd[0];
    if (d->pid < 0 || wait_capturing(d->err_fd, err, err_len) != 0) {
        if (d->pid > 0) {
            kill(d->pid, SIGTERM);
            waitpid(d->pid, NULL, 0);
        }
        close(d->err_fd);
        free(d);
        return NULL;
    }
    return d;
}

bool dumpcap_running(dumpcap_t *d)
{
    if (d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == d->pid)
        d->pid = 0;
    return d->pid > 0;
}

static void wait_file_quiet(const char *file)
{
    struct timespec t0, changed;
    struct stat st;
    off_t size = -1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    changed = t0;
    while (ms_since(&t0) < DUMPCAP_MAX_WAIT_MS) {
        if (stat(file, &st) == 0 && st.st_size != size) {
            size = st.st_size;
            clock_gettime(CLOCK_MONOTONIC, &changed);
        }
        if (ms_since(&t0) >= DUMPCAP_MIN_WAIT_MS && ms_since(&changed) >= DUMPCAP_QUIET_MS)
            return;
        usleep(50 * 1000);
    }
}

void dumpcap_stop(dumpcap_t *d)
{
    if (d == NULL)
        return;
    if (dumpcap_running(d)) {
        wait_file_quiet(d->file);
        kill(d->pid, SIGINT); /* as at a terminal: dumpcap drains the kernel's buffer and closes the file */
        waitpid(d->pid, NULL, 0);
    }
    close(d->err_fd);
    free(d);
}

int dumpcap_inject_secrets(const char *file, const char *keys)
{
    char prog[DUMPCAP_PATH_MAX], tmp[DUMPCAP_PATH_MAX + 8], secrets[DUMPCAP_PATH_MAX + 8];
    struct stat st;
    int status = 0;

    if (keys == NULL || stat(keys, &st) != 0 || st.st_size == 0)
        return 1;
    if (!dumpcap_find_program("editcap", prog, sizeof prog))
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    snprintf(secrets, sizeof secrets, "tls,%s", keys);
    char *const argv[] = {"editcap", "--inject-secrets", secrets, (char *)file, tmp, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        execv(prog, argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        rename(tmp, file) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static uint32_t u32_at(const unsigned char *p, bool swap)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return swap ? __builtin_bswap32(v) : v;
}

long dumpcap_count_packets(const char *file)
{
    unsigned char hdr[12];
    struct stat st;
    long packets = 0;
    off_t off = 0;
    bool swap = false;
    FILE *f = fopen(file, "rb");

    if (f == NULL)
        return -1;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return -1;
    }
    while (off + 12 <= st.st_size && fseeko(f, off, SEEK_SET) == 0 && fread(hdr, 1, sizeof hdr, f) == sizeof hdr) {
        if (u32_at(hdr, false) == PCAPNG_SHB) /* a section starts: its byte order, for every block after it */
            swap = u32_at(hdr + 8, false) != PCAPNG_BYTE_ORDER_MAGIC;
        else if (off == 0)
            break; /* not pcapng */
        uint32_t type = u32_at(hdr, swap), len = u32_at(hdr + 4, swap);
        if (len < 12 || len % 4 != 0 || off + (off_t)len > st.st_size)
            break; /* the end, or a block dumpcap is still writing */
        packets += type == 6 || type == 3 || type == 2;
        off += len;
    }
    fclose(f);
    return off == 0 ? -1 : packets;
}
