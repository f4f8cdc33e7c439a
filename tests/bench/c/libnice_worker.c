/* SPDX-License-Identifier: MIT */
/*
 * libnice_worker: the nicebench worker for libnice 0.1.21 (Debian
 * libnice-dev). It runs one test and prints one JSON object on stdout; the
 * tests, their options and their output are described in
 * tests/bench/README.md:
 *
 *   libnice_worker connect    --runs N --nomination regular|aggressive
 *   libnice_worker throughput --size B --seconds S --warmup W
 *   libnice_worker idle       --pairs N --mem-at S --cpu-from S --cpu-to S
 *                             [--batch 20]
 *   (every test also takes --consent on|off, default off as in libnice)
 *
 * --nomination is accepted by every test; the default is aggressive, as
 * libnice's. --batch (idle only, not in the README) is how many pairs are
 * connected at a time, 20 as the README says. Note that the baseline's
 * "42 us/s per pair, 12-22 s after connect" is reproduced only with
 * --batch 1: connecting 200 pairs one by one takes about 4.3 s (200 x Ta),
 * so the window then catches the first pairs' keepalives, which libnice
 * sends Tr = 25 s after checks start; with batches of 20 (about 0.5 s in
 * all) that window holds no libnice work at all. Build:
 *
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o libnice_worker \
 *       libnice_worker.c $(pkg-config --cflags --libs nice) -lpthread
 *
 * Setup, as in the libnice baseline (perf-baselines.md, section 4): one
 * GMainContext whose GMainLoop runs on a dedicated GThread (the "loop
 * thread"); every agent is nice_agent_new_full(ctx, RFC5245, opts) with
 * upnp and ice-tcp off and libnice's other defaults (stun-pacing-timer
 * Ta = 20 ms, idle-timeout, no consent freshness), one host candidate on
 * 127.0.0.1, one stream with one component, and its receive callback
 * attached to the shared context.
 *
 * Threads. The main thread creates the agents, exchanges credentials and
 * candidates, sends (throughput) and reads the counters. libnice emits its
 * signals either on the loop thread (timers, socket input) or on the thread
 * that called into the agent (e.g. gathering done from
 * nice_agent_gather_candidates), so the handlers record what they see under
 * one mutex and broadcast one condition variable, on which the main thread
 * waits with a deadline. Agents are unref'd on the loop thread, after their
 * handlers are disconnected and their receive callback detached, so no
 * callback can run concurrently with or after the free.
 */
#include "common.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <agent.h>

/* How long the main thread waits for gathering or READY before giving up. */
#define WAIT_LIMIT_S 20

/* Pairs are connected this many at a time by the idle test (--batch). */
#define IDLE_BATCH 20

/* The largest --size the throughput test accepts. */
#define MAX_SIZE 65507

/* Side is one agent of a pair and what its signal handlers have seen. The
 * fields below "guarded by mu" are written by handlers under mu. */
typedef struct Side {
    NiceAgent *agent;
    guint stream;
    /* guarded by mu */
    bool gathered;    /* candidate-gathering-done was emitted */
    bool failed;      /* the component went to FAILED */
    int64_t ready_ns; /* nb_now_ns() of the first READY, 0 before */
    /* written by the receive callback on the loop thread, read anywhere */
    atomic_uint_fast64_t rx;
} Side;

/* Pair is two agents: a is controlling, b controlled. */
typedef struct Pair {
    Side a, b;
} Pair;

static GMainContext *ctx;
static GMainLoop *loop;
static GThread *loop_thread;

/* mu and cond guard and signal the handler-written fields of every Side. */
static GMutex mu;
static GCond cond;

/* ---- signal handlers and callbacks ---------------------------------- */

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data) {
    Side *s = data;
    (void)agent;
    if (stream != s->stream) return;
    g_mutex_lock(&mu);
    s->gathered = true;
    g_cond_broadcast(&cond);
    g_mutex_unlock(&mu);
}

static void on_state_changed(NiceAgent *agent, guint stream, guint component, guint state,
                             gpointer data) {
    Side *s = data;
    int64_t now = nb_now_ns(); /* before the lock: the READY instant */
    (void)agent;
    if (stream != s->stream || component != 1) return;
    g_mutex_lock(&mu);
    if (state == NICE_COMPONENT_STATE_READY && s->ready_ns == 0) s->ready_ns = now;
    if (state == NICE_COMPONENT_STATE_FAILED) s->failed = true;
    g_cond_broadcast(&cond);
    g_mutex_unlock(&mu);
}

/* on_recv counts the datagrams an agent receives (on the loop thread). */
static void on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
                    gpointer data) {
    Side *s = data;
    (void)agent, (void)stream, (void)component, (void)len, (void)buf;
    atomic_fetch_add_explicit(&s->rx, 1, memory_order_relaxed);
}

/* ---- the loop thread ------------------------------------------------ */

static gpointer loop_run(gpointer data) {
    (void)data;
    g_main_loop_run(loop);
    return NULL;
}

static void loop_start(void) {
    ctx = g_main_context_new();
    loop = g_main_loop_new(ctx, FALSE);
    loop_thread = g_thread_new("nicebench-loop", loop_run, NULL);
}

/* loop_stop quits the loop and joins its thread. Agents still attached to
 * the context stay allocated (the process is about to exit). */
static void loop_stop(void) {
    g_main_loop_quit(loop);
    g_thread_join(loop_thread);
    g_main_loop_unref(loop);
    g_main_context_unref(ctx);
}

/* ---- pairs ---------------------------------------------------------- */

/* side_init creates one agent with its handlers and receive callback, and
 * starts gathering its host candidate on 127.0.0.1. */
static void side_init(Side *s, bool controlling, NiceAgentOption opts) {
    s->gathered = s->failed = false;
    s->ready_ns = 0;
    atomic_init(&s->rx, 0);

    s->agent = nice_agent_new_full(ctx, NICE_COMPATIBILITY_RFC5245, opts);
    if (s->agent == NULL) NB_DIE("nice_agent_new_full failed");
    g_object_set(s->agent, "upnp", FALSE, "ice-tcp", FALSE, "controlling-mode",
                 controlling ? TRUE : FALSE, NULL);
    g_signal_connect(s->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), s);
    g_signal_connect(s->agent, "component-state-changed", G_CALLBACK(on_state_changed), s);

    NiceAddress addr;
    nice_address_init(&addr);
    if (!nice_address_set_from_string(&addr, "127.0.0.1")) NB_DIE("nice_address_set_from_string");
    if (!nice_agent_add_local_address(s->agent, &addr)) NB_DIE("nice_agent_add_local_address failed");

    /* on_gathering_done compares the stream id: set it before gathering
     * (the handler can only run once gathering has started). */
    s->stream = nice_agent_add_stream(s->agent, 1);
    if (s->stream == 0) NB_DIE("nice_agent_add_stream failed");
    if (!nice_agent_attach_recv(s->agent, s->stream, 1, ctx, on_recv, s))
        NB_DIE("nice_agent_attach_recv failed");
    if (!nice_agent_gather_candidates(s->agent, s->stream))
        NB_DIE("nice_agent_gather_candidates failed");
}

/* consent: --consent on turns RFC 7675 consent freshness on
 * (NICE_AGENT_OPTION_CONSENT_FRESHNESS; off by default in libnice), for a
 * like-for-like comparison with gonice, which has it on by default. */
static bool consent;

/* pair_init creates a pair (A controlling, B controlled) and starts
 * gathering on both. */
static void pair_init(Pair *p, bool regular) {
    NiceAgentOption opts = regular ? NICE_AGENT_OPTION_REGULAR_NOMINATION : NICE_AGENT_OPTION_NONE;
    if (consent) opts |= NICE_AGENT_OPTION_CONSENT_FRESHNESS;
    side_init(&p->a, true, opts);
    side_init(&p->b, false, opts);
}

/* wait_until_locked waits on cond (mu held) until deadline (a
 * g_get_monotonic_time() value), dying when the deadline has passed. */
static void wait_until_locked(gint64 deadline, const char *what) {
    if (!g_cond_wait_until(&cond, &mu, deadline) && g_get_monotonic_time() >= deadline)
        NB_DIE("timed out waiting for %s", what);
}

/* pairs_wait_gathered waits until every agent of pairs[0..n) has emitted
 * candidate-gathering-done. */
static void pairs_wait_gathered(Pair *pairs, int n) {
    gint64 deadline = g_get_monotonic_time() + WAIT_LIMIT_S * G_TIME_SPAN_SECOND;
    g_mutex_lock(&mu);
    for (int i = 0; i < n; i++)
        while (!pairs[i].a.gathered || !pairs[i].b.gathered)
            wait_until_locked(deadline, "candidate-gathering-done");
    g_mutex_unlock(&mu);
}

/* pairs_wait_ready waits until both components of every pair are READY and
 * returns the latest READY instant (nb_now_ns). */
static int64_t pairs_wait_ready(Pair *pairs, int n) {
    gint64 deadline = g_get_monotonic_time() + WAIT_LIMIT_S * G_TIME_SPAN_SECOND;
    int64_t last = 0;
    g_mutex_lock(&mu);
    for (int i = 0; i < n; i++) {
        Side *sides[2] = {&pairs[i].a, &pairs[i].b};
        for (int j = 0; j < 2; j++) {
            while (sides[j]->ready_ns == 0) {
                if (sides[j]->failed) NB_DIE("pair %d: component FAILED", i);
                wait_until_locked(deadline, "READY");
            }
            if (sides[j]->ready_ns > last) last = sides[j]->ready_ns;
        }
    }
    g_mutex_unlock(&mu);
    return last;
}

/* give_credentials sets from's local credentials as to's remote ones. */
static void give_credentials(Side *from, Side *to) {
    gchar *ufrag = NULL, *pwd = NULL;
    if (!nice_agent_get_local_credentials(from->agent, from->stream, &ufrag, &pwd))
        NB_DIE("nice_agent_get_local_credentials failed");
    if (!nice_agent_set_remote_credentials(to->agent, to->stream, ufrag, pwd))
        NB_DIE("nice_agent_set_remote_credentials failed");
    g_free(ufrag);
    g_free(pwd);
}

static GSList *local_candidates(Side *s) {
    GSList *l = nice_agent_get_local_candidates(s->agent, s->stream, 1);
    if (l == NULL) NB_DIE("no local candidate");
    return l;
}

static void set_remote_candidates(Side *s, GSList *cands) {
    if (nice_agent_set_remote_candidates(s->agent, s->stream, 1, cands) < 1)
        NB_DIE("nice_agent_set_remote_candidates failed");
}

static void free_candidates(GSList *l) {
    g_slist_free_full(l, (GDestroyNotify)nice_candidate_free);
}

/* pairs_connect connects pairs[0..n), whose gathering has been started:
 * it waits for gathering done, exchanges the credentials and reads the
 * candidates of all pairs, then (t0) sets the remote candidates on A and
 * then B of each pair, and waits for READY on both sides of every pair.
 * It returns the latest READY instant; *t0 is set to t0 (both nb_now_ns). */
static int64_t pairs_connect(Pair *pairs, int n, int64_t *t0) {
    pairs_wait_gathered(pairs, n);
    GSList **cands = g_new0(GSList *, 2 * (gsize)n);
    for (int i = 0; i < n; i++) {
        give_credentials(&pairs[i].a, &pairs[i].b);
        give_credentials(&pairs[i].b, &pairs[i].a);
        cands[2 * i] = local_candidates(&pairs[i].a);
        cands[2 * i + 1] = local_candidates(&pairs[i].b);
    }
    *t0 = nb_now_ns();
    for (int i = 0; i < n; i++) {
        set_remote_candidates(&pairs[i].a, cands[2 * i + 1]);
        set_remote_candidates(&pairs[i].b, cands[2 * i]);
    }
    int64_t ready = pairs_wait_ready(pairs, n);
    for (int i = 0; i < 2 * n; i++) free_candidates(cands[i]);
    g_free(cands);
    return ready;
}

/* FreeJob is a pair whose agents the loop thread unrefs. */
typedef struct FreeJob {
    Pair *pair;
    bool done; /* guarded by mu */
} FreeJob;

static void side_free(Side *s) {
    nice_agent_attach_recv(s->agent, s->stream, 1, ctx, NULL, NULL);
    g_object_unref(s->agent);
    s->agent = NULL;
}

static gboolean free_job_run(gpointer data) {
    FreeJob *job = data;
    side_free(&job->pair->a);
    side_free(&job->pair->b);
    g_mutex_lock(&mu);
    job->done = true;
    g_cond_broadcast(&cond);
    g_mutex_unlock(&mu);
    return G_SOURCE_REMOVE;
}

/* pair_free disconnects the pair's handlers, then unrefs its agents on the
 * loop thread (between two dispatches, so no callback of theirs is running)
 * and waits until that is done: afterwards the Pair may be reused. */
static void pair_free(Pair *p) {
    g_signal_handlers_disconnect_by_data(p->a.agent, &p->a);
    g_signal_handlers_disconnect_by_data(p->b.agent, &p->b);
    FreeJob job = {.pair = p, .done = false};
    g_main_context_invoke(ctx, free_job_run, &job);
    g_mutex_lock(&mu);
    while (!job.done) g_cond_wait(&cond, &mu);
    g_mutex_unlock(&mu);
}

/* component_ready reports whether the side's component is READY now. */
static bool component_ready(Side *s) {
    return nice_agent_get_component_state(s->agent, s->stream, 1) == NICE_COMPONENT_STATE_READY;
}

/* ---- tests ---------------------------------------------------------- */

static int test_connect(int runs, bool regular) {
    if (runs < 1) NB_DIE("--runs must be at least 1");
    double *ms = g_new(double, (gsize)runs);
    for (int r = 0; r < runs; r++) {
        Pair p;
        int64_t t0;
        pair_init(&p, regular);
        int64_t ready = pairs_connect(&p, 1, &t0);
        ms[r] = (double)(ready - t0) / 1e6;
        pair_free(&p);
    }
    printf("{\"samples_ms\":[");
    for (int r = 0; r < runs; r++) printf("%s%.3f", r ? "," : "", ms[r]);
    printf("]}\n");
    g_free(ms);
    return 0;
}

/* sleep_until sleeps until the nb_now_ns() instant t (not at all if it has
 * passed). */
static void sleep_until(int64_t t) {
    int64_t d = t - nb_now_ns();
    if (d > 0) nb_sleep_s((double)d / 1e9);
}

/* burst: --burst N sends N datagrams per call with
 * nice_agent_send_messages_nonblocking (default 1: nice_agent_send). */
static int burst = 1;

static int test_throughput(int size, double seconds, double warmup, bool regular) {
    if (size < 1 || size > MAX_SIZE) NB_DIE("--size must be 1..%d", MAX_SIZE);
    if (seconds <= 0 || warmup < 0) NB_DIE("--seconds must be > 0 and --warmup >= 0");

    Pair p;
    int64_t t0;
    pair_init(&p, regular);
    pairs_connect(&p, 1, &t0);

    gchar *buf = g_malloc0((gsize)size);
    buf[0] = (gchar)0x80; /* not STUN: delivered to the receive callback */

    /* The send loop reads the clock every CLOCK_EVERY packets; the two
     * marks (end of warm-up, end of window) are taken when it passes them. */
    enum { CLOCK_EVERY = 16 };
    int64_t start = nb_now_ns();
    int64_t mark[2] = {start + (int64_t)(warmup * 1e9), start + (int64_t)((warmup + seconds) * 1e9)};
    int64_t at[2] = {0, 0}, cpu[2] = {0, 0};
    uint64_t tx[2] = {0, 0}, rx[2] = {0, 0}, errs[2] = {0, 0};
    long long rcvbuf[2] = {0, 0};
    uint64_t sent = 0, failed = 0;
    int m = 0;
    GOutputVector vec = {buf, (gsize)size};
    NiceOutputMessage msgs[64];
    for (int j = 0; j < 64; j++) msgs[j] = (NiceOutputMessage){&vec, 1};
    if (burst < 1 || burst > 64) NB_DIE("--burst must be 1..64");
    for (uint64_t i = 0;; i++) {
        if (i % CLOCK_EVERY == 0) {
            int64_t now = nb_now_ns();
            for (; m < 2 && now >= mark[m]; m++) { /* both marks may have passed */
                at[m] = now;
                tx[m] = sent;
                errs[m] = failed;
                rx[m] = atomic_load_explicit(&p.b.rx, memory_order_relaxed);
                cpu[m] = nb_cpu_us();
                rcvbuf[m] = nb_rcvbuf_errors();
            }
            if (m == 2) break;
        }
        if (burst > 1) {
            gint k = nice_agent_send_messages_nonblocking(p.a.agent, p.a.stream, 1, msgs, (guint)burst,
                                                          NULL, NULL);
            if (k < 0)
                failed++;
            else
                sent += (uint64_t)k;
        } else if (nice_agent_send(p.a.agent, p.a.stream, 1, (guint)size, buf) < 0)
            failed++;
        else
            sent++;
    }
    printf("{\"tx\":%" PRIu64 ",\"rx\":%" PRIu64 ",\"seconds\":%.6f,\"send_errors\":%" PRIu64
           ",\"rcvbuf_errors\":%lld,\"cpu_s\":%.6f}\n",
           tx[1] - tx[0], rx[1] - rx[0], (double)(at[1] - at[0]) / 1e9, errs[1] - errs[0],
           rcvbuf[1] - rcvbuf[0], (double)(cpu[1] - cpu[0]) / 1e6);
    g_free(buf);
    pair_free(&p);
    return 0;
}

/* Snapshot is the process's memory, fd and thread counts at one instant. */
typedef struct Snapshot {
    long rss_kb;
    int fds, threads;
} Snapshot;

static Snapshot snapshot(void) {
    Snapshot s = {nb_rss_kb(), nb_count_dir("/proc/self/fd"), nb_count_dir("/proc/self/task")};
    return s;
}

static int test_idle(int npairs, int batch, double mem_at, double cpu_from, double cpu_to,
                     bool regular) {
    if (npairs < 1 || batch < 1) NB_DIE("--pairs and --batch must be at least 1");
    if (mem_at < 0 || cpu_from < 0 || cpu_to <= cpu_from)
        NB_DIE("need --mem-at >= 0 and 0 <= --cpu-from < --cpu-to");

    Pair *pairs = g_new0(Pair, (gsize)npairs);
    int64_t t0;

    /* A warm-up pair, created and freed before the baseline. */
    Pair warm;
    pair_init(&warm, regular);
    pairs_connect(&warm, 1, &t0);
    pair_free(&warm);
    Snapshot base = snapshot();

    /* Connect the pairs, batch at a time; last is the latest READY. */
    int64_t last = 0;
    for (int i = 0; i < npairs; i += batch) {
        int n = npairs - i < batch ? npairs - i : batch;
        for (int j = 0; j < n; j++) pair_init(&pairs[i + j], regular);
        int64_t ready = pairs_connect(&pairs[i], n, &t0);
        if (ready > last) last = ready;
    }

    /* The snapshot at mem-at and the CPU window [cpu-from, cpu-to], all
     * relative to the last READY, taken in time order (normally the
     * snapshot comes first). */
    int64_t t_mem = last + (int64_t)(mem_at * 1e9);
    int64_t t_c0 = last + (int64_t)(cpu_from * 1e9), t_c1 = last + (int64_t)(cpu_to * 1e9);
    Snapshot now;
    bool snapped = false;
    if (t_mem <= t_c0) {
        sleep_until(t_mem);
        now = snapshot();
        snapped = true;
    }
    sleep_until(t_c0);
    int64_t c0 = nb_cpu_us(), w0 = nb_now_ns();
    if (!snapped && t_mem <= t_c1) {
        sleep_until(t_mem);
        now = snapshot();
        snapped = true;
    }
    sleep_until(t_c1);
    int64_t c1 = nb_cpu_us(), w1 = nb_now_ns();
    if (!snapped) {
        sleep_until(t_mem);
        now = snapshot();
    }

    int still = 0;
    for (int i = 0; i < npairs; i++) still += component_ready(&pairs[i].a) + component_ready(&pairs[i].b);

    printf("{\"pairs\":%d,\"rss_kb\":%ld,\"fds\":%d,\"threads\":%d,\"goroutines\":-1,"
           "\"heap_kb\":-1,\"cpu_us\":%" PRId64 ",\"cpu_seconds\":%.6f,\"still_ready\":%d}\n",
           npairs, now.rss_kb - base.rss_kb, now.fds - base.fds, now.threads - base.threads, c1 - c0,
           (double)(w1 - w0) / 1e9, still);
    /* The pairs are left to the process exit: freeing 2 × pairs agents
     * would only add time. */
    return 0;
}

static void usage(void) {
    fprintf(stderr, "usage: libnice_worker connect --runs N --nomination regular|aggressive\n"
                    "       libnice_worker throughput --size B --seconds S --warmup W\n"
                    "       libnice_worker idle --pairs N --mem-at S --cpu-from S --cpu-to S [--batch 20]\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage();
        return 2;
    }
    /* stdout carries the JSON only: GLib's info/debug output (which it
     * writes to stdout, e.g. with G_MESSAGES_DEBUG set) goes to stderr. */
    g_log_writer_default_set_use_stderr(TRUE);

    const char *test = argv[1];
    const char *nom = nb_opt(argc, argv, "--nomination", "aggressive");
    bool regular;
    if (strcmp(nom, "regular") == 0)
        regular = true;
    else if (strcmp(nom, "aggressive") == 0)
        regular = false;
    else {
        fprintf(stderr, "nicebench: --nomination must be regular or aggressive\n");
        return 2;
    }

    burst = (int)nb_optf(argc, argv, "--burst", 1);
    const char *cons = nb_opt(argc, argv, "--consent", "off");
    if (strcmp(cons, "on") == 0)
        consent = true;
    else if (strcmp(cons, "off") != 0) {
        fprintf(stderr, "nicebench: --consent must be on or off\n");
        return 2;
    }

    int rc;
    if (strcmp(test, "connect") == 0) {
        loop_start();
        rc = test_connect((int)nb_optf(argc, argv, "--runs", 20), regular);
    } else if (strcmp(test, "throughput") == 0) {
        loop_start();
        rc = test_throughput((int)nb_optf(argc, argv, "--size", 1200),
                             nb_optf(argc, argv, "--seconds", 3), nb_optf(argc, argv, "--warmup", 0.2),
                             regular);
    } else if (strcmp(test, "idle") == 0) {
        loop_start();
        rc = test_idle((int)nb_optf(argc, argv, "--pairs", 200),
                       (int)nb_optf(argc, argv, "--batch", IDLE_BATCH), nb_optf(argc, argv, "--mem-at", 2),
                       nb_optf(argc, argv, "--cpu-from", 12), nb_optf(argc, argv, "--cpu-to", 22),
                       regular);
    } else {
        fprintf(stderr, "nicebench: libnice_worker: unknown test \"%s\"\n", test);
        usage();
        return 2;
    }
    fflush(stdout);
    loop_stop();
    return rc;
}
