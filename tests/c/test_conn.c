/* SPDX-License-Identifier: MIT */
/*
 * test_conn: two GoniceConnections in one process, offerer and answerer on
 * 127.0.0.1, exchange their descriptions in C, reach GONICE_CONN_READY and
 * exchange RTP and RTCP both ways (the answerer echoes RTP from its
 * callback); the events come in erizo's order, on the right thread; close
 * delivers GONICE_CONN_FINISHED last. Modes: thread (library thread,
 * candidates in the descriptions), dispatch (poll() on the fds +
 * gonice_connection_dispatch()), trickle (library thread, candidates as
 * GONICE_CONN_CANDIDATE events given to gonice_connection_add_remote_candidate).
 * Also: a connection freed from its own callback, in both delivery modes.
 *
 * Usage: test_conn [thread|dispatch|trickle] (all when no argument).
 */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gonice.h"

#include "check.h"

#define MAXEV 64
#define MAXCAND 16
#define RTP_HDR 12

enum { MODE_THREAD, MODE_DISPATCH, MODE_TRICKLE };

typedef struct Peer {
  const char *name;
  GoniceConnection *conn;
  int dispatch, echo;
  pthread_mutex_t mu;
  int ev[MAXEV];
  int nev;
  char *cands[MAXCAND]; /* trickled candidates, until the end of candidates */
  int ncands, cands_done;
  int rtp, rtcp; /* packets received */
  unsigned char last_rtp[256];
  size_t last_rtp_len;
  int wrong_thread, echo_failed;
} Peer;

static pthread_t main_thread;

static void check_thread(Peer *p) {
  int on_main = pthread_equal(pthread_self(), main_thread);
  if (p->dispatch ? !on_main : on_main)
    p->wrong_thread = 1;
}

/* cand_of returns a malloc'd copy of the "candidate" of a CONN_CANDIDATE
 * message ({"sdpMid":"0","sdpMLineIndex":0,"candidate":"..."}), NULL if none. */
static char *cand_of(const char *msg) {
  const char *k = strstr(msg, "\"candidate\":\"");
  if (k == NULL)
    return NULL;
  k += strlen("\"candidate\":\"");
  const char *end = strchr(k, '"');
  if (end == NULL)
    return NULL;
  size_t n = (size_t)(end - k);
  char *s = malloc(n + 1);
  CHECK(s != NULL);
  memcpy(s, k, n);
  s[n] = '\0';
  return s;
}

static void on_event(GoniceConnection *conn, int event, const char *message, void *ud) {
  Peer *p = ud;
  CHECK(conn == p->conn && message != NULL);
  pthread_mutex_lock(&p->mu);
  check_thread(p);
  if (p->nev < MAXEV)
    p->ev[p->nev++] = event;
  if (event == GONICE_CONN_CANDIDATE) {
    char *c = cand_of(message);
    CHECK(c != NULL);
    if (c[0] == '\0') {
      p->cands_done = 1;
      free(c);
    } else if (p->ncands < MAXCAND) {
      p->cands[p->ncands++] = c;
    } else {
      free(c);
    }
  }
  if (event == GONICE_CONN_FAILED)
    fprintf(stderr, "%s: CONN_FAILED: %s\n", p->name, message);
  pthread_mutex_unlock(&p->mu);
}

static void make_rtp(unsigned char *b, uint16_t seq, uint32_t ssrc, const char *payload) {
  b[0] = 0x80;
  b[1] = 111; /* opus */
  b[2] = (unsigned char)(seq >> 8), b[3] = (unsigned char)seq;
  memset(b + 4, 0, 4); /* timestamp */
  b[8] = (unsigned char)(ssrc >> 24), b[9] = (unsigned char)(ssrc >> 16);
  b[10] = (unsigned char)(ssrc >> 8), b[11] = (unsigned char)ssrc;
  memcpy(b + RTP_HDR, payload, strlen(payload));
}

static void on_rtp(GoniceConnection *conn, const void *buf, size_t len, void *ud) {
  Peer *p = ud;
  CHECK(conn == p->conn && buf != NULL && len > RTP_HDR);
  pthread_mutex_lock(&p->mu);
  check_thread(p);
  p->rtp++;
  p->last_rtp_len = len < sizeof p->last_rtp ? len : sizeof p->last_rtp;
  memcpy(p->last_rtp, buf, p->last_rtp_len);
  int echo = p->echo;
  pthread_mutex_unlock(&p->mu);
  if (echo) { /* a callback calls back into gonice: the echo, with our SSRC */
    unsigned char pkt[256];
    size_t n = len - RTP_HDR < 200 ? len - RTP_HDR : 200;
    char payload[201];
    memcpy(payload, (const unsigned char *)buf + RTP_HDR, n);
    payload[n] = '\0';
    make_rtp(pkt, 1, 0xbbbbbbbbu, payload);
    if (gonice_connection_write_rtp(conn, pkt, RTP_HDR + n) != (int)(RTP_HDR + n)) {
      pthread_mutex_lock(&p->mu);
      p->echo_failed = 1;
      pthread_mutex_unlock(&p->mu);
    }
  }
}

static void on_rtcp(GoniceConnection *conn, const void *buf, size_t len, void *ud) {
  Peer *p = ud;
  CHECK(conn == p->conn && buf != NULL && len >= 8);
  CHECK((((const unsigned char *)buf)[1]) == 201); /* the receiver report sent */
  pthread_mutex_lock(&p->mu);
  check_thread(p);
  p->rtcp++;
  pthread_mutex_unlock(&p->mu);
}

/* pump lets callbacks run: dispatch mode polls the fds and dispatches. */
static void pump(Peer *a, Peer *b) {
  if (!a->dispatch) {
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    return;
  }
  Peer *ps[2] = {a, b};
  struct pollfd fds[2];
  for (int i = 0; i < 2; i++) {
    fds[i].fd = gonice_connection_get_fd(ps[i]->conn);
    CHECK(fds[i].fd >= 0);
    fds[i].events = POLLIN;
    fds[i].revents = 0;
  }
  int r = poll(fds, 2, 20);
  CHECK(r >= 0);
  for (int i = 0; i < 2; i++)
    if (fds[i].revents & POLLIN)
      CHECK(gonice_connection_dispatch(ps[i]->conn) >= 0);
}

typedef int (*cond_fn)(Peer *p);

static int has_event(Peer *p, int ev) {
  for (int i = 0; i < p->nev; i++)
    if (p->ev[i] == ev)
      return 1;
  return 0;
}
static int is_ready(Peer *p) { return has_event(p, GONICE_CONN_READY); }
static int got_rtp(Peer *p) { return p->rtp > 0; }
static int got_rtcp(Peer *p) { return p->rtcp > 0; }
static int cands_done(Peer *p) { return p->cands_done; }
static int finished(Peer *p) { return has_event(p, GONICE_CONN_FINISHED); }
static int always(Peer *p) { return p != NULL; }

/* wait_for pumps until ca(a) and cb(b) hold (20 s at most). */
static void wait_for(Peer *a, cond_fn ca, Peer *b, cond_fn cb, const char *what) {
  time_t end = time(NULL) + 20;
  for (;;) {
    pthread_mutex_lock(&a->mu);
    int ok = ca(a);
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_lock(&b->mu);
    ok = ok && cb(b);
    pthread_mutex_unlock(&b->mu);
    if (ok)
      return;
    if (time(NULL) > end) {
      fprintf(stderr, "timed out waiting for %s\n", what);
      exit(1);
    }
    pump(a, b);
  }
}

static void setup(Peer *p, const char *name, int mode) {
  memset(p, 0, sizeof *p);
  p->name = name;
  p->dispatch = mode == MODE_DISPATCH;
  pthread_mutex_init(&p->mu, NULL);
  unsigned int opts = 0;
  if (mode != MODE_TRICKLE)
    opts |= GONICE_CONNECTION_OPTION_NO_TRICKLE;
  if (p->dispatch)
    opts |= GONICE_CONNECTION_OPTION_DISPATCH;
  CHECK(gonice_connection_new(&p->conn, opts) == 0 && p->conn != NULL);
  CHECK(gonice_connection_add_local_address(p->conn, "127.0.0.1") == 0);
  CHECK(gonice_connection_set_event_callback(p->conn, on_event, p) == 0);
  CHECK(gonice_connection_set_rtp_callback(p->conn, on_rtp, p) == 0);
  CHECK(gonice_connection_set_rtcp_callback(p->conn, on_rtcp, p) == 0);
  if (p->dispatch)
    CHECK(gonice_connection_get_fd(p->conn) >= 0);
  else
    CHECK(gonice_connection_get_fd(p->conn) == GONICE_EINVAL);
}

/* add_cands gives to gonice the candidates `from` trickled, then the end. */
static void add_cands(Peer *to, Peer *from) {
  pthread_mutex_lock(&from->mu);
  CHECK(from->ncands > 0);
  for (int i = 0; i < from->ncands; i++) {
    CHECK(gonice_connection_add_remote_candidate(to->conn, from->cands[i]) == 0);
    free(from->cands[i]);
  }
  from->ncands = 0;
  pthread_mutex_unlock(&from->mu);
  CHECK(gonice_connection_add_remote_candidate(to->conn, "") == 0);
}

static void check_order(Peer *p, const int *want, int n) {
  pthread_mutex_lock(&p->mu);
  int ok = p->nev >= n;
  for (int i = 0; ok && i < n; i++)
    ok = p->ev[i] == want[i];
  if (!ok) {
    fprintf(stderr, "%s: events", p->name);
    for (int i = 0; i < p->nev; i++)
      fprintf(stderr, " %d", p->ev[i]);
    fprintf(stderr, ", want");
    for (int i = 0; i < n; i++)
      fprintf(stderr, " %d", want[i]);
    fprintf(stderr, "\n");
    exit(1);
  }
  pthread_mutex_unlock(&p->mu);
}

static void run(int mode) {
  static const char *names[] = {"thread", "dispatch", "trickle"};
  Peer a, b;
  setup(&a, "offerer", mode);
  setup(&b, "answerer", mode);
  b.echo = 1;

  char *offer = NULL, *answer = NULL;
  int n = gonice_connection_create_offer(a.conn, &offer);
  CHECK(n > 0 && offer != NULL && (int)strlen(offer) == n);
  CHECK(strstr(offer, "a=fingerprint:") != NULL && strstr(offer, "a=setup:actpass") != NULL);
  if (mode != MODE_TRICKLE)
    CHECK(strstr(offer, "a=candidate:") != NULL);
  CHECK(strstr(offer, "a=ssrc:") == NULL); /* a sets none */
  /* b announces its video SSRC (the second call replaces the first), no
   * audio SSRC. */
  CHECK(gonice_connection_set_ssrc(b.conn, "video", 7) == 0);
  CHECK(gonice_connection_set_ssrc(b.conn, "video", 0x0F1DE000u) == 0);
  CHECK(gonice_connection_set_remote_description(b.conn, offer) == 0);
  CHECK(gonice_connection_set_ssrc(b.conn, "audio", 1) == GONICE_EBUSY); /* started */
  n = gonice_connection_create_answer(b.conn, &answer);
  CHECK(n > 0 && answer != NULL && (int)strlen(answer) == n);
  {
    const char *video = strstr(answer, "m=video"), *ssrc = strstr(answer, "a=ssrc:");
    CHECK(video != NULL && ssrc != NULL && ssrc > video);
    CHECK(strncmp(ssrc, "a=ssrc:253616128 cname:gonice\r\n", 31) == 0);
    CHECK(strstr(ssrc + 1, "a=ssrc:") == NULL);
  }
  CHECK(gonice_connection_set_remote_description(a.conn, answer) == 0);
  /* Now too late or out of turn. */
  CHECK(gonice_connection_set_remote_description(a.conn, answer) == GONICE_EBUSY);
  CHECK(gonice_connection_create_offer(b.conn, &offer) == GONICE_EBUSY && offer == NULL);
  gonice_free(answer);

  if (mode == MODE_TRICKLE) {
    wait_for(&a, cands_done, &b, cands_done, "the end of candidates");
    add_cands(&b, &a);
    add_cands(&a, &b);
  }
  wait_for(&a, is_ready, &b, is_ready, "CONN_READY");

  /* Erizo's order (nice/webrtc's doc). */
  if (mode == MODE_TRICKLE) {
    static const int wa[] = {GONICE_CONN_INITIAL, GONICE_CONN_SDP, GONICE_CONN_STARTED};
    static const int wb[] = {GONICE_CONN_INITIAL, GONICE_CONN_SDP_PROCESSED, GONICE_CONN_SDP,
                             GONICE_CONN_STARTED};
    check_order(&a, wa, 3);
    check_order(&b, wb, 4);
  } else {
    static const int wa[] = {GONICE_CONN_INITIAL, GONICE_CONN_STARTED, GONICE_CONN_GATHERED,
                             GONICE_CONN_SDP, GONICE_CONN_SDP_PROCESSED, GONICE_CONN_READY};
    static const int wb[] = {GONICE_CONN_INITIAL, GONICE_CONN_SDP_PROCESSED, GONICE_CONN_STARTED,
                             GONICE_CONN_GATHERED, GONICE_CONN_SDP, GONICE_CONN_READY};
    check_order(&a, wa, 6);
    check_order(&b, wb, 6);
  }

  /* RTP: offerer -> answerer, echoed back from the answerer's callback. */
  unsigned char pkt[64];
  make_rtp(pkt, 1, 0xaaaaaaaau, "hello from C");
  size_t len = RTP_HDR + strlen("hello from C");
  CHECK(gonice_connection_write_rtp(a.conn, pkt, len) == (int)len);
  wait_for(&a, got_rtp, &b, got_rtp, "RTP both ways");
  pthread_mutex_lock(&b.mu);
  CHECK(b.last_rtp_len == len && memcmp(b.last_rtp, pkt, len) == 0);
  pthread_mutex_unlock(&b.mu);
  pthread_mutex_lock(&a.mu);
  CHECK(a.last_rtp_len == len && memcmp(a.last_rtp + RTP_HDR, pkt + RTP_HDR, len - RTP_HDR) == 0);
  CHECK(a.last_rtp[8] == 0xbb);
  pthread_mutex_unlock(&a.mu);

  /* RTCP both ways: an empty receiver report. */
  unsigned char rr[8] = {0x80, 201, 0, 1, 0xaa, 0xaa, 0xaa, 0xaa};
  CHECK(gonice_connection_write_rtcp(a.conn, rr, sizeof rr) == (int)sizeof rr);
  memset(rr + 4, 0xbb, 4);
  CHECK(gonice_connection_write_rtcp(b.conn, rr, sizeof rr) == (int)sizeof rr);
  wait_for(&a, got_rtcp, &b, got_rtcp, "RTCP both ways");

  /* Close: CONN_FINISHED is the offerer's last event; writes then fail. */
  CHECK(gonice_connection_close(a.conn) == 0);
  CHECK(gonice_connection_close(a.conn) == 0);
  wait_for(&a, finished, &b, always, "CONN_FINISHED");
  CHECK(gonice_connection_write_rtp(a.conn, pkt, len) == GONICE_ECLOSED);
  for (int i = 0; i < 20; i++) /* events that were still coming */
    pump(&a, &b);
  pthread_mutex_lock(&a.mu);
  CHECK(a.ev[a.nev - 1] == GONICE_CONN_FINISHED && !has_event(&a, GONICE_CONN_FAILED));
  CHECK(!a.wrong_thread && !b.wrong_thread && !b.echo_failed);
  pthread_mutex_unlock(&a.mu);

  CHECK(gonice_connection_free(a.conn) == 0);
  CHECK(gonice_connection_free(b.conn) == 0);
  CHECK(gonice_connection_free(a.conn) == GONICE_EBADHANDLE);
  for (int i = 0; i < a.ncands; i++)
    free(a.cands[i]);
  for (int i = 0; i < b.ncands; i++)
    free(b.cands[i]);
  pthread_mutex_destroy(&a.mu);
  pthread_mutex_destroy(&b.mu);
  printf("%s: ok (offerer %d events, answerer %d)\n", names[mode], a.nev, b.nev);
}

/* A connection freed from its own callback (CONN_INITIAL) while the main
 * thread is in a create_offer that waits for gathering: the offer returns
 * (made, or refused as closed), the callbacks stop, the handle is stale. */
static int freed_rc = 1, freed_calls;

static void free_self(GoniceConnection *conn, int event, const char *message, void *ud) {
  (void)message, (void)ud;
  __atomic_add_fetch(&freed_calls, 1, __ATOMIC_SEQ_CST);
  if (event == GONICE_CONN_INITIAL)
    __atomic_store_n(&freed_rc, gonice_connection_free(conn), __ATOMIC_SEQ_CST);
}

static void free_in_callback(int dispatch) {
  GoniceConnection *conn;
  unsigned int opts = GONICE_CONNECTION_OPTION_NO_TRICKLE;
  if (dispatch)
    opts |= GONICE_CONNECTION_OPTION_DISPATCH;
  freed_rc = 1, freed_calls = 0;
  CHECK(gonice_connection_new(&conn, opts) == 0);
  CHECK(gonice_connection_add_local_address(conn, "127.0.0.1") == 0);
  CHECK(gonice_connection_set_event_callback(conn, free_self, NULL) == 0);
  char *offer = NULL;
  int rc = gonice_connection_create_offer(conn, &offer);
  CHECK(rc > 0 || rc == GONICE_EBUSY || rc == GONICE_ECLOSED);
  CHECK((rc > 0) == (offer != NULL));
  gonice_free(offer);
  if (dispatch) {
    int fd = gonice_connection_get_fd(conn);
    CHECK(fd >= 0);
    CHECK(gonice_connection_dispatch(conn) >= 1); /* frees it in CONN_INITIAL */
  } else {
    for (int i = 0; i < 2000 && __atomic_load_n(&freed_rc, __ATOMIC_SEQ_CST) == 1; i++) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
  }
  CHECK(__atomic_load_n(&freed_rc, __ATOMIC_SEQ_CST) == 0);
  CHECK(gonice_connection_dispatch(conn) == GONICE_EBADHANDLE);
  CHECK(gonice_connection_free(conn) == GONICE_EBADHANDLE);
  printf("free in callback (%s): ok (%d events, offer rc %d)\n", dispatch ? "dispatch" : "thread",
         __atomic_load_n(&freed_calls, __ATOMIC_SEQ_CST), rc);
}

int main(int argc, char **argv) {
  main_thread = pthread_self();
  if (argc > 1) {
    if (strcmp(argv[1], "thread") == 0)
      run(MODE_THREAD);
    else if (strcmp(argv[1], "dispatch") == 0)
      run(MODE_DISPATCH);
    else if (strcmp(argv[1], "trickle") == 0)
      run(MODE_TRICKLE);
    else {
      fprintf(stderr, "usage: test_conn [thread|dispatch|trickle]\n");
      return 2;
    }
    return 0;
  }
  run(MODE_THREAD);
  run(MODE_DISPATCH);
  run(MODE_TRICKLE);
  free_in_callback(0);
  free_in_callback(1);
  return 0;
}
