/* SPDX-License-Identifier: MIT */
/*
 * address.c - libnice's NiceAddress and NiceCandidate helpers, the boxed and
 * enum GTypes, and nice_debug_*, for the libnice drop-in (libnice.so.10).
 * None of this loads gonice's core: a program may call it before fork().
 * Behaviour follows libnice 0.1.21's documentation and what Debian's
 * libnice does (docs/libnice-compat.md).
 */
#include "compat.h"

#include <arpa/inet.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* NiceAddress                                                               */
/* ------------------------------------------------------------------------ */

void nice_address_init(NiceAddress *addr) {
  memset(addr, 0, sizeof(*addr));
  addr->s.addr.sa_family = AF_UNSPEC;
}

NiceAddress *nice_address_new(void) {
  NiceAddress *a = g_new(NiceAddress, 1);
  nice_address_init(a);
  return a;
}

void nice_address_free(NiceAddress *addr) { g_free(addr); }

NiceAddress *nice_address_dup(const NiceAddress *addr) { return g_memdup2(addr, sizeof(*addr)); }

void nice_address_set_ipv4(NiceAddress *addr, guint32 addr_ipv4) {
  nice_address_init(addr);
  addr->s.ip4.sin_family = AF_INET;
  addr->s.ip4.sin_addr.s_addr = htonl(addr_ipv4);
}

void nice_address_set_ipv6(NiceAddress *addr, const guchar *addr_ipv6) {
  nice_address_init(addr);
  addr->s.ip6.sin6_family = AF_INET6;
  memcpy(addr->s.ip6.sin6_addr.s6_addr, addr_ipv6, 16);
}

void nice_address_set_port(NiceAddress *addr, guint port) {
  g_return_if_fail(addr != NULL);
  switch (addr->s.addr.sa_family) {
  case AF_INET:
    addr->s.ip4.sin_port = htons((guint16)port);
    break;
  case AF_INET6:
    addr->s.ip6.sin6_port = htons((guint16)port);
    break;
  default:
    /* libnice: g_return_if_reached; an address without a family has no port. */
    break;
  }
}

guint nice_address_get_port(const NiceAddress *addr) {
  if (addr == NULL)
    return 0;
  switch (addr->s.addr.sa_family) {
  case AF_INET:
    return ntohs(addr->s.ip4.sin_port);
  case AF_INET6:
    return ntohs(addr->s.ip6.sin6_port);
  default:
    return 0;
  }
}

gboolean nice_address_set_from_string(NiceAddress *addr, const gchar *str) {
  struct in_addr a4;
  struct in6_addr a6;
  g_return_val_if_fail(addr != NULL, FALSE);
  if (str == NULL)
    return FALSE;
  if (inet_pton(AF_INET, str, &a4) == 1) {
    nice_address_set_ipv4(addr, ntohl(a4.s_addr));
    return TRUE;
  }
  if (inet_pton(AF_INET6, str, &a6) == 1) {
    nice_address_set_ipv6(addr, a6.s6_addr);
    return TRUE;
  }
  return FALSE;
}

void nice_address_set_from_sockaddr(NiceAddress *addr, const struct sockaddr *sa) {
  g_return_if_fail(addr != NULL && sa != NULL);
  switch (sa->sa_family) {
  case AF_INET:
    memcpy(&addr->s.ip4, sa, sizeof(addr->s.ip4));
    break;
  case AF_INET6:
    memcpy(&addr->s.ip6, sa, sizeof(addr->s.ip6));
    break;
  default:
    g_return_if_reached();
  }
}

void nice_address_copy_to_sockaddr(const NiceAddress *addr, struct sockaddr *sa) {
  g_return_if_fail(addr != NULL && sa != NULL);
  switch (addr->s.addr.sa_family) {
  case AF_INET:
    memcpy(sa, &addr->s.ip4, sizeof(addr->s.ip4));
    break;
  case AF_INET6:
    memcpy(sa, &addr->s.ip6, sizeof(addr->s.ip6));
    break;
  default:
    g_return_if_reached();
  }
}

gboolean nice_address_equal_no_port(const NiceAddress *a, const NiceAddress *b) {
  if (a->s.addr.sa_family != b->s.addr.sa_family)
    return FALSE;
  switch (a->s.addr.sa_family) {
  case AF_INET:
    return a->s.ip4.sin_addr.s_addr == b->s.ip4.sin_addr.s_addr;
  case AF_INET6:
    return memcmp(&a->s.ip6.sin6_addr, &b->s.ip6.sin6_addr, 16) == 0 &&
           a->s.ip6.sin6_scope_id == b->s.ip6.sin6_scope_id;
  default:
    return FALSE;
  }
}

gboolean nice_address_equal(const NiceAddress *a, const NiceAddress *b) {
  return nice_address_equal_no_port(a, b) && nice_address_get_port(a) == nice_address_get_port(b);
}

void nice_address_to_string(const NiceAddress *addr, gchar *dst) {
  g_return_if_fail(addr != NULL && dst != NULL);
  dst[0] = '\0';
  switch (addr->s.addr.sa_family) {
  case AF_INET:
    inet_ntop(AF_INET, &addr->s.ip4.sin_addr, dst, INET_ADDRSTRLEN);
    break;
  case AF_INET6:
    inet_ntop(AF_INET6, &addr->s.ip6.sin6_addr, dst, INET6_ADDRSTRLEN);
    break;
  default:
    break;
  }
}

gchar *nice_address_dup_string(const NiceAddress *addr) {
  gchar buf[NICE_ADDRESS_STRING_LEN];
  nice_address_to_string(addr, buf);
  return g_strdup(buf);
}

gboolean nice_address_is_private(const NiceAddress *addr) {
  if (addr->s.addr.sa_family == AF_INET) {
    guint32 a = ntohl(addr->s.ip4.sin_addr.s_addr);
    return (a >> 24) == 10 || (a >> 20) == 0xac1 /* 172.16/12 */ ||
           (a >> 16) == 0xc0a8 /* 192.168/16 */ || (a >> 24) == 127 ||
           (a >> 16) == 0xa9fe /* 169.254/16 */;
  }
  if (addr->s.addr.sa_family == AF_INET6) {
    const guint8 *b = addr->s.ip6.sin6_addr.s6_addr;
    /* fc00::/7 unique local, fe80::/10 link-local, ::1 loopback */
    return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
           IN6_IS_ADDR_LOOPBACK(&addr->s.ip6.sin6_addr);
  }
  return FALSE;
}

gboolean nice_address_is_valid(const NiceAddress *addr) {
  return addr->s.addr.sa_family == AF_INET || addr->s.addr.sa_family == AF_INET6;
}

int nice_address_ip_version(const NiceAddress *addr) {
  switch (addr->s.addr.sa_family) {
  case AF_INET:
    return 4;
  case AF_INET6:
    return 6;
  default:
    return 0;
  }
}

G_DEFINE_BOXED_TYPE(NiceAddress, nice_address, nice_address_dup, nice_address_free)

/* ------------------------------------------------------------------------ */
/* Text <-> NiceAddress, GoniceCandidate <-> NiceCandidate (compat.h)        */
/* ------------------------------------------------------------------------ */

void compat_address_from_text(NiceAddress *a, const char *ip, unsigned int port) {
  nice_address_init(a);
  if (ip[0] != '\0' && nice_address_set_from_string(a, ip))
    nice_address_set_port(a, port);
}

void compat_address_to_text(const NiceAddress *a, char *ip, uint16_t *port) {
  char buf[NICE_ADDRESS_STRING_LEN];
  nice_address_to_string(a, buf);
  g_strlcpy(ip, buf, GONICE_ADDRESS_STRING_LEN);
  *port = (uint16_t)nice_address_get_port(a);
}

void compat_candidate_from_gonice(NiceCandidate *n, const GoniceCandidate *g) {
  memset(n, 0, sizeof(*n));
  n->type = (NiceCandidateType)g->type;
  n->transport = (NiceCandidateTransport)g->transport;
  compat_address_from_text(&n->addr, g->addr, g->port);
  compat_address_from_text(&n->base_addr, g->base_addr, g->base_port);
  n->priority = g->priority;
  n->stream_id = g->stream_id;
  n->component_id = g->component_id;
  g_strlcpy(n->foundation, g->foundation, sizeof(n->foundation));
}

void compat_candidate_to_gonice(GoniceCandidate *g, const NiceCandidate *n) {
  memset(g, 0, sizeof(*g));
  g->type = (GoniceCandidateType)n->type;
  g->transport = (GoniceCandidateTransport)n->transport;
  compat_address_to_text(&n->addr, g->addr, &g->port);
  compat_address_to_text(&n->base_addr, g->base_addr, &g->base_port);
  g->priority = n->priority;
  g->stream_id = n->stream_id;
  g->component_id = n->component_id;
  g_strlcpy(g->foundation, n->foundation, sizeof(g->foundation));
}

NiceCandidate *compat_candidate_new_from_gonice(const GoniceCandidate *g) {
  NiceCandidate *c = nice_candidate_new((NiceCandidateType)g->type);
  compat_candidate_from_gonice(c, g);
  return c;
}

/* ------------------------------------------------------------------------ */
/* NiceCandidate                                                             */
/* ------------------------------------------------------------------------ */

NiceCandidate *nice_candidate_new(NiceCandidateType type) {
  NiceCandidate *c = g_new0(NiceCandidate, 1);
  c->type = type;
  return c;
}

void nice_candidate_free(NiceCandidate *candidate) {
  if (candidate == NULL)
    return;
  g_free(candidate->username);
  g_free(candidate->password);
  g_free(candidate);
}

NiceCandidate *nice_candidate_copy(const NiceCandidate *candidate) {
  NiceCandidate *c;
  g_return_val_if_fail(candidate != NULL, NULL);
  c = g_memdup2(candidate, sizeof(*candidate));
  c->username = g_strdup(candidate->username);
  c->password = g_strdup(candidate->password);
  return c;
}

gboolean nice_candidate_equal_target(const NiceCandidate *candidate1,
                                     const NiceCandidate *candidate2) {
  g_return_val_if_fail(candidate1 != NULL && candidate2 != NULL, FALSE);
  return candidate1->transport == candidate2->transport &&
         nice_address_equal(&candidate1->addr, &candidate2->addr);
}

const gchar *nice_candidate_type_to_string(NiceCandidateType type) {
  static const char *const names[] = {"host", "srflx", "prflx", "relay"};
  g_return_val_if_fail((guint)type < G_N_ELEMENTS(names), "invalid");
  return names[type];
}

const gchar *nice_candidate_transport_to_string(NiceCandidateTransport transport) {
  static const char *const names[] = {"udp", "tcp-act", "tcp-pass", "tcp-so"};
  g_return_val_if_fail((guint)transport < G_N_ELEMENTS(names), "invalid");
  return names[transport];
}

const gchar *nice_component_state_to_string(NiceComponentState state) {
  static const char *const names[] = {"disconnected", "gathering", "connecting",
                                      "connected",    "ready",     "failed"};
  if ((guint)state >= G_N_ELEMENTS(names))
    return "invalid";
  return names[state];
}

G_DEFINE_BOXED_TYPE(NiceCandidate, nice_candidate, nice_candidate_copy, nice_candidate_free)

/* ------------------------------------------------------------------------ */
/* Enum and flags GTypes (names and values of libnice's enums)              */
/* ------------------------------------------------------------------------ */

#define COMPAT_ENUM_TYPE(func, TypeName, ...)                                                      \
  GType func(void) {                                                                               \
    static gsize id = 0;                                                                           \
    static const GEnumValue values[] = {__VA_ARGS__, {0, NULL, NULL}};                             \
    if (g_once_init_enter(&id))                                                                    \
      g_once_init_leave(&id, g_enum_register_static(g_intern_static_string(#TypeName), values));   \
    return id;                                                                                     \
  }
#define V(value, nick) {value, #value, nick}

COMPAT_ENUM_TYPE(nice_component_state_get_type, NiceComponentState,
                 V(NICE_COMPONENT_STATE_DISCONNECTED, "disconnected"),
                 V(NICE_COMPONENT_STATE_GATHERING, "gathering"),
                 V(NICE_COMPONENT_STATE_CONNECTING, "connecting"),
                 V(NICE_COMPONENT_STATE_CONNECTED, "connected"),
                 V(NICE_COMPONENT_STATE_READY, "ready"), V(NICE_COMPONENT_STATE_FAILED, "failed"),
                 V(NICE_COMPONENT_STATE_LAST, "last"))
COMPAT_ENUM_TYPE(nice_component_type_get_type, NiceComponentType,
                 V(NICE_COMPONENT_TYPE_RTP, "rtp"), V(NICE_COMPONENT_TYPE_RTCP, "rtcp"))
COMPAT_ENUM_TYPE(nice_compatibility_get_type, NiceCompatibility,
                 V(NICE_COMPATIBILITY_RFC5245, "rfc5245"), V(NICE_COMPATIBILITY_GOOGLE, "google"),
                 V(NICE_COMPATIBILITY_MSN, "msn"), V(NICE_COMPATIBILITY_WLM2009, "wlm2009"),
                 V(NICE_COMPATIBILITY_OC2007, "oc2007"),
                 V(NICE_COMPATIBILITY_OC2007R2, "oc2007r2"))
COMPAT_ENUM_TYPE(nice_proxy_type_get_type, NiceProxyType, V(NICE_PROXY_TYPE_NONE, "none"),
                 V(NICE_PROXY_TYPE_SOCKS5, "socks5"), V(NICE_PROXY_TYPE_HTTP, "http"),
                 V(NICE_PROXY_TYPE_LAST, "last"))
COMPAT_ENUM_TYPE(nice_nomination_mode_get_type, NiceNominationMode,
                 V(NICE_NOMINATION_MODE_REGULAR, "regular"),
                 V(NICE_NOMINATION_MODE_AGGRESSIVE, "aggressive"))
COMPAT_ENUM_TYPE(nice_relay_type_get_type, NiceRelayType, V(NICE_RELAY_TYPE_TURN_UDP, "udp"),
                 V(NICE_RELAY_TYPE_TURN_TCP, "tcp"), V(NICE_RELAY_TYPE_TURN_TLS, "tls"))
COMPAT_ENUM_TYPE(nice_candidate_type_get_type, NiceCandidateType,
                 V(NICE_CANDIDATE_TYPE_HOST, "host"),
                 V(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE, "server-reflexive"),
                 V(NICE_CANDIDATE_TYPE_PEER_REFLEXIVE, "peer-reflexive"),
                 V(NICE_CANDIDATE_TYPE_RELAYED, "relayed"))
COMPAT_ENUM_TYPE(nice_candidate_transport_get_type, NiceCandidateTransport,
                 V(NICE_CANDIDATE_TRANSPORT_UDP, "udp"),
                 V(NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE, "tcp-active"),
                 V(NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE, "tcp-passive"),
                 V(NICE_CANDIDATE_TRANSPORT_TCP_SO, "tcp-so"))

GType nice_agent_option_get_type(void) {
  static gsize id = 0;
  static const GFlagsValue values[] = {
      V(NICE_AGENT_OPTION_NONE, "none"),
      V(NICE_AGENT_OPTION_REGULAR_NOMINATION, "regular-nomination"),
      V(NICE_AGENT_OPTION_RELIABLE, "reliable"),
      V(NICE_AGENT_OPTION_LITE_MODE, "lite-mode"),
      V(NICE_AGENT_OPTION_ICE_TRICKLE, "ice-trickle"),
      V(NICE_AGENT_OPTION_SUPPORT_RENOMINATION, "support-renomination"),
      V(NICE_AGENT_OPTION_CONSENT_FRESHNESS, "consent-freshness"),
      V(NICE_AGENT_OPTION_BYTESTREAM_TCP, "bytestream-tcp"),
      {0, NULL, NULL}};
  if (g_once_init_enter(&id))
    g_once_init_leave(&id, g_flags_register_static(g_intern_static_string("NiceAgentOption"), values));
  return id;
}
#undef V

/* ------------------------------------------------------------------------ */
/* Debug                                                                     */
/* ------------------------------------------------------------------------ */

/* libnice prints its debug messages through GLib under the "libnice" domain
 * when enabled; the drop-in's own messages go there too (g_debug with
 * G_MESSAGES_DEBUG=libnice shows them). gonice's core has no debug output to
 * switch, so these only toggle the drop-in's messages; they never load the
 * core (Janus calls nice_debug_disable right after fork()). */
static gint compat_debug_on;

void nice_debug_enable(gboolean with_stun) {
  (void)with_stun;
  g_atomic_int_set(&compat_debug_on, 1);
}

void nice_debug_disable(gboolean with_stun) {
  (void)with_stun;
  g_atomic_int_set(&compat_debug_on, 0);
}

gboolean compat_debug_enabled(void) { return g_atomic_int_get(&compat_debug_on) != 0; }

/* ------------------------------------------------------------------------ */
/* nice_candidate_* about servers, nice_interfaces_*                          */
/* ------------------------------------------------------------------------ */

void nice_candidate_relay_address(const NiceCandidate *candidate, NiceAddress *addr) {
  (void)candidate;
  /* gonice does not tell which TURN server a relayed candidate came from. */
  nice_address_init(addr);
}

gboolean nice_candidate_stun_server_address(const NiceCandidate *candidate, NiceAddress *addr) {
  (void)candidate;
  nice_address_init(addr);
  return FALSE;
}
