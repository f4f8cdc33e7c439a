/* SPDX-License-Identifier: MIT */
/*
 * test_pool: many agents in thread mode (the default delivery) on the pool
 * of library threads. PAIRS pairs (default 100: 200 agents) gather on
 * 127.0.0.1, connect and exchange numbered datagrams, with GONICE_THREADS=4.
 * It checks that:
 * - one agent's callbacks never run at the same time (a flag per agent,
 *   set on entry to every callback and cleared on return);
 * - one agent's callbacks come in order: the datagrams' numbers increase,
 *   component states never go back;
 * - no callback runs on the application's thread, and all run on at most
 *   GONICE_THREADS distinct threads;
 * - the process's thread count (/proc/self/status Threads, sampled every
 *   few milliseconds) stays within a few of its count before the first
 *   thread-mode agent plus the pool: far below one per agent;
 * - a callback that blocks holds up its own agent only: agent 0's
 *   gathering-done callback waits until every other agent has gathered;
 * - an agent may free itself in its own callbacks: each pair's second agent
 *   in a receive callback, half-way through the datagrams its peer sends,
 *   the first one in its close_async callback; no callback of either comes
 *   afterwards;
 * - gonice_set_thread_pool_size() reports GONICE_THREADS's size, refuses
 *   more than 1024, and a smaller pool ends its idle threads.
 *
 * Usage: test_pool [PAIRS]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gonice.h"

#include "check.h"

#define POOL 4    /* GONICE_THREADS */
#define NDATA 40  /* datagrams each agent sends its peer */
#define MAXTIDS 64

typedef struct Ag {
  GoniceAgent *agent;
  int idx, sid;
  atomic_int busy;      /* a callback of this agent runs */
  int freed;            /* freed by its own callback (set there, read after) */
  int gathered, ready, closed; /* guarded by g_mu */
  int nrecv;            /* datagrams received, only touched by callbacks */
  unsigned int last_seq;
  int last_state;       /* up to READY */
} Ag;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_release;                  /* agent 0's blocked callback may return */
static int g_ngathered, g_nready, g_ndone, g_nclosed;
static pid_t g_tids[MAXTIDS];
static int g_ntids;

static atomic_int g_overlap, g_disorder, g_on_main, g_after_free, g_errors;
static pid_t g_main_tid;

static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

static void enter(Ag *ag) {
  if (atomic_exchange(&ag->busy, 1) != 0)
    atomic_fetch_add(&g_overlap, 1);
  if (ag->freed)
    atomic_fetch_add(&g_after_free, 1);
  pid_t t = tid();
  if (t == g_main_tid)
    atomic_fetch_add(&g_on_main, 1);
  pthread_mutex_lock(&g_mu);
  int seen = 0;
  for (int i = 0; i < g_ntids; i++)
    seen |= g_tids[i] == t;
  if (!seen && g_ntids < MAXTIDS)
    g_tids[g_ntids++] = t;
  pthread_mutex_unlock(&g_mu);
}

static void leave(Ag *ag) { atomic_store(&ag->busy, 0); }

static void on_gather_done(GoniceAgent *a, unsigned int sid, void *ud) {
  (void)a, (void)sid;
  Ag *ag = ud;
  enter(ag);
  pthread_mutex_lock(&g_mu);
  ag->gathered = 1;
  g_ngathered++;
  pthread_cond_broadcast(&g_cv);
  if (ag->idx == 0) {
    /* Blocks its pool thread until the main thread has seen every other
     * agent gather, which the other pool threads must deliver meanwhile. */
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 60;
    while (!g_release)
      if (pthread_cond_timedwait(&g_cv, &g_mu, &dl) == ETIMEDOUT) {
        atomic_fetch_add(&g_errors, 1);
        break;
      }
  }
  pthread_mutex_unlock(&g_mu);
  leave(ag);
}

static void on_candidate(GoniceAgent *a, unsigned int sid, unsigned int cid, const char *f,
                         void *ud) {
  (void)a, (void)sid, (void)cid, (void)f;
  Ag *ag = ud;
  enter(ag);
  usleep(100); /* widens the window for a second callback of the agent */
  leave(ag);
}

static void on_state(GoniceAgent *a, unsigned int sid, unsigned int cid, GoniceComponentState st,
                     void *ud) {
  (void)a, (void)sid, (void)cid;
  Ag *ag = ud;
  enter(ag);
  /* Up to READY (closing may go anywhere after). */
  if (ag->last_state < GONICE_COMPONENT_STATE_READY && (int)st < ag->last_state)
    atomic_fetch_add(&g_disorder, 1);
  if (ag->last_state < GONICE_COMPONENT_STATE_READY)
    ag->last_state = (int)st;
  if (st == GONICE_COMPONENT_STATE_READY) {
    pthread_mutex_lock(&g_mu);
    if (!ag->ready) {
      ag->ready = 1;
      g_nready++;
      pthread_cond_broadcast(&g_cv);
    }
    pthread_mutex_unlock(&g_mu);
  }
  leave(ag);
}

/* read_payload reads a received datagram's number (valgrind-go.supp names
 * it: under memcheck, Go's heap may look inaccessible). */
__attribute__((noinline)) static unsigned int read_payload(const volatile char *buf) {
  /* volatile: so that the reads stay here, not moved into the caller. */
  unsigned char b[4];
  for (int i = 0; i < 4; i++)
    b[i] = (unsigned char)buf[1 + i];
  unsigned int seq;
  memcpy(&seq, b, 4);
  return seq;
}

static void on_recv(GoniceAgent *a, unsigned int sid, unsigned int cid, unsigned int len,
                    char *buf, void *ud) {
  (void)sid, (void)cid;
  Ag *ag = ud;
  enter(ag);
  unsigned int seq = 0;
  if (len == 5)
    seq = read_payload(buf);
  else
    atomic_fetch_add(&g_errors, 1);
  if (seq <= ag->last_seq)
    atomic_fetch_add(&g_disorder, 1);
  ag->last_seq = seq;
  ag->nrecv++;
  if (ag->nrecv % 8 == 0)
    usleep(200);
  int done = ag->nrecv == NDATA;
  if (ag->idx % 2 == 1 && ag->nrecv == NDATA / 2) {
    /* The second agent of a pair frees itself half-way: the datagrams
     * still coming or queued must not be delivered. */
    ag->freed = 1;
    if (gonice_agent_free(a) != 0 || gonice_agent_gather_candidates(a, 1) != GONICE_EBADHANDLE)
      atomic_fetch_add(&g_errors, 1);
    done = 1;
  }
  if (done) {
    pthread_mutex_lock(&g_mu);
    g_ndone++;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
  }
  /* Still this callback's own: the handle was freed, not its thread. */
  leave(ag);
}

static void on_closed(GoniceAgent *a, void *ud) {
  Ag *ag = ud;
  enter(ag);
  ag->freed = 1;
  if (gonice_agent_free(a) != 0)
    atomic_fetch_add(&g_errors, 1);
  pthread_mutex_lock(&g_mu);
  ag->closed = 1;
  g_nclosed++;
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);
  leave(ag);
}

/* wait_count waits until *n reaches want, for at most secs seconds. */
static int wait_count(const int *n, int want, int secs) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += secs;
  int ok = 1;
  pthread_mutex_lock(&g_mu);
  while (*n < want && ok)
    ok = pthread_cond_timedwait(&g_cv, &g_mu, &dl) != ETIMEDOUT;
  ok = *n >= want;
  pthread_mutex_unlock(&g_mu);
  return ok;
}

static int threads_now(void) {
  FILE *f = fopen("/proc/self/status", "r");
  CHECK(f != NULL);
  char line[256];
  int n = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1)
      break;
  fclose(f);
  return n;
}

/* The sampler records the highest thread count while agents live. */
static atomic_int g_peak, g_stop;

static void *sampler(void *arg) {
  (void)arg;
  while (!atomic_load(&g_stop)) {
    int n = threads_now();
    if (n > atomic_load(&g_peak))
      atomic_store(&g_peak, n);
    usleep(5000);
  }
  return NULL;
}

static void give(Ag *from, Ag *to) {
  CHECK(check_signal(from->agent, from->sid, to->agent, to->sid) == 0);
}

int main(int argc, char **argv) {
  int pairs = argc > 1 ? atoi(argv[1]) : 100;
  CHECK(pairs >= 2);
  int n = 2 * pairs;
  /* Read by the core when the first thread-mode agent queues a callback. */
  CHECK(setenv("GONICE_THREADS", "4", 1) == 0);
  g_main_tid = tid();
  CHECK(gonice_set_thread_pool_size(0) == POOL);
  CHECK(gonice_set_thread_pool_size(1025) == GONICE_EINVAL);

  /* The baseline: the core loaded and the Go runtime running (a
   * dispatch-mode agent gathering), before any thread-mode agent. */
  GoniceAgent *d = NULL;
  CHECK(gonice_agent_new(&d, GONICE_AGENT_OPTION_DISPATCH) == 0);
  CHECK(gonice_agent_add_local_address(d, "127.0.0.1") == 0);
  int dsid = gonice_agent_add_stream(d, 1);
  CHECK(dsid >= 1 && gonice_agent_gather_candidates(d, (unsigned)dsid) == 0);
  pthread_t st;
  CHECK(pthread_create(&st, NULL, sampler, NULL) == 0);
  usleep(200 * 1000);
  CHECK(gonice_agent_free(d) == 0);
  int base = threads_now();

  Ag *ags = calloc((size_t)n, sizeof *ags);
  CHECK(ags != NULL);
  for (int i = 0; i < n; i++) {
    Ag *ag = &ags[i];
    ag->idx = i;
    CHECK(gonice_agent_new(&ag->agent, 0) == 0);
    CHECK(gonice_agent_set_controlling_mode(ag->agent, i % 2 == 0) == 0);
    CHECK(gonice_agent_connect_candidate_gathering_done(ag->agent, on_gather_done, ag) == 0);
    CHECK(gonice_agent_connect_new_candidate(ag->agent, on_candidate, ag) == 0);
    CHECK(gonice_agent_connect_component_state_changed(ag->agent, on_state, ag) == 0);
    CHECK(gonice_agent_add_local_address(ag->agent, "127.0.0.1") == 0);
    ag->sid = gonice_agent_add_stream(ag->agent, 1);
    CHECK(ag->sid >= 1);
    CHECK(gonice_agent_attach_recv(ag->agent, (unsigned)ag->sid, 1, on_recv, ag) == 0);
  }
  for (int i = 0; i < n; i++)
    CHECK(gonice_agent_gather_candidates(ags[i].agent, (unsigned)ags[i].sid) == 0);
  /* Everyone but agent 0 gathers while agent 0's callback blocks. */
  CHECK(wait_count(&g_ngathered, n, 60));
  pthread_mutex_lock(&g_mu);
  g_release = 1;
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);

  for (int p = 0; p < pairs; p++) {
    give(&ags[2 * p], &ags[2 * p + 1]);
    give(&ags[2 * p + 1], &ags[2 * p]);
  }
  CHECK(wait_count(&g_nready, n, 60));

  /* Numbered datagrams, the pairs interleaved: NDATA from each second
   * agent, then NDATA/2 + 5 from each first agent (its peer frees itself
   * when it has NDATA/2 of them: a few go after). */
  for (int first = 0; first < 2; first++)
    for (unsigned int seq = 1; seq <= (first ? NDATA / 2 + 5 : NDATA); seq++)
      for (int i = !first; i < n; i += 2) {
        Ag *ag = &ags[i];
        char pkt[5] = {(char)0x80};
        memcpy(pkt + 1, &seq, 4);
        CHECK(gonice_agent_send(ag->agent, (unsigned)ag->sid, 1, sizeof pkt, pkt) == sizeof pkt);
      }
  CHECK(wait_count(&g_ndone, n, 60));

  /* The first agents free themselves in their close_async callbacks. */
  for (int i = 0; i < n; i += 2)
    CHECK(gonice_agent_close_async(ags[i].agent, on_closed, &ags[i]) == 0);
  CHECK(wait_count(&g_nclosed, pairs, 60));
  usleep(300 * 1000); /* a late callback of a freed agent would come now */
  atomic_store(&g_stop, 1);
  CHECK(pthread_join(st, NULL) == 0);

  int peak = atomic_load(&g_peak);
  printf("test_pool: %d agents, GONICE_THREADS=%d: threads %d before the first thread-mode "
         "agent, at most %d with them; callbacks on %d distinct threads; overlaps %d, "
         "out of order %d, on the main thread %d, after free %d, errors %d\n",
         n, POOL, base, peak, g_ntids, atomic_load(&g_overlap), atomic_load(&g_disorder),
         atomic_load(&g_on_main), atomic_load(&g_after_free), atomic_load(&g_errors));
  CHECK(atomic_load(&g_overlap) == 0);
  CHECK(atomic_load(&g_disorder) == 0);
  CHECK(atomic_load(&g_on_main) == 0);
  CHECK(atomic_load(&g_after_free) == 0);
  CHECK(atomic_load(&g_errors) == 0);
  CHECK(g_ntids >= 1 && g_ntids <= POOL);
  /* The pool, the sampler, and a few the Go runtime may add (an M for a
   * goroutine in a system call, under load): never one per agent. */
  CHECK(peak <= base + POOL + 8);
  CHECK(peak < base + n / 4);
  for (int i = 0; i < n; i++)
    CHECK(ags[i].freed);
  free(ags);

  /* A pool made smaller ends its idle threads: all but one of the g_ntids
   * that ran callbacks, within a few seconds, but for the Go runtime's
   * first thread (m0), which it parks instead, if it was one of them.
   * (Counted by thread id: the runtime may start a thread meanwhile.) */
  CHECK(gonice_set_thread_pool_size(1) == POOL);
  int gone = 0;
  for (int i = 0; i < 30 && gone < g_ntids - 1; i++) {
    usleep(100 * 1000);
    gone = 0;
    for (int t = 0; t < g_ntids; t++) {
      char path[64];
      snprintf(path, sizeof path, "/proc/self/task/%d", (int)g_tids[t]);
      gone += access(path, F_OK) != 0;
    }
  }
  printf("test_pool: pool made 1 thread: %d of the %d callback threads ended\n", gone, g_ntids);
  CHECK(gone >= g_ntids - 2);
  CHECK(gonice_set_thread_pool_size(0) == 1);
  printf("PASS\n");
  return 0;
}
