/* SPDX-License-Identifier: MIT */
/*
 * test_mux: the GoniceMux functions (server mode: many agents on one UDP
 * port), on 127.0.0.1.
 *  1. N agents on one mux (dispatch mode, one poll loop for all) connect to
 *     N client agents with sockets of their own (thread mode), data both
 *     ways; each mux agent's one local candidate and its selected pair's
 *     local candidate are the mux's address; the stats count the agents,
 *     and none once they are freed.
 *  2. An ICE-lite server agent created inside the unknown-ufrag callback (on
 *     the mux's reader thread, not the main one, although the agent is in
 *     dispatch mode) gets the client's first check: they connect and
 *     exchange data, and the stats count only a stranger's check as
 *     unknown. The callback also makes and frees an agent for the stranger.
 *  3. Bad input: NULL, bad and mixed-up handles, bad addresses, a port in
 *     use, too late, twice; a mux freed with agents on it (their sends fail,
 *     their gathering fails), and gonice_mux_free from the mux's own
 *     callback (does not wait; the port is free soon after).
 * Run also under AddressSanitizer and valgrind (CTest variants).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gonice.h"

#include "check.h"

#define N 20

static pthread_t main_thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct Peer {
  GoniceAgent *agent;
  int sid, dispatch;
  int gathered, state, got;
  char data[64];
} Peer;

/* The dispatch-mode agents the main thread polls (the callback of part 2
 * adds one from the mux's reader thread). Under mu. */
static Peer *polled[2 * N + 4];
static int npolled;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_gather_done(GoniceAgent *a, unsigned int sid, void *ud) {
  Peer *p = ud;
  (void)sid;
  CHECK(a == p->agent);
  pthread_mutex_lock(&mu);
  p->gathered = 1;
  pthread_mutex_unlock(&mu);
}

static void on_state(GoniceAgent *a, unsigned int sid, unsigned int cid, GoniceComponentState st,
                     void *ud) {
  Peer *p = ud;
  (void)sid;
  CHECK(a == p->agent);
  if (p->dispatch)
    CHECK(pthread_equal(pthread_self(), main_thread));
  if (cid == 1) {
    pthread_mutex_lock(&mu);
    p->state = (int)st;
    pthread_mutex_unlock(&mu);
  }
}

static void on_recv(GoniceAgent *a, unsigned int sid, unsigned int cid, unsigned int len,
                    char *buf, void *ud) {
  Peer *p = ud;
  CHECK(a == p->agent && (int)sid == p->sid && cid == 1);
  pthread_mutex_lock(&mu);
  size_t n = len < sizeof p->data - 1 ? len : sizeof p->data - 1;
  memcpy(p->data, buf, n);
  p->data[n] = '\0';
  p->got++;
  pthread_mutex_unlock(&mu);
}

/* pump delivers the polled agents' callbacks (thread-mode ones run on
 * their own). */
static void pump(void) {
  struct pollfd fds[2 * N + 4];
  Peer *ps[2 * N + 4];
  pthread_mutex_lock(&mu);
  size_t n = (size_t)npolled;
  memcpy(ps, polled, sizeof ps[0] * n);
  pthread_mutex_unlock(&mu);
  CHECK(n <= sizeof fds / sizeof fds[0]);
  for (size_t i = 0; i < n; i++) {
    fds[i].fd = gonice_agent_get_fd(ps[i]->agent);
    CHECK(fds[i].fd >= 0);
    fds[i].events = POLLIN;
    fds[i].revents = 0;
  }
  if (n == 0) {
    usleep(2000);
    return;
  }
  CHECK(poll(fds, (nfds_t)n, 10) >= 0);
  for (size_t i = 0; i < n; i++)
    if (fds[i].revents & POLLIN)
      CHECK(gonice_agent_dispatch(ps[i]->agent) >= 0);
}

static void unpoll(Peer *p) {
  pthread_mutex_lock(&mu);
  for (int i = 0; i < npolled; i++)
    if (polled[i] == p) {
      polled[i] = polled[--npolled];
      break;
    }
  pthread_mutex_unlock(&mu);
}

/* wait_until pumps until *flag (read under mu) reaches want, or fails
 * after 20 s. */
static void wait_until(const int *flag, int want, const char *what) {
  double deadline = now_s() + 20;
  for (;;) {
    pthread_mutex_lock(&mu);
    int v = *flag;
    pthread_mutex_unlock(&mu);
    if (v >= want)
      return;
    if (now_s() > deadline) {
      fprintf(stderr, "timeout waiting for %s\n", what);
      exit(1);
    }
    pump();
  }
}

/* new_peer makes an agent with one stream of one component (not gathered):
 * on mux (dispatch mode, polled) if mux is not NULL, else on 127.0.0.1
 * sockets of its own (thread mode). */
static void new_peer(Peer *p, GoniceMux *mux, unsigned int options, int controlling) {
  memset(p, 0, sizeof *p);
  p->dispatch = mux != NULL;
  CHECK(gonice_agent_new(&p->agent, options | (p->dispatch ? GONICE_AGENT_OPTION_DISPATCH : 0)) == 0);
  if (controlling)
    CHECK(gonice_agent_set_controlling_mode(p->agent, 1) == 0);
  CHECK(gonice_agent_set_ta(p->agent, 5) == 0);
  if (mux != NULL)
    CHECK(gonice_agent_add_mux(p->agent, mux) == 0);
  CHECK(gonice_agent_connect_candidate_gathering_done(p->agent, on_gather_done, p) == 0);
  CHECK(gonice_agent_connect_component_state_changed(p->agent, on_state, p) == 0);
  if (mux == NULL)
    CHECK(gonice_agent_add_local_address(p->agent, "127.0.0.1") == 0);
  p->sid = gonice_agent_add_stream(p->agent, 1);
  CHECK(p->sid >= 1);
  CHECK(gonice_agent_attach_recv(p->agent, (unsigned)p->sid, 1, on_recv, p) == 0);
  if (p->dispatch) {
    pthread_mutex_lock(&mu);
    polled[npolled++] = p;
    pthread_mutex_unlock(&mu);
  }
}

/* give passes from's credentials and candidates to to. */
static void give(Peer *from, Peer *to) {
  CHECK(check_signal(from->agent, from->sid, to->agent, to->sid) == 0);
}

static void send_text(Peer *p, const char *msg) {
  int len = (int)strlen(msg);
  CHECK(gonice_agent_send(p->agent, (unsigned)p->sid, 1, (unsigned)len, msg) == len);
}

/* ------------------------------------------------------------------------ */
/* 1. N agents on one mux                                                    */
/* ------------------------------------------------------------------------ */

static void test_many(void) {
  GoniceMux *mux = NULL;
  CHECK(gonice_mux_new(&mux, "127.0.0.1", 0, NULL) == 0 && mux != NULL);
  char maddr[GONICE_ADDRESS_STRING_LEN];
  uint16_t mport = 0;
  CHECK(gonice_mux_get_local_address(mux, maddr, &mport) == 0);
  CHECK(strcmp(maddr, "127.0.0.1") == 0 && mport != 0);

  static Peer srv[N], cli[N];
  for (int i = 0; i < N; i++) {
    new_peer(&srv[i], mux, 0, 0);
    new_peer(&cli[i], NULL, 0, 1);
    CHECK(gonice_agent_gather_candidates(srv[i].agent, (unsigned)srv[i].sid) == 0);
    CHECK(gonice_agent_gather_candidates(cli[i].agent, (unsigned)cli[i].sid) == 0);
  }
  for (int i = 0; i < N; i++) {
    wait_until(&srv[i].gathered, 1, "a mux agent's gathering");
    wait_until(&cli[i].gathered, 1, "a client's gathering");
    GoniceCandidate *cands = NULL;
    int n = gonice_agent_get_local_candidates(srv[i].agent, (unsigned)srv[i].sid, 1, &cands);
    CHECK(n == 1 && cands[0].type == GONICE_CANDIDATE_TYPE_HOST);
    CHECK(strcmp(cands[0].addr, maddr) == 0 && cands[0].port == mport);
    gonice_free(cands);
    give(&srv[i], &cli[i]);
    give(&cli[i], &srv[i]);
  }
  for (int i = 0; i < N; i++) {
    wait_until(&srv[i].state, GONICE_COMPONENT_STATE_READY, "a mux agent READY");
    wait_until(&cli[i].state, GONICE_COMPONENT_STATE_READY, "a client READY");
    GoniceCandidate l, r;
    CHECK(gonice_agent_get_selected_pair(srv[i].agent, (unsigned)srv[i].sid, 1, &l, &r) == 0);
    CHECK(strcmp(l.addr, maddr) == 0 && l.port == mport);
  }
  for (int i = 0; i < N; i++) {
    char msg[64];
    snprintf(msg, sizeof msg, "to server %d", i);
    send_text(&cli[i], msg);
    snprintf(msg, sizeof msg, "to client %d", i);
    send_text(&srv[i], msg);
  }
  for (int i = 0; i < N; i++) {
    char want[64];
    wait_until(&srv[i].got, 1, "data at a mux agent");
    wait_until(&cli[i].got, 1, "data at a client");
    pthread_mutex_lock(&mu);
    snprintf(want, sizeof want, "to server %d", i);
    CHECK(strcmp(srv[i].data, want) == 0);
    snprintf(want, sizeof want, "to client %d", i);
    CHECK(strcmp(cli[i].data, want) == 0);
    pthread_mutex_unlock(&mu);
  }
  GoniceMuxStats st;
  CHECK(gonice_mux_get_stats(mux, &st) == 0);
  CHECK(st.agents == N && st.routes >= N);
  CHECK(st.received > 0 && st.batches > 0 && st.delivered > 0 && st.delivered <= st.received);
  printf("mux with %d agents: received %llu in %llu batches, delivered %llu, unknown %llu, no route %llu\n",
         N, (unsigned long long)st.received, (unsigned long long)st.batches,
         (unsigned long long)st.delivered, (unsigned long long)st.unknown_ufrag,
         (unsigned long long)st.no_route);
  for (int i = 0; i < N; i++) {
    unpoll(&srv[i]);
    CHECK(gonice_agent_free(srv[i].agent) == 0);
    CHECK(gonice_agent_free(cli[i].agent) == 0);
  }
  CHECK(gonice_mux_get_stats(mux, &st) == 0);
  CHECK(st.agents == 0 && st.routes == 0);
  CHECK(gonice_mux_free(mux) == 0);
  printf("ok: %d agents on one mux connected to %d clients, data both ways\n", N, N);
}

/* ------------------------------------------------------------------------ */
/* 2. ICE-lite server made in the unknown-ufrag callback                     */
/* ------------------------------------------------------------------------ */

#define SRV_UFRAG "lite"
#define SRV_PWD "serverpassword22charsXY"

static struct {
  GoniceMux *mux;
  char cli_pwd[300];
  Peer srv;
  int made, ours, strangers, stranger_agent_freed, wrong;
  char remote_ufrag[300], from[GONICE_ADDRESS_STRING_LEN];
} lite;

static void on_unknown(GoniceMux *mux, const char *local_ufrag, const char *remote_ufrag,
                       const char *from_addr, uint16_t from_port, void *ud) {
  /* A library thread, although the agents made here are in dispatch mode. */
  if (mux != lite.mux || ud != &lite || pthread_equal(pthread_self(), main_thread) ||
      strcmp(from_addr, "127.0.0.1") != 0 || from_port == 0)
    lite.wrong++;
  GoniceMuxStats st;
  CHECK(gonice_mux_get_stats(mux, &st) == 0); /* the callback may call gonice */
  if (strcmp(local_ufrag, SRV_UFRAG) != 0) {
    /* A stranger: an agent made and freed here, to show that is safe. */
    lite.strangers++;
    GoniceAgent *a;
    CHECK(gonice_agent_new(&a, GONICE_AGENT_OPTION_LITE_MODE) == 0);
    CHECK(gonice_agent_add_mux(a, mux) == 0);
    int sid = gonice_agent_add_stream(a, 1);
    CHECK(sid >= 1);
    CHECK(gonice_agent_gather_candidates(a, (unsigned)sid) == 0);
    CHECK(gonice_agent_free(a) == 0);
    lite.stranger_agent_freed++;
    return;
  }
  lite.ours++;
  if (lite.made)
    return;
  snprintf(lite.remote_ufrag, sizeof lite.remote_ufrag, "%s", remote_ufrag);
  snprintf(lite.from, sizeof lite.from, "%s", from_addr);
  Peer *p = &lite.srv;
  new_peer(p, mux, GONICE_AGENT_OPTION_LITE_MODE, 0);
  CHECK(gonice_agent_set_local_credentials(p->agent, (unsigned)p->sid, SRV_UFRAG, SRV_PWD) == 0);
  CHECK(gonice_agent_set_remote_credentials(p->agent, (unsigned)p->sid, remote_ufrag,
                                            lite.cli_pwd) == 0);
  CHECK(gonice_agent_gather_candidates(p->agent, (unsigned)p->sid) == 0);
  pthread_mutex_lock(&mu);
  lite.made = 1;
  pthread_mutex_unlock(&mu);
}

/* udp_socket: a UDP socket on 127.0.0.1, any port. */
static int udp_socket(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  return fd;
}

/* send_check sends a Binding request with USERNAME username (no
 * integrity: the mux routes by USERNAME before anyone verifies it). */
static void send_check(int fd, uint16_t port, const char *username) {
  unsigned char b[128];
  size_t ulen = strlen(username), padded = (ulen + 3) & ~(size_t)3;
  CHECK(20 + 4 + padded <= sizeof b);
  memset(b, 0, sizeof b);
  b[1] = 0x01; /* Binding request */
  b[2] = (unsigned char)((4 + padded) >> 8);
  b[3] = (unsigned char)(4 + padded);
  b[4] = 0x21, b[5] = 0x12, b[6] = 0xa4, b[7] = 0x42; /* magic cookie */
  for (int i = 8; i < 20; i++)
    b[i] = (unsigned char)(rand() & 0xff);
  b[21] = 0x06; /* USERNAME */
  b[22] = (unsigned char)(ulen >> 8);
  b[23] = (unsigned char)ulen;
  memcpy(b + 24, username, ulen);
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  CHECK(sendto(fd, b, 24 + padded, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)(24 + padded));
}

static void test_lite(void) {
  memset(&lite, 0, sizeof lite);
  CHECK(gonice_mux_new(&lite.mux, "127.0.0.1", 0, "127.0.0.1") == 0);
  CHECK(gonice_mux_set_unknown_ufrag_cb(lite.mux, on_unknown, &lite) == 0);
  GoniceCandidate host;
  memset(&host, 0, sizeof host);
  host.type = GONICE_CANDIDATE_TYPE_HOST;
  host.transport = GONICE_CANDIDATE_TRANSPORT_UDP;
  CHECK(gonice_mux_get_local_address(lite.mux, host.addr, &host.port) == 0);
  host.priority = 2130706431;
  host.component_id = 1;
  snprintf(host.foundation, sizeof host.foundation, "1");

  /* A stranger's check first: counted as unknown. */
  int fd = udp_socket();
  send_check(fd, host.port, "nobody:peer");
  double deadline = now_s() + 10;
  for (;;) {
    pthread_mutex_lock(&mu);
    int done = lite.stranger_agent_freed;
    pthread_mutex_unlock(&mu);
    if (done)
      break;
    CHECK(now_s() < deadline);
    usleep(2000);
  }
  close(fd);

  Peer cli;
  new_peer(&cli, NULL, 0, 1);
  char *cu = NULL, *cp = NULL;
  CHECK(gonice_agent_get_local_credentials(cli.agent, (unsigned)cli.sid, &cu, &cp) == 0);
  pthread_mutex_lock(&mu);
  snprintf(lite.cli_pwd, sizeof lite.cli_pwd, "%s", cp);
  pthread_mutex_unlock(&mu);
  CHECK(gonice_agent_set_remote_credentials(cli.agent, (unsigned)cli.sid, SRV_UFRAG, SRV_PWD) == 0);
  CHECK(gonice_agent_gather_candidates(cli.agent, (unsigned)cli.sid) == 0);
  CHECK(gonice_agent_set_remote_candidates(cli.agent, (unsigned)cli.sid, 1, &host, 1) == 1);

  wait_until(&lite.made, 1, "the server agent made by the callback");
  wait_until(&lite.srv.state, GONICE_COMPONENT_STATE_READY, "the lite server READY");
  wait_until(&cli.state, GONICE_COMPONENT_STATE_READY, "the client READY");
  send_text(&cli, "hello lite");
  send_text(&lite.srv, "hello client");
  wait_until(&lite.srv.got, 1, "data at the lite server");
  wait_until(&cli.got, 1, "data at the client");
  pthread_mutex_lock(&mu);
  CHECK(strcmp(lite.srv.data, "hello lite") == 0 && strcmp(cli.data, "hello client") == 0);
  CHECK(lite.wrong == 0 && lite.ours == 1 && lite.strangers == 1);
  CHECK(strcmp(lite.remote_ufrag, cu) == 0 && strcmp(lite.from, "127.0.0.1") == 0);
  pthread_mutex_unlock(&mu);
  gonice_free(cu);
  gonice_free(cp);

  GoniceMuxStats st;
  CHECK(gonice_mux_get_stats(lite.mux, &st) == 0);
  /* The stranger's check alone: the client's first was delivered. */
  CHECK(st.unknown_ufrag == 1);
  CHECK(st.agents == 1);
  unpoll(&lite.srv);
  CHECK(gonice_agent_free(lite.srv.agent) == 0);
  CHECK(gonice_agent_free(cli.agent) == 0);
  CHECK(gonice_mux_free(lite.mux) == 0);
  printf("ok: ICE-lite server made in the unknown-ufrag callback; its first check delivered\n");
}

/* ------------------------------------------------------------------------ */
/* 3. Bad input                                                              */
/* ------------------------------------------------------------------------ */

#include "expect.h"

static struct {
  int calls, freed_inside, after_free;
} selffree;

static void free_inside(GoniceMux *mux, const char *local_ufrag, const char *remote_ufrag,
                        const char *from_addr, uint16_t from_port, void *ud) {
  (void)local_ufrag, (void)remote_ufrag, (void)from_addr, (void)from_port, (void)ud;
  GoniceMuxStats st;
  pthread_mutex_lock(&mu);
  selffree.calls++;
  pthread_mutex_unlock(&mu);
  int rc = gonice_mux_free(mux);
  int after = gonice_mux_get_stats(mux, &st);
  pthread_mutex_lock(&mu);
  selffree.freed_inside = rc == 0 ? 1 : -1;
  selffree.after_free = after;
  pthread_mutex_unlock(&mu);
}

static void test_badinput(void) {
  GoniceMux *mux = NULL, *other = NULL;
  GoniceMux *bogus = (GoniceMux *)(uintptr_t)0x1234;
  GoniceMuxStats st;
  char addr[GONICE_ADDRESS_STRING_LEN];
  uint16_t port = 0;

  /* gonice_mux_new */
  EXPECT(gonice_mux_new(NULL, "127.0.0.1", 0, NULL), GONICE_EINVAL);
  mux = bogus;
  EXPECT(gonice_mux_new(&mux, NULL, 0, NULL), GONICE_EINVAL);
  CHECK(mux == NULL);
  EXPECT(gonice_mux_new(&mux, "", 0, NULL), GONICE_EINVAL);
  EXPECT(gonice_mux_new(&mux, "not an address", 0, NULL), GONICE_EINVAL);
  EXPECT(gonice_mux_new(&mux, "fe80::1%lo", 0, NULL), GONICE_EINVAL);
  EXPECT(gonice_mux_new(&mux, "127.0.0.1", 65536, NULL), GONICE_EINVAL);
  EXPECT(gonice_mux_new(&mux, "0.0.0.0", 0, NULL), GONICE_EINVAL);  /* unspecified, not advertised */
  EXPECT(gonice_mux_new(&mux, "0.0.0.0", 0, ""), GONICE_EINVAL);
  EXPECT(gonice_mux_new(&mux, "127.0.0.1", 0, "::1"), GONICE_EINVAL); /* the other family */
  EXPECT(gonice_mux_new(&mux, "127.0.0.1", 0, "bogus"), GONICE_EINVAL);
  EXPECT(gonice_mux_new(&mux, "192.0.2.1", 0, NULL), GONICE_EIO); /* not a local address */
  CHECK(mux == NULL);
  EXPECT(gonice_mux_new(&mux, "0.0.0.0", 0, "203.0.113.7"), 0);
  CHECK(gonice_mux_get_local_address(mux, addr, &port) == 0);
  CHECK(strcmp(addr, "203.0.113.7") == 0 && port != 0);
  EXPECT(gonice_mux_new(&other, "127.0.0.1", port, NULL), GONICE_EIO); /* the port is in use */
  CHECK(other == NULL);
  EXPECT(gonice_mux_free(mux), 0);

  EXPECT(gonice_mux_new(&mux, "127.0.0.1", 0, NULL), 0);
  /* NULL outputs */
  EXPECT(gonice_mux_get_local_address(mux, NULL, &port), GONICE_EINVAL);
  EXPECT(gonice_mux_get_local_address(mux, addr, NULL), 0);
  EXPECT(gonice_mux_get_stats(mux, NULL), GONICE_EINVAL);
  /* NULL, made-up and mixed-up handles */
  GoniceAgent *agent = NULL, *agent2 = NULL;
  GoniceConnection *conn = NULL;
  CHECK(gonice_agent_new(&agent, 0) == 0);
  CHECK(gonice_agent_new(&agent2, 0) == 0);
  CHECK(gonice_connection_new(&conn, 0) == 0);
  EXPECT(gonice_mux_free(NULL), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_free(bogus), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_free((GoniceMux *)agent), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_free((GoniceMux *)conn), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_get_local_address(NULL, addr, &port), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_get_local_address(bogus, addr, &port), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_get_stats(NULL, &st), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_get_stats((GoniceMux *)agent, &st), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_set_unknown_ufrag_cb(NULL, free_inside, NULL), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_set_unknown_ufrag_cb((GoniceMux *)conn, free_inside, NULL), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_stream((GoniceAgent *)mux, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_free((GoniceAgent *)mux), GONICE_EBADHANDLE);
  EXPECT(gonice_connection_close((GoniceConnection *)mux), GONICE_EBADHANDLE);
  EXPECT(gonice_connection_free((GoniceConnection *)mux), GONICE_EBADHANDLE);
  /* gonice_agent_add_mux */
  EXPECT(gonice_agent_add_mux(NULL, mux), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_mux(agent, NULL), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_mux(agent, bogus), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_mux(agent, (GoniceMux *)agent2), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_mux((GoniceAgent *)mux, mux), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_mux((GoniceAgent *)conn, mux), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_mux(agent, mux), 0);
  EXPECT(gonice_agent_add_mux(agent, mux), GONICE_EINVAL); /* twice */
  int sid2 = gonice_agent_add_stream(agent2, 1);
  CHECK(sid2 >= 1);
  EXPECT(gonice_agent_add_mux(agent2, mux), GONICE_EBUSY); /* started */
  CHECK(gonice_agent_close_async(agent2, NULL, NULL) == 0);
  EXPECT(gonice_agent_add_mux(agent2, mux), GONICE_EBUSY);
  CHECK(gonice_agent_free(agent2) == 0);
  EXPECT(gonice_agent_add_mux(agent2, mux), GONICE_EBADHANDLE); /* freed agent */
  CHECK(gonice_connection_free(conn) == 0);

  /* A ufrag names one stream on a mux. */
  int sid = gonice_agent_add_stream(agent, 1);
  CHECK(sid >= 1);
  EXPECT(gonice_agent_set_local_credentials(agent, (unsigned)sid, "taken", "apasswordof22charsXYZW"), 0);
  EXPECT(gonice_agent_gather_candidates(agent, (unsigned)sid), 0);
  CHECK(gonice_agent_new(&agent2, 0) == 0);
  EXPECT(gonice_agent_add_mux(agent2, mux), 0);
  sid2 = gonice_agent_add_stream(agent2, 1);
  EXPECT(gonice_agent_set_local_credentials(agent2, (unsigned)sid2, "taken", "apasswordof22charsXYZW"),
         GONICE_EBUSY);

  /* The mux freed with agents on it. agent is connected to a client
   * first: its sends fail afterwards; agent2, not gathered yet, cannot
   * gather. Both can still be freed. */
  {
    Peer srv, cli;
    memset(&srv, 0, sizeof srv);
    srv.agent = agent;
    srv.sid = sid;
    CHECK(gonice_agent_connect_component_state_changed(agent, on_state, &srv) == 0);
    CHECK(gonice_agent_attach_recv(agent, (unsigned)sid, 1, on_recv, &srv) == 0);
    new_peer(&cli, NULL, 0, 1);
    CHECK(gonice_agent_gather_candidates(cli.agent, (unsigned)cli.sid) == 0);
    wait_until(&cli.gathered, 1, "the client's gathering");
    give(&srv, &cli);
    give(&cli, &srv);
    wait_until(&srv.state, GONICE_COMPONENT_STATE_READY, "the mux agent READY");
    wait_until(&cli.state, GONICE_COMPONENT_STATE_READY, "the client READY");
    send_text(&srv, "before the mux is freed");
    wait_until(&cli.got, 1, "data from the mux agent");

    EXPECT(gonice_mux_free(mux), 0);
    EXPECT(gonice_agent_send(agent, (unsigned)sid, 1, 4, "gone"), GONICE_ECLOSED);
    printf("send after the mux was freed: %s\n", gonice_last_error());
    EXPECT(gonice_agent_gather_candidates(agent2, (unsigned)sid2), GONICE_ECLOSED);
    printf("gathering after the mux was freed: %s\n", gonice_last_error());
    CHECK(gonice_agent_get_component_state(agent, (unsigned)sid, 1) >= 0);
    EXPECT(gonice_agent_free(agent), 0);
    EXPECT(gonice_agent_free(agent2), 0);
    EXPECT(gonice_agent_free(cli.agent), 0);
  }
  /* A freed mux */
  EXPECT(gonice_mux_free(mux), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_get_stats(mux, &st), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_get_local_address(mux, addr, &port), GONICE_EBADHANDLE);
  EXPECT(gonice_mux_set_unknown_ufrag_cb(mux, NULL, NULL), GONICE_EBADHANDLE);
  CHECK(gonice_agent_new(&agent, 0) == 0);
  EXPECT(gonice_agent_add_mux(agent, mux), GONICE_EBADHANDLE);
  printf("a freed mux: %s\n", gonice_last_error());
  CHECK(gonice_agent_free(agent) == 0);

  /* gonice_mux_free from the mux's own callback: does not wait for
   * itself; the handle is invalid at once; no callback after; the port is
   * free soon after. */
  memset(&selffree, 0, sizeof selffree);
  EXPECT(gonice_mux_new(&mux, "127.0.0.1", 0, NULL), 0);
  CHECK(gonice_mux_get_local_address(mux, addr, &port) == 0);
  EXPECT(gonice_mux_set_unknown_ufrag_cb(mux, free_inside, NULL), 0);
  int fd = udp_socket();
  send_check(fd, port, "someone:peer");
  send_check(fd, port, "another:peer");
  double deadline = now_s() + 10;
  for (;;) {
    pthread_mutex_lock(&mu);
    int done = selffree.freed_inside;
    pthread_mutex_unlock(&mu);
    if (done)
      break;
    CHECK(now_s() < deadline);
    usleep(2000);
  }
  EXPECT(gonice_mux_free(mux), GONICE_EBADHANDLE);
  deadline = now_s() + 10;
  for (;;) { /* the port is released once the reader has returned */
    if (gonice_mux_new(&other, "127.0.0.1", port, NULL) == 0)
      break;
    CHECK(now_s() < deadline);
    usleep(5000);
  }
  EXPECT(gonice_mux_free(other), 0);
  send_check(fd, port, "late:peer");
  usleep(50000);
  close(fd);
  pthread_mutex_lock(&mu);
  CHECK(selffree.freed_inside == 1 && selffree.after_free == GONICE_EBADHANDLE);
  CHECK(selffree.calls == 1);
  pthread_mutex_unlock(&mu);

  if (nfail > 0) {
    fprintf(stderr, "FAIL: %d of %d bad-input cases\n", nfail, ncases);
    exit(1);
  }
  printf("ok: %d bad-input cases\n", ncases);
}

int main(void) {
  main_thread = pthread_self();
  setvbuf(stdout, NULL, _IONBF, 0);
  test_badinput();
  test_many();
  test_lite();
  printf("PASS\n");
  return 0;
}
