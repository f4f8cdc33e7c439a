/* SPDX-License-Identifier: MIT */
/*
 * stun.c - the part of libnice's STUN library (stun/stunagent.h,
 * stun/stunmessage.h, stun/usages/bind.h) that programs call to test a STUN
 * server: Janus's janus_ice_test_stun_server() builds a Binding request with
 * stun_usage_bind_create, validates the answer with stun_agent_validate and
 * reads its class, method and (XOR-)MAPPED-ADDRESS. Written from RFC 5389
 * and libnice's header documentation; the structs are the caller's, on its
 * stack, at the sizes of the system's headers. Never loads gonice's core.
 */
#include <stun/stunagent.h>
#include <stun/usages/bind.h>

#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#define HEADER_LEN 20

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

void stun_agent_init(StunAgent *agent, const uint16_t *known_attributes,
                     StunCompatibility compatibility, StunAgentUsageFlags usage_flags) {
  memset(agent, 0, sizeof(*agent));
  agent->compatibility = compatibility;
  agent->known_attributes = (uint16_t *)known_attributes;
  agent->usage_flags = usage_flags;
}

size_t stun_usage_bind_create(StunAgent *agent, StunMessage *msg, uint8_t *buffer,
                              size_t buffer_len) {
  StunAgentSavedIds *slot = NULL;
  memset(msg, 0, sizeof(*msg));
  msg->agent = agent;
  msg->buffer = buffer;
  msg->buffer_len = buffer_len;
  if (buffer_len < HEADER_LEN)
    return 0;
  for (int i = 0; i < STUN_AGENT_MAX_SAVED_IDS && slot == NULL; i++)
    if (!agent->sent_ids[i].valid)
      slot = &agent->sent_ids[i];
  if (slot == NULL) /* as libnice: no free slot for the transaction */
    return 0;
  buffer[0] = 0x00; /* Binding request: class 0, method 1 */
  buffer[1] = 0x01;
  buffer[2] = buffer[3] = 0; /* no attributes */
  for (int i = 4; i < HEADER_LEN; i++)
    buffer[i] = (uint8_t)g_random_int_range(0, 256);
  if (agent->compatibility != STUN_COMPATIBILITY_RFC3489) {
    uint32_t cookie = htonl(STUN_MAGIC_COOKIE);
    memcpy(buffer + 4, &cookie, 4);
  }
  memset(slot, 0, sizeof(*slot));
  memcpy(slot->id, buffer + 4, sizeof(slot->id));
  slot->method = STUN_BINDING;
  slot->valid = true;
  return HEADER_LEN;
}

StunClass stun_message_get_class(const StunMessage *msg) {
  uint16_t t = rd16(msg->buffer);
  return (StunClass)(((t >> 7) & 2) | ((t >> 4) & 1));
}

StunMethod stun_message_get_method(const StunMessage *msg) {
  uint16_t t = rd16(msg->buffer);
  return (StunMethod)((t & 0x000f) | ((t & 0x00e0) >> 1) | ((t & 0x3e00) >> 2));
}

StunValidationStatus stun_agent_validate(StunAgent *agent, StunMessage *msg, const uint8_t *buffer,
                                         size_t buffer_len, StunMessageIntegrityValidate validater,
                                         void *validater_data) {
  size_t len, off;
  StunClass cls;
  (void)validater;
  (void)validater_data;
  if (buffer_len < 1 || (buffer[0] & 0xc0) != 0)
    return STUN_VALIDATION_NOT_STUN;
  if (buffer_len < HEADER_LEN)
    return STUN_VALIDATION_INCOMPLETE_STUN;
  len = rd16(buffer + 2);
  if (len % 4 != 0)
    return STUN_VALIDATION_NOT_STUN;
  if (HEADER_LEN + len > buffer_len)
    return STUN_VALIDATION_INCOMPLETE_STUN;
  /* Every attribute must fit in the message. */
  for (off = HEADER_LEN; off < HEADER_LEN + len;) {
    size_t alen;
    if (off + 4 > HEADER_LEN + len)
      return STUN_VALIDATION_NOT_STUN;
    alen = rd16(buffer + off + 2);
    off += 4 + ((alen + 3) & ~(size_t)3);
    if (off > HEADER_LEN + len)
      return STUN_VALIDATION_NOT_STUN;
  }
  memset(msg, 0, sizeof(*msg));
  msg->agent = agent;
  msg->buffer = (uint8_t *)buffer;
  msg->buffer_len = HEADER_LEN + len;
  cls = stun_message_get_class(msg);
  if (cls == STUN_RESPONSE || cls == STUN_ERROR) {
    /* A response must answer a request this agent sent; the transaction is
     * then forgotten. */
    for (int i = 0; i < STUN_AGENT_MAX_SAVED_IDS; i++) {
      StunAgentSavedIds *s = &agent->sent_ids[i];
      if (s->valid && s->method == stun_message_get_method(msg) &&
          memcmp(s->id, buffer + 4, sizeof(s->id)) == 0) {
        s->valid = false;
        return STUN_VALIDATION_SUCCESS;
      }
    }
    return STUN_VALIDATION_UNMATCHED_RESPONSE;
  }
  return STUN_VALIDATION_SUCCESS;
}

/* find_attr returns the value of the first attribute of this type. */
static const uint8_t *find_attr(const StunMessage *msg, StunAttribute type, uint16_t *alen) {
  size_t len = rd16(msg->buffer + 2);
  for (size_t off = HEADER_LEN; off + 4 <= HEADER_LEN + len;) {
    uint16_t t = rd16(msg->buffer + off), l = rd16(msg->buffer + off + 2);
    if (off + 4 + l > HEADER_LEN + len)
      return NULL;
    if (t == type) {
      *alen = l;
      return msg->buffer + off + 4;
    }
    off += 4 + ((l + 3u) & ~3u);
  }
  return NULL;
}

/* addr_parts gives the port and address fields of a sockaddr of family
 * STUN family fam (1 IPv4, 2 IPv6), their address length and the sockaddr's
 * size; FALSE for another family. */
static bool addr_parts(struct sockaddr_storage *ss, int fam, uint8_t **port, uint8_t **ip,
                       size_t *iplen, socklen_t *salen) {
  if (fam == 1) {
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    *port = (uint8_t *)&in->sin_port;
    *ip = (uint8_t *)&in->sin_addr;
    *iplen = 4;
    *salen = sizeof(*in);
    return true;
  }
  if (fam == 2) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    *port = (uint8_t *)&in6->sin6_port;
    *ip = in6->sin6_addr.s6_addr;
    *iplen = 16;
    *salen = sizeof(*in6);
    return true;
  }
  return false;
}

StunMessageReturn stun_message_find_addr(const StunMessage *msg, StunAttribute type,
                                         struct sockaddr_storage *addr, socklen_t *addrlen) {
  uint16_t alen;
  const uint8_t *v = find_attr(msg, type, &alen);
  uint8_t *port, *ip;
  size_t iplen;
  socklen_t salen;
  if (v == NULL)
    return STUN_MESSAGE_RETURN_NOT_FOUND;
  if (alen < 4)
    return STUN_MESSAGE_RETURN_INVALID;
  if (!addr_parts(addr, v[1], &port, &ip, &iplen, &salen))
    return STUN_MESSAGE_RETURN_UNSUPPORTED_ADDRESS;
  if (alen != 4 + iplen)
    return STUN_MESSAGE_RETURN_INVALID;
  if (*addrlen < salen)
    return STUN_MESSAGE_RETURN_NOT_ENOUGH_SPACE;
  memset(addr, 0, salen);
  addr->ss_family = v[1] == 1 ? AF_INET : AF_INET6;
  memcpy(port, v + 2, 2);
  memcpy(ip, v + 4, iplen);
  *addrlen = salen;
  return STUN_MESSAGE_RETURN_SUCCESS;
}

StunMessageReturn stun_message_find_xor_addr(const StunMessage *msg, StunAttribute type,
                                             struct sockaddr_storage *addr, socklen_t *addrlen) {
  StunMessageReturn rc = stun_message_find_addr(msg, type, addr, addrlen);
  const uint8_t *mask = msg->buffer + 4; /* cookie, then the transaction id */
  uint8_t *port, *ip;
  size_t iplen;
  socklen_t salen;
  if (rc != STUN_MESSAGE_RETURN_SUCCESS)
    return rc;
  addr_parts(addr, addr->ss_family == AF_INET ? 1 : 2, &port, &ip, &iplen, &salen);
  for (int i = 0; i < 2; i++)
    port[i] ^= mask[i];
  for (size_t i = 0; i < iplen; i++)
    ip[i] ^= mask[i];
  return STUN_MESSAGE_RETURN_SUCCESS;
}
