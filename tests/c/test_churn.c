/* SPDX-License-Identifier: MIT */
/*
 * test_churn: many agents made and freed from many application threads at
 * once. Each of THREADS threads runs cycles of: two agents (library-thread
 * delivery, the default), gather on 127.0.0.1, exchange credentials and
 * candidates, wait until both are READY, free both. After a warm-up the
 * process's RSS, threads and fds are read; at the end they must not have
 * grown (RSS by at most 10 %; fds not at all; threads by at most the few
 * the Go runtime may add for itself: the library's pool of callback
 * threads was started by the warm-up). Under AddressSanitizer RSS also
 * holds ASan's records of every thread ever made (two per cycle when each
 * agent had its own library thread), so there the bytes malloc'd and not
 * freed are held flat instead (the Go core's own heap is not malloc'd; the
 * plain build's RSS check covers it).
 *
 * Usage: test_churn [CYCLES [THREADS]]   (default 10000 cycles, 8 threads)
 */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gonice.h"

#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
/* From the sanitizer runtime (its header is not always installed). */
size_t __sanitizer_get_current_allocated_bytes(void);
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

/* mallocd is what the C heap holds (under ASan; -1 without). */
static long mallocd(void) {
#if UNDER_ASAN
  return (long)__sanitizer_get_current_allocated_bytes();
#else
  return -1;
#endif
}

typedef struct Pair Pair;

typedef struct Side {
  Pair *pair;
  GoniceAgent *agent;
  int sid, gathered, ready, failed;
} Side;

struct Pair {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  Side s[2];
};

static void on_gather_done(GoniceAgent *a, unsigned int sid, void *ud) {
  (void)a, (void)sid;
  Side *s = ud;
  pthread_mutex_lock(&s->pair->mu);
  s->gathered = 1;
  pthread_cond_broadcast(&s->pair->cv);
  pthread_mutex_unlock(&s->pair->mu);
}

static void on_state(GoniceAgent *a, unsigned int sid, unsigned int cid, GoniceComponentState st,
                     void *ud) {
  (void)a, (void)sid, (void)cid;
  Side *s = ud;
  pthread_mutex_lock(&s->pair->mu);
  if (st == GONICE_COMPONENT_STATE_READY)
    s->ready = 1;
  if (st == GONICE_COMPONENT_STATE_FAILED)
    s->failed = 1;
  pthread_cond_broadcast(&s->pair->cv);
  pthread_mutex_unlock(&s->pair->mu);
}

/* wait_both waits until field (an int at offset off in Side) is set on both
 * sides, for at most 10 s. */
static int wait_both(Pair *p, size_t off) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10;
  int ok = 1;
  pthread_mutex_lock(&p->mu);
  while (!(*(int *)((char *)&p->s[0] + off) && *(int *)((char *)&p->s[1] + off))) {
    if (p->s[0].failed || p->s[1].failed ||
        pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT) {
      ok = 0;
      break;
    }
  }
  pthread_mutex_unlock(&p->mu);
  return ok;
}

static void give(Side *from, Side *to) {
  CHECK(check_signal(from->agent, from->sid, to->agent, to->sid) == 0);
}

/* cycle makes, connects and frees one pair. */
static void cycle(void) {
  Pair p;
  memset(&p, 0, sizeof p);
  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.cv, NULL);
  for (int i = 0; i < 2; i++) {
    Side *s = &p.s[i];
    s->pair = &p;
    CHECK(gonice_agent_new(&s->agent, 0) == 0);
    CHECK(gonice_agent_set_controlling_mode(s->agent, i == 0) == 0);
    CHECK(gonice_agent_connect_candidate_gathering_done(s->agent, on_gather_done, s) == 0);
    CHECK(gonice_agent_connect_component_state_changed(s->agent, on_state, s) == 0);
    CHECK(gonice_agent_add_local_address(s->agent, "127.0.0.1") == 0);
    s->sid = gonice_agent_add_stream(s->agent, 1);
    CHECK(s->sid >= 1);
    CHECK(gonice_agent_gather_candidates(s->agent, (unsigned)s->sid) == 0);
  }
  CHECK(wait_both(&p, offsetof(Side, gathered)));
  give(&p.s[0], &p.s[1]);
  give(&p.s[1], &p.s[0]);
  CHECK(wait_both(&p, offsetof(Side, ready)));
  for (int i = 0; i < 2; i++)
    CHECK(gonice_agent_free(p.s[i].agent) == 0);
  pthread_cond_destroy(&p.cv);
  pthread_mutex_destroy(&p.mu);
}

typedef struct Worker {
  pthread_t t;
  int cycles;
} Worker;

static void *work(void *arg) {
  Worker *w = arg;
  for (int i = 0; i < w->cycles; i++)
    cycle();
  return NULL;
}

/* run does cycles cycles on nthreads threads at once. */
static void run(int cycles, int nthreads) {
  Worker *w = calloc((size_t)nthreads, sizeof *w);
  CHECK(w != NULL);
  for (int i = 0; i < nthreads; i++) {
    w[i].cycles = cycles / nthreads + (i < cycles % nthreads);
    CHECK(pthread_create(&w[i].t, NULL, work, &w[i]) == 0);
  }
  for (int i = 0; i < nthreads; i++)
    CHECK(pthread_join(w[i].t, NULL) == 0);
  free(w);
}

static int count_dir(const char *path) {
  DIR *d = opendir(path);
  CHECK(d != NULL);
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* this DIR's own fd, for /proc/self/fd; harmless elsewhere */
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  CHECK(f != NULL);
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

/* settle waits up to 5 s for the freed agents' threads to exit: until the
 * thread count is at most want (want < 0: until it has not changed for
 * 300 ms), and returns it. */
static int settle(int want) {
  int n = count_dir("/proc/self/task") + 1, same = 0;
  for (int i = 0; i < 50; i++) {
    if (want >= 0 ? n <= want : same >= 3)
      break;
    usleep(100 * 1000);
    int m = count_dir("/proc/self/task") + 1;
    same = m == n ? same + 1 : 0;
    n = m;
  }
  return n;
}

int main(int argc, char **argv) {
  int cycles = argc > 1 ? atoi(argv[1]) : 10000;
  int nthreads = argc > 2 ? atoi(argv[2]) : 8;
  CHECK(cycles >= 2 * nthreads && nthreads >= 1);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int warm = cycles / 10;
  run(warm, nthreads);
  int threads0 = settle(-1), fds0 = count_dir("/proc/self/fd");
  long rss0 = rss_kb(), heap0 = mallocd();
  run(cycles - warm, nthreads);
  int threads1 = settle(threads0), fds1 = count_dir("/proc/self/fd");
  long rss1 = rss_kb(), heap1 = mallocd();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("test_churn: %d cycles (2 agents each) on %d threads in %.1f s (%.0f agents/s); after "
         "%d warm-up cycles: RSS %ld -> %ld KB, threads %d -> %d, fds %d -> %d",
         cycles, nthreads, secs, 2 * cycles / secs, warm, rss0, rss1, threads0, threads1, fds0, fds1);
  if (UNDER_ASAN)
    printf(", malloc'd %ld -> %ld KB", heap0 >> 10, heap1 >> 10);
  printf("\n");
  /* The Go runtime may start an OS thread of its own at any time (an M for
   * a goroutine blocked in a system call, under load) and keeps it: a few
   * are allowed. A thread left per agent would be thousands here. */
  CHECK(threads1 <= threads0 + 4);
  CHECK(fds1 <= fds0);
  if (UNDER_ASAN)
    CHECK(heap1 <= heap0 + heap0 / 10 + (64 << 10));
  else
    CHECK(rss1 <= rss0 + rss0 / 10);
  printf("PASS\n");
  return 0;
}
