/* SPDX-License-Identifier: MIT */
/*
 * gonice.c - libgonice.so.0, the thin C library of gonice's C API.
 *
 * Every public gonice_* function lives here. Nothing runs at load time (no
 * constructors, no Go): the Go core, libgonice-core.so.0, is dlopen'ed on the
 * first call that needs it (pthread_once), found
 *   1. at $GONICE_CORE_PATH if set, else
 *   2. next to this library (dladdr of a local object), else
 *   3. by the dynamic linker's default search ("libgonice-core.so.0").
 * Its one symbol, gonice_core_table, gives a table of function pointers
 * (capi/core_abi.h) that the functions below forward to, passing this
 * thread's last-error buffer so error details land on the caller's thread.
 * The forwarding functions are made from their lines in capi/functions.h;
 * the others are written here (GONICE_OWN lines there).
 * So a process can load libgonice and fork() without exec (a daemon) before
 * its first call: the Go runtime, whose threads fork() would not copy
 * (golang/go#15538), starts only then.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_abi.h"
#include "gonice.h"

#define CORE_SONAME "libgonice-core.so.0"

/* The last error of the calling thread (gonice_last_error). */
static _Thread_local char last_error[GONICE_CORE_ERRLEN];

static pthread_once_t core_once = PTHREAD_ONCE_INIT;
static const GoniceCoreTable *core_table;
static char core_load_error[GONICE_CORE_ERRLEN];

static int fail(int code, const char *msg) {
  snprintf(last_error, sizeof last_error, "%s", msg);
  return code;
}

static void *open_core(void) {
  const char *env = getenv("GONICE_CORE_PATH");
  void *lib;
  if (env != NULL && env[0] != '\0') {
    lib = dlopen(env, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
      snprintf(core_load_error, sizeof core_load_error,
               "gonice: cannot load the core from GONICE_CORE_PATH=%s: %s", env, dlerror());
    return lib;
  }
  /* Next to this library. */
  Dl_info info;
  if (dladdr((const void *)&core_table, &info) != 0 && info.dli_fname != NULL) {
    const char *slash = strrchr(info.dli_fname, '/');
    if (slash != NULL) {
      size_t dirlen = (size_t)(slash - info.dli_fname);
      size_t need = dirlen + 1 + sizeof CORE_SONAME;
      char *path = malloc(need);
      if (path != NULL) {
        memcpy(path, info.dli_fname, dirlen);
        snprintf(path + dirlen, need - dirlen, "/%s", CORE_SONAME);
        lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        free(path);
        if (lib != NULL)
          return lib;
      }
    }
  }
  lib = dlopen(CORE_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL)
    snprintf(core_load_error, sizeof core_load_error,
             "gonice: cannot load the core " CORE_SONAME
             " (looked next to libgonice.so and in the library path): %s",
             dlerror());
  return lib;
}

static void load_core(void) {
  void *lib = open_core();
  if (lib == NULL)
    return;
  /* POSIX dlsym: the object pointer converts to a function pointer. */
  gonice_core_table_fn get;
  void *sym = dlsym(lib, GONICE_CORE_TABLE_SYMBOL);
  if (sym == NULL) {
    snprintf(core_load_error, sizeof core_load_error, "gonice: the core has no %s: %s",
             GONICE_CORE_TABLE_SYMBOL, dlerror());
    return; /* never dlclose a Go library */
  }
  memcpy(&get, &sym, sizeof get);
  const GoniceCoreTable *t = get();
  if (t == NULL || t->abi_version != GONICE_CORE_ABI_VERSION ||
      t->size < sizeof(GoniceCoreTable)) {
    snprintf(core_load_error, sizeof core_load_error,
             "gonice: the core's ABI version (%u) does not match this library's (%u)",
             t != NULL ? t->abi_version : 0u, (unsigned)GONICE_CORE_ABI_VERSION);
    return;
  }
  core_table = t;
}

/* core returns the table, loading the core on first use; NULL (with the
 * reason in last_error) if it cannot be loaded. */
static const GoniceCoreTable *core(void) {
  pthread_once(&core_once, load_core);
  if (core_table == NULL)
    fail(GONICE_EINTERNAL, core_load_error[0] != '\0' ? core_load_error
                                                      : "gonice: the core is not loaded");
  return core_table;
}

#define REQUIRE(cond, what)                                                                        \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      return fail(GONICE_EINVAL, "gonice: " what);                                                 \
  } while (0)

/* ------------------------------------------------------------------------ */
/* No core needed                                                            */
/* ------------------------------------------------------------------------ */

int gonice_version(int *major, int *minor, int *patch) {
  if (major != NULL)
    *major = GONICE_VERSION_MAJOR;
  if (minor != NULL)
    *minor = GONICE_VERSION_MINOR;
  if (patch != NULL)
    *patch = GONICE_VERSION_PATCH;
  return GONICE_VERSION_MAJOR * 10000 + GONICE_VERSION_MINOR * 100 + GONICE_VERSION_PATCH;
}

const char *gonice_strerror(int code) {
  switch (code) {
  case GONICE_OK:
    return "success";
  case GONICE_EINVAL:
    return "invalid argument";
  case GONICE_EBADHANDLE:
    return "invalid, stale or NULL agent handle";
  case GONICE_ENOTFOUND:
    return "no such stream or component, or no usable address";
  case GONICE_EAGAIN:
    return "not possible now (no selected pair yet, consent lost, or full)";
  case GONICE_ECLOSED:
    return "agent closed or stream removed";
  case GONICE_ENOMEM:
    return "out of memory";
  case GONICE_ERANGE:
    return "buffer too short";
  case GONICE_ENOTSUP:
    return "not supported";
  case GONICE_EBUSY:
    return "too late or already in progress";
  case GONICE_EIO:
    return "socket or system error";
  case GONICE_EINTERNAL:
    return "internal error in gonice";
  }
  return "unknown error";
}

const char *gonice_last_error(void) { return last_error; }

void gonice_free(void *ptr) { free(ptr); }

const char *gonice_component_state_to_string(GoniceComponentState state) {
  switch (state) {
  case GONICE_COMPONENT_STATE_DISCONNECTED:
    return "disconnected";
  case GONICE_COMPONENT_STATE_GATHERING:
    return "gathering";
  case GONICE_COMPONENT_STATE_CONNECTING:
    return "connecting";
  case GONICE_COMPONENT_STATE_CONNECTED:
    return "connected";
  case GONICE_COMPONENT_STATE_READY:
    return "ready";
  case GONICE_COMPONENT_STATE_FAILED:
    return "failed";
  case GONICE_COMPONENT_STATE_LAST:
    break;
  }
  return "invalid";
}

GoniceCandidate *gonice_candidate_new(GoniceCandidateType type) {
  if ((int)type < GONICE_CANDIDATE_TYPE_HOST || (int)type > GONICE_CANDIDATE_TYPE_RELAYED) {
    fail(GONICE_EINVAL, "gonice: unknown candidate type");
    return NULL;
  }
  GoniceCandidate *c = calloc(1, sizeof *c);
  if (c == NULL) {
    fail(GONICE_ENOMEM, "gonice: out of memory");
    return NULL;
  }
  c->type = type;
  c->transport = GONICE_CANDIDATE_TRANSPORT_UDP;
  return c;
}

GoniceCandidate *gonice_candidate_copy(const GoniceCandidate *c) {
  if (c == NULL)
    return NULL;
  GoniceCandidate *d = malloc(sizeof *d);
  if (d == NULL) {
    fail(GONICE_ENOMEM, "gonice: out of memory");
    return NULL;
  }
  memcpy(d, c, sizeof *d);
  return d;
}

void gonice_candidate_free(GoniceCandidate *c) { free(c); }

const char *gonice_candidate_type_to_string(GoniceCandidateType type) {
  switch (type) {
  case GONICE_CANDIDATE_TYPE_HOST:
    return "host";
  case GONICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
    return "srflx";
  case GONICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
    return "prflx";
  case GONICE_CANDIDATE_TYPE_RELAYED:
    return "relay";
  }
  return "invalid";
}

const char *gonice_candidate_transport_to_string(GoniceCandidateTransport transport) {
  switch (transport) {
  case GONICE_CANDIDATE_TRANSPORT_UDP:
    return "udp";
  case GONICE_CANDIDATE_TRANSPORT_TCP_ACTIVE:
    return "tcp-act";
  case GONICE_CANDIDATE_TRANSPORT_TCP_PASSIVE:
    return "tcp-pass";
  case GONICE_CANDIDATE_TRANSPORT_TCP_SO:
    return "tcp-so";
  }
  return "invalid";
}

/* same_address: two address texts of at most n bytes name the same address
 * (an IPv4-mapped IPv6 address equals its IPv4 one); texts that do not parse
 * are equal only when identical. */
static int same_address(const char *a, const char *b, size_t n) {
  unsigned char x[16], y[16];
  char ta[GONICE_ADDRESS_STRING_LEN], tb[GONICE_ADDRESS_STRING_LEN];
  snprintf(ta, sizeof ta, "%.*s", (int)n, a);
  snprintf(tb, sizeof tb, "%.*s", (int)n, b);
  static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  int fa = 0, fb = 0;
  if (inet_pton(AF_INET, ta, x + 12) == 1) {
    memcpy(x, v4mapped, 12);
    fa = 1;
  } else if (inet_pton(AF_INET6, ta, x) == 1) {
    fa = 1;
  }
  if (inet_pton(AF_INET, tb, y + 12) == 1) {
    memcpy(y, v4mapped, 12);
    fb = 1;
  } else if (inet_pton(AF_INET6, tb, y) == 1) {
    fb = 1;
  }
  if (fa && fb)
    return memcmp(x, y, 16) == 0;
  if (fa || fb)
    return 0;
  return strcmp(ta, tb) == 0;
}

int gonice_candidate_equal_target(const GoniceCandidate *a, const GoniceCandidate *b) {
  REQUIRE(a != NULL, "a is NULL");
  REQUIRE(b != NULL, "b is NULL");
  return a->transport == b->transport && a->port == b->port &&
         same_address(a->addr, b->addr, sizeof a->addr);
}

/* server_address copies c's server into addr_out and port_out. */
static int server_address(const GoniceCandidate *c, char *addr_out, uint16_t *port_out) {
  if (memchr(c->server_addr, '\0', sizeof c->server_addr) == NULL || c->server_addr[0] == '\0')
    return fail(GONICE_ENOTFOUND, "gonice: the candidate names no server");
  memcpy(addr_out, c->server_addr, sizeof c->server_addr);
  if (port_out != NULL)
    *port_out = c->server_port;
  return GONICE_OK;
}

int gonice_candidate_relay_address(const GoniceCandidate *c, char *addr_out, uint16_t *port_out) {
  REQUIRE(c != NULL, "c is NULL");
  REQUIRE(addr_out != NULL, "addr_out is NULL");
  REQUIRE(c->type == GONICE_CANDIDATE_TYPE_RELAYED, "the candidate is not relayed");
  return server_address(c, addr_out, port_out);
}

int gonice_candidate_stun_server_address(const GoniceCandidate *c, char *addr_out,
                                         uint16_t *port_out) {
  REQUIRE(c != NULL, "c is NULL");
  REQUIRE(addr_out != NULL, "addr_out is NULL");
  if (c->type != GONICE_CANDIDATE_TYPE_SERVER_REFLEXIVE)
    return fail(GONICE_ENOTFOUND, "gonice: the candidate is not server-reflexive");
  return server_address(c, addr_out, port_out);
}

/* ------------------------------------------------------------------------ */
/* Agent lifetime                                                            */
/* ------------------------------------------------------------------------ */

int gonice_agent_new(GoniceAgent **out, unsigned int options) {
  REQUIRE(out != NULL, "out is NULL");
  *out = NULL;
  const GoniceCoreTable *t = core();
  if (t == NULL)
    return GONICE_EINTERNAL;
  uintptr_t h = 0;
  int rc = t->agent_new(last_error, &h, options);
  if (rc >= 0)
    *out = (GoniceAgent *)h;
  return rc;
}

int gonice_set_log_handler(gonice_log_cb cb, const char *categories, void *user_data) {
  const GoniceCoreTable *t = core();
  if (t == NULL)
    return GONICE_EINTERNAL;
  return t->set_log_handler(last_error, (void *)cb, (void *)categories, user_data);
}

int gonice_set_thread_pool_size(unsigned int n) {
  const GoniceCoreTable *t = core();
  if (t == NULL)
    return GONICE_EINTERNAL;
  return t->set_thread_pool_size(last_error, n);
}

int gonice_connection_new(GoniceConnection **out, unsigned int options) {
  REQUIRE(out != NULL, "out is NULL");
  *out = NULL;
  const GoniceCoreTable *t = core();
  if (t == NULL)
    return GONICE_EINTERNAL;
  uintptr_t h = 0;
  int rc = t->conn_new(last_error, &h, options);
  if (rc >= 0)
    *out = (GoniceConnection *)h;
  return rc;
}

int gonice_mux_new(GoniceMux **out, const char *local_address, unsigned int port,
                   const char *advertised_address) {
  REQUIRE(out != NULL, "out is NULL");
  *out = NULL;
  REQUIRE(local_address != NULL, "local_address is NULL");
  const GoniceCoreTable *t = core();
  if (t == NULL)
    return GONICE_EINTERNAL;
  uintptr_t h = 0;
  int rc = t->mux_new(last_error, &h, (char *)local_address, port, (char *)advertised_address);
  if (rc >= 0)
    *out = (GoniceMux *)h;
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Every other function: the GONICE_FN lines of functions.h                  */
/* ------------------------------------------------------------------------ */

/* The checks of a GONICE_FN line. */
#define NONNULL(p) REQUIRE((p) != NULL, #p " is NULL");
#define OUT(p) NONNULL(p) *(p) = NULL;
#define OPT_OUT(p)                                                                                 \
  if ((p) != NULL)                                                                                 \
    *(p) = NULL;
#define ARRAY(p, n) REQUIRE((p) != NULL || (n) == 0, #p " is NULL");

#define UNPAREN(...) __VA_ARGS__
#define GONICE_FN(name, params, entry, args, checks)                                               \
  int name params {                                                                                \
    UNPAREN checks                                                                                 \
    if (agent == NULL)                                                                             \
      return fail(GONICE_EBADHANDLE, "gonice: agent is NULL");                                     \
    const GoniceCoreTable *t = core();                                                             \
    if (t == NULL)                                                                                 \
      return GONICE_EINTERNAL;                                                                     \
    uintptr_t h = (uintptr_t)agent;                                                                \
    return t->entry(last_error, UNPAREN args);                                                     \
  }
#define GONICE_CONN_FN(name, params, entry, args, checks)                                          \
  int name params {                                                                                \
    UNPAREN checks                                                                                 \
    if (conn == NULL)                                                                              \
      return fail(GONICE_EBADHANDLE, "gonice: conn is NULL");                                      \
    const GoniceCoreTable *t = core();                                                             \
    if (t == NULL)                                                                                 \
      return GONICE_EINTERNAL;                                                                     \
    uintptr_t h = (uintptr_t)conn;                                                                 \
    return t->entry(last_error, UNPAREN args);                                                     \
  }
#define GONICE_MUX_FN(name, params, entry, args, checks)                                           \
  int name params {                                                                                \
    UNPAREN checks                                                                                 \
    if (mux == NULL)                                                                               \
      return fail(GONICE_EBADHANDLE, "gonice: mux is NULL");                                       \
    const GoniceCoreTable *t = core();                                                             \
    if (t == NULL)                                                                                 \
      return GONICE_EINTERNAL;                                                                     \
    uintptr_t h = (uintptr_t)mux;                                                                  \
    return t->entry(last_error, UNPAREN args);                                                     \
  }
#include "functions.h"
