/* SPDX-License-Identifier: MIT */
/*
 * interfaces.c - libnice's nice_interfaces_* (nice/interfaces.h): the local
 * interfaces and their addresses, from getifaddrs(3). Never loads gonice's
 * core.
 */
#include "compat.h"

#include <nice/interfaces.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

/* addr_text writes an interface address as text; FALSE if it is not IP. */
static gboolean addr_text(const struct sockaddr *sa, char *buf) {
  NiceAddress a;
  if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
    return FALSE;
  nice_address_init(&a);
  nice_address_set_from_sockaddr(&a, sa);
  nice_address_to_string(&a, buf);
  return TRUE;
}

GList *nice_interfaces_get_local_ips(gboolean include_loopback) {
  struct ifaddrs *ifs, *i;
  GList *ips = NULL;
  if (getifaddrs(&ifs) != 0)
    return NULL;
  for (i = ifs; i != NULL; i = i->ifa_next) {
    char buf[NICE_ADDRESS_STRING_LEN];
    if (!(i->ifa_flags & IFF_UP) || !addr_text(i->ifa_addr, buf))
      continue;
    if ((i->ifa_flags & IFF_LOOPBACK) && !include_loopback)
      continue;
    if (i->ifa_addr->sa_family == AF_INET6 &&
        IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
      continue;
    if (g_list_find_custom(ips, buf, (GCompareFunc)strcmp) == NULL)
      ips = g_list_append(ips, g_strdup(buf));
  }
  freeifaddrs(ifs);
  return ips;
}

GList *nice_interfaces_get_local_interfaces(void) {
  struct ifaddrs *ifs, *i;
  GList *names = NULL;
  if (getifaddrs(&ifs) != 0)
    return NULL;
  for (i = ifs; i != NULL; i = i->ifa_next)
    if (g_list_find_custom(names, i->ifa_name, (GCompareFunc)strcmp) == NULL)
      names = g_list_append(names, g_strdup(i->ifa_name));
  freeifaddrs(ifs);
  return names;
}

gchar *nice_interfaces_get_ip_for_interface(gchar *interface_name) {
  struct ifaddrs *ifs, *i;
  gchar *ip = NULL;
  if (interface_name == NULL || getifaddrs(&ifs) != 0)
    return NULL;
  for (i = ifs; i != NULL && ip == NULL; i = i->ifa_next) {
    char buf[NICE_ADDRESS_STRING_LEN];
    if (strcmp(i->ifa_name, interface_name) == 0 && i->ifa_addr != NULL &&
        i->ifa_addr->sa_family == AF_INET && addr_text(i->ifa_addr, buf))
      ip = g_strdup(buf);
  }
  freeifaddrs(ifs);
  return ip;
}

guint nice_interfaces_get_if_index_by_addr(NiceAddress *addr) {
  struct ifaddrs *ifs, *i;
  guint index = 0;
  if (addr == NULL || getifaddrs(&ifs) != 0)
    return 0;
  for (i = ifs; i != NULL && index == 0; i = i->ifa_next) {
    NiceAddress a;
    if (i->ifa_addr == NULL ||
        (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
      continue;
    nice_address_init(&a);
    nice_address_set_from_sockaddr(&a, i->ifa_addr);
    if (nice_address_equal_no_port(&a, addr))
      index = if_nametoindex(i->ifa_name);
  }
  freeifaddrs(ifs);
  return index;
}
