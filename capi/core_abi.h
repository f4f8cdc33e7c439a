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
#define GONICE_CORE_ABI_VERSION 12 /* 4: gonice_connection_set_ssrc; 5: GoniceCandidate's server_addr, server_port; 6: set_log_handler; 7: stats; 8: renomination; 9: relay errors, consent interval and timeout, regather; 10: muxes; 11: set_thread_pool_size; 12: GONICE_PROP_ICE_TCP, GONICE_PROP_TCP_SO */
#define GONICE_CORE_ERRLEN 512

/* Integer properties (set_prop_int). */
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
  GONICE_PROP_FORCE_RELAY,
  GONICE_PROP_RENOMINATION,
  GONICE_PROP_CONSENT_INTERVAL,
  GONICE_PROP_CONSENT_TIMEOUT,
  GONICE_PROP_ICE_TCP,
  GONICE_PROP_TCP_SO
};

/* String properties (set_prop_str). */
enum { GONICE_PROP_STUN_SERVER = 1, GONICE_PROP_SOFTWARE };

/* Signals (connect). */
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

/* A connection's callbacks (conn_set_callback); capi/connection.go's
 * connEventCB, connRTPCB, connRTCPCB. */
enum { GONICE_CONN_CB_EVENT = 0, GONICE_CONN_CB_RTP, GONICE_CONN_CB_RTCP };

/* SDP generation kinds (generate_sdp). */
enum { GONICE_SDP_AGENT = 0, GONICE_SDP_STREAM, GONICE_SDP_CANDIDATE };

/* The core's table: its entries are the GONICE_CORE lines of functions.h. */
typedef struct GoniceCoreTable {
  unsigned int abi_version;
  size_t size; /* sizeof(GoniceCoreTable) as the core was built */
#define GONICE_CORE(entry, export, params) int(*entry) params;
#include "functions.h"
} GoniceCoreTable;

/* The one symbol the core exports. */
typedef const GoniceCoreTable *(*gonice_core_table_fn)(void);
#define GONICE_CORE_TABLE_SYMBOL "gonice_core_table"

#endif /* GONICE_CORE_ABI_H */
