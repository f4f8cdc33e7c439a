/* SPDX-License-Identifier: MIT */
/*
 * test_turn: two agents in one process, both with force-relay, connect on
 * 127.0.0.1 through a real TURN server (coturn's turnserver, started here on
 * a free loopback port with user u:p), and exchange data both ways; both
 * selected pairs must use relayed local candidates. Then the server stops,
 * and both agents must report their allocations lost (gonice_agent_get_relay_errors).
 *
 * Usage: test_turn [udp|tcp] (default udp: the transport to the server).
 * Exits 77 (CTest SKIP_RETURN_CODE) when turnserver is not installed,
 * unless CI=true: then that is a failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gonice.h"

#define CHECK_FAIL() (cleanup(), exit(1))
#include "check.h"

static pid_t turn_pid = -1;
static char tmpdir[] = "/tmp/gonice-turn-XXXXXX";
static char logpath[sizeof tmpdir + 32];

/* stop_turnserver: SIGTERM, then SIGKILL after 2 s. */
static void stop_turnserver(void) {
  if (turn_pid > 0) {
    kill(turn_pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
      if (waitpid(turn_pid, NULL, WNOHANG) == turn_pid) {
        turn_pid = -1;
        break;
      }
      usleep(10000);
    }
    if (turn_pid > 0) {
      kill(turn_pid, SIGKILL);
      waitpid(turn_pid, NULL, 0);
      turn_pid = -1;
    }
  }
}

static void cleanup(void) {
  stop_turnserver();
  if (getenv("GONICE_TURN_KEEP") == NULL && tmpdir[sizeof tmpdir - 2] != 'X') {
    char cmd[sizeof tmpdir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
      fprintf(stderr, "test_turn: could not remove %s\n", tmpdir);
  }
}

static void dump_log(void) {
  FILE *f = fopen(logpath, "r");
  if (f == NULL)
    return;
  char line[512];
  fprintf(stderr, "--- turnserver log (%s)\n", logpath);
  while (fgets(line, sizeof line, f) != NULL)
    fputs(line, stderr);
  fclose(f);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* find_in_path: the full path of prog on PATH into out, or 0. */
static int find_in_path(const char *prog, char *out, size_t outlen) {
  const char *path = getenv("PATH");
  if (path == NULL)
    path = "/usr/local/bin:/usr/bin:/bin";
  while (*path != '\0') {
    const char *end = strchr(path, ':');
    size_t n = end != NULL ? (size_t)(end - path) : strlen(path);
    if (n > 0 && (size_t)snprintf(out, outlen, "%.*s/%s", (int)n, path, prog) < outlen &&
        access(out, X_OK) == 0)
      return 1;
    path += n;
    if (*path == ':')
      path++;
  }
  return 0;
}

/* free_port: a port free on 127.0.0.1 for both TCP and UDP, or 0. */
static int free_port(void) {
  for (int attempt = 0; attempt < 20; attempt++) {
    int t = socket(AF_INET, SOCK_STREAM, 0);
    if (t < 0)
      return 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(t, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(t, (struct sockaddr *)&sa, &len) != 0) {
      close(t);
      return 0;
    }
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    int ok = u >= 0 && bind(u, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (u >= 0)
      close(u);
    close(t);
    if (ok)
      return ntohs(sa.sin_port);
  }
  return 0;
}

/* tcp_open: whether something accepts TCP connections on 127.0.0.1:port. */
static int tcp_open(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0)
    return 0;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((uint16_t)port);
  int ok = connect(s, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(s);
  return ok;
}

/* start_turnserver: starts bin on a free port; returns the port or 0. */
static int start_turnserver(const char *bin) {
  for (int attempt = 0; attempt < 5; attempt++) {
    int port = free_port();
    CHECK(port > 0);
    char portarg[32], userdb[sizeof tmpdir + 16], logarg[sizeof logpath + 16],
        pidarg[sizeof tmpdir + 32];
    snprintf(portarg, sizeof portarg, "--listening-port=%d", port);
    snprintf(userdb, sizeof userdb, "--userdb=%s/turndb", tmpdir);
    snprintf(logpath, sizeof logpath, "%s/turn%d.log", tmpdir, attempt);
    snprintf(logarg, sizeof logarg, "--log-file=%s", logpath);
    snprintf(pidarg, sizeof pidarg, "--pidfile=%s/turnserver.pid", tmpdir);
    char *argv[] = {(char *)bin, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
                    portarg, "--lt-cred-mech", "--user=u:p", "--realm=gonice", "--no-tls",
                    "--no-dtls", "--no-cli", "--no-rfc5780", "--allow-loopback-peers", userdb,
                    logarg, "--simple-log", "--verbose", pidarg, NULL};
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
      }
      execv(bin, argv);
      _exit(127);
    }
    turn_pid = pid;
    double deadline = now_s() + 5;
    while (now_s() < deadline) {
      if (waitpid(pid, NULL, WNOHANG) == pid) {
        turn_pid = -1;
        break;
      }
      if (tcp_open(port))
        return port;
      usleep(20000);
    }
    fprintf(stderr, "test_turn: turnserver on port %d did not start\n", port);
    dump_log();
    cleanup();
  }
  return 0;
}

/* ------------------------------------------------------------------------ */

typedef struct Peer {
  const char *name;
  GoniceAgent *agent;
  int sid;
  pthread_mutex_t mu;
  int gathered, state, failed;
  char got[64];
} Peer;

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
  p->state = (int)st;
  if (st == GONICE_COMPONENT_STATE_FAILED)
    p->failed = 1;
  pthread_mutex_unlock(&p->mu);
}

static void on_recv(GoniceAgent *a, unsigned int sid, unsigned int cid, unsigned int len,
                    char *buf, void *ud) {
  (void)a, (void)sid, (void)cid;
  Peer *p = ud;
  pthread_mutex_lock(&p->mu);
  if (len < sizeof p->got) {
    memcpy(p->got, buf, len);
    p->got[len] = '\0';
  }
  pthread_mutex_unlock(&p->mu);
}

/* wait_for: polls cond(p) (under p->mu) until it holds or secs pass. */
static int wait_for(Peer *p, int (*cond)(Peer *), double secs) {
  double deadline = now_s() + secs;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    int ok = cond(p);
    pthread_mutex_unlock(&p->mu);
    if (ok)
      return 1;
    if (now_s() > deadline)
      return 0;
    usleep(10000);
  }
}

static int is_gathered(Peer *p) { return p->gathered; }
static int is_ready(Peer *p) { return p->state == GONICE_COMPONENT_STATE_READY || p->failed; }
static int has_data(Peer *p) { return p->got[0] != '\0'; }

static void setup(Peer *p, const char *name, int controlling, int port, GoniceRelayType type,
                  const char *password) {
  p->name = name;
  pthread_mutex_init(&p->mu, NULL);
  CHECK(gonice_agent_new(&p->agent, GONICE_AGENT_OPTION_NONE) == 0);
  CHECK(gonice_agent_set_controlling_mode(p->agent, controlling) == 0);
  CHECK(gonice_agent_set_force_relay(p->agent, 1) == 0);
  CHECK(gonice_agent_connect_candidate_gathering_done(p->agent, on_gathered, p) == 0);
  CHECK(gonice_agent_connect_component_state_changed(p->agent, on_state, p) == 0);
  CHECK(gonice_agent_add_local_address(p->agent, "127.0.0.1") == 0);
  p->sid = gonice_agent_add_stream(p->agent, 1);
  CHECK(p->sid >= 1);
  CHECK(gonice_agent_set_relay_info(p->agent, p->sid, 1, "127.0.0.1", (unsigned)port, "u",
                                    password, type) == 0);
  CHECK(gonice_agent_attach_recv(p->agent, p->sid, 1, on_recv, p) == 0);
  CHECK(gonice_agent_gather_candidates(p->agent, p->sid) == 0);
  /* Too late now. */
  CHECK(gonice_agent_set_relay_info(p->agent, p->sid, 1, "127.0.0.1", (unsigned)port, "u", "p",
                                    type) == GONICE_EBUSY);
}

/* give: the credentials and candidates of from to to. */
static void give(Peer *from, Peer *to) {
  char *ufrag = NULL, *pwd = NULL;
  CHECK(gonice_agent_get_local_credentials(from->agent, from->sid, &ufrag, &pwd) == 0);
  CHECK(gonice_agent_set_remote_credentials(to->agent, to->sid, ufrag, pwd) == 0);
  gonice_free(ufrag);
  gonice_free(pwd);
  GoniceCandidate *cands = NULL;
  int n = gonice_agent_get_local_candidates(from->agent, from->sid, 1, &cands);
  CHECK(n >= 1);
  for (int i = 0; i < n; i++) {
    printf("%s: local candidate %d: type %d %s:%u (base %s:%u)\n", from->name, i, cands[i].type,
           cands[i].addr, cands[i].port, cands[i].base_addr, cands[i].base_port);
    CHECK(cands[i].type == GONICE_CANDIDATE_TYPE_RELAYED); /* force-relay */
    CHECK(strcmp(gonice_candidate_type_to_string(cands[i].type), "relay") == 0);
    /* The TURN server it was allocated on (coturn on 127.0.0.1). */
    char server[GONICE_ADDRESS_STRING_LEN];
    uint16_t server_port = 0;
    CHECK(gonice_candidate_relay_address(&cands[i], server, &server_port) == 0);
    CHECK(strcmp(server, "127.0.0.1") == 0 && server_port != 0);
    CHECK(gonice_candidate_stun_server_address(&cands[i], server, NULL) == GONICE_ENOTFOUND);
  }
  CHECK(gonice_agent_set_remote_candidates(to->agent, to->sid, 1, cands, (size_t)n) == n);
  CHECK(gonice_agent_peer_candidate_gathering_done(to->agent, to->sid) == 0);
  gonice_free(cands);
}

static void exchange(Peer *from, Peer *to, const char *msg) {
  double deadline = now_s() + 10;
  while (!has_data(to)) {
    CHECK(now_s() < deadline);
    int rc = gonice_agent_send(from->agent, from->sid, 1, (unsigned)strlen(msg), msg);
    CHECK(rc == (int)strlen(msg) || rc == GONICE_EAGAIN);
    wait_for(to, has_data, 0.2);
  }
  pthread_mutex_lock(&to->mu);
  CHECK(strcmp(to->got, msg) == 0);
  pthread_mutex_unlock(&to->mu);
}

int main(int argc, char **argv) {
  GoniceRelayType type = GONICE_RELAY_TYPE_TURN_UDP;
  if (argc > 1 && strcmp(argv[1], "tcp") == 0)
    type = GONICE_RELAY_TYPE_TURN_TCP;
  else if (argc > 1 && strcmp(argv[1], "udp") != 0) {
    fprintf(stderr, "usage: test_turn [udp|tcp]\n");
    return 2;
  }
  char bin[4096];
  if (!find_in_path("turnserver", bin, sizeof bin)) {
    const char *ci = getenv("CI");
    if (ci != NULL && strcmp(ci, "true") == 0) {
      fprintf(stderr, "test_turn: turnserver not found (install Debian's coturn package)\n");
      return 1;
    }
    printf("test_turn: SKIP: turnserver not found (apt-get install coturn to run this test)\n");
    return 77;
  }
  /* Start turnserver before the Go core is loaded (no fork after it). */
  CHECK(mkdtemp(tmpdir) != NULL);
  int port = start_turnserver(bin);
  CHECK(port > 0);
  printf("test_turn: turnserver on 127.0.0.1:%d, TURN over %s\n", port,
         type == GONICE_RELAY_TYPE_TURN_UDP ? "udp" : "tcp");

  Peer a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  setup(&a, "A", 1, port, type, "p");
  setup(&b, "B", 0, port, type, "p");
  if (!wait_for(&a, is_gathered, 15) || !wait_for(&b, is_gathered, 15)) {
    dump_log();
    CHECK(!"gathering did not complete");
  }
  GoniceRelayError *rerrs = NULL;
  CHECK(gonice_agent_get_relay_errors(a.agent, a.sid, &rerrs) == 0 && rerrs == NULL);

  /* A wrong password: gathering completes without a relay, and the error
   * says why. */
  Peer bad;
  memset(&bad, 0, sizeof bad);
  setup(&bad, "bad", 0, port, type, "wrong");
  if (!wait_for(&bad, is_gathered, 15)) {
    dump_log();
    CHECK(!"gathering with a wrong password did not complete");
  }
  CHECK(gonice_agent_get_relay_errors(bad.agent, bad.sid, &rerrs) == 1);
  printf("bad: relay error: component %u server %s:%u type %d local %s:%u reason %d: %s\n",
         rerrs[0].component_id, rerrs[0].server_addr, rerrs[0].server_port, (int)rerrs[0].type,
         rerrs[0].local_addr, rerrs[0].local_port, (int)rerrs[0].reason, rerrs[0].message);
  CHECK(rerrs[0].component_id == 1);
  CHECK(strcmp(rerrs[0].server_addr, "127.0.0.1") == 0 && rerrs[0].server_port == port);
  CHECK(rerrs[0].type == type);
  CHECK(rerrs[0].reason == GONICE_RELAY_ERROR_UNAUTHORIZED);
  CHECK(strstr(rerrs[0].message, "refused the credentials") != NULL);
  gonice_free(rerrs);
  CHECK(gonice_agent_free(bad.agent) == 0);
  give(&a, &b);
  give(&b, &a);
  if (!wait_for(&a, is_ready, 30) || !wait_for(&b, is_ready, 30) || a.failed || b.failed) {
    dump_log();
    CHECK(!"not ready");
  }
  GoniceCandidate l, r;
  CHECK(gonice_agent_get_selected_pair(a.agent, a.sid, 1, &l, &r) == 0);
  CHECK(l.type == GONICE_CANDIDATE_TYPE_RELAYED);
  printf("A: selected %s:%u -> %s:%u\n", l.addr, l.port, r.addr, r.port);
  CHECK(gonice_agent_get_selected_pair(b.agent, b.sid, 1, &l, &r) == 0);
  CHECK(l.type == GONICE_CANDIDATE_TYPE_RELAYED);
  printf("B: selected %s:%u -> %s:%u\n", l.addr, l.port, r.addr, r.port);
  exchange(&a, &b, "hello from A through TURN");
  exchange(&b, &a, "hello from B through TURN");

  /* The server goes away while media flows. Over UDP its port answers port
   * unreachable: the first datagram to it brings an ICMP error, and each
   * agent reports its allocation lost (LOST) and the new allocation refused
   * (UNREACHABLE), without waiting for consent to run out. Over TCP the
   * connection ends (LOST). */
  stop_turnserver();
  double stopped = now_s();
  Peer *peers[] = {&a, &b};
  for (int k = 0; k < 2; k++) {
    Peer *p = peers[k];
    int lost = 0, unreachable = 0;
    while (!lost || (type == GONICE_RELAY_TYPE_TURN_UDP && !unreachable)) {
      if (now_s() - stopped > 10) {
        fprintf(stderr, "%s: lost %d unreachable %d 10 s after the server stopped\n", p->name, lost,
                unreachable);
        CHECK(!"the allocation was not reported lost");
      }
      (void)gonice_agent_send(p->agent, p->sid, 1, 5, "media");
      int n = gonice_agent_get_relay_errors(p->agent, p->sid, &rerrs);
      CHECK(n >= 0);
      for (int i = 0; i < n; i++) {
        lost |= rerrs[i].reason == GONICE_RELAY_ERROR_LOST;
        unreachable |= rerrs[i].reason == GONICE_RELAY_ERROR_UNREACHABLE;
      }
      if (lost && (type != GONICE_RELAY_TYPE_TURN_UDP || unreachable))
        for (int i = 0; i < n; i++)
          printf("%s: relay error %d after the server stopped: reason %d: %s\n", p->name, i,
                 (int)rerrs[i].reason, rerrs[i].message);
      gonice_free(rerrs);
      rerrs = NULL;
      usleep(20000);
    }
    printf("%s: allocation reported lost %.0f ms after the server stopped\n", p->name,
           (now_s() - stopped) * 1000);
  }
  CHECK(gonice_agent_free(a.agent) == 0);
  CHECK(gonice_agent_free(b.agent) == 0);
  cleanup();
  printf("test_turn: PASS\n");
  return 0;
}
