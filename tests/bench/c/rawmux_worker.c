/* SPDX-License-Identifier: MIT */
/*
 * rawmux_worker: the raw C reference of nicebench's mux-pps test
 * (tests/bench/README.md): many sending sockets into one receiving socket,
 * recvmmsg and sendmmsg, no ICE.
 *
 *   rawmux_worker mux-pps --pairs N --senders S --burst B --size 1200 --seconds 3 --warmup 0.5 [--clients same|process]
 *
 * prints {"tx":N,"rx":N,"seconds":S,"tx_all":N,"rx_all":N,"send_errors":N,
 * "rcvbuf_errors":N,"cpu_s":S,"batches":N,"read":N,...}. Build:
 *
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o rawmux_worker rawmux_worker.c -lpthread
 *
 * One receiving socket on 127.0.0.1:0, SO_RCVBUF and SO_SNDBUF 4 MB (what
 * nice.UDPMux asks for), read by one thread with recvmmsg into 32 slots of
 * 2048 bytes (the mux's batch and its default MaxDatagram), MSG_WAITFORONE;
 * each datagram read is counted. N sending sockets, each bound to
 * 127.0.0.1:0 (distinct ports, unconnected, 4 MB buffers like an agent's),
 * shared out among S sender threads; each thread loops over its sockets,
 * one sendmmsg of B datagrams of `size` bytes (first byte 0x80) per socket
 * (B = 1: sendto). Counters, CPU and RcvbufErrors are read after the
 * warm-up and after the window; then the senders stop and, once nothing
 * more arrives for 100 ms, the totals are read for the exact loss.
 *
 * --clients process: the sending sockets and sender threads are in a child
 * (fork after the sockets are made; the parent closes its copies of the
 * sending sockets, the child its copy of the receiving one), as nicebench's
 * gonice worker puts its client agents in a second process. The senders'
 * counters and stop flag are in shared anonymous memory; the child's CPU
 * time (/proc/PID/stat) is added to the parent's.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

enum { BATCH = 32, SLOT = 2048, MAX_BURST = 1024, MAX_SENDERS = 64 };

#define BUF_BYTES (4 * 1024 * 1024)

static int rx_fd;
static atomic_uint_fast64_t rx_count, rx_batches;
static atomic_bool stopping;
/* In shared memory: the child of --clients process reads it. */
static atomic_bool *senders_stop;

/* One sender thread's sockets and counters (a cache line of its own). */
struct sender {
    int *fds;
    int nfds;
    atomic_uint_fast64_t sent, errs;
    char pad[64];
};

static struct sockaddr_in dst;
static char *payload;
static int size, burst;

/* receiver reads batches until stopping is set. */
static void *receiver(void *arg) {
    (void)arg;
    static char bufs[BATCH][SLOT];
    static struct mmsghdr hdrs[BATCH];
    static struct iovec iovs[BATCH];
    static struct sockaddr_in names[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iovs[i] = (struct iovec){.iov_base = bufs[i], .iov_len = SLOT};
        hdrs[i].msg_hdr.msg_iov = &iovs[i];
        hdrs[i].msg_hdr.msg_iovlen = 1;
        hdrs[i].msg_hdr.msg_name = &names[i];
    }
    while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
        for (int i = 0; i < BATCH; i++) {
            hdrs[i].msg_hdr.msg_namelen = sizeof names[i];
            hdrs[i].msg_hdr.msg_flags = 0;
        }
        int n = recvmmsg(rx_fd, hdrs, BATCH, MSG_WAITFORONE, NULL);
        if (n > 0) {
            atomic_fetch_add_explicit(&rx_count, (uint_fast64_t)n, memory_order_relaxed);
            atomic_fetch_add_explicit(&rx_batches, 1, memory_order_relaxed);
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            if (!atomic_load_explicit(&stopping, memory_order_relaxed)) perror("nicebench: recvmmsg");
            break;
        }
    }
    return NULL;
}

/* send_loop sends from its sockets in turn until senders_stop is set. */
static void *send_loop(void *arg) {
    struct sender *s = arg;
    struct mmsghdr msgs[MAX_BURST];
    struct iovec iov = {.iov_base = payload, .iov_len = (size_t)size};
    for (int i = 0; i < burst; i++) {
        msgs[i].msg_hdr = (struct msghdr){
            .msg_name = &dst, .msg_namelen = sizeof dst, .msg_iov = &iov, .msg_iovlen = 1};
    }
    while (!atomic_load_explicit(senders_stop, memory_order_relaxed)) {
        for (int k = 0; k < s->nfds; k++) {
            int n;
            if (burst == 1)
                n = sendto(s->fds[k], payload, (size_t)size, 0, (struct sockaddr *)&dst, sizeof dst) < 0 ? -1 : 1;
            else
                n = sendmmsg(s->fds[k], msgs, (unsigned)burst, 0);
            if (n < 0)
                atomic_fetch_add_explicit(&s->errs, 1, memory_order_relaxed);
            else
                atomic_fetch_add_explicit(&s->sent, (uint_fast64_t)n, memory_order_relaxed);
        }
    }
    return NULL;
}

static int udp_socket(struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) NB_DIE("socket: %s", strerror(errno));
    int b = BUF_BYTES;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = 0};
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0) NB_DIE("bind: %s", strerror(errno));
    socklen_t len = sizeof *addr;
    if (getsockname(fd, (struct sockaddr *)addr, &len) != 0) NB_DIE("getsockname: %s", strerror(errno));
    return fd;
}

/* sum adds up the senders' counters. */
static void sum(struct sender *ss, int n, uint64_t *sent, uint64_t *errs) {
    *sent = *errs = 0;
    for (int i = 0; i < n; i++) {
        *sent += atomic_load_explicit(&ss[i].sent, memory_order_relaxed);
        *errs += atomic_load_explicit(&ss[i].errs, memory_order_relaxed);
    }
}

/* proc_cpu_us is a process's user + system CPU time from /proc/PID/stat. */
static int64_t proc_cpu_us(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    /* After ")": state (field 3) ... utime (14), stime (15). */
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (int64_t)(ut + st) * (1000000 / sysconf(_SC_CLK_TCK));
}

static void *shared_alloc(size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) NB_DIE("mmap: %s", strerror(errno));
    return p;
}

static int test_mux_pps(int pairs, int nsenders, double seconds, double warmup, bool apart) {
    if (size < 1 || size > SLOT) NB_DIE("--size must be 1..%d", SLOT);
    if (burst < 1 || burst > MAX_BURST) NB_DIE("--burst must be 1..%d", MAX_BURST);
    if (nsenders < 1 || nsenders > MAX_SENDERS || nsenders > pairs)
        NB_DIE("--senders must be 1..%d and at most --pairs", MAX_SENDERS);
    if (seconds <= 0 || warmup < 0) NB_DIE("--seconds must be > 0 and --warmup >= 0");

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)pairs + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)pairs + 64 ? rl.rlim_max : (rlim_t)pairs + 64;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) NB_DIE("RLIMIT_NOFILE: %s", strerror(errno));
    }

    rx_fd = udp_socket(&dst);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
    if (setsockopt(rx_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        NB_DIE("SO_RCVTIMEO: %s", strerror(errno));
    int *fds = calloc((size_t)pairs, sizeof *fds);
    payload = calloc(1, (size_t)size);
    struct sender *ss = shared_alloc((size_t)nsenders * sizeof *ss);
    senders_stop = shared_alloc(sizeof *senders_stop);
    if (fds == NULL || payload == NULL || ss == NULL) NB_DIE("out of memory");
    payload[0] = (char)0x80;
    for (int i = 0; i < pairs; i++) {
        struct sockaddr_in a;
        fds[i] = udp_socket(&a);
    }

    pthread_t rx_thread, tx_threads[MAX_SENDERS];
    for (int k = 0; k < nsenders; k++) {
        int from = (int)((long)k * pairs / nsenders), to = (int)((long)(k + 1) * pairs / nsenders);
        ss[k].fds = fds + from;
        ss[k].nfds = to - from;
    }
    long long rcverr_start = nb_rcvbuf_errors();
    pid_t child = 0;
    if (apart) {
        fflush(stdout);
        child = fork();
        if (child < 0) NB_DIE("fork: %s", strerror(errno));
        if (child == 0) {
            /* The senders' process: their threads until the stop flag. */
            close(rx_fd);
            int err;
            for (int k = 0; k < nsenders; k++)
                if ((err = pthread_create(&tx_threads[k], NULL, send_loop, &ss[k])) != 0)
                    NB_DIE("pthread_create: %s", strerror(err));
            for (int k = 0; k < nsenders; k++) pthread_join(tx_threads[k], NULL);
            _exit(0);
        }
        for (int i = 0; i < pairs; i++) close(fds[i]);
    }
    int err = pthread_create(&rx_thread, NULL, receiver, NULL);
    if (err != 0) NB_DIE("pthread_create: %s", strerror(err));
    if (!apart)
        for (int k = 0; k < nsenders; k++)
            if ((err = pthread_create(&tx_threads[k], NULL, send_loop, &ss[k])) != 0)
                NB_DIE("pthread_create: %s", strerror(err));

    uint64_t tx[2], errs[2], rx[2], batches[2];
    int64_t at[2], cpu[2], ccpu[2];
    long long rcverr[2];
    nb_sleep_s(warmup);
    for (int m = 0; m < 2; m++) {
        if (m == 1) nb_sleep_s(seconds);
        sum(ss, nsenders, &tx[m], &errs[m]);
        rx[m] = atomic_load_explicit(&rx_count, memory_order_relaxed);
        batches[m] = atomic_load_explicit(&rx_batches, memory_order_relaxed);
        cpu[m] = nb_cpu_us();
        ccpu[m] = apart ? proc_cpu_us(child) : 0;
        rcverr[m] = nb_rcvbuf_errors();
        at[m] = nb_now_ns();
    }
    atomic_store(senders_stop, true);
    if (apart) {
        int status;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            NB_DIE("the senders' process failed");
    } else {
        for (int k = 0; k < nsenders; k++) pthread_join(tx_threads[k], NULL);
    }
    uint64_t tx_all, errs_all;
    sum(ss, nsenders, &tx_all, &errs_all);
    /* What is in flight arrives: wait until nothing more does for 100 ms. */
    uint64_t rx_all = atomic_load(&rx_count);
    for (int i = 0; i < 20; i++) {
        nb_sleep_s(0.1);
        uint64_t n = atomic_load(&rx_count);
        if (n == rx_all) break;
        rx_all = n;
    }
    long long rcverr_all = nb_rcvbuf_errors() - rcverr_start;
    atomic_store(&stopping, true);
    shutdown(rx_fd, SHUT_RDWR);
    pthread_join(rx_thread, NULL);
    if (!apart)
        for (int i = 0; i < pairs; i++) close(fds[i]);
    close(rx_fd);

    printf("{\"pairs\":%d,\"senders\":%d,\"burst\":%d,\"tx\":%" PRIu64 ",\"rx\":%" PRIu64
           ",\"seconds\":%.6f,\"tx_all\":%" PRIu64 ",\"rx_all\":%" PRIu64 ",\"send_errors\":%" PRIu64
           ",\"rcvbuf_errors\":%lld,\"cpu_s\":%.6f,\"cpu_s_clients\":%.6f,\"batches\":%" PRIu64
           ",\"read\":%" PRIu64 ",\"clients\":\"%s\",\"rcvbuf_errors_all\":%lld}\n",
           pairs, nsenders, burst, tx[1] - tx[0], rx[1] - rx[0], (double)(at[1] - at[0]) / 1e9, tx_all,
           rx_all, errs[1] - errs[0], rcverr[1] - rcverr[0],
           (double)(cpu[1] - cpu[0] + ccpu[1] - ccpu[0]) / 1e6, (double)(ccpu[1] - ccpu[0]) / 1e6,
           batches[1] - batches[0], rx[1] - rx[0], apart ? "process" : "same", rcverr_all);
    free(fds);
    free(payload);
    munmap(ss, (size_t)nsenders * sizeof *ss);
    munmap(senders_stop, sizeof *senders_stop);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: rawmux_worker mux-pps --pairs N --senders S --burst B --size B --seconds S --warmup W [--clients same|process]\n");
        return 2;
    }
    if (strcmp(argv[1], "mux-pps") != 0) {
        fprintf(stderr, "nicebench: rawmux_worker: unknown test \"%s\"\n", argv[1]);
        return 2;
    }
    size = (int)nb_optf(argc, argv, "--size", 1200);
    burst = (int)nb_optf(argc, argv, "--burst", 32);
    const char *clients = nb_opt(argc, argv, "--clients", "same");
    if (strcmp(clients, "same") != 0 && strcmp(clients, "process") != 0)
        NB_DIE("--clients same|process, not \"%s\"", clients);
    return test_mux_pps((int)nb_optf(argc, argv, "--pairs", 1000), (int)nb_optf(argc, argv, "--senders", 2),
                        nb_optf(argc, argv, "--seconds", 3), nb_optf(argc, argv, "--warmup", 0.5),
                        strcmp(clients, "process") == 0);
}
