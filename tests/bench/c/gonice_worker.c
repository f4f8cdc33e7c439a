/* SPDX-License-Identifier: MIT */
/*
 * gonice_worker: the nicebench worker of libgonice through include/gonice.h
 * (tests/bench/README.md describes the tests, options and output).
 *
 *   gonice_worker connect    --runs N --nomination regular|aggressive [--mode M]
 *   gonice_worker throughput --size B --seconds S --warmup W [--mode M]
 *   gonice_worker idle       --pairs N --mem-at S --cpu-from S --cpu-to S [--mode M]
 *
 * --mode thread (default): the default delivery mode, the agents' callbacks
 * on the library's pool of threads. --mode dispatch: every agent is created with
 * GONICE_AGENT_OPTION_DISPATCH and ONE application thread (the "poller")
 * poll()s the fds of all agents and calls gonice_agent_dispatch() for the
 * ready ones - the shape of libnice's one-GMainContext-thread program.
 * The poller's set of agents is guarded by a mutex; an eventfd wakes it when
 * the set changes, and an agent is freed only after the poller has confirmed
 * that it no longer polls or dispatches it (gonice_agent_free closes the fd).
 *
 * The main thread makes every gonice_* call except dispatch; callbacks record
 * what they see under one mutex and wake the main thread with a condition
 * variable (the READY time is taken in the callback, so the main thread's
 * wake-up latency is not measured).
 */
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>

#include "gonice.h"

/* ------------------------------------------------------------------------ */
/* Options and errors                                                        */
/* ------------------------------------------------------------------------ */

static int g_dispatch;   /* --mode dispatch */
static int g_nomination; /* GoniceNominationMode */

static const char *mode_name(void) { return g_dispatch ? "dispatch" : "thread"; }

/* CHECK_OK dies when a gonice call returns a negative code. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ < 0)                                                                               \
            NB_DIE("%s:%d: %s: %s (%s)", __FILE__, __LINE__, #call, gonice_strerror(rc_),          \
                   gonice_last_error());                                                           \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Peers and the callbacks                                                   */
/* ------------------------------------------------------------------------ */

typedef struct Peer {
    GoniceAgent *agent;
    unsigned int sid;
    int fd; /* dispatch mode: gonice_agent_get_fd() */
    /* Guarded by g_mu: */
    int gathered;
    int state;        /* last component-state-changed of component 1 */
    int64_t ready_ns; /* when READY was first reported (0: not yet) */
    /* Received datagrams (the receive callback). */
    atomic_llong rx;
} Peer;

typedef struct Pair {
    Peer a, b; /* A controlling, B controlled */
    int64_t t0;
} Pair;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv; /* CLOCK_MONOTONIC; broadcast on every change */

static void on_gathering_done(GoniceAgent *agent, unsigned int sid, void *ud) {
    (void)agent, (void)sid;
    Peer *p = ud;
    pthread_mutex_lock(&g_mu);
    p->gathered = 1;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static void on_state(GoniceAgent *agent, unsigned int sid, unsigned int cid,
                     GoniceComponentState state, void *ud) {
    (void)agent, (void)sid;
    int64_t now = nb_now_ns();
    Peer *p = ud;
    if (cid != 1) return;
    pthread_mutex_lock(&g_mu);
    p->state = (int)state;
    if (state == GONICE_COMPONENT_STATE_READY && p->ready_ns == 0) p->ready_ns = now;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static void on_recv(GoniceAgent *agent, unsigned int sid, unsigned int cid, unsigned int len,
                    char *buf, void *ud) {
    (void)agent, (void)sid, (void)cid, (void)len, (void)buf;
    Peer *p = ud;
    atomic_fetch_add_explicit(&p->rx, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------------ */
/* Dispatch mode: one poller thread for every agent                          */
/* ------------------------------------------------------------------------ */

typedef struct PollEntry {
    GoniceAgent *agent;
    int fd;
} PollEntry;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast when the poller takes a new snapshot */
    PollEntry *set;    /* the agents to poll */
    int n, cap;
    uint64_t version; /* bumped on every change of set */
    uint64_t seen;    /* the version of the poller's current snapshot */
    int stop;
    int wake; /* eventfd: the set changed, or stop */
    pthread_t thread;
} D = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = -1};

static void *poller_main(void *arg) {
    (void)arg;
    PollEntry *snap = NULL;
    struct pollfd *pfd = NULL;
    int ns = 0, cap = 0;
    for (;;) {
        pthread_mutex_lock(&D.mu);
        if (D.stop) {
            D.seen = D.version;
            pthread_cond_broadcast(&D.cv);
            pthread_mutex_unlock(&D.mu);
            break;
        }
        if (D.seen != D.version) {
            /* The previous snapshot is no longer used from here on: an
             * agent removed before this point may be freed. */
            if (D.n > cap) {
                cap = D.n * 2;
                snap = realloc(snap, (size_t)cap * sizeof *snap);
                pfd = realloc(pfd, (size_t)(cap + 1) * sizeof *pfd);
                if (snap == NULL || pfd == NULL) NB_DIE("poller: out of memory");
            }
            if (D.n > 0) memcpy(snap, D.set, (size_t)D.n * sizeof *snap);
            ns = D.n;
            D.seen = D.version;
            pthread_cond_broadcast(&D.cv);
        }
        pthread_mutex_unlock(&D.mu);
        if (pfd == NULL) {
            pfd = malloc(sizeof *pfd);
            if (pfd == NULL) NB_DIE("poller: out of memory");
        }
        pfd[0] = (struct pollfd){.fd = D.wake, .events = POLLIN};
        for (int i = 0; i < ns; i++) pfd[i + 1] = (struct pollfd){.fd = snap[i].fd, .events = POLLIN};
        int r = poll(pfd, (nfds_t)ns + 1, -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            NB_DIE("poller: poll: %s", strerror(errno));
        }
        if (pfd[0].revents & POLLIN) {
            eventfd_t v;
            (void)eventfd_read(D.wake, &v);
        }
        for (int i = 0; i < ns; i++) {
            short re = pfd[i + 1].revents;
            if (re & POLLNVAL) NB_DIE("poller: fd %d of an agent is not open", snap[i].fd);
            if (re & (POLLIN | POLLERR | POLLHUP)) {
                int n = gonice_agent_dispatch(snap[i].agent);
                if (n < 0)
                    NB_DIE("poller: gonice_agent_dispatch: %s (%s)", gonice_strerror(n),
                           gonice_last_error());
            }
        }
    }
    free(snap);
    free(pfd);
    return NULL;
}

static void poller_start(void) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&D.cv, &ca);
    pthread_condattr_destroy(&ca);
    D.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (D.wake < 0) NB_DIE("eventfd: %s", strerror(errno));
    int e = pthread_create(&D.thread, NULL, poller_main, NULL);
    if (e != 0) NB_DIE("pthread_create: %s", strerror(e));
}

static void poller_stop(void) {
    pthread_mutex_lock(&D.mu);
    D.stop = 1;
    pthread_mutex_unlock(&D.mu);
    (void)eventfd_write(D.wake, 1);
    pthread_join(D.thread, NULL);
    close(D.wake);
    free(D.set);
}

/* poller_add adds an agent to the poller's set. */
static void poller_add(Peer *p) {
    pthread_mutex_lock(&D.mu);
    if (D.n == D.cap) {
        D.cap = D.cap ? D.cap * 2 : 64;
        D.set = realloc(D.set, (size_t)D.cap * sizeof *D.set);
        if (D.set == NULL) NB_DIE("out of memory");
    }
    D.set[D.n++] = (PollEntry){p->agent, p->fd};
    D.version++;
    pthread_mutex_unlock(&D.mu);
    (void)eventfd_write(D.wake, 1);
}

/* poller_remove takes n agents out of the poller's set and returns once the
 * poller no longer polls or dispatches them: they may be freed then. */
static void poller_remove(Peer **ps, int n) {
    pthread_mutex_lock(&D.mu);
    for (int k = 0; k < n; k++)
        for (int i = 0; i < D.n; i++)
            if (D.set[i].agent == ps[k]->agent) {
                D.set[i] = D.set[--D.n];
                break;
            }
    uint64_t v = ++D.version;
    pthread_mutex_unlock(&D.mu);
    (void)eventfd_write(D.wake, 1);
    pthread_mutex_lock(&D.mu);
    while (D.seen < v) pthread_cond_wait(&D.cv, &D.mu);
    pthread_mutex_unlock(&D.mu);
}

/* ------------------------------------------------------------------------ */
/* Agents and pairs                                                          */
/* ------------------------------------------------------------------------ */

/* peer_start creates an agent on 127.0.0.1 with one stream of one component
 * and starts gathering. */
static void peer_start(Peer *p, int controlling) {
    memset(p, 0, sizeof *p);
    atomic_init(&p->rx, 0);
    p->fd = -1;
    CHECK_OK(gonice_agent_new(&p->agent, g_dispatch ? GONICE_AGENT_OPTION_DISPATCH : 0));
    CHECK_OK(gonice_agent_set_controlling_mode(p->agent, controlling));
    CHECK_OK(gonice_agent_set_nomination_mode(p->agent, (GoniceNominationMode)g_nomination));
    CHECK_OK(gonice_agent_connect_candidate_gathering_done(p->agent, on_gathering_done, p));
    CHECK_OK(gonice_agent_connect_component_state_changed(p->agent, on_state, p));
    CHECK_OK(gonice_agent_add_local_address(p->agent, "127.0.0.1"));
    int sid = gonice_agent_add_stream(p->agent, 1);
    CHECK_OK(sid);
    p->sid = (unsigned int)sid;
    CHECK_OK(gonice_agent_attach_recv(p->agent, p->sid, 1, on_recv, p));
    if (g_dispatch) {
        p->fd = gonice_agent_get_fd(p->agent);
        CHECK_OK(p->fd);
        poller_add(p);
    }
    CHECK_OK(gonice_agent_gather_candidates(p->agent, p->sid));
}

/* free_pairs frees the agents of n pairs (in dispatch mode, after taking
 * them out of the poller's set). */
static void free_pairs(Pair *ps, int n) {
    if (g_dispatch) {
        Peer **list = malloc((size_t)(2 * n) * sizeof *list);
        if (list == NULL) NB_DIE("out of memory");
        for (int i = 0; i < n; i++) list[2 * i] = &ps[i].a, list[2 * i + 1] = &ps[i].b;
        poller_remove(list, 2 * n);
        free(list);
    }
    for (int i = 0; i < n; i++) {
        CHECK_OK(gonice_agent_free(ps[i].a.agent));
        CHECK_OK(gonice_agent_free(ps[i].b.agent));
    }
}

typedef int (*pred_fn)(const Peer *p);
static int is_gathered(const Peer *p) { return p->gathered; }
static int is_ready(const Peer *p) { return p->ready_ns != 0; }

/* wait_all waits (10 s at most) until pred holds for every peer of n pairs;
 * a FAILED component ends the worker. */
static void wait_all(Pair *ps, int n, pred_fn pred, const char *what) {
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&g_mu);
    for (;;) {
        int ok = 1;
        for (int i = 0; i < n && ok; i++) {
            if (ps[i].a.state == GONICE_COMPONENT_STATE_FAILED ||
                ps[i].b.state == GONICE_COMPONENT_STATE_FAILED)
                NB_DIE("pair %d: a component FAILED while waiting for %s", i, what);
            ok = pred(&ps[i].a) && pred(&ps[i].b);
        }
        if (ok) break;
        if (pthread_cond_timedwait(&g_cv, &g_mu, &dl) == ETIMEDOUT) {
            for (int i = 0; i < n; i++)
                if (!pred(&ps[i].a) || !pred(&ps[i].b))
                    fprintf(stderr, "nicebench: pair %d: A %s, B %s\n", i,
                            gonice_component_state_to_string(ps[i].a.state),
                            gonice_component_state_to_string(ps[i].b.state));
            NB_DIE("timed out (10 s) waiting for %s", what);
        }
    }
    pthread_mutex_unlock(&g_mu);
}

/* give_credentials passes from's credentials to to. */
static void give_credentials(Peer *from, Peer *to) {
    char *ufrag = NULL, *pwd = NULL;
    CHECK_OK(gonice_agent_get_local_credentials(from->agent, from->sid, &ufrag, &pwd));
    CHECK_OK(gonice_agent_set_remote_credentials(to->agent, to->sid, ufrag, pwd));
    gonice_free(ufrag);
    gonice_free(pwd);
}

/* connect_pairs connects n pairs: all gather, then for each pair the
 * credentials are exchanged and the candidates read; t0; the remote
 * candidates are set on A, then on B. Returns when every agent is READY. */
static void connect_pairs(Pair *ps, int n) {
    for (int i = 0; i < n; i++) {
        peer_start(&ps[i].a, 1);
        peer_start(&ps[i].b, 0);
    }
    wait_all(ps, n, is_gathered, "gathering done");
    for (int i = 0; i < n; i++) {
        Pair *p = &ps[i];
        give_credentials(&p->a, &p->b);
        give_credentials(&p->b, &p->a);
        GoniceCandidate *ca = NULL, *cb = NULL;
        int na = gonice_agent_get_local_candidates(p->a.agent, p->a.sid, 1, &ca);
        CHECK_OK(na);
        int nb = gonice_agent_get_local_candidates(p->b.agent, p->b.sid, 1, &cb);
        CHECK_OK(nb);
        if (na < 1 || nb < 1) NB_DIE("no local candidate (A %d, B %d)", na, nb);
        p->t0 = nb_now_ns();
        CHECK_OK(gonice_agent_set_remote_candidates(p->a.agent, p->a.sid, 1, cb, (size_t)nb));
        CHECK_OK(gonice_agent_set_remote_candidates(p->b.agent, p->b.sid, 1, ca, (size_t)na));
        gonice_free(ca);
        gonice_free(cb);
    }
    wait_all(ps, n, is_ready, "READY");
}

/* last_ready is the later READY time of a pair's agents (g_mu is taken: the
 * fields were written by callbacks). */
static int64_t last_ready(Pair *p) {
    pthread_mutex_lock(&g_mu);
    int64_t t = p->a.ready_ns > p->b.ready_ns ? p->a.ready_ns : p->b.ready_ns;
    pthread_mutex_unlock(&g_mu);
    return t;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

static void test_connect(int runs) {
    double *samples = calloc((size_t)(runs > 0 ? runs : 1), sizeof *samples);
    if (samples == NULL) NB_DIE("out of memory");
    for (int r = 0; r < runs; r++) {
        Pair p;
        connect_pairs(&p, 1);
        samples[r] = (double)(last_ready(&p) - p.t0) / 1e6;
        free_pairs(&p, 1);
    }
    printf("{\"samples_ms\":[");
    for (int r = 0; r < runs; r++) printf("%s%.3f", r ? "," : "", samples[r]);
    printf("],\"mode\":\"%s\"}\n", mode_name());
    free(samples);
}

/* burst: --burst N sends N datagrams per call with
 * gonice_agent_send_messages_nonblocking (default 1: gonice_agent_send). */
static int burst = 1;

static void test_throughput(int size, double seconds, double warmup) {
    if (size < 1 || size > GONICE_MAX_DATAGRAM) NB_DIE("--size must be 1..%d", GONICE_MAX_DATAGRAM);
    Pair p;
    connect_pairs(&p, 1);
    unsigned char *buf = calloc(1, (size_t)size);
    if (buf == NULL) NB_DIE("out of memory");
    buf[0] = 0x80; /* not STUN */
    long long tx = 0, send_errors = 0, tx0 = 0, rx0 = 0, rb0 = 0;
    int64_t cpu0 = 0;
    int64_t start = nb_now_ns();
    int64_t warm_end = start + (int64_t)(warmup * 1e9);
    int64_t end = warm_end + (int64_t)(seconds * 1e9);
    int warm = 1;
    if (burst < 1 || burst > 64) NB_DIE("--burst must be 1..64");
    GoniceOutputVector vec = {buf, (size_t)size};
    GoniceOutputMessage msgs[64];
    for (int j = 0; j < 64; j++) {
        msgs[j].buffers = &vec;
        msgs[j].n_buffers = 1;
    }
    unsigned long clock_mask = burst > 1 ? 7 : 255;
    for (unsigned long i = 0;; i++) {
        if (burst > 1) {
            int k = gonice_agent_send_messages_nonblocking(p.a.agent, p.a.sid, 1, msgs, (unsigned)burst);
            if (k < 0)
                send_errors++;
            else
                tx += k;
        } else if (gonice_agent_send(p.a.agent, p.a.sid, 1, (unsigned int)size, buf) < 0)
            send_errors++;
        else
            tx++;
        if ((i & clock_mask) != 0) continue;
        int64_t now = nb_now_ns();
        if (warm && now >= warm_end) {
            warm = 0;
            tx0 = tx;
            rx0 = atomic_load(&p.b.rx);
            cpu0 = nb_cpu_us();
            rb0 = nb_rcvbuf_errors();
            send_errors = 0;
            start = now;
        }
        if (!warm && now >= end) break;
    }
    long long txn = tx - tx0;
    double elapsed = (double)(nb_now_ns() - start) / 1e9;
    nb_sleep_s(0.05); /* what is in flight arrives */
    long long rxn = atomic_load(&p.b.rx) - rx0;
    long long rbn = nb_rcvbuf_errors() - rb0;
    double cpu_s = (double)(nb_cpu_us() - cpu0) / 1e6;
    printf("{\"tx\":%lld,\"rx\":%lld,\"seconds\":%.6f,\"send_errors\":%lld,\"rcvbuf_errors\":%lld,"
           "\"cpu_s\":%.6f,\"mode\":\"%s\"}\n",
           txn, rxn, elapsed, send_errors, rbn, cpu_s, mode_name());
    free(buf);
    free_pairs(&p, 1);
}

/* sleep_until sleeps until the CLOCK_MONOTONIC time t (ns). */
static void sleep_until(int64_t t) {
    int64_t d = t - nb_now_ns();
    if (d > 0) nb_sleep_s((double)d / 1e9);
}

static void test_idle(int pairs, double mem_at, double cpu_from, double cpu_to) {
    if (pairs < 1) NB_DIE("--pairs must be >= 1");
    /* A warm-up pair, so one-off allocations (the Go runtime, the poller's
     * buffers) are in the baseline. */
    Pair w;
    connect_pairs(&w, 1);
    free_pairs(&w, 1);
    long rss0 = nb_rss_kb();
    int fds0 = nb_count_dir("/proc/self/fd"), thr0 = nb_count_dir("/proc/self/task");

    Pair *all = calloc((size_t)pairs, sizeof *all);
    if (all == NULL) NB_DIE("out of memory");
    const int batch = 20;
    for (int i = 0; i < pairs; i += batch)
        connect_pairs(&all[i], pairs - i < batch ? pairs - i : batch);
    int64_t last = 0;
    for (int i = 0; i < pairs; i++) {
        int64_t t = last_ready(&all[i]);
        if (t > last) last = t;
    }

    sleep_until(last + (int64_t)(mem_at * 1e9));
    long rss1 = nb_rss_kb();
    int fds1 = nb_count_dir("/proc/self/fd"), thr1 = nb_count_dir("/proc/self/task");
    sleep_until(last + (int64_t)(cpu_from * 1e9));
    int64_t c0 = nb_cpu_us(), w0 = nb_now_ns();
    sleep_until(last + (int64_t)(cpu_to * 1e9));
    int64_t c1 = nb_cpu_us(), w1 = nb_now_ns();

    int ready = 0;
    for (int i = 0; i < pairs; i++) {
        if (gonice_agent_get_component_state(all[i].a.agent, all[i].a.sid, 1) ==
            GONICE_COMPONENT_STATE_READY)
            ready++;
        if (gonice_agent_get_component_state(all[i].b.agent, all[i].b.sid, 1) ==
            GONICE_COMPONENT_STATE_READY)
            ready++;
    }
    printf("{\"pairs\":%d,\"rss_kb\":%ld,\"fds\":%d,\"threads\":%d,\"goroutines\":-1,"
           "\"heap_kb\":-1,\"cpu_us\":%lld,\"cpu_seconds\":%.6f,\"still_ready\":%d,"
           "\"mode\":\"%s\"}\n",
           pairs, rss1 - rss0, fds1 - fds0, thr1 - thr0, (long long)(c1 - c0),
           (double)(w1 - w0) / 1e9, ready, mode_name());
    fflush(stdout);
    free_pairs(all, pairs);
    free(all);
}

/* ------------------------------------------------------------------------ */

static void usage(void) {
    fprintf(stderr,
            "usage: gonice_worker connect|throughput|idle [--mode thread|dispatch]\n"
            "         [--runs N] [--nomination regular|aggressive] [--size B] [--seconds S]\n"
            "         [--warmup S] [--pairs N] [--mem-at S] [--cpu-from S] [--cpu-to S]\n");
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    const char *test = argv[1];
    const char *mode = nb_opt(argc, argv, "--mode", "thread");
    if (strcmp(mode, "thread") == 0)
        g_dispatch = 0;
    else if (strcmp(mode, "dispatch") == 0)
        g_dispatch = 1;
    else
        NB_DIE("unknown --mode %s (thread or dispatch)", mode);
    burst = (int)nb_optf(argc, argv, "--burst", 1);
    const char *nom = nb_opt(argc, argv, "--nomination", "regular");
    if (strcmp(nom, "regular") == 0)
        g_nomination = GONICE_NOMINATION_MODE_REGULAR;
    else if (strcmp(nom, "aggressive") == 0)
        g_nomination = GONICE_NOMINATION_MODE_AGGRESSIVE;
    else
        NB_DIE("unknown --nomination %s (regular or aggressive)", nom);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (g_dispatch) poller_start();

    if (strcmp(test, "connect") == 0)
        test_connect((int)nb_optf(argc, argv, "--runs", 20));
    else if (strcmp(test, "throughput") == 0)
        test_throughput((int)nb_optf(argc, argv, "--size", 1200),
                        nb_optf(argc, argv, "--seconds", 3), nb_optf(argc, argv, "--warmup", 0.2));
    else if (strcmp(test, "idle") == 0)
        test_idle((int)nb_optf(argc, argv, "--pairs", 200), nb_optf(argc, argv, "--mem-at", 2),
                  nb_optf(argc, argv, "--cpu-from", 12), nb_optf(argc, argv, "--cpu-to", 22));
    else
        usage();

    if (g_dispatch) poller_stop();
    fflush(stdout);
    return 0;
}
