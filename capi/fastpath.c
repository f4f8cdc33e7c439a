/* SPDX-License-Identifier: MIT */
/*
 * fastpath.c - a dispatch-mode agent's data path on the application's side,
 * in C: part of the Go core (compiled by cgo), private to it.
 *
 * Why. A C thread that calls a Go function keeps the Go runtime's P (its
 * right to run Go code) when it returns to C, until the runtime's sysmon
 * thread takes it back, up to 10 ms later. While a P is held that way, a
 * sysmon woken by any Go syscall (a socket reader's recvfrom) polls every
 * 20 us instead of sleeping. Janus's loop thread entered Go twice per packet
 * (gonice_agent_dispatch for a received datagram, gonice_agent_send for its
 * echo), and at 50 packets/s sysmon polled about 3000 times a second: most
 * of what the drop-in cost Janus in CPU (ARCHITECTURE.md, "Dispatch mode's
 * data path"; BENCHMARKS.md, "Janus EchoTest").
 *
 * What. For an agent in dispatch mode, the two calls do not enter Go on
 * their usual path:
 *  - Received datagrams that the Go side would queue while its own queue is
 *    empty go to this C queue instead (fast_push_recv, on the socket's
 *    reader goroutine), and fast_dispatch delivers them in C; it enters Go
 *    (goniceCoreDispatch) only when Go's queue holds something (signals,
 *    and the datagrams queued behind them, which keeps their order).
 *  - fast_send queues the datagram here and wakes a Go goroutine (an
 *    eventfd the goroutine waits on in Go's netpoller) that sends it with
 *    Agent.Send; only for a component whose last synchronous send succeeded
 *    and whose state has not left CONNECTED/READY since (send_ok, kept by
 *    Go). Otherwise, or when the queue is full, the send is Go's
 *    synchronous one, with its errors.
 *
 * The Go side holds one reference to a FastPath from fast_new until
 * fast_free; fast_dispatch, fast_send and the sender goroutine hold one
 * while they use it, so a callback may free the agent.
 */
#define _GNU_SOURCE
#include "fastpath.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "_cgo_export.h"
#include "core_abi.h"

typedef struct FastComp {
  unsigned int sid, cid;
  void *fn, *ud; /* the receive callback, NULL if none */
  int send_ok;   /* sends may be queued for the sender goroutine */
} FastComp;

struct FastPath {
  FastPath *next; /* in its bucket of the table */
  uintptr_t h;
  int refs; /* under table_mu */
  int max_queued;
  int efd;      /* the agent's eventfd (gonice_agent_get_fd), owned here */
  int send_efd; /* the sender goroutine's eventfd, made on first use, owned here */
  atomic_int signaled;      /* efd was written and not drained since */
  atomic_int send_signaled; /* send_efd likewise */
  atomic_int go_items;      /* Go's queue is not empty */
  atomic_int freed;
  atomic_int dispatching;
  pthread_mutex_t mu; /* guards everything below */
  FastItem *rhead, *rtail;
  int rcount;
  FastItem *shead, *stail;
  int scount;
  FastComp *comps;
  int ncomps, capcomps;
};

/* The table: handle -> FastPath. */
#define BUCKETS 1024
static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static FastPath *table[BUCKETS];

static FastPath **bucket(uintptr_t h) { return &table[(h * 0x9E3779B97F4A7C15ull) >> 54]; }

static void destroy(FastPath *fp) {
  fast_free_items(fp->rhead);
  fast_free_items(fp->shead);
  free(fp->comps);
  if (fp->efd >= 0)
    close(fp->efd);
  if (fp->send_efd >= 0)
    close(fp->send_efd);
  pthread_mutex_destroy(&fp->mu);
  free(fp);
}

FastPath *fast_new(uintptr_t h, int max_queued) {
  FastPath *fp = calloc(1, sizeof *fp);
  if (fp == NULL)
    return NULL;
  fp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fp->efd < 0) {
    free(fp);
    return NULL;
  }
  fp->send_efd = -1;
  fp->h = h;
  fp->refs = 1;
  fp->max_queued = max_queued;
  pthread_mutex_init(&fp->mu, NULL);
  pthread_mutex_lock(&table_mu);
  fp->next = *bucket(h);
  *bucket(h) = fp;
  pthread_mutex_unlock(&table_mu);
  return fp;
}

/* get returns h's FastPath with a reference, or NULL. */
static FastPath *get(uintptr_t h) {
  FastPath *fp;
  pthread_mutex_lock(&table_mu);
  for (fp = *bucket(h); fp != NULL && fp->h != h; fp = fp->next)
    ;
  if (fp != NULL)
    fp->refs++;
  pthread_mutex_unlock(&table_mu);
  return fp;
}

void fast_ref(FastPath *fp) {
  pthread_mutex_lock(&table_mu);
  fp->refs++;
  pthread_mutex_unlock(&table_mu);
}

void fast_put(FastPath *fp) {
  int last;
  pthread_mutex_lock(&table_mu);
  last = --fp->refs == 0;
  pthread_mutex_unlock(&table_mu);
  if (last)
    destroy(fp);
}

/* fast_free: the agent is freed. Its handle no longer finds fp; fp lives on
 * while a dispatch, a send or the sender goroutine holds it. */
void fast_free(FastPath *fp) {
  FastPath **p;
  atomic_store(&fp->freed, 1);
  pthread_mutex_lock(&table_mu);
  for (p = bucket(fp->h); *p != NULL; p = &(*p)->next) {
    if (*p == fp) {
      *p = fp->next;
      break;
    }
  }
  pthread_mutex_unlock(&table_mu);
  fast_put(fp);
}

int fast_efd(FastPath *fp) { return fp->efd; }

/* fast_send_efd returns the sender's eventfd, made on first use; -1 if it
 * cannot be. */
int fast_send_efd(FastPath *fp) {
  int fd;
  pthread_mutex_lock(&fp->mu);
  if (fp->send_efd < 0)
    fp->send_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  fd = fp->send_efd;
  pthread_mutex_unlock(&fp->mu);
  return fd;
}

/* fast_wake makes the agent's fd readable, once until a dispatch drains it. */
void fast_wake(FastPath *fp) {
  if (!atomic_exchange(&fp->signaled, 1))
    eventfd_write(fp->efd, 1);
}

void fast_set_go_items(FastPath *fp, int pending) { atomic_store(&fp->go_items, pending); }

static FastComp *comp(FastPath *fp, unsigned int sid, unsigned int cid, int add) {
  for (int i = 0; i < fp->ncomps; i++)
    if (fp->comps[i].sid == sid && fp->comps[i].cid == cid)
      return &fp->comps[i];
  if (!add)
    return NULL;
  if (fp->ncomps == fp->capcomps) {
    int cap = fp->capcomps ? 2 * fp->capcomps : 4;
    FastComp *c = realloc(fp->comps, (size_t)cap * sizeof *c);
    if (c == NULL)
      return NULL;
    fp->comps = c;
    fp->capcomps = cap;
  }
  FastComp *c = &fp->comps[fp->ncomps++];
  memset(c, 0, sizeof *c);
  c->sid = sid;
  c->cid = cid;
  return c;
}

static FastItem *new_item(unsigned int sid, unsigned int cid, const void *p, unsigned int len) {
  FastItem *it = malloc(sizeof *it + len);
  if (it == NULL)
    return NULL;
  it->next = NULL;
  it->sid = sid;
  it->cid = cid;
  it->len = len;
  if (len > 0)
    memcpy(it->data, p, len);
  return it;
}

/* fast_push_recv queues a received datagram; -1 if the queue is full. */
int fast_push_recv(FastPath *fp, unsigned int sid, unsigned int cid, const void *p, unsigned int len) {
  FastItem *it = new_item(sid, cid, p, len);
  if (it == NULL)
    return -1;
  pthread_mutex_lock(&fp->mu);
  if (fp->rcount >= fp->max_queued) {
    pthread_mutex_unlock(&fp->mu);
    free(it);
    return -1;
  }
  if (fp->rtail != NULL)
    fp->rtail->next = it;
  else
    fp->rhead = it;
  fp->rtail = it;
  fp->rcount++;
  pthread_mutex_unlock(&fp->mu);
  return 0;
}

int fast_set_recv(FastPath *fp, unsigned int sid, unsigned int cid, void *fn, void *ud) {
  int rc = 0;
  pthread_mutex_lock(&fp->mu);
  FastComp *c = comp(fp, sid, cid, fn != NULL);
  if (c != NULL) {
    c->fn = fn;
    c->ud = ud;
  } else if (fn != NULL) {
    rc = -1;
  }
  pthread_mutex_unlock(&fp->mu);
  return rc;
}

int fast_set_send_ok(FastPath *fp, unsigned int sid, unsigned int cid, int ok) {
  int rc = 0;
  pthread_mutex_lock(&fp->mu);
  FastComp *c = comp(fp, sid, cid, ok);
  if (c != NULL)
    c->send_ok = ok;
  else if (ok)
    rc = -1;
  pthread_mutex_unlock(&fp->mu);
  return rc;
}

/* fast_clear_send_ok: no more queued sends for stream sid (0: every stream). */
void fast_clear_send_ok(FastPath *fp, unsigned int sid) {
  pthread_mutex_lock(&fp->mu);
  for (int i = 0; i < fp->ncomps; i++)
    if (sid == 0 || fp->comps[i].sid == sid)
      fp->comps[i].send_ok = 0;
  pthread_mutex_unlock(&fp->mu);
}

/* fast_take_sends hands the queued sends to the sender goroutine (which
 * frees them with fast_free_items). The goroutine has drained send_efd
 * before (as fast_dispatch drains efd before it clears signaled). */
FastItem *fast_take_sends(FastPath *fp) {
  FastItem *list;
  atomic_store(&fp->send_signaled, 0);
  pthread_mutex_lock(&fp->mu);
  list = fp->shead;
  fp->shead = fp->stail = NULL;
  fp->scount = 0;
  pthread_mutex_unlock(&fp->mu);
  return list;
}

void fast_free_items(FastItem *it) {
  while (it != NULL) {
    FastItem *next = it->next;
    free(it);
    it = next;
  }
}

int fast_send(char *err, uintptr_t h, unsigned int sid, unsigned int cid, unsigned int len, void *buf) {
  FastPath *fp = get(h);
  if (fp != NULL) {
    int queued = 0;
    if (len <= GONICE_MAX_DATAGRAM && !atomic_load(&fp->freed)) {
      FastItem *it = new_item(sid, cid, buf, len);
      pthread_mutex_lock(&fp->mu);
      FastComp *c = comp(fp, sid, cid, 0);
      if (it != NULL && c != NULL && c->send_ok && fp->send_efd >= 0 && fp->scount < fp->max_queued) {
        if (fp->stail != NULL)
          fp->stail->next = it;
        else
          fp->shead = it;
        fp->stail = it;
        fp->scount++;
        queued = 1;
      }
      pthread_mutex_unlock(&fp->mu);
      if (queued && !atomic_exchange(&fp->send_signaled, 1))
        eventfd_write(fp->send_efd, 1);
      if (!queued)
        free(it);
    }
    fast_put(fp);
    if (queued)
      return (int)len;
  }
  return goniceCoreSend(err, h, sid, cid, len, buf);
}

/* deliver calls the receive callbacks of the queued datagrams; it stops
 * delivering (and drops the rest) once the agent is freed. */
static int deliver(FastPath *fp) {
  FastItem *list, *it, *next;
  int n = 0;
  pthread_mutex_lock(&fp->mu);
  list = fp->rhead;
  fp->rhead = fp->rtail = NULL;
  fp->rcount = 0;
  pthread_mutex_unlock(&fp->mu);
  for (it = list; it != NULL; it = next) {
    void *fn = NULL, *ud = NULL;
    next = it->next;
    if (!atomic_load(&fp->freed)) {
      pthread_mutex_lock(&fp->mu);
      FastComp *c = comp(fp, it->sid, it->cid, 0);
      if (c != NULL) {
        fn = c->fn;
        ud = c->ud;
      }
      pthread_mutex_unlock(&fp->mu);
    }
    if (fn != NULL) {
      ((gonice_agent_recv_cb)fn)((GoniceAgent *)fp->h, it->sid, it->cid, it->len, (char *)it->data, ud);
      n++;
    }
    free(it);
  }
  return n;
}

int fast_dispatch(char *err, uintptr_t h) {
  FastPath *fp = get(h);
  eventfd_t v;
  int n, rc;
  if (fp == NULL) /* not an agent in dispatch mode: Go answers (or errs) */
    return goniceCoreDispatch(err, h);
  if (atomic_exchange(&fp->dispatching, 1)) {
    fast_put(fp);
    snprintf(err, GONICE_CORE_ERRLEN, "gonice: a dispatch of this handle is already running");
    return GONICE_EBUSY;
  }
  /* Drain, then clear: a reader that finds signaled set after this
   * pushed before it and is delivered below; one that finds it clear
   * writes the eventfd again. (Clearing first would lose the wake-up of a
   * datagram pushed after deliver's take by a reader that saw the flag set
   * by one whose write this read drained.) */
  (void)eventfd_read(fp->efd, &v);
  atomic_store(&fp->signaled, 0);
  n = deliver(fp);
  if (atomic_load(&fp->go_items) && !atomic_load(&fp->freed)) {
    rc = goniceCoreDispatch(err, h);
    if (rc < 0 && n == 0) {
      atomic_store(&fp->dispatching, 0);
      fast_put(fp);
      return rc;
    }
    if (rc > 0)
      n += rc;
    /* What the readers queued here while Go's queue was being delivered. */
    n += deliver(fp);
  }
  atomic_store(&fp->dispatching, 0);
  fast_put(fp);
  return n;
}
