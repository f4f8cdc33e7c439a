/* SPDX-License-Identifier: MIT */
/*
 * core_abi.h - the private interface between libgonice.so (the C loader,
 * capi/loader/gonice.c) and libgonice-core.so.0 (the Go core, the Go files of capi).
 *
 * The core exports one symbol, gonice_core_table(), returning a table of
 * function pointers. Every core function takes first `err`, a buffer of
 * GONICE_CORE_ERRLEN bytes owned by the caller (the loader passes its
 * thread-local last-error buffer), which the core fills on failure.
 * Handles cross as uintptr_t. Not installed; not a public API.
 */
#ifndef GONICE_CORE_ABI_H
#define GONICE_CORE_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "gonice.h"

/* Bump when the table changes incompatibly; loader and core must agree. */
#define GONICE_CORE_ABI_VERSION 2
#define GONICE_CORE_ERRLEN 512

/* Integer properties (gonice_core_set_prop_int). */
enum {
  GONICE_PROP_CONTROLLING = 1,
  GONICE_PROP_NOMINATION,
  GONICE_PROP_LITE,
  GONICE_PROP_CONSENT,
  GONICE_PROP_KEEPALIVE_CONNCHECK,
  GONICE_PROP_ICE_UDP,
  GONICE_PROP_TA,
  GONICE_PROP_MAX_CHECKS,
  GONICE_PROP_STUN_INITIAL_TIMEOUT,
  GONICE_PROP_STUN_MAX_RETRANS,
  GONICE_PROP_IDLE_TIMEOUT,
  GONICE_PROP_KEEPALIVE_INTERVAL,
  GONICE_PROP_FORCE_RELAY
};

/* String properties (gonice_core_set_prop_str). */
enum { GONICE_PROP_STUN_SERVER = 1, GONICE_PROP_SOFTWARE };

/* Signals (gonice_core_connect). */
enum {
  GONICE_SIG_GATHERING_DONE = 0,
  GONICE_SIG_NEW_CANDIDATE,
  GONICE_SIG_NEW_CANDIDATE_FULL,
  GONICE_SIG_NEW_REMOTE_CANDIDATE,
  GONICE_SIG_NEW_REMOTE_CANDIDATE_FULL,
  GONICE_SIG_STATE_CHANGED,
  GONICE_SIG_NEW_SELECTED_PAIR,
  GONICE_SIG_NEW_SELECTED_PAIR_FULL,
  GONICE_SIG_INITIAL_BINDING_REQUEST,
  GONICE_SIG_STREAMS_REMOVED,
  GONICE_SIG_COUNT
};

/* SDP generation kinds (gonice_core_generate_sdp). */
enum { GONICE_SDP_AGENT = 0, GONICE_SDP_STREAM, GONICE_SDP_CANDIDATE };

typedef struct GoniceCoreTable {
  unsigned int abi_version;
  size_t size; /* sizeof(GoniceCoreTable) as the core was built */
  int (*agent_new)(char *err, uintptr_t *out, unsigned int options);
  int (*agent_free)(char *err, uintptr_t h);
  int (*agent_close_async)(char *err, uintptr_t h, void *cb, void *user_data);
  int (*set_prop_int)(char *err, uintptr_t h, int prop, long long value);
  int (*set_prop_str)(char *err, uintptr_t h, int prop, char *s, unsigned int port);
  int (*get_controlling)(char *err, uintptr_t h);
  int (*add_local_address)(char *err, uintptr_t h, char *ip);
  int (*add_stream)(char *err, uintptr_t h, unsigned int n);
  int (*remove_stream)(char *err, uintptr_t h, unsigned int sid);
  int (*set_port_range)(char *err, uintptr_t h, unsigned int sid, unsigned int cid,
                        unsigned int min_port, unsigned int max_port);
  int (*gather)(char *err, uintptr_t h, unsigned int sid);
  int (*get_local_credentials)(char *err, uintptr_t h, unsigned int sid, char **ufrag,
                               char **pwd);
  int (*set_credentials)(char *err, uintptr_t h, unsigned int sid, int remote, char *ufrag,
                         char *pwd);
  int (*get_candidates)(char *err, uintptr_t h, unsigned int sid, unsigned int cid, int remote,
                        GoniceCandidate **out);
  int (*set_remote_candidates)(char *err, uintptr_t h, unsigned int sid, unsigned int cid,
                               GoniceCandidate *cands, size_t n);
  int (*peer_gathering_done)(char *err, uintptr_t h, unsigned int sid);
  int (*restart)(char *err, uintptr_t h, int all, unsigned int sid);
  int (*get_selected_pair)(char *err, uintptr_t h, unsigned int sid, unsigned int cid,
                           GoniceCandidate *local, GoniceCandidate *remote);
  int (*get_component_state)(char *err, uintptr_t h, unsigned int sid, unsigned int cid);
  int (*consent_lost)(char *err, uintptr_t h, unsigned int sid, unsigned int cid);
  int (*set_stream_name)(char *err, uintptr_t h, unsigned int sid, char *name);
  int (*get_stream_name)(char *err, uintptr_t h, unsigned int sid, char **out);
  int (*generate_sdp)(char *err, uintptr_t h, int kind, unsigned int sid, int include_non_ice,
                      GoniceCandidate *cand, char **out);
  int (*parse_remote_sdp)(char *err, uintptr_t h, char *sdp);
  int (*parse_remote_stream_sdp)(char *err, uintptr_t h, unsigned int sid, char *sdp,
                                 char **ufrag, char **pwd, GoniceCandidate **cands);
  int (*parse_remote_candidate_sdp)(char *err, uintptr_t h, unsigned int sid, char *sdp,
                                    GoniceCandidate **out);
  int (*send)(char *err, uintptr_t h, unsigned int sid, unsigned int cid, unsigned int len,
              void *buf);
  int (*send_messages)(char *err, uintptr_t h, unsigned int sid, unsigned int cid,
                       GoniceOutputMessage *msgs, unsigned int n);
  int (*attach_recv)(char *err, uintptr_t h, unsigned int sid, unsigned int cid, void *fn,
                     void *user_data);
  int (*recv)(char *err, uintptr_t h, unsigned int sid, unsigned int cid, void *buf,
              size_t len);
  int (*connect)(char *err, uintptr_t h, int signal, void *fn, void *user_data);
  int (*get_fd)(char *err, uintptr_t h);
  int (*dispatch)(char *err, uintptr_t h);
  int (*set_relay_info)(char *err, uintptr_t h, unsigned int sid, unsigned int cid, char *ip,
                        unsigned int port, char *username, char *password, int type);
  int (*forget_relays)(char *err, uintptr_t h, unsigned int sid, unsigned int cid);
  int (*set_stream_tos)(char *err, uintptr_t h, unsigned int sid, int tos);
} GoniceCoreTable;

/* The one symbol the core exports. */
typedef const GoniceCoreTable *(*gonice_core_table_fn)(void);
#define GONICE_CORE_TABLE_SYMBOL "gonice_core_table"

#endif /* GONICE_CORE_ABI_H */
