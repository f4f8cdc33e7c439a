/* SPDX-License-Identifier: MIT */
/*
 * gonice.h - the C API of gonice, an ICE agent (RFC 8445) with libnice's API.
 *
 * Link with -lgonice (pkg-config gonice, or CMake find_package(gonice) and
 * the target gonice::gonice). C99 or later, or C++.
 * Porting from libnice: docs/porting-from-libnice.md (share/doc/gonice).
 *
 * ============================================================================
 * OVERVIEW
 * ============================================================================
 *
 * A GoniceAgent holds streams, each with numbered components (1 = RTP,
 * 2 = RTCP, as libnice). The application gathers local candidates, sends them
 * and the stream's credentials to the peer by any signalling channel, gives
 * the peer's to gonice_agent_set_remote_credentials() and
 * gonice_agent_set_remote_candidates() (or the SDP functions), and waits for
 * the component to become READY; then gonice_agent_send() and a receive
 * callback (gonice_agent_attach_recv()) move data on the selected pair.
 *
 *     GoniceAgent *agent;
 *     gonice_agent_new(&agent, GONICE_AGENT_OPTION_NONE);
 *     gonice_agent_set_controlling_mode(agent, 1);
 *     gonice_agent_set_stun_server(agent, "192.0.2.1", 3478);
 *     gonice_agent_connect_candidate_gathering_done(agent, on_done, app);
 *     gonice_agent_connect_component_state_changed(agent, on_state, app);
 *     int sid = gonice_agent_add_stream(agent, 1);
 *     gonice_agent_attach_recv(agent, sid, 1, on_recv, app);
 *     gonice_agent_gather_candidates(agent, sid);
 *     ...
 *     gonice_agent_free(agent);
 *
 * ----------------------------------------------------------------------------
 * Return values
 * ----------------------------------------------------------------------------
 * Every function that can fail returns an int: >= 0 is success (0, an id, a
 * count or a length), < 0 is one of the GONICE_E* codes below.
 * gonice_strerror(code) gives static text for a code; gonice_last_error()
 * gives a detail message for the last failed call on the calling thread.
 * NOTE for porting: libnice's gboolean functions return TRUE on success; the
 * gonice twins return 0 on success and a NEGATIVE code on failure, so
 * `if (!nice_agent_x(...))` becomes `if (gonice_agent_x(...) < 0)`.
 *
 * ----------------------------------------------------------------------------
 * Handles
 * ----------------------------------------------------------------------------
 * GoniceAgent * is an opaque handle: an id issued by the library, never a
 * pointer to memory. Ids are never reused, so a handle used after
 * gonice_agent_free() (stale), or a made-up value, gives GONICE_EBADHANDLE;
 * it is never dereferenced and never crashes.
 *
 * ----------------------------------------------------------------------------
 * Ownership
 * ----------------------------------------------------------------------------
 * - Input buffers and strings are borrowed for the duration of the call; the
 *   library copies what it keeps.
 * - Strings and arrays returned through `*_out` parameters are owned by the
 *   caller and freed with gonice_free() (never mixed with another allocator's
 *   free, although today gonice_free() is libc free()).
 * - A GoniceCandidate returned by gonice_candidate_new(), _copy() or
 *   gonice_agent_parse_remote_candidate_sdp() is freed with
 *   gonice_candidate_free().
 * - Everything passed to a callback (candidates, strings, data buffers, id
 *   arrays) is valid only during the callback; copy what you keep.
 *
 * ----------------------------------------------------------------------------
 * Threads and callbacks
 * ----------------------------------------------------------------------------
 * Every gonice_* function may be called from any thread; calls on one agent
 * are serialized internally. Callbacks mirror libnice's signals and its
 * attach_recv function; each takes the agent first and `user_data` last.
 * They are delivered one at a time, in order, in one of two modes chosen at
 * gonice_agent_new():
 *
 *  (a) default ("thread mode"): the library's threads run the callbacks, a
 *      pool shared by all agents and connections. Its size is
 *      GONICE_THREADS (environment variable, set before the first call that
 *      loads the core: 1 to 1024, larger is 1024), else the larger of 4 and
 *      the Go runtime's GOMAXPROCS (the number of CPUs unless set), and
 *      gonice_set_thread_pool_size() changes it; each thread is started
 *      when first needed and kept until the process exits or the pool is
 *      made smaller. An agent's callbacks - signals and received data - run
 *      one at a time, in the order the events happened, each on one of
 *      these threads, not always the same one: thread-local state does not
 *      carry from one callback to the next, but memory does (what a callback
 *      wrote is visible to the agent's next one without a lock of the
 *      application's). Different agents' callbacks run in parallel on
 *      different threads; none runs on an application thread.
 *  (b) dispatch mode (GONICE_AGENT_OPTION_DISPATCH): the agent exposes a
 *      pollable file descriptor (gonice_agent_get_fd()); when it is readable
 *      the application calls gonice_agent_dispatch() on its own thread, which
 *      delivers the pending callbacks AND received data there. This is what
 *      an event-loop server needs (e.g. DTLS/SRTP state touched only by its
 *      loop thread, as Janus does with libnice's GMainContext). Received data
 *      and sends take a path in C there, so that the application's thread
 *      does not enter the Go runtime per packet: data received just before a
 *      signal may be delivered just after it (never data received after a
 *      signal before it), and gonice_agent_send() may queue (see there).
 *
 * Every callback's signature is in the section "Callback types", right
 * after the GoniceAgent handle: gonice_agent_recv_cb (received data),
 * gonice_agent_closed_cb, and one gonice_<signal>_cb per libnice signal
 * (candidate-gathering-done, new-candidate(-full), new-remote-candidate(-full),
 * component-state-changed, new-selected-pair(-full),
 * initial-binding-request-received, streams-removed).
 *
 * A callback may call any gonice_* function, on its own agent or another,
 * including gonice_agent_free() on its own agent (see gonice_agent_free()).
 * Callbacks must not block for long: they hold up the agent's other
 * callbacks. In thread mode a blocked callback also holds one thread of the
 * pool: the other agents' callbacks go on on the other threads, and wait
 * only while every thread of the pool is blocked. A callback that waits for
 * another agent's callback (or for an application thread that waits for
 * one) therefore needs a free thread for that callback: as many such
 * waiting callbacks at once as the pool has threads deadlock (one thread
 * per agent never did; raise the pool's size if the application does this).
 * Data received while a dispatch-mode application does not dispatch is
 * queued up to GONICE_MAX_QUEUED_PACKETS packets per agent, then dropped
 * (as a full socket buffer drops).
 *
 * ----------------------------------------------------------------------------
 * Seeing inside
 * ----------------------------------------------------------------------------
 * GONICE_DEBUG=1 in the environment logs every check, state change,
 * gathering and TURN event to standard error (gonice_set_log_handler() to a
 * callback; docs/logging.md). gonice_agent_get_stats() and
 * gonice_agent_get_stats_json() give per-pair statistics named after W3C
 * RTCIceCandidatePairStats (docs/stats.md).
 *
 * ----------------------------------------------------------------------------
 * Runtime caveats (gonice's core is written in Go)
 * ----------------------------------------------------------------------------
 * - libgonice.so loads its core, libgonice-core.so.0 (installed beside it),
 *   on the first call that needs it; nothing runs at load time. A process may
 *   therefore fork() without exec (a daemon's --daemon) after loading
 *   libgonice, as long as it has made no call that loads the core - calls that
 *   never need it: gonice_version, gonice_strerror, gonice_last_error,
 *   gonice_free, gonice_candidate_new/copy/free,
 *   gonice_component_state_to_string. After the core is loaded, a forked
 *   child must not call gonice_* before exec (the Go runtime's threads are
 *   not copied by fork).
 * - The environment variable GONICE_CORE_PATH, if set, is the path of the
 *   core to load instead.
 * - Once loaded, the process has Go runtime threads and signal handlers:
 *   signal handlers the host installs afterwards must use SA_ONSTACK. Load
 *   only one Go-based shared library per process.
 */
#ifndef GONICE_H
#define GONICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define GONICE_API __declspec(dllimport)
#elif defined(__GNUC__)
#define GONICE_API __attribute__((visibility("default")))
#else
#define GONICE_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */

#define GONICE_VERSION_MAJOR 0
#define GONICE_VERSION_MINOR 1
#define GONICE_VERSION_PATCH 0
/* Evaluates to true when the header is at least version a.b.c. */
#define GONICE_VERSION_CHECK(a, b, c)                                           \
  ((GONICE_VERSION_MAJOR > (a)) ||                                              \
   (GONICE_VERSION_MAJOR == (a) && GONICE_VERSION_MINOR > (b)) ||               \
   (GONICE_VERSION_MAJOR == (a) && GONICE_VERSION_MINOR == (b) &&               \
    GONICE_VERSION_PATCH >= (c)))

/*
 * gonice_version: the version of the library linked at run time.
 * major, minor, patch: out, each may be NULL.
 * Does not load the core. Thread: any.
 * Returns: the version as MAJOR*10000 + MINOR*100 + PATCH (always >= 0).
 */
GONICE_API int gonice_version(int *major, int *minor, int *patch);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

#define GONICE_OK 0           /* success */
#define GONICE_EINVAL (-1)    /* an argument is invalid (NULL, out of range, malformed) */
#define GONICE_EBADHANDLE (-2) /* the agent (connection, mux) handle is NULL, unknown or freed */
#define GONICE_ENOTFOUND (-3) /* no such stream or component (or no usable address) */
#define GONICE_EAGAIN (-4)    /* not possible now: no selected pair yet, consent lost, queue full */
#define GONICE_ECLOSED (-5)   /* the agent was closed (gonice_agent_close_async), the stream removed, or the mux freed */
#define GONICE_ENOMEM (-6)    /* out of memory */
#define GONICE_ERANGE (-7)    /* a caller buffer is too short */
#define GONICE_ENOTSUP (-8)   /* not supported (yet) by gonice */
#define GONICE_EBUSY (-9)     /* too late (agent started, candidates gathered) or already in progress */
#define GONICE_EIO (-10)      /* a socket or system error */
#define GONICE_EINTERNAL (-11) /* a bug in gonice (a recovered panic), or the core could not be loaded */

/*
 * gonice_strerror: static text for a GONICE_* code ("unknown error" for
 * others). Never NULL, never freed. Does not load the core. Thread: any.
 */
GONICE_API const char *gonice_strerror(int code);

/*
 * gonice_last_error: a detail message for the last gonice_* call that failed
 * on the calling thread (thread-local; a successful call leaves it as it
 * was). Never NULL ("" before any failure). Valid until the next gonice_*
 * call on this thread; do not free.
 */
GONICE_API const char *gonice_last_error(void);

/*
 * gonice_free: frees memory the library returned through an *_out parameter
 * (strings, candidate arrays). NULL is ignored. Does not load the core.
 */
GONICE_API void gonice_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Debug logging (docs/logging.md)                                           */
/* ------------------------------------------------------------------------ */

/*
 * The environment variable GONICE_DEBUG switches on a debug log of every
 * connectivity check, state change, gathering, consent and TURN event, as
 * NICE_DEBUG does for libnice: "1" or "all" for every category, or some of
 * "checks,state,gather,turn,consent"; "0" or unset for none. Without a log
 * handler the lines go to standard error. docs/logging.md lists every event
 * and its keys.
 */

/* Levels of a log line (slog's): */
#define GONICE_LOG_DEBUG (-4)
#define GONICE_LOG_INFO 0
#define GONICE_LOG_WARN 4
#define GONICE_LOG_ERROR 8

/*
 * Log handler: level is a GONICE_LOG_*; event the event name
 * ("check.sent"; for warnings a sentence); line the whole event as one
 * key=value line without a time stamp and without a newline, e.g.
 *   level=DEBUG msg=check.sent agent=1 stream=1 component=1 pair=CPL1_R2 ...
 * Both strings are valid only during the call. Calls are never concurrent
 * (one at a time over the process), but come from the library's internal
 * threads, possibly while an agent's state is being changed: the handler
 * must not call gonice_* functions, and should be quick.
 */
typedef void (*gonice_log_cb)(int level, const char *event, const char *line, void *user_data);

/*
 * gonice_set_log_handler: sends the log of agents and connections created
 * from now on to cb instead of standard error (those created before keep
 * theirs). categories: the debug categories, in GONICE_DEBUG's syntax; NULL
 * means GONICE_DEBUG's value if it is set, else "all"; "0" means warnings
 * only. cb NULL removes the handler (GONICE_DEBUG and standard error again).
 * Loads the core. Thread: any.
 * Returns: 0; GONICE_EINVAL (an unknown category name: the handler is not
 * set); GONICE_EINTERNAL (the core could not be loaded).
 */
GONICE_API int gonice_set_log_handler(gonice_log_cb cb, const char *categories, void *user_data);

/* ------------------------------------------------------------------------ */
/* Enums (libnice's numeric values)                                          */
/* ------------------------------------------------------------------------ */

typedef enum GoniceComponentState {
  GONICE_COMPONENT_STATE_DISCONNECTED = 0,
  GONICE_COMPONENT_STATE_GATHERING = 1,
  GONICE_COMPONENT_STATE_CONNECTING = 2,
  GONICE_COMPONENT_STATE_CONNECTED = 3,
  GONICE_COMPONENT_STATE_READY = 4,
  GONICE_COMPONENT_STATE_FAILED = 5,
  GONICE_COMPONENT_STATE_LAST = 6
} GoniceComponentState;

typedef enum GoniceComponentType {
  GONICE_COMPONENT_TYPE_RTP = 1,
  GONICE_COMPONENT_TYPE_RTCP = 2
} GoniceComponentType;

typedef enum GoniceCandidateType {
  GONICE_CANDIDATE_TYPE_HOST = 0,
  GONICE_CANDIDATE_TYPE_SERVER_REFLEXIVE = 1,
  GONICE_CANDIDATE_TYPE_PEER_REFLEXIVE = 2,
  GONICE_CANDIDATE_TYPE_RELAYED = 3
} GoniceCandidateType;

typedef enum GoniceCandidateTransport {
  GONICE_CANDIDATE_TRANSPORT_UDP = 0,
  GONICE_CANDIDATE_TRANSPORT_TCP_ACTIVE = 1,
  GONICE_CANDIDATE_TRANSPORT_TCP_PASSIVE = 2,
  GONICE_CANDIDATE_TRANSPORT_TCP_SO = 3
} GoniceCandidateTransport;

typedef enum GoniceNominationMode {
  GONICE_NOMINATION_MODE_REGULAR = 0,
  GONICE_NOMINATION_MODE_AGGRESSIVE = 1
} GoniceNominationMode;

typedef enum GoniceRelayType {
  GONICE_RELAY_TYPE_TURN_UDP = 0,
  GONICE_RELAY_TYPE_TURN_TCP = 1,
  GONICE_RELAY_TYPE_TURN_TLS = 2
} GoniceRelayType;

/* Options of gonice_agent_new(): libnice's NiceAgentOption bits, plus
 * GONICE_AGENT_OPTION_DISPATCH. */
typedef enum GoniceAgentOption {
  GONICE_AGENT_OPTION_NONE = 0,
  GONICE_AGENT_OPTION_REGULAR_NOMINATION = 1 << 0, /* accepted; regular is gonice's default anyway */
  GONICE_AGENT_OPTION_RELIABLE = 1 << 1,           /* ENOTSUP */
  GONICE_AGENT_OPTION_LITE_MODE = 1 << 2,          /* ICE-lite */
  GONICE_AGENT_OPTION_ICE_TRICKLE = 1 << 3,        /* accepted; trickle is always on */
  GONICE_AGENT_OPTION_SUPPORT_RENOMINATION = 1 << 4, /* renomination: see gonice_agent_renominate */
  GONICE_AGENT_OPTION_CONSENT_FRESHNESS = 1 << 5,  /* accepted; on by default in gonice */
  GONICE_AGENT_OPTION_BYTESTREAM_TCP = 1 << 6,     /* ENOTSUP */
  GONICE_AGENT_OPTION_DISPATCH = 1 << 16           /* dispatch delivery mode (gonice only) */
} GoniceAgentOption;

/* Largest datagram gonice_agent_send() accepts (UDP over IPv4). */
#define GONICE_MAX_DATAGRAM 65507
/* Received packets queued per agent before more are dropped. */
#define GONICE_MAX_QUEUED_PACKETS 8192

/*
 * gonice_component_state_to_string: "disconnected", "gathering",
 * "connecting", "connected", "ready", "failed", or "invalid". Static; does
 * not load the core.
 */
GONICE_API const char *gonice_component_state_to_string(GoniceComponentState state);

/* ------------------------------------------------------------------------ */
/* Candidates                                                                */
/* ------------------------------------------------------------------------ */

/* Text length of an IPv6 address plus NUL (INET6_ADDRSTRLEN). */
#define GONICE_ADDRESS_STRING_LEN 46
/* Longest foundation plus NUL (libnice's NICE_CANDIDATE_MAX_FOUNDATION). */
#define GONICE_CANDIDATE_MAX_FOUNDATION 33

/*
 * GoniceCandidate: an ICE candidate, the useful fields of libnice's
 * NiceCandidate. Addresses are text ("192.0.2.1", "2001:db8::1"; no zone,
 * no brackets) plus a port in host byte order, rather than NiceAddress:
 * print them as they are, fill them with snprintf.
 * base_addr/base_port: the base of a local candidate; for server-reflexive
 * and relayed candidates, the related address (SDP raddr/rport). For remote
 * candidates, whatever the peer sent (may be empty).
 * server_addr/server_port: the server that produced a local candidate: a
 * relayed candidate's TURN server, a server-reflexive candidate's STUN (or
 * TURN) server; empty otherwise and for remote candidates (read them with
 * gonice_candidate_relay_address() and gonice_candidate_stun_server_address()).
 * Allocate with gonice_candidate_new() (the struct may grow at its end in
 * later versions), or use it by value where the API fills a struct.
 */
typedef struct GoniceCandidate {
  GoniceCandidateType type;
  GoniceCandidateTransport transport;
  char addr[GONICE_ADDRESS_STRING_LEN];
  uint16_t port;
  char base_addr[GONICE_ADDRESS_STRING_LEN];
  uint16_t base_port;
  uint32_t priority;
  unsigned int stream_id;
  unsigned int component_id;
  char foundation[GONICE_CANDIDATE_MAX_FOUNDATION];
  char server_addr[GONICE_ADDRESS_STRING_LEN];
  uint16_t server_port;
} GoniceCandidate;

/*
 * gonice_candidate_new: a zeroed candidate of the given type (transport UDP).
 * Caller frees with gonice_candidate_free(). Does not load the core.
 * Returns: the candidate, or NULL if type is not a GoniceCandidateType or
 * memory ran out.
 */
GONICE_API GoniceCandidate *gonice_candidate_new(GoniceCandidateType type);

/* gonice_candidate_copy: a copy of c (NULL gives NULL); free with
 * gonice_candidate_free(). */
GONICE_API GoniceCandidate *gonice_candidate_copy(const GoniceCandidate *c);

/* gonice_candidate_free: frees a candidate from gonice_candidate_new/copy
 * or gonice_agent_parse_remote_candidate_sdp. NULL is ignored. Not for
 * elements of an array (free the array with gonice_free()). */
GONICE_API void gonice_candidate_free(GoniceCandidate *c);

/*
 * gonice_candidate_type_to_string (nice_candidate_type_to_string): "host",
 * "srflx", "prflx", "relay" (SDP's names), or "invalid". Static; does not
 * load the core.
 */
GONICE_API const char *gonice_candidate_type_to_string(GoniceCandidateType type);

/*
 * gonice_candidate_transport_to_string (nice_candidate_transport_to_string):
 * "udp", "tcp-act", "tcp-pass", "tcp-so", or "invalid". Static; does not load
 * the core.
 */
GONICE_API const char *gonice_candidate_transport_to_string(GoniceCandidateTransport transport);

/*
 * gonice_candidate_equal_target (nice_candidate_equal_target): whether a and b
 * have the same transport and the same address and port (addresses compared
 * as addresses: "::ffff:192.0.2.1" equals "192.0.2.1"; an address that does
 * not parse equals only the same text). Does not load the core.
 * Returns: 1 equal, 0 not; GONICE_EINVAL (a or b NULL).
 */
GONICE_API int gonice_candidate_equal_target(const GoniceCandidate *a, const GoniceCandidate *b);

/*
 * gonice_candidate_relay_address (nice_candidate_relay_address): the TURN
 * server a local relayed candidate was allocated on. addr_out (at least
 * GONICE_ADDRESS_STRING_LEN bytes) receives its address, port_out (may be
 * NULL) its port. Does not load the core.
 * Returns: 0; GONICE_EINVAL (c or addr_out NULL, c not relayed);
 * GONICE_ENOTFOUND (no server known: a remote candidate, or one filled by
 * the application).
 * Porting: libnice's returns nothing and needs a relayed candidate.
 */
GONICE_API int gonice_candidate_relay_address(const GoniceCandidate *c, char *addr_out,
                                              uint16_t *port_out);

/*
 * gonice_candidate_stun_server_address (nice_candidate_stun_server_address):
 * the server that reported a local server-reflexive candidate's address (the
 * STUN server, or the TURN server whose allocation revealed it), as
 * gonice_candidate_relay_address(). Does not load the core.
 * Returns: 0 (libnice's TRUE); GONICE_ENOTFOUND (libnice's FALSE: not
 * server-reflexive, or no server known); GONICE_EINVAL (c or addr_out NULL).
 */
GONICE_API int gonice_candidate_stun_server_address(const GoniceCandidate *c, char *addr_out,
                                                    uint16_t *port_out);

/* ------------------------------------------------------------------------ */
/* Library threads (thread mode: OVERVIEW, "Threads and callbacks")          */
/* ------------------------------------------------------------------------ */

/*
 * gonice_set_thread_pool_size: sets the number of threads of the pool that
 * runs thread-mode callbacks (GONICE_THREADS's value, or its default, until
 * then), from 1 to 1024; n = 0 changes nothing. A larger pool starts its
 * threads as callbacks need them; a smaller one ends the threads above n as
 * they become idle (a callback that runs goes on to its end; one of them
 * may stay, asleep, if it was the Go runtime's first thread). Loads the
 * core. Thread: any, callbacks included.
 * Returns: the size before the call (>= 1); GONICE_EINVAL (n > 1024);
 * GONICE_EINTERNAL (the core could not be loaded).
 */
GONICE_API int gonice_set_thread_pool_size(unsigned int n);

/* ------------------------------------------------------------------------ */
/* Agent lifetime                                                            */
/* ------------------------------------------------------------------------ */

typedef struct GoniceAgent GoniceAgent; /* opaque handle, never dereferenced */

/* ------------------------------------------------------------------------ */
/* Callback types (all of an agent's; a connection's are with its functions) */
/* Each takes the agent first and user_data last; everything passed is       */
/* valid only during the call (OVERVIEW, "Threads and callbacks").           */
/* ------------------------------------------------------------------------ */

/* gonice_agent_close_async(): the agent has closed. */
typedef void (*gonice_agent_closed_cb)(GoniceAgent *agent, void *user_data);

/* gonice_agent_attach_recv() (NiceAgentRecvFunc): buf holds len bytes. */
typedef void (*gonice_agent_recv_cb)(GoniceAgent *agent, unsigned int stream_id,
                                     unsigned int component_id, unsigned int len, char *buf,
                                     void *user_data);

/* The signals, set with gonice_agent_connect_<signal> (section "Signals"). */
typedef void (*gonice_candidate_gathering_done_cb)(GoniceAgent *agent, unsigned int stream_id,
                                                   void *user_data);
typedef void (*gonice_new_candidate_cb)(GoniceAgent *agent, unsigned int stream_id,
                                        unsigned int component_id, const char *foundation,
                                        void *user_data);
typedef void (*gonice_new_candidate_full_cb)(GoniceAgent *agent, const GoniceCandidate *cand,
                                             void *user_data);
typedef void (*gonice_component_state_changed_cb)(GoniceAgent *agent, unsigned int stream_id,
                                                  unsigned int component_id,
                                                  GoniceComponentState state, void *user_data);
typedef void (*gonice_new_selected_pair_cb)(GoniceAgent *agent, unsigned int stream_id,
                                            unsigned int component_id, const char *lfoundation,
                                            const char *rfoundation, void *user_data);
typedef void (*gonice_new_selected_pair_full_cb)(GoniceAgent *agent, unsigned int stream_id,
                                                 unsigned int component_id,
                                                 const GoniceCandidate *lcand,
                                                 const GoniceCandidate *rcand, void *user_data);
typedef void (*gonice_initial_binding_request_received_cb)(GoniceAgent *agent,
                                                           unsigned int stream_id,
                                                           void *user_data);
/* stream_ids: n_ids ids, followed by a 0 (as libnice's 0-terminated array). */
typedef void (*gonice_streams_removed_cb)(GoniceAgent *agent, const unsigned int *stream_ids,
                                          unsigned int n_ids, void *user_data);


/*
 * gonice_agent_new: creates an agent.
 * out: receives the handle (set to NULL on failure).
 * options: GoniceAgentOption bits; GONICE_AGENT_OPTION_DISPATCH selects
 *   dispatch delivery (see OVERVIEW), otherwise thread mode (the library's
 *   pool of threads).
 * The agent starts (its ICE machinery is created with the configured
 * properties) on the first call that is not a property setter/getter or a
 * gonice_agent_connect_*; set properties before.
 * Ownership: free with gonice_agent_free().
 * Returns: 0; GONICE_EINVAL (out NULL, unknown option bits), GONICE_ENOTSUP
 * (RELIABLE, BYTESTREAM_TCP), GONICE_EINTERNAL (the core
 * could not be loaded: see gonice_last_error()).
 */
GONICE_API int gonice_agent_new(GoniceAgent **out, unsigned int options);

/*
 * gonice_agent_free: closes the agent (sockets, checks) and releases its
 * handle, which becomes invalid at once (GONICE_EBADHANDLE afterwards).
 * From any other thread than the one running the agent's current callback
 * it waits until that callback has returned: no callback of this agent
 * runs after it returns. Called from one of the agent's own
 * callbacks, it does not wait for that callback; the callback continues,
 * later gonice_* calls on the handle give GONICE_EBADHANDLE, and no further
 * callback of the agent is delivered (pending ones are discarded).
 * In dispatch mode the fd from gonice_agent_get_fd() is closed: stop polling
 * it first (or in the same loop iteration). Do not free a dispatch-mode
 * agent from another thread while gonice_agent_dispatch() runs on it.
 * Returns: 0; GONICE_EBADHANDLE (NULL, unknown or already freed: a double
 * free is reported, not a crash).
 */
GONICE_API int gonice_agent_free(GoniceAgent *agent);

/*
 * gonice_agent_close_async: closes the agent in the background (like
 * nice_agent_close_async) and then calls cb(agent, user_data) as a callback
 * of the agent (on a library thread, or in gonice_agent_dispatch() in
 * dispatch mode). The handle stays valid: free it with gonice_agent_free(), typically
 * from cb. Afterwards, calls on the agent give GONICE_ECLOSED.
 * cb may be NULL. Returns: 0; GONICE_EBADHANDLE; GONICE_EBUSY (already closing).
 */
GONICE_API int gonice_agent_close_async(GoniceAgent *agent, gonice_agent_closed_cb cb,
                                        void *user_data);

/* ------------------------------------------------------------------------ */
/* Properties: libnice's, as typed setters (docs/porting-from-libnice.md)    */
/* Unless said otherwise: only before the agent starts; returns 0,           */
/* GONICE_EBADHANDLE, GONICE_EINVAL (value out of range), GONICE_EBUSY       */
/* (the agent has started).                                                 */
/* ------------------------------------------------------------------------ */

/* controlling-mode: 0 controlled (gonice's default), 1 controlling. May be
 * called at any time (no EBUSY); while checks run it applies at the next
 * restart. An ICE-lite agent is always controlled. */
GONICE_API int gonice_agent_set_controlling_mode(GoniceAgent *agent, int controlling);
/* Returns: 1 controlling, 0 controlled (the current role, which role-conflict
 * resolution may change), or GONICE_EBADHANDLE / GONICE_ECLOSED. */
GONICE_API int gonice_agent_get_controlling_mode(GoniceAgent *agent);
/* nomination-mode: GONICE_NOMINATION_MODE_REGULAR (default) or AGGRESSIVE. */
GONICE_API int gonice_agent_set_nomination_mode(GoniceAgent *agent, GoniceNominationMode mode);
/* stun-server + stun-server-port: ip is an IPv4/IPv6 literal; port 0 means
 * 3478. ip NULL or "" removes the server. */
GONICE_API int gonice_agent_set_stun_server(GoniceAgent *agent, const char *ip, unsigned int port);
/* full-mode = !lite: an ICE-lite agent gathers host candidates only, never
 * sends checks and is always controlled. */
GONICE_API int gonice_agent_set_ice_lite(GoniceAgent *agent, int lite);
/* consent-freshness (RFC 7675): 1 on (gonice's default), 0 off. */
GONICE_API int gonice_agent_set_consent_freshness(GoniceAgent *agent, int enabled);
/* support-renomination: 1 on, 0 off (the default); as
 * GONICE_AGENT_OPTION_SUPPORT_RENOMINATION (see gonice_agent_renominate). */
GONICE_API int gonice_agent_set_renomination(GoniceAgent *agent, int enabled);
/* keepalive-conncheck: keepalives as Binding requests (1) or indications (0). */
GONICE_API int gonice_agent_set_keepalive_conncheck(GoniceAgent *agent, int enabled);
/* ice-udp: 1 gathers and uses UDP candidates (the default, as libnice's),
 * 0 turns them off: then only ICE-TCP candidates are gathered (see
 * gonice_agent_set_ice_tcp), none with ice-tcp off too. Any nonzero enabled
 * turns it on. */
GONICE_API int gonice_agent_set_ice_udp(GoniceAgent *agent, int enabled);
/* ice-tcp: 1 gathers and uses ICE-TCP (RFC 6544) host candidates: per local
 * address one with transport GONICE_CANDIDATE_TRANSPORT_TCP_PASSIVE (a
 * listening port) and one TCP_ACTIVE (port 0; 9 in SDP), none active for an
 * ICE-lite agent, with libnice's priorities, below UDP's. A local active
 * candidate connects to the peer's passive ones, the peer's active ones
 * connect to ours; checks and data then go over the connection, framed as
 * RFC 4571 says, and gonice_agent_send() on a TCP pair never blocks: what
 * the kernel does not take waits in a backlog of at most 256 KiB per
 * connection, beyond which the datagram is dropped and the send fails
 * (GONICE_EAGAIN, as a full UDP socket buffer). No server-reflexive or
 * relayed TCP candidates (TURN over TCP is gonice_agent_set_relay_info's
 * GONICE_RELAY_TYPE_TURN_TCP, a separate thing); simultaneous-open ones with
 * gonice_agent_set_tcp_simultaneous_open. Remote TCP candidates are paired only with ice-tcp on.
 * Default 0 (off) in gonice's C API; libnice's ice-tcp defaults to TRUE
 * (the libnice drop-in keeps libnice's default). Any nonzero enabled turns
 * it on. Any thread; before start only (GONICE_EBUSY afterwards); returns 0,
 * GONICE_EBADHANDLE, GONICE_EBUSY. */
GONICE_API int gonice_agent_set_ice_tcp(GoniceAgent *agent, int enabled);
/* TCP simultaneous open (gonice only; Go: Config.TCPSimultaneousOpen): with
 * ice-tcp on, also a GONICE_CANDIDATE_TRANSPORT_TCP_SO candidate per local
 * address (RFC 6544 §4.1: a port that listens and that checks connect from,
 * both agents at once, so that the attempts cross NATs that keep a port's
 * mapping for every destination), and with a STUN server its
 * server-reflexive twin, learned by a STUN Binding over TCP to the same
 * address. libnice, pion/ice and browsers gather none, so only such peers
 * pair with them. Linux (amd64, arm64) only; elsewhere none is gathered.
 * Default 0 (off). Any nonzero enabled turns it on. Any thread; before start
 * only (GONICE_EBUSY afterwards); returns 0, GONICE_EBADHANDLE, GONICE_EBUSY. */
GONICE_API int gonice_agent_set_tcp_simultaneous_open(GoniceAgent *agent, int enabled);
/* stun-pacing-timer: Ta in ms, 1..60000 (default 20). */
GONICE_API int gonice_agent_set_ta(GoniceAgent *agent, unsigned int ms);
/* max-connectivity-checks: 1..100000 (default 100). */
GONICE_API int gonice_agent_set_max_checks(GoniceAgent *agent, unsigned int n);
/* stun-initial-timeout: first STUN retransmission timeout, 20..9999 ms (default 500). */
GONICE_API int gonice_agent_set_stun_initial_timeout(GoniceAgent *agent, unsigned int ms);
/* stun-max-retransmissions: 1..99 (default 3). */
GONICE_API int gonice_agent_set_stun_max_retransmissions(GoniceAgent *agent, unsigned int n);
/* idle-timeout: 50..60000 ms (default 5000). */
GONICE_API int gonice_agent_set_idle_timeout(GoniceAgent *agent, unsigned int ms);
/* Keepalive interval (Tr) in ms, 1000..600000 (default 25000). gonice only. */
GONICE_API int gonice_agent_set_keepalive_interval(GoniceAgent *agent, unsigned int ms);
/* Consent freshness (RFC 7675) timing, gonice only: a consent check every
 * interval ms on average (randomized 0.8-1.2 times; 100..60000, default
 * 5000), and consent lost, the component FAILED (or moved to another pair
 * whose check succeeded within the timeout), timeout ms after the last
 * answer (500..600000, default 30000). A shorter timeout detects a dead path
 * sooner; RFC 7675 asks for 30 s between browsers. */
GONICE_API int gonice_agent_set_consent_interval(GoniceAgent *agent, unsigned int ms);
GONICE_API int gonice_agent_set_consent_timeout(GoniceAgent *agent, unsigned int ms);
/* force-relay: 1 uses TURN relays only: only relayed local candidates are
 * signalled, listed, put in SDP and checked; no server-reflexive discovery;
 * packets reaching a host socket other than from a TURN server are dropped.
 * Remote candidates of every type are still reached through the relays.
 * Unlike the other properties it may be set while the agent runs (libnice's
 * force-relay is writable; Janus sets it after gathering): pairs of other
 * local candidates then fail, candidates already signalled stay signalled.
 * Any nonzero force turns it on. */
GONICE_API int gonice_agent_set_force_relay(GoniceAgent *agent, int force);
/* nice_agent_set_software: the STUN SOFTWARE attribute (at most 127 bytes;
 * NULL or "" for none). Before start only: afterwards GONICE_ENOTSUP (the Go
 * agent fixes it at creation). */
GONICE_API int gonice_agent_set_software(GoniceAgent *agent, const char *software);

/* ------------------------------------------------------------------------ */
/* Streams, addresses, gathering                                             */
/* ------------------------------------------------------------------------ */

/*
 * gonice_agent_add_local_address: restricts host candidates to the added
 * addresses (without any, every usable interface address except loopback and
 * link-local is used; loopback may be added explicitly).
 * ip: an IPv4 or IPv6 literal (borrowed).
 * Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL (NULL, not an address,
 * unspecified, multicast, more than 64); GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_add_local_address(GoniceAgent *agent, const char *ip);

/*
 * gonice_agent_add_stream: adds a stream of n_components (1..256) components
 * numbered 1..n. Returns: the stream id (>= 1; ids are never reused);
 * GONICE_EBADHANDLE; GONICE_EINVAL (bad count); GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_add_stream(GoniceAgent *agent, unsigned int n_components);

/*
 * gonice_agent_remove_stream: removes a stream and closes its sockets;
 * streams-removed follows. Returns: 0; GONICE_EBADHANDLE; GONICE_ENOTFOUND;
 * GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_remove_stream(GoniceAgent *agent, unsigned int stream_id);

/*
 * gonice_agent_set_port_range: host candidates of the component use a local
 * port in [min_port, max_port] (0, 0: any). Before gathering.
 * Returns: 0; GONICE_EBADHANDLE; GONICE_ENOTFOUND; GONICE_EINVAL (min > max,
 * one of them 0, > 65535); GONICE_EBUSY (already gathered); GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_set_port_range(GoniceAgent *agent, unsigned int stream_id,
                                           unsigned int component_id, unsigned int min_port,
                                           unsigned int max_port);

/*
 * gonice_agent_set_relay_info: adds a TURN server to a component, as
 * nice_agent_set_relay_info. gather_candidates then makes an allocation on it
 * from every host address of the server's family and signals a relayed
 * candidate for each (over UDP also the server-reflexive candidate the
 * allocation reveals, if STUN did not find it already). Up to 8 servers per
 * component; their order gives the candidates' priority. An ICE-lite agent
 * makes no allocation. Allocations that fail do not fail gathering (it
 * completes without them); allocations are released on remove_stream and
 * when the agent closes.
 * server_ip: an IPv4/IPv6 literal (borrowed; no host names, as libnice);
 * server_port: 1..65535; username, password: the long-term credentials
 * (borrowed, never logged); type: GONICE_RELAY_TYPE_TURN_UDP, _TCP (one
 * connection per allocation) or _TLS. Unlike libnice's TURN_TLS, _TLS is real
 * TLS verified against the system's roots with server_ip as the name to
 * verify (so the certificate must carry that IP address).
 * Before gathering the stream.
 * Returns: 0; GONICE_EBADHANDLE; GONICE_ENOTFOUND (no such stream or
 * component); GONICE_EINVAL (NULL or malformed server_ip/username/password,
 * an unspecified or multicast address, port 0 or > 65535, unknown type, a
 * 9th server); GONICE_EBUSY (the stream is already gathering/gathered);
 * GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_set_relay_info(GoniceAgent *agent, unsigned int stream_id,
                                           unsigned int component_id, const char *server_ip,
                                           unsigned int server_port, const char *username,
                                           const char *password, GoniceRelayType type);

/* gonice_agent_forget_relays: drops the TURN servers set on a component, as
 * nice_agent_forget_relays (allocations already made are kept until the
 * stream is removed or the agent closes). Returns: 0; GONICE_EBADHANDLE;
 * GONICE_ENOTFOUND; GONICE_ECLOSED. */
GONICE_API int gonice_agent_forget_relays(GoniceAgent *agent, unsigned int stream_id,
                                          unsigned int component_id);

/* Why a TURN allocation failed (GoniceRelayError.reason). */
typedef enum GoniceRelayErrorReason {
  GONICE_RELAY_ERROR_OTHER = 0,        /* refused for another reason: see message */
  GONICE_RELAY_ERROR_UNAUTHORIZED = 1, /* the server refused the credentials */
  GONICE_RELAY_ERROR_TIMEOUT = 2,      /* no answer in time (the gathering timeout) */
  GONICE_RELAY_ERROR_LOST = 3,         /* an allocation made earlier is gone (the server
                                          restarted or dropped it, or its address answers
                                          with ICMP errors); the agent allocates again and
                                          signals the new relayed candidate */
  GONICE_RELAY_ERROR_UNREACHABLE = 4   /* the server's address answered the request with an
                                          ICMP error (port or host unreachable, Linux), so
                                          it failed at once, not at its timeout */
} GoniceRelayErrorReason;

/* Length of GoniceRelayError.message, NUL included. */
#define GONICE_RELAY_ERROR_MESSAGE_LEN 256

/*
 * GoniceRelayError: a TURN allocation that failed or was lost (Go's
 * nice.RelayError). server_addr/server_port: the server as given to
 * gonice_agent_set_relay_info; local_addr/local_port: the host socket it was
 * made from (for TCP/TLS, its address); message: the whole error as text,
 * cut to fit and NUL-terminated.
 */
typedef struct GoniceRelayError {
  unsigned int component_id;
  char server_addr[GONICE_ADDRESS_STRING_LEN];
  uint16_t server_port;
  GoniceRelayType type;
  char local_addr[GONICE_ADDRESS_STRING_LEN];
  uint16_t local_port;
  GoniceRelayErrorReason reason;
  char message[GONICE_RELAY_ERROR_MESSAGE_LEN];
} GoniceRelayError;

/*
 * gonice_agent_get_relay_errors: the TURN allocations of the stream that
 * failed while gathering, and those lost later (GONICE_RELAY_ERROR_LOST), in
 * the order they failed (nice_agent has no such call; Go: Agent.RelayErrors).
 * Gathering completes whether or not allocations fail, so call it from the
 * candidate-gathering-done callback, or after a component went FAILED on a
 * relayed pair.
 * errors_out: receives an array of the returned count (NULL when 0), which
 * the caller frees with one gonice_free().
 * Returns: the count (>= 0); GONICE_EBADHANDLE; GONICE_EINVAL (NULL out);
 * GONICE_ENOTFOUND (no such stream); GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_get_relay_errors(GoniceAgent *agent, unsigned int stream_id,
                                             GoniceRelayError **errors_out);

/* gonice_agent_set_stream_tos: sets the IP TOS byte (IPv4) or traffic class
 * (IPv6), 0..255, of the stream's sockets, those open now and those that
 * gathering opens later, as nice_agent_set_stream_tos (e.g. 0xb8, DSCP EF).
 * Returns: 0; GONICE_EBADHANDLE; GONICE_ENOTFOUND (stream); GONICE_EINVAL
 * (tos outside 0..255); GONICE_EIO (the kernel refused); GONICE_ECLOSED. */
GONICE_API int gonice_agent_set_stream_tos(GoniceAgent *agent, unsigned int stream_id, int tos);

/*
 * gonice_agent_gather_candidates: opens the stream's sockets and gathers:
 * host candidates at once, server-reflexive from the STUN server, relayed
 * from the TURN servers (gonice_agent_set_relay_info);
 * new-candidate(-full) per candidate, then candidate-gathering-done (all as
 * callbacks, after this returns or concurrently). When it returns, the
 * signals of the host candidates (and candidate-gathering-done when there
 * is no STUN or TURN server to wait for) are queued: in dispatch mode the
 * next gonice_agent_dispatch() delivers them, as libnice emits them inside
 * nice_agent_gather_candidates. A second call is a no-op.
 * Returns: 0; GONICE_EBADHANDLE; GONICE_ENOTFOUND (no such stream, or no
 * usable local address/port); GONICE_ECLOSED (also: a mux of the agent was
 * freed); GONICE_EBUSY (the local ufrag set for a mux was taken meanwhile).
 */
GONICE_API int gonice_agent_gather_candidates(GoniceAgent *agent, unsigned int stream_id);

/* ------------------------------------------------------------------------ */
/* Credentials and candidates                                                */
/* ------------------------------------------------------------------------ */

/*
 * gonice_agent_get_local_credentials: the stream's ufrag and password.
 * ufrag_out, pwd_out: receive NUL-terminated strings the caller frees with
 * gonice_free(). Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL (NULL out);
 * GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_get_local_credentials(GoniceAgent *agent, unsigned int stream_id,
                                                  char **ufrag_out, char **pwd_out);

/*
 * gonice_agent_set_local_credentials / set_remote_credentials: ufrag and pwd
 * are 1..256 ice-chars ([A-Za-z0-9+/]). Setting remote credentials starts
 * the checks that waited for them.
 * Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL; GONICE_ENOTFOUND; GONICE_ECLOSED;
 * GONICE_EBUSY (a local ufrag another agent on one of the agent's muxes has:
 * gonice_agent_add_mux).
 */
GONICE_API int gonice_agent_set_local_credentials(GoniceAgent *agent, unsigned int stream_id,
                                                  const char *ufrag, const char *pwd);
GONICE_API int gonice_agent_set_remote_credentials(GoniceAgent *agent, unsigned int stream_id,
                                                   const char *ufrag, const char *pwd);

/*
 * gonice_agent_get_local_candidates / get_remote_candidates: copies of the
 * component's candidates, in a stable order.
 * cands_out: receives an array of the returned count (NULL when 0), which the
 * caller frees with one gonice_free().
 * Returns: the count (>= 0); GONICE_EBADHANDLE; GONICE_EINVAL (NULL out);
 * GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_get_local_candidates(GoniceAgent *agent, unsigned int stream_id,
                                                 unsigned int component_id,
                                                 GoniceCandidate **cands_out);
GONICE_API int gonice_agent_get_remote_candidates(GoniceAgent *agent, unsigned int stream_id,
                                                  unsigned int component_id,
                                                  GoniceCandidate **cands_out);

/*
 * gonice_agent_set_remote_candidates: adds n remote candidates (borrowed,
 * copied) to a component, at any time (trickle). stream_id/component_id of
 * the structs are ignored. Each needs an address, port, a valid type and
 * transport, a priority > 0 and a foundation of at most 32 bytes.
 * Returns: the number added or updated (>= 0); GONICE_EBADHANDLE;
 * GONICE_EINVAL (cands NULL with n > 0, a bad candidate, n > 100000);
 * GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_set_remote_candidates(GoniceAgent *agent, unsigned int stream_id,
                                                  unsigned int component_id,
                                                  const GoniceCandidate *cands, size_t n);

/*
 * gonice_agent_peer_candidate_gathering_done: the peer sent all its
 * candidates (end-of-candidates); a component whose pairs all failed then
 * fails at once. Returns: 0; GONICE_EBADHANDLE; GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_peer_candidate_gathering_done(GoniceAgent *agent,
                                                          unsigned int stream_id);

/*
 * gonice_agent_regather: after a local address was added to or removed from
 * an interface (gonice does not watch them), brings the stream's sockets in
 * line with the addresses now (those added with add_local_address, or else
 * the interfaces' listed again): the sockets of addresses that are gone are
 * closed and their candidates (host, server-reflexive, peer-reflexive,
 * relayed) withdrawn - no longer listed or paired, a selected pair among
 * them replaced by another valid one or none; new addresses are gathered as
 * by gonice_agent_gather_candidates (new-candidate for each, then
 * candidate-gathering-done again). Give the peer the new candidates by
 * trickle or with an ICE restart. gonice only (Go: Agent.Regather).
 * Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL (the stream has not
 * gathered); GONICE_ENOTFOUND (no such stream, or no usable address left:
 * nothing changed); GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_regather(GoniceAgent *agent, unsigned int stream_id);

/*
 * gonice_agent_restart / restart_stream: ICE restart (new local
 * credentials; remote credentials and candidates cleared; components back to
 * GATHERING). Set the new remote credentials AFTER this call.
 * Returns: 0; GONICE_EBADHANDLE; GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_restart(GoniceAgent *agent);
GONICE_API int gonice_agent_restart_stream(GoniceAgent *agent, unsigned int stream_id);

/*
 * gonice_agent_renominate: on a controlling agent made with
 * GONICE_AGENT_OPTION_SUPPORT_RENOMINATION (libnice's support-renomination;
 * ICE renomination, draft-thatcher-ice-renomination-01, as libwebrtc and
 * pion/ice do it), nominates the pair of the local and remote candidates
 * with these foundations (as nice_agent_set_selected_pair names a pair):
 * a check with USE-CANDIDATE and the next NOMINATION value. When the peer
 * answers, the pair becomes the selected pair on both sides without an ICE
 * restart: new-selected-pair is signalled and the component stays READY. A
 * pair not yet valid is checked first. A controlled agent with the option
 * follows the peer's largest NOMINATION. The option also puts
 * a=ice-options:renomination in the agent's SDP; a remote SDP with
 * a=ice-options but without "renomination" declines it.
 * Returns: 0 (the nomination is sent; its outcome is signalled);
 * GONICE_EBADHANDLE; GONICE_EINVAL (NULL foundation); GONICE_ENOTFOUND (no
 * such stream, component or pair); GONICE_EAGAIN (the agent cannot
 * renominate: option off, controlled, lite, or declined by the peer);
 * GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_renominate(GoniceAgent *agent, unsigned int stream_id,
                                       unsigned int component_id, const char *lfoundation,
                                       const char *rfoundation);

/*
 * gonice_agent_get_selected_pair: the pair data is sent on (CONNECTED or
 * READY). local_out, remote_out: caller-owned structs that are filled.
 * Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL (NULL out); GONICE_ENOTFOUND;
 * GONICE_EAGAIN (no pair selected yet); GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_get_selected_pair(GoniceAgent *agent, unsigned int stream_id,
                                              unsigned int component_id,
                                              GoniceCandidate *local_out,
                                              GoniceCandidate *remote_out);

/*
 * gonice_agent_get_component_state: Returns: the GoniceComponentState
 * (>= 0); GONICE_EBADHANDLE; GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_get_component_state(GoniceAgent *agent, unsigned int stream_id,
                                                unsigned int component_id);

/*
 * gonice_agent_consent_lost: revokes local consent (RFC 7675 §5.2): peer
 * checks get 403, sends fail with GONICE_EAGAIN, the component goes FAILED;
 * a restart restores it. Returns: 0; GONICE_EBADHANDLE; GONICE_ENOTFOUND;
 * GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_consent_lost(GoniceAgent *agent, unsigned int stream_id,
                                         unsigned int component_id);

/* gonice_agent_set_stream_name: the SDP media name ("audio", "video", ...;
 * any token; unique among streams; "" clears). Returns: 0;
 * GONICE_EBADHANDLE; GONICE_EINVAL; GONICE_ENOTFOUND; GONICE_ECLOSED. */
GONICE_API int gonice_agent_set_stream_name(GoniceAgent *agent, unsigned int stream_id,
                                            const char *name);
/* gonice_agent_get_stream_name: name_out receives a string ("" if none) the
 * caller frees with gonice_free(). Returns: 0; GONICE_EBADHANDLE;
 * GONICE_EINVAL; GONICE_ENOTFOUND; GONICE_ECLOSED. */
GONICE_API int gonice_agent_get_stream_name(GoniceAgent *agent, unsigned int stream_id,
                                            char **name_out);

/* ------------------------------------------------------------------------ */
/* SDP (libnice's format, byte for byte)                                     */
/* ------------------------------------------------------------------------ */

/* gonice_agent_generate_local_sdp: every stream's SDP. sdp_out: caller frees
 * with gonice_free(). Returns: the length (>= 0); GONICE_EBADHANDLE;
 * GONICE_EINVAL; GONICE_ECLOSED. */
GONICE_API int gonice_agent_generate_local_sdp(GoniceAgent *agent, char **sdp_out);
/* ..._stream_sdp: one stream; include_non_ice adds m=, c= and a=rtcp lines.
 * Also GONICE_ENOTFOUND. */
GONICE_API int gonice_agent_generate_local_stream_sdp(GoniceAgent *agent, unsigned int stream_id,
                                                      int include_non_ice, char **sdp_out);
/* ..._candidate_sdp: one "a=candidate:" line without newline. */
GONICE_API int gonice_agent_generate_local_candidate_sdp(GoniceAgent *agent,
                                                         const GoniceCandidate *cand,
                                                         char **sdp_out);
/*
 * gonice_agent_parse_remote_sdp: applies a whole remote SDP: the n-th m=
 * section goes to the n-th stream; credentials and candidates are set.
 * Returns: the number of candidates added (>= 0); GONICE_EBADHANDLE;
 * GONICE_EINVAL (NULL, malformed, more sections than streams); GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_parse_remote_sdp(GoniceAgent *agent, const char *sdp);
/*
 * gonice_agent_parse_remote_stream_sdp: parses one stream's SDP without
 * applying it. ufrag_out, pwd_out (each may be NULL): strings to gonice_free
 * ("" when absent). cands_out: array to gonice_free (NULL when 0).
 * Returns: the candidate count (>= 0); GONICE_EBADHANDLE; GONICE_EINVAL;
 * GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_parse_remote_stream_sdp(GoniceAgent *agent, unsigned int stream_id,
                                                    const char *sdp, char **ufrag_out,
                                                    char **pwd_out, GoniceCandidate **cands_out);
/*
 * gonice_agent_parse_remote_candidate_sdp: parses one "a=candidate:" line.
 * cand_out: receives a candidate the caller frees with gonice_candidate_free().
 * Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL; GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_parse_remote_candidate_sdp(GoniceAgent *agent, unsigned int stream_id,
                                                       const char *sdp,
                                                       GoniceCandidate **cand_out);

/* ------------------------------------------------------------------------ */
/* Data                                                                      */
/* ------------------------------------------------------------------------ */

/*
 * gonice_agent_send: sends one datagram of len bytes (buf borrowed) on the
 * selected pair, from the calling thread. Allowed from callbacks.
 * Returns: len; GONICE_EBADHANDLE; GONICE_EINVAL (buf NULL with len > 0,
 * len > GONICE_MAX_DATAGRAM); GONICE_ENOTFOUND; GONICE_EAGAIN (no selected
 * pair yet, or consent lost); GONICE_ECLOSED; GONICE_EIO.
 * In dispatch mode, once a send on the component has succeeded and while it
 * stays CONNECTED or READY, the datagram is copied, queued and sent by a
 * library thread, and len is returned at once (an error then drops it and
 * makes the component's next send synchronous, with its error). Queued
 * datagrams go out before a later synchronous send, gonice_agent_remove_stream,
 * gonice_agent_close_async or gonice_agent_free does its work.
 */
GONICE_API int gonice_agent_send(GoniceAgent *agent, unsigned int stream_id,
                                 unsigned int component_id, unsigned int len, const void *buf);

/* One buffer of a GoniceOutputMessage (GOutputVector). */
typedef struct GoniceOutputVector {
  const void *buffer;
  size_t size;
} GoniceOutputVector;
/* One datagram made of n_buffers buffers (NiceOutputMessage). */
typedef struct GoniceOutputMessage {
  const GoniceOutputVector *buffers;
  int n_buffers;
} GoniceOutputMessage;

/*
 * gonice_agent_send_messages_nonblocking: sends n_messages datagrams.
 * Returns: the number sent (>= 0; fewer than n_messages if one failed after
 * the first); the first message's error code if it failed (as send);
 * GONICE_EINVAL (NULL messages with n > 0, a bad vector, a message longer
 * than GONICE_MAX_DATAGRAM).
 */
GONICE_API int gonice_agent_send_messages_nonblocking(GoniceAgent *agent, unsigned int stream_id,
                                                      unsigned int component_id,
                                                      const GoniceOutputMessage *messages,
                                                      unsigned int n_messages);

/*
 * gonice_agent_attach_recv: sets the component's receive callback (NULL
 * detaches: data then queues for gonice_agent_recv()). The callback runs as
 * described in OVERVIEW (a library thread, or gonice_agent_dispatch()).
 * Returns: 0; GONICE_EBADHANDLE; GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_attach_recv(GoniceAgent *agent, unsigned int stream_id,
                                        unsigned int component_id, gonice_agent_recv_cb func,
                                        void *user_data);

/*
 * gonice_agent_recv: blocks until a datagram arrives on a component with no
 * receive callback attached, copies at most buf_len bytes into buf.
 * Returns: the length copied; GONICE_EBADHANDLE; GONICE_EINVAL (buf NULL);
 * GONICE_ENOTFOUND; GONICE_EBUSY (a receive callback is attached);
 * GONICE_ECLOSED (agent closed or freed, stream removed - this ends a wait).
 */
GONICE_API int gonice_agent_recv(GoniceAgent *agent, unsigned int stream_id,
                                 unsigned int component_id, void *buf, size_t buf_len);

/* ------------------------------------------------------------------------ */
/* Signals (their callback types: "Callback types", after GoniceAgent)      */
/* Each gonice_agent_connect_* sets one callback (replacing the previous one; */
/* NULL disconnects) with its user_data, delivered as described in OVERVIEW. */
/* Returns: 0; GONICE_EBADHANDLE.                                            */
/* ------------------------------------------------------------------------ */

/* candidate-gathering-done */
GONICE_API int gonice_agent_connect_candidate_gathering_done(
    GoniceAgent *agent, gonice_candidate_gathering_done_cb cb, void *user_data);
/* new-candidate (legacy form: foundation only) */
GONICE_API int gonice_agent_connect_new_candidate(GoniceAgent *agent, gonice_new_candidate_cb cb,
                                                  void *user_data);
/* new-candidate-full */
GONICE_API int gonice_agent_connect_new_candidate_full(GoniceAgent *agent,
                                                       gonice_new_candidate_full_cb cb,
                                                       void *user_data);
/* new-remote-candidate (peer-reflexive remote candidates learned from checks) */
GONICE_API int gonice_agent_connect_new_remote_candidate(GoniceAgent *agent,
                                                         gonice_new_candidate_cb cb,
                                                         void *user_data);
/* new-remote-candidate-full */
GONICE_API int gonice_agent_connect_new_remote_candidate_full(GoniceAgent *agent,
                                                              gonice_new_candidate_full_cb cb,
                                                              void *user_data);
/* component-state-changed */
GONICE_API int gonice_agent_connect_component_state_changed(
    GoniceAgent *agent, gonice_component_state_changed_cb cb, void *user_data);
/* new-selected-pair (legacy form: foundations) */
GONICE_API int gonice_agent_connect_new_selected_pair(GoniceAgent *agent,
                                                      gonice_new_selected_pair_cb cb,
                                                      void *user_data);
/* new-selected-pair-full */
GONICE_API int gonice_agent_connect_new_selected_pair_full(GoniceAgent *agent,
                                                           gonice_new_selected_pair_full_cb cb,
                                                           void *user_data);
/* initial-binding-request-received */
GONICE_API int gonice_agent_connect_initial_binding_request_received(
    GoniceAgent *agent, gonice_initial_binding_request_received_cb cb, void *user_data);
/* streams-removed */
GONICE_API int gonice_agent_connect_streams_removed(GoniceAgent *agent,
                                                    gonice_streams_removed_cb cb,
                                                    void *user_data);

/* ------------------------------------------------------------------------ */
/* Statistics (docs/stats.md): W3C webrtc-stats names                        */
/* ------------------------------------------------------------------------ */

/* Length of a statistics id plus NUL ("CPL12_R34"). */
#define GONICE_STATS_ID_LEN 32

/* A candidate pair's state (RFC 8445 §6.1.2.6). */
typedef enum GonicePairState {
  GONICE_PAIR_STATE_FROZEN = 0,
  GONICE_PAIR_STATE_WAITING = 1,
  GONICE_PAIR_STATE_IN_PROGRESS = 2,
  GONICE_PAIR_STATE_SUCCEEDED = 3,
  GONICE_PAIR_STATE_FAILED = 4
} GonicePairState;

/*
 * GoniceCandidatePairStats: a candidate pair's statistics, after W3C
 * RTCIceCandidatePairStats (docs/stats.md says what each counts). Round-trip
 * times are seconds; time stamps milliseconds since the Unix epoch, 0 before
 * the first packet. Ids: "CP<local>_<remote>", candidates "L<n>", "R<n>".
 */
typedef struct GoniceCandidatePairStats {
  char id[GONICE_STATS_ID_LEN];
  char local_candidate_id[GONICE_STATS_ID_LEN];
  char remote_candidate_id[GONICE_STATS_ID_LEN];
  GonicePairState state;
  int nominated;
  int selected; /* data is sent on it */
  uint64_t priority;
  uint64_t requests_sent;        /* checks sent, retransmissions not included */
  uint64_t retransmissions_sent;
  uint64_t requests_received;    /* checks and consent checks received, authenticated */
  uint64_t responses_sent;
  uint64_t responses_received;
  uint64_t consent_requests_sent;
  double current_round_trip_time; /* seconds; 0 before the first measurement */
  double total_round_trip_time;
  uint64_t round_trip_time_measurements;
  uint64_t packets_sent;
  uint64_t packets_received;
  uint64_t bytes_sent;
  uint64_t bytes_received;
  double last_packet_sent_timestamp;
  double last_packet_received_timestamp;
  GoniceCandidate local;
  GoniceCandidate remote;
} GoniceCandidatePairStats;

/* GoniceComponentStats: a component's state and data totals, after W3C
 * RTCTransportStats. */
typedef struct GoniceComponentStats {
  unsigned int stream_id;
  unsigned int component_id;
  GoniceComponentState state;
  int controlling;                           /* iceRole */
  char selected_pair_id[GONICE_STATS_ID_LEN]; /* "" when none */
  uint64_t selected_candidate_pair_changes;
  uint64_t packets_sent;
  uint64_t packets_received;
  uint64_t bytes_sent;
  uint64_t bytes_received;
} GoniceComponentStats;

/*
 * gonice_agent_get_stats: a component's statistics.
 * component_out (may be NULL): filled with the component's.
 * pairs_out (may be NULL): receives an array of the returned count, one per
 * candidate pair in checklist order (NULL when 0), which the caller frees
 * with one gonice_free().
 * Returns: the number of pairs (>= 0); GONICE_EBADHANDLE; GONICE_ENOTFOUND;
 * GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_get_stats(GoniceAgent *agent, unsigned int stream_id,
                                      unsigned int component_id,
                                      GoniceComponentStats *component_out,
                                      GoniceCandidatePairStats **pairs_out);

/*
 * gonice_agent_get_stats_json: every component of a stream as one JSON
 * object (schema: docs/stats.schema.json, keys named after W3C
 * webrtc-stats). json_out receives a NUL-terminated string the caller frees
 * with gonice_free().
 * Returns: its length (>= 0); GONICE_EBADHANDLE; GONICE_EINVAL (json_out
 * NULL); GONICE_ENOTFOUND; GONICE_ECLOSED.
 */
GONICE_API int gonice_agent_get_stats_json(GoniceAgent *agent, unsigned int stream_id,
                                           char **json_out);

/* ------------------------------------------------------------------------ */
/* Dispatch mode                                                             */
/* ------------------------------------------------------------------------ */

/*
 * gonice_agent_get_fd: the agent's pollable fd (an eventfd, owned by the
 * agent; do not read, write or close it). It is readable (POLLIN) while
 * callbacks are pending; call gonice_agent_dispatch() then.
 * Returns: the fd (>= 0); GONICE_EBADHANDLE; GONICE_EINVAL (the agent is not
 * in dispatch mode).
 */
GONICE_API int gonice_agent_get_fd(GoniceAgent *agent);

/*
 * gonice_agent_dispatch: delivers, on the calling thread and in order, every
 * callback pending when it is called (signals, received data, the
 * close_async callback); never blocks waiting for more.
 * Returns: the number of callbacks delivered (>= 0); GONICE_EBADHANDLE;
 * GONICE_EINVAL (not in dispatch mode); GONICE_EBUSY (a dispatch of this
 * agent is already running: called from one of its callbacks or concurrently
 * from another thread).
 */
GONICE_API int gonice_agent_dispatch(GoniceAgent *agent);

/* ------------------------------------------------------------------------ */
/* Connections (WebRTC: ICE, DTLS-SRTP, SDP offer/answer)                    */
/* ------------------------------------------------------------------------ */

/*
 * A GoniceConnection is one WebRTC peer connection: an agent of its own
 * with one bundled stream (audio and video, opus 111 and VP8 96), DTLS-SRTP
 * keyed over it, and an SDP offer/answer a browser takes, with the events
 * of Licode's erizo WebRtcConnection (numbers and order). It is the Go
 * package nice/webrtc (see its documentation for the event order).
 *
 *     GoniceConnection *conn;
 *     gonice_connection_new(&conn, GONICE_CONNECTION_OPTION_NONE);
 *     gonice_connection_set_event_callback(conn, on_event, app);
 *     gonice_connection_set_rtp_callback(conn, on_rtp, app);
 *     gonice_connection_create_offer(conn, &sdp);   (or the peer's offer:
 *       set_remote_description, then create_answer)
 *     ... send sdp and the CONN_CANDIDATE candidates; apply the answer with
 *     gonice_connection_set_remote_description and the peer's candidates
 *     with gonice_connection_add_remote_candidate; after CONN_READY:
 *     gonice_connection_write_rtp(conn, pkt, len);
 *     gonice_connection_free(conn);
 *
 * Handles, return codes, ownership, threads and callbacks are an agent's
 * (OVERVIEW): GoniceConnection * is an opaque id, never reused (a stale,
 * made-up or agent handle gives GONICE_EBADHANDLE, as a connection handle
 * does to gonice_agent_*); callbacks run one at a time, in order, on the
 * library's pool of threads (shared with the agents, OVERVIEW) or, with
 * GONICE_CONNECTION_OPTION_DISPATCH, in gonice_connection_dispatch() on the
 * application's thread; received
 * packets queue up to GONICE_MAX_QUEUED_PACKETS.
 */
typedef struct GoniceConnection GoniceConnection; /* opaque handle, never dereferenced */

/* Events (erizo's WebRtcConnection numbers). */
#define GONICE_CONN_INITIAL 101        /* created (delivered first, once started) */
#define GONICE_CONN_STARTED 102        /* gathering started */
#define GONICE_CONN_GATHERED 103       /* gathering done (GONICE_CONNECTION_OPTION_NO_TRICKLE only) */
#define GONICE_CONN_READY 104          /* ICE connected and DTLS-SRTP keyed: media may flow */
#define GONICE_CONN_FINISHED 105       /* closed; the last event */
#define GONICE_CONN_CANDIDATE 201      /* a local candidate (trickle only); message: erizo's JSON
                                          {"sdpMid","sdpMLineIndex","candidate"}, the last with
                                          an empty candidate (end of candidates) */
#define GONICE_CONN_SDP 202            /* the local description; message: the SDP */
#define GONICE_CONN_SDP_PROCESSED 203  /* a remote description was applied */
#define GONICE_CONN_FAILED 500         /* ICE or DTLS failed; message: why. Only
                                          GONICE_CONN_FINISHED follows */

/* Options of gonice_connection_new(). */
typedef enum GoniceConnectionOption {
  GONICE_CONNECTION_OPTION_NONE = 0,
  GONICE_CONNECTION_OPTION_NO_TRICKLE = 1 << 0,  /* candidates in the description only: create_offer
                                                    and create_answer return after gathering */
  GONICE_CONNECTION_OPTION_NO_RTCP_MUX = 1 << 1, /* offer RTCP on a second component */
  GONICE_CONNECTION_OPTION_DTLS_SERVER = 1 << 2, /* answer an actpass offer as the DTLS server */
  GONICE_CONNECTION_OPTION_ICE_TCP = 1 << 3,     /* ICE-TCP candidates too (gonice_agent_set_ice_tcp):
                                                    a browser whose UDP is blocked connects over TCP */
  GONICE_CONNECTION_OPTION_DISPATCH = 1 << 16    /* dispatch delivery mode */
} GoniceConnectionOption;

/* Event callback: event is a GONICE_CONN_*; message ("" if none) is valid
 * only during the call. */
typedef void (*gonice_connection_event_cb)(GoniceConnection *conn, int event, const char *message,
                                           void *user_data);
/* RTP or RTCP callback: one decrypted packet of len bytes, valid only during
 * the call. */
typedef void (*gonice_connection_media_cb)(GoniceConnection *conn, const void *buf, size_t len,
                                           void *user_data);

/*
 * gonice_connection_new: creates a connection. Nothing runs until the first
 * create_offer, set_remote_description or create_answer, which starts it and
 * queues GONICE_CONN_INITIAL (so callbacks set before see it).
 * out: receives the handle (set to NULL on failure).
 * options: GoniceConnectionOption bits.
 * Returns: 0; GONICE_EINVAL (out NULL, unknown option bits); GONICE_EIO;
 * GONICE_EINTERNAL.
 */
GONICE_API int gonice_connection_new(GoniceConnection **out, unsigned int options);

/*
 * gonice_connection_free: closes the connection if it is not, stops its
 * callbacks (none runs after it returns, GONICE_CONN_FINISHED included, except
 * the one calling it) and invalidates the handle. May be called from the
 * connection's own callback. Returns: 0; GONICE_EBADHANDLE (NULL, stale,
 * freed twice).
 */
GONICE_API int gonice_connection_free(GoniceConnection *conn);

/*
 * gonice_connection_close: closes the transport and the agent; callbacks go
 * on until GONICE_CONN_FINISHED, delivered last. The handle stays valid
 * until gonice_connection_free(); calls then give GONICE_EBUSY or
 * GONICE_ECLOSED. A second close does nothing.
 * Returns: 0; GONICE_EBADHANDLE.
 */
GONICE_API int gonice_connection_close(GoniceConnection *conn);

/*
 * gonice_connection_add_local_address: gathers on ip ("127.0.0.1", "::1")
 * only (with others added so); the default is every local address. Before
 * the connection starts. Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL (NULL,
 * not an address); GONICE_EBUSY (started or closed).
 */
GONICE_API int gonice_connection_add_local_address(GoniceConnection *conn, const char *ip);

/*
 * gonice_connection_set_ssrc: announces in the description (a=ssrc with a
 * cname, and a=msid) that this side sends kind ("audio" or "video") with
 * ssrc, so that a browser routes those packets to a track without relying
 * on its rules for unsignaled SSRCs; a second call for a kind replaces the
 * first. It announces only: the application writes its RTP with that SSRC.
 * Before the connection starts. Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL
 * (kind NULL or not "audio" or "video"); GONICE_EBUSY (started or closed).
 */
GONICE_API int gonice_connection_set_ssrc(GoniceConnection *conn, const char *kind,
                                          uint32_t ssrc);

/*
 * gonice_connection_set_event_callback, _set_rtp_callback,
 * _set_rtcp_callback: set one callback (replacing the previous one; NULL
 * unsets) with its user_data; delivered as an agent's (OVERVIEW). Any time.
 * Returns: 0; GONICE_EBADHANDLE.
 */
GONICE_API int gonice_connection_set_event_callback(GoniceConnection *conn,
                                                    gonice_connection_event_cb cb,
                                                    void *user_data);
GONICE_API int gonice_connection_set_rtp_callback(GoniceConnection *conn,
                                                  gonice_connection_media_cb cb, void *user_data);
GONICE_API int gonice_connection_set_rtcp_callback(GoniceConnection *conn,
                                                   gonice_connection_media_cb cb, void *user_data);

/*
 * gonice_connection_create_offer: starts gathering and makes the offer (also
 * queued as GONICE_CONN_SDP). With GONICE_CONNECTION_OPTION_NO_TRICKLE it
 * blocks until gathering is done (the candidates are in the SDP).
 * sdp_out: receives the SDP, which the caller frees with gonice_free().
 * Returns: its length (>= 0); GONICE_EBADHANDLE; GONICE_EINVAL (sdp_out
 * NULL); GONICE_EBUSY (an offer or a remote offer was there already, or
 * closed); GONICE_ECLOSED; GONICE_EIO.
 */
GONICE_API int gonice_connection_create_offer(GoniceConnection *conn, char **sdp_out);

/*
 * gonice_connection_set_remote_description: applies the peer's offer
 * (before create_answer) or answer (after create_offer); queues
 * GONICE_CONN_SDP_PROCESSED. sdp is borrowed (at most 1 MiB).
 * Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL (NULL, malformed or unusable
 * SDP: no ICE credentials, no fingerprint, no codec); GONICE_EBUSY (a remote
 * description was set already, or closed); GONICE_ECLOSED; GONICE_EIO.
 */
GONICE_API int gonice_connection_set_remote_description(GoniceConnection *conn, const char *sdp);

/*
 * gonice_connection_create_answer: answers the offer given to
 * set_remote_description and starts gathering (as create_offer).
 * sdp_out: receives the SDP, which the caller frees with gonice_free().
 * Returns: its length (>= 0); GONICE_EBADHANDLE; GONICE_EINVAL (sdp_out
 * NULL, no codec of the offer accepted); GONICE_EBUSY (no remote offer);
 * GONICE_ECLOSED; GONICE_EIO.
 */
GONICE_API int gonice_connection_create_answer(GoniceConnection *conn, char **sdp_out);

/*
 * gonice_connection_add_remote_candidate: a trickled candidate of the peer,
 * "candidate:..." with or without "a=" (the "candidate" of a
 * GONICE_CONN_CANDIDATE message); "" or "end-of-candidates" ends them.
 * After the remote description. candidate is borrowed (at most 1024 bytes).
 * Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL (NULL, malformed);
 * GONICE_EBUSY (no remote description yet); GONICE_ECLOSED; GONICE_EIO (the
 * agent refused it). A TCP candidate is taken, and paired only with
 * GONICE_CONNECTION_OPTION_ICE_TCP.
 */
GONICE_API int gonice_connection_add_remote_candidate(GoniceConnection *conn,
                                                      const char *candidate);

/*
 * gonice_connection_write_rtp, _write_rtcp: protects (SRTP/SRTCP) and sends
 * one packet of len bytes (buf borrowed), from the calling thread; allowed
 * from callbacks. Returns: len; GONICE_EBADHANDLE; GONICE_EINVAL (buf NULL,
 * len 0 or > GONICE_MAX_DATAGRAM, not an RTP/RTCP packet); GONICE_EAGAIN
 * (before GONICE_CONN_READY); GONICE_ECLOSED (closed or failed); GONICE_EIO.
 */
GONICE_API int gonice_connection_write_rtp(GoniceConnection *conn, const void *buf, size_t len);
GONICE_API int gonice_connection_write_rtcp(GoniceConnection *conn, const void *buf, size_t len);

/*
 * gonice_connection_get_fd, gonice_connection_dispatch: dispatch mode
 * (GONICE_CONNECTION_OPTION_DISPATCH), as gonice_agent_get_fd() and
 * gonice_agent_dispatch(): the fd (owned by the connection) is readable
 * while callbacks are pending; dispatch delivers them on the calling thread.
 * Returns: the fd (>= 0) / the number of callbacks delivered (>= 0);
 * GONICE_EBADHANDLE; GONICE_EINVAL (not in dispatch mode); dispatch also
 * GONICE_EBUSY (a dispatch of this connection is running).
 */
GONICE_API int gonice_connection_get_fd(GoniceConnection *conn);
GONICE_API int gonice_connection_dispatch(GoniceConnection *conn);

/* ------------------------------------------------------------------------ */
/* Muxes (server mode: many agents on one UDP port)                          */
/* ------------------------------------------------------------------------ */

/*
 * A GoniceMux is one UDP socket shared by many agents: a media server's one
 * port for all its peers (Go: nice.UDPMux). An agent given the mux with
 * gonice_agent_add_mux() puts component 1 of each of its streams on it: one
 * host candidate, the mux's address, and no socket of its own (other
 * components bind their own sockets, as without a mux). One library thread,
 * the mux's reader, reads the socket in batches and hands each datagram to
 * its agent: a Binding request by the local ufrag in its USERNAME (a
 * stream's local ufrag is unique on a mux), a STUN response by its
 * transaction, anything else by its source address, which must be a
 * remote candidate of the component. A Binding request for a ufrag that no
 * agent has is first shown to the unknown-ufrag callback, which may create
 * the agent it is for: an ICE-lite server needs no signalling before the
 * client's first check.
 * Porting: libnice has no mux (each NiceAgent binds ports of its own), so
 * none of these functions has a libnice twin; libjuice's juice_mux_listen
 * is the nearest thing. docs/porting-from-libnice.md, "gonice only".
 *
 *     GoniceMux *mux;
 *     gonice_mux_new(&mux, "0.0.0.0", 3478, "203.0.113.7");
 *     gonice_mux_set_unknown_ufrag_cb(mux, on_unknown, app);   (ICE-lite)
 *     ... per peer: gonice_agent_new(&agent, ...);
 *     gonice_agent_add_mux(agent, mux);   (before the agent starts)
 *     ... gonice_agent_add_stream, gather, credentials as usual
 *     gonice_agent_free(agent);   (every agent on the mux first)
 *     gonice_mux_free(mux);
 *
 * Handles are an agent's (OVERVIEW): GoniceMux * is an opaque id, never
 * reused; a stale or made-up one, or an agent's or a connection's, gives
 * GONICE_EBADHANDLE (as a mux handle does to gonice_agent_* and
 * gonice_connection_*). Agents on a mux deliver their callbacks as any
 * agent (their library thread, or gonice_agent_dispatch()); their received
 * data is read by the mux's reader, so a receive callback that is slow
 * delays only its own agent's queue, but a reader that cannot keep up
 * delays every agent on the mux.
 */
typedef struct GoniceMux GoniceMux; /* opaque handle, never dereferenced */

/*
 * Unknown-ufrag callback: a Binding request reached the mux for a local
 * ufrag no agent on it has. local_ufrag is the first half of its USERNAME
 * (the ufrag the check is for), remote_ufrag the second (the sender's),
 * from_addr/from_port where it came from ("192.0.2.1"; no brackets). The
 * strings are valid only during the call. Nothing is authenticated: the
 * callback sees every such check, spoofed ones included, and decides which
 * deserve an agent.
 *
 * THREAD: it runs SYNCHRONOUSLY ON THE MUX'S READER THREAD, a library
 * thread, never the application's - also when the agents are in dispatch
 * mode (as libjuice's juice_mux_listen callback). No datagram is read
 * while it runs, for any agent on the mux: it must not block for long.
 * It may call any gonice_* function: if it creates an agent on the mux,
 * gives its stream local_ufrag with gonice_agent_set_local_credentials()
 * and gathers it (gonice_agent_gather_candidates) before it returns, the
 * check is delivered to that agent (an ICE-lite server loses no first
 * check; it is not counted in GoniceMuxStats.unknown_ufrag).
 * gonice_mux_free() of its own mux from inside it does not wait (see
 * there). Calls are one at a time per mux.
 */
typedef void (*gonice_mux_unknown_ufrag_cb)(GoniceMux *mux, const char *local_ufrag,
                                            const char *remote_ufrag, const char *from_addr,
                                            uint16_t from_port, void *user_data);

/*
 * gonice_mux_new: opens a UDP socket on local_address:port and starts its
 * reader thread.
 * out: receives the handle (set to NULL on failure).
 * local_address: an IPv4 or IPv6 literal (borrowed), "0.0.0.0" or "::" for
 * every address of the family. port: 0 for any free port
 * (gonice_mux_get_local_address() tells which), else 1..65535.
 * advertised_address: the address the host candidates of agents on the mux
 * carry, where peers reach the server (a public address, or the one
 * address of a socket bound to all); NULL or "" means local_address, which
 * must then not be unspecified. Same family as local_address. A server
 * with several addresses opens a mux for each.
 * Ownership: free with gonice_mux_free().
 * Returns: 0; GONICE_EINVAL (out or local_address NULL, an address that
 * does not parse, port > 65535, an unspecified local_address without
 * advertised_address, an advertised address of the other family);
 * GONICE_EIO (the socket could not be bound: the port is in use, no such
 * local address); GONICE_EINTERNAL (the core could not be loaded).
 */
GONICE_API int gonice_mux_new(GoniceMux **out, const char *local_address, unsigned int port,
                              const char *advertised_address);

/*
 * gonice_mux_free: closes the mux's socket, waits for its reader thread to
 * finish (an unknown-ufrag callback in progress on it returns first) and
 * invalidates the handle. Free the agents on the mux first: an agent still
 * on it stays valid, but receives nothing more on the mux and its sends
 * there fail with GONICE_ECLOSED ("nice: mux closed"); an agent given the
 * mux that gathers afterwards gets the same.
 * From the mux's own unknown-ufrag callback it does not wait (that would
 * wait for itself): the handle is invalid at once, no further callback
 * runs, and the socket closes as soon as the callback returns.
 * Returns: 0; GONICE_EBADHANDLE (NULL, stale, freed twice, not a mux).
 */
GONICE_API int gonice_mux_free(GoniceMux *mux);

/*
 * gonice_mux_get_local_address: the address and port the host candidates
 * of agents on the mux carry (the advertised address and the bound port).
 * addr_out: at least GONICE_ADDRESS_STRING_LEN bytes, receives the address
 * as text; port_out (may be NULL): the port.
 * Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL (addr_out NULL).
 */
GONICE_API int gonice_mux_get_local_address(GoniceMux *mux, char *addr_out, uint16_t *port_out);

/* GoniceMuxStats: what a mux's reader did (Go: nice.MuxStats). */
typedef struct GoniceMuxStats {
  unsigned int agents;     /* components on the mux (one per stream of each agent) */
  unsigned int routes;     /* remote addresses routed to them */
  uint64_t received;       /* datagrams read */
  uint64_t batches;        /* reads (recvmmsg calls) that returned datagrams */
  uint64_t delivered;      /* datagrams handed to an agent */
  uint64_t unknown_ufrag;  /* Binding requests for a ufrag no agent had, after the
                              unknown-ufrag callback (one it delivered is not counted) */
  uint64_t no_route;       /* other datagrams from an address no agent has */
  uint64_t dropped_closed; /* datagrams for an agent that was closing */
  uint64_t truncated;      /* datagrams larger than the mux's largest (2048 bytes), dropped */
} GoniceMuxStats;

/*
 * gonice_mux_get_stats: fills stats_out with the mux's counters.
 * Returns: 0; GONICE_EBADHANDLE; GONICE_EINVAL (stats_out NULL).
 */
GONICE_API int gonice_mux_get_stats(GoniceMux *mux, GoniceMuxStats *stats_out);

/*
 * gonice_mux_set_unknown_ufrag_cb: sets the unknown-ufrag callback
 * (replacing the previous one; NULL unsets: such checks are then dropped and
 * counted) with its user_data. Any time; a callback in progress finishes
 * with the old one.
 * Returns: 0; GONICE_EBADHANDLE.
 */
GONICE_API int gonice_mux_set_unknown_ufrag_cb(GoniceMux *mux, gonice_mux_unknown_ufrag_cb cb,
                                               void *user_data);

/*
 * gonice_agent_add_mux: component 1 of every stream of the agent goes on
 * mux (the property Go's nice.Config.Muxes; typically one mux per address
 * family, each added once): one host candidate per mux, its address. Host
 * candidates of other local addresses are not gathered for component 1. A
 * stream's local ufrag names it on the mux: a generated one is chosen free;
 * gonice_agent_set_local_credentials() with a ufrag another agent on the
 * mux has gives GONICE_EBUSY, as gathering does when one was taken
 * meanwhile. A component with UDP TURN servers also binds sockets of its
 * own for them (an allocation is one per 5-tuple). The agent keeps no
 * reference: free the agent before the mux (gonice_mux_free).
 * Before the agent starts (as the properties: before its first stream,
 * local address or other call that is not a property setter or a
 * gonice_agent_connect_*).
 * Returns: 0; GONICE_EBADHANDLE (agent or mux NULL, stale or of another
 * kind); GONICE_EINVAL (the mux was added already); GONICE_EBUSY (the
 * agent has started or is closing).
 */
GONICE_API int gonice_agent_add_mux(GoniceAgent *agent, GoniceMux *mux);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GONICE_H */
