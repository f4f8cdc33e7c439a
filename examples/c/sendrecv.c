/* SPDX-License-Identifier: MIT */
/*
 * sendrecv: the C twin of examples/sendrecv (Go), an ICE peer in the manner
 * of libnice's simple-example (and, with --sdp, of sdp-example): two copies
 * exchange one line each by copy and paste, connect with ICE and then send
 * each other the lines typed on their standard input.
 *
 *   terminal 1$ sendrecv --controlling --address 127.0.0.1
 *   terminal 2$ sendrecv --address 127.0.0.1
 *
 * Standard output is what libnice's examples print; the agent's signals and
 * errors go to standard error. End of input sends a single NUL byte and
 * quits; a peer that receives it quits too.
 *
 * It uses only gonice.h, in dispatch mode: one thread polls standard input
 * and the agent's fd, and gonice_agent_dispatch() runs the callbacks.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gonice.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* The texts of libnice's simple-example.c and sdp-example.c. */
#define COPY_LINE_PROMPT "Copy this line to remote client:\n\n  %s\n\n"
#define COPY_SDP_PROMPT                                                                            \
  "Generated SDP from agent :\n%s\n\nCopy the following line to remote client:\n\n  %s\n"
#define ENTER_REMOTE_PROMPT "Enter remote data (single line, no wrapping):\n> "
#define NEGOTIATION_DONE "\nNegotiation complete: ([%s]:%u, [%s]:%u)\n"
#define SEND_LINES_PROMPT "\nSend lines to remote (Ctrl-D to quit):\n> "
#define LINE_PROMPT "> "
#define PARSE_ERROR "ERROR: failed to parse remote data\n"

#define MAX_ADDRESSES 64
#define MAX_TURN 8

/* A --turn server; NULL user/pass/transport take the defaults. */
typedef struct TurnServer {
  const char *server, *user, *pass, *transport;
} TurnServer;

/* turn_type maps a --turn-transport name to a relay type, -1 if unknown. */
static int turn_type(const char *t) {
  if (t == NULL || strcmp(t, "udp") == 0)
    return GONICE_RELAY_TYPE_TURN_UDP;
  if (strcmp(t, "tcp") == 0)
    return GONICE_RELAY_TYPE_TURN_TCP;
  if (strcmp(t, "tls") == 0)
    return GONICE_RELAY_TYPE_TURN_TLS;
  return -1;
}

static const char usage_text[] =
    "Usage:\n"
    "  sendrecv [--controlling] [--stun HOST[:PORT]] [--address IP]... [--sdp]\n"
    "           [--turn HOST:PORT [--turn-user U] [--turn-pass P]\n"
    "            [--turn-transport udp|tcp|tls]]... [--force-relay]\n"
    "           [--ice-tcp [--no-udp]]\n"
    "  sendrecv 0|1 [stun_addr [stun_port]]\n"
    "\n"
    "sendrecv is an ICE peer built on libgonice, like libnice's simple-example,\n"
    "or sdp-example with --sdp. Run one copy on each side; paste each side's\n"
    "line at the other side's \"> \" prompt. Once connected, every line typed is\n"
    "sent to the other side and every line received is printed. End of input\n"
    "sends a single NUL byte and quits; a peer that receives it quits too.\n"
    "\n"
    "Options:\n"
    "  --controlling       take the controlling role\n"
    "  --stun HOST[:PORT]  STUN server (port 3478 when left out)\n"
    "  --address IP        gather host candidates on IP only; repeatable\n"
    "  --sdp               exchange the base64 of the whole SDP (sdp-example)\n"
    "  --turn HOST:PORT    a TURN server for a relayed candidate; repeatable (8)\n"
    "  --turn-user U, --turn-pass P, --turn-transport udp|tcp|tls\n"
    "                      credentials and transport (default udp) of the --turn\n"
    "                      before them; given before any --turn: of every server\n"
    "  --force-relay       use and signal relayed candidates only\n"
    "  --ice-tcp           also gather and use ICE-TCP candidates (libnice's\n"
    "                      ice-tcp): per address a TCP passive and a TCP active\n"
    "                      one; needs --sdp (simple-example's line has no\n"
    "                      transport)\n"
    "  --no-udp            no UDP candidates (libnice's ice-udp FALSE): TCP only;\n"
    "                      needs --ice-tcp\n"
    "  --help              show this help\n"
    "\n"
    "Exit status: 0 after end of input or when the peer quit, 1 when ICE failed\n"
    "or on an error, 2 for a bad command line.\n";

/* Program state: everything runs on the main thread (dispatch mode). */
typedef enum Phase { GATHERING, REMOTE, CONNECTING, CHAT, DONE } Phase;

static struct {
  GoniceAgent *agent;
  unsigned int sid;
  int sdp;
  Phase phase;
  int gathered, connected, ready, failed, bye;
  int status;
} st;

static void logf_(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("sendrecv: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void out(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fflush(stdout);
}

/* strip_zone: addr without an IPv6 zone, into buf. */
static const char *strip_zone(const char *addr, char *buf, size_t len) {
  snprintf(buf, len, "%s", addr);
  char *pct = strchr(buf, '%');
  if (pct != NULL)
    *pct = '\0';
  return buf;
}

/* ------------------------------------------------------------------------ */
/* Callbacks (run by gonice_agent_dispatch on this thread)                   */
/* ------------------------------------------------------------------------ */

static void on_gathered(GoniceAgent *a, unsigned int sid, void *ud) {
  (void)a, (void)ud;
  logf_("signal candidate-gathering-done: stream %u", sid);
  if (sid == st.sid)
    st.gathered = 1;
}

static void on_new_candidate(GoniceAgent *a, const GoniceCandidate *c, void *ud) {
  (void)a, (void)ud;
  logf_("signal new-candidate: %s %s %s:%u (base %s:%u) priority %u foundation %s",
        gonice_candidate_type_to_string(c->type), gonice_candidate_transport_to_string(c->transport),
        c->addr, c->port, c->base_addr, c->base_port, c->priority, c->foundation);
}

static void on_new_remote_candidate(GoniceAgent *a, const GoniceCandidate *c, void *ud) {
  (void)a, (void)ud;
  logf_("signal new-remote-candidate: %s %s:%u", gonice_candidate_type_to_string(c->type), c->addr, c->port);
}

static void on_ibr(GoniceAgent *a, unsigned int sid, void *ud) {
  (void)a, (void)ud;
  logf_("signal initial-binding-request-received: stream %u", sid);
}

static void on_state(GoniceAgent *a, unsigned int sid, unsigned int cid, GoniceComponentState s,
                     void *ud) {
  (void)a, (void)ud;
  logf_("signal component-state-changed: stream %u component %u %s", sid, cid,
        gonice_component_state_to_string(s));
  if (sid != st.sid || cid != 1)
    return;
  if (s == GONICE_COMPONENT_STATE_CONNECTED || s == GONICE_COMPONENT_STATE_READY)
    st.connected = 1;
  if (s == GONICE_COMPONENT_STATE_READY)
    st.ready = 1;
  if (s == GONICE_COMPONENT_STATE_FAILED)
    st.failed = 1;
}

/* tcp_note: " over " and an ICE-TCP candidate's transport, "" for UDP. */
static const char *tcp_note(const GoniceCandidate *c) {
  switch (c->transport) {
  case GONICE_CANDIDATE_TRANSPORT_TCP_ACTIVE:
    return " over tcp-act";
  case GONICE_CANDIDATE_TRANSPORT_TCP_PASSIVE:
    return " over tcp-pass";
  case GONICE_CANDIDATE_TRANSPORT_TCP_SO:
    return " over tcp-so";
  default:
    return "";
  }
}

static void on_pair(GoniceAgent *a, unsigned int sid, unsigned int cid, const GoniceCandidate *l,
                    const GoniceCandidate *r, void *ud) {
  (void)a, (void)ud;
  logf_("signal new-selected-pair: stream %u component %u local %s %s:%u%s remote %s %s:%u%s", sid,
        cid, gonice_candidate_type_to_string(l->type), l->addr, l->port, tcp_note(l),
        gonice_candidate_type_to_string(r->type), r->addr, r->port, tcp_note(r));
}

static void on_recv(GoniceAgent *a, unsigned int sid, unsigned int cid, unsigned int len,
                    char *buf, void *ud) {
  (void)a, (void)sid, (void)cid, (void)ud;
  if (len == 1 && buf[0] == '\0') {
    st.bye = 1;
    return;
  }
  fwrite(buf, 1, len, stdout); /* raw, as simple-example */
  fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* Base64 (sdp-example's exchange format)                                    */
/* ------------------------------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const unsigned char *in, size_t n) {
  char *o = malloc((n + 2) / 3 * 4 + 1), *p = o;
  if (o == NULL)
    return NULL;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < n)
      v |= (unsigned)in[i + 1] << 8;
    if (i + 2 < n)
      v |= in[i + 2];
    *p++ = b64[v >> 18 & 63];
    *p++ = b64[v >> 12 & 63];
    *p++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
    *p++ = i + 2 < n ? b64[v & 63] : '=';
  }
  *p = '\0';
  return o;
}

/* b64_decode: decodes in (white space ignored) into a NUL-terminated string,
 * or NULL if it is not base64. */
static char *b64_decode(const char *in) {
  size_t n = strlen(in);
  unsigned char *o = malloc(n / 4 * 3 + 4);
  if (o == NULL)
    return NULL;
  size_t len = 0, k = 0, pad = 0;
  unsigned v = 0;
  for (; *in != '\0'; in++) {
    if (strchr(" \t\r\n", *in) != NULL)
      continue;
    const char *pos = *in != '\0' ? strchr(b64, *in) : NULL;
    if (*in == '=') {
      pad++;
      v <<= 6;
    } else if (pos == NULL || pad > 0) {
      free(o);
      return NULL;
    } else {
      v = v << 6 | (unsigned)(pos - b64);
    }
    if (++k == 4) {
      o[len++] = (unsigned char)(v >> 16);
      o[len++] = (unsigned char)(v >> 8);
      o[len++] = (unsigned char)v;
      k = 0;
      v = 0;
    }
  }
  if (k != 0 || pad > 2) {
    free(o);
    return NULL;
  }
  len -= pad;
  o[len] = '\0';
  return (char *)o;
}

/* ------------------------------------------------------------------------ */
/* Exchanging the local and remote data                                      */
/* ------------------------------------------------------------------------ */

/* print_local_data: simple-example's line or sdp-example's SDP. */
static int print_local_data(void) {
  if (st.sdp) {
    char *sdp = NULL;
    if (gonice_agent_generate_local_sdp(st.agent, &sdp) < 0) {
      logf_("error: generating the SDP: %s", gonice_last_error());
      return -1;
    }
    char *enc = b64_encode((const unsigned char *)sdp, strlen(sdp));
    if (enc == NULL) {
      gonice_free(sdp);
      return -1;
    }
    out(COPY_SDP_PROMPT, sdp, enc);
    free(enc);
    gonice_free(sdp);
    return 0;
  }
  char *ufrag = NULL, *pwd = NULL;
  GoniceCandidate *cands = NULL;
  if (gonice_agent_get_local_credentials(st.agent, st.sid, &ufrag, &pwd) < 0) {
    logf_("error: %s", gonice_last_error());
    return -1;
  }
  int n = gonice_agent_get_local_candidates(st.agent, st.sid, 1, &cands);
  if (n < 0) {
    logf_("error: %s", gonice_last_error());
    gonice_free(ufrag);
    gonice_free(pwd);
    return -1;
  }
  size_t cap = strlen(ufrag) + strlen(pwd) + 2 + (size_t)n * 128, used;
  char *line = malloc(cap);
  if (line == NULL)
    return -1;
  used = (size_t)snprintf(line, cap, "%s %s", ufrag, pwd);
  for (int i = 0; i < n; i++) {
    char addr[GONICE_ADDRESS_STRING_LEN];
    used += (size_t)snprintf(line + used, cap - used, " %s,%u,%s,%u,%s", cands[i].foundation,
                             cands[i].priority, strip_zone(cands[i].addr, addr, sizeof addr),
                             cands[i].port, gonice_candidate_type_to_string(cands[i].type));
  }
  out(COPY_LINE_PROMPT, line);
  free(line);
  gonice_free(cands);
  gonice_free(ufrag);
  gonice_free(pwd);
  return 0;
}

/* parse_candidate: one "foundation,priority,ip,port,type" token. */
static int parse_candidate(char *tok, GoniceCandidate *c) {
  char *f[5];
  int nf = 0;
  for (char *save = NULL, *p = strtok_r(tok, ",", &save); p != NULL;
       p = strtok_r(NULL, ",", &save)) {
    if (nf == 5)
      return -1;
    f[nf++] = p;
  }
  if (nf != 5 || strlen(f[0]) >= sizeof c->foundation || strlen(f[2]) >= sizeof c->addr)
    return -1;
  char *end;
  errno = 0;
  unsigned long prio = strtoul(f[1], &end, 10);
  if (*end != '\0' || errno != 0 || prio == 0 || prio > 0xffffffffUL)
    return -1;
  unsigned long port = strtoul(f[3], &end, 10);
  if (*end != '\0' || port == 0 || port > 65535)
    return -1;
  memset(c, 0, sizeof *c);
  if (strcmp(f[4], "host") == 0)
    c->type = GONICE_CANDIDATE_TYPE_HOST;
  else if (strcmp(f[4], "srflx") == 0)
    c->type = GONICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
  else if (strcmp(f[4], "prflx") == 0)
    c->type = GONICE_CANDIDATE_TYPE_PEER_REFLEXIVE;
  else if (strcmp(f[4], "relay") == 0)
    c->type = GONICE_CANDIDATE_TYPE_RELAYED;
  else
    return -1;
  c->transport = GONICE_CANDIDATE_TRANSPORT_UDP;
  snprintf(c->foundation, sizeof c->foundation, "%s", f[0]);
  snprintf(c->addr, sizeof c->addr, "%s", f[2]);
  snprintf(c->base_addr, sizeof c->base_addr, "%s", f[2]);
  c->port = c->base_port = (uint16_t)port;
  c->priority = (uint32_t)prio;
  c->component_id = 1;
  return 0;
}

/* apply_remote_data: one line typed at the prompt; 0 if it was applied. */
static int apply_remote_data(char *line) {
  if (st.sdp) {
    char *sdp = b64_decode(line);
    if (sdp == NULL) {
      logf_("not base64");
      return -1;
    }
    int n = gonice_agent_parse_remote_sdp(st.agent, sdp);
    free(sdp);
    if (n < 1) {
      logf_("%s", n < 0 ? gonice_last_error() : "the SDP has no usable candidate");
      return -1;
    }
    logf_("remote SDP applied, %d remote candidates added", n);
    return 0;
  }
  char *save = NULL, *ufrag = strtok_r(line, " \t\r\n", &save);
  char *pwd = ufrag != NULL ? strtok_r(NULL, " \t\r\n", &save) : NULL;
  if (pwd == NULL) {
    logf_("no credentials in the line");
    return -1;
  }
  GoniceCandidate cands[64];
  size_t n = 0;
  for (char *tok = strtok_r(NULL, " \t\r\n", &save); tok != NULL;
       tok = strtok_r(NULL, " \t\r\n", &save)) {
    if (n == sizeof cands / sizeof cands[0] || parse_candidate(tok, &cands[n]) < 0) {
      logf_("bad candidate %s", tok);
      return -1;
    }
    n++;
  }
  if (n == 0) {
    logf_("no candidate in the line");
    return -1;
  }
  if (gonice_agent_set_remote_credentials(st.agent, st.sid, ufrag, pwd) < 0) {
    logf_("%s", gonice_last_error());
    return -1;
  }
  int added = gonice_agent_set_remote_candidates(st.agent, st.sid, 1, cands, n);
  if (added < 1) {
    logf_("%s", added < 0 ? gonice_last_error() : "no remote candidate was accepted");
    return -1;
  }
  logf_("remote credentials set, %d of %zu remote candidates added", added, n);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Standard input: buffered lines                                            */
/* ------------------------------------------------------------------------ */

static struct {
  char *buf;
  size_t len, cap;
  int eof;
} in;

/* read_stdin: reads what is available; -1 on a read error. */
static int read_stdin(void) {
  if (in.cap - in.len < 4096) {
    size_t cap = in.cap * 2 + 8192;
    char *b = realloc(in.buf, cap);
    if (b == NULL)
      return -1;
    in.buf = b;
    in.cap = cap;
  }
  ssize_t n = read(0, in.buf + in.len, in.cap - in.len - 1);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN)
      return 0;
    logf_("reading standard input: %s", strerror(errno));
    in.eof = 1;
    return -1;
  }
  if (n == 0)
    in.eof = 1;
  in.len += (size_t)n;
  return 0;
}

/* next_line: the next line (with its "\n"; at end of input, the rest
 * without it) into a malloc'd string, or NULL when none is complete. */
static char *next_line(void) {
  char *nl = in.len > 0 ? memchr(in.buf, '\n', in.len) : NULL;
  size_t n = nl != NULL ? (size_t)(nl - in.buf) + 1 : (in.eof ? in.len : 0);
  if (n == 0)
    return NULL;
  char *line = malloc(n + 1);
  if (line == NULL)
    return NULL;
  memcpy(line, in.buf, n);
  line[n] = '\0';
  memmove(in.buf, in.buf + n, in.len - n);
  in.len -= n;
  return line;
}

/* ------------------------------------------------------------------------ */
/* The peer                                                                  */
/* ------------------------------------------------------------------------ */

/* handle_line: one line of input in the current phase. */
static void handle_line(char *line) {
  if (st.phase == REMOTE) {
    if (apply_remote_data(line) < 0) {
      fputs(PARSE_ERROR, stderr);
      out(ENTER_REMOTE_PROMPT); /* as libnice: the whole prompt again */
      return;
    }
    st.phase = CONNECTING;
  } else if (st.phase == CHAT) {
    if (gonice_agent_send(st.agent, st.sid, 1, (unsigned)strlen(line), line) < 0)
      logf_("send: %s", gonice_last_error());
    out(LINE_PROMPT);
  }
}

/* step: moves the phases on after callbacks or input. */
static void step(void) {
  if (st.bye && st.phase != GATHERING && st.phase != DONE) {
    logf_("the peer quit (NUL byte received)");
    st.status = EXIT_OK;
    st.phase = DONE;
    return;
  }
  if (st.failed && st.phase != DONE) {
    logf_("error: %s", st.phase == CHAT ? "the connection failed (consent lost)"
                                        : "ICE failed: no candidate pair works");
    st.status = EXIT_FAILED;
    st.phase = DONE;
    return;
  }
  if (st.phase == GATHERING && st.gathered) {
    if (print_local_data() < 0) {
      st.status = EXIT_FAILED;
      st.phase = DONE;
      return;
    }
    out(ENTER_REMOTE_PROMPT);
    st.phase = REMOTE;
  }
  while (st.phase == REMOTE || st.phase == CHAT) {
    char *line = next_line();
    if (line == NULL)
      break;
    handle_line(line);
    free(line);
  }
  if (st.phase == REMOTE && in.eof && in.len == 0) {
    logf_("error: end of input before the remote data was entered");
    st.status = EXIT_FAILED;
    st.phase = DONE;
    return;
  }
  /* simple-example goes on at CONNECTED, sdp-example at READY. */
  if (st.phase == CONNECTING && (st.sdp ? st.ready : st.connected)) {
    if (!st.sdp) {
      GoniceCandidate l, r;
      if (gonice_agent_get_selected_pair(st.agent, st.sid, 1, &l, &r) == 0) {
        char la[GONICE_ADDRESS_STRING_LEN], ra[GONICE_ADDRESS_STRING_LEN];
        out(NEGOTIATION_DONE, strip_zone(l.addr, la, sizeof la), l.port,
            strip_zone(r.addr, ra, sizeof ra), r.port);
      } else {
        logf_("no selected pair: %s", gonice_last_error());
      }
    }
    out(SEND_LINES_PROMPT);
    st.phase = CHAT;
    step(); /* lines typed ahead */
    return;
  }
  if (st.phase == CHAT && in.eof && in.len == 0) {
    char nul = '\0';
    if (gonice_agent_send(st.agent, st.sid, 1, 1, &nul) < 0)
      logf_("sending the NUL byte: %s", gonice_last_error());
    logf_("end of input: NUL byte sent, quitting");
    st.status = EXIT_OK;
    st.phase = DONE;
  }
}

/* resolve: host (a name or an IP literal) to an IP literal in buf. */
static int resolve(const char *host, char *buf, size_t len) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_DGRAM;
  int rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc != 0) {
    logf_("cannot resolve %s: %s", host, gai_strerror(rc));
    return -1;
  }
  rc = getnameinfo(res->ai_addr, res->ai_addrlen, buf, (socklen_t)len, NULL, 0, NI_NUMERICHOST);
  freeaddrinfo(res);
  return rc == 0 ? 0 : -1;
}

/* split_host_port: "host", "host:port", "[v6]:port" or "v6". */
static int split_host_port(const char *s, char *host, size_t hlen, unsigned *port) {
  const char *colon = strrchr(s, ':');
  *port = 3478;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || (close[1] != '\0' && close[1] != ':'))
      return -1;
    snprintf(host, hlen, "%.*s", (int)(close - s - 1), s + 1);
    colon = close[1] == ':' ? close + 1 : NULL;
  } else if (colon != NULL && strchr(s, ':') != colon) {
    colon = NULL; /* a bare IPv6 address */
    snprintf(host, hlen, "%s", s);
  } else {
    snprintf(host, hlen, "%.*s", (int)(colon != NULL ? (size_t)(colon - s) : strlen(s)), s);
  }
  if (colon != NULL) {
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || p == 0 || p > 65535)
      return -1;
    *port = (unsigned)p;
  }
  return host[0] != '\0' ? 0 : -1;
}

static int usage_error(const char *fmt, const char *arg) {
  fputs("sendrecv: ", stderr);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n\n%s", usage_text);
  return EXIT_USAGE;
}

int main(int argc, char **argv) {
  int controlling = 0, positional_controlled = 0, npos = 0;
  const char *stun = NULL, *pos[3] = {NULL, NULL, NULL};
  const char *addresses[MAX_ADDRESSES];
  int naddr = 0;
  TurnServer turns[MAX_TURN], turn_default = {NULL, NULL, NULL, NULL};
  int nturn = 0, force_relay = 0, ice_tcp = 0, no_udp = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    if (strncmp(a, "--", 2) == 0 && strchr(a, '=') != NULL)
      val = strchr(a, '=') + 1;
#define NEEDS_VALUE(name)                                                                          \
  (strncmp(a, name, strlen(name)) == 0 && (a[strlen(name)] == '\0' || a[strlen(name)] == '='))
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_text, stdout);
      return EXIT_OK;
    } else if (strcmp(a, "--controlling") == 0) {
      controlling = 1;
    } else if (strcmp(a, "--sdp") == 0) {
      st.sdp = 1;
    } else if (strcmp(a, "--force-relay") == 0) {
      force_relay = 1;
    } else if (strcmp(a, "--ice-tcp") == 0) {
      ice_tcp = 1;
    } else if (strcmp(a, "--no-udp") == 0) {
      no_udp = 1;
    } else if (NEEDS_VALUE("--turn-user") || NEEDS_VALUE("--turn-pass") ||
               NEEDS_VALUE("--turn-transport") || NEEDS_VALUE("--turn")) {
      if (val == NULL) {
        if (i + 1 == argc)
          return usage_error("%s needs a value", a);
        val = argv[++i];
      }
      TurnServer *t = nturn > 0 ? &turns[nturn - 1] : &turn_default;
      if (NEEDS_VALUE("--turn-user")) {
        t->user = val;
      } else if (NEEDS_VALUE("--turn-pass")) {
        t->pass = val;
      } else if (NEEDS_VALUE("--turn-transport")) {
        if (turn_type(val) < 0)
          return usage_error("--turn-transport must be udp, tcp or tls, not %s", val);
        t->transport = val;
      } else {
        if (nturn == MAX_TURN)
          return usage_error("too many --turn options%s", "");
        turns[nturn++] = (TurnServer){val, NULL, NULL, NULL};
      }
    } else if (NEEDS_VALUE("--stun") || NEEDS_VALUE("--address")) {
      if (val == NULL) {
        if (i + 1 == argc)
          return usage_error("%s needs a value", a);
        val = argv[++i];
      }
      if (a[2] == 's') {
        stun = val;
      } else {
        if (naddr == MAX_ADDRESSES)
          return usage_error("too many --address options%s", "");
        addresses[naddr++] = val;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      return usage_error("unknown option %s", a);
    } else {
      if (npos == 3)
        return usage_error("too many arguments (%s)", a);
      pos[npos++] = a;
    }
  }
  if (npos >= 1) {
    if (strcmp(pos[0], "1") == 0)
      controlling = 1;
    else if (strcmp(pos[0], "0") == 0)
      positional_controlled = 1;
    else
      return usage_error("first argument must be 0 (controlled) or 1 (controlling), not %s",
                         pos[0]);
    if (positional_controlled && controlling)
      return usage_error("positional 0 (controlled) contradicts --controlling%s", "");
  }
  if (ice_tcp && !st.sdp)
    return usage_error("--ice-tcp needs --sdp: simple-example's line cannot tell a TCP candidate "
                       "from a UDP one%s",
                       "");
  if (no_udp && !ice_tcp)
    return usage_error("--no-udp needs --ice-tcp: without either transport nothing is gathered%s",
                       "");
  char stun_host[256] = "", stun_ip[64] = "";
  unsigned stun_port = 3478;
  if (npos >= 2) {
    if (stun != NULL)
      return usage_error("a STUN server is given both with --stun and as an argument%s", "");
    snprintf(stun_host, sizeof stun_host, "%s", pos[1]);
    if (npos == 3) {
      char *end;
      unsigned long p = strtoul(pos[2], &end, 10);
      if (*end != '\0' || p == 0 || p > 65535)
        return usage_error("bad STUN port %s", pos[2]);
      stun_port = (unsigned)p;
    }
  } else if (stun != NULL && split_host_port(stun, stun_host, sizeof stun_host, &stun_port) < 0) {
    return usage_error("bad STUN server %s", stun);
  }
  if (stun_host[0] != '\0' && resolve(stun_host, stun_ip, sizeof stun_ip) < 0)
    return EXIT_FAILED;

  logf_("%s agent, %s", controlling ? "controlling" : "controlled",
        stun_ip[0] != '\0' ? "with a STUN server" : "no STUN server");
  if (gonice_agent_new(&st.agent, GONICE_AGENT_OPTION_DISPATCH) < 0) {
    logf_("error: %s", gonice_last_error());
    return EXIT_FAILED;
  }
  int rc = 0;
#define TRY(call)                                                                                  \
  do {                                                                                             \
    if (rc >= 0 && (rc = (call)) < 0)                                                              \
      logf_("error: %s: %s", #call, gonice_last_error());                                          \
  } while (0)
  TRY(gonice_agent_set_controlling_mode(st.agent, controlling));
  if (force_relay)
    TRY(gonice_agent_set_force_relay(st.agent, 1)); /* before the agent starts */
  if (ice_tcp) { /* before the agent starts, as ice-udp */
    TRY(gonice_agent_set_ice_tcp(st.agent, 1));
    if (no_udp)
      TRY(gonice_agent_set_ice_udp(st.agent, 0));
    if (rc >= 0)
      logf_("%s", no_udp ? "ICE-TCP only: no UDP candidates" : "ICE-TCP candidates besides UDP ones");
  }
  if (stun_ip[0] != '\0') {
    TRY(gonice_agent_set_stun_server(st.agent, stun_ip, stun_port));
    if (rc >= 0)
      logf_("STUN server [%s]:%u", stun_ip, stun_port);
  }
  TRY(gonice_agent_connect_candidate_gathering_done(st.agent, on_gathered, NULL));
  TRY(gonice_agent_connect_new_candidate_full(st.agent, on_new_candidate, NULL));
  TRY(gonice_agent_connect_new_remote_candidate_full(st.agent, on_new_remote_candidate, NULL));
  TRY(gonice_agent_connect_initial_binding_request_received(st.agent, on_ibr, NULL));
  TRY(gonice_agent_connect_component_state_changed(st.agent, on_state, NULL));
  TRY(gonice_agent_connect_new_selected_pair_full(st.agent, on_pair, NULL));
  for (int i = 0; i < naddr && rc >= 0; i++)
    TRY(gonice_agent_add_local_address(st.agent, addresses[i]));
  if (rc >= 0) {
    rc = gonice_agent_add_stream(st.agent, 1);
    if (rc < 0)
      logf_("error: adding the stream: %s", gonice_last_error());
    else
      st.sid = (unsigned)rc;
  }
  if (st.sdp)
    TRY(gonice_agent_set_stream_name(st.agent, st.sid, "text")); /* as sdp-example */
  for (int i = 0; i < nturn && rc >= 0; i++) {
    const TurnServer *t = &turns[i];
    char host[256], ip[64];
    unsigned port = 3478;
    const char *user = t->user ? t->user : turn_default.user;
    const char *pass = t->pass ? t->pass : turn_default.pass;
    const char *transport = t->transport ? t->transport : turn_default.transport;
    if (split_host_port(t->server, host, sizeof host, &port) < 0 ||
        resolve(host, ip, sizeof ip) < 0) {
      logf_("error: bad TURN server %s", t->server);
      rc = -1;
      break;
    }
    TRY(gonice_agent_set_relay_info(st.agent, st.sid, 1, ip, port, user ? user : "",
                                    pass ? pass : "", (GoniceRelayType)turn_type(transport)));
    if (rc >= 0)
      logf_("TURN server [%s]:%u over %s", ip, port, transport ? transport : "udp");
  }
  TRY(gonice_agent_attach_recv(st.agent, st.sid, 1, on_recv, NULL));
  TRY(gonice_agent_gather_candidates(st.agent, st.sid));
  int fd = rc >= 0 ? gonice_agent_get_fd(st.agent) : -1;
  if (rc < 0 || fd < 0) {
    gonice_agent_free(st.agent);
    return EXIT_FAILED;
  }

  st.phase = GATHERING;
  while (st.phase != DONE) {
    struct pollfd pfd[2] = {{fd, POLLIN, 0}, {0, POLLIN, 0}};
    /* Standard input is read only while lines are wanted. */
    int want_input = (st.phase == REMOTE || st.phase == CHAT) && !in.eof;
    if (poll(pfd, want_input ? 2 : 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      logf_("poll: %s", strerror(errno));
      st.status = EXIT_FAILED;
      break;
    }
    if (pfd[0].revents != 0 && gonice_agent_dispatch(st.agent) < 0) {
      logf_("dispatch: %s", gonice_last_error());
      st.status = EXIT_FAILED;
      break;
    }
    if (want_input && pfd[1].revents != 0)
      read_stdin();
    step();
  }
  gonice_agent_free(st.agent);
  free(in.buf);
  return st.status;
}
