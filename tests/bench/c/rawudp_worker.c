/* SPDX-License-Identifier: MIT */
/*
 * rawudp_worker: the nicebench raw C reference (tests/bench/README.md):
 * plain sendto / recvfrom on loopback, one packet per call, as the raw C
 * baseline in perf-baselines.md (section 1, variant (a) "plain").
 *
 *   rawudp_worker throughput --size B --seconds S --warmup W
 *
 * prints {"tx":N,"rx":N,"seconds":S,"send_errors":N,"rcvbuf_errors":N,"cpu_s":S}.
 *
 *   rawudp_worker connect --runs N
 *
 * prints {"samples_ms":[...]}: the connect test's reference, two raw-UDP
 * round trips (test_connect below). `idle` does not apply to raw UDP: it
 * exits with status 2.
 * Build:
 *
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o rawudp_worker rawudp_worker.c -lpthread
 *
 * One process, two threads: a receiver pthread loops recvfrom on a socket
 * bound to 127.0.0.1:0 with SO_RCVBUF 4 MB and counts the datagrams; the
 * main thread loops sendto from an unconnected socket to that address. The
 * counters, process CPU and the kernel's Udp RcvbufErrors are read at the
 * end of the warm-up and at the end of the window, exactly as the ICE
 * workers do. The receiver has a 100 ms receive timeout and the socket is
 * shut down at the end, so it cannot block the end of the run.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

/* The largest --size accepted (the largest UDP payload over IPv4). */
#define MAX_SIZE 65507

/* The receiver's SO_RCVBUF (net.core.rmem_max on the baseline machine). */
#define RCVBUF_BYTES (4 * 1024 * 1024)

static int rx_fd;
static atomic_uint_fast64_t rx_count;
static atomic_bool stopping;

/* receiver counts datagrams until stopping is set. */
static void *receiver(void *arg) {
    (void)arg;
    static char buf[MAX_SIZE + 1];
    struct sockaddr_in from;
    while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(rx_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
        if (n >= 0) {
            atomic_fetch_add_explicit(&rx_count, 1, memory_order_relaxed);
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            if (!atomic_load_explicit(&stopping, memory_order_relaxed)) perror("nicebench: recvfrom");
            break;
        }
    }
    return NULL;
}

static int test_throughput(int size, double seconds, double warmup) {
    if (size < 1 || size > MAX_SIZE) NB_DIE("--size must be 1..%d", MAX_SIZE);
    if (seconds <= 0 || warmup < 0) NB_DIE("--seconds must be > 0 and --warmup >= 0");

    /* The receiving socket: 127.0.0.1:0, SO_RCVBUF 4 MB, 100 ms timeout. */
    rx_fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (rx_fd < 0) NB_DIE("socket: %s", strerror(errno));
    int rcvbuf = RCVBUF_BYTES;
    if (setsockopt(rx_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0)
        NB_DIE("SO_RCVBUF: %s", strerror(errno));
    struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
    if (setsockopt(rx_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        NB_DIE("SO_RCVTIMEO: %s", strerror(errno));
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = 0};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(rx_fd, (struct sockaddr *)&to, sizeof to) != 0) NB_DIE("bind: %s", strerror(errno));
    socklen_t tolen = sizeof to;
    if (getsockname(rx_fd, (struct sockaddr *)&to, &tolen) != 0)
        NB_DIE("getsockname: %s", strerror(errno));

    /* The sending socket: unconnected, one sendto per packet. */
    int tx_fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (tx_fd < 0) NB_DIE("socket: %s", strerror(errno));

    pthread_t rx_thread;
    int err = pthread_create(&rx_thread, NULL, receiver, NULL);
    if (err != 0) NB_DIE("pthread_create: %s", strerror(err));

    char *buf = calloc(1, (size_t)size);
    if (buf == NULL) NB_DIE("out of memory");
    buf[0] = (char)0x80; /* the ICE workers' first byte (not STUN) */

    /* The send loop reads the clock every CLOCK_EVERY packets; the two
     * marks (end of warm-up, end of window) are taken when it passes them. */
    enum { CLOCK_EVERY = 16 };
    int64_t start = nb_now_ns();
    int64_t mark[2] = {start + (int64_t)(warmup * 1e9), start + (int64_t)((warmup + seconds) * 1e9)};
    int64_t at[2] = {0, 0}, cpu[2] = {0, 0};
    uint64_t tx[2] = {0, 0}, rx[2] = {0, 0}, errs[2] = {0, 0};
    long long rcverr[2] = {0, 0};
    uint64_t sent = 0, failed = 0;
    int m = 0;
    for (uint64_t i = 0;; i++) {
        if (i % CLOCK_EVERY == 0) {
            int64_t now = nb_now_ns();
            for (; m < 2 && now >= mark[m]; m++) { /* both marks may have passed */
                at[m] = now;
                tx[m] = sent;
                errs[m] = failed;
                rx[m] = atomic_load_explicit(&rx_count, memory_order_relaxed);
                cpu[m] = nb_cpu_us();
                rcverr[m] = nb_rcvbuf_errors();
            }
            if (m == 2) break;
        }
        if (sendto(tx_fd, buf, (size_t)size, 0, (struct sockaddr *)&to, sizeof to) < 0)
            failed++;
        else
            sent++;
    }

    /* Stop the receiver: the flag, then shutdown() to wake a blocked
     * recvfrom at once (the receive timeout bounds it anyway). */
    atomic_store(&stopping, true);
    shutdown(rx_fd, SHUT_RDWR);
    pthread_join(rx_thread, NULL);
    close(tx_fd);
    close(rx_fd);
    free(buf);

    printf("{\"tx\":%" PRIu64 ",\"rx\":%" PRIu64 ",\"seconds\":%.6f,\"send_errors\":%" PRIu64
           ",\"rcvbuf_errors\":%lld,\"cpu_s\":%.6f}\n",
           tx[1] - tx[0], rx[1] - rx[0], (double)(at[1] - at[0]) / 1e9, errs[1] - errs[0],
           rcverr[1] - rcverr[0], (double)(cpu[1] - cpu[0]) / 1e6);
    return 0;
}

/* One side of the connect reference: a socket, its peer, how many datagrams
 * it reads, whether it answers the last one, and when it was done. */
struct pp_side {
    int fd;
    struct sockaddr_in peer;
    bool answer_last;
    int64_t done_ns; /* 0: failed */
};

/* A STUN Binding request with credentials is about 100 bytes. */
static char pp_msg[100];

/* pp_reader reads two datagrams; it answers each (B) or only the first (A:
 * answer 1 → request 2), then stamps the time. */
static void *pp_reader(void *arg) {
    struct pp_side *s = arg;
    char buf[2048];
    for (int i = 0; i < 2; i++) {
        if (recv(s->fd, buf, sizeof buf, 0) < 0) return NULL;
        if ((s->answer_last || i == 0) &&
            sendto(s->fd, pp_msg, sizeof pp_msg, 0, (struct sockaddr *)&s->peer, sizeof s->peer) < 0)
            return NULL;
    }
    s->done_ns = nb_now_ns();
    return NULL;
}

static int pp_socket(struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) NB_DIE("socket: %s", strerror(errno));
    struct timeval tv = {.tv_sec = 10, .tv_usec = 0}; /* a lost datagram fails the run */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = 0};
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0) NB_DIE("bind: %s", strerror(errno));
    socklen_t len = sizeof *addr;
    if (getsockname(fd, (struct sockaddr *)addr, &len) != 0) NB_DIE("getsockname: %s", strerror(errno));
    return fd;
}

/* test_connect is the connect test's raw reference: per run, two sockets on
 * 127.0.0.1, each read by a thread of its own (blocked in recv before t0, as
 * an agent's reader is after gathering); at t0 the main thread sends A's
 * first request; B's thread answers both requests, A's thread sends the
 * second request on the first answer. The sample is the later of the two
 * threads' last stamps minus t0: two round trips, four thread wake-ups. */
static int test_connect(int runs) {
    if (runs < 1) NB_DIE("--runs must be >= 1");
    printf("{\"samples_ms\":[");
    for (int r = 0; r < runs; r++) {
        struct pp_side a = {.answer_last = false}, b = {.answer_last = true};
        struct sockaddr_in aa, ba;
        a.fd = pp_socket(&aa);
        b.fd = pp_socket(&ba);
        a.peer = ba;
        b.peer = aa;
        pthread_t ta, tb;
        int err = pthread_create(&ta, NULL, pp_reader, &a);
        if (err == 0) err = pthread_create(&tb, NULL, pp_reader, &b);
        if (err != 0) NB_DIE("pthread_create: %s", strerror(err));
        nb_sleep_s(0.002); /* both threads are blocked in recv */
        int64_t t0 = nb_now_ns();
        if (sendto(a.fd, pp_msg, sizeof pp_msg, 0, (struct sockaddr *)&ba, sizeof ba) < 0)
            NB_DIE("sendto: %s", strerror(errno));
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        close(a.fd);
        close(b.fd);
        if (a.done_ns == 0 || b.done_ns == 0) NB_DIE("the ping-pong did not finish");
        int64_t done = a.done_ns > b.done_ns ? a.done_ns : b.done_ns;
        printf("%s%.6f", r ? "," : "", (double)(done - t0) / 1e6);
    }
    printf("]}\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: rawudp_worker throughput --size B --seconds S --warmup W | connect --runs N\n");
        return 2;
    }
    const char *test = argv[1];
    if (strcmp(test, "throughput") == 0)
        return test_throughput((int)nb_optf(argc, argv, "--size", 1200), nb_optf(argc, argv, "--seconds", 3),
                               nb_optf(argc, argv, "--warmup", 0.2));
    if (strcmp(test, "connect") == 0) return test_connect((int)nb_optf(argc, argv, "--runs", 20));
    if (strcmp(test, "idle") == 0) {
        fprintf(stderr, "nicebench: rawudp_worker: test \"%s\" is not applicable to raw UDP\n", test);
        return 2;
    }
    fprintf(stderr, "nicebench: rawudp_worker: unknown test \"%s\"\n", test);
    return 2;
}
