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
 * (capi/core_abi.h) that the wrappers below forward to, passing this
 * thread's last-error buffer so error details land on the caller's thread.
 * So a process can load libgonice and fork() without exec (a daemon) before
 * its first call: the Go runtime, whose threads fork() would not copy
 * (golang/go#15538), starts only then.
 */
#define _GNU_SOURCE
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

#define H(agent) ((uintptr_t)(agent))

/* FORWARD(fn, agent, args...): check the handle is not NULL, load the core,
 * and call its fn with the last-error buffer. */
#define FORWARD(fn, agent, ...)                                                                    \
  do {                                                                                             \
    if ((agent) == NULL)                                                                           \
      return fail(GONICE_EBADHANDLE, "gonice: agent is NULL");                                     \
    const GoniceCoreTable *t_ = core();                                                            \
    if (t_ == NULL)                                                                                \
      return GONICE_EINTERNAL;                                                                     \
    return t_->fn(last_error, H(agent), __VA_ARGS__);                                              \
  } while (0)

#define FORWARD0(fn, agent)                                                                        \
  do {                                                                                             \
    if ((agent) == NULL)                                                                           \
      return fail(GONICE_EBADHANDLE, "gonice: agent is NULL");                                     \
    const GoniceCoreTable *t_ = core();                                                            \
    if (t_ == NULL)                                                                                \
      return GONICE_EINTERNAL;                                                                     \
    return t_->fn(last_error, H(agent));                                                           \
  } while (0)

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

int gonice_agent_free(GoniceAgent *agent) { FORWARD0(agent_free, agent); }

int gonice_agent_close_async(GoniceAgent *agent, gonice_agent_closed_cb cb, void *user_data) {
  FORWARD(agent_close_async, agent, (void *)cb, user_data);
}

/* ------------------------------------------------------------------------ */
/* Properties                                                                */
/* ------------------------------------------------------------------------ */

int gonice_agent_set_controlling_mode(GoniceAgent *agent, int controlling) {
  FORWARD(set_prop_int, agent, GONICE_PROP_CONTROLLING, controlling != 0);
}
int gonice_agent_get_controlling_mode(GoniceAgent *agent) { FORWARD0(get_controlling, agent); }
int gonice_agent_set_nomination_mode(GoniceAgent *agent, GoniceNominationMode mode) {
  FORWARD(set_prop_int, agent, GONICE_PROP_NOMINATION, (long long)mode);
}
int gonice_agent_set_stun_server(GoniceAgent *agent, const char *ip, unsigned int port) {
  FORWARD(set_prop_str, agent, GONICE_PROP_STUN_SERVER, (char *)ip, port);
}
int gonice_agent_set_ice_lite(GoniceAgent *agent, int lite) {
  FORWARD(set_prop_int, agent, GONICE_PROP_LITE, lite != 0);
}
int gonice_agent_set_consent_freshness(GoniceAgent *agent, int enabled) {
  FORWARD(set_prop_int, agent, GONICE_PROP_CONSENT, enabled != 0);
}
int gonice_agent_set_keepalive_conncheck(GoniceAgent *agent, int enabled) {
  FORWARD(set_prop_int, agent, GONICE_PROP_KEEPALIVE_CONNCHECK, enabled != 0);
}
int gonice_agent_set_ice_udp(GoniceAgent *agent, int enabled) {
  FORWARD(set_prop_int, agent, GONICE_PROP_ICE_UDP, enabled != 0);
}
int gonice_agent_set_ta(GoniceAgent *agent, unsigned int ms) {
  FORWARD(set_prop_int, agent, GONICE_PROP_TA, (long long)ms);
}
int gonice_agent_set_max_checks(GoniceAgent *agent, unsigned int n) {
  FORWARD(set_prop_int, agent, GONICE_PROP_MAX_CHECKS, (long long)n);
}
int gonice_agent_set_stun_initial_timeout(GoniceAgent *agent, unsigned int ms) {
  FORWARD(set_prop_int, agent, GONICE_PROP_STUN_INITIAL_TIMEOUT, (long long)ms);
}
int gonice_agent_set_stun_max_retransmissions(GoniceAgent *agent, unsigned int n) {
  FORWARD(set_prop_int, agent, GONICE_PROP_STUN_MAX_RETRANS, (long long)n);
}
int gonice_agent_set_idle_timeout(GoniceAgent *agent, unsigned int ms) {
  FORWARD(set_prop_int, agent, GONICE_PROP_IDLE_TIMEOUT, (long long)ms);
}
int gonice_agent_set_keepalive_interval(GoniceAgent *agent, unsigned int ms) {
  FORWARD(set_prop_int, agent, GONICE_PROP_KEEPALIVE_INTERVAL, (long long)ms);
}
int gonice_agent_set_force_relay(GoniceAgent *agent, int force) {
  FORWARD(set_prop_int, agent, GONICE_PROP_FORCE_RELAY, force != 0);
}
int gonice_agent_set_software(GoniceAgent *agent, const char *software) {
  FORWARD(set_prop_str, agent, GONICE_PROP_SOFTWARE, (char *)software, 0u);
}

/* ------------------------------------------------------------------------ */
/* Streams, addresses, gathering                                             */
/* ------------------------------------------------------------------------ */

int gonice_agent_add_local_address(GoniceAgent *agent, const char *ip) {
  FORWARD(add_local_address, agent, (char *)ip);
}
int gonice_agent_add_stream(GoniceAgent *agent, unsigned int n_components) {
  FORWARD(add_stream, agent, n_components);
}
int gonice_agent_remove_stream(GoniceAgent *agent, unsigned int stream_id) {
  FORWARD(remove_stream, agent, stream_id);
}
int gonice_agent_set_port_range(GoniceAgent *agent, unsigned int stream_id,
                                unsigned int component_id, unsigned int min_port,
                                unsigned int max_port) {
  FORWARD(set_port_range, agent, stream_id, component_id, min_port, max_port);
}

int gonice_agent_set_relay_info(GoniceAgent *agent, unsigned int stream_id,
                                unsigned int component_id, const char *server_ip,
                                unsigned int server_port, const char *username,
                                const char *password, GoniceRelayType type) {
  FORWARD(set_relay_info, agent, stream_id, component_id, (char *)server_ip, server_port,
          (char *)username, (char *)password, (int)type);
}
int gonice_agent_forget_relays(GoniceAgent *agent, unsigned int stream_id,
                               unsigned int component_id) {
  FORWARD(forget_relays, agent, stream_id, component_id);
}
int gonice_agent_set_stream_tos(GoniceAgent *agent, unsigned int stream_id, int tos) {
  FORWARD(set_stream_tos, agent, stream_id, tos);
}

int gonice_agent_gather_candidates(GoniceAgent *agent, unsigned int stream_id) {
  FORWARD(gather, agent, stream_id);
}

/* ------------------------------------------------------------------------ */
/* Credentials and candidates                                                */
/* ------------------------------------------------------------------------ */

int gonice_agent_get_local_credentials(GoniceAgent *agent, unsigned int stream_id,
                                       char **ufrag_out, char **pwd_out) {
  REQUIRE(ufrag_out != NULL && pwd_out != NULL, "ufrag_out or pwd_out is NULL");
  *ufrag_out = NULL;
  *pwd_out = NULL;
  FORWARD(get_local_credentials, agent, stream_id, ufrag_out, pwd_out);
}
int gonice_agent_set_local_credentials(GoniceAgent *agent, unsigned int stream_id,
                                       const char *ufrag, const char *pwd) {
  FORWARD(set_credentials, agent, stream_id, 0, (char *)ufrag, (char *)pwd);
}
int gonice_agent_set_remote_credentials(GoniceAgent *agent, unsigned int stream_id,
                                        const char *ufrag, const char *pwd) {
  FORWARD(set_credentials, agent, stream_id, 1, (char *)ufrag, (char *)pwd);
}
int gonice_agent_get_local_candidates(GoniceAgent *agent, unsigned int stream_id,
                                      unsigned int component_id, GoniceCandidate **cands_out) {
  REQUIRE(cands_out != NULL, "cands_out is NULL");
  *cands_out = NULL;
  FORWARD(get_candidates, agent, stream_id, component_id, 0, cands_out);
}
int gonice_agent_get_remote_candidates(GoniceAgent *agent, unsigned int stream_id,
                                       unsigned int component_id, GoniceCandidate **cands_out) {
  REQUIRE(cands_out != NULL, "cands_out is NULL");
  *cands_out = NULL;
  FORWARD(get_candidates, agent, stream_id, component_id, 1, cands_out);
}
int gonice_agent_set_remote_candidates(GoniceAgent *agent, unsigned int stream_id,
                                       unsigned int component_id, const GoniceCandidate *cands,
                                       size_t n) {
  REQUIRE(cands != NULL || n == 0, "cands is NULL");
  FORWARD(set_remote_candidates, agent, stream_id, component_id, (GoniceCandidate *)cands, n);
}
int gonice_agent_peer_candidate_gathering_done(GoniceAgent *agent, unsigned int stream_id) {
  FORWARD(peer_gathering_done, agent, stream_id);
}
int gonice_agent_restart(GoniceAgent *agent) { FORWARD(restart, agent, 1, 0u); }
int gonice_agent_restart_stream(GoniceAgent *agent, unsigned int stream_id) {
  FORWARD(restart, agent, 0, stream_id);
}
int gonice_agent_get_selected_pair(GoniceAgent *agent, unsigned int stream_id,
                                   unsigned int component_id, GoniceCandidate *local_out,
                                   GoniceCandidate *remote_out) {
  REQUIRE(local_out != NULL && remote_out != NULL, "local_out or remote_out is NULL");
  FORWARD(get_selected_pair, agent, stream_id, component_id, local_out, remote_out);
}
int gonice_agent_get_component_state(GoniceAgent *agent, unsigned int stream_id,
                                     unsigned int component_id) {
  FORWARD(get_component_state, agent, stream_id, component_id);
}
int gonice_agent_consent_lost(GoniceAgent *agent, unsigned int stream_id,
                              unsigned int component_id) {
  FORWARD(consent_lost, agent, stream_id, component_id);
}
int gonice_agent_set_stream_name(GoniceAgent *agent, unsigned int stream_id, const char *name) {
  REQUIRE(name != NULL, "name is NULL");
  FORWARD(set_stream_name, agent, stream_id, (char *)name);
}
int gonice_agent_get_stream_name(GoniceAgent *agent, unsigned int stream_id, char **name_out) {
  REQUIRE(name_out != NULL, "name_out is NULL");
  *name_out = NULL;
  FORWARD(get_stream_name, agent, stream_id, name_out);
}

/* ------------------------------------------------------------------------ */
/* SDP                                                                       */
/* ------------------------------------------------------------------------ */

int gonice_agent_generate_local_sdp(GoniceAgent *agent, char **sdp_out) {
  REQUIRE(sdp_out != NULL, "sdp_out is NULL");
  *sdp_out = NULL;
  FORWARD(generate_sdp, agent, GONICE_SDP_AGENT, 0u, 0, (GoniceCandidate *)NULL, sdp_out);
}
int gonice_agent_generate_local_stream_sdp(GoniceAgent *agent, unsigned int stream_id,
                                           int include_non_ice, char **sdp_out) {
  REQUIRE(sdp_out != NULL, "sdp_out is NULL");
  *sdp_out = NULL;
  FORWARD(generate_sdp, agent, GONICE_SDP_STREAM, stream_id, include_non_ice,
          (GoniceCandidate *)NULL, sdp_out);
}
int gonice_agent_generate_local_candidate_sdp(GoniceAgent *agent, const GoniceCandidate *cand,
                                              char **sdp_out) {
  REQUIRE(sdp_out != NULL, "sdp_out is NULL");
  REQUIRE(cand != NULL, "cand is NULL");
  *sdp_out = NULL;
  FORWARD(generate_sdp, agent, GONICE_SDP_CANDIDATE, 0u, 0, (GoniceCandidate *)cand, sdp_out);
}
int gonice_agent_parse_remote_sdp(GoniceAgent *agent, const char *sdp) {
  REQUIRE(sdp != NULL, "sdp is NULL");
  FORWARD(parse_remote_sdp, agent, (char *)sdp);
}
int gonice_agent_parse_remote_stream_sdp(GoniceAgent *agent, unsigned int stream_id,
                                         const char *sdp, char **ufrag_out, char **pwd_out,
                                         GoniceCandidate **cands_out) {
  REQUIRE(sdp != NULL, "sdp is NULL");
  REQUIRE(cands_out != NULL, "cands_out is NULL");
  *cands_out = NULL;
  if (ufrag_out != NULL)
    *ufrag_out = NULL;
  if (pwd_out != NULL)
    *pwd_out = NULL;
  FORWARD(parse_remote_stream_sdp, agent, stream_id, (char *)sdp, ufrag_out, pwd_out, cands_out);
}
int gonice_agent_parse_remote_candidate_sdp(GoniceAgent *agent, unsigned int stream_id,
                                            const char *sdp, GoniceCandidate **cand_out) {
  REQUIRE(sdp != NULL, "sdp is NULL");
  REQUIRE(cand_out != NULL, "cand_out is NULL");
  *cand_out = NULL;
  FORWARD(parse_remote_candidate_sdp, agent, stream_id, (char *)sdp, cand_out);
}

/* ------------------------------------------------------------------------ */
/* Data                                                                      */
/* ------------------------------------------------------------------------ */

int gonice_agent_send(GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
                      unsigned int len, const void *buf) {
  REQUIRE(buf != NULL || len == 0, "buf is NULL");
  FORWARD(send, agent, stream_id, component_id, len, (void *)buf);
}
int gonice_agent_send_messages_nonblocking(GoniceAgent *agent, unsigned int stream_id,
                                           unsigned int component_id,
                                           const GoniceOutputMessage *messages,
                                           unsigned int n_messages) {
  REQUIRE(messages != NULL || n_messages == 0, "messages is NULL");
  FORWARD(send_messages, agent, stream_id, component_id, (GoniceOutputMessage *)messages,
          n_messages);
}
int gonice_agent_attach_recv(GoniceAgent *agent, unsigned int stream_id,
                             unsigned int component_id, gonice_agent_recv_cb func,
                             void *user_data) {
  FORWARD(attach_recv, agent, stream_id, component_id, (void *)func, user_data);
}
int gonice_agent_recv(GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
                      void *buf, size_t buf_len) {
  REQUIRE(buf != NULL, "buf is NULL");
  FORWARD(recv, agent, stream_id, component_id, buf, buf_len);
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                   */
/* ------------------------------------------------------------------------ */

#define CONNECT(name, type, sig)                                                                   \
  int gonice_agent_connect_##name(GoniceAgent *agent, type cb, void *user_data) {                  \
    FORWARD(connect, agent, sig, (void *)cb, user_data);                                           \
  }

CONNECT(candidate_gathering_done, gonice_candidate_gathering_done_cb, GONICE_SIG_GATHERING_DONE)
CONNECT(new_candidate, gonice_new_candidate_cb, GONICE_SIG_NEW_CANDIDATE)
CONNECT(new_candidate_full, gonice_new_candidate_full_cb, GONICE_SIG_NEW_CANDIDATE_FULL)
CONNECT(new_remote_candidate, gonice_new_candidate_cb, GONICE_SIG_NEW_REMOTE_CANDIDATE)
CONNECT(new_remote_candidate_full, gonice_new_candidate_full_cb,
        GONICE_SIG_NEW_REMOTE_CANDIDATE_FULL)
CONNECT(component_state_changed, gonice_component_state_changed_cb, GONICE_SIG_STATE_CHANGED)
CONNECT(new_selected_pair, gonice_new_selected_pair_cb, GONICE_SIG_NEW_SELECTED_PAIR)
CONNECT(new_selected_pair_full, gonice_new_selected_pair_full_cb,
        GONICE_SIG_NEW_SELECTED_PAIR_FULL)
CONNECT(initial_binding_request_received, gonice_initial_binding_request_received_cb,
        GONICE_SIG_INITIAL_BINDING_REQUEST)
CONNECT(streams_removed, gonice_streams_removed_cb, GONICE_SIG_STREAMS_REMOVED)

/* ------------------------------------------------------------------------ */
/* Dispatch mode                                                             */
/* ------------------------------------------------------------------------ */

int gonice_agent_get_fd(GoniceAgent *agent) { FORWARD0(get_fd, agent); }
int gonice_agent_dispatch(GoniceAgent *agent) { FORWARD0(dispatch, agent); }
