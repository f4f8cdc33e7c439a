/* SPDX-License-Identifier: MIT */
/*
 * test_observe: what a C program sees of a connect: the debug log
 * (GONICE_DEBUG, gonice_set_log_handler, standard error by default) and the
 * statistics (gonice_agent_get_stats, gonice_agent_get_stats_json).
 *
 * Two agents in one process connect on 127.0.0.1 and send NPKT datagrams of
 * PKTLEN bytes from A to B and NPKT2 of PKTLEN2 from B to A.
 *
 *   test_observe          the test: first runs itself as "test_observe
 *                         stderr" with GONICE_DEBUG=1 and reads that
 *                         child's standard error, then connects with a log
 *                         handler and GONICE_DEBUG=checks,state,gather
 *   test_observe stderr   connect once, no handler: the log goes to stderr
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gonice.h"

#include "check.h"

#define NPKT 7
#define PKTLEN 100
#define NPKT2 3
#define PKTLEN2 40

typedef struct Peer {
  GoniceAgent *agent;
  int sid;
  pthread_mutex_t mu;
  int gathered, ready, got, got_bytes;
} Peer;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_gathered(GoniceAgent *a, unsigned int sid, void *ud) {
  (void)a, (void)sid;
  Peer *p = ud;
  pthread_mutex_lock(&p->mu);
  p->gathered = 1;
  pthread_mutex_unlock(&p->mu);
}

static void on_state(GoniceAgent *a, unsigned int sid, unsigned int cid, GoniceComponentState st,
                     void *ud) {
  (void)a, (void)sid, (void)cid;
  Peer *p = ud;
  pthread_mutex_lock(&p->mu);
  if (st == GONICE_COMPONENT_STATE_READY)
    p->ready = 1;
  pthread_mutex_unlock(&p->mu);
}

static void on_recv(GoniceAgent *a, unsigned int sid, unsigned int cid, unsigned int len, char *buf,
                    void *ud) {
  (void)a, (void)sid, (void)cid, (void)buf;
  Peer *p = ud;
  pthread_mutex_lock(&p->mu);
  p->got++;
  p->got_bytes += (int)len;
  pthread_mutex_unlock(&p->mu);
}

/* field reads one int field of a peer under its lock. */
static int field(Peer *p, const int *f) {
  pthread_mutex_lock(&p->mu);
  int v = *f;
  pthread_mutex_unlock(&p->mu);
  return v;
}

static void wait_field(Peer *p, const int *f, int want) {
  double deadline = now_s() + 20;
  while (field(p, f) < want) {
    CHECK(now_s() < deadline);
    usleep(2000);
  }
}

static void start(Peer *p, int controlling) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  CHECK(gonice_agent_new(&p->agent, GONICE_AGENT_OPTION_NONE) == 0);
  CHECK(gonice_agent_set_controlling_mode(p->agent, controlling) == 0);
  CHECK(gonice_agent_add_local_address(p->agent, "127.0.0.1") == 0);
  CHECK(gonice_agent_connect_candidate_gathering_done(p->agent, on_gathered, p) == 0);
  CHECK(gonice_agent_connect_component_state_changed(p->agent, on_state, p) == 0);
  p->sid = gonice_agent_add_stream(p->agent, 1);
  CHECK(p->sid >= 1);
  CHECK(gonice_agent_attach_recv(p->agent, (unsigned)p->sid, 1, on_recv, p) == 0);
  CHECK(gonice_agent_gather_candidates(p->agent, (unsigned)p->sid) == 0);
}

static void give(Peer *from, Peer *to) {
  CHECK(check_signal(from->agent, from->sid, to->agent, to->sid) == 0);
}

/* connect_and_send: A (controlling) and B connect, then A sends NPKT
 * datagrams of PKTLEN bytes and B NPKT2 of PKTLEN2; returns when all
 * arrived. The agents stay open. */
static void connect_and_send(Peer *a, Peer *b) {
  start(a, 1);
  start(b, 0);
  wait_field(a, &a->gathered, 1);
  wait_field(b, &b->gathered, 1);
  give(a, b);
  give(b, a);
  wait_field(a, &a->ready, 1);
  wait_field(b, &b->ready, 1);
  char buf[PKTLEN];
  memset(buf, 'a', sizeof buf);
  for (int i = 0; i < NPKT; i++)
    CHECK(gonice_agent_send(a->agent, (unsigned)a->sid, 1, PKTLEN, buf) == PKTLEN);
  for (int i = 0; i < NPKT2; i++)
    CHECK(gonice_agent_send(b->agent, (unsigned)b->sid, 1, PKTLEN2, buf) == PKTLEN2);
  wait_field(b, &b->got, NPKT);
  wait_field(a, &a->got, NPKT2);
  CHECK(field(b, &b->got_bytes) == NPKT * PKTLEN); /* loopback: nothing lost or repeated */
  CHECK(field(a, &a->got_bytes) == NPKT2 * PKTLEN2);
}

/* selected_pair returns the selected pair of p's component 1 and checks
 * the component's totals against it. */
static GoniceCandidatePairStats selected_pair(Peer *p) {
  GoniceComponentStats cs;
  GoniceCandidatePairStats *pairs = NULL;
  int n = gonice_agent_get_stats(p->agent, (unsigned)p->sid, 1, &cs, &pairs);
  CHECK(n >= 1 && pairs != NULL);
  CHECK(cs.stream_id == (unsigned)p->sid && cs.component_id == 1);
  CHECK(cs.state == GONICE_COMPONENT_STATE_READY);
  CHECK(cs.selected_candidate_pair_changes == 1);
  int sel = -1;
  for (int i = 0; i < n; i++)
    if (pairs[i].selected) {
      CHECK(sel < 0);
      sel = i;
    }
  CHECK(sel >= 0);
  GoniceCandidatePairStats s = pairs[sel];
  gonice_free(pairs);
  CHECK(strcmp(cs.selected_pair_id, s.id) == 0);
  CHECK(cs.packets_sent == s.packets_sent && cs.bytes_received == s.bytes_received);
  char want[GONICE_STATS_ID_LEN * 3];
  snprintf(want, sizeof want, "CP%s_%s", s.local_candidate_id, s.remote_candidate_id);
  CHECK(strcmp(want, s.id) == 0);
  CHECK(s.state == GONICE_PAIR_STATE_SUCCEEDED && s.nominated);
  CHECK(strcmp(s.local.addr, "127.0.0.1") == 0 && strcmp(s.remote.addr, "127.0.0.1") == 0);
  CHECK(s.local.type == GONICE_CANDIDATE_TYPE_HOST && s.priority > 0);
  return s;
}

/* check_stats: the statistics of the known exchange of connect_and_send. */
static void check_stats(Peer *a, Peer *b) {
  GoniceCandidatePairStats pa = selected_pair(a), pb = selected_pair(b);
  /* Data: exactly the exchange. */
  CHECK(pa.packets_sent == NPKT && pa.bytes_sent == NPKT * PKTLEN);
  CHECK(pa.packets_received == NPKT2 && pa.bytes_received == NPKT2 * PKTLEN2);
  CHECK(pb.packets_sent == NPKT2 && pb.bytes_sent == NPKT2 * PKTLEN2);
  CHECK(pb.packets_received == NPKT && pb.bytes_received == NPKT * PKTLEN);
  CHECK(pa.last_packet_sent_timestamp > 1.6e12 && pa.last_packet_received_timestamp > 1.6e12);
  /* Checks: A (controlling) checked and nominated, B checked; on loopback
   * nothing is lost, so what one sent the other received and answered. */
  CHECK(pa.requests_sent >= 2 && pb.requests_sent >= 1);
  CHECK(pa.retransmissions_sent == 0 && pb.retransmissions_sent == 0);
  CHECK(pb.requests_received == pa.requests_sent + pa.consent_requests_sent);
  CHECK(pa.requests_received == pb.requests_sent + pb.consent_requests_sent);
  CHECK(pa.responses_sent == pa.requests_received && pb.responses_sent == pb.requests_received);
  CHECK(pa.responses_received >= 1 && pa.responses_received <= pa.requests_sent + pa.consent_requests_sent);
  CHECK(pa.round_trip_time_measurements >= 1 && pa.round_trip_time_measurements <= pa.responses_received);
  CHECK(pa.current_round_trip_time >= 0 && pa.current_round_trip_time < 1);
  CHECK(pa.total_round_trip_time >= pa.current_round_trip_time);
  printf("test_observe: A's pair %s: %llu checks sent, %llu received, %llu packets / %llu bytes sent, "
         "%llu / %llu received, rtt %.6f s\n",
         pa.id, (unsigned long long)pa.requests_sent, (unsigned long long)pa.requests_received,
         (unsigned long long)pa.packets_sent, (unsigned long long)pa.bytes_sent,
         (unsigned long long)pa.packets_received, (unsigned long long)pa.bytes_received,
         pa.current_round_trip_time);

  /* JSON: the same numbers. */
  char *js = NULL;
  int n = gonice_agent_get_stats_json(a->agent, (unsigned)a->sid, &js);
  CHECK(n > 0 && js != NULL && (int)strlen(js) == n);
  char frag[128];
  snprintf(frag, sizeof frag, "\"selectedCandidatePairId\":\"%s\"", pa.id);
  CHECK(strstr(js, frag) != NULL);
  snprintf(frag, sizeof frag, "\"id\":\"%s\"", pa.id);
  char *pj = strstr(js, frag);
  CHECK(pj != NULL);
  snprintf(frag, sizeof frag, "\"packetsSent\":%d,\"packetsReceived\":%d,\"bytesSent\":%d,\"bytesReceived\":%d",
           NPKT, NPKT2, NPKT * PKTLEN, NPKT2 * PKTLEN2);
  CHECK(strstr(pj, frag) != NULL);
  snprintf(frag, sizeof frag, "\"requestsSent\":%llu,", (unsigned long long)pa.requests_sent);
  CHECK(strstr(pj, frag) != NULL);
  CHECK(strncmp(js, "{\"timestamp\":", 13) == 0 && strstr(js, "\"stream\":1,") != NULL);
  CHECK(strstr(js, "\"type\":\"local-candidate\"") != NULL && strstr(js, "\"iceRole\":\"controlling\"") != NULL);
  gonice_free(js);

  /* Bad input. */
  GoniceComponentStats cs;
  CHECK(gonice_agent_get_stats(a->agent, (unsigned)a->sid, 2, &cs, NULL) == GONICE_ENOTFOUND);
  CHECK(gonice_agent_get_stats(a->agent, 99, 1, NULL, NULL) == GONICE_ENOTFOUND);
  CHECK(gonice_agent_get_stats(a->agent, (unsigned)a->sid, 1, NULL, NULL) >= 1);
  CHECK(gonice_agent_get_stats_json(a->agent, (unsigned)a->sid, NULL) == GONICE_EINVAL);
  CHECK(gonice_agent_get_stats_json(NULL, 1, &js) == GONICE_EBADHANDLE);
}

static void stop(Peer *p) {
  CHECK(gonice_agent_free(p->agent) == 0);
  pthread_mutex_destroy(&p->mu);
}

/* The log handler's lines, kept in one buffer. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char *log_text;
static size_t log_len, log_cap;
static int log_calls, log_bad;

static int log_inside; /* handlers running now: gonice.h promises one at a time */

static void on_log(int level, const char *event, const char *line, void *ud) {
  if (__atomic_fetch_add(&log_inside, 1, __ATOMIC_SEQ_CST) != 0) {
    pthread_mutex_lock(&log_mu);
    log_bad++;
    pthread_mutex_unlock(&log_mu);
  }
  usleep(50); /* widen the window in which a concurrent call would be seen */
  pthread_mutex_lock(&log_mu);
  log_calls++;
  if (ud != &log_calls || event == NULL || line == NULL || strchr(line, '\n') != NULL)
    log_bad++;
  else if (level == GONICE_LOG_DEBUG && (strncmp(line, "level=DEBUG msg=", 16) != 0 ||
                                         strncmp(line + 16, event, strlen(event)) != 0))
    log_bad++;
  size_t n = strlen(line);
  if (log_len + n + 2 > log_cap) {
    log_cap = (log_len + n + 2) * 2;
    log_text = realloc(log_text, log_cap);
    CHECK(log_text != NULL);
  }
  memcpy(log_text + log_len, line, n);
  log_len += n;
  log_text[log_len++] = '\n';
  log_text[log_len] = '\0';
  pthread_mutex_unlock(&log_mu);
  __atomic_fetch_sub(&log_inside, 1, __ATOMIC_SEQ_CST);
}

/* has_line: a line of text contains every one of the NULL-terminated
 * fragments. */
static int has_line(const char *text, const char *const *frags) {
  const char *line = text;
  while (line != NULL && *line != '\0') {
    const char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    int all = 1;
    for (const char *const *f = frags; *f != NULL && all; f++) {
      size_t fl = strlen(*f);
      int found = 0;
      for (size_t i = 0; i + fl <= n && !found; i++)
        found = memcmp(line + i, *f, fl) == 0;
      all = found;
    }
    if (all)
      return 1;
    line = end ? end + 1 : NULL;
  }
  return 0;
}

#define HAS(text, ...)                                                                             \
  do {                                                                                             \
    const char *const frags_[] = {__VA_ARGS__, NULL};                                              \
    if (!has_line(text, frags_)) {                                                                 \
      fprintf(stderr, "%s:%d: no log line with " #__VA_ARGS__ "\n", __FILE__, __LINE__);           \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* run_child runs this program as "stderr" with GONICE_DEBUG=1 and returns
 * its standard error. Called before the core is loaded (fork safety). */
static char *run_child(const char *self) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    setenv("GONICE_DEBUG", "1", 1);
    execl(self, self, "stderr", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  size_t len = 0, cap = 1 << 16;
  char *out = malloc(cap);
  CHECK(out != NULL);
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap *= 2;
      out = realloc(out, cap);
      CHECK(out != NULL);
    }
    ssize_t n = read(fds[0], out + len, 4096);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  out[len] = '\0';
  close(fds[0]);
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "child failed (status %d); its stderr:\n%s\n", st, out);
    exit(1);
  }
  return out;
}

int main(int argc, char **argv) {
  Peer a, b;
  if (argc > 1 && strcmp(argv[1], "stderr") == 0) {
    connect_and_send(&a, &b);
    stop(&a);
    stop(&b);
    return 0;
  }

  /* 1. GONICE_DEBUG=1, no handler: slog text lines on standard error. */
  char *err = run_child(argv[0]);
  HAS(err, "level=DEBUG", "msg=gather.done", "agent=", "stream=1");
  HAS(err, "msg=check.sent", "nominate=true", "controlling=true");
  HAS(err, "msg=check.response", "code=0", "rtt=");
  HAS(err, "msg=component.state", "from=connected", "to=ready");
  HAS(err, "msg=pair.selected", "pair=CPL");
  HAS(err, "time="); /* standard error lines carry their time */
  printf("test_observe: GONICE_DEBUG=1 on standard error: %zu bytes\n", strlen(err));
  free(err);

  /* 2. A log handler, categories from GONICE_DEBUG. */
  setenv("GONICE_DEBUG", "checks,state,gather", 1);
  CHECK(gonice_set_log_handler(on_log, "checks,nonsense", NULL) == GONICE_EINVAL);
  CHECK(gonice_set_log_handler(on_log, NULL, &log_calls) == 0);
  connect_and_send(&a, &b);
  check_stats(&a, &b);
  stop(&a);
  stop(&b);
  pthread_mutex_lock(&log_mu);
  CHECK(log_calls > 10 && log_bad == 0);
  HAS(log_text, "msg=gather.start", "stream=1");
  HAS(log_text, "msg=gather.candidate", "type=host", "addr=127.0.0.1:");
  HAS(log_text, "msg=check.sent", "tx=", "pair=CPL");
  HAS(log_text, "msg=check.received", "use_candidate=true");
  HAS(log_text, "msg=check.nominated");
  HAS(log_text, "msg=pair.state", "to=succeeded");
  HAS(log_text, "msg=component.state", "to=ready");
  CHECK(strstr(log_text, "msg=consent.") == NULL); /* not a category asked for */
  CHECK(strstr(log_text, "time=") == NULL);        /* the handler stamps lines itself */
  printf("test_observe: log handler: %d lines\n", log_calls);
  pthread_mutex_unlock(&log_mu);

  /* 3. Removed: nothing more reaches it. */
  CHECK(gonice_set_log_handler(NULL, NULL, NULL) == 0);
  unsetenv("GONICE_DEBUG");
  pthread_mutex_lock(&log_mu);
  int before = log_calls;
  pthread_mutex_unlock(&log_mu);
  connect_and_send(&a, &b);
  stop(&a);
  stop(&b);
  pthread_mutex_lock(&log_mu);
  CHECK(log_calls == before);
  pthread_mutex_unlock(&log_mu);
  free(log_text);
  printf("test_observe: PASS\n");
  return 0;
}
