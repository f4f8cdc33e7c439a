/* SPDX-License-Identifier: MIT */
/*
 * test_connect: two agents in one process connect on 127.0.0.1, with 1 and
 * with 2 components, exchange data both ways on every component, and see
 * every signal in a valid order - in both delivery modes (default: library
 * thread; dispatch: poll() on the fds + gonice_agent_dispatch()); and the
 * same over ICE-TCP only (ice-udp off, ice-tcp on), 2 components.
 * Also: a callback calls back into gonice; streams-removed; close_async with
 * gonice_agent_free from its callback; an agent freed from its own callback.
 *
 * Usage: test_connect [thread|dispatch] (both when no argument).
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gonice.h"

#include "check.h"

#define MAXC 2
#define MAXEV 256

enum { EV_NEWCAND = 1, EV_NEWCAND_LEGACY, EV_GATHER_DONE, EV_STATE, EV_PAIR, EV_PAIR_LEGACY,
       EV_IBR, EV_REMOVED, EV_RECV, EV_NEWREMOTE };

typedef struct Ev {
  int kind, sid, cid, state;
} Ev;

typedef struct Peer {
  const char *name;
  GoniceAgent *agent;
  int sid, ncomp, dispatch, tcp;
  pthread_mutex_t mu;
  Ev ev[MAXEV];
  int nev;
  int gathered, removed, ibr;
  int state[MAXC + 1];
  int got[MAXC + 1];
  char data[MAXC + 1][64];
  int wrong_thread, callback_calls_ok;
  int flood_got, flood_next, flood_out_of_order; /* the flood of run_pair */
} Peer;

static pthread_t main_thread;

static void record(Peer *p, int kind, int sid, int cid, int state) {
  pthread_mutex_lock(&p->mu);
  pthread_t self = pthread_self();
  if (p->dispatch) {
    if (!pthread_equal(self, main_thread))
      p->wrong_thread++;
  } else if (pthread_equal(self, main_thread)) {
    /* Thread mode: a thread of the library's pool, not always the same
     * one (test_pool checks order and that callbacks never overlap). */
    p->wrong_thread++;
  }
  if (p->nev < MAXEV)
    p->ev[p->nev++] = (Ev){kind, sid, cid, state};
  switch (kind) {
  case EV_GATHER_DONE:
    p->gathered++;
    break;
  case EV_STATE:
    if (cid >= 1 && cid <= MAXC)
      p->state[cid] = state;
    break;
  case EV_REMOVED:
    p->removed++;
    break;
  case EV_IBR:
    p->ibr++;
    break;
  }
  pthread_mutex_unlock(&p->mu);
}

static void on_gather_done(GoniceAgent *a, unsigned int sid, void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent);
  record(p, EV_GATHER_DONE, (int)sid, 0, 0);
}
static void on_new_cand_full(GoniceAgent *a, const GoniceCandidate *c, void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent);
  CHECK(c != NULL && c->type == GONICE_CANDIDATE_TYPE_HOST);
  CHECK(strcmp(c->addr, "127.0.0.1") == 0 && c->priority > 0);
  if (!p->tcp)
    CHECK(c->transport == GONICE_CANDIDATE_TRANSPORT_UDP && c->port != 0);
  else if (c->transport == GONICE_CANDIDATE_TRANSPORT_TCP_ACTIVE)
    CHECK(c->port == 0); /* active: no port of its own (9 in SDP) */
  else
    CHECK(c->transport == GONICE_CANDIDATE_TRANSPORT_TCP_PASSIVE && c->port != 0);
  CHECK(c->foundation[0] != '\0');
  record(p, EV_NEWCAND, (int)c->stream_id, (int)c->component_id, 0);
}
static void on_new_cand(GoniceAgent *a, unsigned int sid, unsigned int cid, const char *f,
                        void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent && f != NULL && f[0] != '\0');
  record(p, EV_NEWCAND_LEGACY, (int)sid, (int)cid, 0);
}
static void on_new_remote_full(GoniceAgent *a, const GoniceCandidate *c, void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent && c != NULL);
  record(p, EV_NEWREMOTE, (int)c->stream_id, (int)c->component_id, 0);
}
static void on_state(GoniceAgent *a, unsigned int sid, unsigned int cid, GoniceComponentState st,
                     void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent);
  /* A callback may call into gonice: the state it reports is at least as
   * far as this one (or FAILED/closed at the end). */
  int now = gonice_agent_get_component_state(a, sid, cid);
  if (now >= 0) {
    pthread_mutex_lock(&p->mu);
    p->callback_calls_ok++;
    pthread_mutex_unlock(&p->mu);
  }
  record(p, EV_STATE, (int)sid, (int)cid, (int)st);
}
/* check_pair_transports: a pair of UDP candidates, or over ICE-TCP a local
 * active and a remote passive one or the other way round. */
static void check_pair_transports(const Peer *p, const GoniceCandidate *l,
                                  const GoniceCandidate *r) {
  if (!p->tcp) {
    CHECK(l->transport == GONICE_CANDIDATE_TRANSPORT_UDP &&
          r->transport == GONICE_CANDIDATE_TRANSPORT_UDP);
    return;
  }
  CHECK((l->transport == GONICE_CANDIDATE_TRANSPORT_TCP_ACTIVE &&
         r->transport == GONICE_CANDIDATE_TRANSPORT_TCP_PASSIVE) ||
        (l->transport == GONICE_CANDIDATE_TRANSPORT_TCP_PASSIVE &&
         r->transport == GONICE_CANDIDATE_TRANSPORT_TCP_ACTIVE));
}
static void on_pair_full(GoniceAgent *a, unsigned int sid, unsigned int cid,
                         const GoniceCandidate *l, const GoniceCandidate *r, void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent && l != NULL && r != NULL);
  CHECK(strcmp(l->addr, "127.0.0.1") == 0 && strcmp(r->addr, "127.0.0.1") == 0);
  check_pair_transports(p, l, r);
  record(p, EV_PAIR, (int)sid, (int)cid, 0);
}
static void on_pair(GoniceAgent *a, unsigned int sid, unsigned int cid, const char *lf,
                    const char *rf, void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent && lf != NULL && rf != NULL);
  record(p, EV_PAIR_LEGACY, (int)sid, (int)cid, 0);
}
static void on_ibr(GoniceAgent *a, unsigned int sid, void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent);
  record(p, EV_IBR, (int)sid, 0, 0);
}
static void on_removed(GoniceAgent *a, const unsigned int *ids, unsigned int n, void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent && n == 1 && ids[0] == (unsigned)p->sid && ids[1] == 0);
  record(p, EV_REMOVED, (int)ids[0], 0, 0);
}
static void on_recv(GoniceAgent *a, unsigned int sid, unsigned int cid, unsigned int len,
                    char *buf, void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent && (int)sid == p->sid && cid >= 1 && (int)cid <= p->ncomp);
  if (len > 6 && memcmp(buf, "flood ", 6) == 0) {
    char num[16];
    size_t k = len - 6 < sizeof num - 1 ? len - 6 : sizeof num - 1;
    memcpy(num, buf + 6, k);
    num[k] = '\0';
    pthread_mutex_lock(&p->mu);
    if (atoi(num) < p->flood_next)
      p->flood_out_of_order++;
    p->flood_next = atoi(num) + 1;
    p->flood_got++;
    pthread_mutex_unlock(&p->mu);
    return;
  }
  pthread_mutex_lock(&p->mu);
  size_t n = len < sizeof p->data[cid] - 1 ? len : sizeof p->data[cid] - 1;
  memcpy(p->data[cid], buf, n);
  p->data[cid][n] = '\0';
  p->got[cid]++;
  pthread_mutex_unlock(&p->mu);
  record(p, EV_RECV, (int)sid, (int)cid, 0);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* pump lets callbacks run: dispatch mode polls the fds and dispatches. */
static void pump(Peer **peers, int n) {
  if (!peers[0]->dispatch) {
    usleep(2000);
    return;
  }
  struct pollfd fds[4];
  for (int i = 0; i < n; i++) {
    fds[i].fd = gonice_agent_get_fd(peers[i]->agent);
    CHECK(fds[i].fd >= 0);
    fds[i].events = POLLIN;
    fds[i].revents = 0;
  }
  int r = poll(fds, (nfds_t)n, 20);
  CHECK(r >= 0);
  for (int i = 0; i < n; i++)
    if (fds[i].revents & POLLIN)
      CHECK(gonice_agent_dispatch(peers[i]->agent) >= 0);
}

typedef int (*cond_fn)(Peer **peers, int n);

static void wait_for(Peer **peers, int n, cond_fn cond, const char *what) {
  double deadline = now_s() + 15.0;
  for (;;) {
    int ok;
    for (int i = 0; i < n; i++)
      pthread_mutex_lock(&peers[i]->mu);
    ok = cond(peers, n);
    for (int i = 0; i < n; i++)
      pthread_mutex_unlock(&peers[i]->mu);
    if (ok)
      return;
    if (now_s() > deadline) {
      fprintf(stderr, "timeout waiting for %s\n", what);
      exit(1);
    }
    pump(peers, n);
  }
}

static int all_gathered(Peer **p, int n) {
  for (int i = 0; i < n; i++)
    if (p[i]->gathered < 1)
      return 0;
  return 1;
}
static int all_ready(Peer **p, int n) {
  for (int i = 0; i < n; i++)
    for (int c = 1; c <= p[i]->ncomp; c++)
      if (p[i]->state[c] != GONICE_COMPONENT_STATE_READY)
        return 0;
  return 1;
}
static int all_received(Peer **p, int n) {
  for (int i = 0; i < n; i++)
    for (int c = 1; c <= p[i]->ncomp; c++)
      if (p[i]->got[c] < 1)
        return 0;
  return 1;
}
/* batch_received: A got the 71 datagrams of the batch test on component 1
 * (besides the one before it). */
#define FLOOD 3000
static int flood_received(Peer **p, int n) {
  (void)n;
  return p[1]->flood_got == FLOOD;
}

static int batch_received(Peer **p, int n) {
  (void)n;
  return p[0]->got[1] >= 1 + 71;
}
static int all_removed(Peer **p, int n) {
  for (int i = 0; i < n; i++)
    if (p[i]->removed < 1)
      return 0;
  return 1;
}

static void setup(Peer *p, const char *name, int ncomp, int dispatch, int tcp, int controlling) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  p->name = name;
  p->ncomp = ncomp;
  p->dispatch = dispatch;
  p->tcp = tcp;
  CHECK(gonice_agent_new(&p->agent, dispatch ? GONICE_AGENT_OPTION_DISPATCH : 0) == 0);
  if (tcp) {
    CHECK(gonice_agent_set_ice_udp(p->agent, 0) == 0);
    CHECK(gonice_agent_set_ice_tcp(p->agent, 1) == 0);
  }
  CHECK(gonice_agent_set_controlling_mode(p->agent, controlling) == 0);
  CHECK(gonice_agent_set_ta(p->agent, 5) == 0);
  CHECK(gonice_agent_get_controlling_mode(p->agent) == controlling);
  CHECK(gonice_agent_connect_candidate_gathering_done(p->agent, on_gather_done, p) == 0);
  CHECK(gonice_agent_connect_new_candidate_full(p->agent, on_new_cand_full, p) == 0);
  CHECK(gonice_agent_connect_new_candidate(p->agent, on_new_cand, p) == 0);
  CHECK(gonice_agent_connect_new_remote_candidate_full(p->agent, on_new_remote_full, p) == 0);
  CHECK(gonice_agent_connect_component_state_changed(p->agent, on_state, p) == 0);
  CHECK(gonice_agent_connect_new_selected_pair_full(p->agent, on_pair_full, p) == 0);
  CHECK(gonice_agent_connect_new_selected_pair(p->agent, on_pair, p) == 0);
  CHECK(gonice_agent_connect_initial_binding_request_received(p->agent, on_ibr, p) == 0);
  CHECK(gonice_agent_connect_streams_removed(p->agent, on_removed, p) == 0);
  CHECK(gonice_agent_add_local_address(p->agent, "127.0.0.1") == 0);
  p->sid = gonice_agent_add_stream(p->agent, (unsigned)ncomp);
  CHECK(p->sid >= 1);
  for (int c = 1; c <= ncomp; c++)
    CHECK(gonice_agent_attach_recv(p->agent, (unsigned)p->sid, (unsigned)c, on_recv, p) == 0);
  CHECK(gonice_agent_gather_candidates(p->agent, (unsigned)p->sid) == 0);
}

/* give passes from's credentials and candidates to to. */
static void give(Peer *from, Peer *to) {
  char *ufrag = NULL, *pwd = NULL;
  CHECK(gonice_agent_get_local_credentials(from->agent, (unsigned)from->sid, &ufrag, &pwd) == 0);
  CHECK(ufrag != NULL && pwd != NULL && strlen(ufrag) >= 4 && strlen(pwd) >= 22);
  CHECK(gonice_agent_set_remote_credentials(to->agent, (unsigned)to->sid, ufrag, pwd) == 0);
  gonice_free(ufrag);
  gonice_free(pwd);
  for (int c = 1; c <= from->ncomp; c++) {
    GoniceCandidate *cands = NULL;
    int n = gonice_agent_get_local_candidates(from->agent, (unsigned)from->sid, (unsigned)c, &cands);
    CHECK(n >= 1 && cands != NULL);
    CHECK((int)cands[0].component_id == c);
    if (from->tcp) /* one active, one passive on 127.0.0.1 */
      CHECK(n == 2 && cands[0].transport != cands[1].transport);
    int added = gonice_agent_set_remote_candidates(to->agent, (unsigned)to->sid, (unsigned)c, cands,
                                                   (size_t)n);
    CHECK(added == n);
    gonice_free(cands);
  }
}

/* check_order verifies one peer's signal log. */
static void check_order(Peer *p) {
  CHECK(p->wrong_thread == 0);
  CHECK(p->callback_calls_ok > 0);
  for (int c = 1; c <= p->ncomp; c++) {
    int seen_new = 0, seen_legacy = 0, last = -1, gathering = -1, connecting = -1, connected = -1,
        ready = -1, pair = -1, pair_legacy = -1, done = -1, first_recv = -1;
    for (int i = 0; i < p->nev; i++) {
      Ev *e = &p->ev[i];
      if (e->kind == EV_GATHER_DONE && done < 0)
        done = i;
      if (e->cid != c)
        continue;
      switch (e->kind) {
      case EV_NEWCAND:
        seen_new++;
        CHECK(done < 0); /* new-candidate before gathering-done */
        break;
      case EV_NEWCAND_LEGACY:
        seen_legacy++;
        break;
      case EV_STATE:
        CHECK(e->state != GONICE_COMPONENT_STATE_FAILED);
        CHECK(e->state != last); /* no repeated state */
        last = e->state;
        if (e->state == GONICE_COMPONENT_STATE_GATHERING && gathering < 0)
          gathering = i;
        if (e->state == GONICE_COMPONENT_STATE_CONNECTING && connecting < 0)
          connecting = i;
        if (e->state == GONICE_COMPONENT_STATE_CONNECTED && connected < 0)
          connected = i;
        if (e->state == GONICE_COMPONENT_STATE_READY && ready < 0)
          ready = i;
        break;
      case EV_PAIR:
        if (pair < 0)
          pair = i;
        break;
      case EV_PAIR_LEGACY:
        if (pair_legacy < 0)
          pair_legacy = i;
        break;
      case EV_RECV:
        if (first_recv < 0)
          first_recv = i;
        break;
      }
    }
    CHECK(seen_new >= 1 && seen_new == seen_legacy);
    CHECK(gathering >= 0 && gathering < connecting && connecting < connected && connected < ready);
    CHECK(pair > connecting && pair_legacy == pair + 1);
    CHECK(first_recv > ready || first_recv > pair);
  }
}

static void run_pair(int ncomp, int dispatch, int tcp) {
  Peer a, b;
  Peer *peers[2] = {&a, &b};
  setup(&a, "A", ncomp, dispatch, tcp, 1);
  setup(&b, "B", ncomp, dispatch, tcp, 0);
  wait_for(peers, 2, all_gathered, "gathering done");
  give(&a, &b);
  give(&b, &a);
  wait_for(peers, 2, all_ready, "READY on every component");

  GoniceCandidate l, r;
  CHECK(gonice_agent_get_selected_pair(a.agent, (unsigned)a.sid, 1, &l, &r) == 0);
  CHECK(strcmp(l.addr, "127.0.0.1") == 0 && strcmp(r.addr, "127.0.0.1") == 0);
  check_pair_transports(&a, &l, &r);

  for (int c = 1; c <= ncomp; c++) {
    char msg[64];
    snprintf(msg, sizeof msg, "A to B on %d", c);
    CHECK(gonice_agent_send(a.agent, (unsigned)a.sid, (unsigned)c, (unsigned)strlen(msg), msg) ==
          (int)strlen(msg));
    /* B answers with the vectored send. */
    char head[] = "B to A", tail[16];
    snprintf(tail, sizeof tail, " on %d", c);
    GoniceOutputVector v[2] = {{head, strlen(head)}, {tail, strlen(tail)}};
    GoniceOutputMessage m = {v, 2};
    CHECK(gonice_agent_send_messages_nonblocking(b.agent, (unsigned)b.sid, (unsigned)c, &m, 1) == 1);
  }
  wait_for(peers, 2, all_received, "data on every component");
  for (int c = 1; c <= ncomp; c++) {
    char want[64];
    snprintf(want, sizeof want, "A to B on %d", c);
    CHECK(strcmp(b.data[c], want) == 0);
    snprintf(want, sizeof want, "B to A on %d", c);
    CHECK(strcmp(a.data[c], want) == 0);
  }
  CHECK(a.ibr >= 1 || b.ibr >= 1);

  /* A batch: 70 one-buffer messages (sent together, more than one
   * sendmmsg's worth) with a two-buffer one in the middle; all 71 arrive,
   * the last one last. */
  {
    static char text[71][16];
    GoniceOutputVector vecs[71], two[2] = {{"batch ", 6}, {"middle", 6}};
    GoniceOutputMessage batch[71];
    for (int i = 0; i < 71; i++) {
      snprintf(text[i], sizeof text[i], "batch %02d", i);
      vecs[i].buffer = text[i];
      vecs[i].size = strlen(text[i]);
      batch[i].buffers = &vecs[i];
      batch[i].n_buffers = 1;
    }
    batch[35].buffers = two;
    batch[35].n_buffers = 2;
    CHECK(gonice_agent_send_messages_nonblocking(b.agent, (unsigned)b.sid, 1, batch, 71) == 71);
    wait_for(peers, 2, batch_received, "a batch of 71 datagrams");
    pthread_mutex_lock(&a.mu);
    CHECK(strcmp(a.data[1], "batch 70") == 0);
    pthread_mutex_unlock(&a.mu);
  }

  /* A flood: FLOOD datagrams from A, sent one by one as fast as the loop
   * goes (in dispatch mode most are queued and sent by the library, and
   * B's are delivered by its C data path while its reader queues more):
   * every one arrives, in order (loopback, 4 MB socket buffers; over ICE-TCP
   * the stream and its send backlog). */
  for (int i = 0; i < FLOOD; i++) {
    char msg[32];
    int len = snprintf(msg, sizeof msg, "flood %d", i);
    CHECK(gonice_agent_send(a.agent, (unsigned)a.sid, 1, (unsigned)len, msg) == len);
    if (i % 500 == 0)
      pump(peers, 2);
  }
  wait_for(peers, 2, flood_received, "a flood of datagrams, all delivered");
  pthread_mutex_lock(&b.mu);
  CHECK(b.flood_out_of_order == 0 && b.flood_next == FLOOD);
  pthread_mutex_unlock(&b.mu);

  CHECK(gonice_agent_remove_stream(a.agent, (unsigned)a.sid) == 0);
  CHECK(gonice_agent_remove_stream(b.agent, (unsigned)b.sid) == 0);
  wait_for(peers, 2, all_removed, "streams-removed");
  pthread_mutex_lock(&a.mu);
  check_order(&a);
  pthread_mutex_unlock(&a.mu);
  pthread_mutex_lock(&b.mu);
  check_order(&b);
  pthread_mutex_unlock(&b.mu);
  CHECK(gonice_agent_free(a.agent) == 0);
  CHECK(gonice_agent_free(b.agent) == 0);
  CHECK(gonice_agent_free(a.agent) == GONICE_EBADHANDLE);
  pthread_mutex_destroy(&a.mu);
  pthread_mutex_destroy(&b.mu);
  printf("ok: %s mode, %d component(s)%s: connected, data both ways, a flood in order, signals in "
         "order\n",
         dispatch ? "dispatch" : "thread", ncomp, tcp ? ", ICE-TCP only" : "");
}

/* close_async, with gonice_agent_free from its callback; and an agent that
 * frees itself from a signal callback. */
static volatile int closed_flag, self_freed_flag;
static void on_closed(GoniceAgent *a, void *ud) {
  CHECK(ud == (void *)&closed_flag);
  CHECK(gonice_agent_free(a) == 0);
  CHECK(gonice_agent_add_stream(a, 1) == GONICE_EBADHANDLE);
  closed_flag = 1;
}
static void free_self(GoniceAgent *a, unsigned int sid, void *ud) {
  (void)sid, (void)ud;
  CHECK(gonice_agent_free(a) == 0);
  CHECK(gonice_agent_get_controlling_mode(a) == GONICE_EBADHANDLE);
  self_freed_flag = 1;
}

static void run_lifecycle(int dispatch) {
  GoniceAgent *a;
  CHECK(gonice_agent_new(&a, dispatch ? GONICE_AGENT_OPTION_DISPATCH : 0) == 0);
  CHECK(gonice_agent_add_stream(a, 1) == 1);
  closed_flag = 0;
  CHECK(gonice_agent_close_async(a, on_closed, (void *)&closed_flag) == 0);
  /* A second close is refused, or the handle is already freed by on_closed. */
  int again = gonice_agent_close_async(a, on_closed, (void *)&closed_flag);
  CHECK(again == GONICE_EBUSY || again == GONICE_EBADHANDLE);
  double deadline = now_s() + 10;
  int fd = dispatch ? gonice_agent_get_fd(a) : -1;
  while (!closed_flag) {
    CHECK(now_s() < deadline);
    if (dispatch) {
      struct pollfd pfd = {fd, POLLIN, 0};
      CHECK(poll(&pfd, 1, 20) >= 0);
      if (pfd.revents & POLLIN)
        CHECK(gonice_agent_dispatch(a) >= 0);
    } else {
      usleep(2000);
    }
  }

  GoniceAgent *b;
  CHECK(gonice_agent_new(&b, dispatch ? GONICE_AGENT_OPTION_DISPATCH : 0) == 0);
  CHECK(gonice_agent_connect_candidate_gathering_done(b, free_self, NULL) == 0);
  CHECK(gonice_agent_add_local_address(b, "127.0.0.1") == 0);
  int sid = gonice_agent_add_stream(b, 1);
  CHECK(sid == 1);
  self_freed_flag = 0;
  CHECK(gonice_agent_gather_candidates(b, (unsigned)sid) == 0);
  fd = dispatch ? gonice_agent_get_fd(b) : -1;
  deadline = now_s() + 10;
  while (!self_freed_flag) {
    CHECK(now_s() < deadline);
    if (dispatch) {
      struct pollfd pfd = {fd, POLLIN, 0};
      CHECK(poll(&pfd, 1, 20) >= 0);
      if (pfd.revents & POLLIN) {
        int n = gonice_agent_dispatch(b);
        CHECK(n >= 0 || n == GONICE_EBADHANDLE);
      }
    } else {
      usleep(2000);
    }
  }
  CHECK(gonice_agent_free(b) == GONICE_EBADHANDLE);
  printf("ok: %s mode: close_async + free in its callback; free from own callback\n",
         dispatch ? "dispatch" : "thread");
}

int main(int argc, char **argv) {
  main_thread = pthread_self();
  setvbuf(stdout, NULL, _IONBF, 0);
  int modes[2] = {0, 1}, nmodes = 2;
  if (argc > 1) {
    modes[0] = strcmp(argv[1], "dispatch") == 0;
    nmodes = 1;
  }
  for (int m = 0; m < nmodes; m++) {
    run_pair(1, modes[m], 0);
    run_pair(2, modes[m], 0);
    run_pair(2, modes[m], 1);
    run_lifecycle(modes[m]);
  }
  printf("PASS\n");
  return 0;
}
