/* SPDX-License-Identifier: MIT */
/*
 * compat.h - internal declarations of the libnice drop-in (libnice.so.10).
 *
 * The drop-in is compiled against the system's libnice-dev headers
 * (<nice/agent.h>, <stun/...>): they define the ABI that programs were built
 * with, so the structs, enums and prototypes here are libnice's by
 * construction (docs/libnice-compat.md, "Headers"). The static assertions
 * below pin the layouts Janus depends on (janus-run.md section 2).
 */
#ifndef GONICE_COMPAT_LIBNICE_H
#define GONICE_COMPAT_LIBNICE_H

/* The drop-in's messages go to GLib's log under libnice's domain. */
#define G_LOG_DOMAIN "libnice"

#include <nice/agent.h>
#include <nice/debug.h>

#include <gonice.h>

G_STATIC_ASSERT(sizeof(NiceAddress) == 28);
G_STATIC_ASSERT(sizeof(NiceCandidate) == 128);
G_STATIC_ASSERT(G_STRUCT_OFFSET(NiceCandidate, addr) == 8);
G_STATIC_ASSERT(G_STRUCT_OFFSET(NiceCandidate, base_addr) == 36);
G_STATIC_ASSERT(G_STRUCT_OFFSET(NiceCandidate, priority) == 64);
G_STATIC_ASSERT(G_STRUCT_OFFSET(NiceCandidate, foundation) == 76);
G_STATIC_ASSERT(G_STRUCT_OFFSET(NiceCandidate, username) == 112);
G_STATIC_ASSERT(G_STRUCT_OFFSET(NiceCandidate, password) == 120);

/* address.c: conversions between libnice's binary addresses and the text
 * addresses of gonice.h. */
void compat_address_from_text(NiceAddress *a, const char *ip, unsigned int port);
void compat_address_to_text(const NiceAddress *a, char *ip, uint16_t *port);
void compat_candidate_from_gonice(NiceCandidate *n, const GoniceCandidate *g);
void compat_candidate_to_gonice(GoniceCandidate *g, const NiceCandidate *n);
NiceCandidate *compat_candidate_new_from_gonice(const GoniceCandidate *g);
gboolean compat_debug_enabled(void);

/* The enum and flags GTypes libnice exports (its agent-enum-types.h is not
 * installed by libnice-dev). */
GType nice_component_state_get_type(void);
GType nice_component_type_get_type(void);
GType nice_compatibility_get_type(void);
GType nice_proxy_type_get_type(void);
GType nice_nomination_mode_get_type(void);
GType nice_relay_type_get_type(void);
GType nice_candidate_type_get_type(void);
GType nice_candidate_transport_get_type(void);
GType nice_agent_option_get_type(void);

/* A debug message, when nice_debug_enable() switched them on. */
#define compat_debug(...)                                                                          \
  do {                                                                                             \
    if (compat_debug_enabled())                                                                    \
      g_log("libnice", G_LOG_LEVEL_DEBUG, __VA_ARGS__);                                            \
  } while (0)

#endif
