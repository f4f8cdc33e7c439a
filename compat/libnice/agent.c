/* SPDX-License-Identifier: MIT */
/*
 * agent.c - NiceAgent, libnice's GObject agent, over gonice's C API
 * (libgonice.so.0) in dispatch mode.
 *
 * Each NiceAgent owns one GoniceAgent created with GONICE_AGENT_OPTION_DISPATCH:
 * gonice queues signals and received data and makes an eventfd readable; one
 * GSource (AgentSource) attached to the agent's main-context polls that fd and
 * calls gonice_agent_dispatch(), whose callbacks (below, on_*) emit the GObject
 * signals and call the receive functions - so they all run on the thread that
 * iterates the context, never on a Go thread. A receive function attached
 * with another context is called there (g_main_context_invoke). gather
 * dispatches once on the calling thread, so the host candidates' signals come
 * from inside nice_agent_gather_candidates, as libnice's do. close_async moves
 * the source to the caller's thread-default context, where the close
 * completes (GTask). ARCHITECTURE.md, "The libnice drop-in", has the picture.
 */
#include "compat.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Properties and signals (libnice 0.1.21's names, types, defaults, flags)   */
/* ------------------------------------------------------------------------ */

enum {
  PROP_0,
  PROP_COMPATIBILITY,
  PROP_MAIN_CONTEXT,
  PROP_STUN_SERVER,
  PROP_STUN_SERVER_PORT,
  PROP_CONTROLLING_MODE,
  PROP_FULL_MODE,
  PROP_STUN_PACING_TIMER,
  PROP_MAX_CONNECTIVITY_CHECKS,
  PROP_PROXY_TYPE,
  PROP_PROXY_IP,
  PROP_PROXY_PORT,
  PROP_PROXY_USERNAME,
  PROP_PROXY_PASSWORD,
  PROP_PROXY_EXTRA_HEADERS,
  PROP_UPNP,
  PROP_UPNP_TIMEOUT,
  PROP_RELIABLE,
  PROP_ICE_UDP,
  PROP_ICE_TCP,
  PROP_BYTESTREAM_TCP,
  PROP_KEEPALIVE_CONNCHECK,
  PROP_FORCE_RELAY,
  PROP_STUN_MAX_RETRANSMISSIONS,
  PROP_STUN_INITIAL_TIMEOUT,
  PROP_STUN_RELIABLE_TIMEOUT,
  PROP_NOMINATION_MODE,
  PROP_ICE_TRICKLE,
  PROP_SUPPORT_RENOMINATION,
  PROP_IDLE_TIMEOUT,
  PROP_CONSENT_FRESHNESS,
  N_PROPS
};

enum {
  SIG_COMPONENT_STATE_CHANGED,
  SIG_CANDIDATE_GATHERING_DONE,
  SIG_NEW_SELECTED_PAIR,
  SIG_NEW_CANDIDATE,
  SIG_NEW_REMOTE_CANDIDATE,
  SIG_INITIAL_BINDING_REQUEST_RECEIVED,
  SIG_RELIABLE_TRANSPORT_WRITABLE,
  SIG_STREAMS_REMOVED,
  SIG_NEW_SELECTED_PAIR_FULL,
  SIG_NEW_CANDIDATE_FULL,
  SIG_NEW_REMOTE_CANDIDATE_FULL,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

/* A receive function attached with nice_agent_attach_recv. */
typedef struct {
  guint stream_id, component_id;
  GMainContext *ctx; /* owned ref; the agent's context if attach_recv gave NULL */
  NiceAgentRecvFunc func;
  gpointer data;
} RecvAttach;

/* What the drop-in keeps per stream. */
typedef struct {
  guint n_components;
  gchar *name;        /* for get_stream_name's const return */
} StreamInfo;

static void stream_info_free(gpointer p) {
  StreamInfo *s = p;
  g_free(s->name);
  g_free(s);
}

typedef struct _AgentSource AgentSource;

struct _NiceAgent {
  GObject parent;
  GoniceAgent *h;      /* NULL if gonice_agent_new failed (reported once) */
  GMainContext *ctx;   /* the context signals are emitted on (owned ref) */
  GMutex lock;         /* guards everything below */
  GValue values[N_PROPS];
  gboolean constructed;
  gboolean closing;    /* close_async was called */
  GSource *source;     /* the AgentSource dispatching h */
  GArray *recvs;       /* RecvAttach */
  GHashTable *streams; /* stream id -> StreamInfo */
  GHashTable *held;    /* components whose CONNECTED waits for their pair */
};

G_DEFINE_TYPE(NiceAgent, nice_agent, G_TYPE_OBJECT)

/* The boxed type of streams-removed's argument: a 0-terminated guint array. */
static gpointer stream_ids_copy(gpointer ids) {
  guint n = 0;
  while (((guint *)ids)[n] != 0)
    n++;
  return g_memdup2(ids, (n + 1) * sizeof(guint));
}
static GType stream_ids_get_type(void) {
  static gsize id = 0;
  if (g_once_init_enter(&id))
    g_once_init_leave(&id, g_boxed_type_register_static(g_intern_static_string("_NiceAgentStreamIds"),
                                                        stream_ids_copy, g_free));
  return id;
}

/* ------------------------------------------------------------------------ */
/* The GSource: polls the GoniceAgent's fd and dispatches it                 */
/* ------------------------------------------------------------------------ */

struct _AgentSource {
  GSource base;
  GWeakRef agent; /* a weak ref: the agent owns the source, not the reverse */
};

static gboolean agent_source_dispatch(GSource *source, GSourceFunc cb, gpointer data) {
  AgentSource *s = (AgentSource *)source;
  NiceAgent *agent = g_weak_ref_get(&s->agent);
  (void)cb;
  (void)data;
  if (agent == NULL)
    return G_SOURCE_REMOVE;
  /* GONICE_EBUSY: another thread dispatches right now (gather's synchronous
   * dispatch, or the old source during close_async); the fd stays readable
   * until that one has taken the queue, so nothing is lost. */
  if (agent->h != NULL)
    gonice_agent_dispatch(agent->h);
  g_object_unref(agent);
  return G_SOURCE_CONTINUE;
}

static void agent_source_finalize(GSource *source) {
  g_weak_ref_clear(&((AgentSource *)source)->agent);
}

static GSourceFuncs agent_source_funcs = {
    .dispatch = agent_source_dispatch,
    .finalize = agent_source_finalize,
};

/* agent_source_attach attaches a new AgentSource for agent on ctx; lock held. */
static GSource *agent_source_attach(NiceAgent *agent, GMainContext *ctx) {
  int fd;
  GSource *source;
  if (agent->h == NULL || (fd = gonice_agent_get_fd(agent->h)) < 0)
    return NULL;
  source = g_source_new(&agent_source_funcs, sizeof(AgentSource));
  g_weak_ref_init(&((AgentSource *)source)->agent, agent);
  g_source_set_name(source, "NiceAgent (gonice)");
  g_source_add_unix_fd(source, fd, G_IO_IN);
  g_source_attach(source, ctx);
  return source;
}

/* ------------------------------------------------------------------------ */
/* gonice callbacks: signals and received data, on the dispatching thread    */
/* ------------------------------------------------------------------------ */

static gboolean agent_closing(NiceAgent *agent) {
  gboolean c;
  g_mutex_lock(&agent->lock);
  c = agent->closing;
  g_mutex_unlock(&agent->lock);
  return c;
}

static void on_gathering_done(GoniceAgent *h, unsigned int sid, void *ud) {
  (void)h;
  if (!agent_closing(ud))
    g_signal_emit(ud, signals[SIG_CANDIDATE_GATHERING_DONE], 0, sid);
}

/* libnice signals a component's selected pair before its CONNECTED state;
 * gonice the other way round. The drop-in holds CONNECTED back until the
 * pair (or the next state of the component) is signalled. */
#define COMP_KEY(sid, cid) GUINT_TO_POINTER(((sid) << 12) | ((cid) & 0xfff))

/* release_held emits a held CONNECTED of the component, if any. */
static void release_held(NiceAgent *agent, guint sid, guint cid) {
  gboolean held;
  g_mutex_lock(&agent->lock);
  held = g_hash_table_remove(agent->held, COMP_KEY(sid, cid));
  g_mutex_unlock(&agent->lock);
  if (held && !agent_closing(agent))
    g_signal_emit(agent, signals[SIG_COMPONENT_STATE_CHANGED], 0, sid, cid,
                  (guint)NICE_COMPONENT_STATE_CONNECTED);
}

static void on_state_changed(GoniceAgent *h, unsigned int sid, unsigned int cid,
                             GoniceComponentState state, void *ud) {
  NiceAgent *agent = ud;
  (void)h;
  if (state == GONICE_COMPONENT_STATE_CONNECTED) {
    g_mutex_lock(&agent->lock);
    g_hash_table_add(agent->held, COMP_KEY(sid, cid));
    g_mutex_unlock(&agent->lock);
    return;
  }
  release_held(agent, sid, cid);
  if (!agent_closing(agent))
    g_signal_emit(agent, signals[SIG_COMPONENT_STATE_CHANGED], 0, sid, cid, (guint)state);
}

/* new-candidate-full then new-candidate (and the remote pair), as libnice. */
static void emit_candidate(NiceAgent *agent, const GoniceCandidate *c, guint full, guint legacy) {
  NiceCandidate nc;
  if (agent_closing(agent))
    return;
  compat_candidate_from_gonice(&nc, c);
  g_signal_emit(agent, signals[full], 0, &nc);
  g_signal_emit(agent, signals[legacy], 0, nc.stream_id, nc.component_id, nc.foundation);
}

static void on_new_candidate(GoniceAgent *h, const GoniceCandidate *c, void *ud) {
  (void)h;
  emit_candidate(ud, c, SIG_NEW_CANDIDATE_FULL, SIG_NEW_CANDIDATE);
}

static void on_new_remote_candidate(GoniceAgent *h, const GoniceCandidate *c, void *ud) {
  (void)h;
  emit_candidate(ud, c, SIG_NEW_REMOTE_CANDIDATE_FULL, SIG_NEW_REMOTE_CANDIDATE);
}

static void on_selected_pair(GoniceAgent *h, unsigned int sid, unsigned int cid,
                             const GoniceCandidate *l, const GoniceCandidate *r, void *ud) {
  NiceCandidate nl, nr;
  (void)h;
  if (agent_closing(ud))
    return;
  compat_candidate_from_gonice(&nl, l);
  compat_candidate_from_gonice(&nr, r);
  g_signal_emit(ud, signals[SIG_NEW_SELECTED_PAIR_FULL], 0, sid, cid, &nl, &nr);
  g_signal_emit(ud, signals[SIG_NEW_SELECTED_PAIR], 0, sid, cid, nl.foundation, nr.foundation);
  release_held(ud, sid, cid);
}

static void on_initial_binding(GoniceAgent *h, unsigned int sid, void *ud) {
  (void)h;
  if (!agent_closing(ud))
    g_signal_emit(ud, signals[SIG_INITIAL_BINDING_REQUEST_RECEIVED], 0, sid);
}

static void on_streams_removed(GoniceAgent *h, const unsigned int *ids, unsigned int n, void *ud) {
  (void)h;
  (void)n;
  if (!agent_closing(ud))
    g_signal_emit(ud, signals[SIG_STREAMS_REMOVED], 0, ids);
}

/* A datagram for a receive function of another context than the agent's. */
typedef struct {
  NiceAgent *agent; /* ref */
  guint stream_id, component_id;
  NiceAgentRecvFunc func;
  gpointer data;
  GBytes *bytes;
} RecvForward;

static gboolean recv_forward_run(gpointer p) {
  RecvForward *f = p;
  gsize len;
  const gchar *buf = g_bytes_get_data(f->bytes, &len);
  if (!agent_closing(f->agent))
    f->func(f->agent, f->stream_id, f->component_id, (guint)len, (gchar *)buf, f->data);
  return G_SOURCE_REMOVE;
}

static void recv_forward_free(gpointer p) {
  RecvForward *f = p;
  g_object_unref(f->agent);
  g_bytes_unref(f->bytes);
  g_free(f);
}

static void on_recv(GoniceAgent *h, unsigned int sid, unsigned int cid, unsigned int len,
                    char *buf, void *ud) {
  NiceAgent *agent = ud;
  RecvAttach r = {0};
  gboolean found = FALSE;
  (void)h;
  g_mutex_lock(&agent->lock);
  if (!agent->closing) {
    for (guint i = 0; i < agent->recvs->len; i++) {
      RecvAttach *a = &g_array_index(agent->recvs, RecvAttach, i);
      if (a->stream_id == sid && a->component_id == cid) {
        r = *a;
        g_main_context_ref(r.ctx);
        found = TRUE;
        break;
      }
    }
  }
  g_mutex_unlock(&agent->lock);
  if (!found)
    return;
  if (r.ctx == agent->ctx) {
    r.func(agent, sid, cid, len, buf, r.data);
  } else {
    RecvForward *f = g_new(RecvForward, 1);
    f->agent = g_object_ref(agent);
    f->stream_id = sid;
    f->component_id = cid;
    f->func = r.func;
    f->data = r.data;
    f->bytes = g_bytes_new(buf, len);
    g_main_context_invoke_full(r.ctx, G_PRIORITY_DEFAULT, recv_forward_run, f, recv_forward_free);
  }
  g_main_context_unref(r.ctx);
}

/* ------------------------------------------------------------------------ */
/* Properties                                                                */
/* ------------------------------------------------------------------------ */

static gboolean prop_bool(NiceAgent *a, guint id) { return g_value_get_boolean(&a->values[id]); }
static guint prop_uint(NiceAgent *a, guint id) { return g_value_get_uint(&a->values[id]); }

/* apply_prop gives a stored property to the GoniceAgent. gonice fixes most
 * settings when its agent starts (the first stream, address or gathering);
 * a later change is kept (the getter returns it) but has no effect, as
 * docs/libnice-compat.md says. Lock held. */
static void apply_prop(NiceAgent *a, guint id) {
  int rc = 0;
  if (a->h == NULL)
    return;
  switch (id) {
  case PROP_STUN_SERVER:
  case PROP_STUN_SERVER_PORT: {
    const char *ip = g_value_get_string(&a->values[PROP_STUN_SERVER]);
    guint port = prop_uint(a, PROP_STUN_SERVER_PORT);
    rc = gonice_agent_set_stun_server(a->h, ip, port > 65535 ? 0 : port);
    break;
  }
  case PROP_CONTROLLING_MODE:
    rc = gonice_agent_set_controlling_mode(a->h, prop_bool(a, id));
    break;
  case PROP_FULL_MODE:
    rc = gonice_agent_set_ice_lite(a->h, !prop_bool(a, id));
    break;
  case PROP_STUN_PACING_TIMER:
    rc = gonice_agent_set_ta(a->h, MIN(prop_uint(a, id), 60000u));
    break;
  case PROP_MAX_CONNECTIVITY_CHECKS:
    if (prop_uint(a, id) != 0) /* 0: libnice's own default */
      rc = gonice_agent_set_max_checks(a->h, MIN(prop_uint(a, id), 100000u));
    break;
  case PROP_ICE_UDP:
    rc = gonice_agent_set_ice_udp(a->h, prop_bool(a, id));
    break;
  case PROP_ICE_TCP:
    rc = gonice_agent_set_ice_tcp(a->h, prop_bool(a, id));
    break;
  case PROP_KEEPALIVE_CONNCHECK:
    rc = gonice_agent_set_keepalive_conncheck(a->h, prop_bool(a, id));
    break;
  case PROP_FORCE_RELAY:
    rc = gonice_agent_set_force_relay(a->h, prop_bool(a, id));
    break;
  case PROP_STUN_MAX_RETRANSMISSIONS:
    rc = gonice_agent_set_stun_max_retransmissions(a->h, prop_uint(a, id));
    break;
  case PROP_STUN_INITIAL_TIMEOUT:
    rc = gonice_agent_set_stun_initial_timeout(a->h, prop_uint(a, id));
    break;
  case PROP_NOMINATION_MODE:
    rc = gonice_agent_set_nomination_mode(a->h,
                                          (GoniceNominationMode)g_value_get_enum(&a->values[id]));
    break;
  case PROP_IDLE_TIMEOUT:
    rc = gonice_agent_set_idle_timeout(a->h, prop_uint(a, id));
    break;
  case PROP_CONSENT_FRESHNESS:
    rc = gonice_agent_set_consent_freshness(a->h, prop_bool(a, id));
    break;
  case PROP_SUPPORT_RENOMINATION:
    rc = gonice_agent_set_renomination(a->h, prop_bool(a, id));
    break;
  default: /* kept, no effect in gonice (docs/libnice-compat.md) */
    break;
  }
  if (rc < 0)
    compat_debug("agent %p: property %s not applied: %s", (void *)a, props[id]->name,
                 gonice_last_error());
}

static void nice_agent_set_property(GObject *object, guint id, const GValue *value,
                                    GParamSpec *pspec) {
  NiceAgent *a = NICE_AGENT(object);
  (void)pspec;
  g_mutex_lock(&a->lock);
  g_value_copy(value, g_value_reset(&a->values[id]));
  if (a->constructed)
    apply_prop(a, id);
  g_mutex_unlock(&a->lock);
}

static void nice_agent_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec) {
  NiceAgent *a = NICE_AGENT(object);
  (void)pspec;
  /* controlling-mode too reads back what the application set, as libnice's
   * (not the role a role conflict may have given the agent since). */
  g_mutex_lock(&a->lock);
  g_value_copy(&a->values[id], value);
  g_mutex_unlock(&a->lock);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

static void nice_agent_init(NiceAgent *a) {
  g_mutex_init(&a->lock);
  a->recvs = g_array_new(FALSE, TRUE, sizeof(RecvAttach));
  a->streams = g_hash_table_new_full(NULL, NULL, NULL, stream_info_free);
  a->held = g_hash_table_new(NULL, NULL);
  for (guint i = 1; i < N_PROPS; i++) {
    g_value_init(&a->values[i], props[i]->value_type);
    g_param_value_set_default(props[i], &a->values[i]);
  }
}

static void nice_agent_constructed(GObject *object) {
  NiceAgent *a = NICE_AGENT(object);
  G_OBJECT_CLASS(nice_agent_parent_class)->constructed(object);
  g_mutex_lock(&a->lock);
  a->ctx = g_value_get_pointer(&a->values[PROP_MAIN_CONTEXT]);
  a->ctx = g_main_context_ref(a->ctx != NULL ? a->ctx : g_main_context_default());
  if (gonice_agent_new(&a->h, GONICE_AGENT_OPTION_DISPATCH) < 0) {
    g_critical("libnice (gonice): cannot create the agent: %s", gonice_last_error());
    a->h = NULL;
  }
  if (a->h != NULL) {
    gonice_agent_connect_candidate_gathering_done(a->h, on_gathering_done, a);
    gonice_agent_connect_component_state_changed(a->h, on_state_changed, a);
    gonice_agent_connect_new_candidate_full(a->h, on_new_candidate, a);
    gonice_agent_connect_new_remote_candidate_full(a->h, on_new_remote_candidate, a);
    gonice_agent_connect_new_selected_pair_full(a->h, on_selected_pair, a);
    gonice_agent_connect_initial_binding_request_received(a->h, on_initial_binding, a);
    gonice_agent_connect_streams_removed(a->h, on_streams_removed, a);
    if (prop_bool(a, PROP_RELIABLE))
      g_warning("libnice (gonice): reliable (pseudo-TCP) agents are not supported; "
                "the agent is an ordinary UDP agent");
    for (guint i = 1; i < N_PROPS; i++)
      apply_prop(a, i);
    a->source = agent_source_attach(a, a->ctx);
  }
  a->constructed = TRUE;
  g_mutex_unlock(&a->lock);
}

static void nice_agent_finalize(GObject *object) {
  NiceAgent *a = NICE_AGENT(object);
  if (a->source != NULL) {
    g_source_destroy(a->source);
    g_source_unref(a->source);
  }
  /* No dispatch of h runs now: every dispatch holds a reference. */
  if (a->h != NULL)
    gonice_agent_free(a->h);
  for (guint i = 0; i < a->recvs->len; i++)
    g_main_context_unref(g_array_index(a->recvs, RecvAttach, i).ctx);
  g_array_free(a->recvs, TRUE);
  g_hash_table_destroy(a->streams);
  g_hash_table_destroy(a->held);
  for (guint i = 1; i < N_PROPS; i++)
    g_value_unset(&a->values[i]);
  g_main_context_unref(a->ctx);
  g_mutex_clear(&a->lock);
  G_OBJECT_CLASS(nice_agent_parent_class)->finalize(object);
}

static void nice_agent_class_init(NiceAgentClass *klass) {
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags ctor = rw | G_PARAM_CONSTRUCT;
  const GParamFlags ctor_only = rw | G_PARAM_CONSTRUCT_ONLY;
  const GType cand = NICE_TYPE_CANDIDATE | G_SIGNAL_TYPE_STATIC_SCOPE;

  oc->constructed = nice_agent_constructed;
  oc->finalize = nice_agent_finalize;
  oc->set_property = nice_agent_set_property;
  oc->get_property = nice_agent_get_property;

  props[PROP_COMPATIBILITY] = g_param_spec_uint("compatibility", "ICE specification compatibility",
      "The compatibility mode (NiceCompatibility; gonice speaks RFC 5245/8445 only)",
      NICE_COMPATIBILITY_RFC5245, NICE_COMPATIBILITY_LAST, NICE_COMPATIBILITY_RFC5245, ctor_only);
  props[PROP_MAIN_CONTEXT] = g_param_spec_pointer("main-context", "The GMainContext to use for timeouts",
      "The GMainContext signals are emitted on (NULL: the global default context)", ctor_only);
  props[PROP_STUN_SERVER] = g_param_spec_string("stun-server", "STUN server IP address",
      "The IP address (not the host name) of the STUN server", NULL, rw);
  props[PROP_STUN_SERVER_PORT] = g_param_spec_uint("stun-server-port", "STUN server port",
      "Port of the STUN server", 1, 65536, 1, rw);
  props[PROP_CONTROLLING_MODE] = g_param_spec_boolean("controlling-mode", "ICE controlling mode",
      "Whether the agent is in controlling mode", FALSE, rw);
  props[PROP_FULL_MODE] = g_param_spec_boolean("full-mode", "ICE full mode",
      "Whether the agent is in full mode (FALSE: ICE-lite)", TRUE, ctor_only);
  props[PROP_STUN_PACING_TIMER] = g_param_spec_uint("stun-pacing-timer", "STUN pacing timer",
      "Timer Ta between connectivity checks, in ms", 1, G_MAXUINT, 20, ctor);
  props[PROP_MAX_CONNECTIVITY_CHECKS] = g_param_spec_uint("max-connectivity-checks",
      "Maximum number of connectivity checks", "Upper limit of connectivity checks (0: default)",
      0, G_MAXUINT, 0, rw);
  props[PROP_PROXY_TYPE] = g_param_spec_uint("proxy-type", "Type of proxy to use",
      "NiceProxyType (not supported by gonice)", NICE_PROXY_TYPE_NONE, NICE_PROXY_TYPE_LAST,
      NICE_PROXY_TYPE_NONE, rw);
  props[PROP_PROXY_IP] = g_param_spec_string("proxy-ip", "Proxy server IP",
      "The proxy server's IP address (not supported by gonice)", NULL, rw);
  props[PROP_PROXY_PORT] = g_param_spec_uint("proxy-port", "Proxy server port",
      "The proxy server's port (not supported by gonice)", 1, 65536, 1, rw);
  props[PROP_PROXY_USERNAME] = g_param_spec_string("proxy-username", "Proxy server username",
      "Username for the proxy (not supported by gonice)", NULL, rw);
  props[PROP_PROXY_PASSWORD] = g_param_spec_string("proxy-password", "Proxy server password",
      "Password for the proxy (not supported by gonice)", NULL, rw);
  props[PROP_PROXY_EXTRA_HEADERS] = g_param_spec_boxed("proxy-extra-headers",
      "Extra headers for HTTP proxy connect", "Extra HTTP headers (not supported by gonice)",
      G_TYPE_HASH_TABLE, rw);
  props[PROP_UPNP] = g_param_spec_boolean("upnp", "Use UPnP",
      "Whether to use UPnP IGD (gonice has no UPnP: no effect)", TRUE, ctor);
  props[PROP_UPNP_TIMEOUT] = g_param_spec_uint("upnp-timeout", "Timeout for UPnP discovery",
      "UPnP discovery timeout in ms (no effect)", 100, 60000, 200, ctor);
  props[PROP_RELIABLE] = g_param_spec_boolean("reliable", "reliable mode",
      "Pseudo-TCP reliable streams (not supported by gonice)", FALSE, ctor_only);
  props[PROP_ICE_UDP] = g_param_spec_boolean("ice-udp", "Use ICE-UDP",
      "Gather and use UDP candidates", TRUE, rw);
  props[PROP_ICE_TCP] = g_param_spec_boolean("ice-tcp", "Use ICE-TCP",
      "Gather and use TCP candidates", TRUE, rw);
  props[PROP_BYTESTREAM_TCP] = g_param_spec_boolean("bytestream-tcp", "Bytestream TCP",
      "Bytestream semantics on TCP (no effect)", FALSE, rw);
  props[PROP_KEEPALIVE_CONNCHECK] = g_param_spec_boolean("keepalive-conncheck",
      "Use conncheck as keepalives", "Keepalives as Binding requests", FALSE, rw);
  props[PROP_FORCE_RELAY] = g_param_spec_boolean("force-relay", "Force Relay",
      "Use relayed candidates only", FALSE, rw);
  props[PROP_STUN_MAX_RETRANSMISSIONS] = g_param_spec_uint("stun-max-retransmissions",
      "STUN Max Retransmissions", "Retransmissions of a STUN request", 1, 99, 3, ctor);
  props[PROP_STUN_INITIAL_TIMEOUT] = g_param_spec_uint("stun-initial-timeout",
      "STUN Initial Timeout", "First STUN retransmission timeout in ms", 20, 9999, 500, ctor);
  props[PROP_STUN_RELIABLE_TIMEOUT] = g_param_spec_uint("stun-reliable-timeout",
      "STUN Reliable Timeout", "STUN timeout over TCP in ms (no effect)", 20, 99999, 2000, ctor);
  props[PROP_NOMINATION_MODE] = g_param_spec_enum("nomination-mode", "ICE nomination mode",
      "Regular or aggressive nomination", nice_nomination_mode_get_type(),
      NICE_NOMINATION_MODE_AGGRESSIVE, ctor_only);
  props[PROP_ICE_TRICKLE] = g_param_spec_boolean("ice-trickle", "Trickle ICE",
      "Trickle ICE (gonice always accepts trickled candidates)", FALSE, rw);
  props[PROP_SUPPORT_RENOMINATION] = g_param_spec_boolean("support-renomination",
      "Support RENOMINATION STUN attribute",
      "As controlled agent, a check with the NOMINATION attribute selects its pair", FALSE, rw);
  props[PROP_IDLE_TIMEOUT] = g_param_spec_uint("idle-timeout",
      "Timeout before stopping the agent when being idle", "Idle timeout in ms", 50, 60000, 5000,
      ctor);
  props[PROP_CONSENT_FRESHNESS] = g_param_spec_boolean("consent-freshness", "Consent Freshness",
      "RFC 7675 consent freshness", FALSE, ctor_only);
  g_object_class_install_properties(oc, N_PROPS, props);

  /* In libnice's order (their ids follow from it). */
  signals[SIG_COMPONENT_STATE_CHANGED] = g_signal_new("component-state-changed",
      G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
      G_TYPE_UINT, G_TYPE_UINT, G_TYPE_UINT);
  signals[SIG_CANDIDATE_GATHERING_DONE] = g_signal_new("candidate-gathering-done",
      G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
      G_TYPE_UINT);
  signals[SIG_NEW_SELECTED_PAIR] = g_signal_new("new-selected-pair", G_TYPE_FROM_CLASS(klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 4, G_TYPE_UINT, G_TYPE_UINT,
      G_TYPE_STRING, G_TYPE_STRING);
  signals[SIG_NEW_CANDIDATE] = g_signal_new("new-candidate", G_TYPE_FROM_CLASS(klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_UINT,
      G_TYPE_STRING);
  signals[SIG_NEW_REMOTE_CANDIDATE] = g_signal_new("new-remote-candidate",
      G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
      G_TYPE_UINT, G_TYPE_UINT, G_TYPE_STRING);
  signals[SIG_INITIAL_BINDING_REQUEST_RECEIVED] = g_signal_new(
      "initial-binding-request-received", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[SIG_RELIABLE_TRANSPORT_WRITABLE] = g_signal_new("reliable-transport-writable",
      G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
      G_TYPE_UINT, G_TYPE_UINT);
  signals[SIG_STREAMS_REMOVED] = g_signal_new("streams-removed", G_TYPE_FROM_CLASS(klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
      stream_ids_get_type() | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIG_NEW_SELECTED_PAIR_FULL] = g_signal_new("new-selected-pair-full",
      G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 4,
      G_TYPE_UINT, G_TYPE_UINT, cand, cand);
  signals[SIG_NEW_CANDIDATE_FULL] = g_signal_new("new-candidate-full", G_TYPE_FROM_CLASS(klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, cand);
  signals[SIG_NEW_REMOTE_CANDIDATE_FULL] = g_signal_new("new-remote-candidate-full",
      G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, cand);
}

/* ------------------------------------------------------------------------ */
/* Constructors                                                              */
/* ------------------------------------------------------------------------ */

NiceAgent *nice_agent_new(GMainContext *ctx, NiceCompatibility compat) {
  return g_object_new(NICE_TYPE_AGENT, "compatibility", compat, "main-context", ctx, "reliable",
                      FALSE, NULL);
}

NiceAgent *nice_agent_new_reliable(GMainContext *ctx, NiceCompatibility compat) {
  return g_object_new(NICE_TYPE_AGENT, "compatibility", compat, "main-context", ctx, "reliable",
                      TRUE, NULL);
}

NiceAgent *nice_agent_new_full(GMainContext *ctx, NiceCompatibility compat, NiceAgentOption flags) {
  return g_object_new(NICE_TYPE_AGENT, "compatibility", compat, "main-context", ctx, "reliable",
                      (flags & NICE_AGENT_OPTION_RELIABLE) != 0, "nomination-mode",
                      (flags & NICE_AGENT_OPTION_REGULAR_NOMINATION) ? NICE_NOMINATION_MODE_REGULAR
                                                                     : NICE_NOMINATION_MODE_AGGRESSIVE,
                      "full-mode", (flags & NICE_AGENT_OPTION_LITE_MODE) == 0, "ice-trickle",
                      (flags & NICE_AGENT_OPTION_ICE_TRICKLE) != 0, "support-renomination",
                      (flags & NICE_AGENT_OPTION_SUPPORT_RENOMINATION) != 0, "consent-freshness",
                      (flags & NICE_AGENT_OPTION_CONSENT_FRESHNESS) != 0, "bytestream-tcp",
                      (flags & NICE_AGENT_OPTION_BYTESTREAM_TCP) != 0, NULL);
}

/* ------------------------------------------------------------------------ */
/* Methods                                                                   */
/* ------------------------------------------------------------------------ */

/* H is the agent's GoniceAgent, or the return value rv if there is none. */
#define H(agent, rv)                                                                               \
  g_return_val_if_fail(NICE_IS_AGENT(agent), rv);                                                  \
  GoniceAgent *h = (agent)->h;                                                                     \
  if (h == NULL)                                                                                   \
  return rv
#define H_VOID(agent)                                                                              \
  g_return_if_fail(NICE_IS_AGENT(agent));                                                          \
  GoniceAgent *h = (agent)->h;                                                                     \
  if (h == NULL)                                                                                   \
  return

/* ok logs a failed gonice call (nice_debug_enable) and says if it succeeded. */
static gboolean ok(const char *what, int rc) {
  if (rc < 0)
    compat_debug("%s: %s (%s)", what, gonice_strerror(rc), gonice_last_error());
  return rc >= 0;
}

gboolean nice_agent_add_local_address(NiceAgent *agent, NiceAddress *addr) {
  char ip[NICE_ADDRESS_STRING_LEN];
  H(agent, FALSE);
  g_return_val_if_fail(addr != NULL, FALSE);
  nice_address_to_string(addr, ip);
  return ok("add_local_address", gonice_agent_add_local_address(h, ip));
}

guint nice_agent_add_stream(NiceAgent *agent, guint n_components) {
  int rc;
  H(agent, 0);
  rc = gonice_agent_add_stream(h, n_components);
  if (!ok("add_stream", rc))
    return 0;
  {
    StreamInfo *si = g_new0(StreamInfo, 1);
    si->n_components = n_components;
    g_mutex_lock(&agent->lock);
    g_hash_table_replace(agent->streams, GUINT_TO_POINTER(rc), si);
    g_mutex_unlock(&agent->lock);
  }
  return (guint)rc;
}

void nice_agent_remove_stream(NiceAgent *agent, guint stream_id) {
  H_VOID(agent);
  if (ok("remove_stream", gonice_agent_remove_stream(h, stream_id))) {
    g_mutex_lock(&agent->lock);
    g_hash_table_remove(agent->streams, GUINT_TO_POINTER(stream_id));
    for (guint i = agent->recvs->len; i-- > 0;) {
      RecvAttach *r = &g_array_index(agent->recvs, RecvAttach, i);
      if (r->stream_id == stream_id) {
        g_main_context_unref(r->ctx);
        g_array_remove_index_fast(agent->recvs, i);
      }
    }
    g_mutex_unlock(&agent->lock);
  }
}

void nice_agent_set_port_range(NiceAgent *agent, guint stream_id, guint component_id,
                               guint min_port, guint max_port) {
  H_VOID(agent);
  ok("set_port_range", gonice_agent_set_port_range(h, stream_id, component_id, min_port, max_port));
}

gboolean nice_agent_set_relay_info(NiceAgent *agent, guint stream_id, guint component_id,
                                   const gchar *server_ip, guint server_port,
                                   const gchar *username, const gchar *password,
                                   NiceRelayType type) {
  H(agent, FALSE);
  return ok("set_relay_info", gonice_agent_set_relay_info(h, stream_id, component_id, server_ip,
                                                          server_port, username, password,
                                                          (GoniceRelayType)type));
}

gboolean nice_agent_forget_relays(NiceAgent *agent, guint stream_id, guint component_id) {
  H(agent, FALSE);
  return ok("forget_relays", gonice_agent_forget_relays(h, stream_id, component_id));
}

void nice_agent_set_stream_tos(NiceAgent *agent, guint stream_id, gint tos) {
  H_VOID(agent);
  ok("set_stream_tos", gonice_agent_set_stream_tos(h, stream_id, tos));
}

void nice_agent_set_software(NiceAgent *agent, const gchar *software) {
  H_VOID(agent);
  ok("set_software", gonice_agent_set_software(h, software));
}

/* gather_deliver: libnice signals the gathering state, the host candidates
 * and (when there is nothing else to wait for) gathering-done from inside
 * nice_agent_gather_candidates, on the calling thread. gonice's gather
 * returns with those signals queued (gonice.h), so one dispatch delivers
 * them here. If another thread dispatches at the same moment
 * (GONICE_EBUSY), that thread delivers them. */
static void gather_deliver(NiceAgent *agent) {
  (void)gonice_agent_dispatch(agent->h);
}

gboolean nice_agent_gather_candidates(NiceAgent *agent, guint stream_id) {
  H(agent, FALSE);
  if (!ok("gather_candidates", gonice_agent_gather_candidates(h, stream_id)))
    return FALSE;
  gather_deliver(agent);
  return TRUE;
}

gboolean nice_agent_set_remote_credentials(NiceAgent *agent, guint stream_id, const gchar *ufrag,
                                           const gchar *pwd) {
  H(agent, FALSE);
  return ok("set_remote_credentials", gonice_agent_set_remote_credentials(h, stream_id, ufrag, pwd));
}

gboolean nice_agent_set_local_credentials(NiceAgent *agent, guint stream_id, const gchar *ufrag,
                                          const gchar *pwd) {
  H(agent, FALSE);
  return ok("set_local_credentials", gonice_agent_set_local_credentials(h, stream_id, ufrag, pwd));
}

gboolean nice_agent_get_local_credentials(NiceAgent *agent, guint stream_id, gchar **ufrag,
                                          gchar **pwd) {
  char *u = NULL, *p = NULL;
  H(agent, FALSE);
  g_return_val_if_fail(ufrag != NULL && pwd != NULL, FALSE);
  if (!ok("get_local_credentials", gonice_agent_get_local_credentials(h, stream_id, &u, &p)))
    return FALSE;
  *ufrag = g_strdup(u);
  *pwd = g_strdup(p);
  gonice_free(u);
  gonice_free(p);
  return TRUE;
}

int nice_agent_set_remote_candidates(NiceAgent *agent, guint stream_id, guint component_id,
                                     const GSList *candidates) {
  guint n = g_slist_length((GSList *)candidates), i = 0;
  GoniceCandidate *cands;
  int rc;
  H(agent, -1);
  cands = g_new0(GoniceCandidate, MAX(n, 1));
  for (const GSList *l = candidates; l != NULL; l = l->next)
    compat_candidate_to_gonice(&cands[i++], l->data);
  rc = gonice_agent_set_remote_candidates(h, stream_id, component_id, cands, n);
  g_free(cands);
  return ok("set_remote_candidates", rc) ? rc : -1;
}

/* candidate_list turns a gonice array into a GSList of NiceCandidate. */
static GSList *candidate_list(GoniceCandidate *cands, int n) {
  GSList *list = NULL;
  for (int i = n; i-- > 0;)
    list = g_slist_prepend(list, compat_candidate_new_from_gonice(&cands[i]));
  gonice_free(cands);
  return list;
}

GSList *nice_agent_get_local_candidates(NiceAgent *agent, guint stream_id, guint component_id) {
  GoniceCandidate *cands = NULL;
  int n;
  H(agent, NULL);
  n = gonice_agent_get_local_candidates(h, stream_id, component_id, &cands);
  return ok("get_local_candidates", n) ? candidate_list(cands, n) : NULL;
}

GSList *nice_agent_get_remote_candidates(NiceAgent *agent, guint stream_id, guint component_id) {
  GoniceCandidate *cands = NULL;
  int n;
  H(agent, NULL);
  n = gonice_agent_get_remote_candidates(h, stream_id, component_id, &cands);
  return ok("get_remote_candidates", n) ? candidate_list(cands, n) : NULL;
}

gboolean nice_agent_restart(NiceAgent *agent) {
  H(agent, FALSE);
  return ok("restart", gonice_agent_restart(h));
}

gboolean nice_agent_restart_stream(NiceAgent *agent, guint stream_id) {
  H(agent, FALSE);
  return ok("restart_stream", gonice_agent_restart_stream(h, stream_id));
}

gboolean nice_agent_peer_candidate_gathering_done(NiceAgent *agent, guint stream_id) {
  H(agent, FALSE);
  return ok("peer_candidate_gathering_done",
            gonice_agent_peer_candidate_gathering_done(h, stream_id));
}

gboolean nice_agent_consent_lost(NiceAgent *agent, guint stream_id, guint component_id) {
  H(agent, FALSE);
  return ok("consent_lost", gonice_agent_consent_lost(h, stream_id, component_id));
}

gboolean nice_agent_get_selected_pair(NiceAgent *agent, guint stream_id, guint component_id,
                                      NiceCandidate **local, NiceCandidate **remote) {
  GoniceCandidate l, r;
  H(agent, FALSE);
  g_return_val_if_fail(local != NULL && remote != NULL, FALSE);
  if (!ok("get_selected_pair", gonice_agent_get_selected_pair(h, stream_id, component_id, &l, &r)))
    return FALSE;
  /* libnice returns pointers to candidates it owns (the caller does not free
   * them); the drop-in keeps copies of the last pair asked for on the agent. */
  *local = compat_candidate_new_from_gonice(&l);
  *remote = compat_candidate_new_from_gonice(&r);
  g_object_set_data_full(G_OBJECT(agent), "gonice-selected-local", *local,
                         (GDestroyNotify)nice_candidate_free);
  g_object_set_data_full(G_OBJECT(agent), "gonice-selected-remote", *remote,
                         (GDestroyNotify)nice_candidate_free);
  return TRUE;
}

NiceComponentState nice_agent_get_component_state(NiceAgent *agent, guint stream_id,
                                                  guint component_id) {
  int st;
  H(agent, NICE_COMPONENT_STATE_FAILED);
  st = gonice_agent_get_component_state(h, stream_id, component_id);
  return ok("get_component_state", st) ? (NiceComponentState)st : NICE_COMPONENT_STATE_FAILED;
}

gboolean nice_agent_set_stream_name(NiceAgent *agent, guint stream_id, const gchar *name) {
  H(agent, FALSE);
  g_return_val_if_fail(name != NULL, FALSE);
  if (!ok("set_stream_name", gonice_agent_set_stream_name(h, stream_id, name)))
    return FALSE;
  g_mutex_lock(&agent->lock);
  {
    StreamInfo *si = g_hash_table_lookup(agent->streams, GUINT_TO_POINTER(stream_id));
    if (si != NULL) {
      g_free(si->name);
      si->name = g_strdup(name);
    }
  }
  g_mutex_unlock(&agent->lock);
  return TRUE;
}

const gchar *nice_agent_get_stream_name(NiceAgent *agent, guint stream_id) {
  const gchar *name;
  g_return_val_if_fail(NICE_IS_AGENT(agent), NULL);
  g_mutex_lock(&agent->lock);
  {
    StreamInfo *si = g_hash_table_lookup(agent->streams, GUINT_TO_POINTER(stream_id));
    name = si != NULL ? si->name : NULL;
  }
  g_mutex_unlock(&agent->lock);
  return name;
}

/* ------------------------------------------------------------------------ */
/* SDP                                                                       */
/* ------------------------------------------------------------------------ */

/* gstr turns a gonice string into a g_malloc'd one. */
static gchar *gstr(const char *what, int rc, char *s) {
  gchar *g = ok(what, rc) ? g_strdup(s) : NULL;
  gonice_free(s);
  return g;
}

gchar *nice_agent_generate_local_sdp(NiceAgent *agent) {
  char *s = NULL;
  int rc;
  H(agent, NULL);
  rc = gonice_agent_generate_local_sdp(h, &s);
  return gstr("generate_local_sdp", rc, s);
}

gchar *nice_agent_generate_local_stream_sdp(NiceAgent *agent, guint stream_id,
                                            gboolean include_non_ice) {
  char *s = NULL;
  int rc;
  H(agent, NULL);
  rc = gonice_agent_generate_local_stream_sdp(h, stream_id, include_non_ice, &s);
  return gstr("generate_local_stream_sdp", rc, s);
}

gchar *nice_agent_generate_local_candidate_sdp(NiceAgent *agent, NiceCandidate *candidate) {
  GoniceCandidate c;
  char *s = NULL;
  int rc;
  H(agent, NULL);
  g_return_val_if_fail(candidate != NULL, NULL);
  compat_candidate_to_gonice(&c, candidate);
  rc = gonice_agent_generate_local_candidate_sdp(h, &c, &s);
  return gstr("generate_local_candidate_sdp", rc, s);
}

int nice_agent_parse_remote_sdp(NiceAgent *agent, const gchar *sdp) {
  int rc;
  H(agent, -1);
  g_return_val_if_fail(sdp != NULL, -1);
  rc = gonice_agent_parse_remote_sdp(h, sdp);
  return ok("parse_remote_sdp", rc) ? rc : -1;
}

GSList *nice_agent_parse_remote_stream_sdp(NiceAgent *agent, guint stream_id, const gchar *sdp,
                                           gchar **ufrag, gchar **pwd) {
  char *u = NULL, *p = NULL;
  GoniceCandidate *cands = NULL;
  int n;
  H(agent, NULL);
  g_return_val_if_fail(sdp != NULL, NULL);
  n = gonice_agent_parse_remote_stream_sdp(h, stream_id, sdp, &u, &p, &cands);
  if (!ok("parse_remote_stream_sdp", n))
    return NULL;
  if (ufrag != NULL)
    *ufrag = g_strdup(u);
  if (pwd != NULL)
    *pwd = g_strdup(p);
  gonice_free(u);
  gonice_free(p);
  return candidate_list(cands, n);
}

NiceCandidate *nice_agent_parse_remote_candidate_sdp(NiceAgent *agent, guint stream_id,
                                                     const gchar *sdp) {
  GoniceCandidate *c = NULL;
  NiceCandidate *n;
  H(agent, NULL);
  g_return_val_if_fail(sdp != NULL, NULL);
  if (!ok("parse_remote_candidate_sdp", gonice_agent_parse_remote_candidate_sdp(h, stream_id, sdp, &c)))
    return NULL;
  n = compat_candidate_new_from_gonice(c);
  gonice_candidate_free(c);
  return n;
}

/* ------------------------------------------------------------------------ */
/* Data                                                                      */
/* ------------------------------------------------------------------------ */

gint nice_agent_send(NiceAgent *agent, guint stream_id, guint component_id, guint len,
                     const gchar *buf) {
  int rc;
  H(agent, -1);
  rc = gonice_agent_send(h, stream_id, component_id, len, buf);
  return rc >= 0 ? rc : -1;
}

gint nice_agent_send_messages_nonblocking(NiceAgent *agent, guint stream_id, guint component_id,
                                          const NiceOutputMessage *messages, guint n_messages,
                                          GCancellable *cancellable, GError **error) {
  GoniceOutputMessage *msgs;
  int rc;
  H(agent, -1);
  if (g_cancellable_set_error_if_cancelled(cancellable, error))
    return -1;
  /* GOutputVector and GoniceOutputVector are both {pointer, size}. */
  G_STATIC_ASSERT(sizeof(GOutputVector) == sizeof(GoniceOutputVector));
  msgs = g_new0(GoniceOutputMessage, MAX(n_messages, 1));
  for (guint i = 0; i < n_messages; i++) {
    int nb = messages[i].n_buffers;
    if (nb < 0) /* -1: the array is NULL-terminated */
      for (nb = 0; messages[i].buffers[nb].buffer != NULL; nb++)
        ;
    msgs[i].buffers = (const GoniceOutputVector *)messages[i].buffers;
    msgs[i].n_buffers = nb;
  }
  rc = gonice_agent_send_messages_nonblocking(h, stream_id, component_id, msgs, n_messages);
  g_free(msgs);
  if (rc == GONICE_EAGAIN) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, gonice_strerror(rc));
    return -1;
  }
  if (rc < 0) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, gonice_strerror(rc));
    return -1;
  }
  return rc;
}

gboolean nice_agent_attach_recv(NiceAgent *agent, guint stream_id, guint component_id,
                                GMainContext *ctx, NiceAgentRecvFunc func, gpointer data) {
  gboolean found = FALSE;
  H(agent, FALSE);
  /* gonice's receive function is the same for every component (on_recv, which
   * looks up the attachment); attach it first so a bad id fails here. */
  if (!ok("attach_recv",
          gonice_agent_attach_recv(h, stream_id, component_id, func ? on_recv : NULL, agent)))
    return FALSE;
  g_mutex_lock(&agent->lock);
  for (guint i = 0; i < agent->recvs->len; i++) {
    RecvAttach *r = &g_array_index(agent->recvs, RecvAttach, i);
    if (r->stream_id == stream_id && r->component_id == component_id) {
      g_main_context_unref(r->ctx);
      if (func == NULL) {
        g_array_remove_index_fast(agent->recvs, i);
      } else {
        r->ctx = g_main_context_ref(ctx != NULL ? ctx : agent->ctx);
        r->func = func;
        r->data = data;
      }
      found = TRUE;
      break;
    }
  }
  if (!found && func != NULL) {
    RecvAttach r = {stream_id, component_id, g_main_context_ref(ctx != NULL ? ctx : agent->ctx),
                    func, data};
    g_array_append_val(agent->recvs, r);
  }
  g_mutex_unlock(&agent->lock);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* close_async                                                               */
/* ------------------------------------------------------------------------ */

static void on_closed(GoniceAgent *h, void *ud) {
  GTask *task = ud;
  (void)h;
  g_task_return_boolean(task, TRUE);
  g_object_unref(task);
}

void nice_agent_close_async(NiceAgent *agent, GAsyncReadyCallback callback, gpointer callback_data) {
  GTask *task;
  GMainContext *caller;
  g_return_if_fail(NICE_IS_AGENT(agent));
  task = g_task_new(agent, NULL, callback, callback_data);
  g_task_set_source_tag(task, nice_agent_close_async);
  g_mutex_lock(&agent->lock);
  if (agent->closing || agent->h == NULL) {
    g_mutex_unlock(&agent->lock);
    g_task_return_boolean(task, TRUE);
    g_object_unref(task);
    return;
  }
  agent->closing = TRUE;
  /* The completion is delivered by gonice_agent_dispatch, which from now on
   * runs on the caller's thread-default context (where GTask completes): the
   * agent's own context may stop being iterated once the program closed it. */
  caller = g_main_context_ref_thread_default();
  if (agent->source != NULL) {
    g_source_destroy(agent->source);
    g_source_unref(agent->source);
  }
  agent->source = agent_source_attach(agent, caller);
  g_main_context_unref(caller);
  g_mutex_unlock(&agent->lock);
  if (gonice_agent_close_async(agent->h, on_closed, task) < 0) {
    g_task_return_boolean(task, TRUE);
    g_object_unref(task);
  }
}

/* ------------------------------------------------------------------------ */
/* Functions gonice has no counterpart for (docs/libnice-compat.md): they    */
/* exist so that programs linked with BIND_NOW start, and fail as libnice's  */
/* do on an unusable request.                                                */
/* ------------------------------------------------------------------------ */

static gssize not_supported(const char *what, GError **error) {
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s is not supported by gonice", what);
  return -1;
}

gssize nice_agent_recv(NiceAgent *agent, guint stream_id, guint component_id, guint8 *buf,
                       gsize buf_len, GCancellable *cancellable, GError **error) {
  int rc;
  H(agent, -1);
  if (g_cancellable_set_error_if_cancelled(cancellable, error))
    return -1;
  /* Blocks until a datagram arrives (a receive function must not be
   * attached); remove_stream or the agent's end stops the wait. */
  rc = gonice_agent_recv(h, stream_id, component_id, buf, buf_len);
  if (rc < 0) {
    g_set_error_literal(error, G_IO_ERROR,
                        rc == GONICE_ECLOSED ? G_IO_ERROR_CLOSED : G_IO_ERROR_FAILED,
                        gonice_strerror(rc));
    return -1;
  }
  return rc;
}

gssize nice_agent_recv_nonblocking(NiceAgent *agent, guint stream_id, guint component_id,
                                   guint8 *buf, gsize buf_len, GCancellable *cancellable,
                                   GError **error) {
  (void)agent, (void)stream_id, (void)component_id, (void)buf, (void)buf_len, (void)cancellable;
  return not_supported("nice_agent_recv_nonblocking", error);
}

gint nice_agent_recv_messages(NiceAgent *agent, guint stream_id, guint component_id,
                              NiceInputMessage *messages, guint n_messages,
                              GCancellable *cancellable, GError **error) {
  (void)agent, (void)stream_id, (void)component_id, (void)messages, (void)n_messages,
      (void)cancellable;
  return (gint)not_supported("nice_agent_recv_messages", error);
}

gint nice_agent_recv_messages_nonblocking(NiceAgent *agent, guint stream_id, guint component_id,
                                          NiceInputMessage *messages, guint n_messages,
                                          GCancellable *cancellable, GError **error) {
  (void)agent, (void)stream_id, (void)component_id, (void)messages, (void)n_messages,
      (void)cancellable;
  return (gint)not_supported("nice_agent_recv_messages_nonblocking", error);
}

gboolean nice_agent_set_selected_pair(NiceAgent *agent, guint stream_id, guint component_id,
                                      const gchar *lfoundation, const gchar *rfoundation) {
  (void)stream_id, (void)component_id, (void)lfoundation, (void)rfoundation;
  g_return_val_if_fail(NICE_IS_AGENT(agent), FALSE);
  compat_debug("nice_agent_set_selected_pair: not supported by gonice");
  return FALSE;
}

gboolean nice_agent_set_selected_remote_candidate(NiceAgent *agent, guint stream_id,
                                                  guint component_id, NiceCandidate *candidate) {
  (void)stream_id, (void)component_id, (void)candidate;
  g_return_val_if_fail(NICE_IS_AGENT(agent), FALSE);
  compat_debug("nice_agent_set_selected_remote_candidate: not supported by gonice");
  return FALSE;
}

GSocket *nice_agent_get_selected_socket(NiceAgent *agent, guint stream_id, guint component_id) {
  (void)agent, (void)stream_id, (void)component_id;
  return NULL; /* gonice's sockets are not GSockets */
}

GPtrArray *nice_agent_get_sockets(NiceAgent *agent, guint stream_id, guint component_id) {
  (void)agent, (void)stream_id, (void)component_id;
  return NULL;
}

GIOStream *nice_agent_get_io_stream(NiceAgent *agent, guint stream_id, guint component_id) {
  (void)agent, (void)stream_id, (void)component_id;
  return NULL; /* only reliable (PseudoTCP) agents have one */
}

/* libnice's documentation: the recommended default candidate for
 * non-ICE peers, usually the one with the lowest priority (the longest path,
 * the most likely to work). A new candidate the caller frees. */
NiceCandidate *nice_agent_get_default_local_candidate(NiceAgent *agent, guint stream_id,
                                                      guint component_id) {
  GoniceCandidate *cands = NULL;
  NiceCandidate *c = NULL;
  int n, best = 0;
  H(agent, NULL);
  n = gonice_agent_get_local_candidates(h, stream_id, component_id, &cands);
  if (!ok("get_default_local_candidate", n) || n == 0) {
    gonice_free(cands);
    return NULL;
  }
  for (int i = 1; i < n; i++)
    if (cands[i].priority < cands[best].priority)
      best = i;
  c = compat_candidate_new_from_gonice(&cands[best]);
  gonice_free(cands);
  return c;
}
