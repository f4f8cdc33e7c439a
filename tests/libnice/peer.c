/* SPDX-License-Identifier: MIT */
/*
 * peer: a libnice ICE peer driven over stdin/stdout by a test program
 * (tests/libnice_test.go). It is written against libnice's public API only
 * and is built with
 *
 *   gcc -Wall -Wextra -Werror -o peer peer.c $(pkg-config --cflags --libs nice)
 *
 * Command line:
 *
 *   peer --controlling 0|1 [--components N] [--nomination regular|aggressive]
 *        [--address IP]... [--ice-tcp] [--no-udp] [--consent-freshness]
 *        [--renomination]
 *
 *   --controlling   the agent's controlling-mode (required)
 *   --components    components of the one stream (1..8, default 1)
 *   --nomination    regular: nice_agent_new_full with
 *                   NICE_AGENT_OPTION_REGULAR_NOMINATION; aggressive (the
 *                   default, as libnice's): without it
 *   --address       a local address for host candidates
 *                   (nice_agent_add_local_address), repeatable; without it
 *                   libnice uses every interface
 *   --ice-tcp       keep ICE-TCP on (libnice's default); without it the peer
 *                   sets ice-tcp FALSE and gathers UDP only
 *   --no-udp        set ice-udp FALSE: no UDP candidates; with --ice-tcp the
 *                   peer does ICE-TCP only (RFC 6544 host candidates, tcptype
 *                   active and passive, RFC 4571 framing); without it the
 *                   peer gathers nothing
 *   --consent-freshness
 *                   NICE_AGENT_OPTION_CONSENT_FRESHNESS (RFC 7675: Binding
 *                   requests on the selected pair every 5 s or so)
 *   --renomination  NICE_AGENT_OPTION_SUPPORT_RENOMINATION (support-renomination:
 *                   as controlled agent, a check with the NOMINATION attribute
 *                   nominates its pair; libnice never sends NOMINATION)
 *
 * The agent is NICE_COMPATIBILITY_RFC5245 on the default GMainContext, with
 * upnp FALSE (no 200 ms UPnP wait before candidate-gathering-done). It has
 * one stream named "text" with N components and a receive callback attached
 * to each (nice_agent_attach_recv), and starts gathering at once.
 *
 * Line protocol. Every line ends with "\n"; stdout is flushed after every
 * line, and nothing else is written to stdout (GLib's and libnice's log,
 * also the debug log enabled with G_MESSAGES_DEBUG=libnice NICE_DEBUG=nice,
 * goes to stderr).
 *
 * Events, printed as they happen:
 *
 *   SDP <base64>                  once, at candidate-gathering-done: the
 *                                 base64 of nice_agent_generate_local_sdp()
 *   STATE <comp> <state>          component-state-changed; <state> is
 *                                 nice_component_state_to_string()'s name
 *                                 (disconnected, gathering, connecting,
 *                                 connected, ready, failed)
 *   TRANSPORTS <comp> <local> <remote>
 *                                 new-selected-pair-full, printed just
 *                                 before its SELECTED line: the transports
 *                                 of the pair's candidates, one of udp,
 *                                 tcp-active, tcp-passive, tcp-so
 *   SELECTED <comp> <local> <remote>
 *                                 new-selected-pair-full; addresses as
 *                                 ip:port ([ip]:port for IPv6)
 *   REMOTE <comp> <a=candidate line>
 *                                 new-remote-candidate-full (a remote
 *                                 candidate learned from a check: prflx)
 *   RECV <comp> <text>            data received on a component; bytes
 *                                 outside 0x20..0x7e and the backslash are
 *                                 printed as \xHH, so one datagram is one line
 *
 * Commands, read from stdin, one per line; each is answered with exactly
 * one line, "OK" (with a number where one is given below) or "ERR <reason>":
 *
 *   SDP <base64>                  nice_agent_parse_remote_sdp() of the
 *                                 decoded text -> OK <candidates added>
 *   CRED <ufrag> <pwd>            nice_agent_set_remote_credentials() -> OK
 *   CAND <comp> <a=candidate line>
 *                                 nice_agent_parse_remote_candidate_sdp() and
 *                                 nice_agent_set_remote_candidates() (trickle:
 *                                 at any time, also after checks started)
 *                                 -> OK <candidates added>
 *   SEND <comp> <text>            nice_agent_send() of <text> (the rest of
 *                                 the line, without the "\n") -> OK <bytes>
 *   QUIT                          -> "BYE"; the loop quits, the agent is
 *                                 unref'd and the process exits with status 0
 *
 * End of stdin (the writer closed the pipe: G_IO_HUP) ends the peer as QUIT
 * does, without printing BYE. (libnice's simple-example watches G_IO_IN only
 * and spins on a closed pipe; this peer does not.)
 *
 * Exit status: 0 after QUIT or end of input, 1 when the agent cannot be set
 * up (an "ERR" line says why), 2 for a bad command line.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent.h>
#include <gio/gnetworking.h>

#define MAX_COMPONENTS 8

static GMainLoop *loop;
static NiceAgent *agent;
static guint stream_id;
static guint n_components = 1;
static gboolean sdp_printed;

/* emit prints one line on stdout and flushes it. */
static void emit(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void
emit(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

/* format_addr writes "ip:port" or "[ip]:port" of addr into out. */
static void
format_addr(const NiceAddress *addr, gchar *out, gsize len)
{
  gchar ip[NICE_ADDRESS_STRING_LEN];

  nice_address_to_string(addr, ip);
  if (nice_address_ip_version(addr) == 6)
    g_snprintf(out, len, "[%s]:%u", ip, nice_address_get_port(addr));
  else
    g_snprintf(out, len, "%s:%u", ip, nice_address_get_port(addr));
}

static void
cb_gathering_done(NiceAgent *a, guint sid, gpointer data)
{
  gchar *sdp, *b64;

  (void)data;
  if (sid != stream_id || sdp_printed)
    return;
  sdp_printed = TRUE;
  sdp = nice_agent_generate_local_sdp(a);
  b64 = g_base64_encode((const guchar *)sdp, strlen(sdp));
  emit("SDP %s", b64);
  g_free(b64);
  g_free(sdp);
}

static void
cb_state_changed(NiceAgent *a, guint sid, guint cid, guint state,
    gpointer data)
{
  (void)a;
  (void)data;
  if (sid != stream_id)
    return;
  emit("STATE %u %s", cid,
      nice_component_state_to_string((NiceComponentState)state));
}

/* transport_name names a candidate transport for the TRANSPORTS line. */
static const char *
transport_name(NiceCandidateTransport t)
{
  switch (t) {
  case NICE_CANDIDATE_TRANSPORT_UDP:
    return "udp";
  case NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE:
    return "tcp-active";
  case NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE:
    return "tcp-passive";
  case NICE_CANDIDATE_TRANSPORT_TCP_SO:
    return "tcp-so";
  }
  return "unknown";
}

static void
cb_selected_pair(NiceAgent *a, guint sid, guint cid, NiceCandidate *local,
    NiceCandidate *remote, gpointer data)
{
  gchar l[NICE_ADDRESS_STRING_LEN + 8], r[NICE_ADDRESS_STRING_LEN + 8];

  (void)a;
  (void)data;
  if (sid != stream_id)
    return;
  format_addr(&local->addr, l, sizeof(l));
  format_addr(&remote->addr, r, sizeof(r));
  emit("TRANSPORTS %u %s %s", cid, transport_name(local->transport),
      transport_name(remote->transport));
  emit("SELECTED %u %s %s", cid, l, r);
}

static void
cb_new_remote_candidate(NiceAgent *a, NiceCandidate *c, gpointer data)
{
  gchar *line;

  (void)data;
  if (c->stream_id != stream_id)
    return;
  line = nice_agent_generate_local_candidate_sdp(a, c);
  emit("REMOTE %u %s", c->component_id, line);
  g_free(line);
}

static void
cb_recv(NiceAgent *a, guint sid, guint cid, guint len, gchar *buf,
    gpointer data)
{
  GString *s;
  guint i;

  (void)a;
  (void)sid;
  (void)data;
  s = g_string_sized_new(len + 16);
  for (i = 0; i < len; i++) {
    guchar b = (guchar)buf[i];

    if (b >= 0x20 && b <= 0x7e && b != '\\')
      g_string_append_c(s, (gchar)b);
    else
      g_string_append_printf(s, "\\x%02x", b);
  }
  emit("RECV %u %s", cid, s->str);
  g_string_free(s, TRUE);
}

/* parse_component parses a component id of the stream; 0 if invalid. */
static guint
parse_component(const gchar *s)
{
  gchar *end = NULL;
  guint64 v = g_ascii_strtoull(s, &end, 10);

  if (end == s || *end != '\0' || v < 1 || v > n_components)
    return 0;
  return (guint)v;
}

static void
cmd_sdp(const gchar *arg)
{
  guchar *text;
  gsize len = 0;
  gchar *sdp;
  int n;

  text = g_base64_decode(arg, &len);
  sdp = g_strndup((const gchar *)text, len);
  g_free(text);
  n = nice_agent_parse_remote_sdp(agent, sdp);
  g_free(sdp);
  if (n < 0)
    emit("ERR nice_agent_parse_remote_sdp failed (%d)", n);
  else
    emit("OK %d", n);
}

static void
cmd_cred(const gchar *arg)
{
  gchar **f = g_strsplit(arg, " ", 0);

  if (g_strv_length(f) != 2)
    emit("ERR usage: CRED <ufrag> <pwd>");
  else if (!nice_agent_set_remote_credentials(agent, stream_id, f[0], f[1]))
    emit("ERR nice_agent_set_remote_credentials failed");
  else
    emit("OK");
  g_strfreev(f);
}

static void
cmd_cand(const gchar *arg)
{
  gchar **f = g_strsplit(arg, " ", 2);
  NiceCandidate *c = NULL;
  GSList *list;
  guint cid;
  int n;

  if (g_strv_length(f) != 2 || (cid = parse_component(f[0])) == 0) {
    emit("ERR usage: CAND <component> <a=candidate line>");
    goto out;
  }
  c = nice_agent_parse_remote_candidate_sdp(agent, stream_id, f[1]);
  if (c == NULL) {
    emit("ERR nice_agent_parse_remote_candidate_sdp failed");
    goto out;
  }
  if (c->component_id != cid) {
    emit("ERR the candidate is for component %u, not %u", c->component_id,
        cid);
    goto out;
  }
  list = g_slist_append(NULL, c);
  n = nice_agent_set_remote_candidates(agent, stream_id, cid, list);
  g_slist_free(list);
  if (n < 0)
    emit("ERR nice_agent_set_remote_candidates failed (%d)", n);
  else
    emit("OK %d", n);
out:
  if (c != NULL)
    nice_candidate_free(c);
  g_strfreev(f);
}

static void
cmd_send(const gchar *arg)
{
  const gchar *sp = strchr(arg, ' ');
  gchar *num;
  guint cid;
  gint n;

  if (sp == NULL) {
    emit("ERR usage: SEND <component> <text>");
    return;
  }
  num = g_strndup(arg, (gsize)(sp - arg));
  cid = parse_component(num);
  g_free(num);
  if (cid == 0) {
    emit("ERR usage: SEND <component> <text>");
    return;
  }
  n = nice_agent_send(agent, stream_id, cid, (guint)strlen(sp + 1), sp + 1);
  if (n < 0)
    emit("ERR nice_agent_send failed (%d)", n);
  else
    emit("OK %d", n);
}

/* handle_line runs one command; it returns FALSE after QUIT. */
static gboolean
handle_line(gchar *line)
{
  gchar *arg;

  g_strchomp(line);
  arg = strchr(line, ' ');
  if (arg != NULL)
    *arg++ = '\0';
  else
    arg = line + strlen(line);

  if (strcmp(line, "SDP") == 0)
    cmd_sdp(arg);
  else if (strcmp(line, "CRED") == 0)
    cmd_cred(arg);
  else if (strcmp(line, "CAND") == 0)
    cmd_cand(arg);
  else if (strcmp(line, "SEND") == 0)
    cmd_send(arg);
  else if (strcmp(line, "QUIT") == 0) {
    emit("BYE");
    return FALSE;
  } else
    emit("ERR unknown command \"%s\"", line);
  return TRUE;
}

static gboolean
cb_stdin(GIOChannel *ch, GIOCondition cond, gpointer data)
{
  (void)data;
  for (;;) {
    gchar *line = NULL;
    GError *err = NULL;
    GIOStatus st = g_io_channel_read_line(ch, &line, NULL, NULL, &err);
    gboolean go_on;

    if (st == G_IO_STATUS_NORMAL) {
      go_on = handle_line(line);
      g_free(line);
      if (!go_on) {
        g_main_loop_quit(loop);
        return G_SOURCE_REMOVE;
      }
      /* More complete lines may already sit in the channel's buffer,
       * where poll() cannot see them. */
      if (g_io_channel_get_buffer_condition(ch) & G_IO_IN)
        continue;
      return G_SOURCE_CONTINUE;
    }
    g_free(line);
    if (st == G_IO_STATUS_AGAIN && !(cond & (G_IO_HUP | G_IO_ERR)))
      return G_SOURCE_CONTINUE;
    if (err != NULL) {
      g_printerr("peer: reading stdin: %s\n", err->message);
      g_error_free(err);
    }
    /* End of input (or an error): end as QUIT does. */
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
  }
}

static void
usage(const char *argv0)
{
  fprintf(stderr, "usage: %s --controlling 0|1 [--components N] "
      "[--nomination regular|aggressive] [--address IP]... [--ice-tcp] "
      "[--no-udp] [--consent-freshness] [--renomination]\n",
      argv0);
}

int
main(int argc, char *argv[])
{
  int controlling = -1;
  gboolean ice_tcp = FALSE;
  gboolean ice_udp = TRUE;
  NiceAgentOption options = NICE_AGENT_OPTION_NONE;
  GPtrArray *addresses = g_ptr_array_new();
  GIOChannel *in;
  guint i;
  int c;

  for (c = 1; c < argc; c++) {
    const char *opt = argv[c];
    const char *val = c + 1 < argc ? argv[c + 1] : NULL;

    if (strcmp(opt, "--ice-tcp") == 0) {
      ice_tcp = TRUE;
      continue;
    }
    if (strcmp(opt, "--no-udp") == 0) {
      ice_udp = FALSE;
      continue;
    }
    if (strcmp(opt, "--consent-freshness") == 0) {
      options |= NICE_AGENT_OPTION_CONSENT_FRESHNESS;
      continue;
    }
    if (strcmp(opt, "--renomination") == 0) {
      options |= NICE_AGENT_OPTION_SUPPORT_RENOMINATION;
      continue;
    }
    if (val == NULL) {
      usage(argv[0]);
      return 2;
    }
    c++;
    if (strcmp(opt, "--controlling") == 0 && strcmp(val, "0") == 0)
      controlling = 0;
    else if (strcmp(opt, "--controlling") == 0 && strcmp(val, "1") == 0)
      controlling = 1;
    else if (strcmp(opt, "--components") == 0) {
      n_components = (guint)atoi(val);
      if (n_components < 1 || n_components > MAX_COMPONENTS) {
        usage(argv[0]);
        return 2;
      }
    } else if (strcmp(opt, "--nomination") == 0 &&
        strcmp(val, "regular") == 0)
      options |= NICE_AGENT_OPTION_REGULAR_NOMINATION;
    else if (strcmp(opt, "--nomination") == 0 &&
        strcmp(val, "aggressive") == 0)
      options &= ~NICE_AGENT_OPTION_REGULAR_NOMINATION;
    else if (strcmp(opt, "--address") == 0)
      g_ptr_array_add(addresses, (gpointer)val);
    else {
      usage(argv[0]);
      return 2;
    }
  }
  if (controlling < 0) {
    usage(argv[0]);
    return 2;
  }

  /* GLib prints debug messages (libnice's debug log) on stdout by
   * default; stdout is for the protocol only. */
  g_log_writer_default_set_use_stderr(TRUE);
  g_networking_init();
  loop = g_main_loop_new(NULL, FALSE);
  agent = nice_agent_new_full(NULL, NICE_COMPATIBILITY_RFC5245, options);
  if (agent == NULL) {
    emit("ERR nice_agent_new_full failed");
    return 1;
  }
  g_object_set(agent,
      "controlling-mode", controlling ? TRUE : FALSE,
      "upnp", FALSE,
      "ice-tcp", ice_tcp,
      "ice-udp", ice_udp,
      NULL);
  for (i = 0; i < addresses->len; i++) {
    NiceAddress addr;

    nice_address_init(&addr);
    if (!nice_address_set_from_string(&addr, addresses->pdata[i]) ||
        !nice_agent_add_local_address(agent, &addr)) {
      emit("ERR bad local address %s", (const char *)addresses->pdata[i]);
      return 1;
    }
  }
  g_ptr_array_free(addresses, TRUE);

  g_signal_connect(agent, "candidate-gathering-done",
      G_CALLBACK(cb_gathering_done), NULL);
  g_signal_connect(agent, "component-state-changed",
      G_CALLBACK(cb_state_changed), NULL);
  g_signal_connect(agent, "new-selected-pair-full",
      G_CALLBACK(cb_selected_pair), NULL);
  g_signal_connect(agent, "new-remote-candidate-full",
      G_CALLBACK(cb_new_remote_candidate), NULL);

  stream_id = nice_agent_add_stream(agent, n_components);
  if (stream_id == 0) {
    emit("ERR nice_agent_add_stream failed");
    return 1;
  }
  nice_agent_set_stream_name(agent, stream_id, "text");
  for (i = 1; i <= n_components; i++)
    nice_agent_attach_recv(agent, stream_id, i, NULL, cb_recv, NULL);

  in = g_io_channel_unix_new(fileno(stdin));
  g_io_channel_set_encoding(in, NULL, NULL);
  g_io_add_watch(in, G_IO_IN | G_IO_HUP | G_IO_ERR, cb_stdin, NULL);

  if (!nice_agent_gather_candidates(agent, stream_id)) {
    emit("ERR nice_agent_gather_candidates failed");
    return 1;
  }

  g_main_loop_run(loop);

  for (i = 1; i <= n_components; i++)
    nice_agent_attach_recv(agent, stream_id, i, NULL, NULL, NULL);
  g_object_unref(agent);
  g_io_channel_unref(in);
  g_main_loop_unref(loop);
  return 0;
}
