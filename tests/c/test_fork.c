/* SPDX-License-Identifier: MIT */
/*
 * test_fork: fork safety of libgonice. The program links libgonice.so and
 * calls gonice_version() (which needs no Go), checks that the Go core is not
 * loaded, then
 *   1. forks (no exec); the child creates two agents that connect and
 *      exchange data; the parent waits for it;
 *   2. forks daemon-style (fork, setsid, fork again; the grandchild does the
 *      same and reports through a pipe);
 *   3. the parent then does the same itself, after the children exited.
 * With a c-shared Go library linked directly, the children would hang
 * (golang/go#15538).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gonice.h"

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "[pid %d] %s:%d: CHECK failed: %s (last error: %s)\n", (int)getpid(),       \
              __FILE__, __LINE__, #cond, gonice_last_error());                                     \
      _exit(1);                                                                                    \
    }                                                                                              \
  } while (0)

typedef struct {
  pthread_mutex_t mu;
  int gathered, ready, got;
} State;

static void on_done(GoniceAgent *a, unsigned int sid, void *ud) {
  (void)a, (void)sid;
  State *s = ud;
  pthread_mutex_lock(&s->mu);
  s->gathered = 1;
  pthread_mutex_unlock(&s->mu);
}
static void on_state(GoniceAgent *a, unsigned int sid, unsigned int cid, GoniceComponentState st,
                     void *ud) {
  (void)a, (void)sid, (void)cid;
  State *s = ud;
  pthread_mutex_lock(&s->mu);
  if (st == GONICE_COMPONENT_STATE_READY)
    s->ready = 1;
  pthread_mutex_unlock(&s->mu);
}
static void on_recv(GoniceAgent *a, unsigned int sid, unsigned int cid, unsigned int len,
                    char *buf, void *ud) {
  (void)a, (void)sid, (void)cid;
  State *s = ud;
  pthread_mutex_lock(&s->mu);
  if (len == 4 && memcmp(buf, "ping", 4) == 0)
    s->got = 1;
  pthread_mutex_unlock(&s->mu);
}

static int get(State *s, int *field) {
  pthread_mutex_lock(&s->mu);
  int v = *field;
  pthread_mutex_unlock(&s->mu);
  return v;
}

static void wait_both(State *a, State *b, size_t off, const char *what) {
  for (int i = 0; i < 5000; i++) {
    if (get(a, (int *)((char *)a + off)) && get(b, (int *)((char *)b + off)))
      return;
    usleep(2000);
  }
  fprintf(stderr, "[pid %d] timeout waiting for %s\n", (int)getpid(), what);
  _exit(1);
}

static GoniceAgent *make(State *s, int controlling, int *sid) {
  GoniceAgent *a;
  pthread_mutex_init(&s->mu, NULL);
  CHECK(gonice_agent_new(&a, 0) == 0);
  CHECK(gonice_agent_set_controlling_mode(a, controlling) == 0);
  CHECK(gonice_agent_connect_candidate_gathering_done(a, on_done, s) == 0);
  CHECK(gonice_agent_connect_component_state_changed(a, on_state, s) == 0);
  CHECK(gonice_agent_add_local_address(a, "127.0.0.1") == 0);
  *sid = gonice_agent_add_stream(a, 1);
  CHECK(*sid >= 1);
  CHECK(gonice_agent_attach_recv(a, (unsigned)*sid, 1, on_recv, s) == 0);
  CHECK(gonice_agent_gather_candidates(a, (unsigned)*sid) == 0);
  return a;
}

static void give(GoniceAgent *from, int fsid, GoniceAgent *to, int tsid) {
  char *u, *p;
  GoniceCandidate *c;
  CHECK(gonice_agent_get_local_credentials(from, (unsigned)fsid, &u, &p) == 0);
  CHECK(gonice_agent_set_remote_credentials(to, (unsigned)tsid, u, p) == 0);
  gonice_free(u);
  gonice_free(p);
  int n = gonice_agent_get_local_candidates(from, (unsigned)fsid, 1, &c);
  CHECK(n >= 1);
  CHECK(gonice_agent_set_remote_candidates(to, (unsigned)tsid, 1, c, (size_t)n) == n);
  gonice_free(c);
}

/* connect_pair: two agents connect and exchange data; returns 0. */
static int connect_pair(void) {
  State sa, sb;
  memset(&sa, 0, sizeof sa);
  memset(&sb, 0, sizeof sb);
  int ida, idb;
  GoniceAgent *a = make(&sa, 1, &ida), *b = make(&sb, 0, &idb);
  wait_both(&sa, &sb, offsetof(State, gathered), "gathering");
  give(a, ida, b, idb);
  give(b, idb, a, ida);
  wait_both(&sa, &sb, offsetof(State, ready), "READY");
  CHECK(gonice_agent_send(a, (unsigned)ida, 1, 4, "ping") == 4);
  CHECK(gonice_agent_send(b, (unsigned)idb, 1, 4, "ping") == 4);
  wait_both(&sa, &sb, offsetof(State, got), "data");
  CHECK(gonice_agent_free(a) == 0);
  CHECK(gonice_agent_free(b) == 0);
  return 0;
}

static int core_loaded(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[1024];
  int found = 0;
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (strstr(line, "libgonice-core") != NULL)
      found = 1;
  fclose(f);
  return found;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int major, minor, patch;
  CHECK(gonice_version(&major, &minor, &patch) >= 0);
  CHECK(core_loaded() == 0);

  /* 1. Plain fork, no exec. */
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    CHECK(core_loaded() == 0);
    connect_pair();
    CHECK(core_loaded() == 1);
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  printf("ok: forked child (no exec) connected two agents\n");

  /* 2. Daemon-style: fork, setsid, fork; the grandchild reports on a pipe. */
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    CHECK(setsid() >= 0);
    pid_t g = fork();
    CHECK(g >= 0);
    if (g > 0)
      _exit(0); /* the intermediate parent exits, as a daemon does */
    connect_pair();
    CHECK(write(fds[1], "OK", 2) == 2);
    _exit(0);
  }
  close(fds[1]);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char res[3] = {0};
  ssize_t n = read(fds[0], res, 2); /* EOF (0) if the daemon failed */
  close(fds[0]);
  CHECK(n == 2 && strcmp(res, "OK") == 0);
  printf("ok: daemon-style grandchild connected two agents\n");

  /* 3. The parent itself. */
  CHECK(core_loaded() == 0);
  connect_pair();
  printf("ok: parent connected two agents after the children\nPASS\n");
  return 0;
}
