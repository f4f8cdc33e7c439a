/* SPDX-License-Identifier: MIT */
/*
 * functions.h - the one list of gonice's C functions (an X-macro list; no
 * include guard: it is included once per expansion).
 *
 * An includer defines the macros it expands and includes this file; the
 * others expand to nothing, and all are undefined at its end.
 *   capi/core_abi.h           GONICE_CORE: the fields of GoniceCoreTable
 *   capi/table.c              GONICE_CORE: the core's table of Go functions
 *   capi/loader/gonice.c      GONICE_FN, GONICE_CONN_FN, GONICE_MUX_FN: the public functions
 *                             that forward
 *   tests/c/test_functions.c  GONICE_FN, GONICE_CONN_FN, GONICE_MUX_FN, GONICE_OWN: the names,
 *                             which a test holds equal to gonice.h's and the exports
 *
 * GONICE_CORE(entry, export, (params))
 *   GoniceCoreTable.entry, of type int (*) params, is the Go function export
 *   (an //export of capi/exports.go). params start with char *err, the
 *   caller's last-error buffer of GONICE_CORE_ERRLEN bytes; an agent is
 *   uintptr_t h. The order of these lines is the table's layout: a change
 *   bumps GONICE_CORE_ABI_VERSION.
 * GONICE_FN(name, (params), entry, (args), (checks))
 *   int name params, a function of include/gonice.h whose first parameter
 *   is GoniceAgent *agent: it runs checks, answers GONICE_EBADHANDLE for a
 *   NULL agent, loads the core and returns entry(err, args), where h is the
 *   agent as uintptr_t. checks is a sequence of
 *     NONNULL(p)   p NULL: GONICE_EINVAL "gonice: p is NULL"
 *     OUT(p)       NONNULL(p), then *p = NULL
 *     OPT_OUT(p)   *p = NULL unless p is NULL
 *     ARRAY(p, n)  p NULL with n != 0: GONICE_EINVAL "gonice: p is NULL"
 *   The loader defines name from this line, so params that differ from
 *   gonice.h's prototype are a "conflicting types" compile error.
 * GONICE_CONN_FN(name, (params), entry, (args), (checks))
 *   GONICE_FN for a function whose first parameter is GoniceConnection *conn
 *   (h is the connection as uintptr_t).
 * GONICE_MUX_FN(name, (params), entry, (args), (checks))
 *   GONICE_FN for a function whose first parameter is GoniceMux *mux (h is
 *   the mux as uintptr_t).
 * GONICE_OWN(name)
 *   a function of include/gonice.h written by hand in the loader: it needs
 *   no core, or no handle.
 */
#ifndef GONICE_CORE
#define GONICE_CORE(entry, export, params)
#endif
#ifndef GONICE_FN
#define GONICE_FN(name, params, entry, args, checks)
#endif
#ifndef GONICE_CONN_FN
#define GONICE_CONN_FN(name, params, entry, args, checks)
#endif
#ifndef GONICE_MUX_FN
#define GONICE_MUX_FN(name, params, entry, args, checks)
#endif
#ifndef GONICE_OWN
#define GONICE_OWN(name)
#endif

/* No core needed. */
GONICE_OWN(gonice_version)
GONICE_OWN(gonice_strerror)
GONICE_OWN(gonice_last_error)
GONICE_OWN(gonice_free)
GONICE_OWN(gonice_component_state_to_string)
GONICE_OWN(gonice_candidate_new)
GONICE_OWN(gonice_candidate_copy)
GONICE_OWN(gonice_candidate_free)
GONICE_OWN(gonice_candidate_type_to_string)
GONICE_OWN(gonice_candidate_transport_to_string)
GONICE_OWN(gonice_candidate_equal_target)
GONICE_OWN(gonice_candidate_relay_address)
GONICE_OWN(gonice_candidate_stun_server_address)

/* Logging. */
GONICE_CORE(set_log_handler, goniceCoreSetLogHandler,
            (char *err, void *fn, void *categories, void *ud))
GONICE_OWN(gonice_set_log_handler)

/* The pool of library threads. */
GONICE_CORE(set_thread_pool_size, goniceCoreSetThreadPoolSize, (char *err, unsigned int n))
GONICE_OWN(gonice_set_thread_pool_size)

/* Agent lifetime. */
GONICE_CORE(agent_new, goniceCoreAgentNew, (char *err, uintptr_t *out, unsigned int options))
GONICE_OWN(gonice_agent_new)
GONICE_CORE(agent_free, goniceCoreAgentFree, (char *err, uintptr_t h))
GONICE_FN(gonice_agent_free, (GoniceAgent *agent), agent_free, (h), ())
GONICE_CORE(agent_close_async, goniceCoreAgentCloseAsync,
            (char *err, uintptr_t h, void *cb, void *user_data))
GONICE_FN(gonice_agent_close_async,
          (GoniceAgent *agent, gonice_agent_closed_cb cb, void *user_data), agent_close_async,
          (h, (void *)cb, user_data), ())

/* Properties: GONICE_PROP_* of core_abi.h. */
GONICE_CORE(set_prop_int, goniceCoreSetPropInt,
            (char *err, uintptr_t h, int prop, long long value))
GONICE_CORE(set_prop_str, goniceCoreSetPropStr,
            (char *err, uintptr_t h, int prop, char *s, unsigned int port))
GONICE_CORE(get_controlling, goniceCoreGetControlling, (char *err, uintptr_t h))
GONICE_FN(gonice_agent_set_controlling_mode, (GoniceAgent *agent, int controlling), set_prop_int,
          (h, GONICE_PROP_CONTROLLING, controlling != 0), ())
GONICE_FN(gonice_agent_get_controlling_mode, (GoniceAgent *agent), get_controlling, (h), ())
GONICE_FN(gonice_agent_set_nomination_mode, (GoniceAgent *agent, GoniceNominationMode mode),
          set_prop_int, (h, GONICE_PROP_NOMINATION, (long long)mode), ())
GONICE_FN(gonice_agent_set_stun_server, (GoniceAgent *agent, const char *ip, unsigned int port),
          set_prop_str, (h, GONICE_PROP_STUN_SERVER, (char *)ip, port), ())
GONICE_FN(gonice_agent_set_ice_lite, (GoniceAgent *agent, int lite), set_prop_int,
          (h, GONICE_PROP_LITE, lite != 0), ())
GONICE_FN(gonice_agent_set_consent_freshness, (GoniceAgent *agent, int enabled), set_prop_int,
          (h, GONICE_PROP_CONSENT, enabled != 0), ())
GONICE_FN(gonice_agent_set_renomination, (GoniceAgent *agent, int enabled), set_prop_int,
          (h, GONICE_PROP_RENOMINATION, enabled != 0), ())
GONICE_FN(gonice_agent_set_keepalive_conncheck, (GoniceAgent *agent, int enabled), set_prop_int,
          (h, GONICE_PROP_KEEPALIVE_CONNCHECK, enabled != 0), ())
GONICE_FN(gonice_agent_set_ice_udp, (GoniceAgent *agent, int enabled), set_prop_int,
          (h, GONICE_PROP_ICE_UDP, enabled != 0), ())
GONICE_FN(gonice_agent_set_ice_tcp, (GoniceAgent *agent, int enabled), set_prop_int,
          (h, GONICE_PROP_ICE_TCP, enabled != 0), ())
GONICE_FN(gonice_agent_set_tcp_simultaneous_open, (GoniceAgent *agent, int enabled), set_prop_int,
          (h, GONICE_PROP_TCP_SO, enabled != 0), ())
GONICE_FN(gonice_agent_set_ta, (GoniceAgent *agent, unsigned int ms), set_prop_int,
          (h, GONICE_PROP_TA, (long long)ms), ())
GONICE_FN(gonice_agent_set_max_checks, (GoniceAgent *agent, unsigned int n), set_prop_int,
          (h, GONICE_PROP_MAX_CHECKS, (long long)n), ())
GONICE_FN(gonice_agent_set_stun_initial_timeout, (GoniceAgent *agent, unsigned int ms),
          set_prop_int, (h, GONICE_PROP_STUN_INITIAL_TIMEOUT, (long long)ms), ())
GONICE_FN(gonice_agent_set_stun_max_retransmissions, (GoniceAgent *agent, unsigned int n),
          set_prop_int, (h, GONICE_PROP_STUN_MAX_RETRANS, (long long)n), ())
GONICE_FN(gonice_agent_set_idle_timeout, (GoniceAgent *agent, unsigned int ms), set_prop_int,
          (h, GONICE_PROP_IDLE_TIMEOUT, (long long)ms), ())
GONICE_FN(gonice_agent_set_keepalive_interval, (GoniceAgent *agent, unsigned int ms),
          set_prop_int, (h, GONICE_PROP_KEEPALIVE_INTERVAL, (long long)ms), ())
GONICE_FN(gonice_agent_set_consent_interval, (GoniceAgent *agent, unsigned int ms),
          set_prop_int, (h, GONICE_PROP_CONSENT_INTERVAL, (long long)ms), ())
GONICE_FN(gonice_agent_set_consent_timeout, (GoniceAgent *agent, unsigned int ms),
          set_prop_int, (h, GONICE_PROP_CONSENT_TIMEOUT, (long long)ms), ())
GONICE_FN(gonice_agent_set_force_relay, (GoniceAgent *agent, int force), set_prop_int,
          (h, GONICE_PROP_FORCE_RELAY, force != 0), ())
GONICE_FN(gonice_agent_set_software, (GoniceAgent *agent, const char *software), set_prop_str,
          (h, GONICE_PROP_SOFTWARE, (char *)software, 0u), ())

/* Streams, addresses, gathering. */
GONICE_CORE(add_local_address, goniceCoreAddLocalAddress, (char *err, uintptr_t h, char *ip))
GONICE_FN(gonice_agent_add_local_address, (GoniceAgent *agent, const char *ip),
          add_local_address, (h, (char *)ip), ())
GONICE_CORE(add_stream, goniceCoreAddStream, (char *err, uintptr_t h, unsigned int n))
GONICE_FN(gonice_agent_add_stream, (GoniceAgent *agent, unsigned int n_components), add_stream,
          (h, n_components), ())
GONICE_CORE(remove_stream, goniceCoreRemoveStream, (char *err, uintptr_t h, unsigned int sid))
GONICE_FN(gonice_agent_remove_stream, (GoniceAgent *agent, unsigned int stream_id),
          remove_stream, (h, stream_id), ())
GONICE_CORE(set_port_range, goniceCoreSetPortRange,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, unsigned int min_port,
             unsigned int max_port))
GONICE_FN(gonice_agent_set_port_range,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           unsigned int min_port, unsigned int max_port),
          set_port_range, (h, stream_id, component_id, min_port, max_port), ())
GONICE_CORE(set_relay_info, goniceCoreSetRelayInfo,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, char *ip,
             unsigned int port, char *username, char *password, int type))
GONICE_FN(gonice_agent_set_relay_info,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           const char *server_ip, unsigned int server_port, const char *username,
           const char *password, GoniceRelayType type),
          set_relay_info,
          (h, stream_id, component_id, (char *)server_ip, server_port, (char *)username,
           (char *)password, (int)type),
          ())
GONICE_CORE(forget_relays, goniceCoreForgetRelays,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid))
GONICE_FN(gonice_agent_forget_relays,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id), forget_relays,
          (h, stream_id, component_id), ())
GONICE_CORE(get_relay_errors, goniceCoreGetRelayErrors,
            (char *err, uintptr_t h, unsigned int sid, GoniceRelayError **out))
GONICE_FN(gonice_agent_get_relay_errors,
          (GoniceAgent *agent, unsigned int stream_id, GoniceRelayError **errors_out),
          get_relay_errors, (h, stream_id, errors_out), (OUT(errors_out)))
GONICE_CORE(set_stream_tos, goniceCoreSetStreamTOS,
            (char *err, uintptr_t h, unsigned int sid, int tos))
GONICE_FN(gonice_agent_set_stream_tos, (GoniceAgent *agent, unsigned int stream_id, int tos),
          set_stream_tos, (h, stream_id, tos), ())
GONICE_CORE(gather, goniceCoreGather, (char *err, uintptr_t h, unsigned int sid))
GONICE_FN(gonice_agent_gather_candidates, (GoniceAgent *agent, unsigned int stream_id), gather,
          (h, stream_id), ())

/* Credentials and candidates. */
GONICE_CORE(get_local_credentials, goniceCoreGetLocalCredentials,
            (char *err, uintptr_t h, unsigned int sid, char **ufrag, char **pwd))
GONICE_FN(gonice_agent_get_local_credentials,
          (GoniceAgent *agent, unsigned int stream_id, char **ufrag_out, char **pwd_out),
          get_local_credentials, (h, stream_id, ufrag_out, pwd_out),
          (OUT(ufrag_out) OUT(pwd_out)))
GONICE_CORE(set_credentials, goniceCoreSetCredentials,
            (char *err, uintptr_t h, unsigned int sid, int remote, char *ufrag, char *pwd))
GONICE_FN(gonice_agent_set_local_credentials,
          (GoniceAgent *agent, unsigned int stream_id, const char *ufrag, const char *pwd),
          set_credentials, (h, stream_id, 0, (char *)ufrag, (char *)pwd), ())
GONICE_FN(gonice_agent_set_remote_credentials,
          (GoniceAgent *agent, unsigned int stream_id, const char *ufrag, const char *pwd),
          set_credentials, (h, stream_id, 1, (char *)ufrag, (char *)pwd), ())
GONICE_CORE(get_candidates, goniceCoreGetCandidates,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, int remote,
             GoniceCandidate **out))
GONICE_FN(gonice_agent_get_local_candidates,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           GoniceCandidate **cands_out),
          get_candidates, (h, stream_id, component_id, 0, cands_out), (OUT(cands_out)))
GONICE_FN(gonice_agent_get_remote_candidates,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           GoniceCandidate **cands_out),
          get_candidates, (h, stream_id, component_id, 1, cands_out), (OUT(cands_out)))
GONICE_CORE(set_remote_candidates, goniceCoreSetRemoteCandidates,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, GoniceCandidate *cands,
             size_t n))
GONICE_FN(gonice_agent_set_remote_candidates,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           const GoniceCandidate *cands, size_t n),
          set_remote_candidates, (h, stream_id, component_id, (GoniceCandidate *)cands, n),
          (ARRAY(cands, n)))
GONICE_CORE(peer_gathering_done, goniceCorePeerGatheringDone,
            (char *err, uintptr_t h, unsigned int sid))
GONICE_FN(gonice_agent_peer_candidate_gathering_done,
          (GoniceAgent *agent, unsigned int stream_id), peer_gathering_done, (h, stream_id), ())
GONICE_CORE(regather, goniceCoreRegather, (char *err, uintptr_t h, unsigned int sid))
GONICE_FN(gonice_agent_regather, (GoniceAgent *agent, unsigned int stream_id), regather,
          (h, stream_id), ())
GONICE_CORE(restart, goniceCoreRestart, (char *err, uintptr_t h, int all, unsigned int sid))
GONICE_FN(gonice_agent_restart, (GoniceAgent *agent), restart, (h, 1, 0u), ())
GONICE_FN(gonice_agent_restart_stream, (GoniceAgent *agent, unsigned int stream_id), restart,
          (h, 0, stream_id), ())
GONICE_CORE(get_selected_pair, goniceCoreGetSelectedPair,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, GoniceCandidate *local,
             GoniceCandidate *remote))
GONICE_FN(gonice_agent_get_selected_pair,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           GoniceCandidate *local_out, GoniceCandidate *remote_out),
          get_selected_pair, (h, stream_id, component_id, local_out, remote_out),
          (NONNULL(local_out) NONNULL(remote_out)))
GONICE_CORE(renominate, goniceCoreRenominate,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, char *lfoundation,
             char *rfoundation))
GONICE_FN(gonice_agent_renominate,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           const char *lfoundation, const char *rfoundation),
          renominate, (h, stream_id, component_id, (char *)lfoundation, (char *)rfoundation),
          (NONNULL(lfoundation) NONNULL(rfoundation)))
GONICE_CORE(get_component_state, goniceCoreGetComponentState,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid))
GONICE_FN(gonice_agent_get_component_state,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id),
          get_component_state, (h, stream_id, component_id), ())
GONICE_CORE(consent_lost, goniceCoreConsentLost,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid))
GONICE_FN(gonice_agent_consent_lost,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id), consent_lost,
          (h, stream_id, component_id), ())
GONICE_CORE(set_stream_name, goniceCoreSetStreamName,
            (char *err, uintptr_t h, unsigned int sid, char *name))
GONICE_FN(gonice_agent_set_stream_name,
          (GoniceAgent *agent, unsigned int stream_id, const char *name), set_stream_name,
          (h, stream_id, (char *)name), (NONNULL(name)))
GONICE_CORE(get_stream_name, goniceCoreGetStreamName,
            (char *err, uintptr_t h, unsigned int sid, char **out))
GONICE_FN(gonice_agent_get_stream_name,
          (GoniceAgent *agent, unsigned int stream_id, char **name_out), get_stream_name,
          (h, stream_id, name_out), (OUT(name_out)))

/* Statistics. */
GONICE_CORE(get_stats, goniceCoreGetStats,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, GoniceComponentStats *comp,
             GoniceCandidatePairStats **pairs))
GONICE_FN(gonice_agent_get_stats,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           GoniceComponentStats *component_out, GoniceCandidatePairStats **pairs_out),
          get_stats, (h, stream_id, component_id, component_out, pairs_out), (OPT_OUT(pairs_out)))
GONICE_CORE(get_stats_json, goniceCoreGetStatsJSON,
            (char *err, uintptr_t h, unsigned int sid, char **out))
GONICE_FN(gonice_agent_get_stats_json, (GoniceAgent *agent, unsigned int stream_id, char **json_out),
          get_stats_json, (h, stream_id, json_out), (OUT(json_out)))
/* SDP: GONICE_SDP_* of core_abi.h. */
GONICE_CORE(generate_sdp, goniceCoreGenerateSDP,
            (char *err, uintptr_t h, int kind, unsigned int sid, int include_non_ice,
             GoniceCandidate *cand, char **out))
GONICE_FN(gonice_agent_generate_local_sdp, (GoniceAgent *agent, char **sdp_out), generate_sdp,
          (h, GONICE_SDP_AGENT, 0u, 0, (GoniceCandidate *)NULL, sdp_out), (OUT(sdp_out)))
GONICE_FN(gonice_agent_generate_local_stream_sdp,
          (GoniceAgent *agent, unsigned int stream_id, int include_non_ice, char **sdp_out),
          generate_sdp,
          (h, GONICE_SDP_STREAM, stream_id, include_non_ice, (GoniceCandidate *)NULL, sdp_out),
          (OUT(sdp_out)))
GONICE_FN(gonice_agent_generate_local_candidate_sdp,
          (GoniceAgent *agent, const GoniceCandidate *cand, char **sdp_out), generate_sdp,
          (h, GONICE_SDP_CANDIDATE, 0u, 0, (GoniceCandidate *)cand, sdp_out),
          (OUT(sdp_out) NONNULL(cand)))
GONICE_CORE(parse_remote_sdp, goniceCoreParseRemoteSDP, (char *err, uintptr_t h, char *sdp))
GONICE_FN(gonice_agent_parse_remote_sdp, (GoniceAgent *agent, const char *sdp),
          parse_remote_sdp, (h, (char *)sdp), (NONNULL(sdp)))
GONICE_CORE(parse_remote_stream_sdp, goniceCoreParseRemoteStreamSDP,
            (char *err, uintptr_t h, unsigned int sid, char *sdp, char **ufrag, char **pwd,
             GoniceCandidate **cands))
GONICE_FN(gonice_agent_parse_remote_stream_sdp,
          (GoniceAgent *agent, unsigned int stream_id, const char *sdp, char **ufrag_out,
           char **pwd_out, GoniceCandidate **cands_out),
          parse_remote_stream_sdp, (h, stream_id, (char *)sdp, ufrag_out, pwd_out, cands_out),
          (NONNULL(sdp) OUT(cands_out) OPT_OUT(ufrag_out) OPT_OUT(pwd_out)))
GONICE_CORE(parse_remote_candidate_sdp, goniceCoreParseRemoteCandidateSDP,
            (char *err, uintptr_t h, unsigned int sid, char *sdp, GoniceCandidate **out))
GONICE_FN(gonice_agent_parse_remote_candidate_sdp,
          (GoniceAgent *agent, unsigned int stream_id, const char *sdp,
           GoniceCandidate **cand_out),
          parse_remote_candidate_sdp, (h, stream_id, (char *)sdp, cand_out),
          (NONNULL(sdp) OUT(cand_out)))

/* Data. */
GONICE_CORE(send, goniceCoreSend,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, unsigned int len,
             void *buf))
GONICE_FN(gonice_agent_send,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           unsigned int len, const void *buf),
          send, (h, stream_id, component_id, len, (void *)buf), (ARRAY(buf, len)))
GONICE_CORE(send_messages, goniceCoreSendMessages,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid,
             GoniceOutputMessage *msgs, unsigned int n))
GONICE_FN(gonice_agent_send_messages_nonblocking,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           const GoniceOutputMessage *messages, unsigned int n_messages),
          send_messages,
          (h, stream_id, component_id, (GoniceOutputMessage *)messages, n_messages),
          (ARRAY(messages, n_messages)))
GONICE_CORE(attach_recv, goniceCoreAttachRecv,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, void *fn,
             void *user_data))
GONICE_FN(gonice_agent_attach_recv,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id,
           gonice_agent_recv_cb func, void *user_data),
          attach_recv, (h, stream_id, component_id, (void *)func, user_data), ())
GONICE_CORE(recv, goniceCoreRecv,
            (char *err, uintptr_t h, unsigned int sid, unsigned int cid, void *buf, size_t len))
GONICE_FN(gonice_agent_recv,
          (GoniceAgent *agent, unsigned int stream_id, unsigned int component_id, void *buf,
           size_t buf_len),
          recv, (h, stream_id, component_id, buf, buf_len), (NONNULL(buf)))

/* Signals: GONICE_SIG_* of core_abi.h. */
GONICE_CORE(connect, goniceCoreConnect,
            (char *err, uintptr_t h, int sig, void *fn, void *user_data))
/* gonice_agent_connect_<signal>(agent, cb, user_data) */
#define GONICE_CONNECT(signal, cb_type, sig)                                                       \
  GONICE_FN(gonice_agent_connect_##signal, (GoniceAgent *agent, cb_type cb, void *user_data),      \
            connect, (h, sig, (void *)cb, user_data), ())
GONICE_CONNECT(candidate_gathering_done, gonice_candidate_gathering_done_cb,
               GONICE_SIG_GATHERING_DONE)
GONICE_CONNECT(new_candidate, gonice_new_candidate_cb, GONICE_SIG_NEW_CANDIDATE)
GONICE_CONNECT(new_candidate_full, gonice_new_candidate_full_cb, GONICE_SIG_NEW_CANDIDATE_FULL)
GONICE_CONNECT(new_remote_candidate, gonice_new_candidate_cb, GONICE_SIG_NEW_REMOTE_CANDIDATE)
GONICE_CONNECT(new_remote_candidate_full, gonice_new_candidate_full_cb,
               GONICE_SIG_NEW_REMOTE_CANDIDATE_FULL)
GONICE_CONNECT(component_state_changed, gonice_component_state_changed_cb, GONICE_SIG_STATE_CHANGED)
GONICE_CONNECT(new_selected_pair, gonice_new_selected_pair_cb, GONICE_SIG_NEW_SELECTED_PAIR)
GONICE_CONNECT(new_selected_pair_full, gonice_new_selected_pair_full_cb,
               GONICE_SIG_NEW_SELECTED_PAIR_FULL)
GONICE_CONNECT(initial_binding_request_received, gonice_initial_binding_request_received_cb,
               GONICE_SIG_INITIAL_BINDING_REQUEST)
GONICE_CONNECT(streams_removed, gonice_streams_removed_cb, GONICE_SIG_STREAMS_REMOVED)
#undef GONICE_CONNECT

/* Dispatch mode. */
GONICE_CORE(get_fd, goniceCoreGetFd, (char *err, uintptr_t h))
GONICE_FN(gonice_agent_get_fd, (GoniceAgent *agent), get_fd, (h), ())
GONICE_CORE(dispatch, goniceCoreDispatch, (char *err, uintptr_t h))
GONICE_FN(gonice_agent_dispatch, (GoniceAgent *agent), dispatch, (h), ())

/* Connections: GONICE_CONN_CB_* of core_abi.h. */
GONICE_CORE(conn_new, goniceCoreConnNew, (char *err, uintptr_t *out, unsigned int options))
GONICE_OWN(gonice_connection_new)
GONICE_CORE(conn_free, goniceCoreConnFree, (char *err, uintptr_t h))
GONICE_CONN_FN(gonice_connection_free, (GoniceConnection *conn), conn_free, (h), ())
GONICE_CORE(conn_close, goniceCoreConnClose, (char *err, uintptr_t h))
GONICE_CONN_FN(gonice_connection_close, (GoniceConnection *conn), conn_close, (h), ())
GONICE_CORE(conn_add_local_address, goniceCoreConnAddLocalAddress,
            (char *err, uintptr_t h, char *ip))
GONICE_CONN_FN(gonice_connection_add_local_address, (GoniceConnection *conn, const char *ip),
               conn_add_local_address, (h, (char *)ip), (NONNULL(ip)))
GONICE_CORE(conn_set_ssrc, goniceCoreConnSetSSRC,
            (char *err, uintptr_t h, char *kind, uint32_t ssrc))
GONICE_CONN_FN(gonice_connection_set_ssrc,
               (GoniceConnection *conn, const char *kind, uint32_t ssrc), conn_set_ssrc,
               (h, (char *)kind, ssrc), (NONNULL(kind)))
GONICE_CORE(conn_set_callback, goniceCoreConnSetCallback,
            (char *err, uintptr_t h, int which, void *fn, void *user_data))
GONICE_CONN_FN(gonice_connection_set_event_callback,
               (GoniceConnection *conn, gonice_connection_event_cb cb, void *user_data),
               conn_set_callback, (h, GONICE_CONN_CB_EVENT, (void *)cb, user_data), ())
GONICE_CONN_FN(gonice_connection_set_rtp_callback,
               (GoniceConnection *conn, gonice_connection_media_cb cb, void *user_data),
               conn_set_callback, (h, GONICE_CONN_CB_RTP, (void *)cb, user_data), ())
GONICE_CONN_FN(gonice_connection_set_rtcp_callback,
               (GoniceConnection *conn, gonice_connection_media_cb cb, void *user_data),
               conn_set_callback, (h, GONICE_CONN_CB_RTCP, (void *)cb, user_data), ())
GONICE_CORE(conn_describe, goniceCoreConnDescribe,
            (char *err, uintptr_t h, int answer, char **out))
GONICE_CONN_FN(gonice_connection_create_offer, (GoniceConnection *conn, char **sdp_out),
               conn_describe, (h, 0, sdp_out), (OUT(sdp_out)))
GONICE_CONN_FN(gonice_connection_create_answer, (GoniceConnection *conn, char **sdp_out),
               conn_describe, (h, 1, sdp_out), (OUT(sdp_out)))
GONICE_CORE(conn_set_remote_description, goniceCoreConnSetRemoteDescription,
            (char *err, uintptr_t h, char *sdp))
GONICE_CONN_FN(gonice_connection_set_remote_description, (GoniceConnection *conn, const char *sdp),
               conn_set_remote_description, (h, (char *)sdp), (NONNULL(sdp)))
GONICE_CORE(conn_add_remote_candidate, goniceCoreConnAddRemoteCandidate,
            (char *err, uintptr_t h, char *candidate))
GONICE_CONN_FN(gonice_connection_add_remote_candidate,
               (GoniceConnection *conn, const char *candidate), conn_add_remote_candidate,
               (h, (char *)candidate), (NONNULL(candidate)))
GONICE_CORE(conn_write, goniceCoreConnWrite,
            (char *err, uintptr_t h, int rtcp, void *buf, size_t len))
GONICE_CONN_FN(gonice_connection_write_rtp,
               (GoniceConnection *conn, const void *buf, size_t len), conn_write,
               (h, 0, (void *)buf, len), (NONNULL(buf)))
GONICE_CONN_FN(gonice_connection_write_rtcp,
               (GoniceConnection *conn, const void *buf, size_t len), conn_write,
               (h, 1, (void *)buf, len), (NONNULL(buf)))
GONICE_CORE(conn_get_fd, goniceCoreConnGetFd, (char *err, uintptr_t h))
GONICE_CONN_FN(gonice_connection_get_fd, (GoniceConnection *conn), conn_get_fd, (h), ())
GONICE_CORE(conn_dispatch, goniceCoreConnDispatch, (char *err, uintptr_t h))
GONICE_CONN_FN(gonice_connection_dispatch, (GoniceConnection *conn), conn_dispatch, (h), ())

/* Muxes (server mode). */
GONICE_CORE(mux_new, goniceCoreMuxNew,
            (char *err, uintptr_t *out, char *local, unsigned int port, char *advertised))
GONICE_OWN(gonice_mux_new)
GONICE_CORE(mux_free, goniceCoreMuxFree, (char *err, uintptr_t h))
GONICE_MUX_FN(gonice_mux_free, (GoniceMux *mux), mux_free, (h), ())
GONICE_CORE(mux_get_local_address, goniceCoreMuxGetLocalAddress,
            (char *err, uintptr_t h, char *addr, uint16_t *port))
GONICE_MUX_FN(gonice_mux_get_local_address,
              (GoniceMux *mux, char *addr_out, uint16_t *port_out), mux_get_local_address,
              (h, addr_out, port_out), (NONNULL(addr_out)))
GONICE_CORE(mux_get_stats, goniceCoreMuxGetStats, (char *err, uintptr_t h, GoniceMuxStats *out))
GONICE_MUX_FN(gonice_mux_get_stats, (GoniceMux *mux, GoniceMuxStats *stats_out), mux_get_stats,
              (h, stats_out), (NONNULL(stats_out)))
GONICE_CORE(mux_set_unknown_ufrag_cb, goniceCoreMuxSetUnknownUfragCb,
            (char *err, uintptr_t h, void *fn, void *user_data))
GONICE_MUX_FN(gonice_mux_set_unknown_ufrag_cb,
              (GoniceMux *mux, gonice_mux_unknown_ufrag_cb cb, void *user_data),
              mux_set_unknown_ufrag_cb, (h, (void *)cb, user_data), ())
GONICE_CORE(agent_add_mux, goniceCoreAgentAddMux, (char *err, uintptr_t h, uintptr_t mux))
GONICE_FN(gonice_agent_add_mux, (GoniceAgent *agent, GoniceMux *mux), agent_add_mux,
          (h, (uintptr_t)mux), ())

#undef GONICE_CORE
#undef GONICE_FN
#undef GONICE_CONN_FN
#undef GONICE_MUX_FN
#undef GONICE_OWN
