/* SPDX-License-Identifier: MIT */
/*
 * test_badinput: bad input never crashes and gives the documented error:
 * NULL pointers, stale and made-up handles, invalid stream/component ids,
 * malformed SDP, huge lengths, double free, calls after free, properties out
 * of range or too late, unsupported functions. Run also under
 * AddressSanitizer and valgrind (CTest variants).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gonice.h"

#include "expect.h"

#define TRUE_(cond)                                                                                \
  do {                                                                                             \
    ncases++;                                                                                      \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: %s is false\n", __FILE__, __LINE__, #cond);                          \
      nfail++;                                                                                     \
    }                                                                                              \
  } while (0)

static void on_state(GoniceAgent *a, unsigned int s, unsigned int c, GoniceComponentState st,
                     void *ud) {
  (void)a, (void)s, (void)c, (void)st, (void)ud;
}

int main(void) {
  GoniceAgent *agent = NULL, *stale = NULL;
  GoniceAgent *bogus = (GoniceAgent *)(uintptr_t)0x1234;
  char *s = NULL, *s2 = NULL;
  GoniceCandidate *cands = NULL, *cand = NULL, l, r;
  GoniceRelayError *rerrs = NULL;
  char buf[64];

  /* No core needed. */
  TRUE_(strcmp(gonice_strerror(GONICE_EBADHANDLE), "invalid, stale or NULL agent handle") == 0);
  TRUE_(strcmp(gonice_strerror(12345), "unknown error") == 0);
  TRUE_(strcmp(gonice_component_state_to_string((GoniceComponentState)99), "invalid") == 0);
  TRUE_(strcmp(gonice_component_state_to_string(GONICE_COMPONENT_STATE_READY), "ready") == 0);
  TRUE_(gonice_candidate_new((GoniceCandidateType)7) == NULL);
  TRUE_(gonice_candidate_copy(NULL) == NULL);
  gonice_candidate_free(NULL);
  TRUE_(strcmp(gonice_candidate_type_to_string(GONICE_CANDIDATE_TYPE_HOST), "host") == 0);
  TRUE_(strcmp(gonice_candidate_type_to_string(GONICE_CANDIDATE_TYPE_SERVER_REFLEXIVE), "srflx") == 0);
  TRUE_(strcmp(gonice_candidate_type_to_string(GONICE_CANDIDATE_TYPE_PEER_REFLEXIVE), "prflx") == 0);
  TRUE_(strcmp(gonice_candidate_type_to_string(GONICE_CANDIDATE_TYPE_RELAYED), "relay") == 0);
  TRUE_(strcmp(gonice_candidate_type_to_string((GoniceCandidateType)4), "invalid") == 0);
  TRUE_(strcmp(gonice_candidate_type_to_string((GoniceCandidateType)-1), "invalid") == 0);
  TRUE_(strcmp(gonice_candidate_transport_to_string(GONICE_CANDIDATE_TRANSPORT_UDP), "udp") == 0);
  TRUE_(strcmp(gonice_candidate_transport_to_string(GONICE_CANDIDATE_TRANSPORT_TCP_ACTIVE), "tcp-act") == 0);
  TRUE_(strcmp(gonice_candidate_transport_to_string(GONICE_CANDIDATE_TRANSPORT_TCP_PASSIVE), "tcp-pass") == 0);
  TRUE_(strcmp(gonice_candidate_transport_to_string(GONICE_CANDIDATE_TRANSPORT_TCP_SO), "tcp-so") == 0);
  TRUE_(strcmp(gonice_candidate_transport_to_string((GoniceCandidateTransport)9), "invalid") == 0);
  {
    GoniceCandidate a, b;
    char addr[GONICE_ADDRESS_STRING_LEN];
    uint16_t port = 0;
    memset(&a, 0, sizeof a);
    snprintf(a.addr, sizeof a.addr, "192.0.2.1");
    a.port = 5000;
    b = a;
    snprintf(b.addr, sizeof b.addr, "::ffff:192.0.2.1");
    EXPECT(gonice_candidate_equal_target(&a, &b), 1);
    b.type = GONICE_CANDIDATE_TYPE_RELAYED; /* the type does not count */
    b.priority = 7;
    EXPECT(gonice_candidate_equal_target(&a, &b), 1);
    b.port = 5001;
    EXPECT(gonice_candidate_equal_target(&a, &b), 0);
    b.port = 5000;
    b.transport = GONICE_CANDIDATE_TRANSPORT_TCP_ACTIVE;
    EXPECT(gonice_candidate_equal_target(&a, &b), 0);
    b = a;
    snprintf(b.addr, sizeof b.addr, "192.0.2.2");
    EXPECT(gonice_candidate_equal_target(&a, &b), 0);
    snprintf(b.addr, sizeof b.addr, "not an address");
    EXPECT(gonice_candidate_equal_target(&a, &b), 0);
    memset(a.addr, 'x', sizeof a.addr); /* not NUL-terminated: read within the array */
    memset(b.addr, 'x', sizeof b.addr);
    EXPECT(gonice_candidate_equal_target(&a, &b), 1);
    EXPECT(gonice_candidate_equal_target(NULL, &b), GONICE_EINVAL);
    EXPECT(gonice_candidate_equal_target(&a, NULL), GONICE_EINVAL);

    memset(&a, 0, sizeof a);
    a.type = GONICE_CANDIDATE_TYPE_RELAYED;
    EXPECT(gonice_candidate_relay_address(&a, addr, &port), GONICE_ENOTFOUND); /* no server */
    snprintf(a.server_addr, sizeof a.server_addr, "198.51.100.3");
    a.server_port = 3478;
    EXPECT(gonice_candidate_relay_address(&a, addr, &port), 0);
    TRUE_(strcmp(addr, "198.51.100.3") == 0 && port == 3478);
    EXPECT(gonice_candidate_relay_address(&a, addr, NULL), 0);
    EXPECT(gonice_candidate_relay_address(NULL, addr, &port), GONICE_EINVAL);
    EXPECT(gonice_candidate_relay_address(&a, NULL, &port), GONICE_EINVAL);
    EXPECT(gonice_candidate_stun_server_address(&a, addr, &port), GONICE_ENOTFOUND); /* relayed */
    a.type = GONICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
    EXPECT(gonice_candidate_relay_address(&a, addr, &port), GONICE_EINVAL); /* not relayed */
    port = 0;
    EXPECT(gonice_candidate_stun_server_address(&a, addr, &port), 0);
    TRUE_(strcmp(addr, "198.51.100.3") == 0 && port == 3478);
    EXPECT(gonice_candidate_stun_server_address(NULL, addr, &port), GONICE_EINVAL);
    EXPECT(gonice_candidate_stun_server_address(&a, NULL, &port), GONICE_EINVAL);
    memset(a.server_addr, 'x', sizeof a.server_addr); /* not NUL-terminated */
    EXPECT(gonice_candidate_stun_server_address(&a, addr, &port), GONICE_ENOTFOUND);
    a.type = GONICE_CANDIDATE_TYPE_HOST;
    EXPECT(gonice_candidate_stun_server_address(&a, addr, &port), GONICE_ENOTFOUND);
  }
  gonice_free(NULL);

  /* Creation. */
  EXPECT(gonice_agent_new(NULL, 0), GONICE_EINVAL);
  EXPECT(gonice_agent_new(&agent, 1u << 30), GONICE_EINVAL);
  TRUE_(agent == NULL);
  EXPECT(gonice_agent_new(&agent, GONICE_AGENT_OPTION_RELIABLE), GONICE_ENOTSUP);
  EXPECT(gonice_agent_new(&stale, 0), 0);
  EXPECT(gonice_agent_free(stale), 0);
  EXPECT(gonice_agent_new(&stale, 0), 0);
  EXPECT(gonice_agent_set_renomination(stale, 1), 0);
  EXPECT(gonice_agent_set_controlling_mode(stale, 1), 0);
  EXPECT(gonice_agent_add_stream(stale, 1), 1);
  EXPECT(gonice_agent_renominate(stale, 1, 1, "no", "pair"), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_renominate(stale, 2, 1, "no", "pair"), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_set_controlling_mode(stale, 0), 0);
  EXPECT(gonice_agent_renominate(stale, 1, 1, "no", "pair"), GONICE_EAGAIN); /* controlled */
  EXPECT(gonice_agent_free(stale), 0);
  EXPECT(gonice_agent_new(&agent, GONICE_AGENT_OPTION_ICE_TRICKLE), 0);

  /* NULL, made-up and stale handles. */
  EXPECT(gonice_agent_free(NULL), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_free(bogus), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_free(stale), GONICE_EBADHANDLE); /* double free */
  EXPECT(gonice_agent_add_stream(NULL, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_stream(stale, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_stream(bogus, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_gather_candidates(stale, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_send(stale, 1, 1, 3, "abc"), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_set_controlling_mode(stale, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_get_controlling_mode(bogus), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_connect_component_state_changed(stale, on_state, NULL), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_get_fd(stale), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_dispatch(bogus), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_close_async(stale, NULL, NULL), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_set_relay_info(stale, 1, 1, "192.0.2.1", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EBADHANDLE);
  EXPECT(gonice_agent_forget_relays(stale, 1, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_forget_relays(NULL, 1, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_get_relay_errors(stale, 1, &rerrs), GONICE_EBADHANDLE);
  TRUE_(rerrs == NULL);
  EXPECT(gonice_agent_get_relay_errors(NULL, 1, &rerrs), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_set_force_relay(stale, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_set_ice_tcp(stale, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_set_ice_tcp(NULL, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_set_ice_tcp(bogus, 0), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_set_tcp_simultaneous_open(stale, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_set_tcp_simultaneous_open(NULL, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_generate_local_sdp(stale, &s), GONICE_EBADHANDLE);

  /* Properties: out of range, and too late. */
  EXPECT(gonice_agent_set_nomination_mode(agent, (GoniceNominationMode)5), GONICE_EINVAL);
  EXPECT(gonice_agent_set_ta(agent, 0), GONICE_EINVAL);
  EXPECT(gonice_agent_set_ta(agent, 4000000000u), GONICE_EINVAL);
  EXPECT(gonice_agent_set_max_checks(agent, 0), GONICE_EINVAL);
  EXPECT(gonice_agent_set_stun_initial_timeout(agent, 5), GONICE_EINVAL);
  EXPECT(gonice_agent_set_stun_max_retransmissions(agent, 100), GONICE_EINVAL);
  EXPECT(gonice_agent_set_idle_timeout(agent, 10), GONICE_EINVAL);
  EXPECT(gonice_agent_set_keepalive_interval(agent, 1), GONICE_EINVAL);
  EXPECT(gonice_agent_set_consent_interval(agent, 99), GONICE_EINVAL);
  EXPECT(gonice_agent_set_consent_interval(agent, 60001), GONICE_EINVAL);
  EXPECT(gonice_agent_set_consent_timeout(agent, 499), GONICE_EINVAL);
  EXPECT(gonice_agent_set_consent_timeout(agent, 600001), GONICE_EINVAL);
  EXPECT(gonice_agent_set_consent_interval(agent, 500), 0);
  EXPECT(gonice_agent_set_consent_timeout(agent, 3000), 0);
  EXPECT(gonice_agent_set_stun_server(agent, "not an ip", 3478), GONICE_EINVAL);
  EXPECT(gonice_agent_set_stun_server(agent, "192.0.2.1", 70000), GONICE_EINVAL);
  EXPECT(gonice_agent_set_stun_server(agent, "192.0.2.1", 0), 0);
  memset(buf, 'x', sizeof buf);
  buf[sizeof buf - 1] = '\0';
  {
    char longsw[200];
    memset(longsw, 's', sizeof longsw - 1);
    longsw[sizeof longsw - 1] = '\0';
    EXPECT(gonice_agent_set_software(agent, longsw), GONICE_EINVAL);
  }
  EXPECT(gonice_agent_set_software(agent, "test"), 0);
  EXPECT(gonice_agent_set_force_relay(agent, 1), 0);
  EXPECT(gonice_agent_set_force_relay(agent, 0), 0);
  EXPECT(gonice_agent_set_ice_lite(agent, 0), 0);
  EXPECT(gonice_agent_set_ice_tcp(agent, -7), 0); /* any nonzero is on */
  EXPECT(gonice_agent_set_ice_tcp(agent, 0), 0);
  EXPECT(gonice_agent_set_tcp_simultaneous_open(agent, 3), 0); /* any nonzero is on */
  EXPECT(gonice_agent_set_tcp_simultaneous_open(agent, 0), 0);
  EXPECT(gonice_agent_get_fd(agent), GONICE_EINVAL); /* not in dispatch mode */
  EXPECT(gonice_agent_dispatch(agent), GONICE_EINVAL);

  /* Addresses and streams (the agent starts here). */
  EXPECT(gonice_agent_add_local_address(agent, NULL), GONICE_EINVAL);
  EXPECT(gonice_agent_add_local_address(agent, "999.1.1.1"), GONICE_EINVAL);
  EXPECT(gonice_agent_add_local_address(agent, "0.0.0.0"), GONICE_EINVAL);
  EXPECT(gonice_agent_add_local_address(agent, "224.0.0.1"), GONICE_EINVAL);
  EXPECT(gonice_agent_add_local_address(agent, buf), GONICE_EINVAL);
  EXPECT(gonice_agent_add_local_address(agent, "127.0.0.1"), 0);
  EXPECT(gonice_agent_set_ta(agent, 20), GONICE_EBUSY);
  EXPECT(gonice_agent_set_ice_tcp(agent, 1), GONICE_EBUSY);
  EXPECT(gonice_agent_set_tcp_simultaneous_open(agent, 1), GONICE_EBUSY);
  EXPECT(gonice_agent_set_ice_udp(agent, 0), GONICE_EBUSY);
  EXPECT(gonice_agent_set_force_relay(agent, 1), 0); /* live */
  EXPECT(gonice_agent_set_force_relay(agent, 0), 0);
  EXPECT(gonice_agent_set_stun_server(agent, "192.0.2.1", 3478), GONICE_EBUSY);
  EXPECT(gonice_agent_set_software(agent, "late"), GONICE_ENOTSUP);
  EXPECT(gonice_agent_set_controlling_mode(agent, 1), 0); /* live */
  EXPECT(gonice_agent_get_controlling_mode(agent), 1);
  EXPECT(gonice_agent_add_stream(agent, 0), GONICE_EINVAL);
  EXPECT(gonice_agent_add_stream(agent, 257), GONICE_EINVAL);
  EXPECT(gonice_agent_add_stream(agent, 0xffffffffu), GONICE_EINVAL);
  EXPECT(gonice_agent_add_stream(agent, 2), 1);

  /* Invalid stream and component ids. */
  EXPECT(gonice_agent_remove_stream(agent, 42), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_gather_candidates(agent, 0), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_gather_candidates(agent, 0xffffffffu), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_get_component_state(agent, 1, 3), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_get_component_state(agent, 2, 1), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_get_component_state(agent, 1, 2), GONICE_COMPONENT_STATE_DISCONNECTED);
  EXPECT(gonice_agent_set_port_range(agent, 1, 9, 1000, 2000), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_set_port_range(agent, 1, 1, 2000, 1000), GONICE_EINVAL);
  EXPECT(gonice_agent_set_port_range(agent, 1, 1, 1000, 70000), GONICE_EINVAL);
  EXPECT(gonice_agent_get_local_credentials(agent, 7, &s, &s2), GONICE_ENOTFOUND);
  TRUE_(s == NULL && s2 == NULL);
  EXPECT(gonice_agent_get_local_credentials(agent, 1, NULL, &s2), GONICE_EINVAL);
  EXPECT(gonice_agent_set_remote_credentials(agent, 1, NULL, "pwd"), GONICE_EINVAL);
  EXPECT(gonice_agent_set_remote_credentials(agent, 1, "bad ufrag!", "pwdpwdpwdpwdpwdpwdpwdpwd"),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_remote_credentials(agent, 5, "ufrag", "pwdpwdpwdpwdpwdpwdpwdpwd"),
         GONICE_ENOTFOUND);
  EXPECT(gonice_agent_set_local_credentials(agent, 1, "", ""), GONICE_EINVAL);
  EXPECT(gonice_agent_get_local_candidates(agent, 1, 1, NULL), GONICE_EINVAL);
  EXPECT(gonice_agent_get_local_candidates(agent, 1, 0, &cands), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_get_remote_candidates(agent, 3, 1, &cands), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_get_local_candidates(agent, 1, 1, &cands), 0);
  TRUE_(cands == NULL);
  EXPECT(gonice_agent_get_relay_errors(agent, 1, NULL), GONICE_EINVAL);
  EXPECT(gonice_agent_get_relay_errors(agent, 9, &rerrs), GONICE_ENOTFOUND);
  TRUE_(rerrs == NULL);
  EXPECT(gonice_agent_get_relay_errors(agent, 1, &rerrs), 0);
  TRUE_(rerrs == NULL);
  EXPECT(gonice_agent_peer_candidate_gathering_done(agent, 9), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_restart_stream(agent, 9), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_regather(agent, 9), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_regather(agent, 1), GONICE_EINVAL); /* not gathered */
  EXPECT(gonice_agent_regather(NULL, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_consent_lost(agent, 1, 5), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_get_selected_pair(agent, 1, 1, NULL, &r), GONICE_EINVAL);
  EXPECT(gonice_agent_get_selected_pair(agent, 1, 1, &l, &r), GONICE_EAGAIN);
  EXPECT(gonice_agent_get_selected_pair(agent, 1, 3, &l, &r), GONICE_ENOTFOUND);
  {
    GoniceComponentStats cst;
    GoniceCandidatePairStats *pst = (GoniceCandidatePairStats *)buf; /* set to NULL on failure */
    EXPECT(gonice_agent_get_stats(bogus, 1, 1, &cst, &pst), GONICE_EBADHANDLE);
    TRUE_(pst == NULL);
    EXPECT(gonice_agent_get_stats(NULL, 1, 1, &cst, NULL), GONICE_EBADHANDLE);
    EXPECT(gonice_agent_get_stats(agent, 1, 3, &cst, &pst), GONICE_ENOTFOUND);
    EXPECT(gonice_agent_get_stats(agent, 99, 1, &cst, &pst), GONICE_ENOTFOUND);
    EXPECT(gonice_agent_get_stats(agent, 1, 0, NULL, NULL), GONICE_ENOTFOUND);
    EXPECT(gonice_agent_get_stats(agent, 1, 1, NULL, NULL), 0); /* no pair yet */
    EXPECT(gonice_agent_get_stats(agent, 1, 1, &cst, &pst), 0);
    TRUE_(pst == NULL && cst.stream_id == 1 && cst.component_id == 1 && cst.selected_pair_id[0] == '\0');
    EXPECT(gonice_agent_get_stats_json(agent, 1, NULL), GONICE_EINVAL);
    EXPECT(gonice_agent_get_stats_json(agent, 99, &s), GONICE_ENOTFOUND);
    TRUE_(s == NULL);
    EXPECT(gonice_agent_get_stats_json(bogus, 1, &s), GONICE_EBADHANDLE);
    TRUE_(gonice_agent_get_stats_json(agent, 1, &s) > 0 && s != NULL && strstr(s, "\"stream\":1") != NULL);
    gonice_free(s);
    s = NULL;
  }
  EXPECT(gonice_agent_renominate(NULL, 1, 1, "1", "1"), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_renominate(agent, 1, 1, NULL, "1"), GONICE_EINVAL);
  EXPECT(gonice_agent_renominate(agent, 1, 1, "1", NULL), GONICE_EINVAL);
  EXPECT(gonice_agent_renominate(agent, 1, 3, "1", "1"), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_renominate(agent, 1, 1, "1", "1"), GONICE_EAGAIN); /* option off */
  EXPECT(gonice_agent_set_stream_name(agent, 1, NULL), GONICE_EINVAL);
  EXPECT(gonice_agent_set_stream_name(agent, 1, "bad name"), GONICE_EINVAL);
  EXPECT(gonice_agent_set_stream_name(agent, 4, "audio"), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_set_stream_name(agent, 1, "audio"), 0);
  EXPECT(gonice_agent_get_stream_name(agent, 1, NULL), GONICE_EINVAL);
  EXPECT(gonice_agent_get_stream_name(agent, 1, &s), 0);
  TRUE_(s != NULL && strcmp(s, "audio") == 0);
  gonice_free(s);
  s = NULL;
  EXPECT(gonice_agent_attach_recv(agent, 1, 3, NULL, NULL), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_connect_streams_removed(agent, NULL, NULL), 0);

  /* Remote candidates. */
  GoniceCandidate bad;
  memset(&bad, 0, sizeof bad);
  EXPECT(gonice_agent_set_remote_candidates(agent, 1, 1, NULL, 1), GONICE_EINVAL);
  EXPECT(gonice_agent_set_remote_candidates(agent, 1, 1, NULL, 0), 0);
  EXPECT(gonice_agent_set_remote_candidates(agent, 1, 1, &bad, 1), GONICE_EINVAL); /* no addr */
  snprintf(bad.addr, sizeof bad.addr, "127.0.0.1");
  bad.port = 9;
  EXPECT(gonice_agent_set_remote_candidates(agent, 1, 1, &bad, 1), GONICE_EINVAL); /* priority 0 */
  bad.priority = 100;
  bad.type = (GoniceCandidateType)9;
  EXPECT(gonice_agent_set_remote_candidates(agent, 1, 1, &bad, 1), GONICE_EINVAL);
  bad.type = GONICE_CANDIDATE_TYPE_HOST;
  memset(bad.foundation, 'f', sizeof bad.foundation); /* not NUL-terminated */
  EXPECT(gonice_agent_set_remote_candidates(agent, 1, 1, &bad, 1), GONICE_EINVAL);
  snprintf(bad.foundation, sizeof bad.foundation, "1");
  EXPECT(gonice_agent_set_remote_candidates(agent, 1, 1, &bad, (size_t)1 << 40), GONICE_EINVAL);
  EXPECT(gonice_agent_set_remote_candidates(agent, 1, 7, &bad, 1), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_set_remote_candidates(agent, 1, 1, &bad, 1), 1);

  /* SDP. */
  EXPECT(gonice_agent_generate_local_sdp(agent, NULL), GONICE_EINVAL);
  EXPECT(gonice_agent_generate_local_stream_sdp(agent, 8, 1, &s), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_generate_local_candidate_sdp(agent, NULL, &s), GONICE_EINVAL);
  EXPECT(gonice_agent_parse_remote_sdp(agent, NULL), GONICE_EINVAL);
  EXPECT(gonice_agent_parse_remote_sdp(agent, ""), GONICE_EINVAL);
  EXPECT(gonice_agent_parse_remote_sdp(agent, "a=candidate:garbage\n"), GONICE_EINVAL);
  EXPECT(gonice_agent_parse_remote_sdp(agent, "m=audio 1 RTP/AVP 0\nm=video 1 RTP/AVP 0\n"
                                              "m=text 1 RTP/AVP 0\n"),
         GONICE_EINVAL);
  EXPECT(gonice_agent_parse_remote_candidate_sdp(agent, 1, "a=candidate:1 1 UDP x", &cand),
         GONICE_EINVAL);
  TRUE_(cand == NULL);
  EXPECT(gonice_agent_parse_remote_candidate_sdp(agent, 1, NULL, &cand), GONICE_EINVAL);
  EXPECT(gonice_agent_parse_remote_candidate_sdp(
             agent, 9, "a=candidate:1 1 UDP 2013266431 127.0.0.1 5000 typ host", &cand),
         GONICE_ENOTFOUND);
  EXPECT(gonice_agent_parse_remote_candidate_sdp(
             agent, 1, "a=candidate:1 1 UDP 2013266431 127.0.0.1 5000 typ host", &cand),
         0);
  TRUE_(cand != NULL && cand->port == 5000 && strcmp(cand->addr, "127.0.0.1") == 0);
  EXPECT(gonice_agent_generate_local_candidate_sdp(agent, cand, &s), (int)strlen(
      "a=candidate:1 1 UDP 2013266431 127.0.0.1 5000 typ host"));
  TRUE_(s != NULL && strcmp(s, "a=candidate:1 1 UDP 2013266431 127.0.0.1 5000 typ host") == 0);
  gonice_free(s);
  s = NULL;
  gonice_candidate_free(cand);
  cand = NULL;
  EXPECT(gonice_agent_parse_remote_stream_sdp(agent, 1, "m=audio garbage", &s, &s2, NULL),
         GONICE_EINVAL);
  {
    /* A huge SDP (over 1 MiB) is refused, not read. */
    size_t big = (1u << 20) + 16;
    char *huge = malloc(big + 1);
    TRUE_(huge != NULL);
    if (huge != NULL) {
      memset(huge, 'a', big);
      huge[big] = '\0';
      EXPECT(gonice_agent_parse_remote_sdp(agent, huge), GONICE_EINVAL);
      free(huge);
    }
  }

  /* Data. */
  EXPECT(gonice_agent_send(agent, 1, 1, 3, NULL), GONICE_EINVAL);
  EXPECT(gonice_agent_send(agent, 1, 1, 0xffffffffu, "x"), GONICE_EINVAL);
  EXPECT(gonice_agent_send(agent, 1, 1, 3, "abc"), GONICE_EAGAIN); /* no pair yet */
  EXPECT(gonice_agent_send(agent, 9, 1, 3, "abc"), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_send(agent, 1, 9, 3, "abc"), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_send_messages_nonblocking(agent, 1, 1, NULL, 2), GONICE_EINVAL);
  {
    GoniceOutputVector v = {NULL, 10};
    GoniceOutputMessage m = {&v, 1};
    EXPECT(gonice_agent_send_messages_nonblocking(agent, 1, 1, &m, 1), GONICE_EINVAL);
    GoniceOutputMessage m2 = {NULL, 3};
    EXPECT(gonice_agent_send_messages_nonblocking(agent, 1, 1, &m2, 1), GONICE_EINVAL);
    GoniceOutputVector v3 = {"x", (size_t)1 << 20};
    GoniceOutputMessage m3 = {&v3, 1};
    EXPECT(gonice_agent_send_messages_nonblocking(agent, 1, 1, &m3, 1), GONICE_EINVAL);
  }
  EXPECT(gonice_agent_recv(agent, 1, 1, NULL, 10), GONICE_EINVAL);
  EXPECT(gonice_agent_recv(agent, 1, 9, buf, sizeof buf), GONICE_ENOTFOUND);

  /* TURN servers: bad ids, bad arguments, nine servers, too late. */
  EXPECT(gonice_agent_set_relay_info(agent, 9, 1, "192.0.2.1", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_ENOTFOUND);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 3, "192.0.2.1", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_ENOTFOUND);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 0, "192.0.2.1", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_ENOTFOUND);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, NULL, 3478, "u", "p", GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "turn.example.com", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "0.0.0.0", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "224.0.0.1", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "fe80::1%lo", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, buf, 3478, "u", "p", GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "192.0.2.1", 0, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "192.0.2.1", 65536, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "192.0.2.1", 3478, NULL, "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "192.0.2.1", 3478, "u", NULL,
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "192.0.2.1", 3478, "u", "p",
                                     (GoniceRelayType)3),
         GONICE_EINVAL);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "192.0.2.1", 3478, "u", "p",
                                     (GoniceRelayType)-1),
         GONICE_EINVAL);
  for (int i = 0; i < 8; i++)
    EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "192.0.2.1", 3478 + (unsigned)i, "u", "p",
                                       (GoniceRelayType)(i % 3)),
           0);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "2001:db8::1", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_TCP),
         GONICE_EINVAL); /* a 9th server */
  EXPECT(gonice_agent_set_relay_info(agent, 1, 2, "::ffff:192.0.2.1", 3478, "", "",
                                     GONICE_RELAY_TYPE_TURN_TLS),
         0);
  EXPECT(gonice_agent_forget_relays(agent, 1, 9), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_forget_relays(agent, 7, 1), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_forget_relays(agent, 1, 1), 0);
  EXPECT(gonice_agent_forget_relays(agent, 1, 2), 0);
  EXPECT(gonice_agent_forget_relays(agent, 1, 2), 0); /* again: nothing to forget */
  EXPECT(gonice_agent_gather_candidates(agent, 1), 0);
  EXPECT(gonice_agent_set_relay_info(agent, 1, 1, "192.0.2.1", 3478, "u", "p",
                                     GONICE_RELAY_TYPE_TURN_UDP),
         GONICE_EBUSY);
  {
    GoniceCandidate *before = NULL, *after = NULL;
    int nb = gonice_agent_get_local_candidates(agent, 1, 1, &before);
    TRUE_(nb >= 1);
    EXPECT(gonice_agent_regather(agent, 1), 0); /* the same address: nothing changes */
    EXPECT(gonice_agent_get_local_candidates(agent, 1, 1, &after), nb);
    TRUE_(after != NULL && memcmp(before, after, (size_t)nb * sizeof *before) == 0);
    gonice_free(before);
    gonice_free(after);
  }

  /* TOS: bad stream and out-of-range values; a good one works. */
  EXPECT(gonice_agent_set_stream_tos(agent, 1, 0xb8), 0);
  EXPECT(gonice_agent_set_stream_tos(agent, 99, 0xb8), GONICE_ENOTFOUND);
  EXPECT(gonice_agent_set_stream_tos(agent, 1, 256), GONICE_EINVAL);
  EXPECT(gonice_agent_set_stream_tos(agent, 1, -1), GONICE_EINVAL);

  /* Close, then calls after close; free; calls after free. */
  EXPECT(gonice_agent_close_async(agent, NULL, NULL), 0);
  EXPECT(gonice_agent_close_async(agent, NULL, NULL), GONICE_EBUSY);
  EXPECT(gonice_agent_free(agent), 0);
  EXPECT(gonice_agent_free(agent), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_add_stream(agent, 1), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_send(agent, 1, 1, 3, "abc"), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_recv(agent, 1, 1, buf, sizeof buf), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_attach_recv(agent, 1, 1, NULL, NULL), GONICE_EBADHANDLE);
  EXPECT(gonice_agent_parse_remote_sdp(agent, "x"), GONICE_EBADHANDLE);

  /* A closed (not freed) agent answers ECLOSED. */
  GoniceAgent *closed;
  EXPECT(gonice_agent_new(&closed, 0), 0);
  EXPECT(gonice_agent_add_stream(closed, 1), 1);
  EXPECT(gonice_agent_close_async(closed, NULL, NULL), 0);
  {
    int rc = 0;
    for (int i = 0; i < 500 && rc != GONICE_ECLOSED; i++) {
      rc = gonice_agent_add_stream(closed, 1);
      if (rc != GONICE_ECLOSED) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
      }
    }
    EXPECT(rc, GONICE_ECLOSED);
  }
  EXPECT(gonice_agent_free(closed), 0);

  /* A never-started agent closes too. */
  GoniceAgent *unused;
  EXPECT(gonice_agent_new(&unused, GONICE_AGENT_OPTION_DISPATCH), 0);
  TRUE_(gonice_agent_get_fd(unused) >= 0);
  EXPECT(gonice_agent_dispatch(unused), 0);
  EXPECT(gonice_agent_free(unused), 0);

  /* Connections: NULL, made-up, agent and stale handles; NULL and oversize
   * arguments; bad SDP; calls out of turn; calls after close and free. */
  {
    GoniceConnection *conn = NULL, *cstale = NULL, *cd = NULL;
    GoniceConnection *cbogus = (GoniceConnection *)(uintptr_t)0x1234;
    GoniceAgent *ag = NULL;
    static unsigned char big[GONICE_MAX_DATAGRAM + 1];
    unsigned char rtp[12] = {0x80, 111};

    EXPECT(gonice_connection_new(NULL, 0), GONICE_EINVAL);
    EXPECT(gonice_connection_new(&conn, 1u << 30), GONICE_EINVAL);
    TRUE_(conn == NULL);
    EXPECT(gonice_connection_new(&cstale, GONICE_CONNECTION_OPTION_ICE_TCP), 0); /* a known bit */
    EXPECT(gonice_connection_free(cstale), 0);
    EXPECT(gonice_connection_new(&conn, 0), 0);
    EXPECT(gonice_agent_new(&ag, 0), 0);
    GoniceConnection *as_conn = (GoniceConnection *)(uintptr_t)ag;

    /* Every function with a NULL, made-up, stale and agent handle. */
    GoniceConnection *bad[] = {NULL, cbogus, cstale, as_conn};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      GoniceConnection *h = bad[i];
      s = (char *)&s; /* an out pointer is set to NULL even so */
      EXPECT(gonice_connection_free(h), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_close(h), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_add_local_address(h, "127.0.0.1"), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_set_ssrc(h, "audio", 1), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_set_event_callback(h, NULL, NULL), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_set_rtp_callback(h, NULL, NULL), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_set_rtcp_callback(h, NULL, NULL), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_create_offer(h, &s), GONICE_EBADHANDLE);
      TRUE_(s == NULL);
      EXPECT(gonice_connection_create_answer(h, &s), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_set_remote_description(h, "v=0\r\n"), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_add_remote_candidate(h, ""), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_write_rtp(h, rtp, sizeof rtp), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_write_rtcp(h, rtp, sizeof rtp), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_get_fd(h), GONICE_EBADHANDLE);
      EXPECT(gonice_connection_dispatch(h), GONICE_EBADHANDLE);
    }
    /* A connection's handle is not an agent's. */
    EXPECT(gonice_agent_add_stream((GoniceAgent *)(uintptr_t)conn, 1), GONICE_EBADHANDLE);
    EXPECT(gonice_agent_free((GoniceAgent *)(uintptr_t)conn), GONICE_EBADHANDLE);
    EXPECT(gonice_agent_get_fd((GoniceAgent *)(uintptr_t)conn), GONICE_EBADHANDLE);
    EXPECT(gonice_agent_free(ag), 0);

    /* NULL and bad arguments. */
    EXPECT(gonice_connection_add_local_address(conn, NULL), GONICE_EINVAL);
    EXPECT(gonice_connection_add_local_address(conn, "not an address"), GONICE_EINVAL);
    EXPECT(gonice_connection_add_local_address(conn, "fe80::1%eth0"), GONICE_EINVAL);
    EXPECT(gonice_connection_add_local_address(conn, "127.0.0.1"), 0);
    EXPECT(gonice_connection_set_ssrc(conn, NULL, 1), GONICE_EINVAL);
    EXPECT(gonice_connection_set_ssrc(conn, "", 1), GONICE_EINVAL);
    EXPECT(gonice_connection_set_ssrc(conn, "application", 1), GONICE_EINVAL);
    EXPECT(gonice_connection_set_ssrc(conn, "AUDIO", 1), GONICE_EINVAL);
    EXPECT(gonice_connection_set_ssrc(conn, "audio", 0xffffffffu), 0);
    EXPECT(gonice_connection_create_offer(conn, NULL), GONICE_EINVAL);
    EXPECT(gonice_connection_create_answer(conn, NULL), GONICE_EINVAL);
    EXPECT(gonice_connection_set_remote_description(conn, NULL), GONICE_EINVAL);
    EXPECT(gonice_connection_add_remote_candidate(conn, NULL), GONICE_EINVAL);
    EXPECT(gonice_connection_write_rtp(conn, NULL, 12), GONICE_EINVAL);
    EXPECT(gonice_connection_write_rtcp(conn, NULL, 0), GONICE_EINVAL);
    EXPECT(gonice_connection_write_rtp(conn, rtp, 0), GONICE_EINVAL);
    EXPECT(gonice_connection_write_rtp(conn, big, sizeof big), GONICE_EINVAL);
    EXPECT(gonice_connection_write_rtcp(conn, big, (size_t)-1), GONICE_EINVAL);
    EXPECT(gonice_connection_write_rtp(conn, "garbage, not RTP", 16), GONICE_EINVAL);
    EXPECT(gonice_connection_write_rtp(conn, rtp, 11), GONICE_EINVAL); /* short header */
    EXPECT(gonice_connection_write_rtcp(conn, rtp, sizeof rtp), GONICE_EINVAL); /* RTP, not RTCP */
    EXPECT(gonice_connection_get_fd(conn), GONICE_EINVAL); /* not in dispatch mode */
    EXPECT(gonice_connection_dispatch(conn), GONICE_EINVAL);

    /* Out of turn: an answer without an offer, a candidate without a remote
     * description, media before READY. */
    EXPECT(gonice_connection_create_answer(conn, &s), GONICE_EBUSY);
    TRUE_(s == NULL);
    EXPECT(gonice_connection_add_remote_candidate(conn, "end-of-candidates"), GONICE_EBUSY);
    EXPECT(gonice_connection_write_rtp(conn, rtp, sizeof rtp), GONICE_EAGAIN);
    EXPECT(gonice_connection_add_local_address(conn, "127.0.0.1"), GONICE_EBUSY); /* started */
    EXPECT(gonice_connection_set_ssrc(conn, "video", 2), GONICE_EBUSY);

    /* Bad SDP: garbage, empty, no ICE credentials, too long; a bad one is not
     * applied, so a good one still is. */
    EXPECT(gonice_connection_set_remote_description(conn, "garbage"), GONICE_EINVAL);
    EXPECT(gonice_connection_set_remote_description(conn, ""), GONICE_EINVAL);
    EXPECT(gonice_connection_set_remote_description(
               conn, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                     "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
                     "a=rtpmap:111 opus/48000/2\r\n"),
           GONICE_EINVAL);
    {
      size_t n = (1u << 20) + 2;
      char *huge = malloc(n);
      TRUE_(huge != NULL);
      if (huge != NULL) {
        memset(huge, 'v', n - 1);
        huge[n - 1] = '\0';
        EXPECT(gonice_connection_set_remote_description(conn, huge), GONICE_EINVAL);
        huge[2000] = '\0';
        EXPECT(gonice_connection_set_ssrc(conn, huge, 1), GONICE_EINVAL);
        EXPECT(gonice_connection_add_remote_candidate(conn, huge), GONICE_EINVAL);
        free(huge);
      }
    }

    /* Offer, then a second offer; the offer as its own answer is refused
     * (actpass answers nothing). */
    EXPECT(gonice_connection_new(&cd, GONICE_CONNECTION_OPTION_DISPATCH |
                                          GONICE_CONNECTION_OPTION_NO_TRICKLE),
           0);
    EXPECT(gonice_connection_add_local_address(cd, "127.0.0.1"), 0);
    TRUE_(gonice_connection_get_fd(cd) >= 0);
    TRUE_(gonice_connection_create_offer(cd, &s) > 0);
    EXPECT(gonice_connection_create_offer(cd, &s2), GONICE_EBUSY);
    TRUE_(s2 == NULL);
    if (s != NULL) {
      EXPECT(gonice_connection_set_remote_description(cd, s), GONICE_EINVAL);
      EXPECT(gonice_connection_add_remote_candidate(cd, "candidate:x"), GONICE_EBUSY);
      /* conn answers it: then bad and unusable candidates. */
      EXPECT(gonice_connection_set_remote_description(conn, s), 0);
      EXPECT(gonice_connection_set_remote_description(conn, s), GONICE_EBUSY);
      EXPECT(gonice_connection_add_remote_candidate(conn, "candidate:garbage"), GONICE_EINVAL);
      /* A TCP candidate is taken (paired only with ICE-TCP on). */
      EXPECT(gonice_connection_add_remote_candidate(
                 conn, "a=candidate:1 1 tcp 2105524479 127.0.0.1 9 typ host tcptype active"),
             0);
      EXPECT(gonice_connection_add_remote_candidate(
                 conn, "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"),
             0);
      EXPECT(gonice_connection_add_remote_candidate(conn, "end-of-candidates"), 0);
    }
    gonice_free(s);
    s = NULL;
    TRUE_(gonice_connection_dispatch(cd) >= 0); /* the events so far, no callback set */

    /* Close, calls after close, free, calls after free. */
    EXPECT(gonice_connection_close(cd), 0);
    EXPECT(gonice_connection_close(cd), 0);
    EXPECT(gonice_connection_write_rtp(cd, rtp, sizeof rtp), GONICE_ECLOSED);
    EXPECT(gonice_connection_create_answer(cd, &s), GONICE_EBUSY);
    EXPECT(gonice_connection_free(cd), 0);
    EXPECT(gonice_connection_free(cd), GONICE_EBADHANDLE);
    EXPECT(gonice_connection_dispatch(cd), GONICE_EBADHANDLE);
    EXPECT(gonice_connection_close(conn), 0);
    EXPECT(gonice_connection_create_offer(conn, &s), GONICE_EBUSY);
    EXPECT(gonice_connection_free(conn), 0);
    EXPECT(gonice_connection_write_rtp(conn, rtp, sizeof rtp), GONICE_EBADHANDLE);

    /* A never-started connection closes and frees. */
    EXPECT(gonice_connection_new(&conn, GONICE_CONNECTION_OPTION_DISPATCH), 0);
    EXPECT(gonice_connection_close(conn), 0);
    EXPECT(gonice_connection_create_offer(conn, &s), GONICE_ECLOSED);
    EXPECT(gonice_connection_dispatch(conn), 0); /* CONN_FINISHED, no callback set */
    EXPECT(gonice_connection_free(conn), 0);
  }

  printf("%d cases, %d failed\n", ncases, nfail);
  return nfail == 0 ? 0 : 1;
}
