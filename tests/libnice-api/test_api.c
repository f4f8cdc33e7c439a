/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - libnice's API semantics, written from libnice 0.1.21's
 * documentation (agent.h, address.h, candidate.h, the STUN headers) and held
 * to what Debian's libnice does. Built against the system's libnice-dev
 * headers and linked with -lnice; CTest runs the same binary twice: on
 * Debian's libnice, and with LD_LIBRARY_PATH at the drop-in
 * (compat/libnice). A test that fails on Debian's libnice is a wrong test.
 *
 *   test_libnice_api [--expect system|gonice] [GTest options]
 *
 * --expect checks which libnice.so.10 the dynamic loader chose, so a run
 * meant for the drop-in cannot pass on the system's library by mistake.
 *
 * Two agents connect on 127.0.0.1 (libnice and the drop-in both accept an
 * explicit loopback address). Every signal handler records the thread it ran
 * on: the agents' GMainContext is iterated by the test's main thread, and a
 * second context (one agent's attach_recv context) by one other thread; a
 * signal from any other thread (a library thread) fails.
 */
#define _GNU_SOURCE /* dladdr */
#include <nice/agent.h>
#include <nice/interfaces.h>
#include <stun/stunagent.h>
#include <stun/usages/bind.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <net/if.h>
#include <string.h>

#define TIMEOUT_US (20 * G_USEC_PER_SEC)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* iterate_until iterates ctx on this thread until *flag or the timeout. */
static gboolean iterate_until(GMainContext *ctx, volatile gint *flag) {
  gint64 end = g_get_monotonic_time() + TIMEOUT_US;
  while (!g_atomic_int_get(flag) && g_get_monotonic_time() < end)
    if (!g_main_context_iteration(ctx, FALSE))
      g_usleep(1000);
  return g_atomic_int_get(flag) != 0;
}

/* ------------------------------------------------------------------------ */
/* Properties: names, types, flags, defaults                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
  const char *name;
  GType type;         /* the GParamSpec's value type */
  GParamFlags flags;  /* of READABLE, WRITABLE, CONSTRUCT, CONSTRUCT_ONLY */
  const char *def;    /* g_strdup_value_contents of the default */
} PropSpec;

#define RW (G_PARAM_READABLE | G_PARAM_WRITABLE)
#define C G_PARAM_CONSTRUCT
#define CO G_PARAM_CONSTRUCT_ONLY

static void test_properties(void) {
  /* libnice 0.1.21's documented properties (agent.c's class_init, as listed
   * by g_object_class_list_properties on Debian's libnice). */
  const PropSpec specs[] = {
      {"compatibility", G_TYPE_UINT, RW | CO, "0"},
      {"main-context", G_TYPE_POINTER, RW | CO, "NULL"},
      {"stun-server", G_TYPE_STRING, RW, "NULL"},
      {"stun-server-port", G_TYPE_UINT, RW, "1"},
      {"controlling-mode", G_TYPE_BOOLEAN, RW, "FALSE"},
      {"full-mode", G_TYPE_BOOLEAN, RW | CO, "TRUE"},
      {"stun-pacing-timer", G_TYPE_UINT, RW | C, "20"},
      {"max-connectivity-checks", G_TYPE_UINT, RW, "0"},
      {"proxy-type", G_TYPE_UINT, RW, "0"},
      {"proxy-ip", G_TYPE_STRING, RW, "NULL"},
      {"proxy-port", G_TYPE_UINT, RW, "1"},
      {"proxy-username", G_TYPE_STRING, RW, "NULL"},
      {"proxy-password", G_TYPE_STRING, RW, "NULL"},
      {"proxy-extra-headers", G_TYPE_HASH_TABLE, RW, "NULL"},
      {"upnp", G_TYPE_BOOLEAN, RW | C, "TRUE"},
      {"upnp-timeout", G_TYPE_UINT, RW | C, "200"},
      {"reliable", G_TYPE_BOOLEAN, RW | CO, "FALSE"},
      {"ice-udp", G_TYPE_BOOLEAN, RW, "TRUE"},
      {"ice-tcp", G_TYPE_BOOLEAN, RW, "TRUE"},
      {"bytestream-tcp", G_TYPE_BOOLEAN, RW, "FALSE"},
      {"keepalive-conncheck", G_TYPE_BOOLEAN, RW, "FALSE"},
      {"force-relay", G_TYPE_BOOLEAN, RW, "FALSE"},
      {"stun-max-retransmissions", G_TYPE_UINT, RW | C, "3"},
      {"stun-initial-timeout", G_TYPE_UINT, RW | C, "500"},
      {"stun-reliable-timeout", G_TYPE_UINT, RW | C, "2000"},
      {"nomination-mode", 0 /* NiceNominationMode, by name */, RW | CO,
       "((NiceNominationMode) NICE_NOMINATION_MODE_AGGRESSIVE)"},
      {"ice-trickle", G_TYPE_BOOLEAN, RW, "FALSE"},
      {"support-renomination", G_TYPE_BOOLEAN, RW, "FALSE"},
      {"idle-timeout", G_TYPE_UINT, RW | C, "5000"},
      {"consent-freshness", G_TYPE_BOOLEAN, RW | CO, "FALSE"},
  };
  NiceAgent *agent = nice_agent_new(NULL, NICE_COMPATIBILITY_RFC5245);
  GObjectClass *klass = G_OBJECT_GET_CLASS(agent);
  guint n;
  GParamSpec **all = g_object_class_list_properties(klass, &n);
  g_assert_cmpuint(n, ==, G_N_ELEMENTS(specs));
  g_free(all);
  g_assert_true(G_IS_OBJECT(agent));
  g_assert_true(g_type_is_a(NICE_TYPE_AGENT, G_TYPE_OBJECT));
  g_assert_cmpstr(g_type_name(NICE_TYPE_AGENT), ==, "NiceAgent");
  for (guint i = 0; i < G_N_ELEMENTS(specs); i++) {
    GParamSpec *p = g_object_class_find_property(klass, specs[i].name);
    GValue v = G_VALUE_INIT;
    gchar *s;
    const GParamFlags mask = RW | C | CO;
    g_test_message("property %s", specs[i].name);
    g_assert_nonnull(p);
    if (specs[i].type != 0)
      g_assert_cmpstr(g_type_name(p->value_type), ==, g_type_name(specs[i].type));
    else
      g_assert_cmpstr(g_type_name(p->value_type), ==, "NiceNominationMode");
    g_assert_cmphex(p->flags & mask, ==, specs[i].flags);
    g_value_init(&v, p->value_type);
    g_param_value_set_default(p, &v);
    s = g_strdup_value_contents(&v);
    g_assert_cmpstr(s, ==, specs[i].def);
    g_free(s);
    g_value_unset(&v);
  }
  g_object_unref(agent);
}

/* Values set through g_object_new/g_object_set read back; nice_agent_new's
 * and nice_agent_new_full's arguments land in the properties. */
static void test_property_values(void) {
  GMainContext *ctx = g_main_context_new();
  NiceAgent *agent;
  gpointer got_ctx = NULL;
  guint compat = 99, port = 0, nm = 99;
  gchar *server = NULL;
  gboolean controlling = FALSE, full = TRUE, trickle = FALSE, consent = FALSE;

  agent = g_object_new(NICE_TYPE_AGENT, "compatibility", NICE_COMPATIBILITY_RFC5245,
                       "main-context", ctx, "full-mode", TRUE, "nomination-mode",
                       NICE_NOMINATION_MODE_REGULAR, "ice-tcp", FALSE, NULL);
  g_object_set(agent, "stun-server", "192.0.2.1", "stun-server-port", 3478u, "controlling-mode",
               TRUE, "upnp", FALSE, NULL);
  g_object_get(agent, "compatibility", &compat, "main-context", &got_ctx, "stun-server", &server,
               "stun-server-port", &port, "controlling-mode", &controlling, "nomination-mode",
               &nm, NULL);
  g_assert_cmpuint(compat, ==, NICE_COMPATIBILITY_RFC5245);
  g_assert_true(got_ctx == ctx);
  g_assert_cmpstr(server, ==, "192.0.2.1");
  g_assert_cmpuint(port, ==, 3478);
  g_assert_true(controlling);
  g_assert_cmpuint(nm, ==, NICE_NOMINATION_MODE_REGULAR);
  g_free(server);
  g_object_unref(agent);

  agent = nice_agent_new_full(ctx, NICE_COMPATIBILITY_RFC5245,
                              NICE_AGENT_OPTION_REGULAR_NOMINATION | NICE_AGENT_OPTION_LITE_MODE |
                                  NICE_AGENT_OPTION_ICE_TRICKLE |
                                  NICE_AGENT_OPTION_CONSENT_FRESHNESS);
  g_object_get(agent, "nomination-mode", &nm, "full-mode", &full, "ice-trickle", &trickle,
               "consent-freshness", &consent, "main-context", &got_ctx, NULL);
  g_assert_cmpuint(nm, ==, NICE_NOMINATION_MODE_REGULAR);
  g_assert_false(full);
  g_assert_true(trickle);
  g_assert_true(consent);
  g_assert_true(got_ctx == ctx);
  g_object_unref(agent);

  agent = nice_agent_new_full(NULL, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_NONE);
  g_object_get(agent, "nomination-mode", &nm, "full-mode", &full, "main-context", &got_ctx, NULL);
  g_assert_cmpuint(nm, ==, NICE_NOMINATION_MODE_AGGRESSIVE);
  g_assert_true(full);
  g_assert_null(got_ctx);
  g_object_unref(agent);
  g_main_context_unref(ctx);
}

/* ------------------------------------------------------------------------ */
/* Signals: names, signatures, order of registration                          */
/* ------------------------------------------------------------------------ */

static void test_signals(void) {
  static const struct {
    const char *name;
    const char *params;
  } sigs[] = {
      /* in libnice's order of registration */
      {"component-state-changed", "guint,guint,guint"},
      {"candidate-gathering-done", "guint"},
      {"new-selected-pair", "guint,guint,gchararray,gchararray"},
      {"new-candidate", "guint,guint,gchararray"},
      {"new-remote-candidate", "guint,guint,gchararray"},
      {"initial-binding-request-received", "guint"},
      {"reliable-transport-writable", "guint,guint"},
      {"streams-removed", "_NiceAgentStreamIds"},
      {"new-selected-pair-full", "guint,guint,NiceCandidate,NiceCandidate"},
      {"new-candidate-full", "NiceCandidate"},
      {"new-remote-candidate-full", "NiceCandidate"},
  };
  guint n, prev = 0;
  guint *ids;
  (void)g_type_class_ref(NICE_TYPE_AGENT);
  ids = g_signal_list_ids(NICE_TYPE_AGENT, &n);
  g_assert_cmpuint(n, ==, G_N_ELEMENTS(sigs));
  g_free(ids);
  for (guint i = 0; i < G_N_ELEMENTS(sigs); i++) {
    GSignalQuery q;
    GString *params = g_string_new(NULL);
    guint id = g_signal_lookup(sigs[i].name, NICE_TYPE_AGENT);
    g_test_message("signal %s", sigs[i].name);
    g_assert_cmpuint(id, >, prev);
    prev = id;
    g_signal_query(id, &q);
    g_assert_true(q.return_type == G_TYPE_NONE);
    g_assert_true(q.signal_flags & G_SIGNAL_RUN_LAST);
    for (guint j = 0; j < q.n_params; j++)
      g_string_append_printf(params, "%s%s", j ? "," : "",
                             g_type_name(q.param_types[j] & ~G_SIGNAL_TYPE_STATIC_SCOPE));
    g_assert_cmpstr(params->str, ==, sigs[i].params);
    g_string_free(params, TRUE);
  }
  g_assert_true(G_TYPE_IS_BOXED(NICE_TYPE_CANDIDATE));
  g_assert_cmpstr(g_type_name(NICE_TYPE_CANDIDATE), ==, "NiceCandidate");
}

/* ------------------------------------------------------------------------ */
/* NiceAddress and NiceCandidate helpers                                      */
/* ------------------------------------------------------------------------ */

static void test_address(void) {
  NiceAddress a, b, *d;
  gchar s[NICE_ADDRESS_STRING_LEN];
  struct sockaddr_storage ss;
  g_assert_cmpuint(sizeof(NiceAddress), ==, 28);

  nice_address_init(&a);
  g_assert_false(nice_address_is_valid(&a));
  g_assert_cmpint(nice_address_ip_version(&a), ==, 0);

  g_assert_true(nice_address_set_from_string(&a, "192.0.2.7"));
  nice_address_set_port(&a, 5000);
  g_assert_cmpuint(nice_address_get_port(&a), ==, 5000);
  g_assert_cmpint(nice_address_ip_version(&a), ==, 4);
  g_assert_true(nice_address_is_valid(&a));
  nice_address_to_string(&a, s);
  g_assert_cmpstr(s, ==, "192.0.2.7");
  g_assert_cmpint(a.s.ip4.sin_family, ==, AF_INET);
  g_assert_cmpuint(ntohs(a.s.ip4.sin_port), ==, 5000);

  g_assert_false(nice_address_set_from_string(&b, "not an address"));
  g_assert_true(nice_address_set_from_string(&b, "2001:db8::1"));
  g_assert_cmpint(nice_address_ip_version(&b), ==, 6);
  nice_address_set_port(&b, 9);
  d = nice_address_dup(&b);
  g_assert_true(nice_address_equal(d, &b));
  nice_address_set_port(d, 10);
  g_assert_false(nice_address_equal(d, &b));
  g_assert_true(nice_address_equal_no_port(d, &b));
  g_assert_false(nice_address_equal(&a, &b));
  {
    gchar *t = nice_address_dup_string(d);
    g_assert_cmpstr(t, ==, "2001:db8::1");
    g_free(t);
  }
  nice_address_free(d);

  nice_address_copy_to_sockaddr(&a, (struct sockaddr *)&ss);
  g_assert_cmpint(ss.ss_family, ==, AF_INET);
  nice_address_init(&b);
  nice_address_set_from_sockaddr(&b, (struct sockaddr *)&ss);
  g_assert_true(nice_address_equal(&a, &b));

  nice_address_set_ipv4(&b, 0x0a000001);
  nice_address_to_string(&b, s);
  g_assert_cmpstr(s, ==, "10.0.0.1");
  g_assert_true(nice_address_is_private(&b));
  g_assert_false(nice_address_is_private(&a));
  d = nice_address_new();
  g_assert_false(nice_address_is_valid(d));
  nice_address_free(d);
}

static void test_candidate(void) {
  NiceCandidate *c, *copy;
  g_assert_cmpuint(sizeof(NiceCandidate), ==, 128);
  c = nice_candidate_new(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE);
  g_assert_cmpint(c->type, ==, NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE);
  g_assert_cmpint(c->transport, ==, NICE_CANDIDATE_TRANSPORT_UDP);
  g_assert_cmpuint(c->priority, ==, 0);
  g_assert_cmpstr(c->foundation, ==, "");
  g_assert_false(nice_address_is_valid(&c->addr));
  nice_address_set_from_string(&c->addr, "192.0.2.1");
  nice_address_set_port(&c->addr, 4000);
  g_strlcpy(c->foundation, "7", sizeof(c->foundation));
  c->username = g_strdup("user");
  copy = nice_candidate_copy(c);
  g_assert_true(copy->username != c->username);
  g_assert_cmpstr(copy->username, ==, "user");
  g_assert_cmpstr(copy->foundation, ==, "7");
  g_assert_true(nice_candidate_equal_target(c, copy));
  nice_address_set_port(&copy->addr, 4001);
  g_assert_false(nice_candidate_equal_target(c, copy));
  nice_candidate_free(copy);
  copy = g_boxed_copy(NICE_TYPE_CANDIDATE, c);
  g_assert_cmpuint(nice_address_get_port(&copy->addr), ==, 4000);
  g_boxed_free(NICE_TYPE_CANDIDATE, copy);
  nice_candidate_free(c);

  g_assert_cmpstr(nice_candidate_type_to_string(NICE_CANDIDATE_TYPE_HOST), ==, "host");
  g_assert_cmpstr(nice_candidate_type_to_string(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE), ==, "srflx");
  g_assert_cmpstr(nice_candidate_type_to_string(NICE_CANDIDATE_TYPE_PEER_REFLEXIVE), ==, "prflx");
  g_assert_cmpstr(nice_candidate_type_to_string(NICE_CANDIDATE_TYPE_RELAYED), ==, "relay");
  g_assert_cmpstr(nice_candidate_transport_to_string(NICE_CANDIDATE_TRANSPORT_UDP), ==, "udp");
  g_assert_cmpstr(nice_candidate_transport_to_string(NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE), ==,
                  "tcp-act");
  g_assert_cmpstr(nice_component_state_to_string(NICE_COMPONENT_STATE_GATHERING), ==, "gathering");
  g_assert_cmpstr(nice_component_state_to_string(NICE_COMPONENT_STATE_READY), ==, "ready");
  g_assert_cmpstr(nice_component_state_to_string(NICE_COMPONENT_STATE_FAILED), ==, "failed");
}

static void test_interfaces(void) {
  GList *ips = nice_interfaces_get_local_ips(TRUE), *names = nice_interfaces_get_local_interfaces();
  NiceAddress lo;
  gchar *ip;
  g_assert_nonnull(g_list_find_custom(ips, "127.0.0.1", (GCompareFunc)strcmp));
  g_list_free_full(ips, g_free);
  ips = nice_interfaces_get_local_ips(FALSE);
  g_assert_null(g_list_find_custom(ips, "127.0.0.1", (GCompareFunc)strcmp));
  g_list_free_full(ips, g_free);
  g_assert_nonnull(g_list_find_custom(names, "lo", (GCompareFunc)strcmp));
  g_list_free_full(names, g_free);
  ip = nice_interfaces_get_ip_for_interface("lo");
  g_assert_cmpstr(ip, ==, "127.0.0.1");
  g_free(ip);
  nice_address_set_from_string(&lo, "127.0.0.1");
  g_assert_cmpuint(nice_interfaces_get_if_index_by_addr(&lo), ==, if_nametoindex("lo"));
}

/* ------------------------------------------------------------------------ */
/* Errors on bad ids                                                          */
/* ------------------------------------------------------------------------ */

static void test_bad_ids(void) {
  NiceAgent *agent = nice_agent_new(NULL, NICE_COMPATIBILITY_RFC5245);
  NiceAddress lo;
  NiceCandidate *l = NULL, *r = NULL;
  GSList *list;
  guint sid;

  nice_address_set_from_string(&lo, "127.0.0.1");
  g_assert_true(nice_agent_add_local_address(agent, &lo));
  sid = nice_agent_add_stream(agent, 1);
  g_assert_cmpuint(sid, ==, 1);
  g_assert_cmpuint(nice_agent_add_stream(agent, 2), ==, 2);

  g_assert_false(nice_agent_gather_candidates(agent, 42));
  g_assert_false(nice_agent_set_remote_credentials(agent, 42, "ufrag", "passwordpassword"));
  /* (get_local_credentials on an unknown stream returns TRUE in libnice
   * 0.1.21 without setting the strings; not a documented behaviour, so not
   * tested: docs/libnice-compat.md.) */
  g_assert_null(nice_agent_get_local_candidates(agent, 42, 1));
  g_assert_null(nice_agent_get_local_candidates(agent, sid, 9));
  g_assert_null(nice_agent_get_remote_candidates(agent, 42, 1));
  g_assert_false(nice_agent_attach_recv(agent, 42, 1, NULL, NULL, NULL));
  g_assert_false(nice_agent_restart_stream(agent, 42));
  g_assert_false(nice_agent_get_selected_pair(agent, 42, 1, &l, &r));
  g_assert_false(nice_agent_get_selected_pair(agent, sid, 1, &l, &r)); /* not connected */
  g_assert_cmpint(nice_agent_send(agent, 42, 1, 4, "data"), ==, -1);
  g_assert_cmpint(nice_agent_send(agent, sid, 1, 4, "data"), <, 0); /* not connected */
  g_assert_null(nice_agent_generate_local_stream_sdp(agent, 42, FALSE));

  list = g_slist_append(NULL, nice_candidate_new(NICE_CANDIDATE_TYPE_HOST));
  nice_address_set_from_string(&((NiceCandidate *)list->data)->addr, "127.0.0.1");
  nice_address_set_port(&((NiceCandidate *)list->data)->addr, 9);
  g_assert_cmpint(nice_agent_set_remote_candidates(agent, 42, 1, list), <, 0);
  g_assert_cmpint(nice_agent_set_remote_candidates(agent, sid, 9, list), <, 0);
  g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);

  /* A removed stream is gone; its id is not reused. */
  nice_agent_remove_stream(agent, sid);
  g_assert_false(nice_agent_gather_candidates(agent, sid));
  g_assert_cmpuint(nice_agent_add_stream(agent, 1), ==, 3);
  g_object_unref(agent);
}

/* ------------------------------------------------------------------------ */
/* Two agents on 127.0.0.1: signals, their order and thread, data            */
/* ------------------------------------------------------------------------ */

typedef struct {
  const char *name;
  NiceAgent *agent;
  GThread *loop_thread; /* the thread iterating the agent's context */
  GThread *recv_ctx_thread; /* the thread iterating attach_recv's context, if another */
  guint sid;
  GString *log;         /* "g1 c d2 p3 r4..." : the order of signals */
  volatile gint gathered, ready, got_data, in_gather;
  gint wrong_thread;
  gint cands_in_gather; /* new-candidate-full emitted inside gather_candidates */
  gint sdp_pending;
  GThread *recv_thread; /* thread of the last receive callback */
  gchar received[64];
} Peer;

/* Signals run on a thread iterating one of the agent's contexts: its
 * main-context, or (libnice handles a component's packets there) the context
 * given to attach_recv; never on a thread of the library's own. */
static void check_thread(Peer *p) {
  GThread *self = g_thread_self();
  if (self != p->loop_thread && (p->recv_ctx_thread == NULL || self != p->recv_ctx_thread))
    g_atomic_int_inc(&p->wrong_thread);
}

static void on_state(NiceAgent *agent, guint sid, guint cid, guint state, gpointer data) {
  Peer *p = data;
  (void)agent;
  (void)cid;
  check_thread(p);
  g_assert_cmpuint(sid, ==, p->sid);
  g_string_append_printf(p->log, "s%u ", state);
  if (state == NICE_COMPONENT_STATE_READY)
    g_atomic_int_set(&p->ready, 1);
}

static void on_new_candidate_full(NiceAgent *agent, NiceCandidate *c, gpointer data) {
  Peer *p = data;
  (void)agent;
  check_thread(p);
  g_assert_cmpuint(c->stream_id, ==, p->sid);
  g_assert_cmpuint(c->component_id, ==, 1);
  g_assert_true(nice_address_is_valid(&c->addr));
  if (g_atomic_int_get(&p->in_gather))
    p->cands_in_gather++;
  g_string_append(p->log, "cf ");
}

static void on_new_candidate(NiceAgent *agent, guint sid, guint cid, const gchar *foundation,
                             gpointer data) {
  Peer *p = data;
  (void)agent;
  (void)cid;
  check_thread(p);
  g_assert_cmpuint(sid, ==, p->sid);
  g_assert_nonnull(foundation);
  g_string_append(p->log, "c ");
}

static void on_gathering_done(NiceAgent *agent, guint sid, gpointer data) {
  Peer *p = data;
  (void)agent;
  check_thread(p);
  g_assert_cmpuint(sid, ==, p->sid);
  g_string_append(p->log, "d ");
  g_atomic_int_set(&p->gathered, 1);
}

static void on_pair_full(NiceAgent *agent, guint sid, guint cid, NiceCandidate *l, NiceCandidate *r,
                         gpointer data) {
  Peer *p = data;
  (void)agent;
  (void)cid;
  check_thread(p);
  g_assert_cmpuint(sid, ==, p->sid);
  g_assert_true(nice_address_is_valid(&l->addr));
  g_assert_true(nice_address_is_valid(&r->addr));
  g_string_append(p->log, "pf ");
}

static void on_pair(NiceAgent *agent, guint sid, guint cid, const gchar *lf, const gchar *rf,
                    gpointer data) {
  Peer *p = data;
  (void)agent;
  (void)sid;
  (void)cid;
  check_thread(p);
  g_assert_nonnull(lf);
  g_assert_nonnull(rf);
  g_string_append(p->log, "p ");
}

static void on_recv(NiceAgent *agent, guint sid, guint cid, guint len, gchar *buf, gpointer data) {
  Peer *p = data;
  (void)agent;
  (void)sid;
  (void)cid;
  p->recv_thread = g_thread_self();
  g_strlcpy(p->received, buf, MIN(len + 1, sizeof(p->received)));
  g_atomic_int_set(&p->got_data, 1);
}

static void peer_init(Peer *p, const char *name, GMainContext *ctx, gboolean controlling) {
  NiceAddress lo;
  memset(p, 0, sizeof(*p));
  p->name = name;
  p->log = g_string_new(NULL);
  p->loop_thread = g_thread_self();
  p->agent = nice_agent_new(ctx, NICE_COMPATIBILITY_RFC5245);
  g_object_set(p->agent, "controlling-mode", controlling, "upnp", FALSE, "ice-tcp", FALSE, NULL);
  g_signal_connect(p->agent, "component-state-changed", G_CALLBACK(on_state), p);
  g_signal_connect(p->agent, "new-candidate-full", G_CALLBACK(on_new_candidate_full), p);
  g_signal_connect(p->agent, "new-candidate", G_CALLBACK(on_new_candidate), p);
  g_signal_connect(p->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), p);
  g_signal_connect(p->agent, "new-selected-pair-full", G_CALLBACK(on_pair_full), p);
  g_signal_connect(p->agent, "new-selected-pair", G_CALLBACK(on_pair), p);
  nice_address_set_from_string(&lo, "127.0.0.1");
  g_assert_true(nice_agent_add_local_address(p->agent, &lo));
  p->sid = nice_agent_add_stream(p->agent, 1);
  g_assert_cmpuint(p->sid, >, 0);
}

static void peer_gather(Peer *p) {
  g_atomic_int_set(&p->in_gather, 1);
  g_assert_true(nice_agent_gather_candidates(p->agent, p->sid));
  g_atomic_int_set(&p->in_gather, 0);
}

/* peer_tell gives to's agent from's credentials and candidates, from a copy
 * list that is freed at once (set_remote_candidates copies). */
static void peer_tell(Peer *from, Peer *to) {
  gchar *ufrag = NULL, *pwd = NULL;
  GSList *cands = nice_agent_get_local_candidates(from->agent, from->sid, 1);
  g_assert_nonnull(cands);
  g_assert_true(nice_agent_get_local_credentials(from->agent, from->sid, &ufrag, &pwd));
  g_assert_true(nice_agent_set_remote_credentials(to->agent, to->sid, ufrag, pwd));
  g_assert_cmpint(nice_agent_set_remote_candidates(to->agent, to->sid, 1, cands), ==,
                  (gint)g_slist_length(cands));
  g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
  g_free(ufrag);
  g_free(pwd);
}

static void peer_clear(Peer *p) {
  g_object_unref(p->agent);
  g_string_free(p->log, TRUE);
}

/* recv_loop iterates a second context on its own thread. */
typedef struct {
  GMainContext *ctx;
  GMainLoop *loop;
} RecvLoop;

static gpointer recv_loop_run(gpointer data) {
  RecvLoop *r = data;
  g_main_context_push_thread_default(r->ctx);
  g_main_loop_run(r->loop);
  g_main_context_pop_thread_default(r->ctx);
  return NULL;
}

static void test_connect(void) {
  GMainContext *ctx = g_main_context_new();
  Peer a, b;
  RecvLoop rl = {g_main_context_new(), NULL};
  GThread *rthread;
  NiceCandidate *l = NULL, *r = NULL;
  volatile gint both;

  peer_init(&a, "controlling", ctx, TRUE);
  peer_init(&b, "controlled", ctx, FALSE);
  /* a's data on the test thread (the agent's context); b's on another
   * context, iterated by another thread. */
  g_assert_true(nice_agent_attach_recv(a.agent, a.sid, 1, ctx, on_recv, &a));
  rl.loop = g_main_loop_new(rl.ctx, FALSE);
  rthread = g_thread_new("recv-ctx", recv_loop_run, &rl);
  b.recv_ctx_thread = rthread;
  g_assert_true(nice_agent_attach_recv(b.agent, b.sid, 1, rl.ctx, on_recv, &b));

  peer_gather(&a);
  peer_gather(&b);
  /* libnice signals host candidates from inside gather_candidates. */
  g_assert_cmpint(a.cands_in_gather, >, 0);
  g_assert_cmpint(b.cands_in_gather, >, 0);
  g_assert_true(iterate_until(ctx, &a.gathered));
  g_assert_true(iterate_until(ctx, &b.gathered));
  g_test_message("a after gathering: %s", a.log->str);
  /* gathering, then candidates (full form first), then gathering-done */
  g_assert_true(g_str_has_prefix(a.log->str, "s1 cf c "));
  g_assert_true(g_str_has_suffix(a.log->str, "d "));

  peer_tell(&a, &b);
  peer_tell(&b, &a);
  both = 0;
  {
    gint64 end = g_get_monotonic_time() + TIMEOUT_US;
    while (!(g_atomic_int_get(&a.ready) && g_atomic_int_get(&b.ready)) &&
           g_get_monotonic_time() < end)
      if (!g_main_context_iteration(ctx, FALSE))
        g_usleep(1000);
    both = g_atomic_int_get(&a.ready) && g_atomic_int_get(&b.ready);
  }
  g_test_message("a: %s", a.log->str);
  g_test_message("b: %s", b.log->str);
  g_assert_true(both);
  /* connecting, a selected pair (full form first), connected, ready */
  g_assert_nonnull(strstr(a.log->str, "s2 "));
  g_assert_nonnull(strstr(a.log->str, "pf p "));
  g_assert_nonnull(strstr(b.log->str, "pf p "));
  g_assert_true(strstr(a.log->str, "s2 ") < strstr(a.log->str, "s3 "));
  g_assert_true(strstr(a.log->str, "s3 ") < strstr(a.log->str, "s4 "));
  /* the selected pair comes before CONNECTED (Janus starts DTLS on it) */
  g_assert_true(strstr(a.log->str, "pf ") < strstr(a.log->str, "s3 "));
  g_assert_true(strstr(b.log->str, "pf ") < strstr(b.log->str, "s3 "));
  g_assert_cmpint(nice_agent_get_component_state(a.agent, a.sid, 1), ==, NICE_COMPONENT_STATE_READY);
  g_assert_true(nice_agent_get_selected_pair(a.agent, a.sid, 1, &l, &r));
  g_assert_true(nice_address_is_valid(&l->addr));
  g_assert_true(nice_address_is_valid(&r->addr));

  /* data both ways: a's receive function on the test thread, b's on rthread */
  g_assert_cmpint(nice_agent_send(a.agent, a.sid, 1, 6, "hello"), ==, 6);
  g_assert_cmpint(nice_agent_send(b.agent, b.sid, 1, 6, "olleh"), ==, 6);
  g_assert_true(iterate_until(ctx, &a.got_data));
  g_assert_cmpstr(a.received, ==, "olleh");
  g_assert_true(a.recv_thread == g_thread_self());
  {
    gint64 end = g_get_monotonic_time() + TIMEOUT_US;
    while (!g_atomic_int_get(&b.got_data) && g_get_monotonic_time() < end) {
      g_main_context_iteration(ctx, FALSE);
      g_usleep(1000);
    }
  }
  g_assert_true(g_atomic_int_get(&b.got_data));
  g_assert_cmpstr(b.received, ==, "hello");
  g_assert_true(b.recv_thread == rthread);

  g_assert_cmpint(g_atomic_int_get(&a.wrong_thread), ==, 0);
  g_assert_cmpint(g_atomic_int_get(&b.wrong_thread), ==, 0);

  peer_clear(&a);
  peer_clear(&b);
  g_main_loop_quit(rl.loop);
  g_thread_join(rthread);
  g_main_loop_unref(rl.loop);
  g_main_context_unref(rl.ctx);
  /* Nothing of the agents is left on the context. */
  while (g_main_context_iteration(ctx, FALSE))
    ;
  g_main_context_unref(ctx);
}

/* ------------------------------------------------------------------------ */
/* SDP helpers                                                                */
/* ------------------------------------------------------------------------ */

static void test_sdp(void) {
  GMainContext *ctx = g_main_context_new();
  Peer a, b;
  gchar *sdp, *line, *ufrag = NULL, *pwd = NULL;
  GSList *cands;
  NiceCandidate *c;

  peer_init(&a, "a", ctx, TRUE);
  peer_init(&b, "b", ctx, FALSE);
  peer_gather(&a);
  g_assert_true(iterate_until(ctx, &a.gathered));

  /* one host candidate: it is the default one */
  c = nice_agent_get_default_local_candidate(a.agent, a.sid, 1);
  g_assert_nonnull(c);
  g_assert_cmpint(c->type, ==, NICE_CANDIDATE_TYPE_HOST);
  g_assert_cmpuint(c->stream_id, ==, a.sid);
  g_assert_cmpuint(c->component_id, ==, 1);
  nice_candidate_free(c);
  g_assert_null(nice_agent_get_default_local_candidate(a.agent, 42, 1));

  sdp = nice_agent_generate_local_sdp(a.agent);
  g_assert_nonnull(sdp);
  g_assert_nonnull(strstr(sdp, "a=ice-ufrag:"));
  g_assert_nonnull(strstr(sdp, "a=ice-pwd:"));
  g_assert_nonnull(strstr(sdp, "a=candidate:"));
  g_assert_nonnull(strstr(sdp, " 127.0.0.1 "));

  /* b parses a's stream SDP without applying it */
  cands = nice_agent_parse_remote_stream_sdp(b.agent, b.sid, sdp, &ufrag, &pwd);
  g_assert_nonnull(cands);
  g_assert_nonnull(ufrag);
  g_assert_cmpuint(strlen(pwd), >=, 22);
  c = cands->data;
  g_assert_cmpint(c->type, ==, NICE_CANDIDATE_TYPE_HOST);
  g_assert_cmpuint(c->stream_id, ==, b.sid);
  g_assert_cmpuint(c->component_id, ==, 1);
  {
    gchar s[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&c->addr, s);
    g_assert_cmpstr(s, ==, "127.0.0.1");
  }
  g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
  g_free(ufrag);
  g_free(pwd);
  /* and applies it: one candidate */
  g_assert_cmpint(nice_agent_parse_remote_sdp(b.agent, sdp), ==, 1);
  cands = nice_agent_get_remote_candidates(b.agent, b.sid, 1);
  g_assert_cmpuint(g_slist_length(cands), ==, 1);
  g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
  g_free(sdp);

  c = nice_agent_parse_remote_candidate_sdp(
      b.agent, b.sid, "a=candidate:1 1 UDP 2013266431 192.0.2.3 4444 typ host");
  g_assert_nonnull(c);
  g_assert_cmpuint(c->priority, ==, 2013266431u);
  g_assert_cmpstr(c->foundation, ==, "1");
  g_assert_cmpuint(nice_address_get_port(&c->addr), ==, 4444);
  c->stream_id = b.sid;
  c->component_id = 1;
  line = nice_agent_generate_local_candidate_sdp(b.agent, c);
  g_assert_cmpstr(line, ==, "a=candidate:1 1 UDP 2013266431 192.0.2.3 4444 typ host");
  g_free(line);
  nice_candidate_free(c);
  g_assert_null(nice_agent_parse_remote_candidate_sdp(b.agent, b.sid, "a=candidate:garbage"));

  peer_clear(&a);
  peer_clear(&b);
  g_main_context_unref(ctx);
}

/* ------------------------------------------------------------------------ */
/* close_async and streams-removed                                            */
/* ------------------------------------------------------------------------ */

typedef struct {
  volatile gint done;
  GThread *thread;
  GObject *source;
  volatile gint removed;
} CloseState;

static void on_closed(GObject *source, GAsyncResult *res, gpointer data) {
  CloseState *s = data;
  (void)res;
  s->thread = g_thread_self();
  s->source = source;
  g_atomic_int_set(&s->done, 1);
}

static void on_streams_removed(NiceAgent *agent, guint *ids, gpointer data) {
  CloseState *s = data;
  (void)agent;
  g_assert_cmpuint(ids[0], ==, 1);
  g_assert_cmpuint(ids[1], ==, 0);
  g_atomic_int_set(&s->removed, 1);
}

static void test_close_async(void) {
  GMainContext *agent_ctx = g_main_context_new();
  GMainContext *caller_ctx = g_main_context_new();
  CloseState s = {0};
  NiceAgent *agent = nice_agent_new(agent_ctx, NICE_COMPATIBILITY_RFC5245);
  NiceAddress lo;
  guint sid;
  gint64 end;

  g_object_set(agent, "upnp", FALSE, NULL);
  g_signal_connect(agent, "streams-removed", G_CALLBACK(on_streams_removed), &s);
  nice_address_set_from_string(&lo, "127.0.0.1");
  nice_agent_add_local_address(agent, &lo);
  sid = nice_agent_add_stream(agent, 1);
  g_assert_true(nice_agent_gather_candidates(agent, sid));
  nice_agent_remove_stream(agent, sid);
  g_assert_true(iterate_until(agent_ctx, &s.removed));

  /* The callback runs later, on the caller's thread-default context. */
  g_main_context_push_thread_default(caller_ctx);
  nice_agent_close_async(agent, on_closed, &s);
  g_assert_false(g_atomic_int_get(&s.done));
  end = g_get_monotonic_time() + TIMEOUT_US;
  while (!g_atomic_int_get(&s.done) && g_get_monotonic_time() < end)
    if (!g_main_context_iteration(caller_ctx, FALSE))
      g_usleep(1000);
  g_main_context_pop_thread_default(caller_ctx);
  g_assert_true(g_atomic_int_get(&s.done));
  g_assert_true(s.thread == g_thread_self());
  g_assert_true(s.source == G_OBJECT(agent));
  g_object_unref(agent);
  g_main_context_unref(agent_ctx);
  g_main_context_unref(caller_ctx);
}

/* ------------------------------------------------------------------------ */
/* ice-udp and ice-tcp: the transports gathered                              */
/* ------------------------------------------------------------------------ */

static void on_gathered_flag(NiceAgent *agent, guint sid, gpointer data) {
  (void)agent;
  (void)sid;
  g_atomic_int_set((volatile gint *)data, 1);
}

/* gather_transports gathers on 127.0.0.1 with ice-udp and ice-tcp as given
 * (-1: the default) and counts the host candidates per transport; each TCP
 * active one has port 0 (9 in SDP), each passive one a port; the default
 * candidate follows. */
static void gather_transports(int udp, int tcp, guint n[4]) {
  GMainContext *ctx = g_main_context_new();
  NiceAgent *agent = nice_agent_new(ctx, NICE_COMPATIBILITY_RFC5245);
  NiceAddress lo;
  volatile gint done = 0;
  GSList *cands;
  NiceCandidate *def;
  gchar *sdp, *mline;
  guint sid;

  g_object_set(agent, "upnp", FALSE, NULL);
  if (udp >= 0)
    g_object_set(agent, "ice-udp", (gboolean)udp, NULL);
  if (tcp >= 0)
    g_object_set(agent, "ice-tcp", (gboolean)tcp, NULL);
  g_signal_connect(agent, "candidate-gathering-done", G_CALLBACK(on_gathered_flag), (gpointer)&done);
  nice_address_set_from_string(&lo, "127.0.0.1");
  g_assert_true(nice_agent_add_local_address(agent, &lo));
  sid = nice_agent_add_stream(agent, 1);
  memset(n, 0, 4 * sizeof n[0]);
  if (nice_agent_gather_candidates(agent, sid)) {
    g_assert_true(iterate_until(ctx, &done));
    cands = nice_agent_get_local_candidates(agent, sid, 1);
    for (GSList *i = cands; i != NULL; i = i->next) {
      NiceCandidate *c = i->data;
      g_assert_cmpint(c->type, ==, NICE_CANDIDATE_TYPE_HOST);
      g_assert_cmpuint(c->transport, <, 4);
      n[c->transport]++;
      if (c->transport == NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE)
        g_assert_cmpuint(nice_address_get_port(&c->addr), ==, 0);
      else
        g_assert_cmpuint(nice_address_get_port(&c->addr), !=, 0);
    }
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    /* The default candidate is the lowest priority's: TCP passive when
     * there is one (TCP's priorities are below UDP's), and the m= line's. */
    def = nice_agent_get_default_local_candidate(agent, sid, 1);
    g_assert_nonnull(def);
    g_assert_cmpint(def->transport, ==,
                    n[NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE] > 0 ? NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE
                                                                : NICE_CANDIDATE_TRANSPORT_UDP);
    sdp = nice_agent_generate_local_sdp(agent);
    mline = g_strdup_printf("m=- %u ICE/SDP\n", nice_address_get_port(&def->addr));
    g_assert_true(g_str_has_prefix(sdp, mline));
    g_free(mline);
    g_free(sdp);
    nice_candidate_free(def);
    sdp = nice_agent_generate_local_stream_sdp(agent, sid, FALSE);
    g_assert_nonnull(sdp);
    if (n[NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE] > 0)
      g_assert_nonnull(strstr(sdp, " 9 typ host tcptype active"));
    if (n[NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE] > 0)
      g_assert_nonnull(strstr(sdp, "typ host tcptype passive"));
    g_free(sdp);
  }
  g_test_message("ice-udp %d ice-tcp %d: udp %u tcp-act %u tcp-pass %u tcp-so %u", udp, tcp, n[0],
                 n[1], n[2], n[3]);
  g_object_unref(agent);
  g_main_context_unref(ctx);
}

/* ice-tcp is on by default: one address gives a UDP, a TCP active and a
 * TCP passive host candidate; ice-tcp FALSE leaves UDP, ice-udp FALSE TCP. */
static void test_transports(void) {
  guint n[4];
  gather_transports(-1, -1, n);
  g_assert_cmpuint(n[NICE_CANDIDATE_TRANSPORT_UDP], ==, 1);
  g_assert_cmpuint(n[NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE], ==, 1);
  g_assert_cmpuint(n[NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE], ==, 1);
  g_assert_cmpuint(n[NICE_CANDIDATE_TRANSPORT_TCP_SO], ==, 0);
  gather_transports(-1, FALSE, n);
  g_assert_cmpuint(n[NICE_CANDIDATE_TRANSPORT_UDP], ==, 1);
  g_assert_cmpuint(n[1] + n[2] + n[3], ==, 0);
  gather_transports(FALSE, -1, n);
  g_assert_cmpuint(n[NICE_CANDIDATE_TRANSPORT_UDP], ==, 0);
  g_assert_cmpuint(n[NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE], ==, 1);
  g_assert_cmpuint(n[NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE], ==, 1);
}

/* ------------------------------------------------------------------------ */
/* STUN: the calls Janus makes to test its STUN server                         */
/* ------------------------------------------------------------------------ */

static void test_stun(void) {
  StunAgent sa;
  StunMessage req, res;
  uint8_t buf[1500], resp[64];
  size_t n;
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof(ss);
  const uint32_t cookie = 0x2112A442;
  const uint8_t mapped[4] = {198, 51, 100, 7};
  const uint16_t port = 40000;

  stun_agent_init(&sa, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389, 0);
  n = stun_usage_bind_create(&sa, &req, buf, sizeof(buf));
  g_assert_cmpuint(n, ==, 20);
  g_assert_cmpint(stun_message_get_class(&req), ==, STUN_REQUEST);
  g_assert_cmpint(stun_message_get_method(&req), ==, STUN_BINDING);
  g_assert_cmpuint(buf[4], ==, 0x21); /* magic cookie */

  /* A Binding success response (RFC 5389 section 15.2) as a server writes it:
   * XOR-MAPPED-ADDRESS 198.51.100.7:40000. */
  memset(resp, 0, sizeof(resp));
  resp[0] = 0x01; /* class success response, method binding: 0x0101 */
  resp[1] = 0x01;
  resp[3] = 12; /* one attribute: 4 + 8 bytes */
  memcpy(resp + 4, buf + 4, 16); /* cookie and transaction id of the request */
  resp[20] = 0x00;
  resp[21] = 0x20; /* XOR-MAPPED-ADDRESS */
  resp[23] = 8;
  resp[25] = 0x01; /* IPv4 */
  resp[26] = (uint8_t)((port ^ (cookie >> 16)) >> 8);
  resp[27] = (uint8_t)((port ^ (cookie >> 16)) & 0xff);
  for (int i = 0; i < 4; i++)
    resp[28 + i] = mapped[i] ^ (uint8_t)(cookie >> (24 - 8 * i));

  g_assert_cmpint(stun_agent_validate(&sa, &res, resp, 32, NULL, NULL), ==,
                  STUN_VALIDATION_SUCCESS);
  g_assert_cmpint(stun_message_get_class(&res), ==, STUN_RESPONSE);
  g_assert_cmpint(stun_message_get_method(&res), ==, STUN_BINDING);
  g_assert_cmpint(stun_message_find_xor_addr(&res, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, &ss, &sslen),
                  ==, STUN_MESSAGE_RETURN_SUCCESS);
  g_assert_cmpint(ss.ss_family, ==, AF_INET);
  g_assert_cmpuint(ntohs(((struct sockaddr_in *)&ss)->sin_port), ==, port);
  g_assert_cmpmem(&((struct sockaddr_in *)&ss)->sin_addr, 4, mapped, 4);
  sslen = sizeof(ss);
  g_assert_cmpint(stun_message_find_addr(&res, STUN_ATTRIBUTE_MAPPED_ADDRESS, &ss, &sslen), ==,
                  STUN_MESSAGE_RETURN_NOT_FOUND);

  /* The same response again: its transaction is no longer pending. */
  g_assert_cmpint(stun_agent_validate(&sa, &res, resp, 32, NULL, NULL), ==,
                  STUN_VALIDATION_UNMATCHED_RESPONSE);
  /* Not STUN, and cut short. */
  resp[0] = 0xc0;
  g_assert_cmpint(stun_agent_validate(&sa, &res, resp, 32, NULL, NULL), ==,
                  STUN_VALIDATION_NOT_STUN);
  resp[0] = 0x01;
  g_assert_cmpint(stun_agent_validate(&sa, &res, resp, 10, NULL, NULL), ==,
                  STUN_VALIDATION_INCOMPLETE_STUN);
}

/* ------------------------------------------------------------------------ */

static void test_debug(void) {
  /* Callable before any agent exists (Janus calls them first, after fork). */
  nice_debug_enable(TRUE);
  nice_debug_disable(TRUE);
}

int main(int argc, char **argv) {
  const char *expect = NULL;
  Dl_info info;
  if (argc > 2 && strcmp(argv[1], "--expect") == 0) {
    expect = argv[2];
    argv[2] = argv[0];
    argv += 2;
    argc -= 2;
  }
  g_test_init(&argc, &argv, NULL);
  /* Bad ids make libnice log warnings (and criticals for NULL arguments):
   * they are part of the behaviour tested, not failures. */
  g_log_set_always_fatal(G_LOG_FATAL_MASK);
  if (dladdr((void *)nice_agent_new, &info) == 0 || info.dli_fname == NULL) {
    g_printerr("cannot tell which libnice is loaded\n");
    return 1;
  }
  g_printerr("# libnice loaded from %s\n", info.dli_fname);
  if (expect != NULL) {
    gboolean is_dropin = strstr(info.dli_fname, "compat/libnice") != NULL ||
                         strstr(info.dli_fname, "/gonice/") != NULL;
    if (is_dropin != (strcmp(expect, "gonice") == 0)) {
      g_printerr("expected the %s libnice, got %s\n", expect, info.dli_fname);
      return 1;
    }
  }
  g_test_add_func("/libnice/properties", test_properties);
  g_test_add_func("/libnice/property-values", test_property_values);
  g_test_add_func("/libnice/signals", test_signals);
  g_test_add_func("/libnice/address", test_address);
  g_test_add_func("/libnice/candidate", test_candidate);
  g_test_add_func("/libnice/debug", test_debug);
  g_test_add_func("/libnice/interfaces", test_interfaces);
  g_test_add_func("/libnice/stun", test_stun);
  g_test_add_func("/libnice/bad-ids", test_bad_ids);
  g_test_add_func("/libnice/connect", test_connect);
  g_test_add_func("/libnice/sdp", test_sdp);
  g_test_add_func("/libnice/close-async", test_close_async);
  g_test_add_func("/libnice/transports", test_transports);
  return g_test_run();
}
